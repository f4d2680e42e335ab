//! The check of indexed signatures on a message against a key list and its signing threshold,
//! shared by events, key event logs, replies and exchanges.

use super::error::EventError;
use super::primitives::{Siger, Verfer};
use super::threshold::Threshold;

/// Checks the indexed signatures `sigs` of `message` against `keys` and `threshold`, and
/// returns the indices of the keys whose signatures verify. Every index must point to a key
/// and appear once; signatures that do not verify are not counted.
pub(super) fn check_signatures(
    message: &[u8],
    keys: &[Verfer],
    threshold: &Threshold,
    sigs: &[Siger],
) -> Result<Vec<usize>, EventError> {
    let mut seen = Vec::with_capacity(sigs.len());
    let mut verified = Vec::with_capacity(sigs.len());
    for siger in sigs {
        let slot = usize::try_from(siger.index())
            .ok()
            .and_then(|index| keys.get(index).map(|key| (index, key)));
        let Some((index, key)) = slot else {
            return Err(EventError::SignatureIndex {
                index: siger.index(),
                keys: keys.len(),
            });
        };
        if seen.contains(&index) {
            return Err(EventError::DuplicateIndex(siger.index()));
        }
        seen.push(index);
        if key.verify(message, siger.raw()) {
            verified.push(index);
        }
    }
    if verified.is_empty() || !threshold.is_satisfied_by(&verified) {
        return Err(EventError::Signatures {
            verified: verified.len(),
            given: sigs.len(),
            threshold: threshold.to_string(),
        });
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keri::build::incept;
    use crate::keri::event::Event;
    use crate::keri::primitives::Signer;

    #[test]
    fn multiple_keys_get_a_majority_threshold() {
        let signers: Vec<Signer> = (1..=3u8)
            .map(|byte| Signer::from_seed(&[byte; 32]))
            .collect();
        let keys: Vec<Verfer> = signers.iter().map(Signer::verfer).collect();
        let event = incept(&keys, &[]);
        assert_eq!(event.signing_threshold(), Some(2));
        assert_eq!(event.next_threshold(), Some(0));
        assert_eq!(Event::verify(event.value()).unwrap(), event);
        let two_keys = Threshold::count(2);
        let one = [signers[0].sign_indexed(event.raw(), 0)];
        assert!(check_signatures(event.raw(), &keys, &two_keys, &one).is_err());
        let two = [one[0].clone(), signers[2].sign_indexed(event.raw(), 2)];
        assert_eq!(
            check_signatures(event.raw(), &keys, &two_keys, &two).unwrap(),
            vec![0, 2]
        );
        let twice = [one[0].clone(), one[0].clone()];
        assert_eq!(
            check_signatures(event.raw(), &keys, &two_keys, &twice)
                .unwrap_err()
                .to_string(),
            "two signatures carry the same index 0"
        );
    }
}
