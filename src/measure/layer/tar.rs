//! One layer blob, counted in a single streaming pass: its size as the engine
//! counts it, its diff ID, and (for an uncompressed blob, on request) what
//! gzip makes of it. Nothing is held in memory but fixed-size buffers.
//!
//! The engine (dockerd with overlay2) measures a layer after extracting it:
//! it sums the `lstat` sizes of everything but directories, once per inode.
//! Read off the tar, and checked against dockerd 20.10 by the tests in
//! `tests/archive.rs` (`hand_made_layers_...`, `whiteouts_with_bytes_...`):
//! - a regular file counts its bytes; a PAX sparse file its real (apparent)
//!   size, not the bytes stored;
//! - a symlink counts the length of its target;
//! - a hard link counts 0: the engine only links to a file this layer has
//!   already extracted, and that file was counted;
//! - directories, device nodes and FIFOs count 0;
//! - any entry whose name starts with `.wh.` counts 0 whatever bytes it
//!   carries: whiteouts, the opaque marker `.wh..wh..opq`.
//!
//! Each entry is counted as it comes, with no memory of earlier paths: the
//! engine refuses every layer in which entries would interact (a path twice,
//! a hard link to a later or a lower layer's file, a whiteout after the file
//! it deletes; `the_engine_refuses_layers_where_entries_would_interact`).

use std::io::{self, BufReader, Read, Write};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use tar::EntryType;

use super::kept::Database;
use super::waste::{self, Kind, Listing};
use crate::measure::digest::hex_digest;
#[cfg(test)]
use crate::measure::digest::sha256_of;

/// How a blob is compressed, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// gzip starts `1f 8b`, zstd `28 b5 2f fd`; anything else is taken as a plain tar.
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Why a layer could not be counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a readable layer tar: {reason}")]
pub struct LayerError {
    pub reason: String,
}

impl From<io::Error> for LayerError {
    fn from(e: io::Error) -> Self {
        LayerError {
            reason: describe(&e),
        }
    }
}

/// An I/O or format error on one short printable line: the tar crate quotes
/// raw header bytes, which in a file that is no tar can be anything.
pub(crate) fn describe(error: &io::Error) -> String {
    const MAX: usize = 160;
    let text: String = error
        .to_string()
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// A layer's uncompressed size exactly as the engine's `Size` counts it (see
/// the module notes), read from the uncompressed layer tar in one pass.
pub fn layer_size<R: Read>(uncompressed_tar: R) -> Result<u64, LayerError> {
    let mut archive = tar::Archive::new(uncompressed_tar);
    Ok(count_entries(&mut archive, None)?)
}

fn count_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    mut listing: Option<&mut Listing>,
) -> io::Result<u64> {
    let mut total = 0u64;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let counted = counted_entry(&mut entry, listing.is_some())?;
        total = total.saturating_add(counted.bytes);
        if let Some(listing) = listing.as_deref_mut() {
            listing.push(counted);
        }
    }
    Ok(total)
}

/// What one entry adds to the layer's size, and what it is to the overlay;
/// with `keep`, a package database's file brings its contents.
fn counted_entry<R: Read>(entry: &mut tar::Entry<'_, R>, keep: bool) -> io::Result<waste::Entry> {
    // A PAX sparse file (GNU tar --sparse --format=posix) stores a map and
    // the data; the engine extracts it to its real size, under its real name.
    let mut sparse_size = None;
    let mut sparse_name = None;
    if let Some(extensions) = entry.pax_extensions()? {
        for extension in extensions {
            let extension = extension?;
            match extension.key() {
                Ok("GNU.sparse.realsize" | "GNU.sparse.size") => {
                    sparse_size = extension.value().ok().and_then(|v| v.trim().parse().ok());
                }
                Ok("GNU.sparse.name") => sparse_name = Some(extension.value_bytes().to_vec()),
                _ => {}
            }
        }
    }
    let name = sparse_name.unwrap_or_else(|| entry.path_bytes().into_owned());
    let path = waste::normalise(&name);
    if let Some(kind) = whiteout_kind(&path) {
        let (dir, base) = split_base(&path);
        let target = match kind {
            Kind::Opaque => dir.into(),
            _ => join(dir, &base[b".wh.".len()..]),
        };
        return Ok(waste::Entry {
            path: target,
            kind,
            bytes: 0,
        });
    }
    let header = entry.header();
    let kind = match header.entry_type() {
        EntryType::Directory => Kind::Directory,
        EntryType::Link => Kind::HardLink {
            target: waste::normalise(&entry.link_name_bytes().unwrap_or_default()),
        },
        EntryType::Symlink => Kind::Symlink {
            target: entry.link_name_bytes().unwrap_or_default().into(),
        },
        EntryType::Regular | EntryType::Continuous if keep && sparse_size.is_none() => {
            match Database::of(&path) {
                Some(database) if entry.size() <= database.limit() && database.limit() > 0 => {
                    let mut content = Vec::with_capacity(entry.size() as usize);
                    entry.read_to_end(&mut content)?;
                    Kind::Kept {
                        content: content.into(),
                    }
                }
                _ => Kind::Other,
            }
        }
        _ => Kind::Other,
    };
    let header = entry.header();
    let bytes = match header.entry_type() {
        // Contiguous files are refused by the engine ("unhandled tar header
        // type 55"); counted as the regular files they are elsewhere.
        EntryType::Regular | EntryType::Continuous => sparse_size.unwrap_or(entry.size()),
        // Old GNU sparse: the engine refuses it ("unhandled tar header type
        // 83"); counted at its real size, as any extraction makes it.
        EntryType::GNUSparse => header.size()?,
        EntryType::Symlink => entry.link_name_bytes().map_or(0, |l| l.len() as u64),
        _ => 0,
    };
    Ok(waste::Entry { path, kind, bytes })
}

