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
    let mut s = Swarm {
        spec,
        rng: Seed(seed).stream("swarm"),
        nodes,
        out: Vec::new(),
    };
    let partitions = s.enabled(spec.partitions_max);
    let crashes = s.enabled(spec.crashes_max);
    let network_changes = s.enabled(spec.network_changes_max);
    let drifts = s.enabled(spec.clock_drifts_max);
    let pops = s.enabled(spec.pops_max);
    for _ in 0..network_changes {
        s.network_change();
    }
    for _ in 0..partitions {
        s.partition();
    }
    for _ in 0..crashes {
        s.crash();
    }
    for _ in 0..drifts {
        s.drift();
    }
    for _ in 0..pops {
        let (t, _) = s.when();
        s.out.push(Step::PopMicroBlock {
            at: at(t),
            node: NodeRef::Random,
        });
    }
    s.liveness(base, drifts > 0);
    s.out
        .into_iter()
        .map(|value| Located { line, value })
        .collect()
}

fn at(ns: u64) -> Duration {
    Duration::from_ns(ns)
}

/// The draws of one seed's fault mix, in the order they are drawn (the order is part of
/// what a seed means: changing it changes every swarm run).
struct Swarm<'s> {
    spec: &'s SwarmSpec,
    rng: Stream,
    nodes: u32,
    /// The steps drawn so far.
    out: Vec<Step>,
}

impl Swarm<'_> {
    /// A fault's start and end: within the fault window, at least [`FAULT_NS_MIN`] long.
    fn when(&mut self) -> (u64, u64) {
        let (from, until) = (self.spec.faults_from.ns, self.spec.faults_until.ns);
        let latest = until.saturating_sub(FAULT_NS_MIN).max(from);
        let t = between(&mut self.rng, from, latest);
        let d = between(
            &mut self.rng,
            FAULT_NS_MIN,
            self.spec.fault_duration_max.ns.max(FAULT_NS_MIN),
        );
        (t, (t + d).min(until))
    }

    /// How many faults of a kind: none half the time, else 1 to `max`.
    fn enabled(&mut self, max: u32) -> u32 {
        if max == 0 || self.rng.below(2) == 0 {
            0
        } else {
            1 + self.rng.below(max as u64) as u32
        }
    }

    /// A change of every link's latency, loss, duplication and reordering.
    fn network_change(&mut self) {
        let (t, _) = self.when();
        let rng = &mut self.rng;
        let min_ms = between(rng, 1, 20);
        let max_ms = between(rng, min_ms + 1, 300);
        let spec = self.spec;
        self.out.push(Step::SetNetwork {
            at: at(t),
            latency: Some(LatencySpec::Uniform {
                min: Duration::from_ns(min_ms * MILLISECOND_NS),
                max: Duration::from_ns(max_ms * MILLISECOND_NS),
            }),
            loss: Some(probability(rng, spec.loss_max)),
            duplicate: Some(probability(rng, spec.duplicate_max)),
            reorder: Some(probability(rng, spec.reorder_max)),
            reorder_delay: Some(Duration::from_ns(between(rng, 1, 500) * MILLISECOND_NS)),
            from: None,
            to: None,
        });
    }

    /// A partition (two-way, or one-way a third of the time) of a random side, then a heal.
    fn partition(&mut self) {
        let (t, end) = self.when();
        let nodes = self.nodes;
        // A random non-empty proper subset on one side.
        let mut side: Vec<NodeRef> = Vec::new();
        let size = between(&mut self.rng, 1, (nodes as u64 / 2).max(1)) as usize;
        let mut pool: Vec<u32> = (0..nodes).collect();
        for _ in 0..size.min(nodes as usize - 1) {
            let i = self.rng.below(pool.len() as u64) as usize;
            side.push(NodeRef::Index(pool.swap_remove(i)));
        }
        side.sort();
        if side.is_empty() {
            return;
        }
        if self.rng.below(3) == 0 {
            // One way: the group's messages to the others are dropped.
            self.out.push(Step::Cut {
                at: at(t),
                from: side,
                to: vec![NodeRef::Rest],
            });
        } else {
            self.out.push(Step::Partition {
                at: at(t),
                groups: vec![side, vec![NodeRef::Rest]],
            });
        }
        self.out.push(Step::Heal { at: at(end) });
    }

    /// A crash of a random node, then its restart.
    fn crash(&mut self) {
        let (t, end) = self.when();
        let node = NodeRef::Index(self.rng.below(self.nodes as u64) as u32);
        self.out.push(Step::Crash {
            at: at(t),
            node: node.clone(),
        });
        self.out.push(Step::Restart { at: at(end), node });
    }

    /// A random node's clock drifts and jumps.
    fn drift(&mut self) {
        let (t, _) = self.when();
        let max = self.spec.drift_ppm_max.max(0) as u64;
        let drift = between(&mut self.rng, 0, 2 * max) as i64 - max as i64;
        let node = NodeRef::Index(self.rng.below(self.nodes as u64) as u32);
        let jump = Duration::from_ns(between(&mut self.rng, 0, 1_000) * MILLISECOND_NS);
        self.out.push(Step::ClockDrift {
            at: at(t),
            node,
            drift_ppm: drift,
            jump,
        });
    }

    /// The liveness phase at the window's end: undo everything.
    fn liveness(&mut self, base: &LinkOptions, drifted: bool) {
        let until = at(self.spec.faults_until.ns);
        self.out.push(Step::Heal { at: until });
        self.out.push(Step::SetNetwork {
            at: until,
            latency: Some(latency_spec(base)),
            loss: Some(base.loss_probability),
            duplicate: Some(base.duplicate_probability),
            reorder: Some(base.reorder_probability),
            reorder_delay: Some(Duration::from_ns(base.reorder_delay_ns_max)),
            from: None,
            to: None,
        });
        for n in 0..self.nodes {
            self.out.push(Step::Restart {
                at: until,
                node: NodeRef::Index(n),
            });
            if drifted {
                self.out.push(Step::ClockDrift {
                    at: until,
                    node: NodeRef::Index(n),
                    drift_ppm: 0,
                    jump: Duration::from_ns(0),
                });
            }
        }
    }
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
