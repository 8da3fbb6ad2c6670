//! One config mixing every source: engine images (one pushed, one never
//! pushed), registry images (anonymous and with credentials), a multi-arch
//! index checked on every platform, and archives in all three formats.
//! Sizes are asserted to the byte against the engine, the registry's own
//! manifests, and the archive's own files.

mod common;

use std::path::Path;

use common::registry::LocalRegistry;
use common::*;
use serde_json::json;

fn layer_sum(manifest: &serde_json::Value) -> u64 {
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .sum()
}

/// The manifest an OCI layout's index.json points at.
fn layout_manifest(dir: &Path) -> serde_json::Value {
    let read = |digest: &str| {
        let hex = digest.strip_prefix("sha256:").unwrap();
        serde_json::from_slice::<serde_json::Value>(
            &std::fs::read(dir.join("blobs/sha256").join(hex)).unwrap(),
        )
        .unwrap()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    read(index["manifests"][0]["digest"].as_str().unwrap())
}

#[test]
fn a_mixed_config_reports_exact_sizes_from_every_source() {
    require_engine();
    require_tool("skopeo");
    let work = tempfile::tempdir().unwrap();
    let open = LocalRegistry::start();
    let locked = LocalRegistry::start_with_user("ci", "s3cret-Pa55");

    // Engine images: one never pushed (compressed estimated), one pushed.
    let local = build("mix-local", &[("a.bin", 300_000), ("b.bin", 1_234)]);
    let pushed = build("mix-pushed", &[("p.bin", 250_000)]);
    let pushed_name = format!("{}/mix/pushed:1", open.host);
    let _pushed_tag = retag(&pushed, &pushed_name);
    run("docker", &["push", &pushed_name]);
    let pushed_manifest = open.manifest("mix/pushed", "1").json();

    // Registry-only images, anonymous and behind basic auth.
    let remote = build("mix-remote", &[("r.bin", 123_456), ("s.bin", 7)]);
    let remote_ref = open.skopeo_copy(&remote, "mix/remote:2", "oci");
    let remote_manifest = open.manifest("mix/remote", "2").json();
    let secret = build("mix-secret", &[("k.bin", 99_999)]);
    let secret_ref = locked.skopeo_copy(&secret, "mix/secret:3", "v2s2");
    let secret_manifest = locked.manifest("mix/secret", "3").json();
    let docker_config = work.path().join("docker-config");
    std::fs::create_dir(&docker_config).unwrap();
    std::fs::write(
        docker_config.join("config.json"),
        json!({"auths": {&locked.host: {"username": "ci", "password": "s3cret-Pa55"}}}).to_string(),
    )
    .unwrap();

    // A multi-arch index (and an attestation) in the registry.
    let amd = build("mix-amd64", &[("amd.bin", 40_000)]);
    let arm = build("mix-arm64", &[("arm.bin", 30_000)]);
    let att = build("mix-att", &[("statement.json", 500)]);
    let entry = |name: &str, image: &Image, platform: serde_json::Value| {
        open.docker_push(image, &format!("mix/multi:{name}"));
        let answer = open.manifest("mix/multi", name);
        let manifest = answer.json();
        (
            json!({"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                   "digest": answer.header("Docker-Content-Digest").unwrap(),
                   "size": answer.body.len(), "platform": platform}),
            layer_sum(&manifest),
        )
    };
    let (amd_entry, amd_sum) = entry(
        "amd64",
        &amd,
        json!({"os": "linux", "architecture": "amd64"}),
    );
    let (arm_entry, arm_sum) = entry(
        "arm64",
        &arm,
        json!({"os": "linux", "architecture": "arm64", "variant": "v8"}),
    );
    let (mut att_entry, _) = entry(
        "att",
        &att,
        json!({"os": "unknown", "architecture": "unknown"}),
    );
    att_entry["annotations"] = json!({"vnd.docker.reference.type": "attestation-manifest"});
    let list = "application/vnd.docker.distribution.manifest.list.v2+json";
    let index = json!({"schemaVersion": 2, "mediaType": list,
                       "manifests": [amd_entry, att_entry, arm_entry]});
    open.put_manifest("mix/multi", "1.0", list, index.to_string().as_bytes());

    // Archives: docker save, skopeo oci-archive, an OCI layout directory.
    let archived = build("mix-archived", &[("z.bin", 500_000), ("y.bin", 64)]);
    let saved = work.path().join("saved.tar");
    run(
        "docker",
        &["save", "-o", saved.to_str().unwrap(), &archived.tag],
    );
    let oci_tar = work.path().join("image.oci.tar");
    run(
        "skopeo",
        &[
            "copy",
            "--quiet",
            &format!("docker-daemon:{}", archived.tag),
            &format!("oci-archive:{}:v1", oci_tar.display()),
        ],
    );
    let layout = work.path().join("layout");
    run(
        "skopeo",
        &[
            "copy",
            "--quiet",
            &format!("docker-daemon:{}", archived.tag),
            &format!("oci:{}:v1", layout.display()),
        ],
    );
    let layout_sum = layer_sum(&layout_manifest(&layout));

    let config = format!(
        r#"
[images.local]
ref = "{local}"
max-compressed = "10MB"

[images.pushed]
ref = "{pushed_name}"
max-compressed = "10MB"

[images.remote]
ref = "docker://{remote_ref}"
max-compressed = "100kB"

[images.secret]
ref = "{secret_ref}"

[images.multi]
ref = "{open_host}/mix/multi:1.0"
platform = "all"

[images.saved]
ref = "docker-archive:saved.tar"
max-size = "1MB"

[images.ociarchive]
ref = "oci-archive:image.oci.tar:v1"

[images.layout]
ref = "oci:layout:v1"
platform = "linux/amd64"
"#,
        local = local.tag,
        open_host = open.host,
    );
    std::fs::write(work.path().join("budgets.toml"), config).unwrap();
    let out = budget_env(
        work.path(),
        &["check", "--format", "json"],
        &[("DOCKER_CONFIG", docker_config.to_str().unwrap())],
    );
    assert_exit(&out, 1);
    let report = json(&out);

    // The engine's own figure, and a compressed size: estimated when never pushed...
    let local_row = row(&report, "local");
    assert_eq!(local_row["source"], "daemon");
    assert_eq!(local_row["size"], local.inspect_size());
    assert_eq!(local_row["size"], 301_234);
    assert_eq!(local_row["compressed_estimated"], true);
    let estimate = local_row["compressed"].as_u64().unwrap();
    let local_tar = work.path().join("local.tar");
    run(
        "docker",
        &["save", "-o", local_tar.to_str().unwrap(), &local.tag],
    );
    let direct =
        image_budget::measure::archive::measure_docker_archive(&local_tar, None, None, true)
            .unwrap();
    assert_eq!(Some(estimate), direct[0].metrics.compressed);
    assert!(estimate > 300_000, "random bytes do not shrink: {estimate}");
    // ...and the registry's figure once pushed.
    let pushed_row = row(&report, "pushed");
    assert_eq!(pushed_row["size"], 250_000);
    assert_eq!(pushed_row["compressed"], layer_sum(&pushed_manifest));
    assert_eq!(pushed_row["compressed_estimated"], false);

    // Registry images: compressed from the manifest, uncompressed unknown (null, never 0).
    let remote_row = row(&report, "remote");
    assert_eq!(remote_row["source"], "registry");
    assert_eq!(remote_row["compressed"], layer_sum(&remote_manifest));
    assert_eq!(remote_row["size"], serde_json::Value::Null);
    assert_eq!(remote_row["layers"], 2);
    assert_eq!(
        remote_row["status"], "fail",
        "123 kB of random bytes is over 100 kB compressed"
    );
    assert_eq!(remote_row["findings"][0]["code"], "max-compressed");
    let secret_row = row(&report, "secret");
    assert_eq!(secret_row["status"], "pass", "{secret_row:#}");
    assert_eq!(secret_row["compressed"], layer_sum(&secret_manifest));

    // The index: a row per platform, never the attestation.
    let multi: Vec<&serde_json::Value> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["name"] == "multi")
        .collect();
    assert_eq!(multi.len(), 2, "{multi:#?}");
    assert_eq!(multi[0]["platform"], "linux/amd64");
    assert_eq!(multi[0]["compressed"], amd_sum);
    assert_eq!(multi[1]["platform"], "linux/arm64/v8");
    assert_eq!(multi[1]["compressed"], arm_sum);

    // Archives, counted as the engine counts.
    let expected = archived.inspect_size();
    assert_eq!(expected, 500_064);
    for name in ["saved", "ociarchive", "layout"] {
        assert_eq!(row(&report, name)["size"], expected, "{name}");
        assert_eq!(row(&report, name)["layers"], 2, "{name}");
    }
    assert_eq!(row(&report, "saved")["source"], "docker-archive");
    assert_eq!(row(&report, "saved")["compressed"], serde_json::Value::Null);
    assert_eq!(
        row(&report, "saved")["digest"],
        archived.inspect("{{.Id}}").as_str()
    );
    assert_eq!(row(&report, "ociarchive")["source"], "oci-archive");
    assert_eq!(row(&report, "ociarchive")["compressed"], layout_sum);
    assert_eq!(row(&report, "layout")["source"], "oci");
    assert_eq!(row(&report, "layout")["compressed"], layout_sum);
    assert_eq!(row(&report, "layout")["platform"], "linux/amd64");

    // No budget needed a registry image's size: manifests and configs
    // were read, and layer blobs only for `remote`, which is over its
    // max-compressed budget and so is read file by file for its explanation.
    assert!(
        locked.layer_blob_requests().is_empty(),
        "{:#?}",
        locked.layer_blob_requests()
    );
    let blobs = open.layer_blob_requests();
    assert_eq!(blobs.len(), 2, "remote's two layers, once: {blobs:#?}");
    assert!(
        blobs.iter().all(|b| b.contains("/v2/mix/remote/blobs/")),
        "{blobs:#?}"
    );
    assert!(remote_row["explanation"].is_object(), "{remote_row}");
    assert_eq!(
        remote_row["size"],
        serde_json::Value::Null,
        "still not judged"
    );
    // The password is never shown.
    assert!(!stdout(&out).contains("s3cret-Pa55") && !stderr(&out).contains("s3cret-Pa55"));
}

