//! What the runner does at a step's time: resolve the nodes the step names
//! ([`Step::nodes`]), then carry it out on the engine, with its trace line. Also the
//! workloads' payments, which are scheduled the same way.

use std::collections::{BTreeMap, BTreeSet};

use stegosim_formats::trace as ft;
use stegosim_node::crypto::{Hash, PublicKey};
use stegosim_node::node::NodeId;
use stegosim_node::rng::Stream;

use super::client::draw;
use super::{Control, Runner};
use crate::backend::Backend;
use crate::des::net::LinkOptions;
use crate::scenario::{self, Located, NodeRef, Nodes, Step, Workload};
use crate::trace::hex;
use crate::wallet::named_key;

use super::RunError;

/// The nodes a step names, resolved.
#[derive(Debug)]
enum Resolved {
    /// It names none.
    None,
    /// One node.
    One(NodeId),
    /// Groups of nodes (`partition`).
    Groups(Vec<BTreeSet<NodeId>>),
    /// Senders and receivers (`cut`, `set_network` of some links).
    Pair(BTreeSet<NodeId>, BTreeSet<NodeId>),
}

/// Turns node references into nodes as steps run: picked names, and draws for `"random"`.
#[derive(Debug)]
pub(crate) struct Resolver {
    /// Names bound by `pick` steps.
    pub aliases: BTreeMap<String, NodeId>,
    /// Draws of steps (`"random"`) and of resubmissions.
    pub rng: Stream,
    /// Nodes in the network.
    nodes: u32,
}

impl Resolver {
    /// A resolver for a network of `nodes`, drawing from `rng`.
    pub fn new(nodes: u32, rng: Stream) -> Resolver {
        Resolver {
            aliases: BTreeMap::new(),
            rng,
            nodes,
        }
    }

    /// A running node drawn from the steps' stream; `None` when none runs.
    pub fn random_running<B: Backend>(&mut self, b: &B) -> Option<NodeId> {
        let running: Vec<NodeId> = b.running().map(|(i, _)| i).collect();
        if running.is_empty() {
            return None;
        }
        Some(running[self.rng.below(running.len() as u64) as usize])
    }

    /// Resolves a single node reference now.
    pub fn one<B: Backend>(&mut self, b: &B, r: &NodeRef) -> Result<NodeId, String> {
        match r {
            // Loading a file checks indices, but a scenario built or edited in code (shrinking
            // removes nodes) may name one that does not exist.
            NodeRef::Index(i) if *i >= self.nodes => Err(format!(
                "node {i} does not exist: the network has {} nodes",
                self.nodes
            )),
            NodeRef::Index(i) => Ok(*i),
            NodeRef::Alias(a) => self
                .aliases
                .get(a)
                .copied()
                .ok_or_else(|| format!("{a:?} has not been picked")),
            NodeRef::Random => self
                .random_running(b)
                .ok_or_else(|| "no node is running".into()),
            NodeRef::Leader => leader(b),
            NodeRef::Rest => Err("\"rest\" is only meaningful in a list".into()),
        }
    }

    /// Resolves lists of nodes together: each reference is resolved once (so `"random"` is
    /// drawn once), and `"rest"` stands for every node no list names.
    fn groups<B: Backend>(
        &mut self,
        b: &B,
        groups: &[&[NodeRef]],
    ) -> Result<Vec<BTreeSet<NodeId>>, String> {
        let mut sets = Vec::with_capacity(groups.len());
        let mut with_rest = Vec::new();
        let mut named = BTreeSet::new();
        for (i, g) in groups.iter().enumerate() {
            let mut set = BTreeSet::new();
            for r in g.iter() {
                if *r == NodeRef::Rest {
                    with_rest.push(i);
                } else {
                    let id = self.one(b, r)?;
                    set.insert(id);
                    named.insert(id);
                }
            }
            sets.push(set);
        }
        let rest: Vec<NodeId> = (0..self.nodes).filter(|n| !named.contains(n)).collect();
        for i in with_rest {
            sets[i].extend(rest.iter().copied());
        }
        Ok(sets)
    }

