//! Snowball in the node: `secure_payment` as a round among wallets on different nodes.
//!
//! The round's logic is the sans-IO library `crate::snowball` ([`Pool`], [`Participant`]);
//! this module carries its traffic between nodes and connects it to the wallet and the API.
//!
//! ## The flow
//! 1. `secure_payment` on account A of node N: the wallet builds A's contribution and holds
//!    its inputs ([`crate::wallet::Wallet::snowball_prepare`]); the client gets
//!    `snowball_status` `pool_wait`; N sends [`SnowballPeer::Join`] (A's key and inputs) for
//!    the current epoch's facilitator (the election's `facilitator`, a validator's network
//!    key). Nodes know peers by index, not by key, so the join goes to every peer and only
//!    the facilitator's node takes it.
//! 2. The facilitator checks the inputs (at most [`INPUTS_PER_MEMBER_MAX`], unspent in its
//!    ledger, owned as claimed, not claimed by its mempool; else [`SnowballPeer::Refused`])
//!    and adds A to its [`Pool`]. At a pool check with at least 3 waiting, or at once with
//!    20, it starts a round: [`SnowballPeer::Start`] with the members' keys and nodes goes to
//!    every member's node. Round numbers are `epoch << 32 | n`, `n` counting the rounds of
//!    that facilitator's pool.
//! 3. Each member node runs a [`Participant`] per local member; its broadcasts travel as
//!    [`SnowballPeer::Round`] messages addressed to one member each (to a member on the same
//!    node, through a local queue). A round message is taken only from the node the round's
//!    member list names for its sender: the transport authenticates members. Every phase the
//!    participant enters is a `snowball_status` notification (with the round and the number
//!    of members).
//! 4. Success: the node submits the joint transaction (every member's node does; the first
//!    copy to arrive is kept) and the wallet records it; the client gets `succeeded`, then
//!    `transaction_created` as the answer to its request's `id`, then the usual
//!    `transaction_status` notifications. Failure: `failed` with the reason, the inputs are
//!    released, and the request is answered with a `snowball_failed` error.
//!
//! A change of facilitator (a new epoch whose election picked another validator) drops the
//! old facilitator's pool, and waiting members join the new one. Rounds already running go
//! on: they need no facilitator.
//!
//! ## Faults (for simulations)
//! [`Node::snowball_drop`] arms the node to stop its participant when it enters a phase: the
//! member sends nothing more (the others exclude it at the phase's deadline and restart), and
//! its client is told `failed`.
//!
//! ## Limits
//! Waiting in a pool has no deadline of its own (the original had none either): with fewer
//! than 3 wallets joining, `pool_wait` lasts until the node stops. Rounds and waiting joins
//! are not persisted: a restarted node has forgotten them (its held inputs are free again).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::api::message::{
    ErrorCode, Payment, ServerKind, ServerMessage, SnowballState, SnowballStatus,
};
use crate::chain::ledger::TxError;
use crate::crypto::PublicKey;
use crate::snowball::{
    INPUTS_PER_MEMBER_MAX, InputRef, Participant, Pool, SnowballMessage, SnowballOutput,
    SnowballTimer,
};
use crate::wallet::SnowballPrep;

use super::{ConnId, Dest, Node, NodeId, Output, PeerMessage};

/// Most round messages one input may deliver between members on this node before the rest
/// waits for the next input (a guard: a round of 20 members needs a few thousand).
const LOCAL_DELIVERIES_MAX: usize = 1_000_000;
/// Most round messages a waiting member keeps for a round it has not been told of yet (a
/// member's first messages can overtake the facilitator's `Start`).
const EARLY_ROUND_MESSAGES_MAX: usize = 4096;

