//! The package databases' files and the symlinks as the image shows them
//! after each layer: the overlay of [`crate::measure::layer::waste`], for
//! the few paths that say who owns what.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::{Diversion, Listed, apk, dpkg, npm, python, rpm, symlink_target};
use crate::analysis::display;
use crate::measure::layer::kept::{Database, split};
use crate::measure::layer::waste::{Entry, Kind};

/// What the databases of one state of the image say.
#[derive(Debug, Default)]
pub struct Db {
    pub packages: Vec<Listed>,
    pub diversions: Vec<Diversion>,
}

/// The databases' files (their contents, when they were kept) and the
/// symlinks the image shows so far.
#[derive(Debug, Default)]
pub struct View {
    files: BTreeMap<Box<[u8]>, Option<Box<[u8]>>>,
    pub links: BTreeMap<Box<[u8]>, Box<[u8]>>,
}

/// Removes `path` and everything under it (or only what is under it).
fn remove_tree<V>(map: &mut BTreeMap<Box<[u8]>, V>, path: &[u8], itself: bool) -> bool {
    let mut changed = itself && map.remove(path).is_some();
    let mut low = path.to_vec();
    if !low.is_empty() {
        low.push(b'/');
    }
    let mut high = path.to_vec();
    high.push(b'0');
    let under: Vec<Box<[u8]>> = if path.is_empty() {
        map.keys().cloned().collect()
    } else {
        map.range::<[u8], _>((Bound::Included(&low[..]), Bound::Excluded(&high[..])))
            .map(|(k, _)| k.clone())
            .collect()
    };
    for key in under {
        changed |= map.remove(&key).is_some();
    }
    changed
}

impl View {
    /// Lays the next layer over the view; true when it changed anything
    /// the owners are worked out from (a layer that deletes every database
    /// changes them too: nothing is owned any more).
    pub fn apply(&mut self, layer: &[Entry]) -> bool {
        let mut changed = false;
        // What a layer deletes is below it: deletions first.
        for e in layer {
            match e.kind {
                Kind::Whiteout => {
                    changed |= remove_tree(&mut self.files, &e.path, true);
                    changed |= remove_tree(&mut self.links, &e.path, true);
                }
                Kind::Opaque => {
                    changed |= remove_tree(&mut self.files, &e.path, false);
                    changed |= remove_tree(&mut self.links, &e.path, false);
                }
                _ => {}
            }
        }
        for e in layer {
            match &e.kind {
                Kind::Whiteout | Kind::Opaque => {}
                Kind::Directory => {
                    changed |= self.files.remove(&e.path).is_some();
                    changed |= self.links.remove(&e.path).is_some();
                }
                kind => {
                    // A file where a directory was replaces what was under it.
                    changed |= remove_tree(&mut self.files, &e.path, false);
                    changed |= remove_tree(&mut self.links, &e.path, false);
                    if let Some(target) = symlink_target(e) {
                        self.links.insert(e.path.clone(), target.into());
                        changed = true;
                    } else {
                        changed |= self.links.remove(&e.path).is_some();
                    }
                    if Database::of(&e.path).is_some() {
                        let content = match kind {
                            Kind::Kept { content } => Some(content.clone()),
                            _ => None,
                        };
                        self.files.insert(e.path.clone(), content);
                        changed = true;
                    } else {
                        changed |= self.files.remove(&e.path).is_some();
                    }
                }
            }
        }
        changed
    }

    /// The databases parsed, and notes on those that could not be.
    pub fn read(&self) -> (Db, Vec<String>) {
        let mut db = Db::default();
        let mut notes = Vec::new();
        let mut status = None;
        let mut lists: BTreeMap<String, &[u8]> = BTreeMap::new();
        let mut status_d: BTreeMap<String, &[u8]> = BTreeMap::new();
        let mut extended = None;
        let mut rpm_db: Option<(&[u8], &[u8])> = None;
        let mut rpm_wal: BTreeMap<&[u8], &[u8]> = BTreeMap::new();
        for (path, content) in &self.files {
            let Some(database) = Database::of(path) else {
                continue;
            };
            if database == Database::RpmUnsupported {
                notes.push(format!(
                    "rpm's database at {} is in a format image-budget does not read (Berkeley DB or ndb; only sqlite, as Fedora, RHEL 9 and UBI 9 keep it): its packages' files are counted as unowned",
                    display(path)
                ));
                continue;
            }
            let Some(content) = content else {
                notes.push(format!(
                    "{} is larger than image-budget reads ({} bytes): its packages are not named and their files are counted as unowned",
                    display(path),
                    database.limit()
                ));
                continue;
            };
            let (dir, base) = split(path);
            let stem = || String::from_utf8_lossy(base).into_owned();
            match database {
                Database::DpkgStatus => status = Some(&content[..]),
                Database::DpkgList => {
                    let name = stem();
                    let name = name.strip_suffix(".list").unwrap_or(&name).to_string();
                    lists.insert(name, content);
                }
                Database::DpkgDiversions => db.diversions = dpkg::diversions(content),
                Database::DpkgStatusD => {
                    status_d.insert(stem(), content);
                }
                Database::AptExtendedStates => extended = Some(&content[..]),
                Database::Apk => db.packages.extend(apk::parse(content)),
                Database::RpmSqlite => {
                    if base.ends_with(b"-wal") {
                        rpm_wal.insert(dir, content);
                    } else {
                        rpm_db = Some((path, content));
                    }
                }
                Database::RpmUnsupported => {}
                Database::PythonRecord => db.packages.push(python::record(path, content)),
                Database::PythonEggFiles => db.packages.push(python::egg_files(path, content)),
                Database::NpmPackage => db.packages.push(npm::package(path, content)),
            }
        }
        let auto = extended.map(dpkg::auto_installed);
        if let Some(status) = status {
            db.packages
                .extend(dpkg::from_status(status, &lists, auto.as_ref()));
        }
        if !status_d.is_empty() {
            db.packages.extend(dpkg::from_status_d(&status_d));
        }
        if let Some((path, content)) = rpm_db {
            let (dir, _) = split(path);
            match rpm::read(content, rpm_wal.get(dir).copied()) {
                Ok(packages) => db.packages.extend(packages.into_iter().map(Listed::from)),
                Err(why) => notes.push(format!(
                    "rpm's database at {} could not be read ({why}): its packages' files are counted as unowned",
                    display(path)
                )),
            }
        }
        (db, notes)
    }
}
