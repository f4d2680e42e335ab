//! A controller's managed identifiers: inception, key events, names, key-manager parameters.
//!
//! The agent never holds an identifier's private keys: the Signify client signs every event,
//! and the agent checks the signatures against the event's keys (and, for a rotation, the
//! prior next-key commitment) before anything is staged. A refused event leaves the KEL as it
//! was. Each identifier's record keeps its name, its key-manager parameters (salty, randy or
//! extern, as the client sent them) and its current key state record, so reads need no replay.

use anyhow::Context;
use serde_json::{json, Map, Value};

use super::signatures;
use crate::agency::kels;
use crate::agency::Failure;
use crate::keri::event::Event;
use crate::keri::ilk::Ilk;
use crate::keri::kel::{Appended, Kel, SignedEvent};
use crate::keri::primitives::Siger;
use crate::store::{OwnerReader, OwnerWriter, StoredEvent, IDENTIFIERS, PREFIXES};

fn invalid(reason: impl Into<String>) -> Failure {
    Failure::Invalid(reason.into())
}

/// The key-manager kinds Signify uses, in the order KERIA reports them.
const KINDS: [&str; 3] = ["salty", "randy", "extern"];

/// One identifier as stored.
#[derive(Debug, Clone)]
pub struct Identifier {
    pub name: String,
    pub prefix: String,
    kind: String,
    params: Value,
    icp_dt: String,
    transferable: bool,
    state: Value,
}

impl Identifier {
    /// The witnesses (`b`) and their threshold (`bt`) of the current key state.
    pub fn witnesses(&self) -> (Vec<String>, usize) {
        let wits = self.state["b"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|wit| wit.as_str().map(ToOwned::to_owned))
            .collect();
        let toad = self.state["bt"]
            .as_str()
            .and_then(|bt| usize::from_str_radix(bt, 16).ok())
            .unwrap_or(0);
        (wits, toad)
    }

    /// The identifier's prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn from_record(name: &str, record: &str) -> anyhow::Result<Self> {
        let value: Value = serde_json::from_str(record).context("identifier record")?;
        let text = |field: &str| value[field].as_str().unwrap_or_default().to_owned();
        Ok(Self {
            name: name.to_owned(),
            prefix: text("prefix"),
            kind: text("kind"),
            params: value["params"].clone(),
            icp_dt: text("icp_dt"),
            transferable: value["transferable"].as_bool().unwrap_or(true),
            state: value["state"].clone(),
        })
    }

    fn to_record(&self) -> String {
        json!({
            "prefix": self.prefix,
            "kind": self.kind,
            "params": self.params,
            "icp_dt": self.icp_dt,
            "transferable": self.transferable,
            "state": self.state,
        })
        .to_string()
    }

    /// The list entry: `{name, prefix, salty|randy|extern, icp_dt}`.
    pub fn summary(&self) -> Value {
        let mut value = Map::new();
        value.insert("name".into(), self.name.clone().into());
        value.insert("prefix".into(), self.prefix.clone().into());
        value.insert(self.kind.clone(), self.params.clone());
        value.insert("icp_dt".into(), self.icp_dt.clone().into());
        Value::Object(value)
    }

    /// The full answer: the summary with `transferable`, `state` and `windexes`.
    pub fn detail(&self) -> Value {
        let Value::Object(mut value) = self.summary() else {
            unreachable!("summary is an object")
        };
        value.insert("transferable".into(), self.transferable.into());
        value.insert("state".into(), self.state.clone());
        value.insert("windexes".into(), json!([]));
        Value::Object(value)
    }

    /// The current key state record.
    pub fn state(&self) -> &Value {
        &self.state
    }
}

/// The identifier named `name`, or whose prefix is `name`.
pub fn find(rows: &OwnerReader<'_>, name: &str) -> Result<Identifier, Failure> {
    if let Some(record) = rows.record(IDENTIFIERS, name)? {
        return Ok(Identifier::from_record(name, &record)?);
    }
    if let Some(named) = rows.record(PREFIXES, name)? {
        if let Some(record) = rows.record(IDENTIFIERS, &named)? {
            return Ok(Identifier::from_record(&named, &record)?);
        }
    }
    Err(Failure::NotFound(format!("no identifier named {name}")))
}

