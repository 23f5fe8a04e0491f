//! The chain: blocks, ledger, election, genesis.
//!
//! [`Chain`] holds the final macro blocks, the current epoch's micro blocks with their undo
//! records, the ledger and the current election. It validates and applies blocks and knows
//! nothing of the network or of time beyond the timestamps in blocks: consensus (in
//! `crate::node::consensus`) decides what to apply and when.

pub mod block;
pub mod election;
pub mod genesis;
pub mod ledger;
pub mod memo;
pub mod tx;

use std::collections::{BTreeMap, BTreeSet};

use crate::chain::block::{MacroBlock, MicroBlock, ValidatorStake, ViewChangeVote};
use crate::chain::election::Election;
use crate::chain::ledger::{BlockRef, Ledger, TxContext, TxError, Undo};
use crate::chain::tx::{Output, PublicPaymentOutput, Transaction};
use crate::config::ChainConfig;
use crate::crypto::{Hash, Hasher, PublicKey, Signature};

/// Why a block was refused. The message names the block and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// Not the next height of our chain.
    #[error("block {epoch}:{offset} does not follow our tip {tip_epoch}:{tip_offset}")]
    NotNext {
        epoch: u64,
        offset: u32,
        tip_epoch: u64,
        tip_offset: u32,
    },
    /// `previous` is not our tip.
    #[error("block {epoch}:{offset} names previous {previous}, our tip is {tip}")]
    WrongPrevious {
        epoch: u64,
        offset: u32,
        previous: Hash,
        tip: Hash,
    },
    /// The epoch is full: the next block must be the macro block.
    #[error("epoch {0} already has all its micro blocks")]
    EpochFull(u64),
    /// Signed by someone who is not the leader of that height and view.
    #[error("block {epoch}:{offset} view {view_change} is by {got:?}, the leader is {expected:?}")]
    WrongLeader {
        epoch: u64,
        offset: u32,
        view_change: u32,
        got: PublicKey,
        expected: PublicKey,
    },
    /// A view change without enough votes.
    #[error("view change {view_change} has votes for {slots} slots, needs {needed}")]
    WeakViewChangeProof {
        view_change: u32,
        slots: u32,
        needed: u32,
    },
    /// A bad signature on the block or a vote.
    #[error("bad signature on {0}")]
    BadSignature(&'static str),
    /// A randomness, reward or timestamp that does not follow the rules.
    #[error("malformed block: {0}")]
    Malformed(String),
    /// A transaction of the block is invalid.
    #[error("transaction {tx} is invalid: {error}")]
    BadTransaction { tx: Hash, error: TxError },
    /// A macro block that does not match our view of the epoch.
    #[error("macro block for epoch {epoch} does not match ours: {why}")]
    MacroMismatch { epoch: u64, why: String },
    /// A macro block without a supermajority of valid precommits.
    #[error("macro block for epoch {epoch} has precommits for {slots} slots, needs {needed}")]
    WeakMultisig { epoch: u64, slots: u32, needed: u32 },
}

/// Signature checks are pure functions of (keys, message, signature); a simulator running many
/// nodes in one process may answer them from a shared cache. Every node still asks for every
/// check it would make.
pub trait SigChecker: std::fmt::Debug {
    /// Whether `sig` is a valid signature of `msg` by the sum of `keys`.
    fn check(&self, keys: &[PublicKey], msg: &Hash, sig: &Signature) -> bool;
}

/// Checks every signature for real.
#[derive(Debug, Default, Clone, Copy)]
pub struct DirectSigChecker;

impl SigChecker for DirectSigChecker {
    fn check(&self, keys: &[PublicKey], msg: &Hash, sig: &Signature) -> bool {
        verify_sum(keys, msg, sig)
    }
}

/// Verifies `sig` over `msg` against the sum of `keys` ([`crate::crypto::verify_sum`]).
pub fn verify_sum(keys: &[PublicKey], msg: &Hash, sig: &Signature) -> bool {
    crate::crypto::verify_sum(keys, msg.as_bytes(), sig).is_ok()
}

/// The state of a block being checked transaction by transaction: inputs claimed and outputs
/// created by the transactions so far, and their fees.
struct BlockTxs {
    /// The block's epoch and time.
    ctx: TxContext,
    /// The block's offset, recorded in the outputs it creates.
    offset: u32,
    /// The block's time, recorded in the outputs it creates.
    timestamp_ns: u64,
    /// Input -> the transaction of this block that spends it.
    claimed: BTreeMap<Hash, Hash>,
    /// Outputs created by the transactions so far (later ones may spend them).
    created: BTreeMap<Hash, ledger::Utxo>,
    /// Sum of the fees so far.
    fees: i64,
}

