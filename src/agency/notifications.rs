//! Notifications for a controller: `{i, dt, r, a: {r, d, m}}`, as KERIA's notifier keeps them.
//!
//! `i` is a random identifier, `dt` when the note was made, `r` whether it was read, and `a`
//! what happened: for an exchange message, its route (`/exn/ipex/grant` for IPEX, the route
//! itself for multisig), its SAID and, for IPEX, its message `m`. Other routes (challenge
//! responses among them) make no note, as in KERIA. Listed oldest first.

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use crate::agency::Failure;
use crate::keri::exchange::Exchange;
use crate::keri::primitives::Salt;
use crate::store::{OwnerReader, OwnerWriter, NOTIFICATIONS};

/// Stages the note a received `exn` makes, if its route makes one.
pub fn for_exchange(rows: &mut OwnerWriter<'_>, exn: &Exchange, seen: &str) -> Result<()> {
    let route = exn.route();
    let attributes = if route.starts_with("/ipex/") {
        let message = exn.attributes()["m"].as_str().unwrap_or_default();
        json!({"r": format!("/exn{route}"), "d": exn.said(), "m": message})
    } else if route.starts_with("/multisig/") {
        json!({"r": route, "d": exn.said()})
    } else {
        return Ok(());
    };
    add(rows, &attributes, seen)
}

/// Stages a new unread note with `attributes`, dated `seen`.
pub fn add(rows: &mut OwnerWriter<'_>, attributes: &Value, seen: &str) -> Result<()> {
    let mut raw = [0_u8; 16];
    getrandom::getrandom(&mut raw).map_err(|err| anyhow!("no randomness for a note: {err}"))?;
    let id = Salt::new(raw).qb64().to_string();
    let note = json!({"i": id, "dt": seen, "r": false, "a": attributes});
    rows.put_record(NOTIFICATIONS, &id, &note.to_string())
}

/// Every note, oldest first.
pub fn list(rows: &OwnerReader<'_>) -> Result<Vec<Value>> {
    let mut notes = rows
        .records(NOTIFICATIONS, "")?
        .iter()
        .map(|(_, note)| serde_json::from_str(note).context("stored notification"))
        .collect::<Result<Vec<Value>>>()?;
    notes.sort_by(|a, b| a["dt"].as_str().cmp(&b["dt"].as_str()));
    Ok(notes)
}

/// Marks the note `id` read.
pub fn mark_read(rows: &mut OwnerWriter<'_>, id: &str) -> Result<(), Failure> {
    let Some(note) = rows.record(NOTIFICATIONS, id)? else {
        return Err(not_found(id));
    };
    let mut note: Value = serde_json::from_str(&note).context("stored notification")?;
    note["r"] = true.into();
    rows.put_record(NOTIFICATIONS, id, &note.to_string())?;
    Ok(())
}

/// Removes the note `id`.
pub fn remove(rows: &mut OwnerWriter<'_>, id: &str) -> Result<(), Failure> {
    if rows.record(NOTIFICATIONS, id)?.is_none() {
        return Err(not_found(id));
    }
    rows.remove_record(NOTIFICATIONS, id)?;
    Ok(())
}

fn not_found(id: &str) -> Failure {
    Failure::NotFound(format!("no notification {id}"))
}
