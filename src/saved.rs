//! Saved JSON reports: reading them back (`budget report`, `budget publish`,
//! baselines) and joining shard reports into one (`budget merge`).

use std::path::Path;

use crate::model::{Report, SCHEMA};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read report `{path}`: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not an image-budget report: {reason}")]
    Invalid { path: String, reason: String },
    #[error(
        "image `{name}`{platform} is in both `{first}` and `{second}`\n  hint: each image belongs to one shard; run each shard with its own `--shard K/N`"
    )]
    Duplicate {
        name: String,
        platform: String,
        first: String,
        second: String,
    },
    #[error("no reports to merge: name the shard reports, such as `budget merge shard-*.json`")]
    Nothing,
    #[error(
        "`{first}` was made at commit {first_commit}, but `{second}` at {second_commit}\n  hint: merge the shards of one run only"
    )]
    OtherRun {
        first: String,
        first_commit: String,
        second: String,
        second_commit: String,
    },
    #[error(
        "`{first}` and `{second}` were made from different configs ({first_config} and {second_config})\n  hint: merge the shards of one run only: every shard must check the same budgets.toml"
    )]
    OtherConfig {
        first: String,
        first_config: String,
        second: String,
        second_config: String,
    },
}

/// Reads a saved report, checking its schema.
pub fn load(path: &Path) -> Result<Report, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(path, &text)
}

pub fn parse(path: &Path, text: &str) -> Result<Report, Error> {
    let invalid = |reason: String| Error::Invalid {
        path: path.display().to_string(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("{e}")))?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => {
            return Err(invalid(format!(
                "its schema is `{other}`, this version reads `{SCHEMA}`"
            )));
        }
        None => return Err(invalid(format!("it has no `schema` field (`{SCHEMA}`)"))),
    }
    serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
}

/// Joins shard reports in the order given. An image (on a platform) in two
/// shards is an error: the shards overlapped, and one result would be lost.
pub fn merge(reports: Vec<(String, Report)>) -> Result<Report, Error> {
    if reports.is_empty() {
        return Err(Error::Nothing);
    }
    let mut seen: Vec<(String, Option<String>, String)> = Vec::new();
    let mut images = Vec::new();
    // The sets of the config, which every shard carries.
    let mut set_plans = Vec::new();
    // The commit of the run, which every shard must share.
    let mut commit: Option<(String, String)> = None;
    // And the config.
    let mut config: Option<(String, String)> = None;
    for (path, report) in reports {
        if set_plans.is_empty() {
            set_plans = report.set_plans;
        }
        match (&config, &report.config) {
            (Some((first, at)), Some(this)) if at != this => {
                return Err(Error::OtherConfig {
                    first: first.clone(),
                    first_config: short(at),
                    second: path,
                    second_config: short(this),
                });
            }
            (None, Some(this)) => config = Some((path.clone(), this.clone())),
            _ => {}
        }
        match (&commit, report.commit) {
            (Some((first, at)), Some(this)) if *at != this => {
                return Err(Error::OtherRun {
                    first: first.clone(),
                    first_commit: at.clone(),
                    second: path,
                    second_commit: this,
                });
            }
            (None, Some(this)) => commit = Some((path.clone(), this)),
            _ => {}
        }
        for image in report.images {
            let key = (image.name.clone(), image.platform.clone());
            if let Some((_, _, first)) = seen.iter().find(|(n, p, _)| (n, p) == (&key.0, &key.1)) {
                return Err(Error::Duplicate {
                    name: image.name.clone(),
                    platform: image
                        .platform
                        .as_ref()
                        .map(|p| format!(" ({p})"))
                        .unwrap_or_default(),
                    first: first.clone(),
                    second: path,
                });
            }
            seen.push((key.0, key.1, path.clone()));
            images.push(image);
        }
    }
    // Every set judged again over all the shards' images: a set whose
    // images were checked in different shards is judged here.
    let sets = crate::set::judge_sets(&set_plans, &images);
    let mut merged = Report::new(images).with_sets(sets, set_plans);
    merged.commit = commit.map(|(_, c)| c);
    merged.config = config.map(|(_, c)| c);
    Ok(merged)
}

