//! `budget`: parse the arguments, run, exit with the status.

#![allow(clippy::print_stderr, clippy::disallowed_macros)]

use std::process::ExitCode;

use clap::Parser;
use image_budget::app::{self, Exit};
use image_budget::cli::Cli;

fn main() -> ExitCode {
    app::install_panic_hook();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Error as u8);
        }
    };
    ExitCode::from(runtime.block_on(app::run(cli)) as u8)
}
