//! The signed operation routes: `GET /operations[?type=]`, `GET|DELETE /operations/{name}`.
//!
//! Listing settles first: an OOBI resolution or key-state query that a restart interrupted is
//! failed (and that failure staged) rather than left pending forever.

use serde_json::{json, Value};

use super::reply::{failure, json_response};
use crate::agency::operations;
use crate::agency::resolutions::Resolutions;
use crate::agency::{Agency, Failure};
use crate::keri::event::Event;
use crate::keri::json::python_json;
use crate::server::http::{Request, Response};

/// The `done.{said}` operation of an identifier's accepted `ixn` or `rot`.
pub(super) fn event_operation(event: &Event) -> Value {
    operations::done(
        &format!("done.{}", event.said()),
        json!({"response": event.value()}),
        event.value().clone(),
    )
}

/// `GET /operations[?type=]`: every operation, or those of one kind (the part of the name
/// before its first `.`: `oobi`, `endrole`, `done`, …).
pub(super) fn list(
    agency: &mut Agency,
    controller: &str,
    request: &Request,
    resolutions: &Resolutions,
) -> Response {
    let kind = request.query_param("type");
    let listed = agency
        .read()
        .and_then(|reader| operations::list(&reader.owner(controller), kind))
        .map_err(Failure::Storage)
        .and_then(|all| resolutions.settle(agency, controller, all));
    match listed {
        Ok(all) => json_response(200, &Value::Array(all)),
        Err(err) => failure(err),
    }
}

/// `GET /operations/{name}`.
pub(super) fn get(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    resolutions: &Resolutions,
) -> Response {
    let found = agency
        .read()
        .and_then(|reader| operations::get(&reader.owner(controller), name))
        .map_err(Failure::Storage)
        .and_then(|found| {
            let settled = resolutions.settle(agency, controller, found.into_iter().collect())?;
            Ok(settled.into_iter().next())
        });
    match found {
        Ok(Some(operation)) => json_response(200, &operation),
        Ok(None) => not_found(name),
        Err(err) => failure(err),
    }
}

/// `DELETE /operations/{name}`.
pub(super) fn delete(agency: &mut Agency, controller: &str, name: &str) -> Response {
    match agency.stage(controller, |rows| Ok(operations::delete(rows, name)?)) {
        Ok(true) => Response::empty(204),
        Ok(false) => not_found(name),
        Err(err) => failure(err),
    }
}

fn not_found(name: &str) -> Response {
    Response::json_text(
        404,
        python_json(&json!({"title": format!("long running operation '{name}' not found")})),
    )
}
