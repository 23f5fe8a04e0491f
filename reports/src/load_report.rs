//! The HTML page and the Markdown summary of a load run.
//!
//! Page, top to bottom: a verdict banner (green passed, amber passed with warnings, red
//! failed) with the reasons; a prominent box when the generator fell behind schedule; what
//! ran; key figures; thresholds; throughput against the target; latency percentiles over
//! time; the HDR percentile distribution per request type on a "nines" axis; service time;
//! errors over time and by code; notification latencies; the per-type table; the sources.
//!
//! Markdown: the verdict line and tables whose values are those of `results.json`
//! (latencies in ms with µs precision, rates with 0.1/s precision), so a script can read
//! them back; the tests do.

use std::fmt::Write;

use stegosim_formats::duration::{Unit, format_approx, format_fixed};
use stegosim_formats::results::{ALL, Percentiles};

use crate::Error;
use crate::html::{STYLE, Tone, escape, figure, section, tone};
use crate::load::{LoadRun, Verdict, stage_order};
use crate::load_plot;

/// Escapes what would break a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn rate(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}/s"))
        .unwrap_or_else(|| "none (closed model)".into())
}

/// The banner's class, symbol and word.
fn banner(v: &Verdict) -> (&'static str, &'static str, &'static str) {
    match v {
        Verdict::Pass => ("pass", "✔", "PASSED"),
        Verdict::Warn(_) => ("warn", "⚠", "PASSED WITH WARNINGS"),
        Verdict::Fail(_) => ("fail", "✘", "FAILED"),
    }
}

/// What ran, in one line.
fn what_ran(run: &LoadRun) -> String {
    let s = &run.results.summary;
    format!(
        "{} for {:.1} s against {}{}",
        run.models(),
        run.scheduled_duration_s(),
        run.endpoints(),
        match s.target_rate {
            Some(t) => format!(", target {t:.1}/s"),
            None => String::new(),
        }
    )
}

/// Key figures: (name, value), in table order; values as in `results.json`'s `summary`.
pub fn key_figures(run: &LoadRun) -> Vec<(&'static str, String)> {
    let s = &run.results.summary;
    let b = &s.behind_schedule;
    vec![
        ("target rate", rate(s.target_rate)),
        ("achieved rate", format!("{:.1}/s", s.achieved_rate)),
        ("completed rate", format!("{:.1}/s", s.completed_rate)),
        (
            "scheduled",
            s.scheduled
                .map(|n| n.to_string())
                .unwrap_or_else(|| "none".into()),
        ),
        ("started", s.started.to_string()),
        (
            "not started",
            s.not_started
                .map(|n| n.to_string())
                .unwrap_or_else(|| "none".into()),
        ),
        ("completed", s.completed.to_string()),
        ("errors", s.errors.to_string()),
        ("error rate", format!("{:.3}%", 100.0 * s.error_rate)),
        ("behind schedule", b.count.to_string()),
        (
            "behind schedule, worst (ms)",
            format_fixed(b.worst_ns, Unit::Millis),
        ),
        (
            "behind schedule, waited for a slot",
            b.waited_for_slot.to_string(),
        ),
        ("behind schedule, generator late", b.generator.to_string()),
        ("connections lost", s.connections_lost.to_string()),
        ("unmatched answers", s.unmatched.to_string()),
    ]
}

fn pct_cells(p: &Percentiles) -> String {
    format!(
        "{} | {} | {} | {} | {} | {} | {}",
        p.count,
        format_fixed(p.p50_ns, Unit::Millis),
        format_fixed(p.p90_ns, Unit::Millis),
        format_fixed(p.p99_ns, Unit::Millis),
        format_fixed(p.p99_9_ns, Unit::Millis),
        format_fixed(p.max_ns, Unit::Millis),
        format_fixed(p.mean_ns, Unit::Millis)
    )
}

/// The Markdown summary: one function per table, in order.
pub fn markdown(run: &LoadRun) -> String {
    let mut out = String::new();
    md_verdict(&mut out, run);
    md_run(&mut out, run);
    md_requests(&mut out, run);
    md_follow(&mut out, run);
    md_errors(&mut out, run);
    md_thresholds(&mut out, run);
    out
}

