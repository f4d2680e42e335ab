//! Request routing for the three ports, and what every response carries (CORS).
//!
//! The `Service` owns the agency; `Api` borrows it for each request.

mod admin;
mod auth;
mod backup;
mod boot;
mod challenges;
mod contacts;
mod credentials;
mod delegations;
mod exchanges;
mod health;
mod identifiers;
mod ingress;
mod ipex;
mod keystate;
mod metrics;
mod multisig;
mod notifications;
mod oobis;
mod operations;
mod registries;
mod reply;
mod routes;
mod schemas;
mod spec;

use std::time::{Duration, Instant};

use crate::agency::delegations::Delegations;
use crate::agency::outbox::Outbox;
use crate::agency::receipting::Receipting;
use crate::agency::resolutions::{Resolutions, Resolved, Unresolved};
use crate::agency::Agency;
use crate::agency::Urls;
use crate::api::metrics::Metrics;
use crate::process::fetcher::{FetchFailure, FetchOutcome, Post};
use crate::process::workers::Work;
use crate::server::http::{Request, Response};
use crate::server::{Port, Reply, Ticket};
use crate::store::copy::Copied;
pub use auth::BootCredentials;
pub use backup::Backups;

/// Most answers one batch holds before it is committed, even within one poll wake-up: the
/// bound on the durable work (one fsync-bound commit) between two looks at the poll.
pub const MAX_BATCH: usize = 128;

/// Headers a browser running signify-ts must be able to read.
const EXPOSED_HEADERS: &str = "cesr-attachment, cesr-date, content-type, signature, signature-input, signify-resource, signify-timestamp";

/// The settings the handlers consult, and whether the stop has begun.
pub struct Api {
    started: Instant,
    stopping: bool,
    cors: bool,
    log_requests: bool,
    boot_credentials: Option<BootCredentials>,
    signature_window: Duration,
    /// Controller, introduction and data OOBI URLs of every agent.
    urls: Urls,
    /// OOBIs being resolved.
    resolutions: Resolutions,
    /// Exchange messages being posted to other agencies.
    outbox: Outbox,
    /// Events being receipted by their witnesses.
    receipting: Receipting,
    /// Delegated events waiting for their delegators' approval.
    delegations: Delegations,
    /// Answers waiting for the open batch to commit.
    deferred: Vec<(Ticket, Response, Pending)>,
    /// Answers whose batch has committed (or failed), not yet sent.
    answered: Vec<(Ticket, Response)>,
    metrics: Metrics,
    backups: Backups,
    /// A backup's job, accepted and not yet handed to the workers.
    backup_job: Option<Work<anyhow::Result<Copied>>>,
}

/// Where and when a deferred request came in, to count it once its answer is settled.
struct Pending {
    port: Port,
    route: &'static str,
    started: Instant,
}

/// How the API answers: what the operator chose for CORS, request logs, boot credentials and
/// the clock skew signed requests may have.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cors: bool,
    pub log_requests: bool,
    pub boot_credentials: Option<BootCredentials>,
    pub signature_window: Duration,
    /// Longest an event's witnesses may take to receipt it to its threshold.
    pub receipt_timeout: Duration,
}

impl Api {
    /// `urls` are the OOBI URLs agents advertise.
    pub fn new(config: &Settings, urls: Urls, backups: Backups) -> Self {
        Self {
            started: Instant::now(),
            stopping: false,
            cors: config.cors,
            log_requests: config.log_requests,
            boot_credentials: config.boot_credentials.clone(),
            signature_window: config.signature_window,
            urls,
            resolutions: Resolutions::default(),
            outbox: Outbox::default(),
            receipting: Receipting::new(config.receipt_timeout),
            delegations: Delegations::default(),
            deferred: Vec::new(),
            answered: Vec::new(),
            metrics: Metrics::new(),
            backups,
            backup_job: None,
        }
    }

    /// From now on /health answers 503.
    pub fn begin_stop(&mut self) {
        self.stopping = true;
    }

    /// Answers one request. An answer that depends on writes it staged is deferred until
    /// the batch commits (`commit`), so nothing is acknowledged before it is durable.
    pub fn handle(
        &mut self,
        agency: &mut Agency,
        port: Port,
        request: &Request,
        ticket: Ticket,
    ) -> Reply {
        let started = Instant::now();
        let route = routes::template(port, &request.path);
        let writes = agency.writes();
        let mut response = match port {
            Port::Boot if request.path == backup::PATH && request.method == "POST" => {
                match self.backup(agency, request) {
                    Ok(job) => {
                        let pending = Pending {
                            port,
                            route,
                            started,
                        };
                        self.backup_job = Some(self.backups.start(job, ticket, pending));
                        return Reply::Later;
                    }
                    Err(response) => response,
                }
            }
            Port::Boot => self.boot_port(agency, request),
            Port::Admin => self.admin_port(agency, request),
            Port::Http => self.http_port(agency, request),
        };
        if self.cors {
            response = with_cors(response, request);
        }
        if self.log_requests {
            log::info!(
                "{} {} {} {} {:.3}ms",
                port.name(),
                request.method,
                request.path,
                response.status,
                started.elapsed().as_secs_f64() * 1e3
            );
        }
        if agency.writes() == writes {
            self.metrics
                .request(port, route, response.status, started.elapsed());
            return Reply::Now(response);
        }
        let pending = Pending {
            port,
            route,
            started,
        };
        self.deferred.push((ticket, response, pending));
        if self.deferred.len() >= MAX_BATCH {
            self.commit(agency);
        }
        Reply::Later
    }

