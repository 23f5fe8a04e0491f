//! The load results file (`stegosim load --out results.json`): its format, and merging
//! several into one. The load generator writes it; `stegosim load merge` and the reports
//! read it.
//!
//! The format is documented in `loadgen/README.md` ("Results format"); [`FORMAT`] and
//! [`VERSION`] name it. Everything in `summary` is computed from the rest of the file (the
//! serialised histograms and the counts), so results from several load generators merge
//! *exactly* ([`merge`]): histograms are added bucket by bucket, counts and rates are summed,
//! and the summary is computed again from the merged data by the same code that computed it
//! for one run.
//!
//! Histograms are serialised with HdrHistogram's own V2 + DEFLATE encoding, in standard
//! base64 (the `HISTFAAA...` strings other HdrHistogram tools read too).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use crate::threshold::{Threshold, ThresholdResult};

/// The value of `format` in every results file.
pub const FORMAT: &str = "stegosim-load-results";

/// The version of the format this build writes and reads.
pub const VERSION: u32 = 1;

/// The name of the aggregate over every request metric.
pub const ALL: &str = "all";

/// The encoding of histograms, as written in `histograms.encoding`.
pub const HISTOGRAM_ENCODING: &str = "hdr-v2-deflate-base64";

/// Significant figures of the run's histograms (0.1% resolution).
pub const SIGFIG: u8 = 3;

/// Significant figures of the per-second histograms of the time series (1% is plenty for a
/// plot, and keeps each second small).
pub const SERIES_SIGFIG: u8 = 2;

/// The longest run the time series covers, in seconds (one entry per second).
pub const SERIES_SECONDS_MAX: usize = 7 * 24 * 3600;

/// A new, empty, auto-resizing histogram of nanoseconds.
pub fn new_histogram(sigfig: u8) -> Histogram<u64> {
    // Cannot fail: 2 and 3 significant figures are in hdrhistogram's range (0 to 5).
    let mut h = Histogram::new(sigfig).expect("sigfig 2 or 3 is valid");
    h.auto(true);
    h
}

/// Why a results file cannot be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// Not JSON of this format.
    #[error("{0}")]
    Format(String),
    /// A histogram that does not decode.
    #[error("histogram {name}: {detail}")]
    Histogram {
        /// Which histogram.
        name: String,
        /// What was wrong.
        detail: String,
    },
}

/// A results file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Results {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The run's configuration, as given (the merged file's is the first input's).
    pub config: serde_json::Value,
    /// What the run measured, computed from `histograms`, `counts` and `sources`.
    pub summary: Summary,
    /// Thresholds and whether they held.
    pub thresholds: Vec<ThresholdResult>,
    /// Exact counts, per request metric.
    pub counts: BTreeMap<String, Counts>,
    /// Every histogram, serialised.
    pub histograms: Histograms,
    /// One entry per second since the start.
    pub series: Vec<SeriesPoint>,
    /// The load generators whose runs these results hold (one, or several after a merge).
    pub sources: Vec<Source>,
}

/// Exact counts of one request metric.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Requests started.
    pub started: u64,
    /// Good answers.
    pub completed: u64,
    /// Errors by code (`rate_limited`, `forbidden`, `timeout`, `closed`, ...).
    pub errors: BTreeMap<String, u64>,
    /// Followed transactions that went wrong, by status (`rejected`, `conflicted`,
    /// `snowball_failed`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub follow_errors: BTreeMap<String, u64>,
    /// Followed transactions still open when the run ended.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub follow_unfinished: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// The serialised histograms, all in nanoseconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Histograms {
    /// Always [`HISTOGRAM_ENCODING`].
    pub encoding: String,
    /// Per request metric: from the scheduled start to the answer.
    pub latency: BTreeMap<String, String>,
    /// Per request metric: from sending to the answer.
    pub service_time: BTreeMap<String, String>,
    /// Per `metric.stage` of followed transactions: from submission to the notification.
    pub follow: BTreeMap<String, String>,
    /// Start lateness of every start.
    pub lateness: String,
}

