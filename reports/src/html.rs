//! The HTML page: self-contained (inline CSS and SVG, no script, no network fetch), so it
//! opens from disk and survives being attached to a CI run.
//!
//! Top to bottom: a green or red banner with the verdict and the first failure; what ran
//! (scenario, seed, version, host, when, trace hash, reproduce command); key figures; the
//! chain timeline per node (where stalls, reverts and faults show); chain height; payments
//! by status; dropped messages; Snowball; the checks; notable events and fault spans.

use std::fmt::Write;

use crate::Error;
use crate::markdown::key_figures;
use crate::plot;
use crate::sim::{SimRun, fmt_s};

/// Rows of the notable-events table at most (the rest are counted).
pub const NOTABLE_ROWS_MAX: usize = 300;

/// Escapes text for HTML.
pub use stegosim_formats::markup::escape_html as escape;

pub(crate) const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0; background: #f4f5f7; color: #1d2430; }
main { max-width: 1200px; margin: 0 auto; padding: 0 16px 40px; }
.banner { padding: 18px 24px; color: white; border-radius: 0 0 8px 8px; }
.banner.pass { background: #1e8e3e; color: white; }
.banner.fail { background: #c5221f; color: white; }
.banner.warn { background: #b06000; color: white; }
.alert { background: #fff4e5; border-left: 6px solid #b06000; }
.alert.bad { background: #fdecea; border-left-color: #c5221f; }
.alert h2 { color: #8a4b00; }
.alert.bad h2 { color: #b3261e; }
.banner h1 { margin: 0; font-size: 28px; }
.banner p { margin: 6px 0 0; font-size: 16px; }
section { background: white; border-radius: 8px; margin-top: 16px; padding: 12px 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
h2 { font-size: 19px; margin: 4px 0 10px; }
p.note { color: #555; margin: 4px 0 8px; font-size: 14px; }
table { border-collapse: collapse; font-size: 14px; }
td, th { padding: 3px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; vertical-align: top; }
th { background: #f0f2f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.bad td { color: #b3261e; }
.ok { color: #1e8e3e; font-weight: 600; }
.fail { color: #c5221f; font-weight: 700; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; background: #f0f2f5; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px; }
.figure { background: #f7f8fa; border-radius: 6px; padding: 8px 10px; }
.figure .v { font-size: 22px; font-weight: 650; }
.figure .k { font-size: 12px; color: #555; }
.figure.bad .v { color: #c5221f; }
.figure.warn .v { color: #b06000; }
svg { display: block; max-width: 100%; height: auto; }
.meta td:first-child { color: #555; white-space: nowrap; }
"#;

/// How a key figure is shown: plain, amber (worth a look), red (bad news).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Plain,
    Warn,
    Bad,
}

pub(crate) fn tone(warn: bool, bad: bool) -> Tone {
    if bad {
        Tone::Bad
    } else if warn {
        Tone::Warn
    } else {
        Tone::Plain
    }
}

pub(crate) fn figure(out: &mut String, key: &str, value: &str, tone: Tone) {
    let _ = write!(
        out,
        "<div class=\"figure{}\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
        match tone {
            Tone::Plain => "",
            Tone::Warn => " warn",
            Tone::Bad => " bad",
        },
        escape(value),
        escape(key)
    );
}

pub(crate) fn section(out: &mut String, id: &str, title: &str, note: &str, body: &str) {
    let _ = writeln!(
        out,
        "<section id=\"{id}\"><h2>{}</h2><p class=\"note\">{}</p>{body}</section>",
        escape(title),
        escape(note)
    );
}

/// Rows of the Snowball rounds table at most (the rest are counted).
pub const SNOWBALL_ROWS_MAX: usize = 200;

/// The Snowball section: rounds over time per node, phase lengths, each round.
fn snowball_section(out: &mut String, run: &SimRun, prefix: &str) -> Result<(), Error> {
    let id = format!("{prefix}snowball");
    if run.snowball.is_empty() {
        section(
            out,
            &id,
            "Snowball rounds",
            "No Snowball rounds in this run (the trace has no snowball_status events).",
            "",
        );
        return Ok(());
    }
    let rounds = &run.snowball;
    let ok = rounds.iter().filter(|r| r.outcome == Some(true)).count();
    let failed = rounds.iter().filter(|r| r.outcome == Some(false)).count();
    let open = rounds.len() - ok - failed;
    let mut body = plot::snowball_rounds(run)?;
    snowball_phase_table(&mut body, run);
    snowball_round_table(&mut body, rounds);
    section(
        out,
        &id,
        "Snowball rounds",
        &format!(
            "{} rounds (one per node and session): {ok} succeeded, {failed} failed, {open} unfinished. Each row is a node; each span a phase (pool_wait, shared_keying, commitment, cloaked_vals, signature, secret_keying); a green triangle where the round succeeded, a red cross where it failed.",
            rounds.len()
        ),
        &body,
    );
    Ok(())
}

/// Phase lengths per Snowball state: count, mean, longest.
fn snowball_phase_table(body: &mut String, run: &SimRun) {
    body.push_str(
        "<h3>Phase lengths</h3><table><tr><th>state</th><th>phases</th><th>mean</th><th>longest</th></tr>",
    );
    for (state, n, mean, max) in run.snowball_phase_stats() {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"num\">{n}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&state),
            fmt_s(mean),
            fmt_s(max)
        );
    }
    body.push_str("</table>");
}

/// Each round, up to [`SNOWBALL_ROWS_MAX`] rows (the rest are counted).
fn snowball_round_table(body: &mut String, rounds: &[crate::sim::SnowballRound]) {
    body.push_str("<h3>Rounds</h3><table><tr><th>node</th><th>session</th><th>participants</th><th>started</th><th>length</th><th>outcome</th><th>phases</th></tr>");
    for r in rounds.iter().take(SNOWBALL_ROWS_MAX) {
        let outcome = match r.outcome {
            Some(true) => "succeeded".to_string(),
            Some(false) => format!("FAILED in {}", r.failed_in().unwrap_or("its first phase")),
            None => "unfinished".to_string(),
        };
        let phases: Vec<String> = r
            .phases
            .iter()
            .map(|p| format!("{} {}", p.state, fmt_s(p.to_ns.saturating_sub(p.from_ns))))
            .collect();
        let _ = write!(
            body,
            "<tr{}><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            if r.outcome == Some(true) {
                ""
            } else {
                " class=\"bad\""
            },
            r.node,
            escape(r.session.as_deref().unwrap_or("")),
            r.participants.map(|n| n.to_string()).unwrap_or_default(),
            fmt_s(r.start_ns()),
            fmt_s(r.end_ns.saturating_sub(r.start_ns())),
            escape(&outcome),
            escape(&phases.join(" → "))
        );
    }
    body.push_str("</table>");
    if rounds.len() > SNOWBALL_ROWS_MAX {
        let _ = write!(
            body,
            "<p class=\"note\">… and {} more rounds.</p>",
            rounds.len() - SNOWBALL_ROWS_MAX
        );
    }
}

/// One run, as the part of the page under its banner: one function per section, in page order.
fn render_run(out: &mut String, run: &SimRun, prefix: &str) -> Result<(), Error> {
    run_banner(out, run, prefix);
    run_section(out, run, prefix);
    figures_section(out, run, prefix);
    plot_sections(out, run, prefix)?;
    snowball_section(out, run, prefix)?;
    checks_section(out, run, prefix);
    faults_section(out, run, prefix);
    events_section(out, run, prefix);
    counts_section(out, run, prefix);
    out.push_str("</main>\n");
    Ok(())
}

/// The verdict banner: checks held, headline counts, Snowball, the longest stall, the first
/// failure; opens `<main>`.
fn run_banner(out: &mut String, run: &SimRun, prefix: &str) {
    let s = &run.summary;
    let c = &s.counts;
    let pass = s.passed;
    let _ = write!(
        out,
        "<div class=\"banner {}\" id=\"{prefix}banner\"><h1>{} {} — {} seed {}</h1>",
        if pass { "pass" } else { "fail" },
        if pass { "✔" } else { "✘" },
        if pass { "PASSED" } else { "FAILED" },
        escape(&s.scenario),
        s.seed
    );
    let checks = s.expectations.len() + s.invariants.len();
    let failed = s
        .expectations
        .iter()
        .chain(&s.invariants)
        .filter(|c| !c.held)
        .count();
    let _ = write!(
        out,
        "<p>{} of {checks} checks held · {} epochs · {} micro blocks · {} reverted · {} view changes · {} / {} payments committed</p>",
        checks - failed,
        c.epochs,
        c.micro_blocks,
        c.micro_blocks_reverted,
        c.view_changes,
        c.transactions.committed,
        c.transactions.submitted
    );
    banner_snowball(out, run);
    if let Some(g) = run.longest_gap.filter(|g| g.len_ns() > 3_000_000_000) {
        let _ = write!(
            out,
            "<p>Longest stretch without a new block: {} from {}{}</p>",
            fmt_s(g.len_ns()),
            fmt_s(g.from_ns),
            run.notable
                .iter()
                .find(|n| n.bad && n.t_ns >= g.from_ns && n.t_ns <= g.to_ns)
                .map(|n| format!(" (during it: {} at {})", escape(&n.what), fmt_s(n.t_ns)))
                .unwrap_or_default()
        );
    }
    if let Some(f) = &s.first_failure {
        let _ = write!(
            out,
            "<p><b>First failure at {}</b>: {} <b>{}</b>{}: {}</p>",
            fmt_s(f.t_ns),
            escape(&f.kind),
            escape(&f.name),
            f.line.map(|l| format!(" (line {l})")).unwrap_or_default(),
            escape(&f.detail)
        );
    }
    out.push_str("</div>\n<main>\n");
}

/// The banner's Snowball line (nothing when the run had no rounds).
fn banner_snowball(out: &mut String, run: &SimRun) {
    if run.snowball.is_empty() {
        return;
    }
    let failed = run
        .snowball
        .iter()
        .filter(|r| r.outcome == Some(false))
        .count();
    // One entry per member's view of a round: members of one session share its id.
    let sessions = run
        .snowball
        .iter()
        .filter_map(|r| r.session.as_deref())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let pooled = run.snowball.iter().filter(|r| r.session.is_none()).count();
    let pooled = if pooled > 0 {
        format!(" ({pooled} never left the pool)")
    } else {
        String::new()
    };
    let _ = write!(
        out,
        "<p>Snowball: {} participations in {sessions} rounds{pooled}, {} succeeded, {failed} failed</p>",
        run.snowball.len(),
        run.snowball
            .iter()
            .filter(|r| r.outcome == Some(true))
            .count()
    );
}

/// What ran: scenario, seed, network, version, host, trace hash, how to reproduce.
fn run_section(out: &mut String, run: &SimRun, prefix: &str) {
    let s = &run.summary;
    let mut meta = String::from("<table class=\"meta\">");
    let rows: Vec<(&str, String)> = vec![
        ("scenario", escape(&s.scenario)),
        ("seed", s.seed.to_string()),
        (
            "network",
            format!(
                "{} nodes ({} validators), engine {}",
                run.nodes,
                run.validators,
                escape(&s.engine)
            ),
        ),
        ("simulated time", fmt_s(s.duration_ns)),
        (
            "stegosim version",
            escape(s.stegosim_version.as_deref().unwrap_or("unknown")),
        ),
        ("host", escape(s.host.as_deref().unwrap_or("unknown"))),
        (
            "run finished at",
            escape(s.finished_at.as_deref().unwrap_or("unknown")),
        ),
        (
            "trace hash",
            format!("<code>{}</code>", escape(&s.trace_hash)),
        ),
        (
            "reproduce",
            format!("<code>{}</code>", escape(&s.reproduce)),
        ),
        (
            "results",
            format!(
                "<code>{}</code>",
                escape(&run.summary_path.display().to_string())
            ),
        ),
    ];
    for (k, v) in rows {
        let _ = write!(meta, "<tr><td>{k}</td><td>{v}</td></tr>");
    }
    meta.push_str("</table>");
    if !run.trace_found {
        meta.push_str("<p class=\"fail\">trace.jsonl was not found beside the summary: the plots are empty.</p>");
    }
    if run.trace_truncated {
        let _ = write!(
            meta,
            "<p class=\"fail\">The trace was read up to line {} only.</p>",
            crate::sim::TRACE_LINES_MAX
        );
    }
    section(out, &format!("{prefix}run"), "What ran", "", &meta);
}

/// Key figures: chain progress, payments, faults, messages, the longest block gap.
fn figures_section(out: &mut String, run: &SimRun, prefix: &str) {
    let c = &run.summary.counts;
    let d = &c.messages_dropped;
    let t = &c.transactions;
    let mut figs = String::from("<div class=\"figures\">");
    let count = |n: u64| n.to_string();
    figure(&mut figs, "epochs", &count(c.epochs), Tone::Plain);
    figure(
        &mut figs,
        "micro blocks",
        &count(c.micro_blocks),
        Tone::Plain,
    );
    let reverted = c.micro_blocks_reverted;
    let reverted_tone = tone(reverted > 0, false);
    figure(
        &mut figs,
        "micro blocks reverted",
        &count(reverted),
        reverted_tone,
    );
    let view_changes_tone = tone(c.view_changes > 0, false);
    figure(
        &mut figs,
        "view changes",
        &count(c.view_changes),
        view_changes_tone,
    );
    figure(
        &mut figs,
        "payments committed / submitted",
        &format!("{} / {}", t.committed, t.submitted),
        tone(false, t.committed < t.submitted),
    );
    figure(
        &mut figs,
        "rejected / conflicted / pending",
        &format!("{} / {} / {}", t.rejected, t.conflicted, t.pending),
        tone(t.rejected + t.conflicted > 0, t.pending > 0),
    );
    figure(&mut figs, "faults", &count(c.faults), Tone::Plain);
    figure(&mut figs, "restakes", &count(c.restakes), Tone::Plain);
    let stalls_tone = tone(false, c.timer_stalls > 0);
    figure(
        &mut figs,
        "timer stalls",
        &count(c.timer_stalls),
        stalls_tone,
    );
    figure(
        &mut figs,
        "messages sent",
        &count(c.messages_sent),
        Tone::Plain,
    );
    figure(
        &mut figs,
        "dropped: loss / partition / down",
        &format!("{} / {} / {}", d.loss, d.partition, d.down),
        Tone::Plain,
    );
    if let Some(g) = run.longest_gap {
        figure(
            &mut figs,
            &format!("longest block gap (from {})", fmt_s(g.from_ns)),
            &fmt_s(g.len_ns()),
            tone(g.len_ns() > 3_000_000_000, g.len_ns() > 30_000_000_000),
        );
    }
    figs.push_str("</div>");
    section(out, &format!("{prefix}figures"), "Key figures", "", &figs);
}

/// The plots: chain timeline, chain height, transactions by status, messages dropped.
fn plot_sections(out: &mut String, run: &SimRun, prefix: &str) -> Result<(), Error> {
    let rows_note = if run.nodes > plot::TIMELINE_ROWS_MAX {
        format!(
            " Only nodes 0 to {} of {} are drawn.",
            plot::TIMELINE_ROWS_MAX - 1,
            run.nodes
        )
    } else {
        String::new()
    };
    section(
        out,
        &format!("{prefix}timeline"),
        "Chain timeline per node",
        &format!(
            "Each row is a node. Blue ticks: micro blocks; dark bars: macro blocks (epoch committed); orange triangles: view changes; red crosses: reverted micro blocks. Shaded: grey while crashed, purple while partitioned or cut off, yellow while its clock drifts. Red vertical lines: failed checks. A gap in the ticks is a stall.{rows_note}"
        ),
        &plot::chain_timeline(run)?,
    );
    section(
        out,
        &format!("{prefix}height"),
        "Chain height per node",
        &format!(
            "Epoch plus the position in it, per node (the first {} nodes). Flat: stalled; a step down: a revert; lines apart: nodes disagree or lag.",
            plot::HEIGHT_SERIES_MAX
        ),
        &plot::chain_height(run)?,
    );
    section(
        out,
        &format!("{prefix}transactions"),
        "Transactions by status",
        &format!(
            "{} transactions (payments and restakes) by the last status any node reported, stacked.",
            run.transactions.len()
        ),
        &plot::tx_statuses(run)?,
    );
    section(
        out,
        &format!("{prefix}dropped"),
        "Messages dropped",
        &format!(
            "Per {:.1} s window, stacked by reason (loss model, partition, node down).",
            run.summary.duration_ns as f64 / 1e9 / plot::BUCKETS as f64
        ),
        &plot::dropped(run)?,
    );
    Ok(())
}

/// Expectations and invariants, each with its result.
fn checks_section(out: &mut String, run: &SimRun, prefix: &str) {
    let s = &run.summary;
    let mut table = String::from(
        "<table><tr><th>check</th><th>kind</th><th>result</th><th>decided at</th><th>detail</th></tr>",
    );
    for (kind, checks) in [
        ("expectation", &s.expectations),
        ("invariant", &s.invariants),
    ] {
        for ch in checks {
            let _ = write!(
                table,
                "<tr{}><td>{}{}</td><td>{kind}</td><td class=\"{}\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                if ch.held { "" } else { " class=\"bad\"" },
                escape(&ch.name),
                ch.line.map(|l| format!(" (line {l})")).unwrap_or_default(),
                if ch.held { "ok" } else { "fail" },
                if ch.held { "ok" } else { "FAIL" },
                fmt_s(ch.t_ns),
                escape(&ch.detail)
            );
        }
    }
    table.push_str("</table>");
    section(
        out,
        &format!("{prefix}checks"),
        "Expectations and invariants",
        "",
        &table,
    );
}

/// Fault spans (nothing when the run had no faults).
fn faults_section(out: &mut String, run: &SimRun, prefix: &str) {
    if run.spans.is_empty() {
        return;
    }
    let mut table = String::from(
        "<table><tr><th>what</th><th>nodes</th><th>from</th><th>to</th><th>length</th></tr>",
    );
    for sp in &run.spans {
        let nodes: Vec<String> = sp.nodes.iter().map(u32::to_string).collect();
        let _ = write!(
            table,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&sp.what),
            escape(&nodes.join(", ")),
            fmt_s(sp.from_ns),
            fmt_s(sp.to_ns),
            fmt_s(sp.to_ns - sp.from_ns)
        );
    }
    table.push_str("</table>");
    section(
        out,
        &format!("{prefix}faults"),
        "Faults",
        "Crashes until restart, partitions and cuts until heal (the nodes cut off from the largest group), clock drifts.",
        &table,
    );
}

/// Notable events in time order, up to [`NOTABLE_ROWS_MAX`] rows (the rest are counted).
fn events_section(out: &mut String, run: &SimRun, prefix: &str) {
    let mut table =
        String::from("<table><tr><th>time</th><th>node</th><th>event</th><th>detail</th></tr>");
    for n in run.notable.iter().take(NOTABLE_ROWS_MAX) {
        let _ = write!(
            table,
            "<tr{}><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            if n.bad { " class=\"bad\"" } else { "" },
            fmt_s(n.t_ns),
            n.node.map(|n| n.to_string()).unwrap_or_default(),
            escape(&n.what),
            escape(&n.detail)
        );
    }
    table.push_str("</table>");
    if run.notable.len() > NOTABLE_ROWS_MAX {
        let _ = write!(
            table,
            "<p class=\"note\">… and {} more in the trace.</p>",
            run.notable.len() - NOTABLE_ROWS_MAX
        );
    }
    section(
        out,
        &format!("{prefix}events"),
        "Notable events",
        "Reverts, view changes, faults, failed steps, refused messages, timer stalls and failed checks, in time order (red: bad news).",
        &table,
    );
}

/// The Markdown figures, for copying.
fn counts_section(out: &mut String, run: &SimRun, prefix: &str) {
    let mut md = String::from("<table>");
    for (k, v) in key_figures(run) {
        let _ = write!(
            md,
            "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
            escape(k),
            escape(&v)
        );
    }
    md.push_str("</table>");
    section(
        out,
        &format!("{prefix}counts"),
        "All counts",
        "As in summary.json.",
        &md,
    );
}

/// The page for one or more runs.
pub fn render(runs: &[SimRun]) -> Result<String, Error> {
    let title = match runs {
        [one] => format!(
            "stegosim report: {} seed {} ({})",
            one.summary.scenario,
            one.summary.seed,
            if one.summary.passed {
                "passed"
            } else {
                "FAILED"
            }
        ),
        _ => format!("stegosim report: {} runs", runs.len()),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        escape(&title)
    );
    if runs.len() > 1 {
        let failed = runs.iter().filter(|r| !r.summary.passed).count();
        let _ = write!(
            out,
            "<div class=\"banner {}\"><h1>{} runs: {} passed, {failed} failed</h1></div>\n<main><section><h2>Runs</h2><table><tr><th>scenario</th><th>seed</th><th>result</th><th>epochs</th><th>reverts</th><th>view changes</th><th>committed / submitted</th></tr>",
            if failed == 0 { "pass" } else { "fail" },
            runs.len(),
            runs.len() - failed
        );
        for (i, r) in runs.iter().enumerate() {
            let s = &r.summary;
            let _ = write!(
                out,
                "<tr{}><td><a href=\"#r{i}-banner\">{}</a></td><td class=\"num\">{}</td><td class=\"{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} / {}</td></tr>",
                if s.passed { "" } else { " class=\"bad\"" },
                escape(&s.scenario),
                s.seed,
                if s.passed { "ok" } else { "fail" },
                if s.passed { "ok" } else { "FAIL" },
                s.counts.epochs,
                s.counts.micro_blocks_reverted,
                s.counts.view_changes,
                s.counts.transactions.committed,
                s.counts.transactions.submitted
            );
        }
        out.push_str("</table></section></main>\n");
    }
    for (i, run) in runs.iter().enumerate() {
        let prefix = if runs.len() > 1 {
            format!("r{i}-")
        } else {
            String::new()
        };
        render_run(&mut out, run, &prefix)?;
    }
    out.push_str("</body>\n</html>\n");
    Ok(out)
}