/// `(directory, last element)` of a normalised path.
fn split_base(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&path[..0], path),
    }
}

fn join(dir: &[u8], base: &[u8]) -> Box<[u8]> {
    if dir.is_empty() {
        return base.into();
    }
    let mut out = dir.to_vec();
    out.push(b'/');
    out.extend_from_slice(base);
    out.into()
}

/// A whiteout (`.wh.NAME`) or the opaque marker (`.wh..wh..opq`); any other
/// `.wh.` name is still a whiteout as the engine counts it (0 bytes).
fn whiteout_kind(path: &[u8]) -> Option<Kind> {
    if !is_whiteout(path) {
        return None;
    }
    let (_, base) = split_base(path);
    Some(if base == b".wh..wh..opq" {
        Kind::Opaque
    } else {
        Kind::Whiteout
    })
}

/// A whiteout or opaque marker: the last path element starts with `.wh.`.
fn is_whiteout(path: &[u8]) -> bool {
    let mut path = path;
    while let [rest @ .., b'/'] = path {
        path = rest;
    }
    let base = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    };
    base.starts_with(b".wh.")
}

/// What reading one layer blob told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerStats {
    /// `sha256:<hex>` of the uncompressed tar: the diff ID.
    pub diff_id: String,
    /// The engine's count, see [`layer_size`].
    pub size: u64,
    /// Bytes of the blob as stored.
    pub blob_size: u64,
    /// `sha256:<hex>` of the blob as stored: its digest in a registry or layout.
    pub blob_digest: String,
    pub compression: Compression,
    /// Bytes gzip (default level) makes of the uncompressed tar; only for an
    /// uncompressed blob, and only when asked.
    pub gzip_estimate: Option<u64>,
    /// Every entry's path, kind and bytes, when asked: what the wasted bytes
    /// are worked out from.
    pub listing: Option<Listing>,
}

/// Reads a layer blob (plain, gzip or zstd tar) once, to its end.
pub fn layer_stats<R: Read>(blob: R, estimate: bool, list: bool) -> Result<LayerStats, LayerError> {
    let mut blob = Counting {
        inner: blob,
        count: 0,
        hasher: Sha256::new(),
    };
    let (compression, size, diff_id, gzip_estimate, listing) = {
        let (compression, decoded) = decompress(&mut blob)?;
        let gzip = (estimate && compression == Compression::None).then(Estimate::new);
        // A plain tar is its own blob: the blob's hash is the diff ID, and
        // hashing the same bytes twice would double the work.
        let mut tee = Tee {
            inner: decoded,
            hasher: (compression != Compression::None).then(Sha256::new),
            gzip,
        };
        let mut listing = list.then(Listing::new);
        let size = count_entries(&mut tar::Archive::new(&mut tee), listing.as_mut())?;
        // The end-of-archive blocks and any padding after them are part of
        // the diff ID too.
        io::copy(&mut tee, &mut io::sink())?;
        let gzip_estimate = match tee.gzip {
            Some(gzip) => Some(gzip.finish()?),
            None => None,
        };
        (
            compression,
            size,
            tee.hasher.map(hex_digest),
            gzip_estimate,
            listing,
        )
    };
    // Whatever follows the compressed stream is still part of the blob.
    io::copy(&mut blob, &mut io::sink())?;
    let blob_digest = hex_digest(blob.hasher);
    Ok(LayerStats {
        diff_id: diff_id.unwrap_or_else(|| blob_digest.clone()),
        size,
        blob_size: blob.count,
        blob_digest,
        compression,
        gzip_estimate,
        listing,
    })
}

