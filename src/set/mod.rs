//! Sets of images that share nodes: what a node stores and pulls for all of
//! them, each layer counted once.
//!
//! Pure, from the image rows a run already has (their layer lists): a set
//! costs no extra reads. A layer is stored once per chain (its diff ID on
//! top of the same layers below it), as Docker's classic store keeps it:
//! the set's `size` is the sum over its distinct chains, its `compressed`
//! the sum of their blobs. Per image, `shared` is the bytes of its chains
//! another image of the set also has and `unique` the rest, as `docker
//! system df -v` counts SHARED SIZE and UNIQUE SIZE (two names of one image
//! are one image). The set is judged as an image is, against the same
//! computation over its images' baseline layers.

use std::collections::{BTreeSet, HashMap};

use crate::judge::{self, Against};
use crate::model::{ImageResult, Layer, Metrics, SetMember, SetPlan, SetResult, SetSide, Status};

/// A layer chain, named by the diff IDs from the bottom up to its layer.
type Chain = String;

/// One image's chains with their sizes and blob sizes.
struct Chains {
    name: String,
    /// Which image it is: two names of one image are one image.
    identity: String,
    chains: Vec<(Chain, u64, Option<u64>)>,
}

/// An image's chains, or why they cannot be had.
fn chains_of(name: &str, identity: &str, layers: &[Layer]) -> Result<Chains, String> {
    if layers.is_empty() {
        return Err(format!("`{name}` lists no layers"));
    }
    let mut key = String::new();
    let mut chains = Vec::with_capacity(layers.len());
    for layer in layers {
        let size = layer
            .size
            .ok_or_else(|| format!("the size of a layer of `{name}` is unknown"))?;
        key.push_str(&layer.digest);
        key.push(' ');
        chains.push((key.clone(), size, layer.compressed));
    }
    Ok(Chains {
        name: name.to_string(),
        identity: identity.to_string(),
        chains,
    })
}

/// What a set of images adds up to, and each image's share of it.
struct Counted {
    side: SetSide,
    layers: u64,
    /// Per image (in order): shared and unique bytes, and the images it
    /// shares a chain with.
    members: Vec<(u64, u64, BTreeSet<String>)>,
}

fn count(images: &[Chains]) -> Counted {
    // Each image once, by identity.
    let mut holders: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    let mut distinct: HashMap<&str, (u64, Option<u64>)> = HashMap::new();
    for image in images {
        for (chain, size, blob) in &image.chains {
            holders
                .entry(chain.as_str())
                .or_default()
                .insert(image.identity.as_str());
            distinct.insert(chain.as_str(), (*size, *blob));
        }
    }
    let size = distinct.values().map(|(s, _)| *s).sum();
    let compressed = distinct.values().map(|(_, b)| *b).sum::<Option<u64>>();
    let separate = images
        .iter()
        .map(|i| i.chains.iter().map(|(_, s, _)| *s).sum::<u64>())
        .sum();
    let members = images
        .iter()
        .map(|image| {
            let mut shared = 0;
            let mut total = 0;
            let mut with = BTreeSet::new();
            for (chain, size, _) in &image.chains {
                total += size;
                let holders = &holders[chain.as_str()];
                if holders.len() > 1 {
                    shared += size;
                    for other in images {
                        if other.identity != image.identity
                            && holders.contains(other.identity.as_str())
                        {
                            with.insert(other.name.clone());
                        }
                    }
                }
            }
            (shared, total - shared, with)
        })
        .collect();
    Counted {
        side: SetSide {
            size: Some(size),
            compressed,
            separate: Some(separate),
        },
        layers: distinct.len() as u64,
        members,
    }
}

/// The identity of an image row: its digest, else its name.
fn identity(row: &ImageResult) -> String {
    row.digest.clone().unwrap_or_else(|| row.name.clone())
}