    /// Resolves what a step names.
    fn step<B: Backend>(&mut self, b: &B, step: &Step) -> Result<Resolved, String> {
        Ok(match step.nodes() {
            Nodes::None => Resolved::None,
            Nodes::One(r) => Resolved::One(self.one(b, r)?),
            Nodes::Groups(groups) => {
                let lists: Vec<&[NodeRef]> = groups.iter().map(Vec::as_slice).collect();
                Resolved::Groups(self.groups(b, &lists)?)
            }
            Nodes::Pair(from, to) => {
                let mut r = self.groups(b, &[from, to])?;
                let to = r.pop().expect("two lists in, two sets out");
                Resolved::Pair(r.pop().expect("two lists in, two sets out"), to)
            }
        })
    }
}

/// The node leading the next block, as the most advanced running validator sees it.
fn leader<B: Backend>(b: &B) -> Result<NodeId, String> {
    let best = b
        .running()
        .filter(|(_, n)| n.network_pkey().is_some())
        .max_by_key(|(i, n)| (n.chain().epoch(), n.chain().offset(), std::cmp::Reverse(*i)))
        .map(|(_, n)| n)
        .ok_or("no validator is running")?;
    let c = best.chain();
    let key = if c.epoch_full() {
        c.election.macro_proposer(&c.tip_random(), 0)
    } else {
        c.leader_at(best.view_change())
    };
    b.node_of_key(&key)
        .ok_or_else(|| "the leader's key belongs to no node".into())
}

