//! Credential schemas an agent holds: resolved from data OOBIs (`POST /oobis` with
//! `…/oobi/{said}`, and the configuration's `durls` for every agent, kept under
//! `INTRODUCED`), listed by `GET /schema`, and the check of a credential's attributes against
//! one.
//!
//! A served schema is kept only when it is at most `MAX_SCHEMA` bytes of JSON, its `$id` is
//! the SAID computed over it (`keri::schema`) and the SAID the OOBI URL names, and it compiles
//! as a JSON Schema (its `$schema` draft; references are never fetched).

use anyhow::Result;
use serde_json::{Map, Value};

use super::witnesses::INTRODUCED;
use crate::keri::schema;
use crate::store::{OwnerReader, OwnerWriter, Reader, SCHEMAS};

/// Largest schema accepted from a data OOBI, in bytes (1 MiB; the vLEI schemas are 3 to 9 KiB).
pub const MAX_SCHEMA: usize = 1 << 20;

/// Largest compiled form of one `pattern` of a schema, in bytes: a pattern built to be costly
/// to compile (`\w{1000}`) is refused rather than compiled.
const MAX_PATTERN: usize = 256 << 10;

/// The media type of a schema served by a data OOBI.
const SCHEMA_TYPE: &str = "application/schema+json";

/// A verified schema: its SAID and its JSON.
#[derive(Debug, Clone)]
pub struct Schema {
    pub said: String,
    pub value: Value,
}

