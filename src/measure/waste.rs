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

use std::collections::{HashMap, HashSet};

/// What an entry of a layer is, for the overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Directory,
    /// A regular file, a symlink, a device...: counted bytes, hides below.
    Other,
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

/// What the layers above the one being looked at do to it.
#[derive(Default)]
struct Above {
    /// Paths an upper layer has an entry at.
    replaced: HashSet<Box<[u8]>>,
    /// Paths whose whole subtree is gone below: whiteouts, non-directories.
    gone: HashSet<Box<[u8]>>,
    /// Directories whose contents below are hidden: opaque markers.
    opaque: HashSet<Box<[u8]>>,
}

impl Above {
    fn hides(&self, path: &[u8]) -> bool {
        self.replaced.contains(path)
            || self.gone.contains(path)
            || ancestors(path).any(|a| self.gone.contains(a) || self.opaque.contains(a))
    }

    fn add(&mut self, layer: &[Entry]) {
        for e in layer {
            match e.kind {
                Kind::Directory => {
                    self.replaced.insert(e.path.clone());
                }
                Kind::Other | Kind::HardLink { .. } | Kind::Whiteout => {
                    self.gone.insert(e.path.clone());
                }
                Kind::Opaque => {
                    self.opaque.insert(e.path.clone());
                }
            }
        }
    }
}

/// The wasted bytes of an image whose layers (oldest first) list so.
pub fn wasted(layers: &[Listing]) -> u64 {
    let mut above = Above::default();
    let mut total = 0u64;
    for layer in layers.iter().rev() {
        let mut links: HashMap<&[u8], Vec<&[u8]>> = HashMap::new();
        for e in layer {
            if let Kind::HardLink { target } = &e.kind {
                links.entry(target).or_default().push(&e.path);
            }
        }
        for e in layer.iter().filter(|e| e.bytes > 0) {
            if !above.hides(&e.path) {
                continue;
            }
            let shown_by_a_link = links
                .get(&*e.path)
                .is_some_and(|aliases| aliases.iter().any(|a| !above.hides(a)));
            if !shown_by_a_link {
                total = total.saturating_add(e.bytes);
            }
        }
        above.add(layer);
    }
    total
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
}
