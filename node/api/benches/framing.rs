//! Speed of the frame codec (no JSON), against a naive reference path.
//!
//! Group `framing`, side by side: the codec's encode, decode and round trip, and the naive
//! path's, for a 238-byte JSON payload (the seed's `balance_info` response; throughput shown
//! as frames per second) and a 64 KiB payload (throughput in bytes of plaintext per second).
//! The naive path is what a first version would write: the `base64` crate, a fresh
//! `Ctr128BE::new` (key schedule expanded) per message and fresh allocations.
//!
//! Group `components` measures the parts alone (base64 crates, AES-CTR keystream), which is
//! how the crates were chosen.
//!
//! Project targets: round trip with JSON at >= 1.2 M/s for 238 bytes, so the codec's share
//! must stay well under ~300 ns; and >= 1.2 GB/s each way at 64 KiB.
//!
//! Group `typed`, the project's target: the seed's `balance_info` response as a typed
//! `ServerMessage`, serialised, framed, unframed and parsed back (one full round trip, what a
//! server and a client do per response), against the same through `serde_json::Value` and
//! the naive codec.
//!
//! Run: `cargo bench -p stegosim-api --bench framing -- --warm-up-time 1 --measurement-time 3`

use aes::Aes128;
use aes::cipher::{KeyIvInit, StreamCipher};
use base64::Engine as _;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use stegosim_api::frame::{FrameCodec, IV_BYTES};
use stegosim_api::message::ServerMessage;

const KEY: [u8; 16] = *b"bench key 16 b!!";
const IV: [u8; IV_BYTES] = [0x5a; IV_BYTES];

/// The seed's `balance_info` response, compact: 238 bytes.
const BALANCE_INFO: &[u8] = br#"{"id":100500,"account_id":"1","type":"balance_info","payment":{"current":1000000,"available":1000000},"public_payment":{"current":0,"available":0},"stake":{"current":0,"available":0},"current":1000000,"available":1000000,"is_final":false}"#;

/// A 64 KiB JSON object: `{"log":"xxx..."}`.
fn payload_64_kib() -> Vec<u8> {
    let bytes = 64 * 1024;
    let mut payload = br#"{"log":""#.to_vec();
    payload.resize(bytes - 2, b'x');
    payload.extend_from_slice(br#""}"#);
    assert_eq!(payload.len(), bytes);
    payload
}

/// The naive encoder: new cipher (key expansion), new buffers, the `base64` crate.
fn naive_encode(key: &[u8; 16], iv: [u8; IV_BYTES], plaintext: &[u8]) -> String {
    let mut cipher = ctr::Ctr128BE::<Aes128>::new(&(*key).into(), &iv.into());
    let mut raw = Vec::with_capacity(IV_BYTES + plaintext.len());
    raw.extend_from_slice(&iv);
    raw.extend_from_slice(plaintext);
    cipher.apply_keystream(&mut raw[IV_BYTES..]);
    base64::engine::general_purpose::STANDARD.encode(&raw)
}

/// The naive decoder: the `base64` crate into a new buffer, new cipher, copy out.
fn naive_decode(key: &[u8; 16], frame_text: &str) -> Option<Vec<u8>> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(frame_text)
        .ok()?;
    let (iv, ciphertext) = raw.split_first_chunk::<IV_BYTES>()?;
    let mut cipher = ctr::Ctr128BE::<Aes128>::new(&(*key).into(), &(*iv).into());
    let mut plaintext = ciphertext.to_vec();
    cipher.apply_keystream(&mut plaintext);
    Some(plaintext)
}

