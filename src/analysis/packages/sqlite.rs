//! A small, read-only reader of the SQLite 3 file format: just enough to list
//! the rows of one rowid table (rpm's `Packages`), from bytes in memory.
//!
//! What it reads (<https://www.sqlite.org/fileformat2.html>):
//!
//! - the 100-byte database header (page size, reserved bytes, text encoding,
//!   database size);
//! - the WAL (`-wal` file), when there is one: the pages of its valid
//!   frames up to its last valid commit frame override the database file's;
//! - table b-trees (the schema table on page 1, then the table's own), with
//!   their overflow chains;
//! - records (the serial types of SQLite's record format).
//!
//! What it does not: index b-trees, `WITHOUT ROWID` tables, UTF-16
//! databases, free lists, pointer maps, the `-shm` file (a WAL is recovered
//! from its own frames, as SQLite does when no `-shm` is usable), rollback
//! journals (a hot `-journal` beside the image is not applied).
//!
//! Every offset, count and page number read from the bytes is checked, so a
//! malformed database is an error, never a panic; a page reached twice
//! while reading a table (a cycle in its b-tree or an overflow chain) is an
//! error too, which bounds the work by the number of pages.

use std::collections::{HashMap, HashSet};

/// One column value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    /// Text as stored (UTF-8 in the databases this module reads; not checked).
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

/// The rows of one table of an SQLite database held in memory (and its WAL,
/// when the image has one): each row's rowid and its column values.
///
/// `table` is matched exactly (case included) against the schema's table
/// names. Rows come in rowid order (the b-tree's order). A column declared
/// `INTEGER PRIMARY KEY` is stored as NULL: its value is the rowid. A row
/// written before an `ALTER TABLE ... ADD COLUMN` has fewer values than the
/// table has columns.
///
/// An empty `wal` counts as none. A WAL whose header is not valid (magic,
/// version, checksum) is ignored, as SQLite ignores it; so are its frames
/// after the last valid commit frame. A valid WAL is applied whatever the
/// database header says about the journal mode, as SQLite does.
///
/// An error is a short reason, one line: "not an SQLite database",
/// "no Packages table", "page 12 is past the end of the database (9 pages)".
pub fn table_rows(
    db: &[u8],
    wal: Option<&[u8]>,
    table: &str,
) -> Result<Vec<(i64, Vec<Value>)>, String> {
    let image = Image::open(db, wal)?;
    let schema = image.rows(1)?;
    let root = root_page(&schema, table)?;
    image.rows(root)
}

/// The first 16 bytes of every SQLite 3 database file.
const MAGIC: &[u8] = b"SQLite format 3\0";

/// Length of the database header at the start of page 1.
const HEADER_LEN: usize = 100;

/// B-tree page types (the first byte of a page's b-tree header).
const TABLE_INTERIOR: u8 = 0x05;
const TABLE_LEAF: u8 = 0x0d;

/// The largest payload read: SQLite's own hard limit on a value's length.
const MAX_PAYLOAD: usize = 0x7fff_ffff;

/// The WAL header's length, a frame header's length, its magic numbers
/// (the low bit says the checksums' byte order) and its format version.
const WAL_HEADER_LEN: usize = 32;
const FRAME_HEADER_LEN: usize = 24;
const WAL_MAGIC_LE: u32 = 0x377f_0682;
const WAL_MAGIC_BE: u32 = 0x377f_0683;
const WAL_VERSION: u32 = 3_007_000;

/// The root page of the table named `table`, from the schema table's rows
/// `(type, name, tbl_name, rootpage, sql)`.
fn root_page(schema: &[(i64, Vec<Value>)], table: &str) -> Result<u32, String> {
    for (_, values) in schema {
        let is = |column: usize, text: &[u8]| matches!(values.get(column), Some(Value::Text(t)) if t.as_slice() == text);
        if is(0, b"table") && is(1, table.as_bytes()) {
            return match values.get(3) {
                Some(&Value::Integer(root)) => u32::try_from(root)
                    .ok()
                    .filter(|&root| root != 0)
                    .ok_or_else(|| format!("the {table} table has root page {root}")),
                _ => Err(format!("the {table} table has no root page")),
            };
        }
    }
    Err(format!("no {table} table"))
}

/// A database image: the file's pages, overridden by the WAL's committed ones.
struct Image<'a> {
    file: &'a [u8],
    /// Pages from the WAL, by page number.
    wal: HashMap<u32, &'a [u8]>,
    page_size: usize,
    /// The usable part of each page: the page size less the reserved bytes.
    usable: usize,
    /// The database size in pages.
    pages: u32,
    /// How many bytes the image holds in all (a bound for allocations).
    bytes: usize,
}

impl<'a> Image<'a> {
    fn open(db: &'a [u8], wal: Option<&'a [u8]>) -> Result<Self, String> {
        if !db.starts_with(MAGIC) {
            return Err("not an SQLite database".to_string());
        }
        let cut = || "the database header is cut short".to_string();
        let page_size = decode_page_size(be16(db, 16).ok_or_else(cut)?)?;
        let wal = wal.filter(|wal| !wal.is_empty());
        let committed = match wal {
            Some(wal) => committed_pages(wal, page_size)?,
            None => None,
        };
        let (wal_pages, wal_size) = match committed {
            Some(Committed { pages, size }) => (pages, Some(size)),
            None => (HashMap::new(), None),
        };
        // Page 1 as the image has it, for the rest of the header.
        let page1 = match wal_pages.get(&1) {
            Some(&page) => page,
            None => db
                .get(..page_size)
                .ok_or("page 1 is past the end of the file")?,
        };
        if !page1.starts_with(MAGIC) {
            return Err("page 1 in the WAL is not a database header".to_string());
        }
        if decode_page_size(be16(page1, 16).ok_or_else(cut)?)? != page_size {
            return Err("page 1 in the WAL has another page size".to_string());
        }
        let byte = |at: usize| page1.get(at).copied().ok_or_else(cut);
        let read_version = byte(19)?;
        if read_version > 2 {
            return Err(format!("file format version {read_version} is not read"));
        }
        let usable = page_size.saturating_sub(usize::from(byte(20)?));
        if usable < 480 {
            return Err(format!("usable page size {usable} is too small"));
        }
        if page1.get(21..24) != Some(&[64, 32, 32][..]) {
            return Err("bad payload fractions in the database header".to_string());
        }
        match be32(page1, 56).ok_or_else(cut)? {
            0 | 1 => {} // 0: no schema yet; SQLite then takes UTF-8.
            2 | 3 => return Err("UTF-16 databases are not read".to_string()),
            other => return Err(format!("unknown text encoding {other}")),
        }
        let pages = match wal_size {
            Some(size) => size,
            None => {
                let in_header = be32(page1, 28).ok_or_else(cut)?;
                let valid = be32(page1, 92).ok_or_else(cut)? == be32(page1, 24).ok_or_else(cut)?;
                if in_header != 0 && valid {
                    in_header
                } else {
                    u32::try_from(db.len() / page_size).unwrap_or(u32::MAX)
                }
            }
        };
        Ok(Image {
            file: db,
            wal: wal_pages,
            page_size,
            usable,
            pages,
            bytes: db.len().saturating_add(wal.map_or(0, <[u8]>::len)),
        })
    }