/// Snowball traffic between nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnowballPeer {
    /// Account `account` asks `facilitator` for a place in its pool, bringing `inputs`.
    Join {
        /// The facilitator asked (a validator's network key).
        facilitator: PublicKey,
        /// The member's account key.
        account: PublicKey,
        /// The outputs it spends (at most [`INPUTS_PER_MEMBER_MAX`]).
        inputs: Vec<InputRef>,
    },
    /// The facilitator refuses a join.
    Refused {
        /// The facilitator.
        facilitator: PublicKey,
        /// The member refused.
        account: PublicKey,
        /// Why, for the member's client.
        reason: String,
    },
    /// The facilitator starts round `round` with `members` (account key, node).
    Start {
        /// The facilitator.
        facilitator: PublicKey,
        /// The round's number.
        round: u64,
        /// The members and the nodes they are on.
        members: Vec<(PublicKey, NodeId)>,
    },
    /// A round message from member `from` to member `to`.
    Round {
        /// The round.
        round: u64,
        /// Number of this message among those `from` sent `to` in this round (from 0): the
        /// receiver takes them in this order, as a stream transport would deliver them.
        seq: u64,
        /// The sending member.
        from: PublicKey,
        /// The receiving member.
        to: PublicKey,
        /// The message.
        msg: SnowballMessage,
    },
}

/// The facilitator's pool on this node.
#[derive(Debug)]
struct FacilitatorPool {
    /// The network key this node facilitates with.
    facilitator: PublicKey,
    /// The epoch the pool was opened in (the high bits of its round numbers).
    epoch: u64,
    /// The pool.
    pool: Pool,
}

/// A round one of this node's accounts is in.
#[derive(Debug)]
struct Running {
    /// The round's number.
    round: u64,
    /// Every member's node (this node's members included).
    members: BTreeMap<PublicKey, NodeId>,
    /// The account's side of the round.
    participant: Participant,
    /// Per recipient: the sequence number of the next message to it.
    send_seq: BTreeMap<PublicKey, u64>,
    /// Per sender: the sequence number of the next message to take.
    recv_next: BTreeMap<PublicKey, u64>,
    /// Messages that overtook earlier ones of their sender, by (sender, sequence number).
    held: BTreeMap<(PublicKey, u64), SnowballMessage>,
}

impl Running {
    /// Numbers a broadcast of member `from` for each recipient in `to`: those on this node
    /// (`me`) are queued on `local`; the others are returned as (node, member, sequence
    /// number) for the caller to send.
    fn route(
        &mut self,
        me: NodeId,
        from: PublicKey,
        to: Vec<PublicKey>,
        msg: &SnowballMessage,
        local: &mut VecDeque<LocalMessage>,
    ) -> Vec<(NodeId, PublicKey, u64)> {
        let mut sends = Vec::new();
        for t in to {
            let Some(&n) = self.members.get(&t) else {
                continue;
            };
            let seq = self.send_seq.entry(t).or_insert(0);
            let this = *seq;
            *seq += 1;
            if n == me {
                local.push_back((from, t, self.round, this, msg.clone()));
            } else {
                sends.push((n, t, this));
            }
        }
        sends
    }
}

/// A round message between members on this node: (from, to, round, seq, message).
type LocalMessage = (PublicKey, PublicKey, u64, u64, SnowballMessage);

/// One `secure_payment` in progress.
#[derive(Debug)]
struct Session {
    /// The account's contribution.
    prep: SnowballPrep,
    /// The connection and request id to answer.
    conn: ConnId,
    /// The request's id.
    req_id: u64,
    /// The facilitator joined (the last one asked).
    joined: PublicKey,
    /// The round, once started.
    running: Option<Running>,
    /// Round messages that came before the round's `Start`: (node, round, sender, seq,
    /// message).
    early: Vec<(NodeId, u64, PublicKey, u64, SnowballMessage)>,
}

/// The node's Snowball state: a pool when it facilitates, its accounts' rounds.
#[derive(Debug, Default)]
pub(crate) struct NodeSnowball {
    /// The pool, while this node is the facilitator and someone joined.
    pool: Option<FacilitatorPool>,
    /// Secure payments in progress, by account key.
    sessions: BTreeMap<PublicKey, Session>,
    /// Round messages between members on this node.
    local: VecDeque<LocalMessage>,
    /// Fault injection: stop the next participant that enters this phase.
    drop_at: Option<SnowballState>,
}

