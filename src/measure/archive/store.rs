//! Where the files of an archive or layout are read from: a tar file on disk
//! (read where it lies, layers only when asked for), a tar stream (one pass,
//! each layer counted as it passes), or a directory.
//!
//! Only small JSON files (manifests, configs, indexes) are kept in memory;
//! layers are counted through `Read`, never loaded whole.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use tar::EntryType;

use super::Error;
use crate::measure::layer::{self, Compression, KnownLayer, LayerStats};
use crate::measure::progress;

/// Files larger than this are never manifests or configs.
const SMALL_LIMIT: u64 = 8 * 1024 * 1024;

/// The files of an image archive or layout, by path from its root.
pub(crate) trait Store {
    /// The archive or directory, as messages name it.
    fn name(&self) -> &str;
    /// A small file (manifest, config, index); `None` when it is not there.
    fn small(&mut self, path: &str) -> Result<Option<Vec<u8>>, Error>;
    /// Counts the layer blob at `path`; `None` when it is not there.
    fn layer(&mut self, path: &str) -> Result<Option<LayerStats>, Error>;
}

/// Opens a tar archive on disk: read in place when it is a plain tar, in one
/// streaming pass when it is compressed (`docker save | gzip`).
pub(crate) fn open_tar(path: &Path, estimate: bool) -> Result<Box<dyn Store>, Error> {
    let name = path.display().to_string();
    let open_error = |reason: String| Error::Open {
        path: name.clone(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| open_error(e.to_string()))?;
    if meta.is_dir() {
        return Err(open_error(
            "it is a directory; an OCI layout directory is read as `oci:DIR`".to_string(),
        ));
    }
    let mut file = File::open(path).map_err(|e| open_error(e.to_string()))?;
    let mut head = [0u8; 4];
    let len = file
        .read(&mut head)
        .map_err(|e| open_error(e.to_string()))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| open_error(e.to_string()))?;
    match Compression::detect(&head[..len]) {
        Compression::None => Ok(Box::new(TarFile::index(file, name, meta.len(), estimate)?)),
        _ => Ok(Box::new(TarStream::read(file, &name, estimate)?)),
    }
}

/// Reads `path` relative to an archive's root the way a tar names it:
/// no leading `./` or `/`, no `.` or `..` steps, no trailing `/`.
pub(crate) fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// Where a symlink at `path` pointing at `target` leads, from the root.
fn symlink_target(path: &str, target: &str) -> String {
    if target.starts_with('/') {
        return clean(target);
    }
    match path.rsplit_once('/') {
        Some((dir, _)) => clean(&format!("{dir}/{target}")),
        None => clean(target),
    }
}

