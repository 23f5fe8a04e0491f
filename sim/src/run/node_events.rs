//! The trace lines of what nodes report (`micro_block_prepared`, `transaction_status`, ...),
//! in the field order `sim/README.md` documents.

use stegosim_node::chain::tx::{Output as TxOutput, Transaction};
use stegosim_node::crypto::Hash;
use stegosim_node::node::{Event, NodeId, TxStatus};

use super::Runner;
use crate::backend::Backend;
use crate::trace::{Line, Trace};

/// What a node event's line needs besides the event.
pub(crate) struct Context<'e> {
    /// Virtual time since the start.
    pub t_ns: u64,
    /// The reporting node.
    pub node: NodeId,
    /// The block leader's index as JSON (`MicroBlockPrepared`), else unused.
    pub leader: String,
    /// The payment's name (`TransactionStatus` of a named payment).
    pub tx_name: Option<&'e str>,
    /// The restake transaction the node relayed (`Restake`).
    pub relayed: Option<&'e Transaction>,
}

impl<B: Backend> Runner<'_, B> {
    /// The trace line of `event`.
    pub(super) fn trace_event(
        &mut self,
        t: u64,
        node: NodeId,
        event: &Event,
        relayed: Option<&Transaction>,
    ) {
        let leader = match event {
            Event::MicroBlockPrepared { leader, .. } => match self.b.node_of_key(leader) {
                Some(n) => n.to_string(),
                None => {
                    let hex: String = leader
                        .as_bytes()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    format!("\"{hex}\"")
                }
            },
            _ => String::new(),
        };
        let tx_name = match event {
            Event::TransactionStatus { tx_hash, .. } => self.client.name_of(tx_hash),
            _ => None,
        };
        let cx = Context {
            t_ns: t,
            node,
            leader,
            tx_name,
            relayed,
        };
        trace(&mut self.trace, &cx, event);
    }
}

/// Writes the trace line of `event`.
pub(crate) fn trace(trace: &mut Trace, cx: &Context<'_>, event: &Event) {
    let (t, node) = (cx.t_ns, Some(cx.node));
    match event {
        Event::MicroBlockPrepared {
            epoch,
            offset,
            view_change,
            hash,
            transactions,
            ..
        } => trace.emit(t, node, "micro_block_prepared", |l| {
            l.u64("epoch", *epoch)
                .u64("offset", *offset as u64)
                .u64("view_change", *view_change as u64)
                .str("hash", &hash.to_string())
                .raw("leader", &cx.leader)
                .u64("transactions", *transactions as u64)
        }),
        Event::MicroBlockReverted {
            epoch,
            offset,
            view_change,
            hash,
        } => trace.emit(t, node, "micro_block_reverted", |l| {
            l.u64("epoch", *epoch)
                .u64("offset", *offset as u64)
                .u64("view_change", *view_change as u64)
                .str("hash", &hash.to_string())
        }),
        Event::MacroBlockCommitted {
            epoch,
            round,
            hash,
            transactions,
        } => trace.emit(t, node, "macro_block_committed", |l| {
            l.u64("epoch", *epoch)
                .u64("round", *round as u64)
                .str("hash", &hash.to_string())
                .u64("transactions", *transactions as u64)
        }),
        Event::ViewChange {
            epoch,
            offset,
            view_change,
        } => trace.emit(t, node, "view_change", |l| {
            l.u64("epoch", *epoch)
                .u64("offset", *offset as u64)
                .u64("view_change", *view_change as u64)
        }),
        Event::TransactionStatus { tx_hash, status } => {
            trace.emit(t, node, "transaction_status", |l| {
                tx_status(l, tx_hash, cx.tx_name, status)
            })
        }
        Event::Restake {
            tx_hash,
            stakes,
            amount,
        } => restake(trace, cx, tx_hash, stakes, *amount),
        Event::Refused { what, error } => trace.emit(t, node, "refused", |l| {
            l.str("what", what).str("error", error)
        }),
        Event::Synchronized(s) => {
            trace.emit(t, node, "synchronized", |l| l.bool("synchronized", *s))
        }
    }
}

/// The fields of a `transaction_status` line.
fn tx_status<'l>(
    mut l: Line<'l>,
    tx_hash: &Hash,
    name: Option<&str>,
    status: &TxStatus,
) -> Line<'l> {
    l = l.str("tx", &tx_hash.to_string());
    if let Some(n) = name {
        l = l.str("name", n);
    }
    l = l.str("status", status_name(status));
    match status {
        TxStatus::Prepared { epoch, offset } | TxStatus::Rollback { epoch, offset } => {
            l.u64("epoch", *epoch).u64("offset", *offset as u64)
        }
        TxStatus::Committed { epoch } => l.u64("epoch", *epoch),
        TxStatus::Conflicted { epoch, offset } => l
            .u64("epoch", *epoch)
            .opt_u64("offset", offset.map(u64::from)),
        TxStatus::Rejected { error, code } => l.str("code", code).str("error", error),
        TxStatus::Accepted => l,
    }
}

/// The name of a status, as the trace and the API write it.
pub(crate) fn status_name(s: &TxStatus) -> &'static str {
    match s {
        TxStatus::Accepted => "accepted",
        TxStatus::Rejected { .. } => "rejected",
        TxStatus::Prepared { .. } => "prepared",
        TxStatus::Rollback { .. } => "rollback",
        TxStatus::Committed { .. } => "committed",
        TxStatus::Conflicted { .. } => "conflicted",
    }
}

/// A `restake` line: the stakes spent and the outputs of the relayed restake transaction.
fn restake(trace: &mut Trace, cx: &Context<'_>, tx_hash: &Hash, stakes: &[Hash], amount: i64) {
    let outputs: Vec<serde_json::Value> = cx
        .relayed
        .iter()
        .flat_map(|tx| tx.outputs.iter())
        .map(|o| match o {
            TxOutput::Stake(s) => serde_json::json!({
                "hash": o.hash().to_string(),
                "amount": s.amount,
                "active_until_epoch": s.active_until_epoch,
            }),
            other => serde_json::json!({
                "hash": other.hash().to_string(),
                "amount": other.amount(),
            }),
        })
        .collect();
    let stakes: Vec<String> = stakes.iter().map(Hash::to_string).collect();
    trace.emit(cx.t_ns, Some(cx.node), "restake", |l| {
        l.str("tx", &tx_hash.to_string())
            .json("stakes", &stakes)
            .i64("amount", amount)
            .json("outputs", &outputs)
    });
}