/// The verdict line, its reasons, and a note on merged results.
fn md_verdict(out: &mut String, run: &LoadRun) {
    let v = run.verdict();
    let word = match &v {
        Verdict::Pass => "✅ passed",
        Verdict::Warn(_) => "⚠️ passed with warnings",
        Verdict::Fail(_) => "❌ FAILED",
    };
    let _ = writeln!(out, "# {word}: load, {}\n", cell(&what_ran(run)));
    if let Verdict::Warn(reasons) | Verdict::Fail(reasons) = &v {
        for reason in reasons {
            let _ = writeln!(out, "- {}", cell(reason));
        }
        let _ = writeln!(out);
    }
    if run.merged_from() > 1 {
        let _ = writeln!(
            out,
            "Merged from {} results files (HDR histograms added exactly, thresholds evaluated again).\n",
            run.merged_from()
        );
    }
}

/// What ran, then the key figures.
fn md_run(out: &mut String, run: &LoadRun) {
    let _ = writeln!(out, "| run | |\n|---|---|");
    let _ = writeln!(out, "| endpoint | {} |", cell(&run.endpoints()));
    let _ = writeln!(out, "| model | {} |", cell(&run.models()));
    let _ = writeln!(
        out,
        "| scheduled duration | {:.1} s |",
        run.scheduled_duration_s()
    );
    let _ = writeln!(out, "| started at | {} |", run.started_at());
    let _ = writeln!(out, "| stegosim | {} |", cell(&run.version()));
    let _ = writeln!(out, "| results files | {} |\n", run.merged_from());

    let _ = writeln!(out, "| key figure | value |\n|---|---:|");
    for (k, v) in key_figures(run) {
        let _ = writeln!(out, "| {k} | {v} |");
    }
    let _ = writeln!(out);
}

/// One row per request type.
fn md_requests(out: &mut String, run: &LoadRun) {
    let s = &run.results.summary;
    let _ = writeln!(
        out,
        "| request | started | completed | errors | count | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | mean ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for name in run.metric_names() {
        if let Some(q) = s.requests.get(&name) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&name),
                q.started,
                q.completed,
                q.errors,
                pct_cells(&q.latency)
            );
        }
    }
    let _ = writeln!(
        out,
        "\nLatency from the scheduled start (coordinated omission corrected).\n"
    );
}

/// Notification latencies in stage order (nothing when no transaction was followed).
fn md_follow(out: &mut String, run: &LoadRun) {
    let s = &run.results.summary;
    if s.follow.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "| notification | count | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | mean ms |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut follow: Vec<_> = s.follow.iter().collect();
    follow.sort_by(|a, b| stage_order(a.0).cmp(&stage_order(b.0)));
    for (name, p) in follow {
        let _ = writeln!(out, "| {} | {} |", cell(name), pct_cells(p));
    }
    let _ = writeln!(out);
}

/// Errors by code (nothing when there were none).
fn md_errors(out: &mut String, run: &LoadRun) {
    let s = &run.results.summary;
    if s.errors_by_code.is_empty() {
        return;
    }
    let _ = writeln!(out, "| error code | count |\n|---|---:|");
    for (code, n) in &s.errors_by_code {
        let _ = writeln!(out, "| {} | {n} |", cell(code));
    }
    let _ = writeln!(out);
}

/// Thresholds and their results (nothing when none were set).
fn md_thresholds(out: &mut String, run: &LoadRun) {
    let r = &run.results;
    if r.thresholds.is_empty() {
        return;
    }
    let _ = writeln!(out, "| threshold | result | actual |\n|---|---|---|");
    for t in &r.thresholds {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            cell(&t.threshold),
            if t.ok { "ok" } else { "**FAIL**" },
            cell(&t.actual)
        );
    }
    let _ = writeln!(out);
}

