//! Key-manager parameters: what a Signify client keeps with the agent so that it can derive
//! or decrypt an identifier's keys again (salty: an encrypted salt and derivation codes;
//! randy: encrypted keys; extern: the client's own). Each is bounded, has only the fields its
//! kind knows, and fits the event it travels with: as many codes or encrypted keys as the
//! event has current keys (`k`) and next key digests (`n`). A passcode rotation re-encrypts
//! them; `recrypted` checks what it sends for one identifier.

use serde_json::{Map, Value};

use super::Failure;

fn invalid(reason: impl Into<String>) -> Failure {
    Failure::Invalid(reason.into())
}

/// Longest key-manager text (`sxlt`, `stem`, `dcode`, each code and each encrypted key), in bytes.
const MAX_PARAM_LENGTH: usize = 256;
/// Most entries in a key-manager list (`icodes`, `ncodes`, `prxs`, `nxts`).
const MAX_PARAM_ENTRIES: usize = 64;
/// Largest `extern` parameter object, in bytes of compact JSON.
const MAX_EXTERN: usize = 1024;

/// The fields each kind may carry, in the order KERIA reports them.
const SALTY_FIELDS: [&str; 9] = [
    "sxlt",
    "pidx",
    "kidx",
    "stem",
    "tier",
    "dcode",
    "icodes",
    "ncodes",
    "transferable",
];
const RANDY_FIELDS: [&str; 3] = ["prxs", "nxts", "transferable"];

/// How many keys the event the parameters travel with has: current keys and next digests.
#[derive(Debug, Clone, Copy)]
pub struct KeyCounts {
    pub keys: usize,
    pub next: usize,
}

/// Checks a kind's parameters (each within its bound, no unknown field, code and key counts
/// matching `counts`) and orders them as KERIA reports them.
pub fn normalise(kind: &str, params: &Value, counts: Option<KeyCounts>) -> Result<Value, Failure> {
    let Value::Object(fields) = params else {
        return Err(invalid(format!("{kind} must be an object")));
    };
    let known: &[&str] = match kind {
        "salty" => &SALTY_FIELDS,
        "randy" => &RANDY_FIELDS,
        _ => &[],
    };
    if !known.is_empty() {
        if let Some(unknown) = fields.keys().find(|name| !known.contains(&name.as_str())) {
            return Err(invalid(format!("{kind}.{unknown} is not a {kind} field")));
        }
    }
    let string = |name: &str| text(kind, fields, name);
    let strings = |name: &str, count: Option<(usize, &str)>| list(kind, fields, name, count);
    let number = |name: &str| -> Result<Value, Failure> {
        match fields.get(name) {
            Some(value) if value.is_u64() => Ok(value.clone()),
            _ => Err(invalid(format!(
                "{kind}.{name} must be a non-negative integer"
            ))),
        }
    };
    let transferable = match fields.get("transferable") {
        None => Value::Bool(true),
        Some(Value::Bool(flag)) => Value::Bool(*flag),
        Some(_) => {
            return Err(invalid(format!(
                "{kind}.transferable must be true or false"
            )))
        }
    };
    let keys = counts.map(|counts| (counts.keys, "k"));
    let next = counts.map(|counts| (counts.next, "n"));
    let mut out = Map::new();
    match kind {
        "salty" => {
            out.insert("sxlt".into(), string("sxlt")?);
            out.insert("pidx".into(), number("pidx")?);
            out.insert("kidx".into(), number("kidx")?);
            out.insert("stem".into(), string("stem")?);
            let tier = string("tier")?;
            if !matches!(tier.as_str(), Some("low" | "med" | "high")) {
                return Err(invalid("salty.tier must be \"low\", \"med\" or \"high\""));
            }
            out.insert("tier".into(), tier);
            out.insert("dcode".into(), string("dcode")?);
            out.insert("icodes".into(), strings("icodes", keys)?);
            out.insert("ncodes".into(), strings("ncodes", next)?);
            out.insert("transferable".into(), transferable);
        }
        "randy" => {
            out.insert("prxs".into(), strings("prxs", keys)?);
            out.insert("nxts".into(), strings("nxts", next)?);
        }
        _ => {
            // signify-ts 0.4.0 sends what the external module's `params()` gives, which need
            // not name the module; 0.3.0 sent `extern_type`. Either is kept as sent.
            if fields.contains_key("extern_type") {
                string("extern_type")?;
            }
            let size = params.to_string().len();
            if size > MAX_EXTERN {
                return Err(invalid(format!(
                    "extern is {size} bytes; at most {MAX_EXTERN} are accepted"
                )));
            }
            out.clone_from(fields);
        }
    }
    Ok(Value::Object(out))
}

