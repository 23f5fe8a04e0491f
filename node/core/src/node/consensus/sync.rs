//! Sync: a node that learns it is behind asks the sender for what it misses; the answer
//! carries final macro blocks and the current epoch's micro blocks, and fork choice decides
//! whether the sender's micro blocks replace ours.

use crate::chain::block::{MacroBlock, MicroBlock};
use crate::node::{Dest, Node, NodeId, PeerMessage};

/// Largest number of macro blocks one sync response carries; a node far behind asks again.
pub const SYNC_MACROS_MAX: usize = 64;

/// Fork choice between two forks of the current epoch whose first differing blocks (at index
/// `i`) have the same view change, which happens only when a leader made two blocks at one
/// height and view (as after `pop_micro_block`). Without a rule here, each node kept the fork
/// it had, and a network split evenly between the two stalled for good (neither side can
/// gather the votes to change view). The longer fork wins; between equally long ones, the
/// lower hash of the first differing block. Every node ranks two forks the same way, so they
/// converge once they have seen each other's (sync requests on blocks from higher offsets and
/// on votes from our height that name another tip).
fn equal_view_fork_wins(theirs: &[MicroBlock], ours: &[MicroBlock], i: usize) -> bool {
    match theirs.len().cmp(&ours.len()) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => theirs[i].hash() < ours[i].hash(),
    }
}

impl Node {
    /// Asks `from` for the blocks this node misses, at most once per half block interval: a
    /// burst of blocks or votes from a node ahead would otherwise send a request each.
    pub(super) fn request_sync(&mut self, from: NodeId) {
        let recent = self
            .last_sync_request_ns
            .is_some_and(|t| self.now_ns < t.saturating_add(self.cfg.chain.block_interval_ns / 2));
        if recent {
            return;
        }
        self.last_sync_request_ns = Some(self.now_ns);
        self.send(
            Dest::One(from),
            PeerMessage::SyncRequest {
                epoch: self.chain.epoch(),
                offset: self.chain.offset(),
            },
        );
    }

    /// A peer at `epoch` asks for what it misses: our final macro blocks from its epoch on (at
    /// most [`SYNC_MACROS_MAX`]), then, when they all fit, our micro blocks of the current epoch.
    pub(in crate::node) fn on_sync_request(&mut self, from: NodeId, epoch: u64, _offset: u32) {
        if epoch > self.chain.epoch() {
            return;
        }
        let macros: Vec<MacroBlock> = self
            .chain
            .macros
            .iter()
            .skip(epoch as usize)
            .take(SYNC_MACROS_MAX)
            .cloned()
            .collect();
        let micros = if macros.len() < SYNC_MACROS_MAX {
            self.chain.micros.clone()
        } else {
            Vec::new()
        };
        self.send(
            Dest::One(from),
            PeerMessage::SyncResponse { macros, micros },
        );
        // The proof of our current view travels with the blocks: a node that restarted at
        // view 0 learns the view the others moved to.
        self.send_view_proof(from);
    }

    /// Blocks from a peer: the macro blocks that follow our epoch are committed in order; then
    /// the peer's micro blocks replace ours from where they part, if fork choice prefers them.
    pub(in crate::node) fn on_sync_response(
        &mut self,
        macros: &[MacroBlock],
        micros: &[MicroBlock],
    ) {
        for b in macros {
            if b.epoch == self.chain.epoch() {
                let before = self.chain.epoch();
                self.commit_macro(b.clone());
                if self.chain.epoch() == before {
                    return;
                }
            }
        }
        let Some(first) = micros.first() else { return };
        if first.epoch != self.chain.epoch() {
            return;
        }
        // Find where our micro blocks and theirs part.
        let mut i = 0usize;
        while i < micros.len()
            && i < self.chain.micros.len()
            && micros[i].hash() == self.chain.micros[i].hash()
        {
            i += 1;
        }
        if i >= micros.len() {
            return;
        }
        let better = i >= self.chain.micros.len()
            || micros[i].view_change > self.chain.micros[i].view_change
            || (micros[i].view_change == self.chain.micros[i].view_change
                && equal_view_fork_wins(micros, &self.chain.micros, i));
        if better {
            self.try_fork(i as u32, &micros[i..]);
        }
    }
}
