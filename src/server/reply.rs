//! What a handler gives back for a request: a response now, or a promise to answer later.
//!
//! A deferred answer is addressed by a `Ticket`, which the handler keeps and the owner later
//! passes to `Servers::complete` with the response. Until then the connection answers nothing
//! else, so responses stay in request order.

use mio::Token;

use super::http::Response;

/// Identifies one request on one connection; opaque outside the servers.
#[derive(Debug, PartialEq, Eq)]
pub struct Ticket {
    pub(super) connection: Token,
    pub(super) request: u64,
}

/// A handler's answer to a request.
#[derive(Debug)]
pub enum Reply {
    /// Write this response now.
    Now(Response),
    /// The response will come through `Servers::complete` with the request's ticket.
    Later,
}
