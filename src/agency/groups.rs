//! Multisig group identifiers: a group's inception waits in a durable partial-signature escrow
//! until its members' signatures meet its signing threshold, then is accepted into its KEL.
//!
//! `incept` checks a member's `POST /identifiers` with `group: {mhab, keys, ndigs}`, `smids`
//! and `rmids` as KERIA does (the member is a local identifier whose current key is among
//! `keys`; members are distinct, known and hold those keys; the thresholds can be met) and
//! escrows the event with the member's signatures. `merge` adds signatures that arrive later
//! (from `/multisig/icp` messages of other members: see `multisig`), each checked against
//! the key of the member that sent it. Once they meet the threshold the event is accepted in
//! the same batch, and what remains (its witnesses, its `group.{prefix}` operation) goes back
//! to the caller as `Completed`. The escrow is bounded: `MAX_ESCROWED` events per controller,
//! each kept at most `ESCROW_TIMEOUT` (its operation then fails with 408).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use url::Url;

use crate::agency::{identifiers, kels, operations, Failure};
use crate::keri::event::Event;
use crate::keri::ilk::Ilk;
use crate::keri::kel::{Kel, SignedEvent};
use crate::keri::primitives::{Siger, Verfer};
use crate::store::{OwnerWriter, GROUPS, PREFIXES};

/// Group events one controller may have waiting for signatures at once.
pub const MAX_ESCROWED: usize = 32;
/// Seconds a group event waits for its members' signatures before its operation fails.
pub const ESCROW_TIMEOUT: u64 = 3600;

fn invalid(reason: impl Into<String>) -> Failure {
    Failure::Invalid(reason.into())
}

/// A group event its members' signatures accepted, to be sent to its witnesses.
pub struct Completed {
    /// The event.
    pub event: Event,
    /// Every signature it was accepted with.
    pub sigs: Vec<Siger>,
    /// Its witnesses and where they are reached.
    pub urls: Vec<(String, Url)>,
    /// How many receipts make it valid.
    pub toad: usize,
    /// Its operation's name and metadata.
    pub operation: (String, Value),
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn escrow_key(prefix: &str, sn: u64) -> String {
    format!("escrow.{prefix}.{sn:032x}")
}

fn strings(value: &Value, field: &str) -> Result<Vec<String>, Failure> {
    value
        .get(field)
        .and_then(Value::as_array)
        .and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().map(ToOwned::to_owned))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| {
            invalid(format!(
                "required field '{field}' missing: a list of prefixes"
            ))
        })
}

fn distinct(list: &[String], field: &str) -> Result<(), Failure> {
    for (index, item) in list.iter().enumerate() {
        if list[..index].contains(item) {
            return Err(invalid(format!("duplicate member {item} in {field}")));
        }
    }
    Ok(())
}

/// The current signing keys of `prefix`, as this controller's rows hold its KEL.
pub fn member_keys(rows: &OwnerWriter<'_>, prefix: &str) -> Result<Option<Vec<Verfer>>, Failure> {
    let stored = rows.kel(prefix)?;
    if stored.is_empty() {
        return Ok(None);
    }
    let kel = kels::replay(&stored, prefix, None).map_err(Failure::Storage)?;
    Ok(Some(kel.state().keys().to_vec()))
}

/// Whether `prefix` is one of this controller's groups.
pub fn is_group(rows: &OwnerWriter<'_>, prefix: &str) -> Result<bool, Failure> {
    Ok(rows.record(GROUPS, &format!("members.{prefix}"))?.is_some())
}

/// A group's signing members (`smids`) and rotation members (`rmids`).
pub type Members = (Vec<String>, Vec<String>);

/// The signing and rotation members of group `prefix`.
pub fn members(
    rows: &crate::store::OwnerReader<'_>,
    prefix: &str,
) -> Result<Option<Members>, Failure> {
    let Some(record) = rows.record(GROUPS, &format!("members.{prefix}"))? else {
        return Ok(None);
    };
    let value: Value = serde_json::from_str(&record)
        .map_err(|err| Failure::Storage(anyhow::anyhow!("group members record: {err}")))?;
    Ok(Some((strings(&value, "smids")?, strings(&value, "rmids")?)))
}

