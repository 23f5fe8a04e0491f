//! The `turmoil` engine: every scenario node runs its real async driver
//! (`stegosim_server::driver`), peer transport and encrypted WebSocket API server on a
//! turmoil host over `turmoil::net`; the scenario's client is a turmoil client host speaking
//! real encrypted frames over tokio-tungstenite (`client_async`) to the nodes' API ports.
//!
//! Fidelity for small networks (up to about 20 nodes): turmoil steps every host on every
//! 1 ms tick, so its cost grows with hosts times ticks.
//!
//! Mapping of the scenario's network:
//! - latency: turmoil draws from `[min, max]` on an exponential curve; the scenario's
//!   distribution keeps only its bounds (a constant latency is exact);
//! - `partition` holds the traffic between the groups (turmoil's `hold`) and `heal`
//!   releases it: turmoil's TCP has no retransmission, so a dropped segment (turmoil's
//!   `partition`) would stall a stream for ever;
//! - `crash` / `restart` are turmoil's `crash` / `bounce`; the node's `MemStore` keeps only
//!   synced writes;
//! - not mappable, refused at load time with the step's line: one-way `cut`, `clock_drift`,
//!   loss, duplication and reordering (turmoil's `fail_rate` hangs TCP), `reorder_delay`.
//!
//! Control events of the runner happen between ticks, at the first tick at or after their
//! instant; what a node reports in a tick is stamped with the tick's end.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use stegosim_api::frame::FrameCodec;
use stegosim_api::message::Request;
use stegosim_api::token::ApiToken;
use stegosim_node::chain::tx::Transaction;
use stegosim_node::config::ChainConfig;
use stegosim_node::crypto::PublicKey;
use stegosim_node::node::{Event, Node, NodeId, Output, PeerMessage};
use stegosim_node::rng::Seed;
use stegosim_node::storage::MemStore;
use stegosim_server::access::AccessList;
use stegosim_server::api::{ApiContext, ServerLimits, serve};
use stegosim_server::clock::{Clock, TokioClock};
use stegosim_server::driver::{self, Connections, DriverInput, Observer, SharedNode};
use stegosim_server::peer::{TcpPeers, listen};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::backend::{Backend, Next};
use crate::cluster::DriverEvent;
use crate::des::EngineStats;
use crate::des::net::{Latency, LinkOptions};
use crate::scenario::{Located, Need, Scenario, Step};
use crate::sigcache::SigCache;

/// turmoil's tick: every host runs this much virtual time per step.
pub const TICK_NS: u64 = 1_000_000;
/// Port of every node's peer listener.
pub const PEER_PORT: u16 = 7000;
/// Port of every node's API server.
pub const API_PORT: u16 = 8000;

/// Host name of node `i`.
fn host_name(i: NodeId) -> String {
    format!("node{i}")
}

/// Events of one run, filled by the hosts during a tick and drained by the backend.
type EventQueue = Arc<Mutex<Vec<DriverEvent>>>;

fn push(q: &EventQueue, e: DriverEvent) {
    q.lock().unwrap_or_else(|e| e.into_inner()).push(e);
}

/// Sees a node's outputs inside its driver: events go to the trace (a restake with the
/// restake transaction the node relayed just before, as the `des` driver reports it).
#[derive(Debug)]
struct NodeObserver {
    events: EventQueue,
    last_tx: Mutex<Option<Arc<PeerMessage>>>,
}

