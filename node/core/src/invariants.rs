//! Invariant checks that tests and the simulator run after every step of a network.
//!
//! Each check is a pure function of node state (or of the events nodes emit) and returns a
//! typed [`Violation`] that names the node, the block or transaction, and what broke. They
//! check what must hold in any run, honest or under faults:
//!
//! 1. **Supply.** A node's unspent outputs add up to genesis plus block rewards minted:
//!    [`check_supply`] compares the ledger's running total with
//!    [`Ledger::expected_supply`]. The "minus burned fees" term is zero here: a
//!    transaction's fee is not destroyed but paid to the leader inside the block's reward
//!    output ([`Chain::reward_output`] pays `block_reward + fees`), so fees move, they never
//!    leave the supply. [`check_ledger_sum`] also recomputes the sum from every unspent output,
//!    which catches a running total that drifted from the outputs it claims to sum.
//! 2. **No output spent twice in the final chain.** Every input of a macro block names an
//!    output that an earlier final block created and no earlier final block spent, and no
//!    output is created twice ([`check_final_chain`], or [`FinalChainTracker`] block by block).
//! 3. **Agreement.** Two nodes that both hold the macro block of an epoch hold the same one
//!    ([`check_agreement`], or [`MacroAgreement`] block by block).
//! 4. **Finality.** A transaction a node reported `Committed` is never reported `Rollback`,
//!    `Conflicted` or `Rejected` by that node afterwards, a node never reverts a micro block of
//!    an epoch it already finalised, and never commits a second macro block for an epoch
//!    ([`FinalityTracker`], fed with every [`Event`]).
//!
//! ## Cost
//! The incremental checks are meant to run after every step of a simulation:
//! - [`check_supply`] costs O(1).
//! - [`MacroAgreement::observe`] and [`FinalChainTracker::observe`] cost O(1) when no node
//!   finalised a new macro block since the last call; otherwise the new blocks are hashed
//!   (agreement) or their inputs and outputs looked up (final chain), each once, so the total
//!   over a run is O(macro blocks × nodes) hashes and O(final outputs × log) lookups.
//! - [`FinalityTracker::observe`] costs O(log transactions) per event.
//!
//! The full scans are for the end of a run or for sampling:
//! - [`check_ledger_sum`] scans every unspent output.
//! - [`check_final_chain`] looks up every final input and output (O(n log n)).
//! - [`check_agreement`] hashes every macro block of every node.
//!
//! [`Checker`] bundles the incremental ones for a driver: feed it every event
//! ([`Checker::observe_event`]) and the nodes' chains after every step
//! ([`Checker::check_step`]).

use std::collections::BTreeMap;

use crate::chain::Chain;
use crate::chain::ledger::Ledger;
use crate::crypto::Hash;
use crate::node::{Event, NodeId, TxStatus};

