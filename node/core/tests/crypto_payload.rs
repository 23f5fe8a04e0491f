//! Encrypted output payloads and payment certificates.

use stegosim_node::crypto::{
    PayloadError, Rvalue, SecretKey, decrypt_payload, decrypt_payload_with_rvalue, encrypt_payload,
};

#[test]
fn recipient_decrypts() {
    let recipient = SecretKey::from_seed([1; 32]);
    let r = Rvalue::from_seed([2; 32]);
    for plaintext in [&b""[..], b"x", &[7u8; 1000][..]] {
        let payload = encrypt_payload(&r, &recipient.public_key(), plaintext);
        assert_eq!(payload.ciphertext.len(), plaintext.len());
        assert_eq!(payload.r_point, r.point());
        assert_eq!(decrypt_payload(&recipient, &payload).unwrap(), plaintext);
    }
    let payload = encrypt_payload(&r, &recipient.public_key(), b"amount=10 comment=rent");
    assert_ne!(payload.ciphertext, b"amount=10 comment=rent");
}

#[test]
fn certificate_opens_with_rvalue() {
    let recipient = SecretKey::from_seed([3; 32]);
    let r = Rvalue::from_seed([4; 32]);
    let payload = encrypt_payload(&r, &recipient.public_key(), b"amount=10");
    // The rvalue as the API hands it out: 64 hex characters.
    let shown = r.to_string();
    assert_eq!(shown.len(), 64);
    let parsed: Rvalue = shown.parse().unwrap();
    assert_eq!(
        decrypt_payload_with_rvalue(&parsed, &recipient.public_key(), &payload).unwrap(),
        b"amount=10"
    );
}

#[test]
fn wrong_key_is_detected() {
    let recipient = SecretKey::from_seed([5; 32]);
    let other = SecretKey::from_seed([6; 32]);
    let payload = encrypt_payload(&Rvalue::from_seed([7; 32]), &recipient.public_key(), b"hi");
    assert_eq!(
        decrypt_payload(&other, &payload),
        Err(PayloadError::TagMismatch)
    );
}

#[test]
fn wrong_rvalue_is_detected() {
    let recipient = SecretKey::from_seed([8; 32]);
    let r = Rvalue::from_seed([9; 32]);
    let payload = encrypt_payload(&r, &recipient.public_key(), b"hi");
    // Another output's rvalue: r*G != R.
    assert_eq!(
        decrypt_payload_with_rvalue(
            &Rvalue::from_seed([10; 32]),
            &recipient.public_key(),
            &payload
        ),
        Err(PayloadError::WrongRvalue)
    );
    // The right rvalue but the wrong recipient named: the keys differ, the tag catches it.
    assert_eq!(
        decrypt_payload_with_rvalue(&r, &SecretKey::from_seed([11; 32]).public_key(), &payload),
        Err(PayloadError::TagMismatch)
    );
}

#[test]
fn tampering_is_detected() {
    let recipient = SecretKey::from_seed([12; 32]);
    let payload = encrypt_payload(&Rvalue::from_seed([13; 32]), &recipient.public_key(), b"10");

    let mut bad = payload.clone();
    bad.ciphertext[0] ^= 1;
    assert_eq!(
        decrypt_payload(&recipient, &bad),
        Err(PayloadError::TagMismatch)
    );

    let mut bad = payload.clone();
    bad.tag[15] ^= 1;
    assert_eq!(
        decrypt_payload(&recipient, &bad),
        Err(PayloadError::TagMismatch)
    );

    let mut bad = payload.clone();
    bad.ciphertext.push(0);
    assert_eq!(
        decrypt_payload(&recipient, &bad),
        Err(PayloadError::TagMismatch)
    );

    let mut bad = payload;
    bad.r_point = Rvalue::from_seed([14; 32]).point();
    assert_eq!(
        decrypt_payload(&recipient, &bad),
        Err(PayloadError::TagMismatch)
    );
}
