//! The comment on a GitHub pull request, through octocrab.
//!
//! octocrab gives the base URI (GitHub Enterprise's `/api/v3` kept), the
//! token header (sent only to that host) and the transport; the requests go
//! through its raw methods so that every status and rate-limit header is
//! seen here. Its own retry layer is off: it would repeat a create on a 5xx,
//! which may post the comment twice. Comments are edited with `PATCH`, the
//! method GitHub documents (octocrab's `update_comment` sends `POST`).

use std::collections::HashSet;

use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde::Deserialize;

use super::sticky::{self, Comment as Existing, Thread};
use super::{
    Answer, Context, Error, Failure, GitHubTarget, Kind, MAX_PAGES, Options, Outcome, Posted,
    next_link, parse_exhausted, parse_retry_after, retrying, root_cause, same_origin,
};

/// Who comments made with a workflow's `GITHUB_TOKEN` are by. Such a token
/// (an app installation's) cannot read `GET /user`.
pub const ACTIONS_BOT: &str = "github-actions[bot]";

pub(super) async fn post(
    target: &GitHubTarget,
    marker: &str,
    body: &str,
    create: bool,
    options: &Options,
) -> Result<Posted, Error> {
    let pull = PullRequest::new(target, options)?;
    sticky::run(&pull, marker, body, create, options).await
}

/// The commits a pull request is at: its head, and the test merge commit
/// that a `pull_request` job checks out (`GITHUB_SHA`).
pub(super) async fn heads(target: &GitHubTarget, options: &Options) -> Result<Vec<String>, Error> {
    let pull = PullRequest::new(target, options)?;
    let what = format!("reading {}", pull.thread());
    let route = format!("/repos/{}/pulls/{}", target.repository, target.number);
    let answer = retrying(pull.context(what.clone(), false), async |context| {
        pull.send(Method::Get, &route, None, context).await
    })
    .await?;
    #[derive(Deserialize)]
    struct Head {
        sha: String,
    }
    #[derive(Deserialize)]
    struct Pull {
        head: Head,
        #[serde(default)]
        merge_commit_sha: Option<String>,
    }
    let pr: Pull = serde_json::from_slice(&answer.body).map_err(|e| {
        pull.context(what, false).malformed(
            &format!("{}{route}", pull.api_url),
            &format!("expected a pull request: {e}"),
        )
    })?;
    Ok(std::iter::once(pr.head.sha)
        .chain(pr.merge_commit_sha)
        .collect())
}

/// An issue comment, as `GET /repos/{owner}/{repo}/issues/{n}/comments` lists it.
#[derive(Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    user: Option<User>,
}

/// A comment's author, or the token's own user (`GET /user`).
#[derive(Deserialize)]
struct User {
    login: String,
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

struct PullRequest<'a> {
    target: &'a GitHubTarget,
    options: &'a Options,
    octocrab: Octocrab,
    /// `api_url` without a trailing slash.
    api_url: String,
}

impl<'a> PullRequest<'a> {
    fn new(target: &'a GitHubTarget, options: &'a Options) -> Result<PullRequest<'a>, Error> {
        let api_url = target.api_url.trim().trim_end_matches('/').to_string();
        if !valid_repository(&target.repository) {
            return Err(Error::config(
                format!(
                    "`{}` is not a GitHub repository name (owner/name)",
                    target.repository
                ),
                "set GITHUB_REPOSITORY to owner/name",
            ));
        }
        let bad_url = || {
            Error::config(
                format!("`{api_url}` is not a usable GitHub API address"),
                "set GITHUB_API_URL to https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server",
            )
        };
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(bad_url());
        }
        let octocrab = Octocrab::builder()
            .base_uri(api_url.as_str())
            .map_err(|_| bad_url())?
            .personal_token(target.token.expose().to_string())
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(options.timeout))
            .set_read_timeout(Some(options.timeout))
            .add_header(
                reqwest::header::ACCEPT,
                "application/vnd.github+json".to_string(),
            )
            .build()
            .map_err(|e| {
                Error::config(
                    format!(
                        "cannot set up the GitHub client: {}",
                        target.token.scrub(&root_cause(&e))
                    ),
                    "report this as a bug of image-budget",
                )
            })?;
        Ok(PullRequest {
            target,
            options,
            octocrab,
            api_url,
        })
    }

    fn thread(&self) -> String {
        format!(
            "GitHub pull request {}#{}",
            self.target.repository, self.target.number
        )
    }

    fn context(&self, what: String, writes: bool) -> Context<'a> {
        Context {
            forge: Kind::GitHub,
            what,
            writes,
            token: &self.target.token,
            attempt: 1,
            options: self.options,
        }
    }

    /// One request to `route` (a path below the API, with its query), with
    /// the timeout around the whole exchange.
    async fn send(
        &self,
        method: Method,
        route: &str,
        body: Option<&str>,
        context: &Context<'_>,
    ) -> Outcome {
        let url = format!("{}{route}", self.api_url);
        let json = body.map(|b| serde_json::json!({ "body": b }));
        let exchange = async {
            let response = match method {
                Method::Get => self.octocrab._get(route).await?,
                Method::Post => self.octocrab._post(route, json.as_ref()).await?,
                Method::Patch => self.octocrab._patch(route, json.as_ref()).await?,
                Method::Delete => self.octocrab._delete(route, None::<&()>).await?,
            };
            let status = response.status().as_u16();
            let headers = response.headers();
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            let retry_after = parse_retry_after(header("retry-after"));
            let exhausted =
                parse_exhausted(header("x-ratelimit-remaining"), header("x-ratelimit-reset"));
            let next = header("link").and_then(next_link);
            let text = self.octocrab.body_to_string(response).await?;
            Ok::<_, octocrab::Error>(Answer {
                status,
                retry_after,
                exhausted,
                next,
                body: text.into_bytes(),
            })
        };
        match tokio::time::timeout(self.options.timeout, exchange).await {
            Err(_) => Err(Failure::Fail(context.timeout(&url))),
            Ok(Err(e)) => Err(context.broken(&url, &root_cause(&e))),
            Ok(Ok(answer)) => context.judge(answer),
        }
    }

    /// The route of a next-page link: its path and query on the configured
    /// host (octocrab joins it with the base URI and adds the token).
    fn route_of(&self, link: &str) -> Option<String> {
        let joined = same_origin(&self.api_url, link)?;
        let url = reqwest::Url::parse(&joined).ok()?;
        Some(match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        })
    }
}