/// Checks what a passcode rotation sends for one identifier of `kind` (`keys[prefix]`):
/// `{sxlt}` for a salty one, `{prxs, nxts}` for a randy one, matching its current key state;
/// returns its parameters with the re-encrypted values in place.
pub fn recrypted(
    prefix: &str,
    kind: &str,
    params: &Value,
    entry: &Value,
    counts: KeyCounts,
) -> Result<Value, Failure> {
    let field = format!("keys.{prefix}");
    let Value::Object(fields) = entry else {
        return Err(invalid(format!("{field} must be an object")));
    };
    let known: &[&str] = match kind {
        "salty" => &["sxlt"],
        "randy" => &["prxs", "nxts"],
        _ => {
            return Err(invalid(format!(
            "{field}: {prefix} is an {kind} identifier; its keys are not the agent's to re-encrypt"
        )))
        }
    };
    if let Some(unknown) = fields.keys().find(|name| !known.contains(&name.as_str())) {
        return Err(invalid(format!(
            "{field}.{unknown} is not a field of a {kind} identifier's re-encrypted parameters"
        )));
    }
    let mut updated = params.as_object().cloned().unwrap_or_default();
    if kind == "salty" {
        updated.insert("sxlt".into(), text(&field, fields, "sxlt")?);
    } else {
        updated.insert(
            "prxs".into(),
            list(&field, fields, "prxs", Some((counts.keys, "k")))?,
        );
        updated.insert(
            "nxts".into(),
            list(&field, fields, "nxts", Some((counts.next, "n")))?,
        );
    }
    Ok(Value::Object(updated))
}

/// The bounded text `owner.name`.
fn text(owner: &str, fields: &Map<String, Value>, name: &str) -> Result<Value, Failure> {
    match fields.get(name) {
        Some(Value::String(text)) if text.len() > MAX_PARAM_LENGTH => Err(invalid(format!(
            "{owner}.{name} is longer than {MAX_PARAM_LENGTH} bytes"
        ))),
        Some(Value::String(text)) => Ok(Value::String(text.clone())),
        _ => Err(invalid(format!("{owner}.{name} must be a string"))),
    }
}

