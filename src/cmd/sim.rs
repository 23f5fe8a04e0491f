//! `stegosim run`, `stegosim sweep` and `stegosim bench ring`: the simulator's commands.
//!
//! - `stegosim run [FILE] [--seed N] [--engine des] [--out DIR]`: runs a scenario file (the
//!   built-in `quickstart` without FILE), shows progress, writes `DIR/trace.jsonl` and
//!   `DIR/summary.json`, and exits 1 when an expectation or invariant fails, 2 when the file
//!   or the arguments are bad.
//! - `stegosim sweep FILE --seeds A..B [--jobs N] [--shard K/N] [--check-determinism]`:
//!   runs a scenario over a half-open range of seeds (this shard's share of it), writes
//!   JUnit XML, exits 1 when any seed fails.
//! - `stegosim bench ring --nodes N`: the engine's ring benchmark; prints the
//!   simulated-to-wall-time ratio last.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stegosim_formats::duration::format as format_ns;
use stegosim_formats::summary::{self, Summary};
use stegosim_sim::outcome::Outcome;
use stegosim_sim::run::{EngineKind, Progress, RunOptions};
use stegosim_sim::scenario::{self, Scenario};
use stegosim_sim::sweep::{SeedRange, Shard};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario file (`scenarios/*.toml`); without it, the built-in `quickstart`.
    file: Option<PathBuf>,
    /// Seed of the run (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Engine: `des` (the discrete-event engine) or `turmoil` (real node drivers on simulated TCP).
    #[arg(long, default_value = "des")]
    engine: String,
    /// Output folder for trace.jsonl and summary.json (default: out/<scenario>-<seed>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the report of the run: DIR/report.html and DIR/report.md.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The scenario file.
    file: PathBuf,
    /// Seeds to run: a half-open range A..B.
    #[arg(long)]
    seeds: SeedRange,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Run only shard K of N of the range (K = 0..N-1): every N-th seed from the K-th.
    #[arg(long)]
    shard: Option<Shard>,
    /// Run each seed twice; a different trace hash fails the seed.
    #[arg(long)]
    check_determinism: bool,
    /// Output folder for junit.xml (default: out/<scenario>-sweep).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// Each node sends 64 bytes to its neighbour every 10 simulated ms over 1-10 ms links,
    /// for 60 simulated seconds; prints the simulated/wall-time ratio last.
    Ring {
        /// Nodes in the ring.
        #[arg(long, default_value_t = 100)]
        nodes: u32,
        /// Simulated seconds.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Engine: `des` or `turmoil`; without it, both run one after the other and each
        /// prints its ratio, turmoil first, so the last line is the `des` ratio.
        #[arg(long)]
        engine: Option<String>,
    },
}

/// A scenario and how to name its file in the reproduce command.
fn load_scenario(file: Option<&Path>) -> Result<(Scenario, String)> {
    match file {
        None => {
            let s = scenario::load_builtin("quickstart")
                .expect("quickstart is built in")
                .context("the built-in quickstart scenario does not load")?;
            Ok((s, "scenarios/quickstart.toml".into()))
        }
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let label = path.display().to_string();
            let s = scenario::load(&label, &text).map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok((s, label))
        }
    }
}

/// Wall-clock time for progress and speed figures only; nothing simulated reads it.
#[allow(clippy::disallowed_methods)]
fn wall_now() -> std::time::Instant {
    std::time::Instant::now()
}

