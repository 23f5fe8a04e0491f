//! The `turmoil` engine: real node drivers, peer transport and API servers on turmoil hosts.
//! Scenarios pass, the same seed gives the same trace, and steps turmoil cannot carry out are
//! refused before anything runs, naming the line and the engine.

use stegosim_sim::outcome::Outcome;
use stegosim_sim::run::{EngineKind, RunError, RunOptions, run};
use stegosim_sim::scenario::{Scenario, load, load_builtin};

fn scenario(name: &str) -> Scenario {
    load_builtin(name)
        .unwrap_or_else(|| panic!("{name} is built in"))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn run_turmoil(s: &Scenario, seed: u64) -> Result<Outcome, RunError> {
    let mut o = RunOptions::seed(seed);
    o.engine = EngineKind::Turmoil;
    o.keep_trace = true;
    run(s, o)
}

fn assert_passes(name: &str, seed: u64) -> Outcome {
    let o = run_turmoil(&scenario(name), seed).expect("the run completes");
    assert!(
        o.passed,
        "{name} failed on turmoil, seed {seed}: {:?}\nreproduce: stegosim run scenarios/{name}.toml --seed {seed} --engine turmoil",
        o.first_failure
    );
    assert_eq!(o.engine, EngineKind::Turmoil);
    o
}

#[test]
fn quickstart_passes_on_turmoil_with_api_traffic_over_websocket() {
    let o = assert_passes("quickstart", 1);
    let trace = o.trace.expect("kept");
    assert!(trace[0].contains(r#""engine":"turmoil""#), "{}", trace[0]);
    // The API step's answer came back as an encrypted frame through the client host.
    assert!(
        trace
            .iter()
            .any(|l| l.contains(r#""kind":"api_response""#) && l.contains("transaction_created")),
        "no api_response in the trace"
    );
    assert!(o.counts.epochs >= 4, "epochs {}", o.counts.epochs);
}

#[test]
fn same_seed_same_trace_on_turmoil() {
    let s = scenario("quickstart");
    let a = run_turmoil(&s, 7).unwrap();
    let b = run_turmoil(&s, 7).unwrap();
    assert_eq!(a.trace_hash, b.trace_hash, "seed 7 twice on turmoil");
    assert_eq!(a.trace, b.trace);
    let c = run_turmoil(&s, 8).unwrap();
    assert_ne!(a.trace_hash, c.trace_hash, "another seed, another run");
}

#[test]
fn partition_and_crash_scenarios_pass_on_turmoil() {
    assert_passes("partition-fork-revert", 1);
    assert_passes("crash-restart-durability", 1);
}

#[test]
fn steps_turmoil_cannot_map_are_refused_at_load_time_with_line_and_engine() {
    let text = r#"
name = "drift"
duration = "10s"

[network]
validators = 4

[[step]]
at = "5s"
action = "clock_drift"
node = 1
drift_ppm = 100

[invariants]
converge_within = "4s"
"#;
    let s = load("drift.toml", text).unwrap();
    let e = run_turmoil(&s, 1).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, RunError::Unsupported(_)), "{e:?}");
    assert!(msg.contains("line 8"), "{msg}");
    assert!(msg.contains("clock_drift"), "{msg}");
    assert!(msg.contains("turmoil"), "{msg}");
    // The same file runs on des.
    let mut o = RunOptions::seed(1);
    o.engine = EngineKind::Des;
    assert!(run(&s, o).is_ok());

    let lossy = text
        .replace("validators = 4", "validators = 4\nloss = 0.01")
        .replace(
            "action = \"clock_drift\"\nnode = 1\ndrift_ppm = 100",
            "action = \"heal\"",
        );
    let s = load("lossy.toml", &lossy).unwrap();
    let msg = run_turmoil(&s, 1).unwrap_err().to_string();
    assert!(msg.contains("loss") && msg.contains("turmoil"), "{msg}");
}
