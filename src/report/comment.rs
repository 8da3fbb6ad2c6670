//! The sticky pull-request (GitHub) or merge-request (GitLab) comment.
//!
//! The body, in order:
//! 1. the hidden marker [`marker`] on the first line, by which the publisher
//!    finds the comment again and edits it in place;
//! 2. the verdict in one line, with the largest change;
//! 3. the table (shared with `--format markdown`): one row per image;
//! 4. per image, its error, findings and notes, one line each;
//! 5. per image that grew (or is new and over a budget), a collapsed
//!    `<details>` section with the layers that changed (see [`LayerDiff`]);
//! 6. per image with a history of default-branch sizes, its trend as a small
//!    Mermaid `xychart-beta` (see [`trend_section`]), collapsed;
//! 7. when detail had to go, a note saying how much.
//!
//! Everything taken from outside is escaped (see the `escape` module): it
//! cannot break the table, open HTML, close the marker or a `<details>`
//! block, or mention anyone.
//!
//! # Size
//! GitHub refuses a body over 65,536 characters, counted as Unicode scalar
//! values (`.chars().count()`). The body is kept at or under
//! [`MAX_COMMENT_CHARS`], giving up detail in this order:
//! 1. the table is drawn as it is for the job summary, but with names cut
//!    (in the middle) at 120 characters; only if even that table does not fit
//!    are names cut shorter, and then the budget and layers columns dropped,
//!    step by step: a row is never dropped;
//! 2. layer sections that do not fit are left out (each kept if it fits, in
//!    report order);
//! 3. if the finding lines do not all fit with no layer section at all, only
//!    the first line of each image is kept (its error, else its worst
//!    finding), then as many of those as fit;
//! 4. a closing note says how many details were omitted.
//!
//! The verdict and every row always stay. A report too large for even the
//! narrowest table (beyond about 1,000 images) is still rendered whole and
//! will be over the limit: rows are never dropped.

use std::fmt::Write;

use super::escape;
use super::explain;
use super::markdown::{self, TableOptions};
use super::{
    delta_text, largest_change, largest_layers_of, name_cell, severity_icon, shorten_hashes, size,
    verdict, worst_icon,
};
use crate::analysis::layer_diff::{Cause, LayerDiff};
use crate::model::{CommentId, ImageResult, Layer, Report, Severity};

/// The most characters a comment body may have: GitHub's limit is 65,536;
/// the rest is a safety margin.
pub const MAX_COMMENT_CHARS: usize = 65_000;

/// The table drawn when the whole table fits, then narrower ones in order.
const TABLE_STEPS: [TableOptions; 6] = [
    TableOptions {
        name_max: Some(120),
        compact: false,
    },
    TableOptions {
        name_max: Some(48),
        compact: false,
    },
    TableOptions {
        name_max: Some(32),
        compact: false,
    },
    TableOptions {
        name_max: Some(24),
        compact: true,
    },
    TableOptions {
        name_max: Some(16),
        compact: true,
    },
    TableOptions {
        name_max: Some(10),
        compact: true,
    },
];

/// Room kept for the closing note when detail is omitted.
const NOTE_ROOM: usize = 200;
/// The longest image name in a finding line or a section's summary.
const LABEL_MAX: usize = 80;
/// The longest message (finding, error, note) in a finding line.
const MESSAGE_MAX: usize = 600;
/// The longest layer instruction in a layer table.
const INSTRUCTION_MAX: usize = 160;
/// The most added (or removed) layers listed per image; the largest are kept.
const LAYER_ROWS: usize = 12;
/// How many of the largest layers are shown without baseline layers.
const LARGEST_SHOWN: usize = 5;

/// The hidden marker that finds the comment again: `<!-- image-budget:ID -->`.
pub fn marker(id: &CommentId) -> String {
    id.marker()
}

/// Characters as GitHub counts them for its body limit.
pub fn comment_chars(body: &str) -> usize {
    body.chars().count()
}

