//! The challenge routes: `GET /challenges` draws words, `POST /challenges_verify/{source}`
//! starts waiting for `source`'s signed response with those words, `PUT
//! /challenges_verify/{source}` marks a response authenticated.

use serde_json::json;

use super::reply::{failure, json_body, json_response};
use crate::agency::challenges;
use crate::agency::{Agency, Failure};
use crate::server::http::{Request, Response};

/// `GET /challenges?strength=128|256`: `{"words": [...]}`.
pub(super) fn generate(request: &Request) -> Response {
    let strength = match request.query_param("strength") {
        None => Ok(challenges::DEFAULT_STRENGTH),
        Some(text) => text.parse::<usize>().map_err(|_| {
            Failure::Invalid(format!("strength must be a number of bits, not {text:?}"))
        }),
    };
    match strength.and_then(challenges::generate) {
        Ok(words) => json_response(200, &json!({"words": words})),
        Err(err) => failure(err),
    }
}

/// `POST /challenges_verify/{source}` `{words}`: 202 with the `challenge.{source}` operation.
pub(super) fn verify(
    agency: &mut Agency,
    controller: &str,
    source: &str,
    request: &Request,
) -> Response {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let words = match challenges::words(&body["words"]) {
        Ok(words) => words,
        Err(reason) => return failure(Failure::Invalid(reason)),
    };
    match agency.stage(controller, |rows| challenges::verify(rows, source, &words)) {
        Ok(operation) => json_response(202, &operation),
        Err(err) => failure(err),
    }
}

/// `PUT /challenges_verify/{source}` `{said}`: 202 once the response is marked authenticated.
pub(super) fn responded(
    agency: &mut Agency,
    controller: &str,
    source: &str,
    request: &Request,
) -> Response {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Some(said) = body["said"].as_str() else {
        return failure(Failure::Invalid(
            "challenge response acceptance requires said".into(),
        ));
    };
    match agency.stage(controller, |rows| challenges::accept(rows, source, said)) {
        Ok(()) => Response::empty(202),
        Err(err) => failure(err),
    }
}
