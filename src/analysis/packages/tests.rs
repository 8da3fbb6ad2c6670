//! The tracker over hand-made layers: who owns each byte, through merged
//! `/usr`, diversions, layers that remove packages, and each format.

use super::*;
use crate::measure::layer::waste::{Entry, Kind, Listing, normalise};

fn file(path: &str, bytes: u64) -> Entry {
    Entry {
        path: normalise(path.as_bytes()),
        kind: Kind::Other,
        bytes,
    }
}

fn kept(path: &str, content: &str) -> Entry {
    Entry {
        path: normalise(path.as_bytes()),
        kind: Kind::Kept {
            content: content.as_bytes().into(),
        },
        bytes: content.len() as u64,
    }
}

fn link(path: &str, target: &str) -> Entry {
    Entry {
        path: normalise(path.as_bytes()),
        kind: Kind::Symlink {
            target: target.as_bytes().into(),
        },
        bytes: target.len() as u64,
    }
}

fn whiteout(path: &str) -> Entry {
    Entry {
        path: normalise(path.as_bytes()),
        kind: Kind::Whiteout,
        bytes: 0,
    }
}

fn row<'a>(p: &'a Packages, name: &str) -> &'a PackageRow {
    p.rows
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no row {name}: {:?}", p.rows))
}

/// The buckets add up to the visible and the wasted bytes.
fn assert_adds_up(listings: &[Listing]) -> Packages {
    let a = crate::analysis::Analysis::new(Vec::new(), listings.to_vec());
    let p = &a.packages;
    let size: u64 =
        p.rows.iter().filter_map(|r| r.size).sum::<u64>() + p.unowned.size + p.databases.size;
    let wasted: u64 =
        p.rows.iter().map(|r| r.wasted).sum::<u64>() + p.unowned.wasted + p.databases.wasted;
    assert_eq!(size, a.visible, "visible bytes");
    assert_eq!(wasted, a.wasted, "wasted bytes");
    a.packages
}

const STATUS: &str = "Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.1-1\n\nPackage: dash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.5.12-2\n\nPackage: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2\n";

/// A merged-`/usr` Debian: the lists say `/bin/...`, the files are under
/// `/usr/bin`, and `/bin` is a symlink no package owns.
fn debian() -> Listing {
    vec![
        link("bin", "usr/bin"),
        link("lib64", "usr/lib64"),
        file("usr/bin/cat", 1000),
        file("usr/bin/ls", 2000),
        file("usr/bin/dash", 300),
        link("usr/bin/sh", "dash"),
        file("usr/bin/sh.distrib", 40),
        file("usr/bin/bash", 5000),
        file("etc/hostname", 7),
        kept("var/lib/dpkg/status", STATUS),
        kept(
            "var/lib/dpkg/info/coreutils.list",
            "/.\n/bin\n/bin/cat\n/bin/ls\n/usr\n/usr/bin\n",
        ),
        kept(
            "var/lib/dpkg/info/dash.list",
            "/.\n/bin\n/bin/dash\n/bin/sh\n",
        ),
        // bash ships /bin/sh too, diverted by dash to /bin/sh.distrib.
        kept(
            "var/lib/dpkg/info/bash.list",
            "/.\n/bin\n/bin/bash\n/bin/sh\n",
        ),
        kept(
            "var/lib/dpkg/diversions",
            "/bin/sh\n/bin/sh.distrib\ndash\n",
        ),
    ]
}

#[test]
fn merged_usr_symlinks_and_diversions_are_followed_and_the_buckets_add_up() {
    let p = assert_adds_up(&[debian()]);
    assert_eq!(row(&p, "coreutils").size, Some(3000));
    assert_eq!(row(&p, "coreutils").files, 2);
    // Its own /bin/sh (a 4-byte symlink) stays where it is.
    assert_eq!(row(&p, "dash").size, Some(304));
    // Diverted: bash's /bin/sh is /bin/sh.distrib.
    assert_eq!(row(&p, "bash").size, Some(5040));
    // The `bin` and `lib64` symlinks (7 + 9 bytes), /etc/hostname (7) are
    // nobody's.
    assert_eq!(p.unowned.size, 23);
    assert_eq!(p.unowned.files, 3);
    assert_eq!(p.found, [Ecosystem::Dpkg]);
    assert_eq!(row(&p, "dash").layer, Some(0));
    assert_eq!(row(&p, "dash").manual, None, "no extended_states");
}

#[test]
fn a_package_removed_later_keeps_its_bytes_as_wasted_and_each_layer_says_what_it_did() {
    let status2 = "Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.2-1\n\nPackage: dash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.5.12-2\n";
    let layers = vec![
        debian(),
        vec![
            // bash purged: its files and list go; coreutils upgraded (ls grew).
            whiteout("usr/bin/bash"),
            whiteout("var/lib/dpkg/info/bash.list"),
            kept("var/lib/dpkg/status", status2),
            file("usr/bin/ls", 2500),
        ],
    ];
    let p = assert_adds_up(&layers);
    let bash = row(&p, "bash");
    assert_eq!(bash.version, None);
    assert_eq!(bash.size, Some(0));
    assert_eq!(bash.wasted, 5000);
    let coreutils = row(&p, "coreutils");
    assert_eq!(coreutils.version.as_deref(), Some("9.2-1"));
    assert_eq!(coreutils.size, Some(3500));
    assert_eq!(coreutils.wasted, 2000);
    assert_eq!(coreutils.layer, Some(1));
    assert_eq!(p.layers.len(), 2);
    assert_eq!(p.layers[0].len(), 3);
    assert!(p.layers[0].iter().all(|c| c.change == "added"));
    let changes: Vec<(&str, &str, u64, u64)> = p.layers[1]
        .iter()
        .map(|c| (c.name.as_str(), c.change, c.added, c.hidden))
        .collect();
    assert_eq!(
        changes,
        [
            ("bash", "removed", 0, 5000),
            ("coreutils", "changed", 2500, 2000)
        ]
    );
}

