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

/// Run in a child process of this test binary: installs the hook and panics.
#[test]
fn a_panic_is_one_line_and_exit_2() {
    if std::env::var_os("IMAGE_BUDGET_PANIC_CHILD").is_some() {
        image_budget::app::install_panic_hook();
        // A panic on another thread, as on one of tokio's workers.
        let _ = std::thread::spawn(|| panic!("something impossible\nhappened")).join();
        unreachable!("the hook exits");
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_panic_is_one_line_and_exit_2", "--nocapture"])
        .env("IMAGE_BUDGET_PANIC_CHILD", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(ours[0].contains("internal error at tests/cli.rs:"), "{err}");
    assert!(ours[0].contains("something impossible happened"), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{err}");
    assert!(!err.contains("panicked at"), "{err}");
}

/// An engine that takes connections and never answers.
fn silent_engine(dir: &std::path::Path) -> String {
    let path = dir.join("silent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("unix://{}", path.display())
}

#[test]
fn a_timeout_reports_the_images_not_checked_and_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let layout = repo_root().join("examples/oci");
    std::fs::write(
        dir.path().join("budgets.toml"),
        format!(
            "[images.stuck]\nref = \"docker-daemon:acme/stuck:1\"\nmax-size = \"1GB\"\n\n\
             [images.slim]\nref = \"oci:{}:slim\"\nmax-size = \"15MB\"\n",
            layout.display()
        ),
    )
    .unwrap();
    let host = silent_engine(dir.path());
    let out = budget_env(
        dir.path(),
        &[
            "check",
            // Long enough for the local image on a loaded machine; the
            // silent engine never answers, however long it is given.
            "--timeout",
            "10s",
            "--jobs",
            "2",
            "--format",
            "json",
            "--output",
            "r.json",
        ],
        &[("DOCKER_HOST", host.as_str())],
    );
    assert_exit(&out, 2);
    let report = read_json(&dir.path().join("r.json"));
    let stuck = row(&report, "stuck");
    assert_eq!(stuck["status"], "error");
    assert!(
        stuck["error"]
            .as_str()
            .unwrap()
            .starts_with("not checked within --timeout 10s"),
        "{stuck}"
    );
    let slim = row(&report, "slim");
    assert_eq!(
        (&slim["status"], &slim["size"]),
        (&"pass".into(), &2_000_500.into())
    );
    // With --output, stderr still tells the verdict and the image not checked.
    let err = stderr(&out);
    assert!(
        err.contains("budget: ERROR: 1 of 2 images could not be checked"),
        "{err}"
    );
    assert!(
        err.contains("budget: error stuck: not checked within --timeout 10s"),
        "{err}"
    );
    let out = budget(dir.path(), &["check", "--timeout", "soon"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("is not a duration"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn with_output_stderr_still_says_the_verdict_and_each_failing_image() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("report.json");
    let out = budget_env(
        &repo_root(),
        &[
            "check",
            "-c",
            "examples/budgets-oci.toml",
            "--output",
            out_file.to_str().unwrap(),
        ],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "", "the report went to the file");
    let err = stderr(&out);
    assert!(
        err.contains("budget: FAIL: 1 of 2 images over budget"),
        "{err}"
    );
    assert!(
        err.contains("budget: fail bloated: size 47.0 MB is over the max-size budget"),
        "{err}"
    );
    assert!(
        !err.contains("slim:"),
        "a passing image has no line:\n{err}"
    );
}
