//! Helpers for tests against the real engine: images built here FROM scratch
//! with files of exact sizes (nothing can be pulled), and the `budget` binary.
#![allow(dead_code)]

pub mod containerd;
pub mod dockerd;
pub mod podman;
pub mod registry;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Fails the test with a clear message when no engine answers. The test
/// command (`scripts/test`) starts one; nothing is skipped.
pub fn require_engine() {
    let out = Command::new("docker")
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .output()
        .expect("the docker CLI is needed on PATH");
    assert!(
        out.status.success(),
        "no Docker engine answers ({}); run scripts/test, which starts one",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// Fails the test with a clear message when a tool the tests drive is
/// missing; `scripts/ensure-tools` installs them. Nothing is skipped.
pub fn require_tool(tool: &str) {
    let found = Command::new(tool).arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "`{tool}` is needed on PATH for these tests; run scripts/ensure-tools (or apt-get install {tool})"
    );
}

/// Runs a program that must succeed, and returns its output.
pub fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not start: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `docker ARGS...`, which must succeed.
pub fn docker_ok(args: &[&str]) -> Output {
    docker(args)
}

fn docker(args: &[&str]) -> Output {
    let out = Command::new("docker")
        .args(args)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Deterministic, poorly compressible bytes (so compressed sizes differ from sizes).
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// An image removed from the engine when dropped.
pub struct Image {
    pub tag: String,
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["image", "rm", "-f", &self.tag])
            .output();
    }
}

