//! Registry images measured as exactly as local ones, against a real
//! registry (Debian's docker-registry): the uncompressed size counted from
//! the layer blobs (gzip, zstd, uncompressed) to the engine's byte, layers
//! named by diff ID from every source, the layer facts cache (a second run
//! reads no blob; a damaged entry is recomputed; a blob that is not what its
//! digest says is an error), baselines at their row's platform, and a
//! baseline that cannot be measured keeping the image's own verdict.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use common::registry::LocalRegistry;
use common::*;
use serde_json::{Value, json};

/// The engine's diff IDs of an image, oldest first.
fn diff_ids(image: &Image) -> Vec<String> {
    image
        .inspect("{{range .RootFS.Layers}}{{.}} {{end}}")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn layer_field<'a>(row: &'a Value, field: &str) -> Vec<&'a str> {
    row["layer_details"]
        .as_array()
        .unwrap_or_else(|| panic!("no layer_details in {row:#}"))
        .iter()
        .map(|l| {
            l[field]
                .as_str()
                .unwrap_or_else(|| panic!("no {field} in {l}"))
        })
        .collect()
}

fn manifest_layers(manifest: &Value) -> Vec<(String, String)> {
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["digest"].as_str().unwrap().to_string(),
                l["mediaType"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn registry_images_are_counted_as_the_engine_counts_them_for_every_compression() {
    require_engine();
    require_tool("skopeo");
    let registry = LocalRegistry::start();
    let image = build_dockerfile(
        "rs-exact",
        &[
            ("bin/app", 300_000),
            ("share/data.txt", 70_000),
            ("etc/conf", 1_234),
        ],
        "FROM scratch\nCOPY bin /bin\nCOPY share /share\nENV A=1\nCOPY etc /etc\n",
    );
    let size = image.inspect_size();
    assert_eq!(size, 371_234);
    let work = tempfile::tempdir().unwrap();

    // gzip (docker push), zstd (skopeo), and uncompressed (an OCI layout
    // pushed blob by blob as it is).
    let gzip = registry.docker_push(&image, "exact/gzip:1");
    let zstd = format!("{}/exact/zstd:1", registry.host);
    run(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "--format",
            "oci",
            "--dest-compress-format",
            "zstd",
            "--dest-tls-verify=false",
            &format!("docker-daemon:{}", image.tag),
            &format!("docker://{zstd}"),
        ],
    );
    let layout = work.path().join("layout");
    run(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "--dest-oci-accept-uncompressed-layers",
            &format!("docker-daemon:{}", image.tag),
            &format!("oci:{}:1", layout.display()),
        ],
    );
    let plain = registry.push_layout(&layout, "exact/plain", "1");
    let compressions = [
        ("gzip", "exact/gzip", ".tar.gzip"),
        ("zstd", "exact/zstd", "+zstd"),
        ("plain", "exact/plain", "layer.v1.tar"),
    ];
    for (_, repository, suffix) in compressions {
        let layers = manifest_layers(&registry.manifest(repository, "1").json());
        assert!(
            layers.iter().all(|(_, t)| t.ends_with(suffix)),
            "{repository}: {layers:?}"
        );
    }

    write(
        work.path(),
        "budgets.toml",
        &format!(
            "[images.gzip]\nref = \"{gzip}\"\nmax-size = \"1MB\"\n\n\
             [images.zstd]\nref = \"docker://{zstd}\"\nmax-size = \"1MB\"\n\n\
             [images.plain]\nref = \"docker://{plain}\"\nwarn-size = \"371233\"\n"
        ),
    );
    let out = budget(work.path(), &["check", "--format", "json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    let engine_layers = diff_ids(&image);
    for (name, repository, _) in compressions {
        let row = row(&report, name);
        assert_eq!(row["source"], "registry", "{name}");
        assert_eq!(row["size"], size, "{name}: the engine's Size, to the byte");
        assert_eq!(
            row["platform"], "linux/amd64",
            "{name}: from the config blob"
        );
        assert_eq!(
            layer_field(row, "digest"),
            engine_layers,
            "{name}: diff IDs"
        );
        let blobs: Vec<String> = manifest_layers(&registry.manifest(repository, "1").json())
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        assert_eq!(layer_field(row, "blob"), blobs, "{name}: blob digests");
        let sizes: u64 = row["layer_details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["size"].as_u64().unwrap())
            .sum();
        assert_eq!(sizes, size, "{name}: layer sizes add up");
        assert!(
            layer_field(row, "instruction")
                .iter()
                .all(|i| i.starts_with("COPY ")),
            "{name}: the config's history, empty layers skipped"
        );
    }
    assert_eq!(row(&report, "plain")["status"], "warn");
    assert_eq!(row(&report, "plain")["findings"][0]["actual"], size);
    // A plain reference the engine does not have: measured in its registry, and said so.
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "`{gzip}` was measured in its registry (the local engine has no such image)"
        )),
        "{err}"
    );
    assert_eq!(
        err.matches("measured in its registry").count(),
        1,
        "only the plain reference: {err}"
    );

    // No engine to ask: the same, and said so.
    let out = budget_env(
        work.path(),
        &["check", "gzip", "--format", "json"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_exit(&out, 0);
    assert_eq!(row(&json(&out), "gzip")["size"], size);
    let err = stderr(&out);
    assert!(
        err.contains("was measured in its registry (the local engine could not be reached)"),
        "{err}"
    );

    // One byte of a file changed in the registry's copy of an uncompressed
    // layer: still a tar, but not the blob its digest names.
    let blob = layer_field(row(&report, "plain"), "blob")[0].to_string();
    let file = registry.blob_file(&blob);
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let out = budget_env(
        work.path(),
        &["check", "plain", "--format", "json"],
        &[("IMAGE_BUDGET_CACHE", fresh.path().to_str().unwrap())],
    );
    assert_exit(&out, 2);
    let error = row(&json(&out), "plain")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains(&format!(
            "layer {blob} of `{plain}` cannot be counted: its bytes hash to sha256:"
        )),
        "{error}"
    );
    assert!(
        !fresh
            .path()
            .join("layers/sha256")
            .join(format!("{}.json", &blob[7..]))
            .exists(),
        "a damaged layer is never cached"
    );
}

#[test]
fn an_engine_image_against_its_pushed_baseline_and_the_layer_cache() {
    require_engine();
    let registry = LocalRegistry::start();
    let v1 = build_dockerfile(
        "kitchen-v1",
        &[("base/lib.so", 400_000), ("app/v1.bin", 100_000)],
        "FROM scratch\nCOPY base /base\nCOPY app /app\n",
    );
    let v2 = build_dockerfile(
        "kitchen-v2",
        &[("extra/new.bin", 20_000)],
        &format!("FROM {}\nCOPY extra /extra\n", v1.tag),
    );
    registry.docker_push(&v1, "corpus/kitchen:v1");
    let v1_manifest = registry.manifest("corpus/kitchen", "v1").json();
    let v1_blobs: Vec<String> = manifest_layers(&v1_manifest)
        .into_iter()
        .map(|(d, _)| d)
        .collect();

    // The issue's config: main's image only in the registry, the PR's in the engine.
    let work = tempfile::tempdir().unwrap();
    write(
        work.path(),
        "budgets.toml",
        &format!(
            "[defaults]\nbaseline = \"docker://{}/corpus/{{name}}:v1\"\nmax-growth = \"5%\"\n\n\
             [images.kitchen]\nref = \"{}\"\nmax-size = \"900MB\"\n",
            registry.host, v2.tag
        ),
    );
    let summary = work.path().join("summary.md");
    let check = || {
        budget_env(
            work.path(),
            &["check", "--format", "json"],
            &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
        )
    };
    let out = check();
    assert_exit(&out, 0);
    let report = json(&out);
    let kitchen = row(&report, "kitchen");
    assert_eq!(kitchen["source"], "daemon");
    assert_eq!(kitchen["size"], v2.inspect_size());
    assert_eq!(kitchen["baseline"]["size"], v1.inspect_size());
    assert_eq!(
        kitchen["delta"]["size"].as_i64().unwrap(),
        v2.inspect_size() as i64 - v1.inspect_size() as i64
    );
    assert_eq!(kitchen["delta"]["size"], 20_000);
    // One layer identity: the registry's layers are the engine's, by diff ID.
    let base_layers = layer_field(&kitchen["baseline"], "digest");
    assert_eq!(base_layers, diff_ids(&v1));
    assert_eq!(&layer_field(kitchen, "digest")[..2], base_layers.as_slice());
    assert_eq!(layer_field(&kitchen["baseline"], "blob"), v1_blobs);
    let comment = std::fs::read_to_string(&summary).unwrap();
    assert!(comment.contains("own layers changed"), "{comment}");
    assert!(!comment.contains("base image changed"), "{comment}");

    // The second run reads no blob at all: layers and config from the cache.
    let mark = registry.mark();
    let again = check();
    assert_exit(&again, 0);
    assert_eq!(json(&again)["images"], report["images"]);
    assert_eq!(
        registry.blob_bytes_since(mark),
        0,
        "{:#?}",
        registry.ours_since(mark)
    );
    // The baseline: the version check and its manifest, nothing else.
    let requests: Vec<String> = registry
        .ours_since(mark)
        .into_iter()
        .map(|(request, _, _)| request)
        .collect();
    assert_eq!(
        requests,
        [
            "GET /v2/ HTTP/1.1".to_string(),
            "GET /v2/corpus/kitchen/manifests/v1 HTTP/1.1".to_string()
        ]
    );

    // A damaged entry is ignored and recomputed: that one layer is read again.
    let cache = work.path().join(".budget-cache");
    let entry = cache
        .join("layers/sha256")
        .join(format!("{}.json", &v1_blobs[1]["sha256:".len()..]));
    let text = std::fs::read_to_string(&entry).unwrap();
    std::fs::write(&entry, text.replace("\"size\":", "\"size\":1")).unwrap();
    let mark = registry.mark();
    let repaired = check();
    assert_exit(&repaired, 0);
    assert_eq!(json(&repaired)["images"], report["images"]);
    let read: Vec<String> = registry
        .ours_since(mark)
        .into_iter()
        .filter(|(r, _, _)| r.contains("/blobs/"))
        .map(|(r, _, _)| r)
        .collect();
    assert_eq!(read.len(), 1, "{read:#?}");
    assert!(read[0].contains(&v1_blobs[1]), "{read:#?}");
    assert_eq!(
        std::fs::read_to_string(&entry).unwrap(),
        text,
        "written again"
    );

    // A saved report seeds the cache: with a fresh one, no layer is read.
    write(
        work.path(),
        "main.json",
        &serde_json::to_string(&json!({
            "schema": "image-budget/report/v1", "passed": true,
            "images": [kitchen["baseline"].as_object().map(|b| {
                let mut b = b.clone();
                b.insert("name".into(), json!("kitchen"));
                b.insert("status".into(), json!("pass"));
                b
            })]
        }))
        .unwrap(),
    );
    write(
        work.path(),
        "main-only.toml",
        &format!(
            "[images.kitchen]\nref = \"docker://{}/corpus/kitchen:v1\"\nmax-size = \"1MB\"\n",
            registry.host
        ),
    );
    let fresh = tempfile::tempdir().unwrap();
    let mark = registry.mark();
    let seeded = budget_env(
        work.path(),
        &[
            "check",
            "-c",
            "main-only.toml",
            "--baseline",
            "main.json",
            "--format",
            "json",
        ],
        &[("IMAGE_BUDGET_CACHE", fresh.path().to_str().unwrap())],
    );
    assert_exit(&seeded, 0);
    assert_eq!(row(&json(&seeded), "kitchen")["size"], v1.inspect_size());
    let layer_reads: Vec<String> = registry
        .ours_since(mark)
        .into_iter()
        .map(|(r, _, _)| r)
        .filter(|r| v1_blobs.iter().any(|b| r.contains(b.as_str())))
        .collect();
    assert!(layer_reads.is_empty(), "{layer_reads:#?}");

    // A blob whose bytes are not what its digest says: an error naming the layer.
    let damaged = registry.blob_file(&v1_blobs[0]);
    let mut bytes = std::fs::read(&damaged).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&damaged, &bytes).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = budget_env(
        work.path(),
        &["check", "-c", "main-only.toml", "--format", "json"],
        &[("IMAGE_BUDGET_CACHE", empty.path().to_str().unwrap())],
    );
    assert_exit(&out, 2);
    let error = row(&json(&out), "kitchen")["error"]
        .as_str()
        .unwrap()
        .to_string();
    // A flipped byte in a gzip stream fails its inflate before its digest
    // can be compared: either way the error names the layer and the image.
    assert!(
        error.starts_with(&format!(
            "layer {} of `{}/corpus/kitchen:v1` cannot be counted: ",
            v1_blobs[0], registry.host
        )),
        "{error}"
    );
    let entry = |blob: &str| {
        empty
            .path()
            .join("layers/sha256")
            .join(format!("{}.json", &blob["sha256:".len()..]))
    };
    assert!(
        !entry(&v1_blobs[0]).exists(),
        "the damaged layer is never cached"
    );
}

