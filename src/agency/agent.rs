//! One agent: the cloud half of a Signify controller, held in memory while loaded.
//!
//! An agent owns no file: its rows live in the agency store under its controller's AID.
//! `Agent::create` stages a new agent's rows into a batch (at boot); `Agent::load` reads them
//! back (on first use after a restart). A loaded agent caches its signing key and its
//! controller's current key state, so a signed request does no store read to find the key;
//! the cache moves only with an accepted controller event. Releasing an agent drops it.

use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use super::settings::Urls;
use super::signatures;
use crate::keri::build;
use crate::keri::event::Event;
use crate::keri::ilk::Ilk;
use crate::keri::primitives::{Diger, Siger, Signer, Verfer};
use crate::keri::state::KeyStateRecord;
use crate::store::secrets::SecretBox;
use crate::store::{Batch, OwnerReader, Reader, StoredEvent};

/// Key-manager parameters Signify sent at boot.
#[derive(Debug, Clone)]
pub struct KeyParams {
    pub stem: String,
    pub pidx: u64,
    pub tier: String,
}

/// What `Agent::create` needs.
pub struct NewAgent<'a> {
    pub controller_icp: &'a Event,
    pub controller_sigs: &'a [Siger],
    pub params: &'a KeyParams,
    pub urls: &'a Urls,
    pub secrets: &'a SecretBox,
    /// When the events are first seen (ISO-8601).
    pub first_seen: &'a str,
}

/// What `accept_interaction` did with an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Staged for the KEL.
    Added,
    /// Identical to the event already accepted at that sequence number.
    Duplicate,
}

/// Why an event was refused; the KEL is unchanged.
#[derive(Debug)]
pub struct Refusal(pub String);

/// The controller's key state as far as signed requests need it.
#[derive(Debug, Clone)]
struct ControllerKeys {
    /// The current signing keys (from the latest establishment event).
    keys: Vec<Verfer>,
    /// Sequence number and SAID of the latest event.
    sn: u64,
    said: String,
}

impl ControllerKeys {
    fn from_kel(kel: &[Event]) -> Result<Self> {
        let (Some(latest), Some(establishment)) = (
            kel.last(),
            kel.iter().rfind(|event| event.ilk().is_establishment()),
        ) else {
            bail!("no key event log");
        };
        Ok(Self {
            keys: establishment.keys(),
            sn: latest.sn(),
            said: latest.said().to_owned(),
        })
    }
}

/// A loaded agent.
pub struct Agent {
    controller: String,
    prefix: String,
    signer: Signer,
    controller_keys: ControllerKeys,
    last_used: Instant,
}

impl Agent {
    /// Shuts the agent: its signing key is wiped from memory (the key type zeroizes itself
    /// when dropped) with the controller's cached keys. Nothing of it is on any file to close.
    pub fn close(self) {
        drop(self);
    }