/// An invariant that does not hold, naming where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// The ledger's running total is not genesis plus minted (fees are not burned, so no
    /// other term exists).
    #[error(
        "node {node}: unspent total {total_ustg} µSTG != genesis + minted {expected_ustg} µSTG"
    )]
    Supply {
        /// The node whose ledger is off.
        node: NodeId,
        /// The ledger's running total of unspent amounts.
        total_ustg: i64,
        /// Genesis supply plus everything minted since.
        expected_ustg: i64,
    },
    /// The ledger's running total differs from the sum of its unspent outputs.
    #[error(
        "node {node}: running total {running_ustg} µSTG != recomputed sum {recomputed_ustg} µSTG"
    )]
    TotalDrift {
        /// The node whose ledger is off.
        node: NodeId,
        /// What the ledger's running total says.
        running_ustg: i64,
        /// The sum of every unspent output's amount.
        recomputed_ustg: i64,
    },
    /// A final macro block sits at the wrong index of a node's chain.
    #[error("node {node}: macro block at index {index} says epoch {epoch}")]
    MacroOutOfPlace {
        /// The node whose chain is off.
        node: NodeId,
        /// Its index in the node's list of macro blocks.
        index: u64,
        /// The epoch the block names.
        epoch: u64,
    },
    /// A final macro block spends an output an earlier final block already spent.
    #[error(
        "node {node}: macro block {epoch} spends output {output}, already spent in epoch {first_epoch}"
    )]
    DoubleSpend {
        /// The node holding the chain.
        node: NodeId,
        /// The output spent twice.
        output: Hash,
        /// The epoch of the second spend.
        epoch: u64,
        /// The epoch of the first spend.
        first_epoch: u64,
    },
    /// A final macro block spends an output no earlier final block created (unknown, or
    /// created later).
    #[error(
        "node {node}: macro block {epoch} spends output {output}, which no earlier final block created"
    )]
    SpendsUncreated {
        /// The node holding the chain.
        node: NodeId,
        /// The output spent.
        output: Hash,
        /// The epoch of the spend.
        epoch: u64,
    },
    /// A final macro block creates an output that an earlier final block (or itself) created.
    #[error(
        "node {node}: macro block {epoch} creates output {output}, already created in epoch {first_epoch}"
    )]
    CreatedTwice {
        /// The node holding the chain.
        node: NodeId,
        /// The output created twice.
        output: Hash,
        /// The epoch of the second creation.
        epoch: u64,
        /// The epoch of the first creation.
        first_epoch: u64,
    },
    /// Two nodes hold different macro blocks for one epoch.
    #[error(
        "epoch {epoch}: node {node_a} holds macro block {hash_a}, node {node_b} holds {hash_b}"
    )]
    Disagreement {
        /// The epoch.
        epoch: u64,
        /// The first node.
        node_a: NodeId,
        /// Its block's hash.
        hash_a: Hash,
        /// The second node.
        node_b: NodeId,
        /// Its block's hash.
        hash_b: Hash,
    },
    /// A node reported a status for a transaction it had reported final.
    #[error(
        "node {node}: transaction {tx} was committed in epoch {committed_epoch}, then reported {status:?}"
    )]
    FinalTxReverted {
        /// The node that reported it.
        node: NodeId,
        /// The transaction.
        tx: Hash,
        /// The epoch it was committed in.
        committed_epoch: u64,
        /// The later status.
        status: TxStatus,
    },
    /// A node reverted a micro block of an epoch it had already finalised.
    #[error(
        "node {node}: reverted micro block {epoch}:{offset} after committing epoch {final_epoch}"
    )]
    FinalBlockReverted {
        /// The node.
        node: NodeId,
        /// Epoch of the reverted micro block.
        epoch: u64,
        /// Its offset.
        offset: u32,
        /// The last epoch the node had committed.
        final_epoch: u64,
    },
    /// A node committed a macro block for an epoch it had already committed.
    #[error(
        "node {node}: committed macro block {hash} for epoch {epoch}, which it had committed as {first_hash}"
    )]
    MacroRecommitted {
        /// The node.
        node: NodeId,
        /// The epoch.
        epoch: u64,
        /// The first block committed.
        first_hash: Hash,
        /// The second one.
        hash: Hash,
    },
}

impl Violation {
    /// The name of the invariant it breaks: `supply`, `final_chain` (no output spent twice,
    /// none spent before it was created, none created twice, blocks in place),
    /// `macro_agreement` or `finality`.
    pub fn invariant(&self) -> &'static str {
        match self {
            Violation::Supply { .. } | Violation::TotalDrift { .. } => "supply",
            Violation::MacroOutOfPlace { .. }
            | Violation::DoubleSpend { .. }
            | Violation::SpendsUncreated { .. }
            | Violation::CreatedTwice { .. } => "final_chain",
            Violation::Disagreement { .. } => "macro_agreement",
            Violation::FinalTxReverted { .. }
            | Violation::FinalBlockReverted { .. }
            | Violation::MacroRecommitted { .. } => "finality",
        }
    }
}

// ----- 1. supply -----------------------------------------------------------------------------

/// The running total of unspent amounts equals genesis plus minted. O(1).
pub fn check_supply(node: NodeId, ledger: &Ledger) -> Result<(), Violation> {
    let (total_ustg, expected_ustg) = (ledger.total(), ledger.expected_supply());
    if total_ustg != expected_ustg {
        return Err(Violation::Supply {
            node,
            total_ustg,
            expected_ustg,
        });
    }
    Ok(())
}

