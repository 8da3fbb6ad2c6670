//! A stand-in for Docker Engine 29 with the containerd image store, written
//! from moby's code at tags docker-v29.1.0 (what it answers by default) and
//! docker-v29.2.1 / docker-v29.4.2 (where they differ, [`Release::V29_2`]),
//! serving images from REAL containerd exports: the OCI layout tars that
//! `ctr images export` wrote (tests/common/containerd.rs).
//!
//! A small HTTP/1.1 server on a unix socket (std threads, hand-written
//! request parsing, keep-alive). What it answers, and where in moby it comes
//! from (paths in github.com/moby/moby at the tags above):
//!
//! - every route through the version middleware
//!   (`daemon/server/middleware/version.go`): headers `Server: Docker/29.1.0
//!   (linux)`, `Api-Version: 1.52`, `Ostype: linux`; a path's `/vX.Y` prefix
//!   (none: the default, 1.52) below 1.44 or above 1.52 is a 400
//!   `{"message":"client version 1.41 is too old. Minimum supported API
//!   version is 1.44, please upgrade your client to a newer version"}` (too
//!   new: `client version 1.53 is too new. Maximum supported API version is
//!   1.52`), plain text below 1.24 (`daemon/server/server.go`
//!   makeHTTPHandler). Paths no route takes: 404 `page not found`, whatever
//!   their version (server.go CreateMux).
//! - `GET|HEAD /_ping`, `GET /version`, `GET /info`
//!   (`daemon/server/router/system/system_routes.go`, `daemon/info.go`,
//!   `daemon/containerd/service.go` LayerStoreStatus/StorageDriver).
//! - `GET /images/{name:.*}/json` (`router/image/image_routes.go`
//!   getImagesByName, `daemon/containerd/image_inspect.go`,
//!   `image_list.go` multiPlatformSummary, `image_manifest.go`,
//!   `platform_matchers.go`), `GET /images/{name:.*}/history`
//!   (`image_history.go`, `image.go` getBestPresentImageManifest), `GET
//!   /images/get` and `/images/{name:.*}/get` (`image_exporter.go`,
//!   `image_push.go` getPushDescriptor, containerd's
//!   `core/images/archive/exporter.go`), and a minimal `GET /images/json`.
//!
//! What it models of the store: an image's target is the top of its
//! export's index.json (an image index or one manifest); a blob is in the
//! store when the export holds it; a layer is unpacked (has a snapshot) when
//! its blob and those below it are there. Snapshot disk usage (history
//! sizes, `Unpacked`) is what containerd's overlayfs snapshotter counts at
//! commit (`fs.DiskUsage`: st_blocks of each inode): 4096 for the snapshot's
//! own directory and each directory, each regular file rounded up to 4096,
//! symlinks of 60 bytes or more one block, the rest (short symlinks, hard
//! links, whiteouts) nothing. That is the point: it is not the files' bytes.
//!
//! Citations `file:line` are at docker-v29.4.2 (github.com/moby/moby; the
//! code they point at reads the same at docker-v29.1.0 unless [`Release`]
//! says otherwise; `git show docker-v29.1.0:<file>` to compare).
//!
//! One liberty: moby streams a save with chunked transfer encoding (Go's
//! net/http with no Content-Length); the stand-in sends it with
//! `Connection: close`, the body delimited by the close. Other answers carry
//! a Content-Length and the connection is kept alive.
//!
//! Not modelled: containers (`Containers` is always null), the classic
//! builder's parent label (history IDs below the top stay `<missing>`),
//! referrers, `Identity` (API 1.53+), and `/images/json` filters.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// Which Docker 29 answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// docker-v29.1.0 (29.0.0 to 29.1.1 answer the same): API 1.44 to 1.52.
    /// Inspect only takes a platform whose blobs are all present
    /// (`image_list.go`: `if !available { return nil }` before Best is
    /// chosen), so an image whose asked-for platform is listed in its index
    /// but absent is a 404.
    V29_1,
    /// docker-v29.2.1 (29.1.2 changed inspect, 29.2.0 the API to 1.53):
    /// inspect takes the best listed platform even when its blobs are absent
    /// (commit 2e3a23c8ec "c8d/inspect: Fix image inspect for incomplete
    /// images") and answers it with empty `Os`, `Architecture`, `RootFS`
    /// and an empty `Config` instead of an error.
    V29_2,
}

impl Release {
    fn version(self) -> &'static str {
        match self {
            Release::V29_1 => "29.1.0",
            Release::V29_2 => "29.2.1",
        }
    }

    /// `config.MaxAPIVersion` (`daemon/config/config.go`).
    fn max_api(self) -> &'static str {
        match self {
            Release::V29_1 => "1.52",
            Release::V29_2 => "1.53",
        }
    }

    /// `defaultMinAPIVersion`: 1.44 until 29.3.0 lowered it to 1.40.
    fn min_api(self) -> &'static str {
        "1.44"
    }
}

/// The host's platform: linux/amd64 (`platforms.DefaultSpec()`; no CPU
/// variant on amd64).
pub const HOST_OS: &str = "linux";
pub const HOST_ARCH: &str = "amd64";

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES: [&str; 2] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
/// buildkit's attestation annotations (`attestation.DockerAnnotationReferenceType`, `...Digest`).
const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
const BLOCK: u64 = 4096;

/// The running stand-in; stops accepting when dropped.
pub struct StandIn {
    socket: PathBuf,
    shared: Arc<Shared>,
}

struct Shared {
    images: Vec<Image>,
    /// Request lines as received (`GET /v1.52/images/x/json?... HTTP/1.1`).
    requests: Mutex<Vec<String>>,
    /// Each request line with the status it was answered with.
    answers: Mutex<Vec<(String, u16)>>,
    delay_first_byte: Mutex<Option<Duration>>,
    stall: Mutex<Option<(usize, Duration)>>,
    release: Mutex<Release>,
    stop: AtomicBool,
    /// Disk usage of each layer blob once unpacked, computed once.
    usage: Mutex<HashMap<String, u64>>,
    /// When the images were "tagged" (`Metadata.LastTagTime`).
    tagged_at: String,
}

/// One image: a tag and the export it is served from.
struct Image {
    /// The name as the test gave it (`image-budget-test/x-1:t`).
    tag: String,
    /// containerd's name for it (`docker.io/image-budget-test/x-1:t`).
    full: String,
    export: Arc<Vec<u8>>,
    blobs: HashMap<String, Arc<Vec<u8>>>,
    target: Desc,
}

impl StandIn {
    /// Serves `images` (a tag and the `ctr images export` tar it is read
    /// from) on `dir/standin.sock`.
    pub fn start(dir: &Path, images: Vec<(String, PathBuf)>) -> StandIn {
        let images = images
            .into_iter()
            .map(|(tag, tar)| Image::read(&tag, &tar))
            .collect();
        let socket = dir.join("standin.sock");
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket)
            .unwrap_or_else(|e| panic!("cannot listen on {}: {e}", socket.display()));
        let shared = Arc::new(Shared {
            images,
            requests: Mutex::new(Vec::new()),
            answers: Mutex::new(Vec::new()),
            delay_first_byte: Mutex::new(None),
            stall: Mutex::new(None),
            release: Mutex::new(Release::V29_1),
            stop: AtomicBool::new(false),
            usage: Mutex::new(HashMap::new()),
            tagged_at: rfc3339(SystemTime::now()),
        });
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let serving = Arc::clone(&accepting);
                std::thread::spawn(move || serve(stream, &serving));
            }
        });
        StandIn { socket, shared }
    }

    /// `unix:///…/standin.sock`, for DOCKER_HOST.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The request lines received so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Each request line with the HTTP status it was answered with.
    pub fn answers(&self) -> Vec<(String, u16)> {
        self.shared.answers.lock().unwrap().clone()
    }

    /// Forgets the requests and answers so far.
    pub fn clear(&self) {
        self.shared.requests.lock().unwrap().clear();
        self.shared.answers.lock().unwrap().clear();
    }

    /// Holds each save response (headers included) this long before sending
    /// anything.
    pub fn delay_first_byte(&self, delay: Duration) {
        *self.shared.delay_first_byte.lock().unwrap() = Some(delay);
    }

    /// Sends `bytes` of each save body, then nothing for `silence`, then the rest.
    pub fn stall_after(&self, bytes: usize, silence: Duration) {
        *self.shared.stall.lock().unwrap() = Some((bytes, silence));
    }

    /// Answers as another Docker 29 release.
    pub fn release(&self, release: Release) {
        *self.shared.release.lock().unwrap() = release;
    }

    /// The stand-in's own answer to `GET path` (with its query), asked over
    /// its socket but left out of [`requests`](Self::requests): the status
    /// and the body as JSON (Null when it is not JSON).
    pub fn get(&self, path_and_query: &str) -> (u16, Value) {
        let mut stream = UnixStream::connect(&self.socket).unwrap();
        write!(
            stream,
            "GET {path_and_query} HTTP/1.1\r\nHost: docker\r\nX-Stand-In-Probe: 1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP response");
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status");
        let body = serde_json::from_slice(&raw[split + 4..]).unwrap_or(Value::Null);
        (status, body)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so it sees the flag.
        let _ = UnixStream::connect(&self.socket);
        let _ = std::fs::remove_file(&self.socket);
    }
}

