//! The note on a GitLab merge request, through REST v4 and plain reqwest:
//! list `…/merge_requests/{iid}/notes`, then `PUT …/notes/{id}` or
//! `POST …/notes`, with the token in `PRIVATE-TOKEN`.
//!
//! Redirects are not followed: reqwest would carry `PRIVATE-TOKEN` (unlike
//! `Authorization`) to whatever host a redirect names.

use std::collections::HashSet;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use serde::Deserialize;

use super::sticky::{self, Comment as Existing, Thread};
use super::{
    Answer, Context, Error, Failure, GitLabTarget, Kind, MAX_PAGES, Options, Outcome, Posted,
    next_link, parse_retry_after, retrying, root_cause, same_origin,
};

const AGENT: &str = concat!("image-budget/", env!("CARGO_PKG_VERSION"));

pub(super) async fn post(
    target: &GitLabTarget,
    marker: &str,
    body: &str,
    create: bool,
    options: &Options,
) -> Result<Posted, Error> {
    let merge_request = MergeRequest::new(target, options)?;
    sticky::run(&merge_request, marker, body, create, options).await
}

/// The commits a merge request is at: its head (`sha`), and its merge
/// commit once it has one.
pub(super) async fn heads(target: &GitLabTarget, options: &Options) -> Result<Vec<String>, Error> {
    let merge_request = MergeRequest::new(target, options)?;
    let what = format!("reading {}", merge_request.thread());
    let url = merge_request
        .notes_url
        .strip_suffix("/notes")
        .unwrap_or(&merge_request.notes_url)
        .to_string();
    let answer = retrying(
        merge_request.context(what.clone(), false),
        async |context| merge_request.send(Method::Get, &url, None, context).await,
    )
    .await?;
    #[derive(Deserialize)]
    struct Mr {
        #[serde(default)]
        sha: Option<String>,
        #[serde(default)]
        merge_commit_sha: Option<String>,
    }
    let mr: Mr = serde_json::from_slice(&answer.body).map_err(|e| {
        merge_request
            .context(what, false)
            .malformed(&url, &format!("expected a merge request: {e}"))
    })?;
    Ok(mr.sha.into_iter().chain(mr.merge_commit_sha).collect())
}

/// A note, as `GET /projects/:id/merge_requests/:iid/notes` lists it.
#[derive(Deserialize)]
struct Note {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    /// Notes GitLab writes itself ("added 1 commit"); never ours.
    #[serde(default)]
    system: bool,
    #[serde(default)]
    author: Option<User>,
}

/// A note's author, or the token's own user (`GET /user`), by id: a
/// username can be renamed, an id cannot.
#[derive(Deserialize)]
struct User {
    id: u64,
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

struct MergeRequest<'a> {
    target: &'a GitLabTarget,
    options: &'a Options,
    http: reqwest::Client,
    /// `{api}/projects/{id}/merge_requests/{iid}/notes`.
    notes_url: String,
    api_url: String,
}

impl<'a> MergeRequest<'a> {
    fn new(target: &'a GitLabTarget, options: &'a Options) -> Result<MergeRequest<'a>, Error> {
        let api_url = target.api_url.trim().trim_end_matches('/').to_string();
        if reqwest::Url::parse(&api_url)
            .map(|u| !matches!(u.scheme(), "http" | "https"))
            .unwrap_or(true)
        {
            return Err(Error::config(
                format!("`{api_url}` is not a usable GitLab API address"),
                "set CI_API_V4_URL to https://HOST/api/v4",
            ));
        }
        if target.project_id.trim().is_empty() {
            return Err(Error::config(
                "the GitLab project id is empty",
                "set CI_PROJECT_ID to the project's numeric id or its path (group/project)",
            ));
        }
        let mut token = HeaderValue::from_str(target.token.expose()).map_err(|_| {
            Error::config(
                "GITLAB_TOKEN holds characters that cannot be sent in a header",
                "set GITLAB_TOKEN to the token alone, without spaces or newlines",
            )
        })?;
        token.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("private-token", token);
        headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Error::config(
                    format!(
                        "cannot set up the GitLab client: {}",
                        target.token.scrub(&root_cause(&e))
                    ),
                    "report this as a bug of image-budget",
                )
            })?;
        let notes_url = format!(
            "{api_url}/projects/{}/merge_requests/{}/notes",
            encode_segment(target.project_id.trim()),
            target.mr_iid
        );
        Ok(MergeRequest {
            target,
            options,
            http,
            notes_url,
            api_url,
        })
    }

    fn thread(&self) -> String {
        format!(
            "GitLab merge request !{} of project {}",
            self.target.mr_iid, self.target.project_id
        )
    }

    fn context(&self, what: String, writes: bool) -> Context<'a> {
        Context {
            forge: Kind::GitLab,
            what,
            writes,
            token: &self.target.token,
            attempt: 1,
            options: self.options,
        }
    }

    /// One request; reqwest's timeout covers the whole exchange.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&str>,
        context: &Context<'_>,
    ) -> Outcome {
        let mut request = match method {
            Method::Get => self.http.get(url),
            Method::Post => self.http.post(url),
            Method::Put => self.http.put(url),
            Method::Delete => self.http.delete(url),
        };
        if let Some(body) = body {
            let json = serde_json::json!({ "body": body }).to_string();
            request = request.header(CONTENT_TYPE, "application/json").body(json);
        }
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                Failure::Fail(context.timeout(url))
            } else {
                context.broken(url, &root_cause(&e))
            }
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let retry_after = parse_retry_after(header("retry-after"));
        let next = match header("x-next-page").map(str::trim) {
            Some(page) if !page.is_empty() => page
                .parse::<u64>()
                .ok()
                .map(|page| format!("{}&page={page}", self.first_page())),
            _ => header("link")
                .and_then(next_link)
                .and_then(|link| same_origin(&self.api_url, &link)),
        };
        let body = response.bytes().await.map_err(transport)?.to_vec();
        context.judge(Answer {
            status,
            retry_after,
            exhausted: None,
            next,
            body,
        })
    }

    fn first_page(&self) -> String {
        format!(
            "{}?per_page=100&sort=asc&order_by=created_at",
            self.notes_url
        )
    }
}

