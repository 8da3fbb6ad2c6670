//! The few files of a layer whose contents are kept while it streams: the
//! package databases that say which package owns which file. Every other
//! file is counted and passed over; whole layers are never held.
//!
//! One definition of where each database lives, for the reader that keeps
//! them and for the analysis that parses them.

/// A package database file, by its path in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Database {
    /// `var/lib/dpkg/status`: a control paragraph per package.
    DpkgStatus,
    /// `var/lib/dpkg/info/NAME[:ARCH].list`: a package's file list.
    DpkgList,
    /// `var/lib/dpkg/diversions`: triples of path, new path, package.
    DpkgDiversions,
    /// `var/lib/dpkg/status.d/NAME` (a control paragraph) and
    /// `NAME.md5sums` (its files), as distroless writes them.
    DpkgStatusD,
    /// `var/lib/apt/extended_states`: which packages apt pulled in.
    AptExtendedStates,
    /// `lib/apk/db/installed` (`usr/lib/apk/db/installed` on Wolfi).
    Apk,
    /// rpm's sqlite database (`var/lib/rpm/`, `usr/lib/sysimage/rpm/`).
    RpmSqlite,
    /// rpm's older formats (Berkeley DB `Packages`, ndb `Packages.db`):
    /// never kept, only named.
    RpmUnsupported,
    /// `*.dist-info/RECORD`: a Python package's files.
    PythonRecord,
    /// `*.egg-info/installed-files.txt`: an older Python package's files.
    PythonEggFiles,
    /// `node_modules/[@SCOPE/]NAME/package.json`: an npm package.
    NpmPackage,
}

/// The most bytes kept of one database file: a larger one is counted but
/// not kept, and its database is not read.
pub const MAX_KEPT: u64 = 128 * 1024 * 1024;

/// The most bytes kept of an npm `package.json` (its name and version are
/// all that is read).
const MAX_PACKAGE_JSON: u64 = 1024 * 1024;

impl Database {
    /// The database `path` (normalised: no leading `/`) is, if any.
    pub fn of(path: &[u8]) -> Option<Database> {
        let (dir, base) = split(path);
        match (dir, base) {
            (b"var/lib/dpkg", b"status") => return Some(Database::DpkgStatus),
            (b"var/lib/dpkg", b"diversions") => return Some(Database::DpkgDiversions),
            (b"var/lib/dpkg/info", _) if base.ends_with(b".list") => {
                return Some(Database::DpkgList);
            }
            (b"var/lib/dpkg/status.d", _) if !base.is_empty() => {
                return Some(Database::DpkgStatusD);
            }
            (b"var/lib/apt", b"extended_states") => return Some(Database::AptExtendedStates),
            (b"lib/apk/db" | b"usr/lib/apk/db", b"installed") => return Some(Database::Apk),
            (b"var/lib/rpm" | b"usr/lib/sysimage/rpm", b"rpmdb.sqlite" | b"rpmdb.sqlite-wal") => {
                return Some(Database::RpmSqlite);
            }
            (b"var/lib/rpm" | b"usr/lib/sysimage/rpm", b"Packages" | b"Packages.db") => {
                return Some(Database::RpmUnsupported);
            }
            _ => {}
        }
        let (_, parent) = split(dir);
        if base == b"RECORD" && parent.ends_with(b".dist-info") {
            return Some(Database::PythonRecord);
        }
        if base == b"installed-files.txt" && parent.ends_with(b".egg-info") {
            return Some(Database::PythonEggFiles);
        }
        if base == b"package.json" && npm_package_dir(dir) {
            return Some(Database::NpmPackage);
        }
        None
    }

    /// The most bytes of this database's file worth keeping.
    pub fn limit(self) -> u64 {
        match self {
            Database::NpmPackage => MAX_PACKAGE_JSON,
            Database::RpmUnsupported => 0,
            _ => MAX_KEPT,
        }
    }
}

/// True for a file of a package manager's own database (dpkg's
/// `var/lib/dpkg/`, apt's `extended_states`, apk's `db/`, rpm's
/// directories): bytes no package owns, counted as the databases'.
pub fn is_database_file(path: &[u8]) -> bool {
    const DIRS: [&[u8]; 5] = [
        b"var/lib/dpkg/",
        b"lib/apk/db/",
        b"usr/lib/apk/db/",
        b"var/lib/rpm/",
        b"usr/lib/sysimage/rpm/",
    ];
    path == b"var/lib/apt/extended_states" || DIRS.iter().any(|d| path.starts_with(d))
}

/// True for `…node_modules/NAME` and `…node_modules/@SCOPE/NAME`.
pub fn npm_package_dir(dir: &[u8]) -> bool {
    let (parent, name) = split(dir);
    if name.is_empty() || name.starts_with(b".") || name.starts_with(b"@") {
        return false;
    }
    let (grand, parent_name) = split(parent);
    if parent_name == b"node_modules" {
        return true;
    }
    parent_name.starts_with(b"@") && split(grand).1 == b"node_modules"
}

/// `(directory, last element)` of a normalised path.
pub fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&path[..0], path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_database_is_known_by_its_path_and_nothing_else_is_kept() {
        let cases: &[(&str, Option<Database>)] = &[
            ("var/lib/dpkg/status", Some(Database::DpkgStatus)),
            ("var/lib/dpkg/status-old", None),
            (
                "var/lib/dpkg/info/libc6:amd64.list",
                Some(Database::DpkgList),
            ),
            ("var/lib/dpkg/info/libc6:amd64.md5sums", None),
            ("var/lib/dpkg/diversions", Some(Database::DpkgDiversions)),
            ("var/lib/dpkg/status.d/tzdata", Some(Database::DpkgStatusD)),
            (
                "var/lib/dpkg/status.d/tzdata.md5sums",
                Some(Database::DpkgStatusD),
            ),
            (
                "var/lib/apt/extended_states",
                Some(Database::AptExtendedStates),
            ),
            ("lib/apk/db/installed", Some(Database::Apk)),
            ("usr/lib/apk/db/installed", Some(Database::Apk)),
            ("var/lib/rpm/rpmdb.sqlite", Some(Database::RpmSqlite)),
            (
                "usr/lib/sysimage/rpm/rpmdb.sqlite",
                Some(Database::RpmSqlite),
            ),
            ("var/lib/rpm/Packages", Some(Database::RpmUnsupported)),
            ("var/lib/rpm/Packages.db", Some(Database::RpmUnsupported)),
            ("var/lib/rpm/Basenames", None),
            (
                "usr/lib/python3/dist-packages/six-1.16.0.dist-info/RECORD",
                Some(Database::PythonRecord),
            ),
            ("usr/lib/python3/RECORD", None),
            (
                "usr/lib/python3/dist-packages/foo-1.0.egg-info/installed-files.txt",
                Some(Database::PythonEggFiles),
            ),
            (
                "app/node_modules/left-pad/package.json",
                Some(Database::NpmPackage),
            ),
            (
                "app/node_modules/@types/node/package.json",
                Some(Database::NpmPackage),
            ),
            ("app/node_modules/@types/package.json", None),
            ("app/node_modules/.bin/package.json", None),
            ("app/node_modules/left-pad/lib/package.json", None),
            ("app/package.json", None),
            ("etc/passwd", None),
        ];
        for (path, want) in cases {
            assert_eq!(Database::of(path.as_bytes()), *want, "{path}");
        }
    }
}
