//! A dockerd of the test's own (its own data root, exec root and socket, in
//! a network namespace of its own), so that the engine's own accounting
//! (`/system/df`) covers only the images the test loads into it. Stopped,
//! its files removed, on drop.
//!
//! The namespace matters: a dockerd started with `--bridge none` deletes the
//! host's `docker0` (moby's `removeDefaultBridgeInterface`), and one with the
//! default bridge would fight the shared engine over it. In its own
//! namespace (`unshare --net`) it makes its own `docker0`; its socket is a
//! file, reached from here as any other.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::Image;

pub struct Dockerd {
    /// `unix:///…/d.sock`, as DOCKER_HOST names it.
    pub host: String,
    socket: PathBuf,
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .output();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}

impl Dockerd {
    pub fn start() -> Dockerd {
        // Short paths: a unix socket's path is at most 107 bytes.
        let dir = tempfile::Builder::new()
            .prefix("ib-dd")
            .tempdir_in("/tmp")
            .unwrap();
        let socket = dir.path().join("d.sock");
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new("unshare")
            .args(["--net", "--", "dockerd"])
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("x"))
            .arg("--pidfile")
            .arg(dir.path().join("d.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .args(["--iptables=false", "--ip6tables=false"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("dockerd starts (Debian's docker.io; scripts/ensure-tools)");
        let engine = Dockerd {
            host: format!("unix://{}", socket.display()),
            socket,
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let ok = Command::new("docker")
                .args([
                    "-H",
                    &engine.host,
                    "version",
                    "--format",
                    "{{.Server.Version}}",
                ])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return engine;
            }
            assert!(
                Instant::now() < deadline,
                "the test's own dockerd did not answer within 90 s:\n{}",
                std::fs::read_to_string(engine.dir.path().join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `docker -H THIS ARGS...`, which must succeed.
    pub fn docker(&self, args: &[&str]) -> Output {
        let mut all = vec!["-H", self.host.as_str()];
        all.extend(args);
        super::docker_ok(&all)
    }

    /// Copies images from the shared engine into this one (`docker save | docker load`).
    pub fn load(&self, images: &[&Image], dir: &Path) {
        let tar = dir.join("images.tar");
        let mut args = vec!["save", "-o", tar.to_str().unwrap()];
        args.extend(images.iter().map(|i| i.tag.as_str()));
        super::docker_ok(&args);
        self.docker(&["load", "-q", "-i", tar.to_str().unwrap()]);
        std::fs::remove_file(tar).unwrap();
    }

    /// The engine's own disk accounting: `GET /system/df`.
    pub fn df(&self) -> serde_json::Value {
        let mut stream = UnixStream::connect(&self.socket).unwrap();
        stream
            .write_all(b"GET /system/df HTTP/1.0\r\nHost: docker\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let text = String::from_utf8_lossy(&answer);
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "{head}"
        );
        serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("/system/df is not JSON ({e}): {body}"))
    }
}
