//! Encrypted payloads of payment outputs, and payment certificates (`rvalue`).
//!
//! The sender draws a secret `r` (an [`Rvalue`]) and puts `R = r*G` in the output. Sender
//! and recipient share the point `S = r*P = x*R` (Diffie-Hellman), from which both derive
//! `H(S || R)` = an AES-128-CTR key, its IV and a MAC key. The payload is encrypted with
//! AES-128-CTR and authenticated with a 16-byte tag, BLAKE3 keyed by the MAC key over the
//! ciphertext, so a wrong key or an altered payload is detected instead of decrypting to
//! garbage.
//!
//! **Payment certificates.** Whoever holds `r` can decrypt the output too
//! ([`decrypt_payload_with_rvalue`]), and the check `r*G == R` proves that this `r` is the one
//! the output was made with. So the sender, by revealing `r`, can prove to anyone what an
//! output paid and to whom, which is what the API's `validate_certificate` does.

use std::fmt;
use std::str::FromStr;

use aes::Aes128;
use ctr::cipher::{KeyIvInit, StreamCipher};
use curve25519_dalek::Scalar;
use curve25519_dalek::ristretto::RistrettoPoint;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::hash::Hasher;
use super::hex::{self, HexError};
use super::keys::{
    KeyError, PublicKey, SecretKey, mul_base_nonzero, nonzero_scalar, scalar_from_canonical,
};

/// Domain of [`Rvalue::from_seed`].
const RVALUE_DOMAIN: &str = "stegosim crypto v1 payload rvalue";
/// Domain of the key, IV and MAC key derived from the shared point.
const KEYS_DOMAIN: &str = "stegosim crypto v1 payload keys";

/// Length of the authentication tag in bytes.
pub const TAG_LEN: usize = 16;

type Aes128Ctr = ctr::Ctr128BE<Aes128>;

/// Why a payload could not be decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The rvalue is not the one this output was made with: `r*G != R`. The certificate is
    /// false.
    #[error("rvalue does not match the output (r*G != R)")]
    WrongRvalue,
    /// The tag does not match: the key is not the recipient's (or the rvalue is wrong), or
    /// the payload was altered.
    #[error("payload tag mismatch: wrong key, or the payload was altered")]
    TagMismatch,
}

/// Why a string was refused as an rvalue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RvalueError {
    /// Not 64 hex characters.
    #[error("rvalue: {0}")]
    Hex(#[from] HexError),
    /// Not a canonical, non-zero scalar.
    #[error("rvalue: {0}")]
    Scalar(#[from] KeyError),
}

/// The sender's secret `r` of one output: the payment certificate.
///
/// Shown and serialised as 64 lower-case hex characters (the canonical little-endian scalar),
/// because the API hands it to users. Zeroed on drop like a key, since it opens the payload.
#[derive(Clone, PartialEq, Eq)]
pub struct Rvalue(Scalar);

impl Rvalue {
    /// Makes a fresh rvalue from 32 bytes the caller draws for this output.
    pub fn from_seed(seed: [u8; 32]) -> Rvalue {
        let mut h = Hasher::new(RVALUE_DOMAIN);
        h.update(&seed);
        Rvalue(nonzero_scalar(&h))
    }

    /// Parses the canonical 32-byte encoding.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Rvalue, KeyError> {
        scalar_from_canonical(bytes).map(Rvalue)
    }

    /// The canonical 32-byte little-endian encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// `R = r*G`, the point published in the output.
    pub fn point(&self) -> PublicKey {
        mul_base_nonzero(&self.0)
    }
}

impl Drop for Rvalue {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Display for Rvalue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex::write(f, &self.to_bytes())
    }
}

impl fmt::Debug for Rvalue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rvalue({self})")
    }
}

impl FromStr for Rvalue {
    type Err = RvalueError;

    /// Parses 64 hex characters (either case) holding a canonical, non-zero scalar.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Rvalue::from_bytes(hex::decode_array(s)?)?)
    }
}

impl Serialize for Rvalue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rvalue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        hex::deserialize_from_str(deserializer)
    }
}

/// An output's encrypted payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedPayload {
    /// `R = r*G`: lets the recipient compute the shared point `x*R`.
    pub r_point: PublicKey,
    /// AES-128-CTR of the plaintext (same length).
    #[serde(with = "hex::vec")]
    pub ciphertext: Vec<u8>,
    /// First 16 bytes of BLAKE3 keyed by the MAC key, over the ciphertext.
    #[serde(with = "hex::array")]
    pub tag: [u8; TAG_LEN],
}

/// AES key, IV and MAC key derived from the shared point and `R`; zeroed on drop.
struct PayloadKeys {
    /// AES-128 key.
    aes_key: [u8; 16],
    /// Initial counter block.
    iv: [u8; 16],
    /// BLAKE3 key for the tag.
    mac_key: [u8; 32],
}