impl Observer for NodeObserver {
    fn output(&self, node: NodeId, out: &Output) {
        match out {
            Output::Send { msg, .. } if matches!(**msg, PeerMessage::Transaction(_)) => {
                *self.last_tx.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg.clone());
            }
            Output::Event(event) => {
                let relayed = match event {
                    Event::Restake { tx_hash, .. } => {
                        match self
                            .last_tx
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .as_deref()
                        {
                            Some(PeerMessage::Transaction(tx)) if tx.hash() == *tx_hash => {
                                Some(Box::new(tx.clone()))
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                };
                push(
                    &self.events,
                    DriverEvent::Node {
                        node,
                        event: event.clone(),
                        relayed: relayed as Option<Box<Transaction>>,
                    },
                );
            }
            _ => {}
        }
    }
}

/// What the scenario's client host is asked to do.
#[derive(Debug)]
enum ClientCmd {
    /// Send `req` to node `node`'s API (connecting first if needed).
    Request { node: NodeId, req: Request },
}

/// The `turmoil` backend of the scenario runner.
pub struct TurmoilBackend {
    sim: turmoil::Sim<'static>,
    start_ns: u64,
    now_ns: u64,
    chain: ChainConfig,
    /// Genesis-funded accounts: (node, password), in `chain.genesis_accounts` order.
    accounts: Vec<(NodeId, String)>,
    seed: Seed,
    sigs: Arc<SigCache>,
    /// The node each driver runs on (empty while crashed, or while checked out).
    slots: Vec<SharedNode>,
    /// The nodes while the runner looks at them (between ticks).
    nodes: Vec<Option<Node>>,
    stores: Vec<MemStore>,
    incarnations: Vec<u32>,
    running: Vec<bool>,
    by_key: BTreeMap<PublicKey, NodeId>,
    /// Each running driver's input (to wake it after the runner called its node).
    inputs: Vec<Arc<Mutex<Option<mpsc::UnboundedSender<DriverInput>>>>>,
    events: EventQueue,
    /// Control events: (instant, sequence, id).
    controls: BinaryHeap<Reverse<(u64, u64, u64)>>,
    control_seq: u64,
    client: mpsc::UnboundedSender<ClientCmd>,
    /// Unordered pairs whose traffic is held.
    held: BTreeSet<(NodeId, NodeId)>,
    /// Ordered pairs the runner cut (for `cut_count`).
    cut: BTreeSet<(NodeId, NodeId)>,
    default_links: LinkOptions,
    links: BTreeMap<(NodeId, NodeId), LinkOptions>,
    /// Set when a host's software failed; the run stops.
    failure: Option<String>,
}

impl std::fmt::Debug for TurmoilBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurmoilBackend")
            .field("now_ns", &self.now_ns)
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

fn latency_bounds(l: &Latency) -> (u64, u64) {
    match *l {
        Latency::Constant { latency_ns } => (latency_ns, latency_ns),
        Latency::Uniform {
            latency_ns_min,
            latency_ns_max,
        } => (latency_ns_min, latency_ns_max),
        Latency::Exponential {
            latency_ns_min,
            latency_ns_max,
            ..
        } => (latency_ns_min, latency_ns_max),
    }
}

fn unmappable_links(o: &LinkOptions) -> Option<&'static str> {
    if o.loss_probability > 0.0 {
        Some("loss (turmoil's fail_rate hangs TCP)")
    } else if o.duplicate_probability > 0.0 {
        Some("duplication (TCP does not duplicate)")
    } else if o.reorder_probability > 0.0 {
        Some("reordering (TCP delivers in order)")
    } else {
        None
    }
}

/// The API token of a run (deterministic: derived from the run's seed).
fn run_token(seed: Seed) -> ApiToken {
    ApiToken::from_access_key(b"stegosim-turmoil", &seed.child("api", 0).0.to_le_bytes())
}

impl TurmoilBackend {
    fn addrs(&self) -> Vec<SocketAddr> {
        (0..self.nodes.len() as NodeId)
            .map(|i| SocketAddr::new(self.sim.lookup(host_name(i)), PEER_PORT))
            .collect()
    }

    /// Creates node `id`'s core from its store (as the `des` driver does: same seeds).
    fn make_node(&mut self, id: NodeId) -> Result<Node, String> {
        let incarnation = self.incarnations[id as usize];
        self.incarnations[id as usize] += 1;
        let seed = crate::cluster::incarnation_seed(self.seed, id, incarnation);
        let cfg = crate::cluster::sim_node_config(&self.chain, id, seed, &self.accounts);
        Node::with_sig_checker(
            cfg,
            Box::new(self.stores[id as usize].clone()),
            self.now_ns,
            self.sigs.clone(),
        )
    }

