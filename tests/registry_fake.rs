//! The registry client against an HTTP fake (wiremock) for what a real local
//! registry will not do on demand: bearer-token challenges, rate limits,
//! failing servers, slow answers and broken manifests. Every image has its
//! config blob served (one small request); every test ends by checking that
//! no layer blob was ever requested.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use image_budget::retry::{Policy, Sleeper};

use base64::Engine as _;
use image_budget::config::PlatformChoice;
use image_budget::measure::registry::{ATTEMPTS, Error, Registry, RegistryOptions};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

fn digest(body: &[u8]) -> String {
    let hash = Sha256::digest(body);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A manifest body and its digest.
struct Doc {
    body: Vec<u8>,
    digest: String,
    media_type: &'static str,
}

fn doc(value: serde_json::Value, media_type: &'static str) -> Doc {
    let body = serde_json::to_vec(&value).unwrap();
    Doc {
        digest: digest(&body),
        body,
        media_type,
    }
}

/// The config blob of an image with `layers` layers: linux/amd64, a diff
/// ID and a history step (`COPY layerN /`) per layer.
fn config(layers: usize) -> Doc {
    let diff_ids: Vec<String> = (0..layers)
        .map(|i| format!("sha256:{:064x}", 0xd1ff_0000 + i))
        .collect();
    let history: Vec<_> = (0..layers)
        .map(|i| json!({"created_by": format!("COPY layer{i} /")}))
        .collect();
    doc(
        json!({"architecture": "amd64", "os": "linux",
               "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}),
        "application/vnd.oci.image.config.v1+json",
    )
}

/// Serves the config blob of every image [`image`] makes, in any repository.
struct Configs;

impl wiremock::Respond for Configs {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let wanted = request.url.path().rsplit('/').next().unwrap_or_default();
        match (0..16).map(config).find(|c| c.digest == wanted) {
            Some(c) => ResponseTemplate::new(200).set_body_raw(c.body, c.media_type),
            None => ResponseTemplate::new(404)
                .set_body_string(r#"{"errors":[{"code":"BLOB_UNKNOWN"}]}"#),
        }
    }
}

async fn serve_configs(server: &MockServer) {
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            r"^/v2/.+/blobs/sha256:[0-9a-f]{64}$",
        ))
        .respond_with(Configs)
        .mount(server)
        .await;
}

/// An image manifest with layers of these blob sizes.
fn image(media_type: &'static str, sizes: &[u64]) -> Doc {
    let config = config(sizes.len());
    let layer_type = if media_type == OCI_MANIFEST {
        "application/vnd.oci.image.layer.v1.tar+gzip"
    } else {
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    };
    let layers: Vec<_> = sizes
        .iter()
        .enumerate()
        .map(|(i, size)| {
            json!({"mediaType": layer_type, "digest": format!("sha256:{:064x}", i as u64 + size), "size": size})
        })
        .collect();
    doc(
        json!({"schemaVersion": 2, "mediaType": media_type,
               "config": {"mediaType": config.media_type,
                          "digest": config.digest, "size": config.body.len()},
               "layers": layers}),
        media_type,
    )
}

/// An index over `(platform, manifest)` plus an attestation for the first.
fn index(media_type: &'static str, children: &[(&str, &Doc)]) -> Doc {
    let mut manifests: Vec<_> = children
        .iter()
        .map(|(platform, child)| {
            let parts: Vec<&str> = platform.split('/').collect();
            let mut p = json!({"os": parts[0], "architecture": parts[1]});
            if let Some(v) = parts.get(2) {
                p["variant"] = json!(v);
            }
            json!({"mediaType": child.media_type, "digest": child.digest,
                   "size": child.body.len(), "platform": p})
        })
        .collect();
    manifests.push(json!({
        "mediaType": OCI_MANIFEST, "digest": format!("sha256:{:064x}", 99), "size": 100,
        "platform": {"os": "unknown", "architecture": "unknown"},
        "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": children[0].1.digest}}));
    doc(
        json!({"schemaVersion": 2, "mediaType": media_type, "manifests": manifests}),
        media_type,
    )
}

fn serve(doc: &Doc) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(doc.body.clone(), doc.media_type)
        .insert_header("Docker-Content-Digest", doc.digest.as_str())
}