/// Every identifier, by name.
pub fn list(rows: &OwnerReader<'_>) -> anyhow::Result<Vec<Identifier>> {
    rows.records(IDENTIFIERS, "")?
        .iter()
        .map(|(name, record)| Identifier::from_record(name, record))
        .collect()
}

/// How many identifiers the controller has (Signify derives its next salty path from it).
pub fn count(rows: &OwnerReader<'_>) -> anyhow::Result<usize> {
    rows.count(PREFIXES)
}

/// Checks and stages a new identifier from `POST /identifiers`; its inception event.
pub fn create(rows: &mut OwnerWriter<'_>, body: &Value, seen: &str) -> Result<Event, Failure> {
    let name = body["name"]
        .as_str()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| invalid("name must be a non-empty string"))?;
    if body.get("group").is_some() {
        return Err(invalid("group (multisig) identifiers are not supported"));
    }
    let icp = event(body, "icp")?;
    if icp.ilk() != Ilk::Icp {
        return Err(invalid(format!(
            "icp must be an inception event (t \"icp\"), not {:?}",
            icp.ilk().as_str()
        )));
    }
    let sigs = sigs(body)?;
    let (kind, params) = params(body)?;
    let transferable = icp
        .keys()
        .iter()
        .all(crate::keri::primitives::Verfer::is_transferable);
    if params.get("transferable").and_then(Value::as_bool) == Some(!transferable) {
        return Err(invalid(format!(
            "{kind}.transferable is {} but the inception's keys are {}",
            !transferable,
            if transferable {
                "transferable"
            } else {
                "non-transferable"
            }
        )));
    }
    let kel = Kel::incept(
        SignedEvent {
            event: icp.clone(),
            sigs: sigs.clone(),
            delegation: None,
        },
        seen,
    )
    .map_err(|err| invalid(format!("invalid inception: {err}")))?;
    if rows.record(IDENTIFIERS, name)?.is_some() {
        return Err(invalid(format!("AID with name {name} already incepted")));
    }
    if let Some(other) = rows.record(PREFIXES, icp.prefix())? {
        return Err(invalid(format!(
            "identifier {} already exists, named {other}",
            icp.prefix()
        )));
    }
    let identifier = Identifier {
        name: name.to_owned(),
        prefix: icp.prefix().to_owned(),
        kind: kind.to_owned(),
        params,
        icp_dt: seen.to_owned(),
        transferable,
        state: kel.record().to_value(),
    };
    stage_event(rows, &icp, &sigs, seen)?;
    rows.put_record(IDENTIFIERS, name, &identifier.to_record())?;
    rows.put_record(PREFIXES, &identifier.prefix, name)?;
    rows.claim(&identifier.prefix)?;
    Ok(icp)
}

/// The next event of an identifier, checked against its KEL, not yet staged.
pub struct NextEvent {
    identifier: Identifier,
    event: Event,
    sigs: Vec<Siger>,
    appended: Appended,
}

impl NextEvent {
    /// The event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The identifier's prefix.
    pub fn prefix(&self) -> &str {
        &self.identifier.prefix
    }

    /// Whether the event is new, or the accepted event again.
    pub fn appended(&self) -> Appended {
        self.appended
    }

    /// The signatures it came with.
    pub fn sigs(&self) -> &[Siger] {
        &self.sigs
    }

    /// The identifier's witnesses and their threshold once the event is accepted.
    pub fn witnesses(&self) -> (Vec<String>, usize) {
        self.identifier.witnesses()
    }
}

/// Checks and stages the next event (`ixn` or `rot`) of identifier `name`; the event, and
/// whether it was new (a duplicate of the accepted event changes nothing).
pub fn append(
    rows: &mut OwnerWriter<'_>,
    name: &str,
    body: &Value,
    seen: &str,
) -> Result<(Event, Appended), Failure> {
    let next = check_next(rows, name, body, seen)?;
    stage_next(rows, next, seen)
}

