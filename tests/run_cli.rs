//! `stegosim run` and `stegosim bench ring`, end to end, through the built binary.

mod common;
use common::{lossy as text, stegosim_in as stegosim};

#[test]
fn run_without_a_file_runs_quickstart_and_writes_trace_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = stegosim(&["run"], dir.path());
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let folder = dir.path().join("out/quickstart-1");
    let trace = std::fs::read(folder.join("trace.jsonl")).expect("trace.jsonl");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["scenario"], "quickstart");
    assert_eq!(summary["seed"], 1);
    assert_eq!(summary["passed"], true);
    assert_eq!(
        summary["trace_hash"],
        blake3::hash(&trace).to_hex().to_string(),
        "the summary's hash is the hash of the trace's bytes"
    );
    assert_eq!(
        summary["counts"]["trace_lines"],
        trace.iter().filter(|&&b| b == b'\n').count() as u64
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("passed"), "{stdout}");
    // No progress bar when stderr is not a terminal.
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

#[test]
fn same_seed_gives_the_same_bytes_wherever_the_trace_goes() {
    let dir = tempfile::tempdir().unwrap();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/restake-expiry.toml");
    for out_dir in ["a", "b/c"] {
        let out = stegosim(&["run", file, "--seed", "5", "--out", out_dir], dir.path());
        assert!(out.status.success(), "{}", text(&out.stdout));
    }
    let a = std::fs::read(dir.path().join("a/trace.jsonl")).unwrap();
    let b = std::fs::read(dir.path().join("b/c/trace.jsonl")).unwrap();
    assert_eq!(a, b);
    let out = stegosim(&["run", file, "--seed", "6", "--out", "d"], dir.path());
    assert!(out.status.success());
    assert_ne!(a, std::fs::read(dir.path().join("d/trace.jsonl")).unwrap());
}

#[test]
fn a_failing_expectation_exits_non_zero_and_prints_the_reproducer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("impossible.toml");
    std::fs::write(
        &file,
        "name = \"impossible\"\nduration = \"12s\"\n[network]\nvalidators = 4\n\n\
         [[expect]]\nkind = \"epoch\"\nat_least = 5\nby = \"10s\"\n",
    )
    .unwrap();
    let out = stegosim(&["run", "impossible.toml", "--seed", "42"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("FAILED at 10s: expectation"), "{stdout}");
    assert!(stdout.contains("(line 6)"), "{stdout}");
    assert!(
        stdout.contains("reproduce with: stegosim run impossible.toml --seed 42"),
        "{stdout}"
    );
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("out/impossible-42/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["passed"], false);
    assert_eq!(summary["first_failure"]["kind"], "expectation");
    assert_eq!(
        summary["reproduce"],
        "stegosim run impossible.toml --seed 42"
    );
}

#[test]
fn a_failing_turmoil_run_prints_a_reproducer_on_turmoil() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("impossible.toml"),
        "name = \"impossible\"\nduration = \"12s\"\n[network]\nvalidators = 4\n\n\
         [[expect]]\nkind = \"epoch\"\nat_least = 5\nby = \"10s\"\n",
    )
    .unwrap();
    let out = stegosim(
        &[
            "run",
            "impossible.toml",
            "--seed",
            "42",
            "--engine",
            "turmoil",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let want = "stegosim run impossible.toml --seed 42 --engine turmoil";
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("reproduce with: {want}")),
        "{stdout}"
    );
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("out/impossible-42/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["reproduce"], want);
}

#[test]
fn a_bad_file_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "name = \"bad\"\nduration = \"10s\"\n[network]\nvalidators = 4\nlossy = 0.1\n",
    )
    .unwrap();
    let out = stegosim(&["run", "bad.toml"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.toml:5:1: unknown field `lossy`"),
        "{stderr}"
    );
}

#[test]
fn run_on_the_turmoil_engine_passes_and_unknown_engines_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = stegosim(&["run", "--engine", "turmoil", "--out", "t"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stdout));
    let trace = std::fs::read_to_string(dir.path().join("t/trace.jsonl")).unwrap();
    assert!(
        trace
            .lines()
            .next()
            .unwrap()
            .contains(r#""engine":"turmoil""#)
    );
    let out = stegosim(&["run", "--engine", "madsim"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("expected \"des\" or \"turmoil\""),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bench_ring_runs_on_turmoil_and_on_both_engines_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let ratio = |line: &str| line.trim_end_matches('x').parse::<f64>().unwrap();
    let out = stegosim(
        &[
            "bench",
            "ring",
            "--nodes",
            "3",
            "--seconds",
            "1",
            "--engine",
            "turmoil",
        ],
        dir.path(),
    );
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("ring (turmoil, 1 ms tick): 3 nodes"),
        "{stdout}"
    );
    assert!(ratio(stdout.lines().last().unwrap()) > 0.0, "{stdout}");
    let out = stegosim(
        &["bench", "ring", "--nodes", "3", "--seconds", "1"],
        dir.path(),
    );
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let ratios: Vec<&str> = stdout.lines().filter(|l| l.ends_with('x')).collect();
    assert_eq!(ratios.len(), 2, "one ratio per engine: {stdout}");
    assert!(
        stdout.contains("ring (turmoil") && stdout.contains("ring: 3 nodes"),
        "{stdout}"
    );
}

#[test]
fn bench_ring_prints_the_ratio_last() {
    let dir = tempfile::tempdir().unwrap();
    let out = stegosim(
        &["bench", "ring", "--nodes", "10", "--seconds", "1"],
        dir.path(),
    );
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().unwrap();
    assert!(last.ends_with('x'), "{stdout}");
    assert!(last.trim_end_matches('x').parse::<f64>().unwrap() > 0.0);
}

#[test]
fn sweep_runs_a_shard_writes_junit_and_checks_determinism() {
    let dir = tempfile::tempdir().unwrap();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/quickstart.toml");
    let out = stegosim(
        &[
            "sweep",
            file,
            "--seeds",
            "10..16",
            "--shard",
            "1/2",
            "--jobs",
            "2",
            "--check-determinism",
            "--out",
            "sw",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
    let xml = std::fs::read_to_string(dir.path().join("sw/junit.xml")).unwrap();
    assert!(xml.contains("tests=\"3\" failures=\"0\""), "{xml}");
    for seed in [11, 13, 15] {
        assert!(xml.contains(&format!("name=\"seed {seed}\"")), "{xml}");
    }
    assert!(!xml.contains("name=\"seed 10\""), "{xml}");

    let bad = stegosim(&["sweep", file, "--seeds", "5..5"], dir.path());
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("half-open range"),
        "{}",
        text(&bad.stderr)
    );
}
