//! The fact store: what the nodes reported, kept in the shapes expectations and counts read
//! (highest committed epoch, distinct micro blocks, per-node view changes, reverts, restakes,
//! Snowball states) and, with `node_events = "first"`, which facts were already traced.

use std::collections::{BTreeMap, BTreeSet};

use stegosim_node::crypto::Hash;
use stegosim_node::node::{Event, NodeId, TxStatus};

use crate::outcome::Counts;
use crate::scenario::NodeEvents;

/// A kind of fact every node reports, for tracing each once (`node_events = "first"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FactKind {
    /// A micro block prepared.
    MicroBlockPrepared,
    /// A macro block committed.
    MacroBlockCommitted,
    /// A transaction status, by status.
    Tx(TxFact),
}

/// The status part of a transaction fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TxFact {
    Accepted,
    Rejected,
    Prepared,
    Rollback,
    Committed,
    Conflicted,
}

/// One fact: its kind, the block or transaction hash, epoch and offset (0 where the kind has
/// none; `u32::MAX` for a conflict outside any micro block).
type Fact = (FactKind, Hash, u64, u32);

/// The fact a transaction status states.
fn tx_fact(hash: Hash, status: &TxStatus) -> Fact {
    let (kind, epoch, offset) = match status {
        TxStatus::Accepted => (TxFact::Accepted, 0, 0),
        TxStatus::Rejected { .. } => (TxFact::Rejected, 0, 0),
        TxStatus::Prepared { epoch, offset } => (TxFact::Prepared, *epoch, *offset),
        TxStatus::Rollback { epoch, offset } => (TxFact::Rollback, *epoch, *offset),
        TxStatus::Committed { epoch } => (TxFact::Committed, *epoch, 0),
        TxStatus::Conflicted { epoch, offset } => {
            (TxFact::Conflicted, *epoch, offset.unwrap_or(u32::MAX))
        }
    };
    (FactKind::Tx(kind), hash, epoch, offset)
}

/// What the nodes reported so far.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    /// Whether every node's line of a shared fact is traced, or only the first.
    node_events: NodeEvents,
    /// With `node_events = "first"`: the facts already traced.
    traced: BTreeSet<Fact>,
    /// Highest epoch any node committed a macro block for.
    pub epoch: u64,
    /// Distinct micro blocks prepared, by hash.
    micro_blocks: BTreeSet<Hash>,
    /// View changes per node, and their sum.
    view_changes: BTreeMap<NodeId, u64>,
    view_changes_total: u64,
    /// Micro blocks reverted per node, and their sum.
    reverted: BTreeMap<NodeId, u64>,
    reverted_total: u64,
    /// Restakes per node, and their sum.
    restakes: BTreeMap<NodeId, u64>,
    restakes_total: u64,
    /// Snowball states each (node, account) was told, in order.
    snowball: BTreeMap<(NodeId, String), Vec<String>>,
    /// Faults applied.
    pub faults: u64,
    /// Timer stalls the driver reported.
    pub timer_stalls: u64,
    /// Highest committed epoch when the last fault step ran.
    pub epoch_at_last_fault: u64,
}

impl Facts {
    /// An empty store; `node_events` as the scenario's `[trace]` says.
    pub fn new(node_events: NodeEvents) -> Facts {
        Facts {
            node_events,
            ..Facts::default()
        }
    }

    /// Records `event` of `node`; true when its trace line is to be written.
    pub fn record(&mut self, node: NodeId, event: &Event) -> bool {
        match event {
            Event::MicroBlockPrepared {
                epoch,
                offset,
                hash,
                ..
            } => {
                self.micro_blocks.insert(*hash);
                self.first((FactKind::MicroBlockPrepared, *hash, *epoch, *offset))
            }
            Event::MicroBlockReverted { .. } => {
                *self.reverted.entry(node).or_default() += 1;
                self.reverted_total += 1;
                true
            }
            Event::MacroBlockCommitted { epoch, hash, .. } => {
                self.epoch = self.epoch.max(*epoch);
                self.first((FactKind::MacroBlockCommitted, *hash, *epoch, 0))
            }
            Event::ViewChange { .. } => {
                *self.view_changes.entry(node).or_default() += 1;
                self.view_changes_total += 1;
                true
            }
            Event::TransactionStatus { tx_hash, status } => self.first(tx_fact(*tx_hash, status)),
            Event::Restake { .. } => {
                *self.restakes.entry(node).or_default() += 1;
                self.restakes_total += 1;
                true
            }
            Event::Refused { .. } | Event::Synchronized(_) => true,
        }
    }

    /// Whether to trace a fact every node reports: always with `node_events = "all"`, only
    /// the first time with `"first"`.
    fn first(&mut self, fact: Fact) -> bool {
        match self.node_events {
            NodeEvents::All => true,
            NodeEvents::First => self.traced.insert(fact),
        }
    }

    /// Records a Snowball state `node` told the client of `account`.
    pub fn snowball_state(&mut self, node: NodeId, account: &str, state: String) {
        self.snowball
            .entry((node, account.to_string()))
            .or_default()
            .push(state);
    }

    /// The Snowball states `node` told the client of `account`, in order.
    pub fn snowball_states(&self, node: NodeId, account: &str) -> &[String] {
        self.snowball
            .get(&(node, account.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// View changes of `node`, or of every node.
    pub fn view_changes(&self, node: Option<NodeId>) -> u64 {
        match node {
            Some(n) => self.view_changes.get(&n).copied().unwrap_or(0),
            None => self.view_changes_total,
        }
    }

    /// Micro blocks `node` reverted.
    pub fn reverted(&self, node: NodeId) -> u64 {
        self.reverted.get(&node).copied().unwrap_or(0)
    }

    /// Restakes of `node`.
    pub fn restakes(&self, node: NodeId) -> u64 {
        self.restakes.get(&node).copied().unwrap_or(0)
    }

    /// Distinct micro blocks prepared.
    pub fn micro_blocks(&self) -> u64 {
        self.micro_blocks.len() as u64
    }

    /// The counts these facts make (the engine's and the payments' are added elsewhere).
    pub fn counts(&self) -> Counts {
        Counts {
            epochs: self.epoch,
            micro_blocks: self.micro_blocks(),
            micro_blocks_reverted: self.reverted_total,
            view_changes: self.view_changes_total,
            restakes: self.restakes_total,
            faults: self.faults,
            timer_stalls: self.timer_stalls,
            ..Counts::default()
        }
    }
}
