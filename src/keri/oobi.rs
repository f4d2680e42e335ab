//! OOBI streams: what an agent serves for `GET /oobi/{aid}/agent/{eid}`, and the check a
//! resolver runs on what it fetched.
//!
//! `write` lays out key event logs (each event with its signatures, delegation source and
//! first-seen couple) and signed replies as KERIA does. `resolve` parses a fetched stream and
//! validates every key event log from its inception (signatures, chaining, next-key
//! commitments, a delegated inception's anchor in its delegator's log) and every reply's
//! signatures and signer before returning anything.

use std::fmt;

use super::error::EventError;
use super::error::KelError;
use super::event::Event;
use super::ilk::Ilk;
use super::kel::{Kel, KeyState, SignedEvent};
use super::primitives::{Cigar, Siger, Verfer};
use super::reply::{EndRole, Location, Reply, ReplyError};
use super::stream::{self, Attachments, Message, SignatureGroup, StreamError};

/// A reply with the signatures that sign it: transferable signature groups, or receipt couples
/// of non-transferable identifiers (a witness signs its own replies so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedReply {
    /// The verified reply.
    pub reply: Reply,
    /// Its signatures, under the signer's establishment event (`-F`).
    pub groups: Vec<SignatureGroup>,
    /// Its signatures by non-transferable identifiers, each with its key (`-C`).
    pub couples: Vec<(Verfer, Cigar)>,
}

impl SignedReply {
    /// Whether `prefix` signed it.
    fn signed_by(&self, prefix: &str) -> bool {
        self.groups.iter().any(|group| group.prefix == prefix)
            || self
                .couples
                .iter()
                .any(|(verfer, _)| verfer.qb64() == prefix)
    }
}

/// What a verified OOBI stream holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Every key event log, in stream order, with the sender's first-seen times.
    pub kels: Vec<Kel>,
    /// End-role authorizations signed by their `cid`.
    pub end_roles: Vec<(EndRole, SignedReply)>,
    /// Locations signed by their `eid`.
    pub locations: Vec<(Location, SignedReply)>,
}

/// Why a fetched stream was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OobiError {
    /// The stream is malformed.
    Stream(StreamError),
    /// Message `index` is not a valid event.
    Event {
        /// Position in the stream, from 0.
        index: usize,
        /// Why.
        error: EventError,
    },
    /// An event does not extend its identifier's log.
    Kel {
        /// The identifier.
        prefix: String,
        /// The event's sequence number.
        sn: u64,
        /// Why.
        error: KelError,
    },
    /// Message `index` is not a valid reply or its signatures fail.
    Reply {
        /// Position in the stream, from 0.
        index: usize,
        /// Why.
        error: ReplyError,
    },
    /// An event carries fewer verified receipts of its witnesses than its threshold (it may
    /// still be being receipted).
    Unwitnessed {
        prefix: String,
        sn: u64,
        receipts: usize,
        threshold: usize,
    },
    /// Anything else that did not verify, with the reason.
    Refused(String),
}

impl fmt::Display for OobiError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OobiError::Stream(error) => error.fmt(formatter),
            OobiError::Event { index, error } => write!(formatter, "message {index}: {error}"),
            OobiError::Kel { prefix, sn, error } => {
                write!(
                    formatter,
                    "key event log of {prefix}, event {sn:x}: {error}"
                )
            }
            OobiError::Reply { index, error } => write!(formatter, "message {index}: {error}"),
            OobiError::Unwitnessed {
                prefix,
                sn,
                receipts,
                threshold,
            } => write!(
                formatter,
                "event {sn:x} of {prefix} carries {receipts} verified receipts of its witnesses, \
                 fewer than its threshold {threshold}"
            ),
            OobiError::Refused(reason) => formatter.write_str(reason),
        }
    }
}

impl std::error::Error for OobiError {}

/// The stream of `kels` (every event with its attachments) followed by `replies`.
pub fn write(kels: &[&Kel], replies: &[&SignedReply]) -> Vec<u8> {
    let mut parts: Vec<(&[u8], Attachments)> = Vec::new();
    for kel in kels {
        for entry in kel.entries() {
            parts.push((entry.signed.event.raw(), Attachments::of_entry(entry)));
        }
    }
    for signed in replies {
        let attachments = Attachments {
            signature_groups: signed.groups.clone(),
            receipts: signed.couples.clone(),
            ..Attachments::default()
        };
        parts.push((signed.reply.raw(), attachments));
    }
    stream::write(parts.iter().map(|(raw, attachments)| (*raw, attachments)))
}

