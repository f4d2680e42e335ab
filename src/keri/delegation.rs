//! Delegation: where a delegator's log approves a delegated event, and the `/delegate/request`
//! exchange message a delegate's agent sends the delegator's.
//!
//! A delegated establishment event (`dip`, or a `drt` of a delegated identifier) is approved
//! by an event of its delegator that anchors the seal `{i, s, d}` of exactly that event;
//! `anchoring` finds it in the delegator's log, as the seal source (`-G`) the delegated event
//! is then attached with. `request` builds the message that carries the delegated event to its
//! delegator, as keripy's `delegateRequestExn` does; `requested` reads one back. Nothing here
//! does I/O.

use serde_json::{Map, Value};

use super::event::Event;
use super::exchange::Exchange;
use super::kel::{Kel, SealSource};
use super::primitives::Diger;
use super::serder::{compact, saidify, DUMMY};

/// The route of the message that asks a delegator for its approval.
pub const REQUEST_ROUTE: &str = "/delegate/request";

/// Where `kel` (the delegator's log) anchors the seal of `event`: its first event whose seals
/// hold `{i, s, d}` of exactly `event`. None while no event does.
pub fn anchoring(kel: &Kel, event: &Event) -> Option<SealSource> {
    kel.entries().iter().find_map(|entry| {
        let anchors = entry.signed.event.seals().iter().any(|seal| {
            seal.prefix() == Some(event.prefix())
                && seal.sn() == Some(event.sn())
                && seal.said() == Some(event.said())
        });
        anchors.then(|| SealSource {
            sn: entry.signed.event.sn(),
            said: entry.signed.event.said().to_owned(),
        })
    })
}

/// The delegator of `event` of a log whose key state is delegated by `delegator` (None for a
/// log that is not, or before its inception): `di` of a `dip`, else the log's delegator for a
/// `drt`; None for any other event.
pub fn delegator_of<'e>(event: &'e Event, delegator: Option<&'e str>) -> Option<&'e str> {
    match event.ilk() {
        super::ilk::Ilk::Dip => event.delegator(),
        super::ilk::Ilk::Drt => delegator,
        _ => None,
    }
}

/// The `/delegate/request` message from `sender` (an agent, speaking for the delegate) to
/// `delegator`, dated `datetime`, embedding `event`: `a` is `{i, delpre}`, `e` is `{evt, d}`.
pub fn request(sender: &str, delegator: &str, event: &Event, datetime: &str) -> Exchange {
    let mut data = Map::new();
    data.insert("i".into(), delegator.into());
    data.insert("delpre".into(), delegator.into());
    let mut embeds = Map::new();
    embeds.insert("evt".into(), event.value().clone());
    embeds.insert("d".into(), DUMMY.into());
    let said = Diger::blake3(&compact(&Value::Object(embeds.clone()))).qb64();
    embeds.insert("d".into(), said.into());
    let mut map = Map::new();
    map.insert("v".into(), String::new().into());
    map.insert("t".into(), "exn".into());
    map.insert("d".into(), DUMMY.into());
    map.insert("i".into(), sender.into());
    map.insert("rp".into(), delegator.into());
    map.insert("p".into(), String::new().into());
    map.insert("dt".into(), datetime.into());
    map.insert("r".into(), REQUEST_ROUTE.into());
    map.insert("q".into(), Value::Object(Map::new()));
    map.insert("a".into(), Value::Object(data));
    map.insert("e".into(), Value::Object(embeds));
    let (value, _, _) = saidify(map, false);
    Exchange::verify(&value).expect("a delegation request built here is well formed")
}

