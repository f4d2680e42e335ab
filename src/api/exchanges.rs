//! The exchange routes: `POST /identifiers/{name}/exchanges` sends an `exn`, `GET
//! /exchanges/{said}` and `POST /exchanges/query` read those held.
//!
//! A message is checked whole before anything is staged: the sender is the named identifier,
//! its signatures are by that identifier's current keys, and every recipient is known (its KEL
//! held, through a resolved OOBI) with a way to reach it. Then it is stored, delivered at once
//! to recipients this agency serves (in the same batch, no HTTP), and kept in the `Outbox`
//! for the agent URL of each other recipient, which posts it off the loop until delivered.

use serde_json::{json, Map, Value};
use url::Url;

use super::reply::{failure, json_body, json_response, now};
use crate::agency::exchanges::{self, Received};
use crate::agency::outbox::Outbox;
use crate::agency::receipting::Receipting;
use crate::agency::{identifiers, kels, roles};
use crate::agency::{Agency, Failure};
use crate::keri::exchange::Exchange;
use crate::keri::primitives::Siger;
use crate::keri::stream::Attachments;
use crate::server::http::{Request, Response};
use crate::store::{OwnerReader, Reader};

/// Where a recipient is reached.
pub(super) enum Route {
    /// Served by this agency, for this controller.
    Local(String),
    /// An agent elsewhere, at this URL.
    Remote(Url),
}

/// The checked parts of a `POST /identifiers/{name}/exchanges` body.
struct Outgoing {
    exn: Exchange,
    sigs: Vec<Siger>,
    recipients: Vec<String>,
    /// The `-L` groups of `atc`: attachments of the messages the exn embeds.
    pathed: Vec<String>,
}

