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
use crate::agency::key_managers::{self, KeyCounts};
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

/// The identifier named `name`, or whose prefix is `name`, staged rows included.
pub fn find_staged(rows: &OwnerWriter<'_>, name: &str) -> Result<Identifier, Failure> {
    let named = match rows.record(PREFIXES, name)? {
        Some(named) => named,
        None => name.to_owned(),
    };
    match rows.record(IDENTIFIERS, &named)? {
        Some(record) => Ok(Identifier::from_record(&named, &record)?),
        None => Err(Failure::NotFound(format!("no identifier named {name}"))),
    }
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
    if !icp.ilk().is_inception() {
        return Err(invalid(format!(
            "icp must be an inception event (t \"icp\" or \"dip\"), not {:?}",
            icp.ilk().as_str()
        )));
    }
    let sigs = sigs(body)?;
    let counts = KeyCounts {
        keys: icp.keys().len(),
        next: icp.next_digests().len(),
    };
    let (kind, params) = params(body, counts)?;
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
    // A delegated inception waits for its delegator's approval before it enters the KEL
    // (`delegations` keeps it until then); the identifier's record already shows it.
    if icp.ilk() != Ilk::Dip {
        stage_event(rows, &icp, &sigs, seen)?;
    }
    rows.put_record(IDENTIFIERS, name, &identifier.to_record())?;
    rows.put_record(PREFIXES, &identifier.prefix, name)?;
    rows.claim(&identifier.prefix)?;
    Ok(icp)
}

/// Stages a group identifier named `name` (`kind` "group", its `params` as the member sent
/// them): its inception waits for its members' signatures, so it has no key state yet.
pub fn stage_group(
    rows: &mut OwnerWriter<'_>,
    name: &str,
    prefix: &str,
    params: Value,
    seen: &str,
) -> Result<(), Failure> {
    if rows.record(IDENTIFIERS, name)?.is_some() {
        return Err(invalid(format!("AID with name {name} already incepted")));
    }
    if let Some(other) = rows.record(PREFIXES, prefix)? {
        return Err(invalid(format!(
            "identifier {prefix} already exists, named {other}"
        )));
    }
    let identifier = Identifier {
        name: name.to_owned(),
        prefix: prefix.to_owned(),
        kind: "group".to_owned(),
        params,
        icp_dt: seen.to_owned(),
        transferable: true,
        state: Value::Null,
    };
    rows.put_record(IDENTIFIERS, name, &identifier.to_record())?;
    rows.put_record(PREFIXES, prefix, name)?;
    Ok(())
}

/// Stages the key state of identifier `prefix` after its event `event`, accepted with `sigs`.
pub fn stage_accepted(
    rows: &mut OwnerWriter<'_>,
    (event, sigs): (&Event, &[Siger]),
    state: Value,
    seen: &str,
) -> Result<(), Failure> {
    let Some(name) = rows.record(PREFIXES, event.prefix())? else {
        return Err(Failure::NotFound(format!(
            "no identifier has prefix {}",
            event.prefix()
        )));
    };
    let record = rows
        .record(IDENTIFIERS, &name)?
        .ok_or_else(|| Failure::NotFound(format!("no identifier named {name}")))?;
    let mut identifier = Identifier::from_record(&name, &record)?;
    identifier.state = state;
    stage_event(rows, event, sigs, seen)?;
    rows.put_record(IDENTIFIERS, &name, &identifier.to_record())?;
    Ok(())
}

