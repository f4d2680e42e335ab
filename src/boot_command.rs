//! `keria boot`: provisions an agent from a shell, as a Signify client would.

use anyhow::{bail, Result};

use crate::cli::BootArgs;
use crate::exit_code::ExitCode;

/// Runs `keria boot`.
pub fn run(_args: &BootArgs) -> Result<ExitCode> {
    bail!("keria boot is not available in this build")
}
