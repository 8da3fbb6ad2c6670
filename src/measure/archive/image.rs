//! One image, from its config and its list of layer blobs, to a
//! [`Measurement`]: every layer counted, checked against the config's diff
//! IDs, and paired with the instruction that made it.

use super::Error;
use super::store::Store;
use crate::measure::Measurement;
use crate::measure::image_config::ImageConfig;
use crate::measure::layer::Compression;
use crate::measure::layer::waste;
use crate::measure::platform::platform_name;
use crate::model::{Layer, Metrics};

/// A layer as a manifest lists it.
pub(super) struct LayerRef {
    /// Where the blob is, from the archive's root.
    pub path: String,
    /// The media type, where the manifest gives one.
    pub media_type: Option<String>,
    /// The blob size the manifest declares, where it gives one.
    pub size: Option<u64>,
}

/// What a measurement is made from.
pub(super) struct Image<'a> {
    pub source: &'static str,
    pub reference: &'a str,
    pub digest: String,
    pub config: &'a ImageConfig,
    /// The config's path, for messages.
    pub config_name: &'a str,
    pub layers: Vec<LayerRef>,
    /// The file listing the layers, for messages.
    pub listed_in: &'a str,
    /// The blobs are what a push of this image transfers, as they are (an
    /// OCI layout: pushed blob by blob, compressed or not); otherwise an
    /// uncompressed blob (`docker save`) is compressed by the push, and its
    /// compressed size is estimated.
    pub blobs_are_pushed: bool,
}

/// Media types of a filesystem layer, Docker v2 and OCI.
fn is_layer_media_type(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.oci.image.layer.")
        || media_type.starts_with("application/vnd.docker.image.rootfs.")
}

/// Counts every layer and makes the measurement.
pub(super) fn measure(store: &mut dyn Store, image: Image<'_>) -> Result<Measurement, Error> {
    let archive = store.name().to_string();
    let diff_ids = image.config.diff_ids().ok_or_else(|| Error::NotAnImage {
        archive: archive.clone(),
        what: image.config_name.to_string(),
        reason: "its config has no `rootfs`".to_string(),
    })?;
    if diff_ids.len() != image.layers.len() {
        return Err(Error::Malformed {
            archive,
            file: image.listed_in.to_string(),
            reason: format!(
                "it lists {} layers, but the config `{}` has {} diff IDs",
                image.layers.len(),
                image.config_name,
                diff_ids.len()
            ),
        });
    }
    let instructions = image.config.instructions(image.layers.len());
    let mut size = 0u64;
    let mut compressed = Some(0u64);
    let mut estimated = false;
    let mut details = Vec::with_capacity(image.layers.len());
    let mut listings = Vec::with_capacity(image.layers.len());
    for ((layer, diff_id), instruction) in image.layers.iter().zip(diff_ids).zip(instructions) {
        let media_type = layer.media_type.as_deref().unwrap_or("");
        let refused = (!media_type.is_empty() && !is_layer_media_type(media_type))
            || media_type.contains("encrypted");
        if refused {
            return Err(Error::NotAnImage {
                archive,
                what: layer.path.clone(),
                reason: format!("it lists a layer of media type `{media_type}`"),
            });
        }
        let stats = store
            .layer(&layer.path)?
            .ok_or_else(|| Error::MissingBlob {
                archive: archive.clone(),
                blob: layer.path.clone(),
                listed_in: image.listed_in.to_string(),
            })?;
        if let Some(expected) = layer.size
            && expected != stats.blob_size
        {
            return Err(Error::Damaged {
                archive,
                blob: layer.path.clone(),
                reason: format!(
                    "it is {} bytes, but `{}` says {expected}",
                    stats.blob_size, image.listed_in
                ),
            });
        }
        // Only sha256 diff IDs are checked; every engine writes those.
        if diff_id.starts_with("sha256:") && *diff_id != stats.diff_id {
            return Err(Error::Damaged {
                archive,
                blob: layer.path.clone(),
                reason: format!(
                    "its content is {}, but the config `{}` says {diff_id}",
                    stats.diff_id, image.config_name
                ),
            });
        }
        // The content decides, not the media type: skopeo 1.9 keeps
        // `tar+gzip` on blobs it stores uncompressed
        // (`--dest-oci-accept-uncompressed-layers`).
        let blob_compressed = stats.compression != Compression::None;
        let layer_compressed =
            (blob_compressed || image.blobs_are_pushed).then_some(stats.blob_size);
        let counted =
            layer_compressed.or_else(|| stats.gzip_estimate.inspect(|_| estimated = true));
        compressed = compressed.zip(counted).map(|(a, b)| a + b);
        size += stats.size;
        listings.push(stats.listing);
        details.push(Layer {
            digest: diff_id.clone(),
            blob: Some(stats.blob_digest.clone()),
            size: Some(stats.size),
            compressed: layer_compressed,
            instruction,
        });
    }
    let listings: Option<Vec<_>> = listings.into_iter().collect();
    let platform = image
        .config
        .platform()
        .map(|p| platform_name(&p.os, &p.architecture, p.variant.as_deref()));
    Ok(Measurement {
        reference: image.reference.to_string(),
        source: image.source,
        digest: image.digest,
        platform,
        metrics: Metrics {
            size: Some(size),
            compressed_estimated: estimated && compressed.is_some(),
            compressed,
            layers: Some(details.len() as u64),
            wasted: listings.as_deref().map(waste::wasted),
        },
        layer_details: details,
        repo_digests: Vec::new(),
        listings,
        note: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_media_types_docker_and_oci() {
        for ok in [
            "application/vnd.oci.image.layer.v1.tar",
            "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.v1.tar+zstd",
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        ] {
            assert!(is_layer_media_type(ok), "{ok}");
        }
        assert!(!is_layer_media_type("application/vnd.in-toto+json"));
    }
}
