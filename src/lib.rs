//! keria: a KERI agency that hosts one agent per Signify controller.
//!
//! The lifecycle, from the outside in: `start` installs `signals`, takes the data-dir `lock`,
//! and opens the `service`, which opens the `agency` (its `store`, then each `agent` on first
//! use) and binds the three `server`s; the `run_loop` drives the service until the stop flag
//! is set; then the service closes servers, then agents in reverse order, then stores.

pub mod agency;
pub mod agent;
pub mod api;
pub mod arg_values;
pub mod backup_command;
pub mod boot_command;
pub mod challenges;
pub mod cli;
pub mod client;
pub mod config;
pub mod exchanges;
pub mod exit_code;
pub mod fetcher;
pub mod identifiers;
pub mod kels;
pub mod keri;
pub mod legacy;
pub mod lock;
pub mod logging;
pub mod metrics;
pub mod notifications;
pub mod notify;
pub mod oobis;
pub mod operations;
mod process_metrics;
pub mod registries;
pub mod restore_command;
pub mod roles;
pub mod run_loop;
pub mod secrets;
pub mod server;
pub mod service;
pub mod signals;
pub mod start;
pub mod status;
pub mod store;
pub mod store_copy;
