//! Random transaction streams against a 4-validator dev network: whatever is submitted
//! (valid payments, double spends, bad signatures, low fees, spends of locked outputs, copies
//! of existing outputs, resubmissions), whatever blocks get popped and however the network is
//! partitioned, the invariants of `stegosim_node::invariants` hold after every step, and once
//! healed all nodes agree.

mod common;

use common::Net;
use common::tx::{payment_output, signed_tx};
use proptest::prelude::*;
use stegosim_node::chain::genesis::GenesisKeys;
use stegosim_node::chain::tx::{Output, Transaction};
use stegosim_node::config::{ChainConfig, SECOND_NS};
use stegosim_node::crypto::{Hash, Keypair};
use stegosim_node::invariants::check_agreement;
use stegosim_node::node::NodeId;

/// Nodes (all genesis validators).
const NODES: u32 = 4;
/// Wallet keys the payments move between; key 0 is the genesis-funded account.
const KEYS: usize = 4;

/// One thing that happens to the network.
#[derive(Debug, Clone)]
enum Op {
    /// A valid payment from key `from` to key `to`, submitted to `node`: 1 or 2 inputs, a
    /// share `frac`/256 of their value paid (the rest is change), maybe time-locked.
    Pay {
        node: u32,
        from: usize,
        to: usize,
        inputs: usize,
        frac: u8,
        lock_s: Option<u8>,
    },
    /// Two valid payments spending the same output, submitted to two nodes.
    DoubleSpend {
        node_a: u32,
        node_b: u32,
        from: usize,
    },
    /// A payment signed by the wrong key.
    BadSignature { node: u32, from: usize },
    /// A payment whose fee is below the minimum.
    LowFee { node: u32, from: usize },
    /// A payment spending a time-locked output before it unlocks (skipped when none exists).
    SpendLocked { node: u32 },
    /// A payment one of whose outputs copies an existing unspent output.
    CopyOutput { node: u32, from: usize },
    /// A transaction submitted earlier, submitted again (maybe final by now).
    Resubmit { node: u32, which: usize },
    /// `pop_micro_block` on a node.
    Pop { node: u32 },
    /// Cuts one node off from the others.
    Isolate { node: u32 },
    /// Reconnects everything.
    Heal,
    /// Lets virtual time pass.
    Run { ms: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    let node = 0..NODES;
    let key = 0..KEYS;
    prop_oneof![
        6 => (node.clone(), key.clone(), key.clone(), 1..=2usize, any::<u8>(), prop::option::weighted(0.2, 2..20u8))
            .prop_map(|(node, from, to, inputs, frac, lock_s)| Op::Pay { node, from, to, inputs, frac, lock_s }),
        2 => (node.clone(), node.clone(), key.clone()).prop_map(|(node_a, node_b, from)| Op::DoubleSpend { node_a, node_b, from }),
        1 => (node.clone(), key.clone()).prop_map(|(node, from)| Op::BadSignature { node, from }),
        1 => (node.clone(), key.clone()).prop_map(|(node, from)| Op::LowFee { node, from }),
        1 => node.clone().prop_map(|node| Op::SpendLocked { node }),
        1 => (node.clone(), key.clone()).prop_map(|(node, from)| Op::CopyOutput { node, from }),
        1 => (node.clone(), any::<usize>()).prop_map(|(node, which)| Op::Resubmit { node, which }),
        2 => node.clone().prop_map(|node| Op::Pop { node }),
        1 => node.prop_map(|node| Op::Isolate { node }),
        1 => Just(Op::Heal),
        6 => (100..4000u32).prop_map(|ms| Op::Run { ms }),
    ]
}

/// The test's wallet: its keys and what it submitted.
struct Wallet {
    keys: Vec<Keypair>,
    /// Every transaction submitted so far (for resubmission).
    sent: Vec<Transaction>,
    /// Makes every payload's r-value distinct.
    counter: u64,
}

impl Wallet {
    fn new(chain: &ChainConfig) -> Wallet {
        let mut keys = vec![GenesisKeys::derive(chain).funded_account];
        for i in 1..KEYS {
            keys.push(Keypair::from_seed([0x70 + i as u8; 32]));
        }
        Wallet {
            keys,
            sent: Vec::new(),
            counter: 0,
        }
    }

