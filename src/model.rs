//! The report: what was measured, against what, and the verdict.
//!
//! Serialized as the JSON report (schema `image-budget/report/v1`), which is
//! also the baseline format read back by `--baseline FILE`. Fields may be
//! added within v1; none is renamed or removed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::size::Growth;

pub const SCHEMA: &str = "image-budget/report/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warn,
    Fail,
    /// The budget could not be checked: the metric is unknown.
    Error,
}

/// What is measured of an image, each an exact count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Uncompressed bytes of all layers.
    Size,
    /// Bytes a pull transfers.
    Compressed,
    /// How many layers.
    Layers,
    /// Bytes lower layers hold that later layers overwrite or delete.
    Wasted,
    /// The packages the image holds (`deny-packages`): not a number, so
    /// not in [`Metric::ALL`].
    Packages,
}

impl Metric {
    pub const ALL: [Metric; 4] = [
        Metric::Size,
        Metric::Compressed,
        Metric::Layers,
        Metric::Wasted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Size => "size",
            Metric::Compressed => "compressed",
            Metric::Layers => "layers",
            Metric::Wasted => "wasted",
            Metric::Packages => "packages",
        }
    }

    /// A count of bytes (every metric but the layer count).
    pub fn is_bytes(self) -> bool {
        !matches!(self, Metric::Layers | Metric::Packages)
    }

    /// The measured value, `None` when unknown.
    pub fn of(self, metrics: &Metrics) -> Option<u64> {
        match self {
            Metric::Size => metrics.size,
            Metric::Compressed => metrics.compressed,
            Metric::Layers => metrics.layers,
            Metric::Wasted => metrics.wasted,
            Metric::Packages => None,
        }
    }

    /// Why it can be unknown, where there is more to say than that it is.
    pub fn why_unknown(self) -> Option<&'static str> {
        match self {
            Metric::Compressed => Some(
                "the compressed size is unknown (the image is in no registry and could not be estimated)",
            ),
            Metric::Wasted => Some("wasted bytes are unknown (this source's layers were not read)"),
            Metric::Packages => {
                Some("the packages are unknown (the image's layers could not be read file by file)")
            }
            Metric::Size | Metric::Layers => None,
        }
    }
}

/// What a budget limits: bytes, a count, or growth against the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    Bytes,
    Count,
    Growth,
    /// Names that must not be there (`deny-packages`).
    Deny,
}

/// A budget's key in budgets.toml, and the code of the finding it makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BudgetKey {
    MaxSize,
    WarnSize,
    MaxCompressed,
    MaxLayers,
    MaxWasted,
    MaxGrowth,
    WarnGrowth,
    /// Packages the image must not hold: a list of patterns, not a limit,
    /// so not in [`BudgetKey::ALL`] (judged by `judge::denied`).
    DenyPackages,
}

