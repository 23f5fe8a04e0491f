//! The recovery test vectors (a copy of the project's shared `vectors/recovery.json`, kept in
//! `tests/vectors/` so a clone alone tests), decoded by reference implementations: the seed
//! document's recovery phrase and public address.

use stegosim_node::crypto::{
    Network, PublicKey, RecoveryError, SecretKey, address, from_phrase, to_phrase,
};

/// The vectors file, read at run time.
fn vectors() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/recovery.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).expect("recovery.json is JSON")
}

fn hex32(s: &str) -> [u8; 32] {
    assert_eq!(s.len(), 64, "{s}");
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

#[test]
fn recovery_phrase_vectors() {
    let v = vectors();
    let cases = v["recovery"].as_array().expect("recovery array");
    assert!(!cases.is_empty());
    for case in cases {
        let phrase = case["phrase"].as_str().expect("phrase");
        let secret = hex32(case["secret_key_hex"].as_str().expect("secret_key_hex"));
        assert_eq!(case["checksum_ok"], true);
        assert_eq!(from_phrase(phrase), Ok(secret));
        assert_eq!(to_phrase(&secret), phrase);
        // The vector's key is a valid secret key, and survives the key type.
        let sk = SecretKey::from_bytes(secret).expect("the vector is a canonical scalar");
        assert_eq!(*sk.to_bytes(), secret);
    }
}

#[test]
fn recovery_phrase_tolerates_spacing_and_case() {
    let v = vectors();
    let phrase = v["recovery"][0]["phrase"].as_str().expect("phrase");
    let secret = hex32(v["recovery"][0]["secret_key_hex"].as_str().expect("hex"));
    let messy = format!("  {}\n", phrase.to_uppercase().replace(' ', " \t\n  "));
    assert_eq!(from_phrase(&messy), Ok(secret));
}

#[test]
fn recovery_phrase_errors_name_the_problem() {
    let v = vectors();
    let phrase = v["recovery"][0]["phrase"].as_str().expect("phrase");
    let words: Vec<&str> = phrase.split(' ').collect();

    let short = words[..23].join(" ");
    assert_eq!(
        from_phrase(&short),
        Err(RecoveryError::WrongWordCount { found: 23 })
    );
    assert_eq!(
        from_phrase(""),
        Err(RecoveryError::WrongWordCount { found: 0 })
    );
    let long = format!("{phrase} abandon");
    assert_eq!(
        from_phrase(&long),
        Err(RecoveryError::WrongWordCount { found: 25 })
    );

    let mut bad = words.clone();
    bad[6] = "Smal";
    let err = from_phrase(&bad.join(" ")).unwrap_err();
    assert_eq!(
        err,
        RecoveryError::UnknownWord {
            word: "smal".into(),
            position: 7
        }
    );
    assert_eq!(
        err.to_string(),
        "word 7 (\"smal\") is not in the BIP-39 English word list"
    );

    // Two words swapped: every word is known, the checksum catches it.
    let mut swapped = words.clone();
    swapped.swap(0, 1);
    assert_eq!(
        from_phrase(&swapped.join(" ")),
        Err(RecoveryError::BadChecksum)
    );
}

#[test]
fn bech32_address_vector() {
    let v = vectors();
    for case in v["addresses"].as_array().expect("addresses array") {
        let s = case["bech32"].as_str().expect("bech32");
        let data = hex32(case["data_hex"].as_str().expect("data_hex"));
        let network = Network::from_prefix(case["hrp"].as_str().expect("hrp")).expect("known");
        assert_eq!(address::decode(s, network), Ok(data));
        assert_eq!(address::encode(network, &data), s);
        // The original's key bytes happen to be a valid Ristretto255 encoding too.
        let pk = PublicKey::from_bech32(s, network).expect("a valid point");
        assert_eq!(pk.as_bytes(), &data);
        assert_eq!(pk.to_bech32(network), s);
    }
}