/// The running total equals the sum recomputed from every unspent output. O(unspent outputs):
/// run it at the end of a run or every so many steps, not after every step of a large one.
pub fn check_ledger_sum(node: NodeId, ledger: &Ledger) -> Result<(), Violation> {
    let recomputed_ustg = ledger
        .iter()
        .fold(0i64, |sum, (_, u)| sum.saturating_add(u.output.amount()));
    if recomputed_ustg != ledger.total() {
        return Err(Violation::TotalDrift {
            node,
            running_ustg: ledger.total(),
            recomputed_ustg,
        });
    }
    Ok(())
}

// ----- 2. no output spent twice ------------------------------------------------------------

/// The outputs of a final chain, checked one macro block at a time, in epoch order.
///
/// Holds every final output ever created (hash -> epoch created, epoch spent): its size grows
/// with the chain's history, like the chain itself.
#[derive(Debug, Clone, Default)]
pub struct FinalChainTracker {
    /// Final output -> (epoch that created it, epoch that spent it if any).
    outputs: BTreeMap<Hash, (u64, Option<u64>)>,
    /// Number of macro blocks checked: the next one to check is this epoch.
    checked: u64,
}

impl FinalChainTracker {
    /// A tracker that has seen no block.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of macro blocks checked so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// Checks the macro blocks of `chain` not checked yet. Each block is checked once, so a
    /// caller may pass every node's chain after every step: after a block passed, another
    /// node's copy of it is covered by [`MacroAgreement`] (equal hashes, equal content).
    /// O(1) when there is no new block.
    pub fn observe(&mut self, node: NodeId, chain: &Chain) -> Result<(), Violation> {
        while let Some(b) = chain.macros.get(self.checked as usize) {
            let epoch = self.checked;
            if b.epoch != epoch {
                return Err(Violation::MacroOutOfPlace {
                    node,
                    index: epoch,
                    epoch: b.epoch,
                });
            }
            for input in &b.inputs {
                match self.outputs.get_mut(input) {
                    None => {
                        return Err(Violation::SpendsUncreated {
                            node,
                            output: *input,
                            epoch,
                        });
                    }
                    Some((_, Some(first_epoch))) => {
                        return Err(Violation::DoubleSpend {
                            node,
                            output: *input,
                            epoch,
                            first_epoch: *first_epoch,
                        });
                    }
                    Some((_, spent)) => *spent = Some(epoch),
                }
            }
            for o in &b.outputs {
                let h = o.hash();
                if let Some((first_epoch, _)) = self.outputs.get(&h) {
                    return Err(Violation::CreatedTwice {
                        node,
                        output: h,
                        epoch,
                        first_epoch: *first_epoch,
                    });
                }
                self.outputs.insert(h, (epoch, None));
            }
            self.checked += 1;
        }
        Ok(())
    }
}

/// Checks a node's whole final chain from genesis: no output spent twice, every spent output
/// created earlier, none created twice. A full scan (O(final inputs and outputs × log)).
pub fn check_final_chain(node: NodeId, chain: &Chain) -> Result<(), Violation> {
    FinalChainTracker::new().observe(node, chain)
}

// ----- 3. agreement --------------------------------------------------------------------------

/// Whether every pair of nodes agrees on every macro block both hold. A full scan: hashes
/// every macro block of every node once.
pub fn check_agreement<'a>(
    chains: impl IntoIterator<Item = (NodeId, &'a Chain)>,
) -> Result<(), Violation> {
    let mut agreement = MacroAgreement::new();
    for (node, chain) in chains {
        agreement.observe(node, chain)?;
    }
    Ok(())
}

/// Macro-block hashes by epoch, as the first node to finalise each reported it; every other
/// node's blocks are compared with them once.
#[derive(Debug, Clone, Default)]
pub struct MacroAgreement {
    /// Epoch -> (first node that held it, the block's hash); epochs 0..len.
    first: Vec<(NodeId, Hash)>,
    /// Node -> number of its macro blocks already compared.
    compared: BTreeMap<NodeId, usize>,
}

impl MacroAgreement {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Epochs with a macro block on record (`0..epochs`, genesis included).
    pub fn epochs(&self) -> u64 {
        self.first.len() as u64
    }

    /// The hash of the macro block of `epoch` as first seen, if any node holds one.
    pub fn hash_of(&self, epoch: u64) -> Option<Hash> {
        self.first.get(epoch as usize).map(|(_, h)| *h)
    }

