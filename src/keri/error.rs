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

/// Why an event was not accepted into a key event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KelError {
    /// The event itself, or its signatures, did not verify.
    Event(EventError),
    /// A log must start with an inception.
    NotInception(Ilk),
    /// An inception can only start a log.
    LateInception,
    /// The event belongs to another identifier.
    Prefix {
        /// The log's prefix.
        expected: String,
        /// The event's prefix.
        got: String,
    },
    /// The identifier committed to no next keys, so it accepts no further events.
    NonTransferable(String),
    /// The sequence number is not the next one.
    Sequence {
        /// The next sequence number.
        expected: u64,
        /// The event's.
        got: u64,
    },
    /// `p` is not the SAID of the latest event.
    Prior {
        /// The latest event's SAID.
        expected: String,
        /// The event's `p`.
        got: String,
    },
    /// The identifier's configuration forbids interaction events.
    EstablishmentOnly,
    /// A delegated identifier rotates with `drt`, any other with `rot`.
    RotationKind {
        /// The kind the identifier needs.
        expected: Ilk,
        /// The kind received.
        got: Ilk,
    },
    /// The keys that signed a rotation do not fulfil the prior next-key commitment.
    NextKeys(String),
    /// A rotation's backer changes do not apply.
    Backers(String),
    /// A different event is already accepted at this sequence number.
    Duplicitous {
        /// The sequence number.
        sn: u64,
        /// The SAID already accepted there.
        accepted: String,
        /// The SAID received.
        got: String,
    },
}

impl fmt::Display for KelError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KelError::Event(error) => error.fmt(formatter),
            KelError::NotInception(ilk) => write!(
                formatter,
                "a key event log must start with an inception (icp or dip), not {ilk}"
            ),
            KelError::LateInception => {
                formatter.write_str("an inception can only start a key event log")
            }
            KelError::Prefix { expected, got } => {
                write!(
                    formatter,
                    "event of {got} does not belong to the key event log of {expected}"
                )
            }
            KelError::NonTransferable(prefix) => write!(
                formatter,
                "{prefix} is non-transferable (no next keys): it accepts no further events"
            ),
            KelError::Sequence { expected, got } => {
                write!(
                    formatter,
                    "sequence number s must be {expected:x}, not {got:x}"
                )
            }
            KelError::Prior { expected, got } => write!(
                formatter,
                "prior p must be {expected}, the SAID of the latest event, not {got}"
            ),
            KelError::EstablishmentOnly => formatter
                .write_str("configuration trait EO allows only establishment events, not ixn"),
            KelError::RotationKind { expected, got } => {
                write!(
                    formatter,
                    "this identifier rotates with {expected}, not {got}"
                )
            }
            KelError::NextKeys(reason) | KelError::Backers(reason) => formatter.write_str(reason),
            KelError::Duplicitous { sn, accepted, got } => write!(
                formatter,
                "event {got} at sequence number {sn:x} conflicts with the accepted event {accepted}"
            ),
        }
    }
}

impl std::error::Error for KelError {}

impl From<EventError> for KelError {
    fn from(error: EventError) -> Self {
        KelError::Event(error)
    }
}
