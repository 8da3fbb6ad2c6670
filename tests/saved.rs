//! `budget report` and `budget merge` over saved reports: no engine needed.

mod common;

use common::*;

fn write(dir: &std::path::Path, name: &str, rows: &str) -> String {
    let text =
        format!(r#"{{"schema": "image-budget/report/v1", "passed": true, "images": [{rows}]}}"#);
    std::fs::write(dir.join(name), text).unwrap();
    name.to_string()
}

fn row_json(name: &str, size: u64, status: &str) -> String {
    format!(
        r#"{{"name": "{name}", "ref": "acme/{name}:1", "source": "daemon", "digest": "sha256:1",
            "platform": "linux/amd64", "size": {size}, "compressed": null, "layers": 2,
            "wasted": null, "baseline": null, "delta": null, "status": "{status}",
            "findings": [], "error": null, "budget": {{"max_size": 1000000}}}}"#
    )
}

#[test]
fn shard_reports_merge_into_one_and_render_again() {
    let dir = tempfile::tempdir().unwrap();
    let one = write(
        dir.path(),
        "shard-1.json",
        &row_json("api", 1_200_000, "fail"),
    );
    let two = write(
        dir.path(),
        "shard-2.json",
        &format!(
            "{}, {}",
            row_json("web", 900_000, "pass"),
            row_json("db", 10, "pass")
        ),
    );
    let out = budget(dir.path(), &["merge", &one, &two, "--output", "all.json"]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("merged 2 reports into 3 image rows"));
    let merged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("all.json")).unwrap())
            .unwrap();
    assert_eq!(
        merged["passed"], false,
        "the verdict is recomputed over all shards"
    );
    let names: Vec<&str> = merged["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "web", "db"]);
    assert_eq!(merged["images"][0]["size"], 1_200_000);

    let table = budget(dir.path(), &["report", "all.json"]);
    assert_exit(&table, 0);
    assert!(
        stdout(&table).contains("FAIL: 1 of 3 images over budget"),
        "{}",
        stdout(&table)
    );
    let markdown = budget(dir.path(), &["report", "all.json", "--format", "markdown"]);
    assert_exit(&markdown, 0);
    assert!(
        stdout(&markdown).contains("| web | 900.0 kB |"),
        "{}",
        stdout(&markdown)
    );
    let json = budget(dir.path(), &["report", "all.json", "--format", "json"]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&json.stdout).unwrap(),
        merged
    );
}

#[test]
fn overlapping_shards_and_bad_reports_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let one = write(dir.path(), "a.json", &row_json("api", 1, "pass"));
    let two = write(dir.path(), "b.json", &row_json("api", 2, "pass"));
    let out = budget(dir.path(), &["merge", &one, &two]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("image `api` (linux/amd64) is in both `a.json` and `b.json`"));
    assert!(out.stdout.is_empty());

    std::fs::write(dir.path().join("bad.json"), "{\"schema\": \"other\"}").unwrap();
    let out = budget(dir.path(), &["report", "bad.json"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("`bad.json` is not an image-budget report: its schema is `other`")
    );
    let out = budget(dir.path(), &["merge", "missing.json"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("cannot read report `missing.json`"));
}

/// The default branch's sizes ride from report to report: each run against
/// the last main report keeps its history plus that report's own size.
#[test]
fn history_accumulates_from_baseline_report_to_baseline_report() {
    let dir = tempfile::tempdir().unwrap();
    let layout = repo_root().join("examples/oci");
    std::fs::write(
        dir.path().join("budgets.toml"),
        format!("[images.slim]\nref = \"oci:{}:slim\"\n", layout.display()),
    )
    .unwrap();
    let run = |sha: &str, args: &[&str]| {
        let out = budget_env(
            dir.path(),
            args,
            &[("GITHUB_SHA", sha), ("GITHUB_ACTIONS", "")],
        );
        assert_exit(&out, 0);
    };
    run(
        "aaaaaaa1",
        &["check", "--format", "json", "--output", "main1.json"],
    );
    run(
        "bbbbbbb2",
        &[
            "check",
            "--format",
            "json",
            "--output",
            "main2.json",
            "--baseline",
            "main1.json",
        ],
    );
    run(
        "ccccccc3",
        &[
            "check",
            "--format",
            "json",
            "--output",
            "pr.json",
            "--baseline",
            "main2.json",
        ],
    );
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(name)).unwrap()).unwrap()
    };
    assert_eq!(read("main1.json")["commit"], "aaaaaaa1");
    assert!(read("main1.json")["images"][0].get("history").is_none());
    let pr = read("pr.json");
    assert_eq!(pr["commit"], "ccccccc3");
    let history = pr["images"][0]["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{history:#?}");
    assert_eq!(history[0]["commit"], "aaaaaaa1");
    assert_eq!(history[1]["commit"], "bbbbbbb2");
    assert_eq!(history[1]["size"], 2_000_500);
    assert_eq!(pr["images"][0]["baseline"]["commit"], "bbbbbbb2");
}