/// The comment body for `report`, with the marker for config `id`.
pub fn render(report: &Report, id: &CommentId) -> String {
    let head = head(report, id);
    let chars = comment_chars;
    let table = TABLE_STEPS
        .iter()
        .map(|options| markdown::table(report, *options))
        .find(|table| chars(&head) + chars(table) + NOTE_ROOM <= MAX_COMMENT_CHARS)
        .unwrap_or_else(|| markdown::table(report, TABLE_STEPS[TABLE_STEPS.len() - 1]));
    let lines: Vec<Vec<String>> = report
        .images
        .iter()
        .map(|image| finding_lines(report, image))
        .collect();
    let mut sections: Vec<String> = report
        .images
        .iter()
        .flat_map(|image| [layer_section(report, image), trend_section(report, image)])
        .flatten()
        .collect();
    let mut sets = String::new();
    super::sets::markdown(&mut sets, report);
    if !sets.is_empty() {
        sections.push(format!(
            "\n**Sets** (each layer once, as a node stores them)\n{sets}"
        ));
    }

    let fixed = chars(&head) + chars(&table);
    let all_lines: usize = lines.iter().flatten().map(|l| chars(l)).sum();
    let lines_cost = |n: usize| if n == 0 { 0 } else { n + 1 };
    let all_sections: usize = sections.iter().map(|s| chars(s)).sum();
    let mut body = head;
    body.push_str(&table);
    if fixed + lines_cost(all_lines) + all_sections <= MAX_COMMENT_CHARS {
        push_lines(&mut body, lines.iter().flatten());
        for section in &sections {
            body.push_str(section);
        }
        return body;
    }

    let room = MAX_COMMENT_CHARS.saturating_sub(fixed + NOTE_ROOM);
    let total_lines: usize = lines.iter().map(Vec::len).sum();
    let mut omitted = 0;
    if lines_cost(all_lines) <= room {
        push_lines(&mut body, lines.iter().flatten());
        let mut left = room - lines_cost(all_lines);
        let mut kept = Vec::new();
        for section in &sections {
            if chars(section) <= left {
                left -= chars(section);
                kept.push(section.as_str());
            } else {
                omitted += 1;
            }
        }
        body.extend(kept);
    } else {
        omitted += sections.len();
        let firsts: Vec<&String> = lines.iter().filter_map(|l| l.first()).collect();
        let mut left = room.saturating_sub(1);
        let mut kept = Vec::new();
        for line in firsts {
            if chars(line) <= left {
                left -= chars(line);
                kept.push(line);
            }
        }
        omitted += total_lines - kept.len();
        push_lines(&mut body, kept.into_iter());
    }
    if omitted > 0 {
        let s = if omitted == 1 { "" } else { "s" };
        let _ = write!(
            body,
            "\n_… {omitted} more detail{s} omitted to keep this comment under GitHub's size limit; the JSON report has them all._\n"
        );
    }
    body
}

/// The marker and the verdict line, then a blank line.
fn head(report: &Report, id: &CommentId) -> String {
    let mut out = marker(id);
    out.push('\n');
    let title = match id.as_str() {
        "default" => "image-budget".to_string(),
        other => format!("image-budget ({other})"),
    };
    let _ = write!(
        out,
        "### {} {title}: {}",
        worst_icon(report),
        verdict(report)
    );
    if let Some((image, bytes)) = largest_change(report) {
        let percent = image.delta.as_ref().and_then(|d| d.size_percent);
        let _ = write!(
            out,
            " · largest change: {} {}",
            escape::markdown_clipped(&name_cell(report, image), LABEL_MAX),
            delta_text(bytes, percent)
        );
    }
    out.push_str("\n\n");
    out
}

fn push_lines<'a>(body: &mut String, lines: impl Iterator<Item = &'a String>) {
    let mut first = true;
    for line in lines {
        if first {
            body.push('\n');
            first = false;
        }
        body.push_str(line);
    }
}

