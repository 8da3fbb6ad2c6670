//! The local engine over its HTTP API: docker (the classic graphdriver
//! store or the containerd image store), or podman's docker-compatible
//! socket, found as the docker CLI finds it (`DOCKER_HOST`, contexts, then
//! the default socket).
//!
//! One definition of `size` everywhere: the bytes of the files the layers
//! hold, as the classic store counts them. Only the classic store's own
//! `Size` is that number. The containerd store's is packed (compressed)
//! content, its history's layer sizes disk usage; podman's counts the
//! layers' tar streams. There the sizes come from the layers themselves:
//! the layer facts cache by diff ID first, then the image's export, of
//! which only the layers not seen before are decompressed.
//!
//! - [`api`]: requests with the negotiated version and the query strings
//!   bollard does not build; lenient answers.
//! - [`export`]: the export stream, timed out by silence, not by length.

pub mod api;
mod export;
pub mod host;

use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::{ClientVersion, Docker};
use tokio::sync::OnceCell;
use tokio_util::io::{StreamReader, SyncIoBridge};

use self::api::{ApiError, HistoryItem, Inspect, VersionInfo};
use self::host as engine_host;
use super::archive::{self, KnownLayer, Reuse};
use super::cache::{Cache, EngineMemory, LayerFacts};
use super::history::{Step, layers_with_history};
use super::layer::read_ahead::read_ahead;
use super::platform::{DEFAULT_PLATFORM, platform_matches};
use super::{Error, Measurement};
use crate::model::Metrics;
use crate::model::PlatformChoice;

/// Which engine answers: told once per run from `/version` (podman names
/// its component), and remembered with the API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Docker,
    Podman,
}

impl EngineKind {
    fn name(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
        }
    }

    fn from_name(name: &str) -> Option<EngineKind> {
        match name {
            "docker" => Some(EngineKind::Docker),
            "podman" => Some(EngineKind::Podman),
            _ => None,
        }
    }
}

/// Where an engine image is kept, which says what its own figures mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// Docker's graphdriver store: `Size` and history count file bytes,
    /// as image-budget does.
    Classic,
    /// Docker's containerd image store (Docker 29's default, Docker
    /// Desktop, `docker:dind`), told by inspect's `Descriptor`: `Size` is
    /// packed content, history is disk usage. Layer blobs are kept as
    /// pulled, so their sizes are the compressed size.
    Containerd,
    /// podman: `Size` counts tar streams.
    Podman,
}

impl Store {
    /// The engine's own `Size` and history sizes are image-budget's.
    fn counts_as_we_do(self) -> bool {
        self == Store::Classic
    }

    /// The export holds the layer blobs as pulled or pushed: their sizes
    /// are what a pull transfers, exactly.
    pub fn keeps_blobs(self) -> bool {
        self == Store::Containerd
    }
}

/// An image found in the engine at one platform: what inspect and history
/// told, sizes still unknown unless the store counts as image-budget does.
#[derive(Debug, Clone)]
pub struct Found {
    pub measurement: Measurement,
    pub store: Store,
    /// The platform to ask history and the export for, where the engine
    /// takes one.
    platform: Option<String>,
}

/// What else a measurement must tell, beyond size and layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Want {
    /// Every layer's entries (wasted bytes, `explain`).
    pub listings: bool,
    /// The compressed size: from the blobs where the store keeps them,
    /// else estimated by compressing the layers.
    pub compressed: bool,
}

/// A connection to the engine; a failed connection is kept and reported for
/// every image, so each image's row still says why it was not measured.
pub struct Engine {
    docker: Result<Docker, Error>,
    /// Which engine, as the handshake or the cache told.
    kind: EngineKind,
    /// The engine's own platform (`linux/amd64`): an image measured at
    /// another, when none was asked for, is said to be.
    own_platform: String,
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
    fresh: OnceCell<Result<(Docker, Told), Error>>,
    /// How long a request's answer may take, and how long an export may
    /// go silent once it has started.
    timeout: Duration,
}

/// How long a request to the engine may take, unless
/// `IMAGE_BUDGET_ENGINE_TIMEOUT` says otherwise.
const ENGINE_TIMEOUT: u64 = 120;

