//! Key state records: the current state of an identifier, derived from its key event log.
//!
//! `KeyStateRecord::new` writes a `KeyState` as the record Signify reads (`GET /agent`,
//! `GET /identifiers/{name}`, `GET /states`); `from_kel` replays a stored KEL into one, and
//! `Kel::record` gives the record of a validated log; `to_value` gives its JSON with the keys
//! in their fixed order.

use serde_json::{Map, Value};

use super::error::KelError;
use super::event::Event;
use super::ilk::Ilk;
use super::kel::{EstablishmentState, FirstSeen, Kel, KeyState};
use super::primitives::{Diger, Verfer};
use super::threshold::Threshold;

/// The key state of one identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStateRecord {
    /// Identifier prefix `i`.
    pub prefix: String,
    /// Sequence number `s` of the latest event.
    pub sn: u64,
    /// SAID `p` of the event before the latest, empty at inception.
    pub prior: String,
    /// SAID `d` of the latest event.
    pub said: String,
    /// First-seen ordinal `f` of the latest event.
    pub first_seen: u64,
    /// Time `dt` of the record (ISO-8601).
    pub datetime: String,
    /// Type `et` of the latest event.
    pub latest_ilk: Ilk,
    /// Current signing threshold `kt`.
    pub signing_threshold: Threshold,
    /// Current signing keys `k`.
    pub keys: Vec<Verfer>,
    /// Next threshold `nt`.
    pub next_threshold: Threshold,
    /// Next key digests `n`.
    pub next_digests: Vec<Diger>,
    /// Backer threshold `bt`.
    pub backer_threshold: u64,
    /// Backers `b`.
    pub backers: Vec<String>,
    /// Configuration traits `c`.
    pub traits: Vec<String>,
    /// Latest establishment event `ee`.
    pub establishment: EstablishmentState,
    /// Delegator `di`, empty when not delegated.
    pub delegator: String,
}

impl KeyStateRecord {
    /// The record of `state`, whose latest event was first seen as `first_seen`; the record's
    /// `dt` is that first-seen time.
    pub fn new(state: &KeyState, first_seen: &FirstSeen) -> Self {
        Self {
            prefix: state.prefix.clone(),
            sn: state.sn,
            prior: state.prior.clone(),
            said: state.said.clone(),
            first_seen: first_seen.ordinal,
            datetime: first_seen.datetime.clone(),
            latest_ilk: state.latest_ilk,
            signing_threshold: state.signing_threshold.clone(),
            keys: state.keys.clone(),
            next_threshold: state.next_threshold.clone(),
            next_digests: state.next_digests.clone(),
            backer_threshold: state.backer_threshold,
            backers: state.backers.clone(),
            traits: state.traits.clone(),
            establishment: state.establishment.clone(),
            delegator: state.delegator.clone().unwrap_or_default(),
        }
    }

    /// The state after `events`, a stored KEL in order from its inception; `datetime` is the
    /// record's time. Each event must follow the previous one (same prefix, next sequence
    /// number, chained by `p`); signatures are not checked again.
    pub fn from_kel(events: &[Event], datetime: &str) -> Result<Self, KelError> {
        let state = KeyState::replay(events)?;
        let first_seen = FirstSeen {
            ordinal: events.len() as u64 - 1,
            datetime: datetime.to_owned(),
        };
        Ok(Self::new(&state, &first_seen))
    }

