//! Password-protected secret keys: how a sealed account's key rests on disk.
//!
//! The password goes through Argon2id (memory-hard, so guessing passwords on GPUs is costly)
//! with a per-key salt to a 256-bit key, which encrypts the secret key with AES-256-GCM. The
//! AEAD tag makes a wrong password a clean [`SealError::InvalidPassword`] rather than a wrong
//! key. The KDF parameters and salt are authenticated as associated data, so they cannot be
//! lowered on disk without the password check failing.
//!
//! Salt and nonce come from the caller as bytes (the node's seeded stream), like all
//! randomness in the node.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::hex;
use super::keys::SecretKey;

/// Domain string leading the associated data, so this ciphertext cannot be mistaken for
/// another use of the same key.
const AAD_DOMAIN: &[u8] = b"stegosim crypto v1 sealed secret key";

/// Argon2id cost parameters, stored beside each sealed key so they can change over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory per hash in KiB; at least 8 per lane, at most [`KdfParams::MEMORY_KIB_MAX`].
    pub memory_kib: u32,
    /// Passes over the memory; 1 to [`KdfParams::ITERATIONS_MAX`].
    pub iterations: u32,
    /// Lanes; 1 to [`KdfParams::PARALLELISM_MAX`]. Lanes run one after another here.
    pub parallelism: u32,
}

impl KdfParams {
    /// Largest memory accepted (1 GiB), so a crafted key file cannot make the node allocate
    /// without bound when opening it.
    pub const MEMORY_KIB_MAX: u32 = 1 << 20;
    /// Most passes accepted, for the same reason.
    pub const ITERATIONS_MAX: u32 = 64;
    /// Most lanes accepted.
    pub const PARALLELISM_MAX: u32 = 16;