fn pct_row(out: &mut String, name: &str, p: &Percentiles, extra: &str) {
    let _ = write!(
        out,
        "<tr><td>{}</td>{extra}<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        escape(name),
        p.count,
        format_approx(p.p50_ns as f64),
        format_approx(p.p90_ns as f64),
        format_approx(p.p99_ns as f64),
        format_approx(p.p99_9_ns as f64),
        format_approx(p.max_ns as f64),
        format_approx(p.mean_ns as f64)
    );
}

/// The HTML page: one function per section, in page order.
pub fn html(run: &LoadRun) -> Result<String, Error> {
    let v = run.verdict();
    let mut out = String::new();
    page_head(&mut out, run, &v);
    banner_box(&mut out, run, &v);
    behind_section(&mut out, run);
    run_section(&mut out, run);
    figures_section(&mut out, run);
    thresholds_section(&mut out, run);
    throughput_section(&mut out, run)?;
    latency_time_section(&mut out, run)?;
    distribution_sections(&mut out, run)?;
    errors_section(&mut out, run)?;
    notifications_section(&mut out, run)?;
    requests_section(&mut out, run);
    sources_section(&mut out, run);
    out.push_str("</main>\n</body>\n</html>\n");
    Ok(out)
}

/// The document head, up to and including `<body>`.
fn page_head(out: &mut String, run: &LoadRun, v: &Verdict) {
    let (_, _, word) = banner(v);
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        escape(&format!("stegosim load report: {} ({word})", run.models()))
    );
}

/// The verdict banner with its one-line summary and reasons; opens `<main>`.
fn banner_box(out: &mut String, run: &LoadRun, v: &Verdict) {
    let r = &run.results;
    let s = &r.summary;
    let (class, symbol, word) = banner(v);
    let all = s.requests.get(ALL).cloned().unwrap_or_default();
    let _ = write!(
        out,
        "<div class=\"banner {class}\" id=\"banner\"><h1>{symbol} {word} — load: {}</h1>",
        escape(&what_ran(run))
    );
    let held = r.thresholds.iter().filter(|t| t.ok).count();
    let _ = write!(
        out,
        "<p>achieved {:.1}/s{} · completed {:.1}/s · p50 {} · p99 {} · max {} · {} errors · {} · behind schedule: {}</p>",
        s.achieved_rate,
        s.target_rate
            .map(|t| format!(
                " of {t:.1}/s ({:.1}%)",
                100.0 * s.achieved_rate / t.max(1e-9)
            ))
            .unwrap_or_default(),
        s.completed_rate,
        format_approx(all.latency.p50_ns as f64),
        format_approx(all.latency.p99_ns as f64),
        format_approx(all.latency.max_ns as f64),
        s.errors,
        if r.thresholds.is_empty() {
            "no thresholds".to_string()
        } else {
            format!("{held} of {} thresholds held", r.thresholds.len())
        },
        s.behind_schedule.count
    );
    if let Verdict::Warn(reasons) | Verdict::Fail(reasons) = v {
        let _ = write!(out, "<p><b>{}</b></p>", escape(&reasons.join(" · ")));
    }
    if run.merged_from() > 1 {
        let _ = write!(
            out,
            "<p>Merged from {} results files: histograms added exactly, thresholds evaluated again on the merged data.</p>",
            run.merged_from()
        );
    }
    out.push_str("</div>\n<main>\n");
}

/// Falling behind schedule: never hidden, so a box of its own whenever it happened.
fn behind_section(out: &mut String, run: &LoadRun) {
    let s = &run.results.summary;
    let b = &s.behind_schedule;
    let not_started = s.not_started.unwrap_or(0);
    if b.count == 0 && not_started == 0 {
        return;
    }
    let body = format!(
        "<p><b>{}</b> starts were later than {} after their scheduled time (worst {}): {} waited for a free in-flight slot (the server or the in-flight limit held them back), {} were late although a slot was free (the generator itself: its speed or its share of the CPU). {} scheduled requests never started. Latency is measured from the scheduled start, so these delays are in the latency figures; lateness of every start: p50 {}, p99 {}, max {}.</p>",
        b.count,
        format_approx(b.tolerance_ns as f64),
        format_approx(b.worst_ns as f64),
        b.waited_for_slot,
        b.generator,
        not_started,
        format_approx(s.lateness.p50_ns as f64),
        format_approx(s.lateness.p99_ns as f64),
        format_approx(s.lateness.max_ns as f64)
    );
    let _ = writeln!(
        out,
        "<section id=\"behind\" class=\"alert{}\"><h2>⚠ The generator fell behind schedule</h2>{body}</section>",
        if b.generator > 0 { " bad" } else { "" }
    );
}

