//! How a held credential is shown: the JSON of `GET /credentials/{said}` and of a query
//! (KERIA's `cloneCreds`: `sad`, `atc`, `iss`, `issatc`, `pre`, `schema`, `chains`,
//! `status`, `anchor`, `anc`, `ancatc`), the presentable CESR stream of
//! `Accept: application/json+cesr` (KERIA's `outputCred`: chained credentials first, then the
//! issuer's and issuee's KELs, the registry's and the credential's TELs, the ACDC), and the
//! credential state of `GET /registries/{ri}/{vci}`.

use std::collections::HashMap;

use anyhow::{anyhow, Context, Result};
use serde_json::{json, Value};

use super::credentials::{self, Anchored};
use super::receipts::{event_key, from_receipts_record};
use super::{kels, schemas, signatures};
use crate::keri::acdc::Acdc;
use crate::keri::cesr::seqner_qb64;
use crate::keri::event::Event;
use crate::keri::kel::FirstSeen;
use crate::keri::oobi;
use crate::keri::stream::Attachments;
use crate::keri::tel_vc::TelEvent;
use crate::store::{OwnerReader, Reader, RECEIPTS};

/// How deep chains are followed when a credential is shown.
const MAX_DEPTH: usize = 8;

/// The attachment of a credential: `-I` with the `iss` that issued it.
fn acdc_attachment(acdc: &Acdc, iss: &TelEvent) -> String {
    format!("-IAB{}{}{}", acdc.said(), seqner_qb64(iss.sn()), iss.said())
}

/// The attachment of a TEL event: the issuer's event that anchors it (`-V` holding `-G`).
pub fn tel_attachment<T>(anchored: &Anchored<T>) -> String {
    let body = format!(
        "-GAB{}{}",
        seqner_qb64(anchored.anchor_sn),
        anchored.anchor_said
    );
    format!("-VA{}{body}", quadlets(body.len() / 4))
}

fn quadlets(count: usize) -> char {
    let digit = u8::try_from(count % 64).unwrap_or_default();
    char::from(match digit {
        0..=25 => b'A' + digit,
        26..=51 => b'a' + digit - 26,
        52..=61 => b'0' + digit - 52,
        62 => b'-',
        _ => b'_',
    })
}

/// The issuer's event at `sn` held here and its attachments (signatures, receipts, first seen).
pub fn event_with_attachments(
    rows: &OwnerReader<'_>,
    prefix: &str,
    sn: u64,
) -> Result<Option<(Event, String)>> {
    let Some(stored) = rows.event(prefix, sn)? else {
        return Ok(None);
    };
    let event = Event::parse(&stored.raw).map_err(|err| anyhow!("stored event: {err}"))?;
    let receipts = rows
        .record(RECEIPTS, &event_key(prefix, sn))?
        .map(|record| from_receipts_record(&record, event.said()))
        .unwrap_or_default();
    let attachments = Attachments {
        controller_sigs: signatures::parse(&stored.sigs)?,
        receipts,
        first_seen: vec![FirstSeen {
            ordinal: sn,
            datetime: stored.first_seen.clone(),
        }],
        ..Attachments::default()
    };
    Ok(Some((event, attachments.to_qb64())))
}

/// The state of credential `said` in registry `regk`, if its TEL is held.
pub fn state(rows: &OwnerReader<'_>, regk: &str, said: &str) -> Result<Option<Value>> {
    let tel = credentials::tel(rows, said)?;
    Ok(tel
        .last()
        .filter(|last| last.event.registry() == regk)
        .map(|last| last.event.state(last.anchor_sn, &last.anchor_said)))
}

/// Credential `said` as `GET /credentials/{said}` shows it, if held.
pub fn show(reader: &Reader, controller: &str, said: &str) -> Result<Option<Value>> {
    show_at(reader, controller, said, 0, &mut HashMap::new())
}

