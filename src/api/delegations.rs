//! Delegation's routes: a delegated inception (`POST /identifiers` with a `dip`), a delegated
//! rotation (`POST /identifiers/{name}/events` with a `drt`), the delegator's approval
//! (`POST /identifiers/{name}/delegation`), and the `/delegate/request` a delegate's agent
//! posts to the ingress.
//!
//! A delegated event is checked as any establishment event, staged to wait for its delegator
//! (`agency::delegations`) and, for a witnessed identifier, to be receipted; then its
//! `/delegate/request` goes to the delegator's agent: directly when this agency serves the
//! delegator, else through the `Outbox` as one CESR stream that introduces the sender (this
//! agent's KEL and its controller's), then the delegated event with its signatures, then the
//! `exn` signed by this agent, as KERIA's agent speaks for identifiers it cannot sign for.

use std::time::Instant;

use serde_json::{json, Value};
use url::Url;

use super::exchanges::{self as exchange_routes, Route};
use super::identifiers::{event_witnesses, known_witnesses, stage_next_event, witness_urls};
use super::reply::{failure, json_body, json_response, now, staged_operation};
use crate::agency::delegables::{self, Request as Delegable};
use crate::agency::delegations::{self, Delegations};
use crate::agency::outbox::Outbox;
use crate::agency::receipting::Receipting;
use crate::agency::{identifiers, kels, oobis, operations, Agency, Failure};
use crate::keri::delegation::{self, REQUEST_ROUTE};
use crate::keri::event::Event;
use crate::keri::exchange::Exchange;
use crate::keri::ilk::Ilk;
use crate::keri::oobi;
use crate::keri::primitives::Siger;
use crate::keri::stream::{self, Attachments, Message, SignatureGroup};
use crate::server::http::{Request, Response};
use crate::store::{OwnerWriter, OPERATIONS};

/// Largest introduction stream read from one request.
const MAX_INTRODUCTION: usize = 1 << 20;

/// What the delegation handlers stage into and send through.
pub(super) struct Context<'a> {
    pub receipting: &'a mut Receipting,
    pub delegations: &'a mut Delegations,
    pub outbox: &'a mut Outbox,
}

/// Whether `POST /identifiers` carries a delegated inception.
pub(super) fn is_delegated_inception(request: &Request) -> bool {
    json_body(request).is_ok_and(|body| body["icp"]["t"] == "dip" && body.get("group").is_none())
}

/// Whether `POST /identifiers/{name}/events` carries a delegated rotation.
pub(super) fn is_delegated_rotation(request: &Request) -> bool {
    json_body(request).is_ok_and(|body| body["rot"]["t"] == "drt" && body.get("group").is_none())
}

