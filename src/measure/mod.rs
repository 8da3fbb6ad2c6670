//! Measuring images where they are: the local engine (docker or podman,
//! found the way the docker CLI finds it), registries (manifests only), and
//! archives. `Sources` resolves a reference to the right one.

pub mod archive;
pub mod cache;
pub mod digest;
mod engine;
mod history;
mod home;
pub(crate) mod image_config;
pub mod layer;
pub mod platform;
pub mod progress;
pub mod registry;
mod sources;
pub mod transport;

use crate::model::{Budget, BudgetKey, Layer, Metric, Metrics};

pub use engine::Engine;
pub use history::layers_with_history;
pub use sources::{Options, Sources};

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
    /// The numbers judged: `size` as `docker image inspect` reports it,
    /// `compressed` as a pull transfers it, the layer count.
    pub metrics: Metrics,
    pub layer_details: Vec<Layer>,
    /// The engine's repo digests (`repo@sha256:...`): where the image was
    /// pushed, to read its compressed size from. Empty for other sources.
    pub repo_digests: Vec<String>,
    /// Every layer's entries (oldest layer first), when `Needs::files` asked
    /// for them: what `explain` analyses.
    pub listings: Option<Vec<layer::waste::Listing>>,
    /// Worth telling about how it was measured: a plain reference that the
    /// engine did not have, measured in its registry instead.
    pub note: Option<String>,
}

/// The words of a measurement's note when a plain reference was measured
/// in its registry, not in the engine.
pub const IN_REGISTRY: &str = "was measured in its registry";

/// What a measurement must tell. The registry reads layer blobs only for
/// `size`; the engine asks the registry (or estimates) only for `compressed`,
/// and exports the image only for `wasted` (archives always read every layer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub size: bool,
    pub compressed: bool,
    /// The wasted bytes: every layer's entries, read in order.
    pub wasted: bool,
    /// Every layer's entries, kept in the measurement (`listings`).
    pub files: bool,
}

impl Needs {
    /// What either asks for.
    #[must_use]
    pub fn or(self, other: Needs) -> Needs {
        Needs {
            size: self.size || other.size,
            compressed: self.compressed || other.compressed,
            wasted: self.wasted || other.wasted,
            files: self.files || other.files,
        }
    }

    /// What an image's budgets judge: the size for size and growth budgets,
    /// the compressed size for `max-compressed`.
    pub fn of(budget: &Budget) -> Needs {
        let judges = |metric: Metric| {
            BudgetKey::ALL
                .into_iter()
                .any(|key| key.metric() == metric && budget.has(key))
        };
        Needs {
            size: judges(Metric::Size),
            compressed: judges(Metric::Compressed),
            wasted: judges(Metric::Wasted),
            // Packages are read from every layer's files.
            files: budget.has(BudgetKey::DenyPackages),
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
    #[error(
        "`{reference}` is in the local engine for {}, not for {wanted}\n  hint: build or pull it for {wanted} (`docker build --platform {wanted}`, `docker pull --platform {wanted}`), or set `platform` to one that is there",
        platforms(.present)
    )]
    PlatformMismatch {
        reference: String,
        /// The platforms whose content the engine holds.
        present: Vec<String>,
        wanted: String,
    },
    #[error("reading `{reference}` was interrupted: {reason}")]
    Interrupted { reference: String, reason: String },
    #[error(
        "`{reference}`: there is no file or directory `{path}`\n  hint: build or save the image there first, or fix the path"
    )]
    NoFile { reference: String, path: String },
    #[error(transparent)]
    Archive(Box<archive::Error>),
    #[error(transparent)]
    Registry(Box<registry::Error>),
    /// A plain reference found neither in the engine nor in its registry.
    #[error("{engine}\n  then its registry: {registry}")]
    Nowhere {
        engine: Box<Error>,
        registry: Box<registry::Error>,
    },
}

/// `linux/amd64 and linux/arm64`, or what it means when there is none.
fn platforms(present: &[String]) -> String {
    match present {
        [] => "no platform whose layers are present (pull it again)".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl From<registry::Error> for Error {
    fn from(e: registry::Error) -> Error {
        Error::Registry(Box::new(e))
    }
}

impl Error {
    /// True when the image is simply not there (as opposed to a source that
    /// could not be asked).
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::NotFound { .. } | Error::NoFile { .. } => true,
            Error::Registry(e) => e.is_not_found(),
            Error::Nowhere { engine, registry } => {
                registry.is_not_found() && matches!(**engine, Error::NotFound { .. })
            }
            _ => false,
        }
    }
}
