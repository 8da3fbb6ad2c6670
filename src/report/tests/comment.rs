//! The sticky comment: its verdict, layer diff, escaping and size limit.

use super::*;
use crate::analysis::layer_diff::{Cause, LayerDiff};
use crate::report::comment::{self, MAX_COMMENT_CHARS};

#[test]
fn comment_snapshot() {
    let body = comment::render(&ci_sample(), &cid("default"));
    assert!(
        body.starts_with("<!-- image-budget:default -->\n"),
        "{body}"
    );
    insta::assert_snapshot!(body);
}

#[test]
fn comment_opens_with_the_verdict_and_the_largest_change() {
    let body = comment::render(&ci_sample(), &cid("default"));
    let verdict = body.lines().nth(1).unwrap();
    assert_eq!(
        verdict,
        "### ❗ image-budget: 2 of 8 images over budget; 1 of 8 images could not be checked; 1 near the limit · largest change: api +12.4 MB (+9.1%)"
    );
    let pass = Report::new(vec![image("a", 1, Status::Pass)]);
    let body = comment::render(&pass, &cid("frontend"));
    assert!(body.starts_with("<!-- image-budget:frontend -->\n### ✅ image-budget (frontend): all 1 image within budget\n"), "{body}");
}

#[test]
fn comment_tells_base_image_from_own_layers() {
    let body = comment::render(&ci_sample(), &cid("default"));
    assert!(
        body.contains("<details><summary>api: +12.4 MB (+9.1%) — own layers changed</summary>"),
        "{body}"
    );
    assert!(
        body.contains("Layers 1–2 are the baseline's; layer 3 is the first that differs"),
        "{body}"
    );
    assert!(
        body.contains(
            "<details><summary>worker: +2.1 MB (+2.7%) — the base image changed</summary>"
        ),
        "{body}"
    );
    assert!(body.contains("<summary>legacy: +1.0 MB (+1.7%) — largest layers (the baseline has no layer list)</summary>"), "{body}");
    assert!(
        body.contains("<summary>edge: largest layers</summary>"),
        "{body}"
    );
    // No section for an image that shrank or did not change.
    assert!(!body.contains("<summary>slim"), "{body}");
    assert!(!body.contains("<summary>multi"), "{body}");
}

#[test]
fn layer_diff_rule() {
    let a = layer("a", 1, "");
    let b = layer("b", 2, "");
    let c = layer("c", 3, "");
    let d = layer("d", 4, "");
    let own = [a.clone(), b.clone(), d.clone()];
    let base = [a.clone(), b.clone(), c.clone()];
    let diff = LayerDiff::new(&own, &base);
    assert_eq!(diff.cause, Cause::OwnLayers { shared: 2 });
    assert_eq!(diff.added, vec![(2, &d)]);
    assert_eq!(diff.removed, vec![(2, &c)]);
    assert_eq!(diff.unchanged.len(), 2);
    // What the JSON report keeps of it.
    assert_eq!(
        serde_json::to_value(diff.summary()).unwrap(),
        serde_json::json!({"cause": "own-layers", "shared": 2, "added": 1, "removed": 1, "unchanged": 2})
    );

    // Appending layers is an own change too.
    let appended = [a.clone(), b.clone(), c.clone(), d.clone()];
    let diff = LayerDiff::new(&appended, &base);
    assert_eq!(diff.cause, Cause::OwnLayers { shared: 3 });
    assert!(diff.removed.is_empty());

    // The first layer differs: the base image changed, even when a later
    // layer is the same content.
    let rebased = [d.clone(), b.clone(), c.clone()];
    let diff = LayerDiff::new(&rebased, &base);
    assert_eq!(diff.cause, Cause::BaseImage);
    assert_eq!(diff.summary().cause, crate::model::LayerCause::BaseImage);
    assert_eq!(diff.added, vec![(0, &d)]);
    assert_eq!(diff.removed, vec![(0, &a)]);
    assert_eq!(diff.unchanged, vec![&b, &c]);

    assert_eq!(LayerDiff::new(&base, &base).cause, Cause::Same);

    // Repeated digests (empty layers) pair one to one.
    let twice = [a.clone(), a.clone()];
    let once = [a.clone()];
    let diff = LayerDiff::new(&twice, &once);
    assert_eq!(diff.cause, Cause::OwnLayers { shared: 1 });
    assert_eq!(diff.added, vec![(1, &a)]);
    assert_eq!(diff.unchanged.len(), 1);
}

#[test]
fn marker_ids_cannot_close_the_comment() {
    assert_eq!(
        comment::marker(&cid("default")),
        "<!-- image-budget:default -->"
    );
    // An id that could close the comment is refused where it is read.
    for hostile in ["a-->b <x>", "x --><img src=x>", ""] {
        assert!(hostile.parse::<CommentId>().is_err(), "{hostile}");
    }
    let body = comment::render(&ci_sample(), &cid("frontend.v2"));
    assert_eq!(body.matches("-->").count(), 1, "{body}");
    assert!(
        body.starts_with("<!-- image-budget:frontend.v2 -->"),
        "{body}"
    );
}

/// Pipes that end a cell: not preceded by an odd number of backslashes.
fn cell_pipes(line: &str) -> usize {
    let chars: Vec<char> = line.chars().collect();
    chars
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            **c == '|' && chars[..*i].iter().rev().take_while(|c| **c == '\\').count() % 2 == 0
        })
        .count()
}

