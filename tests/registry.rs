//! The registry client against a real registry (Debian's docker-registry,
//! distribution 2.8) on a loopback port, with images built here FROM scratch
//! and pushed by docker and skopeo. Every figure is checked against the
//! manifest read directly from the registry, to the byte.

mod common;

use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use base64::Engine as _;
use common::registry::{Answer, LocalRegistry};
use common::*;
use image_budget::config::PlatformChoice;
use image_budget::measure::Measurement;
use image_budget::measure::registry::{Error, Registry, RegistryOptions};
use serde_json::json;

const HELPER: &str = "budgettest";

/// Where the test credential helper lives; it answers from `creds/<server>`.
fn helper_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("credential-helper")
}

/// The `DOCKER_CONFIG` of this test process: every registry's credentials
/// come from the test helper, as `credsStore`.
fn env_docker_config() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("docker-config")
}

/// Puts `docker-credential-budgettest` on PATH and points DOCKER_CONFIG at a
/// config that uses it. Every test calls this first, so the environment
/// changes once, before any test has started a thread of its own.
fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let dir = helper_dir();
        std::fs::create_dir_all(dir.join("creds")).unwrap();
        let script = dir.join(format!("docker-credential-{HELPER}"));
        // Every test process writes these files; each writes its own copy and
        // renames it into place, so no process runs or reads a half-written file.
        let staged = dir.join(format!(".helper-{}", std::process::id()));
        std::fs::write(
            &staged,
            "#!/bin/sh\n\
             # A docker credential helper for tests: `get` answers from creds/<server>.\n\
             [ \"$1\" = get ] || exit 1\n\
             read -r server\n\
             file=\"$(dirname \"$0\")/creds/$(printf %s \"$server\" | tr -c 'A-Za-z0-9.-' _)\"\n\
             if [ -f \"$file\" ]; then cat \"$file\"; else echo 'credentials not found in native keychain'; exit 1; fi\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&staged, &script).unwrap();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![dir];
        dirs.extend(std::env::split_paths(&path));
        let joined = std::env::join_paths(dirs).unwrap();
        let config = env_docker_config();
        std::fs::create_dir_all(&config).unwrap();
        let staged = config.join(format!(".config-{}", std::process::id()));
        std::fs::write(&staged, json!({"credsStore": HELPER}).to_string()).unwrap();
        std::fs::rename(&staged, config.join("config.json")).unwrap();
        // SAFETY: runs once, first thing in every test of this binary, while
        // no other thread of this process reads the environment.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("PATH", joined);
            std::env::set_var("DOCKER_CONFIG", config);
        }
    });
    require_engine();
}

/// What the test helper answers for `server`.
fn helper_knows(server: &str, user: &str, secret: &str) {
    let name: String = server
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    std::fs::write(
        helper_dir().join("creds").join(name),
        json!({"ServerURL": server, "Username": user, "Secret": secret}).to_string(),
    )
    .unwrap();
}

/// A client with its own docker config directory (never the user's).
fn client() -> (Registry, tempfile::TempDir) {
    let config = tempfile::tempdir().unwrap();
    let registry = Registry::new(RegistryOptions {
        insecure: vec![],
        timeout: Duration::from_secs(30),
        ..RegistryOptions::default()
    })
    .unwrap()
    .with_docker_config(config.path());
    (registry, config)
}

fn write_config(dir: &tempfile::TempDir, config: serde_json::Value) {
    std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
}

