//! `budget publish`, and the posting of the sticky comment that `check`
//! does too: the forge found from the pipeline, the comment created or
//! edited in place, and the job summary.

use std::io::Write;

use super::Exit;
use crate::cli::{CommentArgs, PublishArgs};
use crate::model::Report;
use crate::output;
use crate::publish::{self, Posted};
use crate::report::comment;
use crate::saved;

/// `budget publish`: the trusted half of the two-step flow. Posting is its
/// whole job, so a failure to post is an error (exit 2).
pub async fn run(args: PublishArgs) -> Result<Exit, String> {
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

/// Appends the comment to the GitHub Actions job summary, when there is one.
pub fn write_step_summary(body: &str) {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return;
    };
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| writeln!(file, "{body}"));
    if let Err(e) = appended {
        output::warn(&format!(
            "cannot write the job summary `{}`: {e}",
            std::path::Path::new(&path).display()
        ));
    }
}

/// Posts (or edits) the sticky comment where the pipeline runs. `Ok` also
/// when there is nowhere to post (a local run, `--comment off`).
pub async fn post(
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
            output::say(&format!("comment posted{}", at(url)));
            Ok(true)
        }
        Ok(Posted::Updated { url }) => {
            output::say(&format!("comment updated{}", at(url)));
            Ok(true)
        }
        Ok(Posted::Unchanged { url }) => {
            output::say(&format!("comment already up to date{}", at(url)));
            Ok(true)
        }
        Ok(Posted::Skipped) => {
            output::say(&format!(
                "no comment posted (--comment-when {}: nothing calls for one)",
                clap::ValueEnum::to_possible_value(&args.comment_when)
                    .map(|v| v.get_name().to_string())
                    .unwrap_or_default()
            ));
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
