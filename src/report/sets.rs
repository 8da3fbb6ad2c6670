//! Sets of images as people read them, after the images: what a node stores
//! and pulls for all of them, the change, what sharing saves, and each
//! image's shared and unique bytes (with words when a change broke sharing).
//! Text for the terminal, markdown for summaries and the comment, and the
//! stderr lines of failing sets.

use std::fmt::Write;

use super::escape::markdown as escape;
use crate::model::{Report, SetMember, SetResult, Severity, Status};
use crate::size;

/// `set node`, with the platform when the set has rows for several.
pub fn label(report: &Report, set: &SetResult) -> String {
    let several = report.sets.iter().filter(|s| s.name == set.name).count() > 1;
    match (&set.platform, several) {
        (Some(p), true) => format!("set {} ({p})", set.name),
        _ => format!("set {}", set.name),
    }
}

fn bytes(value: Option<u64>) -> String {
    value.map_or_else(|| "?".to_string(), size::human)
}

/// `+180.0 MB (+17.6%)`, or `new` without a baseline.
fn change(set: &SetResult) -> String {
    match (&set.delta, &set.baseline) {
        (Some(d), Some(_)) => match d.size {
            Some(bytes) => {
                let percent = d
                    .size_percent
                    .map_or_else(String::new, |p| format!(" ({p:+.1}%)"));
                format!("{}{percent}", size::human_delta(i128::from(bytes)))
            }
            None => "?".to_string(),
        },
        _ => "new".to_string(),
    }
}

/// What sharing saves: the images' own sizes added up, less the set's.
fn saves(set: &SetResult) -> Option<u64> {
    Some(set.now.separate?.saturating_sub(set.now.size?))
}

fn member_change(m: &SetMember) -> String {
    let delta = |now: Option<u64>, then: Option<u64>| {
        now.zip(then)
            .map(|(n, t)| size::human_delta(i128::from(n) - i128::from(t)))
    };
    match (
        delta(m.shared, m.baseline_shared),
        delta(m.unique, m.baseline_unique),
    ) {
        (Some(s), Some(u)) => format!("shared {s}, unique {u}"),
        _ => "new".to_string(),
    }
}

/// The sentences that say a change broke sharing: "web no longer shares
/// 180.0 MB of layers with api and worker".
pub fn broken_sharing(set: &SetResult) -> Vec<String> {
    set.members
        .iter()
        .filter(|m| !m.stopped_sharing_with.is_empty())
        .filter_map(|m| {
            let lost = m.baseline_shared?.checked_sub(m.shared?)?;
            (lost > 0).then(|| {
                format!(
                    "{} no longer shares {} of layers with {}",
                    m.name,
                    size::human(lost),
                    and_list(&m.stopped_sharing_with)
                )
            })
        })
        .collect()
}

fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `stored 1.2 GB (+180.0 MB (+17.6%)), pulled 450.0 MB, sharing saves 640.0 MB`.
fn summary(set: &SetResult) -> String {
    let mut text = format!(
        "{} stored on a node ({}), {} pulled",
        bytes(set.now.size),
        change(set),
        bytes(set.now.compressed)
    );
    if let Some(saved) = saves(set) {
        let _ = write!(
            text,
            ", sharing saves {} (the images add up to {})",
            size::human(saved),
            bytes(set.now.separate)
        );
    }
    text
}

fn word(status: Status) -> &'static str {
    match status {
        Status::Pass => "PASS",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
        Status::Error => "ERROR",
    }
}

fn mark(severity: Severity) -> &'static str {
    match severity {
        Severity::Warn => "warn",
        Severity::Fail => "fail",
        Severity::Error => "error",
    }
}

/// The sets for the terminal, after the images' table.
pub fn text(out: &mut String, report: &Report) {
    for set in &report.sets {
        let name = label(report, set);
        let _ = writeln!(out, "{name}: {}  {}", summary(set), word(set.status));
        if let Some(error) = &set.error {
            let _ = writeln!(out, "error {name}: {error}");
        }
        for f in &set.findings {
            let _ = writeln!(out, "{} {name}: {}", mark(f.severity), f.message);
        }
        for m in &set.members {
            let _ = writeln!(
                out,
                "     {:<20} shared {:>10}  unique {:>10}  {}",
                m.name,
                bytes(m.shared),
                bytes(m.unique),
                member_change(m)
            );
        }
        for line in broken_sharing(set) {
            let _ = writeln!(out, "     {line}");
        }
    }
}

fn icon(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅",
        Status::Warn => "⚠️",
        Status::Fail => "❌",
        Status::Error => "❗",
    }
}

/// The sets in markdown: a heading line per set, its findings, and a table
/// of its images' shared and unique bytes.
pub fn markdown(out: &mut String, report: &Report) {
    for set in &report.sets {
        let _ = writeln!(
            out,
            "\n{} **{}**: {}",
            icon(set.status),
            escape(&label(report, set)),
            escape(&summary(set))
        );
        if let Some(error) = &set.error {
            let _ = writeln!(out, "\n- ❗ {}", escape(error));
        }
        for f in &set.findings {
            let _ = writeln!(
                out,
                "\n- {} {}",
                icon(match f.severity {
                    Severity::Warn => Status::Warn,
                    Severity::Fail => Status::Fail,
                    Severity::Error => Status::Error,
                }),
                escape(&f.message)
            );
        }
        for line in broken_sharing(set) {
            let _ = writeln!(out, "\n- {}", escape(&line));
        }
        if !set.members.is_empty() {
            let _ = writeln!(
                out,
                "\n| Image | Shared | Unique | vs baseline |\n|---|---:|---:|---|"
            );
            for m in &set.members {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    escape(&m.name),
                    bytes(m.shared),
                    bytes(m.unique),
                    member_change(m)
                );
            }
        }
    }
}

/// One line per set over budget or not judged, for stderr.
pub fn lines(report: &Report) -> Vec<String> {
    report
        .sets
        .iter()
        .filter_map(|set| {
            let name = label(report, set);
            match set.status {
                Status::Fail => Some(format!(
                    "fail {name}: {}",
                    set.findings
                        .iter()
                        .find(|f| f.severity == Severity::Fail)
                        .map_or("over budget", |f| f.message.as_str())
                )),
                Status::Error => Some(format!(
                    "error {name}: {}",
                    set.error
                        .as_deref()
                        .or_else(|| {
                            set.findings
                                .iter()
                                .find(|f| f.severity == Severity::Error)
                                .map(|f| f.message.as_str())
                        })
                        .unwrap_or("could not be judged")
                )),
                Status::Pass | Status::Warn => None,
            }
        })
        .collect()
}
