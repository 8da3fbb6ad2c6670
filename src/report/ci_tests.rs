//! Tests of the renderers CI systems and pull requests read: the comment,
//! JUnit, GitLab metrics and GitHub annotations.

use super::comment::{self, MAX_COMMENT_CHARS};
use super::*;
use crate::analysis::layer_diff::{Cause, LayerDiff};
use crate::model::{
    Baseline, Budget, BudgetKey, CommentId, Delta, Finding, ImageResult, Layer, Metric, Metrics,
    Report, Severity, Status,
};
use crate::size::Growth;

fn layer(digest: &str, size: u64, instruction: &str) -> Layer {
    Layer {
        digest: format!("sha256:{digest}"),
        blob: None,
        size: Some(size),
        compressed: None,
        instruction: Some(instruction.to_string()),
    }
}

fn image(name: &str, size: u64, status: Status) -> ImageResult {
    ImageResult {
        name: name.into(),
        reference: format!("ghcr.io/acme/{name}:pr-7"),
        source: Some("daemon".into()),
        digest: Some("sha256:feed".into()),
        platform: Some("linux/amd64".into()),
        metrics: Metrics {
            size: Some(size),
            compressed: None,
            compressed_estimated: false,
            layers: Some(4),
            wasted: None,
        },
        baseline: None,
        delta: None,
        status,
        findings: Vec::new(),
        error: None,
        budget: Budget {
            max_size: Some(200_000_000),
            ..Budget::default()
        },
        layer_details: Vec::new(),
        notes: Vec::new(),
        history: Vec::new(),
        explanation: None,
        layer_change: None,
    }
}

/// Gives `image` a baseline of `size` bytes with `layers`, and the delta.
fn against(image: &mut ImageResult, size: u64, layers: Vec<Layer>) {
    let now = image.metrics.size.unwrap();
    image.baseline = Some(Baseline {
        reference: format!("ghcr.io/acme/{}:main", image.name),
        source: "reference".into(),
        commit: None,
        digest: None,
        metrics: Metrics {
            size: Some(size),
            compressed: None,
            layers: Some(layers.len() as u64),
            ..Metrics::default()
        },
        layer_details: layers,
        history: Vec::new(),
    });
    image.delta = Some(Delta {
        size: Some(now as i64 - size as i64),
        compressed: None,
        layers: Some(0),
        size_percent: crate::size::percent_change(size, now),
    });
}

fn finding(code: &str, severity: Severity, message: &str) -> Finding {
    Finding {
        code: BudgetKey::named(code).expect("a budget key"),
        metric: Metric::Size,
        limit: 0,
        actual: None,
        severity,
        message: message.into(),
    }
}

