//! Credential schemas as KERI addresses them: JSON Schema documents whose `$id` is their SAID,
//! the Blake3-256 digest (qb64 `E…`) of the schema's compact JSON, in its own key order, with
//! `$id` replaced by 44 `#` characters (keripy's `Saider` with the label `$id`).

use serde_json::{Map, Value};

use super::primitives::Diger;
use super::serder::{compact, DUMMY};

/// The field holding a schema's SAID.
pub const SAID_FIELD: &str = "$id";

/// The SAID of `schema`: its `$id` (added at the end when missing) set to the placeholder,
/// the compact JSON digested.
#[must_use]
pub fn said(schema: &Map<String, Value>) -> String {
    let mut map = schema.clone();
    map.insert(SAID_FIELD.into(), DUMMY.into());
    Diger::blake3(&compact(&Value::Object(map))).qb64()
}

/// Reads a served schema: a JSON object whose `$id` is the SAID computed over it. The schema,
/// or why not.
pub fn verify(raw: &[u8]) -> Result<Map<String, Value>, String> {
    let value: Value =
        serde_json::from_slice(raw).map_err(|err| format!("the schema is not JSON: {err}"))?;
    let Value::Object(schema) = value else {
        return Err("the schema is not a JSON object".into());
    };
    let Some(declared) = schema.get(SAID_FIELD) else {
        return Err("the schema has no $id".into());
    };
    let Some(declared) = declared.as_str() else {
        return Err("the schema's $id is not a string".into());
    };
    if !declared.starts_with('E') {
        return Err(format!(
            "the schema's $id {declared:?} is not a Blake3-256 SAID (E…)"
        ));
    }
    let computed = said(&schema);
    if computed != declared {
        return Err(format!(
            "the schema's $id {declared} is not its SAID {computed}"
        ));
    }
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::{said, verify};

    /// The vLEI schemas GLEIF publishes: each `$id` is the SAID computed here.
    #[test]
    fn every_vlei_schema_verifies() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/vlei/schema/acdc");
        let mut count = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let raw = std::fs::read(&path).unwrap();
            let schema = verify(&raw).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            assert_eq!(schema["$id"], said(&schema).as_str());
            count += 1;
        }
        assert!(count >= 6, "only {count} schemas");
    }

    #[test]
    fn a_changed_schema_or_one_without_a_said_is_refused() {
        let qvi = include_str!(
            "../../tests/peers/vlei/schema/acdc/qualified-vLEI-issuer-vLEI-credential.json"
        );
        let changed = qvi.replace("Qualified vLEI Issuer Credential", "Qualified Issuer");
        assert!(verify(changed.as_bytes())
            .unwrap_err()
            .contains("is not its SAID"));
        assert!(verify(b"{\"title\": \"no id\"}")
            .unwrap_err()
            .contains("no $id"));
        assert!(verify(b"[1]").unwrap_err().contains("not a JSON object"));
        assert!(verify(b"-AAB").unwrap_err().contains("not JSON"));
    }
}
