//! The terminal table, with the reasons below it.

use std::fmt::Write;

use comfy_table::{Cell, CellAlignment, Color, ContentArrangement, Table, presets};

use super::{
    budget_cell, change_cell, compressed_cell, largest_layers, layer_line, layers_cell, name_cell,
    shows_compressed, shows_wasted, size_cell, wasted_cell,
};
use crate::model::{Report, Status};

fn status_text(status: Status, new: bool) -> String {
    let word = match status {
        Status::Pass => "pass",
        Status::Warn => "warn",
        Status::Fail => "FAIL",
        Status::Error => "ERROR",
    };
    if new && status != Status::Error {
        format!("{word} (new)")
    } else {
        word.to_string()
    }
}

fn color_of(status: Status) -> Color {
    match status {
        Status::Pass => Color::Green,
        Status::Warn => Color::Yellow,
        Status::Fail | Status::Error => Color::Red,
    }
}

pub fn render(report: &Report, color: bool) -> String {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Disabled);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    let compressed = shows_compressed(report);
    let mut header = vec!["Image", "Size"];
    if compressed {
        header.push("Compressed");
    }
    let wasted = shows_wasted(report);
    if wasted {
        header.push("Wasted");
    }
    header.extend(["vs baseline", "Budget", "Layers", "Status"]);
    table.set_header(header);
    for image in &report.images {
        let status = Cell::new(status_text(image.status, image.is_new()));
        let status = if color {
            status.fg(color_of(image.status))
        } else {
            status
        };
        let mut row = vec![
            Cell::new(name_cell(report, image)),
            Cell::new(size_cell(image)).set_alignment(CellAlignment::Right),
        ];
        if compressed {
            row.push(Cell::new(compressed_cell(image)).set_alignment(CellAlignment::Right));
        }
        if wasted {
            row.push(Cell::new(wasted_cell(image)).set_alignment(CellAlignment::Right));
        }
        row.extend([
            Cell::new(change_cell(image)).set_alignment(CellAlignment::Right),
            Cell::new(budget_cell(image)),
            Cell::new(layers_cell(image)).set_alignment(CellAlignment::Right),
            status,
        ]);
        table.add_row(row);
    }
    let mut out = table.to_string();
    out.push('\n');
    for image in &report.images {
        for finding in &image.findings {
            let _ = writeln!(
                out,
                "{} {}: {}",
                super::mark(finding.severity),
                image.name,
                finding.message
            );
        }
        let layers = largest_layers(image);
        if !layers.is_empty() {
            let _ = writeln!(out, "     {}'s largest layers:", image.name);
            for layer in layers {
                let _ = writeln!(out, "     {}", layer_line(layer));
            }
        }
        if let Some(explanation) = &image.explanation {
            super::explain::explanation_text(&mut out, &image.name, explanation);
        }
        if let Some(error) = &image.error {
            let _ = writeln!(out, "error {}: {error}", image.name);
        }
        for note in &image.notes {
            let _ = writeln!(out, "note {}: {note}", image.name);
        }
    }
    super::sets::text(&mut out, report);
    let _ = writeln!(out, "{}", super::headline(report));
    out
}
