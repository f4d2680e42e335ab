//! `POST /backup` on the boot port: a consistent copy of the agency store while it runs.
//!
//! The agency writes backups only into the folder its operator named (`--backup-dir`); without
//! one the route is refused. The request names a file in that folder, never a path: a plain name
//! of at most 128 letters, digits, `.`, `_` and `-` that does not start with a dot. With boot
//! credentials configured, they are required here too. The handler checks the name, creates the
//! temporary file in the folder and takes one read transaction: a snapshot of everything
//! committed, every acknowledged boot included. A worker thread then copies that snapshot into
//! the new file (`store_copy::backup`) while the loop keeps serving; it wakes the poll when done,
//! and the deferred answer goes out. One backup runs at a time; the stop cancels it.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use mio::unix::pipe;
use mio::{Interest, Registry, Token};
use serde_json::{json, Value};

use super::Pending;
use crate::agency::Agency;
use crate::server::http::{Request, Response};
use crate::server::json;
use crate::server::Ticket;
use crate::store::Reader;
use crate::store_copy::{self, Copied, TempFile};

/// The route, on the boot port.
pub(super) const PATH: &str = "/backup";

/// A checked request: the snapshot to copy and where.
pub(super) struct Job {
    reader: Reader,
    temp: TempFile,
    target: PathBuf,
    force: bool,
}

/// The backup being written, if any.
struct Running {
    ticket: Ticket,
    pending: Pending,
    target: PathBuf,
    cancel: Arc<AtomicBool>,
    /// The copy's outcome, sent before the worker wakes the poll.
    outcome: mpsc::Receiver<Result<Copied>>,
    worker: JoinHandle<()>,
}

/// The backup worker: at most one thread, which wakes the poll when it ends. (A pipe rather
/// than a `mio::Waker`: a poll has room for one waker, and the fetcher holds it.)
pub struct Backups {
    /// The operator's backup folder (canonical), if backups are on.
    folder: Option<PathBuf>,
    wake: Arc<pipe::Sender>,
    woken: pipe::Receiver,
    running: Option<Running>,
}

impl Backups {
    /// A worker that wakes `registry`'s poll with `token` when a backup ends, writing into
    /// `folder` (checked by `prepare_folder`); with none, every backup request is refused.
    pub fn new(registry: &Registry, token: Token, folder: Option<PathBuf>) -> Result<Self> {
        let (wake, mut woken) = pipe::new().context("creating the backup wake-up pipe")?;
        registry
            .register(&mut woken, token, Interest::READABLE)
            .context("watching the backup wake-up pipe")?;
        Ok(Self {
            folder,
            wake: Arc::new(wake),
            woken,
            running: None,
        })
    }

    /// Checks a request and takes its snapshot; a refusal is the answer.
    pub(super) fn prepare(&self, agency: &Agency, request: &Request) -> Result<Job, Response> {
        if self.running.is_some() {
            return Err(Response::error(
                503,
                "backup running",
                "a backup is already being written; retry when it ends",
            ));
        }
        let Some(folder) = &self.folder else {
            return Err(Response::error(
                403,
                "backups are off",
                "this agency writes no backups: its operator starts it with --backup-dir \
                 (KERIA_BACKUP_DIR) to name the folder they go to",
            ));
        };
        let body = json::parse(&request.body)
            .map_err(|err| invalid(&format!("the body must be JSON: {err}")))?;
        let Some(fields) = body.as_object() else {
            return Err(invalid("the body must be a JSON object"));
        };
        if fields.contains_key("path") {
            return Err(invalid(
                "the agency writes backups only into its backup folder: give the file's \"name\", \
                 not a \"path\"",
            ));
        }
        if let Some(unknown) = fields
            .keys()
            .find(|key| !matches!(key.as_str(), "name" | "force"))
        {
            return Err(invalid(&format!("unknown field \"{unknown}\"")));
        }
        let name = body["name"]
            .as_str()
            .ok_or_else(|| invalid("required field \"name\" (a string) missing from body"))?;
        store_copy::check_backup_name(name).map_err(|reason| invalid(&reason))?;
        let force = match &body["force"] {
            Value::Null => false,
            Value::Bool(force) => *force,
            _ => return Err(invalid("force must be true or false")),
        };
        let target = folder.join(name);
        if target == agency.store_path() {
            return Err(invalid("name is the live store itself"));
        }
        if target.is_dir() {
            return Err(invalid(&format!("{} is a folder", target.display())));
        }
        if target.exists() && !force {
            return Err(Response::error(
                409,
                "file exists",
                &format!("{} already exists (force replaces it)", target.display()),
            ));
        }
        let temp = TempFile::beside(&target).map_err(|err| {
            let denied = err
                .downcast_ref::<io::Error>()
                .is_some_and(|err| err.kind() == io::ErrorKind::PermissionDenied);
            Response::error(
                if denied { 403 } else { 400 },
                "cannot write there",
                &format!("{err:#}"),
            )
        })?;
        let reader = agency.read().map_err(|err| storage(&err))?;
        Ok(Job {
            reader,
            temp,
            target,
            force,
        })
    }

