//! Properties: parsers never panic on any input, and signatures round-trip for any key and
//! message.

use proptest::prelude::*;
use stegosim_node::crypto::{
    Hash, Keypair, Network, PublicKey, Rvalue, SecretKey, address, from_phrase, sign, to_phrase,
    verify,
};

proptest! {
    #[test]
    fn parsers_never_panic(s in any::<String>()) {
        let _ = from_phrase(&s);
        let _ = s.parse::<Hash>();
        let _ = s.parse::<Rvalue>();
        for n in Network::ALL {
            let _ = address::decode(&s, n);
            let _ = PublicKey::from_bech32(&s, n);
        }
    }

    /// Strings that look like addresses or phrases reach the deeper checks.
    #[test]
    fn near_misses_never_panic(
        tail in "[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{0,70}",
        words in prop::collection::vec("[a-z]{3,8}", 0..30),
    ) {
        let _ = address::decode(&format!("dev1{tail}"), Network::Dev);
        let _ = from_phrase(&words.join(" "));
    }

    #[test]
    fn phrase_round_trips(bytes in any::<[u8; 32]>()) {
        prop_assert_eq!(from_phrase(&to_phrase(&bytes)), Ok(bytes));
    }

    #[test]
    fn bech32_round_trips(bytes in any::<[u8; 32]>()) {
        let s = address::encode(Network::Testnet, &bytes);
        prop_assert_eq!(address::decode(&s, Network::Testnet), Ok(bytes));
    }
}

proptest! {
    // Each case costs a key, a signature and three verifications: keep the count modest.
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn sign_verify_round_trips(
        seed in any::<[u8; 32]>(),
        msg in prop::collection::vec(any::<u8>(), 0..256),
        other_seed in any::<[u8; 32]>(),
    ) {
        let kp = Keypair::from_seed(seed);
        let sig = sign(kp.secret(), &msg);
        prop_assert_eq!(verify(kp.public(), &msg, &sig), Ok(()));
        prop_assert_eq!(kp.sign(&msg), sig);

        let mut other_msg = msg.clone();
        other_msg.push(0);
        prop_assert!(verify(kp.public(), &other_msg, &sig).is_err());
        if other_seed != seed {
            let other = SecretKey::from_seed(other_seed).public_key();
            prop_assert!(verify(&other, &msg, &sig).is_err());
        }
    }
}