/// JSON starts with `{` or `[`, maybe after white space.
fn looks_like_json(head: &[u8]) -> bool {
    head.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[')
}

/// Links met in a tar: `docker save` writes a layer used twice once, and a
/// symlink to it the second time.
#[derive(Default)]
struct Links(HashMap<String, String>);

impl Links {
    fn add(&mut self, entry: &tar::Entry<'_, impl Read>, path: &str) {
        let Some(target) = entry.link_name_bytes() else {
            return;
        };
        let target = String::from_utf8_lossy(&target);
        let target = match entry.header().entry_type() {
            EntryType::Symlink => symlink_target(path, &target),
            // Hard links in a tar name their target from the archive's root.
            _ => clean(&target),
        };
        self.0.insert(path.to_string(), target);
    }

    /// Follows links (a few hops at most) to a file's own path.
    fn resolve(&self, path: &str) -> String {
        let mut path = clean(path);
        for _ in 0..16 {
            match self.0.get(&path) {
                Some(next) => path = next.clone(),
                None => break,
            }
        }
        path
    }
}

/// The outer tar failed: at its first header it is no tar at all, later it
/// was cut short or damaged.
fn outer_error(name: &str, error: &io::Error, entries_seen: usize) -> Error {
    if entries_seen == 0 {
        // The tar crate reports a bad header as `Other`, quoting its bytes;
        // a read or decompression error has a kind of its own.
        let reason = if error.kind() == io::ErrorKind::Other {
            "it does not start with a tar header".to_string()
        } else {
            layer::describe(error)
        };
        Error::NotTar {
            archive: name.to_string(),
            reason,
        }
    } else {
        Error::Truncated {
            archive: name.to_string(),
            reason: layer::describe(error),
        }
    }
}

fn no_files(name: &str) -> Error {
    Error::NotTar {
        archive: name.to_string(),
        reason: "it holds no files".to_string(),
    }
}

fn layer_error(name: &str, path: &str, error: &layer::LayerError) -> Error {
    Error::Layer {
        archive: name.to_string(),
        layer: path.to_string(),
        reason: error.reason.clone(),
    }
}

/// A plain tar on disk: indexed in one pass over its headers (seeking past
/// the data), layers read in place when asked for.
struct TarFile {
    name: String,
    file: File,
    members: HashMap<String, Member>,
    links: Links,
    estimate: bool,
    counted: HashMap<String, LayerStats>,
}

struct Member {
    offset: u64,
    size: u64,
    /// The content, for small JSON files.
    small: Option<Vec<u8>>,
}

impl TarFile {
    fn index(file: File, name: String, file_len: u64, estimate: bool) -> Result<TarFile, Error> {
        let mut members = HashMap::new();
        let mut links = Links::default();
        let mut seen = 0;
        {
            let mut archive = tar::Archive::new(&file);
            let entries = archive
                .entries_with_seek()
                .map_err(|e| outer_error(&name, &e, 0))?;
            for entry in entries {
                let mut entry = entry.map_err(|e| outer_error(&name, &e, seen))?;
                seen += 1;
                let path = clean(&String::from_utf8_lossy(&entry.path_bytes()));
                match entry.header().entry_type() {
                    EntryType::Regular | EntryType::Continuous => {
                        let (offset, size) = (entry.raw_file_position(), entry.size());
                        if offset.saturating_add(size) > file_len {
                            return Err(Error::Truncated {
                                archive: name.clone(),
                                reason: format!(
                                    "`{path}` needs {size} bytes from offset {offset}, but the file ends at {file_len}"
                                ),
                            });
                        }
                        let small = if size <= SMALL_LIMIT {
                            read_if_json(&mut entry, size)
                                .map_err(|e| outer_error(&name, &e, seen))?
                        } else {
                            None
                        };
                        members.insert(
                            path,
                            Member {
                                offset,
                                size,
                                small,
                            },
                        );
                    }
                    EntryType::Symlink | EntryType::Link => links.add(&entry, &path),
                    _ => {}
                }
            }
        }
        if seen == 0 {
            return Err(no_files(&name));
        }
        Ok(TarFile {
            name,
            file,
            members,
            links,
            estimate,
            counted: HashMap::new(),
        })
    }
}

/// The whole entry when it looks like JSON, else `None` (read no further).
fn read_if_json(entry: &mut impl Read, size: u64) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(64);
    entry.by_ref().take(64).read_to_end(&mut head)?;
    if !looks_like_json(&head) {
        return Ok(None);
    }
    let mut all = Vec::with_capacity(size as usize);
    all.extend_from_slice(&head);
    entry.read_to_end(&mut all)?;
    Ok(Some(all))
}

impl Store for TarFile {
    fn name(&self) -> &str {
        &self.name
    }

    fn small(&mut self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let path = self.links.resolve(path);
        let Some(member) = self.members.get(&path) else {
            return Ok(None);
        };
        match &member.small {
            Some(bytes) => Ok(Some(bytes.clone())),
            None => Err(Error::Malformed {
                archive: self.name.clone(),
                file: path,
                reason: format!(
                    "it is not JSON (or is over {} MiB)",
                    SMALL_LIMIT / 1024 / 1024
                ),
            }),
        }
    }

    fn layer(&mut self, path: &str) -> Result<Option<LayerStats>, Error> {
        let path = self.links.resolve(path);
        if let Some(stats) = self.counted.get(&path) {
            return Ok(Some(stats.clone()));
        }
        let Some(member) = self.members.get(&path) else {
            return Ok(None);
        };
        let stats = match &member.small {
            Some(bytes) => layer::layer_stats(bytes.as_slice(), self.estimate, true),
            None => {
                (&self.file)
                    .seek(SeekFrom::Start(member.offset))
                    .map_err(|e| Error::Truncated {
                        archive: self.name.clone(),
                        reason: e.to_string(),
                    })?;
                let reader = progress::reader((&self.file).take(member.size), &path, member.size);
                layer::layer_stats(reader, self.estimate, true)
            }
        }
        .map_err(|e| layer_error(&self.name, &path, &e))?;
        self.counted.insert(path, stats.clone());
        Ok(Some(stats))
    }
}

