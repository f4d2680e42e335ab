//! Every table of the agency store, written once: the list that creates them at open, copies
//! them into a backup and counts them. A new table is one more line here and nowhere else.
//!
//! Agent tables are keyed by tuples that begin with the owning controller's AID (see `store`).

use anyhow::Result;
use redb::{Key, TableDefinition, Value};

/// The META key naming the store format, and the format this code writes.
pub(super) const FORMAT_KEY: &str = "format";
pub(super) const FORMAT: &[u8] = b"keria-agency-store-1";

/// A table of one kind of record, keyed by owner and the record's name.
pub type Records = TableDefinition<'static, (&'static str, &'static str), &'static str>;

/// Something done to every table in turn (created, copied).
pub(super) trait Visitor {
    fn table<K: Key + 'static, V: Value + 'static>(
        &mut self,
        definition: TableDefinition<K, V>,
    ) -> Result<()>;
}

macro_rules! tables {
    ($($(#[$doc:meta])* $vis:vis $name:ident: $kind:ty = $label:literal;)*) => {
        $($(#[$doc])* $vis const $name: $kind = TableDefinition::new($label);)*

        /// How many tables the store holds.
        pub(super) const TABLE_COUNT: usize = [$($label),*].len();

        /// Visits every table, in the order listed.
        pub(super) fn visit(visitor: &mut impl Visitor) -> Result<()> {
            $(visitor.table($name)?;)*
            Ok(())
        }
    };
}

tables! {
    /// Agency metadata: the store format, the passcode salt and check value.
    pub(super) META: TableDefinition<'static, &'static str, &'static [u8]> = "meta";
    /// The index: controller AID → agent AID, one row per acknowledged boot.
    pub(super) AGENTS: TableDefinition<'static, &'static str, &'static str> = "agents";
    /// (owner, prefix, sequence number) → the event's serialized bytes.
    pub(super) EVENTS: TableDefinition<'static, (&'static str, &'static str, u64), &'static [u8]> = "events";
    /// (owner, prefix, sequence number) → its indexed signatures (qb64, comma-separated).
    pub(super) SIGNATURES: TableDefinition<'static, (&'static str, &'static str, u64), &'static str> =
        "signatures";
    /// (owner, prefix, sequence number) → when the event was first seen (ISO-8601).
    pub(super) FIRST_SEEN: TableDefinition<'static, (&'static str, &'static str, u64), &'static str> =
        "first_seen";
    /// (owner, name) → the agent's key seeds (sealed when a passcode is set).
    pub(super) SECRETS: TableDefinition<'static, (&'static str, &'static str), &'static [u8]> = "secrets";
    /// (owner, name) → settings (key-manager parameters, OOBI URLs).
    pub(super) SETTINGS: TableDefinition<'static, (&'static str, &'static str), &'static str> = "settings";
    /// (owner, delegate prefix, delegate SAID) → the approving event "sn,SAID".
    pub(super) APPROVALS: TableDefinition<'static, (&'static str, &'static str, &'static str), &'static str> =
        "approvals";
    /// Identifier prefix → the controller whose agent serves it (its own identifiers and its agent).
    pub(super) OWNERS: TableDefinition<'static, &'static str, &'static str> = "owners";
    /// (owner, identifier name) → the identifier's record (JSON).
    pub IDENTIFIERS: Records = "identifiers";
    /// (owner, identifier prefix) → its name.
    pub PREFIXES: Records = "prefixes";
    /// (owner, operation name) → the long-running operation (JSON).
    pub OPERATIONS: Records = "operations";
    /// (owner, "cid.role.eid") → the authorizing end-role reply and its signatures (JSON).
    pub END_ROLES: Records = "end_roles";
    /// (owner, "eid.scheme") → the location reply and its signatures (JSON).
    pub LOCATIONS: Records = "locations";
    /// (owner, contact prefix) → the contact (JSON): alias, OOBI, and the controller's own fields.
    pub CONTACTS: Records = "contacts";
    /// (owner, contact prefix) → the contact's image (JSON): its content type, its bytes in base64.
    pub CONTACT_IMAGES: Records = "contact_images";
    /// (owner, "{issuer prefix}.{registry name}") → the credential registry (JSON): name, regk.
    pub REGISTRIES: Records = "registries";
    /// (owner, "{regk}.{sn, 32 hex digits}") → the TEL event, its anchor and first-seen time (JSON).
    pub TELS: Records = "tels";
    /// (owner, exn SAID) → an exchange message sent or received, with its signatures (JSON).
    pub EXCHANGES: Records = "exchanges";
    /// (owner, "source.SAID") → a challenge response received from `source` (JSON).
    pub CHALLENGES: Records = "challenges";
    /// (owner, note id) → a notification for the controller (JSON).
    pub NOTIFICATIONS: Records = "notifications";
    /// (owner, "{exn SAID}.{recipient}") → a message still to be posted to another agency (JSON).
    pub OUTBOX: Records = "outbox";
    /// (owner, "{prefix}.{sn, 32 hex digits}") → the witnesses' receipts of that event (JSON):
    /// its SAID and each witness's signature.
    pub RECEIPTS: Records = "receipts";
    /// (owner, "{prefix}.{sn, 32 hex digits}") → an event still being receipted by its
    /// witnesses (JSON): SAID, witnesses, threshold, their URLs, its operation.
    pub RECEIPTING: Records = "receipting";
    /// (owner, schema SAID) → a credential schema resolved from a data OOBI (its JSON, as
    /// served): the controller's own, or the configuration's `durls` under `INTRODUCED`.
    pub SCHEMAS: Records = "schemas";
    /// (owner, "{prefix}.{sn, 32 hex digits}") → a delegated event of one of the owner's
    /// identifiers waiting for its delegator's approval (JSON): the event, its signatures, its
    /// delegator, operation and deadline.
    pub DELEGATING: Records = "delegating";
    /// (owner, "{delegate prefix}.{sn, 32 hex digits}") → a delegated event asked of one of the
    /// owner's identifiers by a `/delegate/request`, or the approval waiting for it (JSON).
    pub DELEGABLES: Records = "delegables";
    /// (owner, "escrow.{prefix}.{sn, 32 hex digits}" | "mux.{event SAID}.{exn SAID}" |
    /// "members.{prefix}") → a group event waiting for its members' signatures, a `/multisig`
    /// exn about an event, or a group's signing and rotation members (JSON).
    pub GROUPS: Records = "groups";
    /// (owner, credential SAID) → a credential issued or held (JSON): the ACDC as received.
    pub CREDENTIALS: Records = "credentials";
    /// (owner, "{field}\u{1f}{value}\u{1f}{issuance dt}\u{1f}{SAID}") → the SAID: the credential
    /// indexes `POST /credentials/query` reads, written in the same commits as the credentials.
    pub CREDENTIAL_INDEX: Records = "credential_index";
}
