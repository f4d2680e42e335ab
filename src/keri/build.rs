//! KERI events built here, as Signify builds them: inceptions (plain and delegated) with
//! self-addressing prefixes, interactions and rotations; and receipts of events. Each is verified like a received
//! event before it is handed out, so a built event and a received one are the same thing.

use serde_json::{Map, Value};

use super::event::Event;
use super::ilk::Ilk;
use super::primitives::{Diger, Verfer};
use super::seal::Seal;
use super::serder::{saidify, version, DUMMY};

/// A non-delegated inception with a self-addressing prefix.
pub fn incept(keys: &[Verfer], next_digests: &[Diger]) -> Event {
    inception(keys, next_digests, None, (&[], 0))
}

/// A non-delegated inception witnessed by `witnesses`, `threshold` of whose receipts make it
/// valid.
pub fn incept_witnessed(
    keys: &[Verfer],
    next_digests: &[Diger],
    witnesses: &[String],
    threshold: u64,
) -> Event {
    inception(keys, next_digests, None, (witnesses, threshold))
}

/// A delegated inception with a self-addressing prefix, delegated by `delegator`.
pub fn delegated_incept(keys: &[Verfer], next_digests: &[Diger], delegator: &str) -> Event {
    inception(keys, next_digests, Some(delegator), (&[], 0))
}

/// The inception of a non-transferable identifier whose prefix is its one key (`B…`), as a
/// witness incepts itself: no next keys, no backers.
pub fn incept_basic(key: &Verfer) -> Event {
    let mut map = Map::new();
    map.insert("v".into(), version(0).into());
    map.insert("t".into(), Ilk::Icp.as_str().into());
    map.insert("d".into(), DUMMY.into());
    map.insert("i".into(), key.qb64().into());
    map.insert("s".into(), "0".into());
    map.insert("kt".into(), "1".into());
    map.insert("k".into(), Value::Array(vec![key.qb64().into()]));
    map.insert("nt".into(), "0".into());
    map.insert("n".into(), Value::Array(Vec::new()));
    map.insert("bt".into(), "0".into());
    map.insert("b".into(), Value::Array(Vec::new()));
    map.insert("c".into(), Value::Array(Vec::new()));
    map.insert("a".into(), Value::Array(Vec::new()));
    let (value, _, _) = saidify(map, false);
    Event::verify(&value).expect("a basic inception built here is well formed")
}

/// A receipt (`rct`) of the event `said` of `prefix` at `sn`: what a witness's signature is
/// attached to. Its `d` is the receipted event's SAID, so it is written, not saidified.
pub fn receipt(prefix: &str, sn: u64, said: &str) -> Vec<u8> {
    let body = |size: usize| {
        let mut map = Map::new();
        map.insert("v".into(), version(size).into());
        map.insert("t".into(), "rct".into());
        map.insert("d".into(), said.into());
        map.insert("i".into(), prefix.into());
        map.insert("s".into(), format!("{sn:x}").into());
        Value::Object(map).to_string()
    };
    let size = body(0).len();
    body(size).into_bytes()
}

/// An interaction event of `prefix` at `sn`, chained to the event whose SAID is `prior`.
pub fn interact(prefix: &str, sn: u64, prior: &str, seals: Vec<Seal>) -> Event {
    let mut map = Map::new();
    map.insert("v".into(), version(0).into());
    map.insert("t".into(), Ilk::Ixn.as_str().into());
    map.insert("d".into(), DUMMY.into());
    map.insert("i".into(), prefix.into());
    map.insert("s".into(), format!("{sn:x}").into());
    map.insert("p".into(), prior.into());
    map.insert(
        "a".into(),
        Value::Array(seals.into_iter().map(|seal| seal.to_value()).collect()),
    );
    let (value, _, _) = saidify(map, false);
    Event::verify(&value).expect("an interaction built here is well formed")
}

/// A rotation of `prefix` at `sn`, chained to `prior`, to `keys` (all of which must sign)
/// committing to `next_digests` (all of which must be revealed; none abandons the
/// identifier), with no backers or data.
pub fn rotate(
    prefix: &str,
    sn: u64,
    prior: &str,
    keys: &[Verfer],
    next_digests: &[Diger],
) -> Event {
    let count = |len: usize| format!("{:x}", len.max(1));
    let mut map = Map::new();
    map.insert("v".into(), version(0).into());
    map.insert("t".into(), Ilk::Rot.as_str().into());
    map.insert("d".into(), DUMMY.into());
    map.insert("i".into(), prefix.into());
    map.insert("s".into(), format!("{sn:x}").into());
    map.insert("p".into(), prior.into());
    map.insert("kt".into(), count(keys.len()).into());
    map.insert(
        "k".into(),
        keys.iter().map(Verfer::qb64).collect::<Vec<_>>().into(),
    );
    map.insert("nt".into(), format!("{:x}", next_digests.len()).into());
    map.insert(
        "n".into(),
        next_digests
            .iter()
            .map(Diger::qb64)
            .collect::<Vec<_>>()
            .into(),
    );
    map.insert("bt".into(), "0".into());
    map.insert("br".into(), Value::Array(Vec::new()));
    map.insert("ba".into(), Value::Array(Vec::new()));
    map.insert("a".into(), Value::Array(Vec::new()));
    let (value, _, _) = saidify(map, false);
    Event::verify(&value).expect("a rotation built here is well formed")
}

/// Builds an `icp`, or a `dip` when `delegator` is given, with thresholds as Signify sets
/// them: a majority of the keys, at least one.
fn inception(
    keys: &[Verfer],
    next_digests: &[Diger],
    delegator: Option<&str>,
    (witnesses, threshold): (&[String], u64),
) -> Event {
    let ilk = if delegator.is_some() {
        Ilk::Dip
    } else {
        Ilk::Icp
    };
    let signing_threshold = (keys.len() as u64).div_ceil(2).max(1);
    let next_threshold = (next_digests.len() as u64).div_ceil(2);
    let strings = |items: Vec<String>| Value::Array(items.into_iter().map(Value::String).collect());
    let mut map = Map::new();
    map.insert("v".into(), version(0).into());
    map.insert("t".into(), ilk.as_str().into());
    map.insert("d".into(), DUMMY.into());
    map.insert("i".into(), DUMMY.into());
    map.insert("s".into(), "0".into());
    map.insert("kt".into(), format!("{signing_threshold:x}").into());
    map.insert("k".into(), strings(keys.iter().map(Verfer::qb64).collect()));
    map.insert("nt".into(), format!("{next_threshold:x}").into());
    map.insert(
        "n".into(),
        strings(next_digests.iter().map(Diger::qb64).collect()),
    );
    map.insert("bt".into(), format!("{threshold:x}").into());
    map.insert("b".into(), strings(witnesses.to_vec()));
    map.insert("c".into(), Value::Array(Vec::new()));
    map.insert("a".into(), Value::Array(Vec::new()));
    if let Some(delegator) = delegator {
        map.insert("di".into(), delegator.into());
    }
    let (value, _, _) = saidify(map, true);
    Event::verify(&value).expect("an inception built here is well formed")
}
