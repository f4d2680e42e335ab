//! The three HTTP servers (admin, http, boot): listeners and their connections.
//!
//! `Servers::bind` opens the listeners; the run loop feeds it poll events; `begin_stop` closes
//! the listeners and idle connections; `close` drops whatever is left.

pub mod connection;
pub mod http;
pub mod tls;

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use rustls::ServerConfig;
use time::OffsetDateTime;

use connection::Connection;
use http::{Limits, Request, Response};

/// Which of the three servers a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    Admin,
    Http,
    Boot,
}

impl Port {
    /// The port's name in logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Http => "http",
            Self::Boot => "boot",
        }
    }
}

/// What the servers need from the configuration.
#[derive(Clone)]
pub struct ServerSettings {
    pub admin: u16,
    pub http: u16,
    pub boot: u16,
    pub tls: Option<Arc<ServerConfig>>,
    pub limits: Limits,
    pub header_timeout: Duration,
    pub max_connections: usize,
}

/// The first token handed to a connection; lower ones are listeners and the run loop's own.
const FIRST_CONNECTION: usize = 16;

/// The listeners and every open connection.
pub struct Servers {
    listeners: Vec<(Token, Port, TcpListener)>,
    connections: HashMap<Token, Connection>,
    next_token: usize,
    settings: ServerSettings,
    stopping: bool,
}

impl Servers {
    /// Binds admin, http and boot on all interfaces; fails naming the port that cannot be bound.
    pub fn bind(settings: ServerSettings, registry: &Registry) -> Result<Self> {
        let mut listeners = Vec::with_capacity(3);
        for (index, (port, number)) in [
            (Port::Admin, settings.admin),
            (Port::Http, settings.http),
            (Port::Boot, settings.boot),
        ]
        .into_iter()
        .enumerate()
        {
            let address = SocketAddr::from((Ipv4Addr::UNSPECIFIED, number));
            let mut listener = TcpListener::bind(address)
                .with_context(|| format!("cannot listen on the {} port {number}", port.name()))?;
            let token = Token(index);
            registry
                .register(&mut listener, token, Interest::READABLE)
                .with_context(|| format!("registering the {} listener", port.name()))?;
            listeners.push((token, port, listener));
        }
        Ok(Self {
            listeners,
            connections: HashMap::new(),
            next_token: FIRST_CONNECTION,
            settings,
            stopping: false,
        })
    }

    /// The bound port numbers (useful when 0 asked the system to choose).
    pub fn local_ports(&self) -> Vec<(Port, u16)> {
        self.listeners
            .iter()
            .map(|(_, port, listener)| {
                (
                    *port,
                    listener.local_addr().map_or(0, |address| address.port()),
                )
            })
            .collect()
    }

    /// Whether `token` belongs to a listener or a connection.
    pub fn owns(token: Token) -> bool {
        token.0 < 3 || token.0 >= FIRST_CONNECTION
    }

    /// Handles one poll event: accepts on a listener, or serves a connection.
    pub fn handle(
        &mut self,
        registry: &Registry,
        event: &Event,
        now: Instant,
        handler: &mut dyn FnMut(Port, &Request) -> Response,
    ) {
        let token = event.token();
        if let Some(index) = self
            .listeners
            .iter()
            .position(|(listener_token, _, _)| *listener_token == token)
        {
            self.accept(registry, index, now);
            return;
        }
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        connection.ready(
            registry,
            token,
            &self.settings.limits,
            self.stopping,
            now,
            handler,
        );
        if connection.is_closed() {
            self.connections.remove(&token);
        }
    }

    fn accept(&mut self, registry: &Registry, index: usize, now: Instant) {
        loop {
            let (_, port, listener) = &self.listeners[index];
            let port = *port;
            match listener.accept() {
                Ok((socket, _)) => {
                    if self.connections.len() >= self.settings.max_connections {
                        if self.settings.tls.is_none() {
                            refuse_busy(&socket);
                        }
                        continue;
                    }
                    let token = Token(self.next_token);
                    self.next_token += 1;
                    match Connection::open(
                        socket,
                        self.settings.tls.as_ref(),
                        port,
                        registry,
                        token,
                        now,
                    ) {
                        Ok(connection) => {
                            self.connections.insert(token, connection);
                        }
                        Err(err) => log::warn!(
                            "cannot serve a connection on the {} port: {err}",
                            port.name()
                        ),
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    log::warn!("accept failed on the {} port: {err}", port.name());
                    return;
                }
            }
        }
    }

    /// Closes connections that stalled or idled past their timeouts.
    pub fn tick(&mut self, registry: &Registry, now: Instant) {
        let header_timeout = self.settings.header_timeout;
        for (token, connection) in &mut self.connections {
            connection.tick(registry, *token, header_timeout, now);
        }
        self.connections
            .retain(|_, connection| !connection.is_closed());
    }

    /// Closes the listeners (new connections are refused) and every idle connection.
    pub fn begin_stop(&mut self, registry: &Registry) {
        self.stopping = true;
        for (_, _, mut listener) in self.listeners.drain(..) {
            let _ = registry.deregister(&mut listener);
        }
        for connection in self.connections.values_mut() {
            connection.begin_stop(registry);
        }
        self.connections
            .retain(|_, connection| !connection.is_closed());
    }

    /// Whether every in-flight request has been answered and every connection closed.
    pub fn is_drained(&self) -> bool {
        self.connections.is_empty()
    }

    /// What is still open, for the log at the shutdown deadline.
    pub fn describe_open(&self) -> Vec<String> {
        self.connections
            .values()
            .map(Connection::describe)
            .collect()
    }

    /// Drops whatever is left: listeners first, then connections (closing a socket also
    /// removes it from the poll).
    pub fn close(mut self, registry: &Registry) {
        self.begin_stop(registry);
        self.connections.clear();
    }
}

/// Answers a plain connection over the cap with a fast 503; the caller drops it.
fn refuse_busy(socket: &TcpStream) {
    let mut out = Vec::new();
    Response::error(
        503,
        "Service Unavailable",
        "too many connections; retry later",
    )
    .write_to(&mut out, true, OffsetDateTime::now_utc());
    let _ = io::Write::write(&mut &*socket, &out);
}
