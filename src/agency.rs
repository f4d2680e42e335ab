//! The agency: its index store and every agent, one per Signify controller.
//!
//! Opened by `Service::open` before the servers bind; closed by `Service::close` after they
//! are gone. Agents are loaded on first use (or created at boot) and kept in opening order;
//! `close` and the releaser close them newest first, then the index store closes.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use redb::{Database, ReadableTable};

use crate::agent::{Agent, KeyParams, NewAgent};
use crate::config::{StartConfig, Urls};
use crate::keri::cesr::Siger;
use crate::keri::event::Event;
use crate::keri::state::KeyStateRecord;
use crate::secrets::{self, SecretBox};
use crate::store::{self, AGENTS, CONTROLLERS, META};

/// Page cache of the agency index.
const AGENCY_CACHE_BYTES: usize = 1 << 20;
/// File name extension of every store.
const STORE_EXTENSION: &str = "redb";

/// Why a boot did not create an agent.
#[derive(Debug)]
pub enum BootError {
    /// The controller already has an agent.
    Exists,
    /// Storage failed; nothing was acknowledged.
    Storage(anyhow::Error),
}

/// The agents and what they share.
pub struct Agency {
    name: String,
    agents_dir: PathBuf,
    index_path: PathBuf,
    index: Database,
    /// Controller AID → agent AID, for every agent ever acknowledged.
    known: HashMap<String, String>,
    /// Loaded agents, oldest first.
    agents: Vec<Agent>,
    secrets: SecretBox,
    urls: Urls,
    release_timeout: Duration,
}

impl Agency {
    /// Opens the index at `<data-dir>/keri/adb/<base>/<name>.redb` and removes agent stores
    /// that a crashed boot left unacknowledged.
    pub fn open(config: &StartConfig) -> Result<Self> {
        let keri = config.data_dir.join("keri");
        let index_dir = keri.join("adb").join(&config.base);
        let agents_dir = keri.join("db").join(&config.base);
        store::private_dir(&index_dir)?;
        store::private_dir(&agents_dir)?;
        let index_path = index_dir.join(format!("{}.{STORE_EXTENSION}", config.name));
        let index = store::open(&index_path, AGENCY_CACHE_BYTES)?;
        let known = read_index(&index)
            .with_context(|| format!("reading agency index {}", index_path.display()))?;
        let secrets = unlock(
            &index,
            &index_path,
            config.passcode.as_deref(),
            known.is_empty(),
        )?;
        remove_unacknowledged(&agents_dir, &known)?;
        Ok(Self {
            name: config.name.clone(),
            agents_dir,
            index_path,
            index,
            known,
            agents: Vec::new(),
            secrets,
            urls: config.urls.clone(),
            release_timeout: config.release_timeout,
        })
    }

    /// How many controllers have an agent here.
    pub fn known(&self) -> usize {
        self.known.len()
    }

    /// How many agents are loaded now.
    pub fn loaded(&self) -> usize {
        self.agents.len()
    }

    /// Creates the agent of a verified controller inception; durable before it returns.
    pub fn boot(
        &mut self,
        icp: &Event,
        sigs: &[Siger],
        params: &KeyParams,
        first_seen: &str,
        now: Instant,
    ) -> Result<KeyStateRecord, BootError> {
        let controller = icp.prefix().to_owned();
        if self.known.contains_key(&controller) {
            return Err(BootError::Exists);
        }
        let path = self.store_path(&controller);
        // A store without an index entry was never acknowledged: start it afresh.
        if path.exists() {
            fs::remove_file(&path)
                .with_context(|| format!("removing {}", path.display()))
                .map_err(BootError::Storage)?;
        }
        let new = NewAgent {
            controller_icp: icp,
            controller_sigs: sigs,
            params,
            urls: &self.urls,
            secrets: &self.secrets,
            first_seen,
        };
        let created = Agent::create(&path, &new, now).and_then(|agent| {
            store::sync_dir(&self.agents_dir)?;
            let state = agent.key_state(agent.prefix())?;
            self.record(&controller, agent.prefix())?;
            Ok((agent, state))
        });
        match created {
            Ok((agent, state)) => {
                self.known.insert(controller, agent.prefix().to_owned());
                self.agents.push(agent);
                Ok(state)
            }
            Err(err) => {
                // Not acknowledged: leave nothing behind so the same boot can be retried.
                let _ = fs::remove_file(&path);
                Err(BootError::Storage(err))
            }
        }
    }

    /// The loaded agent of `controller`, loading it on first use; None if it has none.
    pub fn agent(&mut self, controller: &str, now: Instant) -> Result<Option<&mut Agent>> {
        if !self.known.contains_key(controller) {
            return Ok(None);
        }
        let loaded = self
            .agents
            .iter()
            .position(|agent| agent.controller() == controller);
        let position = if let Some(position) = loaded {
            position
        } else {
            let agent = Agent::open(&self.store_path(controller), controller, &self.secrets, now)?;
            log::debug!(
                "agent {} loaded for controller {controller}",
                agent.prefix()
            );
            self.agents.push(agent);
            self.agents.len() - 1
        };
        let agent = &mut self.agents[position];
        agent.touch(now);
        Ok(Some(agent))
    }

