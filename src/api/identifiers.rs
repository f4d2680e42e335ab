//! The signed identifier routes: `/identifiers…`.
//!
//! Each handler works on the authenticated controller's rows only: reads from a consistent
//! view of what is durable, writes staged into the open batch (acknowledged once it commits).

use serde_json::{json, Value};

use super::operations::event_operation;
use super::reply::{failure, json_body, json_response, staged_operation};
use crate::agency::identifiers;
use crate::agency::operations;
use crate::agency::{Agency, Failure};
use crate::server::http::{Request, Response};

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
        Ok((event_operation(&event), appended.is_new()))
    })
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
