//! The agency: its store and every loaded agent, one per Signify controller.
//!
//! Opened by `Service::open` before the servers bind; closed by `Service::close` after they
//! are gone. Agents are loaded on first use (or created at boot) and released when idle;
//! loading reads their rows, releasing drops them: neither touches a file.
//!
//! Durable writes are group-committed: handlers stage them into the one open batch
//! (`stage_boot`, `stage`, the controller's events), and the service commits the batch once per poll
//! wake-up (`commit`) before any of those requests is answered. A failed commit keeps nothing
//! of the batch: agents it created are forgotten, agents it changed are dropped from memory
//! so that their next use reloads what is durable.

pub mod agent;
pub mod challenges;
pub mod contacts;
pub mod controller;
pub mod credential_index;
pub mod credential_view;
pub mod credentials;
pub mod delegables;
pub mod delegations;
pub mod exchanges;
pub mod group_replies;
pub mod groups;
pub mod identifiers;
pub mod ipex;
pub mod kels;
pub mod key_managers;
pub mod multisig;
pub mod notifications;
pub mod oobis;
pub mod operations;
pub mod outbox;
pub mod receipting;
pub mod receipts;
pub mod registries;
pub mod resolutions;
pub mod roles;
pub mod schemas;
mod settings;
pub mod signatures;
pub mod witnesses;

pub use settings::{Settings, Urls};

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::agency::agent::{Agent, KeyParams, NewAgent};
use crate::keri::event::Event;
use crate::keri::primitives::Siger;
use crate::keri::state::KeyStateRecord;
use crate::store::legacy;
use crate::store::secrets::{self, SecretBox};
use crate::store::{self, Batch, Opened, OwnerWriter, Reader, Store};

/// File name extension of the store.
const STORE_EXTENSION: &str = "redb";
/// At most this many idle agents are released in one tick, so a mass expiry cannot stall it.
pub const RELEASES_PER_TICK: usize = 64;

/// Why a boot did not create an agent.
#[derive(Debug)]
pub enum BootError {
    /// The controller already has an agent (acknowledged, or staged in this batch).
    Exists,
    /// Storage failed; nothing was kept.
    Storage(anyhow::Error),
}

/// Why a request on an agent's rows failed.
#[derive(Debug)]
pub enum Failure {
    /// The request is wrong (400), with the reason; nothing was staged.
    Invalid(String),
    /// Nothing by that name (404).
    NotFound(String),
    /// The store failed (500); the whole batch is abandoned.
    Storage(anyhow::Error),
    /// A bound is reached for now (503), with the reason; nothing was staged.
    Busy(String),
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Self::Storage(err)
    }
}

/// A loaded agent and when it was loaded, for the newest-first close.
struct Loaded {
    agent: Agent,
    order: u64,
}

/// The open write batch and what it changed in memory.
struct Staging {
    batch: Batch,
    /// Agents created by boots in this batch, not yet acknowledged.
    booted: Vec<Agent>,
    /// Controllers whose loaded agent's cache moved with a staged event.
    touched: Vec<String>,
}

/// The agents and what they share.
pub struct Agency {
    name: String,
    store: Store,
    loaded: HashMap<String, Loaded>,
    next_order: u64,
    staging: Option<Staging>,
    /// A write of the open batch failed: it must not commit.
    poisoned: bool,
    /// How many stagings succeeded, ever: a request whose answer depends on a write sees it move.
    writes: u64,
    /// When a failing store is next reopened.
    next_recovery: Instant,
    secrets: SecretBox,
    urls: Urls,
    release_timeout: Duration,
}

