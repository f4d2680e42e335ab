//! KERI peer-to-peer exchange messages (`exn`): what one identifier says to another.
//!
//! `Exchange::verify` checks a received message's field order (KERI 1.0:
//! `v, t, d, i, rp, p, dt, r, q, a, e`, or the older form without `rp`), version string,
//! size and SAID; `Exchange::verify_signatures` checks its signatures against the sender's
//! current key state (the caller finds it: the sender's KEL, held after an OOBI resolution).
//! `exchange` builds one, as signify-ts's `exchange()` does. Nothing here does I/O.

use std::fmt;

use serde_json::{Map, Value};

use super::error::EventError;
use super::kel::KeyState;
use super::primitives::Siger;
use super::routed::{self, Refused, Shape};
use super::serder::{saidify, DUMMY};
use super::stream::SignatureGroup;

/// The type `t` of an exchange message.
const ILK: &str = "exn";
/// The field labels of an exchange message, in their required order (KERI 1.0, signify-ts 0.3).
const LABELS: [&str; 11] = ["v", "t", "d", "i", "rp", "p", "dt", "r", "q", "a", "e"];
/// The same without the recipient `rp`, as older KERI peers send them.
const LABELS_WITHOUT_RECIPIENT: [&str; 10] = ["v", "t", "d", "i", "p", "dt", "r", "q", "a", "e"];

/// What an `exn` must look like, before its own checks.
const SHAPE: Shape = Shape {
    ilk: ILK,
    orders: &[&LABELS, &LABELS_WITHOUT_RECIPIENT],
    objects: &["q", "a", "e"],
};

impl From<Refused> for ExchangeError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Invalid(reason) => Self::Invalid(reason),
            Refused::Size { declared, actual } => Self::Size { declared, actual },
            Refused::SaidMismatch { got, computed } => Self::SaidMismatch { got, computed },
        }
    }
}

/// Why an exchange message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeError {
    /// The message's structure is wrong.
    Invalid(String),
    /// The size in the version string is not the serialized size.
    Size {
        /// The size in the version string.
        declared: usize,
        /// The size of the compact serialization.
        actual: usize,
    },
    /// `d` is not the recomputed SAID.
    SaidMismatch {
        /// The value received.
        got: String,
        /// The recomputed SAID.
        computed: String,
    },
    /// The signatures are not by the sender's current keys, or do not meet its threshold.
    Signatures(String),
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(reason) | Self::Signatures(reason) => {
                write!(formatter, "exn: {reason}")
            }
            Self::Size { declared, actual } => write!(
                formatter,
                "exn: version string size {declared:#x} does not match serialized size {actual:#x}"
            ),
            Self::SaidMismatch { got, computed } => {
                write!(
                    formatter,
                    "exn: SAID mismatch: d is {got}, computed {computed}"
                )
            }
        }
    }
}

impl std::error::Error for ExchangeError {}

/// A verified (or freshly built) exchange message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    raw: Vec<u8>,
    value: Value,
}

/// Builds an exchange message from `sender` to `recipient` on `route`, dated `datetime`, as
/// signify-ts does: `a` is `{i: recipient}` followed by `payload`'s fields; no embeds.
pub fn exchange(
    sender: &str,
    recipient: &str,
    route: &str,
    payload: &Map<String, Value>,
    datetime: &str,
) -> Exchange {
    let mut data = Map::new();
    data.insert("i".into(), recipient.into());
    for (key, value) in payload {
        data.insert(key.clone(), value.clone());
    }
    let mut map = Map::new();
    map.insert("v".into(), String::new().into());
    map.insert("t".into(), ILK.into());
    map.insert("d".into(), DUMMY.into());
    map.insert("i".into(), sender.into());
    map.insert("rp".into(), recipient.into());
    map.insert("p".into(), String::new().into());
    map.insert("dt".into(), datetime.into());
    map.insert("r".into(), route.into());
    map.insert("q".into(), Value::Object(Map::new()));
    map.insert("a".into(), Value::Object(data));
    map.insert("e".into(), Value::Object(Map::new()));
    let (value, raw, _) = saidify(map, false);
    Exchange { raw, value }
}

impl Exchange {
    /// Verifies a received message: field order, version string, type, sender, `dt`, route,
    /// the `q`, `a` and `e` objects, size and SAID.
    pub fn verify(value: &Value) -> Result<Self, ExchangeError> {
        let (map, raw) = routed::verify(value, &SHAPE)?;
        if routed::string(map, "i")?.is_empty() {
            return Err(ExchangeError::Invalid("the sender i is empty".into()));
        }
        if map.contains_key("rp") {
            routed::string(map, "rp")?;
        }
        routed::string(map, "p")?;
        Ok(Self {
            raw,
            value: value.clone(),
        })
    }

