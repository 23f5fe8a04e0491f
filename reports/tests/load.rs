//! Load-run reports from recorded results (`tests/data/load/*.json`, written by `stegosim
//! load` against `stegosim node` on loopback): every plot and section is there, nothing is
//! fetched, the Markdown's numbers are the JSON's, several files merge exactly, and the
//! verdict follows thresholds, errors and falling behind.

use std::path::{Path, PathBuf};

use stegosim_reports::load::Verdict;
use stegosim_reports::{LoadRun, Report, load_report};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/load")
        .join(name)
}

/// a: ramping-arrival-rate, thresholds hold, a few starts behind schedule; b:
/// constant-arrival-rate, a threshold fails; payments: payments followed to committed, some
/// refused (`not_enough_money`), written before the series had errors by code.
const FILES: [&str; 3] = ["a.json", "b.json", "payments.json"];

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

const SECTIONS: [&str; 12] = [
    "banner",
    "run",
    "figures",
    "thresholds",
    "throughput",
    "latency-time",
    "distribution",
    "service",
    "errors",
    "notifications",
    "requests",
    "sources",
];

#[test]
fn each_recorded_result_renders_every_plot_and_section() {
    for name in FILES {
        let run = LoadRun::load(&[data(name)]).unwrap();
        let page = load_report::html(&run).unwrap();
        for id in SECTIONS {
            assert!(
                page.contains(&format!("id=\"{id}\"")),
                "{name}: section {id} is missing"
            );
        }
        // Throughput, latency over time, distribution, service time, errors; notifications
        // when the run followed transactions.
        // Plus one latency-over-time plot per request type when the results have them.
        let plots = if run.follow.is_empty() { 5 } else { 6 } + run.series_by_type.len();
        assert_eq!(page.matches("<svg").count(), plots, "{name}");
        for title in [
            "Throughput over time against the target",
            "Latency percentiles over time",
            "Latency distribution per request type",
            "Errors over time by code",
            "Notification latencies",
        ] {
            assert!(page.contains(title), "{name}: {title}");
        }
        // The nines axis, and a line per request type.
        // (plotters writes each SVG text on its own line.)
        assert!(
            page.contains("\n90%\n") && page.contains("\n99%\n"),
            "{name}: nines axis"
        );
        for metric in run.latency.keys() {
            assert!(
                page.contains(&format!("\n{metric}\n")),
                "{name}: legend {metric}"
            );
        }
        assert!(!page.contains("<script"), "{name}: no script");
        assert!(!page.contains("src="), "{name}: no external resources");
        assert!(!page.contains("href=\"http"), "{name}: no links out");
        assert!(!page.contains("url("), "{name}: no CSS fetches");
        // Reproducible.
        let again = LoadRun::load(&[data(name)]).unwrap();
        assert_eq!(page, load_report::html(&again).unwrap());
        assert_eq!(load_report::markdown(&run), load_report::markdown(&again));
    }
}

#[test]
fn notifications_are_drawn_in_stage_order() {
    let run = LoadRun::load(&[data("payments.json")]).unwrap();
    let page = load_report::html(&run).unwrap();
    let at = |s: &str| page.find(s).unwrap_or_else(|| panic!("{s} missing"));
    assert!(at(">payment.accepted<") < at(">payment.prepared<"));
    assert!(at(">payment.prepared<") < at(">payment.committed<"));
    assert!(page.contains("Every error was not_enough_money."));
}

