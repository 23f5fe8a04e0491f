//! Schnorr signatures over Ristretto255, single and joint (for Snowball's shared transaction).
//!
//! A signature on `msg` by key `x` (public `P = x*G`) is `(R, s)` with `R = r*G`,
//! `e = H(R || P || msg)` and `s = r + e*x`; it verifies when `s*G - e*P == R`.
//!
//! - **Single signatures** ([`sign`], [`verify`]) take the nonce `r` from a hash of the secret
//!   key and the message, so signing needs no randomness and one key never signs two
//!   messages with the same nonce.
//! - **Joint signatures** ([`JointSigning`]): several owners sign one message so that the
//!   result is an ordinary [`Signature`] under the sum of their keys. Each signer publishes a
//!   nonce commitment `R_i = r_i*G`; with `R = ΣR_i`, `P = ΣP_i` and `e = H(R || P || msg)`,
//!   each signer sends `s_i = r_i + e*x_i`, and `s = Σs_i`. This is the naive scheme (no
//!   MuSig key weights, no two-round nonces): acceptable because every summed key is already
//!   registered on chain before the session starts, so no signer can choose a key to cancel
//!   the others'. It is the one simplification of production-grade cryptography in this
//!   module.
//!
//! Verification uses a variable-time double-base multiplication (`s*G - e*P` in one pass):
//! inputs to verification are public, so variable time leaks nothing, and it is what lets
//! one core check tens of thousands of transactions per second.

use std::fmt;

use curve25519_dalek::Scalar;
use curve25519_dalek::ristretto::RistrettoPoint;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

use super::hash::Hasher;
use super::hex;
use super::keys::{KeyError, Keypair, PublicKey, SecretKey, mul_base_nonzero, nonzero_scalar};

/// Domain of the challenge `e = H(R || P || msg)`.
const CHALLENGE_DOMAIN: &str = "stegosim crypto v1 schnorr challenge";
/// Domain of a single signature's deterministic nonce.
const NONCE_DOMAIN: &str = "stegosim crypto v1 schnorr nonce";
/// Domain of a joint signer's nonce.
const JOINT_NONCE_DOMAIN: &str = "stegosim crypto v1 joint schnorr nonce";

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature does not match the key and message (a different key or message, or a
    /// forged or damaged signature).
    #[error("signature does not match the public key and message")]
    Mismatch,
    /// The signature's `s` is not a reduced scalar; only one encoding of each signature is
    /// accepted, so signatures cannot be altered without the key.
    #[error("signature scalar is not canonical")]
    NonCanonical,
    /// A joint signature was started with no keys, or with keys that sum to the identity.
    #[error("the signers' public keys are empty or sum to the identity")]
    DegenerateKeySum,
}

/// A Schnorr signature: the nonce point `R` (32 bytes) then the scalar `s` (32 bytes).
///
/// Shown and serialised as 128 lower-case hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature {
    /// Compressed `R = r*G`.
    r: [u8; 32],
    /// Little-endian `s = r + e*x`.
    s: [u8; 32],
}

impl Signature {
    /// Length of the encoding in bytes.
    pub const LEN: usize = 64;

    /// The 64-byte encoding `R || s`.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.r);
        out[32..].copy_from_slice(&self.s);
        out
    }

    /// Reads the 64-byte encoding. Any bytes are accepted here; [`verify`] decides whether
    /// they are a valid signature.
    pub fn from_bytes(bytes: [u8; 64]) -> Signature {
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&bytes[..32]);
        s.copy_from_slice(&bytes[32..]);
        Signature { r, s }
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(")?;
        hex::write(f, &self.to_bytes())?;
        f.write_str(")")
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        hex::array::serialize(&self.to_bytes(), serializer)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        hex::array::deserialize(deserializer).map(Signature::from_bytes)
    }
}

/// `e = H(R || P || msg)`.
fn challenge(r: &[u8; 32], public: &PublicKey, msg: &[u8]) -> Scalar {
    let mut h = Hasher::new(CHALLENGE_DOMAIN);
    h.update(r).update(public.as_bytes()).update(msg);
    h.finalize_scalar()
}

/// Checks `s*G - e*P == R` for `R` given by its encoding.
fn check(public: &PublicKey, r: &[u8; 32], s: &Scalar, e: &Scalar) -> Result<(), SignatureError> {
    check_point(&public.point_cached(), r, s, e)
}

