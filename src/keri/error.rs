//! Why a key event, a message, or the signatures on one were refused: `EventError`, shared by
//! events, key event logs, replies, exchanges and registry events.

use std::fmt;

use super::cesr::CesrError;
use super::ilk::Ilk;
use super::serder::Sealing;

/// Why an event, or a set of signatures on it, was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventError {
    /// The bytes are not JSON.
    NotJson(String),
    /// The JSON is not an object.
    NotObject,
    /// A field the event needs is missing.
    MissingField(&'static str),
    /// The version string is malformed.
    Version(String),
    /// The event type is not one handled here.
    Ilk(String),
    /// The field labels differ from the required ones.
    FieldOrder {
        /// The event type that sets the order.
        ilk: Ilk,
        /// The labels received.
        got: Vec<String>,
    },
    /// A field has the wrong JSON type or format.
    FieldType {
        /// The field label.
        field: String,
        /// What it must be.
        expected: &'static str,
        /// The compact JSON received, shortened.
        got: String,
    },
    /// A field does not hold the qb64 primitive it must.
    Primitive {
        /// The field label, with the array index.
        field: String,
        /// Why the text was refused.
        error: CesrError,
    },
    /// A value breaks a rule of the event type (thresholds, sequence numbers).
    Invalid(String),
    /// The size in the version string is not the serialized size.
    Size {
        /// The size in the version string.
        declared: usize,
        /// The size of the compact serialization.
        actual: usize,
    },
    /// A SAID field is not the recomputed SAID.
    SaidMismatch {
        /// `d` or `i`.
        field: &'static str,
        /// The value received.
        got: String,
        /// The recomputed SAID.
        computed: String,
    },
    /// A signature index points past the key list.
    SignatureIndex {
        /// The index of the signature.
        index: u32,
        /// How many keys there are.
        keys: usize,
    },
    /// Two signatures carry the same index.
    DuplicateIndex(u32),
    /// The signatures that verify do not meet the signing threshold.
    Signatures {
        /// How many distinct keys signed validly.
        verified: usize,
        /// How many signatures were given.
        given: usize,
        /// The threshold, as written in the event.
        threshold: String,
    },
    /// A list of events is not a well-formed key event log.
    Kel(String),
}

impl fmt::Display for EventError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::NotJson(error) => write!(formatter, "event is not JSON: {error}"),
            EventError::NotObject => formatter.write_str("event must be a JSON object"),
            EventError::MissingField(field) => write!(formatter, "event has no field {field}"),
            EventError::Version(got) => write!(
                formatter,
                "version string v must be KERI10JSON, 6 lowercase hex digits of size and _; got {got}"
            ),
            EventError::Ilk(got) => {
                write!(formatter, "event type t must be icp, dip, rot, drt or ixn; got {got}")
            }
            EventError::FieldOrder { ilk, got } => write!(
                formatter,
                "field order must be {}; got {}",
                ilk.labels().join(", "),
                got.join(", ")
            ),
            EventError::FieldType { field, expected, got } => {
                write!(formatter, "field {field} must be {expected}; got {got}")
            }
            EventError::Primitive { field, error } => write!(formatter, "field {field}: {error}"),
            EventError::Invalid(reason) | EventError::Kel(reason) => formatter.write_str(reason),
            EventError::Size { declared, actual } => write!(
                formatter,
                "version string size {declared:#x} does not match serialized size {actual:#x}"
            ),
            EventError::SaidMismatch { field, got, computed } => {
                let what = if *field == "d" { "SAID" } else { "prefix" };
                write!(formatter, "{what} mismatch: {field} is {got}, computed {computed}")
            }
            EventError::SignatureIndex { index, keys } => {
                write!(formatter, "signature index {index} has no key among the {keys} current keys")
            }
            EventError::DuplicateIndex(index) => {
                write!(formatter, "two signatures carry the same index {index}")
            }
            EventError::Signatures {
                verified,
                given,
                threshold,
            } => write!(
                formatter,
                "{verified} of {given} signatures verify against the current keys, \
                 the signing threshold {threshold} is not met"
            ),
        }
    }
}

impl std::error::Error for EventError {}

impl EventError {
    /// The event error for a message whose `d` is `said` and whose bytes disagree.
    pub(super) fn unsealed(sealing: Sealing, said: &str) -> Self {
        match sealing {
            Sealing::Size { declared, actual } => EventError::Size { declared, actual },
            Sealing::Said { computed } => EventError::SaidMismatch {
                field: "d",
                got: said.to_owned(),
                computed,
            },
        }
    }
}