/// What a stream reader may reuse and what it learns: layer blobs whose
/// facts are known (by blob digest) are read past without decompressing,
/// and every layer counted in full is told to `learned`.
#[derive(Default)]
pub struct Reuse {
    pub known: HashMap<String, KnownLayer>,
    pub learned: Option<Learned>,
}

/// Told each layer counted in full.
pub type Learned = Box<dyn Fn(&LayerStats) + Send>;

impl Reuse {
    /// Counts the blob at `path`: passed when its name is a known digest,
    /// else read in full (and told).
    fn count<R: Read>(
        &self,
        reader: R,
        path: &str,
        estimate: bool,
    ) -> Result<LayerStats, layer::LayerError> {
        if !estimate
            && let Some(digest) = digest_named_by(path)
            && let Some(known) = self.known.get(&digest)
        {
            return layer::pass_known(reader, &digest, known);
        }
        let stats = layer::layer_stats(reader, estimate, true)?;
        if let Some(learned) = &self.learned {
            learned(&stats);
        }
        Ok(stats)
    }
}

/// The digest a file's name gives, where it gives one: `blobs/sha256/HEX`
/// (OCI layouts, the containerd store's save) or `HEX.tar` (podman's save
/// names a layer by its diff ID).
fn digest_named_by(path: &str) -> Option<String> {
    let hex = path
        .strip_prefix("blobs/sha256/")
        .or_else(|| path.strip_suffix(".tar").filter(|p| !p.contains('/')))?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("sha256:{hex}"))
}

/// A tar read in one pass from a stream (plain, gzip or zstd): small JSON
/// files kept, every other file counted as a layer as it passes, and the
/// image assembled at the end, since `docker save` writes manifest.json
/// after the layers.
pub(crate) struct TarStream {
    name: String,
    small: HashMap<String, Vec<u8>>,
    layers: HashMap<String, Result<LayerStats, layer::LayerError>>,
    links: Links,
    estimate: bool,
}

impl TarStream {
    pub(crate) fn read<R: Read>(reader: R, name: &str, estimate: bool) -> Result<TarStream, Error> {
        TarStream::read_reusing(reader, name, estimate, &Reuse::default())
    }

    pub(crate) fn read_reusing<R: Read>(
        reader: R,
        name: &str,
        estimate: bool,
        reuse: &Reuse,
    ) -> Result<TarStream, Error> {
        let (_, reader) = layer::decompress(reader).map_err(|e| Error::NotTar {
            archive: name.to_string(),
            reason: layer::describe(&e),
        })?;
        let mut small = HashMap::new();
        let mut layers = HashMap::new();
        let mut links = Links::default();
        let mut seen = 0;
        let mut archive = tar::Archive::new(reader);
        let entries = archive.entries().map_err(|e| outer_error(name, &e, 0))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| outer_error(name, &e, seen))?;
            seen += 1;
            let path = clean(&String::from_utf8_lossy(&entry.path_bytes()));
            match entry.header().entry_type() {
                EntryType::Regular | EntryType::Continuous => {
                    let size = entry.size();
                    if size <= SMALL_LIMIT {
                        let mut bytes = Vec::with_capacity(size as usize);
                        entry
                            .read_to_end(&mut bytes)
                            .map_err(|e| outer_error(name, &e, seen))?;
                        if bytes.len() as u64 != size {
                            return Err(Error::Truncated {
                                archive: name.to_string(),
                                reason: format!(
                                    "`{path}` ends after {} of {size} bytes",
                                    bytes.len()
                                ),
                            });
                        }
                        if looks_like_json(&bytes) {
                            small.insert(path, bytes);
                        } else {
                            let stats = reuse.count(bytes.as_slice(), &path, estimate);
                            layers.insert(path, stats);
                        }
                    } else {
                        let reader = progress::reader(&mut entry, &path, size);
                        let stats = reuse.count(reader, &path, estimate);
                        if let Ok(stats) = &stats
                            && stats.blob_size != size
                        {
                            return Err(Error::Truncated {
                                archive: name.to_string(),
                                reason: format!(
                                    "`{path}` ends after {} of {size} bytes",
                                    stats.blob_size
                                ),
                            });
                        }
                        layers.insert(path, stats);
                    }
                }
                EntryType::Symlink | EntryType::Link => links.add(&entry, &path),
                _ => {}
            }
        }
        if seen == 0 {
            return Err(no_files(name));
        }
        Ok(TarStream {
            name: name.to_string(),
            small,
            layers,
            links,
            estimate,
        })
    }
}

