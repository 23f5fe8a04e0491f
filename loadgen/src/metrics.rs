//! What a run measured: [`Event`]s from the workers, folded into a [`Recorder`].
//!
//! Workers never touch histograms themselves: they append [`Event`]s to a buffer, and their
//! driver hands the buffer to the one `Recorder` of the run now and then (every few hundred
//! events, or every 100 ms). So a connection's hot path is a `Vec::push`, the histograms live
//! once per run instead of once per connection, and the simulator can feed the same recorder
//! in virtual time.
//!
//! Latency is kept apart from errors: an answer that is an `error`, a timeout or a closed
//! connection is counted by request and code, never recorded as a latency.

use std::collections::BTreeMap;
use std::fmt;

use hdrhistogram::Histogram;
use stegosim_api::message::ErrorCode;

use stegosim_formats::results::{Counts, Measured, Second, Source};

use crate::plan::NS_PER_S;

// The histogram precision and the series' length belong to the results format.
pub use stegosim_formats::results::{SERIES_SECONDS_MAX, SERIES_SIGFIG, SIGFIG, new_histogram};

/// Records `v` into `h`, growing it as needed (`saturating_record` would clamp to the
/// current range instead of growing an auto-resizing histogram).
pub fn record(h: &mut Histogram<u64>, v: u64) {
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

/// Why a request did not get a good answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The server answered with an `error` carrying this code (`rate_limited`, `forbidden`,
    /// `internal`, ...), or `error` without a code (`unknown`).
    Reply(String),
    /// No answer within the request timeout.
    Timeout,
    /// The connection closed (or failed) with the request in flight.
    Closed,
    /// The answer was not a readable message.
    BadReply,
    /// The run ended (after its graceful stop) with the request still in flight.
    Interrupted,
    /// A followed transaction was rejected or lost to a conflict, or a Snowball round failed:
    /// the status or state named.
    Follow(String),
}

impl ErrorKind {
    /// The code under which results count it.
    pub fn code(&self) -> &str {
        match self {
            ErrorKind::Reply(c) | ErrorKind::Follow(c) => c,
            ErrorKind::Timeout => "timeout",
            ErrorKind::Closed => "closed",
            ErrorKind::BadReply => "bad_reply",
            ErrorKind::Interrupted => "interrupted",
        }
    }

    /// The error of an `error` reply with this code.
    pub fn from_reply_code(code: Option<&str>) -> ErrorKind {
        match code {
            // Known codes come back as their static names (no surprises from odd casing).
            Some(c) => ErrorKind::Reply(ErrorCode::from_name(c).as_str().to_string()),
            None => ErrorKind::Reply("unknown".into()),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A stage of a followed transaction or Snowball round whose latency is measured from the
/// request's submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FollowStage {
    /// `transaction_status` `accepted` (in the mempool).
    Accepted,
    /// `transaction_status` `prepared` (in a micro block).
    Prepared,
    /// `transaction_status` `committed` (in a macro block: final).
    Committed,
    /// `snowball_status` `succeeded`.
    Succeeded,
}

impl FollowStage {
    /// The stage's name in metric names (`payment.committed`).
    pub fn name(self) -> &'static str {
        match self {
            FollowStage::Accepted => "accepted",
            FollowStage::Prepared => "prepared",
            FollowStage::Committed => "committed",
            FollowStage::Succeeded => "succeeded",
        }
    }
}

/// Something a worker saw. Times are ns since the run's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request started (was handed to the connection).
    Started {
        /// The metric index (mix order).
        metric: u16,
        /// When the schedule said it should start (= `started_ns` when there is no schedule).
        scheduled_ns: u64,
        /// When it started.
        started_ns: u64,
        /// Whether it waited because the connection's in-flight limit was reached.
        waited_for_slot: bool,
    },
    /// A request got a good answer.
    Completed {
        /// The metric index.
        metric: u16,
        /// When it should have started.
        scheduled_ns: u64,
        /// When it was sent.
        sent_ns: u64,
        /// When the answer arrived.
        done_ns: u64,
    },
    /// A request failed.
    Failed {
        /// The metric index.
        metric: u16,
        /// Why.
        kind: ErrorKind,
        /// When it was known.
        at_ns: u64,
    },
    /// A followed transaction or round reached a stage.
    Followed {
        /// The metric index of the request that submitted it.
        metric: u16,
        /// Which stage.
        stage: FollowStage,
        /// From sending the request to the notification, in ns.
        latency_ns: u64,
    },
    /// A followed transaction or round was still open when the run ended.
    FollowUnfinished {
        /// The metric index of the request that submitted it.
        metric: u16,
    },
    /// An answer whose id matches no request in flight (late after a timeout, or foreign),
    /// or a message that could not be read at all.
    Unmatched {
        /// When it arrived.
        at_ns: u64,
    },
    /// A connection closed or could not be used.
    ConnectionLost {
        /// Why, as the connection said it.
        reason: String,
        /// When.
        at_ns: u64,
    },
}

