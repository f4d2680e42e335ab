//! One client connection: bytes in, requests parsed, responses out, over TCP or TLS.
//!
//! Owned by `Servers`, which drops it once `is_closed()`; nothing here outlives its socket.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rustls::{ServerConfig, ServerConnection};
use time::OffsetDateTime;

use super::http::{parse, Limits, Parsed, Request, Response};
use super::Port;

/// How long a keep-alive connection may sit idle between requests.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A client connection and its buffers.
pub struct Connection {
    socket: TcpStream,
    tls: Option<Box<ServerConnection>>,
    port: Port,
    input: Vec<u8>,
    output: Vec<u8>,
    /// When the request being received began (or the connection, before its first request).
    request_started: Option<Instant>,
    last_activity: Instant,
    peer_closed: bool,
    closing: bool,
    closed: bool,
    interest: Interest,
}

impl Connection {
    /// Wraps an accepted socket and registers it for reading.
    pub fn open(
        mut socket: TcpStream,
        tls: Option<&Arc<ServerConfig>>,
        port: Port,
        registry: &Registry,
        token: Token,
        now: Instant,
    ) -> io::Result<Self> {
        let tls = match tls {
            Some(config) => Some(Box::new(
                ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?,
            )),
            None => None,
        };
        registry.register(&mut socket, token, Interest::READABLE)?;
        Ok(Self {
            socket,
            tls,
            port,
            input: Vec::new(),
            output: Vec::new(),
            request_started: Some(now),
            last_activity: now,
            peer_closed: false,
            closing: false,
            closed: false,
            interest: Interest::READABLE,
        })
    }

    /// The port this connection came in on.
    pub fn port(&self) -> Port {
        self.port
    }

    /// Reads what arrived, answers every complete request with `handler`, writes what it can.
    pub fn ready(
        &mut self,
        registry: &Registry,
        token: Token,
        limits: &Limits,
        stopping: bool,
        now: Instant,
        handler: &mut dyn FnMut(Port, &Request) -> Response,
    ) {
        self.last_activity = now;
        self.read_in();
        self.answer(limits, stopping, now, handler);
        self.flush();
        self.finish(registry, token);
    }

    /// Closes a connection whose request stalled past `header_timeout` or that sat idle too long.
    pub fn tick(
        &mut self,
        registry: &Registry,
        token: Token,
        header_timeout: Duration,
        now: Instant,
    ) {
        let stalled = self
            .request_started
            .is_some_and(|started| now.duration_since(started) > header_timeout);
        let idle =
            self.request_started.is_none() && now.duration_since(self.last_activity) > IDLE_TIMEOUT;
        if (stalled || idle) && !self.closing {
            if stalled && !self.input.is_empty() {
                let response =
                    Response::error(408, "Request Timeout", "request not received in time");
                response.write_to(&mut self.output, true, OffsetDateTime::now_utc());
                self.closing = true;
                self.flush();
                self.finish(registry, token);
            }
            if !self.closed {
                self.close_now(registry);
            }
        }
    }

    /// Called when the stop begins: an idle connection closes now, a busy one after its response.
    pub fn begin_stop(&mut self, registry: &Registry) {
        if self.is_idle() {
            self.close_now(registry);
        }
    }

    /// Whether nothing is half received and nothing waits to be sent.
    pub fn is_idle(&self) -> bool {
        self.input.is_empty() && !self.has_output()
    }

    /// True once the socket is shut; the owner then drops the connection.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// A short description for the log of what is still open at the shutdown deadline.
    pub fn describe(&self) -> String {
        let peer = self
            .socket
            .peer_addr()
            .map_or_else(|_| "unknown peer".to_owned(), |addr| addr.to_string());
        format!(
            "{} connection from {peer} ({} bytes received, {} to send)",
            self.port.name(),
            self.input.len(),
            self.output.len()
        )
    }

