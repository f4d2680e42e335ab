//! What runs while the agency serves: the `service` owns the poll, the agency and the servers;
//! the `run_loop` drives it, tock by tock, until the stop flag is set.

pub mod run_loop;
pub mod service;
mod tokens;
