//! The `keria` executable: parses the command line and runs the chosen subcommand.

use std::process::ExitCode as StdExitCode;

use keria::cli::{Cli, Command};
use keria::exit_code::ExitCode;
use keria::process::signals::Signals;

fn main() -> StdExitCode {
    // `start` owns its signals from the first instant, before its arguments are parsed: a
    // SIGTERM while it starts must stop it gracefully, not kill it. The short-lived `status`
    // and `boot` install their own Ctrl-C handling instead.
    let early_signals = std::env::args_os()
        .nth(1)
        .is_some_and(|command| command == "start")
        .then(Signals::install);
    let cli = Cli::parse_args();
    let outcome = match cli.command {
        Command::Start(args) => early_signals
            .unwrap_or_else(Signals::install)
            .and_then(|signals| keria::commands::start::run(args, signals)),
        Command::Status(args) => keria::commands::status::run(&args),
        Command::Boot(args) => keria::commands::boot::run(&args),
        Command::Backup(args) => keria::commands::backup::run(&args),
        Command::Restore(args) => keria::commands::restore::run(&args),
    };
    match outcome {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("keria: error: {err:#}");
            ExitCode::Failure.into()
        }
    }
}