impl BlockTxs {
    fn new(chain: &Chain, timestamp_ns: u64) -> BlockTxs {
        BlockTxs {
            ctx: TxContext {
                epoch: chain.epoch(),
                now_ns: timestamp_ns,
            },
            offset: chain.offset(),
            timestamp_ns,
            claimed: BTreeMap::new(),
            created: BTreeMap::new(),
            fees: 0,
        }
    }

    /// Checks `tx` after the transactions pushed before; on success records what it spends
    /// and creates.
    fn push(
        &mut self,
        chain: &Chain,
        tx: &Transaction,
        sigs: &dyn SigChecker,
    ) -> Result<(), TxError> {
        chain.ledger.validate_tx_with(
            tx,
            self.ctx,
            &chain.cfg,
            &self.claimed,
            &self.created,
            &|k, m, s| sigs.check(k, m, s),
        )?;
        let h = tx.hash();
        for i in &tx.inputs {
            self.claimed.insert(*i, h);
        }
        self.fees += tx.fee;
        for (o, oh) in tx.outputs.iter().zip(tx.output_hashes()) {
            let utxo = ledger::Utxo {
                output: o.clone(),
                epoch: self.ctx.epoch,
                offset: Some(self.offset),
                block_hash: Hash::default(),
                timestamp_ns: self.timestamp_ns,
            };
            self.created.insert(*oh, utxo);
        }
        Ok(())
    }
}

/// The chain as one node sees it.
#[derive(Debug, Clone)]
pub struct Chain {
    /// The chain's parameters.
    pub cfg: ChainConfig,
    /// Final macro blocks; index = epoch (0 is genesis).
    pub macros: Vec<MacroBlock>,
    /// Micro blocks of the current epoch, in order.
    pub micros: Vec<MicroBlock>,
    /// Undo record of each micro block of the current epoch.
    undos: Vec<Undo>,
    /// Unspent outputs.
    pub ledger: Ledger,
    /// Validators and slots of the current epoch.
    pub election: Election,
    /// The leader of the next height at view 0, with the tip randomness it was drawn from:
    /// nodes ask for it after every input (`Node::poll_timeout`), and a draw is a hash.
    /// Refreshed whenever the tip changes; used only while the tip randomness matches.
    leader_view0: Option<(Hash, PublicKey)>,
}

impl Chain {
    /// A chain holding only `genesis`.
    pub fn from_genesis(cfg: ChainConfig, genesis: MacroBlock) -> Chain {
        let mut ledger = Ledger::new();
        let hash = genesis.hash();
        for o in &genesis.outputs {
            ledger.add_genesis(o.clone(), hash, genesis.timestamp_ns);
        }
        let election = Election::new(genesis.validators.clone(), &genesis.random, cfg.slots_count)
            .expect("a validated chain config makes a genesis with validators");
        let mut chain = Chain {
            cfg,
            macros: vec![genesis],
            micros: Vec::new(),
            undos: Vec::new(),
            ledger,
            election,
            leader_view0: None,
        };
        chain.refresh_leader();
        chain
    }

    /// Draws the view-0 leader of the next height again (after the tip changed).
    fn refresh_leader(&mut self) {
        let random = self.tip_random();
        self.leader_view0 = Some((random, self.election.leader(&random, 0)));
    }

    /// The current epoch (the one being built): the number of final macro blocks.
    pub fn epoch(&self) -> u64 {
        self.macros.len() as u64
    }

    /// Number of micro blocks in the current epoch (the next block's offset).
    pub fn offset(&self) -> u32 {
        self.micros.len() as u32
    }

    /// The last final macro block.
    pub fn last_macro(&self) -> &MacroBlock {
        self.macros.last().expect("a chain always holds genesis")
    }

    /// Hash of the last block (micro or macro).
    pub fn tip_hash(&self) -> Hash {
        self.micros
            .last()
            .map_or_else(|| self.last_macro().hash(), |b| b.hash())
    }

    /// Randomness of the last block.
    pub fn tip_random(&self) -> Hash {
        self.micros
            .last()
            .map_or(self.last_macro().random, |b| b.random)
    }

    /// Timestamp of the last block.
    pub fn tip_timestamp_ns(&self) -> u64 {
        self.micros
            .last()
            .map_or(self.last_macro().timestamp_ns, |b| b.timestamp_ns)
    }

