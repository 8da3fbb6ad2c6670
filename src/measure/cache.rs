//! What a layer blob measures, kept by its digest. A blob's facts (its diff
//! ID, the engine's count of its size, its own size) are a pure function of
//! its content, so once counted they hold forever: a base layer shared by
//! many images is read once, and a second run reads no layer at all.
//!
//! One small JSON file per blob under `layers/sha256/`, the same facts under
//! the layer's diff ID in `diffs/sha256/` (an engine names its layers by
//! diff ID: an image whose layers are all known needs no export), and each image config
//! blob as it was served under `configs/sha256/`. Files are written to a
//! temporary name and renamed into place, so two runs sharing the directory
//! never see half a file. An entry is checked before it is used (its own
//! checksum, the digest it is filed under; a config is hashed again) and one
//! that fails is ignored and recomputed, never trusted. The cache is a help,
//! never a requirement: a directory that cannot be written is no error.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::digest::sha256_of;

/// What counting one layer blob told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerFacts {
    /// The blob's digest, as manifests name it.
    pub blob: String,
    /// The digest of the uncompressed tar.
    pub diff_id: String,
    /// Uncompressed bytes as the engine counts them.
    pub size: u64,
    /// Bytes of the blob.
    pub blob_size: u64,
}

impl LayerFacts {
    /// A checksum over the facts, so that a damaged entry is told from a good one.
    fn check(&self) -> String {
        sha256_of(
            format!(
                "{} {} {} {}",
                self.blob, self.diff_id, self.size, self.blob_size
            )
            .as_bytes(),
        )
    }
}

#[derive(Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    facts: LayerFacts,
    check: String,
}

/// The cache directory, or none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cache {
    dir: Option<PathBuf>,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache {
            dir: Some(dir.into()),
        }
    }

    /// No cache: every layer is read when it is needed.
    pub fn none() -> Cache {
        Cache { dir: None }
    }

    /// `IMAGE_BUDGET_CACHE`, else `$XDG_CACHE_HOME/image-budget`, else (on
    /// Windows) `%LOCALAPPDATA%\image-budget`, else `~/.cache/image-budget`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Cache {
        Cache::from_env_on(env, cfg!(windows))
    }

    fn from_env_on(env: &dyn Fn(&str) -> Option<String>, windows: bool) -> Cache {
        let set = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let dir = set("IMAGE_BUDGET_CACHE")
            .or_else(|| set("XDG_CACHE_HOME").map(|d| d.join("image-budget")))
            .or_else(|| {
                set("LOCALAPPDATA")
                    .filter(|_| windows)
                    .map(|d| d.join("image-budget"))
            })
            .or_else(|| {
                super::home::home_dir(env, windows).map(|h| h.join(".cache").join("image-budget"))
            });
        Cache { dir }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// `KIND/sha256/HEX` for a `sha256:HEX` digest; other digests are not kept.
    fn path(&self, kind: &str, digest: &str, suffix: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(
            self.dir
                .as_ref()?
                .join(kind)
                .join("sha256")
                .join(format!("{hex}{suffix}")),
        )
    }

    /// The facts of a blob, when a sound entry holds them.
    pub fn layer(&self, blob: &str) -> Option<LayerFacts> {
        let text = std::fs::read(self.path("layers", blob, ".json")?).ok()?;
        let entry: Entry = serde_json::from_slice(&text).ok()?;
        (entry.facts.blob == blob && entry.check == entry.facts.check()).then_some(entry.facts)
    }

    /// The facts of a layer by its diff ID (the digest of its uncompressed
    /// tar), whatever blob they were counted from: its size is the same.
    pub fn layer_by_diff(&self, diff_id: &str) -> Option<LayerFacts> {
        let text = std::fs::read(self.path("diffs", diff_id, ".json")?).ok()?;
        let entry: Entry = serde_json::from_slice(&text).ok()?;
        (entry.facts.diff_id == diff_id && entry.check == entry.facts.check())
            .then_some(entry.facts)
    }

    /// Keeps the facts under the blob's digest and under the diff ID.
    pub fn put_layer(&self, facts: &LayerFacts) {
        let entry = Entry {
            facts: facts.clone(),
            check: facts.check(),
        };
        let Ok(text) = serde_json::to_vec(&entry) else {
            return;
        };
        if let Some(path) = self.path("layers", &facts.blob, ".json") {
            write_atomically(&path, &text);
        }
        if self.layer_by_diff(&facts.diff_id).is_none()
            && let Some(path) = self.path("diffs", &facts.diff_id, ".json")
        {
            write_atomically(&path, &text);
        }
    }

    /// An image config blob, when the cache holds one whose bytes hash to `digest`.
    pub fn config(&self, digest: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.path("configs", digest, "")?).ok()?;
        (sha256_of(&bytes) == digest).then_some(bytes)
    }

    pub fn put_config(&self, digest: &str, bytes: &[u8]) {
        if let Some(path) = self.path("configs", digest, "") {
            write_atomically(&path, bytes);
        }
    }
}