/// `IMAGE_BUDGET_ENGINE_TIMEOUT` (seconds, or `90s`, `2m`), else two minutes.
fn timeout_from_env() -> Duration {
    std::env::var("IMAGE_BUDGET_ENGINE_TIMEOUT")
        .ok()
        .and_then(|v| crate::size::parse_duration(v.trim()).ok())
        .filter(|d| !d.is_zero())
        .unwrap_or(Duration::from_secs(ENGINE_TIMEOUT))
}

impl Engine {
    /// Finds the engine as the docker CLI does (see `host`),
    /// connects and negotiates the API version (engines from API 1.41,
    /// docker 20.10, to today's). No cache: every run makes the handshake.
    pub async fn connect() -> Engine {
        Engine::connect_remembering(Cache::none()).await
    }

    /// [`Engine::connect`], with the API version the engine served last
    /// time and which engine it was taken from `cache` (no handshake), and
    /// kept there after one. Requests carry the version in their path, so
    /// an engine that refuses it (upgraded or downgraded since) is asked
    /// again with a handshake.
    pub async fn connect_remembering(cache: Cache) -> Engine {
        let timeout = timeout_from_env();
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
            .filter(|a| cfg!(unix) && a.starts_with("unix://"))
            .and_then(|a| {
                let memory = cache.engine_version(a)?;
                let kind = EngineKind::from_name(&memory.kind)?;
                Some((
                    a,
                    memory.version,
                    Told {
                        kind,
                        platform: memory.platform,
                    },
                ))
            });
        let was_remembered = remembered.is_some();
        let connected = match (&found, remembered) {
            (Err(reason), _) => Err(Error::Unreachable {
                host: host.clone(),
                reason: reason.clone(),
            }),
            (Ok(_), Some((address, (major, minor), told))) => {
                let version = ClientVersion {
                    major_version: major,
                    minor_version: minor,
                };
                connect_unix(address, timeout, &version)
                    .map(|docker| (docker, told.clone()))
                    .map_err(|e| Error::Unreachable {
                        host: host.clone(),
                        reason: describe(&e),
                    })
            }
            (Ok(found), None) => handshake(&found.host, &host, &cache, timeout).await,
        };
        let (docker, told) = match connected {
            Ok((docker, told)) => (Ok(docker), told),
            Err(e) => (Err(e), Told::default()),
        };
        Engine {
            remembered: was_remembered && docker.is_ok(),
            docker,
            kind: told.kind,
            own_platform: told.platform,
            host,
            address,
            cache,
            fresh: OnceCell::new(),
            timeout,
        }
    }

    /// The client to use: the one made after a refused version, if any.
    fn client(&self) -> Result<(&Docker, EngineKind), Error> {
        match self.fresh.get() {
            Some(fresh) => fresh
                .as_ref()
                .map(|(docker, told)| (docker, told.kind))
                .map_err(Clone::clone),
            None => self
                .docker
                .as_ref()
                .map(|docker| (docker, self.kind))
                .map_err(Clone::clone),
        }
    }

    /// After the engine refused the remembered API version: a client that
    /// made the handshake (once per run), or None when there is nothing to
    /// redo.
    async fn renegotiated(&self, error: &ApiError) -> Option<(&Docker, EngineKind)> {
        let ApiError::Engine(error) = error else {
            return None;
        };
        if !self.remembered || !is_version_refusal(error) {
            return None;
        }
        let address = self.address.as_deref()?;
        let fresh = self
            .fresh
            .get_or_init(|| handshake(address, &self.host, &self.cache, self.timeout))
            .await;
        fresh
            .as_ref()
            .ok()
            .map(|(docker, told)| (docker, told.kind))
    }

