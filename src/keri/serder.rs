//! Self-addressing serialization of KERI messages (events, replies, exchanges, registry
//! events): version strings that carry the serialized size, compact JSON in the message's key
//! order, SAIDs computed with `#` placeholders, and the check that a received message's bytes
//! match the size and SAID it declares.

use serde_json::{Map, Value};

use super::primitives::Diger;

/// Placeholder written into SAID fields while the SAID is computed.
pub(super) const DUMMY: &str = "############################################";

/// Start of every version string: protocol KERI, version 1.0, JSON serialization.
const VERSION_PREFIX: &str = "KERI10JSON";

/// Length of a version string: prefix, six hex digits of size, terminator.
const VERSION_LENGTH: usize = 17;

/// The version string for a serialization of `size` bytes.
pub(super) fn version(size: usize) -> String {
    format!("{VERSION_PREFIX}{size:06x}_")
}

/// Reads the size out of a version string.
pub(super) fn version_size(text: &str) -> Option<usize> {
    let digits = text.strip_prefix(VERSION_PREFIX)?.strip_suffix('_')?;
    if text.len() != VERSION_LENGTH
        || !digits
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    usize::from_str_radix(digits, 16).ok()
}

/// Reads a lowercase hex number without leading zeros.
pub(super) fn parse_hex(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.len() <= 16
        && text
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
        && (text == "0" || !text.starts_with('0'));
    canonical
        .then(|| u64::from_str_radix(text, 16).ok())
        .flatten()
}

/// Compact JSON of `value`, in its key order.
pub(super) fn compact(value: &Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// Computes the SAID of `map` and writes it, with the final version string, into the message;
/// `prefix_too` makes the prefix `i` self-addressing as well. Returns the message, its
/// serialization and its SAID.
pub(super) fn saidify(mut map: Map<String, Value>, prefix_too: bool) -> (Value, Vec<u8>, String) {
    map.insert("d".into(), DUMMY.into());
    if prefix_too {
        map.insert("i".into(), DUMMY.into());
    }
    map.insert("v".into(), version(0).into());
    let size = compact(&Value::Object(map.clone())).len();
    map.insert("v".into(), version(size).into());
    let said = Diger::blake3(&compact(&Value::Object(map.clone()))).qb64();
    map.insert("d".into(), said.clone().into());
    if prefix_too {
        map.insert("i".into(), said.clone().into());
    }
    let value = Value::Object(map);
    let raw = compact(&value);
    (value, raw, said)
}

/// How a received message's bytes disagree with what it declares.
pub(super) enum Sealing {
    /// Its version string declares `declared` bytes; it has `actual`.
    Size { declared: usize, actual: usize },
    /// Its `d` is not the SAID `computed` over it.
    Said { computed: String },
}

/// The compact bytes of a received message `value` (its fields `map`) and the SAID computed
/// over them (with `i` as a placeholder too when `prefix_too`), once their length is the
/// `declared` size and its `d` is that SAID.
pub(super) fn sealed(
    value: &Value,
    map: &Map<String, Value>,
    declared: usize,
    said: &str,
    prefix_too: bool,
) -> Result<(Vec<u8>, String), Sealing> {
    let raw = compact(value);
    if raw.len() != declared {
        return Err(Sealing::Size {
            declared,
            actual: raw.len(),
        });
    }
    let (_, _, computed) = saidify(map.clone(), prefix_too);
    if said != computed {
        return Err(Sealing::Said { computed });
    }
    Ok((raw, computed))
}

/// A shortened compact rendering of a received value, for error messages.
pub(super) fn shown(value: &Value) -> String {
    const LIMIT: usize = 80;
    let text = value.to_string();
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}