#[test]
fn a_layer_that_deletes_the_databases_leaves_no_package_installed() {
    let layers = vec![
        vec![
            file("usr/bin/cat", 1000),
            kept("var/lib/dpkg/status", STATUS),
            kept("var/lib/dpkg/info/coreutils.list", "/usr/bin/cat\n"),
        ],
        vec![whiteout("var/lib/dpkg")],
    ];
    let p = assert_adds_up(&layers);
    assert!(p.installed().next().is_none(), "{:?}", p.rows);
    assert_eq!(p.unowned.size, 1000, "cat is nobody's now");
    assert_eq!(p.layers[1].len(), 3);
    assert!(p.layers[1].iter().all(|c| c.change == "removed"));
}

#[test]
fn a_package_without_a_file_list_has_unknown_bytes_and_a_note() {
    let listing = vec![
        file("usr/share/zoneinfo/UTC", 111),
        file("etc/os-release", 5),
        kept(
            "var/lib/dpkg/status.d/tzdata",
            "Package: tzdata\nVersion: 2024a\nArchitecture: all\n",
        ),
        kept(
            "var/lib/dpkg/status.d/tzdata.md5sums",
            "0123456789abcdef0123456789abcdef  usr/share/zoneinfo/UTC\n",
        ),
        kept(
            "var/lib/dpkg/status.d/base-files",
            "Package: base-files\nVersion: 12.4\nArchitecture: amd64\n",
        ),
    ];
    let p = assert_adds_up(&[listing]);
    assert_eq!(row(&p, "tzdata").size, Some(111));
    assert_eq!(row(&p, "base-files").size, None);
    assert_eq!(p.unowned.size, 5);
    assert!(
        p.notes.iter().any(|n| n.contains("base-files")),
        "{:?}",
        p.notes
    );
}

#[test]
fn npm_packages_own_their_directories_but_not_nested_node_modules() {
    let listing = vec![
        kept(
            "app/node_modules/a/package.json",
            r#"{"name":"a","version":"1.0.0"}"#,
        ),
        file("app/node_modules/a/index.js", 100),
        kept(
            "app/node_modules/a/node_modules/b/package.json",
            r#"{"name":"b","version":"2.0.0"}"#,
        ),
        file("app/node_modules/a/node_modules/b/index.js", 50),
        file("app/node_modules/a/node_modules/.bin/tool", 9),
        kept(
            "app/node_modules/@s/c/package.json",
            r#"{"name":"@s/c","version":"3.0.0"}"#,
        ),
        file("app/node_modules/@s/c/lib/x.js", 10),
        file("app/node_modules/.package-lock.json", 77),
        file("app/server.js", 3),
    ];
    let p = assert_adds_up(&[listing]);
    let json = |s: &str| s.len() as u64;
    assert_eq!(
        row(&p, "a").size,
        Some(100 + json(r#"{"name":"a","version":"1.0.0"}"#))
    );
    assert_eq!(
        row(&p, "b").size,
        Some(50 + json(r#"{"name":"b","version":"2.0.0"}"#))
    );
    assert_eq!(
        row(&p, "@s/c").size,
        Some(10 + json(r#"{"name":"@s/c","version":"3.0.0"}"#))
    );
    assert_eq!(p.unowned.size, 9 + 77 + 3);
    assert_eq!(p.found, [Ecosystem::Npm]);
}

#[test]
fn python_records_apk_and_an_unreadable_rpm_database_each_count() {
    let listing = vec![
        kept(
            "lib/apk/db/installed",
            "P:musl\nV:1.2.4-r2\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:busybox\nV:1.36.1-r5\nF:bin\nR:busybox\n",
        ),
        file("lib/ld-musl-x86_64.so.1", 600),
        file("bin/busybox", 900),
        kept(
            "usr/lib/python3.11/site-packages/six-1.16.0.dist-info/RECORD",
            "six.py,sha256=x,34\nsix-1.16.0.dist-info/RECORD,,\n",
        ),
        file("usr/lib/python3.11/site-packages/six.py", 34),
        file("var/lib/rpm/Packages", 4096),
    ];
    let p = assert_adds_up(&[listing]);
    assert_eq!(row(&p, "musl").size, Some(600));
    assert_eq!(row(&p, "busybox").size, Some(900));
    let record = "six.py,sha256=x,34\nsix-1.16.0.dist-info/RECORD,,\n".len() as u64;
    assert_eq!(row(&p, "six").size, Some(34 + record));
    assert_eq!(row(&p, "six").version.as_deref(), Some("1.16.0"));
    // The apk database and rpm's are the databases'.
    assert_eq!(p.databases.files, 2);
    assert_eq!(p.unowned.size, 0);
    assert!(
        p.notes.iter().any(|n| n.contains("Berkeley DB")),
        "{:?}",
        p.notes
    );
    assert_eq!(
        p.found,
        [Ecosystem::Apk, Ecosystem::Python],
        "rpm's unread database names no package"
    );
}

#[test]
fn an_image_without_databases_is_all_unowned() {
    let p = assert_adds_up(&[vec![file("app/bin", 10), link("app/b", "bin")]]);
    assert!(p.rows.is_empty());
    assert_eq!(p.unowned.size, 13);
    assert!(p.found.is_empty());
}
