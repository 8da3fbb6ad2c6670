//! One image in a registry made into a [`Measurement`]: its config blob read
//! (diff IDs, history, platform), and, when the size is needed, each layer
//! blob streamed through the archive layer reader, counted as the engine
//! counts it, with both digests checked on the way. Nothing of a layer is
//! held but fixed-size buffers. Layer facts come from the cache when it has
//! them and go into it when counted; a layer two images share is counted
//! once, the second image waiting for the first's count.

use std::sync::Arc;

use futures_util::TryStreamExt;
use futures_util::future::try_join_all;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::manifest::Descriptor;
use super::session::Session;
use super::{Error, Registry};
use crate::measure::cache::LayerFacts;
use crate::measure::image_config::ImageConfig;
use crate::measure::layer;
use crate::measure::layer::waste::{self, Listing};
use crate::measure::platform::platform_name;
use crate::measure::progress;
use crate::measure::{Measurement, Needs};
use crate::model::{Layer, Metrics};

/// An image manifest, as fetched.
pub(super) struct Image {
    pub(super) digest: String,
    /// The platform its index entry names, if it came from an index.
    pub(super) platform: Option<String>,
    pub(super) config: Option<Descriptor>,
    pub(super) layers: Vec<Descriptor>,
}

impl Registry {
    pub(super) async fn measure_image(
        &self,
        session: &Session<'_>,
        image: Image,
        needs: Needs,
    ) -> Result<Measurement, Error> {
        let target = session.target();
        let config = match &image.config {
            Some(descriptor) => Some(self.config_blob(session, descriptor).await?),
            None => None,
        };
        let count = image.layers.len();
        let diff_ids: Vec<Option<String>> = match config.as_ref().and_then(ImageConfig::diff_ids) {
            Some(ids) if ids.len() == count => ids.iter().cloned().map(Some).collect(),
            Some(ids) => {
                return Err(Error::Malformed {
                    reference: target.reference.clone(),
                    url: target.manifest_url(&image.digest),
                    reason: format!(
                        "it lists {count} layers, but its config has {} diff IDs",
                        ids.len()
                    ),
                });
            }
            None => vec![None; count],
        };
        let instructions = config
            .as_ref()
            .map_or_else(|| vec![None; count], |c| c.instructions(count));

        let mut wasted = None;
        let mut kept = None;
        let facts: Vec<Option<LayerFacts>> = if needs.wasted || needs.files {
            // Every layer's entries, so every layer is read (the cache keeps
            // facts, not listings).
            let listed = image
                .layers
                .iter()
                .zip(&diff_ids)
                .map(|(blob, diff_id)| self.list_layer(session, blob, diff_id.as_deref()));
            let (facts, listings): (Vec<_>, Vec<_>) =
                try_join_all(listed).await?.into_iter().unzip();
            wasted = Some(waste::wasted(&listings));
            kept = needs.files.then_some(listings);
            facts.into_iter().map(Some).collect()
        } else if needs.size {
            // All at once: the registry's bound on streams keeps it in check.
            let counts = image
                .layers
                .iter()
                .zip(&diff_ids)
                .map(|(blob, diff_id)| self.layer_facts(session, blob, diff_id.as_deref()));
            try_join_all(counts).await?.into_iter().map(Some).collect()
        } else {
            image
                .layers
                .iter()
                .zip(&diff_ids)
                .map(|(blob, diff_id)| self.cached(blob, diff_id.as_deref()))
                .collect()
        };

        let size = facts
            .iter()
            .try_fold(0u64, |sum, f| f.as_ref().map(|f| sum + f.size));
        let layer_details = image
            .layers
            .iter()
            .zip(diff_ids)
            .zip(facts)
            .zip(instructions)
            .map(|(((blob, diff_id), facts), instruction)| Layer {
                // No config: the blob is the only name the layer has.
                digest: diff_id
                    .or_else(|| facts.as_ref().map(|f| f.diff_id.clone()))
                    .unwrap_or_else(|| blob.digest.clone()),
                blob: Some(blob.digest.clone()),
                size: facts.map(|f| f.size),
                compressed: Some(blob.size),
                instruction,
            })
            .collect();
        let platform = image.platform.or_else(|| {
            config
                .as_ref()
                .and_then(ImageConfig::platform)
                .map(|p| platform_name(&p.os, &p.architecture, p.variant.as_deref()))
        });
        Ok(Measurement {
            reference: target.reference.clone(),
            source: "registry",
            digest: image.digest,
            platform,
            metrics: Metrics {
                size,
                compressed: Some(image.layers.iter().map(|l| l.size).sum()),
                compressed_estimated: false,
                layers: Some(count as u64),
                wasted,
            },
            layer_details,
            repo_digests: Vec::new(),
            listings: kept,
            note: None,
        })
    }

