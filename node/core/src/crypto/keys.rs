//! Account keys on Ristretto255: secret scalars, compressed public points, derived keys.
//!
//! Ristretto255 (over Curve25519, from `curve25519-dalek`) gives a prime-order group, so
//! there are no small-order points or cofactor pitfalls: every valid encoding is one group
//! element, every group element has one encoding, and sums of keys (joint signatures) are
//! well defined.
//!
//! Keys come only from bytes the caller supplies: the node draws them from its seeded
//! random streams, so a simulation replays the same keys from the same seed.

use std::fmt;

use curve25519_dalek::Scalar;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::traits::Identity;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, Zeroizing};

use super::hash::Hasher;
use super::hex;

/// Domain of [`SecretKey::from_seed`].
const SEED_DOMAIN: &str = "stegosim crypto v1 secret key from seed";
/// Domain of [`SecretKey::derive`].
const DERIVE_DOMAIN: &str = "stegosim crypto v1 derived public address key";

/// Largest number of decompressed keys [`PublicKey::point_cached`] keeps per thread (160
/// bytes of point and 32 of key each: about 200 KiB when full).
pub const POINT_CACHE_ENTRIES_MAX: usize = 1024;

thread_local! {
    /// Decompressed public keys by encoding (see [`PublicKey::point_cached`]). Per thread, so
    /// no lock; iteration order never matters (only lookups).
    static POINT_CACHE: std::cell::RefCell<std::collections::HashMap<[u8; 32], RistrettoPoint>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Why bytes were refused as a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Secret-key bytes are not a canonical scalar (they are at least the group order), so
    /// two different byte strings would name the same key.
    #[error("secret key bytes are not a canonical scalar (value >= group order)")]
    NonCanonicalScalar,
    /// The secret key is zero, whose public key is the identity that anyone can sign for.
    #[error("secret key is zero")]
    ZeroScalar,
    /// Public-key bytes do not decompress to a Ristretto255 point.
    #[error("public key bytes are not a valid Ristretto255 point")]
    InvalidPoint,
    /// The public key is the group identity, for which anyone can forge signatures.
    #[error("public key is the identity point")]
    IdentityPoint,
}

/// Hashes a prepared hasher to a scalar that is never zero.
///
/// Zero comes out with probability 2^-252; retrying with a counter keeps the function total
/// and deterministic instead of making every caller handle an error that never happens.
pub(crate) fn nonzero_scalar(hasher: &Hasher) -> Scalar {
    let mut counter: u32 = 0;
    loop {
        let mut h = hasher.clone();
        h.update_u32(counter);
        let s = h.finalize_scalar();
        if s != Scalar::ZERO {
            return s;
        }
        counter = counter.wrapping_add(1);
    }
}

/// Parses a canonical, non-zero scalar: the one accepted encoding of a secret key or rvalue.
pub(crate) fn scalar_from_canonical(bytes: [u8; 32]) -> Result<Scalar, KeyError> {
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(bytes))
        .ok_or(KeyError::NonCanonicalScalar)?;
    if s == Scalar::ZERO {
        return Err(KeyError::ZeroScalar);
    }
    Ok(s)
}

/// `s * G` as a key, for a scalar known to be non-zero (keys, rvalues, nonces).
pub(crate) fn mul_base_nonzero(s: &Scalar) -> PublicKey {
    debug_assert!(*s != Scalar::ZERO);
    PublicKey::from_point(&RistrettoPoint::mul_base(s))
        .expect("a non-zero scalar times the basepoint (prime order) is never the identity")
}

/// An account's secret key: a non-zero Ristretto255 scalar.
///
/// Not `Copy`, zeroed on drop, and `Debug` prints no digits, so a secret does not linger in
/// memory or leak into logs and traces.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Scalar);

