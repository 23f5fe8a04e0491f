//! Multi-node behaviour of the sans-IO core: blocks, epochs, view changes, forks, restaking,
//! transaction statuses, determinism.

mod common;

use common::Net;
use stegosim_node::config::ChainConfig;
use stegosim_node::node::Event;

#[test]
fn blocks_and_epochs_advance_and_nodes_agree() {
    let mut net = Net::new(ChainConfig::dev(), 4, 1);
    net.run_for(35);
    let epochs: Vec<u64> = (0..4).map(|i| net.node(i).chain().epoch()).collect();
    assert!(
        epochs.iter().all(|&e| e >= 3),
        "epochs after 35 s: {epochs:?}"
    );
    // Every node holds the same macro blocks.
    let e = *epochs.iter().min().unwrap() as usize;
    for i in 1..4 {
        for k in 0..e {
            assert_eq!(
                net.node(0).chain().macros[k].hash(),
                net.node(i).chain().macros[k].hash(),
                "epoch {k} differs on node {i}"
            );
        }
    }
    assert_eq!(
        net.count_events(|e| matches!(e, Event::ViewChange { .. })),
        0
    );
}

use common::tx::genesis_payment;
use stegosim_node::crypto::Hash;
use stegosim_node::node::TxStatus;

/// A dev chain with one validator, so one node makes progress alone.
fn single_validator() -> ChainConfig {
    ChainConfig {
        genesis_validators: 1,
        ..ChainConfig::dev()
    }
}

fn statuses(net: &Net, tx: &Hash) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for (_, node, e) in &net.events {
        if *node != 0 {
            continue;
        }
        if let Event::TransactionStatus { tx_hash, status } = e {
            if tx_hash == tx {
                let name = match status {
                    TxStatus::Accepted => "accepted",
                    TxStatus::Rejected { .. } => "rejected",
                    TxStatus::Prepared { .. } => "prepared",
                    TxStatus::Rollback { .. } => "rollback",
                    TxStatus::Committed { .. } => "committed",
                    TxStatus::Conflicted { .. } => "conflicted",
                };
                if v.last().map(String::as_str) != Some(name) {
                    v.push(name.to_string());
                }
            }
        }
    }
    v
}

#[test]
fn transaction_goes_accepted_prepared_committed() {
    let mut net = Net::new(ChainConfig::dev(), 4, 2);
    net.run_for(2);
    let tx = genesis_payment(&net, 0, 5_000_000, 1);
    let resubmit = tx.clone();
    let now = net.now_ns;
    let h = net
        .node_mut(0)
        .submit_transaction(now, tx)
        .expect("valid payment");
    net.drain(0);
    net.run_for(25);
    assert_eq!(
        statuses(&net, &h),
        vec!["accepted", "prepared", "committed"]
    );
    // Submitted again once final: already known, and still reported committed (it used to be
    // refused as spending spent inputs and reported "rejected").
    let now = net.now_ns;
    assert_eq!(
        net.node_mut(0).submit_transaction(now, resubmit),
        Err(stegosim_node::chain::ledger::TxError::AlreadyKnown(h))
    );
    net.drain(0);
    assert!(matches!(
        net.node(0).tx_status(&h),
        Some(TxStatus::Committed { .. })
    ));
    for i in 0..4 {
        assert!(
            matches!(
                net.node(i).tx_status(&h),
                Some(TxStatus::Committed { .. }) | Some(TxStatus::Prepared { .. })
            ) || i != 0
        );
    }
}

#[test]
fn popped_block_returns_transaction_to_mempool_and_it_commits_later() {
    let mut net = Net::new(single_validator(), 1, 3);
    net.run_for(1);
    let tx = genesis_payment(&net, 0, 1_000_000, 2);
    let now = net.now_ns;
    let h = net.node_mut(0).submit_transaction(now, tx).unwrap();
    net.drain(0);
    // Run until the transaction is in a micro block, then pop that block.
    while !matches!(net.node(0).tx_status(&h), Some(TxStatus::Prepared { .. })) {
        net.run_for(1);
    }
    let now = net.now_ns;
    net.node_mut(0)
        .pop_micro_block(now)
        .expect("a block to pop");
    net.drain(0);
    assert!(
        net.node(0).mempool().contains(&h),
        "the reverted transaction is back in the mempool"
    );
    net.run_for(25);
    assert_eq!(
        statuses(&net, &h),
        vec![
            "accepted",
            "prepared",
            "rollback",
            "accepted",
            "prepared",
            "committed"
        ]
    );
}

#[test]
fn pop_on_empty_epoch_is_an_error() {
    let mut net = Net::new(single_validator(), 1, 4);
    let now = net.now_ns;
    let err = net.node_mut(0).pop_micro_block(now).unwrap_err();
    assert!(err.contains("nothing to pop"), "{err}");
}