    /// Whether the epoch has all its micro blocks and waits for its macro block.
    pub fn epoch_full(&self) -> bool {
        self.offset() >= self.cfg.micro_blocks_per_epoch
    }

    /// The leader of the next micro block at view `view`.
    pub fn leader_at(&self, view: u32) -> PublicKey {
        let random = self.tip_random();
        if let Some((drawn_from, leader)) = self.leader_view0 {
            if view == 0 && drawn_from == random {
                debug_assert_eq!(leader, self.election.leader(&random, 0));
                return leader;
            }
        }
        self.election.leader(&random, view)
    }

    /// Checks a view-change proof for the next height at `view_change`.
    pub fn check_view_change_proof(
        &self,
        votes: &[ViewChangeVote],
        view_change: u32,
        sigs: &dyn SigChecker,
    ) -> Result<(), BlockError> {
        if view_change == 0 {
            return Ok(());
        }
        let needed = self.election.supermajority();
        let mut voters = BTreeSet::new();
        let tip = self.tip_hash();
        for v in votes {
            if v.epoch != self.epoch()
                || v.offset != self.offset()
                || v.view_change != view_change
                || v.last_block != tip
            {
                continue;
            }
            let msg = ViewChangeVote::signed_hash(v.epoch, v.offset, v.view_change, &v.last_block);
            if !sigs.check(&[v.validator], &msg, &v.signature) {
                return Err(BlockError::BadSignature("view change vote"));
            }
            voters.insert(v.validator);
        }
        let slots = self.election.slots_of_voters(voters.iter());
        if slots < needed {
            return Err(BlockError::WeakViewChangeProof {
                view_change,
                slots,
                needed,
            });
        }
        Ok(())
    }

    /// The reward output for a micro block: a public payment of block reward plus fees to the
    /// leader's network key.
    pub fn reward_output(
        &self,
        leader: &PublicKey,
        fees: i64,
        epoch: u64,
        offset: u32,
        view_change: u32,
    ) -> Output {
        let mut nonce = Hasher::new("stegosim reward nonce v1");
        nonce
            .update_u64(epoch)
            .update_u32(offset)
            .update_u32(view_change)
            .update(leader.as_bytes());
        let mut n = [0u8; 16];
        n.copy_from_slice(&nonce.finalize().as_bytes()[..16]);
        Output::PublicPayment(PublicPaymentOutput {
            recipient: *leader,
            amount: self.cfg.block_reward + fees,
            locked_until_ns: None,
            nonce: n,
        })
    }

    /// Checks the transactions of a would-be block in order; returns the fees.
    pub fn check_transactions(
        &self,
        txs: &[Transaction],
        timestamp_ns: u64,
        sigs: &dyn SigChecker,
    ) -> Result<i64, BlockError> {
        let mut block = BlockTxs::new(self, timestamp_ns);
        for tx in txs {
            block
                .push(self, tx, sigs)
                .map_err(|error| BlockError::BadTransaction {
                    tx: tx.hash(),
                    error,
                })?;
        }
        Ok(block.fees)
    }

    /// The transactions of `candidates` that make a valid block at `timestamp_ns`, in order:
    /// each is kept when it is valid after the ones kept before it. The same choice as
    /// calling [`Chain::check_transactions`] on the kept list plus each candidate, but every
    /// candidate is checked once (a leader filling a block of n transactions makes n checks,
    /// not n²/2).
    pub fn select_transactions(
        &self,
        candidates: impl IntoIterator<Item = Transaction>,
        timestamp_ns: u64,
        sigs: &dyn SigChecker,
    ) -> Vec<Transaction> {
        let mut block = BlockTxs::new(self, timestamp_ns);
        let mut kept = Vec::new();
        for tx in candidates {
            if block.push(self, &tx, sigs).is_ok() {
                kept.push(tx);
            }
        }
        kept
    }