/// What ran: endpoints, model, duration, versions, result files.
fn run_section(out: &mut String, run: &LoadRun) {
    let s = &run.results.summary;
    let mut meta = String::from("<table class=\"meta\">");
    let files: Vec<String> = run.paths.iter().map(|p| p.display().to_string()).collect();
    for (k, val) in [
        ("endpoint", escape(&run.endpoints())),
        ("model", escape(&run.models())),
        (
            "scheduled duration",
            format!("{:.1} s", run.scheduled_duration_s()),
        ),
        ("target rate", escape(&rate(s.target_rate))),
        ("started at", escape(&run.started_at())),
        ("stegosim version", escape(&run.version())),
        (
            "load generators",
            format!(
                "{}{}",
                run.merged_from(),
                if run.merged_from() > 1 {
                    " (results merged exactly)"
                } else {
                    ""
                }
            ),
        ),
        (
            "results",
            if files.is_empty() {
                "not written to a file (no --out)".to_string()
            } else {
                format!("<code>{}</code>", escape(&files.join(" ")))
            },
        ),
    ] {
        let _ = write!(meta, "<tr><td>{k}</td><td>{val}</td></tr>");
    }
    meta.push_str("</table>");
    section(out, "run", "What ran", "", &meta);
}

/// Key figures: rates, latency percentiles of every request, errors, lateness, lost connections.
fn figures_section(out: &mut String, run: &LoadRun) {
    let s = &run.results.summary;
    let b = &s.behind_schedule;
    let all = s.requests.get(ALL).cloned().unwrap_or_default();
    let mut figs = String::from("<div class=\"figures\">");
    let short = s
        .target_rate
        .is_some_and(|t| t > 0.0 && s.achieved_rate < 0.98 * t);
    figure(
        &mut figs,
        "achieved / target rate",
        &format!(
            "{:.1} / {}",
            s.achieved_rate,
            s.target_rate
                .map(|t| format!("{t:.1}"))
                .unwrap_or_else(|| "–".into())
        ),
        tone(false, short),
    );
    let completed = format!("{:.1}/s", s.completed_rate);
    figure(&mut figs, "completed rate", &completed, Tone::Plain);
    for (name, ns) in [
        ("p50 (all)", all.latency.p50_ns),
        ("p99 (all)", all.latency.p99_ns),
        ("p99.9 (all)", all.latency.p99_9_ns),
        ("max (all)", all.latency.max_ns),
    ] {
        figure(&mut figs, name, &format_approx(ns as f64), Tone::Plain);
    }
    figure(
        &mut figs,
        "errors",
        &format!("{} ({:.2}%)", s.errors, 100.0 * s.error_rate),
        tone(s.errors > 0, false),
    );
    figure(
        &mut figs,
        "behind schedule (worst)",
        &format!("{} ({})", b.count, format_approx(b.worst_ns as f64)),
        tone(b.count > 0, b.generator > 0),
    );
    figure(
        &mut figs,
        "connections lost",
        &s.connections_lost.to_string(),
        tone(false, s.connections_lost > 0),
    );
    figs.push_str("</div>");
    section(out, "figures", "Key figures", "", &figs);
}

