//! Bad input: each a clear error at its place, exit 2, no panic. None of
//! these needs an engine: config problems stop the run before measuring.

mod common;

use common::*;

fn check_config(config: &[u8]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("budgets.toml"), config).unwrap();
    budget_env(
        dir.path(),
        &["check"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    )
}

#[test]
fn every_config_problem_is_reported_at_file_line_column() {
    let out = check_config(
        br#"[defaults]
max-growth = "5"

[images.api]
ref = "acme/api:${NOT_SET_ANYWHERE_XYZ}"
max-size = "150 MBB"
max_layers = 3
"#,
    );
    assert_exit(&out, 2);
    assert!(out.stdout.is_empty(), "no report for an invalid config");
    let err = stderr(&out);
    assert!(
        err.contains(
            "budgets.toml:5:7: in `ref`: environment variable `NOT_SET_ANYWHERE_XYZ` is not set"
        ),
        "{err}"
    );
    assert!(
        err.contains("budgets.toml:6:12: `max-size` = \"150 MBB\": unknown unit `MBB`"),
        "{err}"
    );
    assert!(
        err.contains("budgets.toml:7:1: unknown key `max_layers` in `[images.api]`; did you mean `max-layers`?"),
        "{err}"
    );
    assert!(
        err.starts_with(
            "error: config `budgets.toml` has 3 problems; nothing was checked\n  budgets.toml:5:7: "
        ),
        "{err}"
    );
}

#[test]
fn malformed_toml_points_at_the_line() {
    let out = check_config(b"[images.api]\nref = \"acme/api\nmax-size = 3\n");
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("\n  budgets.toml:2:"), "{err}");
    assert!(err.contains("invalid TOML"), "{err}");
}

#[test]
fn a_non_utf8_config_is_refused() {
    let out = check_config(b"[images.api]\nref = \"caf\xe9\"\n");
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains(
            "error: budgets.toml:2:11: the config is not UTF-8 text (byte 0xe9 cannot start a character here); save it as UTF-8"
        ),
        "{err}"
    );
}

#[test]
fn an_empty_config_says_what_to_write() {
    let out = check_config(b"");
    assert_exit(&out, 2);
    assert!(
        stderr(&out)
            .contains("budgets.toml:1:1: no images to check: add a table such as `[images.api]`")
    );
}

#[test]
fn a_missing_config_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = budget(dir.path(), &["check", "-c", "nope.toml"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("cannot read config `nope.toml`"), "{err}");
    assert!(err.contains("budget init"), "{err}");
}

#[test]
fn unknown_names_bad_shards_and_bad_flags_exit_2() {
    let dir = workdir("[images.api]\nref = \"acme/api\"\n");
    let out = budget(dir.path(), &["check", "web"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("no image named `web` in `budgets.toml`; the images are: api"));
    let out = budget(dir.path(), &["check", "--shard", "3/2"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("not a shard"));
    let out = budget(dir.path(), &["check", "--format", "yaml"]);
    assert_exit(&out, 2);
    let out = budget(dir.path(), &["check", "--baseline", "missing.json"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("baseline: cannot read report `missing.json`"));
}

#[test]
fn the_example_config_documents_every_key_and_validates() {
    let text = std::fs::read_to_string(repo_root().join("budgets.example.toml")).unwrap();
    for key in [
        "[defaults]",
        "baseline",
        "max-growth",
        "warn-growth",
        "max-size",
        "warn-size",
        "max-layers",
        "platform",
        "ref",
        "max-compressed",
        "max-wasted",
    ] {
        assert!(
            text.contains(key),
            "budgets.example.toml does not mention {key}"
        );
    }
    let plan =
        image_budget::config::parse(std::path::Path::new("budgets.example.toml"), &text, &|_| {
            None
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(plan.images.len() >= 2);
    let examples = image_budget::config::load(&repo_root().join("examples/budgets.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(examples.images.len(), 2);
}

#[test]
fn the_embedded_example_layout_needs_no_engine() {
    let out = budget_env(
        &repo_root(),
        &[
            "check",
            "-c",
            "examples/budgets-oci.toml",
            "--format",
            "json",
        ],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_exit(&out, 1);
    let report = json(&out);
    let slim = row(&report, "slim");
    assert_eq!(slim["source"], "oci");
    assert_eq!(slim["size"], 2_000_500);
    assert_eq!(slim["status"], "pass");
    let bloated = row(&report, "bloated");
    assert_eq!(bloated["size"], 47_000_000);
    assert_eq!(bloated["layers"], 3);
    assert_eq!(bloated["status"], "fail");
    assert_eq!(bloated["findings"][0]["code"], "max-size");
    // The compressed figure is the sum of the layout's own blob sizes.
    assert_eq!(bloated["compressed_estimated"], false);
    let blobs: u64 = bloated["layer_details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["compressed"].as_u64().unwrap())
        .sum();
    assert_eq!(bloated["compressed"], blobs);
}
