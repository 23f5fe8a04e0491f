//! Consensus: which blocks this node applies and when, as parts of `impl Node`.
//!
//! - `micro`: producing, accepting and reverting micro blocks, fork resolution,
//!   `pop_micro_block`.
//! - `view_change`: votes to replace a leader whose block is late.
//! - `macro_bft`: the BFT round that makes an epoch's macro block final.
//! - `sync`: asking peers for missing blocks and answering them, fork choice between epochs.
//!
//! This file holds what they share: the consensus deadline for the node's timer table, the
//! start of a height and of an epoch, signing with the network key.
//!
//! # The protocol, briefly
//! - The leader of the next height (drawn from the epoch's slots with the tip's randomness
//!   and the current view) produces a micro block `block_interval_ns` after the tip.
//! - A validator that sees no block `micro_block_timeout_ns` past that votes a view change;
//!   votes from more than 2/3 of the slots move everyone to the next view, whose leader
//!   produces at once with the votes as proof. A lagging voter catches up: votes for a later
//!   view from more than 1/3 of the slots make a validator vote for it too; a timeout re-sends
//!   the highest vote (never below it); a vote for a view at or below ours is answered with
//!   our view's proof ([`PeerMessage::ViewProof`](crate::node::PeerMessage::ViewProof)),
//!   which also follows every sync response, and a valid proof for our tip moves us there.
//! - A block with a higher view change at a height we already filled wins: our tail from
//!   that height is reverted (fork resolution), its transactions go back to the mempool.
//!   Two forks whose first differing blocks have the same view (a leader made two blocks at
//!   one height, as after `pop_micro_block`) are ranked by length, then by the lower hash.
//! - When the epoch has all its micro blocks, the validators run a BFT round on the macro
//!   block (propose, prevote, precommit; more than 2/3 of slots each; round timeouts grow
//!   with the round up to `macro_round_timeout_max_ns`; a validator that precommitted is
//!   locked on that block until a later round shows more than 2/3 prevotes for another).
//!   Prevotes of a later round from more than 1/3 of the slots pull a node into that round. The committed macro block carries
//!   the precommits and is final.
//! - A node that learns it is behind (a block or vote from a later height) asks the sender
//!   for what it misses ([`PeerMessage::SyncRequest`](crate::node::PeerMessage::SyncRequest)); a node answers a view-change vote
//!   from a lower height of its epoch with its blocks.

use crate::chain::ledger::TxError;
use crate::chain::tx::TxStatus;
use crate::crypto::{Hash, PublicKey, Signature};

use super::{Node, TimerReason};

mod macro_bft;
mod micro;
mod sync;
mod view_change;

pub(super) use macro_bft::MacroState;
pub use macro_bft::MacroVote;
pub use sync::SYNC_MACROS_MAX;
pub use view_change::VIEW_PROOF_VOTES_MAX;

/// The status of a transaction that no longer fits the ledger in `epoch` (after a block, a
/// fork or a macro block; `offset`: the micro block that made it so, if one did): conflicted
/// when another transaction took one of its inputs, rejected (with the reason) otherwise.
fn dropped_status(epoch: u64, offset: Option<u32>, e: TxError) -> TxStatus {
    match e {
        TxError::MissingInput(_) | TxError::InputClaimed { .. } => {
            TxStatus::Conflicted { epoch, offset }
        }
        other => TxStatus::Rejected {
            error: other.to_string(),
            code: other.code().into(),
        },
    }
}

impl Node {
    /// The consensus deadline, for the timer table: the macro round's timeout when the epoch
    /// is full (validators only); else, for a validator with slots, the leader's time to
    /// produce or the others' time to vote a view change. At most one is armed at a time.
    pub(super) fn consensus_deadline(&self) -> Option<(u64, TimerReason)> {
        if self.chain.epoch_full() {
            if !self.is_validator() {
                return None;
            }
            // Round `r` waits `r + 1` first timeouts, capped: after a long fault, the
            // next round starts at most one capped timeout later.
            let round_ns = self
                .cfg
                .chain
                .macro_round_timeout_ns
                .saturating_mul(self.macro_state.round as u64 + 1)
                .min(self.cfg.chain.macro_round_timeout_max_ns);
            return Some((
                self.macro_state.round_started_ns.saturating_add(round_ns),
                TimerReason::MacroRoundTimeout,
            ));
        }
        let me = self.network_pkey()?;
        if self.chain.election.slots_of(&me) == 0 {
            return None;
        }
        if self.chain.leader_at(self.view) == me {
            let at = if self.view == 0 {
                self.chain
                    .tip_timestamp_ns()
                    .saturating_add(self.cfg.chain.block_interval_ns)
            } else {
                self.view_started_ns
            };
            return Some((at.max(self.view_started_ns), TimerReason::ProduceMicroBlock));
        }
        let wait = if self.view == 0 {
            self.cfg
                .chain
                .block_interval_ns
                .saturating_add(self.cfg.chain.micro_block_timeout_ns)
        } else {
            self.cfg.chain.micro_block_timeout_ns
        };
        Some((
            self.view_started_ns.saturating_add(wait),
            TimerReason::ViewChangeTimeout,
        ))
    }

    /// Whether this node holds a validator's network key of the current election.
    fn is_validator(&self) -> bool {
        self.network_pkey()
            .is_some_and(|pk| self.chain.election.is_validator(&pk))
    }

    /// Signs `msg` with the network key; none for a node without one.
    fn sign(&self, msg: &Hash) -> Option<(PublicKey, Signature)> {
        let k = self.cfg.network_key.as_ref()?;
        Some((*k.public(), crate::crypto::sign(k.secret(), msg.as_bytes())))
    }

    /// A new height: view 0, no votes.
    pub(super) fn start_height(&mut self) {
        self.view = 0;
        self.voted_view = 0;
        self.votes.clear();
        self.view_started_ns = self.now_ns;
    }

    /// A new epoch: a fresh macro state and a restake offset.
    pub(super) fn start_epoch(&mut self) {
        self.macro_state = MacroState::starting_at(self.now_ns);
        self.restaking
            .draw_offset(self.cfg.chain.micro_blocks_per_epoch);
    }
}
