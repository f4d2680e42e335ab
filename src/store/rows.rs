//! The owner-scoped handles on the store's rows: a `Reader` (one read transaction) and a
//! `Batch` (one write transaction), each reaching an agent's rows only through
//! `owner(controller)`, whose every key begins with that controller's AID.

use anyhow::{Context, Result};
use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::tables::{
    Records, AGENTS, APPROVALS, EVENTS, FIRST_SEEN, FORMAT, FORMAT_KEY, META, OWNERS, SECRETS,
    SETTINGS, SIGNATURES,
};

/// An event as stored: its bytes, signatures and first-seen time.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub raw: Vec<u8>,
    pub sigs: String,
    pub first_seen: String,
}

/// A read transaction over the committed rows.
pub struct Reader {
    txn: ReadTransaction,
}

impl Reader {
    pub(super) fn new(txn: ReadTransaction) -> Self {
        Self { txn }
    }

    /// A metadata value.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let table = match self.txn.open_table(META) {
            Ok(table) => table,
            // Only a store not yet prepared has no metadata.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        Ok(table.get(key)?.map(|value| value.value().to_vec()))
    }

    /// The agent AID of `controller`, if its boot was acknowledged.
    pub fn agent_of(&self, controller: &str) -> Result<Option<String>> {
        let table = self.txn.open_table(AGENTS)?;
        Ok(table.get(controller)?.map(|value| value.value().to_owned()))
    }

    /// The controller whose agent serves `prefix` (one of its identifiers, or the agent).
    pub fn owner_of(&self, prefix: &str) -> Result<Option<String>> {
        let table = self.txn.open_table(OWNERS)?;
        Ok(table.get(prefix)?.map(|value| value.value().to_owned()))
    }

    /// Every record of `kind`, of every owner: (owner, name, record).
    pub fn every_record(&self, kind: Records) -> Result<Vec<(String, String, String)>> {
        let table = self.txn.open_table(kind)?;
        let mut found = Vec::new();
        for entry in table.iter()? {
            let (key, value) = entry?;
            let (owner, name) = key.value();
            found.push((owner.to_owned(), name.to_owned(), value.value().to_owned()));
        }
        Ok(found)
    }

    /// How many controllers have an agent.
    pub fn agent_count(&self) -> Result<u64> {
        Ok(self.txn.open_table(AGENTS)?.len()?)
    }

    /// Whether the store carries the format marker this code writes.
    pub fn is_keria_store(&self) -> Result<bool> {
        Ok(self.meta(FORMAT_KEY)?.as_deref() == Some(FORMAT))
    }

    /// The read transaction behind this view, for `copy`.
    pub(super) fn transaction(&self) -> &ReadTransaction {
        &self.txn
    }

    /// The rows of `controller`'s agent.
    pub fn owner<'r>(&'r self, controller: &'r str) -> OwnerReader<'r> {
        OwnerReader {
            txn: &self.txn,
            owner: controller,
        }
    }
}

/// Reads one controller's rows.
pub struct OwnerReader<'r> {
    txn: &'r ReadTransaction,
    owner: &'r str,
}