impl Identifier {
    /// The identifier's key-manager kind and parameters (`group`: `{mhab, keys, ndigs}`).
    pub fn params(&self) -> (&str, &Value) {
        (&self.kind, &self.params)
    }
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
    // A delegated identifier's rotation (`drt`) comes as a `rot`, as Signify sends it.
    let delegated_rotation = label == "rot" && event.ilk() == Ilk::Drt;
    if event.ilk().as_str() != label && !delegated_rotation {
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
    if let Some(other) = KINDS
        .into_iter()
        .find(|kind| *kind != identifier.kind && body.get(kind).is_some())
    {
        return Err(invalid(format!(
            "{other} given for {name}, a {} identifier",
            identifier.kind
        )));
    }
    let update = body.get(&identifier.kind);
    if update.is_none() && label == "rot" && identifier.kind != "extern" {
        return Err(invalid(format!(
            "required field '{}' missing from body: a rotation of a {0} identifier carries its parameters",
            identifier.kind
        )));
    }
    if appended.is_new() {
        let state = kel.record().to_value();
        if let Some(update) = update {
            let count = |field: &str| state[field].as_array().map_or(0, Vec::len);
            let counts = KeyCounts {
                keys: count("k"),
                next: count("n"),
            };
            identifier.params = key_managers::normalise(&identifier.kind, update, Some(counts))?;
        }
        identifier.state = state;
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
    if appended.is_new() {
        stage_event(rows, &event, &sigs, seen)?;
        if let Appended::Recovered { .. } = appended {
            rows.remove_events_after(event.prefix(), event.sn())?;
        }
        rows.put_record(IDENTIFIERS, &identifier.name, &identifier.to_record())?;
    }
    Ok((event, appended))
}

/// Stages a checked delegated rotation's new parameters and key state in the identifier's
/// record, not the event: it enters the KEL once its delegator approves it (`delegations`).
/// The record as it was before, to put back if the approval never comes.
pub fn stage_pending(rows: &mut OwnerWriter<'_>, next: &NextEvent) -> Result<String, Failure> {
    let name = &next.identifier.name;
    let prior = rows
        .record(IDENTIFIERS, name)?
        .ok_or_else(|| Failure::NotFound(format!("no identifier named {name}")))?;
    rows.put_record(IDENTIFIERS, name, &next.identifier.to_record())?;
    Ok(prior)
}

/// Checks a passcode rotation's `keys` (prefix → re-encrypted parameters): every salty and
/// randy identifier of the controller, and nothing else; the identifiers with their new
/// parameters, not yet staged.
/// Staged rows are included.
pub fn recrypt(rows: &OwnerWriter<'_>, keys: &Value) -> Result<Vec<Identifier>, Failure> {
    let Value::Object(entries) = keys else {
        return Err(invalid(
            "keys must be an object of identifier prefix to parameters",
        ));
    };
    let mut updated = Vec::with_capacity(entries.len());
    for (prefix, entry) in entries {
        let Some(name) = rows.record(PREFIXES, prefix)? else {
            return Err(invalid(format!(
                "keys.{prefix}: no identifier of this controller has that prefix"
            )));
        };
        updated.push(recrypt_one(&name, rows.record(IDENTIFIERS, &name)?, entry)?);
    }
    for (name, record) in rows.records(IDENTIFIERS, "")? {
        let identifier = Identifier::from_record(&name, &record)?;
        if identifier.kind != "extern" && !entries.contains_key(&identifier.prefix) {
            return Err(invalid(format!(
                "keys.{} missing: the rotation must re-encrypt every salty and randy identifier ({name} is {})",
                identifier.prefix, identifier.kind
            )));
        }
    }
    Ok(updated)
}

fn recrypt_one(name: &str, record: Option<String>, entry: &Value) -> Result<Identifier, Failure> {
    let record = record.ok_or_else(|| Failure::NotFound(format!("no identifier named {name}")))?;
    let mut identifier = Identifier::from_record(name, &record)?;
    let count = |field: &str| identifier.state[field].as_array().map_or(0, Vec::len);
    let counts = KeyCounts {
        keys: count("k"),
        next: count("n"),
    };
    identifier.params = key_managers::recrypted(
        &identifier.prefix,
        &identifier.kind,
        &identifier.params,
        entry,
        counts,
    )?;
    Ok(identifier)
}

/// Stages identifiers whose parameters `recrypt` changed.
pub fn stage_recrypted(
    rows: &mut OwnerWriter<'_>,
    identifiers: &[Identifier],
) -> anyhow::Result<()> {
    for identifier in identifiers {
        rows.put_record(IDENTIFIERS, &identifier.name, &identifier.to_record())?;
    }
    Ok(())
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

/// The one key-manager kind the body carries, with its parameters checked against the
/// inception's key `counts` and ordered.
fn params(body: &Value, counts: KeyCounts) -> Result<(&'static str, Value), Failure> {
    let mut given = KINDS.into_iter().filter(|kind| body.get(kind).is_some());
    let (Some(kind), None) = (given.next(), given.next()) else {
        return Err(invalid(
            "the body must carry exactly one of salty, randy or extern",
        ));
    };
    Ok((
        kind,
        key_managers::normalise(kind, &body[kind], Some(counts))?,
    ))
}
