//! OOBIs being resolved: `POST /oobis`, and key-state queries answered by asking an
//! identifier's agent again through its OOBI.
//!
//! Each stages a pending operation and asks for the URL to be fetched off the loop; the worker
//! that fetched it also verifies what came (`examine`): the stream whole
//! (`keri::oobi::resolve`), or for a data OOBI (`…/oobi/{said}`) the credential schema
//! (`schemas::read`), so that no answer's checks stall the loop. When the result comes back
//! through the poll, its KELs, replies and contact, or its schema, are staged with the
//! operation's completion. An operation whose fetch a restart cut short is failed when it is
//! next read.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::schemas::{self, Schema};
use super::witnesses::{self, INTRODUCED};
use super::{kels, oobis, operations, Agency, Failure};
use crate::keri::datetime::format_datetime;
use crate::keri::oobi::{self, OobiError};
use crate::keri::primitives::Salt;
use crate::process::fetcher::{FetchFailure, FetchOutcome};
use crate::process::workers::retry_pause;
use crate::store::CONTACTS;

/// Largest OOBI stream accepted (the fetcher refuses larger bodies first).
const MAX_STREAM: usize = 4 << 20;

/// What a fetched OOBI completes.
enum Purpose {
    /// `POST /oobis`: the contact named `alias` (if any).
    Contact { alias: Option<String> },
    /// The configuration's `iurls` (`data`: its `durls`), resolved for every agent (kept under
    /// `INTRODUCED`); a failure is tried again after a pause, the `attempts`-th time.
    Introduction { attempts: u32, data: bool },
    /// `POST /queries`: the key state at sequence number `sn` or later (any, if None).
    Query { prefix: String, sn: Option<u64> },
    /// A delegator's log, asked again for its approval of a delegated event (`delegations`):
    /// no operation; what it holds is kept, and the query's end reported (`take_anchored`).
    Anchor { prefix: String },
}

/// What a fetched OOBI held, verified.
pub enum Resolved {
    /// A CESR stream: KELs, replies.
    Stream(oobi::Resolution),
    /// A credential schema (a data OOBI).
    Schema(Schema),
}

/// Why a fetched OOBI was not resolved.
pub enum Unresolved {
    /// Events of the stream are short of their witnesses' receipts: their receipting may be
    /// under way, so the resolution may wait in escrow.
    Unwitnessed(String),
    /// Anything else, with the reason.
    Refused(String),
}

impl Unresolved {
    fn reason(&self) -> &str {
        match self {
            Self::Unwitnessed(reason) | Self::Refused(reason) => reason,
        }
    }
}

/// An OOBI being fetched.
struct Resolving {
    controller: String,
    operation: String,
    metadata: Value,
    url: url::Url,
    purpose: Purpose,
    /// Held in escrow until then: its stream had events short of their witnesses' receipts.
    escrowed_until: Option<Instant>,
}

/// The OOBIs being resolved, and the fetches to start.
#[derive(Default)]
pub struct Resolutions {
    next_id: u64,
    resolving: HashMap<u64, Resolving>,
    /// Fetches of operations staged in the open batch: they start once it commits.
    staged: Vec<(u64, url::Url)>,
    to_fetch: Vec<(u64, url::Url)>,
    /// Introductions waiting for their next attempt.
    waiting: Vec<(Instant, Resolving)>,
    /// Delegators' logs asked again that came back (controller, delegator), kept or not.
    anchored: Vec<(String, String)>,
}

/// The pause after an introduction's first failed resolution; it doubles, up to
/// `LONGEST_INTRODUCTION_PAUSE`, and it is tried again until it resolves.
const FIRST_INTRODUCTION_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_INTRODUCTION_PAUSE: Duration = Duration::from_secs(30);
/// How long a resolution whose stream has events short of their witnesses' receipts is held
/// and fetched again (their receipting may be under way) before its operation fails.
pub const ESCROW_TIME: Duration = Duration::from_secs(10);
/// The pause between two fetches of an escrowed resolution.
const ESCROW_PAUSE: Duration = Duration::from_millis(500);
/// Most resolutions held in escrow at once; past that, one fails at once.
pub const MAX_ESCROWED: usize = 256;

impl Resolutions {
    /// The open batch committed (`true`: its fetches may start) or failed (they are dropped
    /// with their operations, which were not kept).
    pub fn committed(&mut self, committed: bool) {
        let staged = std::mem::take(&mut self.staged);
        if committed {
            self.to_fetch.extend(staged);
        } else {
            for (id, _) in staged {
                self.resolving.remove(&id);
            }
        }
    }

