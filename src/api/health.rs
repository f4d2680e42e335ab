//! `GET /health` on the boot port: KERIA's message, plus status, version, pid, uptime, agents,
//! and whether the store is failing (a full disk): the agency still serves reads then, so the
//! answer stays 200 and says `"store": "failing"` with the reason, until a commit succeeds.

use std::time::Instant;

use serde_json::json;
use time::OffsetDateTime;

use crate::keri::datetime::format_datetime;
use crate::server::http::Response;
use crate::store::Failing;

/// 200 while serving, 503 once the stop has begun.
pub(super) fn health(
    stopping: bool,
    started: Instant,
    loaded: usize,
    failing: Option<&Failing>,
) -> Response {
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
    let mut body = json!({
        "message": message,
        "status": state,
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "uptime": started.elapsed().as_secs_f64(),
        "agents": loaded,
        "store": if failing.is_some() { "failing" } else { "ok" },
    });
    if let Some(failing) = failing {
        body["storeError"] = json!(failing.reason);
        body["storeFailingFor"] = json!(failing.since.elapsed().as_secs_f64());
    }
    Response::json(status, &body)
}
