//! A run against a real node: setup, connections, one driver per connection, progress, and
//! the results.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stegosim_api::rng::Seed;
use stegosim_api::token::ApiToken;
use tokio::task::JoinSet;

use crate::clock::{Clock, WallClock, unix_time_ms};
use crate::config::{ConfigError, RunConfig, SetupConfig};
use crate::driver::{Live, drive, lock};
use crate::metrics::Recorder;
use crate::mix::{Mix, PoolAccount};
use crate::plan::{Model, NS_PER_S, Plan};
use crate::progress::Progress;
use crate::results::{BehindSchedule, Results, Source};
use crate::setup::{SetupError, prepare};
use crate::transport::WsConnection;
use crate::worker::{Worker, WorkerConfig};

/// Connections opened at once while connecting.
const CONNECTING_AT_ONCE_MAX: usize = 256;

/// tungstenite's read buffer per connection, in bytes. tungstenite zeroes the whole free
/// part of this buffer before every read attempt (even one that finds nothing to read), so
/// its default of 128 KiB costs microseconds per wake-up; 8 KiB still holds dozens of
/// answers per read (measured: BENCHMARKS-load.md).
pub const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Why a run could not be done.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration (profile, flags) does not make a run.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The token file.
    #[error("token: {0}")]
    Token(String),
    /// Setup failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The node could not be reached.
    #[error("cannot connect to {url}: {detail}")]
    Connect {
        /// Where.
        url: String,
        /// Why.
        detail: String,
    },
}

/// How a run reports while it runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Show the live progress line (only ever on a terminal).
    pub progress: bool,
}

/// What the mix needs from setup, found by rendering it with stand-in accounts.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// A pool account per request (`{account}`).
    pub sender: bool,
    /// A second pool account (`{recipient}`).
    pub recipient: bool,
    /// Addresses of pool accounts.
    pub addresses: bool,
}

/// What the mix of `specs` needs from setup.
pub fn needs(specs: &[crate::mix::RequestSpec]) -> Result<Needs, ConfigError> {
    let stand_in: Vec<PoolAccount> = (1..=2)
        .map(|i| PoolAccount {
            id: i.to_string(),
            address: Some(format!("dev1standin{i}")),
        })
        .collect();
    let mix = Mix::build(specs, &stand_in)?;
    Ok(Needs {
        sender: mix.uses_sender(),
        recipient: mix.uses_recipient(),
        addresses: mix.uses_addresses(),
    })
}

/// The setup a run does: the configured one, or (when none is configured and the mix needs
/// accounts) as many accounts as the mix needs; what is chosen is said through `say`.
pub fn setup_of(
    cfg: &RunConfig,
    say: &mut dyn FnMut(String),
) -> Result<(SetupConfig, Needs), ConfigError> {
    let needs = needs(&cfg.requests)?;
    let mut setup: SetupConfig = cfg.setup.clone();
    if setup.is_empty() && needs.sender {
        setup.accounts = if needs.recipient { 2 } else { 1 };
        say(format!(
            "setup: the mix needs accounts; creating {} (choose with --accounts N or --account ID)",
            setup.accounts
        ));
    }
    Ok((setup, needs))
}

