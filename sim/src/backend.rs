//! What the scenario runner needs from an engine: time, its own scheduled control events, the
//! nodes (to call and to read), crashes, restarts and the network's faults.
//!
//! Two implementations: [`DesBackend`] (our discrete-event engine driving the sans-IO node
//! cores, [`crate::cluster`]) and [`crate::turmoil_engine::TurmoilBackend`] (each node's real
//! async driver, peer transport and API server on a turmoil host).

use stegosim_node::crypto::PublicKey;
use stegosim_node::node::{Node, NodeId};
use stegosim_node::rng::Seed;

use crate::cluster::{Cluster, DriverEvent, Msg};
use crate::des::net::LinkOptions;
use crate::des::{Engine, EngineStats, Fired};
use crate::scenario::{Located, Need, Scenario, Step};

/// What [`Backend::next`] stopped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nodes did something; what they reported is in the events buffer.
    Events,
    /// A control event the runner scheduled with [`Backend::schedule`] is due.
    Control(u64),
}

/// An engine as the scenario runner sees it.
pub trait Backend: Sized {
    /// The engine's name, as on the command line.
    const NAME: &'static str;

    /// Why this engine cannot model what a step needs ([`Step::needs`]), or `None` when it
    /// can.
    fn refuses(need: Need) -> Option<&'static str>;

    /// Refuses, before anything runs, what this engine cannot carry out: by default the
    /// first step that needs something the engine [`Backend::refuses`]; the error names the
    /// step's line, the step and the engine.
    fn check_steps(scenario: &Scenario, steps: &[Located<Step>]) -> Result<(), String> {
        let _ = scenario;
        refused_step::<Self>(steps)
    }

    /// Builds the scenario's network with every node started; startup events go to `out`.
    fn new(scenario: &Scenario, root: Seed, out: &mut Vec<DriverEvent>) -> Result<Self, String>;

    /// Virtual time now (ns since the Unix epoch).
    fn now_ns(&self) -> u64;
    /// Virtual time since the start.
    fn elapsed_ns(&self) -> u64;
    /// Virtual time of the start.
    fn start_ns(&self) -> u64;
    /// Schedules control event `id` at virtual instant `at_ns`.
    fn schedule(&mut self, at_ns: u64, id: u64);
    /// Runs until something happens before `limit_ns`: node events (into `out`) or a due
    /// control event. `None` once nothing is left before the limit.
    fn next(&mut self, limit_ns: u64, out: &mut Vec<DriverEvent>) -> Option<Next>;
    /// Why the engine stopped early (a host's software failed), if it did: the run is then an
    /// error, not an outcome.
    fn failure(&self) -> Option<String> {
        None
    }
    /// Moves time to `t_ns` (the end of the run).
    fn advance_to(&mut self, t_ns: u64);
    /// Counters of the network (what this engine can count).
    fn stats(&self) -> EngineStats;

    /// Node `id`, unless it is crashed.
    fn node(&self, id: NodeId) -> Option<&Node>;
    /// The running nodes.
    fn running(&self) -> Box<dyn Iterator<Item = (NodeId, &Node)> + '_>;
    /// The node of validator network key `key`.
    fn node_of_key(&self, key: &PublicKey) -> Option<NodeId>;
    /// How many times node `id` has been started.
    fn incarnation(&self, id: NodeId) -> u32;
    /// Calls `f` on node `id` with its local time and lets its outputs take effect.
    fn with_node<R>(
        &mut self,
        id: NodeId,
        out: &mut Vec<DriverEvent>,
        f: impl FnOnce(&mut Node, u64) -> R,
    ) -> Option<R>;
    /// The scenario's client speaks to the API from now on (wallet notifications are traced).
    fn set_api_client(&mut self);
    /// Sends an API request as the scenario's client of node `id`; false when it is down.
    fn api_request(
        &mut self,
        id: NodeId,
        req: stegosim_api::message::Request,
        out: &mut Vec<DriverEvent>,
    ) -> bool;

    /// Crashes node `id` (its store keeps only synced writes); false when it was down.
    fn crash(&mut self, id: NodeId) -> bool;
    /// Restarts node `id` from its store; `Ok(false)` when it was running.
    fn restart(&mut self, id: NodeId, out: &mut Vec<DriverEvent>) -> Result<bool, String>;

    /// Cuts the link from `from` to `to`.
    fn set_cut(&mut self, from: NodeId, to: NodeId);
    /// Links cut now.
    fn cut_count(&self) -> usize;
    /// Restores every cut link.
    fn heal(&mut self);
    /// The options of the link from `from` to `to`.
    fn link(&self, from: NodeId, to: NodeId) -> LinkOptions;
    /// Sets the options of the link from `from` to `to`.
    fn set_link(&mut self, from: NodeId, to: NodeId, o: LinkOptions);
    /// The options of links without their own.
    fn default_options(&self) -> LinkOptions;
    /// Sets the options of links without their own.
    fn set_default(&mut self, o: LinkOptions);
    /// Gives node `id` a drifting clock.
    fn set_clock(&mut self, id: NodeId, drift_ppm: i64, jump_ns: u64);
}