/// A fake registry that needs no authentication.
async fn open_registry() -> MockServer {
    let server = MockServer::start().await;
    serve_configs(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    server
}

/// `/v2/` answers 401 with a bearer challenge naming `/token` of `server`.
async fn bearer_challenge(server: &MockServer, service: &str) {
    let realm = format!("{}/token", server.uri());
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "WWW-Authenticate",
            format!(r#"Bearer realm="{realm}",service="{service}""#).as_str(),
        ))
        .mount(server)
        .await;
}

fn host(server: &MockServer) -> String {
    server.address().to_string()
}

/// A client with its own empty docker config (never the user's).
fn client(timeout: Duration) -> (Registry, tempfile::TempDir) {
    let (registry, config, _) = recording_client(timeout);
    (registry, config)
}

/// [`client`], whose retry waits are recorded instead of waited for: tests
/// assert the waits asked for, never the time they took.
fn recording_client(timeout: Duration) -> (Registry, tempfile::TempDir, Arc<Mutex<Vec<Duration>>>) {
    let config = tempfile::tempdir().unwrap();
    let (sleeper, waits) = Sleeper::recording();
    let registry = Registry::new(RegistryOptions {
        insecure: vec![],
        timeout,
        retry: Policy {
            attempts: ATTEMPTS,
            first_backoff: Duration::from_millis(200),
            jitter: false,
            sleeper,
            ..Policy::default()
        },
        ..RegistryOptions::default()
    })
    .unwrap()
    .with_docker_config(config.path());
    (registry, config, waits)
}

async fn requests_to(server: &MockServer, wanted: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == wanted)
        .count()
}

/// Manifests and configs only: not one request for a layer blob.
async fn assert_no_blobs(server: &MockServer) {
    let requests = server.received_requests().await.unwrap();
    assert!(
        !requests.is_empty(),
        "the fake registry saw no request at all"
    );
    let configs: Vec<String> = (0..16).map(|n| config(n).digest).collect();
    for r in &requests {
        let path = r.url.path();
        let is_config = configs.iter().any(|c| path.ends_with(c.as_str()));
        assert!(
            !path.contains("/blobs/") || is_config,
            "a layer blob was requested: {} {}",
            r.method,
            r.url
        );
    }
}

