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
use crate::model::{
    BudgetKey, Finding, ImageResult, LimitKind, Report, SetResult, Severity, Status,
};

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut suite = TestSuite::new("image-budget");
    for image in &report.images {
        let label = name_cell(report, image);
        suite.add_test_case(measured(image, &label));
        // A case per budget the image has, in the vocabulary's order, and
        // per other budget a finding names.
        let mut keys: Vec<BudgetKey> = BudgetKey::ALL
            .into_iter()
            .filter(|key| image.budget.has(*key))
            .collect();
        if image.budget.has(BudgetKey::DenyPackages) {
            keys.push(BudgetKey::DenyPackages);
        }
        for finding in &image.findings {
            if !keys.contains(&finding.code) {
                keys.push(finding.code);
            }
        }
        for key in keys {
            suite.add_test_case(budget_case(image, &label, key));
        }
    }
    for set in &report.sets {
        suite.add_test_case(set_case(report, set));
    }
    let mut junit = quick_junit::Report::new("image-budget");
    junit.add_test_suite(suite);
    junit
        .to_string()
        .expect("JUnit XML always serializes into memory")
}

/// One case per set row: failing with its findings, an error when it could
/// not be judged.
fn set_case(report: &Report, set: &SetResult) -> TestCase {
    let messages: Vec<&str> = set
        .error
        .iter()
        .map(String::as_str)
        .chain(set.findings.iter().map(|f| f.message.as_str()))
        .collect();
    let status = match set.status {
        Status::Fail | Status::Error => {
            let kind = if set.status == Status::Fail {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut status = TestCaseStatus::non_success(kind);
            status.set_message(messages.join("\n"));
            status.set_type("set");
            status
        }
        Status::Pass | Status::Warn => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(super::sets::label(report, set), status);
    case.set_classname(format!("set {}", set.name));
    if set.status == Status::Warn {
        case.set_system_out(format!("warning: {}", messages.join("\n")));
    }
    case
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

fn budget_case(image: &ImageResult, label: &str, key: BudgetKey) -> TestCase {
    let (code, metric) = (key.name(), key.metric());
    let findings: Vec<&Finding> = image.findings.iter().filter(|f| f.code == key).collect();
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
        None if key.kind() == LimitKind::Growth && image.baseline.is_none() => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(
                "not checked: no baseline (a new image is judged by absolute budgets only)",
            );
            case(image, label, code, status)
        }
        None if key.kind() == LimitKind::Deny => {
            case(image, label, code, TestCaseStatus::success())
        }
        None if metric.of(&image.metrics).is_none() => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!("not checked: the {} is unknown", metric.name()));
            case(image, label, code, status)
        }
        None => case(image, label, code, TestCaseStatus::success()),
    }
}