    /// The usable part of page `number` (numbered from 1).
    fn page(&self, number: u32) -> Result<&'a [u8], String> {
        if number == 0 {
            return Err("page number 0 is not valid".to_string());
        }
        if number > self.pages {
            return Err(format!(
                "page {number} is past the end of the database ({} pages)",
                self.pages
            ));
        }
        let page = match self.wal.get(&number) {
            Some(&page) => Some(page),
            None => usize::try_from(number - 1)
                .ok()
                .and_then(|index| index.checked_mul(self.page_size))
                .and_then(|start| Some((start, start.checked_add(self.page_size)?)))
                .and_then(|(start, end)| self.file.get(start..end)),
        };
        page.and_then(|page| page.get(..self.usable))
            .ok_or_else(|| format!("page {number} is past the end of the file"))
    }

    /// The rows of the table b-tree whose root is page `root`, in order.
    fn rows(&self, root: u32) -> Result<Vec<(i64, Vec<Value>)>, String> {
        // Every page of the tree and of its overflow chains is read once;
        // one reached again means a cycle (or pages shared), an error.
        let mut seen = HashSet::new();
        let mut stack = vec![root];
        let mut rows = Vec::new();
        while let Some(number) = stack.pop() {
            if !seen.insert(number) {
                return Err(format!("page {number} is reached twice"));
            }
            let page = self.page(number)?;
            let at = if number == 1 { HEADER_LEN } else { 0 };
            let cut = || format!("page {number} is cut short");
            let kind = page.get(at).copied().ok_or_else(cut)?;
            let count = usize::from(be16(page, at + 3).ok_or_else(cut)?);
            match kind {
                TABLE_LEAF => {
                    let cells = Cells::new(page, number, at + 8, count);
                    // Cells do not overlap: together they fit in the room
                    // past the cell pointers. This bounds what a page can
                    // make this read (a malformed page could otherwise point
                    // thousands of cells at one big payload).
                    let mut room = cells.room();
                    rows.reserve(count);
                    for i in 0..count {
                        let cell = cells.get(i)?;
                        rows.push(self.leaf_cell(page, number, cell, &mut room, &mut seen)?);
                    }
                }
                TABLE_INTERIOR => {
                    let cells = Cells::new(page, number, at + 12, count);
                    let mut children = Vec::with_capacity(count + 1);
                    for i in 0..count {
                        let cell = cells.get(i)?;
                        children.push(be32(page, cell).ok_or_else(cut)?);
                        // The cell's key (a rowid) must be there too.
                        varint(page, cell + 4).ok_or_else(cut)?;
                    }
                    children.push(be32(page, at + 8).ok_or_else(cut)?);
                    // Popped in order: left children first, right-most last.
                    stack.extend(children.into_iter().rev());
                }
                other => {
                    return Err(format!(
                        "page {number} is not a table b-tree page (type {other:#04x})"
                    ));
                }
            }
        }
        Ok(rows)
    }

    /// Decodes the leaf cell at offset `cell` of page `number`: its rowid
    /// and its record, read through the overflow chain when it spills. The
    /// bytes the cell takes on the page are taken from `room`.
    fn leaf_cell(
        &self,
        page: &[u8],
        number: u32,
        cell: usize,
        room: &mut usize,
        seen: &mut HashSet<u32>,
    ) -> Result<(i64, Vec<Value>), String> {
        let cut = || format!("a cell of page {number} is cut short");
        let (size, at) = varint(page, cell).ok_or_else(cut)?;
        let (rowid, at) = varint(page, at).ok_or_else(cut)?;
        // A rowid is a signed 64-bit integer stored as its two's complement.
        let rowid = rowid as i64;
        let size = usize::try_from(size)
            .ok()
            .filter(|&size| size <= MAX_PAYLOAD)
            .ok_or_else(|| format!("row {rowid} on page {number} is too large ({size} bytes)"))?;
        let local = local_payload(size, self.usable);
        let end = at.checked_add(local).ok_or_else(cut)?;
        let inline = page.get(at..end).ok_or_else(cut)?;
        let spill = if local == size { 0 } else { 4 };
        // `end` is past the cell's varints, which are past `cell`.
        let taken = end.saturating_sub(cell).saturating_add(spill);
        *room = room
            .checked_sub(taken)
            .ok_or_else(|| format!("the cells of page {number} overlap"))?;
        let values = if local == size {
            record(inline)
        } else {
            let first = be32(page, end).ok_or_else(cut)?;
            record(&self.overflow(inline, first, size, rowid, seen)?)
        };
        let values = values.map_err(|reason| format!("row {rowid} on page {number} {reason}"))?;
        Ok((rowid, values))
    }

    /// A payload of `size` bytes: `inline`, then the overflow chain starting
    /// at page `first`.
    fn overflow(
        &self,
        inline: &[u8],
        first: u32,
        size: usize,
        rowid: i64,
        seen: &mut HashSet<u32>,
    ) -> Result<Vec<u8>, String> {
        // Never reserve more than the image holds, whatever `size` says.
        let mut payload = Vec::with_capacity(size.min(self.bytes));
        payload.extend_from_slice(inline);
        let mut next = first;
        while payload.len() < size {
            if next == 0 {
                return Err(format!("the overflow chain of row {rowid} ends early"));
            }
            if !seen.insert(next) {
                return Err(format!("page {next} is reached twice"));
            }
            let page = self.page(next)?;
            let cut = || format!("overflow page {next} is cut short");
            let following = be32(page, 0).ok_or_else(cut)?;
            let wanted = (size - payload.len()).min(self.usable - 4);
            let end = wanted.checked_add(4).ok_or_else(cut)?;
            payload.extend_from_slice(page.get(4..end).ok_or_else(cut)?);
            next = following;
        }
        Ok(payload)
    }
}

/// The cell pointer array of one b-tree page.
struct Cells<'p> {
    page: &'p [u8],
    number: u32,
    /// Offset of the array in the page.
    at: usize,
    count: usize,
}

impl<'p> Cells<'p> {
    fn new(page: &'p [u8], number: u32, at: usize, count: usize) -> Self {
        Cells {
            page,
            number,
            at,
            count,
        }
    }

