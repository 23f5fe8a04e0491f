//! Reading a simulation run: `summary.json` and `trace.jsonl` as documented in
//! `sim/README.md`, read through the formats' own types (`stegosim_formats::summary`,
//! `stegosim_formats::trace`), and the facts the report shows, computed from them.
//!
//! Unknown fields and unknown trace kinds are ignored, so a newer simulator's output still
//! renders; a line that lacks a field its kind documents is an error naming the line.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;
use stegosim_formats::duration::{Unit, format_fixed};
pub use stegosim_formats::summary::{Check, Counts, DropCounts, Failure, Summary, TxCounts};
use stegosim_formats::trace::{Event, Fault, SnowballStatus, Step, TraceLine};

use crate::Error;

/// Trace lines read at most (a limit, so a huge trace cannot exhaust memory; the
/// report says when it stopped early).
pub const TRACE_LINES_MAX: usize = 20_000_000;

/// A span of time in which something was wrong on a node (down) or on the network (cut).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Start.
    pub from_ns: u64,
    /// End (the run's end when never healed or restarted).
    pub to_ns: u64,
    /// The nodes affected (for a partition: the nodes outside the largest group).
    pub nodes: Vec<u32>,
    /// What it was, for the legend and the table (`crash`, `partition`, `cut`, `clock_drift`, ...).
    pub what: String,
}

/// A notable event for the timeline table.
#[derive(Debug, Clone)]
pub struct Notable {
    /// When.
    pub t_ns: u64,
    /// Which node, if one.
    pub node: Option<u32>,
    /// Short kind (`revert`, `view change`, `fault`, ...).
    pub what: String,
    /// Details.
    pub detail: String,
    /// Whether it is bad news (shown in red).
    pub bad: bool,
}

/// A gap between consecutive micro blocks seen by the network (any node).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The last block before the gap.
    pub from_ns: u64,
    /// The first block after it.
    pub to_ns: u64,
}

impl Gap {
    /// Its length.
    pub fn len_ns(&self) -> u64 {
        self.to_ns - self.from_ns
    }
}

/// Per-node chain events.
#[derive(Debug, Clone, Default)]
pub struct NodeChain {
    /// Micro blocks prepared: time, epoch, offset, view change.
    pub micro: Vec<(u64, u64, u64, u64)>,
    /// Macro blocks committed: time, epoch.
    pub macro_blocks: Vec<(u64, u64)>,
    /// View changes: time, new view.
    pub view_changes: Vec<(u64, u64)>,
    /// Reverted micro blocks: time, epoch, offset.
    pub reverts: Vec<(u64, u64, u64)>,
    /// Timer stalls.
    pub timer_stalls: Vec<u64>,
}

/// Payment statuses the report counts, in the order the plots stack them.
pub const TX_STATUSES: [&str; 7] = [
    "created",
    "accepted",
    "prepared",
    "rollback",
    "committed",
    "rejected",
    "conflicted",
];

/// Snowball states in the order a round goes through them (`succeeded` and `failed` end it).
pub const SNOWBALL_STATES: [&str; 8] = [
    "pool_wait",
    "shared_keying",
    "commitment",
    "cloaked_vals",
    "signature",
    "secret_keying",
    "succeeded",
    "failed",
];

/// One phase of a Snowball round on a node: its state, from, to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnowballPhase {
    /// The state (`pool_wait`, `shared_keying`, ...).
    pub state: String,
    /// When the node entered it.
    pub from_ns: u64,
    /// When it left it (the next state, the end of the round, or the end of the run).
    pub to_ns: u64,
}

/// One Snowball round as one node saw it (from `snowball_status` trace lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnowballRound {
    /// The node.
    pub node: u32,
    /// The session, when the trace names it.
    pub session: Option<String>,
    /// Participants, when the trace says (the last count seen).
    pub participants: Option<u64>,
    /// The phases in order.
    pub phases: Vec<SnowballPhase>,
    /// `Some(true)` succeeded, `Some(false)` failed, `None` unfinished at the end of the run.
    pub outcome: Option<bool>,
    /// When it ended (succeeded, failed, or the end of the run).
    pub end_ns: u64,
}

