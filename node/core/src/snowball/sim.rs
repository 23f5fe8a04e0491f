//! A deterministic in-memory driver for one Snowball round among [`Participant`]s: delivers
//! broadcasts in one global FIFO order and jumps virtual time to the next deadline when no
//! message is in flight. Faults: a member that goes silent from a phase on, a member whose
//! commitment is corrupted. For tests and the benchmark.

use std::collections::{BTreeMap, VecDeque};

use crate::api::message::SnowballState;
use crate::chain::tx::{PaymentPayload, Transaction};
use crate::crypto::{Hash, Keypair, PublicKey};
use crate::rng::Seed;

use super::{
    Contribution, InputRef, Participant, SnowballConfig, SnowballError, SnowballMessage,
    SnowballOutput, matrix_hash,
};

/// Most messages one simulated round delivers before it is declared stuck.
const DELIVERIES_MAX: usize = 10_000_000;

/// The order of phases, for "silent from this phase on".
fn phase_rank(s: SnowballState) -> u8 {
    match s {
        SnowballState::PoolWait => 0,
        SnowballState::SharedKeying => 1,
        SnowballState::Commitment => 2,
        SnowballState::CloakedVals => 3,
        SnowballState::SecretKeying => 4,
        SnowballState::Signature => 5,
        SnowballState::Succeeded | SnowballState::Failed => 6,
    }
}

/// Faults to inject.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Members (by index) that send nothing from this phase on.
    pub silent: BTreeMap<usize, SnowballState>,
    /// Members (by index) whose commitment is replaced by a wrong hash (first attempt only).
    pub wrong_commitment: Vec<usize>,
    /// Members (by index) that jam the DC-net in the first attempt: they flip a byte of
    /// their cloaked matrix and commit to the flipped matrix, so the commitment checks
    /// pass but the mixed outputs are garbage (found by secret_keying).
    pub jam: Vec<usize>,
}

/// What one member saw of the round.
#[derive(Debug, Clone)]
pub struct MemberView {
    /// The member's account key.
    pub pkey: PublicKey,
    /// Its contribution's outputs, by hash.
    pub own_outputs: Vec<Hash>,
    /// Its inputs.
    pub inputs: Vec<Hash>,
    /// Every status it went through.
    pub statuses: Vec<SnowballState>,
    /// Every message it received (for what an observer sees).
    pub received: Vec<(PublicKey, SnowballMessage)>,
    /// The result.
    pub result: Option<Result<Transaction, SnowballError>>,
}

/// The outcome of a simulated round.
#[derive(Debug)]
pub struct RoundOutcome {
    /// Per member, in index order.
    pub members: Vec<MemberView>,
    /// Virtual time at the end.
    pub end_ns: u64,
    /// Messages delivered.
    pub deliveries: usize,
}

