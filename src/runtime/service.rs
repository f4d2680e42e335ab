//! The running service: the poll, the agency, the worker pool and the three servers, opened and
//! closed in order.
//!
//! `Service::open` opens the agency (and its store), starts the workers and then binds the
//! servers; a failure undoes what had opened, in one place (`undo_open`). `close` undoes it all
//! in reverse: servers first, then the workers (abandoned at the shutdown deadline), then the
//! agency, whose agents close last-opened first. Work that blocks (fetches, posts, backups)
//! goes to the workers only after the commit that asked for it; outcomes come back through the
//! poll and are dispatched by their purpose (`tokens`).

use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mio::{Events, Interest, Poll};
use url::Url;

use super::tokens::{Outcome, Purpose, SIGNAL, WORKERS};

use crate::agency::resolutions::{self, Unresolved};
use crate::agency::Agency;
use crate::agency::Urls;
use crate::api::{Api, Backups};
use crate::config::StartConfig;
use crate::process::fetcher::{FetchFailure, FetchLimits, Fetcher, Post};
use crate::process::logging::LogFile;
use crate::process::notify::Notifier;
use crate::process::signals::Signals;
use crate::process::workers::{self, Work, Workers};
use crate::server::http::Request;
use crate::server::{tls, Port, ServerSettings, Servers};
use crate::store::copy;

/// Everything the run loop drives.
pub struct Service {
    poll: Poll,
    events: Events,
    signals: Signals,
    notifier: Notifier,
    log_file: Option<LogFile>,
    api: Api,
    agency: Agency,
    /// Makes the HTTP jobs (OOBI fetches, posts to other agencies) the workers run.
    fetcher: Fetcher,
    /// Everything that blocks runs here: fetches, posts, backups.
    workers: Workers<Purpose, Outcome>,
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
        let agency = Agency::open(&config.agency())?;
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
        // What opens after the agency; a failure undoes what had opened, in `undo_open`.
        let mut workers = None;
        let opened = (|| -> Result<(Backups, Servers)> {
            workers = Some(Workers::new(
                poll.registry(),
                WORKERS,
                (workers::WORKERS, workers::QUEUE),
                Outcome::Panicked,
            )?);
            let backup_folder = config
                .backup_dir
                .as_deref()
                .map(|folder| copy::prepare_backup_folder(folder, &config.data_dir))
                .transpose()?;
            let servers = Servers::bind(settings, poll.registry())?;
            Ok((Backups::new(backup_folder), servers))
        })();
        let (backups, servers, workers) = match (opened, workers) {
            (Ok((backups, servers)), Some(workers)) => (backups, servers, workers),
            (opened, workers) => {
                let err = opened
                    .err()
                    .unwrap_or_else(|| anyhow::anyhow!("no worker pool"));
                return Err(undo_open(err, workers, agency, config.shutdown_timeout));
            }
        };
        let fetcher = Fetcher::new(FetchLimits::default().with_deadline(config.fetch_timeout));
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
        let mut api = Api::new(&config.api(), advertised(config, port(Port::Http)), backups);
        api.introduce(&config.urls.iurls, &config.urls.durls);
        if let Err(err) = api.recover(&agency) {
            log::error!(
                "reading the messages still to deliver and events still to receipt: {err:#}"
            );
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
            workers,
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
        let mut finished = Vec::new();
        let (api, agency) = (&mut self.api, &mut self.agency);
        let mut handler =
            |port, request: &Request, ticket| api.handle(agency, port, request, ticket);
        for event in &self.events {
            if event.token() == SIGNAL {
                self.signals.drain_wake();
                if self.signals.take_hangup() {
                    reopen(self.log_file.as_ref());
                }
            } else if event.token() == WORKERS {
                finished.extend(self.workers.drain());
            } else if Servers::owns(event.token()) {
                self.servers.handle(registry, event, now, &mut handler);
            }
        }
        self.servers.resume(registry, now, &mut handler);
        for (purpose, outcome) in finished {
            self.dispatch(purpose, outcome);
        }
        // Group commit: every write staged in this wake-up becomes durable in one commit,
        // then the answers that waited for it go out, and only then does the work it asked
        // for (fetches, posts) start: a failed commit sends nothing.
        self.api.commit(&mut self.agency);
        for (ticket, response) in self.api.take_answered() {
            self.servers
                .complete(self.poll.registry(), ticket, &response);
        }
        self.start_work();
        self.api.connections(self.servers.connection_count());
        Ok(())
    }

