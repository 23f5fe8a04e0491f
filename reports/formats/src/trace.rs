//! The simulator's trace (`trace.jsonl`): one JSON object per line, and the running BLAKE3
//! hash of its bytes that `summary.json` holds as `trace_hash`.
//!
//! Every line is `{"t_ns":<virtual ns since the start>,"node":<index or null>,"kind":"<kind>"`
//! followed by the kind's fields in a fixed order; `sim/README.md` ("The trace") documents
//! every kind. A [`TraceLine`] is one line: its time, its node and its [`Event`], one variant
//! per kind. [`TraceLine::write_to`] gives the line's bytes, which are the bytes the
//! simulator has always written (the golden trace hashes depend on them, byte for byte), and
//! [`TraceLine::parse`] reads them back; a test reads every line of the recorded traces and
//! writes each back to the identical bytes.
//!
//! Writing: [`TraceWriter`] encodes lines into one reused buffer and keeps the running hash
//! and the line count, so a simulator hands each line to it and the bytes to its sink.
//!
//! Reading: [`TraceLine::parse`] reads one line. A kind this build does not know reads as
//! [`Event::Other`] with its fields, and fields a known kind does not have are ignored, so a
//! newer simulator's trace still reads.
//!
//! Fields are declared in the order they are written. Where a kind's fields depend on a value
//! of the line (a transaction's status, a step's action), the type holds every field as an
//! `Option` that is written only when present, and says which value has which fields.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

/// The file name of a run's trace in its output folder.
pub const FILE_NAME: &str = "trace.jsonl";

/// One line of the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceLine {
    /// Virtual time since the start of the run, in ns.
    pub t_ns: u64,
    /// The node the line is about, if one.
    pub node: Option<u32>,
    /// What happened.
    pub event: Event,
}

/// What a trace line says happened: one variant per kind of `sim/README.md`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// The run began (`node` null).
    RunStarted(RunStarted),
    /// The fault steps a `[swarm]` drew from the seed (`node` null).
    Swarm(Swarm),
    /// A workload and the rate drawn for it (`node` null).
    Workload(Workload),
    /// A node prepared a micro block.
    MicroBlockPrepared(MicroBlockPrepared),
    /// A node reverted a micro block.
    MicroBlockReverted(MicroBlockReverted),
    /// A node committed a macro block.
    MacroBlockCommitted(MacroBlockCommitted),
    /// A node moved to a new view.
    ViewChange(ViewChange),
    /// A node reported a transaction's status.
    TransactionStatus(TransactionStatus),
    /// A node restaked expired stakes.
    Restake(Restake),
    /// A node refused a block or message (never fatal).
    Refused(Refused),
    /// A node's own view of whether it is at the tip changed.
    Synchronized(Synchronized),
    /// A node asked to be woken at the same instant 16 times in a row; the driver woke it
    /// 1 ms later.
    TimerStall,
    /// A scenario step ran (or could not run).
    Step(Step),
    /// An `api` step's request, as the scenario's client sent it.
    ApiRequest(ApiRequest),
    /// A response to the scenario's client.
    ApiResponse(ApiMessage),
    /// A notification to the scenario's client.
    Notification(ApiMessage),
    /// A Snowball status notification the scenario's client received.
    SnowballStatus(SnowballStatus),
    /// The simulated client resubmitted a payment that made no progress.
    Resubmit(Resubmit),
    /// A fault was applied.
    Fault(Fault),
    /// Messages dropped in the last window, per reason (`node` null).
    MessageDropped(MessageDropped),
    /// An expectation was decided (`node` null).
    Expectation(Expectation),
    /// An invariant was checked (`node` null, or the node that broke it).
    Invariant(Invariant),
    /// The run ended (`node` null).
    RunFinished(RunFinished),
    /// A kind this build does not know (a newer simulator's), with its fields. Written back
    /// with its fields in alphabetical order.
    #[serde(skip)]
    Other {
        /// The kind.
        kind: String,
        /// Its fields (without `t_ns`, `node` and `kind`).
        fields: serde_json::Map<String, serde_json::Value>,
    },
}

/// `run_started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStarted {
    /// The scenario's name.
    pub scenario: String,
    /// The run's seed.
    pub seed: u64,
    /// The engine (`des`, `turmoil`).
    pub engine: String,
    /// Nodes in the run.
    pub nodes: u64,
    /// Validators among them.
    pub validators: u64,
    /// Virtual time the run covers, in ns.
    pub duration_ns: u64,
    /// The chain's name.
    pub chain: String,
}

