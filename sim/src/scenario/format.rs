//! The scenario file format, as the types `serde` reads it into. `scenarios/README.md`
//! documents it for people; every field here has a doc line saying the same.
//!
//! Unknown keys are errors everywhere (`deny_unknown_fields`), so a misspelt key never
//! silently does nothing. Tables that carry a `kind` or `action` key are internally tagged
//! enums: the tag chooses the variant and the other keys are its fields.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};
use stegosim_formats::duration::Duration;
use toml::Spanned;

pub use super::step::Step;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Short name: the default output folder is `out/<name>-<seed>`.
    pub name: String,
    /// What the scenario shows, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Seed used when the command line gives none.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How much virtual time the run covers.
    pub duration: Duration,
    /// The nodes and the links between them.
    pub network: NetworkSpec,
    /// Wallet accounts funded by genesis (`[[account]]`).
    #[serde(default, rename = "account")]
    pub accounts: Vec<Spanned<AccountSpec>>,
    /// Overrides of single `ChainConfig` fields of the chosen preset.
    #[serde(default)]
    pub chain: Option<Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
    /// Timed actions and faults (`[[step]]`).
    #[serde(default, rename = "step")]
    pub steps: Vec<Spanned<Step>>,
    /// Background load (`[[workload]]`).
    #[serde(default, rename = "workload")]
    pub workloads: Vec<Spanned<Workload>>,
    /// What must happen, with deadlines (`[[expect]]`).
    #[serde(default, rename = "expect")]
    pub expectations: Vec<Spanned<Expect>>,
    /// What must always hold.
    #[serde(default)]
    pub invariants: InvariantsSpec,
    /// A fault mix drawn from the seed (TigerBeetle's swarm testing).
    #[serde(default)]
    pub swarm: Option<Spanned<SwarmSpec>>,
    /// What the trace holds.
    #[serde(default)]
    pub trace: TraceSpec,
}

/// What the trace holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSpec {
    /// Lines for facts every node reports (`micro_block_prepared`, `macro_block_committed`,
    /// `transaction_status`): `"all"` writes every node's line, `"first"` only the first
    /// node's line for each block or status (for large networks).
    #[serde(default)]
    pub node_events: NodeEvents,
}

/// Which nodes' lines the trace keeps for facts every node reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeEvents {
    /// Every node's line.
    #[default]
    All,
    /// Only the first node's line per block or status.
    First,
}

fn default_seed() -> u64 {
    1
}

/// A wallet account on a node, funded by genesis (`[[account]]`). Each node numbers its
/// accounts in file order after the ones it already has: node 0 holds the genesis account
/// "1", so its first `[[account]]` is "2"; on other nodes the first is "1".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// The node whose wallet holds the account (an index).
    pub node: u32,
    /// The account's password (it starts unsealed).
    pub password: String,
    /// Its genesis funds, one payment output, in µSTG.
    pub funds_ustg: i64,
}

/// A Snowball phase a `snowball_drop` step stops a participant at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropPhase {
    /// Before sending its session key.
    SharedKeying,
    /// Before sending its commitment.
    Commitment,
    /// Before revealing its cloaked values.
    CloakedVals,
    /// Before signing.
    Signature,
}

impl DropPhase {
    /// The node's name for the phase.
    pub fn state(self) -> stegosim_api::message::SnowballState {
        use stegosim_api::message::SnowballState as S;
        match self {
            DropPhase::SharedKeying => S::SharedKeying,
            DropPhase::Commitment => S::Commitment,
            DropPhase::CloakedVals => S::CloakedVals,
            DropPhase::Signature => S::Signature,
        }
    }

    /// The name in scenario files and traces.
    pub fn name(self) -> &'static str {
        match self {
            DropPhase::SharedKeying => "shared_keying",
            DropPhase::Commitment => "commitment",
            DropPhase::CloakedVals => "cloaked_vals",
            DropPhase::Signature => "signature",
        }
    }
}

pub(super) fn drop_phase_default() -> DropPhase {
    DropPhase::Commitment
}

