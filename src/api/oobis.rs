//! End roles, identifier OOBIs, the OOBI streams of the http port, and contacts. Resolving
//! OOBIs is `resolutions`' work.

use std::time::Instant;

use serde_json::{json, Value};

use super::reply::{failure, json_body, json_response, staged_operation};
use crate::agency::resolutions::Resolutions;
use crate::agency::{identifiers, oobis, operations, roles};
use crate::agency::{Agency, Failure};
use crate::server::http::{Request, Response};

/// `POST /identifiers/{name}/endroles` `{rpy, sigs}`: 202 with the `endrole…` operation.
pub(super) fn add_end_role(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
) -> Response {
    let prefix = match agency
        .read()
        .map_err(Failure::Storage)
        .and_then(|reader| identifiers::find(&reader.owner(controller), name))
    {
        Ok(identifier) => identifier.prefix,
        Err(err) => return failure(err),
    };
    staged_operation(agency, controller, request, 202, |rows, body, _| {
        let (role, reply) = roles::add(rows, &prefix, body)?;
        let operation = operations::done(
            &format!("endrole.{}.{}.{}", role.cid, role.role, role.eid),
            json!({"cid": role.cid, "role": role.role, "eid": role.eid}),
            reply.value().clone(),
        );
        Ok((operation, true))
    })
}

/// `GET /identifiers/{name}/endroles[/{role}]`.
pub(super) fn end_roles(
    agency: &Agency,
    controller: &str,
    name: &str,
    role: Option<&str>,
) -> Response {
    let listed = agency.read().map_err(Failure::Storage).and_then(|reader| {
        let rows = reader.owner(controller);
        let identifier = identifiers::find(&rows, name)?;
        Ok(roles::list(&rows, &identifier.prefix, role)?)
    });
    match listed {
        Ok(roles) => json_response(200, &Value::Array(roles)),
        Err(err) => failure(err),
    }
}

/// `GET /identifiers/{name}/oobis?role=agent`: one URL per controller URL and authorized agent.
pub(super) fn identifier_oobis(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
    curls: &[String],
) -> Response {
    let role = request.query_param("role").unwrap_or("agent");
    if role == "witness" {
        return super::identifiers::witness_oobis(agency, controller, name);
    }
    if role != "agent" {
        return failure(Failure::Invalid(format!(
            "role {role:?} has no OOBIs here: only role=agent and role=witness are served (no mailboxes)"
        )));
    }
    let listed = agency.read().map_err(Failure::Storage).and_then(|reader| {
        let rows = reader.owner(controller);
        let identifier = identifiers::find(&rows, name)?;
        let agents = roles::list(&rows, &identifier.prefix, Some("agent"))?;
        let mut urls = Vec::new();
        for role in agents {
            let eid = role["eid"].as_str().unwrap_or_default();
            for curl in curls {
                let base = curl.trim_end_matches('/');
                urls.push(Value::String(format!(
                    "{base}/oobi/{}/agent/{eid}",
                    identifier.prefix
                )));
            }
        }
        Ok(urls)
    });
    match listed {
        Ok(urls) => json_response(200, &json!({"role": role, "oobis": urls})),
        Err(err) => failure(err),
    }
}

/// `GET /contacts` and `GET /contacts/{prefix}`.
pub(super) fn contacts(agency: &Agency, controller: &str, prefix: Option<&str>) -> Response {
    let reader = match agency.read() {
        Ok(reader) => reader,
        Err(err) => return failure(Failure::Storage(err)),
    };
    let rows = reader.owner(controller);
    match prefix {
        None => match oobis::contacts(&rows) {
            Ok(all) => json_response(200, &Value::Array(all)),
            Err(err) => failure(Failure::Storage(err)),
        },
        Some(prefix) => match oobis::find_contact(&rows, prefix) {
            Ok(Some(contact)) => json_response(200, &contact),
            Ok(None) => failure(Failure::NotFound(format!("no contact {prefix}"))),
            Err(err) => failure(Failure::Storage(err)),
        },
    }
}

/// `GET /oobi/{aid}[/agent/{eid}]` on the http port: the CESR stream, or 404.
pub(super) fn serve(
    agency: &mut Agency,
    aid: &str,
    eid: Option<&str>,
    curls: &[String],
) -> Response {
    let served = (|| -> anyhow::Result<Option<Vec<u8>>> {
        let reader = agency.read()?;
        let Some(controller) = reader.owner_of(aid)? else {
            return Ok(None);
        };
        let Some(agent) = agency.agent(&controller, Instant::now())? else {
            return Ok(None);
        };
        oobis::serve(&reader.owner(&controller), agent, curls, aid, eid)
    })();
    match served {
        Ok(Some(stream)) => Response::empty(200)
            .header("Content-Type", "application/json+cesr")
            .body(stream),
        Ok(None) => Response::error(404, "404 Not Found", &format!("no OOBI for {aid}")),
        Err(err) => failure(Failure::Storage(err)),
    }
}

/// `POST /oobis` `{url, oobialias}`: a pending `oobi.{nonce}` operation, done once the OOBI
/// is fetched and verified.
pub(super) fn resolve(
    agency: &mut Agency,
    controller: &str,
    resolutions: &mut Resolutions,
    request: &Request,
) -> Response {
    let started = json_body(request).map(|body| resolutions.start(agency, controller, &body));
    match started {
        Ok(Ok(operation)) => json_response(202, &operation),
        Ok(Err(err)) => failure(err),
        Err(response) => response,
    }
}