fn run_inner(args: RunArgs) -> Result<ExitCode> {
    let engine = EngineKind::parse(&args.engine).map_err(|e| anyhow::anyhow!(e))?;
    let (scenario, label) = load_scenario(args.file.as_deref())?;
    let seed = args.seed.unwrap_or(scenario.default_seed);
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("out").join(format!("{}-{seed}", scenario.name)));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let trace_path = out.join("trace.jsonl");
    let trace_file = std::fs::File::create(&trace_path)
        .with_context(|| format!("cannot create {}", trace_path.display()))?;
    let sink = Box::new(std::io::BufWriter::with_capacity(1 << 20, trace_file));

    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(
            Some(scenario.duration_ns / 1_000_000_000),
            ProgressDrawTarget::stderr(),
        )
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:30} {pos}/{len} s simulated  {msg}")
            .expect("the template is valid"),
    );
    let mut on_progress = |p: &Progress| {
        bar.set_position(p.elapsed_ns / 1_000_000_000);
        bar.set_message(format!(
            "epoch {}  blocks {}  payments {}/{} committed{}",
            p.epoch,
            p.micro_blocks,
            p.committed,
            p.transactions,
            if p.failures > 0 {
                format!("  {} FAILED", p.failures)
            } else {
                String::new()
            }
        ));
    };
    let started = wall_now();
    let outcome = stegosim_sim::run(
        &scenario,
        RunOptions {
            engine,
            trace_sink: Some(sink),
            progress: Some(&mut on_progress),
            ..RunOptions::seed(seed)
        },
    )?;
    let wall = started.elapsed();
    bar.finish_and_clear();

    // `--engine turmoil` included when it ran there, so the printed command reproduces it.
    let reproduce = outcome.reproduce(&label);
    let summary_path = out.join(summary::FILE_NAME);
    std::fs::write(&summary_path, summary_of(&outcome, &reproduce).to_json())
        .with_context(|| format!("cannot write {}", summary_path.display()))?;
    print_summary(&outcome, &out, wall, &reproduce);
    if let Some(dir) = &args.report {
        let (html, md) = stegosim_reports::write_report_dir(&out, dir)?;
        println!("  report {} and {}", html.display(), md.display());
    }
    Ok(if outcome.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The run's `summary.json`: the outcome, the command that reproduces it, and where and when
/// it ran.
fn summary_of(o: &Outcome, reproduce: &str) -> Summary {
    // Exhaustive destructuring: a count the simulator adds fails to compile here until the
    // format has it too.
    let stegosim_sim::outcome::Counts {
        events,
        messages_sent,
        messages_delivered,
        messages_duplicated,
        messages_dropped,
        epochs,
        micro_blocks,
        micro_blocks_reverted,
        view_changes,
        restakes,
        faults,
        timer_stalls,
        transactions,
        trace_lines,
    } = &o.counts;
    let check = |c: &stegosim_sim::outcome::CheckResult| summary::Check {
        detail: c.detail.clone(),
        held: c.held,
        line: c.line,
        name: c.name.clone(),
        t_ns: c.t_ns,
    };
    Summary {
        counts: summary::Counts {
            epochs: *epochs,
            events: *events,
            faults: *faults,
            messages_delivered: *messages_delivered,
            messages_dropped: summary::DropCounts {
                down: messages_dropped.down,
                loss: messages_dropped.loss,
                overflow: messages_dropped.overflow,
                partition: messages_dropped.partition,
            },
            messages_duplicated: *messages_duplicated,
            messages_sent: *messages_sent,
            micro_blocks: *micro_blocks,
            micro_blocks_reverted: *micro_blocks_reverted,
            restakes: *restakes,
            timer_stalls: *timer_stalls,
            trace_lines: *trace_lines,
            transactions: summary::TxCounts {
                committed: transactions.committed,
                conflicted: transactions.conflicted,
                pending: transactions.pending,
                rejected: transactions.rejected,
                skipped_no_funds: transactions.skipped_no_funds,
                submitted: transactions.submitted,
            },
            view_changes: *view_changes,
        },
        duration_ns: o.duration_ns,
        engine: o.engine.name().to_string(),
        expectations: o.expectations.iter().map(check).collect(),
        finished_at: Some(utc_now_rfc3339()),
        first_failure: o.first_failure.as_ref().map(|f| summary::Failure {
            detail: f.detail.clone(),
            kind: f.kind.to_string(),
            line: f.line,
            name: f.name.clone(),
            t_ns: f.t_ns,
        }),
        host: Some(host_name()),
        invariants: o.invariants.iter().map(check).collect(),
        passed: o.passed,
        reproduce: reproduce.to_string(),
        scenario: o.scenario.clone(),
        seed: o.seed,
        stegosim_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        trace_hash: o.trace_hash.clone(),
    }
}

/// The wall-clock time as RFC 3339 UTC (seconds), for `finished_at` in summary.json: it
/// says when the run happened and never reaches the trace or its hash.
#[allow(clippy::disallowed_methods)]
fn utc_now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// The machine's host name, for `host` in summary.json ("unknown" when it cannot be read).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn print_summary(o: &Outcome, out: &Path, wall: std::time::Duration, reproduce: &str) {
    let c = &o.counts;
    let mut s = std::io::stdout().lock();
    let speed = o.duration_ns as f64 / wall.as_nanos().max(1) as f64;
    let _ = writeln!(
        s,
        "{} seed {}: {} of virtual time in {:.2?} wall ({speed:.1}x)",
        o.scenario,
        o.seed,
        format_ns(o.duration_ns),
        wall
    );
    let _ = writeln!(
        s,
        "  epochs {}  micro blocks {}  reverted {}  view changes {}  restakes {}  faults {}",
        c.epochs, c.micro_blocks, c.micro_blocks_reverted, c.view_changes, c.restakes, c.faults
    );
    let t = &c.transactions;
    let _ = writeln!(
        s,
        "  payments {} submitted, {} committed, {} rejected, {} conflicted, {} pending, {} skipped (no free funds)",
        t.submitted, t.committed, t.rejected, t.conflicted, t.pending, t.skipped_no_funds
    );
    let d = &c.messages_dropped;
    let _ = writeln!(
        s,
        "  messages {} sent, {} delivered, {} duplicated, dropped: {} loss, {} partition, {} down",
        c.messages_sent, c.messages_delivered, c.messages_duplicated, d.loss, d.partition, d.down
    );
    for e in o.expectations.iter().chain(&o.invariants) {
        let _ = writeln!(
            s,
            "  {} {} ({}): {}",
            if e.held { "ok  " } else { "FAIL" },
            e.name,
            format_ns(e.t_ns),
            e.detail
        );
    }
    let _ = writeln!(s, "  trace {} ({} lines)", o.trace_hash, c.trace_lines);
    let _ = writeln!(s, "  wrote {}", out.display());
    if let Some(f) = &o.first_failure {
        let _ = writeln!(
            s,
            "FAILED at {}: {} {}{}: {}",
            format_ns(f.t_ns),
            f.kind,
            f.name,
            f.line.map(|l| format!(" (line {l})")).unwrap_or_default(),
            f.detail
        );
        let _ = writeln!(s, "reproduce with: {reproduce}");
    } else {
        let _ = writeln!(s, "passed");
    }
}

