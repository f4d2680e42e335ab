//! The command line: the clap tree of `keria` (`start`, `boot`, `status`, `backup`, `restore`).
//!
//! Every flag, its environment fallback and its default live here and nowhere else;
//! `config.rs` turns the parsed flags into a validated configuration.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use log::LevelFilter;
use url::Url;

use crate::arg_values::{
    self, agency_url, backup_name, plain_name, positive_count, positive_seconds, url_list, Seconds,
    UrlList,
};
use crate::process::logging::LogFormat;
use crate::server::http::DEFAULT_LIMITS;

const START_AFTER_HELP: &str = "\
Signals:
  SIGTERM, SIGINT   stop gracefully: /health answers 503, listeners close, requests not
                    wholly received are dropped, responses in flight get up to 1 s,
                    every agent and store closes, exit 0
  second SIGTERM/SIGINT during the stop
                    exit at once with 128+n (143 for SIGTERM, 130 for SIGINT)
  SIGHUP            reopen --logfile (for logrotate); ignored if it was ignored at start

Exit status:
  0    graceful stop
  1    failure (bad configuration, a port that cannot be bound, a held data-dir lock,
       or --shutdown-timeout passed during the stop)
  2    usage error
  128+n  the exit forced by a second signal n

Environment:
  KERIA_HOST        address the three ports listen on (default 0.0.0.0, all interfaces)
  KERI_AGENT_CORS   1/true/yes/on or 0/false/no/off: the same as --cors, or not
  KERIA_RELEASER_TIMEOUT  the same as --release-timeout
  KERIA_CURLS, KERIA_IURLS, KERIA_DURLS  ';'-separated URLs kept in each agent's configuration
  NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID  systemd's notify protocol
  RUST_LOG          overrides --loglevel with env_logger's filter syntax
  KERIA_LOG_FORMAT  text or json: the same as --log-format
  JOURNAL_STREAM    set by systemd: when it names keria's stderr, lines carry a syslog
                    priority prefix (<3> error, <4> warning, <6> info, <7> debug) and no
                    timestamp of keria's own

Files:
  <data-dir>                              locked (flock) while the agency runs; must be 0700
  <data-dir>/keria.pid                    the pid of the agency holding the lock
  <data-dir>/keri/adb/<base>/<name>.redb  the agency store (every agent, one file)";

const STATUS_AFTER_HELP: &str = "\
Exit status, as LSB init scripts:
  0    running and healthy
  1    not running, but its pid file is left in the data dir (killed, not stopped)
  3    not running
  4    unknown: stopping, or the answer is not keria's";

const BOOT_AFTER_HELP: &str = "\
Exit status:
  0    agent created (or already there, with --if-missing)
  1    failure
  3    agency not reachable
  5    an agent already exists for this controller
  130  interrupted (Ctrl-C)

Environment:
  SIGNIFY_PASSCODE  the controller's passcode, when neither --passcode-file, --passcode nor
                    --generate is given";

const BACKUP_AFTER_HELP: &str = "\
A running agency writes the copy itself (POST /backup on its boot port) from one read
transaction, into the folder it was started with (--backup-dir): every boot acknowledged before
the backup began is in it. NAME is a file name in that folder, never a path. When no agency
answers and none holds the data dir, keria copies the store itself under the data-dir lock, into
this command's --backup-dir (or KERIA_BACKUP_DIR).

