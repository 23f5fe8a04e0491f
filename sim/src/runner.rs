//! The scenario runner: a scenario, a seed and the `des` engine make a run.
//!
//! [`run`] builds the network the scenario describes ([`Cluster`] on an [`Engine`]),
//! schedules its steps, workloads and deadlines as engine events, and then pops events until
//! the scenario's duration: messages and timers go to the nodes, control events run steps,
//! workload ticks, periodic checks and deadlines. Every node event becomes a trace line;
//! expectations are evaluated at each periodic check and at their deadlines; invariants are
//! checked as facts arrive (macro agreement) and at fixed points (convergence, terminal
//! transactions, supply). The [`Outcome`] says whether everything held, with the first
//! failure and the counts the summary shows.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde::Serialize;
use stegosim_node::chain::tx::{Output as TxOutput, Transaction};
use stegosim_node::crypto::{Hash, PublicKey};
use stegosim_node::node::{Event, Node, NodeId, TxStatus};
use stegosim_node::rng::{Seed, Stream};

use crate::backend::{Backend, DesBackend, Next};
use crate::cluster::DriverEvent;
use crate::des::net::{DropReason, LinkOptions};
use crate::scenario::{
    self, Draw, Expect, Located, NodeEvents, NodeRef, Scenario, StatusName, Step, Workload,
};
use crate::time::{SECOND_NS, format_ns};
use crate::trace::Trace;
use crate::wallet::{Wallet, named_key};

/// How often (virtual time) expectations are evaluated, dropped messages are summed into the
/// trace and progress is reported.
pub const CHECK_INTERVAL_NS: u64 = SECOND_NS;

/// Largest number of payments one run submits (all workloads and steps together).
pub const PAYMENTS_MAX: u64 = 10_000_000;

/// The simulated client resubmits a payment that made no progress (no new status on any
/// node) for this long, as a wallet would: to a running node drawn from the seed. A node
/// relays a transaction only when it first accepts it, so a relay lost to a partition, loss
/// or a crash would otherwise leave the payment stranded in one mempool.
pub const RESUBMIT_AFTER_NS: u64 = 15 * SECOND_NS;

/// Most resubmissions of one payment.
pub const RESUBMITS_MAX: u32 = 20;

/// The engines a scenario can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// Our discrete-event engine: node cores called directly, network and crashes modelled.
    Des,
    /// turmoil: every node's real async driver, peer transport and API server on a turmoil
    /// host over simulated TCP; the scenario's client speaks encrypted WebSocket frames.
    Turmoil,
}

impl EngineKind {
    /// The name on the command line and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Des => "des",
            EngineKind::Turmoil => "turmoil",
        }
    }

    /// Parses an engine name; the error lists the ones that exist.
    pub fn parse(name: &str) -> Result<EngineKind, String> {
        match name {
            "des" => Ok(EngineKind::Des),
            "turmoil" => Ok(EngineKind::Turmoil),
            other => Err(format!(
                "unknown engine {other:?}: expected \"des\" or \"turmoil\""
            )),
        }
    }
}

/// Where a run is, for a progress display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Virtual time run so far.
    pub elapsed_ns: u64,
    /// Virtual time the run covers.
    pub duration_ns: u64,
    /// Highest committed epoch.
    pub epoch: u64,
    /// Distinct micro blocks prepared.
    pub micro_blocks: u64,
    /// Payments submitted by the scenario.
    pub transactions: u64,
    /// Of those, committed.
    pub committed: u64,
    /// Failed expectations and invariants so far.
    pub failures: u64,
}

/// How to run: the seed, where the trace goes, and who watches.
pub struct RunOptions<'a> {
    /// The run's seed.
    pub seed: u64,
    /// The engine.
    pub engine: EngineKind,
    /// Where trace lines go (they are hashed either way).
    pub trace_sink: Option<Box<dyn Write>>,
    /// Keep the trace lines in the outcome too (tests).
    pub keep_trace: bool,
    /// Called every [`CHECK_INTERVAL_NS`] of virtual time.
    pub progress: Option<&'a mut dyn FnMut(&Progress)>,
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("seed", &self.seed)
            .field("engine", &self.engine)
            .field("keep_trace", &self.keep_trace)
            .finish()
    }
}

impl<'p> RunOptions<'p> {
    /// Seed `seed` on the `des` engine, trace hashed only.
    pub fn seed(seed: u64) -> RunOptions<'p> {
        RunOptions {
            seed,
            engine: EngineKind::Des,
            trace_sink: None,
            keep_trace: false,
            progress: None,
        }
    }
}

/// Why a run could not be carried out at all (a failed expectation is not an error: it is
/// an outcome).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A node refused to start (bad chain parameters or a corrupt store).
    #[error("node {node} did not start: {why}")]
    NodeStart {
        /// Which node.
        node: NodeId,
        /// The node's reason.
        why: String,
    },
    /// The scenario has a step the engine cannot carry out (found before anything runs).
    #[error("{0}")]
    Unsupported(String),
    /// The engine stopped early (a turmoil host's software failed).
    #[error("engine failed: {0}")]
    Engine(String),
    /// The trace could not be written.
    #[error("writing the trace failed: {0}")]
    Trace(#[from] std::io::Error),
}

/// The result of one expectation or invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// What was checked, in words.
    pub name: String,
    /// Line of the scenario file that asked for it, if any.
    pub line: Option<usize>,
    /// Whether it held.
    pub held: bool,
    /// Virtual time (since the start) it was decided.
    pub t_ns: u64,
    /// Why it held or failed.
    pub detail: String,
}

/// The first thing that failed in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Virtual time (since the start) of the failure.
    pub t_ns: u64,
    /// `expectation` or `invariant`.
    pub kind: String,
    /// What failed.
    pub name: String,
    /// Why.
    pub detail: String,
    /// Line of the scenario file, if any.
    pub line: Option<usize>,
}

/// Messages dropped, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DropCounts {
    /// Lost by the link model.
    pub loss: u64,
    /// Cut by a partition.
    pub partition: u64,
    /// The receiver was down.
    pub down: u64,
    /// The event queue was full.
    pub overflow: u64,
}

/// Payments the scenario submitted, by final status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TxCounts {
    /// Submitted to a node (accepted or rejected there).
    pub submitted: u64,
    /// Committed in a macro block.
    pub committed: u64,
    /// Refused at submission.
    pub rejected: u64,
    /// Dropped for a conflicting spend.
    pub conflicted: u64,
    /// Not terminal at the end.
    pub pending: u64,
    /// Not built: no unspent output of the funded account was free on the chosen node.
    pub skipped_no_funds: u64,
}

/// What happened in a run, in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Events the engine handed to the driver.
    pub events: u64,
    /// Messages sent (one per destination).
    pub messages_sent: u64,
    /// Messages delivered (duplicates included).
    pub messages_delivered: u64,
    /// Extra copies made by duplication.
    pub messages_duplicated: u64,
    /// Messages dropped.
    pub messages_dropped: DropCounts,
    /// Highest epoch with a committed macro block.
    pub epochs: u64,
    /// Distinct micro blocks prepared (by hash).
    pub micro_blocks: u64,
    /// Micro blocks reverted, summed over nodes.
    pub micro_blocks_reverted: u64,
    /// View changes, summed over nodes.
    pub view_changes: u64,
    /// Restake transactions, summed over nodes.
    pub restakes: u64,
    /// Faults applied (steps that change links, liveness or clocks).
    pub faults: u64,
    /// Times a node asked to be woken at the same instant too often.
    pub timer_stalls: u64,
    /// The scenario's payments.
    pub transactions: TxCounts,
    /// Lines in the trace.
    pub trace_lines: u64,
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Scenario name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// The engine.
    pub engine: EngineKind,
    /// Whether every expectation and invariant held.
    pub passed: bool,
    /// BLAKE3 of the trace's bytes, hex.
    pub trace_hash: String,
    /// Virtual time covered.
    pub duration_ns: u64,
    /// Counts.
    pub counts: Counts,
    /// Every expectation's result, in file order.
    pub expectations: Vec<CheckResult>,
    /// Every invariant's result.
    pub invariants: Vec<CheckResult>,
    /// The first failure, if any.
    pub first_failure: Option<Failure>,
    /// The trace lines, when asked for.
    #[serde(skip)]
    pub trace: Option<Vec<String>>,
}

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
    /// Periodic: expectations, dropped-message lines, progress.
    Check,
    /// The convergence invariant's check after the last fault.
    Convergence,
    /// Step `i` of `Runner::steps`.
    Step(usize),
    /// The next payment of workload `i`.
    Workload(usize),
    /// The deadline of expectation `i`.
    Deadline(usize),
}

