//! Snowball rounds among several members (the sans-IO participant machines, driven by the
//! in-memory driver `snowball::sim`): success with 3, 5 and 20 members, what an observer
//! sees, exclusion of silent and cheating members, failure below 3, determinism.

use stegosim_node::api::message::SnowballState as S;
use stegosim_node::chain::tx::Transaction;
use stegosim_node::crypto::verify_sum;
use stegosim_node::snowball::sim::{Faults, RoundOutcome, run_round};
use stegosim_node::snowball::{SLOT_BYTES, SnowballConfig, SnowballMessage};

fn cfg() -> SnowballConfig {
    SnowballConfig::default()
}

/// Every member not in `out` succeeded with one and the same transaction, which holds the
/// outputs and inputs of exactly those members and is signed by the sum of their keys.
fn check_success(o: &RoundOutcome, out: &[usize]) -> Transaction {
    let mut tx: Option<Transaction> = None;
    for (i, m) in o.members.iter().enumerate() {
        if out.contains(&i) {
            continue;
        }
        let t = match &m.result {
            Some(Ok(t)) => t.clone(),
            other => panic!("member {i}: {other:?}"),
        };
        if let Some(prev) = &tx {
            assert_eq!(prev, &t, "every member ends with the same transaction");
        }
        tx = Some(t);
    }
    let tx = tx.expect("some member succeeded");
    let hashes: Vec<_> = tx.outputs.iter().map(|o| o.hash()).collect();
    let mut owners = Vec::new();
    for (i, m) in o.members.iter().enumerate() {
        let inside = !out.contains(&i);
        for h in &m.own_outputs {
            assert_eq!(hashes.contains(h), inside, "member {i}'s outputs");
        }
        for h in &m.inputs {
            assert_eq!(tx.inputs.contains(h), inside, "member {i}'s inputs");
        }
        if inside {
            owners.push(m.pkey);
        }
    }
    assert_eq!(tx.outputs.len(), 2 * owners.len());
    assert!(verify_sum(&owners, tx.hash().as_bytes(), &tx.signature).is_ok());
    tx
}

#[test]
fn rounds_of_3_5_and_20_succeed() {
    for n in [3, 5, 20] {
        let o = run_round(n, 1, cfg(), &Faults::default(), false);
        check_success(&o, &[]);
        for m in &o.members {
            assert_eq!(
                m.statuses,
                vec![
                    S::SharedKeying,
                    S::Commitment,
                    S::CloakedVals,
                    S::Signature,
                    S::Succeeded
                ]
            );
        }
        assert_eq!(o.end_ns, 0, "a round without faults needs no timeout");
    }
}

/// What an observer (any member) sees does not say whose the outputs are: the outputs are
/// ordered by hash, every cloaked matrix on its own shows none of the plain slots, and which
/// slot a member gets is not tied to its place in the member order.
#[test]
fn observers_cannot_link_outputs() {
    let n = 5;
    let o = run_round(n, 3, cfg(), &Faults::default(), true);
    let tx = check_success(&o, &[]);
    let hashes: Vec<_> = tx.outputs.iter().map(|o| o.hash()).collect();
    let mut sorted = hashes.clone();
    sorted.sort();
    assert_eq!(
        hashes, sorted,
        "outputs are in hash order, not member order"
    );
    // The plain matrix, from any member's view.
    let view = &o.members[0];
    let mut plain = vec![0u8; n * SLOT_BYTES];
    let mut own = None;
    for (_, msg) in &view.received {
        if let SnowballMessage::CloakedVals { matrix, .. } = msg {
            for (a, b) in plain.iter_mut().zip(matrix) {
                *a ^= *b;
            }
        }
    }
    // The observer XORs in its own matrix: it is the one it did not receive. Recover it by
    // noting that every received matrix alone has no slot equal to a plain slot.
    for (_, msg) in &view.received {
        if let SnowballMessage::CloakedVals { matrix, .. } = msg {
            for slot in matrix.chunks(SLOT_BYTES) {
                assert!(
                    slot.iter().filter(|b| **b == 0).count() < SLOT_BYTES / 8,
                    "a cloaked slot looks random, not like a mostly-zero payload"
                );
            }
            own = Some(matrix.len());
        }
    }
    assert_eq!(own, Some(n * SLOT_BYTES));
    // The member order does not fix the slot order: over seeds, the slot of member 0's
    // payment (position of its output in the decoded order) varies.
    let mut positions = std::collections::BTreeSet::new();
    for seed in 0..12 {
        let o = run_round(3, seed, cfg(), &Faults::default(), false);
        let tx = check_success(&o, &[]);
        let pos = tx
            .outputs
            .iter()
            .position(|x| x.hash() == o.members[0].own_outputs[0])
            .unwrap();
        positions.insert(pos);
    }
    assert!(positions.len() > 1);
}

