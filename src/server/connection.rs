//! One client connection: bytes in, requests parsed, responses out, over TCP or TLS.
//!
//! Owned by `Servers`, which drops it once `is_closed()`; nothing here outlives its socket.
//! Both buffers are bounded: while the output is full or a deferred reply is awaited, no
//! further request is parsed, and reading stops once the input is full.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rustls::{ServerConfig, ServerConnection};
use time::OffsetDateTime;

use super::buffer::{Input, Output};
use super::http::{parse, Limits, Parsed, Request, Response};
use super::reply::{Reply, Ticket};
use super::transport::{Received, Sent, Transport};
use super::Port;

/// How long a keep-alive connection may sit idle between requests.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Most read-answer-write rounds one readiness event may take before other connections' turn.
const ROUNDS_PER_EVENT: usize = 16;

/// What serves each parsed request.
pub(super) type Handler<'a> = dyn FnMut(Port, &Request, Ticket) -> Reply + 'a;

/// A request whose reply was deferred.
struct Awaited {
    request: u64,
    close: bool,
}

/// A client connection and its buffers.
pub(super) struct Connection {
    socket: TcpStream,
    transport: Transport,
    port: Port,
    input: Input,
    output: Output,
    /// Requests parsed so far; numbers the tickets.
    requests: u64,
    awaited: Option<Awaited>,
    /// When the request being received began (or the connection, before its first request).
    request_started: Option<Instant>,
    last_activity: Instant,
    state: State,
    /// Work is left that no poll event will announce (input left unparsed, a reply completed).
    resume: bool,
    /// Whether the output is full, so reading and parsing wait for the client to read.
    paused: bool,
}

/// Where a connection is in its life: one value, moved only forward (see each transition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading and answering requests.
    Open,
    /// The agency's stop began: what is in flight is answered, then the connection closes.
    Stopping,
    /// The client closed its side, or stopped taking bytes: requests already received are
    /// answered, nothing more is read, and the connection closes once the output is out.
    PeerGone,
    /// A last response is queued (`Connection: close`, an error, the stop, or a refusal over
    /// the cap): nothing more is parsed, and the connection closes once it is out.
    Closing { refusal: bool },
    /// The socket is shut and out of the poll; the owner drops the connection.
    Closed,
}