    /// The OOBI fetches handlers asked for, to start now.
    pub fn take_fetches(&mut self) -> Vec<(u64, url::Url)> {
        self.resolutions.take_fetches()
    }

    /// Queues the messages to other agencies that a stopped agency left undelivered, and the
    /// events it left receipting.
    pub fn recover(&mut self, agency: &Agency) -> anyhow::Result<()> {
        self.outbox.recover(agency)?;
        self.receipting.recover(agency)?;
        self.delegations.recover(agency)
    }

    /// One tock: the posts whose pause has ended are queued again; receipting past its
    /// deadline ends.
    pub fn tick(&mut self, agency: &mut Agency, now: Instant) {
        self.outbox.tick(agency, now);
        self.receipting.tick(agency, now);
        self.resolutions.tick(now);
        self.delegations.tick(agency, &mut self.resolutions, now);
    }

    /// Resolves the configuration's introduction and data OOBI URLs (`iurls`, `durls`) for
    /// every agent.
    pub fn introduce(&mut self, iurls: &[String], durls: &[String]) {
        self.resolutions.introduce(iurls, durls);
    }

    /// The posts of events to their witnesses, to start now.
    pub fn take_receipt_posts(&mut self) -> Vec<(u64, url::Url, Post)> {
        self.receipting.take_posts()
    }

    /// A post to a witness came back (or could not start).
    pub fn receipted(&mut self, agency: &mut Agency, id: u64, outcome: FetchOutcome) {
        self.receipting.finished(agency, id, outcome);
    }

    /// The posts of exchange messages to other agencies, to start now.
    pub fn take_posts(&mut self) -> Vec<(u64, url::Url, Post)> {
        self.outbox.take_posts()
    }

    /// A post to another agency came back (or could not start).
    pub fn delivered(&mut self, agency: &mut Agency, id: u64, outcome: &Result<(), FetchFailure>) {
        self.outbox.finished(agency, id, outcome);
    }

    /// An OOBI fetch came back, examined by its worker (or could not start).
    pub fn resolved(
        &mut self,
        agency: &mut Agency,
        id: u64,
        outcome: Result<Resolved, Unresolved>,
    ) {
        self.resolutions.fetched(agency, id, outcome);
        let anchored = self.resolutions.take_anchored();
        if !anchored.is_empty() {
            self.delegations.anchored(anchored);
        }
    }

    /// The job of the backup a request asked for, to hand to the workers.
    pub fn take_backup(&mut self) -> Option<Work<anyhow::Result<Copied>>> {
        self.backup_job.take()
    }

    /// Whether answers wait for a commit.
    pub fn has_deferred(&self) -> bool {
        !self.deferred.is_empty() || !self.answered.is_empty()
    }

    /// Commits the open batch; the deferred answers it settles are taken with `take_answered`.
    /// On a failed commit each of them becomes a 500: nothing of the batch was kept.
    pub fn commit(&mut self, agency: &mut Agency) {
        let deferred = std::mem::take(&mut self.deferred);
        let staged = agency.has_staged();
        let began = Instant::now();
        let committed = agency.commit(began);
        if staged {
            self.metrics.commit(began.elapsed(), deferred.len());
        }
        if let Err(err) = &committed {
            log::error!("{err:#}");
        }
        // Work that the batch asked for starts only once the batch is durable.
        self.resolutions.committed(committed.is_ok());
        self.outbox.committed(committed.is_ok());
        self.receipting.committed(committed.is_ok());
        self.delegations.committed(committed.is_ok());
        for (ticket, response, pending) in deferred {
            let response = if committed.is_ok() {
                response
            } else {
                Response::error(
                    500,
                    "500 Internal Server Error",
                    "the store could not commit; nothing was kept, retry",
                )
            };
            self.settle((ticket, pending, response));
        }
    }

    /// Sends the answer of a backup whose job has ended (`Err`: it could not run).
    pub fn backup_finished(&mut self, outcome: Result<anyhow::Result<Copied>, String>) {
        if let Some(finished) = self.backups.finished(outcome) {
            self.settle(finished);
        }
    }

    /// Asks a backup still being written to stop; the worker pool's close bounds the wait.
    pub fn close(self) -> anyhow::Result<()> {
        self.backups.close();
        Ok(())
    }

    /// Counts a deferred request whose answer is settled, and queues that answer.
    fn settle(&mut self, (ticket, pending, response): (Ticket, Pending, Response)) {
        self.metrics.request(
            pending.port,
            pending.route,
            response.status,
            pending.started.elapsed(),
        );
        self.answered.push((ticket, response));
    }

