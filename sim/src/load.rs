//! `stegosim load --sim`: the load generator's workers against a scenario's simulated nodes,
//! in virtual time.
//!
//! The same [`Worker`]s as a real run (same plan, mix, in-flight table, timeouts, followed
//! transactions, [`Recorder`], results format) drive simulated client connections to one
//! node of the scenario's network (node 0 unless told otherwise). Each connection carries
//! real API frames: the client encrypts each request with the connection's key
//! ([`FrameCodec`], AES-128-CTR with a per-message IV, base64), the node side decodes it and
//! hands the request to the node core (`Node::handle_request`, through `Cluster::with_node`);
//! responses and wallet notifications go back encrypted the same way and the client decodes
//! them before the worker matches them by id. Between client and node each frame takes a
//! latency drawn from the scenario's link model; a connection is a stream (as TCP is), so
//! frames on it arrive in order and none is lost.
//!
//! Setup (accounts created, unsealed, funded, as configured) runs first over its own
//! simulated connection, with the same code as a real run ([`prepare_with`]). Then the load's
//! origin (time 0 of the plan) is the virtual instant setup finished.
//!
//! What is not simulated: the node's WebSocket server layer (access keys, rate limits,
//! per-connection queues), and the scenario's own steps, workloads and expectations (the
//! scenario supplies the network: nodes, chain, link latency).
//!
//! Everything is a function of the scenario, the configuration and the seed: the results
//! file of two runs is byte for byte the same (`started_at_unix_ms` is 0, times are virtual).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use stegosim_api::frame::FrameCodec;
use stegosim_api::message::{ErrorCode, Request, RequestKind, ServerMessage};
use stegosim_loadgen::config::{ConfigError, RunConfig, SetupConfig};
use stegosim_loadgen::metrics::{Event, Recorder};
use stegosim_loadgen::mix::{Mix, PoolAccount};
use stegosim_loadgen::results::Results;
use stegosim_loadgen::run::{Needs, check_thresholds, results_of, setup_of};
use stegosim_loadgen::setup::{Caller, SetupError, prepare_with};
use stegosim_loadgen::worker::{Worker, WorkerConfig};
use stegosim_node::node::{ConnId, NodeId};
use stegosim_node::rng::{Seed, Stream};

use crate::cluster::{Cluster, DriverEvent, Msg};
use crate::des::net::Latency;
use crate::des::{Engine, Fired};
use crate::scenario::Scenario;

/// Why a simulated load run could not be done.
#[derive(Debug, thiserror::Error)]
pub enum SimLoadError {
    /// The configuration (profile, flags) does not make a run.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Setup failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The simulated network could not be started, or the target node is not in it.
    #[error("simulation: {0}")]
    Sim(String),
}

/// Which simulated network, which node, which seed.
#[derive(Debug, Clone, Copy)]
pub struct SimTarget<'a> {
    /// The scenario whose nodes, chain and links make the network.
    pub scenario: &'a Scenario,
    /// The seed of the network and of the mix's draws.
    pub seed: u64,
    /// The node the connections go to.
    pub node: NodeId,
}

/// Kinds of the engine's control events this driver schedules (low 2 bits of the id; the
/// rest is the connection's index).
const UP: u64 = 0;
const DOWN: u64 = 1;
const TIMER: u64 = 2;

/// The API connection number the node sees for connection `i`.
fn conn_id(i: usize) -> ConnId {
    1_000 + i as ConnId
}

/// One simulated client connection.
#[derive(Debug)]
struct Conn {
    /// Frames to the node: (arrival, frame text), in arrival order.
    up: VecDeque<(u64, String)>,
    /// Frames to the client.
    down: VecDeque<(u64, String)>,
    /// The client's next IV counter, and the node side's.
    iv_client: u128,
    iv_node: u128,
    /// The load's worker; `None` for the setup connection.
    worker: Option<Worker>,
    /// The virtual instant the worker's timer is queued for.
    timer_armed: Option<u64>,
    /// Messages that arrived on the setup connection, decoded.
    inbox: VecDeque<ServerMessage>,
    closed: bool,
}

