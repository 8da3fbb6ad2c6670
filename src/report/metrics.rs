//! GitLab's metrics report (`artifacts:reports:metrics`, `metrics.txt`): GitLab
//! shows each metric in the merge request next to its value on the target
//! branch.
//!
//! GitLab asks for OpenMetrics text. Its parser drops everything from a `#`
//! to the end of a line, splits what is left into shell words, and takes the
//! first word as the metric's name and the second as its value. So:
//! - one family per metric, each sample a `name{labels} value` line, with
//!   OpenMetrics `# HELP`/`# TYPE` lines (comments to GitLab) and `# EOF`:
//!   `image_budget_size_bytes{image="api"} 123`. GitLab shows the labels as
//!   part of the name (`image_budget_size_bytes{image=api}`), so each image
//!   and metric is one entry of its widget;
//! - the metrics: `image_budget_size_bytes` (uncompressed),
//!   `image_budget_compressed_bytes` (labelled `estimated="true"` when
//!   estimated rather than read from a registry), `image_budget_layers`,
//!   `image_budget_wasted_bytes`;
//! - labels: `image`, the image's name, and `platform` when the image has a
//!   row per platform;
//! - label values keep only ASCII letters, digits and `. _ : / @ + -`; any
//!   other character becomes `_`, because a `#` would cut the line for
//!   GitLab, and a space, quote or backslash would split or unbalance it.
//!   Two names that differ only in such characters share a metric;
//! - an unknown value is left out, never written as 0.

use std::fmt::Write;

use crate::model::{ImageResult, Metric, Report};

/// A metric's family in `metrics.txt`: its name and help.
fn family(metric: Metric) -> (&'static str, &'static str) {
    match metric {
        Metric::Size => (
            "image_budget_size_bytes",
            "Uncompressed size of the image: the sum of its layers.",
        ),
        Metric::Compressed => (
            "image_budget_compressed_bytes",
            "Bytes a pull transfers: the compressed layer blobs.",
        ),
        Metric::Layers => ("image_budget_layers", "Number of layers."),
        Metric::Wasted => (
            "image_budget_wasted_bytes",
            "Bytes in lower layers that later layers overwrite or delete.",
        ),
        // Not a number: never written (not in `Metric::ALL`).
        Metric::Packages => ("image_budget_packages", "Packages the image holds."),
    }
}

/// A label value GitLab's parser and OpenMetrics both read back unchanged.
fn label_value(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '@' | '+' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn labels(report: &Report, image: &ImageResult, estimated: bool) -> String {
    let mut labels = vec![format!("image=\"{}\"", label_value(&image.name))];
    let rows = report
        .images
        .iter()
        .filter(|i| i.name == image.name)
        .count();
    if let (Some(platform), true) = (&image.platform, rows > 1) {
        labels.push(format!("platform=\"{}\"", label_value(platform)));
    }
    if estimated {
        labels.push("estimated=\"true\"".to_string());
    }
    labels.join(",")
}

/// Renders the report as GitLab's metrics report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for metric in Metric::ALL {
        let (name, help) = family(metric);
        let samples: Vec<(&ImageResult, u64)> = report
            .images
            .iter()
            .filter_map(|image| metric.of(&image.metrics).map(|v| (image, v)))
            .collect();
        if samples.is_empty() {
            continue;
        }
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (image, value) in samples {
            let estimated = metric == Metric::Compressed && image.metrics.compressed_estimated;
            let _ = writeln!(
                out,
                "{name}{{{}}} {value}",
                labels(report, image, estimated)
            );
        }
    }
    out.push_str("# EOF\n");
    out
}
