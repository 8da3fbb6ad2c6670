//! Whole runs as CI systems make them: `budget check` twice in a simulated
//! GitHub pull-request job and a simulated GitLab merge-request job (their
//! environment variables and event file; the APIs faked on 127.0.0.1), then
//! the two-step flow for forks. Images come from the embedded OCI layout, so
//! no engine is needed.

mod common;

#[path = "fakes/github.rs"]
mod github_fake;
#[path = "fakes/gitlab.rs"]
mod gitlab_fake;

use std::path::Path;

use common::*;
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

/// slim (passes) and bloated (over budget), from examples/oci.
fn config(dir: &Path, slim_budget: &str) {
    let layout = repo_root().join("examples/oci");
    std::fs::write(
        dir.join("budgets.toml"),
        format!(
            "[images.slim]\nref = \"oci:{0}:slim\"\nmax-size = \"{slim_budget}\"\n\n[images.bloated]\nref = \"oci:{0}:bloated\"\nmax-size = \"15MB\"\n",
            layout.display()
        ),
    )
    .unwrap();
}

fn github_env<'a>(dir: &'a Path, api: &'a str, summary: &'a str) -> Vec<(&'static str, String)> {
    let event = repo_root().join("tests/fixtures/github/event_pull_request.json");
    let _ = dir;
    vec![
        ("GITHUB_ACTIONS", "true".into()),
        ("GITHUB_EVENT_NAME", "pull_request".into()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("GITHUB_REPOSITORY", "acme/api".into()),
        ("GITHUB_API_URL", api.into()),
        ("GITHUB_TOKEN", github_fake::TOKEN.into()),
        ("GITHUB_STEP_SUMMARY", summary.into()),
        ("GITLAB_CI", String::new()),
    ]
}

fn run(dir: &Path, args: &[&str], env: &[(&'static str, String)]) -> std::process::Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    budget_env(dir, args, &env)
}

fn assert_no_token(out: &std::process::Output, token: &str) {
    assert!(!stdout(out).contains(token), "token in stdout");
    assert!(!stderr(out).contains(token), "token in stderr");
}

#[tokio::test]
async fn a_github_pull_request_run_keeps_one_comment_with_the_latest_report() {
    let (server, fake) = github_fake::Fake::start("").await;
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let env = github_env(dir.path(), &server.uri(), summary.to_str().unwrap());

    config(dir.path(), "15MB");
    let first = run(dir.path(), &["check"], &env);
    assert_exit(&first, 1);
    assert!(
        stderr(&first).contains("budget: comment posted"),
        "{}",
        stderr(&first)
    );
    config(dir.path(), "1MB");
    let second = run(dir.path(), &["check"], &env);
    assert_exit(&second, 1);
    assert!(
        stderr(&second).contains("budget: comment updated"),
        "{}",
        stderr(&second)
    );

    let comments = fake.bodies();
    assert_eq!(comments.len(), 1, "exactly one comment: {comments:#?}");
    let body = &comments[0].1;
    assert!(body.starts_with("<!-- image-budget:default -->"), "{body}");
    assert!(
        body.contains("2 of 2 images over budget"),
        "the second report: {body}"
    );
    let written = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(
        written.matches("<!-- image-budget:default -->").count(),
        2,
        "appended per run"
    );
    assert_no_token(&first, github_fake::TOKEN);
    assert_no_token(&second, github_fake::TOKEN);

    // Hostile image names reach the comment as plain text.
    let layout = repo_root().join("examples/oci");
    std::fs::write(
        dir.path().join("budgets.toml"),
        format!(
            "[images.\"evil|<img src=x onerror=alert(1)>`x`\"]\nref = \"oci:{}:slim\"\n",
            layout.display()
        ),
    )
    .unwrap();
    let hostile = run(dir.path(), &["check"], &env);
    assert_exit(&hostile, 0);
    let body = fake.bodies()[0].1.clone();
    assert!(!body.contains("<img"), "{body}");
    assert!(
        body.contains("evil\\|&lt;img src=x onerror=alert(1)&gt;"),
        "{body}"
    );

    // Another config in the same pull request gets its own comment.
    let third = run(dir.path(), &["check", "--comment-id", "workers"], &env);
    assert_exit(&third, 0);
    assert_eq!(fake.bodies().len(), 2);
    assert!(
        fake.bodies()[1]
            .1
            .starts_with("<!-- image-budget:workers -->")
    );
}

#[tokio::test]
async fn a_read_only_token_only_warns_and_keeps_the_verdict() {
    let (server, fake) = github_fake::Fake::start("").await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(github_fake::fixture("error_403_read_only.json")),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let env = github_env(dir.path(), &server.uri(), summary.to_str().unwrap());
    config(dir.path(), "15MB");
    let out = run(dir.path(), &["check"], &env);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert_eq!(err.matches("warning:").count(), 1, "one warning: {err}");
    assert!(err.contains("read-only token"), "{err}");
    assert!(err.contains("budget publish"), "{err}");
    assert!(fake.bodies().is_empty());
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains("1 of 2 images over budget")
    );
    assert_no_token(&out, github_fake::TOKEN);

    // --no-fail still applies; a comment failure never changes the exit status.
    let quiet = run(dir.path(), &["check", "--no-fail"], &env);
    assert_exit(&quiet, 0);
}

#[tokio::test]
async fn github_refusing_an_over_long_comment_is_one_warning_and_keeps_the_verdict() {
    let (server, fake) = github_fake::Fake::start("").await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(422).set_body_json(github_fake::fixture("error_422.json")),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let env = github_env(dir.path(), &server.uri(), summary.to_str().unwrap());
    config(dir.path(), "15MB");
    let out = run(
        dir.path(),
        &["check", "--format", "json", "--output", "report.json"],
        &env,
    );
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert_eq!(err.matches("warning:").count(), 1, "one warning: {err}");
    assert!(err.contains("422"), "{err}");
    assert!(
        err.contains("budget: FAIL: 1 of 2 images over budget"),
        "{err}"
    );
    assert!(fake.bodies().is_empty());
    // The report and the job summary are whole.
    let report = read_json(&dir.path().join("report.json"));
    assert_eq!(row(&report, "bloated")["status"], "fail");
    assert_eq!(row(&report, "slim")["status"], "pass");
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .contains("1 of 2 images over budget")
    );
    assert_no_token(&out, github_fake::TOKEN);
}

#[tokio::test]
async fn a_local_run_never_posts_and_off_means_off() {
    let (server, fake) = github_fake::Fake::start("").await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), "15MB");
    // Local: no CI variables at all.
    let local = budget_env(
        dir.path(),
        &["check"],
        &[
            ("GITHUB_ACTIONS", ""),
            ("GITLAB_CI", ""),
            ("GITHUB_API_URL", &server.uri()),
        ],
    );
    assert_exit(&local, 1);
    let summary = dir.path().join("summary.md");
    let env = github_env(dir.path(), &server.uri(), summary.to_str().unwrap());
    let off = run(dir.path(), &["check", "--comment", "off"], &env);
    assert_exit(&off, 1);
    assert!(fake.bodies().is_empty());
    assert!(server.received_requests().await.unwrap().is_empty());
    // A bad comment id is a usage error.
    let bad = run(dir.path(), &["check", "--comment-id", "a b"], &env);
    assert_exit(&bad, 2);
}

