//! How to run: the engine, the seed, where the trace goes, who watches; what can stop a run
//! from happening at all; and the runner's fixed limits.

use std::io::Write;

use serde::Serialize;
use stegosim_node::invariants::Injection;
use stegosim_node::node::NodeId;

use crate::time::SECOND_NS;

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
    /// A fault planted in what the invariant checker sees (tests prove with it that a
    /// violation stops the run where it happens); `None` in every real run.
    pub inject: Option<Injection>,
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("seed", &self.seed)
            .field("engine", &self.engine)
            .field("keep_trace", &self.keep_trace)
            .field("inject", &self.inject)
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
            inject: None,
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