#[derive(Debug, Clone)]
enum ExpState {
    Pending,
    Decided(CheckResult),
}

#[derive(Debug, Clone)]
struct TxRecord {
    /// Name from the `pay` step.
    name: Option<String>,
    /// The transaction, for resubmission.
    tx: Transaction,
    /// Last time (since the start) it was submitted or changed status.
    progress_ns: u64,
    /// Times it was resubmitted.
    resubmits: u32,
    /// Latest status reported by any node (committed wins over everything).
    status: &'static str,
    /// Whether the status is terminal.
    terminal: bool,
}

/// Outcome of a `pay` step, by payment name.
#[derive(Debug, Clone)]
enum Named {
    Submitted { hash: Hash, at_ns: u64 },
    NotSubmitted { why: String },
}

struct WorkloadState {
    rng: Stream,
    rate_per_s: f64,
    next_ns: u64,
}

struct Runner<'a, B: Backend> {
    scenario: &'a Scenario,
    seed: u64,
    engine_kind: EngineKind,
    /// The engine, with the nodes.
    b: B,
    trace: Trace,
    progress: Option<&'a mut dyn FnMut(&Progress)>,
    wallet: Wallet,
    steps: Vec<Located<Step>>,
    controls: Vec<Control>,
    end_ns: u64,
    events: Vec<DriverEvent>,
    aliases: BTreeMap<String, NodeId>,
    step_rng: Stream,
    workloads: Vec<WorkloadState>,
    expectations: Vec<ExpState>,
    /// Absolute deadline of each expectation (tx expectations get theirs at submission).
    deadlines: Vec<Option<u64>>,
    invariants: Vec<CheckResult>,
    first_failure: Option<Failure>,
    failures: u64,
    // --- observed facts ---
    /// Canonical macro block hash of each committed epoch.
    macros: BTreeMap<u64, Hash>,
    macro_checks: u64,
    macro_violation: Option<CheckResult>,
    micro_hashes: BTreeSet<Hash>,
    view_changes: BTreeMap<NodeId, u64>,
    /// Snowball states each (node, account) was told, in order.
    snowball_seen: BTreeMap<(NodeId, String), Vec<String>>,
    reverted: BTreeMap<NodeId, u64>,
    restakes: BTreeMap<NodeId, u64>,
    txs: BTreeMap<Hash, TxRecord>,
    named: BTreeMap<String, Named>,
    /// First time (since the start) each scenario payment reached each status.
    reached: BTreeMap<(Hash, &'static str), u64>,
    counts: Counts,
    dropped_flushed: [u64; 4],
    payments: u64,
    /// True while the client resubmits a payment.
    resubmitting: bool,
    /// Highest committed epoch when the last fault step ran.
    epoch_at_last_fault: u64,
    /// With `node_events = "first"`: the facts already traced (kind, hash, epoch, offset).
    traced_facts: BTreeSet<(u8, Hash, u64, u32)>,
    /// Id of the next API request the scenario's client sends.
    next_api_id: u64,
    /// API requests waiting for their response: id -> (scenario line, expected type, name
    /// of the transaction it creates).
    api_pending: BTreeMap<u64, (usize, Option<String>, Option<String>)>,
    /// Results of `api` steps with `expect`, in the order they were decided.
    api_results: Vec<CheckResult>,
}

fn status_name(s: &TxStatus) -> &'static str {
    match s {
        TxStatus::Accepted => "accepted",
        TxStatus::Rejected { .. } => "rejected",
        TxStatus::Prepared { .. } => "prepared",
        TxStatus::Rollback { .. } => "rollback",
        TxStatus::Committed { .. } => "committed",
        TxStatus::Conflicted { .. } => "conflicted",
    }
}

