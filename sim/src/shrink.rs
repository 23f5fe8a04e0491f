//! Shrinking a failing run: smaller variants of a scenario that fail the same way.
//!
//! Given a scenario and a seed that fail, [`shrink`] tries, greedily and in this order:
//! turning the swarm's seed-chosen faults off, removing each step (last first), removing each
//! workload, removing each expectation other than the failing one, removing nodes (all
//! observers at once, then observers one at a time from the last, then validators one at a
//! time from the last, down to one validator), cutting the duration (halving it, never below
//! the failure's time plus a margin). A variant is kept when its run still fails with the
//! same first failure (same kind and name, and the same explanation up to its numbers); a
//! variant that passes, fails differently or does not run is dropped. Every run uses the
//! same seed, so each verdict is reproducible. The search stops after `runs_max` runs.
//!
//! Removing a node renumbers the nodes after it. Steps, workloads and expectations that name
//! the removed node go with it (a node list loses the node; a list left empty drops its
//! step); higher indices move down by one. The variant is then re-checked the way loading a
//! file checks it ([`Scenario::recheck`]: indices in range, names bound before use, a valid
//! chain), and a variant that fails the check is not run.

use crate::outcome::{Failure, Outcome};
use crate::run::{EngineKind, RunOptions, run};
use crate::scenario::{Expect, NodeRef, NodesMut, Scenario, Step, Workload};

/// What a node reference becomes when node `removed` goes: `None` when it named that node.
fn renumber(r: &NodeRef, removed: u32) -> Option<NodeRef> {
    match r {
        NodeRef::Index(i) if *i == removed => None,
        NodeRef::Index(i) if *i > removed => Some(NodeRef::Index(i - 1)),
        other => Some(other.clone()),
    }
}

/// A node list without node `removed`; `None` when nothing is left.
fn renumber_list(refs: &[NodeRef], removed: u32) -> Option<Vec<NodeRef>> {
    let kept: Vec<NodeRef> = refs.iter().filter_map(|r| renumber(r, removed)).collect();
    (!kept.is_empty()).then_some(kept)
}

/// A step after node `removed` went; `None` when the step goes with it.
fn step_without(step: &Step, removed: u32) -> Option<Step> {
    let mut s = step.clone();
    match s.nodes_mut() {
        NodesMut::None => {}
        NodesMut::One(node) => *node = renumber(node, removed)?,
        NodesMut::Groups(groups) => {
            let kept: Vec<Vec<NodeRef>> = groups
                .iter()
                .filter_map(|g| renumber_list(g, removed))
                .collect();
            if kept.len() < 2 {
                return None; // One group is no partition.
            }
            *groups = kept;
        }
        NodesMut::Pair(from, to) => {
            *from = renumber_list(from, removed)?;
            *to = renumber_list(to, removed)?;
        }
        NodesMut::Lists(lists) => {
            for l in lists.into_iter().flatten() {
                *l = renumber_list(l, removed)?;
            }
        }
    }
    Some(s)
}

/// A workload after node `removed` went; `None` when it goes with it.
fn workload_without(w: &Workload, removed: u32) -> Option<Workload> {
    let mut w = w.clone();
    match &mut w {
        Workload::Payments { node, .. } => *node = renumber(node, removed)?,
    }
    Some(w)
}

/// An expectation after node `removed` went; `None` when it goes with it.
fn expect_without(e: &Expect, removed: u32) -> Option<Expect> {
    let mut e = e.clone();
    match &mut e {
        Expect::Epoch { node, .. } | Expect::ViewChange { node, .. } => {
            if let Some(n) = node {
                *n = renumber(n, removed)?;
            }
        }
        Expect::Reverted { node, .. }
        | Expect::Restakes { node, .. }
        | Expect::Validator { node, .. }
        | Expect::CaughtUp { node, .. }
        | Expect::Snowball { node, .. } => *node = renumber(node, removed)?,
        Expect::TxStatus { .. } | Expect::Committed { .. } => {}
    }
    Some(e)
}