    /// The fetches handlers asked for since the last call.
    pub fn take_fetches(&mut self) -> Vec<(u64, url::Url)> {
        std::mem::take(&mut self.to_fetch)
    }

    /// Resolves each of the configuration's `iurls` and `durls` for every agent (at start);
    /// what they hold (witnesses' locations, credential schemas) is kept under `INTRODUCED`.
    pub fn introduce(&mut self, iurls: &[String], durls: &[String]) {
        let urls = iurls.iter().map(|url| (url, false));
        for (text, data) in urls.chain(durls.iter().map(|url| (url, true))) {
            match oobi_url(text) {
                Ok(url) => {
                    let resolving = Resolving {
                        controller: INTRODUCED.to_owned(),
                        operation: String::new(),
                        metadata: Value::Null,
                        url,
                        purpose: Purpose::Introduction { attempts: 0, data },
                        escrowed_until: None,
                    };
                    self.queue(resolving);
                }
                Err(err) => log::warn!("introduction URL {text} is not resolved: {err:?}"),
            }
        }
    }

    /// One tock: introductions whose pause has ended are fetched again.
    pub fn tick(&mut self, now: Instant) {
        let (due, waiting) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.waiting = waiting;
        for (_, resolving) in due {
            self.queue(resolving);
        }
    }

    /// Queues a fetch that no operation waits for.
    fn queue(&mut self, resolving: Resolving) {
        let id = self.next_id;
        self.next_id += 1;
        self.to_fetch.push((id, resolving.url.clone()));
        self.resolving.insert(id, resolving);
    }

    /// `POST /oobis` `{url, oobialias}`: a pending `oobi.{nonce}` operation.
    pub fn start(
        &mut self,
        agency: &mut Agency,
        controller: &str,
        body: &Value,
    ) -> Result<Value, Failure> {
        let Some(text) = body["url"].as_str() else {
            return Err(Failure::Invalid("url must be a string".into()));
        };
        let url = oobi_url(text)?;
        let alias = match body.get("oobialias") {
            None | Some(Value::Null) => None,
            Some(Value::String(alias)) => Some(alias.clone()),
            Some(_) => return Err(Failure::Invalid("oobialias must be a string".into())),
        };
        let nonce = nonce().map_err(Failure::Storage)?;
        let resolving = Resolving {
            controller: controller.to_owned(),
            operation: format!("oobi.{nonce}"),
            metadata: json!({"oobi": text}),
            url,
            purpose: Purpose::Contact { alias },
            escrowed_until: None,
        };
        self.fetch(agency, resolving)
    }

    /// `POST /queries` for a key state this agent does not hold at `sn`: its contact's OOBI is
    /// fetched again. None when there is no contact to ask.
    pub fn query(
        &mut self,
        agency: &mut Agency,
        controller: &str,
        (prefix, sn): (&str, Option<u64>),
        (operation, metadata): (&str, &Value),
    ) -> Option<Result<Value, Failure>> {
        let url = match Self::query_url(agency, controller, prefix) {
            Ok(Some(url)) => url,
            Ok(None) => return None,
            Err(err) => return Some(Err(Failure::Storage(err))),
        };
        let resolving = Resolving {
            controller: controller.to_owned(),
            operation: operation.to_owned(),
            metadata: metadata.clone(),
            url,
            purpose: Purpose::Query {
                prefix: prefix.to_owned(),
                sn,
            },
            escrowed_until: None,
        };
        Some(self.fetch(agency, resolving))
    }

    /// Asks for `prefix`'s log again, as a key-state query does, for `controller`'s pending
    /// delegation (`Purpose::Anchor`); whether there was anywhere to ask.
    pub fn anchor_query(
        &mut self,
        agency: &Agency,
        controller: &str,
        prefix: &str,
    ) -> anyhow::Result<bool> {
        let Some(url) = Self::query_url(agency, controller, prefix)? else {
            return Ok(false);
        };
        self.queue(Resolving {
            controller: controller.to_owned(),
            operation: String::new(),
            metadata: Value::Null,
            url,
            purpose: Purpose::Anchor {
                prefix: prefix.to_owned(),
            },
            escrowed_until: None,
        });
        Ok(true)
    }