impl<B: Backend> Runner<'_, B> {
    /// Carries out `step`.
    pub(super) fn step(&mut self, step: &Located<Step>) -> Result<(), RunError> {
        let resolved = match self.resolver.step(&self.b, &step.value) {
            Ok(r) => r,
            Err(why) => {
                self.step_error(step, None, &why);
                if let Step::Pay { name: Some(n), .. } = &step.value {
                    self.client
                        .not_submitted(n, "its node could not be resolved".into());
                }
                return Ok(());
            }
        };
        let one = match resolved {
            Resolved::One(id) => id,
            Resolved::Groups(groups) => {
                self.partition(&groups);
                return Ok(());
            }
            Resolved::Pair(from, to) => {
                match &step.value {
                    Step::SetNetwork { .. } => self.set_network(&step.value, Some((from, to))),
                    _ => self.cut(&from, &to),
                }
                return Ok(());
            }
            Resolved::None => {
                match &step.value {
                    Step::Heal { .. } => self.heal(),
                    _ => self.set_network(&step.value, None),
                }
                return Ok(());
            }
        };
        self.step_on(step, one)
    }

    /// Carries out a step that names one node, `id`.
    fn step_on(&mut self, step: &Located<Step>, id: NodeId) -> Result<(), RunError> {
        let line = step.line as u64;
        match &step.value {
            Step::Pay {
                to,
                amount_ustg,
                name,
                ..
            } => self.pay_step(step, id, to, *amount_ustg, name),
            Step::Api {
                request,
                expect,
                name,
                ..
            } => self.api_step(step, id, request, expect, name),
            Step::SnowballDrop { .. }
            | Step::PopMicroBlock { .. }
            | Step::SetRestaking { .. }
            | Step::Restake { .. } => self.node_call(step, id),
            Step::Pick { name, node, .. } => {
                self.resolver.aliases.insert(name.clone(), id);
                self.step_line(
                    id,
                    ft::Step {
                        name: Some(Some(name.clone())),
                        node_ref: Some(node.to_string()),
                        ..step_event("pick", line)
                    },
                );
            }
            Step::Crash { .. } => {
                let crashed = self.b.crash(id);
                self.fault_line(
                    Some(id),
                    ft::Fault::Crash(ft::Crash {
                        was_running: crashed,
                    }),
                );
            }
            Step::Restart { .. } => self.restart(id)?,
            Step::ClockDrift {
                drift_ppm, jump, ..
            } => {
                self.b.set_clock(id, *drift_ppm, jump.ns);
                self.fault_line(
                    Some(id),
                    ft::Fault::ClockDrift(ft::ClockDrift {
                        drift_ppm: *drift_ppm,
                        jump_ns: jump.ns,
                    }),
                );
            }
            Step::Partition { .. } | Step::Cut { .. } | Step::Heal { .. } => {
                unreachable!("steps that name no single node are carried out by `step`")
            }
            Step::SetNetwork { .. } => unreachable!("set_network names lists or no node"),
        }
        Ok(())
    }

    /// Carries out a step that calls node `id` directly: `snowball_drop`,
    /// `pop_micro_block`, `set_restaking`, `restake`.
    fn node_call(&mut self, step: &Located<Step>, id: NodeId) {
        let line = step.line as u64;
        match &step.value {
            Step::SnowballDrop { phase, .. } => {
                let ran = self.call(id, |n, _| n.snowball_drop(phase.state()));
                if ran.is_some() {
                    self.fault_line(
                        Some(id),
                        ft::Fault::SnowballDrop(ft::SnowballDrop {
                            line,
                            phase: phase.name().into(),
                        }),
                    );
                } else {
                    self.step_error(step, Some(id), "the node is down");
                }
                self.flush_events();
            }
            Step::PopMicroBlock { .. } => {
                let r = self.call(id, |n, now| {
                    n.pop_micro_block(now).map(|b| (b.epoch, b.offset))
                });
                match r {
                    Some(Ok((epoch, offset))) => self.step_line(
                        id,
                        ft::Step {
                            epoch: Some(epoch),
                            offset: Some(offset as u64),
                            ..step_event("pop_micro_block", line)
                        },
                    ),
                    Some(Err(why)) => self.step_error(step, Some(id), why),
                    None => self.step_error(step, Some(id), "the node is down"),
                }
                self.flush_events();
            }
            Step::SetRestaking { enabled, .. } => {
                match self.call(id, |n, _| n.set_restaking(*enabled)) {
                    Some(_) => self.step_line(
                        id,
                        ft::Step {
                            enabled: Some(*enabled),
                            ..step_event("set_restaking", line)
                        },
                    ),
                    None => self.step_error(step, Some(id), "the node is down"),
                }
                self.flush_events();
            }
            Step::Restake { .. } => {
                match self.call(id, |n, now| n.restake(now, true)) {
                    Some(hashes) => {
                        let txs = hashes.iter().map(hex).collect();
                        self.step_line(
                            id,
                            ft::Step {
                                txs: Some(txs),
                                ..step_event("restake", line)
                            },
                        );
                    }
                    None => self.step_error(step, Some(id), "the node is down"),
                }
                self.flush_events();
            }
            _ => unreachable!("only steps that call a node come here"),
        }
    }

    /// Calls `f` on node `id` (see [`Backend::with_node`]); its events wait in the buffer
    /// until [`Runner::flush_events`].
    fn call<R>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut stegosim_node::node::Node, u64) -> R,
    ) -> Option<R> {
        self.b.with_node(id, &mut self.pending, f)
    }

    /// A `step` line of a step that ran on node `id`.
    fn step_line(&mut self, id: NodeId, step: ft::Step) {
        let t = self.t();
        self.trace.write(t, Some(id), ft::Event::Step(step));
    }

    /// A `step` line of a step that could not run.
    fn step_error(&mut self, step: &Located<Step>, node: Option<NodeId>, why: &str) {
        let t = self.t();
        let event = ft::Step {
            error: Some(why.into()),
            ..step_event(step.value.action(), step.line as u64)
        };
        self.trace.write(t, node, ft::Event::Step(event));
    }

    /// A `fault` line; counts the fault.
    fn fault_line(&mut self, node: Option<NodeId>, fault: ft::Fault) {
        self.facts.faults += 1;
        let t = self.t();
        self.trace.write(t, node, ft::Event::Fault(fault));
    }

    fn pay_step(
        &mut self,
        step: &Located<Step>,
        id: NodeId,
        to: &str,
        amount_ustg: i64,
        name: &Option<String>,
    ) {
        let key = named_key(to);
        match self.pay(id, key.public(), amount_ustg, name.clone()) {
            Ok(hash) => self.step_line(
                id,
                ft::Step {
                    to: Some(to.into()),
                    amount_ustg: Some(amount_ustg),
                    name: Some(name.clone()),
                    tx: Some(hex(&hash)),
                    ..step_event("pay", step.line as u64)
                },
            ),
            Err(why) => {
                self.step_error(step, Some(id), &why);
                if let Some(n) = name {
                    self.client.not_submitted(n, why);
                }
            }
        }
    }

    /// Builds and submits a payment through node `id`; returns its hash.
    pub(super) fn pay(
        &mut self,
        id: NodeId,
        to: &PublicKey,
        amount: i64,
        name: Option<String>,
    ) -> Result<Hash, String> {
        let t = self.t();
        let tx = self
            .client
            .payment(&self.b, t, id, to, amount, name.clone())?;
        let hash = tx.hash();
        if let Some(n) = &name {
            self.schedule_tx_deadlines(n, t);
        }
        let submitted = self.call(id, |n, now| n.submit_transaction(now, tx.clone()));
        self.flush_events();
        match submitted {
            Some(Ok(_)) => Ok(hash),
            Some(Err(_)) => {
                // The node reported `rejected`, which made the record terminal.
                self.client.release(&tx);
                Ok(hash)
            }
            None => Err("the node is down".into()),
        }
    }

    fn api_step(
        &mut self,
        step: &Located<Step>,
        id: NodeId,
        request: &toml::Table,
        expect: &Option<String>,
        name: &Option<String>,
    ) {
        let mut req = match scenario::api_request(request) {
            Ok(r) => r,
            Err(why) => return self.step_error(step, Some(id), &why),
        };
        req.id = self.client.api_request(super::client::PendingApi {
            line: step.line,
            expect: expect.clone(),
            name: name.clone(),
        });
        self.b.set_api_client();
        let t = self.t();
        let type_name = req.type_name();
        self.trace.write(
            t,
            Some(id),
            ft::Event::ApiRequest(ft::ApiRequest {
                line: step.line as u64,
                id: req.id,
                type_name: type_name.into(),
                account_id: req.account_id.clone(),
            }),
        );
        if !self.b.api_request(id, req, &mut self.pending) {
            self.step_error(step, Some(id), "the node is down");
        }
        self.flush_events();
    }

    fn restart(&mut self, id: NodeId) -> Result<(), RunError> {
        let restarted = self
            .b
            .restart(id, &mut self.pending)
            .map_err(|why| RunError::NodeStart { node: id, why })?;
        if restarted {
            let (epoch, offset) = self
                .b
                .node(id)
                .map(|n| (n.chain().epoch(), n.chain().offset()))
                .unwrap_or_default();
            let incarnation = self.b.incarnation(id);
            self.fault_line(
                Some(id),
                ft::Fault::Restart(ft::Restart {
                    incarnation: incarnation as u64,
                    epoch,
                    offset: offset as u64,
                }),
            );
        }
        // What the store kept is checked before the node's first events (after the restart's
        // line, so that a violation's line follows it).
        if let (true, Some(n)) = (restarted, self.b.node(id)) {
            let t = self.t();
            self.checks.restarted(&mut self.trace, t, id, n.chain());
        }
        self.flush_events();
        Ok(())
    }

    fn partition(&mut self, groups: &[BTreeSet<NodeId>]) {
        for (i, a) in groups.iter().enumerate() {
            for (j, b) in groups.iter().enumerate() {
                if i != j {
                    self.cut_links(a, b);
                }
            }
        }
        let groups = groups.iter().map(|g| g.iter().copied().collect()).collect();
        self.fault_line(None, ft::Fault::Partition(ft::Partition { groups }));
    }

    fn cut_links(&mut self, from: &BTreeSet<NodeId>, to: &BTreeSet<NodeId>) {
        for &x in from {
            for &y in to {
                if x != y {
                    self.b.set_cut(x, y);
                }
            }
        }
    }

    fn cut(&mut self, from: &BTreeSet<NodeId>, to: &BTreeSet<NodeId>) {
        self.cut_links(from, to);
        let cut = ft::Cut {
            from: from.iter().copied().collect(),
            to: to.iter().copied().collect(),
        };
        self.fault_line(None, ft::Fault::Cut(cut));
    }

    fn heal(&mut self) {
        let cut = self.b.cut_count() as u64;
        self.b.heal();
        self.fault_line(
            None,
            ft::Fault::Heal(ft::Heal {
                links_restored: cut,
            }),
        );
    }

    /// A `set_network` step: of the links `from -> to` when given, else of every link.
    fn set_network(&mut self, step: &Step, links: Option<(BTreeSet<NodeId>, BTreeSet<NodeId>)>) {
        let Step::SetNetwork {
            latency,
            loss,
            duplicate,
            reorder,
            reorder_delay,
            ..
        } = step
        else {
            unreachable!("only set_network steps come here");
        };
        let change = |mut o: LinkOptions| {
            if let Some(l) = latency {
                o.latency = scenario::latency(l);
            }
            if let Some(p) = loss {
                o.loss_probability = *p;
            }
            if let Some(p) = duplicate {
                o.duplicate_probability = *p;
            }
            if let Some(p) = reorder {
                o.reorder_probability = *p;
            }
            if let Some(d) = reorder_delay {
                o.reorder_delay_ns_max = d.ns;
            }
            o
        };
        let mut changed = 0u64;
        match links {
            Some((from, to)) => {
                for &x in &from {
                    for &y in &to {
                        if x != y {
                            let o = change(self.b.link(x, y));
                            self.b.set_link(x, y, o);
                            changed += 1;
                        }
                    }
                }
            }
            None => {
                let o = change(self.b.default_options());
                self.b.set_default(o);
            }
        }
        let set = ft::SetNetwork {
            latency: latency.as_ref().map(latency_event),
            loss: *loss,
            duplicate: *duplicate,
            reorder: *reorder,
            reorder_delay_ns: reorder_delay.map(|d| d.ns),
            links: (changed > 0).then_some(changed),
        };
        self.fault_line(None, ft::Fault::SetNetwork(set));
    }

    /// The next payment of workload `i`, and the next one's scheduling.
    pub(super) fn workload_tick(&mut self, i: usize) {
        let Workload::Payments {
            node,
            amount_ustg,
            recipients,
            stop,
            ..
        } = &self.scenario.workloads[i].value;
        let id = match node {
            NodeRef::Random => {
                let running: Vec<NodeId> = self.b.running().map(|(n, _)| n).collect();
                if running.is_empty() {
                    None
                } else {
                    let w = &mut self.workloads[i];
                    Some(running[w.rng.below(running.len() as u64) as usize])
                }
            }
            other => self.resolver.one(&self.b, other).ok(),
        };
        let w = &mut self.workloads[i];
        let amount = draw(&mut w.rng, amount_ustg).round().max(1.0) as i64;
        let recipient = format!("load-{}", w.rng.below(*recipients as u64));
        if let Some(id) = id {
            let key = named_key(&recipient);
            let _ = self.pay(id, key.public(), amount, None);
        }
        let w = &mut self.workloads[i];
        let next = w.next_ns + w.interval();
        w.next_ns = next;
        if next < stop.ns {
            let abs = self.b.start_ns() + next;
            let cid = self
                .controls
                .iter()
                .position(|c| *c == Control::Workload(i))
                .expect("every workload has a control id") as u64;
            self.b.schedule(abs, cid);
        }
    }
}

