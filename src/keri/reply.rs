//! KERI reply messages (`rpy`): signed statements about endpoints.
//!
//! An agent serves two kinds: `/end/role/add` (`a: {cid, role, eid}`: controller `cid` names
//! `eid` its endpoint in `role`) and `/loc/scheme` (`a: {eid, scheme, url}`: `eid` is reached at
//! `url`). `Reply::verify` checks a received reply's field order, version string, size and
//! SAID; `end_role_add` and `loc_scheme` build them with the caller's `dt`. Who must have
//! signed a reply, and with which keys, is for the caller (`oobi`) to decide.

use std::fmt;

use serde_json::{Map, Value};

use super::error::EventError;
use super::primitives::{Siger, Verfer};
use super::routed::{self, Refused, Shape};
use super::serder::{saidify, DUMMY};
use super::signatures::check_signatures;
use super::threshold::Threshold;

/// The type `t` of a reply.
const ILK: &str = "rpy";
/// The field labels of a reply, in their required order.
const LABELS: [&str; 6] = ["v", "t", "d", "dt", "r", "a"];

/// What an `rpy` must look like.
const SHAPE: Shape = Shape {
    ilk: ILK,
    orders: &[&LABELS],
    objects: &["a"],
};

impl From<Refused> for ReplyError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Invalid(reason) => Self::Invalid(reason),
            Refused::Size { declared, actual } => Self::Size { declared, actual },
            Refused::SaidMismatch { got, computed } => Self::SaidMismatch { got, computed },
        }
    }
}
/// Route of an end-role authorization.
pub const END_ROLE_ADD: &str = "/end/role/add";
/// Route of a location (URL) statement.
pub const LOC_SCHEME: &str = "/loc/scheme";

/// Why a reply was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// The reply's structure is wrong.
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
    /// The signatures do not verify to the threshold.
    Signatures(EventError),
}

impl fmt::Display for ReplyError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Invalid(reason) => write!(formatter, "reply: {reason}"),
            ReplyError::Size { declared, actual } => write!(
                formatter,
                "reply: version string size {declared:#x} does not match serialized size {actual:#x}"
            ),
            ReplyError::SaidMismatch { got, computed } => {
                write!(formatter, "reply: SAID mismatch: d is {got}, computed {computed}")
            }
            ReplyError::Signatures(error) => write!(formatter, "reply: {error}"),
        }
    }
}

impl std::error::Error for ReplyError {}

/// A verified or freshly built reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    raw: Vec<u8>,
    value: Value,
}

/// An end-role authorization: `cid` names `eid` its endpoint in `role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndRole {
    /// The controller.
    pub cid: String,
    /// The role, such as `agent`.
    pub role: String,
    /// The endpoint's identifier.
    pub eid: String,
}

/// Where an endpoint is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The endpoint's identifier.
    pub eid: String,
    /// `http` or `https`.
    pub scheme: String,
    /// The URL.
    pub url: String,
}

/// Builds a reply on `route` with data `a`, dated `datetime`.
fn build(route: &str, data: Map<String, Value>, datetime: &str) -> Reply {
    let mut map = Map::new();
    map.insert("v".into(), String::new().into());
    map.insert("t".into(), ILK.into());
    map.insert("d".into(), DUMMY.into());
    map.insert("dt".into(), datetime.into());
    map.insert("r".into(), route.into());
    map.insert("a".into(), Value::Object(data));
    let (value, raw, _) = saidify(map, false);
    Reply { raw, value }
}

/// `/end/role/add`: `cid` authorizes `eid` as its endpoint in `role`, at `datetime`.
pub fn end_role_add(cid: &str, role: &str, eid: &str, datetime: &str) -> Reply {
    let mut data = Map::new();
    data.insert("cid".into(), cid.into());
    data.insert("role".into(), role.into());
    data.insert("eid".into(), eid.into());
    build(END_ROLE_ADD, data, datetime)
}

/// `/loc/scheme`: `eid` is reached at `url` by `scheme`, at `datetime`.
pub fn loc_scheme(eid: &str, scheme: &str, url: &str, datetime: &str) -> Reply {
    let mut data = Map::new();
    data.insert("eid".into(), eid.into());
    data.insert("scheme".into(), scheme.into());
    data.insert("url".into(), url.into());
    build(LOC_SCHEME, data, datetime)
}

impl Reply {
    /// Verifies a received reply: version string, type, field order, `dt`, `r`, `a`, size
    /// and SAID.
    pub fn verify(value: &Value) -> Result<Self, ReplyError> {
        let (_, raw) = routed::verify(value, &SHAPE)?;
        Ok(Self {
            raw,
            value: value.clone(),
        })
    }

