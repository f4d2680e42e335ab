//! The credential routes: issue (`POST /identifiers/{name}/credentials`), revoke (`DELETE
//! /identifiers/{name}/credentials/{said}`), read (`GET /credentials/{said}`, JSON or the
//! presentable CESR stream), forget a held copy (`DELETE /credentials/{said}`), verify
//! (`POST /credentials/verify`), query (`POST /credentials/query`), and a credential's TEL
//! state (`GET /registries/{ri}/{vci}`).
//!
//! An issuance or revocation is checked whole, then its anchoring event, TEL event and
//! credential are staged in one commit. For a witnessed issuer the anchoring event is
//! receipted (`Receipting`, durable across restarts) and the `credential.{said}` operation is
//! done once its witnesses' receipts reach the threshold; without witnesses it is done at once.

use serde_json::{json, Value};
use url::Url;

use super::reply::{failure, json_body, json_response, now, staged_operation};
use crate::agency::credentials::{self, Held};
use crate::agency::receipting::Receipting;
use crate::agency::{
    credential_index, credential_view, identifiers, operations, schemas, witnesses,
};
use crate::agency::{Agency, Failure};
use crate::keri::event::Event;
use crate::keri::primitives::Siger;
use crate::server::http::{Request, Response};
use crate::store::OwnerWriter;

/// The URLs of identifier `name`'s witnesses, as far as they are known.
pub(super) fn witness_urls(agency: &Agency, controller: &str, name: &str) -> Vec<(String, Url)> {
    let Ok(reader) = agency.read() else {
        return Vec::new();
    };
    let wits = identifiers::find(&reader.owner(controller), name)
        .map(|identifier| identifier.witnesses().0)
        .unwrap_or_default();
    wits.iter()
        .filter_map(|wit| {
            witnesses::url(&reader, controller, wit)
                .ok()?
                .map(|url| (wit.clone(), url))
        })
        .collect()
}

