//! Measuring images in a registry from their manifests alone: the layer blob
//! sizes a manifest lists are what a pull transfers. No blob is ever
//! requested, not even the config, so the uncompressed size stays unknown.
//!
//! oci-client does the authentication dance (the `/v2/` challenge, then a
//! bearer token or basic credentials); the manifest requests are plain HTTP
//! here so that every status, `Retry-After` and `Docker-Content-Digest` is
//! seen, retried and reported as it is.

mod manifest;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client as OciClient, Reference, RegistryOperation};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use sha2::{Digest as _, Sha256};

use super::Measurement;
use super::credentials::{self, Credentials, Source};
use super::platform::{self, SelectError};
use crate::config::PlatformChoice;
use crate::model::Layer;
use manifest::{Descriptor, Manifest};

/// Requests answered 429 or 5xx are tried this many times in all.
pub const ATTEMPTS: u32 = 4;
/// The wait after the first failed attempt; it doubles after each (200, 400, 800 ms).
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// A registry's `Retry-After` is honoured up to this long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Registries cap manifests at 4 MiB; a larger answer is not a manifest.
const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// How much of an error body is read to explain an error.
const MAX_ERROR_BYTES: usize = 64 * 1024;
const USER_AGENT: &str = concat!("image-budget/", env!("CARGO_PKG_VERSION"));
const DOCKER_HUB_HOST: &str = "registry-1.docker.io";

/// Why an image in a registry could not be measured. Each message says what
/// failed, why, and what to do next; none ever holds a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("`{reference}` is not a registry image reference: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error(
        "image `{reference}` is not in registry {registry} ({detail})\n  hint: push it first, or fix the repository or tag"
    )]
    NotFound {
        reference: String,
        registry: String,
        detail: String,
    },
    #[error(
        "registry {registry} refused access to `{reference}` ({what}); credentials tried: {credentials}\n  hint: {hint}"
    )]
    Unauthorized {
        reference: String,
        registry: String,
        what: String,
        credentials: String,
        hint: String,
    },
    #[error("cannot reach registry {registry} at {url}: {reason}\n  hint: {hint}")]
    Unreachable {
        registry: String,
        url: String,
        reason: String,
        hint: String,
    },
    #[error(
        "registry {registry} did not answer within {after} ({url})\n  hint: check that the registry is up and reachable, or allow a longer timeout"
    )]
    Timeout {
        registry: String,
        url: String,
        after: String,
    },
    #[error(
        "registry {registry} answered {status} to all {attempts} attempts for `{reference}` ({detail})\n  hint: {hint}"
    )]
    Unavailable {
        reference: String,
        registry: String,
        status: String,
        attempts: u32,
        detail: String,
        hint: String,
    },
    #[error("registry {registry} answered {status} for `{reference}`: {detail}")]
    Http {
        reference: String,
        registry: String,
        status: String,
        detail: String,
    },
    #[error("the manifest of `{reference}` at {url} cannot be used: {reason}")]
    Malformed {
        reference: String,
        url: String,
        reason: String,
    },
    #[error("`{reference}`: {source}{}", platform_hint(.source))]
    Platform {
        reference: String,
        #[source]
        source: SelectError,
    },
    #[error(transparent)]
    Credentials(#[from] credentials::Error),
    #[error("cannot set up the registry client: {reason}")]
    Setup { reason: String },
}

fn platform_hint(error: &SelectError) -> &'static str {
    match error {
        SelectError::Missing { .. } => "\n  hint: set `platform` to one of those, or to \"all\"",
        SelectError::Empty => "",
    }
}