/// Parses a fetched stream of at most `limit` bytes and verifies all of it.
pub fn resolve(bytes: &[u8], limit: usize) -> Result<Resolution, OobiError> {
    let messages = stream::parse(bytes, limit).map_err(OobiError::Stream)?;
    let mut resolution = Resolution {
        kels: Vec::new(),
        end_roles: Vec::new(),
        locations: Vec::new(),
    };
    // Receipts (`rct`, as a witness serves them beside the events) count for the event they
    // name, wherever they stand in the stream.
    let mut receipts: Vec<(String, Vec<(Verfer, Cigar)>)> = Vec::new();
    for message in &messages {
        if message.value["t"] == "rct" {
            let key = format!(
                "{}.{}.{}",
                message.value["i"].as_str().unwrap_or_default(),
                message.value["s"].as_str().unwrap_or_default(),
                message.value["d"].as_str().unwrap_or_default()
            );
            receipts.push((key, message.attachments.receipts.clone()));
        }
    }
    for (index, mut message) in messages.into_iter().enumerate() {
        if message.value["t"] == "rct" {
            continue;
        }
        if message.value["t"] == "rpy" {
            resolution.reply(index, message)?;
        } else {
            let key = format!(
                "{}.{}.{}",
                message.value["i"].as_str().unwrap_or_default(),
                message.value["s"].as_str().unwrap_or_default(),
                message.value["d"].as_str().unwrap_or_default()
            );
            for (_, couples) in receipts.iter().filter(|(named, _)| *named == key) {
                message.attachments.receipts.extend(couples.iter().cloned());
            }
            let event =
                Event::verify(&message.value).map_err(|error| OobiError::Event { index, error })?;
            resolution.event(event, message.attachments)?;
        }
    }
    Ok(resolution)
}

/// The receipts of an event (`raw`) that verify: receipt couples (`-C`) and witness-indexed
/// signatures (`-B`) by the witnesses of `state` (after the event), each witness once.
fn witnessed(
    state: &KeyState,
    raw: &[u8],
    couples: Vec<(Verfer, Cigar)>,
    indexed: &[Siger],
) -> Vec<(Verfer, Cigar)> {
    let backers = state.backers();
    let mut receipts: Vec<(Verfer, Cigar)> = Vec::new();
    let mut keep = |verfer: Verfer, cigar: Cigar| {
        let known = backers.contains(&verfer.qb64());
        let fresh = !receipts
            .iter()
            .any(|(have, _)| have.qb64() == verfer.qb64());
        if known && fresh && !verfer.is_transferable() && verfer.verify(raw, cigar.raw()) {
            receipts.push((verfer, cigar));
        }
    };
    for (verfer, cigar) in couples {
        keep(verfer, cigar);
    }
    for siger in indexed {
        let verfer = usize::try_from(siger.index())
            .ok()
            .and_then(|index| backers.get(index))
            .and_then(|backer| Verfer::parse(backer).ok());
        if let Some(verfer) = verfer {
            keep(verfer, Cigar::new(*siger.raw()));
        }
    }
    receipts
}

/// Checks a receipt couple on a reply: a non-transferable signer (its prefix is its key)
/// whose signature covers the reply's bytes.
fn check_couple(
    index: usize,
    reply: &Reply,
    verfer: &Verfer,
    cigar: &Cigar,
) -> Result<(), OobiError> {
    let refused = |reason: String| OobiError::Refused(format!("message {index}: {reason}"));
    if verfer.is_transferable() {
        return Err(refused(format!(
            "{verfer} signs reply {} with a receipt couple (-C), which only a non-transferable \
             identifier may",
            reply.said()
        )));
    }
    if !verfer.verify(reply.raw(), cigar.raw()) {
        return Err(refused(format!(
            "the signature of {verfer} on reply {} does not verify",
            reply.said()
        )));
    }
    Ok(())
}

impl Resolution {
    fn kel(&self, prefix: &str) -> Option<&Kel> {
        self.kels.iter().find(|kel| kel.state().prefix() == prefix)
    }

