//! Exchange messages (`exn`) an agent holds: those its identifiers sent, and those it received
//! from identifiers whose key event logs it holds.
//!
//! `receive` verifies a message against the sender's KEL as this agent holds it (learned by
//! resolving an OOBI) before staging anything, stores it, and hands it to its route: a
//! `/challenge/response` is kept for `challenges`, IPEX and multisig routes make a
//! notification. Senders this agent does not know are refused, not escrowed: nothing received
//! from an unknown identifier can be checked, and an escrow would let anyone fill the store.
//! `keep_sent` stores a message an identifier of this agent sent; `get` and `query` read them.

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Map, Value};

use crate::agency::groups::Completed;
use crate::agency::Failure;
use crate::agency::{challenges, kels, multisig, notifications};
use crate::keri::exchange::Exchange;
use crate::keri::kel::Kel;
use crate::keri::primitives::Siger;
use crate::keri::stream::{Attachments, SignatureGroup};
use crate::store::{OwnerReader, OwnerWriter, StoredEvent, EXCHANGES};

/// Exchange messages `query` answers when the request names no limit, as KERIA.
pub const DEFAULT_QUERY_LIMIT: usize = 25;

/// What `receive` did with a verified message.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Stored and handed to its route.
    Accepted,
    /// Already held: nothing changed.
    Duplicate,
}

/// Checks that `exn` is signed by its sender's current keys, as this agent holds the sender's
/// KEL (`stored`): exactly one transferable signature group (`-F`), by the sender.
pub fn check(
    stored: &[StoredEvent],
    exn: &Exchange,
    groups: &[SignatureGroup],
) -> Result<(), Failure> {
    let sender = exn.sender();
    if stored.is_empty() {
        return Err(Failure::Invalid(format!(
            "exn {} is from {sender}, whose key event log this agent does not hold: resolve its OOBI first (unknown senders are refused, not escrowed)",
            exn.said()
        )));
    }
    let [group] = groups else {
        return Err(Failure::Invalid(format!(
            "exn {} must carry exactly one transferable signature group (-F) by its sender; it carries {}",
            exn.said(),
            groups.len()
        )));
    };
    let kel = kels::replay(stored, sender, None).map_err(Failure::Storage)?;
    exn.verify_signatures(kel.state(), group)
        .map_err(|err| Failure::Invalid(err.to_string()))
}

/// Stores a verified message received by this agent and hands it to its route; refuses, staging
/// nothing, one whose signatures do not verify against the sender's KEL held here. `pathed`
/// are the attachments of the messages it embeds. A `/multisig/*` message may complete a group
/// event, returned to be sent to its witnesses; one received again is refused.
pub fn receive(
    rows: &mut OwnerWriter<'_>,
    exn: &Exchange,
    (groups, pathed): (&[SignatureGroup], &[String]),
    seen: &str,
) -> Result<(Received, Option<Completed>), Failure> {
    check(&rows.kel(exn.sender())?, exn, groups)?;
    let route = exn.route();
    if rows.record(EXCHANGES, exn.said())?.is_some() {
        if route.starts_with(multisig::ROUTES) {
            return Err(Failure::Invalid(format!(
                "{route} exn {} was already received: a replayed message is refused",
                exn.said()
            )));
        }
        return Ok((Received::Duplicate, None));
    }
    if route.starts_with(multisig::ROUTES) {
        let completed = multisig::received(rows, exn, pathed, seen)?;
        put(rows, exn, (groups, pathed), seen)?;
        return Ok((Received::Accepted, completed));
    }
    // Checked before anything is written: a response without words is refused whole.
    let words = if route == challenges::RESPONSE_ROUTE {
        Some(challenges::words_of(exn)?)
    } else {
        None
    };
    put(rows, exn, (groups, pathed), seen)?;
    if let Some(words) = words {
        challenges::responded(rows, exn, &words)?;
    }
    notifications::for_exchange(rows, exn, seen)?;
    Ok((Received::Accepted, None))
}

/// Stores a message `kel`'s identifier sent, signed by `sigs` under its current keys, with the
/// `pathed` attachments of what it embeds; the signature group it travels with.
pub fn keep_sent(
    rows: &mut OwnerWriter<'_>,
    exn: &Exchange,
    kel: &Kel,
    (sigs, pathed): (Vec<Siger>, &[String]),
    seen: &str,
) -> Result<SignatureGroup> {
    let (sn, said) = kel.state().establishment();
    let group = SignatureGroup {
        prefix: kel.state().prefix().to_owned(),
        sn,
        said: said.to_owned(),
        sigs,
    };
    put(rows, exn, (std::slice::from_ref(&group), pathed), seen)?;
    if exn.route().starts_with(multisig::ROUTES) {
        multisig::sent(rows, exn).map_err(|err| anyhow!("{err:?}"))?;
    }
    Ok(group)
}

