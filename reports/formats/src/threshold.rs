//! Thresholds: pass/fail criteria on a run's results, so CI can gate on them.
//!
//! Grammar (whitespace around the parts is ignored):
//!
//! ```text
//! threshold := latency | errors
//! latency   := NAME "." STAT OP NUMBER UNIT
//! errors    := [NAME "."] "errors" OP NUMBER "%"
//! NAME      := a request metric (its type, or the name the mix gives it), "all", or a
//!              followed stage such as "payment.committed"
//! STAT      := "p50" | "p90" | "p99" | "p99.9" | "max" | "mean"
//! OP        := "<" | "<=" | ">" | ">="
//! UNIT      := "ns" | "us" | "µs" | "ms" | "s"
//! ```
//!
//! Latency thresholds read the latency from the *scheduled* start (coordinated omission
//! corrected). `errors` is `errors / (good answers + errors)` over every request (or over
//! the named one). A threshold on a metric with no data fails (so a typo cannot pass).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::duration::format_approx;
use crate::results::{Percentiles, Summary};

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// A latency statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// Largest.
    Max,
    /// Mean.
    Mean,
}

impl Stat {
    const ALL: [(Stat, &'static str); 6] = [
        (Stat::P999, "p99.9"),
        (Stat::P50, "p50"),
        (Stat::P90, "p90"),
        (Stat::P99, "p99"),
        (Stat::Max, "max"),
        (Stat::Mean, "mean"),
    ];

    fn name(self) -> &'static str {
        Stat::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }

    fn of(self, p: &Percentiles) -> u64 {
        match self {
            Stat::P50 => p.p50_ns,
            Stat::P90 => p.p90_ns,
            Stat::P99 => p.p99_ns,
            Stat::P999 => p.p99_9_ns,
            Stat::Max => p.max_ns,
            Stat::Mean => p.mean_ns,
        }
    }
}

/// What a threshold compares.
#[derive(Debug, Clone, PartialEq)]
pub enum Criterion {
    /// A latency statistic of a metric against a bound in ns.
    Latency {
        /// The metric.
        name: String,
        /// The statistic.
        stat: Stat,
        /// The bound, in ns.
        bound_ns: f64,
    },
    /// The error rate (of one metric, or of all requests) against a bound in percent.
    Errors {
        /// The metric (`None`: every request).
        name: Option<String>,
        /// The bound, in percent.
        bound_percent: f64,
    },
}

/// A parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// What it compares.
    pub criterion: Criterion,
    /// How.
    pub op: Op,
    /// The text it was parsed from.
    text: String,
}

/// A threshold that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "threshold {text:?}: {why}; the grammar is '<request or all>.<p50|p90|p99|p99.9|max|mean><op><number><ns|us|ms|s>' or 'errors<op><number>%' (op: < <= > >=)"
)]
pub struct ThresholdError {
    /// The text.
    pub text: String,
    /// What is wrong.
    pub why: String,
}

/// A threshold evaluated on a summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThresholdResult {
    /// The threshold as written.
    pub threshold: String,
    /// Whether it held.
    pub ok: bool,
    /// The measured value (ns for latencies, percent for errors); `null` without data.
    pub value: Option<f64>,
    /// The measured value for people (`4.21ms`, `0.05%`, or why there is none).
    pub actual: String,
}

