//! Baselines at the right commit: the merge base of the branch with main,
//! and its nearest ancestor on main that has an image or report.

mod common;

use std::path::Path;

use common::*;

/// main: A - B - C;  feature: B - F (checked out). Returns (A, B, C).
fn repository(dir: &Path) -> (String, String, String) {
    git(dir, &["init", "-q", "-b", "main"]);
    let commit = |message: &str| {
        git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
        git(dir, &["rev-parse", "HEAD"])
    };
    let a = commit("A");
    let b = commit("B");
    git(dir, &["checkout", "-q", "-b", "feature"]);
    commit("F");
    git(dir, &["checkout", "-q", "main"]);
    let c = commit("C");
    git(dir, &["checkout", "-q", "feature"]);
    (a, b, c)
}

fn config(dir: &Path, current: &Image, repo: &str, tag: &str) {
    std::fs::write(
        dir.join("budgets.toml"),
        format!(
            "[defaults]\nbaseline = \"docker-daemon:{repo}:{tag}\"\nmax-growth = \"10%\"\n\n[images.api]\nref = \"{}\"\n",
            current.tag
        ),
    )
    .unwrap();
}

#[test]
fn the_merge_base_image_is_the_baseline_and_an_ancestor_stands_in_for_a_missing_one() {
    require_engine();
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = repository(dir.path());
    let repo = format!("image-budget-test/merge-base-{}", std::process::id());
    let current = build("mb-current", &[("app", 110_000)]);
    let at_a = build("mb-a", &[("app", 90_000)]);
    let at_b = build("mb-b", &[("app", 100_000)]);
    let at_c = build("mb-c", &[("app", 200_000)]);
    let _a = retag(&at_a, &format!("{repo}:{a}"));
    let b_tag = retag(&at_b, &format!("{repo}:{b}"));
    let _c = retag(&at_c, &format!("{repo}:{c}"));
    config(dir.path(), &current, &repo, "{merge-base}");

    // B is where the branch left main: C, which landed on main later, is not ours.
    let out = budget_env(
        dir.path(),
        &["check", "--format", "json"],
        &[("GITHUB_BASE_REF", "main")],
    );
    assert_exit(&out, 0);
    let report = json(&out);
    let api = row(&report, "api");
    assert_eq!(api["baseline"]["commit"], b.as_str());
    assert_eq!(
        api["baseline"]["ref"],
        format!("docker-daemon:{repo}:{b}").as_str()
    );
    assert_eq!(api["baseline"]["size"], 100_000);
    assert_eq!(api["delta"]["size"], 10_000);

    // No image for B: its ancestor A on main stands in, and growth is judged against it.
    drop(b_tag);
    let out = budget_env(
        dir.path(),
        &["check", "--format", "json"],
        &[("GITHUB_BASE_REF", "main")],
    );
    assert_exit(&out, 1);
    let report = json(&out);
    let api = row(&report, "api");
    assert_eq!(api["baseline"]["commit"], a.as_str());
    assert_eq!(api["baseline"]["size"], 90_000);
    assert_eq!(api["findings"][0]["code"], "max-growth");

    // Short commits, as CI tags often are; the target branch from GitLab's variable.
    let _short = retag(&at_b, &format!("{repo}:sha-{}", &b[..8]));
    config(dir.path(), &current, &repo, "sha-{merge-base:8}");
    let out = budget_env(
        dir.path(),
        &["check", "--format", "json"],
        &[
            ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
            ("GITHUB_BASE_REF", ""),
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(row(&json(&out), "api")["baseline"]["commit"], b.as_str());

    // No image at any ancestor: new, judged by absolute budgets only, and said so.
    config(dir.path(), &current, &repo, "none-{merge-base}");
    let out = budget_env(
        dir.path(),
        &["check", "--format", "json"],
        &[("GITHUB_BASE_REF", "main")],
    );
    assert_exit(&out, 0);
    let report = json(&out);
    let note = row(&report, "api")["notes"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        note.contains(&format!("for the merge base {}", &b[..12])),
        "{note}"
    );
    assert!(note.contains("or its 1 ancestors on main"), "{note}");
}

#[test]
fn a_report_per_commit_is_found_the_same_way() {
    require_engine();
    let dir = tempfile::tempdir().unwrap();
    let (a, _b, _c) = repository(dir.path());
    let current = build("mb-report", &[("app", 5_000)]);
    std::fs::write(
        dir.path().join("budgets.toml"),
        format!(
            "[images.api]\nref = \"{}\"\nmax-growth = \"5%\"\n",
            current.tag
        ),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("reports")).unwrap();
    let saved = format!(
        r#"{{"schema": "image-budget/report/v1", "passed": true, "images": [
        {{"name": "api", "ref": "acme/api:{a}", "source": "daemon", "digest": "sha256:1",
          "platform": "linux/amd64", "size": 4000, "compressed": null, "layers": 1,
          "wasted": null, "baseline": null, "delta": null, "status": "pass",
          "findings": [], "error": null}}]}}"#
    );
    std::fs::write(dir.path().join(format!("reports/{a}.json")), saved).unwrap();
    let out = budget_env(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--baseline",
            "reports/{merge-base}.json",
        ],
        &[("GITHUB_BASE_REF", "main")],
    );
    assert_exit(&out, 1);
    let report = json(&out);
    let api = row(&report, "api");
    assert_eq!(api["baseline"]["source"], "report");
    assert_eq!(api["baseline"]["commit"], a.as_str());
    assert_eq!(api["delta"]["size"], 1_000);
    assert!(stderr(&out).contains(&format!("commit {a}")));
}