    /// Adds a verified event to its identifier's log, or starts one.
    fn event(&mut self, event: Event, attachments: Attachments) -> Result<(), OobiError> {
        let datetime = attachments
            .first_seen
            .first()
            .map(|seen| seen.datetime.clone())
            .unwrap_or_default();
        let signed = SignedEvent {
            event,
            sigs: attachments.controller_sigs,
            delegation: attachments.seal_sources.into_iter().next(),
        };
        let (prefix, sn) = (signed.event.prefix().to_owned(), signed.event.sn());
        if signed.event.delegator().is_some() || signed.event.ilk() == Ilk::Drt {
            self.check_delegation(&signed)?;
        }
        let refused = |error: KelError| OobiError::Kel {
            prefix: prefix.clone(),
            sn,
            error,
        };
        let position = self
            .kels
            .iter()
            .position(|kel| kel.state().prefix() == prefix);
        let raw = signed.event.raw().to_vec();
        let position = if let Some(position) = position {
            self.kels[position]
                .append(signed, &datetime)
                .map_err(refused)?;
            position
        } else {
            self.kels
                .push(Kel::incept(signed, &datetime).map_err(refused)?);
            self.kels.len() - 1
        };
        let kel = &mut self.kels[position];
        let receipts = witnessed(
            kel.state(),
            &raw,
            attachments.receipts,
            &attachments.witness_sigs,
        );
        let threshold = usize::try_from(kel.state().backer_threshold()).unwrap_or(usize::MAX);
        if receipts.len() < threshold {
            return Err(OobiError::Unwitnessed {
                prefix: prefix.clone(),
                sn,
                receipts: receipts.len(),
                threshold,
            });
        }
        kel.set_receipts(sn, receipts);
        Ok(())
    }

    /// Checks that a delegated event is anchored by a seal in its delegator's log, at the
    /// event its seal source names.
    fn check_delegation(&self, signed: &SignedEvent) -> Result<(), OobiError> {
        let event = &signed.event;
        let delegator = match event.delegator() {
            Some(delegator) => delegator.to_owned(),
            None => self
                .kel(event.prefix())
                .and_then(|kel| kel.state().delegator())
                .unwrap_or_default()
                .to_owned(),
        };
        let refused = |reason: &str| {
            OobiError::Refused(format!(
                "delegated event {} of {}: {reason}",
                event.said(),
                event.prefix()
            ))
        };
        let source = signed
            .delegation
            .as_ref()
            .ok_or_else(|| refused("no seal source (-G) names the delegator's approval"))?;
        let kel = self.kel(&delegator).ok_or_else(|| {
            refused(&format!(
                "the delegator {delegator}'s log is not in the stream"
            ))
        })?;
        let approving = usize::try_from(source.sn)
            .ok()
            .and_then(|sn| kel.entries().get(sn))
            .map(|entry| &entry.signed.event)
            .filter(|approving| approving.said() == source.said)
            .ok_or_else(|| refused("the seal source is not an event of the delegator"))?;
        let anchored = approving.seals().iter().any(|seal| {
            seal.prefix() == Some(event.prefix())
                && seal.sn() == Some(event.sn())
                && seal.said() == Some(event.said())
        });
        if !anchored {
            return Err(refused("the delegator's event does not anchor it"));
        }
        Ok(())
    }

    /// Verifies a reply's signatures and signer, and keeps it.
    fn reply(&mut self, index: usize, message: Message) -> Result<(), OobiError> {
        let reply =
            Reply::verify(&message.value).map_err(|error| OobiError::Reply { index, error })?;
        let groups = message.attachments.signature_groups;
        let couples = message.attachments.receipts;
        if groups.is_empty() && couples.is_empty() {
            return Err(OobiError::Refused(format!(
                "message {index}: reply {} carries no signatures (-F or -C)",
                reply.said()
            )));
        }
        for group in &groups {
            self.check_group(index, &reply, group)?;
        }
        for (verfer, cigar) in &couples {
            check_couple(index, &reply, verfer, cigar)?;
        }
        let signers: Vec<String> = groups
            .iter()
            .map(|group| group.prefix.clone())
            .chain(couples.iter().map(|(verfer, _)| verfer.qb64()))
            .collect();
        let wrong_signer = |expected: &str| {
            OobiError::Refused(format!(
                "message {index}: reply {} must be signed by {expected}, not {}",
                reply.said(),
                signers.join(", ")
            ))
        };
        let signed = SignedReply {
            reply: reply.clone(),
            groups,
            couples,
        };
        if let Some(role) = reply.end_role() {
            if !signed.signed_by(&role.cid) {
                return Err(wrong_signer(&role.cid));
            }
            self.end_roles.push((role, signed));
        } else if let Some(location) = reply.location() {
            if !signed.signed_by(&location.eid) {
                return Err(wrong_signer(&location.eid));
            }
            self.locations.push((location, signed));
        } else {
            return Err(OobiError::Refused(format!(
                "message {index}: unsupported reply route {}",
                reply.route()
            )));
        }
        Ok(())
    }

