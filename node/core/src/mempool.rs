//! The mempool: valid transactions waiting for a block, in arrival order.
//!
//! A transaction enters only if it is valid against the ledger and none of its inputs is
//! claimed by another waiting transaction; each refusal has a reason ([`TxError`]). The
//! mempool holds at most `mempool_txs_max` transactions. Transactions of a reverted micro
//! block come back; transactions included in a block leave, and so do those that a block
//! made invalid (their inputs were spent by another transaction: conflicted).
//!
//! **Held children.** When a micro block is reverted, a transaction that spends an output of
//! one of its transactions (a child) loses its input until the parent, back in the mempool,
//! is in a block again. [`Mempool::readmit`] holds such a child instead of refusing it: it
//! waits (it counts, [`Mempool::contains`] it) but is not offered for blocks, and every block
//! re-checks it ([`Mempool::prune`]): it joins the queue once what it spends exists, and is
//! dropped (conflicted) only when no waiting transaction will create it any more.

use std::collections::BTreeMap;

use crate::chain::SigChecker;
use crate::chain::ledger::{Ledger, TxContext, TxError};
use crate::chain::tx::Transaction;
use crate::config::ChainConfig;
use crate::crypto::Hash;

/// A transaction the mempool let go without a block including it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Its hash.
    pub hash: Hash,
    /// The transaction, so that a caller may offer it again.
    pub tx: Transaction,
    /// Why it no longer fits.
    pub error: TxError,
}

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
    /// Held children (see the module's docs): arrival sequence -> transaction. Their inputs
    /// are not in `claimed` (they are not in the ledger yet).
    held: BTreeMap<u64, (Hash, Transaction)>,
    /// Held transaction hash -> arrival sequence.
    held_by_hash: BTreeMap<Hash, u64>,
}

impl Mempool {
    /// An empty mempool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of waiting transactions (held children included).
    pub fn len(&self) -> usize {
        self.queue.len() + self.held.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.held.is_empty()
    }

