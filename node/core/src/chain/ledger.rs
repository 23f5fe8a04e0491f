//! The ledger: unspent outputs, escrow, validation and application of transactions, and the
//! undo records that make micro blocks revertible.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::chain::tx::{Output, Transaction};
use crate::config::ChainConfig;
use crate::crypto::{Hash, PublicKey};

/// Where and when an unspent output was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utxo {
    /// The output.
    pub output: Output,
    /// Epoch of the block that created it.
    pub epoch: u64,
    /// Offset of the micro block that created it, `None` for a macro block (final).
    pub offset: Option<u32>,
    /// Hash of the block that created it.
    pub block_hash: Hash,
    /// Timestamp of that block.
    pub timestamp_ns: u64,
}

/// Why a transaction is invalid. Each message names the problem; `code()` is for the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// A transaction must spend something.
    #[error("transaction has no inputs")]
    NoInputs,
    /// A transaction must create something (at least change or a stake).
    #[error("transaction has no outputs")]
    NoOutputs,
    /// More inputs than `tx_inputs_max`.
    #[error("too many inputs: {count} (at most {max})")]
    TooManyInputs { count: usize, max: usize },
    /// More outputs than `tx_outputs_max`.
    #[error("too many outputs: {count} (at most {max})")]
    TooManyOutputs { count: usize, max: usize },
    /// The same input listed twice.
    #[error("input {0} is listed twice")]
    DuplicateInput(Hash),
    /// An input that is not an unspent output.
    #[error("input {0} is not an unspent output")]
    MissingInput(Hash),
    /// An input claimed by another transaction (in the mempool or the same block).
    #[error("input {input} is already spent by transaction {by}")]
    InputClaimed { input: Hash, by: Hash },
    /// A time-locked input spent too early.
    #[error("input {input} is locked until {until_ns} ns")]
    Locked { input: Hash, until_ns: u64 },
    /// An active stake spent.
    #[error("stake {input} is active until epoch {until_epoch}")]
    StakeActive { input: Hash, until_epoch: u64 },
    /// An output with a zero or negative amount.
    #[error("output amount must be positive, got {0}")]
    BadAmount(i64),
    /// Fee below the minimum for the outputs created.
    #[error("fee too low: {fee} (at least {min})")]
    FeeTooLow { fee: i64, min: i64 },
    /// Inputs do not equal outputs plus fee.
    #[error("unbalanced: inputs {inputs} != outputs {outputs} + fee {fee}")]
    Unbalanced { inputs: i64, outputs: i64, fee: i64 },
    /// A new stake that does not last exactly `stake_epochs`.
    #[error("stake must be active until epoch {expected}, got {got}")]
    BadStakeEpoch { expected: u64, got: u64 },
    /// A stake not above the fee.
    #[error("stake amount {amount} must exceed the fee {fee}")]
    StakeTooSmall { amount: i64, fee: i64 },
    /// The signature does not verify against the inputs' keys.
    #[error("bad signature")]
    BadSignature,
    /// The mempool is full.
    #[error("mempool is full ({0} transactions)")]
    MempoolFull(usize),
    /// Already known.
    #[error("transaction {0} is already known")]
    AlreadyKnown(Hash),
    /// An output whose hash already names an unspent output (or another output of the same
    /// block or transaction). Outputs are named by their hash, so a copy would overwrite the
    /// original in the ledger and break the supply.
    #[error("output {0} already exists")]
    OutputExists(Hash),
}

impl TxError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TxError::NoInputs | TxError::NoOutputs => "invalid_transaction",
            TxError::TooManyInputs { .. } | TxError::TooManyOutputs { .. } => "too_large",
            TxError::DuplicateInput(_) => "invalid_transaction",
            TxError::MissingInput(_) => "missing_input",
            TxError::InputClaimed { .. } => "conflicted",
            TxError::Locked { .. } | TxError::StakeActive { .. } => "locked",
            TxError::BadAmount(_) => "invalid_amount",
            TxError::FeeTooLow { .. } => "fee_too_low",
            TxError::Unbalanced { .. } => "unbalanced",
            TxError::BadStakeEpoch { .. } | TxError::StakeTooSmall { .. } => "invalid_stake",
            TxError::BadSignature => "bad_signature",
            TxError::MempoolFull(_) => "mempool_full",
            TxError::AlreadyKnown(_) => "already_known",
            TxError::OutputExists(_) => "invalid_transaction",
        }
    }
}

