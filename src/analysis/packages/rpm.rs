//! Reading an rpm package database in rpm's sqlite format.
//!
//! Fedora, RHEL 9 and UBI 9 keep their package database in
//! `var/lib/rpm/rpmdb.sqlite` (or `usr/lib/sysimage/rpm/rpmdb.sqlite`). Its
//! `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)` table holds one rpm header
//! per installed package; [`read`] reads the table from bytes in memory (with
//! the small pure-Rust reader in [`super::sqlite`]) and decodes each header
//! into an [`RpmPackage`].
//!
//! A header blob, as stored in the database, has no 8-byte header magic:
//!
//! ```text
//! il: u32 BE   number of index entries
//! dl: u32 BE   length of the data store
//! il × { tag: u32, type: u32, offset: u32, count: u32 }   (all BE)
//! dl bytes of data store; every offset is relative to its start
//! ```
//!
//! Only the few tags this module needs are decoded; every offset and count is
//! checked against the data store, so a malformed blob is an error, never a
//! panic.

use super::sqlite::{self, Value};
use super::{Ecosystem, Listed, normalise_listed};

/// One package of an rpm database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmPackage {
    pub name: String,
    /// `[EPOCH:]VERSION-RELEASE` (epoch only when the header has one).
    pub version: String,
    pub arch: Option<String>,
    /// Every path the header lists (`DIRNAMES[DIRINDEXES[i]]` + BASENAMES[i]; or old-style OLDFILENAMES, tag 1027), as written (absolute, starting with `/`), directories included, in header order.
    pub files: Vec<String>,
}

impl From<RpmPackage> for Listed {
    fn from(p: RpmPackage) -> Listed {
        let files = p
            .files
            .iter()
            .filter_map(|f| normalise_listed(f.as_bytes(), b""))
            .collect();
        Listed::new(Ecosystem::Rpm, p.name, p.version, Some(files))
    }
}

/// Reads the `Packages` table of an rpm sqlite database held in memory:
/// `db` is the file's bytes, `wal` the bytes of its `-wal` file when the image has one.
/// An error is a short reason, one line (e.g. "not an SQLite database", "no Packages table", "header 12 is cut short").
///
/// Packages come in `hnum` order. The `gpg-pubkey` pseudo-packages (imported
/// signing keys, which own no files) are skipped. An empty `wal` counts as none.
///
/// The database is read by [`sqlite::table_rows`], in memory (no files, no
/// SQLite library): with a WAL, its committed frames are applied, as SQLite
/// would apply them to the image (no `-shm` is needed).
pub fn read(db: &[u8], wal: Option<&[u8]>) -> Result<Vec<RpmPackage>, String> {
    let rows = sqlite::table_rows(db, wal, "Packages")?;
    let mut out = Vec::new();
    // `hnum` is the table's INTEGER PRIMARY KEY: the rowid, stored as NULL
    // in column 0; the header is column 1.
    for (hnum, values) in rows {
        let Some(Value::Blob(blob)) = values.get(1) else {
            return Err(format!("header {hnum} is not a blob"));
        };
        let package = header(blob).map_err(|reason| format!("header {hnum} {reason}"))?;
        if package.name != "gpg-pubkey" {
            out.push(package);
        }
    }
    Ok(out)
}

/// Header tags this module reads.
mod tag {
    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const ARCH: u32 = 1022;
    pub const OLDFILENAMES: u32 = 1027;
    pub const DIRINDEXES: u32 = 1116;
    pub const BASENAMES: u32 = 1117;
    pub const DIRNAMES: u32 = 1118;
}

/// Header data types this module reads.
mod kind {
    pub const INT32: u32 = 4;
    pub const STRING: u32 = 6;
    pub const STRING_ARRAY: u32 = 8;
    pub const I18NSTRING: u32 = 9;
}

/// The region tags (HEADERIMAGE, HEADERSIGNATURES, HEADERIMMUTABLE), whose
/// entries describe the header's layout rather than the package.
const REGION_TAGS: std::ops::RangeInclusive<u32> = 61..=63;

