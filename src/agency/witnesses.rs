//! Where witnesses are reached, and what a witness's receipt must be to count.
//!
//! A witness is known to a controller's agent when a verified location of it (its `/loc/scheme`
//! reply, signed with its receipt couple) was resolved: by the controller through `POST
//! /oobis`, or by the agency for everyone from the configuration's `iurls`, kept under the
//! reserved owner `INTRODUCED` (no AID is empty). Its http or https URL is where its receipts
//! are asked for.

use anyhow::Result;
use url::Url;

use super::roles;
use crate::keri::event::Event;
use crate::keri::primitives::{Cigar, Verfer};
use crate::keri::stream;
use crate::store::Reader;

/// The owner of what the agency resolved for every agent (the configuration's `iurls`).
pub const INTRODUCED: &str = "";

/// Largest receipt answer accepted from a witness, in bytes.
const MAX_RECEIPT: usize = 64 << 10;

/// The http (else https) URL of each of `wits` as `controller`'s agent knows it; `Err` names
/// the first witness it does not know.
pub fn urls(
    reader: &Reader,
    controller: &str,
    wits: &[String],
) -> Result<Result<Vec<(String, Url)>, String>> {
    let mut found = Vec::with_capacity(wits.len());
    for wit in wits {
        match url(reader, controller, wit)? {
            Some(url) => found.push((wit.clone(), url)),
            None => return Ok(Err(wit.clone())),
        }
    }
    Ok(Ok(found))
}

/// The http (else https) URL of `wit` as `controller`'s agent knows it, if it does.
pub fn url(reader: &Reader, controller: &str, wit: &str) -> Result<Option<Url>> {
    for owner in [controller, INTRODUCED] {
        let locations = roles::locations(&reader.owner(owner), wit)?;
        let url = ["http", "https"].into_iter().find_map(|scheme| {
            locations
                .iter()
                .find(|location| location.scheme == scheme)
                .and_then(|location| Url::parse(&location.url).ok())
        });
        if url.is_some() {
            return Ok(url);
        }
    }
    Ok(None)
}

/// Reads a witness's answer to a receipt request: an `rct` of exactly `event`, signed by
/// `wit` with its receipt couple over the event's bytes. The signature, or why not.
pub fn receipt(body: &[u8], event: &Event, wit: &str) -> Result<Cigar, String> {
    let messages = stream::parse(body, MAX_RECEIPT).map_err(|err| err.to_string())?;
    let [message] = messages.as_slice() else {
        return Err(format!("{} messages, not one receipt", messages.len()));
    };
    let value = &message.value;
    let sn = format!("{:x}", event.sn());
    if value["t"] != "rct"
        || value["d"] != event.said()
        || value["i"] != event.prefix()
        || value["s"] != sn.as_str()
    {
        return Err(format!(
            "not a receipt of event {sn} {} of {}",
            event.said(),
            event.prefix()
        ));
    }
    message
        .attachments
        .receipts
        .iter()
        .find(|(verfer, _)| verfer.qb64() == wit)
        .ok_or_else(|| format!("no receipt couple of {wit}"))
        .and_then(|(verfer, cigar)| check(verfer, cigar, event).map(|()| cigar.clone()))
}

/// A receipt couple counts only from a non-transferable witness whose signature covers the
/// event.
fn check(verfer: &Verfer, cigar: &Cigar, event: &Event) -> Result<(), String> {
    if verfer.is_transferable() {
        return Err(format!("{verfer} is not a non-transferable witness"));
    }
    if !verfer.verify(event.raw(), cigar.raw()) {
        return Err(format!("the receipt signature of {verfer} does not verify"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::receipt;
    use crate::keri::build;
    use crate::keri::primitives::{Diger, Signer, Verfer};
    use crate::keri::stream::{self, Attachments};

    /// A witness's answer: an `rct` of `(prefix, sn, said)` with `couples`.
    fn answer(
        prefix: &str,
        sn: u64,
        said: &str,
        couples: Vec<(Verfer, crate::keri::primitives::Cigar)>,
    ) -> Vec<u8> {
        let rct = build::receipt(prefix, sn, said);
        let attachments = Attachments {
            receipts: couples,
            ..Attachments::default()
        };
        stream::write([(rct.as_slice(), &attachments)])
    }

    #[test]
    fn only_a_verified_couple_of_the_witness_over_the_event_counts() {
        let (key, next) = (Signer::random().unwrap(), Signer::random().unwrap());
        let event = build::incept(
            &[key.verfer()],
            &[Diger::blake3(next.verfer().qb64().as_bytes())],
        );
        let witness = Signer::random().unwrap();
        let wit = Verfer::new(*witness.verfer().raw(), false);
        let (prefix, said) = (event.prefix(), event.said());
        let signed = witness.sign_cigar(event.raw());
        let good = answer(prefix, 0, said, vec![(wit.clone(), signed.clone())]);
        assert_eq!(receipt(&good, &event, &wit.qb64()).unwrap(), signed);
        // Forged: signed by another key under the witness's name.
        let impostor = Signer::random().unwrap();
        let forged = answer(
            prefix,
            0,
            said,
            vec![(wit.clone(), impostor.sign_cigar(event.raw()))],
        );
        let refused = receipt(&forged, &event, &wit.qb64()).unwrap_err();
        assert!(refused.contains("does not verify"), "{refused}");
        // A true signature by someone who is not the witness asked.
        let stranger = Verfer::new(*impostor.verfer().raw(), false);
        let other = answer(
            prefix,
            0,
            said,
            vec![(stranger, impostor.sign_cigar(event.raw()))],
        );
        let refused = receipt(&other, &event, &wit.qb64()).unwrap_err();
        assert!(refused.contains("no receipt couple of"), "{refused}");
        // A receipt of another event.
        let elsewhere = answer(prefix, 1, said, vec![(wit.clone(), signed.clone())]);
        let refused = receipt(&elsewhere, &event, &wit.qb64()).unwrap_err();
        assert!(refused.contains("not a receipt of event"), "{refused}");
        // A transferable key cannot witness.
        let transferable = witness.verfer();
        let wrong = answer(prefix, 0, said, vec![(transferable.clone(), signed)]);
        let refused = receipt(&wrong, &event, &transferable.qb64()).unwrap_err();
        assert!(
            refused.contains("not a non-transferable witness"),
            "{refused}"
        );
        assert!(receipt(b"not cesr", &event, &wit.qb64()).is_err());
    }
}