// ---------------------------------------------------------------------------
// The store: descriptors, platforms, matchers.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: String,
    pub os_version: String,
    pub os_features: Vec<String>,
}

impl Platform {
    fn new(os: &str, architecture: &str) -> Platform {
        Platform {
            os: os.into(),
            architecture: architecture.into(),
            ..Platform::default()
        }
    }

    fn host() -> Platform {
        Platform::new(HOST_OS, HOST_ARCH)
    }

    /// An OCI platform object (`{"architecture":…,"os":…}`), or an image
    /// config's top-level fields (the same names).
    fn from_json(v: &Value) -> Platform {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        Platform {
            os: s("os"),
            architecture: s("architecture"),
            variant: s("variant"),
            os_version: s("os.version"),
            os_features: v["os.features"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// As Go marshals `ocispec.Platform`: architecture and os always, the
    /// others when set.
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("architecture".into(), json!(self.architecture));
        m.insert("os".into(), json!(self.os));
        if !self.os_version.is_empty() {
            m.insert("os.version".into(), json!(self.os_version));
        }
        if !self.os_features.is_empty() {
            m.insert("os.features".into(), json!(self.os_features));
        }
        if !self.variant.is_empty() {
            m.insert("variant".into(), json!(self.variant));
        }
        Value::Object(m)
    }

    /// `platforms.FormatAll`.
    fn format_all(&self) -> String {
        if self.os.is_empty() {
            return "unknown".into();
        }
        let os = if self.os_version.is_empty() {
            self.os.clone()
        } else {
            format!("{}({})", self.os, self.os_version)
        };
        [os.as_str(), &self.architecture, &self.variant]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/")
    }

    /// `platforms.Normalize` (containerd/platforms database.go normalizeArch).
    fn normalized(&self) -> Platform {
        let mut p = self.clone();
        p.os = p.os.to_lowercase();
        let (arch, variant) = (p.architecture.to_lowercase(), p.variant.to_lowercase());
        let (arch, variant) = match arch.as_str() {
            "i386" => ("386".to_string(), String::new()),
            "x86_64" | "x86-64" | "amd64" => (
                "amd64".into(),
                if variant == "v1" {
                    String::new()
                } else {
                    variant
                },
            ),
            "aarch64" | "arm64" => (
                "arm64".into(),
                match variant.as_str() {
                    "8" | "v8" | "v8.0" => String::new(),
                    "9" | "9.0" | "v9.0" => "v9".into(),
                    _ => variant,
                },
            ),
            "armhf" => ("arm".into(), "v7".into()),
            "armel" => ("arm".into(), "v6".into()),
            "arm" => (
                "arm".into(),
                match variant.as_str() {
                    "" | "7" => "v7".into(),
                    "5" | "6" | "8" => format!("v{variant}"),
                    _ => variant,
                },
            ),
            _ => (arch, variant),
        };
        p.architecture = arch;
        p.variant = variant;
        p
    }

    /// The `matcher.Match` test of containerd/platforms on Linux.
    fn same(&self, other: &Platform) -> bool {
        let (a, b) = (self.normalized(), other.normalized());
        a.os == b.os && a.architecture == b.architecture && a.variant == b.variant
    }

    /// `platformVector` (containerd/platforms compare.go): what `Only` accepts, best first.
    fn vector(&self) -> Vec<Platform> {
        let p = self.normalized();
        let with = |arch: &str, variant: &str| Platform {
            architecture: arch.into(),
            variant: variant.into(),
            ..p.clone()
        };
        let mut vector = vec![p.clone()];
        match p.architecture.as_str() {
            "amd64" => {
                if let Ok(mut level) = p.variant.trim_start_matches('v').parse::<u32>() {
                    while level > 1 {
                        level -= 1;
                        vector.push(with("amd64", &format!("v{level}")));
                    }
                }
                vector.push(with("386", ""));
            }
            "arm" => {
                if let Ok(mut level) = p.variant.trim_start_matches('v').parse::<u32>() {
                    while level > 5 {
                        level -= 1;
                        vector.push(with("arm", &format!("v{level}")));
                    }
                }
            }
            "arm64" => {
                // arm64 (v8) also runs arm/v8 down to arm/v5.
                for level in (5..=8).rev() {
                    vector.push(with("arm", &format!("v{level}")));
                }
            }
            _ => {}
        }
        vector
    }
}

/// A `platforms.MatchComparer` as moby builds them.
#[derive(Debug, Clone)]
enum Matcher {
    /// `matchAnyWithPreference(hostPlatformMatcher(), list)`: matches every
    /// platform (or any of `list`), ordered as `platforms.Default()` orders them.
    Any {
        list: Vec<Platform>,
        preferred: Vec<Platform>,
    },
    /// `platforms.Only(p)` (its vector) or `platforms.OnlyStrict(p)` (p alone).
    Ordered(Vec<Platform>),
}

impl Matcher {
    fn host_default() -> Matcher {
        Matcher::any(Vec::new())
    }

    fn any(list: Vec<Platform>) -> Matcher {
        Matcher::Any {
            list,
            preferred: Platform::host().vector(),
        }
    }

    fn only(p: &Platform) -> Matcher {
        Matcher::Ordered(p.vector())
    }

    fn only_strict(p: &Platform) -> Matcher {
        Matcher::Ordered(vec![p.normalized()])
    }

    fn matches(&self, p: &Platform) -> bool {
        match self {
            Matcher::Any { list, .. } => list.is_empty() || list.iter().any(|m| m.same(p)),
            Matcher::Ordered(v) => v.iter().any(|m| m.same(p)),
        }
    }

    /// The first of the ordered matchers that takes `p` (`orderedPlatformComparer.Less`).
    fn rank(&self, p: &Platform) -> usize {
        let order = match self {
            Matcher::Any { preferred, .. } => preferred,
            Matcher::Ordered(v) => v,
        };
        order.iter().position(|m| m.same(p)).unwrap_or(order.len())
    }

    fn less(&self, a: &Platform, b: &Platform) -> bool {
        self.rank(a) < self.rank(b)
    }
}

/// `matchRequestedOrDefault` (daemon/containerd/platform_matchers.go:49): the requested platform through `strict`'s
/// matcher, else every platform with the host's first.
fn requested_or_default(requested: Option<&Platform>, strict: bool) -> Matcher {
    match requested {
        None => Matcher::host_default(),
        Some(p) if strict => Matcher::only_strict(p),
        Some(p) => Matcher::only(p),
    }
}

#[derive(Debug, Clone)]
struct Desc {
    media_type: String,
    digest: String,
    size: u64,
    platform: Option<Platform>,
    annotations: Map<String, Value>,
    /// The descriptor as it was written (for `Descriptor` in a manifest summary).
    raw: Value,
}

impl Desc {
    fn from_json(v: &Value) -> Desc {
        Desc {
            media_type: v["mediaType"].as_str().unwrap_or_default().to_string(),
            digest: v["digest"].as_str().unwrap_or_default().to_string(),
            size: v["size"].as_u64().unwrap_or_default(),
            platform: v.get("platform").map(Platform::from_json),
            annotations: v["annotations"].as_object().cloned().unwrap_or_default(),
            raw: v.clone(),
        }
    }

    fn is_index(&self) -> bool {
        INDEX_TYPES.contains(&self.media_type.as_str())
    }

    fn is_manifest(&self) -> bool {
        MANIFEST_TYPES.contains(&self.media_type.as_str())
    }

    /// The image's target as the store keeps it: media type, digest, size.
    fn short(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }

    fn is_attestation(&self) -> bool {
        self.annotations.contains_key(REFERENCE_TYPE)
    }
}

/// containerd's `IsLayerType`.
fn is_layer_type(media_type: &str) -> bool {
    if media_type.starts_with("application/vnd.oci.image.layer.") {
        return true;
    }
    let base = media_type.split('+').next().unwrap_or_default();
    base.starts_with("application/vnd.docker.image.rootfs.diff.tar")
        || base.starts_with("application/vnd.docker.image.rootfs.foreign.diff.tar")
}

/// A manifest of an image, as far as its blobs are present.
struct ManifestView {
    desc: Desc,
    /// The parsed manifest, when its blob is present.
    manifest: Option<Value>,
    config: Option<Desc>,
    layers: Vec<Desc>,
}

impl Image {
    fn read(tag: &str, tar_path: &Path) -> Image {
        let export = std::fs::read(tar_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", tar_path.display()));
        let mut blobs = HashMap::new();
        let mut index = None;
        let mut archive = tar::Archive::new(export.as_slice());
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().to_string();
            let path = path.trim_start_matches("./").to_string();
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            if let Some(hex) = path.strip_prefix("blobs/sha256/") {
                blobs.insert(format!("sha256:{hex}"), Arc::new(bytes));
            } else if path == "index.json" {
                index = Some(serde_json::from_slice::<Value>(&bytes).unwrap());
            }
        }
        let index = index.unwrap_or_else(|| panic!("{} has no index.json", tar_path.display()));
        // The store's target: the archive's name annotations are not part of it.
        let mut top = index["manifests"][0].clone();
        if let Some(annotations) = top["annotations"].as_object_mut() {
            annotations.remove("io.containerd.image.name");
            annotations.remove("org.opencontainers.image.ref.name");
            if annotations.is_empty() {
                top.as_object_mut().unwrap().remove("annotations");
            }
        }
        let target = Desc::from_json(&top);
        assert!(
            blobs.contains_key(&target.digest),
            "{}: the target {} is not in the export",
            tar_path.display(),
            target.digest
        );
        Image {
            tag: tag.to_string(),
            full: normalize_name(tag),
            export: Arc::new(export),
            blobs,
            target,
        }
    }

    fn has(&self, digest: &str) -> bool {
        self.blobs.contains_key(digest)
    }

    fn json(&self, digest: &str) -> Option<Value> {
        self.blobs
            .get(digest)
            .and_then(|b| serde_json::from_slice(b).ok())
    }

    fn view(&self, desc: &Desc) -> ManifestView {
        let manifest = self.json(&desc.digest);
        let (config, layers) = match &manifest {
            Some(m) => (
                Some(Desc::from_json(&m["config"])),
                m["layers"]
                    .as_array()
                    .map(|l| l.iter().map(Desc::from_json).collect())
                    .unwrap_or_default(),
            ),
            None => (None, Vec::new()),
        };
        ManifestView {
            desc: desc.clone(),
            manifest,
            config,
            layers,
        }
    }

    /// `c8dimages.Check`: the manifest, its config and every layer present.
    fn available(&self, v: &ManifestView) -> bool {
        v.manifest.is_some()
            && v.config.as_ref().is_some_and(|c| self.has(&c.digest))
            && v.layers.iter().all(|l| self.has(&l.digest))
    }

    /// `walkPresentChildren` summing descriptor sizes.
    fn present_content_size(&self, v: &ManifestView) -> u64 {
        if v.manifest.is_none() {
            return 0;
        }
        v.desc.size
            + v.config
                .iter()
                .chain(v.layers.iter())
                .filter(|d| self.has(&d.digest))
                .map(|d| d.size)
                .sum::<u64>()
    }

    fn config(&self, v: &ManifestView) -> Option<Value> {
        v.config.as_ref().and_then(|c| self.json(&c.digest))
    }

    /// `ImageManifest.ImagePlatform`: the index's word, else the config's.
    fn image_platform(&self, v: &ManifestView) -> Result<Platform, Reply> {
        if let Some(p) = &v.desc.platform {
            return Ok(p.clone());
        }
        match self.config(v) {
            Some(c) => Ok(Platform::from_json(&c)),
            None => Err(content_not_found(
                v.config.as_ref().map_or(&v.desc.digest, |c| &c.digest),
            )),
        }
    }

    /// `IsPseudoImage`; Err when the manifest blob is absent (NotFound).
    fn is_pseudo(&self, v: &ManifestView) -> Result<bool, ()> {
        if v.desc.is_attestation() {
            return Ok(true);
        }
        if let Some(p) = &v.desc.platform
            && p.os == "unknown"
            && p.architecture == "unknown"
        {
            return Ok(true);
        }
        if v.manifest.is_none() {
            return Err(());
        }
        if v.layers.is_empty() {
            return Ok(false);
        }
        Ok(!v.layers.iter().any(|l| is_layer_type(&l.media_type)))
    }

    /// The children of an index blob, when present.
    fn index_children(&self, desc: &Desc) -> Option<Vec<Desc>> {
        self.json(&desc.digest).map(|i| {
            i["manifests"]
                .as_array()
                .map(|m| m.iter().map(Desc::from_json).collect())
                .unwrap_or_default()
        })
    }

    /// `walkReachableImageManifests`: every manifest the target names,
    /// present or not, in walk order.
    fn reachable_manifests(&self) -> Vec<Desc> {
        let mut out = Vec::new();
        self.reach(&self.target, &mut out, false);
        out
    }

    /// `walkImageManifests`: only the manifests whose blob is present.
    fn present_manifests(&self) -> Vec<Desc> {
        let mut out = Vec::new();
        self.reach(&self.target, &mut out, true);
        out
    }

    fn reach(&self, desc: &Desc, out: &mut Vec<Desc>, present_only: bool) {
        if desc.is_manifest() {
            if !present_only || self.has(&desc.digest) {
                out.push(desc.clone());
            }
        } else if desc.is_index()
            && let Some(children) = self.index_children(desc)
        {
            for child in &children {
                self.reach(child, out, present_only);
            }
        }
    }
}

/// Docker's normalization of a name (`acme/x:t` → `docker.io/acme/x:t`,
/// `x` → `docker.io/library/x:latest`).
fn normalize_name(name: &str) -> String {
    let (first, _) = name.split_once('/').unwrap_or(("", name));
    let named = if first.is_empty() {
        format!("docker.io/library/{name}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        name.to_string()
    } else {
        format!("docker.io/{name}")
    };
    let last = named.rsplit('/').next().unwrap_or_default();
    if last.contains(':') || last.contains('@') {
        named
    } else {
        format!("{named}:latest")
    }
}

/// `reference.FamiliarString`.
fn familiar(full: &str) -> String {
    full.strip_prefix("docker.io/library/")
        .or_else(|| full.strip_prefix("docker.io/"))
        .unwrap_or(full)
        .to_string()
}

/// The repository of a full name (`docker.io/acme/x:t` → `docker.io/acme/x`).
fn repository(full: &str) -> &str {
    let full = full.split('@').next().unwrap_or(full);
    match full.rfind(':') {
        Some(colon) if colon > full.rfind('/').unwrap_or(0) => &full[..colon],
        _ => full,
    }
}

// ---------------------------------------------------------------------------
// Layers on disk.

impl Shared {
    /// What the overlayfs snapshotter counts for a layer once unpacked.
    fn layer_usage(&self, image: &Image, digest: &str) -> u64 {
        if let Some(&known) = self.usage.lock().unwrap().get(digest) {
            return known;
        }
        let Some(blob) = image.blobs.get(digest) else {
            return 0;
        };
        let usage = disk_usage(blob);
        self.usage.lock().unwrap().insert(digest.to_string(), usage);
        usage
    }

    /// Usage of each layer's snapshot: 0 once a layer below (or itself) is
    /// absent, as nothing from there on could be unpacked.
    fn snapshot_usages(&self, image: &Image, layers: &[Desc]) -> Vec<u64> {
        let mut unpacked = true;
        layers
            .iter()
            .map(|l| {
                unpacked = unpacked && image.has(&l.digest);
                if unpacked {
                    self.layer_usage(image, &l.digest)
                } else {
                    0
                }
            })
            .collect()
    }
}

/// `fs.DiskUsage` of a layer applied to an empty directory on a 4 KiB-block
/// filesystem (ext4, xfs): the directory itself, each directory (listed or
/// implied by a path), each regular file rounded up to whole blocks, long
/// symlinks one block; hard links, whiteouts and device nodes none.
fn disk_usage(blob: &[u8]) -> u64 {
    let reader: Box<dyn Read + '_> = if blob.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(blob))
    } else if blob.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::new(blob).unwrap())
    } else {
        Box::new(blob)
    };
    let mut archive = tar::Archive::new(reader);
    let mut dirs = BTreeSet::new();
    let mut bytes = BLOCK; // the snapshot's own directory
    for entry in archive.entries().expect("a layer tar") {
        let entry = entry.expect("a layer tar entry");
        let path = entry.path().unwrap().to_string_lossy().to_string();
        let path = path
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        if path.is_empty() || path == "." {
            continue;
        }
        let mut parent = Path::new(&path).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            dirs.insert(p.to_string_lossy().to_string());
            parent = p.parent();
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            dirs.insert(path);
        } else if kind.is_file() {
            let size = entry.header().size().unwrap();
            bytes += size.div_ceil(BLOCK) * BLOCK;
        } else if kind.is_symlink() {
            let target = entry.link_name().ok().flatten().unwrap_or_default();
            if target.as_os_str().len() >= 60 {
                bytes += BLOCK;
            }
        }
    }
    bytes + BLOCK * dirs.len() as u64
}

