//! Events on their way to their witnesses: each accepted `icp`, `ixn` or `rot` of a witnessed
//! identifier is kept in `RECEIPTING` in the same commit as the event (so a 202 means it will
//! be receipted, across restarts), posted by the workers to every witness's `/receipts` once
//! that commit succeeded, and its `witness.{prefix}` operation is done once the verified
//! receipts stored for it reach the threshold `bt`.
//!
//! A witness answers 200 with its receipt (an `rct` with its receipt couple), which counts only
//! if it verifies against the event; 202 means it escrowed the event, and an outage or a
//! refusal is tried again, with a pause that grows from `FIRST_PAUSE` to `LONGEST_PAUSE`, until
//! the deadline (`--receipt-timeout`). Then the operation fails (408) naming the witnesses that
//! did not receipt, unless the threshold was met. Once every witness has receipted (or the
//! deadline passed with the threshold met), each receipting witness is sent the others'
//! receipts, as keripy's `Receiptor` does, and the event leaves `RECEIPTING`. A delegated event
//! waiting for its delegator: no operation (an empty name), the event kept in its record.
//!
//! Bounds: at most `MAX_JOBS` events receipting at once (a further witnessed event is refused
//! with 503 until some finish), each for at most the deadline.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};
use url::Url;

use super::outbox::cesr_post;
use super::receipts::{self, catchup, event_key, Backlog};
use super::signatures;
use super::witnesses;
use super::{operations, roles, Agency, Failure};
use crate::keri::build;
use crate::keri::event::Event;
use crate::keri::ilk::Ilk;
use crate::keri::oobi::SignedReply;
use crate::keri::primitives::{Cigar, Siger};
use crate::keri::stream::Attachments;
use crate::process::fetcher::{FetchOutcome, Post};
use crate::process::workers::retry_pause;
use crate::store::{OwnerWriter, Reader, StoredEvent, RECEIPTING, RECEIPTS};

/// How long an event's witnesses have to reach its threshold before its operation fails, by
/// default (`--receipt-timeout`).
pub const DEFAULT_DEADLINE_SECONDS: u64 = 60;
/// The pause after a witness's first failed answer; it doubles, up to `LONGEST_PAUSE`.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const LONGEST_PAUSE: Duration = Duration::from_secs(4);
/// Most events receipting at once, over every agent.
pub const MAX_JOBS: usize = 4096;

/// An event: (controller, prefix, sequence number).
type Key = (String, String, u64);

/// What a post of the receipting is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The event, for the witness's receipt.
    Receipt,
    /// The other witnesses' receipts, for the witness to keep.
    Propagation,
    /// An earlier event of the log, for a witness a rotation added (it cannot receipt an event
    /// of a log it has not seen).
    Catchup,
}

/// One event being receipted.
struct Job {
    event: Event,
    /// The controller's signatures, as `CESR-ATTACHMENT`.
    attachment: String,
    toad: usize,
    /// Every witness of the event, in `b` order, with where it is reached.
    urls: Vec<(String, Url)>,
    receipts: Vec<(String, Cigar)>,
    /// Failed asks per witness, for the pause before the next.
    failures: HashMap<String, u32>,
    /// For each witness the event adds, the earlier events (bytes and attachments) it is sent
    /// first, in order.
    catchup: HashMap<String, Backlog>,
    operation: String,
    metadata: Value,
    deadline: Instant,
    /// The operation is done (the threshold was met).
    done: bool,
}

impl Job {
    fn missing(&self) -> Vec<&str> {
        self.urls
            .iter()
            .map(|(wit, _)| wit.as_str())
            .filter(|wit| !self.receipts.iter().any(|(have, _)| have == wit))
            .collect()
    }
}

/// Events being receipted, asks waiting for their pause, and the posts to start.
pub struct Receipting {
    /// How long an event's witnesses have to reach its threshold.
    deadline: Duration,
    next_id: u64,
    jobs: HashMap<Key, Job>,
    /// Jobs staged in the open batch: they start once it commits.
    staged: Vec<(Key, Job)>,
    posting: HashMap<u64, (Key, String, Kind)>,
    waiting: Vec<(Instant, Key, String)>,
    to_post: Vec<(u64, Url, Post)>,
}

