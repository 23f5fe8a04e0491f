//! The sans-IO core of one connection's load: when to start, what to send, what came back.
//!
//! A [`Worker`] owns one connection's share of the schedule (open models: every `count`-th
//! arrival; closed models: every `count`-th VU), the requests in flight on that connection
//! (many at once, matched by `id`), their timeouts, and the transactions it follows. It never
//! reads a clock, never touches a socket and never sleeps: time comes in as an argument
//! (`now_ns`, nanoseconds since the run's start), request JSON goes out through a buffer, and
//! what happened goes out as [`Event`]s. So the real driver (tokio, the wall clock,
//! WebSocket) and a simulator (virtual time, simulated nodes) drive the same models.
//!
//! # Calling contract
//! After creating a worker, and after every call to a `handle_*` method, the driver:
//! 1. calls [`Worker::poll_request`] until it returns `None`, sending each request it writes
//!    (when the connection cannot take more, it stops early and calls again once it can: the
//!    delay then shows as lateness, never as a silently skipped start);
//! 2. takes the events ([`Worker::take_events`]) whenever convenient;
//! 3. sleeps until [`Worker::poll_timeout`] and then calls [`Worker::handle_timeout`], or
//!    earlier when a message arrives ([`Worker::handle_message`]) or the connection closes
//!    ([`Worker::handle_closed`]);
//! 4. stops once [`Worker::is_finished`].
//!
//! `now_ns` must never decrease between calls.

use std::borrow::Cow;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use serde::Deserialize;
use stegosim_api::rng::{Seed, Stream};

use crate::metrics::{ErrorKind, Event, FollowStage};
use crate::mix::{Follow, Mix, Pick};
use crate::plan::{Plan, vu_windows};

/// Bits of a request id that name its in-flight slot; the rest is a sequence number, so a
/// late answer to a slot's previous request is recognised as stale.
const SLOT_BITS: u32 = 20;

/// The most requests one connection may have in flight.
pub const IN_FLIGHT_MAX: u32 = 1 << SLOT_BITS;

/// The most transactions one worker follows at once; more are not followed (they are
/// counted as unfinished).
pub const FOLLOWED_MAX: usize = 100_000;

/// Statuses kept for transactions not (yet) known, because a status may arrive before the
/// response that names the transaction.
const EARLY_STATUSES_MAX: usize = 1024;

const NO_VU: u32 = u32::MAX;

/// How one worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This worker's index among `count` (its share of arrivals or VUs).
    pub index: u32,
    /// How many workers share the schedule.
    pub count: u32,
    /// Requests in flight at once on this worker's connection (1 to [`IN_FLIGHT_MAX`]).
    pub in_flight_max: u32,
    /// A request unanswered this long is a timeout, in ns.
    pub timeout_ns: u64,
    /// After the schedule ends, how long to wait for answers and followed transactions, in
    /// ns; what is still open then is counted as interrupted.
    pub graceful_stop_ns: u64,
    /// The seed of this worker's draws (request mix).
    pub seed: Seed,
    /// How long after the schedule's end a start that was due before it may still happen,
    /// in ns (the behind-schedule tolerance: later than that it is not started at all, so
    /// a backlog cannot inflate the achieved rate).
    pub start_grace_ns: u64,
}

/// A request in flight.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The request's id; 0 when the slot is free.
    id: u64,
    pick: Pick,
    metric: u16,
    scheduled_ns: u64,
    sent_ns: u64,
    /// The VU that sent it (closed models), or `NO_VU`.
    vu: u32,
}

/// One virtual user of a closed model.
#[derive(Debug, Clone)]
struct Vu {
    /// When the VU is active.
    windows: Vec<(u64, u64)>,
    /// The window it is in.
    window: usize,
    /// Iterations started.
    iterations: u64,
    /// The scheduled time of its last start.
    last_scheduled_ns: Option<u64>,
}

#[derive(Debug)]
enum Mode {
    /// Open models: the next arrival of this worker (`k`) and when it is due.
    Open { next_k: u64, next_ns: Option<u64> },
    /// Closed models: the VUs, and the idle ones by when they start next.
    Closed {
        vus: Vec<Vu>,
        idle: BinaryHeap<std::cmp::Reverse<(u64, u32)>>,
        busy: u32,
    },
}

