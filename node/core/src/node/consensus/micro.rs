//! Micro blocks: the leader produces one per height; every node accepts the next one,
//! reverts its tail for a block that wins fork choice, and tells the mempool, the wallet,
//! API subscribers and traces what changed.

use crate::api::message::ServerKind;
use crate::chain::BlockError;
use crate::chain::block::{MicroBlock, ViewChangeVote};
use crate::chain::tx::{Transaction, TxStatus};
use crate::crypto::{Hash, Signature};
use crate::mempool::Dropped;
use crate::node::api::micro_block_body;
use crate::node::{Dest, Event, Node, NodeId, PeerMessage};

use super::dropped_status;

impl Node {
    /// Applies a validated next micro block: persistence, mempool, events, new height.
    ///
    /// The waiting transactions the block leaves without an input are reported conflicted,
    /// unless `defer` takes them: during a fork switch, a child whose parent's block was just
    /// reverted has lost its input only until [`Node::restore_transactions`] puts the parent
    /// back, which re-checks the deferred ones.
    fn accept_micro(
        &mut self,
        b: MicroBlock,
        defer: Option<&mut Vec<Dropped>>,
    ) -> Result<(), BlockError> {
        self.chain.apply_micro(b, self.sigs.as_ref())?;
        let b = self.chain.micros.last().expect("just applied").clone();
        self.persist_micro(&b);
        self.sync_store();
        let hashes: Vec<Hash> = b.transactions.iter().map(|t| t.hash()).collect();
        let ctx = self.tx_context();
        let mut dropped = self.mempool.prune(
            &hashes,
            &self.chain.ledger,
            ctx,
            &self.cfg.chain,
            self.sigs.as_ref(),
        );
        if let Some(deferred) = defer {
            deferred.append(&mut dropped);
        }
        self.wallet_hook(|w, ctx| w.on_micro_applied(ctx, &b));
        self.emit(Event::MicroBlockPrepared {
            epoch: b.epoch,
            offset: b.offset,
            view_change: b.view_change,
            hash: b.hash(),
            leader: b.leader,
            transactions: b.transactions.len(),
        });
        if !self.chain_subs.is_empty() || !self.status_subs.is_empty() {
            self.notify_chain(Some(ServerKind::MicroBlockPrepared(micro_block_body(&b))));
        }
        for h in hashes {
            self.set_status(
                h,
                TxStatus::Prepared {
                    epoch: b.epoch,
                    offset: b.offset,
                },
            );
        }
        for d in dropped {
            self.set_status(d.hash, dropped_status(b.epoch, Some(b.offset), d.error));
        }
        self.start_height();
        if self.chain.epoch_full() {
            self.macro_state.round_started_ns = self.now_ns;
            self.maybe_propose_macro();
            self.catch_up_macro_round();
        }
        Ok(())
    }

    /// Reverts the last micro block: store, wallet, announcement ([`Node::announce_reverted`]).
    /// Returns it; its transactions are for [`Node::restore_transactions`].
    fn revert_micro(&mut self) -> Option<MicroBlock> {
        let b = self.chain.pop_micro()?;
        self.unpersist_micro(&b);
        self.wallet_hook(|w, ctx| w.on_micro_reverted(ctx, &b));
        self.announce_reverted(&b);
        Some(b)
    }

    /// What every path that reverts a micro block reports (fork resolution and
    /// `pop_micro_block` through [`Node::revert_micro`], a macro block that replaces the
    /// epoch's micro blocks through `retire_micros`): `micro_block_reverted` to chain
    /// subscribers, the [`Event::MicroBlockReverted`] event, and `rollback` for each of its
    /// transactions (to the wallet and as events), before any later status of them.
    pub(super) fn announce_reverted(&mut self, b: &MicroBlock) {
        if !self.chain_subs.is_empty() || !self.status_subs.is_empty() {
            self.notify_chain(Some(ServerKind::MicroBlockReverted(micro_block_body(b))));
        }
        self.emit(Event::MicroBlockReverted {
            epoch: b.epoch,
            offset: b.offset,
            view_change: b.view_change,
            hash: b.hash(),
        });
        for tx in &b.transactions {
            self.set_status(
                tx.hash(),
                TxStatus::Rollback {
                    epoch: b.epoch,
                    offset: b.offset,
                },
            );
        }
    }

