//! Key state records: the current state of an identifier, derived from its key event log.
//!
//! `KeyStateRecord::new` writes a `KeyState` as the record Signify reads (`GET /agent`,
//! `GET /identifiers/{name}`, `GET /states`); `from_kel` replays a stored KEL into one; `to_value` gives its JSON with the keys in their fixed order. `python_json` writes
//! any JSON the way Python's `json.dumps` does by default, and `format_datetime` writes
//! timestamps the way Python's `isoformat` does with microseconds.

use serde_json::{Map, Value};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use super::cesr::{Diger, Verfer};
use super::event::Event;
use super::ilk::Ilk;
use super::kel::{FirstSeen, KelError, KeyState};
use super::threshold::Threshold;

/// The latest establishment event of a key state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstablishmentState {
    /// Its sequence number.
    pub sn: u64,
    /// Its SAID.
    pub said: String,
    /// Backers it removed (`br`).
    pub removed_backers: Vec<String>,
    /// Backers it added (`ba`).
    pub added_backers: Vec<String>,
}

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

/// `value` serialized as Python's `json.dumps` does by default: `", "` and `": "`
/// separators, non-ASCII characters escaped as `\uXXXX`.
pub fn python_json(value: &Value) -> String {
    let mut out = String::new();
    write_python(value, &mut out);
    out
}

fn write_python(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => {
            if number.is_f64() {
                out.push_str(&python_float(number.as_f64().unwrap_or_default()));
            } else {
                out.push_str(&number.to_string());
            }
        }
        Value::String(text) => write_python_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push_str(", ");
                }
                write_python(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (position, (key, item)) in map.iter().enumerate() {
                if position > 0 {
                    out.push_str(", ");
                }
                write_python_string(key, out);
                out.push_str(": ");
                write_python(item, out);
            }
            out.push('}');
        }
    }
}

/// A string as Python's `json.dumps` writes it with `ensure_ascii`: everything outside
/// printable ASCII escaped, characters beyond the BMP as surrogate pairs.
fn write_python_string(text: &str, out: &mut String) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(character),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut units = [0u16; 2];
                for unit in character.encode_utf16(&mut units) {
                    out.push_str("\\u");
                    for shift in [12, 8, 4, 0] {
                        out.push(char::from(HEX[usize::from((*unit >> shift) & 0xf)]));
                    }
                }
            }
        }
    }
    out.push('"');
}

/// A float as Python's `repr` writes it: shortest round-trip digits, exponent form below
/// 1e-4 and from 1e16 on.
fn python_float(value: f64) -> String {
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or_default();
    if (-4..16).contains(&exponent) {
        let fixed = value.to_string();
        if fixed.contains('.') {
            fixed
        } else {
            format!("{fixed}.0")
        }
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    }
}

/// `datetime` in UTC as Python's `isoformat` with microseconds: `2024-01-02T03:04:05.678901+00:00`.
pub fn format_datetime(datetime: OffsetDateTime) -> String {
    const ISO_MICROS: &[BorrowedFormatItem<'_>] = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
    );
    datetime
        .to_offset(UtcOffset::UTC)
        .format(ISO_MICROS)
        .expect("every component of the format is in an OffsetDateTime")
}

/// The current time, formatted by `format_datetime`.
pub fn now_iso8601() -> String {
    format_datetime(OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const ICP: &str = r#"{"v":"KERI10JSON00012b_","t":"icp","d":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","i":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","s":"0","kt":"1","k":["DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc"],"nt":"1","n":["EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL"],"bt":"0","b":[],"c":[],"a":[]}"#;
    const DIP: &str = r#"{"v":"KERI10JSON00015f_","t":"dip","d":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","i":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","s":"0","kt":"1","k":["DHm1Vi6P5lT5QHixEuipi6eQH4U65pW-1-DjkQutBJZk"],"nt":"1","n":["EKhiv10xES0bSVWgHNl2AMk5iynd4C2C8L-bpXndrksw"],"bt":"0","b":[],"c":[],"a":[],"di":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose"}"#;
    const IXN: &str = r#"{"v":"KERI10JSON00013a_","t":"ixn","d":"EEvm6LZjrpjep3wer1oRL-qOxwNkN1bghuexiksUt4L1","i":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","s":"1","p":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","a":[{"i":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","s":"0","d":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX"}]}"#;
    const DATETIME: &str = "2024-01-02T03:04:05.678901+00:00";

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
    fn python_json_escapes_like_python() {
        let value = serde_json::json!({"a": "é\u{7f}\u{1}\"\\\n😀", "b": [1, -2, 1.5, 1e16, 0.00001, 2.0, null, true]});
        assert_eq!(
            python_json(&value),
            r#"{"a": "\u00e9\u007f\u0001\"\\\n\ud83d\ude00", "b": [1, -2, 1.5, 1e+16, 1e-05, 2.0, null, true]}"#
        );
        assert_eq!(python_json(&serde_json::json!({})), "{}");
    }

    proptest! {
        #[test]
        fn python_json_round_trips_through_a_json_parser(
            text in ".{0,30}",
            number in any::<i64>(),
            float in any::<f64>().prop_filter("finite", |float| float.is_finite()),
        ) {
            let value = serde_json::json!({text.clone(): [text, number]});
            let written = python_json(&value);
            prop_assert!(written.is_ascii());
            let read: Value = serde_json::from_str(&written).unwrap();
            prop_assert_eq!(read.to_string(), value.to_string());
            let float_text = python_float(float);
            prop_assert_eq!(float_text.parse::<f64>().unwrap().to_bits(), float.to_bits());
            prop_assert!(float_text.contains(['.', 'e']));
        }
    }

    #[test]
    fn datetimes_have_microseconds_and_utc_offset() {
        assert_eq!(
            format_datetime(datetime!(2024-01-02 03:04:05.678901 UTC)),
            DATETIME
        );
        assert_eq!(
            format_datetime(datetime!(2024-01-02 05:04:05 +02:00)),
            "2024-01-02T03:04:05.000000+00:00"
        );
        assert_eq!(now_iso8601().len(), DATETIME.len());
    }
}
