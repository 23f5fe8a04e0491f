//! Durations: the one grammar people write them in (scenario files, load profiles, command
//! line flags) and the ways they are written back for people.
//!
//! # Grammar
//!
//! ```text
//! duration  := "0" | component ( [SPACES] component )*
//! component := NUMBER [SPACES] UNIT
//! NUMBER    := digits, optionally with a "." and a fraction ("1.5", ".5", "2."); "_" may
//!              separate digits ("1_000ms")
//! UNIT      := "h" | "m" | "min" | "s" | "ms" | "us" | "µs" | "ns"
//! ```
//!
//! Whitespace around the whole is ignored. Examples: `30s`, `2m`, `2min`, `1h30m`, `1h 30m`,
//! `1m30s`, `40.5s`, `1.5s`, `250ms`, `10us`, `5ns`, `10 s`, `0`. A number needs a unit,
//! except a lone zero. Arithmetic is exact (no floating point): a fraction finer than a
//! nanosecond is cut off, never rounded. Values up to `u64::MAX` ns (584 years) parse.
//!
//! The grammar accepts everything the two grammars it replaces accepted with the same
//! meaning: the scenario files' compound one (`1h30m`, `2min`, `1_000ms`), and the load
//! profiles' decimal one (`1.5s`, `10 s`, any number of fraction digits). The one difference:
//! the load profiles' parser rounded a sub-nanosecond fraction (`1.5ns` was 2 ns) where this
//! one cuts it off (1 ns), as scenario files always did.
//!
//! # Formatting
//!
//! - [`format`]: a span as the grammar writes it (`1h30m5s`, `250ms`, `1.500s`), for
//!   configured spans and simulated times: what a person could paste back into a file.
//! - [`format_approx`]: a measurement, three significant figures (`850ns`, `12.3µs`,
//!   `4.21ms`, `1.50s`), for latencies.
//! - [`format_fixed`]: a number in a fixed unit with three decimals (`12.345`), for table
//!   columns and time axes whose header names the unit.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One microsecond in nanoseconds.
pub const MICROSECOND_NS: u64 = 1_000;
/// One millisecond in nanoseconds.
pub const MILLISECOND_NS: u64 = 1_000_000;
/// One second in nanoseconds.
pub const SECOND_NS: u64 = 1_000_000_000;
/// One minute in nanoseconds.
pub const MINUTE_NS: u64 = 60 * SECOND_NS;
/// One hour in nanoseconds.
pub const HOUR_NS: u64 = 60 * MINUTE_NS;

/// A span of time in nanoseconds, written in files as a string in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Duration {
    /// The span in nanoseconds.
    pub ns: u64,
}

impl Duration {
    /// A span of `ns` nanoseconds.
    pub const fn from_ns(ns: u64) -> Duration {
        Duration { ns }
    }

    /// A span of `s` seconds.
    pub const fn from_secs(s: u64) -> Duration {
        Duration { ns: s * SECOND_NS }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(self.ns))
    }
}

impl std::str::FromStr for Duration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Duration, DurationError> {
        parse(text).map(Duration::from_ns)
    }
}

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {why} (write e.g. \"30s\", \"2m\", \"1h30m\", \"250ms\")")]
pub struct DurationError {
    /// The text that did not parse.
    pub text: String,
    /// What was wrong with it.
    pub why: &'static str,
}

/// Whether `c` may stand in a unit (`µ` is not ASCII; both the micro sign and the Greek
/// letter mu are accepted).
fn is_unit_char(c: char) -> bool {
    c.is_ascii_alphabetic() || c == 'µ' || c == 'μ'
}