/// `s` without node `removed` (a validator when it is below `s.validators`), re-checked; the
/// steps, workloads and expectations that named it dropped (and listed in the second value).
/// `Err` names why the variant is not a valid scenario.
pub fn without_node(s: &Scenario, removed: u32) -> Result<(Scenario, Vec<String>), String> {
    if removed >= s.nodes {
        return Err(format!(
            "node {removed} does not exist: the network has {} nodes",
            s.nodes
        ));
    }
    let mut c = s.clone();
    let mut dropped = Vec::new();
    c.nodes -= 1;
    if removed < s.validators {
        c.validators -= 1;
        c.chain.genesis_validators = c.validators;
    }
    c.steps = Vec::new();
    for st in &s.steps {
        match step_without(&st.value, removed) {
            Some(v) => c.steps.push(crate::scenario::Located {
                line: st.line,
                value: v,
            }),
            None => dropped.push(format!("step `{}` at line {}", st.value.action(), st.line)),
        }
    }
    c.workloads = Vec::new();
    for w in &s.workloads {
        match workload_without(&w.value, removed) {
            Some(v) => c.workloads.push(crate::scenario::Located {
                line: w.line,
                value: v,
            }),
            None => dropped.push(format!("workload at line {}", w.line)),
        }
    }
    // Accounts held by the removed node go (with their genesis funds); the others follow
    // their node's new index.
    c.accounts = Vec::new();
    for a in &s.accounts {
        if a.value.node == removed {
            dropped.push(format!("account at line {}", a.line));
            continue;
        }
        let mut v = a.value.clone();
        if v.node > removed {
            v.node -= 1;
        }
        c.accounts.push(crate::scenario::Located {
            line: a.line,
            value: v,
        });
    }
    if !s.accounts.is_empty() {
        c.chain.genesis_accounts = c.accounts.iter().map(|a| a.value.funds_ustg).collect();
    }
    c.expectations = Vec::new();
    for e in &s.expectations {
        match expect_without(&e.value, removed) {
            Some(v) => c.expectations.push(crate::scenario::Located {
                line: e.line,
                value: v,
            }),
            None => dropped.push(format!("expectation at line {}", e.line)),
        }
    }
    c.recheck()?;
    Ok((c, dropped))
}

/// What shrinking found.
#[derive(Debug)]
pub struct Shrunk {
    /// The smallest failing variant found.
    pub scenario: Scenario,
    /// Its outcome.
    pub outcome: Outcome,
    /// What was removed or cut, in order, in words (with scenario lines).
    pub removed: Vec<String>,
    /// Runs made (the first one included).
    pub runs: u32,
}

/// Virtual time kept after the failure when cutting the duration.
const MARGIN_NS: u64 = 5_000_000_000;

/// The explanation of a failure without its numbers (times, epochs, counts move as the
/// scenario shrinks; the words say what went wrong).
fn shape(detail: &str) -> String {
    detail
        .chars()
        .filter(|c| !c.is_ascii_digit() && *c != '.')
        .collect()
}

/// Whether `b` is the same failure as `a`: the same check, explained the same way up to
/// numbers (so "node 3 is down" and "node 3 is at epoch 4" differ).
fn same_failure(a: &Failure, b: &Option<Failure>) -> bool {
    b.as_ref().is_some_and(|b| {
        a.kind == b.kind && a.name == b.name && shape(&a.detail) == shape(&b.detail)
    })
}

/// Shrinks `scenario` at `seed`. `Ok(None)` when the run passes (nothing to shrink).
pub fn shrink(
    scenario: &Scenario,
    seed: u64,
    engine: EngineKind,
    runs_max: u32,
) -> Result<Option<Shrunk>, String> {
    let first = run_one(scenario, seed, engine).ok_or("the scenario does not run")?;
    let Some(target) = first.first_failure.clone() else {
        return Ok(None);
    };
    let mut s = Shrinker {
        seed,
        engine,
        runs_max,
        target,
        best: scenario.clone(),
        best_outcome: first,
        removed: Vec::new(),
        runs: 1,
    };
    s.drop_swarm();
    s.drop_steps();
    s.drop_workloads();
    s.drop_expectations();
    s.drop_nodes();
    s.cut_duration();
    Ok(Some(Shrunk {
        scenario: s.best,
        outcome: s.best_outcome,
        removed: s.removed,
        runs: s.runs,
    }))
}

/// One run of `s` at `seed` on `engine`; `None` when it does not run.
fn run_one(s: &Scenario, seed: u64, engine: EngineKind) -> Option<Outcome> {
    let mut options = RunOptions::seed(seed);
    options.engine = engine;
    run(s, options).ok()
}

