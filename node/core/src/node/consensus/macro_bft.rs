//! The macro-block BFT: when the epoch has all its micro blocks, the validators propose,
//! prevote and precommit on the block that closes it (more than 2/3 of the slots each, round
//! timeouts growing with the round up to a cap, a validator that precommitted locked on that
//! block until a later round shows a polka for another), and the committed block is final.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::api::message::ServerKind;
use crate::chain::block::{MacroBlock, MicroBlock};
use crate::chain::election::Tally;
use crate::crypto::{Hash, Hasher, PublicKey, Signature};
use crate::node::api::macro_block_body;
use crate::node::{Dest, Event, Node, NodeId, PeerMessage, TxStatus};

use super::dropped_status;

/// A signed macro-block vote (prevote or precommit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacroVote {
    /// Epoch the block closes.
    pub epoch: u64,
    /// BFT round of the vote.
    pub round: u32,
    /// Hash of the block voted for.
    pub block_hash: Hash,
    /// The voter's network key.
    pub validator: PublicKey,
    /// Signature: over the prevote hash, or over [`MacroBlock::precommit_hash`].
    pub signature: Signature,
}

/// What a prevote signs: the epoch, the round and the block.
fn prevote_hash(epoch: u64, round: u32, block_hash: &Hash) -> Hash {
    let mut h = Hasher::new("stegosim prevote v1");
    h.update_u64(epoch)
        .update_u32(round)
        .update_hash(block_hash);
    h.finalize()
}

/// Votes collected for the macro block of the current epoch.
#[derive(Debug, Clone, Default)]
pub(in crate::node) struct MacroState {
    /// Current BFT round.
    pub(in crate::node) round: u32,
    /// When the round started.
    pub(in crate::node) round_started_ns: u64,
    /// Proposals seen, by block hash.
    proposals: BTreeMap<Hash, MacroBlock>,
    /// Prevotes: (round, hash) -> voter -> vote.
    prevotes: BTreeMap<(u32, Hash), Tally<MacroVote>>,
    /// Precommits: hash -> voter -> signature.
    precommits: BTreeMap<Hash, Tally<Signature>>,
    /// Rounds this node prevoted in.
    prevoted: BTreeSet<u32>,
    /// Rounds this node precommitted in.
    precommitted: BTreeSet<u32>,
    /// The block this node is locked on, and the round it locked in.
    locked: Option<(Hash, u32)>,
    /// Whether this node proposed in the current round.
    proposed: bool,
}

impl MacroState {
    /// No votes yet; round 0 starts at `now_ns`.
    pub(in crate::node) fn starting_at(now_ns: u64) -> MacroState {
        MacroState {
            round_started_ns: now_ns,
            ..MacroState::default()
        }
    }
}

impl Node {
    /// Proposes the epoch's macro block when this node leads the current round and has not
    /// proposed in it: the block it is locked on, or a new one.
    pub(super) fn maybe_propose_macro(&mut self) {
        if !self.chain.epoch_full() || self.macro_state.proposed {
            return;
        }
        let Some(me) = self.network_pkey() else {
            return;
        };
        let round = self.macro_state.round;
        if self
            .chain
            .election
            .macro_proposer(&self.chain.tip_random(), round)
            != me
        {
            return;
        }
        self.macro_state.proposed = true;
        let block = match self.macro_state.locked {
            Some((h, _)) => match self.macro_state.proposals.get(&h) {
                Some(b) => b.clone(),
                None => return,
            },
            None => self.chain.build_macro(me, round, self.now_ns),
        };
        self.send(
            Dest::All,
            PeerMessage::MacroPropose {
                round,
                block: Box::new(block.clone()),
            },
        );
        self.on_macro_proposal(self.cfg.id, round, &block);
    }

