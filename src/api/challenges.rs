//! The challenge routes: `GET /challenges` draws words, `POST /challenges_verify/{source}`
//! starts waiting for `source`'s signed response with those words, `PUT
//! /challenges_verify/{source}` marks a response authenticated, `POST /challenges/{name}`
//! sends a response as KERIA's older clients do.

use serde_json::json;

use super::exchanges;
use super::reply::{failure, json_body, json_response};
use crate::agency::challenges;
use crate::agency::outbox::Outbox;
use crate::agency::{Agency, Failure};
use crate::keri::primitives::Siger;
use crate::keri::stream::Attachments;
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

/// `POST /challenges/{name}` `{exn, sig, recipient}` (KERIA's form, `sig` the `exn`'s CESR
/// attachment): sent as `POST /identifiers/{name}/exchanges` sends it; 202 without a body.
pub(super) fn respond(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
    outbox: &mut Outbox,
) -> Response {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let (Some(sig), Some(recipient)) = (body["sig"].as_str(), body["recipient"].as_str()) else {
        return failure(Failure::Invalid(
            "a challenge response requires 'exn', 'sig' and 'recipient'".into(),
        ));
    };
    let attachments = match Attachments::parse(sig) {
        Ok(attachments) => attachments,
        Err(err) => return failure(Failure::Invalid(format!("sig: {err}"))),
    };
    let sigs = match attachments.signature_groups.as_slice() {
        [] => attachments.controller_sigs,
        [group] => group.sigs.clone(),
        _ => {
            return failure(Failure::Invalid(
                "sig must hold the signatures of one signer".into(),
            ))
        }
    };
    let sigs: Vec<String> = sigs.iter().map(Siger::qb64).collect();
    let exchange = json!({
        "tpc": "challenge",
        "exn": body["exn"],
        "sigs": sigs,
        "atc": "",
        "rec": [recipient],
    });
    let sent = exchanges::send_body(agency, controller, name, &exchange, (outbox, None));
    if sent.status == 202 {
        Response::empty(202)
    } else {
        sent
    }
}
