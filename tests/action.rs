//! The GitHub Action (action.yml + action/run.sh) and the GitLab job template
//! (ci/image-budget.gitlab-ci.yml): their YAML is parsed and held against
//! `budget check --help`, and their scripts run as the CI systems run them,
//! with the built binary, simulated CI variables and the forge APIs faked on
//! 127.0.0.1. Images come from the embedded OCI layout, so no engine is needed.

mod common;

#[path = "fakes/github.rs"]
mod github_fake;
#[path = "fakes/gitlab.rs"]
mod gitlab_fake;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_norway::Value as Yaml;
use sha2::{Digest, Sha256};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// slim (passes) and bloated (over budget), from examples/oci.
fn config(dir: &Path) {
    let layout = repo_root().join("examples/oci");
    std::fs::write(
        dir.join("budgets.toml"),
        format!(
            "[images.slim]\nref = \"oci:{0}:slim\"\nmax-size = \"15MB\"\n\n[images.bloated]\nref = \"oci:{0}:bloated\"\nmax-size = \"15MB\"\n",
            layout.display()
        ),
    )
    .unwrap();
}

fn yaml(file: &str) -> Yaml {
    let text = std::fs::read_to_string(repo_root().join(file)).unwrap();
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{file} is not YAML: {e}"))
}

fn str_of<'a>(v: &'a Yaml, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v:?}"))
}

