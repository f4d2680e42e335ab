//! Transaction event logs (TELs) of credential registries: the registry inception `vcp`.
//!
//! A `vcp` is verified as Signify 0.3.0 sends it: the labels `v,t,d,i,ii,s,c,bt,b,n` in that
//! order, the version string's size, the SAID `d` and the self-addressing registry prefix `i`
//! (one Blake3-256 digest over the event with both dummied), `s` "0", the traits `c` and the
//! backers. Registries here have no backers (`b` empty, `bt` "0"): receipts of registry
//! backers are not handled. Registry rotations (`vrt`) and credential events (`iss`, `rev`,
//! `bis`, `brv`) are not handled either. `incept` builds an inception as Signify does.

use serde_json::{json, Map, Value};

use super::error::EventError;
use super::seal::Seal;
use super::serder::{parse_hex, saidify, sealed, shown, version_size};

/// The labels of a registry inception, in their required order.
const VCP_LABELS: [&str; 10] = ["v", "t", "d", "i", "ii", "s", "c", "bt", "b", "n"];

/// The trait of a registry without backers of its own.
pub const NO_BACKERS: &str = "NB";

/// The configuration traits KERI defines (`EO` establishment only, `DND` do not delegate, `RB`
/// registrar backers, `NB` no backers, `NRB` no registrar backers, `DID` delegate is delegator).
const TRAITS: [&str; 6] = ["EO", "DND", "RB", NO_BACKERS, "NRB", "DID"];

/// A verified registry inception.
#[derive(Debug, Clone)]
pub struct Vcp {
    raw: Vec<u8>,
    value: Value,
    regk: String,
    issuer: String,
    traits: Vec<String>,
}

/// A registry inception by `issuer`, without backers (trait `NB`), made unique by `nonce`.
pub fn incept(issuer: &str, nonce: &str) -> Vcp {
    let mut map = Map::new();
    for (label, text) in [
        ("v", ""),
        ("t", "vcp"),
        ("d", ""),
        ("i", ""),
        ("ii", issuer),
    ] {
        map.insert(label.into(), text.into());
    }
    map.insert("s".into(), "0".into());
    map.insert("c".into(), json!([NO_BACKERS]));
    map.insert("bt".into(), "0".into());
    map.insert("b".into(), json!([]));
    map.insert("n".into(), nonce.into());
    let (value, raw, regk) = saidify(map, true);
    Vcp {
        raw,
        value,
        regk,
        issuer: issuer.to_owned(),
        traits: vec![NO_BACKERS.to_owned()],
    }
}

