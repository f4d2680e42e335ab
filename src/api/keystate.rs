//! Key state as this agent knows it: `GET /states`, `GET /events`, `POST /queries`, the
//! reply escrow `GET /escrows/rpy`, and the agent's configuration, `GET /config`.
//!
//! Answers come from the KELs the agent holds (its identifiers and every resolved OOBI). A
//! query for a later state than the one held asks the identifier's agent again through the
//! OOBI its contact was resolved from; with no such OOBI it fails at once with the reason,
//! instead of waiting forever (no witness or watcher is asked).

use serde_json::{json, Value};

use super::reply::{failure, json_body, json_response};
use crate::agency::kels;
use crate::agency::operations;
use crate::agency::resolutions::Resolutions;
use crate::agency::Urls;
use crate::agency::{Agency, Failure};
use crate::keri::stream::Attachments;
use crate::server::http::{Request, Response};

/// `GET /states?pre=…&pre=…`: the key state record of each prefix held.
pub(super) fn states(agency: &Agency, controller: &str, request: &Request) -> Response {
    let prefixes = request.query_params("pre");
    if prefixes.is_empty() {
        return failure(Failure::Invalid("give at least one pre=<prefix>".into()));
    }
    let found = agency.read().and_then(|reader| {
        let rows = reader.owner(controller);
        let mut states = Vec::new();
        for prefix in &prefixes {
            if let Some(kel) = kels::load(&rows, prefix)? {
                states.push(kel.record().to_value());
            }
        }
        Ok(states)
    });
    match found {
        Ok(states) => json_response(200, &Value::Array(states)),
        Err(err) => failure(Failure::Storage(err)),
    }
}

/// `GET /events?pre=`: every event of the KEL with its attachments, as `{ked, atc}`.
pub(super) fn events(agency: &Agency, controller: &str, request: &Request) -> Response {
    let Some(prefix) = request.query_params("pre").into_iter().next() else {
        return failure(Failure::Invalid("give pre=<prefix>".into()));
    };
    let found = agency
        .read()
        .and_then(|reader| kels::load(&reader.owner(controller), &prefix));
    match found {
        Ok(Some(kel)) => {
            let events: Vec<Value> = kel
                .entries()
                .iter()
                .map(|entry| {
                    let attachments = Attachments::of_entry(entry);
                    json!({"ked": entry.signed.event.value(), "atc": attachments.to_qb64()})
                })
                .collect();
            json_response(200, &Value::Array(events))
        }
        Ok(None) => failure(Failure::NotFound(format!("no key event log for {prefix}"))),
        Err(err) => failure(Failure::Storage(err)),
    }
}

/// `POST /queries` `{pre, sn?}`: a `query.{pre}.{sn}` operation, done at once with the key
/// state when the agent holds it (at `sn` or later), failed with the reason otherwise.
pub(super) fn query(
    agency: &mut Agency,
    controller: &str,
    request: &Request,
    resolutions: &mut Resolutions,
) -> Response {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Some(prefix) = body["pre"].as_str().map(str::to_owned) else {
        return failure(Failure::Invalid("pre must be a string".into()));
    };
    let sn = match &body["sn"] {
        Value::Null => None,
        Value::String(text) => match u64::from_str_radix(text, 16) {
            Ok(sn) => Some(sn),
            Err(_) => return failure(Failure::Invalid(format!("sn {text:?} is not hex"))),
        },
        Value::Number(number) if number.is_u64() => number.as_u64(),
        _ => return failure(Failure::Invalid("sn must be a hex string".into())),
    };
    let name = match sn {
        Some(sn) => format!("query.{prefix}.{sn:x}"),
        None => format!("query.{prefix}"),
    };
    let mut metadata = json!({"pre": prefix});
    if let Some(sn) = sn {
        metadata["sn"] = format!("{sn:x}").into();
    }
    let known = match agency
        .read()
        .and_then(|reader| kels::load(&reader.owner(controller), &prefix))
    {
        Ok(known) => known,
        Err(err) => return failure(Failure::Storage(err)),
    };
    // `anchor` (a seal `{i, s, d}`): the key state once the log holds an event anchoring it.
    let anchor = body.get("anchor").filter(|anchor| anchor.is_object());
    if let Some(anchor) = anchor {
        metadata["anchor"] = anchor.clone();
    }
    let anchored = |kel: &crate::keri::kel::Kel| {
        anchor.is_none_or(|anchor| {
            kel.entries().iter().any(|entry| {
                entry.signed.event.seals().iter().any(|seal| {
                    seal.prefix() == anchor["i"].as_str()
                        && seal.sn().map(|sn| format!("{sn:x}")).as_deref() == anchor["s"].as_str()
                        && seal.said() == anchor["d"].as_str()
                })
            })
        })
    };
    let operation = match known {
        Some(kel) if sn.is_none_or(|sn| kel.state().sn() >= sn) && anchored(&kel) => {
            operations::done(&name, metadata, kel.record().to_value())
        }
        known => {
            // Not held at `sn`: ask the identifier's agent again, through its contact's OOBI.
            if let Some(answer) =
                resolutions.query(agency, controller, (&prefix, sn), (&name, &metadata))
            {
                return match answer {
                    Ok(operation) => json_response(202, &operation),
                    Err(err) => failure(err),
                };
            }
            let reason = match known {
                Some(kel) => format!(
                    "the key state of {prefix} held here is at sequence number {:x}, and no OOBI of it was resolved to ask its agent again",
                    kel.state().sn()
                ),
                None => format!("no key state of {prefix} is held here: resolve its OOBI first"),
            };
            operations::failed(&name, metadata, 404, &reason)
        }
    };
    match agency.stage(controller, |rows| Ok(operations::stage(rows, &operation)?)) {
        Ok(()) => json_response(202, &operation),
        Err(err) => failure(err),
    }
}

/// `GET /config`: the introduction OOBIs configured for agents.
pub(super) fn config(urls: &Urls) -> Response {
    json_response(200, &json!({"iurls": urls.iurls}))
}

/// `GET /escrows/rpy?route=…` (`route` optional): the replies waiting for their signer's key
/// state. Replies are verified against KELs the agent already holds and refused otherwise,
/// never escrowed, so the list is always empty.
pub(super) fn reply_escrows() -> Response {
    json_response(200, &json!([]))
}