/// Parses a duration in the grammar (see the module documentation) into nanoseconds.
pub fn parse(text: &str) -> Result<u64, DurationError> {
    let err = |why| DurationError {
        text: text.to_string(),
        why,
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(err("empty"));
    }
    if s == "0" {
        return Ok(0);
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(err("expected a number"));
        }
        let number: String = rest[..num_len].chars().filter(|&c| c != '_').collect();
        rest = rest[num_len..].trim_start();
        let unit_len = rest.find(|c: char| !is_unit_char(c)).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let unit_ns: u64 = match unit {
            "h" => HOUR_NS,
            "m" | "min" => MINUTE_NS,
            "s" => SECOND_NS,
            "ms" => MILLISECOND_NS,
            "us" | "µs" | "μs" => MICROSECOND_NS,
            "ns" => 1,
            "" => return Err(err("a number needs a unit")),
            _ => return Err(err("unknown unit (use h, m, s, ms, us or ns)")),
        };
        let (int, frac) = number.split_once('.').unwrap_or((number.as_str(), ""));
        let int: u128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| err("bad number"))?
        };
        if !frac.chars().all(|c| c.is_ascii_digit()) {
            return Err(err("bad fraction"));
        }
        let whole = int
            .checked_mul(u128::from(unit_ns))
            .ok_or_else(|| err("too large"))?;
        total = total
            .checked_add(whole + u128::from(fraction_ns(frac, unit_ns)))
            .ok_or_else(|| err("too large"))?;
    }
    u64::try_from(total).map_err(|_| err("too large"))
}

/// `floor(0.<digits> * unit_ns)`, exact for any number of digits: Horner's rule from the
/// last digit, each step `v = (v + d * unit_ns) / 10` rounded down. Rounding down at every
/// step gives the same result as rounding once at the end, because the part cut off is
/// always below one and what is added is a whole number.
fn fraction_ns(digits: &str, unit_ns: u64) -> u64 {
    let unit = u128::from(unit_ns);
    let mut v: u128 = 0;
    for d in digits.bytes().rev() {
        v = (v + u128::from(d - b'0') * unit) / 10;
    }
    // Below `unit_ns`, so it fits.
    v as u64
}

/// Formats a span as the grammar writes it: `"1h2m3s"`, `"250ms"`, `"10us"`, `"1.500s"`,
/// `"0s"`. Whole hours, minutes, seconds, milliseconds and microseconds come out exactly;
/// a span of seconds with a fraction comes out with three decimals.
pub fn format(ns: u64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    if ns % SECOND_NS != 0 {
        if ns < SECOND_NS {
            if ns % MILLISECOND_NS == 0 {
                return std::format!("{}ms", ns / MILLISECOND_NS);
            }
            if ns % MICROSECOND_NS == 0 {
                return std::format!("{}us", ns / MICROSECOND_NS);
            }
            return std::format!("{ns}ns");
        }
        let secs = ns as f64 / SECOND_NS as f64;
        return std::format!("{secs:.3}s");
    }
    let mut s = ns / SECOND_NS;
    let mut out = String::new();
    if s >= 3600 {
        out.push_str(&std::format!("{}h", s / 3600));
        s %= 3600;
    }
    if s >= 60 {
        out.push_str(&std::format!("{}m", s / 60));
        s %= 60;
    }
    if s > 0 {
        out.push_str(&std::format!("{s}s"));
    }
    out
}

/// Formats a measured span for people, to three significant figures: `850ns`, `12.3µs`,
/// `4.21ms`, `1.50s`.
pub fn format_approx(ns: f64) -> String {
    if ns < 1e3 {
        std::format!("{ns:.0}ns")
    } else if ns < 1e6 {
        std::format!("{:.1}µs", ns / 1e3)
    } else if ns < 1e9 {
        std::format!("{:.2}ms", ns / 1e6)
    } else {
        std::format!("{:.2}s", ns / 1e9)
    }
}

/// A unit for [`format_fixed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds.
    Millis,
    /// Seconds.
    Seconds,
}

