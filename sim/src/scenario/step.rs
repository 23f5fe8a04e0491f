//! What a scenario step means, in one place: the step types (`[[step]]` tables, as `serde`
//! reads them), when each runs, its `action` name, whether it is a fault, which nodes it names
//! ([`Step::nodes`], [`Step::nodes_mut`]), what an engine needs to carry it out
//! ([`Step::needs`]) and what makes it valid (`Step::check`).
//!
//! Everything else asks this file instead of matching the variants itself: the scenario
//! checker calls `Step::check`, shrinking renumbers through [`Step::nodes_mut`], an engine
//! refuses what it cannot do by [`Need`], and the runner resolves [`Step::nodes`] before it
//! carries a step out (its executor, `run::steps`, is the one other place that matches on the
//! variants: it is what a step does).

use std::collections::BTreeSet;

use serde::Deserialize;

use super::format::{DropPhase, LatencySpec, NodeRef, drop_phase_default, node_zero};
use super::{NodeChecker, api_request};
use crate::des::clock::CLOCK_DRIFT_PPM_MAX;
use crate::time::Duration;

/// One timed step. `action` chooses what it does; `at` is when, from the start of the run.
///
/// Room to grow: API requests to a node's wallet (`action = "api"`) slot in as one more
/// variant once the node exposes `handle_request`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Submit a payment from the genesis-funded account through `node`.
    Pay {
        /// When.
        at: Duration,
        /// The node that receives the transaction.
        #[serde(default = "node_zero")]
        node: NodeRef,
        /// The recipient: a name, turned into a key derived from it.
        to: String,
        /// Amount in µSTG.
        amount_ustg: i64,
        /// A name for expectations (`tx = "<name>"`).
        #[serde(default)]
        name: Option<String>,
    },
    /// Send any API request as a client of `node`, as the WebSocket API spells it:
    /// `request = { type = "stake", account_id = "1", amount = 5000000, payment_fee = 1000 }`.
    /// The response is traced (`api_response`); with `expect`, a response of another `type`
    /// fails the run (e.g. `expect = "transaction_created"`, or `"error"` for a refusal).
    Api {
        /// When.
        at: Duration,
        /// The node whose API is called.
        #[serde(default = "node_zero")]
        node: NodeRef,
        /// The request, as a table (its `type` and fields; `id` is set by the runner).
        request: toml::Table,
        /// The response `type` that must come back.
        #[serde(default)]
        expect: Option<String>,
        /// A name for the transaction the request creates (`transaction_created`), so that
        /// `tx_status` expectations can follow it like a `pay` step's payment.
        #[serde(default)]
        name: Option<String>,
    },
    /// Kill a Snowball participant mid-round: the next participant of `node` that enters
    /// `phase` stops there and sends nothing more (its client is told `failed`); the other
    /// members exclude it at the phase's deadline and restart.
    SnowballDrop {
        /// When the node is armed.
        at: Duration,
        /// Which node.
        node: NodeRef,
        /// The phase it stops at (default `commitment`).
        #[serde(default = "drop_phase_default")]
        phase: DropPhase,
    },
    /// Revert the last micro block of `node` (the API's `pop_micro_block`).
    PopMicroBlock {
        /// When.
        at: Duration,
        /// Which node.
        node: NodeRef,
    },
    /// Turn automatic restaking of `node` on or off.
    SetRestaking {
        /// When.
        at: Duration,
        /// Which node.
        node: NodeRef,
        /// On or off.
        enabled: bool,
    },
    /// Restake the expired stakes of `node` now.
    Restake {
        /// When.
        at: Duration,
        /// Which node.
        node: NodeRef,
    },
    /// Bind `name` to a node chosen now (`node = "leader"` or `"random"`), for later steps.
    Pick {
        /// When.
        at: Duration,
        /// The name later steps use.
        name: String,
        /// Which node to bind.
        node: NodeRef,
    },
    /// Cut every link between nodes of different groups, both ways.
    Partition {
        /// When.
        at: Duration,
        /// The groups; `"rest"` stands for every node not named elsewhere.
        groups: Vec<Vec<NodeRef>>,
    },
    /// Cut the links from every node of `from` to every node of `to`, one way.
    Cut {
        /// When.
        at: Duration,
        /// Senders whose messages are dropped.
        from: Vec<NodeRef>,
        /// Receivers that do not get them.
        to: Vec<NodeRef>,
    },
    /// Restore every cut link.
    Heal {
        /// When.
        at: Duration,
    },
    /// Power loss at `node`: it stops, and its store loses every unsynced write.
    Crash {
        /// When.
        at: Duration,
        /// Which node.
        node: NodeRef,
    },
    /// Start `node` again from what its store kept.
    Restart {
        /// When.
        at: Duration,
        /// Which node.
        node: NodeRef,
    },
    /// Change the link model: of every link, or of the links `from -> to` when given.
    SetNetwork {
        /// When.
        at: Duration,
        /// New latency, if it changes.
        #[serde(default)]
        latency: Option<LatencySpec>,
        /// New loss probability, if it changes.
        #[serde(default)]
        loss: Option<f64>,
        /// New duplication probability, if it changes.
        #[serde(default)]
        duplicate: Option<f64>,
        /// New reorder probability, if it changes.
        #[serde(default)]
        reorder: Option<f64>,
        /// New largest reorder delay, if it changes.
        #[serde(default)]
        reorder_delay: Option<Duration>,
        /// Only links from these nodes (with `to`).
        #[serde(default)]
        from: Option<Vec<NodeRef>>,
        /// Only links to these nodes (with `from`).
        #[serde(default)]
        to: Option<Vec<NodeRef>>,
    },
    /// From now on the clock of `node` runs `drift_ppm` parts per million fast (negative:
    /// slow), after jumping forward by `jump`.
    ClockDrift {
        /// When.
        at: Duration,
        /// Which node.
        node: NodeRef,
        /// Rate error in parts per million, within ±100000.
        drift_ppm: i64,
        /// A forward step of the clock.
        #[serde(default)]
        jump: Duration,
    },
}

