//! Scenario files: reading, checking and the checked form the runner executes.
//!
//! [`load()`] parses a file ([`format`](mod@format) holds the types `serde` reads), then checks what
//! `serde` cannot (node indices in range, names defined before use, deadlines within the run,
//! probabilities that are probabilities) and returns a [`Scenario`]. Every error names the
//! file, the line and column, and what was expected, so a person can fix the file without
//! reading this code. [`builtin`] holds the scenarios shipped in `scenarios/`, embedded.

pub mod format;
pub mod step;
pub mod swarm;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use stegosim_node::config::ChainConfig;
use toml::Spanned;

use crate::des::clock::CLOCK_DRIFT_PPM_MAX;
use crate::des::net::{Latency, LinkOptions};
pub use format::{
    AccountSpec, Draw, DropPhase, Expect, InvariantsSpec, LatencySpec, NodeEvents, NodeRef,
    StatusName, Step, SwarmSpec, TraceSpec, Workload,
};
pub use step::{Need, Nodes, NodesMut};

/// Largest number of nodes in one scenario.
pub const NODES_MAX: u32 = 5_000;
/// Longest virtual time a scenario may cover (one week).
pub const DURATION_NS_MAX: u64 = 7 * 24 * 3_600 * 1_000_000_000;
/// Largest number of steps in one file.
pub const STEPS_MAX: usize = 100_000;
/// Highest payment rate of one workload, per second of virtual time.
pub const RATE_PER_S_MAX: f64 = 10_000.0;
/// Most recipients of one workload.
pub const RECIPIENTS_MAX: u32 = 10_000;

/// A scenario that does not load: the file, where in it, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

/// A value and the line it came from (for messages at run time).
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    /// 1-based line of the table that defined it.
    pub line: usize,
    /// The value.
    pub value: T,
}

/// A checked scenario, ready to run with any seed.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it came from, as the user named it (never written to the trace).
    pub file: String,
    /// Short name.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// Seed used when none is given.
    pub default_seed: u64,
    /// Virtual time the run covers.
    pub duration_ns: u64,
    /// The chain's parameters (preset plus overrides).
    pub chain: ChainConfig,
    /// Number of validator nodes (`0..validators`).
    pub validators: u32,
    /// Number of nodes, validators and observers.
    pub nodes: u32,
    /// The base link model.
    pub links: LinkOptions,
    /// Steps, sorted by time (file order among equal times).
    pub steps: Vec<Located<Step>>,
    /// Workloads.
    pub workloads: Vec<Located<Workload>>,
    /// Expectations.
    pub expectations: Vec<Located<Expect>>,
    /// Invariants to check.
    pub invariants: InvariantsSpec,
    /// Seed-chosen faults, if any.
    pub swarm: Option<Located<SwarmSpec>>,
    /// What the trace holds.
    pub trace: TraceSpec,
    /// Genesis-funded wallet accounts, in file order (`chain.genesis_accounts` holds their
    /// funds in the same order).
    pub accounts: Vec<Located<AccountSpec>>,
}

impl Scenario {
    /// Re-checks a scenario edited in code (shrinking removes nodes, steps, expectations)
    /// the way [`load`] checks a file: the node counts and the chain agree, every node index
    /// exists, every name is bound before use. The error names the item's line in the file.
    pub fn recheck(&self) -> Result<(), String> {
        if self.validators == 0 {
            return Err("network.validators: expected at least 1".into());
        }
        if self.nodes < self.validators || self.nodes > NODES_MAX {
            return Err(format!(
                "network: {} nodes with {} validators, expected validators <= nodes <= {NODES_MAX}",
                self.nodes, self.validators
            ));
        }
        if self.chain.genesis_validators != self.validators {
            return Err(format!(
                "chain.genesis_validators is {}, the network has {} validators",
                self.chain.genesis_validators, self.validators
            ));
        }
        self.chain.validate().map_err(|e| format!("chain: {e}"))?;
        for a in &self.accounts {
            if a.value.node >= self.nodes {
                return Err(format!(
                    "account at line {}: node {} does not exist: expected 0 to {}",
                    a.line,
                    a.value.node,
                    self.nodes - 1
                ));
            }
        }
        let checker = NodeChecker { nodes: self.nodes };
        let mut picked: BTreeSet<String> = BTreeSet::new();
        let mut tx_names: BTreeSet<String> = BTreeSet::new();
        for s in &self.steps {
            s.value
                .check(&checker, &picked, &mut tx_names)
                .map_err(|m| format!("step `{}` at line {}: {m}", s.value.action(), s.line))?;
            if let Some(name) = s.value.binds() {
                picked.insert(name.to_string());
            }
        }
        for w in &self.workloads {
            match &w.value {
                Workload::Payments { node, .. } => checker
                    .single(node, &picked, true)
                    .map_err(|m| format!("workload at line {}: node: {m}", w.line))?,
            }
        }
        for e in &self.expectations {
            check_expect(&e.value, &checker, &picked, &tx_names, self.duration_ns)
                .map_err(|m| format!("expectation at line {}: {m}", e.line))?;
        }
        Ok(())
    }
}

