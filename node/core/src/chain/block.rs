//! Micro blocks and macro blocks.
//!
//! Inside an epoch the elected leader produces micro blocks numbered by `offset`; each names
//! the previous block's hash and carries the leader's reward. When the leader of a height
//! stays silent, validators vote a view change; the block that the next leader then produces
//! carries the votes as proof, and a block with a higher `view_change` at the same height wins
//! over a lower one (fork resolution). At the end of the epoch the validators agree on a macro
//! block (BFT, >= 2/3 of slots), which records the epoch's net effect on the ledger and the
//! validators of the next epoch. Macro blocks are final.

use serde::{Deserialize, Serialize};

use crate::chain::memo::Memo;
use crate::chain::tx::{Output, Transaction};
use crate::crypto::{Hash, Hasher, PublicKey, Signature};

/// A validator's vote to leave view `view_change - 1` at a height whose tip is `last_block`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewChangeVote {
    /// Epoch of the height.
    pub epoch: u64,
    /// Offset of the block that did not come.
    pub offset: u32,
    /// The view the voter wants to move to.
    pub view_change: u32,
    /// The voter's tip: the block the missing one should follow.
    pub last_block: Hash,
    /// The voter's network key.
    pub validator: PublicKey,
    /// Signature over [`ViewChangeVote::signed_hash`].
    pub signature: Signature,
}

impl ViewChangeVote {
    /// What a view-change vote signs.
    pub fn signed_hash(epoch: u64, offset: u32, view_change: u32, last_block: &Hash) -> Hash {
        let mut h = Hasher::new("stegosim view change v1");
        h.update_u64(epoch)
            .update_u32(offset)
            .update_u32(view_change)
            .update_hash(last_block);
        h.finalize()
    }
}

/// A micro block: transactions of one height of an epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicroBlock {
    /// Epoch it belongs to.
    pub epoch: u64,
    /// Its position in the epoch, from 0.
    pub offset: u32,
    /// The view in which its leader produced it.
    pub view_change: u32,
    /// Hash of the block before it (a macro block for offset 0).
    pub previous: Hash,
    /// The leader's network key.
    pub leader: PublicKey,
    /// When the leader made it (ns since the Unix epoch).
    pub timestamp_ns: u64,
    /// Randomness for the next leader election: hash of the previous randomness, the
    /// height, the view and the leader.
    pub random: Hash,
    /// Transactions, in order.
    pub transactions: Vec<Transaction>,
    /// The leader's reward (block reward plus fees), a public payment to the leader.
    pub reward: Output,
    /// Votes proving that views before `view_change` were abandoned (empty at view 0).
    pub view_change_proof: Vec<ViewChangeVote>,
    /// The leader's signature over the block hash.
    pub signature: Signature,
    /// The block's hash, computed once (see [`Memo`]): the other fields must not change
    /// after [`MicroBlock::hash`] was called (the signature may), or call
    /// [`MicroBlock::clear_hash_memo`].
    #[serde(skip)]
    pub(crate) memo: Memo<Hash>,
}

impl MicroBlock {
    /// The block's hash (everything but the signature). Computed on the first call and kept.
    pub fn hash(&self) -> Hash {
        *self.memo.get_or_init(|| self.compute_hash())
    }

    /// Forgets the memoised hash after editing a field it covers.
    pub fn clear_hash_memo(&mut self) {
        self.memo.clear();
    }

    fn compute_hash(&self) -> Hash {
        let mut h = Hasher::new("stegosim micro block v1");
        h.update_u64(self.epoch)
            .update_u32(self.offset)
            .update_u32(self.view_change)
            .update_hash(&self.previous)
            .update(self.leader.as_bytes())
            .update_u64(self.timestamp_ns)
            .update_hash(&self.random)
            .update_u64(self.transactions.len() as u64);
        for tx in &self.transactions {
            h.update_hash(&tx.hash());
        }
        h.update_hash(&self.reward.hash());
        h.update_u64(self.view_change_proof.len() as u64);
        for v in &self.view_change_proof {
            h.update(v.validator.as_bytes());
        }
        h.finalize()
    }

