//! `budget report` (a saved report rendered again) and `budget merge`
//! (shard reports joined into one).

use super::Exit;
use crate::cli::{MergeArgs, ReportArgs};
use crate::model::Status;
use crate::output;
use crate::report;
use crate::saved;

/// `budget report`.
pub fn run(args: ReportArgs) -> Result<Exit, String> {
    let report = saved::load(&args.report).map_err(|e| e.to_string())?;
    let text = report::render(
        &report,
        args.format,
        output::use_color(args.format, args.output.is_some()),
    );
    output::write_report(&text, args.output.as_deref())?;
    Ok(Exit::Pass)
}

/// `budget merge`.
pub fn merge(args: MergeArgs) -> Result<Exit, String> {
    let mut reports = Vec::new();
    for path in &args.reports {
        let report = saved::load(path).map_err(|e| e.to_string())?;
        reports.push((path.display().to_string(), report));
    }
    let merged = saved::merge(reports).map_err(|e| e.to_string())?;
    output::write_report(&report::json(&merged), args.output.as_deref())?;
    output::say(&format!(
        "merged {} report{} into {} image row{}{}",
        args.reports.len(),
        if args.reports.len() == 1 { "" } else { "s" },
        merged.images.len(),
        if merged.images.len() == 1 { "" } else { "s" },
        match merged.sets.len() {
            0 => String::new(),
            1 => " and 1 set".to_string(),
            n => format!(" and {n} sets"),
        }
    ));
    // The shards gated their own images; the sets, judged only here, gate
    // the merge.
    for line in report::set_lines(&merged) {
        output::say(&line);
    }
    let worst = merged.sets.iter().map(|s| s.status).max();
    Ok(super::exit_of(worst.unwrap_or(Status::Pass), false))
}
