//! `summary.json`: what one simulation run (`stegosim run`) found, in numbers and checks.
//!
//! The command-line program writes it beside the trace ([`Summary::to_json`]); the reports
//! read it ([`Summary::from_json`]), and so can CI. `sim/README.md` ("summary.json") documents
//! the fields.
//!
//! The file's keys come out in alphabetical order at every level (the order the first
//! writer, a `serde_json::Value`, gave them), so every struct here declares its fields in
//! that order: the bytes of a summary written today are the bytes written before these types
//! existed. Reading is lenient where older files lack a field: counts default to zero, and the
//! fields added later (`engine`, `stegosim_version`, `finished_at`, `host`, ...) are optional.

use serde::{Deserialize, Serialize};

/// The file name of a run's summary in its output folder.
pub const FILE_NAME: &str = "summary.json";

/// `summary.json` of `stegosim run`. Fields in alphabetical order: see the module
/// documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The run's counts.
    pub counts: Counts,
    /// Virtual time covered, in ns.
    pub duration_ns: u64,
    /// Engine name (`des`, `turmoil`; empty in summaries older than the field).
    #[serde(default)]
    pub engine: String,
    /// Expectations, in file order.
    #[serde(default)]
    pub expectations: Vec<Check>,
    /// When the run finished, RFC 3339 UTC, wall clock (absent in older summaries). Never in
    /// the trace or its hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The first failure, if any (`null` when the run passed).
    #[serde(default)]
    pub first_failure: Option<Failure>,
    /// Host name of the machine that ran it (absent in older summaries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Invariant checks, in the order they were decided.
    #[serde(default)]
    pub invariants: Vec<Check>,
    /// Whether every expectation and invariant held.
    pub passed: bool,
    /// The command that reproduces the run.
    #[serde(default)]
    pub reproduce: String,
    /// Scenario name.
    pub scenario: String,
    /// The run's seed.
    pub seed: u64,
    /// Version of the stegosim that ran it (absent in older summaries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stegosim_version: Option<String>,
    /// BLAKE3 of the trace's bytes, 64 hex characters.
    pub trace_hash: String,
}

/// `counts` of `summary.json`. Fields in alphabetical order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    /// Highest epoch with a committed macro block.
    pub epochs: u64,
    /// Events the engine handed to the driver.
    pub events: u64,
    /// Faults applied (steps that change links, liveness or clocks).
    pub faults: u64,
    /// Messages delivered (duplicates included).
    pub messages_delivered: u64,
    /// Messages dropped, by reason.
    pub messages_dropped: DropCounts,
    /// Extra copies made by duplication.
    pub messages_duplicated: u64,
    /// Messages sent (one per destination).
    pub messages_sent: u64,
    /// Distinct micro blocks prepared (by hash).
    pub micro_blocks: u64,
    /// Micro blocks reverted, summed over nodes.
    pub micro_blocks_reverted: u64,
    /// Restake transactions, summed over nodes.
    pub restakes: u64,
    /// Times a node asked to be woken at the same instant too often.
    pub timer_stalls: u64,
    /// Lines in the trace.
    pub trace_lines: u64,
    /// The scenario's payments, by final status.
    pub transactions: TxCounts,
    /// View changes, summed over nodes.
    pub view_changes: u64,
}

/// Messages dropped, by reason. Fields in alphabetical order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DropCounts {
    /// The receiver was down.
    pub down: u64,
    /// Lost by the link model.
    pub loss: u64,
    /// The event queue was full.
    pub overflow: u64,
    /// Cut by a partition.
    pub partition: u64,
}

/// Payments the scenario submitted, by final status. Fields in alphabetical order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TxCounts {
    /// Committed in a macro block.
    pub committed: u64,
    /// Dropped for a conflicting spend.
    pub conflicted: u64,
    /// Not terminal at the end.
    pub pending: u64,
    /// Refused at submission.
    pub rejected: u64,
    /// Not built: no unspent output of the funded account was free on the chosen node.
    pub skipped_no_funds: u64,
    /// Submitted to a node (accepted or rejected there).
    pub submitted: u64,
}

/// One expectation or invariant result. Fields in alphabetical order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Why it held or failed.
    #[serde(default)]
    pub detail: String,
    /// Whether it held.
    pub held: bool,
    /// Line of the scenario file that asked for it (`null` for the built-in invariants).
    #[serde(default)]
    pub line: Option<usize>,
    /// What was checked, in words.
    pub name: String,
    /// Virtual time (ns since the start) it was decided.
    #[serde(default)]
    pub t_ns: u64,
}

/// The first thing that failed in a run. Fields in alphabetical order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Why.
    #[serde(default)]
    pub detail: String,
    /// `expectation` or `invariant`.
    pub kind: String,
    /// Line of the scenario file, if any.
    #[serde(default)]
    pub line: Option<usize>,
    /// What failed.
    pub name: String,
    /// Virtual time (ns since the start) of the failure.
    pub t_ns: u64,
}

impl Summary {
    /// Reads a summary's text.
    pub fn from_json(text: &str) -> Result<Summary, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The file's text: pretty JSON (two-space indent) and a newline.
    pub fn to_json(&self) -> String {
        // Cannot fail: plain data, string keys, no floats.
        let mut s = serde_json::to_string_pretty(self).expect("a summary serialises to JSON");
        s.push('\n');
        s
    }
}