    /// Tiny parameters (8 KiB, one pass) so a simulation with thousands of accounts seals
    /// and unseals them in microseconds. **Insecure**: a password guess costs almost nothing.
    /// Never use them for a key that protects anything.
    pub const fn simulation() -> KdfParams {
        KdfParams {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn argon2(&self) -> Result<Argon2<'static>, SealError> {
        if self.memory_kib > Self::MEMORY_KIB_MAX
            || self.iterations > Self::ITERATIONS_MAX
            || self.parallelism > Self::PARALLELISM_MAX
        {
            return Err(SealError::InvalidKdfParams(format!(
                "{self:?} exceeds the limits (memory_kib <= {}, iterations <= {}, \
                 parallelism <= {})",
                Self::MEMORY_KIB_MAX,
                Self::ITERATIONS_MAX,
                Self::PARALLELISM_MAX
            )));
        }
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| SealError::InvalidKdfParams(format!("{self:?}: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Associated data binding the ciphertext to these parameters and the salt.
    fn associated_data(&self, salt: &[u8; 16]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(AAD_DOMAIN.len() + 12 + 16);
        aad.extend_from_slice(AAD_DOMAIN);
        aad.extend_from_slice(&self.memory_kib.to_le_bytes());
        aad.extend_from_slice(&self.iterations.to_le_bytes());
        aad.extend_from_slice(&self.parallelism.to_le_bytes());
        aad.extend_from_slice(salt);
        aad
    }

    /// Stretches the password into the AES-256-GCM cipher.
    fn cipher(&self, password: &str, salt: &[u8; 16]) -> Result<Aes256Gcm, SealError> {
        let mut key = Zeroizing::new([0u8; 32]);
        self.argon2()?
            .hash_password_into(password.as_bytes(), salt, key.as_mut())
            .map_err(|e| SealError::InvalidKdfParams(e.to_string()))?;
        let key: &[u8; 32] = &key;
        Ok(Aes256Gcm::new(key.into()))
    }
}

impl Default for KdfParams {
    /// OWASP's recommended Argon2id setting: 19 MiB, 2 passes, 1 lane (tens of
    /// milliseconds per unseal).
    fn default() -> KdfParams {
        KdfParams {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// A secret key sealed under a password; serialisable for storage (bytes as hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedSecret {
    /// The KDF cost the key was sealed with.
    pub kdf: KdfParams,
    /// Argon2 salt, drawn fresh for every seal so equal passwords give unrelated keys.
    #[serde(with = "hex::array")]
    pub salt: [u8; 16],
    /// AES-GCM nonce.
    #[serde(with = "hex::array")]
    pub nonce: [u8; 12],
    /// The 32 key bytes encrypted, then the 16-byte GCM tag.
    #[serde(with = "hex::vec")]
    pub ciphertext: Vec<u8>,
}

/// Why a key could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The KDF parameters are outside Argon2's or our limits.
    #[error("invalid KDF parameters: {0}")]
    InvalidKdfParams(String),
    /// The password is wrong (or the sealed key was altered): the AEAD tag does not match.
    #[error("invalid password")]
    InvalidPassword,
    /// The password opened the box but the contents are not a valid 32-byte key: the file
    /// was written by something else.
    #[error("sealed secret is not a valid secret key")]
    CorruptSecret,
}

/// Seals `secret` under `password`. `salt` and `nonce` are fresh random bytes from the caller.
pub fn seal_secret(
    secret: &SecretKey,
    password: &str,
    salt: [u8; 16],
    nonce: [u8; 12],
    params: KdfParams,
) -> Result<EncryptedSecret, SealError> {
    let cipher = params.cipher(password, &salt)?;
    let aad = params.associated_data(&salt);
    let ciphertext = cipher
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: secret.to_bytes().as_ref(),
                aad: &aad,
            },
        )
        .expect("AES-GCM refuses only inputs over 64 GiB; this is 32 bytes");
    Ok(EncryptedSecret {
        kdf: params,
        salt,
        nonce,
        ciphertext,
    })
}

/// Opens a sealed key with `password`; a wrong password gives [`SealError::InvalidPassword`].
pub fn open_secret(sealed: &EncryptedSecret, password: &str) -> Result<SecretKey, SealError> {
    let cipher = sealed.kdf.cipher(password, &sealed.salt)?;
    let aad = sealed.kdf.associated_data(&sealed.salt);
    let plaintext = Zeroizing::new(
        cipher
            .decrypt(
                (&sealed.nonce).into(),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::InvalidPassword)?,
    );
    let bytes: [u8; 32] = plaintext
        .as_slice()
        .try_into()
        .map_err(|_| SealError::CorruptSecret)?;
    SecretKey::from_bytes(bytes).map_err(|_| SealError::CorruptSecret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_wrong_password() {
        let sk = SecretKey::from_seed([1; 32]);
        let sealed = seal_secret(&sk, "pw", [2; 16], [3; 12], KdfParams::simulation()).unwrap();
        assert_eq!(sealed.ciphertext.len(), 48);
        assert_eq!(open_secret(&sealed, "pw"), Ok(sk));
        assert_eq!(
            open_secret(&sealed, "pW").unwrap_err(),
            SealError::InvalidPassword
        );
    }

    #[test]
    fn lowered_params_detected() {
        let sk = SecretKey::from_seed([1; 32]);
        let mut sealed = seal_secret(
            &sk,
            "pw",
            [2; 16],
            [3; 12],
            KdfParams {
                memory_kib: 16,
                ..KdfParams::simulation()
            },
        )
        .unwrap();
        sealed.kdf.memory_kib = 8;
        assert_eq!(
            open_secret(&sealed, "pw").unwrap_err(),
            SealError::InvalidPassword
        );
    }

    #[test]
    fn absurd_params_refused() {
        let sk = SecretKey::from_seed([1; 32]);
        let huge = KdfParams {
            memory_kib: u32::MAX,
            ..KdfParams::simulation()
        };
        assert!(matches!(
            seal_secret(&sk, "pw", [2; 16], [3; 12], huge),
            Err(SealError::InvalidKdfParams(_))
        ));
        let zero = KdfParams {
            iterations: 0,
            ..KdfParams::simulation()
        };
        assert!(matches!(
            seal_secret(&sk, "pw", [2; 16], [3; 12], zero),
            Err(SealError::InvalidKdfParams(_))
        ));
    }
}
