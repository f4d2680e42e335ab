//! Request routing for the three ports, and what every response carries (CORS).
//!
//! The `Service` owns the agency; `Api` borrows it for each request.

mod admin;
mod auth;
mod boot;
mod health;
mod identifiers;

use std::time::{Duration, Instant};

use crate::agency::Agency;
use crate::config::{BootCredentials, StartConfig};
use crate::server::http::{Request, Response};
use crate::server::{Port, Reply, Ticket};

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
    /// Answers waiting for the open batch to commit.
    deferred: Vec<(Ticket, Response)>,
    /// Answers whose batch has committed (or failed), not yet sent.
    answered: Vec<(Ticket, Response)>,
}

impl Api {
    pub fn new(config: &StartConfig) -> Self {
        Self {
            started: Instant::now(),
            stopping: false,
            cors: config.cors,
            log_requests: config.log_requests,
            boot_credentials: config.boot_credentials.clone(),
            signature_window: config.signature_window,
            deferred: Vec::new(),
            answered: Vec::new(),
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
        let writes = agency.writes();
        let mut response = match port {
            Port::Boot => self.boot_port(agency, request),
            Port::Admin => self.admin_port(agency, request),
            Port::Http => not_found(request),
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
            return Reply::Now(response);
        }
        self.deferred.push((ticket, response));
        if self.deferred.len() >= MAX_BATCH {
            self.commit(agency);
        }
        Reply::Later
    }

    /// Whether answers wait for a commit.
    pub fn has_deferred(&self) -> bool {
        !self.deferred.is_empty() || !self.answered.is_empty()
    }

    /// Commits the open batch; the deferred answers it settles are taken with `take_answered`.
    /// On a failed commit each of them becomes a 500: nothing of the batch was kept.
    pub fn commit(&mut self, agency: &mut Agency) {
        let deferred = std::mem::take(&mut self.deferred);
        match agency.commit(Instant::now()) {
            Ok(_) => self.answered.extend(deferred),
            Err(err) => {
                log::error!("{err:#}");
                self.answered
                    .extend(deferred.into_iter().map(|(ticket, _)| {
                        let refused = Response::error(
                            500,
                            "500 Internal Server Error",
                            "the store could not commit; nothing was kept, retry",
                        );
                        (ticket, refused)
                    }));
            }
        }
    }

    /// The answers whose writes are durable (or failed), to be sent.
    pub fn take_answered(&mut self) -> Vec<(Ticket, Response)> {
        std::mem::take(&mut self.answered)
    }

    fn admin_port(&self, agency: &mut Agency, request: &Request) -> Response {
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
        if let Some(controller) = request.path.strip_prefix("/agent/") {
            return match request.method.as_str() {
                "GET" => admin::agent_state(agency, controller),
                "PUT" => admin::approve(agency, controller, request),
                _ => method_not_allowed("GET, PUT, OPTIONS"),
            };
        }
        admin::signed(agency, request, self.signature_window, signed_route)
    }

    fn boot_port(&self, agency: &mut Agency, request: &Request) -> Response {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/health") => health::health(self.stopping, self.started, agency.loaded()),
            (_, "/health") => method_not_allowed("GET, OPTIONS"),
            ("POST", "/boot") => {
                if let Some(refusal) = self
                    .boot_credentials
                    .as_ref()
                    .and_then(|credentials| auth::check_basic(request, credentials))
                {
                    return refusal;
                }
                boot::boot(agency, &request.body)
            }
            (_, "/boot") => method_not_allowed("POST, OPTIONS"),
            _ => not_found(request),
        }
    }
}

/// Routes a verified Signify request of `controller`.
fn signed_route(agency: &mut Agency, controller: &str, request: &Request) -> Response {
    let segments: Vec<&str> = request.path.split('/').skip(1).collect();
    let method = request.method.as_str();
    match (segments.as_slice(), method) {
        (["identifiers"], "GET") => identifiers::list(agency, controller, request),
        (["identifiers"], "POST") => identifiers::create(agency, controller, request),
        (["identifiers"], _) => method_not_allowed("GET, POST, OPTIONS"),
        (["identifiers", name], "GET") => identifiers::get(agency, controller, &decode(name)),
        (["identifiers", name], "PUT") => {
            identifiers::rename(agency, controller, &decode(name), request)
        }
        (["identifiers", _], _) => method_not_allowed("GET, PUT, OPTIONS"),
        (["identifiers", name, "events"], "POST") => {
            identifiers::event(agency, controller, &decode(name), request)
        }
        (["identifiers", _, "events"], _) => method_not_allowed("POST, OPTIONS"),
        (["operations"], "GET") => identifiers::operations(agency, controller),
        (["operations"], _) => method_not_allowed("GET, OPTIONS"),
        (["operations", name], "GET") => identifiers::operation(agency, controller, &decode(name)),
        (["operations", name], "DELETE") => {
            identifiers::delete_operation(agency, controller, &decode(name))
        }
        (["operations", _], _) => method_not_allowed("GET, DELETE, OPTIONS"),
        _ => not_found(request),
    }
}

/// A path segment with its percent-escapes decoded (names may hold any character).
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
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
