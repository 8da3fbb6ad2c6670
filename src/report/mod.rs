//! Renderers: pure functions from a [`Report`] to text.

pub mod comment;
mod escape;
pub mod explain;
pub mod github;
pub mod junit;
mod markdown;
pub mod metrics;
mod packages;
mod sets;
mod table;

use crate::model::{BudgetKey, Finding, ImageResult, Layer, Metric, Report, Severity, Status};
use crate::size;

/// The report formats of `--format`. The pull-request comment is not one:
/// the publisher renders it with [`comment::render`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people (the default).
    Table,
    /// The JSON report, schema image-budget/report/v1 (also the baseline format).
    Json,
    /// A markdown table, for job summaries and comments.
    Markdown,
    /// JUnit XML: a test case per image and budget, for CI test reports.
    Junit,
    /// GitHub workflow annotations (::error and ::warning commands).
    Github,
    /// GitLab's metrics report (metrics.txt, OpenMetrics text).
    GitlabMetrics,
}

/// Renders a report. `color` applies to the table only.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Table => table::render(report, color),
        Format::Json => json(report),
        Format::Markdown => markdown::render(report),
        Format::Junit => junit::render(report),
        Format::Github => github::render(report),
        Format::GitlabMetrics => metrics::render(report),
    }
}

/// One line per set over budget or not judged (`fail set node: ...`).
pub fn set_lines(report: &Report) -> Vec<String> {
    sets::lines(report)
}

pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a report always serializes");
    text.push('\n');
    text
}

/// One line with the verdict: `2 of 5 images over budget` and the like.
pub fn verdict(report: &Report) -> String {
    let total = report.images.len();
    let noun = |n: usize| if n == 1 { "image" } else { "images" };
    let failed = report.count(Status::Fail);
    let errors = report.count(Status::Error);
    let warned = report.count(Status::Warn);
    let mut parts = Vec::new();
    if failed > 0 {
        parts.push(format!("{failed} of {total} {} over budget", noun(total)));
    }
    if errors > 0 {
        parts.push(format!(
            "{errors} of {total} {} could not be checked",
            noun(total)
        ));
    }
    if parts.is_empty() {
        let within = format!("all {total} {} within budget", noun(total));
        if warned > 0 {
            parts.push(format!("{within}, {warned} near the limit"));
        } else {
            parts.push(within);
        }
    } else if warned > 0 {
        parts.push(format!("{warned} near the limit"));
    }
    let sets = report.sets.len();
    if sets > 0 {
        let set_noun = if sets == 1 { "set" } else { "sets" };
        let count = |status: Status| report.sets.iter().filter(|s| s.status == status).count();
        let (failed, errors) = (count(Status::Fail), count(Status::Error));
        if failed > 0 {
            parts.push(format!("{failed} of {sets} {set_noun} over budget"));
        }
        if errors > 0 {
            parts.push(format!("{errors} of {sets} {set_noun} could not be judged"));
        }
        if failed == 0 && errors == 0 {
            parts.push(format!("{sets} {set_noun} within budget"));
        }
    }
    parts.join("; ")
}

/// The verdict with its word: `FAIL: 1 of 2 images over budget`.
pub fn headline(report: &Report) -> String {
    let head = match report.worst() {
        Status::Pass | Status::Warn => "PASS",
        Status::Fail => "FAIL",
        Status::Error => "ERROR",
    };
    format!("{head}: {}", verdict(report))
}

/// What a person at the terminal must still see when the report goes to a
/// file: the headline, and one line per image over budget or not checked
/// (its first failing finding, or the first line of its error).
pub fn stderr_lines(report: &Report) -> Vec<String> {
    let mut lines = vec![headline(report)];
    for image in &report.images {
        lines.extend(stderr_line(
            &name_cell(report, image),
            image.status,
            image.error.as_deref(),
            &image.findings,
        ));
    }
    lines.extend(sets::lines(report));
    lines
}

