//! The checks of a run: the scenario's expectations (decided once each, at a periodic check,
//! at their deadline or at the end) and the invariants. The node library's invariant checker
//! (`stegosim_node::invariants::Checker`: supply, final chain, macro agreement, finality) runs
//! after every node event, on the chain of the node whose chain changed; its first violation
//! stops the run. Every result is traced, and the first failure is kept.

use stegosim_formats::trace as ft;
use stegosim_node::chain::Chain;
use stegosim_node::invariants::{Checker, Enabled, Injection, Violation};
use stegosim_node::node::{Event, Node, NodeId};

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
    /// The node library's invariant checker: supply, final chain, macro agreement, finality.
    checker: Checker,
    /// Events the checker observed, and chain checks it ran (a node's chain after an event
    /// that changed it, or after a restart).
    events_observed: u64,
    chain_checks: u64,
    /// The checker's first violation: the run stops there.
    violation: Option<CheckResult>,
}

/// The invariants the node library's checker runs, by name, and whether the scenario has
/// each on.
fn checker_invariants(spec: &InvariantsSpec) -> [(&'static str, bool); 4] {
    [
        ("macro_agreement", spec.macro_agreement),
        ("supply", spec.supply),
        ("final_chain", spec.final_chain),
        ("finality", spec.finality),
    ]
}

/// Whether `event` says the node's chain changed (then its chain is checked).
fn changes_chain(event: &Event) -> bool {
    matches!(
        event,
        Event::MicroBlockPrepared { .. }
            | Event::MicroBlockReverted { .. }
            | Event::MacroBlockCommitted { .. }
    )
}

impl Checks {
    /// The checks of a scenario with these expectations and invariants.
    pub fn new(
        expects: Vec<Located<Expect>>,
        spec: InvariantsSpec,
        inject: Option<Injection>,
    ) -> Checks {
        let deadlines = expects.iter().map(|e| expect::deadline(&e.value)).collect();
        let checker = Checker {
            enabled: Enabled {
                supply: spec.supply,
                agreement: spec.macro_agreement,
                final_chain: spec.final_chain,
                finality: spec.finality,
            },
            inject,
            ..Checker::default()
        };
        Checks {
            states: vec![ExpState::Pending; expects.len()],
            expects,
            deadlines,
            api_results: Vec::new(),
            spec,
            invariants: Vec::new(),
            first_failure: None,
            failures: 0,
            checker,
            events_observed: 0,
            chain_checks: 0,
            violation: None,
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
        trace.write(
            t_ns,
            None,
            ft::Event::Expectation(ft::Expectation {
                name: result.name.clone(),
                line: result.line.unwrap_or(0) as u64,
                held: result.held,
                decided_t_ns: result.t_ns,
                detail: result.detail.clone(),
            }),
        );
        if !result.held {
            self.fail(FailureKind::Expectation, result);
        }
    }

    /// Records an invariant's result: traced, and a failure when it did not hold.
    pub fn record_invariant(&mut self, trace: &mut Trace, t_ns: u64, result: CheckResult) {
        trace.write(t_ns, None, invariant_line(&result, None));
        if !result.held {
            self.fail(FailureKind::Invariant, &result);
        }
        self.invariants.push(result);
    }

    /// Whether an invariant of the node checker broke: the run stops.
    pub fn stopped(&self) -> bool {
        self.violation.is_some()
    }

    /// Runs the node checker on `event` of `node` at `t_ns` (every event: finality), and on
    /// the node's `chain` when the event changed it. A violation is traced and stops the run.
    pub fn observe(
        &mut self,
        trace: &mut Trace,
        t_ns: u64,
        node: NodeId,
        event: &Event,
        chain: Option<&Chain>,
    ) {
        if self.stopped() {
            return;
        }
        self.events_observed += 1;
        let mut checked = self.checker.observe_event(node, event);
        if let (Ok(()), true, Some(chain)) = (&checked, changes_chain(event), chain) {
            self.chain_checks += 1;
            checked = self.checker.check_node(node, chain);
        }
        if let Err(v) = checked {
            self.violated(trace, t_ns, node, &v);
        }
    }

    /// Node `node` restarted on `chain` (what its store kept): checked like a changed chain.
    pub fn restarted(&mut self, trace: &mut Trace, t_ns: u64, node: NodeId, chain: &Chain) {
        if self.stopped() {
            return;
        }
        self.chain_checks += 1;
        if let Err(v) = self.checker.restarted(node, chain) {
            self.violated(trace, t_ns, node, &v);
        }
    }

    /// The first violation: an `invariant` line naming the node, a failure; the run stops.
    fn violated(&mut self, trace: &mut Trace, t_ns: u64, node: NodeId, v: &Violation) {
        let result = CheckResult {
            name: v.invariant().into(),
            line: None,
            held: false,
            t_ns,
            detail: v.to_string(),
        };
        trace.write(t_ns, Some(node), invariant_line(&result, None));
        self.fail(FailureKind::Invariant, &result);
        self.violation = Some(result);
    }

    /// What an invariant of the node checker that held covered.
    fn held_detail<B: Backend>(&self, name: &str, b: &B) -> String {
        match name {
            "macro_agreement" => format!(
                "every node's macro blocks of epochs 0..{} agreed",
                self.checker.agreement.epochs()
            ),
            "supply" => format!(
                "every changed ledger held genesis plus minted supply; at the end {} running ledgers summed to it",
                b.running().count()
            ),
            "final_chain" => format!(
                "{} final blocks spent only outputs created before and never spent",
                self.checker.final_chain.checked()
            ),
            _ => "no node undid what it had made final".into(),
        }
    }

    /// The node checker's invariants at the end: the full ledger scan of every running node,
    /// then one summary line per invariant (with how many checks ran).
    fn checker_summary<B: Backend>(&mut self, trace: &mut Trace, b: &B, t_ns: u64) {
        if !self.stopped() && self.spec.supply {
            let chains = b.running().map(|(i, n)| (i, n.chain()));
            if let Err(v) = self.checker.check_full(chains) {
                let node = match v {
                    Violation::TotalDrift { node, .. } => node,
                    _ => 0,
                };
                self.violated(trace, t_ns, node, &v);
            }
        }
        let violated = self.violation.clone();
        for (name, on) in checker_invariants(&self.spec) {
            if !on {
                continue;
            }
            let (held, detail) = match &violated {
                Some(v) if v.name == name => (false, v.detail.clone()),
                Some(v) => (true, format!("held until the run stopped at {} ns", v.t_ns)),
                None => (true, self.held_detail(name, b)),
            };
            let result = CheckResult {
                name: name.into(),
                line: None,
                held,
                t_ns: if held {
                    t_ns
                } else {
                    violated.as_ref().map_or(t_ns, |v| v.t_ns)
                },
                detail,
            };
            let counted = (self.events_observed, self.chain_checks);
            trace.write(t_ns, None, invariant_line(&result, Some(counted)));
            self.invariants.push(result);
        }
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
        self.checker_summary(trace, b, t_ns);
        if self.stopped() {
            // The run stopped at a violation: what was not decided by then stays undecided.
            return self.results(unanswered, t_ns);
        }
        if self.spec.convergence {
            let result = convergence(b, "at the end");
            self.record_invariant(trace, t_ns, result);
        }
        if self.spec.transactions_terminal {
            let result = transactions_terminal(client, t_ns);
            self.record_invariant(trace, t_ns, result);
        }
        self.results(unanswered, t_ns)
    }

    /// The results, with the `api` steps whose response never came (already failed).
    fn results(mut self, unanswered: Vec<CheckResult>, t_ns: u64) -> CheckResults {
        let stopped = self.stopped();
        let mut expectations: Vec<CheckResult> = self
            .states
            .into_iter()
            .zip(&self.expects)
            .map(|(s, e)| match s {
                ExpState::Decided(r) => r,
                ExpState::Pending if stopped => CheckResult {
                    name: expect::describe(&e.value),
                    line: Some(e.line),
                    held: false,
                    t_ns,
                    detail: "not decided: the run stopped at an invariant violation".into(),
                },
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

/// The `invariant` line of `result`; `counted`: for the node checker's invariants at the end
/// of a run, the events it observed and the chain checks it ran.
fn invariant_line(result: &CheckResult, counted: Option<(u64, u64)>) -> ft::Event {
    ft::Event::Invariant(ft::Invariant {
        name: result.name.clone(),
        held: result.held,
        detail: result.detail.clone(),
        events: counted.map(|(events, _)| events),
        chain_checks: counted.map(|(_, chains)| chains),
    })
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