/// `swarm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swarm {
    /// Faults start at this time, in ns.
    pub faults_from_ns: u64,
    /// Faults end by this time, in ns.
    pub faults_until_ns: u64,
    /// How many fault steps the seed chose.
    pub steps: u64,
}

/// `workload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// The workload's index in the scenario file.
    pub index: u64,
    /// Its kind (`payments`).
    pub workload: String,
    /// The rate drawn from the seed, per second.
    #[serde(serialize_with = "write_f64", deserialize_with = "read_f64")]
    pub rate_per_s: f64,
}

/// `micro_block_prepared`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicroBlockPrepared {
    /// Epoch.
    pub epoch: u64,
    /// Offset in the epoch.
    pub offset: u64,
    /// View change it was prepared in.
    pub view_change: u64,
    /// The block's hash, 64 hex characters.
    pub hash: String,
    /// Who led it.
    pub leader: Leader,
    /// Transactions in it.
    pub transactions: u64,
}

/// A block's leader: a node of the run, or a key no node of the run holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leader {
    /// The node's index (written as a number).
    Node(u32),
    /// The leader's public key, 64 hex characters (written as a string).
    Key(String),
}

/// `micro_block_reverted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicroBlockReverted {
    /// Epoch.
    pub epoch: u64,
    /// Offset in the epoch.
    pub offset: u64,
    /// View change it was prepared in.
    pub view_change: u64,
    /// The block's hash.
    pub hash: String,
}

/// `macro_block_committed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacroBlockCommitted {
    /// Epoch.
    pub epoch: u64,
    /// Consensus round it was committed in.
    pub round: u64,
    /// The block's hash.
    pub hash: String,
    /// Transactions in it.
    pub transactions: u64,
}

/// `view_change`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewChange {
    /// Epoch.
    pub epoch: u64,
    /// Offset in the epoch.
    pub offset: u64,
    /// The new view.
    pub view_change: u64,
}

/// `transaction_status`. After `status`: `prepared` and `rollback` have `epoch` and
/// `offset`; `committed` has `epoch`; `conflicted` has `epoch` and `offset` (`null` when
/// unknown); `rejected` has `code` and `error`; `accepted` has nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionStatus {
    /// The transaction's hash.
    pub tx: String,
    /// The payment's name, for named payments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `accepted`, `prepared`, `rollback`, `committed`, `conflicted` or `rejected`.
    pub status: String,
    /// Epoch (`prepared`, `rollback`, `committed`, `conflicted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// Offset (`prepared`, `rollback`; `conflicted`, where it is `Some(None)`, written
    /// `null`, when unknown).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub offset: Option<Option<u64>>,
    /// Why it was rejected (`rejected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The rejection's message (`rejected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `restake`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restake {
    /// The restake transaction's hash.
    pub tx: String,
    /// The expired stakes it spent.
    pub stakes: Vec<String>,
    /// The amount restaked, in µSTG.
    pub amount: i64,
    /// Its outputs.
    pub outputs: Vec<RestakeOutput>,
}

/// One output of a restake. Fields in alphabetical order (the writer built them as a JSON
/// map).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestakeOutput {
    /// For a stake: the last epoch it is active in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_until_epoch: Option<u64>,
    /// Its amount, in µSTG.
    pub amount: i64,
    /// Its hash.
    pub hash: String,
}

/// `refused`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// What was refused.
    pub what: String,
    /// Why.
    pub error: String,
}

/// `synchronized`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Synchronized {
    /// Whether the node believes it is at the tip.
    pub synchronized: bool,
}

