//! Key event logs: validating each event against the key state it follows.
//!
//! `KeyState` is the state of an identifier after some events; `KeyState::incept` starts it
//! from a signed inception and `KeyState::apply` accepts the next signed interaction or
//! rotation, or says precisely why not. `Kel` keeps the accepted events with their signatures
//! and first-seen times, and tells a duplicate (the accepted event again) from a duplicitous
//! event (another event at a used sequence number). Nothing here stores anything.

use super::error::{EventError, KelError};
use super::event::Event;
use super::ilk::Ilk;
use super::primitives::{Cigar, Diger, Siger, Verfer};
use super::signatures::check_signatures;
use super::threshold::Threshold;

/// The configuration trait that forbids interaction events.
const ESTABLISHMENT_ONLY: &str = "EO";

/// The latest establishment event of a key state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstablishmentState {
    /// Its sequence number.
    pub sn: u64,
    /// Its SAID.
    pub said: String,
    /// Backers it removed (`br`).
    pub removed_backers: Vec<String>,
    /// Backers it added (`ba`).
    pub added_backers: Vec<String>,
}

/// The state of an identifier after the events accepted so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyState {
    pub(super) prefix: String,
    pub(super) sn: u64,
    pub(super) said: String,
    /// SAID of the event before the latest, empty at inception.
    pub(super) prior: String,
    pub(super) latest_ilk: Ilk,
    pub(super) establishment: EstablishmentState,
    pub(super) keys: Vec<Verfer>,
    pub(super) signing_threshold: Threshold,
    pub(super) next_digests: Vec<Diger>,
    pub(super) next_threshold: Threshold,
    pub(super) backers: Vec<String>,
    pub(super) backer_threshold: u64,
    pub(super) traits: Vec<String>,
    pub(super) delegator: Option<String>,
}

impl KeyState {
    /// The state an inception starts, once `sigs` by its own keys meet its threshold `kt`.
    /// A `dip`'s approval by its delegator is checked by whoever holds the delegator's log.
    pub fn incept(event: &Event, sigs: &[Siger]) -> Result<Self, KelError> {
        let state = Self::from_inception(event)?;
        check_signatures(event.raw(), &state.keys, &state.signing_threshold, sigs)?;
        Ok(state)
    }

    /// The state after `event`, the next `ixn`, `rot` or `drt`, signed by `sigs`.
    ///
    /// An interaction must be signed by the current keys to their threshold. A rotation must be
    /// signed by its new keys to its new threshold, and the new keys that signed must reveal
    /// the prior commitment: the Blake3 digest of the key at index `i` must be the prior
    /// `n[i]`, and those indices must meet the prior next threshold.
    pub fn apply(&self, event: &Event, sigs: &[Siger]) -> Result<Self, KelError> {
        self.check_follows(event)?;
        if event.ilk().is_establishment() {
            let (keys, threshold) = establishment_keys(event)?;
            let verified = check_signatures(event.raw(), &keys, threshold, sigs)?;
            self.check_commitment(&keys, sigs, &verified)?;
        } else {
            check_signatures(event.raw(), &self.keys, &self.signing_threshold, sigs)?;
        }
        self.advanced(event)
    }

    /// The state of a stored log, re-checking its structure and chaining but not signatures
    /// (they were checked when each event was accepted).
    pub(super) fn replay(events: &[Event]) -> Result<Self, KelError> {
        let Some((inception, rest)) = events.split_first() else {
            return Err(KelError::Event(EventError::Kel(
                "key event log is empty".into(),
            )));
        };
        let mut state = Self::from_inception(inception)?;
        for event in rest {
            state.check_follows(event)?;
            state = state.advanced(event)?;
        }
        Ok(state)
    }