/// One second of the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SeriesPoint {
    /// Seconds since the start (this entry covers `[second, second + 1)`).
    pub second: u64,
    /// Requests started in the second.
    pub started: u64,
    /// Good answers in the second (its throughput).
    pub completed: u64,
    /// Errors in the second.
    pub errors: u64,
    /// The second's errors by code (absent when none, and in files written before it existed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors_by_code: BTreeMap<String, u64>,
    /// Latency percentiles of the second's good answers (from the scheduled start).
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Largest.
    pub max_ns: u64,
    /// The second's latency histogram (2 significant figures), serialised.
    pub latency: String,
    /// The same per request metric, when the run had more than one (absent otherwise, and in
    /// files written before it existed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub latency_by_type: BTreeMap<String, String>,
}

/// One load generator's run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Where it sent load.
    pub endpoint: String,
    /// When it started, in ms since the Unix epoch.
    pub started_at_unix_ms: u64,
    /// The workload model.
    pub model: String,
    /// How long the schedule lasted, in seconds.
    pub scheduled_duration_s: f64,
    /// How long the run took, graceful stop included, in seconds.
    pub elapsed_s: f64,
    /// Requests per second the schedule asked for, when it promised a number.
    pub target_rate: Option<f64>,
    /// Requests the schedule promised, when it promised a number.
    pub scheduled: Option<u64>,
    /// Requests started per second over the scheduled duration.
    pub achieved_rate: f64,
    /// Good answers per second over the scheduled duration.
    pub completed_rate: f64,
    /// Starts behind schedule.
    pub behind_schedule: BehindSchedule,
    /// Answers that matched no request, or could not be read.
    pub unmatched: u64,
    /// Connections lost during the run.
    pub connections_lost: u64,
    /// The first reasons connections were lost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lost_reasons: Vec<String>,
}

/// Starts that could not happen on schedule.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BehindSchedule {
    /// Starts later than `tolerance_ns`.
    pub count: u64,
    /// The latest start, in ns after its scheduled time.
    pub worst_ns: u64,
    /// Of `count`: waited for a free in-flight slot (the server, or the in-flight limit,
    /// held them back).
    pub waited_for_slot: u64,
    /// Of `count`: late although a slot was free (the generator itself was late: its speed,
    /// or its share of the CPU).
    pub generator: u64,
    /// A start later than this is behind schedule, in ns.
    pub tolerance_ns: u64,
}

/// Percentiles of a histogram, in ns.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Percentiles {
    /// Values recorded.
    pub count: u64,
    /// Smallest.
    pub min_ns: u64,
    /// Mean, rounded.
    pub mean_ns: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p99_9_ns: u64,
    /// Largest.
    pub max_ns: u64,
}

impl Percentiles {
    /// The percentiles of `h` (all zero when it is empty).
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            min_ns: h.min(),
            mean_ns: h.mean().round() as u64,
            p50_ns: h.value_at_quantile(0.50),
            p90_ns: h.value_at_quantile(0.90),
            p99_ns: h.value_at_quantile(0.99),
            p99_9_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
        }
    }
}

/// One request metric's summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RequestSummary {
    /// Requests started.
    pub started: u64,
    /// Good answers.
    pub completed: u64,
    /// Errors (every code).
    pub errors: u64,
    /// `errors / (completed + errors)`, 0 when nothing finished.
    pub error_rate: f64,
    /// From the scheduled start to the answer: the latency a user waiting on the schedule
    /// saw (coordinated omission corrected).
    pub latency: Percentiles,
    /// From sending to the answer (uncorrected service time).
    pub service_time: Percentiles,
}