// ---------------------------------------------------------------------------
// HTTP.

struct Request {
    line: String,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    close: bool,
    probe: bool,
}

impl Request {
    /// `r.Form.Get(key)`: the first value, or "".
    fn form(&self, key: &str) -> String {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn form_all(&self, key: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// `httputils.BoolValue`.
    fn bool_value(&self, key: &str) -> bool {
        let v = self.form(key).trim().to_lowercase();
        !["", "0", "no", "false", "none"].contains(&v.as_str())
    }
}

enum Body {
    Full(Vec<u8>),
    /// A save: sent with `Connection: close`, delimited by the close.
    Save(Arc<Vec<u8>>),
}

/// An answer: status, headers, body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

impl Reply {
    /// `httputils.WriteJSON`: an encoder's output, newline included.
    fn json(status: u16, value: &Value) -> Reply {
        let mut body = serde_json::to_vec(value).unwrap();
        body.push(b'\n');
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Full(body),
        }
    }

    fn error(status: u16, message: &str) -> Reply {
        Reply::json(status, &json!({ "message": message }))
    }

    fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

fn not_found_image(reference: &str) -> Reply {
    Reply::error(404, &format!("No such image: {reference}"))
}

/// The content store's NotFound, as moby passes it on.
fn content_not_found(digest: &str) -> Reply {
    Reply::error(404, &format!("content digest {digest}: not found"))
}

/// `errPlatformNotFound` (daemon/containerd/image.go:33), a NotFound (404).
fn platform_not_found(reference: &str, wanted: Option<&Platform>) -> String {
    let mut message = format!(
        "image with reference {reference} was found but does not provide the specified platform"
    );
    if let Some(w) = wanted.filter(|w| !w.os.is_empty()) {
        message.push_str(&format!(" ({})", w.format_all()));
    }
    message
}

fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_request(reader: &mut BufReader<UnixStream>) -> Option<Request> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        // Tolerate blank lines between requests (RFC 9112 §2.2).
        if !line.trim().is_empty() {
            break;
        }
    }
    let line = line.trim_end().to_string();
    let mut parts = line.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let version = parts.next().unwrap_or("HTTP/1.0");
    let mut length = 0usize;
    let mut close = version == "HTTP/1.0";
    let mut probe = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-length" => length = value.parse().unwrap_or(0),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            "x-stand-in-probe" => probe = true,
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((&target, ""));
    let query = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect();
    Some(Request {
        line,
        method,
        path: percent_decode(raw_path, false),
        query,
        close,
        probe,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

fn serve(stream: UnixStream, shared: &Shared) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    while let Some(request) = read_request(&mut reader) {
        if !request.probe {
            shared.requests.lock().unwrap().push(request.line.clone());
        }
        let reply = route(shared, &request);
        if !request.probe {
            shared
                .answers
                .lock()
                .unwrap()
                .push((request.line.clone(), reply.status));
        }
        let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
        for (name, value) in &reply.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        match reply.body {
            Body::Full(body) => {
                if !reply.headers.iter().any(|(n, _)| n == "Content-Length") {
                    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
                }
                if request.close {
                    head.push_str("Connection: close\r\n");
                }
                head.push_str("\r\n");
                let mut all = head.into_bytes();
                if request.method != "HEAD" {
                    all.extend_from_slice(&body);
                }
                if out.write_all(&all).and_then(|()| out.flush()).is_err() || request.close {
                    return;
                }
            }
            Body::Save(body) => {
                head.push_str("Connection: close\r\n\r\n");
                send_save(shared, &mut out, head.as_bytes(), &body);
                return;
            }
        }
    }
}

/// A save's answer, with the knobs: the whole answer held back first, a
/// silence after some bytes of the body.
fn send_save(shared: &Shared, out: &mut UnixStream, head: &[u8], body: &[u8]) {
    let delay = *shared.delay_first_byte.lock().unwrap();
    let stall = *shared.stall.lock().unwrap();
    if let Some(delay) = delay {
        std::thread::sleep(delay);
    }
    if out.write_all(head).and_then(|()| out.flush()).is_err() {
        return;
    }
    let mut sent = 0usize;
    let mut stalled = false;
    while sent < body.len() {
        let mut end = (sent + 64 * 1024).min(body.len());
        if let Some((after, _)) = stall
            && !stalled
            && sent < after
        {
            end = end.min(after);
        }
        if out
            .write_all(&body[sent..end])
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
        sent = end;
        if let Some((after, silence)) = stall
            && !stalled
            && sent >= after
        {
            stalled = true;
            std::thread::sleep(silence);
        }
    }
    let _ = out.shutdown(std::net::Shutdown::Write);
}

/// `versions.compare`: dot-separated numbers.
fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (a, b) = (parse(a), parse(b));
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        if x != y {
            return x.cmp(&y);
        }
    }
    std::cmp::Ordering::Equal
}

