//! The signed identifier routes: `/identifiers…` and `/operations…`.
//!
//! Each handler works on the authenticated controller's rows only: reads from a consistent
//! view of what is durable, writes staged into the open batch (acknowledged once it commits).

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::resolutions::Resolutions;
use crate::agency::{Agency, Failure};
use crate::identifiers;
use crate::keri::event::Event;
use crate::keri::kel::Appended;
use crate::keri::state::{format_datetime, python_json};
use crate::operations;
use crate::server::http::{Request, Response};
use crate::server::json;
use crate::store::OwnerWriter;

/// `GET /identifiers`, with `Range: aids=S-E` (inclusive) answered 206.
pub(super) fn list(agency: &Agency, controller: &str, request: &Request) -> Response {
    let all = match agency
        .read()
        .and_then(|reader| identifiers::list(&reader.owner(controller)))
    {
        Ok(all) => all,
        Err(err) => return failure(Failure::Storage(err)),
    };
    let total = all.len();
    let Some(range) = request.header("range") else {
        let body: Vec<Value> = all.iter().map(identifiers::Identifier::summary).collect();
        return json_response(200, &Value::Array(body))
            .header("Accept-Ranges", "aids")
            .header(
                "Content-Range",
                &content_range(0, total.saturating_sub(1), total),
            );
    };
    let Some((start, end)) = parse_range(range) else {
        return Response::error(
            400,
            "400 Bad Request",
            &format!("Range must be aids=START-END, not {range:?}"),
        );
    };
    if total > 0 && start >= total {
        return Response::error(
            416,
            "416 Range Not Satisfiable",
            &format!("there are {total} identifiers"),
        )
        .header("Content-Range", &format!("aids */{total}"));
    }
    let end = end.min(total.saturating_sub(1));
    let body: Vec<Value> = all
        .iter()
        .skip(start)
        .take(end + 1 - start.min(end + 1))
        .map(identifiers::Identifier::summary)
        .collect();
    json_response(206, &Value::Array(body))
        .header("Accept-Ranges", "aids")
        .header("Content-Range", &content_range(start, end, total))
}

/// `POST /identifiers`: a signed inception, staged with its `done.{prefix}` operation.
pub(super) fn create(agency: &mut Agency, controller: &str, request: &Request) -> Response {
    staged_operation(agency, controller, request, 202, |rows, body, seen| {
        let icp = identifiers::create(rows, body, seen)?;
        let operation = operations::done(
            &format!("done.{}", icp.prefix()),
            json!({"pre": icp.prefix(), "response": icp.value()}),
            icp.value().clone(),
        );
        Ok((operation, true))
    })
}

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

/// `GET /identifiers/{name or prefix}`.
pub(super) fn get(agency: &Agency, controller: &str, name: &str) -> Response {
    let found = agency
        .read()
        .map_err(Failure::Storage)
        .and_then(|reader| identifiers::find(&reader.owner(controller), name));
    match found {
        Ok(identifier) => json_response(200, &identifier.detail()),
        Err(err) => failure(err),
    }
}

/// `PUT /identifiers/{name}` `{"name": new}`: renames.
pub(super) fn rename(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
) -> Response {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    match agency.stage(controller, |rows| identifiers::rename(rows, name, &body)) {
        Ok(identifier) => json_response(200, &identifier.detail()),
        Err(err) => failure(err),
    }
}

/// `POST /identifiers/{name}/events`: the next `ixn` or `rot`, with its `done.{said}`.
pub(super) fn event(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
) -> Response {
    staged_operation(agency, controller, request, 200, |rows, body, seen| {
        let (event, appended) = identifiers::append(rows, name, body, seen)?;
        Ok((event_operation(&event), appended == Appended::Accepted))
    })
}

/// The `done.{said}` operation of an identifier's accepted `ixn` or `rot`.
pub(super) fn event_operation(event: &Event) -> Value {
    operations::done(
        &format!("done.{}", event.said()),
        json!({"response": event.value()}),
        event.value().clone(),
    )
}

/// `GET /operations`.
pub(super) fn operations(
    agency: &mut Agency,
    controller: &str,
    resolutions: &Resolutions,
) -> Response {
    let listed = agency
        .read()
        .and_then(|reader| operations::list(&reader.owner(controller)))
        .map_err(Failure::Storage)
        .and_then(|all| resolutions.settle(agency, controller, all));
    match listed {
        Ok(all) => json_response(200, &Value::Array(all)),
        Err(err) => failure(err),
    }
}

/// `GET /operations/{name}`.
pub(super) fn operation(
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
        Ok(None) => operation_not_found(name),
        Err(err) => failure(err),
    }
}

/// `DELETE /operations/{name}`.
pub(super) fn delete_operation(agency: &mut Agency, controller: &str, name: &str) -> Response {
    match agency.stage(controller, |rows| Ok(operations::delete(rows, name)?)) {
        Ok(true) => Response::empty(204),
        Ok(false) => operation_not_found(name),
        Err(err) => failure(err),
    }
}

fn operation_not_found(name: &str) -> Response {
    Response::json_text(
        404,
        python_json(&json!({"title": format!("long running operation '{name}' not found")})),
    )
}

/// `aids=S-E` → (S, E), inclusive, S ≤ E.
fn parse_range(range: &str) -> Option<(usize, usize)> {
    let (start, end) = range.trim().strip_prefix("aids=")?.split_once('-')?;
    let start: usize = start.trim().parse().ok()?;
    let end: usize = end.trim().parse().ok()?;
    (start <= end).then_some((start, end))
}

/// `aids S-E/T`; an empty list is `aids 0-0/0`, as Signify expects.
fn content_range(start: usize, end: usize, total: usize) -> String {
    if total == 0 {
        return "aids 0-0/0".to_owned();
    }
    format!("aids {start}-{end}/{total}")
}

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

pub(super) fn json_response(status: u16, value: &Value) -> Response {
    Response::json_text(status, python_json(value))
}

pub(super) fn failure(failure: Failure) -> Response {
    match failure {
        Failure::Invalid(reason) => Response::error(400, "400 Bad Request", &reason),
        Failure::NotFound(reason) => Response::error(404, "404 Not Found", &reason),
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

pub(super) fn now() -> String {
    format_datetime(OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::{content_range, parse_range};

    #[test]
    fn ranges_are_inclusive_and_totals_exact() {
        assert_eq!(parse_range("aids=0-24"), Some((0, 24)));
        assert_eq!(parse_range("aids=3-2"), None);
        assert_eq!(parse_range("bytes=0-1"), None);
        assert_eq!(parse_range("aids=x-1"), None);
        assert_eq!(content_range(0, 1, 2), "aids 0-1/2");
        assert_eq!(content_range(0, 0, 0), "aids 0-0/0");
    }
}