    /// Starts the worker for `job`; on failure, the answer to send now.
    pub(super) fn run(
        &mut self,
        job: Job,
        ticket: Ticket,
        pending: Pending,
    ) -> Option<(Ticket, Pending, Response)> {
        let cancel = Arc::new(AtomicBool::new(false));
        let (wake, flag) = (Arc::clone(&self.wake), Arc::clone(&cancel));
        let target = job.target.clone();
        let (send, outcome) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("keria-backup".to_owned())
            .spawn(move || {
                let Job {
                    reader,
                    temp,
                    target,
                    force,
                } = job;
                let copied = store_copy::backup(&reader, temp, &target, force, &flag);
                drop(reader);
                // The outcome goes first: the loop reads it as soon as the wake-up arrives.
                let _ = send.send(copied);
                if let Err(err) = (&*wake).write(&[1]) {
                    log::error!("waking the loop after the backup: {err}");
                }
            });
        match spawned {
            Ok(worker) => {
                log::info!("backup to {} started", target.display());
                self.running = Some(Running {
                    ticket,
                    pending,
                    target,
                    cancel,
                    outcome,
                    worker,
                });
                None
            }
            Err(err) => Some((
                ticket,
                pending,
                storage(&anyhow::Error::new(err).context("starting the backup worker")),
            )),
        }
    }

    /// The answer of a backup that has ended, if one has.
    pub(super) fn finished(&mut self) -> Option<(Ticket, Pending, Response)> {
        let mut drained = [0_u8; 16];
        while matches!(self.woken.read(&mut drained), Ok(n) if n > 0) {}
        let outcome = match self.running.as_ref()?.outcome.try_recv() {
            Ok(outcome) => Some(outcome),
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => None,
        };
        let running = self.running.take()?;
        // The worker has sent its outcome (or died): it ends at once.
        let _ = running.worker.join();
        let took = running.pending.started.elapsed().as_secs_f64();
        let target = running.target.display().to_string();
        let response = match outcome {
            Some(Ok(copied)) => {
                log::info!(
                    "backup of {} agents written to {target} ({} bytes, {took:.3}s)",
                    copied.agents,
                    copied.bytes
                );
                Response::json(
                    200,
                    &json!({
                        "path": target,
                        "agents": copied.agents,
                        "rows": copied.rows,
                        "bytes": copied.bytes,
                        "seconds": took,
                    }),
                )
            }
            Some(Err(err)) => {
                log::error!("backup to {target} failed: {err:#}");
                Response::error(
                    500,
                    "backup failed",
                    &format!("backup to {target} failed: {err:#}"),
                )
            }
            None => Response::error(500, "backup failed", "the backup worker panicked"),
        };
        Some((running.ticket, running.pending, response))
    }

    /// Cancels a running backup (its temporary file is removed) and waits for its worker.
    pub fn close(self) {
        if let Some(running) = self.running {
            running.cancel.store(true, Ordering::Relaxed);
            let _ = running.worker.join();
            if let Ok(Err(err)) = running.outcome.try_recv() {
                log::warn!(
                    "backup to {} abandoned at the stop: {err:#}",
                    running.target.display()
                );
            }
        }
    }
}

fn invalid(description: &str) -> Response {
    Response::error(400, "invalid backup request", description)
}

fn storage(err: &anyhow::Error) -> Response {
    log::error!("backup: {err:#}");
    Response::error(500, "backup failed", &format!("{err:#}"))
}
