//! `budget check` and `budget init` against the real engine, asserted to the byte.

mod common;

use common::*;

#[test]
fn five_images_report_the_engines_sizes_and_fail_exactly_the_over_budget_ones() {
    require_engine();
    let tiny = build("tiny", &[("a.bin", 1_000)]);
    let app = build("app", &[("app", 2_000_000), ("conf", 500)]);
    let three = build("three", &[("x", 300_000), ("y", 400_000), ("z", 500_000)]);
    let fat = build("fat", &[("blob", 5_000_000)]);
    let imported = import("imported", 1_234_567);
    let config = format!(
        r#"
[defaults]
max-layers = 10

[images.tiny]
ref = "{}"
max-size = "1kB"

[images.app]
ref = "{}"
max-size = "2MB"          # 2,000,500 bytes: over by 500

[images.three]
ref = "{}"
max-size = "2MiB"
max-layers = 2            # three layers: over

[images.fat]
ref = "{}"
max-size = "5MB"

[images.imported]
ref = "${{IMPORTED_REF}}"
max-size = 1234567
"#,
        tiny.tag, app.tag, three.tag, fat.tag
    );
    let dir = workdir(&config);
    let out = budget_env(
        dir.path(),
        &["check", "--format", "json"],
        &[("IMPORTED_REF", &imported.tag)],
    );
    assert_exit(&out, 1);
    let report = json(&out);
    assert_eq!(report["schema"], "image-budget/report/v1");
    assert_eq!(report["passed"], false);
    let names: Vec<&str> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tiny", "app", "three", "fat", "imported"]);

    for (name, image) in [
        ("tiny", &tiny),
        ("app", &app),
        ("three", &three),
        ("fat", &fat),
        ("imported", &imported),
    ] {
        let row = row(&report, name);
        assert_eq!(row["size"], image.inspect_size(), "{name}");
        assert_eq!(row["source"], "daemon");
        assert_eq!(row["ref"], image.tag.as_str());
        assert_eq!(row["digest"], image.inspect("{{.Id}}").as_str(), "{name}");
        assert_eq!(row["platform"], "linux/amd64");
        assert_eq!(
            row["compressed"],
            serde_json::Value::Null,
            "unknown is null, never 0"
        );
        assert_eq!(row["baseline"], serde_json::Value::Null);
    }
    // The engine counts file bytes: the sizes are the files' sizes, exactly.
    assert_eq!(row(&report, "tiny")["size"], 1_000);
    assert_eq!(row(&report, "app")["size"], 2_000_500);
    assert_eq!(row(&report, "three")["size"], 1_200_000);
    assert_eq!(row(&report, "fat")["size"], 5_000_000);
    assert_eq!(row(&report, "imported")["size"], 1_234_567);

    let statuses: Vec<&str> = names
        .iter()
        .map(|n| row(&report, n)["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pass", "fail", "fail", "pass", "pass"]);

    let app_row = row(&report, "app");
    assert_eq!(app_row["layers"], 2);
    assert_eq!(app_row["findings"][0]["code"], "max-size");
    assert_eq!(app_row["findings"][0]["limit"], 2_000_000);
    assert_eq!(app_row["findings"][0]["actual"], 2_000_500);
    assert_eq!(app_row["findings"][0]["severity"], "fail");
    let three_row = row(&report, "three");
    assert_eq!(three_row["layers"], 3);
    assert_eq!(three_row["findings"].as_array().unwrap().len(), 1);
    assert_eq!(three_row["findings"][0]["code"], "max-layers");
    assert_eq!(three_row["findings"][0]["actual"], 3);

    // Layers carry the instruction that made them; ENV made none.
    let layers = app_row["layer_details"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0]["size"], 2_000_000);
    assert!(
        layers[0]["instruction"]
            .as_str()
            .unwrap()
            .starts_with("COPY "),
        "{layers:?}"
    );
    assert_eq!(layers[1]["size"], 500);
    assert!(
        layers[1]["instruction"].as_str().unwrap().contains("/conf"),
        "{layers:?}"
    );

    // The table says the same to a person, with the reasons.
    let table = budget_env(dir.path(), &["check"], &[("IMPORTED_REF", &imported.tag)]);
    assert_exit(&table, 1);
    let text = stdout(&table);
    assert!(
        text.contains("fail app: size 2.0 MB is over the max-size budget of 2.0 MB by 500 bytes"),
        "{text}"
    );
    assert!(
        text.contains("fail three: 3 layers, over the max-layers budget of 2"),
        "{text}"
    );
    assert!(text.contains("FAIL: 2 of 5 images over budget"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour off a terminal");

    // --no-fail turns 1 into 0, and --output keeps stdout empty.
    let saved = dir.path().join("report.json");
    let quiet = budget_env(
        dir.path(),
        &[
            "check",
            "--no-fail",
            "--format",
            "json",
            "--output",
            saved.to_str().unwrap(),
        ],
        &[("IMPORTED_REF", &imported.tag)],
    );
    assert_exit(&quiet, 0);
    assert!(quiet.stdout.is_empty());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(saved["images"].as_array().unwrap().len(), 5);

    // Naming images checks only those.
    let only = budget_env(
        dir.path(),
        &["check", "tiny", "fat"],
        &[("IMPORTED_REF", &imported.tag)],
    );
    assert_exit(&only, 0);
    assert!(stdout(&only).contains("PASS: all 2 images within budget"));
}

#[test]
fn a_missing_image_or_bad_reference_is_an_error_and_the_others_are_still_reported() {
    require_engine();
    let present = build("present", &[("f", 4_321)]);
    let config = format!(
        r#"
[images.present]
ref = "{}"
max-size = "1MB"

[images.missing]
ref = "image-budget-test/never-built-{}:nope"

[images.bad]
ref = "Acme/API:1.0"
"#,
        present.tag,
        std::process::id()
    );
    let dir = workdir(&config);
    let out = budget(dir.path(), &["check", "--format", "json"]);
    assert_exit(&out, 2);
    let report = json(&out);
    assert_eq!(report["passed"], false);
    assert_eq!(row(&report, "present")["status"], "pass");
    assert_eq!(row(&report, "present")["size"], 4_321);
    let missing = row(&report, "missing");
    assert_eq!(missing["status"], "error");
    assert_eq!(missing["size"], serde_json::Value::Null);
    let message = missing["error"].as_str().unwrap();
    assert!(message.contains("is not in the local engine"), "{message}");
    assert!(message.contains("docker pull"), "{message}");
    assert!(message.contains("budgets.toml:7:7"), "{message}");
    let bad = row(&report, "bad");
    assert_eq!(bad["status"], "error");
    let message = bad["error"].as_str().unwrap();
    assert!(message.contains("not a valid image reference"), "{message}");
    assert!(message.contains("lowercase"), "{message}");
}

#[test]
fn an_unreachable_engine_is_a_clear_error_for_every_image() {
    let dir = workdir("[images.a]\nref = \"acme/a\"\n\n[images.b]\nref = \"acme/b\"\n");
    let out = budget_env(
        dir.path(),
        &["check", "--format", "json"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_exit(&out, 2);
    let report = json(&out);
    for name in ["a", "b"] {
        let row = row(&report, name);
        assert_eq!(row["status"], "error");
        let message = row["error"].as_str().unwrap();
        assert!(
            message
                .contains("cannot reach the container engine at unix:///nonexistent/docker.sock"),
            "{message}"
        );
        assert!(message.contains("DOCKER_HOST"), "{message}");
    }
    let table = budget_env(
        dir.path(),
        &["check"],
        &[("DOCKER_HOST", "tcp://127.0.0.1:1")],
    );
    assert_exit(&table, 2);
    assert!(stdout(&table).contains("cannot reach the container engine at tcp://127.0.0.1:1"));
}

#[test]
fn growth_is_judged_against_a_baseline_reference() {
    require_engine();
    let main = build("growth-main", &[("app", 1_000_000)]);
    let grown = build("growth-pr", &[("app", 1_060_000)]);
    let shrunk = build("shrunk-pr", &[("app", 900_000)]);
    let main_tag = main.tag.clone();
    let config = format!(
        r#"
[defaults]
baseline = "{main_tag}"
max-growth = "5%"
warn-growth = "2%"

[images.grown]
ref = "{}"

[images.shrunk]
ref = "{}"

[images.fresh]
ref = "{}"
baseline = "docker-daemon:image-budget-test/{{name}}-never-{}:main"
max-size = "2MB"
"#,
        grown.tag,
        shrunk.tag,
        shrunk.tag,
        std::process::id()
    );
    let dir = workdir(&config);
    let out = budget(dir.path(), &["check", "--format", "json"]);
    assert_exit(&out, 1);
    let report = json(&out);
    let grown_row = row(&report, "grown");
    assert_eq!(grown_row["status"], "fail");
    assert_eq!(grown_row["baseline"]["ref"], main_tag.as_str());
    assert_eq!(grown_row["baseline"]["source"], "reference");
    assert_eq!(grown_row["baseline"]["size"], 1_000_000);
    assert_eq!(grown_row["delta"]["size"], 60_000);
    assert_eq!(grown_row["delta"]["layers"], 0);
    assert_eq!(grown_row["findings"][0]["code"], "max-growth");
    // Its one layer is not the baseline's: in the report, as in the comment.
    assert_eq!(
        grown_row["layer_change"]["cause"], "base-image",
        "{grown_row:#}"
    );
    assert_eq!(grown_row["layer_change"]["added"], 1);
    assert_eq!(grown_row["layer_change"]["removed"], 1);
    assert_eq!(grown_row["findings"][0]["limit"], 50_000);
    assert_eq!(grown_row["findings"][0]["actual"], 60_000);
    let shrunk_row = row(&report, "shrunk");
    assert_eq!(shrunk_row["status"], "pass");
    assert_eq!(shrunk_row["delta"]["size"], -100_000);
    // No baseline image: new, judged by absolute budgets only, never failed for it.
    let fresh = row(&report, "fresh");
    assert_eq!(fresh["status"], "pass");
    assert_eq!(fresh["baseline"], serde_json::Value::Null);
    assert!(
        fresh["notes"][0]
            .as_str()
            .unwrap()
            .contains("judged as new")
    );

    // The same check against a saved report from main, matched by name.
    let main_dir = workdir(&format!(
        "[images.grown]\nref = \"{main_tag}\"\n[images.shrunk]\nref = \"{main_tag}\"\n"
    ));
    let saved = budget(
        main_dir.path(),
        &["check", "--format", "json", "--output", "main.json"],
    );
    assert_exit(&saved, 0);
    let main_json = main_dir.path().join("main.json");
    let against_file = budget(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--baseline",
            main_json.to_str().unwrap(),
        ],
    );
    assert_exit(&against_file, 1);
    let report = json(&against_file);
    assert_eq!(row(&report, "grown")["baseline"]["source"], "report");
    assert_eq!(row(&report, "grown")["delta"]["size"], 60_000);
    assert_eq!(row(&report, "shrunk")["delta"]["size"], -100_000);
    assert_eq!(row(&report, "fresh")["baseline"], serde_json::Value::Null);
    assert_eq!(row(&report, "fresh")["status"], "pass");

    // A warning alone passes.
    let warn_dir = workdir(&format!(
        "[images.w]\nref = \"{}\"\nbaseline = \"{main_tag}\"\nmax-growth = \"10%\"\nwarn-growth = \"5%\"\n",
        grown.tag
    ));
    let warned = budget(warn_dir.path(), &["check"]);
    assert_exit(&warned, 0);
    assert!(
        stdout(&warned).contains("warn w: grew by 60,000 bytes (+6.0%)"),
        "{}",
        stdout(&warned)
    );
}

#[test]
fn a_platform_the_image_is_not_for_is_an_error() {
    require_engine();
    let image = build("platform", &[("f", 10)]);
    let dir = workdir(&format!(
        "[images.arm]\nref = \"{}\"\nplatform = \"linux/arm64\"\n[images.amd]\nref = \"{}\"\nplatform = \"linux/amd64\"\n",
        image.tag, image.tag
    ));
    let out = budget(dir.path(), &["check", "--format", "json"]);
    assert_exit(&out, 2);
    let report = json(&out);
    let message = row(&report, "arm")["error"].as_str().unwrap().to_string();
    assert!(
        message.contains("is in the local engine for linux/amd64, not for linux/arm64"),
        "{message}"
    );
    assert_eq!(row(&report, "amd")["status"], "pass");
}

#[test]
fn init_writes_budgets_that_today_passes() {
    require_engine();
    let one = build("init-one", &[("f", 1_500_000)]);
    let two = import("init-two", 999);
    let dir = tempfile::tempdir().unwrap();
    let out = budget(dir.path(), &["init", &one.tag, &two.tag]);
    assert_exit(&out, 0);
    let text = std::fs::read_to_string(dir.path().join("budgets.toml")).unwrap();
    assert!(
        text.contains("max-size = \"1.7MB\"  # today: 1,500,000 bytes"),
        "{text}"
    );
    assert!(
        text.contains("max-size = \"1.1kB\"  # today: 999 bytes"),
        "{text}"
    );
    let check = budget(dir.path(), &["check", "--format", "json"]);
    assert_exit(&check, 0);
    assert_eq!(json(&check)["images"][0]["size"], 1_500_000);

    // It never overwrites without --force.
    let again = budget(dir.path(), &["init", &one.tag]);
    assert_exit(&again, 2);
    assert!(stderr(&again).contains("exists already; pass --force"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("budgets.toml")).unwrap(),
        text
    );
    let forced = budget(
        dir.path(),
        &["init", "--force", "--headroom", "0", &one.tag],
    );
    assert_exit(&forced, 0);
    let text = std::fs::read_to_string(dir.path().join("budgets.toml")).unwrap();
    assert!(text.contains("max-size = \"1.5MB\""), "{text}");

    // A missing image writes nothing.
    let empty = tempfile::tempdir().unwrap();
    let missing = budget(empty.path(), &["init", "image-budget-test/not-there:1"]);
    assert_exit(&missing, 2);
    assert!(stderr(&missing).contains("is not in the local engine"));
    assert!(!empty.path().join("budgets.toml").exists());
}

/// A docker config directory holding one context per `(name, host)`.
fn docker_contexts(dir: &std::path::Path, contexts: &[(&str, &str)], current: Option<&str>) {
    use sha2::Digest as _;
    for (name, host) in contexts {
        let hex: String = sha2::Sha256::digest(name.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let meta = dir.join("contexts/meta").join(hex);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            serde_json::json!({"Name": name, "Metadata": {"Description": ""},
                "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}}})
            .to_string(),
        )
        .unwrap();
    }
    let config = match current {
        Some(c) => serde_json::json!({"auths": {}, "currentContext": c}),
        None => serde_json::json!({"auths": {}}),
    };
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
}

#[test]
fn the_engine_is_found_through_docker_contexts_as_the_docker_cli_finds_it() {
    require_engine();
    let image = build("context", &[("app", 12_345)]);
    let dir = workdir(&format!("[images.app]\nref = \"{}\"\n", image.tag));
    let config = tempfile::tempdir().unwrap();
    docker_contexts(
        config.path(),
        &[
            ("local", "unix:///var/run/docker.sock"),
            ("broken", "unix:///nonexistent/colima.sock"),
        ],
        Some("local"),
    );
    let docker_config = config.path().to_str().unwrap();
    // `currentContext` of the config; an empty DOCKER_HOST is unset.
    let out = budget_env(
        dir.path(),
        &["check", "--format", "json"],
        &[("DOCKER_CONFIG", docker_config), ("DOCKER_HOST", "")],
    );
    assert_exit(&out, 0);
    assert_eq!(row(&json(&out), "app")["size"], image.inspect_size());
    // DOCKER_CONTEXT wins over the config, and an unreachable context says which it is.
    let out = budget_env(
        dir.path(),
        &["check", "--format", "json"],
        &[
            ("DOCKER_CONFIG", docker_config),
            ("DOCKER_HOST", ""),
            ("DOCKER_CONTEXT", "broken"),
        ],
    );
    assert_exit(&out, 2);
    let message = row(&json(&out), "app")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains(
            "cannot reach the container engine at unix:///nonexistent/colima.sock (docker context `broken`)"
        ),
        "{message}"
    );
    // A context that does not exist is named.
    let out = budget_env(
        dir.path(),
        &["check", "--format", "json"],
        &[
            ("DOCKER_CONFIG", docker_config),
            ("DOCKER_HOST", ""),
            ("DOCKER_CONTEXT", "nope"),
        ],
    );
    assert_exit(&out, 2);
    let message = row(&json(&out), "app")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("DOCKER_CONTEXT names the docker context `nope`"),
        "{message}"
    );
    // podman's CONTAINER_HOST, when docker names nothing.
    let out = budget_env(
        dir.path(),
        &["check", "--format", "json"],
        &[
            ("DOCKER_CONFIG", docker_config),
            ("DOCKER_HOST", ""),
            ("DOCKER_CONTEXT", "default"),
            ("CONTAINER_HOST", "unix:///var/run/docker.sock"),
        ],
    );
    assert_exit(&out, 0);
}

#[test]
fn the_engines_api_version_is_remembered_so_a_run_needs_two_requests_per_image() {
    require_engine();
    let image = build("remembered", &[("r.bin", 4_321)]);
    let work = workdir(&format!(
        "[images.one]\nref = \"docker-daemon:{}\"\nmax-size = \"1MB\"\n",
        image.tag
    ));
    let (host, seen) = recording_proxy(work.path(), &engine_socket());
    let run = || {
        let out = budget_env(
            work.path(),
            &["check", "--format", "json"],
            &[("DOCKER_HOST", host.as_str())],
        );
        assert_exit(&out, 0);
        assert_eq!(row(&json(&out), "one")["size"], image.inspect_size());
    };
    // The first run makes the handshake and remembers the version.
    run();
    let first: Vec<String> = std::mem::take(&mut *seen.lock().unwrap());
    assert!(first.iter().any(|l| l.contains("/version")), "{first:#?}");
    let engines = work.path().join(".budget-cache/engines/sha256");
    let files: Vec<_> = std::fs::read_dir(&engines).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    let version = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(version.trim().starts_with("1."), "{version}");

    // The second: inspect and history, nothing else.
    run();
    let second: Vec<String> = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(second.len(), 2, "{second:#?}");
    assert!(
        second[0].contains("/images/") && second[0].contains("/json"),
        "{second:#?}"
    );
    assert!(second[1].contains("/history"), "{second:#?}");

    // A damaged entry: the handshake is made again, and the version kept.
    std::fs::write(files[0].path(), "not a version\n").unwrap();
    run();
    let third: Vec<String> = std::mem::take(&mut *seen.lock().unwrap());
    assert!(third.iter().any(|l| l.contains("/version")), "{third:#?}");
    assert_eq!(std::fs::read_to_string(files[0].path()).unwrap(), version);
}