impl Error {
    /// True when the registry answered that the image is not there (as
    /// opposed to a registry that could not be asked).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}

/// How to talk to registries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryOptions {
    /// `host[:port]` of registries to reach over plain HTTP. Loopback
    /// registries (`localhost`, 127.0.0.0/8, `[::1]`) always are; every other
    /// one is reached over HTTPS with its certificate verified.
    pub insecure: Vec<String>,
    /// The limit for connecting and for each request.
    pub timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: Vec::new(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// A client for measuring images in registries; cheap to clone and share.
#[derive(Clone)]
pub struct Registry {
    http: reqwest::Client,
    oci_plain: OciClient,
    oci_tls: OciClient,
    insecure: Vec<String>,
    timeout: Duration,
    docker_config: Option<PathBuf>,
}

impl Registry {
    pub fn new(options: RegistryOptions) -> Result<Registry, Error> {
        let timeout = options.timeout;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| Error::Setup {
                reason: root_cause(&e),
            })?;
        let oci = |protocol| {
            OciClient::try_from(ClientConfig {
                protocol,
                connect_timeout: Some(timeout),
                read_timeout: Some(timeout),
                user_agent: USER_AGENT,
                platform_resolver: None,
                ..ClientConfig::default()
            })
            .map_err(|e| Error::Setup {
                reason: e.to_string(),
            })
        };
        Ok(Registry {
            http,
            oci_plain: oci(ClientProtocol::Http)?,
            oci_tls: oci(ClientProtocol::Https)?,
            insecure: options.insecure,
            timeout,
            docker_config: None,
        })
    }

    /// Reads credentials from `dir/config.json` instead of `$DOCKER_CONFIG`
    /// or `~/.docker`.
    pub fn with_docker_config(mut self, dir: impl Into<PathBuf>) -> Registry {
        self.docker_config = Some(dir.into());
        self
    }

    /// Measures `reference` from its manifest. For an index (manifest list)
    /// `platform` chooses: `None` is linux/amd64 or the only image there,
    /// `All` gives one measurement per platform; attestations never count.
    /// A single image manifest is measured whatever `platform` names, with
    /// `platform: None`: its platform is in its config blob, never read.
    pub async fn measure(
        &self,
        reference: &str,
        platform: Option<&PlatformChoice>,
    ) -> Result<Vec<Measurement>, Error> {
        let target = Target::parse(reference, &self.insecure)?;
        let credentials = self.credentials(&target.registry).await?;
        let mut session = Session {
            registry: self,
            target: &target,
            credentials,
            authorization: None,
            authorized: false,
        };
        let top = session.fetch(&target.selector).await?;
        match top.manifest {
            Manifest::Image { layers } => Ok(vec![target.measurement(top.digest, None, &layers)]),
            Manifest::Index { entries } => {
                let chosen =
                    platform::select(&entries, platform).map_err(|source| Error::Platform {
                        reference: target.reference.clone(),
                        source,
                    })?;
                let mut measurements = Vec::with_capacity(chosen.len());
                for entry in chosen {
                    let child = session.fetch(&entry.digest).await?;
                    let Manifest::Image { layers } = child.manifest else {
                        return Err(Error::Malformed {
                            reference: target.reference.clone(),
                            url: target.manifest_url(&entry.digest),
                            reason: "an index entry is itself an index; nested indexes are not supported".into(),
                        });
                    };
                    measurements.push(target.measurement(
                        child.digest,
                        entry.platform_name(),
                        &layers,
                    ));
                }
                Ok(measurements)
            }
        }
    }

    async fn credentials(&self, registry: &str) -> Result<Credentials, Error> {
        let dir = self.docker_config.clone().or_else(credentials::config_dir);
        let registry = registry.to_string();
        // A credential helper is a program: run it off the async threads.
        tokio::task::spawn_blocking(move || credentials::lookup(dir.as_deref(), &registry))
            .await
            .map_err(|e| Error::Setup {
                reason: format!("the credential lookup stopped: {e}"),
            })?
            .map_err(Error::from)
    }
}

/// A reference, resolved to what the registry API needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// As the user wrote it.
    reference: String,
    /// As references name it: `docker.io`, `ghcr.io`, `127.0.0.1:5000`.
    registry: String,
    /// Where requests go: Docker Hub's API lives at registry-1.docker.io.
    host: String,
    repository: String,
    /// The tag or digest to ask for.
    selector: String,
    scheme: &'static str,
}

impl Target {
    fn parse(reference: &str, insecure: &[String]) -> Result<Target, Error> {
        let invalid = |reason: String| Error::InvalidReference {
            reference: reference.to_string(),
            reason,
        };
        let text = reference.strip_prefix("docker://").unwrap_or(reference);
        crate::reference::validate(text).map_err(invalid)?;
        if text.starts_with("sha256:") {
            return Err(invalid(
                "an image ID names an image in a local engine, not in a registry".into(),
            ));
        }
        // The parser knows no IPv6 hosts (`[::1]:5000/app`): parse the rest
        // under a stand-in host, and keep the real one.
        let (ipv6_host, text) = match text.split_once('/') {
            Some((host, rest)) if host.starts_with('[') => {
                (Some(host), format!("ipv6.invalid/{rest}"))
            }
            _ => (None, text.to_string()),
        };
        let parsed: Reference = text
            .parse()
            .map_err(|e: oci_client::ParseError| invalid(e.to_string()))?;
        let registry = ipv6_host.unwrap_or(parsed.registry()).to_string();
        let host = if credentials::is_docker_hub(&registry) {
            DOCKER_HUB_HOST.to_string()
        } else {
            registry.clone()
        };
        let selector = parsed
            .digest()
            .or(parsed.tag())
            .unwrap_or("latest")
            .to_string();
        let scheme = if allows_plain_http(&registry, insecure) {
            "http"
        } else {
            "https"
        };
        Ok(Target {
            reference: reference.to_string(),
            registry,
            host,
            repository: parsed.repository().to_string(),
            selector,
            scheme,
        })
    }