#[test]
fn the_verdict_follows_thresholds_errors_and_falling_behind() {
    // a was recorded on a busy machine: its thresholds held, but a few starts were late
    // through the generator's own fault; that is a warning, shown right under the banner.
    let a = LoadRun::load(&[data("a.json")]).unwrap();
    let behind = a.results.summary.behind_schedule;
    assert!(behind.count > 0 && behind.generator == behind.count);
    let Verdict::Warn(reasons) = a.verdict() else {
        panic!("a fell behind: a warning")
    };
    assert!(
        reasons[0].contains(&format!(
            "fell behind schedule: {} starts late",
            behind.count
        )),
        "{reasons:?}"
    );
    let page = load_report::html(&a).unwrap();
    assert!(page.contains("class=\"banner warn\"") && page.contains("PASSED WITH WARNINGS"));
    assert!(page.contains("id=\"behind\"") && page.contains("class=\"alert bad\""));
    assert!(page.contains(&format!("<b>{}</b> starts", behind.count)));
    // The same run on schedule: passed, and no box.
    let mut results = a.results.clone();
    results.summary.behind_schedule = Default::default();
    let on_time = LoadRun::from_results(results, vec![]).unwrap();
    assert_eq!(on_time.verdict(), Verdict::Pass);
    let page = load_report::html(&on_time).unwrap();
    assert!(page.contains("class=\"banner pass\"") && page.contains("PASSED"));
    assert!(
        !page.contains("id=\"behind\""),
        "nothing to say when on schedule"
    );

    let b = LoadRun::load(&[data("b.json")]).unwrap();
    let Verdict::Fail(reasons) = b.verdict() else {
        panic!("b's threshold fails")
    };
    assert!(reasons[0].contains("status_info.p50<1us"), "{reasons:?}");
    assert!(
        load_report::html(&b)
            .unwrap()
            .contains("class=\"banner fail\"")
    );

    let p = LoadRun::load(&[data("payments.json")]).unwrap();
    let Verdict::Warn(reasons) = p.verdict() else {
        panic!("payments had errors")
    };
    assert!(
        reasons.iter().any(|r| r.contains("5 errors")),
        "{reasons:?}"
    );
    assert!(
        load_report::html(&p)
            .unwrap()
            .contains("class=\"banner warn\"")
    );

    // Falling behind is shown prominently, with how many and how late.
    let mut results = on_time.results.clone();
    results.summary.behind_schedule.count = 17;
    results.summary.behind_schedule.worst_ns = 42_000_000;
    results.summary.behind_schedule.generator = 17;
    results.summary.not_started = Some(3);
    let late = LoadRun::from_results(results, vec![]).unwrap();
    let Verdict::Warn(reasons) = late.verdict() else {
        panic!("falling behind is a warning")
    };
    assert!(
        reasons[0].contains("17 starts late (worst 42.00ms)"),
        "{reasons:?}"
    );
    let page = load_report::html(&late).unwrap();
    assert!(page.contains("id=\"behind\""));
    assert!(page.contains("The generator fell behind schedule"));
    assert!(page.contains("<b>17</b> starts"));
    assert!(page.contains("3 scheduled requests never started"));
    let at = |s: &str| page.find(s).unwrap();
    assert!(
        at("id=\"behind\"") < at("id=\"run\""),
        "right under the banner"
    );
}

#[test]
fn latency_over_time_per_request_type() {
    for name in ["a.json", "b.json"] {
        let run = LoadRun::load(&[data(name)]).unwrap();
        let types: Vec<&str> = run.series_by_type.keys().map(String::as_str).collect();
        assert_eq!(types, ["chain_name", "status_info"], "{name}");
        // Each type's per-second maximum is at most the all-types maximum of that second,
        // and the largest of them equals it.
        for (i, p) in run.results.series.iter().enumerate() {
            let maxes: Vec<u64> = run.series_by_type.values().map(|v| v[i][4]).collect();
            assert_eq!(
                maxes.iter().copied().max().unwrap(),
                p.max_ns,
                "{name} second {i}"
            );
        }
        let page = load_report::html(&run).unwrap();
        assert!(page.contains("<h3>chain_name</h3>") && page.contains("<h3>status_info</h3>"));
    }
    // Merged: per type and second, the maximum of the inputs' (histograms added exactly).
    let a = LoadRun::load(&[data("a.json")]).unwrap();
    let b = LoadRun::load(&[data("b.json")]).unwrap();
    let ab = LoadRun::load(&[data("a.json"), data("b.json")]).unwrap();
    for (name, rows) in &ab.series_by_type {
        for (i, row) in rows.iter().enumerate() {
            let of = |r: &LoadRun| r.series_by_type[name].get(i).map(|x| x[4]).unwrap_or(0);
            assert_eq!(row[4], of(&a).max(of(&b)), "{name} second {i}");
        }
    }
    // Older results without per-type series say so.
    let old = LoadRun::load(&[data("payments.json")]).unwrap();
    assert!(old.series_by_type.is_empty());
    assert!(
        load_report::html(&old)
            .unwrap()
            .contains("no per-type plots")
    );
}

/// Rows of a Markdown table whose header starts with `header`, as cells.
fn table(md: &str, header: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in md.lines() {
        if line.starts_with(header) {
            inside = true;
            continue;
        }
        if inside {
            if !line.starts_with('|') {
                break;
            }
            let cells: Vec<String> = line
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect();
            if !cells[0].starts_with("---") {
                out.push(cells);
            }
        }
    }
    out
}

fn ms(cell: &str) -> f64 {
    cell.parse::<f64>()
        .unwrap_or_else(|_| panic!("{cell:?} is a number of ms"))
}

