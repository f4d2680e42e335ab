//! KERI ingress on the http port: `POST /` (or `PUT /`) with messages for the identifiers this
//! agency serves.
//!
//! Two forms are read: `application/cesr+json` (one JSON message as the body, its attachments
//! in the `CESR-ATTACHMENT` header: how KERI agents post), and `application/cesr` or
//! `application/json+cesr` (a CESR stream of messages with their attachments). Each message is
//! routed to the agent serving its destination (`CESR-DESTINATION`, else the message's
//! recipient `rp`). Only `exn` messages are taken, each from a sender whose key event log the
//! destination's agent holds, signed by its current keys; key events and replies are learned
//! by resolving OOBIs, and are refused here, except in a `/delegate/request` (the sender's
//! KELs that introduce it and the delegated event, before the exn: `delegations`). Every
//! message of a request is checked before any is stored: one refusal (400, with the reason)
//! stores nothing. 204 once stored.

use super::delegations;
use super::reply::{failure, now};
use crate::agency::exchanges;
use crate::agency::outbox::CESR_JSON;
use crate::agency::receipting::Receipting;
use crate::agency::{Agency, Failure};
use crate::keri::exchange::Exchange;
use crate::keri::stream::{self, Message, SignatureGroup};
use crate::server::http::{Request, Response};

/// Most messages one request may carry.
const MAX_MESSAGES: usize = 64;
/// Largest stream read from one request: the body limit's default, and the attachment header.
const MAX_STREAM: usize = (1 << 20) + (16 << 10);

/// A checked message and the controller whose agent takes it.
struct Routed {
    owner: String,
    exn: Exchange,
    groups: Vec<SignatureGroup>,
    pathed: Vec<String>,
}

/// `POST /` or `PUT /`: 204 once every message is stored; nothing is stored on a refusal.
pub(super) fn receive(
    agency: &mut Agency,
    request: &Request,
    receipting: &mut Receipting,
) -> Response {
    let messages = match read(request) {
        Ok(messages) => messages,
        Err(response) => return response,
    };
    if delegations::is_request(&messages) {
        let destination = request.header("cesr-destination");
        return delegations::receive_request(agency, messages, destination);
    }
    let routed = match check(agency, request, messages) {
        Ok(routed) => routed,
        Err(response) => return response,
    };
    let seen = now();
    for message in &routed {
        let staged = agency.stage(&message.owner, |rows| {
            let (received, completed) = exchanges::receive(
                rows,
                &message.exn,
                (&message.groups, &message.pathed),
                &seen,
            )?;
            if let Some(completed) = completed {
                super::multisig::witness(rows, &message.owner, completed, receipting)?;
            }
            Ok(received)
        });
        match staged {
            Ok(_) => log::debug!(
                "exn {} from {} received",
                message.exn.said(),
                message.exn.sender()
            ),
            Err(err) => return failure(err),
        }
    }
    Response::empty(204)
}

fn refused(reason: &str) -> Response {
    Response::error(400, "400 Bad Request", reason)
}

/// The request's messages, each with its attachments.
fn read(request: &Request) -> Result<Vec<Message>, Response> {
    let content_type = request
        .header("content-type")
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let attachment = request.header("cesr-attachment").unwrap_or_default();
    let mut bytes = request.body.clone();
    match content_type.as_str() {
        CESR_JSON => {
            if request.header("cesr-attachment").is_none() {
                return Err(refused(
                    "application/cesr+json needs the message's attachments in a CESR-ATTACHMENT header",
                ));
            }
            bytes.extend_from_slice(attachment.as_bytes());
        }
        "application/cesr" | "application/json+cesr" => {
            bytes.extend_from_slice(attachment.as_bytes());
        }
        other => {
            return Err(Response::error(
                415,
                "415 Unsupported Media Type",
                &format!(
                    "KERI messages are posted as application/cesr+json (with CESR-ATTACHMENT) or application/cesr, not {other:?}"
                ),
            ))
        }
    }
    let messages = stream::parse(&bytes, MAX_STREAM).map_err(|err| refused(&err.to_string()))?;
    if messages.is_empty() {
        return Err(refused("the request carries no KERI message"));
    }
    if messages.len() > MAX_MESSAGES {
        return Err(refused(&format!(
            "{} messages in one request; at most {MAX_MESSAGES} are taken",
            messages.len()
        )));
    }
    Ok(messages)
}

/// Checks every message of the request, against what is durable.
fn check(
    agency: &Agency,
    request: &Request,
    messages: Vec<Message>,
) -> Result<Vec<Routed>, Response> {
    let destination = request.header("cesr-destination");
    let reader = agency
        .read()
        .map_err(|err| failure(Failure::Storage(err)))?;
    let mut routed = Vec::with_capacity(messages.len());
    for (index, message) in messages.into_iter().enumerate() {
        let ilk = message.value["t"].as_str().unwrap_or_default();
        if ilk != "exn" {
            return Err(refused(&format!(
                "message {index} is a {ilk:?}: only exn messages are taken here; key events and replies are learned by resolving OOBIs"
            )));
        }
        let exn = Exchange::verify(&message.value)
            .map_err(|err| refused(&format!("message {index}: {err}")))?;
        // One `/multisig` exn is sent to every other member of a group, but names only the first
        // of them in `rp`: for those, the destination header wins, as in KERIA.
        let to = match (destination, exn.recipient()) {
            (Some(destination), Some(recipient))
                if destination != recipient && !exn.route().starts_with("/multisig/") =>
            {
                return Err(refused(&format!(
                    "message {index} is for {recipient}, but CESR-DESTINATION names {destination}"
                )))
            }
            (Some(to), _) | (None, Some(to)) => to.to_owned(),
            (None, None) => {
                return Err(refused(&format!(
                "message {index} names no recipient (rp) and there is no CESR-DESTINATION header"
            )))
            }
        };
        let Some(owner) = reader
            .owner_of(&to)
            .map_err(|err| failure(Failure::Storage(err)))?
        else {
            return Err(Response::error(
                404,
                "404 Not Found",
                &format!("unknown destination AID {to}"),
            ));
        };
        let groups = message.attachments.signature_groups;
        let pathed = message.attachments.pathed;
        let stored = reader
            .owner(&owner)
            .kel(exn.sender())
            .map_err(|err| failure(Failure::Storage(err)))?;
        exchanges::check(&stored, &exn, &groups).map_err(|err| match err {
            Failure::Invalid(reason) => refused(&format!("message {index}: {reason}")),
            other => failure(other),
        })?;
        routed.push(Routed {
            owner,
            exn,
            groups,
            pathed,
        });
    }
    Ok(routed)
}