    /// Randomness of a block from its parent's randomness.
    pub fn next_random(
        prev_random: &Hash,
        epoch: u64,
        offset: u32,
        view_change: u32,
        leader: &PublicKey,
    ) -> Hash {
        let mut h = Hasher::new("stegosim block random v1");
        h.update_hash(prev_random)
            .update_u64(epoch)
            .update_u32(offset)
            .update_u32(view_change)
            .update(leader.as_bytes());
        h.finalize()
    }
}

/// A validator of an epoch and its active stake at election.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorStake {
    /// Network key.
    pub network_pkey: PublicKey,
    /// Active stake in µSTG when elected.
    pub stake: i64,
}

/// A macro block: the final record of one epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacroBlock {
    /// The epoch it closes (0: genesis).
    pub epoch: u64,
    /// The BFT round in which it was agreed.
    pub view_change: u32,
    /// Hash of the last micro block of the epoch (or of the previous macro block when the
    /// epoch had none, or zero for genesis).
    pub previous: Hash,
    /// The proposer's network key.
    pub proposer: PublicKey,
    /// Timestamp (ns since the Unix epoch).
    pub timestamp_ns: u64,
    /// Randomness of the next epoch's elections.
    pub random: Hash,
    /// Outputs that existed before the epoch and were spent in it.
    pub inputs: Vec<Hash>,
    /// Outputs created in the epoch and still unspent at its end.
    pub outputs: Vec<Output>,
    /// Hashes of the epoch's transactions, in order.
    pub transactions: Vec<Hash>,
    /// µSTG minted in the epoch (block rewards).
    pub minted: i64,
    /// Validators of the next epoch.
    pub validators: Vec<ValidatorStake>,
    /// Precommit signatures of validators holding >= 2/3 of the epoch's slots.
    pub multisig: Vec<(PublicKey, Signature)>,
    /// The block's hash, computed once (see [`Memo`]): the other fields must not change
    /// after [`MacroBlock::hash`] was called (the multisignature may), or call
    /// [`MacroBlock::clear_hash_memo`].
    #[serde(skip)]
    pub(crate) memo: Memo<Hash>,
}

impl MacroBlock {
    /// The block's hash (everything but the multisignature). Computed on the first call and
    /// kept.
    pub fn hash(&self) -> Hash {
        *self.memo.get_or_init(|| self.compute_hash())
    }

    /// Forgets the memoised hash after editing a field it covers.
    pub fn clear_hash_memo(&mut self) {
        self.memo.clear();
    }

    fn compute_hash(&self) -> Hash {
        let mut h = Hasher::new("stegosim macro block v1");
        h.update_u64(self.epoch)
            .update_u32(self.view_change)
            .update_hash(&self.previous)
            .update(self.proposer.as_bytes())
            .update_u64(self.timestamp_ns)
            .update_hash(&self.random)
            .update_u64(self.inputs.len() as u64);
        for i in &self.inputs {
            h.update_hash(i);
        }
        h.update_u64(self.outputs.len() as u64);
        for o in &self.outputs {
            h.update_hash(&o.hash());
        }
        h.update_u64(self.transactions.len() as u64);
        for t in &self.transactions {
            h.update_hash(t);
        }
        h.update_u64(self.minted as u64);
        h.update_u64(self.validators.len() as u64);
        for v in &self.validators {
            h.update(v.network_pkey.as_bytes())
                .update_u64(v.stake as u64);
        }
        h.finalize()
    }

    /// What a precommit for this block signs.
    pub fn precommit_hash(epoch: u64, block_hash: &Hash) -> Hash {
        let mut h = Hasher::new("stegosim precommit v1");
        h.update_u64(epoch).update_hash(block_hash);
        h.finalize()
    }
}