/// What is already known of a layer blob (from the layer facts cache): its
/// diff ID and its size as the engine counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownLayer {
    pub diff_id: String,
    pub size: u64,
}

/// Reads past a blob whose facts are known, without decompressing it: only
/// its bytes are counted and hashed, and they must hash to `digest`, the
/// name it was filed under. No listing, no estimate.
pub fn pass_known<R: Read>(
    blob: R,
    digest: &str,
    known: &KnownLayer,
) -> Result<LayerStats, LayerError> {
    let mut blob = Counting {
        inner: blob,
        count: 0,
        hasher: Sha256::new(),
    };
    let (head, len) = read_head(&mut blob)?;
    io::copy(&mut blob, &mut io::sink())?;
    let blob_digest = hex_digest(blob.hasher);
    if blob_digest != digest {
        return Err(LayerError {
            reason: format!("its content is {blob_digest}, not the {digest} it is named"),
        });
    }
    Ok(LayerStats {
        diff_id: known.diff_id.clone(),
        size: known.size,
        blob_size: blob.count,
        blob_digest,
        compression: Compression::detect(&head[..len]),
        gzip_estimate: None,
        listing: None,
    })
}

/// The first four bytes of a stream (fewer when it is shorter): enough to
/// tell its compression.
fn read_head(reader: &mut impl Read) -> io::Result<([u8; 4], usize)> {
    let mut head = [0u8; 4];
    let mut len = 0;
    while len < head.len() {
        match reader.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((head, len))
}

/// The stream decompressed as its magic bytes say.
pub(crate) fn decompress<'a, R: Read + 'a>(
    mut reader: R,
) -> io::Result<(Compression, Box<dyn Read + 'a>)> {
    let (head, len) = read_head(&mut reader)?;
    let compression = Compression::detect(&head[..len]);
    let whole = io::Cursor::new(head).take(len as u64).chain(reader);
    let decoded: Box<dyn Read + 'a> = match compression {
        Compression::Gzip => Box::new(MultiGzDecoder::new(whole)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(whole)?),
        Compression::None => Box::new(BufReader::with_capacity(64 * 1024, whole)),
    };
    Ok((compression, decoded))
}

/// The size of the writes that feed the gzip estimate.
pub const ESTIMATE_CHUNK: usize = 64 * 1024;

/// The gzip estimate: flate2 at its default level, fed in writes of exactly
/// [`ESTIMATE_CHUNK`] bytes. zlib-rs's output shifts by a few bytes with the
/// sizes of the writes, so they are fixed: the same layer gives the same
/// estimate whether it is read from a file or a stream.
struct Estimate {
    encoder: GzEncoder<ByteCount>,
    pending: Vec<u8>,
}

impl Estimate {
    fn new() -> Estimate {
        Estimate {
            encoder: GzEncoder::new(ByteCount(0), flate2::Compression::default()),
            pending: Vec::with_capacity(ESTIMATE_CHUNK),
        }
    }

    fn feed(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let take = (ESTIMATE_CHUNK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() == ESTIMATE_CHUNK {
                self.encoder.write_all(&self.pending)?;
                self.pending.clear();
            }
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<u64> {
        self.encoder.write_all(&self.pending)?;
        Ok(self.encoder.finish()?.0)
    }
}

/// Passes reads through, hashing them (unless the blob's own hash is the
/// same) and feeding the gzip estimate.
struct Tee<R> {
    inner: R,
    hasher: Option<Sha256>,
    gzip: Option<Estimate>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        if let Some(gzip) = &mut self.gzip {
            gzip.feed(&buf[..n])?;
        }
        Ok(n)
    }
}

/// Counts and hashes the bytes read through it.
struct Counting<R> {
    inner: R,
    count: u64,
    hasher: Sha256,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that keeps only the number of bytes written.
struct ByteCount(u64);

impl Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(builder: &mut tar::Builder<Vec<u8>>, path: &str, len: usize) {
        let mut header = tar::Header::new_gnu();
        header.set_size(len as u64);
        header.set_mode(0o644);
        header.set_entry_type(EntryType::Regular);
        builder
            .append_data(&mut header, path, vec![b'x'; len].as_slice())
            .unwrap();
    }