impl Agency {
    /// Opens the store at `<data-dir>/keri/adb/<base>/<name>.redb`, importing what keria
    /// 0.1.0 wrote there first, and unlocks its secrets with the passcode.
    pub fn open(config: &Settings) -> Result<Self> {
        let keri = config.data_dir.join("keri");
        let store_dir = keri.join("adb").join(&config.base);
        store::private_dir(&store_dir)?;
        let path = store_dir.join(format!("{}.{STORE_EXTENSION}", config.name));
        legacy::finish_interrupted(&path)?;
        let checked = check_before_opening(&path, config.passcode.as_deref())?;
        let store = match Store::open(&path, config.store_cache)? {
            Opened::Ready(store) => store,
            Opened::Legacy => {
                legacy::import(&path, &keri.join("db").join(&config.base))?;
                match Store::open(&path, config.store_cache)? {
                    Opened::Ready(store) => store,
                    Opened::Legacy => bail!("{} is still in the 0.1.0 format", path.display()),
                }
            }
        };
        let unlocked = match checked {
            Some(secrets) => Ok(secrets),
            None => unlock(&store, config.passcode.as_deref()),
        };
        let secrets = match unlocked {
            Ok(secrets) => secrets,
            Err(err) => {
                if let Err(close_err) = store.close() {
                    log::error!("{close_err:#}");
                }
                return Err(err);
            }
        };
        Ok(Self {
            name: config.name.clone(),
            store,
            loaded: HashMap::new(),
            next_order: 0,
            staging: None,
            poisoned: false,
            writes: 0,
            next_recovery: Instant::now(),
            secrets,
            urls: config.urls.clone(),
            release_timeout: config.release_timeout,
        })
    }

    /// How many controllers have an agent here.
    pub fn known(&self) -> Result<u64> {
        self.store.read()?.agent_count()
    }

    /// How many agents are loaded now.
    pub fn loaded(&self) -> usize {
        self.loaded.len()
    }

    /// Why the store is failing, while it is (from a failed commit until one succeeds).
    pub fn store_failing(&self) -> Option<&store::Failing> {
        self.store.failing()
    }

    /// The store file.
    pub fn store_path(&self) -> &std::path::Path {
        self.store.path()
    }

    /// A consistent view of what is durable.
    pub fn read(&self) -> Result<Reader> {
        self.store.read()
    }

    /// Stages the agent of a verified controller inception; acknowledged once `commit` succeeds.
    pub fn stage_boot(
        &mut self,
        icp: &Event,
        sigs: &[Siger],
        params: &KeyParams,
        first_seen: &str,
        now: Instant,
    ) -> Result<KeyStateRecord, BootError> {
        let controller = icp.prefix();
        let staging = open_staging(&mut self.staging, &self.store).map_err(BootError::Storage)?;
        let poison = |err: anyhow::Error, poisoned: &mut bool| {
            log::error!("abandoning the batch: {err:#}");
            *poisoned = true;
            BootError::Storage(err)
        };
        match staging.batch.agent_of(controller) {
            Ok(Some(_)) => return Err(BootError::Exists),
            Ok(None) => {}
            Err(err) => return Err(poison(err, &mut self.poisoned)),
        }
        let new = NewAgent {
            controller_icp: icp,
            controller_sigs: sigs,
            params,
            urls: &self.urls,
            secrets: &self.secrets,
            first_seen,
        };
        let (agent, dip) = Agent::create(&mut staging.batch, &new, now)
            .map_err(|err| poison(err, &mut self.poisoned))?;
        let state =
            KeyStateRecord::from_kel(std::slice::from_ref(&dip), first_seen).map_err(|err| {
                poison(
                    anyhow!("key state of the new agent: {err}"),
                    &mut self.poisoned,
                )
            })?;
        staging.booted.push(agent);
        self.writes += 1;
        Ok(state)
    }

