//! End roles, locations, identifier OOBIs and the OOBI streams of the http port. Resolving
//! OOBIs is `resolutions`' work.

use std::time::Instant;

use serde_json::{json, Value};

use super::reply::{failure, json_body, json_response, staged_operation};
use crate::agency::resolutions::Resolutions;
use crate::agency::{identifiers, oobis, operations, roles};
use crate::agency::{Agency, Failure, Urls};
use crate::server::http::{Request, Response};

/// The prefix of `controller`'s identifier `name`, or the answer that it has none.
fn prefix_of(agency: &Agency, controller: &str, name: &str) -> Result<String, Response> {
    agency
        .read()
        .map_err(Failure::Storage)
        .and_then(|reader| identifiers::find(&reader.owner(controller), name))
        .map(|identifier| identifier.prefix)
        .map_err(failure)
}

/// `POST /identifiers/{name}/endroles` `{rpy, sigs}`: 202 with the `endrole…` operation.
pub(super) fn add_end_role(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
) -> Response {
    let prefix = match prefix_of(agency, controller, name) {
        Ok(prefix) => prefix,
        Err(response) => return response,
    };
    staged_operation(agency, controller, request, 202, |rows, body, _| {
        if crate::agency::groups::is_group(rows, &prefix)? {
            return super::multisig::add_end_role(rows, &prefix, body);
        }
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

/// `GET /identifiers/{name}/oobis?role=agent` and `GET /oobis/{alias}?role=agent`: one URL per
/// controller URL and authorized agent.
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
        return endpoint_oobis(agency, controller, name, role);
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

/// `GET /identifiers/{name}/oobis?role=R` for a role other than agent or witness (a mailbox):
/// `{url}/oobi/{prefix}/{role}/{eid}` for each endpoint the identifier authorized in that role,
/// at its http (else https) location; 404 when an endpoint has none.
fn endpoint_oobis(agency: &Agency, controller: &str, name: &str, role: &str) -> Response {
    let listed = agency.read().map_err(Failure::Storage).and_then(|reader| {
        let rows = reader.owner(controller);
        let identifier = identifiers::find(&rows, name)?;
        let mut urls = Vec::new();
        for (granted, _) in roles::end_roles(&rows, &identifier.prefix, Some(role))? {
            let locations = roles::locations(&rows, &granted.eid)?;
            let url = ["http", "https"].into_iter().find_map(|scheme| {
                locations
                    .iter()
                    .find(|location| location.scheme == scheme)
                    .map(|location| location.url.clone())
            });
            let Some(url) = url else {
                return Err(Failure::NotFound(format!(
                    "unable to query {role} {}, no http endpoint",
                    granted.eid
                )));
            };
            urls.push(Value::String(format!(
                "{}/oobi/{}/{role}/{}",
                url.trim_end_matches('/'),
                identifier.prefix,
                granted.eid
            )));
        }
        Ok(urls)
    });
    match listed {
        Ok(urls) => json_response(200, &json!({"role": role, "oobis": urls})),
        Err(err) => failure(err),
    }
}

/// `POST /identifiers/{name}/locschemes` `{rpy, sigs}`: a `/loc/scheme` reply for the
/// identifier, signed by it; 202 with the done `locscheme.{eid}.{scheme}` operation.
pub(super) fn add_location(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
) -> Response {
    let prefix = match prefix_of(agency, controller, name) {
        Ok(prefix) => prefix,
        Err(response) => return response,
    };
    staged_operation(agency, controller, request, 202, |rows, body, _| {
        let location = roles::add_location(rows, &prefix, body)?;
        let described =
            json!({"eid": location.eid, "scheme": location.scheme, "url": location.url});
        let operation = operations::done(
            &format!("locscheme.{}.{}", location.eid, location.scheme),
            described.clone(),
            described,
        );
        Ok((operation, true))
    })
}

/// `GET /endroles/{aid}[/{role}]`: the end roles `aid` granted, as this agent knows them (its
/// own identifiers' and those resolved from OOBIs), as `{cid, role, eid}`.
pub(super) fn end_roles_of(
    agency: &Agency,
    controller: &str,
    aid: &str,
    role: Option<&str>,
) -> Response {
    let listed = agency
        .read()
        .and_then(|reader| roles::list(&reader.owner(controller), aid, role));
    match listed {
        Ok(roles) => json_response(200, &Value::Array(roles)),
        Err(err) => failure(Failure::Storage(err)),
    }
}

/// `GET /oobi` on the http port: as KERIA's, the agency has no blind OOBI to give.
pub(super) fn blind() -> Response {
    Response::error(404, "404 Not Found", "no blind oobi for this node")
}

/// `GET /oobi/{aid}[/{role}[/{eid}]]` on the http port: the CESR stream, or 404. Only the
/// agent role is served: with it, the end-role reply for `eid` (this agent when not named),
/// which `aid` must have granted.
pub(super) fn serve(
    agency: &mut Agency,
    aid: &str,
    role: Option<(&str, Option<&str>)>,
    curls: &[String],
) -> Response {
    let served = (|| -> anyhow::Result<Option<Vec<u8>>> {
        if role.is_some_and(|(role, _)| role != "agent") {
            return Ok(None);
        }
        let reader = agency.read()?;
        let Some(controller) = reader.owner_of(aid)? else {
            return Ok(None);
        };
        let Some(agent) = agency.agent(&controller, Instant::now())? else {
            return Ok(None);
        };
        let eid = role.map(|(_, eid)| eid.unwrap_or(agent.prefix()));
        oobis::serve(&reader.owner(&controller), agent, curls, aid, eid)
    })();
    match served {
        Ok(Some(stream)) => Response::empty(200)
            .header("Content-Type", "application/json+cesr")
            .header("Keri-Aid", aid)
            .body(stream),
        Ok(None) => Response::error(404, "404 Not Found", &format!("no OOBI for {aid}")),
        Err(err) => failure(Failure::Storage(err)),
    }
}

/// `DELETE /identifiers/{name}/endroles/{role}/{eid}`: 204 once the end role is gone; the
/// identifier's OOBIs no longer name `eid` in `role`. 404 when it was not granted.
pub(super) fn remove_end_role(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    role: &str,
    eid: &str,
) -> Response {
    let prefix = match prefix_of(agency, controller, name) {
        Ok(prefix) => prefix,
        Err(response) => return response,
    };
    match agency.stage(controller, |rows| {
        Ok(roles::remove(rows, &prefix, role, eid)?)
    }) {
        Ok(true) => Response::empty(204),
        Ok(false) => failure(Failure::NotFound(format!(
            "{name} has not granted {eid} the role {role}"
        ))),
        Err(err) => failure(err),
    }
}

/// `GET /locschemes/{eid}`: `[{scheme, url}]`, where `eid` is reached (this agent: the
/// controller URLs it advertises); 404 for an identifier whose KEL is not held.
pub(super) fn locations(agency: &Agency, controller: &str, eid: &str, urls: &Urls) -> Response {
    let listed = agency.read().map_err(Failure::Storage).and_then(|reader| {
        let rows = reader.owner(controller);
        if reader.agent_of(controller)?.as_deref() == Some(eid) {
            return Ok(roles::advertised(&urls.curls));
        }
        if rows.kel(eid)?.is_empty() {
            return Err(Failure::NotFound(format!(
                "{eid} is not a known identifier"
            )));
        }
        Ok(roles::locations(&rows, eid)?
            .into_iter()
            .map(|location| (location.scheme, location.url))
            .collect())
    });
    match listed {
        Ok(schemes) => {
            let schemes: Vec<Value> = schemes
                .into_iter()
                .map(|(scheme, url)| json!({"scheme": scheme, "url": url}))
                .collect();
            json_response(200, &Value::Array(schemes))
        }
        Err(err) => failure(err),
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
