//! Following the chain: outputs received and spent, transaction statuses, balances and the
//! notifications about them, and what a restarted node picks up again.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::message::{
    Balance, BalanceAmounts, BalanceChanged, IncomingEntry, LogEntry, OutgoingEntry, OutputInfo,
    OutputType, PaymentUtxo, PublicPaymentUtxo, ServerKind, ServerMessage, StakeUtxo, Timestamp,
    TransactionCreated, TransactionStatus, TxStatus as ApiTxStatus,
};
use crate::chain::Chain;
use crate::chain::block::{MacroBlock, MicroBlock};
use crate::chain::ledger::TxError;
use crate::chain::tx::{Output as TxOutput, Transaction, TxStatus};
use crate::crypto::{Hash, Network, PublicKey};
use crate::storage::Store;

use super::account::Account;
use super::records::{self, HistoryAt, HistoryRecord, OutgoingRecord, OutputMeta};
use super::{PendingTx, Wallet, WalletCtx, WalletError, msg, tx_refused};

/// Most outputs an account may have for `balance_changed` after its own payment to be summed
/// over all of them (see `Wallet::note_spending`).
const EXACT_BALANCE_UTXOS_MAX: usize = 256;

/// The API's name of an output's kind.
fn output_type(o: &TxOutput) -> OutputType {
    match o {
        TxOutput::Payment(_) => OutputType::Payment,
        TxOutput::PublicPayment(_) => OutputType::PublicPayment,
        TxOutput::Stake(_) => OutputType::Stake,
    }
}

/// The outputs of a transaction the wallet made, as `transaction_created` and the history
/// show them.
fn output_infos(network: Network, tx: &Transaction, meta: &[OutputMeta]) -> Vec<OutputInfo> {
    tx.outputs
        .iter()
        .zip(meta)
        .map(|(o, m)| OutputInfo {
            output_type: output_type(o),
            utxo: o.hash().to_string(),
            amount: o.amount(),
            comment: m.comment.clone(),
            locked_timestamp: o.locked_until_ns().map(Timestamp::from_unix_nanos),
            recipient: o.owner().to_bech32(network),
            rvalue: m.rvalue.as_ref().map(ToString::to_string),
            is_change: m.is_change,
        })
        .collect()
}

/// A transaction status as the API shows it (`None`: just created).
fn api_status(tx_hash: &Hash, status: Option<&TxStatus>) -> TransactionStatus {
    let (status, epoch, offset, error) = match status {
        None => (ApiTxStatus::Created, None, None, None),
        Some(TxStatus::Accepted) => (ApiTxStatus::Accepted, None, None, None),
        Some(TxStatus::Rejected { error, .. }) => {
            (ApiTxStatus::Rejected, None, None, Some(error.clone()))
        }
        Some(TxStatus::Prepared { epoch, offset }) => {
            (ApiTxStatus::Prepared, Some(*epoch), Some(*offset), None)
        }
        Some(TxStatus::Rollback { epoch, offset }) => {
            (ApiTxStatus::Rollback, Some(*epoch), Some(*offset), None)
        }
        Some(TxStatus::Committed { epoch }) => (ApiTxStatus::Committed, Some(*epoch), None, None),
        Some(TxStatus::Conflicted { epoch, offset }) => {
            (ApiTxStatus::Conflicted, Some(*epoch), *offset, None)
        }
    };
    TransactionStatus {
        tx_hash: tx_hash.to_string(),
        status,
        epoch,
        offset,
        error,
    }
}

/// One history entry as `history_info` shows it.
pub(super) fn log_entry(
    account: &mut Account,
    network: Network,
    at: HistoryAt,
    record: HistoryRecord,
) -> LogEntry {
    let timestamp = Timestamp::from_unix_nanos(at.0);
    match record {
        HistoryRecord::Incoming { utxo, output } => {
            let comment = account
                .unsealed
                .as_mut()
                .map(|k| k.comment(&utxo, &output))
                .unwrap_or_default();
            LogEntry::Incoming(IncomingEntry {
                timestamp,
                output: OutputInfo {
                    output_type: output_type(&output),
                    utxo: utxo.to_string(),
                    amount: output.amount(),
                    comment,
                    locked_timestamp: output.locked_until_ns().map(Timestamp::from_unix_nanos),
                    recipient: output.owner().to_bech32(network),
                    rvalue: None,
                    is_change: account.changes.contains(&utxo),
                },
            })
        }
        HistoryRecord::Outgoing(o) => {
            let tx_hash = o.tx.hash();
            let s = api_status(&tx_hash, o.status.as_ref());
            LogEntry::Outgoing(OutgoingEntry {
                timestamp,
                tx_hash: s.tx_hash,
                fee: o.tx.fee,
                outputs: output_infos(network, &o.tx, &o.meta),
                inputs: o.tx.inputs.iter().map(Hash::to_string).collect(),
                status: s.status,
                epoch: s.epoch,
                offset: s.offset,
                error: s.error,
            })
        }
    }
}

