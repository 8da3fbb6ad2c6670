//! Docker 29 with the containerd image store, through the `budget` binary:
//! images built in the classic dockerd (FROM scratch, with bytes a later
//! layer deletes or rewrites), `docker save`d, imported into a containerd of
//! the tests' own (`ctr images import --compress-blobs`, so their layers are
//! gzip blobs as in Docker 29's store), exported with `ctr images export`
//! and served by a stand-in written from moby's code
//! (tests/fakes/moby29.rs). Each image measured there must measure as in
//! the classic engine, to the byte: Docker 29's own `Size` (packed content)
//! and its history sizes (snapshot disk usage) are not the image's size.

mod common;
#[path = "fakes/moby29.rs"]
mod moby29;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::containerd::{Containerd, full_name};
use common::*;
use moby29::{Release, StandIn};
use serde_json::{Value, json};

/// The bytes a later layer hides in every image here: /tmp/big (deleted by
/// `RUN rm`) and the first /etc/app.conf (rewritten).
const BIG: usize = 300_001;
const CONF: usize = 1_111;
const WASTED: u64 = (BIG + CONF) as u64;

fn busybox_path() -> String {
    let found = std::process::Command::new("busybox").arg("true").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "`busybox` is needed on PATH for these tests; run scripts/ensure-tools (or apt-get install busybox-static)"
    );
    let out = run("sh", &["-c", "command -v busybox"]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// FROM scratch, in the classic engine: a static busybox (so a `RUN` can
/// delete), a file a later `RUN rm` deletes (its whiteout made by the
/// engine), a file a later `COPY` rewrites, and an `ENV` first that makes
/// this image's layer chain its own (no cached layer shared with another test).
fn wasteful(name: &str) -> Image {
    require_engine();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(busybox_path(), dir.path().join("busybox")).unwrap();
    let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    for (i, (file, len)) in [
        ("big", BIG),
        ("conf", CONF),
        ("conf2", 2_222),
        ("app", 70_000),
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(dir.path().join(file), content(*len, seed ^ i as u64)).unwrap();
    }
    let tag = tag(name);
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "FROM scratch\n\
             ENV MADE_BY=\"image-budget-tests {tag}\"\n\
             COPY busybox /bin/busybox\n\
             COPY big /tmp/big\n\
             COPY conf /etc/app.conf\n\
             RUN [\"/bin/busybox\", \"rm\", \"/tmp/big\"]\n\
             COPY conf2 /etc/app.conf\n\
             COPY app /app/app\n"
        ),
    )
    .unwrap();
    docker_ok(&["build", "-q", "-t", &tag, dir.path().to_str().unwrap()]);
    Image { tag }
}

/// `docker save -o DIR/NAME.tar TAG`.
fn docker_save(image: &Image, dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(format!("{name}.tar"));
    docker_ok(&["save", "-o", out.to_str().unwrap(), &image.tag]);
    out
}

/// Every entry of a tar, by path (`./` dropped), files only.
fn tar_files(path: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let mut archive = tar::Archive::new(bytes.as_slice());
    let mut files = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().unwrap().to_string_lossy().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        files.push((name.trim_start_matches("./").to_string(), data));
    }
    files
}

/// A tar of `files` (path, bytes), in that order.
fn write_tar(path: &Path, files: &[(String, Vec<u8>)]) {
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, data) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, data.as_slice())
            .unwrap();
    }
    builder.finish().unwrap();
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let hex: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// The blobs of an export, by digest, and its index.json's first descriptor.
fn export_blobs(export: &Path) -> (std::collections::HashMap<String, Vec<u8>>, Value) {
    let mut blobs = std::collections::HashMap::new();
    let mut index = Value::Null;
    for (name, data) in tar_files(export) {
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            blobs.insert(format!("sha256:{hex}"), data);
        } else if name == "index.json" {
            index = serde_json::from_slice(&data).unwrap();
        }
    }
    let target = index["manifests"][0].clone();
    (blobs, target)
}

