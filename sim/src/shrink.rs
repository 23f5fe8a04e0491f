//! Shrinking a failing run: smaller variants of a scenario that fail the same way.
//!
//! Given a scenario and a seed that fail, [`shrink`] tries, greedily and in this order:
//! turning the swarm's seed-chosen faults off, removing each step (last first), removing each
//! workload, removing each expectation other than the failing one, cutting the duration
//! (halving it, never below the failure's time plus a margin). A variant is kept when its run still fails with the same first
//! failure (same kind and name, and the same explanation up to its numbers); a variant that passes, fails differently or does not run is
//! dropped. Every run uses the same seed, so each verdict is reproducible. The search stops
//! after `runs_max` runs.
//!
//! Not yet: fewer nodes. Steps and expectations name nodes by index, so a variant without a
//! node must first re-check the scenario the way loading a file does; until then the node
//! count stays.

use crate::runner::{EngineKind, Failure, Outcome, RunOptions, run};
use crate::scenario::Scenario;

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
    let run_one = |s: &Scenario| -> Option<Outcome> {
        let mut options = RunOptions::seed(seed);
        options.engine = engine;
        run(s, options).ok()
    };
    let first = run_one(scenario).ok_or("the scenario does not run")?;
    let Some(target) = first.first_failure.clone() else {
        return Ok(None);
    };
    let mut best = scenario.clone();
    let mut best_outcome = first;
    let mut removed = Vec::new();
    let mut runs = 1u32;
    // Tries `candidate`; keeps it when it fails the same way.
    let mut attempt = |candidate: Scenario,
                       what: String,
                       best: &mut Scenario,
                       best_outcome: &mut Outcome,
                       runs: &mut u32|
     -> bool {
        if *runs >= runs_max {
            return false;
        }
        *runs += 1;
        match run_one(&candidate) {
            Some(o) if same_failure(&target, &o.first_failure) => {
                *best = candidate;
                *best_outcome = o;
                removed.push(what);
                true
            }
            _ => false,
        }
    };

    if best.swarm.is_some() {
        let mut c = best.clone();
        c.swarm = None;
        attempt(
            c,
            "the swarm's seed-chosen faults".into(),
            &mut best,
            &mut best_outcome,
            &mut runs,
        );
    }
    let mut i = best.steps.len();
    while i > 0 {
        i -= 1;
        let mut c = best.clone();
        let step = c.steps.remove(i);
        let what = format!("step `{}` at line {}", step.value.action(), step.line);
        attempt(c, what, &mut best, &mut best_outcome, &mut runs);
    }
    let mut i = best.workloads.len();
    while i > 0 {
        i -= 1;
        let mut c = best.clone();
        let w = c.workloads.remove(i);
        attempt(
            c,
            format!("workload at line {}", w.line),
            &mut best,
            &mut best_outcome,
            &mut runs,
        );
    }
    let mut i = best.expectations.len();
    while i > 0 {
        i -= 1;
        if Some(best.expectations[i].line) == target.line {
            continue;
        }
        let mut c = best.clone();
        let e = c.expectations.remove(i);
        attempt(
            c,
            format!("expectation at line {}", e.line),
            &mut best,
            &mut best_outcome,
            &mut runs,
        );
    }
    loop {
        let floor = best_outcome
            .first_failure
            .as_ref()
            .map_or(0, |f| f.t_ns)
            .saturating_add(MARGIN_NS);
        let shorter = (best.duration_ns / 2).max(floor);
        if shorter >= best.duration_ns {
            break;
        }
        let mut c = best.clone();
        c.duration_ns = shorter;
        let what = format!("duration cut to {:.1}s", shorter as f64 / 1e9);
        if !attempt(c, what, &mut best, &mut best_outcome, &mut runs) {
            break;
        }
    }
    Ok(Some(Shrunk {
        scenario: best,
        outcome: best_outcome,
        removed,
        runs,
    }))
}
