//! KERI and Signify primitives the agency speaks on the wire.
//!
//! `cesr` encodes keys, digests and signatures as qb64 text; `event` builds, serializes and
//! verifies KERI v1 JSON key events; `state` turns a key event log into the key state record
//! Signify reads; `passcode` derives a Signify controller's keys from its passcode; `httpsig`
//! signs and verifies Signify's HTTP request and response signatures. Nothing here does I/O
//! beyond reading the system random source.

pub mod cesr;
pub mod event;
pub mod httpsig;
pub mod kel;
pub mod passcode;
pub mod reply;
pub mod state;
pub mod stream;
pub mod threshold;
#[cfg(test)]
mod vectors;