    /// The delegators' logs asked for again whose fetch has ended since the last call:
    /// (controller, delegator).
    pub fn take_anchored(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.anchored)
    }

    /// Where a key state is asked for again: a witnessed identifier's first known witness
    /// (`{url}/oobi/{prefix}`, the log with its receipts, as keri's witnesses serve it), else
    /// its contact's OOBI (its agent).
    fn query_url(
        agency: &Agency,
        controller: &str,
        prefix: &str,
    ) -> anyhow::Result<Option<url::Url>> {
        let reader = agency.read()?;
        let rows = reader.owner(controller);
        if let Some(kel) = kels::load(&rows, prefix)? {
            for wit in kel.state().backers() {
                if let Some(url) = witnesses::url(&reader, controller, wit)? {
                    return Ok(url.join(&format!("oobi/{prefix}")).ok());
                }
            }
        }
        Ok(rows
            .record(CONTACTS, prefix)?
            .and_then(|contact| serde_json::from_str::<Value>(&contact).ok())
            .and_then(|contact| {
                contact["oobi"]
                    .as_str()
                    .and_then(|url| url::Url::parse(url).ok())
            }))
    }

    /// Stages `resolving`'s pending operation and queues its fetch.
    fn fetch(&mut self, agency: &mut Agency, resolving: Resolving) -> Result<Value, Failure> {
        let operation = operations::pending(&resolving.operation, resolving.metadata.clone());
        agency.stage(&resolving.controller, |rows| {
            Ok(operations::stage(rows, &operation)?)
        })?;
        let id = self.next_id;
        self.next_id += 1;
        self.staged.push((id, resolving.url.clone()));
        self.resolving.insert(id, resolving);
        Ok(operation)
    }

    /// `operations` of `controller` as stored, with each resolution or query that a restart
    /// interrupted (pending, but fetched by no worker of this process) failed, and that
    /// failure staged, so no operation waits forever.
    pub fn settle(
        &self,
        agency: &mut Agency,
        controller: &str,
        operations: Vec<Value>,
    ) -> Result<Vec<Value>, Failure> {
        operations
            .into_iter()
            .map(|operation| {
                let name = operation["name"].as_str().unwrap_or_default();
                let orphaned = operation["done"] == false
                    && (name.starts_with("oobi.") || name.starts_with("query."))
                    && !self
                        .resolving
                        .values()
                        .chain(self.waiting.iter().map(|(_, waiting)| waiting))
                        .any(|resolving| {
                            resolving.operation == name && resolving.controller == controller
                        });
                if !orphaned {
                    return Ok(operation);
                }
                let failed = operations::failed(
                    name,
                    operation["metadata"].clone(),
                    503,
                    "the agency restarted before this OOBI was resolved: ask again",
                );
                agency.stage(controller, |rows| Ok(operations::stage(rows, &failed)?))?;
                Ok(failed)
            })
            .collect()
    }

    /// A fetch came back, examined (or could not start): keep what it held, complete the
    /// operation.
    pub fn fetched(&mut self, agency: &mut Agency, id: u64, outcome: Result<Resolved, Unresolved>) {
        let Some(mut resolving) = self.resolving.remove(&id) else {
            return;
        };
        if let Purpose::Anchor { prefix } = &resolving.purpose {
            keep_quietly(agency, &resolving, prefix, &outcome);
            self.anchored
                .push((resolving.controller.clone(), prefix.clone()));
            return;
        }
        if let Purpose::Query { prefix, sn } = &resolving.purpose {
            // A query short of its sequence number (or whose source could not answer yet: a
            // witness serves nothing before the event is fully witnessed) asks again, as long
            // as an escrowed resolution may, keeping what came.
            let short = match &outcome {
                Err(_) => true,
                Ok(Resolved::Stream(resolution)) => sn.is_some_and(|sn| {
                    resolution
                        .kels
                        .iter()
                        .find(|kel| kel.state().prefix() == prefix)
                        .is_none_or(|kel| kel.state().sn() < sn)
                }),
                Ok(Resolved::Schema(_)) => false,
            };
            if short && self.escrow(&resolving) {
                let prefix = prefix.clone();
                keep_quietly(agency, &resolving, &prefix, &outcome);
                resolving
                    .escrowed_until
                    .get_or_insert(Instant::now() + ESCROW_TIME);
                self.waiting
                    .push((Instant::now() + ESCROW_PAUSE, resolving));
                return;
            }
        }
        if matches!(outcome, Err(Unresolved::Unwitnessed(_))) && self.escrow(&resolving) {
            resolving
                .escrowed_until
                .get_or_insert(Instant::now() + ESCROW_TIME);
            self.waiting
                .push((Instant::now() + ESCROW_PAUSE, resolving));
            return;
        }
        let outcome = outcome.map_err(|unresolved| unresolved.reason().to_owned());
        if let Purpose::Introduction { attempts, data } = resolving.purpose {
            self.introduced(agency, resolving, (attempts, data), &outcome);
            return;
        }
        complete(agency, &resolving, &outcome);
    }
}

