//! Messages on their way to other agencies: each is kept in the store with the message that
//! sends it (so a 202 means it will be posted, across restarts), posted by a worker off the
//! loop once that commit has succeeded, and removed once an agent has taken it. A post that fails is tried again later, with
//! a growing pause, until `MAX_ATTEMPTS`; then it is dropped and the log says so.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};
use url::Url;

use crate::agency::Agency;
use crate::keri::exchange::Exchange;
use crate::process::fetcher::{FetchFailure, Post};
use crate::process::workers::retry_pause;
use crate::store::{OwnerWriter, OUTBOX};

/// The content type KERI agents post one message with, its attachments in `CESR-ATTACHMENT`.
pub const CESR_JSON: &str = "application/cesr+json";
/// The content type of a whole CESR stream: messages, each followed by its attachments.
pub const CESR_STREAM: &str = "application/cesr";
/// Posts of one message to one recipient before it is dropped (each post is itself tried
/// three times by its job when the connection fails).
pub const MAX_ATTEMPTS: u32 = 10;
/// The pause after the first failed post; it doubles after each, up to `LONGEST_PAUSE`.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(300);

/// A KERI message posted as KERI agents post one: the body, its attachments in a header.
pub fn cesr_post(raw: &[u8], attachment: &str, destination: &str) -> Post {
    Post {
        headers: vec![
            ("Content-Type".to_owned(), CESR_JSON.to_owned()),
            ("CESR-ATTACHMENT".to_owned(), attachment.to_owned()),
            ("CESR-DESTINATION".to_owned(), destination.to_owned()),
        ],
        body: raw.to_vec(),
    }
}

/// A message for one recipient, as kept in the store.
struct Delivery {
    controller: String,
    key: String,
    attempts: u32,
}

/// Messages being posted, waiting for their next attempt, and the posts to start.
#[derive(Default)]
pub struct Outbox {
    next_id: u64,
    posting: HashMap<u64, Delivery>,
    waiting: Vec<(Instant, Delivery)>,
    /// First posts of messages staged in the open batch: they start once it commits.
    staged: Vec<(u64, Url, Post)>,
    to_post: Vec<(u64, Url, Post)>,
}

impl Outbox {
    /// The open batch committed (`true`: its first posts may start) or failed (they are
    /// dropped with it: the messages were not kept, and the clients were told so).
    pub fn committed(&mut self, committed: bool) {
        let staged = std::mem::take(&mut self.staged);
        if committed {
            self.to_post.extend(staged);
        } else {
            for (id, _, _) in staged {
                self.posting.remove(&id);
            }
        }
    }

    /// The posts to start now.
    pub fn take_posts(&mut self) -> Vec<(u64, Url, Post)> {
        std::mem::take(&mut self.to_post)
    }

    /// Stages `exn` for `recipient`'s agent at `url` with the message that sends it, and
    /// queues its first post.
    pub fn send(
        &mut self,
        rows: &mut OwnerWriter<'_>,
        (controller, url): (&str, &Url),
        exn: &Exchange,
        attachment: &str,
        recipient: &str,
    ) -> Result<()> {
        let key = format!("{}.{recipient}", exn.said());
        let record = json!({
            "url": url.as_str(),
            "exn": String::from_utf8_lossy(exn.raw()),
            "attachment": attachment,
            "recipient": recipient,
        });
        self.keep(rows, controller, key, &record)
    }

    /// Stages a whole CESR `stream` for `recipient`'s agent at `url` (messages that introduce
    /// an `exn`'s sender before it, such as a `/delegate/request`), named `key` (the exn's
    /// SAID), and queues its first post, as `application/cesr`.
    pub fn send_stream(
        &mut self,
        rows: &mut OwnerWriter<'_>,
        (controller, url): (&str, &Url),
        said: &str,
        stream: &[u8],
        recipient: &str,
    ) -> Result<()> {
        let key = format!("{said}.{recipient}");
        let record = json!({
            "url": url.as_str(),
            "stream": String::from_utf8_lossy(stream),
            "recipient": recipient,
        });
        self.keep(rows, controller, key, &record)
    }