impl Image {
    /// `docker image inspect`'s own Size, the figure budget must report.
    pub fn inspect_size(&self) -> u64 {
        let out = docker(&["image", "inspect", "--format", "{{.Size}}", &self.tag]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    pub fn inspect(&self, format: &str) -> String {
        let out = docker(&["image", "inspect", "--format", format, &self.tag]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// A unique tag for this test process.
pub fn tag(name: &str) -> String {
    format!("image-budget-test/{name}-{}:t", std::process::id())
}

/// A content seed of this image's own: the legacy builder shares a cached
/// `COPY` layer between builds of identical files, and a concurrent test that
/// removes its image would take the layer from under another test's build.
fn seed_of(name: &str, index: usize, len: usize) -> u64 {
    name.bytes()
        .fold((index as u64) << 32 ^ len as u64, |h, b| {
            h.wrapping_mul(0x0000_0100_0000_01b3) ^ u64::from(b)
        })
}

/// Builds `FROM scratch` with one `COPY` layer per file (name, exact size),
/// plus an `ENV` step that makes no layer.
pub fn build(name: &str, files: &[(&str, usize)]) -> Image {
    let dir = tempfile::tempdir().unwrap();
    let tag = tag(name);
    let mut dockerfile = String::from("FROM scratch\n");
    for (i, (file, len)) in files.iter().enumerate() {
        std::fs::write(dir.path().join(file), content(*len, seed_of(name, i, *len))).unwrap();
        dockerfile.push_str(&format!("COPY {file} /{file}\n"));
        if i == 0 {
            // The tag in the config makes the image ID this test's own: a test
            // that pushes its image must not give another test's image a repo digest.
            dockerfile.push_str(&format!("ENV MADE_BY=\"image-budget-tests {tag}\"\n"));
        }
    }
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    docker(&["build", "-q", "-t", &tag, &dir.path().display().to_string()]);
    Image { tag }
}

/// Builds a Dockerfile of the caller's in a context holding `files` (name,
/// exact size, content seeded by the name and its index), for images `build` cannot
/// shape (a layer repeated, directories).
pub fn build_dockerfile(name: &str, files: &[(&str, usize)], dockerfile: &str) -> Image {
    let dir = tempfile::tempdir().unwrap();
    for (i, (file, len)) in files.iter().enumerate() {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content(*len, seed_of(name, i + 100, *len))).unwrap();
    }
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    let tag = tag(name);
    docker(&["build", "-q", "-t", &tag, &dir.path().display().to_string()]);
    Image { tag }
}

/// `docker import` of a tarball holding one file of an exact size.
pub fn import(name: &str, len: usize) -> Image {
    let dir = tempfile::tempdir().unwrap();
    let tar_path = dir.path().join("rootfs.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&tar_path).unwrap());
    let data = content(len, 7);
    let mut header = tar::Header::new_gnu();
    header.set_size(len as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "payload.bin", data.as_slice())
        .unwrap();
    builder.finish().unwrap();
    drop(builder);
    let tag = tag(name);
    docker(&["import", &tar_path.display().to_string(), &tag]);
    Image { tag }
}

/// `docker import` of a directory as an image's only layer.
pub fn import_dir(root: &Path, name: &str) -> Image {
    let tar = root.with_extension("tar");
    run(
        "tar",
        &[
            "-C",
            root.to_str().unwrap(),
            "-cf",
            tar.to_str().unwrap(),
            ".",
        ],
    );
    let tag = tag(name);
    docker(&["import", tar.to_str().unwrap(), &tag]);
    std::fs::remove_file(tar).unwrap();
    Image { tag }
}

/// Runs `budget` with `args` in `dir`.
pub fn budget(dir: &Path, args: &[&str]) -> Output {
    budget_env(dir, args, &[])
}

pub fn budget_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_budget"));
    cmd.current_dir(dir).args(args).env_remove("NO_COLOR");
    // Each test's own layer facts cache, unless it names one.
    cmd.env("IMAGE_BUDGET_CACHE", dir.join(".budget-cache"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("budget runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the process ended with `code` and never panicked.
pub fn assert_exit(out: &Output, code: i32) {
    let err = stderr(out);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "budget panicked:\n{err}"
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{err}",
        stdout(out)
    );
}

/// A temporary directory with a budgets.toml.
pub fn workdir(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("budgets.toml"), config).unwrap();
    dir
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(out), stderr(out)))
}

/// The report's row for an image.
/// A JSON file, read whole.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// (diff ID, size) per layer.
pub fn layers(row: &serde_json::Value) -> Vec<(String, u64)> {
    row["layer_details"]
        .as_array()
        .unwrap_or_else(|| panic!("no layer_details in {row:#}"))
        .iter()
        .map(|l| {
            (
                l["digest"].as_str().unwrap().to_string(),
                l["size"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("no size in {l}")),
            )
        })
        .collect()
}

pub fn row<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no row {name} in {report:#}"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Another name for an image, removed (the name only) when dropped.
pub fn retag(image: &Image, tag: &str) -> Image {
    docker(&["tag", &image.tag, tag]);
    Image {
        tag: tag.to_string(),
    }
}

/// Runs git in `dir`, failing the test on error; returns stdout trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The engine's socket: DOCKER_HOST's when it names one, else the default.
pub fn engine_socket() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
        .unwrap_or_else(|| "/var/run/docker.sock".to_string())
}

/// A socket in front of the engine that forwards everything and records the
/// request lines it sees (`GET /v1.41/images/x/json HTTP/1.1`).
pub fn recording_proxy(
    dir: &Path,
    engine: &str,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    let engine = engine.strip_prefix("unix://").unwrap_or(engine).to_string();
    let path = dir.join("proxy.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = std::sync::Arc::clone(&seen);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(upstream) = UnixStream::connect(&engine) else {
                continue;
            };
            let (mut from_client, mut to_engine) =
                (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            let (mut from_engine, mut to_client) = (upstream, client);
            let record = std::sync::Arc::clone(&record);
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while let Ok(n) = from_client.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    for line in String::from_utf8_lossy(&buf[..n]).lines() {
                        if ["GET ", "POST ", "HEAD ", "DELETE "]
                            .iter()
                            .any(|m| line.starts_with(m))
                        {
                            record.lock().unwrap().push(line.to_string());
                        }
                    }
                    if to_engine.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_engine, &mut to_client);
            });
        }
    });
    (format!("unix://{}", path.display()), seen)
}