    /// The record as JSON, keys in the order `vn, i, s, p, d, f, dt, et, kt, k, nt, n, bt, b,
    /// c, ee, di`.
    pub fn to_value(&self) -> Value {
        let strings =
            |items: &[String]| Value::Array(items.iter().cloned().map(Value::String).collect());
        let mut establishment = Map::new();
        establishment.insert("s".into(), format!("{:x}", self.establishment.sn).into());
        establishment.insert("d".into(), self.establishment.said.clone().into());
        establishment.insert("br".into(), strings(&self.establishment.removed_backers));
        establishment.insert("ba".into(), strings(&self.establishment.added_backers));
        let mut map = Map::new();
        map.insert("vn".into(), Value::Array(vec![1.into(), 0.into()]));
        map.insert("i".into(), self.prefix.clone().into());
        map.insert("s".into(), format!("{:x}", self.sn).into());
        map.insert("p".into(), self.prior.clone().into());
        map.insert("d".into(), self.said.clone().into());
        map.insert("f".into(), format!("{:x}", self.first_seen).into());
        map.insert("dt".into(), self.datetime.clone().into());
        map.insert("et".into(), self.latest_ilk.as_str().into());
        map.insert("kt".into(), self.signing_threshold.to_value());
        map.insert(
            "k".into(),
            Value::Array(self.keys.iter().map(|key| key.qb64().into()).collect()),
        );
        map.insert("nt".into(), self.next_threshold.to_value());
        map.insert(
            "n".into(),
            Value::Array(
                self.next_digests
                    .iter()
                    .map(|digest| digest.qb64().into())
                    .collect(),
            ),
        );
        map.insert("bt".into(), format!("{:x}", self.backer_threshold).into());
        map.insert("b".into(), strings(&self.backers));
        map.insert("c".into(), strings(&self.traits));
        map.insert("ee".into(), Value::Object(establishment));
        map.insert("di".into(), self.delegator.clone().into());
        Value::Object(map)
    }
}

