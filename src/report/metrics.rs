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

use crate::model::{ImageResult, Report};

struct Family {
    name: &'static str,
    help: &'static str,
    value: fn(&ImageResult) -> Option<u64>,
}

const FAMILIES: [Family; 4] = [
    Family {
        name: "image_budget_size_bytes",
        help: "Uncompressed size of the image: the sum of its layers.",
        value: |i| i.metrics.size,
    },
    Family {
        name: "image_budget_compressed_bytes",
        help: "Bytes a pull transfers: the compressed layer blobs.",
        value: |i| i.metrics.compressed,
    },
    Family {
        name: "image_budget_layers",
        help: "Number of layers.",
        value: |i| i.metrics.layers,
    },
    Family {
        name: "image_budget_wasted_bytes",
        help: "Bytes in lower layers that later layers overwrite or delete.",
        value: |i| i.metrics.wasted,
    },
];

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
    for family in &FAMILIES {
        let samples: Vec<(&ImageResult, u64)> = report
            .images
            .iter()
            .filter_map(|image| (family.value)(image).map(|v| (image, v)))
            .collect();
        if samples.is_empty() {
            continue;
        }
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} gauge", family.name);
        for (image, value) in samples {
            let estimated = family.name == "image_budget_compressed_bytes"
                && image.metrics.compressed_estimated;
            let _ = writeln!(
                out,
                "{}{{{}}} {value}",
                family.name,
                labels(report, image, estimated)
            );
        }
    }
    out.push_str("# EOF\n");
    out
}
