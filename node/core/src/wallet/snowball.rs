//! The wallet's side of `secure_payment`: building one account's contribution to a Snowball
//! round, holding its inputs while the round runs, and recording the joint transaction.
//!
//! The node runs the round (`node/snowball.rs`); the wallet only
//! - builds the contribution ([`Wallet::snowball_prepare`]): the same outputs a `payment`
//!   would make (the payment and the change, the fee per output), from at most
//!   [`INPUTS_PER_MEMBER_MAX`] inputs, which it takes out of coin selection until the round
//!   ends (so nothing else spends them); an account that already has a round is refused with
//!   "Snowball is busy";
//! - gives the inputs back when the round fails ([`Wallet::snowball_release`]);
//! - records the joint transaction like any other outgoing one when the round succeeds
//!   ([`Wallet::snowball_finish`]): the history keeps the whole transaction, and
//!   `transaction_created` lists the account's own inputs, outputs and fee share.

use std::collections::BTreeSet;

use crate::api::message::{ErrorCode, Payment, ServerKind, ServerMessage};
use crate::chain::ledger::TxError;
use crate::chain::tx::Transaction;
use crate::crypto::{Hash, PublicKey};
use crate::snowball::{Contribution, INPUTS_PER_MEMBER_MAX, InputRef};

use super::records::OutputMeta;
use super::{PendingTx, Wallet, WalletCtx, WalletError, err, sealed_error};

/// One account's contribution to a round, with what the wallet needs to record the result.
#[derive(Debug, Clone)]
pub struct SnowballPrep {
    /// The account (number).
    account: u32,
    /// The account's key: the member's id in the round.
    pkey: PublicKey,
    /// What the account brings.
    contribution: Contribution,
    /// The wallet's notes on each of the contribution's outputs, by output hash.
    meta: Vec<(Hash, OutputMeta)>,
}

impl SnowballPrep {
    /// The account's number.
    pub fn account(&self) -> u32 {
        self.account
    }

    /// The account's key (its id in the round).
    pub fn pkey(&self) -> PublicKey {
        self.pkey
    }

    /// What the account brings to the round.
    pub fn contribution(&self) -> &Contribution {
        &self.contribution
    }
}

impl Wallet {
    /// `secure_payment` of account `account_id`: checks the request as `payment` does, picks
    /// at most [`INPUTS_PER_MEMBER_MAX`] inputs and holds them until the round ends.
    pub fn snowball_prepare(
        &mut self,
        ctx: &mut WalletCtx,
        account_id: Option<&str>,
        p: &Payment,
    ) -> Result<SnowballPrep, WalletError> {
        let id = self.parse_id(account_id)?;
        if self.accounts[&id].unsealed.is_none() {
            return Err(sealed_error());
        }
        if self.snowball_rounds.contains_key(&id) {
            return Err(err(ErrorCode::SnowballBusy, "Snowball is busy"));
        }
        let pending = self.payment(ctx, id, p, false)?;
        if pending.tx.inputs.len() > INPUTS_PER_MEMBER_MAX {
            return Err(err(
                ErrorCode::NotEnoughMoney,
                format!(
                    "a secure payment spends at most {INPUTS_PER_MEMBER_MAX} outputs, this one \
                     needs {}: merge small outputs first (a payment to yourself)",
                    pending.tx.inputs.len()
                ),
            ));
        }
        let keys = self.accounts[&id]
            .unsealed
            .as_ref()
            .ok_or_else(sealed_error)?;
        let mut inputs = Vec::with_capacity(pending.tx.inputs.len());
        let mut input_secrets = Vec::with_capacity(pending.tx.inputs.len());
        for h in &pending.tx.inputs {
            let u = ctx.chain.ledger.get(h).ok_or_else(|| {
                err(
                    ErrorCode::Internal,
                    format!("the selected output {h} is not in the ledger"),
                )
            })?;
            let owner = *u.output.owner();
            let secret = keys.secret_for(&owner).ok_or_else(|| {
                err(
                    ErrorCode::Internal,
                    format!("the account holds no key for output {h}"),
                )
            })?;
            inputs.push(InputRef {
                hash: *h,
                owner,
                amount: u.output.amount(),
            });
            input_secrets.push(secret.clone());
        }
        let meta = pending
            .tx
            .outputs
            .iter()
            .map(|o| o.hash())
            .zip(pending.meta)
            .collect();
        let held = pending.tx.inputs.clone();
        self.account_mut(id).reserve(&held);
        self.snowball_rounds.insert(id, held);
        Ok(SnowballPrep {
            account: id,
            pkey: self.accounts[&id].record.pkey,
            contribution: Contribution {
                inputs,
                input_secrets,
                outputs: pending.tx.outputs,
                fee: pending.tx.fee,
            },
            meta,
        })
    }

    /// The round of `account` ended without a transaction: its inputs are spendable again.
    pub fn snowball_release(&mut self, account: u32) {
        let Some(held) = self.snowball_rounds.remove(&account) else {
            return;
        };
        if let Some(a) = self.accounts.get_mut(&account) {
            a.release(&held);
        }
    }

    /// Whether `account` has a round running (or waiting in a pool).
    pub fn snowball_busy(&self, account: u32) -> bool {
        self.snowball_rounds.contains_key(&account)
    }

    /// The round of `prep` produced `tx`, which the node submitted with `result`: records it
    /// as the account's outgoing transaction and answers `transaction_created` with the
    /// account's own part (or the mempool's refusal as an error), then `created` and
    /// `accepted` notifications as for a payment.
    pub fn snowball_finish(
        &mut self,
        ctx: &mut WalletCtx,
        prep: &SnowballPrep,
        tx: Transaction,
        result: Result<Hash, TxError>,
    ) -> Result<ServerMessage, WalletError> {
        let id = prep.account;
        // Held until now; the pending transaction reserves them from here on.
        self.snowball_release(id);
        if !self.accounts.contains_key(&id) {
            return Err(err(
                ErrorCode::AccountNotFound,
                "the account was deleted during its Snowball round",
            ));
        }
        let own: BTreeSet<Hash> = prep.meta.iter().map(|(h, _)| *h).collect();
        let meta = tx
            .outputs
            .iter()
            .map(|o| {
                let h = o.hash();
                prep.meta
                    .iter()
                    .find(|(m, _)| *m == h)
                    .map(|(_, m)| m.clone())
                    .unwrap_or(OutputMeta {
                        comment: String::new(),
                        is_change: false,
                        rvalue: None,
                    })
            })
            .collect();
        let own_inputs: Vec<String> = prep
            .contribution
            .inputs
            .iter()
            .map(|i| i.hash.to_string())
            .collect();
        let mut answer = self.finish_submit(
            ctx,
            PendingTx {
                account: id,
                tx,
                meta,
            },
            result,
        )?;
        if let ServerKind::TransactionCreated(created) = &mut answer.kind {
            created
                .outputs
                .retain(|o| o.utxo.parse::<Hash>().is_ok_and(|h| own.contains(&h)));
            created.inputs = own_inputs;
            created.fee = prep.contribution.fee;
        }
        Ok(answer)
    }
}