    /// Returns the transactions of reverted blocks to the mempool, then re-checks their
    /// children: those `deferred` (dropped by a block of the winning fork before their parents
    /// were back) and those still waiting without an input. A child whose parent is back
    /// waits (held until the parent is in a block: see [`crate::mempool`]), so `conflicted`
    /// only ever means a real conflict. Statuses: the reverted transactions back in the
    /// mempool are `accepted`; what no longer fits (and is not in the chain again) is
    /// conflicted or rejected; a child that still waits keeps its status.
    pub(super) fn restore_transactions(&mut self, reverted: &[MicroBlock], deferred: Vec<Dropped>) {
        let mut txs: Vec<Transaction> = reverted
            .iter()
            .rev()
            .flat_map(|b| b.transactions.iter().cloned())
            .collect();
        txs.extend(deferred.into_iter().map(|d| d.tx));
        txs.extend(self.mempool.take_unfunded(&self.chain.ledger));
        if txs.is_empty() {
            return;
        }
        let ctx = self.tx_context();
        let refused = self.mempool.readmit(
            txs,
            &self.chain.ledger,
            ctx,
            &self.cfg.chain,
            self.sigs.as_ref(),
        );
        let epoch = self.chain.epoch();
        for d in refused {
            // Already in the chain again (the winning fork has it): not a conflict.
            let in_chain = self
                .chain
                .micros
                .iter()
                .any(|b| b.transactions.iter().any(|t| t.hash() == d.hash));
            if !in_chain {
                self.set_status(d.hash, dropped_status(epoch, None, d.error));
            }
        }
        let accepted: Vec<Hash> = reverted
            .iter()
            .flat_map(|b| b.transactions.iter().map(|t| t.hash()))
            .filter(|h| self.mempool.contains(h))
            .collect();
        for h in accepted {
            self.set_status(h, TxStatus::Accepted);
        }
    }

