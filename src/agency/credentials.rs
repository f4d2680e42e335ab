//! Credentials an agent issues, revokes and holds, with their transaction events.
//!
//! `issue` checks a `POST /identifiers/{name}/credentials` body whole before anything is
//! staged: the ACDC (its SAIDs), its issuer (the named identifier), its schema (held, and the
//! attributes fit it), its registry (held, and incepted by the issuer), its edges (each source
//! held, issued and not revoked, of the schema the edge names, and fitting its operator as
//! keripy's verifier checks them), the `iss` (of this credential, in this registry), and the
//! issuer's anchoring event (through the one KEL validator, carrying the `iss` seal). Then the
//! event, the `iss` with its anchor, the credential and its indexes are staged together.
//! `revoke` does the same for a `rev`. `keep` stores a credential received (an admitted grant,
//! or a chained source a grant carried) once its TEL and anchors are checked against the KELs
//! held.

use anyhow::{anyhow, Context};
use serde_json::{json, Value};

use super::credential_index;
use super::identifiers::{self, NextEvent};
use super::schemas;
use super::Failure;
use crate::keri::acdc::Acdc;
use crate::keri::event::Event;
use crate::keri::tel::Vcp;
use crate::keri::tel_vc::TelEvent;
use crate::store::{OwnerReader, OwnerWriter, Records, StoredEvent, CREDENTIALS, TELS};

fn invalid(reason: impl Into<String>) -> Failure {
    Failure::Invalid(reason.into())
}

/// Reads shared by committed rows and a batch's: what the checks of this module need.
pub trait Held {
    /// One record of `kind`.
    fn held(&self, kind: Records, name: &str) -> anyhow::Result<Option<String>>;
    /// The event of `prefix` at `sn`.
    fn held_event(&self, prefix: &str, sn: u64) -> anyhow::Result<Option<StoredEvent>>;
}

impl Held for OwnerReader<'_> {
    fn held(&self, kind: Records, name: &str) -> anyhow::Result<Option<String>> {
        self.record(kind, name)
    }
    fn held_event(&self, prefix: &str, sn: u64) -> anyhow::Result<Option<StoredEvent>> {
        self.event(prefix, sn)
    }
}

impl Held for OwnerWriter<'_> {
    fn held(&self, kind: Records, name: &str) -> anyhow::Result<Option<String>> {
        self.record(kind, name)
    }
    fn held_event(&self, prefix: &str, sn: u64) -> anyhow::Result<Option<StoredEvent>> {
        Ok(usize::try_from(sn)
            .ok()
            .and_then(|sn| self.kel(prefix).ok()?.into_iter().nth(sn)))
    }
}

/// TEL events in sequence order, registries' and credentials' alike.
pub fn tel_key(prefix: &str, sn: u64) -> String {
    format!("{prefix}.{sn:032x}")
}

/// A stored TEL event with the issuer's event that anchors it (`i`, `s`, `d`).
pub struct Anchored<T> {
    pub event: T,
    pub anchor_sn: u64,
    pub anchor_said: String,
    pub anchor_prefix: String,
}

fn read_tel(rows: &impl Held, prefix: &str, sn: u64) -> anyhow::Result<Option<(Value, String)>> {
    let Some(record) = rows.held(TELS, &tel_key(prefix, sn))? else {
        return Ok(None);
    };
    let stored: Value = serde_json::from_str(&record).context("stored TEL event")?;
    let raw = stored["raw"].as_str().unwrap_or_default().to_owned();
    Ok(Some((stored, raw)))
}