impl BudgetKey {
    /// In the order budgets are judged and listed.
    pub const ALL: [BudgetKey; 7] = [
        BudgetKey::MaxSize,
        BudgetKey::WarnSize,
        BudgetKey::MaxCompressed,
        BudgetKey::MaxLayers,
        BudgetKey::MaxWasted,
        BudgetKey::MaxGrowth,
        BudgetKey::WarnGrowth,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BudgetKey::MaxSize => "max-size",
            BudgetKey::WarnSize => "warn-size",
            BudgetKey::MaxCompressed => "max-compressed",
            BudgetKey::MaxLayers => "max-layers",
            BudgetKey::MaxWasted => "max-wasted",
            BudgetKey::MaxGrowth => "max-growth",
            BudgetKey::WarnGrowth => "warn-growth",
            BudgetKey::DenyPackages => "deny-packages",
        }
    }

    /// The key of this name (of the limits in [`BudgetKey::ALL`]).
    pub fn named(name: &str) -> Option<BudgetKey> {
        BudgetKey::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The metric it judges (growth is the size's).
    pub fn metric(self) -> Metric {
        match self {
            BudgetKey::MaxSize
            | BudgetKey::WarnSize
            | BudgetKey::MaxGrowth
            | BudgetKey::WarnGrowth => Metric::Size,
            BudgetKey::MaxCompressed => Metric::Compressed,
            BudgetKey::MaxLayers => Metric::Layers,
            BudgetKey::MaxWasted => Metric::Wasted,
            BudgetKey::DenyPackages => Metric::Packages,
        }
    }

    pub fn kind(self) -> LimitKind {
        match self {
            BudgetKey::MaxGrowth | BudgetKey::WarnGrowth => LimitKind::Growth,
            BudgetKey::MaxLayers => LimitKind::Count,
            BudgetKey::DenyPackages => LimitKind::Deny,
            _ => LimitKind::Bytes,
        }
    }

    /// A warning mark, or a budget that fails.
    pub fn severity(self) -> Severity {
        match self {
            BudgetKey::WarnSize | BudgetKey::WarnGrowth => Severity::Warn,
            _ => Severity::Fail,
        }
    }

    /// The budget that outranks this warning: when it fails, the warning
    /// says nothing more.
    pub fn outranked_by(self) -> Option<BudgetKey> {
        match self {
            BudgetKey::WarnSize => Some(BudgetKey::MaxSize),
            BudgetKey::WarnGrowth => Some(BudgetKey::MaxGrowth),
            _ => None,
        }
    }

    /// `budget` or `mark`, as messages call it.
    pub fn noun(self) -> &'static str {
        match self.severity() {
            Severity::Warn => "mark",
            _ => "budget",
        }
    }
}

/// The id that tells one config's comment from another's in a pull
/// request: 1 to 64 of `A-Z a-z 0-9 . _ -`, `default` unless given. The one
/// rule for it, checked where it is read, so the hidden marker it makes
/// (`<!-- image-budget:ID -->`) can never close the comment early.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommentId(String);

/// The longest comment id.
const MAX_COMMENT_ID: usize = 64;

impl CommentId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hidden marker that finds the comment again.
    pub fn marker(&self) -> String {
        format!("<!-- image-budget:{} -->", self.0)
    }
}

impl Default for CommentId {
    fn default() -> CommentId {
        CommentId("default".to_string())
    }
}

impl std::str::FromStr for CommentId {
    type Err = String;

    fn from_str(text: &str) -> Result<CommentId, String> {
        let valid = !text.is_empty()
            && text.len() <= MAX_COMMENT_ID
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(CommentId(text.to_string()))
        } else {
            Err(format!(
                "`{text}` is not a comment id: use 1 to {MAX_COMMENT_ID} letters, digits, `.`, `_` or `-`"
            ))
        }
    }
}

impl fmt::Display for CommentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which manifest of a multi-platform image a budget applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformChoice {
    /// `os/arch[/variant]`, such as `linux/amd64` or `linux/arm64/v8`.
    One(String),
    /// Every platform, each as its own row.
    All,
}

impl fmt::Display for PlatformChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlatformChoice::One(p) => f.write_str(p),
            PlatformChoice::All => f.write_str("all"),
        }
    }
}

/// One budget that an image did not keep (or could not be checked against).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The budget key (`max-size`, `warn-growth`...), as JSON writes it.
    pub code: BudgetKey,
    /// The metric judged: `size`, `layers`, `compressed`, `wasted`.
    pub metric: Metric,
    /// The limit in the metric's unit (bytes, or a count). For growth
    /// budgets, the largest growth in bytes the budget allows.
    pub limit: u64,
    /// The measured value (for growth: the growth in bytes); null when unknown.
    pub actual: Option<u64>,
    pub severity: Severity,
    /// The same for people, in one line.
    pub message: String,
}

/// A layer of an image, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// The diff ID: the digest of the uncompressed layer tar, the name every
    /// source (engine, registry, archive) gives the same layer.
    pub digest: String,
    /// The digest of the layer blob (compressed, as a registry or archive
    /// stores it), where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// Uncompressed bytes, as the engine counts them; null when unknown
    /// (a history that could not be matched to the layers).
    pub size: Option<u64>,
    /// The layer blob's size in its registry or archive, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed: Option<u64>,
    /// The build instruction that made the layer, when the history tells it.
    pub instruction: Option<String>,
}

