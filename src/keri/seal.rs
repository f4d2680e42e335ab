//! Seals anchored in an event's `a` list, such as the event seal `{"i", "s", "d"}` a delegator
//! or a registry is anchored with.

use serde_json::{Map, Value};

use super::serder::parse_hex;

/// An anchored seal: a JSON object in an event's `a` list, kept as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal(pub(super) Map<String, Value>);

impl Seal {
    /// The event seal `{"i": prefix, "s": sn in hex, "d": said}`.
    pub fn event(prefix: &str, sn: u64, said: &str) -> Self {
        let mut map = Map::new();
        map.insert("i".into(), prefix.into());
        map.insert("s".into(), format!("{sn:x}").into());
        map.insert("d".into(), said.into());
        Self(map)
    }

    /// The seal's prefix `i`, if it has one.
    pub fn prefix(&self) -> Option<&str> {
        self.0.get("i").and_then(Value::as_str)
    }

    /// The seal's sequence number `s`, if it has a hex one.
    pub fn sn(&self) -> Option<u64> {
        self.0.get("s").and_then(Value::as_str).and_then(parse_hex)
    }

    /// The seal's digest `d`, if it has one.
    pub fn said(&self) -> Option<&str> {
        self.0.get("d").and_then(Value::as_str)
    }

    /// The seal as JSON.
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }
}
