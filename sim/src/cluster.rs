//! The node driver: runs the sans-IO node cores on the `des` engine.
//!
//! [`Cluster`] owns the nodes and their in-memory stores. For every event the engine fires it
//! calls the right node (`handle_peer`, `handle_timeout`), then drains the node's outputs
//! following the node's calling contract: messages go to the engine (which applies the
//! network model), events are handed back to the caller, and the node's next deadline
//! re-arms its one timer in the engine. Nodes see their own clock (the engine's per-host
//! clock), never virtual time itself.

use std::collections::BTreeMap;
use std::sync::Arc;

use stegosim_node::chain::tx::Transaction;
use stegosim_node::config::ChainConfig;
use stegosim_node::crypto::PublicKey;
use stegosim_node::node::{Dest, Event, Node, NodeConfig, NodeId, Output, PeerMessage};
use stegosim_node::rng::Seed;
use stegosim_node::storage::MemStore;

use crate::des::Engine;
use crate::sigcache::SigCache;

/// Most times in a row a node may ask to be woken again at the very instant its timer just
/// fired. Past this the driver wakes it one millisecond later instead (and reports a stall),
/// so a node that keeps asking for "now" cannot freeze virtual time.
pub const TIMER_REFIRES_MAX: u32 = 16;

/// Delay the driver adds to a node's timer after a stall.
pub const STALL_DELAY_NS: u64 = 1_000_000;

/// Messages between nodes, shared between the destinations of a broadcast.
pub type Msg = Arc<PeerMessage>;

/// What the driver saw while calling a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverEvent {
    /// The node reported an event. For a `Restake`, `relayed` holds the restake transaction
    /// the node relayed just before (so the trace can show its outputs).
    Node {
        /// Which node.
        node: NodeId,
        /// What it reported.
        event: Event,
        /// The restake transaction, for `Event::Restake`.
        relayed: Option<Box<Transaction>>,
    },
    /// An API response or notification to the scenario's client of `node`.
    Api {
        /// Which node answered.
        node: NodeId,
        /// The API connection it is for (as given to `Node::handle_request`); `None` for a
        /// wallet notification, which goes to every connection of the node.
        conn: Option<stegosim_node::node::ConnId>,
        /// The message.
        msg: stegosim_api::message::ServerMessage,
    },
    /// The node asked for its timer at the same instant too often (see [`TIMER_REFIRES_MAX`]).
    TimerStall {
        /// Which node.
        node: NodeId,
    },
}

/// The seed of node `id`'s `incarnation`-th start (0 for the first), under the run's `nodes`
/// seed. Both engines start nodes from it (written once, so they cannot drift apart); a
/// restarted node draws from a new stream, not the one its crashed incarnation used.
pub fn incarnation_seed(nodes: Seed, id: NodeId, incarnation: u32) -> Seed {
    nodes
        .child("node", id as u64)
        .child("incarnation", incarnation as u64)
}

/// The configuration of simulated node `id` (both engines start nodes the same way): the
/// chain's genesis node, the cheap KDF, and the genesis-funded accounts `accounts` (node,
/// password, in `chain.genesis_accounts` order) that node `id` holds.
pub fn sim_node_config(
    chain: &ChainConfig,
    id: NodeId,
    seed: Seed,
    accounts: &[(NodeId, String)],
) -> NodeConfig {
    let mut cfg = NodeConfig::genesis_node(chain.clone(), id, seed);
    // Simulations create and unseal accounts by the thousand: the cheap KDF keeps them fast.
    cfg.wallet.kdf = stegosim_node::crypto::KdfParams::simulation();
    cfg.wallet.genesis_accounts = accounts
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| *n == id)
        .map(|(i, (_, pw))| (i, pw.clone()))
        .collect();
    cfg
}

/// The nodes of a simulated network.
#[derive(Debug)]
pub struct Cluster {
    /// The chain every node runs.
    chain: ChainConfig,
    /// Root of the nodes' randomness.
    seed: Seed,
    /// The nodes; `None` while crashed.
    nodes: Vec<Option<Node>>,
    /// Each node's store, kept across crashes.
    stores: Vec<MemStore>,
    /// Whether the scenario's client has used the API (then wallet notifications are traced).
    pub api_client: bool,
    /// How many times each node has been started.
    incarnations: Vec<u32>,
    /// Signature checks shared by all nodes.
    sigs: Arc<SigCache>,
    /// Validator network key -> node index.
    by_key: BTreeMap<PublicKey, NodeId>,
    /// Per node: the virtual instant its timer last fired and how often in a row at it.
    refires: Vec<(u64, u32)>,
    /// Genesis-funded accounts: (node, password), in `chain.genesis_accounts` order.
    accounts: Vec<(NodeId, String)>,
}