/// Judges every set whose images all have rows in `images`, one row per
/// platform they were checked for; the others are left out (another shard
/// has their images; `merge` judges them).
pub fn judge_sets(plans: &[SetPlan], images: &[ImageResult]) -> Vec<SetResult> {
    plans
        .iter()
        .filter(|plan| {
            plan.images
                .iter()
                .all(|name| images.iter().any(|row| &row.name == name))
        })
        .flat_map(|plan| {
            let mut platforms: Vec<Option<String>> = images
                .iter()
                .filter(|row| plan.images.contains(&row.name))
                .map(|row| row.platform.clone())
                .collect();
            platforms.sort();
            platforms.dedup();
            // A row that could not be measured knows no platform: it joins
            // every platform's set, which it makes an error.
            if platforms.len() > 1 {
                platforms.retain(Option::is_some);
            }
            platforms
                .into_iter()
                .map(|platform| judge_set(plan, images, platform))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn judge_set(plan: &SetPlan, images: &[ImageResult], platform: Option<String>) -> SetResult {
    let mut result = SetResult {
        name: plan.name.clone(),
        images: plan.images.clone(),
        platform: platform.clone(),
        now: SetSide {
            size: None,
            compressed: None,
            separate: None,
        },
        layers: None,
        baseline: None,
        delta: None,
        members: Vec::new(),
        status: Status::Error,
        findings: Vec::new(),
        error: None,
        budget: plan.budget.clone(),
    };
    let mut rows = Vec::with_capacity(plan.images.len());
    for name in &plan.images {
        let row = images
            .iter()
            .filter(|row| &row.name == name)
            .find(|row| row.platform == platform || row.platform.is_none());
        match row {
            Some(row) => rows.push(row),
            None => {
                result.error = Some(format!(
                    "`{name}` was not checked for {}",
                    platform.as_deref().unwrap_or("this platform")
                ));
                return result;
            }
        }
    }
    let now: Result<Vec<Chains>, String> = rows
        .iter()
        .map(|row| {
            if row.status == Status::Error && row.metrics.size.is_none() {
                return Err(format!(
                    "`{}` could not be measured{}",
                    row.name,
                    row.error
                        .as_deref()
                        .map_or_else(String::new, |e| format!(": {}", first_line(e)))
                ));
            }
            chains_of(&row.name, &identity(row), &row.layer_details)
        })
        .collect();
    let now = match now {
        Ok(now) => now,
        Err(why) => {
            result.error = Some(why);
            return result;
        }
    };
    let counted = count(&now);
    // The baseline: the same over the images' baseline layers; an image
    // without one (new) is not in it.
    let failed: Option<String> = rows.iter().find_map(|row| {
        row.baseline_error
            .as_deref()
            .map(|e| format!("`{}`: {e}", row.name))
    });
    let mut failed = failed;
    let mut before: Vec<Chains> = Vec::new();
    for row in &rows {
        let Some(b) = row.baseline.as_ref() else {
            continue;
        };
        let identity = b.digest.clone().unwrap_or_else(|| b.reference.clone());
        match chains_of(&row.name, &identity, &b.layer_details) {
            Ok(chains) => before.push(chains),
            Err(why) => {
                failed.get_or_insert(format!("the baseline of `{}`: {why}", row.name));
            }
        }
    }
    let base = (!before.is_empty()).then(|| count(&before));
    let base_by_name: HashMap<&str, usize> = before
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    result.members = now
        .iter()
        .zip(&counted.members)
        .map(|(image, (shared, unique, with))| {
            let then = base
                .as_ref()
                .zip(base_by_name.get(image.name.as_str()))
                .map(|(b, &i)| &b.members[i]);
            SetMember {
                name: image.name.clone(),
                shared: Some(*shared),
                unique: Some(*unique),
                baseline_shared: then.map(|t| t.0),
                baseline_unique: then.map(|t| t.1),
                stopped_sharing_with: then
                    .map(|t| t.2.difference(with).cloned().collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let metrics = Metrics {
        size: counted.side.size,
        compressed: counted.side.compressed,
        compressed_estimated: false,
        layers: Some(counted.layers),
        wasted: None,
    };
    let base_metrics = base.as_ref().map(|b| Metrics {
        size: b.side.size,
        compressed: b.side.compressed,
        compressed_estimated: false,
        layers: Some(b.layers),
        wasted: None,
    });
    let against = match (&failed, &base_metrics) {
        (Some(reason), _) => Against::Failed(reason),
        (None, Some(b)) => Against::Baseline(b),
        (None, None) => Against::Nothing,
    };
    let verdict = judge::judge(&plan.budget, &metrics, against);
    result.now = counted.side;
    result.layers = Some(counted.layers);
    result.baseline = base.map(|b| b.side);
    result.delta = verdict.delta;
    result.status = verdict.status;
    result.findings = verdict.findings;
    result
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

#[cfg(test)]
mod tests;