impl SnowballRound {
    /// When it started.
    pub fn start_ns(&self) -> u64 {
        self.phases
            .first()
            .map(|p| p.from_ns)
            .unwrap_or(self.end_ns)
    }

    /// The state it was in when it failed (the last phase before `failed`).
    pub fn failed_in(&self) -> Option<&str> {
        if self.outcome == Some(false) {
            self.phases.last().map(|p| p.state.as_str())
        } else {
            None
        }
    }
}

/// What reading a trace keeps open between lines: spans not yet closed, rounds not yet
/// finished, and every block's time for the longest gap.
#[derive(Debug)]
struct TraceState {
    /// The run's end: where spans and rounds still open at the last line end.
    end_ns: u64,
    /// Crashed nodes, since when (closed by a restart).
    down_since: BTreeMap<u32, u64>,
    /// Partitions and cuts, until a `heal` closes them all.
    cuts_open: Vec<Span>,
    /// Nodes whose clock drifts: since when, and the span's label.
    drift_open: BTreeMap<u32, (u64, String)>,
    /// Times of every micro block any node prepared.
    block_times: Vec<u64>,
    /// Each node's Snowball round not yet succeeded or failed.
    rounds_open: BTreeMap<u32, SnowballRound>,
}

impl TraceState {
    fn new(end_ns: u64) -> Self {
        TraceState {
            end_ns,
            down_since: BTreeMap::new(),
            cuts_open: Vec::new(),
            drift_open: BTreeMap::new(),
            block_times: Vec::new(),
            rounds_open: BTreeMap::new(),
        }
    }
}

/// A simulation run: its summary and what its trace shows.
#[derive(Debug, Clone)]
pub struct SimRun {
    /// Where the summary was read from.
    pub summary_path: PathBuf,
    /// The summary.
    pub summary: Summary,
    /// Nodes in the run (from `run_started`, else the highest node index seen + 1).
    pub nodes: u32,
    /// Validators among them.
    pub validators: u32,
    /// Chain events per node.
    pub chains: Vec<NodeChain>,
    /// Crashes (down spans), partitions and cuts, clock drifts.
    pub spans: Vec<Span>,
    /// Per transaction: its status changes (time, status), first report by any node.
    pub transactions: BTreeMap<String, Vec<(u64, String)>>,
    /// Dropped messages: (time, reason, count).
    pub dropped: Vec<(u64, String, u64)>,
    /// Notable events in time order.
    pub notable: Vec<Notable>,
    /// Expectation and invariant lines of the trace: (time, kind, name, held).
    pub checks: Vec<(u64, String, String, bool)>,
    /// The longest time the network went without a new micro block (after the first one).
    pub longest_gap: Option<Gap>,
    /// Lines read from the trace.
    pub trace_lines_read: u64,
    /// Snowball rounds per node, in order of their start.
    pub snowball: Vec<SnowballRound>,
    /// Whether the trace was cut short by [`TRACE_LINES_MAX`].
    pub trace_truncated: bool,
    /// Whether the trace file was there at all.
    pub trace_found: bool,
}