    /// Compares the macro blocks `node` finalised since its last call with the record.
    /// O(1) without new blocks. A node whose chain got shorter (restarted on an older store)
    /// is compared again from where its chain now ends.
    pub fn observe(&mut self, node: NodeId, chain: &Chain) -> Result<(), Violation> {
        let done = self.compared.entry(node).or_insert(0);
        *done = (*done).min(chain.macros.len());
        for (epoch, b) in chain.macros.iter().enumerate().skip(*done) {
            let hash = b.hash();
            match self.first.get(epoch) {
                Some(&(node_a, hash_a)) if hash_a != hash => {
                    return Err(Violation::Disagreement {
                        epoch: epoch as u64,
                        node_a,
                        hash_a,
                        node_b: node,
                        hash_b: hash,
                    });
                }
                Some(_) => {}
                None => self.first.push((node, hash)),
            }
            *done = epoch + 1;
        }
        Ok(())
    }
}

// ----- 4. finality ---------------------------------------------------------------------------

/// What one node has made final, as its events told.
#[derive(Debug, Clone, Default)]
struct NodeFinality {
    /// Transactions it reported committed, with the epoch.
    committed: BTreeMap<Hash, u64>,
    /// Macro blocks it committed: epoch -> hash.
    macros: BTreeMap<u64, Hash>,
}

/// Watches the events nodes emit for anything final being undone: a committed transaction
/// later reported `Rollback`, `Conflicted` or `Rejected`; a micro block of a finalised epoch
/// reverted; a second macro block committed for an epoch. O(log transactions) per event.
///
/// Holds every committed transaction hash per node: its size grows with the run.
#[derive(Debug, Clone, Default)]
pub struct FinalityTracker {
    /// Per node.
    nodes: BTreeMap<NodeId, NodeFinality>,
}

impl FinalityTracker {
    /// A tracker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The epoch in which `node` reported `tx` committed, if it did.
    pub fn committed_epoch(&self, node: NodeId, tx: &Hash) -> Option<u64> {
        self.nodes.get(&node)?.committed.get(tx).copied()
    }

    /// `node` restarted on what its store kept: `final_epochs` macro blocks (epochs
    /// `0..final_epochs`). What it had reported final beyond them was never synced, so it was
    /// not final: it is forgotten, and the node may commit those epochs again (its blocks
    /// must still agree with the other nodes', which [`MacroAgreement`] checks).
    pub fn restarted(&mut self, node: NodeId, final_epochs: u64) {
        if let Some(state) = self.nodes.get_mut(&node) {
            state.macros.retain(|epoch, _| *epoch < final_epochs);
            state.committed.retain(|_, epoch| *epoch < final_epochs);
        }
    }

