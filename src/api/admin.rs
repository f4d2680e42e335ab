//! The admin port: the unsigned `/agent/{caid}` routes, and Signify-signed requests
//! (verified against the controller's current key, answered signed by the agent's key).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::reply::failure;
use crate::agency::agent::{Accepted, Agent};
use crate::agency::identifiers;
use crate::agency::{Agency, Failure};
use crate::keri::datetime::format_datetime;
use crate::keri::event::Event;
use crate::keri::json::python_json;
use crate::keri::kel::SignedEvent;
use crate::keri::primitives::Siger;
use crate::server::http::{Request, Response};
use crate::server::json;
use crate::signify::httpsig;

/// `GET /agent/{caid}`: the agent's and the controller's key state.
pub(super) fn agent_state(agency: &mut Agency, controller: &str) -> Response {
    let reader = match agency.read() {
        Ok(reader) => reader,
        Err(err) => return storage_error(&err),
    };
    let agent = match agency.agent(controller, Instant::now()) {
        Ok(Some(agent)) => agent,
        Ok(None) => return no_agent(controller),
        Err(err) => return storage_error(&err),
    };
    let body = (|| -> anyhow::Result<Value> {
        let agent_state = agent.key_state(&reader, agent.prefix())?;
        let controller_state = agent.key_state(&reader, controller)?;
        let establishment = agent.controller_establishment(&reader)?;
        Ok(json!({
            "agent": agent_state.to_value(),
            "controller": { "state": controller_state.to_value(), "ee": establishment.value() },
            "pidx": identifiers::count(&reader.owner(controller))?,
        }))
    })();
    match body {
        Ok(body) => Response::json_text(200, python_json(&body)),
        Err(err) => storage_error(&err),
    }
}

/// Longest controller `sxlt` a passcode rotation may send, in bytes.
const MAX_SXLT: usize = 256;

/// `PUT /agent/{caid}`: with `?type=ixn`, the controller's approval of the agent's
/// delegation `{ixn, sigs}`; otherwise its passcode rotation `{rot, sigs, sxlt, keys}`. Unsigned
/// (the event's own signatures authenticate it); 204 once the event is durable.
pub(super) fn update(agency: &mut Agency, controller: &str, request: &Request) -> Response {
    let body = match json::parse(&request.body) {
        Ok(Value::Object(body)) => body,
        Ok(_) => return bad_request("the body must be a JSON object"),
        Err(err) => return bad_request(&format!("Could not parse JSON body - {err}")),
    };
    let interaction = request.query_param("type") == Some("ixn");
    let (label, fields): (&str, &[&str]) = if interaction {
        ("ixn", &["ixn", "sigs"])
    } else {
        ("rot", &["rot", "sigs", "sxlt", "keys"])
    };
    if let Some(field) = fields.iter().find(|field| !body.contains_key(**field)) {
        return bad_request(&format!("required field '{field}' missing from body"));
    }
    if let Some(unknown) = body.keys().find(|key| !fields.contains(&key.as_str())) {
        return bad_request(&format!("unknown field '{unknown}' in the body"));
    }
    let event = match Event::verify(&body[label]) {
        Ok(event) => event,
        Err(err) => return bad_request(&format!("{label} is not a valid KERI event: {err}")),
    };
    let sigs: Option<Vec<Siger>> = body["sigs"].as_array().and_then(|sigs| {
        sigs.iter()
            .map(|sig| Siger::parse(sig.as_str()?).ok())
            .collect()
    });
    let Some(sigs) = sigs.filter(|sigs| !sigs.is_empty()) else {
        return bad_request("sigs must be a non-empty list of qb64 indexed signatures");
    };
    let signed = SignedEvent {
        event,
        sigs,
        delegation: None,
    };
    let sn = signed.event.sn();
    let first_seen = format_datetime(OffsetDateTime::now_utc());
    let now = Instant::now();
    let staged = if interaction {
        agency.stage_interaction(controller, signed, &first_seen, now)
    } else {
        match body["sxlt"].as_str() {
            Some(sxlt) if sxlt.len() <= MAX_SXLT => {}
            Some(_) => return bad_request(&format!("sxlt is longer than {MAX_SXLT} bytes")),
            None => return bad_request("sxlt must be a string"),
        }
        agency.stage_rotation(controller, signed, &body["keys"], &first_seen, now)
    };
    match staged {
        Ok(Some(Accepted::Added)) => {
            log::info!("controller {controller} staged its {label} at sequence number {sn:x}");
            Response::empty(204)
        }
        Ok(Some(Accepted::Duplicate)) => Response::empty(204),
        Ok(None) => Response::error(404, "404 Not Found", &format!("no agent for {controller}")),
        Err(err) => {
            if let Failure::Invalid(reason) = &err {
                log::info!("{label} refused for controller {controller}: {reason}");
            }
            failure(err)
        }
    }
}

/// A signed request: verified, answered by `route` for the controller that signed it, and
/// the answer signed by that controller's agent.
pub(super) fn signed(
    agency: &mut Agency,
    request: &Request,
    window: Duration,
    route: impl FnOnce(&mut Agency, &str, &Request) -> Response,
) -> Response {
    let controller = match authenticate(agency, request, window) {
        Ok(agent) => agent.controller().to_owned(),
        Err(reason) => {
            log::info!("401 for {} {}: {reason}", request.method, request.path);
            return Response::empty(401).header("Content-Type", "application/json");
        }
    };
    let mut response = route(agency, &controller, request);
    let agent = match agency.agent(&controller, Instant::now()) {
        Ok(Some(agent)) => agent,
        Ok(None) => return no_agent(&controller),
        Err(err) => return storage_error(&err),
    };
    for (name, value) in httpsig::response_headers(
        agent.prefix(),
        agent.signer(),
        &request.method,
        &request.path,
        OffsetDateTime::now_utc(),
    ) {
        response = response.header(name, &value);
    }
    response
}

/// The agent whose controller signed `request`, or why the request is refused.
fn authenticate<'a>(
    agency: &'a mut Agency,
    request: &Request,
    window: Duration,
) -> Result<&'a Agent, String> {
    let controller = request
        .header("signify-resource")
        .filter(|value| !value.is_empty())
        .ok_or("missing Signify-Resource header")?
        .to_owned();
    let agent = match agency.agent(&controller, Instant::now()) {
        Ok(Some(agent)) => agent,
        Ok(None) => return Err(format!("unknown controller {controller}")),
        Err(err) => return Err(format!("{err:#}")),
    };
    let key = agent
        .controller_keys()
        .first()
        .ok_or("the controller has no current key")?;
    let input = httpsig::verify_request(
        &request.method,
        &request.path,
        |name| request.header(name).map(str::to_owned),
        key,
    )
    .map_err(|err| err.to_string())?;
    let created = input
        .params
        .created
        .ok_or("Signature-Input has no created parameter")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        });
    let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
    if (now - created).abs() > window {
        return Err(format!(
            "created {created} is more than {window}s from the server clock {now}"
        ));
    }
    Ok(agent)
}

fn no_agent(controller: &str) -> Response {
    Response::error(
        404,
        "404 Not Found",
        &format!("not agent found for controller {controller}"),
    )
}

fn bad_request(description: &str) -> Response {
    Response::error(400, "400 Bad Request", description)
}

fn storage_error(err: &anyhow::Error) -> Response {
    log::error!("{err:#}");
    Response::error(
        500,
        "500 Internal Server Error",
        "the agent's store could not be read",
    )
}
