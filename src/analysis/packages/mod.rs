//! Which package made an image big: every byte the image holds, given to
//! the package whose database says it owns the file, exactly.
//!
//! The databases are read from the layers themselves (dpkg, distroless's
//! `status.d`, apk, rpm's sqlite, Python's `RECORD`, npm's `node_modules`;
//! see [`crate::measure::layer::kept`]), as each layer leaves them: a file
//! the image shows belongs to the package the final databases name; a file
//! a later layer hides belongs to the package that brought it, by the
//! databases of its own layer. A listed path is found where the image has
//! it: through directory symlinks (Debian 12's merged `/usr`: the list says
//! `/bin/cat`, the file is `/usr/bin/cat`) and dpkg's diversions. A path
//! under which a list names other paths is a directory and no package's
//! file, even where the image has a symlink there (`/bin`, `/lib`).
//!
//! What no database claims is `(unowned)`, the databases' own files are
//! `(package databases)`: the buckets add up to the bytes the image shows
//! and to its wasted bytes, exactly.

pub mod advice;
pub mod apk;
pub mod diff;
pub mod dpkg;
mod graph;
mod index;
pub mod npm;
pub mod python;
pub mod rpm;
pub mod sqlite;
mod view;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use self::graph::Facts;
use self::index::Index;
use self::view::{Db, View};
use super::File;
use crate::measure::layer::waste::{Entry, Fate, Kind};

/// The package manager a package comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Dpkg,
    Apk,
    Rpm,
    Python,
    Npm,
}

impl Ecosystem {
    pub fn name(self) -> &'static str {
        match self {
            Ecosystem::Dpkg => "dpkg",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Python => "python",
            Ecosystem::Npm => "npm",
        }
    }
}

/// A package as its database lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
    /// The paths it owns, normalised; `None` when the database names the
    /// package but not its files (its bytes are then unknown).
    pub files: Option<Vec<Box<[u8]>>>,
    /// npm: the directory it owns (minus nested `node_modules`).
    pub dir: Option<Box<[u8]>>,
    /// apt: asked for (`true`) or pulled in; `None` where no one says.
    pub manual: Option<bool>,
    /// Depends and Pre-Depends: each a list of alternatives, by name.
    pub depends: Vec<Vec<String>>,
    pub recommends: Vec<Vec<String>>,
    /// Names it also answers to.
    pub provides: Vec<String>,
}

impl Listed {
    pub fn new(
        ecosystem: Ecosystem,
        name: String,
        version: String,
        files: Option<Vec<Box<[u8]>>>,
    ) -> Listed {
        Listed {
            ecosystem,
            name,
            version,
            files,
            dir: None,
            manual: None,
            depends: Vec::new(),
            recommends: Vec::new(),
            provides: Vec::new(),
        }
    }

    /// True when the database tells which files are its own.
    pub fn knows_files(&self) -> bool {
        self.files.is_some() || self.dir.is_some()
    }
}

/// A dpkg diversion: other packages' `from` is installed at `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diversion {
    pub from: Box<[u8]>,
    pub to: Box<[u8]>,
    /// The diverting package (`:` for a local diversion): its own `from`
    /// stays where it is.
    pub by: String,
}

/// A path as a database lists it, made like the image's paths: joined to
/// `base` when relative, `.` and `..` resolved, no leading or trailing `/`.
/// `None` for an empty line or the root.
pub fn normalise_listed(line: &[u8], base: &[u8]) -> Option<Box<[u8]>> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return None;
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    let start: &[u8] = if line.starts_with(b"/") { b"" } else { base };
    for part in start
        .split(|&b| b == b'/')
        .chain(line.split(|&b| b == b'/'))
    {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join(&b'/').into())
}

/// Whose bytes: a package (an index into [`Packages::rows`]' registry), or
/// one of the two buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner(u32);

impl Owner {
    pub const UNOWNED: Owner = Owner(0);
    pub const DATABASES: Owner = Owner(1);
}

/// Which package a row is: a system package manager installs one version
/// of a name; Python environments and `node_modules` trees can hold several
/// versions of one name at once, each its own package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub ecosystem: Ecosystem,
    pub name: String,
    /// The version, for Python and npm; empty for the others.
    pub variant: String,
}

impl Key {
    pub fn of(p: &Listed) -> Key {
        Key::new(p.ecosystem, &p.name, &p.version)
    }

    pub fn new(ecosystem: Ecosystem, name: &str, version: &str) -> Key {
        let variant = match ecosystem {
            Ecosystem::Python | Ecosystem::Npm => version.to_string(),
            Ecosystem::Dpkg | Ecosystem::Apk | Ecosystem::Rpm => String::new(),
        };
        Key {
            ecosystem,
            name: name.to_string(),
            variant,
        }
    }
}

/// The packages seen in any layer, each once.
#[derive(Debug, Default)]
struct Registry {
    keys: Vec<Key>,
    ids: HashMap<Key, Owner>,
}