impl Thread for PullRequest<'_> {
    /// The token's user; a workflow's `GITHUB_TOKEN`, which may not read
    /// `/user`, comments as the Actions bot.
    async fn me(&self) -> Result<String, Error> {
        let what = "asking GitHub whose token this is".to_string();
        let answer = retrying(self.context(what.clone(), false), async |context| {
            self.send(Method::Get, "/user", None, context).await
        })
        .await;
        match answer {
            Ok(answer) => serde_json::from_slice::<User>(&answer.body)
                .map(|u| u.login)
                .map_err(|e| {
                    self.context(what, false).malformed(
                        &format!("{}/user", self.api_url),
                        &format!("expected a user: {e}"),
                    )
                }),
            Err(Error::NotVisible { .. }) => Ok(ACTIONS_BOT.to_string()),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, id: u64) -> Result<(), Error> {
        let what = format!("deleting our duplicate comment {id} on {}", self.thread());
        let route = format!("/repos/{}/issues/comments/{id}", self.target.repository);
        let done = retrying(self.context(what, true), async |context| {
            self.send(Method::Delete, &route, None, context).await
        })
        .await;
        match done {
            // Already gone: another run removed it.
            Ok(_) | Err(Error::ReadOnly { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn list(&self) -> Result<Vec<Existing>, Error> {
        let what = format!("listing the comments of {}", self.thread());
        let mut route = format!(
            "/repos/{}/issues/{}/comments?per_page=100",
            self.target.repository, self.target.number
        );
        let mut seen = HashSet::new();
        let mut comments = Vec::new();
        for _ in 0..MAX_PAGES {
            seen.insert(route.clone());
            let answer = retrying(self.context(what.clone(), false), async |context| {
                self.send(Method::Get, &route, None, context).await
            })
            .await?;
            let url = format!("{}{route}", self.api_url);
            let page: Vec<Comment> = serde_json::from_slice(&answer.body).map_err(|e| {
                self.context(what.clone(), false)
                    .malformed(&url, &format!("expected a list of issue comments: {e}"))
            })?;
            comments.extend(page.into_iter().map(|c| Existing {
                id: c.id,
                author: c.user.map(|u| u.login),
                body: c.body.unwrap_or_default(),
                url: c.html_url,
            }));
            match answer.next.as_deref().and_then(|link| self.route_of(link)) {
                Some(next) if !seen.contains(&next) => route = next,
                _ => return Ok(comments),
            }
        }
        Ok(comments)
    }

    async fn update(&self, id: u64, body: &str) -> Result<Option<String>, Error> {
        let what = format!("updating comment {id} on {}", self.thread());
        let route = format!("/repos/{}/issues/comments/{id}", self.target.repository);
        let answer = retrying(self.context(what.clone(), true), async |context| {
            self.send(Method::Patch, &route, Some(body), context).await
        })
        .await?;
        self.comment_url(&answer, &what, &route)
    }

    async fn create(&self, body: &str, attempt: u32) -> Result<Option<String>, Failure> {
        let what = format!("commenting on {}", self.thread());
        let route = format!(
            "/repos/{}/issues/{}/comments",
            self.target.repository, self.target.number
        );
        let mut context = self.context(what.clone(), true);
        context.attempt = attempt;
        let answer = self
            .send(Method::Post, &route, Some(body), &context)
            .await?;
        self.comment_url(&answer, &what, &route)
            .map_err(Failure::Fail)
    }
}

impl PullRequest<'_> {
    fn comment_url(
        &self,
        answer: &Answer,
        what: &str,
        route: &str,
    ) -> Result<Option<String>, Error> {
        let comment: Comment = serde_json::from_slice(&answer.body).map_err(|e| {
            self.context(what.to_string(), true).malformed(
                &format!("{}{route}", self.api_url),
                &format!("expected an issue comment: {e}"),
            )
        })?;
        Ok(comment.html_url)
    }
}

/// `owner/name`, each part a GitHub name (no `/`, `..` or spaces).
fn valid_repository(repository: &str) -> bool {
    let mut parts = repository.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        assert!(valid_repository("acme/api"));
        assert!(valid_repository("Acme-Org/api.rs_2"));
        assert!(!valid_repository("acme"));
        assert!(!valid_repository("acme/api/x"));
        assert!(!valid_repository("acme/.."));
        assert!(!valid_repository("acme/a b"));
        assert!(!valid_repository("/api"));
    }
}
