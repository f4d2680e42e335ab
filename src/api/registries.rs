//! Credential registries, `GET`/`POST /identifiers/{name}/registries`.
//!
//! A registry's inception is complete once its anchoring event is durable and, for a witnessed
//! issuer, receipted by its witnesses (registries here have no backers of their own): its
//! `registry.{regk}` operation is then done; without witnesses it is done at once and carries
//! the anchoring event's `done.{said}` operation in `metadata.depends`, as KERIA's.
//! `GET|PUT /identifiers/{name}/registries/{registryName}` read and rename one.

use serde_json::{json, Value};

use super::credentials;
use super::operations::event_operation;
use super::reply::{failure, json_body, json_response, staged_operation};
use crate::agency::receipting::Receipting;
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
    receipting: &mut Receipting,
) -> Response {
    let known = credentials::witness_urls(agency, controller, name);
    staged_operation(agency, controller, request, 202, |rows, body, seen| {
        if !known.is_empty() {
            receipting.check_room()?;
        }
        let created = registries::create(rows, name, body, seen)?;
        let (wits, toad) = created.witnesses.clone();
        if !wits.is_empty() {
            let anchor = created.vcp.seal().to_value();
            let operation = format!("registry.{}", created.vcp.regk());
            let metadata = json!({"pre": created.anchoring.prefix(), "anchor": anchor});
            return credentials::anchor_operation(
                rows,
                controller,
                receipting,
                (&created.anchoring, &created.sigs),
                (wits, toad, &known),
                (Some((operation, metadata)), Value::Null),
            );
        }
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

/// `GET /identifiers/{name}/registries/{registryName}`.
pub(super) fn get(agency: &Agency, controller: &str, name: &str, registry: &str) -> Response {
    let found = agency.read().map_err(Failure::Storage).and_then(|reader| {
        let rows = reader.owner(controller);
        let identifier = identifiers::find(&rows, name)?;
        registries::get(&rows, &identifier.prefix, registry)
    });
    match found {
        Ok(shown) => json_response(200, &shown),
        Err(err) => failure(err),
    }
}

/// `PUT /identifiers/{name}/registries/{registryName}` `{name}`: the renamed registry.
pub(super) fn rename(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    registry: &str,
    request: &Request,
) -> Response {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let prefix = match agency
        .read()
        .map_err(Failure::Storage)
        .and_then(|reader| Ok(identifiers::find(&reader.owner(controller), name)?.prefix))
    {
        Ok(prefix) => prefix,
        Err(err) => return failure(err),
    };
    let renamed = agency.stage(controller, |rows| {
        registries::rename(rows, &prefix, registry, &body)
    });
    let shown = renamed.and_then(|(key, record)| {
        // The rename is staged, not committed: the shown state comes from the committed vcp.
        let reader = agency.read().map_err(Failure::Storage)?;
        registries::show(&reader.owner(controller), &prefix, &key, &record)
    });
    match shown {
        Ok(shown) => json_response(200, &shown),
        Err(err) => failure(err),
    }
}