impl Receipting {
    /// Nothing receipting yet; each event's witnesses get `deadline`.
    pub fn new(deadline: Duration) -> Self {
        Self {
            deadline,
            next_id: 0,
            jobs: HashMap::new(),
            staged: Vec::new(),
            posting: HashMap::new(),
            waiting: Vec::new(),
            to_post: Vec::new(),
        }
    }

    /// Stages the receipting of `event` (accepted in this batch, signed by `sigs`) by the
    /// witnesses at `urls`, `toad` of whose receipts make it valid, with its pending
    /// operation (`witness.{prefix}` with `{pre, sn}`, or what `operation` names); the
    /// operation.
    pub fn stage(
        &mut self,
        rows: &mut OwnerWriter<'_>,
        controller: &str,
        (event, sigs): (&Event, &[Siger]),
        (urls, toad): (Vec<(String, Url)>, usize),
        operation: Option<(String, Value)>,
    ) -> Result<Value, Failure> {
        self.check_room()?;
        let (operation, metadata) = operation.unwrap_or_else(|| {
            (
                format!("witness.{}", event.prefix()),
                json!({"pre": event.prefix(), "sn": event.sn()}),
            )
        });
        let mut record = json!({
            "said": event.said(),
            "toad": toad,
            "operation": operation,
            "metadata": metadata,
            "urls": urls.iter().map(|(wit, url)| json!([wit, url.as_str()])).collect::<Vec<_>>(),
        });
        let stored = rows.kel(event.prefix())?;
        let position = usize::try_from(event.sn()).unwrap_or(usize::MAX);
        if stored
            .get(position)
            .is_none_or(|stored| stored.raw != event.raw())
        {
            record["event"] = String::from_utf8_lossy(event.raw()).into();
            record["sigs"] = signatures::join(sigs).into();
        }
        rows.put_record(
            RECEIPTING,
            &event_key(event.prefix(), event.sn()),
            &record.to_string(),
        )?;
        let pending = operations::pending(&operation, metadata.clone());
        if !operation.is_empty() {
            operations::stage(rows, &pending)?;
        }
        let attachment = Attachments {
            controller_sigs: sigs.to_vec(),
            ..Attachments::default()
        }
        .to_qb64();
        let key = (controller.to_owned(), event.prefix().to_owned(), event.sn());
        self.staged.push((
            key,
            Job {
                event: event.clone(),
                attachment,
                toad,
                urls,
                receipts: Vec::new(),
                failures: HashMap::new(),
                catchup: catchup(&stored, event, |name| rows.record(RECEIPTS, name))?,
                operation,
                metadata,
                deadline: Instant::now() + self.deadline,
                done: false,
            },
        ));
        Ok(pending)
    }

    /// Refuses a further event while `MAX_JOBS` are being receipted (check it before staging
    /// the event itself, so that a refusal stages nothing).
    pub fn check_room(&self) -> Result<(), Failure> {
        if self.jobs.len() + self.staged.len() >= MAX_JOBS {
            return Err(Failure::Busy(format!(
                "{MAX_JOBS} events are already being receipted; retry when some finish"
            )));
        }
        Ok(())
    }

    /// The open batch committed (`true`: its jobs start) or failed (they are dropped with it).
    pub fn committed(&mut self, committed: bool) {
        for (key, job) in std::mem::take(&mut self.staged) {
            if committed {
                let wits: Vec<String> = job.urls.iter().map(|(wit, _)| wit.clone()).collect();
                self.jobs.insert(key.clone(), job);
                for wit in wits {
                    self.ask(&key, &wit);
                }
            }
        }
    }

    /// Resumes every event a stopped agency left receipting (at start), with a fresh deadline.
    pub fn recover(&mut self, agency: &Agency) -> Result<()> {
        let reader = agency.read()?;
        let kept = reader.every_record(RECEIPTING)?;
        if !kept.is_empty() {
            log::info!(
                "{} events are still being receipted by their witnesses",
                kept.len()
            );
        }
        for (controller, name, record) in kept {
            match recover_job(&reader, &controller, &name, &record, self.deadline) {
                Ok((key, job)) => {
                    let missing: Vec<String> =
                        job.missing().into_iter().map(ToOwned::to_owned).collect();
                    self.jobs.insert(key.clone(), job);
                    for wit in missing {
                        self.ask(&key, &wit);
                    }
                }
                Err(err) => log::error!("resuming the receipting of {name}: {err:#}"),
            }
        }
        Ok(())
    }

