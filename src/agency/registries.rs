//! Credential registries of a controller's identifiers: each one's inception (`vcp`), the
//! issuer's event that anchors it, and the registry's state.
//!
//! The Signify client signs the issuer's anchoring event (an `ixn`, or a `rot` for an
//! establishment-only identifier); the agent checks the registry inception, that the event
//! carries its seal, and the event itself exactly as `POST /identifiers/{name}/events` does,
//! before anything is staged. The inception is kept with its anchor (the issuer's sequence
//! number and event SAID) and re-verified whenever it is read. Registry names are unique per
//! identifier.

use anyhow::{anyhow, Context};
use serde_json::{json, Value};

use crate::agency::identifiers;
use crate::agency::Failure;
use crate::keri::event::Event;
use crate::keri::kel::Appended;
use crate::keri::primitives::Siger;
use crate::keri::tel::Vcp;
use crate::store::{OwnerReader, OwnerWriter, REGISTRIES, TELS};

fn invalid(reason: impl Into<String>) -> Failure {
    Failure::Invalid(reason.into())
}

/// A registry inception staged with the issuer's anchoring event.
pub struct Created {
    /// The registry inception.
    pub vcp: Vcp,
    /// The issuer's event that anchors it.
    pub anchoring: Event,
    /// The anchoring event's signatures.
    pub sigs: Vec<Siger>,
    /// The issuer's witnesses and their threshold.
    pub witnesses: (Vec<String>, usize),
}

/// Checks and stages the registry of `POST /identifiers/{name}/registries`
/// (`{name, vcp, ixn | rot, sigs}`, with the identifier's key-manager parameters).
pub fn create(
    rows: &mut OwnerWriter<'_>,
    identifier: &str,
    body: &Value,
    seen: &str,
) -> Result<Created, Failure> {
    let name = body["name"]
        .as_str()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| invalid("name (the registry's name) must be a non-empty string"))?;
    let vcp = body
        .get("vcp")
        .ok_or_else(|| invalid("required field 'vcp' missing from body"))
        .and_then(|value| {
            Vcp::verify(value)
                .map_err(|err| invalid(format!("vcp is not a valid registry inception: {err}")))
        })?;
    let next = identifiers::check_next(rows, identifier, body, seen)?;
    if vcp.issuer() != next.prefix() {
        return Err(invalid(format!(
            "the vcp's issuer ii is {}, not {identifier} ({})",
            vcp.issuer(),
            next.prefix()
        )));
    }
    if !vcp.is_anchored_by(&next.event().seals()) {
        return Err(invalid(format!(
            "the {} does not anchor the vcp: its a holds no seal {}",
            next.event().ilk(),
            vcp.seal().to_value()
        )));
    }
    let key = registry_key(next.prefix(), name);
    if rows.record(REGISTRIES, &key)?.is_some() {
        return Err(invalid(format!(
            "registry name {name} already in use by {identifier}"
        )));
    }
    if rows.record(TELS, &tel_key(vcp.regk(), 0))?.is_some() {
        return Err(invalid(format!("registry {} already exists", vcp.regk())));
    }
    if next.appended() == Appended::Duplicate {
        return Err(invalid(format!(
            "the {} {} is already in the key event log; anchor a registry with a new event",
            next.event().ilk(),
            next.event().said()
        )));
    }
    let sigs = next.sigs().to_vec();
    let witnesses = next.witnesses();
    let (anchoring, _) = identifiers::stage_next(rows, next, seen)?;
    let tel = json!({
        "raw": String::from_utf8_lossy(vcp.raw()),
        "anchor": {"i": anchoring.prefix(), "s": format!("{:x}", anchoring.sn()), "d": anchoring.said()},
        "dt": seen,
    });
    rows.put_record(TELS, &tel_key(vcp.regk(), 0), &tel.to_string())?;
    let registry = json!({"name": name, "regk": vcp.regk(), "pre": anchoring.prefix()});
    rows.put_record(REGISTRIES, &key, &registry.to_string())?;
    Ok(Created {
        vcp,
        anchoring,
        sigs,
        witnesses,
    })
}

/// The registries of the identifier `prefix`, by name: `{name, regk, pre, state}`.
pub fn list(rows: &OwnerReader<'_>, prefix: &str) -> anyhow::Result<Vec<Value>> {
    rows.records(REGISTRIES, &format!("{prefix}."))?
        .iter()
        .map(|(key, record)| shown(rows, prefix, key, record))
        .collect()
}

