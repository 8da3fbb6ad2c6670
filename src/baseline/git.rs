//! The commit a branch left the default branch at, and its ancestors there,
//! from git: where to look for the baseline of a pull request.

use std::path::Path;
use std::process::Command;

/// How many first-parent ancestors of the merge base are tried at most.
pub const MAX_ANCESTORS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot run git to find the merge base: {0}\n  hint: install git, or name the baseline without `{{merge-base}}`"
    )]
    NoGit(String),
    #[error(
        "{dir} is not a git checkout, so `{{merge-base}}` has no meaning there\n  hint: run in the repository, or name the baseline without `{{merge-base}}`"
    )]
    NotARepository { dir: String },
    #[error(
        "cannot find the branch `{branch}` to compare with (tried origin/{branch} and {branch})\n  hint: fetch it (`git fetch origin {branch}`), or set the target branch in GITHUB_BASE_REF / CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
    )]
    NoBranch { branch: String },
    #[error(
        "HEAD and `{target}` have no commit in common in this {depth} clone\n  hint: fetch more history: `git fetch --deepen=200 origin {branch}` (GitHub: actions/checkout with `fetch-depth: 0`; GitLab: `GIT_DEPTH: 0`)"
    )]
    Shallow {
        target: String,
        branch: String,
        depth: String,
    },
    #[error("HEAD and `{target}` have no commit in common")]
    Unrelated { target: String },
    #[error("git {args} failed: {message}")]
    Failed { args: String, message: String },
}

/// Where to look: the merge base first, then its first-parent ancestors on
/// the target branch, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ancestry {
    /// The ref the branch is compared with, such as `origin/main`.
    pub target: String,
    pub commits: Vec<String>,
    /// The clone is shallow, so the walk may have stopped early.
    pub shallow: bool,
}

fn git(dir: &Path, args: &[&str]) -> Result<String, Error> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| Error::NoGit(e.to_string()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(Error::Failed {
            args: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

fn ref_exists(dir: &Path, name: &str) -> bool {
    git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{name}^{{commit}}"),
        ],
    )
    .is_ok()
}

/// The branch a pull request targets, as CI systems name it; else the
/// remote's default branch; else `main` or `master`, whichever exists.
pub fn target_branch(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> String {
    for var in [
        "GITHUB_BASE_REF",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
        "CI_DEFAULT_BRANCH",
    ] {
        if let Some(branch) = env(var).filter(|b| !b.trim().is_empty()) {
            return branch.trim().to_string();
        }
    }
    if let Ok(head) = git(
        dir,
        &["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"],
    ) && let Some(branch) = head.strip_prefix("refs/remotes/origin/")
    {
        return branch.to_string();
    }
    if !ref_exists(dir, "main") && !ref_exists(dir, "origin/main") && ref_exists(dir, "master") {
        return "master".to_string();
    }
    "main".to_string()
}

/// The commit being checked: CI's variable, else git's HEAD; `None` outside
/// a repository.
pub fn head_commit(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    ["GITHUB_SHA", "CI_COMMIT_SHA"]
        .iter()
        .find_map(|var| env(var).filter(|v| !v.trim().is_empty()))
        .or_else(|| git(dir, &["rev-parse", "HEAD"]).ok())
}

/// True when the job runs on `branch` itself (a push to main), not in a
/// pull or merge request: CI's variables, else the checked-out branch.
fn on_branch(dir: &Path, env: &dyn Fn(&str) -> Option<String>, branch: &str) -> bool {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if set("GITHUB_BASE_REF").is_some() || set("CI_MERGE_REQUEST_IID").is_some() {
        return false;
    }
    let github = set("GITHUB_REF").and_then(|r| r.strip_prefix("refs/heads/").map(str::to_string));
    let current = github
        .or_else(|| set("CI_COMMIT_BRANCH"))
        .or_else(|| git(dir, &["symbolic-ref", "--quiet", "--short", "HEAD"]).ok());
    current.is_some_and(|c| c.trim() == branch)
}

/// Finds the merge base of HEAD with the target branch, and its ancestors;
/// on the target branch itself, HEAD's first parent and its ancestors.
pub fn ancestry(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Ancestry, Error> {
    if git(dir, &["rev-parse", "--git-dir"]).is_err() {
        return Err(Error::NotARepository {
            dir: dir.display().to_string(),
        });
    }
    let branch = target_branch(dir, env);
    let target = [format!("origin/{branch}"), branch.clone()]
        .into_iter()
        .find(|r| ref_exists(dir, r))
        .ok_or_else(|| Error::NoBranch {
            branch: branch.clone(),
        })?;
    let shallow = git(dir, &["rev-parse", "--is-shallow-repository"]).is_ok_and(|s| s == "true");
    let base = match git(dir, &["merge-base", "HEAD", &target]) {
        Ok(base) if !base.is_empty() => base,
        _ if shallow => {
            let depth = git(dir, &["rev-list", "--count", "HEAD"])
                .map(|n| format!("shallow ({n} commits deep)"))
                .unwrap_or_else(|_| "shallow".to_string());
            return Err(Error::Shallow {
                target,
                branch,
                depth,
            });
        }
        _ => return Err(Error::Unrelated { target }),
    };
    // On the default branch itself the merge base is HEAD: the image a
    // main job just pushed for HEAD is not its own baseline, the previous
    // main commit's is.
    let head = git(dir, &["rev-parse", "HEAD"]).unwrap_or_default();
    let start = if base == head && on_branch(dir, env, &branch) {
        match git(
            dir,
            &["rev-parse", "--verify", "--quiet", &format!("{head}^1")],
        ) {
            Ok(parent) => parent,
            // The first commit: nothing came before it.
            Err(_) => {
                return Ok(Ancestry {
                    target,
                    commits: Vec::new(),
                    shallow,
                });
            }
        }
    } else {
        base
    };
    let max = MAX_ANCESTORS.to_string();
    let list = git(
        dir,
        &["rev-list", "--first-parent", "--max-count", &max, &start],
    )?;
    Ok(Ancestry {
        target,
        commits: list.lines().map(str::to_string).collect(),
        shallow,
    })
}
