//! The encrypted framing of every API message.
//!
//! Every WebSocket text frame, in both directions, is
//! `base64_standard_padded(IV[16] || AES-128-CTR(key = API token, counter = IV)(json))`
//! (`PROTOCOL.md`, "Transport and framing"). The IV is the whole initial 128-bit counter
//! block, read as one big-endian integer, so the counter may wrap past 2^64 and 2^128 inside
//! one message, exactly as the seed's Python example (pycryptodome `Counter.new(128, ...)`)
//! does.
//!
//! [`FrameCodec`] is built once per key and turns plaintext into frame text and back:
//!
//! - **Encoding** never fails. The caller passes the IV in, so the simulator can draw it from a
//!   seeded generator and reproduce a run byte for byte; the real node draws it from the OS.
//!   The frame text is appended to a caller-owned `String` or `Vec<u8>`, so a connection
//!   that reuses its buffer allocates nothing per frame in steady state.
//! - **Decoding** never panics. A frame that is too long, not canonical base64, too short,
//!   or does not decrypt to something shaped like a JSON object comes back as a typed
//!   [`FrameError`] with a stable [`FrameError::code`]. AES-CTR has no integrity check, so a
//!   wrong key and a corrupt frame look alike: the only signal is that the plaintext is not a
//!   JSON object. The check here is deliberately cheap (first and last non-whitespace bytes
//!   are `{` and `}`); the JSON parser of the message layer does the full validation, and
//!   [`FrameCodec::decode_json_object`] does it with `serde_json` for debugging tools.
//!
//! # Example
//! ```
//! use stegosim_api::frame::FrameCodec;
//!
//! let codec = FrameCodec::from_key_bytes(&[7; 16]);
//! let iv = [0xff; 16]; // from a seeded generator in the simulator, from the OS in the node
//! let frame_text = codec.encode(br#"{"type":"status_info"}"#, iv);
//! let plaintext = codec.decode(&frame_text).expect("our own frame decodes");
//! assert_eq!(plaintext, br#"{"type":"status_info"}"#);
//! ```
//!
//! # Speed
//! The AES key schedule is expanded once, in [`FrameCodec::new`]; a frame only builds a
//! counter on the stack that borrows it. AES runs on AES-NI when the CPU has it (the `aes`
//! crate detects it at run time) and base64 on SIMD (`base64-simd`, also detected at run
//! time). Encoding encrypts through a small stack buffer straight into base64; decoding
//! decodes base64 straight into the caller's buffer and decrypts in place.

use aes::Aes128Enc;
use aes::cipher::{InnerIvInit, KeyInit, StreamCipher, StreamCipherCoreWrapper};
use base64_simd::{AsOut, STANDARD as BASE64};
use ctr::CtrCore;
use ctr::flavors::Ctr128BE;
use std::fmt;

use super::message::{MessageError, Request, ServerMessage};
use super::token::ApiToken;

/// Length of the IV that opens every frame, in bytes. It is also the AES block length: the IV
/// is the whole first counter block.
pub const IV_BYTES: usize = 16;

/// The shortest plaintext a frame may carry, in bytes: the smallest JSON object is `{}`.
pub const PLAINTEXT_BYTES_MIN: usize = 2;

/// The shortest frame after base64 decoding, in bytes: an IV and the smallest JSON object.
/// The original node could crash on frames shorter than the IV; this bound is checked
/// before anything is decrypted.
pub const FRAME_BYTES_MIN: usize = IV_BYTES + PLAINTEXT_BYTES_MIN;

/// The default limit on the length of one frame's text, in bytes (16 MiB). It bounds the
/// memory one message can make the node allocate; the longest legitimate messages (history
/// and UTXO lists) are far below it.
pub const FRAME_BYTES_MAX_DEFAULT: usize = 16 * 1024 * 1024;

/// Base64 text of the first [`FRAME_BYTES_MIN`] decoded bytes: 18 bytes are exactly six
/// 4-character groups, never padded when the frame is long enough to be valid. Decoding these
/// separately puts the IV on the stack and the plaintext straight into the caller's buffer.
const PREFIX_TEXT_BYTES: usize = FRAME_BYTES_MIN / 3 * 4;

/// Plaintext bytes encrypted per step while encoding. A multiple of 3 (so the base64 of
/// consecutive chunks concatenates with no padding in between) and of 16 (so each chunk ends
/// on an AES block boundary); small enough to live on the stack and stay in L1 cache.
const ENCODE_CHUNK_BYTES: usize = 48 * 64;

