//! JUnit XML: a case per image and budget.

use super::*;

#[test]
fn junit_snapshot() {
    let xml = render(&ci_sample(), Format::Junit, false);
    insta::assert_snapshot!(xml);
}

#[test]
fn junit_has_a_case_per_image_and_budget() {
    let xml = render(&ci_sample(), Format::Junit, false);
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(parsed.test_suites.len(), 1);
    let suite = &parsed.test_suites[0];
    assert_eq!(suite.name.as_str(), "image-budget");
    let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
    for name in [
        "api measured",
        "api max-size",
        "api max-layers",
        "api max-growth",
        "worker warn-growth",
        "gone measured",
        "gone max-size",
        "multi (linux/arm64) max-compressed",
    ] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    let case = |name: &str| {
        suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == name)
            .unwrap()
    };
    assert!(matches!(
        &case("api max-growth").status,
        quick_junit::TestCaseStatus::NonSuccess { kind: quick_junit::NonSuccessKind::Failure, message: Some(m), .. }
            if m.as_str().starts_with("grew by 12,400,000 bytes")
    ));
    assert!(matches!(
        case("worker warn-growth").status,
        quick_junit::TestCaseStatus::Success { .. }
    ));
    assert!(
        case("worker warn-growth")
            .system_out
            .as_ref()
            .unwrap()
            .as_str()
            .contains("warn-growth mark")
    );
    assert!(matches!(
        &case("gone measured").status,
        quick_junit::TestCaseStatus::NonSuccess { kind: quick_junit::NonSuccessKind::Error, message: Some(m), .. }
            if m.as_str().contains("not in the local engine")
    ));
    // An unmeasured image never passes a budget.
    assert!(matches!(
        case("gone max-size").status,
        quick_junit::TestCaseStatus::Skipped { .. }
    ));
    assert_eq!(parsed.failures, 2);
    assert_eq!(parsed.errors, 1);
}

#[test]
fn junit_escapes_hostile_text() {
    let xml = render(&hostile_report(), Format::Junit, false);
    assert!(!xml.contains("<img"), "{xml}");
    assert!(!xml.contains("<!--"), "{xml}");
    let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert!(
        parsed.test_suites[0]
            .test_cases
            .iter()
            .any(|c| c.name.as_str().starts_with("<img src=x onerror=alert(1)>"))
    );
}

// ---------------------------------------------------------------- metrics
