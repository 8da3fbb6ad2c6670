//! The terminal table.

use super::*;

#[test]
fn verdict_counts_what_matters() {
    let report = sample();
    assert_eq!(
        verdict(&report),
        "1 of 4 images over budget; 1 of 4 images could not be checked; 1 near the limit"
    );
    let ok = Report::new(vec![local("a", 1, Status::Pass)]);
    assert_eq!(verdict(&ok), "all 1 image within budget");
    assert!(ok.passed);
    assert!(!report.passed);
}

#[test]
fn table_snapshot() {
    insta::assert_snapshot!(render(&sample(), Format::Table, false));
}

#[test]
fn table_colors_only_when_asked() {
    let plain = render(&sample(), Format::Table, false);
    assert!(!plain.contains('\u{1b}'));
    let colored = render(&sample(), Format::Table, true);
    assert!(colored.contains('\u{1b}'));
}

#[test]
fn compressed_and_platform_rows_show_when_present() {
    let mut arm = local("multi", 1_000, Status::Pass);
    arm.platform = Some("linux/arm64".into());
    arm.metrics.compressed = Some(600);
    let mut amd = local("multi", 1_100, Status::Pass);
    amd.metrics.compressed = Some(650);
    amd.metrics.compressed_estimated = true;
    amd.budget.max_compressed = Some(700);
    let report = Report::new(vec![amd, arm]);
    let table = render(&report, Format::Table, false);
    assert!(table.contains("Compressed"), "{table}");
    assert!(table.contains("multi (linux/amd64)"), "{table}");
    assert!(table.contains("multi (linux/arm64)"), "{table}");
    assert!(table.contains("~650 B"), "{table}");
    assert!(table.contains("pull ≤ 700 B"), "{table}");
    let markdown = render(&report, Format::Markdown, false);
    assert!(
        markdown.contains("| multi (linux/arm64) | 1.0 kB | 600 B |"),
        "{markdown}"
    );
    let plain = render(&sample(), Format::Table, false);
    assert!(!plain.contains("Compressed"));
}