fn at_least(version: &str, min: &str) -> bool {
    version_cmp(version, min) != std::cmp::Ordering::Less
}

/// A route's handler.
type Handler = fn(&Shared, &Request, &str, Option<&str>) -> Reply;

/// gorilla/mux as moby's CreateMux (daemon/server/server.go:124) sets it up: each route with and without
/// `/v{version:[0-9.]+}`, in the image router's order.
fn route(shared: &Shared, request: &Request) -> Reply {
    let release = *shared.release.lock().unwrap();
    let (version, path) = split_version(&request.path);
    let routes: [(&str, &str, Handler); 9] = [
        ("GET", "/_ping", ping),
        ("HEAD", "/_ping", ping),
        ("GET", "/version", version_handler),
        ("GET", "/info", info),
        ("GET", "/images/json", list),
        ("GET", "/images/get", save),
        ("GET", "/images/{name}/get", save),
        ("GET", "/images/{name}/history", history),
        ("GET", "/images/{name}/json", inspect),
    ];
    for (method, template, handler) in &routes {
        if *method != request.method {
            continue;
        }
        let name = match template.split_once("{name}") {
            None if path == *template => None,
            None => continue,
            Some((prefix, suffix)) => match path
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(suffix))
            {
                // `{name:.*}` is greedy: the name runs to the last suffix.
                Some(name) => Some(name),
                None => continue,
            },
        };
        // The version middleware: headers first, then the check.
        let api = version.unwrap_or(release.max_api());
        let middleware = |reply: Reply| {
            reply
                .header("Api-Version", release.max_api())
                .header("Docker-Experimental", "false")
                .header("Ostype", "linux")
                .header("Server", &format!("Docker/{} (linux)", release.version()))
        };
        let refuse = |message: String| {
            if version_cmp(api, "1.24") == std::cmp::Ordering::Less {
                // Below 1.24 moby answers its errors in plain text.
                Reply {
                    status: 400,
                    headers: vec![
                        ("Content-Type".into(), "text/plain; charset=utf-8".into()),
                        ("X-Content-Type-Options".into(), "nosniff".into()),
                    ],
                    body: Body::Full(format!("{message}\n").into_bytes()),
                }
            } else {
                Reply::error(400, &message)
            }
        };
        if version_cmp(api, release.min_api()) == std::cmp::Ordering::Less {
            return middleware(refuse(format!(
                "client version {api} is too old. Minimum supported API version is {}, please upgrade your client to a newer version",
                release.min_api()
            )));
        }
        if version_cmp(api, release.max_api()) == std::cmp::Ordering::Greater {
            return middleware(refuse(format!(
                "client version {api} is too new. Maximum supported API version is {}",
                release.max_api()
            )));
        }
        return middleware(handler(shared, request, api, name));
    }
    Reply::error(404, "page not found")
}