    /// Runs `stage` on `controller`'s rows in the open batch. A refusal stages nothing (the
    /// stage functions check everything first); a storage failure abandons the whole batch,
    /// so that no request of it is acknowledged.
    pub fn stage<T>(
        &mut self,
        controller: &str,
        stage: impl FnOnce(&mut OwnerWriter<'_>) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let staging = open_staging(&mut self.staging, &self.store)?;
        let outcome = stage(&mut staging.batch.owner(controller));
        match &outcome {
            Ok(_) => self.writes += 1,
            Err(Failure::Storage(err)) => {
                log::error!("abandoning the batch: {err:#}");
                self.poisoned = true;
            }
            Err(_) => {}
        }
        outcome
    }

    /// How many stagings have succeeded so far.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// Whether writes wait for `commit`.
    pub fn has_staged(&self) -> bool {
        self.staging.is_some()
    }

    /// Makes the open batch durable (one commit), then acknowledges what it staged. On a
    /// failure nothing of the batch is kept, in the store or in memory.
    pub fn commit(&mut self, now: Instant) -> Result<usize> {
        let Some(Staging {
            batch,
            booted,
            touched,
        }) = self.staging.take()
        else {
            return Ok(0);
        };
        let staged = booted.len() + touched.len();
        let committed = if std::mem::take(&mut self.poisoned) {
            drop(batch);
            // A write that failed may have left the store refusing every later one (redb
            // after an I/O error): it is reopened as after a failed commit.
            let err = anyhow!("a write of the batch failed");
            self.store.commit_failed(&err);
            Err(err)
        } else {
            let committed = batch.commit();
            match &committed {
                Ok(()) => self.store.commit_succeeded(),
                Err(err) => self.store.commit_failed(err),
            }
            committed
        };
        match committed {
            Ok(()) => {
                for mut agent in booted {
                    log::info!(
                        "agent {} booted for controller {}",
                        agent.prefix(),
                        agent.controller()
                    );
                    agent.touch(now);
                    self.insert(agent);
                }
                Ok(staged)
            }
            Err(err) => {
                // The store is reopened a pause after the failure, not at once.
                self.next_recovery = now + store::RECOVERY_PAUSE;
                for controller in &touched {
                    self.loaded.remove(controller);
                }
                Err(err.context(format!("{staged} staged writes were not kept")))
            }
        }
    }

    /// The loaded agent of `controller`, loading it on first use; None if it has none.
    pub fn agent(&mut self, controller: &str, now: Instant) -> Result<Option<&mut Agent>> {
        if !self.loaded.contains_key(controller) {
            let reader = self.store.read()?;
            if reader.agent_of(controller)?.is_none() {
                return Ok(None);
            }
            let agent = Agent::load(&reader, controller, &self.secrets, now)?;
            log::debug!(
                "agent {} loaded for controller {controller}",
                agent.prefix()
            );
            self.insert(agent);
        }
        Ok(self.loaded.get_mut(controller).map(|loaded| {
            loaded.agent.touch(now);
            &mut loaded.agent
        }))
    }

    /// One tock: releases agents idle longer than the release timeout, at most
    /// `RELEASES_PER_TICK` of them, the longest idle first.
    pub fn tick(&mut self, now: Instant) {
        if self.store.failing().is_some() && now >= self.next_recovery {
            self.next_recovery = now + store::RECOVERY_PAUSE;
            if self.store.recover() {
                // Agents loaded before the failure hold nothing the store lost; keep them.
                log::info!("the store accepts writes again");
            }
        }
        let timeout = self.release_timeout;
        let mut idle: Vec<(Instant, String)> = self
            .loaded
            .iter()
            .filter(|(_, loaded)| now.duration_since(loaded.agent.last_used()) >= timeout)
            .map(|(controller, loaded)| (loaded.agent.last_used(), controller.clone()))
            .collect();
        idle.sort_unstable();
        for (_, controller) in idle.into_iter().take(RELEASES_PER_TICK) {
            if let Some(loaded) = self.loaded.remove(&controller) {
                log::info!("releasing idle agent {}", loaded.agent.prefix());
            }
        }
    }

    /// What is open, for the log at the shutdown deadline.
    pub fn describe_open(&self) -> Vec<String> {
        vec![format!(
            "agency store {} with {} agents loaded",
            self.store.path().display(),
            self.loaded.len()
        )]
    }

    /// Aborts a batch still open, closes every agent, newest first, then the store; `closed`
    /// records each step as it is taken. Every step is taken; the first error is returned.
    pub fn close(self, closed: &mut Vec<String>) -> Result<()> {
        let Self {
            name,
            store,
            loaded,
            staging,
            ..
        } = self;
        // A store that a failed commit left failing may refuse its close too: that failure was
        // answered (every answer of the batch was a 500) and nothing acknowledged is lost, so
        // it is logged, and the stop stays graceful.
        let failing = store.failing().map(|failing| failing.reason.clone());
        let mut first_error = None;
        if let Some(staging) = staging {
            log::warn!(
                "closing with {} boots and {} events staged and not committed: none acknowledged",
                staging.booted.len(),
                staging.touched.len()
            );
            match staging.batch.abort() {
                Ok(()) => closed.push("batch aborted".to_owned()),
                Err(err) => first_error = Some(err),
            }
        }
        let mut agents: Vec<Loaded> = loaded.into_values().collect();
        agents.sort_unstable_by_key(|loaded| std::cmp::Reverse(loaded.order));
        let count = agents.len();
        for loaded in agents {
            let prefix = loaded.agent.prefix().to_owned();
            loaded.agent.close();
            closed.push(format!("agent {prefix}"));
        }
        let path = store.path().display().to_string();
        match store.close() {
            Ok(()) => closed.push(format!("store {path}")),
            Err(err) if failing.is_some() => {
                log::warn!("closing the failing store: {err:#}");
                closed.push(format!("store {path} (failing)"));
            }
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
        if let (Some(reason), Some(err)) = (&failing, &first_error) {
            log::warn!("the store was failing ({reason}): {err:#}");
            first_error = None;
        }
        log::info!("agency {name} closed: {count} agents shut, store {path} closed");
        first_error.map_or(Ok(()), Err)
    }

    fn insert(&mut self, agent: Agent) {
        let order = self.next_order;
        self.next_order += 1;
        self.loaded
            .insert(agent.controller().to_owned(), Loaded { agent, order });
    }
}

/// The open batch, begun on the first write of a wake-up.
fn open_staging<'s>(staging: &'s mut Option<Staging>, store: &Store) -> Result<&'s mut Staging> {
    if staging.is_none() {
        *staging = Some(Staging {
            batch: store.write()?,
            booted: Vec::new(),
            touched: Vec::new(),
        });
    }
    staging.as_mut().ok_or_else(|| anyhow!("no open batch"))
}

