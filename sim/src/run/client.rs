//! The scenario's client: the payments it submits (from the genesis-funded wallet), what it
//! has heard of each, resubmission of stalled ones, the background workloads' draws, and the
//! API requests it has sent.

use std::collections::BTreeMap;

use stegosim_node::chain::tx::Transaction;
use stegosim_node::crypto::{Hash, PublicKey};
use stegosim_node::node::{NodeId, TxStatus};
use stegosim_node::rng::Stream;

use super::{PAYMENTS_MAX, RESUBMIT_AFTER_NS, RESUBMITS_MAX};
use crate::backend::Backend;
use crate::outcome::TxCounts;
use crate::scenario::{Draw, StatusName};
use crate::time::SECOND_NS;
use crate::wallet::Wallet;

/// What the client knows of a payment: the latest status any node reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TxState {
    /// Handed to a node; nothing heard yet.
    Submitted,
    /// In a mempool.
    Accepted,
    /// Refused at submission.
    Rejected,
    /// In a micro block.
    Prepared,
    /// Its micro block was reverted.
    Rollback,
    /// In a final macro block.
    Committed,
    /// Dropped for a conflicting spend.
    Conflicted,
}

impl TxState {
    /// The state a node's status report puts a payment in.
    pub fn of(status: &TxStatus) -> TxState {
        match status {
            TxStatus::Accepted => TxState::Accepted,
            TxStatus::Rejected { .. } => TxState::Rejected,
            TxStatus::Prepared { .. } => TxState::Prepared,
            TxStatus::Rollback { .. } => TxState::Rollback,
            TxStatus::Committed { .. } => TxState::Committed,
            TxStatus::Conflicted { .. } => TxState::Conflicted,
        }
    }

    /// The state a `tx_status` expectation waits for.
    pub fn expected(status: StatusName) -> TxState {
        match status {
            StatusName::Accepted => TxState::Accepted,
            StatusName::Prepared => TxState::Prepared,
            StatusName::Committed => TxState::Committed,
            StatusName::Rejected => TxState::Rejected,
            StatusName::Conflicted => TxState::Conflicted,
            StatusName::Rollback => TxState::Rollback,
        }
    }

    /// The name in traces and messages.
    pub fn name(self) -> &'static str {
        match self {
            TxState::Submitted => "submitted",
            TxState::Accepted => "accepted",
            TxState::Rejected => "rejected",
            TxState::Prepared => "prepared",
            TxState::Rollback => "rollback",
            TxState::Committed => "committed",
            TxState::Conflicted => "conflicted",
        }
    }

    /// Whether no later status can change the payment's fate.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TxState::Committed | TxState::Rejected | TxState::Conflicted
        )
    }
}

/// A payment the client follows.
#[derive(Debug, Clone)]
pub(crate) struct TxRecord {
    /// Name from the `pay` (or `api`) step.
    pub name: Option<String>,
    /// The transaction, for resubmission.
    tx: Transaction,
    /// Last time (since the start) it was submitted or changed status.
    progress_ns: u64,
    /// Times it was resubmitted.
    resubmits: u32,
    /// Latest status reported by any node (committed wins over everything).
    pub state: TxState,
}

/// Outcome of a `pay` step, by payment name.
#[derive(Debug, Clone)]
pub(crate) enum Named {
    /// Submitted at `at_ns` (since the start).
    Submitted { hash: Hash, at_ns: u64 },
    /// Not submitted, and why.
    NotSubmitted { why: String },
}

/// An API request waiting for its response.
#[derive(Debug, Clone)]
pub(crate) struct PendingApi {
    /// Line of the `api` step.
    pub line: usize,
    /// The response type it must answer with, if the step says.
    pub expect: Option<String>,
    /// The name of the transaction it creates, if the step gives one.
    pub name: Option<String>,
}

/// A background workload: its own random stream and its next payment's time.
#[derive(Debug)]
pub(crate) struct WorkloadState {
    /// Draws of this workload only (node, amount, recipient, intervals).
    pub rng: Stream,
    /// The rate drawn from the seed.
    pub rate_per_s: f64,
    /// Time (since the start) of its next payment.
    pub next_ns: u64,
}

