//! The API server against a plain tokio-tungstenite echo server, side by side in one run.
//!
//! Both are driven by the same client: `CONNS` connections, each with `IN_FLIGHT` requests
//! in flight, every request a freshly encrypted frame and every reply decrypted and parsed,
//! for `SECONDS` each. The echo server returns each text frame as it came (no decryption, no
//! node); the node answers `REQUEST` (default `balance_info` of account "1"; set
//! STEGOSIM_BENCH_REQUEST=status_info to measure a node request) through its full path:
//! frame decode, key and group checks, the driver, the node, the response encode. While the
//! node is measured, `IDLE` further connections stay open to it.
//!
//! Run: `cargo bench -p stegosim-server --bench api_server`
//! Environment: STEGOSIM_BENCH_SECONDS (default 5), STEGOSIM_BENCH_CONNS (default 8),
//! STEGOSIM_BENCH_IN_FLIGHT (default 64), STEGOSIM_BENCH_IDLE (default 1000).
//! Prints messages per second of each and the ratio, last line `ratio: 0.62`.

#![allow(clippy::disallowed_methods)] // A benchmark measures wall time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use stegosim_api::frame::FrameCodec;
use stegosim_api::message::{Request, RequestKind, ServerMessage};
use stegosim_api::token::ApiToken;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn echo_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(stegosim_server::echo::serve(l));
    addr
}

/// Drives `url` for `seconds`; returns replies per second.
async fn drive(
    url: String,
    token: ApiToken,
    request: Request,
    conns: u64,
    in_flight: u64,
    seconds: u64,
    echo: bool,
) -> f64 {
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let start = Instant::now();
    for c in 0..conns {
        let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        let (mut tx, mut rx) = ws.split();
        let codec = FrameCodec::new(&token);
        let permits = Arc::new(Semaphore::new(in_flight as usize));
        let (done_w, done_r, count_r, permits_r) =
            (done.clone(), done.clone(), count.clone(), permits.clone());
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
            let _ = tx.close().await;
        }));
        tasks.push(tokio::spawn(async move {
            let mut plain = Vec::new();
            while let Some(Ok(m)) = rx.next().await {
                if let Message::Text(t) = m {
                    plain.clear();
                    let ok = codec_r.decode_into(t.as_bytes(), &mut plain).is_ok()
                        && if echo {
                            Request::from_json(&plain).is_ok()
                        } else {
                            ServerMessage::from_json(&plain).is_ok()
                        };
                    assert!(ok, "a reply that does not decode");
                    count_r.fetch_add(1, Ordering::Relaxed);
                    permits_r.add_permits(1);
                }
                if done_r.load(Ordering::Relaxed) {
                    break;
                }
            }
        }));
    }
    let warm = Duration::from_millis(500);
    tokio::time::sleep(warm).await;
    let from = count.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let replies = count.load(Ordering::Relaxed) - from;
    let rate = replies as f64 / t0.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    for t in tasks {
        t.abort();
    }
    let _ = start;
    rate
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench`-less args; keep that quick.
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let seconds = env("STEGOSIM_BENCH_SECONDS", 5);
    let conns = env("STEGOSIM_BENCH_CONNS", 8);
    let in_flight = env("STEGOSIM_BENCH_IN_FLIGHT", 64);
    let idle = env("STEGOSIM_BENCH_IDLE", 1000);
    let which = std::env::var("STEGOSIM_BENCH_REQUEST").unwrap_or_else(|_| "balance_info".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let cfg = stegosim_server::devnet::DevnetConfig {
            chain: stegosim_node::config::ChainConfig { genesis_validators: 1, ..stegosim_node::config::ChainConfig::dev() },
            data_dir: dir.path().to_path_buf(),
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
        let node_addr = rx.await.unwrap();
        let token = ApiToken::load(dir.path().join("api.token")).unwrap();
        let kind = match which.as_str() {
            "status_info" => RequestKind::StatusInfo,
            _ => RequestKind::BalanceInfo,
        };
        let account = if matches!(kind, RequestKind::BalanceInfo) { Some("1".to_string()) } else { None };
        let request = Request { id: 1, account_id: account, kind };
        let echo_addr = echo_server().await;

        let echo = drive(format!("ws://{echo_addr}"), token.clone(), request.clone(), conns, in_flight, seconds, true).await;
        // Hold `idle` connections open to the node while measuring it.
        let mut held = Vec::new();
        for _ in 0..idle {
            match tokio_tungstenite::connect_async(format!("ws://{node_addr}")).await {
                Ok((ws, _)) => held.push(ws),
                Err(e) => panic!("could not hold {idle} connections: {e}"),
            }
        }
        let node = drive(format!("ws://{node_addr}"), token, request, conns, in_flight, seconds, false).await;
        println!("request: {which}, {conns} connections x {in_flight} in flight, {seconds} s each, {} idle connections held", held.len());
        println!("echo: {echo:.0} msg/s");
        println!("node: {node:.0} msg/s");
        println!("ratio: {:.2}", node / echo);
        let _ = stop_tx.send(());
    });
}