/// What the run measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Requests per second the schedule asked for; `null` for closed models without a
    /// pacing (they measure throughput instead).
    pub target_rate: Option<f64>,
    /// Requests started per second over the scheduled duration.
    pub achieved_rate: f64,
    /// Good answers per second over the scheduled duration.
    pub completed_rate: f64,
    /// Requests the schedule promised (`null` when it promised no number).
    pub scheduled: Option<u64>,
    /// Requests started.
    pub started: u64,
    /// Requests the schedule promised that never started: the schedule ended before the
    /// generator could start them (they were behind schedule). `null` without a schedule.
    pub not_started: Option<u64>,
    /// Good answers.
    pub completed: u64,
    /// Errors.
    pub errors: u64,
    /// `errors / (completed + errors)`.
    pub error_rate: f64,
    /// Errors by code over every request.
    pub errors_by_code: BTreeMap<String, u64>,
    /// Starts behind schedule.
    pub behind_schedule: BehindSchedule,
    /// Start lateness of every start.
    pub lateness: Percentiles,
    /// Per request metric, and `all`.
    pub requests: BTreeMap<String, RequestSummary>,
    /// Per `metric.stage` of followed transactions (`payment.accepted`, `payment.prepared`,
    /// `payment.committed`, `secure_payment.succeeded`): from submission to the notification.
    pub follow: BTreeMap<String, Percentiles>,
    /// Answers that matched no request, or could not be read.
    pub unmatched: u64,
    /// Connections lost during the run.
    pub connections_lost: u64,
    /// Whether every threshold held (true when there are none).
    pub thresholds_ok: bool,
}

/// Serialises a histogram: V2 + DEFLATE, base64.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Cannot fail: writing to a Vec does no I/O, and a u64 histogram always encodes.
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .expect("a histogram serialises into memory");
    BASE64.encode(bytes)
}

/// Reads a histogram written by [`encode_histogram`] (or any HdrHistogram V2 encoder).
pub fn decode_histogram(name: &str, text: &str) -> Result<Histogram<u64>, ResultsError> {
    let err = |detail: String| ResultsError::Histogram {
        name: name.to_string(),
        detail,
    };
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|e| err(format!("not base64: {e}")))?;
    let mut h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| err(format!("not an HdrHistogram V2 encoding: {e:?}")))?;
    h.auto(true);
    Ok(h)
}

/// Adds `b` into `a`, growing `a` as needed.
fn add(name: &str, a: &mut Histogram<u64>, b: &Histogram<u64>) -> Result<(), ResultsError> {
    a.add(b).map_err(|e| ResultsError::Histogram {
        name: name.to_string(),
        detail: format!("cannot be added: {e:?}"),
    })
}

/// One second of the decoded time series.
#[derive(Debug, Clone)]
pub struct Second {
    /// Requests started.
    pub started: u64,
    /// Good answers.
    pub completed: u64,
    /// Errors.
    pub errors: u64,
    /// Errors by code.
    pub errors_by_code: BTreeMap<String, u64>,
    /// Latency of the good answers.
    pub latency: Histogram<u64>,
    /// The same per request metric (empty when not recorded).
    pub latency_by_type: BTreeMap<String, Histogram<u64>>,
}

impl Second {
    /// A second in which nothing happened.
    pub fn empty() -> Second {
        Second {
            started: 0,
            completed: 0,
            errors: 0,
            errors_by_code: BTreeMap::new(),
            latency: new_histogram(SERIES_SIGFIG),
            latency_by_type: BTreeMap::new(),
        }
    }
}

/// The data a summary is computed from: decoded histograms and counts.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Per metric.
    pub counts: BTreeMap<String, Counts>,
    /// Per metric: latency.
    pub latency: BTreeMap<String, Histogram<u64>>,
    /// Per metric: service time.
    pub service: BTreeMap<String, Histogram<u64>>,
    /// Per `metric.stage`.
    pub follow: BTreeMap<String, Histogram<u64>>,
    /// Start lateness.
    pub lateness: Histogram<u64>,
    /// Per second.
    pub series: Vec<Second>,
    /// The sources.
    pub sources: Vec<Source>,
}

