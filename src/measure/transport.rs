//! Where an image reference points, with skopeo's transport names:
//! `docker-daemon:REF`, `docker://REF`, `oci-archive:PATH[:REF]`,
//! `docker-archive:PATH[:REF|:@N]`, `oci:DIR[:TAG]`; a plain reference is
//! looked up in the engine first, then in its registry.

use std::path::PathBuf;

use crate::reference;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A plain reference: the engine, then the registry.
    Auto(String),
    Daemon(String),
    Registry(String),
    DockerArchive {
        path: PathBuf,
        selector: Option<String>,
    },
    OciArchive {
        path: PathBuf,
        selector: Option<String>,
    },
    OciLayout {
        dir: PathBuf,
        tag: Option<String>,
    },
}

/// skopeo splits `PATH[:REF]` at the first colon.
fn path_and_selector(rest: &str) -> (PathBuf, Option<String>) {
    match rest.split_once(':') {
        Some((path, sel)) if !sel.is_empty() => (PathBuf::from(path), Some(sel.to_string())),
        Some((path, _)) => (PathBuf::from(path), None),
        None => (PathBuf::from(rest), None),
    }
}

/// Reads a reference; the error says what is wrong with it.
pub fn parse(text: &str) -> Result<Source, String> {
    let checked = |r: &str| reference::validate(r).map(|()| r.to_string());
    if let Some(rest) = text.strip_prefix("docker-daemon:") {
        return checked(rest).map(Source::Daemon);
    }
    if let Some(rest) = text.strip_prefix("docker://") {
        return checked(rest).map(Source::Registry);
    }
    for (prefix, make) in [("docker-archive:", 0), ("oci-archive:", 1), ("oci:", 2)] {
        if let Some(rest) = text.strip_prefix(prefix) {
            let (path, selector) = path_and_selector(rest);
            if path.as_os_str().is_empty() {
                return Err(format!(
                    "`{prefix}` needs a path, such as `{prefix}image.tar`"
                ));
            }
            return Ok(match make {
                0 => Source::DockerArchive { path, selector },
                1 => Source::OciArchive { path, selector },
                _ => Source::OciLayout {
                    dir: path,
                    tag: selector,
                },
            });
        }
    }
    if let Some((scheme, _)) = text.split_once(':')
        && matches!(
            scheme,
            "docker" | "containers-storage" | "dir" | "ostree" | "sif"
        )
        && !text.starts_with("docker://")
    {
        return Err(format!(
            "the `{scheme}:` transport is not supported; use docker-daemon:, docker://, docker-archive:, oci-archive: or oci:"
        ));
    }
    checked(text).map(Source::Auto)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_force_a_source() {
        assert_eq!(parse("acme/api:1"), Ok(Source::Auto("acme/api:1".into())));
        assert_eq!(
            parse("docker-daemon:acme/api:1"),
            Ok(Source::Daemon("acme/api:1".into()))
        );
        assert_eq!(
            parse("docker://localhost:5000/api:1"),
            Ok(Source::Registry("localhost:5000/api:1".into()))
        );
        assert_eq!(
            parse("docker-archive:out/api.tar"),
            Ok(Source::DockerArchive {
                path: "out/api.tar".into(),
                selector: None
            })
        );
        assert_eq!(
            parse("docker-archive:api.tar:acme/api:1"),
            Ok(Source::DockerArchive {
                path: "api.tar".into(),
                selector: Some("acme/api:1".into())
            })
        );
        assert_eq!(
            parse("oci-archive:api.tar:v1"),
            Ok(Source::OciArchive {
                path: "api.tar".into(),
                selector: Some("v1".into())
            })
        );
        assert_eq!(
            parse("oci:build/layout:latest"),
            Ok(Source::OciLayout {
                dir: "build/layout".into(),
                tag: Some("latest".into())
            })
        );
        assert_eq!(
            parse("oci:build/layout"),
            Ok(Source::OciLayout {
                dir: "build/layout".into(),
                tag: None
            })
        );
    }

    #[test]
    fn bad_references_are_refused() {
        assert!(
            parse("docker://Acme/API")
                .unwrap_err()
                .contains("lowercase")
        );
        assert!(parse("oci:").unwrap_err().contains("needs a path"));
        assert!(
            parse("containers-storage:x")
                .unwrap_err()
                .contains("not supported")
        );
    }
}
