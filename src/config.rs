//! The validated configuration of `keria start`, built from the parsed flags.
//!
//! Tests build a `StartConfig` directly, without argv.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use log::LevelFilter;
use serde_json::Value;

use crate::agency::{self, Urls};
use crate::api::{self, BootCredentials};
use crate::arg_values::{url_list, UrlList};
use crate::cli::StartArgs;
use crate::server::http::{Limits, DEFAULT_LIMITS};

/// TLS files, all three ports.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub key: PathBuf,
    pub cert: PathBuf,
    pub ca: Option<PathBuf>,
}

/// Everything `start` needs, checked.
#[derive(Debug, Clone)]
pub struct StartConfig {
    pub admin_port: u16,
    pub http_port: u16,
    pub boot_port: u16,
    /// The address the three ports listen on.
    pub host: IpAddr,
    pub name: String,
    pub base: String,
    pub passcode: Option<String>,
    /// The parsed `<config-dir>/keri/cf/<config-file>.json`, when given.
    pub file_config: Option<Value>,
    pub tls: Option<TlsFiles>,
    pub log_level: LevelFilter,
    pub log_file: Option<PathBuf>,
    pub log_format: crate::process::logging::LogFormat,
    pub log_requests: bool,
    pub boot_credentials: Option<BootCredentials>,
    pub data_dir: PathBuf,
    /// The folder `POST /backup` writes into; none refuses backups.
    pub backup_dir: Option<PathBuf>,
    pub tock: Duration,
    pub shutdown_timeout: Duration,
    pub release_timeout: Duration,
    pub signature_window: Duration,
    pub cors: bool,
    pub urls: Urls,
    /// Where each list of `urls` came from, for the log.
    pub url_sources: Vec<String>,
    pub limits: Limits,
    pub max_connections: usize,
    pub header_timeout: Duration,
    /// Longest an OOBI fetch may take.
    pub fetch_timeout: Duration,
    /// Longest an event's witnesses may take to receipt it to its threshold.
    pub receipt_timeout: Duration,
    /// Bound of the agency store's page cache, in bytes.
    pub store_cache: usize,
}

impl TryFrom<StartArgs> for StartConfig {
    type Error = anyhow::Error;

    /// Checks what each flag's parser cannot: how the flags go together, and the files.
    fn try_from(mut args: StartArgs) -> Result<Self> {
        let ports = [args.ports.admin, args.ports.http, args.ports.boot];
        for (i, a) in ports.iter().enumerate() {
            if *a != 0 && ports[i + 1..].contains(a) {
                bail!("the admin, http and boot ports must differ (port {a} is given twice)");
            }
        }
        let file_config = match (&args.config_dir, &args.config_file) {
            (_, None) => None,
            (dir, Some(file)) => Some(read_file_config(dir.as_deref(), file)?),
        };
        let file_urls = file_config
            .as_ref()
            .map(|config| FileUrls::new(config, &args.name));
        let mut url_sources = Vec::new();
        let urls = Urls {
            curls: pick_urls(
                args.curls.take(),
                "curls",
                file_urls.as_ref(),
                &mut url_sources,
            )?,
            iurls: pick_urls(
                args.iurls.take(),
                "iurls",
                file_urls.as_ref(),
                &mut url_sources,
            )?,
            durls: pick_urls(
                args.durls.take(),
                "durls",
                file_urls.as_ref(),
                &mut url_sources,
            )?,
        };
        let tls = match (args.keypath, args.certpath) {
            (Some(key), Some(cert)) => Some(TlsFiles {
                key,
                cert,
                ca: args.cafilepath,
            }),
            _ => None,
        };
        let boot_credentials = match (
            args.boot_auth.experimental_boot_username,
            args.boot_auth.experimental_boot_password,
        ) {
            (Some(username), Some(password)) => Some(BootCredentials { username, password }),
            _ => None,
        };
        let data_dir = match args.data_dir {
            Some(dir) => dir,
            None => default_data_dir()?,
        };
        Ok(Self {
            admin_port: args.ports.admin,
            http_port: args.ports.http,
            boot_port: args.ports.boot,
            host: args.host,
            name: args.name,
            base: args.base.unwrap_or_default(),
            passcode: args.passcode,
            file_config,
            tls,
            log_level: args.loglevel,
            log_file: args.logfile,
            log_format: args.log_format,
            log_requests: args.logrequests,
            boot_credentials,
            data_dir,
            backup_dir: args.backup_dir,
            tock: args.tock.0,
            shutdown_timeout: args.shutdown_timeout.0,
            release_timeout: args.release_timeout.0,
            signature_window: args.signature_window.0,
            cors: args.cors,
            urls,
            url_sources,
            limits: Limits {
                max_body: args.max_body,
                ..DEFAULT_LIMITS
            },
            max_connections: args.max_connections,
            header_timeout: args.header_timeout.0,
            fetch_timeout: Duration::from_secs(args.fetch_timeout),
            receipt_timeout: Duration::from_secs(args.receipt_timeout),
            store_cache: args
                .store_cache
                .checked_mul(1 << 20)
                .context("--store-cache is too large")?,
        })
    }
}

