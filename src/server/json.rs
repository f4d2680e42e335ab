//! Request bodies as JSON: one reader for every body, which refuses a repeated object key.
//!
//! serde_json keeps the last of two equal keys; a KERI event is self-addressing, so a body
//! whose meaning depends on which duplicate a reader keeps is ambiguous, and is refused.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses a request body; an object with the same key twice, at any depth, is an error that
/// names the key.
pub fn parse(body: &[u8]) -> serde_json::Result<Value> {
    serde_json::from_slice::<Unique>(body).map(|Unique(value)| value)
}

/// A JSON value whose objects have no repeated key.
struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut list = Vec::with_capacity(items.size_hint().unwrap_or(0).min(64));
        while let Some(Unique(item)) = items.next_element()? {
            list.push(item);
        }
        Ok(Value::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            let Unique(value) = entries.next_value()?;
            if map.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key \"{key}\"")));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse;

    #[test]
    fn a_repeated_key_at_any_depth_is_refused_and_named() {
        for body in [
            r#"{"a":1,"a":2}"#,
            r#"{"x":[{"b":{"a":1,"a":1}}]}"#,
            r#"{"a":1,"\u0061":2}"#,
        ] {
            let err = parse(body.as_bytes()).unwrap_err().to_string();
            assert!(err.contains("duplicate key \"a\""), "{body}: {err}");
        }
    }

    #[test]
    fn other_documents_read_as_serde_json_reads_them() {
        let body =
            r#"{"z":[1,-2,3.5,"s",null,true,{}],"a":{"b":{"a":0}},"n":18446744073709551615}"#;
        let expected: serde_json::Value = serde_json::from_str(body).unwrap();
        let read = parse(body.as_bytes()).unwrap();
        assert_eq!(read, expected);
        assert_eq!(read.to_string(), expected.to_string(), "key order kept");
        assert_eq!(parse(b"[]").unwrap(), json!([]));
        assert!(parse(b"{\"a\":1} x").is_err());
        assert!(parse(&[b'['; 1000]).is_err());
    }
}
