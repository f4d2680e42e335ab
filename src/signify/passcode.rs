//! Signify controller keys derived from a passcode.
//!
//! The first 21 characters of the passcode are a 128-bit salt; each key's seed is the
//! Argon2id hash (version 0x13, one lane, 32 bytes) of its path under that salt, with the
//! cost of the chosen tier. The controller's current key has path `signify:controller00`,
//! its next key `signify:controller10`. The two derivations are separate calls, so a caller
//! may stop between them.

use std::fmt;
use std::str::FromStr;

use anyhow::{anyhow, bail, Result};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::keri::build;
use crate::keri::event::Event;
use crate::keri::primitives::{Diger, Salt, Siger, Signer};

/// Number of passcode characters used; shorter passcodes are refused.
pub const PASSCODE_LENGTH: usize = 21;

/// Path of the controller's current key.
pub const CURRENT_PATH: &str = "signify:controller00";

/// Path of the controller's next key.
pub const NEXT_PATH: &str = "signify:controller10";

/// Key stretching cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tier {
    /// 2 passes over 64 MiB.
    #[default]
    Low,
    /// 3 passes over 256 MiB.
    Med,
    /// 4 passes over 1 GiB.
    High,
}

impl Tier {
    /// The name Signify sends (`low`, `med`, `high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Med => "med",
            Tier::High => "high",
        }
    }

    /// Argon2 passes (libsodium's opslimit).
    fn passes(self) -> u32 {
        match self {
            Tier::Low => 2,
            Tier::Med => 3,
            Tier::High => 4,
        }
    }

    /// Argon2 memory in KiB (libsodium's memlimit in bytes divided by 1024).
    fn memory_kib(self) -> u32 {
        match self {
            Tier::Low => 64 * 1024,
            Tier::Med => 256 * 1024,
            Tier::High => 1024 * 1024,
        }
    }
}