/// Adds the outputs a micro block spends, and those it creates for one of `keys`, to
/// `touched`, and the latter to `created`. (Outputs for other keys are skipped before
/// hashing: a busy block has thousands.)
fn block_outputs(
    b: &MicroBlock,
    keys: &BTreeMap<PublicKey, u32>,
    touched: &mut BTreeSet<Hash>,
    created: &mut BTreeSet<Hash>,
) {
    let outputs = b.transactions.iter().flat_map(|tx| tx.outputs.iter());
    for o in outputs.chain(std::iter::once(&b.reward)) {
        if keys.contains_key(o.owner()) {
            let h = o.hash();
            touched.insert(h);
            created.insert(h);
        }
    }
    for tx in &b.transactions {
        touched.extend(tx.inputs.iter().copied());
    }
}

impl Wallet {
    /// The account's balance now: the ledger's outputs it owns; available excludes outputs
    /// claimed by waiting transactions, time-locked ones and active stakes.
    pub(super) fn balance(&self, ctx: &WalletCtx, id: u32) -> Balance {
        let zero = BalanceAmounts {
            current: 0,
            available: 0,
        };
        let (mut payment, mut public, mut stake) = (zero, zero, zero);
        let account = &self.accounts[&id];
        let mut is_final = account.pending.is_empty();
        let epoch = ctx.chain.epoch();
        for h in account.utxos.keys() {
            let u = ctx
                .chain
                .ledger
                .get(h)
                .expect("the wallet tracks only outputs the ledger holds");
            is_final &= u.offset.is_none();
            let free = !ctx.claimed.contains_key(h)
                && u.output.locked_until_ns().is_none_or(|t| t <= ctx.now_ns);
            let (amounts, spendable) = match &u.output {
                TxOutput::Payment(_) => (&mut payment, free),
                TxOutput::PublicPayment(_) => (&mut public, free),
                TxOutput::Stake(s) => (&mut stake, free && s.active_until_epoch <= epoch),
            };
            amounts.current += u.output.amount();
            if spendable {
                amounts.available += u.output.amount();
            }
        }
        Balance {
            payment,
            public_payment: public,
            stake,
            current: payment.current + public.current + stake.current,
            available: payment.available + public.available + stake.available,
            is_final: Some(is_final),
        }
    }

    /// Sends `balance_changed` when an unsealed account's balance differs from the last one
    /// it was told.
    fn check_balance(&mut self, ctx: &mut WalletCtx, id: u32) {
        if self.accounts.get(&id).is_none_or(|a| a.unsealed.is_none()) {
            return;
        }
        let balance = self.balance(ctx, id);
        let account = self.account_mut(id);
        if account.last_balance.as_ref() != Some(&balance) {
            account.last_balance = Some(balance.clone());
            ctx.notify.push(msg(
                id,
                ServerKind::BalanceChanged(BalanceChanged::Full(balance)),
            ));
        }
    }

