//! What is inside an image, from every layer's entries: the files the image
//! shows and the layer that brought each, the bytes later layers hide (and
//! which layer hid them), the file-level difference from a baseline
//! ([`diff`]) and advice backed by those bytes ([`advice`]).
//!
//! Pure: built from a measurement's layers and listings (see
//! `measure::Needs::files`); nothing is read here. Only per-path metadata is
//! held, never file contents.

pub mod advice;
pub mod diff;
pub mod explained;
pub mod layer_diff;
pub mod packages;

use crate::measure::layer::waste::{self, Fate, How, Kind, Listing};
use crate::model::Layer;

/// A file the image shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Normalised: no leading `/`.
    pub path: Box<[u8]>,
    /// Bytes as the engine counts them (a hard link counts 0, unless the
    /// file it links to is hidden and its bytes are seen through it).
    pub bytes: u64,
    /// The layer that brought it (an index, oldest first).
    pub layer: usize,
}

/// Bytes a lower layer holds that a later layer hides: wasted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hidden {
    pub path: Box<[u8]>,
    pub bytes: u64,
    /// The layer that added it.
    pub layer: usize,
    /// The nearest later layer that hid it.
    pub by: usize,
    pub how: How,
}

/// One layer, with what it brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    pub layer: Layer,
    /// Its bytes the image still shows.
    pub visible: u64,
    /// Its bytes a later layer hides.
    pub wasted: u64,
}

/// What an image holds, layer by layer and file by file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    pub layers: Vec<LayerInfo>,
    /// Every file the image shows, sorted by path.
    pub files: Vec<File>,
    /// Every hidden entry with bytes, largest first.
    pub hidden: Vec<Hidden>,
    /// The bytes of every layer's entries: the engine's `Size`.
    pub size: u64,
    /// `visible + wasted == size`.
    pub visible: u64,
    pub wasted: u64,
    /// Every byte given to the package that owns it.
    pub packages: packages::Packages,
    /// Running sums of `files`' bytes: `sums[i]` is the bytes before `files[i]`.
    sums: Vec<u64>,
}

impl Analysis {
    /// The analysis of an image whose layers (oldest first) list so, with
    /// its packages. The listings are consumed: their paths move into the
    /// analysis.
    pub fn new(layers: Vec<Layer>, listings: Vec<Listing>) -> Analysis {
        Analysis::with(layers, listings, true)
    }

