//! The three HTTP servers (admin, http, boot): listeners and their connections.
//!
//! `Servers::bind` opens the listeners; the run loop feeds it poll events; `begin_stop` closes
//! the listeners and every connection with nothing in flight; `abandon` drops what is still open
//! when the stop's grace ends; `close` drops whatever is left.

mod buffer;
mod connection;
mod descriptors;
pub mod http;
pub mod json;
mod reply;
pub mod tls;
mod transport;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use rustls::ServerConfig;
use time::OffsetDateTime;

use connection::{Connection, Handler};
use descriptors::{fit_connection_cap, is_out_of_descriptors, Spare};
use http::{Limits, Response};
pub use reply::{Reply, Ticket};

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
    /// The address all three ports listen on.
    pub host: IpAddr,
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

/// Most TLS connections over the cap answered 503 at once (each needs a handshake); further
/// ones are closed without an answer.
const MAX_TLS_REFUSALS: usize = 64;

/// Most connections the boot port keeps for itself (fewer when `--max-connections` is small:
/// see `pool_size`), so that a full admin or http port never answers `/health` with a 503.
const BOOT_SLOTS: usize = 64;

/// Longest time in-flight responses may take to go out once the stop begins; see `stop_grace`.
pub const STOP_GRACE: Duration = Duration::from_secs(1);

/// How long the stop waits for in-flight responses (and deferred replies) before dropping them:
/// `STOP_GRACE`, or half of the shutdown timeout when that is shorter.
pub fn stop_grace(shutdown_timeout: Duration) -> Duration {
    STOP_GRACE.min(shutdown_timeout / 2)
}

/// The listeners and every open connection.
pub struct Servers {
    listeners: Vec<(Token, Port, TcpListener)>,
    connections: HashMap<Token, Connection>,
    next_token: usize,
    settings: ServerSettings,
    stopping: bool,
    /// Connections with work that no poll event will announce.
    resume: Vec<Token>,
    /// A descriptor held back to shed connections when none are left.
    spare: Spare,
    /// An accept failed: accept again at the next tick, as no poll event may come.
    retry_accept: bool,
    /// Whether the listeners are shedding connections for lack of descriptors (logged once).
    shedding: bool,
}

