//! Sets counted from hand-made layer lists.

use super::*;
use crate::model::{Baseline, Budget, BudgetKey, Severity};
use crate::size::Growth;

fn layer(digest: &str, size: u64, blob: u64) -> Layer {
    Layer {
        digest: format!("sha256:{digest}"),
        blob: Some(format!("sha256:blob-{digest}")),
        size: Some(size),
        compressed: Some(blob),
        instruction: None,
    }
}

fn row(name: &str, layers: Vec<Layer>) -> ImageResult {
    let size = layers.iter().filter_map(|l| l.size).sum();
    ImageResult {
        name: name.into(),
        reference: format!("acme/{name}:dev"),
        source: Some("daemon".into()),
        digest: Some(format!("sha256:image-{name}")),
        platform: Some("linux/amd64".into()),
        metrics: Metrics {
            size: Some(size),
            layers: Some(layers.len() as u64),
            ..Metrics::default()
        },
        baseline: None,
        delta: None,
        status: Status::Pass,
        findings: Vec::new(),
        error: None,
        budget: Budget::default(),
        baseline_error: None,
        layer_details: layers,
        notes: Vec::new(),
        history: Vec::new(),
        explanation: None,
        layer_change: None,
    }
}

fn with_baseline(mut r: ImageResult, layers: Vec<Layer>) -> ImageResult {
    r.baseline = Some(Baseline {
        reference: format!("acme/{}:main", r.name),
        source: "reference".into(),
        commit: None,
        digest: Some(format!("sha256:main-{}", r.name)),
        metrics: Metrics::default(),
        layer_details: layers,
        history: Vec::new(),
    });
    r
}

fn plan(names: &[&str], budget: Budget) -> SetPlan {
    SetPlan {
        name: "node".into(),
        images: names.iter().map(ToString::to_string).collect(),
        budget,
    }
}

fn member<'a>(set: &'a SetResult, name: &str) -> &'a SetMember {
    set.members.iter().find(|m| m.name == name).unwrap()
}

#[test]
fn a_shared_base_is_counted_once_and_each_image_knows_its_shared_and_unique_bytes() {
    let base = || vec![layer("os", 100, 40), layer("runtime", 50, 20)];
    let mut api = base();
    api.push(layer("api", 7, 3));
    let mut web = base();
    web.push(layer("web", 9, 4));
    // The same diff ID on another base is another chain: stored twice.
    let worker = vec![layer("alpine", 30, 10), layer("runtime", 50, 20)];
    let rows = vec![row("api", api), row("web", web), row("worker", worker)];
    let sets = judge_sets(&[plan(&["api", "web", "worker"], Budget::default())], &rows);
    assert_eq!(sets.len(), 1);
    let s = &sets[0];
    assert_eq!(s.now.size, Some(100 + 50 + 7 + 9 + 30 + 50));
    assert_eq!(s.now.compressed, Some(40 + 20 + 3 + 4 + 10 + 20));
    assert_eq!(s.now.separate, Some(157 + 159 + 80));
    assert_eq!(s.layers, Some(6));
    assert_eq!(s.status, Status::Pass);
    assert_eq!(s.platform.as_deref(), Some("linux/amd64"));
    let api = member(s, "api");
    assert_eq!((api.shared, api.unique), (Some(150), Some(7)));
    let worker = member(s, "worker");
    assert_eq!((worker.shared, worker.unique), (Some(0), Some(80)));
}

#[test]
fn two_names_of_one_image_are_one_image_as_the_engine_counts_them() {
    let layers = vec![layer("os", 100, 40)];
    let mut a = row("a", layers.clone());
    let mut b = row("b", layers);
    b.digest = a.digest.clone();
    a.platform = None;
    b.platform = None;
    let sets = judge_sets(&[plan(&["a", "b"], Budget::default())], &[a, b]);
    let s = &sets[0];
    assert_eq!(s.now.size, Some(100));
    assert_eq!(
        (member(s, "a").shared, member(s, "a").unique),
        (Some(0), Some(100))
    );
}

