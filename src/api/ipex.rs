//! The IPEX routes, single-sig: `POST /identifiers/{name}/ipex/{apply,offer,agree,grant,admit}`
//! `{exn, sigs, atc, rec}`, each answered 200 with the done `exchange.{said}` operation once the
//! message is stored, delivered to recipients this agency serves, or queued in the `Outbox`
//! for others.
//!
//! A grant is checked before anything is staged (its signatures, its route, its embeds against
//! what the sender holds, its `-L` attachment groups); each recipient served here is then given
//! what it needs to verify the credential (`ipex::package`), checked whole before it is staged,
//! in the same commit as the grant itself. An admit is checked against the admitting agent's
//! store (the grant it answers was received, and everything it embeds verifies) and the
//! credential is kept in the same commit as the admit. Sender and recipient each get the
//! `/exn/ipex/*` notification, as KERIA 0.4 makes them.

use serde_json::{json, Value};

use super::exchanges;
use super::reply::{failure, json_body, json_response, now};
use crate::agency::outbox::Outbox;
use crate::agency::{identifiers, ipex, kels, notifications, operations, schemas};
use crate::agency::{Agency, Failure};
use crate::keri::acdc::{pathed_groups, Acdc};
use crate::keri::exchange::Exchange;
use crate::keri::primitives::Siger;
use crate::server::http::{Request, Response};

/// The IPEX verbs and the route of the message each sends.
const VERBS: [(&str, &str); 5] = [
    ("apply", "/ipex/apply"),
    ("offer", "/ipex/offer"),
    ("agree", "/ipex/agree"),
    ("grant", "/ipex/grant"),
    ("admit", "/ipex/admit"),
];

fn invalid(reason: impl Into<String>) -> Failure {
    Failure::Invalid(reason.into())
}

