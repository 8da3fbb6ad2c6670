//! The commands: read inputs, run, write the report, choose the exit status.
//! The only module (with main.rs) that prints.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::analysis::explained;
use crate::baseline::{self, BaselineReport, Finder};
use crate::check;
use crate::cli::{
    CheckArgs, Cli, Command, CommentArgs, ExplainArgs, InitArgs, MergeArgs, PublishArgs, ReportArgs,
};
use crate::config;
use crate::config::PlatformChoice;
use crate::explain;
use crate::init;
use crate::measure::cache::Cache;
use crate::measure::digest::sha256_of;
use crate::measure::{IN_REGISTRY, Needs, Options, Sources, progress};
use crate::model::{Metrics, Report, Status};
use crate::publish::{self, CommentMode, Posted};
use crate::report::comment;
use crate::report::{self, Format};
use crate::saved;

/// The process exit status, as DESIGN.md defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every image within budget (warnings allowed).
    Pass = 0,
    /// At least one budget exceeded.
    Fail = 1,
    /// Could not check: bad input, image missing, engine unreachable.
    Error = 2,
}

/// Turns any panic into one line on stderr and exit status 2: no backtrace
/// ever reaches a user, and a bug is reported as one.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = message.lines().collect::<Vec<_>>().join(" ");
        eprintln!(
            "error: internal error{at}: {message} (a bug in image-budget: please report it with the command that caused it)"
        );
        std::process::exit(Exit::Error as i32);
    }));
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Exit {
    let outcome = match cli.command {
        Command::Check(args) => run_check(args).await,
        Command::Init(args) => run_init(args).await,
        Command::Explain(args) => run_explain(args).await,
        Command::Report(args) => run_report(args),
        Command::Merge(args) => run_merge(args),
        Command::Publish(args) => run_publish(args).await,
    };
    outcome.unwrap_or_else(|message| {
        eprintln!("error: {message}");
        Exit::Error
    })
}

fn use_color(format: Format, to_file: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    if format != Format::Table || to_file || set("NO_COLOR") {
        return false;
    }
    set("CLICOLOR_FORCE") || std::io::stdout().is_terminal()
}

async fn run_check(args: CheckArgs) -> Result<Exit, String> {
    let plan = config::load(&args.config).map_err(|e| e.to_string())?;
    let images = check::select(&plan, &args.names, args.shard).map_err(|e| e.to_string())?;
    let env = |name: &str| std::env::var(name).ok();
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    // A baseline report that cannot be read fails every image's baseline,
    // never the run: the images' own budgets are still judged.
    let (saved, unreadable) = match &args.baseline {
        Some(template) => match load_baseline_report(&template.to_string_lossy(), &cwd, &env) {
            Ok(saved) => (saved, None),
            Err(reason) => {
                eprintln!("warning: {reason}");
                (
                    None,
                    Some(format!("the baseline report could not be read: {reason}")),
                )
            }
        },
        None => (None, None),
    };
    eprintln!(
        "budget: checking {} image{} from {}",
        images.len(),
        if images.len() == 1 { "" } else { "s" },
        args.config.display()
    );
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
    let limits = check::Limits {
        jobs: usize::try_from(args.jobs).unwrap_or(check::JOBS),
        timeout: args.timeout,
    };
    let mut report = check::check(&images, &sources, &finder, limits).await;
    for image in &report.images {
        for note in image.notes.iter().filter(|n| n.contains(IN_REGISTRY)) {
            eprintln!("budget: {}: {note}", image.name);
        }
    }
    report.commit = baseline::head_commit(&cwd, &env);
    report.config = std::fs::read(&args.config)
        .ok()
        .map(|bytes| sha256_of(&bytes));
    let text = report::render(
        &report,
        args.format,
        use_color(args.format, args.output.is_some()),
    );
    write_report(&text, args.output.as_deref())?;
    if args.output.is_some() {
        for line in report::stderr_lines(&report) {
            eprintln!("budget: {line}");
        }
    }
    // The report is out and the verdict is kept: a comment that cannot be
    // posted is a warning, never a different exit status.
    let body = comment::render(&report, &args.comment.comment_id);
    write_step_summary(&body);
    if args.shard.is_some() {
        // One shard's comment would overwrite the others': the job that
        // merges the shard reports posts the one comment.
        if args.comment.comment != CommentMode::Off {
            eprintln!(
                "budget: a --shard run posts no comment; join the shards' reports with `budget merge` and post the result with `budget publish`"
            );
        }
    } else if let Err(warning) = post(&body, &report, &args.comment, None, None).await {
        eprintln!("warning: {warning}");
    }
    // A --baseline file that could not be read is bad input: every image is
    // still judged and reported, and the run says so with its status.
    if baseline_unreadable {
        return Ok(Exit::Error);
    }
    Ok(exit_for(&report, args.no_fail))
}

