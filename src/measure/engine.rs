//! The local engine over its HTTP API (bollard): docker, or podman's
//! docker-compatible socket, found as the docker CLI finds it (`DOCKER_HOST`,
//! then the default socket).

use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::models::{ImageHistoryResponseItem, ImageInspect};
use bollard::{ClientVersion, Docker};
use tokio::sync::OnceCell;

use futures_util::TryStreamExt;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::archive;
use super::cache::Cache;
use super::engine_host;
use super::history::{Step, layers_with_history};
use super::read_ahead::read_ahead;
use super::{Error, Measurement};
use crate::model::Metrics;

/// A connection to the engine; a failed connection is kept and reported for
/// every image, so each image's row still says why it was not measured.
pub struct Engine {
    docker: Result<Docker, Error>,
    /// The address and what named it, for messages.
    host: String,
    /// The address itself, to connect again with a handshake.
    address: Option<String>,
    /// Where the engine's API version is remembered between runs.
    cache: Cache,
    /// The API version came from the cache, without a handshake.
    remembered: bool,
    /// A client that made the handshake after the engine refused the
    /// remembered version (it was upgraded or downgraded since).
    fresh: OnceCell<Result<Docker, Error>>,
}

/// How long a request to the engine may take.
const ENGINE_TIMEOUT: u64 = 120;

impl Engine {
    /// Finds the engine as the docker CLI does (see `engine_host`),
    /// connects and negotiates the API version (engines from API 1.41,
    /// docker 20.10, to today's). No cache: every run makes the handshake.
    pub async fn connect() -> Engine {
        Engine::connect_remembering(Cache::none()).await
    }

    /// [`Engine::connect`], with the API version the engine served last
    /// time taken from `cache` (no handshake), and kept there after one.
    /// (bollard 0.21 sends its paths without the `/vX.Y` prefix, so today
    /// the engine answers in its own version either way; should requests
    /// carry it, a refused remembered version makes the handshake again.)
    pub async fn connect_remembering(cache: Cache) -> Engine {
        let env = |name: &str| std::env::var(name).ok();
        let found = engine_host::find(&env);
        let host = match &found {
            Ok(found) if found.from == "DOCKER_HOST" => found.host.clone(),
            Ok(found) => format!("{} ({})", found.host, found.from),
            Err(_) => "the docker context".to_string(),
        };
        let address = found.as_ref().ok().map(|f| f.host.clone());
        let remembered = address
            .as_deref()
            .filter(|a| a.starts_with("unix://"))
            .and_then(|a| cache.engine_version(a).map(|v| (a, v)));
        let docker = match (&found, remembered) {
            (Err(reason), _) => Err(Error::Unreachable {
                host: host.clone(),
                reason: reason.clone(),
            }),
            (Ok(_), Some((address, (major, minor)))) => {
                let version = ClientVersion {
                    major_version: major,
                    minor_version: minor,
                };
                Docker::connect_with_unix(address, ENGINE_TIMEOUT, &version).map_err(|e| {
                    Error::Unreachable {
                        host: host.clone(),
                        reason: describe(&e),
                    }
                })
            }
            (Ok(found), None) => handshake(&found.host, &host, &cache).await,
        };
        Engine {
            remembered: remembered.is_some() && docker.is_ok(),
            docker,
            host,
            address,
            cache,
            fresh: OnceCell::new(),
        }
    }

    /// The client to use: the one made after a refused version, if any.
    fn client(&self) -> Result<&Docker, Error> {
        match self.fresh.get() {
            Some(fresh) => fresh.as_ref().map_err(Clone::clone),
            None => self.docker.as_ref().map_err(Clone::clone),
        }
    }

    /// After the engine refused the remembered API version: a client that
    /// made the handshake (once per run), or None when there is nothing to
    /// redo.
    async fn renegotiated(&self, error: &BollardError) -> Option<&Docker> {
        if !self.remembered || !is_version_refusal(error) {
            return None;
        }
        let address = self.address.as_deref()?;
        let fresh = self
            .fresh
            .get_or_init(|| handshake(address, &self.host, &self.cache))
            .await;
        fresh.as_ref().ok()
    }

