//! Wasted bytes: what lower layers hold that later layers overwrite or
//! delete, so that the bytes left visible plus the wasted bytes are the
//! image's `size` exactly. Each copy is counted once: the surviving copy of
//! a file is visible, never wasted (dive counts every copy).
//!
//! Pure: over the per-path listings of the layers, oldest first, as the
//! OCI image spec defines their changes:
//! - an entry at a path replaces what lower layers had there; a
//!   non-directory also hides everything lower under that path (a file
//!   replacing a directory); a directory over a directory merges;
//! - a whiteout (`.wh.NAME`) deletes NAME and everything under it below;
//! - an opaque marker (`DIR/.wh..wh..opq`) hides everything below under DIR;
//! - a hard link counts nothing itself; a hidden file whose bytes a link
//!   in its own layer still shows is not wasted.

use std::collections::HashMap;

/// What an entry of a layer is, for the overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Directory,
    /// A regular file, a device...: counted bytes, hides below.
    Other,
    /// A symbolic link to `target` (as written: relative to its directory,
    /// or absolute): counts and hides as a file does.
    Symlink {
        target: Box<[u8]>,
    },
    /// A regular file whose contents were kept because a package database
    /// is read from it (see [`super::kept`]): counts and hides as a file.
    Kept {
        content: Box<[u8]>,
    },
    /// A hard link to `target`, a path of the same layer.
    HardLink {
        target: Box<[u8]>,
    },
    /// Deletes this path (and what is under it) in lower layers.
    Whiteout,
    /// Hides what lower layers have under this directory.
    Opaque,
}

/// One entry of a layer, its path normalised (no `./`, no leading or
/// trailing `/`; the root is the empty path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: Box<[u8]>,
    pub kind: Kind,
    /// What the entry adds to the layer's size, as the engine counts it.
    pub bytes: u64,
}

/// A layer's entries, in the tar's order.
pub type Listing = Vec<Entry>;

/// `path` without `./` and surrounding `/`.
pub fn normalise(path: &[u8]) -> Box<[u8]> {
    let mut p = path;
    loop {
        if let Some(rest) = p.strip_prefix(b"./") {
            p = rest;
        } else if let Some(rest) = p.strip_prefix(b"/") {
            p = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., b'/'] = p {
        p = rest;
    }
    if p == b"." {
        p = b"";
    }
    p.into()
}

/// The proper ancestors of a path, nearest first, the root (empty) last.
fn ancestors(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    let cuts: Vec<usize> = path
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'/')
        .map(|(i, _)| i)
        .collect();
    let root = (!path.is_empty()).then_some(&path[..0]);
    cuts.into_iter().rev().map(move |i| &path[..i]).chain(root)
}

/// How an upper layer hides an entry of a lower one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// A whiteout or an opaque directory: deleted.
    Deleted,
    /// An entry at the path, or a non-directory at an ancestor: replaced.
    Replaced,
}

/// What became of one entry of a layer in the image as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Seen in the image's filesystem.
    Visible,
    /// Hidden by layer `by` (an index into the layers, oldest first), the
    /// nearest layer above that hides it.
    Hidden { by: usize, how: How },
    /// Hidden at its own path, but its bytes are still seen through the hard
    /// link at `alias` (an index into its own layer).
    Linked { alias: usize },
}

/// What the layers above the one being looked at do to it: for each path,
/// the nearest layer that does it.
#[derive(Default)]
struct Above {
    /// Paths an upper layer has a directory at.
    replaced: HashMap<Box<[u8]>, usize>,
    /// Paths whose whole subtree is gone below: whiteouts, non-directories.
    gone: HashMap<Box<[u8]>, (usize, How)>,
    /// Directories whose contents below are hidden: opaque markers.
    opaque: HashMap<Box<[u8]>, usize>,
}