#[tokio::test]
async fn bearer_challenge_then_token_then_manifests_of_an_index() {
    let server = MockServer::start().await;
    serve_configs(&server).await;
    bearer_challenge(&server, "fake-registry").await;
    Mock::given(method("GET"))
        .and(path("/token"))
        .and(query_param("scope", "repository:acme/api:pull"))
        .and(query_param("service", "fake-registry"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": "tok-123"})))
        .mount(&server)
        .await;
    let amd64 = image(OCI_MANIFEST, &[1000, 2345, 77]);
    let arm64 = image(OCI_MANIFEST, &[900, 10]);
    let list = index(
        OCI_INDEX,
        &[("linux/amd64", &amd64), ("linux/arm64/v8", &arm64)],
    );
    for (selector, doc) in [
        ("1.0".to_string(), &list),
        (amd64.digest.clone(), &amd64),
        (arm64.digest.clone(), &arm64),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/v2/acme/api/manifests/{selector}")))
            .and(header("authorization", "Bearer tok-123"))
            .respond_with(serve(doc))
            .mount(&server)
            .await;
    }
    // Without the token, the manifests are refused.
    Mock::given(method("GET"))
        .and(path("/v2/acme/api/manifests/1.0"))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(10)
        .mount(&server)
        .await;

    let (registry, _config) = client(Duration::from_secs(10));
    let reference = format!("{}/acme/api:1.0", host(&server));
    let one = registry.measure(&reference, None, false).await.unwrap();
    assert_eq!(one.len(), 1);
    let m = &one[0];
    assert_eq!(m.source, "registry");
    assert_eq!(m.reference, reference);
    assert_eq!(m.digest, amd64.digest);
    assert_eq!(m.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(m.metrics.size, None);
    assert_eq!(m.metrics.compressed, Some(1000 + 2345 + 77));
    assert!(!m.metrics.compressed_estimated);
    assert_eq!(m.metrics.layers, Some(3));
    let diff_ids = config(3);
    let diff_ids: serde_json::Value = serde_json::from_slice(&diff_ids.body).unwrap();
    assert_eq!(
        m.layer_details
            .iter()
            .map(|l| (
                l.digest.as_str(),
                l.size,
                l.compressed,
                l.instruction.as_deref()
            ))
            .collect::<Vec<_>>(),
        [
            (
                diff_ids["rootfs"]["diff_ids"][0].as_str().unwrap(),
                None,
                Some(1000),
                Some("COPY layer0 /")
            ),
            (
                diff_ids["rootfs"]["diff_ids"][1].as_str().unwrap(),
                None,
                Some(2345),
                Some("COPY layer1 /")
            ),
            (
                diff_ids["rootfs"]["diff_ids"][2].as_str().unwrap(),
                None,
                Some(77),
                Some("COPY layer2 /")
            )
        ],
        "layers named by the config's diff IDs, with its instructions"
    );

    let all = registry
        .measure(&reference, Some(&PlatformChoice::All), false)
        .await
        .unwrap();
    let seen: Vec<_> = all
        .iter()
        .map(|m| {
            (
                m.platform.clone().unwrap(),
                m.metrics.compressed.unwrap(),
                m.digest.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("linux/amd64".to_string(), 3422, amd64.digest.clone()),
            ("linux/arm64/v8".to_string(), 910, arm64.digest.clone())
        ]
    );
    assert!(requests_to(&server, "/token").await >= 1);
    assert_no_blobs(&server).await;
}

#[tokio::test]
async fn credentials_from_config_go_to_the_token_service_and_a_refusal_names_their_source() {
    let server = MockServer::start().await;
    serve_configs(&server).await;
    bearer_challenge(&server, "fake").await;
    let good = base64::engine::general_purpose::STANDARD.encode("ci-bot:correct-horse-battery");
    Mock::given(method("GET"))
        .and(path("/token"))
        .and(header("authorization", format!("Basic {good}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "tok-ci"})))
        .mount(&server)
        .await;
    // Any other credentials: the token service refuses, echoing what it got
    // (a careless service might); the error must still not show the password.
    Mock::given(method("GET"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string("bad credentials: wrong-password-xyzzy is not right"),
        )
        .with_priority(10)
        .mount(&server)
        .await;
    let manifest = image(DOCKER_MANIFEST, &[5, 6]);
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/v1"))
        .and(header("authorization", "Bearer tok-ci"))
        .respond_with(serve(&manifest))
        .mount(&server)
        .await;

    let (registry, config) = client(Duration::from_secs(10));
    let reference = format!("{}/team/app:v1", host(&server));
    let write_config = |user_pass: &str| {
        let auth = base64::engine::general_purpose::STANDARD.encode(user_pass);
        std::fs::write(
            config.path().join("config.json"),
            json!({"auths": {host(&server): {"auth": auth}}}).to_string(),
        )
        .unwrap();
    };

    write_config("ci-bot:correct-horse-battery");
    let measured = registry.measure(&reference, None, false).await.unwrap();
    assert_eq!(measured[0].metrics.compressed, Some(11));
    assert_eq!(measured[0].digest, manifest.digest);
    assert_eq!(
        measured[0].platform.as_deref(),
        Some("linux/amd64"),
        "from the config blob"
    );

    write_config("ci-bot:wrong-password-xyzzy");
    let err = registry.measure(&reference, None, false).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert!(
        text.contains(&format!("config.json auths for {}", host(&server))),
        "{text}"
    );
    for secret in ["wrong-password-xyzzy", "correct-horse-battery"] {
        assert!(!text.contains(secret), "the password leaked: {text}");
        assert!(
            !format!("{err:?}").contains(secret),
            "the password leaked: {err:?}"
        );
    }
    assert_no_blobs(&server).await;
}

#[tokio::test]
async fn an_anonymous_refusal_says_it_was_anonymous() {
    let server = open_registry().await;
    Mock::given(method("GET"))
        .and(path("/v2/private/app/manifests/latest"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}),
        ))
        .mount(&server)
        .await;
    let (registry, _config) = client(Duration::from_secs(10));
    let err = registry
        .measure(&format!("{}/private/app", host(&server)), None, false)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("credentials tried: anonymous"), "{text}");
    assert!(text.contains("docker login"), "{text}");
    assert!(!err.is_not_found());
    assert_no_blobs(&server).await;
}

#[tokio::test]
async fn rate_limits_are_retried_and_retry_after_is_honoured() {
    let server = open_registry().await;
    let manifest = image(OCI_MANIFEST, &[42]);
    let manifest_path = "/v2/busy/app/manifests/1";
    Mock::given(method("GET"))
        .and(path(manifest_path))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(manifest_path))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(manifest_path))
        .respond_with(serve(&manifest))
        .with_priority(3)
        .mount(&server)
        .await;

    let (registry, _config, waits) = recording_client(Duration::from_secs(10));
    let measured = registry
        .measure(&format!("{}/busy/app:1", host(&server)), None, false)
        .await
        .unwrap();
    assert_eq!(measured[0].metrics.compressed, Some(42));
    assert_eq!(
        requests_to(&server, manifest_path).await,
        3,
        "two 429s, then the answer"
    );
    // Retry-After: 1 after the first, then the doubled backoff (400 ms).
    assert_eq!(
        *waits.lock().unwrap(),
        [Duration::from_secs(1), Duration::from_millis(400)]
    );
    assert_no_blobs(&server).await;
}

#[tokio::test]
async fn a_registry_that_keeps_failing_is_an_error_after_bounded_attempts() {
    let server = open_registry().await;
    let manifest_path = "/v2/broken/app/manifests/1";
    Mock::given(method("GET"))
        .and(path(manifest_path))
        .respond_with(ResponseTemplate::new(500).set_body_string("database on fire"))
        .mount(&server)
        .await;
    let (registry, _config, waits) = recording_client(Duration::from_secs(10));
    let err = registry
        .measure(&format!("{}/broken/app:1", host(&server)), None, false)
        .await
        .unwrap_err();
    assert_eq!(requests_to(&server, manifest_path).await, ATTEMPTS as usize);
    assert!(
        matches!(err, Error::Unavailable { attempts, .. } if attempts == ATTEMPTS),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("500 Internal Server Error")
            && text.contains(&format!("all {ATTEMPTS} attempts")),
        "{text}"
    );
    assert!(text.contains("database on fire"), "{text}");
    // 200, 400, 800 ms between the four attempts.
    let ms = Duration::from_millis;
    assert_eq!(*waits.lock().unwrap(), [ms(200), ms(400), ms(800)]);
    assert_no_blobs(&server).await;
}

#[tokio::test]
async fn a_slow_registry_times_out_with_a_clear_error() {
    let server = open_registry().await;
    Mock::given(method("GET"))
        .and(path("/v2/slow/app/manifests/1"))
        .respond_with(serve(&image(OCI_MANIFEST, &[1])).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let (registry, _config) = client(Duration::from_millis(500));
    let err = registry
        .measure(&format!("{}/slow/app:1", host(&server)), None, false)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("did not answer within 500ms"), "{text}");
    assert_no_blobs(&server).await;
}

#[tokio::test]
async fn a_malformed_manifest_is_a_clear_error() {
    let server = open_registry().await;
    Mock::given(method("GET"))
        .and(path("/v2/bad/json/manifests/1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("{\"schemaVersion\": 2, \"layers\": [", OCI_MANIFEST),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/bad/digest/manifests/1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(image(OCI_MANIFEST, &[1]).body, OCI_MANIFEST)
                .insert_header(
                    "Docker-Content-Digest",
                    format!("sha256:{:064x}", 1).as_str(),
                ),
        )
        .mount(&server)
        .await;
    let (registry, _config) = client(Duration::from_secs(10));
    let err = registry
        .measure(&format!("{}/bad/json:1", host(&server)), None, false)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("is not valid JSON"), "{err}");

    let err = registry
        .measure(&format!("{}/bad/digest:1", host(&server)), None, false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Docker-Content-Digest"), "{err}");
    assert_no_blobs(&server).await;
}

#[tokio::test]
async fn manifest_unknown_is_not_found() {
    let server = open_registry().await;
    Mock::given(method("GET"))
        .and(path("/v2/acme/gone/manifests/1"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"Tag": "1"}}]}),
        ))
        .mount(&server)
        .await;
    let (registry, _config) = client(Duration::from_secs(10));
    let err = registry
        .measure(&format!("{}/acme/gone:1", host(&server)), None, false)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("is not in registry"), "{text}");
    assert!(
        text.contains("MANIFEST_UNKNOWN: manifest unknown"),
        "{text}"
    );
    // One request: a 404 is an answer, not a failure to retry.
    assert_eq!(requests_to(&server, "/v2/acme/gone/manifests/1").await, 1);
    assert_no_blobs(&server).await;
}

