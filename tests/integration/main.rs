//! Integration tests: they drive the built `keria` binary (and check its generated files).

#![allow(unreachable_pub)]

mod agency;
mod backup;
mod boot_command;
mod challenges;
mod cli_hardening;
mod close_order;
mod connect;
mod controller_kel;
mod credentials;
mod delegation;
mod exchanges;
mod generated;
mod groups;
mod hardening;
mod harness;
mod hostile_input;
mod identifiers;
mod import;
mod launcher;
mod layout;
mod log_format;
mod metrics;
mod oobis;
mod peers;
mod registries;
mod routes;
mod schemas;
mod signify;
mod signify04;
mod store_failure;
mod tls;
mod vlei;
mod witnessed;
mod witnesses;
mod workflow;