/// Limits rpm itself puts on a header: at most 0xffff index entries and a
/// data store under 256 MiB.
const MAX_ENTRIES: usize = 0xffff;
const MAX_DATA: usize = 0x0fff_ffff;

/// One index entry of a header.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    kind: u32,
    offset: usize,
    count: usize,
}

/// Decodes one header blob (as stored in the `Packages` table, without the
/// header magic) into a package.
///
/// The error is a reason meant to follow "header N", e.g. "is cut short".
/// When a tag appears more than once, the last entry wins (rpm's "dribble"
/// entries, appended after the signed region, override it).
fn header(blob: &[u8]) -> Result<RpmPackage, String> {
    let (entries, data) = split(blob)?;
    let find = |wanted: u32| {
        entries
            .iter()
            .rev()
            .find(|entry| entry.tag == wanted)
            .copied()
    };
    let text = |wanted: u32, label: &str| -> Result<Option<String>, String> {
        find(wanted)
            .map(|entry| first_string(data, entry, label))
            .transpose()
    };
    let name = text(tag::NAME, "NAME")?.ok_or("has no NAME")?;
    let version = text(tag::VERSION, "VERSION")?.ok_or("has no VERSION")?;
    let release = text(tag::RELEASE, "RELEASE")?.ok_or("has no RELEASE")?;
    let arch = text(tag::ARCH, "ARCH")?;
    let epoch = match find(tag::EPOCH) {
        Some(entry) => int32s(data, entry, "EPOCH")?.first().copied(),
        None => None,
    };
    let version = match epoch {
        Some(epoch) => format!("{epoch}:{version}-{release}"),
        None => format!("{version}-{release}"),
    };
    let files = files(data, &find)?;
    Ok(RpmPackage {
        name,
        version,
        arch,
        files,
    })
}

/// Splits a blob into its index entries, region tags left out,
/// and its data store. Checks the counts against the blob's length and every
/// entry's offset against the data store.
fn split(blob: &[u8]) -> Result<(Vec<Entry>, &[u8]), String> {
    let il = be_u32(blob, 0).ok_or("is cut short")? as usize;
    let dl = be_u32(blob, 4).ok_or("is cut short")? as usize;
    if il > MAX_ENTRIES {
        return Err(format!("has too many index entries ({il})"));
    }
    if dl > MAX_DATA {
        return Err(format!("has too much data ({dl} bytes)"));
    }
    // Both are bounded above, so this cannot overflow.
    let data_start = 8 + il * 16;
    let data = blob
        .get(data_start..data_start + dl)
        .ok_or("is cut short")?;
    let mut entries = Vec::with_capacity(il);
    for i in 0..il {
        let at = 8 + i * 16;
        let field = |n: usize| be_u32(blob, at + 4 * n).ok_or("is cut short");
        let (tag, kind, offset, count) = (field(0)?, field(1)?, field(2)?, field(3)?);
        if REGION_TAGS.contains(&tag) {
            continue;
        }
        let offset = offset as usize;
        if offset >= dl {
            return Err(format!("has an entry (tag {tag}) past the end of its data"));
        }
        let count = count as usize;
        entries.push(Entry {
            tag,
            kind,
            offset,
            count,
        });
    }
    Ok((entries, data))
}

/// The big-endian u32 at `at` in `bytes`, if it is all there.
fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    let b: [u8; 4] = bytes.get(at..end)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

/// `count` NUL-terminated strings starting at `entry.offset` in `data`.
/// Strings that are not UTF-8 are converted lossily.
fn strings(data: &[u8], entry: Entry, label: &str) -> Result<Vec<String>, String> {
    // Each string takes at least one byte, which bounds `count` by the data
    // left and keeps the allocation below honest.
    let rest = data.get(entry.offset..).unwrap_or_default();
    if entry.count > rest.len() {
        return Err(format!("has a {label} entry past the end of its data"));
    }
    let mut out = Vec::with_capacity(entry.count);
    let mut rest = rest;
    for _ in 0..entry.count {
        let nul = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| format!("has an unterminated {label} string"))?;
        out.push(String::from_utf8_lossy(&rest[..nul]).into_owned());
        rest = rest.get(nul + 1..).unwrap_or_default();
    }
    Ok(out)
}