impl Kel {
    /// The key state record of the latest event, dated when that event was first seen.
    pub fn record(&self) -> KeyStateRecord {
        let entries = self.entries();
        let last = &entries[entries.len() - 1];
        KeyStateRecord::new(self.state(), &last.first_seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keri::json::python_json;
    use crate::keri::vectors::{AID1_ICP, AID1_IXN, AID1_ROT, AID1_STATE_AFTER_ROT};

    const ICP: &str = r#"{"v":"KERI10JSON00012b_","t":"icp","d":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","i":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","s":"0","kt":"1","k":["DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc"],"nt":"1","n":["EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL"],"bt":"0","b":[],"c":[],"a":[]}"#;
    const DIP: &str = r#"{"v":"KERI10JSON00015f_","t":"dip","d":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","i":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","s":"0","kt":"1","k":["DHm1Vi6P5lT5QHixEuipi6eQH4U65pW-1-DjkQutBJZk"],"nt":"1","n":["EKhiv10xES0bSVWgHNl2AMk5iynd4C2C8L-bpXndrksw"],"bt":"0","b":[],"c":[],"a":[],"di":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose"}"#;
    const IXN: &str = r#"{"v":"KERI10JSON00013a_","t":"ixn","d":"EEvm6LZjrpjep3wer1oRL-qOxwNkN1bghuexiksUt4L1","i":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","s":"1","p":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","a":[{"i":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","s":"0","d":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX"}]}"#;
    const DATETIME: &str = "2024-01-02T03:04:05.678901+00:00";
    /// When `AID1_ROT` was first seen.
    const ROT_SEEN: &str = "2026-11-24T21:59:12.020623+00:00";

    /// The `GET /agent/{caid}` answer of section 7.4, compacted.
    const AGENT_ANSWER: &str = r#"{"agent":{"vn":[1,0],"i":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","s":"0","p":"","d":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","f":"0","dt":"2024-01-02T03:04:05.678901+00:00","et":"dip","kt":"1","k":["DHm1Vi6P5lT5QHixEuipi6eQH4U65pW-1-DjkQutBJZk"],"nt":"1","n":["EKhiv10xES0bSVWgHNl2AMk5iynd4C2C8L-bpXndrksw"],"bt":"0","b":[],"c":[],"ee":{"s":"0","d":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","br":[],"ba":[]},"di":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose"},"controller":{"state":{"vn":[1,0],"i":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","s":"0","p":"","d":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","f":"0","dt":"2024-01-02T03:04:05.678901+00:00","et":"icp","kt":"1","k":["DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc"],"nt":"1","n":["EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL"],"bt":"0","b":[],"c":[],"ee":{"s":"0","d":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","br":[],"ba":[]},"di":""},"ee":{"v":"KERI10JSON00012b_","t":"icp","d":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","i":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","s":"0","kt":"1","k":["DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc"],"nt":"1","n":["EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL"],"bt":"0","b":[],"c":[],"a":[]}},"pidx":0}"#;

    fn event(text: &str) -> Event {
        Event::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn agent_answer_matches_the_vector() {
        let agent = KeyStateRecord::from_kel(&[event(DIP)], DATETIME).unwrap();
        let controller_icp = event(ICP);
        let controller =
            KeyStateRecord::from_kel(std::slice::from_ref(&controller_icp), DATETIME).unwrap();
        let answer = serde_json::json!({
            "agent": agent.to_value(),
            "controller": {"state": controller.to_value(), "ee": controller_icp.value()},
            "pidx": 0,
        });
        assert_eq!(answer.to_string(), AGENT_ANSWER);
        let pretty: Value = serde_json::from_str(AGENT_ANSWER).unwrap();
        assert_eq!(pretty.to_string(), AGENT_ANSWER);
    }

    #[test]
    fn boot_answer_uses_python_separators() {
        let agent = KeyStateRecord::from_kel(&[event(DIP)], DATETIME).unwrap();
        assert_eq!(
            python_json(&agent.to_value()),
            concat!(
                r#"{"vn": [1, 0], "i": "EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX", "s": "0", "p": "", "#,
                r#""d": "EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX", "f": "0", "#,
                r#""dt": "2024-01-02T03:04:05.678901+00:00", "et": "dip", "kt": "1", "#,
                r#""k": ["DHm1Vi6P5lT5QHixEuipi6eQH4U65pW-1-DjkQutBJZk"], "nt": "1", "#,
                r#""n": ["EKhiv10xES0bSVWgHNl2AMk5iynd4C2C8L-bpXndrksw"], "bt": "0", "b": [], "c": [], "#,
                r#""ee": {"s": "0", "d": "EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX", "br": [], "ba": []}, "#,
                r#""di": "ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose"}"#
            )
        );
    }

    #[test]
    fn state_after_approval_keeps_the_inception_as_establishment() {
        let state = KeyStateRecord::from_kel(&[event(ICP), event(IXN)], DATETIME).unwrap();
        let value = state.to_value();
        assert_eq!(value["s"], "1");
        assert_eq!(value["p"], "ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose");
        assert_eq!(value["d"], "EEvm6LZjrpjep3wer1oRL-qOxwNkN1bghuexiksUt4L1");
        assert_eq!(value["f"], "1");
        assert_eq!(value["et"], "ixn");
        assert_eq!(value["ee"]["s"], "0");
        assert_eq!(
            value["ee"]["d"],
            "ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose"
        );
        assert_eq!(
            value["k"][0],
            "DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc"
        );
        assert_eq!(value["di"], "");
    }

    #[test]
    fn malformed_logs_are_refused() {
        assert_eq!(
            KeyStateRecord::from_kel(&[], DATETIME)
                .unwrap_err()
                .to_string(),
            "key event log is empty"
        );
        assert!(KeyStateRecord::from_kel(&[event(IXN)], DATETIME).is_err());
        assert!(KeyStateRecord::from_kel(&[event(DIP), event(IXN)], DATETIME).is_err());
        assert!(KeyStateRecord::from_kel(&[event(ICP), event(ICP)], DATETIME).is_err());
    }

    #[test]
    fn stored_logs_replay_into_their_record() {
        let events = [event(AID1_ICP), event(AID1_IXN), event(AID1_ROT)];
        let record = KeyStateRecord::from_kel(&events, ROT_SEEN).unwrap();
        assert_eq!(record.to_value().to_string(), AID1_STATE_AFTER_ROT);
        assert!(KeyStateRecord::from_kel(&events[1..], ROT_SEEN).is_err());
    }
}
