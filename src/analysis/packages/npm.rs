//! npm packages: each `node_modules/[@SCOPE/]NAME/package.json` names a
//! package that owns its directory, minus the packages nested in its own
//! `node_modules`.

use super::{Ecosystem, Listed};
use crate::measure::layer::kept::split;

/// The package whose `package.json` at `path` says so; its name and
/// version from the file, or its directory's name when the file has none.
pub fn package(path: &[u8], text: &[u8]) -> Listed {
    #[derive(serde::Deserialize, Default)]
    struct Manifest {
        name: Option<String>,
        version: Option<String>,
    }
    let manifest: Manifest = serde_json::from_slice(text).unwrap_or_default();
    let (dir, _) = split(path);
    let (parent, base) = split(dir);
    let (_, scope) = split(parent);
    let from_dir = if scope.starts_with(b"@") {
        format!(
            "{}/{}",
            String::from_utf8_lossy(scope),
            String::from_utf8_lossy(base)
        )
    } else {
        String::from_utf8_lossy(base).into_owned()
    };
    let mut listed = Listed::new(
        Ecosystem::Npm,
        manifest.name.filter(|n| !n.is_empty()).unwrap_or(from_dir),
        manifest.version.unwrap_or_default(),
        None,
    );
    listed.dir = Some(dir.into());
    listed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_is_named_by_its_manifest_or_its_directory() {
        let p = package(
            b"app/node_modules/@types/node/package.json",
            br#"{"name":"@types/node","version":"20.11.5"}"#,
        );
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("@types/node", "20.11.5")
        );
        assert_eq!(
            p.dir.as_deref(),
            Some(b"app/node_modules/@types/node".as_slice())
        );
        let p = package(b"app/node_modules/left-pad/package.json", b"not json");
        assert_eq!((p.name.as_str(), p.version.as_str()), ("left-pad", ""));
    }
}