/// Every number of the Markdown against the JSON it came from.
fn check_markdown(md: &str, r: &serde_json::Value) {
    let s = &r["summary"];
    let figures = table(md, "| key figure |");
    let get = |k: &str| -> String {
        figures
            .iter()
            .find(|c| c[0] == k)
            .unwrap_or_else(|| panic!("no row {k}:\n{md}"))[1]
            .clone()
    };
    let rate = |k: &str, v: &serde_json::Value| {
        let got: f64 = get(k).trim_end_matches("/s").parse().unwrap();
        assert!(
            (got - v.as_f64().unwrap()).abs() <= 0.05,
            "{k}: {got} vs {v}"
        );
    };
    rate("target rate", &s["target_rate"]);
    rate("achieved rate", &s["achieved_rate"]);
    rate("completed rate", &s["completed_rate"]);
    for (k, v) in [
        ("scheduled", &s["scheduled"]),
        ("started", &s["started"]),
        ("not started", &s["not_started"]),
        ("completed", &s["completed"]),
        ("errors", &s["errors"]),
        ("behind schedule", &s["behind_schedule"]["count"]),
        (
            "behind schedule, waited for a slot",
            &s["behind_schedule"]["waited_for_slot"],
        ),
        (
            "behind schedule, generator late",
            &s["behind_schedule"]["generator"],
        ),
        ("connections lost", &s["connections_lost"]),
        ("unmatched answers", &s["unmatched"]),
    ] {
        assert_eq!(get(k), v.to_string(), "{k}");
    }
    let err_pct: f64 = get("error rate").trim_end_matches('%').parse().unwrap();
    assert!((err_pct - 100.0 * s["error_rate"].as_f64().unwrap()).abs() <= 0.0005);
    let worst = ms(&get("behind schedule, worst (ms)"));
    assert!((worst * 1e6 - s["behind_schedule"]["worst_ns"].as_f64().unwrap()).abs() <= 500.0);

    // Per request type, every percentile (ms with µs precision: within 500 ns).
    let rows = table(md, "| request |");
    let requests = s["requests"].as_object().unwrap();
    assert_eq!(rows.len(), requests.len(), "a row per metric and all");
    for row in &rows {
        let q = &requests[&row[0]];
        assert_eq!(row[1], q["started"].to_string(), "{}", row[0]);
        assert_eq!(row[2], q["completed"].to_string(), "{}", row[0]);
        assert_eq!(row[3], q["errors"].to_string(), "{}", row[0]);
        let l = &q["latency"];
        assert_eq!(row[4], l["count"].to_string());
        for (i, k) in [
            "p50_ns", "p90_ns", "p99_ns", "p99_9_ns", "max_ns", "mean_ns",
        ]
        .iter()
        .enumerate()
        {
            let got = ms(&row[5 + i]) * 1e6;
            let want = l[k].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 500.0,
                "{} {k}: {got} vs {want}",
                row[0]
            );
        }
    }
    // Notifications.
    let rows = table(md, "| notification |");
    let follow = s["follow"].as_object().unwrap();
    assert_eq!(rows.len(), follow.len());
    for row in &rows {
        let p = &follow[&row[0]];
        assert_eq!(row[1], p["count"].to_string());
        let got = ms(&row[4]) * 1e6;
        assert!((got - p["p99_ns"].as_f64().unwrap()).abs() <= 500.0);
    }
    // Errors by code.
    let rows = table(md, "| error code |");
    let codes = s["errors_by_code"].as_object().unwrap();
    assert_eq!(rows.len(), codes.len());
    for row in &rows {
        assert_eq!(row[1], codes[&row[0]].to_string());
    }
    // Thresholds.
    let rows = table(md, "| threshold |");
    let thresholds = r["thresholds"].as_array().unwrap();
    assert_eq!(rows.len(), thresholds.len());
    for (row, t) in rows.iter().zip(thresholds) {
        assert_eq!(row[0], format!("`{}`", t["threshold"].as_str().unwrap()));
        assert_eq!(row[1] == "ok", t["ok"].as_bool().unwrap());
        assert_eq!(row[2], t["actual"].as_str().unwrap());
    }
}

#[test]
fn markdown_numbers_match_the_json() {
    for name in FILES {
        let run = LoadRun::load(&[data(name)]).unwrap();
        let md = load_report::markdown(&run);
        check_markdown(&md, &json(&data(name)));
        let ok = json(&data(name))["summary"]["thresholds_ok"]
            .as_bool()
            .unwrap();
        assert_eq!(md.starts_with("# ❌ FAILED"), !ok, "{name}: {md}");
    }
}

