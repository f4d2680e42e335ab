//! Delegated events asked of this agency's identifiers: the delegator's side of delegation.
//!
//! A `/delegate/request` (from another agency through the ingress, or from this one directly)
//! carries a delegate's `dip` or `drt` with its signatures. It is taken only when its delegator
//! is an identifier of the recipient's controller and the event verifies on its own (a `dip`
//! against its own keys; a `drt` against the delegate's KEL held here); it is then kept in
//! `DELEGABLES` and the controller gets a `/delegate/request` notification, as keripy's
//! `DelegateRequestHandler` makes one. When the delegator's event that anchors its seal is
//! accepted (`approve`, from `POST /identifiers/{name}/delegation` or any interaction), the
//! delegate's event enters this agent's copy of the delegate's KEL with that seal source, and
//! the approval's `delegation.{said}` operation is done with the delegate's prefix. The two may
//! come in either order: an approval waits in `DELEGABLES` for its request.
//!
//! Bounds: at most `MAX_DELEGABLES` requests kept per controller (a further one is refused);
//! nothing from a sender that does not verify is kept.

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use super::receipts::event_key;
use super::{kels, notifications, operations, signatures, Failure};
use crate::keri::delegation::{anchoring, REQUEST_ROUTE};
use crate::keri::event::Event;
use crate::keri::ilk::Ilk;
use crate::keri::kel::{Kel, KeyState, SealSource, SignedEvent};
use crate::keri::primitives::Siger;
use crate::store::{OwnerWriter, StoredEvent, DELEGABLES, PREFIXES};

/// Most delegated events asked of one controller's identifiers and kept at once.
pub const MAX_DELEGABLES: usize = 256;

/// A delegated event asked of a delegator here, checked.
pub struct Request<'a> {
    /// The agent (or identifier) that sent the request.
    pub sender: &'a str,
    /// The delegated event.
    pub event: &'a Event,
    /// Its controller's signatures.
    pub sigs: &'a [Siger],
}

/// Takes a `/delegate/request` for one of `rows`' identifiers: checks the event, keeps it,
/// makes the notification, and accepts it at once when its delegator already approved it.
/// Nothing is staged on a refusal.
pub fn receive(
    rows: &mut OwnerWriter<'_>,
    request: &Request<'_>,
    seen: &str,
) -> Result<(), Failure> {
    let event = request.event;
    let refused = |reason: String| {
        Failure::Invalid(format!(
            "{REQUEST_ROUTE} for {} {}: {reason}",
            event.ilk(),
            event.said()
        ))
    };
    let delegator = match event.ilk() {
        Ilk::Dip => {
            KeyState::incept(event, request.sigs).map_err(|err| refused(err.to_string()))?;
            event.delegator().unwrap_or_default().to_owned()
        }
        Ilk::Drt => {
            let stored = rows.kel(event.prefix())?;
            if stored.is_empty() {
                return Err(refused(format!(
                    "the KEL of {} is not held here",
                    event.prefix()
                )));
            }
            let kel = kels::replay(&stored, event.prefix(), None)?;
            kel.state()
                .apply(event, request.sigs)
                .map_err(|err| refused(err.to_string()))?;
            kel.state().delegator().unwrap_or_default().to_owned()
        }
        other => return Err(refused(format!("a {other} is not a delegated event"))),
    };
    if rows.record(PREFIXES, &delegator)?.is_none() {
        return Err(refused(format!(
            "its delegator {delegator} is not an identifier of this agent"
        )));
    }
    let key = event_key(event.prefix(), event.sn());
    let held = rows.record(DELEGABLES, &key)?;
    if held.is_none() && rows.records(DELEGABLES, "")?.len() >= MAX_DELEGABLES {
        return Err(Failure::Busy(format!(
            "{MAX_DELEGABLES} delegated events already wait for this agent's approval"
        )));
    }
    let mut record: Value = match held {
        Some(record) => serde_json::from_str(&record).context("stored delegable")?,
        None => json!({}),
    };
    if record["event"].is_string() && record["said"] == event.said() {
        return Ok(());
    }
    record["event"] = String::from_utf8_lossy(event.raw()).into();
    record["said"] = event.said().into();
    record["sigs"] = signatures::join(request.sigs).into();
    record["delegator"] = delegator.clone().into();
    record["seen"] = seen.into();
    rows.put_record(DELEGABLES, &key, &record.to_string())?;
    notifications::add(
        rows,
        &json!({
            "src": request.sender,
            "r": REQUEST_ROUTE,
            "delpre": delegator,
            "ked": event.value(),
        }),
        seen,
    )?;
    settle(rows, &key)
}

