//! Long-running operations, as Signify polls them: `{name, metadata, done, response|error}`.
//!
//! Names follow KERIA's: `done.{said}`, `endrole.{cid}.{role}.{eid}`, `oobi.{nonce}`,
//! `query.{pre}.{sn}`. They are durable, per controller, listed until deleted.

use anyhow::{Context, Result};
use serde_json::{json, Map, Value};

use crate::store::{OwnerReader, OwnerWriter, OPERATIONS};

/// A finished operation.
pub fn done(name: &str, metadata: Value, response: Value) -> Value {
    operation(
        name,
        metadata,
        [("response", response), ("done", true.into())],
    )
}

/// An operation still under way.
pub fn pending(name: &str, metadata: Value) -> Value {
    operation(name, metadata, [("done", false.into())])
}

/// An operation that failed, with its reason (`error.code` as an HTTP status).
pub fn failed(name: &str, metadata: Value, code: u16, message: &str) -> Value {
    let error = json!({"code": code, "message": message});
    operation(name, metadata, [("done", true.into()), ("error", error)])
}

fn operation<const N: usize>(name: &str, metadata: Value, rest: [(&str, Value); N]) -> Value {
    let mut fields = Map::new();
    fields.insert("name".into(), name.into());
    fields.insert("metadata".into(), metadata);
    for (key, value) in rest {
        fields.insert(key.into(), value);
    }
    Value::Object(fields)
}

/// Stages `operation` (replacing one of the same name).
pub fn stage(rows: &mut OwnerWriter<'_>, operation: &Value) -> Result<()> {
    let name = operation["name"]
        .as_str()
        .context("an operation has a name")?;
    rows.put_record(OPERATIONS, name, &operation.to_string())
}

/// The operation named `name`.
pub fn get(rows: &OwnerReader<'_>, name: &str) -> Result<Option<Value>> {
    rows.record(OPERATIONS, name)?
        .map(|text| serde_json::from_str(&text).context("stored operation"))
        .transpose()
}

/// Every operation not deleted, by name; of one `kind` only (the name's part before its first
/// `.`), when given.
pub fn list(rows: &OwnerReader<'_>, kind: Option<&str>) -> Result<Vec<Value>> {
    let prefix = kind.map(|kind| format!("{kind}.")).unwrap_or_default();
    rows.records(OPERATIONS, &prefix)?
        .iter()
        .map(|(_, text)| serde_json::from_str(text).context("stored operation"))
        .collect()
}

/// Stages the removal of `name`; whether it existed.
pub fn delete(rows: &mut OwnerWriter<'_>, name: &str) -> Result<bool> {
    rows.remove_record(OPERATIONS, name)
}
