//! Baselines: what each image is compared with. A reference measured like
//! any image, or a saved report from main; either may name `{merge-base}`,
//! the commit the branch left main at, falling back to its nearest ancestor
//! on main that has an image or report.

mod git;
mod report;

use std::path::{Path, PathBuf};

use tokio::sync::OnceCell;

use crate::config::ImagePlan;
use crate::config::template::{fill, uses_merge_base};
use crate::measure::{Needs, Sources};
use crate::model::PlatformChoice;
use crate::model::{Baseline, HistoryPoint};

pub use git::{Ancestry, Error as GitError, ancestry, head_commit};
pub use report::{BaselineReport, Error as ReportError};

/// What a search for a baseline found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Yes(Baseline),
    /// No baseline: a new image. The note says why, when there is more to say.
    No(Option<String>),
}

/// Finds baselines for the images of one run, asking git at most once.
pub struct Finder<'a> {
    sources: &'a Sources,
    report: Option<&'a BaselineReport>,
    dir: PathBuf,
    env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    ancestry: OnceCell<Result<Ancestry, GitError>>,
    /// Why `--baseline FILE` could not be read: every image's baseline fails
    /// so (its absolute budgets are still judged).
    unreadable: Option<String>,
}

impl<'a> Finder<'a> {
    pub fn new(
        sources: &'a Sources,
        report: Option<&'a BaselineReport>,
        dir: &Path,
        env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    ) -> Finder<'a> {
        Finder {
            sources,
            report,
            dir: dir.to_path_buf(),
            env,
            ancestry: OnceCell::new(),
            unreadable: None,
        }
    }

    /// A finder for a run whose baseline report could not be read.
    pub fn unreadable(mut self, reason: String) -> Finder<'a> {
        self.unreadable = Some(reason);
        self
    }

    async fn ancestry(&self) -> &Result<Ancestry, GitError> {
        self.ancestry
            .get_or_init(|| async { ancestry(&self.dir, self.env) })
            .await
    }

    /// The baseline for one row of an image (`platform` is the row's, for
    /// `platform = "all"`).
    pub async fn find(&self, image: &ImagePlan, platform: Option<&str>) -> Result<Found, String> {
        if let Some(reason) = &self.unreadable {
            return Err(reason.clone());
        }
        if let Some(report) = self.report {
            return Ok(match report.get(&image.name, platform) {
                Some(b) => Found::Yes(b),
                None => Found::No(Some(format!(
                    "no measured image `{}` in the baseline report: judged as new",
                    image.name
                ))),
            });
        }
        let Some(template) = &image.baseline else {
            return Ok(Found::No(None));
        };
        // The baseline at the row's platform: an arm64 row against the
        // arm64 manifest, whatever the config asked for.
        let choice = match platform {
            Some(row) => Some(PlatformChoice::One(row.to_string())),
            None => image.platform.clone().filter(|p| *p != PlatformChoice::All),
        };
        let needs = Needs::of(&image.budget).or(Needs::of(&image.set_budgets));
        if !uses_merge_base(template) {
            return self.measure(template, choice.as_ref(), needs, None).await.map(|found| {
                found.unwrap_or_else(|| {
                    Found::No(Some(format!(
                        "baseline `{template}` was not found: judged as new, by absolute budgets only"
                    )))
                })
            });
        }
        let ancestry = match self.ancestry().await {
            Ok(a) => a,
            Err(e) => return Err(format!("baseline: {e}")),
        };
        for commit in &ancestry.commits {
            let reference = fill(template, commit);
            if let Some(found) = self
                .measure(&reference, choice.as_ref(), needs, Some(commit))
                .await?
            {
                return Ok(found);
            }
        }
        let short = |c: &String| c.chars().take(12).collect::<String>();
        let shallow = if ancestry.shallow {
            " (the clone is shallow: fetch more history to look further back)"
        } else {
            ""
        };
        Ok(Found::No(Some(format!(
            "no baseline image `{template}` for the merge base {} or its {} ancestors on {}{shallow}: judged as new",
            ancestry.commits.first().map(short).unwrap_or_default(),
            ancestry.commits.len().saturating_sub(1),
            ancestry.target
        ))))
    }

    /// `Ok(None)` when the reference names no image.
    async fn measure(
        &self,
        reference: &str,
        platform: Option<&PlatformChoice>,
        needs: Needs,
        commit: Option<&String>,
    ) -> Result<Option<Found>, String> {
        match self.sources.measure(reference, platform, needs).await {
            Ok(mut measured) if !measured.is_empty() => {
                let m = measured.swap_remove(0);
                Ok(Some(Found::Yes(Baseline {
                    reference: reference.to_string(),
                    source: "reference".to_string(),
                    commit: commit.cloned(),
                    digest: Some(m.digest),
                    history: vec![HistoryPoint {
                        commit: commit.cloned(),
                        metrics: m.metrics.clone(),
                    }],
                    metrics: m.metrics,
                    layer_details: m.layer_details,
                })))
            }
            Ok(_) => Ok(None),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(format!("baseline: {e}")),
        }
    }
}

/// Resolves `--baseline` when it names `{merge-base}`: the report of the
/// nearest commit that has one. `Ok(None)` when no commit has a report.
pub fn report_path(
    template: &str,
    dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(PathBuf, Option<String>)>, String> {
    if !uses_merge_base(template) {
        return Ok(Some((PathBuf::from(template), None)));
    }
    let ancestry = ancestry(dir, env).map_err(|e| format!("--baseline: {e}"))?;
    Ok(ancestry.commits.iter().find_map(|commit| {
        let path = PathBuf::from(fill(template, commit));
        path.exists().then(|| (path, Some(commit.clone())))
    }))
}