/// Whether a fetched OOBI answer is a schema rather than a CESR stream: served as
/// `application/schema+json`, or a JSON object with `$id`.
#[must_use]
pub fn is_schema(content_type: Option<&str>, body: &[u8]) -> bool {
    let media = content_type
        .and_then(|text| text.split(';').next())
        .map(|media| media.trim().to_ascii_lowercase());
    if media.as_deref() == Some(SCHEMA_TYPE) {
        return true;
    }
    body.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{')
        && body.len() <= MAX_SCHEMA
        && serde_json::from_slice::<Map<String, Value>>(body)
            .is_ok_and(|object| object.contains_key(schema::SAID_FIELD))
}

/// Reads the schema a data OOBI for `said` served. The schema, or why it is refused.
pub fn read(body: &[u8], said: &str) -> Result<Schema, String> {
    if body.len() > MAX_SCHEMA {
        return Err(format!("the schema is larger than {MAX_SCHEMA} bytes"));
    }
    let map = schema::verify(body)?;
    let declared = map[schema::SAID_FIELD]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if declared != said {
        return Err(format!(
            "the schema's SAID {declared} is not the OOBI's {said}"
        ));
    }
    let value = Value::Object(map);
    compile(&value)
        .map_err(|err| format!("the schema {said} is not a valid JSON Schema: {err}"))?;
    Ok(Schema {
        said: declared,
        value,
    })
}

/// Stages `schema` among `rows`' schemas (the same SAID again changes nothing).
pub fn keep(rows: &mut OwnerWriter<'_>, schema: &Schema) -> Result<()> {
    rows.put_record(SCHEMAS, &schema.said, &schema.value.to_string())
}

/// Every schema `controller`'s agent holds (its own and the configuration's), by SAID.
pub fn list(reader: &Reader, controller: &str) -> Result<Vec<Value>> {
    let mut all = Vec::new();
    for owner in [controller, INTRODUCED] {
        for (said, text) in reader.owner(owner).records(SCHEMAS, "")? {
            all.push((said, serde_json::from_str::<Value>(&text)?));
        }
    }
    all.sort_by(|left, right| left.0.cmp(&right.0));
    all.dedup_by(|left, right| left.0 == right.0);
    Ok(all.into_iter().map(|(_, value)| value).collect())
}

/// The schema `said` that `controller`'s agent holds, if any.
pub fn get(reader: &Reader, controller: &str, said: &str) -> Result<Option<Value>> {
    for owner in [controller, INTRODUCED] {
        if let Some(text) = find(&reader.owner(owner), said)? {
            return Ok(Some(serde_json::from_str(&text)?));
        }
    }
    Ok(None)
}

fn find(rows: &OwnerReader<'_>, said: &str) -> Result<Option<String>> {
    rows.record(SCHEMAS, said)
}

/// Checks a credential's attribute block (`a`) against `schema`'s description of it
/// (`properties.a`, read with the schema's draft). Every violation, by its place, or none.
pub fn validate(schema: &Value, attributes: &Value) -> Result<(), Vec<String>> {
    let Some(Value::Object(described)) = schema.pointer("/properties/a") else {
        return Err(vec![
            "the schema describes no attribute block (properties.a)".into(),
        ]);
    };
    let mut described = described.clone();
    if let Some(draft) = schema.get("$schema") {
        described.insert("$schema".into(), draft.clone());
    }
    let validator = compile(&Value::Object(described))
        .map_err(|err| vec![format!("the schema is not a valid JSON Schema: {err}")])?;
    let errors: Vec<String> = validator
        .iter_errors(attributes)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// `schema` compiled, in the draft its `$schema` names, its patterns bounded.
fn compile(schema: &Value) -> Result<jsonschema::Validator, jsonschema::ValidationError<'static>> {
    jsonschema::options()
        .with_pattern_options(jsonschema::PatternOptions::fancy_regex().size_limit(MAX_PATTERN))
        .build(schema)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{is_schema, read, validate, MAX_SCHEMA};

    const QVI_SAID: &str = "EBfdlu8R27Fbx-ehrqwImnK-8Cm79sqbAQ4MmvEAYqao";
    const QVI: &str = include_str!(
        "../../tests/peers/vlei/schema/acdc/qualified-vLEI-issuer-vLEI-credential.json"
    );

    fn qvi() -> Value {
        read(QVI.as_bytes(), QVI_SAID).unwrap().value
    }

    #[test]
    fn a_vlei_schema_is_read_and_recognised() {
        assert_eq!(qvi()["$id"], QVI_SAID);
        assert!(is_schema(Some("application/schema+json"), b""));
        assert!(is_schema(None, QVI.as_bytes()));
        assert!(!is_schema(
            Some("application/json+cesr"),
            b"{\"v\":\"KERI10JSON\"}-AAB"
        ));
        let other = "ENPXp1vQzRF6JwIuS-mp2U8Uf1MoADoP_GqQ62VsDZWY";
        assert!(read(QVI.as_bytes(), other)
            .unwrap_err()
            .contains("not the OOBI's"));
        let huge = vec![b' '; MAX_SCHEMA + 1];
        assert!(read(&huge, QVI_SAID).unwrap_err().contains("larger than"));
    }

    #[test]
    fn a_schema_that_is_no_json_schema_is_refused() {
        let mut bad = serde_json::Map::new();
        bad.insert("$id".into(), "".into());
        bad.insert(
            "$schema".into(),
            "http://json-schema.org/draft-07/schema#".into(),
        );
        bad.insert("type".into(), json!(12));
        let said = crate::keri::schema::said(&bad);
        bad.insert("$id".into(), said.clone().into());
        let raw = Value::Object(bad).to_string();
        let refused = read(raw.as_bytes(), &said).unwrap_err();
        assert!(refused.contains("not a valid JSON Schema"), "{refused}");
    }

    /// Patterns that would take seconds each to compile are refused at once.
    #[test]
    fn a_schema_with_a_costly_pattern_is_refused_quickly() {
        let mut costly = serde_json::Map::new();
        costly.insert("$id".into(), "".into());
        costly.insert(
            "$schema".into(),
            "http://json-schema.org/draft-07/schema#".into(),
        );
        costly.insert(
            "properties".into(),
            json!({"a": {"type": "string", "pattern": "^\\w{5000}[a-z]{300}$"}}),
        );
        let said = crate::keri::schema::said(&costly);
        costly.insert("$id".into(), said.clone().into());
        let raw = Value::Object(costly).to_string();
        let started = std::time::Instant::now();
        let refused = read(raw.as_bytes(), &said).unwrap_err();
        assert!(refused.contains("not a valid JSON Schema"), "{refused}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    /// A QVI credential's attributes as GLEIF issues them, and what the schema refuses.
    #[test]
    fn qvi_attributes_are_checked_against_the_qvi_schema() {
        let attributes = json!({
            "d": "ELGgI0fkloqKWREXgqUfgS0bJybP1LChxCO3sqPSFHCj",
            "i": "EIaGMMWJFPmtXznY1IIiKDIrg-vIyge6mBl2QV8dDjI3",
            "dt": "2026-12-04T17:18:38.204886+00:00",
            "LEI": "5493001KJTIIGC8Y1R17",
            "gracePeriod": 90,
        });
        assert_eq!(validate(&qvi(), &attributes), Ok(()));
        let mut wrong = attributes.clone();
        wrong["gracePeriod"] = json!("ninety");
        wrong.as_object_mut().unwrap().remove("LEI");
        wrong["nickname"] = json!("extra");
        let errors = validate(&qvi(), &wrong).unwrap_err();
        assert!(!errors.is_empty());
        assert!(validate(&json!({"type": "object"}), &attributes).is_err());
    }
}