/// `/v1.52/images/x/json` → (Some("1.52"), "/images/x/json").
fn split_version(path: &str) -> (Option<&str>, &str) {
    if let Some(rest) = path.strip_prefix("/v") {
        let end = rest.find('/').unwrap_or(rest.len());
        let version = &rest[..end];
        if !version.is_empty()
            && version.chars().all(|c| c.is_ascii_digit() || c == '.')
            && end < rest.len()
        {
            return (Some(version), &rest[end..]);
        }
    }
    (None, path)
}

// ---------------------------------------------------------------------------
// System routes.

fn ping(_: &Shared, request: &Request, _: &str, _: Option<&str>) -> Reply {
    let reply = Reply {
        status: 200,
        headers: vec![
            (
                "Cache-Control".into(),
                "no-cache, no-store, must-revalidate".into(),
            ),
            ("Pragma".into(), "no-cache".into()),
            ("Builder-Version".into(), "2".into()),
            ("Swarm".into(), "inactive".into()),
            ("Content-Type".into(), "text/plain; charset=utf-8".into()),
        ],
        body: Body::Full(b"OK".to_vec()),
    };
    if request.method == "HEAD" {
        return reply.header("Content-Length", "0");
    }
    reply
}

fn version_handler(shared: &Shared, _: &Request, _: &str, _: Option<&str>) -> Reply {
    let release = *shared.release.lock().unwrap();
    let (version, api, min) = (release.version(), release.max_api(), release.min_api());
    Reply::json(
        200,
        &json!({
            "Platform": {"Name": "Docker Engine - Community"},
            "Components": [
                {"Name": "Engine", "Version": version, "Details": {
                    "ApiVersion": api, "Arch": "amd64", "BuildTime": "2025-11-17T10:00:00.000000000+00:00",
                    "Experimental": "false", "GitCommit": "de45c2a", "GoVersion": "go1.25.4",
                    "KernelVersion": "6.1.0-stand-in", "MinAPIVersion": min, "Os": "linux"}},
                {"Name": "containerd", "Version": "v2.2.0", "Details": {"GitCommit": "1c4457e00facac03ce1d75f7b6777a7a851e5c41"}},
                {"Name": "runc", "Version": "1.3.3", "Details": {"GitCommit": "v1.3.3-0-gd842d771"}},
                {"Name": "docker-init", "Version": "0.19.0", "Details": {"GitCommit": "de40ad0"}}
            ],
            "Version": version,
            "ApiVersion": api,
            "MinAPIVersion": min,
            "GitCommit": "de45c2a",
            "GoVersion": "go1.25.4",
            "Os": "linux",
            "Arch": "amd64",
            "KernelVersion": "6.1.0-stand-in",
            "BuildTime": "2025-11-17T10:00:00.000000000+00:00"
        }),
    )
}

fn info(shared: &Shared, _: &Request, _: &str, _: Option<&str>) -> Reply {
    let release = *shared.release.lock().unwrap();
    // In parts: one `json!` this long is past the macro recursion limit.
    let mut info = json!({
        "ID": "6a1a3bb5-standin-moby29",
        "Containers": 0, "ContainersRunning": 0, "ContainersPaused": 0, "ContainersStopped": 0,
        "Images": shared.images.len(),
        "Driver": "overlayfs",
        "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]],
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "null"], "Authorization": null,
                    "Log": ["json-file", "local"]},
        "MemoryLimit": true, "SwapLimit": true, "CpuCfsPeriod": true, "CpuCfsQuota": true,
        "IPv4Forwarding": true, "Debug": false, "NFd": 30, "NGoroutines": 50,
    });
    let more = [
        json!({
            "SystemTime": shared.tagged_at, "LoggingDriver": "json-file", "CgroupDriver": "systemd",
            "CgroupVersion": "2", "NEventsListener": 0, "KernelVersion": "6.1.0-stand-in",
            "OperatingSystem": "Debian GNU/Linux 12 (bookworm)", "OSVersion": "12", "OSType": "linux",
            "Architecture": "x86_64", "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": ["::1/128", "127.0.0.0/8"],
                               "Mirrors": null},
        }),
        json!({
            "NCPU": 2, "MemTotal": 8_000_000_000u64, "DockerRootDir": "/var/lib/docker",
            "Name": "stand-in", "Labels": [], "ExperimentalBuild": false,
            "ServerVersion": release.version(),
            "Runtimes": {"runc": {"path": "runc"}}, "DefaultRuntime": "runc",
            "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive", "ControlAvailable": false,
                      "Error": "", "RemoteManagers": null},
        }),
        json!({
            "LiveRestoreEnabled": false, "Isolation": "", "InitBinary": "docker-init",
            "ContainerdCommit": {"ID": "1c4457e00facac03ce1d75f7b6777a7a851e5c41"},
            "RuncCommit": {"ID": "v1.3.3-0-gd842d771"}, "InitCommit": {"ID": "de40ad0"},
            "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"],
            "Containerd": {"Address": "/run/containerd/containerd.sock",
                           "Namespaces": {"Containers": "moby", "Plugins": "plugins.moby"}},
            "Warnings": null,
        }),
    ];
    for part in more {
        for (k, v) in part.as_object().unwrap() {
            info[k] = v.clone();
        }
    }
    Reply::json(200, &info)
}

// ---------------------------------------------------------------------------
// Images.

/// `resolveImage` (daemon/containerd/image.go:132): a name (tag `latest`
/// when none), a digest or ID, or a truncated ID; else `No such image:`
/// (daemon/images/image.go ErrImageDoesNotExist).
fn resolve<'a>(shared: &'a Shared, reference: &str) -> Result<&'a Image, Reply> {
    let hex = |s: &str| !s.is_empty() && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'));
    // A full ID is a digest reference.
    let digest = reference
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && hex(h))
        .or(Some(reference).filter(|h| h.len() == 64 && hex(h)));
    if let Some(digest) = digest {
        let digest = format!("sha256:{digest}");
        return shared
            .images
            .iter()
            .find(|i| i.target.digest == digest)
            .ok_or_else(|| not_found_image(&digest));
    }
    let (name, pinned) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    let repository_part = name
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .map_or(name, |(n, _)| n);
    if repository_part.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(Reply::error(
            400,
            &format!(
                "invalid reference format: repository name ({}) must be lowercase",
                familiar(repository(&normalize_name(repository_part)))
            ),
        ));
    }
    if let Some(pinned) = pinned {
        let repo = repository(&normalize_name(name)).to_string();
        return shared
            .images
            .iter()
            .find(|i| i.target.digest == pinned && repository(&i.full) == repo)
            .ok_or_else(|| not_found_image(&familiar(&format!("{repo}@{pinned}"))));
    }
    let full = normalize_name(name);
    if let Some(image) = shared.images.iter().find(|i| i.full == full) {
        return Ok(image);
    }
    if hex(reference) && reference.len() < 64 {
        let mut found = shared
            .images
            .iter()
            .filter(|i| i.target.digest["sha256:".len()..].starts_with(reference));
        if let Some(image) = found.next() {
            return Ok(image);
        }
    }
    Err(not_found_image(&familiar(&full)))
}

/// `httputils.DecodePlatform` (daemon/server/httputils/form.go:136).
fn decode_platform(text: &str) -> Result<Platform, Reply> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        Reply::error(
            400,
            &format!("failed to parse platform: {}", go_json_error(text, &e)),
        )
    })?;
    if !value.is_object() {
        return Err(Reply::error(
            400,
            &format!(
                "failed to parse platform: json: cannot unmarshal {} into Go value of type v1.Platform",
                match value {
                    Value::Array(_) => "array",
                    Value::String(_) => "string",
                    Value::Number(_) => "number",
                    Value::Bool(_) => "bool",
                    _ => "null",
                }
            ),
        ));
    }
    let p = Platform::from_json(&value);
    let optional = !p.variant.is_empty() || !p.os_version.is_empty() || !p.os_features.is_empty();
    if p.os.is_empty() && p.architecture.is_empty() && optional {
        return Err(Reply::error(
            400,
            "optional platform fields provided, but OS and Architecture are missing",
        ));
    }
    if p.os.is_empty() || p.architecture.is_empty() {
        return Err(Reply::error(
            400,
            "both OS and Architecture must be provided",
        ));
    }
    Ok(p)
}

