//! # Snowball: mixing several wallets' payments into one joint transaction
//!
//! PROTOCOL.md, "Snowball (secure_payment)". Two sans-IO machines with the node's shape
//! (inputs, `poll_output`, `poll_timeout` with a reason):
//! - [`Pool`]: the facilitator's pool. Wallets join with their account key; the facilitator
//!   starts a round when at least [`SnowballConfig::participants_min`] wait at a check
//!   (every [`SnowballConfig::pool_check_ns`]), or at once when
//!   [`SnowballConfig::participants_max`] wait.
//! - [`Participant`]: one wallet's side of one round. It talks to the other members only
//!   through [`SnowballMessage`]s the driver delivers (the node wraps them in a peer
//!   message); it never reads a clock or the OS's randomness.
//!
//! ## One attempt of a round
//! 1. **shared_keying**: each member publishes a fresh session key and its inputs
//!    ([`SnowballMessage::SessionKey`]). Every pair of members then shares a Diffie-Hellman
//!    secret, from which both derive the same pads. Still in this phase, each member reserves
//!    a slot anonymously: it sets one random bit of an `8n²`-bit vector and XORs the pads
//!    with every other member into it ([`SnowballMessage::Reservation`]). The XOR of all
//!    vectors shows the set bits without saying who set which; a member's slot is the rank
//!    of its bit. When two members picked the same bit (fewer than `n` bits show), the
//!    reservation is drawn again with fresh pads.
//! 2. **commitment**: each member builds its cloaked matrix (`n` slots of
//!    [`SLOT_BYTES`]): its own outputs and fee, serialised into its slot, XOR the pads with
//!    every other member. It publishes the hash of the matrix and its signing nonce
//!    commitment ([`SnowballMessage::Commitment`]).
//! 3. **cloaked_vals**: each member publishes its matrix ([`SnowballMessage::CloakedVals`]);
//!    a matrix that does not hash to its commitment excludes its sender. The XOR of all
//!    matrices has every pad twice, so it is the plain matrix: every member's outputs, in
//!    slots nobody can attribute.
//! 4. **signature**: every member builds the same transaction (inputs: all members' inputs,
//!    sorted; outputs: all decoded outputs, sorted by hash; fee: the sum of the slots' fees),
//!    checks its own outputs are in it, and signs its share with [`JointSigning`] over the
//!    transaction hash ([`SnowballMessage::Signature`]). Shares are checked one by one; the
//!    sum is a signature that verifies against the sum of the inputs' owner keys, which is
//!    what the ledger checks.
//! 5. **secret_keying** (only when the decoded matrix is broken: a slot does not decode, a
//!    member's outputs are missing, or the amounts do not balance): members reveal their
//!    session secrets ([`SnowballMessage::SessionSecret`]); everyone recomputes each
//!    member's plain matrix and excludes those whose matrix is not one valid slot that
//!    balances its inputs.
//!
//! A member that sends nothing before a phase's deadline, or sends something invalid, is
//! excluded and the round restarts (a new *attempt*: fresh session keys and nonces) with the
//! rest; with fewer than [`SnowballConfig::participants_min`] left, the round fails.
//!
//! ## Simplifications
//! - Messages are authenticated by the transport: the driver says which member sent a
//!   message (the node knows which peer it came from); members do not sign them.
//! - Honest members exclude the same members because they see the same messages (every
//!   message is broadcast); there is no agreement step on who is excluded.
//! - After a secret_keying, the honest members' outputs are reused in the next attempt,
//!   so whoever saw the revealed attempt can link them; the original made fresh outputs.
//! - The ledger of this project shows recipients (see `chain::tx`), so a change output paid
//!   to the payer's own key links to the payer by its recipient; the DC-net hides only which
//!   member contributed which output.
//! - The joint nonces are committed in the commitment phase, before the message is known;
//!   this is plain multi-party Schnorr, without a defence against rogue keys (input owner
//!   keys are on the chain already).

pub mod sim;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::api::message::SnowballState;
use crate::chain::tx::{Output as TxOutput, Transaction};
use crate::crypto::{
    Hash, JointSigning, NonceCommitment, NonceSecret, PartialSignature, PublicKey, SecretKey,
    Signature, shared_secret,
};
use crate::rng::Stream;

/// Bytes of one member's slot in the cloaked matrix: the serialised outputs and fee with a
/// two-byte length in front. Outputs that do not fit are refused before joining.
pub const SLOT_BYTES: usize = 1024;
/// Most inputs one member brings (PROTOCOL.md).
pub const INPUTS_PER_MEMBER_MAX: usize = 5;
/// Most times one attempt draws its slot reservation again after collisions.
pub const RESERVATION_TRIES_MAX: u32 = 16;
/// Most messages from later attempts a member keeps until it gets there.
const EARLY_MESSAGES_MAX: usize = 1024;