impl Resolutions {
    /// Whether `resolving` may wait in escrow (once more): within its escrow time, and while
    /// fewer than `MAX_ESCROWED` wait.
    fn escrow(&self, resolving: &Resolving) -> bool {
        let held = self
            .waiting
            .iter()
            .filter(|(_, waiting)| waiting.escrowed_until.is_some())
            .count();
        let in_time = resolving
            .escrowed_until
            .is_none_or(|until| Instant::now() < until);
        in_time && (resolving.escrowed_until.is_some() || held < MAX_ESCROWED)
    }

    /// Keeps what an introduction's resolution holds, or tries it again after a pause.
    fn introduced(
        &mut self,
        agency: &mut Agency,
        mut resolving: Resolving,
        (attempts, data): (u32, bool),
        outcome: &Result<Resolved, String>,
    ) {
        let aid = oobis::aid_of(&resolving.url).unwrap_or_default();
        let seen = format_datetime(time::OffsetDateTime::now_utc());
        let kept = outcome.as_ref().map_err(Clone::clone).and_then(|resolved| {
            agency
                .stage(INTRODUCED, |rows| match resolved {
                    Resolved::Stream(resolution) => {
                        oobis::keep(rows, resolution, &aid, resolving.url.as_str(), None, &seen)
                            .map(drop)
                            .map_err(Failure::Storage)
                    }
                    Resolved::Schema(schema) => Ok(schemas::keep(rows, schema)?),
                })
                .map_err(|err| format!("{err:?}"))
        });
        let kind = if data { "data OOBI" } else { "introduction" };
        match kept {
            Ok(()) => log::info!("{kind} {} resolved for every agent", resolving.url),
            Err(reason) => {
                let pause = retry_pause(
                    FIRST_INTRODUCTION_PAUSE,
                    LONGEST_INTRODUCTION_PAUSE,
                    attempts + 1,
                );
                log::warn!(
                    "{kind} {} not resolved: {reason}; trying again in {}s",
                    resolving.url,
                    pause.as_secs()
                );
                resolving.purpose = Purpose::Introduction {
                    attempts: attempts + 1,
                    data,
                };
                self.waiting.push((Instant::now() + pause, resolving));
            }
        }
    }
}

/// What the fetch of OOBI `url` brought, verified: a CESR stream, or the schema a data OOBI
/// names; else why not. Run by the worker that fetched it.
pub fn examine(outcome: FetchOutcome, url: &url::Url) -> Result<Resolved, Unresolved> {
    match outcome {
        Ok(body) if schemas::is_schema(body.content_type.as_deref(), &body.body) => {
            let said = oobis::aid_of(url).unwrap_or_default();
            schemas::read(&body.body, &said)
                .map(Resolved::Schema)
                .map_err(Unresolved::Refused)
        }
        Ok(body) => oobi::resolve(&body.body, MAX_STREAM)
            .map(Resolved::Stream)
            .map_err(|err| match err {
                OobiError::Unwitnessed { .. } => Unresolved::Unwitnessed(err.to_string()),
                err => Unresolved::Refused(err.to_string()),
            }),
        Err(FetchFailure::NotStarted(reason)) => {
            Err(Unresolved::Refused(format!("not fetched: {reason}")))
        }
        Err(failure) => Err(Unresolved::Refused(failure.to_string())),
    }
}

/// Checks a URL to resolve: http(s), naming an AID.
fn oobi_url(text: &str) -> Result<url::Url, Failure> {
    let url = match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        Ok(url) => {
            return Err(Failure::Invalid(format!(
                "url must be http or https, not {}",
                url.scheme()
            )))
        }
        Err(err) => return Err(Failure::Invalid(format!("url {text:?}: {err}"))),
    };
    if oobis::aid_of(&url).is_none() {
        return Err(Failure::Invalid(format!(
            "url {text:?} names no AID (expected …/oobi/{{aid}}…)"
        )));
    }
    Ok(url)
}

