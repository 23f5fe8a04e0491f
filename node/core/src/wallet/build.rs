//! Building the wallet's transactions: which outputs to spend, fees, change, signing.
//!
//! Rules (PROTOCOL.md, "Wallet requests"):
//! - `payment_fee` is charged per created output, so a payment with change pays it twice;
//!   it must be at least the chain's `payment_fee_min` (and `stake_fee_min` when a stake is
//!   created). A stake must exceed its fee.
//! - Coin selection is deterministic: the account's spendable outputs (not claimed by a
//!   waiting transaction, not time-locked, stakes only once expired), largest first, until
//!   they pay the amount and fees exactly or leave change worth an output of its own. When
//!   every output is taken and a little is left that would not pay a change output's fee,
//!   it goes to the fee instead of failing (for `unstake`, to the unstaked amount).
//! - `payment`, `public_payment` and `stake` spend cloaked payment outputs; `cloak_all`
//!   spends public payment outputs (the account's and its public addresses'); `unstake` and
//!   `unstake_all` spend expired stakes; `restake_all` spends expired stakes with this node's
//!   validator and is signed by the validator's network key (it needs no unsealed account).
//! - One transaction per request, with at most `tx_inputs_max` inputs; `cloak_all`,
//!   `unstake_all` and `restake_all` take that many outputs and leave the rest for a next call.
//! - The signature verifies against the sum of the inputs' owner keys (one per input), so the
//!   wallet signs once with the sum of the matching secret keys.

use crate::api::message::{ErrorCode, Payment};
use crate::chain::tx::{
    Output as TxOutput, PaymentPayload, PublicPaymentOutput, StakeOutput, Transaction,
};
use crate::crypto::{Hash, PublicKey, Rvalue, SecretKey, sign};

use super::records::OutputMeta;
use super::{PendingTx, Wallet, WalletCtx, WalletError, err, sealed_error};

/// The comment of change outputs (as the seed's samples show).
const CHANGE_COMMENT: &str = "Change";

/// Which outputs a request may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CoinKind {
    /// Cloaked payment outputs.
    Payment,
    /// Public payment outputs.
    Public,
    /// Expired stakes, with this validator when one is named.
    ExpiredStake(Option<PublicKey>),
}

/// A spendable output.
#[derive(Debug, Clone, Copy)]
struct Coin {
    /// Its hash.
    hash: Hash,
    /// Its amount.
    amount: i64,
    /// The key that must sign for it.
    owner: PublicKey,
    /// The validator, for a stake.
    validator: Option<PublicKey>,
}

/// The outputs chosen to pay something.
#[derive(Debug)]
struct Selection {
    /// Inputs.
    coins: Vec<Coin>,
    /// Change, when there is enough left for a change output (0: none).
    change: i64,
    /// What is left over without being worth a change output.
    excess: i64,
}

/// Picks coins (largest first) paying `target`, with change of at least `change_min` after
/// `change_fee`, or exactly, or all of them with a small excess.
fn select(
    coins: impl IntoIterator<Item = Coin>,
    target: i64,
    change_fee: i64,
    change_min: i64,
    inputs_max: usize,
) -> Result<Selection, WalletError> {
    let with_change = target
        .checked_add(change_fee)
        .and_then(|t| t.checked_add(change_min))
        .ok_or_else(not_enough)?;
    let mut chosen = Vec::new();
    let mut sum: i64 = 0;
    for c in coins {
        if chosen.len() >= inputs_max {
            if sum < target {
                return Err(err(
                    ErrorCode::NotEnoughMoney,
                    format!(
                        "Not enough money in {inputs_max} outputs (the most one transaction \
                         spends): {sum} of {target} µSTG; merge small outputs first"
                    ),
                ));
            }
            break;
        }
        sum += c.amount;
        chosen.push(c);
        if sum == target || sum >= with_change {
            break;
        }
    }
    if sum < target {
        return Err(not_enough());
    }
    let (change, excess) = if sum >= with_change {
        (sum - target - change_fee, 0)
    } else {
        (0, sum - target)
    };
    Ok(Selection {
        coins: chosen,
        change,
        excess,
    })
}