/// The round's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnowballConfig {
    /// Fewest members a round runs with (3).
    pub participants_min: usize,
    /// Most members of one round; the pool starts a round at once when this many wait (20).
    pub participants_max: usize,
    /// How often the facilitator checks its pool (10 s in the original).
    pub pool_check_ns: u64,
    /// Deadline of each phase (60 s in the original).
    pub phase_timeout_ns: u64,
}

impl Default for SnowballConfig {
    fn default() -> Self {
        SnowballConfig {
            participants_min: 3,
            participants_max: 20,
            pool_check_ns: 10_000_000_000,
            phase_timeout_ns: 60_000_000_000,
        }
    }
}

impl SnowballConfig {
    /// The parameters for a chain: the original's (check every 10 s, 60 s per phase) on
    /// chains with long epochs, shortened on fast chains so that a pool gets checked a few
    /// times per epoch (a change of facilitator at each epoch cancels the waiting joins) and a
    /// silent member costs a few epochs, not dozens: the check at most a quarter of an epoch,
    /// the phase timeout at most two epochs (and at least 5 s).
    pub fn for_chain(chain: &crate::config::ChainConfig) -> SnowballConfig {
        let epoch_ns = chain
            .block_interval_ns
            .saturating_mul(chain.micro_blocks_per_epoch as u64);
        let d = SnowballConfig::default();
        SnowballConfig {
            pool_check_ns: d.pool_check_ns.min(epoch_ns / 4).max(1),
            phase_timeout_ns: d
                .phase_timeout_ns
                .min(epoch_ns.saturating_mul(2))
                .max(5 * crate::config::SECOND_NS),
            ..d
        }
    }
}

/// One input a member brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InputRef {
    /// The output spent.
    pub hash: Hash,
    /// Its owner (whose key signs for it).
    pub owner: PublicKey,
    /// Its amount.
    pub amount: i64,
}

/// What one member brings to a round.
#[derive(Debug, Clone)]
pub struct Contribution {
    /// The outputs it spends (at most [`INPUTS_PER_MEMBER_MAX`]).
    pub inputs: Vec<InputRef>,
    /// The secret keys of the inputs' owners, in the order of `inputs`.
    pub input_secrets: Vec<SecretKey>,
    /// Its outputs (payments and change).
    pub outputs: Vec<TxOutput>,
    /// Its share of the fee.
    pub fee: i64,
}

/// What a slot of the plain matrix holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SlotPayload {
    outputs: Vec<TxOutput>,
    fee: i64,
}

/// The message of one phase; `round` and `attempt` name the attempt it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnowballMessage {
    /// shared_keying: the member's session key and inputs.
    SessionKey {
        round: u64,
        attempt: u32,
        session_key: PublicKey,
        inputs: Vec<InputRef>,
    },
    /// shared_keying: the member's cloaked slot reservation (try `try_no`).
    Reservation {
        round: u64,
        attempt: u32,
        try_no: u32,
        bits: Vec<u8>,
    },
    /// commitment: hash of the member's cloaked matrix and its signing nonce commitment.
    Commitment {
        round: u64,
        attempt: u32,
        commitment: Hash,
        nonce: NonceCommitment,
    },
    /// cloaked_vals: the cloaked matrix.
    CloakedVals {
        round: u64,
        attempt: u32,
        matrix: Vec<u8>,
    },
    /// signature: the member's share of the joint signature.
    Signature {
        round: u64,
        attempt: u32,
        partial: PartialSignature,
    },
    /// secret_keying: the member's session secret, to find a cheater.
    SessionSecret {
        round: u64,
        attempt: u32,
        secret: [u8; 32],
    },
}

impl SnowballMessage {
    /// The round and attempt the message belongs to.
    pub fn round_attempt(&self) -> (u64, u32) {
        match self {
            SnowballMessage::SessionKey { round, attempt, .. }
            | SnowballMessage::Reservation { round, attempt, .. }
            | SnowballMessage::Commitment { round, attempt, .. }
            | SnowballMessage::CloakedVals { round, attempt, .. }
            | SnowballMessage::Signature { round, attempt, .. }
            | SnowballMessage::SessionSecret { round, attempt, .. } => (*round, *attempt),
        }
    }

    /// The phase whose message this is.
    pub fn phase(&self) -> SnowballState {
        match self {
            SnowballMessage::SessionKey { .. } | SnowballMessage::Reservation { .. } => {
                SnowballState::SharedKeying
            }
            SnowballMessage::Commitment { .. } => SnowballState::Commitment,
            SnowballMessage::CloakedVals { .. } => SnowballState::CloakedVals,
            SnowballMessage::Signature { .. } => SnowballState::Signature,
            SnowballMessage::SessionSecret { .. } => SnowballState::SecretKeying,
        }
    }
}

/// Why a round failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnowballError {
    /// Too few members are left after exclusions.
    #[error("Snowball failed: {left} participants left, at least {min} are needed")]
    TooFewParticipants {
        /// Members left, this one included.
        left: usize,
        /// The minimum.
        min: usize,
    },
    /// The slot reservation kept colliding.
    #[error("Snowball failed: the slot reservation collided {0} times")]
    Reservation(u32),
    /// This member's own outputs do not fit in a slot.
    #[error("Snowball failed: the outputs take {0} bytes, a slot holds {SLOT_BYTES}")]
    TooLarge(usize),
    /// A broken matrix whose cheater could not be found.
    #[error("Snowball failed: the mixed outputs are invalid and nobody could be blamed")]
    NoCulprit,
}

