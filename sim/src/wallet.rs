//! Payments from the genesis-funded account, built the way a wallet would.
//!
//! The simulator holds the funded account's key (it derives from the chain's genesis seed)
//! and builds signed payments against the ledger of the node that will receive them: one
//! input that node sees unspent, a payment output to the recipient and the change back to the
//! funded account. Inputs already used by the simulator's earlier payments are not reused
//! until those payments are known to have been refused, so concurrent payments never
//! conflict with each other.

use std::collections::BTreeSet;

use stegosim_node::chain::genesis::GenesisKeys;
use stegosim_node::chain::tx::{Output, PaymentPayload, Transaction};
use stegosim_node::config::ChainConfig;
use stegosim_node::crypto::{Hash, Keypair, PublicKey, sign};
use stegosim_node::node::Node;
use stegosim_node::rng::Stream;

/// Largest number of inputs the wallet keeps reserved (one per payment in flight).
pub const RESERVED_INPUTS_MAX: usize = 1_000_000;

/// Why a payment could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayError {
    /// No unspent, unreserved output of the funded account covers amount plus fee on that
    /// node: every one is in flight (wait for change) or too small.
    #[error("no unspent output of the funded account covers {needed} µSTG on this node")]
    NoFunds {
        /// Amount plus fee, in µSTG.
        needed: i64,
    },
    /// The amount is not positive.
    #[error("amount must be positive, not {0}")]
    BadAmount(i64),
    /// Too many payments in flight.
    #[error("too many payments in flight (at most {RESERVED_INPUTS_MAX})")]
    TooMany,
}

/// The key a recipient name stands for (the same name gives the same key in every run).
pub fn named_key(name: &str) -> Keypair {
    let mut h = blake3::Hasher::new_derive_key("stegosim sim named key v1");
    h.update(name.as_bytes());
    Keypair::from_seed(*h.finalize().as_bytes())
}

/// The genesis-funded account and the inputs its payments in flight use.
#[derive(Debug)]
pub struct Wallet {
    /// The funded account's key.
    funded: Keypair,
    /// Fee per payment (one minimum fee per output).
    fee: i64,
    /// Inputs spent by payments the simulator submitted and has not seen refused.
    reserved: BTreeSet<Hash>,
    /// Randomness for r-values.
    rng: Stream,
}

impl Wallet {
    /// The funded account of `chain`, drawing r-values from `rng`.
    pub fn new(chain: &ChainConfig, rng: Stream) -> Wallet {
        Wallet {
            funded: GenesisKeys::derive(chain).funded_account,
            fee: 2 * chain.payment_fee_min,
            reserved: BTreeSet::new(),
            rng,
        }
    }

    /// A signed payment of `amount` to `to`, spending an output `node` sees unspent. The
    /// input is reserved until [`Wallet::release`].
    pub fn payment(
        &mut self,
        node: &Node,
        to: &PublicKey,
        amount: i64,
        comment: &str,
    ) -> Result<Transaction, PayError> {
        if amount <= 0 {
            return Err(PayError::BadAmount(amount));
        }
        if self.reserved.len() >= RESERVED_INPUTS_MAX {
            return Err(PayError::TooMany);
        }
        let needed = amount.saturating_add(self.fee);
        let claimed = node.mempool().claimed();
        let (input, available) = node
            .chain()
            .ledger
            .iter()
            .find(|(h, u)| {
                u.output.owner() == self.funded.public()
                    && matches!(u.output, Output::Payment(_))
                    && u.output.locked_until_ns().is_none()
                    && u.output.amount() >= needed
                    && !self.reserved.contains(h)
                    && !claimed.contains_key(h)
            })
            .map(|(h, u)| (*h, u.output.amount()))
            .ok_or(PayError::NoFunds { needed })?;
        let pay = PaymentPayload {
            amount,
            comment: comment.to_string(),
            spender: None,
            rvalue_hint: false,
        }
        .into_output(to, None, self.rng.bytes32());
        let mut outputs = vec![pay];
        let change = available - needed;
        if change > 0 {
            outputs.push(
                PaymentPayload {
                    amount: change,
                    comment: "change".into(),
                    spender: None,
                    rvalue_hint: false,
                }
                .into_output(self.funded.public(), None, self.rng.bytes32()),
            );
        }
        // The fee covers one minimum per output; without change it is one output short of
        // what we reserved, which the ledger accepts as a larger fee.
        let fee = available - outputs.iter().map(Output::amount).sum::<i64>();
        let body = Transaction::body_hash(&[input], &outputs, fee);
        self.reserved.insert(input);
        Ok(Transaction::new(
            vec![input],
            outputs,
            fee,
            sign(self.funded.secret(), body.as_bytes()),
        ))
    }

    /// Makes the inputs of a refused payment usable again.
    pub fn release(&mut self, tx: &Transaction) {
        for i in &tx.inputs {
            self.reserved.remove(i);
        }
    }
}