/// Roughly what Go's encoding/json says about text that is not JSON
/// (`invalid character 'l' looking for beginning of value`).
fn go_json_error(text: &str, _e: &serde_json::Error) -> String {
    match text.trim_start().chars().next() {
        None => "unexpected end of JSON input".into(),
        Some(c) => format!("invalid character '{c}' looking for beginning of value"),
    }
}

/// What `multiPlatformSummary` finds.
struct Summary {
    manifests: Vec<Value>,
    best: Option<(Desc, Platform)>,
}

/// daemon/containerd/image_list.go:240 (`multiPlatformSummary`), walking
/// manifests as `walkReachableImageManifests` (image_manifest.go:56) does;
/// availability is `CheckContentAvailable` (image_manifest.go:190), the kind
/// `IsPseudoImage` (image_manifest.go:146), `Unpacked` the chain's snapshot
/// usage (`calculateSnapshotTotalUsage`, image_snapshot.go:303).
fn multi_platform_summary(
    shared: &Shared,
    image: &Image,
    matcher: &Matcher,
    release: Release,
) -> Summary {
    let mut summary = Summary {
        manifests: Vec::new(),
        best: None,
    };
    for desc in image.reachable_manifests() {
        let v = image.view(&desc);
        let available = image.available(&v);
        let content = image.present_content_size(&v);
        let mut entry = Map::new();
        entry.insert("ID".into(), json!(desc.digest));
        entry.insert("Descriptor".into(), desc.raw.clone());
        entry.insert("Available".into(), json!(available));
        let mut total = content;
        let pseudo = image.is_pseudo(&v).unwrap_or(false);
        if pseudo {
            let mut kind = "unknown";
            if desc.is_attestation()
                && let Some(target) = desc
                    .annotations
                    .get(REFERENCE_DIGEST)
                    .and_then(Value::as_str)
                && !target.is_empty()
            {
                kind = "attestation";
                entry.insert("AttestationData".into(), json!({ "For": target }));
            }
            entry.insert("Kind".into(), json!(kind));
            entry.insert("Size".into(), json!({"Content": content, "Total": total}));
            summary.manifests.push(Value::Object(entry));
            continue;
        }
        entry.insert("Kind".into(), json!("image"));
        let mut platform = desc.platform.clone().unwrap_or_default();
        let mut unpacked = 0u64;
        let config = image.config(&v);
        let go_on = match release {
            Release::V29_1 => available,
            Release::V29_2 => true,
        };
        if go_on {
            if let Some(config) = &config {
                let from_config = Platform::from_json(config);
                if desc.platform.is_none() && !from_config.os.is_empty() {
                    platform = from_config;
                }
                if config["rootfs"]["diff_ids"].is_array() {
                    unpacked = if available {
                        shared.snapshot_usages(image, &v.layers).iter().sum()
                    } else {
                        0
                    };
                }
            }
            total += unpacked;
        }
        entry.insert(
            "ImageData".into(),
            json!({
                "Platform": platform.to_json(),
                "Size": {"Unpacked": unpacked},
                "Containers": null,
            }),
        );
        entry.insert("Size".into(), json!({"Content": content, "Total": total}));
        summary.manifests.push(Value::Object(entry));
        if !go_on || !matcher.matches(&platform) {
            continue;
        }
        let better = match &summary.best {
            None => true,
            Some((_, best)) => matcher.less(&platform, best),
        };
        if better {
            summary.best = Some((desc.clone(), platform));
        }
    }
    summary
}

/// `ImageService.size` (daemon/containerd/image_inspect.go:189): the target and what `LimitManifests(…, 1)` reaches
/// under it (one manifest, the first after sorting by the matcher), each
/// descriptor's size counted whether its blob is there or not.
fn packed_size(image: &Image, desc: &Desc, matcher: &Matcher) -> u64 {
    let mut size = desc.size;
    if desc.is_index() {
        if let Some(mut children) = image.index_children(desc) {
            children.sort_by(|a, b| match (&a.platform, &b.platform) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (Some(x), Some(y)) => {
                    if matcher.less(x, y) {
                        std::cmp::Ordering::Less
                    } else if matcher.less(y, x) {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Equal
                    }
                }
            });
            if let Some(first) = children.first() {
                size += packed_size(image, first, matcher);
            }
        }
    } else if desc.is_manifest() {
        let v = image.view(desc);
        if v.manifest.is_some() {
            size += v
                .config
                .iter()
                .chain(v.layers.iter())
                .map(|d| d.size)
                .sum::<u64>();
        }
    }
    size
}

