//! Leader election: stake-weighted slots, a leader per height and view, a facilitator.
//!
//! At each macro block (and at genesis) `slots_count` slots are drawn among the next epoch's
//! validators, each slot going to a validator with probability proportional to its active
//! stake, from randomness recorded in that macro block. The leader of a height with view
//! change `v` is the owner of the slot picked by `hash(last block's randomness, v)`. The
//! epoch's Snowball facilitator is drawn the same way from the macro block's randomness.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rand_core::SeedableRng;

use crate::chain::block::ValidatorStake;
use crate::crypto::{Hash, Hasher as HashWriter, PublicKey};
use crate::rng::Rng;

/// The validators of one epoch and their slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Election {
    /// The validators, sorted by network key.
    pub validators: Vec<ValidatorStake>,
    /// `slots[i]` is the index (in `validators`) of the owner of slot `i`.
    pub slots: Vec<u32>,
    /// Slots owned by each validator (same order as `validators`).
    pub slot_counts: Vec<u32>,
    /// The epoch's Snowball facilitator.
    pub facilitator: PublicKey,
    /// Network key -> index in `validators`: every node asks for its own slots after every
    /// input, and a binary search compares 32-byte keys about seven times. Only looked up,
    /// never iterated, so its order cannot reach any output.
    index: HashMap<PublicKey, u32, BuildHasherDefault<KeyPrefixHasher>>,
}

/// Hashes a public key by its first eight bytes: keys are points of a prime-order group
/// encoded canonically, as good as random, so no mixing is needed.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyPrefixHasher(u64);

impl Hasher for KeyPrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // The key's bytes come in one write (a length prefix may come first as a usize).
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
            if bytes.len() >= 8 {
                break;
            }
        }
    }
}

impl Election {
    /// Draws the slots among `validators` (any order; empty stakes get no slot) from `random`.
    /// Returns `None` when no validator has a positive stake.
    pub fn new(
        mut validators: Vec<ValidatorStake>,
        random: &Hash,
        slots_count: u32,
    ) -> Option<Election> {
        validators.retain(|v| v.stake > 0);
        validators.sort_by_key(|v| v.network_pkey);
        validators.dedup_by(|a, b| a.network_pkey == b.network_pkey);
        if validators.is_empty() || slots_count == 0 {
            return None;
        }
        let mut cumulative = Vec::with_capacity(validators.len());
        let mut total: u128 = 0;
        for v in &validators {
            total += v.stake as u128;
            cumulative.push(total);
        }
        let mut seed = HashWriter::new("stegosim election slots v1");
        seed.update_hash(random);
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(*seed.finalize().as_bytes());
        let mut slots = Vec::with_capacity(slots_count as usize);
        let mut slot_counts = vec![0u32; validators.len()];
        for _ in 0..slots_count {
            let draw = (rng.next_u64() as u128 * total) >> 64;
            let idx = cumulative.partition_point(|&c| c <= draw);
            slots.push(idx as u32);
            slot_counts[idx] += 1;
        }
        let mut fac = HashWriter::new("stegosim facilitator v1");
        fac.update_hash(random);
        let fslot = (u64::from_le_bytes(first8(&fac.finalize())) % slots_count as u64) as usize;
        let facilitator = validators[slots[fslot] as usize].network_pkey;
        let index = validators
            .iter()
            .enumerate()
            .map(|(i, v)| (v.network_pkey, i as u32))
            .collect();
        Some(Election {
            validators,
            slots,
            slot_counts,
            facilitator,
            index,
        })
    }

    /// The leader for the block after one whose randomness is `last_random`, at view `view`.
    pub fn leader(&self, last_random: &Hash, view: u32) -> PublicKey {
        let mut h = HashWriter::new("stegosim leader v1");
        h.update_hash(last_random).update_u32(view);
        let slot = (u64::from_le_bytes(first8(&h.finalize())) % self.slots.len() as u64) as usize;
        self.validators[self.slots[slot] as usize].network_pkey
    }

    /// The proposer of macro-block round `round` of an epoch whose last block's randomness is
    /// `last_random`.
    pub fn macro_proposer(&self, last_random: &Hash, round: u32) -> PublicKey {
        let mut h = HashWriter::new("stegosim macro proposer v1");
        h.update_hash(last_random).update_u32(round);
        let slot = (u64::from_le_bytes(first8(&h.finalize())) % self.slots.len() as u64) as usize;
        self.validators[self.slots[slot] as usize].network_pkey
    }

    /// Slots owned by `pkey` (0 when it is not a validator of the epoch).
    pub fn slots_of(&self, pkey: &PublicKey) -> u32 {
        self.index
            .get(pkey)
            .map_or(0, |&i| self.slot_counts[i as usize])
    }

    /// Whether `pkey` validates this epoch.
    pub fn is_validator(&self, pkey: &PublicKey) -> bool {
        self.slots_of(pkey) > 0
    }

    /// Total number of slots.
    pub fn slots_count(&self) -> u32 {
        self.slots.len() as u32
    }

    /// The smallest number of slots that is a supermajority (more than 2/3).
    pub fn supermajority(&self) -> u32 {
        self.slots_count() * 2 / 3 + 1
    }

    /// Slots held by a set of distinct voters.
    pub fn slots_of_voters<'a>(&self, voters: impl IntoIterator<Item = &'a PublicKey>) -> u32 {
        let mut seen = std::collections::BTreeSet::new();
        voters
            .into_iter()
            .filter(|v| seen.insert(**v))
            .map(|v| self.slots_of(v))
            .sum()
    }
}

/// Votes of distinct validators and the slots they hold, summed as the votes come in (a
/// node checks for a supermajority after every vote: recounting all voters each time made
/// an epoch's tallies quadratic in the validators). Read it as the map of votes by voter.
#[derive(Debug, Clone)]
pub struct Tally<V> {
    /// The votes, by voter.
    votes: std::collections::BTreeMap<PublicKey, V>,
    /// Slots held by the voters in `votes` (under the election they were counted with).
    slots: u32,
}

impl<V> Default for Tally<V> {
    fn default() -> Self {
        Tally {
            votes: std::collections::BTreeMap::new(),
            slots: 0,
        }
    }
}

impl<V> Tally<V> {
    /// Records `voter`'s vote (replacing an earlier one, which keeps its slots counted once).
    /// All votes of one tally must be counted with the same election.
    pub fn insert(&mut self, election: &Election, voter: PublicKey, vote: V) {
        if self.votes.insert(voter, vote).is_none() {
            self.slots += election.slots_of(&voter);
        }
    }

    /// Slots held by the voters: [`Election::slots_of_voters`] of the keys, kept up to date.
    pub fn slots(&self) -> u32 {
        self.slots
    }
}

impl<V> std::ops::Deref for Tally<V> {
    type Target = std::collections::BTreeMap<PublicKey, V>;

    fn deref(&self) -> &Self::Target {
        &self.votes
    }
}

fn first8(h: &Hash) -> [u8; 8] {
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    b
}
