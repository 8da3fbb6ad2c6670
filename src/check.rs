//! `budget check`: pick the images, measure them and their baselines
//! concurrently, judge each, and gather the report. One image's failure is
//! that image's row; the others are still measured.

use futures_util::StreamExt;
use futures_util::stream;

use crate::baseline::{Finder, Found};
use crate::config::{ImagePlan, Plan};
use crate::explain;
use crate::judge::{self, Against};
use crate::measure::{self, Measurement, Needs, Sources};
use crate::model::{ImageResult, Metrics, Report, Status};

/// How many images are measured at once unless `--jobs` says.
pub const JOBS: usize = 8;

/// How a run is bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Images measured at once.
    pub jobs: usize,
    /// The whole run's time (`--timeout`): an image not checked by then is
    /// a row that says so, and the others keep their results.
    pub timeout: Option<std::time::Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            jobs: JOBS,
            timeout: None,
        }
    }
}

/// Which slice of the images this run checks: `K/N`, K from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard: write K/N with 1 <= K <= N, such as 2/8");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no image named {} in `{config}`; the images are: {}", quote(.unknown), .known.join(", "))]
    UnknownNames {
        unknown: Vec<String>,
        known: Vec<String>,
        config: String,
    },
}

fn quote(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The images to check: those named (all when none is), then this shard's slice.
pub fn select(
    plan: &Plan,
    names: &[String],
    shard: Option<Shard>,
) -> Result<Vec<ImagePlan>, Error> {
    let unknown: Vec<String> = names
        .iter()
        .filter(|n| !plan.images.iter().any(|i| &i.name == *n))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(Error::UnknownNames {
            unknown,
            known: plan.images.iter().map(|i| i.name.clone()).collect(),
            config: plan.path.display().to_string(),
        });
    }
    Ok(plan
        .images
        .iter()
        .filter(|i| names.is_empty() || names.contains(&i.name))
        .filter(|i| shard.is_none_or(|s| s.holds(&i.name)))
        .cloned()
        .collect())
}

impl Shard {
    /// True when the image of this name is this shard's: by a stable hash
    /// of the name (64-bit FNV-1a), so adding or removing an image never
    /// moves another between shards.
    pub fn holds(&self, name: &str) -> bool {
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        hash % self.count as u64 == (self.index - 1) as u64
    }
}

/// Measures and judges the images, in their config order (an image checked
/// on every platform gives a row per platform).
pub async fn check(
    images: &[ImagePlan],
    sources: &Sources,
    baselines: &Finder<'_>,
    limits: Limits,
) -> Report {
    let deadline = limits.timeout.map(|t| tokio::time::Instant::now() + t);
    let results = stream::iter(images)
        .map(|image| async move {
            let Some(deadline) = deadline else {
                return check_one(image, sources, baselines).await;
            };
            match tokio::time::timeout_at(deadline, check_one(image, sources, baselines)).await {
                Ok(rows) => rows,
                Err(_) => {
                    let mut row = empty_row(image);
                    row.error = Some(format!(
                        "not checked within --timeout {}: the run's time was up\n  hint: give it more time (`--timeout`), fewer images (`--shard`), or find what is slow (an engine or registry that does not answer)",
                        limits.timeout.map_or_else(String::new, |t| format!("{t:?}"))
                    ));
                    vec![row]
                }
            }
        })
        .buffered(limits.jobs.max(1))
        .collect::<Vec<_>>()
        .await;
    Report::new(results.into_iter().flatten().collect())
}

fn empty_row(image: &ImagePlan) -> ImageResult {
    ImageResult {
        name: image.name.clone(),
        reference: image.reference.clone(),
        source: None,
        digest: None,
        platform: None,
        metrics: Metrics::default(),
        baseline: None,
        delta: None,
        status: Status::Error,
        findings: Vec::new(),
        error: None,
        budget: image.budget.clone(),
        layer_details: Vec::new(),
        notes: Vec::new(),
        history: Vec::new(),
        explanation: None,
    }
}