impl Above {
    /// The nearest layer above that hides `path`, and how.
    fn hider(&self, path: &[u8]) -> Option<(usize, How)> {
        let mut nearest: Option<(usize, How)> = None;
        let mut offer = |found: Option<(usize, How)>| {
            if let Some(found) = found
                && nearest.is_none_or(|n| found.0 < n.0)
            {
                nearest = Some(found);
            }
        };
        offer(self.replaced.get(path).map(|&l| (l, How::Replaced)));
        offer(self.gone.get(path).copied());
        for a in ancestors(path) {
            offer(self.gone.get(a).map(|&(l, how)| match how {
                How::Deleted => (l, How::Deleted),
                // A file where a directory was replaces what was under it.
                How::Replaced => (l, How::Replaced),
            }));
            offer(self.opaque.get(a).map(|&l| (l, How::Deleted)));
        }
        nearest
    }

    /// Adds layer `index`, the lowest so far: it is nearer than what is in.
    fn add(&mut self, index: usize, layer: &[Entry]) {
        for e in layer {
            match e.kind {
                Kind::Directory => {
                    self.replaced.insert(e.path.clone(), index);
                }
                Kind::Other | Kind::Symlink { .. } | Kind::Kept { .. } | Kind::HardLink { .. } => {
                    self.gone.insert(e.path.clone(), (index, How::Replaced));
                }
                Kind::Whiteout => {
                    self.gone.insert(e.path.clone(), (index, How::Deleted));
                }
                Kind::Opaque => {
                    self.opaque.insert(e.path.clone(), index);
                }
            }
        }
    }
}

/// The fate of every entry of every layer (oldest first), in the listings'
/// shape. Whiteouts and opaque markers are `Visible`: they are not files of
/// the image, and callers skip them by kind.
pub fn fates(layers: &[Listing]) -> Vec<Vec<Fate>> {
    let mut above = Above::default();
    let mut all = vec![Vec::new(); layers.len()];
    for (index, layer) in layers.iter().enumerate().rev() {
        let mut links: HashMap<&[u8], Vec<usize>> = HashMap::new();
        for (i, e) in layer.iter().enumerate() {
            if let Kind::HardLink { target } = &e.kind {
                links.entry(target).or_default().push(i);
            }
        }
        all[index] = layer
            .iter()
            .map(|e| match above.hider(&e.path) {
                None => Fate::Visible,
                Some((by, how)) => links
                    .get(&*e.path)
                    .and_then(|aliases| {
                        aliases
                            .iter()
                            .find(|&&a| above.hider(&layer[a].path).is_none())
                    })
                    .map_or(Fate::Hidden { by, how }, |&alias| Fate::Linked { alias }),
            })
            .collect();
        above.add(index, layer);
    }
    all
}