/// A `step` line's event with its action and line, and no other field.
fn step_event(action: &str, line: u64) -> ft::Step {
    ft::Step {
        action: action.into(),
        line,
        to: None,
        amount_ustg: None,
        name: None,
        tx: None,
        epoch: None,
        offset: None,
        enabled: None,
        txs: None,
        node_ref: None,
        error: None,
    }
}

/// A latency model as the trace writes it: `{"distribution":"uniform","max_ns":..,"min_ns":..}`.
fn latency_event(l: &scenario::LatencySpec) -> ft::Latency {
    use scenario::LatencySpec;
    let mut out = ft::Latency {
        distribution: String::new(),
        max_ns: None,
        mean_ns: None,
        min_ns: None,
        value_ns: None,
    };
    match *l {
        LatencySpec::Constant { value } => {
            out.distribution = "constant".into();
            out.value_ns = Some(value.ns);
        }
        LatencySpec::Uniform { min, max } => {
            out.distribution = "uniform".into();
            out.min_ns = Some(min.ns);
            out.max_ns = Some(max.ns);
        }
        LatencySpec::Exponential { min, mean, max } => {
            out.distribution = "exponential".into();
            out.min_ns = Some(min.ns);
            out.mean_ns = Some(mean.ns);
            out.max_ns = Some(max.ns);
        }
    }
    out
}
