//! One sticky comment on a pull request (GitHub) or merge request (GitLab):
//! found again by its hidden marker and edited in place, never duplicated.
//!
//! The body arrives finished (the renderer made it); this module only finds
//! where it goes ([`detect`]) and puts it there ([`upsert`]). Requests that
//! can be repeated safely (listing, editing) are retried on 429 and 5xx,
//! honouring a short `Retry-After`; a create is never repeated blindly: after
//! a failed one the comments are listed again, so a create that did land is
//! edited rather than posted twice.
//!
//! The token never appears in an error, a `Debug` or a `Display`: it lives in
//! a [`Token`] that prints `***`, and every text taken from an answer is
//! scrubbed of it.

mod detect;
mod github;
mod gitlab;
mod sticky;

use std::time::Duration;

use crate::model::{Report, Status};

pub use detect::{CommentMode, detect, detect_for, head_sha_from_event, pr_number_from_event};

/// The longest comment id (`<!-- image-budget:ID -->`).
const MAX_ID_LEN: usize = 64;
/// How much of an error answer is quoted in a message.
const MAX_DETAIL_CHARS: usize = 200;
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

/// What [`upsert`] did.
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

/// How requests are made. [`upsert`] uses the defaults; tests shorten them.
#[derive(Debug, Clone)]
pub struct Options {
    /// Every request, its answer included, must finish within this.
    pub timeout: Duration,
    /// Requests answered 429 or 5xx are tried this many times in all.
    pub attempts: u32,
    /// The wait after the first failed attempt; it doubles after each.
    pub first_backoff: Duration,
    /// A `Retry-After` (or rate-limit reset) up to this long is waited for;
    /// a longer one fails at once rather than stalling the pipeline.
    pub max_wait: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(30),
            attempts: 4,
            first_backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(5),
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

/// True for a valid comment id: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The hidden marker that finds the comment again: `<!-- image-budget:ID -->`,
/// the one the renderer writes (an invalid id is made safe there; [`upsert`]
/// refuses one).
pub use crate::report::comment::marker;

/// Posts `body` as the one comment with id `id`: edits the newest comment
/// of ours (written by the token's identity) carrying the marker, or creates
/// one. `body` should hold the marker on its first line; when it does not,
/// the marker is put there.
pub async fn upsert(forge: &Forge, id: &str, body: &str) -> Result<Posted, Error> {
    post(forge, id, body, true, &Options::default()).await
}

/// [`upsert`] with explicit timeouts and retries.
pub async fn upsert_with(
    forge: &Forge,
    id: &str,
    body: &str,
    options: &Options,
) -> Result<Posted, Error> {
    post(forge, id, body, true, options).await
}

/// [`upsert_with`], creating a new comment only when `create` is true; an
/// existing comment of ours is brought up to date either way.
pub async fn post(
    forge: &Forge,
    id: &str,
    body: &str,
    create: bool,
    options: &Options,
) -> Result<Posted, Error> {
    if !is_valid_id(id) {
        return Err(Error::config(
            format!("the comment id `{id}` is not valid"),
            "use 1 to 64 letters, digits, `.`, `_` or `-`",
        ));
    }
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

/// One answer, read whole.
struct Answer {
    status: u16,
    /// `Retry-After` in seconds.
    retry_after: Option<Duration>,
    /// `x-ratelimit-remaining: 0`, with the reset as a wait from now.
    exhausted: Option<Option<Duration>>,
    /// The next page's address, from `Link` or `X-Next-Page`.
    next: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A rate limit: 429, or a 403 that GitHub marks as one (secondary limit).
    fn rate_limited(&self) -> bool {
        self.status == 429
            || (self.status == 403
                && (self.retry_after.is_some()
                    || self.exhausted.is_some()
                    || String::from_utf8_lossy(&self.body)
                        .to_lowercase()
                        .contains("rate limit")))
    }

    /// How long the forge asks to wait, when it says.
    fn asked_wait(&self) -> Option<Duration> {
        self.retry_after.or(self.exhausted.flatten())
    }
}

/// Why one request did not succeed.
enum Failure {
    /// Worth another attempt after `wait`; `error` if none is left.
    Retry {
        wait: Duration,
        error: Error,
    },
    Fail(Error),
}

/// What one request came to: a successful answer, or why not.
type Outcome = Result<Answer, Failure>;

/// What a request is for, to word its errors.
struct Context<'a> {
    forge: Kind,
    /// "listing the comments of GitHub pull request acme/api#12".
    what: String,
    /// Create or edit (403 and 404 mean a read-only token) or read.
    writes: bool,
    token: &'a Token,
    attempt: u32,
    options: &'a Options,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    GitHub,
    GitLab,
}

impl Context<'_> {
    /// Sorts a finished answer: done, worth retrying, or an error.
    fn judge(&self, answer: Answer) -> Outcome {
        if answer.is_success() {
            return Ok(answer);
        }
        let detail = self.detail(&answer.body);
        let what = self.what.clone();
        let status = answer.status;
        let transient = answer.rate_limited() || (500..600).contains(&status);
        if transient {
            let error = if answer.rate_limited() {
                Error::RateLimited {
                    what,
                    attempts: self.attempt,
                    detail: match answer.asked_wait() {
                        Some(wait) => {
                            format!("{status}, asked to wait {}s: {detail}", wait.as_secs())
                        }
                        None => format!("{status}: {detail}"),
                    },
                    hint: self.rate_limit_hint(),
                }
            } else {
                Error::Server {
                    what,
                    status,
                    attempts: self.attempt,
                    detail,
                }
            };
            let doubling =
                self.options.first_backoff * 2u32.pow(self.attempt.saturating_sub(1).min(10));
            return match answer.asked_wait() {
                // The forge asks for longer than a CI job should stall: give up now.
                Some(asked) if asked > self.options.max_wait => Err(Failure::Fail(error)),
                Some(asked) => Err(Failure::Retry {
                    wait: asked.max(Duration::from_millis(1)),
                    error,
                }),
                None => Err(Failure::Retry {
                    wait: doubling,
                    error,
                }),
            };
        }
        Err(Failure::Fail(match status {
            401 => Error::Unauthorized {
                what,
                detail,
                hint: self.unauthorized_hint(),
            },
            403 | 404 if self.writes => Error::ReadOnly {
                what,
                thread: self.thread(),
                status,
                detail,
                hint: self.read_only_hint(),
            },
            403 | 404 => Error::NotVisible {
                what,
                status,
                detail,
                reason: format!(
                    "the {} does not exist or the token cannot see it",
                    self.thread()
                ),
                hint: self.not_visible_hint(),
            },
            422 => Error::Unprocessable {
                what,
                status,
                detail,
            },
            // GitLab answers 400 to a note it will not take (too long, empty).
            400 if self.writes && self.forge == Kind::GitLab => Error::Unprocessable {
                what,
                status,
                detail,
            },
            _ => Error::Unexpected {
                what,
                status,
                detail,
            },
        }))
    }