/// A transaction or Snowball round being followed.
#[derive(Debug, Clone, Copy)]
struct Followed {
    metric: u16,
    sent_ns: u64,
}

/// The fields of a server message the generator reads; the rest is skipped unparsed.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default, borrow)]
    account_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tx_hash: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    state: Option<Cow<'a, str>>,
}

/// Just the id, for messages whose other fields do not read.
#[derive(Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Option<u64>,
}

/// One connection's load. See the module documentation for the calling contract.
#[derive(Debug)]
pub struct Worker {
    cfg: WorkerConfig,
    plan: Arc<Plan>,
    mix: Arc<Mix>,
    rng: Stream,
    mode: Mode,
    slots: Vec<Slot>,
    free: Vec<u32>,
    in_flight: u32,
    seq: u64,
    /// (deadline, id) in send order; entries whose request already ended are skipped.
    timeouts: VecDeque<(u64, u64)>,
    events: Vec<Event>,
    /// When a slot last freed up while the table was full and a start was due: starts due
    /// before then waited for a slot.
    full_until_ns: Option<u64>,
    /// Transactions followed, by hash.
    txs: HashMap<String, Followed>,
    /// Snowball rounds followed, by account id.
    rounds: BTreeMap<String, Followed>,
    /// Statuses of unknown transactions, newest last: (hash, status, at).
    early: VecDeque<(String, String, u64)>,
    closed: bool,
    /// Whether the schedule closed (its end plus the start grace passed): nothing starts
    /// after that (what was due and not started by then never starts, and shows as not
    /// started).
    schedule_closed: bool,
    /// Whether the graceful stop has passed (and what was open was counted).
    stopped: bool,
}

