//! OCI image layouts, in a directory or a tar: `index.json` names the
//! images (`org.opencontainers.image.ref.name`); an entry is an image
//! manifest or an image index (manifest list), which may nest. Docker v2 and
//! OCI media types alike.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::image::{self, LayerRef};
use super::store::Store;
use super::{Error, parse_json};
use crate::measure::Measurement;
use crate::measure::digest::sha256_of;
use crate::measure::image_config::ImageConfig;
use crate::measure::platform::{self, IndexEntry};
use crate::model::PlatformChoice;

/// The annotation that names an image in a layout (skopeo's `oci:DIR:TAG`).
pub(super) const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Indexes nest (index.json → image index → manifests); more than a few
/// levels is a loop or nonsense.
const MAX_DEPTH: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    DockerArchive,
    OciArchive,
    OciLayout,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::DockerArchive => "docker-archive",
            Source::OciArchive => "oci-archive",
            Source::OciLayout => "oci",
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Source::DockerArchive => "an archive that `docker save` writes",
            Source::OciArchive => "an OCI archive (a tar of an OCI image layout)",
            Source::OciLayout => "an OCI image layout",
        }
    }
}

#[derive(Debug, Deserialize)]
struct Index {
    manifests: Option<Vec<IndexEntry>>,
}

/// An image manifest, or an index when it has `manifests`.
#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<IndexEntry>>,
}

#[derive(Debug, Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: Option<u64>,
}

fn is_index_type(media_type: &str) -> bool {
    media_type == "application/vnd.oci.image.index.v1+json"
        || media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
}

/// `blobs/<algorithm>/<encoded>` for a digest, refusing anything that could
/// step out of the blobs directory.
fn blob_path(digest: &str) -> Option<String> {
    let (algorithm, encoded) = digest.split_once(':')?;
    let algorithm_ok = !algorithm.is_empty()
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let encoded_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
    (algorithm_ok && encoded_ok).then(|| format!("blobs/{algorithm}/{encoded}"))
}

fn ref_name(entry: &IndexEntry) -> Option<&str> {
    entry.annotations.get(REF_NAME).map(String::as_str)
}

pub(super) fn measure(
    store: &mut dyn Store,
    source: Source,
    reference: &str,
    selector: Option<&str>,
    platform: Option<&PlatformChoice>,
) -> Result<Vec<Measurement>, Error> {
    let archive = store.name().to_string();
    let bytes = store.small("index.json")?.ok_or(Error::MissingFile {
        archive: archive.clone(),
        file: "index.json",
        expected: source.expected(),
    })?;
    let index: Index = parse_json(&archive, "index.json", &bytes)?;
    let entries = index.manifests.ok_or_else(|| Error::Malformed {
        archive: archive.clone(),
        file: "index.json".to_string(),
        reason: "it has no `manifests`".to_string(),
    })?;
    let names: Vec<String> = entries
        .iter()
        .filter_map(ref_name)
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let candidates: Vec<IndexEntry> = match selector {
        Some(wanted) => {
            let found: Vec<IndexEntry> = entries
                .iter()
                .filter(|e| ref_name(e) == Some(wanted))
                .cloned()
                .collect();
            if found.is_empty() {
                return Err(Error::NoSuchImage {
                    archive,
                    transport: source.name(),
                    wanted: wanted.to_string(),
                    available: names,
                });
            }
            found
        }
        // Entries under different names are different images; entries under
        // one name (or none) are the platforms of one.
        None if names.len() > 1 => {
            return Err(Error::Ambiguous {
                archive,
                transport: source.name(),
                available: names,
            });
        }
        None => entries,
    };
    if candidates.is_empty() {
        return Err(Error::NotAnImage {
            archive,
            what: "index.json".to_string(),
            reason: "it lists no manifests".to_string(),
        });
    }
    let mut walker = Walker {
        store,
        archive,
        source,
        reference,
        platform,
        found: Vec::new(),
    };
    walker.choose(candidates, "index.json", 0)?;
    Ok(walker.found)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Index,
    Image,
}

struct Walker<'a> {
    store: &'a mut dyn Store,
    archive: String,
    source: Source,
    reference: &'a str,
    platform: Option<&'a PlatformChoice>,
    found: Vec<Measurement>,
}