impl SecretKey {
    /// Makes a fresh key from 32 random bytes the caller drew (from the node's seeded
    /// stream). The bytes are hashed to a scalar, so any 32 bytes give a valid key.
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        let mut h = Hasher::new(SEED_DOMAIN);
        h.update(&seed);
        SecretKey(nonzero_scalar(&h))
    }

    /// Restores a key from its canonical encoding (as [`SecretKey::to_bytes`] gives and the
    /// recovery phrase holds).
    pub fn from_bytes(bytes: [u8; 32]) -> Result<SecretKey, KeyError> {
        scalar_from_canonical(bytes).map(SecretKey)
    }

    /// The canonical 32-byte little-endian encoding, in a buffer that zeroes itself on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key, `x * G` (one fixed-base multiplication).
    pub fn public_key(&self) -> PublicKey {
        mul_base_nonzero(&self.0)
    }

    /// Derives the secret key of public address `id` from this account key.
    ///
    /// Deterministic, so addresses need no separate backup: the account key and the last id
    /// re-create them all. Unlike the original node, where some ids gave no valid Curve25519
    /// key and were skipped, every `id` gives a valid key here (the hash is reduced to a
    /// non-zero scalar), so ids are simply consecutive.
    pub fn derive(&self, id: u32) -> SecretKey {
        let mut h = Hasher::new(DERIVE_DOMAIN);
        h.update(self.to_bytes().as_ref()).update_u32(id);
        SecretKey(nonzero_scalar(&h))
    }

    /// Adds secret keys: the key whose public key is the [`PublicKey::sum`] of theirs (with
    /// repetitions counted). A transaction's signature verifies against the sum of its inputs'
    /// owner keys, one per input, so one holder of all those keys signs with this sum once
    /// instead of running a joint-signature session with itself. `None` for an empty list or
    /// a zero sum.
    pub fn sum<'a, I>(keys: I) -> Option<SecretKey>
    where
        I: IntoIterator<Item = &'a SecretKey>,
    {
        let total: Scalar = keys.into_iter().map(|k| &k.0).sum();
        if total == Scalar::ZERO {
            None
        } else {
            Some(SecretKey(total))
        }
    }

    /// The scalar, for signing and decryption inside this module.
    pub(crate) fn scalar(&self) -> &Scalar {
        &self.0
    }
}

/// Diffie-Hellman: 32 bytes that the owner of `secret` and the owner of `public` both
/// compute (`x_a*P_b == x_b*P_a`), hashed with a domain. Snowball derives its pairwise DC-net
/// pads from it.
pub fn shared_secret(secret: &SecretKey, public: &PublicKey) -> [u8; 32] {
    let point = public.point_cached() * secret.scalar();
    let mut h = Hasher::new("stegosim dh v1");
    h.update(point.compress().as_bytes());
    h.finalize().0
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A public key: a compressed Ristretto255 point, 32 bytes.
///
/// Always a valid, non-identity point: every constructor checks, so code that holds a
/// `PublicKey` never needs to. Shown to users as bech32 with the network's prefix
/// ([`PublicKey::to_bech32`]); serialised as 64 lower-case hex characters, which carry no
/// network (the API layer converts to bech32).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Length of the encoding in bytes.
    pub const LEN: usize = 32;

    /// Parses a compressed point, refusing invalid encodings and the identity.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<PublicKey, KeyError> {
        let point = CompressedRistretto(bytes)
            .decompress()
            .ok_or(KeyError::InvalidPoint)?;
        if point == RistrettoPoint::identity() {
            return Err(KeyError::IdentityPoint);
        }
        Ok(PublicKey(bytes))
    }

    /// The 32-byte encoding.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 32-byte encoding, by value.
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// Adds public keys: the key a joint signature of their owners verifies against.
    ///
    /// Naive aggregation (a plain sum, not MuSig's weighted sum) is safe here only because
    /// every summed key is already registered on chain as the owner of an input, so no one
    /// can choose a key after seeing the others (the "rogue key" attack). Returns `None` for
    /// an empty list or when the keys cancel out to the identity.
    pub fn sum<'a, I>(keys: I) -> Option<PublicKey>
    where
        I: IntoIterator<Item = &'a PublicKey>,
    {
        let total: RistrettoPoint = keys.into_iter().map(PublicKey::point).sum();
        PublicKey::from_point(&total)
    }

    /// The key as a group element for arithmetic.
    pub(crate) fn point(&self) -> RistrettoPoint {
        CompressedRistretto(self.0)
            .decompress()
            .expect("PublicKey is checked to be a valid encoding when constructed")
    }

    /// [`PublicKey::point`] through a small per-thread cache of decompressed keys.
    ///
    /// Decompressing costs a field square root (about 5 µs here), as much as an eighth of a
    /// signature check, and the keys that verify signatures repeat: validators sign every
    /// block and vote, wallets spend many outputs of one account key. Only verification uses
    /// it (never one-time points such as payload nonces, which would only evict). The cache
    /// changes no result, only the time: a key's point is a pure function of its bytes.
    /// When full it is emptied ([`POINT_CACHE_ENTRIES_MAX`]).
    pub(crate) fn point_cached(&self) -> RistrettoPoint {
        POINT_CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            if let Some(p) = cache.get(&self.0) {
                return *p;
            }
            let p = self.point();
            if cache.len() >= POINT_CACHE_ENTRIES_MAX {
                cache.clear();
            }
            cache.insert(self.0, p);
            p
        })
    }

    /// Compresses a point into a key; `None` for the identity.
    pub(crate) fn from_point(point: &RistrettoPoint) -> Option<PublicKey> {
        if *point == RistrettoPoint::identity() {
            None
        } else {
            Some(PublicKey(point.compress().to_bytes()))
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicKey(")?;
        hex::write(f, &self.0)?;
        f.write_str(")")
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        hex::array::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes: [u8; 32] = hex::array::deserialize(deserializer)?;
        PublicKey::from_bytes(bytes).map_err(serde::de::Error::custom)
    }
}

/// A secret key with its public key computed once (a public key costs a scalar
/// multiplication, so signing with a `Keypair` is about twice as fast as with a bare
/// [`SecretKey`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keypair {
    /// The secret half.
    secret: SecretKey,
    /// `secret * G`, cached.
    public: PublicKey,
}

