//! GitHub workflow annotations.

use super::*;

#[test]
fn annotations_snapshot() {
    let text = render(&ci_sample(), Format::Github, false);
    insta::assert_snapshot!(text);
}

#[test]
fn annotations_stay_one_command_per_line() {
    let report = hostile_report();
    let text = render(&report, Format::Github, false);
    let expected: usize = report
        .images
        .iter()
        .map(|i| i.findings.len() + usize::from(i.error.is_some()))
        .sum();
    assert_eq!(text.lines().count(), expected, "{text}");
    for line in text.lines() {
        assert!(
            line.starts_with("::error title=image-budget ")
                || line.starts_with("::warning title=image-budget "),
            "{line}"
        );
        let (_, rest) = line.split_once(" title=").unwrap();
        let (title, _) = rest.split_once("::").unwrap();
        assert!(!title.contains(':') && !title.contains(','), "{line}");
        assert!(!line.contains('\r'));
    }
    assert!(
        text.lines().any(|l| l
            == "::error title=image-budget line%0Abreak%0D%0A| injected | row |5 (linux/line%0Abreak%0D%0A| injected | row |)::size over: line%0Abreak%0D%0A| injected | row |"),
        "{text}"
    );
}