impl OwnerReader<'_> {
    /// Every event of `prefix`'s KEL, oldest first.
    pub fn kel(&self, prefix: &str) -> Result<Vec<StoredEvent>> {
        kel(
            &self.txn.open_table(EVENTS)?,
            &self.txn.open_table(SIGNATURES)?,
            &self.txn.open_table(FIRST_SEEN)?,
            self.owner,
            prefix,
        )
    }

    /// A setting.
    pub fn setting(&self, name: &str) -> Result<Option<String>> {
        let table = self.txn.open_table(SETTINGS)?;
        Ok(table
            .get((self.owner, name))?
            .map(|value| value.value().to_owned()))
    }

    /// A (sealed) secret.
    pub fn secret(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let table = self.txn.open_table(SECRETS)?;
        Ok(table
            .get((self.owner, name))?
            .map(|value| value.value().to_vec()))
    }

    /// One record of `kind`.
    pub fn record(&self, kind: Records, name: &str) -> Result<Option<String>> {
        record(&self.txn.open_table(kind)?, self.owner, name)
    }

    /// The approval ("sn,SAID" of the controller's event) of the delegate `prefix`'s `said`.
    pub fn approval(&self, prefix: &str, said: &str) -> Result<Option<String>> {
        let table = self.txn.open_table(APPROVALS)?;
        Ok(table
            .get((self.owner, prefix, said))?
            .map(|value| value.value().to_owned()))
    }

    /// Every record of `kind` whose name starts with `prefix`, in name order.
    pub fn records(&self, kind: Records, prefix: &str) -> Result<Vec<(String, String)>> {
        records(&self.txn.open_table(kind)?, self.owner, prefix)
    }

    /// The event of `prefix` at `sn`, if held.
    pub fn event(&self, prefix: &str, sn: u64) -> Result<Option<StoredEvent>> {
        let key = (self.owner, prefix, sn);
        let Some(raw) = self
            .txn
            .open_table(EVENTS)?
            .get(key)?
            .map(|raw| raw.value().to_vec())
        else {
            return Ok(None);
        };
        let text = |table: Option<redb::AccessGuard<'_, &'static str>>| {
            table
                .map(|value| value.value().to_owned())
                .unwrap_or_default()
        };
        Ok(Some(StoredEvent {
            raw,
            sigs: text(self.txn.open_table(SIGNATURES)?.get(key)?),
            first_seen: text(self.txn.open_table(FIRST_SEEN)?.get(key)?),
        }))
    }

    /// Visits the records of `kind` whose names start with `prefix`, in name order, until
    /// `visit` answers false: a bounded read of an index, never a copy of all of it.
    pub fn scan(
        &self,
        kind: Records,
        prefix: &str,
        mut visit: impl FnMut(&str, &str) -> Result<bool>,
    ) -> Result<()> {
        let table = self.txn.open_table(kind)?;
        for entry in table.range((self.owner, prefix)..)? {
            let (key, value) = entry?;
            let (key_owner, name) = key.value();
            if key_owner != self.owner || !name.starts_with(prefix) {
                break;
            }
            if !visit(name, value.value())? {
                break;
            }
        }
        Ok(())
    }

    /// How many records of `kind` there are, read without copying them.
    pub fn count(&self, kind: Records) -> Result<usize> {
        let table = self.txn.open_table(kind)?;
        let mut count = 0;
        for entry in table.range((self.owner, "")..)? {
            if entry?.0.value().0 != self.owner {
                break;
            }
            count += 1;
        }
        Ok(count)
    }
}

/// One write transaction: rows staged together, durable together at `commit`.
pub struct Batch {
    txn: WriteTransaction,
}

impl Batch {
    pub(super) fn new(txn: WriteTransaction) -> Self {
        Self { txn }
    }

    /// The write transaction behind this batch, for the store's own preparation.
    pub(super) fn transaction(&self) -> &WriteTransaction {
        &self.txn
    }

    /// How durable this batch's commit is.
    pub(super) fn set_durability(&mut self, durability: redb::Durability) -> Result<()> {
        self.txn.set_durability(durability)?;
        Ok(())
    }

    /// Sets a metadata value.
    pub fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.txn.open_table(META)?.insert(key, value)?;
        Ok(())
    }

    /// The agent AID of `controller`, counting agents staged in this batch.
    pub fn agent_of(&self, controller: &str) -> Result<Option<String>> {
        let table = self.txn.open_table(AGENTS)?;
        let agent = table.get(controller)?.map(|value| value.value().to_owned());
        Ok(agent)
    }

    /// Records the controller ↔ agent mapping: the row that acknowledges a boot.
    pub fn add_agent(&mut self, controller: &str, agent: &str) -> Result<()> {
        self.txn.open_table(AGENTS)?.insert(controller, agent)?;
        Ok(())
    }

    /// Stages rows of `controller`'s agent.
    pub fn owner<'b>(&'b mut self, controller: &'b str) -> OwnerWriter<'b> {
        OwnerWriter {
            txn: &self.txn,
            owner: controller,
        }
    }

    /// Makes everything staged durable (one fsync-bound commit).
    pub fn commit(self) -> Result<()> {
        self.txn.commit().context("committing to the store")
    }

    /// Drops everything staged: nothing of it reaches the file.
    pub fn abort(self) -> Result<()> {
        self.txn.abort().context("aborting a batch")
    }
}

/// Stages (and reads back, staged rows included) one controller's rows.
pub struct OwnerWriter<'b> {
    txn: &'b WriteTransaction,
    owner: &'b str,
}

