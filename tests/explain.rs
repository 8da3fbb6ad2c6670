//! `budget explain` and the explanation `check` gives an image over a
//! threshold, on images the engine built with `RUN rm` (its own whiteouts),
//! overwrites, caches, a toolchain and a `.git`: every byte asserted, and the
//! same answers from the engine, a registry and an archive of the image.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// A base image with a shell: busybox, imported with the links RUN uses.
fn busybox_base(name: &str) -> Image {
    let found = std::process::Command::new("busybox").arg("true").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "`busybox` is needed on PATH for these tests; run scripts/ensure-tools (or apt-get install busybox-static)"
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(busybox_path(), root.join("bin/busybox")).unwrap();
    for tool in ["sh", "rm", "mkdir", "cp"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(tool)).unwrap();
    }
    import_dir(&root, name)
}

fn busybox_path() -> String {
    let out = run("sh", &["-c", "command -v busybox"]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn busybox_bytes() -> u64 {
    std::fs::metadata(busybox_path()).unwrap().len()
}

/// Builds `dockerfile` over `base` in a context holding `files` (path,
/// exact size, seed): seeds no other test uses, so no cached layer is shared.
fn build_on(base: &Image, name: &str, files: &[(&str, usize, u64)], dockerfile: &str) -> Image {
    let dir = tempfile::tempdir().unwrap();
    for (file, len, seed) in files {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content(*len, *seed)).unwrap();
    }
    let text = format!("FROM {}\n{dockerfile}", base.tag);
    std::fs::write(dir.path().join("Dockerfile"), text).unwrap();
    let tag = tag(name);
    docker_ok(&["build", "-q", "-t", &tag, dir.path().to_str().unwrap()]);
    Image { tag }
}

/// The image and its baseline of the tests here.
struct Pair {
    _base: Image,
    new: Image,
    old: Image,
}

fn pair(name: &str) -> Pair {
    let base = busybox_base(&format!("{name}-base"));
    let new = build_on(
        &base,
        &format!("{name}-new"),
        &[
            ("big", 300_001, 9001),
            ("conf", 1_111, 9002),
            ("conf2", 2_222, 9003),
            ("lists/Packages", 7_003, 9004),
            ("src/.git/HEAD", 41, 9005),
            ("src/.git/objects/pack/p.pack", 5_005, 9006),
            ("src/main.c", 303, 9007),
        ],
        "COPY big /tmp/big\n\
         COPY conf /etc/app.conf\n\
         RUN rm /tmp/big\n\
         COPY conf2 /etc/app.conf\n\
         COPY lists /var/lib/apt/lists/\n\
         COPY src /src/\n\
         RUN mkdir -p /usr/lib/gcc/x86_64-linux-gnu/12 && cp /bin/busybox /usr/lib/gcc/x86_64-linux-gnu/12/cc1\n",
    );
    let old = build_on(
        &base,
        &format!("{name}-old"),
        &[("conf", 1_111, 9002), ("main.c", 100, 9008)],
        "COPY conf /etc/app.conf\nCOPY main.c /src/main.c\n",
    );
    Pair {
        _base: base,
        new,
        old,
    }
}

fn explain(dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["explain"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json", "--top", "20"]);
    let out = budget(dir, &all);
    assert_exit(&out, 0);
    // No progress (nor anything else) when stderr is not a terminal.
    assert_eq!(stderr(&out), "");
    json(&out)
}

/// What every source must agree on: all but where the image was read.
fn facts(explained: &Value) -> Value {
    let mut v = explained.clone();
    for key in ["ref", "source", "digest"] {
        v.as_object_mut().unwrap().remove(key);
    }
    for layer in v["layers"].as_array_mut().unwrap() {
        // Blob sizes are the registry's or the archive's, never the engine's.
        layer.as_object_mut().unwrap().remove("blob");
        layer.as_object_mut().unwrap().remove("compressed");
    }
    if let Some(b) = v["baseline"].as_object_mut() {
        for key in ["ref", "source", "digest"] {
            b.remove(key);
        }
    }
    v
}

fn paths(list: &Value) -> Vec<(String, i64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap().to_string(),
                c["delta"].as_i64().or(c["size"].as_i64()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn explain_gives_exact_wasted_bytes_a_file_diff_and_advice_from_every_source() {
    require_engine();
    let p = pair("explain");
    let busybox = busybox_bytes();
    let work = tempfile::tempdir().unwrap();
    let new = format!("docker-daemon:{}", p.new.tag);
    let old = format!("docker-daemon:{}", p.old.tag);
    let e = explain(work.path(), &[&new, "--baseline", &old]);

    assert_eq!(e["schema"], "image-budget/explain/v1");
    let size = p.new.inspect_size();
    assert_eq!(e["size"], size, "the engine's Size");
    let wasted = 300_001 + 1_111;
    assert_eq!(e["wasted"], wasted);
    assert_eq!(e["visible"], size - wasted, "visible + wasted = Size");
    assert_eq!(e["layers"].as_array().unwrap().len(), 8);
    assert_eq!(e["layers"][1]["wasted"], 300_001);
    assert_eq!(e["layers"][2]["wasted"], 1_111);
    assert_eq!(e["layers"][0]["in_baseline"], true, "the base is shared");
    assert_eq!(e["layers"][1]["in_baseline"], false);

    // The wasted bytes, each with the layer that added it and the one that
    // hid it (4 is the engine's whiteout from `RUN rm`).
    let w = &e["wasted_files"];
    assert_eq!(w.as_array().unwrap().len(), 2);
    assert_eq!(w[0]["path"], "/tmp/big");
    assert_eq!(
        (
            &w[0]["size"],
            &w[0]["layer"],
            &w[0]["hidden_by"],
            &w[0]["how"]
        ),
        (
            &Value::from(300_001),
            &Value::from(2),
            &Value::from(4),
            &Value::from("deleted")
        )
    );
    assert_eq!(w[1]["path"], "/etc/app.conf");
    assert_eq!(
        (&w[1]["layer"], &w[1]["hidden_by"], &w[1]["how"]),
        (&Value::from(3), &Value::from(5), &Value::from("rewritten"))
    );
    assert_eq!(e["largest"][0]["path"], "/bin/busybox");
    assert_eq!(e["largest"][0]["size"], busybox);
    assert_eq!(
        e["largest"][1]["path"],
        "/usr/lib/gcc/x86_64-linux-gnu/12/cc1"
    );
    assert_eq!(e["largest"][1]["layer"], 8);

    // Against the baseline, file by file.
    let c = &e["changes"];
    let visible_delta = busybox + 7_003 + 41 + 5_005 + (2_222 - 1_111) + (303 - 100);
    assert_eq!(c["delta"], visible_delta);
    assert_eq!(
        (&c["added"], &c["removed"], &c["grown"], &c["shrunk"]),
        (
            &Value::from(4),
            &Value::from(0),
            &Value::from(2),
            &Value::from(0)
        )
    );
    assert_eq!(
        paths(&c["top"]),
        [
            (
                "/usr/lib/gcc/x86_64-linux-gnu/12/cc1".to_string(),
                busybox as i64
            ),
            ("/var/lib/apt/lists/Packages".to_string(), 7_003),
            ("/src/.git/objects/pack/p.pack".to_string(), 5_005),
            ("/etc/app.conf".to_string(), 1_111),
            ("/src/main.c".to_string(), 203),
            ("/src/.git/HEAD".to_string(), 41),
        ]
    );
    assert_eq!(c["top"][3]["change"], "grown");
    assert_eq!(c["top"][3]["baseline_size"], 1_111);
    assert_eq!(c["top"][3]["size"], 2_222);
    assert_eq!(c["top"][3]["layer"], 5);
    assert!(
        c["top"][0]["instruction"]
            .as_str()
            .unwrap()
            .contains("cp /bin/busybox")
    );

    // Advice, each with its bytes, its layer and its paths.
    let advice: Vec<(String, u64, u64, String)> = e["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["code"].as_str().unwrap().to_string(),
                a["size"].as_u64().unwrap(),
                a["layer"].as_u64().unwrap(),
                a["paths"][0]["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut expected = vec![
        (
            "toolchain".to_string(),
            busybox,
            8,
            "/usr/lib/gcc".to_string(),
        ),
        (
            "deleted-later".to_string(),
            300_001,
            2,
            "/tmp/big".to_string(),
        ),
        (
            "package-cache".to_string(),
            7_003,
            6,
            "/var/lib/apt/lists".to_string(),
        ),
        (
            "vcs-directory".to_string(),
            5_046,
            7,
            "/src/.git".to_string(),
        ),
        (
            "rewritten-later".to_string(),
            1_111,
            3,
            "/etc/app.conf".to_string(),
        ),
    ];
    expected.sort_by_key(|a| std::cmp::Reverse(a.1));
    assert_eq!(advice, expected);
    assert_eq!(e["advice"][1]["hidden_by"], 4);

    // The same from a registry (pushed: blobs the engine compressed) and
    // from `docker save`'s archive.
    let registry = common::registry::LocalRegistry::start();
    let pushed_new = registry.docker_push(&p.new, "explain/app:new");
    let pushed_old = registry.docker_push(&p.old, "explain/app:old");
    let from_registry = explain(
        work.path(),
        &[
            &format!("docker://{pushed_new}"),
            "--baseline",
            &format!("docker://{pushed_old}"),
        ],
    );
    assert_eq!(from_registry["source"], "registry");
    assert_eq!(facts(&from_registry), facts(&e));
    // Each layer's blob size is the manifest's.
    let manifest = registry.manifest("explain/app", "new").json();
    for (layer, blob) in from_registry["layers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(manifest["layers"].as_array().unwrap())
    {
        assert_eq!(layer["compressed"], blob["size"]);
        assert_eq!(layer["blob"], blob["digest"]);
    }

    let archive = work.path().join("new.tar");
    let old_archive = work.path().join("old.tar");
    docker_ok(&["save", "-o", archive.to_str().unwrap(), &p.new.tag]);
    docker_ok(&["save", "-o", old_archive.to_str().unwrap(), &p.old.tag]);
    let from_archive = explain(
        work.path(),
        &[
            &format!("docker-archive:{}", archive.display()),
            "--baseline",
            &format!("docker-archive:{}", old_archive.display()),
        ],
    );
    assert_eq!(from_archive["source"], "docker-archive");
    assert_eq!(facts(&from_archive), facts(&e));

    // For people: the same facts as text and markdown.
    let out = budget(
        work.path(),
        &["explain", &new, "--baseline", &old, "--top", "3"],
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("size {} = ", image_budget::size::exact(size))),
        "{text}"
    );
    assert!(
        text.contains("/tmp/big  added in layer 2, deleted in layer 4"),
        "{text}"
    );
    assert!(text.contains("fix: delete them in the same RUN"), "{text}");
    let out = budget(work.path(), &["explain", &new, "--format", "markdown"]);
    assert_exit(&out, 0);
    let md = stdout(&out);
    assert!(
        md.contains("| 300.0 kB | /tmp/big | 2 | deleted in layer 4 |"),
        "{md}"
    );
    assert!(!md.contains("Against"), "no baseline, no diff:\n{md}");
}

#[test]
fn check_explains_only_the_images_over_a_threshold_in_the_report_and_the_comment() {
    require_engine();
    let p = pair("explain-check");
    let size = p.new.inspect_size();
    let config = format!(
        "[images.app]\nref = \"docker-daemon:{new}\"\nbaseline = \"docker-daemon:{old}\"\nwarn-size = \"{warn}\"\nmax-size = \"{max}\"\n\n\
         [images.fine]\nref = \"docker-daemon:{old}\"\nmax-size = \"{max}\"\n",
        new = p.new.tag,
        old = p.old.tag,
        warn = size - 1,
        max = size + 1,
    );
    let work = workdir(&config);
    let summary = work.path().join("summary.md");
    let out = budget_env(
        work.path(),
        &["check", "--format", "json", "--comment", "off"],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    assert_exit(&out, 0);
    let report = json(&out);
    let app = row(&report, "app");
    assert_eq!(app["status"], "warn");
    let e = &app["explanation"];
    assert_eq!(
        e["changes"].as_array().unwrap().len(),
        5,
        "the five largest"
    );
    assert_eq!(
        e["changes"][0]["path"],
        "/usr/lib/gcc/x86_64-linux-gnu/12/cc1"
    );
    assert_eq!(e["wasted_delta"], 300_001 + 1_111);
    let codes: Vec<&str> = e["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["toolchain", "deleted-later", "package-cache"]);
    assert!(
        row(&report, "fine").get("explanation").is_none(),
        "a passing image is not analysed"
    );

    let comment = std::fs::read_to_string(&summary).unwrap();
    assert!(comment.contains("**Files that changed most**"), "{comment}");
    assert!(
        comment.contains("| +1.1 kB | /etc/app.conf | grown | 5: COPY file:"),
        "{comment}"
    );
    assert!(comment.contains("**Advice**"), "{comment}");
    assert!(comment.contains("Fix: build in another stage"), "{comment}");

    // A saved report keeps no file lists: advice still, and a note why
    // there is no file diff.
    let main = work.path().join("main.json");
    std::fs::write(&main, serde_json::to_vec(&report).unwrap()).unwrap();
    let out = budget(
        work.path(),
        &[
            "check",
            "--format",
            "json",
            "--comment",
            "off",
            "--baseline",
            "main.json",
        ],
    );
    assert_exit(&out, 0);
    let report = json(&out);
    let e = &row(&report, "app")["explanation"];
    assert_eq!(e["changes"].as_array().unwrap().len(), 0);
    assert!(e["note"].as_str().unwrap().contains("saved report"), "{e}");
    assert_eq!(e["advice"][0]["code"], "toolchain");
}

#[test]
fn explain_of_what_is_not_there_is_a_clear_error() {
    let work = tempfile::tempdir().unwrap();
    let out = budget(work.path(), &["explain", "docker-archive:/no/such.tar"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("there is no file or directory"),
        "{}",
        stderr(&out)
    );
    let out = budget(work.path(), &["explain", "oci:"]);
    assert_exit(&out, 2);
    let out = budget(work.path(), &["explain", "docker-daemon:x", "--top", "0"]);
    assert_exit(&out, 2);
}