Exit status:
  0    backup written
  1    failure (refused, or the copy failed; nothing is left under FILE's name)
  3    no agency answers, but one holds the data dir's lock
  5    NAME already exists in the backup folder (--force replaces it)";

const RESTORE_AFTER_HELP: &str = "\
Puts a backup in place as the agency store of --data-dir (with --name and --base as start's).
Refuses a data dir that an agency holds and an existing store; the copy is written beside the
store, made durable and then named, 0600 in a 0700 folder. Start the agency with the passcode
the backed-up agency used, if any.

Exit status:
  0    restored
  1    failure: the data dir is in use, a store is already there, or FILE is not a keria store";

const MAIN_AFTER_HELP: &str = "\
Run keria start --help for the agency's options, signals and exit codes.

Signals (keria start):
  SIGTERM, SIGINT   stop gracefully and exit 0; a second one during the stop exits 128+n
  SIGHUP            reopen --logfile

Exit status:
  0 success; 1 failure; 2 usage error; 3 not running or not reachable (status, boot, backup);
  4 unknown (status); 5 agent already exists (boot), FILE exists (backup); 128+n forced by
  signal n

Environment:
  KERIA_ADMIN_PORT, KERIA_HTTP_PORT, KERIA_BOOT_PORT, KERIA_HOST, KERIA_DATA_DIR,
  KERIA_PASSCODE, KERIA_LOG_LEVEL, KERIA_LOG_FORMAT, KERIA_EXPERIMENTAL_BOOT_USERNAME,
  KERIA_EXPERIMENTAL_BOOT_PASSWORD, KERIA_BACKUP_DIR,
  KERI_AGENT_CORS, KERIA_RELEASER_TIMEOUT, KERIA_CURLS, KERIA_IURLS, KERIA_DURLS,
  SIGNIFY_PASSCODE (boot), JOURNAL_STREAM, NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID, RUST_LOG

Files:
  <data-dir>/keria.pid                  pid of the running agency (the data dir is its lock)
  <data-dir>/keri/adb/<base>/<name>.redb  the agency store (every agent, one file)";

/// KERI Agent in the cloud: hosts one agent per Signify controller.
#[derive(Debug, Parser)]
#[command(
    name = "keria",
    version,
    propagate_version = true,
    disable_help_subcommand = true,
    after_long_help = MAIN_AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once, never moved in a hot path"
)]
pub enum Command {
    /// Run the agency: admin, http and boot servers until a signal stops it.
    #[command(after_long_help = START_AFTER_HELP)]
    Start(StartArgs),
    /// Provision an agent for a Signify controller derived from a passcode.
    #[command(after_long_help = BOOT_AFTER_HELP)]
    Boot(BootArgs),
    /// Ask a running agency for its health; exit codes as LSB init scripts.
    #[command(after_long_help = STATUS_AFTER_HELP)]
    Status(StatusArgs),
    /// Write a consistent copy of the agency store to FILE, while it runs or not.
    #[command(after_long_help = BACKUP_AFTER_HELP)]
    Backup(BackupArgs),
    /// Put a backup in place as the agency store of a data dir where no agency runs.
    #[command(after_long_help = RESTORE_AFTER_HELP)]
    Restore(RestoreArgs),
}

/// The admin port when none is given.
pub const DEFAULT_ADMIN_PORT: u16 = 3901;
/// The KERI ingress port when none is given.
pub const DEFAULT_HTTP_PORT: u16 = 3902;
/// The boot port when none is given.
pub const DEFAULT_BOOT_PORT: u16 = 3903;
/// The agency's keystore name when none is given.
pub const DEFAULT_NAME: &str = "keria";
/// The log level when none is given.
pub const DEFAULT_LOG_LEVEL: &str = "INFO";
/// The log format when none is given.
pub const DEFAULT_LOG_FORMAT: LogFormat = LogFormat::Text;
/// The run loop's tick.
pub const DEFAULT_TOCK: Seconds = Seconds::from_micros(31_250);
/// How long the graceful stop may take.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Seconds = Seconds::from_secs(5);
/// How long an idle agent stays loaded.
pub const DEFAULT_RELEASE_TIMEOUT: Seconds = Seconds::from_secs(86_400);
/// How far a signed request's `created` may be from the server clock.
pub const DEFAULT_SIGNATURE_WINDOW: Seconds = Seconds::from_secs(300);
/// Most connections open at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// How long a client may take to send a whole request.
pub const DEFAULT_HEADER_TIMEOUT: Seconds = Seconds::from_secs(10);

/// The three ports, shared by every subcommand that talks to an agency.
#[derive(Debug, Clone, Args)]
pub struct PortArgs {
    /// Admin port (the signed Signify API).
    #[arg(
        short = 'a',
        long = "admin-http-port",
        env = "KERIA_ADMIN_PORT",
        default_value_t = DEFAULT_ADMIN_PORT
    )]
    pub admin: u16,
    /// KERI message ingress port.
    #[arg(
        short = 'H',
        long = "http",
        env = "KERIA_HTTP_PORT",
        default_value_t = DEFAULT_HTTP_PORT
    )]
    pub http: u16,
    /// Boot port (POST /boot, GET /health); keep it private.
    #[arg(
        short = 'B',
        long = "boot",
        env = "KERIA_BOOT_PORT",
        default_value_t = DEFAULT_BOOT_PORT
    )]
    pub boot: u16,
}