    fn read_in(&mut self) {
        let mut chunk = [0_u8; 16 * 1024];
        match self.tls.as_deref_mut() {
            None => loop {
                match self.socket.read(&mut chunk) {
                    Ok(0) => {
                        self.peer_closed = true;
                        return;
                    }
                    Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        self.peer_closed = true;
                        return;
                    }
                }
            },
            Some(tls) => {
                loop {
                    match tls.read_tls(&mut self.socket) {
                        Ok(0) => {
                            self.peer_closed = true;
                            break;
                        }
                        Ok(_) => {
                            if let Err(err) = tls.process_new_packets() {
                                log::debug!("TLS error on the {} port: {err}", self.port.name());
                                let _ = tls.write_tls(&mut self.socket);
                                self.peer_closed = true;
                                self.input.clear();
                                return;
                            }
                        }
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => {
                            self.peer_closed = true;
                            break;
                        }
                    }
                }
                loop {
                    match tls.reader().read(&mut chunk) {
                        Ok(0) => {
                            self.peer_closed = true;
                            return;
                        }
                        Ok(n) => self.input.extend_from_slice(&chunk[..n]),
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                        Err(_) => {
                            self.peer_closed = true;
                            return;
                        }
                    }
                }
            }
        }
    }

    fn answer(
        &mut self,
        limits: &Limits,
        stopping: bool,
        now: Instant,
        handler: &mut dyn FnMut(Port, &Request) -> Response,
    ) {
        while !self.closing && !self.input.is_empty() {
            self.request_started.get_or_insert(now);
            match parse(&self.input, limits) {
                Ok(Parsed::Incomplete) => return,
                Ok(Parsed::Complete(request, used)) => {
                    self.input.drain(..used);
                    let response = handler(self.port, &request);
                    let close = !request.keep_alive || stopping || response.closes();
                    response.write_to(&mut self.output, close, OffsetDateTime::now_utc());
                    self.request_started = None;
                    self.closing = close;
                }
                Err(response) => {
                    response.write_to(&mut self.output, true, OffsetDateTime::now_utc());
                    self.input.clear();
                    self.closing = true;
                }
            }
        }
    }

    fn has_output(&self) -> bool {
        !self.output.is_empty() || self.tls.as_ref().is_some_and(|tls| tls.wants_write())
    }

    fn flush(&mut self) {
        match self.tls.as_deref_mut() {
            None => {
                let mut written = 0;
                while written < self.output.len() {
                    match self.socket.write(&self.output[written..]) {
                        Ok(0) => {
                            self.peer_closed = true;
                            self.output.clear();
                            return;
                        }
                        Ok(n) => written += n,
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => {
                            self.peer_closed = true;
                            self.output.clear();
                            return;
                        }
                    }
                }
                self.output.drain(..written);
            }
            Some(tls) => {
                if !self.output.is_empty() {
                    let Ok(n) = tls.writer().write(&self.output) else {
                        self.peer_closed = true;
                        self.output.clear();
                        return;
                    };
                    self.output.drain(..n);
                }
                while tls.wants_write() {
                    match tls.write_tls(&mut self.socket) {
                        Ok(_) => {}
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => {
                            self.peer_closed = true;
                            self.output.clear();
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Closes when the work is done, otherwise asks the poll for what comes next.
    fn finish(&mut self, registry: &Registry, token: Token) {
        if (self.closing || self.peer_closed) && !self.has_output() {
            self.close_now(registry);
            return;
        }
        let wanted = if self.has_output() {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if wanted != self.interest {
            if registry
                .reregister(&mut self.socket, token, wanted)
                .is_err()
            {
                self.close_now(registry);
                return;
            }
            self.interest = wanted;
        }
    }

    fn close_now(&mut self, registry: &Registry) {
        if self.closed {
            return;
        }
        if let Some(tls) = self.tls.as_deref_mut() {
            tls.send_close_notify();
            let _ = tls.write_tls(&mut self.socket);
        }
        let _ = registry.deregister(&mut self.socket);
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
        self.closed = true;
    }
}