/// What a participant wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnowballOutput {
    /// Send to these members (every other member of the attempt, as it was when the message
    /// was made).
    Broadcast {
        /// Recipients.
        to: Vec<PublicKey>,
        /// The message.
        msg: SnowballMessage,
    },
    /// The participant entered a phase (for `snowball_status`).
    Status(SnowballState),
    /// Members excluded from the round (for traces).
    Excluded(Vec<PublicKey>),
    /// The round is over: the signed joint transaction, or why not.
    Finished(Result<Transaction, SnowballError>),
}

/// Why a participant wants to be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnowballTimer {
    /// The current phase's deadline: members that sent nothing are excluded.
    PhaseDeadline(SnowballState),
    /// The pool's next check.
    PoolCheck,
}

/// A member's state in the current attempt, as this participant knows it.
#[derive(Debug, Default)]
struct Peer {
    session_key: Option<PublicKey>,
    /// DH secret with this participant (None for self).
    shared: Option<[u8; 32]>,
    inputs: Vec<InputRef>,
    reservation: Option<Vec<u8>>,
    /// Reservations for later tries that came before this participant saw the collision.
    later_reservations: BTreeMap<u32, Vec<u8>>,
    commitment: Option<(Hash, NonceCommitment)>,
    matrix: Option<Vec<u8>>,
    /// A matrix that came before the member's commitment (a network that reorders
    /// messages): checked when the commitment comes.
    early_matrix: Option<Vec<u8>>,
    partial: Option<PartialSignature>,
    secret: Option<[u8; 32]>,
}

/// One wallet's side of one round. See the module documentation.
#[derive(Debug)]
pub struct Participant {
    cfg: SnowballConfig,
    /// The round (numbered by the facilitator).
    round: u64,
    /// Restarts so far.
    attempt: u32,
    /// This member's id (its account key).
    me: PublicKey,
    /// What this member brings.
    contribution: Contribution,
    /// Its slot bytes (length-prefixed outputs and fee).
    own_slot: Vec<u8>,
    /// Current members (this one included), sorted.
    members: BTreeSet<PublicKey>,
    /// Per member (this one included), the current attempt's state.
    peers: BTreeMap<PublicKey, Peer>,
    /// The session secret of the current attempt.
    session: SecretKey,
    /// The signing nonce of the current attempt (consumed when signing).
    nonce: Option<NonceSecret>,
    /// Current phase.
    phase: SnowballState,
    /// Deadline of the current phase.
    deadline_ns: u64,
    /// Reservation try of the current attempt.
    try_no: u32,
    /// The bit this member reserved.
    reserved_bit: usize,
    /// Slot of this member in the current attempt.
    slot: usize,
    /// The joint transaction being signed.
    tx: Option<Transaction>,
    /// The signing session of `tx`.
    signing: Option<JointSigning>,
    /// Messages for later attempts, kept until this participant restarts.
    early: VecDeque<(PublicKey, SnowballMessage)>,
    rng: Stream,
    outputs: VecDeque<SnowballOutput>,
    /// Set once the round is over.
    finished: bool,
}

fn pad_into(shared: &[u8; 32], tag: &str, round: u64, attempt: u32, try_no: u32, buf: &mut [u8]) {
    let mut h = blake3::Hasher::new_keyed(shared);
    h.update(tag.as_bytes())
        .update(&round.to_le_bytes())
        .update(&attempt.to_le_bytes())
        .update(&try_no.to_le_bytes());
    let mut xof = h.finalize_xof();
    let mut block = [0u8; 1024];
    for chunk in buf.chunks_mut(block.len()) {
        let pad = &mut block[..chunk.len()];
        xof.fill(pad);
        for (b, p) in chunk.iter_mut().zip(pad.iter()) {
            *b ^= *p;
        }
    }
}

fn xor_into(acc: &mut [u8], v: &[u8]) {
    for (a, b) in acc.iter_mut().zip(v) {
        *a ^= *b;
    }
}

fn reservation_bits(n: usize) -> usize {
    (8 * n * n).max(64)
}

/// The commitment to a cloaked matrix.
pub fn matrix_hash(matrix: &[u8]) -> Hash {
    Hash::digest("stegosim snowball matrix v1", matrix)
}

/// Serialises a slot payload with its length; `None` when it does not fit.
fn encode_slot(p: &SlotPayload) -> Result<Vec<u8>, SnowballError> {
    let body = postcard::to_stdvec(p).expect("a slot payload always serialises");
    if body.len() + 2 > SLOT_BYTES {
        return Err(SnowballError::TooLarge(body.len() + 2));
    }
    let mut slot = vec![0u8; SLOT_BYTES];
    slot[..2].copy_from_slice(&(body.len() as u16).to_le_bytes());
    slot[2..2 + body.len()].copy_from_slice(&body);
    Ok(slot)
}

