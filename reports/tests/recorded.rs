//! Reports rendered from recorded runs (`tests/data/*/`, written by `stegosim run`): every
//! plot and section is there, the page fetches nothing, and the Markdown's numbers are the
//! JSON's.

use std::path::{Path, PathBuf};

use stegosim_reports::{SimRun, html, markdown};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The recorded runs: a passing one with a partition and a revert, and a failing one.
const RUNS: [&str; 2] = ["partition-fork-revert", "failing"];

fn summary_json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(data(name).join("summary.json")).unwrap()).unwrap()
}

#[test]
fn each_recorded_run_renders_every_plot_and_section() {
    for name in RUNS {
        let run = SimRun::load(&data(name)).unwrap();
        assert!(run.trace_found, "{name}: the trace is read");
        let page = html::render(std::slice::from_ref(&run)).unwrap();
        for id in [
            "banner",
            "run",
            "figures",
            "timeline",
            "height",
            "transactions",
            "dropped",
            "snowball",
            "checks",
            "events",
            "counts",
        ] {
            assert!(
                page.contains(&format!("id=\"{id}\"")),
                "{name}: section {id} is missing"
            );
        }
        // Four plots, each an inline <svg> element.
        assert_eq!(
            page.matches("<svg").count(),
            4,
            "{name}: every plot is inline SVG"
        );
        assert!(page.contains(&run.summary.trace_hash));
        assert!(page.contains(&run.summary.reproduce));
        // Self-contained: no script, no external resource.
        assert!(!page.contains("<script"), "{name}: no script");
        assert!(!page.contains("src="), "{name}: no external resources");
        assert!(!page.contains("href=\"http"), "{name}: no links out");
        assert!(!page.contains("url("), "{name}: no CSS fetches");
        // Reproducible: the same results give the same bytes.
        assert_eq!(
            page,
            html::render(&[SimRun::load(&data(name)).unwrap()]).unwrap()
        );
    }
}

#[test]
fn the_banner_says_pass_or_fail() {
    let pass = html::render(&[SimRun::load(&data("partition-fork-revert")).unwrap()]).unwrap();
    assert!(pass.contains("class=\"banner pass\""));
    assert!(pass.contains("PASSED"));
    let fail_run = SimRun::load(&data("failing")).unwrap();
    assert!(!fail_run.summary.passed);
    let fail = html::render(std::slice::from_ref(&fail_run)).unwrap();
    assert!(fail.contains("class=\"banner fail\""));
    assert!(fail.contains("First failure"));
    let f = fail_run.summary.first_failure.as_ref().unwrap();
    assert!(fail.contains(&html::escape(&f.name)));
}

#[test]
fn the_timeline_shows_the_revert_and_the_partition() {
    let run = SimRun::load(&data("partition-fork-revert")).unwrap();
    let reverted: usize = run.chains.iter().map(|c| c.reverts.len()).sum();
    assert_eq!(
        reverted as u64, run.summary.counts.micro_blocks_reverted,
        "every revert of the summary is on a node's row"
    );
    assert!(reverted > 0);
    assert!(
        run.spans
            .iter()
            .any(|s| s.what == "partition" && !s.nodes.is_empty())
    );
    let svg = stegosim_reports::plot::chain_timeline(&run).unwrap();
    assert!(
        svg.contains("revert") && svg.contains("partitioned"),
        "legend names them"
    );
    assert!(svg.contains("node 0"), "rows are labelled by node");
}

