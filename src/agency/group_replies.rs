//! A group's end roles (`/end/role/add` replies), signed by its members one at a time.
//!
//! A member's `POST /identifiers/{group}/endroles` carries the reply with that member's
//! signature only; it waits in the group escrow (`rpy.{said}` in `GROUPS`, bounded with the
//! group events by `groups::MAX_ESCROWED`) until signatures from `/multisig/rpy` messages of
//! the other members meet the group's signing threshold. The role is then kept like any end
//! role (`roles::keep`), signed by the group, and its `endrole.{cid}.{role}.{eid}` operation
//! is done.

use serde_json::{json, Value};

use crate::agency::groups::{self, member_keys};
use crate::agency::{identifiers, kels, operations, roles, Failure};
use crate::keri::oobi::SignedReply;
use crate::keri::primitives::{Siger, Verfer};
use crate::keri::reply::Reply;
use crate::keri::stream::SignatureGroup;
use crate::keri::threshold::Threshold;
use crate::store::{OwnerWriter, END_ROLES, GROUPS};

fn invalid(reason: impl Into<String>) -> Failure {
    Failure::Invalid(reason.into())
}

fn escrow_key(said: &str) -> String {
    format!("rpy.{said}")
}

/// The group's current keys, signing threshold and latest establishment event.
fn group_state(
    rows: &OwnerWriter<'_>,
    gid: &str,
) -> Result<(Vec<Verfer>, Threshold, u64, String), Failure> {
    let stored = rows.kel(gid)?;
    if stored.is_empty() {
        return Err(invalid(format!(
            "the group {gid} has no accepted key event log yet"
        )));
    }
    let kel = kels::replay(&stored, gid, None).map_err(Failure::Storage)?;
    let state = kel.state();
    let (sn, said) = state.establishment();
    Ok((
        state.keys().to_vec(),
        state.signing_threshold().clone(),
        sn,
        said.to_owned(),
    ))
}

/// Checks that each of `sigs` of `reply` verifies against the group's key at its index, and
/// that this key is one of `signer`'s.
pub fn check_sigs(
    rows: &OwnerWriter<'_>,
    gid: &str,
    reply: &Reply,
    sigs: &[Siger],
    signer: &str,
) -> Result<(), Failure> {
    let (keys, _, _, _) = group_state(rows, gid)?;
    let signer_keys =
        member_keys(rows, signer)?.ok_or_else(|| invalid(format!("unknown member {signer}")))?;
    for siger in sigs {
        reply
            .verify_signatures(&keys, &Threshold::count(1), std::slice::from_ref(siger))
            .map_err(|err| invalid(format!("rpy: {err}")))?;
        let key = &keys[siger.index() as usize];
        if !signer_keys.contains(key) {
            return Err(invalid(format!(
                "signature from a non-member: index {} of the group's keys is not {signer}'s key",
                siger.index()
            )));
        }
    }
    Ok(())
}

/// Whether this controller approved `reply`: it waits in the escrow, or its role is kept.
pub fn approved(rows: &OwnerWriter<'_>, reply: &Reply) -> Result<bool, Failure> {
    if rows.record(GROUPS, &escrow_key(reply.said()))?.is_some() {
        return Ok(true);
    }
    let Some(role) = reply.end_role() else {
        return Ok(false);
    };
    let key = format!("{}.{}.{}", role.cid, role.role, role.eid);
    Ok(rows
        .record(END_ROLES, &key)?
        .is_some_and(|record| record.contains(reply.said())))
}

/// `POST /identifiers/{group}/endroles` by a member: checks the reply and the member's
/// signatures, escrows them; the `endrole.…` operation (done once the group's threshold is met).
pub fn add_end_role(rows: &mut OwnerWriter<'_>, gid: &str, body: &Value) -> Result<Value, Failure> {
    let reply = Reply::verify(body.get("rpy").unwrap_or(&Value::Null))
        .map_err(|err| invalid(format!("rpy: {err}")))?;
    let Some(role) = reply.end_role() else {
        return Err(invalid(
            "rpy must be an /end/role/add reply with a {cid, role, eid}",
        ));
    };
    if role.cid != gid {
        return Err(invalid(format!(
            "the reply authorizes for {}, not for this identifier {gid}",
            role.cid
        )));
    }
    let sigs = identifiers::sigs(body)?;
    let group = identifiers::find_staged(rows, gid)?;
    let (_, params) = group.params();
    let mhab = params["mhab"].as_str().unwrap_or_default().to_owned();
    check_sigs(rows, gid, &reply, &sigs, &mhab)?;
    if rows.records(GROUPS, "rpy.")?.len() >= groups::MAX_ESCROWED {
        return Err(Failure::Busy(format!(
            "{} group replies already wait for signatures; retry when some finish",
            groups::MAX_ESCROWED
        )));
    }
    let name = format!("endrole.{}.{}.{}", role.cid, role.role, role.eid);
    let metadata = json!({"cid": role.cid, "role": role.role, "eid": role.eid});
    if rows.record(GROUPS, &escrow_key(reply.said()))?.is_none() {
        let record = json!({
            "rpy": String::from_utf8_lossy(reply.raw()),
            "sigs": [],
            "operation": name,
            "metadata": metadata,
        });
        rows.put_record(GROUPS, &escrow_key(reply.said()), &record.to_string())?;
        operations::stage(rows, &operations::pending(&name, metadata))?;
    }
    merge(rows, &reply, &sigs)?;
    Ok(rows
        .record(crate::store::OPERATIONS, &name)?
        .and_then(|record| serde_json::from_str(&record).ok())
        .unwrap_or(Value::Null))
}

/// Adds checked `sigs` of `reply` to its escrow; keeps the role once they meet the group's
/// threshold. Nothing happens for a reply not escrowed here.
pub fn merge(rows: &mut OwnerWriter<'_>, reply: &Reply, sigs: &[Siger]) -> Result<(), Failure> {
    let key = escrow_key(reply.said());
    let Some(record) = rows.record(GROUPS, &key)? else {
        return Ok(());
    };
    let mut value: Value = serde_json::from_str(&record)
        .map_err(|err| Failure::Storage(anyhow::anyhow!("group reply escrow: {err}")))?;
    let held = groups::merged(&value, sigs);
    let Some(role) = reply.end_role() else {
        return Ok(());
    };
    let (keys, threshold, sn, said) = group_state(rows, &role.cid)?;
    if reply.verify_signatures(&keys, &threshold, &held).is_err() {
        value["sigs"] = held.iter().map(Siger::qb64).collect::<Vec<_>>().into();
        rows.put_record(GROUPS, &key, &value.to_string())?;
        return Ok(());
    }
    let signed = SignedReply {
        reply: reply.clone(),
        groups: vec![SignatureGroup {
            prefix: role.cid.clone(),
            sn,
            said,
            sigs: held,
        }],
        couples: Vec::new(),
    };
    roles::keep(rows, &signed)?;
    rows.remove_record(GROUPS, &key)?;
    if let Some(name) = value["operation"].as_str() {
        let done = operations::done(name, value["metadata"].clone(), reply.value().clone());
        operations::stage(rows, &done)?;
    }
    log::info!(
        "group {} authorised {} as its {} with its members' signatures",
        role.cid,
        role.eid,
        role.role
    );
    Ok(())
}
