//! The summary a person reads after a run (or a merge): rates, latency per request,
//! errors by code, falling behind, followed transactions and thresholds.

use std::fmt::Write as _;

use stegosim_formats::duration::format_approx;

use crate::results::{ALL, Percentiles, Results};

fn ns(v: u64) -> String {
    format_approx(v as f64)
}

fn row(out: &mut String, name: &str, count: u64, errors: u64, l: &Percentiles, s: &Percentiles) {
    let _ = writeln!(
        out,
        "  {name:<22} {count:>9} {errors:>7}  {:>8} {:>8} {:>8} {:>8} {:>8}  {:>8} {:>8}",
        ns(l.p50_ns),
        ns(l.p90_ns),
        ns(l.p99_ns),
        ns(l.p99_9_ns),
        ns(l.max_ns),
        ns(s.p50_ns),
        ns(s.p99_ns),
    );
}

/// Renders the summary of `r`: one function per part, in order.
pub fn render(r: &Results) -> String {
    let mut out = String::new();
    rates(&mut out, r);
    schedule(&mut out, r);
    latency_table(&mut out, r);
    errors_by_code(&mut out, r);
    followed(&mut out, r);
    thresholds(&mut out, r);
    out
}

/// What ran, the rates, and how many requests started, answered and failed.
fn rates(out: &mut String, r: &Results) {
    let s = &r.summary;
    let sources = &r.sources;
    if let [one] = sources.as_slice() {
        let _ = writeln!(
            out,
            "{} against {}: {:.1} s scheduled, {:.1} s in all",
            one.model, one.endpoint, one.scheduled_duration_s, one.elapsed_s
        );
    } else {
        let _ = writeln!(out, "merged results of {} load generators", sources.len());
    }
    let target = s
        .target_rate
        .map(|t| format!("target {t:.1}/s, "))
        .unwrap_or_else(|| "no target rate (closed model), ".into());
    let _ = writeln!(
        out,
        "  {target}achieved {:.1}/s started, {:.1}/s completed",
        s.achieved_rate, s.completed_rate
    );
    let _ = writeln!(
        out,
        "  requests: {} started{}, {} good answers, {} errors ({:.3}%)",
        s.started,
        s.scheduled
            .map(|n| format!(" of {n} scheduled"))
            .unwrap_or_default(),
        s.completed,
        s.errors,
        s.error_rate * 100.0
    );
}

/// Keeping to the schedule (or not), lost connections, unmatched answers.
fn schedule(out: &mut String, r: &Results) {
    let s = &r.summary;
    if let Some(n) = s.not_started.filter(|n| *n > 0) {
        let _ = writeln!(
            out,
            "  NOT STARTED: {n} scheduled requests never started (the schedule ended first)"
        );
    }
    let b = &s.behind_schedule;
    if b.count == 0 {
        let _ = writeln!(
            out,
            "  on schedule: no start later than {} (lateness p99 {}, max {})",
            ns(b.tolerance_ns),
            ns(s.lateness.p99_ns),
            ns(s.lateness.max_ns)
        );
    } else {
        let _ = writeln!(
            out,
            "  BEHIND SCHEDULE: {} starts later than {}, worst {} ({} waited for an in-flight slot, {} late with a slot free: the generator itself was late)",
            b.count,
            ns(b.tolerance_ns),
            ns(b.worst_ns),
            b.waited_for_slot,
            b.generator
        );
    }
    if s.connections_lost > 0 {
        let _ = writeln!(out, "  connections lost: {}", s.connections_lost);
    }
    if s.unmatched > 0 {
        let _ = writeln!(
            out,
            "  answers matching no request (late or unreadable): {}",
            s.unmatched
        );
    }
}

/// Latency and service time per request type, then every type together (when several).
fn latency_table(out: &mut String, r: &Results) {
    let s = &r.summary;
    let _ = writeln!(
        out,
        "\n  {:<22} {:>9} {:>7}  {:>8} {:>8} {:>8} {:>8} {:>8}  {:>8} {:>8}",
        "latency (from schedule)",
        "answers",
        "errors",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
        "svc p50",
        "svc p99"
    );
    for (name, q) in &s.requests {
        if name != ALL {
            row(
                out,
                name,
                q.completed,
                q.errors,
                &q.latency,
                &q.service_time,
            );
        }
    }
    if let Some(all) = s.requests.get(ALL)
        && s.requests.len() > 2
    {
        row(
            out,
            ALL,
            all.completed,
            all.errors,
            &all.latency,
            &all.service_time,
        );
    }
}

/// Errors by code and request type (nothing when there were none).
fn errors_by_code(out: &mut String, r: &Results) {
    if r.summary.errors_by_code.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n  errors by code:");
    for (name, c) in &r.counts {
        for (code, n) in &c.errors {
            let _ = writeln!(out, "    {code:<20} {n:>9}  ({name})");
        }
    }
}

/// Followed transactions: latency to each notification, then how many failed or stayed open.
fn followed(out: &mut String, r: &Results) {
    let s = &r.summary;
    if !s.follow.is_empty() {
        let _ = writeln!(out, "\n  followed (from submission):");
        for (name, p) in &s.follow {
            let _ = writeln!(
                out,
                "    {name:<28} {:>7}  p50 {}  p99 {}  max {}",
                p.count,
                ns(p.p50_ns),
                ns(p.p99_ns),
                ns(p.max_ns)
            );
        }
    }
    for (name, c) in &r.counts {
        for (code, n) in &c.follow_errors {
            let _ = writeln!(out, "    {name}: {n} {code}");
        }
        if c.follow_unfinished > 0 {
            let _ = writeln!(
                out,
                "    {name}: {} still open at the end",
                c.follow_unfinished
            );
        }
    }
}

/// Thresholds and whether each held (nothing when none were set).
fn thresholds(out: &mut String, r: &Results) {
    if r.thresholds.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n  thresholds:");
    for t in &r.thresholds {
        let _ = writeln!(
            out,
            "    {} {}  ({})",
            if t.ok { "ok  " } else { "FAIL" },
            t.threshold,
            t.actual
        );
    }
}