fn outgoing(body: &Value) -> Result<Outgoing, Failure> {
    let invalid = |reason: &str| Failure::Invalid(reason.to_owned());
    let exn = Exchange::verify(&body["exn"]).map_err(|err| Failure::Invalid(err.to_string()))?;
    let sigs = body["sigs"]
        .as_array()
        .ok_or_else(|| invalid("sigs must be a list of indexed signatures"))?
        .iter()
        .map(|sig| {
            let text = sig.as_str().unwrap_or_default();
            Siger::parse(text).map_err(|err| Failure::Invalid(format!("sigs: {err}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let recipients = body["rec"]
        .as_array()
        .and_then(|rec| {
            rec.iter()
                .map(|recipient| recipient.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        })
        .filter(|rec| !rec.is_empty())
        .ok_or_else(|| invalid("rec must be a non-empty list of recipient prefixes"))?;
    if !body["tpc"].is_string() {
        return Err(invalid("tpc (the topic) must be a string"));
    }
    let pathed = match body["atc"].as_str() {
        Some("") => Vec::new(),
        Some(atc) => {
            let attachments =
                Attachments::parse(atc).map_err(|err| Failure::Invalid(format!("atc: {err}")))?;
            if attachments.pathed.is_empty()
                || attachments
                    != (Attachments {
                        pathed: attachments.pathed.clone(),
                        ..Attachments::default()
                    })
            {
                return Err(invalid(
                    "atc must hold only pathed attachments (-L groups) of the embedded messages",
                ));
            }
            attachments.pathed
        }
        None => return Err(invalid("atc must be a string")),
    };
    Ok(Outgoing {
        exn,
        sigs,
        recipients,
        pathed,
    })
}

/// How `recipient` is reached: served here, or an agent URL known from its resolved OOBI.
pub(super) fn route(
    reader: &Reader,
    rows: &OwnerReader<'_>,
    recipient: &str,
) -> Result<Route, Failure> {
    if rows.kel(recipient)?.is_empty() {
        return Err(Failure::Invalid(format!(
            "attempt to send to unknown AID={recipient}: resolve its OOBI first"
        )));
    }
    if let Some(owner) = reader.owner_of(recipient)? {
        return Ok(Route::Local(owner));
    }
    for (role, _) in roles::end_roles(rows, recipient, Some("agent"))? {
        for location in roles::locations(rows, &role.eid)? {
            if let Ok(url) = Url::parse(&location.url) {
                if matches!(url.scheme(), "http" | "https") {
                    return Ok(Route::Remote(url));
                }
            }
        }
    }
    Err(Failure::Invalid(format!(
        "no agent endpoint is known for {recipient}: resolve an OOBI of its agent"
    )))
}

/// `POST /identifiers/{name}/exchanges` `{tpc, exn, sigs, atc, rec}`: 202 with the `exn`.
pub(super) fn send(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
    (outbox, receipting): (&mut Outbox, &mut Receipting),
) -> Response {
    match json_body(request) {
        Ok(body) => send_body(agency, controller, name, &body, (outbox, Some(receipting))),
        Err(response) => response,
    }
}

/// `send` of a JSON body already read.
pub(super) fn send_body(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    body: &Value,
    (outbox, mut receipting): (&mut Outbox, Option<&mut Receipting>),
) -> Response {
    let checked = outgoing(body).and_then(|outgoing| {
        let reader = agency.read().map_err(Failure::Storage)?;
        let rows = reader.owner(controller);
        let identifier = identifiers::find(&rows, name)?;
        if outgoing.exn.sender() != identifier.prefix {
            return Err(Failure::Invalid(format!(
                "the exn is from {}, not from {name} ({})",
                outgoing.exn.sender(),
                identifier.prefix
            )));
        }
        let kel = kels::load(&rows, &identifier.prefix)?.ok_or_else(|| {
            Failure::NotFound(format!("no key event log for {}", identifier.prefix))
        })?;
        outgoing
            .exn
            .verify_indexed(kel.state(), &outgoing.sigs)
            .map_err(|err| Failure::Invalid(err.to_string()))?;
        let routes = outgoing
            .recipients
            .iter()
            .map(|recipient| Ok((recipient.clone(), route(&reader, &rows, recipient)?)))
            .collect::<Result<Vec<_>, Failure>>()?;
        Ok((outgoing, kel, routes))
    });
    let (outgoing, kel, routes) = match checked {
        Ok(checked) => checked,
        Err(err) => return failure(err),
    };
    let seen = now();
    let exn = &outgoing.exn;
    let group = match agency.stage(controller, |rows| {
        Ok(exchanges::keep_sent(
            rows,
            exn,
            &kel,
            (outgoing.sigs, &outgoing.pathed),
            &seen,
        )?)
    }) {
        Ok(group) => group,
        Err(err) => return failure(err),
    };
    let groups = [group];
    for (recipient, route) in routes {
        match route {
            Route::Local(owner) => {
                let received = agency.stage(&owner, |rows| {
                    let (received, completed) =
                        exchanges::receive(rows, exn, (&groups, &outgoing.pathed), &seen)?;
                    if let (Some(completed), Some(receipting)) =
                        (completed, receipting.as_deref_mut())
                    {
                        super::multisig::witness(rows, &owner, completed, receipting)?;
                    }
                    Ok(received)
                });
                match received {
                    Ok(Received::Accepted) => {
                        log::info!("exn {} delivered to {recipient} here", exn.said());
                    }
                    Ok(Received::Duplicate) => {}
                    Err(Failure::Invalid(reason) | Failure::NotFound(reason)) => {
                        log::warn!("exn {} not delivered to {recipient}: {reason}", exn.said());
                    }
                    Err(err @ (Failure::Storage(_) | Failure::Busy(_))) => return failure(err),
                }
            }
            Route::Remote(url) => {
                let attachment = exchanges::attachment(&groups, &outgoing.pathed);
                let staged = agency.stage(controller, |rows| {
                    Ok(outbox.send(rows, (controller, &url), exn, &attachment, &recipient)?)
                });
                if let Err(err) = staged {
                    return failure(err);
                }
            }
        }
    }
    json_response(202, exn.value())
}

/// `GET /exchanges/{said}`: `{exn, pathed}`.
pub(super) fn get(agency: &Agency, controller: &str, said: &str) -> Response {
    match agency
        .read()
        .and_then(|reader| exchanges::get(&reader.owner(controller), said))
    {
        Ok(Some(exchange)) => json_response(200, &exchange),
        Ok(None) => failure(Failure::NotFound(format!(
            "SAID {said} does not match a verified EXN message"
        ))),
        Err(err) => failure(Failure::Storage(err)),
    }
}

/// `POST /exchanges/query` `{filter, skip, limit}`: the matching `[{exn, pathed}]`.
pub(super) fn query(agency: &Agency, controller: &str, request: &Request) -> Response {
    let body = if request.body.is_empty() {
        json!({})
    } else {
        match json_body(request) {
            Ok(body) => body,
            Err(response) => return response,
        }
    };
    let count = |field: &str, default: usize| match &body[field] {
        Value::Null => Ok(default),
        value => value
            .as_u64()
            .and_then(|count| usize::try_from(count).ok())
            .ok_or_else(|| Failure::Invalid(format!("{field} must be a whole number"))),
    };
    let empty = Map::new();
    let filter = match &body["filter"] {
        Value::Null => Ok(&empty),
        Value::Object(filter) => Ok(filter),
        _ => Err(Failure::Invalid("filter must be an object".into())),
    };
    let found = filter.and_then(|filter| {
        let (skip, limit) = (
            count("skip", 0)?,
            count("limit", exchanges::DEFAULT_QUERY_LIMIT)?,
        );
        let reader = agency.read().map_err(Failure::Storage)?;
        exchanges::query(&reader.owner(controller), filter, skip, limit)
    });
    match found {
        Ok(found) => json_response(200, &Value::Array(found)),
        Err(err) => failure(err),
    }
}