/// `step`: a scenario step. After `action` and `line`, a step that could not run has
/// `error`; one that ran has, per action: `pay`: `to`, `amount_ustg`, `name` (`null` for an
/// unnamed payment), `tx`; `pop_micro_block`: `epoch`, `offset`; `set_restaking`:
/// `enabled`; `restake`: `txs`; `pick`: `name`, `node_ref`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The step's action (`pay`, `api`, `partition`, ...).
    pub action: String,
    /// Its line in the scenario file.
    pub line: u64,
    /// `pay`: the recipient as the scenario names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `pay`: the amount, in µSTG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_ustg: Option<i64>,
    /// `pay`: the payment's name (`Some(None)`, written `null`, when unnamed); `pick`: the
    /// name picked.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub name: Option<Option<String>>,
    /// `pay`: the transaction's hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<String>,
    /// `pop_micro_block`: the popped block's epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// `pop_micro_block`: the popped block's offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// `set_restaking`: the new setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `restake`: the transactions made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txs: Option<Vec<String>>,
    /// `pick`: the node reference resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_ref: Option<String>,
    /// Why the step could not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `api_request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRequest {
    /// The step's line in the scenario file.
    pub line: u64,
    /// The request's id.
    pub id: u64,
    /// The request's type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The account it names, if any (written `null` when none).
    pub account_id: Option<String>,
}

/// `api_response` and `notification`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiMessage {
    /// The message's type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The message as the API sent it: its JSON text, kept byte for byte.
    pub message: Box<RawValue>,
}

impl PartialEq for ApiMessage {
    fn eq(&self, other: &ApiMessage) -> bool {
        self.type_name == other.type_name && self.message.get() == other.message.get()
    }
}

/// `snowball_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnowballStatus {
    /// The account the notification is for (empty when none).
    pub account_id: String,
    /// The round's state (`pool_wait`, `shared_keying`, ..., `succeeded`, `failed`).
    pub state: String,
    /// The round's number, the same on every member's node (from `shared_keying` on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u64>,
    /// Members of the round's current attempt (from `shared_keying` on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants: Option<u64>,
    /// Why the round failed (`failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `resubmit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resubmit {
    /// The transaction's hash.
    pub tx: String,
    /// Which resubmission (1, 2, ...).
    pub attempt: u64,
}

/// `fault`: which fault, then its fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// The network split into groups.
    Partition(Partition),
    /// Links from some nodes to others cut.
    Cut(Cut),
    /// Every cut link restored.
    Heal(Heal),
    /// A node crashed.
    Crash(Crash),
    /// A node restarted from what its store kept.
    Restart(Restart),
    /// Link options changed.
    SetNetwork(SetNetwork),
    /// A node's clock drifts or jumps.
    ClockDrift(ClockDrift),
    /// A node dropped out of its Snowball round.
    SnowballDrop(SnowballDrop),
}

/// `fault` `partition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// The groups, as node indices.
    pub groups: Vec<Vec<u32>>,
}

/// `fault` `cut`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cut {
    /// Nodes on one side.
    pub from: Vec<u32>,
    /// Nodes on the other.
    pub to: Vec<u32>,
}

/// `fault` `heal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heal {
    /// Links restored.
    pub links_restored: u64,
}

/// `fault` `crash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crash {
    /// Whether the node was running.
    pub was_running: bool,
}

/// `fault` `restart`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restart {
    /// The node's incarnation after the restart.
    pub incarnation: u64,
    /// The epoch its store kept.
    pub epoch: u64,
    /// The offset its store kept.
    pub offset: u64,
}

/// `fault` `set_network`: only what changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetNetwork {
    /// The new latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// The new loss probability.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "write_opt_f64",
        deserialize_with = "read_opt_f64"
    )]
    pub loss: Option<f64>,
    /// The new duplication probability.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "write_opt_f64",
        deserialize_with = "read_opt_f64"
    )]
    pub duplicate: Option<f64>,
    /// The new reordering probability.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "write_opt_f64",
        deserialize_with = "read_opt_f64"
    )]
    pub reorder: Option<f64>,
    /// The new largest reordering delay, in ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_delay_ns: Option<u64>,
    /// Links changed, when per link (absent: the default for every link changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<u64>,
}

/// A latency distribution. Fields in alphabetical order (the writer built them as a JSON
/// map); which are present depends on `distribution`: `constant`: `value_ns`; `uniform`:
/// `min_ns`, `max_ns`; `exponential`: `min_ns`, `mean_ns`, `max_ns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latency {
    /// `constant`, `uniform` or `exponential`.
    pub distribution: String,
    /// The largest latency, in ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ns: Option<u64>,
    /// The mean latency, in ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_ns: Option<u64>,
    /// The smallest latency, in ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ns: Option<u64>,
    /// The constant latency, in ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_ns: Option<u64>,
}