    /// A proposal for `round` (from peer `from`, or this node's own): stored, joins a later
    /// round, and gets this node's prevote unless it is locked on another block.
    pub(in crate::node) fn on_macro_proposal(&mut self, from: NodeId, round: u32, b: &MacroBlock) {
        if !self.is_current_epoch(from, b.epoch) {
            return;
        }
        if self
            .chain
            .election
            .macro_proposer(&self.chain.tip_random(), round)
            != b.proposer
            && b.view_change == round
        {
            // A proposal by someone who does not lead this round.
            if self.chain.epoch_full() {
                self.emit(Event::Refused {
                    what: "macro proposal".into(),
                    error: "not the round's proposer".into(),
                });
            }
            return;
        }
        if let Err(e) = self.chain.validate_macro_proposal(b) {
            if self.chain.epoch_full() || b.previous != self.chain.tip_hash() {
                self.request_sync(from);
            }
            self.emit(Event::Refused {
                what: format!("macro proposal round {round}"),
                error: e.to_string(),
            });
            return;
        }
        let h = b.hash();
        self.macro_state.proposals.insert(h, b.clone());
        if round > self.macro_state.round && self.chain.epoch_full() {
            // A valid proposal for a later round: the others moved on while this node was
            // down or cut off. Round timers alone never realign (each round waits longer),
            // so join their round.
            self.macro_state.round = round;
            self.macro_state.round_started_ns = self.now_ns;
            self.macro_state.proposed = false;
        }
        if round != self.macro_state.round || self.macro_state.prevoted.contains(&round) {
            self.check_macro_votes(h);
            return;
        }
        if let Some((locked, _)) = self.macro_state.locked {
            if locked != h {
                return;
            }
        }
        if !self.is_validator() {
            return;
        }
        self.macro_state.prevoted.insert(round);
        let signed = prevote_hash(self.chain.epoch(), round, &h);
        if let Some(vote) = self.own_macro_vote(round, h, &signed) {
            self.send(Dest::All, PeerMessage::MacroPrevote(vote.clone()));
            self.record_prevote(vote);
        }
    }

    /// Whether a macro-block message of `epoch` (from peer `from`) is for the current epoch.
    /// One from a later epoch means this node is behind: it asks `from` for blocks.
    fn is_current_epoch(&mut self, from: NodeId, epoch: u64) -> bool {
        if epoch > self.chain.epoch() {
            self.request_sync(from);
        }
        epoch == self.chain.epoch()
    }

    /// The guards a peer's prevote or precommit passes before it counts: of the current epoch
    /// (see [`Node::is_current_epoch`]), by a validator, with its signature over `signed`.
    fn macro_vote_counts(&mut self, from: NodeId, v: &MacroVote, signed: &Hash) -> bool {
        self.is_current_epoch(from, v.epoch)
            && self.chain.election.is_validator(&v.validator)
            && self.sigs.check(&[v.validator], signed, &v.signature)
    }

    /// This node's vote of `round` for `block_hash`, signed over `signed` (a prevote's or a
    /// precommit's hash); none without a network key.
    fn own_macro_vote(&self, round: u32, block_hash: Hash, signed: &Hash) -> Option<MacroVote> {
        let (validator, signature) = self.sign(signed)?;
        Some(MacroVote {
            epoch: self.chain.epoch(),
            round,
            block_hash,
            validator,
            signature,
        })
    }

    /// A prevote from peer `from`.
    pub(in crate::node) fn on_prevote(&mut self, from: NodeId, v: &MacroVote) {
        let signed = prevote_hash(v.epoch, v.round, &v.block_hash);
        if self.macro_vote_counts(from, v, &signed) {
            self.record_prevote(v.clone());
        }
    }

    /// Counts a prevote; it may pull this node into a later round or make it precommit.
    fn record_prevote(&mut self, v: MacroVote) {
        let key = (v.round, v.block_hash);
        let voter = v.validator;
        self.macro_state
            .prevotes
            .entry(key)
            .or_default()
            .insert(&self.chain.election, voter, v);
        self.catch_up_macro_round();
        self.check_macro_votes(key.1);
    }

    /// Round catch-up, as in Tendermint: prevotes for a later round from validators holding
    /// more than a third of the slots mean an honest validator is there, so this node joins
    /// that round at once. Without it, nodes whose epochs filled at different times (one
    /// popped a block, one was cut off) sat in different rounds, and with round timeouts
    /// growing alike the gap in time stayed: the epoch's macro block waited minutes.
    /// Called on every prevote and when the epoch fills up (prevotes may have come first).
    pub(super) fn catch_up_macro_round(&mut self) {
        if !self.chain.epoch_full() {
            return;
        }
        let mut by_round: BTreeMap<u32, BTreeSet<PublicKey>> = BTreeMap::new();
        for ((round, _), by) in self
            .macro_state
            .prevotes
            .range((self.macro_state.round + 1, Hash::default())..)
        {
            by_round
                .entry(*round)
                .or_default()
                .extend(by.keys().copied());
        }
        let target = by_round.iter().rev().find_map(|(round, voters)| {
            let slots = self.chain.election.slots_of_voters(voters.iter());
            (slots * 3 > self.chain.election.slots_count()).then_some(*round)
        });
        if let Some(round) = target {
            self.enter_macro_round(round);
        }
    }