    /// After the account's own transaction claimed `inputs`: `balance_changed` with them no
    /// longer available. For an account with more than [`EXACT_BALANCE_UTXOS_MAX`] outputs
    /// it is the last balance sent less the inputs, not a sum over every output (such an
    /// account may make thousands of payments between blocks); it can then miss a time lock
    /// that ended since, until the next block recomputes the whole balance.
    fn note_spending(&mut self, ctx: &mut WalletCtx, id: u32, inputs: &[Hash]) {
        let account = &self.accounts[&id];
        if account.unsealed.is_none() {
            return;
        }
        let last = account.last_balance.clone();
        let Some(mut balance) = last.filter(|_| account.utxos.len() > EXACT_BALANCE_UTXOS_MAX)
        else {
            self.check_balance(ctx, id);
            return;
        };
        for h in inputs {
            let Some(u) = ctx.chain.ledger.get(h) else {
                continue;
            };
            let amounts = match &u.output {
                TxOutput::Payment(_) => &mut balance.payment,
                TxOutput::PublicPayment(_) => &mut balance.public_payment,
                TxOutput::Stake(_) => &mut balance.stake,
            };
            amounts.available -= u.output.amount();
            balance.available -= u.output.amount();
        }
        balance.is_final = Some(false);
        let account = self.account_mut(id);
        account.last_balance = Some(balance.clone());
        ctx.notify.push(msg(
            id,
            ServerKind::BalanceChanged(BalanceChanged::Full(balance)),
        ));
    }

    /// The body of `received` / `received_public` / `staked` (or, with `received` false,
    /// `spent` / `spent_public` / `unstaked`) for one output of the account; also the
    /// entries of `unspent_info`.
    pub(super) fn utxo_notice(
        &mut self,
        epoch: u64,
        id: u32,
        utxo: &Hash,
        output: &TxOutput,
        received: bool,
    ) -> ServerKind {
        let network = self.network;
        let account = self.account_mut(id);
        let locked_timestamp = output.locked_until_ns().map(Timestamp::from_unix_nanos);
        match output {
            TxOutput::Payment(p) => {
                let body = PaymentUtxo {
                    utxo: utxo.to_string(),
                    amount: p.amount,
                    comment: account
                        .unsealed
                        .as_mut()
                        .map(|k| k.comment(utxo, output))
                        .unwrap_or_default(),
                    locked_timestamp,
                    recipient: p.recipient.to_bech32(network),
                    rvalue: None,
                    is_change: account.changes.contains(utxo),
                };
                if received {
                    ServerKind::Received(body)
                } else {
                    ServerKind::Spent(body)
                }
            }
            TxOutput::PublicPayment(p) => {
                let body = PublicPaymentUtxo {
                    utxo: utxo.to_string(),
                    amount: p.amount,
                    locked_timestamp,
                };
                if received {
                    ServerKind::ReceivedPublic(body)
                } else {
                    ServerKind::SpentPublic(body)
                }
            }
            TxOutput::Stake(s) => {
                let body = StakeUtxo {
                    utxo: utxo.to_string(),
                    amount: s.amount,
                    active_until_epoch: s.active_until_epoch,
                    is_active: s.active_until_epoch >= epoch,
                };
                if received {
                    ServerKind::Staked(body)
                } else {
                    ServerKind::Unstaked(body)
                }
            }
        }
    }

    /// Starts tracking unspent output `h` (in the ledger) for account `id`, with a history
    /// entry at its block's time unless it has one. Sends nothing.
    pub(super) fn add_utxo(&mut self, store: &mut dyn Store, chain: &Chain, id: u32, h: Hash) {
        let Some(u) = chain.ledger.get(&h) else {
            return;
        };
        self.utxo_owner.insert(h, id);
        let needs_entry = !self.accounts[&id].incoming.contains_key(&h);
        let at = needs_entry.then(|| (u.timestamp_ns, self.next_history_seq()));
        if at.is_some() {
            self.put_meta(store);
        }
        let account = self.account_mut(id);
        account.insert_utxo(h, u.output.amount());
        if let Some(at) = at {
            let record = HistoryRecord::Incoming {
                utxo: h,
                output: u.output.clone(),
            };
            store.put(&records::history_key(id, at), &records::encode(&record));
            account.index_history(at, record);
        }
    }