/// The layer blobs (digest, size) of the export's manifest for `arch`
/// (the top manifest, or the index's entry for linux/`arch`).
fn layer_blobs(export: &Path, arch: &str) -> Vec<(String, u64)> {
    let (blobs, target) = export_blobs(export);
    let parse = |d: &Value| -> Value {
        serde_json::from_slice(&blobs[d["digest"].as_str().unwrap()]).unwrap()
    };
    let mut manifest = parse(&target);
    if manifest["manifests"].is_array() {
        let entry = manifest["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["platform"]["architecture"] == arch && m["platform"]["os"] == "linux")
            .unwrap_or_else(|| panic!("no linux/{arch} in {manifest:#}"))
            .clone();
        manifest = parse(&entry);
    }
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let digest = l["digest"].as_str().unwrap().to_string();
            let size = l["size"].as_u64().unwrap();
            assert!(
                l["mediaType"].as_str().unwrap().ends_with("gzip"),
                "ctr --compress-blobs gzips every layer: {l}"
            );
            assert_eq!(
                blobs.get(&digest).map(|b| b.len() as u64),
                Some(size),
                "the export holds layer {digest}"
            );
            (digest, size)
        })
        .collect()
}

/// budgets.toml for one image with every metric's budget (so each is
/// measured), generous enough to pass.
fn config(reference: &str, platform: Option<&str>) -> String {
    let mut text = format!(
        "[images.app]\nref = \"docker-daemon:{reference}\"\n\
         max-size = \"20MB\"\nmax-compressed = \"20MB\"\nmax-wasted = \"10MB\"\n"
    );
    if let Some(p) = platform {
        text.push_str(&format!("platform = \"{p}\"\n"));
    }
    text
}

/// `budget check --format json` in a fresh work directory (its own layer
/// cache: nothing measured before is reused), against `host` (the stand-in)
/// or, with None, the classic engine.
fn check(
    reference: &str,
    platform: Option<&str>,
    host: Option<&str>,
    env: &[(&str, &str)],
) -> (tempfile::TempDir, Output) {
    let work = workdir(&config(reference, platform));
    let mut all: Vec<(&str, &str)> = env.to_vec();
    if let Some(host) = host {
        all.push(("DOCKER_HOST", host));
    }
    let out = budget_env(work.path(), &["check", "--format", "json"], &all);
    (work, out)
}

/// The row of the one image of a `check`.
fn app_row(out: &Output) -> Value {
    row(&json(out), "app").clone()
}

/// What must be the same from Docker 29 and from the classic engine.
fn assert_same_measure(ours: &Value, classic: &Value) {
    for key in ["size", "layers", "wasted"] {
        assert_eq!(
            ours[key], classic[key],
            "{key}: stand-in {ours:#}\nclassic {classic:#}"
        );
    }
    assert_eq!(layers(ours), layers(classic));
}

/// The stand-in's row, asserted against the classic engine's and the export.
fn assert_measured(ours: &Value, classic: &Value, image: &Image, export: &Path, arch: &str) {
    assert_eq!(ours["status"], "pass", "{ours:#}");
    assert_eq!(classic["status"], "pass", "{classic:#}");
    assert_same_measure(ours, classic);
    assert_eq!(
        ours["size"],
        image.inspect_size(),
        "the classic engine's Size"
    );
    assert_eq!(ours["wasted"], WASTED, "{ours:#}");
    assert_eq!(ours["platform"], format!("linux/{arch}"));
    // The containerd store keeps the layer blobs: compressed is theirs, exactly.
    let blobs: u64 = layer_blobs(export, arch).iter().map(|(_, s)| s).sum();
    assert_eq!(ours["compressed"], blobs, "{ours:#}");
    assert_eq!(ours["compressed_estimated"], false, "{ours:#}");
}

/// The stand-in's own inspect `Size` and history sizes are not ours.
fn assert_not_taken_from_the_engine(standin: &StandIn, tag: &str, ours: &Value) {
    let (status, inspect) = standin.get(&format!("/v1.52/images/{tag}/json"));
    assert_eq!(status, 200, "{inspect:#}");
    let engine_size = inspect["Size"].as_u64().unwrap();
    assert_ne!(
        ours["size"].as_u64().unwrap(),
        engine_size,
        "Docker 29's Size counts packed content, not the image's bytes"
    );
    let (status, history) = standin.get(&format!("/v1.52/images/{tag}/history"));
    assert_eq!(status, 200, "{history:#}");
    let mut engine_sizes: Vec<u64> = history
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["Size"].as_u64().filter(|s| *s > 0))
        .collect();
    engine_sizes.reverse();
    let our_sizes: Vec<u64> = layers(ours).iter().map(|(_, s)| *s).collect();
    assert_eq!(engine_sizes.len(), our_sizes.len(), "{history:#}");
    for (engine, ours) in engine_sizes.iter().zip(&our_sizes) {
        assert_ne!(engine, ours, "history counts disk blocks: {history:#}");
    }
}

