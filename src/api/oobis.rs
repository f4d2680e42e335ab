//! End roles, OOBIs (served on the http port, resolved for the admin API) and contacts.
//!
//! `POST /oobis` stages an `oobi.{nonce}` operation and asks for the URL to be fetched off
//! the loop; when the fetch comes back through the poll, the stream is verified whole, and
//! only then are its KELs, replies and the contact staged with the operation's completion.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{json, Value};

use super::identifiers::{failure, json_body, json_response, now, staged_operation};
use crate::agency::{Agency, Failure};
use crate::fetcher::Fetched;
use crate::keri::cesr::Salt;
use crate::keri::oobi;
use crate::server::http::{Request, Response};
use crate::{identifiers, oobis, operations, roles};

/// Largest OOBI stream accepted (the fetcher refuses larger bodies first).
const MAX_STREAM: usize = 4 << 20;

/// An OOBI being fetched.
struct Resolving {
    controller: String,
    operation: String,
    url: url::Url,
    alias: Option<String>,
}

/// The OOBIs being resolved, and the fetches to start.
#[derive(Default)]
pub(super) struct Resolutions {
    next_id: u64,
    resolving: HashMap<u64, Resolving>,
    to_fetch: Vec<(u64, url::Url)>,
}

impl Resolutions {
    /// The fetches handlers asked for since the last call.
    pub(super) fn take_fetches(&mut self) -> Vec<(u64, url::Url)> {
        std::mem::take(&mut self.to_fetch)
    }

    /// `POST /oobis` `{url, oobialias}`: a pending `oobi.{nonce}` operation.
    pub(super) fn start(
        &mut self,
        agency: &mut Agency,
        controller: &str,
        request: &Request,
    ) -> Response {
        let body = match json_body(request) {
            Ok(body) => body,
            Err(response) => return response,
        };
        let Some(text) = body["url"].as_str() else {
            return failure(Failure::Invalid("url must be a string".into()));
        };
        let url = match url::Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            Ok(url) => {
                return failure(Failure::Invalid(format!(
                    "url must be http or https, not {}",
                    url.scheme()
                )))
            }
            Err(err) => return failure(Failure::Invalid(format!("url {text:?}: {err}"))),
        };
        if oobis::aid_of(&url).is_none() {
            return failure(Failure::Invalid(format!(
                "url {text:?} names no AID (expected …/oobi/{{aid}}…)"
            )));
        }
        let alias = match body.get("oobialias") {
            None | Some(Value::Null) => None,
            Some(Value::String(alias)) => Some(alias.clone()),
            Some(_) => return failure(Failure::Invalid("oobialias must be a string".into())),
        };
        let nonce = match getrandom_salt() {
            Ok(nonce) => nonce,
            Err(err) => return failure(Failure::Storage(err)),
        };
        let name = format!("oobi.{nonce}");
        let operation = operations::pending(&name, json!({"oobi": text}));
        match agency.stage(controller, |rows| Ok(operations::stage(rows, &operation)?)) {
            Ok(()) => {}
            Err(err) => return failure(err),
        }
        let id = self.next_id;
        self.next_id += 1;
        self.resolving.insert(
            id,
            Resolving {
                controller: controller.to_owned(),
                operation: name,
                url: url.clone(),
                alias,
            },
        );
        self.to_fetch.push((id, url));
        json_response(202, &operation)
    }

    /// `operations` of `controller` as stored, with each OOBI resolution that a restart
    /// interrupted (pending, but fetched by no worker of this process) failed, and that
    /// failure staged, so no operation waits forever.
    pub(super) fn settle(
        &self,
        agency: &mut Agency,
        controller: &str,
        operations: Vec<Value>,
    ) -> Result<Vec<Value>, Failure> {
        operations
            .into_iter()
            .map(|operation| {
                let name = operation["name"].as_str().unwrap_or_default();
                let orphaned = operation["done"] == false
                    && name.starts_with("oobi.")
                    && !self.resolving.values().any(|resolving| {
                        resolving.operation == name && resolving.controller == controller
                    });
                if !orphaned {
                    return Ok(operation);
                }
                let failed = operations::failed(
                    name,
                    operation["metadata"].clone(),
                    503,
                    "the agency restarted before this OOBI was resolved: resolve it again",
                );
                agency.stage(controller, |rows| Ok(operations::stage(rows, &failed)?))?;
                Ok(failed)
            })
            .collect()
    }

    /// A fetch that could not start: its operation fails with `reason`.
    pub(super) fn refused(&mut self, agency: &mut Agency, id: u64, reason: &str) {
        if let Some(resolving) = self.resolving.remove(&id) {
            complete(agency, &resolving, &Err(format!("not fetched: {reason}")));
        }
    }

    /// A fetch came back: verify the stream, keep it, complete the operation.
    pub(super) fn fetched(&mut self, agency: &mut Agency, fetched: Fetched) {
        let Some(resolving) = self.resolving.remove(&fetched.id) else {
            return;
        };
        let started = Instant::now();
        let outcome = fetched
            .outcome
            .and_then(|body| oobi::resolve(&body.body, MAX_STREAM).map_err(|err| err.to_string()));
        complete(agency, &resolving, &outcome);
        log::debug!(
            "OOBI {} resolved in {:.3} ms after its fetch",
            resolving.url,
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}

/// Stages the outcome of a resolution and its operation's completion.
fn complete(
    agency: &mut Agency,
    resolving: &Resolving,
    outcome: &Result<oobi::Resolution, String>,
) {
    let metadata = json!({"oobi": resolving.url.as_str()});
    let aid = oobis::aid_of(&resolving.url).unwrap_or_default();
    let seen = now();
    let staged = agency.stage(&resolving.controller, |rows| {
        let operation = match outcome {
            Ok(resolution) => match oobis::keep(
                rows,
                resolution,
                &aid,
                resolving.url.as_str(),
                resolving.alias.as_deref(),
                &seen,
            ) {
                Ok(state) => operations::done(&resolving.operation, metadata.clone(), state),
                Err(err) => operations::failed(
                    &resolving.operation,
                    metadata.clone(),
                    400,
                    &format!("{err:#}"),
                ),
            },
            Err(reason) => operations::failed(&resolving.operation, metadata.clone(), 400, reason),
        };
        Ok(operations::stage(rows, &operation)?)
    });
    match (outcome, staged) {
        (Ok(_), Ok(())) => log::info!("OOBI {} resolved", resolving.url),
        (Err(reason), Ok(())) => log::info!("OOBI {} not resolved: {reason}", resolving.url),
        (_, Err(_)) => log::error!(
            "the resolution of OOBI {} could not be stored",
            resolving.url
        ),
    }
}

/// A fresh nonce, as KERIA names its OOBI operations (a qb64 salt).
fn getrandom_salt() -> anyhow::Result<String> {
    let mut raw = [0_u8; 16];
    getrandom::getrandom(&mut raw).map_err(|err| anyhow::anyhow!("no randomness: {err}"))?;
    Ok(Salt::new(raw).qb64().to_string())
}

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
    if role != "agent" {
        return failure(Failure::Invalid(format!(
            "role {role:?} has no OOBIs here: only role=agent is served (no witnesses or mailboxes)"
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