/// A file or directory that changed against the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// Absolute, as the image shows it.
    pub path: String,
    /// `file`, or `directory` (the bytes of the files under it).
    pub kind: String,
    /// `added`, `removed`, `grown` or `shrunk`.
    pub change: String,
    /// Bytes in the image; null when it is not there.
    pub size: Option<u64>,
    /// Bytes in the baseline; null when it was not there.
    pub baseline_size: Option<u64>,
    pub delta: i64,
    /// The layer that brought it (1 is the oldest); for a removed file, the
    /// baseline's layer that had it.
    pub layer: Option<usize>,
    pub instruction: Option<String>,
}

/// A package that changed against the baseline, or that a budget names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageChange {
    /// `dpkg`, `apk`, `rpm`, `python` or `npm`.
    pub ecosystem: String,
    pub name: String,
    /// `added`, `removed`, `upgraded`, `grown` or `shrunk`.
    pub change: String,
    /// Its version in the image and in the baseline (null: not there).
    pub version: Option<String>,
    pub baseline_version: Option<String>,
    /// The bytes of its files the image shows, and the baseline showed;
    /// null when not there or unknown (a database without file lists).
    pub size: Option<u64>,
    pub baseline_size: Option<u64>,
    pub delta: Option<i64>,
    /// The layer that installed it (1 is the oldest), and its instruction.
    pub layer: Option<usize>,
    pub instruction: Option<String>,
    /// apt: asked for (true) or pulled in (false); null where unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<bool>,
    /// The package asked for that pulled it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pulled_in_by: Option<String>,
    /// Only a Recommends brought it (`--no-install-recommends` drops it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recommended_only: bool,
}

/// A package an image holds, as `deny-packages` judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// `dpkg`, `apk`, `rpm`, `python` or `npm`.
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    /// The bytes of its files the image shows; `None` when its database
    /// names no files.
    pub size: Option<u64>,
}

/// A package and its bytes, the evidence of a piece of advice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageBytes {
    pub name: String,
    pub size: Option<u64>,
}

/// A path and its bytes, the evidence of a piece of advice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathBytes {
    pub path: String,
    pub size: u64,
}

/// Advice that shrinks the image, with the bytes behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdviceItem {
    /// `package-cache`, `toolchain`, `deleted-later`, `rewritten-later`,
    /// `vcs-directory`.
    pub code: String,
    /// What was found.
    pub what: String,
    /// The bytes it costs.
    pub size: u64,
    /// The layer that brought them (1 is the oldest), and its instruction.
    pub layer: usize,
    pub instruction: Option<String>,
    /// For bytes a later layer hides: that layer, and its instruction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_by: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_by_instruction: Option<String>,
    /// The largest paths, and how many there are in all.
    pub paths: Vec<PathBytes>,
    pub path_count: usize,
    /// The packages it names, largest first (all of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<PackageBytes>,
    /// What to do.
    pub fix: String,
}

/// Why an image that crossed a threshold grew, file by file: the largest
/// changes against the baseline and the advice.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Explanation {
    /// The largest changes against the baseline; empty when there was none
    /// to compare files with (see `note`).
    #[serde(default)]
    pub changes: Vec<FileChange>,
    #[serde(default)]
    pub advice: Vec<AdviceItem>,
    /// The largest package changes against the baseline; for a new image,
    /// its largest packages (`added`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<PackageChange>,
    /// Against the baseline's files: the change of the bytes the image
    /// shows, and of those later layers hide (together, the size's change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_delta: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasted_delta: Option<i64>,
    /// Why there are no file changes, or the analysis could not be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How many past sizes of the default branch a report keeps per image.
pub const HISTORY_MAX: usize = 20;

