//! The checks of a run: the scenario's expectations (decided once each, at a periodic check,
//! at their deadline or at the end) and the invariants; every result is traced, and the first
//! failure is kept.

use std::collections::BTreeMap;

use stegosim_node::crypto::Hash;
use stegosim_node::node::{Node, NodeId};

use super::client::Client;
use super::expect::{self, Verdict, View};
use crate::backend::Backend;
use crate::outcome::{CheckResult, Failure, FailureKind};
use crate::scenario::{Expect, InvariantsSpec, Located};
use crate::trace::Trace;

/// Where one expectation stands.
#[derive(Debug, Clone)]
enum ExpState {
    /// Not decided yet.
    Pending,
    /// Decided: the result.
    Decided(CheckResult),
}

/// What the checks produced, for the outcome.
#[derive(Debug)]
pub(crate) struct CheckResults {
    /// Every expectation's result: the file's in file order, then the `api` steps'.
    pub expectations: Vec<CheckResult>,
    /// Every invariant's result, in the order decided.
    pub invariants: Vec<CheckResult>,
    /// The first failure, if any.
    pub first_failure: Option<Failure>,
}

/// The expectations and invariants of a run.
#[derive(Debug)]
pub(crate) struct Checks {
    /// The scenario's expectations.
    expects: Vec<Located<Expect>>,
    /// Where each stands.
    states: Vec<ExpState>,
    /// Deadline (since the start) of each, once known (a `tx_status` gets its own at the
    /// payment's submission).
    pub deadlines: Vec<Option<u64>>,
    /// Results of `api` steps with `expect`, in the order decided.
    api_results: Vec<CheckResult>,
    /// Which invariants the scenario checks.
    pub spec: InvariantsSpec,
    /// Invariant results so far.
    invariants: Vec<CheckResult>,
    /// The first failure.
    first_failure: Option<Failure>,
    /// Failures so far.
    pub failures: u64,
    /// Canonical macro block hash of each committed epoch (macro agreement).
    macros: BTreeMap<u64, Hash>,
    /// Macro blocks compared.
    macro_checks: u64,
    /// The first disagreement.
    macro_violation: Option<CheckResult>,
}

impl Checks {
    /// The checks of a scenario with these expectations and invariants.
    pub fn new(expects: Vec<Located<Expect>>, spec: InvariantsSpec) -> Checks {
        let deadlines = expects.iter().map(|e| expect::deadline(&e.value)).collect();
        Checks {
            states: vec![ExpState::Pending; expects.len()],
            expects,
            deadlines,
            api_results: Vec::new(),
            spec,
            invariants: Vec::new(),
            first_failure: None,
            failures: 0,
            macros: BTreeMap::new(),
            macro_checks: 0,
            macro_violation: None,
        }
    }

    /// Counts a failure; the first is kept.
    pub fn fail(&mut self, kind: FailureKind, result: &CheckResult) {
        self.failures += 1;
        if self.first_failure.is_none() {
            self.first_failure = Some(Failure {
                t_ns: result.t_ns,
                kind,
                name: result.name.clone(),
                detail: result.detail.clone(),
                line: result.line,
            });
        }
    }

    /// The number of expectations of the scenario.
    pub fn expectation_count(&self) -> usize {
        self.expects.len()
    }

    /// Evaluates expectation `i` at `t_ns`; `deadline` is true at its deadline (or the run's
    /// end). A decided expectation is traced and not evaluated again.
    pub fn evaluate<B: Backend>(
        &mut self,
        trace: &mut Trace,
        view: &View<'_, B>,
        t_ns: u64,
        i: usize,
        deadline: bool,
    ) {
        if matches!(self.states[i], ExpState::Decided(_)) {
            return;
        }
        let e = &self.expects[i];
        let reached_deadline = deadline || self.deadlines[i].is_some_and(|d| t_ns >= d);
        let (held, at, detail) = match expect::verdict(view, &e.value, reached_deadline) {
            Verdict::Holds { at_ns, detail } => (true, at_ns.unwrap_or(t_ns), detail),
            Verdict::Violated(detail) => (false, t_ns, detail),
            Verdict::Waiting(detail) if reached_deadline => {
                (false, t_ns, format!("deadline passed: {detail}"))
            }
            Verdict::Waiting(_) => return,
        };
        let result = CheckResult {
            name: expect::describe(&e.value),
            line: Some(e.line),
            held,
            t_ns: at,
            detail,
        };
        self.trace_expectation(trace, t_ns, &result);
        self.states[i] = ExpState::Decided(result);
    }

