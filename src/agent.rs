//! One agent: the cloud half of a Signify controller, with its own store.
//!
//! `Agent::create` (at boot) or `Agent::open` (on first use after a restart) opens the store;
//! `Agent::close` drops it. The agency owns every agent and closes them newest first.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use redb::Database;
use serde_json::Value;

use crate::config::Urls;
use crate::keri::cesr::{Diger, Siger, Signer};
use crate::keri::event::{self, Event, Ilk};
use crate::keri::state::KeyStateRecord;
use crate::secrets::SecretBox;
use crate::store::{self, APPROVALS, EVENTS, FIRST_SEEN, SECRETS, SETTINGS, SIGNATURES};

/// Page cache of one agent store: small, since an agent's working set is a few events.
const AGENT_CACHE_BYTES: usize = 64 * 1024;

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
    /// Appended to the KEL.
    Added,
    /// Identical to the event already accepted at that sequence number.
    Duplicate,
}

/// Why an event was refused; the KEL is unchanged.
#[derive(Debug)]
pub struct Refusal(pub String);

/// A loaded agent.
pub struct Agent {
    controller: String,
    prefix: String,
    signer: Signer,
    store: Database,
    path: PathBuf,
    last_used: Instant,
}

impl Agent {
    /// Makes the agent's keys and `dip`, and writes them with the controller's KEL in one
    /// durable commit to a new store at `path`.
    pub fn create(path: &Path, new: &NewAgent<'_>, now: Instant) -> Result<Self> {
        let controller = new.controller_icp.prefix().to_owned();
        let signer = Signer::random()?;
        let next = Signer::random()?;
        let dip = event::delegated_incept(
            &[signer.verfer()],
            &[Diger::blake3(next.verfer().qb64().as_bytes())],
            &controller,
        );
        let prefix = dip.prefix().to_owned();
        let sealed_current = new.secrets.seal(signer.seed())?;
        let sealed_next = new.secrets.seal(next.seed())?;
        let store = store::open(path, AGENT_CACHE_BYTES)?;
        let write = || -> Result<()> {
            let txn = store::begin_write(&store)?;
            {
                let mut events = txn.open_table(EVENTS)?;
                let mut signatures = txn.open_table(SIGNATURES)?;
                let mut first_seen = txn.open_table(FIRST_SEEN)?;
                events.insert((controller.as_str(), 0), new.controller_icp.raw())?;
                let sigs: Vec<String> = new.controller_sigs.iter().map(Siger::qb64).collect();
                signatures.insert((controller.as_str(), 0), sigs.join(",").as_str())?;
                first_seen.insert((controller.as_str(), 0), new.first_seen)?;
                events.insert((prefix.as_str(), 0), dip.raw())?;
                first_seen.insert((prefix.as_str(), 0), new.first_seen)?;
                let mut secrets = txn.open_table(SECRETS)?;
                secrets.insert("agent.current", sealed_current.as_slice())?;
                secrets.insert("agent.next", sealed_next.as_slice())?;
                let mut settings = txn.open_table(SETTINGS)?;
                settings.insert("controller", controller.as_str())?;
                settings.insert("agent", prefix.as_str())?;
                settings.insert("stem", new.params.stem.as_str())?;
                settings.insert("pidx", new.params.pidx.to_string().as_str())?;
                settings.insert("tier", new.params.tier.as_str())?;
                settings.insert("curls", new.urls.curls.join(";").as_str())?;
                settings.insert("iurls", new.urls.iurls.join(";").as_str())?;
                settings.insert("durls", new.urls.durls.join(";").as_str())?;
                txn.open_table(APPROVALS)?;
            }
            txn.commit()?;
            Ok(())
        };
        write().with_context(|| format!("writing agent store {}", path.display()))?;
        Ok(Self {
            controller,
            prefix,
            signer,
            store,
            path: path.to_path_buf(),
            last_used: now,
        })
    }

