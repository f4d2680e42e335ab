//! `/multisig/*` exchange messages between the agents of a group's members.
//!
//! Each message embeds one event (`icp`, `ixn`, `rot`, `rpy`) with its sender's signatures as
//! pathed attachments. `received` checks a message from another member before anything is
//! staged: a local identifier is among its members (for `/multisig/icp`) or its group is held
//! here (other routes), the sender is a member, and the embedded signatures are by the sender's
//! key at its place in the group's keys. A replayed message is refused. The message is indexed
//! under its embedded event's SAID (`mux.{event}.{exn}`), so `request` answers every member's
//! message about one event. When this controller already approved the event (it waits in the
//! group escrow), the sender's signatures are merged there and no note is made; otherwise the
//! controller gets a note, and the signatures are merged when it approves (`replay`).

use serde_json::{json, Value};

use crate::agency::groups::{self, Completed};
use crate::agency::{group_replies, identifiers, notifications, Failure};
use crate::keri::event::Event;
use crate::keri::exchange::Exchange;
use crate::keri::pathed;
use crate::keri::primitives::Siger;
use crate::keri::reply::Reply;
use crate::keri::stream::Attachments;
use crate::store::{OwnerReader, OwnerWriter, EXCHANGES, GROUPS, PREFIXES};

/// The route prefix this module handles.
pub const ROUTES: &str = "/multisig/";

fn invalid(reason: impl Into<String>) -> Failure {
    Failure::Invalid(reason.into())
}

/// The embedded event's field name and value of a multisig `exn` (`e.icp`, `e.rot`, …).
fn embedded(exn: &Value) -> Option<(&str, &Value)> {
    exn["e"]
        .as_object()?
        .iter()
        .find(|(field, _)| field.as_str() != "d")
        .map(|(field, value)| (field.as_str(), value))
}

/// The event SAID a multisig `exn` is about.
fn event_said(exn: &Value) -> Option<String> {
    embedded(exn).and_then(|(_, value)| value["d"].as_str().map(ToOwned::to_owned))
}

fn local(rows: &OwnerWriter<'_>, prefix: &str) -> Result<bool, Failure> {
    Ok(rows.record(PREFIXES, prefix)?.is_some())
}

/// The signatures of the embedded event in `pathed`, checked as the sender's.
fn sender_sigs(
    rows: &OwnerWriter<'_>,
    sender: &str,
    event: &Event,
    field: &str,
    pathed: &[String],
) -> Result<Vec<Siger>, Failure> {
    let Some(text) = pathed::for_field(pathed, field) else {
        return Ok(Vec::new());
    };
    let attachments = Attachments::parse(&text)
        .map_err(|err| invalid(format!("the attachments of e.{field}: {err}")))?;
    let sigs = attachments.controller_sigs;
    groups::check_sigs(event, &sigs)?;
    let sender_keys = groups::member_keys(rows, sender)?
        .ok_or_else(|| invalid(format!("unknown sender {sender}")))?;
    let keys = event.keys();
    for siger in &sigs {
        let key = &keys[siger.index() as usize];
        if !sender_keys.iter().any(|have| have == key) {
            return Err(invalid(format!(
                "signature from a non-member: index {} of the group's keys is not {sender}'s key",
                siger.index()
            )));
        }
    }
    Ok(sigs)
}

/// The event or reply a multisig message embeds.
enum Embedded {
    Event(Box<Event>),
    Reply(Reply),
}

/// The signatures of the embedded reply (in its `-F` group) in `pathed`, checked as the
/// sender's for the group `gid`.
fn reply_sigs(
    rows: &OwnerWriter<'_>,
    sender: &str,
    gid: &str,
    reply: &Reply,
    pathed: &[String],
) -> Result<Vec<Siger>, Failure> {
    let Some(text) = pathed::for_field(pathed, "rpy") else {
        return Ok(Vec::new());
    };
    let attachments = Attachments::parse(&text)
        .map_err(|err| invalid(format!("the attachments of e.rpy: {err}")))?;
    let mut sigs = attachments.controller_sigs;
    for group in attachments.signature_groups {
        if group.prefix != gid {
            return Err(invalid(format!(
                "e.rpy is signed for {}, not for the group {gid}",
                group.prefix
            )));
        }
        sigs.extend(group.sigs);
    }
    group_replies::check_sigs(rows, gid, reply, &sigs, sender)?;
    Ok(sigs)
}