impl Measured {
    /// Decodes a results file's data.
    pub fn from_results(r: &Results) -> Result<Measured, ResultsError> {
        if r.format != FORMAT {
            return Err(ResultsError::Format(format!(
                "format {:?} is not {FORMAT:?}",
                r.format
            )));
        }
        if r.version != VERSION {
            return Err(ResultsError::Format(format!(
                "version {} is not {VERSION} (this build's)",
                r.version
            )));
        }
        if r.histograms.encoding != HISTOGRAM_ENCODING {
            return Err(ResultsError::Format(format!(
                "histogram encoding {:?} is not {HISTOGRAM_ENCODING:?}",
                r.histograms.encoding
            )));
        }
        let decode_map = |what: &str, m: &BTreeMap<String, String>| {
            m.iter()
                .map(|(k, v)| Ok((k.clone(), decode_histogram(&format!("{what}.{k}"), v)?)))
                .collect::<Result<BTreeMap<_, _>, ResultsError>>()
        };
        let mut series = Vec::new();
        for p in &r.series {
            let h = decode_histogram(&format!("series[{}]", p.second), &p.latency)?;
            let i = p.second as usize;
            if i > SERIES_SECONDS_MAX {
                return Err(ResultsError::Format(format!(
                    "series second {i} is beyond the limit"
                )));
            }
            while series.len() <= i {
                series.push(Second::empty());
            }
            let mut latency_by_type = BTreeMap::new();
            for (name, text) in &p.latency_by_type {
                latency_by_type.insert(
                    name.clone(),
                    decode_histogram(&format!("series[{}].{name}", p.second), text)?,
                );
            }
            series[i] = Second {
                started: p.started,
                completed: p.completed,
                errors: p.errors,
                errors_by_code: p.errors_by_code.clone(),
                latency: h,
                latency_by_type,
            };
        }
        Ok(Measured {
            counts: r.counts.clone(),
            latency: decode_map("latency", &r.histograms.latency)?,
            service: decode_map("service_time", &r.histograms.service_time)?,
            follow: decode_map("follow", &r.histograms.follow)?,
            lateness: decode_histogram("lateness", &r.histograms.lateness)?,
            series,
            sources: r.sources.clone(),
        })
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Measured) -> Result<(), ResultsError> {
        for (name, c) in &other.counts {
            let mine = self.counts.entry(name.clone()).or_default();
            mine.started += c.started;
            mine.completed += c.completed;
            mine.follow_unfinished += c.follow_unfinished;
            for (code, n) in &c.errors {
                *mine.errors.entry(code.clone()).or_insert(0) += n;
            }
            for (code, n) in &c.follow_errors {
                *mine.follow_errors.entry(code.clone()).or_insert(0) += n;
            }
        }
        for (mine, theirs, what) in [
            (&mut self.latency, &other.latency, "latency"),
            (&mut self.service, &other.service, "service_time"),
            (&mut self.follow, &other.follow, "follow"),
        ] {
            for (name, h) in theirs {
                let target = mine
                    .entry(name.clone())
                    .or_insert_with(|| new_histogram(SIGFIG));
                add(&format!("{what}.{name}"), target, h)?;
            }
        }
        add("lateness", &mut self.lateness, &other.lateness)?;
        for (i, o) in other.series.iter().enumerate() {
            while self.series.len() <= i {
                self.series.push(Second::empty());
            }
            let s = &mut self.series[i];
            s.started += o.started;
            s.completed += o.completed;
            s.errors += o.errors;
            for (code, n) in &o.errors_by_code {
                *s.errors_by_code.entry(code.clone()).or_insert(0) += n;
            }
            add(&format!("series[{i}]"), &mut s.latency, &o.latency)?;
            for (name, h) in &o.latency_by_type {
                let target = s
                    .latency_by_type
                    .entry(name.clone())
                    .or_insert_with(|| new_histogram(SERIES_SIGFIG));
                add(&format!("series[{i}].{name}"), target, h)?;
            }
        }
        self.sources.extend(other.sources.iter().cloned());
        Ok(())
    }

