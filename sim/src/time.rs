//! Durations as people write them in scenario files (`"30s"`, `"2m"`, `"1h30m"`, `"250ms"`)
//! and as the simulator counts them (nanoseconds of virtual time).

use std::fmt;

use serde::{Deserialize, Deserializer};

/// One millisecond in nanoseconds.
pub const MILLISECOND_NS: u64 = 1_000_000;
/// One second in nanoseconds.
pub const SECOND_NS: u64 = 1_000_000_000;
/// One minute in nanoseconds.
pub const MINUTE_NS: u64 = 60 * SECOND_NS;
/// One hour in nanoseconds.
pub const HOUR_NS: u64 = 60 * MINUTE_NS;

/// A span of virtual time in nanoseconds, written in files as a string with units.
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
        f.write_str(&format_ns(self.ns))
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

/// Parses `"1h30m"`, `"2m"`, `"2min"`, `"30s"`, `"1.5s"`, `"250ms"`, `"10us"`, `"5ns"`, or `"0"`.
/// A number needs a unit, except zero.
pub fn parse_duration_ns(text: &str) -> Result<u64, DurationError> {
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
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let unit_ns: u128 = match unit {
            "h" => HOUR_NS as u128,
            "m" | "min" => MINUTE_NS as u128,
            "s" => SECOND_NS as u128,
            "ms" => MILLISECOND_NS as u128,
            "us" | "µs" => 1_000,
            "ns" => 1,
            "" => return Err(err("a number needs a unit")),
            _ => return Err(err("unknown unit (use h, m, s, ms, us or ns)")),
        };
        let (int, frac) = match number.split_once('.') {
            Some((i, f)) => (i, f),
            None => (number.as_str(), ""),
        };
        let int: u128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| err("bad number"))?
        };
        let mut part = int.checked_mul(unit_ns).ok_or_else(|| err("too large"))?;
        if !frac.is_empty() {
            if frac.len() > 9 || !frac.chars().all(|c| c.is_ascii_digit()) {
                return Err(err("bad fraction"));
            }
            let digits: u128 = frac.parse().map_err(|_| err("bad fraction"))?;
            part += digits * unit_ns / 10u128.pow(frac.len() as u32);
        }
        total = total.checked_add(part).ok_or_else(|| err("too large"))?;
    }
    u64::try_from(total).map_err(|_| err("too large"))
}

/// Formats nanoseconds compactly: `"1h2m3s"`, `"250ms"`, `"1.5s"`, `"0s"`.
pub fn format_ns(ns: u64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    if ns % SECOND_NS != 0 {
        if ns < SECOND_NS {
            if ns % MILLISECOND_NS == 0 {
                return format!("{}ms", ns / MILLISECOND_NS);
            }
            if ns % 1_000 == 0 {
                return format!("{}us", ns / 1_000);
            }
            return format!("{ns}ns");
        }
        let secs = ns as f64 / SECOND_NS as f64;
        return format!("{secs:.3}s");
    }
    let mut s = ns / SECOND_NS;
    let mut out = String::new();
    if s >= 3600 {
        out.push_str(&format!("{}h", s / 3600));
        s %= 3600;
    }
    if s >= 60 {
        out.push_str(&format!("{}m", s / 60));
        s %= 60;
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
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
                parse_duration_ns(v)
                    .map(Duration::from_ns)
                    .map_err(E::custom)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(parse_duration_ns("30s").unwrap(), 30 * SECOND_NS);
        assert_eq!(parse_duration_ns("2m").unwrap(), 120 * SECOND_NS);
        assert_eq!(parse_duration_ns("2min").unwrap(), 120 * SECOND_NS);
        assert_eq!(parse_duration_ns("1h30m").unwrap(), 90 * MINUTE_NS);
        assert_eq!(parse_duration_ns("1.5s").unwrap(), 1_500 * MILLISECOND_NS);
        assert_eq!(parse_duration_ns("250ms").unwrap(), 250 * MILLISECOND_NS);
        assert_eq!(parse_duration_ns("0").unwrap(), 0);
        assert!(parse_duration_ns("30").is_err());
        assert!(parse_duration_ns("3x").is_err());
        assert!(parse_duration_ns("").is_err());
        assert_eq!(format_ns(90 * MINUTE_NS + 5 * SECOND_NS), "1h30m5s");
        assert_eq!(format_ns(250 * MILLISECOND_NS), "250ms");
        assert_eq!(format_ns(1_500 * MILLISECOND_NS), "1.500s");
    }
}