/// The line an image or a set over budget or not checked leaves on stderr:
/// `fail LABEL: ` its first failing finding, `error LABEL: ` the first line
/// of its error (or of its first error finding); nothing otherwise.
fn stderr_line(
    label: &str,
    status: Status,
    error: Option<&str>,
    findings: &[Finding],
) -> Option<String> {
    let first = |severity: Severity| {
        findings
            .iter()
            .find(|f| f.severity == severity)
            .map(|f| f.message.as_str())
    };
    match status {
        Status::Fail => Some(format!(
            "fail {label}: {}",
            first(Severity::Fail).unwrap_or("over budget")
        )),
        Status::Error => Some(format!(
            "error {label}: {}",
            error
                .or_else(|| first(Severity::Error))
                .and_then(|e| e.lines().next())
                .unwrap_or("could not be checked")
        )),
        Status::Pass | Status::Warn => None,
    }
}

/// How many of an over-budget image's largest layers are shown.
const LAYERS_SHOWN: usize = 3;

/// The largest layers of an image that did not keep its budget, largest
/// first: where the bytes went.
fn largest_layers(image: &ImageResult) -> Vec<&Layer> {
    if !matches!(image.status, Status::Fail | Status::Warn) {
        return Vec::new();
    }
    largest_layers_of(&image.layer_details, LAYERS_SHOWN)
        .into_iter()
        .map(|(_, layer)| layer)
        .collect()
}

/// At most `count` of the largest layers with a known, non-zero size, each
/// with its position (0 for the oldest), largest first; ties keep layer order.
fn largest_layers_of(layers: &[Layer], count: usize) -> Vec<(usize, &Layer)> {
    let mut largest: Vec<(usize, &Layer)> = layers
        .iter()
        .enumerate()
        .filter(|(_, l)| l.size.is_some_and(|s| s > 0))
        .collect();
    largest.sort_by_key(|(_, l)| std::cmp::Reverse(l.size));
    largest.truncate(count);
    largest
}

/// A layer for people: `40.0 MB  COPY app /app`.
fn layer_line(layer: &Layer) -> String {
    format!(
        "{:>9}  {}",
        layer.size.map_or_else(|| "?".to_string(), size::human),
        layer
            .instruction
            .as_deref()
            .map_or_else(|| "(instruction unknown)".to_string(), shorten_hashes)
    )
}

/// Long hex runs (content hashes in `COPY file:<64 hex> in /app`) cut to
/// twelve characters, as docker shows IDs.
fn shorten_hashes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 32 {
            out.push_str(&run[..12]);
            out.push('…');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The image column: its name, with the platform when the image has a row
/// per platform.
fn name_cell(report: &Report, image: &ImageResult) -> String {
    let rows = report
        .images
        .iter()
        .filter(|i| i.name == image.name)
        .count();
    match (&image.platform, rows > 1) {
        (Some(platform), true) => format!("{} ({platform})", image.name),
        _ => image.name.clone(),
    }
}

/// True when any row knows its compressed size: then the column is shown.
fn shows_compressed(report: &Report) -> bool {
    report.images.iter().any(|i| i.metrics.compressed.is_some())
}

/// A wasted column is worth showing: a max-wasted budget, or bytes wasted.
fn shows_wasted(report: &Report) -> bool {
    report
        .images
        .iter()
        .any(|i| i.budget.has(BudgetKey::MaxWasted) || i.metrics.wasted.is_some_and(|w| w > 0))
}

/// The wasted column: `1.2 MB`, or `?` when not measured.
fn wasted_cell(image: &ImageResult) -> String {
    image
        .metrics
        .wasted
        .map_or_else(|| "?".to_string(), size::human)
}

/// The compressed column: `12.3 MB`, `~12.3 MB` when estimated, `?` unknown.
fn compressed_cell(image: &ImageResult) -> String {
    match image.metrics.compressed {
        Some(bytes) if image.metrics.compressed_estimated => format!("~{}", size::human(bytes)),
        Some(bytes) => size::human(bytes),
        None => "?".to_string(),
    }
}

/// The size column: `47.0 MB`, or `?` when unknown.
fn size_cell(image: &ImageResult) -> String {
    image
        .metrics
        .size
        .map_or_else(|| "?".to_string(), size::human)
}

/// The change against the baseline: `+1.2 MB (+0.8%)`, `new`, or empty on error.
fn change_cell(image: &ImageResult) -> String {
    if image.status == Status::Error && image.metrics.size.is_none() {
        return String::new();
    }
    match (&image.delta, &image.baseline) {
        (Some(delta), Some(_)) => match delta.size {
            Some(bytes) => delta_text(bytes, delta.size_percent),
            None => "?".to_string(),
        },
        _ => "new".to_string(),
    }
}

/// The budget column: `≤ 20.0 MB, +5%` from max-size and max-growth, then
/// the pull and wasted budgets; warnings and the layer count are elsewhere.
fn budget_cell(image: &ImageResult) -> String {
    let budget = &image.budget;
    let parts: Vec<String> = [
        BudgetKey::MaxSize,
        BudgetKey::MaxGrowth,
        BudgetKey::MaxCompressed,
        BudgetKey::MaxWasted,
    ]
    .into_iter()
    .filter_map(|key| {
        if let Some(growth) = budget.growth(key) {
            return Some(format!("+{growth}"));
        }
        let max = size::human(budget.amount(key)?);
        Some(match key.metric() {
            Metric::Compressed => format!("pull ≤ {max}"),
            Metric::Wasted => format!("wasted ≤ {max}"),
            _ => format!("≤ {max}"),
        })
    })
    .chain(
        (!budget.deny_packages.is_empty())
            .then(|| format!("no {}", budget.deny_packages.join(" "))),
    )
    .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(", ")
    }
}