/// The simulated network and the client connections.
struct Sim {
    engine: Engine<Msg>,
    cluster: Cluster,
    node: NodeId,
    codec: FrameCodec,
    latency: Latency,
    rng: Stream,
    conns: Vec<Conn>,
    events: Vec<DriverEvent>,
    /// Absolute virtual time of the load's time 0 (set when the load starts).
    origin_ns: u64,
    recorder: Option<Recorder>,
    worker_events: Vec<Event>,
    json: Vec<u8>,
    plain: Vec<u8>,
    /// Requests sent on the setup connection.
    setup_ids: u64,
    /// Virtual deadline of setup.
    setup_deadline_ns: u64,
}

impl Sim {
    fn new(target: &SimTarget<'_>) -> Result<Sim, SimLoadError> {
        let sc = target.scenario;
        if target.node >= sc.nodes {
            return Err(SimLoadError::Sim(format!(
                "node {} is not in scenario {:?}, which has {} nodes (0 to {})",
                target.node,
                sc.name,
                sc.nodes,
                sc.nodes.saturating_sub(1)
            )));
        }
        let root = Seed(target.seed);
        let start_ns = sc.chain.genesis_time_ns;
        let mut engine: Engine<Msg> = Engine::new(sc.nodes, start_ns, sc.links, root.stream("net"));
        let mut events = Vec::new();
        let mut cluster = Cluster::new(
            &sc.chain,
            sc.nodes,
            root.child("nodes", 0),
            &mut engine,
            &mut events,
        )
        .map_err(|why| SimLoadError::Sim(format!("the nodes do not start: {why}")))?;
        // Wallet notifications reach the connections.
        cluster.api_client = true;
        let mut keys = root.stream("load keys");
        let codec = FrameCodec::from_key_bytes(&keys.bytes16());
        Ok(Sim {
            engine,
            cluster,
            node: target.node,
            codec,
            latency: sc.links.latency,
            rng: root.stream("load links"),
            conns: Vec::new(),
            events,
            origin_ns: start_ns,
            recorder: None,
            worker_events: Vec::new(),
            json: Vec::new(),
            plain: Vec::new(),
            setup_ids: 0,
            setup_deadline_ns: u64::MAX,
        })
    }

    fn add_conn(&mut self, worker: Option<Worker>) -> usize {
        let i = self.conns.len();
        let mut ivs = self.rng.clone();
        let iv = u128::from_le_bytes(ivs.bytes16());
        self.rng = ivs;
        self.conns.push(Conn {
            up: VecDeque::new(),
            down: VecDeque::new(),
            iv_client: iv,
            iv_node: iv ^ (1 << 127),
            worker,
            timer_armed: None,
            inbox: VecDeque::new(),
            closed: false,
        });
        i
    }

    /// When a frame sent now on a direction whose last frame arrives at `last` arrives.
    fn arrival(&mut self, last: Option<u64>) -> u64 {
        let at = self.engine.now_ns() + self.latency.sample(&mut self.rng);
        at.max(last.unwrap_or(0))
    }

    /// The client of connection `i` sends `json` (a request) to the node.
    fn send_up(&mut self, i: usize, json: &[u8]) {
        let c = &mut self.conns[i];
        c.iv_client = c.iv_client.wrapping_add(1 << 64);
        let mut text = String::with_capacity(FrameCodec::frame_text_bytes(json.len()));
        self.codec
            .encode_into(json, c.iv_client.to_be_bytes(), &mut text);
        let last = self.conns[i].up.back().map(|f| f.0);
        let at = self.arrival(last);
        self.conns[i].up.push_back((at, text));
        self.engine.schedule(at, (i as u64) << 2 | UP);
    }

    /// The node side of connection `i` sends `msg` to the client.
    fn send_down(&mut self, i: usize, msg: &ServerMessage) {
        if self.conns[i].closed {
            return;
        }
        let c = &mut self.conns[i];
        c.iv_node = c.iv_node.wrapping_add(1 << 64);
        let mut text = String::new();
        self.codec
            .encode_server_message(msg, c.iv_node.to_be_bytes(), &mut self.json, &mut text);
        let last = self.conns[i].down.back().map(|f| f.0);
        let at = self.arrival(last);
        self.conns[i].down.push_back((at, text));
        self.engine.schedule(at, (i as u64) << 2 | DOWN);
    }