impl Node {
    /// `secure_payment` from connection `conn` (request `id`): builds the contribution, says
    /// `pool_wait` and joins the facilitator's pool. The answer comes when the round ends.
    pub(super) fn secure_payment(
        &mut self,
        conn: ConnId,
        id: u64,
        account_id: Option<String>,
        p: Payment,
    ) {
        let (prep, notes) =
            self.with_wallet(|w, ctx| w.snowball_prepare(ctx, account_id.as_deref(), &p));
        self.broadcast(notes);
        let prep = match prep {
            Ok(prep) => prep,
            Err(e) => {
                let mut m = ServerMessage::error(id, e.code, e.message);
                m.account_id = account_id;
                self.outputs.push_back(Output::Reply { conn, msg: m });
                return;
            }
        };
        let facilitator = self.chain.election.facilitator;
        let account = prep.pkey();
        let inputs = prep.contribution().inputs.clone();
        self.snowball.sessions.insert(
            account,
            Session {
                prep,
                conn,
                req_id: id,
                joined: facilitator,
                running: None,
                early: Vec::new(),
            },
        );
        self.snowball_notify(&account, SnowballState::PoolWait, None, None);
        self.snowball_join(facilitator, account, inputs);
        self.snowball_pump();
    }

    /// Fault injection: the next participant of this node that enters `phase` stops there
    /// and sends nothing more; its client is told `failed`. One-shot.
    pub fn snowball_drop(&mut self, phase: SnowballState) {
        self.snowball.drop_at = Some(phase);
    }

    /// How many of this node's accounts wait in a pool or run a round.
    pub fn snowball_sessions(&self) -> usize {
        self.snowball.sessions.len()
    }

    /// How many wait in this node's pool (when it facilitates).
    pub fn snowball_pool_waiting(&self) -> usize {
        self.snowball.pool.as_ref().map_or(0, |p| p.pool.waiting())
    }

    /// A Snowball message from peer `from`.
    pub(super) fn on_snowball_peer(&mut self, from: NodeId, m: &SnowballPeer) {
        match m {
            SnowballPeer::Join {
                facilitator,
                account,
                inputs,
            } => self.snowball_pool_join(from, *facilitator, *account, inputs.clone()),
            SnowballPeer::Refused {
                facilitator,
                account,
                reason,
            } => self.snowball_refused(*facilitator, account, reason),
            SnowballPeer::Start {
                facilitator,
                round,
                members,
            } => self.snowball_start(*facilitator, *round, members),
            SnowballPeer::Round {
                round,
                seq,
                from: sender,
                to,
                msg,
            } => self.snowball_deliver(from, *round, *sender, *seq, *to, msg.clone()),
        }
        self.snowball_pump();
    }

    /// When the Snowball part wants to be woken: the pool's check (while someone waits) or
    /// the earliest phase deadline.
    pub(super) fn snowball_deadline(&self) -> Option<(u64, SnowballTimer)> {
        let pool = self
            .snowball
            .pool
            .as_ref()
            .filter(|p| p.pool.waiting() > 0)
            .map(|p| p.pool.poll_timeout());
        let phases = self
            .snowball
            .sessions
            .values()
            .filter_map(|s| s.running.as_ref()?.participant.poll_timeout());
        pool.into_iter().chain(phases).min_by_key(|(t, _)| *t)
    }

    /// Time passed: the pool's check, the phases' deadlines.
    pub(super) fn snowball_timeout(&mut self) {
        let now = self.now_ns;
        let check = self
            .snowball
            .pool
            .as_mut()
            .filter(|p| p.pool.waiting() > 0 && p.pool.poll_timeout().0 <= now)
            .and_then(|p| p.pool.handle_timeout(now));
        if let Some((n, members)) = check {
            self.snowball_start_round(n, members);
        }
        let due: Vec<PublicKey> = self
            .snowball
            .sessions
            .iter()
            .filter(|(_, s)| {
                s.running
                    .as_ref()
                    .and_then(|r| r.participant.poll_timeout())
                    .is_some_and(|(t, _)| t <= now)
            })
            .map(|(k, _)| *k)
            .collect();
        for k in due {
            if let Some(r) = self
                .snowball
                .sessions
                .get_mut(&k)
                .and_then(|s| s.running.as_mut())
            {
                r.participant.handle_timeout(now);
            }
            self.snowball_drain(&k);
        }
        self.snowball_pump();
    }

    /// After every input: a change of facilitator drops the old pool and sends the waiting
    /// members to the new one.
    pub(super) fn snowball_tick(&mut self) {
        if self.snowball.pool.is_none() && self.snowball.sessions.is_empty() {
            return;
        }
        let f = self.chain.election.facilitator;
        if self
            .snowball
            .pool
            .as_ref()
            .is_some_and(|p| p.facilitator != f)
        {
            self.snowball.pool = None;
        }
        let mut rejoin = Vec::new();
        for (k, s) in self.snowball.sessions.iter_mut() {
            if s.running.is_none() && s.joined != f {
                s.joined = f;
                rejoin.push((*k, s.prep.contribution().inputs.clone()));
            }
        }
        for (k, inputs) in rejoin {
            self.snowball_join(f, k, inputs);
        }
        self.snowball_pump();
    }

