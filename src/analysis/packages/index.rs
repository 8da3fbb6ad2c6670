//! Who owns a path, by one state of the databases: every listed path found
//! where the image has it (diversions applied, directory symlinks
//! followed), and npm's package directories.

use std::collections::{HashMap, HashSet};

use super::view::{Db, View};
use super::{Ecosystem, Key, Owner, Registry, State, normalise_listed};
use crate::measure::layer::kept::{is_database_file, split};

/// The most symlinks followed for one path (as Linux's `MAXSYMLINKS`).
const MAX_HOPS: usize = 40;

#[derive(Debug, Default)]
pub struct Index {
    files: HashMap<Box<[u8]>, Owner>,
    /// npm packages' directories.
    dirs: HashMap<Box<[u8]>, Owner>,
    state: State,
    /// Packages whose databases name no files.
    unknown: Vec<(Owner, String)>,
}

impl Index {
    pub fn new(db: &Db, view: &View, registry: &mut Registry) -> Index {
        let mut index = Index::default();
        // A path under which a list names other paths is a directory.
        let mut listed_dirs: HashSet<&[u8]> = HashSet::new();
        for p in &db.packages {
            for path in p.files.iter().flatten() {
                let mut at = &path[..];
                while let Some(i) = at.iter().rposition(|&b| b == b'/') {
                    at = &at[..i];
                    if !listed_dirs.insert(at) {
                        break;
                    }
                }
            }
        }
        let diverted: HashMap<&[u8], (&[u8], &str)> = db
            .diversions
            .iter()
            .map(|d| (&d.from[..], (&d.to[..], d.by.as_str())))
            .collect();
        let mut resolver = Resolver {
            links: &view.links,
            dirs: HashMap::new(),
        };
        // The system's package managers first: a Python or npm package a
        // distribution package installed is the distribution's.
        let mut order: Vec<&super::Listed> = db.packages.iter().collect();
        order.sort_by(|a, b| (a.ecosystem, &a.name).cmp(&(b.ecosystem, &b.name)));
        for p in order {
            let id = registry.id(Key::of(p));
            index.state.insert(id, p.version.clone());
            if !p.knows_files() {
                index.unknown.push((id, p.name.clone()));
            }
            for path in p.files.iter().flatten() {
                if listed_dirs.contains(&path[..]) {
                    continue;
                }
                let path = match diverted.get(&path[..]) {
                    Some((to, by)) if p.ecosystem == Ecosystem::Dpkg && *by != p.name => *to,
                    _ => &path[..],
                };
                let found = resolver.file(path);
                index.files.entry(found).or_insert(id);
            }
            if let Some(dir) = &p.dir {
                let found = resolver.dir(dir, 0);
                index.dirs.entry(found).or_insert(id);
            }
        }
        index
    }

    /// Whose bytes the file at `path` (as the image shows it) are.
    pub fn owner(&self, path: &[u8]) -> Owner {
        if is_database_file(path) {
            return Owner::DATABASES;
        }
        if let Some(id) = self.files.get(path) {
            return *id;
        }
        if !self.dirs.is_empty() {
            let mut at = path;
            while let Some(i) = at.iter().rposition(|&b| b == b'/') {
                at = &at[..i];
                if let Some(id) = self.dirs.get(at) {
                    return *id;
                }
                // Past a `node_modules`: a nested package, or no one's.
                if split(at).1 == b"node_modules" {
                    break;
                }
            }
        }
        Owner::UNOWNED
    }

    /// The packages installed in this state, with their versions.
    pub fn state(&self) -> State {
        self.state.clone()
    }

    /// True unless the databases name the package but not its files.
    pub fn knows_files(&self, id: Owner) -> bool {
        !self.unknown.iter().any(|(u, _)| *u == id)
    }

    /// A note naming the packages whose bytes are unknown, if any.
    pub fn unknown_files_note(&self) -> Option<String> {
        if self.unknown.is_empty() {
            return None;
        }
        let mut names: Vec<&str> = self.unknown.iter().map(|(_, n)| n.as_str()).collect();
        names.sort_unstable();
        let shown = names
            .iter()
            .take(10)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        let more = names.len().saturating_sub(10);
        Some(format!(
            "{} package{} named without a file list ({shown}{}): {} bytes are unknown and counted as unowned",
            names.len(),
            if names.len() == 1 { " is" } else { "s are" },
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            },
            if names.len() == 1 { "its" } else { "their" },
        ))
    }
}

/// Finds listed paths where the image has them, following directory
/// symlinks as the kernel would; each directory resolved once.
struct Resolver<'a> {
    links: &'a std::collections::BTreeMap<Box<[u8]>, Box<[u8]>>,
    dirs: HashMap<Box<[u8]>, Box<[u8]>>,
}

impl Resolver<'_> {
    /// A file's path: its directory resolved, its own name kept (a symlink
    /// a package installs is its file).
    fn file(&mut self, path: &[u8]) -> Box<[u8]> {
        let (dir, base) = split(path);
        if dir.is_empty() || self.links.is_empty() {
            return path.into();
        }
        let dir = self.dir(dir, 0);
        let mut out = dir.to_vec();
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(base);
        out.into()
    }

    /// A directory's path with every symlink in it followed.
    fn dir(&mut self, dir: &[u8], depth: usize) -> Box<[u8]> {
        if self.links.is_empty() {
            return dir.into();
        }
        if let Some(found) = self.dirs.get(dir) {
            return found.clone();
        }
        let (parent, base) = split(dir);
        let mut at = if parent.is_empty() {
            Vec::new()
        } else {
            self.dir(parent, depth).into_vec()
        };
        if !at.is_empty() {
            at.push(b'/');
        }
        at.extend_from_slice(base);
        let mut hops = depth;
        while let Some(target) = self.links.get(&at[..]) {
            hops += 1;
            if hops > MAX_HOPS {
                break;
            }
            let (here, _) = split(&at);
            let Some(next) = normalise_listed(target, here) else {
                at.clear();
                break;
            };
            // The target may itself pass through symlinks.
            let (next_parent, next_base) = split(&next);
            let mut resolved = if next_parent.is_empty() {
                Vec::new()
            } else {
                self.dir(next_parent, hops).into_vec()
            };
            if !resolved.is_empty() {
                resolved.push(b'/');
            }
            resolved.extend_from_slice(next_base);
            at = resolved;
        }
        let found: Box<[u8]> = at.into();
        self.dirs.insert(dir.into(), found.clone());
        found
    }
}