impl WorkloadState {
    /// The gap to the next payment of a Poisson process at the workload's rate (at least
    /// 1 ns).
    pub fn interval(&mut self) -> u64 {
        let u = self.rng.unit_f64();
        let secs = -(1.0 - u).ln() / self.rate_per_s;
        ((secs * SECOND_NS as f64) as u64).max(1)
    }
}

/// Draws from a `Draw` range: uniform.
pub(crate) fn draw(rng: &mut Stream, d: &Draw) -> f64 {
    if d.max <= d.min {
        d.min
    } else {
        d.min + rng.unit_f64() * (d.max - d.min)
    }
}

/// The scenario's client.
#[derive(Debug)]
pub(crate) struct Client {
    /// The genesis-funded account payments are built from.
    wallet: Wallet,
    /// Every payment followed, by hash.
    txs: BTreeMap<Hash, TxRecord>,
    /// Named payments.
    named: BTreeMap<String, Named>,
    /// First time (since the start) each payment reached each state.
    reached: BTreeMap<(Hash, TxState), u64>,
    /// Payments built (all workloads and steps; at most [`PAYMENTS_MAX`]).
    pub payments: u64,
    /// Payments handed to a node, and ones not built for lack of free funds.
    submitted: u64,
    skipped_no_funds: u64,
    /// True while a payment is resubmitted: its node's answer says nothing new.
    pub resubmitting: bool,
    /// Id of the last API request sent.
    api_id: u64,
    /// API requests waiting for their response, by id.
    api_pending: BTreeMap<u64, PendingApi>,
}

impl Client {
    /// A client paying from `wallet`.
    pub fn new(wallet: Wallet) -> Client {
        Client {
            wallet,
            txs: BTreeMap::new(),
            named: BTreeMap::new(),
            reached: BTreeMap::new(),
            payments: 0,
            submitted: 0,
            skipped_no_funds: 0,
            resubmitting: false,
            api_id: 0,
            api_pending: BTreeMap::new(),
        }
    }

    /// Builds a payment through node `id` at `t_ns` and starts following it (named `name`).
    /// The caller submits it.
    pub fn payment<B: Backend>(
        &mut self,
        b: &B,
        t_ns: u64,
        id: NodeId,
        to: &PublicKey,
        amount: i64,
        name: Option<String>,
    ) -> Result<Transaction, String> {
        if self.payments >= PAYMENTS_MAX {
            return Err(format!("more than {PAYMENTS_MAX} payments in one run"));
        }
        let Some(node) = b.node(id) else {
            return Err("the node is down".into());
        };
        let comment = name.clone().unwrap_or_else(|| "load".into());
        let tx = self
            .wallet
            .payment(node, to, amount, &comment)
            .map_err(|e| {
                self.skipped_no_funds += 1;
                e.to_string()
            })?;
        self.payments += 1;
        self.follow(tx.clone(), name, t_ns);
        Ok(tx)
    }

    /// Starts following `tx` (submitted at `t_ns`), by `name` too when it has one.
    fn follow(&mut self, tx: Transaction, name: Option<String>, t_ns: u64) {
        let hash = tx.hash();
        self.submitted += 1;
        if let Some(n) = &name {
            self.named
                .insert(n.clone(), Named::Submitted { hash, at_ns: t_ns });
        }
        self.txs.insert(
            hash,
            TxRecord {
                name,
                tx,
                progress_ns: t_ns,
                resubmits: 0,
                state: TxState::Submitted,
            },
        );
    }

    /// The node refused `tx` at submission: its inputs are free again.
    pub fn release(&mut self, tx: &Transaction) {
        self.wallet.release(tx);
    }

    /// Follows a transaction an `api` step created under `name`, as a `pay` step's payment
    /// (`tx` is `None` when its node no longer holds it: then only the name is bound).
    pub fn follow_api(&mut self, name: &str, hash: Hash, tx: Option<Transaction>, t_ns: u64) {
        match tx {
            Some(tx) => self.follow(tx, Some(name.to_string()), t_ns),
            None => {
                self.named
                    .insert(name.to_string(), Named::Submitted { hash, at_ns: t_ns });
            }
        }
    }

