//! A real registry for tests: Debian's `docker-registry` (distribution 2.8)
//! on a free loopback port with its own storage, stopped when dropped.
//! Images get there with `docker push` or `skopeo copy`; manifests can be
//! read and written with a tiny HTTP/1.0 client that shares no code with the
//! client under test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::Image;

const BINARY: &str = "/usr/bin/docker-registry";

/// A running registry; killed, with its storage removed, on drop.
pub struct LocalRegistry {
    /// `127.0.0.1:PORT`, as references name it.
    pub host: String,
    /// The one user basic auth lets in, when there is one.
    pub user: Option<(String, String)>,
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer of the test HTTP client.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Every manifest kind, for reading manifests directly.
pub const ACCEPT_ALL: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl LocalRegistry {
    /// A registry that lets anyone pull and push.
    pub fn start() -> LocalRegistry {
        Self::start_inner(None)
    }

    /// A registry with htpasswd basic auth and one user.
    pub fn start_with_user(user: &str, password: &str) -> LocalRegistry {
        Self::start_inner(Some((user.to_string(), password.to_string())))
    }

    fn start_inner(user: Option<(String, String)>) -> LocalRegistry {
        assert!(
            Path::new(BINARY).exists(),
            "{BINARY} is missing: the registry tests need Debian's docker-registry; run scripts/test, which installs it (scripts/ensure-tools)"
        );
        let mut last_log = String::new();
        // A free port can be taken between finding and binding it: try again.
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let host = format!("127.0.0.1:{port}");
            let mut config = format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
                dir.path().join("data").display()
            );
            if let Some((name, password)) = &user {
                let hash = bcrypt::hash(password, 5).unwrap();
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, format!("{name}:{hash}\n")).unwrap();
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: image-budget-tests\n    path: {}\n",
                    htpasswd.display()
                ));
            }
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new(BINARY)
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {BINARY}: {e}"));
            let mut registry = LocalRegistry {
                host,
                user: user.clone(),
                child,
                dir,
            };
            if registry.wait_ready() {
                return registry;
            }
            last_log = registry.log();
        }
        panic!("docker-registry did not start; its log:\n{last_log}");
    }

    /// Waits until `/v2/` answers (200, or 401 with auth); false if it died.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(answer) = self.try_request("GET", "/v2/", &[], None)
                && (answer.status == 200 || answer.status == 401)
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Everything the registry logged: one access-log line per request.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The access-log lines of requests made with this user agent prefix.
    pub fn requests_by(&self, agent: &str) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("\" \"") && l.contains(&format!("\"{agent}")))
            .map(str::to_string)
            .collect()
    }

    /// Our requests (`image-budget/`) for layer blobs: blob requests whose
    /// blob is not an image config (JSON with a `rootfs`; a layer is a tar).
    pub fn layer_blob_requests(&self) -> Vec<String> {
        self.requests_by("image-budget/")
            .into_iter()
            .filter(|l| {
                let Some(path) = l.split('"').nth(1).and_then(|r| r.split(' ').nth(1)) else {
                    return false;
                };
                path.contains("/blobs/")
                    && serde_json::from_slice::<serde_json::Value>(
                        &self.request("GET", path, &[], None).body,
                    )
                    .map_or(true, |v| v.get("rootfs").is_none())
            })
            .collect()
    }

    fn authorization(&self) -> Option<String> {
        self.user.as_ref().map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        })
    }

    fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> std::io::Result<Answer> {
        let mut stream = TcpStream::connect(&self.host)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.0\r\nHost: {}\r\nUser-Agent: test-harness\r\n",
            self.host
        );
        if let Some(auth) = self.authorization() {
            head.push_str(&format!("Authorization: {auth}\r\n"));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or_default();
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("no end of headers"))?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("no status line"))?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Ok(Answer {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        })
    }

    /// One request, with the registry's user when it has one.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Answer {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path} on {}: {e}", self.host))
    }

    /// `GET /v2/REPO/manifests/SELECTOR`, read directly.
    pub fn manifest(&self, repository: &str, selector: &str) -> Answer {
        let answer = self.request(
            "GET",
            &format!("/v2/{repository}/manifests/{selector}"),
            &[("Accept", ACCEPT_ALL)],
            None,
        );
        assert_eq!(
            answer.status,
            200,
            "GET manifest {repository}:{selector}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        answer
    }

    /// `PUT /v2/REPO/manifests/TAG`; returns the digest the registry gave it.
    pub fn put_manifest(
        &self,
        repository: &str,
        tag: &str,
        media_type: &str,
        body: &[u8],
    ) -> String {
        let answer = self.request(
            "PUT",
            &format!("/v2/{repository}/manifests/{tag}"),
            &[("Content-Type", media_type)],
            Some(body),
        );
        assert_eq!(
            answer.status,
            201,
            "PUT manifest {repository}:{tag}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        answer
            .header("Docker-Content-Digest")
            .expect("a digest for the new manifest")
            .to_string()
    }

    /// `docker push` of `image` as `REGISTRY/repository:tag` (Docker v2
    /// manifests). Only for a registry without auth: a push with auth would
    /// need `docker login`, which writes the user's docker config.
    pub fn docker_push(&self, image: &Image, name: &str) -> String {
        assert!(
            self.user.is_none(),
            "docker push needs docker login; use skopeo_copy"
        );
        let target = format!("{}/{name}", self.host);
        run("docker", &["tag", &image.tag, &target]);
        run("docker", &["push", &target]);
        run("docker", &["image", "rm", &target]);
        target
    }

    /// `skopeo copy` of `image` from the engine as `REGISTRY/name`, in
    /// `format` (`oci` or `v2s2`), with the registry's user when it has one.
    pub fn skopeo_copy(&self, image: &Image, name: &str, format: &str) -> String {
        let target = format!("{}/{name}", self.host);
        let mut args = vec![
            "copy".to_string(),
            "--quiet".to_string(),
            "--format".to_string(),
            format.to_string(),
            "--dest-tls-verify=false".to_string(),
        ];
        if let Some((u, p)) = &self.user {
            args.push("--dest-creds".to_string());
            args.push(format!("{u}:{p}"));
        }
        args.push(format!("docker-daemon:{}", image.tag));
        args.push(format!("docker://{target}"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run("skopeo", &args);
        target
    }

    /// The number of lines in the log now, to read what follows it.
    pub fn mark(&self) -> usize {
        self.log().lines().count()
    }

    /// Our requests (`image-budget/`) logged after `mark`, as (method and
    /// path, status, bytes sent) from the access log's combined lines.
    pub fn ours_since(&self, mark: usize) -> Vec<(String, u16, u64)> {
        self.log()
            .lines()
            .skip(mark)
            .filter(|l| l.contains("\" \"") && l.contains("\"image-budget/"))
            .filter_map(|l| {
                let mut quoted = l.split('"');
                let request = quoted.nth(1)?.to_string();
                let mut numbers = quoted.next()?.split_whitespace();
                let status = numbers.next()?.parse().ok()?;
                let bytes = numbers.next()?.parse().unwrap_or(0);
                Some((request, status, bytes))
            })
            .collect()
    }

    /// Bytes of blobs (config or layer) sent to us after `mark`.
    pub fn blob_bytes_since(&self, mark: usize) -> u64 {
        self.ours_since(mark)
            .iter()
            .filter(|(request, _, _)| request.contains("/blobs/"))
            .map(|(_, _, bytes)| bytes)
            .sum()
    }

    /// Where the registry keeps a blob's bytes, to damage it in a test.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.storage()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Pushes the image of an OCI layout directory (its first manifest) as
    /// `repository:tag`, blob by blob, exactly as the layout holds them
    /// (uncompressed layers stay uncompressed, and are labelled so).
    /// Returns `HOST/repository:tag`.
    pub fn push_layout(&self, layout: &Path, repository: &str, tag: &str) -> String {
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        let entry = &index["manifests"][0];
        let digest = entry["digest"].as_str().unwrap();
        let blob = |d: &str| {
            std::fs::read(
                layout
                    .join("blobs/sha256")
                    .join(d.strip_prefix("sha256:").unwrap()),
            )
            .unwrap()
        };
        let mut parsed: serde_json::Value = serde_json::from_slice(&blob(digest)).unwrap();
        // skopeo 1.9 labels the uncompressed layers it keeps `tar+gzip`:
        // the label follows the content here, as a registry would hold it.
        for layer in parsed["layers"].as_array_mut().unwrap() {
            let head = blob(layer["digest"].as_str().unwrap());
            if !head.starts_with(&[0x1f, 0x8b]) && !head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
                layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar".into();
            }
        }
        let manifest = serde_json::to_vec(&parsed).unwrap();
        let mut digests = vec![parsed["config"]["digest"].as_str().unwrap().to_string()];
        for layer in parsed["layers"].as_array().unwrap() {
            digests.push(layer["digest"].as_str().unwrap().to_string());
        }
        for d in &digests {
            let start = self.request(
                "POST",
                &format!("/v2/{repository}/blobs/uploads/"),
                &[],
                None,
            );
            assert_eq!(
                start.status,
                202,
                "{}",
                String::from_utf8_lossy(&start.body)
            );
            let location = start.header("Location").unwrap().to_string();
            let path = match location.find("/v2/") {
                Some(i) => &location[i..],
                None => location.as_str(),
            };
            let separator = if path.contains('?') { '&' } else { '?' };
            let put = self.request(
                "PUT",
                &format!("{path}{separator}digest={d}"),
                &[("Content-Type", "application/octet-stream")],
                Some(&blob(d)),
            );
            assert_eq!(put.status, 201, "{}", String::from_utf8_lossy(&put.body));
        }
        let media_type = parsed["mediaType"]
            .as_str()
            .unwrap_or("application/vnd.oci.image.manifest.v1+json");
        self.put_manifest(repository, tag, media_type, &manifest);
        format!("{}/{repository}:{tag}", self.host)
    }

    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program}: {e}; run scripts/test, which installs the test tools")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
