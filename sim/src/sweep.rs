//! Seed sweeps: one scenario over a range of seeds, in parallel, sharded across machines.
//!
//! Seeds come as a half-open range `A..B`. A shard `K/N` takes every `N`-th seed of the range
//! starting at the `K`-th (`0/N` .. `N-1/N`), so `N` machines (a CI matrix, a Kubernetes
//! Indexed Job) together run each seed exactly once, with similar mixes of seeds. Results
//! come back in seed order whatever the number of threads, and render as JUnit XML, one test
//! case per seed, for CI dashboards.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use stegosim_formats::markup::escape_xml;

use crate::outcome::Failure;
use crate::run::{RunOptions, run};
use crate::scenario::Scenario;

/// Most seeds one sweep runs.
pub const SWEEP_SEEDS_MAX: u64 = 10_000_000;
/// Most worker threads.
pub const JOBS_MAX: usize = 1_024;

/// A bad `--seeds` or `--shard` argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SweepArgError {
    /// Not `A..B` with `A < B`.
    #[error("seeds {0:?}: expected a half-open range A..B with A < B, e.g. 0..100")]
    Seeds(String),
    /// Not `K/N` with `K < N`.
    #[error("shard {0:?}: expected K/N with 0 <= K < N, e.g. 0/4")]
    Shard(String),
    /// More seeds than [`SWEEP_SEEDS_MAX`].
    #[error("{0} seeds, at most {SWEEP_SEEDS_MAX} in one sweep")]
    TooMany(u64),
}

/// A half-open range of seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedRange {
    /// First seed.
    pub start: u64,
    /// One past the last seed.
    pub end: u64,
}

impl std::str::FromStr for SeedRange {
    type Err = SweepArgError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || SweepArgError::Seeds(s.to_string());
        let (a, b) = s.split_once("..").ok_or_else(err)?;
        let start: u64 = a.trim().parse().map_err(|_| err())?;
        let end: u64 = b.trim().parse().map_err(|_| err())?;
        if start >= end {
            return Err(err());
        }
        if end - start > SWEEP_SEEDS_MAX {
            return Err(SweepArgError::TooMany(end - start));
        }
        Ok(SeedRange { start, end })
    }
}

/// One shard of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Default for Shard {
    /// The whole range.
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl std::str::FromStr for Shard {
    type Err = SweepArgError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || SweepArgError::Shard(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(err)?;
        let index: u64 = k.trim().parse().map_err(|_| err())?;
        let count: u64 = n.trim().parse().map_err(|_| err())?;
        if count == 0 || index >= count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

/// The seeds of `range` that belong to `shard`, in order.
pub fn shard_seeds(range: SeedRange, shard: Shard) -> Vec<u64> {
    (range.start..range.end)
        .filter(|s| (s - range.start) % shard.count == shard.index)
        .collect()
}

/// The result of one seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Whether every expectation and invariant held (and, when checked, the rerun matched).
    pub passed: bool,
    /// The trace hash.
    pub trace_hash: String,
    /// The first failure, if any.
    pub failure: Option<Failure>,
    /// With `--check-determinism`: the second run's hash, when it differs.
    pub nondeterministic: Option<String>,
    /// The run could not be carried out at all.
    pub error: Option<String>,
}

/// Runs `scenario` for every seed on `jobs` threads; with `check_determinism` each seed runs
/// twice and must give the same trace hash. `on_done` sees each result as it finishes (in
/// completion order); the returned results are in seed order.
pub fn sweep(
    scenario: &Scenario,
    seeds: &[u64],
    jobs: usize,
    check_determinism: bool,
    on_done: &(dyn Fn(&SeedResult) + Sync),
) -> Vec<SeedResult> {
    let jobs = jobs.clamp(1, JOBS_MAX).min(seeds.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<SeedResult>> = Mutex::new(Vec::with_capacity(seeds.len()));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else {
                        return;
                    };
                    let r = one_seed(scenario, seed, check_determinism);
                    on_done(&r);
                    // A poisoned lock means another worker panicked; its result is lost but
                    // the vector is intact.
                    results.lock().unwrap_or_else(|e| e.into_inner()).push(r);
                }
            });
        }
    });
    let mut v = results.into_inner().unwrap_or_else(|e| e.into_inner());
    v.sort_by_key(|r| r.seed);
    v
}