/// A report with every kind of row: pass, warn, fail, new, error, a
/// multi-platform pair, a base image that changed, own layers that changed,
/// and a baseline without layers.
fn ci_sample() -> Report {
    // Own layers changed: the first two layers are the baseline's.
    let mut api = image("api", 149_400_000, Status::Fail);
    api.budget.max_growth = Some(Growth::parse("5%").unwrap());
    api.budget.max_layers = Some(10);
    api.layer_details = vec![
        layer(
            "debian",
            74_800_000,
            "/bin/sh -c #(nop) ADD file:4b03b5f551e3fbdf47ec609712007327828f7530cc3455c43bbcdcaf449a75a9 in / ",
        ),
        layer(
            "deps",
            30_000_000,
            "RUN /bin/sh -c apt-get update && apt-get install -y ca-certificates # buildkit",
        ),
        layer(
            "tools",
            40_600_000,
            "RUN /bin/sh -c apt-get install -y build-essential # buildkit",
        ),
        layer(
            "app",
            4_000_000,
            "COPY target/release/api /usr/local/bin/api # buildkit",
        ),
    ];
    api.metrics.layers = Some(4);
    against(
        &mut api,
        137_000_000,
        vec![
            layer(
                "debian",
                74_800_000,
                "/bin/sh -c #(nop) ADD file:4b03b5f551e3fbdf47ec609712007327828f7530cc3455c43bbcdcaf449a75a9 in / ",
            ),
            layer(
                "deps",
                30_000_000,
                "RUN /bin/sh -c apt-get update && apt-get install -y ca-certificates # buildkit",
            ),
            layer(
                "curl",
                28_200_000,
                "RUN /bin/sh -c apt-get install -y curl # buildkit",
            ),
            layer(
                "app-old",
                4_000_000,
                "COPY target/release/api /usr/local/bin/api # buildkit",
            ),
        ],
    );
    api.findings.push(Finding {
        code: BudgetKey::MaxGrowth,
        metric: Metric::Size,
        limit: 6_850_000,
        actual: Some(12_400_000),
        severity: Severity::Fail,
        message: "grew by 12,400,000 bytes (+9.1%) against the baseline, over the max-growth budget of 5% (at most 6,850,000 bytes)".into(),
    });

    // The base image changed: a new debian, the same application layer.
    let mut worker = image("worker", 81_000_000, Status::Warn);
    worker.budget.warn_growth = Some(Growth::parse("2%").unwrap());
    worker.layer_details = vec![
        layer(
            "debian-12.8",
            77_000_000,
            "/bin/sh -c #(nop) ADD file:aa in / ",
        ),
        layer("worker", 4_000_000, "COPY worker /worker # buildkit"),
    ];
    against(
        &mut worker,
        78_900_000,
        vec![
            layer(
                "debian-12.7",
                74_900_000,
                "/bin/sh -c #(nop) ADD file:bb in / ",
            ),
            layer("worker", 4_000_000, "COPY worker /worker # buildkit"),
        ],
    );
    worker.findings.push(finding(
        "warn-growth",
        Severity::Warn,
        "grew by 2,100,000 bytes (+2.7%) against the baseline, over the warn-growth mark of 2% (at most 1,578,000 bytes)",
    ));

    // Shrank: no section.
    let mut slim = image("slim", 2_000_500, Status::Pass);
    against(&mut slim, 2_500_000, Vec::new());

    // Grew, but the baseline has no layer list (a registry baseline).
    let mut legacy = image("legacy", 60_000_000, Status::Pass);
    legacy.layer_details = vec![
        layer("l1", 50_000_000, "ADD rootfs.tar /"),
        layer("l2", 10_000_000, "COPY app /app"),
    ];
    against(&mut legacy, 59_000_000, Vec::new());

    // New and over its budget.
    let mut edge = image("edge", 230_000_000, Status::Fail);
    edge.layer_details = vec![
        layer("e1", 80_000_000, "ADD rootfs.tar /"),
        layer("e2", 150_000_000, "COPY models/ /models"),
    ];
    edge.findings.push(finding(
        "max-size",
        Severity::Fail,
        "size 230.0 MB is over the max-size budget of 200.0 MB by 30,000,000 bytes",
    ));
    edge.notes
        .push("no baseline `ghcr.io/acme/edge:main`: judged as new".into());

    let mut gone = image("gone", 0, Status::Error);
    gone.metrics.size = None;
    gone.metrics.layers = None;
    gone.platform = None;
    gone.source = None;
    gone.error =
        Some("image `ghcr.io/acme/gone:pr-7` is not in the local engine or its registry".into());

    // A multi-platform pair, compressed sizes known (one estimated).
    let mut amd = image("multi", 30_000_000, Status::Pass);
    amd.metrics.compressed = Some(12_000_000);
    amd.budget.max_compressed = Some(15_000_000);
    let mut arm = image("multi", 29_000_000, Status::Pass);
    arm.platform = Some("linux/arm64".into());
    arm.metrics.compressed = Some(11_500_000);
    arm.metrics.compressed_estimated = true;
    arm.budget.max_compressed = Some(15_000_000);
    against(&mut amd, 30_000_000, Vec::new());
    against(&mut arm, 28_000_000, Vec::new());

    Report::new(vec![api, worker, slim, legacy, edge, gone, amd, arm])
}