/// One second of the time series.
#[derive(Debug, Clone)]
pub struct SecondStats {
    /// Requests started during the second.
    pub started: u64,
    /// Good answers received during the second.
    pub completed: u64,
    /// Errors known during the second.
    pub errors: u64,
    /// The second's errors by code (`rate_limited`, `timeout`, ...).
    pub error_codes: BTreeMap<String, u64>,
    /// Latencies (from the scheduled start) of the second's good answers.
    pub latency: Histogram<u64>,
    /// The same per request metric (index as in `Recorder::metrics`; only as long as needed).
    pub latency_by_metric: Vec<Histogram<u64>>,
}

impl SecondStats {
    /// An empty second.
    pub fn new() -> Self {
        SecondStats {
            started: 0,
            completed: 0,
            errors: 0,
            error_codes: BTreeMap::new(),
            latency: new_histogram(SERIES_SIGFIG),
            latency_by_metric: Vec::new(),
        }
    }
}

impl Default for SecondStats {
    fn default() -> Self {
        Self::new()
    }
}

/// Starts that could not happen on schedule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Behind {
    /// Starts later than the tolerance.
    pub count: u64,
    /// The latest start, in ns after its scheduled time.
    pub worst_ns: u64,
    /// Of `count`, those that waited for a free in-flight slot (the system under test, or
    /// the in-flight limit, held them back).
    pub waited_for_slot: u64,
    /// Of `count`, those late with a slot free: the generator itself (CPU, timer, a
    /// connection that would not take more) could not keep up.
    pub generator: u64,
}

/// Everything a run measured, merged from every worker.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// Metric names, by index (the mix's).
    pub metrics: Vec<String>,
    /// Per metric: latency from the scheduled start to the answer (coordinated omission
    /// corrected).
    pub latency: Vec<Histogram<u64>>,
    /// Per metric: service time, from sending to the answer (uncorrected).
    pub service: Vec<Histogram<u64>>,
    /// Per `metric.stage`: from submission to the notification.
    pub follow: BTreeMap<String, Histogram<u64>>,
    /// Errors per metric and code.
    pub errors: BTreeMap<(String, String), u64>,
    /// Followed transactions rejected or conflicted and Snowball rounds failed, per metric and
    /// status (kept apart from request errors: their request had a good answer).
    pub follow_errors: BTreeMap<(String, String), u64>,
    /// Followed transactions and rounds still open at the end, per metric.
    pub follow_unfinished: BTreeMap<String, u64>,
    /// Start lateness of every start (0 when on time), in ns.
    pub lateness: Histogram<u64>,
    /// Starts behind schedule.
    pub behind: Behind,
    /// A start later than this is behind schedule, in ns.
    pub behind_tolerance_ns: u64,
    /// Requests started, per metric.
    pub started: Vec<u64>,
    /// Good answers, per metric.
    pub completed: Vec<u64>,
    /// Answers that matched no request.
    pub unmatched: u64,
    /// Connections lost, with the first few reasons.
    pub connections_lost: u64,
    /// The first reasons connections were lost (at most 8).
    pub lost_reasons: Vec<String>,
    /// The time series, one entry per second since the start.
    pub series: Vec<SecondStats>,
    /// Latency of every good answer so far, at series precision (for the live line).
    pub live_latency: Histogram<u64>,
}

impl Recorder {
    /// An empty recorder for these metrics.
    pub fn new(metrics: &[String], behind_tolerance_ns: u64) -> Recorder {
        let n = metrics.len();
        Recorder {
            metrics: metrics.to_vec(),
            latency: (0..n).map(|_| new_histogram(SIGFIG)).collect(),
            service: (0..n).map(|_| new_histogram(SIGFIG)).collect(),
            follow: BTreeMap::new(),
            errors: BTreeMap::new(),
            follow_errors: BTreeMap::new(),
            follow_unfinished: BTreeMap::new(),
            lateness: new_histogram(SIGFIG),
            behind: Behind::default(),
            behind_tolerance_ns,
            started: vec![0; n],
            completed: vec![0; n],
            unmatched: 0,
            connections_lost: 0,
            lost_reasons: Vec::new(),
            series: Vec::new(),
            live_latency: new_histogram(SERIES_SIGFIG),
        }
    }