/// Checks the next event (`ixn` or `rot`) of identifier `name` in `body`, with its `sigs` and
/// any new key-manager parameters, against the KEL; stages nothing.
pub fn check_next(
    rows: &OwnerWriter<'_>,
    name: &str,
    body: &Value,
    seen: &str,
) -> Result<NextEvent, Failure> {
    let Some(record) = rows.record(IDENTIFIERS, name)? else {
        return Err(Failure::NotFound(format!("no identifier named {name}")));
    };
    let mut identifier = Identifier::from_record(name, &record)?;
    let label = ["ixn", "rot"]
        .into_iter()
        .find(|label| body.get(label).is_some())
        .ok_or_else(|| invalid("the body must carry an ixn or a rot event"))?;
    let event = event(body, label)?;
    if event.ilk().as_str() != label {
        return Err(invalid(format!(
            "{label} must be a {label} event, not {:?}",
            event.ilk().as_str()
        )));
    }
    if event.prefix() != identifier.prefix {
        return Err(invalid(format!(
            "the event is for {}, not {name} ({})",
            event.prefix(),
            identifier.prefix
        )));
    }
    let sigs = sigs(body)?;
    let mut kel = kels::replay(&rows.kel(&identifier.prefix)?, &identifier.prefix, None)?;
    let appended = kel
        .append(
            SignedEvent {
                event: event.clone(),
                sigs: sigs.clone(),
                delegation: None,
            },
            seen,
        )
        .map_err(|err| invalid(format!("event refused: {err}")))?;
    if appended == Appended::Accepted {
        if let Some(update) = body.get(&identifier.kind) {
            identifier.params = normalise(&identifier.kind, update)?;
        }
        identifier.state = kel.record().to_value();
    }
    Ok(NextEvent {
        identifier,
        event,
        sigs,
        appended,
    })
}

/// Stages a checked next event (nothing for a duplicate); the event and whether it was new.
pub fn stage_next(
    rows: &mut OwnerWriter<'_>,
    next: NextEvent,
    seen: &str,
) -> Result<(Event, Appended), Failure> {
    let NextEvent {
        identifier,
        event,
        sigs,
        appended,
    } = next;
    if appended == Appended::Accepted {
        stage_event(rows, &event, &sigs, seen)?;
        rows.put_record(IDENTIFIERS, &identifier.name, &identifier.to_record())?;
    }
    Ok((event, appended))
}

/// Stages the rename of `name` to `new_name`; the renamed identifier.
pub fn rename(rows: &mut OwnerWriter<'_>, name: &str, body: &Value) -> Result<Identifier, Failure> {
    let new_name = body["name"]
        .as_str()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| invalid("name must be a non-empty string"))?;
    let Some(record) = rows.record(IDENTIFIERS, name)? else {
        return Err(Failure::NotFound(format!("no identifier named {name}")));
    };
    let mut identifier = Identifier::from_record(name, &record)?;
    if new_name == name {
        return Ok(identifier);
    }
    if rows.record(IDENTIFIERS, new_name)?.is_some() {
        return Err(invalid(format!(
            "an identifier is already named {new_name}"
        )));
    }
    new_name.clone_into(&mut identifier.name);
    rows.remove_record(IDENTIFIERS, name)?;
    rows.put_record(IDENTIFIERS, new_name, &identifier.to_record())?;
    rows.put_record(PREFIXES, &identifier.prefix, new_name)?;
    Ok(identifier)
}

fn stage_event(
    rows: &mut OwnerWriter<'_>,
    event: &Event,
    sigs: &[Siger],
    seen: &str,
) -> anyhow::Result<()> {
    rows.put_event(
        event.prefix(),
        event.sn(),
        &StoredEvent {
            raw: event.raw().to_vec(),
            sigs: signatures::join(sigs),
            first_seen: seen.to_owned(),
        },
    )
}

fn event(body: &Value, field: &str) -> Result<Event, Failure> {
    let value = body
        .get(field)
        .ok_or_else(|| invalid(format!("required field '{field}' missing from body")))?;
    Event::verify(value).map_err(|err| invalid(format!("{field} is not a valid KERI event: {err}")))
}

pub fn sigs(body: &Value) -> Result<Vec<Siger>, Failure> {
    let sigs: Option<Vec<Siger>> = body["sigs"].as_array().and_then(|sigs| {
        sigs.iter()
            .map(|sig| Siger::parse(sig.as_str()?).ok())
            .collect()
    });
    sigs.filter(|sigs| !sigs.is_empty())
        .ok_or_else(|| invalid("sigs must be a non-empty list of qb64 indexed signatures"))
}

