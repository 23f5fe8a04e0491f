//! `stegosim load`'s throughput and cost, side by side in one run (figures in
//! BENCHMARKS-load.md).
//!
//! 1. **echo**: a bare tokio-tungstenite echo, client and server in this process: the client
//!    keeps `CONNS` x `IN_FLIGHT` plain text messages in flight (no encryption, no parsing);
//!    the server returns each one. The ceiling of the WebSocket stack on this machine.
//! 2. **node**: the load generator (closed model, `CONNS` connections x `IN_FLIGHT` VUs,
//!    unpaced) against a one-node network in this process, `balance_info` of account "1" by
//!    default (STEGOSIM_BENCH_REQUEST=status_info for a node request): encrypted frames both
//!    ways, every answer parsed and measured. Then an open model at a fixed rate
//!    (STEGOSIM_BENCH_RATE, default half the echo figure) to check the generator sustains
//!    it on schedule.
//! 3. **generator CPU**: the load generator against an echo server in a child process that
//!    decrypts nothing (it returns each request frame as it came, which the generator reads
//!    as an answer); the CPU time of this process (user + system, every thread, from
//!    /proc/self/stat) over the requests answered.
//!
//! Run: `cargo bench -p stegosim-loadgen --bench load`
//! Environment: STEGOSIM_BENCH_SECONDS (default 5), STEGOSIM_BENCH_CONNS (default 8),
//! STEGOSIM_BENCH_IN_FLIGHT (default 64), STEGOSIM_BENCH_REQUEST, STEGOSIM_BENCH_RATE,
//! STEGOSIM_BENCH_CPU_RATES (open-model rates of phase 3, default 100000,300000),
//! STEGOSIM_BENCH_TIMER_RESOLUTION (default the generator's, 100us),
//! STEGOSIM_BENCH_PHASES (echo,node,cpu; cpu-open for phase 3's open runs only),
//! STEGOSIM_BENCH_WORKER_THREADS (the generator's tokio worker threads; default one per core).
//! Prints the ratios last.

