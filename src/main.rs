//! The `keria` executable: parses the command line and runs the chosen subcommand.

use std::process::ExitCode as StdExitCode;

use keria::cli::{Cli, Command};
use keria::exit_code::ExitCode;

fn main() -> StdExitCode {
    let cli = Cli::parse_args();
    let outcome = match cli.command {
        Command::Start(args) => keria::start::run(args),
        Command::Status(args) => keria::status::run(&args),
        Command::Boot(args) => keria::boot_command::run(&args),
    };
    match outcome {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("keria: error: {err:#}");
            ExitCode::Failure.into()
        }
    }
}