    fn unauthorized_hint(&self) -> String {
        match self.forge {
            Kind::GitHub => "pass a valid token with --github-token or GITHUB_TOKEN (in a workflow: `GITHUB_TOKEN: ${{ github.token }}`)",
            Kind::GitLab => "set GITLAB_TOKEN to a valid project or personal access token with the `api` scope",
        }
        .to_string()
    }

    fn read_only_hint(&self) -> String {
        match self.forge {
            Kind::GitHub => "a pull request from a fork gets a read-only token: post from a trusted job with `budget publish` (workflow_run), or grant the job `permissions: pull-requests: write`",
            Kind::GitLab => "give GITLAB_TOKEN the `api` scope and at least the Reporter role in the merge request's project",
        }
        .to_string()
    }

    fn not_visible_hint(&self) -> String {
        match self.forge {
            Kind::GitHub => "check GITHUB_REPOSITORY and the pull request number, and that the token may read pull requests (`permissions: pull-requests: read`)",
            Kind::GitLab => "check CI_PROJECT_ID and CI_MERGE_REQUEST_IID, and that GITLAB_TOKEN's user or bot is a member of the project",
        }
        .to_string()
    }

    fn thread(&self) -> &'static str {
        match self.forge {
            Kind::GitHub => "pull request",
            Kind::GitLab => "merge request",
        }
    }

    fn rate_limit_hint(&self) -> String {
        match self.forge {
            Kind::GitHub => {
                "the token has used up its GitHub API rate limit; run the job again later".into()
            }
            Kind::GitLab => {
                "the GitLab instance is limiting this token's requests; run the job again later"
                    .into()
            }
        }
    }

    /// An error answer in one line: the API's `message` (or `error`) when it
    /// sent JSON, else the start of its text; never the token.
    fn detail(&self, body: &[u8]) -> String {
        let text = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(value) => message_of(&value).unwrap_or_else(|| value.to_string()),
            Err(_) => String::from_utf8_lossy(body).into_owned(),
        };
        let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let one_line = self.token.scrub(&one_line);
        match one_line.char_indices().nth(MAX_DETAIL_CHARS) {
            Some((i, _)) => format!("{}…", &one_line[..i]),
            None if one_line.is_empty() => "no details".to_string(),
            None => one_line,
        }
    }

    fn timeout(&self, url: &str) -> Error {
        Error::Timeout {
            what: self.what.clone(),
            url: self.token.scrub(url),
            after: self.options.timeout,
        }
    }

    fn unreachable(&self, url: &str, reason: &str) -> Error {
        let lower = reason.to_lowercase();
        let variable = match self.forge {
            Kind::GitHub => "GITHUB_API_URL",
            Kind::GitLab => "CI_API_V4_URL",
        };
        let hint = if lower.contains("certificate") {
            "the API's TLS certificate is not trusted here; install the CA that signed it in the system's trust store".to_string()
        } else {
            format!("check {variable} and that the runner can reach it")
        };
        Error::Unreachable {
            what: self.what.clone(),
            url: self.token.scrub(url),
            reason: self.token.scrub(reason),
            hint,
        }
    }

    fn malformed(&self, url: &str, reason: &str) -> Error {
        Error::Malformed {
            what: self.what.clone(),
            url: self.token.scrub(url),
            reason: self.token.scrub(reason),
        }
    }
}

