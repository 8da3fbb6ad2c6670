//! Dispatch: a parsed command line to its command, the outcome to the exit
//! status; and a panic to one line and exit status 2.

use crate::cli::{Cli, Command};
use crate::command::{check, explain, init, publish, report};
use crate::output;

pub use crate::command::Exit;

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
        output::error(&format!(
            "internal error{at}: {message} (a bug in image-budget: please report it with the command that caused it)"
        ));
        std::process::exit(Exit::Error as i32);
    }));
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Exit {
    let outcome = match cli.command {
        Command::Check(args) => check::run(args).await,
        Command::Init(args) => init::run(args).await,
        Command::Explain(args) => explain::run(args).await,
        Command::Report(args) => report::run(args),
        Command::Merge(args) => report::merge(args),
        Command::Publish(args) => publish::run(args).await,
    };
    outcome.unwrap_or_else(|message| {
        output::error(&message);
        Exit::Error
    })
}
