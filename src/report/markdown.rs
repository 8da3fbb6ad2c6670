//! Markdown: the verdict, a table, and the reasons. Everything taken from
//! outside (image names, references, messages) is escaped so it cannot break
//! the table or inject HTML.

use std::fmt::Write;

use super::{
    budget_cell, change_cell, compressed_cell, largest_layers, layer_line, layers_cell, name_cell,
    shows_compressed, size_cell, verdict,
};
use crate::model::{Report, Severity, Status};

/// Escapes text for a markdown table cell or list item.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

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

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let icon = match report.worst() {
        Status::Pass => "✅",
        Status::Warn => "⚠️",
        Status::Fail => "❌",
        Status::Error => "❗",
    };
    let _ = writeln!(out, "### {icon} image-budget: {}\n", verdict(report));
    let compressed = shows_compressed(report);
    if compressed {
        out.push_str("| Image | Size (uncompressed) | Compressed | vs baseline | Budget | Layers | Status |\n");
        out.push_str("|---|--:|--:|--:|---|--:|---|\n");
    } else {
        out.push_str("| Image | Size (uncompressed) | vs baseline | Budget | Layers | Status |\n");
        out.push_str("|---|--:|--:|---|--:|---|\n");
    }
    for image in &report.images {
        let compressed_column = if compressed {
            format!(" {} |", escape(&compressed_cell(image)))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} | {} |{compressed_column} {} | {} | {} | {} |",
            escape(&name_cell(report, image)),
            size_cell(image),
            change_cell(image),
            escape(&budget_cell(image)),
            layers_cell(image),
            status_icon(image.status, image.is_new()),
        );
    }
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
    out
}