/// Go's `omitempty` over `DockerOCIImageConfig`: only its fields, and none
/// that is empty.
fn oci_image_config(config: &Value) -> Value {
    const FIELDS: [&str; 13] = [
        "User",
        "ExposedPorts",
        "Env",
        "Entrypoint",
        "Cmd",
        "Volumes",
        "WorkingDir",
        "Labels",
        "StopSignal",
        "ArgsEscaped",
        "Healthcheck",
        "OnBuild",
        "Shell",
    ];
    let mut out = Map::new();
    if let Some(c) = config.as_object() {
        for field in FIELDS {
            let Some(v) = c.get(field) else { continue };
            let empty = match v {
                Value::Null => true,
                Value::Bool(b) => !b,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                Value::Number(_) => false,
            };
            if !empty {
                out.insert(field.to_string(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// `compat.WithExtraFields`: add what is missing or null, recursively.
fn add_fields(dst: &mut Map<String, Value>, src: &Value) {
    let Some(src) = src.as_object() else { return };
    for (k, v) in src {
        if let (Some(vmap), Some(Value::Object(dmap))) = (v.as_object(), dst.get_mut(k)) {
            add_fields(dmap, &Value::Object(vmap.clone()));
            continue;
        }
        if dst.get(k).is_none_or(Value::is_null) {
            dst.insert(k.clone(), v.clone());
        }
    }
}

fn tags_of(shared: &Shared, digest: &str) -> Vec<String> {
    let mut tags: Vec<String> = shared
        .images
        .iter()
        .filter(|i| i.target.digest == digest)
        .map(|i| familiar(&i.full))
        .collect();
    tags.dedup();
    tags
}

/// `getImagesByName` (daemon/server/router/image/image_routes.go:359) and
/// `ImageInspect` (daemon/containerd/image_inspect.go:23; at docker-v29.1.0
/// the config's fields are filled only for a Best platform).
fn inspect(shared: &Shared, request: &Request, api: &str, name: Option<&str>) -> Reply {
    let release = *shared.release.lock().unwrap();
    let name = name.unwrap_or_default();
    let manifests = !request.form("manifests").is_empty()
        && at_least(api, "1.48")
        && request.bool_value("manifests");
    let mut requested = None;
    if !request.form("platform").is_empty() && at_least(api, "1.49") {
        match decode_platform(&request.form("platform")) {
            Ok(p) => requested = Some(p),
            Err(e) => return e,
        }
    }
    if manifests && requested.is_some() {
        return Reply::error(
            400,
            "conflicting options: manifests and platform options cannot both be set",
        );
    }
    let image = match resolve(shared, name) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let matcher = requested_or_default(requested.as_ref(), true);
    let size = packed_size(image, &image.target, &matcher);
    let multi = multi_platform_summary(shared, image, &matcher, release);
    if multi.best.is_none() && requested.is_some() {
        return Reply::error(404, &platform_not_found(name, requested.as_ref()));
    }
    let tags = tags_of(shared, &image.target.digest);
    let digests: Vec<String> = {
        let mut d: Vec<String> = shared
            .images
            .iter()
            .filter(|i| i.target.digest == image.target.digest)
            .map(|i| format!("{}@{}", familiar(repository(&i.full)), image.target.digest))
            .collect();
        d.dedup();
        d
    };
    let target = match (&requested, &multi.best) {
        (Some(_), Some((best, _))) => best.short_with_platform(),
        _ => image.target.short(),
    };
    let config = multi
        .best
        .as_ref()
        .and_then(|(best, _)| image.config(&image.view(best)));
    let mut out = Map::new();
    out.insert("Id".into(), target["digest"].clone());
    out.insert("RepoTags".into(), json!(tags));
    out.insert("RepoDigests".into(), json!(digests));
    // 29.1: the config's fields only for a best platform; 29.2: always (empty).
    let fill = release == Release::V29_2 || multi.best.is_some();
    let empty = json!({});
    let c = config.as_ref().unwrap_or(&empty);
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let comment = c["history"]
        .as_array()
        .and_then(|h| h.last())
        .map(|h| text(&h["comment"]))
        .unwrap_or_default();
    let author = text(&c["author"]);
    if fill {
        if !comment.is_empty() {
            out.insert("Comment".into(), json!(comment));
        }
        if let Some(created) = c["created"].as_str() {
            out.insert("Created".into(), json!(created));
        }
        if !author.is_empty() {
            out.insert("Author".into(), json!(author));
        }
        out.insert("Config".into(), oci_image_config(&c["config"]));
    } else {
        out.insert("Config".into(), Value::Null);
    }
    out.insert("Architecture".into(), json!(text(&c["architecture"])));
    if !text(&c["variant"]).is_empty() {
        out.insert("Variant".into(), json!(text(&c["variant"])));
    }
    out.insert("Os".into(), json!(text(&c["os"])));
    if !text(&c["os.version"]).is_empty() {
        out.insert("OsVersion".into(), json!(text(&c["os.version"])));
    }
    out.insert("Size".into(), json!(size));
    let mut rootfs = Map::new();
    if !text(&c["rootfs"]["type"]).is_empty() {
        rootfs.insert("Type".into(), json!(text(&c["rootfs"]["type"])));
    }
    if let Some(layers) = c["rootfs"]["diff_ids"].as_array().filter(|l| !l.is_empty()) {
        rootfs.insert("Layers".into(), json!(layers));
    }
    out.insert("RootFS".into(), Value::Object(rootfs));
    out.insert(
        "Metadata".into(),
        json!({ "LastTagTime": shared.tagged_at }),
    );
    if at_least(api, "1.48") {
        out.insert("Descriptor".into(), target);
    }
    if manifests && !multi.manifests.is_empty() {
        out.insert("Manifests".into(), json!(multi.manifests));
    }
    // The router's adjustments for older API versions.
    if !at_least(api, "1.45") {
        add_fields(&mut out, &json!({"Container": "", "ContainerConfig": null}));
    }
    if !at_least(api, "1.52") {
        add_fields(
            &mut out,
            &json!({"Parent": "", "Comment": comment, "DockerVersion": "", "Author": author}),
        );
        let legacy = if at_least(api, "1.50") {
            json!({"Cmd": null, "Entrypoint": null, "Env": null, "Labels": null, "OnBuild": null,
                   "User": "", "Volumes": null, "WorkingDir": ""})
        } else {
            json!({"AttachStderr": false, "AttachStdin": false, "AttachStdout": false, "Cmd": null,
                   "Domainname": "", "Entrypoint": null, "Env": null, "Hostname": "", "Image": "",
                   "Labels": null, "OnBuild": null, "OpenStdin": false, "StdinOnce": false,
                   "Tty": false, "User": "", "Volumes": null, "WorkingDir": ""})
        };
        add_fields(&mut out, &json!({ "Config": legacy }));
        out.entry("GraphDriver")
            .or_insert(json!({"Data": null, "Name": "overlayfs"}));
    }
    Reply::json(200, &Value::Object(out))
}

impl Desc {
    /// A platform manifest's descriptor as the index gives it (platform and annotations too).
    fn short_with_platform(&self) -> Value {
        let mut v = self.short();
        if !self.annotations.is_empty() {
            v["annotations"] = Value::Object(self.annotations.clone());
        }
        if let Some(p) = &self.platform {
            v["platform"] = p.to_json();
        }
        v
    }
}

/// `getBestPresentImageManifest` (daemon/containerd/image.go:82).
fn best_present(image: &Image, matcher: &Matcher) -> Result<Option<Desc>, Reply> {
    let mut best: Option<(Desc, Platform)> = None;
    for desc in image.present_manifests() {
        let v = image.view(&desc);
        let platform = image.image_platform(&v)?;
        if matcher.matches(&platform)
            && best
                .as_ref()
                .is_none_or(|(_, b)| matcher.less(&platform, b))
        {
            best = Some((desc, platform));
        }
    }
    Ok(best.map(|(d, _)| d))
}

/// `getImagesHistory` (image_routes.go:556) and `ImageHistory`
/// (daemon/containerd/image_history.go:23): newest first, each non-empty
/// layer's size its snapshot's disk usage, the top entry the image's ID.
fn history(shared: &Shared, request: &Request, api: &str, name: Option<&str>) -> Reply {
    let name = name.unwrap_or_default();
    let mut requested = None;
    if at_least(api, "1.48") && !request.form("platform").is_empty() {
        match decode_platform(&request.form("platform")) {
            Ok(p) => requested = Some(p),
            Err(e) => return e,
        }
    }
    let image = match resolve(shared, name) {
        Ok(i) => i,
        Err(e) => return e,
    };
    // Non-strict here (`platforms.Only`), unlike inspect.
    let matcher = requested_or_default(requested.as_ref(), false);
    let best = match best_present(image, &matcher) {
        Ok(Some(best)) => best,
        Ok(None) => {
            return Reply::error(
                404,
                &platform_not_found(&familiar(&image.full), requested.as_ref()),
            );
        }
        Err(e) => return e,
    };
    let v = image.view(&best);
    let Some(config) = image.config(&v) else {
        return content_not_found(v.config.as_ref().map_or(&best.digest, |c| &c.digest));
    };
    let mut sizes = shared.snapshot_usages(image, &v.layers).into_iter();
    let mut items: Vec<Value> = Vec::new();
    for h in config["history"].as_array().cloned().unwrap_or_default() {
        let size = if h["empty_layer"].as_bool().unwrap_or(false) {
            0
        } else {
            match sizes.next() {
                Some(s) => s,
                None => return Reply::error(500, "unable to find the size of the layer"),
            }
        };
        let created = h["created"].as_str().map_or(0, unix_seconds);
        items.insert(
            0,
            json!({
                "Comment": h["comment"].as_str().unwrap_or_default(),
                "Created": created,
                "CreatedBy": h["created_by"].as_str().unwrap_or_default(),
                "Id": "<missing>",
                "Size": size,
                "Tags": null,
            }),
        );
    }
    if let Some(top) = items.first_mut() {
        top["Id"] = json!(image.target.digest);
        let tags = tags_of(shared, &image.target.digest);
        if !tags.is_empty() {
            top["Tags"] = json!(tags);
        }
    }
    if items.is_empty() {
        // A nil slice: Go writes `null`.
        return Reply::json(200, &Value::Null);
    }
    Reply::json(200, &Value::Array(items))
}

/// `getPushDescriptor` (daemon/containerd/image_push.go:232): what a save of
/// one platform exports.
fn push_descriptor(image: &Image, requested: &Platform) -> Result<Desc, Reply> {
    let matcher = Matcher::only_strict(requested);
    let mut matching = Vec::new();
    for desc in image.reachable_manifests() {
        let v = image.view(&desc);
        if !image.available(&v) || desc.is_attestation() {
            continue;
        }
        let platform = image.image_platform(&v)?;
        if matcher.matches(&platform) {
            matching.push(desc);
        }
    }
    match matching.len() {
        0 => Err(Reply::error(
            404,
            &format!(
                "no suitable export target found: {}",
                platform_not_found(&familiar(&image.full), Some(requested))
            ),
        )),
        1 => Ok(matching.remove(0)),
        _ => Err(Reply::error(
            409,
            &format!(
                "no suitable export target found: multiple manifests found for platform {}",
                requested.format_all()
            ),
        )),
    }
}

/// `getImagesGet` (image_routes.go:242) and `ExportImage`
/// (daemon/containerd/image_exporter.go:36).
fn save(shared: &Shared, request: &Request, api: &str, name: Option<&str>) -> Reply {
    let names = match name {
        Some(n) => vec![n.to_string()],
        None => request.form_all("names"),
    };
    let mut platforms = Vec::new();
    if at_least(api, "1.48") {
        let given = request.form_all("platform");
        if !at_least(api, "1.52") && given.len() > 1 {
            return Reply::error(
                400,
                "multiple platform parameters are not supported in this API version; use API version 1.52 or later",
            );
        }
        for p in given {
            match decode_platform(&p) {
                Ok(p) => platforms.push(p),
                Err(e) => return e,
            }
        }
    }
    let mut exports: Vec<(&Image, Desc)> = Vec::new();
    for n in &names {
        let image = match resolve(shared, n) {
            Ok(i) => i,
            Err(e) => return e,
        };
        let target = if platforms.len() == 1 {
            match push_descriptor(image, &platforms[0]) {
                Ok(d) => d,
                Err(e) => return e,
            }
        } else {
            image.target.clone()
        };
        exports.push((image, target));
    }
    let matcher = Matcher::any(platforms.clone());
    // The one stored export as it is (the brief's "as they are": every
    // byte ctr wrote) when that is what moby would write: one image, its own
    // target, all its platforms (or the one manifest it is). Otherwise (one
    // platform of an index: moby exports that manifest alone, single-level;
    // several names or platforms) the archive is written anew from the blobs.
    if let [(image, target)] = exports.as_slice()
        && target.digest == image.target.digest
        && (platforms.is_empty() || !target.is_index())
    {
        if let Err(e) = manifest_json_entry(image, target, &matcher) {
            return e;
        }
        return Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "application/x-tar".into())],
            body: Body::Save(Arc::clone(&image.export)),
        };
    }
    match archive(&exports, &matcher) {
        Ok(bytes) => Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "application/x-tar".into())],
            body: Body::Save(Arc::new(bytes)),
        },
        Err(e) => e,
    }
}