/// The nodes and the default link model.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Genesis validators; nodes `0..validators` run them.
    pub validators: u32,
    /// Extra nodes that follow the chain without validating (indices after the validators).
    #[serde(default)]
    pub observers: u32,
    /// Chain preset (`dev` or `testnet`), before the `[chain]` overrides.
    #[serde(default = "default_preset")]
    pub chain: String,
    /// Latency of every link.
    #[serde(default)]
    pub latency: LatencySpec,
    /// Probability that a message is lost.
    #[serde(default)]
    pub loss: f64,
    /// Probability that a message arrives twice.
    #[serde(default)]
    pub duplicate: f64,
    /// Probability that a message is held back so later ones overtake it.
    #[serde(default)]
    pub reorder: f64,
    /// Largest extra delay of a held-back message.
    #[serde(default)]
    pub reorder_delay: Duration,
}

fn default_preset() -> String {
    "dev".into()
}

/// A latency distribution: `{ distribution = "uniform", min = "5ms", max = "50ms" }`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(tag = "distribution", rename_all = "snake_case", deny_unknown_fields)]
pub enum LatencySpec {
    /// Always `value`.
    Constant {
        /// The latency.
        value: Duration,
    },
    /// Uniform in `min..=max`.
    Uniform {
        /// Smallest latency.
        min: Duration,
        /// Largest latency.
        max: Duration,
    },
    /// `min` plus an exponential tail with mean `mean`, capped at `max`.
    Exponential {
        /// Smallest latency.
        min: Duration,
        /// Mean latency.
        mean: Duration,
        /// Largest latency.
        max: Duration,
    },
}

impl Default for LatencySpec {
    /// Uniform between 5 and 50 ms.
    fn default() -> Self {
        LatencySpec::Uniform {
            min: Duration::from_ns(5_000_000),
            max: Duration::from_ns(50_000_000),
        }
    }
}

/// A node, as steps, workloads and expectations name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeRef {
    /// Node by index (`0` is validator 0).
    Index(u32),
    /// `"leader"`: the node that leads the next micro block (or proposes the pending macro
    /// block), as the most advanced running validator sees it, when the step runs.
    Leader,
    /// `"random"`: a running node drawn from the seed when the step runs.
    Random,
    /// `"rest"`: in a list of groups, every node not named in another group.
    Rest,
    /// A name bound by an earlier `pick` step.
    Alias(String),
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRef::Index(i) => write!(f, "{i}"),
            NodeRef::Leader => f.write_str("leader"),
            NodeRef::Random => f.write_str("random"),
            NodeRef::Rest => f.write_str("rest"),
            NodeRef::Alias(a) => f.write_str(a),
        }
    }
}

