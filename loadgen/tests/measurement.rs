//! What the measurements mean: errors are counted by code and kept out of latency; a stall
//! shows in the latency from the schedule and not in the service time; followed transactions
//! get their notification latencies; results round-trip through JSON and merge exactly.

mod common;

use std::time::Duration;

use common::{Node, Script, fake_server};
use stegosim_api::token::ApiToken;
use stegosim_loadgen::config::RunConfig;
use stegosim_loadgen::mix::RequestSpec;
use stegosim_loadgen::results::{Results, decode_histogram, merge};
use stegosim_loadgen::run::{RunOptions, run};
use stegosim_loadgen::threshold::Threshold;

const MS: u64 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_and_forbidden_keys_are_counted_errors() {
    let node = Node::start(&[
        ("limited", &["node"], Some("50/1s")),
        ("nodeonly", &["node"], None),
    ])
    .await;
    // 200/s for 1 s against 50 per second (a full bucket of 50 to start): about half fail.
    let cfg = RunConfig {
        token_file: Some(node.key_file("limited")),
        rate: Some(200.0),
        duration: Some("1s".into()),
        ..node.config(&["chain_name"])
    };
    let r = run(&cfg, RunOptions::default()).await.unwrap();
    let s = &r.summary;
    let limited = s.errors_by_code.get("rate_limited").copied().unwrap_or(0);
    assert!(s.started >= 198, "{}", s.started);
    assert!((60..=140).contains(&limited), "{:?}", s.errors_by_code);
    assert_eq!(s.completed + limited, s.started);
    assert_eq!(r.counts["chain_name"].errors["rate_limited"], limited);
    // Errors are not latencies.
    assert_eq!(s.requests["chain_name"].latency.count, s.completed);
    assert!((s.error_rate - limited as f64 / s.started as f64).abs() < 1e-9);

    // A key without the debug group: every pop_micro_block is forbidden, the rest answered.
    let cfg = RunConfig {
        token_file: Some(node.key_file("nodeonly")),
        rate: Some(100.0),
        duration: Some("1s".into()),
        ..node.config(&["status_info", "pop_micro_block"])
    };
    let r = run(&cfg, RunOptions::default()).await.unwrap();
    let pop = &r.counts["pop_micro_block"];
    assert_eq!(pop.completed, 0);
    assert_eq!(pop.errors.get("forbidden"), Some(&pop.started));
    assert!(pop.started > 20, "{pop:?}");
    let status = &r.counts["status_info"];
    assert_eq!(status.completed, status.started);
    assert!(status.errors.is_empty(), "{status:?}");
    assert_eq!(r.summary.requests["pop_micro_block"].latency.count, 0);
    // A threshold on errors sees them.
    let failing = Threshold::parse("errors<1%").unwrap().evaluate(&r.summary);
    assert!(!failing.ok, "{failing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_latency_and_not_in_service_time() {
    let token = ApiToken::from_bytes([3; 16]);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("api.token");
    std::fs::write(&token_file, token.to_base64()).unwrap();
    // The server stalls 500 ms, 1 s after the first request.
    let addr = fake_server(
        token,
        Script {
            stall_after: Some(Duration::from_secs(1)),
            stall_for: Duration::from_millis(500),
            ..Default::default()
        },
    )
    .await;
    // One connection, one request in flight at a time (wrk2's setting): while the server
    // stalls, nothing else can be sent.
    let cfg = RunConfig {
        endpoint: Some(format!("ws://{addr}")),
        token_file: Some(token_file),
        rate: Some(200.0),
        duration: Some("3s".into()),
        connections: Some(1),
        in_flight: Some(1),
        requests: vec![RequestSpec::of_type("chain_name")],
        ..Default::default()
    };
    let r = run(&cfg, RunOptions::default()).await.unwrap();
    let s = &r.summary;
    assert!(
        s.started >= 594,
        "the backlog was started after the stall: {}",
        s.started
    );
    assert_eq!(s.errors, 0);
    let l = &s.requests["chain_name"].latency;
    let svc = &s.requests["chain_name"].service_time;
    // About 100 requests were due during the stall: all of them waited.
    assert!(l.p90_ns > 200 * MS, "latency {l:?}");
    assert!(l.max_ns >= 450 * MS, "latency {l:?}");
    // Only the one request in flight saw the stall in its service time.
    assert!(svc.p99_ns < 50 * MS, "service {svc:?}");
    assert!(svc.max_ns >= 450 * MS, "service {svc:?}");
    // And the generator says it fell behind because the slot was taken, not on its own.
    let b = &s.behind_schedule;
    assert!(b.count >= 80, "{b:?}");
    assert!(b.waited_for_slot >= b.count * 9 / 10, "{b:?}");
    assert!(b.worst_ns >= 450 * MS, "{b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_are_followed_to_commit_and_snowball_to_success() {
    let token = ApiToken::from_bytes([4; 16]);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("api.token");
    std::fs::write(&token_file, token.to_base64()).unwrap();
    let ms = Duration::from_millis;
    let addr = fake_server(
        token,
        Script {
            tx_delays: Some([ms(20), ms(60), ms(120)]),
            ..Default::default()
        },
    )
    .await;
    let payment =
        r#"{"type":"payment","recipient":"{recipient}","amount":10,"payment_fee":1000,"weight":3}"#;
    let secure =
        r#"{"type":"secure_payment","recipient":"{recipient}","amount":10,"payment_fee":1000}"#;
    let cfg = RunConfig {
        endpoint: Some(format!("ws://{addr}")),
        token_file: Some(token_file),
        rate: Some(100.0),
        duration: Some("1s".into()),
        connections: Some(2),
        requests: vec![
            RequestSpec::parse_cli(payment).unwrap(),
            RequestSpec::parse_cli(secure).unwrap(),
        ],
        thresholds: vec!["payment.committed.p99<1s".into()],
        ..Default::default()
    };
    // The fake server has no wallet to set up: the pool is given as it is.
    let pool = [
        stegosim_loadgen::mix::PoolAccount {
            id: "1".into(),
            address: Some("dev1a".into()),
        },
        stegosim_loadgen::mix::PoolAccount {
            id: "2".into(),
            address: Some("dev1b".into()),
        },
    ];
    let r = stegosim_loadgen::run::run_with_pool(&cfg, &pool, RunOptions::default())
        .await
        .unwrap();
    let s = &r.summary;
    assert_eq!(s.errors, 0, "{:?}", s.errors_by_code);
    let n = r.counts["payment"].completed;
    assert!(n > 50, "{n}");
    for (stage, at_least) in [("accepted", 20), ("prepared", 60), ("committed", 120)] {
        let p = &s.follow[&format!("payment.{stage}")];
        assert_eq!(p.count, n, "{stage}");
        assert!(
            p.p50_ns >= at_least * MS && p.p50_ns < (at_least + 40) * MS,
            "{stage}: {p:?}"
        );
    }
    let sp = &s.follow["secure_payment.succeeded"];
    assert_eq!(sp.count, r.counts["secure_payment"].completed);
    assert!(sp.p50_ns >= 20 * MS, "{sp:?}");
    assert!(s.thresholds_ok, "{:?}", r.thresholds);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_round_trip_and_merge_exactly() {
    let node = Node::start(&[]).await;
    let cfg = RunConfig {
        rate: Some(200.0),
        duration: Some("1s".into()),
        thresholds: vec!["all.p99<1s".into(), "errors<1%".into()],
        ..node.config(&["status_info", "chain_name"])
    };
    let (a, b) = tokio::join!(
        run(&cfg, RunOptions::default()),
        run(&cfg, RunOptions::default())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.summary.thresholds_ok && b.summary.thresholds_ok);

    // Round trip: the text reads back into the same results.
    let text = a.to_json();
    let back = Results::from_json(&text).unwrap();
    assert_eq!(back, a);

    // Merge: counts and rates add, histograms add bucket by bucket.
    let m = merge(
        &[a.clone(), b.clone()],
        &[Threshold::parse("all.max<1ns").unwrap()],
    )
    .unwrap();
    assert_eq!(m.summary.started, a.summary.started + b.summary.started);
    assert_eq!(
        m.summary.completed,
        a.summary.completed + b.summary.completed
    );
    assert!(
        (m.summary.achieved_rate - (a.summary.achieved_rate + b.summary.achieved_rate)).abs()
            < 1e-6
    );
    assert_eq!(m.summary.target_rate, Some(400.0));
    assert_eq!(m.sources.len(), 2);
    for name in ["status_info", "chain_name"] {
        let mut h = decode_histogram(name, &a.histograms.latency[name]).unwrap();
        h.add(decode_histogram(name, &b.histograms.latency[name]).unwrap())
            .unwrap();
        let merged = decode_histogram(name, &m.histograms.latency[name]).unwrap();
        assert_eq!(merged, h, "{name}");
        let p = &m.summary.requests[name].latency;
        assert_eq!(p.count, h.len());
        assert_eq!(p.p99_ns, h.value_at_quantile(0.99));
        assert_eq!(p.max_ns, h.max());
    }
    let secs: u64 = m.series.iter().map(|p| p.started).sum();
    assert_eq!(secs, m.summary.started);
    // Thresholds are evaluated again: the configured ones hold, the added one fails.
    assert_eq!(m.thresholds.len(), 3);
    assert!(
        m.thresholds[0].ok && m.thresholds[1].ok,
        "{:?}",
        m.thresholds
    );
    assert!(!m.thresholds[2].ok);
    assert!(!m.summary.thresholds_ok);
    // A merged file merges again (it is a results file like any other).
    let mm = merge(&[Results::from_json(&m.to_json()).unwrap(), a.clone()], &[]).unwrap();
    assert_eq!(mm.summary.started, m.summary.started + a.summary.started);
    assert_eq!(mm.sources.len(), 3);
}