    /// Opens the store of an existing agent and reads its signing key.
    pub fn open(path: &Path, controller: &str, secrets: &SecretBox, now: Instant) -> Result<Self> {
        let store = store::open(path, AGENT_CACHE_BYTES)?;
        let read = || -> Result<(Option<String>, Option<Vec<u8>>)> {
            let txn = store.begin_read()?;
            let prefix = txn
                .open_table(SETTINGS)?
                .get("agent")?
                .map(|value| value.value().to_owned());
            let seed = txn
                .open_table(SECRETS)?
                .get("agent.current")?
                .map(|value| value.value().to_vec());
            Ok((prefix, seed))
        };
        let (prefix, seed) =
            read().with_context(|| format!("reading agent store {}", path.display()))?;
        let (Some(prefix), Some(seed)) = (prefix, seed) else {
            bail!("agent store {} has no agent keys", path.display());
        };
        let seed = secrets
            .open(&seed)
            .with_context(|| format!("opening the keys of agent {prefix}"))?;
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| anyhow!("agent {prefix}: stored seed has the wrong length"))?;
        Ok(Self {
            controller: controller.to_owned(),
            prefix,
            signer: Signer::from_seed(&seed),
            store,
            path: path.to_path_buf(),
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

    /// Marks the agent used now (the releaser closes agents idle too long).
    pub fn touch(&mut self, now: Instant) {
        self.last_used = now;
    }

    /// When the agent was last used.
    pub fn last_used(&self) -> Instant {
        self.last_used
    }

    /// Every event of `prefix`'s KEL, oldest first, with when each was first seen.
    pub fn kel(&self, prefix: &str) -> Result<Vec<(Event, String)>> {
        let read = || -> Result<Vec<(Vec<u8>, String)>> {
            let txn = self.store.begin_read()?;
            let events = txn.open_table(EVENTS)?;
            let first_seen = txn.open_table(FIRST_SEEN)?;
            let mut kel = Vec::new();
            for entry in events.range((prefix, 0)..=(prefix, u64::MAX))? {
                let (key, raw) = entry?;
                let seen = first_seen
                    .get(key.value())?
                    .map(|value| value.value().to_owned())
                    .unwrap_or_default();
                kel.push((raw.value().to_vec(), seen));
            }
            Ok(kel)
        };
        let raw = read().with_context(|| format!("reading the KEL of {prefix}"))?;
        raw.into_iter()
            .map(|(bytes, seen)| {
                let value: Value = serde_json::from_slice(&bytes)
                    .with_context(|| format!("stored event of {prefix} is not JSON"))?;
                let event = Event::verify(&value)
                    .map_err(|err| anyhow!("stored event of {prefix} is invalid: {err}"))?;
                Ok((event, seen))
            })
            .collect()
    }

    /// The key state of `prefix` from its KEL in this store.
    pub fn key_state(&self, prefix: &str) -> Result<KeyStateRecord> {
        let kel = self.kel(prefix)?;
        let Some((_, seen)) = kel.last() else {
            bail!("no KEL for {prefix} in agent {}", self.prefix);
        };
        let seen = seen.clone();
        let events: Vec<Event> = kel.into_iter().map(|(event, _)| event).collect();
        KeyStateRecord::from_kel(&events, &seen)
            .map_err(|err| anyhow!("key state of {prefix}: {err}"))
    }

    /// The controller's latest establishment event.
    pub fn controller_establishment(&self) -> Result<Event> {
        self.kel(&self.controller)?
            .into_iter()
            .map(|(event, _)| event)
            .rfind(|event| event.ilk().is_establishment())
            .ok_or_else(|| anyhow!("no establishment event for controller {}", self.controller))
    }

    /// Appends the controller's interaction event `ixn` after checking it continues the KEL
    /// (sequence, prior, signatures by the current keys), and records the approval its first
    /// seal gives. The event already accepted at that sequence number is a duplicate.
    pub fn accept_interaction(
        &self,
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
        let kel: Vec<Event> = self
            .kel(&self.controller)
            .map_err(|err| Refusal(format!("{err:#}")))?
            .into_iter()
            .map(|(event, _)| event)
            .collect();
        let (Some(latest), Some(establishment)) = (
            kel.last(),
            kel.iter().rfind(|event| event.ilk().is_establishment()),
        ) else {
            return Err(Refusal(format!(
                "no key event log for controller {}",
                self.controller
            )));
        };
        ixn.verify_signatures(&establishment.keys(), sigs)
            .map_err(|err| Refusal(format!("signatures: {err}")))?;
        if let Some(accepted) = usize::try_from(ixn.sn()).ok().and_then(|sn| kel.get(sn)) {
            if accepted.said() == ixn.said() {
                return Ok(Accepted::Duplicate);
            }
            return Err(Refusal(format!(
                "a different event is already accepted at sequence number {:x}",
                ixn.sn()
            )));
        }
        if ixn.sn() != latest.sn() + 1 {
            return Err(Refusal(format!(
                "sequence number must be {:x}, not {:x}",
                latest.sn() + 1,
                ixn.sn()
            )));
        }
        if ixn.prior() != Some(latest.said()) {
            return Err(Refusal(format!(
                "prior p must be {}, the SAID of event {:x}",
                latest.said(),
                latest.sn()
            )));
        }
        let controller = self.controller.as_str();
        let sn = ixn.sn();
        let approval = ixn
            .seals()
            .first()
            .and_then(|seal| Some((seal.prefix()?.to_owned(), seal.said()?.to_owned())));
        let write = || -> Result<()> {
            let txn = store::begin_write(&self.store)?;
            {
                txn.open_table(EVENTS)?
                    .insert((controller, sn), ixn.raw())?;
                let sigs: Vec<String> = sigs.iter().map(Siger::qb64).collect();
                txn.open_table(SIGNATURES)?
                    .insert((controller, sn), sigs.join(",").as_str())?;
                txn.open_table(FIRST_SEEN)?
                    .insert((controller, sn), first_seen)?;
                if let Some((prefix, said)) = &approval {
                    txn.open_table(APPROVALS)?.insert(
                        (prefix.as_str(), said.as_str()),
                        format!("{sn:x},{}", ixn.said()).as_str(),
                    )?;
                }
            }
            txn.commit()?;
            Ok(())
        };
        write()
            .with_context(|| format!("storing event {sn:x} of {controller}"))
            .map_err(|err| Refusal(format!("{err:#}")))?;
        Ok(Accepted::Added)
    }

    /// The store file, for the log.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the agent's store.
    pub fn close(self) {
        let Self { store, prefix, .. } = self;
        store::close(store);
        log::debug!("agent {prefix} closed");
    }
}