impl Store for TarStream {
    fn name(&self) -> &str {
        &self.name
    }

    fn small(&mut self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let path = self.links.resolve(path);
        if let Some(bytes) = self.small.get(&path) {
            return Ok(Some(bytes.clone()));
        }
        if self.layers.contains_key(&path) {
            return Err(Error::Malformed {
                archive: self.name.clone(),
                file: path,
                reason: format!(
                    "it is not JSON (or is over {} MiB)",
                    SMALL_LIMIT / 1024 / 1024
                ),
            });
        }
        Ok(None)
    }

    fn layer(&mut self, path: &str) -> Result<Option<LayerStats>, Error> {
        let path = self.links.resolve(path);
        if let Some(stats) = self.layers.get(&path) {
            return stats
                .clone()
                .map(Some)
                .map_err(|e| layer_error(&self.name, &path, &e));
        }
        // A small file that looked like JSON: count it now.
        let Some(bytes) = self.small.get(&path) else {
            return Ok(None);
        };
        let stats = layer::layer_stats(bytes.as_slice(), self.estimate, true)
            .map_err(|e| layer_error(&self.name, &path, &e))?;
        self.layers.insert(path, Ok(stats.clone()));
        Ok(Some(stats))
    }
}

/// An OCI image layout directory.
pub(crate) struct Dir {
    root: PathBuf,
    name: String,
    estimate: bool,
    counted: HashMap<String, LayerStats>,
}

impl Dir {
    pub(crate) fn open(root: &Path, estimate: bool) -> Result<Dir, Error> {
        let name = root.display().to_string();
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_dir() => Ok(Dir {
                root: root.to_path_buf(),
                name,
                estimate,
                counted: HashMap::new(),
            }),
            Ok(_) => Err(Error::Open {
                path: name,
                reason: "it is a file, not a directory; an archive is read as `oci-archive:FILE` or `docker-archive:FILE`".to_string(),
            }),
            Err(e) => Err(Error::Open {
                path: name,
                reason: e.to_string(),
            }),
        }
    }

    /// The file, or `None` when it is not there. Paths come from
    /// `index.json` and digests checked by the caller, never from the user.
    fn file(&self, path: &str) -> Result<Option<(File, u64)>, Error> {
        let full = self.root.join(clean(path));
        let file = match File::open(&full) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::Open {
                    path: full.display().to_string(),
                    reason: e.to_string(),
                });
            }
        };
        let len = file
            .metadata()
            .map_err(|e| Error::Open {
                path: full.display().to_string(),
                reason: e.to_string(),
            })?
            .len();
        Ok(Some((file, len)))
    }
}

impl Store for Dir {
    fn name(&self) -> &str {
        &self.name
    }

