//! Delegated events of this agency's identifiers waiting for their delegators' approval: the
//! delegate's side of delegation.
//!
//! A `dip` (`POST /identifiers`) or a `drt` (`POST /identifiers/{name}/events`), once checked
//! like any establishment event, is kept in `DELEGATING` in the same commit as its identifier's
//! record and its pending `delegation.{said}` operation (so a 202 means it will be completed,
//! across restarts and SIGKILLs). It does not enter the KEL yet, and the identifier takes no
//! other event meanwhile (`pending`). Every `QUERY_PAUSE` the delegator's log is looked at as
//! this agent holds it, and asked for again through the delegator's resolved OOBI (its first
//! known witness, else its agent: `Resolutions::anchor_query`), until an event of it anchors
//! the seal `{i, s, d}` of exactly this event (`keri::delegation::anchoring`) and, for a
//! witnessed identifier, its witnesses' receipts reach `bt`. Then the event enters the KEL with
//! that seal source (`-G`, kept in `APPROVALS`), which is what the identifier's OOBI serves,
//! and the operation is done with the event.
//!
//! Bounds: at most `MAX_PENDING` delegated events wait at once over every agent (a further one
//! is refused with 503), each for at most `APPROVAL_TIMEOUT`; then its operation fails (408),
//! the event is dropped and the identifier is as it was before (a `dip`'s identifier is
//! removed, a `drt`'s record put back), so it can be used, or asked for again.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use super::receipts::{event_key, from_receipts_record};
use super::resolutions::Resolutions;
use super::{kels, operations, signatures, Agency, Failure};
use crate::keri::delegation::anchoring;
use crate::keri::event::Event;
use crate::keri::ilk::Ilk;
use crate::keri::kel::{Kel, SealSource, SignedEvent};
use crate::keri::primitives::Siger;
use crate::store::{
    OwnerReader, OwnerWriter, StoredEvent, DELEGATING, IDENTIFIERS, PREFIXES, RECEIPTS,
};

/// The pause between two looks at (and queries of) a delegator's log for one event: at most a
/// second between the delegator's approval reaching its witnesses or agent and the delegate's
/// next query of them.
pub const QUERY_PAUSE: Duration = Duration::from_millis(500);
/// How long a delegated event waits for its delegator's approval before its operation fails.
pub const APPROVAL_TIMEOUT: Duration = Duration::from_secs(3600);
/// Most delegated events waiting at once, over every agent.
pub const MAX_PENDING: usize = 1024;

/// A delegated event: (controller, prefix).
type Key = (String, String);

/// One delegated event waiting.
struct Job {
    sn: u64,
    delegator: String,
    /// When the delegator's log is next looked at.
    next: Instant,
    /// A query of the delegator's log is under way.
    querying: bool,
    /// A query came back: what it kept is looked at once committed (at the next tick).
    recheck: bool,
    /// Unix seconds after which the operation fails.
    deadline: u64,
}

/// What `DELEGATING` keeps of one event.
struct Pending {
    event: Event,
    sigs: Vec<Siger>,
    seen: String,
    delegator: String,
    toad: usize,
    operation: String,
    metadata: Value,
    /// The identifier's record before a `drt`; None for a `dip`.
    prior: Option<String>,
    deadline: u64,
}

impl Pending {
    fn read(record: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(record).context("stored delegated event")?;
        let text = |field: &str| value[field].as_str().unwrap_or_default().to_owned();
        let event = Event::parse(text("event").as_bytes())
            .map_err(|err| anyhow!("stored delegated event: {err}"))?;
        Ok(Self {
            event,
            sigs: signatures::parse(&text("sigs"))?,
            seen: text("seen"),
            delegator: text("delegator"),
            toad: value["toad"]
                .as_u64()
                .and_then(|toad| usize::try_from(toad).ok())
                .unwrap_or(0),
            operation: text("operation"),
            metadata: value["metadata"].clone(),
            prior: value["prior"].as_str().map(ToOwned::to_owned),
            deadline: value["deadline"].as_u64().unwrap_or(0),
        })
    }

    fn record(&self) -> String {
        json!({
            "event": String::from_utf8_lossy(self.event.raw()),
            "sigs": signatures::join(&self.sigs),
            "seen": self.seen,
            "delegator": self.delegator,
            "toad": self.toad,
            "operation": self.operation,
            "metadata": self.metadata,
            "prior": self.prior,
            "deadline": self.deadline,
        })
        .to_string()
    }
}

