//! `budget check`: pick the images, measure them and their baselines
//! concurrently, judge each, and gather the report. One image's failure is
//! that image's row; the others are still measured. Then the run around it:
//! the baseline report read, the report written, the comment posted.

use std::path::Path;

use futures_util::StreamExt;
use futures_util::stream;

use super::{Exit, explain, publish};
use crate::analysis::Analysis;
use crate::analysis::layer_diff::LayerDiff;
use crate::baseline::{self, BaselineReport, Finder, Found};
use crate::cli::{CheckArgs, JOBS};
use crate::config::{self, ImagePlan, Plan};
use crate::judge::{self, Against};
use crate::measure::cache::Cache;
use crate::measure::digest::sha256_of;
use crate::measure::{self, IN_REGISTRY, Measurement, Needs, Options, Sources, progress};
use crate::model::{BudgetKey, Held, ImageResult, LimitKind, Metrics, Report, Status};
use crate::output;
use crate::publish::CommentMode;
use crate::report::{self, comment};
use crate::set;
use crate::shard::Shard;

/// How a run is bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Images measured at once.
    pub jobs: usize,
    /// The whole run's time (`--timeout`): an image not checked by then is
    /// a row that says so, and the others keep their results.
    pub timeout: Option<std::time::Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            jobs: JOBS,
            timeout: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no image named {} in `{config}`; the images are: {}", quote(.unknown), .known.join(", "))]
    UnknownNames {
        unknown: Vec<String>,
        known: Vec<String>,
        config: String,
    },
}

fn quote(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The images to check: those named (all when none is), then this shard's slice.
pub fn select(
    plan: &Plan,
    names: &[String],
    shard: Option<Shard>,
) -> Result<Vec<ImagePlan>, Error> {
    let unknown: Vec<String> = names
        .iter()
        .filter(|n| !plan.images.iter().any(|i| &i.name == *n))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(Error::UnknownNames {
            unknown,
            known: plan.images.iter().map(|i| i.name.clone()).collect(),
            config: plan.path.display().to_string(),
        });
    }
    Ok(plan
        .images
        .iter()
        .filter(|i| names.is_empty() || names.contains(&i.name))
        .filter(|i| shard.is_none_or(|s| s.holds(&i.name)))
        .cloned()
        .collect())
}

/// Measures and judges the images, in their config order (an image checked
/// on every platform gives a row per platform).
pub async fn check(
    images: &[ImagePlan],
    sources: &Sources,
    baselines: &Finder<'_>,
    limits: Limits,
) -> Report {
    let deadline = limits.timeout.map(|t| tokio::time::Instant::now() + t);
    let results = stream::iter(images)
        .map(|image| async move {
            let Some(deadline) = deadline else {
                return check_one(image, sources, baselines).await;
            };
            match tokio::time::timeout_at(deadline, check_one(image, sources, baselines)).await {
                Ok(rows) => rows,
                Err(_) => {
                    let mut row = empty_row(image);
                    row.error = Some(format!(
                        "not checked within --timeout {}: the run's time was up\n  hint: give it more time (`--timeout`), fewer images (`--shard`), or find what is slow (an engine or registry that does not answer)",
                        limits.timeout.map_or_else(String::new, |t| format!("{t:?}"))
                    ));
                    vec![row]
                }
            }
        })
        .buffered(limits.jobs.max(1))
        .collect::<Vec<_>>()
        .await;
    Report::new(results.into_iter().flatten().collect())
}

fn empty_row(image: &ImagePlan) -> ImageResult {
    ImageResult {
        name: image.name.clone(),
        reference: image.reference.clone(),
        source: None,
        digest: None,
        platform: None,
        metrics: Metrics::default(),
        baseline: None,
        delta: None,
        status: Status::Error,
        findings: Vec::new(),
        error: None,
        budget: image.budget.clone(),
        baseline_error: None,
        layer_details: Vec::new(),
        notes: Vec::new(),
        history: Vec::new(),
        explanation: None,
        layer_change: None,
    }
}

async fn check_one(
    image: &ImagePlan,
    sources: &Sources,
    baselines: &Finder<'_>,
) -> Vec<ImageResult> {
    let measured = match sources
        .measure(
            &image.reference,
            image.platform.as_ref(),
            Needs::of(&image.budget).or(Needs::of(&image.set_budgets)),
        )
        .await
    {
        Ok(m) => m,
        Err(e) => {
            let at = match e {
                measure::Error::InvalidReference { .. }
                | measure::Error::NotFound { .. }
                | measure::Error::Nowhere { .. } => {
                    format!(" (`ref` at {})", image.reference_at)
                }
                _ => String::new(),
            };
            let mut row = empty_row(image);
            row.error = Some(format!("{e}{at}"));
            return vec![row];
        }
    };
    let mut rows = Vec::with_capacity(measured.len());
    for mut m in measured {
        // An image whose packages are judged was read file by file: its
        // analysis is made once, for the budget and for the explanation.
        let analysis = m
            .listings
            .take()
            .map(|listings| Analysis::new(m.layer_details.clone(), listings));
        let mut row = judge_one(image, m, baselines, analysis.as_ref()).await;
        // Only an image over a threshold is explained file by file: a run
        // where everything passes costs no more than the sizes.
        if matches!(row.status, Status::Warn | Status::Fail) {
            row.explanation =
                Some(explain::for_row(sources, &image.reference, &mut row, analysis).await);
        }
        rows.push(row);
    }
    rows
}