    /// The offset of cell `i`, checked to lie past the cell pointer array
    /// and inside the page's usable part.
    fn get(&self, i: usize) -> Result<usize, String> {
        let number = self.number;
        let pointer = self
            .at
            .checked_add(i.saturating_mul(2))
            .and_then(|at| be16(self.page, at))
            .ok_or_else(|| format!("the cell pointers of page {number} run past its end"))?;
        let pointer = usize::from(pointer);
        if pointer < self.first() || pointer >= self.page.len() {
            return Err(format!(
                "cell {i} of page {number} is outside the page (offset {pointer})"
            ));
        }
        Ok(pointer)
    }

    /// The offset just past the cell pointer array: where cells may start.
    fn first(&self) -> usize {
        self.at.saturating_add(self.count.saturating_mul(2))
    }

    /// The bytes between the cell pointer array and the end of the usable
    /// part of the page: what all the cells together may take.
    fn room(&self) -> usize {
        self.page.len().saturating_sub(self.first())
    }
}

/// How much of a table leaf cell's payload of `size` bytes is on the page
/// itself, the rest being on overflow pages (`usable` is at least 480).
fn local_payload(size: usize, usable: usize) -> usize {
    let max_local = usable - 35;
    if size <= max_local {
        return size;
    }
    let min_local = (usable - 12) * 32 / 255 - 23;
    let k = min_local + (size - min_local) % (usable - 4);
    if k <= max_local { k } else { min_local }
}

/// The values of a record. The error is a reason meant to follow
/// "row N on page P", e.g. "has a record header longer than its payload".
fn record(payload: &[u8]) -> Result<Vec<Value>, String> {
    let (header_len, mut at) = varint(payload, 0).ok_or("has an empty record")?;
    let header = usize::try_from(header_len)
        .ok()
        .filter(|&len| len >= at)
        .and_then(|len| payload.get(..len))
        .ok_or("has a record header longer than its payload")?;
    let mut body = header.len();
    let mut values = Vec::new();
    while at < header.len() {
        let (serial, next) = varint(header, at).ok_or("has a record header cut short")?;
        at = next;
        let len = serial_len(serial)?;
        let end = body
            .checked_add(len)
            .ok_or("has a record whose values run past its payload")?;
        let bytes = payload
            .get(body..end)
            .ok_or("has a record whose values run past its payload")?;
        body = end;
        values.push(value(serial, bytes));
    }
    Ok(values)
}

/// The length of the value of a serial type.
fn serial_len(serial: u64) -> Result<usize, String> {
    let len = match serial {
        0 | 8 | 9 => 0,
        1..=4 => serial,
        5 => 6,
        6 | 7 => 8,
        10 | 11 => return Err(format!("has a value of reserved serial type {serial}")),
        _ => (serial - 12) / 2,
    };
    usize::try_from(len).map_err(|_| "has a record whose values run past its payload".to_string())
}

/// The value of serial type `serial` held in `bytes` (of its length).
fn value(serial: u64, bytes: &[u8]) -> Value {
    match serial {
        0 => Value::Null,
        1..=6 => {
            // Big-endian two's complement, sign-extended.
            let negative = bytes.first().is_some_and(|&b| b & 0x80 != 0);
            let start: i64 = if negative { -1 } else { 0 };
            Value::Integer(bytes.iter().fold(start, |n, &b| (n << 8) | i64::from(b)))
        }
        7 => Value::Real(f64::from_bits(
            bytes.iter().fold(0, |n, &b| (n << 8) | u64::from(b)),
        )),
        8 => Value::Integer(0),
        9 => Value::Integer(1),
        n if n % 2 == 0 => Value::Blob(bytes.to_vec()),
        _ => Value::Text(bytes.to_vec()),
    }
}

/// The WAL's committed pages and the database size its last commit gives.
struct Committed<'a> {
    pages: HashMap<u32, &'a [u8]>,
    size: u32,
}

/// The pages of a WAL's valid frames up to its last valid commit frame (the
/// last copy of a page wins), or `None` when it has no valid commit (or no
/// valid header, which SQLite takes for an empty WAL).
///
/// A frame is valid when its salts are the header's and the checksum chain,
/// from the header through the frame, holds; the first frame that is not
/// ends the WAL.
fn committed_pages(wal: &[u8], page_size: usize) -> Result<Option<Committed<'_>>, String> {
    let Some(header) = wal.get(..WAL_HEADER_LEN) else {
        return Ok(None);
    };
    let big_endian = match be32(header, 0) {
        Some(WAL_MAGIC_LE) => false,
        Some(WAL_MAGIC_BE) => true,
        _ => return Ok(None),
    };
    if be32(header, 4) != Some(WAL_VERSION) {
        return Ok(None);
    }
    let wal_page_size = be32(header, 8).and_then(|size| usize::try_from(size).ok());
    let Some(wal_page_size) =
        wal_page_size.filter(|&size| (512..=65536).contains(&size) && size.is_power_of_two())
    else {
        return Ok(None);
    };
    let sums = checksum(big_endian, header.get(..24).unwrap_or_default(), (0, 0));
    if Some(sums) != be32(header, 24).zip(be32(header, 28)) {
        return Ok(None);
    }
    if wal_page_size != page_size {
        return Err(format!(
            "the WAL's page size ({wal_page_size}) is not the database's ({page_size})"
        ));
    }
    let salts = header.get(16..24);
    let mut sums = sums;
    let mut pending = Vec::new();
    let mut committed = None;
    let mut pages = HashMap::new();
    let frames = wal.get(WAL_HEADER_LEN..).unwrap_or_default();
    for frame in frames.chunks_exact(FRAME_HEADER_LEN + page_size) {
        let Some((head, page)) = frame.split_at_checked(FRAME_HEADER_LEN) else {
            break;
        };
        let number = be32(head, 0).unwrap_or(0);
        let commit = be32(head, 4).unwrap_or(0);
        if number == 0 || head.get(8..16) != salts {
            break;
        }
        sums = checksum(big_endian, head.get(..8).unwrap_or_default(), sums);
        sums = checksum(big_endian, page, sums);
        if Some(sums) != be32(head, 16).zip(be32(head, 20)) {
            break;
        }
        pending.push((number, page));
        if commit != 0 {
            pages.extend(pending.drain(..));
            committed = Some(commit);
        }
    }
    Ok(committed.map(|size| Committed { pages, size }))
}

