//! GitLab's metrics report.

use super::*;

#[test]
fn metrics_snapshot() {
    let text = render(&ci_sample(), Format::GitlabMetrics, false);
    insta::assert_snapshot!(text);
}

#[test]
fn metrics_omit_unknowns_and_keep_lines_parseable() {
    let text = render(&ci_sample(), Format::GitlabMetrics, false);
    assert!(
        text.contains("image_budget_size_bytes{image=\"api\"} 149400000\n"),
        "{text}"
    );
    assert!(text.contains("image_budget_compressed_bytes{image=\"multi\",platform=\"linux/arm64\",estimated=\"true\"} 11500000\n"), "{text}");
    assert!(
        !text.contains("gone"),
        "unknown values are left out: {text}"
    );
    assert!(!text.contains(" 0\n"), "{text}");
    assert!(text.ends_with("# EOF\n"));

    let hostile = render(&hostile_report(), Format::GitlabMetrics, false);
    for line in hostile.lines().filter(|l| !l.starts_with('#')) {
        // As GitLab reads it: two words, no comment, balanced quotes.
        assert_eq!(line.split_whitespace().count(), 2, "{line}");
        assert!(!line.contains('#') && !line.contains('\\'), "{line}");
        assert_eq!(line.matches('"').count() % 2, 0, "{line}");
        let (name, value) = line.split_once(' ').unwrap();
        assert!(name.starts_with("image_budget_"), "{line}");
        assert!(value.parse::<u64>().is_ok(), "{line}");
    }
}

// ----------------------------------------------------------------- github