/// [`check`] with the key already a point.
fn check_point(
    public: &RistrettoPoint,
    r: &[u8; 32],
    s: &Scalar,
    e: &Scalar,
) -> Result<(), SignatureError> {
    let expected_r = RistrettoPoint::vartime_double_scalar_mul_basepoint(&-e, public, s).compress();
    // Comparing encodings also refuses any non-canonical encoding of R.
    if expected_r.as_bytes() == r {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn parse_s(bytes: [u8; 32]) -> Result<Scalar, SignatureError> {
    Option::from(Scalar::from_canonical_bytes(bytes)).ok_or(SignatureError::NonCanonical)
}

fn sign_with(secret: &SecretKey, public: &PublicKey, msg: &[u8]) -> Signature {
    let mut h = Hasher::new(NONCE_DOMAIN);
    h.update(secret.to_bytes().as_ref()).update(msg);
    let mut nonce = nonzero_scalar(&h);
    let r = RistrettoPoint::mul_base(&nonce).compress().to_bytes();
    let s = nonce + challenge(&r, public, msg) * secret.scalar();
    nonce.zeroize();
    Signature { r, s: s.to_bytes() }
}

/// Signs `msg` with `secret`. Deterministic: the same key and message give the same
/// signature. Computes the public key first; [`Keypair::sign`] skips that.
pub fn sign(secret: &SecretKey, msg: &[u8]) -> Signature {
    sign_with(secret, &secret.public_key(), msg)
}

/// Checks that `sig` is `public`'s signature on `msg`.
pub fn verify(public: &PublicKey, msg: &[u8], sig: &Signature) -> Result<(), SignatureError> {
    let s = parse_s(sig.s)?;
    check(public, &sig.r, &s, &challenge(&sig.r, public, msg))
}

/// Checks that `sig` is a signature on `msg` by the sum of `keys` (a transaction's inputs'
/// keys; a joint signature), as [`verify`] against [`PublicKey::sum`] would, but faster: each
/// key is decompressed once (or found in the per-thread cache) and the sum is compressed once,
/// for the challenge, and used as a point for the check instead of being decompressed again.
/// Refuses an empty list and keys that sum to the identity ([`SignatureError::DegenerateKeySum`]).
pub fn verify_sum(keys: &[PublicKey], msg: &[u8], sig: &Signature) -> Result<(), SignatureError> {
    if let [key] = keys {
        return verify(key, msg, sig);
    }
    let s = parse_s(sig.s)?;
    let point: RistrettoPoint = keys.iter().map(PublicKey::point_cached).sum();
    let key = PublicKey::from_point(&point).ok_or(SignatureError::DegenerateKeySum)?;
    check_point(&point, &sig.r, &s, &challenge(&sig.r, &key, msg))
}

impl Keypair {
    /// Signs `msg` (see [`sign`]) using the cached public key.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        sign_with(self.secret(), self.public(), msg)
    }
}

impl PublicKey {
    /// Checks that `sig` is this key's signature on `msg` (see [`verify`]).
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), SignatureError> {
        verify(self, msg, sig)
    }
}

/// One signer's secret nonce `r_i` for one joint signature.
///
/// Not `Clone`, and consumed by [`JointSigning::sign_partial`]: signing two different
/// messages with one nonce reveals the secret key, so a nonce is used once and dropped
/// (zeroed). `Debug` prints no digits.
pub struct NonceSecret(Scalar);

impl NonceSecret {
    /// Derives a nonce from the signer's key and 32 bytes the caller draws fresh for this
    /// session. Mixing in the key keeps two signers with the same random stream (two nodes of
    /// a simulation started from one seed) from sharing nonces; the caller must still never
    /// pass the same `seed` twice for one key.
    pub fn derive(secret: &SecretKey, seed: [u8; 32]) -> NonceSecret {
        let mut h = Hasher::new(JOINT_NONCE_DOMAIN);
        h.update(secret.to_bytes().as_ref()).update(&seed);
        NonceSecret(nonzero_scalar(&h))
    }

    /// The commitment `R_i = r_i*G` to publish to the other signers.
    pub fn commitment(&self) -> NonceCommitment {
        NonceCommitment(mul_base_nonzero(&self.0))
    }
}

impl Drop for NonceSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for NonceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NonceSecret(<redacted>)")
    }
}

/// A signer's published nonce commitment `R_i` (a valid, non-identity point).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NonceCommitment(PublicKey);

impl NonceCommitment {
    /// Parses a commitment received from another signer.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<NonceCommitment, KeyError> {
        PublicKey::from_bytes(bytes).map(NonceCommitment)
    }

    /// The 32-byte encoding.
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

/// One signer's share `s_i = r_i + e*x_i` of a joint signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PartialSignature(Scalar);

impl PartialSignature {
    /// Parses a share received from another signer; only the canonical encoding is accepted.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<PartialSignature, SignatureError> {
        parse_s(bytes).map(PartialSignature)
    }

    /// The 32-byte little-endian encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

