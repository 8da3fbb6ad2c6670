//! An analysis made into what people and programs read: `budget explain`'s
//! report (schema `image-budget/explain/v1`) and the short explanation a
//! `check` report carries for an image over a threshold. Layers are numbered
//! from 1, the oldest.

use serde::Serialize;

use super::advice::{Advice, advise};
use super::diff::{Diff, diff};
use super::packages::diff::{diff as package_diff, largest as largest_packages};
use super::packages::{Bucket, Ecosystem, LayerChange, PackageRow};
use super::{Analysis, display};
use crate::measure::layer::waste::How;
use crate::model::{AdviceItem, Explanation, FileChange, PackageBytes, PackageChange, PathBytes};

pub const SCHEMA: &str = "image-budget/explain/v1";

/// What an image is, as explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    #[serde(rename = "ref")]
    pub reference: String,
    pub source: String,
    pub digest: String,
    pub platform: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerRow {
    pub layer: usize,
    pub digest: String,
    pub blob: Option<String>,
    pub size: u64,
    pub compressed: Option<u64>,
    pub instruction: Option<String>,
    /// Its bytes the image still shows, and those a later layer hides.
    pub visible: u64,
    pub wasted: u64,
    /// Whether the baseline has the same layer (null without a baseline).
    pub in_baseline: Option<bool>,
    /// The packages it added, removed or changed, largest first.
    pub packages: Vec<LayerChange>,
}

/// A package of the image with its exact bytes, as the report shows it:
/// its `layer` counted from 1, the oldest, with that layer's instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageLine {
    #[serde(flatten)]
    pub package: PackageRow,
    pub instruction: Option<String>,
}

/// The packages past `--top`, summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OtherPackages {
    pub packages: usize,
    pub size: u64,
    pub wasted: u64,
}

/// Every byte of the image by the package that owns it: `top`, `other`,
/// `unowned` and `databases` add up to `visible` and to `wasted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackagesSection {
    /// The package managers whose databases the image holds.
    pub found: Vec<Ecosystem>,
    /// How many packages the databases list as installed.
    pub installed: usize,
    pub top: Vec<PackageLine>,
    pub other: OtherPackages,
    pub unowned: Bucket,
    pub databases: Bucket,
    pub notes: Vec<String>,
}

