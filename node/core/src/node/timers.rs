//! The node's timers: one deadline per kind of wake-up, whose earliest is
//! [`Node::poll_timeout`](super::Node::poll_timeout).
//!
//! As in quinn-proto, a timer is a slot of a fixed table rather than arithmetic inside
//! `poll_timeout`: each part of the node (consensus, Snowball) reports its deadline with a
//! reason, the table keeps one deadline per kind, and a wake-up says why it came (str0m's
//! reason label), which traces show. The node re-derives the table from its state at the end
//! of every input (`Node::rearm_timers`, the one place that writes it), so that no deadline
//! outlives the state it was computed from; debug builds check that on every `poll_timeout`.

use serde::{Deserialize, Serialize};

use crate::snowball::SnowballTimer;

/// Why the node wants to be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerReason {
    /// Produce the next micro block (this node leads).
    ProduceMicroBlock,
    /// The block for this height is late: vote a view change.
    ViewChangeTimeout,
    /// The macro-block round timed out: move to the next round.
    MacroRoundTimeout,
    /// A Snowball pool check or phase deadline.
    Snowball(SnowballTimer),
}

/// Number of slots in the table: one per variant of [`TimerReason`].
const SLOTS: usize = 4;

impl TimerReason {
    /// The reason's slot. The order breaks ties between equal deadlines: consensus goes
    /// before Snowball, as the node did before it had a table (the traces depend on it).
    fn slot(self) -> usize {
        match self {
            TimerReason::ProduceMicroBlock => 0,
            TimerReason::ViewChangeTimeout => 1,
            TimerReason::MacroRoundTimeout => 2,
            TimerReason::Snowball(_) => 3,
        }
    }
}

/// The deadlines (ns), one slot per kind of [`TimerReason`]; an empty slot is a timer that is
/// not armed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct TimerTable {
    /// Slot [`TimerReason::slot`]: the deadline and its full reason (Snowball's says which
    /// of its deadlines it is).
    deadlines: [Option<(u64, TimerReason)>; SLOTS],
}

impl TimerTable {
    /// Arms the timer of `reason`'s kind for `at_ns`, replacing the one it had.
    pub(super) fn set(&mut self, reason: TimerReason, at_ns: u64) {
        self.deadlines[reason.slot()] = Some((at_ns, reason));
    }

    /// The earliest deadline; between equal ones, the lower slot.
    pub(super) fn next(&self) -> Option<(u64, TimerReason)> {
        let mut earliest: Option<(u64, TimerReason)> = None;
        for &(at_ns, reason) in self.deadlines.iter().flatten() {
            if earliest.is_none_or(|(t, _)| at_ns < t) {
                earliest = Some((at_ns, reason));
            }
        }
        earliest
    }

    /// The reasons whose deadline is at or before `now_ns`, in slot order.
    pub(super) fn expired(&self, now_ns: u64) -> Vec<TimerReason> {
        self.deadlines
            .iter()
            .flatten()
            .filter(|(at_ns, _)| *at_ns <= now_ns)
            .map(|(_, reason)| *reason)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_deadline_wins_and_consensus_wins_ties() {
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(TimerReason::Snowball(SnowballTimer::PoolCheck), 10);
        t.set(TimerReason::ViewChangeTimeout, 10);
        assert_eq!(t.next(), Some((10, TimerReason::ViewChangeTimeout)));
        t.set(TimerReason::Snowball(SnowballTimer::PoolCheck), 9);
        assert_eq!(
            t.next(),
            Some((9, TimerReason::Snowball(SnowballTimer::PoolCheck)))
        );
        assert_eq!(t.expired(8), vec![]);
        assert_eq!(
            t.expired(10),
            vec![
                TimerReason::ViewChangeTimeout,
                TimerReason::Snowball(SnowballTimer::PoolCheck)
            ]
        );
    }
}