    fn second(&mut self, t_ns: u64) -> &mut SecondStats {
        let i = ((t_ns / NS_PER_S) as usize).min(SERIES_SECONDS_MAX);
        if self.series.len() <= i {
            self.series.resize_with(i + 1, SecondStats::new);
        }
        &mut self.series[i]
    }

    fn name(&self, metric: u16) -> String {
        self.metrics
            .get(usize::from(metric))
            .cloned()
            .unwrap_or_else(|| format!("metric{metric}"))
    }

    /// Folds one event in: one handler per kind (the hot two, started and completed,
    /// inlined here).
    pub fn record(&mut self, event: &Event) {
        match event {
            Event::Started {
                metric,
                scheduled_ns,
                started_ns,
                waited_for_slot,
            } => self.record_started(*metric, *scheduled_ns, *started_ns, *waited_for_slot),
            Event::Completed {
                metric,
                scheduled_ns,
                sent_ns,
                done_ns,
            } => self.record_completed(*metric, *scheduled_ns, *sent_ns, *done_ns),
            Event::Failed {
                metric,
                kind,
                at_ns,
            } => self.record_failed(*metric, kind, *at_ns),
            Event::Followed {
                metric,
                stage,
                latency_ns,
            } => {
                let key = format!("{}.{}", self.name(*metric), stage.name());
                let h = self
                    .follow
                    .entry(key)
                    .or_insert_with(|| new_histogram(SIGFIG));
                record(h, *latency_ns);
            }
            Event::FollowUnfinished { metric } => {
                let name = self.name(*metric);
                *self.follow_unfinished.entry(name).or_insert(0) += 1;
            }
            Event::Unmatched { .. } => self.unmatched += 1,
            Event::ConnectionLost { reason, .. } => {
                self.connections_lost += 1;
                if self.lost_reasons.len() < 8 {
                    self.lost_reasons.push(reason.clone());
                }
            }
        }
    }

    /// A request started: its count, its lateness, and whether it fell behind schedule.
    #[inline]
    fn record_started(
        &mut self,
        metric: u16,
        scheduled_ns: u64,
        started_ns: u64,
        waited_for_slot: bool,
    ) {
        let m = usize::from(metric);
        if let Some(s) = self.started.get_mut(m) {
            *s += 1;
        }
        let late = started_ns.saturating_sub(scheduled_ns);
        record(&mut self.lateness, late);
        if late > self.behind_tolerance_ns {
            self.behind.count += 1;
            self.behind.worst_ns = self.behind.worst_ns.max(late);
            if waited_for_slot {
                self.behind.waited_for_slot += 1;
            } else {
                self.behind.generator += 1;
            }
        }
        self.second(started_ns).started += 1;
    }

    /// A good answer: latency (from the schedule) and service time, overall and in its second.
    #[inline]
    fn record_completed(&mut self, metric: u16, scheduled_ns: u64, sent_ns: u64, done_ns: u64) {
        let m = usize::from(metric);
        let latency = done_ns.saturating_sub(scheduled_ns);
        let service = done_ns.saturating_sub(sent_ns);
        if let (Some(l), Some(s), Some(c)) = (
            self.latency.get_mut(m),
            self.service.get_mut(m),
            self.completed.get_mut(m),
        ) {
            record(l, latency);
            record(s, service);
            *c += 1;
        }
        record(&mut self.live_latency, latency);
        let sec = self.second(done_ns);
        sec.completed += 1;
        record(&mut sec.latency, latency);
        if sec.latency_by_metric.len() <= m {
            sec.latency_by_metric
                .resize_with(m + 1, || new_histogram(SERIES_SIGFIG));
        }
        record(&mut sec.latency_by_metric[m], latency);
    }

    /// A failed request (counted per second and code) or a failed follow-up (per code only).
    fn record_failed(&mut self, metric: u16, kind: &ErrorKind, at_ns: u64) {
        let name = self.name(metric);
        let key = (name, kind.code().to_string());
        if let ErrorKind::Follow(_) = kind {
            *self.follow_errors.entry(key).or_insert(0) += 1;
        } else {
            let sec = self.second(at_ns);
            sec.errors += 1;
            *sec.error_codes.entry(key.1.clone()).or_insert(0) += 1;
            *self.errors.entry(key).or_insert(0) += 1;
        }
    }