impl Registry {
    fn id(&mut self, key: Key) -> Owner {
        if let Some(id) = self.ids.get(&key) {
            return *id;
        }
        let id = Owner(u32::try_from(self.keys.len() + 2).unwrap_or(u32::MAX));
        self.keys.push(key.clone());
        self.ids.insert(key, id);
        id
    }

    fn key(&self, owner: Owner) -> Option<&Key> {
        self.keys.get((owner.0 as usize).checked_sub(2)?)
    }
}

/// The packages installed after one layer, by id, with their versions.
type State = BTreeMap<Owner, String>;

/// Follows the layers as the analysis reads them, oldest first, and gives
/// each entry's bytes to its owner.
#[derive(Debug, Default)]
pub struct Tracker {
    view: View,
    /// The databases as the last layer that changed them left them.
    db: Db,
    index: Index,
    registry: Registry,
    states: Vec<State>,
    /// Bytes each layer's entries brought, per owner at that layer.
    brought: Vec<HashMap<Owner, u64>>,
    /// Bytes of lower layers each layer hid, per owner at their layer.
    hid: Vec<HashMap<Owner, u64>>,
    wasted: HashMap<Owner, u64>,
    notes: Vec<String>,
}

impl Tracker {
    /// Takes in layer `index` (the next one) with the fates of its entries.
    pub fn layer(&mut self, index: usize, listing: &[Entry], fates: &[Fate]) {
        if self.view.apply(listing) {
            let (db, notes) = self.view.read();
            for note in notes {
                if !self.notes.contains(&note) {
                    self.notes.push(note);
                }
            }
            self.index = Index::new(&db, &self.view, &mut self.registry);
            self.db = db;
        }
        self.states.push(self.index.state());
        let mut brought: HashMap<Owner, u64> = HashMap::new();
        for (entry, fate) in listing.iter().zip(fates) {
            if entry.bytes == 0 {
                continue;
            }
            let owner = self.index.owner(&entry.path);
            *brought.entry(owner).or_default() += entry.bytes;
            if let Fate::Hidden { by, .. } = fate {
                *self.wasted.entry(owner).or_default() += entry.bytes;
                if self.hid.len() <= *by {
                    self.hid.resize_with(by + 1, HashMap::new);
                }
                *self.hid[*by].entry(owner).or_default() += entry.bytes;
            }
        }
        if self.brought.len() <= index {
            self.brought.resize_with(index + 1, HashMap::new);
        }
        self.brought[index] = brought;
    }

    /// The packages of the image whose visible files are `files`.
    pub fn finish(mut self, files: &[File]) -> Packages {
        let mut visible: HashMap<Owner, (u64, usize)> = HashMap::new();
        for file in files {
            let owner = self.index.owner(&file.path);
            let v = visible.entry(owner).or_default();
            v.0 += file.bytes;
            v.1 += 1;
        }
        let graph = self.graph();
        let empty = State::new();
        let last = self.states.last().unwrap_or(&empty);
        let mut ids: Vec<Owner> = last.keys().copied().collect();
        ids.extend(visible.keys().chain(self.wasted.keys()).copied());
        ids.sort();
        ids.dedup();
        let mut rows: Vec<PackageRow> = ids
            .into_iter()
            .filter_map(|id| {
                let Key {
                    ecosystem, name, ..
                } = self.registry.key(id)?.clone();
                let version = last.get(&id).cloned();
                let (bytes, files) = visible.get(&id).copied().unwrap_or_default();
                let knows = self.index.knows_files(id);
                let layer = version.as_ref().map(|v| {
                    self.states
                        .iter()
                        .rposition(|s| s.get(&id) != Some(v))
                        .map_or(0, |i| i + 1)
                });
                let facts = graph.get(&id);
                let size = (knows || bytes > 0 || version.is_none()).then_some(bytes);
                Some(PackageRow {
                    ecosystem,
                    name,
                    version,
                    size,
                    wasted: self.wasted.get(&id).copied().unwrap_or(0),
                    files,
                    layer,
                    manual: facts.and_then(|f| f.manual),
                    pulled_in_by: facts.and_then(|f| f.pulled_in_by.clone()),
                    recommended_only: facts.is_some_and(|f| f.recommended_only),
                })
            })
            .collect();
        rows.sort_by(|a, b| {
            b.size
                .unwrap_or(0)
                .cmp(&a.size.unwrap_or(0))
                .then_with(|| b.wasted.cmp(&a.wasted))
                .then_with(|| a.name.cmp(&b.name))
        });
        let bucket = |owner: Owner| Bucket {
            size: visible.get(&owner).map_or(0, |v| v.0),
            wasted: self.wasted.get(&owner).copied().unwrap_or(0),
            files: visible.get(&owner).map_or(0, |v| v.1),
        };
        let layers = self.layer_changes();
        let databases: Vec<Ecosystem> = {
            let mut found: Vec<Ecosystem> = rows
                .iter()
                .filter(|r| r.version.is_some())
                .map(|r| r.ecosystem)
                .collect();
            found.sort();
            found.dedup();
            found
        };
        self.notes.extend(self.index.unknown_files_note());
        Packages {
            rows,
            unowned: bucket(Owner::UNOWNED),
            databases: bucket(Owner::DATABASES),
            layers,
            found: databases,
            notes: self.notes,
        }
    }

