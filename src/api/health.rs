//! `GET /health` on the boot port: KERIA's message, plus status, version, pid, uptime, agents.

use std::time::Instant;

use serde_json::json;
use time::OffsetDateTime;

use crate::keri::datetime::format_datetime;
use crate::server::http::Response;

/// 200 while serving, 503 once the stop has begun.
pub(super) fn health(stopping: bool, started: Instant, loaded: usize) -> Response {
    let now = format_datetime(OffsetDateTime::now_utc());
    let (status, state, message) = if stopping {
        (
            503,
            "stopping",
            format!("Agency is stopping. Time is {now}"),
        )
    } else {
        (200, "ok", format!("Health is okay. Time is {now}"))
    };
    Response::json(
        status,
        &json!({
            "message": message,
            "status": state,
            "version": env!("CARGO_PKG_VERSION"),
            "pid": std::process::id(),
            "uptime": started.elapsed().as_secs_f64(),
            "agents": loaded,
        }),
    )
}
