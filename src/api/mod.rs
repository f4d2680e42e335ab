//! Request routing for the three ports, and what every response carries (CORS).
//!
//! `Api` owns the agency while the service runs; `Service::close` takes it back to close it.

mod admin;
mod auth;
mod boot;
mod health;

use std::time::{Duration, Instant};

use crate::agency::Agency;
use crate::config::{BootCredentials, StartConfig};
use crate::server::http::{Request, Response};
use crate::server::{Port, Reply};

/// Headers a browser running signify-ts must be able to read.
const EXPOSED_HEADERS: &str = "cesr-attachment, cesr-date, content-type, signature, signature-input, signify-resource, signify-timestamp";

/// The handlers' state: the agency and the settings they consult.
pub struct Api {
    agency: Agency,
    started: Instant,
    stopping: bool,
    cors: bool,
    log_requests: bool,
    boot_credentials: Option<BootCredentials>,
    signature_window: Duration,
}

impl Api {
    /// Takes ownership of the open agency.
    pub fn new(config: &StartConfig, agency: Agency) -> Self {
        Self {
            agency,
            started: Instant::now(),
            stopping: false,
            cors: config.cors,
            log_requests: config.log_requests,
            boot_credentials: config.boot_credentials.clone(),
            signature_window: config.signature_window,
        }
    }

    /// The agency, for reading.
    pub fn agency(&self) -> &Agency {
        &self.agency
    }

    /// The agency, for its tick.
    pub fn agency_mut(&mut self) -> &mut Agency {
        &mut self.agency
    }

    /// Gives the agency back, to be closed.
    pub fn into_agency(self) -> Agency {
        self.agency
    }

    /// From now on /health answers 503.
    pub fn begin_stop(&mut self) {
        self.stopping = true;
    }

    /// Answers one request; every handler answers at once.
    pub fn handle(&mut self, port: Port, request: &Request) -> Reply {
        let started = Instant::now();
        let mut response = match port {
            Port::Boot => self.boot_port(request),
            Port::Admin => self.admin_port(request),
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
        Reply::Now(response)
    }

    fn admin_port(&mut self, request: &Request) -> Response {
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
                "GET" => admin::agent_state(&mut self.agency, controller),
                "PUT" => admin::approve(&mut self.agency, controller, request),
                _ => method_not_allowed("GET, PUT, OPTIONS"),
            };
        }
        admin::signed(
            &mut self.agency,
            request,
            self.signature_window,
            |request| match (request.method.as_str(), request.path.as_str()) {
                ("GET", "/identifiers") => admin::identifiers(request),
                ("GET", "/operations") => admin::operations(),
                ("GET" | "POST" | "PUT" | "DELETE", _) => not_found(request),
                _ => method_not_allowed("GET, POST, PUT, DELETE, OPTIONS"),
            },
        )
    }

    fn boot_port(&mut self, request: &Request) -> Response {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/health") => health::health(self.stopping, self.started, self.agency.loaded()),
            (_, "/health") => method_not_allowed("GET, OPTIONS"),
            ("POST", "/boot") => {
                if let Some(refusal) = self
                    .boot_credentials
                    .as_ref()
                    .and_then(|credentials| auth::check_basic(request, credentials))
                {
                    return refusal;
                }
                boot::boot(&mut self.agency, &request.body)
            }
            (_, "/boot") => method_not_allowed("POST, OPTIONS"),
            _ => not_found(request),
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