/// The chunk size for small frames (up to 768 bytes with the IV, most API messages): a
/// smaller stack buffer is cheaper to zero.
const ENCODE_CHUNK_BYTES_SMALL: usize = 48 * 16;

/// The cipher of one frame: AES-128 in CTR mode with a 128-bit big-endian counter, borrowing
/// the codec's expanded key schedule instead of copying or re-expanding it.
type FrameCipher<'a> = StreamCipherCoreWrapper<CtrCore<&'a Aes128Enc, Ctr128BE>>;

/// Why a frame could not be decoded.
///
/// Every variant has a stable machine-readable [`code`](FrameError::code) for logs, metrics
/// and the `"code"` field of error replies, and a message that names the problem. The enum is
/// `#[non_exhaustive]`: the message layer's "JSON that is not a known request" may join it
/// (or wrap it) later without breaking callers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame text is longer than the codec's `frame_bytes_max`. Checked on the text length
    /// before any decoding, so an oversized frame costs no work and no memory.
    #[error("frame text is {frame_text_bytes} bytes, over the limit of {frame_bytes_max} bytes")]
    TooLarge {
        /// Length of the frame text that was refused, in bytes.
        frame_text_bytes: usize,
        /// The codec's limit, in bytes.
        frame_bytes_max: usize,
    },
    /// The frame text is not standard padded base64: a character outside the alphabet
    /// (whitespace included), a length that is not a multiple of 4, padding in the wrong
    /// place, or non-canonical padding (unused bits not zero).
    #[error("frame text is not standard padded base64 (no whitespace, canonical padding)")]
    NotBase64,
    /// The decoded frame is too short to hold a 16-byte IV and a 2-byte JSON object.
    #[error(
        "frame decodes to {frame_bytes} bytes, shorter than the minimum of {FRAME_BYTES_MIN} \
         (16-byte IV and at least 2 bytes of JSON)"
    )]
    TooShort {
        /// Length of the decoded frame, IV included, in bytes.
        frame_bytes: usize,
    },
    /// The decrypted plaintext is not shaped like a JSON object (its first and last
    /// non-whitespace bytes are not `{` and `}`). AES-CTR cannot tell a wrong key from a
    /// corrupt frame, so this is what both look like.
    #[error("frame does not decrypt to a JSON object: wrong API token or corrupt frame")]
    NotJsonObject,
    /// The decrypted plaintext looks like a JSON object at its ends but is not valid JSON.
    /// Only [`FrameCodec::decode_json_object`] reports this; the fast path leaves full
    /// validation to the message layer's parser.
    #[error("frame decrypts to invalid JSON: {detail}")]
    InvalidJson {
        /// The JSON parser's description of the problem, with line and column.
        detail: String,
    },
    /// The frame decrypts to a JSON object that is not a known, well-formed message (unknown
    /// `type`, missing or invalid field, ...). Unlike the variants above this is not a strike
    /// against the connection: the key is right, and the peer gets an error reply naming the
    /// problem ([`MessageError::reply`]).
    #[error("{0}")]
    Message(#[from] MessageError),
}

impl FrameError {
    /// A short, stable, machine-readable name for the error: for logs, metrics and the
    /// `"code"` field of error replies, where the message text may change between versions.
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::TooLarge { .. } => "frame_too_large",
            FrameError::NotBase64 => "not_base64",
            FrameError::TooShort { .. } => "frame_too_short",
            FrameError::NotJsonObject => "not_json_object",
            FrameError::InvalidJson { .. } => "invalid_json",
            FrameError::Message(_) => "bad_message",
        }
    }
}

/// Encodes plaintext into frame text and decodes frame text back, for one AES-128 key.
///
/// Build one per API token (connection handlers can share it by reference or clone it; it is
/// immutable). The key schedule is expanded once, here, not per frame.
///
/// Calling contract:
/// - [`encode_into`](Self::encode_into) / [`encode_into_bytes`](Self::encode_into_bytes)
///   append; they never fail and never panic. The caller supplies a fresh IV per message
///   (reusing an IV under one key reveals the XOR of two plaintexts).
/// - [`decode_into`](Self::decode_into) appends the plaintext to the caller's buffer on
///   success and leaves the buffer as it was on error. It never panics, on any input.
#[derive(Clone)]
pub struct FrameCodec {
    /// The expanded AES-128 encryption key schedule. CTR mode only ever encrypts, so the
    /// decryption half of the schedule is never computed.
    aes: Aes128Enc,
    /// Frames whose text is longer than this, in bytes, are refused before decoding.
    frame_bytes_max: usize,
}

