//! Password-sealed secret keys.

use stegosim_node::crypto::{
    EncryptedSecret, KdfParams, SealError, SecretKey, open_secret, seal_secret,
};

#[test]
fn seal_and_open_with_both_param_sets() {
    let sk = SecretKey::from_seed([1; 32]);
    for params in [KdfParams::simulation(), KdfParams::default()] {
        let sealed = seal_secret(&sk, "correct horse", [2; 16], [3; 12], params).unwrap();
        assert_eq!(sealed.kdf, params);
        assert_eq!(open_secret(&sealed, "correct horse"), Ok(sk.clone()));
        assert_eq!(
            open_secret(&sealed, "correct horsE"),
            Err(SealError::InvalidPassword)
        );
        assert_eq!(open_secret(&sealed, ""), Err(SealError::InvalidPassword));
    }
}

#[test]
fn default_params_are_owasp() {
    let p = KdfParams::default();
    assert_eq!(
        (p.memory_kib, p.iterations, p.parallelism),
        (19 * 1024, 2, 1)
    );
}

#[test]
fn sealed_key_survives_json() {
    let sk = SecretKey::from_seed([4; 32]);
    let sealed = seal_secret(&sk, "pw", [5; 16], [6; 12], KdfParams::simulation()).unwrap();
    let json = serde_json::to_string(&sealed).unwrap();
    assert!(
        json.contains("\"salt\":\"05050505050505050505050505050505\""),
        "{json}"
    );
    let back: EncryptedSecret = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sealed);
    assert_eq!(open_secret(&back, "pw"), Ok(sk));
}

#[test]
fn altered_salt_or_ciphertext_reads_as_wrong_password() {
    let sk = SecretKey::from_seed([7; 32]);
    let sealed = seal_secret(&sk, "pw", [8; 16], [9; 12], KdfParams::simulation()).unwrap();
    let mut bad = sealed.clone();
    bad.salt[0] ^= 1;
    assert_eq!(open_secret(&bad, "pw"), Err(SealError::InvalidPassword));
    let mut bad = sealed;
    bad.ciphertext[0] ^= 1;
    assert_eq!(open_secret(&bad, "pw"), Err(SealError::InvalidPassword));
}
