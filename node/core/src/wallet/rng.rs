//! The wallet's randomness: account keys, salts, AEAD nonces, r-values, output nonces.
//!
//! A plain [`Stream`](crate::rng::Stream) restarts from its beginning when the node restarts
//! with the same seed, which would hand a new account the key of an old one and reuse
//! r-values. So draw `n` is `BLAKE3-keyed(k, n)`, with `k` from the node's seed (stream
//! `"wallet"`) and `n` a counter the wallet stores ([`Meta::rng_draws`](super::records::Meta))
//! and syncs with every request that drew: a restarted node continues where the acknowledged
//! state left off, and jumping to draw `n` costs nothing.

use crate::rng::Seed;

/// A counter-mode random stream whose position is stored.
pub(crate) struct WalletRng {
    /// Key of the stream, drawn from the node's seed.
    key: [u8; 32],
    /// Draws taken so far.
    draws: u64,
}

impl std::fmt::Debug for WalletRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is secret material (it determines future account keys).
        f.debug_struct("WalletRng")
            .field("draws", &self.draws)
            .finish_non_exhaustive()
    }
}

impl WalletRng {
    /// The stream of the node with this seed, at its start.
    pub fn new(seed: Seed) -> WalletRng {
        WalletRng {
            key: seed.stream("wallet").bytes32(),
            draws: 0,
        }
    }

    /// Draws taken so far (to store).
    pub fn draws(&self) -> u64 {
        self.draws
    }

    /// Continues from a stored position.
    pub fn seek(&mut self, draws: u64) {
        self.draws = draws;
    }

    /// 32 fresh bytes.
    pub fn bytes32(&mut self) -> [u8; 32] {
        let out = blake3::keyed_hash(&self.key, &self.draws.to_le_bytes());
        self.draws += 1;
        *out.as_bytes()
    }

    /// 16 fresh bytes (salts, output nonces).
    pub fn bytes16(&mut self) -> [u8; 16] {
        let b = self.bytes32();
        let mut out = [0u8; 16];
        out.copy_from_slice(&b[..16]);
        out
    }

    /// 12 fresh bytes (AES-GCM nonces).
    pub fn bytes12(&mut self) -> [u8; 12] {
        let b = self.bytes32();
        let mut out = [0u8; 12];
        out.copy_from_slice(&b[..12]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeking_replays_and_continues() {
        let mut a = WalletRng::new(Seed(3));
        let first = a.bytes32();
        let second = a.bytes32();
        assert_ne!(first, second);
        let mut b = WalletRng::new(Seed(3));
        b.seek(1);
        assert_eq!(b.bytes32(), second);
        assert_ne!(WalletRng::new(Seed(4)).bytes32(), first);
    }
}