/// Records that `anchor`, an event of `delegator` (one of `rows`' identifiers) just accepted,
/// approves the delegated events its seals name: each one already asked for enters the
/// delegate's KEL here; `operation` (`delegation.{said}` with its metadata) is done then, or
/// waits for the request.
pub fn approve(
    rows: &mut OwnerWriter<'_>,
    anchor: &Event,
    operation: Option<(&str, &Value)>,
) -> Result<(), Failure> {
    for seal in anchor.seals() {
        let (Some(prefix), Some(sn), Some(said)) = (seal.prefix(), seal.sn(), seal.said()) else {
            continue;
        };
        let key = event_key(prefix, sn);
        let record = rows.record(DELEGABLES, &key)?;
        let mut record: Value = match record {
            Some(record) => serde_json::from_str(&record).context("stored delegable")?,
            None if operation.is_some() => json!({"said": said}),
            None => continue,
        };
        if record["said"] != said {
            // The seal names another event than the one asked for: it approves nothing.
            if operation.is_none() {
                continue;
            }
        }
        if let Some((name, metadata)) = operation {
            record["operation"] = name.into();
            record["metadata"] = metadata.clone();
        }
        rows.put_record(DELEGABLES, &key, &record.to_string())?;
        settle(rows, &key)?;
    }
    Ok(())
}

/// Accepts the delegable `key` into the delegate's KEL here once both its request and its
/// delegator's anchor are known; completes the approval's operation.
fn settle(rows: &mut OwnerWriter<'_>, key: &str) -> Result<(), Failure> {
    let Some(record) = rows.record(DELEGABLES, key)? else {
        return Ok(());
    };
    let record: Value = serde_json::from_str(&record).context("stored delegable")?;
    let (Some(raw), Some(delegator)) = (record["event"].as_str(), record["delegator"].as_str())
    else {
        return Ok(());
    };
    let event = Event::parse(raw.as_bytes()).map_err(|err| anyhow!("stored delegable: {err}"))?;
    let stored = rows.kel(delegator)?;
    if stored.is_empty() {
        return Ok(());
    }
    let delegator_kel = kels::replay(&stored, delegator, None)?;
    let Some(source) = anchoring(&delegator_kel, &event) else {
        return Ok(());
    };
    let sigs = signatures::parse(record["sigs"].as_str().unwrap_or_default())?;
    let seen = record["seen"].as_str().unwrap_or_default();
    let accepted = accept(rows, &event, &sigs, &source, seen)?;
    rows.remove_record(DELEGABLES, key)?;
    if let Some(name) = record["operation"].as_str() {
        let metadata = record["metadata"].clone();
        let operation = match &accepted {
            Ok(()) => operations::done(name, metadata, event.prefix().into()),
            Err(reason) => operations::failed(name, metadata, 400, reason),
        };
        operations::stage(rows, &operation)?;
    }
    if let Err(reason) = accepted {
        log::warn!("approved {} {}: {reason}", event.ilk(), event.said());
        return Ok(());
    }
    log::info!(
        "delegated {} {} of {} approved by {delegator} at its event {:x}",
        event.ilk(),
        event.said(),
        event.prefix(),
        source.sn
    );
    Ok(())
}

/// Stages the approved delegated event into this agent's copy of the delegate's KEL; the
/// reason it no longer fits there (staging nothing), if it does not.
fn accept(
    rows: &mut OwnerWriter<'_>,
    event: &Event,
    sigs: &[Siger],
    source: &SealSource,
    seen: &str,
) -> Result<Result<(), String>> {
    let stored = rows.kel(event.prefix())?;
    let position = usize::try_from(event.sn())?;
    if let Some(held) = stored.get(position) {
        if held.raw != event.raw() {
            return Ok(Err(format!(
                "the KEL of {} held here has another event at {:x}",
                event.prefix(),
                event.sn()
            )));
        }
        rows.put_approval(event.prefix(), event.said(), &kels::approval_text(source))?;
        return Ok(Ok(()));
    }
    let signed = SignedEvent {
        event: event.clone(),
        sigs: sigs.to_vec(),
        delegation: Some(source.clone()),
    };
    let fits = if event.ilk() == Ilk::Dip {
        Kel::incept(signed, seen).map(drop)
    } else if stored.is_empty() {
        return Ok(Err(format!(
            "the KEL of {} is not held here",
            event.prefix()
        )));
    } else {
        let mut kel = kels::replay(&stored, event.prefix(), None)?;
        kel.append(signed, seen).map(drop)
    };
    if let Err(err) = fits {
        return Ok(Err(err.to_string()));
    }
    rows.put_event(
        event.prefix(),
        event.sn(),
        &StoredEvent {
            raw: event.raw().to_vec(),
            sigs: signatures::join(sigs),
            first_seen: seen.to_owned(),
        },
    )?;
    rows.put_approval(event.prefix(), event.said(), &kels::approval_text(source))?;
    Ok(Ok(()))
}