/// The message, its signatures and recipients, checked: sent by identifier `name` under its
/// current keys, on `route`.
fn checked(
    agency: &Agency,
    controller: &str,
    name: &str,
    body: &Value,
    route: &str,
) -> Result<(Exchange, Vec<String>), Failure> {
    let exn = Exchange::verify(&body["exn"]).map_err(|err| invalid(err.to_string()))?;
    if exn.route() != route {
        return Err(invalid(format!(
            "invalid route {}: expected {route}",
            exn.route()
        )));
    }
    let sigs = body["sigs"]
        .as_array()
        .ok_or_else(|| invalid("sigs must be a list of indexed signatures"))?
        .iter()
        .map(|sig| {
            Siger::parse(sig.as_str().unwrap_or_default())
                .map_err(|err| invalid(format!("sigs: {err}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let recipients: Vec<String> = body["rec"]
        .as_array()
        .map(|rec| {
            rec.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if recipients.is_empty() {
        return Err(invalid(
            "rec must be a non-empty list of recipient prefixes",
        ));
    }
    let reader = agency.read().map_err(Failure::Storage)?;
    let rows = reader.owner(controller);
    let identifier = identifiers::find(&rows, name)?;
    if exn.sender() != identifier.prefix {
        return Err(invalid(format!(
            "the exn is from {}, not from {name} ({})",
            exn.sender(),
            identifier.prefix
        )));
    }
    let kel = kels::load(&rows, &identifier.prefix)?
        .ok_or_else(|| Failure::NotFound(format!("no key event log for {}", identifier.prefix)))?;
    exn.verify_indexed(kel.state(), &sigs)
        .map_err(|err| invalid(err.to_string()))?;
    for recipient in &recipients {
        if rows.kel(recipient)?.is_empty() {
            return Err(invalid(format!(
                "attempt to send to unknown AID={recipient}"
            )));
        }
    }
    Ok((exn, recipients))
}

/// Sends a checked message through the exchange route (stored, delivered here or queued),
/// notes it for the sender, and answers the done `exchange.{said}` operation.
fn send(
    agency: &mut Agency,
    (controller, name): (&str, &str),
    body: &Value,
    exn: &Exchange,
    outbox: &mut Outbox,
) -> Response {
    let mut plain = body.clone();
    plain["atc"] = "".into();
    plain["tpc"] = "credential".into();
    let sent = exchanges::send_body(agency, controller, name, &plain, (outbox, None));
    if sent.status != 202 {
        return sent;
    }
    let seen = now();
    let name = format!("exchange.{}", exn.said());
    let operation = operations::done(
        &name,
        json!({"said": exn.said()}),
        json!({"said": exn.said()}),
    );
    let staged = agency.stage(controller, |rows| {
        notifications::for_exchange(rows, exn, &seen)?;
        operations::stage(rows, &operation)?;
        Ok(())
    });
    match staged {
        Ok(()) => json_response(200, &operation),
        Err(err) => failure(err),
    }
}

/// `POST /identifiers/{name}/ipex/{verb}`.
pub(super) fn post(
    agency: &mut Agency,
    controller: &str,
    (name, verb): (&str, &str),
    request: &Request,
    outbox: &mut Outbox,
) -> Response {
    let Some((_, route)) = VERBS.iter().find(|(known, _)| *known == verb) else {
        return failure(Failure::NotFound(format!("no IPEX verb {verb}")));
    };
    let body = match json_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let (exn, recipients) = match checked(agency, controller, name, &body, route) {
        Ok(checked) => checked,
        Err(err) => return failure(err),
    };
    let prepared = match verb {
        "grant" => grant(agency, controller, &body, &exn, &recipients).map(|()| None),
        "admit" => admit(agency, controller, &exn).map(Some),
        _ => Ok(None),
    };
    let admitted = match prepared {
        Ok(admitted) => admitted,
        Err(err) => return failure(err),
    };
    let response = send(agency, (controller, name), &body, &exn, outbox);
    if let (Some(acdc), 200) = (admitted, response.status) {
        let seen = now();
        let kept = agency.stage(controller, |rows| {
            Ok(crate::agency::credentials::store(rows, &acdc, &seen)?)
        });
        if let Err(err) = kept {
            return failure(err);
        }
    }
    response
}

/// Checks a grant and stages, for each recipient served here, what it needs to verify it.
fn grant(
    agency: &mut Agency,
    controller: &str,
    body: &Value,
    exn: &Exchange,
    recipients: &[String],
) -> Result<(), Failure> {
    let atc = body["atc"].as_str().unwrap_or_default();
    let groups = pathed_groups(atc).map_err(|err| invalid(format!("atc: {err}")))?;
    if let Some((path, _)) = groups
        .iter()
        .find(|(path, _)| !matches!(path.as_str(), "-e-acdc" | "-e-iss" | "-e-anc"))
    {
        return Err(invalid(format!("atc: a grant embeds no {path}")));
    }
    let reader = agency.read().map_err(Failure::Storage)?;
    let rows = reader.owner(controller);
    let embedded = ipex::check_grant(&rows, exn)?;
    let package = ipex::package(&rows, &embedded.acdc, exn.sender())?;
    let locals = recipients
        .iter()
        .filter_map(|recipient| reader.owner_of(recipient).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    drop(reader);
    let seen = now();
    for owner in locals {
        agency.stage(&owner, |rows| ipex::deliver(rows, &package, &seen))?;
    }
    Ok(())
}

/// Checks an admit against the admitting agent's store; the credential it admits.
fn admit(agency: &mut Agency, controller: &str, exn: &Exchange) -> Result<Acdc, Failure> {
    let grant_said = exn.value()["p"].as_str().unwrap_or_default();
    let reader = agency.read().map_err(Failure::Storage)?;
    let schema_said = reader
        .owner(controller)
        .record(crate::store::EXCHANGES, grant_said)?
        .and_then(|record| serde_json::from_str::<Value>(&record).ok())
        .and_then(|stored| stored["exn"]["e"]["acdc"]["s"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let schema = schemas::get(&reader, controller, &schema_said)?;
    ipex::check_admit(
        &reader.owner(controller),
        grant_said,
        exn.sender(),
        schema.as_ref(),
    )
}