impl fmt::Debug for PartialSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PartialSignature(")?;
        hex::write(f, &self.to_bytes())?;
        f.write_str(")")
    }
}

impl Serialize for PartialSignature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        hex::array::serialize(&self.to_bytes(), serializer)
    }
}

impl<'de> Deserialize<'de> for PartialSignature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = hex::array::deserialize(deserializer)?;
        PartialSignature::from_bytes(bytes).map_err(serde::de::Error::custom)
    }
}

/// A joint-signature session: everything every signer computes the same way once all nonce
/// commitments are known.
///
/// The calling sequence, for each signer (one per input key; a wallet with several inputs
/// runs one per input):
/// 1. [`NonceSecret::derive`], publish [`NonceSecret::commitment`];
/// 2. once all commitments are in, [`JointSigning::new`] with all keys, all commitments and
///    the message, then [`JointSigning::sign_partial`] and publish the share;
/// 3. check each share received with [`JointSigning::verify_partial`] (a bad share names the
///    signer to exclude), then [`JointSigning::combine`] them all. The result verifies with
///    [`verify`] against [`JointSigning::public_key_sum`].
#[derive(Clone, Debug)]
pub struct JointSigning {
    /// `P = ΣP_i`.
    key_sum: PublicKey,
    /// Compressed `R = ΣR_i`.
    nonce_sum: [u8; 32],
    /// `e = H(R || P || msg)`.
    challenge: Scalar,
}

impl JointSigning {
    /// Starts a session from every signer's public key and nonce commitment and the message.
    /// Order does not matter. Fails only if the keys are empty or sum to the identity.
    pub fn new<'a, K, C>(
        keys: K,
        commitments: C,
        msg: &[u8],
    ) -> Result<JointSigning, SignatureError>
    where
        K: IntoIterator<Item = &'a PublicKey>,
        C: IntoIterator<Item = &'a NonceCommitment>,
    {
        let key_sum = PublicKey::sum(keys).ok_or(SignatureError::DegenerateKeySum)?;
        let nonce_point: RistrettoPoint = commitments.into_iter().map(|c| c.0.point()).sum();
        let nonce_sum = nonce_point.compress().to_bytes();
        let challenge = challenge(&nonce_sum, &key_sum, msg);
        Ok(JointSigning {
            key_sum,
            nonce_sum,
            challenge,
        })
    }

    /// The key the combined signature verifies against: the sum of the signers' keys.
    pub fn public_key_sum(&self) -> PublicKey {
        self.key_sum
    }

    /// This signer's share `s_i = r_i + e*x_i`; consumes the nonce so it cannot be reused.
    pub fn sign_partial(&self, secret: &SecretKey, nonce: NonceSecret) -> PartialSignature {
        PartialSignature(nonce.0 + self.challenge * secret.scalar())
    }

    /// Checks another signer's share against its key and commitment:
    /// `s_i*G - e*P_i == R_i`.
    pub fn verify_partial(
        &self,
        public: &PublicKey,
        commitment: &NonceCommitment,
        partial: &PartialSignature,
    ) -> Result<(), SignatureError> {
        check(public, commitment.0.as_bytes(), &partial.0, &self.challenge)
    }

    /// Adds the shares into the joint signature `(R, Σs_i)`.
    pub fn combine<'a, I>(&self, partials: I) -> Signature
    where
        I: IntoIterator<Item = &'a PartialSignature>,
    {
        let s: Scalar = partials.into_iter().map(|p| p.0).sum();
        Signature {
            r: self.nonce_sum,
            s: s.to_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify() {
        let kp = Keypair::from_seed([1; 32]);
        let sig = kp.sign(b"hello");
        assert_eq!(sig, sign(kp.secret(), b"hello"));
        assert_eq!(verify(kp.public(), b"hello", &sig), Ok(()));
        assert_eq!(
            kp.public().verify(b"hellO", &sig),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn non_canonical_s_refused() {
        let kp = Keypair::from_seed([2; 32]);
        let mut bytes = kp.sign(b"m").to_bytes();
        // Setting the top bits makes s >= 2^252 + ..., the group order: not reduced.
        bytes[63] |= 0xf0;
        assert_eq!(
            verify(kp.public(), b"m", &Signature::from_bytes(bytes)),
            Err(SignatureError::NonCanonical)
        );
    }

    #[test]
    fn serde_hex() {
        let sig = Keypair::from_seed([3; 32]).sign(b"m");
        let json = serde_json::to_string(&sig).unwrap();
        assert_eq!(json.len(), 128 + 2);
        assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
    }
}