fn decode_slot(slot: &[u8]) -> Option<SlotPayload> {
    let len = u16::from_le_bytes([slot[0], slot[1]]) as usize;
    if len == 0 || 2 + len > slot.len() || slot[2 + len..].iter().any(|b| *b != 0) {
        return None;
    }
    let p: SlotPayload = postcard::from_bytes(&slot[2..2 + len]).ok()?;
    (p.fee >= 0 && p.outputs.iter().all(|o| o.amount() > 0)).then_some(p)
}

impl Participant {
    /// Joins round `round` with `members` (this one included; at least
    /// `cfg.participants_min`), at `now_ns`. Emits `shared_keying` and the session key.
    pub fn new(
        cfg: SnowballConfig,
        round: u64,
        me: PublicKey,
        members: impl IntoIterator<Item = PublicKey>,
        contribution: Contribution,
        rng: Stream,
        now_ns: u64,
    ) -> Participant {
        assert_eq!(
            contribution.inputs.len(),
            contribution.input_secrets.len(),
            "one secret per input"
        );
        let mut members: BTreeSet<PublicKey> = members.into_iter().collect();
        members.insert(me);
        let mut p = Participant {
            cfg,
            round,
            attempt: 0,
            me,
            own_slot: Vec::new(),
            contribution,
            members,
            peers: BTreeMap::new(),
            session: SecretKey::from_seed([1; 32]),
            nonce: None,
            phase: SnowballState::SharedKeying,
            deadline_ns: now_ns,
            try_no: 0,
            reserved_bit: 0,
            slot: 0,
            tx: None,
            signing: None,
            early: VecDeque::new(),
            rng,
            outputs: VecDeque::new(),
            finished: false,
        };
        let payload = SlotPayload {
            outputs: p.contribution.outputs.clone(),
            fee: p.contribution.fee,
        };
        match encode_slot(&payload) {
            Ok(slot) => {
                p.own_slot = slot;
                p.start_attempt(now_ns);
            }
            Err(e) => p.finish(Err(e)),
        }
        p
    }

    /// The members of the current attempt.
    pub fn members(&self) -> &BTreeSet<PublicKey> {
        &self.members
    }

    /// This member's cloaked matrix of the current attempt, once made (commitment phase on).
    pub fn cloaked_matrix(&self) -> Option<&[u8]> {
        self.peers.get(&self.me).and_then(|p| p.matrix.as_deref())
    }

    /// The current phase.
    pub fn phase(&self) -> SnowballState {
        self.phase
    }