/// A request line's query, decoded (`platform` as the JSON it carries).
fn query(line: &str) -> Vec<(String, String)> {
    let target = line.split(' ').nth(1).unwrap_or_default();
    let Some((_, query)) = target.split_once('?') else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The path of a request line, without its version prefix and query.
fn route(line: &str) -> String {
    let target = line.split(' ').nth(1).unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default();
    match path.strip_prefix("/v") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
            rest[rest.find('/').unwrap_or(rest.len())..].to_string()
        }
        _ => path.to_string(),
    }
}

/// The requests for `tag`'s inspect, history and export (by path or by `names=`).
fn image_requests(lines: &[String], tag: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut inspect, mut history, mut save) = (Vec::new(), Vec::new(), Vec::new());
    for line in lines {
        let path = route(line);
        if path == format!("/images/{tag}/json") {
            inspect.push(line.clone());
        } else if path == format!("/images/{tag}/history") {
            history.push(line.clone());
        } else if path == format!("/images/{tag}/get")
            || (path == "/images/get" && query(line).iter().any(|(k, v)| k == "names" && v == tag))
        {
            save.push(line.clone());
        }
    }
    (inspect, history, save)
}

fn platform_of(line: &str) -> Option<Value> {
    query(line)
        .into_iter()
        .find(|(k, _)| k == "platform")
        .map(|(_, v)| {
            serde_json::from_str(&v)
                .unwrap_or_else(|e| panic!("platform is not JSON ({e}): {line}"))
        })
}

fn has_manifests(line: &str) -> bool {
    query(line)
        .iter()
        .any(|(k, v)| k == "manifests" && v == "1")
}

/// Docker 29 refuses `manifests` with `platform` (400): never sent together.
fn assert_no_refused_queries(standin: &StandIn) {
    for line in standin.requests() {
        assert!(
            !(has_manifests(&line) && platform_of(&line).is_some()),
            "Docker 29 answers 400 to manifests and platform together: {line}"
        );
    }
    for (line, status) in standin.answers() {
        assert!(
            status < 400 || status == 404,
            "the stand-in answered {status} to {line}"
        );
    }
}

/// A containerd of the test's own with `image` in it (saved from the
/// classic engine, imported with `import_args`), and its export.
struct Stored {
    ctd: Containerd,
    export: PathBuf,
}

fn through_containerd(
    image: &Image,
    import_args: &[&str],
    export_platform: Option<&str>,
) -> Stored {
    let ctd = Containerd::start();
    let scratch = ctd.scratch("io");
    let saved = docker_save(image, &scratch, "saved");
    let names = ctd.import(&saved, import_args);
    assert_eq!(names, [full_name(&image.tag)], "ctr names the image so");
    let export = scratch.join("export.tar");
    ctd.export(&export, &image.tag, export_platform);
    Stored { ctd, export }
}

/// The image through containerd, served by a stand-in of its own.
struct Served {
    stored: Stored,
    standin: StandIn,
    _dir: tempfile::TempDir,
}

fn served(image: &Image) -> Served {
    let stored = through_containerd(image, &[], None);
    let dir = tempfile::tempdir().unwrap();
    let standin = StandIn::start(dir.path(), vec![(image.tag.clone(), stored.export.clone())]);
    Served {
        stored,
        standin,
        _dir: dir,
    }
}

