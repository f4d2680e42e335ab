//! The running service: the poll, the agency, the fetcher and the three servers, opened and
//! closed in order.
//!
//! `Service::open` opens the agency (and its store), starts the fetcher's workers and then binds
//! the servers; `close` undoes that in reverse: servers first, then the fetcher (within the
//! shutdown deadline), then the agency, whose agents close last-opened first.

use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mio::{Events, Interest, Poll, Token};

use crate::agency::Agency;
use crate::api::{Api, Backups};
use crate::config::{StartConfig, Urls};
use crate::process::fetcher::{FetchLimits, Fetcher};
use crate::process::logging::LogFile;
use crate::process::notify::Notifier;
use crate::process::signals::Signals;
use crate::server::http::Request;
use crate::server::{tls, Port, ServerSettings, Servers};
use crate::store::copy;

/// The poll token of the signal wake-up pipe.
const SIGNAL: Token = Token(8);
/// The poll token of the fetcher's waker (the servers own 0..3 and 16 up).
const FETCH: Token = Token(9);
/// The poll token of the backup worker's waker.
const BACKUP: Token = Token(10);

/// Everything the run loop drives.
pub struct Service {
    poll: Poll,
    events: Events,
    signals: Signals,
    notifier: Notifier,
    log_file: Option<LogFile>,
    api: Api,
    agency: Agency,
    fetcher: Fetcher,
    servers: Servers,
    shutdown_timeout: Duration,
    /// When the stop must be over: set by `begin_stop`.
    stop_deadline: Option<Instant>,
}

impl Service {
    /// Opens the agency, binds the servers and tells the service manager it is ready.
    pub fn open(
        config: &StartConfig,
        mut signals: Signals,
        mut notifier: Notifier,
        log_file: Option<LogFile>,
    ) -> Result<Self> {
        let poll = Poll::new().context("creating the poll")?;
        poll.registry()
            .register(signals.wake_source(), SIGNAL, Interest::READABLE)
            .context("watching for signals")?;
        let tls = match &config.tls {
            Some(files) => Some(tls::server_config(
                &files.key,
                &files.cert,
                files.ca.as_deref(),
            )?),
            None => None,
        };
        let agency = Agency::open(config)?;
        let fetcher = match Fetcher::new(
            poll.registry(),
            FETCH,
            FetchLimits::default().with_deadline(config.fetch_timeout),
        ) {
            Ok(fetcher) => fetcher,
            Err(err) => {
                if let Err(close_err) = agency.close(&mut Vec::new()) {
                    log::error!("closing the agency after a failed start: {close_err:#}");
                }
                return Err(err);
            }
        };
        let settings = ServerSettings {
            host: config.host,
            admin: config.admin_port,
            http: config.http_port,
            boot: config.boot_port,
            tls,
            limits: config.limits,
            header_timeout: config.header_timeout,
            max_connections: config.max_connections,
        };
        let backup_folder = config
            .backup_dir
            .as_deref()
            .map(|folder| copy::prepare_backup_folder(folder, &config.data_dir))
            .transpose();
        let (backups, servers) = match backup_folder
            .and_then(|folder| Backups::new(poll.registry(), BACKUP, folder))
            .and_then(|backups| Ok((backups, Servers::bind(settings, poll.registry())?)))
        {
            Ok(opened) => opened,
            Err(err) => {
                if let Err(close_err) = fetcher.close(Instant::now() + config.shutdown_timeout) {
                    log::error!("closing the fetcher after a failed start: {close_err:#}");
                }
                if let Err(close_err) = agency.close(&mut Vec::new()) {
                    log::error!("closing the agency after a failed start: {close_err:#}");
                }
                return Err(err);
            }
        };
        let ports = servers.local_ports();
        let port = |wanted: Port| {
            ports
                .iter()
                .find(|(port, _)| *port == wanted)
                .map_or(0, |(_, number)| *number)
        };
        let summary = format!(
            "admin port {}, http port {}, boot port {}",
            port(Port::Admin),
            port(Port::Http),
            port(Port::Boot)
        );
        for source in &config.url_sources {
            log::info!("OOBI URLs: {source}");
        }
        let mut api = Api::new(config, advertised(config, port(Port::Http)), backups);
        if let Err(err) = api.recover_outbox(&agency) {
            log::error!("reading the messages still to deliver: {err:#}");
        }
        let known = agency
            .known()
            .map_or_else(|err| format!("? ({err})"), |known| known.to_string());
        log::info!(
            "keria {} ready: {summary} (pid {}, {known} agents known)",
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
        );
        notifier.ready(&format!("serving on {summary}"));
        Ok(Self {
            poll,
            events: Events::with_capacity(256),
            signals,
            notifier,
            log_file,
            api,
            agency,
            fetcher,
            servers,
            shutdown_timeout: config.shutdown_timeout,
            stop_deadline: None,
        })
    }