    fn manifest_url(&self, selector: &str) -> String {
        format!(
            "{}://{}/v2/{}/manifests/{selector}",
            self.scheme, self.host, self.repository
        )
    }

    fn measurement(
        &self,
        digest: String,
        platform: Option<String>,
        layers: &[Descriptor],
    ) -> Measurement {
        Measurement {
            reference: self.reference.clone(),
            source: "registry",
            digest,
            platform,
            size: None,
            compressed: Some(layers.iter().map(|l| l.size).sum()),
            compressed_estimated: false,
            layers: layers.len() as u64,
            layer_details: layers
                .iter()
                .map(|l| Layer {
                    digest: l.digest.clone(),
                    size: None,
                    compressed: Some(l.size),
                    instruction: None,
                })
                .collect(),
        }
    }
}

/// The host of `host[:port]` (`[::1]` keeps its brackets).
fn host_of(registry: &str) -> &str {
    if registry.starts_with('[') {
        return registry.find(']').map_or(registry, |end| &registry[..=end]);
    }
    match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    }
}

/// Plain HTTP only for loopback registries and those listed as insecure
/// (`host:port`, or `host` for every port).
fn allows_plain_http(registry: &str, insecure: &[String]) -> bool {
    let host = host_of(registry);
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    loopback
        || insecure.iter().any(|entry| {
            let entry = entry.trim();
            let entry = entry
                .strip_prefix("http://")
                .or_else(|| entry.strip_prefix("https://"))
                .unwrap_or(entry)
                .trim_end_matches('/');
            entry.eq_ignore_ascii_case(registry) || entry.eq_ignore_ascii_case(host)
        })
}

enum Authorization {
    Bearer(String),
    Basic(String, String),
}

/// A manifest as received, its digest checked.
struct Fetched {
    manifest: Manifest,
    digest: String,
}

/// The requests for one reference, sharing one authorization.
struct Session<'a> {
    registry: &'a Registry,
    target: &'a Target,
    credentials: Credentials,
    authorization: Option<Authorization>,
    authorized: bool,
}

