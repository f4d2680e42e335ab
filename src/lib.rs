//! keria: a KERI agency that hosts one agent per Signify controller.
//!
//! The rooms, each importing only the ones below it: `commands` (one per subcommand) →
//! `runtime` (the run loop and the service that owns the poll, the agency and the servers) →
//! `api` (the three ports' routes, which borrow the agency per request) → `agency` (agents and
//! their per-controller domain, no HTTP) → `store` (the one redb store) and `keri`/`signify`
//! (wire formats, no I/O). `server` (HTTP over mio) and `process` (signals, lock, logging,
//! workers) are leaves that anything may use.
//!
//! The lifecycle, from the outside in: `start` installs the signals, takes the data-dir lock,
//! and opens the service, which opens the agency (its store, then each agent on first use) and
//! binds the three servers; the run loop drives the service until the stop flag is set; then
//! the service closes the servers, then the agents in reverse order, then the store.

pub mod agency;
pub mod api;
pub mod arg_values;
pub mod cli;
pub mod commands;
pub mod config;
pub mod exit_code;
pub mod keri;
pub mod process;
pub mod runtime;
pub mod server;
pub mod signify;
pub mod store;