impl Layer {
    /// True when both name the same layer: the same diff ID, or the same
    /// blob (a report written before diff IDs named registry layers).
    pub fn same_as(&self, other: &Layer) -> bool {
        let blob = |l: &Layer| l.blob.clone().unwrap_or_else(|| l.digest.clone());
        self.digest == other.digest || blob(self) == blob(other)
    }
}

/// What an image measures: the numbers budgets are judged on. Every row,
/// baseline and history point carries one (flattened into the JSON, so the
/// keys are the report's `size`, `compressed`...). `None` is unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    /// Uncompressed bytes of all layers, as `docker image inspect` counts `Size`.
    #[serde(default)]
    pub size: Option<u64>,
    /// Bytes a pull transfers: the sum of the layer blob sizes.
    #[serde(default)]
    pub compressed: Option<u64>,
    /// `compressed` was estimated by compressing the layers.
    #[serde(default)]
    pub compressed_estimated: bool,
    #[serde(default)]
    pub layers: Option<u64>,
    /// Bytes in lower layers that later layers overwrite or delete.
    #[serde(default)]
    pub wasted: Option<u64>,
}

/// One past size of an image on the default branch, oldest first in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPoint {
    /// The commit the size was measured at, when known.
    pub commit: Option<String>,
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// What a baseline measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    #[serde(rename = "ref")]
    pub reference: String,
    /// `reference` (measured in this run) or `report` (read from a saved report).
    pub source: String,
    /// The commit of main compared with, when `{merge-base}` found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
    #[serde(flatten)]
    pub metrics: Metrics,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_details: Vec<Layer>,
    /// The default branch's sizes up to and including this baseline, oldest
    /// first, at most [`HISTORY_MAX`]; it goes to the image's `history`.
    #[serde(skip)]
    pub history: Vec<HistoryPoint>,
}

/// The change against the baseline; null where either side is unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub size: Option<i64>,
    pub compressed: Option<i64>,
    pub layers: Option<i64>,
    /// `size` as a percentage of the baseline's size; null when that is zero.
    #[serde(default)]
    pub size_percent: Option<f64>,
}

/// The limits that apply to one image: read from the config, judged, and
/// kept in the report for renderers of a saved report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Bytes a pull transfers (the registry's compressed layer blobs).
    pub max_compressed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_layers: Option<u64>,
    /// Bytes lower layers hold that later layers overwrite or delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wasted: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "growth_out",
        deserialize_with = "growth_in"
    )]
    pub max_growth: Option<Growth>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "growth_out",
        deserialize_with = "growth_in"
    )]
    pub warn_growth: Option<Growth>,
    /// Patterns of package names the image must not hold (`gcc-*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny_packages: Vec<String>,
}

impl Budget {
    /// The limit of a bytes or count budget.
    pub fn amount(&self, key: BudgetKey) -> Option<u64> {
        match key {
            BudgetKey::MaxSize => self.max_size,
            BudgetKey::WarnSize => self.warn_size,
            BudgetKey::MaxCompressed => self.max_compressed,
            BudgetKey::MaxLayers => self.max_layers,
            BudgetKey::MaxWasted => self.max_wasted,
            BudgetKey::MaxGrowth | BudgetKey::WarnGrowth | BudgetKey::DenyPackages => None,
        }
    }

    /// The limit of a growth budget.
    pub fn growth(&self, key: BudgetKey) -> Option<Growth> {
        match key {
            BudgetKey::MaxGrowth => self.max_growth,
            BudgetKey::WarnGrowth => self.warn_growth,
            _ => None,
        }
    }

    pub fn has(&self, key: BudgetKey) -> bool {
        match key {
            BudgetKey::DenyPackages => !self.deny_packages.is_empty(),
            _ => self.amount(key).is_some() || self.growth(key).is_some(),
        }
    }