    /// Inspect (and, with `platform`, for that platform), with the version
    /// made again if the engine refuses the remembered one.
    async fn inspect(
        &self,
        reference: &str,
        platform: Option<&str>,
        manifests: bool,
    ) -> Result<(Inspect, EngineKind), Error> {
        let ask = |docker: Docker| async move {
            let version = version_of(&docker);
            let mut query = Vec::new();
            if let Some(p) = platform.filter(|_| version >= api::INSPECT_PLATFORM) {
                query.push(("platform", api::platform_query(p)));
            } else if manifests && version >= api::PLATFORM_AND_MANIFESTS {
                // The engine refuses both at once.
                query.push(("manifests", "1".to_string()));
            }
            api::get_json::<Inspect>(&docker, &format!("/images/{reference}/json"), &query).await
        };
        let (docker, kind) = self.client()?;
        match ask(docker.clone()).await {
            Ok(inspect) => Ok((inspect, kind)),
            Err(e) => match self.renegotiated(&e).await {
                Some((fresh, kind)) => ask(fresh.clone())
                    .await
                    .map(|inspect| (inspect, kind))
                    .map_err(|e| classify(reference, &self.host, e)),
                None => Err(classify(reference, &self.host, e)),
            },
        }
    }

    async fn history(
        &self,
        reference: &str,
        platform: Option<&str>,
    ) -> Result<Vec<HistoryItem>, Error> {
        let (docker, _) = self.client()?;
        let mut query = Vec::new();
        if let Some(p) = platform.filter(|_| version_of(docker) >= api::PLATFORM_AND_MANIFESTS) {
            query.push(("platform", api::platform_query(p)));
        }
        api::get_json(docker, &format!("/images/{reference}/history"), &query)
            .await
            .map_err(|e| classify(reference, &self.host, e))
    }

    /// Finds an image in the engine, at the platform `choice` asks for (or,
    /// with none, the one the engine prefers or the only one present; with
    /// `all`, each present): inspect and history, and the store that keeps
    /// it. An image present only for other platforms than the one asked for
    /// is an error that names those present, never a pass on a few bytes.
    pub async fn find(
        &self,
        reference: &str,
        choice: Option<&PlatformChoice>,
    ) -> Result<Vec<Found>, Error> {
        let wanted = match choice {
            Some(PlatformChoice::One(p)) => Some(p.as_str()),
            _ => None,
        };
        let (inspect, kind) = match self.inspect(reference, wanted, false).await {
            Ok(answer) => answer,
            // A platform the image's index does not list is "not found":
            // say which are there, if the image is.
            Err(Error::NotFound { .. }) if wanted.is_some() => {
                let present = self.present_platforms(reference).await?;
                return Err(mismatch(reference, &present, wanted.unwrap_or_default()));
            }
            Err(e) => return Err(e),
        };
        let containerd = kind == EngineKind::Docker && inspect.descriptor.is_some();
        let store = match (kind, containerd) {
            (EngineKind::Podman, _) => Store::Podman,
            (EngineKind::Docker, true) => Store::Containerd,
            (EngineKind::Docker, false) => Store::Classic,
        };
        if store == Store::Containerd && choice == Some(&PlatformChoice::All) {
            let present = self.present_platforms(reference).await?;
            let mut found = Vec::with_capacity(present.len());
            for platform in present {
                let (inspect, _) = self.inspect(reference, Some(&platform), false).await?;
                found.push(
                    self.found(reference, inspect, store, Some(platform), None)
                        .await?,
                );
            }
            return Ok(found);
        }
        if is_present(&inspect) {
            let platform = wanted.map(str::to_string);
            // Nothing asked for, and not the engine's own platform: the
            // image is here for another (a single-platform image, or the
            // containerd store's preference fell on another).
            let note = platform_of(&inspect)
                .filter(|p| wanted.is_none() && !platform_matches(&self.own_platform, p))
                .map(|p| {
                    format!(
                        "`{reference}` is in the local engine only for {p}, not for the engine's own {}: measured at {p}",
                        self.own_platform
                    )
                });
            return Ok(vec![
                self.found(reference, inspect, store, platform, note)
                    .await?,
            ]);
        }
        // The containerd store answers for a platform whose content is not
        // here with empty fields: the platform asked for, or the engine's
        // own, is not present.
        let present = self.present_platforms(reference).await?;
        match (wanted, present.as_slice()) {
            (Some(wanted), _) => Err(mismatch(reference, &present, wanted)),
            (None, [only]) => {
                let (inspect, _) = self.inspect(reference, Some(only), false).await?;
                if !is_present(&inspect) {
                    return Err(mismatch(reference, &[], only));
                }
                let note = format!(
                    "`{reference}` is in the local engine only for {only}: measured at that platform"
                );
                Ok(vec![
                    self.found(reference, inspect, store, Some(only.clone()), Some(note))
                        .await?,
                ])
            }
            (None, _) => Err(mismatch(reference, &present, DEFAULT_PLATFORM)),
        }
    }