#[tokio::test]
async fn a_gitlab_merge_request_run_keeps_one_note_with_the_latest_report() {
    let (server, fake) = gitlab_fake::Fake::start("42", true).await;
    let dir = tempfile::tempdir().unwrap();
    let env: Vec<(&'static str, String)> = vec![
        ("GITLAB_CI", "true".into()),
        ("GITHUB_ACTIONS", String::new()),
        ("GITHUB_STEP_SUMMARY", String::new()),
        ("CI_API_V4_URL", format!("{}/api/v4", server.uri())),
        ("CI_PROJECT_ID", "42".into()),
        ("CI_MERGE_REQUEST_IID", gitlab_fake::IID.to_string()),
        ("GITLAB_TOKEN", gitlab_fake::TOKEN.into()),
    ];
    config(dir.path(), "15MB");
    let first = run(
        dir.path(),
        &["check", "--format", "junit", "--output", "junit.xml"],
        &env,
    );
    assert_exit(&first, 1);
    config(dir.path(), "1MB");
    let second = run(dir.path(), &["check"], &env);
    assert_exit(&second, 1);
    let notes = fake.bodies();
    assert_eq!(notes.len(), 1, "exactly one note: {notes:#?}");
    assert!(
        notes[0].1.contains("2 of 2 images over budget"),
        "{}",
        notes[0].1
    );
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(junit.contains("<testsuite"), "{junit}");
    assert_no_token(&first, gitlab_fake::TOKEN);
    assert_no_token(&second, gitlab_fake::TOKEN);
}