    /// Asks `facilitator` for a place for `account`: at once when this node facilitates, else
    /// through every peer (nodes know each other by index, not by network key).
    fn snowball_join(&mut self, facilitator: PublicKey, account: PublicKey, inputs: Vec<InputRef>) {
        if self.network_pkey() == Some(facilitator) {
            self.snowball_pool_join(self.cfg.id, facilitator, account, inputs);
        } else {
            self.send(
                Dest::All,
                PeerMessage::Snowball(SnowballPeer::Join {
                    facilitator,
                    account,
                    inputs,
                }),
            );
        }
    }

    /// Why the facilitator refuses `inputs`, if it does.
    fn snowball_check_inputs(&self, inputs: &[InputRef]) -> Result<(), String> {
        if inputs.is_empty() || inputs.len() > INPUTS_PER_MEMBER_MAX {
            return Err(format!(
                "a member brings 1 to {INPUTS_PER_MEMBER_MAX} inputs, not {}",
                inputs.len()
            ));
        }
        let distinct: BTreeSet<_> = inputs.iter().map(|i| i.hash).collect();
        if distinct.len() != inputs.len() {
            return Err("an input is named twice".into());
        }
        for i in inputs {
            let Some(u) = self.chain.ledger.get(&i.hash) else {
                return Err(format!(
                    "input {} is not an unspent output at the facilitator",
                    i.hash
                ));
            };
            if *u.output.owner() != i.owner || u.output.amount() != i.amount {
                return Err(format!(
                    "input {} is not owned as claimed or has another amount",
                    i.hash
                ));
            }
            if self.mempool.claimed().contains_key(&i.hash) {
                return Err(format!(
                    "input {} is spent by a transaction waiting in the mempool",
                    i.hash
                ));
            }
        }
        Ok(())
    }

    /// A join at the facilitator (from node `from`, maybe this one).
    fn snowball_pool_join(
        &mut self,
        from: NodeId,
        facilitator: PublicKey,
        account: PublicKey,
        inputs: Vec<InputRef>,
    ) {
        // Not (or no longer) the facilitator: the member rejoins when it sees the new one.
        if self.network_pkey() != Some(facilitator)
            || self.chain.election.facilitator != facilitator
        {
            return;
        }
        if let Err(reason) = self.snowball_check_inputs(&inputs) {
            if from == self.cfg.id {
                self.snowball_refused(facilitator, &account, &reason);
            } else {
                self.send(
                    Dest::One(from),
                    PeerMessage::Snowball(SnowballPeer::Refused {
                        facilitator,
                        account,
                        reason,
                    }),
                );
            }
            return;
        }
        let epoch = self.chain.epoch();
        let now = self.now_ns;
        let cfg = self.cfg.wallet.snowball;
        let fp = self.snowball.pool.get_or_insert_with(|| FacilitatorPool {
            facilitator,
            epoch,
            pool: Pool::new(cfg, now),
        });
        if let Some((n, members)) = fp.pool.join(account, from) {
            self.snowball_start_round(n, members);
        }
    }

    /// The facilitator starts its pool's round `n`.
    fn snowball_start_round(&mut self, n: u64, members: Vec<(PublicKey, NodeId)>) {
        let Some(fp) = self.snowball.pool.as_ref() else {
            return;
        };
        let facilitator = fp.facilitator;
        let round = (fp.epoch << 32) | (n & 0xffff_ffff);
        let nodes: BTreeSet<NodeId> = members.iter().map(|(_, n)| *n).collect();
        for node in nodes {
            if node == self.cfg.id {
                self.snowball_start(facilitator, round, &members);
            } else {
                self.send(
                    Dest::One(node),
                    PeerMessage::Snowball(SnowballPeer::Start {
                        facilitator,
                        round,
                        members: members.clone(),
                    }),
                );
            }
        }
    }