/// The first string of a STRING, STRING_ARRAY or I18NSTRING entry.
fn first_string(data: &[u8], entry: Entry, label: &str) -> Result<String, String> {
    match entry.kind {
        kind::STRING | kind::STRING_ARRAY | kind::I18NSTRING => {}
        other => return Err(format!("has {label} of type {other}, not a string")),
    }
    let one = Entry { count: 1, ..entry };
    strings(data, one, label)?
        .pop()
        .ok_or_else(|| format!("has an empty {label}"))
}

/// The strings of a STRING_ARRAY entry.
fn string_array(data: &[u8], entry: Entry, label: &str) -> Result<Vec<String>, String> {
    if entry.kind != kind::STRING_ARRAY {
        return Err(format!(
            "has {label} of type {}, not a string array",
            entry.kind
        ));
    }
    strings(data, entry, label)
}

/// The values of an INT32 entry.
fn int32s(data: &[u8], entry: Entry, label: &str) -> Result<Vec<u32>, String> {
    if entry.kind != kind::INT32 {
        return Err(format!("has {label} of type {}, not INT32", entry.kind));
    }
    let len = entry
        .count
        .checked_mul(4)
        .ok_or_else(|| format!("has a {label} entry past the end of its data"))?;
    let end = entry
        .offset
        .checked_add(len)
        .ok_or_else(|| format!("has a {label} entry past the end of its data"))?;
    let bytes = data
        .get(entry.offset..end)
        .ok_or_else(|| format!("has a {label} entry past the end of its data"))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// The file list of a header: `DIRNAMES[DIRINDEXES[i]]` + BASENAMES[i] for the
/// compressed form, else OLDFILENAMES, else none.
fn files(data: &[u8], find: &dyn Fn(u32) -> Option<Entry>) -> Result<Vec<String>, String> {
    let Some(basenames) = find(tag::BASENAMES) else {
        return match find(tag::OLDFILENAMES) {
            Some(entry) => string_array(data, entry, "OLDFILENAMES"),
            None => Ok(Vec::new()),
        };
    };
    let basenames = string_array(data, basenames, "BASENAMES")?;
    let dirnames = find(tag::DIRNAMES).ok_or("has BASENAMES but no DIRNAMES")?;
    let dirnames = string_array(data, dirnames, "DIRNAMES")?;
    let dirindexes = find(tag::DIRINDEXES).ok_or("has BASENAMES but no DIRINDEXES")?;
    let dirindexes = int32s(data, dirindexes, "DIRINDEXES")?;
    if dirindexes.len() != basenames.len() {
        return Err(format!(
            "has {} DIRINDEXES for {} BASENAMES",
            dirindexes.len(),
            basenames.len()
        ));
    }
    basenames
        .iter()
        .zip(&dirindexes)
        .map(|(base, &index)| {
            let dir = dirnames.get(index as usize).ok_or_else(|| {
                format!(
                    "has DIRINDEXES value {index} with only {} DIRNAMES",
                    dirnames.len()
                )
            })?;
            Ok(format!("{dir}{base}"))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rusqlite::Connection;

    /// Builds a header blob by hand: entries are appended in order, each
    /// value placed in the data store (INT32 values 4-aligned, as rpm does).
    #[derive(Default)]
    struct Builder {
        index: Vec<[u32; 4]>,
        data: Vec<u8>,
    }

    impl Builder {
        fn offset(&self) -> u32 {
            u32::try_from(self.data.len()).expect("small test data")
        }

        fn raw(mut self, tag: u32, kind: u32, offset: u32, count: u32) -> Self {
            self.index.push([tag, kind, offset, count]);
            self
        }

        fn string(self, tag: u32, value: &str) -> Self {
            let offset = self.offset();
            let mut this = self.raw(tag, kind::STRING, offset, 1);
            this.data.extend_from_slice(value.as_bytes());
            this.data.push(0);
            this
        }

        fn strings(self, tag: u32, values: &[&str]) -> Self {
            let offset = self.offset();
            let count = u32::try_from(values.len()).expect("few values");
            let mut this = self.raw(tag, kind::STRING_ARRAY, offset, count);
            for value in values {
                this.data.extend_from_slice(value.as_bytes());
                this.data.push(0);
            }
            this
        }

        fn int32s(mut self, tag: u32, values: &[u32]) -> Self {
            while !self.data.len().is_multiple_of(4) {
                self.data.push(0);
            }
            let offset = self.offset();
            let count = u32::try_from(values.len()).expect("few values");
            let mut this = self.raw(tag, kind::INT32, offset, count);
            for value in values {
                this.data.extend_from_slice(&value.to_be_bytes());
            }
            this
        }

        /// A package with a name, version and release.
        fn package(name: &str, version: &str, release: &str) -> Self {
            Builder::default()
                .string(tag::NAME, name)
                .string(tag::VERSION, version)
                .string(tag::RELEASE, release)
        }

        fn build(&self) -> Vec<u8> {
            let il = u32::try_from(self.index.len()).expect("few entries");
            let mut blob = il.to_be_bytes().to_vec();
            blob.extend_from_slice(&self.offset().to_be_bytes());
            for entry in &self.index {
                for field in entry {
                    blob.extend_from_slice(&field.to_be_bytes());
                }
            }
            blob.extend_from_slice(&self.data);
            blob
        }
    }

    /// A valid header with compressed file names.
    fn sample() -> Builder {
        Builder::package("sample", "1.0", "2")
            .string(tag::ARCH, "x86_64")
            .int32s(tag::DIRINDEXES, &[0, 1, 1])
            .strings(tag::BASENAMES, &["bin", "a", "b"])
            .strings(tag::DIRNAMES, &["/usr/", "/usr/bin/"])
    }

    /// The bytes of a fresh sqlite database made by `setup`.
    fn sqlite_bytes(setup: &str) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.sqlite");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(setup).expect("setup");
        conn.close().expect("close");
        std::fs::read(&path).expect("read back")
    }

    /// The bytes of a database whose Packages table holds `rows`.
    fn db_with(rows: &[(i64, Vec<u8>)]) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.sqlite");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL)")
            .expect("create");
        for (hnum, blob) in rows {
            conn.execute(
                "INSERT INTO Packages (hnum, blob) VALUES (?1, ?2)",
                rusqlite::params![hnum, blob],
            )
            .expect("insert");
        }
        conn.close().expect("close");
        std::fs::read(&path).expect("read back")
    }

    /// A database made by Debian's rpm tools, as `tests/fixtures/make-rpm-root`
    /// makes it (one noarch package, `budget-fixture`, installed in a root of
    /// its own; `scripts/ensure-tools` installs rpm).
    pub(crate) fn fixture() -> Vec<u8> {
        let root = tempfile::tempdir().expect("temp dir");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/make-rpm-root");
        let made = std::process::Command::new(script)
            .arg(root.path())
            .output()
            .expect("tests/fixtures/make-rpm-root runs (rpm and rpmbuild: `apt-get install rpm`)");
        assert!(
            made.status.success(),
            "make-rpm-root failed: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        std::fs::read(root.path().join("var/lib/rpm/rpmdb.sqlite")).expect("rpmdb.sqlite")
    }

    fn fixture_package() -> RpmPackage {
        RpmPackage {
            name: "budget-fixture".to_string(),
            version: "1:2.5-3".to_string(),
            arch: Some("noarch".to_string()),
            files: vec![
                "/opt/budget-fixture".to_string(),
                "/opt/budget-fixture/hello.txt".to_string(),
                "/opt/budget-fixture/sub".to_string(),
                "/opt/budget-fixture/sub/data.bin".to_string(),
            ],
        }
    }

    #[test]
    fn reads_a_database_made_by_rpm() {
        let made = fixture();
        assert_eq!(read(&made, None), Ok(vec![fixture_package()]));
        // An empty WAL is the same as none.
        assert_eq!(read(&made, Some(&[])), Ok(vec![fixture_package()]));
    }

    #[test]
    fn reads_rows_only_in_the_wal() {
        // Rpm's databases are in WAL mode: add a row through the WAL of a copy
        // of the fixture and grab both files before SQLite checkpoints them.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rpmdb.sqlite");
        let made = fixture();
        std::fs::write(&path, &made).expect("copy fixture");
        let conn = Connection::open(&path).expect("open");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .expect("journal mode");
        assert_eq!(mode, "wal");
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0")
            .expect("no checkpoints");
        conn.execute(
            "INSERT INTO Packages (blob) VALUES (?1)",
            [sample().build()],
        )
        .expect("insert");
        let db = std::fs::read(&path).expect("db");
        let wal = std::fs::read(dir.path().join("rpmdb.sqlite-wal")).expect("wal");
        drop(conn);
        assert!(!wal.is_empty());
        assert_eq!(db, made, "the new row is only in the WAL");

        let packages = read(&db, Some(&wal)).expect("read with WAL");
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["budget-fixture", "sample"]);
        assert_eq!(read(&db, None), Ok(vec![fixture_package()]));
    }

    #[test]
    fn decodes_a_hand_made_header() {
        let package = header(&sample().build()).expect("valid");
        assert_eq!(
            package,
            RpmPackage {
                name: "sample".to_string(),
                version: "1.0-2".to_string(),
                arch: Some("x86_64".to_string()),
                files: vec![
                    "/usr/bin".to_string(),
                    "/usr/bin/a".to_string(),
                    "/usr/bin/b".to_string(),
                ],
            }
        );
    }

    #[test]
    fn decodes_epoch_old_file_names_and_skips_regions() {
        let blob = Builder::default()
            .raw(63, 7, 0, 16) // a region entry whose offset is not checked
            .string(tag::NAME, "old")
            .string(tag::VERSION, "3")
            .string(tag::RELEASE, "4")
            .int32s(tag::EPOCH, &[7])
            .strings(tag::OLDFILENAMES, &["/etc", "/etc/old.conf"])
            .build();
        let package = header(&blob).expect("valid");
        assert_eq!(package.version, "7:3-4");
        assert_eq!(package.arch, None);
        assert_eq!(package.files, ["/etc", "/etc/old.conf"]);
    }

    #[test]
    fn skips_gpg_pubkeys() {
        let key = Builder::package("gpg-pubkey", "fd431d51", "4ae0493b").build();
        let db = db_with(&[(1, key), (2, sample().build())]);
        let packages = read(&db, None).expect("valid");
        assert_eq!(packages.len(), 1);
        assert_eq!(packages[0].name, "sample");
    }

    #[test]
    fn rejects_what_is_not_sqlite() {
        assert_eq!(read(b"", None), Err("not an SQLite database".to_string()));
        assert_eq!(
            read(b"hello world", None),
            Err("not an SQLite database".to_string())
        );
        // The right magic and nothing after it.
        let mut fake = b"SQLite format 3\0".to_vec();
        fake.extend_from_slice(&[0xff; 200]);
        assert!(read(&fake, None).is_err());
    }

    #[test]
    fn rejects_a_database_without_packages() {
        let db = sqlite_bytes("CREATE TABLE Other (x INTEGER)");
        assert_eq!(read(&db, None), Err("no Packages table".to_string()));
    }

    #[test]
    fn rejects_a_value_that_is_not_a_blob() {
        let db = sqlite_bytes(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB);
             INSERT INTO Packages VALUES (5, 'text');",
        );
        assert_eq!(read(&db, None), Err("header 5 is not a blob".to_string()));
    }

    #[test]
    fn names_the_header_that_is_malformed() {
        let good = sample().build();
        let cut = good[..good.len() - 1].to_vec();
        let db = db_with(&[(1, good), (12, cut)]);
        assert_eq!(read(&db, None), Err("header 12 is cut short".to_string()));
    }

    #[test]
    fn rejects_counts_past_the_end() {
        assert_eq!(header(&[]), Err("is cut short".to_string()));
        assert_eq!(header(&[0, 0, 0, 1]), Err("is cut short".to_string()));
        // il says one entry, but there is none.
        assert_eq!(
            header(&[0, 0, 0, 1, 0, 0, 0, 0]),
            Err("is cut short".to_string())
        );
        // dl past the end.
        let mut blob = sample().build();
        blob[7] = blob[7].wrapping_add(1);
        assert_eq!(header(&blob), Err("is cut short".to_string()));
        // Huge il and dl are refused before any arithmetic.
        assert!(header(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_err());
        assert!(header(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn rejects_entries_outside_the_data() {
        // An offset past the data store.
        let blob = sample().raw(1004, kind::STRING, 10_000, 1).build();
        assert_eq!(
            header(&blob),
            Err("has an entry (tag 1004) past the end of its data".to_string())
        );
        // An INT32 array running past the end.
        let blob = Builder::package("p", "1", "1")
            .int32s(tag::DIRINDEXES, &[0])
            .raw(tag::DIRINDEXES, kind::INT32, 0, 1000)
            .strings(tag::BASENAMES, &["x"])
            .strings(tag::DIRNAMES, &["/"])
            .build();
        assert_eq!(
            header(&blob),
            Err("has a DIRINDEXES entry past the end of its data".to_string())
        );
        // A string array with more strings than the data holds.
        let blob = Builder::package("p", "1", "1")
            .raw(tag::OLDFILENAMES, kind::STRING_ARRAY, 0, 3_000_000_000)
            .build();
        assert!(header(&blob).is_err());
        // A string without its NUL.
        let mut b = Builder::package("p", "1", "1");
        b.data.pop();
        assert_eq!(
            header(&b.build()),
            Err("has an unterminated RELEASE string".to_string())
        );
    }

    #[test]
    fn rejects_bad_file_lists() {
        let blob = Builder::package("p", "1", "1")
            .int32s(tag::DIRINDEXES, &[0, 2])
            .strings(tag::BASENAMES, &["a", "b"])
            .strings(tag::DIRNAMES, &["/", "/x/"])
            .build();
        assert_eq!(
            header(&blob),
            Err("has DIRINDEXES value 2 with only 2 DIRNAMES".to_string())
        );
        let blob = Builder::package("p", "1", "1")
            .int32s(tag::DIRINDEXES, &[0])
            .strings(tag::BASENAMES, &["a", "b"])
            .strings(tag::DIRNAMES, &["/"])
            .build();
        assert_eq!(
            header(&blob),
            Err("has 1 DIRINDEXES for 2 BASENAMES".to_string())
        );
        let blob = Builder::package("p", "1", "1")
            .strings(tag::BASENAMES, &["a"])
            .build();
        assert_eq!(
            header(&blob),
            Err("has BASENAMES but no DIRNAMES".to_string())
        );
        let blob = Builder::package("p", "1", "1")
            .string(tag::BASENAMES, "a")
            .build();
        assert_eq!(
            header(&blob),
            Err("has BASENAMES of type 6, not a string array".to_string())
        );
        let blob = Builder::default().string(tag::VERSION, "1").build();
        assert_eq!(header(&blob), Err("has no NAME".to_string()));
    }

    #[test]
    fn random_and_mutated_headers_never_panic() {
        let mut rng = super::super::sqlite::tests::Rng(0x9e37_79b9_7f4a_7c15);
        let valid = sample().int32s(tag::EPOCH, &[1]).build();
        for _ in 0..20_000 {
            // Mutate a valid header: a few random bytes set at random places,
            // sometimes cut short.
            let mut blob = valid.clone();
            for _ in 0..=rng.below(4) {
                let at = rng.below(blob.len());
                blob[at] = rng.next() as u8;
            }
            if rng.below(4) == 0 {
                blob.truncate(rng.below(blob.len()));
            }
            let _ = header(&blob);
            // Pure noise with small il and dl, so entries are looked at.
            let len = rng.below(256);
            let mut noise: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if noise.len() >= 8 {
                noise[..4].copy_from_slice(&(rng.below(12) as u32).to_be_bytes());
                noise[4..8].copy_from_slice(&(rng.below(64) as u32).to_be_bytes());
            }
            let _ = header(&noise);
        }
    }
}
