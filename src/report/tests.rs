use super::*;
use crate::model::{
    Baseline, Budget, BudgetKey, Delta, Finding, ImageResult, Layer, Metric, Metrics, Report,
    Severity, Status,
};

fn image(name: &str, size: u64, status: Status) -> ImageResult {
    ImageResult {
        name: name.into(),
        reference: format!("acme/{name}:1.0"),
        source: Some("daemon".into()),
        digest: Some("sha256:0123".into()),
        platform: Some("linux/amd64".into()),
        metrics: Metrics {
            size: Some(size),
            compressed: None,
            compressed_estimated: false,
            layers: Some(3),
            wasted: None,
        },
        baseline: None,
        delta: None,
        status,
        findings: Vec::new(),
        error: None,
        budget: Budget {
            max_size: Some(20_000_000),
            max_layers: Some(5),
            ..Budget::default()
        },
        layer_details: Vec::new(),
        notes: Vec::new(),
        history: Vec::new(),
        explanation: None,
        layer_change: None,
    }
}

fn sample() -> Report {
    let slim = image("slim", 2_000_500, Status::Pass);
    let mut api = image("api", 14_000_000, Status::Warn);
    api.baseline = Some(Baseline {
        reference: "acme/api:main".into(),
        source: "reference".into(),
        commit: None,
        digest: None,
        metrics: Metrics {
            size: Some(13_500_000),
            compressed: None,
            layers: Some(3),
            ..Metrics::default()
        },
        layer_details: Vec::new(),
        history: Vec::new(),
    });
    api.delta = Some(Delta {
        size: Some(500_000),
        compressed: None,
        layers: Some(0),
        size_percent: Some(3.7037),
    });
    api.budget.max_growth = Some(crate::size::Growth::parse("5%").unwrap());
    api.findings.push(Finding {
        code: BudgetKey::WarnGrowth,
        metric: Metric::Size,
        limit: 270_000,
        actual: Some(500_000),
        severity: Severity::Warn,
        message: "grew by 500,000 bytes (+3.7%) against the baseline, over the warn-growth mark of 2% (at most 270,000 bytes)".into(),
    });
    let mut bloated = image("bloated|<b>`x`", 47_000_000, Status::Fail);
    bloated.layer_details = vec![
        Layer {
            digest: "sha256:1".into(),
            blob: None,
            size: Some(2_000_000),
            compressed: None,
            instruction: Some("COPY app /app/app".into()),
        },
        Layer {
            digest: "sha256:2".into(),
            blob: None,
            size: Some(40_000_000),
            compressed: None,
            instruction: Some("COPY toolchain /opt/<toolchain>".into()),
        },
        Layer {
            digest: "sha256:3".into(),
            blob: None,
            size: Some(0),
            compressed: None,
            instruction: None,
        },
        Layer {
            digest: "sha256:4".into(),
            blob: None,
            size: Some(5_000_000),
            compressed: None,
            instruction: None,
        },
    ];
    bloated.findings.push(Finding {
        code: BudgetKey::MaxSize,
        metric: Metric::Size,
        limit: 20_000_000,
        actual: Some(47_000_000),
        severity: Severity::Fail,
        message: "size 47.0 MB is over the max-size budget of 20.0 MB by 27,000,000 bytes".into(),
    });
    let mut gone = image("gone", 0, Status::Error);
    gone.metrics.size = None;
    gone.metrics.layers = None;
    gone.error = Some("image `acme/gone:1.0` is not in the local engine".into());
    Report::new(vec![slim, api, bloated, gone])
}

#[test]
fn verdict_counts_what_matters() {
    let report = sample();
    assert_eq!(
        verdict(&report),
        "1 of 4 images over budget; 1 of 4 images could not be checked; 1 near the limit"
    );
    let ok = Report::new(vec![image("a", 1, Status::Pass)]);
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
fn markdown_snapshot_escapes_names() {
    let text = render(&sample(), Format::Markdown, false);
    assert!(!text.contains("<b>"), "{text}");
    assert!(text.contains("bloated\\|&lt;b&gt;\\`x\\`"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn json_round_trips_with_the_documented_fields() {
    let report = sample();
    let text = render(&report, Format::Json, false);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["schema"], "image-budget/report/v1");
    assert_eq!(value["passed"], false);
    let api = &value["images"][1];
    for field in [
        "name",
        "ref",
        "source",
        "digest",
        "platform",
        "size",
        "compressed",
        "compressed_estimated",
        "layers",
        "wasted",
        "baseline",
        "delta",
        "status",
        "findings",
        "error",
    ] {
        assert!(api.get(field).is_some(), "missing {field}");
    }
    assert_eq!(api["size"], 14_000_000);
    assert_eq!(api["compressed"], serde_json::Value::Null);
    assert_eq!(api["baseline"]["ref"], "acme/api:main");
    assert_eq!(api["delta"]["size"], 500_000);
    assert_eq!(api["status"], "warn");
    assert_eq!(api["budget"]["max_growth"], "5%");
    assert_eq!(api["findings"][0]["code"], "warn-growth");
    assert_eq!(api["findings"][0]["severity"], "warn");
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report);
}

#[test]
fn compressed_and_platform_rows_show_when_present() {
    let mut arm = image("multi", 1_000, Status::Pass);
    arm.platform = Some("linux/arm64".into());
    arm.metrics.compressed = Some(600);
    let mut amd = image("multi", 1_100, Status::Pass);
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