    /// Folds a batch of events in, leaving the buffer empty.
    pub fn record_all(&mut self, events: &mut Vec<Event>) {
        for e in events.iter() {
            self.record(e);
        }
        events.clear();
    }

    /// Requests started, over every metric.
    pub fn started_total(&self) -> u64 {
        self.started.iter().sum()
    }

    /// Good answers, over every metric.
    pub fn completed_total(&self) -> u64 {
        self.completed.iter().sum()
    }

    /// Errors of requests (not counting followed stages), over every metric and code.
    pub fn errors_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

impl Recorder {
    /// What the run measured, as the results format holds it, with its source description.
    pub fn measured(&self, source: Source) -> Measured {
        let r = self;
        let mut counts = BTreeMap::new();
        let mut latency = BTreeMap::new();
        let mut service = BTreeMap::new();
        for (i, name) in r.metrics.iter().enumerate() {
            let c: &mut Counts = counts.entry(name.clone()).or_default();
            c.started += r.started[i];
            c.completed += r.completed[i];
            latency.insert(name.clone(), r.latency[i].clone());
            service.insert(name.clone(), r.service[i].clone());
        }
        for ((name, code), n) in &r.errors {
            *counts
                .entry(name.clone())
                .or_default()
                .errors
                .entry(code.clone())
                .or_insert(0) += n;
        }
        for ((name, code), n) in &r.follow_errors {
            *counts
                .entry(name.clone())
                .or_default()
                .follow_errors
                .entry(code.clone())
                .or_insert(0) += n;
        }
        for (name, n) in &r.follow_unfinished {
            counts.entry(name.clone()).or_default().follow_unfinished += n;
        }
        Measured {
            counts,
            latency,
            service,
            follow: r.follow.clone(),
            lateness: r.lateness.clone(),
            series: r
                .series
                .iter()
                .map(|s| {
                    let mut latency_by_type: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
                    for (i, h) in s.latency_by_metric.iter().enumerate() {
                        let name = r
                            .metrics
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| format!("metric{i}"));
                        let target = latency_by_type
                            .entry(name)
                            .or_insert_with(|| new_histogram(SERIES_SIGFIG));
                        // Same precision, auto-resize: adding cannot fail.
                        let _ = target.add(h);
                    }
                    Second {
                        started: s.started,
                        completed: s.completed,
                        errors: s.errors,
                        errors_by_code: s.error_codes.clone(),
                        latency: s.latency.clone(),
                        latency_by_type,
                    }
                })
                .collect(),
            sources: vec![source],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_errors_and_lateness_are_kept_apart() {
        let mut r = Recorder::new(&["a".into(), "b".into()], 1_000_000);
        let mut events = vec![
            Event::Started {
                metric: 0,
                scheduled_ns: 0,
                started_ns: 10,
                waited_for_slot: false,
            },
            Event::Started {
                metric: 1,
                scheduled_ns: 0,
                started_ns: 5_000_000,
                waited_for_slot: true,
            },
            Event::Started {
                metric: 1,
                scheduled_ns: 1_000_000_000,
                started_ns: 1_003_000_000,
                waited_for_slot: false,
            },
            Event::Completed {
                metric: 0,
                scheduled_ns: 0,
                sent_ns: 10,
                done_ns: 1_000_010,
            },
            Event::Failed {
                metric: 1,
                kind: ErrorKind::from_reply_code(Some("rate_limited")),
                at_ns: 1_500_000_000,
            },
        ];
        r.record_all(&mut events);
        assert!(events.is_empty());
        assert_eq!(r.started, vec![1, 2]);
        assert_eq!(r.completed, vec![1, 0]);
        assert_eq!(r.latency[1].len(), 0, "errors are not latencies");
        assert_eq!(r.errors[&("b".to_string(), "rate_limited".to_string())], 1);
        assert_eq!(
            r.behind,
            Behind {
                count: 2,
                worst_ns: 5_000_000,
                waited_for_slot: 1,
                generator: 1
            }
        );
        assert_eq!(r.series.len(), 2);
        assert_eq!(r.series[1].errors, 1);
        assert_eq!(r.series[1].error_codes["rate_limited"], 1);
        // The second's latency per metric: metric 0's answer, nothing for metric 1.
        assert_eq!(r.series[0].latency_by_metric.len(), 1);
        assert_eq!(r.series[0].latency_by_metric[0].len(), 1);
        assert!(r.series[1].latency_by_metric.is_empty());
        assert!(r.latency[0].equivalent(r.latency[0].max(), 1_000_000));
        assert!(r.service[0].equivalent(r.service[0].max(), 1_000_000));
    }
}