    /// The results file of this data: the summary computed, the thresholds evaluated.
    pub fn to_results(&self, config: serde_json::Value, thresholds: &[Threshold]) -> Results {
        let mut requests = BTreeMap::new();
        let mut all_latency = new_histogram(SIGFIG);
        let mut all_service = new_histogram(SIGFIG);
        let mut all = RequestSummary::default();
        let mut errors_by_code: BTreeMap<String, u64> = BTreeMap::new();
        for (name, c) in &self.counts {
            let errors: u64 = c.errors.values().sum();
            for (code, n) in &c.errors {
                *errors_by_code.entry(code.clone()).or_insert(0) += n;
            }
            let empty = new_histogram(SIGFIG);
            let l = self.latency.get(name).unwrap_or(&empty);
            let s = self.service.get(name).unwrap_or(&empty);
            // Adding histograms of the same kind never fails once auto-resize is on.
            let _ = all_latency.add(l);
            let _ = all_service.add(s);
            all.started += c.started;
            all.completed += c.completed;
            all.errors += errors;
            requests.insert(
                name.clone(),
                RequestSummary {
                    started: c.started,
                    completed: c.completed,
                    errors,
                    error_rate: rate(errors, c.completed),
                    latency: Percentiles::of(l),
                    service_time: Percentiles::of(s),
                },
            );
        }
        all.error_rate = rate(all.errors, all.completed);
        all.latency = Percentiles::of(&all_latency);
        all.service_time = Percentiles::of(&all_service);
        requests.insert(ALL.to_string(), all.clone());

        let sum = |f: &dyn Fn(&Source) -> f64| self.sources.iter().map(f).sum::<f64>();
        let target_rate = self
            .sources
            .iter()
            .map(|s| s.target_rate)
            .sum::<Option<f64>>();
        let scheduled = self
            .sources
            .iter()
            .map(|s| s.scheduled)
            .sum::<Option<u64>>();
        let mut behind = BehindSchedule::default();
        for s in &self.sources {
            let b = &s.behind_schedule;
            behind.count += b.count;
            behind.worst_ns = behind.worst_ns.max(b.worst_ns);
            behind.waited_for_slot += b.waited_for_slot;
            behind.generator += b.generator;
            behind.tolerance_ns = behind.tolerance_ns.max(b.tolerance_ns);
        }
        let mut summary = Summary {
            target_rate,
            achieved_rate: sum(&|s| s.achieved_rate),
            completed_rate: sum(&|s| s.completed_rate),
            scheduled,
            started: all.started,
            not_started: scheduled.map(|n| n.saturating_sub(all.started)),
            completed: all.completed,
            errors: all.errors,
            error_rate: all.error_rate,
            errors_by_code,
            behind_schedule: behind,
            lateness: Percentiles::of(&self.lateness),
            requests,
            follow: self
                .follow
                .iter()
                .map(|(k, h)| (k.clone(), Percentiles::of(h)))
                .collect(),
            unmatched: self.sources.iter().map(|s| s.unmatched).sum(),
            connections_lost: self.sources.iter().map(|s| s.connections_lost).sum(),
            thresholds_ok: true,
        };
        let results: Vec<ThresholdResult> =
            thresholds.iter().map(|t| t.evaluate(&summary)).collect();
        summary.thresholds_ok = results.iter().all(|r| r.ok);
        let several_types = self.counts.len() > 1;
        let encode_map = |m: &BTreeMap<String, Histogram<u64>>| {
            m.iter()
                .map(|(k, h)| (k.clone(), encode_histogram(h)))
                .collect::<BTreeMap<_, _>>()
        };
        Results {
            format: FORMAT.into(),
            version: VERSION,
            config,
            summary,
            thresholds: results,
            counts: self.counts.clone(),
            histograms: Histograms {
                encoding: HISTOGRAM_ENCODING.into(),
                latency: encode_map(&self.latency),
                service_time: encode_map(&self.service),
                follow: encode_map(&self.follow),
                lateness: encode_histogram(&self.lateness),
            },
            series: self
                .series
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let h = &s.latency;
                    let p = Percentiles::of(h);
                    SeriesPoint {
                        second: i as u64,
                        started: s.started,
                        completed: s.completed,
                        errors: s.errors,
                        errors_by_code: s.errors_by_code.clone(),
                        // One request type: its series is `latency` itself.
                        latency_by_type: if several_types {
                            s.latency_by_type
                                .iter()
                                .filter(|(_, h)| !h.is_empty())
                                .map(|(k, h)| (k.clone(), encode_histogram(h)))
                                .collect()
                        } else {
                            BTreeMap::new()
                        },
                        p50_ns: p.p50_ns,
                        p90_ns: p.p90_ns,
                        p99_ns: p.p99_ns,
                        max_ns: p.max_ns,
                        latency: encode_histogram(h),
                    }
                })
                .collect(),
            sources: self.sources.clone(),
        }
    }
}