    /// Checks one signature group against the signer's latest establishment event.
    fn check_group(
        &self,
        index: usize,
        reply: &Reply,
        group: &SignatureGroup,
    ) -> Result<(), OobiError> {
        let refused = |reason: String| OobiError::Refused(format!("message {index}: {reason}"));
        if Verfer::parse(&group.prefix).is_ok_and(|key| !key.is_transferable()) {
            return Err(refused(format!(
                "{} is not a transferable identifier",
                group.prefix
            )));
        }
        let kel = self.kel(&group.prefix).ok_or_else(|| {
            refused(format!(
                "the signer {}'s key event log is not in the stream",
                group.prefix
            ))
        })?;
        if kel.state().establishment() != (group.sn, group.said.as_str()) {
            return Err(refused(format!(
                "reply is signed under event {:x} {} of {}, not its latest establishment event",
                group.sn, group.said, group.prefix
            )));
        }
        let establishment = kel
            .establishment_event(group.sn, &group.said)
            .and_then(|event| event.kt().map(|threshold| (event.keys(), threshold)));
        let Some((keys, threshold)) = establishment else {
            return Err(refused(format!(
                "no establishment event {:x} {} in the log of {}",
                group.sn, group.said, group.prefix
            )));
        };
        reply
            .verify_signatures(&keys, threshold, &group.sigs)
            .map_err(|error| OobiError::Reply { index, error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keri::build::{incept, interact};
    use crate::keri::primitives::{Diger, Signer};
    use crate::keri::reply::end_role_add;
    use crate::keri::vectors::{AGENT_OOBI, WITNESS, WITNESS_OOBI};
    use proptest::prelude::*;

    #[test]
    fn a_witness_oobi_with_receipt_couples_resolves_and_is_rewritten_identically() {
        let resolution = resolve(WITNESS_OOBI, LIMIT).unwrap();
        assert_eq!(resolution.kels.len(), 1);
        assert_eq!(resolution.kels[0].state().prefix(), WITNESS);
        let urls: Vec<&str> = resolution
            .locations
            .iter()
            .map(|(location, _)| location.url.as_str())
            .collect();
        assert_eq!(urls, ["http://127.0.0.1:33287/", "tcp://127.0.0.1:35349/"]);
        assert_eq!(resolution.end_roles.len(), 1);
        assert_eq!(resolution.end_roles[0].0.role, "controller");
        let replies: Vec<&SignedReply> = resolution
            .locations
            .iter()
            .map(|(_, signed)| signed)
            .chain(resolution.end_roles.iter().map(|(_, signed)| signed))
            .collect();
        let kels: Vec<&Kel> = resolution.kels.iter().collect();
        assert_eq!(write(&kels, &replies), WITNESS_OOBI);
    }

    #[test]
    fn a_receipt_couple_that_lies_or_signs_for_another_is_refused() {
        let text = std::str::from_utf8(WITNESS_OOBI).unwrap();
        // The http location's signature, with one character changed.
        let lying = text.replacen("0BBG5OaSdAS3", "0BBG5OaSdAS4", 1);
        let refused = resolve(lying.as_bytes(), LIMIT).unwrap_err().to_string();
        assert!(refused.contains("does not verify"), "{refused}");
        // Signed by someone else than the location's eid.
        let other = Signer::random().unwrap();
        let stranger = other.verfer().qb64();
        assert!(!stranger.starts_with('B'), "a transferable key: {stranger}");
        let moved = text.replacen(
            "\"eid\":\"BC11WdZjwiyjayUNmuRuYNrIwlUgy-EAQk3qPZbS0GKi\",\"scheme\":\"http\"",
            "\"eid\":\"BBBBWdZjwiyjayUNmuRuYNrIwlUgy-EAQk3qPZbS0GKi\",\"scheme\":\"http\"",
            1,
        );
        assert!(resolve(moved.as_bytes(), LIMIT).is_err());
    }

    const LIMIT: usize = 1 << 20;
    const DATETIME: &str = "2026-11-24T21:59:14.583126+00:00";

    /// The OOBI stream with `from` replaced by `to` (both once).
    fn edited(from: &str, to: &str) -> Vec<u8> {
        let text = std::str::from_utf8(AGENT_OOBI).unwrap();
        assert_eq!(text.matches(from).count(), 1, "{from}");
        text.replacen(from, to, 1).into_bytes()
    }

    #[test]
    fn the_agent_oobi_resolves_and_is_rewritten_identically() {
        let resolution = resolve(AGENT_OOBI, LIMIT).unwrap();
        let prefixes: Vec<&str> = resolution
            .kels
            .iter()
            .map(|kel| kel.state().prefix())
            .collect();
        let bob = "EG53idbM-_S-MrFF9GX-OzSMOzZEd3tUibHBIVb06SPL";
        let agent = "EEfxxsBjE7ePbizd0eiGfxJSGDReSNopXagDI5XLKuyK";
        let controller = "EEttCGd97fUcuHFuMNOoRrEPsbiDEWj4BdWIweEaot8Q";
        assert_eq!(prefixes, [bob, controller, agent]);
        assert_eq!(resolution.kels[0].state().sn(), 1);
        assert_eq!(resolution.kels[2].state().delegator(), Some(controller));
        let (role, _) = &resolution.end_roles[0];
        assert_eq!(
            (role.cid.as_str(), role.role.as_str(), role.eid.as_str()),
            (bob, "agent", agent)
        );
        let (location, _) = &resolution.locations[0];
        assert_eq!(
            (location.eid.as_str(), location.url.as_str()),
            (agent, "http://127.0.0.1:7952/")
        );
        let kels: Vec<&Kel> = resolution.kels.iter().collect();
        let replies = [&resolution.locations[0].1, &resolution.end_roles[0].1];
        assert_eq!(write(&kels, &replies), AGENT_OOBI);
    }

    #[test]
    fn forged_or_incomplete_streams_are_refused() {
        let error = |bytes: &[u8]| resolve(bytes, LIMIT).unwrap_err().to_string();
        // A signature of bob's ixn changed.
        let forged = edited("-AABAAD1L3mK1Gc2", "-AABAAD1L3mK1Gc3");
        assert_eq!(
            error(&forged),
            "key event log of EG53idbM-_S-MrFF9GX-OzSMOzZEd3tUibHBIVb06SPL, event 1: 0 of 1 \
             signatures verify against the current keys, the signing threshold 1 is not met"
        );
        // The end-role reply carries the agent's signature of the location reply instead.
        let text = std::str::from_utf8(AGENT_OOBI).unwrap();
        let agent_sig = &text[text.find("-AABAAA9Pjw").unwrap() + 4..][..88];
        let bob_sig = &text[text.find("-AABAABe83Z").unwrap() + 4..][..88];
        assert!(error(&edited(bob_sig, agent_sig))
            .starts_with("message 6: reply: 0 of 1 signatures verify against the current keys"));
        // The controller's log left out: the agent's delegation cannot be checked.
        let start = text
            .find(r#"{"v":"KERI10JSON00012b_","t":"icp","d":"EEtt"#)
            .unwrap();
        let end = text.find(r#"{"v":"KERI10JSON00015f_","t":"dip""#).unwrap();
        let without = [&AGENT_OOBI[..start], &AGENT_OOBI[end..]].concat();
        assert!(error(&without).ends_with(
            "the delegator EEttCGd97fUcuHFuMNOoRrEPsbiDEWj4BdWIweEaot8Q's log is not in the stream"
        ));
        // The delegation seal source pointing to the controller's inception.
        let source = "-GAB0AAAAAAAAAAAAAAAAAAAAAABEHB4vGqIvguR3VRjOlzeE-1bfCCGm6v3I3GXsdcxCbSb";
        let inception = "-GAB0AAAAAAAAAAAAAAAAAAAAAAAEEttCGd97fUcuHFuMNOoRrEPsbiDEWj4BdWIweEaot8Q";
        assert!(
            error(&edited(source, inception)).ends_with("the delegator's event does not anchor it")
        );
        // Bob's inception left out: his ixn and reply have no log to join.
        let bob_ixn = text.find(r#"{"v":"KERI10JSON0000f9_","t":"ixn""#).unwrap();
        assert!(error(&AGENT_OOBI[bob_ixn..])
            .ends_with("a key event log must start with an inception (icp or dip), not ixn"));
        // Truncated.
        assert_eq!(
            error(&AGENT_OOBI[..AGENT_OOBI.len() - 10]),
            format!(
                "stream is truncated at byte {}, inside an attachment group",
                AGENT_OOBI.len() - 208
            )
        );
        assert!(error(&AGENT_OOBI[..100]).contains("inside a message"));
        // Replies without their signer's log.
        let replies = text.find(r#"{"v":"KERI10JSON0000fa_","t":"rpy""#).unwrap();
        assert!(error(&AGENT_OOBI[replies..]).ends_with(
            "the signer EEfxxsBjE7ePbizd0eiGfxJSGDReSNopXagDI5XLKuyK's key event log is not in the stream"
        ));
    }

    fn signed_kel(signer: &Signer, next: &Signer) -> Kel {
        let icp = incept(
            &[signer.verfer()],
            &[Diger::blake3(next.verfer().qb64().as_bytes())],
        );
        let sigs = vec![signer.sign_indexed(icp.raw(), 0)];
        Kel::incept(
            SignedEvent {
                event: icp,
                sigs,
                delegation: None,
            },
            DATETIME,
        )
        .unwrap()
    }

    fn signed_reply(reply: Reply, kel: &Kel, signer: &Signer) -> SignedReply {
        let (sn, said) = kel.state().establishment();
        let sigs = vec![signer.sign_indexed(reply.raw(), 0)];
        let group = SignatureGroup {
            prefix: kel.state().prefix().to_owned(),
            sn,
            said: said.to_owned(),
            sigs,
        };
        SignedReply {
            reply,
            groups: vec![group],
            couples: Vec::new(),
        }
    }

    #[test]
    fn replies_must_be_signed_by_their_subject() {
        let signers: Vec<Signer> = (1..=4u8)
            .map(|byte| Signer::from_seed(&[byte; 32]))
            .collect();
        let alice = signed_kel(&signers[0], &signers[1]);
        let mallory = signed_kel(&signers[2], &signers[3]);
        let claim = end_role_add(
            alice.state().prefix(),
            "agent",
            mallory.state().prefix(),
            DATETIME,
        );
        let honest = signed_reply(claim.clone(), &alice, &signers[0]);
        let resolution = resolve(&write(&[&alice, &mallory], &[&honest]), LIMIT).unwrap();
        assert_eq!(resolution.end_roles.len(), 1);
        let forged = signed_reply(claim, &mallory, &signers[2]);
        assert_eq!(
            resolve(&write(&[&alice, &mallory], &[&forged]), LIMIT)
                .unwrap_err()
                .to_string(),
            format!(
                "message 2: reply {} must be signed by {}, not {}",
                forged.reply.said(),
                alice.state().prefix(),
                mallory.state().prefix()
            )
        );
        let mut rotated_away = alice.clone();
        let ixn = interact(alice.state().prefix(), 1, alice.state().said(), Vec::new());
        let sigs = vec![signers[0].sign_indexed(ixn.raw(), 0)];
        rotated_away
            .append(
                SignedEvent {
                    event: ixn,
                    sigs,
                    delegation: None,
                },
                DATETIME,
            )
            .unwrap();
        assert!(resolve(&write(&[&rotated_away], &[&honest]), LIMIT).is_ok());
        let unsigned = SignedReply {
            reply: honest.reply.clone(),
            groups: Vec::new(),
            couples: Vec::new(),
        };
        assert!(resolve(&write(&[&alice], &[&unsigned]), LIMIT)
            .unwrap_err()
            .to_string()
            .ends_with("carries no signatures (-F or -C)"));
    }

    proptest! {
        #[test]
        fn mutated_oobi_streams_never_panic(at in 0..AGENT_OOBI.len(), byte in any::<u8>()) {
            let mut bytes = AGENT_OOBI.to_vec();
            bytes[at] = byte;
            if let Ok(resolution) = resolve(&bytes, LIMIT) {
                prop_assert_eq!(resolution.kels.len(), 3);
            }
        }
    }
}
