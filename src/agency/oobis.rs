//! OOBIs: the stream an agent serves for its identifiers, what a verified resolution stores,
//! and the contact it leaves (`contacts` reads them).
//!
//! Served: `GET /oobi/{aid}/agent/{eid}` gives the identifier's KEL, the controller's KEL, the
//! agent's delegated inception (anchored by the controller's approval), the agent's location
//! for each controller URL (signed by the agent) and the identifier's end-role reply; a
//! delegated identifier's log comes after its delegators' logs, each event with its seal
//! source.
//! Resolved: everything in a fetched stream is verified by `keri::oobi::resolve` before
//! `keep` stages any of it; a KEL that conflicts with one already known is refused whole.

use anyhow::{anyhow, bail, Result};
use serde_json::{Map, Value};

use super::signatures;
use crate::agency::agent::Agent;
use crate::agency::kels;
use crate::agency::receipts;
use crate::agency::roles;
use crate::keri::kel::Kel;
use crate::keri::oobi::{self, Resolution};
use crate::keri::primitives::Cigar;
use crate::store::{OwnerReader, OwnerWriter, StoredEvent, CONTACTS, RECEIPTS};

/// The stream for `aid`, managed by `agent`'s controller; with `eid`, only when `aid` has
/// authorized `eid` as its agent. None when there is nothing to serve.
pub fn serve(
    rows: &OwnerReader<'_>,
    agent: &Agent,
    curls: &[String],
    aid: &str,
    eid: Option<&str>,
) -> Result<Option<Vec<u8>>> {
    let controller = agent.controller();
    let stored = rows.kel(aid)?;
    if stored.is_empty() {
        return Ok(None);
    }
    let end_roles = roles::end_roles(rows, aid, Some("agent"))?;
    let end_role: Vec<oobi::SignedReply> = match eid {
        Some(eid) => {
            let Some((_, signed)) = end_roles.into_iter().find(|(role, _)| role.eid == eid) else {
                return Ok(None);
            };
            if eid != agent.prefix() {
                return Ok(None);
            }
            vec![signed]
        }
        // Without a role, as KERIA: every agent the identifier authorised (a group has one
        // per member).
        None => end_roles.into_iter().map(|(_, signed)| signed).collect(),
    };
    let mut logs: Vec<Kel> = Vec::new();
    if aid != controller && aid != agent.prefix() {
        // With where it was approved (delegated) and its witnesses' receipts, after its
        // delegators' logs, so that a resolver verifies the whole chain.
        if let Some(kel) = kels::load(rows, aid)? {
            delegators(rows, &kel, &mut logs, MAX_DELEGATION_DEPTH)?;
            logs.push(kel);
        }
    }
    logs.push(kels::replay(&rows.kel(controller)?, controller, None)?);
    let agent_kel = agent_kel(rows, agent)?;
    let locations =
        roles::agent_locations(&agent_kel, curls, |raw| agent.signer().sign_indexed(raw, 0));
    logs.push(agent_kel);
    let mut replies: Vec<&oobi::SignedReply> = locations.iter().collect();
    replies.extend(end_role.iter());
    let logs: Vec<&Kel> = logs.iter().collect();
    Ok(Some(oobi::write(&logs, &replies)))
}

/// Longest chain of delegators served before a delegated identifier's log.
const MAX_DELEGATION_DEPTH: usize = 8;

/// Pushes the logs of `kel`'s delegators as held here, the root first, each once.
fn delegators(rows: &OwnerReader<'_>, kel: &Kel, logs: &mut Vec<Kel>, depth: usize) -> Result<()> {
    let Some(delegator) = kel.state().delegator() else {
        return Ok(());
    };
    if depth == 0 || logs.iter().any(|held| held.state().prefix() == delegator) {
        return Ok(());
    }
    if let Some(delegator_kel) = kels::load(rows, delegator)? {
        delegators(rows, &delegator_kel, logs, depth - 1)?;
        logs.push(delegator_kel);
    }
    Ok(())
}