/// `errors / (completed + errors)`, 0 when both are 0.
fn rate(errors: u64, completed: u64) -> f64 {
    let finished = errors + completed;
    if finished == 0 {
        0.0
    } else {
        errors as f64 / finished as f64
    }
}

impl Results {
    /// Reads a results file's text.
    pub fn from_json(text: &str) -> Result<Results, ResultsError> {
        let r: Results =
            serde_json::from_str(text).map_err(|e| ResultsError::Format(e.to_string()))?;
        // Decode once to check the histograms and the format.
        Measured::from_results(&r)?;
        Ok(r)
    }

    /// The file's text (pretty JSON and a newline).
    pub fn to_json(&self) -> String {
        // Cannot fail: every map key is a string and floats are finite (rates of finite
        // counts over positive durations).
        let mut s = serde_json::to_string_pretty(self).expect("results serialise to JSON");
        s.push('\n');
        s
    }

    /// The thresholds named in the configuration (`config.thresholds`), parsed.
    pub fn configured_thresholds(&self) -> Vec<Threshold> {
        self.config
            .get("thresholds")
            .and_then(|t| t.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str())
                    .filter_map(|t| Threshold::parse(t).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Merges results of several load generators into one, exactly: histograms added, counts
/// and rates summed (the generators ran at the same time against the same system), time
/// series aligned by second since each one's start, and the summary computed again. The
/// thresholds evaluated are those configured in any input, then `thresholds`; the merged
/// configuration is the first input's, with that list of thresholds.
pub fn merge(inputs: &[Results], thresholds: &[Threshold]) -> Result<Results, ResultsError> {
    let Some(first) = inputs.first() else {
        return Err(ResultsError::Format("nothing to merge".into()));
    };
    let mut m = Measured::from_results(first)?;
    for r in &inputs[1..] {
        m.merge(&Measured::from_results(r)?)?;
    }
    let mut all: Vec<Threshold> = Vec::new();
    for t in inputs
        .iter()
        .flat_map(|r| r.configured_thresholds())
        .chain(thresholds.iter().cloned())
    {
        if !all.contains(&t) {
            all.push(t);
        }
    }
    let mut config = first.config.clone();
    if let Some(obj) = config.as_object_mut() {
        obj.insert(
            "thresholds".into(),
            serde_json::Value::from(all.iter().map(|t| t.to_string()).collect::<Vec<_>>()),
        );
        obj.insert("merged_from".into(), serde_json::Value::from(inputs.len()));
    }
    Ok(m.to_results(config, &all))
}
