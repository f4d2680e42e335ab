//! Witnesses' receipts as the agency keeps and sends them: the `RECEIPTS` record of an event
//! (its SAID and each witness's signature), and the backlog a witness that a rotation adds is
//! sent before it can receipt.

use std::collections::{HashMap, VecDeque};

use anyhow::{anyhow, Result};

use super::signatures;
use crate::keri::event::Event;
use crate::keri::ilk::Ilk;
use crate::keri::primitives::{Cigar, Siger, Verfer};
use crate::keri::stream::Attachments;
use crate::store::StoredEvent;

/// Earlier events of a log (bytes and attachments), in order, for a witness to catch up on.
pub type Backlog = VecDeque<(Vec<u8>, String)>;

/// The stored form of an event's receipts: its SAID and each witness's signature.
pub fn receipts_record(said: &str, receipts: &[(String, Cigar)]) -> String {
    let couples: Vec<serde_json::Value> = receipts
        .iter()
        .map(|(wit, cigar)| serde_json::json!([wit, cigar.qb64()]))
        .collect();
    serde_json::json!({"d": said, "couples": couples}).to_string()
}

/// The receipts of a stored record, as (witness, signature); nothing for a record of another
/// event (`said`).
pub fn from_receipts_record(record: &str, said: &str) -> Vec<(Verfer, Cigar)> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(record) else {
        return Vec::new();
    };
    if value["d"] != said {
        return Vec::new();
    }
    value["couples"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|couple| {
            let verfer = Verfer::parse(couple[0].as_str()?).ok()?;
            let cigar = Cigar::parse(couple[1].as_str()?).ok()?;
            Some((verfer, cigar))
        })
        .collect()
}

/// The key of an event's rows in `RECEIPTS` and `RECEIPTING`.
pub fn event_key(prefix: &str, sn: u64) -> String {
    format!("{prefix}.{sn:032x}")
}

/// For each witness a rotation adds, the events before it (with their signatures and the
/// receipts kept of them), to send it first; nothing for another event.
pub fn catchup(
    stored: &[StoredEvent],
    event: &Event,
    receipts: impl Fn(&str) -> Result<Option<String>>,
) -> Result<HashMap<String, Backlog>> {
    let added = event.added_backers();
    if added.is_empty() {
        return Ok(HashMap::new());
    }
    let mut earlier = VecDeque::new();
    // keri takes the receipts of an event it catches up on as witness-indexed signatures
    // (`-B`), each indexed by its witness's place among the backers at that event.
    let mut backers: Vec<String> = Vec::new();
    for stored in stored.iter().take(usize::try_from(event.sn())?) {
        let prior = Event::parse(&stored.raw).map_err(|err| anyhow!("stored event: {err}"))?;
        match prior.ilk() {
            Ilk::Icp | Ilk::Dip => backers = prior.backers(),
            Ilk::Rot | Ilk::Drt => {
                backers.retain(|backer| !prior.removed_backers().contains(backer));
                backers.extend(prior.added_backers().iter().cloned());
            }
            Ilk::Ixn => {}
        }
        let kept = receipts(&event_key(prior.prefix(), prior.sn()))?
            .map(|record| from_receipts_record(&record, prior.said()))
            .unwrap_or_default();
        let witness_sigs = kept
            .iter()
            .filter_map(|(verfer, cigar)| {
                let index = backers.iter().position(|backer| *backer == verfer.qb64())?;
                Siger::new(*cigar.raw(), u32::try_from(index).ok()?).ok()
            })
            .collect();
        let attachment = Attachments {
            controller_sigs: signatures::parse(&stored.sigs)?,
            witness_sigs,
            ..Attachments::default()
        }
        .to_qb64();
        earlier.push_back((stored.raw.clone(), attachment));
    }
    Ok(added
        .iter()
        .map(|wit| (wit.clone(), earlier.clone()))
        .collect())
}
