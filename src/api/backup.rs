//! `POST /backup` on the boot port: a consistent copy of the agency store while it runs.
//!
//! The agency writes backups only into the folder its operator named (`--backup-dir`); without
//! one the route is refused. The request names a file in that folder, never a path: a plain name
//! of at most 128 letters, digits, `.`, `_` and `-` that does not start with a dot. With boot
//! credentials configured, they are required here too. The handler checks the name, creates the
//! temporary file in the folder and takes one read transaction: a snapshot of everything
//! committed, every acknowledged boot included. The copy is a job for the worker pool
//! (`store::copy::backup`) while the loop keeps serving; its outcome comes back through the
//! poll, and the deferred answer goes out. One backup runs at a time; the stop cancels it
//! (the pool abandons it at the shutdown deadline if it has not ended by then).

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Result;
use serde_json::{json, Value};

use super::Pending;
use crate::agency::Agency;
use crate::process::workers::Work;
use crate::server::http::{Request, Response};
use crate::server::json;
use crate::server::Ticket;
use crate::store::copy::{self, Copied, TempFile};
use crate::store::Reader;

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
}

/// The one backup that may run, and the folder backups go to.
pub struct Backups {
    /// The operator's backup folder (canonical), if backups are on.
    folder: Option<PathBuf>,
    running: Option<Running>,
}

impl Backups {
    /// Backups written into `folder` (checked by `copy::prepare_backup_folder`); with none,
    /// every backup request is refused.
    pub fn new(folder: Option<PathBuf>) -> Self {
        Self {
            folder,
            running: None,
        }
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
        copy::check_backup_name(name).map_err(|reason| invalid(&reason))?;
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

    /// The worker job that writes `job`, answered later through `finished`.
    pub(super) fn start(
        &mut self,
        job: Job,
        ticket: Ticket,
        pending: Pending,
    ) -> Work<Result<Copied>> {
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&cancel);
        log::info!("backup to {} started", job.target.display());
        self.running = Some(Running {
            ticket,
            pending,
            target: job.target.clone(),
            cancel,
        });
        Box::new(move || {
            let Job {
                reader,
                temp,
                target,
                force,
            } = job;
            copy::backup(&reader, temp, &target, force, &flag)
        })
    }

    /// The answer of the backup whose job has ended with `outcome` (`Err` with a reason when
    /// it could not run).
    pub(super) fn finished(
        &mut self,
        outcome: Result<Result<Copied>, String>,
    ) -> Option<(Ticket, Pending, Response)> {
        let running = self.running.take()?;
        let took = running.pending.started.elapsed().as_secs_f64();
        let target = running.target.display().to_string();
        let response = match outcome {
            Ok(Ok(copied)) => {
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
            Ok(Err(err)) => {
                log::error!("backup to {target} failed: {err:#}");
                Response::error(
                    500,
                    "backup failed",
                    &format!("backup to {target} failed: {err:#}"),
                )
            }
            Err(reason) => {
                log::error!("backup to {target} did not run: {reason}");
                Response::error(
                    503,
                    "backup failed",
                    &format!("the backup did not run: {reason}"),
                )
            }
        };
        Some((running.ticket, running.pending, response))
    }

    /// Asks a running backup to stop (its temporary file is removed when its job ends); the
    /// worker pool's close bounds the wait for it.
    pub fn close(self) {
        if let Some(running) = self.running {
            running.cancel.store(true, Ordering::Relaxed);
            log::warn!(
                "backup to {} cancelled by the stop",
                running.target.display()
            );
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
