//! `budget explain`'s report as text for people, markdown and JSON; and the
//! explanation a `check` comment shows for an image over a threshold.

use std::fmt::Write;

use super::escape;
use super::packages;
use super::shorten_hashes;
use crate::analysis::explained::{Changes, Explained};
use crate::model::{AdviceItem, Explanation, FileChange};
use crate::size;

/// The formats of `explain --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExplainFormat {
    /// Text for people (the default).
    Table,
    /// JSON, schema image-budget/explain/v1.
    Json,
    /// Markdown, for job summaries and comments.
    Markdown,
}

pub fn render(explained: &Explained, format: ExplainFormat) -> String {
    match format {
        ExplainFormat::Table => text(explained),
        ExplainFormat::Json => {
            let mut text = serde_json::to_string_pretty(explained)
                .expect("an explanation is plain data and always serializes");
            text.push('\n');
            text
        }
        ExplainFormat::Markdown => markdown(explained),
    }
}

fn instruction_text(instruction: Option<&str>) -> String {
    instruction.map_or_else(|| "(instruction unknown)".to_string(), shorten_hashes)
}

/// `layer 3 (RUN apt-get ...)`, or `layer 3 (instruction unknown)`.
fn layer_text(layer: Option<usize>, instruction: Option<&str>) -> String {
    match (layer, instruction) {
        (Some(l), Some(instruction)) => format!("layer {l} ({})", shorten_hashes(instruction)),
        (Some(l), None) => format!("layer {l} (instruction unknown)"),
        (None, _) => String::new(),
    }
}

fn change_line(c: &FileChange) -> String {
    let what = if c.kind == "directory" {
        format!("{}/", c.path)
    } else {
        c.path.clone()
    };
    let sizes = match (c.baseline_size, c.size) {
        (Some(b), Some(a)) => format!("{} → {}", size::human(b), size::human(a)),
        _ => String::new(),
    };
    format!(
        "{:>10}  {what}  {}{}{}",
        size::human_delta(i128::from(c.delta)),
        c.change,
        if sizes.is_empty() {
            String::new()
        } else {
            format!(", {sizes}")
        },
        match c.layer {
            Some(_) if c.change == "removed" => format!(
                ", was in the baseline's {}",
                layer_text(c.layer, c.instruction.as_deref())
            ),
            Some(_) => format!(", {}", layer_text(c.layer, c.instruction.as_deref())),
            None => String::new(),
        }
    )
}

fn advice_origin(a: &AdviceItem) -> String {
    let mut text = format!(
        "from {}",
        layer_text(Some(a.layer), a.instruction.as_deref())
    );
    if let Some(by) = a.hidden_by {
        let _ = write!(
            text,
            ", hidden by {}",
            layer_text(Some(by), a.hidden_by_instruction.as_deref())
        );
    }
    text
}

fn evidence(a: &AdviceItem) -> String {
    const NAMED: usize = 5;
    if !a.packages.is_empty() {
        let mut named: Vec<String> = a
            .packages
            .iter()
            .take(NAMED)
            .map(|p| {
                format!(
                    "{} ({})",
                    p.name,
                    p.size.map_or_else(|| "?".to_string(), size::human)
                )
            })
            .collect();
        if a.packages.len() > NAMED {
            named.push(format!("{} more", a.packages.len() - NAMED));
        }
        return named.join(", ");
    }
    let mut paths: Vec<String> = a
        .paths
        .iter()
        .map(|p| format!("{} ({})", p.path, size::human(p.size)))
        .collect();
    if a.path_count > a.paths.len() {
        paths.push(format!("{} more", a.path_count - a.paths.len()));
    }
    paths.join(", ")
}

/// `+10.0 kB visible (2 added, 0 removed, 1 grown, 0 shrunk files)`.
fn counts(c: &Changes) -> String {
    format!(
        "{} visible ({} added, {} removed, {} grown, {} shrunk files)",
        size::human_delta(i128::from(c.delta)),
        c.added,
        c.removed,
        c.grown,
        c.shrunk
    )
}

