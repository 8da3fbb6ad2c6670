//! Resolving a reference to where the image is, and measuring it there.

use std::path::PathBuf;

use tokio::sync::OnceCell;

use super::archive;
use super::cache::{Cache, LayerFacts};
use super::engine::{Want, check_platform};
use super::registry::{self, Registry, RegistryOptions};
use super::transport::{self, Source};
use super::{Engine, Error, IN_REGISTRY, Measurement, Needs};
use crate::model::PlatformChoice;

/// How sources are set up.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Registries reached over plain HTTP besides loopback.
    pub insecure_registries: Vec<String>,
    /// Where the facts of registry layers are kept between runs.
    pub cache: Cache,
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
        self.engine
            .get_or_init(|| Engine::connect_remembering(self.options.cache.clone()))
            .await
    }

    async fn registry(&self) -> Result<&Registry, registry::Error> {
        let registry = self
            .registry
            .get_or_init(|| async {
                Registry::new(RegistryOptions {
                    insecure: self.options.insecure_registries.clone(),
                    cache: self.options.cache.clone(),
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
        needs: Needs,
    ) -> Result<Vec<Measurement>, registry::Error> {
        self.registry()
            .await?
            .measure_for(reference, platform, needs)
            .await
    }

    /// Keeps layer facts that a saved report gives, for registry images
    /// that have those layers.
    pub async fn remember(&self, facts: &[LayerFacts]) {
        if let Ok(registry) = self.registry().await {
            registry.remember(facts);
        }
    }

    /// Measures a reference where it points: one measurement, or one per
    /// platform for `platform = "all"`. `needs` says what must be known: a
    /// registry image's layers are read only for `size`; an engine image's
    /// compressed size is read from the registry it was pushed to only for
    /// `compressed`.
    pub async fn measure(
        &self,
        reference: &str,
        platform: Option<&PlatformChoice>,
        needs: Needs,
    ) -> Result<Vec<Measurement>, Error> {
        let mut measured = self.measure_where(reference, platform, needs).await?;
        if !needs.files {
            // Archives list every layer anyway; only `files` keeps them.
            for m in &mut measured {
                m.listings = None;
            }
        }
        Ok(measured)
    }

    async fn measure_where(
        &self,
        reference: &str,
        platform: Option<&PlatformChoice>,
        needs: Needs,
    ) -> Result<Vec<Measurement>, Error> {
        let compressed = needs.compressed;
        let source = transport::parse(reference).map_err(|reason| Error::InvalidReference {
            reference: reference.to_string(),
            reason,
        })?;
        match source {
            Source::Daemon(name) => self.in_engine(&name, platform, needs).await,
            Source::Registry(name) => Ok(self.in_registry(&name, platform, needs).await?),
            Source::Auto(name) => match self.in_engine(&name, platform, needs).await {
                Ok(m) => Ok(m),
                Err(engine @ (Error::NotFound { .. } | Error::Unreachable { .. })) => {
                    let mut found =
                        self.in_registry(&name, platform, needs)
                            .await
                            .map_err(|registry| Error::Nowhere {
                                engine: Box::new(engine.clone()),
                                registry: Box::new(registry),
                            })?;
                    let why = match engine {
                        Error::NotFound { .. } => "the local engine has no such image",
                        _ => "the local engine could not be reached",
                    };
                    for m in &mut found {
                        m.note = Some(format!(
                            "`{name}` {IN_REGISTRY} ({why}): the pushed image, not a local build"
                        ));
                    }
                    Ok(found)
                }
                Err(other) => Err(other),
            },
            Source::DockerArchive { path, selector } => {
                self.in_archive(
                    reference,
                    path,
                    selector,
                    platform,
                    compressed,
                    Format::Docker,
                )
                .await
            }
            Source::OciArchive { path, selector } => {
                self.in_archive(
                    reference,
                    path,
                    selector,
                    platform,
                    compressed,
                    Format::OciArchive,
                )
                .await
            }
            Source::OciLayout { dir, tag } => {
                self.in_archive(reference, dir, tag, platform, compressed, Format::OciLayout)
                    .await
            }
        }
    }

    /// Archives and layouts are read from disk off the async threads.
    async fn in_archive(
        &self,
        reference: &str,
        path: PathBuf,
        selector: Option<String>,
        platform: Option<&PlatformChoice>,
        compressed: bool,
        format: Format,
    ) -> Result<Vec<Measurement>, Error> {
        if !path.exists() {
            return Err(Error::NoFile {
                reference: reference.to_string(),
                path: path.display().to_string(),
            });
        }
        let platform = platform.cloned();
        let read = move || {
            let (selector, platform) = (selector.as_deref(), platform.as_ref());
            match format {
                Format::Docker => {
                    archive::measure_docker_archive(&path, selector, platform, compressed)
                }
                Format::OciArchive => {
                    archive::measure_oci_archive(&path, selector, platform, compressed)
                }
                Format::OciLayout => {
                    archive::measure_oci_layout(&path, selector, platform, compressed)
                }
            }
        };
        tokio::task::spawn_blocking(read)
            .await
            .map_err(|e| Error::Interrupted {
                reference: reference.to_string(),
                reason: e.to_string(),
            })?
            .map_err(|e| Error::Archive(Box::new(e)))
    }

    /// An engine image at each platform asked for: its size from the
    /// layers where the store counts otherwise; its compressed size from
    /// the blobs where the store keeps them, else from the registry it was
    /// pushed to, else estimated; its entries for wasted bytes and files.
    async fn in_engine(
        &self,
        name: &str,
        platform: Option<&PlatformChoice>,
        needs: Needs,
    ) -> Result<Vec<Measurement>, Error> {
        let engine = self.engine().await;
        let mut measured = Vec::new();
        for mut found in engine.find(name, platform).await? {
            check_platform(&found.measurement, platform)?;
            let mut want = Want {
                listings: needs.files || needs.wasted,
                compressed: false,
            };
            if needs.compressed {
                want.compressed = found.store.keeps_blobs()
                    || !self.add_pushed_size(&mut found.measurement).await;
            }
            measured.push(engine.complete(found, want).await?);
        }
        Ok(measured)
    }

    /// True when the image's registry gave its compressed size.
    async fn add_pushed_size(&self, measured: &mut Measurement) -> bool {
        let choice = measured.platform.clone().map(PlatformChoice::One);
        for pushed in measured.repo_digests.clone() {
            if let Ok(found) = self
                .in_registry(&pushed, choice.as_ref(), Needs::default())
                .await
                && let Some(first) = found.first()
            {
                measured.metrics.compressed = first.metrics.compressed;
                measured.metrics.compressed_estimated = false;
                for (layer, remote) in measured.layer_details.iter_mut().zip(&first.layer_details) {
                    layer.compressed = remote.compressed;
                    layer.blob.clone_from(&remote.blob);
                }
                return true;
            }
        }
        false
    }
}

/// Which kind of archive a reference names.
#[derive(Debug, Clone, Copy)]
enum Format {
    Docker,
    OciArchive,
    OciLayout,
}