impl Threshold {
    /// Parses a threshold (see the module documentation for the grammar).
    pub fn parse(text: &str) -> Result<Threshold, ThresholdError> {
        let fail = |why: &str| ThresholdError {
            text: text.to_string(),
            why: why.to_string(),
        };
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let at = compact
            .find(['<', '>'])
            .ok_or_else(|| fail("no comparison (< <= > >=)"))?;
        let (left, rest) = compact.split_at(at);
        let (op, right) = if let Some(r) = rest.strip_prefix("<=") {
            (Op::Le, r)
        } else if let Some(r) = rest.strip_prefix(">=") {
            (Op::Ge, r)
        } else if let Some(r) = rest.strip_prefix('<') {
            (Op::Lt, r)
        } else if let Some(r) = rest.strip_prefix('>') {
            (Op::Gt, r)
        } else {
            return Err(fail("no comparison"));
        };
        let number_end = right
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-'))
            .unwrap_or(right.len());
        let (number, unit) = right.split_at(number_end);
        let number: f64 = number
            .parse()
            .map_err(|_| fail(&format!("{number:?} is not a number")))?;
        if !number.is_finite() || number < 0.0 {
            return Err(fail("the bound must be a number >= 0"));
        }
        let errors_name = if left == "errors" {
            Some(None)
        } else {
            left.strip_suffix(".errors").map(|n| Some(n.to_string()))
        };
        if let Some(name) = errors_name {
            if unit != "%" {
                return Err(fail("an error rate is bounded in percent (errors<0.1%)"));
            }
            if name.as_deref() == Some("") {
                return Err(fail("no request name before .errors"));
            }
            return Ok(Threshold {
                criterion: Criterion::Errors {
                    name,
                    bound_percent: number,
                },
                op,
                text: text.trim().to_string(),
            });
        }
        let (stat, name) = Stat::ALL
            .iter()
            .find_map(|(s, n)| {
                left.strip_suffix(n)
                    .and_then(|rest| rest.strip_suffix('.'))
                    .map(|name| (*s, name))
            })
            .ok_or_else(|| {
                fail(&format!(
                    "{left:?} does not end in .p50, .p90, .p99, .p99.9, .max or .mean"
                ))
            })?;
        if name.is_empty() {
            return Err(fail("no request name (use `all` for every request)"));
        }
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "" => return Err(fail("the bound needs a unit (ns, us, ms, s)")),
            other => return Err(fail(&format!("unknown unit {other:?} (ns, us, ms, s)"))),
        };
        Ok(Threshold {
            criterion: Criterion::Latency {
                name: name.to_string(),
                stat,
                bound_ns: number * scale,
            },
            op,
            text: text.trim().to_string(),
        })
    }

    /// The metric names the threshold reads (for checking against the mix).
    pub fn metric(&self) -> Option<&str> {
        match &self.criterion {
            Criterion::Latency { name, .. } => Some(name),
            Criterion::Errors { name, .. } => name.as_deref(),
        }
    }

    /// Evaluates the threshold on `summary`.
    pub fn evaluate(&self, summary: &Summary) -> ThresholdResult {
        let result = |ok, value, actual| ThresholdResult {
            threshold: self.text.clone(),
            ok,
            value,
            actual,
        };
        match &self.criterion {
            Criterion::Latency {
                name,
                stat,
                bound_ns,
            } => {
                let p = summary
                    .requests
                    .get(name)
                    .map(|r| &r.latency)
                    .or_else(|| summary.follow.get(name));
                match p {
                    None => result(false, None, format!("no metric named {name:?}")),
                    Some(p) if p.count == 0 => result(false, None, format!("no data for {name:?}")),
                    Some(p) => {
                        let v = stat.of(p) as f64;
                        result(self.op.holds(v, *bound_ns), Some(v), format_approx(v))
                    }
                }
            }
            Criterion::Errors {
                name,
                bound_percent,
            } => {
                let r = match name {
                    None => Some((summary.error_rate, summary.completed + summary.errors)),
                    Some(n) => summary
                        .requests
                        .get(n)
                        .map(|r| (r.error_rate, r.completed + r.errors)),
                };
                match r {
                    None => result(
                        false,
                        None,
                        format!("no metric named {:?}", name.as_deref().unwrap_or("")),
                    ),
                    Some((_, 0)) => result(false, None, "no request finished".into()),
                    Some((rate, _)) => {
                        let v = rate * 100.0;
                        result(
                            self.op.holds(v, *bound_percent),
                            Some(v),
                            format!("{v:.3}%"),
                        )
                    }
                }
            }
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        let t = Threshold::parse("balance_info.p99<5ms").unwrap();
        assert_eq!(
            t.criterion,
            Criterion::Latency {
                name: "balance_info".into(),
                stat: Stat::P99,
                bound_ns: 5e6
            }
        );
        assert_eq!(t.op, Op::Lt);
        let t = Threshold::parse(" all.p99.9 <= 1.5 s ").unwrap();
        assert_eq!(
            t.criterion,
            Criterion::Latency {
                name: "all".into(),
                stat: Stat::P999,
                bound_ns: 1.5e9
            }
        );
        assert_eq!(t.op, Op::Le);
        let t = Threshold::parse("payment.committed.max<30s").unwrap();
        assert_eq!(t.metric(), Some("payment.committed"));
        let t = Threshold::parse("errors<0.1%").unwrap();
        assert_eq!(
            t.criterion,
            Criterion::Errors {
                name: None,
                bound_percent: 0.1
            }
        );
        let t = Threshold::parse("status_info.errors>=1%").unwrap();
        assert_eq!(t.metric(), Some("status_info"));
        assert_eq!(t.op, Op::Ge);
        assert_eq!(
            Threshold::parse("x.mean>250us").unwrap().criterion,
            Criterion::Latency {
                name: "x".into(),
                stat: Stat::Mean,
                bound_ns: 250e3
            }
        );
        for bad in [
            "balance_info.p99",
            "balance_info.p98<5ms",
            "balance_info.p99<5",
            "balance_info.p99<5min",
            "errors<1ms",
            ".p99<5ms",
            "p99<5ms",
            "errors<x%",
        ] {
            let e = Threshold::parse(bad).unwrap_err();
            assert!(e.to_string().contains("grammar"), "{bad}: {e}");
        }
    }
}