    /// Measures one image in the engine.
    pub async fn measure(&self, reference: &str) -> Result<Measurement, Error> {
        let failed = |e: BollardError| classify(reference, &self.host, e);
        let docker = self.client()?;
        let (inspect, history) = match inspect_and_history(docker, reference).await {
            Ok(answers) => answers,
            Err(e) => match self.renegotiated(&e).await {
                Some(fresh) => inspect_and_history(fresh, reference)
                    .await
                    .map_err(failed)?,
                None => return Err(failed(e)),
            },
        };

        let id = inspect.id.clone().unwrap_or_default();
        let repo_digests = inspect.repo_digests.clone().unwrap_or_default();
        let digest = repo_digests
            .iter()
            .find_map(|d| d.split_once('@').map(|(_, digest)| digest.to_string()))
            .unwrap_or(id);
        let size = inspect.size.ok_or_else(|| Error::Engine {
            reference: reference.to_string(),
            message: "the engine did not report the image's size".to_string(),
        })?;
        let diff_ids: Vec<String> = inspect
            .root_fs
            .as_ref()
            .and_then(|r| r.layers.clone())
            .unwrap_or_default();
        let steps: Vec<Step> = history
            .iter()
            .rev()
            .map(|h| Step {
                created_by: h.created_by.clone(),
                size: u64::try_from(h.size).unwrap_or(0),
            })
            .collect();
        let platform = inspect
            .os
            .as_ref()
            .zip(inspect.architecture.as_ref())
            .map(
                |(os, arch)| match inspect.variant.as_deref().filter(|v| !v.is_empty()) {
                    Some(variant) => format!("{os}/{arch}/{variant}"),
                    None => format!("{os}/{arch}"),
                },
            );
        Ok(Measurement {
            reference: reference.to_string(),
            source: "daemon",
            digest,
            platform,
            metrics: Metrics {
                size: Some(u64::try_from(size).unwrap_or(0)),
                compressed: None,
                compressed_estimated: false,
                layers: Some(diff_ids.len() as u64),
                wasted: None,
            },
            layer_details: layers_with_history(&diff_ids, &steps),
            repo_digests,
            listings: None,
            note: None,
        })
    }
}

impl Engine {
    /// Reads the image's export (`docker save`) through the archive reader:
    /// every layer counted and listed (its wasted bytes), and with
    /// `estimate`, each gzip-compressed and counted for what a push would
    /// transfer. Memory stays flat however large the image.
    pub async fn export(&self, reference: &str, estimate: bool) -> Result<Measurement, Error> {
        let docker = self.client()?.clone();
        let stream = read_ahead(docker.export_image(reference)).map_err(std::io::Error::other);
        let bridge = SyncIoBridge::new(StreamReader::new(stream));
        let name = reference.to_string();
        let measured = tokio::task::spawn_blocking(move || {
            archive::measure_docker_archive_reader(bridge, &name, None, None, estimate)
        })
        .await
        .map_err(|e| Error::Engine {
            reference: reference.to_string(),
            message: format!("the export was interrupted: {e}"),
        })?;
        let mut measured = measured.map_err(|e| Error::Engine {
            reference: reference.to_string(),
            message: format!("cannot read the exported image: {e}"),
        })?;
        measured.pop().ok_or_else(|| Error::Engine {
            reference: reference.to_string(),
            message: "the export held no image".to_string(),
        })
    }
}

/// The two answers a measurement needs.
async fn inspect_and_history(
    docker: &Docker,
    reference: &str,
) -> Result<(ImageInspect, Vec<ImageHistoryResponseItem>), BollardError> {
    let inspect = docker.inspect_image(reference).await?;
    let history = docker.image_history(reference).await?;
    Ok((inspect, history))
}

/// Connects to `address` and agrees on the API version with the engine;
/// the version is remembered in `cache` for the next run.
async fn handshake(address: &str, host: &str, cache: &Cache) -> Result<Docker, Error> {
    let unreachable = |e: BollardError| Error::Unreachable {
        host: host.to_string(),
        reason: describe(&e),
    };
    let docker = Docker::connect_with_host(address)
        .map_err(unreachable)?
        .with_timeout(Duration::from_secs(ENGINE_TIMEOUT))
        .negotiate_version()
        .await
        .map_err(unreachable)?;
    let version = docker.client_version();
    cache.put_engine_version(address, (version.major_version, version.minor_version));
    Ok(docker)
}

/// The engine refused the API version asked for: "client version 1.53 is
/// too new" after a downgrade, "too old" after an upgrade.
fn is_version_refusal(error: &BollardError) -> bool {
    matches!(
        error,
        BollardError::DockerResponseServerError { status_code: 400, message }
            if message.contains("client version")
    )
}

fn classify(reference: &str, host: &str, error: BollardError) -> Error {
    match error {
        BollardError::DockerResponseServerError {
            status_code: 404, ..
        } => Error::NotFound {
            reference: reference.to_string(),
        },
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => Error::Engine {
            reference: reference.to_string(),
            message: format!("{} (HTTP {status_code})", message.trim()),
        },
        BollardError::SocketNotFoundError(_)
        | BollardError::HyperLegacyError { .. }
        | BollardError::IOError { .. }
        | BollardError::RequestTimeoutError => Error::Unreachable {
            host: host.to_string(),
            reason: describe(&error),
        },
        other => Error::Engine {
            reference: reference.to_string(),
            message: describe(&other),
        },
    }
}

/// The error and its causes on one line.
fn describe(error: &BollardError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_api_version_is_told_from_other_errors() {
        let refused = |message: &str| BollardError::DockerResponseServerError {
            status_code: 400,
            message: message.to_string(),
        };
        assert!(is_version_refusal(&refused(
            "client version 1.53 is too new. Maximum supported API version is 1.41"
        )));
        assert!(is_version_refusal(&refused(
            "client version 1.41 is too old. Minimum supported API version is 1.44, please upgrade your client to a newer version"
        )));
        assert!(!is_version_refusal(&refused("invalid reference format")));
        assert!(!is_version_refusal(
            &BollardError::DockerResponseServerError {
                status_code: 404,
                message: "No such image: client version".to_string(),
            }
        ));
    }
}