    /// Routes the node's API output to the connections.
    fn route(&mut self) {
        let mut events = std::mem::take(&mut self.events);
        for e in events.drain(..) {
            if let DriverEvent::Api { node, conn, msg } = e {
                if node != self.node {
                    continue;
                }
                match conn {
                    Some(c) => {
                        let Some(i) = c.checked_sub(conn_id(0)) else {
                            continue;
                        };
                        if (i as usize) < self.conns.len() {
                            self.send_down(i as usize, &msg);
                        }
                    }
                    None => {
                        for i in 0..self.conns.len() {
                            self.send_down(i, &msg);
                        }
                    }
                }
            }
        }
        self.events = events;
    }

    /// Load time (ns since the origin) now.
    fn t(&self) -> u64 {
        self.engine.now_ns().saturating_sub(self.origin_ns)
    }

    /// Handles the next event due by `limit_ns`; false when there was none.
    fn step(&mut self, limit_ns: u64) -> bool {
        let Some(fired) = self.engine.next(limit_ns) else {
            return false;
        };
        let mut events = std::mem::take(&mut self.events);
        match fired {
            Fired::Deliver { from, to, msg } => {
                self.cluster
                    .deliver(&mut self.engine, from, to, &msg, &mut events);
            }
            Fired::Timer { host } => self.cluster.timeout(&mut self.engine, host, &mut events),
            Fired::Control { id } => {
                self.events = events;
                self.control(id);
                events = std::mem::take(&mut self.events);
            }
        }
        self.events = events;
        self.route();
        true
    }

    fn control(&mut self, id: u64) {
        let i = (id >> 2) as usize;
        match id & 3 {
            UP => {
                let Some((_, frame)) = self.conns[i].up.pop_front() else {
                    return;
                };
                let req = match self.codec.decode_request(&frame, &mut self.plain) {
                    Ok(r) => r,
                    Err(e) => {
                        let msg =
                            ServerMessage::error(0, ErrorCode::from_name(e.code()), e.to_string());
                        self.send_down(i, &msg);
                        return;
                    }
                };
                let mut events = std::mem::take(&mut self.events);
                let ran =
                    self.cluster
                        .with_node(&mut self.engine, self.node, &mut events, |n, now| {
                            n.handle_request(now, conn_id(i), req)
                        });
                self.events = events;
                if ran.is_none() {
                    self.close(i, "the node is down");
                }
            }
            DOWN => {
                let Some((_, frame)) = self.conns[i].down.pop_front() else {
                    return;
                };
                let t = self.t();
                self.plain.clear();
                let read = self.codec.decode_into(&frame, &mut self.plain);
                let c = &mut self.conns[i];
                match &mut c.worker {
                    Some(w) => {
                        match read {
                            Ok(_) => w.handle_message(t, &self.plain),
                            Err(_) => w.handle_unreadable(t),
                        }
                        self.pump(i);
                    }
                    None => {
                        if read.is_ok()
                            && let Ok(m) = ServerMessage::from_json(&self.plain)
                        {
                            c.inbox.push_back(m);
                        }
                    }
                }
            }
            _ => {
                let now = self.engine.now_ns();
                let t = self.t();
                let c = &mut self.conns[i];
                if c.timer_armed.is_some_and(|a| a <= now) {
                    c.timer_armed = None;
                }
                if let Some(w) = &mut c.worker {
                    w.handle_timeout(t);
                    self.pump(i);
                }
            }
        }
    }

    fn close(&mut self, i: usize, reason: &str) {
        let t = self.t();
        let c = &mut self.conns[i];
        c.closed = true;
        if let Some(w) = &mut c.worker {
            w.handle_closed(t, reason);
            self.pump(i);
        }
    }

