//! IPEX, single-sig: what a grant must hold, what it carries to its recipient, and what an
//! admit checks before the credential is kept.
//!
//! `check_grant` verifies a grant's embeds against the sender's agent: the ACDC (its SAIDs),
//! the `iss` (of that credential, held in its TEL here with the same SAID), and the `anc` (the
//! issuer's event held here with the same SAID, carrying the `iss` seal). `package` collects
//! what the recipient needs to verify the credential itself: the KELs of every issuer and
//! issuee along the chain and of the sender, the registries' and credentials' TEL events with
//! their anchors, and the chained source credentials. `deliver` checks a package whole (every
//! KEL through the validator, every TEL event against its anchoring event, every source's
//! SAIDs) before it stages any of it. `check_admit` verifies, in the admitting agent, the grant
//! the admit answers and everything it embeds against what that agent holds.

use anyhow::{anyhow, Result};
use serde_json::Value;

use super::credentials::{self, Held};
use super::oobis;
use super::{kels, schemas, Failure};
use crate::keri::acdc::Acdc;
use crate::keri::event::Event;
use crate::keri::exchange::Exchange;
use crate::keri::kel::Kel;
use crate::keri::oobi;
use crate::keri::tel::Vcp;
use crate::keri::tel_vc::TelEvent;
use crate::store::{OwnerReader, OwnerWriter, EXCHANGES, TELS};

/// How deep a grant's chain of sources is followed.
const MAX_CHAIN: usize = 8;
/// Largest KEL stream a package may carry for one identifier, in bytes.
const MAX_KEL_STREAM: usize = 16 << 20;

fn invalid(reason: impl Into<String>) -> Failure {
    Failure::Invalid(reason.into())
}

/// The embeds of a grant: the credential, its issuance and the issuer's anchoring event.
pub struct Embedded {
    pub acdc: Acdc,
    pub iss: TelEvent,
    pub anc: Event,
}

/// Reads and verifies a grant's embeds `e.acdc`, `e.iss`, `e.anc` on their own.
pub fn embedded(exn: &Value) -> Result<Embedded, Failure> {
    let embeds = &exn["e"];
    let acdc = Acdc::verify(&embeds["acdc"]).map_err(|err| invalid(format!("e.acdc: {err}")))?;
    let iss = TelEvent::verify(&embeds["iss"]).map_err(|err| invalid(format!("e.iss: {err}")))?;
    let anc = Event::verify(&embeds["anc"]).map_err(|err| invalid(format!("e.anc: {err}")))?;
    if iss.ilk() != "iss" || iss.credential() != acdc.said() {
        return Err(invalid(format!(
            "e.iss is a {} of {}, not the issuance of {}",
            iss.ilk(),
            iss.credential(),
            acdc.said()
        )));
    }
    if acdc.registry() != Some(iss.registry()) {
        return Err(invalid("e.iss names another registry than e.acdc"));
    }
    if anc.prefix() != acdc.issuer() || !iss.is_anchored_by(&anc.seals()) {
        return Err(invalid(format!(
            "e.anc ({} event {:x}) is not the issuer's event anchoring e.iss",
            anc.prefix(),
            anc.sn()
        )));
    }
    Ok(Embedded { acdc, iss, anc })
}

/// Checks embeds against what `rows` holds: the issuance in the TEL, the anchoring event in
/// the issuer's KEL, both with the same SAIDs.
fn check_held(rows: &impl Held, embedded: &Embedded) -> Result<(), Failure> {
    let said = embedded.acdc.said();
    let tel = credentials::tel(rows, said)?;
    let Some(iss) = tel.first() else {
        return Err(invalid(format!(
            "the issuance of credential {said} is not known here"
        )));
    };
    if iss.event.said() != embedded.iss.said() {
        return Err(invalid(format!(
            "e.iss {} is not the issuance {} known here",
            embedded.iss.said(),
            iss.event.said()
        )));
    }
    let held = rows
        .held_event(embedded.anc.prefix(), embedded.anc.sn())?
        .ok_or_else(|| {
            invalid(format!(
                "e.anc: event {:x} of {} is not in its key event log here",
                embedded.anc.sn(),
                embedded.anc.prefix()
            ))
        })?;
    if held.raw != embedded.anc.raw() || iss.anchor_said != embedded.anc.said() {
        return Err(invalid(format!(
            "e.anc {} is not the event that anchors the issuance here",
            embedded.anc.said()
        )));
    }
    Ok(())
}

/// Checks a grant the sender's agent is about to send (`rows` are its own).
pub fn check_grant(rows: &OwnerReader<'_>, exn: &Exchange) -> Result<Embedded, Failure> {
    let embedded = embedded(exn.value())?;
    check_held(rows, &embedded)?;
    if credentials::get(rows, embedded.acdc.said())?.is_none() {
        return Err(invalid(format!(
            "credential {} is not held by the sender",
            embedded.acdc.said()
        )));
    }
    Ok(embedded)
}

/// What a grant carries to its recipient.
#[derive(Debug, Default)]
pub struct Package {
    kels: Vec<Vec<u8>>,
    tels: Vec<(String, String)>,
    sources: Vec<Value>,
}