/// Credentials already read (as a query found them), shown as `show` shows each, with every
/// schema read once for them all.
pub fn show_all(reader: &Reader, controller: &str, acdcs: Vec<Acdc>) -> Result<Vec<Value>> {
    let mut schemas = HashMap::new();
    acdcs
        .into_iter()
        .map(|acdc| show_held(reader, controller, &acdc, 0, &mut schemas))
        .collect()
}

fn show_at(
    reader: &Reader,
    controller: &str,
    said: &str,
    depth: usize,
    schemas: &mut HashMap<String, Value>,
) -> Result<Option<Value>> {
    let Some(acdc) = credentials::get(&reader.owner(controller), said)? else {
        return Ok(None);
    };
    show_held(reader, controller, &acdc, depth, schemas).map(Some)
}

fn show_held(
    reader: &Reader,
    controller: &str,
    acdc: &Acdc,
    depth: usize,
    schemas: &mut HashMap<String, Value>,
) -> Result<Value> {
    let rows = reader.owner(controller);
    let said = acdc.said();
    let tel = credentials::tel(&rows, said)?;
    let (Some(iss), Some(last)) = (tel.first(), tel.last()) else {
        return Err(anyhow!("credential {said} is held without its issuance"));
    };
    let mut chains = Vec::new();
    if depth < MAX_DEPTH {
        for edge in acdc.edges().map_err(|err| anyhow!(err))? {
            if let Some(chained) = show_at(reader, controller, &edge.source, depth + 1, schemas)? {
                chains.push(chained);
            }
        }
    }
    let schema = if let Some(schema) = schemas.get(acdc.schema()) {
        schema.clone()
    } else {
        let schema = schemas::get(reader, controller, acdc.schema())?.unwrap_or(Value::Null);
        schemas.insert(acdc.schema().to_owned(), schema.clone());
        schema
    };
    let mut shown = json!({
        "sad": acdc.value(),
        "atc": acdc_attachment(acdc, &iss.event),
        "iss": iss.event.value(),
        "issatc": tel_attachment(iss),
        "pre": acdc.issuer(),
        "schema": schema,
        "chains": chains,
        "status": last.event.state(last.anchor_sn, &last.anchor_said),
        "anchor": {"pre": acdc.said(), "sn": 0, "d": iss.event.said()},
    });
    if let Some((anc, ancatc)) = event_with_attachments(&rows, acdc.issuer(), iss.anchor_sn)? {
        shown["anc"] = anc.value().clone();
        // KERIA answers a one-element list here; signify-ts reads it as text.
        shown["ancatc"] = json!([ancatc]);
    }
    Ok(shown)
}

/// Credential `said` as a presentable CESR stream, if held.
pub fn stream(rows: &OwnerReader<'_>, said: &str) -> Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    if !write_stream(rows, said, 0, &mut out)? {
        return Ok(None);
    }
    Ok(Some(out))
}

fn write_stream(
    rows: &OwnerReader<'_>,
    said: &str,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<bool> {
    let Some(acdc) = credentials::get(rows, said)? else {
        return Ok(false);
    };
    if depth < MAX_DEPTH {
        for edge in acdc.edges().map_err(|err| anyhow!(err))? {
            write_stream(rows, &edge.source, depth + 1, out)?;
        }
    }
    for prefix in [Some(acdc.issuer()), acdc.issuee()].into_iter().flatten() {
        if let Some(kel) = kels::load(rows, prefix)? {
            out.extend(oobi::write(&[&kel], &[]));
        }
    }
    let tel = credentials::tel(rows, said)?;
    if let Some(regk) = acdc.registry() {
        if let Some(vcp) = credentials::registry(rows, regk)? {
            out.extend_from_slice(vcp.event.raw());
            out.extend(tel_attachment(&vcp).into_bytes());
        }
    }
    for event in &tel {
        out.extend_from_slice(event.event.raw());
        out.extend(tel_attachment(event).into_bytes());
    }
    let iss = tel.first().context("a held credential has its issuance")?;
    out.extend_from_slice(acdc.raw());
    out.extend(acdc_attachment(&acdc, &iss.event).into_bytes());
    Ok(true)
}