/// Runs in small steps until some node is the leader of the next block and has not produced
/// it yet; returns that node.
fn wait_for_pending_leader(net: &mut Net) -> u32 {
    loop {
        net.run_until(net.now_ns + 100_000_000);
        for i in 0..net.nodes.len() as u32 {
            let node = net.node(i);
            if node.chain().epoch_full() {
                continue;
            }
            let leads = node.network_pkey() == Some(node.chain().leader_at(node.view_change()));
            let pending = matches!(node.poll_timeout(), Some((t, stegosim_node::node::TimerReason::ProduceMicroBlock)) if t > net.now_ns + 200_000_000);
            if leads && pending {
                return i;
            }
        }
    }
}

fn height(net: &Net, id: u32) -> u64 {
    let c = net.node(id).chain();
    c.epoch() * 100 + c.offset() as u64
}

#[test]
fn dead_leader_leads_to_view_change() {
    let mut net = Net::new(ChainConfig::dev(), 4, 5);
    net.run_for(2);
    let id = wait_for_pending_leader(&mut net);
    let other = (id + 1) % 4;
    let before = net.node(other).chain().offset();
    let epoch_before = net.node(other).chain().epoch();
    net.crash(id);
    net.run_for(10);
    assert!(
        net.count_events(|e| matches!(e, Event::ViewChange { view_change: 1, .. })) >= 3,
        "the three live validators moved to view 1"
    );
    let c = net.node(other).chain();
    assert!(
        c.epoch() > epoch_before || c.offset() > before + 1,
        "the chain went on without the dead leader: {epoch_before}:{before} -> {}:{}",
        c.epoch(),
        c.offset()
    );
    let with_view_change = c.micros.iter().filter(|b| b.view_change > 0).count()
        + net
            .events
            .iter()
            .filter(|(_, n, e)| {
                *n == other
                    && matches!(
                        e,
                        Event::MicroBlockPrepared {
                            view_change: 1..,
                            ..
                        }
                    )
            })
            .count();
    assert!(with_view_change > 0, "a block was produced at view 1");
}

#[test]
fn healed_partition_resolves_fork_and_reverts_losing_blocks() {
    let mut net = Net::new(ChainConfig::dev(), 4, 6);
    net.run_for(2);
    // Isolate the next leader before it produces: alone, it makes a block at view 0, while the
    // other three (a supermajority of slots) time out, change view and build their own.
    let id = wait_for_pending_leader(&mut net);
    let others: Vec<u32> = (0..4).filter(|&i| i != id).collect();
    net.partition(&[id], &others);
    net.run_for(6);
    let lone = net
        .events
        .iter()
        .filter(|(_, n, e)| *n == id && matches!(e, Event::MicroBlockPrepared { .. }))
        .count();
    assert!(lone > 0, "the isolated leader made a block");
    assert!(
        net.count_events(|e| matches!(e, Event::ViewChange { .. })) > 0,
        "the majority changed view"
    );
    net.heal();
    net.run_for(30);
    let reverted = net
        .events
        .iter()
        .filter(|(_, n, e)| *n == id && matches!(e, Event::MicroBlockReverted { .. }))
        .count();
    assert!(reverted > 0, "the isolated leader's blocks were reverted");
    // Everyone agrees on the final chain afterwards.
    let e = (0..4).map(|i| net.node(i).chain().epoch()).min().unwrap() as usize;
    for i in 1..4 {
        for k in 0..e {
            assert_eq!(
                net.node(0).chain().macros[k].hash(),
                net.node(i).chain().macros[k].hash(),
                "epoch {k} on node {i}"
            );
        }
    }
    let _ = height(&net, 0);
}

#[test]
fn stakes_expire_and_are_restaked_unless_disabled() {
    let mut net = Net::new(ChainConfig::dev(), 4, 7);
    net.node_mut(3).set_restaking(false);
    net.run_for(45);
    let restakes: Vec<u32> = net
        .events
        .iter()
        .filter(|(_, _, e)| matches!(e, Event::Restake { .. }))
        .map(|(_, n, _)| *n)
        .collect();
    for i in 0..3 {
        assert!(restakes.contains(&i), "node {i} restaked: {restakes:?}");
    }
    assert!(
        !restakes.contains(&3),
        "node 3 has restaking disabled: {restakes:?}"
    );
    // Node 3's stake stays expired, so it drops out of the validator set.
    let v3 = net.node(3).network_pkey().unwrap();
    assert!(!net.node(0).chain().election.is_validator(&v3));
    assert!(net.node(0).chain().election.validators.len() == 3);
}

#[test]
fn same_seed_same_run_different_seed_different_run() {
    let run = |seed| {
        let mut net = Net::new(ChainConfig::dev(), 4, seed);
        net.run_for(25);
        net.hash()
    };
    let a = run(11);
    assert_eq!(a, run(11));
    assert_ne!(a, run(12));
}