    /// Parses and verifies a reply from its JSON bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, ReplyError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|error| ReplyError::Invalid(format!("not JSON: {error}")))?;
        Self::verify(&value)
    }

    /// The compact serialization that signatures cover.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The reply as JSON.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The SAID `d`.
    pub fn said(&self) -> &str {
        self.value["d"].as_str().unwrap_or_default()
    }

    /// The route `r`.
    pub fn route(&self) -> &str {
        self.value["r"].as_str().unwrap_or_default()
    }

    /// The datetime `dt`.
    pub fn datetime(&self) -> &str {
        self.value["dt"].as_str().unwrap_or_default()
    }

    fn data(&self, field: &str) -> Option<String> {
        self.value["a"][field].as_str().map(str::to_owned)
    }

    /// The authorization, for an `/end/role/add` reply with string `cid`, `role`, `eid`.
    pub fn end_role(&self) -> Option<EndRole> {
        (self.route() == END_ROLE_ADD).then_some(())?;
        Some(EndRole {
            cid: self.data("cid")?,
            role: self.data("role")?,
            eid: self.data("eid")?,
        })
    }

    /// The location, for a `/loc/scheme` reply with string `eid`, `scheme`, `url`.
    pub fn location(&self) -> Option<Location> {
        (self.route() == LOC_SCHEME).then_some(())?;
        Some(Location {
            eid: self.data("eid")?,
            scheme: self.data("scheme")?,
            url: self.data("url")?,
        })
    }

    /// Checks indexed signatures of this reply against `keys` and `threshold`.
    pub fn verify_signatures(
        &self,
        keys: &[Verfer],
        threshold: &Threshold,
        sigs: &[Siger],
    ) -> Result<(), ReplyError> {
        check_signatures(&self.raw, keys, threshold, sigs)
            .map(|_| ())
            .map_err(ReplyError::Signatures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keri::event::Event;
    use crate::keri::stream;
    use crate::keri::vectors::{
        AGENT1, AGENT_OOBI, AID1_END_ROLE, AID1_END_ROLE_SIG, AID1_ICP, AID1_ROT,
    };
    use proptest::prelude::*;

    fn keys_of(event: &str) -> Vec<Verfer> {
        Event::parse(event.as_bytes()).unwrap().keys()
    }

    #[test]
    fn the_captured_end_role_verifies_with_the_rotated_keys() {
        let reply = Reply::parse(AID1_END_ROLE.as_bytes()).unwrap();
        assert_eq!(reply.raw(), AID1_END_ROLE.as_bytes());
        let aid1 = Event::parse(AID1_ICP.as_bytes()).unwrap();
        assert_eq!(
            reply.end_role(),
            Some(EndRole {
                cid: aid1.prefix().to_owned(),
                role: "agent".into(),
                eid: AGENT1.into()
            })
        );
        assert_eq!(reply.location(), None);
        let sig = Siger::parse(AID1_END_ROLE_SIG).unwrap();
        let one = Threshold::count(1);
        reply
            .verify_signatures(&keys_of(AID1_ROT), &one, std::slice::from_ref(&sig))
            .unwrap();
        assert_eq!(
            reply
                .verify_signatures(&keys_of(AID1_ICP), &one, &[sig])
                .unwrap_err()
                .to_string(),
            "reply: 0 of 1 signatures verify against the current keys, the signing threshold 1 is not met"
        );
        let built = end_role_add(aid1.prefix(), "agent", AGENT1, reply.datetime());
        assert_eq!(built, reply);
        assert_eq!(built.said(), "ECPiOTi2LkxXZZJDdJkXzlwuKG7fLRNCNyyXWJ1ZtlH5");
    }

    #[test]
    fn the_served_location_reply_is_rebuilt_identically() {
        let messages = stream::parse(AGENT_OOBI, 1 << 20).unwrap();
        let served = Reply::verify(&messages[5].value).unwrap();
        let location = served.location().unwrap();
        assert_eq!(location.scheme, "http");
        assert_eq!(location.url, "http://127.0.0.1:7952/");
        let built = loc_scheme(&location.eid, "http", &location.url, served.datetime());
        assert_eq!(built.raw(), messages[5].raw.as_slice());
        assert_eq!(served.route(), LOC_SCHEME);
    }

    #[test]
    fn malformed_replies_are_refused() {
        let error = |text: &str| Reply::parse(text.as_bytes()).unwrap_err().to_string();
        assert!(
            error(&AID1_END_ROLE.replacen("\"role\":\"agent\"", "\"role\":\"agenT\"", 1))
                .starts_with("reply: SAID mismatch: d is ECPiOTi2")
        );
        assert_eq!(
            error(&AID1_END_ROLE.replacen("000111_", "000112_", 1)),
            "reply: version string size 0x112 does not match serialized size 0x111"
        );
        assert_eq!(
            error(&AID1_END_ROLE.replacen("\"r\":", "\"x\":", 1)),
            "reply: field order must be v, t, d, dt, r, a; got v, t, d, dt, x, a"
        );
        assert!(
            error(&AID1_END_ROLE.replacen("\"t\":\"rpy\"", "\"t\":\"rpx\"", 1))
                .starts_with("reply: type t must be rpy")
        );
        assert!(error(&AID1_END_ROLE.replacen("12.366000", "12.366", 1))
            .starts_with("reply: dt must be an ISO-8601 datetime"));
        assert_eq!(error("[]"), "reply: must be a JSON object");
        assert!(error("{").starts_with("reply: not JSON"));
    }

    proptest! {
        #[test]
        fn mutated_replies_never_panic(at in 0..AID1_END_ROLE.len(), byte in any::<u8>()) {
            let mut bytes = AID1_END_ROLE.as_bytes().to_vec();
            bytes[at] = byte;
            if let Ok(reply) = Reply::parse(&bytes) {
                prop_assert_eq!(reply.raw(), AID1_END_ROLE.as_bytes());
            }
        }
    }
}