    fn small(&mut self, path: &str) -> Result<Option<Vec<u8>>, Error> {
        let Some((mut file, len)) = self.file(path)? else {
            return Ok(None);
        };
        if len > SMALL_LIMIT {
            return Err(Error::Malformed {
                archive: self.name.clone(),
                file: path.to_string(),
                reason: format!(
                    "it is {len} bytes, too large for a manifest or config (over {} MiB)",
                    SMALL_LIMIT / 1024 / 1024
                ),
            });
        }
        let mut bytes = Vec::with_capacity(len as usize);
        file.read_to_end(&mut bytes).map_err(|e| Error::Open {
            path: self.root.join(path).display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Some(bytes))
    }

    fn layer(&mut self, path: &str) -> Result<Option<LayerStats>, Error> {
        if let Some(stats) = self.counted.get(path) {
            return Ok(Some(stats.clone()));
        }
        let Some((file, len)) = self.file(path)? else {
            return Ok(None);
        };
        let stats = layer::layer_stats(progress::reader(file, path, len), self.estimate, true)
            .map_err(|e| layer_error(&self.name, path, &e))?;
        self.counted.insert(path.to_string(), stats.clone());
        Ok(Some(stats))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_as_a_tar_names_them() {
        assert_eq!(clean("./manifest.json"), "manifest.json");
        assert_eq!(clean("/blobs/sha256//abc/"), "blobs/sha256/abc");
        assert_eq!(clean("a/./b/../c"), "a/c");
        assert_eq!(clean("../../etc"), "etc");
    }

    #[test]
    fn symlinks_resolve_from_their_directory() {
        assert_eq!(
            symlink_target("9f81/layer.tar", "../9c51/layer.tar"),
            "9c51/layer.tar"
        );
        assert_eq!(symlink_target("a/b", "/blobs/x"), "blobs/x");
        assert_eq!(symlink_target("top", "other"), "other");
    }

    /// A tar stream holding one gzip layer blob under its digest.
    fn stream_with_one_blob() -> (Vec<u8>, String, String) {
        use std::io::Write;
        let mut layer = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_cksum();
        layer.append_data(&mut h, "f", &b"abc"[..]).unwrap();
        let layer = layer.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&layer).unwrap();
        let blob = gz.finish().unwrap();
        let digest = crate::measure::digest::sha256_of(&blob);
        let mut outer = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(blob.len() as u64);
        h.set_cksum();
        let path = format!("blobs/sha256/{}", &digest["sha256:".len()..]);
        outer.append_data(&mut h, &path, blob.as_slice()).unwrap();
        (
            outer.into_inner().unwrap(),
            digest,
            crate::measure::digest::sha256_of(&layer),
        )
    }

    #[test]
    fn a_known_blob_is_read_past_and_an_unknown_one_is_counted_and_told() {
        let (bytes, digest, diff_id) = stream_with_one_blob();
        let path = format!("blobs/sha256/{}", &digest["sha256:".len()..]);
        let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&told);
        let mut reuse = Reuse {
            known: HashMap::new(),
            learned: Some(Box::new(move |stats: &LayerStats| {
                sink.lock().unwrap().push(stats.diff_id.clone());
            })),
        };
        let mut read = TarStream::read_reusing(bytes.as_slice(), "s", false, &reuse).unwrap();
        let stats = read.layer(&path).unwrap().unwrap();
        assert_eq!((stats.size, stats.diff_id.as_str()), (3, diff_id.as_str()));
        assert!(stats.listing.is_some());
        assert_eq!(
            told.lock().unwrap().as_slice(),
            std::slice::from_ref(&diff_id)
        );

        // Known (here with a size no reading would give): passed, not told.
        let known = KnownLayer {
            diff_id: diff_id.clone(),
            size: 7,
        };
        reuse.known.insert(digest.clone(), known);
        let mut passed = TarStream::read_reusing(bytes.as_slice(), "s", false, &reuse).unwrap();
        let stats = passed.layer(&path).unwrap().unwrap();
        assert_eq!(
            (stats.size, stats.blob_digest.as_str()),
            (7, digest.as_str())
        );
        assert_eq!(stats.listing, None);
        assert_eq!(told.lock().unwrap().len(), 1);
        // An estimate needs the content: known or not, it is read.
        let mut estimated = TarStream::read_reusing(bytes.as_slice(), "s", true, &reuse).unwrap();
        assert_eq!(estimated.layer(&path).unwrap().unwrap().size, 3);
    }

    #[test]
    fn digests_are_read_from_blob_names() {
        let hex = "ab".repeat(32);
        let digest = Some(format!("sha256:{hex}"));
        assert_eq!(digest_named_by(&format!("blobs/sha256/{hex}")), digest);
        assert_eq!(digest_named_by(&format!("{hex}.tar")), digest);
        assert_eq!(digest_named_by(&format!("{hex}/layer.tar")), None);
        assert_eq!(digest_named_by("blobs/sha256/abc"), None);
        assert_eq!(digest_named_by(&format!("x/{hex}.tar")), None);
    }

    #[test]
    fn json_is_told_by_its_first_character() {
        assert!(looks_like_json(b"  \n{\"a\":1}"));
        assert!(looks_like_json(b"[{}]"));
        assert!(!looks_like_json(b"1.0"));
        assert!(!looks_like_json(b"\x1f\x8b\x08"));
        assert!(!looks_like_json(b""));
    }
}