fn one_seed(scenario: &Scenario, seed: u64, check_determinism: bool) -> SeedResult {
    let first = match run(scenario, RunOptions::seed(seed)) {
        Ok(o) => o,
        Err(e) => {
            return SeedResult {
                seed,
                passed: false,
                trace_hash: String::new(),
                failure: None,
                nondeterministic: None,
                error: Some(e.to_string()),
            };
        }
    };
    let nondeterministic = if check_determinism {
        match run(scenario, RunOptions::seed(seed)) {
            Ok(o) if o.trace_hash == first.trace_hash => None,
            Ok(o) => Some(o.trace_hash),
            Err(e) => Some(format!("the second run failed: {e}")),
        }
    } else {
        None
    };
    SeedResult {
        seed,
        passed: first.passed && nondeterministic.is_none(),
        trace_hash: first.trace_hash,
        failure: first.first_failure,
        nondeterministic,
        error: None,
    }
}

/// JUnit XML for a sweep: one test case per seed, named `seed N`, whose failure message holds
/// the first failure and the command that reproduces it (`reproduce_prefix` + seed).
pub fn junit_xml(scenario: &str, reproduce_prefix: &str, results: &[SeedResult]) -> String {
    let failures = results.iter().filter(|r| !r.passed).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<testsuites tests=\"{}\" failures=\"{failures}\">\n  <testsuite name=\"stegosim sweep {}\" tests=\"{}\" failures=\"{failures}\">\n",
        results.len(),
        escape_xml(scenario),
        results.len()
    ));
    for r in results {
        x.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"seed {}\"",
            escape_xml(scenario),
            r.seed
        ));
        if r.passed {
            x.push_str(&format!(
                "><system-out>trace {}</system-out></testcase>\n",
                r.trace_hash
            ));
            continue;
        }
        let message = if let Some(e) = &r.error {
            e.clone()
        } else if let Some(h) = &r.nondeterministic {
            format!("not deterministic: trace {} then {h}", r.trace_hash)
        } else if let Some(f) = &r.failure {
            format!("{} {} at {} ns: {}", f.kind, f.name, f.t_ns, f.detail)
        } else {
            "failed".into()
        };
        x.push_str(&format!(
            ">\n      <failure message=\"{}\">reproduce with: {}{}</failure>\n    </testcase>\n",
            escape_xml(&message),
            escape_xml(reproduce_prefix),
            r.seed
        ));
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_shards_parse_and_partition() {
        let r: SeedRange = "10..20".parse().unwrap();
        assert_eq!(r, SeedRange { start: 10, end: 20 });
        assert!("5..5".parse::<SeedRange>().is_err());
        assert!("7".parse::<SeedRange>().is_err());
        assert!("2/2".parse::<Shard>().is_err());
        let mut all = Vec::new();
        for k in 0..3 {
            all.extend(shard_seeds(r, format!("{k}/3").parse().unwrap()));
        }
        all.sort();
        assert_eq!(all, (10..20).collect::<Vec<_>>());
        assert_eq!(shard_seeds(r, "1/3".parse().unwrap()), vec![11, 14, 17]);
    }

    #[test]
    fn junit_names_each_seed_and_escapes() {
        let ok = SeedResult {
            seed: 1,
            passed: true,
            trace_hash: "ab".into(),
            failure: None,
            nondeterministic: None,
            error: None,
        };
        let bad = SeedResult {
            seed: 2,
            passed: false,
            error: Some("a<b".into()),
            ..ok.clone()
        };
        let x = junit_xml("s", "stegosim run s.toml --seed ", &[ok, bad]);
        assert!(x.contains("tests=\"2\" failures=\"1\""));
        assert!(x.contains("name=\"seed 2\""));
        assert!(x.contains("a&lt;b"));
        assert!(x.contains("reproduce with: stegosim run s.toml --seed 2"));
    }
}