    /// Validates a micro block as the next block of our chain.
    pub fn validate_micro(&self, b: &MicroBlock, sigs: &dyn SigChecker) -> Result<(), BlockError> {
        if self.epoch_full() {
            return Err(BlockError::EpochFull(self.epoch()));
        }
        if b.epoch != self.epoch() || b.offset != self.offset() {
            return Err(BlockError::NotNext {
                epoch: b.epoch,
                offset: b.offset,
                tip_epoch: self.epoch(),
                tip_offset: self.offset(),
            });
        }
        let tip = self.tip_hash();
        if b.previous != tip {
            return Err(BlockError::WrongPrevious {
                epoch: b.epoch,
                offset: b.offset,
                previous: b.previous,
                tip,
            });
        }
        let expected = self.leader_at(b.view_change);
        if b.leader != expected {
            return Err(BlockError::WrongLeader {
                epoch: b.epoch,
                offset: b.offset,
                view_change: b.view_change,
                got: b.leader,
                expected,
            });
        }
        if b.timestamp_ns < self.tip_timestamp_ns() {
            return Err(BlockError::Malformed("timestamp goes backwards".into()));
        }
        let random = MicroBlock::next_random(
            &self.tip_random(),
            b.epoch,
            b.offset,
            b.view_change,
            &b.leader,
        );
        if b.random != random {
            return Err(BlockError::Malformed("wrong randomness".into()));
        }
        if b.transactions.len() > self.cfg.block_txs_max {
            return Err(BlockError::Malformed(format!(
                "{} transactions, at most {}",
                b.transactions.len(),
                self.cfg.block_txs_max
            )));
        }
        if !sigs.check(&[b.leader], &b.hash(), &b.signature) {
            return Err(BlockError::BadSignature("micro block"));
        }
        self.check_view_change_proof(&b.view_change_proof, b.view_change, sigs)?;
        let fees = self.check_transactions(&b.transactions, b.timestamp_ns, sigs)?;
        let reward = self.reward_output(&b.leader, fees, b.epoch, b.offset, b.view_change);
        if b.reward != reward {
            return Err(BlockError::Malformed("wrong reward".into()));
        }
        // The reward is an output like any other: it must not copy one that exists (a copy
        // would overwrite it in the ledger). Only a public payment to the leader can equal it.
        let copied = b
            .transactions
            .iter()
            .flat_map(|t| &t.outputs)
            .any(|o| *o == reward);
        if copied || self.ledger.get(&reward.hash()).is_some() {
            return Err(BlockError::Malformed("reward output already exists".into()));
        }
        Ok(())
    }

    /// Validates and applies the next micro block.
    pub fn apply_micro(&mut self, b: MicroBlock, sigs: &dyn SigChecker) -> Result<(), BlockError> {
        self.validate_micro(&b, sigs)?;
        self.apply_micro_unchecked(b);
        Ok(())
    }

    /// Applies a micro block already validated against this chain (or being replayed from
    /// our own storage).
    pub fn apply_micro_unchecked(&mut self, b: MicroBlock) {
        let at = BlockRef {
            epoch: b.epoch,
            offset: Some(b.offset),
            block_hash: b.hash(),
            timestamp_ns: b.timestamp_ns,
        };
        let mut undo = Undo::default();
        for tx in &b.transactions {
            self.ledger.apply_tx(tx, at, &mut undo);
        }
        self.ledger.create(b.reward.clone(), at, &mut undo);
        self.ledger.mint(self.cfg.block_reward, &mut undo);
        self.micros.push(b);
        self.undos.push(undo);
        self.refresh_leader();
    }

    /// Reverts the last micro block of the epoch; `None` when the epoch has none.
    pub fn pop_micro(&mut self) -> Option<MicroBlock> {
        let b = self.micros.pop()?;
        let undo = self.undos.pop().expect("one undo record per micro block");
        self.ledger.revert(&undo);
        self.refresh_leader();
        Some(b)
    }

    /// The net effect of the current epoch's micro blocks: (pre-epoch outputs spent, outputs
    /// created and still unspent, transaction hashes, minted).
    fn epoch_net(&self) -> (Vec<Hash>, Vec<Output>, Vec<Hash>, i64) {
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        let mut minted = 0;
        for undo in &self.undos {
            for (h, u) in &undo.spent {
                if u.epoch < self.epoch() || u.offset.is_none() {
                    inputs.push(*h);
                }
            }
            for h in &undo.created {
                if let Some(u) = self.ledger.get(h) {
                    outputs.push(u.output.clone());
                }
            }
            minted += undo.minted;
        }
        inputs.sort();
        let txs = self
            .micros
            .iter()
            .flat_map(|b| b.transactions.iter().map(|t| t.hash()))
            .collect();
        (inputs, outputs, txs, minted)
    }

    /// The validators of the next epoch: active stakes at the next epoch above the minimum.
    /// When none qualifies, the current validators stay (a chain never elects nobody).
    pub fn next_validators(&self) -> Vec<ValidatorStake> {
        let next = self.epoch() + 1;
        let v: Vec<ValidatorStake> = self
            .ledger
            .active_stakes(next)
            .into_iter()
            .filter(|(_, s)| *s >= self.cfg.min_stake)
            .map(|(network_pkey, stake)| ValidatorStake {
                network_pkey,
                stake,
            })
            .collect();
        if v.is_empty() {
            self.election.validators.clone()
        } else {
            v
        }
    }

