//! `stegosim load --sim` as a user runs it: each workload model against a scenario's
//! simulated nodes in virtual time (where the achieved rate is exactly the target),
//! determinism (two runs, one hash), thresholds' exit codes, merge, setup with funding, and
//! clear errors for a bad scenario.

use std::path::Path;

mod common;
use common::{code, stegosim, text};

const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/payments.toml");

/// Runs `load --sim SCENARIO ARGS --quiet --out FILE`, expects exit `want`, returns the
/// results' JSON.
fn sim_load(out: &Path, args: &[&str], want: i32) -> serde_json::Value {
    let out_s = out.to_str().unwrap();
    let mut all = vec!["load", "--sim", SCENARIO, "--quiet", "--out", out_s];
    all.extend_from_slice(args);
    let o = stegosim(&all);
    assert_eq!(code(&o), want, "{}", text(&o));
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn every_model_runs_and_starts_exactly_on_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let models: [&[&str]; 4] = [
        &[
            "--model",
            "constant-arrival-rate",
            "--rate",
            "200",
            "--duration",
            "5s",
        ],
        &[
            "--model",
            "ramping-arrival-rate",
            "--start-rate",
            "0",
            "--stage",
            "2s:100",
            "--stage",
            "2s:100",
        ],
        // Pacing above the longest round trip (2 x 400 ms) keeps the VUs on schedule.
        &[
            "--model",
            "constant-vus",
            "--vus",
            "10",
            "--pacing",
            "1s",
            "--duration",
            "4s",
        ],
        &[
            "--model",
            "ramping-vus",
            "--start-vus",
            "0",
            "--stage",
            "2s:10",
            "--stage",
            "2s:10",
            "--pacing",
            "1s",
        ],
    ];
    for (i, m) in models.iter().enumerate() {
        let mut args = m.to_vec();
        args.extend(["--request", "balance_info"]);
        let r = sim_load(&dir.path().join(format!("{i}.json")), &args, 0);
        let s = &r["summary"];
        let target = s["target_rate"].as_f64().unwrap();
        // Virtual time: exact, not merely within 2%.
        assert_eq!(s["achieved_rate"].as_f64().unwrap(), target, "{m:?}: {s}");
        assert_eq!(u(&s["started"]), u(&s["scheduled"]), "{m:?}: {s}");
        assert_eq!(u(&s["completed"]), u(&s["started"]), "{m:?}: {s}");
        assert_eq!(u(&s["errors"]), 0, "{m:?}: {s}");
        assert_eq!(u(&s["behind_schedule"]["count"]), 0, "{m:?}: {s}");
        assert_eq!(r["config"]["sim"]["scenario"], "payments");
        // Latency is the simulated network's: two link crossings of at least 5 ms each.
        let p50 = u(&s["requests"]["balance_info"]["latency"]["p50_ns"]);
        assert!(p50 >= 10_000_000, "{m:?}: p50 {p50}");
    }
    let r = sim_load(
        &dir.path().join("iter.json"),
        &[
            "--model",
            "per-vu-iterations",
            "--vus",
            "4",
            "--iterations",
            "5",
            "--request",
            "balance_info",
        ],
        0,
    );
    assert_eq!(u(&r["summary"]["started"]), 20);
    assert_eq!(u(&r["summary"]["completed"]), 20);
}

#[test]
fn same_seed_same_results_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: &str| {
        let path = dir.path().join(name);
        sim_load(
            &path,
            &[
                "--model",
                "constant-arrival-rate",
                "--rate",
                "300",
                "--duration",
                "3s",
                "--request",
                "balance_info*3",
                "--request",
                "status_info",
                "--seed",
                seed,
            ],
            0,
        );
        blake3::hash(&std::fs::read(path).unwrap())
    };
    let a = run("a.json", "7");
    let b = run("b.json", "7");
    assert_eq!(a, b, "two runs with seed 7 differ");
    // The hash does tell runs apart: another seed draws other latencies and another mix.
    let c = run("c.json", "8");
    assert_ne!(a, c, "seeds 7 and 8 gave the same results");
}