    /// The analysis, with its packages only when `packages` says so.
    pub fn with(layers: Vec<Layer>, listings: Vec<Listing>, packages: bool) -> Analysis {
        let fates = waste::fates(&listings);
        let mut infos: Vec<LayerInfo> = layers
            .into_iter()
            .map(|layer| LayerInfo {
                layer,
                visible: 0,
                wasted: 0,
            })
            .collect();
        // A listing without a layer (never from a source) still counts.
        while infos.len() < listings.len() {
            infos.push(LayerInfo {
                layer: Layer {
                    digest: String::new(),
                    blob: None,
                    size: None,
                    compressed: None,
                    instruction: None,
                },
                visible: 0,
                wasted: 0,
            });
        }
        let mut files = Vec::new();
        let mut hidden = Vec::new();
        let mut size = 0u64;
        let mut owners = packages::Tracker::default();
        for (index, (listing, fates)) in listings.into_iter().zip(fates).enumerate() {
            if packages {
                owners.layer(index, &listing, &fates);
            }
            // Bytes seen through a hard link go to the link's file.
            let mut through_links: Vec<(usize, u64)> = Vec::new();
            let mut made: Vec<Option<usize>> = vec![None; listing.len()];
            for (i, (entry, fate)) in listing.into_iter().zip(fates).enumerate() {
                size = size.saturating_add(entry.bytes);
                let is_file =
                    !matches!(entry.kind, Kind::Directory | Kind::Whiteout | Kind::Opaque);
                match fate {
                    Fate::Visible if is_file => {
                        made[i] = Some(files.len());
                        files.push(File {
                            path: entry.path,
                            bytes: entry.bytes,
                            layer: index,
                        });
                    }
                    Fate::Visible => {}
                    Fate::Hidden { by, how } => {
                        infos[index].wasted += entry.bytes;
                        if entry.bytes > 0 {
                            hidden.push(Hidden {
                                path: entry.path,
                                bytes: entry.bytes,
                                layer: index,
                                by,
                                how,
                            });
                        }
                    }
                    Fate::Linked { alias } => through_links.push((alias, entry.bytes)),
                }
            }
            for (alias, bytes) in through_links {
                if let Some(file) = made.get(alias).copied().flatten() {
                    files[file].bytes += bytes;
                }
            }
        }
        for file in &files {
            infos[file.layer].visible += file.bytes;
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        hidden.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
        let mut sums = Vec::with_capacity(files.len() + 1);
        let mut running = 0u64;
        for file in &files {
            sums.push(running);
            running += file.bytes;
        }
        sums.push(running);
        let wasted = hidden.iter().map(|h| h.bytes).sum();
        let packages = if packages {
            owners.finish(&files)
        } else {
            packages::Packages::default()
        };
        Analysis {
            layers: infos,
            files,
            hidden,
            size,
            visible: running,
            wasted,
            packages,
            sums,
        }
    }

    /// The `n` largest files, largest first.
    pub fn largest(&self, n: usize) -> Vec<&File> {
        let mut all: Vec<&File> = self.files.iter().collect();
        all.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
        all.truncate(n);
        all
    }

    /// The files at `root` or under it: a range of `files`. (A file at
    /// `root` has nothing under it; what is under it sorts after `root/`
    /// and before `root0`, `0` following `/`.)
    fn range(&self, root: &[u8]) -> std::ops::Range<usize> {
        if root.is_empty() {
            return 0..self.files.len();
        }
        let at = self.files.partition_point(|f| &*f.path < root);
        if self.files.get(at).is_some_and(|f| &*f.path == root) {
            return at..at + 1;
        }
        let mut low = root.to_vec();
        low.push(b'/');
        let start = self.files.partition_point(|f| *f.path < *low);
        *low.last_mut().expect("pushed") = b'0';
        let end = self.files.partition_point(|f| *f.path < *low);
        start..end.max(start)
    }

    /// Bytes and number of the files at `root` or under it.
    pub fn subtree(&self, root: &[u8]) -> (u64, usize) {
        let range = self.range(root);
        (self.sums[range.end] - self.sums[range.start], range.len())
    }

    /// The files at `root` or under it, in path order.
    pub fn under(&self, root: &[u8]) -> &[File] {
        &self.files[self.range(root)]
    }

    /// The instruction behind a layer, where the history tells it.
    pub fn instruction(&self, layer: usize) -> Option<&str> {
        self.layers
            .get(layer)
            .and_then(|l| l.layer.instruction.as_deref())
    }
}

/// True when `path` is strictly under the directory `dir`.
pub fn is_under(path: &[u8], dir: &[u8]) -> bool {
    dir.is_empty() && !path.is_empty()
        || path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
}

/// A path as people read it: absolute, invalid UTF-8 replaced.
pub fn display(path: &[u8]) -> String {
    format!("/{}", String::from_utf8_lossy(path))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::measure::layer::waste::{Entry, normalise};

    pub(crate) fn file(path: &str, bytes: u64) -> Entry {
        Entry {
            path: normalise(path.as_bytes()),
            kind: Kind::Other,
            bytes,
        }
    }

    pub(crate) fn whiteout(path: &str) -> Entry {
        Entry {
            path: normalise(path.as_bytes()),
            kind: Kind::Whiteout,
            bytes: 0,
        }
    }

    pub(crate) fn dir(path: &str) -> Entry {
        Entry {
            path: normalise(path.as_bytes()),
            kind: Kind::Directory,
            bytes: 0,
        }
    }

    pub(crate) fn layer(instruction: &str) -> Layer {
        Layer {
            digest: format!("sha256:{instruction}"),
            blob: None,
            size: None,
            compressed: None,
            instruction: Some(instruction.to_string()),
        }
    }

    pub(crate) fn analyse(layers: Vec<(&str, Listing)>) -> Analysis {
        let (layers, listings) = layers
            .into_iter()
            .map(|(instruction, listing)| (layer(instruction), listing))
            .unzip();
        Analysis::new(layers, listings)
    }

    #[test]
    fn visible_plus_wasted_is_the_size_and_each_file_names_its_layer() {
        let link = Entry {
            path: normalise(b"bin/alias"),
            kind: Kind::HardLink {
                target: normalise(b"bin/tool"),
            },
            bytes: 0,
        };
        let a = analyse(vec![
            (
                "ADD rootfs",
                vec![dir("bin"), file("bin/tool", 40), link, file("etc/conf", 3)],
            ),
            ("COPY big /tmp/big", vec![dir("tmp"), file("tmp/big", 1000)]),
            (
                "RUN rm /tmp/big /bin/tool",
                vec![whiteout("tmp/big"), whiteout("bin/tool")],
            ),
            ("COPY conf /etc/conf", vec![file("etc/conf", 5)]),
        ]);
        assert_eq!(a.size, 1048);
        assert_eq!(a.wasted, 1003);
        assert_eq!(a.visible, 45);
        assert_eq!(a.visible + a.wasted, a.size);
        let files: Vec<(String, u64, usize)> = a
            .files
            .iter()
            .map(|f| (display(&f.path), f.bytes, f.layer))
            .collect();
        assert_eq!(
            files,
            [
                ("/bin/alias".to_string(), 40, 0),
                ("/etc/conf".to_string(), 5, 3)
            ]
        );
        assert_eq!(a.hidden[0].path, normalise(b"tmp/big"));
        assert_eq!((a.hidden[0].layer, a.hidden[0].by), (1, 2));
        assert_eq!(a.hidden[0].how, How::Deleted);
        assert_eq!(a.hidden[1].path, normalise(b"etc/conf"));
        assert_eq!(a.hidden[1].how, How::Replaced);
        assert_eq!(a.layers[1].wasted, 1000);
        assert_eq!(a.layers[0].visible, 40);
        assert_eq!(a.subtree(b"bin"), (40, 1));
        assert_eq!(a.subtree(b""), (45, 2));
        assert_eq!(a.subtree(b"bi"), (0, 0));
        assert_eq!(a.instruction(2), Some("RUN rm /tmp/big /bin/tool"));
    }

    #[test]
    fn subtrees_do_not_take_in_siblings_that_share_a_prefix() {
        let a = analyse(vec![(
            "ADD",
            vec![
                file("usr/lib/a", 1),
                file("usr/lib-extra/b", 2),
                file("usr/lib/z/c", 4),
                file("usr/lib.so", 8),
            ],
        )]);
        assert_eq!(a.subtree(b"usr/lib"), (5, 2));
        assert_eq!(a.subtree(b"usr"), (15, 4));
        assert_eq!(a.largest(2)[0].bytes, 8);
        assert_eq!(a.largest(2).len(), 2);
    }
}