async fn check_one(
    image: &ImagePlan,
    sources: &Sources,
    baselines: &Finder<'_>,
) -> Vec<ImageResult> {
    let measured = match sources
        .measure(
            &image.reference,
            image.platform.as_ref(),
            Needs::of(&image.budget),
        )
        .await
    {
        Ok(m) => m,
        Err(e) => {
            let at = match e {
                measure::Error::InvalidReference { .. }
                | measure::Error::NotFound { .. }
                | measure::Error::Nowhere { .. } => {
                    format!(" (`ref` at {})", image.reference_at)
                }
                _ => String::new(),
            };
            let mut row = empty_row(image);
            row.error = Some(format!("{e}{at}"));
            return vec![row];
        }
    };
    let mut rows = Vec::with_capacity(measured.len());
    for m in measured {
        let mut row = judge_one(image, m, baselines).await;
        // Only an image over a threshold is read file by file: a run where
        // everything passes costs no more than the sizes.
        if matches!(row.status, Status::Warn | Status::Fail) {
            row.explanation = Some(explain::for_row(sources, &image.reference, &row).await);
        }
        rows.push(row);
    }
    rows
}

async fn judge_one(
    image: &ImagePlan,
    measured: Measurement,
    baselines: &Finder<'_>,
) -> ImageResult {
    let mut result = empty_row(image);
    result.source = Some(measured.source.to_string());
    result.digest = Some(measured.digest);
    result.platform = measured.platform;
    result.metrics = measured.metrics;
    result.layer_details = measured.layer_details;
    result.notes.extend(measured.note);

    let (baseline, failed) = match baselines.find(image, result.platform.as_deref()).await {
        Ok(Found::Yes(b)) => (Some(b), None),
        Ok(Found::No(note)) => {
            result.notes.extend(note);
            (None, None)
        }
        Err(reason) => (None, Some(reason)),
    };
    let against = match (&baseline, &failed) {
        (Some(b), _) => Against::Baseline(&b.metrics),
        (None, Some(reason)) => Against::Failed(reason),
        (None, None) => Against::Nothing,
    };
    let verdict = judge::judge(&image.budget, &result.metrics, against);
    if let Some(reason) = failed
        && image.budget.max_growth.is_none()
        && image.budget.warn_growth.is_none()
    {
        result.notes.push(format!(
            "no delta: the baseline could not be measured: {reason}"
        ));
    }
    if let Some(b) = &baseline {
        result.history = b.history.clone();
    }
    result.baseline = baseline;
    result.delta = verdict.delta;
    result.status = verdict.status;
    result.findings = verdict.findings;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Budget;
    use crate::config::Location;
    use std::path::PathBuf;

    fn plan(names: &[&str]) -> Plan {
        Plan {
            path: PathBuf::from("budgets.toml"),
            images: names
                .iter()
                .map(|n| ImagePlan {
                    name: n.to_string(),
                    reference: format!("acme/{n}"),
                    reference_at: Location {
                        file: "budgets.toml".into(),
                        line: 1,
                        column: 1,
                    },
                    baseline: None,
                    platform: None,
                    budget: Budget::default(),
                })
                .collect(),
            insecure_registries: Vec::new(),
        }
    }

    fn names(images: &[ImagePlan]) -> Vec<&str> {
        images.iter().map(|i| i.name.as_str()).collect()
    }

    #[test]
    fn shards_split_the_images_without_overlap_and_never_move_an_image() {
        let many: Vec<String> = (0..200).map(|i| format!("image-{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let first = plan(&refs);
        let shards: Vec<Vec<ImagePlan>> = (1..=4)
            .map(|k| select(&first, &[], Some(format!("{k}/4").parse().unwrap())).unwrap())
            .collect();
        let total: usize = shards.iter().map(Vec::len).sum();
        assert_eq!(total, 200, "every image in exactly one shard");
        for shard in &shards {
            assert!(shard.len() > 25, "a fair split: {}", shard.len());
        }
        // Adding an image (at the front, too) moves none of the others.
        let mut more = vec!["new-image"];
        more.extend(&refs);
        let second = plan(&more);
        for (k, before) in shards.iter().enumerate() {
            let after =
                select(&second, &[], Some(format!("{}/4", k + 1).parse().unwrap())).unwrap();
            let after: Vec<&str> = names(&after)
                .into_iter()
                .filter(|n| *n != "new-image")
                .collect();
            assert_eq!(after, names(before));
        }
        assert!("0/2".parse::<Shard>().is_err());
        assert!("3/2".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }

    #[test]
    fn names_pick_images_and_unknown_names_are_errors() {
        let plan = plan(&["a", "b", "c"]);
        let picked = select(&plan, &["c".into(), "a".into()], None).unwrap();
        assert_eq!(names(&picked), ["a", "c"]);
        let err = select(&plan, &["x".into()], None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no image named `x` in `budgets.toml`; the images are: a, b, c"
        );
    }
}