    /// `pop_micro_block`: reverts the last micro block of the epoch; its transactions return
    /// to the mempool. Errors when the epoch has none.
    pub fn pop_micro_block(&mut self, now_ns: u64) -> Result<MicroBlock, &'static str> {
        self.set_now(now_ns);
        let b = self
            .revert_micro()
            .ok_or("nothing to pop: the current epoch has no micro block")?;
        self.sync_store();
        self.restore_transactions(std::slice::from_ref(&b), Vec::new());
        self.start_height();
        self.after_input();
        Ok(b)
    }

    /// This node leads the current height and view: it builds the block from the mempool,
    /// applies it and relays it (with the view-change votes as proof in a later view).
    pub(in crate::node) fn produce_micro_block(&mut self) {
        let Some(key) = self.cfg.network_key.clone() else {
            return;
        };
        if self.chain.epoch_full() || self.chain.leader_at(self.view) != *key.public() {
            return;
        }
        let epoch = self.chain.epoch();
        let offset = self.chain.offset();
        let timestamp_ns = self.now_ns.max(self.chain.tip_timestamp_ns());
        // The mempool's transactions are valid and mutually compatible against the ledger;
        // re-check them as a block (a lock may not have expired at the block's time).
        let txs = self.chain.select_transactions(
            self.mempool.take_for_block(self.cfg.chain.block_txs_max),
            timestamp_ns,
            self.sigs.as_ref(),
        );
        let fees: i64 = txs.iter().map(|t| t.fee).sum();
        let proof: Vec<ViewChangeVote> = if self.view > 0 {
            self.votes
                .get(&self.view)
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut b = MicroBlock {
            epoch,
            offset,
            view_change: self.view,
            previous: self.chain.tip_hash(),
            leader: *key.public(),
            timestamp_ns,
            random: MicroBlock::next_random(
                &self.chain.tip_random(),
                epoch,
                offset,
                self.view,
                key.public(),
            ),
            transactions: txs,
            reward: self
                .chain
                .reward_output(key.public(), fees, epoch, offset, self.view),
            view_change_proof: proof,
            signature: Signature::from_bytes([0u8; 64]),
            memo: Default::default(),
        };
        b.signature = crate::crypto::sign(key.secret(), b.hash().as_bytes());
        let relay = b.clone();
        match self.accept_micro(b, None) {
            Ok(()) => self.send(Dest::All, PeerMessage::MicroBlock(Box::new(relay))),
            Err(e) => self.emit(Event::Refused {
                what: "own micro block".into(),
                error: e.to_string(),
            }),
        }
    }

    /// A micro block from peer `from`: the next one is applied; one from ahead makes this
    /// node ask for what it misses; one for a height we filled goes through fork choice.
    pub(in crate::node) fn on_micro_block(&mut self, from: NodeId, b: &MicroBlock) {
        let epoch = self.chain.epoch();
        if b.epoch < epoch {
            return; // Final already.
        }
        if b.epoch > epoch || b.offset > self.chain.offset() {
            self.request_sync(from);
            return;
        }
        if b.offset == self.chain.offset() {
            if let Err(e) = self.accept_micro(b.clone(), None) {
                if let BlockError::WrongPrevious { .. } = e {
                    self.request_sync(from);
                } else {
                    self.emit(Event::Refused {
                        what: format!("micro block {}:{}", b.epoch, b.offset),
                        error: e.to_string(),
                    });
                }
            }
            return;
        }
        // A block for a height we filled: fork resolution.
        let ours = &self.chain.micros[b.offset as usize];
        if ours.hash() == b.hash() || b.view_change < ours.view_change {
            return;
        }
        if b.view_change == ours.view_change {
            // Two blocks of one leader at one height and view (it popped its block and made
            // another): one block cannot tell which fork to keep; the sender's whole epoch can.
            self.request_sync(from);
            return;
        }
        let parent = if b.offset == 0 {
            self.chain.last_macro().hash()
        } else {
            self.chain.micros[b.offset as usize - 1].hash()
        };
        if b.previous != parent {
            self.request_sync(from);
            return;
        }
        self.try_fork(b.offset, std::slice::from_ref(b));
    }

    /// Replaces our micro blocks from `offset` on with `theirs` if they all apply; otherwise
    /// puts ours back.
    pub(super) fn try_fork(&mut self, offset: u32, theirs: &[MicroBlock]) -> bool {
        let mut reverted = Vec::new();
        while self.chain.offset() > offset {
            reverted.push(self.chain.pop_micro().expect("offset > target"));
        }
        let mut applied = 0;
        let mut ok = true;
        for b in theirs {
            if let Err(e) = self.chain.apply_micro(b.clone(), self.sigs.as_ref()) {
                self.emit(Event::Refused {
                    what: format!("fork block {}:{}", b.epoch, b.offset),
                    error: e.to_string(),
                });
                ok = false;
                break;
            }
            applied += 1;
        }
        if !ok || applied == 0 {
            for _ in 0..applied {
                self.chain.pop_micro();
            }
            for b in reverted.into_iter().rev() {
                self.chain.apply_micro_unchecked(b);
            }
            return false;
        }
        // Take the new blocks off again and replay the switch through the event paths.
        let mut new_blocks = Vec::new();
        for _ in 0..applied {
            new_blocks.push(self.chain.pop_micro().expect("applied above"));
        }
        for b in reverted.iter().rev() {
            self.chain.apply_micro_unchecked(b.clone());
        }
        let mut gone = Vec::new();
        while self.chain.offset() > offset {
            gone.push(self.revert_micro().expect("offset > target"));
        }
        let mut orphans = Vec::new();
        for b in new_blocks.into_iter().rev() {
            if let Err(e) = self.accept_micro(b, Some(&mut orphans)) {
                self.emit(Event::Refused {
                    what: "fork replay".into(),
                    error: e.to_string(),
                });
                break;
            }
        }
        self.restore_transactions(&gone, orphans);
        true
    }
}
