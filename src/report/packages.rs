//! Packages as people read them: `explain`'s packages section, each
//! layer's package changes, and the package changes against the baseline
//! (in `explain`, and in a `check` report's explanation of an image over a
//! threshold), as text and markdown.

use std::fmt::Write;

use super::escape;
use super::shorten_hashes;
use crate::analysis::explained::{PackageChanges, PackageLine, PackagesSection};
use crate::analysis::packages::LayerChange;
use crate::model::PackageChange;
use crate::size;

fn bytes(size: Option<u64>) -> String {
    size.map_or_else(|| "? (no file list)".to_string(), size::human)
}

/// `pulled in by build-essential`, `asked for`, `only recommended`.
fn why(manual: Option<bool>, pulled_in_by: Option<&str>, recommended_only: bool) -> String {
    match (manual, pulled_in_by) {
        (Some(true), _) => "asked for".to_string(),
        (Some(false), Some(by)) if recommended_only => {
            format!("pulled in by {by} only through a Recommends")
        }
        (Some(false), Some(by)) => format!("pulled in by {by}"),
        (Some(false), None) => "pulled in".to_string(),
        (None, _) => String::new(),
    }
}

fn layer(layer: Option<usize>, instruction: Option<&str>) -> String {
    match (layer, instruction) {
        (Some(l), Some(i)) => format!("layer {l}: {}", shorten_hashes(i)),
        (Some(l), None) => format!("layer {l} (instruction unknown)"),
        _ => String::new(),
    }
}

fn name_version(name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) if !v.is_empty() => format!("{name} {v}"),
        _ => name.to_string(),
    }
}

/// The package a change names, with its version (both, when upgraded).
fn changed_package(c: &PackageChange) -> String {
    match (c.change.as_str(), &c.baseline_version, &c.version) {
        ("upgraded", Some(b), Some(a)) => format!("{} {b} → {a}", c.name),
        ("removed", b, _) => name_version(&c.name, b.as_deref()),
        (_, _, a) => name_version(&c.name, a.as_deref()),
    }
}

/// `+69.8 MB  gcc-12 12.2.0-14 added, pulled in by build-essential, layer 2: RUN ...`
pub fn change_line(c: &PackageChange) -> String {
    let version = changed_package(c);
    let mut parts = vec![c.change.clone()];
    let reason = why(c.manual, c.pulled_in_by.as_deref(), c.recommended_only);
    if !reason.is_empty() {
        parts.push(reason);
    }
    let at = layer(c.layer, c.instruction.as_deref());
    if !at.is_empty() {
        parts.push(at);
    }
    format!(
        "{:>10}  {version} ({}) {}",
        c.delta
            .map_or_else(|| "?".to_string(), |d| size::human_delta(i128::from(d))),
        c.ecosystem,
        parts.join(", ")
    )
}

/// The package changes as a markdown table.
pub fn changes_table(out: &mut String, changes: &[PackageChange]) {
    if changes.is_empty() {
        return;
    }
    let _ = writeln!(out, "| Change | Package | | Layer |\n|---:|---|---|---|");
    for c in changes {
        let version = changed_package(c);
        let reason = why(c.manual, c.pulled_in_by.as_deref(), c.recommended_only);
        let _ = writeln!(
            out,
            "| {} | {} | {}{} | {} |",
            c.delta
                .map_or_else(|| "?".to_string(), |d| size::human_delta(i128::from(d))),
            escape::markdown(&version),
            c.change,
            if reason.is_empty() {
                String::new()
            } else {
                format!(", {}", escape::markdown(&reason))
            },
            escape::markdown(&layer(c.layer, c.instruction.as_deref()))
        );
    }
}

/// `125 added, 0 removed, 1 upgraded, 0 grown, 0 shrunk packages`.
pub fn counts(c: &PackageChanges) -> String {
    format!(
        "{} added, {} removed, {} upgraded, {} grown, {} shrunk packages",
        c.added, c.removed, c.upgraded, c.grown, c.shrunk
    )
}