/// Line and column (1-based) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn at(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> ScenarioError {
        let (line, column) = line_column(self.text, span.start);
        ScenarioError {
            file: self.file.to_string(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }

    fn line(&self, span: &std::ops::Range<usize>) -> usize {
        line_column(self.text, span.start).0
    }

    /// The span of the first line that sets `key` (`key = ...`) within `within`, or the
    /// start of `within` when there is none: so an error about a key names its own line.
    fn key(&self, key: &str, within: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let end = within.end.min(self.text.len());
        let start = within.start.min(end);
        let mut offset = start;
        for line in self.text[start..end].split_inclusive('\n') {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix(key) {
                if rest.trim_start().starts_with('=') {
                    let col = line.len() - trimmed.len();
                    return offset + col..offset + col + key.len();
                }
            }
            offset += line.len();
        }
        start..start
    }

    /// The span of top-level `key` (for errors about values `serde` accepted).
    fn top(&self, key: &str) -> std::ops::Range<usize> {
        self.key(key, 0..self.text.len())
    }
}

/// Moves an "unknown field `x`" error from the start of its table to the line of `x`.
fn refine_span(text: &str, message: &str, span: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return span;
    };
    let Some(key) = rest.split('`').next() else {
        return span;
    };
    // The span may cover only the table's header: search from it to the next header.
    let start = span.start.min(text.len());
    let after_header = text[start..]
        .find('\n')
        .map_or(text.len(), |i| start + i + 1);
    let end = text[after_header..]
        .match_indices('\n')
        .map(|(i, _)| after_header + i + 1)
        .find(|&i| text[i..].trim_start().starts_with('['))
        .unwrap_or(text.len())
        .max(span.end.min(text.len()));
    let cx = Ctx { file: "", text };
    let found = cx.key(key, start..end);
    if found.start == start { span } else { found }
}

/// Converts a latency spec to the engine's model.
pub fn latency(spec: &LatencySpec) -> Latency {
    match *spec {
        LatencySpec::Constant { value } => Latency::Constant {
            latency_ns: value.ns,
        },
        LatencySpec::Uniform { min, max } => Latency::Uniform {
            latency_ns_min: min.ns,
            latency_ns_max: max.ns,
        },
        LatencySpec::Exponential { min, mean, max } => Latency::Exponential {
            latency_ns_min: min.ns,
            latency_ns_mean: mean.ns,
            latency_ns_max: max.ns,
        },
    }
}

/// Reads and checks a scenario. `file` names it in error messages.
pub fn load(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let cx = Ctx { file, text };
    let parsed: format::ScenarioFile = toml::from_str(text).map_err(|e| {
        let message = e.message().trim_end().to_string();
        match e.span() {
            Some(span) => cx.at(refine_span(text, &message, span), message),
            None => ScenarioError {
                file: file.to_string(),
                line: None,
                column: None,
                message,
            },
        }
    })?;
    check(&cx, parsed)
}