/// An image's lines under the table, most important first: its error, its
/// findings (errors, then failures, then warnings), then its notes.
fn finding_lines(report: &Report, image: &ImageResult) -> Vec<String> {
    let label = escape::markdown_clipped(&name_cell(report, image), LABEL_MAX);
    let line = |icon: &str, text: &str| {
        format!(
            "- {icon} **{label}**: {}\n",
            escape::markdown_clipped(text, MESSAGE_MAX)
        )
    };
    let mut lines = Vec::new();
    if let Some(error) = &image.error {
        lines.push(line("❗", error));
    }
    let mut findings: Vec<_> = image.findings.iter().collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for finding in findings {
        lines.push(line(severity_icon(finding.severity), &finding.message));
    }
    for note in &image.notes {
        lines.push(line("ℹ️", note));
    }
    lines
}

/// The collapsed section for an image that grew, or that is new and over a
/// budget; None for other images and for images without layer details.
/// The size of an image over the default branch's last builds and this one,
/// as a Mermaid line chart (GitHub and GitLab render it). Labels are short
/// commits, always quoted (GitHub's renderer rejects some unquoted labels);
/// points with an unknown size are left out, never drawn as 0.
pub fn trend_section(report: &Report, image: &ImageResult) -> Option<String> {
    let now = image.metrics.size?;
    let mut points: Vec<(String, u64)> = image
        .history
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let label = p
                .commit
                .as_deref()
                .map_or_else(|| format!("#{}", i + 1), |c| c.chars().take(7).collect());
            Some((label, p.metrics.size?))
        })
        .collect();
    if points.is_empty() {
        return None;
    }
    points.push(("this".to_string(), now));
    let top = points.iter().map(|(_, s)| *s).max().unwrap_or(0);
    let mb = |bytes: u64| format!("{:.1}", bytes as f64 / 1_000_000.0);
    let quote = |label: &str| {
        let clean: String = label
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '#')
            .collect();
        format!("\"{clean}\"")
    };
    let labels: Vec<String> = points.iter().map(|(l, _)| quote(l)).collect();
    let values: Vec<String> = points.iter().map(|(_, s)| mb(*s)).collect();
    let title = escape::html_clipped(&name_cell(report, image), LABEL_MAX);
    let mut out = String::new();
    let _ = writeln!(out, "\n<details><summary>Trend of {title}</summary>\n");
    out.push_str("```mermaid\nxychart-beta\n");
    let _ = writeln!(out, "    x-axis [{}]", labels.join(", "));
    let _ = writeln!(
        out,
        "    y-axis \"MB (uncompressed)\" 0 --> {}",
        (top as f64 * 1.1 / 1_000_000.0).ceil().max(1.0)
    );
    let _ = writeln!(out, "    line [{}]", values.join(", "));
    out.push_str("```\n\n</details>\n");
    Some(out)
}

fn layer_section(report: &Report, image: &ImageResult) -> Option<String> {
    let delta = image.delta.as_ref().and_then(|d| d.size);
    let grew = delta.is_some_and(|d| d > 0);
    let new_and_over = image.baseline.is_none()
        && image
            .findings
            .iter()
            .any(|f| matches!(f.severity, Severity::Fail | Severity::Warn));
    let explained = image.explanation.as_ref();
    if !(grew || new_and_over || explained.is_some())
        || image.layer_details.is_empty() && explained.is_none()
    {
        return None;
    }
    let label = escape::html_clipped(&name_cell(report, image), LABEL_MAX);
    let change = match delta {
        Some(bytes) if grew => {
            let percent = image.delta.as_ref().and_then(|d| d.size_percent);
            format!("{} — ", delta_text(bytes, percent))
        }
        _ => String::new(),
    };
    let baseline_layers = image
        .baseline
        .as_ref()
        .map(|b| b.layer_details.as_slice())
        .filter(|layers| !layers.is_empty());
    let mut out = String::new();
    match baseline_layers {
        Some(base) if grew => {
            let diff = LayerDiff::new(&image.layer_details, base);
            let cause = match diff.cause {
                Cause::BaseImage => "the base image changed",
                Cause::OwnLayers { .. } => "own layers changed",
                Cause::Same => "same layers as the baseline",
            };
            let _ = write!(
                out,
                "\n<details><summary>{label}: {change}{cause}</summary>\n\n"
            );
            diff_body(&mut out, &diff, image.layer_details.len());
        }
        _ => {
            let why = if image.baseline.is_some() && baseline_layers.is_none() {
                "largest layers (the baseline has no layer list)"
            } else {
                "largest layers"
            };
            let _ = write!(
                out,
                "\n<details><summary>{label}: {change}{why}</summary>\n\n"
            );
            let largest = largest_layers_of(&image.layer_details, LARGEST_SHOWN);
            layer_table(&mut out, largest.into_iter().map(|(i, l)| ("", i, l)));
        }
    }
    if let Some(explained) = explained {
        explain::explanation_markdown(&mut out, explained);
    }
    out.push_str("\n</details>\n");
    Some(out)
}