    /// The macro block that closes the current epoch as our chain stands.
    pub fn build_macro(&self, proposer: PublicKey, round: u32, timestamp_ns: u64) -> MacroBlock {
        let (inputs, outputs, transactions, minted) = self.epoch_net();
        let mut r = Hasher::new("stegosim macro random v1");
        r.update_hash(&self.tip_random()).update_u64(self.epoch());
        MacroBlock {
            epoch: self.epoch(),
            view_change: round,
            previous: self.tip_hash(),
            proposer,
            timestamp_ns: timestamp_ns.max(self.tip_timestamp_ns()),
            random: r.finalize(),
            inputs,
            outputs,
            transactions,
            minted,
            validators: self.next_validators(),
            multisig: Vec::new(),
            memo: Default::default(),
        }
    }

    /// Checks a macro-block proposal against our chain: it must close our epoch as our chain
    /// stands (same previous, same net effect, same validators).
    pub fn validate_macro_proposal(&self, b: &MacroBlock) -> Result<(), BlockError> {
        let mismatch = |why: &str| BlockError::MacroMismatch {
            epoch: b.epoch,
            why: why.into(),
        };
        if b.epoch != self.epoch() {
            return Err(mismatch("wrong epoch"));
        }
        if !self.epoch_full() {
            return Err(mismatch("our epoch is not complete"));
        }
        if b.previous != self.tip_hash() {
            return Err(mismatch("different last micro block"));
        }
        let ours = self.build_macro(b.proposer, b.view_change, b.timestamp_ns);
        if ours.hash() != b.hash() {
            return Err(mismatch("different content"));
        }
        Ok(())
    }

    /// Checks a macro block's multisignature: precommits of >= 2/3 of the epoch's slots.
    pub fn check_multisig(&self, b: &MacroBlock, sigs: &dyn SigChecker) -> Result<(), BlockError> {
        let msg = MacroBlock::precommit_hash(b.epoch, &b.hash());
        let mut voters = BTreeSet::new();
        for (pk, sig) in &b.multisig {
            if !self.election.is_validator(pk) {
                continue;
            }
            if !sigs.check(&[*pk], &msg, sig) {
                return Err(BlockError::BadSignature("precommit"));
            }
            voters.insert(*pk);
        }
        let slots = self.election.slots_of_voters(voters.iter());
        let needed = self.election.supermajority();
        if slots < needed {
            return Err(BlockError::WeakMultisig {
                epoch: b.epoch,
                slots,
                needed,
            });
        }
        Ok(())
    }

    /// Applies a final macro block for the current epoch. When it follows our micro blocks
    /// they become final as they stand; otherwise (we missed or forked micro blocks) ours are
    /// reverted and the macro block's net effect is applied. Returns the reverted micro
    /// blocks, newest first.
    pub fn apply_macro(
        &mut self,
        b: MacroBlock,
        sigs: &dyn SigChecker,
    ) -> Result<Vec<MicroBlock>, BlockError> {
        if b.epoch != self.epoch() {
            return Err(BlockError::MacroMismatch {
                epoch: b.epoch,
                why: format!("we are at epoch {}", self.epoch()),
            });
        }
        self.check_multisig(&b, sigs)?;
        let hash = b.hash();
        let mut reverted = Vec::new();
        let follows = b.previous == self.tip_hash()
            && self
                .build_macro(b.proposer, b.view_change, b.timestamp_ns)
                .hash()
                == hash;
        if follows {
            let created: Vec<Hash> = self
                .undos
                .iter()
                .flat_map(|u| u.created.iter().copied())
                .collect();
            self.ledger
                .finalize(&created, b.epoch, hash, b.timestamp_ns);
        } else {
            while let Some(m) = self.pop_micro() {
                reverted.push(m);
            }
            let at = BlockRef {
                epoch: b.epoch,
                offset: None,
                block_hash: hash,
                timestamp_ns: b.timestamp_ns,
            };
            self.ledger
                .apply_macro_net(&b.inputs, &b.outputs, b.minted, at);
        }
        self.micros.clear();
        self.undos.clear();
        if let Some(e) = Election::new(b.validators.clone(), &b.random, self.cfg.slots_count) {
            self.election = e;
        }
        self.macros.push(b);
        self.refresh_leader();
        Ok(reverted)
    }
}
