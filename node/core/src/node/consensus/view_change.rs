//! View changes: a validator that sees no block for the current height in time votes to
//! move to the next view; votes from more than 2/3 of the slots move the node there, and the
//! next view's leader produces with the votes as proof.

use crate::chain::block::ViewChangeVote;
use crate::node::{Dest, Event, Node, NodeId, PeerMessage};

/// Most votes one [`PeerMessage::ViewProof`] carries (one per validator; a proof needs more
/// than 2/3 of the slots, which no more validators than slots can hold).
pub const VIEW_PROOF_VOTES_MAX: usize = 1000;

/// Votes for views further than this above ours are ignored (a proof still moves us there):
/// the tallies a node keeps stay bounded.
const VIEW_VOTES_AHEAD_MAX: u32 = 64;

impl Node {
    /// No block came in time at this height: vote for the next view, and wait another
    /// timeout before voting again if the view does not move.
    pub(in crate::node) fn view_change_timeout(&mut self) {
        if self.cfg.network_key.is_none() || self.chain.epoch_full() {
            return;
        }
        // Never below a view we voted for already: re-sending that vote (a peer may have
        // missed it behind a cut link) keeps the votes of lagging and leading nodes together.
        let target = (self.view + 1).max(self.voted_view);
        self.cast_vote(target);
        // Re-arm: if the view does not move, vote again after another timeout.
        self.view_started_ns = self.now_ns.saturating_sub(if self.view == 0 {
            self.cfg.chain.block_interval_ns
        } else {
            0
        });
    }

    /// Signs and broadcasts this node's vote for `target` at the current height, and counts it.
    fn cast_vote(&mut self, target: u32) {
        let Some(key) = self.cfg.network_key.clone() else {
            return;
        };
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
        if !self.chain.election.is_validator(&v.validator) {
            return;
        }
        if v.view_change <= self.view {
            // The voter lags behind our view: send it the proof that moved us.
            self.send_view_proof(from);
            return;
        }
        if v.view_change > self.view.saturating_add(VIEW_VOTES_AHEAD_MAX) {
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
        let election = &self.chain.election;
        let weak = election.slots_count() - election.supermajority() + 1;
        let me_validates = self
            .network_pkey()
            .is_some_and(|me| election.is_validator(&me));
        if view > self.voted_view
            && view > self.view
            && slots >= weak
            && me_validates
            && !self.chain.epoch_full()
        {
            // More than 1/3 of the slots want this view: at least one honest validator timed
            // out there, so join it rather than wait for our own timeout to reach it.
            self.cast_vote(view);
            return;
        }
        if view > self.view && self.votes[&view].slots() >= self.chain.election.supermajority() {
            self.view = view;
            self.view_started_ns = self.now_ns;
            self.emit(Event::ViewChange {
                epoch: self.chain.epoch(),
                offset: self.chain.offset(),
                view_change: view,
            });
            self.notify_status();
            self.prune_votes();
        }
    }

    /// Drops the tallies of views below the current one (the current one is its proof).
    fn prune_votes(&mut self) {
        let view = self.view;
        self.votes.retain(|v, _| *v >= view);
    }

    /// Sends peer `to` the proof of our current view at our tip, when we are past view 0.
    pub(in crate::node) fn send_view_proof(&mut self, to: NodeId) {
        if self.view == 0 || self.chain.epoch_full() {
            return;
        }
        let Some(t) = self.votes.get(&self.view) else {
            return;
        };
        let votes: Vec<ViewChangeVote> = t.values().take(VIEW_PROOF_VOTES_MAX).cloned().collect();
        self.send(Dest::One(to), PeerMessage::ViewProof(votes));
    }

    /// A proof for a view at a height: adopted when it is for our tip, above our view, and
    /// holds votes from more than 2/3 of the slots (checked as a block's proof is).
    pub(in crate::node) fn on_view_proof(&mut self, votes: &[ViewChangeVote]) {
        if votes.is_empty() || votes.len() > VIEW_PROOF_VOTES_MAX || self.chain.epoch_full() {
            return;
        }
        let view = votes[0].view_change;
        if view <= self.view
            || votes[0].epoch != self.chain.epoch()
            || votes[0].offset != self.chain.offset()
            || votes[0].last_block != self.chain.tip_hash()
        {
            return;
        }
        if let Err(e) = self
            .chain
            .check_view_change_proof(votes, view, self.sigs.as_ref())
        {
            self.emit(Event::Refused {
                what: "view proof".into(),
                error: e.to_string(),
            });
            return;
        }
        let tally = self.votes.entry(view).or_default();
        for v in votes.iter().filter(|v| {
            v.view_change == view
                && v.epoch == self.chain.epoch()
                && v.offset == self.chain.offset()
                && v.last_block == self.chain.tip_hash()
        }) {
            tally.insert(&self.chain.election, v.validator, v.clone());
        }
        self.view = view;
        self.view_started_ns = self.now_ns;
        self.emit(Event::ViewChange {
            epoch: self.chain.epoch(),
            offset: self.chain.offset(),
            view_change: view,
        });
        self.notify_status();
        self.prune_votes();
    }
}