/// The wasted bytes of an image whose layers (oldest first) list so.
pub fn wasted(layers: &[Listing]) -> u64 {
    fates(layers)
        .iter()
        .zip(layers)
        .flat_map(|(fates, layer)| fates.iter().zip(layer))
        .filter(|(fate, _)| matches!(fate, Fate::Hidden { .. }))
        .fold(0u64, |sum, (_, e)| sum.saturating_add(e.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, bytes: u64) -> Entry {
        Entry {
            path: normalise(path.as_bytes()),
            kind: Kind::Other,
            bytes,
        }
    }

    fn of(path: &str, kind: Kind) -> Entry {
        Entry {
            path: normalise(path.as_bytes()),
            kind,
            bytes: 0,
        }
    }

    fn dir(path: &str) -> Entry {
        of(path, Kind::Directory)
    }

    #[test]
    fn paths_are_normalised() {
        assert_eq!(&*normalise(b"./a/b/"), b"a/b");
        assert_eq!(&*normalise(b"/etc"), b"etc");
        assert_eq!(&*normalise(b"./"), b"");
        assert_eq!(&*normalise(b"."), b"");
        let a: Vec<&[u8]> = ancestors(b"a/b/c").collect();
        assert_eq!(a, [b"a/b".as_slice(), b"a", b""]);
        assert_eq!(ancestors(b"").count(), 0);
    }

    #[test]
    fn an_overwritten_file_wastes_its_lower_copy_once() {
        let layers = vec![
            vec![dir("app"), file("app/bin", 100), file("app/keep", 7)],
            vec![file("app/bin", 60)],
            vec![file("app/bin", 30)],
        ];
        // 100 and 60 are hidden; the top 30 and keep's 7 are visible.
        assert_eq!(wasted(&layers), 160);
    }

    #[test]
    fn deleted_files_and_directories_are_wasted_and_a_recreated_one_is_visible() {
        let layers = vec![
            vec![
                dir("tmp"),
                file("tmp/a", 10),
                dir("tmp/sub"),
                file("tmp/sub/b", 20),
            ],
            vec![of("tmp/sub", Kind::Whiteout), of("tmp/a", Kind::Whiteout)],
            vec![file("tmp/a", 5)],
        ];
        assert_eq!(wasted(&layers), 30);
    }

    #[test]
    fn an_opaque_directory_hides_what_was_under_it_not_itself_or_its_own() {
        let layers = vec![
            vec![
                dir("etc"),
                file("etc/x", 11),
                file("etc/y", 12),
                file("other", 3),
            ],
            vec![dir("etc"), of("etc", Kind::Opaque), file("etc/z", 4)],
        ];
        assert_eq!(wasted(&layers), 23);
        // Opaque at the root hides every lower entry.
        let layers = vec![
            vec![file("a", 1), file("b/c", 2)],
            vec![of("", Kind::Opaque), file("d", 4)],
        ];
        assert_eq!(wasted(&layers), 3);
    }

    #[test]
    fn a_file_replacing_a_directory_and_back() {
        let layers = vec![
            vec![dir("x"), file("x/inner", 50)],
            vec![file("x", 9)],
            vec![dir("x"), file("x/new", 1)],
        ];
        // inner (under x, which became a file) and the file x are gone.
        assert_eq!(wasted(&layers), 59);
    }

    #[test]
    fn a_hidden_file_still_shown_by_its_hard_link_is_not_wasted() {
        let link = |path: &str, target: &str| Entry {
            path: normalise(path.as_bytes()),
            kind: Kind::HardLink {
                target: normalise(target.as_bytes()),
            },
            bytes: 0,
        };
        let layers = vec![
            vec![
                file("bin/tool", 40),
                link("bin/alias", "bin/tool"),
                file("lib/so", 8),
            ],
            vec![of("bin/tool", Kind::Whiteout), of("lib/so", Kind::Whiteout)],
        ];
        assert_eq!(wasted(&layers), 8, "alias still shows tool's 40 bytes");
        let layers = vec![layers[0].clone(), vec![of("bin", Kind::Whiteout)]];
        assert_eq!(wasted(&layers), 40, "both names gone");
    }

    #[test]
    fn nothing_is_wasted_in_a_single_layer_or_when_layers_only_add() {
        assert_eq!(wasted(&[vec![file("a", 5)]]), 0);
        assert_eq!(
            wasted(&[
                vec![dir("d"), file("d/a", 5)],
                vec![dir("d"), file("d/b", 6)]
            ]),
            0
        );
        assert_eq!(wasted(&[]), 0);
    }

    #[test]
    fn fates_name_the_nearest_layer_that_hides_and_how() {
        let layers = vec![
            vec![dir("tmp"), file("tmp/big", 100), file("app", 5)],
            vec![file("app", 6)],
            vec![of("tmp/big", Kind::Whiteout)],
            vec![of("tmp", Kind::Whiteout)],
        ];
        let f = fates(&layers);
        assert_eq!(
            f[0],
            [
                Fate::Hidden {
                    by: 3,
                    how: How::Deleted
                },
                Fate::Hidden {
                    by: 2,
                    how: How::Deleted
                },
                Fate::Hidden {
                    by: 1,
                    how: How::Replaced
                },
            ]
        );
        assert_eq!(f[1], [Fate::Visible]);
        assert_eq!(
            f[2],
            [Fate::Hidden {
                by: 3,
                how: How::Deleted
            }]
        );
    }
}