    /// One tock: releases agents idle longer than the release timeout, newest first.
    pub fn tick(&mut self, now: Instant) -> Result<()> {
        let timeout = self.release_timeout;
        let mut index = self.agents.len();
        while index > 0 {
            index -= 1;
            if now.duration_since(self.agents[index].last_used()) >= timeout {
                let agent = self.agents.remove(index);
                log::info!("releasing idle agent {}", agent.prefix());
                agent.close();
            }
        }
        Ok(())
    }

    /// The loaded agents, for the log at the shutdown deadline.
    pub fn describe_open(&self) -> Vec<String> {
        self.agents
            .iter()
            .map(|agent| format!("agent {} ({})", agent.prefix(), agent.path().display()))
            .collect()
    }

    /// Closes every agent and its store, newest first, then the index store.
    pub fn close(mut self) -> Result<()> {
        let count = self.agents.len();
        while let Some(agent) = self.agents.pop() {
            agent.close();
        }
        store::close(self.index);
        log::info!(
            "agency {} closed: {count} agents shut, index {} closed",
            self.name,
            self.index_path.display()
        );
        Ok(())
    }

    fn store_path(&self, controller: &str) -> PathBuf {
        self.agents_dir
            .join(format!("{controller}.{STORE_EXTENSION}"))
    }

    /// Commits the controller ↔ agent mapping: the point from which the boot is acknowledged.
    fn record(&self, controller: &str, agent: &str) -> Result<()> {
        let write = || -> Result<()> {
            let txn = store::begin_write(&self.index)?;
            txn.open_table(AGENTS)?.insert(controller, agent)?;
            txn.open_table(CONTROLLERS)?.insert(agent, controller)?;
            txn.commit()?;
            Ok(())
        };
        write().with_context(|| format!("recording agent {agent} in {}", self.index_path.display()))
    }
}

/// The stored passcode salt and check value, when the store has them.
type PasscodeRecord = (Option<Vec<u8>>, Option<Vec<u8>>);

fn read_index(index: &Database) -> Result<HashMap<String, String>> {
    let txn = index.begin_read()?;
    let table = match txn.open_table(AGENTS) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(HashMap::new()),
        Err(err) => return Err(err.into()),
    };
    let mut known = HashMap::new();
    for entry in table.iter()? {
        let (controller, agent) = entry?;
        known.insert(controller.value().to_owned(), agent.value().to_owned());
    }
    Ok(known)
}

/// Checks the passcode against the store, or records it in a new store.
fn unlock(
    index: &Database,
    path: &Path,
    passcode: Option<&str>,
    is_new: bool,
) -> Result<SecretBox> {
    let read = || -> Result<PasscodeRecord> {
        let txn = index.begin_read()?;
        let meta = match txn.open_table(META) {
            Ok(meta) => meta,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok((None, None)),
            Err(err) => return Err(err.into()),
        };
        let salt = meta
            .get("passcode.salt")?
            .map(|value| value.value().to_vec());
        let check = meta
            .get("passcode.check")?
            .map(|value| value.value().to_vec());
        Ok((salt, check))
    };
    let (salt, check) = read().with_context(|| format!("reading {}", path.display()))?;
    match (passcode, salt, check) {
        (None, None, _) => Ok(SecretBox::plain()),
        (None, Some(_), _) => bail!(
            "the store {} is encrypted: give its passcode (--passcode or KERIA_PASSCODE)",
            path.display()
        ),
        (Some(passcode), Some(salt), Some(check)) => {
            let secrets = SecretBox::from_passcode(passcode, &salt)?;
            if !secrets.matches_check(&check) {
                bail!("wrong passcode for the store {}", path.display());
            }
            Ok(secrets)
        }
        (Some(passcode), None, _) if is_new => {
            let salt = secrets::new_salt()?;
            let secrets = SecretBox::from_passcode(passcode, &salt)?;
            let check = secrets.check_value()?;
            let write = || -> Result<()> {
                let txn = store::begin_write(index)?;
                {
                    let mut meta = txn.open_table(META)?;
                    meta.insert("passcode.salt", salt.as_slice())?;
                    meta.insert("passcode.check", check.as_slice())?;
                }
                txn.commit()?;
                Ok(())
            };
            write()
                .with_context(|| format!("recording the passcode check in {}", path.display()))?;
            Ok(secrets)
        }
        (Some(_), None, _) => bail!(
            "the store {} was created without a passcode; start it without one",
            path.display()
        ),
        (Some(_), Some(_), None) => bail!(
            "the store {} has a passcode salt but no check value",
            path.display()
        ),
    }
}

/// Removes agent stores that have no index entry: boots that crashed before their commit.
fn remove_unacknowledged(agents_dir: &Path, known: &HashMap<String, String>) -> Result<()> {
    for entry in
        fs::read_dir(agents_dir).with_context(|| format!("listing {}", agents_dir.display()))?
    {
        let path = entry
            .with_context(|| format!("listing {}", agents_dir.display()))?
            .path();
        let Some(controller) = path.file_stem().and_then(|stem| stem.to_str()) else {
            continue;
        };
        if path
            .extension()
            .is_some_and(|extension| extension == STORE_EXTENSION)
            && !known.contains_key(controller)
        {
            log::warn!(
                "removing {}: its boot was never acknowledged",
                path.display()
            );
            fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}