/// The search: the smallest variant so far that fails like the original.
struct Shrinker {
    seed: u64,
    engine: EngineKind,
    /// Most runs, the first included.
    runs_max: u32,
    /// The failure every kept variant must reproduce.
    target: Failure,
    best: Scenario,
    best_outcome: Outcome,
    /// What was removed, in words.
    removed: Vec<String>,
    runs: u32,
}

impl Shrinker {
    /// Tries `candidate`; keeps it when it fails the same way.
    fn attempt(&mut self, candidate: Scenario, what: String) -> bool {
        if self.runs >= self.runs_max {
            return false;
        }
        self.runs += 1;
        match run_one(&candidate, self.seed, self.engine) {
            Some(o) if same_failure(&self.target, &o.first_failure) => {
                self.best = candidate;
                self.best_outcome = o;
                self.removed.push(what);
                true
            }
            _ => false,
        }
    }

    fn drop_swarm(&mut self) {
        if self.best.swarm.is_some() {
            let mut c = self.best.clone();
            c.swarm = None;
            self.attempt(c, "the swarm's seed-chosen faults".into());
        }
    }

    /// Each step, last first.
    fn drop_steps(&mut self) {
        let mut i = self.best.steps.len();
        while i > 0 {
            i -= 1;
            let mut c = self.best.clone();
            let step = c.steps.remove(i);
            let what = format!("step `{}` at line {}", step.value.action(), step.line);
            self.attempt(c, what);
        }
    }

    /// Each workload, last first.
    fn drop_workloads(&mut self) {
        let mut i = self.best.workloads.len();
        while i > 0 {
            i -= 1;
            let mut c = self.best.clone();
            let w = c.workloads.remove(i);
            self.attempt(c, format!("workload at line {}", w.line));
        }
    }

    /// Each expectation but the failing one, last first.
    fn drop_expectations(&mut self) {
        let mut i = self.best.expectations.len();
        while i > 0 {
            i -= 1;
            if Some(self.best.expectations[i].line) == self.target.line {
                continue;
            }
            let mut c = self.best.clone();
            let e = c.expectations.remove(i);
            self.attempt(c, format!("expectation at line {}", e.line));
        }
    }

    /// Fewer nodes: all observers at once, then one at a time from the last, then validators
    /// one at a time from the last (removing the last node renumbers nothing).
    fn drop_nodes(&mut self) {
        if self.best.nodes > self.best.validators + 1 {
            let observers: Vec<u32> = (self.best.validators..self.best.nodes).collect();
            if let Some((c, what)) = node_variant(&self.best, &observers) {
                self.attempt(c, what);
            }
        }
        let mut n = self.best.nodes;
        while n > self.best.validators {
            n -= 1;
            if let Some((c, what)) = node_variant(&self.best, &[n]) {
                self.attempt(c, what);
            }
        }
        let mut n = self.best.validators;
        while n > 0 && self.best.validators > 1 {
            n -= 1;
            if let Some((c, what)) = node_variant(&self.best, &[n]) {
                self.attempt(c, what);
            }
        }
    }

    /// Halves the duration while it still fails, never below the failure plus a margin.
    fn cut_duration(&mut self) {
        loop {
            let floor = self
                .best_outcome
                .first_failure
                .as_ref()
                .map_or(0, |f| f.t_ns)
                .saturating_add(MARGIN_NS);
            let shorter = (self.best.duration_ns / 2).max(floor);
            if shorter >= self.best.duration_ns {
                break;
            }
            let mut c = self.best.clone();
            c.duration_ns = shorter;
            let what = format!("duration cut to {:.1}s", shorter as f64 / 1e9);
            if !self.attempt(c, what) {
                break;
            }
        }
    }
}

/// `best` without the nodes `removed` (ascending), and the words for it; `None` when the
/// variant is not a valid scenario.
fn node_variant(best: &Scenario, removed: &[u32]) -> Option<(Scenario, String)> {
    let mut c = best.clone();
    let mut dropped = Vec::new();
    // Highest first, so the lower indices to remove keep their numbers.
    for &n in removed.iter().rev() {
        let (next, d) = without_node(&c, n).ok()?;
        c = next;
        dropped.extend(d);
    }
    let mut what = match removed {
        [n] if *n < best.validators => format!("validator node {n}"),
        [n] => format!("observer node {n}"),
        _ => format!("{} observer nodes", removed.len()),
    };
    if !dropped.is_empty() {
        what.push_str(&format!(" (with {})", dropped.join(", ")));
    }
    Some((c, what))
}
