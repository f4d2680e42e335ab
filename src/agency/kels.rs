//! Key event logs as stored, replayed into verified `Kel`s.
//!
//! Every event was verified (signatures, chaining, next-key commitments) before it was
//! stored; replaying checks structure and chaining again, not signatures.

use anyhow::{anyhow, bail, Result};

use super::receipts;
use super::signatures;
use crate::keri::event::Event;
use crate::keri::ilk::Ilk;
use crate::keri::kel::{FirstSeen, Kel, KelEntry, SealSource, SignedEvent};
use crate::store::{OwnerReader, StoredEvent, RECEIPTS};

/// The KEL of `prefix` held in `rows`, verified, with where each delegated establishment event
/// was approved; None when none is held.
pub fn load(rows: &OwnerReader<'_>, prefix: &str) -> Result<Option<Kel>> {
    let stored = rows.kel(prefix)?;
    if stored.is_empty() {
        return Ok(None);
    }
    let delegation = delegation(rows, prefix, &stored[0])?;
    let mut kel = replay(&stored, prefix, delegation)?;
    // Each delegated rotation with where its delegator approved it.
    let rotations: Vec<(u64, String)> = kel
        .entries()
        .iter()
        .skip(1)
        .filter(|entry| entry.signed.event.ilk() == Ilk::Drt)
        .map(|entry| {
            (
                entry.signed.event.sn(),
                entry.signed.event.said().to_owned(),
            )
        })
        .collect();
    for (sn, said) in rotations {
        if let Some(source) = rows.approval(prefix, &said)?.and_then(|text| source(&text)) {
            kel.set_delegation(sn, source);
        }
    }
    for (key, record) in rows.records(RECEIPTS, &format!("{prefix}."))? {
        let sn = key
            .rsplit_once('.')
            .and_then(|(_, sn)| u64::from_str_radix(sn, 16).ok());
        let said = sn.and_then(|sn| {
            usize::try_from(sn)
                .ok()
                .and_then(|sn| kel.entries().get(sn))
                .map(|entry| entry.signed.event.said().to_owned())
        });
        if let (Some(sn), Some(said)) = (sn, said) {
            kel.set_receipts(sn, receipts::from_receipts_record(&record, &said));
        }
    }
    Ok(Some(kel))
}

/// Where the delegator approved `inception` of `prefix`, when an approval was recorded.
pub fn delegation(
    rows: &OwnerReader<'_>,
    prefix: &str,
    inception: &StoredEvent,
) -> Result<Option<SealSource>> {
    let said = Event::parse(&inception.raw)
        .map_err(|err| anyhow!("stored event of {prefix}: {err}"))?
        .said()
        .to_owned();
    Ok(rows
        .approval(prefix, &said)?
        .and_then(|approval| source(&approval)))
}

/// A stored approval `"sn,SAID"` as a seal source.
fn source(approval: &str) -> Option<SealSource> {
    let (sn, said) = approval.split_once(',')?;
    Some(SealSource {
        sn: u64::from_str_radix(sn, 16).ok()?,
        said: said.to_owned(),
    })
}

/// A seal source as an approval is stored: `"sn,SAID"`.
pub fn approval_text(source: &SealSource) -> String {
    format!("{:x},{}", source.sn, source.said)
}

/// The KEL of `prefix` from its stored events; `delegation` is where a delegated
/// inception was approved. Structure and chaining are checked again; signatures were checked
/// when each event was accepted and are not verified again (a stored KEL grows with every
/// event, and re-verifying it would make each new event cost the whole log).
pub fn replay(stored: &[StoredEvent], prefix: &str, delegation: Option<SealSource>) -> Result<Kel> {
    if stored.is_empty() {
        bail!("no key event log stored for {prefix}");
    }
    let mut delegation = delegation;
    let entries = stored
        .iter()
        .enumerate()
        .map(|(ordinal, event)| {
            Ok(KelEntry {
                signed: SignedEvent {
                    event: Event::parse(&event.raw)
                        .map_err(|err| anyhow!("stored event of {prefix}: {err}"))?,
                    sigs: signatures::parse(&event.sigs)
                        .map_err(|err| anyhow!("stored signature of {prefix}: {err}"))?,
                    delegation: delegation.take(),
                },
                first_seen: FirstSeen {
                    ordinal: ordinal as u64,
                    datetime: event.first_seen.clone(),
                },
                receipts: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Kel::restore(entries).map_err(|err| anyhow!("stored KEL of {prefix}: {err}"))
}
