//! Bech32 addresses: round trips and every way decoding refuses a string.

use bech32::{Bech32, Bech32m, ByteIterExt, Fe32, Fe32IterExt, Hrp};
use stegosim_node::crypto::{AddressError, KeyError, Network, PublicKey, SecretKey, address};

fn key() -> PublicKey {
    SecretKey::from_seed([42; 32]).public_key()
}

#[test]
fn round_trip() {
    let pk = key();
    let s = pk.to_bech32(Network::Dev);
    assert!(s.starts_with("dev1"));
    assert_eq!(s.len(), 3 + 1 + 52 + 6);
    assert_eq!(PublicKey::from_bech32(&s, Network::Dev), Ok(pk));
}

#[test]
fn bad_checksum() {
    let s = key().to_bech32(Network::Dev);
    // Change one data character to another letter of the alphabet.
    let mut chars: Vec<char> = s.chars().collect();
    chars[10] = if chars[10] == 'q' { 'p' } else { 'q' };
    let typo: String = chars.into_iter().collect();
    assert_eq!(
        PublicKey::from_bech32(&typo, Network::Dev),
        Err(AddressError::BadChecksum)
    );
}

#[test]
fn bech32m_is_refused() {
    let hrp = Hrp::parse("dev").unwrap();
    let m = bech32::encode::<Bech32m>(hrp, key().as_bytes()).unwrap();
    assert_eq!(
        PublicKey::from_bech32(&m, Network::Dev),
        Err(AddressError::BadChecksum)
    );
}

#[test]
fn wrong_prefix_names_both() {
    let s = key().to_bech32(Network::Mainnet);
    let err = PublicKey::from_bech32(&s, Network::Dev).unwrap_err();
    assert_eq!(
        err,
        AddressError::WrongPrefix {
            expected: "dev",
            found: "stg".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "wrong address prefix: expected \"dev\", found \"stg\""
    );
}

#[test]
fn wrong_length() {
    let hrp = Hrp::parse("dev").unwrap();
    for len in [0usize, 31, 33, 64] {
        let s = bech32::encode::<Bech32>(hrp, &vec![7u8; len]).unwrap();
        assert_eq!(
            address::decode(&s, Network::Dev),
            Err(AddressError::WrongLength { found: len }),
            "{len} bytes"
        );
    }
}

#[test]
fn not_a_curve_point() {
    // 0xff.. is not a canonical field element, so decompression fails.
    let s = address::encode(Network::Dev, &[0xff; 32]);
    assert_eq!(address::decode(&s, Network::Dev), Ok([0xff; 32]));
    let err = PublicKey::from_bech32(&s, Network::Dev).unwrap_err();
    assert_eq!(err, AddressError::InvalidKey(KeyError::InvalidPoint));
    assert_eq!(
        err.to_string(),
        "not a valid public key: public key bytes are not a valid Ristretto255 point"
    );
    // The identity encodes fine but is refused as a key.
    let s = address::encode(Network::Dev, &[0; 32]);
    assert_eq!(
        PublicKey::from_bech32(&s, Network::Dev),
        Err(AddressError::InvalidKey(KeyError::IdentityPoint))
    );
}

#[test]
fn non_zero_padding() {
    // 32 bytes are 52 five-bit groups with 4 spare bits; set one and re-checksum.
    let hrp = Hrp::parse("dev").unwrap();
    let mut fes: Vec<Fe32> = key().as_bytes().iter().copied().bytes_to_fes().collect();
    assert_eq!(fes.len(), 52);
    let last = fes[51].to_u8() | 1;
    fes[51] = Fe32::try_from(last).unwrap();
    let s: String = fes
        .into_iter()
        .with_checksum::<Bech32>(&hrp)
        .chars()
        .collect();
    assert_eq!(
        address::decode(&s, Network::Dev),
        Err(AddressError::BadPadding)
    );
}

#[test]
fn malformed() {
    for s in [
        "",
        "dev",
        "dev1",
        "DEV1abc",
        "dev1bio",
        "dev1qqqqqqqq\u{e9}",
    ] {
        assert!(
            matches!(
                address::decode(s, Network::Dev),
                Err(AddressError::Malformed(_) | AddressError::BadChecksum)
            ),
            "{s:?}: {:?}",
            address::decode(s, Network::Dev)
        );
    }
    let mixed = key().to_bech32(Network::Dev).replacen('q', "Q", 1);
    if mixed.contains('Q') {
        assert!(matches!(
            address::decode(&mixed, Network::Dev),
            Err(AddressError::Malformed(_))
        ));
    }
}
