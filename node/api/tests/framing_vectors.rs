//! Frames made by an independent implementation (pycryptodome, exactly as the seed's Python
//! example) must decode to their plaintext, and encoding the plaintext with the same IV must
//! give the same frame text, byte for byte.
//!
//! The vectors are a copy of the project's shared `vectors/framing.json`, kept in this
//! crate's `tests/vectors/` so a clone alone tests (compare with the shared file when it
//! changes), and are read at run time.

use serde::Deserialize;
use stegosim_api::frame::{FrameCodec, IV_BYTES};
use stegosim_api::token::ApiToken;

/// The vector file, inside this crate.
const VECTORS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/framing.json");

/// The vector file.
#[derive(Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

/// One frame made by the independent implementation.
#[derive(Deserialize)]
struct Vector {
    /// The API token, as the base64 text of an `api.token` file.
    token: String,
    /// The IV, 32 hex digits.
    iv_hex: String,
    /// The JSON text that was encrypted (UTF-8).
    plaintext: String,
    /// The frame text.
    frame: String,
}

fn parse_iv(iv_hex: &str) -> [u8; IV_BYTES] {
    assert_eq!(iv_hex.len(), 2 * IV_BYTES, "iv_hex {iv_hex:?}");
    let mut iv = [0u8; IV_BYTES];
    for (i, byte) in iv.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&iv_hex[2 * i..2 * i + 2], 16)
            .unwrap_or_else(|_| panic!("iv_hex {iv_hex:?} is not hex"));
    }
    iv
}

/// Where the 128-bit counter goes while encrypting `plaintext_bytes` bytes from `iv`.
#[derive(Debug, Default, PartialEq)]
struct Wraps {
    /// The low 64 bits overflow into the high half (the counter crosses a multiple of 2^64).
    past_2_64: bool,
    /// The whole counter wraps from 2^128 - 1 to 0.
    past_2_128: bool,
}

fn wraps(iv: [u8; IV_BYTES], plaintext_bytes: usize) -> Wraps {
    let start = u128::from_be_bytes(iv);
    let blocks_after_first = plaintext_bytes.div_ceil(IV_BYTES).saturating_sub(1) as u128;
    Wraps {
        past_2_64: (start as u64)
            .checked_add(blocks_after_first as u64)
            .is_none(),
        past_2_128: start.checked_add(blocks_after_first).is_none(),
    }
}

#[test]
fn independent_vectors_decode_and_encode_exactly() {
    let json = std::fs::read_to_string(VECTORS_PATH).unwrap_or_else(|error| {
        panic!("cannot read the framing vectors at {VECTORS_PATH}: {error}")
    });
    let file: VectorFile = serde_json::from_str(&json).expect("framing.json is valid");
    assert!(!file.vectors.is_empty(), "framing.json has no vectors");

    let mut checked = 0;
    let mut checked_past_2_64 = 0;
    let mut checked_past_2_128 = 0;
    let mut frame_text = String::new();
    let mut plaintext = Vec::new();
    for (index, vector) in file.vectors.iter().enumerate() {
        let token = ApiToken::from_base64(&vector.token).expect("vector token is valid");
        let codec = FrameCodec::new(&token);
        let iv = parse_iv(&vector.iv_hex);

        plaintext.clear();
        let plaintext_bytes = codec
            .decode_into(&vector.frame, &mut plaintext)
            .unwrap_or_else(|error| panic!("vector {index}: decode failed: {error}"));
        assert_eq!(plaintext_bytes, vector.plaintext.len(), "vector {index}");
        assert_eq!(
            plaintext,
            vector.plaintext.as_bytes(),
            "vector {index}: decoded plaintext"
        );
        codec
            .decode_json_object(&vector.frame)
            .unwrap_or_else(|error| panic!("vector {index}: not a JSON object: {error}"));

        frame_text.clear();
        codec.encode_into(vector.plaintext.as_bytes(), iv, &mut frame_text);
        assert_eq!(frame_text, vector.frame, "vector {index}: encoded frame");

        let wraps = wraps(iv, vector.plaintext.len());
        checked += 1;
        checked_past_2_64 += usize::from(wraps.past_2_64);
        checked_past_2_128 += usize::from(wraps.past_2_128);
    }

    assert_eq!(checked, file.vectors.len());
    assert!(
        checked_past_2_64 > 0,
        "no vector's counter crosses 2^64: the carry into the high half is untested"
    );
    assert!(
        checked_past_2_128 > 0,
        "no vector's counter wraps past 2^128: the wrap to zero is untested"
    );
    eprintln!(
        "checked {checked} vectors; {checked_past_2_64} cross 2^64, \
         {checked_past_2_128} wrap past 2^128"
    );
}

#[test]
fn wrap_detection_is_right() {
    let mut iv = [0u8; IV_BYTES];
    assert_eq!(wraps(iv, 1000), Wraps::default());
    iv[8..].fill(0xff);
    // One block from 2^64 - 1 stays below 2^64; a second block crosses it.
    assert_eq!(wraps(iv, 16), Wraps::default());
    assert!(wraps(iv, 17).past_2_64 && !wraps(iv, 17).past_2_128);
    iv.fill(0xff);
    assert!(wraps(iv, 17).past_2_128);
}