fn shown(rows: &OwnerReader<'_>, prefix: &str, key: &str, record: &str) -> anyhow::Result<Value> {
    let stored: Value =
        serde_json::from_str(record).with_context(|| format!("registry record {key}"))?;
    let (name, regk) = (&stored["name"], text(&stored, "regk")?);
    let (vcp, first_seen) = inception(rows, regk)?;
    Ok(json!({
        "name": name,
        "regk": regk,
        "pre": prefix,
        "state": vcp.state(&first_seen),
    }))
}

/// The registry named `name` of the identifier `prefix`: `{name, regk, pre, state}`.
pub fn get(rows: &OwnerReader<'_>, prefix: &str, name: &str) -> Result<Value, Failure> {
    let key = registry_key(prefix, name);
    let record = rows.record(REGISTRIES, &key)?.ok_or_else(|| {
        Failure::NotFound(format!(
            "{name} is not a valid reference to a credential registry"
        ))
    })?;
    Ok(shown(rows, prefix, &key, &record)?)
}

/// Renames the registry `name` (or with the registry prefix `name`) of the identifier `prefix`
/// to the body's `name`; the renamed registry's record.
pub fn rename(
    rows: &mut OwnerWriter<'_>,
    prefix: &str,
    name: &str,
    body: &Value,
) -> Result<(String, String), Failure> {
    let new = body["name"]
        .as_str()
        .filter(|new| !new.is_empty())
        .ok_or_else(|| invalid("'name' is required in body"))?;
    if rows
        .record(REGISTRIES, &registry_key(prefix, new))?
        .is_some()
    {
        return Err(invalid(format!("{new} is already in use for a registry")));
    }
    let (key, record) = match rows.record(REGISTRIES, &registry_key(prefix, name))? {
        Some(record) => (registry_key(prefix, name), record),
        None => rows
            .records(REGISTRIES, &format!("{prefix}."))?
            .into_iter()
            .find(|(_, record)| {
                serde_json::from_str::<Value>(record).is_ok_and(|stored| stored["regk"] == name)
            })
            .ok_or_else(|| {
                Failure::NotFound(format!(
                    "{name} is not a valid reference to a credential registry"
                ))
            })?,
    };
    let mut stored: Value = serde_json::from_str(&record)
        .map_err(|err| Failure::Storage(anyhow!("registry record {key}: {err}")))?;
    stored["name"] = new.into();
    rows.remove_record(REGISTRIES, &key)?;
    let renamed = registry_key(prefix, new);
    rows.put_record(REGISTRIES, &renamed, &stored.to_string())?;
    Ok((renamed, stored.to_string()))
}

/// A renamed registry's record, as `get` shows it.
pub fn show(
    rows: &OwnerReader<'_>,
    prefix: &str,
    key: &str,
    record: &str,
) -> Result<Value, Failure> {
    Ok(shown(rows, prefix, key, record)?)
}

/// The stored inception of registry `regk`, verified again, and when it was first seen.
fn inception(rows: &OwnerReader<'_>, regk: &str) -> anyhow::Result<(Vcp, String)> {
    let record = rows
        .record(TELS, &tel_key(regk, 0))?
        .ok_or_else(|| anyhow!("no inception stored for registry {regk}"))?;
    let stored: Value =
        serde_json::from_str(&record).with_context(|| format!("stored TEL of {regk}"))?;
    let vcp = Vcp::parse(text(&stored, "raw")?.as_bytes())
        .map_err(|err| anyhow!("stored inception of registry {regk}: {err}"))?;
    Ok((vcp, text(&stored, "dt")?.to_owned()))
}

fn text<'v>(value: &'v Value, field: &str) -> anyhow::Result<&'v str> {
    value[field]
        .as_str()
        .ok_or_else(|| anyhow!("stored registry field {field} is not a string"))
}

/// Registries are listed per issuer: a prefix has a fixed length, so `{prefix}.` never
/// matches another issuer's names.
fn registry_key(prefix: &str, name: &str) -> String {
    format!("{prefix}.{name}")
}

/// TEL events in sequence order.
fn tel_key(regk: &str, sn: u64) -> String {
    format!("{regk}.{sn:032x}")
}