/// What applying a block changed, so that it can be reverted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undo {
    /// Outputs spent, with their records.
    pub spent: Vec<(Hash, Utxo)>,
    /// Outputs created.
    pub created: Vec<Hash>,
    /// µSTG minted.
    pub minted: i64,
}

/// Context a transaction is checked in: the block (or mempool) time and epoch.
#[derive(Debug, Clone, Copy)]
pub struct TxContext {
    /// Epoch the transaction would land in.
    pub epoch: u64,
    /// Time of the block (or now, for the mempool).
    pub now_ns: u64,
}

/// The set of unspent outputs and the running supply.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    utxos: BTreeMap<Hash, Utxo>,
    /// Sum of every unspent output's amount.
    total: i64,
    /// Supply created by genesis.
    genesis: i64,
    /// µSTG minted by block rewards since genesis.
    minted: i64,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// The unspent output named `hash`.
    pub fn get(&self, hash: &Hash) -> Option<&Utxo> {
        self.utxos.get(hash)
    }

    /// Every unspent output, in hash order.
    pub fn iter(&self) -> impl Iterator<Item = (&Hash, &Utxo)> {
        self.utxos.iter()
    }

    /// Number of unspent outputs.
    pub fn len(&self) -> usize {
        self.utxos.len()
    }

    /// Whether there is no unspent output.
    pub fn is_empty(&self) -> bool {
        self.utxos.is_empty()
    }

    /// Sum of all unspent amounts.
    pub fn total(&self) -> i64 {
        self.total
    }

    /// Genesis supply plus everything minted since.
    pub fn expected_supply(&self) -> i64 {
        self.genesis + self.minted
    }

    /// µSTG minted since genesis.
    pub fn minted(&self) -> i64 {
        self.minted
    }

    /// Adds a genesis output (no undo: genesis is final).
    pub fn add_genesis(&mut self, output: Output, block_hash: Hash, timestamp_ns: u64) {
        self.genesis += output.amount();
        let hash = output.hash();
        self.insert(
            hash,
            Utxo {
                output,
                epoch: 0,
                offset: None,
                block_hash,
                timestamp_ns,
            },
        );
    }

    fn insert(&mut self, hash: Hash, utxo: Utxo) {
        self.total += utxo.output.amount();
        self.utxos.insert(hash, utxo);
    }

    fn remove(&mut self, hash: &Hash) -> Option<Utxo> {
        let u = self.utxos.remove(hash)?;
        self.total -= u.output.amount();
        Some(u)
    }

    /// The key that must sign for spending `utxo` in `tx`: the owner, except that a stake
    /// spent by a restake (a transaction whose outputs are all stakes for the same validator
    /// and owner) is authorised by the validator's network key, so a node can restake without
    /// the owner's secret (the seed: `restake_all` needs no unsealed account).
    fn authorising_key(tx: &Transaction, utxo: &Utxo) -> PublicKey {
        if let Output::Stake(s) = &utxo.output {
            let restake = tx.outputs.iter().all(|o| matches!(o, Output::Stake(n) if n.validator == s.validator && n.owner == s.owner));
            if restake {
                return s.validator;
            }
        }
        *utxo.output.owner()
    }

    /// Checks `tx` against this ledger. `claimed` holds inputs already spent by earlier
    /// transactions of the same block or the mempool (input -> spending tx).
    pub fn validate_tx(
        &self,
        tx: &Transaction,
        ctx: TxContext,
        cfg: &ChainConfig,
        claimed: &BTreeMap<Hash, Hash>,
    ) -> Result<(), TxError> {
        self.validate_tx_with(
            tx,
            ctx,
            cfg,
            claimed,
            &BTreeMap::new(),
            &|keys, msg, sig| crate::chain::verify_sum(keys, msg, sig),
        )
    }

    /// [`Ledger::validate_tx`] with outputs created earlier in the same block (`created`) and
    /// the signature check supplied by the caller, so that a simulator can share (cache) the
    /// results of this pure function between its nodes.
    pub fn validate_tx_with(
        &self,
        tx: &Transaction,
        ctx: TxContext,
        cfg: &ChainConfig,
        claimed: &BTreeMap<Hash, Hash>,
        created: &BTreeMap<Hash, Utxo>,
        check_sig: &dyn Fn(&[PublicKey], &Hash, &crate::crypto::Signature) -> bool,
    ) -> Result<(), TxError> {
        Self::check_shape(tx, cfg)?;
        let (keys, sum_in) = self.check_inputs(tx, ctx, claimed, created)?;
        let (sum_out, min_fee) = self.check_outputs(tx, ctx, cfg, created)?;
        if tx.fee < min_fee {
            return Err(TxError::FeeTooLow {
                fee: tx.fee,
                min: min_fee,
            });
        }
        if sum_in != sum_out.saturating_add(tx.fee) {
            return Err(TxError::Unbalanced {
                inputs: sum_in,
                outputs: sum_out,
                fee: tx.fee,
            });
        }
        if !check_sig(&keys, &tx.hash(), &tx.signature) {
            return Err(TxError::BadSignature);
        }
        Ok(())
    }

    /// Counts of inputs and outputs within the chain's limits (and not zero).
    fn check_shape(tx: &Transaction, cfg: &ChainConfig) -> Result<(), TxError> {
        if tx.inputs.is_empty() {
            return Err(TxError::NoInputs);
        }
        if tx.outputs.is_empty() {
            return Err(TxError::NoOutputs);
        }
        if tx.inputs.len() > cfg.tx_inputs_max {
            return Err(TxError::TooManyInputs {
                count: tx.inputs.len(),
                max: cfg.tx_inputs_max,
            });
        }
        if tx.outputs.len() > cfg.tx_outputs_max {
            return Err(TxError::TooManyOutputs {
                count: tx.outputs.len(),
                max: cfg.tx_outputs_max,
            });
        }
        Ok(())
    }

    /// Every input exists (in the ledger or created earlier in the block), is named once,
    /// is not claimed by another transaction, and is spendable now (unlocked; a stake no
    /// longer active). Returns the keys that must sign and the inputs' sum.
    fn check_inputs(
        &self,
        tx: &Transaction,
        ctx: TxContext,
        claimed: &BTreeMap<Hash, Hash>,
        created: &BTreeMap<Hash, Utxo>,
    ) -> Result<(Vec<PublicKey>, i64), TxError> {
        let mut keys = Vec::with_capacity(tx.inputs.len());
        let mut sum_in: i64 = 0;
        for (n, input) in tx.inputs.iter().enumerate() {
            // At most `tx_inputs_max` inputs: a scan of the earlier ones beats a set.
            if tx.inputs[..n].contains(input) {
                return Err(TxError::DuplicateInput(*input));
            }
            if let Some(by) = claimed.get(input) {
                return Err(TxError::InputClaimed {
                    input: *input,
                    by: *by,
                });
            }
            let utxo = self
                .utxos
                .get(input)
                .or_else(|| created.get(input))
                .ok_or(TxError::MissingInput(*input))?;
            if let Some(until_ns) = utxo.output.locked_until_ns() {
                if until_ns > ctx.now_ns {
                    return Err(TxError::Locked {
                        input: *input,
                        until_ns,
                    });
                }
            }
            if let Output::Stake(s) = &utxo.output {
                if s.active_until_epoch > ctx.epoch {
                    return Err(TxError::StakeActive {
                        input: *input,
                        until_epoch: s.active_until_epoch,
                    });
                }
            }
            sum_in = sum_in.saturating_add(utxo.output.amount());
            keys.push(Self::authorising_key(tx, utxo));
        }
        Ok((keys, sum_in))
    }

    /// Every output has a positive amount, a stake the right epoch and more than its fee,
    /// and a hash no unspent output has. Returns the outputs' sum and the minimum fee.
    fn check_outputs(
        &self,
        tx: &Transaction,
        ctx: TxContext,
        cfg: &ChainConfig,
        created: &BTreeMap<Hash, Utxo>,
    ) -> Result<(i64, i64), TxError> {
        let mut sum_out: i64 = 0;
        let mut min_fee: i64 = 0;
        // The transaction keeps its outputs' hashes (computed once, with its own hash).
        let output_hashes = tx.output_hashes();
        for (n, (o, &h)) in tx.outputs.iter().zip(output_hashes).enumerate() {
            if o.amount() <= 0 {
                return Err(TxError::BadAmount(o.amount()));
            }
            sum_out = sum_out.saturating_add(o.amount());
            match o {
                Output::Stake(s) => {
                    let expected = ctx.epoch + cfg.stake_epochs;
                    if s.active_until_epoch != expected {
                        return Err(TxError::BadStakeEpoch {
                            expected,
                            got: s.active_until_epoch,
                        });
                    }
                    if s.amount <= cfg.stake_fee_min {
                        return Err(TxError::StakeTooSmall {
                            amount: s.amount,
                            fee: cfg.stake_fee_min,
                        });
                    }
                    min_fee += cfg.stake_fee_min;
                }
                _ => min_fee += cfg.payment_fee_min,
            }
            if self.utxos.contains_key(&h)
                || created.contains_key(&h)
                || output_hashes[..n].contains(&h)
            {
                return Err(TxError::OutputExists(h));
            }
        }
        Ok((sum_out, min_fee))
    }

    /// Applies a valid transaction (the caller validated it), recording what changed.
    pub fn apply_tx(&mut self, tx: &Transaction, at: BlockRef, undo: &mut Undo) {
        for input in &tx.inputs {
            if let Some(u) = self.remove(input) {
                undo.spent.push((*input, u));
            }
        }
        for (o, h) in tx.outputs.iter().zip(tx.output_hashes()) {
            self.create_hashed(*h, o.clone(), at, undo);
        }
    }

    /// Creates one output (a reward, or a transaction's output).
    pub fn create(&mut self, output: Output, at: BlockRef, undo: &mut Undo) {
        self.create_hashed(output.hash(), output, at, undo);
    }

    /// [`Ledger::create`] with the output's hash already known.
    fn create_hashed(&mut self, hash: Hash, output: Output, at: BlockRef, undo: &mut Undo) {
        self.insert(
            hash,
            Utxo {
                output,
                epoch: at.epoch,
                offset: at.offset,
                block_hash: at.block_hash,
                timestamp_ns: at.timestamp_ns,
            },
        );
        undo.created.push(hash);
    }

    /// Mints `amount` (block reward): the supply grows by it.
    pub fn mint(&mut self, amount: i64, undo: &mut Undo) {
        self.minted += amount;
        undo.minted += amount;
    }

    /// Reverts what `undo` records.
    ///
    /// Spent outputs come back first, then every created output goes: an output both created
    /// and spent in the block (a transaction spending an earlier one's output) is in both
    /// lists and must end up gone. (Removing first and reinserting after would resurrect it.)
    pub fn revert(&mut self, undo: &Undo) {
        for (h, u) in undo.spent.iter().rev() {
            self.insert(*h, u.clone());
        }
        for h in undo.created.iter().rev() {
            self.remove(h);
        }
        self.minted -= undo.minted;
    }

    /// Marks outputs created in micro blocks of an epoch as final (their record then points at
    /// the macro block).
    pub fn finalize(&mut self, created: &[Hash], epoch: u64, block_hash: Hash, timestamp_ns: u64) {
        for h in created {
            if let Some(u) = self.utxos.get_mut(h) {
                u.epoch = epoch;
                u.offset = None;
                u.block_hash = block_hash;
                u.timestamp_ns = timestamp_ns;
            }
        }
    }

    /// Applies a macro block's net effect directly (a node catching up on a finished epoch):
    /// spends its inputs, creates its outputs, mints what it minted.
    pub fn apply_macro_net(
        &mut self,
        inputs: &[Hash],
        outputs: &[Output],
        minted: i64,
        at: BlockRef,
    ) {
        for i in inputs {
            self.remove(i);
        }
        for o in outputs {
            let hash = o.hash();
            self.insert(
                hash,
                Utxo {
                    output: o.clone(),
                    epoch: at.epoch,
                    offset: None,
                    block_hash: at.block_hash,
                    timestamp_ns: at.timestamp_ns,
                },
            );
        }
        self.minted += minted;
    }

    /// Stake per validator that counts for the election of `epoch` (stakes with
    /// `active_until_epoch >= epoch`). A stake is locked while the chain's epoch is below its
    /// `active_until_epoch` and counts for elections up to and including that epoch, so a
    /// validator that restakes in every epoch (dev chain: `stake_epochs` = 1) stays elected.
    pub fn active_stakes(&self, epoch: u64) -> BTreeMap<PublicKey, i64> {
        let mut m = BTreeMap::new();
        for u in self.utxos.values() {
            if let Output::Stake(s) = &u.output {
                if s.active_until_epoch >= epoch {
                    *m.entry(s.validator).or_insert(0) += s.amount;
                }
            }
        }
        m
    }

    /// Every stake output, by validator then hash.
    pub fn stakes(&self) -> BTreeMap<PublicKey, Vec<(Hash, &Utxo)>> {
        let mut m: BTreeMap<PublicKey, Vec<(Hash, &Utxo)>> = BTreeMap::new();
        for (h, u) in &self.utxos {
            if let Output::Stake(s) = &u.output {
                m.entry(s.validator).or_default().push((*h, u));
            }
        }
        m
    }
}