    /// A precommit from peer `from`.
    pub(in crate::node) fn on_precommit(&mut self, from: NodeId, v: &MacroVote) {
        let signed = MacroBlock::precommit_hash(v.epoch, &v.block_hash);
        if !self.macro_vote_counts(from, v, &signed) {
            return;
        }
        self.record_precommit(v.block_hash, v.validator, v.signature);
        self.check_macro_votes(v.block_hash);
    }

    /// Counts `validator`'s precommit for block `h`.
    fn record_precommit(&mut self, h: Hash, validator: PublicKey, signature: Signature) {
        self.macro_state.precommits.entry(h).or_default().insert(
            &self.chain.election,
            validator,
            signature,
        );
    }

    /// Precommits after > 2/3 prevotes; commits after > 2/3 precommits.
    fn check_macro_votes(&mut self, h: Hash) {
        if !self.chain.epoch_full() {
            return;
        }
        let needed = self.chain.election.supermajority();
        // Polka in some round >= our lock round for this block: (re)lock and precommit.
        let rounds: Vec<u32> = self
            .macro_state
            .prevotes
            .keys()
            .filter(|(_, bh)| *bh == h)
            .map(|(r, _)| *r)
            .collect();
        for round in rounds {
            let slots = self.macro_state.prevotes[&(round, h)].slots();
            if slots < needed || !self.macro_state.proposals.contains_key(&h) {
                continue;
            }
            let lock_round = self.macro_state.locked.map_or(0, |(_, r)| r);
            if self.macro_state.locked.is_none() || round >= lock_round {
                self.macro_state.locked = Some((h, round));
            }
            if round == self.macro_state.round
                && !self.macro_state.precommitted.contains(&round)
                && self.is_validator()
            {
                self.precommit(round, h);
            }
        }
        let Some(pcs) = self.macro_state.precommits.get(&h) else {
            return;
        };
        if pcs.slots() < needed {
            return;
        }
        let Some(block) = self.macro_state.proposals.get(&h) else {
            return;
        };
        let mut block = block.clone();
        block.multisig = pcs.iter().map(|(k, s)| (*k, *s)).collect();
        self.commit_macro(block.clone());
        self.send(Dest::All, PeerMessage::MacroCommitted(Box::new(block)));
    }

    /// This validator precommits block `h` in `round` (once per round), and counts its own
    /// precommit.
    fn precommit(&mut self, round: u32, h: Hash) {
        self.macro_state.precommitted.insert(round);
        let signed = MacroBlock::precommit_hash(self.chain.epoch(), &h);
        if let Some(vote) = self.own_macro_vote(round, h, &signed) {
            let (validator, signature) = (vote.validator, vote.signature);
            self.send(Dest::All, PeerMessage::MacroPrecommit(vote));
            self.record_precommit(h, validator, signature);
        }
    }

    /// A committed macro block from peer `from`: committed here too, and relayed once.
    pub(in crate::node) fn on_macro_committed(&mut self, from: NodeId, b: &MacroBlock) {
        if b.epoch < self.chain.epoch() {
            return;
        }
        if b.epoch > self.chain.epoch() {
            self.request_sync(from);
            return;
        }
        let before = self.chain.epoch();
        self.commit_macro(b.clone());
        if self.chain.epoch() > before {
            // Relay once, so nodes that missed the votes still learn of it.
            self.send(Dest::All, PeerMessage::MacroCommitted(Box::new(b.clone())));
        }
    }