/// GitHub's `{"message": ..., "errors": [...]}`; GitLab's `{"message": ...}`
/// (a string, a list or a map) or `{"error": ...}`.
fn message_of(value: &serde_json::Value) -> Option<String> {
    let flat = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut text = value
        .get("message")
        .or_else(|| value.get("error"))
        .map(flat)?;
    if let Some(errors) = value.get("errors").and_then(|e| e.as_array())
        && !errors.is_empty()
    {
        let parts: Vec<String> = errors
            .iter()
            .map(|e| {
                e.get("message")
                    .or_else(|| e.get("code"))
                    .map_or_else(|| flat(e), flat)
            })
            .collect();
        text = format!("{text} ({})", parts.join("; "));
    }
    Some(text)
}

/// Runs `send` until it is done, out of attempts, or failed for good.
async fn retrying<F>(mut context: Context<'_>, mut send: F) -> Result<Answer, Error>
where
    F: AsyncFnMut(&Context<'_>) -> Outcome,
{
    context.attempt = 0;
    loop {
        context.attempt += 1;
        match send(&context).await {
            Ok(answer) => return Ok(answer),
            Err(Failure::Retry { wait, .. }) if context.attempt < context.options.attempts => {
                tokio::time::sleep(wait).await;
            }
            Err(Failure::Retry { error, .. } | Failure::Fail(error)) => return Err(error),
        }
    }
}

/// `base`'s scheme and authority with `link`'s path and query: pages are
/// fetched from the configured API host even when a proxy or a misconfigured
/// instance names another in its `Link`, so the token never goes elsewhere.
fn same_origin(base: &str, link: &str) -> Option<String> {
    let base = reqwest::Url::parse(base).ok()?;
    let link = reqwest::Url::parse(link)
        .or_else(|_| base.join(link))
        .ok()?;
    let mut joined = base.clone();
    joined.set_path(link.path());
    joined.set_query(link.query());
    joined.set_fragment(None);
    Some(joined.to_string())
}

/// The `rel="next"` target of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let url = &after[..end];
        let params_end = after[end..].find('<').map_or(after.len(), |i| end + i);
        let params = &after[end + 1..params_end];
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            let Some(value) = p.strip_prefix("rel=") else {
                return false;
            };
            value
                .trim_matches('"')
                .split_whitespace()
                .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(url.to_string());
        }
        rest = &after[params_end..];
    }
    None
}

