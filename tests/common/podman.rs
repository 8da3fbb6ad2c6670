//! A podman of the tests' own: Debian's podman with its own storage (vfs,
//! under a temporary directory) and `podman system service` on a socket of
//! its own, stopped when dropped. Images are loaded from `docker save`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Podman {
    dir: tempfile::TempDir,
    service: Child,
}

impl Podman {
    pub fn start() -> Podman {
        let found = Command::new("podman").arg("--version").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "`podman` is needed on PATH for these tests; run scripts/ensure-tools (or apt-get install podman)"
        );
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("service.log")).unwrap();
        let socket = format!("unix://{}", dir.path().join("podman.sock").display());
        let service = Command::new("podman")
            .args(Self::storage_args(dir.path()))
            .args(["system", "service", "--time", "0", &socket])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("podman system service starts");
        let mut podman = Podman { dir, service };
        podman.wait_ready();
        podman
    }

    fn storage_args(dir: &Path) -> Vec<String> {
        vec![
            "--root".into(),
            dir.join("root").display().to_string(),
            "--runroot".into(),
            dir.join("run").display().to_string(),
            "--storage-driver".into(),
            "vfs".into(),
        ]
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("podman.sock")
    }

    /// `unix://…/podman.sock`, for DOCKER_HOST.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.service.try_wait() {
                panic!("podman system service exited ({status}): {}", self.log());
            }
            if std::os::unix::net::UnixStream::connect(self.socket()).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("podman's socket did not come up: {}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("service.log")).unwrap_or_default()
    }

    /// `podman load` of a `docker save` tar; podman names the image
    /// `localhost/NAME:TAG`.
    pub fn load(&self, archive: &Path) {
        let out = Command::new("podman")
            .args(Self::storage_args(self.dir.path()))
            .args(["load", "--quiet", "-i", &archive.display().to_string()])
            .output()
            .expect("podman runs");
        assert!(
            out.status.success(),
            "podman load failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.service.kill();
        let _ = self.service.wait();
    }
}
