//! The Markdown summary: the key figures and the checks in tables, for CI logs and
//! pull-request comments.
//!
//! The "key figures" table has one `| name | value |` row per figure with the value exactly
//! as in `summary.json`, so scripts (and the tests) can read it back.

use std::fmt::Write;

use crate::sim::{SimRun, fmt_s};

/// Escapes what would break a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The key figures of a run: (name, value), in table order. The values are those of
/// `summary.json` (`counts`), except the derived ones named so.
pub fn key_figures(run: &SimRun) -> Vec<(&'static str, String)> {
    let c = &run.summary.counts;
    let t = &c.transactions;
    let d = &c.messages_dropped;
    vec![
        ("epochs", c.epochs.to_string()),
        ("micro blocks", c.micro_blocks.to_string()),
        ("micro blocks reverted", c.micro_blocks_reverted.to_string()),
        ("view changes", c.view_changes.to_string()),
        ("restakes", c.restakes.to_string()),
        ("faults", c.faults.to_string()),
        ("timer stalls", c.timer_stalls.to_string()),
        ("payments submitted", t.submitted.to_string()),
        ("payments committed", t.committed.to_string()),
        ("payments rejected", t.rejected.to_string()),
        ("payments conflicted", t.conflicted.to_string()),
        ("payments pending", t.pending.to_string()),
        ("messages sent", c.messages_sent.to_string()),
        ("messages delivered", c.messages_delivered.to_string()),
        ("messages dropped (loss)", d.loss.to_string()),
        ("messages dropped (partition)", d.partition.to_string()),
        ("messages dropped (down)", d.down.to_string()),
        ("trace lines", c.trace_lines.to_string()),
        (
            "snowball participations (derived)",
            run.snowball.len().to_string(),
        ),
        (
            "snowball participations succeeded (derived)",
            run.snowball
                .iter()
                .filter(|r| r.outcome == Some(true))
                .count()
                .to_string(),
        ),
        (
            "snowball participations failed (derived)",
            run.snowball
                .iter()
                .filter(|r| r.outcome == Some(false))
                .count()
                .to_string(),
        ),
        (
            "longest gap between blocks (derived)",
            match run.longest_gap {
                Some(g) => format!("{} at {}", fmt_s(g.len_ns()), fmt_s(g.from_ns)),
                None => "no blocks".into(),
            },
        ),
    ]
}

/// One run's summary.
fn render_run(out: &mut String, run: &SimRun, level: &str) {
    let s = &run.summary;
    let verdict = if s.passed { "✅ passed" } else { "❌ FAILED" };
    let _ = writeln!(
        out,
        "{level} {verdict}: `{}` seed {} ({} simulated, {} nodes)\n",
        s.scenario,
        s.seed,
        fmt_s(s.duration_ns),
        run.nodes
    );
    if let Some(f) = &s.first_failure {
        let _ = writeln!(
            out,
            "**First failure** at {}: {} `{}`{}: {}\n",
            fmt_s(f.t_ns),
            f.kind,
            f.name,
            f.line.map(|l| format!(" (line {l})")).unwrap_or_default(),
            cell(&f.detail)
        );
    }
    let _ = writeln!(out, "| run | |\n|---|---|");
    let _ = writeln!(out, "| scenario | {} |", cell(&s.scenario));
    let _ = writeln!(out, "| seed | {} |", s.seed);
    let _ = writeln!(out, "| engine | {} |", cell(&s.engine));
    let _ = writeln!(out, "| trace hash | `{}` |", s.trace_hash);
    let _ = writeln!(
        out,
        "| stegosim | {} |",
        cell(s.stegosim_version.as_deref().unwrap_or("unknown"))
    );
    let _ = writeln!(
        out,
        "| host | {} |",
        cell(s.host.as_deref().unwrap_or("unknown"))
    );
    let _ = writeln!(
        out,
        "| finished at | {} |",
        cell(s.finished_at.as_deref().unwrap_or("unknown"))
    );
    let _ = writeln!(out, "| reproduce | `{}` |\n", cell(&s.reproduce));

    let _ = writeln!(out, "| key figure | value |\n|---|---:|");
    for (name, value) in key_figures(run) {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    let _ = writeln!(out);

    snowball_table(out, run);
    checks_table(out, run);
}

/// Snowball phase lengths per state (a line saying so when the run had no rounds).
fn snowball_table(out: &mut String, run: &SimRun) {
    if run.snowball.is_empty() {
        let _ = writeln!(
            out,
            "Snowball: no rounds in this run (no snowball_status events in the trace).\n"
        );
    } else {
        let _ = writeln!(
            out,
            "| Snowball state | phases | mean | longest |\n|---|---:|---:|---:|"
        );
        for (state, n, mean, max) in run.snowball_phase_stats() {
            let _ = writeln!(out, "| {state} | {n} | {} | {} |", fmt_s(mean), fmt_s(max));
        }
        let _ = writeln!(out);
    }
}

/// Expectations and invariants, each with its result.
fn checks_table(out: &mut String, run: &SimRun) {
    let s = &run.summary;
    let _ = writeln!(
        out,
        "| check | kind | result | at | detail |\n|---|---|---|---:|---|"
    );
    for (kind, checks) in [
        ("expectation", &s.expectations),
        ("invariant", &s.invariants),
    ] {
        for c in checks {
            let _ = writeln!(
                out,
                "| {}{} | {kind} | {} | {} | {} |",
                cell(&c.name),
                c.line.map(|l| format!(" (line {l})")).unwrap_or_default(),
                if c.held { "ok" } else { "**FAIL**" },
                fmt_s(c.t_ns),
                cell(&c.detail)
            );
        }
    }
    let _ = writeln!(out);
}

/// The Markdown summary of one or more runs.
pub fn render(runs: &[SimRun]) -> String {
    let mut out = String::new();
    if runs.len() > 1 {
        let failed = runs.iter().filter(|r| !r.summary.passed).count();
        let _ = writeln!(
            out,
            "# stegosim report: {} runs, {} passed, {failed} failed\n",
            runs.len(),
            runs.len() - failed
        );
        let _ = writeln!(
            out,
            "| scenario | seed | result | epochs | reverts | view changes | committed / submitted |\n|---|---:|---|---:|---:|---:|---:|"
        );
        for r in runs {
            let s = &r.summary;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} / {} |",
                cell(&s.scenario),
                s.seed,
                if s.passed { "ok" } else { "**FAIL**" },
                s.counts.epochs,
                s.counts.micro_blocks_reverted,
                s.counts.view_changes,
                s.counts.transactions.committed,
                s.counts.transactions.submitted
            );
        }
        let _ = writeln!(out);
        for r in runs {
            render_run(&mut out, r, "##");
        }
    } else {
        for r in runs {
            render_run(&mut out, r, "#");
        }
    }
    out
}
