//! `stegosim load`: load against a node's API, and `stegosim load merge` of results files.
//!
//! The work is done by `stegosim-loadgen`; this file maps flags onto its configuration
//! (a flag replaces the profile's value), prints, and chooses the exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use stegosim_formats::plan::Model;
use stegosim_formats::results::{Results, merge};
use stegosim_formats::threshold::Threshold;
use stegosim_loadgen::config::{RunConfig, parse_duration, parse_stage};
use stegosim_loadgen::mix::RequestSpec;
use stegosim_loadgen::run::{RunError, RunOptions, run};

/// Exit code: a threshold failed (k6's convention).
pub const EXIT_THRESHOLD_FAILED: u8 = 99;
/// Exit code: the run (or merge) could not be done.
pub const EXIT_RUN_FAILED: u8 = 1;
/// Exit code: the configuration (profile, flags' values, mix, thresholds) is invalid.
pub const EXIT_INVALID_CONFIG: u8 = 3;

const AFTER_HELP: &str = "\
Models (k6's names): constant-arrival-rate (--rate, --duration), ramping-arrival-rate
(--start-rate, --stage), constant-vus (--vus, --duration), ramping-vus (--start-vus, --stage),
per-vu-iterations (--vus, --iterations). Open models start requests on schedule whether or not
earlier ones finished; closed models (VUs) start one when the previous finished, or every
--pacing. Latency is measured from the *scheduled* start (no coordinated omission); the service
time (from sending) is reported too. Starts that could not happen on schedule are reported live
and in the results, never dropped.

