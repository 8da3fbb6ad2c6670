//! The verdict: budgets × measurement × baseline → findings and a status.
//!
//! Pure: no I/O, unit-tested on plain values. A budget that is not kept is a
//! finding (data), not an error. A metric that one side cannot provide is
//! unknown: never zero, never a pass.

use crate::model::{Budget, Delta, Finding, Metrics, Severity, Status};
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

fn unknown(code: &str, metric: &str, limit: u64) -> Finding {
    Finding {
        code: code.into(),
        metric: metric.into(),
        limit,
        actual: None,
        severity: Severity::Error,
        message: format!("{metric} is unknown, so the {code} budget could not be checked"),
    }
}

/// Judges one image.
pub fn judge(budget: &Budget, now: &Metrics, against: Against<'_>) -> Judgement {
    let baseline = match against {
        Against::Baseline(base) => Some(base),
        Against::Nothing | Against::Failed(_) => None,
    };
    let mut findings = Vec::new();

    if let Some(limit) = budget.max_size {
        match now.size {
            None => findings.push(unknown("max-size", "size", limit)),
            Some(actual) if actual > limit => findings.push(Finding {
                code: "max-size".into(),
                metric: "size".into(),
                limit,
                actual: Some(actual),
                severity: Severity::Fail,
                message: format!(
                    "size {} is over the max-size budget of {} by {}",
                    size::human(actual),
                    size::human(limit),
                    size::exact(actual - limit)
                ),
            }),
            Some(_) => {}
        }
    }
    if let Some(limit) = budget.warn_size {
        let failed = findings.iter().any(|f| f.code == "max-size");
        match now.size {
            None if budget.max_size.is_none() => findings.push(unknown("warn-size", "size", limit)),
            Some(actual) if actual > limit && !failed => findings.push(Finding {
                code: "warn-size".into(),
                metric: "size".into(),
                limit,
                actual: Some(actual),
                severity: Severity::Warn,
                message: format!(
                    "size {} is over the warn-size mark of {} by {}",
                    size::human(actual),
                    size::human(limit),
                    size::exact(actual - limit)
                ),
            }),
            _ => {}
        }
    }
    if let Some(limit) = budget.max_compressed {
        match now.compressed {
            None => findings.push(Finding {
                message: "the compressed size is unknown (the image is in no registry and could not be estimated), so the max-compressed budget could not be checked".into(),
                ..unknown("max-compressed", "compressed", limit)
            }),
            Some(actual) if actual > limit => findings.push(Finding {
                code: "max-compressed".into(),
                metric: "compressed".into(),
                limit,
                actual: Some(actual),
                severity: Severity::Fail,
                message: format!(
                    "compressed size {} is over the max-compressed budget of {} by {}",
                    size::human(actual),
                    size::human(limit),
                    size::exact(actual - limit)
                ),
            }),
            Some(_) => {}
        }
    }
    if let Some(limit) = budget.max_wasted {
        match now.wasted {
            None => findings.push(Finding {
                message: "wasted bytes are unknown (this source's layers were not read), so the max-wasted budget could not be checked".into(),
                ..unknown("max-wasted", "wasted", limit)
            }),
            Some(actual) if actual > limit => findings.push(Finding {
                code: "max-wasted".into(),
                metric: "wasted".into(),
                limit,
                actual: Some(actual),
                severity: Severity::Fail,
                message: format!(
                    "{} wasted (in lower layers, overwritten or deleted by later ones), over the max-wasted budget of {} by {}",
                    size::human(actual),
                    size::human(limit),
                    size::exact(actual - limit)
                ),
            }),
            Some(_) => {}
        }
    }
    if let Some(limit) = budget.max_layers {
        match now.layers {
            None => findings.push(unknown("max-layers", "layers", limit)),
            Some(actual) if actual > limit => findings.push(Finding {
                code: "max-layers".into(),
                metric: "layers".into(),
                limit,
                actual: Some(actual),
                severity: Severity::Fail,
                message: format!("{actual} layers, over the max-layers budget of {limit}"),
            }),
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
    if let Some(base) = baseline {
        let max = growth_finding("max-growth", budget.max_growth, Severity::Fail, now, base);
        let failed = max.is_some();
        findings.extend(max);
        if !failed {
            findings.extend(growth_finding(
                "warn-growth",
                budget.warn_growth,
                Severity::Warn,
                now,
                base,
            ));
        }
    }
    if let Against::Failed(reason) = against {
        for (code, limit) in [
            ("max-growth", budget.max_growth),
            ("warn-growth", budget.warn_growth),
        ] {
            if let Some(limit) = limit {
                findings.push(Finding {
                    code: code.into(),
                    metric: "size".into(),
                    limit: limit.allowed(0),
                    actual: None,
                    severity: Severity::Error,
                    message: format!(
                        "the {code} budget could not be checked: the baseline could not be measured: {reason}"
                    ),
                });
            }
        }
    }

    let status = findings
        .iter()
        .map(|f| match f.severity {
            Severity::Warn => Status::Warn,
            Severity::Fail => Status::Fail,
            Severity::Error => Status::Error,
        })
        .max()
        .unwrap_or(Status::Pass);
    Judgement {
        status,
        findings,
        delta,
    }
}

fn growth_finding(
    code: &str,
    limit: Option<Growth>,
    severity: Severity,
    now: &Metrics,
    base: &Metrics,
) -> Option<Finding> {
    let limit = limit?;
    let (Some(n), Some(b)) = (now.size, base.size) else {
        let allowed = base.size.map_or(0, |b| limit.allowed(b));
        return Some(unknown(code, "size", allowed));
    };
    let delta = i128::from(n) - i128::from(b);
    if !limit.exceeded(b, delta) {
        return None;
    }
    let allowed = limit.allowed(b);
    let percent = size::percent_change(b, n)
        .map(|p| format!(" ({p:+.1}%)"))
        .unwrap_or_default();
    let verb = if severity == Severity::Warn {
        "mark"
    } else {
        "budget"
    };
    Some(Finding {
        code: code.into(),
        metric: "size".into(),
        limit: allowed,
        actual: Some(delta as u64),
        severity,
        message: format!(
            "grew by {}{percent} against the baseline, over the {code} {verb} of {limit} (at most {})",
            size::exact(delta as u64),
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
            .map(|f| (f.code.as_str(), f.severity))
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
        assert_eq!(j.findings[0].metric, "compressed");
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
        assert_eq!(j.findings[0].metric, "wasted");
        assert_eq!(j.findings[0].actual, Some(1_001));
        now.wasted = Some(1_000);
        assert_eq!(judge(&budget, &now, Against::Nothing).status, Status::Pass);
        now.wasted = None;
        let unknown = judge(&budget, &now, Against::Nothing);
        assert_eq!(codes(&unknown), [("max-wasted", Severity::Error)]);
    }
}
