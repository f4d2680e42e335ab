//! The CESR qb64 text codec: derivation and count codes, the layout of a primitive (code
//! followed by the base64url text of its raw bytes, left-padded with zero bytes to a multiple
//! of three and with as many leading characters dropped as the code is long), encoding and
//! decoding with a precise `CesrError`, and the sequence numbers and datetimes of attachments.
//! The typed key, digest and signature primitives built on it are in `primitives`.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use zeroize::Zeroizing;

/// Derivation codes of the primitives used here.
pub mod code {
    /// Ed25519 private seed.
    pub const ED25519_SEED: &str = "A";
    /// Ed25519 public key of a non-transferable prefix.
    pub const ED25519_NON_TRANSFERABLE: &str = "B";
    /// Ed25519 public key of a transferable prefix.
    pub const ED25519: &str = "D";
    /// Blake3-256 digest.
    pub const BLAKE3_256: &str = "E";
    /// 128-bit salt.
    pub const SALT_128: &str = "0A";
    /// Non-indexed Ed25519 signature.
    pub const ED25519_SIGNATURE: &str = "0B";
    /// Indexed Ed25519 signature, same index in the current and prior key lists (indexer table).
    pub const ED25519_INDEXED_SIGNATURE: &str = "A";
    /// Indexed Ed25519 signature by a current key only (index below 64).
    pub const ED25519_CURRENT_SIGNATURE: &str = "B";
    /// Indexed Ed25519 signature with a key index and a prior next-key index (below 4096).
    pub const ED25519_BIG_INDEXED_SIGNATURE: &str = "2A";
    /// Indexed Ed25519 signature by a current key only (index below 4096).
    pub const ED25519_BIG_CURRENT_SIGNATURE: &str = "2B";
    /// A sequence number or first-seen ordinal: 16 raw bytes, big-endian, under the salt code.
    pub const SEQUENCE_NUMBER: &str = SALT_128;
    /// An ISO-8601 datetime written as base64 text (`:` as `c`, `.` as `d`, `+` as `p`).
    pub const DATETIME: &str = "1AAG";

    /// Count codes of attachment groups: `-`, a letter, and the count in two base64 digits.
    pub mod counter {
        /// Attachment group; counts the quadlets (4 characters) of the groups inside.
        pub const ATTACHMENT_GROUP: &str = "-V";
        /// Attachment group with a five-digit count.
        pub const BIG_ATTACHMENT_GROUP: &str = "-0V";
        /// Indexed signatures by the controller's keys.
        pub const CONTROLLER_SIGNATURES: &str = "-A";
        /// Indexed signatures by the witnesses.
        pub const WITNESS_SIGNATURES: &str = "-B";
        /// Non-transferable receipt couples: verification key and signature.
        pub const NON_TRANSFERABLE_RECEIPTS: &str = "-C";
        /// First-seen replay couples: first-seen ordinal and datetime.
        pub const FIRST_SEEN_REPLAYS: &str = "-E";
        /// Transferable signature groups: prefix, establishment sn and SAID, `-A` signatures.
        pub const TRANSFERABLE_SIGNATURE_GROUPS: &str = "-F";
        /// Seal source couples: sequence number and SAID of an anchoring event.
        pub const SEAL_SOURCE_COUPLES: &str = "-G";
        /// Pathed material: a path into the message, then attachments of what it points at;
        /// counts quadlets.
        pub const PATHED_MATERIAL: &str = "-L";
        /// Pathed material with a five-digit count.
        pub const BIG_PATHED_MATERIAL: &str = "-0L";
    }
}

/// Why a text is not the qb64 primitive that was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CesrError {
    primitive: &'static str,
    problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Problem {
    Length {
        expected: usize,
        got: usize,
    },
    Code {
        expected: &'static [&'static str],
        got: String,
    },
    Base64,
    PadBits,
    Index(u32),
    TooLarge,
    Datetime,
}