    fn from_inception(event: &Event) -> Result<Self, KelError> {
        if !event.ilk().is_inception() {
            return Err(KelError::NotInception(event.ilk()));
        }
        let (keys, threshold) = establishment_keys(event)?;
        Ok(Self {
            prefix: event.prefix().to_owned(),
            sn: 0,
            said: event.said().to_owned(),
            prior: String::new(),
            latest_ilk: event.ilk(),
            establishment: EstablishmentState {
                sn: 0,
                said: event.said().to_owned(),
                removed_backers: Vec::new(),
                added_backers: Vec::new(),
            },
            keys,
            signing_threshold: threshold.clone(),
            next_digests: event.next_digests(),
            next_threshold: event.nt().cloned().unwrap_or_else(|| Threshold::count(0)),
            backers: event.backers(),
            backer_threshold: event.backer_threshold().unwrap_or_default(),
            traits: event.traits(),
            delegator: event.delegator().map(str::to_owned),
        })
    }

    /// Checks that `event` may come next: same identifier, still transferable, next sequence
    /// number, chained to the latest event, of a kind this identifier may use.
    fn check_follows(&self, event: &Event) -> Result<(), KelError> {
        if event.ilk().is_inception() {
            return Err(KelError::LateInception);
        }
        if event.prefix() != self.prefix {
            return Err(KelError::Prefix {
                expected: self.prefix.clone(),
                got: event.prefix().to_owned(),
            });
        }
        if self.next_digests.is_empty() {
            return Err(KelError::NonTransferable(self.prefix.clone()));
        }
        if event.sn() != self.sn + 1 {
            return Err(KelError::Sequence {
                expected: self.sn + 1,
                got: event.sn(),
            });
        }
        let prior = event.prior().unwrap_or_default();
        if prior != self.said {
            return Err(KelError::Prior {
                expected: self.said.clone(),
                got: prior.to_owned(),
            });
        }
        let rotation = if self.delegator.is_some() {
            Ilk::Drt
        } else {
            Ilk::Rot
        };
        match event.ilk() {
            Ilk::Ixn if self.traits.iter().any(|c| c == ESTABLISHMENT_ONLY) => {
                Err(KelError::EstablishmentOnly)
            }
            ilk @ (Ilk::Rot | Ilk::Drt) if ilk != rotation => Err(KelError::RotationKind {
                expected: rotation,
                got: ilk,
            }),
            _ => Ok(()),
        }
    }

    /// Checks that the new `keys` whose signatures verified (at `verified` indices) reveal the
    /// prior next keys: each signature's `ondex` names the prior next-key digest its key must
    /// hash to (the same index for code `A`; none for a current-only signature), and the
    /// exposed digests must meet the prior next threshold.
    fn check_commitment(
        &self,
        keys: &[Verfer],
        sigs: &[Siger],
        verified: &[usize],
    ) -> Result<(), KelError> {
        let mut exposed = Vec::with_capacity(verified.len());
        let mut mismatches = Vec::new();
        for siger in sigs {
            let (index, ondex) = (siger.index() as usize, siger.ondex().map(|at| at as usize));
            let Some(ondex) = ondex.filter(|_| verified.contains(&index)) else {
                continue;
            };
            let digest = keys
                .get(index)
                .map(|key| Diger::blake3(key.qb64().as_bytes()));
            match (digest, self.next_digests.get(ondex)) {
                (Some(digest), Some(committed)) if digest == *committed => exposed.push(ondex),
                _ => mismatches.push(format!("k[{index}] against n[{ondex}]")),
            }
        }
        if self.next_threshold.is_satisfied_by(&exposed) {
            return Ok(());
        }
        let detail = if mismatches.is_empty() {
            String::new()
        } else {
            format!(
                "; the digest of {} is not the prior next key digest",
                mismatches.join(", ")
            )
        };
        Err(KelError::NextKeys(format!(
            "rotation keys do not satisfy the prior next threshold {}: {} of the signing keys \
             match the prior next key digests{detail}",
            self.next_threshold,
            exposed.len()
        )))
    }