impl Step {
    /// When the step runs.
    pub fn at(&self) -> Duration {
        match self {
            Step::Pay { at, .. }
            | Step::Api { at, .. }
            | Step::PopMicroBlock { at, .. }
            | Step::SnowballDrop { at, .. }
            | Step::SetRestaking { at, .. }
            | Step::Restake { at, .. }
            | Step::Pick { at, .. }
            | Step::Partition { at, .. }
            | Step::Cut { at, .. }
            | Step::Heal { at }
            | Step::Crash { at, .. }
            | Step::Restart { at, .. }
            | Step::SetNetwork { at, .. }
            | Step::ClockDrift { at, .. } => *at,
        }
    }

    /// The `action` name.
    pub fn action(&self) -> &'static str {
        match self {
            Step::Pay { .. } => "pay",
            Step::Api { .. } => "api",
            Step::PopMicroBlock { .. } => "pop_micro_block",
            Step::SnowballDrop { .. } => "snowball_drop",
            Step::SetRestaking { .. } => "set_restaking",
            Step::Restake { .. } => "restake",
            Step::Pick { .. } => "pick",
            Step::Partition { .. } => "partition",
            Step::Cut { .. } => "cut",
            Step::Heal { .. } => "heal",
            Step::Crash { .. } => "crash",
            Step::Restart { .. } => "restart",
            Step::SetNetwork { .. } => "set_network",
            Step::ClockDrift { .. } => "clock_drift",
        }
    }

    /// Whether the step is a fault (it changes the network, a node's liveness or its clock).
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            Step::Partition { .. }
                | Step::Cut { .. }
                | Step::Heal { .. }
                | Step::Crash { .. }
                | Step::Restart { .. }
                | Step::SetNetwork { .. }
                | Step::ClockDrift { .. }
                | Step::SnowballDrop { .. }
        )
    }

    /// The name a `pick` step binds, for later steps.
    pub fn binds(&self) -> Option<&str> {
        match self {
            Step::Pick { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The nodes the step names, as the runner resolves them.
    pub fn nodes(&self) -> Nodes<'_> {
        match self {
            Step::Pay { node, .. }
            | Step::Api { node, .. }
            | Step::PopMicroBlock { node, .. }
            | Step::SnowballDrop { node, .. }
            | Step::SetRestaking { node, .. }
            | Step::Restake { node, .. }
            | Step::Pick { node, .. }
            | Step::Crash { node, .. }
            | Step::Restart { node, .. }
            | Step::ClockDrift { node, .. } => Nodes::One(node),
            Step::Partition { groups, .. } => Nodes::Groups(groups),
            Step::Cut { from, to, .. } => Nodes::Pair(from, to),
            Step::SetNetwork {
                from: Some(from),
                to: Some(to),
                ..
            } => Nodes::Pair(from, to),
            Step::SetNetwork { .. } | Step::Heal { .. } => Nodes::None,
        }
    }

    /// The nodes the step names, to edit (shrinking renumbers them).
    pub fn nodes_mut(&mut self) -> NodesMut<'_> {
        match self {
            Step::Pay { node, .. }
            | Step::Api { node, .. }
            | Step::PopMicroBlock { node, .. }
            | Step::SnowballDrop { node, .. }
            | Step::SetRestaking { node, .. }
            | Step::Restake { node, .. }
            | Step::Pick { node, .. }
            | Step::Crash { node, .. }
            | Step::Restart { node, .. }
            | Step::ClockDrift { node, .. } => NodesMut::One(node),
            Step::Partition { groups, .. } => NodesMut::Groups(groups),
            Step::Cut { from, to, .. } => NodesMut::Pair(from, to),
            Step::SetNetwork { from, to, .. } => NodesMut::Lists([from, to]),
            Step::Heal { .. } => NodesMut::None,
        }
    }

    /// What an engine must be able to model to carry the step out, in the order an engine
    /// reports them (the first it cannot model is the one named).
    pub fn needs(&self) -> Vec<Need> {
        let mut needs = Vec::new();
        match self {
            Step::Cut { .. } => needs.push(Need::OneWayCut),
            Step::ClockDrift { .. } => needs.push(Need::ClockDrift),
            Step::SetNetwork {
                loss,
                duplicate,
                reorder,
                reorder_delay,
                ..
            } => {
                if loss.is_some_and(|p| p > 0.0) {
                    needs.push(Need::Loss);
                }
                if duplicate.is_some_and(|p| p > 0.0) {
                    needs.push(Need::Duplication);
                }
                if reorder.is_some_and(|p| p > 0.0) || reorder_delay.is_some() {
                    needs.push(Need::Reordering);
                }
            }
            _ => {}
        }
        needs
    }

    /// Checks the step as loading a file does: its nodes exist (or were picked earlier), its
    /// values are in range, its names are new. `tx_names` collects the names of transactions.
    pub(crate) fn check(
        &self,
        nodes: &NodeChecker,
        picked: &BTreeSet<String>,
        tx_names: &mut BTreeSet<String>,
    ) -> Result<(), String> {
        // Checks of values that come before the node references (error order is part of
        // the messages people see).
        match self {
            Step::Pick { name, .. } if matches!(name.as_str(), "leader" | "random" | "rest") => {
                return Err(format!("name {name:?} is reserved"));
            }
            Step::Partition { groups, .. } if groups.len() < 2 => {
                return Err("groups: expected at least two groups".into());
            }
            Step::SetNetwork { .. } => self.check_network()?,
            _ => {}
        }
        match self.nodes() {
            Nodes::None => {}
            Nodes::One(node) => nodes.single(node, picked, true)?,
            Nodes::Groups(groups) => {
                for g in groups {
                    nodes.list(g, picked, true)?;
                }
            }
            Nodes::Pair(from, to) => {
                nodes.list(from, picked, true)?;
                nodes.list(to, picked, true)?;
            }
        }
        self.check_after_nodes(tx_names)
    }

    /// The link values of a `set_network` step.
    fn check_network(&self) -> Result<(), String> {
        let Step::SetNetwork {
            latency,
            loss,
            duplicate,
            reorder,
            from,
            to,
            ..
        } = self
        else {
            return Ok(());
        };
        check_probability("loss", *loss)?;
        check_probability("duplicate", *duplicate)?;
        check_probability("reorder", *reorder)?;
        if let Some(l) = latency {
            super::latency(l).validate()?;
        }
        if from.is_some() != to.is_some() {
            return Err("from and to go together: give both or neither".into());
        }
        Ok(())
    }

    /// The values checked once the nodes are known to exist.
    fn check_after_nodes(&self, tx_names: &mut BTreeSet<String>) -> Result<(), String> {
        match self {
            Step::Pay {
                to,
                amount_ustg,
                name,
                ..
            } => {
                if *amount_ustg <= 0 {
                    return Err("amount_ustg: expected a positive amount".into());
                }
                if to.is_empty() {
                    return Err("to: expected a recipient name".into());
                }
                new_name(tx_names, name, "payment")
            }
            Step::Api {
                request,
                expect,
                name,
                ..
            } => {
                api_request(request)?;
                new_name(tx_names, name, "transaction")?;
                match expect {
                    Some(t)
                        if !stegosim_api::message::ServerKind::TYPE_NAMES.contains(&t.as_str()) =>
                    {
                        Err(format!("expect: {t:?} is not a response type of the API"))
                    }
                    _ => Ok(()),
                }
            }
            Step::ClockDrift { drift_ppm, .. } if drift_ppm.abs() > CLOCK_DRIFT_PPM_MAX => Err(
                format!("drift_ppm: expected -{CLOCK_DRIFT_PPM_MAX} to {CLOCK_DRIFT_PPM_MAX}"),
            ),
            _ => Ok(()),
        }
    }
}