impl Thread for MergeRequest<'_> {
    /// The token's user (a project or group access token's is its bot user).
    async fn me(&self) -> Result<String, Error> {
        let what = "asking GitLab whose token this is".to_string();
        let url = format!("{}/user", self.api_url);
        let answer = retrying(self.context(what.clone(), false), async |context| {
            self.send(Method::Get, &url, None, context).await
        })
        .await?;
        serde_json::from_slice::<User>(&answer.body)
            .map(|u| u.id.to_string())
            .map_err(|e| {
                self.context(what, false)
                    .malformed(&url, &format!("expected a user: {e}"))
            })
    }

    async fn delete(&self, id: u64) -> Result<(), Error> {
        let what = format!("deleting our duplicate note {id} on {}", self.thread());
        let url = format!("{}/{id}", self.notes_url);
        let done = retrying(self.context(what, true), async |context| {
            self.send(Method::Delete, &url, None, context).await
        })
        .await;
        match done {
            // Already gone: another run removed it.
            Ok(_) | Err(Error::ReadOnly { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn list(&self) -> Result<Vec<Existing>, Error> {
        let what = format!("listing the notes of {}", self.thread());
        let mut url = self.first_page();
        let mut seen = HashSet::new();
        let mut notes = Vec::new();
        for _ in 0..MAX_PAGES {
            seen.insert(url.clone());
            let answer = retrying(self.context(what.clone(), false), async |context| {
                self.send(Method::Get, &url, None, context).await
            })
            .await?;
            let page: Vec<Note> = serde_json::from_slice(&answer.body).map_err(|e| {
                self.context(what.clone(), false)
                    .malformed(&url, &format!("expected a list of notes: {e}"))
            })?;
            notes.extend(page.into_iter().filter(|n| !n.system).map(|n| Existing {
                id: n.id,
                author: n.author.map(|a| a.id.to_string()),
                body: n.body.unwrap_or_default(),
                url: None,
            }));
            match answer.next {
                Some(next) if !seen.contains(&next) => url = next,
                _ => return Ok(notes),
            }
        }
        Ok(notes)
    }

    async fn update(&self, id: u64, body: &str) -> Result<Option<String>, Error> {
        let what = format!("updating note {id} on {}", self.thread());
        let url = format!("{}/{id}", self.notes_url);
        let answer = retrying(self.context(what.clone(), true), async |context| {
            self.send(Method::Put, &url, Some(body), context).await
        })
        .await?;
        self.check_note(&answer, &what, &url).map(|()| None)
    }

    async fn create(&self, body: &str, attempt: u32) -> Result<Option<String>, Failure> {
        let what = format!("adding a note to {}", self.thread());
        let mut context = self.context(what.clone(), true);
        context.attempt = attempt;
        let answer = self
            .send(Method::Post, &self.notes_url, Some(body), &context)
            .await?;
        self.check_note(&answer, &what, &self.notes_url)
            .map(|()| None)
            .map_err(Failure::Fail)
    }
}

impl MergeRequest<'_> {
    /// A note's JSON carries no web address; the answer is only checked.
    fn check_note(&self, answer: &Answer, what: &str, url: &str) -> Result<(), Error> {
        serde_json::from_slice::<Note>(&answer.body)
            .map(|_| ())
            .map_err(|e| {
                self.context(what.to_string(), true)
                    .malformed(url, &format!("expected a note: {e}"))
            })
    }
}

/// One path segment, percent-encoded: `group/sub/app` → `group%2Fsub%2Fapp`.
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids_are_one_segment() {
        assert_eq!(encode_segment("42"), "42");
        assert_eq!(encode_segment("group/sub/app"), "group%2Fsub%2Fapp");
        assert_eq!(encode_segment("a b?#%"), "a%20b%3F%23%25");
        assert_eq!(encode_segment("my.app_1-x~"), "my.app_1-x~");
    }
}