#[test]
fn one_platform_measures_as_in_the_classic_engine() {
    let image = wasteful("c8d-one");
    let served = served(&image);
    let (stored, standin) = (&served.stored, &served.standin);
    let host = standin.host();

    // No platform in the budget: the engine's choice (the host's, linux/amd64).
    let (_w1, out) = check(&image.tag, None, Some(&host), &[]);
    assert_exit(&out, 0);
    let ours = app_row(&out);
    let (_w2, classic_out) = check(&image.tag, None, None, &[]);
    assert_exit(&classic_out, 0);
    let classic = app_row(&classic_out);
    assert_measured(&ours, &classic, &image, &stored.export, "amd64");
    assert_not_taken_from_the_engine(standin, &image.tag, &ours);
    let (inspect, history, save) = image_requests(&standin.requests(), &image.tag);
    assert!(
        !inspect.is_empty() && !history.is_empty(),
        "{:#?}",
        standin.requests()
    );
    assert_eq!(save.len(), 1, "one export read: {:#?}", standin.requests());
    assert_no_refused_queries(standin);
    standin.clear();

    // platform = "linux/amd64": each of inspect, history and the export asks
    // for it, as JSON (moby's DecodePlatform refuses "linux/amd64").
    let (_w3, out) = check(&image.tag, Some("linux/amd64"), Some(&host), &[]);
    assert_exit(&out, 0);
    let pinned = app_row(&out);
    let (_w4, classic_out) = check(&image.tag, Some("linux/amd64"), None, &[]);
    assert_exit(&classic_out, 0);
    assert_measured(
        &pinned,
        &app_row(&classic_out),
        &image,
        &stored.export,
        "amd64",
    );
    let requests = standin.requests();
    let (inspect, history, save) = image_requests(&requests, &image.tag);
    assert_eq!(save.len(), 1, "{requests:#?}");
    let amd64 = json!({"architecture": "amd64", "os": "linux"});
    for line in inspect.iter().chain(&history).chain(&save) {
        assert_eq!(platform_of(line), Some(amd64.clone()), "{line}");
        assert!(!has_manifests(line), "{line}");
    }
    assert_no_refused_queries(standin);
}

/// An OCI layout holding `amd64` (an export of one image, its blobs as they
/// are), an arm64 manifest without its config and layers, and an
/// attestation manifest for the amd64 image, under one index named `name`.
fn multi_platform_layout(amd64_export: &Path, name: &str, out: &Path) {
    let (blobs, amd64) = export_blobs(amd64_export);
    let mut files: Vec<(String, Vec<u8>)> = blobs
        .iter()
        .map(|(d, b)| (format!("blobs/sha256/{}", &d[7..]), b.clone()))
        .collect();
    let put = |bytes: Vec<u8>, files: &mut Vec<(String, Vec<u8>)>| {
        let digest = sha256(&bytes);
        let size = bytes.len() as u64;
        files.push((format!("blobs/sha256/{}", &digest[7..]), bytes));
        (digest, size)
    };
    // arm64: the manifest only; its config and layer are nowhere.
    let arm_config = br#"{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111"]}}"#;
    let arm_manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(arm_config), "size": arm_config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": format!("sha256:{}", "2".repeat(64)), "size": 1_234_567}],
    }))
    .unwrap();
    let (arm_digest, arm_size) = put(arm_manifest, &mut files);
    // buildkit's attestation: an in-toto statement for the amd64 manifest.
    let statement = serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://spdx.dev/Document",
        "subject": [{"name": "pkg:docker/x", "digest": {"sha256": &amd64["digest"].as_str().unwrap()[7..]}}],
        "predicate": {"spdxVersion": "SPDX-2.3"},
    }))
    .unwrap();
    let (statement_digest, statement_size) = put(statement, &mut files);
    let att_config = serde_json::to_vec(&json!({
        "architecture": "unknown", "os": "unknown", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [statement_digest]},
    }))
    .unwrap();
    let (att_config_digest, att_config_size) = put(att_config, &mut files);
    let att_manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": att_config_digest, "size": att_config_size},
        "layers": [{"mediaType": "application/vnd.in-toto+json",
                    "digest": statement_digest, "size": statement_size,
                    "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}}],
    }))
    .unwrap();
    let (att_digest, att_size) = put(att_manifest, &mut files);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": amd64["mediaType"], "digest": amd64["digest"], "size": amd64["size"],
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm_digest,
             "size": arm_size, "platform": {"architecture": "arm64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": att_digest,
             "size": att_size, "platform": {"architecture": "unknown", "os": "unknown"},
             "annotations": {"vnd.docker.reference.digest": amd64["digest"],
                             "vnd.docker.reference.type": "attestation-manifest"}},
        ],
    }))
    .unwrap();
    let (index_digest, index_size) = put(index, &mut files);
    let tag = name.rsplit(':').next().unwrap();
    files.push((
        "index.json".into(),
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                           "digest": index_digest, "size": index_size,
                           "annotations": {"io.containerd.image.name": full_name(name),
                                           "org.opencontainers.image.ref.name": tag}}],
        }))
        .unwrap(),
    ));
    files.push((
        "oci-layout".into(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    ));
    write_tar(out, &files);
}

