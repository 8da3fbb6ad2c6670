//! References resolved to what the registry API needs: the host to ask
//! (Docker Hub's API lives at registry-1.docker.io), the repository, the tag
//! or digest, and whether plain HTTP is allowed.

use std::net::Ipv4Addr;

use oci_client::Reference;

use super::Error;
use crate::measure::registry::credentials;

const DOCKER_HUB_HOST: &str = "registry-1.docker.io";

/// A reference, resolved to what the registry API needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// As the user wrote it.
    pub(super) reference: String,
    /// As references name it: `docker.io`, `ghcr.io`, `127.0.0.1:5000`.
    pub(super) registry: String,
    /// Where requests go: Docker Hub's API lives at registry-1.docker.io.
    pub(super) host: String,
    pub(super) repository: String,
    /// The tag or digest to ask for.
    pub(super) selector: String,
    pub(super) scheme: &'static str,
}

impl Target {
    pub(super) fn parse(reference: &str, insecure: &[String]) -> Result<Target, Error> {
        let invalid = |reason: String| Error::InvalidReference {
            reference: reference.to_string(),
            reason,
        };
        let text = reference.strip_prefix("docker://").unwrap_or(reference);
        crate::reference::validate(text).map_err(invalid)?;
        if text.starts_with("sha256:") {
            return Err(invalid(
                "an image ID names an image in a local engine, not in a registry".into(),
            ));
        }
        // The parser knows no IPv6 hosts (`[::1]:5000/app`): parse the rest
        // under a stand-in host, and keep the real one.
        let (ipv6_host, text) = match text.split_once('/') {
            Some((host, rest)) if host.starts_with('[') => {
                (Some(host), format!("ipv6.invalid/{rest}"))
            }
            _ => (None, text.to_string()),
        };
        let parsed: Reference = text
            .parse()
            .map_err(|e: oci_client::ParseError| invalid(e.to_string()))?;
        let registry = ipv6_host.unwrap_or(parsed.registry()).to_string();
        let host = if credentials::is_docker_hub(&registry) {
            DOCKER_HUB_HOST.to_string()
        } else {
            registry.clone()
        };
        let selector = parsed
            .digest()
            .or(parsed.tag())
            .unwrap_or("latest")
            .to_string();
        let scheme = if allows_plain_http(&registry, insecure) {
            "http"
        } else {
            "https"
        };
        Ok(Target {
            reference: reference.to_string(),
            registry,
            host,
            repository: parsed.repository().to_string(),
            selector,
            scheme,
        })
    }

    /// What one authorization is good for: a repository of a registry.
    pub(super) fn scope(&self) -> String {
        format!("{}://{}/{}", self.scheme, self.host, self.repository)
    }

    pub(super) fn manifest_url(&self, selector: &str) -> String {
        format!(
            "{}://{}/v2/{}/manifests/{selector}",
            self.scheme, self.host, self.repository
        )
    }

    pub(super) fn blob_url(&self, digest: &str) -> String {
        format!(
            "{}://{}/v2/{}/blobs/{digest}",
            self.scheme, self.host, self.repository
        )
    }
}

/// The host of `host[:port]` (`[::1]` keeps its brackets).
fn host_of(registry: &str) -> &str {
    if registry.starts_with('[') {
        return registry.find(']').map_or(registry, |end| &registry[..=end]);
    }
    match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    }
}

/// Plain HTTP only for loopback registries and those listed as insecure
/// (`host:port`, or `host` for every port).
fn allows_plain_http(registry: &str, insecure: &[String]) -> bool {
    let host = host_of(registry);
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
    loopback
        || insecure.iter().any(|entry| {
            let entry = entry.trim();
            let entry = entry
                .strip_prefix("http://")
                .or_else(|| entry.strip_prefix("https://"))
                .unwrap_or(entry)
                .trim_end_matches('/');
            entry.eq_ignore_ascii_case(registry) || entry.eq_ignore_ascii_case(host)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(reference: &str) -> Target {
        Target::parse(reference, &[]).unwrap()
    }

    #[test]
    fn docker_hub_names_go_to_its_api_host() {
        let t = target("alpine");
        assert_eq!(
            (t.registry.as_str(), t.host.as_str(), t.repository.as_str()),
            ("docker.io", DOCKER_HUB_HOST, "library/alpine")
        );
        assert_eq!(t.selector, "latest");
        assert_eq!(t.scheme, "https");
        let t = target("docker.io/acme/api:1.2");
        assert_eq!(
            (t.repository.as_str(), t.selector.as_str()),
            ("acme/api", "1.2")
        );
        assert_eq!(
            t.manifest_url("1.2"),
            "https://registry-1.docker.io/v2/acme/api/manifests/1.2"
        );
    }

    #[test]
    fn a_digest_wins_over_a_tag_and_a_prefix_is_accepted() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let t = target(&format!("docker://ghcr.io/acme/api:1.2@{digest}"));
        assert_eq!(t.registry, "ghcr.io");
        assert_eq!(t.selector, digest);
    }

    #[test]
    fn plain_http_only_for_loopback_and_listed_registries() {
        for local in [
            "localhost:5000",
            "localhost",
            "127.0.0.1:5000",
            "127.3.2.1",
            "[::1]:5000",
        ] {
            assert!(allows_plain_http(local, &[]), "{local}");
        }
        for remote in ["ghcr.io", "10.0.0.5:5000", "docker.io", "128.0.0.1:80"] {
            assert!(!allows_plain_http(remote, &[]), "{remote}");
        }
        let insecure = vec![
            "10.0.0.5:5000".to_string(),
            "http://lab.example".to_string(),
        ];
        assert!(allows_plain_http("10.0.0.5:5000", &insecure));
        assert!(!allows_plain_http("10.0.0.5:6000", &insecure));
        assert!(allows_plain_http("lab.example:8443", &insecure));
        assert_eq!(target("127.0.0.1:5000/a/b:t").scheme, "http");
        assert_eq!(
            Target::parse("10.0.0.5:5000/a", &insecure).unwrap().scheme,
            "http"
        );
    }

    #[test]
    fn ipv6_loopback_is_plain_http() {
        let t = target("[::1]:5000/team/api:1");
        assert_eq!(
            (t.registry.as_str(), t.repository.as_str(), t.scheme),
            ("[::1]:5000", "team/api", "http")
        );
    }

    #[test]
    fn bad_references_are_refused_before_any_request() {
        let err = Target::parse("acme/API", &[]).unwrap_err();
        assert!(err.to_string().contains("uppercase"), "{err}");
        let id = format!("sha256:{}", "0".repeat(64));
        let err = Target::parse(&id, &[]).unwrap_err();
        assert!(err.to_string().contains("image ID"), "{err}");
    }
}