    /// The restarts so far.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Whether the round is over.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<SnowballOutput> {
        self.outputs.pop_front()
    }

    /// When and why the participant wants to be woken.
    pub fn poll_timeout(&self) -> Option<(u64, SnowballTimer)> {
        (!self.finished).then_some((self.deadline_ns, SnowballTimer::PhaseDeadline(self.phase)))
    }

    /// Time passed: at the phase's deadline, the members that did not send are excluded.
    pub fn handle_timeout(&mut self, now_ns: u64) {
        if self.finished || now_ns < self.deadline_ns {
            return;
        }
        let missing: Vec<PublicKey> = self
            .members
            .iter()
            .filter(|m| !self.has_sent(m))
            .copied()
            .collect();
        if missing.is_empty() {
            // Cannot happen: a phase advances as soon as every member has sent.
            self.exclude_and_restart(&[], now_ns);
        } else {
            self.exclude_and_restart(&missing, now_ns);
        }
    }

    fn has_sent(&self, m: &PublicKey) -> bool {
        let p = &self.peers[m];
        match self.phase {
            SnowballState::SharedKeying => {
                p.session_key.is_some() && (!self.all_keys() || p.reservation.is_some())
            }
            SnowballState::Commitment => p.commitment.is_some(),
            SnowballState::CloakedVals => p.matrix.is_some(),
            SnowballState::Signature => p.partial.is_some(),
            SnowballState::SecretKeying => p.secret.is_some(),
            _ => true,
        }
    }

    fn all_keys(&self) -> bool {
        self.peers.values().all(|p| p.session_key.is_some())
    }

    /// A message from member `from`.
    pub fn handle_message(&mut self, now_ns: u64, from: PublicKey, msg: SnowballMessage) {
        if self.finished || !self.members.contains(&from) || from == self.me {
            return;
        }
        let (round, attempt) = msg.round_attempt();
        if round != self.round || attempt < self.attempt {
            return;
        }
        if attempt > self.attempt {
            if self.early.len() < EARLY_MESSAGES_MAX {
                self.early.push_back((from, msg));
            }
            return;
        }
        self.accept(now_ns, from, msg);
    }

    /// A message of the current attempt from member `from`, to the handler of its phase.
    fn accept(&mut self, now_ns: u64, from: PublicKey, msg: SnowballMessage) {
        match msg {
            SnowballMessage::SessionKey {
                session_key,
                inputs,
                ..
            } => self.accept_session_key(now_ns, from, session_key, inputs),
            SnowballMessage::Reservation { try_no, bits, .. } => {
                self.accept_reservation(now_ns, from, try_no, bits)
            }
            SnowballMessage::Commitment {
                commitment, nonce, ..
            } => self.accept_commitment(now_ns, from, commitment, nonce),
            SnowballMessage::CloakedVals { matrix, .. } => {
                self.accept_cloaked(now_ns, from, matrix)
            }
            SnowballMessage::Signature { partial, .. } => {
                self.accept_signature(now_ns, from, partial)
            }
            SnowballMessage::SessionSecret { secret, .. } => {
                self.accept_secret(now_ns, from, secret)
            }
        }
    }

    /// The member's entry in the round; every sender reaching `accept` is a member.
    fn peer_mut(&mut self, from: &PublicKey) -> &mut Peer {
        self.peers.get_mut(from).expect("members have peers")
    }

    fn accept_session_key(
        &mut self,
        now_ns: u64,
        from: PublicKey,
        session_key: PublicKey,
        inputs: Vec<InputRef>,
    ) {
        if self.peer_mut(&from).session_key.is_some() {
            return;
        }
        if inputs.is_empty()
            || inputs.len() > INPUTS_PER_MEMBER_MAX
            || inputs.iter().any(|i| i.amount <= 0)
        {
            self.exclude_and_restart(&[from], now_ns);
            return;
        }
        let shared = shared_secret(&self.session, &session_key);
        let p = self.peer_mut(&from);
        p.session_key = Some(session_key);
        p.shared = Some(shared);
        p.inputs = inputs;
        if self.all_keys() {
            self.send_reservation();
            // The others' reservations may be in already (a network that reorders messages
            // delivers them before the last session key).
            self.try_reservation(now_ns);
        }
    }

    fn accept_reservation(&mut self, now_ns: u64, from: PublicKey, try_no: u32, bits: Vec<u8>) {
        let (current_try, n) = (self.try_no, self.members.len());
        let p = self.peer_mut(&from);
        if try_no > current_try && try_no < RESERVATION_TRIES_MAX {
            // The sender saw a collision before we did: kept for that try.
            p.later_reservations.entry(try_no).or_insert(bits);
            return;
        }
        if try_no != current_try || p.reservation.is_some() {
            return;
        }
        if bits.len() != reservation_bits(n) / 8 {
            self.exclude_and_restart(&[from], now_ns);
            return;
        }
        p.reservation = Some(bits);
        self.try_reservation(now_ns);
    }

    fn accept_commitment(
        &mut self,
        now_ns: u64,
        from: PublicKey,
        commitment: Hash,
        nonce: NonceCommitment,
    ) {
        let p = self.peer_mut(&from);
        if p.commitment.is_some() {
            return;
        }
        p.commitment = Some((commitment, nonce));
        let early = p.early_matrix.take();
        self.try_cloaked(now_ns);
        if let Some(matrix) = early
            && !self.finished
        {
            self.accept_cloaked(now_ns, from, matrix);
        }
    }

    fn accept_cloaked(&mut self, now_ns: u64, from: PublicKey, matrix: Vec<u8>) {
        let n = self.members.len();
        let p = self.peer_mut(&from);
        if p.matrix.is_some() {
            return;
        }
        if p.commitment.is_none() {
            // Overtook the member's commitment: kept until it comes (or the phase's deadline
            // excludes the member).
            if p.early_matrix.is_none() {
                p.early_matrix = Some(matrix);
            }
            return;
        }
        match p.commitment {
            Some((c, _)) if matrix.len() == n * SLOT_BYTES && matrix_hash(&matrix) == c => {
                p.matrix = Some(matrix);
                self.try_decode(now_ns);
            }
            // A matrix that does not match its commitment: the sender cheats.
            _ => self.exclude_and_restart(&[from], now_ns),
        }
    }

    fn accept_signature(&mut self, now_ns: u64, from: PublicKey, partial: PartialSignature) {
        let p = self.peers.get_mut(&from).expect("members have peers");
        if p.partial.is_some() {
            return;
        }
        let Some(signing) = &self.signing else {
            // Sent before we built the transaction: keep it.
            p.partial = Some(partial);
            return;
        };
        let key = PublicKey::sum(p.inputs.iter().map(|i| &i.owner));
        let nonce = p.commitment.map(|c| c.1);
        let ok = match (key, nonce) {
            (Some(k), Some(c)) => signing.verify_partial(&k, &c, &partial).is_ok(),
            _ => false,
        };
        if !ok {
            self.exclude_and_restart(&[from], now_ns);
            return;
        }
        p.partial = Some(partial);
        self.try_combine();
    }

    fn accept_secret(&mut self, now_ns: u64, from: PublicKey, secret: [u8; 32]) {
        let p = self.peer_mut(&from);
        let valid = SecretKey::from_bytes(secret)
            .ok()
            .is_some_and(|s| Some(s.public_key()) == p.session_key);
        if !valid {
            self.exclude_and_restart(&[from], now_ns);
            return;
        }
        p.secret = Some(secret);
        self.try_blame(now_ns);
    }

    fn broadcast(&mut self, msg: SnowballMessage) {
        let to = self
            .members
            .iter()
            .filter(|m| **m != self.me)
            .copied()
            .collect();
        self.emit(SnowballOutput::Broadcast { to, msg });
    }

    fn emit(&mut self, o: SnowballOutput) {
        self.outputs.push_back(o);
    }

    fn enter(&mut self, phase: SnowballState, now_ns: u64) {
        self.phase = phase;
        self.deadline_ns = now_ns.saturating_add(self.cfg.phase_timeout_ns);
        self.emit(SnowballOutput::Status(phase));
    }

    fn finish(&mut self, result: Result<Transaction, SnowballError>) {
        self.finished = true;
        let state = if result.is_ok() {
            SnowballState::Succeeded
        } else {
            SnowballState::Failed
        };
        self.phase = state;
        self.emit(SnowballOutput::Status(state));
        self.emit(SnowballOutput::Finished(result));
    }

    fn start_attempt(&mut self, now_ns: u64) {
        self.session = SecretKey::from_seed(self.rng.bytes32());
        let nonce_seed = self.rng.bytes32();
        let first = self
            .contribution
            .input_secrets
            .first()
            .expect("a member brings at least one input");
        self.nonce = Some(NonceSecret::derive(first, nonce_seed));
        self.peers = self.members.iter().map(|m| (*m, Peer::default())).collect();
        let me = self
            .peers
            .get_mut(&self.me)
            .expect("a member is its own peer");
        me.session_key = Some(self.session.public_key());
        me.inputs = self.contribution.inputs.clone();
        self.try_no = 0;
        self.tx = None;
        self.signing = None;
        self.enter(SnowballState::SharedKeying, now_ns);
        self.broadcast(SnowballMessage::SessionKey {
            round: self.round,
            attempt: self.attempt,
            session_key: self.session.public_key(),
            inputs: self.contribution.inputs.clone(),
        });
        let early = std::mem::take(&mut self.early);
        for (from, msg) in early {
            if self.finished {
                break;
            }
            self.handle_message(now_ns, from, msg);
        }
    }

    fn exclude_and_restart(&mut self, bad: &[PublicKey], now_ns: u64) {
        for b in bad {
            self.members.remove(b);
        }
        if !bad.is_empty() {
            self.emit(SnowballOutput::Excluded(bad.to_vec()));
        }
        if self.members.len() < self.cfg.participants_min {
            let left = self.members.len();
            self.finish(Err(SnowballError::TooFewParticipants {
                left,
                min: self.cfg.participants_min,
            }));
            return;
        }
        self.attempt += 1;
        self.start_attempt(now_ns);
    }

    fn others(&self) -> impl Iterator<Item = &Peer> {
        self.peers
            .iter()
            .filter(|(k, _)| **k != self.me)
            .map(|(_, p)| p)
    }

    fn pads(&self, tag: &str, try_no: u32, buf: &mut [u8]) {
        for p in self.others() {
            let shared = p.shared.expect("pads are made once every key is in");
            pad_into(&shared, tag, self.round, self.attempt, try_no, buf);
        }
    }

    fn send_reservation(&mut self) {
        let bits = reservation_bits(self.members.len());
        self.reserved_bit = self.rng.below(bits as u64) as usize;
        let mut v = vec![0u8; bits / 8];
        v[self.reserved_bit / 8] |= 1 << (self.reserved_bit % 8);
        self.pads("reservation", self.try_no, &mut v);
        let me = self
            .peers
            .get_mut(&self.me)
            .expect("a member is its own peer");
        me.reservation = Some(v.clone());
        self.broadcast(SnowballMessage::Reservation {
            round: self.round,
            attempt: self.attempt,
            try_no: self.try_no,
            bits: v,
        });
    }

    fn try_reservation(&mut self, now_ns: u64) {
        if self.phase != SnowballState::SharedKeying
            || !self.peers.values().all(|p| p.reservation.is_some())
        {
            return;
        }
        let bits = reservation_bits(self.members.len());
        let mut sum = vec![0u8; bits / 8];
        for p in self.peers.values() {
            xor_into(&mut sum, p.reservation.as_ref().expect("checked above"));
        }
        let set: Vec<usize> = (0..bits)
            .filter(|b| sum[b / 8] & (1 << (b % 8)) != 0)
            .collect();
        if set.len() != self.members.len() || !set.contains(&self.reserved_bit) {
            // Two members picked one bit: draw again.
            self.try_no += 1;
            if self.try_no >= RESERVATION_TRIES_MAX {
                self.finish(Err(SnowballError::Reservation(self.try_no)));
                return;
            }
            let try_no = self.try_no;
            for p in self.peers.values_mut() {
                p.reservation = p.later_reservations.remove(&try_no);
            }
            self.send_reservation();
            self.try_reservation(now_ns);
            return;
        }
        self.slot = set
            .iter()
            .position(|b| *b == self.reserved_bit)
            .expect("checked above");
        let n = self.members.len();
        let mut matrix = vec![0u8; n * SLOT_BYTES];
        matrix[self.slot * SLOT_BYTES..(self.slot + 1) * SLOT_BYTES]
            .copy_from_slice(&self.own_slot);
        self.pads("matrix", 0, &mut matrix);
        let commitment = matrix_hash(&matrix);
        let nonce = self
            .nonce
            .as_ref()
            .expect("a nonce is drawn per attempt")
            .commitment();
        let me = self
            .peers
            .get_mut(&self.me)
            .expect("a member is its own peer");
        me.commitment = Some((commitment, nonce));
        me.matrix = Some(matrix);
        self.enter(SnowballState::Commitment, now_ns);
        self.broadcast(SnowballMessage::Commitment {
            round: self.round,
            attempt: self.attempt,
            commitment,
            nonce,
        });
        self.try_cloaked(now_ns);
    }

    fn try_cloaked(&mut self, now_ns: u64) {
        if self.phase != SnowballState::Commitment
            || !self.peers.values().all(|p| p.commitment.is_some())
        {
            return;
        }
        self.enter(SnowballState::CloakedVals, now_ns);
        let matrix = self.peers[&self.me]
            .matrix
            .clone()
            .expect("made with the commitment");
        self.broadcast(SnowballMessage::CloakedVals {
            round: self.round,
            attempt: self.attempt,
            matrix,
        });
        self.try_decode(now_ns);
    }

    fn try_decode(&mut self, now_ns: u64) {
        if self.phase != SnowballState::CloakedVals
            || !self.peers.values().all(|p| p.matrix.is_some())
        {
            return;
        }
        let n = self.members.len();
        let mut sum = vec![0u8; n * SLOT_BYTES];
        for p in self.peers.values() {
            xor_into(&mut sum, p.matrix.as_ref().expect("checked above"));
        }
        match self.build_tx(&sum) {
            Some(tx) => self.sign(tx, now_ns),
            None => self.reveal(now_ns),
        }
    }

    /// The joint transaction from the plain matrix, if it is sound: every slot decodes, our
    /// slot is ours, and the amounts balance.
    fn build_tx(&self, plain: &[u8]) -> Option<Transaction> {
        let mut outputs = Vec::new();
        let mut fee: i64 = 0;
        for (i, slot) in plain.chunks(SLOT_BYTES).enumerate() {
            if i == self.slot && slot != self.own_slot.as_slice() {
                return None;
            }
            let p = decode_slot(slot)?;
            fee = fee.checked_add(p.fee)?;
            outputs.extend(p.outputs);
        }
        let mut inputs: Vec<InputRef> = self
            .peers
            .values()
            .flat_map(|p| p.inputs.iter().copied())
            .collect();
        inputs.sort();
        let total_in = inputs
            .iter()
            .try_fold(0i64, |a, i| a.checked_add(i.amount))?;
        let total_out = outputs
            .iter()
            .try_fold(fee, |a, o| a.checked_add(o.amount()))?;
        if total_in != total_out {
            return None;
        }
        outputs.sort_by_key(TxOutput::hash);
        Some(Transaction::new(
            inputs.iter().map(|i| i.hash).collect(),
            outputs,
            fee,
            Signature::from_bytes([0; 64]),
        ))
    }

    fn sign(&mut self, tx: Transaction, now_ns: u64) {
        let owners: Vec<PublicKey> = self
            .peers
            .values()
            .flat_map(|p| p.inputs.iter().map(|i| i.owner))
            .collect();
        let nonces: Vec<NonceCommitment> = self
            .peers
            .values()
            .map(|p| p.commitment.expect("every commitment is in").1)
            .collect();
        let Ok(signing) = JointSigning::new(&owners, &nonces, tx.hash().as_bytes()) else {
            self.finish(Err(SnowballError::NoCulprit));
            return;
        };
        let secret = SecretKey::sum(self.contribution.input_secrets.iter())
            .expect("a sum of random secret keys is zero with probability 2^-252");
        let nonce = self.nonce.take().expect("a nonce is used once per attempt");
        let partial = signing.sign_partial(&secret, nonce);
        self.enter(SnowballState::Signature, now_ns);
        self.broadcast(SnowballMessage::Signature {
            round: self.round,
            attempt: self.attempt,
            partial,
        });
        // Shares that came early are checked now.
        let mut bad = Vec::new();
        for (k, p) in &self.peers {
            if *k == self.me {
                continue;
            }
            if let Some(s) = &p.partial {
                let key = PublicKey::sum(p.inputs.iter().map(|i| &i.owner));
                let c = p.commitment.expect("every commitment is in").1;
                if key.is_none_or(|k| signing.verify_partial(&k, &c, s).is_err()) {
                    bad.push(*k);
                }
            }
        }
        self.peers
            .get_mut(&self.me)
            .expect("a member is its own peer")
            .partial = Some(partial);
        self.tx = Some(tx);
        self.signing = Some(signing);
        if !bad.is_empty() {
            self.exclude_and_restart(&bad, now_ns);
            return;
        }
        self.try_combine();
    }

    fn try_combine(&mut self) {
        if self.phase != SnowballState::Signature
            || !self.peers.values().all(|p| p.partial.is_some())
        {
            return;
        }
        let signing = self.signing.as_ref().expect("set when signing");
        let signature = signing.combine(self.peers.values().filter_map(|p| p.partial.as_ref()));
        let mut tx = self.tx.take().expect("set when signing");
        tx.signature = signature;
        self.finish(Ok(tx));
    }

    fn reveal(&mut self, now_ns: u64) {
        self.enter(SnowballState::SecretKeying, now_ns);
        let secret = *self.session.to_bytes();
        self.peers
            .get_mut(&self.me)
            .expect("a member is its own peer")
            .secret = Some(secret);
        self.broadcast(SnowballMessage::SessionSecret {
            round: self.round,
            attempt: self.attempt,
            secret,
        });
        self.try_blame(now_ns);
    }

    /// With every session secret known, recomputes each member's plain matrix and blames
    /// those whose matrix is not one valid slot that balances their inputs.
    fn try_blame(&mut self, now_ns: u64) {
        if self.phase != SnowballState::SecretKeying
            || !self.peers.values().all(|p| p.secret.is_some())
        {
            return;
        }
        let n = self.members.len();
        let mut blamed = Vec::new();
        for (k, p) in &self.peers {
            let secret = SecretKey::from_bytes(p.secret.expect("checked above"))
                .expect("checked when received");
            let mut plain = p.matrix.clone().expect("every matrix is in");
            for (k2, p2) in &self.peers {
                if k2 == k {
                    continue;
                }
                let other = p2.session_key.expect("every key is in");
                pad_into(
                    &shared_secret(&secret, &other),
                    "matrix",
                    self.round,
                    self.attempt,
                    0,
                    &mut plain,
                );
            }
            let slots: Vec<&[u8]> = plain
                .chunks(SLOT_BYTES)
                .filter(|s| s.iter().any(|b| *b != 0))
                .collect();
            let in_sum: i64 = p.inputs.iter().map(|i| i.amount).sum();
            let valid = slots.len() == 1
                && decode_slot(slots[0]).is_some_and(|s| {
                    s.outputs.iter().map(TxOutput::amount).sum::<i64>() + s.fee == in_sum
                });
            if !valid && plain.len() == n * SLOT_BYTES {
                blamed.push(*k);
            }
        }
        if blamed.is_empty() {
            self.finish(Err(SnowballError::NoCulprit));
        } else {
            self.exclude_and_restart(&blamed, now_ns);
        }
    }
}