impl Cache {
    /// What the engine at `address` told last time: the API version
    /// (`1.41`), which engine it was (`docker`, `podman`) and its own
    /// platform (`linux/amd64`). With them, a run needs no handshake. An
    /// entry without all three is no entry.
    pub fn engine_version(&self, address: &str) -> Option<EngineMemory> {
        let path = self.path("engines", &sha256_of(address.as_bytes()), "")?;
        let text = std::fs::read_to_string(path).ok()?;
        let mut words = text.split_whitespace();
        let (version, kind, platform) = (words.next()?, words.next()?, words.next()?);
        if words.next().is_some() {
            return None;
        }
        let (major, minor) = version.split_once('.')?;
        let word_ok = |w: &str, extra: &[u8]| {
            w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || extra.contains(&b))
        };
        if !word_ok(kind, b"") || !word_ok(platform, b"/_-.") || !platform.contains('/') {
            return None;
        }
        Some(EngineMemory {
            version: (major.parse().ok()?, minor.parse().ok()?),
            kind: kind.to_string(),
            platform: platform.to_string(),
        })
    }

    pub fn put_engine_version(&self, address: &str, memory: &EngineMemory) {
        if let Some(path) = self.path("engines", &sha256_of(address.as_bytes()), "") {
            let (major, minor) = memory.version;
            let line = format!("{major}.{minor} {} {}\n", memory.kind, memory.platform);
            write_atomically(&path, line.as_bytes());
        }
    }
}

/// What an engine told at the handshake, kept for the next run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineMemory {
    pub version: (usize, usize),
    pub kind: String,
    pub platform: String,
}