fn text(e: &Explained) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}{}, {})",
        e.subject.reference,
        e.subject.source,
        e.subject
            .platform
            .as_deref()
            .map_or_else(String::new, |p| format!(", {p}")),
        e.subject.digest
    );
    let _ = writeln!(
        out,
        "size {} = {} visible + {} wasted; {}, {}",
        size::exact(e.size),
        size::human(e.visible),
        size::human(e.wasted),
        size::count(e.files as u64, "file", "files"),
        size::count(e.layers.len() as u64, "layer", "layers")
    );

    let _ = writeln!(out, "\nLayers (oldest first):");
    let blobs = e.layers.iter().any(|l| l.compressed.is_some());
    for l in &e.layers {
        let shared = match l.in_baseline {
            Some(true) => "  (in the baseline)",
            _ => "",
        };
        let blob = if blobs {
            format!(
                "  blob {:>9}",
                l.compressed.map_or_else(|| "?".to_string(), size::human)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:>4}  {:>9}{blob}  wasted {:>9}  {}{shared}",
            l.layer,
            size::human(l.size),
            size::human(l.wasted),
            instruction_text(l.instruction.as_deref())
        );
        if let Some(summary) = packages::layer_summary(&l.packages) {
            let _ = writeln!(out, "      packages: {summary}");
        }
    }

    let _ = writeln!(out, "\nLargest files:");
    for f in &e.largest {
        let _ = writeln!(
            out,
            "{:>10}  {}  (layer {})",
            size::human(f.size),
            f.path,
            f.layer
        );
    }
    if e.largest.is_empty() {
        let _ = writeln!(out, "  (no files)");
    }

    if let Some(section) = &e.packages {
        packages::section_text(&mut out, section);
    }

    let _ = writeln!(out, "\nWasted: {}", size::exact(e.wasted));
    for w in &e.wasted_files {
        let _ = writeln!(
            out,
            "{:>10}  {}  added in layer {}, {} in layer {}",
            size::human(w.size),
            w.path,
            w.layer,
            w.how,
            w.hidden_by
        );
    }

    if let (Some(b), Some(c)) = (&e.baseline, &e.changes) {
        let _ = writeln!(
            out,
            "\nAgainst {} ({}): {}",
            b.subject.reference,
            b.subject.digest,
            counts(c)
        );
        for change in &c.top {
            let _ = writeln!(out, "{}", change_line(change));
        }
        if c.top.is_empty() {
            let _ = writeln!(out, "  (no file changed)");
        }
    }
    if let (Some(b), Some(c)) = (&e.baseline, &e.package_changes) {
        let _ = writeln!(
            out,
            "\nPackages against {}: {}",
            b.subject.reference,
            packages::counts(c)
        );
        for change in &c.top {
            let _ = writeln!(out, "{}", packages::change_line(change));
        }
    }

    let _ = writeln!(out, "\nAdvice:");
    for a in &e.advice {
        let _ = writeln!(
            out,
            "  - {}: {}, {}\n    {}\n    fix: {}",
            size::human(a.size),
            a.what,
            advice_origin(a),
            evidence(a),
            a.fix
        );
    }
    if e.advice.is_empty() {
        let _ = writeln!(
            out,
            "  (none: no cache, toolchain, VCS directory or hidden bytes found)"
        );
    }
    out
}

/// The longest path a markdown cell shows (the middle is cut).
const PATH_MAX: usize = 120;

fn md(text: &str) -> String {
    escape::markdown(text)
}

fn code(text: &str) -> String {
    // Backticks cannot be escaped inside code spans: shown as plain text.
    md(&shorten_hashes(text))
}

fn markdown(e: &Explained) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {}\n\n{} = {} visible + {} wasted; {}, {} ({}{})\n",
        md(&e.subject.reference),
        size::exact(e.size),
        size::human(e.visible),
        size::human(e.wasted),
        size::count(e.files as u64, "file", "files"),
        size::count(e.layers.len() as u64, "layer", "layers"),
        md(&e.subject.source),
        e.subject
            .platform
            .as_deref()
            .map_or_else(String::new, |p| format!(", {}", md(p)))
    );
    let _ = writeln!(
        out,
        "| # | Size | Blob | Wasted | Instruction |\n|---:|---:|---:|---:|---|"
    );
    for l in &e.layers {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {}{} |",
            l.layer,
            size::human(l.size),
            l.compressed.map_or_else(|| "?".to_string(), size::human),
            size::human(l.wasted),
            code(l.instruction.as_deref().unwrap_or("(instruction unknown)")),
            if l.in_baseline == Some(true) {
                " (in the baseline)"
            } else {
                ""
            }
        );
    }
    let changed: Vec<String> = e
        .layers
        .iter()
        .filter_map(|l| {
            packages::layer_summary(&l.packages).map(|s| format!("- layer {}: {}", l.layer, md(&s)))
        })
        .collect();
    if !changed.is_empty() {
        let _ = writeln!(out, "\n**Packages by layer**\n\n{}", changed.join("\n"));
    }
    let _ = writeln!(
        out,
        "\n**Largest files**\n\n| Size | Path | Layer |\n|---:|---|---:|"
    );
    for f in &e.largest {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            size::human(f.size),
            md(&f.path),
            f.layer
        );
    }
    if let Some(section) = &e.packages {
        packages::section_markdown(&mut out, section);
    }
    if !e.wasted_files.is_empty() {
        let _ = writeln!(
            out,
            "\n**Wasted: {}**\n\n| Size | Path | Added in | Hidden by |\n|---:|---|---:|---|",
            size::exact(e.wasted)
        );
        for w in &e.wasted_files {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} in layer {} |",
                size::human(w.size),
                md(&w.path),
                w.layer,
                w.how,
                w.hidden_by
            );
        }
    }
    if let (Some(b), Some(c)) = (&e.baseline, &e.changes) {
        let _ = writeln!(
            out,
            "\n**Against {}**: {}\n",
            md(&b.subject.reference),
            counts(c)
        );
        changes_table(&mut out, &c.top);
    }
    if let (Some(b), Some(c)) = (&e.baseline, &e.package_changes) {
        let _ = writeln!(
            out,
            "\n**Packages against {}**: {}\n",
            md(&b.subject.reference),
            packages::counts(c)
        );
        packages::changes_table(&mut out, &c.top);
    }
    if !e.advice.is_empty() {
        let _ = writeln!(out, "\n**Advice**\n");
        advice_list(&mut out, &e.advice);
    }
    out
}

