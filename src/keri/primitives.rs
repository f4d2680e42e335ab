//! The typed CESR primitives Signify and the agency exchange, each holding raw bytes and
//! reading and writing its qb64 text: `Verfer` (Ed25519 public key), `Diger` (Blake3-256
//! digest), `Salt` (128-bit salt), `Cigar` (non-indexed Ed25519 signature), `Siger` (indexed
//! Ed25519 signature) and `Signer` (Ed25519 private key, wiped when dropped).

use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use zeroize::{Zeroize, Zeroizing};

use super::cesr::{base64_character, base64_value, code, encode, CesrError, Layout, Problem};

const VERFER: Layout = Layout {
    primitive: "Ed25519 verification key",
    codes: &[code::ED25519, code::ED25519_NON_TRANSFERABLE],
    code_length: 1,
};
const DIGER: Layout = Layout {
    primitive: "Blake3-256 digest",
    codes: &[code::BLAKE3_256],
    code_length: 1,
};
const SALT: Layout = Layout {
    primitive: "128-bit salt",
    codes: &[code::SALT_128],
    code_length: 2,
};
const SEED: Layout = Layout {
    primitive: "Ed25519 seed",
    codes: &[code::ED25519_SEED],
    code_length: 1,
};
const CIGAR: Layout = Layout {
    primitive: "Ed25519 signature",
    codes: &[code::ED25519_SIGNATURE],
    code_length: 2,
};
const SIGER: Layout = Layout {
    primitive: "indexed Ed25519 signature",
    codes: &[
        code::ED25519_INDEXED_SIGNATURE,
        code::ED25519_CURRENT_SIGNATURE,
    ],
    code_length: 2,
};
const BIG_SIGER: Layout = Layout {
    primitive: "indexed Ed25519 signature",
    codes: &[
        code::ED25519_BIG_INDEXED_SIGNATURE,
        code::ED25519_BIG_CURRENT_SIGNATURE,
    ],
    code_length: 6,
};

/// An Ed25519 public key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Verfer {
    raw: [u8; 32],
    transferable: bool,
}

impl Verfer {
    /// Wraps a raw public key; `transferable` selects code `D`, otherwise `B`.
    pub fn new(raw: [u8; 32], transferable: bool) -> Self {
        Self { raw, transferable }
    }

    /// Reads a qb64 Ed25519 public key (code `D` or `B`).
    pub fn parse(qb64: &str) -> Result<Self, CesrError> {
        let (code, raw) = VERFER.decode::<32>(qb64)?;
        Ok(Self {
            raw,
            transferable: code == code::ED25519,
        })
    }

    /// The qb64 text.
    pub fn qb64(&self) -> String {
        let code = if self.transferable {
            code::ED25519
        } else {
            code::ED25519_NON_TRANSFERABLE
        };
        encode(code, &self.raw)
    }

    /// The raw 32-byte key.
    pub fn raw(&self) -> &[u8; 32] {
        &self.raw
    }

    /// Whether the key belongs to a transferable prefix (code `D`).
    pub fn is_transferable(&self) -> bool {
        self.transferable
    }

    /// Whether `signature` is a valid Ed25519 signature of `message` by this key.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.raw) else {
            return false;
        };
        key.verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

impl fmt::Display for Verfer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.qb64())
    }
}

impl fmt::Debug for Verfer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Verfer({})", self.qb64())
    }
}

/// A Blake3-256 digest.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Diger {
    raw: [u8; 32],
}

impl Diger {
    /// The Blake3-256 digest of `data`.
    pub fn blake3(data: &[u8]) -> Self {
        Self {
            raw: *blake3::hash(data).as_bytes(),
        }
    }

    /// Wraps a raw 32-byte digest.
    pub fn new(raw: [u8; 32]) -> Self {
        Self { raw }
    }

    /// Reads a qb64 Blake3-256 digest (code `E`).
    pub fn parse(qb64: &str) -> Result<Self, CesrError> {
        let (_, raw) = DIGER.decode::<32>(qb64)?;
        Ok(Self { raw })
    }