/// A server that answers every request with 500.
fn failing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let body = r#"{"errors":[{"code":"UNKNOWN","message":"storage backend down"}]}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    address
}

#[test]
fn a_baseline_answering_500_keeps_the_images_own_failure() {
    require_engine();
    let image = build("rs-over", &[("big.bin", 50_000)]);
    let host = failing_server();
    let work = tempfile::tempdir().unwrap();
    write(
        work.path(),
        "budgets.toml",
        &format!(
            "[defaults]\nbaseline = \"docker://{host}/gone/{{name}}:main\"\nmax-growth = \"5%\"\n\n\
             [images.over]\nref = \"{}\"\nmax-size = \"10kB\"\n",
            image.tag
        ),
    );
    let out = budget(work.path(), &["check", "--format", "json"]);
    assert_exit(&out, 2);
    let report = json(&out);
    let over = row(&report, "over");
    assert_eq!(over["status"], "error");
    assert_eq!(over["size"], 50_000);
    assert_eq!(over["baseline"], Value::Null);
    assert_eq!(over["findings"][0]["code"], "max-size");
    assert_eq!(over["findings"][0]["severity"], "fail");
    assert_eq!(over["findings"][0]["actual"], 50_000);
    assert_eq!(over["findings"][1]["code"], "max-growth");
    assert_eq!(over["findings"][1]["severity"], "error");
    let why = over["findings"][1]["message"].as_str().unwrap();
    assert!(why.contains("500"), "{why}");
    assert!(why.contains("storage backend down"), "{why}");
    // The table says both, too.
    let table = budget(work.path(), &["check"]);
    assert_exit(&table, 2);
    let text = stdout(&table);
    assert!(text.contains("over the max-size budget"), "{text}");
    assert!(
        text.contains("max-growth budget could not be checked"),
        "{text}"
    );

    // Without growth budgets nothing is left unchecked: the verdict stands,
    // and a note says why there is no delta.
    write(
        work.path(),
        "absolute.toml",
        &format!(
            "[images.over]\nref = \"{}\"\nbaseline = \"docker://{host}/gone/over:main\"\nmax-size = \"1MB\"\n",
            image.tag
        ),
    );
    let out = budget(
        work.path(),
        &["check", "-c", "absolute.toml", "--format", "json"],
    );
    assert_exit(&out, 0);
    let report = json(&out);
    let over = row(&report, "over");
    assert_eq!(over["status"], "pass");
    let note = over["notes"][0].as_str().unwrap();
    assert!(
        note.starts_with("no delta: the baseline could not be measured"),
        "{note}"
    );
    assert!(note.contains("storage backend down"), "{note}");
}

