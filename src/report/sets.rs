//! Sets of images as people read them, after the images: what a node stores
//! and pulls for all of them, the change, what sharing saves, and each
//! image's shared and unique bytes (with words when a change broke sharing).
//! Text for the terminal, markdown for summaries and the comment, and the
//! stderr lines of failing sets.

use std::fmt::Write;

use super::escape::markdown as escape;
use crate::model::{Report, SetMember, SetResult, Status};
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

/// The sets for the terminal, after the images' table.
pub fn text(out: &mut String, report: &Report) {
    for set in &report.sets {
        let name = label(report, set);
        let _ = writeln!(out, "{name}: {}  {}", summary(set), word(set.status));
        if let Some(error) = &set.error {
            let _ = writeln!(out, "error {name}: {error}");
        }
        for f in &set.findings {
            let _ = writeln!(out, "{} {name}: {}", super::mark(f.severity), f.message);
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

/// The sets in markdown: a heading line per set, its findings, and a table
/// of its images' shared and unique bytes.
pub fn markdown(out: &mut String, report: &Report) {
    for set in &report.sets {
        let _ = writeln!(
            out,
            "\n{} **{}**: {}",
            super::icon(set.status),
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
                super::severity_icon(f.severity),
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
            super::stderr_line(
                &label(report, set),
                set.status,
                set.error.as_deref(),
                &set.findings,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BudgetKey, Delta, Finding, Metric, SetSide, Severity};

    fn report() -> Report {
        let set = SetResult {
            name: "node".into(),
            images: vec!["api".into(), "web".into(), "worker".into()],
            platform: Some("linux/amd64".into()),
            now: SetSide {
                size: Some(1_200_000_000),
                compressed: Some(450_000_000),
                separate: Some(1_840_000_000),
            },
            layers: Some(9),
            baseline: Some(SetSide {
                size: Some(1_020_000_000),
                compressed: None,
                separate: None,
            }),
            delta: Some(Delta {
                size: Some(180_000_000),
                compressed: None,
                layers: Some(1),
                size_percent: Some(17.6),
            }),
            members: vec![
                SetMember {
                    name: "web".into(),
                    shared: Some(0),
                    unique: Some(400_000_000),
                    baseline_shared: Some(180_000_000),
                    baseline_unique: Some(220_000_000),
                    stopped_sharing_with: vec!["api".into(), "worker".into()],
                },
                SetMember {
                    name: "api".into(),
                    shared: Some(180_000_000),
                    unique: Some(20_000_000),
                    baseline_shared: None,
                    baseline_unique: None,
                    stopped_sharing_with: Vec::new(),
                },
            ],
            status: Status::Fail,
            findings: vec![Finding {
                code: BudgetKey::MaxGrowth,
                metric: Metric::Size,
                limit: 51_000_000,
                actual: Some(180_000_000),
                severity: Severity::Fail,
                message: "grew by 180,000,000 bytes".into(),
            }],
            error: None,
            budget: crate::model::Budget::default(),
        };
        Report::new(Vec::new()).with_sets(vec![set], Vec::new())
    }

    #[test]
    fn a_set_says_its_total_its_change_what_sharing_saves_and_what_broke() {
        let report = report();
        assert!(!report.passed);
        let mut text = String::new();
        super::text(&mut text, &report);
        assert!(
            text.starts_with("set node: 1.2 GB stored on a node (+180.0 MB (+17.6%)), 450.0 MB pulled, sharing saves 640.0 MB (the images add up to 1.8 GB)  FAIL"),
            "{text}"
        );
        assert!(
            text.contains("fail set node: grew by 180,000,000 bytes"),
            "{text}"
        );
        assert!(
            text.contains("web no longer shares 180.0 MB of layers with api and worker"),
            "{text}"
        );
        let mut md = String::new();
        super::markdown(&mut md, &report);
        assert!(
            md.contains("| web | 0 B | 400.0 MB | shared -180.0 MB, unique +180.0 MB |"),
            "{md}"
        );
        assert!(md.contains("| api | 180.0 MB | 20.0 MB | new |"), "{md}");
        assert_eq!(lines(&report), ["fail set node: grew by 180,000,000 bytes"]);
        assert_eq!(
            crate::report::github::render(&report),
            "::error title=image-budget set node::grew by 180,000,000 bytes\n"
        );
        let junit = crate::report::junit::render(&report);
        assert!(junit.contains("set node"), "{junit}");
        assert!(junit.contains("<failure"), "{junit}");
        assert_eq!(
            crate::report::verdict(&report),
            "all 0 images within budget; 1 of 1 set over budget"
        );
    }
}