#![allow(clippy::disallowed_methods)] // A benchmark measures wall time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use stegosim_api::frame::FrameCodec;
use stegosim_api::message::{Request, RequestKind};
use stegosim_api::token::ApiToken;
use stegosim_loadgen::config::RunConfig;
use stegosim_loadgen::mix::{PoolAccount, RequestSpec};
use stegosim_loadgen::results::Results;
use stegosim_loadgen::run::{RunOptions, run_with_pool};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The bare echo: plain text messages, `conns` x `in_flight` in flight, for `seconds`.
/// Returns round trips per second.
async fn bare_echo(addr: SocketAddr, conns: u64, in_flight: u64, seconds: u64) -> f64 {
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    // A message the size of an encrypted balance_info request frame.
    let text = "x".repeat(120);
    for _ in 0..conns {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}"))
            .await
            .unwrap();
        let (mut tx, mut rx) = ws.split();
        let permits = Arc::new(Semaphore::new(in_flight as usize));
        let (done_w, count_r, permits_r) = (done.clone(), count.clone(), permits.clone());
        let msg = Message::text(text.clone());
        tasks.push(tokio::spawn(async move {
            while !done_w.load(Ordering::Relaxed) {
                let Ok(p) = permits.acquire().await else {
                    break;
                };
                p.forget();
                if tx.feed(msg.clone()).await.is_err() {
                    break;
                }
                // Everything else there is room for goes out in the same flush.
                while let Ok(p) = permits.try_acquire() {
                    p.forget();
                    if tx.feed(msg.clone()).await.is_err() {
                        return;
                    }
                }
                if tx.flush().await.is_err() {
                    break;
                }
            }
        }));
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(m)) = rx.next().await {
                if m.is_text() {
                    count_r.fetch_add(1, Ordering::Relaxed);
                    permits_r.add_permits(1);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let from = count.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let rate = (count.load(Ordering::Relaxed) - from) as f64 / t0.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    for t in tasks {
        t.abort();
    }
    rate
}

/// The echo client of `node/benches/api_server.rs`: `conns` x `in_flight` requests in
/// flight, each a freshly encrypted frame, each echo decrypted and parsed. Returns round
/// trips per second.
async fn crypto_echo(
    addr: SocketAddr,
    token: &ApiToken,
    conns: u64,
    in_flight: u64,
    seconds: u64,
) -> f64 {
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let request = Request {
        id: 1,
        account_id: Some("1".into()),
        kind: RequestKind::BalanceInfo,
    };
    for c in 0..conns {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}"))
            .await
            .unwrap();
        let (mut tx, mut rx) = ws.split();
        let codec = FrameCodec::new(token);
        let permits = Arc::new(Semaphore::new(in_flight as usize));
        let (done_w, count_r, permits_r) = (done.clone(), count.clone(), permits.clone());
        let req = request.clone();
        let codec_r = codec.clone();
        tasks.push(tokio::spawn(async move {
            let (mut json, mut text) = (Vec::new(), String::new());
            let mut n: u128 = (c as u128) << 96;
            while !done_w.load(Ordering::Relaxed) {
                let Ok(p) = permits.acquire().await else {
                    break;
                };
                p.forget();
                n += 1;
                text.clear();
                codec.encode_request(&req, n.to_be_bytes(), &mut json, &mut text);
                if tx.send(Message::text(text.clone())).await.is_err() {
                    break;
                }
            }
        }));
        tasks.push(tokio::spawn(async move {
            let mut plain = Vec::new();
            while let Some(Ok(m)) = rx.next().await {
                if let Message::Text(t) = m {
                    plain.clear();
                    let ok = codec_r.decode_into(t.as_bytes(), &mut plain).is_ok()
                        && Request::from_json(&plain).is_ok();
                    assert!(ok, "an echo that does not decode");
                    count_r.fetch_add(1, Ordering::Relaxed);
                    permits_r.add_permits(1);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let from = count.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let rate = (count.load(Ordering::Relaxed) - from) as f64 / t0.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    for t in tasks {
        t.abort();
    }
    rate
}

/// CPU time of this process (every thread, user + system), from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after ')'.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    Duration::from_millis(ticks * 10)
}

fn config(url: &str, token_file: &std::path::Path, request: &str) -> RunConfig {
    let mut spec = RequestSpec::of_type(request);
    if request == "balance_info" {
        spec.fields
            .insert("account_id".into(), serde_json::Value::from("1"));
    }
    RunConfig {
        endpoint: Some(url.to_string()),
        token_file: Some(token_file.to_path_buf()),
        requests: vec![spec],
        timer_resolution: std::env::var("STEGOSIM_BENCH_TIMER_RESOLUTION").ok(),
        timeout: Some("30s".into()),
        graceful_stop: Some("10s".into()),
        ..Default::default()
    }
}

/// A closed, unpaced run: `conns` connections with `in_flight` VUs each, for `seconds`.
fn closed(cfg: &RunConfig, conns: u64, in_flight: u64, seconds: u64) -> RunConfig {
    RunConfig {
        model: Some("constant-vus".into()),
        vus: Some(conns * in_flight),
        connections: Some(conns as u32),
        in_flight: Some(in_flight as u32),
        duration: Some(format!("{seconds}s")),
        ..cfg.clone()
    }
}

/// Answers (good or error) per second over the scheduled duration.
fn answered_rate(r: &Results) -> f64 {
    let s = &r.summary;
    if s.started == 0 {
        return 0.0;
    }
    s.achieved_rate * (s.completed + s.errors) as f64 / s.started as f64
}

fn describe(label: &str, r: &Results) {
    let s = &r.summary;
    let all = &s.requests["all"];
    println!(
        "{label}: {:.0} answers/s ({:.0} started/s, {} good, {} errors {:?}), latency p50 {} p99 {}, service p50 {} p99 {}, behind {} (worst {}), not started {:?}",
        answered_rate(r),
        s.achieved_rate,
        s.completed,
        s.errors,
        s.errors_by_code,
        stegosim_formats::duration::format_approx(all.latency.p50_ns as f64),
        stegosim_formats::duration::format_approx(all.latency.p99_ns as f64),
        stegosim_formats::duration::format_approx(all.service_time.p50_ns as f64),
        stegosim_formats::duration::format_approx(all.service_time.p99_ns as f64),
        s.behind_schedule.count,
        stegosim_formats::duration::format_approx(s.behind_schedule.worst_ns as f64),
        s.not_started,
    );
}

/// Starts a one-node network in this runtime; returns its URL, token file and stop sender.
async fn start_node(
    dir: &std::path::Path,
) -> (String, std::path::PathBuf, tokio::sync::oneshot::Sender<()>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let cfg = stegosim_server::devnet::DevnetConfig {
        chain: stegosim_node::config::ChainConfig {
            genesis_validators: 1,
            ..stegosim_node::config::ChainConfig::dev()
        },
        data_dir: dir.to_path_buf(),
        api_endpoint: "127.0.0.1:0".parse().unwrap(),
        api_endpoint_all: false,
        validators: 1,
        limits: Default::default(),
        access_file: None,
        genesis_password: "dev".into(),
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(stegosim_server::devnet::run(
        cfg,
        move |s| {
            let _ = tx.send(s.api_endpoints[0]);
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    let addr = rx.await.unwrap();
    (format!("ws://{addr}"), dir.join("api.token"), stop_tx)
}

/// An echo server in a child process (so its CPU is not the generator's): this binary with
/// `--echo-server PORT [batching]`. Killed on drop.
struct EchoChild {
    child: std::process::Child,
    url: String,
}

impl EchoChild {
    async fn start(batching: bool) -> EchoChild {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut args = vec!["--echo-server".to_string(), port.to_string()];
        if batching {
            args.push("batching".into());
        }
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(&args)
            .spawn()
            .unwrap();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        EchoChild {
            child,
            url: format!("ws://127.0.0.1:{port}"),
        }
    }
}

impl Drop for EchoChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cfg` and returns its results and this process's CPU time per answered request, in µs.
async fn measure_cpu(label: &str, cfg: &RunConfig) -> f64 {
    let pool: [PoolAccount; 0] = [];
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    let r = run_with_pool(cfg, &pool, RunOptions { progress: false })
        .await
        .unwrap();
    let cpu = cpu_time() - cpu0;
    let wall = t0.elapsed();
    describe(label, &r);
    let answered = r.summary.completed + r.summary.errors;
    let per = cpu.as_secs_f64() * 1e6 / answered as f64;
    println!(
        "  generator CPU: {:.2} s over {:.2} s wall for {answered} requests: {per:.2} µs per request ({:.2} cores)",
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        cpu.as_secs_f64() / wall.as_secs_f64()
    );
    per
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // The child: an echo server on the given port until killed.
    if let Some(i) = args.iter().position(|a| a == "--echo-server") {
        let port: u16 = args[i + 1].parse().unwrap();
        let batching = args.iter().any(|a| a == "batching");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
            if batching {
                stegosim_server::echo::serve_batching(l).await;
            } else {
                stegosim_server::echo::serve(l).await;
            }
        });
        return;
    }
    // `cargo test --benches` runs bench binaries with `--test`-like arguments; keep that quick.
    if args.iter().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let seconds = env("STEGOSIM_BENCH_SECONDS", 5);
    let conns = env("STEGOSIM_BENCH_CONNS", 8);
    let in_flight = env("STEGOSIM_BENCH_IN_FLIGHT", 64);
    let request = std::env::var("STEGOSIM_BENCH_REQUEST").unwrap_or_else(|_| "balance_info".into());
    // Which phases to run (to profile one): echo, node, cpu (cpu-open: its open model only).
    let phases = std::env::var("STEGOSIM_BENCH_PHASES").unwrap_or_else(|_| "echo,node,cpu".into());
    let phase = move |p: &str| phases.split(',').any(|x| x == p);
    // Open-model rates of the CPU phase.
    let cpu_rates: Vec<f64> = std::env::var("STEGOSIM_BENCH_CPU_RATES")
        .unwrap_or_else(|_| "100000,300000".into())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect();
    // The generator's runtime threads (default: tokio's, one per core).
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Ok(n) = std::env::var("STEGOSIM_BENCH_WORKER_THREADS") {
        builder.worker_threads(
            n.parse()
                .expect("STEGOSIM_BENCH_WORKER_THREADS is a number"),
        );
    }
    let rt = builder.enable_all().build().unwrap();
    rt.block_on(async move {
        let mut echo = 0f64;
        let mut tuned = 0f64;
        if phase("echo") {
            // The echo of node/benches/api_server.rs (the figure to compare with), and a tuned
            // echo of plain messages (the stack's ceiling, for reference).
            let token = ApiToken::from_bytes([7; 16]);
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let echo_addr = l.local_addr().unwrap();
            let server = tokio::spawn(stegosim_server::echo::serve(l));
            for f in [in_flight, in_flight * 4, in_flight * 16] {
                let r = crypto_echo(echo_addr, &token, conns, f, seconds).await;
                println!("echo (api_server's): {conns} connections x {f} in flight: {r:.0} round trips/s");
                echo = echo.max(r);
            }
            server.abort();
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let tuned_addr = l.local_addr().unwrap();
            let server = tokio::spawn(stegosim_server::echo::serve_batching(l));
            tuned = bare_echo(tuned_addr, conns, in_flight * 4, seconds).await;
            println!(
                "tuned echo (batched flushes, plain text, no crypto): {conns} x {} in flight: {tuned:.0} round trips/s",
                in_flight * 4
            );
            server.abort();
        }

        let dir = tempfile::tempdir().unwrap();
        let pool: [PoolAccount; 0] = [];
        let options = RunOptions { progress: false };
        let mut node = 0f64;
        let rate = env("STEGOSIM_BENCH_RATE", (echo / 2.0).max(1000.0) as u64) as f64;
        let mut sustained = None;
        if phase("node") {
            let (url, token_file, stop) = start_node(dir.path()).await;
            let node_cfg = config(&url, &token_file, &request);
            for f in [in_flight, in_flight * 4] {
                let r = run_with_pool(&closed(&node_cfg, conns, f, seconds), &pool, options)
                    .await
                    .unwrap();
                describe(&format!("stegosim load -> node, {request}, closed {conns}x{f}"), &r);
                node = node.max(answered_rate(&r));
            }
            let open = RunConfig {
                model: Some("constant-arrival-rate".into()),
                rate: Some(rate),
                duration: Some(format!("{seconds}s")),
                connections: Some(conns as u32),
                in_flight: Some((in_flight * 16) as u32),
                ..node_cfg.clone()
            };
            let r = run_with_pool(&open, &pool, options).await.unwrap();
            describe(&format!("stegosim load -> node, {request}, open {rate:.0}/s"), &r);
            sustained = Some((
                r.summary.not_started == Some(0),
                r.summary.behind_schedule.generator,
            ));
            let _ = stop.send(());
        }

        let mut cpu = Vec::new();
        if phase("cpu") || phase("cpu-open") {
            // The generator's CPU against echo servers that decrypt nothing, in a child process:
            // closed (as fast as it goes) and open at a fixed rate, against the echo that
            // flushes every message and the one that batches.
            let token_file = dir.path().join("echo.token");
            std::fs::write(&token_file, ApiToken::from_bytes([9; 16]).to_base64()).unwrap();
            for batching in [false, true] {
                let server = EchoChild::start(batching).await;
                let which = if batching { "batching echo" } else { "echo flushing each message" };
                let cfg = config(&server.url, &token_file, &request);
                if phase("cpu") {
                let per = measure_cpu(
                    &format!("stegosim load -> {which}, closed {conns}x{in_flight}"),
                    &closed(&cfg, conns, in_flight, seconds),
                )
                .await;
                cpu.push((format!("{which}, closed {conns}x{in_flight}"), per));
                }
                for open_rate in &cpu_rates {
                    let open = RunConfig {
                        model: Some("constant-arrival-rate".into()),
                        rate: Some(*open_rate),
                        duration: Some(format!("{seconds}s")),
                        connections: Some(conns as u32),
                        in_flight: Some((in_flight * 16) as u32),
                        ..cfg.clone()
                    };
                    let label = format!("{which}, open {open_rate:.0}/s");
                    let per = measure_cpu(&format!("stegosim load -> {label}"), &open).await;
                    cpu.push((label, per));
                }
            }
        }

        println!();
        if phase("echo") {
            println!("echo: {echo:.0} round trips/s (tuned echo {tuned:.0})");
        }
        if phase("node") {
            println!("node: {node:.0} answers/s");
            if let Some((ok, late)) = sustained {
                println!(
                    "open model at {rate:.0}/s against the node: {} ({late} starts late with a slot free)",
                    if ok { "every scheduled request started" } else { "NOT sustained" }
                );
            }
        }
        for (what, per) in &cpu {
            println!("generator CPU per request, {what}: {per:.2} µs (target <= 2)");
        }
        if phase("echo") && phase("node") {
            println!("ratio node/echo: {:.2} (target >= 0.50)", node / echo);
        }
    });
}
