//! The HTTP side of posting a comment, shared by the GitHub and GitLab
//! adapters: one answer read whole, sorted into done / worth retrying / an
//! error that says what to do ([`Context::judge`]), bounded retries with
//! backoff and `Retry-After`, and the paging links (`Link`), always fetched
//! from the configured API host.

use std::time::Duration;

use crate::retry::Next;

use super::{Error, Options, Token};

/// How much of an error answer is quoted in a message.
const MAX_DETAIL_CHARS: usize = 200;

/// One answer, read whole.
pub(super) struct Answer {
    pub(super) status: u16,
    /// `Retry-After` in seconds.
    pub(super) retry_after: Option<Duration>,
    /// `x-ratelimit-remaining: 0`, with the reset as a wait from now.
    pub(super) exhausted: Option<Option<Duration>>,
    /// The next page's address, from `Link` or `X-Next-Page`.
    pub(super) next: Option<String>,
    pub(super) body: Vec<u8>,
}

impl Answer {
    pub(super) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A rate limit: 429, or a 403 that GitHub marks as one (secondary limit).
    pub(super) fn rate_limited(&self) -> bool {
        self.status == 429
            || (self.status == 403
                && (self.retry_after.is_some()
                    || self.exhausted.is_some()
                    || String::from_utf8_lossy(&self.body)
                        .to_lowercase()
                        .contains("rate limit")))
    }

    /// How long the forge asks to wait, when it says.
    pub(super) fn asked_wait(&self) -> Option<Duration> {
        self.retry_after.or(self.exhausted.flatten())
    }
}

/// Why one request did not succeed.
pub(super) enum Failure {
    /// Worth another attempt after `wait` (the policy had one left).
    Retry {
        wait: Duration,
    },
    Fail(Error),
}

/// What one request came to: a successful answer, or why not.
pub(super) type Outcome = Result<Answer, Failure>;

/// What a request is for, to word its errors.
pub(super) struct Context<'a> {
    pub(super) forge: Kind,
    /// "listing the comments of GitHub pull request acme/api#12".
    pub(super) what: String,
    /// Create or edit (403 and 404 mean a read-only token) or read.
    pub(super) writes: bool,
    pub(super) token: &'a Token,
    pub(super) attempt: u32,
    pub(super) options: &'a Options,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    GitHub,
    GitLab,
}

impl Context<'_> {
    /// Sorts a finished answer: done, worth retrying, or an error.
    pub(super) fn judge(&self, answer: Answer) -> Outcome {
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
            return match self.options.retry.next(self.attempt, answer.asked_wait()) {
                Next::Retry(wait) => Err(Failure::Retry { wait }),
                // Out of attempts, or asked to wait longer than a CI job
                // should stall: give up now.
                Next::GiveUp => Err(Failure::Fail(error)),
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

    pub(super) fn unauthorized_hint(&self) -> String {
        match self.forge {
            Kind::GitHub => "pass a valid token with --github-token or GITHUB_TOKEN (in a workflow: `GITHUB_TOKEN: ${{ github.token }}`)",
            Kind::GitLab => "set GITLAB_TOKEN to a valid project or personal access token with the `api` scope",
        }
        .to_string()
    }

    pub(super) fn read_only_hint(&self) -> String {
        match self.forge {
            Kind::GitHub => "a pull request from a fork gets a read-only token: post from a trusted job with `budget publish` (workflow_run), or grant the job `permissions: pull-requests: write`",
            Kind::GitLab => "give GITLAB_TOKEN the `api` scope and at least the Reporter role in the merge request's project",
        }
        .to_string()
    }

    pub(super) fn not_visible_hint(&self) -> String {
        match self.forge {
            Kind::GitHub => "check GITHUB_REPOSITORY and the pull request number, and that the token may read pull requests (`permissions: pull-requests: read`)",
            Kind::GitLab => "check CI_PROJECT_ID and CI_MERGE_REQUEST_IID, and that GITLAB_TOKEN's user or bot is a member of the project",
        }
        .to_string()
    }

    pub(super) fn thread(&self) -> &'static str {
        match self.forge {
            Kind::GitHub => "pull request",
            Kind::GitLab => "merge request",
        }
    }

    pub(super) fn rate_limit_hint(&self) -> String {
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
    pub(super) fn detail(&self, body: &[u8]) -> String {
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

    pub(super) fn timeout(&self, url: &str) -> Error {
        Error::Timeout {
            what: self.what.clone(),
            url: self.token.scrub(url),
            after: self.options.timeout,
        }
    }

    /// A request that broke before its answer (a connection refused or
    /// reset): a read is tried again as the policy allows; a write is not
    /// (it may have been done), and the sticky comment's next listing finds
    /// it either way.
    pub(super) fn broken(&self, url: &str, reason: &str) -> Failure {
        let error = self.unreachable(url, reason);
        match self.options.retry.next(self.attempt, None) {
            Next::Retry(wait) if !self.writes => Failure::Retry { wait },
            _ => Failure::Fail(error),
        }
    }

    pub(super) fn unreachable(&self, url: &str, reason: &str) -> Error {
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

    pub(super) fn malformed(&self, url: &str, reason: &str) -> Error {
        Error::Malformed {
            what: self.what.clone(),
            url: self.token.scrub(url),
            reason: self.token.scrub(reason),
        }
    }
}

/// GitHub's `{"message": ..., "errors": [...]}`; GitLab's `{"message": ...}`
/// (a string, a list or a map) or `{"error": ...}`.
pub(super) fn message_of(value: &serde_json::Value) -> Option<String> {
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
pub(super) async fn retrying<F>(mut context: Context<'_>, mut send: F) -> Result<Answer, Error>
where
    F: AsyncFnMut(&Context<'_>) -> Outcome,
{
    context.attempt = 0;
    loop {
        context.attempt += 1;
        match send(&context).await {
            Ok(answer) => return Ok(answer),
            Err(Failure::Retry { wait, .. }) => context.options.retry.sleep(wait).await,
            Err(Failure::Fail(error)) => return Err(error),
        }
    }
}

/// `base`'s scheme and authority with `link`'s path and query: pages are
/// fetched from the configured API host even when a proxy or a misconfigured
/// instance names another in its `Link`, so the token never goes elsewhere.
pub(super) fn same_origin(base: &str, link: &str) -> Option<String> {
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
pub(super) fn next_link(header: &str) -> Option<String> {
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

pub(super) fn parse_exhausted(
    remaining: Option<&str>,
    reset: Option<&str>,
) -> Option<Option<Duration>> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
            next_link(r"<https://x/a>; rel=next").as_deref(),
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