/// One layer's package changes in a line: `+125 packages (gcc-12 69.8 MB,
/// g++-12 37.0 MB, cpp-12 34.6 MB and 122 more)`; `None` when it changed
/// none.
pub fn layer_summary(changes: &[LayerChange]) -> Option<String> {
    const NAMED: usize = 3;
    let mut parts = Vec::new();
    for (verb, sign) in [("added", '+'), ("changed", '~'), ("removed", '-')] {
        let these: Vec<&LayerChange> = changes.iter().filter(|c| c.change == verb).collect();
        if these.is_empty() {
            continue;
        }
        let mut named: Vec<String> = these
            .iter()
            .take(NAMED)
            .map(|c| match verb {
                "changed" => format!(
                    "{} {} → {}",
                    c.name,
                    c.before.as_deref().unwrap_or("?"),
                    c.after.as_deref().unwrap_or("?")
                ),
                "removed" if c.hidden > 0 => {
                    format!("{}, hiding {}", c.name, size::human(c.hidden))
                }
                "removed" => c.name.clone(),
                _ => format!("{} {}", c.name, size::human(c.added)),
            })
            .collect();
        if these.len() > NAMED {
            named.push(format!("{} more", these.len() - NAMED));
        }
        parts.push(format!(
            "{sign}{} ({})",
            size::count(these.len() as u64, "package", "packages"),
            named.join(", ")
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn line_text(line: &PackageLine) -> String {
    let p = &line.package;
    let mut parts = Vec::new();
    if p.version.is_none() {
        parts.push("removed by a later layer".to_string());
    }
    let reason = why(p.manual, p.pulled_in_by.as_deref(), p.recommended_only);
    if !reason.is_empty() {
        parts.push(reason);
    }
    if p.wasted > 0 {
        parts.push(format!("{} wasted", size::human(p.wasted)));
    }
    let at = layer(p.layer, line.instruction.as_deref());
    if !at.is_empty() {
        parts.push(at);
    }
    format!(
        "{}  ({}{})",
        name_version(&p.name, p.version.as_deref()),
        p.ecosystem.name(),
        if parts.is_empty() {
            String::new()
        } else {
            format!("; {}", parts.join(", "))
        }
    )
}

/// `explain`'s packages section as text.
pub fn section_text(out: &mut String, s: &PackagesSection) {
    let found: Vec<&str> = s.found.iter().map(|e| e.name()).collect();
    let _ = writeln!(
        out,
        "\nPackages ({} installed{}):",
        s.installed,
        if found.is_empty() {
            String::new()
        } else {
            format!(", {}", found.join(", "))
        }
    );
    for p in &s.top {
        let _ = writeln!(out, "{:>10}  {}", bytes(p.package.size), line_text(p));
    }
    if s.other.packages > 0 {
        let _ = writeln!(
            out,
            "{:>10}  ({} more)",
            size::human(s.other.size),
            size::count(s.other.packages as u64, "package", "packages")
        );
    }
    for (name, b) in [
        ("(unowned)", s.unowned),
        ("(package databases)", s.databases),
    ] {
        let _ = writeln!(
            out,
            "{:>10}  {name}  {}{}",
            size::human(b.size),
            size::count(b.files as u64, "file", "files"),
            if b.wasted > 0 {
                format!(", {} wasted", size::human(b.wasted))
            } else {
                String::new()
            }
        );
    }
    for note in &s.notes {
        let _ = writeln!(out, "  note: {note}");
    }
}

/// `explain`'s packages section as markdown.
pub fn section_markdown(out: &mut String, s: &PackagesSection) {
    let _ = writeln!(
        out,
        "\n**Packages** ({} installed)\n\n| Size | Package | Wasted | Layer |\n|---:|---|---:|---|",
        s.installed
    );
    for line in &s.top {
        let p = &line.package;
        let reason = why(p.manual, p.pulled_in_by.as_deref(), p.recommended_only);
        let _ = writeln!(
            out,
            "| {} | {} ({}){} | {} | {} |",
            bytes(p.size),
            escape::markdown(&name_version(&p.name, p.version.as_deref())),
            p.ecosystem.name(),
            if reason.is_empty() {
                String::new()
            } else {
                format!(", {}", escape::markdown(&reason))
            },
            size::human(p.wasted),
            escape::markdown(&layer(p.layer, line.instruction.as_deref()))
        );
    }
    if s.other.packages > 0 {
        let _ = writeln!(
            out,
            "| {} | ({} more) | {} | |",
            size::human(s.other.size),
            size::count(s.other.packages as u64, "package", "packages"),
            size::human(s.other.wasted)
        );
    }
    for (name, b) in [
        ("(unowned)", s.unowned),
        ("(package databases)", s.databases),
    ] {
        let _ = writeln!(
            out,
            "| {} | {name} | {} | |",
            size::human(b.size),
            size::human(b.wasted)
        );
    }
    for note in &s.notes {
        let _ = writeln!(out, "\n{}", escape::markdown(note));
    }
}
