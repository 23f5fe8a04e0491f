//! The ring benchmark: the `des` engine alone, without node cores.
//!
//! `n` hosts stand in a ring; every `interval_ns` each sends a payload to its right-hand
//! neighbour over a link with uniform latency. The engine's work per simulated second is then
//! `2 * n / interval` events (one timer, one delivery per send), which makes the
//! simulated-time-to-wall-time ratio a measure of the engine's cost per event. The caller
//! measures wall time (the library never reads a clock).

pub mod turmoil;

use std::sync::Arc;

use stegosim_node::rng::Seed;

use crate::des::net::{Latency, LinkOptions};
use crate::des::{Engine, Fired};
use crate::time::{MILLISECOND_NS, SECOND_NS};

/// Largest ring the benchmark builds.
pub const RING_NODES_MAX: u32 = 1_000_000;

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingOptions {
    /// Hosts in the ring.
    pub nodes: u32,
    /// Virtual time to simulate.
    pub duration_ns: u64,
    /// Time between two sends of one host.
    pub interval_ns: u64,
    /// Smallest link latency.
    pub latency_ns_min: u64,
    /// Largest link latency.
    pub latency_ns_max: u64,
    /// Bytes per message.
    pub payload_bytes: usize,
    /// Seed of the latency draws.
    pub seed: u64,
}

impl Default for RingOptions {
    /// 100 hosts, 64 bytes every 10 ms, 1-10 ms latency, 60 simulated seconds.
    fn default() -> Self {
        RingOptions {
            nodes: 100,
            duration_ns: 60 * SECOND_NS,
            interval_ns: 10 * MILLISECOND_NS,
            latency_ns_min: MILLISECOND_NS,
            latency_ns_max: 10 * MILLISECOND_NS,
            payload_bytes: 64,
            seed: 1,
        }
    }
}

/// What the run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingReport {
    /// Virtual time simulated.
    pub simulated_ns: u64,
    /// Events handled.
    pub events: u64,
    /// Messages delivered.
    pub messages: u64,
    /// Payload bytes delivered.
    pub bytes: u64,
}

/// Runs the ring.
pub fn ring(o: &RingOptions) -> RingReport {
    assert!(
        o.nodes >= 2 && o.nodes <= RING_NODES_MAX,
        "a ring needs 2 to {RING_NODES_MAX} hosts"
    );
    let links = LinkOptions {
        latency: Latency::Uniform {
            latency_ns_min: o.latency_ns_min,
            latency_ns_max: o.latency_ns_max,
        },
        ..LinkOptions::default()
    };
    let start_ns = 0;
    let root = Seed(o.seed);
    let mut engine: Engine<Arc<[u8]>> = Engine::new(o.nodes, start_ns, links, root.stream("net"));
    let payload: Arc<[u8]> = vec![0xa5u8; o.payload_bytes].into();
    // Stagger the first sends over one interval so the hosts do not all fire at once.
    let mut stagger = root.stream("stagger");
    for h in 0..o.nodes {
        let first = stagger.below(o.interval_ns.max(1));
        engine.set_timer(h, Some(start_ns + first));
    }
    let end = start_ns + o.duration_ns;
    let mut messages = 0u64;
    let mut bytes = 0u64;
    while let Some(f) = engine.next(end) {
        match f {
            Fired::Timer { host } => {
                let to = (host + 1) % o.nodes;
                let _ = engine.send(host, to, payload.clone());
                let next = engine.local_now_ns(host) + o.interval_ns;
                engine.set_timer(host, Some(next));
            }
            Fired::Deliver { msg, .. } => {
                messages += 1;
                bytes += msg.len() as u64;
            }
            Fired::Control { .. } => {}
        }
    }
    engine.advance_to(end);
    RingReport {
        simulated_ns: engine.elapsed_ns(),
        events: engine.stats().events,
        messages,
        bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_delivers_about_one_message_per_host_per_interval() {
        let r = ring(&RingOptions {
            nodes: 10,
            duration_ns: SECOND_NS,
            ..RingOptions::default()
        });
        assert_eq!(r.simulated_ns, SECOND_NS);
        // 10 hosts x 100 sends, minus those still in flight at the end.
        assert!((980..=1_000).contains(&r.messages), "{}", r.messages);
        assert_eq!(r.bytes, r.messages * 64);
    }
}