/// `fault` `clock_drift`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockDrift {
    /// The drift, in parts per million.
    pub drift_ppm: i64,
    /// A jump of the clock, in ns.
    pub jump_ns: u64,
}

/// `fault` `snowball_drop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnowballDrop {
    /// The step's line in the scenario file.
    pub line: u64,
    /// The phase the node dropped out in.
    pub phase: String,
}

/// `message_dropped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageDropped {
    /// `loss`, `partition`, `down` or `overflow`.
    pub reason: String,
    /// Messages dropped in the window.
    pub count: u64,
    /// The window, in ns.
    pub window_ns: u64,
}

/// `expectation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    /// What was expected, in words.
    pub name: String,
    /// Its line in the scenario file.
    pub line: u64,
    /// Whether it held.
    pub held: bool,
    /// When it was met, or the deadline, in ns.
    pub decided_t_ns: u64,
    /// What was seen.
    pub detail: String,
}

/// `invariant`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invariant {
    /// Which invariant, and when it was checked.
    pub name: String,
    /// Whether it held.
    pub held: bool,
    /// What was seen.
    pub detail: String,
    /// For the node checker's invariants at the end of a run: the node events it observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    /// For the node checker's invariants at the end of a run: how many times it checked a
    /// node's chain (after each event that changed one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_checks: Option<u64>,
}

/// `run_finished`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFinished {
    /// Whether every expectation and invariant held.
    pub passed: bool,
    /// Highest epoch with a committed macro block.
    pub epochs: u64,
    /// Distinct micro blocks prepared.
    pub micro_blocks: u64,
    /// View changes, summed over nodes.
    pub view_changes: u64,
    /// Payments submitted.
    pub payments: u64,
    /// Payments committed.
    pub committed: u64,
    /// Messages sent.
    pub messages_sent: u64,
}

/// A trace line that does not read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TraceError(#[from] serde_json::Error);

/// The fields every line starts with, and the ones that choose a kind's fields.
#[derive(Deserialize)]
struct Head {
    t_ns: u64,
    node: Option<u32>,
    kind: String,
    #[serde(default)]
    fault: Option<String>,
}

impl TraceLine {
    /// A line.
    pub fn new(t_ns: u64, node: Option<u32>, event: Event) -> TraceLine {
        TraceLine { t_ns, node, event }
    }

    /// Reads one line (without its newline).
    pub fn parse(text: &str) -> Result<TraceLine, TraceError> {
        let head: Head = serde_json::from_str(text)?;
        fn body<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, serde_json::Error> {
            serde_json::from_str(text)
        }
        let event = match head.kind.as_str() {
            "run_started" => Event::RunStarted(body(text)?),
            "swarm" => Event::Swarm(body(text)?),
            "workload" => Event::Workload(body(text)?),
            "micro_block_prepared" => Event::MicroBlockPrepared(body(text)?),
            "micro_block_reverted" => Event::MicroBlockReverted(body(text)?),
            "macro_block_committed" => Event::MacroBlockCommitted(body(text)?),
            "view_change" => Event::ViewChange(body(text)?),
            "transaction_status" => Event::TransactionStatus(body(text)?),
            "restake" => Event::Restake(body(text)?),
            "refused" => Event::Refused(body(text)?),
            "synchronized" => Event::Synchronized(body(text)?),
            "timer_stall" => Event::TimerStall,
            "step" => Event::Step(body(text)?),
            "api_request" => Event::ApiRequest(body(text)?),
            "api_response" => Event::ApiResponse(body(text)?),
            "notification" => Event::Notification(body(text)?),
            "snowball_status" => Event::SnowballStatus(body(text)?),
            "resubmit" => Event::Resubmit(body(text)?),
            "message_dropped" => Event::MessageDropped(body(text)?),
            "expectation" => Event::Expectation(body(text)?),
            "invariant" => Event::Invariant(body(text)?),
            "run_finished" => Event::RunFinished(body(text)?),
            "fault" => match head.fault.as_deref().unwrap_or("") {
                "partition" => Event::Fault(Fault::Partition(body(text)?)),
                "cut" => Event::Fault(Fault::Cut(body(text)?)),
                "heal" => Event::Fault(Fault::Heal(body(text)?)),
                "crash" => Event::Fault(Fault::Crash(body(text)?)),
                "restart" => Event::Fault(Fault::Restart(body(text)?)),
                "set_network" => Event::Fault(Fault::SetNetwork(body(text)?)),
                "clock_drift" => Event::Fault(Fault::ClockDrift(body(text)?)),
                "snowball_drop" => Event::Fault(Fault::SnowballDrop(body(text)?)),
                _ => other(head.kind, text)?,
            },
            _ => other(head.kind, text)?,
        };
        Ok(TraceLine {
            t_ns: head.t_ns,
            node: head.node,
            event,
        })
    }