/// The facilitator's pool. See the module documentation.
#[derive(Debug)]
pub struct Pool {
    cfg: SnowballConfig,
    /// Waiting members in join order, with the driver's address for each (a node).
    waiting: Vec<(PublicKey, u32)>,
    /// Next check.
    next_check_ns: u64,
    /// Rounds started so far (the next round's number).
    rounds: u64,
}

impl Pool {
    /// An empty pool that first checks at `now_ns + cfg.pool_check_ns`.
    pub fn new(cfg: SnowballConfig, now_ns: u64) -> Pool {
        Pool {
            cfg,
            waiting: Vec::new(),
            next_check_ns: now_ns.saturating_add(cfg.pool_check_ns),
            rounds: 0,
        }
    }

    /// A member asks to join (again: ignored). Returns a round to start at once when the
    /// pool is full.
    pub fn join(&mut self, member: PublicKey, addr: u32) -> Option<(u64, Vec<(PublicKey, u32)>)> {
        if !self.waiting.iter().any(|(m, _)| *m == member) {
            self.waiting.push((member, addr));
        }
        (self.waiting.len() >= self.cfg.participants_max).then(|| self.start())
    }

    /// A member leaves the pool before its round started.
    pub fn leave(&mut self, member: &PublicKey) {
        self.waiting.retain(|(m, _)| m != member);
    }

    /// How many wait.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// When and why the pool wants to be woken.
    pub fn poll_timeout(&self) -> (u64, SnowballTimer) {
        (self.next_check_ns, SnowballTimer::PoolCheck)
    }

    /// The check: a round to start when enough members wait.
    pub fn handle_timeout(&mut self, now_ns: u64) -> Option<(u64, Vec<(PublicKey, u32)>)> {
        if now_ns < self.next_check_ns {
            return None;
        }
        self.next_check_ns = now_ns.saturating_add(self.cfg.pool_check_ns);
        (self.waiting.len() >= self.cfg.participants_min).then(|| self.start())
    }

    fn start(&mut self) -> (u64, Vec<(PublicKey, u32)>) {
        let take = self.waiting.len().min(self.cfg.participants_max);
        let members: Vec<_> = self.waiting.drain(..take).collect();
        let round = self.rounds;
        self.rounds += 1;
        (round, members)
    }
}