fn diff_body(out: &mut String, diff: &LayerDiff, image_layers: usize) {
    match diff.cause {
        Cause::BaseImage => out.push_str(
            "The first layer differs from the baseline's: the base image changed (another base, or a new version of it).\n\n",
        ),
        Cause::OwnLayers { shared } => {
            let which = if shared == 1 {
                "Layer 1 is".to_string()
            } else {
                format!("Layers 1–{shared} are")
            };
            let _ = writeln!(
                out,
                "{which} the baseline's; layer {} is the first that differs: own layers changed.\n",
                shared + 1
            );
        }
        Cause::Same => out.push_str(
            "The layers are the baseline's, by digest; the change is not in their contents.\n\n",
        ),
    }
    let mut rows: Vec<(&str, usize, &Layer)> = Vec::new();
    rows.extend(
        keep_largest(&diff.added)
            .into_iter()
            .map(|(i, l)| ("🆕 added", i, l)),
    );
    rows.extend(
        keep_largest(&diff.removed)
            .into_iter()
            .map(|(i, l)| ("➖ removed", i, l)),
    );
    if !rows.is_empty() {
        layer_table(out, rows.into_iter());
    }
    let mut facts = Vec::new();
    for (what, list) in [("added", &diff.added), ("removed", &diff.removed)] {
        if list.len() > LAYER_ROWS {
            facts.push(format!(
                "{} smaller {what} layers are not listed",
                list.len() - LAYER_ROWS
            ));
        }
    }
    if !diff.unchanged.is_empty() {
        let n = diff.unchanged.len();
        facts.push(format!(
            "{n} of {image_layers} layers unchanged ({})",
            sum_sizes(&diff.unchanged)
        ));
    }
    if !facts.is_empty() {
        let _ = writeln!(out, "\n{}.", capitalise(&facts.join("; ")));
    }
}

/// The total size of layers, `?` when any is unknown.
fn sum_sizes(layers: &[&Layer]) -> String {
    layers
        .iter()
        .try_fold(0u64, |total, l| l.size.map(|s| total.saturating_add(s)))
        .map_or_else(|| "? bytes".to_string(), size::human)
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A history entry as the Dockerfile said it: without the classic
/// builder's `/bin/sh -c #(nop) ` (`RUN` for its bare `/bin/sh -c `), and
/// without BuildKit's trailing `# buildkit` and the shell in its
/// `RUN /bin/sh -c `.
fn tidy(instruction: &str) -> String {
    let text = instruction.trim();
    let text = text.strip_suffix("# buildkit").unwrap_or(text).trim_end();
    if let Some(rest) = text.strip_prefix("/bin/sh -c #(nop)") {
        rest.trim().to_string()
    } else if let Some(rest) = text
        .strip_prefix("/bin/sh -c ")
        .or_else(|| text.strip_prefix("RUN /bin/sh -c "))
    {
        format!("RUN {}", rest.trim())
    } else {
        text.to_string()
    }
}

/// At most [`LAYER_ROWS`] of `layers`, the largest (unknown sizes last), in
/// layer order.
fn keep_largest<'a>(layers: &[(usize, &'a Layer)]) -> Vec<(usize, &'a Layer)> {
    let mut kept = layers.to_vec();
    kept.sort_by_key(|(_, l)| std::cmp::Reverse(l.size));
    kept.truncate(LAYER_ROWS);
    kept.sort_by_key(|(i, _)| *i);
    kept
}