impl Cluster {
    /// `count` nodes of `chain` (the first `chain.genesis_validators` are validators), all
    /// started, with their first timers armed in `engine`.
    pub fn new(
        chain: &ChainConfig,
        count: u32,
        seed: Seed,
        engine: &mut Engine<Msg>,
        out: &mut Vec<DriverEvent>,
    ) -> Result<Cluster, String> {
        Self::with_accounts(chain, count, seed, Vec::new(), engine, out)
    }

    /// [`Cluster::new`] with genesis-funded wallet accounts: `accounts[i]` is the node and
    /// password of the account holding `chain.genesis_accounts[i]`.
    pub fn with_accounts(
        chain: &ChainConfig,
        count: u32,
        seed: Seed,
        accounts: Vec<(NodeId, String)>,
        engine: &mut Engine<Msg>,
        out: &mut Vec<DriverEvent>,
    ) -> Result<Cluster, String> {
        let mut c = Cluster {
            accounts,
            chain: chain.clone(),
            seed,
            nodes: (0..count).map(|_| None).collect(),
            stores: (0..count).map(|_| MemStore::new()).collect(),
            incarnations: vec![0; count as usize],
            api_client: false,
            sigs: Arc::new(SigCache::new()),
            by_key: BTreeMap::new(),
            refires: vec![(u64::MAX, 0); count as usize],
        };
        for id in 0..count {
            c.start(id, engine, out)?;
            if let Some(k) = c.node(id).and_then(Node::network_pkey) {
                c.by_key.insert(k, id);
            }
        }
        Ok(c)
    }

    fn start(
        &mut self,
        id: NodeId,
        engine: &mut Engine<Msg>,
        out: &mut Vec<DriverEvent>,
    ) -> Result<(), String> {
        let incarnation = self.incarnations[id as usize];
        self.incarnations[id as usize] += 1;
        let seed = incarnation_seed(self.seed, id, incarnation);
        let cfg = sim_node_config(&self.chain, id, seed, &self.accounts);
        let node = Node::with_sig_checker(
            cfg,
            Box::new(self.stores[id as usize].clone()),
            engine.local_now_ns(id),
            self.sigs.clone(),
        )?;
        self.nodes[id as usize] = Some(node);
        self.refires[id as usize] = (u64::MAX, 0);
        self.pump(id, engine, out);
        Ok(())
    }

