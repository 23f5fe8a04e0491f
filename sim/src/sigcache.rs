//! A shared signature-check cache for many nodes in one process.
//!
//! Every node of a simulated network checks the same block and vote signatures: with `n`
//! validators, each vote is checked `n - 1` times. A check is a pure function of (keys,
//! message, signature), so the answer of the first check serves the others. The node still
//! asks for every check it would make (see `stegosim_node::chain::SigChecker`); the cache
//! changes how long a run takes, never what it does.

use std::collections::HashMap;
use std::sync::Mutex;

use stegosim_node::chain::{SigChecker, verify_sum};
use stegosim_node::crypto::{Hash, PublicKey, Signature};

/// Largest number of remembered answers; the cache is emptied when it is full (old votes and
/// blocks are rarely checked again).
pub const SIG_CACHE_ENTRIES_MAX: usize = 1 << 20;

/// Remembers the answers of signature checks.
#[derive(Debug, Default)]
pub struct SigCache {
    /// blake3(keys, message, signature) -> valid. Never iterated, so its order cannot reach
    /// any output.
    answers: Mutex<HashMap<[u8; 32], bool>>,
}

impl SigCache {
    /// An empty cache.
    pub fn new() -> SigCache {
        SigCache::default()
    }
}

impl SigChecker for SigCache {
    fn check(&self, keys: &[PublicKey], msg: &Hash, sig: &Signature) -> bool {
        let mut h = blake3::Hasher::new();
        h.update(&(keys.len() as u64).to_le_bytes());
        for k in keys {
            h.update(k.as_bytes());
        }
        h.update(msg.as_bytes());
        h.update(&sig.to_bytes());
        let key = *h.finalize().as_bytes();
        // A poisoned lock means another thread panicked mid-insert; the map is still a valid
        // map of correct answers.
        if let Some(&v) = self
            .answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return v;
        }
        let valid = verify_sum(keys, msg, sig);
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        if answers.len() >= SIG_CACHE_ENTRIES_MAX {
            answers.clear();
        }
        answers.insert(key, valid);
        valid
    }
}