impl Connection {
    /// Wraps an accepted socket and registers it for reading and writing (edge-triggered).
    pub(super) fn open(
        mut socket: TcpStream,
        tls: Option<&Arc<ServerConfig>>,
        port: Port,
        limits: &Limits,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> std::io::Result<Self> {
        let transport = match tls {
            Some(config) => Transport::Tls(Box::new(
                ServerConnection::new(Arc::clone(config)).map_err(std::io::Error::other)?,
            )),
            None => Transport::Plain,
        };
        registry.register(&mut socket, token, Interest::READABLE | Interest::WRITABLE)?;
        Ok(Self {
            socket,
            transport,
            port,
            input: Input::new(limits.max_head.saturating_add(limits.max_body)),
            output: Output::default(),
            requests: 0,
            awaited: None,
            request_started: Some(now),
            last_activity: now,
            state: State::Open,
            resume: false,
            paused: false,
        })
    }

    /// Answers a connection over the cap with a 503 and closes it (over TLS, after the
    /// handshake); such a connection parses no request.
    pub(super) fn refuse(mut self) -> Self {
        let response = Response::error(
            503,
            "Service Unavailable",
            "too many connections; retry later",
        );
        self.write_response(&response, true);
        self.state = State::Closing { refusal: true };
        self
    }

    /// The port the connection came in on.
    pub(super) fn port(&self) -> Port {
        self.port
    }

    /// Since when a kept-alive connection has waited for its next request with nothing in
    /// flight; None while it is busy, or before its first request.
    pub(super) fn idle_since(&self) -> Option<Instant> {
        let idle = self.requests > 0
            && self.request_started.is_none()
            && self.input.is_empty()
            && !self.is_in_flight()
            && !self.is_closing();
        idle.then_some(self.last_activity)
    }

    /// Whether this connection only carries the 503 of `refuse`.
    pub(super) fn is_refusal(&self) -> bool {
        self.state == State::Closing { refusal: true }
    }

    /// Whether a last response is queued, or the socket is already shut.
    fn is_closing(&self) -> bool {
        matches!(self.state, State::Closing { .. } | State::Closed)
    }

    /// The client is gone (or takes no more bytes): nothing more is read.
    fn peer_gone(&mut self) {
        if matches!(self.state, State::Open | State::Stopping) {
            self.state = State::PeerGone;
        }
    }

    /// Reads what arrived, answers complete requests with `handler`, writes what it can.
    pub(super) fn ready(
        &mut self,
        registry: &Registry,
        token: Token,
        limits: &Limits,
        now: Instant,
        handler: &mut Handler<'_>,
    ) {
        self.last_activity = now;
        self.resume = false;
        for _ in 0..ROUNDS_PER_EVENT {
            self.send();
            let received = if self.may_read() {
                self.transport.receive(&mut self.socket, &mut self.input)
            } else {
                Received::Full
            };
            if received == Received::Closed {
                self.peer_gone();
            }
            let held_back = self.answer(token, limits, now, handler);
            self.send();
            // Bytes left unread (the input was full) or unparsed (the output was full) are
            // announced by no poll event once the socket took the answers: go on here.
            self.resume = (received == Received::Full && self.may_read())
                || (held_back && !self.output.is_full());
            if !self.resume {
                break;
            }
        }
        let paused = self.output.is_full() && !self.is_closed();
        if paused && !self.paused {
            log::debug!(
                "{}: the client is not reading; reading paused",
                self.describe()
            );
        }
        self.paused = paused;
        self.finish(registry);
    }

    /// Writes the deferred reply to request `request`; false if that request is not awaited.
    pub(super) fn complete(
        &mut self,
        registry: &Registry,
        request: u64,
        response: &Response,
    ) -> bool {
        match &self.awaited {
            Some(awaited) if awaited.request == request => {
                let close = awaited.close;
                self.awaited = None;
                self.write_response(response, close);
                self.send();
                // Requests pipelined behind this one may wait in the input.
                self.resume = !self.is_closing() && !self.input.is_empty();
                self.finish(registry);
                true
            }
            _ => false,
        }
    }

    /// Whether work is left that only `ready` can do, without a poll event to trigger it.
    pub(super) fn wants_resume(&self) -> bool {
        self.resume && !self.is_closed()
    }

    /// Closes a connection whose request stalled past `header_timeout` or that sat idle too long.
    pub(super) fn tick(&mut self, registry: &Registry, header_timeout: Duration, now: Instant) {
        if self.is_closing() || self.awaited.is_some() {
            return;
        }
        let stalled = self
            .request_started
            .is_some_and(|started| now.duration_since(started) > header_timeout);
        let idle =
            self.request_started.is_none() && now.duration_since(self.last_activity) > IDLE_TIMEOUT;
        if stalled && !self.input.is_empty() {
            let response = Response::error(408, "Request Timeout", "request not received in time");
            self.write_response(&response, true);
            self.send();
            self.finish(registry);
        }
        if (stalled || idle) && !self.is_closed() {
            self.close_now(registry);
        }
    }

    /// Called when the stop begins: a connection with nothing in flight closes now; one with a
    /// response to send or a deferred reply to await closes once that is out.
    pub(super) fn begin_stop(&mut self, registry: &Registry) {
        if self.state == State::Open {
            self.state = State::Stopping;
        }
        if !self.is_in_flight() {
            self.close_now(registry);
        }
    }

    /// Whether a whole request was received and its answer is not yet out.
    fn is_in_flight(&self) -> bool {
        self.has_pending_write() || self.awaited.is_some() || self.resume
    }

    /// True once the socket is shut; the owner then drops the connection.
    pub(super) fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// A short description for the log of what is still open during the stop.
    pub(super) fn describe(&self) -> String {
        let peer = self
            .socket
            .peer_addr()
            .map_or_else(|_| "unknown peer".to_owned(), |addr| addr.to_string());
        let awaiting = if self.awaited.is_some() {
            ", awaiting a deferred reply"
        } else {
            ""
        };
        format!(
            "{} connection from {peer} ({} bytes received, {} to send{awaiting})",
            self.port.name(),
            self.input.len(),
            self.output.len()
        )
    }

    /// Reading goes on while there is room and the answers are being taken by the client.
    fn may_read(&self) -> bool {
        let stopped_with_nothing_pending =
            self.state == State::Stopping && self.output.is_empty() && self.awaited.is_none();
        // A TLS handshake still needs the client's records, even on a closing connection.
        let closed_for_reading = self.is_closing() && !self.transport.is_handshaking();
        !(closed_for_reading
            || self.state == State::PeerGone
            || self.output.is_full()
            || self.input.room() == 0
            || stopped_with_nothing_pending)
    }

    /// Answers the complete requests received; true if some input was held back because the
    /// output was full.
    fn answer(
        &mut self,
        token: Token,
        limits: &Limits,
        now: Instant,
        handler: &mut Handler<'_>,
    ) -> bool {
        while !self.is_closing() && self.awaited.is_none() && !self.input.is_empty() {
            if self.output.is_full() {
                return true;
            }
            self.request_started.get_or_insert(now);
            match parse(self.input.unparsed(), limits) {
                Ok(Parsed::Incomplete) => return false,
                Ok(Parsed::Complete(request, used)) => {
                    self.input.consume(used);
                    self.request_started = None;
                    self.requests += 1;
                    let ticket = Ticket {
                        connection: token,
                        request: self.requests,
                    };
                    let close = !request.keep_alive;
                    match handler(self.port, &request, ticket) {
                        Reply::Now(response) => self.write_response(&response, close),
                        Reply::Later => {
                            self.awaited = Some(Awaited {
                                request: self.requests,
                                close,
                            });
                        }
                    }
                }
                Err(response) => {
                    self.write_response(&response, true);
                    self.input.clear();
                }
            }
        }
        false
    }

    /// Queues `response`; after it the connection closes if asked, or once the stop began.
    fn write_response(&mut self, response: &Response, close: bool) {
        let close = close || self.state == State::Stopping || response.closes();
        response.write_to(self.output.append(), close, OffsetDateTime::now_utc());
        if close && !self.is_closing() {
            self.state = State::Closing { refusal: false };
        }
    }

    fn has_pending_write(&self) -> bool {
        // rustls keeps what is written during the handshake until the handshake ends.
        !self.output.is_empty()
            || self.transport.wants_write()
            || (self.is_closing() && self.transport.is_handshaking())
    }

    fn send(&mut self) {
        if self.is_closed() || !self.has_pending_write() {
            return;
        }
        if self.transport.send(&mut self.socket, &mut self.output) == Sent::Failed {
            self.peer_gone();
            self.output.clear();
        }
    }

    /// Closes once nothing is left to do: the answer is out and no more will come.
    fn finish(&mut self, registry: &Registry) {
        if self.is_closed() || self.has_pending_write() || self.awaited.is_some() || self.resume {
            return;
        }
        if self.state != State::Open {
            self.close_now(registry);
        }
    }

    /// Shuts the socket and leaves the poll; the owner drops the connection.
    pub(super) fn close_now(&mut self, registry: &Registry) {
        if self.is_closed() {
            return;
        }
        self.transport.close(&mut self.socket);
        let _ = registry.deregister(&mut self.socket);
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
        self.state = State::Closed;
    }
}
