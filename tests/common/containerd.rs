//! A private containerd for tests: Debian's `containerd` (1.6) started with a
//! config of its own (root, state, sockets and the `opt` directory all in a
//! temporary directory), so it never touches `/run/containerd`,
//! `/var/lib/containerd` or the containerd that dockerd runs. Images go in
//! and out with `ctr` (namespace `image-budget`): `import` turns a
//! `docker save` archive into the containerd store's content (layers gzipped
//! with `--compress-blobs`, unpacked into overlayfs snapshots), `export`
//! writes the OCI layout tar that the Docker 29 stand-in serves.
//!
//! What ctr 1.6.20 does, checked by running it:
//! - `images import` has `--compress-blobs` (Docker archives only),
//!   `--platform P` and `--all-platforms`. Without either it keeps only the
//!   host's platform: a Docker archive whose config says another platform
//!   fails with `ctr: image might be filtered out`, and an OCI index keeps
//!   only the host's manifest (the others' blobs are garbage-collected).
//! - it names a Docker archive's image from `manifest.json`'s `RepoTags`,
//!   normalized (`acme/x:t` becomes `docker.io/acme/x:t`), and an OCI
//!   layout's from the `io.containerd.image.name` annotation in index.json.
//! - `images export` wants that full name (`acme/x:t` is "not found", and the
//!   failed export leaves an empty file). Its archive holds `blobs/`,
//!   `blobs/sha256/`, the blobs by digest, `index.json`, `manifest.json` (the
//!   Docker-compatible file, written unless `--skip-manifest-json`, its
//!   `Layers` naming the gzip blobs) and `oci-layout`, in that (sorted) order,
//!   every mtime 0 and owner 0/0, as moby 29's exporter (containerd 2's
//!   `archive.Export`) writes them.
//! - `--platform` may be repeated; without it the export takes the host's
//!   platform from an index (a single manifest is exported whatever its
//!   platform), and `--all-platforms` fails when a platform's blobs are
//!   missing.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The namespace every test image lives in.
pub const NAMESPACE: &str = "image-budget";

/// A containerd of this test's own, killed (by its pid) when dropped.
pub struct Containerd {
    dir: tempfile::TempDir,
    socket: PathBuf,
    child: Option<Child>,
}

/// Fails the test with a clear message when containerd or ctr is missing.
fn require_binaries() {
    for tool in ["containerd", "ctr"] {
        let found = Command::new(tool).arg("--version").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "`{tool}` is needed on PATH for these tests; run scripts/ensure-tools \
             (or apt-get install -y containerd, which brings containerd and ctr)"
        );
    }
}

impl Containerd {
    /// Starts containerd and waits (up to 30 s) until its socket answers.
    pub fn start() -> Containerd {
        require_binaries();
        // Short: a unix socket's path must fit in 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("ctd")
            .tempdir_in("/tmp")
            .unwrap();
        let root = dir.path();
        let socket = root.join("c.sock");
        let config = format!(
            r#"version = 2
root = "{root}/root"
state = "{root}/state"
# An image store only: nothing here runs containers (no CRI, no runtimes,
# whose shims would put sockets in the fixed /run/containerd/s), and no
# snapshotters that need a filesystem or a device this machine may not have
# (overlayfs, which unpacks the layers, and native stay).
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.runtime.v1.linux",
  "io.containerd.runtime.v2.task",
  "io.containerd.monitor.v1.cgroups",
  "io.containerd.service.v1.tasks-service",
  "io.containerd.grpc.v1.tasks",
  "io.containerd.internal.v1.restart",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "{root}/opt"
"#,
            root = root.display(),
            socket = socket.display()
        );
        let config_path = root.join("config.toml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(root.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("containerd could not start: {e}"));
        let mut this = Containerd {
            dir,
            socket,
            child: Some(child),
        };
        this.wait_ready();
        this
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "containerd exited ({status}) before it answered:\n{}",
                    self.log()
                );
            }
            if self.socket.exists() {
                let answer = Command::new("ctr")
                    .arg("-a")
                    .arg(&self.socket)
                    .args(["version"])
                    .output();
                if answer.is_ok_and(|o| o.status.success()) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "containerd did not answer on {} within 30 s:\n{}",
                self.socket.display(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// containerd's own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    /// The gRPC socket (`ctr -a`).
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// A scratch directory inside this containerd's temporary directory.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join("scratch").join(name);
        std::fs::create_dir_all(&path).unwrap();
        path
    }

    /// `ctr -a SOCK -n image-budget ARGS...`, which must succeed.
    pub fn ctr(&self, args: &[&str]) -> Output {
        let out = Command::new("ctr")
            .arg("-a")
            .arg(&self.socket)
            .args(["-n", NAMESPACE])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("ctr could not start: {e}"));
        assert!(
            out.status.success(),
            "ctr {args:?} failed: {}{}\ncontainerd's log:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        out
    }

    /// `ctr images import --compress-blobs [EXTRA...] FILE`: a `docker save`
    /// archive (or an OCI layout tar). `extra_args` takes `--platform P` or
    /// `--all-platforms`. Returns the names of the images it unpacked
    /// (`docker.io/acme/x:t`), as ctr prints them.
    pub fn import(&self, docker_save_tar: &Path, extra_args: &[&str]) -> Vec<String> {
        let file = docker_save_tar.to_str().unwrap();
        let mut args = vec!["images", "import", "--compress-blobs"];
        args.extend_from_slice(extra_args);
        args.push(file);
        let out = self.ctr(&args);
        // "unpacking docker.io/acme/x:t (sha256:…)...done"
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("unpacking "))
            .filter_map(|l| l.split(" (").next())
            .map(str::to_string)
            .collect()
    }

    /// `ctr images export [--platform P] OUT REF`. `reference` is normalized
    /// as ctr stored it (`acme/x:t` → `docker.io/acme/x:t`).
    pub fn export(&self, out: &Path, reference: &str, platform: Option<&str>) {
        self.export_platforms(out, reference, platform.as_slice());
    }

    /// `ctr images export --platform P1 --platform P2 ... OUT REF` (an index's
    /// image manifest and its attestation, `unknown/unknown`).
    pub fn export_platforms(&self, out: &Path, reference: &str, platforms: &[&str]) {
        let full = full_name(reference);
        let mut args = vec!["images", "export"];
        for p in platforms {
            args.extend_from_slice(&["--platform", p]);
        }
        let out = out.to_str().unwrap();
        args.extend_from_slice(&[out, &full]);
        self.ctr(&args);
    }
}

/// The name as containerd stores it: Docker's normalization (a first
/// component without `.` or `:` that is not `localhost` is Docker Hub's,
/// a single component is in `library/`), a tag `latest` when none is given.
pub fn full_name(reference: &str) -> String {
    let (first, rest) = reference.split_once('/').unwrap_or(("", reference));
    let named = if first.is_empty() {
        format!("docker.io/library/{rest}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        reference.to_string()
    } else {
        format!("docker.io/{reference}")
    };
    let last = named.rsplit('/').next().unwrap();
    if last.contains(':') || last.contains('@') {
        named
    } else {
        format!("{named}:latest")
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGTERM by its pid first (a clean shutdown closes its database),
        // then SIGKILL if it lingers; always waited for.
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .output();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
