//! An image's layers against its baseline's, matched by digest: which were
//! added, removed and kept, and why they differ (the base image, or the
//! image's own layers). Pure. The comment draws it; the JSON report keeps its
//! summary ([`LayerChange`]), so a program sees "the base image changed" too.

use crate::model::{Layer, LayerCause, LayerChange};

/// Why an image's layers differ from its baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The first layer differs: the image is built on another base image
    /// (or another version of it).
    BaseImage,
    /// The first `shared` layers are the baseline's, in order; the layers
    /// after them differ: the image's own layers changed.
    OwnLayers { shared: usize },
    /// The same layers, by digest, as the baseline.
    Same,
}

/// An image's layers against its baseline's, matched by digest.
///
/// The rule, on the two layer lists (oldest first):
/// - a layer whose digest is also among the baseline's layers is
///   unchanged, wherever it sits (each baseline layer matches once, so
///   repeated digests such as empty layers pair up one to one);
/// - an image layer left unmatched was added; a baseline layer left
///   unmatched was removed;
/// - the cause looks at the longest common prefix of the two digest lists:
///   when nothing was added or removed, [`Cause::Same`]; otherwise, when the
///   prefix is empty (the first layers differ), [`Cause::BaseImage`]: "the
///   base image changed"; when it is not empty, [`Cause::OwnLayers`]: the
///   first `shared` layers are intact and "own layers changed" after them.
///
/// Layer lists do not say where the base ends, so a base image that keeps
/// its first layer and changes later ones reads as own layers changed; the
/// comment says which layer is the first to differ, so a reader can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDiff<'a> {
    pub cause: Cause,
    /// Layers only in the image, with their position (0 for the oldest).
    pub added: Vec<(usize, &'a Layer)>,
    /// Layers only in the baseline, with their position in the baseline.
    pub removed: Vec<(usize, &'a Layer)>,
    /// Layers in both.
    pub unchanged: Vec<&'a Layer>,
}

impl<'a> LayerDiff<'a> {
    pub fn new(image: &'a [Layer], baseline: &'a [Layer]) -> LayerDiff<'a> {
        let shared = image
            .iter()
            .zip(baseline)
            .take_while(|(a, b)| a.same_as(b))
            .count();
        let mut unmatched: Vec<Option<&Layer>> = baseline.iter().map(Some).collect();
        let mut added = Vec::new();
        let mut unchanged = Vec::new();
        for (i, layer) in image.iter().enumerate() {
            let found = unmatched
                .iter_mut()
                .find(|slot| slot.is_some_and(|b| b.same_as(layer)));
            match found {
                Some(slot) => {
                    *slot = None;
                    unchanged.push(layer);
                }
                None => added.push((i, layer)),
            }
        }
        let removed: Vec<(usize, &Layer)> = unmatched
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| slot.map(|layer| (i, layer)))
            .collect();
        let cause = if added.is_empty() && removed.is_empty() {
            Cause::Same
        } else if shared == 0 {
            Cause::BaseImage
        } else {
            Cause::OwnLayers { shared }
        };
        LayerDiff {
            cause,
            added,
            removed,
            unchanged,
        }
    }
}

impl LayerDiff<'_> {
    /// What the report keeps of it.
    pub fn summary(&self) -> LayerChange {
        let (cause, shared) = match self.cause {
            Cause::BaseImage => (LayerCause::BaseImage, 0),
            Cause::OwnLayers { shared } => (LayerCause::OwnLayers, shared),
            Cause::Same => (LayerCause::Same, self.unchanged.len()),
        };
        LayerChange {
            cause,
            shared: shared as u64,
            added: self.added.len() as u64,
            removed: self.removed.len() as u64,
            unchanged: self.unchanged.len() as u64,
        }
    }
}
