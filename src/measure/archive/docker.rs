//! The tar that `docker save` writes, read through its manifest.json:
//! - the legacy layout this engine writes: `<id>/layer.tar` (a layer used
//!   twice is a symlink to the first), `<image id>.json`, `repositories`;
//! - Docker 25+'s OCI layout (`oci-layout`, `index.json`, `blobs/sha256/`),
//!   whose manifest.json points into `blobs/sha256/`. Without a
//!   manifest.json such a tar is read as the OCI layout it is.
//!
//! The digest is the image ID (the config's digest) in both layouts, as
//! `docker load` names the image on the classic store.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::image::{self, LayerRef};
use super::store::{Store, clean};
use super::{Error, oci, parse_json};
use crate::measure::Measurement;
use crate::measure::digest::sha256_of;
use crate::measure::image_config::ImageConfig;
use crate::measure::platform::{self, IndexEntry};
use crate::model::PlatformChoice;

const TRANSPORT: &str = "docker-archive";

/// One image of manifest.json.
#[derive(Debug, Deserialize)]
struct Item {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Option<Vec<String>>,
}

pub(super) fn measure(
    store: &mut dyn Store,
    reference: &str,
    selector: Option<&str>,
    platform: Option<&PlatformChoice>,
) -> Result<Vec<Measurement>, Error> {
    let archive = store.name().to_string();
    let Some(bytes) = store.small("manifest.json")? else {
        if store.small("index.json")?.is_some() {
            return oci::measure(
                store,
                oci::Source::DockerArchive,
                reference,
                selector,
                platform,
            );
        }
        return Err(Error::MissingFile {
            archive,
            file: "manifest.json",
            expected: "an archive that `docker save` writes",
        });
    };
    let items: Vec<Item> = parse_json(&archive, "manifest.json", &bytes)?;
    let item = select(&archive, &items, selector)?;

    let config_path = clean(&item.config);
    let config_bytes = store
        .small(&config_path)?
        .ok_or_else(|| Error::MissingBlob {
            archive: archive.clone(),
            blob: item.config.clone(),
            listed_in: "manifest.json".to_string(),
        })?;
    let config: ImageConfig = parse_json(&archive, &item.config, &config_bytes)?;
    let digest = sha256_of(&config_bytes);

    // An archive's image has one platform, the config's; a platform asked
    // for must be that one.
    let entry = IndexEntry {
        media_type: String::new(),
        digest: digest.clone(),
        size: config_bytes.len() as u64,
        platform: config.platform(),
        annotations: BTreeMap::new(),
    };
    platform::select(std::slice::from_ref(&entry), platform).map_err(|source| Error::Platform {
        archive: archive.clone(),
        source,
    })?;

    let layers = item
        .layers
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|path| LayerRef {
            path: clean(path),
            media_type: None,
            size: None,
        })
        .collect();
    let measurement = image::measure(
        store,
        image::Image {
            source: TRANSPORT,
            reference,
            digest,
            config: &config,
            config_name: &item.config,
            layers,
            listed_in: "manifest.json",
            blobs_are_pushed: false,
        },
    )?;
    Ok(vec![measurement])
}

/// The image `selector` names: a tag (`docker-archive:PATH:REF`), `@N`, or
/// nothing when there is only one.
fn select<'a>(archive: &str, items: &'a [Item], selector: Option<&str>) -> Result<&'a Item, Error> {
    let names: Vec<String> = items
        .iter()
        .enumerate()
        .flat_map(|(i, item)| match item.repo_tags.as_deref() {
            Some(tags) if !tags.is_empty() => tags.to_vec(),
            _ => vec![format!("@{i}")],
        })
        .collect();
    let not_there = |wanted: &str| Error::NoSuchImage {
        archive: archive.to_string(),
        transport: TRANSPORT,
        wanted: wanted.to_string(),
        available: names.clone(),
    };
    match selector {
        None => match items {
            [only] => Ok(only),
            [] => Err(Error::Malformed {
                archive: archive.to_string(),
                file: "manifest.json".to_string(),
                reason: "it lists no images".to_string(),
            }),
            _ => Err(Error::Ambiguous {
                archive: archive.to_string(),
                transport: TRANSPORT,
                available: names.clone(),
            }),
        },
        Some(wanted) => {
            if let Some(index) = wanted.strip_prefix('@') {
                return index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| items.get(i))
                    .ok_or_else(|| not_there(wanted));
            }
            let want = normalize(wanted);
            items
                .iter()
                .find(|item| {
                    item.repo_tags
                        .as_deref()
                        .unwrap_or_default()
                        .iter()
                        .any(|tag| tag == wanted || normalize(tag) == want)
                })
                .ok_or_else(|| not_there(wanted))
        }
    }
}

/// A reference written out in full, as skopeo compares them:
/// `acme/api` is `docker.io/acme/api:latest`, `busybox` is
/// `docker.io/library/busybox:latest`.
fn normalize(reference: &str) -> String {
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    let mut parts: Vec<&str> = name.split('/').collect();
    let has_domain = parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost");
    if !has_domain {
        if parts.len() == 1 {
            parts.insert(0, "library");
        }
        parts.insert(0, "docker.io");
    } else if parts[0] == "index.docker.io" {
        parts[0] = "docker.io";
    }
    let mut full = parts.join("/");
    if let Some(tag) = tag {
        full.push(':');
        full.push_str(tag);
    }
    match digest {
        Some(digest) => {
            full.push('@');
            full.push_str(digest);
        }
        None if tag.is_none() => full.push_str(":latest"),
        None => {}
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(tags: &[&str]) -> Item {
        Item {
            config: "c.json".into(),
            repo_tags: Some(tags.iter().map(std::string::ToString::to_string).collect()),
            layers: Some(vec![]),
        }
    }

    #[test]
    fn references_normalize_as_docker_names_them() {
        assert_eq!(normalize("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(normalize("acme/api:1.2"), "docker.io/acme/api:1.2");
        assert_eq!(normalize("localhost:5000/api"), "localhost:5000/api:latest");
        assert_eq!(
            normalize("index.docker.io/library/busybox:1"),
            "docker.io/library/busybox:1"
        );
        assert_eq!(normalize("ghcr.io/a/b@sha256:00"), "ghcr.io/a/b@sha256:00");
    }

    #[test]
    fn images_are_chosen_by_tag_index_or_being_alone() {
        let items = [item(&["acme/api:1", "acme/api:latest"]), item(&[])];
        assert!(std::ptr::eq(
            select("a.tar", &items, Some("docker.io/acme/api")).unwrap(),
            &items[0]
        ));
        assert!(std::ptr::eq(
            select("a.tar", &items, Some("@1")).unwrap(),
            &items[1]
        ));
        let err = select("a.tar", &items, None).unwrap_err();
        assert_eq!(
            err,
            Error::Ambiguous {
                archive: "a.tar".into(),
                transport: TRANSPORT,
                available: vec!["acme/api:1".into(), "acme/api:latest".into(), "@1".into()],
            }
        );
        for wanted in ["acme/web:1", "@2", "@x"] {
            assert!(matches!(
                select("a.tar", &items, Some(wanted)),
                Err(Error::NoSuchImage { .. })
            ));
        }
        assert!(std::ptr::eq(
            select("a.tar", &items[..1], None).unwrap(),
            &items[0]
        ));
    }
}