fn not_enough() -> WalletError {
    err(ErrorCode::NotEnoughMoney, "Not enough money.")
}

/// Signs a transaction whose inputs are owned by `keys` (one per input, repeated as they
/// repeat).
fn signed(keys: &[&SecretKey], inputs: Vec<Hash>, outputs: Vec<TxOutput>, fee: i64) -> Transaction {
    let body = Transaction::body_hash(&inputs, &outputs, fee);
    let key = SecretKey::sum(keys.iter().copied())
        .expect("a sum of random secret keys is zero with probability 2^-252");
    Transaction::new(inputs, outputs, fee, sign(&key, body.as_bytes()))
}

impl Wallet {
    /// The smallest per-output fee of a transaction that creates a stake.
    pub(super) fn stake_fee_floor(&self, ctx: &WalletCtx) -> i64 {
        ctx.chain
            .cfg
            .payment_fee_min
            .max(ctx.chain.cfg.stake_fee_min)
    }

    fn check_fee(&self, ctx: &WalletCtx, fee: i64, stake: bool) -> Result<(), WalletError> {
        let min = if stake {
            self.stake_fee_floor(ctx)
        } else {
            ctx.chain.cfg.payment_fee_min
        };
        if fee < min {
            return Err(err(
                ErrorCode::FeeTooLow,
                format!("Fee too low: {fee} µSTG per output, the minimum is {min}"),
            ));
        }
        Ok(())
    }

