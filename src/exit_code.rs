//! The exit statuses of every subcommand, in one place.

use std::process::ExitCode as StdExitCode;

/// What `keria` returns to its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// A graceful stop, a healthy agency, a created agent.
    Success,
    /// Any failure, including a stop that outlived `--shutdown-timeout`.
    Failure,
    /// `status`: not running, but its pid file is left behind.
    DeadWithPidFile,
    /// `status`: not running; `boot`: the agency cannot be reached.
    NotRunning,
    /// `status`: the agency answered, but not healthy (stopping) or not as keria.
    Unknown,
    /// `boot`: an agent already exists for this controller.
    AlreadyExists,
    /// Interrupted by a signal before finishing (128 + the signal number).
    Signal(i32),
}

impl ExitCode {
    /// The numeric status the process exits with.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure | Self::DeadWithPidFile => 1,
            Self::NotRunning => 3,
            Self::Unknown => 4,
            Self::AlreadyExists => 5,
            Self::Signal(n) => u8::try_from(128 + n).unwrap_or(u8::MAX),
        }
    }
}

impl From<ExitCode> for StdExitCode {
    fn from(code: ExitCode) -> Self {
        StdExitCode::from(code.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode;

    #[test]
    fn codes_are_the_documented_ones() {
        assert_eq!(ExitCode::Success.code(), 0);
        assert_eq!(ExitCode::Failure.code(), 1);
        assert_eq!(ExitCode::DeadWithPidFile.code(), 1);
        assert_eq!(ExitCode::NotRunning.code(), 3);
        assert_eq!(ExitCode::Unknown.code(), 4);
        assert_eq!(ExitCode::AlreadyExists.code(), 5);
        assert_eq!(ExitCode::Signal(15).code(), 143);
        assert_eq!(ExitCode::Signal(2).code(), 130);
    }
}