#[test]
fn thresholds_exit_codes_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "--model",
        "constant-arrival-rate",
        "--rate",
        "100",
        "--duration",
        "2s",
        "--request",
        "balance_info",
    ];
    let with = |t: &'static str| {
        let mut v = base.to_vec();
        v.extend(["--threshold", t]);
        v
    };
    // The scenario's links take 5 ms to 400 ms each way.
    let a = sim_load(&dir.path().join("a.json"), &with("balance_info.p99<2s"), 0);
    assert_eq!(a["summary"]["thresholds_ok"], true);
    let b = sim_load(
        &dir.path().join("b.json"),
        &with("balance_info.p50<5ms"),
        99,
    );
    assert_eq!(b["summary"]["thresholds_ok"], false);
    sim_load(&dir.path().join("c.json"), &with("errors<0.1%"), 0);
    // Merge: exact counts, thresholds evaluated again (one of the inputs' fails).
    let m = dir.path().join("m.json");
    let o = stegosim(&[
        "load",
        "merge",
        "--quiet",
        dir.path().join("a.json").to_str().unwrap(),
        dir.path().join("b.json").to_str().unwrap(),
        "--out",
        m.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 99, "{}", text(&o));
    let merged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    assert_eq!(u(&merged["summary"]["started"]), 400);
}

#[test]
fn setup_creates_and_funds_accounts_and_payments_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let r = sim_load(
        &dir.path().join("pay.json"),
        &[
            "--model",
            "constant-arrival-rate",
            "--rate",
            "2",
            "--duration",
            "4s",
            "--accounts",
            "2",
            "--fund-amount",
            "100000000",
            "--graceful-stop",
            "30s",
            "--request",
            r#"{"type":"payment","recipient":"{recipient}","amount":10,"payment_fee":1000}"#,
        ],
        0,
    );
    let s = &r["summary"];
    assert_eq!(u(&s["started"]), 8, "{s}");
    // Each funded account has one output: payments in flight lock it, so some are refused,
    // as a real node refuses them; those that go through are followed to `committed`.
    assert!(u(&s["completed"]) >= 2, "{s}");
    assert!(u(&s["follow"]["payment.committed"]["count"]) >= 2, "{s}");
}

#[test]
fn falling_behind_is_reported_and_never_the_generators_fault_in_virtual_time() {
    let dir = tempfile::tempdir().unwrap();
    // Two connections with one request in flight each cannot keep up with 200/s over
    // round trips of 10-800 ms.
    let r = sim_load(
        &dir.path().join("behind.json"),
        &[
            "--model",
            "constant-arrival-rate",
            "--rate",
            "200",
            "--duration",
            "3s",
            "--connections",
            "2",
            "--in-flight",
            "1",
            "--request",
            "balance_info",
        ],
        0,
    );
    let s = &r["summary"];
    let behind = &s["behind_schedule"];
    assert!(u(&behind["count"]) > 0, "{s}");
    assert!(u(&behind["worst_ns"]) > 100_000_000, "{s}");
    assert_eq!(u(&behind["waited_for_slot"]), u(&behind["count"]), "{s}");
    assert_eq!(u(&behind["generator"]), 0, "{s}");
    assert!(u(&s["not_started"]) > 0, "{s}");
    assert!(s["achieved_rate"].as_f64().unwrap() < 200.0, "{s}");
}

#[test]
fn a_bad_scenario_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let o = stegosim(&[
        "load",
        "--sim",
        missing.to_str().unwrap(),
        "--model",
        "constant-arrival-rate",
        "--rate",
        "10",
        "--duration",
        "1s",
        "--request",
        "balance_info",
    ]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot read scenario") && err.contains("nope.toml"),
        "{err}"
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"x\"\nduration = \"10s\"\n[network]\nvalidators = \"four\"\n",
    )
    .unwrap();
    let o = stegosim(&[
        "load",
        "--sim",
        bad.to_str().unwrap(),
        "--model",
        "constant-arrival-rate",
        "--rate",
        "10",
        "--duration",
        "1s",
        "--request",
        "balance_info",
    ]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml") && err.contains(":4"), "{err}");
    // A node the scenario does not have.
    let o = stegosim(&[
        "load",
        "--sim",
        SCENARIO,
        "--sim-node",
        "9",
        "--model",
        "constant-arrival-rate",
        "--rate",
        "10",
        "--duration",
        "1s",
        "--request",
        "balance_info",
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("node 9 is not in scenario"),
        "{}",
        text(&o)
    );
}
