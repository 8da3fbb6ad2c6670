//! The image config (OCI or Docker), as archives hold it and registries
//! serve it as a blob: the diff IDs of the layers, the platform, and the
//! build history that says which instruction made each layer.

use serde::Deserialize;

use crate::measure::history;
use crate::measure::platform::EntryPlatform;

/// The parts of an image config (OCI or Docker) measuring needs.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ImageConfig {
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    rootfs: Option<RootFs>,
    #[serde(default)]
    history: Option<Vec<HistoryEntry>>,
}

#[derive(Debug, Clone, Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
struct HistoryEntry {
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    empty_layer: bool,
}

impl ImageConfig {
    /// The platform the config declares, when it names OS and architecture.
    pub(crate) fn platform(&self) -> Option<EntryPlatform> {
        let os = self.os.clone().filter(|s| !s.is_empty())?;
        let architecture = self.architecture.clone().filter(|s| !s.is_empty())?;
        Some(EntryPlatform {
            os,
            architecture,
            variant: self.variant.clone().filter(|s| !s.is_empty()),
        })
    }

    /// The diff IDs, or `None` when this is not an image config at all.
    pub(crate) fn diff_ids(&self) -> Option<&[String]> {
        self.rootfs
            .as_ref()
            .map(|r| r.diff_ids.as_deref().unwrap_or_default())
    }

    /// The instruction behind each of `layers` layers, from the history
    /// steps that made a layer (`empty_layer` steps made none). When the
    /// count does not add up, none is guessed.
    pub(crate) fn instructions(&self, layers: usize) -> Vec<Option<String>> {
        let made: Vec<&HistoryEntry> = self
            .history
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|h| !h.empty_layer)
            .collect();
        if made.len() != layers {
            return vec![None; layers];
        }
        made.iter()
            .map(|h| {
                h.created_by
                    .as_deref()
                    .map(history::instruction)
                    .filter(|s| !s.is_empty())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> ImageConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn instructions_skip_empty_layer_steps_and_strip_the_shell_wrapper() {
        let c = config(
            r#"{"rootfs":{"diff_ids":["a","b"]},"history":[
                {"created_by":"/bin/sh -c #(nop) COPY file:abc in /app "},
                {"created_by":"/bin/sh -c #(nop)  ENV A=1","empty_layer":true},
                {"created_by":"RUN /bin/sh -c make # buildkit"}]}"#,
        );
        assert_eq!(
            c.instructions(2),
            [
                Some("COPY file:abc in /app".to_string()),
                Some("RUN /bin/sh -c make # buildkit".to_string())
            ]
        );
        assert_eq!(c.instructions(3), [None, None, None], "never guessed");
    }

    #[test]
    fn a_config_without_history_or_platform_still_reads() {
        let c = config(r#"{"rootfs":{"type":"layers","diff_ids":null},"history":null}"#);
        assert_eq!(c.diff_ids(), Some([].as_slice()));
        assert_eq!(c.instructions(0), Vec::<Option<String>>::new());
        assert_eq!(c.platform(), None);
        let c = config(r#"{"os":"linux","architecture":"arm64","variant":"v8"}"#);
        assert_eq!(c.diff_ids(), None);
        assert_eq!(c.platform().unwrap().variant.as_deref(), Some("v8"));
    }
}
