//! Measuring images in a registry: the manifest's layer blob sizes are what a
//! pull transfers; the config blob (one small request) names the layers by
//! diff ID, tells the platform and the instruction behind each layer. The
//! uncompressed size is counted, only when it is needed, by streaming each
//! layer blob once (see `layers`), or read from the layer facts cache.
//!
//! oci-client does the authentication dance (the `/v2/` challenge, then a
//! bearer token or basic credentials); the manifest requests are plain HTTP
//! here so that every status, `Retry-After` and `Docker-Content-Digest` is
//! seen, retried and reported as it is.

pub mod credentials;
mod layers;
pub mod manifest;
mod session;
mod target;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oci_client::Client as OciClient;
use oci_client::client::{ClientConfig, ClientProtocol};

use self::credentials::Credentials;
use super::cache::{Cache, LayerFacts};
use super::platform::{self, SelectError};
use super::{Measurement, Needs};
use crate::model::PlatformChoice;
use crate::retry::{Policy, root_cause};
use manifest::Manifest;
use session::Session;
use target::Target;

/// Requests answered 429 or 5xx are tried this many times in all.
pub const ATTEMPTS: u32 = 4;
const USER_AGENT: &str = concat!("image-budget/", env!("CARGO_PKG_VERSION"));

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
    #[error(
        "registry {registry} has no blob {blob}, which the manifest of `{reference}` lists ({detail})\n  hint: the image in the registry is incomplete; push it again"
    )]
    MissingBlob {
        reference: String,
        registry: String,
        blob: String,
        detail: String,
    },
    #[error("layer {blob} of `{reference}` cannot be counted: {reason}\n  hint: {hint}")]
    Layer {
        reference: String,
        blob: String,
        reason: String,
        hint: &'static str,
    },
    #[error(transparent)]
    Credentials(#[from] credentials::Error),
    #[error("cannot set up the registry client: {reason}")]
    Setup { reason: String },
}

fn platform_hint(error: &SelectError) -> &'static str {
    match error {
        SelectError::Missing { .. } => {
            "\n  hint: name one of those (`platform` in budgets.toml, where \"all\" checks each; `--platform` for `budget explain`)"
        }
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
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// `host[:port]` of registries to reach over plain HTTP. Loopback
    /// registries (`localhost`, 127.0.0.0/8, `[::1]`) always are; every other
    /// one is reached over HTTPS with its certificate verified.
    pub insecure: Vec<String>,
    /// The limit for connecting and for each request (for a layer blob:
    /// for each read of its stream, however long the whole takes).
    pub timeout: Duration,
    /// Where layer facts are kept between runs.
    pub cache: Cache,
    /// How 429, 5xx and broken connections are tried again.
    pub retry: Policy,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: Vec::new(),
            timeout: Duration::from_secs(30),
            cache: Cache::none(),
            retry: Policy {
                attempts: ATTEMPTS,
                first_backoff: Duration::from_millis(200),
                ..Policy::default()
            },
        }
    }
}

/// How many layer blobs stream at once, over all images of a run.
const LAYER_STREAMS: usize = 4;

/// The layers being counted now, by blob digest: an image that needs a
/// layer another image is counting waits for that count.
type InFlight = Arc<Mutex<HashMap<String, Arc<tokio::sync::OnceCell<LayerFacts>>>>>;

/// The authorization of each registry and repository so far (None: the
/// registry wants none), shared by the run's sessions.
type Authorizations = Arc<Mutex<HashMap<String, Option<session::Authorization>>>>;

/// A client for measuring images in registries; cheap to clone and share.
#[derive(Clone)]
pub struct Registry {
    http: reqwest::Client,
    /// For layer blobs: a read timeout, not a limit on the whole transfer.
    blob_http: reqwest::Client,
    cache: Cache,
    in_flight: InFlight,
    authorizations: Authorizations,
    streams: Arc<tokio::sync::Semaphore>,
    oci_plain: OciClient,
    oci_tls: OciClient,
    insecure: Vec<String>,
    timeout: Duration,
    retry: Policy,
    docker_config: Option<PathBuf>,
}

