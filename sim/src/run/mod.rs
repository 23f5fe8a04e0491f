//! The scenario runner: a scenario, a seed and an engine make a run.
//!
//! [`run`] builds the network the scenario describes on the chosen engine (`Backend`),
//! schedules its steps, workloads and deadlines as control events, and then takes what the
//! engine reports until the scenario's duration: node events become trace lines and facts,
//! control events run steps, workload payments, periodic checks and deadlines. The loop
//! (`Runner`) only dispatches; it owns the parts that do the work, each in its own file:
//!
//! - `facts`: what the nodes reported (the fact store);
//! - `checks` and `expect`: expectations and invariants (the node library's invariant
//!   checker after every chain event: its first violation stops the loop), the first failure;
//! - `client`: the scenario's client: payments, resubmission, API requests, workloads
//!   (`api`: what the API answers it);
//! - `steps`: what a step does (and node references resolved); `schedule`: when things
//!   happen (control events);
//! - `node_events`: the trace lines of node events;
//! - [`crate::outcome`]: the [`Outcome`] the run ends with.

mod api;
pub(crate) mod checks;
pub(crate) mod client;
pub(crate) mod expect;
pub(crate) mod facts;
pub(crate) mod node_events;
mod options;
mod schedule;
pub(crate) mod steps;

use stegosim_formats::trace as ft;
use stegosim_node::chain::tx::Transaction;
use stegosim_node::node::{Event, NodeId};
use stegosim_node::rng::Seed;

pub use options::{
    CHECK_INTERVAL_NS, EngineKind, PAYMENTS_MAX, Progress, RESUBMIT_AFTER_NS, RESUBMITS_MAX,
    RunError, RunOptions,
};

use self::checks::Checks;
use self::client::{Client, WorkloadState};
use self::expect::View;
use self::facts::Facts;
use self::steps::Resolver;
use crate::backend::{Backend, DesBackend, Next};
use crate::cluster::DriverEvent;
use crate::des::net::DropReason;
use crate::outcome::{CheckResult, DropCounts, Outcome, OutcomeBuilder};
use crate::scenario::{Located, Scenario, Step};
use crate::trace::{self, Trace};
use crate::wallet::Wallet;

/// The connection id of the scenario's API client on every node.
pub(crate) const API_CONN: u64 = 1;

/// Runs `scenario` with `options`.
pub fn run<'a>(scenario: &'a Scenario, options: RunOptions<'a>) -> Result<Outcome, RunError> {
    match options.engine {
        EngineKind::Des => run_on::<DesBackend>(scenario, options),
        EngineKind::Turmoil => run_on::<crate::turmoil_engine::TurmoilBackend>(scenario, options),
    }
}

fn run_on<'a, B: Backend>(
    scenario: &'a Scenario,
    options: RunOptions<'a>,
) -> Result<Outcome, RunError> {
    let mut r = Runner::<B>::new(scenario, options)?;
    r.run()?;
    Ok(r.finish())
}

/// What a control event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    /// Periodic: expectations, dropped-message lines, resubmissions, progress.
    Check,
    /// The convergence and progress invariants after the last fault.
    Convergence,
    /// Step `i` of `Runner::steps`.
    Step(usize),
    /// The next payment of workload `i`.
    Workload(usize),
    /// The deadline of expectation `i`.
    Deadline(usize),
}

/// The loop of a run and the parts it owns.
struct Runner<'a, B: Backend> {
    /// What runs.
    scenario: &'a Scenario,
    /// The engine, with the nodes.
    b: B,
    /// The trace and its hash.
    trace: Trace,
    /// Who watches.
    progress: Option<&'a mut dyn FnMut(&Progress)>,
    /// The file's steps and the swarm's, by time.
    steps: Vec<Located<Step>>,
    /// Control event id -> what it does.
    controls: Vec<Control>,
    /// Virtual instant the run ends.
    end_ns: u64,
    /// Events the engine reported and the runner has not handled yet.
    pending: Vec<DriverEvent>,
    /// Node references of steps.
    resolver: Resolver,
    /// The workloads' states.
    workloads: Vec<WorkloadState>,
    /// What the nodes reported.
    facts: Facts,
    /// Expectations and invariants.
    checks: Checks,
    /// The scenario's client.
    client: Client,
    /// Dropped messages already traced, by reason.
    drops_traced: DropCounts,
    /// The outcome's identity.
    outcome: OutcomeBuilder,
}

