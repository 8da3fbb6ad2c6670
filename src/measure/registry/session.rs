//! The requests for one reference: the authentication dance (oci-client),
//! then manifest GETs that retry 429 and 5xx with backoff, check digests,
//! and turn every other answer into an [`Error`] that says what to do.

use std::time::Duration;

use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER};

use super::manifest::{self, Manifest};
use super::target::Target;
use super::{Error, Registry};
use crate::measure::digest::sha256_of;
use crate::measure::registry::credentials::{Credentials, Source};
use crate::retry::{Next, is_transient, parse_retry_after, root_cause};

/// Registries cap manifests at 4 MiB; a larger answer is not a manifest.
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// An image config is a few kilobytes; a long build history, some more.
const MAX_CONFIG_BYTES: usize = 16 * 1024 * 1024;
/// How much of an error body is read to explain an error.
const MAX_ERROR_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub(super) enum Authorization {
    Bearer(String),
    Basic(String, String),
}

/// What one attempt at a request came to.
enum Attempt {
    Answered(reqwest::Response),
    Wait(Duration),
    Refused(StatusCode, Vec<u8>),
}

/// A manifest as received, its digest checked.
pub(super) struct Fetched {
    pub(super) manifest: Manifest,
    pub(super) digest: String,
}

/// The requests for one reference, sharing one authorization.
pub(super) struct Session<'a> {
    registry: &'a Registry,
    target: &'a Target,
    credentials: Credentials,
    authorization: Option<Authorization>,
    authorized: bool,
    /// The authorization was another session's, for the same repository:
    /// a 401 means it expired, and a new one is asked for once.
    from_cache: bool,
}

