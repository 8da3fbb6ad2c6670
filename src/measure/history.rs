//! Matching an engine's image history to its layers.
//!
//! The engine's history API lists every build step, newest first, including
//! the steps that made no layer (`ENV`, `CMD`...), and does not say which is
//! which. Steps with bytes made a layer; a step without bytes made one only if
//! it is not a metadata instruction. When that does not add up to the number
//! of layers, instructions are left unknown rather than guessed.

use crate::model::Layer;

/// Instructions that change only the image config, never the filesystem.
const METADATA: &[&str] = &[
    "ARG",
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// One history step, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub created_by: String,
    pub size: u64,
}

/// The instruction as written, without the classic builder's shell wrapper.
pub(crate) fn instruction(created_by: &str) -> String {
    let text = created_by.trim();
    let text = text.strip_prefix("/bin/sh -c ").unwrap_or(text);
    let text = text.strip_prefix("#(nop) ").map_or(text, str::trim_start);
    text.to_string()
}

fn is_metadata(created_by: &str) -> bool {
    let text = instruction(created_by);
    let keyword = text.split_whitespace().next().unwrap_or("");
    METADATA.contains(&keyword.to_ascii_uppercase().as_str())
}

/// Pairs layer digests (oldest first) with the steps that made them.
pub fn layers_with_history(digests: &[String], steps: &[Step]) -> Vec<Layer> {
    let chosen = pick_layer_steps(steps, digests.len());
    digests
        .iter()
        .enumerate()
        .map(|(i, digest)| {
            let step = chosen.as_ref().map(|c| &steps[c[i]]);
            Layer {
                digest: digest.clone(),
                blob: None,
                size: step.map(|s| s.size),
                compressed: None,
                instruction: step
                    .map(|s| instruction(&s.created_by))
                    .filter(|s| !s.is_empty()),
            }
        })
        .collect()
}

/// Indexes of the steps that made a layer, when they can be told for certain.
fn pick_layer_steps(steps: &[Step], layers: usize) -> Option<Vec<usize>> {
    if steps.len() == layers {
        return Some((0..layers).collect());
    }
    let chosen: Vec<usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.size > 0 || !is_metadata(&s.created_by))
        .map(|(i, _)| i)
        .collect();
    (chosen.len() == layers).then_some(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(created_by: &str, size: u64) -> Step {
        Step {
            created_by: created_by.into(),
            size,
        }
    }

    fn digests(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("sha256:{i}")).collect()
    }

    #[test]
    fn classic_builder_history_maps_to_layers() {
        let steps = [
            step("/bin/sh -c #(nop) COPY file:abc in /app ", 2_000_000),
            step("/bin/sh -c #(nop)  ENV A=b", 0),
            step("/bin/sh -c #(nop) COPY file:def in /empty ", 0),
            step("/bin/sh -c #(nop)  CMD [\"/app\"]", 0),
        ];
        let layers = layers_with_history(&digests(2), &steps);
        assert_eq!(layers[0].size, Some(2_000_000));
        assert_eq!(
            layers[0].instruction.as_deref(),
            Some("COPY file:abc in /app")
        );
        assert_eq!(layers[1].size, Some(0));
        assert_eq!(
            layers[1].instruction.as_deref(),
            Some("COPY file:def in /empty")
        );
    }

    #[test]
    fn one_step_per_layer_is_taken_as_is() {
        let steps = [step("Imported from -", 1_000)];
        let layers = layers_with_history(&digests(1), &steps);
        assert_eq!(layers[0].instruction.as_deref(), Some("Imported from -"));
        assert_eq!(layers[0].size, Some(1_000));
    }

    #[test]
    fn an_ambiguous_history_is_not_guessed() {
        let steps = [step("COPY a /a", 0), step("COPY b /b", 0)];
        let layers = layers_with_history(&digests(1), &steps);
        assert_eq!(layers[0].instruction, None);
        assert_eq!(layers[0].size, None);
        assert_eq!(layers[0].digest, "sha256:0");
    }
}