/// Checks that every threshold names a request of the mix (or `all`).
pub fn check_thresholds(
    thresholds: &[crate::threshold::Threshold],
    mix: &Mix,
) -> Result<(), ConfigError> {
    for t in thresholds {
        if let Some(name) = t.metric() {
            let known = name == crate::results::ALL
                || mix.metric_names().iter().any(|m| m == name)
                || mix.metric_names().iter().any(|m| {
                    name.strip_prefix(m.as_str())
                        .is_some_and(|s| s.starts_with('.'))
                });
            if !known {
                return Err(ConfigError::Invalid(format!(
                    "threshold {t}: no request named {name:?} in the mix ({})",
                    mix.metric_names().join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// The endpoint and token of a configuration.
fn target(cfg: &RunConfig) -> Result<(String, ApiToken), RunError> {
    let url = cfg.endpoint.clone().ok_or_else(|| {
        ConfigError::Invalid(
            "no endpoint: pass --endpoint ws://HOST:PORT (or endpoint = ... in the profile)".into(),
        )
    })?;
    let token_file = cfg.token_file.clone().ok_or_else(|| {
        ConfigError::Invalid(
            "no token: pass --token-file FILE (the node's api.token or an access key)".into(),
        )
    })?;
    let token = ApiToken::load(&token_file).map_err(|e| RunError::Token(e.to_string()))?;
    Ok((url, token))
}

/// Runs `cfg` against a real node, setup first, and returns its results (thresholds
/// evaluated).
pub async fn run(cfg: &RunConfig, options: RunOptions) -> Result<Results, RunError> {
    cfg.validate()?;
    let (url, token) = target(cfg)?;
    let progress = Progress::new(options.progress);

    // Setup: the pool of accounts.
    let (setup, needs) = setup_of(cfg, &mut |m| progress.say(m))?;
    let pool = if setup.is_empty() {
        Vec::new()
    } else {
        let timeout = Duration::from_nanos(cfg.setup_timeout_ns()?);
        prepare(&url, &token, &setup, needs.addresses, timeout, &mut |m| {
            progress.say(m)
        })
        .await?
    };
    load(cfg, &url, &token, &pool, progress).await
}

/// Runs `cfg` against a real node with a pool of accounts prepared by the caller (no
/// setup requests).
pub async fn run_with_pool(
    cfg: &RunConfig,
    pool: &[PoolAccount],
    options: RunOptions,
) -> Result<Results, RunError> {
    cfg.validate()?;
    let (url, token) = target(cfg)?;
    load(cfg, &url, &token, pool, Progress::new(options.progress)).await
}

/// A WebSocket connection to the node, as the connector opens it.
type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What every connection's driver shares with the others and with the progress line.
struct Shared {
    /// The schedule.
    plan: Arc<Plan>,
    /// The request mix.
    mix: Arc<Mix>,
    /// The run's clock (its origin is the schedule's start).
    clock: Arc<dyn Clock>,
    /// Where every driver records its events.
    recorder: Arc<Mutex<Recorder>>,
    /// Requests in flight and drivers running, for the progress line.
    live: Arc<Live>,
}

/// The load itself, in phases: connect, start one driver per connection, watch them to the
/// end with the progress line, and the results.
async fn load(
    cfg: &RunConfig,
    url: &str,
    token: &ApiToken,
    pool: &[PoolAccount],
    mut progress: Progress,
) -> Result<Results, RunError> {
    let url = url.to_string();
    let plan = Arc::new(cfg.plan()?);
    let thresholds = cfg.thresholds()?;
    let mix = Arc::new(Mix::build(&cfg.requests, pool).map_err(ConfigError::from)?);
    check_thresholds(&thresholds, &mix)?;
    let connections = cfg.connections()?;
    let streams = connect_all(&url, connections).await?;

    // Go.
    let behind_tolerance_ns = cfg.behind_tolerance_ns()?;
    let recorder = Arc::new(Mutex::new(Recorder::new(
        mix.metric_names(),
        behind_tolerance_ns,
    )));
    let start_delay = Duration::from_millis(20);
    let origin = tokio::time::Instant::now() + start_delay;
    let clock: Arc<dyn Clock> = Arc::new(
        WallClock::starting_in(start_delay, cfg.timer_resolution_ns()?).map_err(|e| {
            RunError::Connect {
                url: url.clone(),
                detail: format!("cannot start the timer thread: {e}"),
            }
        })?,
    );
    let started_at_unix_ms = unix_time_ms() + 20;
    let shared = Shared {
        plan,
        mix,
        clock,
        recorder,
        live: Arc::new(Live::default()),
    };
    let drivers = spawn_drivers(
        cfg,
        streams,
        connections,
        token,
        &shared,
        behind_tolerance_ns,
    )?;
    progress.start(shared.plan.target_rate());
    watch(drivers, origin, &shared, &mut progress).await;
    let elapsed_ns = shared.clock.now_ns();
    progress.finish();

    let rec = lock(&shared.recorder).clone();
    let mut config = cfg.to_json();
    if let Some(obj) = config.as_object_mut() {
        obj.insert("endpoint".into(), serde_json::Value::String(url.clone()));
    }
    Ok(results_of(
        &shared.plan,
        &rec,
        &thresholds,
        config,
        url,
        started_at_unix_ms,
        elapsed_ns,
        behind_tolerance_ns,
    ))
}

/// Opens `connections` WebSocket connections to `url`, at most
/// [`CONNECTING_AT_ONCE_MAX`] at once; the first failure fails the run.
async fn connect_all(url: &str, connections: u32) -> Result<Vec<WsStream>, RunError> {
    let mut streams = Vec::with_capacity(connections as usize);
    let mut pending = JoinSet::new();
    let mut next = 0u32;
    while streams.len() < connections as usize {
        while next < connections && pending.len() < CONNECTING_AT_ONCE_MAX {
            let url = url.to_string();
            let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                .read_buffer_size(READ_BUFFER_BYTES);
            pending.spawn(async move {
                tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true).await
            });
            next += 1;
        }
        let detail = match pending.join_next().await {
            Some(Ok(Ok((ws, _)))) => {
                streams.push(ws);
                continue;
            }
            Some(Ok(Err(e))) => e.to_string(),
            Some(Err(e)) => e.to_string(),
            None => break,
        };
        return Err(RunError::Connect {
            url: url.to_string(),
            detail,
        });
    }
    Ok(streams)
}

/// Starts one driver per connection, each with its own worker (and seed stream).
fn spawn_drivers(
    cfg: &RunConfig,
    streams: Vec<WsStream>,
    connections: u32,
    token: &ApiToken,
    shared: &Shared,
    behind_tolerance_ns: u64,
) -> Result<JoinSet<()>, RunError> {
    let seed = Seed(cfg.seed.unwrap_or(crate::config::defaults::SEED));
    let in_flight_max = cfg.in_flight()?;
    let timeout_ns = cfg.timeout_ns()?;
    let graceful_stop_ns = cfg.graceful_stop_ns()?;
    let mut drivers = JoinSet::new();
    for (i, ws) in streams.into_iter().enumerate() {
        let worker = Worker::new(
            WorkerConfig {
                index: i as u32,
                count: connections,
                in_flight_max,
                timeout_ns,
                graceful_stop_ns,
                seed: seed.child("connection", i as u64),
                start_grace_ns: behind_tolerance_ns,
            },
            shared.plan.clone(),
            shared.mix.clone(),
        );
        let mut iv = [0u8; 16];
        // Without OS randomness the IVs are still unique per connection (the counter).
        #[allow(clippy::disallowed_methods)]
        // a real run's frame IVs (the simulator derives its own from the seed)
        let _ = getrandom::fill(&mut iv);
        iv[0] ^= i as u8;
        let conn = WsConnection::new(ws, token, iv, shared.clock.clone());
        drivers.spawn(drive(
            conn,
            worker,
            shared.clock.clone(),
            shared.recorder.clone(),
            shared.live.clone(),
        ));
    }
    Ok(drivers)
}

/// Waits for every driver to finish, ticking the progress line once a second from
/// `origin`; a driver's panic is the run's.
async fn watch(
    mut drivers: JoinSet<()>,
    origin: tokio::time::Instant,
    shared: &Shared,
    progress: &mut Progress,
) {
    let mut tick =
        tokio::time::interval_at(origin + Duration::from_secs(1), Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            done = drivers.join_next() => match done {
                None => break,
                Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Some(_) => {}
            },
            _ = tick.tick() => {
                let now = shared.clock.now_ns();
                let rec = lock(&shared.recorder);
                progress.tick(
                    now,
                    &rec,
                    shared.live.in_flight.load(Ordering::Relaxed),
                    shared.live.running.load(Ordering::Relaxed),
                );
            }
        }
    }
}

/// The results of a run: `rec` measured under `plan`, `elapsed_ns` after the origin, with
/// `config` (the configuration as JSON) written back, thresholds evaluated.
#[allow(clippy::too_many_arguments)] // Each is a separate fact of the run.
pub fn results_of(
    plan: &Plan,
    rec: &Recorder,
    thresholds: &[crate::threshold::Threshold],
    config: serde_json::Value,
    endpoint: String,
    started_at_unix_ms: u64,
    elapsed_ns: u64,
    behind_tolerance_ns: u64,
) -> Results {
    let scheduled_ns = scheduled_duration_ns(plan, elapsed_ns);
    let duration_s = (scheduled_ns as f64 / NS_PER_S as f64).max(1e-9);
    let source = Source {
        endpoint,
        started_at_unix_ms,
        model: plan.model().name().to_string(),
        scheduled_duration_s: scheduled_ns as f64 / NS_PER_S as f64,
        elapsed_s: elapsed_ns as f64 / NS_PER_S as f64,
        target_rate: plan.target_rate(),
        scheduled: plan.scheduled_count(),
        achieved_rate: rec.started_total() as f64 / duration_s,
        completed_rate: rec.completed_total() as f64 / duration_s,
        behind_schedule: BehindSchedule {
            count: rec.behind.count,
            worst_ns: rec.behind.worst_ns,
            waited_for_slot: rec.behind.waited_for_slot,
            generator: rec.behind.generator,
            tolerance_ns: behind_tolerance_ns,
        },
        unmatched: rec.unmatched,
        connections_lost: rec.connections_lost,
        lost_reasons: rec.lost_reasons.clone(),
    };
    let mut config = config;
    if let Some(obj) = config.as_object_mut() {
        // Which build ran: reports show it in their header.
        obj.insert("stegosim_version".into(), env!("CARGO_PKG_VERSION").into());
    }
    rec.measured(source).to_results(config, thresholds)
}

/// The duration rates are computed over: the schedule's, or for an unpaced
/// `per-vu-iterations` (whose end is when the last VU is done) the time the run took.
fn scheduled_duration_ns(plan: &Plan, elapsed_ns: u64) -> u64 {
    match plan {
        Plan::Closed {
            model: Model::PerVuIterations,
            pacing_ns: None,
            ..
        } => elapsed_ns.min(plan.end_ns()),
        _ => plan.end_ns(),
    }
}