/// Merges the signatures other members sent for the reply `reply` before this controller
/// approved it.
pub fn replay_reply(rows: &mut OwnerWriter<'_>, reply: &Reply) -> Result<(), Failure> {
    for (sender, _, pathed, exn_said) in others(rows, reply.said())? {
        let gid = reply.end_role().map(|role| role.cid).unwrap_or_default();
        match reply_sigs(rows, &sender, &gid, reply, &pathed) {
            Ok(sigs) => group_replies::merge(rows, reply, &sigs)?,
            Err(err) => log::warn!("signatures of {exn_said} from {sender} not merged: {err:?}"),
        }
    }
    Ok(())
}

/// Another member's message about an event: its sender, embedded field, pathed attachments
/// and SAID.
type Message = (String, String, Vec<String>, String);

/// Other members' messages about `said`.
fn others(rows: &OwnerWriter<'_>, said: &str) -> Result<Vec<Message>, Failure> {
    let mut found = Vec::new();
    for (key, record) in rows.records(GROUPS, &format!("mux.{said}."))? {
        let sender: Value = serde_json::from_str(&record).unwrap_or(Value::Null);
        let sender = sender["sender"].as_str().unwrap_or_default().to_owned();
        if local(rows, &sender)? {
            continue;
        }
        let exn_said = key.rsplit('.').next().unwrap_or_default().to_owned();
        let Some(stored) = rows.record(EXCHANGES, &exn_said)? else {
            continue;
        };
        let stored: Value = serde_json::from_str(&stored).unwrap_or(Value::Null);
        let Some((field, _)) = embedded(&stored["exn"]) else {
            continue;
        };
        let field = field.to_owned();
        let pathed: Vec<String> = stored["pathed"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|text| text.as_str().map(ToOwned::to_owned))
            .collect();
        found.push((sender, field, pathed, exn_said));
    }
    Ok(found)
}

/// Checks and handles a `/multisig/*` message from another member (already verified as its
/// sender's and stored by `exchanges`); the group event it completed, if any.
pub fn received(
    rows: &mut OwnerWriter<'_>,
    exn: &Exchange,
    pathed: &[String],
    seen: &str,
) -> Result<Option<Completed>, Failure> {
    let value = exn.value();
    let route = exn.route();
    let payload = exn.attributes();
    let sender = exn.sender();
    let Some((field, embed)) = embedded(value) else {
        return Err(invalid(format!(
            "{route} exn {} embeds no event",
            exn.said()
        )));
    };
    let mids: Vec<String> = ["smids", "rmids"]
        .iter()
        .filter_map(|field| payload[*field].as_array())
        .flatten()
        .filter_map(|mid| mid.as_str().map(ToOwned::to_owned))
        .collect();
    let gid = payload["gid"].as_str().unwrap_or_default();
    let mut member = false;
    for mid in &mids {
        member |= local(rows, mid)?;
    }
    let group_here = !gid.is_empty() && local(rows, gid)?;
    if route == "/multisig/icp" || route == "/multisig/rot" {
        if !member && !group_here {
            return Err(invalid(format!(
                "invalid request to join group, not member in mids={mids:?}"
            )));
        }
    } else if !group_here {
        return Err(invalid(format!(
            "invalid request to participate in group, not member of gid={gid}"
        )));
    }
    let said = event_said(value).unwrap_or_default();
    let checked = if matches!(field, "icp" | "ixn" | "rot") {
        let event = Event::verify(embed)
            .map_err(|err| invalid(format!("e.{field} is not a valid KERI event: {err}")))?;
        // The sender is a member when one of its current keys is among the event's (a
        // rotation's new members may not sign yet; `mids` names them).
        let sender_keys = groups::member_keys(rows, sender)?.unwrap_or_default();
        let keys = event.keys();
        if !sender_keys.iter().any(|key| keys.contains(key))
            && !mids.iter().any(|mid| mid == sender)
        {
            return Err(invalid(format!(
                "{route} exn from {sender}, who is not among the group's members"
            )));
        }
        let sigs = sender_sigs(rows, sender, &event, field, pathed)?;
        let approved = groups::approved(rows, &event)?;
        Some((Embedded::Event(Box::new(event)), sigs, approved))
    } else if field == "rpy" {
        let reply = Reply::verify(embed)
            .map_err(|err| invalid(format!("e.rpy is not a valid reply: {err}")))?;
        let sigs = reply_sigs(rows, sender, gid, &reply, pathed)?;
        let approved = group_replies::approved(rows, &reply)?;
        Some((Embedded::Reply(reply), sigs, approved))
    } else {
        None
    };
    rows.put_record(
        GROUPS,
        &format!("mux.{said}.{}", exn.said()),
        &json!({"sender": sender}).to_string(),
    )?;
    let mut completed = None;
    let mut approved = false;
    if let Some((embedded, sigs, was_approved)) = checked {
        approved = was_approved;
        match embedded {
            Embedded::Event(event) if approved && event.ilk().is_inception() => {
                completed = groups::merge(rows, &event, &sigs, seen)?;
            }
            Embedded::Reply(reply) if approved => group_replies::merge(rows, &reply, &sigs)?,
            _ => {}
        }
    }
    if !approved {
        notifications::add(rows, &json!({"r": route, "d": exn.said()}), seen)?;
    }
    Ok(completed)
}