    /// Sets a bytes or count budget (a growth key takes [`Budget::set_growth`]).
    pub fn set_amount(&mut self, key: BudgetKey, limit: u64) {
        let field = match key {
            BudgetKey::MaxSize => &mut self.max_size,
            BudgetKey::WarnSize => &mut self.warn_size,
            BudgetKey::MaxCompressed => &mut self.max_compressed,
            BudgetKey::MaxLayers => &mut self.max_layers,
            BudgetKey::MaxWasted => &mut self.max_wasted,
            BudgetKey::MaxGrowth | BudgetKey::WarnGrowth | BudgetKey::DenyPackages => return,
        };
        *field = Some(limit);
    }

    pub fn set_growth(&mut self, key: BudgetKey, limit: Growth) {
        match key {
            BudgetKey::MaxGrowth => self.max_growth = Some(limit),
            BudgetKey::WarnGrowth => self.warn_growth = Some(limit),
            _ => {}
        }
    }

    /// Each budget this one sets, else the one `defaults` sets.
    #[must_use]
    pub fn or(&self, defaults: &Budget) -> Budget {
        let mut merged = defaults.clone();
        for key in BudgetKey::ALL {
            if let Some(limit) = self.amount(key) {
                merged.set_amount(key, limit);
            }
            if let Some(limit) = self.growth(key) {
                merged.set_growth(key, limit);
            }
        }
        if !self.deny_packages.is_empty() {
            merged.deny_packages.clone_from(&self.deny_packages);
        }
        merged
    }
}

/// Growth limits in JSON: a number of bytes, or a string such as "5%".
fn growth_out<S: Serializer>(g: &Option<Growth>, s: S) -> Result<S::Ok, S::Error> {
    match g {
        Some(Growth::Bytes(b)) => s.serialize_u64(*b),
        Some(p) => s.serialize_str(&p.to_string()),
        None => s.serialize_none(),
    }
}

fn growth_in<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Growth>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bytes(u64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Bytes(b)) => Ok(Some(Growth::Bytes(b))),
        Some(Raw::Text(t)) => Growth::parse(&t)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// One image's row of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageResult {
    pub name: String,
    #[serde(rename = "ref")]
    pub reference: String,
    /// Where it was measured: `daemon` (the local engine).
    pub source: Option<String>,
    pub digest: Option<String>,
    pub platform: Option<String>,
    #[serde(flatten)]
    pub metrics: Metrics,
    pub baseline: Option<Baseline>,
    pub delta: Option<Delta>,
    pub status: Status,
    #[serde(default)]
    pub findings: Vec<Finding>,
    pub error: Option<String>,
    #[serde(default)]
    pub budget: Budget,
    /// Why the baseline could not be measured, when it could not (the
    /// growth budgets are then errors; a set of this image is too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layer_details: Vec<Layer>,
    /// Things worth knowing that are not findings (a baseline not found...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The default branch's past sizes of this image, oldest first (at most
    /// [`HISTORY_MAX`]): carried from baseline report to baseline report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryPoint>,
    /// For an image over a warn or fail threshold: which files did it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// Its layers against its baseline's, by digest; none without a
    /// baseline that lists its layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_change: Option<LayerChange>,
}

/// Why an image's layers differ from its baseline's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerCause {
    /// The first layer differs: another base image, or another version of it.
    BaseImage,
    /// The first `shared` layers are the baseline's; the image's own
    /// layers after them changed.
    OwnLayers,
    /// The same layers, by digest.
    Same,
}

/// An image's layers against its baseline's, in the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerChange {
    pub cause: LayerCause,
    /// Layers the image has in common with the baseline from the bottom up,
    /// in order.
    pub shared: u64,
    pub added: u64,
    pub removed: u64,
    pub unchanged: u64,
}