/// What the look at the delegator's log found.
enum Looked {
    /// Approved (and receipted to `bt`): the seal source to attach.
    Approved(SealSource),
    /// Not yet.
    Waiting,
    /// The record is gone (completed or failed elsewhere).
    Gone,
}

/// The delegated events waiting, and those staged in the open batch.
#[derive(Default)]
pub struct Delegations {
    jobs: HashMap<Key, Job>,
    staged: Vec<(Key, Job)>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The delegated event of `prefix` still waiting for its delegator, if any: (its type, sn,
/// SAID).
fn waiting(rows: &OwnerWriter<'_>, prefix: &str) -> Result<Option<(Ilk, u64, String)>> {
    let records = rows.records(DELEGATING, &format!("{prefix}."))?;
    let Some((_, record)) = records.first() else {
        return Ok(None);
    };
    let pending = Pending::read(record)?;
    Ok(Some((
        pending.event.ilk(),
        pending.event.sn(),
        pending.event.said().to_owned(),
    )))
}

/// The refusal of an event for identifier `name` (or prefix) whose delegated event still
/// waits.
pub fn refuse_while_pending(rows: &OwnerWriter<'_>, name: &str) -> Result<(), Failure> {
    let record = match rows.record(IDENTIFIERS, name)? {
        Some(record) => Some(record),
        None => match rows.record(PREFIXES, name)? {
            Some(named) => rows.record(IDENTIFIERS, &named)?,
            None => None,
        },
    };
    let Some(prefix) = record
        .and_then(|record| serde_json::from_str::<Value>(&record).ok())
        .and_then(|record| record["prefix"].as_str().map(ToOwned::to_owned))
    else {
        return Ok(());
    };
    let prefix = prefix.as_str();
    if let Some((ilk, sn, said)) = waiting(rows, prefix)? {
        return Err(Failure::Invalid(format!(
            "{name} waits for its delegator's approval of its {ilk} {said} (sequence number \
             {sn:x}): it takes no other event until then"
        )));
    }
    Ok(())
}

impl Delegations {
    /// Refuses a further delegated event while `MAX_PENDING` wait (check it before staging
    /// anything, so that a refusal stages nothing).
    pub fn check_room(&self) -> Result<(), Failure> {
        if self.jobs.len() + self.staged.len() >= MAX_PENDING {
            return Err(Failure::Busy(format!(
                "{MAX_PENDING} delegated events already wait for their delegators; retry when some are approved"
            )));
        }
        Ok(())
    }

    /// Stages `event` (a checked `dip` or `drt` of `controller`'s identifier, first seen at
    /// `seen`, signed by `sigs`) to wait for the approval of `delegator`, and for `toad` of its
    /// witnesses' receipts; `prior` is the identifier's record before a `drt`. Its pending
    /// `delegation.{said}` operation, staged too.
    pub fn stage(
        &mut self,
        rows: &mut OwnerWriter<'_>,
        controller: &str,
        (event, sigs, seen): (&Event, &[Siger], &str),
        (delegator, toad): (&str, usize),
        prior: Option<String>,
    ) -> Result<Value, Failure> {
        self.check_room()?;
        let operation = format!("delegation.{}", event.said());
        let metadata = json!({"pre": event.prefix(), "sn": event.sn()});
        let deadline = unix_now() + APPROVAL_TIMEOUT.as_secs();
        let pending = Pending {
            event: event.clone(),
            sigs: sigs.to_vec(),
            seen: seen.to_owned(),
            delegator: delegator.to_owned(),
            toad,
            operation: operation.clone(),
            metadata: metadata.clone(),
            prior,
            deadline,
        };
        rows.put_record(
            DELEGATING,
            &event_key(event.prefix(), event.sn()),
            &pending.record(),
        )?;
        let staged = operations::pending(&operation, metadata);
        operations::stage(rows, &staged)?;
        self.staged.push((
            (controller.to_owned(), event.prefix().to_owned()),
            Job {
                sn: event.sn(),
                delegator: delegator.to_owned(),
                next: Instant::now(),
                querying: false,
                recheck: false,
                deadline,
            },
        ));
        Ok(staged)
    }

    /// The open batch committed (`true`: its events start waiting) or failed (they were not
    /// kept).
    pub fn committed(&mut self, committed: bool) {
        for (key, job) in std::mem::take(&mut self.staged) {
            if committed {
                self.jobs.insert(key, job);
            }
        }
    }

    /// Resumes every delegated event a stopped agency left waiting (at start).
    pub fn recover(&mut self, agency: &Agency) -> Result<()> {
        let kept = agency.read()?.every_record(DELEGATING)?;
        if !kept.is_empty() {
            log::info!(
                "{} delegated events still wait for their delegators' approval",
                kept.len()
            );
        }
        for (controller, name, record) in kept {
            match Pending::read(&record) {
                Ok(pending) => {
                    self.jobs.insert(
                        (controller, pending.event.prefix().to_owned()),
                        Job {
                            sn: pending.event.sn(),
                            delegator: pending.delegator,
                            next: Instant::now(),
                            querying: false,
                            recheck: false,
                            deadline: pending.deadline,
                        },
                    );
                }
                Err(err) => log::error!("resuming the delegated event {name}: {err:#}"),
            }
        }
        Ok(())
    }

    /// An event of `delegator` may have approved events waiting here (it was just accepted by
    /// this agency): they look at its log at the next tick rather than after their pause.
    pub fn nudge(&mut self, delegator: &str) {
        for job in self.jobs.values_mut() {
            if job.delegator == delegator {
                job.next = Instant::now();
            }
        }
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// One tock: each event whose pause has ended looks at its delegator's log as held here;
    /// approved, it is accepted; past its deadline, it fails; else the log is asked for again.
    pub fn tick(&mut self, agency: &mut Agency, resolutions: &mut Resolutions, now: Instant) {
        let rechecks: Vec<Key> = self
            .jobs
            .iter()
            .filter(|(_, job)| job.recheck)
            .map(|(key, _)| key.clone())
            .collect();
        for key in rechecks {
            if let Some(job) = self.jobs.get_mut(&key) {
                job.recheck = false;
            }
            self.settle(agency, &key);
        }
        let due: Vec<Key> = self
            .jobs
            .iter()
            .filter(|(_, job)| job.next <= now && !job.querying)
            .map(|(key, _)| key.clone())
            .collect();
        for key in due {
            if self.settle(agency, &key) {
                continue;
            }
            let Some(job) = self.jobs.get_mut(&key) else {
                continue;
            };
            job.next = now + QUERY_PAUSE;
            match resolutions.anchor_query(agency, &key.0, &job.delegator) {
                Ok(true) => job.querying = true,
                Ok(false) => {}
                Err(err) => log::error!("asking for the log of {}: {err:#}", job.delegator),
            }
        }
    }

    /// Queries of delegators' logs that came back (controller, delegator): the events waiting
    /// for them look again at the next tick, once what the query kept is committed.
    pub fn anchored(&mut self, queried: Vec<(String, String)>) {
        for (controller, delegator) in queried {
            for ((owner, _), job) in &mut self.jobs {
                if *owner == controller && job.delegator == delegator {
                    job.querying = false;
                    job.recheck = true;
                }
            }
        }
    }

    /// Accepts `key`'s event if its delegator approved it, fails it past its deadline; whether
    /// it no longer waits.
    fn settle(&mut self, agency: &mut Agency, key: &Key) -> bool {
        let Some(job) = self.jobs.get(key) else {
            return true;
        };
        let record_key = event_key(&key.1, job.sn);
        let looked = agency
            .read()
            .and_then(|reader| look(&reader.owner(&key.0), &record_key));
        let ended = match looked {
            Ok(Looked::Gone) => true,
            Ok(Looked::Approved(source)) => {
                match agency.stage(&key.0, |rows| accept(rows, &record_key, &source)) {
                    Ok(()) => {
                        log::info!(
                            "delegated event {:x} of {} approved by {} at its event {:x}",
                            job.sn,
                            key.1,
                            job.delegator,
                            source.sn
                        );
                        true
                    }
                    Err(err) => {
                        log::error!("accepting delegated event {record_key}: {err:?}");
                        false
                    }
                }
            }
            Ok(Looked::Waiting) if unix_now() > job.deadline => {
                match agency.stage(&key.0, |rows| expire(rows, &record_key)) {
                    Ok(()) => true,
                    Err(err) => {
                        log::error!("ending delegated event {record_key}: {err:?}");
                        false
                    }
                }
            }
            Ok(Looked::Waiting) => false,
            Err(err) => {
                log::error!("looking at delegated event {record_key}: {err:#}");
                false
            }
        };
        if ended {
            self.jobs.remove(key);
        }
        ended
    }
}

/// Looks at the delegator's log and the witnesses' receipts as `rows` hold them.
fn look(rows: &OwnerReader<'_>, record_key: &str) -> Result<Looked> {
    let Some(record) = rows.record(DELEGATING, record_key)? else {
        return Ok(Looked::Gone);
    };
    let pending = Pending::read(&record)?;
    let Some(kel) = kels::load(rows, &pending.delegator)? else {
        return Ok(Looked::Waiting);
    };
    let Some(source) = anchoring(&kel, &pending.event) else {
        return Ok(Looked::Waiting);
    };
    if pending.toad > 0 {
        let receipts = rows.record(RECEIPTS, record_key)?.map_or(0, |record| {
            from_receipts_record(&record, pending.event.said()).len()
        });
        if receipts < pending.toad {
            return Ok(Looked::Waiting);
        }
    }
    Ok(Looked::Approved(source))
}

/// Stages the approved event into its KEL with its seal source, and its operation's end.
fn accept(
    rows: &mut OwnerWriter<'_>,
    record_key: &str,
    source: &SealSource,
) -> Result<(), Failure> {
    let Some(record) = rows.record(DELEGATING, record_key)? else {
        return Ok(());
    };
    let pending = Pending::read(&record)?;
    let event = &pending.event;
    let signed = SignedEvent {
        event: event.clone(),
        sigs: pending.sigs.clone(),
        delegation: Some(source.clone()),
    };
    let accepted = if event.ilk() == Ilk::Dip {
        Kel::incept(signed, &pending.seen).map(drop)
    } else {
        let mut kel = kels::replay(&rows.kel(event.prefix())?, event.prefix(), None)?;
        kel.append(signed, &pending.seen).map(drop)
    };
    let operation = match accepted {
        Ok(()) => {
            rows.put_event(
                event.prefix(),
                event.sn(),
                &StoredEvent {
                    raw: event.raw().to_vec(),
                    sigs: signatures::join(&pending.sigs),
                    first_seen: pending.seen.clone(),
                },
            )?;
            rows.put_approval(event.prefix(), event.said(), &kels::approval_text(source))?;
            operations::done(
                &pending.operation,
                pending.metadata.clone(),
                event.value().clone(),
            )
        }
        Err(err) => {
            log::warn!("approved delegated event {record_key} no longer extends its KEL: {err}");
            restore(rows, &pending)?;
            operations::failed(
                &pending.operation,
                pending.metadata.clone(),
                400,
                &format!(
                    "the approved {} no longer extends the KEL: {err}",
                    event.ilk()
                ),
            )
        }
    };
    rows.remove_record(DELEGATING, record_key)?;
    operations::stage(rows, &operation)?;
    Ok(())
}

/// Stages the end of an event its delegator did not approve in time.
fn expire(rows: &mut OwnerWriter<'_>, record_key: &str) -> Result<(), Failure> {
    let Some(record) = rows.record(DELEGATING, record_key)? else {
        return Ok(());
    };
    let pending = Pending::read(&record)?;
    log::warn!(
        "delegated event {record_key}: not approved by {} within {}s; dropped",
        pending.delegator,
        APPROVAL_TIMEOUT.as_secs()
    );
    restore(rows, &pending)?;
    rows.remove_record(DELEGATING, record_key)?;
    let failed = operations::failed(
        &pending.operation,
        pending.metadata.clone(),
        408,
        &format!(
            "the delegator {} did not approve {} {} within {}s",
            pending.delegator,
            pending.event.ilk(),
            pending.event.said(),
            APPROVAL_TIMEOUT.as_secs()
        ),
    );
    operations::stage(rows, &failed)?;
    Ok(())
}

/// Puts the identifier back as it was before the event: a `drt`'s record as it was, a
/// `dip`'s identifier removed.
fn restore(rows: &mut OwnerWriter<'_>, pending: &Pending) -> Result<()> {
    let prefix = pending.event.prefix();
    let Some(name) = rows.record(PREFIXES, prefix)? else {
        return Ok(());
    };
    match &pending.prior {
        Some(prior) => rows.put_record(IDENTIFIERS, &name, prior)?,
        None if rows.kel(prefix)?.is_empty() => {
            rows.remove_record(IDENTIFIERS, &name)?;
            rows.remove_record(PREFIXES, prefix)?;
        }
        None => {}
    }
    Ok(())
}