/// Builds `n` members, each paying 100 to a shared recipient with change, and runs one
/// round. `keep_received` records every message (costly for large `n`).
pub fn run_round(
    n: usize,
    seed: u64,
    cfg: SnowballConfig,
    faults: &Faults,
    keep_received: bool,
) -> RoundOutcome {
    let root = Seed(seed);
    let recipient = *Keypair::from_seed(root.child("recipient", 0).stream("k").bytes32()).public();
    let fee_per_output = 10;
    let mut parts = Vec::with_capacity(n);
    let mut views = Vec::with_capacity(n);
    let keys: Vec<Keypair> = (0..n)
        .map(|i| Keypair::from_seed(root.child("member", i as u64).stream("key").bytes32()))
        .collect();
    let pkeys: Vec<PublicKey> = keys.iter().map(|k| *k.public()).collect();
    let index: BTreeMap<PublicKey, usize> =
        pkeys.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    for (i, key) in keys.iter().enumerate() {
        let mut rng = root.child("member", i as u64).stream("snowball");
        let amount = 1_000 + i as i64;
        let input = InputRef {
            hash: Hash(rng.bytes32()),
            owner: *key.public(),
            amount,
        };
        let pay = PaymentPayload {
            amount: 100,
            comment: String::new(),
            spender: Some(*key.public()),
            rvalue_hint: false,
        }
        .into_output(&recipient, None, rng.bytes32());
        let change = PaymentPayload {
            amount: amount - 100 - 2 * fee_per_output,
            comment: "Change".into(),
            spender: Some(*key.public()),
            rvalue_hint: false,
        }
        .into_output(key.public(), None, rng.bytes32());
        let contribution = Contribution {
            inputs: vec![input],
            input_secrets: vec![key.secret().clone()],
            outputs: vec![pay, change],
            fee: 2 * fee_per_output,
        };
        views.push(MemberView {
            pkey: *key.public(),
            own_outputs: contribution.outputs.iter().map(|o| o.hash()).collect(),
            inputs: vec![input.hash],
            statuses: Vec::new(),
            received: Vec::new(),
            result: None,
        });
        parts.push(Participant::new(
            cfg,
            7,
            *key.public(),
            pkeys.iter().copied(),
            contribution,
            rng,
            0,
        ));
    }
    let mut queue: VecDeque<(usize, usize, SnowballMessage)> = VecDeque::new();
    let mut now_ns = 0u64;
    let mut deliveries = 0usize;
    let drain = |i: usize,
                 parts: &mut Vec<Participant>,
                 views: &mut Vec<MemberView>,
                 queue: &mut VecDeque<(usize, usize, SnowballMessage)>| {
        while let Some(o) = parts[i].poll_output() {
            match o {
                SnowballOutput::Broadcast { to, mut msg } => {
                    if faults
                        .silent
                        .get(&i)
                        .is_some_and(|p| phase_rank(msg.phase()) >= phase_rank(*p))
                    {
                        continue;
                    }
                    if let SnowballMessage::Commitment {
                        attempt: 0,
                        commitment,
                        ..
                    } = &mut msg
                    {
                        if faults.wrong_commitment.contains(&i) {
                            *commitment = Hash([7; 32]);
                        } else if faults.jam.contains(&i) {
                            let mut m = parts[i]
                                .cloaked_matrix()
                                .expect("made before the commitment")
                                .to_vec();
                            m[0] ^= 0x5a;
                            *commitment = matrix_hash(&m);
                        }
                    }
                    if let SnowballMessage::CloakedVals {
                        attempt: 0, matrix, ..
                    } = &mut msg
                        && faults.jam.contains(&i)
                    {
                        matrix[0] ^= 0x5a;
                    }
                    for m in &to {
                        let j = index[m];
                        if j != i {
                            queue.push_back((i, j, msg.clone()));
                        }
                    }
                }
                SnowballOutput::Status(s) => views[i].statuses.push(s),
                SnowballOutput::Excluded(_) => {}
                SnowballOutput::Finished(r) => views[i].result = Some(r),
            }
        }
    };
    for i in 0..n {
        drain(i, &mut parts, &mut views, &mut queue);
    }
    loop {
        if let Some((from, to, msg)) = queue.pop_front() {
            deliveries += 1;
            assert!(deliveries < DELIVERIES_MAX, "a simulated round is stuck");
            if keep_received {
                views[to].received.push((pkeys[from], msg.clone()));
            }
            parts[to].handle_message(now_ns, pkeys[from], msg);
            drain(to, &mut parts, &mut views, &mut queue);
            continue;
        }
        // Silent members are left out: they would time out on their own.
        let next = parts
            .iter()
            .enumerate()
            .filter(|(i, _)| !faults.silent.contains_key(i))
            .filter_map(|(_, p)| p.poll_timeout())
            .map(|(t, _)| t)
            .min();
        let Some(t) = next else { break };
        now_ns = now_ns.max(t);
        for i in 0..n {
            if faults.silent.contains_key(&i) {
                continue;
            }
            parts[i].handle_timeout(now_ns);
            drain(i, &mut parts, &mut views, &mut queue);
        }
    }
    RoundOutcome {
        members: views,
        end_ns: now_ns,
        deliveries,
    }
}
