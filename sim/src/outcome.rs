//! What a run produced: the [`Outcome`] (verdict, trace hash, counts, every check's result,
//! the first failure) and the builder the runner fills it with at the end.

use serde::Serialize;

use crate::des::EngineStats;
use crate::des::net::DropReason;
use crate::run::EngineKind;

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

/// What kind of check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// An expectation of the scenario file (or an `api` step's `expect`).
    Expectation,
    /// An invariant: something that must hold in any run.
    Invariant,
}

impl FailureKind {
    /// The name in summaries: `expectation` or `invariant`.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Expectation => "expectation",
            FailureKind::Invariant => "invariant",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The first thing that failed in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Virtual time (since the start) of the failure.
    pub t_ns: u64,
    /// Expectation or invariant.
    pub kind: FailureKind,
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

impl DropCounts {
    /// The engine's counters.
    pub fn of(stats: &EngineStats) -> DropCounts {
        DropCounts {
            loss: stats.dropped(DropReason::Loss),
            partition: stats.dropped(DropReason::Partition),
            down: stats.dropped(DropReason::Down),
            overflow: stats.dropped(DropReason::Overflow),
        }
    }

    /// The count of one reason.
    pub fn get(&self, reason: DropReason) -> u64 {
        match reason {
            DropReason::Loss => self.loss,
            DropReason::Partition => self.partition,
            DropReason::Down => self.down,
            DropReason::Overflow => self.overflow,
        }
    }
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

impl Counts {
    /// Takes the engine's network counters.
    pub(crate) fn with_engine(mut self, stats: &EngineStats) -> Counts {
        self.events = stats.events;
        self.messages_sent = stats.messages_sent;
        self.messages_delivered = stats.messages_delivered;
        self.messages_duplicated = stats.messages_duplicated;
        self.messages_dropped = DropCounts::of(stats);
        self
    }
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

impl Outcome {
    /// The command that runs this outcome's scenario again with its seed and engine, the
    /// scenario named by `file` (its path, or a built-in scenario's name).
    pub fn reproduce(&self, file: &str) -> String {
        reproduce_command(file, self.seed, self.engine)
    }
}

/// `stegosim run FILE --seed N`, with `--engine turmoil` when it ran there.
pub fn reproduce_command(file: &str, seed: u64, engine: EngineKind) -> String {
    match engine {
        EngineKind::Des => format!("stegosim run {file} --seed {seed}"),
        EngineKind::Turmoil => format!("stegosim run {file} --seed {seed} --engine turmoil"),
    }
}

/// Collects an [`Outcome`]'s parts as a run ends: the scenario's identity, and whether every
/// check held.
#[derive(Debug)]
pub(crate) struct OutcomeBuilder {
    /// Scenario name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// The engine.
    pub engine: EngineKind,
    /// Virtual time the scenario covers.
    pub duration_ns: u64,
}

impl OutcomeBuilder {
    /// The outcome of the run, from its checks and counts.
    pub fn build(
        self,
        trace_hash: String,
        counts: Counts,
        checks: crate::run::checks::CheckResults,
        trace: Option<Vec<String>>,
    ) -> Outcome {
        Outcome {
            scenario: self.scenario,
            seed: self.seed,
            engine: self.engine,
            passed: checks.first_failure.is_none(),
            trace_hash,
            duration_ns: self.duration_ns,
            counts,
            expectations: checks.expectations,
            invariants: checks.invariants,
            first_failure: checks.first_failure,
            trace,
        }
    }
}
