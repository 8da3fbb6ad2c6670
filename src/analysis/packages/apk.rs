//! apk's database (`lib/apk/db/installed`, as Alpine and Wolfi keep it): a
//! record per package, apart by blank lines, of `X:value` lines: `P` the
//! name, `V` the version, `F` a directory and the `R` lines after it the
//! files in it, `D` the dependencies and `p` what it provides.

use super::{Ecosystem, Listed, normalise_listed};

/// The packages of an `installed` file, each with its files.
pub fn parse(text: &[u8]) -> Vec<Listed> {
    let mut all = Vec::new();
    let mut current: Option<Listed> = None;
    let mut dir: Vec<u8> = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            all.extend(current.take());
            continue;
        }
        let (Some(&key), Some(b':')) = (line.first(), line.get(1)) else {
            continue;
        };
        let value = &line[2..];
        let package = current.get_or_insert_with(|| {
            dir.clear();
            Listed::new(
                Ecosystem::Apk,
                String::new(),
                String::new(),
                Some(Vec::new()),
            )
        });
        let text = || String::from_utf8_lossy(value).into_owned();
        match key {
            b'P' => package.name = text(),
            b'V' => package.version = text(),
            b'F' => dir = value.to_vec(),
            b'R' => {
                let mut path = dir.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(value);
                if let (Some(files), Some(path)) =
                    (package.files.as_mut(), normalise_listed(&path, b""))
                {
                    files.push(path);
                }
            }
            b'D' => package.depends = words(value),
            b'p' => package.provides = words(value).into_iter().flatten().collect(),
            _ => {}
        }
    }
    all.extend(current);
    all.retain(|p| !p.name.is_empty());
    all
}

/// `so:libc.musl-x86_64.so.1 busybox>=1.36 !foo`: each a name, versions and
/// conflicts (`!`) left out.
fn words(value: &[u8]) -> Vec<Vec<String>> {
    String::from_utf8_lossy(value)
        .split_whitespace()
        .filter(|w| !w.starts_with('!'))
        .map(|w| {
            let name = w.split(['=', '<', '>', '~']).next().unwrap_or(w);
            vec![name.to_string()]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_their_files_under_each_directory() {
        let db = b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nI:622592\nT:the musl c library\nF:lib\nR:ld-musl-x86_64.so.1\nZ:Q1xyz=\nR:libc.musl-x86_64.so.1\nF:usr/lib\n\nP:busybox\nV:1.36.1-r5\nD:so:libc.musl-x86_64.so.1\np:/bin/sh cmd:busybox=1.36.1-r5\nF:bin\nR:busybox\nF:etc\nR:securetty\n";
        let all = parse(db);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].name, "musl");
        assert_eq!(all[0].version, "1.2.4-r2");
        let files: Vec<&[u8]> = all[0]
            .files
            .as_ref()
            .unwrap()
            .iter()
            .map(|f| &**f)
            .collect();
        assert_eq!(
            files,
            [
                b"lib/ld-musl-x86_64.so.1".as_slice(),
                b"lib/libc.musl-x86_64.so.1"
            ]
        );
        assert_eq!(
            all[1].depends,
            [vec!["so:libc.musl-x86_64.so.1".to_string()]]
        );
        assert_eq!(all[1].provides, ["/bin/sh", "cmd:busybox"]);
        assert_eq!(all[1].files.as_ref().unwrap().len(), 2);
        assert!(parse(b"").is_empty());
        assert!(parse(b"garbage\n\nR:orphan\n").is_empty());
    }
}