/// Every table in `body`: each row has as many cells as its header.
fn assert_tables_well_formed(body: &str) -> Vec<Vec<String>> {
    let mut tables: Vec<Vec<String>> = Vec::new();
    let mut in_table = false;
    for line in body.lines() {
        if line.starts_with('|') {
            if !in_table {
                tables.push(Vec::new());
                in_table = true;
            }
            tables.last_mut().unwrap().push(line.to_string());
        } else {
            in_table = false;
        }
    }
    assert!(!tables.is_empty(), "{body}");
    for table in &tables {
        let columns = cell_pipes(&table[0]);
        assert!(
            table[1].starts_with("|-") || table[1].starts_with("|--"),
            "{table:?}"
        );
        for row in table {
            assert!(row.ends_with('|'), "{row}");
            assert_eq!(cell_pipes(row), columns, "{row}");
        }
    }
    tables
}

/// `body` with the numeric character references (`&#124;`) taken out.
fn without_numeric_entities(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(';') {
            rest = &after[digits + 1..];
        } else {
            out.push_str("&#");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn assert_no_injection(body: &str) {
    assert!(!body.contains("<img"), "{body}");
    assert!(!body.contains("<!-- open"), "{body}");
    assert_eq!(body.matches("<!--").count(), 1, "{body}");
    assert_eq!(body.matches("-->").count(), 1, "{body}");
    assert_eq!(
        body.matches("<details>").count(),
        body.matches("</details>").count(),
        "{body}"
    );
    assert_eq!(
        body.matches("<summary>").count(),
        body.matches("</summary>").count(),
        "{body}"
    );
    // Each section closes after it opens, and summaries stay on one line.
    let mut open = false;
    for line in body.lines() {
        if line.starts_with("<details>") {
            assert!(!open && line.ends_with("</summary>"), "{line}");
            open = true;
        } else if line == "</details>" {
            assert!(open);
            open = false;
        } else {
            assert!(
                !line.contains("details>") && !line.contains("summary>"),
                "{line}"
            );
        }
    }
    assert!(!body.contains("@acme"), "a mention got through: {body}");
    let text = without_numeric_entities(body);
    assert!(
        !text.contains("#1"),
        "an issue reference got through: {:?}",
        text.lines()
            .filter(|l| l.contains("#1"))
            .collect::<Vec<_>>()
    );
    assert!(!body.contains("[x]("), "a link got through: {body}");
    assert!(!body.contains("| injected |"), "{body}");
}

#[test]
fn hostile_text_cannot_break_or_inject() {
    let report = hostile_report();
    let body = comment::render(&report, &cid("default"));
    assert_no_injection(&body);
    let tables = assert_tables_well_formed(&body);
    // The main table: a header, a rule, and a row per image.
    assert_eq!(tables[0].len(), 2 + report.images.len());
    assert_eq!(cell_pipes(&tables[0][0]), 7, "{}", tables[0][0]);
    // The same holds for `--format markdown`, which shares the table.
    let markdown = render(&report, Format::Markdown, false);
    assert!(!markdown.contains("<img"), "{markdown}");
    let tables = assert_tables_well_formed(&markdown);
    assert_eq!(tables[0].len(), 2 + report.images.len());
}

// ------------------------------------------------------------- size limit

/// The main table's data rows.
fn main_rows(body: &str) -> Vec<&str> {
    body.lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect()
}

#[test]
fn six_hundred_hostile_images_fit_with_every_row_and_the_verdict() {
    let report = huge_report(600, 300);
    let body = comment::render(&report, &cid("default"));
    let chars = comment::comment_chars(&body);
    assert!(chars <= MAX_COMMENT_CHARS, "{chars} characters");
    assert!(body.starts_with(
        "<!-- image-budget:default -->\n### ❌ image-budget: 600 of 600 images over budget"
    ));
    let rows = main_rows(&body);
    assert_eq!(rows.len(), 600);
    for (i, row) in rows.iter().enumerate() {
        // Names are cut in the middle: each keeps its own ending.
        assert!(row.contains(&format!("{i:04} |")), "{row}");
    }
    assert!(
        body.contains("more details omitted"),
        "{}",
        &body[body.len() - 300..]
    );
    assert_no_injection(&body);
    assert_tables_well_formed(&body);
}

#[test]
fn layer_sections_go_before_findings_do() {
    // Findings fit; the layer sections do not all fit.
    let report = huge_report(60, 40);
    let full: usize = report.images.len();
    let body = comment::render(&report, &cid("default"));
    assert!(comment::comment_chars(&body) <= MAX_COMMENT_CHARS);
    assert_eq!(main_rows(&body).len(), full);
    // Every finding and note line is there ...
    assert_eq!(
        body.lines().filter(|l| l.starts_with("- ")).count(),
        full * 4
    );
    // ... and some sections, not all.
    let sections = body.matches("<details>").count();
    assert!(sections > 0 && sections < full, "{sections} sections");
    assert!(
        body.contains(&format!("_… {} more details omitted", full - sections)),
        "{body}"
    );
    assert_no_injection(&body);

    // Too many findings for all to fit: one line per image, no sections.
    let report = huge_report(200, 40);
    let body = comment::render(&report, &cid("default"));
    assert!(comment::comment_chars(&body) <= MAX_COMMENT_CHARS);
    assert_eq!(main_rows(&body).len(), 200);
    assert_eq!(body.matches("<details>").count(), 0);
    let lines: Vec<&str> = body.lines().filter(|l| l.starts_with("- ")).collect();
    assert_eq!(lines.len(), 200, "one line per image");
    assert!(
        lines.iter().all(|l| l.contains("max-size exceeded")),
        "the worst first"
    );
    assert!(
        body.contains(&format!("_… {} more details omitted", 200 + 200 * 3)),
        "{body}"
    );
}

#[test]
fn a_small_report_keeps_everything() {
    let body = comment::render(&ci_sample(), &cid("default"));
    assert!(!body.contains("omitted"), "{body}");
    assert_no_injection(&body);
    assert_tables_well_formed(&body);
}

// ------------------------------------------------------------------ junit
