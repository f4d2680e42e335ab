//! Agent secrets at rest: sealed with a key stretched from `--passcode` (Argon2id), or plain.
//!
//! A store created with a passcode keeps a salt and a check value in the agency's metadata, so
//! a wrong passcode at restart is a clear error, never a crash and never new keys.

use anyhow::{anyhow, bail, Result};
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use zeroize::Zeroizing;

/// The plaintext of the check value sealed at creation.
const CHECK: &[u8] = b"keria passcode check v1";
/// Tag byte of a plain secret.
const PLAIN: u8 = 0;
/// Tag byte of a sealed secret.
const SEALED: u8 = 1;
const NONCE_LEN: usize = 12;

/// Seals and opens secrets; without a passcode it stores them as they are.
pub struct SecretBox {
    cipher: Option<ChaCha20Poly1305>,
}

impl SecretBox {
    /// No passcode: secrets are stored plain, in 0600 files.
    pub fn plain() -> Self {
        Self { cipher: None }
    }

    /// Stretches `passcode` with `salt` (Argon2id, 19 MiB, 2 passes).
    pub fn from_passcode(passcode: &str, salt: &[u8]) -> Result<Self> {
        let params = Params::new(19 * 1024, 2, 1, Some(32))
            .map_err(|err| anyhow!("argon2 parameters: {err}"))?;
        let mut key = Zeroizing::new([0_u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passcode.as_bytes(), salt, key.as_mut())
            .map_err(|err| anyhow!("stretching the passcode: {err}"))?;
        Ok(Self {
            cipher: Some(ChaCha20Poly1305::new(Key::from_slice(key.as_ref()))),
        })
    }

    /// The value stored to recognise this passcode later.
    pub fn check_value(&self) -> Result<Vec<u8>> {
        self.seal(CHECK)
    }

    /// Whether `value` was made by `check_value` with the same passcode.
    pub fn matches_check(&self, value: &[u8]) -> bool {
        self.open(value)
            .is_ok_and(|plain| plain.as_slice() == CHECK)
    }

    /// Seals `secret` (tag, nonce, ciphertext), or tags it plain.
    pub fn seal(&self, secret: &[u8]) -> Result<Vec<u8>> {
        let Some(cipher) = &self.cipher else {
            return Ok([&[PLAIN], secret].concat());
        };
        let mut nonce = [0_u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce)
            .map_err(|err| anyhow!("no randomness for a nonce: {err}"))?;
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), secret)
            .map_err(|_| anyhow!("sealing a secret failed"))?;
        Ok([&[SEALED], &nonce[..], &sealed].concat())
    }

    /// Opens what `seal` made.
    pub fn open(&self, stored: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        match (stored.split_first(), &self.cipher) {
            (Some((&PLAIN, secret)), None) => Ok(Zeroizing::new(secret.to_vec())),
            (Some((&SEALED, rest)), Some(cipher)) if rest.len() > NONCE_LEN => {
                let (nonce, sealed) = rest.split_at(NONCE_LEN);
                cipher
                    .decrypt(Nonce::from_slice(nonce), sealed)
                    .map(Zeroizing::new)
                    .map_err(|_| anyhow!("wrong passcode: a secret does not open"))
            }
            (Some((&SEALED, _)), None) => bail!("the secret is sealed: give the passcode"),
            (Some((&PLAIN, _)), Some(_)) => bail!("the secret was stored without a passcode"),
            _ => bail!("a stored secret is malformed"),
        }
    }
}

/// A fresh random salt for a new store.
pub fn new_salt() -> Result<[u8; 16]> {
    let mut salt = [0_u8; 16];
    getrandom::getrandom(&mut salt).map_err(|err| anyhow!("no randomness for a salt: {err}"))?;
    Ok(salt)
}

#[cfg(test)]
mod tests {
    use super::SecretBox;

    #[test]
    fn sealed_secrets_open_only_with_the_same_passcode() {
        let salt = [7_u8; 16];
        let right = SecretBox::from_passcode("0123456789abcdefghijk", &salt).unwrap();
        let wrong = SecretBox::from_passcode("0123456789abcdefghijX", &salt).unwrap();
        let sealed = right.seal(b"seed").unwrap();
        assert_eq!(right.open(&sealed).unwrap().as_slice(), b"seed");
        assert!(wrong.open(&sealed).is_err());
        assert!(right.matches_check(&right.check_value().unwrap()));
        assert!(!wrong.matches_check(&right.check_value().unwrap()));
        assert!(SecretBox::plain().open(&sealed).is_err());
        let plain = SecretBox::plain().seal(b"seed").unwrap();
        assert_eq!(SecretBox::plain().open(&plain).unwrap().as_slice(), b"seed");
        assert!(right.open(&plain).is_err());
    }
}