#[tokio::test]
async fn the_two_step_flow_posts_a_saved_report_from_a_trusted_job() {
    let (server, fake) = github_fake::Fake::start("").await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), "15MB");
    // Untrusted job: check, save the report, no comment (a fork's token).
    let checked = budget_env(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--output",
            "report.json",
            "--comment",
            "off",
        ],
        &[("GITHUB_ACTIONS", "true")],
    );
    assert_exit(&checked, 1);
    // Someone pasted our marker with a forged verdict: it is not ours.
    let strangers = "<!-- image-budget:default -->\n✅ all images within budget".to_string();
    fake.seed_by("mallory", std::slice::from_ref(&strangers));
    // Trusted job: a workflow_run event names the pull request.
    let summary = dir.path().join("summary.md");
    let mut env = github_env(dir.path(), &server.uri(), summary.to_str().unwrap());
    let event = repo_root().join("tests/fixtures/github/event_workflow_run.json");
    env.retain(|(k, _)| *k != "GITHUB_EVENT_NAME" && *k != "GITHUB_EVENT_PATH");
    env.push(("GITHUB_EVENT_NAME", "workflow_run".into()));
    env.push(("GITHUB_EVENT_PATH", event.display().to_string()));
    let published = run(dir.path(), &["publish", "report.json"], &env);
    assert_exit(&published, 0);
    let bodies = fake.bodies();
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies[0].1, strangers,
        "the stranger's comment is untouched"
    );
    assert!(bodies[1].1.contains("1 of 2 images over budget"));
    // Again: still one comment of ours.
    let again = run(dir.path(), &["publish", "report.json"], &env);
    assert_exit(&again, 0);
    assert_eq!(fake.bodies().len(), 2);
    // A fork's workflow_run names no pull request: --pr does.
    let fork_event = repo_root().join("tests/fixtures/github/event_workflow_run_fork.json");
    env.retain(|(k, _)| *k != "GITHUB_EVENT_PATH");
    env.push(("GITHUB_EVENT_PATH", fork_event.display().to_string()));
    let nowhere = run(dir.path(), &["publish", "report.json"], &env);
    assert_exit(&nowhere, 2);
    assert!(
        stderr(&nowhere).contains("pass --pr NUMBER"),
        "{}",
        stderr(&nowhere)
    );
    let by_number = run(dir.path(), &["publish", "report.json", "--pr", "7"], &env);
    assert_exit(&by_number, 0);
    assert_eq!(fake.bodies().len(), 2);
    assert_no_token(&published, github_fake::TOKEN);

    // A fork's artifact naming someone else's pull request: that pull
    // request is not at the commit the run was made at, so nothing is posted.
    fake.heads
        .lock()
        .unwrap()
        .insert(8, "77aa77aa77aa77aa77aa77aa77aa77aa77aa77aa".into());
    let aimed = run(dir.path(), &["publish", "report.json", "--pr", "8"], &env);
    assert_exit(&aimed, 2);
    assert!(
        stderr(&aimed).contains(&format!(
            "refusing to post: the report was made at commit {}, but the pull request is at 77aa77aa",
            github_fake::HEAD_SHA
        )),
        "{}",
        stderr(&aimed)
    );
    assert!(
        !server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| r.url.path().contains("/issues/8/")),
        "pull request 8's comments were never touched"
    );
    // The event's commit wins over the artifact's own claim.
    let mut forged = read_json(&dir.path().join("report.json"));
    forged["commit"] = serde_json::json!("77aa77aa77aa77aa77aa77aa77aa77aa77aa77aa");
    std::fs::write(dir.path().join("forged.json"), forged.to_string()).unwrap();
    let forged = run(dir.path(), &["publish", "forged.json", "--pr", "8"], &env);
    assert_exit(&forged, 2);
    assert!(stderr(&forged).contains("refusing to post"));

    // Outside a workflow_run job, the report's own commit is compared; a
    // report that names none is refused.
    let mut env = github_env(dir.path(), &server.uri(), summary.to_str().unwrap());
    env.retain(|(k, _)| *k != "GITHUB_EVENT_NAME");
    env.push(("GITHUB_EVENT_NAME", "push".into()));
    let mut bare = read_json(&dir.path().join("report.json"));
    bare.as_object_mut().unwrap().remove("commit");
    std::fs::write(dir.path().join("bare.json"), bare.to_string()).unwrap();
    let unknown = run(
        dir.path(),
        &["publish", "bare.json", "--pr", "7", "--comment", "github"],
        &env,
    );
    assert_exit(&unknown, 2);
    assert!(
        stderr(&unknown).contains("the report names no commit"),
        "{}",
        stderr(&unknown)
    );
    let mut own = bare.clone();
    own["commit"] = serde_json::json!(github_fake::HEAD_SHA);
    std::fs::write(dir.path().join("own.json"), own.to_string()).unwrap();
    let matched = run(
        dir.path(),
        &["publish", "own.json", "--pr", "7", "--comment", "github"],
        &env,
    );
    assert_exit(&matched, 0);
    assert_eq!(fake.bodies().len(), 2);
    assert_eq!(fake.bodies()[0].1, strangers);
}

