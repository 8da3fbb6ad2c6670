//! One sticky comment on a pull request (GitHub) or merge request (GitLab).
//!
//! The body arrives finished (the renderer made it); this module only finds
//! where it goes and puts it there:
//! - `detect`: where, from the CI's environment;
//! - `sticky`: which comment is ours and what to do with it, pure, over a
//!   list of comments (ours: our marker and the token's own identity);
//! - `github`, `gitlab`: thin adapters, the forge's requests and payloads;
//! - `http`: answers sorted into done / retry / an error, retries with
//!   backoff, paging links kept on the API host.
//!
//! The token never appears in an error, a `Debug` or a `Display`: it lives in
//! a [`Token`] that prints `***`, and every text taken from an answer is
//! scrubbed of it.

mod detect;
mod github;
mod gitlab;
mod http;
mod sticky;

use std::time::Duration;

pub use crate::retry::Policy;
use crate::retry::{parse_retry_after, root_cause};

use crate::model::{CommentId, Report, Status};
use http::{
    Answer, Context, Failure, Kind, Outcome, next_link, parse_exhausted, retrying, same_origin,
};

pub use detect::{CommentMode, detect, detect_for, head_sha_from_event, pr_number_from_event};

/// A thread with more pages than this is not followed further (100 000 comments).
const MAX_PAGES: usize = 1000;

/// An API token. It prints as `***` in `Debug` and `Display`; read it with
/// [`Token::expose`] only to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }

    /// The secret itself, for the request header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the token replaced by `***`.
    fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_string()
        } else {
            text.replace(&self.0, "***")
        }
    }
}

impl From<String> for Token {
    fn from(token: String) -> Token {
        Token(token)
    }
}

impl From<&str> for Token {
    fn from(token: &str) -> Token {
        Token(token.to_string())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Where the comment goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forge {
    GitHub(GitHubTarget),
    GitLab(GitLabTarget),
}

/// A pull request on GitHub or GitHub Enterprise Server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubTarget {
    /// `GITHUB_API_URL`: `https://api.github.com`, or `https://HOST/api/v3`.
    pub api_url: String,
    /// `owner/name`.
    pub repository: String,
    /// The pull request's number.
    pub number: u64,
    pub token: Token,
}

/// A merge request on GitLab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitLabTarget {
    /// `CI_API_V4_URL`: `https://gitlab.example.com/api/v4`.
    pub api_url: String,
    /// The project of the merge request: numeric (`42`) or a path (`group/app`).
    pub project_id: String,
    /// The merge request's project-scoped number (`CI_MERGE_REQUEST_IID`).
    pub mr_iid: u64,
    pub token: Token,
}

/// `--comment-when`: when a new comment is posted. An existing comment of
/// ours is brought up to date whatever this says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CommentWhen {
    /// Every run.
    #[default]
    Always,
    /// When something differs from the baseline: a size, compressed size or
    /// layer count that moved, a new image, or an image not passing.
    Changed,
    /// When an image is over budget or could not be checked.
    Failing,
}

impl CommentWhen {
    /// True when `report` calls for a new comment.
    pub fn wants_new(self, report: &Report) -> bool {
        match self {
            CommentWhen::Always => true,
            CommentWhen::Changed => report.images.iter().any(|i| {
                let moved = i.delta.as_ref().is_some_and(|d| {
                    [d.size, d.compressed, d.layers]
                        .iter()
                        .any(|v| v.is_some_and(|v| v != 0))
                });
                moved || i.is_new() || i.status != Status::Pass
            }),
            CommentWhen::Failing => matches!(report.worst(), Status::Fail | Status::Error),
        }
    }
}

/// What [`post`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// No comment of ours carried the marker: a new one was posted.
    Created { url: Option<String> },
    /// Our comment with the marker was edited in place.
    Updated { url: Option<String> },
    /// Our comment already said exactly this: nothing was sent.
    Unchanged { url: Option<String> },
    /// No comment of ours, and none was wanted (`--comment-when`).
    Skipped,
}

/// How requests are made: the defaults, or shorter in tests.
#[derive(Debug, Clone)]
pub struct Options {
    /// Every request, its answer included, must finish within this.
    pub timeout: Duration,
    /// How 429, 5xx and dropped reads are tried again; a `Retry-After` (or
    /// rate-limit reset) longer than its `max_wait` fails at once rather
    /// than stalling the pipeline.
    pub retry: Policy,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(30),
            retry: Policy {
                first_backoff: Duration::from_millis(500),
                ..Policy::default()
            },
        }
    }
}