    /// Checks `POST /backup` (boot credentials, when configured, are required) and takes its
    /// snapshot.
    fn backup(&self, agency: &Agency, request: &Request) -> Result<backup::Job, Response> {
        if let Some(refusal) = self
            .boot_credentials
            .as_ref()
            .and_then(|credentials| auth::check_basic(request, credentials))
        {
            return Err(refusal);
        }
        self.backups.prepare(agency, request)
    }

    /// Reports the open connections (once per wake-up) for `/metrics`.
    pub fn connections(&self, open: usize) {
        self.metrics.connections(open);
    }

    /// The answers whose writes are durable (or failed), to be sent.
    pub fn take_answered(&mut self) -> Vec<(Ticket, Response)> {
        std::mem::take(&mut self.answered)
    }

    fn admin_port(&mut self, agency: &mut Agency, request: &Request) -> Response {
        if request.method == "OPTIONS" && self.cors {
            return Response::empty(204)
                .header(
                    "Access-Control-Allow-Methods",
                    "GET, POST, PUT, DELETE, OPTIONS",
                )
                .header(
                    "Access-Control-Allow-Headers",
                    request
                        .header("access-control-request-headers")
                        .unwrap_or("*"),
                );
        }
        let found = routes::find(Port::Admin, &request.method, &request.path);
        if let routes::Lookup::Route(route, params) = &found {
            if !route.signed {
                return match (route.method, params.as_slice()) {
                    (routes::GET, [controller]) => admin::agent_state(agency, controller),
                    (routes::PUT, [controller]) => admin::update(agency, controller, request),
                    _ => routes::not_served(route),
                };
            }
        }
        if let routes::Lookup::Method(allow) = &found {
            if request.path.starts_with("/agent/") {
                return method_not_allowed(allow);
            }
        }
        let (urls, resolutions, outbox, receipting, delegations) = (
            &self.urls,
            &mut self.resolutions,
            &mut self.outbox,
            &mut self.receipting,
            &mut self.delegations,
        );
        admin::signed(
            agency,
            request,
            self.signature_window,
            |agency, controller, request| {
                routes::route(routes::Signed {
                    agency,
                    controller,
                    request,
                    urls,
                    resolutions,
                    outbox,
                    receipting,
                    delegations,
                })
            },
        )
    }

    /// KERI ingress (`POST /`, `PUT /`), OOBIs (`GET /oobi…`) and this API's description.
    fn http_port(&mut self, agency: &mut Agency, request: &Request) -> Response {
        let (route, params) = match routes::find(Port::Http, &request.method, &request.path) {
            routes::Lookup::Route(route, params) => (route, params),
            routes::Lookup::Unknown => return not_found(request),
            routes::Lookup::Method(allow) => return method_not_allowed(&allow),
        };
        let curls = &self.urls.curls;
        match (route.path, params.as_slice()) {
            ("/", []) => ingress::receive(agency, request, &mut self.receipting),
            ("/spec.yaml", []) => spec::serve(),
            ("/oobi", []) => oobis::blind(),
            ("/oobi/{aid}", [aid]) => oobis::serve(agency, aid, None, curls),
            ("/oobi/{aid}/{role}", [aid, role]) => {
                oobis::serve(agency, aid, Some((role, None)), curls)
            }
            ("/oobi/{aid}/{role}/{eid}", [aid, role, eid]) => {
                oobis::serve(agency, aid, Some((role, Some(eid))), curls)
            }
            _ => routes::not_served(route),
        }
    }

    fn boot_port(&self, agency: &mut Agency, request: &Request) -> Response {
        let route = match routes::find(Port::Boot, &request.method, &request.path) {
            routes::Lookup::Route(route, _) => route,
            routes::Lookup::Unknown => return not_found(request),
            routes::Lookup::Method(allow) => return method_not_allowed(&allow),
        };
        match route.path {
            "/health" => health::health(
                self.stopping,
                self.started,
                agency.loaded(),
                agency.store_failing(),
            ),
            "/metrics" => metrics::serve(&self.metrics, agency, self.stopping),
            "/boot" => {
                if let Some(refusal) = self
                    .boot_credentials
                    .as_ref()
                    .and_then(|credentials| auth::check_basic(request, credentials))
                {
                    return refusal;
                }
                boot::boot(agency, &request.body)
            }
            // `POST /backup` is answered before the port's routes, as it answers later.
            _ => routes::not_served(route),
        }
    }
}

/// 404 with a falcon-style error body.
fn not_found(request: &Request) -> Response {
    Response::error(
        404,
        "404 Not Found",
        &format!("no route for {} {}", request.method, request.path),
    )
}

/// 405 with the allowed methods.
fn method_not_allowed(allow: &str) -> Response {
    Response::error(
        405,
        "405 Method Not Allowed",
        &format!("allowed methods: {allow}"),
    )
    .header("Allow", allow)
}

/// Adds the CORS headers when the request came from a browser origin.
fn with_cors(response: Response, request: &Request) -> Response {
    match request.header("origin") {
        Some(origin) => response
            .header("Access-Control-Allow-Origin", origin)
            .header("Access-Control-Allow-Credentials", "true")
            .header("Access-Control-Expose-Headers", EXPOSED_HEADERS),
        None => response,
    }
}