    /// The qb64 text.
    pub fn qb64(&self) -> String {
        encode(code::BLAKE3_256, &self.raw)
    }

    /// The raw 32-byte digest.
    pub fn raw(&self) -> &[u8; 32] {
        &self.raw
    }

    /// Whether this is the digest of `data`.
    pub fn matches(&self, data: &[u8]) -> bool {
        Self::blake3(data) == *self
    }
}

impl fmt::Display for Diger {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.qb64())
    }
}

impl fmt::Debug for Diger {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Diger({})", self.qb64())
    }
}

/// A 128-bit salt, wiped when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Salt {
    raw: [u8; 16],
}

impl Salt {
    /// Wraps 16 raw bytes.
    pub fn new(raw: [u8; 16]) -> Self {
        Self { raw }
    }

    /// Reads a qb64 128-bit salt (code `0A`).
    pub fn parse(qb64: &str) -> Result<Self, CesrError> {
        let (_, raw) = SALT.decode::<16>(qb64)?;
        Ok(Self { raw })
    }

    /// The qb64 text.
    pub fn qb64(&self) -> Zeroizing<String> {
        Zeroizing::new(encode(code::SALT_128, &self.raw))
    }

    /// The raw 16 bytes.
    pub fn raw(&self) -> &[u8; 16] {
        &self.raw
    }
}

impl Drop for Salt {
    fn drop(&mut self) {
        self.raw.zeroize();
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Salt(..)")
    }
}

/// A non-indexed Ed25519 signature, as carried in HTTP `Signature` headers.
#[derive(Clone, PartialEq, Eq)]
pub struct Cigar {
    raw: [u8; 64],
}

impl Cigar {
    /// Wraps a raw 64-byte signature.
    pub fn new(raw: [u8; 64]) -> Self {
        Self { raw }
    }

    /// Reads a qb64 non-indexed Ed25519 signature (code `0B`).
    pub fn parse(qb64: &str) -> Result<Self, CesrError> {
        let (_, raw) = CIGAR.decode::<64>(qb64)?;
        Ok(Self { raw })
    }

    /// The qb64 text.
    pub fn qb64(&self) -> String {
        encode(code::ED25519_SIGNATURE, &self.raw)
    }

    /// The raw 64-byte signature.
    pub fn raw(&self) -> &[u8; 64] {
        &self.raw
    }
}

impl fmt::Display for Cigar {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.qb64())
    }
}

impl fmt::Debug for Cigar {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Cigar({})", self.qb64())
    }
}

/// An indexed Ed25519 signature, as attached to key events: `index` is the signing key's place
/// in the event's key list, `ondex` its place in the prior next-key digests (None for a
/// signature by a current key only). Codes `A` (both indices the same, below 64), `B`
/// (current only), `2A` (two indices) and `2B` (current only, below 4096).
#[derive(Clone, PartialEq, Eq)]
pub struct Siger {
    raw: [u8; 64],
    index: u32,
    ondex: Option<u32>,
}

/// Length in qb64 characters of a signature with a two-index code (`2A`, `2B`).
pub const BIG_SIGER_LENGTH: usize = 92;

impl Siger {
    /// Wraps a raw 64-byte signature by the key at `index` (below 64), the same index in the
    /// prior next-key digests.
    pub fn new(raw: [u8; 64], index: u32) -> Result<Self, CesrError> {
        if index >= 64 {
            return Err(SIGER.error(Problem::Index(index)));
        }
        Ok(Self {
            raw,
            index,
            ondex: Some(index),
        })
    }

    /// Wraps a raw signature by the key at `index` that is the prior next key at `ondex`
    /// (None: a current key only); both below 4096.
    pub fn dual(raw: [u8; 64], index: u32, ondex: Option<u32>) -> Result<Self, CesrError> {
        if let Some(out) = [Some(index), ondex]
            .into_iter()
            .flatten()
            .find(|i| *i >= 4096)
        {
            return Err(SIGER.error(Problem::Index(out)));
        }
        Ok(Self { raw, index, ondex })
    }

