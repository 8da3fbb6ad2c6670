//! Python packages as pip (and `setup.py install`) record them: a
//! `NAME-VERSION.dist-info/RECORD` (CSV: path, hash, size; paths relative to
//! the directory that holds the `.dist-info`, `..` allowed) or an older
//! `NAME-VERSION[-pyX.Y].egg-info/installed-files.txt` (paths relative to
//! the `.egg-info` directory).

use super::{Ecosystem, Listed, normalise_listed};
use crate::measure::layer::kept::split;

/// The package whose `RECORD` is at `path`.
pub fn record(path: &[u8], text: &[u8]) -> Listed {
    let (info, _) = split(path);
    let (site, dir) = split(info);
    let (name, version) = name_version(dir, b".dist-info");
    let files = text
        .split(|&b| b == b'\n')
        .filter_map(|line| normalise_listed(&first_csv_field(line), site))
        .collect();
    Listed::new(Ecosystem::Python, name, version, Some(files))
}

/// The package whose `installed-files.txt` is at `path`.
pub fn egg_files(path: &[u8], text: &[u8]) -> Listed {
    let (info, _) = split(path);
    let (_, dir) = split(info);
    let (name, version) = name_version(dir, b".egg-info");
    let mut files: Vec<Box<[u8]>> = text
        .split(|&b| b == b'\n')
        .filter_map(|line| normalise_listed(line, info))
        .collect();
    // The list leaves out itself.
    files.extend(normalise_listed(path, b""));
    Listed::new(Ecosystem::Python, name, version, Some(files))
}

/// `six-1.16.0.dist-info` → (`six`, `1.16.0`); an egg's `-pyX.Y` tag is
/// dropped.
fn name_version(dir: &[u8], suffix: &[u8]) -> (String, String) {
    let stem = dir.strip_suffix(suffix).unwrap_or(dir);
    let stem = String::from_utf8_lossy(stem);
    let mut parts = stem.splitn(3, '-');
    let name = parts.next().unwrap_or_default().to_string();
    let version = parts.next().unwrap_or_default().to_string();
    (name, version)
}

/// The first field of a CSV line, unquoted (`"a,""b"""` is `a,"b"`).
fn first_csv_field(line: &[u8]) -> Vec<u8> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(rest) = line.strip_prefix(b"\"") else {
        return line
            .split(|&b| b == b',')
            .next()
            .unwrap_or_default()
            .to_vec();
    };
    let mut out = Vec::new();
    let mut bytes = rest.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if b == b'"' {
            if bytes.peek() == Some(&b'"') {
                bytes.next();
            } else {
                break;
            }
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(listed: &Listed) -> Vec<String> {
        listed
            .files
            .as_ref()
            .unwrap()
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect()
    }

    #[test]
    fn a_record_names_paths_from_the_site_directory_and_beyond() {
        let at = b"usr/local/lib/python3.11/site-packages/Flask-3.0.0.dist-info/RECORD";
        let text = b"../../../bin/flask,sha256=abc,238\nflask/__init__.py,sha256=def,2603\n\"flask/odd,name.py\",sha256=x,1\nFlask-3.0.0.dist-info/RECORD,,\n\n";
        let p = record(at, text);
        assert_eq!((p.name.as_str(), p.version.as_str()), ("Flask", "3.0.0"));
        assert_eq!(
            paths(&p),
            [
                "usr/local/bin/flask",
                "usr/local/lib/python3.11/site-packages/flask/__init__.py",
                "usr/local/lib/python3.11/site-packages/flask/odd,name.py",
                "usr/local/lib/python3.11/site-packages/Flask-3.0.0.dist-info/RECORD",
            ]
        );
    }

    #[test]
    fn an_egg_lists_from_its_own_directory_and_owns_its_list() {
        let at = b"usr/lib/python3/dist-packages/six-1.16.0-py3.11.egg-info/installed-files.txt";
        let p = egg_files(at, b"../six.py\nPKG-INFO\n");
        assert_eq!((p.name.as_str(), p.version.as_str()), ("six", "1.16.0"));
        assert_eq!(
            paths(&p),
            [
                "usr/lib/python3/dist-packages/six.py",
                "usr/lib/python3/dist-packages/six-1.16.0-py3.11.egg-info/PKG-INFO",
                "usr/lib/python3/dist-packages/six-1.16.0-py3.11.egg-info/installed-files.txt",
            ]
        );
    }
}
