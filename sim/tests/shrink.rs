//! `shrink` keeps what makes a run fail and drops the rest.

use stegosim_sim::runner::EngineKind;
use stegosim_sim::scenario::load;
use stegosim_sim::shrink::shrink;

const FAILING: &str = r#"
name = "failing"
duration = "80s"

[network]
validators = 4

[[step]]
at = "2s"
action = "pay"
node = 0
to = "alice"
amount_ustg = 5_000_000

[[step]]
at = "5s"
action = "clock_drift"
node = 2
drift_ppm = 5000

[[step]]
at = "10s"
action = "crash"
node = 3

[[expect]]
kind = "epoch"
node = 3
at_least = 5
by = "40s"
"#;

#[test]
fn shrinking_keeps_the_crash_that_fails_the_run_and_drops_the_rest() {
    let s = load("failing.toml", FAILING).unwrap();
    let shrunk = shrink(&s, 1, EngineKind::Des, 100)
        .unwrap()
        .expect("the run fails");
    let f = shrunk.outcome.first_failure.as_ref().expect("still fails");
    assert!(f.name.contains("node 3"), "{f:?}");
    let actions: Vec<&str> = shrunk
        .scenario
        .steps
        .iter()
        .map(|s| s.value.action())
        .collect();
    assert_eq!(
        actions,
        vec!["crash"],
        "only the crash is needed: {:?}",
        shrunk.removed
    );
    assert!(
        shrunk.scenario.duration_ns < s.duration_ns,
        "the duration was cut"
    );
    assert!(shrunk.runs <= 100);
    // Deterministic: the same search gives the same result.
    let again = shrink(&s, 1, EngineKind::Des, 100).unwrap().unwrap();
    assert_eq!(again.removed, shrunk.removed);
    assert_eq!(again.outcome.trace_hash, shrunk.outcome.trace_hash);
}

#[test]
fn a_passing_run_has_nothing_to_shrink() {
    let text = FAILING
        .replace("at_least = 5", "at_least = 0")
        .replace("action = \"crash\"\nnode = 3", "action = \"heal\"");
    let s = load("passing.toml", &text).unwrap();
    assert!(shrink(&s, 1, EngineKind::Des, 10).unwrap().is_none());
}