/// The one key-manager kind the body carries, with its parameters checked and ordered.
fn params(body: &Value) -> Result<(&'static str, Value), Failure> {
    let mut given = KINDS.into_iter().filter(|kind| body.get(kind).is_some());
    let (Some(kind), None) = (given.next(), given.next()) else {
        return Err(invalid(
            "the body must carry exactly one of salty, randy or extern",
        ));
    };
    Ok((kind, normalise(kind, &body[kind])?))
}

/// Longest key-manager text (`sxlt`, `stem`, `dcode`, each code and each encrypted key), in bytes.
const MAX_PARAM_LENGTH: usize = 256;
/// Most entries in a key-manager list (`icodes`, `ncodes`, `prxs`, `nxts`).
const MAX_PARAM_ENTRIES: usize = 64;
/// Largest `extern` parameter object, in bytes of compact JSON.
const MAX_EXTERN: usize = 1024;

/// Checks a kind's parameters (each within its bound) and orders them as KERIA reports them.
fn normalise(kind: &str, params: &Value) -> Result<Value, Failure> {
    let Value::Object(fields) = params else {
        return Err(invalid(format!("{kind} must be an object")));
    };
    let too_long = |name: &str| {
        invalid(format!(
            "{kind}.{name} is longer than {MAX_PARAM_LENGTH} bytes"
        ))
    };
    let string = |name: &str| -> Result<Value, Failure> {
        match fields.get(name) {
            Some(Value::String(text)) if text.len() > MAX_PARAM_LENGTH => Err(too_long(name)),
            Some(Value::String(text)) => Ok(Value::String(text.clone())),
            _ => Err(invalid(format!("{kind}.{name} must be a string"))),
        }
    };
    let number = |name: &str| -> Result<Value, Failure> {
        match fields.get(name) {
            Some(value) if value.is_u64() => Ok(value.clone()),
            _ => Err(invalid(format!(
                "{kind}.{name} must be a non-negative integer"
            ))),
        }
    };
    let strings = |name: &str| -> Result<Value, Failure> {
        match fields.get(name) {
            Some(Value::Array(items)) if items.len() > MAX_PARAM_ENTRIES => Err(invalid(format!(
                "{kind}.{name} has {} entries; at most {MAX_PARAM_ENTRIES} are accepted",
                items.len()
            ))),
            Some(Value::Array(items))
                if items.iter().any(|item| {
                    item.as_str()
                        .is_some_and(|text| text.len() > MAX_PARAM_LENGTH)
                }) =>
            {
                Err(too_long(name))
            }
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                Ok(Value::Array(items.clone()))
            }
            _ => Err(invalid(format!("{kind}.{name} must be a list of strings"))),
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
            out.insert("icodes".into(), strings("icodes")?);
            out.insert("ncodes".into(), strings("ncodes")?);
            out.insert("transferable".into(), transferable);
        }
        "randy" => {
            out.insert("prxs".into(), strings("prxs")?);
            out.insert("nxts".into(), strings("nxts")?);
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::normalise;
    use crate::agency::Failure;

    fn refusal(kind: &str, params: &serde_json::Value) -> String {
        match normalise(kind, params) {
            Err(Failure::Invalid(reason)) => reason,
            other => panic!("{params} was not refused: {other:?}"),
        }
    }

    #[test]
    fn key_manager_parameters_are_bounded_and_the_refusal_names_the_field() {
        let salty = |field: &str, value: serde_json::Value| {
            let mut params = json!({"sxlt": "x", "pidx": 0, "kidx": 0, "stem": "signify:aid",
                "tier": "low", "dcode": "E", "icodes": ["A"], "ncodes": ["A"]});
            params[field] = value;
            params
        };
        assert!(normalise("salty", &salty("sxlt", json!("x"))).is_ok());
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
    fn extern_parameters_are_kept_as_sent_with_or_without_their_type() {
        let sent = json!({"pidx": 0, "kidx": 0, "mnemonics": "abandon ability able"});
        assert_eq!(normalise("extern", &sent).unwrap(), sent);
        let typed = json!({"extern_type": "bip39_shim", "pidx": 0});
        assert_eq!(normalise("extern", &typed).unwrap(), typed);
        let reason = refusal("extern", &json!({"extern_type": 7}));
        assert!(reason.contains("extern.extern_type"), "{reason}");
    }
}