/// The packages an analysis found installed, as `deny-packages` judges them.
fn held(analysis: Option<&Analysis>) -> Result<Vec<Held>, &'static str> {
    let analysis = analysis.ok_or("the image's source gave no file listing")?;
    Ok(analysis
        .packages
        .installed()
        .map(|p| Held {
            ecosystem: p.ecosystem.name().to_string(),
            name: p.name.clone(),
            version: p.version.clone().unwrap_or_default(),
            size: p.size,
        })
        .collect())
}

async fn judge_one(
    image: &ImagePlan,
    measured: Measurement,
    baselines: &Finder<'_>,
    analysis: Option<&Analysis>,
) -> ImageResult {
    let mut result = empty_row(image);
    result.source = Some(measured.source.to_string());
    result.digest = Some(measured.digest);
    result.platform = measured.platform;
    result.metrics = measured.metrics;
    result.layer_details = measured.layer_details;
    result.notes.extend(measured.note);

    let (baseline, failed) = match baselines.find(image, result.platform.as_deref()).await {
        Ok(Found::Yes(b)) => (Some(b), None),
        Ok(Found::No(note)) => {
            result.notes.extend(note);
            (None, None)
        }
        Err(reason) => (None, Some(reason)),
    };
    let against = match (&baseline, &failed) {
        (Some(b), _) => Against::Baseline(&b.metrics),
        (None, Some(reason)) => Against::Failed(reason),
        (None, None) => Against::Nothing,
    };
    let mut verdict = judge::judge(&image.budget, &result.metrics, against);
    if image.budget.has(BudgetKey::DenyPackages) {
        let held = held(analysis);
        verdict.add(judge::denied(
            &image.budget,
            held.as_deref().map_err(|e| *e),
        ));
    }
    let judges_growth = BudgetKey::ALL
        .into_iter()
        .any(|k| k.kind() == LimitKind::Growth && image.budget.has(k));
    result.baseline_error.clone_from(&failed);
    if let Some(reason) = failed
        && !judges_growth
    {
        result.notes.push(format!(
            "no delta: the baseline could not be measured: {reason}"
        ));
    }
    if let Some(b) = &baseline {
        result.history = b.history.clone();
        if !b.layer_details.is_empty() && !result.layer_details.is_empty() {
            let diff = LayerDiff::new(&result.layer_details, &b.layer_details);
            result.layer_change = Some(diff.summary());
        }
    }
    result.baseline = baseline;
    result.delta = verdict.delta;
    result.status = verdict.status;
    result.findings = verdict.findings;
    result
}

/// `budget check`.
pub async fn run(args: CheckArgs) -> Result<Exit, String> {
    let plan = config::load(&args.config).map_err(|e| e.to_string())?;
    let images = select(&plan, &args.names, args.shard).map_err(|e| e.to_string())?;
    let env = |name: &str| std::env::var(name).ok();
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    // A baseline report that cannot be read fails every image's baseline,
    // never the run: the images' own budgets are still judged.
    let (saved, unreadable) = match &args.baseline {
        Some(template) => match load_baseline_report(&template.to_string_lossy(), &cwd, &env) {
            Ok(saved) => (saved, None),
            Err(reason) => {
                output::warn(&reason);
                (
                    None,
                    Some(format!("the baseline report could not be read: {reason}")),
                )
            }
        },
        None => (None, None),
    };
    output::say(&format!(
        "checking {} image{} from {}",
        images.len(),
        if images.len() == 1 { "" } else { "s" },
        args.config.display()
    ));
    progress::enable();
    let sources = Sources::new(Options {
        insecure_registries: plan.insecure_registries.clone(),
        cache: Cache::from_env(&env),
    });
    if let Some(saved) = &saved {
        sources.remember(&saved.layer_facts()).await;
    }
    let baseline_unreadable = unreadable.is_some();
    let mut finder = Finder::new(&sources, saved.as_ref(), &cwd, &env);
    if let Some(reason) = unreadable {
        finder = finder.unreadable(reason);
    }
    let limits = Limits {
        jobs: usize::try_from(args.jobs).unwrap_or(JOBS),
        timeout: args.timeout,
    };
    let mut report = check(&images, &sources, &finder, limits).await;
    // The sets whose images were all checked here; a shard's report carries
    // every set's plan, so that `merge` judges those split across shards.
    let sets = set::judge_sets(&plan.sets, &report.images);
    if args.shard.is_none() {
        for plan in plan
            .sets
            .iter()
            .filter(|p| !sets.iter().any(|s| s.name == p.name))
        {
            output::say(&format!(
                "set {} is not judged: not all of its images were checked in this run ({})",
                plan.name,
                plan.images.join(", ")
            ));
        }
    }
    report = report.with_sets(sets, plan.sets.clone());
    for image in &report.images {
        for note in image.notes.iter().filter(|n| n.contains(IN_REGISTRY)) {
            output::say(&format!("{}: {note}", image.name));
        }
    }
    report.commit = baseline::head_commit(&cwd, &env);
    report.config = std::fs::read(&args.config)
        .ok()
        .map(|bytes| sha256_of(&bytes));
    let text = report::render(
        &report,
        args.format,
        output::use_color(args.format, args.output.is_some()),
    );
    output::write_report(&text, args.output.as_deref())?;
    if args.output.is_some() {
        for line in report::stderr_lines(&report) {
            output::say(&line);
        }
    }
    // The report is out and the verdict is kept: a comment that cannot be
    // posted is a warning, never a different exit status.
    let body = comment::render(&report, &args.comment.comment_id);
    publish::write_step_summary(&body);
    if args.shard.is_some() {
        // One shard's comment would overwrite the others': the job that
        // merges the shard reports posts the one comment.
        if args.comment.comment != CommentMode::Off {
            output::say(
                "a --shard run posts no comment; join the shards' reports with `budget merge` and post the result with `budget publish`",
            );
        }
    } else if let Err(warning) = publish::post(&body, &report, &args.comment, None, None).await {
        output::warn(&warning);
    }
    // A --baseline file that could not be read is bad input: every image is
    // still judged and reported, and the run says so with its status.
    if baseline_unreadable {
        return Ok(Exit::Error);
    }
    Ok(super::exit_for(&report, args.no_fail))
}