impl fmt::Display for CesrError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "not a qb64 {}: ", self.primitive)?;
        match &self.problem {
            Problem::Length { expected, got } => {
                write!(formatter, "expected {expected} characters, got {got}")
            }
            Problem::Code { expected, got } => {
                write!(formatter, "code {got:?} is not {}", expected.join(" or "))
            }
            Problem::Base64 => formatter.write_str("not base64url text"),
            Problem::PadBits => formatter.write_str("pad bits are not zero"),
            Problem::Index(index) => write!(formatter, "index {index} is out of range 0..64"),
            Problem::TooLarge => formatter.write_str("number does not fit in 64 bits"),
            Problem::Datetime => formatter
                .write_str("not a datetime like 2026-11-24T21c59c14d583126p00c00 (32 characters)"),
        }
    }
}

impl std::error::Error for CesrError {}

/// The qb64 text of `raw` under `code`.
pub(super) fn encode(code: &str, raw: &[u8]) -> String {
    let pad = (3 - raw.len() % 3) % 3;
    let mut padded = vec![0u8; pad];
    padded.extend_from_slice(raw);
    let text = URL_SAFE_NO_PAD.encode(&padded);
    format!("{code}{}", &text[code.len() % 4..])
}

/// What one kind of primitive looks like in qb64.
pub(super) struct Layout {
    pub(super) primitive: &'static str,
    pub(super) codes: &'static [&'static str],
    pub(super) code_length: usize,
}

impl Layout {
    pub(super) fn error(&self, problem: Problem) -> CesrError {
        CesrError {
            primitive: self.primitive,
            problem,
        }
    }

    /// Splits `text` into its code (the full `code_length` characters) and `N` raw bytes.
    pub(super) fn decode<'t, const N: usize>(
        &self,
        text: &'t str,
    ) -> Result<(&'t str, [u8; N]), CesrError> {
        let pad = (3 - N % 3) % 3;
        let expected = (N + pad) / 3 * 4;
        if !text.is_ascii() {
            return Err(self.error(Problem::Base64));
        }
        let Some(code) = text.get(..self.code_length) else {
            return Err(self.error(Problem::Length {
                expected,
                got: text.len(),
            }));
        };
        let hard = &code[..self.codes[0].len()];
        if !self.codes.contains(&hard) {
            return Err(self.error(Problem::Code {
                expected: self.codes,
                got: hard.to_owned(),
            }));
        }
        if text.len() != expected {
            return Err(self.error(Problem::Length {
                expected,
                got: text.len(),
            }));
        }
        let base = format!(
            "{}{}",
            "A".repeat(self.code_length),
            &text[self.code_length..]
        );
        let bytes = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(base)
                .map_err(|_| self.error(Problem::Base64))?,
        );
        if bytes.len() != N + pad {
            return Err(self.error(Problem::Base64));
        }
        if bytes[..pad].iter().any(|byte| *byte != 0) {
            return Err(self.error(Problem::PadBits));
        }
        let mut raw = [0u8; N];
        raw.copy_from_slice(&bytes[pad..]);
        Ok((code, raw))
    }
}

const SEQNER: Layout = Layout {
    primitive: "sequence number",
    codes: &[code::SEQUENCE_NUMBER],
    code_length: 2,
};

/// The qb64 text of a sequence number or first-seen ordinal.
pub fn seqner_qb64(sn: u64) -> String {
    encode(code::SEQUENCE_NUMBER, &u128::from(sn).to_be_bytes())
}

/// Reads a qb64 sequence number (code `0A`); numbers beyond 64 bits are refused.
pub fn parse_seqner(qb64: &str) -> Result<u64, CesrError> {
    let (_, raw) = SEQNER.decode::<16>(qb64)?;
    u64::try_from(u128::from_be_bytes(raw)).map_err(|_| SEQNER.error(Problem::TooLarge))
}

/// Characters of an ISO-8601 datetime that base64 lacks, and what stands for them.
const DATETIME_SUBSTITUTIONS: [(char, char); 3] = [(':', 'c'), ('.', 'd'), ('+', 'p')];

/// Length of the datetime text after `code::DATETIME`.
const DATETIME_LENGTH: usize = 32;

const DATER: Layout = Layout {
    primitive: "datetime",
    codes: &[code::DATETIME],
    code_length: 4,
};

