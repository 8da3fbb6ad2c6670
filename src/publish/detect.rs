//! Where the comment goes, from the CI's environment: a GitHub Actions
//! pull-request job, a GitLab merge-request pipeline, or nowhere.

use super::{Error, Forge, GitHubTarget, GitLabTarget, Token};

const GITHUB_API: &str = "https://api.github.com";
const PR_EVENTS: [&str; 2] = ["pull_request", "pull_request_target"];

/// `--comment`: where to post the comment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CommentMode {
    /// GitHub inside a GitHub Actions pull-request job, GitLab inside a
    /// merge-request pipeline, nowhere otherwise.
    #[default]
    #[value(name = "auto")]
    Auto,
    /// The pull request of this GitHub Actions job; an error when there is none.
    #[value(name = "github")]
    GitHub,
    /// The merge request of this GitLab pipeline; an error when there is none.
    #[value(name = "gitlab")]
    GitLab,
    /// Never post.
    #[value(name = "off")]
    Off,
}

/// Works out where the comment goes. `Ok(None)`: nowhere (off, a local
/// run, a push or branch pipeline under `Auto`). A forced forge without its
/// context, or a pull-request job without a token, is an error that says
/// what to set. `github_token` (from `--github-token`) wins over `GITHUB_TOKEN`.
pub fn detect(
    which: CommentMode,
    env: &dyn Fn(&str) -> Option<String>,
    github_token: Option<String>,
) -> Result<Option<Forge>, Error> {
    detect_for(which, env, github_token, None)
}