#[test]
fn silent_member_in_each_phase_is_excluded() {
    for phase in [S::SharedKeying, S::Commitment, S::CloakedVals, S::Signature] {
        let faults = Faults {
            silent: [(1, phase)].into(),
            ..Faults::default()
        };
        let o = run_round(5, 4, cfg(), &faults, false);
        check_success(&o, &[1]);
        let st = &o.members[0].statuses;
        assert_eq!(st.last(), Some(&S::Succeeded), "{phase:?}: {st:?}");
        assert_eq!(o.end_ns, cfg().phase_timeout_ns, "{phase:?}: one timeout");
    }
}

#[test]
fn wrong_commitment_is_excluded() {
    let faults = Faults {
        wrong_commitment: vec![2],
        ..Faults::default()
    };
    let o = run_round(5, 5, cfg(), &faults, false);
    check_success(&o, &[2]);
    // Found without a timeout: the honest members restart once, at once.
    assert_eq!(
        o.members[0].statuses,
        vec![
            S::SharedKeying,
            S::Commitment,
            S::CloakedVals,
            S::SharedKeying,
            S::Commitment,
            S::CloakedVals,
            S::Signature,
            S::Succeeded
        ]
    );
}

#[test]
fn three_members_one_drops_all_fail() {
    let faults = Faults {
        silent: [(2, S::Commitment)].into(),
        ..Faults::default()
    };
    let o = run_round(3, 6, cfg(), &faults, false);
    for m in &o.members[..2] {
        assert!(matches!(m.result, Some(Err(_))), "{:?}", m.result);
        assert_eq!(m.statuses.last(), Some(&S::Failed));
        let e = m.result.clone().unwrap().unwrap_err().to_string();
        assert!(e.contains("2 participants left"), "{e}");
    }
}

#[test]
fn same_seed_same_round_byte_for_byte() {
    let a = run_round(5, 9, cfg(), &Faults::default(), true);
    let b = run_round(5, 9, cfg(), &Faults::default(), true);
    for (x, y) in a.members.iter().zip(&b.members) {
        assert_eq!(x.received, y.received);
        assert_eq!(x.result, y.result);
    }
    let c = run_round(5, 10, cfg(), &Faults::default(), false);
    assert_ne!(a.members[0].result, c.members[0].result);
}

#[test]
fn pool_starts_at_check_with_three_or_at_once_with_twenty() {
    use stegosim_node::crypto::Keypair;
    use stegosim_node::snowball::Pool;
    let key = |i: u8| *Keypair::from_seed([i; 32]).public();
    let c = cfg();
    let mut pool = Pool::new(c, 0);
    assert!(pool.join(key(1), 0).is_none());
    assert!(pool.join(key(2), 1).is_none());
    // Two at the check: nothing starts.
    assert!(pool.handle_timeout(c.pool_check_ns).is_none());
    assert!(pool.join(key(3), 2).is_none());
    assert!(pool.join(key(3), 2).is_none(), "joining twice counts once");
    // Not before the check.
    assert!(pool.handle_timeout(c.pool_check_ns + 1).is_none());
    let (round, members) = pool.handle_timeout(2 * c.pool_check_ns).unwrap();
    assert_eq!((round, members.len()), (0, 3));
    assert_eq!(pool.waiting(), 0);
    // Twenty: at once.
    let mut started = None;
    for i in 0..20u8 {
        started = pool.join(key(10 + i), u32::from(i));
    }
    let (round, members) = started.unwrap();
    assert_eq!((round, members.len()), (1, 20));
}

#[test]
fn jammer_is_found_by_secret_keying() {
    let faults = Faults {
        jam: vec![3],
        ..Faults::default()
    };
    let o = run_round(5, 11, cfg(), &faults, false);
    check_success(&o, &[3]);
    let st = &o.members[0].statuses;
    assert!(st.contains(&S::SecretKeying), "{st:?}");
    assert_eq!(st.last(), Some(&S::Succeeded));
    // The honest members restart once, without waiting for a deadline; the jammer (whose
    // own view decodes fine) is left waiting for signatures and fails at the deadline.
    assert_eq!(
        st,
        &vec![
            S::SharedKeying,
            S::Commitment,
            S::CloakedVals,
            S::SecretKeying,
            S::SharedKeying,
            S::Commitment,
            S::CloakedVals,
            S::Signature,
            S::Succeeded
        ]
    );
    assert_eq!(o.members[3].statuses.last(), Some(&S::Failed));
}
