//! Measuring images where they are. Today: the local engine (docker or
//! podman), found the way the docker CLI finds it.

pub mod archive;
mod engine;
mod history;
pub mod platform;

use crate::judge::Metrics;
use crate::model::Layer;

pub use engine::Engine;
pub use history::layers_with_history;

/// What one image measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measurement {
    /// The reference as measured.
    pub reference: String,
    /// Where it was measured: `daemon`, `registry`, `docker-archive`,
    /// `oci-archive` or `oci` (a layout directory).
    pub source: &'static str,
    /// The repo digest when the image has one, else the image ID.
    pub digest: String,
    /// `os/arch[/variant]`.
    pub platform: Option<String>,
    /// Uncompressed bytes of all layers, as `docker image inspect` reports
    /// `Size`; `None` where the source cannot tell without reading layer blobs.
    pub size: Option<u64>,
    /// Bytes a pull transfers: the sum of the layer blob sizes.
    pub compressed: Option<u64>,
    /// `compressed` was estimated by compressing the layers, not read from a manifest.
    pub compressed_estimated: bool,
    pub layers: u64,
    pub layer_details: Vec<Layer>,
}

impl Measurement {
    pub fn metrics(&self) -> Metrics {
        Metrics {
            size: self.size,
            compressed: self.compressed,
            layers: Some(self.layers),
            wasted: None,
        }
    }
}

/// Why an image could not be measured. Each message says what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot reach the container engine at {host}: {reason}\n  hint: start it (`dockerd`, `systemctl start docker`, Docker Desktop) or point DOCKER_HOST at a running engine"
    )]
    Unreachable { host: String, reason: String },
    #[error(
        "image `{reference}` is not in the local engine\n  hint: build or pull it first (`docker pull {reference}`), or fix `ref` in the config"
    )]
    NotFound { reference: String },
    #[error("`{reference}` is not a valid image reference: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error("the engine could not inspect `{reference}`: {message}")]
    Engine { reference: String, message: String },
}

impl Error {
    /// True when the image is simply not there (as opposed to a broken engine).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}
