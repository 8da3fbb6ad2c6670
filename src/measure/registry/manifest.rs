//! Registry manifests as JSON: Docker v2 image manifests and manifest lists,
//! OCI image manifests and indexes. Only what measuring needs is read: the
//! layer descriptors of an image, the entries of an index.

use serde::Deserialize;

use crate::measure::platform::IndexEntry;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// The `Accept` header of a manifest request: images and indexes, both kinds.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// A layer blob as an image manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

/// What a manifest is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// One image: its config blob (diff IDs, history, platform) and its
    /// layer blobs, oldest first.
    Image {
        config: Option<Descriptor>,
        layers: Vec<Descriptor>,
    },
    /// An index (manifest list): one entry per platform, and attestations.
    Index { entries: Vec<IndexEntry> },
}

/// Why a manifest could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest is not valid JSON: {0}")]
    Json(String),
    #[error("the manifest does not have the expected shape: {0}")]
    Shape(String),
    #[error(
        "the manifest is a Docker schema 1 manifest, which carries no layer sizes; push the image again with a current docker or buildah"
    )]
    Schema1,
    #[error("the manifest has schemaVersion {0}; only version 2 is understood")]
    SchemaVersion(u64),
    #[error("the manifest has media type `{0}`, which is neither an image nor an index")]
    MediaType(String),
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "schemaVersion", default)]
    schema_version: Option<u64>,
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<serde_json::Value>,
    #[serde(default)]
    layers: Option<serde_json::Value>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
}

/// Reads a manifest. Its kind comes from its own `mediaType`, else from the
/// response's `Content-Type`, else from its shape (`manifests` or `layers`).
pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Manifest, ManifestError> {
    let raw: Raw = serde_json::from_slice(body).map_err(|e| ManifestError::Json(e.to_string()))?;
    let header_type = content_type
        .map(|t| t.split(';').next().unwrap_or(t).trim())
        .filter(|t| !t.is_empty() && *t != "application/json" && *t != "text/plain");
    let media_type = raw.media_type.as_deref().or(header_type);
    if matches!(media_type, Some(DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED)) {
        return Err(ManifestError::Schema1);
    }
    match raw.schema_version {
        Some(2) => {}
        Some(1) => return Err(ManifestError::Schema1),
        Some(v) => return Err(ManifestError::SchemaVersion(v)),
        None => return Err(ManifestError::Shape("it has no `schemaVersion`".into())),
    }
    let is_index = match media_type {
        Some(OCI_INDEX | DOCKER_LIST) => true,
        Some(OCI_MANIFEST | DOCKER_MANIFEST) => false,
        // OCI allows leaving mediaType out; artifacts may name their own.
        _ if raw.manifests.is_some() => true,
        _ if raw.layers.is_some() => false,
        Some(other) => return Err(ManifestError::MediaType(other.to_string())),
        None => {
            return Err(ManifestError::Shape(
                "it has neither `layers` nor `manifests`".into(),
            ));
        }
    };
    if is_index {
        let entries = raw
            .manifests
            .ok_or_else(|| ManifestError::Shape("the index has no `manifests` list".into()))?;
        let entries: Vec<IndexEntry> = serde_json::from_value(entries)
            .map_err(|e| ManifestError::Shape(format!("`manifests`: {e}")))?;
        Ok(Manifest::Index { entries })
    } else {
        let layers = raw.layers.ok_or_else(|| {
            ManifestError::Shape("the image manifest has no `layers` list".into())
        })?;
        let layers: Vec<Descriptor> = serde_json::from_value(layers)
            .map_err(|e| ManifestError::Shape(format!("`layers`: {e}")))?;
        let config: Option<Descriptor> = match raw.config {
            Some(config) => Some(
                serde_json::from_value(config)
                    .map_err(|e| ManifestError::Shape(format!("`config`: {e}")))?,
            ),
            None => None,
        };
        Ok(Manifest::Image { config, layers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_oci_image_and_a_docker_image() {
        let oci = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:c","size":7},
            "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:a","size":10},
                      {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:b","size":32}]}"#;
        let Manifest::Image { config, layers } = parse(oci, None).unwrap() else {
            panic!("not an image")
        };
        assert_eq!(layers.iter().map(|l| l.size).collect::<Vec<_>>(), [10, 32]);
        assert_eq!(
            config.map(|c| (c.digest, c.size)),
            Some(("sha256:c".into(), 7))
        );
        // No mediaType in the body: the header tells.
        let docker = br#"{"schemaVersion":2,"config":{"digest":"sha256:c","size":7},"layers":[]}"#;
        assert_eq!(
            parse(
                docker,
                Some("application/vnd.docker.distribution.manifest.v2+json")
            )
            .unwrap(),
            Manifest::Image {
                config: Some(Descriptor {
                    media_type: String::new(),
                    digest: "sha256:c".into(),
                    size: 7
                }),
                layers: vec![]
            }
        );
    }

    #[test]
    fn reads_an_index_without_a_media_type() {
        let index = br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:a","size":1,
            "platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}"#;
        let Manifest::Index { entries } = parse(index, Some("application/json")).unwrap() else {
            panic!("not an index")
        };
        assert_eq!(
            entries[0].platform_name().as_deref(),
            Some("linux/arm64/v8")
        );
    }

    #[test]
    fn refuses_what_it_cannot_measure() {
        assert!(matches!(
            parse(b"{not json", None),
            Err(ManifestError::Json(_))
        ));
        assert_eq!(
            parse(br#"{"schemaVersion":1,"fsLayers":[]}"#, None),
            Err(ManifestError::Schema1)
        );
        assert!(matches!(
            parse(br#"{"schemaVersion":2,"layers":[{"digest":"sha256:a"}]}"#, None),
            Err(ManifestError::Shape(m)) if m.contains("size")
        ));
        assert_eq!(
            parse(br#"{"schemaVersion":2,"mediaType":"text/x-thing"}"#, None),
            Err(ManifestError::MediaType("text/x-thing".into()))
        );
    }
}