impl FromStr for Tier {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "low" => Ok(Tier::Low),
            "med" => Ok(Tier::Med),
            "high" => Ok(Tier::High),
            _ => bail!("tier must be low, med or high, not {text:?}"),
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The path of key `key_index` at rotation `rotation_index`: `signify:controller` and both
/// indexes in hex.
pub fn controller_path(rotation_index: u64, key_index: u64) -> String {
    format!("signify:controller{rotation_index:x}{key_index:x}")
}

/// The salt of a passcode: the qb64 salt `0AA` followed by its first 21 characters.
pub fn passcode_salt(passcode: &str) -> Result<Salt> {
    let used: Zeroizing<String> = Zeroizing::new(passcode.chars().take(PASSCODE_LENGTH).collect());
    if used.chars().count() < PASSCODE_LENGTH {
        bail!("passcode must be at least {PASSCODE_LENGTH} characters");
    }
    if !used
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    {
        bail!("passcode must use only base64url characters (letters, digits, - and _)");
    }
    let qb64 = Zeroizing::new(format!("0AA{}", used.as_str()));
    Salt::parse(&qb64).map_err(|err| anyhow!("passcode is not a salt: {err}"))
}

/// The signer at `path` derived from `passcode` with the cost of `tier`.
pub fn derive_signer(passcode: &str, path: &str, tier: Tier) -> Result<Signer> {
    let salt = passcode_salt(passcode)?;
    let params = Params::new(tier.memory_kib(), tier.passes(), 1, Some(32))
        .map_err(|err| anyhow!("argon2 parameters: {err}"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut seed = Zeroizing::new([0u8; 32]);
    argon2
        .hash_password_into(path.as_bytes(), salt.raw(), seed.as_mut_slice())
        .map_err(|err| anyhow!("deriving the key at {path}: {err}"))?;
    Ok(Signer::from_seed(&seed))
}

/// The controller's current and next signers.
pub fn controller_keys(passcode: &str, tier: Tier) -> Result<(Signer, Signer)> {
    let current = derive_signer(passcode, CURRENT_PATH, tier)?;
    let next = derive_signer(passcode, NEXT_PATH, tier)?;
    Ok((current, next))
}

/// The controller's inception event and its signature (index 0) by `current`, committing to
/// `next` by the digest of its qb64 public key.
pub fn inception_from_keys(current: &Signer, next: &Signer) -> (Event, Siger) {
    let next_digest = Diger::blake3(next.verfer().qb64().as_bytes());
    let icp = build::incept(&[current.verfer()], &[next_digest]);
    let siger = current.sign_indexed(icp.raw(), 0);
    (icp, siger)
}

/// The controller's inception event and its signature, derived from the passcode.
pub fn controller_inception(passcode: &str, tier: Tier) -> Result<(Event, Siger)> {
    let (current, next) = controller_keys(passcode, tier)?;
    Ok(inception_from_keys(&current, &next))
}

/// A fresh passcode: 21 characters of a random 128-bit salt's qb64.
pub fn random_passcode() -> Result<String> {
    let mut raw = Zeroizing::new([0u8; 16]);
    getrandom::getrandom(raw.as_mut_slice())
        .map_err(|err| anyhow!("reading the system random source: {err}"))?;
    let qb64 = Salt::new(*raw).qb64();
    Ok(qb64[2..2 + PASSCODE_LENGTH].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSCODE: &str = "0123456789abcdefghijk";

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn salt_matches_the_vector() {
        let salt = passcode_salt(PASSCODE).unwrap();
        assert_eq!(
            salt.raw().to_vec(),
            unhex("34d76df8e7aefcf5a6dc75e7e08628e4")
        );
        assert_eq!(salt.qb64().as_str(), "0AA0123456789abcdefghijk");
        let longer = passcode_salt(&format!("{PASSCODE}lmnop")).unwrap();
        assert_eq!(longer.raw(), salt.raw());
    }

    #[test]
    fn short_or_foreign_passcodes_are_refused() {
        assert_eq!(
            passcode_salt("0123456789abcdefghij")
                .unwrap_err()
                .to_string(),
            "passcode must be at least 21 characters"
        );
        assert!(passcode_salt("0123456789abcdefghij!").is_err());
        assert!(passcode_salt("0123456789abcdefghijé").is_err());
        assert!(derive_signer("short", CURRENT_PATH, Tier::Low).is_err());
    }

    #[test]
    fn tiers_parse() {
        assert_eq!("low".parse::<Tier>().unwrap(), Tier::Low);
        assert_eq!("med".parse::<Tier>().unwrap(), Tier::Med);
        assert_eq!("high".parse::<Tier>().unwrap(), Tier::High);
        assert!("LOW".parse::<Tier>().is_err());
        assert_eq!(Tier::default().to_string(), "low");
    }

    #[test]
    fn paths_are_hex_indexes() {
        assert_eq!(controller_path(0, 0), CURRENT_PATH);
        assert_eq!(controller_path(1, 0), NEXT_PATH);
        assert_eq!(controller_path(10, 11), "signify:controllerab");
    }

    #[test]
    fn low_tier_keys_and_inception_match_the_vectors() {
        let current = derive_signer(PASSCODE, CURRENT_PATH, Tier::Low).unwrap();
        assert_eq!(
            current.seed().to_vec(),
            unhex("26a9d6f67f5ded24be6859ed422a86c6a3cf360851b2a7265c5eeaf6ddff5b88")
        );
        assert_eq!(
            current.seed_qb64().as_str(),
            "ACap1vZ_Xe0kvmhZ7UIqhsajzzYIUbKnJlxe6vbd_1uI"
        );
        assert_eq!(
            current.verfer().raw().to_vec(),
            unhex("06d68e86db68ba9107de0a880bad0076ffab33e93879b72d4440fe4b317ad55c")
        );
        assert_eq!(
            current.verfer().qb64(),
            "DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc"
        );
        let next = derive_signer(PASSCODE, NEXT_PATH, Tier::Low).unwrap();
        assert_eq!(
            next.seed().to_vec(),
            unhex("0f03e37066dc9a49bc1481f5f86ac063477b8d2d7f266e3fbe83b83c403566fe")
        );
        assert_eq!(
            next.verfer().qb64(),
            "DHMAZEksiqGxlNKnm0pSAyMRPK1ZKyBfGV8q_B9r6pLs"
        );
        let (icp, siger) = inception_from_keys(&current, &next);
        assert_eq!(
            icp.next_digests()[0].qb64(),
            "EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL"
        );
        assert_eq!(icp.prefix(), "ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose");
        assert_eq!(
            siger.qb64(),
            "AACJwsJ0mvb4VgxD87H4jIsiT1QtlzznUy9zrX3lGdd48jjQRTv8FxlJ8ClDsGtkvK4Eekg5p-oPYiPvK_1eTXEG"
        );
    }

    fn check_tier(tier: Tier, key: &str, next_digest: &str, controller: &str) {
        let (icp, siger) = controller_inception(PASSCODE, tier).unwrap();
        assert_eq!(icp.keys()[0].qb64(), key);
        assert_eq!(icp.next_digests()[0].qb64(), next_digest);
        assert_eq!(icp.prefix(), controller);
        icp.verify_signatures(&icp.keys(), &[siger]).unwrap();
    }

    #[test]
    fn med_tier_matches_the_vector() {
        check_tier(
            Tier::Med,
            "DFWuZ5YRZv9iqwakjHICyHoxsWPM8n9kZjZXY33_uTPS",
            "EM6Q8GNZqXnIOAaqAYTHcZm_VeW7lupBKgSQgOhVk4L3",
            "EOgQvKz8ziRn7FdR_ebwK9BkaVOnGeXQOJ87N6hMLrK0",
        );
    }

    #[test]
    fn high_tier_matches_the_vector() {
        check_tier(
            Tier::High,
            "DGZEhLteSlM8VJXdM9sKwTk_4CjvQQ_W2pyxqcNRUjK3",
            "ELvsOgQbUHqQv6J2rUl_Kga96yFvn79KZaaCGRkVDsaX",
            "EB8wN2c_tv1WlsJ5c3949-TFWPMB2IflFbdMlZfC_Hgo",
        );
    }

    #[test]
    fn random_passcodes_are_usable() {
        let passcode = random_passcode().unwrap();
        assert_eq!(passcode.len(), PASSCODE_LENGTH);
        passcode_salt(&passcode).unwrap();
        assert_ne!(passcode, random_passcode().unwrap());
    }
}
