//! Images in files: the tar that `docker save` writes (`docker-archive:`),
//! OCI archives (`oci-archive:`) and OCI layout directories (`oci:`),
//! measured the way the engine counts them, streaming.
//!
//! - [`layer`]: one layer tar counted (size, diff ID, gzip estimate).
//! - `store`: reading the files of a tar on disk, a tar stream, a directory.
//! - `docker`: manifest.json of `docker save`, legacy and Docker 25+ layouts.
//! - `oci`: index.json, nested indexes, platforms.
//! - `image`: one image's config and layers made into a [`Measurement`].

mod docker;
mod image;
mod oci;
mod store;

use std::io::Read;
use std::path::Path;

use crate::measure::Measurement;
use crate::measure::platform::SelectError;
use crate::model::PlatformChoice;

pub use crate::measure::layer::{Compression, KnownLayer, LayerError, LayerStats, layer_size};
pub use store::Reuse;

/// Why an archive or layout could not be measured. Each message says what
/// to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot open `{path}`: {reason}\n  hint: check the path; `docker save -o FILE IMAGE` or `skopeo copy` writes an image archive"
    )]
    Open { path: String, reason: String },
    #[error(
        "`{archive}` is not a tar archive: {reason}\n  hint: give the file that `docker save` or `skopeo copy` wrote (a plain, gzip or zstd tar)"
    )]
    NotTar { archive: String, reason: String },
    #[error(
        "`{archive}` is truncated or damaged: {reason}\n  hint: write it again; a copy cut short or a full disk leaves an archive incomplete"
    )]
    Truncated { archive: String, reason: String },
    #[error(
        "`{archive}` has no `{file}`: it is not {expected}, or it was cut short\n  hint: write it again with `docker save` or `skopeo copy`"
    )]
    MissingFile {
        archive: String,
        file: &'static str,
        expected: &'static str,
    },
    #[error(
        "`{file}` in `{archive}` is malformed: {reason}\n  hint: the archive is damaged or was not written by docker or skopeo; write it again"
    )]
    Malformed {
        archive: String,
        file: String,
        reason: String,
    },
    #[error(
        "`{archive}` lacks `{blob}`, which `{listed_in}` lists\n  hint: the archive is incomplete; write it again (`docker save`, `skopeo copy`)"
    )]
    MissingBlob {
        archive: String,
        blob: String,
        listed_in: String,
    },
    #[error(
        "`{blob}` in `{archive}` is damaged: {reason}\n  hint: write the archive again; its content no longer matches its manifest"
    )]
    Damaged {
        archive: String,
        blob: String,
        reason: String,
    },
    #[error(
        "layer `{layer}` in `{archive}` cannot be read: {reason}\n  hint: a layer is a plain, gzip or zstd tar; the archive is damaged, write it again"
    )]
    Layer {
        archive: String,
        layer: String,
        reason: String,
    },
    #[error(
        "`{what}` in `{archive}` is not a container image: {reason}\n  hint: name an image in it, not another kind of artifact"
    )]
    NotAnImage {
        archive: String,
        what: String,
        reason: String,
    },
    #[error(
        "`{archive}` holds {} images and none was named\n  hint: name one, as in `{transport}:{archive}:{}`; it has: {}",
        .available.len(), first(.available), list(.available)
    )]
    Ambiguous {
        archive: String,
        transport: &'static str,
        available: Vec<String>,
    },
    #[error(
        "`{archive}` has no image `{wanted}`; it has: {}\n  hint: name one of those after the path, as in `{transport}:{archive}:{}`",
        list(.available), first(.available)
    )]
    NoSuchImage {
        archive: String,
        transport: &'static str,
        wanted: String,
        available: Vec<String>,
    },
    #[error(
        "`{archive}`: {source}\n  hint: name one of those (`platform` in budgets.toml, where \"all\" checks each; `--platform` for `budget explain`)"
    )]
    Platform {
        archive: String,
        #[source]
        source: SelectError,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

fn first(names: &[String]) -> &str {
    names.first().map_or("NAME", String::as_str)
}

/// The reference as skopeo would write it: `TRANSPORT:PATH[:SELECTOR]`.
fn reference(transport: &str, path: &str, selector: Option<&str>) -> String {
    match selector {
        Some(s) => format!("{transport}:{path}:{s}"),
        None => format!("{transport}:{path}"),
    }
}

/// Measures the image in a tar that `docker save` (or skopeo's
/// `docker-archive:`) wrote: the legacy layout (`<id>/layer.tar`) or Docker
/// 25's OCI layout with manifest.json; a gzip or zstd tar is read too.
/// `selector` is a tag from manifest.json's `RepoTags` or `@N` (0-based);
/// without one the archive must hold a single image. One measurement, or
/// an error naming what is in the archive.
pub fn measure_docker_archive(
    path: &Path,
    selector: Option<&str>,
    platform: Option<&PlatformChoice>,
    estimate_compressed: bool,
) -> Result<Vec<Measurement>, Error> {
    let mut store = store::open_tar(path, estimate_compressed)?;
    let name = path.display().to_string();
    docker::measure(
        &mut *store,
        &reference("docker-archive", &name, selector),
        selector,
        platform,
    )
}

/// [`measure_docker_archive`] over a stream (such as the engine's image
/// export), read once: each layer is counted as it passes and only small
/// JSON files are kept. `name` says what the stream is, in messages and in
/// the measurement's reference.
pub fn measure_docker_archive_reader<R: Read>(
    reader: R,
    name: &str,
    selector: Option<&str>,
    platform: Option<&PlatformChoice>,
    estimate_compressed: bool,
) -> Result<Vec<Measurement>, Error> {
    measure_docker_archive_reusing(
        reader,
        name,
        selector,
        platform,
        estimate_compressed,
        &Reuse::default(),
    )
}

/// [`measure_docker_archive_reader`], passing the layers `reuse` knows
/// without decompressing them (their listings are then unknown) and telling
/// it every layer counted in full: an engine's export, of which only the
/// layers not seen before cost a read.
pub fn measure_docker_archive_reusing<R: Read>(
    reader: R,
    name: &str,
    selector: Option<&str>,
    platform: Option<&PlatformChoice>,
    estimate_compressed: bool,
    reuse: &Reuse,
) -> Result<Vec<Measurement>, Error> {
    let mut store = store::TarStream::read_reusing(reader, name, estimate_compressed, reuse)?;
    docker::measure(
        &mut store,
        &reference("docker-archive", name, selector),
        selector,
        platform,
    )
}

/// Measures an OCI archive (a tar of an OCI image layout, skopeo's
/// `oci-archive:PATH[:REF]`). `selector` matches the
/// `org.opencontainers.image.ref.name` annotation in index.json. One
/// measurement per platform chosen (`all`: each, attestations skipped).
pub fn measure_oci_archive(
    path: &Path,
    selector: Option<&str>,
    platform: Option<&PlatformChoice>,
    estimate_compressed: bool,
) -> Result<Vec<Measurement>, Error> {
    let mut store = store::open_tar(path, estimate_compressed)?;
    let name = path.display().to_string();
    // The tar that `docker save` writes is read as what it is: its
    // manifest.json names the images even where no index.json does.
    if store.small("index.json")?.is_none() && store.small("manifest.json")?.is_some() {
        return docker::measure(
            &mut *store,
            &reference("docker-archive", &name, selector),
            selector,
            platform,
        );
    }
    oci::measure(
        &mut *store,
        oci::Source::OciArchive,
        &reference("oci-archive", &name, selector),
        selector,
        platform,
    )
}

/// Measures an OCI image layout directory (skopeo's `oci:DIR[:TAG]`), as
/// [`measure_oci_archive`] does.
pub fn measure_oci_layout(
    dir: &Path,
    selector: Option<&str>,
    platform: Option<&PlatformChoice>,
    estimate_compressed: bool,
) -> Result<Vec<Measurement>, Error> {
    let mut store = store::Dir::open(dir, estimate_compressed)?;
    let name = dir.display().to_string();
    oci::measure(
        &mut store,
        oci::Source::OciLayout,
        &reference("oci", &name, selector),
        selector,
        platform,
    )
}

/// Parses a JSON file of the archive, or says which file is malformed.
fn parse_json<T: serde::de::DeserializeOwned>(
    archive: &str,
    file: &str,
    bytes: &[u8],
) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Malformed {
        archive: archive.to_string(),
        file: file.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_why_and_what_next() {
        let err = Error::Ambiguous {
            archive: "two.tar".into(),
            transport: "docker-archive",
            available: vec!["a:1".into(), "b:2".into()],
        };
        assert_eq!(
            err.to_string(),
            "`two.tar` holds 2 images and none was named\n  hint: name one, as in `docker-archive:two.tar:a:1`; it has: a:1, b:2"
        );
        let err = Error::NoSuchImage {
            archive: "dir".into(),
            transport: "oci",
            wanted: "v9".into(),
            available: vec![],
        };
        assert_eq!(
            err.to_string(),
            "`dir` has no image `v9`; it has: none\n  hint: name one of those after the path, as in `oci:dir:NAME`"
        );
        let err = Error::Platform {
            archive: "x".into(),
            source: SelectError::Missing {
                wanted: "linux/s390x".into(),
                available: vec!["linux/amd64".into()],
            },
        };
        assert_eq!(
            err.to_string(),
            "`x`: the image has no `linux/s390x` manifest; it has: linux/amd64\n  hint: name one of those (`platform` in budgets.toml, where \"all\" checks each; `--platform` for `budget explain`)"
        );
    }

    #[test]
    fn references_read_as_skopeo_writes_them() {
        assert_eq!(reference("oci", "/l", Some("v1")), "oci:/l:v1".to_string());
        assert_eq!(
            reference("docker-archive", "a.tar", None),
            "docker-archive:a.tar"
        );
    }
}
