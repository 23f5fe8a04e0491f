//! Rounds per second of the Snowball participant machines (simulated, sans-IO, one thread):
//! every member's work plus the in-memory delivery, for 3, 20 and 100 members.
//!
//! `cargo run --release -p stegosim-node --example snowball_bench [sizes...]`

use std::time::Instant;

use stegosim_node::snowball::SnowballConfig;
use stegosim_node::snowball::sim::{Faults, run_round};

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![3, 20, 100]
    } else {
        sizes
    };
    let cfg = SnowballConfig {
        participants_max: 1_000,
        ..SnowballConfig::default()
    };
    println!("members  rounds  seconds  rounds/s  ms/round  messages/round");
    for n in sizes {
        let rounds = (2_000 / (n * n)).clamp(1, 200) as u64;
        #[allow(clippy::disallowed_methods)] // A benchmark measures wall time.
        let start = Instant::now();
        let mut messages = 0;
        for seed in 0..rounds {
            let o = run_round(n, seed, cfg, &Faults::default(), false);
            assert!(o.members.iter().all(|m| matches!(m.result, Some(Ok(_)))));
            messages = o.deliveries;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{n:7}  {rounds:6}  {secs:7.2}  {:8.2}  {:8.1}  {messages:14}",
            rounds as f64 / secs,
            secs * 1e3 / rounds as f64
        );
    }
}