fn check(cx: &Ctx<'_>, f: format::ScenarioFile) -> Result<Scenario, ScenarioError> {
    check_name_and_duration(cx, &f)?;
    let duration_ns = f.duration.ns;
    let net = &f.network;
    let (nodes, mut chain, links) = check_network(cx, &f)?;
    let accounts = check_accounts(cx, &f.accounts, nodes)?;
    if !accounts.is_empty() {
        chain.genesis_accounts = accounts.iter().map(|a| a.value.funds_ustg).collect();
    }
    links
        .validate()
        .map_err(|e| cx.at(cx.top("latency"), format!("network: {e}")))?;
    let checker = NodeChecker { nodes };
    let mut names = Names::default();
    let (steps, last_fault_ns) = check_steps(cx, f.steps, &checker, &mut names, duration_ns)?;
    let mut workloads = Vec::new();
    for w in f.workloads {
        let span = w.span();
        let wl = w.into_inner();
        check_workload(&wl, &checker, &names.picked, &chain, duration_ns)
            .map_err(|m| cx.at(span.clone(), format!("workload: {m}")))?;
        workloads.push(Located {
            line: cx.line(&span),
            value: wl,
        });
    }
    let expectations = check_expectations(cx, f.expectations, &checker, &names, duration_ns)?;
    let swarm = match f.swarm {
        Some(s) => {
            let span = s.span();
            let sw = s.into_inner();
            check_swarm(&sw, duration_ns)
                .map_err(|m| cx.at(span.clone(), format!("swarm: {m}")))?;
            Some(Located {
                line: cx.line(&span),
                value: sw,
            })
        }
        None => None,
    };
    let last_fault_ns = match &swarm {
        Some(sw) => Some(last_fault_ns.unwrap_or(0).max(sw.value.faults_until.ns)),
        None => last_fault_ns,
    };
    check_convergence_fits(cx, &f.invariants, last_fault_ns, duration_ns)?;
    Ok(Scenario {
        file: cx.file.to_string(),
        name: f.name,
        description: f.description,
        default_seed: f.seed,
        duration_ns,
        chain,
        validators: net.validators,
        nodes,
        links,
        steps,
        workloads,
        expectations,
        invariants: f.invariants,
        swarm,
        trace: f.trace,
        accounts,
    })
}

/// Names bound so far while checking a file: nodes picked by `pick` steps, transactions
/// named by `pay` and `api` steps.
#[derive(Debug, Default)]
struct Names {
    picked: BTreeSet<String>,
    txs: BTreeSet<String>,
}

/// The scenario's name (it names the output folder) and duration.
fn check_name_and_duration(cx: &Ctx<'_>, f: &format::ScenarioFile) -> Result<(), ScenarioError> {
    if f.name.is_empty()
        || !f
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(cx.at(
            cx.top("name"),
            format!(
                "name {:?}: expected letters, digits, '-' or '_' (it names the output folder)",
                f.name
            ),
        ));
    }
    if f.duration.ns == 0 || f.duration.ns > DURATION_NS_MAX {
        return Err(cx.at(
            cx.top("duration"),
            "duration: expected more than 0 and at most 7 days",
        ));
    }
    Ok(())
}

/// `[network]` and `[chain]`: the number of nodes, the chain (preset plus overrides) and the
/// base link model (validated by the caller, after the accounts).
fn check_network(
    cx: &Ctx<'_>,
    f: &format::ScenarioFile,
) -> Result<(u32, ChainConfig, LinkOptions), ScenarioError> {
    let net = &f.network;
    if net.validators == 0 {
        return Err(cx.at(
            cx.top("validators"),
            "network.validators: expected at least 1",
        ));
    }
    let nodes = net.validators.saturating_add(net.observers);
    if nodes > NODES_MAX {
        return Err(cx.at(
            cx.top("validators"),
            format!("network: {nodes} nodes, expected at most {NODES_MAX}"),
        ));
    }
    let mut chain = ChainConfig::preset(&net.chain).ok_or_else(|| {
        cx.at(
            cx.top("chain"),
            format!(
                "network.chain: unknown preset {:?}, expected \"dev\" or \"testnet\"",
                net.chain
            ),
        )
    })?;
    chain.genesis_validators = net.validators;
    if let Some(overrides) = &f.chain {
        chain = apply_chain_overrides(cx, chain, overrides, net.validators)?;
    }
    let links = LinkOptions {
        latency: latency(&net.latency),
        loss_probability: net.loss,
        duplicate_probability: net.duplicate,
        reorder_probability: net.reorder,
        reorder_delay_ns_max: net.reorder_delay.ns,
    };
    Ok((nodes, chain, links))
}