/// What the recipient of a grant of `acdc` by `sender` needs, from the sender's `rows`.
pub fn package(rows: &OwnerReader<'_>, acdc: &Acdc, sender: &str) -> Result<Package> {
    let mut package = Package::default();
    let mut prefixes: Vec<String> = vec![sender.to_owned()];
    let mut pending = vec![(acdc.clone(), 0)];
    while let Some((credential, depth)) = pending.pop() {
        for prefix in [Some(credential.issuer()), credential.issuee()]
            .into_iter()
            .flatten()
        {
            if !prefixes.iter().any(|known| known == prefix) {
                prefixes.push(prefix.to_owned());
            }
        }
        if let Some(regk) = credential.registry() {
            let key = credentials::tel_key(regk, 0);
            if let Some(record) = rows.record(TELS, &key)? {
                package.tels.push((key, record));
            }
        }
        for sn in 0..2 {
            let key = credentials::tel_key(credential.said(), sn);
            if let Some(record) = rows.record(TELS, &key)? {
                package.tels.push((key, record));
            }
        }
        if depth > 0 {
            package.sources.push(credential.value().clone());
        }
        if depth < MAX_CHAIN {
            for edge in credential.edges().map_err(|err| anyhow!(err))? {
                if let Some(source) = credentials::get(rows, &edge.source)? {
                    pending.push((source, depth + 1));
                }
            }
        }
    }
    for prefix in &prefixes {
        if let Some(kel) = kels::load(rows, prefix)? {
            package.kels.push(oobi::write(&[&kel], &[]));
        }
    }
    Ok(package)
}

/// Checks a package whole against the recipient's `rows`, then stages it: KELs, TEL events,
/// and the chained sources (sources first in the chain's order, so each one's edges hold).
pub fn deliver(rows: &mut OwnerWriter<'_>, package: &Package, seen: &str) -> Result<(), Failure> {
    let mut delivered: Vec<Kel> = Vec::new();
    for stream in &package.kels {
        let resolution = oobi::resolve(stream, MAX_KEL_STREAM)
            .map_err(|err| invalid(format!("a key event log the grant carries: {err}")))?;
        delivered.extend(resolution.kels);
    }
    let anchoring = |prefix: &str, sn: u64| -> Option<Event> {
        delivered
            .iter()
            .find(|kel| kel.state().prefix() == prefix)
            .and_then(|kel| {
                usize::try_from(sn)
                    .ok()
                    .and_then(|sn| kel.entries().get(sn))
            })
            .map(|entry| entry.signed.event.clone())
    };
    for (key, record) in &package.tels {
        let stored: Value = serde_json::from_str(record)
            .map_err(|err| invalid(format!("TEL record {key}: {err}")))?;
        let raw = stored["raw"].as_str().unwrap_or_default().as_bytes();
        let (prefix, sn) = (
            stored["anchor"]["i"].as_str().unwrap_or_default(),
            stored["anchor"]["s"]
                .as_str()
                .and_then(|sn| u64::from_str_radix(sn, 16).ok())
                .unwrap_or(u64::MAX),
        );
        let event = anchoring(prefix, sn)
            .ok_or_else(|| invalid(format!("TEL event {key}: its anchor is not carried")))?;
        let anchored = if let Ok(vcp) = Vcp::parse(raw) {
            vcp.is_anchored_by(&event.seals())
        } else {
            TelEvent::parse(raw)
                .map_err(|err| invalid(format!("TEL event {key}: {err}")))?
                .is_anchored_by(&event.seals())
        };
        if !anchored || stored["anchor"]["d"].as_str() != Some(event.said()) {
            return Err(invalid(format!(
                "TEL event {key} is not anchored by {prefix}'s event {sn:x}"
            )));
        }
    }
    let sources = package
        .sources
        .iter()
        .map(|value| {
            Acdc::verify(value).map_err(|err| invalid(format!("a chained credential: {err}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for kel in &delivered {
        oobis::keep_kel(rows, kel, seen)
            .map_err(|err| invalid(format!("a key event log the grant carries: {err:#}")))?;
    }
    credentials::keep_tel(rows, &package.tels)?;
    for source in sources.iter().rev() {
        credentials::store(rows, source, seen)?;
    }
    Ok(())
}

/// Checks an admit of grant `grant_said` by the identifier `admitter` against the admitting
/// agent's `rows`, with the credential's `schema` as held; the credential to keep.
pub fn check_admit(
    rows: &OwnerReader<'_>,
    grant_said: &str,
    admitter: &str,
    schema: Option<&Value>,
) -> Result<Acdc, Failure> {
    let Some(record) = rows.held(EXCHANGES, grant_said)? else {
        return Err(invalid(format!(
            "attempt to admit an invalid grant {grant_said}: no such grant was received"
        )));
    };
    let stored: Value =
        serde_json::from_str(&record).map_err(|err| Failure::Storage(anyhow!("{err}")))?;
    let grant = &stored["exn"];
    if grant["r"] != "/ipex/grant" {
        return Err(invalid(format!("{grant_said} is not an IPEX grant")));
    }
    let recipient = grant["rp"]
        .as_str()
        .or_else(|| grant["a"]["i"].as_str())
        .unwrap_or_default();
    if recipient != admitter {
        return Err(invalid(format!(
            "grant {grant_said} was sent to {recipient}, not to {admitter}"
        )));
    }
    let embedded = embedded(grant)?;
    check_held(rows, &embedded)?;
    let acdc = embedded.acdc;
    let Some(schema) = schema else {
        return Err(invalid(format!(
            "schema {} of the granted credential is not held: resolve its OOBI first",
            acdc.schema()
        )));
    };
    schemas::validate(schema, acdc.attributes()).map_err(|errors| {
        invalid(format!(
            "the granted credential does not fit its schema: {}",
            errors.join("; ")
        ))
    })?;
    credentials::check_edges(rows, &acdc)?;
    Ok(acdc)
}