    /// The state once `event` (already checked to follow) is accepted.
    fn advanced(&self, event: &Event) -> Result<Self, KelError> {
        let mut next = self.clone();
        next.sn = event.sn();
        event.said().clone_into(&mut next.said);
        self.said.clone_into(&mut next.prior);
        next.latest_ilk = event.ilk();
        if !event.ilk().is_establishment() {
            return Ok(next);
        }
        let (keys, threshold) = establishment_keys(event)?;
        next.backers = self.rotated_backers(event)?;
        event.check_backer_threshold(next.backers.len())?;
        next.keys = keys;
        next.signing_threshold = threshold.clone();
        next.next_digests = event.next_digests();
        next.next_threshold = event.nt().cloned().unwrap_or_else(|| Threshold::count(0));
        next.backer_threshold = event.backer_threshold().unwrap_or_default();
        next.establishment = EstablishmentState {
            sn: event.sn(),
            said: event.said().to_owned(),
            removed_backers: event.removed_backers().to_vec(),
            added_backers: event.added_backers().to_vec(),
        };
        Ok(next)
    }

    /// The state as it was after the last of `kept`, the events before a recovery rotation;
    /// only interaction events follow them, so the keys and commitments are the current ones.
    fn rewound(&self, kept: &[KelEntry]) -> Self {
        let mut state = self.clone();
        if let Some(last) = kept.last() {
            state.sn = last.signed.event.sn();
            last.signed.event.said().clone_into(&mut state.said);
            state.latest_ilk = last.signed.event.ilk();
        }
        state.prior = kept
            .len()
            .checked_sub(2)
            .map(|at| kept[at].signed.event.said().to_owned())
            .unwrap_or_default();
        state
    }

    /// The backers after a rotation removes `br` and then adds `ba`.
    fn rotated_backers(&self, event: &Event) -> Result<Vec<String>, KelError> {
        let mut backers = self.backers.clone();
        for removed in event.removed_backers() {
            let Some(position) = backers.iter().position(|backer| backer == removed) else {
                return Err(KelError::Backers(format!(
                    "br removes {removed}, which is not a current backer"
                )));
            };
            backers.remove(position);
        }
        for added in event.added_backers() {
            if backers.contains(added) {
                return Err(KelError::Backers(format!(
                    "ba adds {added}, which is already a backer"
                )));
            }
            backers.push(added.clone());
        }
        Ok(backers)
    }

    /// The identifier prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The latest sequence number.
    pub fn sn(&self) -> u64 {
        self.sn
    }

    /// The latest event's SAID.
    pub fn said(&self) -> &str {
        &self.said
    }

    /// The current signing keys.
    pub fn keys(&self) -> &[Verfer] {
        &self.keys
    }

    /// The current signing threshold.
    pub fn signing_threshold(&self) -> &Threshold {
        &self.signing_threshold
    }

    /// The latest establishment event's sequence number and SAID.
    pub fn establishment(&self) -> (u64, &str) {
        (self.establishment.sn, &self.establishment.said)
    }

    /// The current backers (witnesses), in order.
    pub fn backers(&self) -> &[String] {
        &self.backers
    }

    /// How many backers' receipts make an event valid (`bt`).
    pub fn backer_threshold(&self) -> u64 {
        self.backer_threshold
    }

    /// The delegator, for a delegated identifier.
    pub fn delegator(&self) -> Option<&str> {
        self.delegator.as_deref()
    }
}

/// An establishment event's keys and signing threshold.
fn establishment_keys(event: &Event) -> Result<(Vec<Verfer>, &Threshold), KelError> {
    let threshold = event.kt().ok_or_else(|| {
        KelError::Event(EventError::Invalid(format!(
            "{} {} has no signing threshold",
            event.ilk(),
            event.said()
        )))
    })?;
    Ok((event.keys(), threshold))
}

/// Where a delegated event's approval is: the delegator's event at `sn` with SAID `said`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealSource {
    /// Sequence number of the delegator's approving event.
    pub sn: u64,
    /// SAID of the delegator's approving event.
    pub said: String,
}

/// An event with what was received along with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEvent {
    /// The verified event.
    pub event: Event,
    /// The controller's indexed signatures.
    pub sigs: Vec<Siger>,
    /// For a delegated event, where its delegator approved it.
    pub delegation: Option<SealSource>,
}

/// When an event was first seen: its ordinal among the log's accepted events, and the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstSeen {
    /// First-seen ordinal `f`.
    pub ordinal: u64,
    /// ISO-8601 time with microseconds and `+00:00`.
    pub datetime: String,
}

