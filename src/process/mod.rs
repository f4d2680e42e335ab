//! The OS-facing leaves: `signals`, the data-dir `lock`, systemd's `notify`, `logging`, the
//! process's own `metrics`, the pool of `workers` for everything that blocks and the `fetcher`'s
//! HTTP jobs it runs. Nothing here knows the agency.

pub mod fetcher;
pub mod lock;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod signals;
pub mod workers;
