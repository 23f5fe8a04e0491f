//! Expectations: what each kind of `[[expect]]` means, in words ([`describe`]) and as a
//! verdict on what the run has seen so far ([`verdict`]).

use std::collections::BTreeMap;

use stegosim_node::node::{Node, NodeId};

use super::client::{Client, Named, TxState};
use super::facts::Facts;
use crate::backend::Backend;
use crate::scenario::{Expect, NodeRef, StatusName};
use crate::time::format_ns;

/// What an expectation's verdict is now.
pub(crate) enum Verdict {
    /// It holds (at `at_ns`, when earlier than now).
    Holds { at_ns: Option<u64>, detail: String },
    /// It can no longer hold.
    Violated(String),
    /// Not yet: what is missing.
    Waiting(String),
}

impl Verdict {
    fn holds(detail: String) -> Verdict {
        Verdict::Holds {
            at_ns: None,
            detail,
        }
    }

    /// Holds when `ok`, else waits; the same detail either way.
    fn when(ok: bool, detail: String) -> Verdict {
        if ok {
            Verdict::holds(detail)
        } else {
            Verdict::Waiting(detail)
        }
    }
}

/// What an expectation reads: the nodes, the facts, the client, the picked names.
pub(crate) struct View<'v, B> {
    /// The engine, with the nodes.
    pub b: &'v B,
    /// What the nodes reported.
    pub facts: &'v Facts,
    /// The payments.
    pub client: &'v Client,
    /// Names bound by `pick` steps.
    pub aliases: &'v BTreeMap<String, NodeId>,
}

impl<B: Backend> View<'_, B> {
    /// A node named in an expectation: an index or a picked name.
    fn resolve(&self, r: &NodeRef) -> Result<NodeId, String> {
        match r {
            NodeRef::Index(i) => Ok(*i),
            NodeRef::Alias(a) => self
                .aliases
                .get(a)
                .copied()
                .ok_or_else(|| format!("{a:?} has not been picked yet")),
            other => Err(format!("{other} cannot be used in an expectation")),
        }
    }
}

/// Resolves `$r` in `$v`, or returns a waiting verdict naming why not.
macro_rules! node_or_wait {
    ($v:expr, $r:expr) => {
        match $v.resolve($r) {
            Ok(id) => id,
            Err(w) => return Verdict::Waiting(w),
        }
    };
}

/// The expectation in words (its `name` in the trace and the summary).
pub(crate) fn describe(e: &Expect) -> String {
    match e {
        Expect::TxStatus {
            tx, status, within, ..
        } => format!("payment {tx} is {} within {within}", status.name()),
        Expect::Epoch { at_least, by, node } => match node {
            Some(n) => format!("node {n} reaches epoch {at_least} by {by}"),
            None => format!("every running node reaches epoch {at_least} by {by}"),
        },
        Expect::ViewChange { by, at_least, node } => match node {
            Some(n) => format!("node {n} changes view at least {at_least} times by {by}"),
            None => format!("at least {at_least} view changes by {by}"),
        },
        Expect::Reverted { node, by, at_least } => {
            format!("node {node} reverts at least {at_least} micro blocks by {by}")
        }
        Expect::Restakes {
            node,
            by,
            at_least,
            at_most,
        } => {
            let mut s = format!("node {node} restakes");
            if let Some(l) = at_least {
                s.push_str(&format!(" at least {l} times"));
            }
            if let Some(m) = at_most {
                if at_least.is_some() {
                    s.push_str(" and");
                }
                s.push_str(&format!(" at most {m} times"));
            }
            s.push_str(&format!(" by {by}"));
            s
        }
        Expect::Validator { node, member, by } => {
            if *member {
                format!("node {node} is a validator by {by}")
            } else {
                format!("node {node} has left the validator set by {by}")
            }
        }
        Expect::CaughtUp { node, by } => format!("node {node} has caught up by {by}"),
        Expect::Committed { at_least, by } => {
            format!("at least {at_least} payments committed by {by}")
        }
        Expect::Snowball {
            node,
            account_id,
            states,
            by,
        } => format!(
            "account {account_id} of node {node} goes through Snowball states {} by {by}",
            states.join(", ")
        ),
    }
}

