//! The markdown report.

use super::*;

#[test]
fn markdown_snapshot_escapes_names() {
    let text = render(&sample(), Format::Markdown, false);
    assert!(!text.contains("<b>"), "{text}");
    assert!(text.contains("bloated\\|&lt;b&gt;\\`x\\`"), "{text}");
    insta::assert_snapshot!(text);
}