/// The delegator a `/delegate/request` names and the event it embeds, verified as an event
/// (its signatures travel beside it); an error for another route or a malformed one.
pub fn requested(exn: &Exchange) -> Result<(String, Event), String> {
    if exn.route() != REQUEST_ROUTE {
        return Err(format!("exn {} is not a {REQUEST_ROUTE}", exn.said()));
    }
    let delegator = exn.attributes()["delpre"]
        .as_str()
        .filter(|delegator| !delegator.is_empty())
        .ok_or_else(|| format!("{REQUEST_ROUTE} {} names no delpre", exn.said()))?;
    let event = Event::verify(&exn.value()["e"]["evt"])
        .map_err(|err| format!("{REQUEST_ROUTE} {}: e.evt: {err}", exn.said()))?;
    let named = delegator_of(&event, Some(delegator));
    if named != Some(delegator) {
        return Err(format!(
            "{REQUEST_ROUTE} {}: the embedded {} {} is not delegated by {delegator}",
            exn.said(),
            event.ilk(),
            event.said()
        ));
    }
    Ok((delegator.to_owned(), event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keri::build::{delegated_incept, incept, interact};
    use crate::keri::kel::SignedEvent;
    use crate::keri::primitives::Signer;
    use crate::keri::seal::Seal;
    use crate::keri::serder::saidify;

    const SEEN: &str = "2026-12-04T18:00:00.000000+00:00";

    fn signed(event: Event, signer: &Signer) -> SignedEvent {
        let sigs = vec![signer.sign_indexed(event.raw(), 0)];
        SignedEvent {
            event,
            sigs,
            delegation: None,
        }
    }

    #[test]
    fn only_the_exact_seal_anchors_and_the_request_carries_the_event() {
        let delegator_key = Signer::from_seed(&[1; 32]);
        let next = Diger::blake3(Signer::from_seed(&[2; 32]).verfer().qb64().as_bytes());
        let icp = incept(&[delegator_key.verfer()], std::slice::from_ref(&next));
        let delegate_key = Signer::from_seed(&[3; 32]);
        let dip = delegated_incept(&[delegate_key.verfer()], &[next], icp.prefix());
        let mut kel = Kel::incept(signed(icp.clone(), &delegator_key), SEEN).unwrap();
        assert_eq!(anchoring(&kel, &dip), None);
        let wrong = Seal::event(dip.prefix(), 0, icp.said());
        let ixn = interact(icp.prefix(), 1, icp.said(), vec![wrong]);
        kel.append(signed(ixn.clone(), &delegator_key), SEEN)
            .unwrap();
        assert_eq!(anchoring(&kel, &dip), None, "a seal of another SAID");
        let right = Seal::event(dip.prefix(), 0, dip.said());
        let approval = interact(icp.prefix(), 2, ixn.said(), vec![right]);
        kel.append(signed(approval.clone(), &delegator_key), SEEN)
            .unwrap();
        assert_eq!(
            anchoring(&kel, &dip),
            Some(SealSource {
                sn: 2,
                said: approval.said().to_owned()
            })
        );
        let exn = request("Eagent", icp.prefix(), &dip, SEEN);
        assert_eq!(exn.route(), REQUEST_ROUTE);
        assert_eq!(exn.recipient(), Some(icp.prefix()));
        let (delegator, event) = requested(&exn).unwrap();
        assert_eq!((delegator.as_str(), event), (icp.prefix(), dip.clone()));
        let other = request("Eagent", dip.prefix(), &dip, SEEN);
        assert!(requested(&other)
            .unwrap_err()
            .contains("is not delegated by"));
    }

    /// A delegated rotation of `prefix` after `prior`, to `key` committing to `next`.
    fn delegated_rotation(prefix: &str, prior: &str, key: &Signer, next: &Diger) -> Event {
        let rot = crate::keri::build::rotate(
            prefix,
            1,
            prior,
            &[key.verfer()],
            std::slice::from_ref(next),
        );
        let mut map = rot.value().as_object().unwrap().clone();
        map.insert("t".into(), "drt".into());
        let (value, _, _) = saidify(map, false);
        Event::verify(&value).unwrap()
    }

    #[test]
    fn a_resolved_dip_and_drt_are_accepted_only_with_their_delegators_anchors() {
        use crate::keri::oobi;
        let gator_key = Signer::from_seed(&[11; 32]);
        let digest = |signer: &Signer| Diger::blake3(signer.verfer().qb64().as_bytes());
        let icp = incept(
            &[gator_key.verfer()],
            &[digest(&Signer::from_seed(&[12; 32]))],
        );
        let (first, second, third) = (
            Signer::from_seed(&[13; 32]),
            Signer::from_seed(&[14; 32]),
            Signer::from_seed(&[15; 32]),
        );
        let dip = delegated_incept(&[first.verfer()], &[digest(&second)], icp.prefix());
        let drt = delegated_rotation(dip.prefix(), dip.said(), &second, &digest(&third));
        let anchor_dip = interact(
            icp.prefix(),
            1,
            icp.said(),
            vec![Seal::event(dip.prefix(), 0, dip.said())],
        );
        let anchor_drt = interact(
            icp.prefix(),
            2,
            anchor_dip.said(),
            vec![Seal::event(drt.prefix(), 1, drt.said())],
        );
        let mut gator = Kel::incept(signed(icp.clone(), &gator_key), SEEN).unwrap();
        for event in [&anchor_dip, &anchor_drt] {
            gator
                .append(signed(event.clone(), &gator_key), SEEN)
                .unwrap();
        }
        let delegate_kel = |drt_source: SealSource| {
            let mut delegate = Kel::incept(
                SignedEvent {
                    delegation: anchoring(&gator, &dip),
                    ..signed(dip.clone(), &first)
                },
                SEEN,
            )
            .unwrap();
            delegate
                .append(
                    SignedEvent {
                        delegation: Some(drt_source),
                        ..signed(drt.clone(), &second)
                    },
                    SEEN,
                )
                .unwrap();
            delegate
        };
        let approved = anchoring(&gator, &drt).unwrap();
        assert_eq!(approved.sn, 2);
        let stream = oobi::write(&[&gator, &delegate_kel(approved.clone())], &[]);
        let resolution = oobi::resolve(&stream, 1 << 20).unwrap();
        let delegate = &resolution.kels[1];
        assert_eq!(delegate.state().sn(), 1);
        assert_eq!(delegate.state().delegator(), Some(icp.prefix()));
        // A seal source naming the delegator's event that anchors another event is refused.
        let elsewhere = SealSource {
            sn: 1,
            said: anchor_dip.said().to_owned(),
        };
        let stream = oobi::write(&[&gator, &delegate_kel(elsewhere)], &[]);
        let refused = oobi::resolve(&stream, 1 << 20).unwrap_err();
        assert!(
            refused.to_string().contains("does not anchor it"),
            "{refused}"
        );
        // Without the delegator's log in the stream, nothing is accepted.
        let stream = oobi::write(&[&delegate_kel(approved)], &[]);
        let refused = oobi::resolve(&stream, 1 << 20).unwrap_err();
        assert!(
            refused.to_string().contains("is not in the stream"),
            "{refused}"
        );
    }
}