/// A leader that pops its block and makes another at the same height and view (its mempool
/// changed) forks the network with two blocks of equal view. Here node 0 is cut off while it
/// collects payments, node 1 pops a block and re-makes it, and the network heals split two
/// against two. Equal views used to mean "keep yours" on both sides, and neither half has the
/// votes to change view: the network stalled at epoch 1 for good. The fork choice now prefers
/// the longer fork (then the lower hash) and nodes ask each other for their epochs.
#[test]
fn equal_view_forks_converge_after_a_leader_pops_and_reproduces() {
    use common::tx::{payment_output, signed_tx};
    use stegosim_node::chain::genesis::GenesisKeys;
    use stegosim_node::chain::tx::Output;

    let mut net = Net::new(ChainConfig::dev(), 4, 0).with_invariants();
    let funded = GenesisKeys::derive(&net.chain).funded_account;
    net.run_for(1);
    net.partition(&[0], &[1, 2, 3]);
    net.run_until(net.now_ns + 3_001_000_000);
    let mut salt = 0u8;
    let mut pay = |net: &mut Net| {
        let node = net.node(0);
        let (h, amount) = node
            .chain()
            .ledger
            .iter()
            .find(|(h, u)| {
                u.output.owner() == funded.public()
                    && !matches!(u.output, Output::Stake(_))
                    && !node.mempool().claimed().contains_key(h)
            })
            .map(|(h, u)| (*h, u.output.amount()))
            .expect("funds");
        salt += 1;
        let fee = 2 * net.chain.payment_fee_min;
        let part = (amount - fee) / 257;
        let outputs = vec![
            payment_output(funded.public(), part, None, [salt; 32]),
            payment_output(funded.public(), amount - fee - part, None, [salt + 100; 32]),
        ];
        let tx = signed_tx(&[&funded], vec![h], outputs, fee);
        let now = net.now_ns;
        net.node_mut(0).submit_transaction(now, tx).expect("valid");
        net.drain(0);
    };
    for _ in 0..4 {
        pay(&mut net);
    }
    let now = net.now_ns;
    net.node_mut(1)
        .pop_micro_block(now)
        .expect("a block to pop");
    net.drain(1);
    pay(&mut net);
    pay(&mut net);
    net.heal();
    net.run_for(40);
    let epochs: Vec<u64> = (0..4).map(|i| net.node(i).chain().epoch()).collect();
    assert!(
        epochs.iter().all(|&e| e >= 3),
        "the network went on: {epochs:?}"
    );
    net.check_full();
    assert_eq!(net.violation, None);
}

/// Nodes whose epochs fill at different times sit in different macro-block rounds: here node 0
/// is cut off and node 2 pops the epoch's last block while the others start the BFT. Round
/// timeouts grow alike on every node, so the gap stayed and the macro block waited for
/// minutes (none within 40 s of healing). Prevotes of a later round from more than a third
/// of the slots now pull a node into that round.
#[test]
fn macro_rounds_catch_up_after_a_pop_and_a_partition() {
    let mut net = Net::new(ChainConfig::dev(), 4, 0).with_invariants();
    net.run_until(net.now_ns + 6_000_000_000);
    net.partition(&[0], &[1, 2, 3]);
    net.run_until(net.now_ns + 4_050_000_000);
    assert!(net.node(2).chain().epoch_full(), "the epoch filled up");
    let now = net.now_ns;
    net.node_mut(2)
        .pop_micro_block(now)
        .expect("a block to pop");
    net.drain(2);
    net.heal();
    net.run_for(40);
    let epochs: Vec<u64> = (0..4).map(|i| net.node(i).chain().epoch()).collect();
    assert!(
        epochs.iter().all(|&e| e >= 3),
        "epochs 1 and 2 were committed: {epochs:?}"
    );
    net.check_full();
    assert_eq!(net.violation, None);
}

/// Node 1 is cut off and node 2 pops the epoch's last block while nodes 0 and 3 start the
/// macro-block BFT: the two of them wait in the BFT for the other two, which wait for a block
/// the first two have. The laggards vote view changes at their height; those votes were
/// ignored by nodes past that height, and nothing else sent the block, so the epoch waited
/// until a round's proposer happened to be node 0 or 3. A node now answers a vote from a
/// lower height of its epoch with its blocks.
#[test]
fn nodes_past_a_height_send_their_blocks_to_validators_voting_at_it() {
    let mut net = Net::new(ChainConfig::dev(), 4, 0).with_invariants();
    net.run_until(net.now_ns + 18_769_000_000);
    net.partition(&[1], &[0, 2, 3]);
    net.run_until(net.now_ns + 1_331_000_000);
    assert!(net.node(2).chain().epoch_full(), "the epoch filled up");
    let epoch = net.node(0).chain().epoch();
    let now = net.now_ns;
    net.node_mut(2)
        .pop_micro_block(now)
        .expect("a block to pop");
    net.drain(2);
    net.heal();
    net.run_for(40);
    let epochs: Vec<u64> = (0..4).map(|i| net.node(i).chain().epoch()).collect();
    assert!(
        epochs.iter().all(|&e| e >= epoch + 2),
        "two more epochs after {epoch}: {epochs:?}"
    );
    net.check_full();
    assert_eq!(net.violation, None);
}
