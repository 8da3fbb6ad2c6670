//! The engine's HTTP API as image-budget asks it: the negotiated version in
//! the path (bollard 0.21 joins its paths so that the `/vX.Y` prefix is
//! lost, and the engine would answer in its own newest version), the query
//! strings bollard builds for none of these calls (`platform` on inspect
//! from API 1.49, on history and save from 1.48; `manifests` from 1.48),
//! and answers read leniently: Docker 29 leaves `RootFS` out of an image
//! whose platform is not present locally, which bollard's model requires.
//!
//! Requests go through bollard's connection (unix socket, named pipe, TCP,
//! TLS), by a request modifier that sets the path and query of one call.

use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as BollardError;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;

use crate::measure::platform::EntryPlatform;

/// An API version, `(1, 52)`.
pub type Version = (usize, usize);

/// The first version whose inspect takes `platform`.
pub const INSPECT_PLATFORM: Version = (1, 49);
/// The first version whose history and save take `platform`, and whose
/// inspect takes `manifests`.
pub const PLATFORM_AND_MANIFESTS: Version = (1, 48);

/// Answers larger than this are no inspect or history.
const JSON_LIMIT: usize = 64 * 1024 * 1024;

/// Why a request failed: the engine or the connection said so, or the
/// answer is not what the API describes.
#[derive(Debug)]
pub enum ApiError {
    Engine(BollardError),
    Answer(String),
}

impl From<BollardError> for ApiError {
    fn from(e: BollardError) -> ApiError {
        ApiError::Engine(e)
    }
}

/// `GET /vX.Y{path}?{query}` on `docker`'s connection; the body as it
/// streams. `timeout` bounds the wait for the answer's headers (the client's
/// own when `None`).
pub fn get(
    docker: &Docker,
    path: &str,
    query: &[(&str, String)],
    timeout: Option<Duration>,
) -> impl Stream<Item = Result<Bytes, BollardError>> + Unpin + Send + use<> {
    let version = docker.client_version();
    let target = format!(
        "/v{}.{}{}{}",
        version.major_version,
        version.minor_version,
        path,
        query_string(query)
    );
    let mut client = docker.clone();
    if let Some(timeout) = timeout {
        client = client.with_timeout(timeout);
    }
    let client = client.with_request_modifier(move |mut request| {
        let uri = request.uri();
        let rebuilt = format!(
            "{}://{}{target}",
            uri.scheme_str().unwrap_or("http"),
            uri.authority().map_or("", |a| a.as_str()),
        );
        if let Ok(uri) = rebuilt.parse() {
            *request.uri_mut() = uri;
        }
        request
    });
    // Any call that returns the raw body carries the request; its own
    // path and query are replaced above.
    client.export_image("image-budget")
}

/// `GET` an answer and read it as JSON.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    docker: &Docker,
    path: &str,
    query: &[(&str, String)],
) -> Result<T, ApiError> {
    let mut body = Vec::new();
    let mut stream = get(docker, path, query, None);
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > JSON_LIMIT {
            return Err(ApiError::Answer(format!(
                "`{path}` answered more than {} MiB",
                JSON_LIMIT / 1024 / 1024
            )));
        }
    }
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::Answer(format!(
            "`{path}` answered what the API does not describe: {e}"
        ))
    })
}

/// `?a=1&b=2`, each value percent-encoded; empty for no pairs.
fn query_string(query: &[(&str, String)]) -> String {
    let pairs: Vec<String> = query
        .iter()
        .map(|(key, value)| format!("{key}={}", encode(value)))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The `platform` parameter as the docker CLI sends it: an OCI platform in
/// JSON, its fields in the order Go writes them, from `os/arch[/variant]`.
pub fn platform_query(platform: &str) -> String {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let mut parts = platform.split('/');
    let os = parts.next().unwrap_or_default();
    let architecture = parts.next().unwrap_or_default();
    let variant = parts
        .next()
        .filter(|v| !v.is_empty())
        .map(|v| format!(",\"variant\":{}", quote(v)))
        .unwrap_or_default();
    format!(
        "{{\"architecture\":{},\"os\":{}{variant}}}",
        quote(architecture),
        quote(os)
    )
}

/// `GET /images/{name}/json`, what image-budget reads of it. Every field
/// may be missing: Docker 29 answers with only the names and the
/// descriptor for an image whose platform is not present.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Inspect {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub repo_digests: Option<Vec<String>>,
    #[serde(default)]
    pub size: Option<i64>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default, rename = "RootFS")]
    pub root_fs: Option<RootFs>,
    /// Set by stores that keep manifests (the containerd store): the
    /// image's index or manifest.
    #[serde(default)]
    pub descriptor: Option<Descriptor>,
    /// With `manifests=1`, on stores that keep manifests.
    #[serde(default)]
    pub manifests: Option<Vec<ManifestSummary>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    #[serde(default)]
    pub layers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Descriptor {
    #[serde(default)]
    pub digest: String,
}