    /// Brings the accounts' outputs among `touched` in line with the ledger: outputs that
    /// appeared are received, outputs that disappeared are spent, or, when they are in
    /// `created_reverted` (created by a reverted block), never were. Notifies unsealed
    /// accounts and sends their new balances.
    fn reconcile(
        &mut self,
        ctx: &mut WalletCtx,
        touched: BTreeSet<Hash>,
        created_reverted: &BTreeSet<Hash>,
    ) {
        let chain: &Chain = ctx.chain;
        let epoch = chain.epoch();
        let mut affected = BTreeSet::new();
        for h in touched {
            let owner = chain
                .ledger
                .get(&h)
                .and_then(|u| self.by_key.get(u.output.owner()).map(|id| (*id, u)));
            match owner {
                Some((id, u)) => {
                    affected.insert(id);
                    if self.utxo_owner.contains_key(&h) {
                        continue;
                    }
                    self.add_utxo(ctx.store, chain, id, h);
                    if self.accounts[&id].unsealed.is_some() {
                        let kind = self.utxo_notice(epoch, id, &h, &u.output, true);
                        ctx.notify.push(msg(id, kind));
                    }
                }
                None => {
                    let Some(id) = self.utxo_owner.remove(&h) else {
                        continue;
                    };
                    affected.insert(id);
                    let account = self.account_mut(id);
                    account.remove_utxo(&h);
                    let at = account.incoming.get(&h).copied();
                    if created_reverted.contains(&h) {
                        // Its block is gone: the account never received it after all.
                        if let Some(at) = at {
                            account.incoming.remove(&h);
                            account.history.remove(&at);
                            ctx.store.delete(&records::history_key(id, at));
                        }
                        continue;
                    }
                    if account.unsealed.is_none() {
                        continue;
                    }
                    let output = at.and_then(|at| match account.history.get(&at) {
                        Some(HistoryRecord::Incoming { output, .. }) => Some(output.clone()),
                        _ => None,
                    });
                    if let Some(output) = output {
                        let kind = self.utxo_notice(epoch, id, &h, &output, false);
                        ctx.notify.push(msg(id, kind));
                    }
                }
            }
        }
        for id in affected {
            self.check_balance(ctx, id);
        }
    }

    /// Hook: micro block `b` was applied (the chain already holds it).
    pub fn on_micro_applied(&mut self, ctx: &mut WalletCtx, b: &MicroBlock) {
        if self.accounts.is_empty() {
            return;
        }
        let mut touched = BTreeSet::new();
        block_outputs(b, &self.by_key, &mut touched, &mut BTreeSet::new());
        self.reconcile(ctx, touched, &BTreeSet::new());
    }

    /// Hook: micro block `b` was reverted (the chain no longer holds it).
    pub fn on_micro_reverted(&mut self, ctx: &mut WalletCtx, b: &MicroBlock) {
        if self.accounts.is_empty() {
            return;
        }
        let mut touched = BTreeSet::new();
        let mut created = BTreeSet::new();
        block_outputs(b, &self.by_key, &mut touched, &mut created);
        self.reconcile(ctx, touched, &created);
    }

