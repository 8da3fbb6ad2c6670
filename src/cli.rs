//! The command line (the contract in DESIGN.md).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::model::CommentId;
use crate::publish::{CommentMode, CommentWhen};
use crate::report::Format;
use crate::report::explain::ExplainFormat;
use crate::shard::Shard;

/// How many images are measured at once unless `--jobs` says.
pub const JOBS: usize = 8;

/// Where to comment, shared by `check` and `publish`.
#[derive(Debug, Args)]
pub struct CommentArgs {
    /// Post the report as one sticky pull/merge-request comment: auto posts only
    /// inside a pull-request (GitHub) or merge-request (GitLab) pipeline
    #[arg(long, value_enum, default_value_t = CommentMode::Auto)]
    pub comment: CommentMode,

    /// Tells this config's comment apart from others in the same pull request
    #[arg(long, value_name = "ID", default_value = "default")]
    pub comment_id: CommentId,

    /// When to post a new comment: always, changed (something differs from
    /// the baseline), failing (an image over budget or not checked); an
    /// existing comment is brought up to date whatever this says
    #[arg(long, value_enum, default_value_t = CommentWhen::Always)]
    pub comment_when: CommentWhen,

    /// The GitHub token (default: $GITHUB_TOKEN); GitLab's is $GITLAB_TOKEN
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    pub github_token: Option<String>,
}

#[derive(Debug, Parser)]
#[command(
    name = "budget",
    version,
    about = "Keep container images inside their size budgets",
    long_about = "Keep container images inside their size budgets.\n\nReads per-image budgets from budgets.toml, measures each image, compares it with its budget and its baseline, and exits 0 (all within budget), 1 (a budget exceeded) or 2 (could not check)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure the images and judge them against their budgets
    Check(CheckArgs),
    /// Write budgets.toml from today's sizes plus headroom
    Init(InitArgs),
    /// Look inside an image: its layers and the instruction behind each, the
    /// largest files, the wasted bytes, the files changed against a baseline,
    /// and advice that shrinks it
    Explain(ExplainArgs),
    /// Render a saved JSON report again, in another format (exit 0 once rendered:
    /// the gate is `check`)
    Report(ReportArgs),
    /// Join shard reports (`check --shard K/N --format json`) into one
    Merge(MergeArgs),
    /// Post a saved report as the pull/merge-request comment (the trusted half
    /// of the two-step flow for pull requests from forks)
    Publish(PublishArgs),
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// A report written by `budget check --format json`
    #[arg(value_name = "REPORT.json")]
    pub report: PathBuf,

    #[command(flatten)]
    pub comment: CommentArgs,

    /// The pull (merge) request to comment on; default: the one in the job's
    /// event (GitHub `workflow_run` events name it) or CI_MERGE_REQUEST_IID
    #[arg(long, value_name = "NUMBER")]
    pub pr: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A report written by `budget check --format json`
    #[arg(value_name = "REPORT.json")]
    pub report: PathBuf,

    /// Report format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to this file instead of stdout
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard reports, each written by `budget check --shard K/N --format json`
    #[arg(value_name = "REPORT.json", required = true)]
    pub reports: Vec<PathBuf>,

    /// Write the merged JSON report to this file instead of stdout
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The budgets file
    #[arg(short, long, value_name = "PATH", default_value = "budgets.toml")]
    pub config: PathBuf,

    /// Check only these images (keys of [images.NAME]); all when none is named
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// A JSON report from the main branch to compare with, matched by image name
    /// (instead of each image's `baseline` reference)
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Report format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to this file instead of stdout
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Exit 0 even when a budget is exceeded (errors still exit 2)
    #[arg(long)]
    pub no_fail: bool,

    /// Check only slice K of N of the images (for CI matrices), such as 2/8;
    /// an image's shard follows from its name alone
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,

    /// How many images are measured at once
    #[arg(long, value_name = "N", default_value_t = JOBS as u64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub jobs: u64,

    /// Stop measuring after this long (such as 90s, 10m, 1h): the images not
    /// checked by then are reported as not checked, the others keep their results
    #[arg(long, value_name = "DURATION", value_parser = crate::size::parse_duration)]
    pub timeout: Option<std::time::Duration>,

    #[command(flatten)]
    pub comment: CommentArgs,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The image, as in `ref` of budgets.toml (`docker-daemon:`, `docker://`,
    /// `docker-archive:`, `oci-archive:`, `oci:` or a plain reference)
    #[arg(value_name = "REF")]
    pub reference: String,

    /// Another image to compare the files with, such as main's build
    #[arg(long, value_name = "REF")]
    pub baseline: Option<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = ExplainFormat::Table)]
    pub format: ExplainFormat,

    /// How many files, packages, changes and pieces of advice to list
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10000))]
    pub top: u64,

    /// Files only: leave the package databases unread (no packages section,
    /// no package changes)
    #[arg(long)]
    pub no_packages: bool,

    /// Which image of a multi-platform index, such as linux/arm64 (default:
    /// linux/amd64, or the only one)
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The budgets file to write
    #[arg(short, long, value_name = "PATH", default_value = "budgets.toml")]
    pub config: PathBuf,

    /// Images to write budgets for, as they are in the local engine
    #[arg(value_name = "REF", required = true)]
    pub references: Vec<String>,

    /// Headroom above today's size, in percent
    #[arg(long, value_name = "PERCENT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub headroom: u64,

    /// Overwrite the file if it exists
    #[arg(long)]
    pub force: bool,
}