/// Thresholds and whether each held (an empty section when none were set).
fn thresholds_section(out: &mut String, run: &LoadRun) {
    let r = &run.results;
    let mut table =
        String::from("<table><tr><th>threshold</th><th>result</th><th>actual</th></tr>");
    for t in &r.thresholds {
        let _ = write!(
            table,
            "<tr{}><td><code>{}</code></td><td class=\"{}\">{}</td><td class=\"num\">{}</td></tr>",
            if t.ok { "" } else { " class=\"bad\"" },
            escape(&t.threshold),
            if t.ok { "ok" } else { "fail" },
            if t.ok { "ok" } else { "FAIL" },
            escape(&t.actual)
        );
    }
    table.push_str("</table>");
    if r.thresholds.is_empty() {
        table.clear();
    }
    section(
        out,
        "thresholds",
        "Thresholds",
        if r.thresholds.is_empty() {
            "No thresholds were set (--threshold or the profile's thresholds)."
        } else {
            "Evaluated on the results shown (after a merge: on the merged data)."
        },
        &table,
    );
}

/// Throughput over time against the schedule's target.
fn throughput_section(out: &mut String, run: &LoadRun) -> Result<(), Error> {
    section(
        out,
        "throughput",
        "Throughput over time against the target",
        &format!(
            "Requests started and good answers per second; the dashed line is what the schedule asked for (open models: from the schedule itself; paced closed models: the mean rate). Started below the target is the generator falling behind; completed below started is the server not keeping up.{}",
            if run.merged_from() > 1 {
                " Merged results: the target is the first generator's schedule scaled to the summed target rate (exact when every generator ran the same profile)."
            } else {
                ""
            }
        ),
        &load_plot::throughput(run)?,
    );
    Ok(())
}

/// Latency percentiles over time: every request together, then up to
/// [`load_plot::TYPE_PLOTS_MAX`] request types one plot each.
fn latency_time_section(out: &mut String, run: &LoadRun) -> Result<(), Error> {
    let mut body = load_plot::latency_over_time(run)?;
    let types: Vec<&String> = run.series_by_type.keys().collect();
    for name in types.iter().take(load_plot::TYPE_PLOTS_MAX) {
        let _ = write!(body, "<h3>{}</h3>", escape(name));
        body.push_str(&load_plot::type_latency_over_time(run, name)?);
    }
    section(
        out,
        "latency-time",
        "Latency percentiles over time",
        &format!(
            "Per second, latency from the scheduled start, log scale: every request type together, then {}. A spike here is a stall.",
            if types.is_empty() {
                "no per-type plots (one request type, or results without per-type series)"
                    .to_string()
            } else if types.len() > load_plot::TYPE_PLOTS_MAX {
                format!(
                    "each request type (the first {} of {})",
                    load_plot::TYPE_PLOTS_MAX,
                    types.len()
                )
            } else {
                "each request type".to_string()
            }
        ),
        &body,
    );
    Ok(())
}

/// The HDR percentile distributions: latency, then service time, per request type.
fn distribution_sections(out: &mut String, run: &LoadRun) -> Result<(), Error> {
    let dist: Vec<load_plot::Curve<'_>> = run
        .latency
        .iter()
        .map(|(k, h)| (k.clone(), h, false))
        .collect();
    section(
        out,
        "distribution",
        "Latency distribution per request type",
        "HDR percentile distribution, latency from the scheduled start, on HdrHistogram's log-scaled \"nines\" axis (90%, 99%, 99.9%, ...): the tail is where the right-hand side rises.",
        &load_plot::percentile_distribution(&dist)?,
    );
    let dist: Vec<load_plot::Curve<'_>> = run
        .service
        .iter()
        .map(|(k, h)| (format!("{k} service"), h, true))
        .collect();
    section(
        out,
        "service",
        "Service time per request type",
        "From sending to the answer (uncorrected: what a tool with coordinated omission would report). Far below the latency above: requests waited before they could be sent.",
        &load_plot::percentile_distribution(&dist)?,
    );
    Ok(())
}

