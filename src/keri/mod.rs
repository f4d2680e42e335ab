//! KERI and Signify wire formats the agency speaks: KERI v1 JSON messages, CESR text and
//! streams. Nothing here does I/O beyond reading the system random source, and nothing imports
//! from the crate outside `keri`; each module imports only the ones listed before it.
//!
//! - `cesr`: the qb64 codec: derivation and count codes, layouts, `CesrError`, sequence numbers
//!   and datetimes; `primitives`: `Verfer`, `Diger`, `Salt`, `Cigar`, `Siger` and `Signer`.
//! - `serder`: version strings, compact JSON and SAIDs of any message; `threshold`: numeric
//!   and weighted thresholds; `ilk`: the event types; `seal`: anchored seals; `error`:
//!   `EventError`, shared by every message kind; `signatures`: indexed signatures against a
//!   key list and its threshold.
//! - `fields`: typed, checked views of a received event's fields; `event`: the verified
//!   `Event`; `build`: events built as Signify builds them.
//! - `kel`: key event logs, each event validated against the `KeyState` it follows; `state`:
//!   the `KeyStateRecord` Signify reads, written from a `KeyState` or a `Kel`.
//! - `routed`: what replies and exchanges share; `reply`: `rpy` messages; `stream`: CESR
//!   streams of messages and attachments; `exchange`: peer-to-peer `exn` messages; `oobi`: an
//!   agent's OOBI stream, written and verified; `tel`: the inception (`vcp`) of a credential
//!   registry's transaction event log; `tel_vc`: a credential's `iss` and `rev`; `acdc`:
//!   credentials (ACDCs) and the `-L` pathed groups of embedded messages; `schema`: credential
//!   schemas and their SAIDs (`$id`); `delegation`: a delegated event's anchor in its
//!   delegator's log, and `/delegate/request`.
//! - `json`: JSON written as Python's `json.dumps` writes it; `datetime`: timestamps as
//!   Python's `isoformat` writes them.

pub mod acdc;
pub mod build;
pub mod cesr;
pub mod datetime;
pub mod delegation;
pub mod error;
pub mod event;
pub mod exchange;
mod fields;
pub mod ilk;
pub mod json;
pub mod kel;
pub mod oobi;
pub mod pathed;
pub mod primitives;
pub mod reply;
mod routed;
pub mod schema;
pub mod seal;
mod serder;
mod signatures;
pub mod state;
pub mod stream;
pub mod tel;
pub mod tel_vc;
pub mod threshold;
#[cfg(test)]
mod vectors;