/// The package changes against the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageChanges {
    pub added: usize,
    pub removed: usize,
    pub upgraded: usize,
    pub grown: usize,
    pub shrunk: usize,
    /// The largest, at most `--top`.
    pub top: Vec<PackageChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRow {
    pub path: String,
    pub size: u64,
    pub layer: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WastedRow {
    pub path: String,
    pub size: u64,
    /// The layer that added it.
    pub layer: usize,
    /// The layer that deleted or rewrote it.
    pub hidden_by: usize,
    /// `deleted` or `rewritten`.
    pub how: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaselineRow {
    #[serde(flatten)]
    pub subject: Subject,
    pub size: u64,
    pub visible: u64,
    pub wasted: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// The change of the visible bytes.
    pub delta: i64,
    pub added: usize,
    pub removed: usize,
    pub grown: usize,
    pub shrunk: usize,
    /// The largest changes, at most `--top`.
    pub top: Vec<FileChange>,
}

/// `budget explain`'s report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explained {
    pub schema: &'static str,
    #[serde(flatten)]
    pub subject: Subject,
    /// The engine's `Size`: `visible + wasted`.
    pub size: u64,
    pub visible: u64,
    pub wasted: u64,
    /// How many files the image shows.
    pub files: usize,
    pub layers: Vec<LayerRow>,
    pub largest: Vec<FileRow>,
    pub wasted_files: Vec<WastedRow>,
    pub baseline: Option<BaselineRow>,
    pub changes: Option<Changes>,
    /// Null when the image holds no package database.
    pub packages: Option<PackagesSection>,
    pub package_changes: Option<PackageChanges>,
    pub advice: Vec<AdviceItem>,
}

fn clamp(delta: i128) -> i64 {
    i64::try_from(delta).unwrap_or(if delta < 0 { i64::MIN } else { i64::MAX })
}

fn instruction(a: &Analysis, layer: usize) -> Option<String> {
    a.instruction(layer).map(str::to_string)
}

/// The file changes, at most `top`, for people and programs.
fn file_changes(d: &Diff, image: &Analysis, baseline: &Analysis, top: usize) -> Vec<FileChange> {
    d.top(top)
        .into_iter()
        .map(|c| {
            let (layer, instruction) = match (c.layer, c.baseline_layer) {
                (Some(l), _) => (Some(l + 1), self::instruction(image, l)),
                (None, Some(l)) => (Some(l + 1), self::instruction(baseline, l)),
                (None, None) => (None, None),
            };
            FileChange {
                path: display(&c.path),
                kind: if c.directory { "directory" } else { "file" }.to_string(),
                change: c.change.as_str().to_string(),
                size: c.after,
                baseline_size: c.before,
                delta: clamp(c.delta()),
                layer,
                instruction,
            }
        })
        .collect()
}

fn advice_items(image: &Analysis, advice: Vec<Advice>, top: usize) -> Vec<AdviceItem> {
    advice
        .into_iter()
        .take(top)
        .map(|a| AdviceItem {
            code: a.code.to_string(),
            what: a.what,
            size: a.bytes,
            layer: a.layer + 1,
            instruction: instruction(image, a.layer),
            hidden_by: a.by.map(|b| b + 1),
            hidden_by_instruction: a.by.and_then(|b| instruction(image, b)),
            paths: a
                .paths
                .iter()
                .map(|(p, bytes)| PathBytes {
                    path: display(p),
                    size: *bytes,
                })
                .collect(),
            path_count: a.path_count,
            packages: a
                .packages
                .iter()
                .map(|(name, size)| PackageBytes {
                    name: name.clone(),
                    size: *size,
                })
                .collect(),
            fix: a.fix.to_string(),
        })
        .collect()
}

/// The whole explanation of an image, against a baseline when there is one.
pub fn explain(
    subject: Subject,
    image: &Analysis,
    baseline: Option<(Subject, &Analysis)>,
    top: usize,
) -> Explained {
    let layers = image
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| LayerRow {
            layer: i + 1,
            digest: l.layer.digest.clone(),
            blob: l.layer.blob.clone(),
            size: l.visible + l.wasted,
            compressed: l.layer.compressed,
            instruction: l.layer.instruction.clone(),
            visible: l.visible,
            wasted: l.wasted,
            in_baseline: baseline
                .as_ref()
                .map(|(_, b)| b.layers.iter().any(|bl| bl.layer.same_as(&l.layer))),
            packages: image.packages.layers.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    let largest = image
        .largest(top)
        .into_iter()
        .map(|f| FileRow {
            path: display(&f.path),
            size: f.bytes,
            layer: f.layer + 1,
        })
        .collect();
    let wasted_files = image
        .hidden
        .iter()
        .take(top)
        .map(|h| WastedRow {
            path: display(&h.path),
            size: h.bytes,
            layer: h.layer + 1,
            hidden_by: h.by + 1,
            how: match h.how {
                How::Deleted => "deleted",
                How::Replaced => "rewritten",
            },
        })
        .collect();
    let changes = baseline.as_ref().map(|(_, b)| {
        let d = diff(image, b);
        Changes {
            delta: clamp(d.delta),
            added: d.added,
            removed: d.removed,
            grown: d.grown,
            shrunk: d.shrunk,
            top: file_changes(&d, image, b, top),
        }
    });
    let package_changes = baseline.as_ref().map(|(_, b)| {
        let d = package_diff(image, b);
        PackageChanges {
            added: d.added,
            removed: d.removed,
            upgraded: d.upgraded,
            grown: d.grown,
            shrunk: d.shrunk,
            top: d.changes.into_iter().take(top).collect(),
        }
    });
    Explained {
        schema: SCHEMA,
        subject,
        size: image.size,
        visible: image.visible,
        wasted: image.wasted,
        files: image.files.len(),
        layers,
        largest,
        wasted_files,
        baseline: baseline.map(|(subject, b)| BaselineRow {
            subject,
            size: b.size,
            visible: b.visible,
            wasted: b.wasted,
        }),
        changes,
        packages: packages_section(image, top),
        package_changes,
        advice: advice_items(image, advise(image), top),
    }
}

/// The packages section: `None` when the image holds no package database.
fn packages_section(image: &Analysis, top: usize) -> Option<PackagesSection> {
    let p = &image.packages;
    if p.rows.is_empty() && p.notes.is_empty() && p.databases.files == 0 {
        return None;
    }
    let line = |r: &PackageRow| PackageLine {
        package: PackageRow {
            layer: r.layer.map(|l| l + 1),
            ..r.clone()
        },
        instruction: r.layer.and_then(|l| instruction(image, l)),
    };
    let rest = p.rows.iter().skip(top);
    Some(PackagesSection {
        found: p.found.clone(),
        installed: p.installed().count(),
        top: p.rows.iter().take(top).map(line).collect(),
        other: OtherPackages {
            packages: rest.clone().count(),
            size: rest.clone().filter_map(|r| r.size).sum(),
            wasted: rest.map(|r| r.wasted).sum(),
        },
        unowned: p.unowned,
        databases: p.databases,
        notes: p.notes.clone(),
    })
}

/// The short explanation `check` keeps for an image over a threshold: the
/// `changes` largest file changes against the baseline (when its files could
/// not be had, `note` says why; a new image has none) and the `advice`
/// largest pieces of advice.
pub fn short(
    image: &Analysis,
    baseline: Option<Result<&Analysis, &String>>,
    changes: usize,
    advice: usize,
) -> Explanation {
    let mut explanation = Explanation {
        advice: advice_items(image, advise(image), advice),
        ..Explanation::default()
    };
    match baseline {
        None => explanation.packages = largest_packages(image, changes),
        Some(Ok(b)) => {
            explanation.packages = package_diff(image, b)
                .changes
                .into_iter()
                .take(changes)
                .collect();
            let d = diff(image, b);
            explanation.changes = file_changes(&d, image, b, changes);
            explanation.visible_delta = Some(clamp(d.delta));
            explanation.wasted_delta = Some(clamp(i128::from(image.wasted) - i128::from(b.wasted)));
        }
        Some(Err(why)) => explanation.note = Some(why.clone()),
    }
    explanation
}