/// The steps, sorted by time (file order among equal times), each checked with the names
/// bound before it; also the time of the last fault step.
fn check_steps(
    cx: &Ctx<'_>,
    file_steps: Vec<Spanned<Step>>,
    checker: &NodeChecker,
    names: &mut Names,
    duration_ns: u64,
) -> Result<(Vec<Located<Step>>, Option<u64>), ScenarioError> {
    if file_steps.len() > STEPS_MAX {
        return Err(cx.at(
            0..0,
            format!("{} steps, expected at most {STEPS_MAX}", file_steps.len()),
        ));
    }
    let mut steps: Vec<(Spanned<Step>, usize)> = file_steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| (s, i))
        .collect();
    steps.sort_by_key(|(s, i)| (s.get_ref().at(), *i));
    let mut last_fault_ns: Option<u64> = None;
    let mut located = Vec::new();
    for (s, _) in steps {
        let span = s.span();
        let step = s.into_inner();
        let err = |m: String| cx.at(span.clone(), format!("step `{}`: {m}", step.action()));
        if step.at().ns > duration_ns {
            return Err(err(format!(
                "at = {} is after the end of the run ({})",
                step.at(),
                crate::time::format_ns(duration_ns)
            )));
        }
        step.check(checker, &names.picked, &mut names.txs)
            .map_err(&err)?;
        if let Some(name) = step.binds() {
            names.picked.insert(name.to_string());
        }
        if step.is_fault() {
            last_fault_ns = Some(step.at().ns);
        }
        located.push(Located {
            line: cx.line(&span),
            value: step,
        });
    }
    Ok((located, last_fault_ns))
}

/// A `[[workload]]`.
fn check_workload(
    wl: &Workload,
    checker: &NodeChecker,
    picked: &BTreeSet<String>,
    chain: &ChainConfig,
    duration_ns: u64,
) -> Result<(), String> {
    let Workload::Payments {
        node,
        rate_per_s,
        amount_ustg,
        recipients,
        start,
        stop,
    } = wl;
    checker
        .single(node, picked, true)
        .map_err(|m| format!("node: {m}"))?;
    if !(rate_per_s.min > 0.0 && rate_per_s.max <= RATE_PER_S_MAX) {
        return Err(format!(
            "rate_per_s: expected above 0 and at most {RATE_PER_S_MAX}"
        ));
    }
    if !(amount_ustg.min >= 1.0 && amount_ustg.max <= chain.genesis_funds as f64) {
        return Err("amount_ustg: expected at least 1 and at most the genesis funds".into());
    }
    if *recipients == 0 || *recipients > RECIPIENTS_MAX {
        return Err(format!("recipients: expected 1 to {RECIPIENTS_MAX}"));
    }
    if stop <= start || stop.ns > duration_ns {
        return Err("expected start < stop <= the run's duration".into());
    }
    Ok(())
}

/// The `[[expect]]` tables, with the names the steps bound.
fn check_expectations(
    cx: &Ctx<'_>,
    file_expectations: Vec<Spanned<Expect>>,
    checker: &NodeChecker,
    names: &Names,
    duration_ns: u64,
) -> Result<Vec<Located<Expect>>, ScenarioError> {
    let mut expectations = Vec::new();
    for e in file_expectations {
        let span = e.span();
        let ex = e.into_inner();
        check_expect(&ex, checker, &names.picked, &names.txs, duration_ns)
            .map_err(|m| cx.at(span.clone(), format!("expectation: {m}")))?;
        expectations.push(Located {
            line: cx.line(&span),
            value: ex,
        });
    }
    Ok(expectations)
}

/// `[swarm]`.
fn check_swarm(sw: &SwarmSpec, duration_ns: u64) -> Result<(), String> {
    if sw.faults_until.ns > duration_ns || sw.faults_from >= sw.faults_until {
        return Err("expected faults_from < faults_until <= the run's duration".into());
    }
    for (name, p) in [
        ("loss_max", sw.loss_max),
        ("duplicate_max", sw.duplicate_max),
        ("reorder_max", sw.reorder_max),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return Err(format!("{name}: expected a probability in 0..=1"));
        }
    }
    if !(0..=CLOCK_DRIFT_PPM_MAX).contains(&sw.drift_ppm_max) {
        return Err(format!(
            "drift_ppm_max: expected 0 to {CLOCK_DRIFT_PPM_MAX}"
        ));
    }
    if sw.fault_duration_max.ns == 0 {
        return Err("fault_duration_max: expected more than 0".into());
    }
    Ok(())
}

