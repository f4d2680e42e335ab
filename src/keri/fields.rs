//! Typed views of the fields of a received key event, each checked as it is read: strings,
//! canonical hex numbers, lists, thresholds, qb64 primitives and seals, with the precise
//! reason when one is not what KERI requires.

use serde_json::{Map, Value};

use super::cesr::CesrError;
use super::error::EventError;
use super::seal::Seal;
use super::serder::{parse_hex, shown};
use super::threshold::Threshold;

/// Typed views of the fields of a received event, checked one by one.
pub(super) struct Fields<'v> {
    pub(super) map: &'v Map<String, Value>,
}

impl<'v> Fields<'v> {
    pub(super) fn get(&self, field: &'static str) -> Result<&'v Value, EventError> {
        self.map.get(field).ok_or(EventError::MissingField(field))
    }

    pub(super) fn string(&self, field: &'static str) -> Result<&'v str, EventError> {
        let value = self.get(field)?;
        value.as_str().ok_or_else(|| EventError::FieldType {
            field: field.to_owned(),
            expected: "a string",
            got: shown(value),
        })
    }

    pub(super) fn hex(&self, field: &'static str) -> Result<u64, EventError> {
        let value = self.get(field)?;
        value
            .as_str()
            .and_then(parse_hex)
            .ok_or_else(|| EventError::FieldType {
                field: field.to_owned(),
                expected: "a lowercase hex number string without leading zeros, at most 16 digits",
                got: shown(value),
            })
    }

    /// A count written as a hex string or as a JSON number: signify-ts 0.4.0 writes a rotation's
    /// nonzero backer threshold (`bt`) as a number, and keri reads both.
    pub(super) fn hex_or_number(&self, field: &'static str) -> Result<u64, EventError> {
        let value = self.get(field)?;
        match value {
            Value::Number(number) => number.as_u64().ok_or_else(|| EventError::FieldType {
                field: field.to_owned(),
                expected: "a non-negative integer or a lowercase hex number string",
                got: shown(value),
            }),
            _ => self.hex(field),
        }
    }

    pub(super) fn strings(&self, field: &'static str) -> Result<Vec<&'v str>, EventError> {
        let value = self.get(field)?;
        let items = value
            .as_array()
            .and_then(|items| items.iter().map(Value::as_str).collect::<Option<Vec<_>>>());
        items.ok_or_else(|| EventError::FieldType {
            field: field.to_owned(),
            expected: "an array of strings",
            got: shown(value),
        })
    }

    pub(super) fn owned_strings(&self, field: &'static str) -> Result<Vec<String>, EventError> {
        Ok(self
            .strings(field)?
            .into_iter()
            .map(str::to_owned)
            .collect())
    }

    pub(super) fn threshold(&self, field: &'static str) -> Result<Threshold, EventError> {
        let value = self.get(field)?;
        Threshold::parse(value)
            .map_err(|error| EventError::Invalid(format!("field {field}: {error}")))
    }

    pub(super) fn primitives<T>(
        &self,
        field: &'static str,
        parse: impl Fn(&str) -> Result<T, CesrError>,
    ) -> Result<Vec<T>, EventError> {
        self.strings(field)?
            .into_iter()
            .enumerate()
            .map(|(index, text)| {
                parse(text).map_err(|error| EventError::Primitive {
                    field: format!("{field}[{index}]"),
                    error,
                })
            })
            .collect()
    }

    /// The seals in `a`: objects only when `only_seals`, otherwise any data, of which the
    /// objects are the seals (Signify anchors bare SAIDs in interactions).
    pub(super) fn seals(&self, only_seals: bool) -> Result<Vec<Seal>, EventError> {
        let value = self.get("a")?;
        let items = value
            .as_array()
            .filter(|items| !only_seals || items.iter().all(Value::is_object))
            .ok_or_else(|| EventError::FieldType {
                field: "a".to_owned(),
                expected: if only_seals {
                    "an array of seal objects"
                } else {
                    "an array"
                },
                got: shown(value),
            })?;
        Ok(items
            .iter()
            .filter_map(|item| item.as_object().map(|map| Seal(map.clone())))
            .collect())
    }
}

/// Refuses a backer list with repeated entries.
pub(super) fn check_backers(backers: &[String], field: &str) -> Result<(), EventError> {
    for (position, backer) in backers.iter().enumerate() {
        if backers[..position].contains(backer) {
            return Err(EventError::Invalid(format!(
                "backer {backer} appears twice in {field}"
            )));
        }
    }
    Ok(())
}
