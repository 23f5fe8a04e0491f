//! The node under adversity: what transaction statuses say, and how fast the network
//! recovers, after partitions, forks and long faults.

mod common;

use common::Net;
use stegosim_node::config::{ChainConfig, SECOND_NS};
use stegosim_node::node::{Event, TimerReason};

/// Every link between every two of the `n` nodes, both ways.
fn isolate_all(net: &mut Net, n: u32) {
    for a in 0..n {
        for b in 0..n {
            if a != b {
                net.cut.insert((a, b));
            }
        }
    }
}

/// The macro-block BFT stalls for ten minutes (every node cut off from every other just as
/// the epoch fills). Round timeouts grew without a cap, `(r + 1)` times the first one: after
/// ten minutes a round lasted about 50 s, and the healed network waited for it to end. With
/// `macro_round_timeout_max_ns`, no round waits longer than the cap, and the epoch closes
/// about one capped round after the heal.
#[test]
fn macro_round_timeout_is_capped_after_a_long_stall() {
    let chain = ChainConfig::dev();
    let cap = chain.macro_round_timeout_max_ns;
    let mut net = Net::new(chain, 4, 21).with_invariants();
    // Run in small steps until some node's epoch is full, then cut every link.
    while !(0..4).any(|i| net.node(i).chain().epoch_full()) {
        net.run_until(net.now_ns + 10_000_000);
    }
    let epoch = net.node(0).chain().epoch();
    isolate_all(&mut net, 4);
    net.run_for(5);
    assert!(
        (0..4).all(|i| net.node(i).chain().epoch() == epoch),
        "no macro block without votes"
    );
    // Ten minutes of failing rounds; every macro round deadline stays within the cap.
    for _ in 0..600 {
        net.run_for(1);
        for i in 0..4 {
            let node = net.node(i);
            if let Some((at, TimerReason::MacroRoundTimeout)) = node.poll_timeout() {
                assert!(
                    at <= net.now_ns + cap,
                    "node {i}: macro round {}s away, past the cap of {}s",
                    (at - net.now_ns) / SECOND_NS,
                    cap / SECOND_NS
                );
            }
        }
    }
    assert!(
        (0..4).all(|i| net.node(i).chain().epoch() == epoch),
        "still stalled"
    );
    net.heal();
    let healed = net.now_ns;
    while (0..4).any(|i| net.node(i).chain().epoch() == epoch) {
        net.run_until(net.now_ns + 100_000_000);
        assert!(
            net.now_ns <= healed + cap + 5 * SECOND_NS,
            "the epoch was not closed within one capped round of the heal"
        );
    }
    let committed = net
        .count_events(|e| matches!(e, Event::MacroBlockCommitted { epoch: e, .. } if *e == epoch));
    assert_eq!(committed, 4);
    net.check_full();
    assert_eq!(net.violation, None);
}