    /// The account's outputs of `kind` that it can spend now, largest first (lazily: a
    /// payment looks at the few largest, not at every output).
    fn coins<'s>(
        &'s self,
        ctx: &'s WalletCtx<'_>,
        id: u32,
        kind: CoinKind,
    ) -> impl Iterator<Item = Coin> + 's {
        let epoch = ctx.chain.epoch();
        self.accounts[&id]
            .by_amount
            .iter()
            .rev()
            .map(|(_, h)| h)
            .filter(|h| !ctx.claimed.contains_key(*h))
            .filter_map(move |h| {
                let u = ctx.chain.ledger.get(h)?;
                if u.output.locked_until_ns().is_some_and(|t| t > ctx.now_ns) {
                    return None;
                }
                let validator = match (&u.output, kind) {
                    (TxOutput::Payment(_), CoinKind::Payment)
                    | (TxOutput::PublicPayment(_), CoinKind::Public) => None,
                    (TxOutput::Stake(s), CoinKind::ExpiredStake(v))
                        if s.active_until_epoch <= epoch && v.is_none_or(|v| v == s.validator) =>
                    {
                        Some(s.validator)
                    }
                    _ => return None,
                };
                Some(Coin {
                    hash: *h,
                    amount: u.output.amount(),
                    owner: *u.output.owner(),
                    validator,
                })
            })
    }

    /// A cloaked output back to the account (change, or what `cloak_all` and `unstake`
    /// produce).
    fn own_output(
        &mut self,
        pkey: &PublicKey,
        amount: i64,
        is_change: bool,
    ) -> (TxOutput, OutputMeta) {
        let comment = if is_change { CHANGE_COMMENT } else { "" };
        let out = PaymentPayload {
            amount,
            comment: comment.into(),
            spender: Some(*pkey),
            rvalue_hint: false,
        }
        .into_output(pkey, None, self.rng.bytes32());
        let meta = OutputMeta {
            comment: comment.into(),
            is_change,
            rvalue: None,
        };
        (out, meta)
    }

    /// Pays `amount` plus fees from the account's cloaked outputs into the output `make`
    /// builds once the inputs are chosen, with change back to the account.
    fn spend_cloaked(
        &mut self,
        ctx: &WalletCtx,
        id: u32,
        amount: i64,
        fee: i64,
        make: impl FnOnce(&mut Self, &PublicKey) -> (TxOutput, OutputMeta),
    ) -> Result<PendingTx, WalletError> {
        let target = amount.checked_add(fee).ok_or_else(not_enough)?;
        let sel = select(
            self.coins(ctx, id, CoinKind::Payment),
            target,
            fee,
            1,
            ctx.chain.cfg.tx_inputs_max,
        )?;
        let pkey = self.accounts[&id].record.pkey;
        let (out, meta) = make(self, &pkey);
        let mut outputs = vec![out];
        let mut metas = vec![meta];
        if sel.change > 0 {
            let (out, meta) = self.own_output(&pkey, sel.change, true);
            outputs.push(out);
            metas.push(meta);
        }
        let total_fee = fee * outputs.len() as i64 + sel.excess;
        self.finish(id, &sel.coins, outputs, metas, total_fee)
    }

    /// A stake of the account with `validator`, starting now.
    fn stake_output(
        &mut self,
        ctx: &WalletCtx,
        owner: &PublicKey,
        validator: &PublicKey,
        amount: i64,
    ) -> (TxOutput, OutputMeta) {
        let out = TxOutput::Stake(StakeOutput {
            owner: *owner,
            validator: *validator,
            amount,
            active_until_epoch: ctx.chain.epoch() + ctx.chain.cfg.stake_epochs,
            nonce: self.rng.bytes16(),
        });
        let meta = OutputMeta {
            comment: String::new(),
            is_change: false,
            rvalue: None,
        };
        (out, meta)
    }

    /// Signs with the account's keys for `coins` and wraps the result.
    fn finish(
        &self,
        id: u32,
        coins: &[Coin],
        outputs: Vec<TxOutput>,
        meta: Vec<OutputMeta>,
        fee: i64,
    ) -> Result<PendingTx, WalletError> {
        let keys = self.accounts[&id]
            .unsealed
            .as_ref()
            .ok_or_else(sealed_error)?;
        let secrets: Vec<&SecretKey> = coins
            .iter()
            .map(|c| {
                keys.secret_for(&c.owner)
                    .expect("the account's outputs are owned by its keys")
            })
            .collect();
        let inputs = coins.iter().map(|c| c.hash).collect();
        Ok(PendingTx {
            account: id,
            tx: signed(&secrets, inputs, outputs, fee),
            meta,
        })
    }

    /// `payment` (cloaked) and `public_payment`.
    pub(super) fn payment(
        &mut self,
        ctx: &WalletCtx,
        id: u32,
        p: &Payment,
        public: bool,
    ) -> Result<PendingTx, WalletError> {
        let cfg = &ctx.chain.cfg;
        if p.amount <= 0 {
            return Err(err(
                ErrorCode::InvalidAmount,
                format!("The amount must be positive, got {}", p.amount),
            ));
        }
        self.check_fee(ctx, p.payment_fee, false)?;
        let chars = p.comment.chars().count();
        if chars > cfg.comment_chars_max {
            return Err(err(
                ErrorCode::CommentTooLong,
                format!(
                    "The comment has {chars} characters, at most {} are allowed",
                    cfg.comment_chars_max
                ),
            ));
        }
        let recipient = PublicKey::from_bech32(&p.recipient, self.network).map_err(|e| {
            err(
                ErrorCode::InvalidRecipient,
                format!("Invalid recipient: {e}"),
            )
        })?;
        let locked = p.locked_timestamp.map(|t| t.unix_nanos());
        self.spend_cloaked(ctx, id, p.amount, p.payment_fee, |w, pkey| {
            if public {
                let out = TxOutput::PublicPayment(PublicPaymentOutput {
                    recipient,
                    amount: p.amount,
                    locked_until_ns: locked,
                    nonce: w.rng.bytes16(),
                });
                let meta = OutputMeta {
                    comment: p.comment.clone(),
                    is_change: false,
                    rvalue: None,
                };
                return (out, meta);
            }
            let r_seed = w.rng.bytes32();
            let out = PaymentPayload {
                amount: p.amount,
                comment: p.comment.clone(),
                spender: Some(*pkey),
                rvalue_hint: p.with_certificate,
            }
            .into_output(&recipient, locked, r_seed);
            let meta = OutputMeta {
                comment: p.comment.clone(),
                is_change: false,
                rvalue: p.with_certificate.then(|| Rvalue::from_seed(r_seed)),
            };
            (out, meta)
        })
    }

    /// `stake`: cloaked outputs into a stake with this node's validator.
    pub(super) fn stake(
        &mut self,
        ctx: &WalletCtx,
        id: u32,
        amount: i64,
        fee: i64,
    ) -> Result<PendingTx, WalletError> {
        let validator = *ctx
            .network_key
            .ok_or_else(|| {
                err(
                    ErrorCode::InvalidField,
                    "this node has no validator key: stakes go to the node's own validator",
                )
            })?
            .public();
        self.check_fee(ctx, fee, true)?;
        if amount <= fee {
            return Err(err(
                ErrorCode::InvalidAmount,
                format!("The stake amount {amount} must exceed the fee {fee}"),
            ));
        }
        self.spend_cloaked(ctx, id, amount, fee, |w, pkey| {
            w.stake_output(ctx, pkey, &validator, amount)
        })
    }

    /// `cloak_all`: public payment outputs into one cloaked output to the account.
    pub(super) fn cloak_all(
        &mut self,
        ctx: &WalletCtx,
        id: u32,
        fee: i64,
    ) -> Result<PendingTx, WalletError> {
        self.check_fee(ctx, fee, false)?;
        let coins: Vec<Coin> = self
            .coins(ctx, id, CoinKind::Public)
            .take(ctx.chain.cfg.tx_inputs_max)
            .collect();
        if coins.is_empty() {
            return Err(err(
                ErrorCode::NotEnoughMoney,
                "Not enough money: the account has no spendable public outputs to cloak",
            ));
        }
        let sum: i64 = coins.iter().map(|c| c.amount).sum();
        if sum <= fee {
            return Err(not_enough());
        }
        let pkey = self.accounts[&id].record.pkey;
        let (out, meta) = self.own_output(&pkey, sum - fee, false);
        self.finish(id, &coins, vec![out], vec![meta], fee)
    }

    /// `unstake` (`amount` given) and `unstake_all` (`None`): expired stakes back into a
    /// cloaked output; what an `unstake` does not take out stays staked.
    pub(super) fn unstake(
        &mut self,
        ctx: &WalletCtx,
        id: u32,
        amount: Option<i64>,
        fee: i64,
    ) -> Result<PendingTx, WalletError> {
        self.check_fee(ctx, fee, true)?;
        let coins = self.coins(ctx, id, CoinKind::ExpiredStake(None));
        let inputs_max = ctx.chain.cfg.tx_inputs_max;
        let (coins, paid, restake) = match amount {
            None => {
                let coins: Vec<Coin> = coins.take(inputs_max).collect();
                let sum: i64 = coins.iter().map(|c| c.amount).sum();
                if sum <= fee {
                    return Err(err(
                        ErrorCode::NotEnoughMoney,
                        format!(
                            "Not enough money: {sum} µSTG of stake has expired and can be \
                             unstaked (active stakes stay locked until their epoch ends)"
                        ),
                    ));
                }
                (coins, sum - fee, None)
            }
            Some(a) => {
                if a <= 0 {
                    return Err(err(
                        ErrorCode::InvalidAmount,
                        format!("The amount must be positive, got {a}"),
                    ));
                }
                let target = a.checked_add(fee).ok_or_else(not_enough)?;
                let expired: i64 = self
                    .coins(ctx, id, CoinKind::ExpiredStake(None))
                    .map(|c| c.amount)
                    .sum();
                if target > expired {
                    return Err(err(
                        ErrorCode::NotEnoughMoney,
                        format!(
                            "Not enough money: unstaking {a} µSTG plus the fee needs {target}, \
                             but only {expired} µSTG of stake has expired (active stakes stay \
                             locked until their epoch ends)"
                        ),
                    ));
                }
                let stake_min = ctx.chain.cfg.stake_fee_min + 1;
                let sel = select(coins, target, fee, stake_min, inputs_max)?;
                let restake = (sel.change > 0).then(|| {
                    let v = sel.coins[0]
                        .validator
                        .expect("stake coins name their validator");
                    (v, sel.change)
                });
                (sel.coins, a + sel.excess, restake)
            }
        };
        let pkey = self.accounts[&id].record.pkey;
        let (out, meta) = self.own_output(&pkey, paid, false);
        let mut outputs = vec![out];
        let mut metas = vec![meta];
        if let Some((validator, left)) = restake {
            let (out, mut meta) = self.stake_output(ctx, &pkey, &validator, left);
            meta.is_change = true;
            outputs.push(out);
            metas.push(meta);
        }
        let fee_total = fee * outputs.len() as i64;
        self.finish(id, &coins, outputs, metas, fee_total)
    }

    /// `restake_all`: the account's expired stakes with this node's validator into one new
    /// stake, signed by the validator's network key (the account may be sealed).
    pub(super) fn restake_all(
        &mut self,
        ctx: &WalletCtx,
        id: u32,
    ) -> Result<PendingTx, WalletError> {
        let key = ctx.network_key.ok_or_else(|| {
            err(
                ErrorCode::InvalidField,
                "this node has no validator key: it restakes only stakes with its own validator",
            )
        })?;
        let validator = *key.public();
        let coins: Vec<Coin> = self
            .coins(ctx, id, CoinKind::ExpiredStake(Some(validator)))
            .take(ctx.chain.cfg.tx_inputs_max)
            .collect();
        if coins.is_empty() {
            return Err(err(
                ErrorCode::NotFound,
                "the account has no expired stake with this node's validator to restake",
            ));
        }
        let fee = ctx.chain.cfg.stake_fee_min;
        let sum: i64 = coins.iter().map(|c| c.amount).sum();
        if sum - fee <= fee {
            return Err(err(
                ErrorCode::InvalidAmount,
                format!("the expired stakes ({sum} µSTG) do not exceed twice the fee {fee}"),
            ));
        }
        let owner = self.accounts[&id].record.pkey;
        let (out, meta) = self.stake_output(ctx, &owner, &validator, sum - fee);
        let secrets: Vec<&SecretKey> = coins.iter().map(|_| key.secret()).collect();
        let inputs = coins.iter().map(|c| c.hash).collect();
        Ok(PendingTx {
            account: id,
            tx: signed(&secrets, inputs, vec![out], fee),
            meta: vec![meta],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coin(amount: i64, n: u8) -> Coin {
        Coin {
            hash: Hash([n; 32]),
            amount,
            owner: *crate::crypto::Keypair::from_seed([1; 32]).public(),
            validator: None,
        }
    }

    #[test]
    fn selection_exact_change_excess_and_shortfall() {
        // Exact: no change.
        let s = select(vec![coin(3000, 1)], 3000, 1000, 1, 64).unwrap();
        assert_eq!((s.change, s.excess, s.coins.len()), (0, 0, 1));
        // Enough for change.
        let s = select(vec![coin(10_000, 1), coin(5, 2)], 3000, 1000, 1, 64).unwrap();
        assert_eq!((s.change, s.excess, s.coins.len()), (6000, 0, 1));
        // A little over, not enough for a change output: excess.
        let s = select(vec![coin(3500, 1)], 3000, 1000, 1, 64).unwrap();
        assert_eq!((s.change, s.excess), (0, 500));
        // Short.
        let e = select(vec![coin(2999, 1)], 3000, 1000, 1, 64).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotEnoughMoney);
        assert_eq!(e.message, "Not enough money.");
        // Too many inputs needed.
        let coins: Vec<Coin> = (0..10).map(|i| coin(100, i)).collect();
        let e = select(coins, 900, 10, 1, 5).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotEnoughMoney);
        assert!(e.message.contains("5 outputs"), "{}", e.message);
    }
}