/// Appends the comment to the GitHub Actions job summary, when there is one.
fn write_step_summary(body: &str) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| writeln!(file, "{body}"));
    if let Err(e) = appended {
        eprintln!(
            "warning: cannot write the job summary `{}`: {e}",
            std::path::Path::new(&path).display()
        );
    }
}

/// Posts (or edits) the sticky comment where the pipeline runs. `Ok` also
/// when there is nowhere to post (a local run, `--comment off`).
async fn post(
    body: &str,
    report: &Report,
    args: &CommentArgs,
    number: Option<u64>,
    made_at: Option<&str>,
) -> Result<bool, String> {
    let env = |name: &str| std::env::var(name).ok();
    let Some(forge) = publish::detect_for(args.comment, &env, args.github_token.clone(), number)
        .map_err(|e| format!("no comment was posted: {e}"))?
    else {
        return Ok(false);
    };
    let create = args.comment_when.wants_new(report);
    let options = publish::Options::default();
    // A report posted by another job must be of the pull request's own
    // commit: a fork's artifact cannot aim the comment at someone else's.
    if let Some(made_at) = made_at {
        let heads = publish::heads(&forge, &options)
            .await
            .map_err(|e| format!("cannot check the pull request's commit: {e}"))?;
        let same = |h: &String| h.eq_ignore_ascii_case(made_at.trim());
        if !heads.iter().any(same) {
            return Err(format!(
                "refusing to post: the report was made at commit {made_at}, but the pull request is at {}\n  hint: post a report only on the pull request whose run made it (--pr must name that pull request)",
                heads.first().map_or("no known commit", String::as_str)
            ));
        }
    }
    match publish::post(&forge, &args.comment_id, body, create, &options).await {
        Ok(Posted::Created { url }) => {
            eprintln!("budget: comment posted{}", at(url));
            Ok(true)
        }
        Ok(Posted::Updated { url }) => {
            eprintln!("budget: comment updated{}", at(url));
            Ok(true)
        }
        Ok(Posted::Unchanged { url }) => {
            eprintln!("budget: comment already up to date{}", at(url));
            Ok(true)
        }
        Ok(Posted::Skipped) => {
            eprintln!(
                "budget: no comment posted (--comment-when {}: nothing calls for one)",
                clap::ValueEnum::to_possible_value(&args.comment_when)
                    .map(|v| v.get_name().to_string())
                    .unwrap_or_default()
            );
            Ok(true)
        }
        Err(e) if e.is_read_only() => Err(format!(
            "the token cannot write comments here (a pull request from a fork gets a read-only token), so the report is only in the job summary and the log: {e}\n  hint: post it from a trusted job with `budget publish report.json` (README: pull requests from forks)"
        )),
        Err(e) => Err(format!("the comment was not posted: {e}")),
    }
}

fn at(url: Option<String>) -> String {
    url.map(|u| format!(": {u}")).unwrap_or_default()
}

/// `budget publish`: the trusted half of the two-step flow. Posting is its
/// whole job, so a failure to post is an error (exit 2).
async fn run_publish(args: PublishArgs) -> Result<Exit, String> {
    let report = saved::load(&args.report).map_err(|e| e.to_string())?;
    let body = comment::render(&report, &args.comment.comment_id);
    write_step_summary(&body);
    let event = std::env::var_os("GITHUB_EVENT_PATH")
        .filter(|_| std::env::var("GITHUB_EVENT_NAME").is_ok_and(|e| e == "workflow_run"))
        .and_then(|path| std::fs::read_to_string(path).ok());
    let number = args
        .pr
        .or_else(|| publish::pr_number_from_event(event.as_deref()?));
    // The commit the report was made at: GitHub's word for the run that made
    // the artifact (a workflow_run event), else the report's own.
    let made_at = event
        .as_deref()
        .and_then(publish::head_sha_from_event)
        .or_else(|| report.commit.clone())
        .ok_or_else(|| {
            "the report names no commit, so it cannot be matched to a pull request\n  hint: publish from a workflow_run job (its event names the commit), or write the report with `budget check` in the checkout of the pull request".to_string()
        })?;
    if post(&body, &report, &args.comment, number, Some(&made_at)).await? {
        Ok(Exit::Pass)
    } else {
        Err("nowhere to post: this job is not a pull-request or merge-request pipeline\n  hint: pass --pr NUMBER (and --comment github or gitlab), or run it in the pipeline of the pull request".to_string())
    }
}