    /// Makes the macro block `b` final: the chain applies it (finalising or replacing the
    /// epoch's micro blocks), then the wallet, the store, traces, subscribers and the mempool
    /// follow, and a new epoch starts.
    pub(super) fn commit_macro(&mut self, b: MacroBlock) {
        let epoch = b.epoch;
        let micros_before: Vec<MicroBlock> = self.chain.micros.clone();
        let hash = b.hash();
        let round = b.view_change;
        let encoded = postcard::to_stdvec(&b).expect("blocks always serialise");
        match self.chain.apply_macro(b, self.sigs.as_ref()) {
            Ok(reverted) => {
                // Without micro blocks to finalise, the chain applied the block's net effect.
                let net_applied = !reverted.is_empty() || micros_before.is_empty();
                self.wallet_hook(|w, ctx| w.on_macro_committed(ctx, &reverted, net_applied));
                self.retire_micros(&reverted, &micros_before);
                self.persist_macro(epoch, &encoded);
                self.sync_store();
                let committed = self.announce_macro(epoch, round, hash);
                self.settle_after_macro(epoch, &committed, reverted);
            }
            Err(e) => self.emit(Event::Refused {
                what: format!("macro block {epoch}"),
                error: e.to_string(),
            }),
        }
    }

    /// The epoch's micro blocks leave the store; those the macro block replaced (`reverted`,
    /// newest first) are announced as reverted like any other revert, `rollback` for their
    /// transactions included (before the macro block's `committed`).
    fn retire_micros(&mut self, reverted: &[MicroBlock], micros_before: &[MicroBlock]) {
        for m in reverted {
            self.unpersist_micro(m);
            self.announce_reverted(m);
        }
        for m in micros_before {
            self.unpersist_micro(m);
        }
    }

    /// The committed macro block's event and notification; returns its transactions.
    fn announce_macro(&mut self, epoch: u64, round: u32, hash: Hash) -> Vec<Hash> {
        let committed = self.chain.last_macro().transactions.clone();
        self.emit(Event::MacroBlockCommitted {
            epoch,
            round,
            hash,
            transactions: committed.len(),
        });
        if !self.chain_subs.is_empty() || !self.status_subs.is_empty() {
            let body = macro_block_body(self.chain.last_macro(), self.cfg.chain.slots_count);
            self.notify_chain(Some(ServerKind::MacroBlockCommitted(body)));
        }
        committed
    }

    /// After the macro block of `epoch`: its transactions are committed, a new epoch and
    /// height start, the mempool is checked against the new ledger, and the transactions of
    /// `reverted` micro blocks that the macro block does not hold go back to the mempool (or
    /// are conflicted), with the children revalidation dropped re-checked after them.
    fn settle_after_macro(&mut self, epoch: u64, committed: &[Hash], reverted: Vec<MicroBlock>) {
        for h in committed {
            self.mempool.remove(h);
            self.set_status(*h, TxStatus::Committed { epoch });
        }
        let final_set: BTreeSet<Hash> = committed.iter().copied().collect();
        let lost: Vec<MicroBlock> = reverted
            .into_iter()
            .map(|mut m| {
                m.transactions.retain(|t| !final_set.contains(&t.hash()));
                m.clear_hash_memo();
                m
            })
            .collect();
        self.start_epoch();
        self.start_height();
        let ctx = self.tx_context();
        let dropped =
            self.mempool
                .revalidate(&self.chain.ledger, ctx, &self.cfg.chain, self.sigs.as_ref());
        if lost.is_empty() {
            for d in dropped {
                self.set_status(d.hash, dropped_status(epoch, None, d.error));
            }
        } else {
            // The macro block replaced micro blocks: what revalidation dropped may be children
            // of their transactions, which restore_transactions puts back first.
            self.restore_transactions(&lost, dropped);
        }
    }

    /// The round timed out: the next round (while the epoch waits for its macro block).
    pub(in crate::node) fn macro_round_timeout(&mut self) {
        if !self.chain.epoch_full() {
            return;
        }
        self.enter_macro_round(self.macro_state.round + 1);
    }

    /// Moves the macro-block BFT to `round`: propose if this node leads it, take up the
    /// proposals stored for it.
    fn enter_macro_round(&mut self, round: u32) {
        self.macro_state.round = round;
        self.macro_state.round_started_ns = self.now_ns;
        self.macro_state.proposed = false;
        self.maybe_propose_macro();
        // Re-offer our lock's block to whoever proposes; re-check stored proposals of this round.
        let pending: Vec<(Hash, MacroBlock)> = self
            .macro_state
            .proposals
            .iter()
            .map(|(h, b)| (*h, b.clone()))
            .collect();
        for (_, b) in pending {
            if self
                .chain
                .election
                .macro_proposer(&self.chain.tip_random(), self.macro_state.round)
                == b.proposer
            {
                let round = self.macro_state.round;
                self.on_macro_proposal(self.cfg.id, round, &b);
            }
        }
    }
}