    /// The config blob, from the cache or the registry (then cached).
    async fn config_blob(
        &self,
        session: &Session<'_>,
        descriptor: &Descriptor,
    ) -> Result<ImageConfig, Error> {
        let bytes = match self.cache.config(&descriptor.digest) {
            Some(bytes) => bytes,
            None => {
                let bytes = session.small_blob(&descriptor.digest).await?;
                self.cache.put_config(&descriptor.digest, &bytes);
                bytes
            }
        };
        let target = session.target();
        serde_json::from_slice(&bytes).map_err(|e| Error::Malformed {
            reference: target.reference.clone(),
            url: target.blob_url(&descriptor.digest),
            reason: format!("its config blob is not an image config: {e}"),
        })
    }

    /// A layer's facts from the cache, when an entry agrees with what the
    /// manifest and the config say of the layer.
    fn cached(&self, blob: &Descriptor, diff_id: Option<&str>) -> Option<LayerFacts> {
        self.cache
            .layer(&blob.digest)
            .filter(|f| f.blob_size == blob.size && diff_id.is_none_or(|d| d == f.diff_id))
    }

    /// A layer's facts: cached, being counted for another image, or counted now.
    async fn layer_facts(
        &self,
        session: &Session<'_>,
        blob: &Descriptor,
        diff_id: Option<&str>,
    ) -> Result<LayerFacts, Error> {
        if let Some(facts) = self.cached(blob, diff_id) {
            return Ok(facts);
        }
        let cell = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(in_flight.entry(blob.digest.clone()).or_default())
        };
        let facts = cell
            .get_or_try_init(|| self.count_layer(session, blob))
            .await?
            .clone();
        check_facts(session, blob, diff_id, &facts)?;
        Ok(facts)
    }

    /// Streams one layer blob and counts it; the facts go to the cache once
    /// both digests are checked.
    async fn count_layer(
        &self,
        session: &Session<'_>,
        blob: &Descriptor,
    ) -> Result<LayerFacts, Error> {
        Ok(self.stream_layer(session, blob, false).await?.0)
    }

    /// A layer's facts and its entries, read from its blob, checked against
    /// the manifest and the config.
    async fn list_layer(
        &self,
        session: &Session<'_>,
        blob: &Descriptor,
        diff_id: Option<&str>,
    ) -> Result<(LayerFacts, Listing), Error> {
        let (facts, listing) = self.stream_layer(session, blob, true).await?;
        check_facts(session, blob, diff_id, &facts)?;
        Ok((facts, listing.unwrap_or_default()))
    }

    async fn stream_layer(
        &self,
        session: &Session<'_>,
        blob: &Descriptor,
        list: bool,
    ) -> Result<(LayerFacts, Option<Listing>), Error> {
        let _permit = self.streams.acquire().await.map_err(|e| Error::Setup {
            reason: e.to_string(),
        })?;
        let response = session.blob(&blob.digest).await?;
        let body = response.bytes_stream().map_err(std::io::Error::other);
        let reader = progress::reader(
            SyncIoBridge::new(StreamReader::new(body)),
            &blob.digest,
            blob.size,
        );
        let counted = tokio::task::spawn_blocking(move || layer::layer_stats(reader, false, list))
            .await
            .map_err(|e| layer_error(session, blob, format!("the count stopped: {e}")))?
            .map_err(|e| layer_error(session, blob, e.reason))?;
        let facts = LayerFacts {
            blob: counted.blob_digest,
            diff_id: counted.diff_id,
            size: counted.size,
            blob_size: counted.blob_size,
        };
        // The blob must be what the manifest names before anything is kept.
        check_facts(session, blob, None, &facts)?;
        self.cache.put_layer(&facts);
        Ok((facts, counted.listing))
    }
}

/// The facts of a layer must match the manifest's digest and size for its
/// blob, and the config's diff ID.
fn check_facts(
    session: &Session<'_>,
    blob: &Descriptor,
    diff_id: Option<&str>,
    facts: &LayerFacts,
) -> Result<(), Error> {
    let damaged = |reason: String| Error::Layer {
        reference: session.target().reference.clone(),
        blob: blob.digest.clone(),
        reason,
        hint: "the registry's copy does not match the image's manifest; push the image again",
    };
    if blob.digest.starts_with("sha256:") && facts.blob != blob.digest {
        return Err(damaged(format!(
            "its bytes hash to {}, not to the digest the manifest names",
            facts.blob
        )));
    }
    if facts.blob_size != blob.size {
        return Err(damaged(format!(
            "it is {} bytes, but the manifest says {}",
            facts.blob_size, blob.size
        )));
    }
    if let Some(expected) = diff_id
        && expected.starts_with("sha256:")
        && expected != facts.diff_id
    {
        return Err(damaged(format!(
            "its content is {}, but the config's diff ID is {expected}",
            facts.diff_id
        )));
    }
    Ok(())
}

fn layer_error(session: &Session<'_>, blob: &Descriptor, reason: String) -> Error {
    Error::Layer {
        reference: session.target().reference.clone(),
        blob: blob.digest.clone(),
        reason,
        hint: "a layer is a plain, gzip or zstd tar; run again, and push the image again if it persists",
    }
}
