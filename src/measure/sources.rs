//! Resolving a reference to where the image is, and measuring it there.

use tokio::sync::OnceCell;

use super::registry::{self, Registry, RegistryOptions};
use super::source::{self, Source};
use super::{Engine, Error, Measurement, platform};
use crate::config::PlatformChoice;

/// How sources are set up.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Registries reached over plain HTTP besides loopback.
    pub insecure_registries: Vec<String>,
}

/// Every place an image can be measured, each set up on first use.
pub struct Sources {
    options: Options,
    engine: OnceCell<Engine>,
    registry: OnceCell<Result<Registry, registry::Error>>,
}

impl Sources {
    pub fn new(options: Options) -> Sources {
        Sources {
            options,
            engine: OnceCell::new(),
            registry: OnceCell::new(),
        }
    }

    async fn engine(&self) -> &Engine {
        self.engine.get_or_init(Engine::connect).await
    }

    async fn registry(&self) -> Result<&Registry, registry::Error> {
        let registry = self
            .registry
            .get_or_init(|| async {
                Registry::new(RegistryOptions {
                    insecure: self.options.insecure_registries.clone(),
                    ..RegistryOptions::default()
                })
            })
            .await;
        registry.as_ref().map_err(Clone::clone)
    }

    async fn in_registry(
        &self,
        reference: &str,
        platform: Option<&PlatformChoice>,
    ) -> Result<Vec<Measurement>, registry::Error> {
        self.registry().await?.measure(reference, platform).await
    }

    /// Measures a reference where it points: one measurement, or one per
    /// platform for `platform = "all"`. With `compressed`, an engine image's
    /// compressed size is read from the registry it was pushed to.
    pub async fn measure(
        &self,
        reference: &str,
        platform: Option<&PlatformChoice>,
        compressed: bool,
    ) -> Result<Vec<Measurement>, Error> {
        let source = source::parse(reference).map_err(|reason| Error::InvalidReference {
            reference: reference.to_string(),
            reason,
        })?;
        match source {
            Source::Daemon(name) => Ok(vec![self.in_engine(&name, platform, compressed).await?]),
            Source::Registry(name) => Ok(self.in_registry(&name, platform).await?),
            Source::Auto(name) => match self.in_engine(&name, platform, compressed).await {
                Ok(m) => Ok(vec![m]),
                Err(engine @ (Error::NotFound { .. } | Error::Unreachable { .. })) => self
                    .in_registry(&name, platform)
                    .await
                    .map_err(|registry| Error::Nowhere {
                        engine: Box::new(engine),
                        registry: Box::new(registry),
                    }),
                Err(other) => Err(other),
            },
            _ => Err(Error::Unsupported {
                reference: reference.to_string(),
            }),
        }
    }

    async fn in_engine(
        &self,
        name: &str,
        platform: Option<&PlatformChoice>,
        compressed: bool,
    ) -> Result<Measurement, Error> {
        let mut measured = self.engine().await.measure(name).await?;
        check_platform(&measured, platform)?;
        if compressed {
            self.add_pushed_size(&mut measured).await;
        }
        Ok(measured)
    }

    /// The compressed size of an engine image, from the registry it was
    /// pushed to (its repo digests). Left unknown when it was never pushed.
    async fn add_pushed_size(&self, measured: &mut Measurement) {
        let choice = measured.platform.clone().map(PlatformChoice::One);
        for pushed in measured.repo_digests.clone() {
            if let Ok(found) = self.in_registry(&pushed, choice.as_ref()).await
                && let Some(first) = found.first()
            {
                measured.compressed = first.compressed;
                measured.compressed_estimated = false;
                for (layer, remote) in measured.layer_details.iter_mut().zip(&first.layer_details) {
                    layer.compressed = remote.compressed;
                }
                return;
            }
        }
    }
}

/// An engine holds one platform of an image: it must be the one asked for.
fn check_platform(measured: &Measurement, wanted: Option<&PlatformChoice>) -> Result<(), Error> {
    if let (Some(PlatformChoice::One(wanted)), Some(actual)) = (wanted, &measured.platform)
        && !platform::platform_matches(wanted, actual)
    {
        return Err(Error::PlatformMismatch {
            reference: measured.reference.clone(),
            actual: actual.clone(),
            wanted: wanted.clone(),
        });
    }
    Ok(())
}
