//! Markdown: the verdict, a table, and the reasons. Everything taken from
//! outside (image names, references, messages) is escaped so it cannot break
//! the table or inject HTML.
//!
//! [`table`] is shared with the pull-request comment, which can ask for a
//! narrower one when a report is too large for a comment.

use std::fmt::Write;

use super::escape::{self, markdown as escape};
use super::{
    budget_cell, change_cell, compressed_cell, largest_layers, layer_line, layers_cell, name_cell,
    shows_compressed, shows_wasted, size_cell, status_icon, verdict, wasted_cell, worst_icon,
};
use crate::model::{Report, Severity};

/// How the markdown table is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// Names longer than this many characters (escaped) are cut in the
    /// middle; `None` keeps them whole.
    pub name_max: Option<usize>,
    /// Only image, size, compressed (when known), change and a status icon:
    /// no budget or layers column, no status word.
    pub compact: bool,
}

impl TableOptions {
    /// Every column, names whole: the job summary and `--format markdown`.
    pub const FULL: TableOptions = TableOptions {
        name_max: None,
        compact: false,
    };
}

/// The table: a header, then exactly one row per image, every cell escaped.
pub fn table(report: &Report, options: TableOptions) -> String {
    let compressed = shows_compressed(report);
    let mut header = vec![("Image", "---"), ("Size (uncompressed)", "--:")];
    if compressed {
        header.push(("Compressed", "--:"));
    }
    let wasted = shows_wasted(report);
    if wasted {
        header.push(("Wasted", "--:"));
    }
    header.push(("vs baseline", "--:"));
    if !options.compact {
        header.extend([("Budget", "---"), ("Layers", "--:")]);
    }
    header.push(("Status", "---"));
    let mut out = String::new();
    let row = |cells: &[&str]| format!("| {} |\n", cells.join(" | "));
    let titles: Vec<&str> = header.iter().map(|(title, _)| *title).collect();
    let rules: Vec<&str> = header.iter().map(|(_, rule)| *rule).collect();
    out.push_str(&row(&titles));
    out.push_str(&format!("|{}|\n", rules.join("|")));
    for image in &report.images {
        let name = name_cell(report, image);
        let mut cells = vec![
            match options.name_max {
                Some(max) => escape::markdown_clipped(&name, max),
                None => escape(&name),
            },
            escape(&size_cell(image)),
        ];
        if compressed {
            cells.push(escape(&compressed_cell(image)));
        }
        if wasted {
            cells.push(escape(&wasted_cell(image)));
        }
        cells.push(escape(&change_cell(image)));
        let status = status_icon(image.status, image.is_new());
        if options.compact {
            let icon = status.split(' ').next().unwrap_or(status);
            cells.push(icon.to_string());
        } else {
            cells.extend([
                escape(&budget_cell(image)),
                escape(&layers_cell(image)),
                status.to_string(),
            ]);
        }
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        out.push_str(&row(&cells));
    }
    out
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {} image-budget: {}\n",
        worst_icon(report),
        verdict(report)
    );
    out.push_str(&table(report, TableOptions::FULL));
    let mut reasons = String::new();
    for image in &report.images {
        for finding in &image.findings {
            let icon = match finding.severity {
                Severity::Warn => "⚠️",
                Severity::Fail => "❌",
                Severity::Error => "❗",
            };
            let _ = writeln!(
                reasons,
                "- {icon} **{}**: {}",
                escape(&image.name),
                escape(&finding.message)
            );
        }
        for layer in largest_layers(image) {
            let _ = writeln!(reasons, "  - {}", escape(layer_line(layer).trim_start()));
        }
        if let Some(error) = &image.error {
            let _ = writeln!(
                reasons,
                "- ❗ **{}**: {}",
                escape(&image.name),
                escape(error)
            );
        }
    }
    if !reasons.is_empty() {
        out.push('\n');
        out.push_str(&reasons);
    }
    super::sets::markdown(&mut out, report);
    out
}
