//! `stegosim report` (simulation and load results), `report merge`, `stegosim run --report`
//! and `stegosim load --report`, end to end, through the built binary.

use std::path::Path;

mod common;
use common::{lossy as text, start_node, stegosim_in as stegosim};

#[test]
fn run_with_report_writes_the_page_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = stegosim(&["run", "--out", "run", "--report", "report"], dir.path());
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join("report/report.html")).unwrap();
    let md = std::fs::read_to_string(dir.path().join("report/report.md")).unwrap();
    assert!(html.contains("PASSED") && html.contains("<svg"));
    assert!(md.starts_with("# ✅ passed: `quickstart` seed 1"), "{md}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("run/summary.json")).unwrap())
            .unwrap();
    assert!(md.contains(summary["trace_hash"].as_str().unwrap()));
    assert_eq!(summary["stegosim_version"], env!("CARGO_PKG_VERSION"));
    assert!(summary["finished_at"].as_str().unwrap().ends_with('Z'));

    // The same results give the same report, byte for byte.
    let out = stegosim(
        &[
            "report",
            "run",
            "--html",
            "again.html",
            "--markdown",
            "again.md",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("again.md")).unwrap(),
        md
    );
    // Without --html or --markdown, the Markdown goes to standard output.
    let out = stegosim(&["report", "run/summary.json"], dir.path());
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), md);
}

#[test]
fn report_of_something_else_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = stegosim(&["report", "nothing-here"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nothing-here"),
        "{}",
        text(&out.stderr)
    );
    // `report merge` of files that are not there: exit 1 (as `load merge`), naming the file.
    let out = stegosim(&["report", "merge", "a.json", "b.json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("a.json"),
        "{}",
        text(&out.stderr)
    );
}

fn load_fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reports/tests/data/load")
        .join(name)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn report_merge_merges_load_results_exactly_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["a.json", "b.json", "payments.json"] {
        std::fs::copy(load_fixture(f), dir.path().join(f)).unwrap();
    }
    // Thresholds that hold: 0; counts are the sums.
    let out = stegosim(
        &[
            "report",
            "merge",
            "a.json",
            "payments.json",
            "--out",
            "m.json",
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let m = json(&dir.path().join("m.json"));
    for k in ["started", "completed", "errors"] {
        let sum = json(&dir.path().join("a.json"))["summary"][k]
            .as_u64()
            .unwrap()
            + json(&dir.path().join("payments.json"))["summary"][k]
                .as_u64()
                .unwrap();
        assert_eq!(m["summary"][k].as_u64().unwrap(), sum, "{k}");
    }
    assert_eq!(m["sources"].as_array().unwrap().len(), 2);
    assert_eq!(m["config"]["merged_from"], 2);
    // b's threshold fails on the merged data too: 99, and the file is still written.
    let out = stegosim(
        &[
            "report", "merge", "a.json", "b.json", "--out", "f.json", "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(99), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("status_info.p50<1us"));
    assert_eq!(
        json(&dir.path().join("f.json"))["summary"]["thresholds_ok"],
        false
    );
    // A threshold added on the command line is evaluated: 99.
    let out = stegosim(
        &[
            "report",
            "merge",
            "a.json",
            "--threshold",
            "all.p50<1ns",
            "--out",
            "t.json",
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(99));
    // `load merge` is the same command: the same bytes.
    let out = stegosim(
        &[
            "load",
            "merge",
            "a.json",
            "payments.json",
            "--out",
            "l.json",
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read(dir.path().join("l.json")).unwrap(),
        std::fs::read(dir.path().join("m.json")).unwrap()
    );
    // Reports of load results: the merged file, and the inputs merged on the fly, agree.
    let out = stegosim(&["report", "m.json", "--markdown", "m.md"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = stegosim(&["report", "a.json", "payments.json"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let md = text(&out.stdout);
    assert!(md.contains("Merged from 2 results files"), "{md}");
    let merged_md = std::fs::read_to_string(dir.path().join("m.md")).unwrap();
    let figures = |md: &str| -> String {
        md.lines()
            .skip_while(|l| !l.starts_with("| key figure"))
            .take_while(|l| l.starts_with('|'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(figures(&md), figures(&merged_md));
    assert!(!figures(&md).is_empty());
    // A report never gates on thresholds: it is written, exit 0.
    let out = stegosim(&["report", "b.json", "--html", "b.html"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(dir.path().join("b.html"))
            .unwrap()
            .contains("FAILED")
    );
}

#[test]
fn load_with_report_writes_the_page_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _stop) = start_node(&dir.path().join("node"));
    let token = dir.path().join("node/api.token");
    let out = stegosim(
        &[
            "load",
            "--endpoint",
            &url,
            "--token-file",
            token.to_str().unwrap(),
            "--model",
            "constant-arrival-rate",
            "--rate",
            "50",
            "--duration",
            "2s",
            "--request",
            "status_info",
            "--threshold",
            "all.p99<5s",
            "--out",
            "results.json",
            "--report",
            "report",
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(dir.path().join("report/report.html")).unwrap();
    let md = std::fs::read_to_string(dir.path().join("report/report.md")).unwrap();
    assert!(html.contains("id=\"throughput\"") && html.contains("<svg"));
    assert!(
        html.contains("results.json"),
        "the header names the results file"
    );
    assert!(md.contains("| started | 100 |"), "{md}");
    assert!(md.contains(&url), "{md}");
    assert!(
        md.contains(&format!("| stegosim | {} |", env!("CARGO_PKG_VERSION"))),
        "the version that ran: {md}"
    );
    // The report of the results file says the same.
    let out = stegosim(&["report", "results.json"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), md);
}