    /// Makes the agent's keys and `dip`, and stages them with the controller's inception in
    /// `batch`. Nothing is durable (or acknowledged) until the batch commits.
    pub fn create(batch: &mut Batch, new: &NewAgent<'_>, now: Instant) -> Result<(Self, Event)> {
        let controller = new.controller_icp.prefix().to_owned();
        let signer = Signer::random()?;
        let next = Signer::random()?;
        let dip = build::delegated_incept(
            &[signer.verfer()],
            &[Diger::blake3(next.verfer().qb64().as_bytes())],
            &controller,
        );
        let prefix = dip.prefix().to_owned();
        let sealed_current = new.secrets.seal(signer.seed())?;
        let sealed_next = new.secrets.seal(next.seed())?;
        let stage = |batch: &mut Batch| -> Result<()> {
            let mut rows = batch.owner(&controller);
            rows.put_event(
                &controller,
                0,
                &StoredEvent {
                    raw: new.controller_icp.raw().to_vec(),
                    sigs: signatures::join(new.controller_sigs),
                    first_seen: new.first_seen.to_owned(),
                },
            )?;
            rows.put_event(
                &prefix,
                0,
                &StoredEvent {
                    raw: dip.raw().to_vec(),
                    sigs: signer.sign_indexed(dip.raw(), 0).qb64(),
                    first_seen: new.first_seen.to_owned(),
                },
            )?;
            rows.claim(&prefix)?;
            rows.claim(&controller)?;
            rows.put_secret("agent.current", &sealed_current)?;
            rows.put_secret("agent.next", &sealed_next)?;
            rows.put_setting("agent", &prefix)?;
            rows.put_setting("stem", &new.params.stem)?;
            rows.put_setting("pidx", &new.params.pidx.to_string())?;
            rows.put_setting("tier", &new.params.tier)?;
            rows.put_setting("curls", &new.urls.curls.join(";"))?;
            rows.put_setting("iurls", &new.urls.iurls.join(";"))?;
            rows.put_setting("durls", &new.urls.durls.join(";"))?;
            batch.add_agent(&controller, &prefix)
        };
        stage(batch).with_context(|| format!("staging agent {prefix}"))?;
        let controller_keys = ControllerKeys::from_kel(std::slice::from_ref(new.controller_icp))?;
        let agent = Self {
            controller,
            prefix,
            signer,
            controller_keys,
            last_used: now,
        };
        Ok((agent, dip))
    }