impl Servers {
    /// Binds admin, http and boot on the host address; fails naming the port that cannot be bound.
    pub fn bind(mut settings: ServerSettings, registry: &Registry) -> Result<Self> {
        settings.max_connections = fit_connection_cap(settings.max_connections);
        let mut listeners = Vec::with_capacity(3);
        for (index, (port, number)) in [
            (Port::Admin, settings.admin),
            (Port::Http, settings.http),
            (Port::Boot, settings.boot),
        ]
        .into_iter()
        .enumerate()
        {
            let address = SocketAddr::from((settings.host, number));
            let mut listener = TcpListener::bind(address).with_context(|| {
                format!(
                    "cannot listen on the {} port {number} at {}",
                    port.name(),
                    settings.host
                )
            })?;
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
            resume: Vec::new(),
            spare: Spare::open(),
            retry_accept: false,
            shedding: false,
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
        handler: &mut Handler<'_>,
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
        self.serve(registry, token, now, handler);
    }

    /// Serves connections that have work left without a poll event: input left unparsed when
    /// their turn ended, or a deferred reply completed with pipelined requests behind it.
    pub fn resume(&mut self, registry: &Registry, now: Instant, handler: &mut Handler<'_>) {
        for token in std::mem::take(&mut self.resume) {
            if self
                .connections
                .get(&token)
                .is_some_and(Connection::wants_resume)
            {
                self.serve(registry, token, now, handler);
            }
        }
    }

    /// Whether `resume` has work: the next poll should not wait.
    pub fn has_resumable(&self) -> bool {
        !self.resume.is_empty()
    }

    /// Writes the deferred reply of `ticket`; false, and nothing written, when its connection
    /// has gone or does not await that request.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "a ticket is used once: completing consumes it"
    )]
    pub fn complete(&mut self, registry: &Registry, ticket: Ticket, response: &Response) -> bool {
        let token = ticket.connection;
        let Some(connection) = self.connections.get_mut(&token) else {
            log::debug!("a deferred reply for a closed connection was dropped");
            return false;
        };
        let written = connection.complete(registry, ticket.request, response);
        self.settle(token);
        written
    }

    fn serve(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
        handler: &mut Handler<'_>,
    ) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        connection.ready(registry, token, &self.settings.limits, now, handler);
        self.settle(token);
    }

    /// Drops a closed connection, or notes that it must be served again.
    fn settle(&mut self, token: Token) {
        let Some(connection) = self.connections.get(&token) else {
            return;
        };
        if connection.is_closed() {
            self.connections.remove(&token);
        } else if connection.wants_resume() {
            self.resume.push(token);
        }
    }

    fn accept(&mut self, registry: &Registry, index: usize, now: Instant) {
        loop {
            let (_, port, listener) = &self.listeners[index];
            let port = *port;
            match listener.accept() {
                Ok((socket, _)) => {
                    self.shedding = false;
                    if self.has_room(port) || self.close_idlest(registry, port) {
                        self.open(registry, socket, port, now, false);
                    } else if self.settings.tls.is_none() {
                        refuse_busy(&socket);
                    } else if self.tls_refusals() < MAX_TLS_REFUSALS {
                        self.open(registry, socket, port, now, true);
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if is_out_of_descriptors(&err) => {
                    if !self.shedding {
                        self.shedding = true;
                        log::warn!(
                            "no file descriptor left: refusing new connections on the {} port \
                             ({err})",
                            port.name()
                        );
                    }
                    let plain = self.settings.tls.is_none();
                    let listener = &self.listeners[index].2;
                    if !self.spare.shed(listener, |socket| {
                        if plain {
                            refuse_busy(socket);
                        }
                    }) {
                        self.retry_accept = true;
                        return;
                    }
                }
                Err(err) => {
                    log::warn!("accept failed on the {} port: {err}", port.name());
                    self.retry_accept = true;
                    return;
                }
            }
        }
    }

    /// How many connections `port` may hold: the boot port has its own slots (a quarter of
    /// `--max-connections`, at least 1 and at most `BOOT_SLOTS`); admin and http share the rest.
    fn pool_size(&self, port: Port) -> usize {
        let max = self.settings.max_connections;
        let boot = (max / 4).clamp(1, BOOT_SLOTS);
        if port == Port::Boot {
            boot
        } else {
            max.saturating_sub(boot).max(1)
        }
    }

    /// Whether `port`'s pool (boot, or admin and http) has room for one more connection.
    fn has_room(&self, port: Port) -> bool {
        let boot = port == Port::Boot;
        let held = self
            .connections
            .values()
            .filter(|connection| (connection.port() == Port::Boot) == boot)
            .count();
        held < self.pool_size(port)
    }

    /// Makes room in `port`'s full pool by closing the kept-alive connection that has waited
    /// longest for its next request; false when every one is busy.
    fn close_idlest(&mut self, registry: &Registry, port: Port) -> bool {
        let boot = port == Port::Boot;
        let idlest = self
            .connections
            .iter()
            .filter(|(_, connection)| (connection.port() == Port::Boot) == boot)
            .filter_map(|(token, connection)| Some((connection.idle_since()?, *token)))
            .min();
        let Some((_, token)) = idlest else {
            return false;
        };
        if let Some(mut connection) = self.connections.remove(&token) {
            log::debug!(
                "{} connections full: closing the idle {}",
                port.name(),
                connection.describe()
            );
            connection.close_now(registry);
        }
        true
    }

    /// Serves an accepted socket; with `refuse`, only to answer 503 and close.
    fn open(
        &mut self,
        registry: &Registry,
        socket: TcpStream,
        port: Port,
        now: Instant,
        refuse: bool,
    ) {
        let token = Token(self.next_token);
        self.next_token += 1;
        match Connection::open(
            socket,
            self.settings.tls.as_ref(),
            port,
            &self.settings.limits,
            registry,
            token,
            now,
        ) {
            Ok(connection) if refuse => {
                self.connections.insert(token, connection.refuse());
            }
            Ok(connection) => {
                self.connections.insert(token, connection);
            }
            Err(err) => log::warn!(
                "cannot serve a connection on the {} port: {err}",
                port.name()
            ),
        }
    }

    /// How many TLS connections over the cap are being answered 503.
    fn tls_refusals(&self) -> usize {
        self.connections
            .values()
            .filter(|connection| connection.is_refusal())
            .count()
    }

    /// Accepts again on the listeners if an accept failed; closes connections that stalled or
    /// idled past their timeouts.
    pub fn tick(&mut self, registry: &Registry, now: Instant) {
        if std::mem::take(&mut self.retry_accept) {
            for index in 0..self.listeners.len() {
                self.accept(registry, index, now);
            }
        }
        let header_timeout = self.settings.header_timeout;
        for connection in self.connections.values_mut() {
            connection.tick(registry, header_timeout, now);
        }
        self.connections
            .retain(|_, connection| !connection.is_closed());
    }

    /// Closes the listeners (new connections are refused) and every connection with nothing in
    /// flight: idle, or holding part of a request.
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

    /// How many connections are open, on all three ports.
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// Whether every in-flight request has been answered and every connection closed.
    pub fn is_drained(&self) -> bool {
        self.connections.is_empty()
    }

    /// Drops every connection still open (the stop's grace has ended), naming each in the log.
    pub fn abandon(&mut self, registry: &Registry) {
        for mut connection in self.connections.drain().map(|(_, connection)| connection) {
            log::warn!("stop grace ended: dropping the {}", connection.describe());
            connection.close_now(registry);
        }
        self.resume.clear();
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
    pub fn close(mut self, registry: &Registry) -> Result<()> {
        let mut first_error = None;
        for (_, port, mut listener) in self.listeners.drain(..) {
            if let Err(err) = registry.deregister(&mut listener) {
                first_error.get_or_insert_with(|| {
                    anyhow::Error::new(err)
                        .context(format!("deregistering the {} listener", port.name()))
                });
            }
        }
        self.begin_stop(registry);
        self.connections.clear();
        first_error.map_or(Ok(()), Err)
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpStream};
    use std::time::{Duration, Instant};

    use mio::{Events, Poll};

    use super::http::{Request, Response, DEFAULT_LIMITS};
    use super::{Port, Reply, ServerSettings, Servers, Ticket};

    /// How long a test may drive the servers before it fails.
    const PATIENCE: Duration = Duration::from_secs(10);

    fn open() -> (Poll, Servers, u16) {
        let poll = Poll::new().unwrap();
        let settings = ServerSettings {
            host: Ipv4Addr::LOCALHOST.into(),
            admin: 0,
            http: 0,
            boot: 0,
            tls: None,
            limits: DEFAULT_LIMITS,
            header_timeout: PATIENCE,
            max_connections: 8,
        };
        let servers = Servers::bind(settings, poll.registry()).unwrap();
        let boot = servers
            .local_ports()
            .into_iter()
            .find(|(port, _)| *port == Port::Boot)
            .unwrap()
            .1;
        (poll, servers, boot)
    }

    /// Serves `/later` by deferring its reply (the ticket goes to `tickets`), anything else now.
    fn handler(tickets: &RefCell<Vec<Ticket>>) -> impl FnMut(Port, &Request, Ticket) -> Reply + '_ {
        move |_, request, ticket| {
            if request.path == "/later" {
                tickets.borrow_mut().push(ticket);
                Reply::Later
            } else {
                Reply::Now(Response::empty(200).body(request.path.clone().into_bytes()))
            }
        }
    }

    /// Polls and serves until `done` holds.
    fn drive(
        poll: &mut Poll,
        servers: &mut Servers,
        handler: &mut dyn FnMut(Port, &Request, Ticket) -> Reply,
        mut done: impl FnMut(&Servers) -> bool,
    ) {
        let deadline = Instant::now() + PATIENCE;
        let mut events = Events::with_capacity(64);
        while !done(servers) {
            assert!(Instant::now() < deadline, "the servers never got there");
            poll.poll(&mut events, Some(Duration::from_millis(20)))
                .unwrap();
            let now = Instant::now();
            for event in &events {
                servers.handle(poll.registry(), event, now, handler);
            }
            servers.resume(poll.registry(), now, handler);
        }
    }

    /// Reads what the client received so far, without waiting.
    fn received(client: &mut TcpStream) -> String {
        client.set_nonblocking(true).unwrap();
        let mut bytes = Vec::new();
        let _ = client.read_to_end(&mut bytes);
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_deferred_reply_is_written_in_order_before_a_pipelined_request() {
        let (mut poll, mut servers, boot) = open();
        let tickets = RefCell::new(Vec::new());
        let mut handler = handler(&tickets);
        let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, boot)).unwrap();
        client
            .write_all(b"GET /later HTTP/1.1\r\n\r\nGET /now HTTP/1.1\r\n\r\n")
            .unwrap();
        drive(&mut poll, &mut servers, &mut handler, |_| {
            !tickets.borrow().is_empty()
        });
        assert_eq!(
            received(&mut client),
            "",
            "answered before the deferred reply"
        );
        let ticket = tickets.borrow_mut().pop().unwrap();
        let response = Response::empty(202).body(b"later".to_vec());
        assert!(servers.complete(poll.registry(), ticket, &response));
        let mut text = String::new();
        drive(&mut poll, &mut servers, &mut handler, |_| {
            text += &received(&mut client);
            text.contains("/now")
        });
        let later = text.find("HTTP/1.1 202").unwrap();
        let now = text.find("HTTP/1.1 200").unwrap();
        assert!(later < now, "{text}");
        assert!(text.contains("\r\n\r\nlater"), "{text}");
    }

    #[test]
    fn a_completion_for_a_connection_that_has_gone_is_ignored() {
        let (mut poll, mut servers, boot) = open();
        let tickets = RefCell::new(Vec::new());
        let mut handler = handler(&tickets);
        let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, boot)).unwrap();
        client.write_all(b"GET /later HTTP/1.1\r\n\r\n").unwrap();
        drive(&mut poll, &mut servers, &mut handler, |_| {
            !tickets.borrow().is_empty()
        });
        servers.begin_stop(poll.registry());
        assert!(!servers.is_drained(), "a deferred reply is in flight");
        assert!(servers.describe_open()[0].contains("awaiting a deferred reply"));
        servers.abandon(poll.registry());
        assert!(servers.is_drained());
        let ticket = tickets.borrow_mut().pop().unwrap();
        assert!(!servers.complete(poll.registry(), ticket, &Response::empty(200)));
    }

    #[test]
    fn at_the_stop_a_deferred_reply_is_awaited_and_closes_the_connection() {
        let (mut poll, mut servers, boot) = open();
        let tickets = RefCell::new(Vec::new());
        let mut handler = handler(&tickets);
        let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, boot)).unwrap();
        client.write_all(b"GET /later HTTP/1.1\r\n\r\n").unwrap();
        drive(&mut poll, &mut servers, &mut handler, |_| {
            !tickets.borrow().is_empty()
        });
        servers.begin_stop(poll.registry());
        let ticket = tickets.borrow_mut().pop().unwrap();
        assert!(servers.complete(poll.registry(), ticket, &Response::empty(202)));
        assert!(servers.is_drained());
        client.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut text = String::new();
        client.read_to_string(&mut text).unwrap();
        assert!(text.starts_with("HTTP/1.1 202"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
    }
}