/// The layers column: `3`, or `3 / 20` with a max-layers budget.
fn layers_cell(image: &ImageResult) -> String {
    match (
        image.metrics.layers,
        image.budget.amount(BudgetKey::MaxLayers),
    ) {
        (Some(n), Some(max)) => format!("{n} / {max}"),
        (Some(n), None) => n.to_string(),
        (None, _) => "?".to_string(),
    }
}

/// The status column of markdown tables: an icon and a word.
fn status_icon(status: Status, new: bool) -> &'static str {
    match status {
        Status::Error => "❗ error",
        _ if new => match status {
            Status::Fail => "❌ 🆕 fail",
            Status::Warn => "⚠️ 🆕 warn",
            _ => "🆕 new",
        },
        Status::Pass => "✅ pass",
        Status::Warn => "⚠️ warn",
        Status::Fail => "❌ fail",
    }
}

/// The icon of the worst status in a report, for the verdict line.
fn worst_icon(report: &Report) -> &'static str {
    icon(report.worst())
}

/// A status's icon alone.
fn icon(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅",
        Status::Warn => "⚠️",
        Status::Fail => "❌",
        Status::Error => "❗",
    }
}

fn severity_icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Warn => "⚠️",
        Severity::Fail => "❌",
        Severity::Error => "❗",
    }
}

/// A finding's severity as the terminal's lines begin with it.
fn mark(severity: Severity) -> &'static str {
    match severity {
        Severity::Warn => "warn",
        Severity::Fail => "fail",
        Severity::Error => "error",
    }
}

/// The image whose size changed most against its baseline, either way, with
/// the change in bytes; the first such image on a tie. None when no image
/// has a known, non-zero change.
fn largest_change(report: &Report) -> Option<(&ImageResult, i64)> {
    let mut best: Option<(&ImageResult, i64)> = None;
    for image in &report.images {
        let Some(delta) = image.delta.as_ref().and_then(|d| d.size) else {
            continue;
        };
        if delta != 0 && best.is_none_or(|(_, b)| delta.unsigned_abs() > b.unsigned_abs()) {
            best = Some((image, delta));
        }
    }
    best
}

/// A change in bytes with its percentage when known: `+12.4 MB (+9.1%)`.
fn delta_text(bytes: i64, percent: Option<f64>) -> String {
    let percent = percent.map(|p| format!(" ({p:+.1}%)")).unwrap_or_default();
    format!("{}{percent}", size::human_delta(i128::from(bytes)))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod unit {
    #[test]
    fn long_hashes_are_shortened() {
        let hash = "bf2f64eda277c629554378031ddcbbdce86ba6a83f6900b6494527f73fbe862b";
        assert_eq!(
            super::shorten_hashes(&format!("COPY file:{hash} in /opt/cafe")),
            "COPY file:bf2f64eda277… in /opt/cafe"
        );
    }
}