impl PayloadKeys {
    fn derive(shared: &RistrettoPoint, r_point: &PublicKey) -> PayloadKeys {
        let mut h = Hasher::new(KEYS_DOMAIN);
        h.update(shared.compress().as_bytes())
            .update(r_point.as_bytes());
        let mut out = Zeroizing::new([0u8; 64]);
        h.finalize_into(out.as_mut());
        let mut keys = PayloadKeys {
            aes_key: [0; 16],
            iv: [0; 16],
            mac_key: [0; 32],
        };
        keys.aes_key.copy_from_slice(&out[..16]);
        keys.iv.copy_from_slice(&out[16..32]);
        keys.mac_key.copy_from_slice(&out[32..]);
        keys
    }

    /// XORs the AES-128-CTR keystream into `buf` (encrypts or decrypts).
    fn apply_keystream(&self, buf: &mut [u8]) {
        // A 128-bit counter cannot run out for any buffer that fits in memory, so the
        // cipher's "end of keystream" panic is unreachable.
        Aes128Ctr::new((&self.aes_key).into(), (&self.iv).into()).apply_keystream(buf);
    }

    fn tag(&self, ciphertext: &[u8]) -> [u8; TAG_LEN] {
        let full = blake3::keyed_hash(&self.mac_key, ciphertext);
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full.as_bytes()[..TAG_LEN]);
        tag
    }

    fn open(&self, payload: &EncryptedPayload) -> Result<Vec<u8>, PayloadError> {
        let expected = self.tag(&payload.ciphertext);
        if !bool::from(expected.ct_eq(&payload.tag)) {
            return Err(PayloadError::TagMismatch);
        }
        let mut plaintext = payload.ciphertext.clone();
        self.apply_keystream(&mut plaintext);
        Ok(plaintext)
    }
}

impl Drop for PayloadKeys {
    fn drop(&mut self) {
        self.aes_key.zeroize();
        self.iv.zeroize();
        self.mac_key.zeroize();
    }
}

/// Encrypts `plaintext` for `recipient` with the sender's rvalue `r`.
///
/// Keep `r` to issue a payment certificate later; draw a fresh one for every output, since
/// the same `r` and recipient give the same keystream.
pub fn encrypt_payload(r: &Rvalue, recipient: &PublicKey, plaintext: &[u8]) -> EncryptedPayload {
    let r_point = r.point();
    let keys = PayloadKeys::derive(&(recipient.point() * r.0), &r_point);
    let mut ciphertext = plaintext.to_vec();
    keys.apply_keystream(&mut ciphertext);
    let tag = keys.tag(&ciphertext);
    EncryptedPayload {
        r_point,
        ciphertext,
        tag,
    }
}

/// Decrypts a payload sent to `recipient`'s key, detecting a wrong key or an altered payload.
pub fn decrypt_payload(
    recipient: &SecretKey,
    payload: &EncryptedPayload,
) -> Result<Vec<u8>, PayloadError> {
    let shared = payload.r_point.point() * recipient.scalar();
    PayloadKeys::derive(&shared, &payload.r_point).open(payload)
}

/// Decrypts a payload with the sender's rvalue instead of the recipient's key: validates a
/// payment certificate. Checks `r*G == R` first, so a certificate for another output is
/// refused with [`PayloadError::WrongRvalue`].
pub fn decrypt_payload_with_rvalue(
    r: &Rvalue,
    recipient: &PublicKey,
    payload: &EncryptedPayload,
) -> Result<Vec<u8>, PayloadError> {
    if r.point() != payload.r_point {
        return Err(PayloadError::WrongRvalue);
    }
    let shared = recipient.point() * r.0;
    PayloadKeys::derive(&shared, &payload.r_point).open(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rvalue_text_round_trip() {
        let r = Rvalue::from_seed([1; 32]);
        let s = r.to_string();
        assert_eq!(s.len(), 64);
        assert_eq!(s.parse::<Rvalue>(), Ok(r.clone()));
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Rvalue>(&json).unwrap(), r);
        assert_eq!(
            "00".repeat(32).parse::<Rvalue>(),
            Err(RvalueError::Scalar(KeyError::ZeroScalar))
        );
        assert!(matches!("zz".parse::<Rvalue>(), Err(RvalueError::Hex(_))));
    }

    #[test]
    fn payload_serde() {
        let sk = SecretKey::from_seed([2; 32]);
        let p = encrypt_payload(&Rvalue::from_seed([3; 32]), &sk.public_key(), b"x");
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<EncryptedPayload>(&json).unwrap(), p);
    }
}
