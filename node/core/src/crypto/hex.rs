//! Lower-case hexadecimal for fixed-size values (hashes, keys, rvalues) and their serde form.
//!
//! Written here rather than taken from a crate because it is twenty lines and every value in
//! this module needs the same strict rules: output is always lower case, input may be either
//! case, and the length must be exact so that a truncated value is never silently accepted.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

/// Why a hex string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// The string has the wrong number of characters for the value it should hold.
    #[error("expected {expected} hex characters, found {found}")]
    WrongLength {
        /// Characters the value needs (two per byte).
        expected: usize,
        /// Characters the input had (counted as bytes of UTF-8).
        found: usize,
    },
    /// A byte string of any length was expected, but the hex has an odd number of
    /// characters, so the last byte is cut in half.
    #[error("odd number of hex characters ({found})")]
    OddLength {
        /// Characters the input had.
        found: usize,
    },
    /// A character is not one of `0-9a-fA-F`.
    #[error("invalid hex character {ch:?} at position {position}")]
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its 0-based position in the string (in characters).
        position: usize,
    },
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lower-case hex to a formatter, without allocating.
pub(crate) fn write(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

/// Returns `bytes` as a lower-case hex string.
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes exactly `N` bytes from `s` (either case).
pub(crate) fn decode_array<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let mut out = [0u8; N];
    decode_into(s, &mut out)?;
    Ok(out)
}

/// Decodes a hex string of any even length.
pub(crate) fn decode_vec(s: &str) -> Result<Vec<u8>, HexError> {
    if s.len() % 2 != 0 {
        return Err(HexError::OddLength { found: s.len() });
    }
    let mut out = vec![0u8; s.len() / 2];
    decode_into(s, &mut out)?;
    Ok(out)
}

fn decode_into(s: &str, out: &mut [u8]) -> Result<(), HexError> {
    let bytes = s.as_bytes();
    if bytes.len() != out.len() * 2 {
        return Err(HexError::WrongLength {
            expected: out.len() * 2,
            found: bytes.len(),
        });
    }
    let bad = |byte_index: usize| {
        // Report the character (not the byte) so non-ASCII input gives a readable error.
        let position = s
            .char_indices()
            .take_while(|&(i, _)| i <= byte_index)
            .count()
            .saturating_sub(1);
        let ch = s.chars().nth(position).unwrap_or('?');
        HexError::InvalidChar { ch, position }
    };
    for (i, (pair, byte)) in bytes.chunks_exact(2).zip(out.iter_mut()).enumerate() {
        let hi = nibble(pair[0]).ok_or_else(|| bad(2 * i))?;
        let lo = nibble(pair[1]).ok_or_else(|| bad(2 * i + 1))?;
        *byte = (hi << 4) | lo;
    }
    Ok(())
}

/// Serde for fixed-size byte arrays as hex strings: `#[serde(with = "hex::array")]`.
pub(crate) mod array {
    use super::*;

    /// Serialises the array as a lower-case hex string.
    pub(crate) fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encode(bytes))
    }

    /// Deserialises a hex string of exactly `2 * N` characters.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        deserializer.deserialize_str(HexVisitor(|s: &str| decode_array::<N>(s)))
    }
}

/// Serde for byte vectors as hex strings: `#[serde(with = "hex::vec")]`.
pub(crate) mod vec {
    use super::*;

    /// Serialises the bytes as a lower-case hex string.
    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encode(bytes))
    }

    /// Deserialises a hex string of any even length.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_str(HexVisitor(decode_vec))
    }
}

/// Deserialises any value that parses from a string (`FromStr`), reporting its error.
pub(crate) fn deserialize_from_str<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    deserializer.deserialize_str(HexVisitor(|s: &str| s.parse::<T>()))
}

/// A visitor that accepts a borrowed or owned string and parses it with a closure.
struct HexVisitor<F>(F);

impl<'de, F, T, E> Visitor<'de> for HexVisitor<F>
where
    F: FnOnce(&str) -> Result<T, E>,
    E: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a hex string")
    }

    fn visit_str<Er: de::Error>(self, v: &str) -> Result<T, Er> {
        (self.0)(v).map_err(Er::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_case() {
        let bytes = [0x00, 0x9f, 0xa0, 0xff];
        assert_eq!(encode(&bytes), "009fa0ff");
        assert_eq!(decode_array::<4>("009FA0ff"), Ok(bytes));
        assert_eq!(decode_vec("009fa0ff"), Ok(bytes.to_vec()));
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            decode_array::<2>("abc"),
            Err(HexError::WrongLength {
                expected: 4,
                found: 3
            })
        );
        assert_eq!(
            decode_array::<2>("ab0g"),
            Err(HexError::InvalidChar {
                ch: 'g',
                position: 3
            })
        );
        // A multi-byte character: the position counts characters, not bytes.
        assert_eq!(
            decode_array::<2>("aé0"),
            Err(HexError::InvalidChar {
                ch: 'é',
                position: 1
            })
        );
        assert_eq!(decode_vec("abc"), Err(HexError::OddLength { found: 3 }));
    }
}