impl Session<'_> {
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

    /// GETs one manifest (by tag or digest), retrying 429 and 5xx answers.
    async fn fetch(&mut self, selector: &str) -> Result<Fetched, Error> {
        let url = self.target.manifest_url(selector);
        let mut attempt = 0;
        loop {
            attempt += 1;
            if !self.authorized {
                self.authorize().await?;
            }
            let mut request = self
                .registry
                .http
                .get(&url)
                .header(ACCEPT, manifest::ACCEPT);
            request = match &self.authorization {
                Some(Authorization::Bearer(token)) => request.bearer_auth(token),
                Some(Authorization::Basic(user, password)) => {
                    request.basic_auth(user, Some(password))
                }
                None => request,
            };
            let response = request.send().await.map_err(|e| self.transport(&url, &e))?;
            let status = response.status();
            if status.is_success() {
                let headers = response.headers().clone();
                let body =
                    read_capped(response, MAX_MANIFEST_BYTES)
                        .await
                        .map_err(|e| match e {
                            ReadError::Http(e) => self.transport(&url, &e),
                            ReadError::TooLarge => self.malformed(
                                &url,
                                format!("the answer is larger than {MAX_MANIFEST_BYTES} bytes"),
                            ),
                        })?;
                return self.accept(selector, &url, &headers, &body);
            }
            let retry_after = retry_after(response.headers());
            let body = read_capped(response, MAX_ERROR_BYTES)
                .await
                .unwrap_or_default();
            let transient = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if transient && attempt < ATTEMPTS {
                tokio::time::sleep(backoff(attempt, retry_after)).await;
                // A challenge that failed with the registry may work now.
                if self.authorization.is_none() {
                    self.authorized = false;
                }
                continue;
            }
            return Err(self.refused(status, &body, attempt));
        }
    }

    /// Checks the digest and reads the manifest.
    fn accept(
        &self,
        selector: &str,
        url: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Fetched, Error> {
        let computed = sha256(body);
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

/// `Retry-After` in seconds (the HTTP-date form is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// The wait after failed attempt `attempt` (1-based): 200 ms doubling, or
/// the registry's `Retry-After` when longer, up to a few seconds.
fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let doubling = FIRST_BACKOFF * 2u32.pow(attempt.saturating_sub(1).min(10));
    match retry_after {
        Some(asked) => doubling.max(asked.min(MAX_RETRY_AFTER)),
        None => doubling,
    }
}

fn sha256(body: &[u8]) -> String {
    let hash = Sha256::digest(body);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in hash.iter() {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// The innermost cause of an error, where the useful words are
/// ("Connection refused (os error 111)", "invalid peer certificate: ...").
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

    fn target(reference: &str) -> Target {
        Target::parse(reference, &[]).unwrap()
    }

    #[test]
    fn docker_hub_names_go_to_its_api_host() {
        let t = target("alpine");
        assert_eq!(
            (t.registry.as_str(), t.host.as_str(), t.repository.as_str()),
            ("docker.io", DOCKER_HUB_HOST, "library/alpine")
        );
        assert_eq!(t.selector, "latest");
        assert_eq!(t.scheme, "https");
        let t = target("docker.io/acme/api:1.2");
        assert_eq!(
            (t.repository.as_str(), t.selector.as_str()),
            ("acme/api", "1.2")
        );
        assert_eq!(
            t.manifest_url("1.2"),
            "https://registry-1.docker.io/v2/acme/api/manifests/1.2"
        );
    }

    #[test]
    fn a_digest_wins_over_a_tag_and_a_prefix_is_accepted() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let t = target(&format!("docker://ghcr.io/acme/api:1.2@{digest}"));
        assert_eq!(t.registry, "ghcr.io");
        assert_eq!(t.selector, digest);
    }

    #[test]
    fn plain_http_only_for_loopback_and_listed_registries() {
        for local in [
            "localhost:5000",
            "localhost",
            "127.0.0.1:5000",
            "127.3.2.1",
            "[::1]:5000",
        ] {
            assert!(allows_plain_http(local, &[]), "{local}");
        }
        for remote in ["ghcr.io", "10.0.0.5:5000", "docker.io", "128.0.0.1:80"] {
            assert!(!allows_plain_http(remote, &[]), "{remote}");
        }
        let insecure = vec![
            "10.0.0.5:5000".to_string(),
            "http://lab.example".to_string(),
        ];
        assert!(allows_plain_http("10.0.0.5:5000", &insecure));
        assert!(!allows_plain_http("10.0.0.5:6000", &insecure));
        assert!(allows_plain_http("lab.example:8443", &insecure));
        assert_eq!(target("127.0.0.1:5000/a/b:t").scheme, "http");
        assert_eq!(
            Target::parse("10.0.0.5:5000/a", &insecure).unwrap().scheme,
            "http"
        );
    }

    #[test]
    fn ipv6_loopback_is_plain_http() {
        let t = target("[::1]:5000/team/api:1");
        assert_eq!(
            (t.registry.as_str(), t.repository.as_str(), t.scheme),
            ("[::1]:5000", "team/api", "http")
        );
    }

    #[test]
    fn measuring_can_be_spawned() {
        fn assert_send<T: Send + 'static>(_: T) {}
        let registry = Registry::new(RegistryOptions::default()).unwrap();
        assert_send(async move { registry.measure("ghcr.io/a/b:1", None).await });
    }

    #[test]
    fn bad_references_are_refused_before_any_request() {
        let err = Target::parse("acme/API", &[]).unwrap_err();
        assert!(err.to_string().contains("uppercase"), "{err}");
        let id = format!("sha256:{}", "0".repeat(64));
        let err = Target::parse(&id, &[]).unwrap_err();
        assert!(err.to_string().contains("image ID"), "{err}");
    }

    #[test]
    fn backoff_doubles_and_honours_a_short_retry_after() {
        let ms = |n| Duration::from_millis(n);
        assert_eq!(backoff(1, None), ms(200));
        assert_eq!(backoff(2, None), ms(400));
        assert_eq!(backoff(3, None), ms(800));
        assert_eq!(backoff(1, Some(Duration::from_secs(2))), ms(2000));
        assert_eq!(backoff(1, Some(Duration::from_secs(3600))), MAX_RETRY_AFTER);
        assert_eq!(backoff(3, Some(Duration::from_secs(0))), ms(800));
    }

    #[test]
    fn sha256_is_the_registry_digest_form() {
        assert_eq!(
            sha256(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