    /// A named payment was not submitted.
    pub fn not_submitted(&mut self, name: &str, why: String) {
        self.named
            .insert(name.to_string(), Named::NotSubmitted { why });
    }

    /// A node reported `status` for `hash` at `t_ns`.
    pub fn tx_status(&mut self, t_ns: u64, hash: Hash, status: &TxStatus) {
        let Some(rec) = self.txs.get_mut(&hash) else {
            return;
        };
        let state = TxState::of(status);
        self.reached.entry((hash, state)).or_insert(t_ns);
        if self.resubmitting && state != TxState::Accepted {
            // A resubmission refused as already known (or already spent) says nothing new.
            return;
        }
        rec.progress_ns = t_ns;
        if rec.state == TxState::Committed {
            return;
        }
        rec.state = state;
    }

    /// Payments that made no progress for [`RESUBMIT_AFTER_NS`] at `t_ns`.
    pub fn stalled(&self, t_ns: u64) -> Vec<Hash> {
        self.txs
            .iter()
            .filter(|(_, r)| {
                !r.state.is_terminal()
                    && r.resubmits < RESUBMITS_MAX
                    && t_ns.saturating_sub(r.progress_ns) >= RESUBMIT_AFTER_NS
            })
            .map(|(h, _)| *h)
            .collect()
    }

    /// Counts a resubmission of `hash` at `t_ns`: the transaction and the attempt's number.
    pub fn resubmit(&mut self, hash: &Hash, t_ns: u64) -> (Transaction, u32) {
        let rec = self
            .txs
            .get_mut(hash)
            .expect("only followed payments are resubmitted");
        rec.resubmits += 1;
        rec.progress_ns = t_ns;
        (rec.tx.clone(), rec.resubmits)
    }

    /// The name of payment `hash`, if it has one.
    pub fn name_of(&self, hash: &Hash) -> Option<&str> {
        self.txs.get(hash).and_then(|r| r.name.as_deref())
    }

    /// A named payment's submission.
    pub fn named(&self, name: &str) -> Option<&Named> {
        self.named.get(name)
    }

    /// When payment `hash` first reached `state`.
    pub fn reached(&self, hash: &Hash, state: TxState) -> Option<u64> {
        self.reached.get(&(*hash, state)).copied()
    }

    /// The state of payment `hash`, if followed.
    pub fn state(&self, hash: &Hash) -> Option<TxState> {
        self.txs.get(hash).map(|r| r.state)
    }

    /// Payments committed so far.
    pub fn committed(&self) -> u64 {
        self.txs
            .values()
            .filter(|r| r.state == TxState::Committed)
            .count() as u64
    }

    /// Every payment followed, by hash.
    pub fn records(&self) -> impl Iterator<Item = (&Hash, &TxRecord)> {
        self.txs.iter()
    }

    /// The payments by final state.
    pub fn counts(&self) -> TxCounts {
        let mut c = TxCounts {
            submitted: self.submitted,
            skipped_no_funds: self.skipped_no_funds,
            ..TxCounts::default()
        };
        for r in self.txs.values() {
            match r.state {
                TxState::Committed => c.committed += 1,
                TxState::Rejected => c.rejected += 1,
                TxState::Conflicted => c.conflicted += 1,
                _ => c.pending += 1,
            }
        }
        c
    }

    /// Registers an API request of the `api` step at `line`; returns its id.
    pub fn api_request(&mut self, pending: PendingApi) -> u64 {
        self.api_id += 1;
        self.api_pending.insert(self.api_id, pending);
        self.api_id
    }

    /// The request a response with `id` answers, if it is still waiting.
    pub fn api_answered(&mut self, id: u64) -> Option<PendingApi> {
        self.api_pending.remove(&id)
    }

    /// The requests never answered, by id.
    pub fn api_unanswered(&mut self) -> BTreeMap<u64, PendingApi> {
        std::mem::take(&mut self.api_pending)
    }
}
