//! The multisig group routes: `POST /identifiers` with a `group` (a member's group inception),
//! `GET /multisig/request/{said}` (every member's message about one group event) and
//! `GET /identifiers/{name}/members` (signing and rotation members with their end roles).
//!
//! A group event completed by its members' signatures goes to its witnesses here (`witness`),
//! in the same batch as the signature that completed it.

use serde_json::{json, Map, Value};
use url::Url;

use super::reply::{failure, json_response, staged_operation};
use crate::agency::groups::{self, Completed};
use crate::agency::receipting::Receipting;
use crate::agency::{group_replies, identifiers, multisig, roles};
use crate::agency::{Agency, Failure};
use crate::keri::event::Event;
use crate::server::http::{Request, Response};
use crate::store::{OwnerReader, OwnerWriter, OPERATIONS};

/// Stages the receipting of a group event its members' signatures completed, under its
/// `group.…` operation.
pub(super) fn witness(
    rows: &mut OwnerWriter<'_>,
    controller: &str,
    completed: Completed,
    receipting: &mut Receipting,
) -> Result<(), Failure> {
    let Completed {
        event,
        sigs,
        urls,
        toad,
        operation,
    } = completed;
    receipting.stage(
        rows,
        controller,
        (&event, &sigs),
        (urls, toad),
        Some(operation),
    )?;
    Ok(())
}

/// `POST /identifiers` with `group`: the member's inception of a group (its witnesses at
/// `urls`), escrowed until the members' signatures meet its threshold; `group.{prefix}`.
pub(super) fn incept(
    agency: &mut Agency,
    controller: &str,
    request: &Request,
    urls: &[(String, Url)],
    receipting: &mut Receipting,
) -> Response {
    staged_operation(agency, controller, request, 202, |rows, body, seen| {
        if !urls.is_empty() {
            receipting.check_room()?;
        }
        let (operation, completed) = groups::incept(rows, body, urls, seen)?;
        let icp = Event::verify(&body["icp"]).map_err(|err| Failure::Invalid(err.to_string()))?;
        let completed = match completed {
            Some(completed) => Some(completed),
            None => multisig::replay(rows, &icp, seen)?,
        };
        if let Some(completed) = completed {
            witness(rows, controller, completed, receipting)?;
        }
        // The operation as it now stands: done when the signatures completed an unwitnessed event.
        let name = operation["name"].as_str().unwrap_or_default();
        let current = rows
            .record(OPERATIONS, name)?
            .and_then(|record| serde_json::from_str(&record).ok())
            .unwrap_or(operation);
        Ok((current, false))
    })
}

/// `POST /identifiers/{group}/endroles` by a member: escrowed until the members' signatures
/// (this one's, then those of `/multisig/rpy` messages) meet the group's threshold.
pub(super) fn add_end_role(
    rows: &mut OwnerWriter<'_>,
    gid: &str,
    body: &Value,
) -> Result<(Value, bool), Failure> {
    let operation = group_replies::add_end_role(rows, gid, body)?;
    let reply = crate::keri::reply::Reply::verify(&body["rpy"])
        .map_err(|err| Failure::Invalid(err.to_string()))?;
    multisig::replay_reply(rows, &reply)?;
    let name = operation["name"].as_str().unwrap_or_default();
    let current = rows
        .record(OPERATIONS, name)?
        .and_then(|record| serde_json::from_str(&record).ok())
        .unwrap_or(operation);
    Ok((current, false))
}

/// `GET /multisig/request/{said}`.
pub(super) fn request(agency: &Agency, controller: &str, said: &str) -> Response {
    let found = agency
        .read()
        .map_err(Failure::Storage)
        .and_then(|reader| multisig::request(&reader.owner(controller), said));
    match found {
        Ok(answers) => json_response(200, &Value::Array(answers)),
        Err(err) => failure(err),
    }
}

/// The end roles `aid` granted, as `{role: {eid: {scheme: url}}}`.
fn ends(rows: &OwnerReader<'_>, aid: &str) -> Result<Value, Failure> {
    let mut ends = Map::new();
    for (role, _) in roles::end_roles(rows, aid, None)? {
        let mut schemes = Map::new();
        for location in roles::locations(rows, &role.eid)? {
            schemes.insert(location.scheme, location.url.into());
        }
        let entry = ends.entry(role.role).or_insert_with(|| json!({}));
        entry[&role.eid] = Value::Object(schemes);
    }
    Ok(Value::Object(ends))
}

/// `GET /identifiers/{name}/members`: `{signing, rotation}`, each `[{aid, ends}]`.
pub(super) fn members(agency: &Agency, controller: &str, name: &str) -> Response {
    let found = agency.read().map_err(Failure::Storage).and_then(|reader| {
        let rows = reader.owner(controller);
        let identifier = identifiers::find(&rows, name)?;
        let Some((smids, rmids)) = groups::members(&rows, identifier.prefix())? else {
            return Err(Failure::Invalid(
                "members endpoint only available for group AIDs".into(),
            ));
        };
        let list = |mids: &[String]| -> Result<Vec<Value>, Failure> {
            mids.iter()
                .map(|aid| Ok(json!({"aid": aid, "ends": ends(&rows, aid)?})))
                .collect()
        };
        Ok(json!({"signing": list(&smids)?, "rotation": list(&rmids)?}))
    });
    match found {
        Ok(members) => json_response(200, &members),
        Err(err) => failure(err),
    }
}

/// A group identifier's answer with `group.mhab` as the member identifier's own answer.
pub(super) fn expanded(rows: &OwnerReader<'_>, mut answer: Value) -> Value {
    if let Some(mhab) = answer["group"]["mhab"].as_str().map(ToOwned::to_owned) {
        if let Ok(member) = identifiers::find(rows, &mhab) {
            answer["group"]["mhab"] = member.detail();
        }
    }
    answer
}