    /// Appends the line and its newline to `out`: `{"t_ns":..,"node":..,"kind":"..",...}`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        // Integers through serde_json's formatter: the same digits as `to_string`, without
        // an allocation per line.
        out.extend_from_slice(b"{\"t_ns\":");
        json(out, &self.t_ns);
        out.extend_from_slice(b",\"node\":");
        json(out, &self.node);
        let start = out.len();
        match &self.event {
            Event::Other { kind, fields } => {
                out.extend_from_slice(b",\"kind\":");
                json(out, kind);
                for (k, v) in fields {
                    out.push(b',');
                    json(out, k);
                    out.push(b':');
                    json(out, v);
                }
                out.push(b'}');
            }
            // `{"kind":"...",<fields>}`: the event's object, whose opening brace becomes the
            // comma after the line's own fields (no bytes move).
            event => {
                json(out, event);
                out[start] = b',';
            }
        }
        out.push(b'\n');
    }

    /// The line's text, without its newline.
    pub fn to_line(&self) -> String {
        let mut out = Vec::with_capacity(256);
        self.write_to(&mut out);
        out.pop();
        // Cannot fail: serde_json writes UTF-8.
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    /// The kind's name, as written in `kind`.
    pub fn kind(&self) -> &str {
        self.event.kind()
    }
}

/// Appends `v` as compact JSON.
fn json<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    serde_json::to_writer(out, v).expect("writing plain JSON to a Vec cannot fail");
}

fn other(kind: String, text: &str) -> Result<Event, serde_json::Error> {
    let mut fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)?;
    for k in ["t_ns", "node", "kind"] {
        fields.remove(k);
    }
    Ok(Event::Other { kind, fields })
}

impl Event {
    /// The kind's name, as written in `kind`.
    pub fn kind(&self) -> &str {
        match self {
            Event::RunStarted(_) => "run_started",
            Event::Swarm(_) => "swarm",
            Event::Workload(_) => "workload",
            Event::MicroBlockPrepared(_) => "micro_block_prepared",
            Event::MicroBlockReverted(_) => "micro_block_reverted",
            Event::MacroBlockCommitted(_) => "macro_block_committed",
            Event::ViewChange(_) => "view_change",
            Event::TransactionStatus(_) => "transaction_status",
            Event::Restake(_) => "restake",
            Event::Refused(_) => "refused",
            Event::Synchronized(_) => "synchronized",
            Event::TimerStall => "timer_stall",
            Event::Step(_) => "step",
            Event::ApiRequest(_) => "api_request",
            Event::ApiResponse(_) => "api_response",
            Event::Notification(_) => "notification",
            Event::SnowballStatus(_) => "snowball_status",
            Event::Resubmit(_) => "resubmit",
            Event::Fault(_) => "fault",
            Event::MessageDropped(_) => "message_dropped",
            Event::Expectation(_) => "expectation",
            Event::Invariant(_) => "invariant",
            Event::RunFinished(_) => "run_finished",
            Event::Other { kind, .. } => kind,
        }
    }
}

impl Fault {
    /// The fault's name, as written in `fault`.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Partition(_) => "partition",
            Fault::Cut(_) => "cut",
            Fault::Heal(_) => "heal",
            Fault::Crash(_) => "crash",
            Fault::Restart(_) => "restart",
            Fault::SetNetwork(_) => "set_network",
            Fault::ClockDrift(_) => "clock_drift",
            Fault::SnowballDrop(_) => "snowball_drop",
        }
    }
}

/// Writes trace lines into one reused buffer, hashing every byte (BLAKE3) and counting
/// lines: the simulator's side of the trace. [`TraceWriter::write`] returns the line's bytes
/// for the caller's sink.
pub struct TraceWriter {
    /// Running hash of every byte written.
    hasher: blake3::Hasher,
    /// Lines written.
    lines: u64,
    /// The line being written (reused: one allocation for the whole run).
    buf: Vec<u8>,
}

