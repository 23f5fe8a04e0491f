//! Validation and application of two-in two-out transactions against a large ledger.
//!
//! The issue asks for at least 20,000 such transactions per second on one core. The ledger
//! holds `FILLER_UTXOS` unspent outputs besides the ones spent here, so lookups walk a tree
//! of realistic depth. Each transaction spends two payment outputs and creates two payment
//! outputs with encrypted payloads; its one signature verifies against the sum of the two
//! inputs' keys, as the ledger checks it. Two cases: the inputs of one owner among 500 that
//! recur (a wallet spending two outputs of its account key; the keys' decompressed points
//! stay in the verifier's cache), and every input a new owner (the cache never hits).
//!
//! Transactions are built and signed up front; each batch is validated and applied in a timed
//! loop, then reverted untimed, so the same transactions serve every iteration.
//!
//! Run with `cargo bench -p stegosim-node --bench ledger -- --warm-up-time 1 --measurement-time 5`;
//! with `BENCH_CLOCK=cpu` the times are this thread's CPU time (for a busy machine). With
//! `LEDGER_BENCH_SPIN=N` it builds the ledger, runs N batches and exits, for a profiler
//! (`valgrind --tool=callgrind`).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use stegosim_node::chain::ledger::{BlockRef, Ledger, TxContext, Undo};
use stegosim_node::chain::tx::{Output, PaymentPayload, PublicPaymentOutput, Transaction};
use stegosim_node::chain::verify_sum;
use stegosim_node::config::ChainConfig;
use stegosim_node::crypto::{Hash, JointSigning, Keypair, NonceSecret, PublicKey};

mod common;
use common::{Stopwatch, cpu_clock_requested};

/// Unspent outputs in the ledger besides those the transactions spend.
const FILLER_UTXOS: usize = 200_000;
/// Transactions in one timed batch (validated and applied, then reverted untimed).
const BATCH_TXS: usize = 2_000;
/// Distinct owners of the spent outputs in the main case: wallets spend many outputs of one
/// account key, so keys repeat and their decompressed points stay in the verifier's cache.
const OWNERS: usize = 500;
/// Owners in the cold case: two per transaction (each input its own owner, a joint
/// signature of two keys), four times as many as the point cache holds
/// (`POINT_CACHE_ENTRIES_MAX`), so every key is decompressed.
const OWNERS_COLD: usize = 2 * BATCH_TXS;

/// A ledger with filler outputs and `BATCH_TXS` signed two-in two-out transactions over it.
fn setup(owners_count: usize) -> (Ledger, ChainConfig, Vec<Transaction>) {
    let cfg = ChainConfig::dev();
    let mut ledger = Ledger::new();
    let filler_owner = *Keypair::from_seed([0xf0; 32]).public();
    for i in 0..FILLER_UTXOS {
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&(i as u64).to_le_bytes());
        ledger.add_genesis(
            Output::PublicPayment(PublicPaymentOutput {
                recipient: filler_owner,
                amount: 1_000_000,
                locked_until_ns: None,
                nonce,
            }),
            Hash::default(),
            cfg.genesis_time_ns,
        );
    }
    let owners: Vec<Keypair> = (0..owners_count)
        .map(|i| {
            Keypair::from_seed(*Hash::digest("bench owner", &(i as u64).to_le_bytes()).as_bytes())
        })
        .collect();
    let recipients: Vec<Keypair> = (0..16)
        .map(|i| Keypair::from_seed([0x40 + i as u8; 32]))
        .collect();
    // One encrypted payload per recipient, reused: the ledger never decrypts it, and amounts
    // keep the outputs distinct.
    let payload_of = |r: &Keypair, amount: i64, seed: u8| {
        PaymentPayload {
            amount,
            comment: "bench".into(),
            spender: None,
            rvalue_hint: false,
        }
        .into_output(r.public(), None, [seed; 32])
    };
    let templates: Vec<Output> = recipients
        .iter()
        .enumerate()
        .map(|(i, r)| payload_of(r, 1, i as u8))
        .collect();
    let with_amount = |o: &Output, amount: i64| match o {
        Output::Payment(p) => {
            let mut p = p.clone();
            p.amount = amount;
            Output::Payment(p)
        }
        _ => unreachable!("templates are payments"),
    };
    let mut txs = Vec::with_capacity(BATCH_TXS);
    for t in 0..BATCH_TXS {
        // Warm case: both inputs of one owner; cold case: every input a new owner.
        let cold = owners_count >= 2 * BATCH_TXS;
        let owner_of = |k: usize| &owners[if cold { 2 * t + k } else { t % owners_count }];
        let mut inputs = Vec::new();
        for k in 0..2 {
            let owner = owner_of(k);
            let amount = 10_000_000 + (t * 2 + k) as i64;
            let o = with_amount(&templates[(t + k) % templates.len()], amount);
            let o = match o {
                Output::Payment(mut p) => {
                    p.recipient = *owner.public();
                    Output::Payment(p)
                }
                _ => unreachable!(),
            };
            inputs.push((o.hash(), o.amount()));
            ledger.add_genesis(o, Hash::default(), cfg.genesis_time_ns);
        }
        let fee = 2 * cfg.payment_fee_min;
        let total: i64 = inputs.iter().map(|(_, a)| a).sum();
        let pay = 3_000_000 + t as i64;
        let outputs = vec![
            with_amount(&templates[t % templates.len()], pay),
            with_amount(&templates[(t + 7) % templates.len()], total - pay - fee),
        ];
        let input_hashes: Vec<Hash> = inputs.iter().map(|(h, _)| *h).collect();
        let body = Transaction::body_hash(&input_hashes, &outputs, fee);
        // A joint signature of the two inputs' owners (one key twice when they are the same).
        let (o0, o1) = (owner_of(0), owner_of(1));
        let keys = [*o0.public(), *o1.public()];
        let nonces = [
            NonceSecret::derive(o0.secret(), [1; 32]),
            NonceSecret::derive(o1.secret(), [2; 32]),
        ];
        let commitments = [nonces[0].commitment(), nonces[1].commitment()];
        let session =
            JointSigning::new(&keys, &commitments, body.as_bytes()).expect("keys do not cancel");
        let [n0, n1] = nonces;
        let partials = [
            session.sign_partial(o0.secret(), n0),
            session.sign_partial(o1.secret(), n1),
        ];
        txs.push(Transaction::new(
            input_hashes,
            outputs,
            fee,
            session.combine(&partials),
        ));
    }
    (ledger, cfg, txs)
}