fn basic(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// The measurement must be the manifest's own figures, to the byte, with
/// the layers named as the config blob names them (its diff IDs), each
/// layer's blob digest beside it, and its platform and instructions.
fn assert_matches_manifest(
    registry: &LocalRegistry,
    repository: &str,
    m: &Measurement,
    answer: &Answer,
) {
    let manifest = answer.json();
    let layers = manifest["layers"].as_array().expect("an image manifest");
    let sizes: Vec<u64> = layers.iter().map(|l| l["size"].as_u64().unwrap()).collect();
    let blobs: Vec<&str> = layers
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let config = registry.request(
        "GET",
        &format!("/v2/{repository}/blobs/{config_digest}"),
        &[],
        None,
    );
    assert_eq!(config.status, 200);
    let config = config.json();
    let diff_ids: Vec<&str> = config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(m.source, "registry");
    assert_eq!(
        m.digest,
        answer.header("Docker-Content-Digest").unwrap(),
        "the manifest digest"
    );
    assert_eq!(
        m.metrics.compressed,
        Some(sizes.iter().sum()),
        "sum of layer blob sizes"
    );
    assert!(!m.metrics.compressed_estimated);
    assert_eq!(
        m.metrics.size, None,
        "uncompressed size needs layer blobs, which are read only when a budget needs it"
    );
    assert_eq!(m.metrics.layers, Some(sizes.len() as u64));
    assert_eq!(
        m.layer_details
            .iter()
            .map(|l| (l.digest.as_str(), l.blob.as_deref(), l.compressed))
            .collect::<Vec<_>>(),
        diff_ids
            .iter()
            .zip(&blobs)
            .zip(&sizes)
            .map(|((d, b), s)| (*d, Some(*b), Some(*s)))
            .collect::<Vec<_>>()
    );
    assert!(m.layer_details.iter().all(|l| l.size.is_none()));
    assert!(
        m.layer_details.iter().all(|l| l
            .instruction
            .as_deref()
            .is_some_and(|i| i.starts_with("COPY "))),
        "the config's history names each layer's instruction: {:?}",
        m.layer_details
    );
}

/// Our client asked for manifests and config blobs, and never for a layer blob.
fn assert_manifests_only(registry: &LocalRegistry) {
    let ours = registry.requests_by("image-budget/");
    assert!(
        ours.iter().any(|l| l.contains("/manifests/")),
        "no manifest request of ours in the registry's log:\n{}",
        registry.log()
    );
    let layer_blobs = registry.layer_blob_requests();
    assert!(
        layer_blobs.is_empty(),
        "layer blob requests: {layer_blobs:#?}"
    );
}

#[tokio::test]
async fn a_docker_pushed_image_measures_as_its_manifest_says() {
    setup();
    let registry = LocalRegistry::start();
    let image = build(
        "reg-docker",
        &[("a.bin", 300_000), ("b.bin", 120_000), ("c.txt", 900)],
    );
    let pushed = registry.docker_push(&image, "team/docker-app:1.0");
    let (client, _config) = client();

    let measured = client.measure(&pushed, None, false).await.unwrap();
    assert_eq!(measured.len(), 1);
    let m = &measured[0];
    let direct = registry.manifest("team/docker-app", "1.0");
    assert_eq!(
        direct.header("Content-Type"),
        Some("application/vnd.docker.distribution.manifest.v2+json")
    );
    assert_matches_manifest(&registry, "team/docker-app", m, &direct);
    assert_eq!(m.metrics.layers, Some(3));
    assert_eq!(m.reference, pushed);
    assert_eq!(
        m.platform.as_deref(),
        Some("linux/amd64"),
        "a single manifest's platform, from its config blob"
    );
    // Poorly compressible content: each blob is at least its file.
    assert!(m.metrics.compressed.unwrap() > 420_900, "{m:?}");

    // By digest, the same image.
    let by_digest = format!("{}/team/docker-app@{}", registry.host, m.digest);
    let again = client.measure(&by_digest, None, false).await.unwrap();
    assert_eq!(
        (again[0].digest.as_str(), again[0].metrics.compressed),
        (m.digest.as_str(), m.metrics.compressed)
    );
    assert_manifests_only(&registry);
}

#[tokio::test]
async fn an_oci_image_copied_by_skopeo_measures_as_its_manifest_says() {
    setup();
    let registry = LocalRegistry::start();
    let image = build("reg-oci", &[("one.bin", 250_000), ("two.bin", 4_096)]);
    let pushed = registry.skopeo_copy(&image, "oci/app:v2", "oci");
    let (client, _config) = client();

    let measured = client.measure(&pushed, None, false).await.unwrap();
    let direct = registry.manifest("oci/app", "v2");
    assert_eq!(
        direct.header("Content-Type"),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    assert_matches_manifest(&registry, "oci/app", &measured[0], &direct);
    assert_eq!(measured[0].metrics.layers, Some(2));
    assert_manifests_only(&registry);
}

/// An index over two images plus an attestation, as BuildKit writes them.
fn push_index(registry: &LocalRegistry, media_type: &str, tag: &str) -> (Answer, Answer) {
    let amd64 = build(&format!("{tag}-amd64"), &[("amd.bin", 200_000), ("x", 10)]);
    let arm64 = build(&format!("{tag}-arm64"), &[("arm.bin", 90_000)]);
    let attestation = build(&format!("{tag}-att"), &[("statement.json", 700)]);
    registry.docker_push(&amd64, "multi/app:amd64");
    registry.docker_push(&arm64, "multi/app:arm64");
    registry.docker_push(&attestation, "multi/app:att");
    let amd = registry.manifest("multi/app", "amd64");
    let arm = registry.manifest("multi/app", "arm64");
    let att = registry.manifest("multi/app", "att");
    let entry = |answer: &Answer, platform: serde_json::Value| {
        json!({"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
               "digest": answer.header("Docker-Content-Digest").unwrap(),
               "size": answer.body.len(),
               "platform": platform})
    };
    let mut attestation_entry = entry(&att, json!({"os": "unknown", "architecture": "unknown"}));
    attestation_entry["annotations"] = json!({
        "vnd.docker.reference.type": "attestation-manifest",
        "vnd.docker.reference.digest": amd.header("Docker-Content-Digest").unwrap()});
    let index = json!({"schemaVersion": 2, "mediaType": media_type, "manifests": [
        attestation_entry,
        entry(&arm, json!({"os": "linux", "architecture": "arm64", "variant": "v8"})),
        entry(&amd, json!({"os": "linux", "architecture": "amd64"})),
    ]});
    let digest = registry.put_manifest(
        "multi/app",
        tag,
        media_type,
        serde_json::to_vec(&index).unwrap().as_slice(),
    );
    assert!(digest.starts_with("sha256:"));
    (amd, arm)
}

async fn check_index(registry: &LocalRegistry, tag: &str, amd: &Answer, arm: &Answer) {
    let (client, _config) = client();
    let reference = format!("{}/multi/app:{tag}", registry.host);

    // No platform named: linux/amd64.
    let default = client.measure(&reference, None, false).await.unwrap();
    assert_eq!(default.len(), 1);
    assert_matches_manifest(registry, "multi/app", &default[0], amd);
    assert_eq!(default[0].platform.as_deref(), Some("linux/amd64"));

    // A named one, variant left out.
    let chosen = client
        .measure(
            &reference,
            Some(&PlatformChoice::One("linux/arm64".into())),
            false,
        )
        .await
        .unwrap();
    assert_eq!(chosen.len(), 1);
    assert_matches_manifest(registry, "multi/app", &chosen[0], arm);
    assert_eq!(chosen[0].platform.as_deref(), Some("linux/arm64/v8"));

    // All: each image in index order, never the attestation.
    let all = client
        .measure(&reference, Some(&PlatformChoice::All), false)
        .await
        .unwrap();
    let platforms: Vec<_> = all.iter().map(|m| m.platform.clone().unwrap()).collect();
    assert_eq!(platforms, ["linux/arm64/v8", "linux/amd64"]);
    assert_matches_manifest(registry, "multi/app", &all[0], arm);
    assert_matches_manifest(registry, "multi/app", &all[1], amd);

    // One that is not there: the error names those that are.
    let err = client
        .measure(
            &reference,
            Some(&PlatformChoice::One("linux/s390x".into())),
            false,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Platform { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("no `linux/s390x` manifest; it has: linux/arm64/v8, linux/amd64"),
        "{err}"
    );
}

#[tokio::test]
async fn an_oci_index_with_an_attestation_gives_the_chosen_platforms() {
    setup();
    let registry = LocalRegistry::start();
    let (amd, arm) = push_index(
        &registry,
        "application/vnd.oci.image.index.v1+json",
        "oci-index",
    );
    check_index(&registry, "oci-index", &amd, &arm).await;
    assert_manifests_only(&registry);
}

#[tokio::test]
async fn a_docker_manifest_list_gives_the_chosen_platforms() {
    setup();
    let registry = LocalRegistry::start();
    let (amd, arm) = push_index(
        &registry,
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "docker-list",
    );
    check_index(&registry, "docker-list", &amd, &arm).await;
    assert_manifests_only(&registry);
}

#[tokio::test]
async fn an_image_that_is_not_there_is_not_found() {
    setup();
    let registry = LocalRegistry::start();
    let image = build("reg-present", &[("f", 1_000)]);
    registry.docker_push(&image, "present/app:1");
    let (client, _config) = client();
    for missing in ["present/app:2", "absent/app:1"] {
        let err = client
            .measure(&format!("{}/{missing}", registry.host), None, false)
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{missing}: {err:?}");
        assert!(err.to_string().contains("is not in registry"), "{err}");
    }
}

const USER: &str = "ci-bot";
const PASSWORD: &str = "s3cret-Registry-pw";
const WRONG: &str = "not-the-Password-42";

fn assert_no_secret(err: &Error) {
    for text in [err.to_string(), format!("{err:?}")] {
        for secret in [PASSWORD, WRONG, &basic(USER, PASSWORD), &basic(USER, WRONG)] {
            assert!(!text.contains(secret), "a secret leaked into: {text}");
        }
    }
}

#[tokio::test]
async fn basic_auth_with_credentials_from_docker_config() {
    setup();
    let registry = LocalRegistry::start_with_user(USER, PASSWORD);
    let image = build("reg-auth", &[("secret.bin", 150_000), ("more", 3_000)]);
    let pushed = registry.skopeo_copy(&image, "private/app:1", "v2s2");
    let direct = registry.manifest("private/app", "1");
    let (client, config) = client();
    let host = registry.host.clone();

    // No config at all: anonymous, refused, and the error says so.
    let err = client.measure(&pushed, None, false).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert!(
        err.to_string().contains("credentials tried: anonymous"),
        "{err}"
    );

    // `auths` with a base64 `auth`.
    write_config(
        &config,
        json!({"auths": {&host: {"auth": basic(USER, PASSWORD)}}}),
    );
    let measured = client.measure(&pushed, None, false).await.unwrap();
    assert_matches_manifest(&registry, "private/app", &measured[0], &direct);

    // `auths` with username and password, under a URL-style key.
    write_config(
        &config,
        json!({"auths": {format!("http://{host}/v2/"): {"username": USER, "password": PASSWORD}}}),
    );
    let measured = client.measure(&pushed, None, false).await.unwrap();
    assert_matches_manifest(&registry, "private/app", &measured[0], &direct);

    // A wrong password: 401, naming the source and never the secret.
    write_config(
        &config,
        json!({"auths": {&host: {"auth": basic(USER, WRONG)}}}),
    );
    let err = client.measure(&pushed, None, false).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("401 Unauthorized"), "{text}");
    assert!(
        text.contains(&format!("credentials tried: config.json auths for {host}")),
        "{text}"
    );
    assert!(!err.is_not_found());
    assert_no_secret(&err);
    assert_manifests_only(&registry);
}

#[tokio::test]
async fn basic_auth_with_credentials_from_a_helper() {
    setup();
    let registry = LocalRegistry::start_with_user(USER, PASSWORD);
    let image = build("reg-helper", &[("h.bin", 60_000)]);
    let pushed = registry.skopeo_copy(&image, "helped/app:1", "oci");
    let direct = registry.manifest("helped/app", "1");
    let (client, config) = client();
    let host = registry.host.clone();

    // credHelpers names the helper for this registry.
    write_config(&config, json!({"credHelpers": {&host: HELPER}}));
    helper_knows(&host, USER, PASSWORD);
    let measured = client.measure(&pushed, None, false).await.unwrap();
    assert_matches_manifest(&registry, "helped/app", &measured[0], &direct);

    // credsStore serves every registry without an `auths` entry.
    write_config(&config, json!({"credsStore": HELPER, "auths": {&host: {}}}));
    let measured = client.measure(&pushed, None, false).await.unwrap();
    assert_matches_manifest(&registry, "helped/app", &measured[0], &direct);

    // The helper hands out a wrong password: the error names the helper.
    helper_knows(&host, USER, WRONG);
    let err = client.measure(&pushed, None, false).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "credentials tried: credential helper docker-credential-{HELPER}"
        )),
        "{text}"
    );
    assert_no_secret(&err);

    // A helper without credentials for it: anonymous, and the error says why.
    write_config(
        &config,
        json!({"credHelpers": {"elsewhere.example": HELPER, &host: "budgettest-absent"}}),
    );
    let err = client.measure(&pushed, None, false).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("credential helper docker-credential-budgettest-absent (it could not be run"),
        "{text}"
    );
    assert!(text.contains("so tried anonymously"), "{text}");
    assert_manifests_only(&registry);
}

#[tokio::test]
async fn credentials_come_from_docker_config_in_the_environment() {
    setup();
    let registry = LocalRegistry::start_with_user(USER, PASSWORD);
    let image = build("reg-env", &[("e.bin", 33_333)]);
    let pushed = registry.skopeo_copy(&image, "env/app:1", "v2s2");
    let direct = registry.manifest("env/app", "1");
    // No with_docker_config: $DOCKER_CONFIG/config.json names the helper.
    let client = Registry::new(RegistryOptions::default()).unwrap();

    let err = client.measure(&pushed, None, false).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "credential helper docker-credential-{HELPER} (it has no credentials for {}",
            registry.host
        )),
        "{text}"
    );

    helper_knows(&registry.host, USER, PASSWORD);
    let measured = client.measure(&pushed, None, false).await.unwrap();
    assert_matches_manifest(&registry, "env/app", &measured[0], &direct);
    assert_manifests_only(&registry);
}
