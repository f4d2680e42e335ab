//! KERI and Signify primitives the agency speaks on the wire.
//!
//! `cesr` encodes keys, digests, signatures, sequence numbers and datetimes as qb64 text;
//! `event` builds, serializes and verifies KERI v1 JSON key events, with `threshold` for their
//! numeric and weighted thresholds; `kel` validates each event against the key state it
//! follows; `state` writes a key state as the record Signify reads; `reply` verifies and builds
//! `rpy` messages, `exchange` peer-to-peer `exn` messages; `stream` parses and writes CESR
//! streams of messages and attachments; `oobi` writes an agent's OOBI stream and verifies a
//! fetched one; `passcode` derives a Signify controller's keys from its passcode; `httpsig`
//! signs and verifies Signify's HTTP request and response signatures. Nothing here does I/O
//! beyond reading the system random source.
//!
//! `tel` verifies the inception (`vcp`) of a credential registry's transaction event log.

pub mod build;
pub mod cesr;
pub mod datetime;
pub mod error;
pub mod event;
pub mod exchange;
mod fields;
pub mod ilk;
pub mod json;
pub mod kel;
pub mod oobi;
pub mod primitives;
pub mod reply;
mod routed;
pub mod seal;
mod serder;
mod signatures;
pub mod state;
pub mod stream;
pub mod tel;
pub mod threshold;
#[cfg(test)]
mod vectors;
