//! Cryptography: keys, addresses, signatures, payload encryption, recovery phrases.
//!
//! Real cryptography wherever the API shows it (`DESIGN.md`, "Cryptography: real where the
//! API shows it"), and deterministic: nothing here draws randomness or reads a clock. Every
//! fresh secret (a key, an rvalue, a nonce, a salt) comes in as bytes from the caller, who
//! draws them from the node's seeded streams; nothing public takes a `rand` trait, so the
//! node's choice of `rand` version is its own.
//!
//! ## Map
//! - [`hash`]: [`Hash`] (32 bytes, hex) and [`Hasher`], BLAKE3 with a domain string per use.
//! - [`keys`]: [`SecretKey`], [`PublicKey`], [`Keypair`] on Ristretto255
//!   (`curve25519-dalek`), and derived public-address keys ([`SecretKey::derive`]).
//! - [`address`]: bech32 addresses with the [`Network`]'s prefix (`dev`, `str`, `stt`, `stg`).
//! - [`signature`]: Schnorr [`sign`] / [`verify`], and joint signatures for Snowball
//!   ([`JointSigning`]): several owners sign one transaction under the sum of their keys.
//! - [`payload`]: output payloads encrypted to the recipient (Diffie-Hellman, AES-128-CTR,
//!   a BLAKE3 tag) and payment certificates ([`Rvalue`]).
//! - [`recovery`]: the 24-word recovery phrase of a secret key.
//! - [`password`]: secret keys sealed under a password (Argon2id, AES-256-GCM).
//!
//! ## What is simplified
//! One thing only: joint signatures add keys and nonces naively (no MuSig key weights, no
//! two-round nonces), which is sound here because every summed key is an input owner's key
//! already on chain. Everything else is what a production node would use. The cheap
//! replacements the design allows (for range proofs, BLS multisignatures, VDFs, VRFs) live
//! with the chain, not here. [`KdfParams::simulation`] exists for speed but is a parameter
//! choice the caller makes, documented as insecure.
//!
//! ## Cost (see `benches/crypto.rs`)
//! Verifying a signature is one variable-time double-base multiplication plus a point
//! decompression and compression, tens of microseconds; curve25519-dalek picks its AVX2
//! backend at run time where the CPU has it.

pub mod address;
pub mod hash;
mod hex;
pub mod keys;
pub mod password;
pub mod payload;
pub mod recovery;
pub mod signature;

pub use address::{AddressError, Network, UnknownNetwork};
pub use hash::{Hash, Hasher};
pub use hex::HexError;
pub use keys::{KeyError, Keypair, PublicKey, SecretKey, shared_secret};
pub use password::{EncryptedSecret, KdfParams, SealError, open_secret, seal_secret};
pub use payload::{
    EncryptedPayload, PayloadError, Rvalue, RvalueError, decrypt_payload,
    decrypt_payload_with_rvalue, encrypt_payload,
};
pub use recovery::{RecoveryError, from_phrase, to_phrase};
pub use signature::{
    JointSigning, NonceCommitment, NonceSecret, PartialSignature, Signature, SignatureError, sign,
    verify, verify_sum,
};