impl<'de> Deserialize<'de> for NodeRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = NodeRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a node index, \"leader\", \"random\", \"rest\" or a picked name")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NodeRef, E> {
                u32::try_from(v)
                    .map(NodeRef::Index)
                    .map_err(|_| E::custom(format!("node index {v} is out of range")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NodeRef, E> {
                u32::try_from(v)
                    .map(NodeRef::Index)
                    .map_err(|_| E::custom(format!("node index {v} is out of range")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NodeRef, E> {
                Ok(match v {
                    "leader" => NodeRef::Leader,
                    "random" => NodeRef::Random,
                    "rest" => NodeRef::Rest,
                    "" => return Err(E::custom("a node name cannot be empty")),
                    other => NodeRef::Alias(other.to_string()),
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

pub(super) fn node_zero() -> NodeRef {
    NodeRef::Index(0)
}

fn node_random() -> NodeRef {
    NodeRef::Random
}

/// A number, or a range the seed draws from: `2.5` or `{ min = 1, max = 4 }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// Lower bound.
    pub min: f64,
    /// Upper bound (equal to `min` for a fixed number).
    pub max: f64,
}

impl<'de> Deserialize<'de> for Draw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Range {
            min: f64,
            max: f64,
        }
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Draw;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a table { min = .., max = .. }")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Draw, E> {
                Ok(Draw {
                    min: v as f64,
                    max: v as f64,
                })
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Draw, E> {
                Ok(Draw {
                    min: v as f64,
                    max: v as f64,
                })
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Draw, E> {
                Ok(Draw { min: v, max: v })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Draw, A::Error> {
                let r = Range::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                if r.min > r.max {
                    return Err(serde::de::Error::custom("min is above max"));
                }
                Ok(Draw {
                    min: r.min,
                    max: r.max,
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Background load.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Workload {
    /// Payments from the genesis-funded account, as a Poisson process.
    Payments {
        /// Node that receives each payment (`"random"`: a running node drawn each time).
        #[serde(default = "node_random")]
        node: NodeRef,
        /// Payments per second of virtual time; a range is drawn once from the seed.
        rate_per_s: Draw,
        /// Amount of each payment in µSTG; a range is drawn per payment.
        amount_ustg: Draw,
        /// How many distinct recipients (named `load-0`, `load-1`, ...).
        #[serde(default = "default_recipients")]
        recipients: u32,
        /// When the load starts.
        #[serde(default)]
        start: Duration,
        /// When it stops (leave time after it for the last payments to commit).
        stop: Duration,
    },
}

fn default_recipients() -> u32 {
    8
}

/// A transaction status name, as `tx_status` expectations use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusName {
    /// In the mempool.
    Accepted,
    /// In a micro block.
    Prepared,
    /// In a final macro block.
    Committed,
    /// Refused at submission.
    Rejected,
    /// Dropped for a conflicting spend.
    Conflicted,
    /// Its micro block was reverted.
    Rollback,
}

impl StatusName {
    /// The name used in files and traces.
    pub fn name(self) -> &'static str {
        match self {
            StatusName::Accepted => "accepted",
            StatusName::Prepared => "prepared",
            StatusName::Committed => "committed",
            StatusName::Rejected => "rejected",
            StatusName::Conflicted => "conflicted",
            StatusName::Rollback => "rollback",
        }
    }
}

fn one() -> u64 {
    1
}

/// Something that must happen by a deadline (`by`, from the start of the run).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Expect {
    /// The payment named `tx` reaches `status` (on any node) within `within` of its
    /// submission.
    TxStatus {
        /// The `name` of a `pay` step.
        tx: String,
        /// The status to reach.
        status: StatusName,
        /// The deadline, counted from the submission.
        within: Duration,
    },
    /// Every running node (or just `node`) has reached epoch `at_least`.
    Epoch {
        /// The smallest epoch.
        at_least: u64,
        /// The deadline.
        by: Duration,
        /// Only this node.
        #[serde(default)]
        node: Option<NodeRef>,
    },
    /// At least `at_least` view changes happened (on any node, or on `node`).
    ViewChange {
        /// The deadline.
        by: Duration,
        /// How many.
        #[serde(default = "one")]
        at_least: u64,
        /// Only on this node.
        #[serde(default)]
        node: Option<NodeRef>,
    },
    /// `node` reverted at least `at_least` micro blocks.
    Reverted {
        /// Which node.
        node: NodeRef,
        /// The deadline.
        by: Duration,
        /// How many blocks.
        #[serde(default = "one")]
        at_least: u64,
    },
    /// `node` submitted restake transactions: at least `at_least` by the deadline, and never
    /// more than `at_most` up to it.
    Restakes {
        /// Which node.
        node: NodeRef,
        /// The deadline.
        by: Duration,
        /// Smallest count by the deadline.
        #[serde(default)]
        at_least: Option<u64>,
        /// Largest count up to the deadline.
        #[serde(default)]
        at_most: Option<u64>,
    },
    /// Every running node sees `node` in (`member = true`) or out of the validator set.
    Validator {
        /// Which node.
        node: NodeRef,
        /// In or out.
        member: bool,
        /// The deadline.
        by: Duration,
    },
    /// `node` runs and holds the same last macro block as the most advanced running node.
    CaughtUp {
        /// Which node.
        node: NodeRef,
        /// The deadline.
        by: Duration,
    },
    /// The `snowball_status` notifications of account `account_id` on `node` go through
    /// `states` in this order (other states may come in between) by `by`.
    Snowball {
        /// The node whose wallet holds the account.
        node: NodeRef,
        /// The account.
        account_id: String,
        /// The states, in order (`pool_wait`, `shared_keying`, `commitment`, `cloaked_vals`,
        /// `signature`, `secret_keying`, `succeeded`, `failed`).
        states: Vec<String>,
        /// The deadline.
        by: Duration,
    },
    /// At least `at_least` of the scenario's payments are committed.
    Committed {
        /// How many.
        at_least: u64,
        /// The deadline.
        by: Duration,
    },
}

/// Which invariants to check. All are on unless turned off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvariantsSpec {
    /// No two nodes ever commit different macro blocks for the same epoch.
    #[serde(default = "yes")]
    pub macro_agreement: bool,
    /// Running nodes converge on the same macro blocks after the last fault.
    #[serde(default = "yes")]
    pub convergence: bool,
    /// How long after the last fault step they have to converge.
    #[serde(default = "default_converge_within")]
    pub converge_within: Duration,
    /// Every payment the scenario submitted ends committed, rejected or conflicted.
    #[serde(default = "yes")]
    pub transactions_terminal: bool,
    /// Every node's ledger holds exactly genesis plus minted supply.
    #[serde(default = "yes")]
    pub supply: bool,
    /// No output spent twice (or before it was created, or created twice) in the final chain.
    #[serde(default = "yes")]
    pub final_chain: bool,
    /// What a node made final is never undone (committed transactions, finalised blocks).
    #[serde(default = "yes")]
    pub finality: bool,
}

impl Default for InvariantsSpec {
    fn default() -> Self {
        InvariantsSpec {
            macro_agreement: true,
            convergence: true,
            converge_within: default_converge_within(),
            transactions_terminal: true,
            supply: true,
            final_chain: true,
            finality: true,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_converge_within() -> Duration {
    Duration::from_secs(60)
}

/// Swarm testing: the seed chooses which faults happen, how often and how hard, up to these
/// bounds; at `faults_until` every fault is healed and the liveness phase begins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwarmSpec {
    /// When faults start.
    #[serde(default)]
    pub faults_from: Duration,
    /// When the liveness phase starts: every partition healed, every node restarted, the
    /// network back to its base model.
    pub faults_until: Duration,
    /// Most partitions (two-way or one-way) in the fault phase.
    #[serde(default = "three")]
    pub partitions_max: u32,
    /// Most crashes (each followed by a restart) in the fault phase.
    #[serde(default = "three")]
    pub crashes_max: u32,
    /// Most changes of the link model in the fault phase.
    #[serde(default = "three")]
    pub network_changes_max: u32,
    /// Most clock drift changes.
    #[serde(default = "two")]
    pub clock_drifts_max: u32,
    /// Most `pop_micro_block` calls on a random node (default 0: a leader that pops its own
    /// fresh block produces a second one at the same height and view, an equivocation the
    /// node's fork choice cannot break, so the network splits for good). Re-tried after fork
    /// choice learned to rank equal views: with `pops_max = 3` in `scenarios/swarm.toml`,
    /// 49 of seeds 0..50 pass and seed 47 stalls (no progress after the last fault), so it
    /// stays 0.
    #[serde(default)]
    pub pops_max: u32,
    /// Highest loss probability the seed may choose.
    #[serde(default = "default_loss_max")]
    pub loss_max: f64,
    /// Highest duplication probability the seed may choose.
    #[serde(default = "default_duplicate_max")]
    pub duplicate_max: f64,
    /// Highest reorder probability the seed may choose.
    #[serde(default = "default_duplicate_max")]
    pub reorder_max: f64,
    /// Largest clock drift the seed may choose, in parts per million.
    #[serde(default = "default_drift_max")]
    pub drift_ppm_max: i64,
    /// Longest a fault (partition, crash) lasts.
    #[serde(default = "default_fault_duration_max")]
    pub fault_duration_max: Duration,
}

fn two() -> u32 {
    2
}

fn three() -> u32 {
    3
}

fn default_loss_max() -> f64 {
    0.05
}

fn default_duplicate_max() -> f64 {
    0.05
}

fn default_drift_max() -> i64 {
    20_000
}

fn default_fault_duration_max() -> Duration {
    Duration::from_secs(20)
}
