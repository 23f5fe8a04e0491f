//! View changes converge when one voter lags (issue 14 item 1): the next leader crashes and
//! one live validator misses the others' view-change votes for a few seconds (its incoming
//! links cut, or it restarts during the cut and comes back at view 0). Once three quarters
//! of the slots are up and connected again, the chain must make progress within three view
//! timeouts.

mod common;

use common::Net;
use stegosim_node::config::{ChainConfig, SECOND_NS};
use stegosim_node::node::{NodeId, TimerReason};

/// Runs in small steps until some validator leads the next micro block and will produce it
/// no sooner than 200 ms from now (and the epoch has room for a few more blocks).
fn wait_for_pending_leader(net: &mut Net) -> NodeId {
    loop {
        net.run_until(net.now_ns + 100_000_000);
        for i in 0..net.nodes.len() as NodeId {
            let node = net.node(i);
            if node.chain().offset() + 3 > net.chain.micro_blocks_per_epoch {
                continue;
            }
            let leads = node.network_pkey() == Some(node.chain().leader_at(node.view_change()));
            let pending = matches!(node.poll_timeout(), Some((t, TimerReason::ProduceMicroBlock)) if t > net.now_ns + 200_000_000);
            if leads && pending {
                return i;
            }
        }
    }
}

fn height(net: &Net, id: NodeId) -> u64 {
    let c = net.node(id).chain();
    c.epoch() * 1000 + c.offset() as u64
}

/// One run: the leader crashes, the links into one live validator are cut for `cut_s`
/// seconds (it restarts in the middle when `restart`), then healed. Returns whether every
/// live validator made progress within three view timeouts of the heal.
fn lagging_voter_run(
    seed: u64,
    warmup_s: u64,
    lag_pick: u32,
    cut_s: u64,
    restart: bool,
) -> Result<(), String> {
    let chain = ChainConfig::dev();
    let timeout = chain.micro_block_timeout_ns;
    let mut net = Net::new(chain, 4, seed).with_invariants();
    net.run_for(2 + warmup_s);
    let dead = wait_for_pending_leader(&mut net);
    let lag = (dead + 1 + lag_pick) % 4;
    net.crash(dead);
    let live: Vec<NodeId> = (0..4).filter(|&i| i != dead).collect();
    for &o in &live {
        if o != lag {
            net.cut.insert((o, lag));
        }
    }
    if restart {
        net.run_for(cut_s / 2);
        net.crash(lag);
        net.restart(lag);
        net.run_for(cut_s - cut_s / 2);
    } else {
        net.run_for(cut_s);
    }
    net.heal();
    let at_heal: Vec<u64> = live.iter().map(|&i| height(&net, i)).collect();
    let healed = net.now_ns;
    // Three view timeouts, plus one for each view the live nodes reach whose drawn leader is
    // the crashed node (it cannot produce; the next view needs another timeout).
    let mut deadline = healed + 3 * timeout + SECOND_NS;
    let mut dead_views = std::collections::BTreeSet::new();
    loop {
        net.run_until(net.now_ns + 100_000_000);
        for &i in &live {
            let n = net.node(i);
            let leader = n.chain().leader_at(n.view_change());
            let dead_pk = stegosim_node::chain::genesis::GenesisKeys::derive(&net.chain).validators
                [dead as usize]
                .public()
                .to_owned();
            if leader == dead_pk
                && dead_views.insert((n.chain().epoch(), n.chain().offset(), n.view_change()))
                && n.view_change() > 0
            {
                deadline += timeout;
            }
        }
        let progressed = live
            .iter()
            .zip(&at_heal)
            .all(|(&i, h)| height(&net, i) > *h);
        if progressed || net.now_ns >= deadline {
            break;
        }
    }
    let now: Vec<u64> = live.iter().map(|&i| height(&net, i)).collect();
    let views: Vec<u32> = live.iter().map(|&i| net.node(i).view_change()).collect();
    if let Some(v) = &net.violation {
        return Err(format!("seed {seed}: invariant violated: {v:?}"));
    }
    if std::env::var("VIEW_DEBUG").is_ok() {
        eprintln!(
            "seed {seed} cut {cut_s}: {at_heal:?} -> {now:?} views {views:?} dead {dead} lag {lag}"
        );
    }
    if now.iter().zip(&at_heal).any(|(n, h)| n <= h) {
        return Err(format!(
            "seed {seed}: no progress within 3 view timeouts of the heal: heights {at_heal:?} -> {now:?}, views {views:?} (dead {dead}, lagging {lag})"
        ));
    }
    Ok(())
}

fn sweep(restart: bool) {
    let runs: Vec<(u64, u32, u64)> = (0..20)
        .flat_map(|warmup| (0..3).flat_map(move |lag| [5, 7].map(move |cut| (warmup, lag, cut))))
        .collect();
    let failures: Vec<String> = runs
        .iter()
        .filter_map(|&(warmup, lag, cut)| {
            lagging_voter_run(warmup, warmup, lag, cut, restart)
                .err()
                .map(|e| format!("warmup {warmup}s, lag pick {lag}, cut {cut}s: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} runs froze:\n{}",
        failures.len(),
        runs.len(),
        failures.join("\n")
    );
}

#[test]
fn view_change_converges_when_one_voter_lags() {
    sweep(false);
}

#[test]
fn view_change_converges_when_a_voter_restarts_during_a_partition() {
    sweep(true);
}
