//! Memory per unspent output at one million of them.
//!
//! Builds a ledger of `UTXOS` payment outputs (the common kind: a recipient, an amount and an
//! encrypted payload of a typical size) and reports the growth of the process's resident
//! memory per output, next to the sizes of the parts, so that the figure can be explained.
//! Resident memory is read from `/proc/self/statm` (a counting allocator would need `unsafe`,
//! which the workspace forbids); it includes the allocator's own overhead, which is what a
//! node pays.
//!
//! Run with `cargo bench -p stegosim-node --bench utxo_memory`.

use stegosim_node::chain::ledger::{Ledger, Utxo};
use stegosim_node::chain::tx::{Output, PaymentPayload};
use stegosim_node::crypto::{Hash, Keypair};

/// Unspent outputs to build.
const UTXOS: usize = 1_000_000;

/// Resident set size of this process in bytes (Linux), or 0.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let recipient = Keypair::from_seed([7; 32]);
    // A payload as a wallet writes it: amount, a short comment, the sender's key.
    let template = PaymentPayload {
        amount: 1,
        comment: "payment for order 1234".into(),
        spender: Some(*Keypair::from_seed([8; 32]).public()),
        rvalue_hint: true,
    }
    .into_output(recipient.public(), None, [9; 32]);
    let ciphertext_len = match &template {
        Output::Payment(p) => p.payload.ciphertext.len(),
        _ => 0,
    };

    let before = rss_bytes();
    let mut ledger = Ledger::new();
    for i in 0..UTXOS {
        let output = match &template {
            Output::Payment(p) => {
                let mut p = p.clone();
                p.amount = 1_000 + i as i64;
                Output::Payment(p)
            }
            _ => unreachable!("the template is a payment"),
        };
        ledger.add_genesis(output, Hash::default(), 0);
    }
    let after = rss_bytes();
    let per = (after.saturating_sub(before)) as f64 / UTXOS as f64;
    println!("utxo memory: {} unspent payment outputs", ledger.len());
    println!(
        "resident memory grew by {:.1} MiB: {per:.0} bytes per unspent output",
        (after - before) as f64 / (1024.0 * 1024.0)
    );
    println!(
        "parts: map key (Hash) {} B, Utxo {} B (Output {} B inline), payload ciphertext {} B on the heap, plus B-tree node overhead and allocator rounding",
        std::mem::size_of::<Hash>(),
        std::mem::size_of::<Utxo>(),
        std::mem::size_of::<Output>(),
        ciphertext_len
    );
    std::hint::black_box(&ledger);
}