    /// Reads a qb64 indexed Ed25519 signature (`A`, `B`, `2A` or `2B` and its indices).
    pub fn parse(qb64: &str) -> Result<Self, CesrError> {
        if let Some(rest) = qb64.strip_prefix('2') {
            if qb64.len() != BIG_SIGER_LENGTH || !qb64.is_ascii() {
                return Err(BIG_SIGER.error(Problem::Length {
                    expected: BIG_SIGER_LENGTH,
                    got: qb64.len(),
                }));
            }
            let current_only = match &rest[..1] {
                "A" => false,
                "B" => true,
                _ => {
                    return Err(BIG_SIGER.error(Problem::Code {
                        expected: BIG_SIGER.codes,
                        got: qb64[..2].to_owned(),
                    }))
                }
            };
            let number = |text: &str| -> Result<u32, CesrError> {
                text.bytes().try_fold(0, |value, character| {
                    base64_value(character)
                        .map(|digit| value * 64 + digit)
                        .ok_or_else(|| BIG_SIGER.error(Problem::Base64))
                })
            };
            let index = number(&qb64[2..4])?;
            let ondex = number(&qb64[4..6])?;
            let (_, raw) = SIGER.decode::<64>(&format!("AA{}", &qb64[6..]))?;
            return Ok(Self {
                raw,
                index,
                ondex: (!current_only).then_some(ondex),
            });
        }
        let (code, raw) = SIGER.decode::<64>(qb64)?;
        let index = base64_value(code.as_bytes()[1]).ok_or_else(|| SIGER.error(Problem::Base64))?;
        let ondex = (&code[..1] == code::ED25519_INDEXED_SIGNATURE).then_some(index);
        Ok(Self { raw, index, ondex })
    }

    /// The qb64 text.
    pub fn qb64(&self) -> String {
        match self.ondex {
            Some(ondex) if ondex == self.index && self.index < 64 => {
                let code = format!(
                    "{}{}",
                    code::ED25519_INDEXED_SIGNATURE,
                    base64_character(self.index)
                );
                encode(&code, &self.raw)
            }
            None if self.index < 64 => {
                let code = format!(
                    "{}{}",
                    code::ED25519_CURRENT_SIGNATURE,
                    base64_character(self.index)
                );
                encode(&code, &self.raw)
            }
            ondex => {
                let two = |value: u32| {
                    format!(
                        "{}{}",
                        base64_character(value >> 6),
                        base64_character(value)
                    )
                };
                let small = encode("AA", &self.raw);
                let code = if ondex.is_some() {
                    code::ED25519_BIG_INDEXED_SIGNATURE
                } else {
                    code::ED25519_BIG_CURRENT_SIGNATURE
                };
                format!(
                    "{code}{}{}{}",
                    two(self.index),
                    two(ondex.unwrap_or_default()),
                    &small[2..]
                )
            }
        }
    }

    /// Index of the signing key in the key list.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Index of the signing key in the prior next-key digests; None for a current key only.
    pub fn ondex(&self) -> Option<u32> {
        self.ondex
    }

    /// The raw 64-byte signature.
    pub fn raw(&self) -> &[u8; 64] {
        &self.raw
    }
}

impl fmt::Display for Siger {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.qb64())
    }
}

impl fmt::Debug for Siger {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Siger({})", self.qb64())
    }
}

/// An Ed25519 private key; its seed is wiped when dropped.
#[derive(Clone)]
pub struct Signer {
    key: SigningKey,
}