impl StartConfig {
    /// What the agency is opened with.
    pub fn agency(&self) -> agency::Settings {
        agency::Settings {
            data_dir: self.data_dir.clone(),
            base: self.base.clone(),
            name: self.name.clone(),
            store_cache: self.store_cache,
            passcode: self.passcode.clone(),
            urls: self.urls.clone(),
            release_timeout: self.release_timeout,
        }
    }

    /// How the API answers.
    pub fn api(&self) -> api::Settings {
        api::Settings {
            cors: self.cors,
            log_requests: self.log_requests,
            boot_credentials: self.boot_credentials.clone(),
            signature_window: self.signature_window,
            receipt_timeout: self.receipt_timeout,
        }
    }
}

/// `$XDG_DATA_HOME/keria`, else `$HOME/.local/share/keria`.
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|dir| !dir.is_empty()) {
        return Ok(PathBuf::from(dir).join("keria"));
    }
    let home = std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .context("no --data-dir, KERIA_DATA_DIR, XDG_DATA_HOME or HOME to put the stores in")?;
    Ok(PathBuf::from(home).join(".local/share/keria"))
}

/// Reads KERIA's JSON configuration from `<dir>/keri/cf/<file>.json`.
fn read_file_config(dir: Option<&Path>, file: &str) -> Result<Value> {
    let dir = dir.map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let path = dir.join("keri/cf").join(format!("{file}.json"));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading configuration {}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("parsing configuration {}", path.display()))?;
    if !value.is_object() {
        bail!("configuration {} must hold a JSON object", path.display());
    }
    Ok(value)
}

/// KERIA's configuration file: the lists in the section named after `--name`, else at the top.
struct FileUrls<'v> {
    config: &'v Value,
    section: &'v str,
}

impl<'v> FileUrls<'v> {
    fn new(config: &'v Value, section: &'v str) -> Self {
        Self { config, section }
    }

    /// The list `kind`, and where in the file it was found.
    fn get(&self, kind: &str) -> Option<(&'v Value, String)> {
        if let Some(list) = self
            .config
            .get(self.section)
            .and_then(|section| section.get(kind))
        {
            return Some((
                list,
                format!("the configuration file's \"{}\" section", self.section),
            ));
        }
        self.config
            .get(kind)
            .map(|list| (list, "the configuration file".to_owned()))
    }
}

/// The URL list `kind`: from its flag or variable when given, else from the configuration
/// file, else none; `sources` says which.
fn pick_urls(
    flag: Option<UrlList>,
    kind: &str,
    file: Option<&FileUrls<'_>>,
    sources: &mut Vec<String>,
) -> Result<Vec<String>> {
    if let Some(UrlList(urls)) = flag {
        let variable = format!("KERIA_{}", kind.to_ascii_uppercase());
        sources.push(format!("{kind} from --{kind} or {variable}"));
        return Ok(urls);
    }
    let Some((list, place)) = file.and_then(|file| file.get(kind)) else {
        sources.push(format!("{kind}: none configured"));
        return Ok(Vec::new());
    };
    let Some(entries) = list.as_array().and_then(|entries| {
        entries
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<&str>>>()
    }) else {
        bail!("{kind} in {place} must be a list of URL strings");
    };
    sources.push(format!("{kind} from {place}"));
    let UrlList(urls) =
        url_list(&entries.join(";")).map_err(|err| anyhow!("{kind} in {place}: {err}"))?;
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::StartConfig;
    use crate::cli::{Cli, Command};

    fn config(args: &[&str]) -> anyhow::Result<StartConfig> {
        let mut command_line = vec!["keria", "start", "--data-dir", "/tmp/keria-test"];
        command_line.extend_from_slice(args);
        let Command::Start(start) = Cli::try_parse_from(command_line)?.command else {
            unreachable!()
        };
        StartConfig::try_from(start)
    }

    #[test]
    fn defaults_are_keria_s() {
        let config = config(&[]).unwrap();
        assert_eq!(
            (config.admin_port, config.http_port, config.boot_port),
            (3901, 3902, 3903)
        );
        assert_eq!(config.name, "keria");
        assert_eq!(config.tock, std::time::Duration::from_micros(31_250));
        assert_eq!(config.release_timeout.as_secs(), 86_400);
        assert_eq!(config.limits.max_body, 1 << 20);
    }

    #[test]
    fn bad_combinations_are_refused() {
        assert!(config(&["-a", "4000", "-B", "4000"])
            .unwrap_err()
            .to_string()
            .contains("must differ"));
        assert!(config(&["-p", "short"])
            .unwrap_err()
            .to_string()
            .contains("at least 21"));
        assert!(config(&["--tock", "0"]).is_err());
        assert!(config(&["--name", "../x"]).is_err());
        assert!(
            config(&["--config-file", "missing", "--config-dir", "/nonexistent"])
                .unwrap_err()
                .to_string()
                .contains("keri/cf/missing.json")
        );
    }
}