    /// Registers node `id`'s host: each (re)start binds the peer and API listeners, connects
    /// the peer links and runs the driver on the node found in its slot.
    fn register_host(&mut self, id: NodeId, addrs: Arc<Mutex<Vec<SocketAddr>>>, token: ApiToken) {
        let slot = self.slots[id as usize].clone();
        let input = self.inputs[id as usize].clone();
        let events = self.events.clone();
        let start_ns = self.start_ns;
        let next_conn = Arc::new(AtomicU64::new(1));
        self.sim.host(host_name(id), move || {
            let slot = slot.clone();
            let input = input.clone();
            let events = events.clone();
            let addrs = addrs.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let token = token.clone();
            let next_conn = next_conn.clone();
            async move {
                let elapsed = turmoil::sim_elapsed().unwrap_or_default().as_nanos() as u64;
                let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(start_ns + elapsed));
                let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
                let peer_l = turmoil::net::TcpListener::bind((any, PEER_PORT)).await?;
                let api_l = turmoil::net::TcpListener::bind((any, API_PORT)).await?;
                let (tx, rx) = mpsc::unbounded_channel();
                *input.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx.clone());
                tokio::spawn(listen(peer_l, tx.clone()));
                let peers = Arc::new(TcpPeers::connect_from_with::<turmoil::net::TcpStream>(
                    id, &addrs,
                ));
                let conns: Connections = Default::default();
                let ctx = ApiContext::new(
                    tx,
                    conns.clone(),
                    AccessList::token_only(token),
                    ServerLimits::default(),
                    clock.clone(),
                    next_conn,
                );
                tokio::spawn(serve(api_l, ctx));
                let observer: Arc<dyn Observer> = Arc::new(NodeObserver {
                    events,
                    last_tx: Mutex::new(None),
                });
                driver::run_in(slot, rx, peers, conns, clock, Some(observer)).await;
                Ok(())
            }
        });
    }

    /// Puts the nodes back in their slots before the hosts run.
    fn check_in(&mut self) {
        for (slot, node) in self.slots.iter().zip(self.nodes.iter_mut()) {
            if let Some(n) = node.take() {
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(n);
            }
        }
    }

    /// Takes the nodes out of their slots so the runner can read them between ticks.
    fn check_out(&mut self) {
        for (slot, node) in self.slots.iter().zip(self.nodes.iter_mut()) {
            if let Some(n) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                *node = Some(n);
            }
        }
    }

    fn wake(&self, id: NodeId) {
        if let Some(tx) = self.inputs[id as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let _ = tx.send(DriverInput::Wake);
        }
    }
}

/// The scenario's client: one WebSocket connection per node it speaks to, opened on its
/// first request; replies and notifications become [`DriverEvent::Api`].
async fn client_host(
    mut cmds: mpsc::UnboundedReceiver<ClientCmd>,
    token: ApiToken,
    events: EventQueue,
) -> turmoil::Result {
    type Sink = futures_util::stream::SplitSink<
        tokio_tungstenite::WebSocketStream<turmoil::net::TcpStream>,
        Message,
    >;
    let codec = FrameCodec::new(&token);
    let mut conns: BTreeMap<NodeId, (Sink, Arc<std::sync::atomic::AtomicBool>)> = BTreeMap::new();
    // IVs: a counter (unique per message under the key, which is all AES-CTR needs), so the
    // frames are the same bytes on every run.
    let mut iv = 0u128;
    let (mut json, mut text) = (Vec::new(), String::new());
    while let Some(ClientCmd::Request { node, req }) = cmds.recv().await {
        let alive = conns
            .get(&node)
            .is_some_and(|(_, a)| a.load(std::sync::atomic::Ordering::Relaxed));
        if !alive {
            conns.remove(&node);
            let addr = SocketAddr::new(turmoil::lookup(host_name(node)), API_PORT);
            let Ok(stream) = turmoil::net::TcpStream::connect(addr).await else {
                continue;
            };
            let url = format!("ws://{}:{API_PORT}/", host_name(node));
            let Ok((ws, _)) = tokio_tungstenite::client_async(url, stream).await else {
                continue;
            };
            let (sink, mut stream) = ws.split();
            let flag = Arc::new(std::sync::atomic::AtomicBool::new(true));
            let (reader_flag, codec, events) = (flag.clone(), codec.clone(), events.clone());
            tokio::task::spawn_local(async move {
                let mut plain = Vec::new();
                while let Some(Ok(frame)) = stream.next().await {
                    if let Message::Text(t) = frame {
                        if let Ok(msg) = codec.decode_server_message(t.as_bytes(), &mut plain) {
                            push(
                                &events,
                                DriverEvent::Api {
                                    node,
                                    conn: None,
                                    msg,
                                },
                            );
                        }
                    }
                }
                reader_flag.store(false, std::sync::atomic::Ordering::Relaxed);
            });
            conns.insert(node, (sink, flag));
        }
        let Some((sink, _)) = conns.get_mut(&node) else {
            continue;
        };
        iv += 1;
        text.clear();
        codec.encode_request(&req, iv.to_be_bytes(), &mut json, &mut text);
        if sink.send(Message::text(text.clone())).await.is_err() {
            conns.remove(&node);
        }
    }
    Ok(())
}

impl Backend for TurmoilBackend {
    const NAME: &'static str = "turmoil";