/// Reads the `| name | value |` rows of the Markdown's key-figure table.
fn figures(md: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in md.lines() {
        if line.starts_with("| key figure |") {
            inside = true;
            continue;
        }
        if inside {
            if !line.starts_with('|') {
                break;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            if cells[0].starts_with("---") {
                continue;
            }
            out.push((cells[0].to_string(), cells[1].to_string()));
        }
    }
    out
}

#[test]
fn markdown_numbers_match_the_json() {
    for name in RUNS {
        let json = summary_json(name);
        let run = SimRun::load(&data(name)).unwrap();
        let md = markdown::render(&[run]);
        let rows = figures(&md);
        let c = &json["counts"];
        let expected: [(&str, &serde_json::Value); 18] = [
            ("epochs", &c["epochs"]),
            ("micro blocks", &c["micro_blocks"]),
            ("micro blocks reverted", &c["micro_blocks_reverted"]),
            ("view changes", &c["view_changes"]),
            ("restakes", &c["restakes"]),
            ("faults", &c["faults"]),
            ("timer stalls", &c["timer_stalls"]),
            ("payments submitted", &c["transactions"]["submitted"]),
            ("payments committed", &c["transactions"]["committed"]),
            ("payments rejected", &c["transactions"]["rejected"]),
            ("payments conflicted", &c["transactions"]["conflicted"]),
            ("payments pending", &c["transactions"]["pending"]),
            ("messages sent", &c["messages_sent"]),
            ("messages delivered", &c["messages_delivered"]),
            ("messages dropped (loss)", &c["messages_dropped"]["loss"]),
            (
                "messages dropped (partition)",
                &c["messages_dropped"]["partition"],
            ),
            ("messages dropped (down)", &c["messages_dropped"]["down"]),
            ("trace lines", &c["trace_lines"]),
        ];
        for (key, value) in expected {
            let row = rows
                .iter()
                .find(|(k, _)| k == key)
                .unwrap_or_else(|| panic!("{name}: no row {key:?} in\n{md}"));
            assert!(value.is_u64(), "{name}: {key} is a number in the JSON");
            assert_eq!(row.1, value.to_string(), "{name}: {key}");
        }
        assert!(md.contains(&format!("| seed | {} |", json["seed"])));
        assert!(md.contains(json["trace_hash"].as_str().unwrap()));
        assert!(md.contains(json["reproduce"].as_str().unwrap()));
        let verdict = if json["passed"].as_bool().unwrap() {
            "✅ passed"
        } else {
            "❌ FAILED"
        };
        assert!(md.starts_with(&format!("# {verdict}")), "{name}: {md}");
        // Every check of the JSON is a row, with its result.
        for kind in ["expectations", "invariants"] {
            for check in json[kind].as_array().unwrap() {
                let held = if check["held"].as_bool().unwrap() {
                    "ok"
                } else {
                    "**FAIL**"
                };
                let name = check["name"].as_str().unwrap();
                assert!(
                    md.lines()
                        .any(|l| l.starts_with(&format!("| {name}")) && l.contains(held)),
                    "{name}: row of check {name}"
                );
            }
        }
    }
}

#[test]
fn several_runs_make_one_page_with_an_overview() {
    let stegosim_reports::Report::Sim(runs) = stegosim_reports::read(&RUNS.map(data)).unwrap()
    else {
        panic!("simulation runs are read as such")
    };
    let page = html::render(&runs).unwrap();
    assert_eq!(page.matches("<svg").count(), 8);
    assert!(page.contains("2 runs: 1 passed, 1 failed"));
    let md = markdown::render(&runs);
    assert!(md.starts_with("# stegosim report: 2 runs, 1 passed, 1 failed"));
}

#[test]
fn a_folder_without_results_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let e = stegosim_reports::read(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(e.to_string().contains("neither a simulation run"), "{e}");
    std::fs::write(dir.path().join("summary.json"), "{\"scenario\": 3}").unwrap();
    let e = stegosim_reports::read(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(e.to_string().contains("summary.json:1"), "{e}");
}

#[test]
fn snowball_rounds_are_read_and_drawn() {
    // Hand-written: round 1 succeeds on 3 nodes; in round 2 node 2 fails in `signature` while
    // nodes 0 and 1 reveal keys, go on with 2 participants and succeed; node 0 is still in
    // the pool at the end.
    let run = SimRun::load(&data("snowball")).unwrap();
    assert_eq!(run.snowball.len(), 7);
    let ok = run
        .snowball
        .iter()
        .filter(|r| r.outcome == Some(true))
        .count();
    assert_eq!(ok, 5);
    let failed: Vec<_> = run
        .snowball
        .iter()
        .filter(|r| r.outcome == Some(false))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].node, 2);
    assert_eq!(failed[0].session.as_deref(), Some("2"));
    assert_eq!(failed[0].failed_in(), Some("signature"));
    assert_eq!(failed[0].participants, Some(3));
    let unfinished: Vec<_> = run
        .snowball
        .iter()
        .filter(|r| r.outcome.is_none())
        .collect();
    assert_eq!(unfinished.len(), 1);
    assert_eq!(unfinished[0].end_ns, run.summary.duration_ns);
    // Node 0's round 2: the exclusion shows as secret_keying, then a second cloaked_vals with 2.
    let s2 = run
        .snowball
        .iter()
        .find(|r| r.node == 0 && r.session.as_deref() == Some("2"))
        .unwrap();
    let states: Vec<&str> = s2.phases.iter().map(|p| p.state.as_str()).collect();
    assert_eq!(
        states,
        [
            "pool_wait",
            "shared_keying",
            "commitment",
            "cloaked_vals",
            "signature",
            "secret_keying",
            "cloaked_vals",
            "signature"
        ]
    );
    assert_eq!(s2.participants, Some(2));
    assert_eq!(s2.phases[4].to_ns - s2.phases[4].from_ns, 3_000_000_000);
    let stats = run.snowball_phase_stats();
    let signature = stats.iter().find(|s| s.0 == "signature").unwrap();
    assert_eq!((signature.1, signature.3), (8, 3_000_000_000));

    let page = html::render(std::slice::from_ref(&run)).unwrap();
    assert_eq!(page.matches("<svg").count(), 5, "four plots and the rounds");
    assert!(
        page.contains(
            "Snowball: 7 participations in 2 rounds (1 never left the pool), 5 succeeded, 1 failed"
        ),
        "banner counts"
    );
    assert!(page.contains("FAILED in signature"));
    let svg = stegosim_reports::plot::snowball_rounds(&run).unwrap();
    for legend in [
        "pool_wait",
        "secret_keying",
        "succeeded",
        "failed",
        "node 2",
    ] {
        assert!(svg.contains(legend), "the rounds plot shows {legend}");
    }
    let md = markdown::render(&[run]);
    let rows = figures(&md);
    let get = |k: &str| rows.iter().find(|(n, _)| n == k).unwrap().1.clone();
    assert_eq!(get("snowball participations (derived)"), "7");
    assert_eq!(get("snowball participations failed (derived)"), "1");
    assert!(md.contains("| signature | 8 |"), "{md}");
}

#[test]
fn a_run_without_snowball_says_so_in_one_line() {
    let run = SimRun::load(&data("partition-fork-revert")).unwrap();
    assert!(run.snowball.is_empty());
    let page = html::render(std::slice::from_ref(&run)).unwrap();
    assert!(page.contains("No Snowball rounds in this run"));
    assert!(!page.contains("not built"));
    assert!(markdown::render(&[run]).contains("Snowball: no rounds in this run"));
}

#[test]
fn a_snowball_line_without_a_state_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        data("snowball").join("summary.json"),
        dir.path().join("summary.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("trace.jsonl"),
        concat!(
            r#"{"t_ns":0,"node":null,"kind":"run_started","scenario":"x","seed":1,"engine":"des","nodes":1,"validators":1,"duration_ns":1,"chain":"dev"}"#,
            "\n",
            r#"{"t_ns":5,"node":0,"kind":"snowball_status","account_id":"a"}"#,
            "\n",
        ),
    )
    .unwrap();
    let e = SimRun::load(dir.path()).unwrap_err().to_string();
    assert!(e.contains("trace.jsonl:2") && e.contains("state"), "{e}");
}