/// Basic-auth credentials for the boot port.
#[derive(Debug, Clone, Args)]
pub struct BootAuthArgs {
    /// Username required on POST /boot (HTTP Basic auth).
    #[arg(
        long,
        env = "KERIA_EXPERIMENTAL_BOOT_USERNAME",
        requires = "experimental_boot_password"
    )]
    pub experimental_boot_username: Option<String>,
    /// Password required on POST /boot (HTTP Basic auth).
    #[arg(
        long,
        env = "KERIA_EXPERIMENTAL_BOOT_PASSWORD",
        hide_env_values = true,
        requires = "experimental_boot_username"
    )]
    pub experimental_boot_password: Option<String>,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub ports: PortArgs,
    /// Address the three ports listen on (IPv4 or IPv6; :: or 0.0.0.0 for all interfaces).
    #[arg(
        long,
        env = "KERIA_HOST",
        default_value = "0.0.0.0",
        value_parser = clap::value_parser!(IpAddr),
        value_name = "ADDRESS"
    )]
    pub host: IpAddr,
    /// Name of the agency's keystore.
    #[arg(short = 'n', long, default_value = DEFAULT_NAME, value_parser = plain_name)]
    pub name: String,
    /// Extra path segment between the data dir and the keystores.
    #[arg(short = 'b', long, value_parser = plain_name)]
    pub base: Option<String>,
    /// Passcode that encrypts agent secrets at rest (21+ characters; never logged or stored).
    #[arg(
        short = 'p',
        long,
        env = "KERIA_PASSCODE",
        hide_env_values = true,
        value_parser = arg_values::passcode
    )]
    pub passcode: Option<String>,
    /// Directory holding keri/cf/<config-file>.json.
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Name of the JSON configuration file (without .json).
    #[arg(long, value_name = "NAME", value_parser = plain_name)]
    pub config_file: Option<String>,
    /// TLS private key (PEM); with --certpath, serves every port over TLS.
    #[arg(long, value_name = "FILE", requires = "certpath")]
    pub keypath: Option<PathBuf>,
    /// TLS certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "keypath")]
    pub certpath: Option<PathBuf>,
    /// CA certificates (PEM); when given, clients must present a certificate it signed.
    #[arg(long, value_name = "FILE", requires = "keypath")]
    pub cafilepath: Option<PathBuf>,
    /// Log level: DEBUG, INFO, WARNING, ERROR, CRITICAL (or trace, debug, info, warn, error, off).
    #[arg(
        long,
        env = "KERIA_LOG_LEVEL",
        default_value = DEFAULT_LOG_LEVEL,
        value_parser = arg_values::log_level
    )]
    pub loglevel: LevelFilter,
    /// Append the log to this file instead of stderr; SIGHUP reopens it.
    #[arg(long, value_name = "FILE")]
    pub logfile: Option<PathBuf>,
    /// Log lines as text, or as one JSON object per line (time, level, target, message).
    #[arg(long, env = "KERIA_LOG_FORMAT", value_enum, default_value_t = DEFAULT_LOG_FORMAT)]
    pub log_format: LogFormat,
    /// Log every HTTP request (method, path, status, duration).
    #[arg(long)]
    pub logrequests: bool,
    #[command(flatten)]
    pub boot_auth: BootAuthArgs,
    /// Root of every store (default: $XDG_DATA_HOME/keria or ~/.local/share/keria).
    #[arg(long, env = "KERIA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder POST /backup writes into (created 0700 if missing); without it, backups are refused.
    #[arg(long, env = "KERIA_BACKUP_DIR", value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Seconds between two ticks of the run loop.
    #[arg(long, default_value_t = DEFAULT_TOCK, value_name = "SECONDS", value_parser = positive_seconds)]
    pub tock: Seconds,
    /// Seconds the graceful stop may take before keria gives up and exits 1.
    #[arg(
        long,
        default_value_t = DEFAULT_SHUTDOWN_TIMEOUT,
        value_name = "SECONDS",
        value_parser = positive_seconds
    )]
    pub shutdown_timeout: Seconds,
    /// Seconds an idle agent stays loaded before it is released.
    #[arg(
        long,
        env = "KERIA_RELEASER_TIMEOUT",
        default_value_t = DEFAULT_RELEASE_TIMEOUT,
        value_name = "SECONDS",
        value_parser = positive_seconds
    )]
    pub release_timeout: Seconds,
    /// Answer CORS requests and expose the signature headers.
    #[arg(
        long,
        env = "KERI_AGENT_CORS",
        action = ArgAction::SetTrue,
        value_parser = BoolishValueParser::new()
    )]
    pub cors: bool,
    /// Controller URLs (';'-separated) kept in each agent's configuration.
    #[arg(long, env = "KERIA_CURLS", value_name = "URLS", value_parser = url_list)]
    pub curls: Option<UrlList>,
    /// Introduction OOBI URLs (';'-separated) kept in each agent's configuration.
    #[arg(long, env = "KERIA_IURLS", value_name = "URLS", value_parser = url_list)]
    pub iurls: Option<UrlList>,
    /// Data OOBI URLs (';'-separated): credential schemas resolved at start for every agent.
    #[arg(long, env = "KERIA_DURLS", value_name = "URLS", value_parser = url_list)]
    pub durls: Option<UrlList>,
    /// Seconds a signed request's "created" may differ from the server clock.
    #[arg(
        long,
        default_value_t = DEFAULT_SIGNATURE_WINDOW,
        value_name = "SECONDS",
        value_parser = positive_seconds
    )]
    pub signature_window: Seconds,
    /// Largest request body accepted, in bytes (413 above).
    #[arg(
        long,
        default_value_t = DEFAULT_LIMITS.max_body,
        value_name = "BYTES",
        value_parser = positive_count
    )]
    pub max_body: usize,
    /// Most connections open at once. The boot port keeps a quarter of them (at most 64) for
    /// itself, so /health answers while admin and http, which share the rest, are full; a full
    /// port closes its longest-idle kept-alive connection, else answers a fast 503.
    #[arg(
        long,
        default_value_t = DEFAULT_MAX_CONNECTIONS,
        value_name = "N",
        value_parser = positive_count
    )]
    pub max_connections: usize,
    /// Seconds a client may take to send a request's headers and body before it is closed.
    #[arg(
        long,
        default_value_t = DEFAULT_HEADER_TIMEOUT,
        value_name = "SECONDS",
        value_parser = positive_seconds
    )]
    pub header_timeout: Seconds,
    /// Seconds an OOBI fetch (connect, request and whole answer) may take before it fails.
    #[arg(
        long,
        default_value_t = crate::process::fetcher::DEFAULT_DEADLINE_SECONDS,
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "SECONDS"
    )]
    pub fetch_timeout: u64,
    /// Seconds an event's witnesses have to receipt it to its threshold before its operation
    /// fails (408, naming the missing witnesses).
    #[arg(
        long,
        default_value_t = crate::agency::receipting::DEFAULT_DEADLINE_SECONDS,
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "SECONDS"
    )]
    pub receipt_timeout: u64,
    /// Most memory the agency store's page cache may hold, in MiB.
    #[arg(long, default_value_t = crate::store::DEFAULT_CACHE_MIB, value_name = "MIB", value_parser = positive_count)]
    pub store_cache: usize,
}