/// A config digest as people compare them: `sha256:` and 12 hex digits.
fn short(digest: &str) -> String {
    digest.chars().take(19).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Budget, ImageResult, Metrics, Status};

    fn report(rows: &[(&str, Status)]) -> Report {
        Report::new(
            rows.iter()
                .map(|(name, status)| ImageResult {
                    name: name.to_string(),
                    reference: format!("acme/{name}"),
                    source: Some("daemon".into()),
                    digest: None,
                    platform: Some("linux/amd64".into()),
                    metrics: Metrics {
                        size: Some(1),
                        compressed: None,
                        compressed_estimated: false,
                        layers: Some(1),
                        wasted: None,
                    },
                    baseline: None,
                    delta: None,
                    status: *status,
                    findings: Vec::new(),
                    error: None,
                    budget: Budget::default(),
                    baseline_error: None,
                    layer_details: Vec::new(),
                    notes: Vec::new(),
                    history: Vec::new(),
                    explanation: None,
                    layer_change: None,
                })
                .collect(),
        )
    }

    #[test]
    fn shards_join_and_the_verdict_is_recomputed() {
        let merged = merge(vec![
            ("a.json".into(), report(&[("api", Status::Pass)])),
            (
                "b.json".into(),
                report(&[("web", Status::Fail), ("db", Status::Warn)]),
            ),
        ])
        .unwrap();
        let names: Vec<_> = merged.images.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["api", "web", "db"]);
        assert!(!merged.passed);
        assert_eq!(merged.schema, SCHEMA);
    }

    #[test]
    fn an_image_in_two_shards_is_an_error() {
        let err = merge(vec![
            ("a.json".into(), report(&[("api", Status::Pass)])),
            ("b.json".into(), report(&[("api", Status::Pass)])),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "image `api` (linux/amd64) is in both `a.json` and `b.json`\n  hint: each image belongs to one shard; run each shard with its own `--shard K/N`"
        );
        assert!(matches!(merge(Vec::new()), Err(Error::Nothing)));
    }

    #[test]
    fn the_run_commit_is_kept_and_shards_of_other_runs_are_refused() {
        let at = |commit: &str, name: &str| {
            let mut r = report(&[(name, Status::Pass)]);
            r.commit = Some(commit.to_string());
            r
        };
        let merged = merge(vec![
            ("a.json".into(), at("c1", "api")),
            ("b.json".into(), report(&[("web", Status::Pass)])),
            ("c.json".into(), at("c1", "db")),
        ])
        .unwrap();
        assert_eq!(merged.commit.as_deref(), Some("c1"));
        let err = merge(vec![
            ("a.json".into(), at("c1", "api")),
            ("b.json".into(), at("c2", "web")),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`a.json` was made at commit c1, but `b.json` at c2\n  hint: merge the shards of one run only"
        );
    }

    #[test]
    fn shards_of_other_configs_are_refused_and_the_config_is_kept() {
        let from = |config: &str, name: &str| {
            let mut r = report(&[(name, Status::Pass)]);
            r.config = Some(config.to_string());
            r
        };
        let one = format!("sha256:{}", "a".repeat(64));
        let two = format!("sha256:{}", "b".repeat(64));
        let merged = merge(vec![
            ("a.json".into(), from(&one, "api")),
            ("b.json".into(), from(&one, "web")),
        ])
        .unwrap();
        assert_eq!(merged.config.as_deref(), Some(one.as_str()));
        let err = merge(vec![
            ("a.json".into(), from(&one, "api")),
            ("b.json".into(), from(&two, "web")),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`a.json` and `b.json` were made from different configs (sha256:aaaaaaaaaaaa and sha256:bbbbbbbbbbbb)\n  hint: merge the shards of one run only: every shard must check the same budgets.toml"
        );
    }

    #[test]
    fn a_report_round_trips_and_bad_files_are_refused() {
        let text = serde_json::to_string(&report(&[("api", Status::Pass)])).unwrap();
        let back = parse(Path::new("r.json"), &text).unwrap();
        assert_eq!(back.images[0].name, "api");
        let err = parse(Path::new("r.json"), "{\"images\": []}").unwrap_err();
        assert!(err.to_string().contains("no `schema` field"), "{err}");
        let err = parse(Path::new("r.json"), "[1,").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
