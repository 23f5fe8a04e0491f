//! What the wallet costs: payments created per second on one core, and the time to unseal an
//! account with the default and the simulation KDF parameters.
//!
//! A "payment created" is one `payment` request through `Node::handle_request` until its
//! reply: coin selection, two encrypted outputs (payment and change), the signature, the
//! mempool's validation (signature check included), the history record and the store sync
//! (in-memory store). In the criterion benchmark, blocks that make change spendable again are
//! produced between measurements, outside the timed part. Run with
//! `cargo bench -p stegosim-node --bench wallet -- --warm-up-time 1 --measurement-time 3`.
//!
//! On a busy machine wall time says little; a spin mode runs one operation a fixed number of
//! times and exits, for `perf stat -e task-clock <bench binary>`:
//! - `WALLET_BENCH_SPIN=payments:N:M`: N payments from an account with M >= N genesis
//!   outputs (no blocks needed); subtract the run `payments:0:M` (node setup) and divide by N.
//! - `WALLET_BENCH_SPIN=unseal_default:N` and `unseal_simulation:N`: N seal + unseal pairs.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group};
use stegosim_node::api::message::{Payment, Request, RequestKind, ServerKind, Unseal};
use stegosim_node::config::ChainConfig;
use stegosim_node::crypto::{KdfParams, Keypair, Network};
use stegosim_node::node::{Node, NodeConfig, Output};
use stegosim_node::rng::Seed;
use stegosim_node::storage::MemStore;

/// A one-validator dev node whose account "1" holds the genesis funds in `outputs` outputs.
fn node(outputs: u32, kdf: KdfParams) -> (Node, u64) {
    let chain = ChainConfig {
        genesis_validators: 1,
        genesis_funds_outputs: outputs,
        ..ChainConfig::dev()
    };
    let mut cfg = NodeConfig::genesis_node(chain.clone(), 0, Seed(1));
    cfg.wallet.kdf = kdf;
    let node = Node::new(cfg, Box::new(MemStore::new()), chain.genesis_time_ns).unwrap();
    (node, chain.genesis_time_ns)
}

/// Sends a request about account "1" and returns the reply.
fn request(node: &mut Node, now_ns: u64, kind: RequestKind) -> ServerKind {
    node.handle_request(
        now_ns,
        1,
        Request {
            id: 1,
            account_id: Some("1".into()),
            kind,
        },
    );
    let mut reply = None;
    while let Some(out) = node.poll_output() {
        if let Output::Reply { msg, .. } = out {
            reply = Some(msg.kind);
        }
    }
    reply.expect("every request is answered at once")
}

fn pay(recipient: &str) -> RequestKind {
    RequestKind::Payment(Payment {
        recipient: recipient.into(),
        amount: 1000,
        payment_fee: 1000,
        comment: "bench".into(),
        locked_timestamp: None,
        with_certificate: false,
    })
}

fn seal_unseal(node: &mut Node, now_ns: u64) {
    request(node, now_ns, RequestKind::Seal);
    let r = request(
        node,
        now_ns,
        RequestKind::Unseal(Unseal {
            password: "dev".into(),
        }),
    );
    assert!(matches!(r, ServerKind::Unsealed), "{r:?}");
}

/// Produces blocks until the mempool is empty.
fn produce_blocks(node: &mut Node, now_ns: &mut u64) {
    while !node.mempool().is_empty() {
        let (at, _) = node.poll_timeout().expect("a validator always has a timer");
        *now_ns = (*now_ns).max(at);
        node.handle_timeout(*now_ns);
        while node.poll_output().is_some() {}
    }
}

fn recipient() -> String {
    Keypair::from_seed([7; 32]).public().to_bech32(Network::Dev)
}

fn payments(c: &mut Criterion) {
    let recipient = recipient();
    let mut group = c.benchmark_group("payment");
    for outputs in [20u32, 2000] {
        group.bench_function(
            BenchmarkId::new("created", format!("{outputs} utxos")),
            |b| {
                let (mut n, mut now) = node(outputs, KdfParams::simulation());
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    let mut done = 0;
                    while done < iters {
                        // The benchmark measures with the wall clock; the node never does.
                        #[allow(clippy::disallowed_methods)]
                        let start = std::time::Instant::now();
                        let reply = request(&mut n, now, pay(&recipient));
                        let elapsed = start.elapsed();
                        match reply {
                            ServerKind::TransactionCreated(t) => {
                                black_box(t);
                                spent += elapsed;
                                done += 1;
                            }
                            // Every output is claimed by a waiting payment: put them in blocks
                            // (not timed) so their change can be spent.
                            ServerKind::Error(_) => produce_blocks(&mut n, &mut now),
                            other => panic!("{other:?}"),
                        }
                    }
                    spent
                })
            },
        );
    }
    group.finish();
}

fn unseal(c: &mut Criterion) {
    let mut group = c.benchmark_group("unseal");
    group.sample_size(10);
    for (name, kdf) in [
        ("default kdf", KdfParams::default()),
        ("simulation kdf", KdfParams::simulation()),
    ] {
        let (mut n, now) = node(20, kdf);
        group.bench_function(name, |b| b.iter(|| seal_unseal(&mut n, now)));
    }
    group.finish();
}

criterion_group!(benches, payments, unseal);

/// The spin mode (see the module documentation).
fn spin(spec: &str) {
    let mut parts = spec.split(':');
    let op = parts.next().unwrap_or_default();
    let mut number = || -> u32 {
        parts.next().map_or(1000, |n| {
            n.parse().expect("WALLET_BENCH_SPIN counts are numbers")
        })
    };
    let count = number();
    match op {
        "payments" => {
            let outputs = number().max(count).max(20);
            let (mut n, now) = node(outputs, KdfParams::simulation());
            let recipient = recipient();
            for _ in 0..count {
                let r = request(&mut n, now, pay(&recipient));
                assert!(matches!(r, ServerKind::TransactionCreated(_)), "{r:?}");
            }
        }
        "unseal_default" | "unseal_simulation" => {
            let kdf = if op == "unseal_default" {
                KdfParams::default()
            } else {
                KdfParams::simulation()
            };
            let (mut n, now) = node(20, kdf);
            for _ in 0..count {
                seal_unseal(&mut n, now);
            }
        }
        other => panic!("unknown WALLET_BENCH_SPIN operation {other}"),
    }
}

fn main() {
    if let Ok(spec) = std::env::var("WALLET_BENCH_SPIN") {
        spin(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