/// A table of layers: what happened to it, its number (1 for the oldest),
/// its size, and the instruction that made it.
fn layer_table<'a>(out: &mut String, rows: impl Iterator<Item = (&'a str, usize, &'a Layer)>) {
    let rows: Vec<_> = rows.collect();
    let marked = rows.iter().any(|(mark, _, _)| !mark.is_empty());
    if marked {
        out.push_str("| | Layer | Size | Instruction |\n|---|--:|--:|---|\n");
    } else {
        out.push_str("| Layer | Size | Instruction |\n|--:|--:|---|\n");
    }
    for (mark, index, layer) in rows {
        let size = layer.size.map_or_else(|| "?".to_string(), size::human);
        let instruction = layer.instruction.as_deref().map_or_else(
            || "_unknown_".to_string(),
            |text| escape::markdown_clipped(&shorten_hashes(&tidy(text)), INSTRUCTION_MAX),
        );
        let prefix = if marked {
            format!("| {mark} ")
        } else {
            String::new()
        };
        let _ = writeln!(out, "{prefix}| {} | {size} | {instruction} |", index + 1);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn instructions_read_as_written() {
        assert_eq!(
            super::tidy("/bin/sh -c #(nop) ADD file:abc in / "),
            "ADD file:abc in /"
        );
        assert_eq!(
            super::tidy("/bin/sh -c apt-get install -y curl"),
            "RUN apt-get install -y curl"
        );
        assert_eq!(super::tidy("RUN /bin/sh -c make # buildkit"), "RUN make");
        assert_eq!(
            super::tidy("RUN |1 A=b /bin/sh -c make"),
            "RUN |1 A=b /bin/sh -c make"
        );
        assert_eq!(super::tidy("COPY a /b # buildkit"), "COPY a /b");
    }

    #[test]
    fn the_trend_is_a_quoted_mermaid_chart_without_unknown_points() {
        use crate::model::{Budget, HistoryPoint, ImageResult, Metrics, Report, Status};
        let point = |commit: Option<&str>, size: Option<u64>| HistoryPoint {
            commit: commit.map(str::to_string),
            metrics: Metrics {
                size,
                ..Metrics::default()
            },
        };
        let image = ImageResult {
            name: "api\"]<x>".into(),
            reference: "acme/api".into(),
            source: Some("oci".into()),
            digest: None,
            platform: None,
            metrics: Metrics {
                size: Some(12_500_000),
                compressed: None,
                compressed_estimated: false,
                layers: Some(2),
                wasted: None,
            },
            baseline: None,
            delta: None,
            status: Status::Pass,
            findings: Vec::new(),
            error: None,
            budget: Budget::default(),
            baseline_error: None,
            layer_details: Vec::new(),
            notes: Vec::new(),
            history: vec![
                point(Some("0123456789abcdef"), Some(10_000_000)),
                point(Some("fedcba9"), None),
                point(None, Some(11_000_000)),
            ],
            explanation: None,
            layer_change: None,
        };
        let report = Report::new(vec![image.clone()]);
        let chart = super::trend_section(&report, &image).unwrap();
        assert!(chart.contains("xychart-beta"), "{chart}");
        assert!(
            chart.contains("x-axis [\"0123456\", \"#3\", \"this\"]"),
            "{chart}"
        );
        assert!(chart.contains("line [10.0, 11.0, 12.5]"), "{chart}");
        assert!(
            chart.contains("y-axis \"MB (uncompressed)\" 0 --> 14"),
            "{chart}"
        );
        assert!(!chart.contains("<x>"), "{chart}");
        let body = super::render(&report, &crate::model::CommentId::default());
        assert!(body.contains("```mermaid"), "{body}");
        let mut fresh = image;
        fresh.history.clear();
        assert!(super::trend_section(&report, &fresh).is_none());
    }
}