    fn check_steps(scenario: &Scenario, steps: &[Located<Step>]) -> Result<(), String> {
        if let Some(what) = unmappable_links(&scenario.links) {
            return Err(format!(
                "the scenario's network has {what}: the turmoil engine cannot model it; use --engine des"
            ));
        }
        if scenario.nodes > 64 {
            return Err(format!(
                "{} nodes is too many for the turmoil engine (at most 64: it steps every host on every tick); use --engine des",
                scenario.nodes
            ));
        }
        // The steps, as every engine checks them.
        crate::backend::refused_step::<Self>(steps)
    }

    fn refuses(need: Need) -> Option<&'static str> {
        Some(match need {
            Need::OneWayCut => {
                "a one-way cut cannot be mapped (turmoil's one-way partition drops TCP segments, which stalls the stream for ever, and its hold is two-way)"
            }
            Need::ClockDrift => "clock drift cannot be mapped (every turmoil host reads one clock)",
            Need::Loss => "loss cannot be mapped (turmoil's fail_rate hangs TCP)",
            Need::Duplication => "duplication cannot be mapped (TCP does not duplicate)",
            Need::Reordering => "reordering cannot be mapped (TCP delivers in order)",
        })
    }

    fn new(scenario: &Scenario, root: Seed, out: &mut Vec<DriverEvent>) -> Result<Self, String> {
        let _ = out;
        let n = scenario.nodes;
        let (min, max) = latency_bounds(&scenario.links.latency);
        let start_ns = scenario.chain.genesis_time_ns;
        let mut builder = turmoil::Builder::new();
        builder
            .rng_seed(root.child("turmoil", 0).0)
            .epoch(UNIX_EPOCH + Duration::from_nanos(start_ns))
            .tick_duration(Duration::from_nanos(TICK_NS))
            .simulation_duration(Duration::from_nanos(
                scenario.duration_ns.saturating_add(3_600 * 1_000_000_000),
            ))
            .min_message_latency(Duration::from_nanos(min))
            .max_message_latency(Duration::from_nanos(max.max(min)));
        let sim = builder.build();
        let (client_tx, client_rx) = mpsc::unbounded_channel();
        let mut b = TurmoilBackend {
            sim,
            start_ns,
            now_ns: start_ns,
            chain: scenario.chain.clone(),
            accounts: scenario
                .accounts
                .iter()
                .map(|a| (a.value.node, a.value.password.clone()))
                .collect(),
            seed: root.child("nodes", 0),
            sigs: Arc::new(SigCache::new()),
            slots: (0..n).map(|_| SharedNode::default()).collect(),
            nodes: (0..n).map(|_| None).collect(),
            stores: (0..n).map(|_| MemStore::new()).collect(),
            incarnations: vec![0; n as usize],
            running: vec![true; n as usize],
            by_key: BTreeMap::new(),
            inputs: (0..n).map(|_| Arc::default()).collect(),
            events: Arc::default(),
            controls: BinaryHeap::new(),
            control_seq: 0,
            client: client_tx,
            held: BTreeSet::new(),
            cut: BTreeSet::new(),
            default_links: scenario.links,
            links: BTreeMap::new(),
            failure: None,
        };
        let token = run_token(root);
        for id in 0..n {
            let node = b.make_node(id)?;
            if let Some(k) = node.network_pkey() {
                b.by_key.insert(k, id);
            }
            b.nodes[id as usize] = Some(node);
        }
        // Hosts are registered first, so every address is known when their software starts.
        // (turmoil starts a host's software as it registers it: the names are looked up, which
        // assigns their addresses, before any host is registered.)
        let addrs: Arc<Mutex<Vec<SocketAddr>>> = Arc::new(Mutex::new(b.addrs()));
        for id in 0..n {
            b.register_host(id, addrs.clone(), token.clone());
        }
        let events = b.events.clone();
        b.sim
            .client("client", client_host(client_rx, token, events));
        Ok(b)
    }

    fn now_ns(&self) -> u64 {
        self.now_ns
    }
    fn elapsed_ns(&self) -> u64 {
        self.now_ns - self.start_ns
    }
    fn start_ns(&self) -> u64 {
        self.start_ns
    }
    fn schedule(&mut self, at_ns: u64, id: u64) {
        self.control_seq += 1;
        self.controls.push(Reverse((at_ns, self.control_seq, id)));
    }

    fn next(&mut self, limit_ns: u64, out: &mut Vec<DriverEvent>) -> Option<Next> {
        loop {
            if let Some(&Reverse((at, _, id))) = self.controls.peek() {
                if at <= self.now_ns && at <= limit_ns {
                    self.controls.pop();
                    return Some(Next::Control(id));
                }
            }
            if self.now_ns >= limit_ns {
                return None;
            }
            if self.failure.is_some() {
                return None;
            }
            self.check_in();
            if let Err(e) = self.sim.step() {
                // A host's software failed (a listener could not bind, say): the run stops
                // and reports it.
                self.failure = Some(format!(
                    "a turmoil host failed at {} ns: {e}",
                    self.now_ns - self.start_ns
                ));
            }
            self.now_ns = self.start_ns + self.sim.elapsed().as_nanos() as u64;
            self.check_out();
            let mut q = self.events.lock().unwrap_or_else(|e| e.into_inner());
            if !q.is_empty() {
                out.append(&mut q);
                return Some(Next::Events);
            }
        }
    }

    fn failure(&self) -> Option<String> {
        self.failure.clone()
    }

    fn advance_to(&mut self, t_ns: u64) {
        // Time only moves by stepping the hosts; the end of the run is reached by `next`.
        let _ = t_ns;
    }

    fn stats(&self) -> EngineStats {
        // turmoil does not count messages; the trace's `message_dropped` lines stay empty.
        EngineStats::default()
    }

    fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id as usize).and_then(Option::as_ref)
    }
    fn running(&self) -> Box<dyn Iterator<Item = (NodeId, &Node)> + '_> {
        Box::new(
            self.nodes
                .iter()
                .enumerate()
                .filter_map(|(i, n)| n.as_ref().map(|n| (i as NodeId, n))),
        )
    }
    fn node_of_key(&self, key: &PublicKey) -> Option<NodeId> {
        self.by_key.get(key).copied()
    }
    fn incarnation(&self, id: NodeId) -> u32 {
        self.incarnations[id as usize]
    }

    fn with_node<R>(
        &mut self,
        id: NodeId,
        _out: &mut Vec<DriverEvent>,
        f: impl FnOnce(&mut Node, u64) -> R,
    ) -> Option<R> {
        let now = self.now_ns;
        let r = f(self.nodes.get_mut(id as usize)?.as_mut()?, now);
        // Its outputs are routed by its driver on the next tick.
        self.wake(id);
        Some(r)
    }

    fn set_api_client(&mut self) {}

    fn api_request(&mut self, id: NodeId, req: Request, _out: &mut Vec<DriverEvent>) -> bool {
        if !self.running[id as usize] {
            return false;
        }
        self.client
            .send(ClientCmd::Request { node: id, req })
            .is_ok()
    }

    fn crash(&mut self, id: NodeId) -> bool {
        if !self.running[id as usize] {
            return false;
        }
        self.running[id as usize] = false;
        self.nodes[id as usize] = None;
        *self.slots[id as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        *self.inputs[id as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        self.stores[id as usize].crash();
        self.sim.crash(host_name(id));
        true
    }

    fn restart(&mut self, id: NodeId, _out: &mut Vec<DriverEvent>) -> Result<bool, String> {
        if self.running[id as usize] {
            return Ok(false);
        }
        let node = self.make_node(id)?;
        self.nodes[id as usize] = Some(node);
        self.running[id as usize] = true;
        self.sim.bounce(host_name(id));
        Ok(true)
    }

    fn set_cut(&mut self, from: NodeId, to: NodeId) {
        self.cut.insert((from, to));
        let pair = (from.min(to), from.max(to));
        if self.held.insert(pair) {
            self.sim.hold(host_name(pair.0), host_name(pair.1));
        }
    }
    fn cut_count(&self) -> usize {
        self.cut.len()
    }
    fn heal(&mut self) {
        for (a, b) in std::mem::take(&mut self.held) {
            self.sim.release(host_name(a), host_name(b));
        }
        self.cut.clear();
    }
    fn link(&self, from: NodeId, to: NodeId) -> LinkOptions {
        self.links
            .get(&(from, to))
            .copied()
            .unwrap_or(self.default_links)
    }
    fn set_link(&mut self, from: NodeId, to: NodeId, o: LinkOptions) {
        let (_, max) = latency_bounds(&o.latency);
        self.sim.set_link_max_message_latency(
            host_name(from),
            host_name(to),
            Duration::from_nanos(max),
        );
        self.links.insert((from, to), o);
    }
    fn default_options(&self) -> LinkOptions {
        self.default_links
    }
    fn set_default(&mut self, o: LinkOptions) {
        let (_, max) = latency_bounds(&o.latency);
        self.sim.set_max_message_latency(Duration::from_nanos(max));
        self.default_links = o;
    }
    fn set_clock(&mut self, _id: NodeId, _drift_ppm: i64, _jump_ns: u64) {
        // Refused at load time by `check_steps`.
    }
}