/// Why the comment could not be posted. Each message says what failed, why,
/// and what to do next; none ever holds the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Where to post could not be worked out from the environment.
    #[error("cannot post the comment: {reason}\n  hint: {hint}")]
    Config { reason: String, hint: String },
    /// The forge refused a create or an edit (403 or 404): typically the
    /// read-only token of a pull request from a fork.
    #[error(
        "{what} was refused ({status}: {detail}): the token may read this {thread} but not comment on it\n  hint: {hint}"
    )]
    ReadOnly {
        what: String,
        thread: &'static str,
        status: u16,
        detail: String,
        hint: String,
    },
    /// 401: the token is wrong, expired or revoked.
    #[error("{what} was refused (401: {detail}): the token is wrong or expired\n  hint: {hint}")]
    Unauthorized {
        what: String,
        detail: String,
        hint: String,
    },
    /// 403 or 404 while reading the comments: the thread is not there, or
    /// the token cannot see it.
    #[error("{what} was refused ({status}: {detail}): {reason}\n  hint: {hint}")]
    NotVisible {
        what: String,
        status: u16,
        detail: String,
        reason: String,
        hint: String,
    },
    /// 422 (400 on GitLab): the forge would not take the comment.
    #[error(
        "{what} was rejected ({status}: {detail})\n  hint: the comment is probably too long (GitHub takes 65,536 characters) or malformed; report this as a bug of image-budget"
    )]
    Unprocessable {
        what: String,
        status: u16,
        detail: String,
    },
    /// 429, or GitHub's secondary rate limit, after the retries allowed.
    #[error("{what} was rate limited ({detail}) after {attempts} attempt(s)\n  hint: {hint}")]
    RateLimited {
        what: String,
        attempts: u32,
        detail: String,
        hint: String,
    },
    /// 5xx to every attempt.
    #[error(
        "{what} failed: the server answered {status} to all {attempts} attempts ({detail})\n  hint: the forge is failing; run the job again later"
    )]
    Server {
        what: String,
        status: u16,
        attempts: u32,
        detail: String,
    },
    /// No answer in time.
    #[error(
        "{what} timed out: {url} did not answer within {after:?}\n  hint: check that the API is up and reachable from the runner, then run the job again"
    )]
    Timeout {
        what: String,
        url: String,
        after: Duration,
    },
    /// No connection (DNS, refused, TLS).
    #[error("{what} failed: cannot reach {url}: {reason}\n  hint: {hint}")]
    Unreachable {
        what: String,
        url: String,
        reason: String,
        hint: String,
    },
    /// Any other status.
    #[error("{what} failed: the server answered {status} ({detail})")]
    Unexpected {
        what: String,
        status: u16,
        detail: String,
    },
    /// A success whose body is not what the API documents.
    #[error("{what} failed: the answer from {url} cannot be read: {reason}")]
    Malformed {
        what: String,
        url: String,
        reason: String,
    },
}

impl Error {
    /// True when the token may read the thread but not comment on it: the
    /// fork case, which callers report as a single warning.
    pub fn is_read_only(&self) -> bool {
        matches!(self, Error::ReadOnly { .. })
    }

    fn config(reason: impl Into<String>, hint: impl Into<String>) -> Error {
        Error::Config {
            reason: reason.into(),
            hint: hint.into(),
        }
    }
}

/// The hidden marker that finds the comment again: `<!-- image-budget:ID -->`,
/// the one the renderer writes.
pub use crate::report::comment::marker;

/// Posts `body` as the one comment with id `id`: edits the newest comment
/// of ours (written by the token's identity) carrying the marker, or creates
/// one. `body` should hold the marker on its first line; when it does not,
/// the marker is put there.
pub async fn upsert_with(
    forge: &Forge,
    id: &CommentId,
    body: &str,
    options: &Options,
) -> Result<Posted, Error> {
    post(forge, id, body, true, options).await
}

/// [`upsert_with`], creating a new comment only when `create` is true; an
/// existing comment of ours is brought up to date either way.
pub async fn post(
    forge: &Forge,
    id: &CommentId,
    body: &str,
    create: bool,
    options: &Options,
) -> Result<Posted, Error> {
    let marker = marker(id);
    let body = if body.contains(&marker) {
        body.to_string()
    } else {
        format!("{marker}\n{body}")
    };
    match forge {
        Forge::GitHub(target) => github::post(target, &marker, &body, create, options).await,
        Forge::GitLab(target) => gitlab::post(target, &marker, &body, create, options).await,
    }
}

/// The commits the pull (merge) request is at now: its head, and the merge
/// commit a pull-request job checks out, where the forge names one.
pub async fn heads(forge: &Forge, options: &Options) -> Result<Vec<String>, Error> {
    match forge {
        Forge::GitHub(target) => github::heads(target, options).await,
        Forge::GitLab(target) => gitlab::heads(target, options).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_prints_stars() {
        let token = Token::new("ghp_secret");
        assert_eq!(format!("{token}"), "***");
        assert_eq!(format!("{token:?}"), "***");
        assert_eq!(token.expose(), "ghp_secret");
        assert_eq!(token.scrub("a ghp_secret b"), "a *** b");
        assert_eq!(Token::new("").scrub("text"), "text");
    }
}
