//! dpkg's database, as Debian and Ubuntu keep it and as distroless writes it:
//! `status` (a control paragraph per package), `info/NAME[:ARCH].list` (the
//! paths each package installed), `diversions` (paths moved aside), the
//! `status.d/` directory of distroless (a paragraph and an `.md5sums` per
//! package) and apt's `extended_states` (which packages it pulled in).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{Diversion, Ecosystem, Listed, normalise_listed};

/// One control paragraph: its fields, names as written.
pub type Paragraph = HashMap<String, String>;

/// The paragraphs of a control file (`status`, `extended_states`):
/// `Field: value` lines, continued by lines that start with a space or a
/// tab, paragraphs apart by blank lines.
pub fn paragraphs(text: &[u8]) -> Vec<Paragraph> {
    let text = String::from_utf8_lossy(text);
    let mut all = Vec::new();
    let mut current = Paragraph::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                all.push(std::mem::take(&mut current));
            }
            last = None;
        } else if line.starts_with([' ', '\t']) {
            if let Some(value) = last.as_ref().and_then(|k| current.get_mut(k)) {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            let key = key.trim().to_string();
            current.insert(key.clone(), value.trim().to_string());
            last = Some(key);
        }
    }
    if !current.is_empty() {
        all.push(current);
    }
    all
}

/// True when a `Status:` value means the package's files are on disk
/// (`install ok installed`, and the half-done states); `config-files` and
/// `not-installed` leave only configuration, if anything.
fn installed(status: &str) -> bool {
    let state = status.split_whitespace().nth(2).unwrap_or("");
    !matches!(state, "" | "not-installed" | "config-files")
}

/// A relation field (`Depends: a (>= 1) | b, c:any [amd64]`): each element
/// a list of alternatives, by name alone.
pub fn relations(value: Option<&String>) -> Vec<Vec<String>> {
    let Some(value) = value else {
        return Vec::new();
    };
    value
        .split(',')
        .map(|group| {
            group
                .split('|')
                .filter_map(|alternative| {
                    let name = alternative
                        .trim()
                        .split([' ', '(', '[', '<'])
                        .next()
                        .unwrap_or("");
                    let name = name.split(':').next().unwrap_or("");
                    (!name.is_empty()).then(|| name.to_string())
                })
                .collect::<Vec<_>>()
        })
        .filter(|g| !g.is_empty())
        .collect()
}

/// The packages `status` says are installed, each with the file list of
/// `lists` (by `NAME:ARCH.list` or `NAME.list`); a package whose list is
/// missing is listed with no files.
pub fn from_status(
    status: &[u8],
    lists: &BTreeMap<String, &[u8]>,
    auto: Option<&HashSet<String>>,
) -> Vec<Listed> {
    paragraphs(status)
        .into_iter()
        .filter(|p| p.get("Status").is_some_and(|s| installed(s)))
        .filter_map(|p| {
            let name = p.get("Package")?.clone();
            let arch = p.get("Architecture").cloned().unwrap_or_default();
            let list = lists
                .get(&format!("{name}:{arch}"))
                .or_else(|| lists.get(&name));
            let files = list.map(|l| {
                l.split(|&b| b == b'\n')
                    .filter_map(|line| normalise_listed(line, b""))
                    .collect()
            });
            Some(listed(p, name, files, auto))
        })
        .collect()
}

fn listed(
    p: Paragraph,
    name: String,
    files: Option<Vec<Box<[u8]>>>,
    auto: Option<&HashSet<String>>,
) -> Listed {
    let mut depends = relations(p.get("Depends"));
    depends.extend(relations(p.get("Pre-Depends")));
    Listed {
        ecosystem: Ecosystem::Dpkg,
        version: p.get("Version").cloned().unwrap_or_default(),
        manual: auto.map(|auto| !auto.contains(&name)),
        name,
        files,
        dir: None,
        depends,
        recommends: relations(p.get("Recommends")),
        provides: relations(p.get("Provides")).into_iter().flatten().collect(),
    }
}

/// distroless's `status.d/`: each file a package's paragraph, and beside
/// it `NAME.md5sums` (`MD5  path` lines) with its files. A package whose
/// builder wrote no md5sums is listed with no files.
pub fn from_status_d(files: &BTreeMap<String, &[u8]>) -> Vec<Listed> {
    files
        .iter()
        .filter(|(name, _)| !name.ends_with(".md5sums"))
        .flat_map(|(stem, text)| {
            let md5sums = files.get(&format!("{stem}.md5sums"));
            paragraphs(text).into_iter().filter_map(move |p| {
                let name = p.get("Package")?.clone();
                let files = md5sums.map(|sums| {
                    sums.split(|&b| b == b'\n')
                        .filter_map(|line| {
                            // `d41d8cd98f00b204e9800998ecf8427e  usr/bin/x`
                            let at = line.iter().position(|&b| b == b' ')?;
                            let path = line[at..].trim_ascii_start();
                            normalise_listed(path, b"")
                        })
                        .collect()
                });
                Some(listed(p, name, files, None))
            })
        })
        .collect()
}