/// The operation of an anchoring event just staged: receipted by its witnesses (named
/// `operation`, or `witness.{prefix}`), else done at once as `done`.
pub(super) fn anchor_operation(
    rows: &mut OwnerWriter<'_>,
    controller: &str,
    receipting: &mut Receipting,
    (event, sigs): (&Event, &[Siger]),
    (wits, toad, known): (Vec<String>, usize, &[(String, Url)]),
    (operation, done): (Option<(String, Value)>, Value),
) -> Result<(Value, bool), Failure> {
    if wits.is_empty() {
        return Ok((done, true));
    }
    let urls = wits
        .iter()
        .map(|wit| {
            known
                .iter()
                .find(|(have, _)| have == wit)
                .cloned()
                .ok_or_else(|| Failure::Invalid(format!("unknown witness {wit}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let pending = receipting.stage(rows, controller, (event, sigs), (urls, toad), operation)?;
    Ok((pending, false))
}

/// `POST /identifiers/{name}/credentials` `{acdc, iss, ixn | rot, sigs, …}`: 200 with the
/// `credential.{said}` operation.
pub(super) fn issue(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
    receipting: &mut Receipting,
) -> Response {
    let schema_said = json_body(request)
        .ok()
        .and_then(|body| body["acdc"]["s"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let schema = agency.read().ok().and_then(|reader| {
        schemas::get(&reader, controller, &schema_said)
            .ok()
            .flatten()
    });
    let known = witness_urls(agency, controller, name);
    staged_operation(agency, controller, request, 200, |rows, body, seen| {
        let issuance = credentials::check_issue(rows, name, body, schema.as_ref(), seen)?;
        let (wits, toad) = issuance.next.witnesses();
        if !wits.is_empty() {
            receipting.check_room()?;
        }
        let (acdc, event, sigs) = credentials::stage_issue(rows, issuance, seen)?;
        let operation = format!("credential.{}", acdc.said());
        let metadata = json!({"ced": acdc.value()});
        let done = operations::done(&operation, metadata.clone(), json!({"ced": acdc.value()}));
        anchor_operation(
            rows,
            controller,
            receipting,
            (&event, &sigs),
            (wits, toad, &known),
            (Some((operation, metadata)), done),
        )
    })
}

/// `DELETE /identifiers/{name}/credentials/{said}` `{rev, ixn | rot, sigs}`: 200 with the
/// anchoring event's operation.
pub(super) fn revoke(
    agency: &mut Agency,
    controller: &str,
    (name, said): (&str, &str),
    request: &Request,
    receipting: &mut Receipting,
) -> Response {
    let known = witness_urls(agency, controller, name);
    staged_operation(agency, controller, request, 200, |rows, body, seen| {
        let revocation = credentials::check_revoke(rows, name, said, body, seen)?;
        let (wits, toad) = revocation.next.witnesses();
        if !wits.is_empty() {
            receipting.check_room()?;
        }
        let (event, sigs) = credentials::stage_revoke(rows, revocation, seen)?;
        let done = super::operations::event_operation(&event);
        anchor_operation(
            rows,
            controller,
            receipting,
            (&event, &sigs),
            (wits, toad, &known),
            (None, done),
        )
    })
}

/// KERIA's 404 for a credential not held, in its serialization (signify-ts scripts compare it).
fn not_found(said: &str) -> Response {
    json_response(
        404,
        &json!({"title": "404 Not Found", "description": format!("credential for said {said} not found.")}),
    )
}

/// `GET /credentials/{said}`: the credential's JSON, or with `Accept: application/json+cesr`
/// its presentable stream.
pub(super) fn get(agency: &Agency, controller: &str, said: &str, request: &Request) -> Response {
    let reader = match agency.read() {
        Ok(reader) => reader,
        Err(err) => return failure(Failure::Storage(err)),
    };
    let cesr = request
        .header("accept")
        .is_some_and(|accept| accept.contains("application/json+cesr"));
    if cesr {
        return match credential_view::stream(&reader.owner(controller), said) {
            Ok(Some(stream)) => Response::empty(200)
                .header("Content-Type", "application/json+cesr")
                .body(stream),
            Ok(None) => not_found(said),
            Err(err) => failure(Failure::Storage(err)),
        };
    }
    match credential_view::show(&reader, controller, said) {
        Ok(Some(shown)) => json_response(200, &shown),
        Ok(None) => not_found(said),
        Err(err) => failure(Failure::Storage(err)),
    }
}

/// `DELETE /credentials/{said}`: forgets a held copy (its TEL is kept); 204.
pub(super) fn delete(agency: &mut Agency, controller: &str, said: &str) -> Response {
    match agency.stage(controller, |rows| credentials::remove(rows, said)) {
        Ok(true) => Response::empty(204),
        Ok(false) => not_found(said),
        Err(err) => failure(err),
    }
}

/// `POST /credentials/query` `{filter, sort, skip, limit}`: the matching credentials, with
/// `Content-Range: credentials {skip}-{end}/{limit}` as KERIA writes it.
pub(super) fn query(agency: &Agency, controller: &str, request: &Request) -> Response {
    let body = if request.body.is_empty() {
        json!({})
    } else {
        match json_body(request) {
            Ok(body) => body,
            Err(response) => return response,
        }
    };
    let found = credential_index::parse(&body).and_then(|query| {
        let reader = agency.read().map_err(Failure::Storage)?;
        let rows = reader.owner(controller);
        let found = credential_index::find(&rows, &query, |said| credentials::get(&rows, said))?;
        let shown = credential_view::show_all(&reader, controller, found)?;
        Ok((query, shown))
    });
    match found {
        Ok((query, shown)) => {
            let end = (query.skip + shown.len()).saturating_sub(1);
            json_response(200, &Value::Array(shown))
                .header("Accept-Ranges", "credentials")
                .header(
                    "Content-Range",
                    &format!("credentials {}-{end}/{}", query.skip, query.limit),
                )
        }
        Err(err) => failure(err),
    }
}

/// `GET /registries/{ri}/{vci}`: the credential's state in the registry's TEL held here.
pub(super) fn state(agency: &Agency, controller: &str, regk: &str, said: &str) -> Response {
    let found = agency.read().map_err(Failure::Storage).and_then(|reader| {
        let rows = reader.owner(controller);
        if credentials::registry(&rows, regk)?.is_none() {
            return Err(Failure::NotFound(format!("registry {regk} not found")));
        }
        credential_view::state(&rows, regk, said)?.ok_or_else(|| {
            Failure::NotFound(format!("credential {said} not found in registry {regk}"))
        })
    });
    match found {
        Ok(state) => json_response(200, &state),
        Err(err) => failure(err),
    }
}

/// `POST /credentials/verify` `{acdc, iss}`: a credential whose issuance is anchored in a KEL
/// held here is checked (SAIDs, schema, edges) and kept; 202 with its done operation.
pub(super) fn verify(agency: &mut Agency, controller: &str, request: &Request) -> Response {
    let schema_said = json_body(request)
        .ok()
        .and_then(|body| body["acdc"]["s"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let schema = agency.read().ok().and_then(|reader| {
        schemas::get(&reader, controller, &schema_said)
            .ok()
            .flatten()
    });
    let seen = now();
    staged_operation(agency, controller, request, 202, |rows, body, _| {
        let acdc = crate::keri::acdc::Acdc::verify(&body["acdc"]).map_err(Failure::Invalid)?;
        let tel = credentials::tel(rows, acdc.said())?;
        if tel.is_empty() || tel.first().map(|iss| iss.event.value()) != Some(&body["iss"]) {
            return Err(Failure::Invalid(format!(
                "the issuance of {} is not held: its TEL must be known first",
                acdc.said()
            )));
        }
        let Some(schema) = schema.as_ref() else {
            return Err(Failure::Invalid(format!(
                "schema {} is not held",
                acdc.schema()
            )));
        };
        schemas::validate(schema, acdc.attributes())
            .map_err(|errors| Failure::Invalid(errors.join("; ")))?;
        credentials::check_edges(rows, &acdc)?;
        if rows.held(crate::store::CREDENTIALS, acdc.said())?.is_none() {
            credentials::store(rows, &acdc, &seen)?;
        }
        let name = format!("credential.{}", acdc.said());
        let metadata = json!({"ced": acdc.value()});
        Ok((
            operations::done(&name, metadata, json!({"ced": acdc.value()})),
            true,
        ))
    })
}