/// Checks and escrows a member's group inception from `POST /identifiers` (`body` has a
/// `group`); its witnesses are at `urls`. The pending `group.{prefix}` operation, and the
/// event if its signatures already meet the threshold.
pub fn incept(
    rows: &mut OwnerWriter<'_>,
    body: &Value,
    urls: &[(String, Url)],
    seen: &str,
) -> Result<(Value, Option<Completed>), Failure> {
    let name = body["name"]
        .as_str()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| invalid("name must be a non-empty string"))?;
    let icp = Event::verify(body.get("icp").unwrap_or(&Value::Null))
        .map_err(|err| invalid(format!("icp is not a valid KERI event: {err}")))?;
    if icp.ilk() != Ilk::Icp {
        return Err(invalid(format!(
            "a group's icp must be an inception event (t \"icp\"), not {:?}",
            icp.ilk().as_str()
        )));
    }
    let group = &body["group"];
    let mpre = group["mhab"]["prefix"]
        .as_str()
        .ok_or_else(|| invalid("required field \"mhab\" missing from body.group"))?;
    if rows.record(PREFIXES, mpre)?.is_none() {
        return Err(invalid(format!("signing member {mpre} not a local AID")));
    }
    let keys = strings(group, "keys")?;
    let ndigs = strings(group, "ndigs")?;
    let smids = strings(body, "smids")?;
    let rmids = strings(body, "rmids")?;
    distinct(&smids, "smids")?;
    distinct(&rmids, "rmids")?;
    distinct(&keys, "group.keys")?;
    let event_keys: Vec<String> = icp.keys().iter().map(Verfer::qb64).collect();
    if keys != event_keys {
        return Err(invalid(
            "group.keys must be the inception's signing keys (k), in order",
        ));
    }
    let event_digs: Vec<String> = icp
        .next_digests()
        .iter()
        .map(crate::keri::primitives::Diger::qb64)
        .collect();
    if ndigs != event_digs {
        return Err(invalid(
            "group.ndigs must be the inception's next key digests (n), in order",
        ));
    }
    let mkeys = member_keys(rows, mpre)?
        .ok_or_else(|| invalid(format!("signing member {mpre} has no key event log")))?;
    let Some(mindex) = mkeys
        .iter()
        .find_map(|key| keys.iter().position(|have| *have == key.qb64()))
    else {
        return Err(invalid(format!(
            "Member hab={mpre} not a participant in event for this group hab."
        )));
    };
    check_members(rows, (&smids, &rmids), &keys)?;
    check_thresholds(&icp)?;
    let sigs = identifiers::sigs(body)?;
    for siger in &sigs {
        if siger.index() as usize != mindex {
            return Err(invalid(format!(
                "signature index {} is not member {mpre}'s place ({mindex}) in the group's keys",
                siger.index()
            )));
        }
    }
    check_sigs(&icp, &sigs)?;
    sweep(rows)?;
    if rows.records(GROUPS, "escrow.")?.len() >= MAX_ESCROWED {
        return Err(Failure::Busy(format!(
            "{MAX_ESCROWED} group events already wait for signatures; retry when some finish"
        )));
    }
    let params = json!({"mhab": mpre, "keys": keys, "ndigs": ndigs});
    identifiers::stage_group(rows, name, icp.prefix(), params, seen)?;
    rows.put_record(
        GROUPS,
        &format!("members.{}", icp.prefix()),
        &json!({"smids": smids, "rmids": rmids}).to_string(),
    )?;
    let operation = format!("group.{}", icp.prefix());
    let metadata = json!({"pre": icp.prefix(), "sn": 0});
    let toad = usize::try_from(icp.backer_threshold().unwrap_or(0)).unwrap_or(usize::MAX);
    let record = json!({
        "raw": String::from_utf8_lossy(icp.raw()),
        "sigs": [],
        "operation": operation,
        "metadata": metadata,
        "toad": toad,
        "urls": urls.iter().map(|(wit, url)| json!([wit, url.as_str()])).collect::<Vec<_>>(),
        "created": unix_now(),
    });
    rows.put_record(GROUPS, &escrow_key(icp.prefix(), 0), &record.to_string())?;
    let pending = operations::pending(&operation, metadata);
    operations::stage(rows, &pending)?;
    let completed = merge(rows, &icp, &sigs, seen)?;
    Ok((pending, completed))
}