    /// Whether `hash` waits here (in the queue or held).
    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash) || self.held_by_hash.contains_key(hash)
    }

    /// Whether `hash` is a held child, waiting for its parent to be in a block.
    pub fn is_held(&self, hash: &Hash) -> bool {
        self.held_by_hash.contains_key(hash)
    }

    /// The waiting (or held) transaction `hash`.
    pub fn get(&self, hash: &Hash) -> Option<&Transaction> {
        if let Some(seq) = self.by_hash.get(hash) {
            return self.queue.get(seq).map(|(_, tx)| tx);
        }
        let seq = self.held_by_hash.get(hash)?;
        self.held.get(seq).map(|(_, tx)| tx)
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
        if self.contains(&hash) {
            return Err(TxError::AlreadyKnown(hash));
        }
        if self.len() >= cfg.mempool_txs_max {
            return Err(TxError::MempoolFull(self.len()));
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

    /// Removes `hash` (waiting or held); returns the transaction.
    pub fn remove(&mut self, hash: &Hash) -> Option<Transaction> {
        if let Some(seq) = self.held_by_hash.remove(hash) {
            return self.held.remove(&seq).map(|(_, tx)| tx);
        }
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
    /// of whose inputs is no longer unspent (another transaction spent it: conflicted); then
    /// re-checks the held children ([`Mempool::settle_held`]). Returns what it dropped.
    pub fn prune(
        &mut self,
        included: &[Hash],
        ledger: &Ledger,
        ctx: TxContext,
        cfg: &ChainConfig,
        sigs: &dyn SigChecker,
    ) -> Vec<Dropped> {
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
        for (input, hash) in gone {
            if let Some(tx) = self.remove(&hash) {
                dropped.push(Dropped {
                    hash,
                    tx,
                    error: TxError::MissingInput(input),
                });
            }
        }
        dropped.extend(self.settle_held(ledger, ctx, cfg, sigs));
        dropped
    }

    /// Checks every waiting transaction again (at a new epoch, when stake rules move) and
    /// drops the invalid ones; held children are re-checked too.
    pub fn revalidate(
        &mut self,
        ledger: &Ledger,
        ctx: TxContext,
        cfg: &ChainConfig,
        sigs: &dyn SigChecker,
    ) -> Vec<Dropped> {
        let waiting: Vec<(Hash, Transaction)> = self.queue.values().cloned().collect();
        self.queue.clear();
        self.by_hash.clear();
        self.claimed.clear();
        let mut dropped = Vec::new();
        for (hash, tx) in waiting {
            if let Err(error) = self.insert(tx.clone(), ledger, ctx, cfg, sigs) {
                dropped.push(Dropped { hash, tx, error });
            }
        }
        dropped.extend(self.settle_held(ledger, ctx, cfg, sigs));
        dropped
    }

    /// Takes out every waiting transaction that spends an output the ledger no longer holds
    /// (its parent's block was just reverted), oldest first, for [`Mempool::readmit`] once the
    /// reverted transactions are back.
    pub fn take_unfunded(&mut self, ledger: &Ledger) -> Vec<Transaction> {
        let mut seqs: Vec<u64> = self
            .claimed
            .iter()
            .filter(|(input, _)| ledger.get(input).is_none())
            .filter_map(|(_, tx)| self.by_hash.get(tx).copied())
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        seqs.into_iter()
            .filter_map(|seq| {
                let hash = self.queue.get(&seq)?.0;
                self.remove(&hash)
            })
            .collect()
    }

    /// Offers transactions back after a revert (a reverted block's, or children that lost
    /// their inputs with it), in order: each enters the queue if valid, is held if what it
    /// misses is an output of a waiting or held transaction (its parent is back here), and is
    /// refused otherwise. One already here is skipped. Returns the refused ones.
    pub fn readmit(
        &mut self,
        txs: Vec<Transaction>,
        ledger: &Ledger,
        ctx: TxContext,
        cfg: &ChainConfig,
        sigs: &dyn SigChecker,
    ) -> Vec<Dropped> {
        let mut refused = Vec::new();
        let mut created: Option<BTreeMap<Hash, Hash>> = None;
        for tx in txs {
            let hash = tx.hash();
            match self.insert(tx.clone(), ledger, ctx, cfg, sigs) {
                Ok(_) | Err(TxError::AlreadyKnown(_)) => {
                    if let Some(m) = created.as_mut() {
                        m.extend(tx.output_hashes().iter().map(|o| (*o, hash)));
                    }
                }
                Err(TxError::MissingInput(_)) => {
                    let m = created.get_or_insert_with(|| self.created_outputs());
                    let parent_waits = tx
                        .inputs
                        .iter()
                        .filter(|i| ledger.get(i).is_none())
                        .all(|i| m.get(i).is_some_and(|by| *by != hash));
                    if !parent_waits {
                        let error = Self::first_missing(&tx, ledger);
                        refused.push(Dropped { hash, tx, error });
                    } else if self.len() >= cfg.mempool_txs_max {
                        let error = TxError::MempoolFull(self.len());
                        refused.push(Dropped { hash, tx, error });
                    } else {
                        m.extend(tx.output_hashes().iter().map(|o| (*o, hash)));
                        self.hold(hash, tx);
                    }
                }
                Err(error) => refused.push(Dropped { hash, tx, error }),
            }
        }
        refused
    }

    /// Re-checks the held children against the ledger: one whose inputs all exist is
    /// validated and joins the queue (or is dropped with the reason); one that still misses
    /// an output of a waiting or held transaction stays held; the others are dropped
    /// (`MissingInput`: their parent left without a block). Repeats while it drops, since a
    /// dropped child's own children then lose their parent.
    pub fn settle_held(
        &mut self,
        ledger: &Ledger,
        ctx: TxContext,
        cfg: &ChainConfig,
        sigs: &dyn SigChecker,
    ) -> Vec<Dropped> {
        let mut dropped = Vec::new();
        loop {
            if self.held.is_empty() {
                return dropped;
            }
            let created = self.created_outputs();
            let held: Vec<(Hash, Transaction)> = self.held.values().cloned().collect();
            let before = dropped.len();
            for (hash, tx) in held {
                let missing: Vec<&Hash> = tx
                    .inputs
                    .iter()
                    .filter(|i| ledger.get(i).is_none())
                    .collect();
                if missing.is_empty() {
                    self.remove(&hash);
                    if let Err(error) = self.insert(tx.clone(), ledger, ctx, cfg, sigs) {
                        dropped.push(Dropped { hash, tx, error });
                    }
                } else if !missing
                    .iter()
                    .all(|i| created.get(*i).is_some_and(|by| *by != hash))
                {
                    self.remove(&hash);
                    let error = Self::first_missing(&tx, ledger);
                    dropped.push(Dropped { hash, tx, error });
                }
            }
            if dropped.len() == before {
                return dropped;
            }
        }
    }

    /// Holds `tx` (a child whose parent waits).
    fn hold(&mut self, hash: Hash, tx: Transaction) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.held_by_hash.insert(hash, seq);
        self.held.insert(seq, (hash, tx));
    }

    /// Output -> the waiting or held transaction that creates it.
    fn created_outputs(&self) -> BTreeMap<Hash, Hash> {
        self.queue
            .values()
            .chain(self.held.values())
            .flat_map(|(h, tx)| tx.output_hashes().iter().map(move |o| (*o, *h)))
            .collect()
    }

    /// `MissingInput` for the first input of `tx` the ledger does not hold.
    fn first_missing(tx: &Transaction, ledger: &Ledger) -> TxError {
        let input = tx
            .inputs
            .iter()
            .find(|i| ledger.get(i).is_none())
            .copied()
            .unwrap_or_default();
        TxError::MissingInput(input)
    }
}
