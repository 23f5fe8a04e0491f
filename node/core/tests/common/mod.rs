//! A few lines of deterministic message passing over the sans-IO interface: every node's
//! messages are delivered after a fixed latency, timers fire in time order, and ties break
//! by a sequence number. Links can be cut (partitions) and nodes stopped (crashes).
//!
//! With [`Net::with_invariants`] the network runs the invariant checks of
//! `stegosim_node::invariants` after every step (every delivered message, every timer) and
//! feeds them every event; the first violation is kept in [`Net::violation`].
//! [`tx`] builds signed transactions.

#![allow(dead_code)]

pub mod tx;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::sync::Arc;

use stegosim_node::api::message::{Request, ServerMessage};
use stegosim_node::config::{ChainConfig, SECOND_NS};
use stegosim_node::crypto::KdfParams;
use stegosim_node::invariants::{Checker, Violation};
use stegosim_node::node::{Dest, Event, Node, NodeConfig, NodeId, Output, PeerMessage};
use stegosim_node::rng::Seed;
use stegosim_node::storage::MemStore;

/// The harness's configuration of node `id`: the dev network's, with the simulation KDF
/// (fast, insecure) for wallet keys.
pub fn node_config(chain: &ChainConfig, id: NodeId, seed: Seed) -> NodeConfig {
    let mut cfg = NodeConfig::genesis_node(chain.clone(), id, seed);
    cfg.wallet.kdf = KdfParams::simulation();
    cfg
}

/// Replaces a message node `from` sends, or not (see [`Net::tamper`]).
pub type Tamper = Box<dyn FnMut(NodeId, &PeerMessage) -> Option<PeerMessage>>;

/// A message in flight: (deliver at, sequence, to, from, payload slot).
type InFlight = Reverse<(u64, u64, NodeId, NodeId, usize)>;

pub struct Net {
    pub nodes: Vec<Option<Node>>,
    pub stores: Vec<MemStore>,
    pub chain: ChainConfig,
    pub seed: u64,
    pub now_ns: u64,
    pub latency_ns: u64,
    queue: BinaryHeap<InFlight>,
    payloads: Vec<Option<Arc<PeerMessage>>>,
    seq: u64,
    /// Cut links (from, to).
    pub cut: BTreeSet<(NodeId, NodeId)>,
    /// Every event: (time, node, event).
    pub events: Vec<(u64, NodeId, Event)>,
    /// Every API reply and notification: (node, connection, message); broadcasts have
    /// connection `u64::MAX`.
    pub replies: Vec<(NodeId, u64, ServerMessage)>,
    /// Running hash of every output.
    hasher: blake3::Hasher,
    /// Invariant checks run after every step, when on.
    pub checker: Option<Checker>,
    /// The first invariant violation seen, with the virtual time.
    pub violation: Option<(u64, Violation)>,
    /// Steps taken (messages delivered and timers fired).
    pub steps: u64,
    /// When on, every message sent: (time, from, message).
    pub sent: Option<Vec<(u64, NodeId, Arc<PeerMessage>)>>,
    /// When set, may replace a message a node sends (a cheating node): (from, message) ->
    /// the message to send instead.
    pub tamper: Option<Tamper>,
}

impl Net {
    pub fn new(chain: ChainConfig, nodes: u32, seed: u64) -> Net {
        Net::new_with(chain, nodes, seed, |_, _| {})
    }

    /// [`Net::new`] with each node's configuration adjusted by `adjust` first (genesis
    /// accounts, Snowball parameters).
    pub fn new_with(
        chain: ChainConfig,
        nodes: u32,
        seed: u64,
        adjust: impl Fn(NodeId, &mut NodeConfig),
    ) -> Net {
        let now_ns = chain.genesis_time_ns;
        let mut net = Net {
            nodes: Vec::new(),
            stores: Vec::new(),
            chain: chain.clone(),
            seed,
            now_ns,
            latency_ns: 50_000_000,
            queue: BinaryHeap::new(),
            payloads: Vec::new(),
            seq: 0,
            cut: BTreeSet::new(),
            events: Vec::new(),
            replies: Vec::new(),
            hasher: blake3::Hasher::new(),
            checker: None,
            violation: None,
            steps: 0,
            sent: None,
            tamper: None,
        };
        for id in 0..nodes {
            let store = MemStore::new();
            net.stores.push(store.clone());
            let mut cfg = node_config(&chain, id, Seed(seed).child("node", id as u64));
            adjust(id, &mut cfg);
            let node = Node::new(cfg, Box::new(store), now_ns).unwrap();
            net.nodes.push(Some(node));
        }
        net
    }

    /// Turns on the invariant checks after every step.
    pub fn with_invariants(mut self) -> Net {
        self.checker = Some(Checker::new());
        self
    }