#[test]
fn a_shallow_clone_says_how_much_history_to_fetch() {
    require_engine();
    let origin = tempfile::tempdir().unwrap();
    repository(origin.path());
    let work = tempfile::tempdir().unwrap();
    let url = format!("file://{}", origin.path().display());
    git(
        work.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            "--no-single-branch",
            "--branch",
            "feature",
            &url,
            ".",
        ],
    );
    let current = build("mb-shallow", &[("app", 10)]);
    config(
        work.path(),
        &current,
        "image-budget-test/shallow",
        "{merge-base}",
    );
    let out = budget_env(
        work.path(),
        &["check", "--format", "json"],
        &[("GITHUB_BASE_REF", "main")],
    );
    assert_exit(&out, 2);
    let report = json(&out);
    // The image was measured; the growth budget could not be checked.
    let api = row(&report, "api");
    assert_eq!(api["status"], "error");
    assert_eq!(api["size"], 10);
    assert_eq!(api["findings"][0]["code"], "max-growth");
    assert_eq!(api["findings"][0]["severity"], "error");
    let message = api["findings"][0]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("no commit in common in this shallow"),
        "{message}"
    );
    assert!(
        message.contains("git fetch --deepen=200 origin main"),
        "{message}"
    );
    assert!(message.contains("fetch-depth: 0"), "{message}");

    // Outside a repository, {merge-base} means nothing: a clear error too.
    let plain = tempfile::tempdir().unwrap();
    config(
        plain.path(),
        &current,
        "image-budget-test/shallow",
        "{merge-base}",
    );
    let out = budget(plain.path(), &["check", "--format", "json"]);
    assert_exit(&out, 2);
    let message = row(&json(&out), "api")["findings"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("is not a git checkout"), "{message}");
}

#[test]
fn on_the_default_branch_the_baseline_is_the_previous_main_commit() {
    require_engine();
    let dir = tempfile::tempdir().unwrap();
    let (_a, b, c) = repository(dir.path());
    git(dir.path(), &["checkout", "-q", "main"]);
    let repo = format!("image-budget-test/main-run-{}", std::process::id());
    // Sizes no other test builds: the legacy builder shares a cached layer
    // between identical COPY steps, and another test removing its image
    // would remove that layer under this build.
    let current = build("mb-main-current", &[("app", 120_017)]);
    let at_b = build("mb-main-b", &[("app", 100_017)]);
    // The main job pushed its own image for HEAD (C) before checking it.
    let _b = retag(&at_b, &format!("{repo}:{b}"));
    let _c = retag(&current, &format!("{repo}:{c}"));
    config(dir.path(), &current, &repo, "{merge-base}");

    // A push to main in GitHub Actions, and the same from the checkout alone.
    for env in [
        vec![("GITHUB_BASE_REF", ""), ("GITHUB_REF", "refs/heads/main")],
        vec![("GITHUB_BASE_REF", ""), ("GITHUB_REF", "")],
    ] {
        let out = budget_env(dir.path(), &["check", "--format", "json"], &env);
        assert_exit(&out, 1);
        let report = json(&out);
        let api = row(&report, "api");
        assert_eq!(api["baseline"]["commit"], b.as_str(), "{env:?}");
        assert_eq!(api["delta"]["size"], 20_000, "{env:?}");
        assert_eq!(api["findings"][0]["code"], "max-growth");
    }

    // A merge request pipeline of main into something else is not a main run.
    let out = budget_env(
        dir.path(),
        &["check", "--format", "json"],
        &[
            ("GITHUB_BASE_REF", ""),
            ("CI_MERGE_REQUEST_IID", "7"),
            ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main"),
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(row(&json(&out), "api")["baseline"]["commit"], c.as_str());
}
