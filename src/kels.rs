//! Key event logs as stored, replayed into verified `Kel`s.
//!
//! Replaying re-verifies every event (signatures, chaining, next-key commitments), so what is
//! served or extended is never trusted blindly from the store.

use anyhow::{anyhow, bail, Result};

use crate::keri::cesr::Siger;
use crate::keri::event::Event;
use crate::keri::kel::{Kel, SealSource, SignedEvent};
use crate::store::{OwnerReader, StoredEvent};

/// The KEL of `prefix` held in `rows`, verified, with where a delegated inception was
/// approved; None when none is held.
pub fn load(rows: &OwnerReader<'_>, prefix: &str) -> Result<Option<Kel>> {
    let stored = rows.kel(prefix)?;
    if stored.is_empty() {
        return Ok(None);
    }
    let delegation = delegation(rows, prefix, &stored[0])?;
    replay(&stored, prefix, delegation).map(Some)
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
    Ok(rows.approval(prefix, &said)?.and_then(|approval| {
        let (sn, said) = approval.split_once(',')?;
        Some(SealSource {
            sn: u64::from_str_radix(sn, 16).ok()?,
            said: said.to_owned(),
        })
    }))
}

/// The KEL of `prefix` from its stored events; `delegation` is where a delegated
/// inception was approved.
pub fn replay(stored: &[StoredEvent], prefix: &str, delegation: Option<SealSource>) -> Result<Kel> {
    let mut delegation = delegation;
    let mut kel: Option<Kel> = None;
    for event in stored {
        let signed = SignedEvent {
            event: Event::parse(&event.raw)
                .map_err(|err| anyhow!("stored event of {prefix}: {err}"))?,
            sigs: sigs(&event.sigs)
                .map_err(|err| anyhow!("stored signature of {prefix}: {err}"))?,
            delegation: delegation.take(),
        };
        match kel.as_mut() {
            None => {
                kel = Some(
                    Kel::incept(signed, &event.first_seen)
                        .map_err(|err| anyhow!("stored KEL of {prefix}: {err}"))?,
                );
            }
            Some(kel) => {
                kel.append(signed, &event.first_seen)
                    .map_err(|err| anyhow!("stored KEL of {prefix}: {err}"))?;
            }
        }
    }
    match kel {
        Some(kel) => Ok(kel),
        None => bail!("no key event log stored for {prefix}"),
    }
}

/// Stored signatures: qb64, comma-separated.
pub fn sigs(text: &str) -> Result<Vec<Siger>> {
    text.split(',')
        .filter(|sig| !sig.is_empty())
        .map(|sig| Siger::parse(sig).map_err(|err| anyhow!("{err}")))
        .collect()
}

/// Stored signatures from qb64 signatures.
pub fn join(sigs: &[Siger]) -> String {
    sigs.iter().map(Siger::qb64).collect::<Vec<_>>().join(",")
}
