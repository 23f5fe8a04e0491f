//! A 4-validator dev network driven directly through the sans-IO interface, no network
//! simulator: how much faster than real time does the core run?
//!
//! The driver here is the least a driver can be: every message is delivered after a fixed
//! latency (`LATENCY_NS`), timers fire in time order, ties break by a sequence number. It
//! runs until the network has made `MICRO_BLOCKS` micro blocks (one simulated hour of the dev
//! chain's one-second blocks, plus the macro blocks closing each epoch) and prints the
//! simulated time, the wall time, this thread's CPU time and the ratios.
//!
//! Run with `cargo bench -p stegosim-node --bench network` (add `-- --blocks N` for another
//! length).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use stegosim_node::config::{ChainConfig, SECOND_NS};
use stegosim_node::node::{Dest, Event, Node, NodeConfig, NodeId, Output, PeerMessage};
use stegosim_node::rng::Seed;
use stegosim_node::storage::MemStore;

mod common;
use common::Stopwatch;

/// Validators, one per node.
const NODES: u32 = 4;
/// Micro blocks to make: one simulated hour of one-second blocks.
const MICRO_BLOCKS: u64 = 3600;
/// One-way delay of every message.
const LATENCY_NS: u64 = 50_000_000;

/// A message in flight: (deliver at, sequence, to, from, payload index).
type InFlight = Reverse<(u64, u64, NodeId, NodeId, usize)>;

/// The network: nodes, messages in flight, counters.
struct Driver {
    nodes: Vec<Node>,
    now_ns: u64,
    queue: BinaryHeap<InFlight>,
    /// Payloads of messages in flight (a broadcast is stored once); freed on last delivery.
    payloads: Vec<Option<(Arc<PeerMessage>, u32)>>,
    /// Free slots of `payloads`.
    free: Vec<usize>,
    seq: u64,
    /// Micro blocks made (counted at their leader).
    micro_blocks: u64,
    /// Macro blocks committed (counted at node 0).
    macro_blocks: u64,
    /// Messages delivered.
    messages: u64,
    /// Timer firings.
    timers: u64,
}

impl Driver {
    fn new(chain: ChainConfig, seed: u64) -> Driver {
        let now_ns = chain.genesis_time_ns;
        let nodes = (0..NODES)
            .map(|id| {
                Node::new(
                    NodeConfig::genesis_node(
                        chain.clone(),
                        id,
                        Seed(seed).child("node", id as u64),
                    ),
                    Box::new(MemStore::new()),
                    now_ns,
                )
                .expect("the dev chain is valid")
            })
            .collect();
        Driver {
            nodes,
            now_ns,
            queue: BinaryHeap::new(),
            payloads: Vec::new(),
            free: Vec::new(),
            seq: 0,
            micro_blocks: 0,
            macro_blocks: 0,
            messages: 0,
            timers: 0,
        }
    }

    fn drain(&mut self, id: NodeId) {
        while let Some(out) = self.nodes[id as usize].poll_output() {
            match out {
                Output::Event(Event::MicroBlockPrepared { leader, .. }) => {
                    if self.nodes[id as usize].network_pkey() == Some(leader) {
                        self.micro_blocks += 1;
                    }
                }
                Output::Event(Event::MacroBlockCommitted { .. }) if id == 0 => {
                    self.macro_blocks += 1;
                }
                Output::Event(_) | Output::Reply { .. } | Output::Broadcast(_) => {}
                Output::Send { to, msg } => {
                    let targets: Vec<NodeId> = match to {
                        Dest::All => (0..NODES).filter(|&t| t != id).collect(),
                        Dest::One(t) => vec![t],
                    };
                    let slot = self.free.pop().unwrap_or_else(|| {
                        self.payloads.push(None);
                        self.payloads.len() - 1
                    });
                    self.payloads[slot] = Some((msg, targets.len() as u32));
                    for t in targets {
                        self.seq += 1;
                        self.queue
                            .push(Reverse((self.now_ns + LATENCY_NS, self.seq, t, id, slot)));
                    }
                }
            }
        }
    }

    /// One step: the next message or timer. `false` when nothing is left to do.
    fn step(&mut self) -> bool {
        let msg_t = self.queue.peek().map(|Reverse((t, ..))| *t);
        let timer = (0..NODES)
            .filter_map(|i| self.nodes[i as usize].poll_timeout().map(|(t, _)| (t, i)))
            .min();
        let next = match (msg_t, timer) {
            (None, None) => return false,
            (Some(m), None) => m,
            (None, Some((t, _))) => t,
            (Some(m), Some((t, _))) => m.min(t),
        };
        self.now_ns = self.now_ns.max(next);
        if msg_t == Some(next) {
            let Reverse((_, _, to, from, slot)) = self.queue.pop().expect("peeked");
            let entry = self.payloads[slot].as_mut().expect("payload in flight");
            let msg = Arc::clone(&entry.0);
            entry.1 -= 1;
            if entry.1 == 0 {
                self.payloads[slot] = None;
                self.free.push(slot);
            }
            self.messages += 1;
            self.nodes[to as usize].handle_peer(self.now_ns, from, &msg);
            self.drain(to);
        } else if let Some((_, id)) = timer {
            self.timers += 1;
            self.nodes[id as usize].handle_timeout(self.now_ns);
            self.drain(id);
        }
        true
    }
}

fn main() {
    // `cargo bench` passes `--bench`; take `--blocks N` and ignore the rest.
    let args: Vec<String> = std::env::args().collect();
    let blocks = args
        .iter()
        .position(|a| a == "--blocks")
        .and_then(|i| args.get(i + 1))
        .map_or(MICRO_BLOCKS, |n| {
            n.parse().expect("--blocks takes a number")
        });
    let chain = ChainConfig::dev();
    let start_ns = chain.genesis_time_ns;
    let watch = Stopwatch::start(false);
    let mut net = Driver::new(chain, 1);
    while net.micro_blocks < blocks {
        if !net.step() {
            eprintln!(
                "the network stopped after {} micro blocks",
                net.micro_blocks
            );
            std::process::exit(1);
        }
    }
    let (wall, cpu) = (watch.wall(), watch.cpu());
    let simulated_s = (net.now_ns - start_ns) as f64 / SECOND_NS as f64;
    let epochs: Vec<u64> = net.nodes.iter().map(|n| n.chain().epoch()).collect();
    println!(
        "network: {NODES} validators, {} micro blocks, {} macro blocks, {} messages, {} timer firings",
        net.micro_blocks, net.macro_blocks, net.messages, net.timers
    );
    println!("epochs per node at the end: {epochs:?}");
    println!(
        "simulated: {simulated_s:.1} s, wall: {:.3} s, CPU (this thread): {:.3} s",
        wall.as_secs_f64(),
        cpu.as_secs_f64()
    );
    println!(
        "ratio: {:.1}x real time (wall), {:.1}x (CPU time)",
        simulated_s / wall.as_secs_f64(),
        simulated_s / cpu.as_secs_f64().max(f64::MIN_POSITIVE)
    );
}