    /// Keeps a delivery's `record` under `key` and queues its first post.
    fn keep(
        &mut self,
        rows: &mut OwnerWriter<'_>,
        controller: &str,
        key: String,
        record: &Value,
    ) -> Result<()> {
        rows.put_record(OUTBOX, &key, &record.to_string())?;
        if let Some(post) = self.queue(
            Delivery {
                controller: controller.to_owned(),
                key,
                attempts: 0,
            },
            record,
        ) {
            self.staged.push(post);
        }
        Ok(())
    }

    /// Queues every message a stopped agency left undelivered (at start).
    pub fn recover(&mut self, agency: &Agency) -> Result<()> {
        let kept = agency.read()?.every_record(OUTBOX)?;
        if !kept.is_empty() {
            log::info!(
                "{} messages to other agencies are still to be delivered",
                kept.len()
            );
        }
        for (controller, key, record) in kept {
            let record: Value = serde_json::from_str(&record).context("stored outgoing message")?;
            let delivery = Delivery {
                controller,
                key,
                attempts: 0,
            };
            let post = self.queue(delivery, &record);
            self.to_post.extend(post);
        }
        Ok(())
    }

    /// Queues the posts whose pause has ended.
    pub fn tick(&mut self, agency: &Agency, now: Instant) {
        let (due, waiting) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.waiting = waiting;
        for (_, delivery) in due {
            let record = agency.read().and_then(|reader| {
                reader
                    .owner(&delivery.controller)
                    .record(OUTBOX, &delivery.key)
            });
            match record {
                Ok(Some(record)) => match serde_json::from_str::<Value>(&record) {
                    Ok(record) => {
                        let post = self.queue(delivery, &record);
                        self.to_post.extend(post);
                    }
                    Err(err) => log::error!("stored outgoing message {}: {err}", delivery.key),
                },
                Ok(None) => {}
                Err(err) => log::error!("{err:#}"),
            }
        }
    }

    /// A post came back (or could not start): delivered messages are removed, others wait for
    /// their next attempt or are dropped after the last.
    pub fn finished(&mut self, agency: &mut Agency, id: u64, outcome: &Result<(), FetchFailure>) {
        let Some(delivery) = self.posting.remove(&id) else {
            return;
        };
        let attempts = delivery.attempts;
        let (said, recipient) = delivery.key.split_once('.').unwrap_or((&delivery.key, "?"));
        match outcome {
            Ok(()) => log::info!("exn {said} delivered to {recipient}"),
            // A 4xx is the agent's refusal of this message: posting it again changes nothing.
            Err(reason) if attempts >= MAX_ATTEMPTS || reason.is_refusal() => {
                log::error!(
                    "exn {said} not delivered to {recipient}: {reason}; dropped after {attempts} posts"
                );
            }
            Err(reason) => {
                let pause = retry_pause(FIRST_PAUSE, LONGEST_PAUSE, attempts);
                log::warn!(
                    "exn {said} not delivered to {recipient}: {reason}; post {} of {MAX_ATTEMPTS} in {}s",
                    attempts + 1,
                    pause.as_secs()
                );
                self.waiting.push((Instant::now() + pause, delivery));
                return;
            }
        }
        // Delivered, or given up on: it leaves the store.
        let key = &delivery.key;
        if let Err(err) = agency.stage(&delivery.controller, |rows| {
            Ok(rows.remove_record(OUTBOX, key)?)
        }) {
            log::error!("removing outgoing message {key}: {err:?}");
        }
    }

    /// A post of `record` for `delivery`, now being posted.
    fn queue(&mut self, mut delivery: Delivery, record: &Value) -> Option<(u64, Url, Post)> {
        let text = |field: &str| record[field].as_str().unwrap_or_default().to_owned();
        let Ok(url) = Url::parse(&text("url")) else {
            log::error!("stored outgoing message {} has no URL", delivery.key);
            return None;
        };
        let id = self.next_id;
        self.next_id += 1;
        let post = if record["stream"].is_string() {
            Post {
                headers: vec![
                    ("Content-Type".to_owned(), CESR_STREAM.to_owned()),
                    ("CESR-DESTINATION".to_owned(), text("recipient")),
                ],
                body: text("stream").into_bytes(),
            }
        } else {
            cesr_post(
                text("exn").as_bytes(),
                &text("attachment"),
                &text("recipient"),
            )
        };
        delivery.attempts += 1;
        self.posting.insert(id, delivery);
        Some((id, url, post))
    }
}
