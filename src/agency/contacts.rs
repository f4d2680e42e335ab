//! Contacts: what the controller knows of the identifiers whose OOBIs its agent resolved.
//!
//! A contact is one record: the fields the agent derives (`alias` and `oobi`, from the OOBI
//! resolution) and any JSON fields the controller adds (`company`, `location`, …). The answer
//! adds what is read elsewhere: `id`, `ends`, `challenges` and `wellKnowns`. A controller can
//! set none of the derived fields; sending one back unchanged is accepted. An optional image
//! is kept beside the record, per controller.

use anyhow::{Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::agency::{challenges, roles, Failure};
use crate::store::{OwnerReader, OwnerWriter, CONTACTS, CONTACT_IMAGES};

/// Fields the agent derives, which a controller cannot set.
pub const DERIVED: [&str; 6] = ["id", "alias", "oobi", "ends", "challenges", "wellKnowns"];

/// Most bytes of a contact's stored fields, as JSON.
pub const MAX_FIELDS: usize = 65_536;

/// Most bytes of a contact's image (KERIA's bound).
pub const MAX_IMAGE: usize = 1_000_000;

/// Every contact, by prefix.
pub fn list(rows: &OwnerReader<'_>) -> Result<Vec<Value>> {
    rows.records(CONTACTS, "")?
        .iter()
        .map(|(id, record)| contact(rows, id, record))
        .collect()
}

/// The contact `id`, if there is one.
pub fn find(rows: &OwnerReader<'_>, id: &str) -> Result<Option<Value>> {
    rows.record(CONTACTS, id)?
        .map(|record| contact(rows, id, &record))
        .transpose()
}

fn contact(rows: &OwnerReader<'_>, id: &str, record: &str) -> Result<Value> {
    let stored: Map<String, Value> = serde_json::from_str(record).context("stored contact")?;
    Ok(merge(&derived(rows, id)?, &stored))
}

/// What the agent derives of contact `id` from what it holds: `{id, ends, challenges,
/// wellKnowns}`.
pub fn derived(rows: &OwnerReader<'_>, id: &str) -> Result<Value> {
    let mut ends = Map::new();
    for (role, _) in roles::end_roles(rows, id, None)? {
        let mut urls = Map::new();
        for location in roles::locations(rows, &role.eid)? {
            urls.insert(location.scheme, location.url.into());
        }
        let by_eid = ends
            .entry(role.role)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(by_eid) = by_eid {
            by_eid.insert(role.eid, Value::Object(urls));
        }
    }
    Ok(json!({
        "id": id,
        "ends": ends,
        "challenges": challenges::for_contact(rows, id)?,
        "wellKnowns": [],
    }))
}

/// `{id, …stored fields by name, ends, challenges, wellKnowns}`: KERIA's order, whose contact
/// fields are kept one per key and so come back sorted.
fn merge(derived: &Value, stored: &Map<String, Value>) -> Value {
    let mut fields: Vec<(&String, &Value)> = stored.iter().collect();
    fields.sort_by_key(|(key, _)| *key);
    let mut contact = Map::new();
    contact.insert("id".into(), derived["id"].clone());
    for (key, value) in fields {
        contact.insert(key.clone(), value.clone());
    }
    for key in ["ends", "challenges", "wellKnowns"] {
        contact.insert(key.into(), derived[key].clone());
    }
    Value::Object(contact)
}

/// Adds `body`'s fields to contact `id` (replacing those of the same name); the contact, with
/// what the agent `derived` of it.
pub fn update(
    rows: &mut OwnerWriter<'_>,
    id: &str,
    body: &Value,
    derived: &Value,
) -> Result<Value, Failure> {
    let Some(record) = rows.record(CONTACTS, id)? else {
        return Err(Failure::NotFound(format!("no contact {id}")));
    };
    let mut stored: Map<String, Value> = serde_json::from_str(&record).context("stored contact")?;
    let fields = own_fields(body, &merge(derived, &stored))?;
    stored.extend(fields);
    put(rows, id, &stored)?;
    Ok(merge(derived, &stored))
}

/// Makes contact `id`, for an identifier whose KEL is held and that has none, with `body`'s
/// fields; the contact.
pub fn create(
    rows: &mut OwnerWriter<'_>,
    id: &str,
    body: &Value,
    derived: &Value,
) -> Result<Value, Failure> {
    if rows.kel(id)?.is_empty() {
        return Err(Failure::NotFound(format!(
            "{id} is not a known identifier: resolve its OOBI before adding contact information"
        )));
    }
    if rows.record(CONTACTS, id)?.is_some() {
        return Err(Failure::Invalid(format!(
            "contact data for {id} already exists"
        )));
    }
    let stored = own_fields(body, &merge(derived, &Map::new()))?;
    put(rows, id, &stored)?;
    Ok(merge(derived, &stored))
}

/// Forgets contact `id` and its image (its KEL stays); whether there was one.
pub fn remove(rows: &mut OwnerWriter<'_>, id: &str) -> Result<bool> {
    let removed = rows.remove_record(CONTACTS, id)?;
    rows.remove_record(CONTACT_IMAGES, id)?;
    Ok(removed)
}

/// Sets contact `id`'s image: `bytes` of `content_type`.
pub fn set_image(
    rows: &mut OwnerWriter<'_>,
    id: &str,
    content_type: &str,
    bytes: &[u8],
) -> Result<(), Failure> {
    if rows.record(CONTACTS, id)?.is_none() {
        return Err(Failure::NotFound(format!("no contact {id}")));
    }
    let record = json!({"type": content_type, "data": STANDARD.encode(bytes)});
    rows.put_record(CONTACT_IMAGES, id, &record.to_string())?;
    Ok(())
}

/// Contact `id`'s image and its content type, if it has one.
pub fn image(rows: &OwnerReader<'_>, id: &str) -> Result<Option<(String, Vec<u8>)>> {
    let Some(record) = rows.record(CONTACT_IMAGES, id)? else {
        return Ok(None);
    };
    let record: Value = serde_json::from_str(&record).context("stored contact image")?;
    let content_type = record["type"].as_str().unwrap_or_default().to_owned();
    let bytes = STANDARD
        .decode(record["data"].as_str().unwrap_or_default())
        .context("stored contact image")?;
    Ok(Some((content_type, bytes)))
}

/// The fields of `body` a controller may set: every one but the derived fields, which may
/// only repeat their `current` value.
fn own_fields(body: &Value, current: &Value) -> Result<Map<String, Value>, Failure> {
    let mut fields = Map::new();
    for (key, value) in body.as_object().into_iter().flatten() {
        if DERIVED.contains(&key.as_str()) {
            if current.get(key) != Some(value) {
                return Err(Failure::Invalid(format!(
                    "{key} is derived by the agent and cannot be set by a client"
                )));
            }
            continue;
        }
        fields.insert(key.clone(), value.clone());
    }
    Ok(fields)
}

fn put(rows: &mut OwnerWriter<'_>, id: &str, fields: &Map<String, Value>) -> Result<(), Failure> {
    let text = Value::Object(fields.clone()).to_string();
    if text.len() > MAX_FIELDS {
        return Err(Failure::Invalid(format!(
            "a contact's fields may hold at most {MAX_FIELDS} bytes of JSON, not {}",
            text.len()
        )));
    }
    rows.put_record(CONTACTS, id, &text)?;
    Ok(())
}