/// The agent's delegated inception, with where its controller approved it.
fn agent_kel(rows: &OwnerReader<'_>, agent: &Agent) -> Result<Kel> {
    let mut stored = rows.kel(agent.prefix())?;
    let dip = stored
        .first_mut()
        .ok_or_else(|| anyhow!("no inception stored for agent {}", agent.prefix()))?;
    if dip.sigs.is_empty() {
        // Agents made before their inception was stored signed sign it now.
        dip.sigs = agent.signer().sign_indexed(&dip.raw, 0).qb64();
    }
    let delegation = kels::delegation(rows, agent.prefix(), dip)?;
    kels::replay(&stored, agent.prefix(), delegation)
}

/// Stages what a verified `resolution` of `url` holds, and `aid`'s contact named `alias`;
/// the key state record of `aid`.
pub fn keep(
    rows: &mut OwnerWriter<'_>,
    resolution: &Resolution,
    aid: &str,
    url: &str,
    alias: Option<&str>,
    seen: &str,
) -> Result<Value> {
    let mut state = None;
    for kel in &resolution.kels {
        let prefix = kel.state().prefix().to_owned();
        keep_kel(rows, kel, seen)?;
        if prefix == aid {
            let stored = rows.kel(&prefix)?;
            state = Some(kels::replay(&stored, &prefix, None)?.record().to_value());
        }
    }
    for (_, signed) in &resolution.end_roles {
        roles::keep(rows, signed)?;
    }
    for (_, signed) in &resolution.locations {
        roles::keep(rows, signed)?;
    }
    let state = state.ok_or_else(|| anyhow!("the stream holds no key event log for {aid}"))?;
    // The contact keeps its fields; asked again without an alias (a key-state query, which may
    // ask the identifier's witnesses rather than its agent), it keeps its alias and its OOBI.
    let mut contact = rows
        .record(CONTACTS, aid)?
        .and_then(|record| serde_json::from_str::<Map<String, Value>>(&record).ok())
        .unwrap_or_default();
    if let Some(alias) = alias {
        contact.insert("alias".into(), alias.into());
        contact.insert("oobi".into(), url.into());
    } else {
        contact.entry("oobi").or_insert_with(|| url.into());
    }
    rows.put_record(CONTACTS, aid, &Value::Object(contact).to_string())?;
    Ok(state)
}

/// Stages the events of a verified `kel` this agent does not hold yet, with their receipts and
/// delegation approvals; refuses a log that conflicts with the one held.
pub fn keep_kel(rows: &mut OwnerWriter<'_>, kel: &Kel, seen: &str) -> Result<()> {
    let prefix = kel.state().prefix().to_owned();
    let known = rows.kel(&prefix)?;
    for (sn, entry) in kel.entries().iter().enumerate() {
        let event = &entry.signed.event;
        if let Some(stored) = known.get(sn) {
            if stored.raw != event.raw() {
                bail!(
                    "the key event log of {prefix} conflicts at event {sn:x} with the one already known"
                );
            }
            continue;
        }
        rows.put_event(
            &prefix,
            event.sn(),
            &StoredEvent {
                raw: event.raw().to_vec(),
                sigs: signatures::join(&entry.signed.sigs),
                first_seen: seen.to_owned(),
            },
        )?;
        if !entry.receipts.is_empty() {
            let receipts: Vec<(String, Cigar)> = entry
                .receipts
                .iter()
                .map(|(verfer, cigar)| (verfer.qb64(), cigar.clone()))
                .collect();
            rows.put_record(
                RECEIPTS,
                &receipts::event_key(&prefix, event.sn()),
                &receipts::receipts_record(event.said(), &receipts),
            )?;
        }
        if let Some(source) = &entry.signed.delegation {
            rows.put_approval(
                &prefix,
                event.said(),
                &format!("{:x},{}", source.sn, source.said),
            )?;
        }
    }
    Ok(())
}

/// The AID an OOBI URL names: the segment after `/oobi/`.
pub fn aid_of(url: &url::Url) -> Option<String> {
    let mut segments = url.path_segments()?;
    segments.find(|segment| *segment == "oobi")?;
    segments
        .next()
        .filter(|aid| !aid.is_empty())
        .map(str::to_owned)
}
