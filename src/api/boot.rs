//! `POST /boot`: checks a Signify controller's inception and creates its agent.
//!
//! Every check happens before anything is staged; the 202 is sent only after the batch that
//! holds the agent's rows and its index row has durably committed.

use std::time::Instant;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::agency::agent::KeyParams;
use crate::agency::{Agency, BootError};
use crate::keri::datetime::format_datetime;
use crate::keri::event::Event;
use crate::keri::ilk::Ilk;
use crate::keri::json::python_json;
use crate::keri::primitives::Siger;
use crate::server::http::Response;
use crate::server::json;

/// A boot request whose every part checked out.
struct BootRequest {
    icp: Event,
    sig: Siger,
    params: KeyParams,
}

/// Handles `POST /boot`.
pub(super) fn boot(agency: &mut Agency, body: &[u8]) -> Response {
    let request = match parse(body) {
        Ok(request) => request,
        Err(response) => return *response,
    };
    let first_seen = format_datetime(OffsetDateTime::now_utc());
    match agency.stage_boot(
        &request.icp,
        std::slice::from_ref(&request.sig),
        &request.params,
        &first_seen,
        Instant::now(),
    ) {
        Ok(state) => Response::json_text(202, python_json(&state.to_value())),
        Err(BootError::Exists) => Response::error(
            409,
            "agent already exists",
            &format!(
                "agent for controller {} already exists",
                request.icp.prefix()
            ),
        ),
        Err(BootError::Storage(err)) => {
            log::error!(
                "boot of controller {} failed: {err:#}",
                request.icp.prefix()
            );
            Response::error(
                500,
                "500 Internal Server Error",
                "the agent could not be stored; nothing was kept, retry",
            )
        }
    }
}

#[allow(
    clippy::unnecessary_box_returns,
    reason = "parse returns boxed responses"
)]
fn invalid(description: &str) -> Box<Response> {
    Box::new(Response::error(400, "invalid inception", description))
}

/// Checks the body in order: JSON, fields, event, key configuration, signature.
fn parse(body: &[u8]) -> Result<BootRequest, Box<Response>> {
    let value = json::parse(body).map_err(|err| {
        Box::new(Response::error(
            400,
            "Invalid JSON",
            &format!("Could not parse JSON body - {err}"),
        ))
    })?;
    let Value::Object(fields) = value else {
        return Err(invalid("the body must be a JSON object"));
    };
    if fields.contains_key("group") {
        return Err(invalid("multisig (group) controllers are not supported"));
    }
    let icp = fields
        .get("icp")
        .ok_or_else(|| invalid("required field \"icp\" missing from body"))?;
    let sig = fields
        .get("sig")
        .ok_or_else(|| invalid("required field \"sig\" missing from body"))?;
    let icp = Event::verify(icp)
        .map_err(|err| invalid(&format!("icp is not a valid KERI event: {err}")))?;
    if icp.ilk() != Ilk::Icp {
        return Err(invalid(&format!(
            "icp must be an inception event (t \"icp\"), not {:?}",
            icp.ilk().as_str()
        )));
    }
    if icp.sn() != 0 {
        return Err(invalid("icp must have sequence number 0"));
    }
    let keys = icp.keys();
    if keys.len() != 1 || icp.signing_threshold() != Some(1) {
        return Err(invalid(&format!(
            "multisig controllers are not supported: icp must have one key and threshold 1, has {} keys and threshold {}",
            keys.len(),
            icp.signing_threshold().map_or_else(|| "weighted".to_owned(), |threshold| threshold.to_string())
        )));
    }
    if !keys[0].is_transferable() {
        return Err(invalid(&format!(
            "the controller's key k[0] {} is non-transferable (code B): it could never rotate; \
             use a transferable key (code D)",
            keys[0]
        )));
    }
    if icp.next_digests().is_empty() {
        return Err(invalid(
            "icp commits to no next key (n is empty): the controller could never rotate",
        ));
    }
    if icp.next_digests().len() != 1 {
        return Err(invalid("icp must commit to exactly one next key digest"));
    }
    check_bounds(&icp)?;
    let sig = sig
        .as_str()
        .ok_or_else(|| invalid("sig must be a string"))?;
    let sig = Siger::parse(sig).map_err(|err| {
        invalid(&format!(
            "sig is not a qb64 indexed Ed25519 signature: {err}"
        ))
    })?;
    if sig.index() != 0 {
        return Err(invalid(&format!(
            "sig must have index 0, has {}",
            sig.index()
        )));
    }
    if !keys[0].verify(icp.raw(), sig.raw()) {
        return Err(invalid(&format!(
            "invalid icp event for caid {}: the signature does not verify against k[0]",
            icp.prefix()
        )));
    }
    let params = key_params(&fields)?;
    Ok(BootRequest { icp, sig, params })
}

/// Most traits (`c`) a controller's inception may list, and the longest one, in bytes.
const MAX_TRAITS: usize = 8;
const MAX_TRAIT_LENGTH: usize = 8;
/// Most anchors (`a`) a controller's inception may carry.
const MAX_ANCHORS: usize = 8;
/// Largest controller inception, in bytes (Signify's is under 400).
const MAX_ICP: usize = 4096;
/// Longest key-manager `stem`, in bytes.
const MAX_STEM: usize = 256;