/// `POST /identifiers` with a `dip`: the identifier, its delegated inception waiting for its
/// delegator (known here: an identifier of this agent, or resolved), 202 with the pending
/// `delegation.{prefix}` operation.
pub(super) fn incept(
    agency: &mut Agency,
    controller: &str,
    request: &Request,
    context: &mut Context<'_>,
) -> Response {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let delegator = body["icp"]["di"].as_str().unwrap_or_default().to_owned();
    let known = agency
        .read()
        .and_then(|reader| reader.owner(controller).kel(&delegator))
        .map(|stored| !stored.is_empty());
    match known {
        Ok(true) => {}
        Ok(false) => {
            return failure(Failure::Invalid(format!(
                "unknown delegator {delegator}: resolve its OOBI first"
            )))
        }
        Err(err) => return failure(Failure::Storage(err)),
    }
    let wits: Vec<String> = body["icp"]["b"]
        .as_array()
        .map(|wits| {
            wits.iter()
                .filter_map(|wit| wit.as_str().map(ToOwned::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let urls = match known_witnesses(agency, controller, &wits) {
        Ok(urls) => urls,
        Err(err) => return failure(err),
    };
    let seen = now();
    let Context {
        receipting,
        delegations,
        outbox,
    } = context;
    let staged = agency.stage(controller, |rows| {
        delegations.check_room()?;
        if !urls.is_empty() {
            receipting.check_room()?;
        }
        let dip = identifiers::create(rows, &body, &seen)?;
        let sigs = identifiers::sigs(&body)?;
        let toad = usize::try_from(dip.backer_threshold().unwrap_or(0)).unwrap_or(usize::MAX);
        let operation = stage_wait(
            rows,
            controller,
            (receipting, delegations),
            (&dip, &sigs, &seen),
            (urls, &delegator, toad),
            None,
        )?;
        Ok((dip, sigs, operation))
    });
    match staged {
        Ok((dip, sigs, operation)) => {
            send_request(agency, controller, (&dip, &sigs), &delegator, outbox);
            json_response(202, &operation)
        }
        Err(err) => failure(err),
    }
}

/// Stages a delegated event's wait: first to its witnesses, when it has any (with no operation
/// of their own), then for its delegator's approval. The pending `delegation.{said}` operation.
fn stage_wait(
    rows: &mut OwnerWriter<'_>,
    controller: &str,
    (receipting, delegations): (&mut Receipting, &mut Delegations),
    (event, sigs, seen): (&Event, &[Siger], &str),
    (urls, delegator, toad): (Vec<(String, Url)>, &str, usize),
    prior: Option<String>,
) -> Result<Value, Failure> {
    if !urls.is_empty() {
        receipting.stage(
            rows,
            controller,
            (event, sigs),
            (urls, toad),
            Some((String::new(), Value::Null)),
        )?;
    }
    delegations.stage(
        rows,
        controller,
        (event, sigs, seen),
        (delegator, toad),
        prior,
    )
}

/// `POST /identifiers/{name}/events` with a `drt`: the rotation waiting for the delegator,
/// 200 with the pending `delegation.{said}` operation.
pub(super) fn rotate(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
    context: &mut Context<'_>,
) -> Response {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let known = match event_witnesses(agency, controller, name, request) {
        Ok(known) => known,
        Err(err) => return failure(err),
    };
    let seen = now();
    let Context {
        receipting,
        delegations,
        outbox,
    } = context;
    let staged = agency.stage(controller, |rows| {
        delegations::refuse_while_pending(rows, name)?;
        let next = identifiers::check_next(rows, name, &body, &seen)?;
        if !next.appended().is_new() {
            // The accepted rotation again: nothing waits.
            let (event, _) = identifiers::stage_next(rows, next, &seen)?;
            let operation = super::operations::event_operation(&event);
            operations::stage(rows, &operation)?;
            return Ok(None);
        }
        let kel = kels::replay(&rows.kel(next.prefix())?, next.prefix(), None)?;
        let delegator = kel.state().delegator().unwrap_or_default().to_owned();
        let (wits, toad) = next.witnesses();
        let urls = witness_urls(&wits, &known)?;
        delegations.check_room()?;
        if !urls.is_empty() {
            receipting.check_room()?;
        }
        let (event, sigs) = (next.event().clone(), next.sigs().to_vec());
        let prior = identifiers::stage_pending(rows, &next)?;
        let operation = stage_wait(
            rows,
            controller,
            (receipting, delegations),
            (&event, &sigs, &seen),
            (urls, &delegator, toad),
            Some(prior),
        )?;
        Ok(Some((event, sigs, delegator, operation)))
    });
    match staged {
        Ok(Some((event, sigs, delegator, operation))) => {
            send_request(agency, controller, (&event, &sigs), &delegator, outbox);
            json_response(200, &operation)
        }
        Ok(None) => {
            let said = body["rot"]["d"].as_str().unwrap_or_default();
            let operation = agency.read().ok().and_then(|reader| {
                reader
                    .owner(controller)
                    .record(OPERATIONS, &format!("done.{said}"))
                    .ok()
                    .flatten()
            });
            match operation.and_then(|text| serde_json::from_str::<Value>(&text).ok()) {
                Some(operation) => json_response(200, &operation),
                None => failure(Failure::NotFound(format!("no operation for {said}"))),
            }
        }
        Err(err) => failure(err),
    }
}

/// `POST /identifiers/{name}/delegation` `{ixn, sigs, …}`: the delegator's interaction that
/// anchors a delegated event, checked and receipted as any event; 200 with the
/// `delegation.{said}` operation (`{pre, teepre, anchor, depends}`), done once this agent
/// holds the delegate's approved event.
pub(super) fn approve(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
    receipting: &mut Receipting,
) -> Response {
    let known = match event_witnesses(agency, controller, name, request) {
        Ok(known) => known,
        Err(err) => return failure(err),
    };
    staged_operation(agency, controller, request, 200, |rows, body, seen| {
        if body.get("ixn").is_none() {
            return Err(Failure::Invalid(
                "required field 'ixn' missing from body".into(),
            ));
        }
        let (event, depends, new) =
            stage_next_event(rows, controller, (name, body, seen), &known, receipting)?;
        if new {
            operations::stage(rows, &depends)?;
        }
        let seals = event.seals();
        let (Some(teepre), Some(sn), Some(said)) =
            seals.first().map_or((None, None, None), |seal| {
                (seal.prefix(), seal.sn(), seal.said())
            })
        else {
            return Err(Failure::Invalid(
                "the ixn anchors no delegated event seal {i, s, d}".into(),
            ));
        };
        let name = format!("delegation.{}", event.said());
        let metadata = json!({
            "pre": event.prefix(),
            "teepre": teepre,
            "anchor": event.value(),
            "depends": depends,
        });
        // The interaction approved what the delegate asked for already (`stage_next_event`):
        // done at once; else the approval waits for the request.
        let held = rows
            .kel(teepre)?
            .get(usize::try_from(sn).unwrap_or(usize::MAX))
            .and_then(|stored| Event::parse(&stored.raw).ok())
            .is_some_and(|stored| stored.said() == said);
        let operation = if held {
            operations::done(&name, metadata, teepre.into())
        } else {
            let pending = operations::pending(&name, metadata.clone());
            operations::stage(rows, &pending)?;
            delegables::approve(rows, &event, Some((&name, &metadata)))?;
            rows.record(OPERATIONS, &name)?
                .and_then(|text| serde_json::from_str(&text).ok())
                .unwrap_or(pending)
        };
        operations::stage(rows, &operation)?;
        Ok((operation, false))
    })
}

/// Delegated events waiting here for identifier `name` of `controller` look at its log at the
/// next tick: its next event may approve them.
pub(super) fn nudge(agency: &Agency, controller: &str, name: &str, delegations: &mut Delegations) {
    if delegations.is_empty() {
        return;
    }
    let found = agency
        .read()
        .map_err(Failure::Storage)
        .and_then(|reader| identifiers::find(&reader.owner(controller), name));
    if let Ok(identifier) = found {
        delegations.nudge(identifier.prefix());
    }
}

/// Sends `event`'s `/delegate/request` to `delegator`'s agent, on behalf of `controller`'s
/// identifier: staged for a delegator served here, else posted through the outbox. A delegator
/// with no known agent is not asked (its controller approves out of band); the delegate still
/// waits for the anchor.
fn send_request(
    agency: &mut Agency,
    controller: &str,
    (event, sigs): (&Event, &[Siger]),
    delegator: &str,
    outbox: &mut Outbox,
) {
    let seen = now();
    let built = (|| -> anyhow::Result<_> {
        let reader = agency.read()?;
        let rows = reader.owner(controller);
        let Some(agent) = agency.agent(controller, Instant::now())? else {
            anyhow::bail!("no agent for {controller}");
        };
        let exn = delegation::request(agent.prefix(), delegator, event, &seen);
        let group = SignatureGroup {
            prefix: agent.prefix().to_owned(),
            sn: 0,
            said: agent.prefix().to_owned(),
            sigs: vec![agent.signer().sign_indexed(exn.raw(), 0)],
        };
        let introduction = oobis::serve(&rows, agent, &[], agent.prefix(), None)?;
        let route = exchange_routes::route(&reader, &rows, delegator);
        Ok((agent.prefix().to_owned(), exn, group, introduction, route))
    })();
    let (sender, exn, group, introduction, route) = match built {
        Ok(built) => built,
        Err(err) => {
            log::error!("the {REQUEST_ROUTE} of {}: {err:#}", event.said());
            return;
        }
    };
    let outcome = match route {
        Ok(Route::Local(owner)) => agency.stage(&owner, |rows| {
            delegables::receive(
                rows,
                &Delegable {
                    sender: &sender,
                    event,
                    sigs,
                },
                &seen,
            )
        }),
        Ok(Route::Remote(url)) => {
            let mut bytes = introduction.unwrap_or_default();
            let event_attachments = Attachments {
                controller_sigs: sigs.to_vec(),
                ..Attachments::default()
            };
            let exn_attachments = Attachments {
                signature_groups: vec![group],
                ..Attachments::default()
            };
            bytes.extend(stream::write([
                (event.raw(), &event_attachments),
                (exn.raw(), &exn_attachments),
            ]));
            agency.stage(controller, |rows| {
                Ok(outbox.send_stream(rows, (controller, &url), exn.said(), &bytes, delegator)?)
            })
        }
        Err(err) => Err(err),
    };
    match outcome {
        Ok(()) => log::info!(
            "{REQUEST_ROUTE} for {} {} sent to {delegator}",
            event.ilk(),
            event.said()
        ),
        Err(Failure::Storage(err)) => {
            log::error!("the {REQUEST_ROUTE} of {}: {err:#}", event.said());
        }
        Err(Failure::Invalid(reason) | Failure::NotFound(reason) | Failure::Busy(reason)) => {
            log::warn!(
                "the {REQUEST_ROUTE} of {} is not sent to {delegator}: {reason}",
                event.said()
            );
        }
    }
}

/// Whether the ingress stream `messages` is a `/delegate/request` with what introduces it:
/// key events before one `exn` of that route.
pub(super) fn is_request(messages: &[Message]) -> bool {
    messages
        .last()
        .is_some_and(|last| last.value["t"] == "exn" && last.value["r"] == REQUEST_ROUTE)
        && messages.len() >= 2
        && messages[..messages.len() - 1]
            .iter()
            .all(|message| message.value["t"] != "exn")
}

/// A `/delegate/request` posted to the ingress: `[sender's KELs…] [delegated event] [exn]`.
/// The exn is verified against its sender's KEL (held here, or introduced by the stream and
/// verified whole), the event against the exn's embed and its own keys; then the delegator's
/// agent keeps it. 204, or 4xx with the reason and nothing kept.
pub(super) fn receive_request(
    agency: &mut Agency,
    mut messages: Vec<Message>,
    destination: Option<&str>,
) -> Response {
    let refused = |reason: String| Response::error(400, "400 Bad Request", &reason);
    let (Some(exn_message), Some(event_message)) = (messages.pop(), messages.pop()) else {
        return refused("a delegation request is an event followed by its exn".into());
    };
    let exn = match Exchange::verify(&exn_message.value) {
        Ok(exn) => exn,
        Err(err) => return refused(err.to_string()),
    };
    let (delegator, embedded) = match delegation::requested(&exn) {
        Ok(requested) => requested,
        Err(reason) => return refused(reason),
    };
    let event = match Event::verify(&event_message.value) {
        Ok(event) if event == embedded => event,
        Ok(event) => {
            return refused(format!(
                "the event {} sent is not the one the exn embeds ({})",
                event.said(),
                embedded.said()
            ))
        }
        Err(err) => return refused(err.to_string()),
    };
    if !matches!(event.ilk(), Ilk::Dip | Ilk::Drt) {
        return refused(format!("a {} is not a delegated event", event.ilk()));
    }
    if destination.is_some_and(|destination| destination != delegator) {
        return refused(format!(
            "the request is for {delegator}, but CESR-DESTINATION names another"
        ));
    }
    let owner = match agency.read().and_then(|reader| reader.owner_of(&delegator)) {
        Ok(Some(owner)) => owner,
        Ok(None) => {
            return Response::error(
                404,
                "404 Not Found",
                &format!("unknown destination AID {delegator}"),
            )
        }
        Err(err) => return failure(Failure::Storage(err)),
    };
    if let Err(reason) = check_sender(agency, &owner, &exn, &exn_message, &messages) {
        return refused(reason);
    }
    let seen = now();
    let sigs = event_message.attachments.controller_sigs;
    let staged = agency.stage(&owner, |rows| {
        delegables::receive(
            rows,
            &Delegable {
                sender: exn.sender(),
                event: &event,
                sigs: &sigs,
            },
            &seen,
        )
    });
    match staged {
        Ok(()) => Response::empty(204),
        Err(err) => failure(err),
    }
}

/// Checks the exn's one signature group against its sender's KEL: held by `owner`'s agent, or
/// in `introduction`, verified whole as an OOBI stream is.
fn check_sender(
    agency: &Agency,
    owner: &str,
    exn: &Exchange,
    message: &Message,
    introduction: &[Message],
) -> Result<(), String> {
    let [group] = message.attachments.signature_groups.as_slice() else {
        return Err(format!(
            "exn {} must carry exactly one signature group (-F) by its sender",
            exn.said()
        ));
    };
    let held = agency
        .read()
        .and_then(|reader| kels::load(&reader.owner(owner), exn.sender()))
        .map_err(|err| format!("{err:#}"))?;
    let kel = if let Some(kel) = held {
        kel
    } else {
        {
            let bytes = stream::write(
                introduction
                    .iter()
                    .map(|message| (message.raw.as_slice(), &message.attachments)),
            );
            let resolution =
                oobi::resolve(&bytes, MAX_INTRODUCTION).map_err(|err| err.to_string())?;
            resolution
                .kels
                .into_iter()
                .find(|kel| kel.state().prefix() == exn.sender())
                .ok_or_else(|| {
                    format!(
                        "exn {} is from {}, whose key event log is neither held here nor introduced",
                        exn.said(),
                        exn.sender()
                    )
                })?
        }
    };
    exn.verify_signatures(kel.state(), group)
        .map_err(|err| err.to_string())
}