/// The manifest containerd's exporter puts in `manifest.json` for a
/// target: for an index, the first matching entry by preference, which
/// must be present (containerd does not check; the export then fails).
fn manifest_json_entry(image: &Image, target: &Desc, matcher: &Matcher) -> Result<Desc, Reply> {
    if !target.is_index() {
        return Ok(target.clone());
    }
    let mut candidates: Vec<Desc> = image
        .index_children(target)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.platform.as_ref().is_none_or(|p| matcher.matches(p)))
        .collect();
    candidates.sort_by(|a, b| match (&a.platform, &b.platform) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        (Some(x), Some(y)) if matcher.less(x, y) => std::cmp::Ordering::Less,
        (Some(x), Some(y)) if matcher.less(y, x) => std::cmp::Ordering::Greater,
        _ => std::cmp::Ordering::Equal,
    });
    let Some(first) = candidates.into_iter().next() else {
        return Err(Reply::error(
            404,
            "no manifest found for platform: not found",
        ));
    };
    if first.is_index() {
        return manifest_json_entry(image, &first, matcher);
    }
    if !image.has(&first.digest) {
        return Err(Reply::error(
            404,
            &format!(
                "unable to create manifests file: NotFound: content digest {}: not found",
                first.digest
            ),
        ));
    }
    Ok(first)
}

/// containerd's `archive.Export` with moby's options (`WithPlatform`,
/// `WithSkipMissing`, named targets): records sorted by name.
fn archive(exports: &[(&Image, Desc)], matcher: &Matcher) -> Result<Vec<u8>, Reply> {
    let mut records: BTreeMap<String, (u32, Vec<u8>)> = BTreeMap::new();
    let mut index = Vec::new();
    let mut docker_manifests = Vec::new();
    for (image, target) in exports {
        add_tree(image, target, matcher, &mut records);
        let tag = image
            .full
            .rsplit(':')
            .next()
            .unwrap_or("latest")
            .to_string();
        let mut entry = target.short_with_platform();
        let annotations = entry
            .as_object_mut()
            .unwrap()
            .entry("annotations")
            .or_insert(json!({}));
        annotations["io.containerd.image.name"] = json!(image.full);
        annotations["org.opencontainers.image.ref.name"] = json!(tag);
        index.push(entry);
        let chosen = manifest_json_entry(image, target, matcher)?;
        let v = image.view(&chosen);
        let path = |d: &str| format!("blobs/sha256/{}", d.trim_start_matches("sha256:"));
        docker_manifests.push(json!({
            "Config": path(&v.config.as_ref().map(|c| c.digest.clone()).unwrap_or_default()),
            "RepoTags": [familiar(&image.full)],
            "Layers": v.layers.iter().map(|l| path(&l.digest)).collect::<Vec<_>>(),
        }));
    }
    records.insert(
        "index.json".into(),
        (
            0o644,
            serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": index,
            }))
            .unwrap(),
        ),
    );
    records.insert(
        "manifest.json".into(),
        (0o644, serde_json::to_vec(&docker_manifests).unwrap()),
    );
    records.insert(
        "oci-layout".into(),
        (0o444, br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
    );
    let mut builder = tar::Builder::new(Vec::new());
    for dir in ["blobs/", "blobs/sha256/"] {
        let mut header = tar::Header::new_ustar();
        header.set_path(dir).unwrap();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        header.set_mtime(0);
        header.set_cksum();
        builder.append(&header, std::io::empty()).unwrap();
    }
    for (name, (mode, bytes)) in &records {
        let mut header = tar::Header::new_ustar();
        header.set_path(name).unwrap();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(*mode);
        header.set_size(bytes.len() as u64);
        header.set_mtime(0);
        header.set_cksum();
        builder.append(&header, bytes.as_slice()).unwrap();
    }
    Ok(builder.into_inner().unwrap())
}

/// The blobs of a target's tree that the exporter writes: for an index,
/// itself and each matching entry's tree; a manifest with all its children
/// present, or (WithSkipMissing) only the manifest when one is missing;
/// nothing for an absent manifest.
fn add_tree(
    image: &Image,
    desc: &Desc,
    matcher: &Matcher,
    records: &mut BTreeMap<String, (u32, Vec<u8>)>,
) {
    let mut put = |d: &str| {
        if let Some(bytes) = image.blobs.get(d) {
            records.insert(
                format!("blobs/sha256/{}", d.trim_start_matches("sha256:")),
                (0o444, bytes.to_vec()),
            );
        }
    };
    if desc.is_index() {
        put(&desc.digest);
        for child in image.index_children(desc).unwrap_or_default() {
            if child.platform.as_ref().is_none_or(|p| matcher.matches(p)) {
                add_tree(image, &child, matcher, records);
            }
        }
        return;
    }
    let v = image.view(desc);
    if v.manifest.is_none() {
        return;
    }
    put(&desc.digest);
    if image.available(&v) {
        for d in v.config.iter().chain(v.layers.iter()) {
            put(&d.digest);
        }
    }
}

/// A minimal `GET /images/json`: one summary per image.
fn list(shared: &Shared, request: &Request, api: &str, _: Option<&str>) -> Reply {
    let release = *shared.release.lock().unwrap();
    let manifests = at_least(api, "1.47") && request.bool_value("manifests");
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for image in &shared.images {
        if !seen.insert(image.target.digest.clone()) {
            continue;
        }
        let multi = multi_platform_summary(shared, image, &Matcher::host_default(), release);
        let total: u64 = multi
            .manifests
            .iter()
            .map(|m| m["Size"]["Total"].as_u64().unwrap_or(0))
            .sum();
        let config = multi
            .best
            .as_ref()
            .and_then(|(best, _)| image.config(&image.view(best)))
            .unwrap_or(json!({}));
        let mut summary = json!({
            "Containers": if at_least(api, "1.51") { 0 } else { -1 },
            "Created": config["created"].as_str().map_or(0, unix_seconds),
            "Id": image.target.digest,
            "Labels": config["config"]["Labels"].clone(),
            "ParentId": "",
            "RepoDigests": [format!("{}@{}", familiar(repository(&image.full)), image.target.digest)],
            "RepoTags": tags_of(shared, &image.target.digest),
            "SharedSize": -1,
            "Size": total,
        });
        if at_least(api, "1.48") {
            summary["Descriptor"] = image.target.short();
        }
        if manifests {
            summary["Manifests"] = json!(multi.manifests);
        }
        out.push(summary);
    }
    Reply::json(200, &Value::Array(out))
}

// ---------------------------------------------------------------------------
// Time.

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `time.Time.Unix()` of an RFC 3339 timestamp (0 when it is not one).
fn unix_seconds(text: &str) -> i64 {
    let parse = || -> Option<i64> {
        let (date, time) = text.split_once(['T', 't'])?;
        let mut d = date.split('-').map(str::parse::<i64>);
        let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
        let zone_at = time.find(['Z', 'z', '+', '-'])?;
        let (clock, zone) = time.split_at(zone_at);
        let clock = clock.split('.').next()?;
        let mut c = clock.split(':').map(str::parse::<i64>);
        let (h, min, s) = (c.next()?.ok()?, c.next()?.ok()?, c.next()?.ok()?);
        let offset = if zone.eq_ignore_ascii_case("z") {
            0
        } else {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (oh, om) = zone[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        };
        Some(days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60 + s - offset)
    };
    parse().unwrap_or(0)
}

/// RFC 3339 (nanoseconds, UTC) as Go's `time.RFC3339Nano` writes it.
fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let nanos = format!("{:09}", since.subsec_nanos());
    let nanos = nanos.trim_end_matches('0');
    let fraction = if nanos.is_empty() {
        String::new()
    } else {
        format!(".{nanos}")
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{fraction}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