/// The convergence check after the last fault falls within the run.
fn check_convergence_fits(
    cx: &Ctx<'_>,
    inv: &InvariantsSpec,
    last_fault_ns: Option<u64>,
    duration_ns: u64,
) -> Result<(), ScenarioError> {
    let (true, Some(t)) = (inv.convergence, last_fault_ns) else {
        return Ok(());
    };
    if t.saturating_add(inv.converge_within.ns) <= duration_ns {
        return Ok(());
    }
    Err(cx.at(
        cx.top("duration"),
        format!(
            "invariants.converge_within: the last fault is at {} and nodes get {} to converge, but the run ends at {}: lengthen duration or shorten converge_within",
            crate::time::format_ns(t),
            inv.converge_within,
            crate::time::format_ns(duration_ns)
        ),
    ))
}

fn apply_chain_overrides(
    cx: &Ctx<'_>,
    preset: ChainConfig,
    overrides: &Spanned<BTreeMap<String, Spanned<toml::Value>>>,
    validators: u32,
) -> Result<ChainConfig, ScenarioError> {
    let mut table = toml::Table::try_from(&preset)
        .expect("every ChainConfig field fits a TOML value (all integers are below 2^63)");
    let known: Vec<String> = table.keys().cloned().collect();
    for (key, value) in overrides.get_ref() {
        let span = value.span();
        let Some(old) = table.get(key) else {
            return Err(cx.at(
                span,
                format!(
                    "chain: unknown field `{key}`, expected one of {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if old.type_str() != value.get_ref().type_str() {
            return Err(cx.at(
                span,
                format!(
                    "chain.{key}: expected {}, found {}",
                    old.type_str(),
                    value.get_ref().type_str()
                ),
            ));
        }
        if key == "genesis_validators" {
            return Err(cx.at(
                span,
                "chain.genesis_validators: set `validators` in [network] instead",
            ));
        }
        table.insert(key.clone(), value.get_ref().clone());
    }
    let chain: ChainConfig = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| cx.at(overrides.span(), format!("chain: {}", e.message())))?;
    debug_assert_eq!(chain.genesis_validators, validators);
    chain
        .validate()
        .map_err(|e| cx.at(overrides.span(), format!("chain: {e}")))?;
    Ok(chain)
}

/// Checks node references against the network's size and the names picked so far.
pub(crate) struct NodeChecker {
    nodes: u32,
}

impl NodeChecker {
    pub(crate) fn single(
        &self,
        r: &NodeRef,
        picked: &BTreeSet<String>,
        random_ok: bool,
    ) -> Result<(), String> {
        match r {
            NodeRef::Index(i) if *i >= self.nodes => Err(format!(
                "node {i} does not exist: expected 0 to {}",
                self.nodes - 1
            )),
            NodeRef::Index(_) | NodeRef::Leader => Ok(()),
            NodeRef::Random if random_ok => Ok(()),
            NodeRef::Random => Err("\"random\" is not allowed here".into()),
            NodeRef::Rest => Err("\"rest\" only names the remaining nodes in a list".into()),
            NodeRef::Alias(a) if picked.contains(a) => Ok(()),
            NodeRef::Alias(a) => Err(format!(
                "unknown node {a:?}: expected an index, \"leader\", \"random\" or a name bound by an earlier `pick` step"
            )),
        }
    }

    pub(crate) fn list(
        &self,
        refs: &[NodeRef],
        picked: &BTreeSet<String>,
        rest_ok: bool,
    ) -> Result<(), String> {
        if refs.is_empty() {
            return Err("a node list cannot be empty".into());
        }
        for r in refs {
            match r {
                NodeRef::Rest if rest_ok => {}
                other => self.single(other, picked, true)?,
            }
        }
        Ok(())
    }
}

/// Most `[[account]]` tables.
const ACCOUNTS_MAX: usize = 10_000;

fn check_accounts(
    cx: &Ctx<'_>,
    accounts: &[Spanned<AccountSpec>],
    nodes: u32,
) -> Result<Vec<Located<AccountSpec>>, ScenarioError> {
    if accounts.len() > ACCOUNTS_MAX {
        return Err(cx.at(
            accounts[ACCOUNTS_MAX].span(),
            format!(
                "{} accounts, expected at most {ACCOUNTS_MAX}",
                accounts.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(accounts.len());
    for a in accounts {
        let v = a.get_ref();
        let why = if v.node >= nodes {
            Some(format!(
                "account: node {} does not exist, expected 0..{nodes}",
                v.node
            ))
        } else if v.password.is_empty() {
            Some("account: password must not be empty".into())
        } else if v.funds_ustg <= 0 {
            Some(format!(
                "account: funds_ustg {} must be positive (µSTG)",
                v.funds_ustg
            ))
        } else {
            None
        };
        if let Some(why) = why {
            return Err(cx.at(a.span(), why));
        }
        let (line, _) = line_column(cx.text, a.span().start);
        out.push(Located {
            line,
            value: v.clone(),
        });
    }
    Ok(out)
}

/// The API request an `api` step's table spells, checked as the node's server checks it.
pub fn api_request(table: &toml::Table) -> Result<stegosim_api::message::Request, String> {
    let json = serde_json::to_vec(table).map_err(|e| format!("request: {e}"))?;
    stegosim_api::message::Request::from_json(&json).map_err(|e| format!("request: {e}"))
}

fn check_expect(
    e: &Expect,
    nodes: &NodeChecker,
    picked: &BTreeSet<String>,
    tx_names: &BTreeSet<String>,
    duration_ns: u64,
) -> Result<(), String> {
    let by = match e {
        Expect::TxStatus { tx, .. } => {
            if !tx_names.contains(tx) {
                return Err(format!("tx {tx:?} is not the name of any `pay` step"));
            }
            None
        }
        Expect::Epoch { node, by, .. } | Expect::ViewChange { node, by, .. } => {
            if let Some(n) = node {
                nodes.single(n, picked, false)?;
            }
            Some(by)
        }
        Expect::Reverted { node, by, .. }
        | Expect::Restakes { node, by, .. }
        | Expect::Validator { node, by, .. }
        | Expect::CaughtUp { node, by } => {
            nodes.single(node, picked, false)?;
            if matches!(node, NodeRef::Leader) {
                return Err(
                    "\"leader\" changes every block: `pick` it first and use the name".into(),
                );
            }
            Some(by)
        }
        Expect::Committed { by, .. } => Some(by),
        Expect::Snowball {
            node, states, by, ..
        } => {
            nodes.single(node, picked, false)?;
            if states.is_empty() {
                return Err("states: expected at least one Snowball state".into());
            }
            for st in states {
                if serde_json::from_value::<stegosim_api::message::SnowballState>(
                    serde_json::Value::String(st.clone()),
                )
                .is_err()
                {
                    return Err(format!(
                        "states: {st:?} is not a Snowball state, expected pool_wait, \
                         shared_keying, commitment, cloaked_vals, signature, secret_keying, \
                         succeeded or failed"
                    ));
                }
            }
            Some(by)
        }
    };
    if let Some(by) = by {
        if by.ns > duration_ns {
            return Err(format!(
                "by = {by} is after the end of the run ({})",
                crate::time::format_ns(duration_ns)
            ));
        }
    }
    Ok(())
}

/// The scenarios shipped in `scenarios/`, embedded in the program: (name, file text).
pub fn builtin() -> &'static [(&'static str, &'static str)] {
    &[
        (
            "quickstart",
            include_str!("../../../scenarios/quickstart.toml"),
        ),
        ("payments", include_str!("../../../scenarios/payments.toml")),
        (
            "snowball-dropouts",
            include_str!("../../../scenarios/snowball-dropouts.toml"),
        ),
        (
            "restake-expiry",
            include_str!("../../../scenarios/restake-expiry.toml"),
        ),
        (
            "partition-fork-revert",
            include_str!("../../../scenarios/partition-fork-revert.toml"),
        ),
        (
            "leader-crash-view-change",
            include_str!("../../../scenarios/leader-crash-view-change.toml"),
        ),
        (
            "crash-restart-durability",
            include_str!("../../../scenarios/crash-restart-durability.toml"),
        ),
        ("swarm", include_str!("../../../scenarios/swarm.toml")),
        (
            "adversity-minority-epoch",
            include_str!("../../../scenarios/adversity-minority-epoch.toml"),
        ),
        (
            "adversity-view-lag",
            include_str!("../../../scenarios/adversity-view-lag.toml"),
        ),
        (
            "scale-100",
            include_str!("../../../scenarios/scale-100.toml"),
        ),
    ]
}

/// The built-in scenario `name`, loaded.
pub fn load_builtin(name: &str) -> Option<Result<Scenario, ScenarioError>> {
    builtin()
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| load(&format!("scenarios/{n}.toml"), text))
}
