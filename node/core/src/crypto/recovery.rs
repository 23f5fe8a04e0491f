//! The 24-word recovery phrase of an account's secret key.
//!
//! The phrase holds the 32 secret-key bytes followed by one checksum byte, their XOR: 264
//! bits read as 24 big-endian 11-bit indices into the BIP-39 English word list (taken from
//! the `bip39` crate, not copied here). This is the original node's format, not BIP-39's
//! (which uses a SHA-256 checksum and derives a seed with PBKDF2); no password is involved.
//!
//! Parsing forgives what people do when they copy a phrase by hand (extra spaces, line
//! breaks, capitals) and names what it cannot forgive: how many words there were, which word
//! is unknown and where, or that the checksum fails.

use bip39::Language;
use zeroize::Zeroizing;

/// Words in a recovery phrase.
pub const PHRASE_WORDS: usize = 24;

/// Longest word the error reports in full; longer input is cut, so an error message stays
/// short whatever was pasted.
const REPORTED_WORD_CHARS_MAX: usize = 32;

/// Why a recovery phrase was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    /// The phrase does not have 24 words.
    #[error("a recovery phrase has {PHRASE_WORDS} words, found {found}")]
    WrongWordCount {
        /// Words found (separated by whitespace).
        found: usize,
    },
    /// A word is not in the BIP-39 English word list.
    #[error("word {position} ({word:?}) is not in the BIP-39 English word list")]
    UnknownWord {
        /// The word as given (lower-cased, cut to 32 characters).
        word: String,
        /// Its position, counting from 1.
        position: usize,
    },
    /// Every word is known but the checksum byte is not the XOR of the key bytes: a word is
    /// wrong or words are out of order.
    #[error("bad recovery phrase checksum (a word is wrong or out of order)")]
    BadChecksum,
}

/// XOR of the key bytes: the phrase's checksum byte.
fn checksum(secret: &[u8; 32]) -> u8 {
    secret.iter().fold(0, |acc, b| acc ^ b)
}

/// Writes the 24-word phrase (single spaces, lower case) of a secret key's bytes.
pub fn to_phrase(secret: &[u8; 32]) -> String {
    let words = Language::English.word_list();
    let mut data = Zeroizing::new([0u8; 33]);
    data[..32].copy_from_slice(secret);
    data[32] = checksum(secret);

    let mut phrase = String::with_capacity(PHRASE_WORDS * 9);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for &byte in data.iter() {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        if bits >= 11 {
            bits -= 11;
            let index = (acc >> bits) & 0x7ff;
            acc &= (1 << bits) - 1;
            if !phrase.is_empty() {
                phrase.push(' ');
            }
            // index < 2048 by the mask, and the list has 2048 words.
            phrase.push_str(words[index as usize]);
        }
    }
    phrase
}

/// Reads a recovery phrase back into the secret key's bytes.
///
/// Accepts any whitespace between words and any letter case. Check the bytes with
/// [`SecretKey::from_bytes`](super::SecretKey::from_bytes), which refuses a non-canonical key.
pub fn from_phrase(phrase: &str) -> Result<[u8; 32], RecoveryError> {
    let found = phrase.split_whitespace().count();
    if found != PHRASE_WORDS {
        return Err(RecoveryError::WrongWordCount { found });
    }

    let mut data = Zeroizing::new([0u8; 33]);
    let mut filled = 0usize;
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    for (i, word) in phrase.split_whitespace().enumerate() {
        let lower = word.to_ascii_lowercase();
        let index =
            Language::English
                .find_word(&lower)
                .ok_or_else(|| RecoveryError::UnknownWord {
                    word: lower.chars().take(REPORTED_WORD_CHARS_MAX).collect(),
                    position: i + 1,
                })?;
        acc = (acc << 11) | u32::from(index);
        bits += 11;
        while bits >= 8 {
            bits -= 8;
            // 24 words x 11 bits = 33 bytes exactly, so `filled` stays below 33.
            data[filled] = (acc >> bits) as u8;
            filled += 1;
            acc &= (1 << bits) - 1;
        }
    }

    let mut secret = [0u8; 32];
    secret.copy_from_slice(&data[..32]);
    if checksum(&secret) != data[32] {
        return Err(RecoveryError::BadChecksum);
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_edges() {
        for secret in [[0u8; 32], [0xff; 32], core::array::from_fn(|i| i as u8)] {
            let phrase = to_phrase(&secret);
            assert_eq!(phrase.split(' ').count(), PHRASE_WORDS);
            assert_eq!(from_phrase(&phrase), Ok(secret));
        }
    }

    #[test]
    fn all_zero_is_abandon() {
        // Index 0 is "abandon"; the XOR of 32 zero bytes is 0.
        assert_eq!(to_phrase(&[0; 32]), vec!["abandon"; 24].join(" "));
    }
}