    /// Parses and verifies a message from its JSON bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, ExchangeError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|error| ExchangeError::Invalid(format!("not JSON: {error}")))?;
        Self::verify(&value)
    }

    /// The compact serialization that signatures cover.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The message as JSON.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The SAID `d`.
    pub fn said(&self) -> &str {
        self.text("d")
    }

    /// The sender `i`.
    pub fn sender(&self) -> &str {
        self.text("i")
    }

    /// The recipient: `rp`, else the `i` of the attributes; None when neither names one.
    pub fn recipient(&self) -> Option<&str> {
        self.value["rp"]
            .as_str()
            .or_else(|| self.value["a"]["i"].as_str())
            .filter(|recipient| !recipient.is_empty())
    }

    /// The route `r`.
    pub fn route(&self) -> &str {
        self.text("r")
    }

    /// The datetime `dt`.
    pub fn datetime(&self) -> &str {
        self.text("dt")
    }

    /// The attributes `a`.
    pub fn attributes(&self) -> &Value {
        &self.value["a"]
    }

    fn text(&self, field: &str) -> &str {
        self.value[field].as_str().unwrap_or_default()
    }

    /// Checks `group` against the sender's key state `state`: the group names the sender and
    /// its latest establishment event, and its signatures meet that event's threshold.
    pub fn verify_signatures(
        &self,
        state: &KeyState,
        group: &SignatureGroup,
    ) -> Result<(), ExchangeError> {
        let refused = |reason: String| ExchangeError::Signatures(reason);
        if group.prefix != self.sender() || state.prefix() != self.sender() {
            return Err(refused(format!(
                "signed by {}, but the sender is {}",
                group.prefix,
                self.sender()
            )));
        }
        let (sn, said) = state.establishment();
        if group.sn != sn || group.said != said {
            return Err(refused(format!(
                "signed under establishment event {:x} ({}) of {}, but its current keys are those of event {sn:x} ({said})",
                group.sn, group.said, group.prefix
            )));
        }
        self.verify_indexed(state, &group.sigs)
    }

    /// Checks indexed signatures against the current keys and threshold of `state`.
    pub fn verify_indexed(&self, state: &KeyState, sigs: &[Siger]) -> Result<(), ExchangeError> {
        super::signatures::check_signatures(
            &self.raw,
            state.keys(),
            state.signing_threshold(),
            sigs,
        )
        .map(|_| ())
        .map_err(|error: EventError| ExchangeError::Signatures(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keri::kel::Kel;
    use crate::keri::oobi;
    use crate::keri::primitives::Signer;
    use crate::keri::vectors::AGENT_OOBI;
    use proptest::prelude::*;
    use serde_json::json;

    /// The `/challenge/response` Bob's signify-ts sent to Alice (`POST /identifiers/bob/exchanges`).
    const BOB_EXN: &str = r#"{"v":"KERI10JSON0001b7_","t":"exn","d":"ELgY8-XEVPvs0MBVb020Mw6GbjyH2TnYpDWHH0z4D-6G","i":"EG53idbM-_S-MrFF9GX-OzSMOzZEd3tUibHBIVb06SPL","rp":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","p":"","dt":"2026-11-24T21:59:18.298000+00:00","r":"/challenge/response","q":{},"a":{"i":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","words":["napkin","live","pave","unit","office","gesture","effort","sure","favorite","pet","blade","boy"]},"e":{}}"#;
    /// Its signature by Bob's key 0.
    const BOB_EXN_SIG: &str =
        "AAC7ZnvziG8kvajvOkrU-aDXUvYykIPsfk91eM3Msc8ALcf0FqIrAKHL8ozkKUG18_qN_PFe0T0MWNA62wkla7MA";
    const BOB: &str = "EG53idbM-_S-MrFF9GX-OzSMOzZEd3tUibHBIVb06SPL";

    /// Bob's KEL, as his agent served it.
    fn bob_kel() -> Kel {
        oobi::resolve(AGENT_OOBI, 1 << 20)
            .unwrap()
            .kels
            .into_iter()
            .find(|kel| kel.state().prefix() == BOB)
            .unwrap()
    }

    fn group(sigs: &[&str], sn: u64, said: &str) -> SignatureGroup {
        SignatureGroup {
            prefix: BOB.into(),
            sn,
            said: said.into(),
            sigs: sigs.iter().map(|sig| Siger::parse(sig).unwrap()).collect(),
        }
    }

    #[test]
    fn the_captured_challenge_response_verifies_with_bobs_keys() {
        let exn = Exchange::parse(BOB_EXN.as_bytes()).unwrap();
        assert_eq!(exn.raw(), BOB_EXN.as_bytes());
        assert_eq!(exn.said(), "ELgY8-XEVPvs0MBVb020Mw6GbjyH2TnYpDWHH0z4D-6G");
        assert_eq!(exn.sender(), BOB);
        assert_eq!(
            exn.recipient(),
            Some("EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N")
        );
        assert_eq!(exn.route(), "/challenge/response");
        assert_eq!(exn.attributes()["words"][11], "boy");
        let kel = bob_kel();
        exn.verify_signatures(kel.state(), &group(&[BOB_EXN_SIG], 0, BOB))
            .unwrap();
    }

    #[test]
    fn signify_ts_builds_the_same_message() {
        let exn = Exchange::parse(BOB_EXN.as_bytes()).unwrap();
        let payload = json!({"words": exn.attributes()["words"]});
        let built = exchange(
            BOB,
            exn.recipient().unwrap(),
            "/challenge/response",
            payload.as_object().unwrap(),
            exn.datetime(),
        );
        assert_eq!(built, exn);
    }

    #[test]
    fn forged_signatures_and_stale_or_foreign_groups_are_refused() {
        let exn = Exchange::parse(BOB_EXN.as_bytes()).unwrap();
        let kel = bob_kel();
        let other = Signer::from_seed(&[7; 32])
            .sign_indexed(exn.raw(), 0)
            .qb64();
        let error = exn
            .verify_signatures(kel.state(), &group(&[&other], 0, BOB))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("exn: 0 of 1 signatures verify"),
            "{error}"
        );
        let error = exn
            .verify_signatures(kel.state(), &group(&[BOB_EXN_SIG], 1, BOB))
            .unwrap_err()
            .to_string();
        assert!(error.contains("under establishment event 1"), "{error}");
        let mut foreign = group(&[BOB_EXN_SIG], 0, BOB);
        foreign.prefix = "EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N".into();
        let error = exn
            .verify_signatures(kel.state(), &foreign)
            .unwrap_err()
            .to_string();
        assert!(error.contains("but the sender is EG53"), "{error}");
        // Another message, same signature: the words changed, so the signature no longer holds.
        let tampered = exchange(
            BOB,
            exn.recipient().unwrap(),
            "/challenge/response",
            json!({"words": ["napkin"]}).as_object().unwrap(),
            exn.datetime(),
        );
        assert!(tampered
            .verify_signatures(kel.state(), &group(&[BOB_EXN_SIG], 0, BOB))
            .is_err());
    }

    #[test]
    fn malformed_messages_are_refused() {
        let error = |text: &str| Exchange::parse(text.as_bytes()).unwrap_err().to_string();
        assert!(error(&BOB_EXN.replacen("\"boy\"", "\"bot\"", 1))
            .starts_with("exn: SAID mismatch: d is ELgY8-XE"));
        assert_eq!(
            error(&BOB_EXN.replacen("0001b7_", "0001b8_", 1)),
            "exn: version string size 0x1b8 does not match serialized size 0x1b7"
        );
        assert!(error(&BOB_EXN.replacen("\"q\":{},", "", 1))
            .starts_with("exn: field order must be v, t, d, i, rp, p, dt, r, q, a, e; got"));
        assert!(
            error(&BOB_EXN.replacen("\"t\":\"exn\"", "\"t\":\"exm\"", 1))
                .starts_with("exn: type t must be exn")
        );
        assert!(error(&BOB_EXN.replacen("18.298000", "18.298", 1))
            .starts_with("exn: dt must be an ISO-8601 datetime"));
        assert!(error(&BOB_EXN.replacen("\"q\":{}", "\"q\":[]", 1))
            .starts_with("exn: field q must be an object"));
        assert_eq!(error("[]"), "exn: must be a JSON object");
        assert!(error("{").starts_with("exn: not JSON"));
    }

    proptest! {
        #[test]
        fn mutated_messages_never_panic(at in 0..BOB_EXN.len(), byte in any::<u8>()) {
            let mut bytes = BOB_EXN.as_bytes().to_vec();
            bytes[at] = byte;
            if let Ok(exn) = Exchange::parse(&bytes) {
                prop_assert_eq!(exn.raw(), BOB_EXN.as_bytes());
            }
        }
    }
}
