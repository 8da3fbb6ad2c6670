//! The local engine over its HTTP API (bollard): docker, or podman's
//! docker-compatible socket, found as the docker CLI finds it (`DOCKER_HOST`,
//! then the default socket).

use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;

use futures_util::TryStreamExt;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::archive;
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
}

impl Engine {
    /// Finds the engine as the docker CLI does (see `engine_host`),
    /// connects and negotiates the API version (engines from API 1.41,
    /// docker 20.10, to today's).
    pub async fn connect() -> Engine {
        let env = |name: &str| std::env::var(name).ok();
        let found = engine_host::find(&env);
        let host = match &found {
            Ok(found) if found.from == "DOCKER_HOST" => found.host.clone(),
            Ok(found) => format!("{} ({})", found.host, found.from),
            Err(_) => "the docker context".to_string(),
        };
        let docker = async {
            let found = found.map_err(|reason| Error::Unreachable {
                host: host.clone(),
                reason,
            })?;
            let unreachable = |e: BollardError| Error::Unreachable {
                host: host.clone(),
                reason: describe(&e),
            };
            let docker = Docker::connect_with_host(&found.host)
                .map_err(unreachable)?
                .with_timeout(Duration::from_secs(120));
            docker.negotiate_version().await.map_err(unreachable)
        }
        .await;
        Engine { docker, host }
    }

    /// Measures one image in the engine.
    pub async fn measure(&self, reference: &str) -> Result<Measurement, Error> {
        let docker = self.docker.as_ref().map_err(Clone::clone)?;
        let failed = |e: BollardError| classify(reference, &self.host, e);
        let inspect = docker.inspect_image(reference).await.map_err(failed)?;
        let history = docker.image_history(reference).await.map_err(failed)?;

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
        let docker = self.docker.as_ref().map_err(Clone::clone)?.clone();
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