impl Walker<'_> {
    /// Picks from `entries` what the platform choice asks for and measures
    /// it, looking inside indexes.
    fn choose(
        &mut self,
        entries: Vec<IndexEntry>,
        listed_in: &str,
        depth: usize,
    ) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(Error::Malformed {
                archive: self.archive.clone(),
                file: listed_in.to_string(),
                reason: format!("indexes nest more than {MAX_DEPTH} deep"),
            });
        }
        if let [only] = entries.as_slice()
            && self.kind(only, listed_in)? == Kind::Index
        {
            let nested = self.nested(only, listed_in)?;
            return self.choose(nested, &only.digest, depth + 1);
        }
        let mut entries = entries;
        // An entry of index.json often has no platform; the config says it.
        for entry in &mut entries {
            if entry.platform.is_none()
                && !entry.is_attestation()
                && self.kind(entry, listed_in)? == Kind::Image
            {
                let (_, config, _) = self.image(entry, listed_in)?;
                entry.platform = config.platform();
            }
        }
        let chosen: Vec<IndexEntry> = platform::select(&entries, self.platform)
            .map_err(|source| Error::Platform {
                archive: self.archive.clone(),
                source,
            })?
            .into_iter()
            .cloned()
            .collect();
        for entry in &chosen {
            match self.kind(entry, listed_in)? {
                Kind::Index => {
                    let nested = self.nested(entry, listed_in)?;
                    self.choose(nested, &entry.digest, depth + 1)?;
                }
                Kind::Image => {
                    let measurement = self.measure(entry, listed_in)?;
                    self.found.push(measurement);
                }
            }
        }
        Ok(())
    }

    /// A blob by digest, checked against it.
    fn blob(&mut self, digest: &str, listed_in: &str) -> Result<Vec<u8>, Error> {
        let path = blob_path(digest).ok_or_else(|| Error::Malformed {
            archive: self.archive.clone(),
            file: listed_in.to_string(),
            reason: format!("`{digest}` is not a digest"),
        })?;
        let bytes = self.store.small(&path)?.ok_or_else(|| Error::MissingBlob {
            archive: self.archive.clone(),
            blob: path.clone(),
            listed_in: listed_in.to_string(),
        })?;
        if digest.starts_with("sha256:") {
            let actual = sha256_of(&bytes);
            if actual != digest {
                return Err(Error::Damaged {
                    archive: self.archive.clone(),
                    blob: path,
                    reason: format!("its digest is {actual}, but `{listed_in}` says {digest}"),
                });
            }
        }
        Ok(bytes)
    }

    fn manifest(&mut self, entry: &IndexEntry, listed_in: &str) -> Result<Manifest, Error> {
        let bytes = self.blob(&entry.digest, listed_in)?;
        parse_json(&self.archive, &entry.digest, &bytes)
    }

    /// Index or image: by media type, or by content when the type is not given.
    fn kind(&mut self, entry: &IndexEntry, listed_in: &str) -> Result<Kind, Error> {
        if is_index_type(&entry.media_type) {
            return Ok(Kind::Index);
        }
        if !entry.media_type.is_empty() {
            return Ok(Kind::Image);
        }
        let manifest = self.manifest(entry, listed_in)?;
        Ok(if manifest.manifests.is_some() {
            Kind::Index
        } else {
            Kind::Image
        })
    }

    fn nested(&mut self, entry: &IndexEntry, listed_in: &str) -> Result<Vec<IndexEntry>, Error> {
        self.manifest(entry, listed_in)?
            .manifests
            .ok_or_else(|| Error::Malformed {
                archive: self.archive.clone(),
                file: entry.digest.clone(),
                reason: "it is typed as an index but has no `manifests`".to_string(),
            })
    }

    /// An image manifest with its config, and the config's digest.
    fn image(
        &mut self,
        entry: &IndexEntry,
        listed_in: &str,
    ) -> Result<(Manifest, ImageConfig, String), Error> {
        let manifest = self.manifest(entry, listed_in)?;
        let config = manifest.config.as_ref().ok_or_else(|| Error::NotAnImage {
            archive: self.archive.clone(),
            what: entry.digest.clone(),
            reason: "its manifest has no `config`".to_string(),
        })?;
        let config_digest = config.digest.clone();
        let bytes = self.blob(&config_digest, &entry.digest)?;
        let config: ImageConfig = parse_json(&self.archive, &config_digest, &bytes)?;
        Ok((manifest, config, config_digest))
    }

    fn measure(&mut self, entry: &IndexEntry, listed_in: &str) -> Result<Measurement, Error> {
        let (manifest, config, config_digest) = self.image(entry, listed_in)?;
        let mut layers = Vec::new();
        for layer in manifest.layers.as_deref().unwrap_or_default() {
            let path = blob_path(&layer.digest).ok_or_else(|| Error::Malformed {
                archive: self.archive.clone(),
                file: entry.digest.clone(),
                reason: format!("`{}` is not a digest", layer.digest),
            })?;
            layers.push(LayerRef {
                path,
                media_type: Some(layer.media_type.clone()),
                size: layer.size,
            });
        }
        image::measure(
            &mut *self.store,
            image::Image {
                source: self.source.name(),
                reference: self.reference,
                // A docker-archive names its image by ID, whatever its layout.
                digest: match self.source {
                    Source::DockerArchive => config_digest.clone(),
                    _ => entry.digest.clone(),
                },
                config: &config,
                config_name: &config_digest,
                layers,
                listed_in: &entry.digest,
                blobs_are_pushed: self.source != Source::DockerArchive,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_stay_inside_blobs() {
        assert_eq!(
            blob_path("sha256:abc123").as_deref(),
            Some("blobs/sha256/abc123")
        );
        assert_eq!(blob_path("sha256:../../etc/passwd"), None);
        assert_eq!(blob_path("sha256:"), None);
        assert_eq!(blob_path("../x:abc"), None);
        assert_eq!(blob_path("abc"), None);
    }
}