    /// After a worker was called: sends what is due, hands its events over, re-arms its timer.
    fn pump(&mut self, i: usize) {
        let t = self.t();
        let mut json = std::mem::take(&mut self.json);
        loop {
            let c = &mut self.conns[i];
            if c.closed {
                break;
            }
            let Some(w) = c.worker.as_mut() else {
                break;
            };
            if w.poll_request(t, &mut json).is_none() {
                break;
            }
            self.send_up(i, &json);
        }
        self.json = json;
        let origin = self.origin_ns;
        let c = &mut self.conns[i];
        let Some(w) = c.worker.as_mut() else {
            return;
        };
        w.take_events(&mut self.worker_events);
        if let Some(r) = &mut self.recorder {
            r.record_all(&mut self.worker_events);
        }
        if let Some(d) = w.poll_timeout() {
            let at = origin.saturating_add(d);
            if c.timer_armed != Some(at) {
                c.timer_armed = Some(at);
                self.engine.schedule(at, (i as u64) << 2 | TIMER);
            }
        }
    }

    fn finished(&self) -> bool {
        self.conns
            .iter()
            .all(|c| c.worker.as_ref().is_none_or(Worker::is_finished))
    }
}

/// Setup over connection 0 of the simulation, in virtual time.
struct SimCaller<'a>(&'a mut Sim);

impl SimCaller<'_> {
    fn call_now(
        &mut self,
        step: &str,
        kind: RequestKind,
        account: Option<&str>,
    ) -> Result<ServerMessage, SetupError> {
        let sim = &mut *self.0;
        sim.setup_ids += 1;
        let id = sim.setup_ids;
        let mut req = Request::new(kind);
        req.id = id;
        req.account_id = account.map(str::to_string);
        let mut json = Vec::new();
        req.to_json(&mut json);
        sim.send_up(0, &json);
        loop {
            if let Some(pos) = sim.conns[0].inbox.iter().position(|m| m.id == id) {
                let m = sim.conns[0].inbox.remove(pos).expect("found above");
                sim.conns[0].inbox.retain(|m| m.id != 0);
                return Ok(m);
            }
            if sim.conns[0].closed {
                return Err(SetupError(format!("{step}: the node is down")));
            }
            if !sim.step(sim.setup_deadline_ns) {
                return Err(SetupError(format!(
                    "{step}: no answer by the end of the setup time (virtual)"
                )));
            }
        }
    }

    fn sleep_now(&mut self, d: Duration) {
        let sim = &mut *self.0;
        let until = sim.engine.now_ns().saturating_add(d.as_nanos() as u64);
        while sim.step(until.min(sim.setup_deadline_ns)) {}
        sim.engine.advance_to(until.min(sim.setup_deadline_ns));
    }
}

impl Caller for SimCaller<'_> {
    fn call(
        &mut self,
        step: &str,
        kind: RequestKind,
        account: Option<&str>,
    ) -> impl Future<Output = Result<ServerMessage, SetupError>> {
        std::future::ready(self.call_now(step, kind, account))
    }

    fn sleep(&mut self, d: Duration) -> impl Future<Output = ()> {
        self.sleep_now(d);
        std::future::ready(())
    }
}

/// Runs `cfg` against `target`'s simulated network: setup, then the load, in virtual time.
/// Returns the results (thresholds evaluated); `say` gets setup's messages.
pub fn run_load(
    cfg: &RunConfig,
    target: &SimTarget<'_>,
    say: &mut dyn FnMut(String),
) -> Result<Results, SimLoadError> {
    cfg.validate()?;
    let plan = Arc::new(cfg.plan()?);
    let thresholds = cfg.thresholds()?;
    let (setup, needs) = setup_of(cfg, say)?;
    let mut sim = Sim::new(target)?;

    let pool = run_setup(&mut sim, cfg, &setup, &needs, say)?;

    let mix = Arc::new(Mix::build(&cfg.requests, &pool).map_err(ConfigError::from)?);
    check_thresholds(&thresholds, &mix)?;
    let behind_tolerance_ns = cfg.behind_tolerance_ns()?;
    sim.recorder = Some(Recorder::new(mix.metric_names(), behind_tolerance_ns));
    sim.origin_ns = sim.engine.now_ns();
    let seed = Seed(target.seed);
    let connections = cfg.connections()?;
    for i in 0..connections {
        let worker = Worker::new(
            WorkerConfig {
                index: i,
                count: connections,
                in_flight_max: cfg.in_flight()?,
                timeout_ns: cfg.timeout_ns()?,
                graceful_stop_ns: cfg.graceful_stop_ns()?,
                seed: seed.child("connection", u64::from(i)),
                start_grace_ns: behind_tolerance_ns,
            },
            plan.clone(),
            mix.clone(),
        );
        let c = sim.add_conn(Some(worker));
        sim.pump(c);
    }
    while !sim.finished() {
        if !sim.step(u64::MAX) {
            return Err(SimLoadError::Sim(
                "the simulation ran out of events before the load finished".into(),
            ));
        }
    }
    let elapsed_ns = sim.t();
    let rec = sim.recorder.take().expect("set above");
    Ok(results_of(
        &plan,
        &rec,
        &thresholds,
        config_json(cfg, target),
        format!("sim:{}/node{}", target.scenario.name, target.node),
        0,
        elapsed_ns,
        behind_tolerance_ns,
    ))
}