    /// Runs the per-step invariant checks now (the driver calls it after every step; a test
    /// calls it after acting on a node directly). Keeps the first violation.
    pub fn check_step(&mut self) {
        if self.violation.is_some() {
            return;
        }
        let Some(checker) = self.checker.as_mut() else {
            return;
        };
        let chains = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i as NodeId, n.chain())));
        if let Err(v) = checker.check_step(chains) {
            self.violation = Some((self.now_ns, v));
        }
    }

    /// Runs the costlier full checks (every ledger's sum, every final chain from genesis,
    /// agreement from scratch) now. Keeps the first violation.
    pub fn check_full(&mut self) {
        if self.violation.is_some() {
            return;
        }
        let chains: Vec<(NodeId, &stegosim_node::chain::Chain)> = self
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i as NodeId, n.chain())))
            .collect();
        let result = (|| {
            for (id, c) in &chains {
                stegosim_node::invariants::check_ledger_sum(*id, &c.ledger)?;
                stegosim_node::invariants::check_final_chain(*id, c)?;
            }
            stegosim_node::invariants::check_agreement(chains.iter().copied())
        })();
        if let Err(v) = result {
            self.violation = Some((self.now_ns, v));
        }
    }

    pub fn node(&self, id: NodeId) -> &Node {
        self.nodes[id as usize].as_ref().expect("node is running")
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        self.nodes[id as usize].as_mut().expect("node is running")
    }

    /// Cuts every link between the two groups, both ways.
    pub fn partition(&mut self, a: &[NodeId], b: &[NodeId]) {
        for &x in a {
            for &y in b {
                self.cut.insert((x, y));
                self.cut.insert((y, x));
            }
        }
    }

    pub fn heal(&mut self) {
        self.cut.clear();
    }

    pub fn crash(&mut self, id: NodeId) {
        self.nodes[id as usize] = None;
        self.stores[id as usize].crash();
    }

    pub fn restart(&mut self, id: NodeId) {
        let cfg = node_config(
            &self.chain,
            id,
            Seed(self.seed).child("node-restart", id as u64),
        );
        let node = Node::new(cfg, Box::new(self.stores[id as usize].clone()), self.now_ns).unwrap();
        self.nodes[id as usize] = Some(node);
    }

    pub fn drain(&mut self, id: NodeId) {
        loop {
            let Some(node) = self.nodes[id as usize].as_mut() else {
                return;
            };
            let Some(out) = node.poll_output() else {
                return;
            };
            self.hasher
                .update(format!("{} {id} {out:?}\n", self.now_ns).as_bytes());
            match out {
                Output::Event(e) => {
                    if let Some(checker) = self.checker.as_mut() {
                        if let Err(v) = checker.observe_event(id, &e) {
                            self.violation.get_or_insert((self.now_ns, v));
                        }
                    }
                    self.events.push((self.now_ns, id, e))
                }
                Output::Reply { conn, msg } => self.replies.push((id, conn, msg)),
                Output::Broadcast(msg) => self.replies.push((id, u64::MAX, msg)),
                Output::Send { to, mut msg } => {
                    if let Some(f) = self.tamper.as_mut() {
                        if let Some(m) = f(id, &msg) {
                            msg = Arc::new(m);
                        }
                    }
                    if let Some(sent) = self.sent.as_mut() {
                        sent.push((self.now_ns, id, msg.clone()));
                    }
                    let targets: Vec<NodeId> = match to {
                        Dest::All => (0..self.nodes.len() as u32).filter(|&t| t != id).collect(),
                        Dest::One(t) => vec![t],
                    };
                    let slot = self.payloads.len();
                    self.payloads.push(Some(msg));
                    for t in targets {
                        if self.cut.contains(&(id, t)) {
                            continue;
                        }
                        self.seq += 1;
                        self.queue.push(Reverse((
                            self.now_ns + self.latency_ns,
                            self.seq,
                            t,
                            id,
                            slot,
                        )));
                    }
                }
            }
        }
    }

    fn next_timer(&self) -> Option<(u64, NodeId)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                n.as_ref()
                    .and_then(|n| n.poll_timeout())
                    .map(|(t, _)| (t, i as NodeId))
            })
            .min()
    }

    /// Runs until `t_ns` (virtual).
    pub fn run_until(&mut self, t_ns: u64) {
        loop {
            let msg_t = self.queue.peek().map(|Reverse((t, ..))| *t);
            let timer = self.next_timer();
            let next = match (msg_t, timer) {
                (None, None) => break,
                (Some(m), None) => m,
                (None, Some((t, _))) => t,
                (Some(m), Some((t, _))) => m.min(t),
            };
            if next > t_ns {
                break;
            }
            self.now_ns = self.now_ns.max(next);
            if msg_t == Some(next) {
                let Reverse((_, _, to, from, slot)) = self.queue.pop().unwrap();
                let msg = self.payloads[slot].clone().unwrap();
                if let Some(node) = self.nodes[to as usize].as_mut() {
                    node.handle_peer(self.now_ns, from, &msg);
                    self.drain(to);
                }
            } else if let Some((_, id)) = timer {
                let now = self.now_ns;
                self.node_mut(id).handle_timeout(now);
                self.drain(id);
            }
            self.steps += 1;
            if self.checker.is_some() {
                self.check_step();
            }
        }
        self.now_ns = self.now_ns.max(t_ns);
    }

    pub fn run_for(&mut self, secs: u64) {
        let t = self.now_ns + secs * SECOND_NS;
        self.run_until(t);
    }

    /// Sends an API request to node `id` on connection `conn` and returns the replies it
    /// produced at once (responses and notifications to that connection).
    pub fn request(&mut self, id: NodeId, conn: u64, req: Request) -> Vec<ServerMessage> {
        let before = self.replies.len();
        let now = self.now_ns;
        self.node_mut(id).handle_request(now, conn, req);
        self.drain(id);
        self.replies[before..]
            .iter()
            .filter(|(n, c, _)| *n == id && *c == conn)
            .map(|(_, _, m)| m.clone())
            .collect()
    }

    pub fn hash(&self) -> String {
        self.hasher.clone().finalize().to_hex().to_string()
    }

    pub fn count_events(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|(_, _, e)| f(e)).count()
    }
}