    fn r_seed(&mut self) -> [u8; 32] {
        self.counter += 1;
        *Hash::digest("invariant props r", &self.counter.to_le_bytes()).as_bytes()
    }

    /// Up to `n` outputs of key `from` that `node` sees unspent, unclaimed and unlocked at
    /// `now_ns`: (hash, amount).
    fn spendable(&self, net: &Net, node: u32, from: usize, n: usize) -> Vec<(Hash, i64)> {
        let node = net.node(node);
        let owner = self.keys[from].public();
        node.chain()
            .ledger
            .iter()
            .filter(|(h, u)| {
                u.output.owner() == owner
                    && !matches!(u.output, Output::Stake(_))
                    && u.output.locked_until_ns().is_none_or(|t| t < net.now_ns)
                    && !node.mempool().claimed().contains_key(h)
            })
            .take(n)
            .map(|(h, u)| (*h, u.output.amount()))
            .collect()
    }

    /// A payment from `from` to `to` of `frac`/256 of its inputs, as `signer` signs it.
    #[allow(clippy::too_many_arguments)]
    fn payment(
        &mut self,
        net: &Net,
        inputs: &[(Hash, i64)],
        from: usize,
        to: usize,
        frac: u8,
        lock_until_ns: Option<u64>,
        fee_per_output: i64,
        signer: usize,
    ) -> Option<Transaction> {
        let total: i64 = inputs.iter().map(|(_, a)| a).sum();
        let fee = 2 * fee_per_output;
        let pay = ((total - fee) as i128 * (frac as i128 + 1) / 257) as i64;
        let change = total - fee - pay;
        if pay <= 0 || change <= 0 {
            return None;
        }
        let (r_pay, r_change) = (self.r_seed(), self.r_seed());
        let outputs = vec![
            payment_output(self.keys[to].public(), pay, lock_until_ns, r_pay),
            payment_output(self.keys[from].public(), change, None, r_change),
        ];
        let signer = &self.keys[signer];
        let signers: Vec<&Keypair> = inputs.iter().map(|_| signer).collect();
        let _ = net;
        Some(signed_tx(
            &signers,
            inputs.iter().map(|(h, _)| *h).collect(),
            outputs,
            fee,
        ))
    }

