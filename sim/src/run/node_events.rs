//! The trace lines of what nodes report (`micro_block_prepared`, `transaction_status`, ...),
//! in the field order `sim/README.md` documents.

use stegosim_formats::trace as ft;
use stegosim_node::chain::tx::{Output as TxOutput, Transaction};
use stegosim_node::crypto::Hash;
use stegosim_node::node::{Event, NodeId, TxStatus};

use super::Runner;
use crate::backend::Backend;
use crate::trace::{Trace, hex, hex_of};

/// What a node event's line needs besides the event.
pub(crate) struct Context<'e> {
    /// Virtual time since the start.
    pub t_ns: u64,
    /// The reporting node.
    pub node: NodeId,
    /// The block's leader (`MicroBlockPrepared`), else unused.
    pub leader: Option<ft::Leader>,
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
            Event::MicroBlockPrepared { leader, .. } => Some(match self.b.node_of_key(leader) {
                Some(n) => ft::Leader::Node(n),
                None => ft::Leader::Key(hex_of(leader.as_bytes())),
            }),
            _ => None,
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
    let line = match event {
        Event::MicroBlockPrepared {
            epoch,
            offset,
            view_change,
            hash,
            transactions,
            ..
        } => ft::Event::MicroBlockPrepared(ft::MicroBlockPrepared {
            epoch: *epoch,
            offset: *offset as u64,
            view_change: *view_change as u64,
            hash: hex(hash),
            leader: cx
                .leader
                .clone()
                .expect("a micro block's context names its leader"),
            transactions: *transactions as u64,
        }),
        Event::MicroBlockReverted {
            epoch,
            offset,
            view_change,
            hash,
        } => ft::Event::MicroBlockReverted(ft::MicroBlockReverted {
            epoch: *epoch,
            offset: *offset as u64,
            view_change: *view_change as u64,
            hash: hex(hash),
        }),
        Event::MacroBlockCommitted {
            epoch,
            round,
            hash,
            transactions,
        } => ft::Event::MacroBlockCommitted(ft::MacroBlockCommitted {
            epoch: *epoch,
            round: *round as u64,
            hash: hex(hash),
            transactions: *transactions as u64,
        }),
        Event::ViewChange {
            epoch,
            offset,
            view_change,
        } => ft::Event::ViewChange(ft::ViewChange {
            epoch: *epoch,
            offset: *offset as u64,
            view_change: *view_change as u64,
        }),
        Event::TransactionStatus { tx_hash, status } => {
            ft::Event::TransactionStatus(tx_status(tx_hash, cx.tx_name, status))
        }
        Event::Restake {
            tx_hash,
            stakes,
            amount,
        } => ft::Event::Restake(restake(cx, tx_hash, stakes, *amount)),
        Event::Refused { what, error } => ft::Event::Refused(ft::Refused {
            what: what.clone(),
            error: error.clone(),
        }),
        Event::Synchronized(s) => ft::Event::Synchronized(ft::Synchronized { synchronized: *s }),
    };
    trace.write(cx.t_ns, Some(cx.node), line);
}

/// A `transaction_status` line's event.
fn tx_status(tx_hash: &Hash, name: Option<&str>, status: &TxStatus) -> ft::TransactionStatus {
    let mut line = ft::TransactionStatus {
        tx: hex(tx_hash),
        name: name.map(str::to_string),
        status: status_name(status).to_string(),
        epoch: None,
        offset: None,
        code: None,
        error: None,
    };
    match status {
        TxStatus::Prepared { epoch, offset } | TxStatus::Rollback { epoch, offset } => {
            line.epoch = Some(*epoch);
            line.offset = Some(Some(*offset as u64));
        }
        TxStatus::Committed { epoch } => line.epoch = Some(*epoch),
        TxStatus::Conflicted { epoch, offset } => {
            line.epoch = Some(*epoch);
            line.offset = Some(offset.map(u64::from));
        }
        TxStatus::Rejected { error, code } => {
            line.code = Some(code.clone());
            line.error = Some(error.clone());
        }
        TxStatus::Accepted => {}
    }
    line
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

/// A `restake` line's event: the stakes spent and the outputs of the relayed restake
/// transaction.
fn restake(cx: &Context<'_>, tx_hash: &Hash, stakes: &[Hash], amount: i64) -> ft::Restake {
    let outputs = cx
        .relayed
        .iter()
        .flat_map(|tx| tx.outputs.iter())
        .map(|o| match o {
            TxOutput::Stake(s) => ft::RestakeOutput {
                active_until_epoch: Some(s.active_until_epoch),
                amount: s.amount,
                hash: hex(&o.hash()),
            },
            other => ft::RestakeOutput {
                active_until_epoch: None,
                amount: other.amount(),
                hash: hex(&other.hash()),
            },
        })
        .collect();
    ft::Restake {
        tx: hex(tx_hash),
        stakes: stakes.iter().map(hex).collect(),
        amount,
        outputs,
    }
}
