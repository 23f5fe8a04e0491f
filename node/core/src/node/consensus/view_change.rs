//! View changes: a validator that sees no block for the current height in time votes to
//! move to the next view; votes from more than 2/3 of the slots move the node there, and the
//! next view's leader produces with the votes as proof.

use crate::chain::block::ViewChangeVote;
use crate::node::{Dest, Event, Node, NodeId, PeerMessage};

impl Node {
    /// No block came in time at this height: vote for the next view, and wait another
    /// timeout before voting again if the view does not move.
    pub(in crate::node) fn view_change_timeout(&mut self) {
        let Some(key) = self.cfg.network_key.clone() else {
            return;
        };
        if self.chain.epoch_full() {
            return;
        }
        let target = self.view + 1;
        let vote = ViewChangeVote {
            epoch: self.chain.epoch(),
            offset: self.chain.offset(),
            view_change: target,
            last_block: self.chain.tip_hash(),
            validator: *key.public(),
            signature: crate::crypto::sign(
                key.secret(),
                ViewChangeVote::signed_hash(
                    self.chain.epoch(),
                    self.chain.offset(),
                    target,
                    &self.chain.tip_hash(),
                )
                .as_bytes(),
            ),
        };
        self.voted_view = self.voted_view.max(target);
        // Re-arm: if the view does not move, vote again after another timeout.
        self.view_started_ns = self.now_ns.saturating_sub(if self.view == 0 {
            self.cfg.chain.block_interval_ns
        } else {
            0
        });
        self.send(Dest::All, PeerMessage::ViewChange(vote.clone()));
        self.record_vote(vote);
    }

    /// A view-change vote from peer `from`. A vote from another height or fork is a sign that
    /// one of the two nodes misses blocks, so it triggers a sync either way; a valid vote for a
    /// later view at our height is counted.
    pub(in crate::node) fn on_view_change_vote(&mut self, from: NodeId, v: &ViewChangeVote) {
        if v.epoch > self.chain.epoch()
            || (v.epoch == self.chain.epoch() && v.offset > self.chain.offset())
        {
            self.request_sync(from);
            return;
        }
        if v.epoch < self.chain.epoch()
            || (v.epoch == self.chain.epoch() && v.offset < self.chain.offset())
        {
            // The voter waits for a block we already have (it missed it, e.g. behind a
            // partition): without help it waits forever once the others moved on to the
            // macro block, so send it what it misses.
            self.on_sync_request(from, v.epoch, v.offset);
            if v.epoch == self.chain.epoch() {
                let ours = match v.offset {
                    0 => self.chain.last_macro().hash(),
                    o => self.chain.micros[o as usize - 1].hash(),
                };
                if ours != v.last_block {
                    // Its tip is not on our chain: it is on a fork, which may win by view
                    // although it is shorter. Ask for its blocks so fork choice can decide.
                    self.request_sync(from);
                }
            }
            return;
        }
        if v.epoch == self.chain.epoch()
            && v.offset == self.chain.offset()
            && v.last_block != self.chain.tip_hash()
        {
            // The voter waits at our height on another fork: compare epochs, so that two
            // equally long forks with equal views still converge (equal_view_fork_wins).
            self.request_sync(from);
            return;
        }
        if v.epoch != self.chain.epoch() || v.offset != self.chain.offset() {
            return;
        }
        if v.view_change <= self.view || !self.chain.election.is_validator(&v.validator) {
            return;
        }
        let msg = ViewChangeVote::signed_hash(v.epoch, v.offset, v.view_change, &v.last_block);
        if !self.sigs.check(&[v.validator], &msg, &v.signature) {
            self.emit(Event::Refused {
                what: "view change vote".into(),
                error: "bad signature".into(),
            });
            return;
        }
        self.record_vote(v.clone());
    }

    /// Counts a vote; votes from more than 2/3 of the slots for a later view move this node
    /// there.
    fn record_vote(&mut self, v: ViewChangeVote) {
        let view = v.view_change;
        let voter = v.validator;
        self.votes
            .entry(view)
            .or_default()
            .insert(&self.chain.election, voter, v);
        let slots = self.votes[&view].slots();
        if view > self.view && slots >= self.chain.election.supermajority() {
            self.view = view;
            self.view_started_ns = self.now_ns;
            self.emit(Event::ViewChange {
                epoch: self.chain.epoch(),
                offset: self.chain.offset(),
                view_change: view,
            });
            self.notify_status();
        }
    }
}