impl Worker {
    /// A worker for its share of `plan`, sending requests drawn from `mix`.
    pub fn new(cfg: WorkerConfig, plan: Arc<Plan>, mix: Arc<Mix>) -> Worker {
        assert!(
            cfg.count > 0 && cfg.index < cfg.count,
            "worker index out of range"
        );
        let in_flight_max = cfg.in_flight_max.clamp(1, IN_FLIGHT_MAX);
        let mode = match &*plan {
            Plan::Open { schedule, .. } => Mode::Open {
                next_k: u64::from(cfg.index),
                next_ns: schedule.time_of(u64::from(cfg.index)),
            },
            Plan::Closed { vus, .. } => {
                let mut list = Vec::new();
                let mut idle = BinaryHeap::new();
                let mut i = u64::from(cfg.index);
                while i < plan.vus_max() {
                    let windows = vu_windows(vus, i);
                    if let Some(&(start, _)) = windows.first() {
                        idle.push(std::cmp::Reverse((start, list.len() as u32)));
                    }
                    list.push(Vu {
                        windows,
                        window: 0,
                        iterations: 0,
                        last_scheduled_ns: None,
                    });
                    i += u64::from(cfg.count);
                }
                Mode::Closed {
                    vus: list,
                    idle,
                    busy: 0,
                }
            }
        };
        let rng = cfg.seed.stream("loadgen mix");
        Worker {
            cfg: WorkerConfig {
                in_flight_max,
                ..cfg
            },
            plan,
            mix,
            rng,
            mode,
            slots: Vec::new(),
            free: Vec::new(),
            in_flight: 0,
            seq: 0,
            timeouts: VecDeque::new(),
            events: Vec::new(),
            full_until_ns: None,
            txs: HashMap::new(),
            rounds: BTreeMap::new(),
            early: VecDeque::new(),
            closed: false,
            schedule_closed: false,
            stopped: false,
        }
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// The events since the last call (appended to `out`).
    pub fn take_events(&mut self, out: &mut Vec<Event>) {
        out.append(&mut self.events);
    }

    /// Whether events are waiting to be taken.
    pub fn events_pending(&self) -> usize {
        self.events.len()
    }

    /// When the next start of this worker is due (ignoring the in-flight limit).
    fn next_due(&self) -> Option<u64> {
        match &self.mode {
            Mode::Open { next_ns, .. } => *next_ns,
            Mode::Closed { idle, .. } => idle.peek().map(|r| r.0.0),
        }
    }

    /// Whether the schedule has nothing more to start (closed models: every VU is done).
    fn schedule_done(&self) -> bool {
        if self.schedule_closed {
            return match &self.mode {
                Mode::Open { .. } => true,
                Mode::Closed { busy, .. } => *busy == 0,
            };
        }
        match &self.mode {
            Mode::Open { next_ns, .. } => next_ns.is_none(),
            Mode::Closed { idle, busy, .. } => idle.is_empty() && *busy == 0,
        }
    }

    /// The schedule ended: start nothing more.
    fn close_schedule(&mut self) {
        self.schedule_closed = true;
        match &mut self.mode {
            Mode::Open { next_ns, .. } => *next_ns = None,
            Mode::Closed { idle, .. } => idle.clear(),
        }
    }

    /// When the schedule closes: its end plus the start grace.
    fn close_ns(&self) -> u64 {
        self.plan.end_ns().saturating_add(self.cfg.start_grace_ns)
    }

    fn stop_ns(&self) -> u64 {
        self.plan.end_ns().saturating_add(self.cfg.graceful_stop_ns)
    }

    /// When the worker next needs [`handle_timeout`](Self::handle_timeout): the next start
    /// (when a slot is free), the oldest request's timeout, or the graceful stop.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.closed || self.stopped {
            return None;
        }
        let mut t = None;
        let mut consider = |x: Option<u64>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t: u64| t.min(x)));
            }
        };
        if self.in_flight < self.cfg.in_flight_max {
            consider(self.next_due());
        }
        if !self.schedule_closed {
            consider(Some(self.close_ns()));
        }
        consider(self.timeouts.front().map(|f| f.0));
        if self.in_flight > 0 || !self.txs.is_empty() || !self.rounds.is_empty() {
            consider(Some(self.stop_ns()));
        }
        t
    }

    /// Whether the worker is done: its schedule is exhausted and nothing is open (or the
    /// graceful stop passed), or its connection closed.
    pub fn is_finished(&self) -> bool {
        self.closed
            || self.stopped
            || (self.schedule_done()
                && self.in_flight == 0
                && self.txs.is_empty()
                && self.rounds.is_empty())
    }

    /// If a request is due at `now_ns` and a slot is free, writes its JSON text into `out`
    /// (cleared first), records its start and returns its id. The driver must send it.
    pub fn poll_request(&mut self, now_ns: u64, out: &mut Vec<u8>) -> Option<u64> {
        if self.closed || self.stopped {
            return None;
        }
        if now_ns >= self.close_ns() {
            if !self.schedule_closed {
                self.close_schedule();
            }
            return None;
        }
        let due = self.next_due()?;
        if due > now_ns {
            return None;
        }
        if self.in_flight >= self.cfg.in_flight_max {
            return None;
        }
        // Which start: the arrival, or the VU.
        let vu = match &mut self.mode {
            Mode::Open { next_k, next_ns } => {
                *next_k += u64::from(self.cfg.count);
                *next_ns = match &*self.plan {
                    Plan::Open { schedule, .. } => schedule.time_of(*next_k),
                    Plan::Closed { .. } => None,
                };
                NO_VU
            }
            Mode::Closed { vus, idle, busy } => {
                let std::cmp::Reverse((_, v)) = idle.pop().expect("next_due saw an idle VU");
                let vu = &mut vus[v as usize];
                vu.iterations += 1;
                vu.last_scheduled_ns = Some(due);
                *busy += 1;
                v
            }
        };
        let pick = self.mix.pick(&mut self.rng);
        let metric = self.mix.metric(pick);
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(Slot {
                    id: 0,
                    pick,
                    metric,
                    scheduled_ns: 0,
                    sent_ns: 0,
                    vu: NO_VU,
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.seq += 1;
        let id = (self.seq << SLOT_BITS) | u64::from(slot);
        self.slots[slot as usize] = Slot {
            id,
            pick,
            metric,
            scheduled_ns: due,
            sent_ns: now_ns,
            vu,
        };
        self.in_flight += 1;
        self.timeouts
            .push_back((now_ns.saturating_add(self.cfg.timeout_ns), id));
        self.mix.write(pick, id, out);
        if self.mix.follow(pick) == Follow::Snowball
            && let Some(account) = self.mix.sender(pick)
        {
            self.rounds.insert(
                account.to_string(),
                Followed {
                    metric,
                    sent_ns: now_ns,
                },
            );
        }
        self.events.push(Event::Started {
            metric,
            scheduled_ns: due,
            started_ns: now_ns,
            waited_for_slot: self.full_until_ns.is_some_and(|t| t >= due),
        });
        Some(id)
    }

    /// Frees the slot of request `id` (which must be in flight) and returns it.
    fn finish(&mut self, now_ns: u64, slot: u32) -> Slot {
        let s = self.slots[slot as usize];
        if self.in_flight >= self.cfg.in_flight_max && self.next_due().is_some_and(|d| d <= now_ns)
        {
            self.full_until_ns = Some(now_ns);
        }
        self.slots[slot as usize].id = 0;
        self.free.push(slot);
        self.in_flight -= 1;
        if s.vu != NO_VU {
            self.vu_idle(s.vu, now_ns);
        }
        s
    }

    /// VU `v` finished an iteration at `now_ns`: schedule its next one, or retire it.
    fn vu_idle(&mut self, v: u32, now_ns: u64) {
        let Plan::Closed {
            pacing_ns,
            iterations,
            ..
        } = &*self.plan
        else {
            return;
        };
        let Mode::Closed { vus, idle, busy } = &mut self.mode else {
            return;
        };
        *busy -= 1;
        if self.schedule_closed {
            return;
        }
        let vu = &mut vus[v as usize];
        if iterations.is_some_and(|n| vu.iterations >= n) {
            return;
        }
        // Paced: the next slot after the last scheduled start (catching up when late).
        // Unpaced: now.
        let mut next = match (pacing_ns, vu.last_scheduled_ns) {
            (Some(p), Some(last)) => last.saturating_add(*p),
            _ => now_ns,
        };
        while let Some(&(start, end)) = vu.windows.get(vu.window) {
            if next < start {
                next = start;
            }
            if next < end {
                idle.push(std::cmp::Reverse((next, v)));
                return;
            }
            vu.window += 1;
            vu.last_scheduled_ns = None;
            next = 0;
        }
    }

    /// Handles the plaintext JSON of a server message received at `now_ns`.
    pub fn handle_message(&mut self, now_ns: u64, json: &[u8]) {
        let head = match serde_json::from_slice::<Head<'_>>(json) {
            Ok(h) => h,
            Err(_) => {
                // Not readable as a message: fail the request it names, if any.
                match serde_json::from_slice::<IdOnly>(json)
                    .ok()
                    .and_then(|i| i.id)
                    .and_then(|id| self.match_id(id))
                {
                    Some(slot) => {
                        let s = self.finish(now_ns, slot);
                        self.events.push(Event::Failed {
                            metric: s.metric,
                            kind: ErrorKind::BadReply,
                            at_ns: now_ns,
                        });
                    }
                    None => self.events.push(Event::Unmatched { at_ns: now_ns }),
                }
                return;
            }
        };
        let id = head.id.unwrap_or(0);
        if id == 0 {
            self.handle_notification(now_ns, &head);
            return;
        }
        let Some(slot) = self.match_id(id) else {
            self.events.push(Event::Unmatched { at_ns: now_ns });
            return;
        };
        let s = self.finish(now_ns, slot);
        if head.kind == "error" {
            if self.mix.follow(s.pick) == Follow::Snowball
                && let Some(a) = self.mix.sender(s.pick)
            {
                self.rounds.remove(a);
            }
            self.events.push(Event::Failed {
                metric: s.metric,
                kind: ErrorKind::from_reply_code(head.code.as_deref()),
                at_ns: now_ns,
            });
            return;
        }
        self.events.push(Event::Completed {
            metric: s.metric,
            scheduled_ns: s.scheduled_ns,
            sent_ns: s.sent_ns,
            done_ns: now_ns,
        });
        if head.kind == "transaction_created"
            && self.mix.follow(s.pick) != Follow::Nothing
            && let Some(hash) = head.tx_hash.as_deref()
        {
            self.follow_tx(hash, s.metric, s.sent_ns);
        }
    }

    fn match_id(&self, id: u64) -> Option<u32> {
        let slot = (id & (u64::from(IN_FLIGHT_MAX) - 1)) as u32;
        (self.slots.get(slot as usize)?.id == id).then_some(slot)
    }

    fn follow_tx(&mut self, hash: &str, metric: u16, sent_ns: u64) {
        let f = Followed { metric, sent_ns };
        // Statuses that came before the response.
        let early: Vec<(String, u64)> = self
            .early
            .iter()
            .filter(|e| e.0 == hash)
            .map(|e| (e.1.clone(), e.2))
            .collect();
        if self.txs.len() >= FOLLOWED_MAX {
            self.events.push(Event::FollowUnfinished { metric });
            return;
        }
        self.txs.insert(hash.to_string(), f);
        for (status, at) in early {
            self.tx_status(hash, &status, at);
        }
    }

    fn tx_status(&mut self, hash: &str, status: &str, now_ns: u64) -> bool {
        let Some(f) = self.txs.get(hash).copied() else {
            return false;
        };
        let stage = match status {
            "accepted" => Some(FollowStage::Accepted),
            "prepared" => Some(FollowStage::Prepared),
            "committed" => Some(FollowStage::Committed),
            _ => None,
        };
        if let Some(stage) = stage {
            self.events.push(Event::Followed {
                metric: f.metric,
                stage,
                latency_ns: now_ns.saturating_sub(f.sent_ns),
            });
        }
        if matches!(status, "committed" | "rejected" | "conflicted") {
            self.txs.remove(hash);
            if status != "committed" {
                self.events.push(Event::Failed {
                    metric: f.metric,
                    kind: ErrorKind::Follow(status.to_string()),
                    at_ns: now_ns,
                });
            }
        }
        true
    }

    fn handle_notification(&mut self, now_ns: u64, head: &Head<'_>) {
        match &*head.kind {
            "transaction_status" => {
                let (Some(hash), Some(status)) = (head.tx_hash.as_deref(), head.status.as_deref())
                else {
                    return;
                };
                if !self.tx_status(hash, status, now_ns) {
                    if self.early.len() >= EARLY_STATUSES_MAX {
                        self.early.pop_front();
                    }
                    self.early
                        .push_back((hash.to_string(), status.to_string(), now_ns));
                }
            }
            "snowball_status" => {
                let (Some(account), Some(state)) =
                    (head.account_id.as_deref(), head.state.as_deref())
                else {
                    return;
                };
                let Some(f) = self.rounds.get(account).copied() else {
                    return;
                };
                match state {
                    "succeeded" => {
                        self.rounds.remove(account);
                        self.events.push(Event::Followed {
                            metric: f.metric,
                            stage: FollowStage::Succeeded,
                            latency_ns: now_ns.saturating_sub(f.sent_ns),
                        });
                    }
                    "failed" => {
                        self.rounds.remove(account);
                        self.events.push(Event::Failed {
                            metric: f.metric,
                            kind: ErrorKind::Follow("snowball_failed".into()),
                            at_ns: now_ns,
                        });
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// A message arrived at `now_ns` that could not be read at all (not a frame of this key).
    pub fn handle_unreadable(&mut self, now_ns: u64) {
        self.events.push(Event::Unmatched { at_ns: now_ns });
    }

    /// Handles timers due at `now_ns`: request timeouts and the graceful stop.
    pub fn handle_timeout(&mut self, now_ns: u64) {
        if now_ns >= self.close_ns() && !self.schedule_closed {
            self.close_schedule();
        }
        while let Some(&(deadline, id)) = self.timeouts.front() {
            match self.match_id(id) {
                None => {
                    self.timeouts.pop_front();
                }
                Some(slot) if deadline <= now_ns => {
                    self.timeouts.pop_front();
                    let s = self.finish(now_ns, slot);
                    self.events.push(Event::Failed {
                        metric: s.metric,
                        kind: ErrorKind::Timeout,
                        at_ns: now_ns,
                    });
                }
                Some(_) => break,
            }
        }
        if !self.stopped && now_ns >= self.stop_ns() && !self.is_finished() {
            self.fail_open(now_ns, ErrorKind::Interrupted);
            self.stopped = true;
        }
    }

    /// Counts every open request as failed with `kind`, and forgets what is followed.
    fn fail_open(&mut self, now_ns: u64, kind: ErrorKind) {
        for i in 0..self.slots.len() {
            let s = self.slots[i];
            if s.id != 0 {
                self.slots[i].id = 0;
                self.free.push(i as u32);
                self.in_flight -= 1;
                self.events.push(Event::Failed {
                    metric: s.metric,
                    kind: kind.clone(),
                    at_ns: now_ns,
                });
            }
        }
        self.timeouts.clear();
        let unfinished: Vec<Followed> = self
            .txs
            .drain()
            .map(|(_, f)| f)
            .chain(std::mem::take(&mut self.rounds).into_values())
            .collect();
        for f in unfinished {
            self.events
                .push(Event::FollowUnfinished { metric: f.metric });
        }
    }

    /// The connection closed at `now_ns` (or could not be used): every request in flight
    /// fails as `closed`, and the worker starts nothing more.
    pub fn handle_closed(&mut self, now_ns: u64, reason: &str) {
        if self.closed {
            return;
        }
        self.events.push(Event::ConnectionLost {
            reason: reason.to_string(),
            at_ns: now_ns,
        });
        self.fail_open(now_ns, ErrorKind::Closed);
        self.closed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Recorder;
    use crate::mix::RequestSpec;
    use crate::plan::{Model, ModelParams, NS_PER_S};
    use stegosim_api::message::{Request, ServerKind, ServerMessage};

    const MS: u64 = 1_000_000;

    fn worker(model: Model, p: ModelParams, in_flight_max: u32) -> Worker {
        let plan = Arc::new(Plan::new(model, &p).unwrap());
        let mix = Arc::new(Mix::build(&[RequestSpec::of_type("chain_name")], &[]).unwrap());
        Worker::new(
            WorkerConfig {
                index: 0,
                count: 1,
                in_flight_max,
                timeout_ns: NS_PER_S,
                graceful_stop_ns: 2 * NS_PER_S,
                seed: Seed(1),
                start_grace_ns: 5 * MS,
            },
            plan,
            mix,
        )
    }

    fn reply(id: u64) -> Vec<u8> {
        let mut m = ServerMessage::new(ServerKind::ChainName(stegosim_api::message::ChainName {
            name: "dev".into(),
        }));
        m.id = id;
        let mut out = Vec::new();
        m.to_json(&mut out);
        out
    }

    /// Runs a worker against a server that answers after `service_ns`, except that it
    /// answers nothing between `stall` (from, to) and then everything at `to`.
    fn simulate(w: &mut Worker, service_ns: u64, stall: Option<(u64, u64)>) -> Recorder {
        let mut rec = Recorder::new(&["chain_name".to_string()], 5 * MS);
        let mut pending: Vec<(u64, u64)> = Vec::new(); // (answer time, id)
        let mut now = 0;
        let mut buf = Vec::new();
        let mut events = Vec::new();
        for _ in 0..1_000_000 {
            while let Some(id) = w.poll_request(now, &mut buf) {
                let r = Request::from_json(&buf).unwrap();
                assert_eq!(r.id, id);
                let mut at = now + service_ns;
                if let Some((from, to)) = stall
                    && at >= from
                    && at < to
                {
                    at = to;
                }
                pending.push((at, id));
            }
            if w.is_finished() {
                break;
            }
            pending.sort();
            let next_reply = pending.first().map(|p| p.0);
            let next = match (next_reply, w.poll_timeout()) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).expect("a finished worker has no timers"),
            };
            assert!(next >= now, "time never goes back");
            now = next;
            while pending.first().is_some_and(|p| p.0 <= now) {
                let (_, id) = pending.remove(0);
                w.handle_message(now, &reply(id));
            }
            w.handle_timeout(now);
            w.take_events(&mut events);
            rec.record_all(&mut events);
        }
        w.take_events(&mut events);
        rec.record_all(&mut events);
        rec
    }

    #[test]
    fn open_model_starts_on_schedule() {
        let mut w = worker(
            Model::ConstantArrivalRate,
            ModelParams {
                rate: Some(200.0),
                duration_ns: Some(2 * NS_PER_S),
                ..Default::default()
            },
            16,
        );
        let rec = simulate(&mut w, 2 * MS, None);
        assert_eq!(rec.started_total(), 400);
        assert_eq!(rec.completed_total(), 400);
        assert_eq!(rec.behind.count, 0);
        assert!(rec.latency[0].equivalent(rec.latency[0].max(), 2 * MS));
    }

    #[test]
    fn a_stall_shows_in_latency_and_not_in_service_time() {
        // One request in flight; the server stalls 500 ms at 1 s.
        let mut w = worker(
            Model::ConstantArrivalRate,
            ModelParams {
                rate: Some(200.0),
                duration_ns: Some(3 * NS_PER_S),
                ..Default::default()
            },
            1,
        );
        let rec = simulate(&mut w, MS, Some((NS_PER_S, NS_PER_S + 500 * MS)));
        assert_eq!(rec.started_total(), 600);
        assert_eq!(rec.completed_total(), 600);
        let latency_p99 = rec.latency[0].value_at_quantile(0.99);
        let service_p99 = rec.service[0].value_at_quantile(0.99);
        assert!(latency_p99 > 300 * MS, "{latency_p99}");
        assert!(service_p99 < 2 * MS, "{service_p99}");
        assert!(rec.behind.count > 50, "{:?}", rec.behind);
        assert_eq!(rec.behind.generator, 0);
        assert_eq!(rec.behind.waited_for_slot, rec.behind.count);
    }

    #[test]
    fn what_cannot_start_before_the_end_never_starts() {
        // One request in flight and 10 ms answers: 100/s at most, of 200/s asked for.
        let mut w = worker(
            Model::ConstantArrivalRate,
            ModelParams {
                rate: Some(200.0),
                duration_ns: Some(NS_PER_S),
                ..Default::default()
            },
            1,
        );
        let rec = simulate(&mut w, 10 * MS, None);
        let started = rec.started_total();
        assert!((99..=101).contains(&started), "{started}");
        assert_eq!(rec.completed_total(), started);
        assert!(rec.behind.worst_ns > 400 * MS, "{:?}", rec.behind);
    }

    #[test]
    fn timeouts_and_late_answers() {
        let mut w = worker(
            Model::ConstantArrivalRate,
            ModelParams {
                rate: Some(100.0),
                duration_ns: Some(NS_PER_S / 10),
                ..Default::default()
            },
            64,
        );
        // Answers take 1.5 s: every request times out at 1 s; late answers do not match.
        let rec = simulate(&mut w, 1500 * MS, None);
        assert_eq!(rec.started_total(), 10);
        assert_eq!(rec.completed_total(), 0);
        assert_eq!(rec.errors[&("chain_name".into(), "timeout".into())], 10);
    }

    #[test]
    fn closed_models_pace_and_count_iterations() {
        let mut w = worker(
            Model::PerVuIterations,
            ModelParams {
                vus: Some(5),
                iterations: Some(20),
                pacing_ns: Some(50 * MS),
                ..Default::default()
            },
            64,
        );
        let rec = simulate(&mut w, MS, None);
        assert_eq!(rec.started_total(), 100);
        assert_eq!(rec.completed_total(), 100);
        assert_eq!(rec.behind.count, 0);
        // Unpaced: back to back, as many as the server allows.
        let mut w = worker(
            Model::ConstantVus,
            ModelParams {
                vus: Some(2),
                duration_ns: Some(NS_PER_S / 10),
                ..Default::default()
            },
            64,
        );
        let rec = simulate(&mut w, MS, None);
        assert_eq!(rec.started_total(), 200);
        // Paced VUs behind a slow server fall behind, and say so.
        let mut w = worker(
            Model::ConstantVus,
            ModelParams {
                vus: Some(1),
                duration_ns: Some(NS_PER_S),
                pacing_ns: Some(10 * MS),
                ..Default::default()
            },
            64,
        );
        let rec = simulate(&mut w, 20 * MS, None);
        assert!(rec.behind.count > 10, "{:?}", rec.behind);
    }

    #[test]
    fn closed_connection_fails_what_is_in_flight() {
        let mut w = worker(
            Model::ConstantArrivalRate,
            ModelParams {
                rate: Some(1000.0),
                duration_ns: Some(NS_PER_S),
                ..Default::default()
            },
            64,
        );
        let mut buf = Vec::new();
        let mut n = 0;
        while w.poll_request(5 * MS, &mut buf).is_some() {
            n += 1;
        }
        assert_eq!(n, 6);
        w.handle_closed(6 * MS, "reset");
        assert!(w.is_finished());
        let mut events = Vec::new();
        w.take_events(&mut events);
        let closed = events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Failed {
                        kind: ErrorKind::Closed,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(closed, 6);
    }
}