/// Each signing member is known here and holds the key at its place in `keys`; each rotation
/// member is known here.
fn check_members(
    rows: &OwnerWriter<'_>,
    (smids, rmids): (&[String], &[String]),
    keys: &[String],
) -> Result<(), Failure> {
    if smids.len() != keys.len() {
        return Err(invalid(format!(
            "{} signing members (smids) for {} keys: each member contributes one key",
            smids.len(),
            keys.len()
        )));
    }
    for (smid, key) in smids.iter().zip(keys) {
        let held = member_keys(rows, smid)?
            .ok_or_else(|| invalid(format!("unknown member {smid}: resolve its OOBI first")))?;
        if !held.iter().any(|have| have.qb64() == *key) {
            return Err(invalid(format!(
                "member {smid}'s current key is not {key}, its place in the group's keys"
            )));
        }
    }
    for rmid in rmids {
        if member_keys(rows, rmid)?.is_none() {
            return Err(invalid(format!(
                "unknown member {rmid}: resolve its OOBI first"
            )));
        }
    }
    Ok(())
}

fn check_thresholds(icp: &Event) -> Result<(), Failure> {
    let keys = icp.keys().len();
    if let Some(kt) = icp.kt() {
        if !kt.fits(keys, true) {
            return Err(invalid(format!(
                "signing threshold {kt} cannot be met by {keys} members' keys"
            )));
        }
    }
    let next = icp.next_digests().len();
    if let Some(nt) = icp.nt() {
        if !nt.fits(next, false) {
            return Err(invalid(format!(
                "next threshold {nt} cannot be met by {next} members' next keys"
            )));
        }
    }
    Ok(())
}

/// Checks that each of `sigs` verifies against the event's key at its index.
pub fn check_sigs(event: &Event, sigs: &[Siger]) -> Result<(), Failure> {
    let keys = event.keys();
    for siger in sigs {
        let Some(key) = keys.get(siger.index() as usize) else {
            return Err(invalid(format!(
                "signature index {} is beyond the group's {} keys",
                siger.index(),
                keys.len()
            )));
        };
        if !key.verify(event.raw(), siger.raw()) {
            return Err(invalid(format!(
                "the signature at index {} does not verify against {}",
                siger.index(),
                key.qb64()
            )));
        }
    }
    Ok(())
}

/// Whether this controller approved `event`: it waits in the escrow, or is accepted.
pub fn approved(rows: &OwnerWriter<'_>, event: &Event) -> Result<bool, Failure> {
    if let Some(record) = rows.record(GROUPS, &escrow_key(event.prefix(), event.sn()))? {
        let value: Value = serde_json::from_str(&record)
            .map_err(|err| Failure::Storage(anyhow::anyhow!("group escrow record: {err}")))?;
        return Ok(value["raw"].as_str() == Some(&*String::from_utf8_lossy(event.raw())));
    }
    let stored = rows.kel(event.prefix())?;
    Ok(stored
        .get(usize::try_from(event.sn()).unwrap_or(usize::MAX))
        .is_some_and(|have| have.raw == event.raw()))
}