impl ImageResult {
    pub fn is_new(&self) -> bool {
        self.baseline.is_none() && self.status != Status::Error
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub passed: bool,
    /// The commit the report was made at, when known (CI's variables or git).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The config the report was made from: `sha256:` of the file's bytes.
    /// Shards of one run share it; `merge` refuses reports that do not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    pub images: Vec<ImageResult>,
    /// The sets of images judged in this run, after the images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<SetResult>,
    /// Every set of the config, so that `merge` can judge the sets whose
    /// images were checked in different shards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set_plans: Vec<SetPlan>,
}

impl Report {
    pub fn new(images: Vec<ImageResult>) -> Report {
        let mut report = Report {
            schema: SCHEMA.to_string(),
            passed: true,
            commit: None,
            config: None,
            images,
            sets: Vec::new(),
            set_plans: Vec::new(),
        };
        report.passed = report.judge_passed();
        report
    }

    /// The report with its sets (and the plans they came from).
    #[must_use]
    pub fn with_sets(mut self, sets: Vec<SetResult>, plans: Vec<SetPlan>) -> Report {
        self.sets = sets;
        self.set_plans = plans;
        self.passed = self.judge_passed();
        self
    }

    fn judge_passed(&self) -> bool {
        self.statuses()
            .all(|s| matches!(s, Status::Pass | Status::Warn))
    }

    /// Every image's and every set's status.
    fn statuses(&self) -> impl Iterator<Item = Status> + '_ {
        self.images
            .iter()
            .map(|i| i.status)
            .chain(self.sets.iter().map(|s| s.status))
    }

    /// The worst status of any image or set; `Pass` for an empty report.
    pub fn worst(&self) -> Status {
        self.statuses().max().unwrap_or(Status::Pass)
    }

    /// How many images have this status.
    pub fn count(&self, status: Status) -> usize {
        self.images.iter().filter(|i| i.status == status).count()
    }
}

/// A set of images that share nodes, as `[sets.NAME]` defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPlan {
    pub name: String,
    /// Keys of `[images.*]`, in the config's order (`"*"` expanded).
    pub images: Vec<String>,
    #[serde(default)]
    pub budget: Budget,
}

/// One image of a set: the bytes it shares with others of the set (its
/// layer chains another image of the set also has) and its own, as
/// `docker system df -v` counts SHARED SIZE and UNIQUE SIZE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetMember {
    pub name: String,
    pub shared: Option<u64>,
    pub unique: Option<u64>,
    /// The same in the baseline (null: no baseline, or unknown).
    #[serde(default)]
    pub baseline_shared: Option<u64>,
    #[serde(default)]
    pub baseline_unique: Option<u64>,
    /// The images of the set it shared layers with in the baseline and no
    /// longer does, with the bytes it shared no more.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stopped_sharing_with: Vec<String>,
}

/// A set's side of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetSide {
    /// Stored on a node: each distinct layer chain once.
    pub size: Option<u64>,
    /// Pulled by a node that has none of them: the blobs of those chains.
    pub compressed: Option<u64>,
    /// The images' own sizes added up, as if nothing were shared.
    pub separate: Option<u64>,
}

/// One set's row of the report, per platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetResult {
    pub name: String,
    pub images: Vec<String>,
    pub platform: Option<String>,
    #[serde(flatten)]
    pub now: SetSide,
    /// Distinct layer chains.
    pub layers: Option<u64>,
    pub baseline: Option<SetSide>,
    pub delta: Option<Delta>,
    pub members: Vec<SetMember>,
    pub status: Status,
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Why the set could not be judged (an image of it not measured).
    pub error: Option<String>,
    #[serde(default)]
    pub budget: Budget,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_id_is_checked_once_and_makes_its_marker() {
        let id: CommentId = "api.v2_x-1".parse().unwrap();
        assert_eq!(id.marker(), "<!-- image-budget:api.v2_x-1 -->");
        assert_eq!(
            CommentId::default().marker(),
            "<!-- image-budget:default -->"
        );
        assert!("a".repeat(64).parse::<CommentId>().is_ok());
        for bad in ["", "a b", "x-->", "a<b>!c", &"a".repeat(65), &"é".repeat(3)] {
            let err = bad.parse::<CommentId>().unwrap_err();
            assert!(err.contains("not a comment id"), "{bad}: {err}");
        }
    }
}