    /// Node `id`, unless it is crashed.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id as usize).and_then(Option::as_ref)
    }

    /// The running nodes, with their indices.
    pub fn running(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (i as NodeId, n)))
    }

    /// The node running the validator with network key `key`.
    pub fn node_of_key(&self, key: &PublicKey) -> Option<NodeId> {
        self.by_key.get(key).copied()
    }

    /// How many times node `id` has been started.
    pub fn incarnation(&self, id: NodeId) -> u32 {
        self.incarnations[id as usize]
    }

    /// Delivers `msg` from `from` to node `to`.
    pub fn deliver(
        &mut self,
        engine: &mut Engine<Msg>,
        from: NodeId,
        to: NodeId,
        msg: &PeerMessage,
        out: &mut Vec<DriverEvent>,
    ) {
        let now = engine.local_now_ns(to);
        if let Some(node) = self.nodes[to as usize].as_mut() {
            node.handle_peer(now, from, msg);
            self.pump(to, engine, out);
        }
    }

    /// Fires the timer of node `id`.
    pub fn timeout(&mut self, engine: &mut Engine<Msg>, id: NodeId, out: &mut Vec<DriverEvent>) {
        let now_v = engine.now_ns();
        let r = &mut self.refires[id as usize];
        if r.0 == now_v {
            r.1 += 1;
        } else {
            *r = (now_v, 1);
        }
        let now = engine.local_now_ns(id);
        if let Some(node) = self.nodes[id as usize].as_mut() {
            node.handle_timeout(now);
            self.pump(id, engine, out);
        }
    }

    /// Calls `f` on node `id` with its local time, then drains its outputs. `None` when the
    /// node is crashed.
    pub fn with_node<R>(
        &mut self,
        engine: &mut Engine<Msg>,
        id: NodeId,
        out: &mut Vec<DriverEvent>,
        f: impl FnOnce(&mut Node, u64) -> R,
    ) -> Option<R> {
        let now = engine.local_now_ns(id);
        let node = self.nodes[id as usize].as_mut()?;
        let r = f(node, now);
        self.pump(id, engine, out);
        Some(r)
    }

    /// Crashes node `id`: it stops and its store loses unsynced writes. False when it was
    /// already down.
    pub fn crash(&mut self, engine: &mut Engine<Msg>, id: NodeId) -> bool {
        // An unknown node is not running: nothing to crash (no panic on a bad index).
        if self
            .nodes
            .get_mut(id as usize)
            .and_then(Option::take)
            .is_none()
        {
            return false;
        }
        self.stores[id as usize].crash();
        engine.crash(id);
        true
    }

    /// Restarts node `id` from its store. `Ok(false)` when it was running.
    pub fn restart(
        &mut self,
        engine: &mut Engine<Msg>,
        id: NodeId,
        out: &mut Vec<DriverEvent>,
    ) -> Result<bool, String> {
        match self.nodes.get(id as usize) {
            None => return Err(format!("node {id} does not exist")),
            Some(Some(_)) => return Ok(false),
            Some(None) => {}
        }
        engine.restart(id);
        self.start(id, engine, out)?;
        Ok(true)
    }

    /// Drains node `id`'s outputs and re-arms its timer.
    fn pump(&mut self, id: NodeId, engine: &mut Engine<Msg>, out: &mut Vec<DriverEvent>) {
        let count = self.nodes.len() as u32;
        let Some(node) = self.nodes[id as usize].as_mut() else {
            return;
        };
        let mut last_tx: Option<Msg> = None;
        while let Some(o) = node.poll_output() {
            match o {
                Output::Send { to, msg } => {
                    match to {
                        Dest::All => {
                            for t in (0..count).filter(|&t| t != id) {
                                let _ = engine.send(id, t, msg.clone());
                            }
                        }
                        Dest::One(t) if t < count && t != id => {
                            let _ = engine.send(id, t, msg.clone());
                        }
                        Dest::One(_) => {}
                    }
                    if matches!(*msg, PeerMessage::Transaction(_)) {
                        last_tx = Some(msg);
                    }
                }
                // The scenario's API client: every reply, and wallet notifications once the
                // scenario has spoken to the API (so scenarios without `api` steps keep their
                // traces).
                Output::Reply { conn, msg } => out.push(DriverEvent::Api {
                    node: id,
                    conn: Some(conn),
                    msg,
                }),
                Output::Broadcast(msg) => {
                    if self.api_client {
                        out.push(DriverEvent::Api {
                            node: id,
                            conn: None,
                            msg,
                        });
                    }
                }
                Output::Event(event) => {
                    let relayed = match (&event, &last_tx) {
                        (Event::Restake { tx_hash, .. }, Some(m)) => match &**m {
                            PeerMessage::Transaction(tx) if tx.hash() == *tx_hash => {
                                Some(Box::new(tx.clone()))
                            }
                            _ => None,
                        },
                        _ => None,
                    };
                    out.push(DriverEvent::Node {
                        node: id,
                        event,
                        relayed,
                    });
                }
            }
        }
        let deadline = node.poll_timeout().map(|(t, _)| t);
        self.arm_timer(id, deadline, engine, out);
    }

    /// Arms node `id`'s timer at `deadline` (its local time), a millisecond later when it keeps
    /// asking for the instant its timer just fired at (see [`TIMER_REFIRES_MAX`]).
    fn arm_timer(
        &mut self,
        id: NodeId,
        mut deadline: Option<u64>,
        engine: &mut Engine<Msg>,
        out: &mut Vec<DriverEvent>,
    ) {
        let (fired_at, times) = self.refires[id as usize];
        if let Some(t) = deadline {
            let due_now = engine.clock(id).virtual_ns(t) <= engine.now_ns();
            if due_now && fired_at == engine.now_ns() && times >= TIMER_REFIRES_MAX {
                deadline = Some(engine.local_now_ns(id) + STALL_DELAY_NS);
                self.refires[id as usize] = (u64::MAX, 0);
                out.push(DriverEvent::TimerStall { node: id });
            }
        }
        engine.set_timer(id, deadline);
    }
}