/// Indexes a `/multisig/*` message one of this controller's identifiers sent.
pub fn sent(rows: &mut OwnerWriter<'_>, exn: &Exchange) -> Result<(), Failure> {
    let said = event_said(exn.value()).unwrap_or_default();
    rows.put_record(
        GROUPS,
        &format!("mux.{said}.{}", exn.said()),
        &json!({"sender": exn.sender()}).to_string(),
    )?;
    Ok(())
}

/// Merges the signatures other members sent for `event` before this controller approved it;
/// the event, if that completed it.
pub fn replay(
    rows: &mut OwnerWriter<'_>,
    event: &Event,
    seen: &str,
) -> Result<Option<Completed>, Failure> {
    let mut completed = None;
    for (sender, field, pathed, exn_said) in others(rows, event.said())? {
        match sender_sigs(rows, &sender, event, &field, &pathed) {
            Ok(sigs) => {
                if let Some(done) = groups::merge(rows, event, &sigs, seen)? {
                    completed = Some(done);
                }
            }
            Err(err) => log::warn!("signatures of {exn_said} from {sender} not merged: {err:?}"),
        }
    }
    Ok(completed)
}

/// `GET /multisig/request/{said}`: every member's message about the event message `said` is
/// about, as `{exn, paths, groupName?, memberName?}`.
pub fn request(rows: &OwnerReader<'_>, said: &str) -> Result<Vec<Value>, Failure> {
    let Some(record) = rows.record(EXCHANGES, said)? else {
        return Err(Failure::NotFound(format!(
            "no multisig request with said={said} found"
        )));
    };
    let stored: Value = serde_json::from_str(&record)
        .map_err(|err| Failure::Storage(anyhow::anyhow!("stored exchange: {err}")))?;
    let route = stored["exn"]["r"].as_str().unwrap_or_default();
    if !route.starts_with(ROUTES) {
        return Err(invalid(format!(
            "invalid mutlsig conversation with said={said}"
        )));
    }
    let event = event_said(&stored["exn"]).unwrap_or_default();
    let mut answers = Vec::new();
    for (key, _) in rows.records(GROUPS, &format!("mux.{event}."))? {
        let exn_said = key.rsplit('.').next().unwrap_or_default();
        let Some(record) = rows.record(EXCHANGES, exn_said)? else {
            continue;
        };
        let stored: Value = serde_json::from_str(&record)
            .map_err(|err| Failure::Storage(anyhow::anyhow!("stored exchange: {err}")))?;
        let mut paths = serde_json::Map::new();
        for text in stored["pathed"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if let Some((path, attachment)) = text.as_str().and_then(pathed::split) {
                let field = path.rsplit('-').next().unwrap_or_default().to_owned();
                paths.insert(field, attachment.into());
            }
        }
        let mut answer = json!({"exn": stored["exn"], "paths": paths});
        let gid = stored["exn"]["a"]["gid"].as_str().unwrap_or_default();
        if route != "/multisig/icp" && !gid.is_empty() {
            if let Ok(group) = identifiers::find(rows, gid) {
                answer["groupName"] = group.name.clone().into();
                let (_, params) = group.params();
                if let Some(mhab) = params["mhab"].as_str() {
                    if let Ok(member) = identifiers::find(rows, mhab) {
                        answer["memberName"] = member.name.into();
                    }
                }
            }
        }
        answers.push(answer);
    }
    Ok(answers)
}