#[test]
fn each_platform_row_is_compared_with_its_own_platforms_baseline() {
    require_engine();
    let registry = LocalRegistry::start();
    let list = "application/vnd.docker.distribution.manifest.list.v2+json";
    let mut children = Vec::new();
    let mut images = Vec::new();
    for (version, extra) in [("v1", 0), ("v2", 1_000)] {
        let mut entries = Vec::new();
        for (arch, len, platform) in [
            (
                "amd64",
                100_000,
                json!({"os": "linux", "architecture": "amd64"}),
            ),
            (
                "arm64",
                60_000,
                json!({"os": "linux", "architecture": "arm64", "variant": "v8"}),
            ),
        ] {
            let image = build(
                &format!("rs-{version}-{arch}"),
                &[(&format!("{arch}.bin"), len + extra)],
            );
            let tag = format!("{version}-{arch}");
            registry.docker_push(&image, &format!("multi/app:{tag}"));
            let child = registry.manifest("multi/app", &tag);
            let digest = child.header("Docker-Content-Digest").unwrap().to_string();
            entries.push(json!({
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "digest": digest, "size": child.body.len(), "platform": platform}));
            children.push(((version, arch), digest, image.inspect_size()));
            images.push(image);
        }
        let index = json!({"schemaVersion": 2, "mediaType": list, "manifests": entries});
        registry.put_manifest(
            "multi/app",
            version,
            list,
            &serde_json::to_vec(&index).unwrap(),
        );
    }
    let child = |version: &str, arch: &str| {
        children
            .iter()
            .find(|((v, a), _, _)| *v == version && *a == arch)
            .map(|(_, digest, size)| (digest.clone(), *size))
            .unwrap()
    };
    let work = tempfile::tempdir().unwrap();
    write(
        work.path(),
        "budgets.toml",
        &format!(
            "[images.app]\nref = \"docker://{0}/multi/app:v2\"\nplatform = \"all\"\n\
             baseline = \"docker://{0}/multi/app:v1\"\nmax-growth = \"5%\"\n",
            registry.host
        ),
    );
    let out = budget(work.path(), &["check", "--format", "json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    let rows: Vec<&Value> = report["images"].as_array().unwrap().iter().collect();
    assert_eq!(rows.len(), 2, "{report:#}");
    for (row, arch, platform) in [
        (rows[0], "amd64", "linux/amd64"),
        (rows[1], "arm64", "linux/arm64/v8"),
    ] {
        let (now_digest, now_size) = child("v2", arch);
        let (base_digest, base_size) = child("v1", arch);
        assert_eq!(row["platform"], platform);
        assert_eq!(row["digest"], now_digest.as_str());
        assert_eq!(row["size"], now_size, "{arch}");
        assert_eq!(row["baseline"]["digest"], base_digest.as_str(), "{arch}");
        assert_eq!(row["baseline"]["size"], base_size, "{arch}");
        assert_eq!(row["delta"]["size"], 1_000, "{arch}");
    }
}

#[test]
fn a_base_layer_shared_by_images_is_read_once_in_a_run() {
    require_engine();
    let registry = LocalRegistry::start();
    let base = build("rs-shared-base", &[("base.bin", 200_000)]);
    let mut refs = Vec::new();
    let mut images = Vec::new();
    for (i, name) in ["one", "two", "three"].iter().enumerate() {
        let app = build_dockerfile(
            &format!("rs-shared-{name}"),
            &[(&format!("{name}.bin"), 10_000 + i)],
            &format!("FROM {}\nCOPY {name}.bin /{name}.bin\n", base.tag),
        );
        refs.push((
            name,
            registry.docker_push(&app, &format!("shared/{name}:1")),
        ));
        images.push(app);
    }
    let manifests: Vec<Vec<String>> = ["one", "two", "three"]
        .iter()
        .map(|n| {
            manifest_layers(&registry.manifest(&format!("shared/{n}"), "1").json())
                .into_iter()
                .map(|(d, _)| d)
                .collect()
        })
        .collect();
    let shared = manifests[0][0].clone();
    assert!(
        manifests.iter().all(|m| m[0] == shared),
        "one base blob: {manifests:?}"
    );
    let work = tempfile::tempdir().unwrap();
    let config: String = refs
        .iter()
        .map(|(name, reference)| {
            format!("[images.{name}]\nref = \"docker://{reference}\"\nmax-size = \"1MB\"\n\n")
        })
        .collect();
    write(work.path(), "budgets.toml", &config);
    let mark = registry.mark();
    let out = budget(work.path(), &["check", "--format", "json"]);
    assert_exit(&out, 0);
    let report = json(&out);
    for ((name, _), image) in refs.iter().zip(&images) {
        assert_eq!(row(&report, name)["size"], image.inspect_size(), "{name}");
    }
    let reads: Vec<String> = registry
        .ours_since(mark)
        .into_iter()
        .map(|(r, _, _)| r)
        .filter(|r| r.contains(&shared))
        .collect();
    assert_eq!(
        reads.len(),
        1,
        "the shared base layer, read once: {reads:#?}"
    );
}
