//! Package databases of any content (dpkg's status, file lists and
//! diversions, distroless's status.d, apt's extended_states, apk's installed,
//! rpm's sqlite, Python's RECORD, npm's package.json) in an image with files
//! and symlinks: every byte still goes to exactly one owner, so the buckets
//! add up to the bytes the image shows and to its wasted bytes, never a panic.
#![no_main]

use image_budget::analysis::Analysis;
use image_budget::measure::layer::waste::{Entry, Kind, normalise};
use libfuzzer_sys::fuzz_target;

const DATABASES: [&str; 10] = [
    "var/lib/dpkg/status",
    "var/lib/dpkg/info/a.list",
    "var/lib/dpkg/diversions",
    "var/lib/dpkg/status.d/a",
    "var/lib/dpkg/status.d/a.md5sums",
    "var/lib/apt/extended_states",
    "lib/apk/db/installed",
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/python3/site-packages/a-1.dist-info/RECORD",
    "app/node_modules/a/package.json",
];

fn entry(path: &str, kind: Kind, bytes: u64) -> Entry {
    Entry {
        path: normalise(path.as_bytes()),
        kind,
        bytes,
    }
}

fuzz_target!(|data: &[u8]| {
    // The data, cut at 0xff bytes: each piece the content of one database.
    let mut layer = vec![
        entry("bin", Kind::Symlink { target: b"usr/bin".as_slice().into() }, 7),
        entry("usr/bin/a", Kind::Other, 10),
        entry("usr/bin/sh", Kind::Symlink { target: b"a".as_slice().into() }, 1),
        entry("usr/lib/python3/site-packages/a.py", Kind::Other, 5),
        entry("app/node_modules/a/index.js", Kind::Other, 3),
        entry("lib/x", Kind::Other, 4),
    ];
    for (path, content) in DATABASES.iter().zip(data.split(|&b| b == 0xff)) {
        layer.push(entry(
            path,
            Kind::Kept {
                content: content.into(),
            },
            content.len() as u64,
        ));
    }
    // A second layer hides some of it, so wasted bytes are owned too.
    let upper = vec![
        entry("usr/bin/a", Kind::Other, 2),
        entry("var/lib/dpkg/info/a.list", Kind::Whiteout, 0),
    ];
    let a = Analysis::new(Vec::new(), vec![layer, upper]);
    let p = &a.packages;
    let size: u64 = p.rows.iter().filter_map(|r| r.size).sum::<u64>()
        + p.unowned.size
        + p.databases.size;
    let wasted: u64 =
        p.rows.iter().map(|r| r.wasted).sum::<u64>() + p.unowned.wasted + p.databases.wasted;
    assert_eq!(size, a.visible);
    assert_eq!(wasted, a.wasted);
});