#[tokio::test]
async fn a_docker_manifest_list_picks_a_platform_or_names_those_there() {
    let server = open_registry().await;
    let amd64 = image(DOCKER_MANIFEST, &[10, 20]);
    let arm = image(DOCKER_MANIFEST, &[30]);
    let list = index(
        DOCKER_LIST,
        &[("linux/amd64", &amd64), ("linux/arm/v7", &arm)],
    );
    for (selector, doc) in [
        ("multi".to_string(), &list),
        (amd64.digest.clone(), &amd64),
        (arm.digest.clone(), &arm),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/v2/acme/multi/manifests/{selector}")))
            .respond_with(serve(doc))
            .mount(&server)
            .await;
    }
    let (registry, _config) = client(Duration::from_secs(10));
    let reference = format!("{}/acme/multi:multi", host(&server));
    let arm_only = registry
        .measure(
            &reference,
            Some(&PlatformChoice::One("linux/arm/v7".into())),
            false,
        )
        .await
        .unwrap();
    assert_eq!(arm_only.len(), 1);
    assert_eq!(arm_only[0].digest, arm.digest);
    assert_eq!(arm_only[0].metrics.compressed, Some(30));

    let err = registry
        .measure(
            &reference,
            Some(&PlatformChoice::One("linux/s390x".into())),
            false,
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("no `linux/s390x` manifest; it has: linux/amd64, linux/arm/v7"),
        "{text}"
    );
    assert!(
        !text.contains("unknown"),
        "attestations are not platforms: {text}"
    );
    assert_no_blobs(&server).await;
}

