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

use super::kels;
use super::settings::Urls;
use super::signatures;
use crate::keri::build;
use crate::keri::event::Event;
use crate::keri::ilk::Ilk;
use crate::keri::kel::{Appended, Kel, KeyState, SignedEvent};
use crate::keri::primitives::{Diger, Siger, Signer, Verfer};
use crate::keri::state::KeyStateRecord;
use crate::store::secrets::SecretBox;
use crate::store::{Batch, OwnerReader, OwnerWriter, Reader, StoredEvent};

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

/// What the agent did with a controller event.
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

/// A controller event checked against the controller's KEL, not yet staged.
pub struct CheckedEvent {
    signed: SignedEvent,
    appended: Appended,
    state: KeyState,
    first_seen: String,
}

impl CheckedEvent {
    /// Whether the event is the one already accepted at its sequence number.
    pub fn is_duplicate(&self) -> bool {
        !self.appended.is_new()
    }

    /// The event.
    pub fn event(&self) -> &Event {
        &self.signed.event
    }
}

/// A loaded agent.
pub struct Agent {
    controller: String,
    prefix: String,
    signer: Signer,
    /// The controller's key state, moved only by an accepted controller event.
    controller_state: KeyState,
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
        let controller_kel = Kel::incept(
            SignedEvent {
                event: new.controller_icp.clone(),
                sigs: new.controller_sigs.to_vec(),
                delegation: None,
            },
            new.first_seen,
        )
        .map_err(|err| anyhow!("controller inception: {err}"))?;
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
        let agent = Self {
            controller,
            prefix,
            signer,
            controller_state: controller_kel.state().clone(),
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
        let kel = kels::replay(&rows.kel(controller)?, controller, None)?;
        Ok(Self {
            controller: controller.to_owned(),
            prefix,
            signer: Signer::from_seed(&seed),
            controller_state: kel.state().clone(),
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
        self.controller_state.keys()
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

    /// Checks the controller's next event (its approval `ixn`, or a `rot`) against the
    /// controller's KEL with the one KEL validator: sequence and prior, signatures by the
    /// current keys to their threshold (a rotation: by its new keys, revealing the prior
    /// next-key commitment), the establishment-only rule. The outer error is the store's; the
    /// inner one the refusal. Stages nothing.
    pub fn check_event(
        &self,
        rows: &OwnerWriter<'_>,
        signed: SignedEvent,
        first_seen: &str,
    ) -> Result<Result<CheckedEvent, Refusal>> {
        if signed.event.prefix() != self.controller {
            return Ok(Err(Refusal(format!(
                "{} i must be the controller {}, not {}",
                signed.event.ilk(),
                self.controller,
                signed.event.prefix()
            ))));
        }
        let mut kel = kels::replay(&rows.kel(&self.controller)?, &self.controller, None)?;
        let appended = match kel.append(signed.clone(), first_seen) {
            Ok(appended) => appended,
            Err(err) => return Ok(Err(Refusal(format!("event refused: {err}")))),
        };
        Ok(Ok(CheckedEvent {
            signed,
            appended,
            state: kel.state().clone(),
            first_seen: first_seen.to_owned(),
        }))
    }

    /// Stages a checked controller event (nothing for a duplicate), with the approval the
    /// first seal of an interaction gives, and moves the cached key state with it. If the
    /// batch then fails, the agency drops this agent so that it reloads what is durable.
    pub fn stage_event(
        &mut self,
        rows: &mut OwnerWriter<'_>,
        checked: CheckedEvent,
    ) -> Result<Accepted> {
        let CheckedEvent {
            signed,
            appended,
            state,
            first_seen,
        } = checked;
        if !appended.is_new() {
            return Ok(Accepted::Duplicate);
        }
        let event = &signed.event;
        let sn = event.sn();
        rows.put_event(
            &self.controller,
            sn,
            &StoredEvent {
                raw: event.raw().to_vec(),
                sigs: signatures::join(&signed.sigs),
                first_seen,
            },
        )
        .with_context(|| format!("staging event {sn:x} of {}", self.controller))?;
        if let Appended::Recovered { .. } = appended {
            rows.remove_events_after(&self.controller, sn)?;
        }
        let approval = event
            .seals()
            .first()
            .filter(|_| event.ilk() == Ilk::Ixn)
            .and_then(|seal| Some((seal.prefix()?.to_owned(), seal.said()?.to_owned())));
        if let Some((prefix, said)) = &approval {
            rows.put_approval(prefix, said, &format!("{sn:x},{}", event.said()))?;
        }
        self.controller_state = state;
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