    /// Why each package of the final databases is there.
    fn graph(&mut self) -> HashMap<Owner, Facts> {
        let first: HashMap<Owner, usize> = self
            .states
            .iter()
            .enumerate()
            .rev()
            .flat_map(|(i, s)| s.keys().map(move |id| (*id, i)))
            .collect();
        let registry = &mut self.registry;
        let ids: Vec<Owner> = self
            .db
            .packages
            .iter()
            .map(|p| registry.id(Key::of(p)))
            .collect();
        let age = |p: &Listed| {
            let id = registry.ids.get(&Key::of(p));
            id.and_then(|id| first.get(id)).copied().unwrap_or(0)
        };
        let facts = graph::facts(&self.db.packages, age);
        ids.into_iter().zip(facts).collect()
    }

    /// What each layer did to the packages: added, removed, changed.
    fn layer_changes(&self) -> Vec<Vec<LayerChange>> {
        let empty = State::new();
        let none = HashMap::new();
        (0..self.states.len())
            .map(|i| {
                let before = if i == 0 { &empty } else { &self.states[i - 1] };
                let after = &self.states[i];
                let brought = self.brought.get(i).unwrap_or(&none);
                let hid = self.hid.get(i).unwrap_or(&none);
                let mut ids: Vec<Owner> = before.keys().chain(after.keys()).copied().collect();
                ids.sort();
                ids.dedup();
                let mut changes: Vec<LayerChange> = ids
                    .into_iter()
                    .filter(|id| before.get(id) != after.get(id))
                    .filter_map(|id| {
                        let Key {
                            ecosystem, name, ..
                        } = self.registry.key(id)?.clone();
                        Some(LayerChange {
                            ecosystem,
                            name,
                            change: verb(before.get(&id), after.get(&id)),
                            before: before.get(&id).cloned(),
                            after: after.get(&id).cloned(),
                            added: brought.get(&id).copied().unwrap_or(0),
                            hidden: hid.get(&id).copied().unwrap_or(0),
                        })
                    })
                    .collect();
                changes.sort_by(|a, b| {
                    (b.added + b.hidden)
                        .cmp(&(a.added + a.hidden))
                        .then_with(|| a.name.cmp(&b.name))
                });
                changes
            })
            .collect()
    }
}

/// One package of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageRow {
    pub ecosystem: Ecosystem,
    pub name: String,
    /// Its version in the final databases; null for a package a later layer
    /// removed, whose files lower layers still hold.
    pub version: Option<String>,
    /// The bytes of its files the image shows; null when its database
    /// names no files (their bytes are then `(unowned)`'s).
    pub size: Option<u64>,
    /// The bytes of its files that later layers hide.
    pub wasted: u64,
    /// How many of its files the image shows.
    pub files: usize,
    /// The layer that installed this version (an index, oldest first).
    pub layer: Option<usize>,
    /// apt: asked for, or pulled in.
    pub manual: Option<bool>,
    /// A package asked for that brought it in.
    pub pulled_in_by: Option<String>,
    /// Only a Recommends of the packages asked for brings it in.
    pub recommended_only: bool,
}

/// Bytes that are no package's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub size: u64,
    pub wasted: u64,
    pub files: usize,
}

/// A package a layer added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerChange {
    pub ecosystem: Ecosystem,
    pub name: String,
    /// `added`, `removed` or `changed` (another version).
    pub change: &'static str,
    /// Its version below the layer and after it (null: not installed).
    pub before: Option<String>,
    pub after: Option<String>,
    /// The bytes of its files the layer brought.
    pub added: u64,
    /// The bytes of its files in lower layers that the layer hid.
    pub hidden: u64,
}

/// What a layer did to a package whose version went from `before` to `after`.
fn verb(before: Option<&String>, after: Option<&String>) -> &'static str {
    match (before, after) {
        (None, _) => "added",
        (_, None) => "removed",
        _ => "changed",
    }
}

/// Every package of an image with its exact bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packages {
    /// Largest first.
    pub rows: Vec<PackageRow>,
    /// Files no database claims.
    pub unowned: Bucket,
    /// The databases' own files.
    pub databases: Bucket,
    /// Per layer (oldest first), the packages it added, removed or changed.
    pub layers: Vec<Vec<LayerChange>>,
    /// The package managers whose databases the image holds.
    pub found: Vec<Ecosystem>,
    /// Databases that could not be read, and packages named without files.
    pub notes: Vec<String>,
}

impl Packages {
    /// The installed package of this name (any ecosystem), if any.
    pub fn installed(&self) -> impl Iterator<Item = &PackageRow> {
        self.rows.iter().filter(|r| r.version.is_some())
    }
}

/// True for a symlink entry.
pub(crate) fn symlink_target(entry: &Entry) -> Option<&[u8]> {
    match &entry.kind {
        Kind::Symlink { target } => Some(target),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
