//! End roles and locations: which endpoint serves an identifier in which role, and where
//! that endpoint is reached. Each is a signed reply, kept with its signatures so that it can
//! be served again in an OOBI stream exactly as it was signed.

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use super::signatures;
use crate::agency::kels;
use crate::agency::Failure;
use crate::keri::kel::Kel;
use crate::keri::oobi::SignedReply;
use crate::keri::primitives::{Cigar, Verfer};
use crate::keri::reply::{EndRole, Location, Reply};
use crate::keri::stream::SignatureGroup;
use crate::store::{OwnerReader, OwnerWriter, END_ROLES, LOCATIONS};

/// The roles an end-role reply may name.
const ROLES: [&str; 6] = [
    "agent",
    "controller",
    "witness",
    "registrar",
    "watcher",
    "mailbox",
];

/// Checks and stages `cid`'s authorization of an endpoint, from `POST …/endroles`
/// (`{rpy, sigs}`, signed by the identifier's current keys); the role it grants.
pub fn add(
    rows: &mut OwnerWriter<'_>,
    cid: &str,
    body: &Value,
) -> Result<(EndRole, Reply), Failure> {
    let rpy = body
        .get("rpy")
        .ok_or_else(|| Failure::Invalid("required field 'rpy' missing from body".into()))?;
    let reply = Reply::verify(rpy).map_err(|err| Failure::Invalid(format!("rpy: {err}")))?;
    let Some(role) = reply.end_role() else {
        return Err(Failure::Invalid(
            "rpy must be an /end/role/add reply with a {cid, role, eid}".into(),
        ));
    };
    if role.cid != cid {
        return Err(Failure::Invalid(format!(
            "the reply authorizes for {}, not for this identifier {cid}",
            role.cid
        )));
    }
    if !ROLES.contains(&role.role.as_str()) {
        return Err(Failure::Invalid(format!(
            "role must be one of {}, not {:?}",
            ROLES.join(", "),
            role.role
        )));
    }
    let signed = signed_by(rows, cid, &reply, body)?;
    let key = format!("{}.{}.{}", role.cid, role.role, role.eid);
    rows.put_record(END_ROLES, &key, &to_record(&signed))?;
    Ok((role, reply))
}

/// Stages `POST /identifiers/{name}/locschemes` `{rpy, sigs}`: a `/loc/scheme` reply for this
/// identifier (`eid` = `cid`), signed by its current keys; the location.
pub fn add_location(
    rows: &mut OwnerWriter<'_>,
    cid: &str,
    body: &Value,
) -> Result<Location, Failure> {
    let rpy = body
        .get("rpy")
        .ok_or_else(|| Failure::Invalid("required field 'rpy' missing from body".into()))?;
    let reply = Reply::verify(rpy).map_err(|err| Failure::Invalid(format!("rpy: {err}")))?;
    let Some(location) = reply.location() else {
        return Err(Failure::Invalid(
            "rpy must be a /loc/scheme reply with an {eid, scheme, url}".into(),
        ));
    };
    if location.eid != cid {
        return Err(Failure::Invalid(format!(
            "the reply locates {}, not this identifier {cid}",
            location.eid
        )));
    }
    if !matches!(location.scheme.as_str(), "http" | "https" | "tcp") {
        return Err(Failure::Invalid(format!(
            "scheme must be http, https or tcp, not {:?}",
            location.scheme
        )));
    }
    url::Url::parse(&location.url)
        .map_err(|err| Failure::Invalid(format!("url {:?}: {err}", location.url)))?;
    let signed = signed_by(rows, cid, &reply, body)?;
    let key = format!("{}.{}", location.eid, location.scheme);
    rows.put_record(LOCATIONS, &key, &to_record(&signed))?;
    Ok(location)
}

/// `reply` with the body's `sigs`, checked against `cid`'s current keys and threshold.
fn signed_by(
    rows: &OwnerWriter<'_>,
    cid: &str,
    reply: &Reply,
    body: &Value,
) -> Result<SignedReply, Failure> {
    let sigs: Vec<_> = body["sigs"]
        .as_array()
        .and_then(|sigs| {
            sigs.iter()
                .map(|sig| crate::keri::primitives::Siger::parse(sig.as_str()?).ok())
                .collect()
        })
        .filter(|sigs: &Vec<_>| !sigs.is_empty())
        .ok_or_else(|| {
            Failure::Invalid("sigs must be a non-empty list of qb64 indexed signatures".into())
        })?;
    let kel = kels::replay(&rows.kel(cid)?, cid, None)?;
    let state = kel.state();
    reply
        .verify_signatures(state.keys(), state.signing_threshold(), &sigs)
        .map_err(|err| Failure::Invalid(format!("rpy: {err}")))?;
    let (sn, said) = state.establishment();
    let signed = SignedReply {
        reply: reply.clone(),
        groups: vec![SignatureGroup {
            prefix: cid.to_owned(),
            sn,
            said: said.to_owned(),
            sigs,
        }],
        couples: Vec::new(),
    };
    Ok(signed)
}

/// Stages an end role or location received in a verified OOBI stream.
pub fn keep(rows: &mut OwnerWriter<'_>, signed: &SignedReply) -> Result<()> {
    if let Some(role) = signed.reply.end_role() {
        let key = format!("{}.{}.{}", role.cid, role.role, role.eid);
        rows.put_record(END_ROLES, &key, &to_record(signed))?;
    } else if let Some(location) = signed.reply.location() {
        let key = format!("{}.{}", location.eid, location.scheme);
        rows.put_record(LOCATIONS, &key, &to_record(signed))?;
    }
    Ok(())
}