#[tokio::test]
async fn an_index_entry_whose_content_does_not_match_its_digest_is_refused() {
    let server = open_registry().await;
    let real = image(OCI_MANIFEST, &[10]);
    let list = index(OCI_INDEX, &[("linux/amd64", &real)]);
    Mock::given(method("GET"))
        .and(path("/v2/acme/tampered/manifests/1"))
        .respond_with(serve(&list))
        .mount(&server)
        .await;
    // The child served under its digest is some other manifest.
    Mock::given(method("GET"))
        .and(path(format!("/v2/acme/tampered/manifests/{}", real.digest)))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(image(OCI_MANIFEST, &[99]).body, OCI_MANIFEST),
        )
        .mount(&server)
        .await;
    let (registry, _config) = client(Duration::from_secs(10));
    let err = registry
        .measure(&format!("{}/acme/tampered:1", host(&server)), None, false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("hashes to"), "{err}");
    assert_no_blobs(&server).await;
}

#[tokio::test]
async fn a_registry_that_is_not_there_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (registry, _config) = client(Duration::from_secs(5));
    let err = registry
        .measure(&format!("127.0.0.1:{port}/acme/api:1"), None, false)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("cannot reach registry 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(text.to_lowercase().contains("connection refused"), "{text}");
}

/// Every header value of every request a server received.
async fn header_values(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .flat_map(|r| {
            r.headers
                .iter()
                .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn a_registry_credential_never_follows_a_redirect_to_another_host() {
    // The registry sends its config blob from storage elsewhere, as registries
    // backed by S3 or a CDN do: the credentials stay with the registry.
    let registry_server = MockServer::start().await;
    let storage = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", r#"Basic realm="registry""#),
        )
        .mount(&registry_server)
        .await;
    let manifest = image(OCI_MANIFEST, &[7]);
    let config_blob = config(1);
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/v1"))
        .respond_with(serve(&manifest))
        .mount(&registry_server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/team/app/blobs/{}", config_blob.digest)))
        .respond_with(ResponseTemplate::new(307).insert_header(
            "location",
            format!("{}/storage/{}", storage.uri(), config_blob.digest).as_str(),
        ))
        .mount(&registry_server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(config_blob.body.clone(), config_blob.media_type),
        )
        .mount(&storage)
        .await;

    let (registry, config_dir) = client(Duration::from_secs(10));
    let auth = base64::engine::general_purpose::STANDARD.encode("ci-bot:s3cret-registry-pw");
    std::fs::write(
        config_dir.path().join("config.json"),
        json!({"auths": {host(&registry_server): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let measured = registry
        .measure(
            &format!("{}/team/app:v1", host(&registry_server)),
            None,
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        measured[0].platform.as_deref(),
        Some("linux/amd64"),
        "the config was read"
    );

    let to_registry = header_values(&registry_server).await;
    assert!(
        to_registry
            .iter()
            .any(|h| h.starts_with("authorization: Basic")),
        "the registry got the credentials: {to_registry:#?}"
    );
    let to_storage = header_values(&storage).await;
    assert!(!to_storage.is_empty(), "the redirect was followed");
    assert!(
        to_storage
            .iter()
            .all(|h| !h.starts_with("authorization") && !h.contains(&auth)),
        "a credential reached another host: {to_storage:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_forge_token_ever_reaches_a_registry() {
    let server = open_registry().await;
    let manifest = image(OCI_MANIFEST, &[3]);
    Mock::given(method("GET"))
        .and(path("/v2/team/app/manifests/v1"))
        .respond_with(serve(&manifest))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("budgets.toml"),
        format!(
            "[images.app]\nref = \"docker://{}/team/app:v1\"\nmax-compressed = \"1MB\"\n",
            host(&server)
        ),
    )
    .unwrap();
    let secrets = [
        ("GITHUB_TOKEN", "ghp_forgeTokenThatMustStayHome0001"),
        ("GITLAB_TOKEN", "glpat-forgeTokenThatMustStayHome02"),
        ("CI_JOB_TOKEN", "job-token-that-must-stay-home-0003"),
        ("GH_TOKEN", "gho_forgeTokenThatMustStayHome0004"),
    ];
    let docker_config = dir.path().join("docker");
    std::fs::create_dir_all(&docker_config).unwrap();
    let dir_path = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_budget"));
        cmd.current_dir(&dir_path)
            .args(["check", "--format", "json", "--comment", "off"])
            .env("DOCKER_CONFIG", &docker_config)
            .env("IMAGE_BUDGET_CACHE", dir_path.join("cache"));
        for (name, value) in secrets {
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent = header_values(&server).await;
    assert!(!sent.is_empty());
    for (name, value) in secrets {
        assert!(
            sent.iter().all(|h| !h.contains(value)),
            "{name} reached the registry: {sent:#?}"
        );
    }
    assert!(
        sent.iter().all(|h| !h.starts_with("authorization")),
        "an anonymous registry got credentials: {sent:#?}"
    );
}

#[tokio::test]
async fn one_token_serves_every_image_of_a_repository_and_an_expired_one_is_renewed() {
    let server = MockServer::start().await;
    serve_configs(&server).await;
    bearer_challenge(&server, "fake-registry").await;
    Mock::given(method("GET"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": "tok-1"})))
        .mount(&server)
        .await;
    let manifest = image(OCI_MANIFEST, &[5]);
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            r"^/v2/acme/api/manifests/t[0-9]+$",
        ))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(serve(&manifest))
        .mount(&server)
        .await;
    let (registry, _config) = client(Duration::from_secs(10));
    for tag in 1..=10 {
        let measured = registry
            .measure(&format!("{}/acme/api:t{tag}", host(&server)), None, false)
            .await
            .unwrap();
        assert_eq!(measured[0].metrics.compressed, Some(5));
    }
    assert_eq!(
        requests_to(&server, "/token").await,
        1,
        "one token for ten images"
    );
    assert_eq!(requests_to(&server, "/v2/").await, 1, "one challenge");

    // The registry stops taking tok-1 (it expired): a new token, once.
    server.reset().await;
    serve_configs(&server).await;
    bearer_challenge(&server, "fake-registry").await;
    Mock::given(method("GET"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": "tok-2"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            r"^/v2/acme/api/manifests/t[0-9]+$",
        ))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(serve(&manifest))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(wiremock::matchers::path_regex(
            r"^/v2/acme/api/manifests/t[0-9]+$",
        ))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(10)
        .mount(&server)
        .await;
    let measured = registry
        .measure(&format!("{}/acme/api:t11", host(&server)), None, false)
        .await
        .unwrap();
    assert_eq!(measured[0].metrics.compressed, Some(5));
    assert_eq!(requests_to(&server, "/token").await, 1);
}