    /// The result of an `api` step's `expect`, decided at `t_ns`.
    pub fn api_expectation(&mut self, trace: &mut Trace, t_ns: u64, result: CheckResult) {
        self.trace_expectation(trace, t_ns, &result);
        self.api_results.push(result);
    }

    /// The `expectation` line of a decided expectation; a failure when it did not hold.
    fn trace_expectation(&mut self, trace: &mut Trace, t_ns: u64, result: &CheckResult) {
        trace.emit(t_ns, None, "expectation", |l| {
            l.str("name", &result.name)
                .u64("line", result.line.unwrap_or(0) as u64)
                .bool("held", result.held)
                .u64("decided_t_ns", result.t_ns)
                .str("detail", &result.detail)
        });
        if !result.held {
            self.fail(FailureKind::Expectation, result);
        }
    }

    /// Records an invariant's result: traced, and a failure when it did not hold.
    pub fn record_invariant(&mut self, trace: &mut Trace, t_ns: u64, result: CheckResult) {
        trace.emit(t_ns, None, "invariant", |l| {
            l.str("name", &result.name)
                .bool("held", result.held)
                .str("detail", &result.detail)
        });
        if !result.held {
            self.fail(FailureKind::Invariant, &result);
        }
        self.invariants.push(result);
    }

    /// Macro agreement: `node` committed `hash` for `epoch`; the first block committed for an
    /// epoch is canonical. A disagreement is traced (and fails) at once, the first only.
    pub fn macro_committed(
        &mut self,
        trace: &mut Trace,
        t_ns: u64,
        node: NodeId,
        epoch: u64,
        hash: Hash,
    ) {
        if !self.spec.macro_agreement {
            return;
        }
        self.macro_checks += 1;
        let canonical = *self.macros.entry(epoch).or_insert(hash);
        if canonical == hash || self.macro_violation.is_some() {
            return;
        }
        let result = CheckResult {
            name: "macro_agreement".into(),
            line: None,
            held: false,
            t_ns,
            detail: format!(
                "node {node} committed {hash} for epoch {epoch}, another node committed {canonical}"
            ),
        };
        trace.emit(t_ns, Some(node), "invariant", |l| {
            l.str("name", "macro_agreement")
                .bool("held", false)
                .str("detail", &result.detail)
        });
        self.fail(FailureKind::Invariant, &result);
        self.macro_violation = Some(result);
    }

    /// The invariants checked after the last fault: convergence, then progress (a higher
    /// epoch than at the last fault).
    pub fn after_last_fault<B: Backend>(
        &mut self,
        trace: &mut Trace,
        b: &B,
        epoch_at_last_fault: u64,
        epoch: u64,
    ) {
        let t_ns = b.elapsed_ns();
        let result = convergence(b, "after the last fault");
        self.record_invariant(trace, t_ns, result);
        let result = CheckResult {
            name: "progress (after the last fault)".into(),
            line: None,
            held: epoch > epoch_at_last_fault,
            t_ns,
            detail: format!(
                "highest committed epoch {epoch_at_last_fault} at the last fault, {epoch} now"
            ),
        };
        self.record_invariant(trace, t_ns, result);
    }

    /// The end of the run: every invariant the scenario asks for, then the results.
    pub fn finish<B: Backend>(
        mut self,
        trace: &mut Trace,
        b: &B,
        client: &Client,
        unanswered: Vec<CheckResult>,
    ) -> CheckResults {
        let t_ns = b.elapsed_ns();
        if self.spec.macro_agreement {
            let result = self.macro_violation.clone().unwrap_or(CheckResult {
                name: "macro_agreement".into(),
                line: None,
                held: true,
                t_ns,
                detail: format!(
                    "{} commits of {} epochs agreed",
                    self.macro_checks,
                    self.macros.len()
                ),
            });
            trace.emit(t_ns, None, "invariant", |l| {
                l.str("name", "macro_agreement")
                    .bool("held", result.held)
                    .str("detail", &result.detail)
            });
            self.invariants.push(result);
        }
        if self.spec.convergence {
            let result = convergence(b, "at the end");
            self.record_invariant(trace, t_ns, result);
        }
        if self.spec.transactions_terminal {
            let result = transactions_terminal(client, t_ns);
            self.record_invariant(trace, t_ns, result);
        }
        if self.spec.supply {
            let result = supply(b, t_ns);
            self.record_invariant(trace, t_ns, result);
        }
        self.results(unanswered)
    }