impl fmt::Debug for TraceWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceWriter")
            .field("lines", &self.lines)
            .field("hash", &self.hash_hex())
            .finish()
    }
}

impl Default for TraceWriter {
    fn default() -> TraceWriter {
        TraceWriter::new()
    }
}

impl TraceWriter {
    /// A writer that has written nothing.
    pub fn new() -> TraceWriter {
        TraceWriter {
            hasher: blake3::Hasher::new(),
            lines: 0,
            buf: Vec::with_capacity(512),
        }
    }

    /// Encodes `line` (with its newline), adds it to the hash, and returns its bytes.
    pub fn write(&mut self, line: &TraceLine) -> &[u8] {
        self.buf.clear();
        line.write_to(&mut self.buf);
        self.hasher.update(&self.buf);
        self.lines += 1;
        &self.buf
    }

    /// The hash of every byte so far, as 64 hex characters.
    pub fn hash_hex(&self) -> String {
        self.hasher.finalize().to_hex().to_string()
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }
}

// ----- field encodings --------------------------------------------------------------------

impl Serialize for Leader {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Leader::Node(n) => s.serialize_u32(*n),
            Leader::Key(k) => s.serialize_str(k),
        }
    }
}

impl<'de> Deserialize<'de> for Leader {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Leader, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Leader;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a node index or a public key in hex")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Leader, E> {
                u32::try_from(v)
                    .map(Leader::Node)
                    .map_err(|_| E::custom(format!("node index {v} is out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Leader, E> {
                Ok(Leader::Key(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A field that is present (even as `null`) reads as `Some`: `Some(None)` for `null`.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A float as the simulator writes it: the shortest text that reads back to the same value;
/// `null` when not finite.
fn write_f64<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_unit()
    }
}

fn write_opt_f64<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => write_f64(v, s),
        None => s.serialize_unit(),
    }
}

/// Reads a float from its exact text (the standard library's parse is correctly rounded;
/// serde_json's default one may be a unit in the last place off for long mantissas, and
/// writing that back would change the line); `null` reads as NaN.
fn read_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let raw: &RawValue = Deserialize::deserialize(d)?;
    let text = raw.get();
    if text == "null" {
        return Ok(f64::NAN);
    }
    text.parse()
        .map_err(|_| de::Error::custom(format!("{text} is not a number")))
}

fn read_opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    read_f64(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_fixed_leading_fields_and_read_back() {
        let line = TraceLine::new(
            5,
            Some(2),
            Event::ViewChange(ViewChange {
                epoch: 1,
                offset: 3,
                view_change: 2,
            }),
        );
        let text = line.to_line();
        assert_eq!(
            text,
            r#"{"t_ns":5,"node":2,"kind":"view_change","epoch":1,"offset":3,"view_change":2}"#
        );
        assert_eq!(TraceLine::parse(&text).unwrap(), line);
        let stall = TraceLine::new(7, Some(0), Event::TimerStall);
        assert_eq!(
            stall.to_line(),
            r#"{"t_ns":7,"node":0,"kind":"timer_stall"}"#
        );
        assert_eq!(TraceLine::parse(&stall.to_line()).unwrap(), stall);
    }

    #[test]
    fn unknown_kinds_read_and_write_back() {
        let text = r#"{"t_ns":1,"node":null,"kind":"new_kind","a":1,"b":"x"}"#;
        let line = TraceLine::parse(text).unwrap();
        assert_eq!(line.kind(), "new_kind");
        assert_eq!(line.to_line(), text);
        let bare = r#"{"t_ns":1,"node":null,"kind":"bare"}"#;
        assert_eq!(TraceLine::parse(bare).unwrap().to_line(), bare);
    }

    #[test]
    fn floats_keep_their_exact_text() {
        let text = r#"{"t_ns":0,"node":null,"kind":"workload","index":0,"workload":"payments","rate_per_s":3.7281937461928374}"#;
        assert_eq!(TraceLine::parse(text).unwrap().to_line(), text);
        let mut w = TraceWriter::new();
        let bytes = w.write(&TraceLine::parse(text).unwrap()).to_vec();
        assert_eq!(bytes, format!("{text}\n").into_bytes());
        assert_eq!(w.lines(), 1);
        assert_eq!(w.hash_hex(), blake3::hash(&bytes).to_hex().to_string());
    }
}
