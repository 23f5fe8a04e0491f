//! The node library's invariant checker runs after every chain event: a fault planted in what
//! it sees (a double spend in the final chain, a finalised block reverted) stops the run at
//! the event that broke the invariant, and the outcome names it and the command that
//! reproduces the run.

use stegosim_node::invariants::Injection;
use stegosim_sim::outcome::{FailureKind, Outcome};
use stegosim_sim::run::{RunOptions, run};
use stegosim_sim::scenario::load_builtin;

fn run_with(inject: Injection) -> Outcome {
    let s = load_builtin("quickstart").unwrap().unwrap();
    run(
        &s,
        RunOptions {
            keep_trace: true,
            inject: Some(inject),
            ..RunOptions::seed(1)
        },
    )
    .expect("the run completes")
}

/// Checks that the run stopped right after node `node` committed the macro block of `epoch`:
/// that line, then the violation of `invariant` (naming the node), then only the end-of-run
/// lines at the same instant.
fn assert_stopped_at_commit(o: &Outcome, node: u32, epoch: u64, invariant: &str) {
    assert!(!o.passed);
    let f = o.first_failure.as_ref().expect("a failure");
    assert_eq!(f.kind, FailureKind::Invariant);
    assert_eq!(f.name, invariant, "{f:?}");
    let lines = o.trace.as_ref().expect("kept");
    let parsed: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let at = parsed
        .iter()
        .position(|v| v["kind"] == "invariant" && v["held"] == false)
        .expect("a violation line");
    let violation = &parsed[at];
    assert_eq!(violation["node"], node, "{}", lines[at]);
    assert_eq!(violation["name"], invariant);
    let commit = &parsed[at - 1];
    assert_eq!(commit["kind"], "macro_block_committed", "{}", lines[at - 1]);
    assert_eq!(commit["node"], node);
    assert_eq!(commit["epoch"], epoch);
    let t = violation["t_ns"].as_u64().unwrap();
    assert_eq!(t, f.t_ns);
    for (v, l) in parsed[at + 1..].iter().zip(&lines[at + 1..]) {
        assert_eq!(v["t_ns"].as_u64().unwrap(), t, "after the violation: {l}");
        assert!(
            matches!(
                v["kind"].as_str(),
                Some("invariant" | "message_dropped" | "run_finished")
            ),
            "after the violation: {l}"
        );
    }
    assert!(t < o.duration_ns, "stopped before the end");
    assert_eq!(parsed.last().unwrap()["kind"], "run_finished");
    assert_eq!(
        o.reproduce("scenarios/quickstart.toml"),
        "stegosim run scenarios/quickstart.toml --seed 1"
    );
}

#[test]
fn a_double_spend_in_the_final_chain_stops_the_run_where_it_appears() {
    let o = run_with(Injection::DoubleSpend { node: 1, epoch: 2 });
    assert_stopped_at_commit(&o, 1, 2, "final_chain");
    let f = o.first_failure.unwrap();
    assert!(f.detail.contains("already spent in epoch"), "{}", f.detail);
}

#[test]
fn a_finalised_block_reverted_stops_the_run_where_it_happens() {
    let o = run_with(Injection::FinalityBreak { node: 2, epoch: 2 });
    assert_stopped_at_commit(&o, 2, 2, "finality");
    let f = o.first_failure.unwrap();
    assert!(
        f.detail.contains("after committing epoch 2"),
        "{}",
        f.detail
    );
}

#[test]
fn every_invariant_of_the_checker_is_summarised_with_its_checks() {
    let s = load_builtin("quickstart").unwrap().unwrap();
    let o = run(
        &s,
        RunOptions {
            keep_trace: true,
            ..RunOptions::seed(1)
        },
    )
    .unwrap();
    assert!(o.passed, "{:?}", o.first_failure);
    for name in ["macro_agreement", "supply", "final_chain", "finality"] {
        let line = o
            .trace
            .as_ref()
            .unwrap()
            .iter()
            .find(|l| {
                l.contains("\"kind\":\"invariant\"") && l.contains(&format!("\"name\":\"{name}\""))
            })
            .unwrap_or_else(|| panic!("no {name} line"));
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["held"], true, "{line}");
        assert!(v["chain_checks"].as_u64().unwrap() > 100, "{line}");
        assert!(v["events"].as_u64().unwrap() >= v["chain_checks"].as_u64().unwrap());
    }
}
