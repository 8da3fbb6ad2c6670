//! The verdict: budgets × measurement × baseline → findings and a status.
//!
//! Pure: no I/O, unit-tested on plain values. A budget that is not kept is a
//! finding (data), not an error. A metric that one side cannot provide is
//! unknown: never zero, never a pass.

use crate::glob;
use crate::model::{
    Budget, BudgetKey, Delta, Finding, Held, LimitKind, Metric, Metrics, Severity, Status,
};
use crate::size::{self, Growth};

/// What an image is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against<'a> {
    /// No baseline: a new image, judged by its absolute budgets only.
    Nothing,
    Baseline(&'a Metrics),
    /// The baseline could not be measured (the reason says why): the
    /// absolute budgets are still judged, the growth budgets are errors.
    Failed(&'a str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub status: Status,
    pub findings: Vec<Finding>,
    /// Against the baseline; `None` without one (a new image).
    pub delta: Option<Delta>,
}

fn diff(now: Option<u64>, base: Option<u64>) -> Option<i64> {
    Some(i64::try_from(i128::from(now?) - i128::from(base?)).unwrap_or(i64::MAX))
}

fn unknown(key: BudgetKey, limit: u64) -> Finding {
    let metric = key.metric();
    let what = metric
        .why_unknown()
        .map_or_else(|| format!("{} is unknown", metric.name()), str::to_string);
    Finding {
        code: key,
        metric,
        limit,
        actual: None,
        severity: Severity::Error,
        message: format!("{what}, so the {} budget could not be checked", key.name()),
    }
}

/// `size 101 B is over the max-size budget of 100 B by 1 byte`, in each
/// metric's words.
fn over(key: BudgetKey, actual: u64, limit: u64) -> String {
    let (name, noun) = (key.name(), key.noun());
    let by = size::exact(actual - limit);
    match key.metric() {
        Metric::Layers => format!("{actual} layers, over the {name} {noun} of {limit}"),
        Metric::Wasted => format!(
            "{} wasted (in lower layers, overwritten or deleted by later ones), over the {name} {noun} of {} by {by}",
            size::human(actual),
            size::human(limit)
        ),
        Metric::Compressed => format!(
            "compressed size {} is over the {name} {noun} of {} by {by}",
            size::human(actual),
            size::human(limit)
        ),
        Metric::Size => format!(
            "size {} is over the {name} {noun} of {} by {by}",
            size::human(actual),
            size::human(limit)
        ),
        // Judged by `denied`, never as a number.
        Metric::Packages => format!("{actual} denied packages, over the {name} {noun} of {limit}"),
    }
}

/// The `deny-packages` findings of an image that holds `held` (`Err`: why
/// its packages could not be read): one per package a pattern matches,
/// naming it, its bytes and the pattern; an error when the packages are
/// unknown. Nothing without the budget.
pub fn denied(budget: &Budget, held: Result<&[Held], &str>) -> Vec<Finding> {
    let key = BudgetKey::DenyPackages;
    if !budget.has(key) {
        return Vec::new();
    }
    let held = match held {
        Ok(held) => held,
        Err(why) => {
            return vec![Finding {
                code: key,
                metric: key.metric(),
                limit: 0,
                actual: None,
                severity: Severity::Error,
                message: format!(
                    "the packages are unknown ({why}), so the {} budget could not be checked",
                    key.name()
                ),
            }];
        }
    };
    held.iter()
        .filter_map(|p| {
            let pattern = budget
                .deny_packages
                .iter()
                .find(|pattern| glob::matches(pattern, &p.name))?;
            Some(Finding {
                code: key,
                metric: key.metric(),
                limit: 0,
                actual: p.size,
                severity: key.severity(),
                message: format!(
                    "holds {} {} ({}, {}), denied by `{pattern}` in {}",
                    p.name,
                    p.version,
                    p.ecosystem,
                    p.size
                        .map_or_else(|| "bytes unknown".to_string(), size::human),
                    key.name()
                ),
            })
        })
        .collect()
}

impl Judgement {
    /// Adds findings judged apart (`denied`), and the status they make.
    pub fn add(&mut self, findings: Vec<Finding>) {
        self.findings.extend(findings);
        self.status = status(&self.findings);
    }
}

/// The worst severity among the findings, as a status.
fn status(findings: &[Finding]) -> Status {
    findings
        .iter()
        .map(|f| match f.severity {
            Severity::Warn => Status::Warn,
            Severity::Fail => Status::Fail,
            Severity::Error => Status::Error,
        })
        .max()
        .unwrap_or(Status::Pass)
}

/// Judges one image.
pub fn judge(budget: &Budget, now: &Metrics, against: Against<'_>) -> Judgement {
    let baseline = match against {
        Against::Baseline(base) => Some(base),
        Against::Nothing | Against::Failed(_) => None,
    };
    let mut findings: Vec<Finding> = Vec::new();

    // Absolute budgets: bytes and counts, each over its limit or unknown.
    for key in BudgetKey::ALL {
        if key.kind() == LimitKind::Growth {
            continue;
        }
        let Some(limit) = budget.amount(key) else {
            continue;
        };
        let outranking = key.outranked_by();
        match key.metric().of(now) {
            // An unknown metric is said once, by the budget that outranks.
            None if outranking.is_some_and(|k| budget.has(k)) => {}
            None => findings.push(unknown(key, limit)),
            Some(actual) if actual > limit => {
                if outranking.is_some_and(|k| findings.iter().any(|f| f.code == k)) {
                    continue;
                }
                findings.push(Finding {
                    code: key,
                    metric: key.metric(),
                    limit,
                    actual: Some(actual),
                    severity: key.severity(),
                    message: over(key, actual, limit),
                });
            }
            Some(_) => {}
        }
    }

    let delta = baseline.map(|base| Delta {
        size: diff(now.size, base.size),
        compressed: diff(now.compressed, base.compressed),
        layers: diff(now.layers, base.layers),
        size_percent: match (now.size, base.size) {
            (Some(n), Some(b)) => size::percent_change(b, n),
            _ => None,
        },
    });
    // Growth budgets: against the baseline, when there is one.
    for key in BudgetKey::ALL {
        let Some(limit) = budget.growth(key) else {
            continue;
        };
        match against {
            Against::Baseline(base) => {
                let outranked = key
                    .outranked_by()
                    .is_some_and(|k| findings.iter().any(|f| f.code == k));
                if !outranked {
                    findings.extend(growth_finding(key, limit, now, base));
                }
            }
            Against::Failed(reason) => findings.push(Finding {
                code: key,
                metric: key.metric(),
                limit: limit.allowed(0),
                actual: None,
                severity: Severity::Error,
                message: format!(
                    "the {} budget could not be checked: the baseline could not be measured: {reason}",
                    key.name()
                ),
            }),
            Against::Nothing => {}
        }
    }

    Judgement {
        status: status(&findings),
        findings,
        delta,
    }
}

fn growth_finding(key: BudgetKey, limit: Growth, now: &Metrics, base: &Metrics) -> Option<Finding> {
    let metric = key.metric();
    let (Some(n), Some(b)) = (metric.of(now), metric.of(base)) else {
        let allowed = metric.of(base).map_or(0, |b| limit.allowed(b));
        return Some(unknown(key, allowed));
    };
    let delta = i128::from(n) - i128::from(b);
    if !limit.exceeded(b, delta) {
        return None;
    }
    let allowed = limit.allowed(b);
    let percent = size::percent_change(b, n)
        .map(|p| format!(" ({p:+.1}%)"))
        .unwrap_or_default();
    Some(Finding {
        code: key,
        metric,
        limit: allowed,
        actual: Some(delta as u64),
        severity: key.severity(),
        message: format!(
            "grew by {}{percent} against the baseline, over the {} {} of {limit} (at most {})",
            size::exact(delta as u64),
            key.name(),
            key.noun(),
            size::exact(allowed)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(size: u64, layers: u64) -> Metrics {
        Metrics {
            size: Some(size),
            layers: Some(layers),
            ..Metrics::default()
        }
    }

    fn codes(j: &Judgement) -> Vec<(&str, Severity)> {
        j.findings
            .iter()
            .map(|f| (f.code.name(), f.severity))
            .collect()
    }

    #[test]
    fn within_budget_passes() {
        let budget = Budget {
            max_size: Some(100),
            max_layers: Some(3),
            ..Budget::default()
        };
        let j = judge(&budget, &metrics(100, 3), Against::Nothing);
        assert_eq!(j.status, Status::Pass);
        assert!(j.findings.is_empty());
        assert_eq!(j.delta, None);
    }

    #[test]
    fn over_max_size_fails_to_the_byte() {
        let budget = Budget {
            max_size: Some(100),
            warn_size: Some(90),
            ..Budget::default()
        };
        let j = judge(&budget, &metrics(101, 1), Against::Nothing);
        assert_eq!(j.status, Status::Fail);
        assert_eq!(codes(&j), [("max-size", Severity::Fail)]);
        assert_eq!(j.findings[0].limit, 100);
        assert_eq!(j.findings[0].actual, Some(101));
        assert_eq!(
            j.findings[0].message,
            "size 101 B is over the max-size budget of 100 B by 1 byte"
        );
    }

    #[test]
    fn between_warn_and_max_warns() {
        let budget = Budget {
            max_size: Some(100),
            warn_size: Some(90),
            ..Budget::default()
        };
        let j = judge(&budget, &metrics(91, 1), Against::Nothing);
        assert_eq!(j.status, Status::Warn);
        assert_eq!(codes(&j), [("warn-size", Severity::Warn)]);
        assert_eq!(
            judge(&budget, &metrics(90, 1), Against::Nothing).status,
            Status::Pass
        );
    }

    #[test]
    fn compressed_is_judged_on_its_own_metric() {
        let budget = Budget {
            max_compressed: Some(60),
            ..Budget::default()
        };
        let mut now = metrics(1_000, 1);
        now.compressed = Some(61);
        let j = judge(&budget, &now, Against::Nothing);
        assert_eq!(codes(&j), [("max-compressed", Severity::Fail)]);
        assert_eq!(j.findings[0].metric, Metric::Compressed);
        now.compressed = Some(60);
        assert_eq!(judge(&budget, &now, Against::Nothing).status, Status::Pass);
        now.compressed = None;
        let unknown = judge(&budget, &now, Against::Nothing);
        assert_eq!(codes(&unknown), [("max-compressed", Severity::Error)]);
        assert_eq!(unknown.findings[0].actual, None);
    }

    #[test]
    fn too_many_layers_fails() {
        let budget = Budget {
            max_layers: Some(2),
            ..Budget::default()
        };
        let j = judge(&budget, &metrics(1, 3), Against::Nothing);
        assert_eq!(codes(&j), [("max-layers", Severity::Fail)]);
        assert_eq!(
            j.findings[0].message,
            "3 layers, over the max-layers budget of 2"
        );
    }

    #[test]
    fn growth_is_judged_against_the_baseline() {
        let budget = Budget {
            max_growth: Some(Growth::parse("5%").unwrap()),
            warn_growth: Some(Growth::parse("2%").unwrap()),
            ..Budget::default()
        };
        let base = metrics(1_000_000, 4);
        let pass = judge(&budget, &metrics(1_020_000, 4), Against::Baseline(&base));
        assert_eq!(pass.status, Status::Pass);
        let warn = judge(&budget, &metrics(1_020_001, 4), Against::Baseline(&base));
        assert_eq!(codes(&warn), [("warn-growth", Severity::Warn)]);
        assert_eq!(warn.findings[0].limit, 20_000);
        assert_eq!(warn.findings[0].actual, Some(20_001));
        let fail = judge(&budget, &metrics(1_050_001, 5), Against::Baseline(&base));
        assert_eq!(codes(&fail), [("max-growth", Severity::Fail)]);
        assert_eq!(
            fail.findings[0].message,
            "grew by 50,001 bytes (+5.0%) against the baseline, over the max-growth budget of 5% (at most 50,000 bytes)"
        );
        let delta = fail.delta.unwrap();
        assert_eq!(delta.size, Some(50_001));
        assert_eq!(delta.layers, Some(1));
        assert_eq!(delta.compressed, None);
        let shrink = judge(&budget, &metrics(10, 4), Against::Baseline(&base));
        assert_eq!(shrink.status, Status::Pass);
        assert_eq!(shrink.delta.unwrap().size, Some(-999_990));
    }

    #[test]
    fn a_new_image_is_judged_by_absolute_budgets_only() {
        let budget = Budget {
            max_size: Some(100),
            max_growth: Some(Growth::Bytes(1)),
            ..Budget::default()
        };
        let j = judge(&budget, &metrics(50, 1), Against::Nothing);
        assert_eq!(j.status, Status::Pass);
        assert_eq!(j.delta, None);
    }

    #[test]
    fn unknown_metrics_are_never_a_pass() {
        let budget = Budget {
            max_size: Some(100),
            max_growth: Some(Growth::Bytes(1)),
            ..Budget::default()
        };
        let now = Metrics::default();
        let j = judge(&budget, &now, Against::Baseline(&metrics(50, 1)));
        assert_eq!(j.status, Status::Error);
        assert_eq!(
            codes(&j),
            [
                ("max-size", Severity::Error),
                ("max-growth", Severity::Error)
            ]
        );
        assert_eq!(j.findings[0].actual, None);
    }

    #[test]
    fn a_baseline_that_failed_keeps_the_absolute_verdict() {
        let budget = Budget {
            max_size: Some(100),
            max_growth: Some(Growth::parse("5%").unwrap()),
            warn_growth: Some(Growth::Bytes(7)),
            ..Budget::default()
        };
        let j = judge(
            &budget,
            &metrics(150, 1),
            Against::Failed("registry answered 500"),
        );
        assert_eq!(j.status, Status::Error);
        assert_eq!(
            codes(&j),
            [
                ("max-size", Severity::Fail),
                ("max-growth", Severity::Error),
                ("warn-growth", Severity::Error)
            ]
        );
        assert_eq!(j.findings[0].actual, Some(150));
        assert_eq!(j.findings[2].limit, 7);
        assert_eq!(
            j.findings[1].message,
            "the max-growth budget could not be checked: the baseline could not be measured: registry answered 500"
        );
        assert_eq!(j.delta, None);
        // Without growth budgets nothing was left unchecked.
        let absolute = Budget {
            max_size: Some(200),
            ..Budget::default()
        };
        let j = judge(&absolute, &metrics(150, 1), Against::Failed("gone"));
        assert_eq!(j.status, Status::Pass);
    }

    #[test]
    fn wasted_bytes_are_judged_and_unknown_is_an_error() {
        let budget = Budget {
            max_wasted: Some(1_000),
            ..Budget::default()
        };
        let mut now = metrics(5_000, 2);
        now.wasted = Some(1_001);
        let j = judge(&budget, &now, Against::Nothing);
        assert_eq!(codes(&j), [("max-wasted", Severity::Fail)]);
        assert_eq!(j.findings[0].metric, Metric::Wasted);
        assert_eq!(j.findings[0].actual, Some(1_001));
        now.wasted = Some(1_000);
        assert_eq!(judge(&budget, &now, Against::Nothing).status, Status::Pass);
        now.wasted = None;
        let unknown = judge(&budget, &now, Against::Nothing);
        assert_eq!(codes(&unknown), [("max-wasted", Severity::Error)]);
    }

    #[test]
    fn denied_packages_fail_naming_each_with_its_bytes_and_pattern() {
        let budget = Budget {
            deny_packages: vec!["gcc-*".into(), "*-dev".into()],
            ..Budget::default()
        };
        let held = |name: &str, size: Option<u64>| Held {
            ecosystem: "dpkg".into(),
            name: name.into(),
            version: "1.0".into(),
            size,
        };
        let image = [
            held("gcc-12", Some(69_816_431)),
            held("libgcc-s1", Some(100)),
            held("libc6-dev", None),
            held("make", Some(5)),
        ];
        let found = denied(&budget, Ok(&image));
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].code, BudgetKey::DenyPackages);
        assert_eq!(found[0].metric, Metric::Packages);
        assert_eq!(found[0].severity, Severity::Fail);
        assert_eq!(found[0].actual, Some(69_816_431));
        assert_eq!(
            found[0].message,
            "holds gcc-12 1.0 (dpkg, 69.8 MB), denied by `gcc-*` in deny-packages"
        );
        assert_eq!(found[1].actual, None);
        assert!(
            found[1].message.contains("bytes unknown"),
            "{}",
            found[1].message
        );

        let mut verdict = judge(&budget, &Metrics::default(), Against::Nothing);
        assert_eq!(verdict.status, Status::Pass);
        verdict.add(found);
        assert_eq!(verdict.status, Status::Fail);

        assert!(denied(&budget, Ok(&image[1..2])).is_empty());
        assert!(denied(&Budget::default(), Ok(&image)).is_empty());
        let unknown = denied(&budget, Err("no listing"));
        assert_eq!(unknown[0].severity, Severity::Error);
        assert!(unknown[0].message.contains("no listing"));
    }
}