Requests (--request, repeatable): TYPE, TYPE*WEIGHT, or a JSON object such as
'{\"type\":\"payment\",\"recipient\":\"{recipient}\",\"amount\":10,\"payment_fee\":1000,\"weight\":2}'.
Placeholders: {account} (a pool account's id), {address} (its address), {recipient} (another
pool account's address). Wallet requests get \"account_id\":\"{account}\" unless they name one.

Thresholds (--threshold, repeatable, also `thresholds = [...]` in the profile):
  <request or all>.<p50|p90|p99|p99.9|max|mean><op><number><ns|us|ms|s>   e.g. 'balance_info.p99<5ms'
  errors<op><number>%   or   <request>.errors<op><number>%               e.g. 'errors<0.1%'
  op: <  <=  >  >=      request: a request type (or the name the mix gives it), `all`, or a
  followed stage such as payment.accepted, payment.prepared, payment.committed,
  secure_payment.succeeded. Latency thresholds use the latency from the scheduled start.

Exit codes: 0 done and every threshold held; 99 a threshold failed; 1 the run could not be
done (node unreachable, bad token, setup failed, results not written); 2 bad command-line
usage; 3 invalid configuration (profile, values, mix, threshold grammar, --sim scenario file),
found before any load.

Simulated runs (--sim SCENARIO instead of --endpoint/--token-file): the same profile against
the scenario's simulated nodes (node --sim-node, default 0) over encrypted frames with the
scenario's link latency, in virtual time; the same --seed gives byte-identical results.

Results (--out FILE): JSON, documented in loadgen/README.md; `stegosim load merge` adds
results of several generators exactly (HDR histograms) and evaluates thresholds again.";

/// Arguments of `stegosim load`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, after_long_help = AFTER_HELP)]
pub struct LoadArgs {
    #[command(subcommand)]
    action: Option<LoadAction>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum LoadAction {
    /// Merge results files of several load generators into one (exactly: HDR histograms are
    /// added) and evaluate thresholds again.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Results files (`stegosim load --out`).
    #[arg(required = true, value_name = "RESULTS")]
    inputs: Vec<PathBuf>,
    /// Where to write the merged results.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// More thresholds to evaluate (besides those of the first input's configuration).
    #[arg(long = "threshold", value_name = "EXPR")]
    thresholds: Vec<String>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The node's API, e.g. ws://127.0.0.1:3144.
    #[arg(long, env = "STEGOSIM_ENDPOINT", value_name = "URL")]
    endpoint: Option<String>,
    /// Run inside the simulator instead: against the simulated network of this scenario
    /// file (its nodes, chain and link latency), in virtual time, deterministic for --seed.
    #[arg(long, value_name = "SCENARIO", conflicts_with_all = ["endpoint", "token_file"])]
    sim: Option<PathBuf>,
    /// With --sim: the node the connections go to (default 0, whose wallet holds the funded
    /// account "1").
    #[arg(long, value_name = "N", requires = "sim")]
    sim_node: Option<u32>,
    /// The API token (the node's api.token) or an access key file.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// A profile (TOML): model, stages, mix, setup, thresholds; flags override its values.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// The workload model.
    #[arg(long, value_parser = Model::ALL.map(|m| m.name()))]
    model: Option<String>,
    /// Requests per second (constant-arrival-rate).
    #[arg(long, value_name = "PER_SECOND")]
    rate: Option<f64>,
    /// Starting rate of ramping-arrival-rate (default 0).
    #[arg(long, value_name = "PER_SECOND")]
    start_rate: Option<f64>,
    /// Starting VUs of ramping-vus (default 1).
    #[arg(long, value_name = "N")]
    start_vus: Option<f64>,
    /// A stage of a ramping model, DURATION:TARGET (repeatable; replaces the profile's).
    #[arg(long = "stage", value_name = "DURATION:TARGET", value_parser = parse_stage)]
    stages: Vec<stegosim_loadgen::config::StageConfig>,
    /// How long the constant models run (10s, 2m, 500ms).
    #[arg(long, value_name = "DURATION", value_parser = check_duration)]
    duration: Option<String>,
    /// Virtual users (closed models).
    #[arg(long, value_name = "N")]
    vus: Option<u64>,
    /// Iterations per VU (per-vu-iterations).
    #[arg(long, value_name = "N")]
    iterations: Option<u64>,
    /// Closed models: each VU starts an iteration at most this often; gives the run a
    /// schedule and a target rate.
    #[arg(long, value_name = "DURATION", value_parser = check_duration)]
    pacing: Option<String>,
    /// WebSocket connections (default 4).
    #[arg(long, value_name = "N")]
    connections: Option<u32>,
    /// Requests in flight per connection, matched by id (default 128).
    #[arg(long, value_name = "N")]
    in_flight: Option<u32>,
    /// A request of the mix (repeatable; replaces the profile's mix): TYPE, TYPE*WEIGHT or a
    /// JSON object.
    #[arg(long = "request", value_name = "SPEC")]
    requests: Vec<String>,
    /// Setup: create N accounts for the pool.
    #[arg(long, value_name = "N")]
    accounts: Option<u32>,
    /// Setup: use this existing account (repeatable).
    #[arg(long = "account", value_name = "ID")]
    account_ids: Vec<String>,
    /// Setup: use every existing account of the node, unsealed with --password.
    #[arg(long)]
    existing_accounts: bool,
    /// Setup: password of created accounts and of existing ones to unseal.
    #[arg(long)]
    password: Option<String>,
    /// Setup: pay this many µSTG to each pool account first (from --fund-from).
    #[arg(long, value_name = "MICRO_STG")]
    fund_amount: Option<i64>,
    /// Setup: the account that funds the pool (default 1, the dev chain's funded account).
    #[arg(long, value_name = "ID")]
    fund_from: Option<String>,
    /// Setup: the password that unseals --fund-from (default `dev` for account 1).
    #[arg(long)]
    fund_password: Option<String>,
    /// A request unanswered this long is a timeout (default 10s).
    #[arg(long, value_name = "DURATION", value_parser = check_duration)]
    timeout: Option<String>,
    /// After the schedule, wait this long for answers and followed transactions (default 5s).
    #[arg(long, value_name = "DURATION", value_parser = check_duration)]
    graceful_stop: Option<String>,
    /// A start later than this counts as behind schedule (default 5ms).
    #[arg(long, value_name = "DURATION", value_parser = check_duration)]
    behind_tolerance: Option<String>,
    /// Starts are timed to this resolution (default 100us): finer is more punctual, coarser
    /// costs less CPU at high rates.
    #[arg(long, value_name = "DURATION", value_parser = check_duration)]
    timer_resolution: Option<String>,
    /// Seed of the request mix's draws (default 1).
    #[arg(long)]
    seed: Option<u64>,
    /// A pass/fail criterion (repeatable; added to the profile's). Grammar below.
    #[arg(long = "threshold", value_name = "EXPR")]
    thresholds: Vec<String>,
    /// Write the results (JSON) here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Also write the report of the run at the end: DIR/report.html and DIR/report.md.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// No live progress line and no summary (errors and behind-schedule warnings still go to
    /// standard error).
    #[arg(long, short)]
    quiet: bool,
}

fn check_duration(s: &str) -> Result<String, String> {
    parse_duration(s).map(|_| s.to_string())
}

/// Runs `stegosim load`.
pub fn run_load(args: LoadArgs) -> Result<ExitCode> {
    match args.action {
        Some(LoadAction::Merge(m)) => run_merge(m),
        None => run_generator(args.run),
    }
}

fn invalid(e: impl std::fmt::Display) -> Result<ExitCode> {
    Ok(invalid_code(e))
}

/// Prints an invalid-configuration error and gives its exit code.
fn invalid_code(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(EXIT_INVALID_CONFIG)
}

fn config_of(a: &RunArgs) -> Result<RunConfig, String> {
    let mut cfg = match &a.profile {
        Some(p) => RunConfig::from_profile(p).map_err(|e| e.to_string())?,
        None => RunConfig::default(),
    };
    macro_rules! set {
        ($($field:ident),*) => { $( if let Some(v) = &a.$field { cfg.$field = Some(v.clone()); } )* };
    }
    set!(
        endpoint,
        token_file,
        model,
        rate,
        start_rate,
        start_vus,
        duration,
        vus,
        iterations,
        pacing,
        connections,
        in_flight,
        timeout,
        graceful_stop,
        behind_tolerance,
        timer_resolution,
        seed
    );
    if !a.stages.is_empty() {
        cfg.stages = a.stages.clone();
    }
    if !a.requests.is_empty() {
        cfg.requests = a
            .requests
            .iter()
            .map(|r| RequestSpec::parse_cli(r))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
    }
    cfg.thresholds.extend(a.thresholds.iter().cloned());
    if let Some(n) = a.accounts {
        cfg.setup.accounts = n;
    }
    if !a.account_ids.is_empty() {
        cfg.setup.account_ids = a.account_ids.clone();
    }
    if a.existing_accounts {
        cfg.setup.existing = true;
    }
    if let Some(p) = &a.password {
        cfg.setup.password = Some(p.clone());
    }
    if let Some(f) = a.fund_amount {
        cfg.setup.fund_amount = f;
    }
    if let Some(f) = &a.fund_from {
        cfg.setup.fund_from = Some(f.clone());
    }
    if let Some(p) = &a.fund_password {
        cfg.setup.fund_password = Some(p.clone());
    }
    Ok(cfg)
}

fn run_generator(a: RunArgs) -> Result<ExitCode> {
    let cfg = match config_of(&a) {
        Ok(c) => c,
        Err(e) => return invalid(e),
    };
    if let Err(e) = cfg.validate() {
        return invalid(e);
    }
    if let Some(file) = &a.sim {
        let results = match run_sim(&cfg, file, a.sim_node.unwrap_or(0), a.quiet) {
            Ok(r) => r,
            Err(code) => return Ok(code),
        };
        return finish_and_report(&results, &a);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let options = RunOptions { progress: !a.quiet };
    let results = match runtime.block_on(run(&cfg, options)) {
        Ok(r) => r,
        Err(RunError::Config(e)) => return invalid(e),
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_RUN_FAILED));
        }
    };
    finish_and_report(&results, &a)
}