#[test]
fn an_index_with_amd64_present_arm64_absent_and_an_attestation() {
    let image = wasteful("c8d-multi");
    let stored = through_containerd(&image, &[], None);
    let multi_tag = tag("c8d-multi-index");
    let scratch = stored.ctd.scratch("multi");
    let layout = scratch.join("layout.tar");
    multi_platform_layout(&stored.export, &multi_tag, &layout);
    // ctr 1.6 imports such an index: without --all-platforms it keeps only
    // the host's manifest (the attestation's blobs are garbage-collected),
    // so --all-platforms; the arm64 config it never had is not asked for.
    // (--compress-blobs is for Docker archives; these blobs are gzip already.)
    let names = stored.ctd.import(&layout, &["--all-platforms"]);
    assert_eq!(names, [full_name(&multi_tag)]);
    // Exported as Docker 29 keeps an image pulled for linux/amd64: the index,
    // the amd64 image, its attestation; arm64's manifest is not there
    // (`--all-platforms` would fail on its missing config).
    let export = scratch.join("export.tar");
    stored
        .ctd
        .export_platforms(&export, &multi_tag, &["linux/amd64", "unknown/unknown"]);
    let (blobs, top) = export_blobs(&export);
    let index: Value = serde_json::from_slice(&blobs[top["digest"].as_str().unwrap()]).unwrap();
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{index:#}");
    assert!(blobs.contains_key(entries[0]["digest"].as_str().unwrap()));
    assert!(
        !blobs.contains_key(entries[1]["digest"].as_str().unwrap()),
        "arm64 absent"
    );
    assert!(
        blobs.contains_key(entries[2]["digest"].as_str().unwrap()),
        "the attestation"
    );

    let serve_dir = tempfile::tempdir().unwrap();
    let standin = StandIn::start(serve_dir.path(), vec![(multi_tag.clone(), export.clone())]);
    let host = standin.host();
    // The stand-in answers as Docker 29 does (manifests=1 lists all three).
    let (status, inspect) = standin.get(&format!("/v1.52/images/{multi_tag}/json?manifests=1"));
    assert_eq!(status, 200, "{inspect:#}");
    assert_eq!(inspect["Id"], top["digest"], "the index's digest");
    assert_eq!(inspect["Architecture"], "amd64");
    let kinds: Vec<(&str, bool)> = inspect["Manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["Kind"].as_str().unwrap(),
                m["Available"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("image", true), ("image", false), ("attestation", true)]
    );
    assert_eq!(
        inspect["Manifests"][2]["AttestationData"]["For"],
        entries[0]["digest"]
    );

    let (_wc, classic_out) = check(&image.tag, None, None, &[]);
    assert_exit(&classic_out, 0);
    let classic = app_row(&classic_out);
    for release in [Release::V29_1, Release::V29_2] {
        standin.release(release);
        standin.clear();
        // No platform: the host's, present.
        let (_w, out) = check(&multi_tag, None, Some(&host), &[]);
        assert_exit(&out, 0);
        let ours = app_row(&out);
        assert_measured(&ours, &classic, &image, &export, "amd64");
        // The export is asked for the platform measured: that manifest's
        // layers alone, even with none in the budget.
        let requests = standin.requests();
        let (_, _, save) = image_requests(&requests, &multi_tag);
        assert!(!save.is_empty(), "{requests:#?}");
        let amd64 = json!({"architecture": "amd64", "os": "linux"});
        for line in &save {
            assert_eq!(platform_of(line), Some(amd64.clone()), "{line}");
        }
        assert_no_refused_queries(&standin);
        standin.clear();

        // linux/amd64 asked for: the export is the amd64 manifest alone.
        let (_w, out) = check(&multi_tag, Some("linux/amd64"), Some(&host), &[]);
        assert_exit(&out, 0);
        assert_measured(&app_row(&out), &classic, &image, &export, "amd64");
        let requests = standin.requests();
        let (inspect, history, save) = image_requests(&requests, &multi_tag);
        assert!(!save.is_empty(), "{requests:#?}");
        let amd64 = json!({"architecture": "amd64", "os": "linux"});
        for line in inspect.iter().chain(&history).chain(&save) {
            assert_eq!(platform_of(line), Some(amd64.clone()), "{line}");
        }
        assert_no_refused_queries(&standin);
        standin.clear();

        // linux/arm64: listed in the index, never pulled. Not measured (no
        // pass on a few bytes of manifest): an error that says what is there.
        let (_w, out) = check(&multi_tag, Some("linux/arm64"), Some(&host), &[]);
        assert_exit(&out, 2);
        let ours = app_row(&out);
        assert_eq!(ours["status"], "error", "{release:?}: {ours:#}");
        let message = ours["error"].as_str().unwrap();
        assert!(message.contains("linux/arm64"), "{release:?}: {message}");
        assert!(
            message.contains("linux/amd64"),
            "{release:?}: names the platform present: {message}"
        );
        assert!(
            !message.contains("unknown/unknown"),
            "an attestation is no platform: {message}"
        );
        assert_eq!(ours["size"], Value::Null);
        let requests = standin.requests();
        let (inspect, _, _) = image_requests(&requests, &multi_tag);
        assert!(
            inspect.iter().any(|l| has_manifests(l)),
            "the platforms present come from manifests=1: {requests:#?}"
        );
        assert_no_refused_queries(&standin);
        standin.clear();

        // "all": each platform present, one row, never the absent arm64 nor
        // the attestation.
        let (_w, out) = check(&multi_tag, Some("all"), Some(&host), &[]);
        assert_exit(&out, 0);
        let rows = json(&out)["images"].as_array().unwrap().clone();
        assert_eq!(rows.len(), 1, "{release:?}: {rows:#?}");
        assert_measured(&rows[0], &classic, &image, &export, "amd64");
        assert_no_refused_queries(&standin);
    }
}

/// The `docker save` archive `saved` with its config's architecture set to
/// `arch` and its tag to `tag`.
fn retarget(saved: &Path, arch: &str, tag: &str, out: &Path) {
    let mut files = tar_files(saved);
    let manifest_at = files
        .iter()
        .position(|(n, _)| n == "manifest.json")
        .unwrap();
    let mut manifest: Value = serde_json::from_slice(&files[manifest_at].1).unwrap();
    let config_name = manifest[0]["Config"].as_str().unwrap().to_string();
    let config_at = files.iter().position(|(n, _)| *n == config_name).unwrap();
    let mut config: Value = serde_json::from_slice(&files[config_at].1).unwrap();
    config["architecture"] = json!(arch);
    let bytes = serde_json::to_vec(&config).unwrap();
    let new_name = format!("{}.json", &sha256(&bytes)[7..]);
    files[config_at] = (new_name.clone(), bytes);
    manifest[0]["Config"] = json!(new_name);
    manifest[0]["RepoTags"] = json!([tag]);
    files[manifest_at].1 = serde_json::to_vec(&manifest).unwrap();
    files.retain(|(n, _)| n != "repositories");
    write_tar(out, &files);
}

#[test]
fn an_image_only_for_arm64_is_measured_at_arm64_and_never_as_amd64() {
    let built = wasteful("c8d-arm-src");
    let arm_tag = tag("c8d-arm-only");
    let ctd = Containerd::start();
    let scratch = ctd.scratch("arm");
    let saved = docker_save(&built, &scratch, "saved");
    let arm_archive = scratch.join("arm.tar");
    retarget(&saved, "arm64", &arm_tag, &arm_archive);
    // The same archive in the classic engine (FROM scratch files need no emulation).
    docker_ok(&["load", "-i", arm_archive.to_str().unwrap()]);
    let image = Image {
        tag: arm_tag.clone(),
    };
    assert_eq!(image.inspect("{{.Architecture}}"), "arm64");
    // ctr 1.6 filters a Docker archive by the host's platform unless told.
    let names = ctd.import(&arm_archive, &["--platform", "linux/arm64"]);
    assert_eq!(names, [full_name(&arm_tag)]);
    let export = scratch.join("export.tar");
    ctd.export(&export, &arm_tag, Some("linux/arm64"));

    let serve_dir = tempfile::tempdir().unwrap();
    let standin = StandIn::start(serve_dir.path(), vec![(arm_tag.clone(), export.clone())]);
    let host = standin.host();
    let (_wc, classic_out) = check(&arm_tag, None, None, &[]);
    assert_exit(&classic_out, 0);
    let classic = app_row(&classic_out);

    // No platform: the only one there, said so.
    let (_w, out) = check(&arm_tag, None, Some(&host), &[]);
    assert_exit(&out, 0);
    let ours = app_row(&out);
    assert_measured(&ours, &classic, &image, &export, "arm64");
    assert_not_taken_from_the_engine(&standin, &arm_tag, &ours);
    let said = format!(
        "{}\n{}",
        ours["notes"]
            .as_array()
            .map(|n| n
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n"))
            .unwrap_or_default(),
        stderr(&out)
    );
    assert!(
        said.contains("linux/arm64") && said.to_lowercase().contains("only"),
        "the note says linux/arm64 was the only platform present: {said}"
    );
    assert_no_refused_queries(&standin);
    standin.clear();

    // linux/amd64 asked for: not there, and the error names what is.
    let (_w, out) = check(&arm_tag, Some("linux/amd64"), Some(&host), &[]);
    assert_exit(&out, 2);
    let ours = app_row(&out);
    assert_eq!(ours["status"], "error", "{ours:#}");
    assert_eq!(ours["size"], Value::Null);
    let message = ours["error"].as_str().unwrap();
    assert!(message.contains("linux/arm64"), "{message}");
    assert!(message.contains("linux/amd64"), "{message}");
    assert_no_refused_queries(&standin);
}

#[test]
fn a_remembered_api_version_docker_29_refuses_is_negotiated_again() {
    let image = wasteful("c8d-version");
    let served = served(&image);
    let standin = &served.standin;
    let host = standin.host();
    let work = workdir(&config(&image.tag, None));
    let run = || {
        let out = budget_env(
            work.path(),
            &["check", "--format", "json"],
            &[("DOCKER_HOST", host.as_str())],
        );
        assert_exit(&out, 0);
        app_row(&out)
    };
    let first = run();
    assert!(
        standin.requests().iter().any(|l| route(l) == "/version"),
        "{:#?}",
        standin.requests()
    );
    let engines = work.path().join(".budget-cache/engines/sha256");
    let files: Vec<_> = std::fs::read_dir(&engines)
        .unwrap_or_else(|e| panic!("{}: {e}", engines.display()))
        .flatten()
        .collect();
    assert_eq!(files.len(), 1);
    let remembered = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(remembered.starts_with("1.52 "), "{remembered}");

    // A version the engine served once (dockerd 20.10's), which Docker 29 refuses.
    std::fs::write(files[0].path(), "1.41 docker linux/amd64\n").unwrap();
    standin.clear();
    let second = run();
    assert_same_measure(&second, &first);
    assert_eq!(second["size"], image.inspect_size());
    let answers = standin.answers();
    let refused = answers
        .iter()
        .position(|(l, status)| l.contains(" /v1.41/") && *status == 400)
        .unwrap_or_else(|| panic!("the remembered 1.41 was tried: {answers:#?}"));
    assert!(
        answers[refused..]
            .iter()
            .any(|(l, _)| route(l) == "/version"),
        "a refusal makes the handshake again: {answers:#?}"
    );
    assert!(
        answers[refused + 1..]
            .iter()
            .filter(|(l, _)| route(l).starts_with("/images/"))
            .all(|(l, status)| l.contains(" /v1.52/") && *status == 200),
        "{answers:#?}"
    );
    let remembered = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(
        remembered.starts_with("1.52 "),
        "remembered anew: {remembered}"
    );

    let (_wc, classic_out) = check(&image.tag, None, None, &[]);
    assert_exit(&classic_out, 0);
    assert_same_measure(&second, &app_row(&classic_out));
}

#[test]
fn a_late_export_is_waited_for_and_a_stalled_one_is_an_error() {
    let image = wasteful("c8d-slow");
    let served = served(&image);
    let (stored, standin) = (&served.stored, &served.standin);
    let host = standin.host();
    let (_wc, classic_out) = check(&image.tag, None, None, &[]);
    assert_exit(&classic_out, 0);
    let classic = app_row(&classic_out);
    let timeout = [("IMAGE_BUDGET_ENGINE_TIMEOUT", "1")];

    // The first byte (headers too) 3 s late, with a 1 s engine timeout: an
    // engine preparing its export is waited for.
    standin.delay_first_byte(Duration::from_secs(3));
    let (_w, out) = check(&image.tag, None, Some(&host), &timeout);
    assert_exit(&out, 0);
    assert_measured(&app_row(&out), &classic, &image, &stored.export, "amd64");
    let (_, _, save) = image_requests(&standin.requests(), &image.tag);
    assert_eq!(save.len(), 1, "{:#?}", standin.requests());

    // 100,000 bytes, then 30 s of silence: an error that names the image.
    standin.delay_first_byte(Duration::ZERO);
    standin.stall_after(100_000, Duration::from_secs(30));
    assert!(std::fs::metadata(&stored.export).unwrap().len() > 200_000);
    let (_w, out) = check(&image.tag, None, Some(&host), &timeout);
    assert_exit(&out, 2);
    let ours = app_row(&out);
    assert_eq!(ours["status"], "error", "{ours:#}");
    assert_eq!(ours["size"], Value::Null);
    let message = ours["error"].as_str().unwrap();
    assert!(message.contains(&image.tag), "names the image: {message}");
    assert!(message.contains("stopped sending"), "{message}");
}

#[test]
fn one_config_gives_the_same_table_and_explanation_on_every_engine() {
    let image = wasteful("c8d-table");
    let served = served(&image);
    let standin = &served.standin;
    let podman = common::podman::Podman::start();
    let scratch = tempfile::tempdir().unwrap();
    podman.load(&docker_save(&image, scratch.path(), "saved"));
    let size = image.inspect_size();
    // Exactly at its size budget: a byte more from any engine would fail it.
    let work = workdir(&format!(
        "[images.app]\nref = \"docker-daemon:{}\"\nmax-size = {size}\nmax-wasted = \"1MB\"\nmax-layers = 9\n",
        image.tag
    ));
    let engines = [
        ("classic", engine_socket()),
        ("containerd", standin.host()),
        ("podman", podman.host()),
    ];
    let mut tables = Vec::new();
    let mut explained = Vec::new();
    for (engine, host) in &engines {
        let host = if host.starts_with("unix://") {
            host.clone()
        } else {
            format!("unix://{host}")
        };
        let env = [("DOCKER_HOST", host.as_str())];
        let out = budget_env(work.path(), &["check", "--format", "table"], &env);
        assert_exit(&out, 0);
        tables.push((engine, stdout(&out)));
        let reference = format!("docker-daemon:{}", image.tag);
        let out = budget_env(
            work.path(),
            &["explain", &reference, "--format", "json"],
            &env,
        );
        assert_exit(&out, 0);
        let mut explanation = json(&out);
        // What names the image and its blobs where it is kept may differ
        // (the containerd store keeps gzip blobs, the others plain tars):
        // every figure must not.
        explanation["digest"] = Value::Null;
        for layer in explanation["layers"].as_array_mut().unwrap() {
            layer["blob"] = Value::Null;
            layer["compressed"] = Value::Null;
        }
        explained.push((engine, explanation));
    }
    let (_, classic) = &tables[0];
    assert!(classic.contains("pass (new)"), "{classic}");
    for (engine, table) in &tables[1..] {
        assert_eq!(table, classic, "the table from {engine}");
    }
    let (_, classic) = &explained[0];
    assert_eq!(classic["wasted"], WASTED, "{classic:#}");
    assert_eq!(classic["size"], size, "{classic:#}");
    for (engine, explanation) in &explained[1..] {
        assert_eq!(explanation, classic, "explain from {engine}");
    }
}