impl Registry {
    pub fn new(options: RegistryOptions) -> Result<Registry, Error> {
        let timeout = options.timeout;
        let client = |limit: fn(reqwest::ClientBuilder, Duration) -> reqwest::ClientBuilder| {
            limit(reqwest::Client::builder(), timeout)
                .user_agent(USER_AGENT)
                .connect_timeout(timeout)
                .build()
                .map_err(|e| Error::Setup {
                    reason: root_cause(&e),
                })
        };
        // Manifests and configs: a limit on the whole request. Layer blobs:
        // on each read, however long the whole stream takes.
        let http = client(reqwest::ClientBuilder::timeout)?;
        let blob_http = client(reqwest::ClientBuilder::read_timeout)?;
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
            blob_http,
            cache: options.cache,
            in_flight: InFlight::default(),
            authorizations: Authorizations::default(),
            streams: Arc::new(tokio::sync::Semaphore::new(LAYER_STREAMS)),
            oci_plain: oci(ClientProtocol::Http)?,
            oci_tls: oci(ClientProtocol::Https)?,
            insecure: options.insecure,
            timeout,
            retry: options.retry,
            docker_config: None,
        })
    }

    /// The authorization another session got for `scope` this run.
    fn authorization(&self, scope: &str) -> Option<Option<session::Authorization>> {
        self.authorizations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(scope)
            .cloned()
    }

    fn keep_authorization(&self, scope: &str, authorization: Option<session::Authorization>) {
        self.authorizations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(scope.to_string(), authorization);
    }

    fn forget_authorization(&self, scope: &str) {
        self.authorizations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(scope);
    }

    /// Reads credentials from `dir/config.json` instead of `$DOCKER_CONFIG`
    /// or `~/.docker`.
    pub fn with_docker_config(mut self, dir: impl Into<PathBuf>) -> Registry {
        self.docker_config = Some(dir.into());
        self
    }

    /// Measures `reference`. For an index (manifest list) `platform`
    /// chooses: `None` is linux/amd64 or the only image there, `All` gives
    /// one measurement per platform; attestations never count. A single
    /// image manifest is measured whatever `platform` names; its platform is
    /// its config's. With `need_size`, every layer not in the cache is
    /// streamed and counted; without, only cached layers give their size.
    pub async fn measure(
        &self,
        reference: &str,
        platform: Option<&PlatformChoice>,
        need_size: bool,
    ) -> Result<Vec<Measurement>, Error> {
        let needs = Needs {
            size: need_size,
            ..Needs::default()
        };
        self.measure_for(reference, platform, needs).await
    }

    /// [`Registry::measure`], with what must be known: `wasted` reads every
    /// layer's entries.
    pub async fn measure_for(
        &self,
        reference: &str,
        platform: Option<&PlatformChoice>,
        needs: Needs,
    ) -> Result<Vec<Measurement>, Error> {
        let target = Target::parse(reference, &self.insecure)?;
        let credentials = self.credentials(&target.registry).await?;
        let mut session = Session::new(self, &target, credentials);
        let top = session.fetch(&target.selector).await?;
        match top.manifest {
            Manifest::Image { config, layers } => {
                let image = layers::Image {
                    digest: top.digest,
                    platform: None,
                    config,
                    layers,
                };
                Ok(vec![self.measure_image(&session, image, needs).await?])
            }
            Manifest::Index { entries } => {
                let chosen =
                    platform::select(&entries, platform).map_err(|source| Error::Platform {
                        reference: target.reference.clone(),
                        source,
                    })?;
                let mut measurements = Vec::with_capacity(chosen.len());
                for entry in chosen {
                    let child = session.fetch(&entry.digest).await?;
                    let Manifest::Image { config, layers } = child.manifest else {
                        return Err(Error::Malformed {
                            reference: target.reference.clone(),
                            url: target.manifest_url(&entry.digest),
                            reason: "an index entry is itself an index; nested indexes are not supported".into(),
                        });
                    };
                    let image = layers::Image {
                        digest: child.digest,
                        platform: entry.platform_name(),
                        config,
                        layers,
                    };
                    measurements.push(self.measure_image(&session, image, needs).await?);
                }
                Ok(measurements)
            }
        }
    }

    /// Keeps what a saved report says of layers (diff ID, size and blob of
    /// each), so that they need not be read again.
    pub fn remember(&self, facts: &[LayerFacts]) {
        for f in facts {
            if self.cache.layer(&f.blob).is_none() {
                self.cache.put_layer(f);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measuring_can_be_spawned() {
        fn assert_send<T: Send + 'static>(_: T) {}
        let registry = Registry::new(RegistryOptions::default()).unwrap();
        assert_send(async move { registry.measure("ghcr.io/a/b:1", None, true).await });
    }
}
