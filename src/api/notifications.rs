//! The notification routes: `GET /notifications` (with `Range: notes=S-E`),
//! `PUT /notifications/{id}` marks one read, `DELETE /notifications/{id}` removes it.

use serde_json::Value;

use super::reply::{failure, json_response};
use crate::agency::notifications;
use crate::agency::{Agency, Failure};
use crate::server::http::{Request, Response};

/// `GET /notifications`, with `Range: notes=S-E` (inclusive) answered 206.
pub(super) fn list(agency: &Agency, controller: &str, request: &Request) -> Response {
    let all = match agency
        .read()
        .and_then(|reader| notifications::list(&reader.owner(controller)))
    {
        Ok(all) => all,
        Err(err) => return failure(Failure::Storage(err)),
    };
    let (status, start, end) = match request.header("range") {
        None => (200, 0, DEFAULT_NOTES - 1),
        Some(range) => match parse_range(range) {
            Some((start, end)) => (206, start, end),
            None => {
                return failure(Failure::Invalid(format!(
                    "Range must be notes=START-END, not {range:?}"
                )))
            }
        },
    };
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(end.saturating_sub(start) + 1)
        .cloned()
        .collect();
    let content_range = if page.is_empty() {
        format!("notes 0-0/{}", all.len())
    } else {
        format!("notes {start}-{}/{}", start + page.len() - 1, all.len())
    };
    json_response(status, &Value::Array(page))
        .header("Accept-Ranges", "notes")
        .header("Content-Range", &content_range)
}

/// Notes listed when the request has no `Range`, as KERIA.
const DEFAULT_NOTES: usize = 25;

/// `notes=S-E` → (S, E), inclusive, S ≤ E.
fn parse_range(range: &str) -> Option<(usize, usize)> {
    let (start, end) = range.trim().strip_prefix("notes=")?.split_once('-')?;
    let start: usize = start.trim().parse().ok()?;
    let end: usize = end.trim().parse().ok()?;
    (start <= end).then_some((start, end))
}

/// `PUT /notifications/{id}`: marks it read (202).
pub(super) fn mark(agency: &mut Agency, controller: &str, id: &str) -> Response {
    match agency.stage(controller, |rows| notifications::mark_read(rows, id)) {
        Ok(()) => Response::empty(202),
        Err(err) => failure(err),
    }
}

/// `DELETE /notifications/{id}` (202).
pub(super) fn delete(agency: &mut Agency, controller: &str, id: &str) -> Response {
    match agency.stage(controller, |rows| notifications::remove(rows, id)) {
        Ok(()) => Response::empty(202),
        Err(err) => failure(err),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn note_ranges_are_inclusive() {
        assert_eq!(parse_range("notes=0-24"), Some((0, 24)));
        assert_eq!(parse_range("notes=3-2"), None);
        assert_eq!(parse_range("aids=0-1"), None);
    }
}