#[test]
fn several_results_merge_exactly_into_one_report() {
    let paths: Vec<PathBuf> = FILES.iter().map(|f| data(f)).collect();
    let Report::Load(run) = stegosim_reports::read(&paths).unwrap() else {
        panic!("results.json files are recognised as load results")
    };
    // The same as the load generator's merge.
    let inputs: Vec<_> = paths
        .iter()
        .map(|p| stegosim_reports::load::read_results(p).unwrap())
        .collect();
    let merged = stegosim_formats::results::merge(&inputs, &[]).unwrap();
    assert_eq!(run.results, merged);
    // Counts add up.
    let sum = |k: &str| -> u64 {
        FILES
            .iter()
            .map(|f| json(&data(f))["summary"][k].as_u64().unwrap())
            .sum()
    };
    assert_eq!(run.results.summary.started, sum("started"));
    assert_eq!(run.results.summary.completed, sum("completed"));
    assert_eq!(run.merged_from(), 3);
    let md = load_report::markdown(&run);
    assert!(md.contains("Merged from 3 results files"));
    check_markdown(&md, &serde_json::to_value(&merged).unwrap());
    // b's threshold is evaluated again on the merged data and still fails.
    assert!(md.starts_with("# ❌ FAILED"));
    let page = load_report::html(&run).unwrap();
    assert!(page.contains("Merged from 3 results files"));
    assert_eq!(page.matches("<svg").count(), 6);
}

#[test]
fn the_target_follows_the_schedule() {
    // a: ramping-arrival-rate from 50/s to 200/s over 2 s, then 200/s for 2 s.
    let run = LoadRun::load(&[data("a.json")]).unwrap();
    let t = run.target_per_second.clone().unwrap();
    assert_eq!(t.len(), 4);
    assert!(t[0] < t[1] && t[1] < t[2], "the ramp rises: {t:?}");
    assert!(
        (t[2] - 200.0).abs() <= 1.0 && (t[3] - 200.0).abs() <= 1.0,
        "{t:?}"
    );
    let total: f64 = t.iter().sum();
    assert_eq!(total as u64, run.results.summary.scheduled.unwrap());
    // b: constant 150/s.
    let run = LoadRun::load(&[data("b.json")]).unwrap();
    assert_eq!(run.target_per_second.unwrap(), vec![150.0; 3]);
}

#[test]
fn bad_results_are_errors_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(data("a.json")).unwrap();
    // Cut short: the JSON error names the file and the line.
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let e = stegosim_reports::read(std::slice::from_ref(&cut))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cut.json:"), "{e}");
    // A histogram that does not decode is named.
    let mut v = json(&data("a.json"));
    v["histograms"]["lateness"] = "HISTFAAAnot-a-histogram".into();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_string(&v).unwrap()).unwrap();
    let e = stegosim_reports::read(std::slice::from_ref(&bad))
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.json") && e.contains("lateness"), "{e}");
    // Load results and a simulation run together: refused, naming both.
    let sim = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/failing");
    let e = stegosim_reports::read(&[sim, data("a.json")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("report them separately"), "{e}");
}

#[test]
fn errors_over_time_are_stacked_by_code_and_merge_by_code() {
    // Older results (payments.json) have per-second totals only: one layer for all codes.
    let old = LoadRun::load(&[data("payments.json")]).unwrap();
    assert!(!stegosim_reports::load_plot::errors_have_codes(&old));
    let svg = stegosim_reports::load_plot::errors_over_time(&old).unwrap();
    assert!(svg.contains("errors (all codes)"));
    // The same results with codes per second: a layer per code.
    let mut r = old.results.clone();
    for p in &mut r.series {
        p.errors_by_code.clear();
        if p.errors > 0 {
            p.errors_by_code.insert("timeout".into(), 1);
            p.errors_by_code.insert("rate_limited".into(), p.errors - 1);
        }
    }
    let coded = LoadRun::from_results(r.clone(), vec![]).unwrap();
    assert!(stegosim_reports::load_plot::errors_have_codes(&coded));
    let svg = stegosim_reports::load_plot::errors_over_time(&coded).unwrap();
    assert!(
        svg.contains("\ntimeout\n") && svg.contains("\nrate_limited\n"),
        "legend by code"
    );
    assert!(!svg.contains("all codes"));
    // Merging adds the codes second by second.
    let merged = stegosim_formats::results::merge(&[r.clone(), r.clone()], &[]).unwrap();
    for (m, one) in merged.series.iter().zip(&r.series) {
        for (code, n) in &one.errors_by_code {
            assert_eq!(m.errors_by_code[code], 2 * n, "second {}: {code}", m.second);
        }
        assert_eq!(m.errors, 2 * one.errors);
    }
    // And a results file round-trips them.
    let text = merged.to_json();
    let back = stegosim_reports::load::parse_results(Path::new("m.json"), &text).unwrap();
    assert_eq!(back, merged);
}