fn anchored<T>(stored: &Value, event: T) -> Anchored<T> {
    Anchored {
        event,
        anchor_sn: stored["anchor"]["s"]
            .as_str()
            .and_then(|sn| u64::from_str_radix(sn, 16).ok())
            .unwrap_or_default(),
        anchor_said: stored["anchor"]["d"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        anchor_prefix: stored["anchor"]["i"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The inception of registry `regk`, if held.
pub fn registry(rows: &impl Held, regk: &str) -> anyhow::Result<Option<Anchored<Vcp>>> {
    let Some((stored, raw)) = read_tel(rows, regk, 0)? else {
        return Ok(None);
    };
    let vcp = Vcp::parse(raw.as_bytes()).map_err(|err| anyhow!("stored vcp {regk}: {err}"))?;
    Ok(Some(anchored(&stored, vcp)))
}

/// The credential `said`'s TEL events held (its `iss`, then its `rev`), oldest first.
pub fn tel(rows: &impl Held, said: &str) -> anyhow::Result<Vec<Anchored<TelEvent>>> {
    let mut events = Vec::new();
    for sn in 0..2 {
        if let Some((stored, raw)) = read_tel(rows, said, sn)? {
            let event = TelEvent::parse(raw.as_bytes())
                .map_err(|err| anyhow!("stored TEL event of {said}: {err}"))?;
            events.push(anchored(&stored, event));
        }
    }
    Ok(events)
}

/// The credential `said`, if held.
pub fn get(rows: &impl Held, said: &str) -> anyhow::Result<Option<Acdc>> {
    let Some(record) = rows.held(CREDENTIALS, said)? else {
        return Ok(None);
    };
    let stored: Value = serde_json::from_str(&record).context("stored credential")?;
    Acdc::verify(&stored["sad"])
        .map(Some)
        .map_err(|err| anyhow!("stored credential {said}: {err}"))
}

fn put_tel(
    rows: &mut OwnerWriter<'_>,
    event: &TelEvent,
    anchor: &Event,
    seen: &str,
) -> anyhow::Result<()> {
    let record = json!({
        "raw": String::from_utf8_lossy(event.raw()),
        "anchor": {"i": anchor.prefix(), "s": format!("{:x}", anchor.sn()), "d": anchor.said()},
        "dt": seen,
    });
    rows.put_record(
        TELS,
        &tel_key(event.credential(), event.sn()),
        &record.to_string(),
    )
}

/// A checked issuance, staged: the credential and the anchoring event with its check.
pub struct Issuance {
    pub acdc: Acdc,
    pub next: NextEvent,
    iss: TelEvent,
}

/// Checks the body of `POST /identifiers/{name}/credentials` (`{acdc, iss, ixn | rot, sigs}`)
/// with the credential's `schema` as held; stages nothing.
pub fn check_issue(
    rows: &OwnerWriter<'_>,
    name: &str,
    body: &Value,
    schema: Option<&Value>,
    seen: &str,
) -> Result<Issuance, Failure> {
    let acdc = Acdc::verify(&body["acdc"]).map_err(invalid)?;
    let iss = TelEvent::verify(&body["iss"]).map_err(|err| invalid(format!("iss: {err}")))?;
    if iss.ilk() != "iss" {
        return Err(invalid(format!(
            "iss must be an iss event, not {}",
            iss.ilk()
        )));
    }
    if iss.credential() != acdc.said() {
        return Err(invalid(format!(
            "the iss is of credential {}, not of {}",
            iss.credential(),
            acdc.said()
        )));
    }
    let regk = iss.registry();
    let Some(registry) = registry(rows, regk)? else {
        return Err(Failure::NotFound(format!(
            "issue against invalid registry SAID {regk}"
        )));
    };
    if acdc.registry() != Some(regk) {
        return Err(invalid(format!(
            "the credential's registry ri is {}, the iss's {regk}",
            acdc.registry().unwrap_or("absent")
        )));
    }
    let next = identifiers::check_next(rows, name, body, seen)?;
    let issuer = next.prefix().to_owned();
    if acdc.issuer() != issuer {
        return Err(invalid(format!(
            "the credential's issuer i is {}, not {name} ({issuer})",
            acdc.issuer()
        )));
    }
    if registry.event.issuer() != issuer {
        return Err(invalid(format!(
            "registry {regk} belongs to {}, not to the issuer {issuer}",
            registry.event.issuer()
        )));
    }
    if rows.held(CREDENTIALS, acdc.said())?.is_some() || !tel(rows, acdc.said())?.is_empty() {
        return Err(invalid(format!(
            "credential {} is already issued",
            acdc.said()
        )));
    }
    let Some(schema) = schema else {
        return Err(invalid(format!(
            "schema {} is not held: resolve its OOBI first",
            acdc.schema()
        )));
    };
    schemas::validate(schema, acdc.attributes()).map_err(|errors| {
        invalid(format!(
            "the credential does not fit schema {}: {}",
            acdc.schema(),
            errors.join("; ")
        ))
    })?;
    check_edges(rows, &acdc)?;
    if !iss.is_anchored_by(&next.event().seals()) {
        return Err(invalid(format!(
            "the {} does not anchor the iss: its a holds no seal {}",
            next.event().ilk(),
            iss.seal().to_value()
        )));
    }
    if !next.appended().is_new() {
        return Err(invalid(format!(
            "the {} {} is already in the key event log; anchor an issuance with a new event",
            next.event().ilk(),
            next.event().said()
        )));
    }
    Ok(Issuance { acdc, next, iss })
}

/// Stages a checked issuance: the anchoring event, the `iss`, the credential and its indexes.
/// The anchoring event and its signatures.
pub fn stage_issue(
    rows: &mut OwnerWriter<'_>,
    issuance: Issuance,
    seen: &str,
) -> Result<(Acdc, Event, Vec<crate::keri::primitives::Siger>), Failure> {
    let Issuance { acdc, next, iss } = issuance;
    let sigs = next.sigs().to_vec();
    let (event, _) = identifiers::stage_next(rows, next, seen)?;
    put_tel(rows, &iss, &event, seen)?;
    store(rows, &acdc, seen)?;
    Ok((acdc, event, sigs))
}

/// Stores a credential and its indexes (its TEL is stored by the caller).
pub fn store(rows: &mut OwnerWriter<'_>, acdc: &Acdc, seen: &str) -> anyhow::Result<()> {
    if rows.record(CREDENTIALS, acdc.said())?.is_some() {
        return Ok(());
    }
    let record = json!({"sad": acdc.value(), "dt": seen});
    rows.put_record(CREDENTIALS, acdc.said(), &record.to_string())?;
    credential_index::add(rows, acdc)
}

/// Removes a held credential and its indexes; whether it was held.
pub fn remove(rows: &mut OwnerWriter<'_>, said: &str) -> Result<bool, Failure> {
    let Some(acdc) = get(rows, said)? else {
        return Ok(false);
    };
    credential_index::remove(rows, &acdc)?;
    rows.remove_record(CREDENTIALS, said)?;
    Ok(true)
}

/// Checks every edge of `acdc`: the source is held, issued and unrevoked, of the schema the
/// edge names, and fits the edge's operator.
pub fn check_edges(rows: &impl Held, acdc: &Acdc) -> Result<(), Failure> {
    for edge in acdc.edges().map_err(invalid)? {
        let Some(source) = get(rows, &edge.source)? else {
            return Err(invalid(format!(
                "edge {}: source credential {} is not held",
                edge.label, edge.source
            )));
        };
        match tel(rows, &edge.source)?.last() {
            Some(last) if last.event.ilk() == "iss" => {}
            Some(_) => {
                return Err(invalid(format!(
                    "edge {}: source credential {} is revoked",
                    edge.label, edge.source
                )))
            }
            None => {
                return Err(invalid(format!(
                    "edge {}: source credential {} has no issuance held",
                    edge.label, edge.source
                )))
            }
        }
        if let Some(schema) = &edge.schema {
            if source.schema() != schema {
                return Err(invalid(format!(
                    "edge {}: source {} has schema {}, the edge names {schema}",
                    edge.label,
                    edge.source,
                    source.schema()
                )));
            }
        }
        let issuee = source.issuee().unwrap_or_default();
        let fits = match edge.operator.as_str() {
            "NI2I" => true,
            "DI2I" => issuee == acdc.issuer() || delegated_by(rows, acdc.issuer(), issuee)?,
            _ => issuee == acdc.issuer(),
        };
        if !fits {
            return Err(invalid(format!(
                "edge {} ({}): the source's issuee {} is not the issuer {}",
                edge.label,
                edge.operator,
                if issuee.is_empty() { "(none)" } else { issuee },
                acdc.issuer()
            )));
        }
    }
    Ok(())
}

/// Whether `delegate`'s inception names `delegator` (directly or through its delegators).
fn delegated_by(rows: &impl Held, delegate: &str, delegator: &str) -> Result<bool, Failure> {
    let mut current = delegate.to_owned();
    for _ in 0..16 {
        let Some(icp) = rows.held_event(&current, 0)? else {
            return Ok(false);
        };
        let event = Event::parse(&icp.raw).map_err(|err| anyhow!("stored event: {err}"))?;
        match event.delegator() {
            Some(next) if next == delegator => return Ok(true),
            Some(next) => next.clone_into(&mut current),
            None => return Ok(false),
        }
    }
    Ok(false)
}

/// A checked revocation: the `rev` and the anchoring event.
pub struct Revocation {
    pub next: NextEvent,
    rev: TelEvent,
}

/// Checks the body of `DELETE /identifiers/{name}/credentials/{said}` (`{rev, ixn | rot,
/// sigs}`); stages nothing.
pub fn check_revoke(
    rows: &OwnerWriter<'_>,
    name: &str,
    said: &str,
    body: &Value,
    seen: &str,
) -> Result<Revocation, Failure> {
    let rev = TelEvent::verify(&body["rev"]).map_err(|err| invalid(format!("rev: {err}")))?;
    if rev.ilk() != "rev" || rev.credential() != said {
        return Err(invalid(format!(
            "rev must be a rev of credential {said}, not a {} of {}",
            rev.ilk(),
            rev.credential()
        )));
    }
    if registry(rows, rev.registry())?.is_none() {
        return Err(Failure::NotFound(format!(
            "revocation against invalid registry SAID {}",
            rev.registry()
        )));
    }
    let Some(acdc) = get(rows, said)? else {
        return Err(Failure::NotFound(format!(
            "credential for said {said} not found."
        )));
    };
    let events = tel(rows, said)?;
    match events.as_slice() {
        [iss] if Some(iss.event.said()) == rev.prior() => {}
        [iss] => {
            return Err(invalid(format!(
                "the rev's prior p is {}, not the issuance {}",
                rev.prior().unwrap_or_default(),
                iss.event.said()
            )))
        }
        [] => return Err(invalid(format!("credential {said} has no issuance held"))),
        _ => return Err(invalid(format!("credential {said} is already revoked"))),
    }
    if acdc.registry() != Some(rev.registry()) {
        return Err(invalid(format!(
            "the rev names registry {}, the credential {}",
            rev.registry(),
            acdc.registry().unwrap_or_default()
        )));
    }
    let next = identifiers::check_next(rows, name, body, seen)?;
    if acdc.issuer() != next.prefix() {
        return Err(invalid(format!(
            "credential {said} was issued by {}, not by {name}",
            acdc.issuer()
        )));
    }
    if !rev.is_anchored_by(&next.event().seals()) || !next.appended().is_new() {
        return Err(invalid(format!(
            "the body's new {} must anchor the rev with the seal {}",
            next.event().ilk(),
            rev.seal().to_value()
        )));
    }
    Ok(Revocation { next, rev })
}

/// Stages a checked revocation; the anchoring event and its signatures.
pub fn stage_revoke(
    rows: &mut OwnerWriter<'_>,
    revocation: Revocation,
    seen: &str,
) -> Result<(Event, Vec<crate::keri::primitives::Siger>), Failure> {
    let Revocation { next, rev } = revocation;
    let sigs = next.sigs().to_vec();
    let (event, _) = identifiers::stage_next(rows, next, seen)?;
    put_tel(rows, &rev, &event, seen)?;
    Ok((event, sigs))
}

/// Stores TEL events received (a registry's `vcp`, a credential's `iss` or `rev`) once each
/// is anchored, as its seal says, in an event of the issuer's KEL held here.
pub fn keep_tel(rows: &mut OwnerWriter<'_>, records: &[(String, String)]) -> Result<(), Failure> {
    for (key, record) in records {
        let stored: Value = serde_json::from_str(record)
            .map_err(|err| invalid(format!("TEL record {key}: {err}")))?;
        let raw = stored["raw"].as_str().unwrap_or_default();
        let anchor = anchored(&stored, ());
        let (prefix, sn, seal_ok) = if let Ok(vcp) = Vcp::parse(raw.as_bytes()) {
            let event = anchoring(rows, &anchor)?;
            (vcp.regk().to_owned(), 0, vcp.is_anchored_by(&event.seals()))
        } else {
            let event = TelEvent::parse(raw.as_bytes())
                .map_err(|err| invalid(format!("TEL event {key}: {err}")))?;
            let anchoring = anchoring(rows, &anchor)?;
            (
                event.credential().to_owned(),
                event.sn(),
                event.is_anchored_by(&anchoring.seals()),
            )
        };
        if !seal_ok || *key != tel_key(&prefix, sn) {
            return Err(invalid(format!(
                "TEL event {key} is not anchored by {}'s event {:x}",
                anchor.anchor_prefix, anchor.anchor_sn
            )));
        }
        if rows.record(TELS, key)?.is_none() {
            rows.put_record(TELS, key, record)?;
        }
    }
    Ok(())
}

/// The issuer's event an anchor names, held here with that SAID.
fn anchoring(rows: &impl Held, anchor: &Anchored<()>) -> Result<Event, Failure> {
    let stored = rows
        .held_event(&anchor.anchor_prefix, anchor.anchor_sn)?
        .ok_or_else(|| {
            invalid(format!(
                "no event {:x} of {} is held to anchor a TEL event",
                anchor.anchor_sn, anchor.anchor_prefix
            ))
        })?;
    let event = Event::parse(&stored.raw).map_err(|err| anyhow!("stored event: {err}"))?;
    if event.said() != anchor.anchor_said {
        return Err(invalid(format!(
            "event {:x} of {} is {}, not the anchor {}",
            anchor.anchor_sn,
            anchor.anchor_prefix,
            event.said(),
            anchor.anchor_said
        )));
    }
    Ok(event)
}