/// One accepted event of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KelEntry {
    /// The event and its signatures.
    pub signed: SignedEvent,
    /// When it was accepted.
    pub first_seen: FirstSeen,
    /// Its witnesses' receipts (receipt couples), as far as they are known.
    pub receipts: Vec<(Verfer, Cigar)>,
}

/// What `Kel::append` did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The event is now the latest.
    Accepted,
    /// A recovery rotation: the event replaced the interaction events from its sequence number
    /// on (`superseded` of them), which are no longer part of the log.
    Recovered {
        /// How many events it superseded.
        superseded: u64,
    },
    /// The same event was already accepted at its sequence number; nothing changed.
    Duplicate,
}

impl Appended {
    /// Whether the event is new to the log (accepted, or a recovery rotation).
    pub fn is_new(self) -> bool {
        !matches!(self, Appended::Duplicate)
    }
}

/// A validated key event log and the state it leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kel {
    entries: Vec<KelEntry>,
    state: KeyState,
}

impl Kel {
    /// Starts a log with a signed inception first seen at `datetime`.
    pub fn incept(signed: SignedEvent, datetime: &str) -> Result<Self, KelError> {
        let state = KeyState::incept(&signed.event, &signed.sigs)?;
        Ok(Self {
            entries: vec![KelEntry {
                receipts: Vec::new(),
                signed,
                first_seen: FirstSeen {
                    ordinal: 0,
                    datetime: datetime.to_owned(),
                },
            }],
            state,
        })
    }

    /// A log accepted earlier, from its entries in order: structure and chaining are checked
    /// again, signatures are not (they were checked when each event was accepted).
    pub fn restore(entries: Vec<KelEntry>) -> Result<Self, KelError> {
        let events: Vec<Event> = entries
            .iter()
            .map(|entry| entry.signed.event.clone())
            .collect();
        let state = KeyState::replay(&events)?;
        Ok(Self { entries, state })
    }

    /// Accepts the next signed event, first seen at `datetime`. The event already accepted at
    /// its sequence number is a `Duplicate`. A different one there is refused as duplicitous,
    /// unless it is a recovery rotation: a rotation after the latest establishment event that
    /// chains to the event before its sequence number supersedes the interaction events from
    /// there on (KERI's superseding recovery), checked against the same key state.
    pub fn append(&mut self, signed: SignedEvent, datetime: &str) -> Result<Appended, KelError> {
        let position = usize::try_from(signed.event.sn())
            .ok()
            .filter(|_| signed.event.prefix() == self.state.prefix);
        let accepted = position.and_then(|sn| self.entries.get(sn).map(|entry| (sn, entry)));
        if let Some((sn, accepted)) = accepted {
            if accepted.signed.event.said() == signed.event.said() {
                return Ok(Appended::Duplicate);
            }
            let recovery = matches!(signed.event.ilk(), Ilk::Rot | Ilk::Drt)
                && signed.event.sn() > self.state.establishment.sn;
            if !recovery {
                return Err(KelError::Duplicitous {
                    sn: signed.event.sn(),
                    accepted: accepted.signed.event.said().to_owned(),
                    got: signed.event.said().to_owned(),
                });
            }
            let before = self.state.rewound(&self.entries[..sn]);
            let state = before.apply(&signed.event, &signed.sigs)?;
            let superseded = (self.entries.len() - sn) as u64;
            self.entries.truncate(sn);
            self.state = state;
            self.push(signed, datetime);
            return Ok(Appended::Recovered { superseded });
        }
        self.state = self.state.apply(&signed.event, &signed.sigs)?;
        self.push(signed, datetime);
        Ok(Appended::Accepted)
    }

    fn push(&mut self, signed: SignedEvent, datetime: &str) {
        self.entries.push(KelEntry {
            receipts: Vec::new(),
            signed,
            first_seen: FirstSeen {
                ordinal: self.entries.len() as u64,
                datetime: datetime.to_owned(),
            },
        });
    }