    fn special(builder: &mut tar::Builder<Vec<u8>>, path: &str, kind: EntryType, link: &str) {
        let mut header = tar::Header::new_gnu();
        header.set_size(0);
        header.set_mode(0o755);
        header.set_entry_type(kind);
        if link.is_empty() {
            builder.append_data(&mut header, path, io::empty()).unwrap();
        } else {
            builder.append_link(&mut header, path, link).unwrap();
        }
    }

    /// A PAX extended header for the next entry.
    fn pax(builder: &mut tar::Builder<Vec<u8>>, records: &[(&str, &str)]) {
        let mut data = String::new();
        for (key, value) in records {
            let body = format!(" {key}={value}\n");
            let mut len = body.len() + 1;
            while len != body.len() + len.to_string().len() {
                len = body.len() + len.to_string().len();
            }
            data.push_str(&format!("{len}{body}"));
        }
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_entry_type(EntryType::XHeader);
        builder
            .append_data(&mut header, "PaxHeaders/next", data.as_bytes())
            .unwrap();
    }

    fn tar(fill: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        fill(&mut builder);
        builder.into_inner().unwrap()
    }

    #[test]
    fn a_known_blob_is_passed_without_decompressing_and_must_match_its_name() {
        let tar = {
            let mut b = tar::Builder::new(Vec::new());
            let mut h = tar::Header::new_gnu();
            h.set_size(5);
            h.set_cksum();
            b.append_data(&mut h, "f", &b"hello"[..]).unwrap();
            b.into_inner().unwrap()
        };
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).unwrap();
        let blob = gz.finish().unwrap();
        let digest = sha256_of(&blob);
        let known = KnownLayer {
            diff_id: sha256_of(&tar),
            size: 5,
        };
        let stats = pass_known(blob.as_slice(), &digest, &known).unwrap();
        assert_eq!(stats.size, 5);
        assert_eq!(stats.diff_id, known.diff_id);
        assert_eq!(stats.blob_size, blob.len() as u64);
        assert_eq!(stats.compression, Compression::Gzip);
        assert_eq!(stats.listing, None);
        // The same facts as reading it.
        let read = layer_stats(blob.as_slice(), false, false).unwrap();
        assert_eq!(
            (read.size, read.diff_id, read.blob_digest),
            (stats.size, stats.diff_id, stats.blob_digest)
        );
        let err = pass_known(tar.as_slice(), &digest, &known).unwrap_err();
        assert!(err.reason.contains("not the"), "{err}");
    }

    #[test]
    fn regular_files_count_their_bytes() {
        let layer = tar(|b| {
            file(b, "a", 1000);
            file(b, "empty", 0);
            file(b, "dir/b", 123);
        });
        assert_eq!(layer_size(layer.as_slice()).unwrap(), 1123);
    }

    #[test]
    fn symlinks_count_their_target_length_even_past_100_bytes() {
        let long = "t/".repeat(80) + "end";
        let layer = tar(|b| {
            special(b, "s", EntryType::Symlink, "a");
            special(b, "long", EntryType::Symlink, &long);
        });
        assert_eq!(layer_size(layer.as_slice()).unwrap(), 1 + long.len() as u64);
    }

    #[test]
    fn hard_links_count_once() {
        let layer = tar(|b| {
            file(b, "a", 500);
            special(b, "h1", EntryType::Link, "a");
            special(b, "sub/h2", EntryType::Link, "a");
        });
        assert_eq!(layer_size(layer.as_slice()).unwrap(), 500);
    }

    #[test]
    fn directories_devices_and_fifos_count_zero() {
        let layer = tar(|b| {
            special(b, "d/", EntryType::Directory, "");
            special(b, "d/empty/", EntryType::Directory, "");
            special(b, "null", EntryType::Char, "");
            special(b, "disk", EntryType::Block, "");
            special(b, "pipe", EntryType::Fifo, "");
        });
        assert_eq!(layer_size(layer.as_slice()).unwrap(), 0);
    }