/// The WAL checksum of `data` (a multiple of 8 bytes), continuing from
/// `sums`: 32-bit words in the byte order the WAL's magic says.
fn checksum(big_endian: bool, data: &[u8], (mut s0, mut s1): (u32, u32)) -> (u32, u32) {
    let word = |bytes: [u8; 4]| {
        if big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        }
    };
    for pair in data.chunks_exact(8) {
        let Ok([a, b, c, d, e, f, g, h]) = <[u8; 8]>::try_from(pair) else {
            break;
        };
        s0 = s0.wrapping_add(word([a, b, c, d])).wrapping_add(s1);
        s1 = s1.wrapping_add(word([e, f, g, h])).wrapping_add(s0);
    }
    (s0, s1)
}

/// The SQLite varint at `at` in `bytes` and the offset just past it.
fn varint(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut n: u64 = 0;
    for i in 0..9 {
        let pos = at.checked_add(i)?;
        let byte = *bytes.get(pos)?;
        if i == 8 {
            return Some(((n << 8) | u64::from(byte), pos + 1));
        }
        n = (n << 7) | u64::from(byte & 0x7f);
        if byte < 0x80 {
            return Some((n, pos + 1));
        }
    }
    None
}

/// The page size a header's 2-byte field gives (1 means 65536): a power of
/// two from 512 to 65536.
fn decode_page_size(field: u16) -> Result<usize, String> {
    match field {
        1 => Ok(65536),
        n if n >= 512 && n.is_power_of_two() => Ok(usize::from(n)),
        n => Err(format!("page size {n} is not valid")),
    }
}

/// The big-endian u16 at `at` in `bytes`, if it is all there.
fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let end = at.checked_add(2)?;
    Some(u16::from_be_bytes(bytes.get(at..end)?.try_into().ok()?))
}