impl SimRun {
    /// Reads a run from its folder, or from its `summary.json` (`trace.jsonl` beside it).
    pub fn load(path: &Path) -> Result<SimRun, Error> {
        let summary_path = if path.is_dir() {
            path.join("summary.json")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&summary_path).map_err(|e| Error::Io {
            path: summary_path.clone(),
            source: e,
        })?;
        let summary = Summary::from_json(&text).map_err(|e| Error::Format {
            path: summary_path.clone(),
            line: e.line(),
            message: e.to_string(),
        })?;
        let trace_path = summary_path
            .parent()
            .map(|p| p.join("trace.jsonl"))
            .unwrap_or_else(|| PathBuf::from("trace.jsonl"));
        let mut run = SimRun {
            summary_path,
            nodes: 0,
            validators: 0,
            chains: Vec::new(),
            spans: Vec::new(),
            transactions: BTreeMap::new(),
            dropped: Vec::new(),
            notable: Vec::new(),
            checks: Vec::new(),
            longest_gap: None,
            snowball: Vec::new(),
            trace_lines_read: 0,
            trace_truncated: false,
            trace_found: false,
            summary,
        };
        match std::fs::File::open(&trace_path) {
            Ok(file) => {
                run.trace_found = true;
                run.read_trace(&trace_path, std::io::BufReader::new(file))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::Io {
                    path: trace_path,
                    source: e,
                });
            }
        }
        Ok(run)
    }

    fn chain(&mut self, node: u32) -> &mut NodeChain {
        let i = node as usize;
        if self.chains.len() <= i {
            self.chains.resize_with(i + 1, NodeChain::default);
        }
        &mut self.chains[i]
    }

    /// An expectation or invariant line: kept, and notable when it failed.
    fn check(&mut self, t: u64, kind: &str, name: String, held: bool, detail: String) {
        if !held {
            self.notable.push(Notable {
                t_ns: t,
                node: None,
                what: format!("{kind} {name} FAILED"),
                detail,
                bad: true,
            });
        }
        self.checks.push((t, kind.to_string(), name, held));
    }

    /// Reads the trace line by line; each event kind has its handler below, and
    /// [`TraceState`] holds what is open until a later line closes it.
    fn read_trace(&mut self, path: &Path, reader: impl BufRead) -> Result<(), Error> {
        let mut st = TraceState::new(self.summary.duration_ns);
        for (index, line) in reader.lines().enumerate() {
            if index >= TRACE_LINES_MAX {
                self.trace_truncated = true;
                break;
            }
            let line = line.map_err(|e| Error::Io {
                path: path.to_path_buf(),
                source: e,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let l = TraceLine::parse(&line).map_err(|e| Error::Format {
                path: path.to_path_buf(),
                line: index + 1,
                message: e.to_string(),
            })?;
            self.trace_lines_read += 1;
            self.handle_event(&mut st, l)
                .map_err(|message| Error::Format {
                    path: path.to_path_buf(),
                    line: index + 1,
                    message: message.into(),
                })?;
        }
        self.finish_trace(st);
        Ok(())
    }

    /// A notable event.
    fn note(&mut self, t_ns: u64, node: Option<u32>, what: String, detail: String, bad: bool) {
        self.notable.push(Notable {
            t_ns,
            node,
            what,
            detail,
            bad,
        });
    }

    /// One trace line's event; an error is a message for the line. One flat match over the
    /// kinds (a table: kind -> what it records); the longer kinds have handlers of their own.
    fn handle_event(&mut self, st: &mut TraceState, l: TraceLine) -> Result<(), &'static str> {
        let (t, node) = (l.t_ns, l.node);
        match (l.event, node) {
            (Event::RunStarted(r), _) => {
                self.nodes = r.nodes as u32;
                self.validators = r.validators as u32;
            }
            (Event::MicroBlockPrepared(m), Some(n)) => {
                st.block_times.push(t);
                let micro = (t, m.epoch, m.offset, m.view_change);
                self.chain(n).micro.push(micro);
            }
            (Event::MacroBlockCommitted(m), Some(n)) => {
                self.chain(n).macro_blocks.push((t, m.epoch));
            }
            (Event::ViewChange(v), Some(n)) => {
                let (e, o, v) = (v.epoch, v.offset, v.view_change);
                self.chain(n).view_changes.push((t, v));
                let detail = format!("epoch {e} offset {o}: view {v}");
                self.note(t, Some(n), "view change".into(), detail, false);
            }
            (Event::MicroBlockReverted(r), Some(n)) => {
                let (e, o) = (r.epoch, r.offset);
                self.chain(n).reverts.push((t, e, o));
                let detail = format!("micro block epoch {e} offset {o} reverted");
                self.note(t, Some(n), "revert".into(), detail, true);
            }
            (Event::TimerStall, Some(n)) => {
                self.chain(n).timer_stalls.push(t);
                let detail = "woken at the same instant 16 times in a row".into();
                self.note(t, Some(n), "timer stall".into(), detail, true);
            }
            (Event::TransactionStatus(s), _) => {
                let changes = self.transactions.entry(s.tx).or_default();
                if changes
                    .last()
                    .map(|(_, st)| st != &s.status)
                    .unwrap_or(true)
                {
                    changes.push((t, s.status));
                }
            }
            (Event::MessageDropped(d), _) => self.dropped.push((t, d.reason, d.count)),
            (Event::Fault(fault), node) => self.handle_fault(st, t, node, fault),
            (Event::Step(s), node) => self.handle_step(t, node, s),
            (Event::Refused(r), node) => {
                let detail = format!("{}: {}", r.what, r.error);
                self.note(t, node, "refused".into(), detail, false);
            }
            (Event::SnowballStatus(s), node) => {
                if s.state.is_empty() {
                    return Err("snowball_status without a state");
                }
                self.handle_snowball(st, t, node.unwrap_or(0), s);
            }
            (Event::Expectation(e), _) => {
                self.check(t, "expectation", e.name, e.held, e.detail);
            }
            (Event::Invariant(i), _) => {
                self.check(t, "invariant", i.name, i.held, i.detail);
            }
            _ => {}
        }
        Ok(())
    }

    /// A fault: notable, and it opens or closes a span (crash, partition, cut, drift).
    fn handle_fault(&mut self, st: &mut TraceState, t: u64, node: Option<u32>, fault: Fault) {
        let what = format!("fault: {}", fault.name());
        let bad = !matches!(fault, Fault::Heal(_) | Fault::Restart(_));
        self.note(t, node, what, fault_detail(&fault), bad);
        match (fault, node) {
            (Fault::Crash(_), Some(n)) => {
                st.down_since.entry(n).or_insert(t);
            }
            (Fault::Restart(_), Some(n)) => {
                if let Some(from) = st.down_since.remove(&n) {
                    self.spans.push(Span {
                        from_ns: from,
                        to_ns: t,
                        nodes: vec![n],
                        what: "crash".into(),
                    });
                }
            }
            (Fault::Partition(p), _) => {
                st.cuts_open.push(Span {
                    from_ns: t,
                    to_ns: st.end_ns,
                    nodes: partition_minority(&p.groups),
                    what: "partition".into(),
                });
            }
            (Fault::Cut(c), _) => {
                let mut nodes = c.from;
                nodes.extend(c.to);
                nodes.sort_unstable();
                nodes.dedup();
                st.cuts_open.push(Span {
                    from_ns: t,
                    to_ns: st.end_ns,
                    nodes,
                    what: "cut".into(),
                });
            }
            (Fault::Heal(_), _) => {
                for mut s in st.cuts_open.drain(..) {
                    s.to_ns = t;
                    self.spans.push(s);
                }
            }
            (Fault::ClockDrift(d), Some(n)) => {
                if let Some((from, what)) = st.drift_open.remove(&n) {
                    self.spans.push(Span {
                        from_ns: from,
                        to_ns: t,
                        nodes: vec![n],
                        what,
                    });
                }
                if d.drift_ppm != 0 {
                    let what = format!("clock drift {} ppm", d.drift_ppm);
                    st.drift_open.insert(n, (t, what));
                }
            }
            _ => {}
        }
    }

    /// A step: notable when it failed, or when it popped a micro block.
    fn handle_step(&mut self, t: u64, node: Option<u32>, s: Step) {
        if let Some(error) = s.error {
            self.note(t, node, format!("step {} failed", s.action), error, true);
        } else if s.action == "pop_micro_block" {
            let detail = format!(
                "epoch={} offset={}",
                s.epoch.unwrap_or(0),
                s.offset.unwrap_or(0)
            );
            self.note(t, node, "step pop_micro_block".into(), detail, false);
        }
    }

    /// A Snowball status (its state is not empty): opens, extends or closes the node's round.
    fn handle_snowball(&mut self, st: &mut TraceState, t: u64, node: u32, s: SnowballStatus) {
        let state = s.state;
        let session = s.session_id.map(|id| id.to_string());
        let participants = s.participants;
        // A new session on a node whose round is still open: that round never finished.
        if let Some(open) = st.rounds_open.get(&node)
            && session.is_some()
            && open.session.is_some()
            && open.session != session
        {
            let mut r = st.rounds_open.remove(&node).expect("open round");
            r.end_ns = t;
            if let Some(p) = r.phases.last_mut() {
                p.to_ns = t;
            }
            self.snowball.push(r);
        }
        let end_ns = st.end_ns;
        let round = st.rounds_open.entry(node).or_insert_with(|| SnowballRound {
            node,
            session: session.clone(),
            participants: None,
            phases: Vec::new(),
            outcome: None,
            end_ns,
        });
        if round.session.is_none() {
            round.session = session;
        }
        if participants.is_some() {
            round.participants = participants;
        }
        if state == "succeeded" || state == "failed" {
            let r = st.rounds_open.remove(&node).expect("open round");
            self.close_round(t, r, state == "succeeded");
        } else if round
            .phases
            .last()
            .map(|p| p.state != state)
            .unwrap_or(true)
        {
            if let Some(p) = round.phases.last_mut() {
                p.to_ns = t;
            }
            round.phases.push(SnowballPhase {
                state,
                from_ns: t,
                to_ns: end_ns,
            });
        }
    }

    /// A round that succeeded or failed at `t` (a failure is notable).
    fn close_round(&mut self, t: u64, mut r: SnowballRound, succeeded: bool) {
        if let Some(p) = r.phases.last_mut() {
            p.to_ns = t;
        }
        r.end_ns = t;
        r.outcome = Some(succeeded);
        if !succeeded {
            let detail = format!(
                "session {} in {}{}",
                r.session.as_deref().unwrap_or("?"),
                r.failed_in().unwrap_or("its first phase"),
                r.participants
                    .map(|n| format!(", {n} participants"))
                    .unwrap_or_default()
            );
            self.note(
                t,
                Some(r.node),
                "Snowball round failed".into(),
                detail,
                true,
            );
        }
        self.snowball.push(r);
    }

    /// After the last line: what is still open lasts to the run's end; sorts; node count;
    /// the longest gap between blocks.
    fn finish_trace(&mut self, st: TraceState) {
        let end_ns = st.end_ns;
        for (n, from) in st.down_since {
            self.spans.push(Span {
                from_ns: from,
                to_ns: end_ns,
                nodes: vec![n],
                what: "crash".into(),
            });
        }
        self.spans.extend(st.cuts_open);
        for (n, (from, what)) in st.drift_open {
            self.spans.push(Span {
                from_ns: from,
                to_ns: end_ns,
                nodes: vec![n],
                what,
            });
        }
        self.snowball.extend(st.rounds_open.into_values());
        self.snowball.sort_by_key(|r| (r.start_ns(), r.node));
        self.spans.sort_by_key(|s| (s.from_ns, s.to_ns));
        // Stable sort: same-time events keep trace order.
        self.notable.sort_by_key(|n| n.t_ns);
        let highest = self.chains.len() as u32;
        if self.nodes < highest {
            self.nodes = highest;
        }
        if self.chains.len() < self.nodes as usize {
            self.chains
                .resize_with(self.nodes as usize, NodeChain::default);
        }
        let mut block_times = st.block_times;
        block_times.sort_unstable();
        block_times.dedup();
        self.longest_gap = block_times
            .windows(2)
            .map(|w| Gap {
                from_ns: w[0],
                to_ns: w[1],
            })
            .max_by_key(|g| (g.len_ns(), std::cmp::Reverse(g.from_ns)));
    }

    /// Per status, how many transactions were in it at each of `buckets` evenly spaced
    /// times from 0 to the end of the run (a transaction's status is the last one any node
    /// reported).
    pub fn tx_status_series(&self, buckets: usize) -> Vec<(u64, [u64; TX_STATUSES.len()])> {
        let end = self.summary.duration_ns.max(1);
        let buckets = buckets.max(2);
        (0..buckets)
            .map(|b| {
                let t = end * b as u64 / (buckets as u64 - 1);
                let mut counts = [0u64; TX_STATUSES.len()];
                for changes in self.transactions.values() {
                    let last = changes.iter().take_while(|(at, _)| *at <= t).last();
                    if let Some(i) = last.and_then(|(_, s)| TX_STATUSES.iter().position(|k| k == s))
                    {
                        counts[i] += 1;
                    }
                }
                (t, counts)
            })
            .collect()
    }

    /// Per Snowball state: (phases, mean length, longest), over every round of every node.
    pub fn snowball_phase_stats(&self) -> Vec<(String, u64, u64, u64)> {
        let mut by: BTreeMap<String, (u64, u128, u64)> = BTreeMap::new();
        for p in self.snowball.iter().flat_map(|r| &r.phases) {
            let len = p.to_ns.saturating_sub(p.from_ns);
            let e = by.entry(p.state.clone()).or_insert((0, 0, 0));
            e.0 += 1;
            e.1 += len as u128;
            e.2 = e.2.max(len);
        }
        let rank = |s: &str| SNOWBALL_STATES.iter().position(|k| *k == s).unwrap_or(99);
        let mut out: Vec<_> = by
            .into_iter()
            .map(|(s, (n, sum, max))| {
                let mean = (sum / n.max(1) as u128) as u64;
                (s, n, mean, max)
            })
            .collect();
        out.sort_by(|a, b| (rank(&a.0), &a.0).cmp(&(rank(&b.0), &b.0)));
        out
    }

    /// Dropped messages per reason, summed into `buckets` time windows.
    pub fn dropped_series(&self, buckets: usize) -> BTreeMap<String, Vec<u64>> {
        let end = self.summary.duration_ns.max(1);
        let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (t, reason, count) in &self.dropped {
            let b = ((*t as u128 * buckets as u128) / (end as u128 + 1)) as usize;
            out.entry(reason.clone())
                .or_insert_with(|| vec![0; buckets])[b.min(buckets - 1)] += count;
        }
        out
    }
}

/// The nodes outside the largest group of a partition (the ones cut off).
fn partition_minority(groups: &[Vec<u32>]) -> Vec<u32> {
    let largest = groups
        .iter()
        .enumerate()
        .max_by_key(|(i, g)| (g.len(), std::cmp::Reverse(*i)))
        .map(|(i, _)| i);
    let mut nodes: Vec<u32> = groups
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != largest)
        .flat_map(|(_, g)| g.iter().copied())
        .collect();
    nodes.sort_unstable();
    nodes
}

/// A fault's own fields as `key=value` pairs (keys in alphabetical order, values as JSON),
/// for tables.
fn fault_detail(fault: &Fault) -> String {
    let Ok(Value::Object(fields)) = serde_json::to_value(fault) else {
        return String::new();
    };
    fields
        .iter()
        .filter(|(k, _)| k.as_str() != "fault")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Nanoseconds as seconds with millisecond precision, e.g. `12.345 s` (the report's times).
pub fn fmt_s(ns: u64) -> String {
    format!("{} s", format_fixed(ns, Unit::Seconds))
}