// ---------------------------------------------------------------- comment

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

/// A comment id the tests name.
fn cid(id: &str) -> CommentId {
    id.parse().unwrap()
}

const HOSTILE: &[&str] = &[
    "a|b",
    "<img src=x onerror=alert(1)>",
    "`rm -rf /`",
    "*bold* and _it_",
    "[x](https://evil.example)",
    "line\nbreak\r\n| injected | row |",
    "<!-- open",
    "close -->",
    "</details></summary>",
    "@acme/security #1",
    "back\\|slash",
];

fn hostile_report() -> Report {
    let mut images = Vec::new();
    for (i, text) in HOSTILE.iter().enumerate() {
        let mut img = image(&format!("{text}{i}"), 150_000_000, Status::Fail);
        img.reference = format!("ghcr.io/{text}:{i}");
        img.platform = Some(format!("linux/{text}"));
        img.layer_details = vec![
            layer("same", 100_000_000, text),
            layer(&format!("new{i}"), 50_000_000, &format!("RUN {text}")),
        ];
        against(
            &mut img,
            120_000_000,
            vec![
                layer("same", 100_000_000, text),
                layer(&format!("old{i}"), 20_000_000, &format!("COPY {text}")),
            ],
        );
        img.findings.push(finding(
            "max-size",
            Severity::Fail,
            &format!("size over: {text}"),
        ));
        img.findings.push(finding(
            "warn-size",
            Severity::Warn,
            &format!("warn: {text}"),
        ));
        img.notes.push(format!("note: {text}"));
        images.push(img);
        // The same image on a second platform, which could not be measured:
        // the platform shows in its name.
        let mut broken = image(&format!("{text}{i}"), 0, Status::Error);
        broken.platform = Some(format!("{text}/arm64"));
        broken.metrics.size = None;
        broken.error = Some(format!("cannot reach {text}"));
        images.push(broken);
    }
    Report::new(images)
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

/// `count` images with long hostile names, 40 layers each (half of them new
/// against the baseline), three findings and a note.
fn huge_report(count: usize, name_len: usize) -> Report {
    let mut images = Vec::new();
    for i in 0..count {
        let filler: String = HOSTILE.concat().chars().cycle().take(name_len).collect();
        let name = format!("svc-{filler}-{i:04}");
        let mut img = image(&name, 300_000_000 + i as u64, Status::Fail);
        img.budget.max_layers = Some(30);
        img.budget.max_growth = Some(Growth::parse("5%").unwrap());
        let layers = |prefix: &str| -> Vec<Layer> {
            (0..40)
                .map(|n| {
                    let digest = if n < 20 {
                        format!("shared-{n}")
                    } else {
                        format!("{prefix}-{i}-{n}")
                    };
                    layer(
                        &digest,
                        5_000_000 + n,
                        &format!("RUN {} {n}", HOSTILE.concat().repeat(3)),
                    )
                })
                .collect()
        };
        img.layer_details = layers("new");
        against(&mut img, 250_000_000, layers("old"));
        for code in ["max-size", "max-layers", "max-growth"] {
            img.findings.push(finding(
                code,
                Severity::Fail,
                &format!("{code} exceeded by {i} bytes: {}", HOSTILE[1]),
            ));
        }
        img.notes.push(format!("note {i}: {}", HOSTILE[8]));
        images.push(img);
    }
    Report::new(images)
}

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

#[test]
fn formats_parse_by_their_documented_names() {
    use clap::ValueEnum;
    for (name, format) in [
        ("table", Format::Table),
        ("json", Format::Json),
        ("markdown", Format::Markdown),
        ("junit", Format::Junit),
        ("github", Format::Github),
        ("gitlab-metrics", Format::GitlabMetrics),
    ] {
        assert_eq!(Format::from_str(name, false), Ok(format));
    }
    assert!(Format::from_str("comment", false).is_err());
}
