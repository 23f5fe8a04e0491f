//! Schnorr signatures: single, tampered, and joint (Snowball's shared transaction).

use stegosim_node::crypto::{
    JointSigning, Keypair, NonceCommitment, NonceSecret, PartialSignature, PublicKey, SecretKey,
    Signature, SignatureError, sign, verify,
};

fn keypair(i: u8) -> Keypair {
    Keypair::from_seed([i; 32])
}

#[test]
fn sign_and_verify() {
    let kp = keypair(1);
    let sig = sign(kp.secret(), b"transaction");
    assert_eq!(verify(kp.public(), b"transaction", &sig), Ok(()));
    // Deterministic: the same key and message give the same signature.
    assert_eq!(sig, kp.sign(b"transaction"));
    assert_ne!(sig, kp.sign(b"other"));
}

#[test]
fn tampered_message_key_or_signature_fails() {
    let kp = keypair(2);
    let msg = b"pay 10 to dev1...";
    let sig = kp.sign(msg);

    assert_eq!(
        verify(kp.public(), b"pay 11 to dev1...", &sig),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(keypair(3).public(), msg, &sig),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(kp.public(), b"", &sig),
        Err(SignatureError::Mismatch)
    );

    let bytes = sig.to_bytes();
    for i in [0, 17, 31, 32, 40, 62] {
        let mut bad = bytes;
        bad[i] ^= 0x01;
        assert!(
            verify(kp.public(), msg, &Signature::from_bytes(bad)).is_err(),
            "flipped byte {i}"
        );
    }
    assert!(verify(kp.public(), msg, &Signature::from_bytes([0; 64])).is_err());
}

/// Runs the whole joint protocol with `n` signers and checks the result.
fn joint(n: u8) {
    let msg = format!("joint transaction of {n}");
    let signers: Vec<Keypair> = (0..n).map(|i| keypair(100 + i)).collect();
    let keys: Vec<PublicKey> = signers.iter().map(|k| *k.public()).collect();

    // Round 1: each signer draws a nonce and publishes its commitment.
    let nonces: Vec<NonceSecret> = signers
        .iter()
        .enumerate()
        .map(|(i, k)| NonceSecret::derive(k.secret(), [i as u8; 32]))
        .collect();
    let commitments: Vec<NonceCommitment> = nonces.iter().map(NonceSecret::commitment).collect();

    // Round 2: everyone builds the same session and signs their share.
    let session = JointSigning::new(&keys, &commitments, msg.as_bytes()).unwrap();
    let partials: Vec<PartialSignature> = signers
        .iter()
        .zip(nonces)
        .map(|(k, nonce)| session.sign_partial(k.secret(), nonce))
        .collect();
    for ((key, commitment), partial) in keys.iter().zip(&commitments).zip(&partials) {
        assert_eq!(session.verify_partial(key, commitment, partial), Ok(()));
    }

    let sig = session.combine(&partials);
    let key_sum = PublicKey::sum(&keys).unwrap();
    assert_eq!(session.public_key_sum(), key_sum);
    assert_eq!(verify(&key_sum, msg.as_bytes(), &sig), Ok(()));
    // Not a signature by any single signer, nor on another message.
    assert!(verify(&keys[0], msg.as_bytes(), &sig).is_err());
    assert!(verify(&key_sum, b"another", &sig).is_err());

    // Signers may list keys and commitments in any order.
    let mut rev_keys = keys.clone();
    rev_keys.reverse();
    let mut rev_commitments = commitments.clone();
    rev_commitments.reverse();
    let again = JointSigning::new(&rev_keys, &rev_commitments, msg.as_bytes()).unwrap();
    assert_eq!(again.combine(&partials), sig);
}

#[test]
fn joint_signature_of_3() {
    joint(3);
}

#[test]
fn joint_signature_of_20() {
    joint(20);
}

#[test]
fn bad_share_is_caught_and_names_its_signer() {
    let signers: Vec<Keypair> = (0..3).map(|i| keypair(200 + i)).collect();
    let keys: Vec<PublicKey> = signers.iter().map(|k| *k.public()).collect();
    let nonces: Vec<NonceSecret> = signers
        .iter()
        .map(|k| NonceSecret::derive(k.secret(), [9; 32]))
        .collect();
    let commitments: Vec<NonceCommitment> = nonces.iter().map(NonceSecret::commitment).collect();
    let session = JointSigning::new(&keys, &commitments, b"tx").unwrap();
    let mut partials: Vec<PartialSignature> = signers
        .iter()
        .zip(nonces)
        .map(|(k, n)| session.sign_partial(k.secret(), n))
        .collect();
    // Signer 1 signs with a key that is not theirs.
    let stranger = SecretKey::from_seed([250; 32]);
    partials[1] = session.sign_partial(&stranger, NonceSecret::derive(&stranger, [1; 32]));

    let bad: Vec<usize> = (0..3)
        .filter(|&i| {
            session
                .verify_partial(&keys[i], &commitments[i], &partials[i])
                .is_err()
        })
        .collect();
    assert_eq!(bad, vec![1]);
    let sig = session.combine(&partials);
    assert_eq!(
        verify(&session.public_key_sum(), b"tx", &sig),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn degenerate_sessions() {
    let c = NonceSecret::derive(keypair(1).secret(), [0; 32]).commitment();
    assert_eq!(
        JointSigning::new(&[], [&c], b"tx").unwrap_err(),
        SignatureError::DegenerateKeySum
    );
}

#[test]
fn wire_encodings() {
    let kp = keypair(5);
    let nonce = NonceSecret::derive(kp.secret(), [5; 32]);
    let c = nonce.commitment();
    assert_eq!(NonceCommitment::from_bytes(c.to_bytes()), Ok(c));
    let session = JointSigning::new([kp.public()], [&c], b"m").unwrap();
    let p = session.sign_partial(kp.secret(), nonce);
    assert_eq!(PartialSignature::from_bytes(p.to_bytes()), Ok(p));
    assert_eq!(
        PartialSignature::from_bytes([0xff; 32]),
        Err(SignatureError::NonCanonical)
    );
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<PartialSignature>(&json).unwrap(), p);
    // A single signer's joint signature is an ordinary signature.
    assert_eq!(kp.public().verify(b"m", &session.combine([&p])), Ok(()));
    assert!(format!("{:?}", NonceSecret::derive(kp.secret(), [6; 32])).contains("redacted"));
}