/// Writes a temporary file beside `path` and renames it into place; any
/// failure leaves the cache as it was.
fn write_atomically(path: &Path, bytes: &[u8]) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    let unique = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let temp = dir.join(format!(".{name}.{}.{unique}.tmp", std::process::id()));
    let written = std::fs::File::create(&temp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> LayerFacts {
        LayerFacts {
            blob: format!("sha256:{}", "ab".repeat(32)),
            diff_id: format!("sha256:{}", "cd".repeat(32)),
            size: 1_000_001,
            blob_size: 4242,
        }
    }

    #[test]
    fn a_layer_entry_is_read_back_and_a_damaged_one_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let f = facts();
        assert_eq!(cache.layer(&f.blob), None);
        cache.put_layer(&f);
        assert_eq!(cache.layer(&f.blob), Some(f.clone()));
        let path = cache.path("layers", &f.blob, ".json").unwrap();
        // One digit changed: the checksum no longer matches.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("1000001", "1000002")).unwrap();
        assert_eq!(cache.layer(&f.blob), None);
        // Cut short: not JSON.
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert_eq!(cache.layer(&f.blob), None);
        // Filed under another digest.
        let other = format!("sha256:{}", "ef".repeat(32));
        let moved = cache.path("layers", &other, ".json").unwrap();
        std::fs::write(&moved, &text).unwrap();
        assert_eq!(cache.layer(&other), None);
        // Written again: sound, and found by its diff ID too.
        cache.put_layer(&f);
        assert_eq!(cache.layer(&f.blob), Some(f.clone()));
        assert_eq!(cache.layer_by_diff(&f.diff_id), Some(f.clone()));
        assert_eq!(cache.layer_by_diff(&f.blob), None);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(std::result::Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn an_engine_entry_needs_its_version_and_its_kind() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let address = "unix:///var/run/docker.sock";
        assert_eq!(cache.engine_version(address), None);
        let memory = EngineMemory {
            version: (1, 52),
            kind: "docker".to_string(),
            platform: "linux/arm64/v8".to_string(),
        };
        cache.put_engine_version(address, &memory);
        assert_eq!(cache.engine_version(address), Some(memory));
        let path = cache
            .path("engines", &sha256_of(address.as_bytes()), "")
            .unwrap();
        for old in [
            "1.41\n",
            "1.41 docker\n",
            "x.41 docker linux/amd64\n",
            "1.41 Docker linux/amd64\n",
            "1.41 docker linux\n",
            "1.41 docker linux/amd64 more\n",
        ] {
            std::fs::write(&path, old).unwrap();
            assert_eq!(cache.engine_version(address), None, "{old:?}");
        }
    }

    #[test]
    fn a_config_must_hash_to_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let bytes = br#"{"rootfs":{"diff_ids":[]}}"#;
        let digest = sha256_of(bytes);
        cache.put_config(&digest, bytes);
        assert_eq!(cache.config(&digest).as_deref(), Some(bytes.as_slice()));
        std::fs::write(cache.path("configs", &digest, "").unwrap(), b"{}").unwrap();
        assert_eq!(cache.config(&digest), None);
    }

    #[test]
    fn no_directory_and_odd_digests_keep_nothing() {
        let cache = Cache::none();
        cache.put_layer(&facts());
        assert_eq!(cache.layer(&facts().blob), None);
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        for odd in ["sha512:ab", "sha256:../../etc", "sha256:"] {
            assert_eq!(cache.path("layers", odd, ".json"), None, "{odd}");
        }
    }

    #[test]
    fn the_directory_comes_from_the_environment() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let dir = |vars| Cache::from_env(&env(vars)).dir;
        assert_eq!(
            dir(&[("IMAGE_BUDGET_CACHE", "/c"), ("HOME", "/h")]),
            Some("/c".into())
        );
        assert_eq!(
            dir(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]),
            Some("/x/image-budget".into())
        );
        assert_eq!(
            dir(&[("HOME", "/h")]),
            Some("/h/.cache/image-budget".into())
        );
        assert_eq!(dir(&[]), None);
    }

    #[test]
    fn windows_keeps_it_in_localappdata_else_the_profile() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let dir = |vars, windows| Cache::from_env_on(&env(vars), windows).dir;
        let local = &[
            ("LOCALAPPDATA", r"C:\Users\me\AppData\Local"),
            ("USERPROFILE", r"C:\Users\me"),
            ("HOME", "/h"),
        ];
        assert_eq!(
            dir(local, true),
            Some(Path::new(r"C:\Users\me\AppData\Local").join("image-budget"))
        );
        // Elsewhere neither is read: Linux and macOS keep ~/.cache.
        assert_eq!(dir(local, false), Some("/h/.cache/image-budget".into()));
        assert_eq!(
            dir(&[("USERPROFILE", r"C:\Users\me"), ("HOME", "/h")], true),
            Some(
                Path::new(r"C:\Users\me")
                    .join(".cache")
                    .join("image-budget")
            )
        );
        assert_eq!(dir(&[("USERPROFILE", r"C:\Users\me")], false), None);
        assert_eq!(
            dir(&[("XDG_CACHE_HOME", "/x"), ("LOCALAPPDATA", "L")], true),
            Some("/x/image-budget".into())
        );
        assert_eq!(dir(&[], true), None);
    }
}
