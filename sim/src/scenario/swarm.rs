//! Swarm testing (after TigerBeetle's VOPR): the seed chooses the fault mix.
//!
//! For each kind of fault the seed first decides whether it happens at all in this run (so
//! some runs have only partitions, others only crashes and loss), then how many, when, on
//! which nodes and how hard, within the bounds of [`SwarmSpec`]. At `faults_until` every
//! fault is undone: links healed, the base link model restored, every node running with a
//! steady clock. What follows is the liveness phase, where the convergence invariant and the
//! scenario's expectations say whether the network recovered.
//!
//! The faults become ordinary steps, so the trace shows each one like a scripted fault.

use stegosim_node::rng::{Seed, Stream};

use super::{LatencySpec, Located, NodeRef, Step, SwarmSpec};
use crate::des::net::LinkOptions;
use crate::time::{Duration, MILLISECOND_NS, SECOND_NS};

/// Shortest fault the swarm makes.
const FAULT_NS_MIN: u64 = 2 * SECOND_NS;

fn between(rng: &mut Stream, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    lo + rng.below(hi - lo + 1)
}

fn probability(rng: &mut Stream, max: f64) -> f64 {
    // Round to a millionth so the trace shows short numbers.
    (rng.unit_f64() * max * 1e6).round() / 1e6
}

/// The steps the swarm adds for `seed`, on a network of `nodes` nodes whose base link model
/// is `base`. `line` is the line of the `[swarm]` table (for messages).
pub fn steps(
    spec: &SwarmSpec,
    seed: u64,
    nodes: u32,
    base: &LinkOptions,
    line: usize,
) -> Vec<Located<Step>> {
    let mut rng = Seed(seed).stream("swarm");
    let from = spec.faults_from.ns;
    let until = spec.faults_until.ns;
    let mut out: Vec<Step> = Vec::new();
    let at = |ns: u64| Duration::from_ns(ns);
    let when = |rng: &mut Stream| {
        let latest = until.saturating_sub(FAULT_NS_MIN).max(from);
        let t = between(rng, from, latest);
        let d = between(
            rng,
            FAULT_NS_MIN,
            spec.fault_duration_max.ns.max(FAULT_NS_MIN),
        );
        (t, (t + d).min(until))
    };
    let enabled = |rng: &mut Stream, max: u32| {
        if max == 0 || rng.below(2) == 0 {
            0
        } else {
            1 + rng.below(max as u64) as u32
        }
    };

    let partitions = enabled(&mut rng, spec.partitions_max);
    let crashes = enabled(&mut rng, spec.crashes_max);
    let network_changes = enabled(&mut rng, spec.network_changes_max);
    let drifts = enabled(&mut rng, spec.clock_drifts_max);
    let pops = enabled(&mut rng, spec.pops_max);

    for _ in 0..network_changes {
        let (t, _) = when(&mut rng);
        let min_ms = between(&mut rng, 1, 20);
        let max_ms = between(&mut rng, min_ms + 1, 300);
        out.push(Step::SetNetwork {
            at: at(t),
            latency: Some(LatencySpec::Uniform {
                min: Duration::from_ns(min_ms * MILLISECOND_NS),
                max: Duration::from_ns(max_ms * MILLISECOND_NS),
            }),
            loss: Some(probability(&mut rng, spec.loss_max)),
            duplicate: Some(probability(&mut rng, spec.duplicate_max)),
            reorder: Some(probability(&mut rng, spec.reorder_max)),
            reorder_delay: Some(Duration::from_ns(
                between(&mut rng, 1, 500) * MILLISECOND_NS,
            )),
            from: None,
            to: None,
        });
    }
    for _ in 0..partitions {
        let (t, end) = when(&mut rng);
        // A random non-empty proper subset on one side.
        let mut side: Vec<NodeRef> = Vec::new();
        let size = between(&mut rng, 1, (nodes as u64 / 2).max(1)) as usize;
        let mut pool: Vec<u32> = (0..nodes).collect();
        for _ in 0..size.min(nodes as usize - 1) {
            let i = rng.below(pool.len() as u64) as usize;
            side.push(NodeRef::Index(pool.swap_remove(i)));
        }
        side.sort();
        if side.is_empty() {
            continue;
        }
        if rng.below(3) == 0 {
            // One way: the group's messages to the others are dropped.
            out.push(Step::Cut {
                at: at(t),
                from: side,
                to: vec![NodeRef::Rest],
            });
        } else {
            out.push(Step::Partition {
                at: at(t),
                groups: vec![side, vec![NodeRef::Rest]],
            });
        }
        out.push(Step::Heal { at: at(end) });
    }
    for _ in 0..crashes {
        let (t, end) = when(&mut rng);
        let node = NodeRef::Index(rng.below(nodes as u64) as u32);
        out.push(Step::Crash {
            at: at(t),
            node: node.clone(),
        });
        out.push(Step::Restart { at: at(end), node });
    }
    for _ in 0..drifts {
        let (t, _) = when(&mut rng);
        let max = spec.drift_ppm_max.max(0) as u64;
        let drift = between(&mut rng, 0, 2 * max) as i64 - max as i64;
        out.push(Step::ClockDrift {
            at: at(t),
            node: NodeRef::Index(rng.below(nodes as u64) as u32),
            drift_ppm: drift,
            jump: Duration::from_ns(between(&mut rng, 0, 1_000) * MILLISECOND_NS),
        });
    }
    for _ in 0..pops {
        let (t, _) = when(&mut rng);
        out.push(Step::PopMicroBlock {
            at: at(t),
            node: NodeRef::Random,
        });
    }

    // The liveness phase: undo everything.
    out.push(Step::Heal { at: at(until) });
    out.push(Step::SetNetwork {
        at: at(until),
        latency: Some(latency_spec(base)),
        loss: Some(base.loss_probability),
        duplicate: Some(base.duplicate_probability),
        reorder: Some(base.reorder_probability),
        reorder_delay: Some(Duration::from_ns(base.reorder_delay_ns_max)),
        from: None,
        to: None,
    });
    for n in 0..nodes {
        out.push(Step::Restart {
            at: at(until),
            node: NodeRef::Index(n),
        });
        if drifts > 0 {
            out.push(Step::ClockDrift {
                at: at(until),
                node: NodeRef::Index(n),
                drift_ppm: 0,
                jump: Duration::from_ns(0),
            });
        }
    }
    out.into_iter()
        .map(|value| Located { line, value })
        .collect()
}

fn latency_spec(base: &LinkOptions) -> LatencySpec {
    use crate::des::net::Latency;
    match base.latency {
        Latency::Constant { latency_ns } => LatencySpec::Constant {
            value: Duration::from_ns(latency_ns),
        },
        Latency::Uniform {
            latency_ns_min,
            latency_ns_max,
        } => LatencySpec::Uniform {
            min: Duration::from_ns(latency_ns_min),
            max: Duration::from_ns(latency_ns_max),
        },
        Latency::Exponential {
            latency_ns_min,
            latency_ns_mean,
            latency_ns_max,
        } => LatencySpec::Exponential {
            min: Duration::from_ns(latency_ns_min),
            mean: Duration::from_ns(latency_ns_mean),
            max: Duration::from_ns(latency_ns_max),
        },
    }
}