    /// Measures one image at the platform the engine prefers: its size
    /// and layers, nothing more.
    pub async fn measure(&self, reference: &str) -> Result<Measurement, Error> {
        let found = self.find(reference, None).await?;
        let first = found.into_iter().next().ok_or_else(|| Error::NotFound {
            reference: reference.to_string(),
        })?;
        self.complete(first, Want::default()).await
    }

    /// The image platforms whose content the engine holds (the containerd
    /// store's `manifests`; another store's one platform).
    async fn present_platforms(&self, reference: &str) -> Result<Vec<String>, Error> {
        let (inspect, _) = self.inspect(reference, None, true).await?;
        let mut present: Vec<String> = inspect
            .manifests
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|m| m.available)
            .filter_map(api::ManifestSummary::image_platform)
            .collect();
        if inspect.manifests.is_none() && is_present(&inspect) {
            present.extend(platform_of(&inspect));
        }
        present.dedup();
        Ok(present)
    }

    /// History, and the measurement as far as inspect and history tell it.
    async fn found(
        &self,
        reference: &str,
        inspect: Inspect,
        store: Store,
        platform: Option<String>,
        note: Option<String>,
    ) -> Result<Found, Error> {
        // The containerd store is asked for the platform measured, even
        // when none was asked for: its history and its export then hold
        // that manifest alone, never every platform's layers.
        let platform = match store {
            Store::Containerd => platform.or_else(|| platform_of(&inspect)),
            _ => platform,
        };
        let history = self.history(reference, platform.as_deref()).await?;
        // The containerd store's ID is the digest of the index or manifest.
        let id = inspect
            .id
            .clone()
            .or_else(|| inspect.descriptor.as_ref().map(|d| d.digest.clone()))
            .unwrap_or_default();
        // The containerd store writes repo digests for local builds never
        // pushed: they say nothing of a registry.
        let repo_digests = match store {
            Store::Containerd => Vec::new(),
            _ => inspect.repo_digests.clone().unwrap_or_default(),
        };
        let digest = repo_digests
            .iter()
            .find_map(|d| d.split_once('@').map(|(_, digest)| digest.to_string()))
            .unwrap_or(id);
        let diff_ids: Vec<String> = inspect
            .root_fs
            .as_ref()
            .and_then(|r| r.layers.clone())
            .unwrap_or_default();
        let steps: Vec<Step> = history
            .iter()
            .rev()
            .map(|h| Step {
                created_by: h.created_by.clone().unwrap_or_default(),
                size: h.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
            })
            .collect();
        let mut layer_details = layers_with_history(&diff_ids, &steps);
        let size = if store.counts_as_we_do() {
            let size = inspect.size.ok_or_else(|| Error::Engine {
                reference: reference.to_string(),
                message: "the engine did not report the image's size".to_string(),
            })?;
            Some(u64::try_from(size).unwrap_or(0))
        } else {
            // Disk usage or tar streams: not image-budget's count.
            for layer in &mut layer_details {
                layer.size = None;
            }
            None
        };
        Ok(Found {
            measurement: Measurement {
                reference: reference.to_string(),
                source: "daemon",
                digest,
                platform: platform_of(&inspect).or_else(|| platform.clone()),
                metrics: Metrics {
                    size,
                    compressed: None,
                    compressed_estimated: false,
                    layers: Some(diff_ids.len() as u64),
                    wasted: None,
                },
                layer_details,
                repo_digests,
                listings: None,
                note,
            },
            store,
            platform: platform.filter(|_| store == Store::Containerd),
        })
    }

    /// The measurement of a found image, complete: its size from the layers
    /// where the store counts otherwise (the cache, else the export), and
    /// what `want` asks for from the export. A classic-store image that
    /// wants nothing more costs nothing more.
    pub async fn complete(&self, found: Found, want: Want) -> Result<Measurement, Error> {
        let Found {
            mut measurement,
            store,
            platform,
        } = found;
        let wants_export = want.listings || want.compressed;
        if measurement.metrics.size.is_some() && !wants_export {
            return Ok(measurement);
        }
        let cached: Vec<Option<LayerFacts>> = measurement
            .layer_details
            .iter()
            .map(|layer| self.cache.layer_by_diff(&layer.digest))
            .collect();
        if !wants_export && cached.iter().all(Option::is_some) {
            let mut size = 0;
            for (layer, facts) in measurement.layer_details.iter_mut().zip(&cached) {
                let facts = facts.as_ref().map_or(0, |f| f.size);
                layer.size = Some(facts);
                size += facts;
            }
            measurement.metrics.size = Some(size);
            return Ok(measurement);
        }
        // The layers already known are read past, unless their entries or a
        // compression estimate are wanted.
        let estimate = want.compressed && !store.keeps_blobs();
        let mut reuse = Reuse::default();
        if !want.listings && !estimate {
            for facts in cached.into_iter().flatten() {
                let known = KnownLayer {
                    diff_id: facts.diff_id.clone(),
                    size: facts.size,
                };
                reuse.known.insert(facts.blob.clone(), known.clone());
                // An uncompressed blob is named by its diff ID.
                reuse.known.insert(facts.diff_id, known);
            }
        }
        let cache = self.cache.clone();
        reuse.learned = Some(Box::new(move |stats: &archive::LayerStats| {
            cache.put_layer(&LayerFacts {
                blob: stats.blob_digest.clone(),
                diff_id: stats.diff_id.clone(),
                size: stats.size,
                blob_size: stats.blob_size,
            });
        }));
        let exported = self
            .export(&measurement.reference, platform.as_deref(), estimate, reuse)
            .await?;
        let same_layers = exported.layer_details.len() == measurement.layer_details.len()
            && exported
                .layer_details
                .iter()
                .zip(&measurement.layer_details)
                .all(|(a, b)| a.digest == b.digest);
        if !same_layers {
            return Err(Error::Engine {
                reference: measurement.reference,
                message: "the engine exported other layers than it inspected (was the image rebuilt meanwhile?)".to_string(),
            });
        }
        if measurement.metrics.size.is_none() {
            measurement.metrics.size = exported.metrics.size;
        }
        for (layer, from) in measurement
            .layer_details
            .iter_mut()
            .zip(&exported.layer_details)
        {
            if layer.size.is_none() {
                layer.size = from.size;
            }
            if layer.instruction.is_none() {
                layer.instruction.clone_from(&from.instruction);
            }
            if want.compressed {
                layer.compressed = from.compressed;
                if store.keeps_blobs() {
                    layer.blob.clone_from(&from.blob);
                }
            }
        }
        if want.compressed {
            measurement.metrics.compressed = exported.metrics.compressed;
            measurement.metrics.compressed_estimated = exported.metrics.compressed_estimated;
        }
        measurement.metrics.wasted = exported.metrics.wasted;
        measurement.listings = exported.listings;
        Ok(measurement)
    }

    /// Reads the image's export (`docker save`) through the archive reader,
    /// streaming: every layer counted (the ones `reuse` knows read past) and
    /// listed, and with `estimate`, each uncompressed one gzip-compressed
    /// and counted for what a push would transfer. Memory stays flat
    /// however large the image.
    async fn export(
        &self,
        reference: &str,
        platform: Option<&str>,
        estimate: bool,
        reuse: Reuse,
    ) -> Result<Measurement, Error> {
        let (docker, _) = self.client()?;
        let mut query = vec![("names", reference.to_string())];
        if let Some(p) = platform.filter(|_| version_of(docker) >= api::PLATFORM_AND_MANIFESTS) {
            query.push(("platform", api::platform_query(p)));
        }
        let stream = read_ahead(export::stream(docker, reference, &query, self.timeout));
        let bridge = SyncIoBridge::new(StreamReader::new(stream));
        let name = reference.to_string();
        let choice = platform.map(|p| PlatformChoice::One(p.to_string()));
        let measured = tokio::task::spawn_blocking(move || {
            archive::measure_docker_archive_reusing(
                bridge,
                &name,
                None,
                choice.as_ref(),
                estimate,
                &reuse,
            )
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

/// A unix socket's client at a version already agreed on.
#[cfg(unix)]
fn connect_unix(
    address: &str,
    timeout: Duration,
    version: &ClientVersion,
) -> Result<Docker, BollardError> {
    Docker::connect_with_unix(address, timeout.as_secs().max(1), version)
}

/// No unix sockets here (Windows): versions are only remembered for them.
#[cfg(not(unix))]
fn connect_unix(
    address: &str,
    _timeout: Duration,
    _version: &ClientVersion,
) -> Result<Docker, BollardError> {
    Err(BollardError::UnsupportedURISchemeError {
        uri: address.to_string(),
    })
}

/// The client's API version, `(1, 52)`.
fn version_of(docker: &Docker) -> api::Version {
    let v = docker.client_version();
    (v.major_version, v.minor_version)
}

/// The answer describes an image whose content is here: the containerd
/// store leaves the platform empty for one that is not.
fn is_present(inspect: &Inspect) -> bool {
    inspect
        .architecture
        .as_deref()
        .is_some_and(|a| !a.is_empty())
}

/// `os/arch[/variant]` of an inspect answer.
fn platform_of(inspect: &Inspect) -> Option<String> {
    let os = inspect.os.as_deref().filter(|o| !o.is_empty())?;
    let arch = inspect.architecture.as_deref().filter(|a| !a.is_empty())?;
    Some(super::platform::platform_name(
        os,
        arch,
        inspect.variant.as_deref(),
    ))
}

fn mismatch(reference: &str, present: &[String], wanted: &str) -> Error {
    Error::PlatformMismatch {
        reference: reference.to_string(),
        present: present.to_vec(),
        wanted: wanted.to_string(),
    }
}

/// True when `measured` is at the platform asked for (an engine that does
/// not take a platform answers with the one it has).
pub fn check_platform(
    measured: &Measurement,
    wanted: Option<&PlatformChoice>,
) -> Result<(), Error> {
    if let (Some(PlatformChoice::One(wanted)), Some(actual)) = (wanted, &measured.platform)
        && !platform_matches(wanted, actual)
    {
        return Err(mismatch(
            &measured.reference,
            std::slice::from_ref(actual),
            wanted,
        ));
    }
    Ok(())
}

/// What the handshake tells of the engine besides its API version.
#[derive(Debug, Clone)]
struct Told {
    kind: EngineKind,
    platform: String,
}

impl Default for Told {
    fn default() -> Told {
        Told {
            kind: EngineKind::Docker,
            platform: DEFAULT_PLATFORM.to_string(),
        }
    }
}

/// Connects to `address`, agrees on the API version with the engine and
/// asks which engine it is and its platform; all are remembered in `cache`
/// for the next run.
async fn handshake(
    address: &str,
    host: &str,
    cache: &Cache,
    timeout: Duration,
) -> Result<(Docker, Told), Error> {
    let unreachable = |e: BollardError| Error::Unreachable {
        host: host.to_string(),
        reason: describe(&e),
    };
    let docker = Docker::connect_with_host(address)
        .map_err(unreachable)?
        .with_timeout(timeout)
        .negotiate_version()
        .await
        .map_err(unreachable)?;
    let info: VersionInfo = api::get_json(&docker, "/version", &[])
        .await
        .map_err(|e| match e {
            ApiError::Engine(e) => unreachable(e),
            ApiError::Answer(reason) => Error::Unreachable {
                host: host.to_string(),
                reason,
            },
        })?;
    let kind = if info.is_podman() {
        EngineKind::Podman
    } else {
        EngineKind::Docker
    };
    let version = docker.client_version();
    let told = Told {
        kind,
        platform: info.platform(),
    };
    cache.put_engine_version(
        address,
        &EngineMemory {
            version: (version.major_version, version.minor_version),
            kind: kind.name().to_string(),
            platform: told.platform.clone(),
        },
    );
    Ok((docker, told))
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

fn classify(reference: &str, host: &str, error: ApiError) -> Error {
    let error = match error {
        ApiError::Engine(error) => error,
        ApiError::Answer(message) => {
            return Error::Engine {
                reference: reference.to_string(),
                message,
            };
        }
    };
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