impl fmt::Debug for FrameCodec {
    /// Shows the limit but never the key: the key is the API token, a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameCodec")
            .field("frame_bytes_max", &self.frame_bytes_max)
            .finish_non_exhaustive()
    }
}

impl FrameCodec {
    /// A codec keyed with the node's API token, with the default size limit
    /// ([`FRAME_BYTES_MAX_DEFAULT`]).
    pub fn new(token: &ApiToken) -> Self {
        Self::from_key_bytes(token.as_bytes())
    }

    /// A codec keyed with raw AES-128 key bytes, for tools and tests that have the key but
    /// not an [`ApiToken`].
    pub fn from_key_bytes(key: &[u8; 16]) -> Self {
        Self {
            aes: Aes128Enc::new(&(*key).into()),
            frame_bytes_max: FRAME_BYTES_MAX_DEFAULT,
        }
    }

    /// The same codec with another limit on the frame text length, in bytes. A server sets it
    /// from its configuration; a value below the length of a minimal frame (24) makes every
    /// frame fail with [`FrameError::TooLarge`].
    #[must_use]
    pub fn with_frame_bytes_max(mut self, frame_bytes_max: usize) -> Self {
        self.frame_bytes_max = frame_bytes_max;
        self
    }

    /// The limit on the frame text length, in bytes, that [`decode_into`](Self::decode_into)
    /// enforces.
    pub fn frame_bytes_max(&self) -> usize {
        self.frame_bytes_max
    }

    /// The length in bytes of the frame text for a plaintext of `plaintext_bytes` bytes, so a
    /// sender can check it against the peer's limit or size a buffer. Saturates at
    /// `usize::MAX` instead of overflowing.
    pub const fn frame_text_bytes(plaintext_bytes: usize) -> usize {
        let frame_bytes = plaintext_bytes.saturating_add(IV_BYTES);
        (frame_bytes / 3 + (frame_bytes % 3 != 0) as usize).saturating_mul(4)
    }

