//! What a person sees: the report on stdout (or in a file), and the lines
//! on stderr (`budget: …`, `warning: …`, `error: …`). The one module, with
//! main.rs, that prints; the commands say what to print through it.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_macros)]

use std::io::{IsTerminal, Write};
use std::path::Path;

use crate::report::Format;

/// A line of the run's own account: `budget: LINE`.
pub fn say(line: &str) {
    eprintln!("budget: {line}");
}

/// `warning: MESSAGE`: something did not work and the run goes on.
pub fn warn(message: &str) {
    eprintln!("warning: {message}");
}

/// `error: MESSAGE`: the command could not do its job.
pub fn error(message: &str) {
    eprintln!("error: {message}");
}

/// Colour only for the table, on a terminal, unless `NO_COLOR` says no
/// (`CLICOLOR_FORCE` says yes).
pub fn use_color(format: Format, to_file: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    if format != Format::Table || to_file || set("NO_COLOR") {
        return false;
    }
    set("CLICOLOR_FORCE") || std::io::stdout().is_terminal()
}

/// Writes the report to `output`, or to stdout.
pub fn write_report(text: &str, output: Option<&Path>) -> Result<(), String> {
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
