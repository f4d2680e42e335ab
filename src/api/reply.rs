//! The shared shapes of the admin API's answers: a request's JSON body, a JSON reply in
//! KERIA's serialization, a domain `Failure` as its HTTP error, and the stage-then-answer path
//! of every request that writes a record with its operation.

use serde_json::Value;
use time::OffsetDateTime;

use crate::agency::operations;
use crate::agency::{Agency, Failure};
use crate::keri::datetime::format_datetime;
use crate::keri::json::python_json;
use crate::server::http::{Request, Response};
use crate::server::json;
use crate::store::OwnerWriter;

/// Stages what `stage` makes of the request's JSON body (at the time `seen`), and the
/// operation it returns (unless it says the operation is already stored); answers `status`
/// with that operation, once the batch commits.
pub(super) fn staged_operation(
    agency: &mut Agency,
    controller: &str,
    request: &Request,
    status: u16,
    stage: impl FnOnce(&mut OwnerWriter<'_>, &Value, &str) -> Result<(Value, bool), Failure>,
) -> Response {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let seen = now();
    let outcome = agency.stage(controller, |rows| {
        let (operation, new) = stage(rows, &body, &seen)?;
        if new {
            operations::stage(rows, &operation)?;
        }
        Ok(operation)
    });
    match outcome {
        Ok(operation) => json_response(status, &operation),
        Err(err) => failure(err),
    }
}

/// The request's body, which must be a JSON object.
pub(super) fn json_body(request: &Request) -> Result<Value, Response> {
    match json::parse(&request.body) {
        Ok(body @ Value::Object(_)) => Ok(body),
        Ok(_) => Err(Response::error(
            400,
            "400 Bad Request",
            "the body must be a JSON object",
        )),
        Err(err) => Err(Response::error(
            400,
            "Invalid JSON",
            &format!("Could not parse JSON body - {err}"),
        )),
    }
}

/// `value` in KERIA's JSON serialization.
pub(super) fn json_response(status: u16, value: &Value) -> Response {
    Response::json_text(status, python_json(value))
}

/// The HTTP error a domain failure is answered with.
pub(super) fn failure(failure: Failure) -> Response {
    match failure {
        Failure::Invalid(reason) => Response::error(400, "400 Bad Request", &reason),
        Failure::NotFound(reason) => Response::error(404, "404 Not Found", &reason),
        Failure::Busy(reason) => Response::error(503, "503 Service Unavailable", &reason),
        Failure::Storage(err) => {
            log::error!("{err:#}");
            Response::error(
                500,
                "500 Internal Server Error",
                "the agent's store failed; nothing was kept",
            )
        }
    }
}

/// Now, as KERI writes a datetime.
pub(super) fn now() -> String {
    format_datetime(OffsetDateTime::now_utc())
}