/// The bounded list of texts `owner.name`, with `count` entries (as many as the event's
/// `k` or `n`) when given.
fn list(
    owner: &str,
    fields: &Map<String, Value>,
    name: &str,
    count: Option<(usize, &str)>,
) -> Result<Value, Failure> {
    let Some(Value::Array(items)) = fields.get(name) else {
        return Err(invalid(format!("{owner}.{name} must be a list of strings")));
    };
    if items.len() > MAX_PARAM_ENTRIES {
        return Err(invalid(format!(
            "{owner}.{name} has {} entries; at most {MAX_PARAM_ENTRIES} are accepted",
            items.len()
        )));
    }
    if !items.iter().all(Value::is_string) {
        return Err(invalid(format!("{owner}.{name} must be a list of strings")));
    }
    if items.iter().any(|item| {
        item.as_str()
            .is_some_and(|text| text.len() > MAX_PARAM_LENGTH)
    }) {
        return Err(invalid(format!(
            "{owner}.{name} is longer than {MAX_PARAM_LENGTH} bytes"
        )));
    }
    if let Some((expected, label)) = count {
        if items.len() != expected {
            return Err(invalid(format!(
                "{owner}.{name} has {} entries but the event's {label} has {expected}",
                items.len()
            )));
        }
    }
    Ok(Value::Array(items.clone()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{normalise, recrypted, KeyCounts};
    use crate::agency::Failure;

    const ONE: Option<KeyCounts> = Some(KeyCounts { keys: 1, next: 1 });

    fn refusal(kind: &str, params: &serde_json::Value) -> String {
        match normalise(kind, params, ONE) {
            Err(Failure::Invalid(reason)) => reason,
            other => panic!("{params} was not refused: {other:?}"),
        }
    }

    fn salty(field: &str, value: serde_json::Value) -> serde_json::Value {
        let mut params = json!({"sxlt": "x", "pidx": 0, "kidx": 0, "stem": "signify:aid",
            "tier": "low", "dcode": "E", "icodes": ["A"], "ncodes": ["A"]});
        params[field] = value;
        params
    }

    #[test]
    fn key_manager_parameters_are_bounded_and_the_refusal_names_the_field() {
        assert!(normalise("salty", &salty("sxlt", json!("x")), ONE).is_ok());
        let long = "x".repeat(257);
        for field in ["sxlt", "stem", "dcode"] {
            let reason = refusal("salty", &salty(field, json!(long)));
            assert_eq!(reason, format!("salty.{field} is longer than 256 bytes"));
        }
        let reason = refusal("salty", &salty("icodes", json!([long])));
        assert_eq!(reason, "salty.icodes is longer than 256 bytes");
        let reason = refusal("salty", &salty("ncodes", json!(vec!["A"; 65])));
        assert_eq!(
            reason,
            "salty.ncodes has 65 entries; at most 64 are accepted"
        );
        let reason = refusal("randy", &json!({"prxs": vec!["x"; 65], "nxts": []}));
        assert_eq!(reason, "randy.prxs has 65 entries; at most 64 are accepted");
        let reason = refusal(
            "extern",
            &json!({"extern_type": "x", "pad": long.repeat(4)}),
        );
        assert!(reason.starts_with("extern is 1"), "{reason}");
    }

    #[test]
    fn parameters_fit_the_event_and_carry_no_unknown_field() {
        assert_eq!(
            refusal("salty", &salty("evil", json!(1))),
            "salty.evil is not a salty field"
        );
        assert_eq!(
            refusal("salty", &salty("icodes", json!(["A", "A"]))),
            "salty.icodes has 2 entries but the event's k has 1"
        );
        assert_eq!(
            refusal("salty", &salty("ncodes", json!([]))),
            "salty.ncodes has 0 entries but the event's n has 1"
        );
        assert_eq!(
            refusal("randy", &json!({"prxs": ["a"], "nxts": ["b", "c"]})),
            "randy.nxts has 2 entries but the event's n has 1"
        );
        assert_eq!(
            refusal("randy", &json!({"prxs": ["a"], "nxts": ["b"], "evil": 1})),
            "randy.evil is not a randy field"
        );
        let counts = KeyCounts { keys: 1, next: 1 };
        let stored = json!({"prxs": ["a"], "nxts": ["b"]});
        let updated = recrypted(
            "Epre",
            "randy",
            &stored,
            &json!({"prxs": ["c"], "nxts": ["d"]}),
            counts,
        );
        assert_eq!(updated.ok(), Some(json!({"prxs": ["c"], "nxts": ["d"]})));
        let wrong = recrypted("Epre", "salty", &stored, &json!({"prxs": ["c"]}), counts);
        assert!(
            matches!(&wrong, Err(Failure::Invalid(reason)) if reason == "keys.Epre.prxs is not a field of a salty identifier's re-encrypted parameters"),
            "{wrong:?}"
        );
    }

    #[test]
    fn extern_parameters_are_kept_as_sent_with_or_without_their_type() {
        let sent = json!({"pidx": 0, "kidx": 0, "mnemonics": "abandon ability able"});
        assert_eq!(normalise("extern", &sent, ONE).unwrap(), sent);
        let typed = json!({"extern_type": "bip39_shim", "pidx": 0});
        assert_eq!(normalise("extern", &typed, ONE).unwrap(), typed);
        let reason = refusal("extern", &json!({"extern_type": 7}));
        assert!(reason.contains("extern.extern_type"), "{reason}");
    }
}