impl Keypair {
    /// Pairs a secret key with its public key.
    pub fn from_secret(secret: SecretKey) -> Keypair {
        let public = secret.public_key();
        Keypair { secret, public }
    }

    /// A fresh keypair from 32 caller-drawn random bytes (see [`SecretKey::from_seed`]).
    pub fn from_seed(seed: [u8; 32]) -> Keypair {
        Keypair::from_secret(SecretKey::from_seed(seed))
    }

    /// The keypair of public address `id` (see [`SecretKey::derive`]).
    pub fn derive(&self, id: u32) -> Keypair {
        Keypair::from_secret(self.secret.derive(id))
    }

    /// The secret key.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_bytes_round_trip() {
        let sk = SecretKey::from_seed([7; 32]);
        let again = SecretKey::from_bytes(*sk.to_bytes()).unwrap();
        assert_eq!(sk, again);
        assert_eq!(sk.public_key(), again.public_key());
    }

    #[test]
    fn secret_bytes_refused() {
        assert_eq!(SecretKey::from_bytes([0; 32]), Err(KeyError::ZeroScalar));
        assert_eq!(
            SecretKey::from_bytes([0xff; 32]),
            Err(KeyError::NonCanonicalScalar)
        );
    }

    #[test]
    fn debug_redacts() {
        let sk = SecretKey::from_seed([1; 32]);
        let shown = format!("{sk:?} {:?}", Keypair::from_secret(sk.clone()));
        let hex = hex::encode(sk.to_bytes().as_ref());
        assert!(!shown.contains(&hex));
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn public_key_refusals() {
        assert_eq!(PublicKey::from_bytes([0; 32]), Err(KeyError::IdentityPoint));
        // Not canonical field element encoding: refused by decompression.
        assert_eq!(
            PublicKey::from_bytes([0xff; 32]),
            Err(KeyError::InvalidPoint)
        );
        let pk = SecretKey::from_seed([2; 32]).public_key();
        assert_eq!(PublicKey::from_bytes(pk.to_bytes()), Ok(pk));
    }

    #[test]
    fn derived_keys_differ_and_repeat() {
        let sk = SecretKey::from_seed([3; 32]);
        assert_eq!(sk.derive(1), sk.derive(1));
        assert_ne!(sk.derive(1), sk.derive(2));
        assert_ne!(sk.derive(1), sk);
        let kp = Keypair::from_secret(sk.clone());
        assert_eq!(*kp.derive(5).public(), sk.derive(5).public_key());
    }

    #[test]
    fn sum_of_keys() {
        let a = SecretKey::from_seed([4; 32]);
        let b = SecretKey::from_seed([5; 32]);
        let sum = PublicKey::sum([a.public_key(), b.public_key()].iter()).unwrap();
        let expected = RistrettoPoint::mul_base(&(a.scalar() + b.scalar()));
        assert_eq!(sum.point(), expected);
        assert_eq!(PublicKey::sum([].iter()), None);
        // x and -x cancel.
        let neg = PublicKey::from_point(&-a.public_key().point()).unwrap();
        assert_eq!(PublicKey::sum([a.public_key(), neg].iter()), None);
    }

    #[test]
    fn serde_validates() {
        let pk = SecretKey::from_seed([6; 32]).public_key();
        let json = serde_json::to_string(&pk).unwrap();
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), pk);
        let zero = format!("\"{}\"", "00".repeat(32));
        assert!(serde_json::from_str::<PublicKey>(&zero).is_err());
    }
}