impl<'a, B: Backend> Runner<'a, B> {
    fn new(scenario: &'a Scenario, options: RunOptions<'a>) -> Result<Runner<'a, B>, RunError> {
        let root = Seed(options.seed);
        let mut trace = Trace::new(options.trace_sink);
        if options.keep_trace {
            trace = trace.keep_lines();
        }
        trace.write(
            0,
            None,
            ft::Event::RunStarted(ft::RunStarted {
                scenario: scenario.name.clone(),
                seed: options.seed,
                engine: options.engine.name().into(),
                nodes: scenario.nodes as u64,
                validators: scenario.validators as u64,
                duration_ns: scenario.duration_ns,
                chain: scenario.chain.name.clone(),
            }),
        );
        let steps = schedule::steps_of(scenario, options.seed, &mut trace);
        B::check_steps(scenario, &steps).map_err(RunError::Unsupported)?;
        let mut pending = Vec::new();
        let b = B::new(scenario, root, &mut pending)
            .map_err(|why| RunError::NodeStart { node: 0, why })?;
        let mut r = Runner {
            scenario,
            b,
            trace,
            progress: options.progress,
            steps,
            controls: Vec::new(),
            end_ns: scenario.chain.genesis_time_ns + scenario.duration_ns,
            pending,
            resolver: Resolver::new(scenario.nodes, root.stream("steps")),
            workloads: Vec::new(),
            facts: Facts::new(scenario.trace.node_events),
            checks: Checks::new(
                scenario.expectations.clone(),
                scenario.invariants.clone(),
                options.inject,
            ),
            client: Client::new(Wallet::new(&scenario.chain, root.stream("wallet"))),
            drops_traced: DropCounts::default(),
            outcome: OutcomeBuilder {
                scenario: scenario.name.clone(),
                seed: options.seed,
                engine: options.engine,
                duration_ns: scenario.duration_ns,
            },
        };
        r.schedule_controls(root);
        r.flush_events();
        Ok(r)
    }

    /// Virtual time since the start.
    fn t(&self) -> u64 {
        self.b.elapsed_ns()
    }

    /// The loop: takes what the engine reports until the end, or until an invariant broke.
    fn run(&mut self) -> Result<(), RunError> {
        while !self.checks.stopped() {
            let Some(next) = self.b.next(self.end_ns, &mut self.pending) else {
                break;
            };
            self.flush_events();
            if let (Next::Control(id), false) = (next, self.checks.stopped()) {
                self.control(self.controls[id as usize])?;
            }
        }
        if let Some(why) = self.b.failure() {
            return Err(RunError::Engine(why));
        }
        if !self.checks.stopped() {
            self.b.advance_to(self.end_ns);
        }
        Ok(())
    }

    /// Handles the events the engine reported, in order.
    fn flush_events(&mut self) {
        let mut events = std::mem::take(&mut self.pending);
        for e in events.drain(..) {
            if self.checks.stopped() {
                // The run stops at the event that broke an invariant: later ones are dropped.
                break;
            }
            match e {
                DriverEvent::Node {
                    node,
                    event,
                    relayed,
                } => self.node_event(node, &event, relayed.as_deref()),
                DriverEvent::Api { node, msg, .. } => self.api_message(node, msg),
                DriverEvent::TimerStall { node } => {
                    self.facts.timer_stalls += 1;
                    let t = self.t();
                    self.trace.write(t, Some(node), ft::Event::TimerStall);
                }
            }
        }
        // The buffer is kept for the next events (no allocation per event in steady state).
        events.clear();
        self.pending = events;
    }

    fn node_event(&mut self, node: NodeId, event: &Event, relayed: Option<&Transaction>) {
        let t = self.t();
        if let Event::TransactionStatus { tx_hash, status } = event {
            self.client.tx_status(t, *tx_hash, status);
        }
        if self.facts.record(node, event) {
            self.trace_event(t, node, event, relayed);
        }
        // After the event's line, so that a violation's line follows the event that broke it.
        let chain = self.b.node(node).map(|n| n.chain());
        self.checks.observe(&mut self.trace, t, node, event, chain);
    }

    fn control(&mut self, c: Control) -> Result<(), RunError> {
        match c {
            Control::Check => {
                self.trace_drops();
                self.resubmit_stalled();
                self.evaluate_expectations(false);
                self.report_progress();
                let next = self.b.now_ns() + CHECK_INTERVAL_NS;
                if next <= self.end_ns {
                    self.b.schedule(next, 0);
                }
            }
            Control::Convergence => self.checks.after_last_fault(
                &mut self.trace,
                &self.b,
                self.facts.epoch_at_last_fault,
                self.facts.epoch,
            ),
            Control::Step(i) => {
                let step = self.steps[i].clone();
                self.step(&step)?;
                if step.value.is_fault() {
                    self.facts.epoch_at_last_fault = self.facts.epoch;
                }
            }
            Control::Workload(i) => self.workload_tick(i),
            Control::Deadline(i) => self.evaluate_one(i, true),
        }
        Ok(())
    }

    fn report_progress(&mut self) {
        if self.progress.is_none() {
            return;
        }
        let p = Progress {
            elapsed_ns: self.t(),
            duration_ns: self.scenario.duration_ns,
            epoch: self.facts.epoch,
            micro_blocks: self.facts.micro_blocks(),
            transactions: self.client.payments,
            committed: self.client.committed(),
            failures: self.checks.failures,
        };
        if let Some(cb) = self.progress.as_mut() {
            cb(&p);
        }
    }

    /// One `message_dropped` line per reason with drops since the last one.
    fn trace_drops(&mut self) {
        let t = self.t();
        let now = DropCounts::of(&self.b.stats());
        for reason in DropReason::ALL {
            let delta = now.get(reason) - self.drops_traced.get(reason);
            if delta > 0 {
                self.trace.write(
                    t,
                    None,
                    ft::Event::MessageDropped(ft::MessageDropped {
                        reason: reason.name().into(),
                        count: delta,
                        window_ns: CHECK_INTERVAL_NS,
                    }),
                );
            }
        }
        self.drops_traced = now;
    }

    /// Resubmits payments that made no progress for [`RESUBMIT_AFTER_NS`], each to a running
    /// node drawn from the seed.
    fn resubmit_stalled(&mut self) {
        let t = self.t();
        for hash in self.client.stalled(t) {
            let Some(id) = self.resolver.random_running(&self.b) else {
                return;
            };
            let (tx, attempt) = self.client.resubmit(&hash, t);
            self.trace.write(
                t,
                Some(id),
                ft::Event::Resubmit(ft::Resubmit {
                    tx: trace::hex(&hash),
                    attempt: attempt as u64,
                }),
            );
            self.b.with_node(id, &mut self.pending, |n, now| {
                n.submit_transaction(now, tx)
            });
            self.client.resubmitting = true;
            self.flush_events();
            self.client.resubmitting = false;
        }
    }

    fn evaluate_expectations(&mut self, at_end: bool) {
        for i in 0..self.checks.expectation_count() {
            self.evaluate_one(i, at_end);
        }
    }

    /// Evaluates expectation `i`; `deadline` is true at its deadline (or the run's end).
    fn evaluate_one(&mut self, i: usize, deadline: bool) {
        let t = self.t();
        let deadline = deadline || self.b.now_ns() >= self.end_ns;
        let view = View {
            b: &self.b,
            facts: &self.facts,
            client: &self.client,
            aliases: &self.resolver.aliases,
        };
        self.checks.evaluate(&mut self.trace, &view, t, i, deadline);
    }

    fn finish(mut self) -> Outcome {
        let t = self.t();
        self.trace_drops();
        if !self.checks.stopped() {
            self.evaluate_expectations(true);
        }
        // An `api` step with `expect` whose response never came fails.
        let unanswered: Vec<CheckResult> = self
            .client
            .api_unanswered()
            .into_iter()
            .filter_map(|(id, p)| {
                let want = p.expect?;
                Some(CheckResult {
                    name: format!("api request at line {} answers {want}", p.line),
                    line: Some(p.line),
                    held: false,
                    t_ns: t,
                    detail: format!("no response to request {id} by the end"),
                })
            })
            .collect();
        let results = self
            .checks
            .finish(&mut self.trace, &self.b, &self.client, unanswered);
        let mut counts = self.facts.counts().with_engine(&self.b.stats());
        counts.transactions = self.client.counts();
        let passed = results.first_failure.is_none();
        self.trace.write(
            t,
            None,
            ft::Event::RunFinished(ft::RunFinished {
                passed,
                epochs: counts.epochs,
                micro_blocks: counts.micro_blocks,
                view_changes: counts.view_changes,
                payments: counts.transactions.submitted,
                committed: counts.transactions.committed,
                messages_sent: counts.messages_sent,
            }),
        );
        counts.trace_lines = self.trace.lines();
        let trace_hash = self.trace.hash_hex();
        let _ = self.trace.finish();
        let kept = self.trace.kept().map(<[String]>::to_vec);
        self.outcome.build(trace_hash, counts, results, kept)
    }
}