#[test]
fn unreachable_and_missing_sources_are_errors_and_the_rest_still_report() {
    require_engine();
    let work = tempfile::tempdir().unwrap();
    let open = LocalRegistry::start();
    let fine = build("bad-fine", &[("f", 321)]);
    std::fs::write(work.path().join("broken.tar"), b"this is not a tar").unwrap();
    let config = format!(
        r#"
[images.fine]
ref = "{}"

[images.gone-registry]
ref = "docker://127.0.0.1:1/nothing/here:1"

[images.no-tag]
ref = "docker://{}/never/pushed:1"

[images.no-file]
ref = "oci-archive:missing.tar"

[images.broken]
ref = "docker-archive:broken.tar"

[images.nowhere]
ref = "{}/mix/none:1"
"#,
        fine.tag, open.host, open.host
    );
    std::fs::write(work.path().join("budgets.toml"), config).unwrap();
    let out = budget(work.path(), &["check", "--format", "json"]);
    assert_exit(&out, 2);
    let report = json(&out);
    assert_eq!(row(&report, "fine")["status"], "pass");
    assert_eq!(row(&report, "fine")["size"], 321);
    let error = |name: &str| row(&report, name)["error"].as_str().unwrap().to_string();
    assert!(
        error("gone-registry").contains("cannot reach registry 127.0.0.1:1"),
        "{}",
        error("gone-registry")
    );
    assert!(
        error("no-tag").contains("is not in registry"),
        "{}",
        error("no-tag")
    );
    assert!(
        error("no-file").contains("there is no file or directory `missing.tar`"),
        "{}",
        error("no-file")
    );
    assert!(
        error("broken").contains("broken.tar"),
        "{}",
        error("broken")
    );
    let nowhere = error("nowhere");
    assert!(nowhere.contains("is not in the local engine"), "{nowhere}");
    assert!(nowhere.contains("then its registry: image"), "{nowhere}");
    assert!(nowhere.contains("is not in registry"), "{nowhere}");
    for name in ["gone-registry", "no-tag", "no-file", "broken", "nowhere"] {
        assert_eq!(row(&report, name)["status"], "error", "{name}");
    }
}