impl<'a> Session<'a> {
    pub(super) fn new(
        registry: &'a Registry,
        target: &'a Target,
        credentials: Credentials,
    ) -> Session<'a> {
        Session {
            registry,
            target,
            credentials,
            authorization: None,
            authorized: false,
            from_cache: false,
        }
    }

    pub(super) fn target(&self) -> &Target {
        self.target
    }

    /// What an authorization is shared for: the repository, and the
    /// credentials it was got with (by hash: never the secret itself).
    fn scope(&self) -> String {
        let who = self.credentials.username_password().map_or_else(
            || "anonymous".to_string(),
            |(user, password)| sha256_of(format!("{user}\n{password}").as_bytes()),
        );
        format!("{} {who}", self.target.scope())
    }

    /// The challenge on `/v2/`, then a bearer token (oci-client), or basic
    /// credentials for a registry that asks for those.
    async fn authorize(&mut self) -> Result<(), Error> {
        let auth = match self.credentials.username_password() {
            Some((user, password)) => RegistryAuth::Basic(user.into(), password.into()),
            None => RegistryAuth::Anonymous,
        };
        let client = if self.target.scheme == "http" {
            &self.registry.oci_plain
        } else {
            &self.registry.oci_tls
        };
        let image = Reference::with_tag(
            self.target.host.clone(),
            self.target.repository.clone(),
            "latest".into(),
        );
        let url = format!("{}://{}/v2/", self.target.scheme, self.target.host);
        // Two requests at most: the challenge, then the token.
        let limit = self.registry.timeout * 2;
        let answer =
            tokio::time::timeout(limit, client.auth(&image, &auth, RegistryOperation::Pull)).await;
        self.authorization = match answer {
            Err(_) => return Err(self.timeout(&url, limit)),
            Ok(Ok(Some(token))) => Some(Authorization::Bearer(token)),
            Ok(Ok(None)) => self
                .credentials
                .username_password()
                .map(|(u, p)| Authorization::Basic(u.into(), p.into())),
            Ok(Err(OciDistributionError::AuthenticationFailure(body))) => {
                return Err(self.unauthorized(format!(
                    "its token service refused them: {}",
                    self.explain(body.as_bytes())
                )));
            }
            Ok(Err(OciDistributionError::RequestError(e))) => {
                return Err(self.transport(&url, &e));
            }
            Ok(Err(other)) => {
                return Err(Error::Http {
                    reference: self.target.reference.clone(),
                    registry: self.target.registry.clone(),
                    status: "an unusable authentication answer".into(),
                    detail: self.credentials.redact(&other.to_string()),
                });
            }
        };
        self.authorized = true;
        Ok(())
    }

    /// One GET with the session's authorization: the successful response,
    /// a wait before the next attempt (429 and 5xx, while attempts remain),
    /// or the final refusal.
    async fn attempt(
        &self,
        http: &reqwest::Client,
        url: &str,
        accept: &str,
        attempt: u32,
    ) -> Result<Attempt, Error> {
        let mut request = http.get(url).header(ACCEPT, accept);
        request = match &self.authorization {
            Some(Authorization::Bearer(token)) => request.bearer_auth(token),
            Some(Authorization::Basic(user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        };
        let policy = &self.registry.retry;
        let response = match request.send().await {
            Ok(response) => response,
            // A connection refused or reset is tried again; a timeout has
            // waited long enough already.
            Err(e) => {
                if !e.is_timeout()
                    && let Next::Retry(wait) = policy.next(attempt, None)
                {
                    return Ok(Attempt::Wait(wait));
                }
                return Err(self.transport(url, &e));
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(Attempt::Answered(response));
        }
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        let body = read_capped(response, MAX_ERROR_BYTES)
            .await
            .unwrap_or_default();
        if is_transient(status.as_u16())
            && let Next::Retry(wait) = policy.next(attempt, retry_after)
        {
            return Ok(Attempt::Wait(wait));
        }
        Ok(Attempt::Refused(status, body))
    }

    /// GETs one manifest (by tag or digest), retrying 429 and 5xx answers.
    pub(super) async fn fetch(&mut self, selector: &str) -> Result<Fetched, Error> {
        let url = self.target.manifest_url(selector);
        let mut attempt = 0;
        loop {
            attempt += 1;
            if !self.authorized {
                let scope = self.scope();
                match self.registry.authorization(&scope) {
                    // One token per registry and repository for the run.
                    Some(cached) => {
                        self.authorization = cached;
                        self.authorized = true;
                        self.from_cache = true;
                    }
                    None => {
                        self.authorize().await?;
                        self.registry
                            .keep_authorization(&scope, self.authorization.clone());
                    }
                }
            }
            let http = &self.registry.http;
            match self.attempt(http, &url, manifest::ACCEPT, attempt).await? {
                Attempt::Answered(response) => {
                    let headers = response.headers().clone();
                    let body = self.body(response, &url, MAX_MANIFEST_BYTES).await?;
                    return self.accept(selector, &url, &headers, &body);
                }
                Attempt::Wait(wait) => {
                    self.registry.retry.sleep(wait).await;
                    // A challenge that failed with the registry may work now.
                    if self.authorization.is_none() {
                        self.authorized = false;
                    }
                }
                Attempt::Refused(StatusCode::UNAUTHORIZED, _) if self.from_cache => {
                    // The shared token expired: a new one, once.
                    self.registry.forget_authorization(&self.scope());
                    self.authorized = false;
                    self.from_cache = false;
                }
                Attempt::Refused(status, body) => {
                    return Err(self.refused(status, &body, attempt));
                }
            }
        }
    }

    /// GETs a blob of the repository, after a manifest was fetched (so the
    /// session is authorized), retrying 429 and 5xx answers. The response
    /// is returned unread, to be streamed.
    pub(super) async fn blob(&self, digest: &str) -> Result<reqwest::Response, Error> {
        let url = self.target.blob_url(digest);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let http = &self.registry.blob_http;
            match self.attempt(http, &url, "*/*", attempt).await? {
                Attempt::Answered(response) => return Ok(response),
                Attempt::Wait(wait) => self.registry.retry.sleep(wait).await,
                Attempt::Refused(status, body) => {
                    let missing = status == StatusCode::NOT_FOUND
                        || error_codes(&body).iter().any(|c| c == "BLOB_UNKNOWN");
                    if missing {
                        return Err(Error::MissingBlob {
                            reference: self.target.reference.clone(),
                            registry: self.target.registry.clone(),
                            blob: digest.to_string(),
                            detail: self.explain(&body),
                        });
                    }
                    return Err(self.refused(status, &body, attempt));
                }
            }
        }
    }

    /// A small blob (an image config) read whole, checked against its digest.
    pub(super) async fn small_blob(&self, digest: &str) -> Result<Vec<u8>, Error> {
        let url = self.target.blob_url(digest);
        let response = self.blob(digest).await?;
        let body = self.body(response, &url, MAX_CONFIG_BYTES).await?;
        let computed = sha256_of(&body);
        if digest.starts_with("sha256:") && computed != digest {
            return Err(self.malformed(
                &url,
                format!("the blob {digest} hashes to {computed}: the registry's copy is damaged"),
            ));
        }
        Ok(body)
    }

    async fn body(
        &self,
        response: reqwest::Response,
        url: &str,
        limit: usize,
    ) -> Result<Vec<u8>, Error> {
        read_capped(response, limit).await.map_err(|e| match e {
            ReadError::Http(e) => self.transport(url, &e),
            ReadError::TooLarge => {
                self.malformed(url, format!("the answer is larger than {limit} bytes"))
            }
        })
    }

    /// Checks the digest and reads the manifest.
    fn accept(
        &self,
        selector: &str,
        url: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Fetched, Error> {
        let computed = sha256_of(body);
        let header = headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        if let Some(header) = header
            && header.starts_with("sha256:")
            && header != computed
        {
            return Err(self.malformed(
                url,
                format!(
                    "its Docker-Content-Digest is {header} but its content hashes to {computed}"
                ),
            ));
        }
        if selector.starts_with("sha256:") && selector != computed {
            return Err(self.malformed(
                url,
                format!(
                    "it was asked for by digest {selector} but its content hashes to {computed}"
                ),
            ));
        }
        let digest = if selector.contains(':') {
            selector.to_string()
        } else {
            header.map_or(computed, str::to_string)
        };
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let manifest =
            manifest::parse(body, content_type).map_err(|e| self.malformed(url, e.to_string()))?;
        Ok(Fetched { manifest, digest })
    }

    /// The error for an answer that is not a manifest.
    fn refused(&self, status: StatusCode, body: &[u8], attempts: u32) -> Error {
        let target = self.target;
        let detail = self.explain(body);
        let codes = error_codes(body);
        let not_found = status == StatusCode::NOT_FOUND
            || codes.iter().any(|c| {
                matches!(
                    c.as_str(),
                    "MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | "NOT_FOUND"
                )
            });
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return self.unauthorized(format!("HTTP {status}"));
        }
        if not_found {
            return Error::NotFound {
                reference: target.reference.clone(),
                registry: target.registry.clone(),
                detail,
            };
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let hint = if status == StatusCode::TOO_MANY_REQUESTS {
                format!(
                    "the registry is limiting pulls; wait and run again, or log in (`docker login {}`) for a higher limit",
                    target.registry
                )
            } else {
                "the registry is failing; run again later, or check its status".to_string()
            };
            return Error::Unavailable {
                reference: target.reference.clone(),
                registry: target.registry.clone(),
                status: status.to_string(),
                attempts,
                detail,
                hint,
            };
        }
        Error::Http {
            reference: target.reference.clone(),
            registry: target.registry.clone(),
            status: status.to_string(),
            detail,
        }
    }

    fn unauthorized(&self, what: String) -> Error {
        let registry = &self.target.registry;
        let hint = match (&self.credentials.source, &self.credentials.note) {
            (Source::Anonymous, _) => format!(
                "log in with `docker login {registry}`; credentials are read from $DOCKER_CONFIG/config.json or ~/.docker/config.json"
            ),
            (Source::Helper { program }, Some(_)) => format!(
                "install {program} or fix `credHelpers`/`credsStore` in config.json, then `docker login {registry}`"
            ),
            (_, Some(_)) => format!("log in again with `docker login {registry}`"),
            _ => format!(
                "check the credentials (`docker login {registry}` again) and that they may pull this repository"
            ),
        };
        Error::Unauthorized {
            reference: self.target.reference.clone(),
            registry: registry.clone(),
            what,
            credentials: self.credentials.describe(),
            hint,
        }
    }

    fn malformed(&self, url: &str, reason: String) -> Error {
        Error::Malformed {
            reference: self.target.reference.clone(),
            url: url.to_string(),
            reason: self.credentials.redact(&reason),
        }
    }

    fn timeout(&self, url: &str, after: Duration) -> Error {
        Error::Timeout {
            registry: self.target.registry.clone(),
            url: url.to_string(),
            after: format!("{after:?}"),
        }
    }

    fn transport(&self, url: &str, e: &reqwest::Error) -> Error {
        if e.is_timeout() {
            return self.timeout(url, self.registry.timeout);
        }
        let reason = self.credentials.redact(&root_cause(e));
        let lower = reason.to_lowercase();
        let hint = if lower.contains("certificate") {
            "its TLS certificate is not trusted here; install the CA that signed it in the system's trust store".to_string()
        } else if self.target.scheme == "https" {
            format!(
                "check the registry's address and that it is up; if it serves plain HTTP, list `{}` as an insecure registry",
                self.target.registry
            )
        } else {
            "check the registry's address and port, and that it is running".to_string()
        };
        Error::Unreachable {
            registry: self.target.registry.clone(),
            url: url.to_string(),
            reason,
            hint,
        }
    }

    /// An error body in one line: the registry's error codes and messages
    /// when it sent the standard envelope, else the start of its text.
    fn explain(&self, body: &[u8]) -> String {
        let text = match serde_json::from_slice::<Envelope>(body) {
            Ok(envelope) if !envelope.errors.is_empty() => envelope
                .errors
                .iter()
                .map(|e| match e.message.as_deref().filter(|m| !m.is_empty()) {
                    Some(message) => format!("{}: {message}", e.code),
                    None => e.code.clone(),
                })
                .collect::<Vec<_>>()
                .join("; "),
            _ => {
                let text = String::from_utf8_lossy(body);
                let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
                match one_line.char_indices().nth(200) {
                    Some((i, _)) => format!("{}…", &one_line[..i]),
                    None if one_line.is_empty() => "no details".to_string(),
                    None => one_line,
                }
            }
        };
        self.credentials.redact(&text)
    }
}

#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(default)]
    errors: Vec<EnvelopeError>,
}

#[derive(serde::Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: Option<String>,
}

fn error_codes(body: &[u8]) -> Vec<String> {
    serde_json::from_slice::<Envelope>(body)
        .map(|e| e.errors.into_iter().map(|e| e.code).collect())
        .unwrap_or_default()
}

enum ReadError {
    Http(reqwest::Error),
    TooLarge,
}

/// The body, refusing more than `limit` bytes.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Http)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_the_registry_digest_form() {
        assert_eq!(
            sha256_of(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