/// `Retry-After` in seconds (the HTTP-date form is ignored).
fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// `x-ratelimit-remaining: 0` → Some(wait until `x-ratelimit-reset`, when given).
fn parse_exhausted(remaining: Option<&str>, reset: Option<&str>) -> Option<Option<Duration>> {
    if remaining?.trim() != "0" {
        return None;
    }
    let reset = reset.and_then(|r| r.trim().parse::<u64>().ok());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Some(reset.map(|r| Duration::from_secs(r.saturating_sub(now) + 1)))
}

/// The innermost cause of an error, where the useful words are.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = e;
    while let Some(next) = deepest.source() {
        deepest = next;
    }
    deepest.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_and_ids() {
        assert_eq!(marker("default"), "<!-- image-budget:default -->");
        assert_eq!(marker("api.v2_x-1"), "<!-- image-budget:api.v2_x-1 -->");
        assert!(is_valid_id("default"));
        assert!(is_valid_id(&"a".repeat(64)));
        assert!(!is_valid_id(&"a".repeat(65)));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id("x-->"));
        assert_eq!(marker("x -->y"), "<!-- image-budget:x_--_y -->");
        assert_eq!(marker("a<b>!c"), "<!-- image-budget:a_b__c -->");
        assert_eq!(marker(""), "<!-- image-budget:default -->");
        assert_eq!(
            marker(&"é".repeat(70)).len(),
            "<!-- image-budget: -->".len() + 64
        );
    }

    #[test]
    fn token_prints_stars() {
        let token = Token::new("ghp_secret");
        assert_eq!(format!("{token}"), "***");
        assert_eq!(format!("{token:?}"), "***");
        assert_eq!(token.expose(), "ghp_secret");
        assert_eq!(token.scrub("a ghp_secret b"), "a *** b");
        assert_eq!(Token::new("").scrub("text"), "text");
    }

    #[test]
    fn link_header_next() {
        let header = r#"<https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=3>; rel="last""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2")
        );
        let last = r#"<https://x/c?page=1>; rel="prev", <https://x/c?page=1>; rel="first""#;
        assert_eq!(next_link(last), None);
        let gitlab = r#"<https://gl/api/v4/projects/1/merge_requests/2/notes?page=1&per_page=100>; rel="first", <https://gl/api/v4/projects/1/merge_requests/2/notes?page=3&per_page=100>; rel="next""#;
        assert_eq!(
            next_link(gitlab).as_deref(),
            Some("https://gl/api/v4/projects/1/merge_requests/2/notes?page=3&per_page=100")
        );
        assert_eq!(
            next_link(r#"<https://x/a>; rel=next"#).as_deref(),
            Some("https://x/a")
        );
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("garbage <unclosed"), None);
    }

    #[test]
    fn error_details_are_one_scrubbed_line() {
        let token = Token::new("glpat-SECRET");
        let options = Options::default();
        let context = Context {
            forge: Kind::GitLab,
            what: "x".into(),
            writes: false,
            token: &token,
            attempt: 1,
            options: &options,
        };
        assert_eq!(
            context.detail(br#"{"message": "401 Unauthorized glpat-SECRET"}"#),
            "401 Unauthorized ***"
        );
        assert_eq!(
            context.detail(br#"{"message": {"note": ["is too long"]}}"#),
            r#"{"note":["is too long"]}"#
        );
        assert_eq!(
            context.detail(br#"{"message":"Validation Failed","errors":[{"resource":"IssueComment","code":"custom","field":"body","message":"body is too long (maximum is 65536 characters)"}]}"#),
            "Validation Failed (body is too long (maximum is 65536 characters))"
        );
        assert_eq!(
            context.detail(b"<html>\n  Bad gateway\n</html>"),
            "<html> Bad gateway </html>"
        );
        assert_eq!(context.detail(b""), "no details");
        assert!(context.detail(&[b'x'; 500]).ends_with('…'));
    }

    #[test]
    fn rate_limit_headers() {
        assert_eq!(parse_retry_after(Some(" 3 ")), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_exhausted(Some("1"), None), None);
        assert_eq!(parse_exhausted(Some("0"), None), Some(None));
        assert_eq!(
            parse_exhausted(Some("0"), Some("0")),
            Some(Some(Duration::from_secs(1)))
        );
        let far = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600)
            .to_string();
        let wait = parse_exhausted(Some("0"), Some(&far)).flatten().unwrap();
        assert!(wait > Duration::from_secs(3000));
    }
}
