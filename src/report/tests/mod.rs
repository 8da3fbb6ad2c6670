//! Tests of the renderers, one file per renderer, over one set of report
//! fixtures (here): the images a pull request's run reports, and the same
//! images as a local run names them.

use super::*;
use crate::model::{
    Baseline, Budget, BudgetKey, CommentId, Delta, Finding, ImageResult, Layer, Metric, Metrics,
    Report, Severity, Status,
};
use crate::size::Growth;

mod annotations;
mod comment;
mod json;
mod junit;
mod markdown;
mod metrics;
mod table;

pub(super) fn layer(digest: &str, size: u64, instruction: &str) -> Layer {
    Layer {
        digest: format!("sha256:{digest}"),
        blob: None,
        size: Some(size),
        compressed: None,
        instruction: Some(instruction.to_string()),
    }
}

pub(super) fn image(name: &str, size: u64, status: Status) -> ImageResult {
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
        baseline_error: None,
        layer_details: Vec::new(),
        notes: Vec::new(),
        history: Vec::new(),
        explanation: None,
        layer_change: None,
    }
}

/// The same image as a local run names it (`acme/NAME:1.0`, 3 layers, a
/// 20 MB and 5-layer budget): what the table and markdown tests show.
pub(super) fn local(name: &str, size: u64, status: Status) -> ImageResult {
    let mut local = image(name, size, status);
    local.reference = format!("acme/{name}:1.0");
    local.digest = Some("sha256:0123".into());
    local.metrics.layers = Some(3);
    local.budget = Budget {
        max_size: Some(20_000_000),
        max_layers: Some(5),
        ..Budget::default()
    };
    local
}

/// Gives `image` a baseline of `size` bytes with `layers`, and the delta.
pub(super) fn against(image: &mut ImageResult, size: u64, layers: Vec<Layer>) {
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

pub(super) fn finding(code: &str, severity: Severity, message: &str) -> Finding {
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
pub(super) fn ci_sample() -> Report {
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

/// A comment id the tests name.
pub(super) fn cid(id: &str) -> CommentId {
    id.parse().unwrap()
}

pub(super) const HOSTILE: &[&str] = &[
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

pub(super) fn hostile_report() -> Report {
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

/// `count` images with long hostile names, 40 layers each (half of them new
/// against the baseline), three findings and a note.
pub(super) fn huge_report(count: usize, name_len: usize) -> Report {
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

pub(super) fn sample() -> Report {
    let slim = local("slim", 2_000_500, Status::Pass);
    let mut api = local("api", 14_000_000, Status::Warn);
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
    api.budget.max_growth = Some(Growth::parse("5%").unwrap());
    api.findings.push(Finding {
        code: BudgetKey::WarnGrowth,
        metric: Metric::Size,
        limit: 270_000,
        actual: Some(500_000),
        severity: Severity::Warn,
        message: "grew by 500,000 bytes (+3.7%) against the baseline, over the warn-growth mark of 2% (at most 270,000 bytes)".into(),
    });
    let mut bloated = local("bloated|<b>`x`", 47_000_000, Status::Fail);
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
    let mut gone = local("gone", 0, Status::Error);
    gone.metrics.size = None;
    gone.metrics.layers = None;
    gone.error = Some("image `acme/gone:1.0` is not in the local engine".into());
    Report::new(vec![slim, api, bloated, gone])
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