/// Validates and applies every transaction of `txs` (timed), then reverts them (untimed).
fn run_batch(
    cpu: bool,
    ledger: &mut Ledger,
    cfg: &ChainConfig,
    txs: &[Transaction],
    check_sig: &dyn Fn(&[PublicKey], &Hash, &stegosim_node::crypto::Signature) -> bool,
) -> Duration {
    let ctx = TxContext {
        epoch: 1,
        now_ns: cfg.genesis_time_ns + 1,
    };
    let at = BlockRef {
        epoch: 1,
        offset: Some(0),
        block_hash: Hash::default(),
        timestamp_ns: ctx.now_ns,
    };
    let claimed = BTreeMap::new();
    let created = BTreeMap::new();
    let mut undo = Undo::default();
    let watch = Stopwatch::start(cpu);
    for tx in txs {
        ledger
            .validate_tx_with(tx, ctx, cfg, &claimed, &created, check_sig)
            .expect("bench transactions are valid");
        ledger.apply_tx(black_box(tx), at, &mut undo);
    }
    let elapsed = watch.elapsed();
    ledger.revert(&undo);
    elapsed
}

fn ledger(c: &mut Criterion) {
    let (mut ledger, cfg, txs) = setup(OWNERS);
    let cpu = cpu_clock_requested();
    eprintln!(
        "ledger: {} unspent outputs, batches of {} transactions, clock: {}",
        ledger.len(),
        txs.len(),
        if cpu { "thread CPU time" } else { "wall" }
    );
    let mut group = c.benchmark_group("ledger");
    group.throughput(Throughput::Elements(1));
    group.bench_function("validate + apply 2-in 2-out tx", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let n = left.min(txs.len());
                total += run_batch(cpu, &mut ledger, &cfg, &txs[..n], &|k, m, s| {
                    verify_sum(k, m, s)
                });
                left -= n;
            }
            total
        })
    });
    {
        let (mut cold, cfg, txs) = setup(OWNERS_COLD);
        group.bench_function("validate + apply 2-in 2-out tx, every key new", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let n = left.min(txs.len());
                    total += run_batch(cpu, &mut cold, &cfg, &txs[..n], &|k, m, s| {
                        verify_sum(k, m, s)
                    });
                    left -= n;
                }
                total
            })
        });
    }
    // The same without the signature check: what the ledger itself costs.
    group.bench_function("validate + apply, signature check skipped", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let n = left.min(txs.len());
                total += run_batch(cpu, &mut ledger, &cfg, &txs[..n], &|_, _, _| true);
                left -= n;
            }
            total
        })
    });
    // The signature check alone: sum two input keys, verify.
    let keys = {
        let u = ledger.get(&txs[0].inputs[0]).expect("input exists");
        [*u.output.owner(), *u.output.owner()]
    };
    let msg = txs[0].hash();
    group.bench_function("signature check of 2 inputs (key sum + verify)", |b| {
        b.iter(|| verify_sum(black_box(&keys), &msg, &txs[0].signature))
    });
    group.bench_function("transaction hash (2 payment outputs)", |b| {
        b.iter(|| black_box(&txs[0]).hash())
    });
    group.finish();
}

criterion_group!(benches, ledger);

/// Builds the ledger, validates and applies `N` batches, prints the time per transaction
/// and exits: `LEDGER_BENCH_SPIN=N`, for profilers and CPU counters.
fn spin(batches: usize) {
    let (mut ledger, cfg, txs) = setup(OWNERS);
    let watch = Stopwatch::start(false);
    for _ in 0..batches {
        run_batch(false, &mut ledger, &cfg, &txs, &|k, m, s| {
            verify_sum(k, m, s)
        });
    }
    let n = (batches * txs.len()) as f64;
    println!(
        "{} transactions: {:.2} µs each wall, {:.2} µs each CPU",
        n,
        watch.wall().as_secs_f64() * 1e6 / n,
        watch.cpu().as_secs_f64() * 1e6 / n
    );
}

fn main() {
    if let Ok(n) = std::env::var("LEDGER_BENCH_SPIN") {
        spin(n.parse().expect("LEDGER_BENCH_SPIN is a number of batches"));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