/// The signatures an escrow `record` holds (its `sigs`) with `sigs` added, one per index (the
/// held one wins), in index order.
pub fn merged(record: &Value, sigs: &[Siger]) -> Vec<Siger> {
    let mut held: Vec<Siger> = record["sigs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|sig| Siger::parse(sig.as_str()?).ok())
        .collect();
    for siger in sigs {
        if !held.iter().any(|have| have.index() == siger.index()) {
            held.push(siger.clone());
        }
    }
    held.sort_by_key(Siger::index);
    held
}

/// Adds verified `sigs` of `event` to its escrow; accepts it once they meet its threshold.
/// Nothing happens for an event not escrowed (not approved here, or already accepted).
pub fn merge(
    rows: &mut OwnerWriter<'_>,
    event: &Event,
    sigs: &[Siger],
    seen: &str,
) -> Result<Option<Completed>, Failure> {
    let key = escrow_key(event.prefix(), event.sn());
    let Some(record) = rows.record(GROUPS, &key)? else {
        return Ok(None);
    };
    let mut value: Value = serde_json::from_str(&record)
        .map_err(|err| Failure::Storage(anyhow::anyhow!("group escrow record: {err}")))?;
    if value["raw"].as_str() != Some(&*String::from_utf8_lossy(event.raw())) {
        return Ok(None);
    }
    let held = merged(&value, sigs);
    let indices: Vec<usize> = held.iter().map(|siger| siger.index() as usize).collect();
    let satisfied = event.kt().is_some_and(|kt| kt.is_satisfied_by(&indices));
    if !satisfied {
        value["sigs"] = held.iter().map(Siger::qb64).collect::<Vec<_>>().into();
        rows.put_record(GROUPS, &key, &value.to_string())?;
        return Ok(None);
    }
    let kel = Kel::incept(
        SignedEvent {
            event: event.clone(),
            sigs: held.clone(),
            delegation: None,
        },
        seen,
    )
    .map_err(|err| invalid(format!("the group's inception is refused: {err}")))?;
    identifiers::stage_accepted(rows, (event, &held), kel.record().to_value(), seen)?;
    rows.remove_record(GROUPS, &key)?;
    if rows.record(PREFIXES, event.prefix())?.is_some() {
        rows.claim(event.prefix())?;
    }
    let operation = (
        value["operation"].as_str().unwrap_or_default().to_owned(),
        value["metadata"].clone(),
    );
    let urls: Vec<(String, Url)> = value["urls"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|pair| {
            Some((
                pair[0].as_str()?.to_owned(),
                Url::parse(pair[1].as_str()?).ok()?,
            ))
        })
        .collect();
    log::info!(
        "group {} event {} is signed to its threshold ({} signatures)",
        event.prefix(),
        event.sn(),
        held.len()
    );
    if urls.is_empty() {
        let done = operations::done(&operation.0, operation.1, event.value().clone());
        operations::stage(rows, &done)?;
        return Ok(None);
    }
    Ok(Some(Completed {
        event: event.clone(),
        sigs: held,
        urls,
        toad: value["toad"]
            .as_u64()
            .and_then(|toad| usize::try_from(toad).ok())
            .unwrap_or(0),
        operation,
    }))
}

/// Drops escrowed group events older than `ESCROW_TIMEOUT`, failing their operations.
fn sweep(rows: &mut OwnerWriter<'_>) -> Result<(), Failure> {
    let now = unix_now();
    for (key, record) in rows.records(GROUPS, "escrow.")? {
        let value: Value = serde_json::from_str(&record).unwrap_or(Value::Null);
        let created = value["created"].as_u64().unwrap_or(0);
        if now.saturating_sub(created) < ESCROW_TIMEOUT {
            continue;
        }
        rows.remove_record(GROUPS, &key)?;
        if let Some(name) = value["operation"].as_str() {
            let failed = operations::failed(
                name,
                value["metadata"].clone(),
                408,
                &format!("the group event waited {ESCROW_TIMEOUT}s for its members' signatures"),
            );
            operations::stage(rows, &failed)?;
        }
    }
    Ok(())
}