/// The qb64 text of `datetime` (`2026-11-24T21:59:14.583126+00:00`).
pub fn dater_qb64(datetime: &str) -> Result<String, CesrError> {
    let text: String = datetime
        .chars()
        .map(|character| {
            DATETIME_SUBSTITUTIONS
                .iter()
                .find(|(from, _)| *from == character)
                .map_or(character, |(_, to)| *to)
        })
        .collect();
    let base64 = text.bytes().all(|byte| base64_value(byte).is_some());
    if text.len() != DATETIME_LENGTH || !base64 {
        return Err(DATER.error(Problem::Datetime));
    }
    Ok(format!("{}{text}", code::DATETIME))
}

/// Reads a qb64 datetime (code `1AAG`) back into its ISO-8601 text.
pub fn parse_dater(qb64: &str) -> Result<String, CesrError> {
    let Some(text) = qb64.strip_prefix(code::DATETIME) else {
        return Err(DATER.error(Problem::Code {
            expected: DATER.codes,
            got: qb64.chars().take(DATER.code_length).collect(),
        }));
    };
    if text.len() != DATETIME_LENGTH || !text.bytes().all(|byte| base64_value(byte).is_some()) {
        return Err(DATER.error(Problem::Datetime));
    }
    let datetime: String = text
        .chars()
        .map(|character| {
            DATETIME_SUBSTITUTIONS
                .iter()
                .find(|(_, to)| *to == character)
                .map_or(character, |(from, _)| *from)
        })
        .collect();
    let shape = datetime.bytes().enumerate().all(|(at, byte)| match at {
        4 | 7 => byte == b'-',
        10 => byte == b'T',
        13 | 16 | 29 => byte == b':',
        19 => byte == b'.',
        26 => byte == b'+' || byte == b'-',
        _ => byte.is_ascii_digit(),
    });
    if !shape {
        return Err(DATER.error(Problem::Datetime));
    }
    Ok(datetime)
}

/// The value of one base64url character.
pub(super) fn base64_value(character: u8) -> Option<u32> {
    match character {
        b'A'..=b'Z' => Some(u32::from(character - b'A')),
        b'a'..=b'z' => Some(u32::from(character - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(character - b'0') + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// The base64url character of a value below 64.
pub(super) fn base64_character(value: u32) -> char {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char::from(ALPHABET[(value & 63) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_and_datetimes_match_the_capture() {
        assert_eq!(seqner_qb64(0), "0AAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(seqner_qb64(2), "0AAAAAAAAAAAAAAAAAAAAAAC");
        assert_eq!(parse_seqner("0AAAAAAAAAAAAAAAAAAAAAAB").unwrap(), 1);
        assert_eq!(parse_seqner(&seqner_qb64(u64::MAX)).unwrap(), u64::MAX);
        assert_eq!(
            parse_seqner("0AAAAAAAAAAAAAAAAAAAAAAAAA")
                .unwrap_err()
                .to_string(),
            "not a qb64 sequence number: expected 24 characters, got 26"
        );
        assert_eq!(
            parse_seqner("0AAAAAAAAAAQAAAAAAAAAAAA")
                .unwrap_err()
                .to_string(),
            "not a qb64 sequence number: number does not fit in 64 bits"
        );
        let dater = "1AAG2026-11-24T21c59c14d583126p00c00";
        assert_eq!(
            parse_dater(dater).unwrap(),
            "2026-11-24T21:59:14.583126+00:00"
        );
        assert_eq!(
            dater_qb64("2026-11-24T21:59:14.583126+00:00").unwrap(),
            dater
        );
        assert!(dater_qb64("2026-11-24T21:59:14+00:00").is_err());
        assert!(dater_qb64("2026-11-24T21:59:14.583126+00:00 ").is_err());
        assert_eq!(
            parse_dater("1AAG2026-11-24T21c59c14d583126p00c0").unwrap_err().to_string(),
            "not a qb64 datetime: not a datetime like 2026-11-24T21c59c14d583126p00c00 (32 characters)"
        );
        assert!(parse_dater("1AAG2026-11-24T21c59c14d58312xp00c00").is_err());
        assert!(parse_dater("1AAF2026-11-24T21c59c14d583126p00c00").is_err());
    }
}