    /// The facilitator refused `account`: its waiting session fails with the reason (a refusal
    /// from a facilitator it no longer waits for is stale and ignored).
    fn snowball_refused(&mut self, facilitator: PublicKey, account: &PublicKey, reason: &str) {
        let waiting = self
            .snowball
            .sessions
            .get(account)
            .is_some_and(|s| s.running.is_none() && s.joined == facilitator);
        if waiting && let Some(s) = self.snowball.sessions.remove(account) {
            self.snowball_fail(
                s,
                format!("Snowball failed: the facilitator refused: {reason}"),
            );
        }
    }

    /// A round starts: this node's waiting members among `members` begin it.
    fn snowball_start(
        &mut self,
        facilitator: PublicKey,
        round: u64,
        members: &[(PublicKey, NodeId)],
    ) {
        let cfg = self.cfg.wallet.snowball;
        let keys: BTreeSet<PublicKey> = members.iter().map(|(k, _)| *k).collect();
        if keys.len() != members.len()
            || members.len() < cfg.participants_min
            || members.len() > cfg.participants_max
        {
            return;
        }
        let current = self.chain.election.facilitator;
        let now = self.now_ns;
        let mine: Vec<PublicKey> = members
            .iter()
            .filter(|(_, n)| *n == self.cfg.id)
            .map(|(k, _)| *k)
            .collect();
        for k in mine {
            let Some(s) = self.snowball.sessions.get_mut(&k) else {
                continue;
            };
            if s.running.is_some() || (facilitator != s.joined && facilitator != current) {
                continue;
            }
            let rng = self
                .cfg
                .seed
                .child("snowball", round)
                .stream(&format!("account {}", s.prep.account()));
            let participant = Participant::new(
                cfg,
                round,
                k,
                keys.iter().copied(),
                s.prep.contribution().clone(),
                rng,
                now,
            );
            s.running = Some(Running {
                round,
                members: members.iter().copied().collect(),
                participant,
                send_seq: BTreeMap::new(),
                recv_next: BTreeMap::new(),
                held: BTreeMap::new(),
            });
            let early = std::mem::take(&mut s.early);
            self.snowball_drain(&k);
            for (from, r, sender, seq, msg) in early {
                if r == round {
                    self.snowball_deliver(from, r, sender, seq, k, msg);
                }
            }
        }
    }

    /// A round message for member `to`, from member `sender` on node `from`.
    fn snowball_deliver(
        &mut self,
        from: NodeId,
        round: u64,
        sender: PublicKey,
        seq: u64,
        to: PublicKey,
        msg: SnowballMessage,
    ) {
        let now = self.now_ns;
        let Some(s) = self.snowball.sessions.get_mut(&to) else {
            return;
        };
        let Some(r) = s.running.as_mut() else {
            if s.early.len() < EARLY_ROUND_MESSAGES_MAX {
                s.early.push((from, round, sender, seq, msg));
            }
            return;
        };
        if r.round != round || r.members.get(&sender) != Some(&from) {
            return;
        }
        let next = r.recv_next.entry(sender).or_insert(0);
        if seq < *next {
            return; // a duplicate
        }
        if seq > *next {
            if r.held.len() < EARLY_ROUND_MESSAGES_MAX {
                r.held.insert((sender, seq), msg);
            }
            return;
        }
        // In order: take it and whatever it unblocks.
        let mut batch = vec![msg];
        *next += 1;
        while let Some(m) = r.held.remove(&(sender, *next)) {
            batch.push(m);
            *next += 1;
        }
        for m in batch {
            let Some(r) = self
                .snowball
                .sessions
                .get_mut(&to)
                .and_then(|s| s.running.as_mut())
            else {
                return;
            };
            r.participant.handle_message(now, sender, m);
            self.snowball_drain(&to);
        }
    }

    /// Delivers round messages between members on this node.
    fn snowball_pump(&mut self) {
        let mut n = 0;
        while let Some((from, to, round, seq, msg)) = self.snowball.local.pop_front() {
            n += 1;
            if n > LOCAL_DELIVERIES_MAX {
                break;
            }
            let id = self.cfg.id;
            self.snowball_deliver(id, round, from, seq, to, msg);
        }
    }

