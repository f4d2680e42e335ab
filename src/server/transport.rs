//! Moving bytes between a socket and a connection's buffers, in the clear or through rustls.
//!
//! TLS follows rustls' mio server pattern: `read_tls`, `process_new_packets`, then drain the
//! plaintext reader fully before reading more, so rustls' own buffers never fill.

use std::io::{self, Write};

use mio::net::TcpStream;
use rustls::ServerConnection;

use super::buffer::{Input, Output};

/// Why a receive stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Received {
    /// The socket has nothing more for now; the poll will say when it has.
    Blocked,
    /// The input buffer is full; more may wait, and no poll event will say so.
    Full,
    /// The peer closed its side, the connection failed, or TLS was refused.
    Closed,
}

/// Why a send stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sent {
    /// Everything was handed to the socket.
    Done,
    /// The socket (or the TLS handshake) takes no more for now; the poll will say when it does.
    Blocked,
    /// The peer is gone; what was pending is lost.
    Failed,
}

/// Plain TCP, or a rustls session over it.
pub(super) enum Transport {
    Plain,
    Tls(Box<ServerConnection>),
}

impl Transport {
    /// Reads into `input` until the socket blocks, the input fills, or the stream ends.
    pub(super) fn receive(&mut self, socket: &mut TcpStream, input: &mut Input) -> Received {
        match self {
            Self::Plain => loop {
                if input.room() == 0 {
                    return Received::Full;
                }
                match input.read_from(socket) {
                    Ok(0) => return Received::Closed,
                    Ok(_) => {}
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        return Received::Blocked;
                    }
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return Received::Closed,
                }
            },
            Self::Tls(tls) => receive_tls(tls, socket, input),
        }
    }

    /// Writes what `output` holds (and what TLS must send) until done or the socket blocks.
    pub(super) fn send(&mut self, socket: &mut TcpStream, output: &mut Output) -> Sent {
        match self {
            Self::Plain => {
                while !output.is_empty() {
                    match socket.write(output.pending()) {
                        Ok(0) => return Sent::Failed,
                        Ok(written) => output.advance(written),
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                            return Sent::Blocked;
                        }
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return Sent::Failed,
                    }
                }
                Sent::Done
            }
            Self::Tls(tls) => send_tls(tls, socket, output),
        }
    }

    /// Whether TLS still has records to send.
    pub(super) fn wants_write(&self) -> bool {
        match self {
            Self::Plain => false,
            Self::Tls(tls) => tls.wants_write(),
        }
    }

    /// Whether a TLS handshake is still under way.
    pub(super) fn is_handshaking(&self) -> bool {
        match self {
            Self::Plain => false,
            Self::Tls(tls) => tls.is_handshaking(),
        }
    }

    /// Sends TLS close_notify, as far as the socket takes it.
    pub(super) fn close(&mut self, socket: &mut TcpStream) {
        if let Self::Tls(tls) = self {
            tls.send_close_notify();
            let _ = tls.write_tls(socket);
        }
    }
}

fn receive_tls(tls: &mut ServerConnection, socket: &mut TcpStream, input: &mut Input) -> Received {
    loop {
        // Take every byte of plaintext rustls holds before asking it to read more.
        loop {
            if input.room() == 0 {
                return Received::Full;
            }
            match input.read_from(&mut tls.reader()) {
                // A close_notify: the peer sends nothing more.
                Ok(0) => return Received::Closed,
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return Received::Closed,
            }
        }
        match tls.read_tls(socket) {
            Ok(0) => {
                // End of stream; what rustls already decrypted was taken above.
                let _ = tls.process_new_packets();
                return Received::Closed;
            }
            Ok(_) => {
                if let Err(err) = tls.process_new_packets() {
                    log::debug!("TLS error: {err}");
                    // Send the alert rustls queued, then give up.
                    let _ = tls.write_tls(socket);
                    return Received::Closed;
                }
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Received::Blocked,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Received::Closed,
        }
    }
}

fn send_tls(tls: &mut ServerConnection, socket: &mut TcpStream, output: &mut Output) -> Sent {
    loop {
        if !output.is_empty() {
            match tls.writer().write(output.pending()) {
                Ok(taken) => output.advance(taken),
                Err(_) => return Sent::Failed,
            }
        }
        if !tls.wants_write() {
            // Either all is out, or rustls holds the plaintext until the handshake ends.
            return if output.is_empty() {
                Sent::Done
            } else {
                Sent::Blocked
            };
        }
        while tls.wants_write() {
            match tls.write_tls(socket) {
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Sent::Blocked,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Sent::Failed,
            }
        }
    }
}