/// `--baseline FILE`, where FILE may name `{merge-base}`: the report of the
/// nearest commit of main that has one. None found: every image is new.
fn load_baseline_report(
    template: &str,
    cwd: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<BaselineReport>, String> {
    match baseline::report_path(template, cwd, env)? {
        Some((path, commit)) => {
            let mut report = BaselineReport::load(&path).map_err(|e| e.to_string())?;
            if let Some(commit) = &commit {
                output::say(&format!(
                    "baseline report {} (commit {commit})",
                    path.display()
                ));
            }
            if commit.is_some() {
                report.commit = commit;
            }
            Ok(Some(report))
        }
        None => {
            output::say(&format!(
                "no baseline report `{template}` for the merge base or its ancestors: every image is judged as new"
            ));
            Ok(Some(BaselineReport::default()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Budget;
    use crate::config::Location;
    use std::path::PathBuf;

    fn plan(names: &[&str]) -> Plan {
        Plan {
            path: PathBuf::from("budgets.toml"),
            images: names
                .iter()
                .map(|n| ImagePlan {
                    name: n.to_string(),
                    reference: format!("acme/{n}"),
                    reference_at: Location {
                        file: "budgets.toml".into(),
                        line: 1,
                        column: 1,
                    },
                    baseline: None,
                    platform: None,
                    budget: Budget::default(),
                    set_budgets: Budget::default(),
                })
                .collect(),
            insecure_registries: Vec::new(),
            sets: Vec::new(),
        }
    }

    fn names(images: &[ImagePlan]) -> Vec<&str> {
        images.iter().map(|i| i.name.as_str()).collect()
    }

    #[test]
    fn shards_split_the_images_without_overlap_and_never_move_an_image() {
        let many: Vec<String> = (0..200).map(|i| format!("image-{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let first = plan(&refs);
        let shards: Vec<Vec<ImagePlan>> = (1..=4)
            .map(|k| select(&first, &[], Some(format!("{k}/4").parse().unwrap())).unwrap())
            .collect();
        let total: usize = shards.iter().map(Vec::len).sum();
        assert_eq!(total, 200, "every image in exactly one shard");
        for shard in &shards {
            assert!(shard.len() > 25, "a fair split: {}", shard.len());
        }
        // Adding an image (at the front, too) moves none of the others.
        let mut more = vec!["new-image"];
        more.extend(&refs);
        let second = plan(&more);
        for (k, before) in shards.iter().enumerate() {
            let after =
                select(&second, &[], Some(format!("{}/4", k + 1).parse().unwrap())).unwrap();
            let after: Vec<&str> = names(&after)
                .into_iter()
                .filter(|n| *n != "new-image")
                .collect();
            assert_eq!(after, names(before));
        }
    }

    #[test]
    fn names_pick_images_and_unknown_names_are_errors() {
        let plan = plan(&["a", "b", "c"]);
        let picked = select(&plan, &["c".into(), "a".into()], None).unwrap();
        assert_eq!(names(&picked), ["a", "c"]);
        let err = select(&plan, &["x".into()], None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no image named `x` in `budgets.toml`; the images are: a, b, c"
        );
    }
}