    /// Waits up to `timeout` for I/O and serves what is ready.
    pub fn wait(&mut self, timeout: Duration) -> Result<()> {
        let timeout = if self.servers.has_resumable() || self.api.has_deferred() {
            Duration::ZERO
        } else {
            timeout
        };
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(err) => return Err(err).context("waiting for I/O"),
        }
        let now = Instant::now();
        let registry = self.poll.registry();
        let mut fetched = Vec::new();
        let mut backup_ended = false;
        let (api, agency) = (&mut self.api, &mut self.agency);
        let mut handler =
            |port, request: &Request, ticket| api.handle(agency, port, request, ticket);
        for event in &self.events {
            if event.token() == SIGNAL {
                self.signals.drain_wake();
                if self.signals.take_hangup() {
                    reopen(self.log_file.as_ref());
                }
            } else if event.token() == FETCH {
                fetched.extend(self.fetcher.drain());
            } else if event.token() == BACKUP {
                backup_ended = true;
            } else if Servers::owns(event.token()) {
                self.servers.handle(registry, event, now, &mut handler);
            }
        }
        self.servers.resume(registry, now, &mut handler);
        if backup_ended {
            self.api.backup_finished();
        }
        for fetched in fetched {
            self.api.fetched(&mut self.agency, fetched);
        }
        for (id, url) in self.api.take_fetches() {
            if let Err(err) = self.fetcher.submit(id, url) {
                self.api
                    .fetch_refused(&mut self.agency, id, &err.to_string());
            }
        }
        for (id, url, post) in self.api.take_posts() {
            if let Err(err) = self.fetcher.submit_post(id, url, post) {
                self.api
                    .fetch_refused(&mut self.agency, id, &err.to_string());
            }
        }
        // Group commit: every write staged in this wake-up becomes durable in one commit,
        // then the answers that waited for it go out.
        self.api.commit(&mut self.agency);
        for (ticket, response) in self.api.take_answered() {
            self.servers.complete(registry, ticket, &response);
        }
        self.api.connections(self.servers.connection_count());
        Ok(())
    }

    /// One tock: timeouts, idle agents, the watchdog.
    pub fn tick(&mut self, now: Instant) -> Result<()> {
        self.servers.tick(self.poll.registry(), now);
        self.agency.tick(now);
        self.api.tick(&self.agency, now);
        self.notifier.tick(now);
        Ok(())
    }

    /// Begins the stop: /health answers 503, STOPPING=1 is sent, the listeners close.
    pub fn begin_stop(&mut self) {
        self.stop_deadline = Some(Instant::now() + self.shutdown_timeout);
        self.api.begin_stop();
        let loaded = self.agency.loaded();
        log::info!("stopping: closing listeners, then {loaded} loaded agents");
        self.notifier
            .stopping(&format!("stopping: closing {loaded} loaded agents"));
        self.servers.begin_stop(self.poll.registry());
    }

    /// Drops the connections still open once the stop's grace for in-flight responses ends.
    pub fn end_grace(&mut self) {
        self.servers.abandon(self.poll.registry());
    }

    /// Whether every in-flight request has been answered.
    pub fn is_drained(&self) -> bool {
        self.servers.is_drained()
    }

    /// What is still open, for the log when the deadline passes.
    pub fn describe_open(&self) -> Vec<String> {
        let mut open = self.servers.describe_open();
        open.extend(self.fetcher.describe_open());
        open.extend(self.agency.describe_open());
        open
    }

    /// Closes in reverse order of opening: servers, then the fetcher (abandoning, by the stop's
    /// deadline, fetches still running), then the agency (its agents newest first, then its
    /// store). `closed` records each step as it is done.
    pub fn close(self, closed: &mut Vec<String>) -> Result<()> {
        let Self {
            poll,
            servers,
            api,
            fetcher,
            agency,
            shutdown_timeout,
            stop_deadline,
            ..
        } = self;
        servers.close(poll.registry());
        closed.push("servers".to_owned());
        // A backup still being written reads the store: it is cancelled before the store closes.
        api.close();
        let deadline = stop_deadline.unwrap_or_else(|| Instant::now() + shutdown_timeout);
        let fetcher_closed = fetcher.close(deadline);
        closed.push("fetcher".to_owned());
        let agency_closed = agency.close(closed);
        fetcher_closed.and(agency_closed)
    }
}

/// The URLs agents advertise: as configured, or, with no controller URL configured, this
/// agency's own http port on the address it listens on (loopback when it listens on all).
fn advertised(config: &StartConfig, http_port: u16) -> Urls {
    let mut urls = config.urls.clone();
    if urls.curls.is_empty() {
        let host = match config.host {
            host if host.is_unspecified() => "127.0.0.1".to_owned(),
            IpAddr::V6(host) => format!("[{host}]"),
            IpAddr::V4(host) => host.to_string(),
        };
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let curl = format!("{scheme}://{host}:{http_port}/");
        log::warn!(
            "no controller URL configured (--curls, KERIA_CURLS or the configuration file): agent OOBIs use {curl}"
        );
        urls.curls.push(curl);
    }
    urls
}

/// Reopens the log file after SIGHUP (logrotate moved the old one away).
fn reopen(log_file: Option<&LogFile>) {
    if let Some(log_file) = log_file {
        match log_file.reopen() {
            Ok(()) => log::info!("log file reopened"),
            Err(err) => log::error!("{err:#}"),
        }
    }
}