/// The setup (accounts created, unsealed, funded), over its own connection, closed after.
fn run_setup(
    sim: &mut Sim,
    cfg: &RunConfig,
    setup: &SetupConfig,
    needs: &Needs,
    say: &mut dyn FnMut(String),
) -> Result<Vec<PoolAccount>, SimLoadError> {
    sim.add_conn(None);
    let pool: Vec<PoolAccount> = if setup.is_empty() {
        Vec::new()
    } else {
        sim.setup_deadline_ns = sim.engine.now_ns().saturating_add(cfg.setup_timeout_ns()?);
        let mut caller = SimCaller(sim);
        let fut = prepare_with(&mut caller, setup, needs.addresses, say);
        let mut fut = std::pin::pin!(fut);
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(r) => r?,
            // Every future of the simulated caller is ready at once.
            Poll::Pending => {
                return Err(SimLoadError::Sim(
                    "setup waited on something outside the simulation".into(),
                ));
            }
        }
    };
    sim.conns[0].closed = true;
    Ok(pool)
}

/// The run's configuration as the results record it, with the seed and the simulated target.
fn config_json(cfg: &RunConfig, target: &SimTarget<'_>) -> serde_json::Value {
    let sc = target.scenario;
    let mut config = cfg.to_json();
    if let Some(obj) = config.as_object_mut() {
        obj.insert("seed".into(), target.seed.into());
        obj.insert(
            "sim".into(),
            serde_json::json!({
                "scenario": sc.name,
                "seed": target.seed,
                "node": target.node,
                "nodes": sc.nodes,
            }),
        );
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_on_a_connection_are_encrypted_and_arrive_in_order() {
        let scenario = crate::scenario::load_builtin("quickstart")
            .expect("quickstart is built in")
            .expect("it loads");
        let target = SimTarget {
            scenario: &scenario,
            seed: 3,
            node: 0,
        };
        let mut sim = Sim::new(&target).unwrap();
        let c = sim.add_conn(None);
        let mut json = Vec::new();
        let mut sent = Vec::new();
        for id in 1..=50u64 {
            let mut req = Request::new(RequestKind::ChainName);
            req.id = id;
            json.clear();
            req.to_json(&mut json);
            sim.send_up(c, &json);
            sent.push(json.clone());
        }
        let frames: Vec<(u64, String)> = sim.conns[c].up.iter().cloned().collect();
        assert!(frames.windows(2).all(|w| w[0].0 <= w[1].0), "out of order");
        let other = FrameCodec::from_key_bytes(&[9; 16]);
        let mut plain = Vec::new();
        for ((_, frame), json) in frames.iter().zip(&sent) {
            assert!(
                !frame.contains("chain_name"),
                "a frame is plaintext: {frame}"
            );
            sim.codec.decode_into(frame, &mut plain).unwrap();
            assert_eq!(&plain, json);
            plain.clear();
            // Another key does not read it as this request.
            let wrong = other.decode_into(frame, &mut plain);
            assert!(wrong.is_err() || plain != *json);
            plain.clear();
        }
        // The node answers each, in order, by id.
        while !sim.conns[c].up.is_empty() || !sim.conns[c].down.is_empty() {
            assert!(sim.step(u64::MAX));
        }
        let ids: Vec<u64> = sim.conns[c].inbox.iter().map(|m| m.id).collect();
        assert_eq!(ids, (1..=50).collect::<Vec<_>>());
    }
}