/// Checks the passcode against the store, or records it in a new store.
fn unlock(store: &Store, passcode: Option<&str>) -> Result<SecretBox> {
    let reader = store.read()?;
    let checked = check_passcode(&reader, store.path(), passcode)?;
    drop(reader);
    if let Some(secrets) = checked {
        return Ok(secrets);
    }
    let path = store.path().display();
    let passcode = passcode.context("a new store without a passcode needs no check value")?;
    let salt = secrets::new_salt()?;
    let secrets = SecretBox::from_passcode(passcode, &salt)?;
    let check = secrets.check_value()?;
    let mut batch = store.write()?;
    batch.set_meta("passcode.salt", &salt)?;
    batch.set_meta("passcode.check", &check)?;
    batch
        .commit()
        .with_context(|| format!("recording the passcode check in {path}"))?;
    Ok(secrets)
}

/// Checks the passcode against an existing store read without opening it for writing, so that
/// a refused start changes no byte of the file. None when the check waits for the read-write
/// open: no file yet, a file to import or to repair, or a new store to record a passcode in.
fn check_before_opening(path: &Path, passcode: Option<&str>) -> Result<Option<SecretBox>> {
    if !path.exists() {
        return Ok(None);
    }
    let (database, reader) = match store::read_file(path) {
        Ok(opened) => opened,
        Err(err) => {
            log::debug!("checking the passcode after the open: {err:#}");
            return Ok(None);
        }
    };
    let checked = check_passcode(&reader, path, passcode);
    drop(reader);
    database
        .close()
        .with_context(|| format!("closing {}", path.display()))?;
    checked
}

