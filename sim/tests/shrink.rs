//! `shrink` keeps what makes a run fail and drops the rest.

use stegosim_sim::run::EngineKind;
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

/// Four validators and three observers; the failing expectation (1000 payments committed in
/// 30 s) names no node, so the observers are not needed to fail, nor most validators.
const OBSERVERS: &str = r#"
name = "observers"
duration = "30s"

[network]
validators = 4
observers = 3

[[step]]
at = "2s"
action = "pay"
node = 0
to = "alice"
amount_ustg = 5_000_000

[[step]]
at = "10s"
action = "crash"
node = 6

[[step]]
at = "11s"
action = "partition"
groups = [[0, 1, 2, 3, 4], [5, 6]]

[[step]]
at = "12s"
action = "heal"

[[expect]]
kind = "committed"
at_least = 1000
by = "30s"

[invariants]
converge_within = "15s"
"#;

#[test]
fn shrinking_removes_observers_and_validators_the_failure_does_not_need() {
    let s = load("observers.toml", OBSERVERS).unwrap();
    assert_eq!((s.validators, s.nodes), (4, 7));
    let shrunk = shrink(&s, 3, EngineKind::Des, 60)
        .unwrap()
        .expect("the run fails");
    let f = shrunk.outcome.first_failure.as_ref().expect("still fails");
    assert!(f.name.contains("1000 payments"), "{f:?}");
    let c = &shrunk.scenario;
    assert_eq!(
        c.nodes, c.validators,
        "no observer left: {:?}",
        shrunk.removed
    );
    assert!(
        c.validators < 4,
        "validators removed too: {:?}",
        shrunk.removed
    );
    assert!(
        shrunk.removed.iter().any(|r| r.contains("observer nodes")),
        "{:?}",
        shrunk.removed
    );
    // Whatever is left names only nodes that exist.
    c.recheck().unwrap();
    let again = shrink(&s, 3, EngineKind::Des, 60).unwrap().unwrap();
    assert_eq!(again.removed, shrunk.removed);
    assert_eq!(again.outcome.trace_hash, shrunk.outcome.trace_hash);
}

#[test]
fn removing_a_node_drops_or_renumbers_what_names_it() {
    use stegosim_sim::scenario::{NodeRef, Step};
    use stegosim_sim::shrink::without_node;
    let s = load("observers.toml", OBSERVERS).unwrap();
    // Node 6 (an observer): the crash naming it goes; the partition keeps node 5 alone.
    let (c, dropped) = without_node(&s, 6).unwrap();
    assert_eq!((c.validators, c.nodes), (4, 6));
    assert_eq!(dropped, vec!["step `crash` at line 16".to_string()]);
    let groups = c.steps.iter().find_map(|st| match &st.value {
        Step::Partition { groups, .. } => Some(groups.clone()),
        _ => None,
    });
    assert_eq!(
        groups.unwrap()[1],
        vec![NodeRef::Index(5)],
        "node 5 stays in its group"
    );
    // Validator 2: the validators after it and the observers move down by one.
    let (c, dropped) = without_node(&s, 2).unwrap();
    assert_eq!(
        (c.validators, c.nodes, c.chain.genesis_validators),
        (3, 6, 3)
    );
    assert!(dropped.is_empty(), "{dropped:?}");
    let crash = c.steps.iter().find_map(|st| match &st.value {
        Step::Crash { node, .. } => Some(node.clone()),
        _ => None,
    });
    assert_eq!(crash, Some(NodeRef::Index(5)));
    // Nodes 5 and 6 both gone: the partition has one group left, so it goes too.
    let (c, _) = without_node(&s, 6).unwrap();
    let (c, dropped) = without_node(&c, 5).unwrap();
    assert!(
        dropped.iter().any(|d| d.contains("partition")),
        "{dropped:?}"
    );
    assert!(c.steps.iter().all(|st| st.value.action() != "partition"));
    // A node that does not exist is an error, not a panic.
    assert!(
        without_node(&s, 7)
            .unwrap_err()
            .contains("node 7 does not exist")
    );
}

#[test]
fn a_scenario_edited_to_name_a_missing_node_is_refused_by_recheck_and_does_not_panic_when_run() {
    use stegosim_sim::run::{RunOptions, run};
    let mut s = load("observers.toml", OBSERVERS).unwrap();
    // Remove the last observer without renumbering: the crash step now names node 6 of 6.
    s.nodes -= 1;
    let e = s.recheck().unwrap_err();
    assert!(
        e.contains("line 16") && e.contains("node 6 does not exist"),
        "{e}"
    );
    // Running it anyway reports the step in the trace instead of panicking in the cluster.
    let out = run(&s, RunOptions::seed(1)).unwrap();
    assert!(
        out.first_failure.is_some(),
        "the committed expectation still fails"
    );
}