    /// Reads an existing agent's keys and its controller's key state from the store.
    pub fn load(
        reader: &Reader,
        controller: &str,
        secrets: &SecretBox,
        now: Instant,
    ) -> Result<Self> {
        let rows = reader.owner(controller);
        let (Some(prefix), Some(seed)) = (rows.setting("agent")?, rows.secret("agent.current")?)
        else {
            bail!("the store has no agent keys for controller {controller}");
        };
        let seed = secrets
            .open(&seed)
            .with_context(|| format!("opening the keys of agent {prefix}"))?;
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| anyhow!("agent {prefix}: stored seed has the wrong length"))?;
        let kel = events(&rows.kel(controller)?, controller)?;
        let controller_keys =
            ControllerKeys::from_kel(&kel).with_context(|| format!("controller {controller}"))?;
        Ok(Self {
            controller: controller.to_owned(),
            prefix,
            signer: Signer::from_seed(&seed),
            controller_keys,
            last_used: now,
        })
    }

    /// The controller's AID.
    pub fn controller(&self) -> &str {
        &self.controller
    }

    /// The agent's own AID.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The agent's signing key.
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The controller's current signing keys, from the cache.
    pub fn controller_keys(&self) -> &[Verfer] {
        &self.controller_keys.keys
    }

    /// Marks the agent used now (the releaser drops agents idle too long).
    pub fn touch(&mut self, now: Instant) {
        self.last_used = now;
    }

    /// When the agent was last used.
    pub fn last_used(&self) -> Instant {
        self.last_used
    }

    /// The key state of `prefix` (the agent's or the controller's) from the store.
    pub fn key_state(&self, reader: &Reader, prefix: &str) -> Result<KeyStateRecord> {
        let rows = reader.owner(&self.controller);
        let stored = rows.kel(prefix)?;
        let Some(last) = stored.last() else {
            bail!("no KEL for {prefix} in agent {}", self.prefix);
        };
        let seen = last.first_seen.clone();
        let kel = events(&stored, prefix)?;
        KeyStateRecord::from_kel(&kel, &seen).map_err(|err| anyhow!("key state of {prefix}: {err}"))
    }

    /// The controller's latest establishment event.
    pub fn controller_establishment(&self, reader: &Reader) -> Result<Event> {
        controller_kel(&reader.owner(&self.controller), &self.controller)?
            .into_iter()
            .rfind(|event| event.ilk().is_establishment())
            .ok_or_else(|| anyhow!("no establishment event for controller {}", self.controller))
    }

    /// Stages the controller's interaction event `ixn` after checking it continues the KEL
    /// (sequence, prior, signatures by the current keys), and records the approval its first
    /// seal gives. The event already accepted at that sequence number is a duplicate. The
    /// cached key state moves with the staged event; if the batch then fails to commit, the
    /// agency drops this agent so that it reloads from what is durable.
    pub fn accept_interaction(
        &mut self,
        batch: &mut Batch,
        ixn: &Event,
        sigs: &[Siger],
        first_seen: &str,
    ) -> Result<Accepted, Refusal> {
        if ixn.ilk() != Ilk::Ixn {
            return Err(Refusal(format!(
                "expected an interaction event (t \"ixn\"), got {:?}",
                ixn.ilk().as_str()
            )));
        }
        if ixn.prefix() != self.controller {
            return Err(Refusal(format!(
                "ixn i must be the controller {}, not {}",
                self.controller,
                ixn.prefix()
            )));
        }
        ixn.verify_signatures(&self.controller_keys.keys, sigs)
            .map_err(|err| Refusal(format!("signatures: {err}")))?;
        let latest = &self.controller_keys;
        if ixn.sn() <= latest.sn {
            let rows = batch.owner(&self.controller);
            let accepted = rows
                .kel(&self.controller)
                .map_err(|err| Refusal(format!("{err:#}")))?;
            let same = usize::try_from(ixn.sn())
                .ok()
                .and_then(|sn| accepted.get(sn))
                .is_some_and(|stored| stored.raw == ixn.raw());
            if same {
                return Ok(Accepted::Duplicate);
            }
            return Err(Refusal(format!(
                "a different event is already accepted at sequence number {:x}",
                ixn.sn()
            )));
        }
        if ixn.sn() != latest.sn + 1 {
            return Err(Refusal(format!(
                "sequence number must be {:x}, not {:x}",
                latest.sn + 1,
                ixn.sn()
            )));
        }
        if ixn.prior() != Some(latest.said.as_str()) {
            return Err(Refusal(format!(
                "prior p must be {}, the SAID of event {:x}",
                latest.said, latest.sn
            )));
        }
        let sn = ixn.sn();
        let approval = ixn
            .seals()
            .first()
            .and_then(|seal| Some((seal.prefix()?.to_owned(), seal.said()?.to_owned())));
        let controller = self.controller.clone();
        let stage = |batch: &mut Batch| -> Result<()> {
            let mut rows = batch.owner(&controller);
            rows.put_event(
                &controller,
                sn,
                &StoredEvent {
                    raw: ixn.raw().to_vec(),
                    sigs: signatures::join(sigs),
                    first_seen: first_seen.to_owned(),
                },
            )?;
            if let Some((prefix, said)) = &approval {
                rows.put_approval(prefix, said, &format!("{sn:x},{}", ixn.said()))?;
            }
            Ok(())
        };
        stage(batch)
            .with_context(|| format!("staging event {sn:x} of {controller}"))
            .map_err(|err| Refusal(format!("{err:#}")))?;
        self.controller_keys.sn = sn;
        ixn.said().clone_into(&mut self.controller_keys.said);
        Ok(Accepted::Added)
    }
}

/// The controller's KEL, parsed and verified.
fn controller_kel(rows: &OwnerReader<'_>, controller: &str) -> Result<Vec<Event>> {
    events(&rows.kel(controller)?, controller)
}

/// Parses and verifies stored events.
fn events(stored: &[StoredEvent], prefix: &str) -> Result<Vec<Event>> {
    stored
        .iter()
        .map(|event| {
            let value: Value = serde_json::from_slice(&event.raw)
                .with_context(|| format!("stored event of {prefix} is not JSON"))?;
            Event::verify(&value)
                .map_err(|err| anyhow!("stored event of {prefix} is invalid: {err}"))
        })
        .collect()
}