/// Formats a span as a number of `unit` with three decimals and no unit (`12.345`), for a
/// column or an axis that names its unit once.
pub fn format_fixed(ns: u64, unit: Unit) -> String {
    let per = match unit {
        Unit::Millis => 1e6,
        Unit::Seconds => 1e9,
    };
    std::format!("{:.3}", ns as f64 / per)
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with a unit, such as \"30s\", \"2m\" or \"250ms\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
                parse(v).map(Duration::from_ns).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
                if v == 0 {
                    Ok(Duration::from_ns(0))
                } else {
                    Err(E::custom(
                        "a duration needs a unit: write it as a string, e.g. \"30s\"",
                    ))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format(self.ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example of the scenario files' grammar (sim/src/time.rs, scenario tests).
    #[test]
    fn scenario_examples() {
        assert_eq!(parse("30s").unwrap(), 30 * SECOND_NS);
        assert_eq!(parse("2m").unwrap(), 120 * SECOND_NS);
        assert_eq!(parse("2min").unwrap(), 120 * SECOND_NS);
        assert_eq!(parse("1h30m").unwrap(), 90 * MINUTE_NS);
        assert_eq!(parse("1h 30m").unwrap(), 90 * MINUTE_NS);
        assert_eq!(parse("1m30s").unwrap(), 90 * SECOND_NS);
        assert_eq!(parse("1.5s").unwrap(), 1_500 * MILLISECOND_NS);
        assert_eq!(parse("250ms").unwrap(), 250 * MILLISECOND_NS);
        assert_eq!(parse("10us").unwrap(), 10_000);
        assert_eq!(parse("5ns").unwrap(), 5);
        assert_eq!(parse("1_000ms").unwrap(), SECOND_NS);
        assert_eq!(parse(".5s").unwrap(), 500 * MILLISECOND_NS);
        assert_eq!(parse("0.000000001s").unwrap(), 1);
        assert_eq!(parse("1.5ns").unwrap(), 1, "sub-ns fractions are cut off");
        assert_eq!(parse("0").unwrap(), 0);
        assert_eq!(parse(" 0s ").unwrap(), 0);
        for bad in ["30", "3x", "", "s", "1.2.3s", "1h30", "-1s", "1e3ms"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(
            parse("30")
                .unwrap_err()
                .to_string()
                .contains("a number needs a unit")
        );
        assert!(parse("18446744073709551616ns").is_err());
        assert_eq!(parse("18446744073709551615ns").unwrap(), u64::MAX);
    }

    /// Every example of the load profiles' grammar (loadgen's config and its tests).
    #[test]
    fn load_profile_examples() {
        assert_eq!(parse("10s").unwrap(), 10 * SECOND_NS);
        assert_eq!(parse("40.5s").unwrap(), 40_500 * MILLISECOND_NS);
        assert_eq!(parse("1.5s").unwrap(), 1_500_000_000);
        assert_eq!(parse("250ms").unwrap(), 250_000_000);
        assert_eq!(parse("2m").unwrap(), 120 * SECOND_NS);
        assert_eq!(parse("7us").unwrap(), 7_000);
        assert_eq!(parse("7µs").unwrap(), 7_000);
        assert_eq!(parse("100us").unwrap(), 100_000);
        assert_eq!(parse("1h").unwrap(), HOUR_NS);
        assert_eq!(parse("10 s").unwrap(), 10 * SECOND_NS);
        assert_eq!(parse("5.s").unwrap(), 5 * SECOND_NS);
        assert_eq!(parse("0.1s").unwrap(), 100_000_000);
        assert_eq!(parse("1.0000000001s").unwrap(), SECOND_NS);
        assert_eq!(parse("0.0000000000001h").unwrap(), 0);
        assert_eq!(
            parse("0.333333333333333333333333h").unwrap(),
            1_199_999_999_999
        );
        for bad in ["10", "s", "10 parsecs", "ten s"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format(0), "0s");
        assert_eq!(format(90 * MINUTE_NS + 5 * SECOND_NS), "1h30m5s");
        assert_eq!(format(250 * MILLISECOND_NS), "250ms");
        assert_eq!(format(10_000), "10us");
        assert_eq!(format(7), "7ns");
        assert_eq!(format(1_500 * MILLISECOND_NS), "1.500s");
        for ns in [
            0,
            30 * SECOND_NS,
            HOUR_NS + MINUTE_NS,
            250 * MILLISECOND_NS,
            10_000,
            5,
        ] {
            assert_eq!(parse(&format(ns)).unwrap(), ns, "{ns}");
        }
        assert_eq!(format_approx(850.0), "850ns");
        assert_eq!(format_approx(12_345.0), "12.3µs");
        assert_eq!(format_approx(4_210_000.0), "4.21ms");
        assert_eq!(format_approx(1.5e9), "1.50s");
        assert_eq!(format_fixed(12_345_678_901, Unit::Seconds), "12.346");
        assert_eq!(format_fixed(4_210_000, Unit::Millis), "4.210");
        let d: Duration = "1h30m".parse().unwrap();
        assert_eq!(d.to_string(), "1h30m");
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"1h30m\"");
        assert_eq!(serde_json::from_str::<Duration>("0").unwrap().ns, 0);
        assert!(serde_json::from_str::<Duration>("5").is_err());
    }
}