fn sweep_inner(args: SweepArgs) -> Result<ExitCode> {
    let (scenario, label) = load_scenario(Some(&args.file))?;
    let shard = args.shard.unwrap_or_default();
    let seeds = stegosim_sim::sweep::shard_seeds(args.seeds, shard);
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from("out").join(format!("{}-sweep", scenario.name)));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(seeds.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:30} {pos}/{len} seeds  {msg}")
            .expect("the template is valid"),
    );
    let failed = std::sync::atomic::AtomicU64::new(0);
    let started = wall_now();
    let results =
        stegosim_sim::sweep::sweep(&scenario, &seeds, jobs, args.check_determinism, &|r| {
            bar.inc(1);
            if !r.passed {
                let n = failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                bar.set_message(format!("{n} failed"));
            }
        });
    let wall = started.elapsed();
    bar.finish_and_clear();
    let prefix = format!("stegosim run {label} --seed ");
    let xml = stegosim_sim::sweep::junit_xml(&scenario.name, &prefix, &results);
    let junit = out.join("junit.xml");
    std::fs::write(&junit, xml).with_context(|| format!("cannot write {}", junit.display()))?;
    let bad: Vec<_> = results.iter().filter(|r| !r.passed).collect();
    println!(
        "{}: {} seeds ({}..{}, shard {}/{}) in {:.2?} wall on {jobs} threads: {} passed, {} failed",
        scenario.name,
        results.len(),
        args.seeds.start,
        args.seeds.end,
        shard.index,
        shard.count,
        wall,
        results.len() - bad.len(),
        bad.len()
    );
    for r in &bad {
        let why = if let Some(e) = &r.error {
            e.clone()
        } else if let Some(h) = &r.nondeterministic {
            format!("not deterministic: trace {} then {h}", r.trace_hash)
        } else if let Some(f) = &r.failure {
            format!(
                "{} at {}: {} ({})",
                f.kind,
                format_ns(f.t_ns),
                f.name,
                f.detail
            )
        } else {
            "failed".into()
        };
        println!("  seed {}: {why}", r.seed);
        println!("    reproduce with: {prefix}{}", r.seed);
    }
    println!("  wrote {}", junit.display());
    Ok(if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn bench_ring_engines(nodes: u32, seconds: u64, engine: Option<&str>) -> Result<ExitCode> {
    match engine
        .map(EngineKind::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!(e))?
    {
        Some(EngineKind::Des) => bench_ring(nodes, seconds),
        Some(EngineKind::Turmoil) => bench_ring_turmoil(nodes, seconds),
        None => {
            // Both, side by side: turmoil first, so the last line is the `des` ratio as
            // without the flag before.
            bench_ring_turmoil(nodes, seconds)?;
            bench_ring(nodes, seconds)
        }
    }
}

fn bench_ring_turmoil(nodes: u32, seconds: u64) -> Result<ExitCode> {
    let options = stegosim_sim::bench::RingOptions {
        nodes,
        duration_ns: seconds * 1_000_000_000,
        ..Default::default()
    };
    let started = wall_now();
    let report = stegosim_sim::bench::turmoil::ring(&options).map_err(|e| anyhow::anyhow!(e))?;
    let wall = started.elapsed();
    let ratio = report.simulated_ns as f64 / wall.as_nanos().max(1) as f64;
    println!(
        "ring (turmoil, 1 ms tick): {nodes} nodes, {seconds} simulated s, {} host steps, {} messages, {} bytes in {:.3?} wall",
        report.events, report.messages, report.bytes, wall
    );
    println!("{ratio:.1}x");
    Ok(ExitCode::SUCCESS)
}

fn bench_ring(nodes: u32, seconds: u64) -> Result<ExitCode> {
    if nodes < 2 {
        bail!("a ring needs at least 2 nodes");
    }
    let options = stegosim_sim::bench::RingOptions {
        nodes,
        duration_ns: seconds * 1_000_000_000,
        ..Default::default()
    };
    let started = wall_now();
    let report = stegosim_sim::bench::ring(&options);
    let wall = started.elapsed();
    let ratio = report.simulated_ns as f64 / wall.as_nanos().max(1) as f64;
    println!(
        "ring: {nodes} nodes, {seconds} simulated s, {} events, {} messages, {} bytes in {:.3?} wall ({:.0} events/s)",
        report.events,
        report.messages,
        report.bytes,
        wall,
        report.events as f64 / wall.as_secs_f64().max(1e-9)
    );
    println!("{ratio:.1}x");
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `stegosim shrink`.
#[derive(Debug, clap::Args)]
pub struct ShrinkArgs {
    /// The scenario file of the failing run.
    file: PathBuf,
    /// The failing seed.
    #[arg(long)]
    seed: u64,
    /// Engine: `des`.
    #[arg(long, default_value = "des")]
    engine: String,
    /// Most runs to spend searching.
    #[arg(long, default_value_t = 200)]
    runs_max: u32,
}

fn shrink_inner(args: ShrinkArgs) -> Result<ExitCode> {
    let engine = EngineKind::parse(&args.engine).map_err(|e| anyhow::anyhow!(e))?;
    let (scenario, label) = load_scenario(Some(&args.file))?;
    eprintln!(
        "shrinking {} at seed {} (at most {} runs)...",
        scenario.name, args.seed, args.runs_max
    );
    let Some(s) = stegosim_sim::shrink::shrink(&scenario, args.seed, engine, args.runs_max)
        .map_err(|e| anyhow::anyhow!(e))?
    else {
        println!("{label} passes at seed {}: nothing to shrink", args.seed);
        return Ok(ExitCode::SUCCESS);
    };
    let f = s
        .outcome
        .first_failure
        .as_ref()
        .expect("a shrunk run fails");
    println!(
        "smallest failing variant found in {} runs: still fails with {} {:?}",
        s.runs, f.kind, f.name
    );
    println!("  {}", f.detail);
    if s.removed.is_empty() {
        println!("nothing could be removed: every step, workload and second is needed");
    } else {
        println!("removed, and it still fails the same way:");
        for r in &s.removed {
            println!("  - {r}");
        }
    }
    let kept: Vec<String> = s
        .scenario
        .steps
        .iter()
        .map(|st| format!("`{}` (line {})", st.value.action(), st.line))
        .collect();
    println!(
        "what is left: {} nodes ({} validators), {:.1}s, steps: {}, workloads: {}, swarm: {}",
        s.scenario.nodes,
        s.scenario.validators,
        s.scenario.duration_ns as f64 / 1e9,
        if kept.is_empty() {
            "none".to_string()
        } else {
            kept.join(", ")
        },
        s.scenario.workloads.len(),
        if s.scenario.swarm.is_some() {
            "on"
        } else {
            "off"
        },
    );
    println!(
        "edit {label} accordingly, then: stegosim run {label} --seed {}",
        args.seed
    );
    Ok(ExitCode::from(1))
}

/// Runs `stegosim shrink`.
pub fn shrink(args: ShrinkArgs) -> Result<ExitCode> {
    exit_2(shrink_inner(args))
}

/// Errors of the simulator's commands (a bad file, bad arguments) exit with code 2; a failed
/// check exits with 1 from inside the command.
fn exit_2(result: Result<ExitCode>) -> Result<ExitCode> {
    Ok(result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    }))
}

/// Runs `stegosim run`.
pub fn run(args: RunArgs) -> Result<ExitCode> {
    exit_2(run_inner(args))
}

/// Runs `stegosim sweep`.
pub fn sweep(args: SweepArgs) -> Result<ExitCode> {
    exit_2(sweep_inner(args))
}

/// Runs `stegosim bench`.
pub fn bench(bench: Bench) -> Result<ExitCode> {
    match bench {
        Bench::Ring {
            nodes,
            seconds,
            engine,
        } => exit_2(bench_ring_engines(nodes, seconds, engine.as_deref())),
    }
}
