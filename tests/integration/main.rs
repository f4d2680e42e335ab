//! Integration tests: every one drives the built `keria` binary.

#![allow(unreachable_pub)]

mod harness;
mod launcher;
mod tls;