    /// The keystream of one frame: the counter starts at the IV and wraps modulo 2^128.
    fn cipher(&self, iv: [u8; IV_BYTES]) -> FrameCipher<'_> {
        StreamCipherCoreWrapper::from_core(CtrCore::inner_iv_init(&self.aes, &iv.into()))
    }

    /// Encrypts `plaintext` under `iv` and appends the frame text to `out`.
    ///
    /// `out` is only appended to, so a caller that clears and reuses one `String` allocates
    /// nothing per frame once it has grown to the largest frame. Never fails: encoding does
    /// not enforce `frame_bytes_max`, which limits what this side accepts, not what it sends.
    pub fn encode_into(&self, plaintext: &[u8], iv: [u8; IV_BYTES], out: &mut String) {
        self.encode_with(plaintext, iv, out);
    }

    /// Like [`encode_into`](Self::encode_into), appending to a byte buffer (for WebSocket
    /// libraries that take bytes and check UTF-8 themselves; base64 text is ASCII).
    pub fn encode_into_bytes(&self, plaintext: &[u8], iv: [u8; IV_BYTES], out: &mut Vec<u8>) {
        self.encode_with(plaintext, iv, out);
    }

    /// Encrypts `plaintext` under `iv` and returns the frame text in a new `String`: the
    /// convenient form for tests and tools; hot paths use [`encode_into`](Self::encode_into).
    pub fn encode(&self, plaintext: &[u8], iv: [u8; IV_BYTES]) -> String {
        let mut out = String::with_capacity(Self::frame_text_bytes(plaintext.len()));
        self.encode_into(plaintext, iv, &mut out);
        out
    }

    /// The encoder behind both `encode_into*`. Small frames use a small stack buffer, since
    /// zeroing the large one would cost as much as encrypting a small frame.
    fn encode_with<O: FrameText>(&self, plaintext: &[u8], iv: [u8; IV_BYTES], out: &mut O) {
        out.reserve_bytes(Self::frame_text_bytes(plaintext.len()));
        if IV_BYTES + plaintext.len() <= ENCODE_CHUNK_BYTES_SMALL {
            self.encode_chunked::<ENCODE_CHUNK_BYTES_SMALL, O>(plaintext, iv, out);
        } else {
            self.encode_chunked::<ENCODE_CHUNK_BYTES, O>(plaintext, iv, out);
        }
    }

    /// Encrypts chunk by chunk into a stack buffer of `CHUNK_BYTES` and base64-encodes each
    /// chunk onto the end of `out`. `CHUNK_BYTES` must be a multiple of 48 (see
    /// [`ENCODE_CHUNK_BYTES`]).
    fn encode_chunked<const CHUNK_BYTES: usize, O: FrameText>(
        &self,
        plaintext: &[u8],
        iv: [u8; IV_BYTES],
        out: &mut O,
    ) {
        const { assert!(CHUNK_BYTES % 48 == 0 && CHUNK_BYTES > IV_BYTES) };
        let mut cipher = self.cipher(iv);
        let mut chunk = [0u8; CHUNK_BYTES];

        // The first chunk carries the IV in clear, then as much ciphertext as fits.
        let (head, mut rest) = plaintext.split_at(plaintext.len().min(CHUNK_BYTES - IV_BYTES));
        chunk[..IV_BYTES].copy_from_slice(&iv);
        let head_end = IV_BYTES + head.len();
        apply_keystream_b2b(&mut cipher, head, &mut chunk[IV_BYTES..head_end]);
        out.append_base64(&chunk[..head_end]);

        // Every chunk but the last is CHUNK_BYTES long, a multiple of 3, so the base64 texts
        // of consecutive chunks join with no padding in between.
        while !rest.is_empty() {
            let (piece, tail) = rest.split_at(rest.len().min(CHUNK_BYTES));
            apply_keystream_b2b(&mut cipher, piece, &mut chunk[..piece.len()]);
            out.append_base64(&chunk[..piece.len()]);
            rest = tail;
        }
    }

    /// Decodes a frame and appends its plaintext to `out`, returning the plaintext length in
    /// bytes.
    ///
    /// Checks, in order: the text length against `frame_bytes_max` (before any decoding),
    /// base64, the decoded length against [`FRAME_BYTES_MIN`], and, after decrypting in place,
    /// that the plaintext is shaped like a JSON object. On error `out` is left exactly as it
    /// was. Never panics, on any input.
    pub fn decode_into(
        &self,
        frame_text: impl AsRef<[u8]>,
        out: &mut Vec<u8>,
    ) -> Result<usize, FrameError> {
        let text = frame_text.as_ref();
        if text.len() > self.frame_bytes_max {
            return Err(FrameError::TooLarge {
                frame_text_bytes: text.len(),
                frame_bytes_max: self.frame_bytes_max,
            });
        }

        // The IV and the first two plaintext bytes come from the first six base64 groups,
        // decoded onto the stack; the rest decodes straight into `out`.
        let (prefix_text, rest_text) = text.split_at(text.len().min(PREFIX_TEXT_BYTES));
        let mut prefix = [0u8; FRAME_BYTES_MIN];
        let prefix_bytes = BASE64
            .decode(prefix_text, prefix.as_mut_slice().as_out())
            .map_err(|_| FrameError::NotBase64)?
            .len();
        if prefix_bytes < FRAME_BYTES_MIN {
            // Fewer than 18 bytes from 24 characters or less means the text ended (padding or
            // a short text). Padding followed by more text is not base64.
            return Err(if rest_text.is_empty() {
                FrameError::TooShort {
                    frame_bytes: prefix_bytes,
                }
            } else {
                FrameError::NotBase64
            });
        }
        let [iv @ .., first, second] = prefix;

        let start = out.len();
        out.extend_from_slice(&[first, second]);
        if BASE64.decode_append(rest_text, out).is_err() {
            out.truncate(start);
            return Err(FrameError::NotBase64);
        }

        // `start` was `out.len()` before this frame's bytes were appended: in bounds.
        let plaintext = &mut out[start..];
        apply_keystream(&mut self.cipher(iv), plaintext);
        if !looks_like_json_object(plaintext) {
            out.truncate(start);
            return Err(FrameError::NotJsonObject);
        }
        Ok(out.len() - start)
    }

    /// Decodes a frame into a new buffer: the convenient form for tests and tools; hot paths
    /// use [`decode_into`](Self::decode_into) with a reused buffer.
    pub fn decode(&self, frame_text: impl AsRef<[u8]>) -> Result<Vec<u8>, FrameError> {
        let mut out = Vec::new();
        self.decode_into(frame_text, &mut out)?;
        Ok(out)
    }

    /// Decodes a frame and checks with `serde_json` that the plaintext is one complete,
    /// valid JSON object, for debugging tools that want to tell "wrong key" from "the peer
    /// sent broken JSON". Slower than [`decode`](Self::decode): it parses the whole text.
    pub fn decode_json_object(&self, frame_text: impl AsRef<[u8]>) -> Result<Vec<u8>, FrameError> {
        let plaintext = self.decode(frame_text)?;
        // `decode` checked that the first non-whitespace byte is `{`, so a value that parses
        // completely (serde_json rejects trailing characters) is an object.
        serde_json::from_slice::<serde::de::IgnoredAny>(&plaintext).map_err(|error| {
            FrameError::InvalidJson {
                detail: error.to_string(),
            }
        })?;
        Ok(plaintext)
    }
}

