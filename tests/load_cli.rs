//! `stegosim load` as a user runs it: the built binary against a node on loopback, its exit
//! codes (0 done, 99 a threshold failed, 1 run failed, 2 usage, 3 invalid configuration),
//! its results file, and `stegosim load merge`.

mod common;
use common::{code, start_node, stegosim, text};

#[test]
fn exit_codes_results_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _stop) = start_node(&dir.path().join("node"));
    let token = dir.path().join("node/api.token");
    let token = token.to_str().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (a, b, m) = (out("a.json"), out("b.json"), out("m.json"));
    let base = [
        "load",
        "--endpoint",
        &url,
        "--token-file",
        token,
        "--model",
        "constant-arrival-rate",
        "--rate",
        "100",
        "--duration",
        "1s",
        "--request",
        "status_info",
        "--request",
        "chain_name*2",
        "--quiet",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let run = |args: Vec<String>| stegosim(&args.iter().map(String::as_str).collect::<Vec<_>>());

    // Thresholds that hold: 0, and a results file with the documented summary.
    let o = run(with(&[
        "--threshold",
        "all.p99<2s",
        "--threshold",
        "errors<1%",
        "--out",
        &a,
    ]));
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&a).unwrap()).unwrap();
    let s = &r["summary"];
    assert_eq!(r["format"], "stegosim-load-results");
    assert_eq!(s["target_rate"], 100.0);
    assert!(
        (s["achieved_rate"].as_f64().unwrap() - 100.0).abs() <= 2.0,
        "{s}"
    );
    assert!(s["completed_rate"].as_f64().unwrap() > 90.0, "{s}");
    assert!(s["behind_schedule"]["count"].is_u64());
    assert!(s["behind_schedule"]["worst_ns"].is_u64());
    assert!(
        s["requests"]["chain_name"]["latency"]["p99_ns"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(
        r["histograms"]["latency"]["status_info"]
            .as_str()
            .unwrap()
            .starts_with("HIST")
    );
    assert_eq!(r["thresholds"][0]["ok"], true);

    // A threshold that fails: 99, named on standard error.
    let o = run(with(&["--threshold", "chain_name.p50<1ns", "--out", &b]));
    assert_eq!(code(&o), 99, "{}", text(&o));
    assert!(
        text(&o).contains("threshold failed: chain_name.p50<1ns"),
        "{}",
        text(&o)
    );

    // Merge: the thresholds of every input are evaluated again on the merged data (b's
    // fails), 0 when they hold; the merged summary adds up.
    let o = stegosim(&["load", "merge", &a, &b, "--out", &m, "--quiet"]);
    assert_eq!(code(&o), 99, "{}", text(&o));
    let o = stegosim(&["load", "merge", &a, &a, "--out", &m]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        text(&o).contains("merged results of 2 load generators"),
        "{}",
        text(&o)
    );
    let mr: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    assert_eq!(
        mr["summary"]["started"].as_u64().unwrap(),
        2 * s["started"].as_u64().unwrap()
    );
    let o = stegosim(&[
        "load",
        "merge",
        &a,
        &b,
        "--threshold",
        "all.max<1ns",
        "--quiet",
    ]);
    assert_eq!(code(&o), 99, "{}", text(&o));
    let o = stegosim(&[
        "load",
        "merge",
        &a,
        dir.path().join("missing.json").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));

    // A profile, with flags overriding it.
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        format!(
            "endpoint = \"{url}\"\ntoken_file = \"{token}\"\nmodel = \"constant-vus\"\nvus = 5\npacing = \"50ms\"\nduration = \"1s\"\nthresholds = [\"errors<1%\"]\n\n[[requests]]\ntype = \"chain_name\"\n"
        ),
    )
    .unwrap();
    let p = profile.to_str().unwrap();
    let o = stegosim(&["load", "--profile", p, "--vus", "2", "--out", &b, "--quiet"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&b).unwrap()).unwrap();
    assert_eq!(r["summary"]["scheduled"], 40, "2 VUs every 50 ms for 1 s");
    assert_eq!(r["config"]["vus"], 2);

    // Invalid configuration: 3, before any load.
    let o = run(with(&["--threshold", "all.p98<5ms"]));
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("grammar"), "{}", text(&o));
    let o = run(with(&["--request", "no_such_request"]));
    assert_eq!(code(&o), 3, "{}", text(&o));
    let o = run(with(&["--threshold", "balance_info.p99<5ms"]));
    assert_eq!(
        code(&o),
        3,
        "a threshold on a request not in the mix: {}",
        text(&o)
    );
    // Usage: 2 (clap).
    let o = run(with(&["--no-such-flag"]));
    assert_eq!(code(&o), 2, "{}", text(&o));
    // The run cannot be done: 1.
    let o = stegosim(&[
        "load",
        "--endpoint",
        "ws://127.0.0.1:1",
        "--token-file",
        token,
        "--rate",
        "10",
        "--duration",
        "1s",
        "--request",
        "chain_name",
        "--quiet",
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("cannot connect"), "{}", text(&o));
}

#[test]
fn help_documents_models_thresholds_and_exit_codes() {
    let o = stegosim(&["load", "--help"]);
    assert_eq!(code(&o), 0);
    let t = text(&o);
    for needle in [
        "constant-arrival-rate",
        "per-vu-iterations",
        "<p50|p90|p99|p99.9|max|mean>",
        "errors<op><number>%",
        "99 a threshold failed",
        "3 invalid configuration",
    ] {
        assert!(t.contains(needle), "--help lacks {needle:?}:\n{t}");
    }
}