    /// The posts to start now.
    pub fn take_posts(&mut self) -> Vec<(u64, Url, Post)> {
        std::mem::take(&mut self.to_post)
    }

    /// One tock: asks whose pause has ended go out again; events past their deadline end.
    pub fn tick(&mut self, agency: &mut Agency, now: Instant) {
        let (due, waiting) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(at, _, _)| *at <= now);
        self.waiting = waiting;
        for (_, key, wit) in due {
            if self.jobs.contains_key(&key) {
                self.ask(&key, &wit);
            }
        }
        let expired: Vec<Key> = self
            .jobs
            .iter()
            .filter(|(_, job)| job.deadline <= now)
            .map(|(key, _)| key.clone())
            .collect();
        for key in expired {
            self.finish(agency, &key);
        }
    }

    /// A post came back (or could not start).
    pub fn finished(&mut self, agency: &mut Agency, id: u64, outcome: FetchOutcome) {
        let Some((key, wit, kind)) = self.posting.remove(&id) else {
            return;
        };
        if kind == Kind::Propagation {
            if let Err(failure) = outcome {
                log::warn!(
                    "receipts of {} event {:x} not delivered to witness {wit}: {failure}",
                    key.1,
                    key.2
                );
            }
            return;
        }
        let Some(job) = self.jobs.get_mut(&key) else {
            return;
        };
        if kind == Kind::Catchup {
            match outcome {
                Ok(_) => {
                    if let Some(queue) = job.catchup.get_mut(&wit) {
                        queue.pop_front();
                    }
                    self.ask(&key, &wit);
                }
                Err(failure) => self.retry(key, wit, &failure.to_string()),
            }
            return;
        }
        let verified = match outcome {
            Ok(body) if body.body.is_empty() => Err("escrowed the event (202)".to_owned()),
            Ok(body) => witnesses::receipt(&body.body, &job.event, &wit),
            Err(failure) => Err(failure.to_string()),
        };
        let cigar = match verified {
            Ok(cigar) => cigar,
            Err(reason) => {
                self.retry(key, wit, &reason);
                return;
            }
        };
        if !job.receipts.iter().any(|(have, _)| *have == wit) {
            job.receipts.push((wit, cigar));
        }
        let record = receipts::receipts_record(job.event.said(), &job.receipts);
        let reached = job.receipts.len() >= job.toad && !job.done;
        let done = (reached && !job.operation.is_empty()).then(|| {
            operations::done(
                &job.operation,
                job.metadata.clone(),
                job.event.value().clone(),
            )
        });
        let staged = agency.stage(&key.0, |rows| {
            rows.put_record(RECEIPTS, &event_key(&key.1, key.2), &record)?;
            if let Some(done) = &done {
                operations::stage(rows, done)?;
            }
            Ok(())
        });
        if let Err(err) = staged {
            log::error!("keeping a receipt of {} event {:x}: {err:?}", key.1, key.2);
            return;
        }
        if reached {
            job.done = true;
            log::info!(
                "{} event {:x} receipted by {} of {} witnesses (threshold {})",
                key.1,
                key.2,
                job.receipts.len(),
                job.urls.len(),
                job.toad
            );
        }
        if job.missing().is_empty() {
            self.finish(agency, &key);
        }
    }

    /// Asks `wit` again for `key` after a pause that grows with its failures.
    fn retry(&mut self, key: Key, wit: String, reason: &str) {
        let Some(job) = self.jobs.get_mut(&key) else {
            return;
        };
        let failures = job.failures.entry(wit.clone()).or_insert(0);
        *failures += 1;
        let pause = retry_pause(FIRST_PAUSE, LONGEST_PAUSE, *failures);
        log::info!(
            "witness {wit} has not receipted {} event {:x}: {reason}; asking again in {}ms",
            key.1,
            key.2,
            pause.as_millis()
        );
        self.waiting.push((Instant::now() + pause, key, wit));
    }

    /// Ends `key`'s receipting: fails its operation if the threshold was not met, sends each
    /// receipting witness the others' receipts, and forgets it.
    fn finish(&mut self, agency: &mut Agency, key: &Key) {
        let Some(job) = self.jobs.remove(key) else {
            return;
        };
        self.waiting.retain(|(_, waiting, _)| waiting != key);
        let failed = (!job.done && !job.operation.is_empty()).then(|| {
            let missing = job.missing().join(", ");
            log::warn!(
                "{} event {:x}: {} of {} receipts by the deadline, below its threshold {}; missing {missing}",
                key.1,
                key.2,
                job.receipts.len(),
                job.urls.len(),
                job.toad
            );
            operations::failed(
                &job.operation,
                job.metadata.clone(),
                408,
                &format!(
                    "long running witness operation for {} timed out after {}s before receiving \
                     sufficient witness receipts ({} of {}, threshold {}); no receipt from {missing}",
                    key.1,
                    self.deadline.as_secs(),
                    job.receipts.len(),
                    job.urls.len(),
                    job.toad
                ),
            )
        });
        let staged = agency.stage(&key.0, |rows| {
            rows.remove_record(RECEIPTING, &event_key(&key.1, key.2))?;
            if let Some(failed) = &failed {
                operations::stage(rows, failed)?;
            }
            Ok(())
        });
        if let Err(err) = staged {
            log::error!(
                "ending the receipting of {} event {:x}: {err:?}",
                key.1,
                key.2
            );
        }
        if job.receipts.len() > 1 {
            let introductions = introductions(agency, &key.0, &job);
            self.propagate(key, &job, &introductions);
        }
    }

    /// Sends each receipting witness the receipts of the others, after the others' locations
    /// when it is new to them (`introductions`: an inception's witnesses, a rotation's added
    /// ones), as keripy's `Receiptor` does.
    fn propagate(&mut self, key: &Key, job: &Job, introductions: &[(String, SignedReply)]) {
        let rct = build::receipt(job.event.prefix(), job.event.sn(), job.event.said());
        let new = |wit: &str| {
            matches!(job.event.ilk(), Ilk::Icp | Ilk::Dip)
                || job.event.added_backers().iter().any(|added| added == wit)
        };
        for (wit, _) in &job.receipts {
            let Some((_, url)) = job.urls.iter().find(|(have, _)| have == wit) else {
                continue;
            };
            if new(wit) {
                for (eid, signed) in introductions.iter().filter(|(eid, _)| eid != wit) {
                    let attachment = Attachments {
                        signature_groups: signed.groups.clone(),
                        receipts: signed.couples.clone(),
                        ..Attachments::default()
                    }
                    .to_qb64();
                    let post = cesr_post(signed.reply.raw(), &attachment, wit);
                    log::debug!("introducing witness {eid} to {wit}");
                    self.post(key, wit, Kind::Propagation, url.clone(), post);
                }
            }
            let others = Attachments {
                receipts: job
                    .receipts
                    .iter()
                    .filter(|(other, _)| other != wit)
                    .filter_map(|(other, cigar)| {
                        crate::keri::primitives::Verfer::parse(other)
                            .ok()
                            .map(|verfer| (verfer, cigar.clone()))
                    })
                    .collect(),
                ..Attachments::default()
            };
            let post = cesr_post(&rct, &others.to_qb64(), wit);
            self.post(key, wit, Kind::Propagation, url.clone(), post);
        }
    }

    /// Asks `wit` for its receipt of `key`'s event.
    fn ask(&mut self, key: &Key, wit: &str) {
        let Some(job) = self.jobs.get(key) else {
            return;
        };
        let Some((_, url)) = job.urls.iter().find(|(have, _)| have == wit) else {
            return;
        };
        if let Some((raw, attachment)) = job.catchup.get(wit).and_then(VecDeque::front) {
            let post = cesr_post(raw, attachment, wit);
            let url = url.clone();
            self.post(key, wit, Kind::Catchup, url, post);
            return;
        }
        let Ok(url) = url.join("receipts") else {
            log::error!("witness {wit} has no URL to post receipts to: {url}");
            return;
        };
        let post = cesr_post(job.event.raw(), &job.attachment, wit);
        self.post(key, wit, Kind::Receipt, url, post);
    }

    fn post(&mut self, key: &Key, wit: &str, kind: Kind, url: Url, post: Post) {
        let id = self.next_id;
        self.next_id += 1;
        self.posting.insert(id, (key.clone(), wit.to_owned(), kind));
        self.to_post.push((id, url, post));
    }
}