    fn submit(&mut self, net: &mut Net, node: u32, tx: Transaction) {
        if net.nodes[node as usize].is_none() {
            return;
        }
        self.sent.push(tx.clone());
        let now = net.now_ns;
        let _ = net.node_mut(node).submit_transaction(now, tx);
        net.drain(node);
        net.check_step();
    }
}

fn apply(net: &mut Net, wallet: &mut Wallet, op: &Op) {
    let fee_min = net.chain.payment_fee_min;
    match *op {
        Op::Pay {
            node,
            from,
            to,
            inputs,
            frac,
            lock_s,
        } => {
            let ins = wallet.spendable(net, node, from, inputs);
            let lock = lock_s.map(|s| net.now_ns + s as u64 * SECOND_NS);
            if let Some(tx) = wallet.payment(net, &ins, from, to, frac, lock, fee_min, from) {
                wallet.submit(net, node, tx);
            }
        }
        Op::DoubleSpend {
            node_a,
            node_b,
            from,
        } => {
            let ins = wallet.spendable(net, node_a, from, 1);
            let a = wallet.payment(net, &ins, from, (from + 1) % KEYS, 100, None, fee_min, from);
            let b = wallet.payment(net, &ins, from, (from + 2) % KEYS, 200, None, fee_min, from);
            if let (Some(a), Some(b)) = (a, b) {
                wallet.submit(net, node_a, a);
                wallet.submit(net, node_b, b);
            }
        }
        Op::BadSignature { node, from } => {
            let ins = wallet.spendable(net, node, from, 1);
            let wrong = (from + 1) % KEYS;
            if let Some(tx) = wallet.payment(net, &ins, from, wrong, 50, None, fee_min, wrong) {
                wallet.submit(net, node, tx);
            }
        }
        Op::LowFee { node, from } => {
            let ins = wallet.spendable(net, node, from, 1);
            if let Some(tx) = wallet.payment(net, &ins, from, 0, 50, None, fee_min / 2, from) {
                wallet.submit(net, node, tx);
            }
        }
        Op::SpendLocked { node } => {
            let now = net.now_ns;
            let locked = wallet.keys.iter().enumerate().find_map(|(k, key)| {
                net.node(node).chain().ledger.iter().find_map(|(h, u)| {
                    (u.output.owner() == key.public()
                        && u.output
                            .locked_until_ns()
                            .is_some_and(|t| t > now + SECOND_NS))
                    .then(|| (k, *h, u.output.amount()))
                })
            });
            if let Some((k, h, amount)) = locked {
                if let Some(tx) = wallet.payment(net, &[(h, amount)], k, 0, 50, None, fee_min, k) {
                    wallet.submit(net, node, tx);
                }
            }
        }
        Op::CopyOutput { node, from } => {
            let ins = wallet.spendable(net, node, from, 1);
            let victim = net
                .node(node)
                .chain()
                .ledger
                .iter()
                .find(|(h, u)| !ins.iter().any(|(i, _)| i == *h) && u.output.amount() < 1_000_000)
                .map(|(_, u)| u.output.clone());
            if let (Some((input, amount)), Some(copy)) = (ins.first(), victim) {
                let fee = 2 * fee_min;
                let change = amount - fee - copy.amount();
                if change > 0 {
                    let r = wallet.r_seed();
                    let outputs = vec![
                        copy,
                        payment_output(wallet.keys[from].public(), change, None, r),
                    ];
                    let tx = signed_tx(&[&wallet.keys[from]], vec![*input], outputs, fee);
                    wallet.submit(net, node, tx);
                }
            }
        }
        Op::Resubmit { node, which } => {
            if !wallet.sent.is_empty() {
                let tx = wallet.sent[which % wallet.sent.len()].clone();
                wallet.submit(net, node, tx);
            }
        }
        Op::Pop { node } => {
            let now = net.now_ns;
            let _ = net.node_mut(node).pop_micro_block(now);
            net.drain(node);
            net.check_step();
        }
        Op::Isolate { node } => {
            net.heal();
            let others: Vec<NodeId> = (0..NODES).filter(|&i| i != node).collect();
            net.partition(&[node], &others);
        }
        Op::Heal => net.heal(),
        Op::Run { ms } => {
            let t = net.now_ns + ms as u64 * 1_000_000;
            net.run_until(t);
        }
    }
}

fn assert_no_violation(net: &Net, step: usize, op: &Op) {
    if let Some((t, v)) = &net.violation {
        panic!("after op {step} ({op:?}), at {t} ns: {v}");
    }
}

proptest! {
    // 16 cases keep the suite fast; PROPTEST_CASES=500 for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(16),
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn invariants_hold_under_random_transactions_and_faults(
        seed in 0u64..1_000_000,
        ops in prop::collection::vec(op(), 10..40),
    ) {
        let mut net = Net::new(ChainConfig::dev(), NODES, seed).with_invariants();
        let mut wallet = Wallet::new(&net.chain);
        net.run_for(1);
        for (i, op) in ops.iter().enumerate() {
            apply(&mut net, &mut wallet, op);
            assert_no_violation(&net, i, op);
        }
        net.check_full();
        assert_no_violation(&net, ops.len(), &Op::Heal);

        // Liveness and agreement once the network is whole again.
        net.heal();
        let epoch_at_heal = (0..NODES).map(|i| net.node(i).chain().epoch()).max().unwrap();
        net.run_for(40);
        net.check_full();
        assert_no_violation(&net, ops.len(), &Op::Heal);
        let epochs: Vec<u64> = (0..NODES).map(|i| net.node(i).chain().epoch()).collect();
        prop_assert!(
            epochs.iter().all(|&e| e > epoch_at_heal),
            "every node finalised a new epoch after healing: {epochs:?}, {epoch_at_heal} at heal"
        );
        let (lo, hi) = (*epochs.iter().min().unwrap(), *epochs.iter().max().unwrap());
        prop_assert!(hi - lo <= 1, "nodes are at most one epoch apart: {epochs:?}");
        let chains = (0..NODES).map(|i| (i, net.node(i).chain()));
        prop_assert_eq!(check_agreement(chains), Ok(()));
        for i in 1..NODES {
            for e in 0..lo as usize {
                prop_assert_eq!(
                    net.node(0).chain().macros[e].hash(),
                    net.node(i).chain().macros[e].hash()
                );
            }
        }
    }
}
