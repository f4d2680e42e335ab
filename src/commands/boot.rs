//! `keria boot`: provisions an agent from a shell, exactly as a Signify client would.
//!
//! Derives the controller from the passcode (Signify's Argon2id derivation, on a worker thread
//! so Ctrl-C cancels it), signs its inception and posts it to the boot port.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::cli::{BootArgs, TierArg};
use crate::commands::client::{self, agency_base_url};
use crate::exit_code::ExitCode;
use crate::keri::event::Event;
use crate::keri::primitives::Siger;
use crate::signify::passcode::{self, Tier, PASSCODE_LENGTH};

/// How long the whole boot request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The body signify-ts's `boot()` sends, byte for byte.
pub fn boot_body(icp: &Event, sig: &Siger, tier: Tier) -> String {
    format!(
        r#"{{"icp":{},"sig":"{}","stem":"signify:controller","pidx":1,"tier":"{}"}}"#,
        String::from_utf8_lossy(icp.raw()),
        sig.qb64(),
        tier.as_str()
    )
}

/// Runs `keria boot`.
pub fn run(args: &BootArgs) -> Result<ExitCode> {
    let (passcode, generated) = read_passcode(args)?;
    if passcode.chars().count() < PASSCODE_LENGTH {
        bail!("the passcode must be at least {PASSCODE_LENGTH} characters");
    }
    if args.passcode_on_command_line {
        eprintln!("keria: warning: a passcode on the command line is visible to other users; prefer --passcode-file or SIGNIFY_PASSCODE");
    }
    let tier = match args.tier {
        TierArg::Low => Tier::Low,
        TierArg::Med => Tier::Med,
        TierArg::High => Tier::High,
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .context("installing the Ctrl-C handler")?;
    let Some((icp, sig)) = derive(passcode.clone(), tier, &interrupted)? else {
        eprintln!("keria: interrupted");
        return Ok(ExitCode::Signal(2));
    };
    let controller = icp.prefix().to_owned();
    let endpoint = format!(
        "{}/boot",
        agency_base_url(args.url.as_ref(), args.ports.boot, &args.tls)
    );
    let agent = client::agent(&args.tls, REQUEST_TIMEOUT)?;
    let mut request = agent
        .post(&endpoint)
        .set("Content-Type", "application/json");
    if let (Some(user), Some(password)) = (
        &args.boot_auth.experimental_boot_username,
        &args.boot_auth.experimental_boot_password,
    ) {
        request = request.set(
            "Authorization",
            &format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))),
        );
    }
    let (status, body) = match request.send_string(&boot_body(&icp, &sig, tier)) {
        Ok(response) => (
            response.status(),
            response.into_string().unwrap_or_default(),
        ),
        Err(ureq::Error::Status(status, response)) => {
            (status, response.into_string().unwrap_or_default())
        }
        Err(ureq::Error::Transport(err)) => {
            eprintln!("keria: error: agency not reachable at {endpoint}: {err}");
            return Ok(ExitCode::NotRunning);
        }
    };
    let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let generated_passcode = generated.then_some(passcode.as_str());
    match status {
        202 => {
            let agent_aid = answer["i"].as_str().unwrap_or_default().to_owned();
            report(
                args.json,
                "created",
                &controller,
                Some(&agent_aid),
                generated_passcode,
            );
            Ok(ExitCode::Success)
        }
        409 => {
            let agent_aid = existing_agent(&agent, args, &controller);
            report(
                args.json,
                "exists",
                &controller,
                agent_aid.as_deref(),
                generated_passcode,
            );
            Ok(if args.if_missing {
                ExitCode::Success
            } else {
                ExitCode::AlreadyExists
            })
        }
        _ => {
            let description = answer["description"]
                .as_str()
                .or(answer["title"].as_str())
                .unwrap_or(body.as_str());
            bail!("{endpoint} answered {status}: {description}")
        }
    }
}

/// Prints the outcome: one line, or one JSON object.
fn report(
    json: bool,
    outcome: &str,
    controller: &str,
    agent: Option<&str>,
    passcode: Option<&str>,
) {
    if json {
        let mut out = json!({ "outcome": outcome, "controller": controller, "agent": agent });
        if let (Some(passcode), Some(map)) = (passcode, out.as_object_mut()) {
            map.insert("passcode".to_owned(), json!(passcode));
        }
        println!("{out}");
        return;
    }
    if let Some(passcode) = passcode {
        println!("passcode {passcode} (shown once: keep it secret)");
    }
    match (outcome, agent) {
        ("created", Some(agent)) => println!("controller {controller} agent {agent}"),
        (_, Some(agent)) => println!("controller {controller} agent {agent} (already there)"),
        (_, None) => println!("controller {controller} already has an agent"),
    }
}

/// The agent AID of a controller that already has one, from `GET /agent/{caid}` on the admin
/// port of the same host (unsigned, as Signify's connect); None, with a warning, if it fails.
fn existing_agent(agent: &ureq::Agent, args: &BootArgs, controller: &str) -> Option<String> {
    let base = match &args.url {
        Some(url) => {
            let mut url = url.clone();
            url.set_port(Some(args.ports.admin)).ok()?;
            url.as_str().trim_end_matches('/').to_owned()
        }
        None => agency_base_url(None, args.ports.admin, &args.tls),
    };
    let url = format!("{base}/agent/{controller}");
    let found = agent
        .get(&url)
        .call()
        .map_err(|err| err.to_string())
        .and_then(|response| response.into_json::<Value>().map_err(|err| err.to_string()))
        .and_then(|state| {
            state["agent"]["i"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| "no agent AID in the answer".to_owned())
        });
    match found {
        Ok(aid) => Some(aid),
        Err(err) => {
            eprintln!("keria: warning: cannot read the existing agent from {url}: {err}");
            None
        }
    }
}

/// The passcode from --passcode-file, --generate, --passcode or SIGNIFY_PASSCODE, or a prompt
/// (`parse_args` has dropped SIGNIFY_PASSCODE when one of the first two is given).
fn read_passcode(args: &BootArgs) -> Result<(String, bool)> {
    if let Some(path) = &args.passcode_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading passcode file {}", path.display()))?;
        return Ok((
            text.lines().next().unwrap_or_default().trim().to_owned(),
            false,
        ));
    }
    if args.generate {
        return Ok((passcode::random_passcode()?, true));
    }
    if let Some(passcode) = &args.passcode {
        return Ok((passcode.clone(), false));
    }
    if std::io::stdin().is_terminal() {
        let passcode = rpassword::prompt_password("Passcode: ").context("reading the passcode")?;
        return Ok((passcode, false));
    }
    bail!("no passcode: give --passcode-file, SIGNIFY_PASSCODE or --generate (or run on a terminal to be asked)")
}

/// Derives the controller's inception on a worker thread; None if Ctrl-C came first.
fn derive(
    passcode: String,
    tier: Tier,
    interrupted: &AtomicBool,
) -> Result<Option<(Event, Siger)>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(passcode::controller_inception(&passcode, tier));
    });
    loop {
        if interrupted.load(Ordering::Relaxed) {
            return Ok(None);
        }
        match receiver.recv_timeout(Duration::from_millis(20)) {
            Ok(derived) => return derived.map(Some),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                bail!("the key derivation stopped unexpectedly")
            }
        }
    }
}