/// Keeps what a log asked for again holds (no contact, no operation): a delegator's, for its
/// anchor, or a query's not yet at its sequence number.
fn keep_quietly(
    agency: &mut Agency,
    resolving: &Resolving,
    prefix: &str,
    outcome: &Result<Resolved, Unresolved>,
) {
    let url = resolving.url.as_str();
    let seen = format_datetime(time::OffsetDateTime::now_utc());
    let reason = match outcome {
        Ok(Resolved::Stream(resolution)) => agency
            .stage(&resolving.controller, |rows| {
                oobis::keep(rows, resolution, prefix, url, None, &seen)
                    .map(drop)
                    .map_err(|err| Failure::Invalid(format!("{err:#}")))
            })
            .err()
            .map(|err| format!("{err:?}")),
        Ok(Resolved::Schema(_)) => Some("a schema".to_owned()),
        Err(unresolved) => Some(unresolved.reason().to_owned()),
    };
    if let Some(reason) = reason {
        log::debug!("the log of {prefix} from {url} is not kept: {reason}");
    }
}

/// Stages what a verified resolution holds, and its operation's completion.
fn complete(agency: &mut Agency, resolving: &Resolving, outcome: &Result<Resolved, String>) {
    let aid = oobis::aid_of(&resolving.url).unwrap_or_default();
    let seen = format_datetime(time::OffsetDateTime::now_utc());
    let name = resolving.operation.as_str();
    let metadata = resolving.metadata.clone();
    let staged = agency.stage(&resolving.controller, |rows| {
        let operation = match outcome {
            Err(reason) => operations::failed(name, metadata, 400, reason),
            Ok(Resolved::Schema(schema)) => match &resolving.purpose {
                Purpose::Contact { .. }
                | Purpose::Introduction { .. }
                | Purpose::Anchor { .. } => {
                    schemas::keep(rows, schema)?;
                    // KERIA's answer for an OOBI that names no identifier.
                    let response = json!({"oobi": metadata["oobi"]});
                    operations::done(name, metadata, response)
                }
                Purpose::Query { prefix, .. } => operations::failed(
                    name,
                    metadata,
                    400,
                    &format!("the OOBI of {prefix} serves a schema, not its key state"),
                ),
            },
            Ok(Resolved::Stream(resolution)) => {
                let alias = match &resolving.purpose {
                    Purpose::Contact { alias } => alias.as_deref(),
                    Purpose::Query { .. }
                    | Purpose::Introduction { .. }
                    | Purpose::Anchor { .. } => None,
                };
                match oobis::keep(rows, resolution, &aid, resolving.url.as_str(), alias, &seen) {
                    Err(err) => operations::failed(name, metadata, 400, &format!("{err:#}")),
                    Ok(state) => match &resolving.purpose {
                        Purpose::Contact { .. }
                        | Purpose::Introduction { .. }
                        | Purpose::Anchor { .. } => operations::done(name, metadata, state),
                        Purpose::Query { prefix, sn } => {
                            // The contact's OOBI names `prefix`: `state` is its key state now.
                            let held = state["s"]
                                .as_str()
                                .and_then(|held| u64::from_str_radix(held, 16).ok());
                            if sn.is_none_or(|sn| held.is_some_and(|held| held >= sn)) {
                                operations::done(name, metadata, state)
                            } else {
                                operations::failed(
                                    name,
                                    metadata,
                                    404,
                                    &format!(
                                        "the agent of {prefix} serves it at sequence number {}, not yet {}",
                                        state["s"].as_str().unwrap_or("?"),
                                        sn.map_or_else(String::new, |sn| format!("{sn:x}"))
                                    ),
                                )
                            }
                        }
                    },
                }
            }
        };
        Ok(operations::stage(rows, &operation)?)
    });
    match (outcome, staged) {
        (Ok(_), Ok(())) => log::info!("OOBI {} resolved", resolving.url),
        (Err(reason), Ok(())) => log::info!("OOBI {} not resolved: {reason}", resolving.url),
        (_, Err(_)) => log::error!(
            "the resolution of OOBI {} could not be stored",
            resolving.url
        ),
    }
}

/// A fresh nonce, as KERIA names its OOBI operations (a qb64 salt).
fn nonce() -> anyhow::Result<String> {
    let mut raw = [0_u8; 16];
    getrandom::getrandom(&mut raw).map_err(|err| anyhow::anyhow!("no randomness: {err}"))?;
    Ok(Salt::new(raw).qb64().to_string())
}