    /// Hook: the chain's last macro block just became final. `net_applied`: the chain
    /// applied the block's net effect instead of finalising the micro blocks the wallet
    /// saw (they are `reverted`, or there were none).
    pub fn on_macro_committed(
        &mut self,
        ctx: &mut WalletCtx,
        reverted: &[MicroBlock],
        net_applied: bool,
    ) {
        if self.accounts.is_empty() {
            return;
        }
        if net_applied {
            let b: &MacroBlock = ctx.chain.last_macro();
            let mut touched = BTreeSet::new();
            let mut created = BTreeSet::new();
            for m in reverted {
                block_outputs(m, &self.by_key, &mut touched, &mut created);
            }
            touched.extend(b.inputs.iter().copied());
            touched.extend(
                b.outputs
                    .iter()
                    .filter(|o| self.by_key.contains_key(o.owner()))
                    .map(TxOutput::hash),
            );
            self.reconcile(ctx, touched, &created);
        }
        // Finality, and stakes that expire with the epoch, change every balance.
        let unsealed: Vec<u32> = self
            .accounts
            .iter()
            .filter(|(_, a)| a.unsealed.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in unsealed {
            self.check_balance(ctx, id);
        }
    }

    /// Hook: the node gave transaction `tx_hash` a new status. Updates the history of the
    /// account that made it and notifies it.
    pub fn on_tx_status(&mut self, ctx: &mut WalletCtx, tx_hash: &Hash, status: &TxStatus) {
        let Some(&id) = self.outgoing.get(tx_hash) else {
            return;
        };
        let account = self.account_mut(id);
        let Some(&at) = account.pending.get(tx_hash) else {
            return;
        };
        let Some(record) = account.history.get_mut(&at) else {
            return;
        };
        let HistoryRecord::Outgoing(o) = &mut *record else {
            return;
        };
        o.status = Some(status.clone());
        let still_pending = o.is_pending();
        let dropped = matches!(
            status,
            TxStatus::Rejected { .. } | TxStatus::Conflicted { .. }
        )
        .then(|| o.tx.inputs.clone());
        ctx.store
            .put(&records::history_key(id, at), &records::encode(&*record));
        if let Some(inputs) = dropped {
            account.release(&inputs);
        }
        if !still_pending {
            account.pending.remove(tx_hash);
            self.outgoing.remove(tx_hash);
        }
        if self.accounts[&id].unsealed.is_some() {
            ctx.notify.push(msg(
                id,
                ServerKind::TransactionStatus(api_status(tx_hash, Some(status))),
            ));
        }
        self.check_balance(ctx, id);
    }

    /// After the node submitted a transaction [`Wallet::handle_request`] built: records it
    /// (synced) and answers `transaction_created`, then notifies `created` and `accepted`; or
    /// answers the mempool's refusal.
    pub fn finish_submit(
        &mut self,
        ctx: &mut WalletCtx,
        p: PendingTx,
        result: Result<Hash, TxError>,
    ) -> Result<ServerMessage, WalletError> {
        let tx_hash = result.map_err(|e| tx_refused(&e))?;
        let created = TransactionCreated {
            tx_hash: tx_hash.to_string(),
            fee: p.tx.fee,
            outputs: output_infos(self.network, &p.tx, &p.meta),
            inputs: p.tx.inputs.iter().map(Hash::to_string).collect(),
            status: ApiTxStatus::Created,
        };
        let status = TxStatus::Accepted;
        let inputs = p.tx.inputs.clone();
        self.account_mut(p.account).reserve(&inputs);
        let record = HistoryRecord::Outgoing(OutgoingRecord {
            tx: p.tx,
            meta: p.meta,
            status: Some(status.clone()),
            epoch: ctx.chain.epoch(),
        });
        let at = (ctx.now_ns, self.next_history_seq());
        ctx.store.put(
            &records::history_key(p.account, at),
            &records::encode(&record),
        );
        self.account_mut(p.account).index_history(at, record);
        self.outgoing.insert(tx_hash, p.account);
        self.sync(ctx)?;
        if self.accounts[&p.account].unsealed.is_some() {
            for s in [None, Some(&status)] {
                ctx.notify.push(msg(
                    p.account,
                    ServerKind::TransactionStatus(api_status(&tx_hash, s)),
                ));
            }
        }
        self.note_spending(ctx, p.account, &inputs);
        Ok(msg(p.account, ServerKind::TransactionCreated(created)))
    }

    /// At start: settles the statuses of transactions that were still pending when the node
    /// stopped (in a micro block of the current epoch: prepared; in a final block: committed)
    /// and returns the others, which the node's mempool lost, for resubmission.
    pub fn restart_pending(&mut self, chain: &Chain, store: &mut dyn Store) -> Vec<Transaction> {
        let mut in_micros: BTreeMap<Hash, (u64, u32)> = BTreeMap::new();
        if !self.outgoing.is_empty() {
            for b in &chain.micros {
                for t in &b.transactions {
                    in_micros.insert(t.hash(), (b.epoch, b.offset));
                }
            }
        }
        let mut resubmit = Vec::new();
        for (id, account) in self.accounts.iter_mut() {
            let pending: Vec<(Hash, HistoryAt)> =
                account.pending.iter().map(|(h, at)| (*h, *at)).collect();
            for (h, at) in pending {
                let Some(HistoryRecord::Outgoing(o)) = account.history.get_mut(&at) else {
                    continue;
                };
                let found = in_micros
                    .get(&h)
                    .map(|(epoch, offset)| TxStatus::Prepared {
                        epoch: *epoch,
                        offset: *offset,
                    })
                    .or_else(|| {
                        chain
                            .macros
                            .iter()
                            .rev()
                            .take_while(|m| m.epoch >= o.epoch)
                            .find(|m| m.transactions.contains(&h))
                            .map(|m| TxStatus::Committed { epoch: m.epoch })
                    });
                let Some(status) = found else {
                    resubmit.push(o.tx.clone());
                    continue;
                };
                o.status = Some(status);
                if !o.is_pending() {
                    account.pending.remove(&h);
                    self.outgoing.remove(&h);
                }
                let record = &account.history[&at];
                store.put(&records::history_key(*id, at), &records::encode(record));
            }
        }
        resubmit
    }
}
