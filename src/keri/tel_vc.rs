//! A credential's own transaction events in its registry's TEL: the issuance `iss`
//! (`v,t,d,i,s,ri,dt`, `s` "0") and the revocation `rev` (`v,t,d,i,s,ri,p,dt`, `s` "1", `p` the
//! issuance's SAID), registries without backers only, as signify-ts 0.4.0 builds them.
//!
//! `TelEvent::verify` checks labels and their order, version string and size, the SAID, and
//! each field's type; `state` is the credential state KERIA reports (`VcStateRecord`).

use serde_json::{json, Map, Value};

use super::seal::Seal;
use super::serder::{parse_hex, saidify, sealed, shown, version_size};

const ISS_LABELS: [&str; 7] = ["v", "t", "d", "i", "s", "ri", "dt"];
const REV_LABELS: [&str; 8] = ["v", "t", "d", "i", "s", "ri", "p", "dt"];

/// A verified `iss` or `rev`.
#[derive(Debug, Clone)]
pub struct TelEvent {
    raw: Vec<u8>,
    value: Value,
}

/// The issuance of credential `said` in `registry` at `datetime`, as signify-ts builds it.
pub fn issue(said: &str, registry: &str, datetime: &str) -> TelEvent {
    let mut map = Map::new();
    for (label, text) in [
        ("v", ""),
        ("t", "iss"),
        ("d", ""),
        ("i", said),
        ("s", "0"),
        ("ri", registry),
        ("dt", datetime),
    ] {
        map.insert(label.into(), text.into());
    }
    let (value, raw, _) = saidify(map, false);
    TelEvent { raw, value }
}

impl TelEvent {
    /// Verifies a received `iss` or `rev`.
    pub fn verify(value: &Value) -> Result<Self, String> {
        let map = value
            .as_object()
            .ok_or_else(|| "a TEL event must be a JSON object".to_owned())?;
        let ilk = map.get("t").and_then(Value::as_str).unwrap_or_default();
        let (labels, sn): (&[&str], u64) = match ilk {
            "iss" => (&ISS_LABELS, 0),
            "rev" => (&REV_LABELS, 1),
            other => {
                return Err(format!(
                    "a credential's TEL event has type iss or rev, not {other:?}"
                ))
            }
        };
        if !map.keys().map(String::as_str).eq(labels.iter().copied()) {
            return Err(format!(
                "the {ilk}'s fields must be {}; got {}",
                labels.join(","),
                map.keys().cloned().collect::<Vec<_>>().join(",")
            ));
        }
        for label in labels {
            if map[*label].as_str().is_none_or(str::is_empty) {
                return Err(format!(
                    "the {ilk}'s {label} must be a non-empty string, not {}",
                    shown(&map[*label])
                ));
            }
        }
        if map["s"].as_str().and_then(parse_hex) != Some(sn) {
            return Err(format!("the {ilk}'s sequence number s must be {sn:x}"));
        }
        let declared = version_size(map["v"].as_str().unwrap_or_default())
            .ok_or_else(|| format!("the {ilk}'s version string is not KERI10JSON……_"))?;
        let said = map["d"].as_str().unwrap_or_default();
        let (raw, _) = sealed(value, map, declared, said, false).map_err(|_| {
            let (_, _, computed) = saidify(map.clone(), false);
            format!("the {ilk}'s SAID d is {said}, or its size wrong; computed {computed}")
        })?;
        Ok(Self {
            raw,
            value: value.clone(),
        })
    }

    /// Parses and verifies one from its JSON bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let value: Value = serde_json::from_slice(bytes).map_err(|err| err.to_string())?;
        Self::verify(&value)
    }

    /// The compact serialization.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The event as JSON.
    pub fn value(&self) -> &Value {
        &self.value
    }

    fn text(&self, label: &str) -> &str {
        self.value[label].as_str().unwrap_or_default()
    }

    /// `iss` or `rev`.
    pub fn ilk(&self) -> &str {
        self.text("t")
    }

    /// The event's SAID.
    pub fn said(&self) -> &str {
        self.text("d")
    }

    /// The credential's SAID `i`.
    pub fn credential(&self) -> &str {
        self.text("i")
    }

    /// The sequence number: 0 for `iss`, 1 for `rev`.
    pub fn sn(&self) -> u64 {
        u64::from(self.ilk() == "rev")
    }

    /// The registry `ri`.
    pub fn registry(&self) -> &str {
        self.text("ri")
    }

    /// The prior event's SAID `p` (a `rev`'s issuance).
    pub fn prior(&self) -> Option<&str> {
        self.value["p"].as_str()
    }

    /// The seal an issuer's event carries to anchor this one: `{i, s, d}`.
    pub fn seal(&self) -> Seal {
        Seal::event(self.credential(), self.sn(), self.said())
    }

    /// Whether `seals` holds this event's seal.
    pub fn is_anchored_by(&self, seals: &[Seal]) -> bool {
        seals.iter().any(|seal| {
            seal.prefix() == Some(self.credential())
                && seal.sn() == Some(self.sn())
                && seal.said() == Some(self.said())
        })
    }

    /// The credential's state after this event, anchored by the issuer's event at `anchor_sn`
    /// (`anchor_said`), as KERIA reports it.
    pub fn state(&self, anchor_sn: u64, anchor_said: &str) -> Value {
        let mut state = Map::new();
        state.insert("vn".into(), json!([1, 0]));
        state.insert("i".into(), self.credential().into());
        state.insert("s".into(), format!("{:x}", self.sn()).into());
        state.insert("d".into(), self.said().into());
        state.insert("ri".into(), self.registry().into());
        state.insert("ra".into(), json!({}));
        state.insert("a".into(), json!({"s": anchor_sn, "d": anchor_said}));
        state.insert("dt".into(), self.text("dt").into());
        state.insert("et".into(), self.ilk().into());
        Value::Object(state)
    }
}

#[cfg(test)]
mod tests {
    use super::TelEvent;

    #[test]
    fn an_issuance_verifies_and_a_changed_one_does_not() {
        let value = super::issue("Ecred", "Ereg", "2024-01-01T00:00:00.000000+00:00")
            .value()
            .clone();
        let iss = TelEvent::verify(&value).unwrap();
        assert_eq!(iss.credential(), "Ecred");
        assert_eq!(iss.state(3, "Eanc")["et"], "iss");
        let mut changed = value.clone();
        changed["ri"] = "Eother".into();
        assert!(TelEvent::verify(&changed).is_err());
    }
}
