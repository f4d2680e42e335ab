//! The contact routes: `GET /contacts`, `GET|POST|PUT|DELETE /contacts/{prefix}` and `GET|POST
//! /contacts/{prefix}/img`. Each refusal stores nothing: an unknown contact is 404, one of the
//! agent's own identifiers or a derived field 400, an image too large 413, not an image 415.

use serde_json::Value;

use super::reply::{failure, json_body, json_response};
use crate::agency::contacts::{self, MAX_IMAGE};
use crate::agency::{Agency, Failure};
use crate::server::http::{Request, Response};

/// `GET /contacts`.
pub(super) fn list(agency: &Agency, controller: &str) -> Response {
    let listed = agency
        .read()
        .and_then(|reader| contacts::list(&reader.owner(controller)));
    match listed {
        Ok(all) => json_response(200, &Value::Array(all)),
        Err(err) => failure(Failure::Storage(err)),
    }
}

/// `GET /contacts/{prefix}`.
pub(super) fn get(agency: &Agency, controller: &str, prefix: &str) -> Response {
    let found = agency
        .read()
        .and_then(|reader| contacts::find(&reader.owner(controller), prefix));
    match found {
        Ok(Some(contact)) => json_response(200, &contact),
        Ok(None) => failure(Failure::NotFound(format!("no contact {prefix}"))),
        Err(err) => failure(Failure::Storage(err)),
    }
}

/// `POST /contacts/{prefix}` `{field: value, …}`: fields for a known identifier that has no
/// contact yet; 200 with the contact.
pub(super) fn create(
    agency: &mut Agency,
    controller: &str,
    prefix: &str,
    request: &Request,
) -> Response {
    write(agency, controller, prefix, request, contacts::create)
}

/// `PUT /contacts/{prefix}` `{field: value, …}`: adds or replaces the contact's own fields;
/// 200 with the contact.
pub(super) fn update(
    agency: &mut Agency,
    controller: &str,
    prefix: &str,
    request: &Request,
) -> Response {
    write(agency, controller, prefix, request, contacts::update)
}

type Write = fn(&mut crate::store::OwnerWriter<'_>, &str, &Value, &Value) -> Result<Value, Failure>;

fn write(
    agency: &mut Agency,
    controller: &str,
    prefix: &str,
    request: &Request,
    write: Write,
) -> Response {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let derived = agency.read().map_err(Failure::Storage).and_then(|reader| {
        if reader.owner_of(prefix)?.as_deref() == Some(controller) {
            return Err(Failure::Invalid(format!(
                "{prefix} is a local identifier, contact information only for remote identifiers"
            )));
        }
        Ok(contacts::derived(&reader.owner(controller), prefix)?)
    });
    let written = derived
        .and_then(|derived| agency.stage(controller, |rows| write(rows, prefix, &body, &derived)));
    match written {
        Ok(contact) => json_response(200, &contact),
        Err(err) => failure(err),
    }
}

/// `DELETE /contacts/{prefix}`: 202 once the contact's fields and image are gone.
pub(super) fn delete(agency: &mut Agency, controller: &str, prefix: &str) -> Response {
    match agency.stage(controller, |rows| Ok(contacts::remove(rows, prefix)?)) {
        Ok(true) => Response::empty(202),
        Ok(false) => failure(Failure::NotFound(format!(
            "no contact information to delete for {prefix}"
        ))),
        Err(err) => failure(err),
    }
}

/// `GET /contacts/{prefix}/img`: the image, with the content type it was uploaded with.
pub(super) fn image(agency: &Agency, controller: &str, prefix: &str) -> Response {
    let found = agency
        .read()
        .and_then(|reader| contacts::image(&reader.owner(controller), prefix));
    match found {
        Ok(Some((content_type, bytes))) => Response::empty(200)
            .header("Content-Type", &content_type)
            .body(bytes),
        Ok(None) => failure(Failure::NotFound(format!(
            "no image available for {prefix}"
        ))),
        Err(err) => failure(Failure::Storage(err)),
    }
}

/// `POST /contacts/{prefix}/img` with the image as the body: 202 once it is kept.
pub(super) fn set_image(
    agency: &mut Agency,
    controller: &str,
    prefix: &str,
    request: &Request,
) -> Response {
    let content_type = request.header("content-type").unwrap_or_default();
    let is_image = content_type
        .get(..6)
        .is_some_and(|start| start.eq_ignore_ascii_case("image/"));
    if !is_image {
        return Response::error(
            415,
            "415 Unsupported Media Type",
            &format!("a contact image needs a Content-Type image/…, not {content_type:?}"),
        );
    }
    if request.body.len() > MAX_IMAGE {
        return Response::error(
            413,
            "413 Payload Too Large",
            &format!(
                "a contact image may have at most {MAX_IMAGE} bytes, not {}",
                request.body.len()
            ),
        );
    }
    if request.body.is_empty() {
        return failure(Failure::Invalid("the image is empty".into()));
    }
    match agency.stage(controller, |rows| {
        contacts::set_image(rows, prefix, content_type, &request.body)
    }) {
        Ok(()) => Response::empty(202),
        Err(err) => failure(err),
    }
}
