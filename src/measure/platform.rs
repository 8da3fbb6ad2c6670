//! Choosing manifests from an image index (OCI) or manifest list (Docker v2),
//! shared by every source that can hold a multi-platform image.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::PlatformChoice;

/// One entry of an index, as its JSON says (`manifests[i]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IndexEntry {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub platform: Option<EntryPlatform>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EntryPlatform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl IndexEntry {
    /// `os/arch[/variant]`, or `None` for an entry without a platform.
    pub fn platform_name(&self) -> Option<String> {
        let p = self.platform.as_ref()?;
        Some(platform_name(&p.os, &p.architecture, p.variant.as_deref()))
    }

    /// Attestations and signatures ride in indexes but are never images:
    /// BuildKit marks them `unknown/unknown` with a `vnd.docker.reference.type`
    /// annotation.
    pub fn is_attestation(&self) -> bool {
        self.annotations.contains_key("vnd.docker.reference.type")
            || self
                .platform
                .as_ref()
                .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
    }
}

/// `os/arch` or `os/arch/variant`.
pub fn platform_name(os: &str, arch: &str, variant: Option<&str>) -> String {
    match variant.filter(|v| !v.is_empty()) {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    }
}

/// True when `actual` is the platform `wanted` names. OS and architecture must
/// agree; a variant only when both name one (`linux/arm64/v8` is `linux/arm64`).
pub fn platform_matches(wanted: &str, actual: &str) -> bool {
    let wanted: Vec<&str> = wanted.split('/').collect();
    let actual: Vec<&str> = actual.split('/').collect();
    wanted.iter().zip(actual.iter()).all(|(w, a)| w == a)
}

/// Why no manifest could be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("the image has no `{wanted}` manifest; it has: {}", list(.available))]
    Missing {
        wanted: String,
        available: Vec<String>,
    },
    #[error("the image index lists no image manifests (only attestations, or nothing)")]
    Empty,
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// The platform picked when the config names none.
pub const DEFAULT_PLATFORM: &str = "linux/amd64";

/// The entries `choice` asks for, attestations left out. `None` picks
/// linux/amd64 when present, else the only image there is.
pub fn select<'a>(
    entries: &'a [IndexEntry],
    choice: Option<&PlatformChoice>,
) -> Result<Vec<&'a IndexEntry>, SelectError> {
    let images: Vec<&IndexEntry> = entries.iter().filter(|e| !e.is_attestation()).collect();
    if images.is_empty() {
        return Err(SelectError::Empty);
    }
    let available = || {
        images
            .iter()
            .map(|e| e.platform_name().unwrap_or_else(|| "unknown".to_string()))
            .collect::<Vec<_>>()
    };
    let wanted = match choice {
        Some(PlatformChoice::All) => return Ok(images),
        Some(PlatformChoice::One(p)) => p.as_str(),
        None if images.len() == 1 => return Ok(images),
        None => DEFAULT_PLATFORM,
    };
    let found: Vec<&IndexEntry> = images
        .iter()
        .copied()
        .filter(|e| {
            e.platform_name()
                .is_some_and(|p| platform_matches(wanted, &p))
        })
        .collect();
    match found.first() {
        Some(first) => Ok(vec![*first]),
        None => Err(SelectError::Missing {
            wanted: wanted.to_string(),
            available: available(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(os: &str, arch: &str, variant: Option<&str>) -> IndexEntry {
        IndexEntry {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            digest: format!("sha256:{os}{arch}{}", variant.unwrap_or("")),
            size: 100,
            platform: Some(EntryPlatform {
                os: os.into(),
                architecture: arch.into(),
                variant: variant.map(Into::into),
            }),
            annotations: BTreeMap::new(),
        }
    }

    fn attestation() -> IndexEntry {
        let mut e = entry("unknown", "unknown", None);
        e.annotations.insert(
            "vnd.docker.reference.type".into(),
            "attestation-manifest".into(),
        );
        e
    }

    fn names(picked: &[&IndexEntry]) -> Vec<String> {
        picked.iter().map(|e| e.platform_name().unwrap()).collect()
    }

    #[test]
    fn picks_the_asked_platform() {
        let index = [
            entry("linux", "amd64", None),
            entry("linux", "arm64", Some("v8")),
            attestation(),
        ];
        let one = PlatformChoice::One("linux/arm64/v8".into());
        assert_eq!(
            names(&select(&index, Some(&one)).unwrap()),
            ["linux/arm64/v8"]
        );
        let plain = PlatformChoice::One("linux/arm64".into());
        assert_eq!(
            names(&select(&index, Some(&plain)).unwrap()),
            ["linux/arm64/v8"]
        );
        assert_eq!(names(&select(&index, None).unwrap()), ["linux/amd64"]);
    }

    #[test]
    fn all_is_every_image_never_an_attestation() {
        let index = [
            entry("linux", "amd64", None),
            attestation(),
            entry("linux", "arm64", Some("v8")),
        ];
        let all = select(&index, Some(&PlatformChoice::All)).unwrap();
        assert_eq!(names(&all), ["linux/amd64", "linux/arm64/v8"]);
    }

    #[test]
    fn a_missing_platform_names_the_ones_there() {
        let index = [entry("linux", "amd64", None), attestation()];
        let err = select(&index, Some(&PlatformChoice::One("linux/s390x".into()))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the image has no `linux/s390x` manifest; it has: linux/amd64"
        );
        assert_eq!(
            select(&[attestation()], None).unwrap_err(),
            SelectError::Empty
        );
    }
}