    /// Acts on what member `k`'s participant wants.
    fn snowball_drain(&mut self, k: &PublicKey) {
        let me = self.cfg.id;
        loop {
            let Some(s) = self.snowball.sessions.get_mut(k) else {
                return;
            };
            let Some(r) = s.running.as_mut() else {
                return;
            };
            let Some(o) = r.participant.poll_output() else {
                return;
            };
            let round = r.round;
            match o {
                SnowballOutput::Broadcast { to, msg } => {
                    let sends = r.route(me, *k, to, &msg, &mut self.snowball.local);
                    for (n, t, seq) in sends {
                        self.send(
                            Dest::One(n),
                            PeerMessage::Snowball(SnowballPeer::Round {
                                round,
                                seq,
                                from: *k,
                                to: t,
                                msg: msg.clone(),
                            }),
                        );
                    }
                }
                // Sent with its reason when the round finishes.
                SnowballOutput::Status(SnowballState::Failed) => {}
                SnowballOutput::Status(state) => {
                    let count = r.participant.members().len() as u32;
                    self.snowball_notify(k, state, Some(round), Some(count));
                    if self.snowball.drop_at == Some(state) {
                        self.snowball.drop_at = None;
                        if let Some(s) = self.snowball.sessions.remove(k) {
                            self.snowball_fail(
                                s,
                                "Snowball failed: the participant was stopped (fault injection)"
                                    .into(),
                            );
                        }
                        return;
                    }
                }
                SnowballOutput::Excluded(_) => {}
                SnowballOutput::Finished(result) => {
                    let Some(s) = self.snowball.sessions.remove(k) else {
                        return;
                    };
                    match result {
                        Ok(tx) => self.snowball_succeeded(s, tx),
                        Err(e) => self.snowball_fail(s, e.to_string()),
                    }
                    return;
                }
            }
        }
    }

    /// The round produced `tx`: submitted (unless a copy from another member's node came
    /// first), recorded, answered.
    fn snowball_succeeded(&mut self, s: Session, tx: crate::chain::tx::Transaction) {
        let h = tx.hash();
        let result = if self.mempool.contains(&h) {
            Ok(h)
        } else {
            match self.submit_transaction(self.now_ns, tx.clone()) {
                Err(TxError::AlreadyKnown(h)) => Ok(h),
                other => other,
            }
        };
        let (answer, notes) =
            self.with_wallet(|w, ctx| w.snowball_finish(ctx, &s.prep, tx, result));
        let account_id = s.prep.account().to_string();
        let msg = match answer {
            Ok(mut m) => {
                m.id = s.req_id;
                m
            }
            Err(e) => {
                let mut m = ServerMessage::error(s.req_id, e.code, e.message);
                m.account_id = Some(account_id);
                m
            }
        };
        self.outputs.push_back(Output::Reply { conn: s.conn, msg });
        self.broadcast(notes);
    }

    /// The round failed for this member: `failed` with the reason, inputs released, the
    /// request answered with a `snowball_failed` error.
    fn snowball_fail(&mut self, s: Session, reason: String) {
        let account = s.prep.account();
        self.wallet.snowball_release(account);
        let (round, count) = match &s.running {
            Some(r) => (Some(r.round), Some(r.participant.members().len() as u32)),
            None => (None, None),
        };
        self.outputs.push_back(Output::Broadcast(ServerMessage {
            id: 0,
            account_id: Some(account.to_string()),
            kind: ServerKind::SnowballStatus(SnowballStatus {
                state: SnowballState::Failed,
                error: Some(reason.clone()),
                session_id: round,
                participants: count,
            }),
        }));
        let mut m = ServerMessage::error(s.req_id, ErrorCode::SnowballFailed, reason);
        m.account_id = Some(account.to_string());
        self.outputs.push_back(Output::Reply {
            conn: s.conn,
            msg: m,
        });
    }

    /// A `snowball_status` notification for member `k`'s account, to every API connection.
    fn snowball_notify(
        &mut self,
        k: &PublicKey,
        state: SnowballState,
        round: Option<u64>,
        participants: Option<u32>,
    ) {
        let Some(s) = self.snowball.sessions.get(k) else {
            return;
        };
        let account = s.prep.account();
        self.outputs.push_back(Output::Broadcast(ServerMessage {
            id: 0,
            account_id: Some(account.to_string()),
            kind: ServerKind::SnowballStatus(SnowballStatus {
                state,
                error: None,
                session_id: round,
                participants,
            }),
        }));
    }
}