impl Signer {
    /// The key whose private seed is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// A fresh key from the system random source.
    pub fn random() -> anyhow::Result<Self> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(seed.as_mut_slice())
            .map_err(|err| anyhow::anyhow!("reading the system random source: {err}"))?;
        Ok(Self::from_seed(&seed))
    }

    /// Reads a qb64 Ed25519 seed (code `A`).
    pub fn parse(qb64: &str) -> Result<Self, CesrError> {
        let (_, seed) = SEED.decode::<32>(qb64)?;
        let seed = Zeroizing::new(seed);
        Ok(Self::from_seed(&seed))
    }

    /// The private seed, for sealed storage.
    pub fn seed(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// The qb64 text of the private seed.
    pub fn seed_qb64(&self) -> Zeroizing<String> {
        Zeroizing::new(encode(code::ED25519_SEED, self.seed()))
    }

    /// The public key, transferable (code `D`).
    pub fn verfer(&self) -> Verfer {
        Verfer::new(self.key.verifying_key().to_bytes(), true)
    }

    /// The raw Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The signature of `message` indexed as the key at `index` (below 64).
    pub fn sign_indexed(&self, message: &[u8], index: u32) -> Siger {
        assert!(index < 64, "signature index {index} is out of range 0..64");
        Siger {
            raw: self.sign(message),
            index,
            ondex: Some(index),
        }
    }

    /// The non-indexed signature of `message`.
    pub fn sign_cigar(&self, message: &[u8]) -> Cigar {
        Cigar::new(self.sign(message))
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Signer({})", self.verfer().qb64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keri::cesr::{parse_dater, parse_seqner};
    use proptest::prelude::*;

    const SEED_HEX: &str = "26a9d6f67f5ded24be6859ed422a86c6a3cf360851b2a7265c5eeaf6ddff5b88";

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
            .collect()
    }

    fn seed() -> [u8; 32] {
        hex(SEED_HEX).try_into().unwrap()
    }

    #[test]
    fn seed_and_public_key_match_the_vector() {
        let signer = Signer::from_seed(&seed());
        assert_eq!(
            signer.seed_qb64().as_str(),
            "ACap1vZ_Xe0kvmhZ7UIqhsajzzYIUbKnJlxe6vbd_1uI"
        );
        let verfer = signer.verfer();
        assert_eq!(
            verfer.raw().to_vec(),
            hex("06d68e86db68ba9107de0a880bad0076ffab33e93879b72d4440fe4b317ad55c")
        );
        assert_eq!(
            verfer.qb64(),
            "DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc"
        );
        assert!(verfer.is_transferable());
        let parsed = Signer::parse("ACap1vZ_Xe0kvmhZ7UIqhsajzzYIUbKnJlxe6vbd_1uI").unwrap();
        assert_eq!(parsed.seed(), &seed());
    }

    #[test]
    fn salt_round_trips() {
        let salt = Salt::parse("0AA0123456789abcdefghijk").unwrap();
        assert_eq!(salt.raw().to_vec(), hex("34d76df8e7aefcf5a6dc75e7e08628e4"));
        assert_eq!(salt.qb64().as_str(), "0AA0123456789abcdefghijk");
    }

    #[test]
    fn primitives_round_trip() {
        let verfer = Verfer::parse("DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc").unwrap();
        assert_eq!(Verfer::parse(&verfer.qb64()).unwrap(), verfer);
        let basic = Verfer::new(*verfer.raw(), false);
        assert!(basic.qb64().starts_with('B'));
        assert!(!Verfer::parse(&basic.qb64()).unwrap().is_transferable());
        let diger = Diger::parse("EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL").unwrap();
        assert_eq!(diger.qb64(), "EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL");
        let siger = Siger::parse(
            "AACJwsJ0mvb4VgxD87H4jIsiT1QtlzznUy9zrX3lGdd48jjQRTv8FxlJ8ClDsGtkvK4Eekg5p-oPYiPvK_1eTXEG",
        )
        .unwrap();
        assert_eq!(siger.index(), 0);
        assert_eq!(
            siger.raw().to_vec(),
            hex(concat!(
                "89c2c2749af6f8560c43f3b1f88c8b224f542d973ce7532f73ad7de519d778f2",
                "38d0453bfc171949f02943b06b64bcae047a4839a7ea0f6223ef2bfd5e4d7106"
            ))
        );
        let moved = Siger::new(*siger.raw(), 5).unwrap();
        assert!(moved.qb64().starts_with("AF"));
        assert_eq!(Siger::parse(&moved.qb64()).unwrap().index(), 5);
        assert!(Siger::new(*siger.raw(), 64).is_err());
        let cigar = Cigar::new(*siger.raw());
        assert!(cigar.qb64().starts_with("0B"));
        assert_eq!(cigar.qb64().len(), 88);
        assert_eq!(Cigar::parse(&cigar.qb64()).unwrap(), cigar);
    }

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let signer = Signer::from_seed(&seed());
        let signature = signer.sign(b"message");
        assert!(signer.verfer().verify(b"message", &signature));
        assert!(!signer.verfer().verify(b"messagf", &signature));
        let mut bad = signature;
        bad[0] ^= 1;
        assert!(!signer.verfer().verify(b"message", &bad));
        assert_eq!(signer.sign_indexed(b"message", 0).raw(), &signature);
        assert_eq!(signer.sign_cigar(b"message").raw(), &signature);
    }

    #[test]
    fn random_signers_differ() {
        assert_ne!(
            Signer::random().unwrap().seed(),
            Signer::random().unwrap().seed()
        );
    }

    proptest! {
        #[test]
        fn decoders_never_panic(text in prop_oneof![".{0,100}", "(0A|0B|A|B|D|E)[A-Za-z0-9_-]{0,90}"]) {
            let _ = Verfer::parse(&text);
            let _ = Diger::parse(&text);
            let _ = Salt::parse(&text);
            let _ = Cigar::parse(&text);
            let _ = Siger::parse(&text);
            let _ = Signer::parse(&text);
            let _ = parse_seqner(&text);
            let _ = parse_dater(&text);
        }

        #[test]
        fn raw_bytes_round_trip(raw in any::<[u8; 32]>(), index in 0u32..64, transferable in any::<bool>()) {
            let verfer = Verfer::new(raw, transferable);
            prop_assert_eq!(Verfer::parse(&verfer.qb64()).unwrap(), verfer);
            prop_assert_eq!(Diger::parse(&Diger::new(raw).qb64()).unwrap(), Diger::new(raw));
            let mut wide = [0u8; 64];
            wide[..32].copy_from_slice(&raw);
            wide[32..].copy_from_slice(&raw);
            let siger = Siger::new(wide, index).unwrap();
            prop_assert_eq!(Siger::parse(&siger.qb64()).unwrap(), siger);
            prop_assert_eq!(Cigar::parse(&Cigar::new(wide).qb64()).unwrap(), Cigar::new(wide));
            let mut salt = [0u8; 16];
            salt.copy_from_slice(&raw[..16]);
            prop_assert_eq!(Salt::parse(&Salt::new(salt).qb64()).unwrap(), Salt::new(salt));
        }
    }

    #[test]
    fn malformed_qb64_is_refused_with_a_precise_error() {
        let key = "DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc";
        assert_eq!(
            Verfer::parse(&key[..43]).unwrap_err().to_string(),
            "not a qb64 Ed25519 verification key: expected 44 characters, got 43"
        );
        assert_eq!(
            Verfer::parse(&format!("E{}", &key[1..]))
                .unwrap_err()
                .to_string(),
            "not a qb64 Ed25519 verification key: code \"E\" is not D or B"
        );
        assert_eq!(
            Verfer::parse(&format!("D_{}", &key[2..]))
                .unwrap_err()
                .to_string(),
            "not a qb64 Ed25519 verification key: pad bits are not zero"
        );
        assert_eq!(
            Diger::parse("EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2t=")
                .unwrap_err()
                .to_string(),
            "not a qb64 Blake3-256 digest: not base64url text"
        );
        assert_eq!(
            Diger::parse("").unwrap_err().to_string(),
            "not a qb64 Blake3-256 digest: expected 44 characters, got 0"
        );
        assert!(Diger::parse("EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2té").is_err());
        let cigar = Cigar::new([7; 64]).qb64();
        assert_eq!(
            Cigar::parse(&cigar.replacen("0B", "0A", 1))
                .unwrap_err()
                .to_string(),
            "not a qb64 Ed25519 signature: code \"0A\" is not 0B"
        );
        assert_eq!(
            Cigar::parse(&cigar.replacen("0BAH", "0B_H", 1))
                .unwrap_err()
                .to_string(),
            "not a qb64 Ed25519 signature: pad bits are not zero"
        );
        assert!(Siger::parse(&cigar).is_err());
        assert!(Siger::parse("AA").is_err());
        assert!(Salt::parse("0A_0123456789abcdefghijk").is_err());
    }
}