#[test]
fn a_set_is_judged_on_its_budgets_and_its_growth_and_names_broken_sharing() {
    let base = || vec![layer("os", 1000, 400)];
    let old_web = {
        let mut l = base();
        l.push(layer("web", 10, 5));
        l
    };
    let mut api_layers = base();
    api_layers.push(layer("api", 20, 8));
    // web moved off the shared base.
    let new_web = vec![layer("other-os", 900, 350), layer("web", 10, 5)];
    let api = with_baseline(row("api", api_layers.clone()), api_layers);
    let web = with_baseline(row("web", new_web), old_web);
    let budget = Budget {
        max_size: Some(1500),
        max_growth: Some(Growth::parse("5%").unwrap()),
        ..Budget::default()
    };
    let sets = judge_sets(&[plan(&["api", "web"], budget)], &[api, web]);
    let s = &sets[0];
    assert_eq!(s.baseline.as_ref().unwrap().size, Some(1030));
    assert_eq!(s.now.size, Some(1930));
    assert_eq!(s.delta.as_ref().unwrap().size, Some(900));
    assert_eq!(s.status, Status::Fail);
    let codes: Vec<BudgetKey> = s.findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, [BudgetKey::MaxSize, BudgetKey::MaxGrowth]);
    let web = member(s, "web");
    assert_eq!(web.baseline_shared, Some(1000));
    assert_eq!(web.shared, Some(0));
    assert_eq!(web.stopped_sharing_with, ["api"]);
    assert!(
        member(s, "api")
            .stopped_sharing_with
            .contains(&"web".to_string())
    );
}

#[test]
fn an_image_that_could_not_be_measured_makes_the_set_an_error_never_a_pass() {
    let mut broken = row("web", Vec::new());
    broken.status = Status::Error;
    broken.metrics = Metrics::default();
    broken.platform = None;
    broken.error = Some("image `acme/web:dev` is not in the local engine\n  hint: ...".into());
    let sets = judge_sets(
        &[plan(&["api", "web"], Budget::default())],
        &[row("api", vec![layer("os", 1, 1)]), broken],
    );
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].status, Status::Error);
    assert_eq!(
        sets[0].error.as_deref(),
        Some("`web` could not be measured: image `acme/web:dev` is not in the local engine")
    );
    // A failed baseline makes the growth budgets errors.
    let mut api = row("api", vec![layer("os", 1, 1)]);
    api.baseline_error = Some("registry answered 503".into());
    let budget = Budget {
        max_growth: Some(Growth::Bytes(10)),
        ..Budget::default()
    };
    let sets = judge_sets(&[plan(&["api"], budget)], &[api]);
    assert_eq!(sets[0].status, Status::Error);
    assert_eq!(sets[0].findings[0].severity, Severity::Error);
    // A set whose images are not all here (another shard) is left out.
    assert!(
        judge_sets(
            &[plan(&["api", "gone"], Budget::default())],
            &[row("api", vec![])]
        )
        .is_empty()
    );
}

#[test]
fn each_platform_makes_its_own_row() {
    let mut amd = row("api", vec![layer("os-amd", 10, 5)]);
    let mut arm = row("api", vec![layer("os-arm", 11, 6)]);
    amd.platform = Some("linux/amd64".into());
    arm.platform = Some("linux/arm64".into());
    let mut web_amd = row("web", vec![layer("os-amd", 10, 5)]);
    web_amd.platform = Some("linux/amd64".into());
    let sets = judge_sets(
        &[plan(&["api", "web"], Budget::default())],
        &[amd, arm, web_amd],
    );
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[0].now.size, Some(10));
    assert_eq!(sets[1].platform.as_deref(), Some("linux/arm64"));
    assert_eq!(sets[1].status, Status::Error, "web has no arm64 row");
}