impl Vcp {
    /// Parses and verifies a registry inception from its JSON bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, EventError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|error| EventError::NotJson(error.to_string()))?;
        Self::verify(&value)
    }

    /// Verifies a received registry inception: labels and their order, version string and
    /// size, field types, traits and backers, the SAID and the self-addressing prefix.
    pub fn verify(value: &Value) -> Result<Self, EventError> {
        let map = value.as_object().ok_or(EventError::NotObject)?;
        let version_value = field(map, "v")?;
        let declared = version_value
            .as_str()
            .and_then(version_size)
            .ok_or_else(|| EventError::Version(shown(version_value)))?;
        if string(map, "t")? != "vcp" {
            return Err(EventError::Invalid(format!(
                "a registry inception has type t \"vcp\"; got {}",
                shown(field(map, "t")?)
            )));
        }
        if !map.keys().map(String::as_str).eq(VCP_LABELS) {
            return Err(EventError::Invalid(format!(
                "field order must be {}; got {}",
                VCP_LABELS.join(", "),
                map.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let said = string(map, "d")?;
        let regk = string(map, "i")?;
        let issuer = string(map, "ii")?;
        if issuer.is_empty() {
            return Err(EventError::Invalid(
                "the issuer ii must not be empty".into(),
            ));
        }
        let sn = hex(map, "s")?;
        if sn != 0 {
            return Err(EventError::Invalid(format!(
                "a registry inception has sequence number s 0; got {sn:x}"
            )));
        }
        let traits = strings(map, "c")?;
        if let Some(unknown) = traits.iter().find(|name| !TRAITS.contains(&name.as_str())) {
            return Err(EventError::Invalid(format!(
                "unknown registry trait {unknown} in c (known: {})",
                TRAITS.join(", ")
            )));
        }
        let backer_threshold = hex(map, "bt")?;
        let backers = strings(map, "b")?;
        if !backers.is_empty() || backer_threshold != 0 {
            return Err(EventError::Invalid(format!(
                "registries with backers are not supported: b must be empty and bt \"0\"; \
                 got {} backers and bt {backer_threshold:x}",
                backers.len()
            )));
        }
        if string(map, "n")?.is_empty() {
            return Err(EventError::Invalid("the nonce n must not be empty".into()));
        }
        let (raw, computed) = sealed(value, map, declared, said, true)
            .map_err(|sealing| EventError::unsealed(sealing, said))?;
        if regk != computed {
            return Err(EventError::SaidMismatch {
                field: "i",
                got: regk.to_owned(),
                computed,
            });
        }
        Ok(Self {
            raw,
            value: value.clone(),
            regk: regk.to_owned(),
            issuer: issuer.to_owned(),
            traits,
        })
    }

    /// The compact serialization, as received.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The event as JSON.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The registry prefix `i` (also the event's SAID).
    pub fn regk(&self) -> &str {
        &self.regk
    }

    /// The issuer `ii`: the identifier whose KEL anchors the registry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The seal an issuer's event carries to anchor this inception: `{i, s: "0", d}`.
    pub fn seal(&self) -> Seal {
        Seal::event(&self.regk, 0, &self.regk)
    }

    /// Whether `seals` holds this inception's seal.
    pub fn is_anchored_by(&self, seals: &[Seal]) -> bool {
        seals.iter().any(|seal| {
            seal.prefix() == Some(self.regk.as_str())
                && seal.sn() == Some(0)
                && seal.said() == Some(self.regk.as_str())
        })
    }

    /// The registry's state after this inception, first seen at `datetime`, as KERIA reports
    /// it: `{vn, i, s, d, ii, dt, et, bt, b, c}`.
    pub fn state(&self, datetime: &str) -> Value {
        json!({
            "vn": [1, 0],
            "i": self.regk,
            "s": "0",
            "d": self.regk,
            "ii": self.issuer,
            "dt": datetime,
            "et": "vcp",
            "bt": "0",
            "b": [],
            "c": self.traits,
        })
    }
}

fn field<'v>(map: &'v Map<String, Value>, label: &'static str) -> Result<&'v Value, EventError> {
    map.get(label).ok_or(EventError::MissingField(label))
}

fn string<'v>(map: &'v Map<String, Value>, label: &'static str) -> Result<&'v str, EventError> {
    let value = field(map, label)?;
    value.as_str().ok_or_else(|| EventError::FieldType {
        field: label.to_owned(),
        expected: "a string",
        got: shown(value),
    })
}

fn hex(map: &Map<String, Value>, label: &'static str) -> Result<u64, EventError> {
    let value = field(map, label)?;
    value
        .as_str()
        .and_then(parse_hex)
        .ok_or_else(|| EventError::FieldType {
            field: label.to_owned(),
            expected: "a lowercase hex number string without leading zeros, at most 16 digits",
            got: shown(value),
        })
}

fn strings(map: &Map<String, Value>, label: &'static str) -> Result<Vec<String>, EventError> {
    let value = field(map, label)?;
    let items = value.as_array().and_then(|items| {
        items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
    });
    items.ok_or_else(|| EventError::FieldType {
        field: label.to_owned(),
        expected: "an array of strings",
        got: shown(value),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::Vcp;
    use crate::keri::error::EventError;
    use crate::keri::event::Event;
    use crate::keri::kel::{Kel, SignedEvent};
    use crate::keri::primitives::Siger;
    use crate::keri::vectors::{
        AID1_ICP, AID1_ICP_SIG, AID1_IXN, AID1_IXN_SIG, AID1_ROT, AID1_ROT_SIG,
    };

    /// The `vcp` signify-ts 0.3.0 sent for registry `reg1` of `aid1`.
    const REG1_VCP: &str = r#"{"v":"KERI10JSON000113_","t":"vcp","d":"EOdY-m05jVhcAupfHT-HWv0dVqu7olQ9TVnmPA44htt5","i":"EOdY-m05jVhcAupfHT-HWv0dVqu7olQ9TVnmPA44htt5","ii":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","s":"0","c":["NB"],"bt":"0","b":[],"n":"ACuZPYt9JcQ9Leh54z-5O-cRCydiraMzmmMmLTfJW2XX"}"#;
    /// The `ixn` of `aid1` that anchors `REG1_VCP`.
    const REG1_IXN: &str = r#"{"v":"KERI10JSON00013a_","t":"ixn","d":"EJ4kvvoiRkj1xdxv-MsfP7R7hvgKvnc8NxwZsSZvHkFa","i":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","s":"3","p":"EF4z1gLJa6kMdBTl3RzKjJr8sZ7sO9_esenPI5Kw7T8b","a":[{"i":"EOdY-m05jVhcAupfHT-HWv0dVqu7olQ9TVnmPA44htt5","s":"0","d":"EOdY-m05jVhcAupfHT-HWv0dVqu7olQ9TVnmPA44htt5"}]}"#;
    /// Signature of `REG1_IXN` by aid1's rotated key.
    const REG1_IXN_SIG: &str =
        "AACdJPaXQNf3l5xs3P1C3XL0HdY0EfxA96Dm33woDpZO9A02e2ntWws8SdEqS1vF8HeA0g9_lwPHaqSd-vWl3_UF";
    /// The registry state KERIA listed for `reg1`.
    const REG1_STATE: &str = r#"{"vn":[1,0],"i":"EOdY-m05jVhcAupfHT-HWv0dVqu7olQ9TVnmPA44htt5","s":"0","d":"EOdY-m05jVhcAupfHT-HWv0dVqu7olQ9TVnmPA44htt5","ii":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","dt":"2026-11-24T21:59:19.428022+00:00","et":"vcp","bt":"0","b":[],"c":["NB"]}"#;

    fn signed(event: &str, sig: &str) -> SignedEvent {
        SignedEvent {
            event: Event::parse(event.as_bytes()).unwrap(),
            sigs: vec![Siger::parse(sig).unwrap()],
            delegation: None,
        }
    }

    fn vcp_with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
        let mut value: Value = serde_json::from_str(REG1_VCP).unwrap();
        edit(value.as_object_mut().unwrap());
        value
    }

    #[test]
    fn the_captured_registry_inception_verifies_and_states_as_keria() {
        let vcp = Vcp::parse(REG1_VCP.as_bytes()).unwrap();
        assert_eq!(vcp.raw(), REG1_VCP.as_bytes());
        assert_eq!(vcp.regk(), "EOdY-m05jVhcAupfHT-HWv0dVqu7olQ9TVnmPA44htt5");
        assert_eq!(vcp.issuer(), "EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N");
        let state: Value = serde_json::from_str(REG1_STATE).unwrap();
        assert_eq!(
            vcp.state("2026-11-24T21:59:19.428022+00:00").to_string(),
            state.to_string()
        );
    }

    #[test]
    fn the_captured_interaction_anchors_the_inception_and_extends_the_issuers_kel() {
        let vcp = Vcp::parse(REG1_VCP.as_bytes()).unwrap();
        let mut kel = Kel::incept(signed(AID1_ICP, AID1_ICP_SIG), "t0").unwrap();
        kel.append(signed(AID1_IXN, AID1_IXN_SIG), "t1").unwrap();
        kel.append(signed(AID1_ROT, AID1_ROT_SIG), "t2").unwrap();
        let ixn = signed(REG1_IXN, REG1_IXN_SIG);
        assert!(vcp.is_anchored_by(&ixn.event.seals()));
        assert_eq!(ixn.event.seals()[0], vcp.seal());
        kel.append(ixn, "t3").unwrap();
        assert_eq!(kel.state().sn(), 3);
        let unrelated = Event::parse(AID1_IXN.as_bytes()).unwrap();
        assert!(!vcp.is_anchored_by(&unrelated.seals()));
    }

    #[test]
    fn a_built_inception_is_the_one_signify_sends() {
        let captured = Vcp::parse(REG1_VCP.as_bytes()).unwrap();
        let built = super::incept(captured.issuer(), captured.value()["n"].as_str().unwrap());
        assert_eq!(built.raw(), REG1_VCP.as_bytes());
        assert_eq!(Vcp::parse(built.raw()).unwrap().regk(), built.regk());
    }

    #[test]
    fn a_changed_field_breaks_the_said_and_a_changed_prefix_is_refused() {
        let nonce = vcp_with(|map| {
            map.insert(
                "n".into(),
                "ACuZPYt9JcQ9Leh54z-5O-cRCydiraMzmmMmLTfJW2XY".into(),
            );
        });
        assert!(matches!(
            Vcp::verify(&nonce),
            Err(EventError::SaidMismatch { field: "d", .. })
        ));
        let prefix = vcp_with(|map| {
            map.insert(
                "i".into(),
                "EOdY-m05jVhcAupfHT-HWv0dVqu7olQ9TVnmPA44htt6".into(),
            );
        });
        let err = Vcp::verify(&prefix).unwrap_err();
        assert!(err.to_string().contains("prefix mismatch: i is"), "{err}");
    }

    #[test]
    fn malformed_inceptions_are_refused_with_their_reason() {
        let cases: [(Value, &str); 7] = [
            (
                vcp_with(|map| {
                    map.remove("n");
                }),
                "field order must be v, t, d, i, ii, s, c, bt, b, n",
            ),
            (
                vcp_with(|map| {
                    map.insert("t".into(), "vrt".into());
                }),
                "type t \"vcp\"",
            ),
            (
                vcp_with(|map| {
                    map.insert("s".into(), "1".into());
                }),
                "sequence number s 0",
            ),
            (
                vcp_with(|map| {
                    map.insert("c".into(), serde_json::json!(["XX"]));
                }),
                "unknown registry trait XX",
            ),
            (
                vcp_with(|map| {
                    map.insert(
                        "b".into(),
                        serde_json::json!(["BKRaC6UsijUY1FRjExoAMc8WOHBDIfIKYnOlxWH8eOe8"]),
                    );
                }),
                "backers are not supported",
            ),
            (
                vcp_with(|map| {
                    map.insert("ii".into(), "".into());
                }),
                "issuer ii must not be empty",
            ),
            (
                vcp_with(|map| {
                    map.insert("v".into(), "KERI10JSON000114_".into());
                }),
                "does not match serialized size",
            ),
        ];
        for (value, reason) in cases {
            let err = Vcp::verify(&value).unwrap_err().to_string();
            assert!(err.contains(reason), "{reason:?} not in {err:?}");
        }
    }
}
