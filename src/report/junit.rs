//! JUnit XML, for the test reports of CI systems (GitLab's merge-request
//! widget lists each case).
//!
//! One `<testsuite name="image-budget">`; per image (named as in the table,
//! with its platform when the image has a row per platform):
//! - `IMAGE measured`: passes when the image was measured; an error (with the
//!   error text) when it could not be;
//! - `IMAGE BUDGET` for each budget the image has (`max-size`, `warn-size`,
//!   `max-compressed`, `max-layers`, `max-growth`, `warn-growth`), and for a
//!   finding of any other code: a failure carrying the finding's message when
//!   the budget was exceeded; an error when it could not be checked (an
//!   unknown metric); a pass with the message in `<system-out>` for a warning;
//!   skipped when the metric is unknown and no finding says more (an image
//!   that could not be measured), and for a growth budget of an image with
//!   no baseline: never a pass without a measurement.
//!
//! Timestamps and durations are left out, so the same report always renders
//! to the same XML.

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::name_cell;
use crate::model::{Budget, Finding, ImageResult, Report, Severity};

/// The budgets in the order they are listed, with the metric each judges.
const BUDGETS: [(&str, &str); 7] = [
    ("max-size", "size"),
    ("warn-size", "size"),
    ("max-compressed", "compressed"),
    ("max-layers", "layers"),
    ("max-wasted", "wasted"),
    ("max-growth", "size"),
    ("warn-growth", "size"),
];

fn has_budget(budget: &Budget, code: &str) -> bool {
    match code {
        "max-size" => budget.max_size.is_some(),
        "warn-size" => budget.warn_size.is_some(),
        "max-compressed" => budget.max_compressed.is_some(),
        "max-layers" => budget.max_layers.is_some(),
        "max-wasted" => budget.max_wasted.is_some(),
        "max-growth" => budget.max_growth.is_some(),
        "warn-growth" => budget.warn_growth.is_some(),
        _ => false,
    }
}

fn metric_known(image: &ImageResult, metric: &str) -> bool {
    match metric {
        "size" => image.metrics.size.is_some(),
        "compressed" => image.metrics.compressed.is_some(),
        "layers" => image.metrics.layers.is_some(),
        "wasted" => image.metrics.wasted.is_some(),
        _ => true,
    }
}

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut suite = TestSuite::new("image-budget");
    for image in &report.images {
        let label = name_cell(report, image);
        suite.add_test_case(measured(image, &label));
        let mut codes: Vec<(&str, &str)> = BUDGETS
            .iter()
            .filter(|(code, _)| has_budget(&image.budget, code))
            .copied()
            .collect();
        for finding in &image.findings {
            if !codes.iter().any(|(code, _)| *code == finding.code) {
                codes.push((&finding.code, &finding.metric));
            }
        }
        for (code, metric) in codes {
            suite.add_test_case(budget_case(image, &label, code, metric));
        }
    }
    let mut junit = quick_junit::Report::new("image-budget");
    junit.add_test_suite(suite);
    junit
        .to_string()
        .expect("JUnit XML always serializes into memory")
}

fn case(image: &ImageResult, label: &str, what: &str, status: TestCaseStatus) -> TestCase {
    let mut case = TestCase::new(format!("{label} {what}"), status);
    case.set_classname(image.name.as_str());
    case
}

fn measured(image: &ImageResult, label: &str) -> TestCase {
    let status = match &image.error {
        Some(error) => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(error.as_str());
            status.set_type("not-measured");
            status
        }
        None => TestCaseStatus::success(),
    };
    let mut case = case(image, label, "measured", status);
    if image.error.is_none() {
        case.set_system_out(format!("measured {}", image.reference));
    }
    case
}

fn budget_case(image: &ImageResult, label: &str, code: &str, metric: &str) -> TestCase {
    let findings: Vec<&Finding> = image.findings.iter().filter(|f| f.code == code).collect();
    let worst = findings.iter().map(|f| f.severity).max();
    let messages = || {
        findings
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let failing = |kind: NonSuccessKind| {
        let mut status = TestCaseStatus::non_success(kind);
        status.set_message(messages());
        status.set_type(code);
        status
    };
    match worst {
        Some(Severity::Fail) => case(image, label, code, failing(NonSuccessKind::Failure)),
        Some(Severity::Error) => case(image, label, code, failing(NonSuccessKind::Error)),
        Some(Severity::Warn) => {
            let mut case = case(image, label, code, TestCaseStatus::success());
            case.set_system_out(format!("warning: {}", messages()));
            case
        }
        None if code.ends_with("-growth") && image.baseline.is_none() => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(
                "not checked: no baseline (a new image is judged by absolute budgets only)",
            );
            case(image, label, code, status)
        }
        None if !metric_known(image, metric) => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!("not checked: the {metric} is unknown"));
            case(image, label, code, status)
        }
        None => case(image, label, code, TestCaseStatus::success()),
    }
}