#[tokio::test]
async fn a_shard_posts_no_comment_and_quiet_modes_post_only_when_called_for() {
    let (server, fake) = github_fake::Fake::start("").await;
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let env = github_env(dir.path(), &server.uri(), summary.to_str().unwrap());
    config(dir.path(), "15MB");

    fake.seed_by(
        "mallory",
        &["<!-- image-budget:default -->\nforged".to_string()],
    );
    // Each shard has part of the report: none posts; the merging job does.
    for shard in ["1/2", "2/2"] {
        let out = run(dir.path(), &["check", "--shard", shard], &env);
        assert!(
            stderr(&out).contains("a --shard run posts no comment"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(fake.bodies().len(), 1, "only the stranger's");
    assert!(server.received_requests().await.unwrap().is_empty());

    // Only slim, which passes and is new: `changed` posts (a new image is a
    // change), `failing` does not.
    let only_slim = ["check", "slim", "--comment-when", "failing"];
    let out = run(dir.path(), &only_slim, &env);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("no comment posted (--comment-when failing"));
    assert_eq!(
        fake.bodies(),
        [(1000, "<!-- image-budget:default -->\nforged".to_string())],
        "a stranger's marked comment is not ours to update"
    );
    let out = run(
        dir.path(),
        &["check", "slim", "--comment-when", "changed"],
        &env,
    );
    assert_exit(&out, 0);
    assert_eq!(fake.bodies().len(), 2, "a new image is a change");

    // Against a baseline where nothing moved, `changed` posts nothing new...
    let saved = dir.path().join("main.json");
    let out = run(
        dir.path(),
        &[
            "check",
            "slim",
            "--format",
            "json",
            "--output",
            saved.to_str().unwrap(),
            "--comment",
            "off",
        ],
        &env,
    );
    assert_exit(&out, 0);
    let (server, fake) = github_fake::Fake::start("").await;
    let env = github_env(dir.path(), &server.uri(), summary.to_str().unwrap());
    let quiet = [
        "check",
        "slim",
        "--baseline",
        saved.to_str().unwrap(),
        "--comment-when",
        "changed",
    ];
    let out = run(dir.path(), &quiet, &env);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("no comment posted"),
        "{}",
        stderr(&out)
    );
    assert!(fake.bodies().is_empty());
    // ...but an existing comment of ours is still brought up to date.
    fake.seed(&["<!-- image-budget:default -->\nan old report".to_string()]);
    let out = run(dir.path(), &quiet, &env);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("comment updated"), "{}", stderr(&out));
    let bodies = fake.bodies();
    assert_eq!(bodies.len(), 1);
    assert!(!bodies[0].1.contains("an old report"));
}

#[tokio::test]
async fn the_matrix_flow_merges_the_shards_and_posts_one_comment() {
    let (server, fake) = github_fake::Fake::start("").await;
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let mut env = github_env(dir.path(), &server.uri(), summary.to_str().unwrap());
    // A pull_request job checks out the test merge commit: GITHUB_SHA.
    let merge_commit = format!("{:0>40}", 7);
    env.push(("GITHUB_SHA", merge_commit));
    config(dir.path(), "15MB");
    for (shard, file) in [("1/2", "shard-1.json"), ("2/2", "shard-2.json")] {
        let out = run(
            dir.path(),
            &[
                "check", "--shard", shard, "--format", "json", "--output", file,
            ],
            &env,
        );
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            stderr(&out)
        );
    }
    assert!(fake.bodies().is_empty(), "shards post nothing");
    let merged = run(
        dir.path(),
        &[
            "merge",
            "shard-1.json",
            "shard-2.json",
            "--output",
            "report.json",
        ],
        &env,
    );
    assert_exit(&merged, 0);
    let published = run(dir.path(), &["publish", "report.json"], &env);
    assert_exit(&published, 0);
    let bodies = fake.bodies();
    assert_eq!(bodies.len(), 1, "{}", stderr(&published));
    assert!(
        bodies[0].1.contains("1 of 2 images over budget"),
        "{}",
        bodies[0].1
    );
}