/// Bounds what a boot stores of the controller's inception: its traits, anchors and size.
fn check_bounds(icp: &Event) -> Result<(), Box<Response>> {
    let traits = icp.traits();
    if traits.len() > MAX_TRAITS {
        return Err(invalid(&format!(
            "icp field c lists {} traits; at most {MAX_TRAITS} are accepted",
            traits.len()
        )));
    }
    if let Some(long) = traits.iter().find(|name| name.len() > MAX_TRAIT_LENGTH) {
        return Err(invalid(&format!(
            "icp field c has a trait of {} bytes; at most {MAX_TRAIT_LENGTH} are accepted",
            long.len()
        )));
    }
    let anchors = icp.value()["a"].as_array().map_or(0, Vec::len);
    if anchors > MAX_ANCHORS {
        return Err(invalid(&format!(
            "icp field a carries {anchors} anchors; at most {MAX_ANCHORS} are accepted"
        )));
    }
    if icp.raw().len() > MAX_ICP {
        return Err(invalid(&format!(
            "icp is {} bytes; at most {MAX_ICP} are accepted",
            icp.raw().len()
        )));
    }
    Ok(())
}

/// Key-manager parameters: from `salty` when given, else the top-level `stem`, `pidx`, `tier`.
fn key_params(fields: &Map<String, Value>) -> Result<KeyParams, Box<Response>> {
    let source = match fields.get("salty") {
        Some(Value::Object(salty)) => salty,
        Some(_) => return Err(invalid("salty must be an object")),
        None => fields,
    };
    if fields.get("randy").is_some_and(|randy| !randy.is_object()) {
        return Err(invalid("randy must be an object"));
    }
    let stem = match source.get("stem") {
        None => "signify:controller".to_owned(),
        Some(Value::String(stem)) if stem.len() > MAX_STEM => {
            return Err(invalid(&format!(
                "stem is {} bytes; at most {MAX_STEM} are accepted",
                stem.len()
            )))
        }
        Some(Value::String(stem)) => stem.clone(),
        Some(_) => return Err(invalid("stem must be a string")),
    };
    let pidx = match source.get("pidx") {
        None => 1,
        Some(pidx) => pidx
            .as_u64()
            .ok_or_else(|| invalid("pidx must be a non-negative integer"))?,
    };
    let tier = match source.get("tier") {
        None => "low".to_owned(),
        Some(Value::String(tier)) if matches!(tier.as_str(), "low" | "med" | "high") => {
            tier.clone()
        }
        Some(_) => return Err(invalid("tier must be \"low\", \"med\" or \"high\"")),
    };
    Ok(KeyParams { stem, pidx, tier })
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use proptest::prelude::*;

    use super::boot;
    use crate::agency::Agency;
    use crate::cli::{Cli, Command};
    use crate::config::StartConfig;

    const VECTOR_BODY: &str = r#"{"icp":{"v":"KERI10JSON00012b_","t":"icp","d":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","i":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","s":"0","kt":"1","k":["DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc"],"nt":"1","n":["EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL"],"bt":"0","b":[],"c":[],"a":[]},"sig":"AACJwsJ0mvb4VgxD87H4jIsiT1QtlzznUy9zrX3lGdd48jjQRTv8FxlJ8ClDsGtkvK4Eekg5p-oPYiPvK_1eTXEG","stem":"signify:controller","pidx":1,"tier":"low"}"#;

    fn agency(dir: &std::path::Path) -> Agency {
        let command_line = ["keria", "start", "--data-dir", dir.to_str().unwrap()];
        let Command::Start(args) = Cli::try_parse_from(command_line).unwrap().command else {
            unreachable!()
        };
        Agency::open(&StartConfig::try_from(args).unwrap().agency()).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn mutated_boot_bodies_never_panic_and_never_leave_an_agent(
            flips in proptest::collection::vec((0..VECTOR_BODY.len(), any::<u8>()), 1..4),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut agency = agency(dir.path());
            let mut body = VECTOR_BODY.as_bytes().to_vec();
            for (at, byte) in flips {
                body[at] = byte;
            }
            let response = boot(&mut agency, &body);
            agency.commit(std::time::Instant::now()).unwrap();
            let created = u64::from(response.status == 202);
            prop_assert!(matches!(response.status, 202 | 400), "status {}", response.status);
            prop_assert_eq!(agency.known().unwrap(), created);
            agency.close(&mut Vec::new()).unwrap();
        }

        #[test]
        fn arbitrary_json_never_panics_and_never_stages_anything(body in "\\PC{0,200}") {
            let dir = tempfile::tempdir().unwrap();
            let mut agency = agency(dir.path());
            let response = boot(&mut agency, body.as_bytes());
            prop_assert_eq!(response.status, 400);
            prop_assert!(!agency.has_staged());
            prop_assert_eq!(agency.known().unwrap(), 0);
            agency.close(&mut Vec::new()).unwrap();
        }
    }
}