/// Errors over time by code, and a table of each code's total (followed transactions too).
fn errors_section(out: &mut String, run: &LoadRun) -> Result<(), Error> {
    let r = &run.results;
    let s = &r.summary;
    let mut errors = load_plot::errors_over_time(run)?;
    errors.push_str("<table><tr><th>code</th><th>count</th></tr>");
    for (code, n) in &s.errors_by_code {
        let _ = write!(
            errors,
            "<tr class=\"bad\"><td>{}</td><td class=\"num\">{n}</td></tr>",
            escape(code)
        );
    }
    for (metric, c) in &r.counts {
        for (status, n) in &c.follow_errors {
            let _ = write!(
                errors,
                "<tr class=\"bad\"><td>{} followed: {}</td><td class=\"num\">{n}</td></tr>",
                escape(metric),
                escape(status)
            );
        }
    }
    errors.push_str("</table>");
    let codes: Vec<&str> = s.errors_by_code.keys().map(String::as_str).collect();
    section(
        out,
        "errors",
        "Errors over time by code",
        &match codes.as_slice() {
            [] => "No errors.".to_string(),
            [one] => format!("Every error was {one}."),
            _ if load_plot::errors_have_codes(run) => {
                "Errors per second, stacked by code; the table has each code's total.".to_string()
            }
            _ => "Errors per second over every code (these results predate per-second codes); the table has each code's total.".to_string(),
        },
        &errors,
    );
    Ok(())
}

/// Notification latencies of followed transactions, in stage order.
fn notifications_section(out: &mut String, run: &LoadRun) -> Result<(), Error> {
    if run.follow.is_empty() {
        section(
            out,
            "notifications",
            "Notification latencies",
            "No followed transactions in this run (the mix had no payment or secure_payment).",
            "",
        );
        return Ok(());
    }
    let mut dist: Vec<load_plot::Curve<'_>> = run
        .follow
        .iter()
        .map(|(k, h)| (k.clone(), h, false))
        .collect();
    dist.sort_by(|a, b| stage_order(&a.0).cmp(&stage_order(&b.0)));
    let mut body = load_plot::percentile_distribution(&dist)?;
    body.push_str("<table><tr><th>stage</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>");
    let mut follow: Vec<_> = run.results.summary.follow.iter().collect();
    follow.sort_by(|a, b| stage_order(a.0).cmp(&stage_order(b.0)));
    for (k, p) in follow {
        pct_row(&mut body, k, p, "");
    }
    body.push_str("</table>");
    section(
        out,
        "notifications",
        "Notification latencies",
        "From submitting a payment to its accepted, prepared and committed notifications (secure payments: to Snowball succeeded).",
        &body,
    );
    Ok(())
}

/// One row per request type: counts and latency percentiles.
fn requests_section(out: &mut String, run: &LoadRun) {
    let s = &run.results.summary;
    let mut table = String::from(
        "<table><tr><th>request</th><th>started</th><th>errors</th><th>answers</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>",
    );
    for name in run.metric_names() {
        if let Some(q) = s.requests.get(&name) {
            pct_row(
                &mut table,
                &name,
                &q.latency,
                &format!(
                    "<td class=\"num\">{}</td><td class=\"num\">{}</td>",
                    q.started, q.errors
                ),
            );
        }
    }
    table.push_str("</table>");
    section(
        out,
        "requests",
        "Per request type",
        "Latency from the scheduled start.",
        &table,
    );
}

/// One row per load generator (results file) merged.
fn sources_section(out: &mut String, run: &LoadRun) {
    let mut table = String::from(
        "<table><tr><th>endpoint</th><th>model</th><th>started at (Unix ms)</th><th>scheduled</th><th>elapsed</th><th>target</th><th>achieved</th><th>behind</th><th>lost</th></tr>",
    );
    for src in &run.results.sources {
        let _ = write!(
            table,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1} s</td><td class=\"num\">{:.1} s</td><td class=\"num\">{}</td><td class=\"num\">{:.1}/s</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&src.endpoint),
            escape(&src.model),
            src.started_at_unix_ms,
            src.scheduled_duration_s,
            src.elapsed_s,
            escape(&rate(src.target_rate)),
            src.achieved_rate,
            src.behind_schedule.count,
            src.connections_lost
        );
    }
    table.push_str("</table>");
    section(
        out,
        "sources",
        "Load generators",
        "One row per results file merged.",
        &table,
    );
}