/// The attachment text of a message signed by `groups` (`-V` holding `-F`, then the `-L`
/// pathed attachments of what it embeds).
pub fn attachment(groups: &[SignatureGroup], pathed: &[String]) -> String {
    Attachments {
        signature_groups: groups.to_vec(),
        pathed: pathed.to_vec(),
        ..Attachments::default()
    }
    .to_qb64()
}

fn put(
    rows: &mut OwnerWriter<'_>,
    exn: &Exchange,
    (groups, pathed): (&[SignatureGroup], &[String]),
    seen: &str,
) -> Result<()> {
    let record = json!({
        "exn": exn.value(),
        "atc": attachment(groups, pathed),
        "pathed": pathed,
        "seen": seen,
    });
    rows.put_record(EXCHANGES, exn.said(), &record.to_string())
}

/// `{exn, pathed}` of the message `said`, as KERIA answers it (no embeds: `pathed` is empty).
pub fn get(rows: &OwnerReader<'_>, said: &str) -> Result<Option<Value>> {
    rows.record(EXCHANGES, said)?
        .map(|record| resource(&record))
        .transpose()
}

fn resource(record: &str) -> Result<Value> {
    let stored: Value = serde_json::from_str(record).context("stored exchange message")?;
    Ok(json!({"exn": stored["exn"], "pathed": {}}))
}

/// The messages whose fields match `filter`, oldest first (by `dt`), `skip`ped and `limit`ed.
/// A filter maps a field path (`-r`, `-a-i`: the fields from the message down, each after a
/// `-`) to a value it must equal, `{"$eq": value}`, or `{"$begins": "text"}`.
pub fn query(
    rows: &OwnerReader<'_>,
    filter: &Map<String, Value>,
    skip: usize,
    limit: usize,
) -> Result<Vec<Value>, Failure> {
    let tests = filter
        .iter()
        .map(|(path, wanted)| Test::parse(path, wanted))
        .collect::<Result<Vec<_>, String>>()
        .map_err(Failure::Invalid)?;
    let mut found = Vec::new();
    for (_, record) in rows.records(EXCHANGES, "")? {
        let stored: Value = serde_json::from_str(&record)
            .map_err(|err| Failure::Storage(anyhow!("stored exchange message: {err}")))?;
        if tests.iter().all(|test| test.matches(&stored["exn"])) {
            found.push(stored);
        }
    }
    found.sort_by(|a, b| a["exn"]["dt"].as_str().cmp(&b["exn"]["dt"].as_str()));
    Ok(found
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|stored| json!({"exn": stored["exn"], "pathed": {}}))
        .collect())
}

/// One condition of a query filter.
struct Test {
    path: Vec<String>,
    wanted: Value,
    begins: bool,
}

impl Test {
    fn parse(path: &str, wanted: &Value) -> Result<Self, String> {
        let Some(fields) = path.strip_prefix('-') else {
            return Err(format!(
                "filter field {path:?} must be a path like -r or -a-i"
            ));
        };
        let path = fields.split('-').map(str::to_owned).collect();
        match wanted {
            Value::Object(operator) => match operator.iter().next() {
                Some((name, value)) if operator.len() == 1 && name == "$eq" => Ok(Self {
                    path,
                    wanted: value.clone(),
                    begins: false,
                }),
                Some((name, Value::String(text))) if operator.len() == 1 && name == "$begins" => {
                    Ok(Self {
                        path,
                        wanted: text.clone().into(),
                        begins: true,
                    })
                }
                _ => Err(format!(
                    "filter operator {wanted} is not one of {{\"$eq\": value}}, {{\"$begins\": \"text\"}}"
                )),
            },
            value => Ok(Self {
                path,
                wanted: value.clone(),
                begins: false,
            }),
        }
    }

    fn matches(&self, exn: &Value) -> bool {
        let value = self.path.iter().fold(exn, |value, field| &value[field]);
        match (self.begins, value, &self.wanted) {
            (true, Value::String(text), Value::String(start)) => text.starts_with(start.as_str()),
            (true, _, _) => false,
            (false, value, wanted) => value == wanted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Test;
    use serde_json::json;

    #[test]
    fn filters_match_paths_with_equality_or_a_beginning() {
        let exn = json!({"r": "/challenge/response", "a": {"i": "EAlice"}});
        let test = |path: &str, wanted| Test::parse(path, &wanted).unwrap().matches(&exn);
        assert!(test("-r", json!("/challenge/response")));
        assert!(test("-a-i", json!({"$eq": "EAlice"})));
        assert!(test("-r", json!({"$begins": "/challenge"})));
        assert!(!test("-r", json!({"$begins": "/ipex"})));
        assert!(!test("-a-x", json!("EAlice")));
        assert!(Test::parse("r", &json!("x")).is_err());
        assert!(Test::parse("-r", &json!({"$gt": 1})).is_err());
    }
}