    /// Hands a worker's outcome to the part that asked for the job.
    fn dispatch(&mut self, purpose: Purpose, outcome: Outcome) {
        let failure = |outcome: Outcome| match outcome {
            Outcome::Fetched(fetched) => fetched,
            Outcome::Panicked(message) => Err(FetchFailure::Panicked(message)),
            Outcome::Backup(_) | Outcome::Resolved(_) => {
                Err(FetchFailure::NotStarted("not a fetch".to_owned()))
            }
        };
        match purpose {
            Purpose::Resolution(id) => {
                let examined = match outcome {
                    Outcome::Resolved(examined) => examined,
                    Outcome::Panicked(message) => Err(Unresolved::Refused(
                        FetchFailure::Panicked(message).to_string(),
                    )),
                    Outcome::Fetched(_) | Outcome::Backup(_) => {
                        Err(Unresolved::Refused("not an OOBI resolution".to_owned()))
                    }
                };
                self.api.resolved(&mut self.agency, id, examined);
            }
            Purpose::Delivery(id) => {
                self.api
                    .delivered(&mut self.agency, id, &failure(outcome).map(|_| ()));
            }
            Purpose::Receipt(id) => self.api.receipted(&mut self.agency, id, failure(outcome)),
            Purpose::Backup => self.api.backup_finished(match outcome {
                Outcome::Backup(copied) => Ok(copied),
                Outcome::Panicked(message) => Err(format!("the backup panicked: {message}")),
                Outcome::Fetched(_) | Outcome::Resolved(_) => Err("not a backup".to_owned()),
            }),
        }
    }

    /// Hands the work that committed requests (and the outbox's retries) asked for to the
    /// workers; what cannot start is answered at once.
    fn start_work(&mut self) {
        for (id, url) in self.api.take_fetches() {
            let label = format!("GET {url}");
            let fetched = url.clone();
            let started = self.fetcher.get(url.clone()).and_then(|work| {
                let work: Work<Outcome> =
                    Box::new(move || Outcome::Resolved(resolutions::examine(work(), &fetched)));
                self.workers
                    .submit(Purpose::Resolution(id), label, work)
                    .map_err(|busy| FetchFailure::NotStarted(busy.to_string()))
            });
            if let Err(failure) = started {
                let examined = resolutions::examine(Err(failure), &url);
                self.api.resolved(&mut self.agency, id, examined);
            }
        }
        for (id, url, post) in self.api.take_posts() {
            if let Err(failure) = self.submit_post(Purpose::Delivery(id), url, post) {
                self.api.delivered(&mut self.agency, id, &Err(failure));
            }
        }
        for (id, url, post) in self.api.take_receipt_posts() {
            if let Err(failure) = self.submit_post(Purpose::Receipt(id), url, post) {
                self.api.receipted(&mut self.agency, id, Err(failure));
            }
        }
        if let Some(backup) = self.api.take_backup() {
            let work: Work<Outcome> = Box::new(move || Outcome::Backup(backup()));
            if let Err(busy) = self
                .workers
                .submit(Purpose::Backup, "backup".to_owned(), work)
            {
                self.api.backup_finished(Err(busy.to_string()));
                for (ticket, response) in self.api.take_answered() {
                    self.servers
                        .complete(self.poll.registry(), ticket, &response);
                }
            }
        }
    }

    /// Hands a POST to the workers; its outcome comes back as `Outcome::Fetched` for `purpose`.
    fn submit_post(&mut self, purpose: Purpose, url: Url, post: Post) -> Result<(), FetchFailure> {
        let label = format!("POST {url}");
        let work = self.fetcher.post(url, post)?;
        let work: Work<Outcome> = Box::new(move || Outcome::Fetched(work()));
        self.workers
            .submit(purpose, label, work)
            .map_err(|busy| FetchFailure::NotStarted(busy.to_string()))
    }

    /// One tock: timeouts, idle agents, the watchdog.
    pub fn tick(&mut self, now: Instant) -> Result<()> {
        self.servers.tick(self.poll.registry(), now);
        self.agency.tick(now);
        self.api.tick(&mut self.agency, now);
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
        open.extend(self.workers.describe_open());
        open.extend(self.agency.describe_open());
        open
    }

    /// Closes in reverse order of opening: servers, then the workers (abandoning, by the
    /// stop's deadline, jobs still running), then the agency (its agents newest first, then its
    /// store). `closed` records each step as it is done; every step is taken, and the first
    /// error is returned.
    pub fn close(self, closed: &mut Vec<String>) -> Result<()> {
        let Self {
            poll,
            servers,
            api,
            workers,
            agency,
            shutdown_timeout,
            stop_deadline,
            ..
        } = self;
        let servers_closed = servers.close(poll.registry());
        closed.push("servers".to_owned());
        // A backup still being written reads the store: it is cancelled before the store closes.
        let api_closed = api.close();
        let deadline = stop_deadline.unwrap_or_else(|| Instant::now() + shutdown_timeout);
        let workers_closed = workers.close(deadline);
        closed.push("workers".to_owned());
        let agency_closed = agency.close(closed);
        servers_closed
            .and(api_closed)
            .and(workers_closed)
            .and(agency_closed)
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

/// Undoes a start that failed after the agency opened: the workers (if they started) and the
/// agency close, in reverse order; `err` is what is returned, and close errors are logged.
fn undo_open(
    err: anyhow::Error,
    workers: Option<Workers<Purpose, Outcome>>,
    agency: Agency,
    shutdown_timeout: Duration,
) -> anyhow::Error {
    if let Some(workers) = workers {
        if let Err(close_err) = workers.close(Instant::now() + shutdown_timeout) {
            log::error!("closing the workers after a failed start: {close_err:#}");
        }
    }
    if let Err(close_err) = agency.close(&mut Vec::new()) {
        log::error!("closing the agency after a failed start: {close_err:#}");
    }
    err
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