/// The block an output is created in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRef {
    /// Epoch.
    pub epoch: u64,
    /// Micro block offset, `None` for a macro block.
    pub offset: Option<u32>,
    /// Block hash.
    pub block_hash: Hash,
    /// Block timestamp.
    pub timestamp_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::tx::PublicPaymentOutput;
    use crate::crypto::Keypair;

    fn payment(owner: &Keypair, amount: i64, nonce: u8) -> Output {
        Output::PublicPayment(PublicPaymentOutput {
            recipient: *owner.public(),
            amount,
            locked_until_ns: None,
            nonce: [nonce; 16],
        })
    }

    fn signed(owner: &Keypair, inputs: Vec<Hash>, outputs: Vec<Output>, fee: i64) -> Transaction {
        let body = Transaction::body_hash(&inputs, &outputs, fee);
        Transaction::new(inputs, outputs, fee, owner.sign(body.as_bytes()))
    }

    fn at() -> BlockRef {
        BlockRef {
            epoch: 1,
            offset: Some(0),
            block_hash: Hash::default(),
            timestamp_ns: 10,
        }
    }

    fn sum(ledger: &Ledger) -> i64 {
        ledger.iter().map(|(_, u)| u.output.amount()).sum()
    }

    /// A block whose second transaction spends the first one's output: reverting it must
    /// not bring that intermediate output back (it did: created outputs were removed before
    /// spent ones were reinserted, so the intermediate one came back and the total drifted).
    #[test]
    fn revert_of_chained_transactions_restores_the_ledger() {
        let cfg = ChainConfig::dev();
        let k = Keypair::from_seed([1; 32]);
        let mut ledger = Ledger::new();
        let x = payment(&k, 1_000_000, 1);
        let x_hash = x.hash();
        ledger.add_genesis(x, Hash::default(), 0);
        let before: Vec<(Hash, Utxo)> = ledger.iter().map(|(h, u)| (*h, u.clone())).collect();

        let fee = cfg.payment_fee_min;
        let a = payment(&k, 1_000_000 - fee, 2);
        let a_hash = a.hash();
        let tx1 = signed(&k, vec![x_hash], vec![a], fee);
        let b = payment(&k, 1_000_000 - 2 * fee, 3);
        let tx2 = signed(&k, vec![a_hash], vec![b], fee);

        let mut undo = Undo::default();
        ledger.apply_tx(&tx1, at(), &mut undo);
        ledger.apply_tx(&tx2, at(), &mut undo);
        assert_eq!(ledger.len(), 1);
        ledger.revert(&undo);
        let after: Vec<(Hash, Utxo)> = ledger.iter().map(|(h, u)| (*h, u.clone())).collect();
        assert_eq!(after, before, "the intermediate output must not come back");
        assert_eq!(ledger.total(), sum(&ledger));
        assert_eq!(ledger.total(), ledger.expected_supply());
    }

    /// A transaction may not create an output that exists already: it would overwrite it, and
    /// the running total would no longer be the sum of the outputs.
    #[test]
    fn copying_an_existing_output_is_refused() {
        let cfg = ChainConfig::dev();
        let k = Keypair::from_seed([1; 32]);
        let victim = Keypair::from_seed([2; 32]);
        let mut ledger = Ledger::new();
        let mine = payment(&k, 5_000_000, 1);
        let theirs = payment(&victim, 1_000_000, 9);
        let (mine_hash, theirs_hash) = (mine.hash(), theirs.hash());
        ledger.add_genesis(mine, Hash::default(), 0);
        ledger.add_genesis(theirs.clone(), Hash::default(), 0);
        let fee = 2 * cfg.payment_fee_min;
        let change = payment(&k, 4_000_000 - fee, 3);
        let tx = signed(
            &k,
            vec![mine_hash],
            vec![theirs.clone(), change.clone()],
            fee,
        );
        let ctx = TxContext {
            epoch: 1,
            now_ns: 10,
        };
        assert_eq!(
            ledger.validate_tx(&tx, ctx, &cfg, &BTreeMap::new()),
            Err(TxError::OutputExists(theirs_hash))
        );
        // The same output twice in one transaction.
        let twice = payment(&victim, 2_000_000, 4);
        let tx = signed(
            &k,
            vec![mine_hash],
            vec![
                twice.clone(),
                twice.clone(),
                payment(&k, 1_000_000 - fee - 1000, 5),
            ],
            fee + 1000,
        );
        assert_eq!(
            ledger.validate_tx(&tx, ctx, &cfg, &BTreeMap::new()),
            Err(TxError::OutputExists(twice.hash()))
        );
    }
}