/// The location replies of `job`'s receipting witnesses, as `controller`'s agent (or the agency,
/// for its introductions) holds them.
fn introductions(agency: &Agency, controller: &str, job: &Job) -> Vec<(String, SignedReply)> {
    let Ok(reader) = agency.read() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (wit, _) in &job.receipts {
        for owner in [controller, witnesses::INTRODUCED] {
            let replies = roles::location_replies(&reader.owner(owner), wit).unwrap_or_default();
            if !replies.is_empty() {
                found.extend(replies.into_iter().map(|signed| (wit.clone(), signed)));
                break;
            }
        }
    }
    found
}

/// A job from its `RECEIPTING` record, its event and signatures from the KEL, and the
/// receipts already kept.
fn recover_job(
    reader: &Reader,
    controller: &str,
    name: &str,
    record: &str,
    deadline: Duration,
) -> Result<(Key, Job)> {
    let value: Value = serde_json::from_str(record).context("stored receipting")?;
    let (prefix, sn) = name
        .rsplit_once('.')
        .and_then(|(prefix, sn)| Some((prefix, u64::from_str_radix(sn, 16).ok()?)))
        .ok_or_else(|| anyhow!("receipting key {name}"))?;
    let rows = reader.owner(controller);
    let stored = match (value["event"].as_str(), value["sigs"].as_str()) {
        (Some(raw), Some(sigs)) => StoredEvent {
            raw: raw.as_bytes().to_vec(),
            sigs: sigs.to_owned(),
            first_seen: String::new(),
        },
        _ => rows
            .kel(prefix)?
            .into_iter()
            .nth(usize::try_from(sn)?)
            .ok_or_else(|| anyhow!("no event {sn:x} of {prefix} is stored"))?,
    };
    let event = Event::parse(&stored.raw).map_err(|err| anyhow!("stored event: {err}"))?;
    if value["said"] != event.said() {
        return Err(anyhow!(
            "the stored event {sn:x} of {prefix} is another one"
        ));
    }
    let urls = value["urls"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|pair| {
            Some((
                pair[0].as_str()?.to_owned(),
                Url::parse(pair[1].as_str()?).ok()?,
            ))
        })
        .collect();
    let receipts: Vec<(String, Cigar)> = rows
        .record(RECEIPTS, name)?
        .map(|record| receipts::from_receipts_record(&record, event.said()))
        .unwrap_or_default()
        .into_iter()
        .map(|(verfer, cigar)| (verfer.qb64(), cigar))
        .collect();
    let attachment = Attachments {
        controller_sigs: signatures::parse(&stored.sigs)?,
        ..Attachments::default()
    }
    .to_qb64();
    let operation = value["operation"]
        .as_str()
        .map_or_else(|| format!("witness.{prefix}"), ToOwned::to_owned);
    let metadata = match &value["metadata"] {
        Value::Null => json!({"pre": prefix, "sn": sn}),
        metadata => metadata.clone(),
    };
    let toad = value["toad"]
        .as_u64()
        .and_then(|toad| usize::try_from(toad).ok())
        .unwrap_or(0);
    let done = receipts.len() >= toad;
    Ok((
        (controller.to_owned(), prefix.to_owned(), sn),
        Job {
            attachment,
            toad,
            urls,
            catchup: catchup(&rows.kel(prefix)?, &event, |name| {
                rows.record(RECEIPTS, name)
            })?,
            receipts,
            failures: HashMap::new(),
            operation,
            metadata,
            deadline: Instant::now() + deadline,
            done,
            event,
        },
    ))
}