/// The deadline of an expectation (since the start); `None` for `tx_status`, whose deadline
/// starts at the payment's submission.
pub(crate) fn deadline(e: &Expect) -> Option<u64> {
    match e {
        Expect::TxStatus { .. } => None,
        Expect::Epoch { by, .. }
        | Expect::ViewChange { by, .. }
        | Expect::Reverted { by, .. }
        | Expect::Restakes { by, .. }
        | Expect::Validator { by, .. }
        | Expect::CaughtUp { by, .. }
        | Expect::Committed { by, .. }
        | Expect::Snowball { by, .. } => Some(by.ns),
    }
}

/// The verdict on `e` now; `at_deadline` when its deadline (or the run's end) is reached.
pub(crate) fn verdict<B: Backend>(v: &View<'_, B>, e: &Expect, at_deadline: bool) -> Verdict {
    match e {
        Expect::Snowball {
            node,
            account_id,
            states,
            ..
        } => snowball(v, node, account_id, states),
        Expect::TxStatus { tx, status, .. } => tx_status(v, tx, *status),
        Expect::Epoch { at_least, node, .. } => epoch(v, *at_least, node.as_ref()),
        Expect::ViewChange { at_least, node, .. } => {
            let count = match node {
                Some(r) => v.facts.view_changes(Some(node_or_wait!(v, r))),
                None => v.facts.view_changes(None),
            };
            Verdict::when(count >= *at_least, format!("{count} view changes"))
        }
        Expect::Reverted { node, at_least, .. } => {
            let id = node_or_wait!(v, node);
            let count = v.facts.reverted(id);
            Verdict::when(
                count >= *at_least,
                format!("node {id} reverted {count} micro blocks"),
            )
        }
        Expect::Restakes {
            node,
            at_least,
            at_most,
            ..
        } => restakes(v, node, *at_least, *at_most, at_deadline),
        Expect::Validator { node, member, .. } => validator(v, node, *member),
        Expect::CaughtUp { node, .. } => caught_up(v, node),
        Expect::Committed { at_least, .. } => {
            let c = v.client.committed();
            Verdict::when(c >= *at_least, format!("{c} payments committed"))
        }
    }
}

/// The client of `account_id` on `node` was told `states`, in order (others in between).
fn snowball<B: Backend>(
    v: &View<'_, B>,
    node: &NodeRef,
    account_id: &str,
    states: &[String],
) -> Verdict {
    let id = node_or_wait!(v, node);
    let seen = v.facts.snowball_states(id, account_id);
    let mut want = states.iter().peekable();
    for s in seen {
        if want.peek().is_some_and(|w| *w == s) {
            want.next();
        }
    }
    if want.peek().is_none() {
        Verdict::holds(format!("states seen: {}", seen.join(", ")))
    } else {
        Verdict::Waiting(format!("states seen so far: [{}]", seen.join(", ")))
    }
}

/// The payment named `tx` reached `status`.
fn tx_status<B: Backend>(v: &View<'_, B>, tx: &str, status: StatusName) -> Verdict {
    let (hash, at_ns) = match v.client.named(tx) {
        None => return Verdict::Waiting(format!("payment {tx} has not been submitted")),
        Some(Named::NotSubmitted { why }) => {
            return Verdict::Violated(format!("payment {tx} was not submitted: {why}"));
        }
        Some(Named::Submitted { hash, at_ns }) => (*hash, *at_ns),
    };
    if let Some(t) = v.client.reached(&hash, TxState::expected(status)) {
        return Verdict::Holds {
            at_ns: Some(t),
            detail: format!(
                "{} {} after submission",
                status.name(),
                format_ns(t - at_ns)
            ),
        };
    }
    let cur = v.client.state(&hash);
    let cur_name = cur.map_or("unknown", TxState::name);
    if status != StatusName::Committed
        && status != StatusName::Conflicted
        && cur == Some(TxState::Committed)
    {
        return Verdict::Violated(format!(
            "payment {tx} committed without being {}",
            status.name()
        ));
    }
    Verdict::Waiting(format!("payment {tx} is {cur_name}"))
}