impl OwnerWriter<'_> {
    /// Every event of `prefix`'s KEL, oldest first, staged events included.
    pub fn kel(&self, prefix: &str) -> Result<Vec<StoredEvent>> {
        kel(
            &self.txn.open_table(EVENTS)?,
            &self.txn.open_table(SIGNATURES)?,
            &self.txn.open_table(FIRST_SEEN)?,
            self.owner,
            prefix,
        )
    }

    /// Appends (or replaces) event `sn` of `prefix`.
    pub fn put_event(&mut self, prefix: &str, sn: u64, event: &StoredEvent) -> Result<()> {
        let key = (self.owner, prefix, sn);
        self.txn
            .open_table(EVENTS)?
            .insert(key, event.raw.as_slice())?;
        self.txn
            .open_table(SIGNATURES)?
            .insert(key, event.sigs.as_str())?;
        self.txn
            .open_table(FIRST_SEEN)?
            .insert(key, event.first_seen.as_str())?;
        Ok(())
    }

    /// Removes the events of `prefix` after `sn` (superseded by a recovery rotation at `sn`).
    pub fn remove_events_after(&mut self, prefix: &str, sn: u64) -> Result<()> {
        let range = (self.owner, prefix, sn + 1)..=(self.owner, prefix, u64::MAX);
        self.txn
            .open_table(EVENTS)?
            .retain_in(range.clone(), |_, _| false)?;
        self.txn
            .open_table(SIGNATURES)?
            .retain_in(range.clone(), |_, _| false)?;
        self.txn
            .open_table(FIRST_SEEN)?
            .retain_in(range, |_, _| false)?;
        Ok(())
    }

    /// Sets a setting.
    pub fn put_setting(&mut self, name: &str, value: &str) -> Result<()> {
        self.txn
            .open_table(SETTINGS)?
            .insert((self.owner, name), value)?;
        Ok(())
    }

    /// Stores a (sealed) secret.
    pub fn put_secret(&mut self, name: &str, value: &[u8]) -> Result<()> {
        self.txn
            .open_table(SECRETS)?
            .insert((self.owner, name), value)?;
        Ok(())
    }

    /// One record of `kind`, staged ones included.
    pub fn record(&self, kind: Records, name: &str) -> Result<Option<String>> {
        record(&self.txn.open_table(kind)?, self.owner, name)
    }

    /// Every record of `kind` whose name starts with `prefix`, staged ones included.
    pub fn records(&self, kind: Records, prefix: &str) -> Result<Vec<(String, String)>> {
        records(&self.txn.open_table(kind)?, self.owner, prefix)
    }

    /// Records that this owner's agent serves `prefix`.
    pub fn claim(&mut self, prefix: &str) -> Result<()> {
        self.txn.open_table(OWNERS)?.insert(prefix, self.owner)?;
        Ok(())
    }

    /// Sets a record of `kind`.
    pub fn put_record(&mut self, kind: Records, name: &str, value: &str) -> Result<()> {
        self.txn
            .open_table(kind)?
            .insert((self.owner, name), value)?;
        Ok(())
    }

    /// Removes a record of `kind`; whether it was there.
    pub fn remove_record(&mut self, kind: Records, name: &str) -> Result<bool> {
        Ok(self
            .txn
            .open_table(kind)?
            .remove((self.owner, name))?
            .is_some())
    }

    /// Records that event `approval` ("sn,SAID") approved the delegate `prefix`'s `said`.
    pub fn put_approval(&mut self, prefix: &str, said: &str, approval: &str) -> Result<()> {
        self.txn
            .open_table(APPROVALS)?
            .insert((self.owner, prefix, said), approval)?;
        Ok(())
    }
}

/// The events of `(owner, prefix)` in sequence order.
fn kel(
    events: &impl ReadableTable<(&'static str, &'static str, u64), &'static [u8]>,
    signatures: &impl ReadableTable<(&'static str, &'static str, u64), &'static str>,
    first_seen: &impl ReadableTable<(&'static str, &'static str, u64), &'static str>,
    owner: &str,
    prefix: &str,
) -> Result<Vec<StoredEvent>> {
    let mut kel = Vec::new();
    for entry in events.range((owner, prefix, 0)..=(owner, prefix, u64::MAX))? {
        let (key, raw) = entry?;
        let key = key.value();
        let sigs = signatures
            .get(key)?
            .map(|value| value.value().to_owned())
            .unwrap_or_default();
        let seen = first_seen
            .get(key)?
            .map(|value| value.value().to_owned())
            .unwrap_or_default();
        kel.push(StoredEvent {
            raw: raw.value().to_vec(),
            sigs,
            first_seen: seen,
        });
    }
    Ok(kel)
}

fn record(
    table: &impl ReadableTable<(&'static str, &'static str), &'static str>,
    owner: &str,
    name: &str,
) -> Result<Option<String>> {
    Ok(table
        .get((owner, name))?
        .map(|value| value.value().to_owned()))
}

fn records(
    table: &impl ReadableTable<(&'static str, &'static str), &'static str>,
    owner: &str,
    prefix: &str,
) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    for entry in table.range((owner, prefix)..)? {
        let (key, value) = entry?;
        let (key_owner, name) = key.value();
        if key_owner != owner || !name.starts_with(prefix) {
            break;
        }
        found.push((name.to_owned(), value.value().to_owned()));
    }
    Ok(found)
}