/// The packages apt marked `Auto-Installed: 1`: pulled in, not asked for.
pub fn auto_installed(extended_states: &[u8]) -> HashSet<String> {
    paragraphs(extended_states)
        .into_iter()
        .filter(|p| p.get("Auto-Installed").is_some_and(|v| v.trim() == "1"))
        .filter_map(|p| p.get("Package").cloned())
        .collect()
}

/// `diversions`: three lines each, the path, where it went, and the
/// package that diverted it (`:` for a local diversion).
pub fn diversions(text: &[u8]) -> Vec<Diversion> {
    let lines: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .chunks_exact(3)
        .filter_map(|triple| {
            Some(Diversion {
                from: normalise_listed(triple[0], b"")?,
                to: normalise_listed(triple[1], b"")?,
                by: String::from_utf8_lossy(triple[2]).trim().to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "\
Package: dash
Status: install ok installed
Priority: required
Architecture: amd64
Version: 0.5.12-2
Pre-Depends: libc6 (>= 2.34)
Description: POSIX-compliant shell
 The Debian Almquist Shell.

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 2.36-9+deb12u10
Depends: libgcc-s1
Recommends: libidn2-0 (>= 2.0.5~)

Package: gone
Status: deinstall ok config-files
Architecture: all
Version: 1

Package: build-essential
Status: install ok installed
Architecture: amd64
Version: 12.9
Depends: libc6-dev | libc-dev, gcc (>= 4:12.2), g++:any [amd64], make, dpkg-dev (>= 1.17.11)
Provides: builder (= 1), tools
";

    #[test]
    fn status_and_lists_name_installed_packages_with_their_files() {
        let dash_list: &[u8] = b"/.\n/bin\n/bin/dash\n/usr/share/man/man1/dash.1.gz\n";
        let libc_list: &[u8] = b"/.\n/lib64/ld-linux-x86-64.so.2\n";
        let lists = BTreeMap::from([
            ("dash".to_string(), dash_list),
            ("libc6:amd64".to_string(), libc_list),
        ]);
        let auto = HashSet::from(["libc6".to_string()]);
        let all = from_status(STATUS.as_bytes(), &lists, Some(&auto));
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["dash", "libc6", "build-essential"]);
        let dash = &all[0];
        assert_eq!(dash.version, "0.5.12-2");
        assert_eq!(dash.manual, Some(true));
        assert_eq!(dash.depends, [vec!["libc6".to_string()]]);
        let files: Vec<&[u8]> = dash.files.as_ref().unwrap().iter().map(|f| &**f).collect();
        assert_eq!(
            files,
            [
                b"bin".as_slice(),
                b"bin/dash",
                b"usr/share/man/man1/dash.1.gz"
            ]
        );
        assert_eq!(all[1].manual, Some(false));
        assert_eq!(all[1].recommends, [vec!["libidn2-0".to_string()]]);
        assert_eq!(all[1].files.as_ref().unwrap().len(), 1);
        let essential = &all[2];
        assert_eq!(essential.files, None, "no list: files unknown");
        assert_eq!(
            essential.depends,
            [
                vec!["libc6-dev".to_string(), "libc-dev".to_string()],
                vec!["gcc".to_string()],
                vec!["g++".to_string()],
                vec!["make".to_string()],
                vec!["dpkg-dev".to_string()],
            ]
        );
        assert_eq!(essential.provides, ["builder", "tools"]);
    }

    #[test]
    fn diversions_and_extended_states_are_read() {
        let d = diversions(
            b"/usr/share/man/man1/sh.1.gz\n/usr/share/man/man1/sh.distrib.1.gz\ndash\n/bin/sh\n/bin/sh.distrib\ndash\n",
        );
        assert_eq!(d.len(), 2);
        assert_eq!(&*d[1].from, b"bin/sh");
        assert_eq!(&*d[1].to, b"bin/sh.distrib");
        assert_eq!(d[1].by, "dash");
        let auto = auto_installed(
            b"Package: gcc-12\nArchitecture: amd64\nAuto-Installed: 1\n\nPackage: make\nArchitecture: amd64\nAuto-Installed: 0\n",
        );
        assert_eq!(auto, HashSet::from(["gcc-12".to_string()]));
    }

    #[test]
    fn status_d_pairs_each_paragraph_with_its_md5sums() {
        let tz: &[u8] = b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n";
        let sums: &[u8] =
            b"0123456789abcdef0123456789abcdef  usr/share/zoneinfo/UTC\nffffffffffffffffffffffffffffffff  usr/share/doc/tzdata/copyright\n";
        let base: &[u8] = b"Package: base-files\nVersion: 12.4\n";
        let files = BTreeMap::from([
            ("tzdata".to_string(), tz),
            ("tzdata.md5sums".to_string(), sums),
            ("base-files".to_string(), base),
        ]);
        let all = from_status_d(&files);
        assert_eq!(all.len(), 2);
        let base = all.iter().find(|p| p.name == "base-files").unwrap();
        assert_eq!(base.files, None);
        let tz = all.iter().find(|p| p.name == "tzdata").unwrap();
        assert_eq!(tz.version, "2024a-0+deb12u1");
        assert_eq!(
            tz.files.as_ref().unwrap()[0].as_ref(),
            b"usr/share/zoneinfo/UTC"
        );
    }
}