/// The first step that needs something engine `B` cannot model, as an error naming the
/// step's line, the step and the engine.
pub(crate) fn refused_step<B: Backend>(steps: &[Located<Step>]) -> Result<(), String> {
    for s in steps {
        if let Some(why) = s.value.needs().into_iter().find_map(B::refuses) {
            return Err(format!(
                "line {}: step `{}` cannot run on the {} engine: {why}; use --engine des",
                s.line,
                s.value.action(),
                B::NAME
            ));
        }
    }
    Ok(())
}

/// The `des` engine: [`Cluster`] on [`Engine`].
#[derive(Debug)]
pub struct DesBackend {
    engine: Engine<Msg>,
    cluster: Cluster,
}

impl Backend for DesBackend {
    const NAME: &'static str = "des";

    fn refuses(_: Need) -> Option<&'static str> {
        // It models every fault a step can ask for.
        None
    }

    fn new(scenario: &Scenario, root: Seed, out: &mut Vec<DriverEvent>) -> Result<Self, String> {
        let mut engine: Engine<Msg> = Engine::new(
            scenario.nodes,
            scenario.chain.genesis_time_ns,
            scenario.links,
            root.stream("net"),
        );
        let cluster = Cluster::with_accounts(
            &scenario.chain,
            scenario.nodes,
            root.child("nodes", 0),
            scenario
                .accounts
                .iter()
                .map(|a| (a.value.node, a.value.password.clone()))
                .collect(),
            &mut engine,
            out,
        )?;
        Ok(DesBackend { engine, cluster })
    }

    fn now_ns(&self) -> u64 {
        self.engine.now_ns()
    }
    fn elapsed_ns(&self) -> u64 {
        self.engine.elapsed_ns()
    }
    fn start_ns(&self) -> u64 {
        self.engine.start_ns()
    }
    fn schedule(&mut self, at_ns: u64, id: u64) {
        self.engine.schedule(at_ns, id);
    }
    fn next(&mut self, limit_ns: u64, out: &mut Vec<DriverEvent>) -> Option<Next> {
        match self.engine.next(limit_ns)? {
            Fired::Deliver { from, to, msg } => {
                self.cluster.deliver(&mut self.engine, from, to, &msg, out);
                Some(Next::Events)
            }
            Fired::Timer { host } => {
                self.cluster.timeout(&mut self.engine, host, out);
                Some(Next::Events)
            }
            Fired::Control { id } => Some(Next::Control(id)),
        }
    }
    fn advance_to(&mut self, t_ns: u64) {
        self.engine.advance_to(t_ns);
    }
    fn stats(&self) -> EngineStats {
        self.engine.stats().clone()
    }
    fn node(&self, id: NodeId) -> Option<&Node> {
        self.cluster.node(id)
    }
    fn running(&self) -> Box<dyn Iterator<Item = (NodeId, &Node)> + '_> {
        Box::new(self.cluster.running())
    }
    fn node_of_key(&self, key: &PublicKey) -> Option<NodeId> {
        self.cluster.node_of_key(key)
    }
    fn incarnation(&self, id: NodeId) -> u32 {
        self.cluster.incarnation(id)
    }
    fn with_node<R>(
        &mut self,
        id: NodeId,
        out: &mut Vec<DriverEvent>,
        f: impl FnOnce(&mut Node, u64) -> R,
    ) -> Option<R> {
        self.cluster.with_node(&mut self.engine, id, out, f)
    }
    fn set_api_client(&mut self) {
        self.cluster.api_client = true;
    }
    fn api_request(
        &mut self,
        id: NodeId,
        req: stegosim_api::message::Request,
        out: &mut Vec<DriverEvent>,
    ) -> bool {
        self.cluster
            .with_node(&mut self.engine, id, out, |n, now| {
                n.handle_request(now, crate::run::API_CONN, req)
            })
            .is_some()
    }
    fn crash(&mut self, id: NodeId) -> bool {
        self.cluster.crash(&mut self.engine, id)
    }
    fn restart(&mut self, id: NodeId, out: &mut Vec<DriverEvent>) -> Result<bool, String> {
        self.cluster.restart(&mut self.engine, id, out)
    }
    fn set_cut(&mut self, from: NodeId, to: NodeId) {
        self.engine.network_mut().set_cut(from, to, true);
    }
    fn cut_count(&self) -> usize {
        self.engine.network().cut_count()
    }
    fn heal(&mut self) {
        self.engine.network_mut().heal();
    }
    fn link(&self, from: NodeId, to: NodeId) -> LinkOptions {
        *self.engine.network().link(from, to)
    }
    fn set_link(&mut self, from: NodeId, to: NodeId, o: LinkOptions) {
        self.engine.network_mut().set_link(from, to, o);
    }
    fn default_options(&self) -> LinkOptions {
        *self.engine.network().default_options()
    }
    fn set_default(&mut self, o: LinkOptions) {
        self.engine.network_mut().set_default(o);
    }
    fn set_clock(&mut self, id: NodeId, drift_ppm: i64, jump_ns: u64) {
        self.engine.set_clock(id, drift_ppm, jump_ns);
    }
}