/// How `status` and `boot` speak TLS to an agency started with --keypath/--certpath.
#[derive(Debug, Clone, Args)]
pub struct ClientTlsArgs {
    /// The agency's certificate (PEM), as given to start: use https and accept exactly it.
    #[arg(long, value_name = "FILE")]
    pub certpath: Option<PathBuf>,
    /// CA certificates (PEM) that signed the agency's certificate: use https and verify it.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Client certificate chain (PEM), for an agency started with --cafilepath.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
}

impl ClientTlsArgs {
    /// Whether a certificate to trust was given, so the default URL is https.
    pub fn uses_tls(&self) -> bool {
        self.certpath.is_some() || self.cacert.is_some()
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub ports: PortArgs,
    #[command(flatten)]
    pub tls: ClientTlsArgs,
    /// Base URL of the boot port to ask for /health, instead of http(s)://127.0.0.1:<boot>.
    #[arg(long, value_parser = agency_url)]
    pub url: Option<Url>,
    /// Data dir whose pid file tells "killed" from "not running".
    #[arg(long, env = "KERIA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print one JSON object instead of a line.
    #[arg(long)]
    pub json: bool,
    /// Poll until healthy for up to this many seconds.
    #[arg(long, value_name = "SECONDS", value_parser = arg_values::seconds_or_zero)]
    pub wait: Option<Seconds>,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// File name of the copy in the backup folder (a new file, unless --force); never a path.
    #[arg(value_name = "NAME", value_parser = backup_name)]
    pub file: String,
    /// The backup folder, when no agency answers and keria copies the store itself (a running
    /// agency writes into its own --backup-dir).
    #[arg(long, env = "KERIA_BACKUP_DIR", value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub ports: PortArgs,
    #[command(flatten)]
    pub tls: ClientTlsArgs,
    /// Base URL of the boot port to POST /backup to, instead of http(s)://127.0.0.1:<boot>.
    #[arg(long, value_parser = agency_url)]
    pub url: Option<Url>,
    #[command(flatten)]
    pub boot_auth: BootAuthArgs,
    /// Data dir whose store is copied when no agency answers.
    #[arg(long, env = "KERIA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Name of the agency's keystore (when no agency answers).
    #[arg(short = 'n', long, default_value = DEFAULT_NAME, value_parser = plain_name)]
    pub name: String,
    /// Extra path segment between the data dir and the keystores (when no agency answers).
    #[arg(short = 'b', long, value_parser = plain_name)]
    pub base: Option<String>,
    /// Print one JSON object instead of a line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore (written by keria backup).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Data dir to restore into (default: $XDG_DATA_HOME/keria or ~/.local/share/keria).
    #[arg(long, env = "KERIA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Name of the agency's keystore.
    #[arg(short = 'n', long, default_value = DEFAULT_NAME, value_parser = plain_name)]
    pub name: String,
    /// Extra path segment between the data dir and the keystores.
    #[arg(short = 'b', long, value_parser = plain_name)]
    pub base: Option<String>,
}

#[derive(Debug, Args)]
pub struct BootArgs {
    #[command(flatten)]
    pub ports: PortArgs,
    #[command(flatten)]
    pub tls: ClientTlsArgs,
    /// Base URL of the boot port to POST /boot to, instead of http(s)://127.0.0.1:<boot>.
    #[arg(long, value_parser = agency_url)]
    pub url: Option<Url>,
    #[command(flatten)]
    pub boot_auth: BootAuthArgs,
    /// Read the passcode from this file (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "generate")]
    pub passcode_file: Option<PathBuf>,
    /// The passcode itself (visible to other users in the process list; prefer
    /// --passcode-file). From SIGNIFY_PASSCODE, it gives way to --passcode-file and --generate.
    #[arg(long, env = "SIGNIFY_PASSCODE", hide_env_values = true)]
    pub passcode: Option<String>,
    /// Generate a random 21-character passcode and print it once.
    #[arg(long)]
    pub generate: bool,
    /// Key-stretching tier Signify uses for the controller keys.
    #[arg(long, value_enum, default_value_t = TierArg::Low)]
    pub tier: TierArg,
    /// Exit 0 when an agent already exists for this controller, printing it.
    #[arg(long)]
    pub if_missing: bool,
    /// Print one JSON object instead of a line.
    #[arg(long)]
    pub json: bool,
    /// Set when the passcode came from the command line rather than the environment.
    #[arg(skip)]
    pub passcode_on_command_line: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TierArg {
    Low,
    Med,
    High,
}

impl Cli {
    /// Parses the process arguments (exits with status 2 on a usage error).
    pub fn parse_args() -> Self {
        let matches = Self::command().get_matches();
        let mut cli = match Self::from_arg_matches(&matches) {
            Ok(cli) => cli,
            Err(err) => err.exit(),
        };
        if let Command::Boot(boot) = &mut cli.command {
            boot.passcode_on_command_line = matches
                .subcommand_matches("boot")
                .and_then(|m| m.value_source("passcode"))
                == Some(ValueSource::CommandLine);
            // The explicit source wins: SIGNIFY_PASSCODE gives way to --passcode-file and
            // --generate, while --passcode on the command line conflicts with them.
            if boot.passcode_file.is_some() || boot.generate {
                if boot.passcode_on_command_line {
                    let other = if boot.generate {
                        "--generate"
                    } else {
                        "--passcode-file <FILE>"
                    };
                    Self::command()
                        .error(
                            ErrorKind::ArgumentConflict,
                            format!("the argument '--passcode <PASSCODE>' cannot be used with '{other}'"),
                        )
                        .exit();
                }
                boot.passcode = None;
            }
            if let Some(Err(message)) = boot.passcode.as_deref().map(arg_values::passcode) {
                Self::command()
                    .error(
                        ErrorKind::ValueValidation,
                        format!("invalid value for '--passcode <PASSCODE>': {message}"),
                    )
                    .exit();
            }
        }
        cli
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