/// The exit status a report calls for.
fn exit_for(report: &Report, no_fail: bool) -> Exit {
    match report.worst() {
        Status::Error => Exit::Error,
        Status::Fail if !no_fail => Exit::Fail,
        _ => Exit::Pass,
    }
}

fn run_report(args: ReportArgs) -> Result<Exit, String> {
    let report = saved::load(&args.report).map_err(|e| e.to_string())?;
    let text = report::render(
        &report,
        args.format,
        use_color(args.format, args.output.is_some()),
    );
    write_report(&text, args.output.as_deref())?;
    Ok(Exit::Pass)
}

fn run_merge(args: MergeArgs) -> Result<Exit, String> {
    let mut reports = Vec::new();
    for path in &args.reports {
        let report = saved::load(path).map_err(|e| e.to_string())?;
        reports.push((path.display().to_string(), report));
    }
    let merged = saved::merge(reports).map_err(|e| e.to_string())?;
    write_report(&report::json(&merged), args.output.as_deref())?;
    eprintln!(
        "budget: merged {} report{} into {} image row{}",
        args.reports.len(),
        if args.reports.len() == 1 { "" } else { "s" },
        merged.images.len(),
        if merged.images.len() == 1 { "" } else { "s" },
    );
    Ok(Exit::Pass)
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
                eprintln!(
                    "budget: baseline report {} (commit {commit})",
                    path.display()
                );
            }
            if commit.is_some() {
                report.commit = commit;
            }
            Ok(Some(report))
        }
        None => {
            eprintln!(
                "budget: no baseline report `{template}` for the merge base or its ancestors: every image is judged as new"
            );
            Ok(Some(BaselineReport::default()))
        }
    }
}

fn write_report(text: &str, output: Option<&Path>) -> Result<(), String> {
    match output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| format!("cannot write the report to `{}`: {e}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| format!("cannot write the report to stdout: {e}"))
        }
    }
}

async fn run_explain(args: ExplainArgs) -> Result<Exit, String> {
    progress::enable();
    let env = |name: &str| std::env::var(name).ok();
    let sources = Sources::new(Options {
        cache: Cache::from_env(&env),
        ..Options::default()
    });
    let platform = args.platform.clone().map(PlatformChoice::One);
    let top = usize::try_from(args.top).unwrap_or(usize::MAX);
    let image = explain::analyse(&sources, &args.reference, platform.as_ref()).await?;
    let baseline = match &args.baseline {
        Some(reference) => Some(explain::analyse(&sources, reference, platform.as_ref()).await?),
        None => None,
    };
    let explained = explained::explain(
        image.0,
        &image.1,
        baseline.as_ref().map(|(s, a)| (s.clone(), a)),
        top,
    );
    write_report(&report::explain::render(&explained, args.format), None)?;
    Ok(Exit::Pass)
}

async fn run_init(args: InitArgs) -> Result<Exit, String> {
    if args.config.exists() && !args.force {
        return Err(format!(
            "`{}` exists already; pass --force to overwrite it, or -c to write another file",
            args.config.display()
        ));
    }
    let env = |name: &str| std::env::var(name).ok();
    let sources = Sources::new(Options {
        cache: Cache::from_env(&env),
        ..Options::default()
    });
    let needs = Needs {
        size: true,
        ..Needs::default()
    };
    let mut measured = Vec::new();
    let mut failures = Vec::new();
    for reference in &args.references {
        match sources.measure(reference, None, needs).await {
            Ok(mut all) => match all.swap_remove(0).metrics {
                Metrics {
                    size: Some(size),
                    layers: Some(layers),
                    ..
                } => measured.push(init::Measured {
                    reference: reference.clone(),
                    size,
                    layers,
                }),
                _ => failures.push(format!(
                    "the uncompressed size of `{reference}` is unknown at its source; pull it into the engine first"
                )),
            },
            Err(e) => failures.push(e.to_string()),
        }
    }
    if !failures.is_empty() {
        return Err(format!(
            "{}\nnothing was written",
            failures.join("\nerror: ")
        ));
    }
    let text = init::render(&measured, args.headroom);
    std::fs::write(&args.config, text)
        .map_err(|e| format!("cannot write `{}`: {e}", args.config.display()))?;
    eprintln!(
        "budget: wrote {} with {} image{} (today's sizes plus {}% headroom)",
        args.config.display(),
        measured.len(),
        if measured.len() == 1 { "" } else { "s" },
        args.headroom
    );
    Ok(Exit::Pass)
}
