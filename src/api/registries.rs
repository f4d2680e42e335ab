//! Credential registries, `GET`/`POST /identifiers/{name}/registries`.
//!
//! A registry's inception is complete as soon as its anchoring event is durable (registries
//! here have no backers to wait for), so its `registry.{regk}` operation is done at once and
//! carries the anchoring event's `done.{said}` operation in `metadata.depends`, as KERIA's.

use serde_json::{json, Value};

use super::operations::event_operation;
use super::reply::{failure, json_response, staged_operation};
use crate::agency::{identifiers, operations, registries};
use crate::agency::{Agency, Failure};
use crate::server::http::{Request, Response};

/// `POST /identifiers/{name}/registries`: a registry inception with the issuer's anchoring
/// event; 202 with the done `registry.{regk}` operation.
pub(super) fn create(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
) -> Response {
    staged_operation(agency, controller, request, 202, |rows, body, seen| {
        let created = registries::create(rows, name, body, seen)?;
        let depends = event_operation(&created.anchoring);
        operations::stage(rows, &depends)?;
        let anchor = created.vcp.seal().to_value();
        let operation = operations::done(
            &format!("registry.{}", created.vcp.regk()),
            json!({
                "pre": created.anchoring.prefix(),
                "anchor": anchor,
                "depends": depends,
            }),
            json!({"anchor": anchor}),
        );
        Ok((operation, true))
    })
}

/// `GET /identifiers/{name or prefix}/registries`: `[{name, regk, pre, state}]`.
pub(super) fn list(agency: &Agency, controller: &str, name: &str) -> Response {
    let found = agency.read().map_err(Failure::Storage).and_then(|reader| {
        let rows = reader.owner(controller);
        let identifier = identifiers::find(&rows, name)?;
        Ok(registries::list(&rows, &identifier.prefix)?)
    });
    match found {
        Ok(all) => json_response(200, &Value::Array(all)),
        Err(err) => failure(err),
    }
}