    #[test]
    fn whiteouts_and_opaque_markers_count_zero_even_with_bytes() {
        let layer = tar(|b| {
            file(b, ".wh.gone", 0);
            file(b, "d/.wh.big", 4096);
            file(b, "d/.wh..wh..opq", 0);
            special(b, "e/.wh.dir/", EntryType::Directory, "");
            special(b, ".wh.link", EntryType::Symlink, "somewhere");
            file(b, "kept.wh.not", 7);
        });
        assert_eq!(layer_size(layer.as_slice()).unwrap(), 7);
    }

    #[test]
    fn a_pax_sparse_file_counts_its_real_size() {
        // As GNU tar --sparse --format=posix writes it (format 1.0): the
        // real size and name ride in PAX records.
        let layer = tar(|b| {
            pax(
                b,
                &[
                    ("GNU.sparse.major", "1"),
                    ("GNU.sparse.minor", "0"),
                    ("GNU.sparse.name", "holes"),
                    ("GNU.sparse.realsize", "100004"),
                ],
            );
            file(b, "GNUSparseFile.0/holes", 1536);
        });
        assert_eq!(layer_size(layer.as_slice()).unwrap(), 100_004);
    }

    #[test]
    fn an_empty_stream_is_an_empty_layer() {
        assert_eq!(layer_size(io::empty()).unwrap(), 0);
        let stats = layer_stats(io::empty(), true, false).unwrap();
        assert_eq!(stats.size, 0);
        assert_eq!(stats.blob_size, 0);
        assert_eq!(stats.diff_id, sha256_of(b""));
    }

    #[test]
    fn not_a_tar_is_an_error_not_a_panic() {
        let text = vec![b'z'; 2000];
        let err = layer_size(text.as_slice()).unwrap_err();
        assert!(err.to_string().starts_with("not a readable layer tar: "));
        assert!(err.reason.contains("cksum"), "{err}");
        assert!(err.reason.len() <= 163, "kept short: {err}");
        let layer = tar(|b| file(b, "a", 5000));
        let err = layer_size(&layer[..1200]).unwrap_err();
        assert!(err.to_string().starts_with("not a readable layer tar"));
        assert!(layer_stats(&layer[..1200], false, false).is_err());
    }

    #[test]
    fn compression_is_told_by_magic_and_the_stats_agree() {
        let layer = tar(|b| {
            file(b, "a", 70_000);
            special(b, "s", EntryType::Symlink, "abc");
        });
        let plain = layer_stats(layer.as_slice(), true, false).unwrap();
        assert_eq!(plain.size, 70_003);
        assert_eq!(plain.blob_size, layer.len() as u64);
        assert_eq!(plain.compression, Compression::None);
        assert_eq!(plain.diff_id, sha256_of(&layer));

        let mut gzip = GzEncoder::new(Vec::new(), flate2::Compression::default());
        for chunk in layer.chunks(ESTIMATE_CHUNK) {
            gzip.write_all(chunk).unwrap();
        }
        let gzip = gzip.finish().unwrap();
        assert_eq!(plain.gzip_estimate, Some(gzip.len() as u64));
        // However the layer arrives, the estimate is the same.
        assert_eq!(
            layer_stats(Trickle(layer.as_slice()), true, false).unwrap(),
            plain
        );
        let gz = layer_stats(gzip.as_slice(), true, false).unwrap();
        assert_eq!(gz.compression, Compression::Gzip);
        assert_eq!(gz.blob_size, gzip.len() as u64);
        assert_eq!(
            gz.gzip_estimate, None,
            "a compressed blob needs no estimate"
        );
        assert_eq!(
            (gz.size, gz.diff_id.as_str()),
            (70_003, plain.diff_id.as_str())
        );

        let zstd = zstd::encode_all(layer.as_slice(), 3).unwrap();
        let zs = layer_stats(zstd.as_slice(), false, false).unwrap();
        assert_eq!(zs.compression, Compression::Zstd);
        assert_eq!(zs.blob_size, zstd.len() as u64);
        assert_eq!(
            (zs.size, zs.diff_id.as_str()),
            (70_003, plain.diff_id.as_str())
        );

        assert_eq!(
            layer_stats(layer.as_slice(), false, false)
                .unwrap()
                .gzip_estimate,
            None
        );
    }

    /// A reader that hands out a few bytes at a time.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_corrupt_gzip_layer_is_an_error() {
        let layer = tar(|b| file(b, "a", 10_000));
        let mut gzip = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gzip.write_all(&layer).unwrap();
        let mut gzip = gzip.finish().unwrap();
        let middle = gzip.len() / 2;
        gzip[middle..].fill(0xff);
        assert!(layer_stats(gzip.as_slice(), false, false).is_err());
    }
}