fn changes_table(out: &mut String, changes: &[FileChange]) {
    if changes.is_empty() {
        return;
    }
    let _ = writeln!(out, "| Change | Path | | Layer |\n|---:|---|---|---|");
    for c in changes {
        let path = if c.kind == "directory" {
            format!("{}/", c.path)
        } else {
            c.path.clone()
        };
        let layer = match c.layer {
            Some(l) if c.change == "removed" => format!(
                "was in the baseline's {l}: {}",
                code(c.instruction.as_deref().unwrap_or("(instruction unknown)"))
            ),
            Some(l) => format!(
                "{l}: {}",
                code(c.instruction.as_deref().unwrap_or("(instruction unknown)"))
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {layer} |",
            size::human_delta(i128::from(c.delta)),
            escape::markdown_clipped(&path, PATH_MAX),
            c.change,
        );
    }
}

fn advice_list(out: &mut String, advice: &[AdviceItem]) {
    for a in advice {
        let _ = writeln!(
            out,
            "- **{}**: {}, {}: {}. Fix: {}",
            size::human(a.size),
            md(&a.what),
            md(&advice_origin(a)),
            md(&evidence(a)),
            // Our own words, with code spans meant as such.
            a.fix
        );
    }
}

/// The explanation under an image's row of the terminal table.
pub(super) fn explanation_text(out: &mut String, name: &str, e: &Explanation) {
    if !e.changes.is_empty() {
        let _ = writeln!(
            out,
            "     {name}'s largest file changes against the baseline:"
        );
        for c in &e.changes {
            let _ = writeln!(out, "     {}", change_line(c));
        }
    }
    if !e.packages.is_empty() {
        let _ = writeln!(
            out,
            "     {name}'s largest package changes{}:",
            if e.changes.is_empty() && e.visible_delta.is_none() {
                " (a new image: its largest packages)"
            } else {
                " against the baseline"
            }
        );
        for c in &e.packages {
            let _ = writeln!(out, "     {}", packages::change_line(c));
        }
    }
    if let Some(note) = &e.note {
        let _ = writeln!(out, "note {name}: {note}");
    }
    for a in &e.advice {
        let _ = writeln!(
            out,
            "advice {name}: {} {}, {}: {}\n       fix: {}",
            size::human(a.size),
            a.what,
            advice_origin(a),
            evidence(a),
            a.fix
        );
    }
}

/// The explanation inside an image's collapsed section of the comment.
pub(super) fn explanation_markdown(out: &mut String, e: &Explanation) {
    if let (Some(visible), Some(wasted)) = (e.visible_delta, e.wasted_delta) {
        let _ = writeln!(
            out,
            "\nFiles against the baseline: {} in the files the image shows, {} in bytes later layers hide.",
            size::human_delta(i128::from(visible)),
            size::human_delta(i128::from(wasted))
        );
    }
    if !e.packages.is_empty() {
        let _ = writeln!(out, "\n**Packages that changed most**\n");
        packages::changes_table(out, &e.packages);
    }
    if !e.changes.is_empty() {
        let _ = writeln!(out, "\n**Files that changed most**\n");
        changes_table(out, &e.changes);
    }
    if let Some(note) = &e.note {
        let _ = writeln!(out, "\n{}", md(note));
    }
    if !e.advice.is_empty() {
        let _ = writeln!(out, "\n**Advice**\n");
        advice_list(out, &e.advice);
    }
}