/// Applies the keystream to `buf` in place.
fn apply_keystream(cipher: &mut FrameCipher<'_>, buf: &mut [u8]) {
    cipher
        .try_apply_keystream(buf)
        // Cannot fail: a 128-bit counter has 2^128 blocks of keystream (it wraps instead of
        // running out, and `ctr` reports no limit), far more than any slice can hold.
        .expect("a 128-bit CTR keystream never runs out");
}

/// Writes `input` XOR keystream into `output`.
fn apply_keystream_b2b(cipher: &mut FrameCipher<'_>, input: &[u8], output: &mut [u8]) {
    cipher
        .try_apply_keystream_b2b(input, output)
        // Cannot fail: every caller slices `output` to `input.len()`, and the keystream of a
        // 128-bit counter never runs out (see `apply_keystream`).
        .expect("callers pass equal lengths and the keystream never runs out");
}

/// The cheap structural check on a decrypted frame: after optional JSON whitespace the first
/// byte is `{`, and the last non-whitespace byte is a different `}`. A wrong key passes it
/// with probability about 2^-16; the JSON parser catches the rest.
fn looks_like_json_object(plaintext: &[u8]) -> bool {
    let is_json_whitespace = |byte: &u8| matches!(byte, b' ' | b'\t' | b'\n' | b'\r');
    let first = plaintext.iter().position(|byte| !is_json_whitespace(byte));
    let last = plaintext.iter().rposition(|byte| !is_json_whitespace(byte));
    match (first, last) {
        (Some(first), Some(last)) => {
            first < last
                && plaintext.get(first) == Some(&b'{')
                && plaintext.get(last) == Some(&b'}')
        }
        _ => false,
    }
}

/// A buffer that frame text can be appended to: `String` or `Vec<u8>`.
trait FrameText {
    /// Makes room for `additional` more bytes, so appending chunk by chunk reallocates at
    /// most once per frame (and never once the buffer has grown).
    fn reserve_bytes(&mut self, additional: usize);
    /// Appends the base64 text of `bytes`.
    fn append_base64(&mut self, bytes: &[u8]);
}

impl FrameText for String {
    fn reserve_bytes(&mut self, additional: usize) {
        self.reserve(additional);
    }
    fn append_base64(&mut self, bytes: &[u8]) {
        BASE64.encode_append(bytes, self);
    }
}