/// Every running node (or `node`) reached epoch `at_least`.
fn epoch<B: Backend>(v: &View<'_, B>, at_least: u64, node: Option<&NodeRef>) -> Verdict {
    let nodes: Vec<(NodeId, u64)> = match node {
        Some(r) => {
            let id = node_or_wait!(v, r);
            match v.b.node(id) {
                Some(n) => vec![(id, n.chain().epoch())],
                None => return Verdict::Waiting(format!("node {id} is down")),
            }
        }
        None => v.b.running().map(|(i, n)| (i, n.chain().epoch())).collect(),
    };
    match nodes.iter().find(|(_, e)| *e < at_least) {
        Some((i, e)) => Verdict::Waiting(format!("node {i} is at epoch {e}")),
        None => Verdict::holds(format!("epoch >= {at_least} on {} nodes", nodes.len())),
    }
}

/// `node` restaked at least / at most so often (an upper bound holds only at the deadline).
fn restakes<B: Backend>(
    v: &View<'_, B>,
    node: &NodeRef,
    at_least: Option<u64>,
    at_most: Option<u64>,
    at_deadline: bool,
) -> Verdict {
    let id = node_or_wait!(v, node);
    let count = v.facts.restakes(id);
    if let Some(m) = at_most {
        if count > m {
            return Verdict::Violated(format!("node {id} restaked {count} times, more than {m}"));
        }
    }
    let enough = at_least.is_none_or(|l| count >= l);
    Verdict::when(
        enough && (at_most.is_none() || at_deadline),
        format!("node {id} restaked {count} times"),
    )
}

/// Every running node sees `node` in (or out of) the validator set.
fn validator<B: Backend>(v: &View<'_, B>, node: &NodeRef, member: bool) -> Verdict {
    let id = node_or_wait!(v, node);
    let Some(key) = v.b.node(id).and_then(Node::network_pkey).or_else(|| {
        // A crashed node's key is still known to the others.
        v.b.running()
            .flat_map(|(_, n)| n.chain().election.validators.iter())
            .map(|val| val.network_pkey)
            .find(|k| v.b.node_of_key(k) == Some(id))
    }) else {
        let detail = format!("node {id} has no validator key");
        return Verdict::when(!member, detail);
    };
    let disagree: Vec<NodeId> =
        v.b.running()
            .filter(|(_, n)| n.chain().election.is_validator(&key) != member)
            .map(|(i, _)| i)
            .collect();
    if disagree.is_empty() {
        Verdict::holds(format!(
            "every running node sees node {id} {} the validator set",
            if member { "in" } else { "out of" }
        ))
    } else {
        Verdict::Waiting(format!(
            "nodes {disagree:?} still see node {id} {} the validator set",
            if member { "out of" } else { "in" }
        ))
    }
}

/// `node` is at the highest epoch of any running node.
fn caught_up<B: Backend>(v: &View<'_, B>, node: &NodeRef) -> Verdict {
    let id = node_or_wait!(v, node);
    let Some(n) = v.b.node(id) else {
        return Verdict::Waiting(format!("node {id} is down"));
    };
    let best =
        v.b.running()
            .map(|(_, m)| m.chain().epoch())
            .max()
            .unwrap_or(0);
    let mine = n.chain().epoch();
    if mine >= best {
        Verdict::holds(format!("node {id} is at epoch {mine}, the highest"))
    } else {
        Verdict::Waiting(format!("node {id} is at epoch {mine}, others at {best}"))
    }
}