/// Stages the withdrawal of the end role `cid` granted `eid` in `role`; whether there was one.
pub fn remove(rows: &mut OwnerWriter<'_>, cid: &str, role: &str, eid: &str) -> Result<bool> {
    rows.remove_record(END_ROLES, &format!("{cid}.{role}.{eid}"))
}

/// The `(scheme, url)` of each controller URL an agent advertises, the last URL of a scheme
/// winning, as a location list keeps one URL per scheme.
pub fn advertised(curls: &[String]) -> Vec<(String, String)> {
    let mut schemes: Vec<(String, String)> = Vec::new();
    for url in curls {
        let Some((scheme, _)) = url.split_once("://") else {
            continue;
        };
        schemes.retain(|(known, _)| known != scheme);
        schemes.push((scheme.to_owned(), url.clone()));
    }
    schemes
}

/// The end roles `cid` granted (in `role` only, when given), as `{cid, role, eid}`.
pub fn list(rows: &OwnerReader<'_>, cid: &str, role: Option<&str>) -> Result<Vec<Value>> {
    Ok(end_roles(rows, cid, role)?
        .into_iter()
        .map(|(role, _)| json!({"cid": role.cid, "role": role.role, "eid": role.eid}))
        .collect())
}

/// The end roles `cid` granted, with their signed replies.
pub fn end_roles(
    rows: &OwnerReader<'_>,
    cid: &str,
    role: Option<&str>,
) -> Result<Vec<(EndRole, SignedReply)>> {
    let prefix = match role {
        Some(role) => format!("{cid}.{role}."),
        None => format!("{cid}."),
    };
    rows.records(END_ROLES, &prefix)?
        .iter()
        .map(|(_, record)| {
            let signed = from_record(record)?;
            let role = signed
                .reply
                .end_role()
                .ok_or_else(|| anyhow!("stored end role is not one"))?;
            Ok((role, signed))
        })
        .collect()
}

/// Where `eid` is reached, by scheme, from the locations received.
pub fn locations(rows: &OwnerReader<'_>, eid: &str) -> Result<Vec<Location>> {
    rows.records(LOCATIONS, &format!("{eid}."))?
        .iter()
        .map(|(_, record)| {
            from_record(record)?
                .reply
                .location()
                .ok_or_else(|| anyhow!("stored location is not one"))
        })
        .collect()
}

/// The signed location replies of `eid` kept in `rows`.
pub fn location_replies(rows: &OwnerReader<'_>, eid: &str) -> Result<Vec<SignedReply>> {
    rows.records(LOCATIONS, &format!("{eid}."))?
        .iter()
        .map(|(_, record)| from_record(record))
        .collect()
}

/// The agent's location replies for each controller URL, signed by the agent's key under its
/// inception (`agent_kel`), dated with the agent's inception.
pub fn agent_locations(
    agent_kel: &Kel,
    curls: &[String],
    sign: impl Fn(&[u8]) -> crate::keri::primitives::Siger,
) -> Vec<SignedReply> {
    let state = agent_kel.state();
    let (sn, said) = state.establishment();
    let dated = agent_kel
        .entries()
        .first()
        .map(|entry| entry.first_seen.datetime.clone())
        .unwrap_or_default();
    curls
        .iter()
        .filter_map(|url| {
            let scheme = url.split_once("://")?.0;
            let reply = crate::keri::reply::loc_scheme(state.prefix(), scheme, url, &dated);
            let signature = sign(reply.raw());
            Some(SignedReply {
                couples: Vec::new(),
                groups: vec![SignatureGroup {
                    prefix: state.prefix().to_owned(),
                    sn,
                    said: said.to_owned(),
                    sigs: vec![signature],
                }],
                reply,
            })
        })
        .collect()
}

fn to_record(signed: &SignedReply) -> String {
    let groups: Vec<Value> = signed
        .groups
        .iter()
        .map(|group| {
            json!({
                "prefix": group.prefix,
                "sn": group.sn,
                "said": group.said,
                "sigs": signatures::join(&group.sigs),
            })
        })
        .collect();
    let couples: Vec<Value> = signed
        .couples
        .iter()
        .map(|(verfer, cigar)| json!([verfer.qb64(), cigar.qb64()]))
        .collect();
    json!({
        "rpy": String::from_utf8_lossy(signed.reply.raw()),
        "groups": groups,
        "couples": couples,
    })
    .to_string()
}

fn from_record(record: &str) -> Result<SignedReply> {
    let value: Value = serde_json::from_str(record).context("stored reply")?;
    let raw = value["rpy"].as_str().unwrap_or_default();
    let reply = Reply::parse(raw.as_bytes()).map_err(|err| anyhow!("stored reply: {err}"))?;
    let groups = value["groups"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|group| {
            Ok(SignatureGroup {
                prefix: group["prefix"].as_str().unwrap_or_default().to_owned(),
                sn: group["sn"].as_u64().unwrap_or_default(),
                said: group["said"].as_str().unwrap_or_default().to_owned(),
                sigs: signatures::parse(group["sigs"].as_str().unwrap_or_default())?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let couples = value["couples"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|couple| {
            let verfer = Verfer::parse(couple[0].as_str().unwrap_or_default())
                .map_err(|err| anyhow!("stored reply couple: {err}"))?;
            let cigar = Cigar::parse(couple[1].as_str().unwrap_or_default())
                .map_err(|err| anyhow!("stored reply couple: {err}"))?;
            Ok((verfer, cigar))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(SignedReply {
        reply,
        groups,
        couples,
    })
}
