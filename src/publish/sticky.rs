//! The sticky comment: which comment of a thread is ours, and what to do
//! with it. [`plan`] is pure, over a plain list of comments; [`run`] drives
//! a forge's [`Thread`] with it (GitHub and GitLab are thin adapters).
//!
//! - Ours is a comment that carries the marker **and** was written by the
//!   token's own identity. A comment by anyone else is never edited or
//!   deleted, whatever it contains.
//! - Of ours, the newest is kept and brought up to date (no request when its
//!   body is already the one to post); older ones, left by runs that raced,
//!   are deleted.
//! - Without one of ours, a comment is created only when wanted (the quiet
//!   modes of `--comment-when`); an existing one is always updated.
//! - A create is never repeated blindly: after a failed one the thread is
//!   listed again, so a create that did land is edited, not duplicated.

use super::{Error, Failure, Options, Posted};

/// A comment already on the thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Comment {
    pub id: u64,
    /// Who wrote it, as [`Thread::me`] names the token's identity.
    pub author: Option<String>,
    pub body: String,
    /// Its web address, when the forge gives one.
    pub url: Option<String>,
}

/// What to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Write {
    Create,
    Update(u64),
    /// Ours already says exactly this.
    Unchanged(u64),
    /// Nothing of ours, and no new comment is wanted.
    Nothing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    pub write: Write,
    /// Older comments of ours with the marker: duplicates to delete.
    pub delete: Vec<u64>,
}

/// Decides what to do on a thread with `comments` (ids grow with time on
/// both forges), for the token's identity `me`.
pub(super) fn plan(comments: &[Comment], me: &str, marker: &str, body: &str, create: bool) -> Plan {
    let mut ours: Vec<&Comment> = comments
        .iter()
        .filter(|c| c.author.as_deref() == Some(me) && c.body.contains(marker))
        .collect();
    ours.sort_by_key(|c| c.id);
    let Some(newest) = ours.pop() else {
        return Plan {
            write: if create {
                Write::Create
            } else {
                Write::Nothing
            },
            delete: Vec::new(),
        };
    };
    Plan {
        write: if newest.body == body {
            Write::Unchanged(newest.id)
        } else {
            Write::Update(newest.id)
        },
        delete: ours.iter().map(|c| c.id).collect(),
    }
}

/// The forge's side of [`run`].
pub(super) trait Thread {
    /// The token's own identity, as comments' authors are named.
    async fn me(&self) -> Result<String, Error>;
    /// Every comment of the thread, all pages.
    async fn list(&self) -> Result<Vec<Comment>, Error>;
    /// Edits comment `id`; its web address when the forge gives one.
    async fn update(&self, id: u64, body: &str) -> Result<Option<String>, Error>;
    /// One attempt at a new comment (never repeated blindly: it may have landed).
    async fn create(&self, body: &str, attempt: u32) -> Result<Option<String>, Failure>;
    /// Deletes comment `id`; one already gone is no error.
    async fn delete(&self, id: u64) -> Result<(), Error>;
}

/// Puts `body` on the thread as [`plan`] says, deleting our duplicates.
pub(super) async fn run<T: Thread>(
    thread: &T,
    marker: &str,
    body: &str,
    create: bool,
    options: &Options,
) -> Result<Posted, Error> {
    let me = thread.me().await?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let comments = thread.list().await?;
        let plan = plan(&comments, &me, marker, body, create);
        let posted = match plan.write {
            Write::Update(id) => Posted::Updated {
                url: thread.update(id, body).await?,
            },
            Write::Unchanged(id) => Posted::Unchanged {
                url: comments
                    .iter()
                    .find(|c| c.id == id)
                    .and_then(|c| c.url.clone()),
            },
            Write::Nothing => Posted::Skipped,
            Write::Create => match thread.create(body, attempt).await {
                Ok(url) => Posted::Created { url },
                Err(Failure::Retry { wait, .. }) => {
                    options.retry.sleep(wait).await;
                    continue;
                }
                Err(Failure::Fail(error)) => return Err(error),
            },
        };
        for id in plan.delete {
            thread.delete(id).await?;
        }
        return Ok(posted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "github-actions[bot]";
    const MARKER: &str = "<!-- image-budget:default -->";

    fn c(id: u64, author: &str, body: &str) -> Comment {
        Comment {
            id,
            author: Some(author.to_string()),
            body: body.to_string(),
            url: None,
        }
    }

    fn ours(id: u64, text: &str) -> Comment {
        c(id, ME, &format!("{MARKER}\n{text}"))
    }

    fn body(text: &str) -> String {
        format!("{MARKER}\n{text}")
    }

    #[test]
    fn the_newest_of_ours_is_updated_and_older_ones_deleted() {
        let comments = [
            ours(5, "old"),
            c(6, "octocat", "looks good"),
            ours(9, "newer"),
            ours(7, "raced"),
        ];
        let p = plan(&comments, ME, MARKER, &body("now"), true);
        assert_eq!(p.write, Write::Update(9));
        assert_eq!(p.delete, [5, 7]);
    }

    #[test]
    fn a_strangers_comment_with_our_marker_is_never_touched() {
        let comments = [
            c(3, "mallory", &body("fake verdict")),
            c(4, "octocat", MARKER),
        ];
        let p = plan(&comments, ME, MARKER, &body("now"), true);
        assert_eq!(p.write, Write::Create);
        assert!(p.delete.is_empty());
        let p = plan(
            &[c(3, "mallory", &body("x")), ours(2, "ours")],
            ME,
            MARKER,
            "b",
            true,
        );
        assert_eq!(p.write, Write::Update(2));
        assert!(
            p.delete.is_empty(),
            "the stranger's is no duplicate of ours"
        );
    }

    #[test]
    fn another_marker_or_no_author_is_not_ours() {
        let comments = [
            c(1, ME, "<!-- image-budget:workers -->\nother config"),
            Comment {
                id: 2,
                author: None,
                body: body("ghost"),
                url: None,
            },
        ];
        assert_eq!(
            plan(&comments, ME, MARKER, &body("x"), true).write,
            Write::Create
        );
    }

    #[test]
    fn an_identical_body_is_left_alone_and_quiet_modes_create_nothing() {
        let comments = [ours(4, "same")];
        assert_eq!(
            plan(&comments, ME, MARKER, &body("same"), false).write,
            Write::Unchanged(4)
        );
        // Quiet: no new comment, but ours is still brought up to date.
        assert_eq!(
            plan(&comments, ME, MARKER, &body("new"), false).write,
            Write::Update(4)
        );
        assert_eq!(
            plan(&[], ME, MARKER, &body("new"), false),
            Plan {
                write: Write::Nothing,
                delete: vec![]
            }
        );
    }
}
