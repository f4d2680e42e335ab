//! `keria status`: asks a running agency for its health, with LSB exit codes for scripts.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::cli::StatusArgs;
use crate::commands::client::{self, agency_base_url};
use crate::config::default_data_dir;
use crate::exit_code::ExitCode;
use crate::process::lock::{self, LockState};

/// How long one health request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause between two polls with `--wait`.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// What one look at the agency found.
#[derive(Debug)]
struct Report {
    code: ExitCode,
    state: &'static str,
    detail: String,
    health: Option<Value>,
}

/// Runs `keria status` and returns its exit code.
pub fn run(args: &StatusArgs) -> Result<ExitCode> {
    let url = format!(
        "{}/health",
        agency_base_url(args.url.as_ref(), args.ports.boot, &args.tls)
    );
    let data_dir = match &args.data_dir {
        Some(dir) => Some(dir.clone()),
        None => default_data_dir().ok(),
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    if args.wait.is_some() {
        let flag = Arc::clone(&interrupted);
        ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
            .context("installing the Ctrl-C handler")?;
    }
    let agent = client::agent(&args.tls, REQUEST_TIMEOUT)?;
    let wait_until = args.wait.map(|seconds| Instant::now() + seconds.0);
    let report = loop {
        let report = look(&agent, &url, data_dir.as_ref());
        if report.code == ExitCode::Success
            || wait_until.is_none_or(|until| Instant::now() >= until)
        {
            break report;
        }
        if interrupted.load(Ordering::Relaxed) {
            return Ok(ExitCode::Signal(2));
        }
        std::thread::sleep(POLL_INTERVAL);
    };
    if args.json {
        let mut out = json!({ "state": report.state, "code": report.code.code(), "url": url, "detail": report.detail });
        if let (Some(health), Some(map)) = (&report.health, out.as_object_mut()) {
            map.insert("health".to_owned(), health.clone());
        }
        println!("{out}");
    } else {
        println!("keria: {}", report.detail);
    }
    Ok(report.code)
}

fn look(agent: &ureq::Agent, url: &str, data_dir: Option<&PathBuf>) -> Report {
    let (status, body) = match agent.get(url).call() {
        Ok(response) => (
            response.status(),
            response.into_string().unwrap_or_default(),
        ),
        Err(ureq::Error::Status(status, response)) => {
            (status, response.into_string().unwrap_or_default())
        }
        Err(ureq::Error::Transport(err)) => return not_answering(url, data_dir, &err.to_string()),
    };
    let health: Option<Value> = serde_json::from_str(&body).ok().filter(is_keria_health);
    let Some(health) = health else {
        return Report {
            code: ExitCode::Unknown,
            state: "unknown",
            detail: format!("{url} answered {status}, but not as keria"),
            health: None,
        };
    };
    let pid = health["pid"].as_u64().unwrap_or(0);
    if status == 200 && health["status"] == "ok" {
        let detail = format!(
            "running (pid {pid}, version {}, up {:.1}s, {} agents loaded) at {url}",
            health["version"].as_str().unwrap_or("?"),
            health["uptime"].as_f64().unwrap_or(0.0),
            health["agents"].as_u64().unwrap_or(0)
        );
        return Report {
            code: ExitCode::Success,
            state: "running",
            detail,
            health: Some(health),
        };
    }
    let detail = format!(
        "{} (pid {pid}, status {status}) at {url}",
        health["status"].as_str().unwrap_or("unhealthy")
    );
    Report {
        code: ExitCode::Unknown,
        state: "unknown",
        detail,
        health: Some(health),
    }
}

/// keria's health body carries its message, status, version and pid.
fn is_keria_health(value: &Value) -> bool {
    value["message"].is_string()
        && value["status"].is_string()
        && value["version"].is_string()
        && value["pid"].is_u64()
}

fn not_answering(url: &str, data_dir: Option<&PathBuf>, reason: &str) -> Report {
    let pid_text =
        |pid: Option<u32>| pid.map_or_else(|| "unknown pid".to_owned(), |pid| format!("pid {pid}"));
    match data_dir.map(|dir| lock::inspect(dir)) {
        Some(LockState::Stale(pid)) => Report {
            code: ExitCode::DeadWithPidFile,
            state: "dead",
            detail: format!(
                "not running, but {} ({}) was left in {}: it did not stop gracefully",
                lock::PID_FILE,
                pid_text(pid),
                data_dir.map_or_else(String::new, |dir| dir.display().to_string())
            ),
            health: None,
        },
        Some(LockState::Held(pid)) => Report {
            code: ExitCode::Unknown,
            state: "unknown",
            detail: format!(
                "the data dir is held by {} but {url} does not answer: {reason}",
                pid_text(pid)
            ),
            health: None,
        },
        _ => Report {
            code: ExitCode::NotRunning,
            state: "stopped",
            detail: format!("not running ({url}: {reason})"),
            health: None,
        },
    }
}