/// [`detect`], with the pull or merge request named by the caller (`budget
/// publish --pr N`, or a `workflow_run` event's payload) instead of the job's
/// own event: a trusted job that posts for another run's pull request.
pub fn detect_for(
    which: CommentMode,
    env: &dyn Fn(&str) -> Option<String>,
    github_token: Option<String>,
    number: Option<u64>,
) -> Result<Option<Forge>, Error> {
    let var = |name: &str| {
        env(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let is_true = |name: &str| var(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    match which {
        CommentMode::Off => Ok(None),
        CommentMode::GitHub => github(&var, github_token, number, true),
        CommentMode::GitLab => gitlab(&var, number, true),
        CommentMode::Auto if is_true("GITHUB_ACTIONS") => github(&var, github_token, number, false),
        CommentMode::Auto if is_true("GITLAB_CI") => gitlab(&var, number, false),
        CommentMode::Auto => Ok(None),
    }
}

/// The pull request's number in a GitHub event payload: `pull_request.number`
/// (pull_request and pull_request_target events), else
/// `workflow_run.pull_requests[0].number` (a workflow_run event; GitHub
/// leaves that list empty when the pull request comes from a fork).
pub fn pr_number_from_event(json: &str) -> Option<u64> {
    let event: serde_json::Value = serde_json::from_str(json).ok()?;
    event
        .pointer("/pull_request/number")
        .or_else(|| event.pointer("/workflow_run/pull_requests/0/number"))
        .and_then(serde_json::Value::as_u64)
}

/// The commit of the run that triggered a `workflow_run` event: the commit
/// its artifacts were made at, as GitHub (not the artifact) says.
pub fn head_sha_from_event(json: &str) -> Option<String> {
    let event: serde_json::Value = serde_json::from_str(json).ok()?;
    event
        .pointer("/workflow_run/head_sha")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
}

fn github(
    var: &dyn Fn(&str) -> Option<String>,
    github_token: Option<String>,
    number: Option<u64>,
    forced: bool,
) -> Result<Option<Forge>, Error> {
    let number = match number {
        Some(n) => n,
        None => match pull_request_of_job(var, forced)? {
            Some(n) => n,
            None => return Ok(None),
        },
    };
    let repository = var("GITHUB_REPOSITORY").ok_or_else(|| {
        Error::config(
            "GITHUB_REPOSITORY is not set",
            "set GITHUB_REPOSITORY to owner/name (GitHub Actions sets it in every job)",
        )
    })?;
    let api_url = var("GITHUB_API_URL").unwrap_or_else(|| GITHUB_API.to_string());
    let token = github_token
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .or_else(|| var("GITHUB_TOKEN"))
        .ok_or_else(|| {
            Error::config(
                format!("no token to comment on pull request {repository}#{number}"),
                "set GITHUB_TOKEN in the step's env (`GITHUB_TOKEN: ${{ github.token }}`), or pass --github-token",
            )
        })?;
    Ok(Some(Forge::GitHub(GitHubTarget {
        api_url: api_url.trim_end_matches('/').to_string(),
        repository,
        number,
        token: Token::new(token),
    })))
}

/// The pull request this job runs for, from its event payload; `Ok(None)`
/// when it runs for none (and the forge was not forced).
fn pull_request_of_job(
    var: &dyn Fn(&str) -> Option<String>,
    forced: bool,
) -> Result<Option<u64>, Error> {
    let Some(event) = var("GITHUB_EVENT_NAME") else {
        return if forced {
            Err(Error::config(
                "--comment github needs a GitHub Actions job, but GITHUB_EVENT_NAME is not set",
                "run it in a workflow triggered by pull_request, or post a saved report from a trusted job with `budget publish`",
            ))
        } else {
            Ok(None)
        };
    };
    if !PR_EVENTS.contains(&event.as_str()) {
        return if forced {
            Err(Error::config(
                format!(
                    "--comment github needs a pull request, but this job runs for the `{event}` event"
                ),
                "trigger the workflow on pull_request, or for a workflow_run job post the saved report with `budget publish`",
            ))
        } else {
            Ok(None)
        };
    }
    let hint_event =
        "GitHub Actions sets GITHUB_EVENT_PATH in every job; run budget inside the job's steps";
    let path = var("GITHUB_EVENT_PATH").ok_or_else(|| {
        Error::config(
            format!("this is a `{event}` job but GITHUB_EVENT_PATH is not set"),
            hint_event,
        )
    })?;
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::config(
            format!("cannot read the event payload `{path}`: {e}"),
            hint_event,
        )
    })?;
    pr_number_from_event(&text).map(Some).ok_or_else(|| {
        Error::config(
            format!("the event payload `{path}` has no pull_request.number"),
            hint_event,
        )
    })
}

fn gitlab(
    var: &dyn Fn(&str) -> Option<String>,
    number: Option<u64>,
    forced: bool,
) -> Result<Option<Forge>, Error> {
    let iid = number
        .map(|n| n.to_string())
        .or_else(|| var("CI_MERGE_REQUEST_IID"));
    let Some(iid) = iid else {
        return if forced {
            Err(Error::config(
                "--comment gitlab needs a merge-request pipeline, but CI_MERGE_REQUEST_IID is not set",
                "run the job in merge-request pipelines (`rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"`)",
            ))
        } else {
            Ok(None)
        };
    };
    let mr_iid = iid.parse::<u64>().map_err(|_| {
        Error::config(
            format!("CI_MERGE_REQUEST_IID is `{iid}`, not a merge request number"),
            "leave CI_MERGE_REQUEST_IID to GitLab",
        )
    })?;
    let api_url = var("CI_API_V4_URL")
        .or_else(|| var("CI_SERVER_URL").map(|s| format!("{}/api/v4", s.trim_end_matches('/'))))
        .ok_or_else(|| {
            Error::config(
                "CI_API_V4_URL is not set",
                "set CI_API_V4_URL to https://HOST/api/v4 (GitLab sets it in every job)",
            )
        })?;
    // The merge request's own project: for a merge request from a fork it is
    // not the project the pipeline runs in.
    let project_id = var("CI_MERGE_REQUEST_PROJECT_ID")
        .or_else(|| var("CI_PROJECT_ID"))
        .ok_or_else(|| {
            Error::config(
                "CI_PROJECT_ID is not set",
                "set CI_PROJECT_ID to the project's id or path (GitLab sets it in every job)",
            )
        })?;
    let token = var("GITLAB_TOKEN").ok_or_else(|| {
        Error::config(
            format!("no token to comment on merge request !{mr_iid}"),
            "set GITLAB_TOKEN to a project access token with the `api` scope, as a masked CI/CD variable (CI_JOB_TOKEN cannot write notes)",
        )
    })?;
    Ok(Some(Forge::GitLab(GitLabTarget {
        api_url: api_url.trim_end_matches('/').to_string(),
        project_id,
        mr_iid,
        token: Token::new(token),
    })))
}
