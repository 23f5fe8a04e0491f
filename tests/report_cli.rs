//! `stegosim report` and `stegosim run --report`, end to end, through the built binary.

use std::path::Path;
use std::process::{Command, Output};

fn stegosim(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stegosim"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

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
    let out = stegosim(&["report", "merge", "a", "b"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("merge"), "{}", text(&out.stderr));
}
