//! Faults from a broken world, at the binary: an engine that dies mid-run, a
//! registry answering garbage or cutting a layer short, a truncated saved
//! report. Each is exit status 2 (DESIGN.md), with the images that could be
//! checked still reported, and never a panic.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;

use common::*;
use serde_json::Value;

fn layout() -> String {
    format!("{}/examples/oci", env!("CARGO_MANIFEST_DIR"))
}

/// A config of one image from `reference` and the embedded layout's slim
/// image (which needs nothing from outside).
fn config_with(dir: &Path, name: &str, reference: &str, budget: &str) {
    std::fs::write(
        dir.join("budgets.toml"),
        format!(
            "[images.{name}]\nref = \"{reference}\"\n{budget}\n\n\
             [images.slim]\nref = \"oci:{}:slim\"\nmax-size = \"15MB\"\n",
            layout()
        ),
    )
    .unwrap();
}

fn slim_still_reported(report: &Value) {
    let slim = row(report, "slim");
    assert_eq!(slim["status"], "pass", "{slim}");
    assert_eq!(slim["size"], 2_000_500);
}

/// An engine that answers the version handshake, then drops every other
/// request without an answer: as if it stopped in the middle of the run.
fn dying_engine(dir: &Path) -> String {
    let path = dir.join("dying.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    return;
                }
                // The rest of the head.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut stream = reader.into_inner();
                if request_line.contains("/version") {
                    let body = r#"{"ApiVersion":"1.43","MinAPIVersion":"1.12","Version":"24.0.0","Os":"linux","Arch":"amd64"}"#;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    // Then the connection is dropped, as a dying engine does.
                }
                let _ = stream.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    format!("unix://{}", path.display())
}

#[test]
fn an_engine_that_stops_mid_run_is_an_error_row_and_the_rest_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    config_with(
        dir.path(),
        "app",
        "docker-daemon:acme/app:1",
        "max-size = \"1GB\"",
    );
    let host = dying_engine(dir.path());
    let out = budget_env(
        dir.path(),
        &["check", "--format", "json"],
        &[("DOCKER_HOST", host.as_str())],
    );
    assert_exit(&out, 2);
    let report = json(&out);
    let app = row(&report, "app");
    assert_eq!(app["status"], "error");
    let error = app["error"].as_str().unwrap();
    assert!(
        error.contains("cannot reach the container engine") || error.contains("could not inspect"),
        "{error}"
    );
    slim_still_reported(&report);
}

#[test]
fn a_truncated_baseline_report_keeps_every_images_own_verdict() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("budgets.toml"),
        format!(
            "[defaults]\nmax-growth = \"5%\"\n\n[images.slim]\nref = \"oci:{0}:slim\"\nmax-size = \"15MB\"\n\n\
             [images.bloated]\nref = \"oci:{0}:bloated\"\nmax-size = \"15MB\"\n",
            layout()
        ),
    )
    .unwrap();
    // A report cut off in the middle, as a full disk or a killed job leaves it.
    let whole = budget(dir.path(), &["check", "--format", "json"]);
    let text = stdout(&whole);
    std::fs::write(dir.path().join("main.json"), &text[..text.len() / 2]).unwrap();

    let out = budget(
        dir.path(),
        &["check", "--format", "json", "--baseline", "main.json"],
    );
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("warning: baseline: `main.json` is not an image-budget report"),
        "{err}"
    );
    let report = json(&out);
    for name in ["slim", "bloated"] {
        let image = row(&report, name);
        assert_eq!(image["status"], "error", "{image}");
        let growth = image["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "max-growth")
            .unwrap_or_else(|| panic!("{image}"));
        assert_eq!(growth["severity"], "error");
        assert!(
            growth["message"]
                .as_str()
                .unwrap()
                .contains("the baseline report could not be read"),
            "{growth}"
        );
    }
    // The absolute budget is still judged.
    let bloated = row(&report, "bloated");
    assert!(
        bloated["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "max-size" && f["severity"] == "fail"),
        "{bloated}"
    );

    // `report` of the truncated file: one clear error.
    let out = budget(dir.path(), &["report", "main.json"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("main.json"), "{err}");
}

/// A registry on a loopback port that answers `/v2/` and then whatever
/// `answer` says for each request path (status line, content type, body).
fn fake_registry(answer: fn(&str) -> (&'static str, &'static str, Vec<u8>)) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
                    let (status, content_type, body) = if path == "/v2/" {
                        ("200 OK", "application/json", b"{}".to_vec())
                    } else {
                        answer(&path)
                    };
                    let stream = reader.get_mut();
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(&body);
                }
            });
        }
    });
    address
}

#[test]
fn a_registry_answering_garbage_is_an_error_row_and_the_rest_is_reported() {
    let host = fake_registry(|_| {
        (
            "200 OK",
            "application/vnd.oci.image.manifest.v1+json",
            b"\x00\x01 this is no manifest {{{".to_vec(),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    config_with(
        dir.path(),
        "app",
        &format!("docker://{host}/team/app:1"),
        "max-compressed = \"1GB\"",
    );
    let out = budget(dir.path(), &["check", "--format", "json"]);
    assert_exit(&out, 2);
    let report = json(&out);
    let app = row(&report, "app");
    assert_eq!(app["status"], "error");
    assert!(app["error"].as_str().unwrap().contains(&host), "{app}");
    slim_still_reported(&report);
}

#[test]
fn a_layer_cut_short_is_an_error_row_naming_the_layer() {
    // A manifest whose one layer's blob stops half way through its gzip.
    fn answer(path: &str) -> (&'static str, &'static str, Vec<u8>) {
        let (manifest, layer) = cut_image();
        if path.contains("/manifests/") {
            (
                "200 OK",
                "application/vnd.oci.image.manifest.v1+json",
                manifest,
            )
        } else if path.ends_with(&layer_digest()) {
            let cut = layer.len() / 2;
            ("200 OK", "application/octet-stream", layer[..cut].to_vec())
        } else {
            (
                "404 Not Found",
                "application/json",
                br#"{"errors":[{"code":"BLOB_UNKNOWN"}]}"#.to_vec(),
            )
        }
    }
    let host = fake_registry(answer);
    let dir = tempfile::tempdir().unwrap();
    config_with(
        dir.path(),
        "app",
        &format!("docker://{host}/team/app:1"),
        "max-size = \"1GB\"",
    );
    let out = budget(dir.path(), &["check", "--format", "json"]);
    assert_exit(&out, 2);
    let report = json(&out);
    let app = row(&report, "app");
    assert_eq!(app["status"], "error");
    let error = app["error"].as_str().unwrap();
    assert!(error.contains(&layer_digest()), "names the layer: {error}");
    slim_still_reported(&report);
}

/// A gzip layer of 100 kB of incompressible bytes.
fn layer_blob() -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let data = content(100_000, 4242);
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "big.bin", data.as_slice())
        .unwrap();
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn layer_digest() -> String {
    sha256(&layer_blob())
}

/// The manifest (no config: its layers are all there is) and the layer blob.
fn cut_image() -> (Vec<u8>, Vec<u8>) {
    let layer = layer_blob();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha256(&layer), "size": layer.len()}]
    });
    (serde_json::to_vec(&manifest).unwrap(), layer)
}
