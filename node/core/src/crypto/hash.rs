//! 32-byte hashes and a hasher for canonical, domain-separated encodings.
//!
//! Every use of a hash (a block id, a signature challenge, a payload key, ...) gets its own
//! domain string, so a value hashed for one purpose can never be replayed as a value of
//! another. The hasher is BLAKE3 in its key-derivation mode, whose context string is exactly
//! such a domain; BLAKE3 is also several times faster than SHA-2 on short inputs, which
//! matters when a simulation hashes millions of transactions.
//!
//! Encodings fed to the hasher must be canonical and unambiguous: fixed-size fields are
//! written as they are, integers as little-endian, and variable-length fields with a length
//! prefix ([`Hasher::update_bytes`]), so two different values never hash the same input.

use std::fmt;
use std::str::FromStr;

use curve25519_dalek::Scalar;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::hex::{self, HexError};

/// A 32-byte BLAKE3 digest: identifies blocks, transactions and outputs.
///
/// Shown and parsed as 64 lower-case hex characters; serialised the same way so JSON stays
/// readable and diffable.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Length of a hash in bytes.
    pub const LEN: usize = 32;

    /// Hashes one byte string under `domain`: a shortcut for
    /// `Hasher::new(domain).update(data).finalize()`.
    pub fn digest(domain: &str, data: &[u8]) -> Hash {
        let mut h = Hasher::new(domain);
        h.update(data);
        h.finalize()
    }

    /// The digest's bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex::write(f, &self.0)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex::write(f, &self.0)
    }
}

impl FromStr for Hash {
    type Err = HexError;

    /// Parses 64 hex characters (either case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        hex::decode_array(s).map(Hash)
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        hex::array::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        hex::array::deserialize(deserializer).map(Hash)
    }
}

/// Hashes a canonical encoding under a domain string.
///
/// ```
/// use stegosim_node::crypto::Hasher;
/// let mut h = Hasher::new("stegosim example v1");
/// h.update_u64(7).update_bytes(b"variable length");
/// let id = h.finalize();
/// # let _ = id;
/// ```
#[derive(Clone, Debug)]
pub struct Hasher(blake3::Hasher);

impl Hasher {
    /// Starts a hash for one purpose. `domain` should be a fixed string literal naming the
    /// project, the purpose and a version, e.g. `"stegosim tx id v1"`; never build it from
    /// input.
    pub fn new(domain: &str) -> Hasher {
        Hasher(blake3::Hasher::new_derive_key(domain))
    }

    /// Appends raw bytes. Use for fixed-size fields only (keys, hashes); variable-length
    /// data goes through [`Hasher::update_bytes`] so that field boundaries stay unambiguous.
    pub fn update(&mut self, data: &[u8]) -> &mut Self {
        self.0.update(data);
        self
    }

    /// Appends a byte.
    pub fn update_u8(&mut self, v: u8) -> &mut Self {
        self.update(&[v])
    }

    /// Appends a `u32` as 4 little-endian bytes.
    pub fn update_u32(&mut self, v: u32) -> &mut Self {
        self.update(&v.to_le_bytes())
    }

    /// Appends a `u64` as 8 little-endian bytes.
    pub fn update_u64(&mut self, v: u64) -> &mut Self {
        self.update(&v.to_le_bytes())
    }

    /// Appends a `bool` as one byte, 0 or 1.
    pub fn update_bool(&mut self, v: bool) -> &mut Self {
        self.update_u8(u8::from(v))
    }

    /// Appends variable-length bytes, prefixed by their length as a `u64`.
    pub fn update_bytes(&mut self, data: &[u8]) -> &mut Self {
        // usize is at most 64 bits on every supported target, so this never saturates.
        self.update_u64(u64::try_from(data.len()).unwrap_or(u64::MAX));
        self.update(data)
    }

    /// Appends a string as length-prefixed UTF-8.
    pub fn update_str(&mut self, s: &str) -> &mut Self {
        self.update_bytes(s.as_bytes())
    }

    /// Appends a hash (32 bytes, no prefix).
    pub fn update_hash(&mut self, h: &Hash) -> &mut Self {
        self.update(&h.0)
    }

    /// Finishes the hash.
    pub fn finalize(&self) -> Hash {
        Hash(*self.0.finalize().as_bytes())
    }

    /// Fills `out` with output of any length (BLAKE3's extendable output): for deriving
    /// several keys at once.
    pub fn finalize_into(&self, out: &mut [u8]) {
        self.0.finalize_xof().fill(out);
    }

    /// Finishes the hash as a scalar: 64 bytes of output reduced modulo the group order, so
    /// the result is uniform (the bias is about 2^-259).
    pub(crate) fn finalize_scalar(&self) -> Scalar {
        let mut wide = [0u8; 64];
        self.finalize_into(&mut wide);
        let s = Scalar::from_bytes_mod_order_wide(&wide);
        zeroize::Zeroize::zeroize(&mut wide);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_serde() {
        let h = Hash::digest("stegosim test v1", b"abc");
        let s = h.to_string();
        assert_eq!(s.len(), 64);
        assert_eq!(s, s.to_lowercase());
        assert_eq!(s.parse::<Hash>(), Ok(h));
        assert_eq!(format!("{h:?}"), s);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), h);
        assert!(serde_json::from_str::<Hash>("\"00\"").is_err());
    }

    #[test]
    fn domains_separate() {
        assert_ne!(
            Hash::digest("stegosim a v1", b"x"),
            Hash::digest("stegosim b v1", b"x")
        );
    }

    #[test]
    fn length_prefix_makes_boundaries_unambiguous() {
        let mut a = Hasher::new("stegosim test v1");
        a.update_bytes(b"ab").update_bytes(b"c");
        let mut b = Hasher::new("stegosim test v1");
        b.update_bytes(b"a").update_bytes(b"bc");
        assert_ne!(a.finalize(), b.finalize());
    }

    #[test]
    fn parse_errors_are_clear() {
        let err = "xyz".parse::<Hash>().unwrap_err();
        assert_eq!(err.to_string(), "expected 64 hex characters, found 3");
        let bad = format!("{}g", "0".repeat(63));
        let err = bad.parse::<Hash>().unwrap_err();
        assert_eq!(err.to_string(), "invalid hex character 'g' at position 63");
    }
}