fn describe_expect(e: &Expect) -> String {
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

/// Draws from a `Draw` range: uniform.
fn draw(rng: &mut Stream, d: &Draw) -> f64 {
    if d.max <= d.min {
        d.min
    } else {
        d.min + rng.unit_f64() * (d.max - d.min)
    }
}

impl<'a, B: Backend> Runner<'a, B> {
    fn new(scenario: &'a Scenario, options: RunOptions<'a>) -> Result<Runner<'a, B>, RunError> {
        let seed = options.seed;
        let root = Seed(seed);
        let start_ns = scenario.chain.genesis_time_ns;
        let mut trace = Trace::new(options.trace_sink);
        if options.keep_trace {
            trace = trace.keep_lines();
        }
        trace.emit(0, None, "run_started", |l| {
            l.str("scenario", &scenario.name)
                .u64("seed", seed)
                .str("engine", options.engine.name())
                .u64("nodes", scenario.nodes as u64)
                .u64("validators", scenario.validators as u64)
                .u64("duration_ns", scenario.duration_ns)
                .str("chain", &scenario.chain.name)
        });
        let mut events = Vec::new();

        let mut steps = scenario.steps.clone();
        if let Some(sw) = &scenario.swarm {
            let extra =
                scenario::swarm::steps(&sw.value, seed, scenario.nodes, &scenario.links, sw.line);
            trace.emit(0, None, "swarm", |l| {
                l.u64("faults_from_ns", sw.value.faults_from.ns)
                    .u64("faults_until_ns", sw.value.faults_until.ns)
                    .u64("steps", extra.len() as u64)
            });
            steps.extend(extra);
            // Stable: file steps stay before swarm steps at equal times.
            steps.sort_by_key(|s| s.value.at());
        }

        B::check_steps(scenario, &steps).map_err(RunError::Unsupported)?;
        let mut engine = B::new(scenario, root, &mut events)
            .map_err(|why| RunError::NodeStart { node: 0, why })?;
        let mut controls = vec![Control::Check, Control::Convergence];
        engine.schedule(start_ns + CHECK_INTERVAL_NS, 0);
        let last_fault = steps
            .iter()
            .filter(|s| s.value.is_fault())
            .map(|s| s.value.at().ns)
            .max();
        if scenario.invariants.convergence {
            if let Some(t) = last_fault {
                let at = t.saturating_add(scenario.invariants.converge_within.ns);
                if at <= scenario.duration_ns {
                    engine.schedule(start_ns + at, 1);
                }
            }
        }
        for (i, s) in steps.iter().enumerate() {
            engine.schedule(start_ns + s.value.at().ns, controls.len() as u64);
            controls.push(Control::Step(i));
        }
        let mut workloads = Vec::new();
        for (i, w) in scenario.workloads.iter().enumerate() {
            let Workload::Payments {
                rate_per_s, start, ..
            } = &w.value;
            let mut rng = root.child("workload", i as u64).stream("payments");
            let rate = draw(&mut rng, rate_per_s);
            let id = controls.len() as u64;
            controls.push(Control::Workload(i));
            let mut st = WorkloadState {
                rng,
                rate_per_s: rate,
                next_ns: start.ns,
            };
            st.next_ns = start.ns + exp_interval(&mut st);
            engine.schedule(start_ns + st.next_ns, id);
            trace.emit(0, None, "workload", |l| {
                l.u64("index", i as u64)
                    .str("workload", "payments")
                    .f64("rate_per_s", rate)
            });
            workloads.push(st);
        }
        let mut deadlines = Vec::new();
        for (i, e) in scenario.expectations.iter().enumerate() {
            let by = match &e.value {
                Expect::TxStatus { .. } => None,
                Expect::Epoch { by, .. }
                | Expect::ViewChange { by, .. }
                | Expect::Reverted { by, .. }
                | Expect::Restakes { by, .. }
                | Expect::Validator { by, .. }
                | Expect::CaughtUp { by, .. }
                | Expect::Committed { by, .. }
                | Expect::Snowball { by, .. } => Some(by.ns),
            };
            if let Some(by) = by {
                engine.schedule(start_ns + by, controls.len() as u64);
                controls.push(Control::Deadline(i));
            }
            deadlines.push(by);
        }

        let mut r = Runner {
            scenario,
            seed,
            engine_kind: options.engine,
            b: engine,
            trace,
            progress: options.progress,
            wallet: Wallet::new(&scenario.chain, root.stream("wallet")),
            steps,
            controls,
            end_ns: start_ns + scenario.duration_ns,
            events: Vec::new(),
            aliases: BTreeMap::new(),
            step_rng: root.stream("steps"),
            workloads,
            expectations: vec![ExpState::Pending; scenario.expectations.len()],
            deadlines,
            invariants: Vec::new(),
            first_failure: None,
            failures: 0,
            macros: BTreeMap::new(),
            macro_checks: 0,
            macro_violation: None,
            micro_hashes: BTreeSet::new(),
            view_changes: BTreeMap::new(),
            snowball_seen: BTreeMap::new(),
            reverted: BTreeMap::new(),
            restakes: BTreeMap::new(),
            txs: BTreeMap::new(),
            named: BTreeMap::new(),
            reached: BTreeMap::new(),
            counts: Counts::default(),
            dropped_flushed: [0; 4],
            payments: 0,
            resubmitting: false,
            epoch_at_last_fault: 0,
            traced_facts: BTreeSet::new(),
            next_api_id: 0,
            api_pending: BTreeMap::new(),
            api_results: Vec::new(),
        };
        r.handle_events(events);
        Ok(r)
    }

    fn t(&self) -> u64 {
        self.b.elapsed_ns()
    }

    fn run(&mut self) -> Result<(), RunError> {
        let mut events = std::mem::take(&mut self.events);
        while let Some(next) = self.b.next(self.end_ns, &mut events) {
            if let Next::Control(id) = next {
                self.handle_events(std::mem::take(&mut events));
                self.control(self.controls[id as usize])?;
            }
            self.handle_events(std::mem::take(&mut events));
            events = std::mem::take(&mut self.events);
        }
        if let Some(why) = self.b.failure() {
            return Err(RunError::Engine(why));
        }
        self.b.advance_to(self.end_ns);
        Ok(())
    }

    /// Processes driver events, then gives the buffer back for reuse.
    fn handle_events(&mut self, mut events: Vec<DriverEvent>) {
        for e in events.drain(..) {
            match e {
                DriverEvent::Node {
                    node,
                    event,
                    relayed,
                } => self.node_event(node, event, relayed),
                DriverEvent::Api { node, msg, .. } => self.api_message(node, msg),
                DriverEvent::TimerStall { node } => {
                    self.counts.timer_stalls += 1;
                    let t = self.t();
                    self.trace.emit(t, Some(node), "timer_stall", |l| l);
                }
            }
        }
        if self.events.capacity() < events.capacity() {
            self.events = events;
        }
    }

    /// A response or wallet notification to the scenario's API client: traced; a response
    /// to an `api` step with `expect` decides that expectation.
    fn api_message(&mut self, node: NodeId, msg: stegosim_api::message::ServerMessage) {
        let t = self.t();
        let error = match &msg.kind {
            stegosim_api::message::ServerKind::Error(e) => Some(e.error.clone()),
            _ => None,
        };
        let kind = if msg.id == 0 {
            "notification"
        } else {
            "api_response"
        };
        let type_name = msg.type_name();
        // The message itself, as the API sends it (a simulated fact: no wall time in it
        // except `local_timestamp`, which is the node's virtual clock).
        let mut body = Vec::new();
        msg.to_json(&mut body);
        let body = String::from_utf8(body).unwrap_or_default();
        self.trace.emit(t, Some(node), kind, |l| {
            l.str("type", type_name).raw("message", &body)
        });
        if let stegosim_api::message::ServerKind::SnowballStatus(s) = &msg.kind {
            self.snowball_line(node, msg.account_id.as_deref(), s);
        }
        if msg.id == 0 {
            return;
        }
        let Some((line, expect, name)) = self.api_pending.remove(&msg.id) else {
            return;
        };
        if let (Some(n), stegosim_api::message::ServerKind::TransactionCreated(created)) =
            (&name, &msg.kind)
        {
            self.follow_api_transaction(node, n, &created.tx_hash);
        }
        let Some(want) = expect else { return };
        let held = type_name == want;
        let result = CheckResult {
            name: format!("api request at line {line} answers {want}"),
            line: Some(line),
            held,
            t_ns: t,
            detail: match &error {
                Some(e) => format!("answered {type_name}: {e}"),
                None => format!("answered {type_name}"),
            },
        };
        self.trace.emit(t, None, "expectation", |l| {
            l.str("name", &result.name)
                .u64("line", line as u64)
                .bool("held", held)
                .u64("decided_t_ns", t)
                .str("detail", &result.detail)
        });
        if !held {
            self.fail("expectation", &result);
        }
        self.api_results.push(result);
    }

    /// The `snowball_status` trace line of a notification (see `sim/README.md`).
    fn snowball_line(
        &mut self,
        node: NodeId,
        account_id: Option<&str>,
        s: &stegosim_api::message::SnowballStatus,
    ) {
        let t = self.t();
        let state = serde_json::to_value(s.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        self.snowball_seen
            .entry((node, account_id.unwrap_or("").to_string()))
            .or_default()
            .push(state.clone());
        self.trace.emit(t, Some(node), "snowball_status", |mut l| {
            l = l
                .str("account_id", account_id.unwrap_or(""))
                .str("state", &state);
            if let Some(id) = s.session_id {
                l = l.u64("session_id", id);
            }
            if let Some(p) = s.participants {
                l = l.u64("participants", p as u64);
            }
            if let Some(e) = &s.error {
                l = l.str("error", e);
            }
            l
        });
    }

    /// Follows a transaction an `api` step created under `name`, as a `pay` step's payment:
    /// statuses, resubmission, `tx_status` expectations, the terminal-status invariant.
    fn follow_api_transaction(&mut self, node: NodeId, name: &str, tx_hash: &str) {
        let Ok(hash) = tx_hash.parse::<Hash>() else {
            return;
        };
        let tx = self
            .b
            .node(node)
            .and_then(|n| n.mempool().get(&hash).cloned());
        let at_ns = self.t();
        if let Some(tx) = tx {
            self.counts.transactions.submitted += 1;
            self.txs.insert(
                hash,
                TxRecord {
                    name: Some(name.to_string()),
                    tx,
                    progress_ns: at_ns,
                    resubmits: 0,
                    status: "submitted",
                    terminal: false,
                },
            );
        }
        self.named
            .insert(name.to_string(), Named::Submitted { hash, at_ns });
        self.schedule_tx_deadlines(name, at_ns);
    }

    fn key_json(&self, key: &PublicKey) -> String {
        match self.b.node_of_key(key) {
            Some(n) => n.to_string(),
            None => format!("\"{}\"", hex(key.as_bytes())),
        }
    }

    /// Whether to trace a fact every node reports: always with `node_events = "all"`, only
    /// the first time with `"first"`.
    fn first_fact(&mut self, kind: u8, hash: Hash, epoch: u64, offset: u32) -> bool {
        match self.scenario.trace.node_events {
            NodeEvents::All => true,
            NodeEvents::First => self.traced_facts.insert((kind, hash, epoch, offset)),
        }
    }

    fn node_event(&mut self, node: NodeId, event: Event, relayed: Option<Box<Transaction>>) {
        let t = self.t();
        match event {
            Event::MicroBlockPrepared {
                epoch,
                offset,
                view_change,
                hash,
                leader,
                transactions,
            } => {
                self.micro_hashes.insert(hash);
                if !self.first_fact(0, hash, epoch, offset) {
                    return;
                }
                let leader = self.key_json(&leader);
                self.trace.emit(t, Some(node), "micro_block_prepared", |l| {
                    l.u64("epoch", epoch)
                        .u64("offset", offset as u64)
                        .u64("view_change", view_change as u64)
                        .str("hash", &hash.to_string())
                        .raw("leader", &leader)
                        .u64("transactions", transactions as u64)
                });
            }
            Event::MicroBlockReverted {
                epoch,
                offset,
                view_change,
                hash,
            } => {
                *self.reverted.entry(node).or_default() += 1;
                self.counts.micro_blocks_reverted += 1;
                self.trace.emit(t, Some(node), "micro_block_reverted", |l| {
                    l.u64("epoch", epoch)
                        .u64("offset", offset as u64)
                        .u64("view_change", view_change as u64)
                        .str("hash", &hash.to_string())
                });
            }
            Event::MacroBlockCommitted {
                epoch,
                round,
                hash,
                transactions,
            } => {
                self.check_macro_agreement(node, epoch, hash);
                if !self.first_fact(1, hash, epoch, 0) {
                    return;
                }
                self.trace
                    .emit(t, Some(node), "macro_block_committed", |l| {
                        l.u64("epoch", epoch)
                            .u64("round", round as u64)
                            .str("hash", &hash.to_string())
                            .u64("transactions", transactions as u64)
                    });
            }
            Event::ViewChange {
                epoch,
                offset,
                view_change,
            } => {
                *self.view_changes.entry(node).or_default() += 1;
                self.counts.view_changes += 1;
                self.trace.emit(t, Some(node), "view_change", |l| {
                    l.u64("epoch", epoch)
                        .u64("offset", offset as u64)
                        .u64("view_change", view_change as u64)
                });
            }
            Event::TransactionStatus { tx_hash, status } => {
                let name = status_name(&status);
                self.tx_status(tx_hash, name);
                let (kind, epoch, offset) = match &status {
                    TxStatus::Accepted => (2, 0, 0),
                    TxStatus::Rejected { .. } => (3, 0, 0),
                    TxStatus::Prepared { epoch, offset } => (4, *epoch, *offset),
                    TxStatus::Rollback { epoch, offset } => (5, *epoch, *offset),
                    TxStatus::Committed { epoch } => (6, *epoch, 0),
                    TxStatus::Conflicted { epoch, offset } => {
                        (7, *epoch, offset.unwrap_or(u32::MAX))
                    }
                };
                if !self.first_fact(kind, tx_hash, epoch, offset) {
                    return;
                }
                let tx_name = self.txs.get(&tx_hash).and_then(|r| r.name.clone());
                self.trace
                    .emit(t, Some(node), "transaction_status", |mut l| {
                        l = l.str("tx", &tx_hash.to_string());
                        if let Some(n) = &tx_name {
                            l = l.str("name", n);
                        }
                        l = l.str("status", name);
                        match &status {
                            TxStatus::Prepared { epoch, offset }
                            | TxStatus::Rollback { epoch, offset } => {
                                l.u64("epoch", *epoch).u64("offset", *offset as u64)
                            }
                            TxStatus::Committed { epoch } => l.u64("epoch", *epoch),
                            TxStatus::Conflicted { epoch, offset } => l
                                .u64("epoch", *epoch)
                                .opt_u64("offset", offset.map(u64::from)),
                            TxStatus::Rejected { error, code } => {
                                l.str("code", code).str("error", error)
                            }
                            TxStatus::Accepted => l,
                        }
                    });
            }
            Event::Restake {
                tx_hash,
                stakes,
                amount,
            } => {
                *self.restakes.entry(node).or_default() += 1;
                self.counts.restakes += 1;
                let outputs: Vec<serde_json::Value> = relayed
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
                self.trace.emit(t, Some(node), "restake", |l| {
                    l.str("tx", &tx_hash.to_string())
                        .json("stakes", &stakes)
                        .i64("amount", amount)
                        .json("outputs", &outputs)
                });
            }
            Event::Refused { what, error } => {
                self.trace.emit(t, Some(node), "refused", |l| {
                    l.str("what", &what).str("error", &error)
                });
            }
            Event::Synchronized(s) => {
                self.trace
                    .emit(t, Some(node), "synchronized", |l| l.bool("synchronized", s));
            }
        }
    }

    fn tx_status(&mut self, hash: Hash, name: &'static str) {
        let t = self.t();
        let Some(rec) = self.txs.get_mut(&hash) else {
            return;
        };
        self.reached.entry((hash, name)).or_insert(t);
        if self.resubmitting && name != "accepted" {
            // A resubmission refused as already known (or already spent) says nothing new.
            return;
        }
        rec.progress_ns = t;
        if rec.status == "committed" {
            return;
        }
        rec.status = name;
        rec.terminal = matches!(name, "committed" | "rejected" | "conflicted");
    }

    fn fail(&mut self, kind: &str, result: &CheckResult) {
        self.failures += 1;
        if self.first_failure.is_none() {
            self.first_failure = Some(Failure {
                t_ns: result.t_ns,
                kind: kind.to_string(),
                name: result.name.clone(),
                detail: result.detail.clone(),
                line: result.line,
            });
        }
    }

    fn check_macro_agreement(&mut self, node: NodeId, epoch: u64, hash: Hash) {
        self.counts.epochs = self.counts.epochs.max(epoch);
        if !self.scenario.invariants.macro_agreement {
            return;
        }
        self.macro_checks += 1;
        let canonical = *self.macros.entry(epoch).or_insert(hash);
        if canonical != hash && self.macro_violation.is_none() {
            let t = self.t();
            let result = CheckResult {
                name: "macro_agreement".into(),
                line: None,
                held: false,
                t_ns: t,
                detail: format!(
                    "node {node} committed {hash} for epoch {epoch}, another node committed {canonical}"
                ),
            };
            self.trace.emit(t, Some(node), "invariant", |l| {
                l.str("name", "macro_agreement")
                    .bool("held", false)
                    .str("detail", &result.detail)
            });
            self.fail("invariant", &result);
            self.macro_violation = Some(result);
        }
    }

    // ----- control events ---------------------------------------------------------------

    fn control(&mut self, c: Control) -> Result<(), RunError> {
        match c {
            Control::Check => {
                self.flush_drops();
                self.resubmit_stalled();
                self.evaluate_expectations(false);
                self.report_progress();
                let next = self.b.now_ns() + CHECK_INTERVAL_NS;
                if next <= self.end_ns {
                    self.b.schedule(next, 0);
                }
            }
            Control::Convergence => {
                let result = self.convergence("after the last fault");
                self.record_invariant(result);
                let held = self.counts.epochs > self.epoch_at_last_fault;
                let result = CheckResult {
                    name: "progress (after the last fault)".into(),
                    line: None,
                    held,
                    t_ns: self.t(),
                    detail: format!(
                        "highest committed epoch {} at the last fault, {} now",
                        self.epoch_at_last_fault, self.counts.epochs
                    ),
                };
                self.record_invariant(result);
            }
            Control::Step(i) => {
                let step = self.steps[i].clone();
                self.step(&step)?;
                if step.value.is_fault() {
                    self.epoch_at_last_fault = self.counts.epochs;
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
        let p = self.progress_now();
        if let Some(cb) = self.progress.as_mut() {
            cb(&p);
        }
    }

    fn progress_now(&self) -> Progress {
        Progress {
            elapsed_ns: self.t(),
            duration_ns: self.scenario.duration_ns,
            epoch: self.counts.epochs,
            micro_blocks: self.micro_hashes.len() as u64,
            transactions: self.payments,
            committed: self
                .txs
                .values()
                .filter(|r| r.status == "committed")
                .count() as u64,
            failures: self.failures,
        }
    }

    fn flush_drops(&mut self) {
        let t = self.t();
        let now = self.b.stats().messages_dropped;
        for reason in DropReason::ALL {
            let i = reason as usize;
            let delta = now[i] - self.dropped_flushed[i];
            if delta > 0 {
                self.trace.emit(t, None, "message_dropped", |l| {
                    l.str("reason", reason.name())
                        .u64("count", delta)
                        .u64("window_ns", CHECK_INTERVAL_NS)
                });
            }
        }
        self.dropped_flushed = now;
    }

    /// Resolves a single node reference now.
    fn resolve(&mut self, r: &NodeRef) -> Result<NodeId, String> {
        match r {
            // Loading a file checks indices, but a scenario built or edited in code (shrinking
            // removes nodes) may name one that does not exist.
            NodeRef::Index(i) if *i >= self.scenario.nodes => Err(format!(
                "node {i} does not exist: the network has {} nodes",
                self.scenario.nodes
            )),
            NodeRef::Index(i) => Ok(*i),
            NodeRef::Alias(a) => self
                .aliases
                .get(a)
                .copied()
                .ok_or_else(|| format!("{a:?} has not been picked")),
            NodeRef::Random => {
                let running: Vec<NodeId> = self.b.running().map(|(i, _)| i).collect();
                if running.is_empty() {
                    return Err("no node is running".into());
                }
                Ok(running[self.step_rng.below(running.len() as u64) as usize])
            }
            NodeRef::Leader => self.leader(),
            NodeRef::Rest => Err("\"rest\" is only meaningful in a list".into()),
        }
    }

    /// The node leading the next block, as the most advanced running validator sees it.
    fn leader(&self) -> Result<NodeId, String> {
        let best = self
            .b
            .running()
            .filter(|(_, n)| n.network_pkey().is_some())
            .max_by_key(|(i, n)| (n.chain().epoch(), n.chain().offset(), std::cmp::Reverse(*i)))
            .map(|(_, n)| n)
            .ok_or("no validator is running")?;
        let c = best.chain();
        let key = if c.epoch_full() {
            c.election.macro_proposer(&c.tip_random(), 0)
        } else {
            c.leader_at(best.view_change())
        };
        self.b
            .node_of_key(&key)
            .ok_or_else(|| "the leader's key belongs to no node".into())
    }

    /// Resolves lists of nodes together: each reference is resolved once (so `"random"` is
    /// drawn once), and `"rest"` stands for every node no list names.
    fn resolve_groups(&mut self, groups: &[&[NodeRef]]) -> Result<Vec<BTreeSet<NodeId>>, String> {
        let mut sets = Vec::with_capacity(groups.len());
        let mut with_rest = Vec::new();
        let mut named = BTreeSet::new();
        for (i, g) in groups.iter().enumerate() {
            let mut set = BTreeSet::new();
            for r in g.iter() {
                if *r == NodeRef::Rest {
                    with_rest.push(i);
                } else {
                    let id = self.resolve(r)?;
                    set.insert(id);
                    named.insert(id);
                }
            }
            sets.push(set);
        }
        let rest: Vec<NodeId> = (0..self.scenario.nodes)
            .filter(|n| !named.contains(n))
            .collect();
        for i in with_rest {
            sets[i].extend(rest.iter().copied());
        }
        Ok(sets)
    }

    /// Resolves a `from` and a `to` list of nodes together (so `"rest"` means the nodes
    /// neither names).
    fn resolve_pair(
        &mut self,
        from: &[NodeRef],
        to: &[NodeRef],
    ) -> Result<(BTreeSet<NodeId>, BTreeSet<NodeId>), String> {
        let mut r = self.resolve_groups(&[from, to])?;
        let t = r.pop().expect("two lists in, two sets out");
        Ok((r.pop().expect("two lists in, two sets out"), t))
    }

    fn step_error(&mut self, step: &Located<Step>, node: Option<NodeId>, why: &str) {
        let t = self.t();
        self.trace.emit(t, node, "step", |l| {
            l.str("action", step.value.action())
                .u64("line", step.line as u64)
                .str("error", why)
        });
    }

    fn fault_line(
        &mut self,
        node: Option<NodeId>,
        fault: &str,
        build: impl FnOnce(crate::trace::Line<'_>) -> crate::trace::Line<'_>,
    ) {
        self.counts.faults += 1;
        let t = self.t();
        self.trace
            .emit(t, node, "fault", |l| build(l.str("fault", fault)));
    }

    fn step(&mut self, step: &Located<Step>) -> Result<(), RunError> {
        let single = |r: &mut Self, n: &NodeRef| -> Option<NodeId> {
            match r.resolve(n) {
                Ok(id) => Some(id),
                Err(why) => {
                    r.step_error(step, None, &why);
                    None
                }
            }
        };
        match &step.value {
            Step::Pay {
                node,
                to,
                amount_ustg,
                name,
                ..
            } => {
                let Some(id) = single(self, node) else {
                    if let Some(n) = name {
                        self.named.insert(
                            n.clone(),
                            Named::NotSubmitted {
                                why: "its node could not be resolved".into(),
                            },
                        );
                    }
                    return Ok(());
                };
                let key = named_key(to);
                let result = self.pay(id, key.public(), *amount_ustg, name.clone());
                let t = self.t();
                match result {
                    Ok(hash) => {
                        self.trace.emit(t, Some(id), "step", |l| {
                            l.str("action", "pay")
                                .u64("line", step.line as u64)
                                .str("to", to)
                                .i64("amount_ustg", *amount_ustg)
                                .opt_str("name", name.as_deref())
                                .str("tx", &hash.to_string())
                        });
                    }
                    Err(why) => {
                        self.step_error(step, Some(id), &why);
                        if let Some(n) = name {
                            self.named.insert(n.clone(), Named::NotSubmitted { why });
                        }
                    }
                }
            }
            Step::Api {
                node,
                request,
                expect,
                name,
                ..
            } => {
                let Some(id) = single(self, node) else {
                    return Ok(());
                };
                let mut req = match scenario::api_request(request) {
                    Ok(r) => r,
                    Err(why) => {
                        self.step_error(step, Some(id), &why);
                        return Ok(());
                    }
                };
                self.next_api_id += 1;
                req.id = self.next_api_id;
                self.api_pending
                    .insert(req.id, (step.line, expect.clone(), name.clone()));
                self.b.set_api_client();
                let t = self.t();
                let type_name = req.type_name();
                self.trace.emit(t, Some(id), "api_request", |l| {
                    l.u64("line", step.line as u64)
                        .u64("id", req.id)
                        .str("type", type_name)
                        .opt_str("account_id", req.account_id.as_deref())
                });
                let mut events = std::mem::take(&mut self.events);
                let ran = self.b.api_request(id, req, &mut events);
                if !ran {
                    self.step_error(step, Some(id), "the node is down");
                }
                self.handle_events(events);
            }
            Step::SnowballDrop { node, phase, .. } => {
                let Some(id) = single(self, node) else {
                    return Ok(());
                };
                let mut events = std::mem::take(&mut self.events);
                let ran = self
                    .b
                    .with_node(id, &mut events, |n, _| n.snowball_drop(phase.state()));
                if ran.is_some() {
                    self.fault_line(Some(id), "snowball_drop", |l| {
                        l.u64("line", step.line as u64).str("phase", phase.name())
                    });
                } else {
                    self.step_error(step, Some(id), "the node is down");
                }
                self.handle_events(events);
            }
            Step::PopMicroBlock { node, .. } => {
                let Some(id) = single(self, node) else {
                    return Ok(());
                };
                let mut events = std::mem::take(&mut self.events);
                let r = self.b.with_node(id, &mut events, |n, now| {
                    n.pop_micro_block(now).map(|b| (b.epoch, b.offset))
                });
                let t = self.t();
                match r {
                    Some(Ok((epoch, offset))) => {
                        self.trace.emit(t, Some(id), "step", |l| {
                            l.str("action", "pop_micro_block")
                                .u64("line", step.line as u64)
                                .u64("epoch", epoch)
                                .u64("offset", offset as u64)
                        });
                    }
                    Some(Err(why)) => self.step_error(step, Some(id), why),
                    None => self.step_error(step, Some(id), "the node is down"),
                }
                self.handle_events(events);
            }
            Step::SetRestaking { node, enabled, .. } => {
                let Some(id) = single(self, node) else {
                    return Ok(());
                };
                let mut events = std::mem::take(&mut self.events);
                let r = self
                    .b
                    .with_node(id, &mut events, |n, _| n.set_restaking(*enabled));
                let t = self.t();
                if r.is_some() {
                    self.trace.emit(t, Some(id), "step", |l| {
                        l.str("action", "set_restaking")
                            .u64("line", step.line as u64)
                            .bool("enabled", *enabled)
                    });
                } else {
                    self.step_error(step, Some(id), "the node is down");
                }
                self.handle_events(events);
            }
            Step::Restake { node, .. } => {
                let Some(id) = single(self, node) else {
                    return Ok(());
                };
                let mut events = std::mem::take(&mut self.events);
                let r = self
                    .b
                    .with_node(id, &mut events, |n, now| n.restake(now, true));
                let t = self.t();
                match r {
                    Some(hashes) => {
                        let hashes: Vec<String> = hashes.iter().map(Hash::to_string).collect();
                        self.trace.emit(t, Some(id), "step", |l| {
                            l.str("action", "restake")
                                .u64("line", step.line as u64)
                                .json("txs", &hashes)
                        });
                    }
                    None => self.step_error(step, Some(id), "the node is down"),
                }
                self.handle_events(events);
            }
            Step::Pick { name, node, .. } => {
                let Some(id) = single(self, node) else {
                    return Ok(());
                };
                self.aliases.insert(name.clone(), id);
                let t = self.t();
                self.trace.emit(t, Some(id), "step", |l| {
                    l.str("action", "pick")
                        .u64("line", step.line as u64)
                        .str("name", name)
                        .str("node_ref", &node.to_string())
                });
            }
            Step::Partition { groups, .. } => {
                let lists: Vec<&[NodeRef]> = groups.iter().map(Vec::as_slice).collect();
                let resolved = match self.resolve_groups(&lists) {
                    Ok(r) => r,
                    Err(why) => {
                        self.step_error(step, None, &why);
                        return Ok(());
                    }
                };
                for (i, a) in resolved.iter().enumerate() {
                    for (j, b) in resolved.iter().enumerate() {
                        if i == j {
                            continue;
                        }
                        for &x in a {
                            for &y in b {
                                if x != y {
                                    self.b.set_cut(x, y);
                                }
                            }
                        }
                    }
                }
                let groups_json: Vec<Vec<NodeId>> = resolved
                    .iter()
                    .map(|g| g.iter().copied().collect())
                    .collect();
                self.fault_line(None, "partition", |l| l.json("groups", &groups_json));
            }
            Step::Cut { from, to, .. } => {
                let (f, t) = match self.resolve_pair(from, to) {
                    Ok(pair) => pair,
                    Err(why) => {
                        self.step_error(step, None, &why);
                        return Ok(());
                    }
                };
                for &x in &f {
                    for &y in &t {
                        if x != y {
                            self.b.set_cut(x, y);
                        }
                    }
                }
                let fv: Vec<NodeId> = f.into_iter().collect();
                let tv: Vec<NodeId> = t.into_iter().collect();
                self.fault_line(None, "cut", |l| l.json("from", &fv).json("to", &tv));
            }
            Step::Heal { .. } => {
                let cut = self.b.cut_count() as u64;
                self.b.heal();
                self.fault_line(None, "heal", |l| l.u64("links_restored", cut));
            }
            Step::Crash { node, .. } => {
                let Some(id) = single(self, node) else {
                    return Ok(());
                };
                let crashed = self.b.crash(id);
                self.fault_line(Some(id), "crash", |l| l.bool("was_running", crashed));
            }
            Step::Restart { node, .. } => {
                let Some(id) = single(self, node) else {
                    return Ok(());
                };
                let mut events = std::mem::take(&mut self.events);
                let restarted = self
                    .b
                    .restart(id, &mut events)
                    .map_err(|why| RunError::NodeStart { node: id, why })?;
                if restarted {
                    let (epoch, offset) = self
                        .b
                        .node(id)
                        .map(|n| (n.chain().epoch(), n.chain().offset()))
                        .unwrap_or_default();
                    let incarnation = self.b.incarnation(id);
                    self.fault_line(Some(id), "restart", |l| {
                        l.u64("incarnation", incarnation as u64)
                            .u64("epoch", epoch)
                            .u64("offset", offset as u64)
                    });
                }
                self.handle_events(events);
            }
            Step::SetNetwork {
                latency,
                loss,
                duplicate,
                reorder,
                reorder_delay,
                from,
                to,
                ..
            } => {
                let change = |mut o: LinkOptions| {
                    if let Some(l) = latency {
                        o.latency = scenario::latency(l);
                    }
                    if let Some(p) = loss {
                        o.loss_probability = *p;
                    }
                    if let Some(p) = duplicate {
                        o.duplicate_probability = *p;
                    }
                    if let Some(p) = reorder {
                        o.reorder_probability = *p;
                    }
                    if let Some(d) = reorder_delay {
                        o.reorder_delay_ns_max = d.ns;
                    }
                    o
                };
                let mut links = 0u64;
                match (from, to) {
                    (Some(f), Some(t)) => {
                        let (fs, ts) = match self.resolve_pair(f, t) {
                            Ok(pair) => pair,
                            Err(why) => {
                                self.step_error(step, None, &why);
                                return Ok(());
                            }
                        };
                        for &x in &fs {
                            for &y in &ts {
                                if x != y {
                                    let o = change(self.b.link(x, y));
                                    self.b.set_link(x, y, o);
                                    links += 1;
                                }
                            }
                        }
                    }
                    _ => {
                        let o = change(self.b.default_options());
                        self.b.set_default(o);
                    }
                }
                self.fault_line(None, "set_network", |mut l| {
                    if let Some(lat) = latency {
                        l = l.json("latency", &latency_json(lat));
                    }
                    if let Some(p) = loss {
                        l = l.f64("loss", *p);
                    }
                    if let Some(p) = duplicate {
                        l = l.f64("duplicate", *p);
                    }
                    if let Some(p) = reorder {
                        l = l.f64("reorder", *p);
                    }
                    if let Some(d) = reorder_delay {
                        l = l.u64("reorder_delay_ns", d.ns);
                    }
                    if links > 0 {
                        l = l.u64("links", links);
                    }
                    l
                });
            }
            Step::ClockDrift {
                node,
                drift_ppm,
                jump,
                ..
            } => {
                let Some(id) = single(self, node) else {
                    return Ok(());
                };
                self.b.set_clock(id, *drift_ppm, jump.ns);
                self.fault_line(Some(id), "clock_drift", |l| {
                    l.i64("drift_ppm", *drift_ppm).u64("jump_ns", jump.ns)
                });
            }
        }
        Ok(())
    }

    /// Builds and submits a payment through node `id`; returns its hash.
    fn pay(
        &mut self,
        id: NodeId,
        to: &PublicKey,
        amount: i64,
        name: Option<String>,
    ) -> Result<Hash, String> {
        if self.payments >= PAYMENTS_MAX {
            return Err(format!("more than {PAYMENTS_MAX} payments in one run"));
        }
        let Some(node) = self.b.node(id) else {
            return Err("the node is down".into());
        };
        let comment = name.clone().unwrap_or_else(|| "load".into());
        let tx = self
            .wallet
            .payment(node, to, amount, &comment)
            .map_err(|e| {
                self.counts.transactions.skipped_no_funds += 1;
                e.to_string()
            })?;
        let hash = tx.hash();
        self.payments += 1;
        self.counts.transactions.submitted += 1;
        self.txs.insert(
            hash,
            TxRecord {
                name: name.clone(),
                tx: tx.clone(),
                progress_ns: self.t(),
                resubmits: 0,
                status: "submitted",
                terminal: false,
            },
        );
        let at_ns = self.t();
        if let Some(n) = &name {
            self.named
                .insert(n.clone(), Named::Submitted { hash, at_ns });
            self.schedule_tx_deadlines(n, at_ns);
        }
        let mut events = std::mem::take(&mut self.events);
        let submitted = self.b.with_node(id, &mut events, |n, now| {
            n.submit_transaction(now, tx.clone())
        });
        self.handle_events(events);
        match submitted {
            Some(Ok(_)) => Ok(hash),
            Some(Err(_)) => {
                // The node reported `rejected`, which made the record terminal.
                self.wallet.release(&tx);
                Ok(hash)
            }
            None => Err("the node is down".into()),
        }
    }

    /// Resubmits payments that made no progress for [`RESUBMIT_AFTER_NS`].
    fn resubmit_stalled(&mut self) {
        let t = self.t();
        let stalled: Vec<Hash> = self
            .txs
            .iter()
            .filter(|(_, r)| {
                !r.terminal
                    && r.resubmits < RESUBMITS_MAX
                    && t.saturating_sub(r.progress_ns) >= RESUBMIT_AFTER_NS
            })
            .map(|(h, _)| *h)
            .collect();
        for hash in stalled {
            let running: Vec<NodeId> = self.b.running().map(|(i, _)| i).collect();
            if running.is_empty() {
                return;
            }
            let id = running[self.step_rng.below(running.len() as u64) as usize];
            let rec = self.txs.get_mut(&hash).expect("collected above");
            rec.resubmits += 1;
            rec.progress_ns = t;
            let tx = rec.tx.clone();
            let attempt = rec.resubmits;
            self.trace.emit(t, Some(id), "resubmit", |l| {
                l.str("tx", &hash.to_string())
                    .u64("attempt", attempt as u64)
            });
            let mut events = std::mem::take(&mut self.events);
            self.resubmitting = true;
            self.b
                .with_node(id, &mut events, |n, now| n.submit_transaction(now, tx));
            self.handle_events(events);
            self.resubmitting = false;
        }
    }

    fn schedule_tx_deadlines(&mut self, name: &str, at_ns: u64) {
        for (i, e) in self.scenario.expectations.iter().enumerate() {
            if let Expect::TxStatus { tx, within, .. } = &e.value {
                if tx == name {
                    let deadline = at_ns.saturating_add(within.ns);
                    self.deadlines[i] = Some(deadline);
                    let abs = self.b.start_ns() + deadline;
                    if abs <= self.end_ns {
                        let id = self.controls.len() as u64;
                        self.controls.push(Control::Deadline(i));
                        self.b.schedule(abs, id);
                    }
                }
            }
        }
    }

    fn workload_tick(&mut self, i: usize) {
        let Workload::Payments {
            node,
            amount_ustg,
            recipients,
            stop,
            ..
        } = &self.scenario.workloads[i].value;
        let id = match node {
            NodeRef::Random => {
                let running: Vec<NodeId> = self.b.running().map(|(n, _)| n).collect();
                if running.is_empty() {
                    None
                } else {
                    let w = &mut self.workloads[i];
                    Some(running[w.rng.below(running.len() as u64) as usize])
                }
            }
            other => self.resolve(other).ok(),
        };
        let w = &mut self.workloads[i];
        let amount = draw(&mut w.rng, amount_ustg).round().max(1.0) as i64;
        let recipient = format!("load-{}", w.rng.below(*recipients as u64));
        if let Some(id) = id {
            let key = named_key(&recipient);
            let _ = self.pay(id, key.public(), amount, None);
        }
        let w = &mut self.workloads[i];
        let next = w.next_ns + exp_interval(w);
        w.next_ns = next;
        if next < stop.ns {
            let abs = self.b.start_ns() + next;
            let cid = self
                .controls
                .iter()
                .position(|c| *c == Control::Workload(i))
                .expect("every workload has a control id") as u64;
            self.b.schedule(abs, cid);
        }
    }

    // ----- expectations ----------------------------------------------------------------

    fn evaluate_expectations(&mut self, at_end: bool) {
        for i in 0..self.expectations.len() {
            self.evaluate_one(i, at_end);
        }
    }

    /// Evaluates expectation `i`; `deadline` is true at its deadline (or the run's end).
    fn evaluate_one(&mut self, i: usize, deadline: bool) {
        if matches!(self.expectations[i], ExpState::Decided(_)) {
            return;
        }
        let e = self.scenario.expectations[i].clone();
        let t = self.t();
        let reached_deadline =
            deadline || self.deadlines[i].is_some_and(|d| t >= d) || self.b.now_ns() >= self.end_ns;
        let verdict = self.verdict(&e.value, reached_deadline);
        let (held, at, detail) = match verdict {
            Verdict::Holds { at_ns, detail } => (true, at_ns.unwrap_or(t), detail),
            Verdict::Violated(detail) => (false, t, detail),
            Verdict::Waiting(detail) if reached_deadline => {
                (false, t, format!("deadline passed: {detail}"))
            }
            Verdict::Waiting(_) => return,
        };
        let result = CheckResult {
            name: describe_expect(&e.value),
            line: Some(e.line),
            held,
            t_ns: at,
            detail,
        };
        self.trace.emit(t, None, "expectation", |l| {
            l.str("name", &result.name)
                .u64("line", e.line as u64)
                .bool("held", held)
                .u64("decided_t_ns", at)
                .str("detail", &result.detail)
        });
        if !held {
            self.fail("expectation", &result);
        }
        self.expectations[i] = ExpState::Decided(result);
    }

    fn resolve_quiet(&self, r: &NodeRef) -> Result<NodeId, String> {
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

    fn verdict(&self, e: &Expect, at_deadline: bool) -> Verdict {
        match e {
            Expect::Snowball {
                node,
                account_id,
                states,
                ..
            } => {
                let id = match self.resolve_quiet(node) {
                    Ok(id) => id,
                    Err(w) => return Verdict::Waiting(w),
                };
                let seen = self
                    .snowball_seen
                    .get(&(id, account_id.clone()))
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let mut want = states.iter().peekable();
                for s in seen {
                    if want.peek().is_some_and(|w| *w == s) {
                        want.next();
                    }
                }
                if want.peek().is_none() {
                    Verdict::Holds {
                        at_ns: None,
                        detail: format!("states seen: {}", seen.join(", ")),
                    }
                } else {
                    Verdict::Waiting(format!("states seen so far: [{}]", seen.join(", ")))
                }
            }
            Expect::TxStatus { tx, status, .. } => match self.named.get(tx) {
                None => Verdict::Waiting(format!("payment {tx} has not been submitted")),
                Some(Named::NotSubmitted { why, .. }) => {
                    Verdict::Violated(format!("payment {tx} was not submitted: {why}"))
                }
                Some(Named::Submitted { hash, at_ns }) => {
                    let key = (*hash, status.name());
                    match self.reached.get(&key) {
                        Some(&t) => Verdict::Holds {
                            at_ns: Some(t),
                            detail: format!(
                                "{} {} after submission",
                                status.name(),
                                format_ns(t - at_ns)
                            ),
                        },
                        None => {
                            let cur = self.txs.get(hash).map_or("unknown", |r| r.status);
                            if *status != StatusName::Committed
                                && *status != StatusName::Conflicted
                                && cur == "committed"
                            {
                                return Verdict::Violated(format!(
                                    "payment {tx} committed without being {}",
                                    status.name()
                                ));
                            }
                            Verdict::Waiting(format!("payment {tx} is {cur}"))
                        }
                    }
                }
            },
            Expect::Epoch { at_least, node, .. } => {
                let nodes: Vec<(NodeId, u64)> = match node {
                    Some(r) => match self.resolve_quiet(r) {
                        Ok(id) => match self.b.node(id) {
                            Some(n) => vec![(id, n.chain().epoch())],
                            None => return Verdict::Waiting(format!("node {id} is down")),
                        },
                        Err(w) => return Verdict::Waiting(w),
                    },
                    None => self
                        .b
                        .running()
                        .map(|(i, n)| (i, n.chain().epoch()))
                        .collect(),
                };
                match nodes.iter().find(|(_, e)| e < at_least) {
                    Some((i, e)) => Verdict::Waiting(format!("node {i} is at epoch {e}")),
                    None => Verdict::Holds {
                        at_ns: None,
                        detail: format!("epoch >= {at_least} on {} nodes", nodes.len()),
                    },
                }
            }
            Expect::ViewChange { at_least, node, .. } => {
                let count = match node {
                    Some(r) => match self.resolve_quiet(r) {
                        Ok(id) => self.view_changes.get(&id).copied().unwrap_or(0),
                        Err(w) => return Verdict::Waiting(w),
                    },
                    None => self.counts.view_changes,
                };
                if count >= *at_least {
                    Verdict::Holds {
                        at_ns: None,
                        detail: format!("{count} view changes"),
                    }
                } else {
                    Verdict::Waiting(format!("{count} view changes"))
                }
            }
            Expect::Reverted { node, at_least, .. } => {
                let id = match self.resolve_quiet(node) {
                    Ok(id) => id,
                    Err(w) => return Verdict::Waiting(w),
                };
                let count = self.reverted.get(&id).copied().unwrap_or(0);
                if count >= *at_least {
                    Verdict::Holds {
                        at_ns: None,
                        detail: format!("node {id} reverted {count} micro blocks"),
                    }
                } else {
                    Verdict::Waiting(format!("node {id} reverted {count} micro blocks"))
                }
            }
            Expect::Restakes {
                node,
                at_least,
                at_most,
                ..
            } => {
                let id = match self.resolve_quiet(node) {
                    Ok(id) => id,
                    Err(w) => return Verdict::Waiting(w),
                };
                let count = self.restakes.get(&id).copied().unwrap_or(0);
                if let Some(m) = at_most {
                    if count > *m {
                        return Verdict::Violated(format!(
                            "node {id} restaked {count} times, more than {m}"
                        ));
                    }
                }
                let enough = at_least.is_none_or(|l| count >= l);
                // With an upper bound, it only holds once the deadline is reached.
                if enough && (at_most.is_none() || at_deadline) {
                    Verdict::Holds {
                        at_ns: None,
                        detail: format!("node {id} restaked {count} times"),
                    }
                } else {
                    Verdict::Waiting(format!("node {id} restaked {count} times"))
                }
            }
            Expect::Validator { node, member, .. } => {
                let id = match self.resolve_quiet(node) {
                    Ok(id) => id,
                    Err(w) => return Verdict::Waiting(w),
                };
                let Some(key) = self.b.node(id).and_then(Node::network_pkey).or_else(|| {
                    // A crashed node's key is still known to the others.
                    self.b
                        .running()
                        .flat_map(|(_, n)| n.chain().election.validators.iter())
                        .map(|v| v.network_pkey)
                        .find(|k| self.b.node_of_key(k) == Some(id))
                }) else {
                    return if *member {
                        Verdict::Waiting(format!("node {id} has no validator key"))
                    } else {
                        Verdict::Holds {
                            at_ns: None,
                            detail: format!("node {id} has no validator key"),
                        }
                    };
                };
                let disagree: Vec<NodeId> = self
                    .b
                    .running()
                    .filter(|(_, n)| n.chain().election.is_validator(&key) != *member)
                    .map(|(i, _)| i)
                    .collect();
                if disagree.is_empty() {
                    Verdict::Holds {
                        at_ns: None,
                        detail: format!(
                            "every running node sees node {id} {} the validator set",
                            if *member { "in" } else { "out of" }
                        ),
                    }
                } else {
                    Verdict::Waiting(format!(
                        "nodes {disagree:?} still see node {id} {} the validator set",
                        if *member { "out of" } else { "in" }
                    ))
                }
            }
            Expect::CaughtUp { node, .. } => {
                let id = match self.resolve_quiet(node) {
                    Ok(id) => id,
                    Err(w) => return Verdict::Waiting(w),
                };
                let Some(n) = self.b.node(id) else {
                    return Verdict::Waiting(format!("node {id} is down"));
                };
                let best = self
                    .b
                    .running()
                    .map(|(_, m)| m.chain().epoch())
                    .max()
                    .unwrap_or(0);
                let mine = n.chain().epoch();
                if mine >= best {
                    Verdict::Holds {
                        at_ns: None,
                        detail: format!("node {id} is at epoch {mine}, the highest"),
                    }
                } else {
                    Verdict::Waiting(format!("node {id} is at epoch {mine}, others at {best}"))
                }
            }
            Expect::Committed { at_least, .. } => {
                let c = self
                    .txs
                    .values()
                    .filter(|r| r.status == "committed")
                    .count() as u64;
                if c >= *at_least {
                    Verdict::Holds {
                        at_ns: None,
                        detail: format!("{c} payments committed"),
                    }
                } else {
                    Verdict::Waiting(format!("{c} payments committed"))
                }
            }
        }
    }

    // ----- invariants ------------------------------------------------------------------

    fn record_invariant(&mut self, result: CheckResult) {
        let t = self.t();
        self.trace.emit(t, None, "invariant", |l| {
            l.str("name", &result.name)
                .bool("held", result.held)
                .str("detail", &result.detail)
        });
        if !result.held {
            self.fail("invariant", &result);
        }
        self.invariants.push(result);
    }

    /// Running nodes agree on their macro blocks and are at most one epoch apart.
    fn convergence(&self, when: &str) -> CheckResult {
        let t = self.t();
        let running: Vec<(NodeId, &Node)> = self.b.running().collect();
        let name = format!("convergence ({when})");
        let Some(min) = running.iter().map(|(_, n)| n.chain().epoch()).min() else {
            return CheckResult {
                name,
                line: None,
                held: true,
                t_ns: t,
                detail: "no node is running".into(),
            };
        };
        let max = running
            .iter()
            .map(|(_, n)| n.chain().epoch())
            .max()
            .unwrap_or(min);
        let mut detail = format!("{} running nodes at epochs {min}..={max}", running.len());
        let mut held = max - min <= 1;
        if !held {
            let behind: Vec<NodeId> = running
                .iter()
                .filter(|(_, n)| n.chain().epoch() + 1 < max)
                .map(|(i, _)| *i)
                .collect();
            detail = format!("nodes {behind:?} are more than one epoch behind epoch {max}");
        } else {
            // The macro chain is hash-linked: equal hashes at the lowest common epoch mean
            // equal histories.
            let k = min as usize - 1;
            let first = running[0].1.chain().macros[k].hash();
            if let Some((i, _)) = running
                .iter()
                .find(|(_, n)| n.chain().macros[k].hash() != first)
            {
                held = false;
                detail = format!(
                    "node {i} holds a different macro block for epoch {min} than node {}",
                    running[0].0
                );
            }
        }
        CheckResult {
            name,
            line: None,
            held,
            t_ns: t,
            detail,
        }
    }

    fn finish(mut self) -> Outcome {
        let t = self.t();
        self.flush_drops();
        self.evaluate_expectations(true);
        let inv = self.scenario.invariants.clone();
        if inv.macro_agreement {
            let result = self.macro_violation.clone().unwrap_or(CheckResult {
                name: "macro_agreement".into(),
                line: None,
                held: true,
                t_ns: t,
                detail: format!(
                    "{} commits of {} epochs agreed",
                    self.macro_checks,
                    self.macros.len()
                ),
            });
            let held = result.held;
            self.trace.emit(t, None, "invariant", |l| {
                l.str("name", "macro_agreement")
                    .bool("held", held)
                    .str("detail", &result.detail)
            });
            self.invariants.push(result);
        }
        if inv.convergence {
            let result = self.convergence("at the end");
            self.record_invariant(result);
        }
        if inv.transactions_terminal {
            let pending: Vec<String> = self
                .txs
                .iter()
                .filter(|(_, r)| !r.terminal)
                .map(|(h, r)| match &r.name {
                    Some(n) => format!("{n} ({})", r.status),
                    None => format!("{} ({})", short(h), r.status),
                })
                .collect();
            let result = CheckResult {
                name: "transactions_terminal".into(),
                line: None,
                held: pending.is_empty(),
                t_ns: t,
                detail: if pending.is_empty() {
                    format!("{} payments reached a terminal status", self.txs.len())
                } else {
                    format!(
                        "{} of {} payments are not terminal: {}",
                        pending.len(),
                        self.txs.len(),
                        pending
                            .iter()
                            .take(10)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            };
            self.record_invariant(result);
        }
        if inv.supply {
            let bad: Vec<String> = self
                .b
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
            let result = CheckResult {
                name: "supply".into(),
                line: None,
                held: bad.is_empty(),
                t_ns: t,
                detail: if bad.is_empty() {
                    "every running node's ledger holds genesis plus minted supply".into()
                } else {
                    bad.join("; ")
                },
            };
            self.record_invariant(result);
        }

        let stats = self.b.stats();
        let mut counts = std::mem::take(&mut self.counts);
        counts.events = stats.events;
        counts.messages_sent = stats.messages_sent;
        counts.messages_delivered = stats.messages_delivered;
        counts.messages_duplicated = stats.messages_duplicated;
        counts.messages_dropped = DropCounts {
            loss: stats.dropped(DropReason::Loss),
            partition: stats.dropped(DropReason::Partition),
            down: stats.dropped(DropReason::Down),
            overflow: stats.dropped(DropReason::Overflow),
        };
        counts.micro_blocks = self.micro_hashes.len() as u64;
        for r in self.txs.values() {
            match r.status {
                "committed" => counts.transactions.committed += 1,
                "rejected" => counts.transactions.rejected += 1,
                "conflicted" => counts.transactions.conflicted += 1,
                _ => counts.transactions.pending += 1,
            }
        }
        let expectations: Vec<CheckResult> = self
            .expectations
            .iter()
            .map(|s| match s {
                ExpState::Decided(r) => r.clone(),
                ExpState::Pending => unreachable!("every expectation is decided at the end"),
            })
            .collect();
        let mut expectations = expectations;
        expectations.extend(self.api_results.iter().cloned());
        // An `api` step with `expect` whose response never came fails.
        for (id, (line, expect, _)) in std::mem::take(&mut self.api_pending) {
            if let Some(want) = expect {
                let result = CheckResult {
                    name: format!("api request at line {line} answers {want}"),
                    line: Some(line),
                    held: false,
                    t_ns: t,
                    detail: format!("no response to request {id} by the end"),
                };
                self.fail("expectation", &result);
                expectations.push(result);
            }
        }
        let passed = self.first_failure.is_none();
        let c = &counts;
        self.trace.emit(t, None, "run_finished", |l| {
            l.bool("passed", passed)
                .u64("epochs", c.epochs)
                .u64("micro_blocks", c.micro_blocks)
                .u64("view_changes", c.view_changes)
                .u64("payments", c.transactions.submitted)
                .u64("committed", c.transactions.committed)
                .u64("messages_sent", c.messages_sent)
        });
        counts.trace_lines = self.trace.lines();
        let trace_hash = self.trace.hash_hex();
        let _ = self.trace.finish();
        Outcome {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            engine: self.engine_kind,
            passed,
            trace_hash,
            duration_ns: self.scenario.duration_ns,
            counts,
            expectations,
            invariants: self.invariants,
            first_failure: self.first_failure,
            trace: self.trace.kept().map(<[String]>::to_vec),
        }
    }
}

enum Verdict {
    Holds { at_ns: Option<u64>, detail: String },
    Violated(String),
    Waiting(String),
}

fn exp_interval(w: &mut WorkloadState) -> u64 {
    let u = w.rng.unit_f64();
    let secs = -(1.0 - u).ln() / w.rate_per_s;
    ((secs * SECOND_NS as f64) as u64).max(1)
}

/// A latency model as trace JSON: `{"distribution":"uniform","min_ns":..,"max_ns":..}`.
fn latency_json(l: &scenario::LatencySpec) -> serde_json::Value {
    use scenario::LatencySpec;
    match *l {
        LatencySpec::Constant { value } => {
            serde_json::json!({"distribution": "constant", "value_ns": value.ns})
        }
        LatencySpec::Uniform { min, max } => {
            serde_json::json!({"distribution": "uniform", "min_ns": min.ns, "max_ns": max.ns})
        }
        LatencySpec::Exponential { min, mean, max } => serde_json::json!({
            "distribution": "exponential",
            "min_ns": min.ns,
            "mean_ns": mean.ns,
            "max_ns": max.ns,
        }),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn short(h: &Hash) -> String {
    h.to_string()[..16].to_string()
}
