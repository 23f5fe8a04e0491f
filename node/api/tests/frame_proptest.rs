//! Property tests of the frame codec: round trips for any key, IV and object-shaped
//! plaintext (IVs near the 2^64 and 2^128 counter wraps included), and no panic on any input.

use base64::Engine as _;
use proptest::prelude::*;
use stegosim_api::frame::{FRAME_BYTES_MIN, FrameCodec, FrameError, IV_BYTES};

/// IVs of every kind, weighted towards those whose counter wraps within a few blocks.
fn iv() -> impl Strategy<Value = [u8; IV_BYTES]> {
    let near_2_128 = (0u128..64).prop_map(|below| u128::MAX - below);
    let near_2_64 = (any::<u64>(), 0u64..64)
        .prop_map(|(high, below)| (u128::from(high) << 64) | u128::from(u64::MAX - below));
    prop_oneof![
        2 => any::<[u8; IV_BYTES]>(),
        1 => near_2_128.prop_map(u128::to_be_bytes),
        1 => near_2_64.prop_map(u128::to_be_bytes),
    ]
}

/// JSON whitespace, possibly empty.
fn json_whitespace() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(&b" \t\r\n"[..]), 0..4)
}

/// Plaintext that passes the codec's cheap check: optional whitespace, `{`, any bytes, `}`,
/// optional whitespace. Sizes up to a few encoding chunks.
fn object_shaped() -> impl Strategy<Value = Vec<u8>> {
    (
        json_whitespace(),
        prop::collection::vec(any::<u8>(), 0..10_000),
        json_whitespace(),
    )
        .prop_map(|(lead, body, trail)| {
            let mut plaintext = lead;
            plaintext.push(b'{');
            plaintext.extend_from_slice(&body);
            plaintext.push(b'}');
            plaintext.extend_from_slice(&trail);
            plaintext
        })
}

/// Text near base64: mostly alphabet and padding, sometimes whitespace or other characters.
fn base64_like_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9+/]{0,40}(|=|==)",
        "[A-Za-z0-9+/=]{0,48}",
        "[A-Za-z0-9+/= \n\t_-]{0,48}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip(key in any::<[u8; 16]>(), iv in iv(), plaintext in object_shaped()) {
        let codec = FrameCodec::from_key_bytes(&key);
        let frame = codec.encode(&plaintext, iv);
        prop_assert_eq!(frame.len(), FrameCodec::frame_text_bytes(plaintext.len()));

        let mut out = vec![7u8; 3];
        let plaintext_bytes = codec.decode_into(&frame, &mut out).unwrap();
        prop_assert_eq!(plaintext_bytes, plaintext.len());
        prop_assert_eq!(&out[..3], &[7u8; 3]);
        prop_assert_eq!(&out[3..], plaintext.as_slice());

        // The IV travels in clear at the front, as the reference base64 decoder sees it.
        let raw = base64::engine::general_purpose::STANDARD.decode(&frame).unwrap();
        prop_assert_eq!(&raw[..IV_BYTES], &iv);
    }

    #[test]
    fn any_bytes_decode_without_panic(key in any::<[u8; 16]>(), bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let codec = FrameCodec::from_key_bytes(&key);
        let mut out = b"keep".to_vec();
        match codec.decode_into(&bytes, &mut out) {
            Ok(n) => prop_assert_eq!(out.len(), 4 + n),
            Err(_) => prop_assert_eq!(out.as_slice(), b"keep"),
        }
    }

    #[test]
    fn any_text_decode_without_panic(key in any::<[u8; 16]>(), text in any::<String>()) {
        let codec = FrameCodec::from_key_bytes(&key);
        let _ = codec.decode(&text);
        let _ = codec.decode_json_object(&text);
    }

    /// The codec accepts exactly the texts a reference base64 decoder (the `base64` crate's
    /// strict STANDARD engine) accepts, and sorts what it accepts by decoded length.
    #[test]
    fn base64_verdict_matches_reference(key in any::<[u8; 16]>(), text in base64_like_text()) {
        let codec = FrameCodec::from_key_bytes(&key);
        let result = codec.decode(&text);
        match base64::engine::general_purpose::STANDARD.decode(&text) {
            Err(_) => prop_assert_eq!(result, Err(FrameError::NotBase64)),
            Ok(raw) if raw.len() < FRAME_BYTES_MIN => {
                prop_assert_eq!(result, Err(FrameError::TooShort { frame_bytes: raw.len() }));
            }
            Ok(_) => prop_assert!(
                matches!(result, Ok(_) | Err(FrameError::NotJsonObject)),
                "{:?}", result
            ),
        }
    }

    #[test]
    fn wrong_key_is_not_json_object_or_rare_garbage(
        key in any::<[u8; 16]>(),
        other_key in any::<[u8; 16]>(),
        iv in iv(),
        plaintext in object_shaped(),
    ) {
        prop_assume!(key != other_key);
        let frame = FrameCodec::from_key_bytes(&key).encode(&plaintext, iv);
        match FrameCodec::from_key_bytes(&other_key).decode(&frame) {
            Err(error) => prop_assert_eq!(error.code(), "not_json_object"),
            // About one wrong key in 2^16 yields garbage that passes the cheap check; it is
            // never the plaintext.
            Ok(garbage) => prop_assert_ne!(garbage, plaintext),
        }
    }

    #[test]
    fn size_limit_is_checked_on_text_length(limit in 0usize..64, text in base64_like_text()) {
        let codec = FrameCodec::from_key_bytes(&[1; 16]).with_frame_bytes_max(limit);
        let result = codec.decode(&text);
        if text.len() > limit {
            prop_assert_eq!(result, Err(FrameError::TooLarge { frame_text_bytes: text.len(), frame_bytes_max: limit }));
        } else {
            let too_large = matches!(result, Err(FrameError::TooLarge { .. }));
            prop_assert!(!too_large, "{:?}", result);
        }
    }
}
