//! The mempool: valid transactions waiting for a block, in arrival order.
//!
//! A transaction enters only if it is valid against the ledger and none of its inputs is
//! claimed by another waiting transaction; each refusal has a reason ([`TxError`]). The
//! mempool holds at most `mempool_txs_max` transactions. Transactions of a reverted micro
//! block come back; transactions included in a block leave, and so do those that a block
//! made invalid (their inputs were spent by another transaction: conflicted).

use std::collections::BTreeMap;

use crate::chain::SigChecker;
use crate::chain::ledger::{Ledger, TxContext, TxError};
use crate::chain::tx::Transaction;
use crate::config::ChainConfig;
use crate::crypto::Hash;

/// Waiting transactions.
#[derive(Debug, Clone, Default)]
pub struct Mempool {
    /// Arrival sequence -> transaction; iteration gives arrival order.
    queue: BTreeMap<u64, (Hash, Transaction)>,
    /// Transaction hash -> arrival sequence.
    by_hash: BTreeMap<Hash, u64>,
    /// Input -> hash of the waiting transaction that spends it.
    claimed: BTreeMap<Hash, Hash>,
    /// Next arrival sequence number.
    next_seq: u64,
}

impl Mempool {
    /// An empty mempool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of waiting transactions.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether `hash` waits here.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The waiting transaction `hash`.
    pub fn get(&self, hash: &Hash) -> Option<&Transaction> {
        let seq = self.by_hash.get(hash)?;
        self.queue.get(seq).map(|(_, tx)| tx)
    }

    /// Inputs claimed by waiting transactions.
    pub fn claimed(&self) -> &BTreeMap<Hash, Hash> {
        &self.claimed
    }

    /// Validates and adds `tx`; returns its hash.
    pub fn insert(
        &mut self,
        tx: Transaction,
        ledger: &Ledger,
        ctx: TxContext,
        cfg: &ChainConfig,
        sigs: &dyn SigChecker,
    ) -> Result<Hash, TxError> {
        let hash = tx.hash();
        if self.by_hash.contains_key(&hash) {
            return Err(TxError::AlreadyKnown(hash));
        }
        if self.queue.len() >= cfg.mempool_txs_max {
            return Err(TxError::MempoolFull(self.queue.len()));
        }
        ledger.validate_tx_with(
            &tx,
            ctx,
            cfg,
            &self.claimed,
            &BTreeMap::new(),
            &|k, m, s| sigs.check(k, m, s),
        )?;
        self.insert_unchecked(hash, tx);
        Ok(hash)
    }

    fn insert_unchecked(&mut self, hash: Hash, tx: Transaction) {
        for i in &tx.inputs {
            self.claimed.insert(*i, hash);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_hash.insert(hash, seq);
        self.queue.insert(seq, (hash, tx));
    }

    /// Removes `hash`; returns the transaction.
    pub fn remove(&mut self, hash: &Hash) -> Option<Transaction> {
        let seq = self.by_hash.remove(hash)?;
        let (_, tx) = self.queue.remove(&seq)?;
        for i in &tx.inputs {
            if self.claimed.get(i) == Some(hash) {
                self.claimed.remove(i);
            }
        }
        Some(tx)
    }

    /// Up to `max` transactions for a block, oldest first.
    pub fn take_for_block(&self, max: usize) -> Vec<Transaction> {
        self.queue
            .values()
            .take(max)
            .map(|(_, tx)| tx.clone())
            .collect()
    }

    /// After a block was applied: drops its transactions, then every waiting transaction one
    /// of whose inputs is no longer unspent (another transaction spent it: conflicted).
    pub fn prune(&mut self, included: &[Hash], ledger: &Ledger) -> Vec<(Hash, TxError)> {
        for h in included {
            self.remove(h);
        }
        let mut dropped = Vec::new();
        let gone: Vec<(Hash, Hash)> = self
            .claimed
            .iter()
            .filter(|(input, _)| ledger.get(input).is_none())
            .map(|(input, tx)| (*input, *tx))
            .collect();
        for (input, tx) in gone {
            if self.remove(&tx).is_some() {
                dropped.push((tx, TxError::MissingInput(input)));
            }
        }
        dropped
    }

    /// Checks every waiting transaction again (at a new epoch, when stake rules move) and
    /// drops the invalid ones.
    pub fn revalidate(
        &mut self,
        ledger: &Ledger,
        ctx: TxContext,
        cfg: &ChainConfig,
        sigs: &dyn SigChecker,
    ) -> Vec<(Hash, TxError)> {
        let waiting: Vec<(Hash, Transaction)> = self.queue.values().cloned().collect();
        self.queue.clear();
        self.by_hash.clear();
        self.claimed.clear();
        let mut dropped = Vec::new();
        for (h, tx) in waiting {
            if let Err(e) = self.insert(tx, ledger, ctx, cfg, sigs) {
                dropped.push((h, e));
            }
        }
        dropped
    }

    /// Puts back the transactions of a reverted block (front of the queue is not needed:
    /// they re-enter in order at the back). Returns those that no longer fit.
    pub fn reinsert(
        &mut self,
        txs: Vec<Transaction>,
        ledger: &Ledger,
        ctx: TxContext,
        cfg: &ChainConfig,
        sigs: &dyn SigChecker,
    ) -> Vec<(Hash, TxError)> {
        let mut refused = Vec::new();
        for tx in txs {
            let h = tx.hash();
            if let Err(e) = self.insert(tx, ledger, ctx, cfg, sigs) {
                if !matches!(e, TxError::AlreadyKnown(_)) {
                    refused.push((h, e));
                }
            }
        }
        refused
    }
}