    /// The accepted events, from the inception.
    /// Records the witnesses' receipts of event `sn` (kept apart from the event).
    pub fn set_receipts(&mut self, sn: u64, receipts: Vec<(Verfer, Cigar)>) {
        if let Some(entry) = usize::try_from(sn)
            .ok()
            .and_then(|sn| self.entries.get_mut(sn))
        {
            entry.receipts = receipts;
        }
    }

    /// Records where the delegator approved event `sn` (its seal source, `-G`).
    pub fn set_delegation(&mut self, sn: u64, source: SealSource) {
        if let Some(entry) = usize::try_from(sn)
            .ok()
            .and_then(|sn| self.entries.get_mut(sn))
        {
            entry.signed.delegation = Some(source);
        }
    }

    pub fn entries(&self) -> &[KelEntry] {
        &self.entries
    }

    /// The current key state.
    pub fn state(&self) -> &KeyState {
        &self.state
    }

    /// The establishment event at `sn` whose SAID is `said`, if this log accepted one.
    pub fn establishment_event(&self, sn: u64, said: &str) -> Option<&Event> {
        let entry = self.entries.get(usize::try_from(sn).ok()?)?;
        let event = &entry.signed.event;
        (event.said() == said && event.ilk().is_establishment()).then_some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keri::build::{incept, interact};
    use crate::keri::primitives::Signer;
    use crate::keri::serder::saidify;
    use crate::keri::state::KeyStateRecord;
    use crate::keri::vectors::{
        AID1_ICP, AID1_ICP_SIG, AID1_IXN, AID1_IXN_SIG, AID1_ROT, AID1_ROT_SIG,
        AID1_STATE_AFTER_ICP, AID1_STATE_AFTER_ROT,
    };
    use serde_json::{json, Value};

    const ICP_SEEN: &str = "2026-11-24T21:59:10.739045+00:00";
    const IXN_SEEN: &str = "2026-11-24T21:59:11.239146+00:00";
    const ROT_SEEN: &str = "2026-11-24T21:59:12.020623+00:00";

    fn event(text: &str) -> Event {
        Event::parse(text.as_bytes()).unwrap()
    }

    fn sig(text: &str) -> Siger {
        Siger::parse(text).unwrap()
    }

    fn signed(event: Event, sigs: Vec<Siger>) -> SignedEvent {
        SignedEvent {
            event,
            sigs,
            delegation: None,
        }
    }

    fn aid1_kel() -> Kel {
        let mut kel =
            Kel::incept(signed(event(AID1_ICP), vec![sig(AID1_ICP_SIG)]), ICP_SEEN).unwrap();
        let ixn = signed(event(AID1_IXN), vec![sig(AID1_IXN_SIG)]);
        assert_eq!(kel.append(ixn, IXN_SEEN), Ok(Appended::Accepted));
        let rot = signed(event(AID1_ROT), vec![sig(AID1_ROT_SIG)]);
        assert_eq!(kel.append(rot, ROT_SEEN), Ok(Appended::Accepted));
        kel
    }

    /// An event with the fields of `value`, its SAID (and self-addressing prefix) computed.
    fn build(value: &Value, prefix_too: bool) -> Event {
        let (value, _, _) = saidify(value.as_object().unwrap().clone(), prefix_too);
        Event::verify(&value).unwrap()
    }

    fn digest(signer: &Signer) -> String {
        Diger::blake3(signer.verfer().qb64().as_bytes()).qb64()
    }

    fn signers(count: u8) -> Vec<Signer> {
        (1..=count)
            .map(|byte| Signer::from_seed(&[byte; 32]))
            .collect()
    }

    fn rotation(
        state: &KeyState,
        keys: &[&Signer],
        kt: &Value,
        next: &[&Signer],
        nt: &Value,
    ) -> Event {
        build(
            &json!({
                "v": "", "t": "rot", "d": "", "i": state.prefix(), "s": format!("{:x}", state.sn() + 1),
                "p": state.said(), "kt": kt, "k": keys.iter().map(|key| key.verfer().qb64()).collect::<Vec<_>>(),
                "nt": nt, "n": next.iter().map(|key| digest(key)).collect::<Vec<_>>(),
                "bt": "0", "br": [], "ba": [], "a": []
            }),
            false,
        )
    }

    fn sign_all(event: &Event, keys: &[(&Signer, u32)]) -> Vec<Siger> {
        keys.iter()
            .map(|(signer, index)| signer.sign_indexed(event.raw(), *index))
            .collect()
    }

    #[test]
    fn the_captured_kel_of_aid1_is_accepted_step_by_step() {
        let kel = aid1_kel();
        assert_eq!(kel.state().sn(), 2);
        assert_eq!(kel.state().said(), event(AID1_ROT).said());
        assert_eq!(kel.state().keys(), event(AID1_ROT).keys());
        assert_eq!(kel.state().establishment(), (2, event(AID1_ROT).said()));
        assert_eq!(kel.record().to_value().to_string(), AID1_STATE_AFTER_ROT);
        let first =
            Kel::incept(signed(event(AID1_ICP), vec![sig(AID1_ICP_SIG)]), ICP_SEEN).unwrap();
        assert_eq!(first.record().to_value().to_string(), AID1_STATE_AFTER_ICP);
        assert_eq!(kel.entries()[1].first_seen.ordinal, 1);
        assert_eq!(kel.entries()[2].first_seen.datetime, ROT_SEEN);
        assert!(kel.establishment_event(2, event(AID1_ROT).said()).is_some());
        assert!(kel.establishment_event(1, event(AID1_IXN).said()).is_none());
        assert!(kel.establishment_event(0, event(AID1_ROT).said()).is_none());
    }

    #[test]
    fn replays_are_duplicates_and_conflicts_are_refused() {
        let mut kel = aid1_kel();
        let before = kel.clone();
        let ixn = signed(event(AID1_IXN), vec![sig(AID1_IXN_SIG)]);
        assert_eq!(kel.append(ixn.clone(), IXN_SEEN), Ok(Appended::Duplicate));
        let icp = signed(event(AID1_ICP), vec![sig(AID1_ICP_SIG)]);
        assert_eq!(kel.append(icp, ICP_SEEN), Ok(Appended::Duplicate));
        assert_eq!(kel, before);
        let other = interact(kel.state().prefix(), 1, event(AID1_ICP).said(), Vec::new());
        let error = kel
            .append(signed(other.clone(), Vec::new()), IXN_SEEN)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "event {} at sequence number 1 conflicts with the accepted event {}",
                other.said(),
                event(AID1_IXN).said()
            )
        );
        let replayed = kel.state().apply(&ixn.event, &ixn.sigs).unwrap_err();
        assert_eq!(replayed.to_string(), "sequence number s must be 3, not 1");
    }

    #[test]
    fn forged_steps_of_the_captured_kel_are_refused() {
        let icp = KeyState::incept(&event(AID1_ICP), &[sig(AID1_ICP_SIG)]).unwrap();
        let ixn = event(AID1_IXN);
        let mut flipped = *sig(AID1_IXN_SIG).raw();
        flipped[5] ^= 1;
        let error = icp
            .apply(&ixn, &[Siger::new(flipped, 0).unwrap()])
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "0 of 1 signatures verify against the current keys, the signing threshold 1 is not met"
        );
        let tampered = AID1_IXN.replacen(r#""a":["E"#, r#""a":["F"#, 1);
        assert!(Event::parse(tampered.as_bytes())
            .unwrap_err()
            .to_string()
            .starts_with("SAID mismatch: d is ECtqs5"));
        let after_ixn = icp.apply(&ixn, &[sig(AID1_IXN_SIG)]).unwrap();
        let rot = event(AID1_ROT);
        let by_old_key = sig(AID1_IXN_SIG);
        assert!(after_ixn
            .apply(&rot, &[by_old_key])
            .unwrap_err()
            .to_string()
            .starts_with("0 of 1 signatures verify"));
        assert_eq!(
            icp.apply(&rot, &[sig(AID1_ROT_SIG)])
                .unwrap_err()
                .to_string(),
            "sequence number s must be 1, not 2"
        );
        let skipped = interact(icp.prefix(), 2, icp.said(), Vec::new());
        assert_eq!(
            after_ixn.apply(&skipped, &[]).unwrap_err(),
            KelError::Prior {
                expected: ixn.said().to_owned(),
                got: icp.said().to_owned()
            }
        );
        let wrong_sn = interact(icp.prefix(), 3, ixn.said(), Vec::new());
        assert_eq!(
            after_ixn.apply(&wrong_sn, &[]).unwrap_err().to_string(),
            "sequence number s must be 2, not 3"
        );
        assert_eq!(
            after_ixn
                .apply(&event(AID1_ICP), &[sig(AID1_ICP_SIG)])
                .unwrap_err()
                .to_string(),
            "an inception can only start a key event log"
        );
        assert_eq!(
            KeyState::incept(&ixn, &[]).unwrap_err().to_string(),
            "a key event log must start with an inception (icp or dip), not ixn"
        );
        let stranger = incept(&[signers(1)[0].verfer()], &[]);
        let foreign = interact(stranger.prefix(), 1, icp.said(), Vec::new());
        assert!(icp
            .apply(&foreign, &[])
            .unwrap_err()
            .to_string()
            .ends_with(&format!(
                "does not belong to the key event log of {}",
                icp.prefix()
            )));
    }

    #[test]
    fn rotations_must_reveal_the_committed_next_keys() {
        let keys = signers(4);
        let icp = incept(
            &[keys[0].verfer()],
            &[Diger::parse(&digest(&keys[1])).unwrap()],
        );
        let state = KeyState::incept(&icp, &sign_all(&icp, &[(&keys[0], 0)])).unwrap();
        let wrong = rotation(&state, &[&keys[2]], &json!("1"), &[&keys[3]], &json!("1"));
        let error = state
            .apply(&wrong, &sign_all(&wrong, &[(&keys[2], 0)]))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "rotation keys do not satisfy the prior next threshold 1: 0 of the signing keys match \
             the prior next key digests; the digest of k[0] against n[0] is not the prior next key digest"
        );
        let right = rotation(&state, &[&keys[1]], &json!("1"), &[&keys[3]], &json!("1"));
        assert!(state
            .apply(&right, &sign_all(&right, &[(&keys[0], 0)]))
            .is_err());
        let rotated = state
            .apply(&right, &sign_all(&right, &[(&keys[1], 0)]))
            .unwrap();
        assert_eq!(rotated.keys(), &[keys[1].verfer()]);
        let ixn = interact(rotated.prefix(), 2, rotated.said(), Vec::new());
        assert!(rotated
            .apply(&ixn, &sign_all(&ixn, &[(&keys[0], 0)]))
            .is_err());
        assert!(rotated
            .apply(&ixn, &sign_all(&ixn, &[(&keys[1], 0)]))
            .is_ok());
        let abandon = rotation(&rotated, &[&keys[3]], &json!("1"), &[], &json!("0"));
        let abandoned = rotated
            .apply(&abandon, &sign_all(&abandon, &[(&keys[3], 0)]))
            .unwrap();
        let after = interact(abandoned.prefix(), 3, abandoned.said(), Vec::new());
        assert_eq!(
            abandoned
                .apply(&after, &sign_all(&after, &[(&keys[3], 0)]))
                .unwrap_err(),
            KelError::NonTransferable(abandoned.prefix().to_owned())
        );
    }

    #[test]
    fn weighted_thresholds_govern_signing_and_rotation() {
        let keys = signers(6);
        let halves = json!(["1/2", "1/2"]);
        let icp = build(
            &json!({
                "v": "", "t": "icp", "d": "", "i": "", "s": "0", "kt": halves,
                "k": [keys[0].verfer().qb64(), keys[1].verfer().qb64()], "nt": halves,
                "n": [digest(&keys[2]), digest(&keys[3])], "bt": "0", "b": [], "c": [], "a": []
            }),
            true,
        );
        assert!(KeyState::incept(&icp, &sign_all(&icp, &[(&keys[0], 0)])).is_err());
        let state =
            KeyState::incept(&icp, &sign_all(&icp, &[(&keys[0], 0), (&keys[1], 1)])).unwrap();
        let record = KeyStateRecord::new(
            &state,
            &FirstSeen {
                ordinal: 0,
                datetime: ICP_SEEN.into(),
            },
        );
        assert_eq!(record.to_value()["kt"], halves);
        let partial = rotation(
            &state,
            &[&keys[2], &keys[4]],
            &json!("1"),
            &[&keys[5]],
            &json!("1"),
        );
        let error = state
            .apply(
                &partial,
                &sign_all(&partial, &[(&keys[2], 0), (&keys[4], 1)]),
            )
            .unwrap_err();
        assert!(
            error.to_string().contains("1 of the signing keys match"),
            "{error}"
        );
        let full = rotation(
            &state,
            &[&keys[2], &keys[3]],
            &json!("2"),
            &[&keys[5]],
            &json!("1"),
        );
        let rotated = state
            .apply(&full, &sign_all(&full, &[(&keys[2], 0), (&keys[3], 1)]))
            .unwrap();
        assert_eq!(rotated.signing_threshold().as_count(), Some(2));
        let twice = sign_all(&full, &[(&keys[2], 0), (&keys[2], 0)]);
        assert_eq!(
            state.apply(&full, &twice).unwrap_err().to_string(),
            "two signatures carry the same index 0"
        );
        let beyond = sign_all(&full, &[(&keys[2], 0), (&keys[3], 2)]);
        assert_eq!(
            state.apply(&full, &beyond).unwrap_err().to_string(),
            "signature index 2 has no key among the 2 current keys"
        );
    }

    #[test]
    fn identifier_rules_are_enforced() {
        let keys = signers(3);
        let basic = build(
            &json!({
                "v": "", "t": "icp", "d": "", "i": Verfer::new(*keys[0].verfer().raw(), false).qb64(),
                "s": "0", "kt": "1", "k": [Verfer::new(*keys[0].verfer().raw(), false).qb64()],
                "nt": "0", "n": [], "bt": "0", "b": [], "c": [], "a": []
            }),
            false,
        );
        let state = KeyState::incept(&basic, &sign_all(&basic, &[(&keys[0], 0)])).unwrap();
        let ixn = interact(state.prefix(), 1, state.said(), Vec::new());
        assert!(state
            .apply(&ixn, &sign_all(&ixn, &[(&keys[0], 0)]))
            .unwrap_err()
            .to_string()
            .contains("is non-transferable"));
        let establishment_only = build(
            &json!({
                "v": "", "t": "icp", "d": "", "i": "", "s": "0", "kt": "1", "k": [keys[0].verfer().qb64()],
                "nt": "1", "n": [digest(&keys[1])], "bt": "0", "b": [], "c": ["EO"], "a": []
            }),
            true,
        );
        let state = KeyState::incept(
            &establishment_only,
            &sign_all(&establishment_only, &[(&keys[0], 0)]),
        )
        .unwrap();
        let ixn = interact(state.prefix(), 1, state.said(), Vec::new());
        assert_eq!(
            state.apply(&ixn, &sign_all(&ixn, &[(&keys[0], 0)])),
            Err(KelError::EstablishmentOnly)
        );
        let mut drt = rotation(&state, &[&keys[1]], &json!("1"), &[&keys[2]], &json!("1"))
            .value()
            .clone();
        drt["t"] = json!("drt");
        let drt = build(&drt, false);
        assert_eq!(
            state
                .apply(&drt, &sign_all(&drt, &[(&keys[1], 0)]))
                .unwrap_err()
                .to_string(),
            "this identifier rotates with rot, not drt"
        );
        let mut removal = rotation(&state, &[&keys[1]], &json!("1"), &[&keys[2]], &json!("1"))
            .value()
            .clone();
        removal["br"] = json!([keys[2].verfer().qb64()]);
        let removal = build(&removal, false);
        assert_eq!(
            state
                .apply(&removal, &sign_all(&removal, &[(&keys[1], 0)]))
                .unwrap_err()
                .to_string(),
            format!(
                "br removes {}, which is not a current backer",
                keys[2].verfer().qb64()
            )
        );
    }
}
