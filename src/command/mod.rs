//! One file per command: `check`, `explain`, `init`, `publish` and
//! `report` (with `merge`). Each reads its inputs, runs, and says what to
//! print through `output`; `app` dispatches and maps the outcome to the exit
//! status.

pub mod check;
pub mod explain;
pub mod init;
pub mod publish;
pub mod report;

use crate::model::{Report, Status};

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

/// The exit status a report calls for.
pub fn exit_for(report: &Report, no_fail: bool) -> Exit {
    exit_of(report.worst(), no_fail)
}

/// The exit status a worst status calls for.
pub fn exit_of(worst: Status, no_fail: bool) -> Exit {
    match worst {
        Status::Error => Exit::Error,
        Status::Fail if !no_fail => Exit::Fail,
        _ => Exit::Pass,
    }
}