/// The big-endian u32 at `at` in `bytes`, if it is all there.
fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    Some(u32::from_be_bytes(bytes.get(at..end)?.try_into().ok()?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rusqlite::Connection;
    use rusqlite::types::ValueRef;

    /// The rows of a table, as [`table_rows`] returns them.
    type Rows = Vec<(i64, Vec<Value>)>;

    /// A small xorshift generator, so the tests (here and rpm's) need no
    /// dependency for it.
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        pub(crate) fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).expect("fits")
        }

        fn bytes(&mut self, len: usize) -> Vec<u8> {
            (0..len).map(|_| self.next() as u8).collect()
        }
    }

    /// The bytes of a fresh database (rollback journal) of `page_size`,
    /// made by `setup`.
    fn build(page_size: u32, setup: impl FnOnce(&Connection)) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.sqlite");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(&format!("PRAGMA page_size = {page_size}"))
            .expect("page size");
        setup(&conn);
        conn.close().expect("close");
        std::fs::read(&path).expect("read back")
    }

    /// Inserts `rows` of `(n, b)` into `t` in one transaction.
    fn insert(conn: &Connection, rows: &[(i64, Vec<u8>)]) {
        conn.execute_batch("BEGIN").expect("begin");
        for (n, b) in rows {
            conn.execute(
                "INSERT INTO t (n, b) VALUES (?1, ?2)",
                rusqlite::params![n, b],
            )
            .expect("insert");
        }
        conn.execute_batch("COMMIT").expect("commit");
    }

    /// The rows of `table` as SQLite itself reads them, in rowid order, with
    /// the INTEGER PRIMARY KEY column (`ipk`, when there is one) as NULL, as
    /// the record stores it.
    fn sqlite_rows(conn: &Connection, table: &str, ipk: Option<usize>) -> Rows {
        let mut stmt = conn
            .prepare(&format!("SELECT rowid, * FROM {table} ORDER BY rowid"))
            .expect("prepare");
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).expect("query");
        let mut out = Vec::new();
        while let Some(row) = rows.next().expect("row") {
            let rowid: i64 = row.get(0).expect("rowid");
            let values = (1..columns)
                .map(|i| match row.get_ref(i).expect("value") {
                    _ if Some(i - 1) == ipk => Value::Null,
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::Integer(n),
                    ValueRef::Real(x) => Value::Real(x),
                    ValueRef::Text(t) => Value::Text(t.to_vec()),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                })
                .collect();
            out.push((rowid, values));
        }
        out
    }

    /// [`sqlite_rows`] of a database image without a WAL.
    fn sqlite_rows_of(db: &[u8], table: &str, ipk: Option<usize>) -> Rows {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.sqlite");
        std::fs::write(&path, db).expect("write");
        let conn = Connection::open(&path).expect("open");
        sqlite_rows(&conn, table, ipk)
    }

    fn page_size_of(db: &[u8]) -> usize {
        decode_page_size(be16(db, 16).expect("header")).expect("page size")
    }

    /// The byte range of page `number` in a database file.
    fn page_range(db: &[u8], number: u32) -> std::ops::Range<usize> {
        let size = page_size_of(db);
        let start = (number as usize - 1) * size;
        start..start + size
    }

    /// The root page of `table`, read with this module.
    fn root_of(db: &[u8], table: &str) -> u32 {
        let image = Image::open(db, None).expect("valid");
        root_page(&image.rows(1).expect("schema"), table).expect("table")
    }

    /// The b-tree page type of page `number`.
    fn kind_of(db: &[u8], number: u32) -> u8 {
        db[page_range(db, number).start]
    }

    /// The offsets, in the file, of the cells of b-tree page `number` (not
    /// page 1), and of its right-most pointer when it is an interior page.
    fn cells_of(db: &[u8], number: u32) -> (Vec<usize>, Option<usize>) {
        let start = page_range(db, number).start;
        let interior = db[start] == TABLE_INTERIOR;
        let count = usize::from(be16(db, start + 3).expect("count"));
        let array = start + if interior { 12 } else { 8 };
        let cells = (0..count)
            .map(|i| start + usize::from(be16(db, array + 2 * i).expect("pointer")))
            .collect();
        (cells, interior.then_some(start + 8))
    }

    fn set_be32(bytes: &mut [u8], at: usize, value: u32) {
        bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
    }

    /// Rows `(n, b)` with blobs of the given lengths, `n` some integer.
    fn blobs(rng: &mut Rng, lengths: impl IntoIterator<Item = usize>) -> Vec<(i64, Vec<u8>)> {
        lengths
            .into_iter()
            .map(|len| (rng.next() as i64 >> rng.below(64), rng.bytes(len)))
            .collect()
    }

    #[test]
    fn reads_interior_pages_and_overflow_chains_like_sqlite() {
        for page_size in [4096, 1024] {
            let mut rng = Rng(u64::from(page_size) * 7919 + 1);
            let lengths: Vec<usize> = (0..500).map(|_| 5_000 + rng.below(15_001)).collect();
            let rows = blobs(&mut rng, lengths);
            let db = build(page_size, |conn| {
                conn.execute_batch("CREATE TABLE t (n, b, s TEXT)")
                    .expect("create");
                insert(conn, &rows);
                conn.execute_batch("UPDATE t SET s = 'row ' || rowid WHERE rowid % 3 = 0")
                    .expect("update");
            });
            let root = root_of(&db, "t");
            assert_eq!(
                kind_of(&db, root),
                TABLE_INTERIOR,
                "a tree of several levels"
            );
            let read = table_rows(&db, None, "t").expect("valid");
            assert_eq!(read.len(), 500);
            assert_eq!(read, sqlite_rows_of(&db, "t", None));
            assert_eq!(read[2].1[0], Value::Integer(rows[2].0));
            assert_eq!(read[2].1[1], Value::Blob(rows[2].1.clone()));
            assert_eq!(read[2].1[2], Value::Text(b"row 3".to_vec()));
            assert_eq!(read[3].1[2], Value::Null);
        }
    }

    #[test]
    fn splits_payloads_at_every_length_as_sqlite_does() {
        // Every length around the spill thresholds of a small page, so the
        // local part of each cell is computed both ways (K and M).
        let mut rng = Rng(42);
        let rows = blobs(&mut rng, 0..1_600);
        let db = build(512, |conn| {
            conn.execute_batch("CREATE TABLE t (n, b)").expect("create");
            insert(conn, &rows);
        });
        let read = table_rows(&db, None, "t").expect("valid");
        assert_eq!(read, sqlite_rows_of(&db, "t", None));

        // The largest page size, around its thresholds.
        let usable = 65_536;
        let max_local = usable - 35;
        let lengths = [
            0,
            100,
            max_local - 1,
            max_local,
            max_local + 1,
            max_local + 2,
        ]
        .into_iter()
        .chain([2 * usable, 3 * usable + 5, 70_000]);
        let rows = blobs(&mut rng, lengths);
        let db = build(65_536, |conn| {
            conn.execute_batch("CREATE TABLE t (n, b)").expect("create");
            insert(conn, &rows);
        });
        assert_eq!(be16(&db, 16), Some(1), "65536 is written as 1");
        let read = table_rows(&db, None, "t").expect("valid");
        assert_eq!(read, sqlite_rows_of(&db, "t", None));
    }

    /// A database whose pages keep 32 reserved bytes (usable size 480, the
    /// least SQLite allows), made with the sqlite3 shell, which can set them:
    ///
    /// ```sh
    /// sqlite3 tests/fixtures/reserved.sqlite "PRAGMA page_size = 512;" ".filectrl reserve_bytes 32" \
    ///   "CREATE TABLE t (id INTEGER PRIMARY KEY, n, b);
    ///    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 40)
    ///    INSERT INTO t (n, b) SELECT CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN i * 1000003
    ///      WHEN 2 THEN i / 7.0 ELSE 'text ' || i END, randomblob((i * 7919) % 1500) FROM c;"
    /// ```
    const RESERVED: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/reserved.sqlite"
    ));

    #[test]
    fn reads_pages_with_reserved_bytes() {
        assert_eq!(RESERVED[20], 32);
        let read = table_rows(RESERVED, None, "t").expect("valid");
        assert_eq!(read.len(), 40);
        assert_eq!(read, sqlite_rows_of(RESERVED, "t", Some(0)));
        assert_eq!(read[0].1[1], Value::Integer(1_000_003));
        assert_eq!(read[1].1[1], Value::Real(2.0 / 7.0));
        assert_eq!(read[2].1[1], Value::Text(b"text 3".to_vec()));
        assert_eq!(read[3].1[1], Value::Null);
        for (rowid, values) in &read {
            assert_eq!(values[0], Value::Null, "the INTEGER PRIMARY KEY");
            let Value::Blob(blob) = &values[2] else {
                panic!("row {rowid} has no blob");
            };
            assert_eq!(blob.len() as i64, rowid * 7919 % 1500);
        }
    }

    #[test]
    fn reads_every_table_of_a_database_made_by_rpm() {
        let made = super::super::rpm::tests::fixture();
        let db: &[u8] = &made;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rpmdb.sqlite");
        std::fs::write(&path, db).expect("write");
        let conn = Connection::open(&path).expect("open");
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .expect("prepare")
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("names");
        assert!(tables.len() > 10);
        for table in tables {
            let ipk = (table == "Packages").then_some(0);
            let want = sqlite_rows(&conn, &format!("'{table}'"), ipk);
            assert_eq!(table_rows(db, None, &table), Ok(want), "{table}");
        }
    }

    #[test]
    fn reads_each_kind_of_value() {
        let integers = [
            0,
            1,
            -1,
            2,
            127,
            -128,
            128,
            -129,
            32_767,
            -32_768,
            32_768,
            8_388_607,
            -8_388_608,
            8_388_608,
            2_147_483_647,
            -2_147_483_648,
            2_147_483_648,
            140_737_488_355_327,
            -140_737_488_355_328,
            140_737_488_355_328,
            i64::MAX,
            i64::MIN,
        ];
        let mut expected: Vec<Value> = integers.iter().map(|&n| Value::Integer(n)).collect();
        expected.extend([1.5, -0.25, 1e300, -0.0].map(Value::Real));
        expected.extend([
            Value::Null,
            Value::Text(Vec::new()),
            Value::Text("héllo".as_bytes().to_vec()),
            Value::Blob(Vec::new()),
            Value::Blob(vec![0, 1, 2, 255]),
        ]);
        let ids: Vec<i64> = (0..expected.len())
            .map(|i| match i {
                0 => i64::MIN,
                1 => -5,
                2 => 0,
                3 => i64::MAX,
                _ => i as i64 * 1_000_000_007,
            })
            .collect();
        let db = build(4096, |conn| {
            conn.execute_batch("CREATE TABLE v (id INTEGER PRIMARY KEY, x, y TEXT)")
                .expect("create");
            for (id, value) in ids.iter().zip(&expected) {
                let x = match value {
                    Value::Null => rusqlite::types::Value::Null,
                    Value::Integer(n) => rusqlite::types::Value::Integer(*n),
                    Value::Real(x) => rusqlite::types::Value::Real(*x),
                    Value::Text(t) => {
                        rusqlite::types::Value::Text(String::from_utf8(t.clone()).expect("utf-8"))
                    }
                    Value::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
                };
                conn.execute(
                    "INSERT INTO v (id, x) VALUES (?1, ?2)",
                    rusqlite::params![id, x],
                )
                .expect("insert");
            }
        });
        let read = table_rows(&db, None, "v").expect("valid");
        assert_eq!(read, sqlite_rows_of(&db, "v", Some(0)));
        let mut want: Rows = ids
            .iter()
            .zip(&expected)
            .map(|(&id, value)| (id, vec![Value::Null, value.clone(), Value::Null]))
            .collect();
        want.sort_by_key(|(id, _)| *id);
        assert_eq!(read, want);
    }

    #[test]
    fn finds_tables_by_their_exact_name() {
        let db = build(1024, |conn| {
            conn.execute_batch(
                "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB);
                 CREATE INDEX idx ON Packages (blob);
                 CREATE VIEW vw AS SELECT * FROM Packages;
                 CREATE TABLE other (x);
                 INSERT INTO other VALUES (1);",
            )
            .expect("setup");
        });
        assert_eq!(table_rows(&db, None, "Packages"), Ok(Vec::new()));
        assert_eq!(
            table_rows(&db, None, "other"),
            Ok(vec![(1, vec![Value::Integer(1)])])
        );
        for missing in ["packages", "idx", "vw", "sqlite_master", ""] {
            assert_eq!(
                table_rows(&db, None, missing),
                Err(format!("no {missing} table"))
            );
        }
    }

    #[test]
    fn rejects_utf16_databases() {
        let db = build(4096, |conn| {
            conn.execute_batch("PRAGMA encoding = 'UTF-16le'; CREATE TABLE t (x)")
                .expect("setup");
        });
        assert_eq!(
            table_rows(&db, None, "t"),
            Err("UTF-16 databases are not read".to_string())
        );
    }

    /// The frame header offsets of a WAL (page size `page_size`), and which
    /// of them are commit frames.
    fn frames(wal: &[u8], page_size: usize) -> Vec<(usize, bool)> {
        (WAL_HEADER_LEN..wal.len())
            .step_by(FRAME_HEADER_LEN + page_size)
            .filter(|at| at + FRAME_HEADER_LEN + page_size <= wal.len())
            .map(|at| (at, be32(wal, at + 4) != Some(0)))
            .collect()
    }

    /// Recomputes every checksum of a WAL after it was edited, so that its
    /// frames stay valid (salts are left as they are).
    fn reseal(wal: &mut [u8], page_size: usize) {
        let big_endian = be32(wal, 0) == Some(WAL_MAGIC_BE);
        let mut sums = checksum(big_endian, &wal[..24], (0, 0));
        set_be32(wal, 24, sums.0);
        set_be32(wal, 28, sums.1);
        for (at, _) in frames(wal, page_size) {
            sums = checksum(big_endian, &wal[at..at + 8], sums);
            let page = at + FRAME_HEADER_LEN;
            sums = checksum(big_endian, &wal[page..page + page_size], sums);
            set_be32(wal, at + 16, sums.0);
            set_be32(wal, at + 20, sums.1);
        }
    }

    /// A database in WAL mode (pages of 1024 bytes): a table `t` with three
    /// rows checkpointed into the file, then three transactions only in the
    /// WAL, the second of which creates a table `u` (so page 1 changes).
    /// Returns the database and WAL bytes and the rows of `t` SQLite sees
    /// before the WAL and after each transaction.
    fn wal_image() -> (Vec<u8>, Vec<u8>, Vec<Rows>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.sqlite");
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("PRAGMA page_size = 1024")
            .expect("page size");
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .expect("journal mode");
        assert_eq!(mode, "wal");
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (n, b)")
            .expect("setup");
        let mut rng = Rng(7);
        insert(&conn, &blobs(&mut rng, [10, 2_000, 30]));
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .expect("checkpoint");
        let db_before = std::fs::read(&path).expect("db");
        let mut states = vec![sqlite_rows(&conn, "t", None)];
        for round in 0..3 {
            // One transaction, one commit frame.
            let lengths: Vec<usize> = (0..20).map(|_| rng.below(3_000)).collect();
            let rows = blobs(&mut rng, lengths);
            conn.execute_batch("BEGIN").expect("begin");
            if round == 1 {
                conn.execute_batch("CREATE TABLE u (x); INSERT INTO u VALUES ('in the WAL')")
                    .expect("create u");
            }
            for (n, b) in &rows {
                conn.execute(
                    "INSERT INTO t (n, b) VALUES (?1, ?2)",
                    rusqlite::params![n, b],
                )
                .expect("insert");
            }
            conn.execute_batch("COMMIT").expect("commit");
            states.push(sqlite_rows(&conn, "t", None));
        }
        let db = std::fs::read(&path).expect("db");
        let wal = std::fs::read(dir.path().join("db.sqlite-wal")).expect("wal");
        drop(conn);
        assert_eq!(db, db_before, "the new rows are only in the WAL");
        assert_eq!(frames(&wal, 1024).iter().filter(|(_, c)| *c).count(), 3);
        (db, wal, states)
    }

    #[test]
    fn applies_the_wal_up_to_its_last_valid_commit() {
        let (db, wal, states) = wal_image();
        let read = |wal: &[u8]| table_rows(&db, Some(wal), "t");
        assert_eq!(read(&wal), Ok(states[3].clone()));
        assert_eq!(
            table_rows(&db, Some(&wal), "u"),
            Ok(vec![(1, vec![Value::Text(b"in the WAL".to_vec())])])
        );
        // Without the WAL (or with an empty one): the file alone.
        assert_eq!(table_rows(&db, None, "t"), Ok(states[0].clone()));
        assert_eq!(read(&[]), Ok(states[0].clone()));
        assert_eq!(table_rows(&db, None, "u"), Err("no u table".to_string()));

        let frames = frames(&wal, 1024);
        let commits: Vec<usize> = (0..frames.len()).filter(|&i| frames[i].1).collect();
        assert_eq!(commits[2], frames.len() - 1);
        // A corrupted page in the third transaction: the WAL ends at the
        // second commit.
        for frame in commits[1] + 1..=commits[2] {
            let mut bad = wal.clone();
            bad[frames[frame].0 + FRAME_HEADER_LEN + 500] ^= 1;
            assert_eq!(read(&bad), Ok(states[2].clone()), "frame {frame}");
        }
        // A bad checksum field on the first commit frame: nothing applies.
        let mut bad = wal.clone();
        bad[frames[commits[0]].0 + 16] ^= 0x80;
        assert_eq!(read(&bad), Ok(states[0].clone()));
        // Frames of another generation (other salts) end the WAL too.
        let mut bad = wal.clone();
        bad[frames[commits[1] + 1].0 + 8] ^= 1;
        assert_eq!(read(&bad), Ok(states[2].clone()));
        // A WAL cut short in its last frame.
        let cut = &wal[..frames[commits[2]].0 + 100];
        assert_eq!(read(cut), Ok(states[2].clone()));
        // Frames after the last commit, without one of their own, are
        // ignored: drop the third transaction's commit mark.
        let mut bad = wal.clone();
        set_be32(&mut bad, frames[commits[2]].0 + 4, 0);
        reseal(&mut bad, 1024);
        assert_eq!(read(&bad), Ok(states[2].clone()));
        // A WAL with only a header, or none valid: the file alone.
        assert_eq!(read(&wal[..WAL_HEADER_LEN]), Ok(states[0].clone()));
        assert_eq!(read(&wal[..20]), Ok(states[0].clone()));
        let mut bad = wal.clone();
        bad[27] ^= 1; // the header's checksum
        assert_eq!(read(&bad), Ok(states[0].clone()));
        let mut bad = wal.clone();
        bad[3] = 0x84; // the magic
        assert_eq!(read(&bad), Ok(states[0].clone()));
        // The other checksum byte order, resealed: read the same.
        let mut other = wal.clone();
        other[3] ^= 1;
        reseal(&mut other, 1024);
        assert_eq!(read(&other), Ok(states[3].clone()));
        // A valid WAL of another page size is an error.
        let mut bad = wal.clone();
        set_be32(&mut bad, 8, 2048);
        reseal(&mut bad, 2048);
        assert_eq!(
            read(&bad),
            Err("the WAL's page size (2048) is not the database's (1024)".to_string())
        );
        // A page past the database size the last commit gives.
        let mut bad = wal.clone();
        set_be32(&mut bad, frames[commits[2]].0 + 4, 1);
        reseal(&mut bad, 1024);
        assert!(
            read(&bad)
                .expect_err("too small")
                .contains("past the end of the database")
        );
    }

    /// A database of `rows` rows of `t (n, b)` with `len`-byte blobs, pages
    /// of `page_size` bytes.
    fn small_db(page_size: u32, rows: usize, len: usize) -> Vec<u8> {
        let mut rng = Rng(99);
        let rows = blobs(&mut rng, std::iter::repeat_n(len, rows));
        build(page_size, |conn| {
            conn.execute_batch("CREATE TABLE t (n, b)").expect("create");
            insert(conn, &rows);
        })
    }

    fn err(db: &[u8]) -> String {
        table_rows(db, None, "t").expect_err("malformed")
    }

    #[test]
    fn rejects_what_is_not_a_database() {
        let db = small_db(1024, 200, 100);
        assert!(table_rows(&db, None, "t").is_ok());
        assert_eq!(err(b""), "not an SQLite database");
        assert_eq!(err(&db[..10]), "not an SQLite database");
        assert_eq!(err(&db[..17]), "the database header is cut short");
        assert_eq!(err(&db[..50]), "page 1 is past the end of the file");
        let mut bad = db.clone();
        bad[0] = b's';
        assert_eq!(err(&bad), "not an SQLite database");
        // Every truncation is an error (all pages are in use).
        for len in (0..db.len()).step_by(97) {
            assert!(table_rows(&db[..len], None, "t").is_err(), "{len}");
        }
        // Page sizes that are not powers of two from 512 up.
        for size in [0_u16, 2, 256, 1000, 1025, 0xffff] {
            let mut bad = db.clone();
            bad[16..18].copy_from_slice(&size.to_be_bytes());
            assert_eq!(err(&bad), format!("page size {size} is not valid"));
        }
        // 65536 (written 1) is valid, but the file has not one such page.
        let mut bad = db.clone();
        bad[16..18].copy_from_slice(&1_u16.to_be_bytes());
        assert_eq!(err(&bad), "page 1 is past the end of the file");
        // Too many reserved bytes, odd payload fractions, a newer format.
        let mut bad = db.clone();
        bad[16..18].copy_from_slice(&512_u16.to_be_bytes());
        bad[20] = 100;
        assert_eq!(err(&bad), "usable page size 412 is too small");
        let mut bad = db.clone();
        bad[21] = 63;
        assert_eq!(err(&bad), "bad payload fractions in the database header");
        let mut bad = db.clone();
        bad[19] = 3;
        assert_eq!(err(&bad), "file format version 3 is not read");
    }

    #[test]
    fn rejects_bad_pages() {
        let db = small_db(1024, 200, 100);
        let root = root_of(&db, "t");
        assert_eq!(kind_of(&db, root), TABLE_INTERIOR);
        let start = page_range(&db, root).start;
        let (cells, right) = cells_of(&db, root);
        let right = right.expect("interior");
        let pages = db.len() / 1024;

        // A cell pointer past the page, or into its header.
        for pointer in [0xffff_u16, 1024, 5] {
            let mut bad = db.clone();
            bad[start + 12..start + 14].copy_from_slice(&pointer.to_be_bytes());
            assert_eq!(
                err(&bad),
                format!("cell 0 of page {root} is outside the page (offset {pointer})")
            );
        }
        // More cells than the page holds.
        let mut bad = db.clone();
        bad[start + 3..start + 5].copy_from_slice(&0xffff_u16.to_be_bytes());
        assert!(table_rows(&bad, None, "t").is_err());
        // A child past the end, and page number 0.
        let mut bad = db.clone();
        set_be32(&mut bad, right, 0x00ff_ffff);
        assert_eq!(
            err(&bad),
            format!("page 16777215 is past the end of the database ({pages} pages)")
        );
        let mut bad = db.clone();
        set_be32(&mut bad, cells[0], 0);
        assert_eq!(err(&bad), "page number 0 is not valid");
        // A child pointing back at its parent, or twice at the same page.
        let mut bad = db.clone();
        set_be32(&mut bad, right, root);
        assert_eq!(err(&bad), format!("page {root} is reached twice"));
        let mut bad = db.clone();
        let first_child = be32(&db, cells[0]).expect("child");
        set_be32(&mut bad, cells[1], first_child);
        assert_eq!(err(&bad), format!("page {first_child} is reached twice"));
        // A child that is not a table b-tree page.
        let mut bad = db.clone();
        bad[page_range(&db, first_child).start] = 0x0a;
        assert_eq!(
            err(&bad),
            format!("page {first_child} is not a table b-tree page (type 0x0a)")
        );
        // An in-header database size that is valid and too small.
        let mut bad = db.clone();
        set_be32(&mut bad, 28, 2);
        assert!(err(&bad).contains("past the end of the database (2 pages)"));
    }

    #[test]
    fn rejects_overlapping_cells() {
        let db = small_db(1024, 1, 600);
        let root = root_of(&db, "t");
        let (cells, _) = cells_of(&db, root);
        let start = page_range(&db, root).start;
        // A second cell pointer to the one cell: together they take more
        // than the page holds.
        let mut bad = db.clone();
        bad[start + 3..start + 5].copy_from_slice(&2_u16.to_be_bytes());
        let pointer = u16::try_from(cells[0] - start).expect("offset");
        bad[start + 10..start + 12].copy_from_slice(&pointer.to_be_bytes());
        assert_eq!(err(&bad), format!("the cells of page {root} overlap"));
    }

    #[test]
    fn rejects_a_cycle_deep_in_the_tree() {
        // Small pages and many rows: three levels of pages.
        let db = small_db(512, 3_000, 10);
        let root = root_of(&db, "t");
        let (cells, _) = cells_of(&db, root);
        let child = be32(&db, cells[0]).expect("child");
        assert_eq!(kind_of(&db, child), TABLE_INTERIOR, "three levels");
        let (grandchildren, right) = cells_of(&db, child);
        for at in [grandchildren[3], right.expect("interior")] {
            let mut bad = db.clone();
            set_be32(&mut bad, at, root);
            assert_eq!(err(&bad), format!("page {root} is reached twice"));
        }
    }

    #[test]
    fn rejects_bad_overflow_chains() {
        let db = small_db(1024, 1, 5_000);
        let root = root_of(&db, "t");
        let (cells, right) = cells_of(&db, root);
        assert_eq!(right, None, "a leaf");
        let cell = cells[0];
        let (size, at) = varint(&db, cell).expect("size");
        let (_, at) = varint(&db, at).expect("rowid");
        let local = local_payload(usize::try_from(size).expect("size"), 1024);
        let pointer = at + local;
        let first = be32(&db, pointer).expect("overflow");
        let next_of_first = page_range(&db, first).start;
        let pages = db.len() / 1024;

        // A chain that loops, back to itself or to the leaf.
        for target in [first, root] {
            let mut bad = db.clone();
            set_be32(&mut bad, next_of_first, target);
            assert_eq!(err(&bad), format!("page {target} is reached twice"));
        }
        // A chain that runs past the end, or ends early.
        let mut bad = db.clone();
        set_be32(&mut bad, next_of_first, 1_000_000);
        assert_eq!(
            err(&bad),
            format!("page 1000000 is past the end of the database ({pages} pages)")
        );
        let mut bad = db.clone();
        set_be32(&mut bad, next_of_first, 0);
        assert_eq!(err(&bad), "the overflow chain of row 1 ends early");
        // A payload size far larger than the chain.
        let mut bad = db.clone();
        bad[cell..cell + 5].copy_from_slice(&[0x83, 0xff, 0xff, 0xff, 0x7f]);
        bad[cell + 5..pointer + 4].fill(0);
        assert!(table_rows(&bad, None, "t").is_err());
        // A payload size past SQLite's limit.
        let mut bad = db.clone();
        bad[cell..cell + 9].fill(0xff);
        assert!(err(&bad).contains("is too large"));
    }

    #[test]
    fn rejects_bad_records() {
        let db = build(1024, |conn| {
            conn.execute_batch("CREATE TABLE t (n, b); INSERT INTO t VALUES (7, x'0102')")
                .expect("setup");
        });
        assert_eq!(
            table_rows(&db, None, "t"),
            Ok(vec![(1, vec![Value::Integer(7), Value::Blob(vec![1, 2])])])
        );
        let root = root_of(&db, "t");
        let (cells, _) = cells_of(&db, root);
        // payload size, rowid, then the record: header size 3, serial types
        // 1 (an 8-bit integer) and 16 (a 2-byte blob), then 7, 1, 2.
        let record = cells[0] + 2;
        assert_eq!(db[record..record + 6], [3, 1, 16, 7, 1, 2]);
        let patched = |at: usize, byte: u8| {
            let mut bad = db.clone();
            bad[record + at] = byte;
            err(&bad)
        };
        assert_eq!(
            patched(0, 0x7f),
            "row 1 on page 2 has a record header longer than its payload"
        );
        assert_eq!(
            patched(0, 0),
            "row 1 on page 2 has a record header longer than its payload"
        );
        assert_eq!(
            patched(1, 10),
            "row 1 on page 2 has a value of reserved serial type 10"
        );
        assert_eq!(
            patched(2, 0x20),
            "row 1 on page 2 has a record whose values run past its payload"
        );
        assert_eq!(
            patched(2, 0x81),
            "row 1 on page 2 has a record header cut short"
        );
    }

    #[test]
    fn mutated_databases_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let lengths: Vec<usize> = (0..40).map(|_| rng.below(1_500)).collect();
        let rows = blobs(&mut rng, lengths);
        let db = build(512, |conn| {
            conn.execute_batch("CREATE TABLE t (n, b)").expect("create");
            insert(conn, &rows);
        });
        assert!(db.len() < 64 * 1024);
        assert!(table_rows(&db, None, "t").is_ok());
        let mut errors = 0;
        for _ in 0..20_000 {
            let mut bytes = db.clone();
            for _ in 0..=rng.below(4) {
                // Half the time near the start of a page, where the b-tree
                // headers and cell pointers are.
                let at = if rng.below(2) == 0 {
                    rng.below(bytes.len())
                } else {
                    (rng.below(bytes.len() / 512) * 512 + rng.below(24)).min(bytes.len() - 1)
                };
                bytes[at] = rng.next() as u8;
            }
            if rng.below(8) == 0 {
                bytes.truncate(rng.below(bytes.len()));
            }
            if table_rows(&bytes, None, "t").is_err() {
                errors += 1;
            }
        }
        assert!(errors > 1_000, "the mutations reach the reader ({errors})");
    }

    #[test]
    fn mutated_wal_pages_never_panic() {
        // Mutations inside the WAL's pages, resealed so that the frames stay
        // valid and the pages are read.
        let (db, wal, _) = wal_image();
        let mut rng = Rng(12345);
        let frames = frames(&wal, 1024);
        for _ in 0..2_000 {
            let mut bytes = wal.clone();
            for _ in 0..=rng.below(4) {
                let (frame, _) = frames[rng.below(frames.len())];
                let span = if rng.below(2) == 0 { 1024 } else { 24 };
                let at = frame + FRAME_HEADER_LEN + rng.below(span);
                bytes[at] = rng.next() as u8;
            }
            if rng.below(4) == 0 {
                let (frame, _) = frames[rng.below(frames.len())];
                set_be32(&mut bytes, frame, rng.below(64) as u32);
            }
            reseal(&mut bytes, 1024);
            let _ = table_rows(&db, Some(&bytes), "t");
        }
    }

    #[test]
    fn reads_varints() {
        assert_eq!(varint(&[0x00], 0), Some((0, 1)));
        assert_eq!(varint(&[0x7f], 0), Some((0x7f, 1)));
        assert_eq!(varint(&[0x81, 0x00], 0), Some((0x80, 2)));
        assert_eq!(varint(&[0xff; 9], 0), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x80; 9], 0), Some((0x80, 9)));
        assert_eq!(varint(&[0x81, 0x80], 0), None);
        assert_eq!(varint(&[], 0), None);
        assert_eq!(varint(&[1], usize::MAX), None);
    }
}