/// What the store's passcode records say of `passcode`: the secrets, a refusal, or None when
/// a new store is to record it.
fn check_passcode(
    reader: &Reader,
    path: &Path,
    passcode: Option<&str>,
) -> Result<Option<SecretBox>> {
    let path = path.display();
    let salt = reader.meta("passcode.salt")?;
    let check = reader.meta("passcode.check")?;
    let is_new = reader.agent_count()? == 0;
    match (passcode, salt, check) {
        (None, None, _) => Ok(Some(SecretBox::plain())),
        (None, Some(_), _) => {
            bail!("the store {path} is encrypted: give its passcode (--passcode or KERIA_PASSCODE)")
        }
        (Some(passcode), Some(salt), Some(check)) => {
            let secrets = SecretBox::from_passcode(passcode, &salt)?;
            if !secrets.matches_check(&check) {
                bail!("wrong passcode for the store {path}");
            }
            Ok(Some(secrets))
        }
        (Some(_), None, _) if is_new => Ok(None),
        (Some(_), None, _) => {
            bail!("the store {path} was created without a passcode; start it without one")
        }
        (Some(_), Some(_), None) => {
            bail!("the store {path} has a passcode salt but no check value")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

    use super::{Agency, BootError, KeyParams, Settings, Urls};
    use crate::keri::build;
    use crate::keri::primitives::{Diger, Signer};

    /// The child process that runs this test under a file size limit.
    const CHILD: &str = "KERIA_TEST_FILE_SIZE_LIMITED";

    fn boot(agency: &mut Agency) -> Result<(), BootError> {
        let (current, next) = (Signer::random().unwrap(), Signer::random().unwrap());
        let icp = build::incept(
            &[current.verfer()],
            &[Diger::blake3(next.verfer().qb64().as_bytes())],
        );
        let sigs = [current.sign_indexed(icp.raw(), 0)];
        let params = KeyParams {
            stem: "signify:controller".into(),
            pidx: 1,
            tier: "low".into(),
        };
        let seen = "2026-11-24T17:18:38.204886+00:00";
        agency
            .stage_boot(&icp, &sigs, &params, seen, Instant::now())
            .map(drop)
    }

    /// A write that fails inside a batch (the store file may not grow: the kernel's file
    /// size limit, set for this process alone) poisons it: the commit refuses the batch and
    /// none of its boots is kept.
    #[test]
    fn a_boot_whose_write_fails_poisons_its_batch() {
        if std::env::var_os(CHILD).is_none() {
            let status = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "agency::tests::a_boot_whose_write_fails_poisons_its_batch",
                ])
                .env(CHILD, "1")
                .status()
                .unwrap();
            assert!(status.success(), "the file-size-limited run failed");
            return;
        }
        // The kernel signals a write past the limit before failing it; the write's error is
        // what the store must see.
        signal_hook::flag::register(
            signal_hook::consts::SIGXFSZ,
            Arc::new(AtomicBool::new(false)),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            data_dir: dir.path().to_path_buf(),
            base: String::new(),
            name: "keria".into(),
            store_cache: 64 * 1024,
            passcode: None,
            urls: Urls::default(),
            release_timeout: Duration::from_secs(60),
        };
        let mut agency = Agency::open(&settings).unwrap();
        boot(&mut agency).unwrap();
        agency.commit(Instant::now()).unwrap();
        let known = agency.known().unwrap();
        let size = std::fs::metadata(agency.store_path()).unwrap().len();
        let limit = getrlimit(Resource::Fsize);
        setrlimit(
            Resource::Fsize,
            Rlimit {
                current: Some(size),
                maximum: limit.maximum,
            },
        )
        .unwrap();
        let mut staged = 0;
        let failure = loop {
            match boot(&mut agency) {
                Ok(()) => staged += 1,
                Err(BootError::Storage(err)) => break err,
                Err(BootError::Exists) => panic!("a fresh controller already has an agent"),
            }
            assert!(staged < 100_000, "no write failed");
        };
        assert!(agency.poisoned, "{failure:#} did not poison the batch");
        let refused = agency.commit(Instant::now());
        assert!(refused.is_err(), "a poisoned batch committed");
        setrlimit(Resource::Fsize, limit).unwrap();
        assert!(agency.store_failing().is_some());
        agency.tick(Instant::now() + super::store::RECOVERY_PAUSE);
        assert!(
            agency.store_failing().is_none(),
            "the store was not reopened"
        );
        assert_eq!(
            agency.known().unwrap(),
            known,
            "boots of the refused batch were kept"
        );
        assert_eq!(agency.loaded(), 1);
        agency.close(&mut Vec::new()).unwrap();
    }
}
