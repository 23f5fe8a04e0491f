//! Micro-benchmarks of the API message codec: the seed's `balance_info` response encoded
//! and decoded as a typed [`ServerMessage`], against the same through `serde_json::Value`.
//!
//! Run: `cargo bench -p stegosim-api --bench message`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stegosim_api::message::{Request, ServerMessage};

/// The seed's "RPC sample response" (id 2, account 1), compact.
const BALANCE_INFO: &str = r#"{"type":"balance_info","id":2,"account_id":"1","payment":{"current":1000000,"available":1000000},"public_payment":{"current":0,"available":0},"stake":{"current":0,"available":0},"current":1000000,"available":1000000,"is_final":false}"#;

/// The same with the envelope keys first, as the seed prints it (still the fast path).
const BALANCE_INFO_ID_FIRST: &str = r#"{"id":2,"account_id":"1","type":"balance_info","payment":{"current":1000000,"available":1000000},"public_payment":{"current":0,"available":0},"stake":{"current":0,"available":0},"current":1000000,"available":1000000,"is_final":false}"#;

/// The same with `type` last (the buffered slow path).
const BALANCE_INFO_TYPE_LAST: &str = r#"{"id":2,"account_id":"1","payment":{"current":1000000,"available":1000000},"public_payment":{"current":0,"available":0},"stake":{"current":0,"available":0},"current":1000000,"available":1000000,"is_final":false,"type":"balance_info"}"#;

/// A typical request.
const PAYMENT: &str = r#"{"type":"payment","id":17,"account_id":"1","recipient":"7eiszB5iVFPCAWSmmkQ5ARyiLpvf1hifQrJ8FikJ1QJQ1k8WrQv","amount":100,"payment_fee":1000,"comment":"Test","locked_timestamp":"2019-08-22T12:35:06.343300856Z","with_certificate":false}"#;

/// The reference design of the brief: one plain derived struct with the envelope keys as
/// ordinary fields (no dispatch at all). The typed codec should come close to it.
#[derive(Serialize, Deserialize)]
struct PlainBalanceInfo {
    #[serde(rename = "type")]
    type_name: String,
    id: u64,
    account_id: Option<String>,
    payment: PlainAmounts,
    public_payment: PlainAmounts,
    stake: PlainAmounts,
    current: i64,
    available: i64,
    is_final: Option<bool>,
}

/// Part of [`PlainBalanceInfo`].
#[derive(Serialize, Deserialize)]
struct PlainAmounts {
    current: i64,
    available: i64,
}

fn balance_info(c: &mut Criterion) {
    let message = ServerMessage::from_json(BALANCE_INFO.as_bytes()).expect("sample decodes");
    let value: Value = serde_json::from_str(BALANCE_INFO).expect("sample is JSON");
    let mut buf = Vec::with_capacity(512);

    let mut group = c.benchmark_group("balance_info");
    group.throughput(Throughput::Elements(1));
    group.bench_function("typed/to_json", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&message).to_json(&mut buf);
            black_box(buf.len())
        })
    });
    group.bench_function("typed/from_json", |b| {
        b.iter(|| ServerMessage::from_json(black_box(BALANCE_INFO.as_bytes())))
    });
    group.bench_function("typed/from_json_id_first", |b| {
        b.iter(|| ServerMessage::from_json(black_box(BALANCE_INFO_ID_FIRST.as_bytes())))
    });
    group.bench_function("typed/from_json_type_last", |b| {
        b.iter(|| ServerMessage::from_json(black_box(BALANCE_INFO_TYPE_LAST.as_bytes())))
    });
    group.bench_function("typed/round_trip", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&message).to_json(&mut buf);
            ServerMessage::from_json(black_box(&buf))
        })
    });
    let plain: PlainBalanceInfo = serde_json::from_str(BALANCE_INFO).expect("sample decodes");
    group.bench_function("plain_struct/to_json", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, black_box(&plain)).expect("struct serializes");
            black_box(buf.len())
        })
    });
    group.bench_function("plain_struct/from_json", |b| {
        b.iter(|| serde_json::from_slice::<PlainBalanceInfo>(black_box(BALANCE_INFO.as_bytes())))
    });
    group.bench_function("value/to_json", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, black_box(&value)).expect("Value serializes");
            black_box(buf.len())
        })
    });
    group.bench_function("value/from_json", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(BALANCE_INFO.as_bytes())))
    });
    group.bench_function("value/round_trip", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, black_box(&value)).expect("Value serializes");
            serde_json::from_slice::<Value>(black_box(&buf))
        })
    });
    group.finish();
}

fn payment_request(c: &mut Criterion) {
    let request = Request::from_json(PAYMENT.as_bytes()).expect("sample decodes");
    let mut buf = Vec::with_capacity(512);
    let mut group = c.benchmark_group("payment_request");
    group.throughput(Throughput::Elements(1));
    group.bench_function("typed/round_trip", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&request).to_json(&mut buf);
            Request::from_json(black_box(&buf))
        })
    });
    group.finish();
}

criterion_group!(benches, balance_info, payment_request);

/// Runs one operation a fixed number of times and exits, for counting CPU time and cycles
/// with `perf stat` when the machine is too busy for wall-clock numbers to mean much:
/// `MESSAGE_BENCH_SPIN=typed_round_trip:1000000 perf stat -e task-clock,cycles <bench binary>`.
/// Operations: typed_to_json, typed_from_json, typed_round_trip, plain_from_json,
/// value_round_trip.
fn spin(spec: &str) {
    let (op, count) = spec.split_once(':').unwrap_or((spec, "1000000"));
    let count: u64 = count.parse().expect("MESSAGE_BENCH_SPIN count is a number");
    let message = ServerMessage::from_json(BALANCE_INFO.as_bytes()).expect("sample decodes");
    let value: Value = serde_json::from_str(BALANCE_INFO).expect("sample is JSON");
    let mut buf = Vec::with_capacity(512);
    for _ in 0..count {
        match op {
            "typed_to_json" => {
                buf.clear();
                black_box(&message).to_json(&mut buf);
            }
            "typed_from_json" => {
                black_box(ServerMessage::from_json(black_box(BALANCE_INFO.as_bytes())).is_ok());
            }
            "typed_round_trip" => {
                buf.clear();
                black_box(&message).to_json(&mut buf);
                black_box(ServerMessage::from_json(black_box(&buf)).is_ok());
            }
            "plain_from_json" => {
                let plain =
                    serde_json::from_slice::<PlainBalanceInfo>(black_box(BALANCE_INFO.as_bytes()));
                black_box(plain.is_ok());
            }
            "value_round_trip" => {
                buf.clear();
                serde_json::to_writer(&mut buf, black_box(&value)).expect("Value serializes");
                black_box(serde_json::from_slice::<Value>(black_box(&buf)).is_ok());
            }
            other => panic!("unknown MESSAGE_BENCH_SPIN operation {other}"),
        }
    }
}

fn main() {
    if let Ok(spec) = std::env::var("MESSAGE_BENCH_SPIN") {
        spin(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