    /// Takes one event of `node`, in the order the node emitted it.
    pub fn observe(&mut self, node: NodeId, event: &Event) -> Result<(), Violation> {
        let state = self.nodes.entry(node).or_default();
        match event {
            Event::TransactionStatus { tx_hash, status } => {
                let committed = state.committed.get(tx_hash).copied();
                match (status, committed) {
                    (TxStatus::Committed { epoch }, None) => {
                        state.committed.insert(*tx_hash, *epoch);
                    }
                    (
                        TxStatus::Rollback { .. }
                        | TxStatus::Conflicted { .. }
                        | TxStatus::Rejected { .. },
                        Some(committed_epoch),
                    ) => {
                        return Err(Violation::FinalTxReverted {
                            node,
                            tx: *tx_hash,
                            committed_epoch,
                            status: status.clone(),
                        });
                    }
                    _ => {}
                }
            }
            Event::MacroBlockCommitted { epoch, hash, .. } => {
                if let Some(first_hash) = state.macros.get(epoch) {
                    return Err(Violation::MacroRecommitted {
                        node,
                        epoch: *epoch,
                        first_hash: *first_hash,
                        hash: *hash,
                    });
                }
                state.macros.insert(*epoch, *hash);
            }
            Event::MicroBlockReverted { epoch, offset, .. } => {
                if let Some((&final_epoch, _)) = state.macros.last_key_value() {
                    if *epoch <= final_epoch {
                        return Err(Violation::FinalBlockReverted {
                            node,
                            epoch: *epoch,
                            offset: *offset,
                            final_epoch,
                        });
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

// ----- all of them ---------------------------------------------------------------------------

/// Which of the incremental checks a [`Checker`] runs (a scenario may turn some off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enabled {
    /// [`check_supply`] of a node whose chain changed.
    pub supply: bool,
    /// [`MacroAgreement`].
    pub agreement: bool,
    /// [`FinalChainTracker`].
    pub final_chain: bool,
    /// [`FinalityTracker`].
    pub finality: bool,
}

impl Default for Enabled {
    fn default() -> Self {
        Enabled {
            supply: true,
            agreement: true,
            final_chain: true,
            finality: true,
        }
    }
}

/// A fault planted in what a [`Checker`] sees, so a driver's test can prove that a violation
/// stops it at the event that broke the invariant. Nothing in a node changes: the checker
/// alone sees the fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injection {
    /// Once `node`'s chain holds the macro block of `epoch`, the checker sees that chain with
    /// two more final blocks after it, each spending the first output of genesis: a double
    /// spend in the final chain (the first extra block is one already, when genesis's output
    /// was spent before).
    DoubleSpend {
        /// The node whose chain is doctored.
        node: NodeId,
        /// The epoch after whose macro block the spends appear.
        epoch: u64,
    },
    /// When `node` commits the macro block of `epoch`, the checker also sees it revert micro
    /// block 0 of that epoch: a final block undone.
    FinalityBreak {
        /// The node.
        node: NodeId,
        /// The finalised epoch it seems to revert.
        epoch: u64,
    },
}

/// The incremental checks together, for a driver to call after every step.
#[derive(Debug, Clone, Default)]
pub struct Checker {
    /// Finality, from events.
    pub finality: FinalityTracker,
    /// Agreement on macro blocks across nodes.
    pub agreement: MacroAgreement,
    /// The final chain's outputs (checked once per macro block, whichever node has it first).
    pub final_chain: FinalChainTracker,
    /// Which checks run (all by default).
    pub enabled: Enabled,
    /// A fault to plant (tests of drivers), not yet planted.
    pub inject: Option<Injection>,
}

impl Checker {
    /// A checker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one event of `node` (call for every event, in order).
    pub fn observe_event(&mut self, node: NodeId, event: &Event) -> Result<(), Violation> {
        if !self.enabled.finality {
            return Ok(());
        }
        self.finality.observe(node, event)?;
        if let (
            Some(Injection::FinalityBreak { node: n, epoch }),
            Event::MacroBlockCommitted { epoch: e, .. },
        ) = (self.inject, event)
        {
            if n == node && epoch == *e {
                self.inject = None;
                let revert = Event::MicroBlockReverted {
                    epoch,
                    offset: 0,
                    view_change: 0,
                    hash: Hash::default(),
                };
                self.finality.observe(node, &revert)?;
            }
        }
        Ok(())
    }

    /// The checks of one node's chain after it changed (a block applied or reverted, a macro
    /// block committed, a restart): its supply, its macro blocks against the other nodes',
    /// its new final blocks' outputs. O(log nodes) when it finalised no new macro block.
    pub fn check_node(&mut self, node: NodeId, chain: &Chain) -> Result<(), Violation> {
        if self.enabled.supply {
            check_supply(node, &chain.ledger)?;
        }
        // Agreement first: the final-chain check then covers each block once, for all.
        if self.enabled.agreement {
            self.agreement.observe(node, chain)?;
        }
        if self.enabled.final_chain {
            match self.inject {
                Some(Injection::DoubleSpend { node: n, epoch })
                    if n == node && chain.epoch() > epoch =>
                {
                    self.inject = None;
                    self.final_chain.observe(node, &with_double_spend(chain))?;
                }
                _ => self.final_chain.observe(node, chain)?,
            }
        }
        Ok(())
    }

    /// `node` restarted on what its store kept (see [`FinalityTracker::restarted`]); its
    /// chain is then checked like any changed chain.
    pub fn restarted(&mut self, node: NodeId, chain: &Chain) -> Result<(), Violation> {
        self.finality.restarted(node, chain.epoch());
        self.check_node(node, chain)
    }

    /// The per-step checks over the running nodes' chains: supply of each, agreement on macro
    /// blocks, the final chain's outputs. O(nodes) when no macro block was finalised since the
    /// last call.
    pub fn check_step<'a>(
        &mut self,
        chains: impl IntoIterator<Item = (NodeId, &'a Chain)>,
    ) -> Result<(), Violation> {
        for (node, chain) in chains {
            self.check_node(node, chain)?;
        }
        Ok(())
    }

    /// The costlier scans, for the end of a run: each node's ledger sum recomputed.
    pub fn check_full<'a>(
        &mut self,
        chains: impl IntoIterator<Item = (NodeId, &'a Chain)>,
    ) -> Result<(), Violation> {
        for (node, chain) in chains {
            check_ledger_sum(node, &chain.ledger)?;
        }
        Ok(())
    }
}

/// `chain` with two more final blocks that each spend genesis's first output
/// ([`Injection::DoubleSpend`]).
fn with_double_spend(chain: &Chain) -> Chain {
    let mut c = chain.clone();
    let spent = c.macros[0].outputs[0].hash();
    for _ in 0..2 {
        let mut b = c.last_macro().clone();
        b.epoch = c.macros.len() as u64;
        b.inputs = vec![spent];
        b.outputs = Vec::new();
        b.clear_hash_memo();
        c.macros.push(b);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::genesis::{GenesisKeys, genesis_block};
    use crate::chain::ledger::BlockRef;
    use crate::config::ChainConfig;

    fn chain() -> Chain {
        let cfg = ChainConfig::dev();
        let genesis = genesis_block(&cfg, &GenesisKeys::derive(&cfg));
        Chain::from_genesis(cfg, genesis)
    }

    /// A macro block for the chain's next epoch spending `inputs` and creating nothing.
    fn push_macro(chain: &mut Chain, inputs: Vec<Hash>, random: u8) {
        let mut b = chain.last_macro().clone();
        b.epoch = chain.macros.len() as u64;
        b.inputs = inputs;
        b.outputs = Vec::new();
        b.random = Hash([random; 32]);
        b.clear_hash_memo();
        chain.macros.push(b);
    }

    #[test]
    fn a_genesis_chain_passes_every_check() {
        let c = chain();
        assert_eq!(check_supply(0, &c.ledger), Ok(()));
        assert_eq!(check_ledger_sum(0, &c.ledger), Ok(()));
        assert_eq!(check_final_chain(0, &c), Ok(()));
        assert_eq!(check_agreement([(0, &c), (1, &c)]), Ok(()));
    }

    #[test]
    fn minting_without_an_output_breaks_the_supply() {
        let mut c = chain();
        let at = BlockRef {
            epoch: 1,
            offset: None,
            block_hash: Hash::default(),
            timestamp_ns: 0,
        };
        c.ledger.apply_macro_net(&[], &[], 5, at);
        assert!(matches!(
            check_supply(3, &c.ledger),
            Err(Violation::Supply { node: 3, .. })
        ));
    }

    #[test]
    fn double_spends_and_unknown_inputs_in_final_blocks_are_caught() {
        let base = chain();
        let spent = base.macros[0].outputs[0].hash();

        let mut twice = base.clone();
        push_macro(&mut twice, vec![spent], 1);
        push_macro(&mut twice, vec![spent], 2);
        assert_eq!(
            check_final_chain(1, &twice),
            Err(Violation::DoubleSpend {
                node: 1,
                output: spent,
                epoch: 2,
                first_epoch: 1
            })
        );

        let mut unknown = base.clone();
        push_macro(&mut unknown, vec![Hash([9; 32])], 1);
        assert!(matches!(
            check_final_chain(1, &unknown),
            Err(Violation::SpendsUncreated { epoch: 1, .. })
        ));

        // Incrementally: each block is checked once, the error names the second spend.
        let mut tracker = FinalChainTracker::new();
        let mut growing = base.clone();
        assert_eq!(tracker.observe(0, &growing), Ok(()));
        push_macro(&mut growing, vec![spent], 1);
        assert_eq!(tracker.observe(0, &growing), Ok(()));
        assert_eq!(tracker.checked(), 2);
        push_macro(&mut growing, vec![spent], 2);
        assert!(matches!(
            tracker.observe(0, &growing),
            Err(Violation::DoubleSpend { epoch: 2, .. })
        ));
    }

    #[test]
    fn different_macro_blocks_for_one_epoch_are_a_disagreement() {
        let mut a = chain();
        let mut b = chain();
        push_macro(&mut a, Vec::new(), 1);
        push_macro(&mut b, Vec::new(), 2);
        assert!(matches!(
            check_agreement([(0, &a), (1, &b)]),
            Err(Violation::Disagreement {
                epoch: 1,
                node_a: 0,
                node_b: 1,
                ..
            })
        ));
    }

    #[test]
    fn finality_tracker_flags_reverted_final_state() {
        let tx = Hash([1; 32]);
        let mut t = FinalityTracker::new();
        let status = |status| Event::TransactionStatus {
            tx_hash: tx,
            status,
        };
        assert_eq!(t.observe(0, &status(TxStatus::Accepted)), Ok(()));
        // A rollback before finality is fine.
        assert_eq!(
            t.observe(
                0,
                &status(TxStatus::Rollback {
                    epoch: 1,
                    offset: 2
                })
            ),
            Ok(())
        );
        assert_eq!(
            t.observe(0, &status(TxStatus::Committed { epoch: 1 })),
            Ok(())
        );
        assert_eq!(t.committed_epoch(0, &tx), Some(1));
        // Another node's reports are its own.
        assert_eq!(
            t.observe(
                1,
                &status(TxStatus::Conflicted {
                    epoch: 1,
                    offset: None
                })
            ),
            Ok(())
        );
        assert!(matches!(
            t.observe(
                0,
                &status(TxStatus::Conflicted {
                    epoch: 2,
                    offset: None
                })
            ),
            Err(Violation::FinalTxReverted {
                node: 0,
                committed_epoch: 1,
                ..
            })
        ));

        let commit = |epoch, h: u8| Event::MacroBlockCommitted {
            epoch,
            round: 0,
            hash: Hash([h; 32]),
            transactions: 0,
        };
        assert_eq!(t.observe(0, &commit(1, 1)), Ok(()));
        assert!(matches!(
            t.observe(0, &commit(1, 2)),
            Err(Violation::MacroRecommitted { epoch: 1, .. })
        ));
        let revert = |epoch| Event::MicroBlockReverted {
            epoch,
            offset: 3,
            view_change: 0,
            hash: Hash::default(),
        };
        assert_eq!(t.observe(0, &revert(2)), Ok(()));
        assert!(matches!(
            t.observe(0, &revert(1)),
            Err(Violation::FinalBlockReverted {
                epoch: 1,
                final_epoch: 1,
                ..
            })
        ));
    }

    #[test]
    fn a_restarted_node_may_commit_again_what_it_had_not_synced() {
        let mut t = FinalityTracker::new();
        let commit = |epoch, h: u8| Event::MacroBlockCommitted {
            epoch,
            round: 0,
            hash: Hash([h; 32]),
            transactions: 0,
        };
        assert_eq!(t.observe(0, &commit(1, 1)), Ok(()));
        assert_eq!(t.observe(0, &commit(2, 2)), Ok(()));
        // The store kept epochs 0 and 1: epoch 2 may come again, epoch 1 may not.
        t.restarted(0, 2);
        assert_eq!(t.observe(0, &commit(2, 2)), Ok(()));
        assert!(matches!(
            t.observe(0, &commit(1, 1)),
            Err(Violation::MacroRecommitted { epoch: 1, .. })
        ));
    }

    #[test]
    fn planted_faults_are_caught_once_where_planted() {
        let c = chain();
        let mut checker = Checker::new();
        checker.inject = Some(Injection::DoubleSpend { node: 1, epoch: 0 });
        assert_eq!(checker.check_node(0, &c), Ok(()));
        let v = checker.check_node(1, &c).unwrap_err();
        assert!(matches!(v, Violation::DoubleSpend { node: 1, .. }), "{v}");
        assert_eq!(v.invariant(), "final_chain");
        assert_eq!(checker.inject, None);

        let mut checker = Checker::new();
        checker.inject = Some(Injection::FinalityBreak { node: 2, epoch: 1 });
        let commit = Event::MacroBlockCommitted {
            epoch: 1,
            round: 0,
            hash: Hash([1; 32]),
            transactions: 0,
        };
        assert_eq!(checker.observe_event(0, &commit), Ok(()));
        let v = checker.observe_event(2, &commit).unwrap_err();
        assert!(
            matches!(
                v,
                Violation::FinalBlockReverted {
                    node: 2,
                    epoch: 1,
                    ..
                }
            ),
            "{v}"
        );
        assert_eq!(v.invariant(), "finality");
    }
}
