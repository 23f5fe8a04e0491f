//! Every workload model against a real node on loopback: the achieved rate is within 2% of
//! the target at a modest rate, every request gets a good answer, and the results say so.

mod common;

use common::{Node, off_by};
use stegosim_loadgen::config::{RunConfig, StageConfig};
use stegosim_loadgen::results::Results;
use stegosim_loadgen::run::{RunOptions, run};

fn stage(d: &str, target: f64) -> StageConfig {
    StageConfig {
        duration: d.into(),
        target,
    }
}

/// Runs `cfg` and checks what every model must hold. A start may be late by up to 50 ms
/// (CI machines are shared) before the schedule's end closes it.
async fn check(cfg: RunConfig) -> Results {
    let cfg = RunConfig {
        behind_tolerance: Some("50ms".into()),
        ..cfg
    };
    let r = run(&cfg, RunOptions::default()).await.unwrap();
    let s = &r.summary;
    let target = s.target_rate.expect("these runs have a target rate");
    assert!(
        off_by(s.achieved_rate, target) <= 0.02,
        "{}: achieved {} of {target}",
        r.sources[0].model,
        s.achieved_rate
    );
    assert_eq!(s.errors, 0, "{:?}", s.errors_by_code);
    assert_eq!(s.completed, s.started);
    let scheduled = s.scheduled.expect("a schedule");
    assert!(
        s.not_started.unwrap() * 100 <= scheduled,
        "{:?} of {scheduled} not started",
        s.not_started
    );
    assert_eq!(s.requests["all"].latency.count, s.completed);
    assert!(s.requests["all"].latency.p50_ns > 0);
    // Every second of the schedule is in the series.
    assert!(r.series.len() >= 2, "{}", r.series.len());
    assert_eq!(r.series.iter().map(|p| p.started).sum::<u64>(), s.started);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_arrival_rate() {
    let node = Node::start(&[]).await;
    let cfg = RunConfig {
        model: Some("constant-arrival-rate".into()),
        rate: Some(200.0),
        duration: Some("2s".into()),
        ..node.config(&["status_info", "chain_name*3", r#"{"type":"election_info"}"#])
    };
    let r = check(cfg).await;
    assert_eq!(r.summary.scheduled, Some(400));
    assert_eq!(r.summary.target_rate, Some(200.0));
    assert_eq!(r.summary.requests.len(), 4, "three requests and all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramping_arrival_rate() {
    let node = Node::start(&[]).await;
    let cfg = RunConfig {
        model: Some("ramping-arrival-rate".into()),
        start_rate: Some(100.0),
        stages: vec![stage("1s", 300.0), stage("1s", 300.0)],
        ..node.config(&["chain_name"])
    };
    let r = check(cfg).await;
    // 100 -> 300 over 1 s (200), then 300 for 1 s.
    assert_eq!(r.summary.scheduled, Some(500));
    assert!(r.series[1].started > r.series[0].started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_vus_paced() {
    let node = Node::start(&[]).await;
    let cfg = RunConfig {
        model: Some("constant-vus".into()),
        vus: Some(10),
        pacing: Some("50ms".into()),
        duration: Some("2s".into()),
        ..node.config(&["status_info"])
    };
    let r = check(cfg).await;
    assert_eq!(r.summary.scheduled, Some(400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramping_vus_paced() {
    let node = Node::start(&[]).await;
    let cfg = RunConfig {
        model: Some("ramping-vus".into()),
        start_vus: Some(0.0),
        stages: vec![stage("1s", 10.0), stage("1s", 10.0)],
        pacing: Some("50ms".into()),
        ..node.config(&["chain_name"])
    };
    let r = check(cfg).await;
    // VU i joins at (i + 1) / 10 s and then runs every 50 ms until 2 s.
    let want: u64 = (0..10)
        .map(|i| (2000 - (i + 1) * 100_u64).div_ceil(50))
        .sum();
    assert_eq!(r.summary.scheduled, Some(want));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_vu_iterations() {
    let node = Node::start(&[]).await;
    let cfg = RunConfig {
        model: Some("per-vu-iterations".into()),
        vus: Some(10),
        iterations: Some(40),
        pacing: Some("50ms".into()),
        ..node.config(&["chain_name"])
    };
    let r = check(cfg).await;
    assert!(r.summary.started >= 396, "{}", r.summary.started);
    // Unpaced: each VU runs its iterations back to back; no target, every one answered.
    let cfg = RunConfig {
        model: Some("per-vu-iterations".into()),
        vus: Some(4),
        iterations: Some(50),
        ..node.config(&["chain_name"])
    };
    let r = run(&cfg, RunOptions::default()).await.unwrap();
    assert_eq!(r.summary.target_rate, None);
    assert_eq!(r.summary.completed, 200);
    assert!(r.summary.achieved_rate > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaced_vus_measure_throughput() {
    let node = Node::start(&[]).await;
    let cfg = RunConfig {
        model: Some("constant-vus".into()),
        vus: Some(4),
        duration: Some("1s".into()),
        ..node.config(&["chain_name"])
    };
    let r = run(&cfg, RunOptions::default()).await.unwrap();
    let s = &r.summary;
    assert_eq!(s.target_rate, None);
    assert_eq!(s.scheduled, None);
    assert!(s.completed > 100, "{}", s.completed);
    assert_eq!(s.errors, 0);
    // Closed without pacing: the next iteration starts when the last ends, never late.
    assert_eq!(s.behind_schedule.waited_for_slot, 0);
}
