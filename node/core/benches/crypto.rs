//! What the crypto module costs, per operation.
//!
//! The number that matters most is `verify`: the ledger checks one signature per
//! transaction and must validate at least 20,000 transactions per second on one core, so a
//! verification must stay well under 50 µs. Run with
//! `cargo bench -p stegosim-node --bench crypto -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use curve25519_dalek::Scalar;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use stegosim_node::crypto::{
    Hash, Hasher, JointSigning, KdfParams, Keypair, NonceCommitment, NonceSecret, PublicKey,
    Rvalue, decrypt_payload, decrypt_payload_with_rvalue, encrypt_payload, from_phrase,
    open_secret, seal_secret, to_phrase, verify,
};

/// Says which curve25519-dalek backend this CPU can run (it picks at run time: AVX2 if the
/// CPU has it, else serial; the AVX-512 IFMA one only when built with that target feature).
fn report_cpu() {
    #[cfg(target_arch = "x86_64")]
    eprintln!(
        "cpu: avx2={} avx512ifma={} avx512vl={} (curve25519-dalek built for: {})",
        std::is_x86_feature_detected!("avx2"),
        std::is_x86_feature_detected!("avx512ifma"),
        std::is_x86_feature_detected!("avx512vl"),
        if cfg!(all(
            target_feature = "avx512ifma",
            target_feature = "avx512vl"
        )) {
            "avx512ifma + avx2 + serial"
        } else {
            "avx2 + serial"
        }
    );
}

fn signatures(c: &mut Criterion) {
    report_cpu();
    let kp = Keypair::from_seed([1; 32]);
    let msg = [0x5a_u8; 200]; // About a transaction's signed body.
    let sig = kp.sign(&msg);
    let pk_bytes = kp.public().to_bytes();

    c.bench_function("verify", |b| {
        b.iter(|| verify(black_box(kp.public()), black_box(&msg), black_box(&sig)))
    });
    // The three parts of `verify`, to see where its time goes.
    let point = CompressedRistretto(pk_bytes)
        .decompress()
        .expect("a public key is a valid point");
    let (a, b) = (Scalar::from(3u64).invert(), Scalar::from(5u64).invert());
    c.bench_function("verify part: vartime double-base mul", |bench| {
        bench
            .iter(|| RistrettoPoint::vartime_double_scalar_mul_basepoint(black_box(&a), &point, &b))
    });
    c.bench_function("verify part: compress", |bench| {
        bench.iter(|| black_box(point).compress())
    });
    c.bench_function("sign (keypair)", |b| b.iter(|| kp.sign(black_box(&msg))));
    c.bench_function("public key from bytes (decompress)", |b| {
        b.iter(|| PublicKey::from_bytes(black_box(pk_bytes)))
    });
    c.bench_function("derive address key", |b| b.iter(|| kp.derive(black_box(7))));

    let signers: Vec<Keypair> = (0..20).map(|i| Keypair::from_seed([i; 32])).collect();
    let keys: Vec<PublicKey> = signers.iter().map(|k| *k.public()).collect();
    let commitments: Vec<NonceCommitment> = signers
        .iter()
        .map(|k| NonceSecret::derive(k.secret(), [9; 32]).commitment())
        .collect();
    c.bench_function("joint session of 20 (sums + challenge)", |b| {
        b.iter(|| JointSigning::new(black_box(&keys), black_box(&commitments), &msg))
    });
}

fn hashing_and_payloads(c: &mut Criterion) {
    let data = [0xa5_u8; 200];
    c.bench_function("hash 200 bytes", |b| {
        b.iter(|| Hash::digest("stegosim bench v1", black_box(&data)))
    });
    c.bench_function("hasher: 4 fields", |b| {
        b.iter(|| {
            let mut h = Hasher::new("stegosim bench v1");
            h.update_u64(black_box(1))
                .update_u32(2)
                .update_bytes(&data[..32])
                .update_bool(true);
            h.finalize()
        })
    });

    let recipient = Keypair::from_seed([2; 32]);
    let r = Rvalue::from_seed([3; 32]);
    let plaintext = [0x11_u8; 100];
    let payload = encrypt_payload(&r, recipient.public(), &plaintext);
    c.bench_function("encrypt payload (100 B)", |b| {
        b.iter(|| encrypt_payload(black_box(&r), recipient.public(), &plaintext))
    });
    c.bench_function("decrypt payload (100 B)", |b| {
        b.iter(|| decrypt_payload(recipient.secret(), black_box(&payload)))
    });
    c.bench_function("decrypt payload with rvalue (100 B)", |b| {
        b.iter(|| decrypt_payload_with_rvalue(&r, recipient.public(), black_box(&payload)))
    });

    let phrase = to_phrase(&recipient.secret().to_bytes());
    c.bench_function("from_phrase", |b| {
        b.iter(|| from_phrase(black_box(&phrase)))
    });
}

fn unseal(c: &mut Criterion) {
    let sk = Keypair::from_seed([4; 32]).secret().clone();
    let mut group = c.benchmark_group("unseal");
    for (name, params) in [
        ("simulation params", KdfParams::simulation()),
        ("default params (OWASP 19 MiB, t=2)", KdfParams::default()),
    ] {
        let sealed =
            seal_secret(&sk, "password", [5; 16], [6; 12], params).expect("valid parameters");
        if params == KdfParams::default() {
            // Tens of milliseconds each: fewer samples keep the run short.
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(3));
        }
        group.bench_function(name, |b| {
            b.iter(|| open_secret(black_box(&sealed), "password"))
        });
    }
    group.finish();
}

criterion_group!(benches, signatures, hashing_and_payloads, unseal);
criterion_main!(benches);