/// Writes the results, then the report when asked; the exit code comes from the thresholds.
fn finish_and_report(results: &Results, a: &RunArgs) -> Result<ExitCode> {
    let code = finish(results, a.out.as_deref(), a.quiet)?;
    if let Some(dir) = &a.report {
        match stegosim_reports::write_load_report_dir(results, a.out.as_deref(), dir) {
            Ok((html, md)) if !a.quiet => {
                println!("report {} and {}", html.display(), md.display())
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("error: report: {e}");
                return Ok(ExitCode::from(EXIT_RUN_FAILED));
            }
        }
    }
    Ok(code)
}

/// `stegosim load --sim`: the run inside the simulator.
fn run_sim(
    cfg: &RunConfig,
    file: &std::path::Path,
    node: u32,
    quiet: bool,
) -> Result<Results, ExitCode> {
    use stegosim_sim::load::{SimLoadError, SimTarget, run_load};
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            return Err(invalid_code(format!(
                "--sim: cannot read scenario {}: {e}",
                file.display()
            )));
        }
    };
    let scenario = match stegosim_sim::scenario::load(&file.display().to_string(), &text) {
        Ok(s) => s,
        Err(e) => return Err(invalid_code(format!("--sim: {e}"))),
    };
    let target = SimTarget {
        scenario: &scenario,
        seed: cfg.seed.unwrap_or(scenario.default_seed),
        node,
    };
    let mut say = |m: String| {
        if !quiet {
            eprintln!("{m}");
        }
    };
    let results = match run_load(cfg, &target, &mut say) {
        Ok(r) => r,
        Err(SimLoadError::Config(e)) => return Err(invalid_code(e)),
        Err(e) => {
            eprintln!("error: {e}");
            return Err(ExitCode::from(EXIT_RUN_FAILED));
        }
    };
    Ok(results)
}

/// Writes and prints results, and picks the exit code from the thresholds.
fn finish(results: &Results, out: Option<&std::path::Path>, quiet: bool) -> Result<ExitCode> {
    if let Some(path) = out
        && let Err(e) = std::fs::write(path, results.to_json())
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return Ok(ExitCode::from(EXIT_RUN_FAILED));
    }
    if !quiet {
        print!("{}", stegosim_loadgen::text::render(results));
    }
    if results.summary.thresholds_ok {
        Ok(ExitCode::SUCCESS)
    } else {
        for t in results.thresholds.iter().filter(|t| !t.ok) {
            eprintln!("threshold failed: {} ({})", t.threshold, t.actual);
        }
        Ok(ExitCode::from(EXIT_THRESHOLD_FAILED))
    }
}

pub fn run_merge(m: MergeArgs) -> Result<ExitCode> {
    let thresholds = match m
        .thresholds
        .iter()
        .map(|t| Threshold::parse(t))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(t) => t,
        Err(e) => return invalid(e),
    };
    let mut inputs = Vec::new();
    for path in &m.inputs {
        let read = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| Results::from_json(&t).map_err(|e| e.to_string()));
        match read {
            Ok(r) => inputs.push(r),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return Ok(ExitCode::from(EXIT_RUN_FAILED));
            }
        }
    }
    let merged = match merge(&inputs, &thresholds) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: merge: {e}");
            return Ok(ExitCode::from(EXIT_RUN_FAILED));
        }
    };
    finish(&merged, m.out.as_deref(), m.quiet)
}