    /// The results, with the `api` steps whose response never came (already failed).
    fn results(mut self, unanswered: Vec<CheckResult>) -> CheckResults {
        let mut expectations: Vec<CheckResult> = self
            .states
            .into_iter()
            .map(|s| match s {
                ExpState::Decided(r) => r,
                ExpState::Pending => unreachable!("every expectation is decided at the end"),
            })
            .collect();
        expectations.append(&mut self.api_results);
        for result in unanswered {
            if self.first_failure.is_none() {
                self.first_failure = Some(Failure {
                    t_ns: result.t_ns,
                    kind: FailureKind::Expectation,
                    name: result.name.clone(),
                    detail: result.detail.clone(),
                    line: result.line,
                });
            }
            expectations.push(result);
        }
        CheckResults {
            expectations,
            invariants: self.invariants,
            first_failure: self.first_failure,
        }
    }
}

/// Running nodes agree on their macro blocks and are at most one epoch apart.
fn convergence<B: Backend>(b: &B, when: &str) -> CheckResult {
    let t_ns = b.elapsed_ns();
    let running: Vec<(NodeId, &Node)> = b.running().collect();
    let name = format!("convergence ({when})");
    let result = |held, detail| CheckResult {
        name: name.clone(),
        line: None,
        held,
        t_ns,
        detail,
    };
    let Some(min) = running.iter().map(|(_, n)| n.chain().epoch()).min() else {
        return result(true, "no node is running".into());
    };
    let max = running
        .iter()
        .map(|(_, n)| n.chain().epoch())
        .max()
        .unwrap_or(min);
    if max - min > 1 {
        let behind: Vec<NodeId> = running
            .iter()
            .filter(|(_, n)| n.chain().epoch() + 1 < max)
            .map(|(i, _)| *i)
            .collect();
        return result(
            false,
            format!("nodes {behind:?} are more than one epoch behind epoch {max}"),
        );
    }
    // The macro chain is hash-linked: equal hashes at the lowest common epoch mean equal
    // histories.
    let k = min as usize - 1;
    let first = running[0].1.chain().macros[k].hash();
    if let Some((i, _)) = running
        .iter()
        .find(|(_, n)| n.chain().macros[k].hash() != first)
    {
        return result(
            false,
            format!(
                "node {i} holds a different macro block for epoch {min} than node {}",
                running[0].0
            ),
        );
    }
    result(
        true,
        format!("{} running nodes at epochs {min}..={max}", running.len()),
    )
}

/// Every payment reached a terminal status.
fn transactions_terminal(client: &Client, t_ns: u64) -> CheckResult {
    let total = client.records().count();
    let pending: Vec<String> = client
        .records()
        .filter(|(_, r)| !r.state.is_terminal())
        .map(|(h, r)| match &r.name {
            Some(n) => format!("{n} ({})", r.state.name()),
            None => format!("{} ({})", &h.to_string()[..16], r.state.name()),
        })
        .collect();
    CheckResult {
        name: "transactions_terminal".into(),
        line: None,
        held: pending.is_empty(),
        t_ns,
        detail: if pending.is_empty() {
            format!("{total} payments reached a terminal status")
        } else {
            format!(
                "{} of {total} payments are not terminal: {}",
                pending.len(),
                pending
                    .iter()
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    }
}

/// Every running node's ledger holds genesis plus minted supply.
fn supply<B: Backend>(b: &B, t_ns: u64) -> CheckResult {
    let bad: Vec<String> = b
        .running()
        .filter(|(_, n)| n.chain().ledger.total() != n.chain().ledger.expected_supply())
        .map(|(i, n)| {
            format!(
                "node {i}: ledger {} != supply {}",
                n.chain().ledger.total(),
                n.chain().ledger.expected_supply()
            )
        })
        .collect();
    CheckResult {
        name: "supply".into(),
        line: None,
        held: bad.is_empty(),
        t_ns,
        detail: if bad.is_empty() {
            "every running node's ledger holds genesis plus minted supply".into()
        } else {
            bad.join("; ")
        },
    }
}