fn framing(c: &mut Criterion) {
    eprintln!(
        "aes hardware acceleration (AES-NI) in use: {}",
        aes::hardware_accelerated()
    );
    let codec = FrameCodec::from_key_bytes(&KEY);
    let big = payload_64_kib();
    let mut group = c.benchmark_group("framing");

    for (size, plaintext, throughput) in [
        ("238B", BALANCE_INFO, Throughput::Elements(1)),
        ("64KiB", big.as_slice(), Throughput::Bytes(big.len() as u64)),
    ] {
        group.throughput(throughput);
        let frame_text = codec.encode(plaintext, IV);
        assert_eq!(naive_encode(&KEY, IV, plaintext), frame_text);
        assert_eq!(naive_decode(&KEY, &frame_text).unwrap(), plaintext);

        let mut text_buf = String::new();
        let mut plain_buf = Vec::new();
        group.bench_with_input(BenchmarkId::new("codec_encode", size), plaintext, |b, p| {
            b.iter(|| {
                text_buf.clear();
                codec.encode_into(black_box(p), black_box(IV), &mut text_buf);
                black_box(text_buf.len())
            })
        });
        group.bench_with_input(
            BenchmarkId::new("codec_decode", size),
            &frame_text,
            |b, f| {
                b.iter(|| {
                    plain_buf.clear();
                    black_box(codec.decode_into(black_box(f.as_str()), &mut plain_buf))
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("codec_round_trip", size),
            plaintext,
            |b, p| {
                b.iter(|| {
                    text_buf.clear();
                    codec.encode_into(black_box(p), black_box(IV), &mut text_buf);
                    plain_buf.clear();
                    black_box(codec.decode_into(text_buf.as_str(), &mut plain_buf))
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("naive_encode", size), plaintext, |b, p| {
            b.iter(|| naive_encode(&KEY, black_box(IV), black_box(p)))
        });
        group.bench_with_input(
            BenchmarkId::new("naive_decode", size),
            &frame_text,
            |b, f| b.iter(|| naive_decode(&KEY, black_box(f))),
        );
        group.bench_with_input(
            BenchmarkId::new("naive_round_trip", size),
            plaintext,
            |b, p| {
                b.iter(|| {
                    let frame = naive_encode(&KEY, black_box(IV), black_box(p));
                    naive_decode(&KEY, &frame)
                })
            },
        );
    }
    group.finish();
}

/// The target: a typed message, JSON and frame, there and back.
fn typed(c: &mut Criterion) {
    let codec = FrameCodec::from_key_bytes(&KEY);
    let msg = ServerMessage::from_json(BALANCE_INFO).expect("the seed's balance_info parses");
    let value: serde_json::Value = serde_json::from_slice(BALANCE_INFO).unwrap();
    let mut group = c.benchmark_group("typed");
    group.throughput(Throughput::Elements(1));
    let (mut json, mut text, mut plain) = (Vec::new(), String::new(), Vec::new());
    group.bench_function("balance_info_round_trip", |b| {
        b.iter(|| {
            text.clear();
            codec.encode_server_message(black_box(&msg), black_box(IV), &mut json, &mut text);
            let back = codec
                .decode_server_message(text.as_str(), &mut plain)
                .unwrap();
            black_box(back)
        })
    });
    group.bench_function("balance_info_json_only", |b| {
        b.iter(|| {
            json.clear();
            black_box(&msg).to_json(&mut json);
            black_box(ServerMessage::from_json(&json).unwrap())
        })
    });
    group.bench_function("value_naive_round_trip", |b| {
        b.iter(|| {
            let bytes = serde_json::to_vec(black_box(&value)).unwrap();
            let frame = naive_encode(&KEY, black_box(IV), &bytes);
            let plain = naive_decode(&KEY, &frame).unwrap();
            black_box(serde_json::from_slice::<serde_json::Value>(&plain).unwrap())
        })
    });
    group.finish();
}

/// The parts alone, on the frame's raw bytes (IV included): what decided the crates.
fn components(c: &mut Criterion) {
    let big = payload_64_kib();
    let mut group = c.benchmark_group("components");
    let simd = base64_simd::STANDARD;
    let scalar = base64::engine::general_purpose::STANDARD;

    for (size, plaintext) in [("238B", BALANCE_INFO), ("64KiB", big.as_slice())] {
        group.throughput(Throughput::Bytes(plaintext.len() as u64));
        let mut raw = IV.to_vec();
        raw.extend_from_slice(plaintext);
        let text = scalar.encode(&raw);
        let mut text_buf = String::new();
        let mut raw_buf = Vec::new();

        group.bench_with_input(BenchmarkId::new("base64_encode", size), &raw, |b, r| {
            b.iter(|| {
                text_buf.clear();
                scalar.encode_string(black_box(r), &mut text_buf);
            })
        });
        group.bench_with_input(
            BenchmarkId::new("base64_simd_encode", size),
            &raw,
            |b, r| {
                b.iter(|| {
                    text_buf.clear();
                    simd.encode_append(black_box(r), &mut text_buf);
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("base64_decode", size), &text, |b, t| {
            b.iter(|| {
                raw_buf.clear();
                black_box(scalar.decode_vec(black_box(t), &mut raw_buf)).unwrap();
            })
        });
        group.bench_with_input(
            BenchmarkId::new("base64_simd_decode", size),
            &text,
            |b, t| {
                b.iter(|| {
                    raw_buf.clear();
                    black_box(simd.decode_append(black_box(t), &mut raw_buf)).unwrap();
                })
            },
        );

        let aes = <aes::Aes128Enc as aes::cipher::KeyInit>::new(&KEY.into());
        let mut buf = plaintext.to_vec();
        group.bench_function(BenchmarkId::new("aes_ctr_new_per_message", size), |b| {
            b.iter(|| {
                let mut cipher = ctr::Ctr128BE::<Aes128>::new(&KEY.into(), &black_box(IV).into());
                cipher.apply_keystream(&mut buf);
            })
        });
        group.bench_function(BenchmarkId::new("aes_ctr_schedule_once", size), |b| {
            b.iter(|| {
                use aes::cipher::{InnerIvInit, StreamCipherCoreWrapper};
                let core = ctr::CtrCore::<&aes::Aes128Enc, ctr::flavors::Ctr128BE>::inner_iv_init(
                    &aes,
                    &black_box(IV).into(),
                );
                StreamCipherCoreWrapper::from_core(core).apply_keystream(&mut buf);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, framing, typed, components);
criterion_main!(benches);