impl FrameText for Vec<u8> {
    fn reserve_bytes(&mut self, additional: usize) {
        self.reserve(additional);
    }
    fn append_base64(&mut self, bytes: &[u8]) {
        BASE64.encode_append(bytes, self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 16] = *b"0123456789abcdef";
    const IV: [u8; 16] = [0x42; 16];

    fn codec() -> FrameCodec {
        FrameCodec::from_key_bytes(&KEY)
    }

    #[test]
    fn round_trip_small_object() {
        let codec = codec();
        let frame = codec.encode(b"{}", IV);
        assert_eq!(frame.len(), PREFIX_TEXT_BYTES);
        assert_eq!(codec.decode(&frame).unwrap(), b"{}");
    }

    #[test]
    fn round_trip_across_chunk_boundaries() {
        let codec = codec();
        for plaintext_bytes in [
            ENCODE_CHUNK_BYTES_SMALL - IV_BYTES - 1,
            ENCODE_CHUNK_BYTES_SMALL - IV_BYTES,
            ENCODE_CHUNK_BYTES_SMALL - IV_BYTES + 1,
            ENCODE_CHUNK_BYTES - IV_BYTES - 1,
            ENCODE_CHUNK_BYTES - IV_BYTES,
            ENCODE_CHUNK_BYTES - IV_BYTES + 1,
            2 * ENCODE_CHUNK_BYTES + 5,
            64 * 1024,
        ] {
            let mut plaintext = vec![b' '; plaintext_bytes];
            plaintext[0] = b'{';
            plaintext[plaintext_bytes - 1] = b'}';
            let frame = codec.encode(&plaintext, IV);
            assert_eq!(frame.len(), FrameCodec::frame_text_bytes(plaintext_bytes));
            assert_eq!(
                codec.decode(&frame).unwrap(),
                plaintext,
                "{plaintext_bytes} bytes"
            );
        }
    }

    #[test]
    fn encode_appends_and_string_and_bytes_agree() {
        let codec = codec();
        let mut text = String::from("prefix:");
        codec.encode_into(b"{\"a\":1}", IV, &mut text);
        let mut bytes = b"prefix:".to_vec();
        codec.encode_into_bytes(b"{\"a\":1}", IV, &mut bytes);
        assert_eq!(text.as_bytes(), bytes.as_slice());
        assert_eq!(text["prefix:".len()..], codec.encode(b"{\"a\":1}", IV));
    }

    #[test]
    fn decode_appends_and_leaves_buffer_alone_on_error() {
        let codec = codec();
        let frame = codec.encode(b"{\"a\":1}", IV);
        let mut out = b"keep".to_vec();
        assert_eq!(codec.decode_into(&frame, &mut out), Ok(7));
        assert_eq!(out, b"keep{\"a\":1}");
        let wrong = FrameCodec::from_key_bytes(&[9; 16]);
        let mut out = b"keep".to_vec();
        // With this key and IV the plaintext is not object-shaped (checked by the assert).
        assert_eq!(
            wrong.decode_into(&frame, &mut out),
            Err(FrameError::NotJsonObject)
        );
        assert_eq!(out, b"keep");
        let mut out = b"keep".to_vec();
        let mut bad = frame.clone();
        bad.push_str("AAA=");
        bad.insert(30, '!');
        assert_eq!(
            codec.decode_into(&bad, &mut out),
            Err(FrameError::NotBase64)
        );
        assert_eq!(out, b"keep");
    }

    #[test]
    fn too_large_is_checked_before_decoding() {
        let codec = codec().with_frame_bytes_max(100);
        assert_eq!(codec.frame_bytes_max(), 100);
        // Not base64 at all, but the length is checked first.
        let err = codec.decode(" ".repeat(101)).unwrap_err();
        assert_eq!(
            err,
            FrameError::TooLarge {
                frame_text_bytes: 101,
                frame_bytes_max: 100
            }
        );
        assert_eq!(err.code(), "frame_too_large");
        assert!(err.to_string().contains("101 bytes"), "{err}");
        // Exactly at the limit is fine.
        let plaintext = vec![b' '; 100 / 4 * 3 - IV_BYTES];
        let mut plaintext = plaintext;
        plaintext[0] = b'{';
        *plaintext.last_mut().unwrap() = b'}';
        let frame = codec.encode(&plaintext, IV);
        assert_eq!(frame.len(), 100);
        assert_eq!(codec.decode(&frame).unwrap(), plaintext);
        assert_eq!(
            FrameCodec::from_key_bytes(&KEY).frame_bytes_max(),
            FRAME_BYTES_MAX_DEFAULT
        );
    }

    #[test]
    fn not_base64() {
        let codec = codec();
        let frame = codec.encode(b"{\"type\":\"status_info\"}", IV);
        let cases = [
            format!(" {frame}"),                                         // leading whitespace
            format!("{frame}\n"),                                        // trailing newline
            format!("{} {}", &frame[..20], &frame[20..]),                // whitespace inside
            frame[..frame.len() - 1].to_string(), // length not a multiple of 4
            frame.replace('=', ""),               // padding stripped
            format!("{frame}===="),               // padding group after padding
            frame.replacen(|c: char| c.is_ascii_alphanumeric(), "-", 1), // url-safe alphabet
            "AAAAAAAAAAAAAAAAAAAAAA==AAAA".to_string(), // padding in the middle
            "A".to_string(),
            "AAAAA".to_string(),
            "é".repeat(12),
        ];
        for case in cases {
            let err = codec.decode(&case).unwrap_err();
            assert_eq!(err, FrameError::NotBase64, "{case:?}");
            assert_eq!(err.code(), "not_base64");
        }
        assert!(
            FrameError::NotBase64.to_string().contains("base64"),
            "message names the problem"
        );
    }

    #[test]
    fn non_canonical_padding_is_rejected() {
        let codec = codec();
        // 19 bytes: the last group is "xx==", whose second character carries 4 unused bits.
        let frame = codec.encode(b"{ }", IV);
        assert!(frame.ends_with("=="), "{frame}");
        let mut chars: Vec<char> = frame.chars().collect();
        let last_data = chars.len() - 3;
        let canonical = chars[last_data];
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let index = alphabet.find(canonical).unwrap();
        assert_eq!(index & 0x0f, 0, "the encoder writes zero unused bits");
        chars[last_data] = alphabet.as_bytes()[index | 1] as char;
        let non_canonical: String = chars.into_iter().collect();
        assert_eq!(codec.decode(&non_canonical), Err(FrameError::NotBase64));
    }

    #[test]
    fn too_short() {
        let codec = codec();
        for (text, frame_bytes) in [
            ("", 0),
            ("AAAA", 3),
            ("AAAAAAAAAAAAAAAAAAAAAA==", 16), // exactly an IV, no plaintext
            ("AAAAAAAAAAAAAAAAAAAAAAA=", 17),
        ] {
            let err = codec.decode(text).unwrap_err();
            assert_eq!(err, FrameError::TooShort { frame_bytes }, "{text:?}");
            assert_eq!(err.code(), "frame_too_short");
            assert!(
                err.to_string().contains(&format!("{frame_bytes} bytes")),
                "{err}"
            );
        }
        // 18 bytes is long enough to get past the length check.
        let frame = codec.encode(b"{}", IV);
        assert_eq!(codec.decode(&frame).unwrap(), b"{}");
    }

    #[test]
    fn not_json_object() {
        let codec = codec();
        for plaintext in [
            &b"[]"[..],
            b"}{",
            b"{ ",
            b" }",
            b" { ",
            b"\"{}\"",
            b"{}x",
            b"null",
            b"\x0b{}",     // vertical tab is not JSON whitespace
            b"{}\xc2\xa0", // nor is a no-break space
        ] {
            let frame = codec.encode(plaintext, IV);
            let err = codec.decode(&frame).unwrap_err();
            assert_eq!(err, FrameError::NotJsonObject, "{plaintext:?}");
            assert_eq!(err.code(), "not_json_object");
        }
        // JSON whitespace around the object is fine.
        for plaintext in [&b" \t\r\n{}\n"[..], b"{\"a\":[1,2]}  ", b"\n{ }"] {
            let frame = codec.encode(plaintext, IV);
            assert_eq!(codec.decode(&frame).unwrap(), plaintext);
        }
        assert!(
            FrameError::NotJsonObject
                .to_string()
                .contains("JSON object")
        );
    }

    #[test]
    fn decode_json_object_validates_fully() {
        let codec = codec();
        let good = codec.encode(br#" {"type": "status_info", "id": [1, {"x": null}]} "#, IV);
        assert!(codec.decode_json_object(&good).is_ok());
        for plaintext in [&br#"{"a":}"#[..], br#"{"a":1}}"#, b"{} {}", br#"{"a":1,}"#] {
            let frame = codec.encode(plaintext, IV);
            // The cheap check lets these through...
            assert!(codec.decode(&frame).is_ok(), "{plaintext:?}");
            // ...the full parse does not.
            let err = codec.decode_json_object(&frame).unwrap_err();
            assert!(matches!(err, FrameError::InvalidJson { .. }), "{err:?}");
            assert_eq!(err.code(), "invalid_json");
            assert!(err.to_string().contains("invalid JSON"), "{err}");
        }
        // Errors of the fast path come through unchanged.
        assert_eq!(
            codec.decode_json_object("AAAA"),
            Err(FrameError::TooShort { frame_bytes: 3 })
        );
    }

    #[test]
    fn counter_is_one_128_bit_big_endian_integer() {
        // Three blocks from IV = 2^128 - 2 use counter blocks ...fe, ...ff, then 0 (wrapped).
        use aes::cipher::BlockCipherEncrypt;
        let codec = codec();
        let mut iv = [0xff; 16];
        iv[15] = 0xfe;
        let plaintext = [0u8; 48];
        let mut out = Vec::new();
        codec.encode_into_bytes(&plaintext, iv, &mut out);
        let mut raw = Vec::new();
        BASE64.decode_append(&out, &mut raw).unwrap();
        let aes = Aes128Enc::new(&KEY.into());
        let mut expected = Vec::new();
        for counter in [u128::MAX - 1, u128::MAX, 0] {
            let mut block = counter.to_be_bytes().into();
            aes.encrypt_block(&mut block);
            expected.extend_from_slice(&block);
        }
        assert_eq!(&raw[..IV_BYTES], &iv);
        assert_eq!(&raw[IV_BYTES..], expected.as_slice());
    }

    #[test]
    fn frame_text_bytes_matches_base64() {
        for plaintext_bytes in 0..100 {
            let frame = codec().encode(&vec![0; plaintext_bytes], IV);
            assert_eq!(frame.len(), FrameCodec::frame_text_bytes(plaintext_bytes));
        }
        assert_eq!(FrameCodec::frame_text_bytes(usize::MAX), usize::MAX);
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let shown = format!("{:?}", codec());
        assert!(shown.contains("frame_bytes_max"), "{shown}");
        assert!(!shown.contains("48") && !shown.contains("0123"), "{shown}");
    }
}

/// Typed messages through the codec: JSON into frames and back, with reused buffers.
impl FrameCodec {
    /// Encodes a request into frame text appended to `out`; `json` is a scratch buffer
    /// (cleared here, kept by the caller so steady state allocates nothing).
    pub fn encode_request(
        &self,
        request: &Request,
        iv: [u8; IV_BYTES],
        json: &mut Vec<u8>,
        out: &mut String,
    ) {
        json.clear();
        request.to_json(json);
        self.encode_into(json, iv, out);
    }

    /// Encodes a response or notification into frame text appended to `out`.
    pub fn encode_server_message(
        &self,
        msg: &ServerMessage,
        iv: [u8; IV_BYTES],
        json: &mut Vec<u8>,
        out: &mut String,
    ) {
        json.clear();
        msg.to_json(json);
        self.encode_into(json, iv, out);
    }

    /// Decodes a frame holding a request. `plaintext` is a scratch buffer (cleared here).
    /// Frame-level failures (not base64, too short or long, not a JSON object) and
    /// message-level ones ([`FrameError::Message`]) are told apart by the variant.
    pub fn decode_request(
        &self,
        frame_text: impl AsRef<[u8]>,
        plaintext: &mut Vec<u8>,
    ) -> Result<Request, FrameError> {
        plaintext.clear();
        self.decode_into(frame_text, plaintext)?;
        Ok(Request::from_json(plaintext)?)
    }

    /// Decodes a frame holding a response or notification (the client side).
    pub fn decode_server_message(
        &self,
        frame_text: impl AsRef<[u8]>,
        plaintext: &mut Vec<u8>,
    ) -> Result<ServerMessage, FrameError> {
        plaintext.clear();
        self.decode_into(frame_text, plaintext)?;
        Ok(ServerMessage::from_json(plaintext)?)
    }
}

#[cfg(test)]
mod typed_tests {
    use super::*;
    use crate::message::{ErrorCode, RequestKind};

    #[test]
    fn typed_requests_round_trip_and_bad_messages_are_told_apart() {
        let codec = FrameCodec::from_key_bytes(&[7; 16]);
        let mut req = Request::new(RequestKind::StatusInfo);
        req.id = 42;
        let (mut json, mut text, mut plain) = (Vec::new(), String::new(), Vec::new());
        codec.encode_request(&req, [1; 16], &mut json, &mut text);
        assert_eq!(codec.decode_request(&text, &mut plain).unwrap(), req);

        let unknown = codec.encode(br#"{"type":"no_such_request","id":9}"#, [2; 16]);
        match codec.decode_request(&unknown, &mut plain) {
            Err(FrameError::Message(e)) => {
                assert_eq!(e.id(), 9);
                assert_eq!(e.code(), ErrorCode::UnknownType);
                assert!(e.to_string().contains("no_such_request"), "{e}");
            }
            other => panic!("expected a message error, got {other:?}"),
        }
        let wrong_key = FrameCodec::from_key_bytes(&[8; 16]);
        assert!(matches!(
            wrong_key.decode_request(&text, &mut plain),
            Err(FrameError::NotJsonObject)
        ));
    }
}