/// Every long flag (and `-c`) that `budget check --help` lists.
fn check_flags() -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_budget"))
        .args(["check", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(help.contains("[NAME]..."), "{help}");
    help.split_whitespace()
        .map(|w| w.trim_end_matches(','))
        .filter(|w| w.starts_with('-') && w.len() > 1)
        .map(|w| w.split(['=', '[', '<']).next().unwrap().to_string())
        .collect()
}

/// Which flag of `budget check` each input of action.yml stands for.
const INPUT_FLAGS: &[(&str, &str)] = &[
    ("config", "--config"),
    ("images", "NAME"),
    ("baseline", "--baseline"),
    ("format", "--format"),
    ("output", "--output"),
    ("comment", "--comment"),
    ("comment-id", "--comment-id"),
    ("comment-when", "--comment-when"),
    ("github-token", "--github-token"),
    ("no-fail", "--no-fail"),
    ("shard", "--shard"),
];

fn run_step(action: &Yaml) -> &Yaml {
    action["runs"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["id"].as_str() == Some("check"))
        .expect("a step with id: check")
}

#[test]
fn every_action_input_is_a_flag_of_budget_check_and_every_flag_has_an_input() {
    let action = yaml("action.yml");
    assert_eq!(str_of(&action["runs"]["using"], "runs.using"), "composite");
    let flags = check_flags();
    assert!(flags.contains("-c"), "{flags:?}");
    let inputs: BTreeSet<String> = action["inputs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| str_of(k, "input name").to_string())
        .collect();
    for input in &inputs {
        assert!(
            input.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "kebab-case: {input}"
        );
        assert!(
            !str_of(
                &action["inputs"][input.as_str()]["description"],
                "description"
            )
            .is_empty()
        );
        if input == "version" || input == "install" {
            continue; // the action's own: how budget is installed
        }
        let (_, flag) = INPUT_FLAGS
            .iter()
            .find(|(i, _)| i == input)
            .unwrap_or_else(|| panic!("input {input} stands for no flag of budget check"));
        assert!(
            *flag == "NAME" || flags.contains(*flag),
            "{input}: {flag} is not in budget check --help: {flags:?}"
        );
    }
    for flag in [
        "--config",
        "--baseline",
        "--format",
        "--output",
        "--comment",
        "--comment-id",
        "--github-token",
        "--no-fail",
        "--shard",
    ] {
        assert!(flags.contains(flag), "{flag} gone from budget check");
        assert!(
            INPUT_FLAGS
                .iter()
                .any(|(i, f)| *f == flag && inputs.contains(*i)),
            "no input for {flag}"
        );
    }
    assert!(inputs.contains("images") && inputs.contains("version"));
    assert_eq!(
        action["inputs"]["github-token"]["default"].as_str(),
        Some("${{ github.token }}")
    );

    // Inputs reach the script only through INPUT_* variables, never as its text.
    let step = run_step(&action);
    let script = str_of(&step["run"], "run");
    assert!(
        !script.contains("${{"),
        "no expression in the script: {script}"
    );
    assert!(script.contains("action/run.sh"), "{script}");
    for input in &inputs {
        let var = format!("INPUT_{}", input.to_uppercase().replace('-', "_"));
        assert_eq!(
            step["env"][var.as_str()].as_str(),
            Some(format!("${{{{ inputs.{input} }}}}").as_str()),
            "{var}"
        );
    }
    for step in action["runs"]["steps"].as_sequence().unwrap() {
        if let Some(run) = step["run"].as_str() {
            assert!(!run.contains("${{"), "no expression in a script: {run}");
        }
    }

    for output in ["exit-code", "passed", "report-path"] {
        assert_eq!(
            action["outputs"][output]["value"].as_str(),
            Some(format!("${{{{ steps.check.outputs.{output} }}}}").as_str()),
            "{output}"
        );
    }
}

#[test]
fn the_action_caches_the_default_branch_report_for_pull_requests() {
    let action = yaml("action.yml");
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    let named = |name: &str, uses: &str| {
        let step = steps
            .iter()
            .find(|s| s["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("a step named {name}"));
        assert_eq!(step["uses"].as_str(), Some(uses), "{name}");
        step
    };
    let restore = named(
        "Restore the default branch's report",
        "actions/cache/restore@v4",
    );
    let save = named("Save the default branch's report", "actions/cache/save@v4");
    // The config's own baseline: its scope in every key, its own file; main's
    // report at the merge base first, else the newest.
    assert_eq!(
        restore["with"]["restore-keys"].as_str(),
        Some(
            "image-budget-${{ steps.scope.outputs.scope }}-${{ github.event.repository.default_branch }}-"
        )
    );
    assert_eq!(
        restore["with"]["key"].as_str(),
        Some(
            "image-budget-${{ steps.scope.outputs.scope }}-${{ github.event.repository.default_branch }}-${{ steps.scope.outputs.merge-base || github.sha }}"
        )
    );
    assert_eq!(
        restore["with"]["path"].as_str(),
        Some("${{ steps.scope.outputs.file }}")
    );
    assert_eq!(
        run_step(&action)["env"]["IMAGE_BUDGET_BASELINE_FILE"].as_str(),
        Some("${{ steps.scope.outputs.file }}")
    );
    let restore_if = str_of(&restore["if"], "restore if");
    assert!(restore_if.contains("github.event_name == 'pull_request'"));
    // Main runs restore the previous main report too: the history grows.
    assert!(restore_if.contains("github.event_name == 'push'"));
    assert!(restore_if.contains("inputs.baseline == ''"));
    assert_eq!(
        save["with"]["key"].as_str(),
        Some(
            "image-budget-${{ steps.scope.outputs.scope }}-${{ github.ref_name }}-${{ github.sha }}"
        )
    );
    let save_if = str_of(&save["if"], "save if");
    assert!(
        save_if.contains("always()"),
        "an over-budget main still saves"
    );
    assert!(save_if.contains("github.event_name == 'push'"));
    // A partial run (a shard, some images) is never saved as the baseline.
    assert!(save_if.contains("inputs.shard == ''"), "{save_if}");
    assert!(save_if.contains("inputs.images == ''"), "{save_if}");
    assert!(save_if.contains("github.ref_name == github.event.repository.default_branch"));
    // Both name the same path: actions/cache matches versions by path.
    assert_eq!(restore["with"]["path"], save["with"]["path"]);
    // The restore step runs before check, the save step after it.
    let at = |s: &Yaml| steps.iter().position(|x| x == s).unwrap();
    let check = at(run_step(&action));
    assert!(at(restore) < check && check < at(save));
    assert_eq!(
        run_step(&action)["env"]["IMAGE_BUDGET_BASELINE_KEY"].as_str(),
        Some("${{ steps.baseline.outputs.cache-matched-key }}")
    );

    // The layer facts cache rides along on every run: restored before the
    // check (the newest set), saved after it under a key of its own job run.
    let restore = named("Restore the layer facts cache", "actions/cache/restore@v4");
    let save = named("Save the layer facts cache", "actions/cache/save@v4");
    assert!(at(restore) < check && check < at(save));
    assert_eq!(restore["with"]["path"], save["with"]["path"]);
    assert_eq!(
        run_step(&action)["env"]["IMAGE_BUDGET_CACHE"],
        restore["with"]["path"]
    );
    assert_eq!(
        restore["with"]["restore-keys"].as_str(),
        Some("image-budget-layers-")
    );
    let key = str_of(&save["with"]["key"], "layer cache key");
    for part in [
        "github.run_id",
        "github.run_attempt",
        "github.job",
        "strategy.job-index",
    ] {
        assert!(key.contains(part), "{key}");
    }
    assert!(str_of(&save["if"], "save if").contains("always()"));
}

/// A simulated GitHub runner for action/run.sh.
struct Runner {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Runner {
    fn new(api: &str) -> Runner {
        let dir = tempfile::tempdir().unwrap();
        config(dir.path());
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        let d = dir.path();
        let event = repo_root().join("tests/fixtures/github/event_pull_request.json");
        let env = [
            ("GITHUB_ACTIONS", "true".to_string()),
            ("GITLAB_CI", String::new()),
            ("GITHUB_EVENT_NAME", "pull_request".into()),
            ("GITHUB_EVENT_PATH", event.display().to_string()),
            ("GITHUB_REPOSITORY", "acme/api".into()),
            ("GITHUB_API_URL", api.into()),
            ("GITHUB_TOKEN", String::new()),
            ("GITHUB_OUTPUT", d.join("output").display().to_string()),
            (
                "GITHUB_STEP_SUMMARY",
                d.join("summary.md").display().to_string(),
            ),
            ("GITHUB_PATH", d.join("path").display().to_string()),
            ("GITHUB_ACTION_PATH", repo_root().display().to_string()),
            ("RUNNER_TEMP", d.join("tmp").display().to_string()),
            ("IMAGE_BUDGET_BIN", env!("CARGO_BIN_EXE_budget").to_string()),
            // The action's defaults, as action.yml passes them.
            ("INPUT_CONFIG", "budgets.toml".into()),
            ("INPUT_IMAGES", String::new()),
            ("INPUT_BASELINE", String::new()),
            ("INPUT_FORMAT", "table".into()),
            ("INPUT_OUTPUT", String::new()),
            ("INPUT_COMMENT", "auto".into()),
            ("INPUT_COMMENT_ID", "default".into()),
            ("INPUT_GITHUB_TOKEN", github_fake::TOKEN.into()),
            ("INPUT_NO_FAIL", "false".into()),
            ("INPUT_SHARD", String::new()),
            ("INPUT_VERSION", String::new()),
            ("INPUT_INSTALL", "auto".into()),
            ("IMAGE_BUDGET_REPOSITORY", String::new()),
            ("IMAGE_BUDGET_ACTION_REF", String::new()),
            ("IMAGE_BUDGET_BASELINE_KEY", String::new()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Runner { dir, env }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn set(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// Runs the action's step; $GITHUB_OUTPUT starts empty, as in each job.
    fn run(&self) -> (Output, String) {
        let outputs = self.path().join("output");
        std::fs::write(&outputs, "").unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg(repo_root().join("action/run.sh"))
            .current_dir(self.path())
            .env_remove("NO_COLOR");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("bash runs");
        (out, std::fs::read_to_string(outputs).unwrap())
    }
}

fn output_value<'a>(outputs: &'a str, key: &str) -> Option<&'a str> {
    outputs
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

#[tokio::test]
async fn the_action_script_comments_once_and_records_its_outputs() {
    let (server, fake) = github_fake::Fake::start("").await;
    let runner = Runner::new(&server.uri());

    let (first, _) = runner.run();
    assert_exit(&first, 1);
    assert!(stdout(&first).contains("bloated"), "the table in the log");
    let (second, outputs) = runner.run();
    assert_exit(&second, 1);
    // The same report again: the one comment already says it, nothing is sent.
    assert!(
        stderr(&second).contains("budget: comment already up to date"),
        "{}",
        stderr(&second)
    );
    let comments = fake.bodies();
    assert_eq!(comments.len(), 1, "exactly one comment: {comments:#?}");
    assert!(comments[0].1.contains("1 of 2 images over budget"));

    assert_eq!(output_value(&outputs, "exit-code"), Some("1"), "{outputs}");
    assert_eq!(output_value(&outputs, "passed"), Some("false"), "{outputs}");
    let report = PathBuf::from(output_value(&outputs, "report-path").expect("report-path"));
    assert_eq!(report, runner.path().join("tmp/image-budget/report.json"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["schema"], "image-budget/report/v1");
    assert_eq!(report["passed"], false);
    let summary = std::fs::read_to_string(runner.path().join("summary.md")).unwrap();
    assert!(summary.contains("1 of 2 images over budget"), "{summary}");
    let path = std::fs::read_to_string(runner.path().join("path")).unwrap();
    assert!(
        path.lines().all(|l| Path::new(l).join("budget").exists()),
        "{path}"
    );
    for out in [&first, &second] {
        assert!(!stdout(out).contains(github_fake::TOKEN));
        assert!(!stderr(out).contains(github_fake::TOKEN));
    }
}

#[tokio::test]
async fn no_fail_passes_the_step_but_keeps_the_verdict_in_its_outputs() {
    let (server, _fake) = github_fake::Fake::start("").await;
    let mut runner = Runner::new(&server.uri());
    runner.set("INPUT_NO_FAIL", "true");
    runner.set("INPUT_OUTPUT", "out/budget.json");
    runner.set("INPUT_FORMAT", "github");
    runner.set("INPUT_COMMENT", "off");
    std::fs::create_dir(runner.path().join("out")).unwrap();
    let (out, outputs) = runner.run();
    assert_exit(&out, 0);
    assert_eq!(output_value(&outputs, "exit-code"), Some("1"), "{outputs}");
    assert_eq!(output_value(&outputs, "passed"), Some("false"), "{outputs}");
    assert_eq!(
        output_value(&outputs, "report-path"),
        Some("out/budget.json")
    );
    assert!(runner.path().join("out/budget.json").exists());
    // --format github: workflow annotations in the log.
    assert!(stdout(&out).contains("::error"), "{}", stdout(&out));

    // Only the named images; a passing run says so.
    runner.set("INPUT_IMAGES", " slim ");
    let (out, outputs) = runner.run();
    assert_exit(&out, 0);
    assert_eq!(output_value(&outputs, "exit-code"), Some("0"), "{outputs}");
    assert_eq!(output_value(&outputs, "passed"), Some("true"), "{outputs}");

    // A YAML block lists one image per line: every line is checked.
    runner.set("INPUT_IMAGES", "slim\n  bloated\n");
    let (out, outputs) = runner.run();
    assert_eq!(output_value(&outputs, "exit-code"), Some("1"), "{outputs}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(runner.path().join("out/budget.json")).unwrap())
            .unwrap();
    let names: Vec<&str> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["slim", "bloated"], "{}", stderr(&out));
    runner.set("INPUT_IMAGES", " slim ");

    // Errors still fail the step under no-fail.
    runner.set("INPUT_CONFIG", "missing.toml");
    let (out, outputs) = runner.run();
    assert_exit(&out, 2);
    assert_eq!(output_value(&outputs, "exit-code"), Some("2"), "{outputs}");
}

#[tokio::test]
async fn a_restored_default_branch_report_is_the_baseline() {
    let (server, _fake) = github_fake::Fake::start("").await;
    let mut runner = Runner::new(&server.uri());
    runner.set("INPUT_COMMENT", "off");
    runner.set("INPUT_FORMAT", "json");
    // As on the default branch: its report, where the restore step puts it.
    let (main, _) = runner.run();
    assert_exit(&main, 1);
    let cached = runner.path().join("tmp/image-budget-baseline/scope");
    std::fs::create_dir_all(&cached).unwrap();
    std::fs::copy(
        runner.path().join("tmp/image-budget/report.json"),
        cached.join("main.json"),
    )
    .unwrap();
    runner.set(
        "IMAGE_BUDGET_BASELINE_FILE",
        cached.join("main.json").to_str().unwrap(),
    );

    // Nothing restored: absolute budgets only.
    let (_, outputs) = runner.run();
    let report = read_json(
        &runner
            .path()
            .join(output_value(&outputs, "report-path").unwrap()),
    );
    assert_ne!(row(&report, "slim")["baseline"]["source"], "report");

    runner.set("IMAGE_BUDGET_BASELINE_KEY", "image-budget-main-0d2f4b6");
    let (out, outputs) = runner.run();
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("image-budget-main-0d2f4b6"));
    let report = read_json(
        &runner
            .path()
            .join(output_value(&outputs, "report-path").unwrap()),
    );
    for name in ["slim", "bloated"] {
        assert_eq!(row(&report, name)["baseline"]["source"], "report", "{name}");
    }
    // --format json: the report itself in the log.
    assert!(stdout(&out).contains("image-budget/report/v1"));

    // The baseline input wins over the cache.
    runner.set("INPUT_BASELINE", "nowhere.json");
    let (out, _) = runner.run();
    assert_exit(&out, 2);
}

/// A release tarball holding a `budget` that runs the built binary.
fn release_tarball() -> Vec<u8> {
    let script = format!(
        "#!/bin/sh\nexec '{}' \"$@\"\n",
        env!("CARGO_BIN_EXE_budget")
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    {
        let mut tar = tar::Builder::new(&mut gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(script.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        tar.append_data(&mut header, "budget", script.as_bytes())
            .unwrap();
        tar.finish().unwrap();
    }
    gz.flush().unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn a_version_downloads_the_release_and_verifies_its_checksum() {
    let (api, _fake) = github_fake::Fake::start("").await;
    let releases = MockServer::start().await;
    let tarball = release_tarball();
    let digest: String = Sha256::digest(&tarball)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let base =
        "/acme/image-budget/releases/download/v1.2.0/budget-x86_64-unknown-linux-musl.tar.gz";
    Mock::given(method("GET"))
        .and(path(base))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(tarball.clone()))
        .mount(&releases)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{base}.sha256")))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            "{digest}  budget-x86_64-unknown-linux-musl.tar.gz\n"
        )))
        .mount(&releases)
        .await;
    let mut runner = Runner::new(&api.uri());
    runner.set("IMAGE_BUDGET_BIN", "");
    runner.set("INPUT_VERSION", "v1.2.0");
    runner.set("INPUT_COMMENT", "off");
    runner.set("IMAGE_BUDGET_REPOSITORY", "acme/image-budget");
    runner.set("IMAGE_BUDGET_DOWNLOAD_URL", &releases.uri());
    let (out, outputs) = runner.run();
    assert_exit(&out, 1);
    assert_eq!(output_value(&outputs, "exit-code"), Some("1"), "{outputs}");
    let added = std::fs::read_to_string(runner.path().join("path")).unwrap();
    assert!(added.contains("image-budget/v1.2.0"), "{added}");

    // A tarball that does not match its checksum never runs.
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(base))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(tarball))
        .mount(&other)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{base}.sha256")))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!("{}\n", "0".repeat(64))))
        .mount(&other)
        .await;
    runner.set("IMAGE_BUDGET_DOWNLOAD_URL", &other.uri());
    let (out, outputs) = runner.run();
    assert_exit(&out, 2);
    assert!(
        stdout(&out).contains("checksum mismatch"),
        "{}",
        stdout(&out)
    );
    assert!(outputs.is_empty(), "budget never ran: {outputs}");

    // No version input: the action's own tag, when it is used at a release.
    runner.set("IMAGE_BUDGET_DOWNLOAD_URL", &releases.uri());
    runner.set("INPUT_VERSION", "");
    runner.set("IMAGE_BUDGET_ACTION_REF", "v1.2.0");
    std::fs::write(runner.path().join("path"), "").unwrap();
    let (out, outputs) = runner.run();
    assert_exit(&out, 1);
    assert_eq!(output_value(&outputs, "exit-code"), Some("1"), "{outputs}");
    let added = std::fs::read_to_string(runner.path().join("path")).unwrap();
    assert!(added.contains("image-budget/v1.2.0"), "{added}");
    assert!(output_value(&outputs, "built-from-source").is_none());

    // A tag with no release, a branch, or install: source builds from source
    // (a stand-in cargo here), with no token in the build's environment.
    let path = fake_cargo(runner.path());
    runner.set("PATH", &path);
    for (reference, install, warned) in [
        ("v9.9.9", "auto", true),
        ("main", "auto", false),
        ("v1.2.0", "source", false),
    ] {
        runner.set("IMAGE_BUDGET_ACTION_REF", reference);
        runner.set("INPUT_INSTALL", install);
        let _ = std::fs::remove_file(runner.path().join("install-env"));
        let (out, outputs) = runner.run();
        assert_exit(&out, 1);
        assert_eq!(
            output_value(&outputs, "built-from-source"),
            Some("true"),
            "{reference} {install}: {outputs}"
        );
        assert!(runner.path().join("install-env").exists(), "{reference}");
        assert_eq!(
            stdout(&out).contains("no release binary for the action's tag v9.9.9"),
            warned,
            "{}",
            stdout(&out)
        );
    }
    // install: release without a version to take is an error, not a build.
    runner.set("IMAGE_BUDGET_ACTION_REF", "main");
    runner.set("INPUT_INSTALL", "release");
    let (out, _) = runner.run();
    assert_exit(&out, 2);
    assert!(
        stdout(&out).contains("install: release needs a version"),
        "{}",
        stdout(&out)
    );

    // A version that is not a release number is refused before any download.
    runner.set("INPUT_VERSION", "1.2.0/../../x");
    let (out, _) = runner.run();
    assert_exit(&out, 2);
    assert!(stdout(&out).contains("not a release number"));
}

// --- GitLab -------------------------------------------------------------------

/// The template as GitLab includes it: its `spec: inputs` header read, every
/// `$[[ inputs.NAME ]]` of the body replaced by the input given or its
/// default; an input that is not declared is an error, as in GitLab.
fn gitlab_template(inputs: &[(&str, &str)]) -> Yaml {
    let text = std::fs::read_to_string(repo_root().join("ci/image-budget.gitlab-ci.yml")).unwrap();
    let (header, body) = text
        .split_once("\n---\n")
        .expect("a `spec:` header, then `---`, then the jobs");
    let header: Yaml = serde_norway::from_str(header).unwrap();
    let declared = header["spec"]["inputs"].as_mapping().expect("spec: inputs");
    for (name, _) in inputs {
        assert!(
            declared.contains_key(Yaml::from(*name)),
            "`{name}` is not an input of the template"
        );
    }
    let mut body = body.to_string();
    for (name, spec) in declared {
        let name = str_of(name, "input name");
        let value = inputs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| str_of(&spec["default"], "input default").to_string());
        body = body.replace(&format!("$[[ inputs.{name} ]]"), &value);
    }
    assert!(
        !body.contains("$[["),
        "an input the header does not declare: {body}"
    );
    serde_norway::from_str(&body).unwrap_or_else(|e| panic!("the template is not YAML: {e}"))
}

fn gitlab_job() -> Yaml {
    gitlab_template(&[])[".image-budget"].clone()
}

#[test]
fn the_gitlab_template_takes_inputs_with_defaults() {
    let job = gitlab_job();
    assert_eq!(job["stage"].as_str(), Some("test"));
    assert_eq!(
        job["variables"]["IMAGE_BUDGET_CONFIG"].as_str(),
        Some("budgets.toml")
    );
    assert_eq!(
        job["variables"]["IMAGE_BUDGET_BIN"].as_str(),
        Some("budget")
    );
    assert_eq!(job["variables"]["IMAGE_BUDGET_ARGS"].as_str(), Some(""));
    let given = gitlab_template(&[
        ("config", "ci/workers.toml"),
        ("args", "--comment-id workers"),
        ("stage", "verify"),
    ]);
    let job = &given[".image-budget"];
    assert_eq!(job["stage"].as_str(), Some("verify"));
    assert_eq!(
        job["variables"]["IMAGE_BUDGET_CONFIG"].as_str(),
        Some("ci/workers.toml")
    );
    assert_eq!(
        job["variables"]["IMAGE_BUDGET_ARGS"].as_str(),
        Some("--comment-id workers")
    );
}

#[test]
fn the_gitlab_template_caches_the_baseline_and_reports_junit_and_metrics() {
    let job = gitlab_job();
    assert!(job.is_mapping(), "a hidden job .image-budget");
    assert_eq!(job["variables"]["GIT_DEPTH"].as_u64(), Some(0));
    // Per job (a config each) and ref; a merge request falls back to main's.
    assert_eq!(
        job["cache"]["key"].as_str(),
        Some("image-budget-$CI_JOB_NAME_SLUG-$CI_COMMIT_REF_SLUG")
    );
    assert_eq!(
        job["cache"]["fallback_keys"][0].as_str(),
        Some("image-budget-$CI_JOB_NAME_SLUG-$CI_DEFAULT_BRANCH")
    );
    assert_eq!(job["cache"]["paths"][0].as_str(), Some("image-budget/"));
    // The layer facts cache is inside the cached directory.
    let layers = str_of(&job["variables"]["IMAGE_BUDGET_CACHE"], "layer cache");
    assert!(layers.starts_with("image-budget/"), "{layers}");
    assert_eq!(job["cache"]["when"].as_str(), Some("always"));
    // Protected (main) and unprotected (merge request) refs share the cache.
    assert_eq!(job["cache"]["unprotect"].as_bool(), Some(true));
    assert_eq!(
        job["artifacts"]["reports"]["junit"].as_str(),
        Some("junit.xml")
    );
    assert_eq!(
        job["artifacts"]["reports"]["metrics"].as_str(),
        Some("metrics.txt")
    );
    assert_eq!(job["artifacts"]["when"].as_str(), Some("always"));
    // No placeholder in a line that runs: the install command is the user's.
    assert_eq!(
        str_of(&job["variables"]["IMAGE_BUDGET_INSTALL"], "install"),
        ""
    );
    let script = str_of(&job["script"][0], "script");
    assert!(
        !script.contains('<'),
        "a `<` in sh is a redirection: {script}"
    );
}

/// Runs the template's script with sh -e, as a GitLab runner does.
fn gitlab_run(dir: &Path, api: &str, merge_request: bool) -> Output {
    gitlab_command(dir, api, merge_request)
        .output()
        .expect("sh runs")
}

/// The template's script as `sh -e` runs it in a GitLab job, not yet started.
fn gitlab_command(dir: &Path, api: &str, merge_request: bool) -> Command {
    let job = gitlab_job();
    let script: Vec<&str> = job["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| str_of(l, "script line"))
        .collect();
    let mut cmd = Command::new("sh");
    cmd.arg("-e")
        .arg("-c")
        .arg(script.join("\n"))
        .current_dir(dir)
        .env_remove("NO_COLOR");
    for (k, v) in job["variables"].as_mapping().unwrap() {
        let value = match v {
            Yaml::Number(n) => n.to_string(),
            v => str_of(v, "variable").to_string(),
        };
        cmd.env(str_of(k, "variable name"), value);
    }
    cmd.env("IMAGE_BUDGET_BIN", env!("CARGO_BIN_EXE_budget"))
        .env("IMAGE_BUDGET_INSTALL", "false")
        .env("GITLAB_CI", "true")
        .env("GITHUB_ACTIONS", "")
        .env("GITHUB_STEP_SUMMARY", "")
        .env("CI_API_V4_URL", format!("{api}/api/v4"))
        .env("CI_PROJECT_ID", "42")
        .env("GITLAB_TOKEN", gitlab_fake::TOKEN)
        .env("CI_DEFAULT_BRANCH", "main")
        .env("CI_JOB_NAME", "image-budget")
        .env("CI_JOB_TOKEN", gitlab_fake::JOB_TOKEN);
    if merge_request {
        cmd.env("CI_MERGE_REQUEST_IID", gitlab_fake::IID.to_string())
            .env("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main")
            .env("CI_COMMIT_REF_NAME", "slim")
            .env("CI_PIPELINE_SOURCE", "merge_request_event");
    } else {
        cmd.env_remove("CI_MERGE_REQUEST_IID")
            .env("CI_COMMIT_REF_NAME", "main")
            .env("CI_PIPELINE_SOURCE", "push");
    }
    cmd
}

#[tokio::test]
async fn the_gitlab_job_keeps_main_report_and_a_merge_request_compares_with_it() {
    let (server, fake) = gitlab_fake::Fake::start("42", true).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());

    // A merge request before main ever ran: absolute budgets, one note.
    let first = gitlab_run(dir.path(), &server.uri(), true);
    assert_exit(&first, 1);
    assert!(!dir.path().join("image-budget/main.json").exists());
    let report = read_json(&dir.path().join("report.json"));
    assert_ne!(row(&report, "slim")["baseline"]["source"], "report");
    assert_eq!(fake.bodies().len(), 1);

    // The default branch: no note, its report kept for the cache.
    let main = gitlab_run(dir.path(), &server.uri(), false);
    assert_exit(&main, 1);
    assert!(
        stderr(&main).contains("kept report.json"),
        "{}",
        stderr(&main)
    );
    let kept = read_json(&dir.path().join("image-budget/main.json"));
    assert_eq!(kept["schema"], "image-budget/report/v1");
    assert_eq!(fake.bodies().len(), 1);

    // The merge request again: compared with main's report, still one note.
    std::fs::remove_file(dir.path().join("junit.xml")).unwrap();
    std::fs::remove_file(dir.path().join("metrics.txt")).unwrap();
    let second = gitlab_run(dir.path(), &server.uri(), true);
    assert_exit(&second, 1);
    let report = read_json(&dir.path().join("report.json"));
    for name in ["slim", "bloated"] {
        assert_eq!(row(&report, name)["baseline"]["source"], "report", "{name}");
    }
    // Read, main's report leaves the merge request's own cache: kept there it
    // would be restored stale by the next run, with the fallback never tried.
    assert!(!dir.path().join("image-budget/main.json").exists());
    let kept = serde_json::to_string(&kept).unwrap();
    std::fs::create_dir_all(dir.path().join("image-budget")).unwrap();
    std::fs::write(dir.path().join("image-budget/main.json"), kept).unwrap();
    let notes = fake.bodies();
    assert_eq!(notes.len(), 1, "exactly one note: {notes:#?}");
    assert!(
        notes[0].1.contains("1 of 2 images over budget"),
        "{}",
        notes[0].1
    );
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).unwrap();
    assert!(junit.contains("<testsuite"), "{junit}");
    let metrics = std::fs::read_to_string(dir.path().join("metrics.txt")).unwrap();
    assert!(!metrics.trim().is_empty());
    assert!(stdout(&second).contains("bloated"), "the table in the log");
    for out in [&first, &main, &second] {
        assert!(!stdout(out).contains(gitlab_fake::TOKEN));
        assert!(!stderr(out).contains(gitlab_fake::TOKEN));
    }

    // Could not check: exit 2, and main's report is not replaced.
    let before = std::fs::read(dir.path().join("image-budget/main.json")).unwrap();
    std::fs::write(dir.path().join("budgets.toml"), "[images.x]\nnope = 1\n").unwrap();
    let broken = gitlab_run(dir.path(), &server.uri(), false);
    assert_exit(&broken, 2);
    assert!(!dir.path().join("report.json").exists(), "no stale report");
    assert_eq!(
        std::fs::read(dir.path().join("image-budget/main.json")).unwrap(),
        before
    );
}

/// A stand-in `cargo` on PATH: records the environment it runs in (where a
/// dependency's build script would run), then "installs" the real binary
/// where `--root` says.
fn fake_cargo(dir: &Path) -> String {
    let bin = dir.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\nenv > '{}'\nroot=''\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\nmkdir -p \"$root/bin\" && cp '{}' \"$root/bin/budget\"\n",
        dir.join("install-env").display(),
        env!("CARGO_BIN_EXE_budget")
    );
    let cargo = bin.join("cargo");
    std::fs::write(&cargo, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[tokio::test]
async fn the_source_install_runs_with_no_token_in_its_environment() {
    let (server, fake) = github_fake::Fake::start("").await;
    let mut runner = Runner::new(&server.uri());
    let path = fake_cargo(runner.path());
    runner.set("PATH", &path);
    runner.set("IMAGE_BUDGET_BIN", "");
    // A workflow may set the token for every step, too.
    runner.set("GITHUB_TOKEN", github_fake::TOKEN);
    runner.set("ACTIONS_RUNTIME_TOKEN", "runtime-secret-xyz");
    let (out, _) = runner.run();
    assert_exit(&out, 1);
    let install_env = std::fs::read_to_string(runner.path().join("install-env")).unwrap();
    assert!(install_env.contains("RUNNER_TEMP="), "the env was recorded");
    assert!(
        !install_env.contains(github_fake::TOKEN),
        "the token reached the build: {install_env}"
    );
    assert!(!install_env.contains("runtime-secret-xyz"));
    // The binary it installed ran, with the token, and commented.
    assert_eq!(fake.bodies().len(), 1);
}

#[tokio::test]
async fn the_gitlab_install_runs_with_no_token_and_an_unset_one_is_a_clear_error() {
    let (server, _fake) = gitlab_fake::Fake::start("42", true).await;
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    let record = dir.path().join("install-env");
    let run = |install: &str| {
        let mut cmd = gitlab_command(dir.path(), &server.uri(), true);
        cmd.env("IMAGE_BUDGET_BIN", "budget-not-installed-here")
            .env("IMAGE_BUDGET_INSTALL", install)
            .env("CI_JOB_TOKEN", "job-token-secret");
        cmd.output().unwrap()
    };
    let out = run(&format!("env > '{}'; exit 3", record.display()));
    assert_ne!(out.status.code(), Some(0));
    let install_env = std::fs::read_to_string(&record).unwrap();
    assert!(
        install_env.contains("CI_PROJECT_ID=42"),
        "the env was recorded"
    );
    assert!(!install_env.contains(gitlab_fake::TOKEN), "{install_env}");
    assert!(!install_env.contains("job-token-secret"), "{install_env}");

    let out = run("");
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("IMAGE_BUDGET_INSTALL is empty"),
        "{}",
        stderr(&out)
    );
}

/// Runs action/baseline-key.sh in `dir`; its outputs as key=value lines.
fn baseline_key(dir: &Path, env: &[(&str, &str)]) -> String {
    let outputs = dir.join("key-output");
    std::fs::write(&outputs, "").unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("action/baseline-key.sh"))
        .current_dir(dir)
        .env("GITHUB_OUTPUT", &outputs)
        .env_remove("GITHUB_BASE_REF");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_exit(&out, 0);
    std::fs::read_to_string(outputs).unwrap()
}

#[test]
fn each_config_names_its_own_baseline_and_a_pull_request_its_merge_base() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["commit", "-q", "--allow-empty", "-m", "A"]);
    let a = git(d, &["rev-parse", "HEAD"]);
    git(d, &["checkout", "-q", "-b", "feature"]);
    git(d, &["commit", "-q", "--allow-empty", "-m", "F"]);
    git(d, &["checkout", "-q", "main"]);
    git(d, &["commit", "-q", "--allow-empty", "-m", "B"]);
    git(d, &["checkout", "-q", "feature"]);

    let api = baseline_key(
        d,
        &[
            ("INPUT_CONFIG", "budgets.toml"),
            ("INPUT_COMMENT_ID", "default"),
        ],
    );
    let workers = baseline_key(
        d,
        &[
            ("INPUT_CONFIG", "ci/workers.toml"),
            ("INPUT_COMMENT_ID", "workers"),
        ],
    );
    let scope = |o: &str| output_value(o, "scope").unwrap().to_string();
    assert_ne!(scope(&api), scope(&workers), "two configs, two baselines");
    assert!(scope(&api).starts_with("budgets.toml@default-"), "{api}");
    assert!(
        scope(&workers).starts_with("ci_workers.toml@workers-"),
        "{workers}"
    );
    assert!(!scope(&workers).contains(','));
    assert_ne!(output_value(&api, "file"), output_value(&workers, "file"));
    assert_eq!(
        output_value(&api, "file").unwrap(),
        format!(".image-budget/baseline/{}/main.json", scope(&api))
    );
    // The same config and id: the same key, run after run.
    assert_eq!(
        api,
        baseline_key(
            d,
            &[
                ("INPUT_CONFIG", "budgets.toml"),
                ("INPUT_COMMENT_ID", "default")
            ]
        )
    );
    // No pull request: no merge base. A pull request: where it left main.
    assert_eq!(output_value(&api, "merge-base"), Some(""));
    let pr = baseline_key(d, &[("GITHUB_BASE_REF", "main")]);
    assert_eq!(output_value(&pr, "merge-base"), Some(a.as_str()));
    // A base branch git does not have (a shallow clone): empty, the newest is used.
    let shallow = baseline_key(d, &[("GITHUB_BASE_REF", "release")]);
    assert_eq!(output_value(&shallow, "merge-base"), Some(""));
}

#[tokio::test]
async fn a_merge_request_job_fetches_the_target_branchs_report_artifact() {
    let (server, fake) = gitlab_fake::Fake::start("42", true).await;
    // main's pipeline ran elsewhere (another runner: no shared cache).
    let main_dir = tempfile::tempdir().unwrap();
    config(main_dir.path());
    let main = gitlab_run(main_dir.path(), &server.uri(), false);
    assert_exit(&main, 1);
    let report = read_json(&main_dir.path().join("report.json"));
    fake.artifacts
        .lock()
        .unwrap()
        .push(("main".into(), "image-budget".into(), report));

    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    let out = gitlab_run(dir.path(), &server.uri(), true);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("comparing with the report of job image-budget on main"),
        "{}",
        stderr(&out)
    );
    let report = read_json(&dir.path().join("report.json"));
    for name in ["slim", "bloated"] {
        assert_eq!(row(&report, name)["baseline"]["source"], "report", "{name}");
    }
    assert_eq!(fake.bodies().len(), 1, "one note");
    // The artifact was asked for with the job token, never the API token.
    let requests = server.received_requests().await.unwrap();
    let artifact: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path().contains("/jobs/artifacts/"))
        .collect();
    assert_eq!(artifact.len(), 1);
    assert_eq!(
        artifact[0].url.path(),
        "/api/v4/projects/42/jobs/artifacts/main/raw/report.json"
    );
    assert_eq!(artifact[0].url.query(), Some("job=image-budget"));
    assert!(artifact[0].headers.get("private-token").is_none());
    // Nothing of main's report went into this job's own cache.
    assert!(!dir.path().join("image-budget/main.json").exists());
}

#[test]
fn the_release_workflow_builds_what_the_action_downloads() {
    let release = yaml(".github/workflows/release.yml");
    let targets: Vec<&str> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| str_of(&t["target"], "target"))
        .collect();
    assert_eq!(
        targets,
        ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"]
    );
    let text = std::fs::read_to_string(repo_root().join(".github/workflows/release.yml")).unwrap();
    assert!(text.contains(r#"asset="budget-$TARGET.tar.gz""#));
    assert!(text.contains(r#"sha256sum "$asset" > "$asset.sha256""#));
    // The action asks for the same names, for both machines.
    let script = std::fs::read_to_string(repo_root().join("action/run.sh")).unwrap();
    assert!(script.contains(r#"local asset="budget-$target.tar.gz""#));
    for target in targets {
        assert!(script.contains(&format!("target={target}")), "{target}");
    }
    assert!(script.contains(r"$url.sha256"));
}
