//! [`Timestamp`]: the API's points in time, as RFC 3339 text on the wire.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Error as _, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::clip;

/// Length of `YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ`: every timestamp this type can hold (years
/// 1970 to 2554) prints in exactly this many bytes.
const RFC3339_NANOS_LEN: usize = 30;

/// A point in time in nanoseconds since the Unix epoch, UTC.
///
/// The node's clock is virtual (it is given `now`), so a timestamp is just a number here;
/// on the wire it is RFC 3339 with exactly nine fractional digits and a `Z` suffix, e.g.
/// `2019-08-21T13:05:53.045364692Z`, as the seed document shows. Parsing accepts any
/// RFC 3339 text (any number of fractional digits, any UTC offset) between 1970 and the
/// end of `u64` nanoseconds (2554); formatting then parsing is the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

/// Why text is not a [`Timestamp`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not RFC 3339 text.
    #[error("not an RFC 3339 timestamp: \"{text}\": {reason}")]
    Syntax {
        /// The text as given (clipped).
        text: String,
        /// The parser's explanation.
        reason: String,
    },
    /// A valid date, but before 1970 or after 2554, which nanoseconds in a `u64` cannot hold.
    #[error("timestamp out of range (1970-01-01 to 2554-07-21 UTC): \"{text}\"")]
    OutOfRange {
        /// The text as given (clipped).
        text: String,
    },
}

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00Z: the virtual clock's zero.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// The timestamp `nanos` nanoseconds after the Unix epoch.
    pub const fn from_unix_nanos(nanos: u64) -> Self {
        Timestamp(nanos)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn unix_nanos(self) -> u64 {
        self.0
    }

    /// Parses RFC 3339 text, converting any UTC offset to UTC.
    ///
    /// # Errors
    /// [`TimestampError::Syntax`] for text that is not RFC 3339,
    /// [`TimestampError::OutOfRange`] for a time before 1970 or after 2554.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| TimestampError::Syntax {
            text: clip(text),
            reason: e.to_string(),
        })?;
        u64::try_from(parsed.unix_timestamp_nanos())
            .map(Timestamp)
            .map_err(|_| TimestampError::OutOfRange { text: clip(text) })
    }

    /// Writes the RFC 3339 form into a stack buffer (no allocation: timestamps appear in
    /// every status notification).
    fn to_rfc3339_bytes(self) -> [u8; RFC3339_NANOS_LEN] {
        // Cannot fail: `time` accepts years -9999..=9999 and u64::MAX nanoseconds is in 2554.
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0))
            .expect("every u64 nanosecond count is a year between 1970 and 2554");
        let mut out = *b"0000-00-00T00:00:00.000000000Z";
        // The year is 1970..=2554 (see above), so it is positive and has four digits.
        put_digits(&mut out[0..4], at.year().unsigned_abs());
        put_digits(&mut out[5..7], u32::from(u8::from(at.month())));
        put_digits(&mut out[8..10], u32::from(at.day()));
        put_digits(&mut out[11..13], u32::from(at.hour()));
        put_digits(&mut out[14..16], u32::from(at.minute()));
        put_digits(&mut out[17..19], u32::from(at.second()));
        put_digits(&mut out[20..29], at.nanosecond());
        out
    }
}

/// Writes `value` as zero-padded decimal filling `out` exactly (higher digits are dropped,
/// which the callers' ranges rule out).
fn put_digits(out: &mut [u8], mut value: u32) {
    for digit in out.iter_mut().rev() {
        // `value % 10` is below 10, so the cast cannot truncate.
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_rfc3339_bytes();
        // The buffer holds only ASCII digits and punctuation.
        f.write_str(std::str::from_utf8(&bytes).map_err(|_| fmt::Error)?)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Timestamp::parse_rfc3339(text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self.to_rfc3339_bytes();
        let text = std::str::from_utf8(&bytes).map_err(S::Error::custom)?;
        serializer.serialize_str(text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Accepts RFC 3339 text only: numbers are ambiguous (seconds? nanoseconds?).
        struct TimestampVisitor;

        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp such as \"2019-08-21T13:05:53.045364692Z\"")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
                Timestamp::parse_rfc3339(text).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(TimestampVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_seed_example_with_nine_digits() {
        let t = Timestamp::parse_rfc3339("2019-08-21T13:05:53.045364692Z").unwrap();
        assert_eq!(t.to_string(), "2019-08-21T13:05:53.045364692Z");
        assert_eq!(
            Timestamp::UNIX_EPOCH.to_string(),
            "1970-01-01T00:00:00.000000000Z"
        );
        assert_eq!(
            Timestamp::from_unix_nanos(u64::MAX).to_string(),
            "2554-07-21T23:34:33.709551615Z"
        );
    }

    #[test]
    fn parses_other_rfc3339_forms() {
        let t = Timestamp::parse_rfc3339("2019-08-21T15:05:53.5+02:00").unwrap();
        assert_eq!(t.to_string(), "2019-08-21T13:05:53.500000000Z");
        let t = Timestamp::parse_rfc3339("2019-08-21T13:05:53Z").unwrap();
        assert_eq!(t.to_string(), "2019-08-21T13:05:53.000000000Z");
    }

    #[test]
    fn rejects_garbage_and_out_of_range() {
        assert!(matches!(
            Timestamp::parse_rfc3339("yesterday"),
            Err(TimestampError::Syntax { .. })
        ));
        assert!(matches!(
            Timestamp::parse_rfc3339("1969-12-31T23:59:59Z"),
            Err(TimestampError::OutOfRange { .. })
        ));
        assert!(matches!(
            Timestamp::parse_rfc3339("2555-01-01T00:00:00Z"),
            Err(TimestampError::OutOfRange { .. })
        ));
    }
}