/// Records a transaction's name; an error when another transaction has it.
fn new_name(
    tx_names: &mut BTreeSet<String>,
    name: &Option<String>,
    what: &str,
) -> Result<(), String> {
    match name {
        Some(n) if !tx_names.insert(n.clone()) => {
            Err(format!("name {n:?} is already used by another {what}"))
        }
        _ => Ok(()),
    }
}

fn check_probability(name: &str, p: Option<f64>) -> Result<(), String> {
    match p {
        Some(p) if !(0.0..=1.0).contains(&p) => Err(format!(
            "{name}: expected a probability in 0..=1, found {p}"
        )),
        _ => Ok(()),
    }
}

/// The nodes a step names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Nodes<'a> {
    /// None (`heal`, a `set_network` of every link).
    None,
    /// One node.
    One(&'a NodeRef),
    /// Groups that are cut from each other (`partition`); `"rest"` may stand in any.
    Groups(&'a [Vec<NodeRef>]),
    /// Links from every node of the first list to every node of the second.
    Pair(&'a [NodeRef], &'a [NodeRef]),
}

/// The nodes a step names, to edit.
#[derive(Debug)]
pub enum NodesMut<'a> {
    /// None.
    None,
    /// One node.
    One(&'a mut NodeRef),
    /// Groups cut from each other: fewer than two is no partition.
    Groups(&'a mut Vec<Vec<NodeRef>>),
    /// Two lists, each of which must keep a node.
    Pair(&'a mut Vec<NodeRef>, &'a mut Vec<NodeRef>),
    /// Optional lists (`set_network`'s `from` and `to`), each of which must keep a node.
    Lists([&'a mut Option<Vec<NodeRef>>; 2]),
}

/// Something an engine must be able to model for a step to run on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Cutting a link one way only (`cut`).
    OneWayCut,
    /// A node's clock running fast or slow (`clock_drift`).
    ClockDrift,
    /// Messages lost (`set_network` with `loss`).
    Loss,
    /// Messages duplicated (`set_network` with `duplicate`).
    Duplication,
    /// Messages reordered (`set_network` with `reorder` or `reorder_delay`).
    Reordering,
}
