//! Baselines read from a saved JSON report (`--baseline main.json`).

use std::collections::HashMap;
use std::path::Path;

use crate::measure::cache::LayerFacts;
use crate::model::{Baseline, HISTORY_MAX, HistoryPoint, ImageResult, Report, Status};
use crate::saved;

#[derive(Debug, thiserror::Error)]
#[error(
    "baseline: {source}\n  hint: write one on main with `budget check --format json --output FILE`"
)]
pub struct Error {
    #[from]
    source: saved::Error,
}

/// The images of a saved report, by name (several rows for a name checked
/// on every platform).
#[derive(Debug, Clone, Default)]
pub struct BaselineReport {
    images: HashMap<String, Vec<ImageResult>>,
    /// The commit the report was made at, when it was found by `{merge-base}`.
    pub commit: Option<String>,
}

impl BaselineReport {
    pub fn load(path: &Path) -> Result<BaselineReport, Error> {
        Ok(Self::from_report(saved::load(path)?))
    }

    pub fn parse(path: &Path, text: &str) -> Result<BaselineReport, Error> {
        Ok(Self::from_report(saved::parse(path, text)?))
    }

    fn from_report(report: Report) -> BaselineReport {
        let mut images: HashMap<String, Vec<ImageResult>> = HashMap::new();
        for image in report.images {
            images.entry(image.name.clone()).or_default().push(image);
        }
        BaselineReport {
            images,
            commit: report.commit,
        }
    }

    /// What the report says of registry layers: each layer with a blob
    /// digest and a size, to seed the layer facts cache.
    pub fn layer_facts(&self) -> Vec<LayerFacts> {
        let mut facts = Vec::new();
        for image in self.images.values().flatten() {
            for layer in &image.layer_details {
                if let (Some(blob), Some(size), Some(blob_size)) =
                    (&layer.blob, layer.size, layer.compressed)
                {
                    facts.push(LayerFacts {
                        blob: blob.clone(),
                        diff_id: layer.digest.clone(),
                        size,
                        blob_size,
                    });
                }
            }
        }
        facts
    }

    /// The baseline for an image (on a platform, for a row of
    /// `platform = "all"`), when the report measured it.
    pub fn get(&self, name: &str, platform: Option<&str>) -> Option<Baseline> {
        let rows = self.images.get(name)?;
        let image = match platform {
            Some(p) if rows.len() > 1 => rows.iter().find(|r| r.platform.as_deref() == Some(p))?,
            _ => rows.first()?,
        };
        let metrics = &image.metrics;
        if image.status == Status::Error || (metrics.size.is_none() && metrics.compressed.is_none())
        {
            return None;
        }
        Some(Baseline {
            reference: image.reference.clone(),
            source: "report".to_string(),
            commit: self.commit.clone(),
            digest: image.digest.clone(),
            metrics: metrics.clone(),
            layer_details: image.layer_details.clone(),
            history: with_point(
                &image.history,
                HistoryPoint {
                    commit: self.commit.clone(),
                    metrics: metrics.clone(),
                },
            ),
        })
    }
}

/// A history with one more point, oldest dropped past [`HISTORY_MAX`].
pub fn with_point(history: &[HistoryPoint], point: HistoryPoint) -> Vec<HistoryPoint> {
    let mut all: Vec<HistoryPoint> = history.to_vec();
    all.push(point);
    let excess = all.len().saturating_sub(HISTORY_MAX);
    all.drain(..excess);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Metrics;

    const REPORT: &str = r#"{"schema": "image-budget/report/v1", "passed": true,
      "images": [
        {"name": "api", "ref": "acme/api:main", "source": "daemon", "digest": "sha256:aa",
         "platform": "linux/amd64", "size": 123, "compressed": null, "compressed_estimated": false,
         "layers": 2, "wasted": null, "baseline": null, "delta": null, "status": "pass",
         "findings": [], "error": null},
        {"name": "broken", "ref": "acme/broken:main", "source": null, "digest": null,
         "platform": null, "size": null, "compressed": null, "layers": null, "wasted": null,
         "baseline": null, "delta": null, "status": "error", "findings": [], "error": "gone"}
      ]}"#;

    #[test]
    fn history_grows_by_one_point_and_keeps_the_last_twenty() {
        let point = |n: u64| HistoryPoint {
            commit: Some(format!("c{n}")),
            metrics: Metrics {
                size: Some(n),
                ..Metrics::default()
            },
        };
        let twenty: Vec<HistoryPoint> = (0..20).map(point).collect();
        let next = with_point(&twenty, point(20));
        assert_eq!(next.len(), 20);
        assert_eq!(next[0].metrics.size, Some(1));
        assert_eq!(next[19].metrics.size, Some(20));
        assert_eq!(with_point(&[], point(5)), vec![point(5)]);
    }

    #[test]
    fn reads_images_by_name() {
        let report = BaselineReport::parse(Path::new("main.json"), REPORT).unwrap();
        let api = report.get("api", None).unwrap();
        assert_eq!(api.metrics.size, Some(123));
        assert_eq!(api.metrics.layers, Some(2));
        assert_eq!(api.reference, "acme/api:main");
        assert_eq!(api.source, "report");
        assert!(
            report.get("broken", None).is_none(),
            "an errored image is no baseline"
        );
        assert!(report.get("web", None).is_none());
    }

    #[test]
    fn refuses_what_is_not_a_report() {
        let err = BaselineReport::parse(Path::new("main.json"), "{\"images\": []}").unwrap_err();
        assert!(err.to_string().contains("no `schema` field"), "{err}");
        let err = BaselineReport::parse(Path::new("main.json"), "not json").unwrap_err();
        assert!(err.to_string().contains("line 1 column 2"), "{err}");
        let err = BaselineReport::parse(
            Path::new("main.json"),
            "{\"schema\": \"image-budget/report/v9\"}",
        )
        .unwrap_err();
        assert!(err.to_string().contains("v9"), "{err}");
    }
}