/// One entry of `Manifests`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManifestSummary {
    #[serde(default)]
    pub available: bool,
    /// `image`, `attestation` or `unknown`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub image_data: Option<ImageData>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageData {
    /// An OCI platform, as in an index's entries.
    #[serde(default)]
    pub platform: Option<EntryPlatform>,
}

impl ManifestSummary {
    /// `os/arch[/variant]` of an image manifest; `None` for attestations.
    pub fn image_platform(&self) -> Option<String> {
        if self.kind != "image" {
            return None;
        }
        let p = self.image_data.as_ref()?.platform.as_ref()?;
        (!p.os.is_empty() && !p.architecture.is_empty()).then(|| {
            crate::measure::platform::platform_name(&p.os, &p.architecture, p.variant.as_deref())
        })
    }
}

/// One step of `GET /images/{name}/history`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryItem {
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub size: Option<i64>,
}

/// `GET /version`, what tells the engines apart.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionInfo {
    #[serde(default)]
    pub components: Option<Vec<Component>>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub arch: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Component {
    #[serde(default)]
    pub name: String,
}

impl VersionInfo {
    /// The engine's own platform, `linux/amd64`; Linux on amd64 when it
    /// does not say.
    pub fn platform(&self) -> String {
        let word = |w: &Option<String>, default: &str| {
            w.as_deref()
                .map(str::trim)
                .filter(|w| !w.is_empty() && !w.contains(char::is_whitespace))
                .unwrap_or(default)
                .to_ascii_lowercase()
        };
        format!("{}/{}", word(&self.os, "linux"), word(&self.arch, "amd64"))
    }

    /// podman names its server component `Podman Engine`.
    pub fn is_podman(&self) -> bool {
        self.components
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|c| c.name.to_ascii_lowercase().contains("podman"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_sent_as_the_docker_cli_sends_them() {
        assert_eq!(
            platform_query("linux/arm64/v8"),
            r#"{"architecture":"arm64","os":"linux","variant":"v8"}"#
        );
        assert_eq!(
            platform_query("linux/amd64"),
            r#"{"architecture":"amd64","os":"linux"}"#
        );
        assert_eq!(
            query_string(&[
                ("platform", platform_query("linux/amd64")),
                ("manifests", "1".into())
            ]),
            "?platform=%7B%22architecture%22%3A%22amd64%22%2C%22os%22%3A%22linux%22%7D&manifests=1"
        );
        assert_eq!(query_string(&[]), "");
    }

    #[test]
    fn an_inspect_without_rootfs_is_read() {
        // Docker 29, an image present only for another platform.
        let answer = r#"{"Id":"sha256:aa","RepoTags":["x:1"],"RepoDigests":["x@sha256:aa"],
            "Descriptor":{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:aa","size":856},
            "Manifests":[{"ID":"sha256:bb","Descriptor":{},"Available":true,"Kind":"image",
               "ImageData":{"Platform":{"architecture":"arm64","os":"linux"},"Containers":[],"Size":{"Unpacked":10}}},
              {"ID":"sha256:cc","Available":true,"Kind":"attestation","AttestationData":{"For":"sha256:bb"}}],
            "Size":1049864}"#;
        let inspect: Inspect = serde_json::from_str(answer).unwrap();
        assert!(inspect.root_fs.is_none());
        assert_eq!(inspect.descriptor.unwrap().digest, "sha256:aa");
        let platforms: Vec<Option<String>> = inspect
            .manifests
            .unwrap()
            .iter()
            .map(ManifestSummary::image_platform)
            .collect();
        assert_eq!(platforms, [Some("linux/arm64".to_string()), None]);
    }

    #[test]
    fn podman_is_told_by_its_component() {
        let podman: VersionInfo = serde_json::from_str(
            r#"{"Components":[{"Name":"Podman Engine","Version":"4.3.1"}],"ApiVersion":"1.41"}"#,
        )
        .unwrap();
        assert!(podman.is_podman());
        let docker: VersionInfo = serde_json::from_str(
            r#"{"Components":[{"Name":"Engine"},{"Name":"containerd"}],"ApiVersion":"1.52"}"#,
        )
        .unwrap();
        assert!(!docker.is_podman());
        assert!(!VersionInfo::default().is_podman());
        let arm: VersionInfo =
            serde_json::from_str(r#"{"Os":"linux","Arch":"arm64","ApiVersion":"1.52"}"#).unwrap();
        assert_eq!(arm.platform(), "linux/arm64");
        assert_eq!(VersionInfo::default().platform(), "linux/amd64");
    }
}
