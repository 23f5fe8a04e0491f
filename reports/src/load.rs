//! Reading a load run: one or more `results.json` of `stegosim load` (format in
//! `loadgen/README.md`), merged exactly by the format's own merge (the one `stegosim load
//! merge` runs) when there are several, and the facts the report shows (verdict, target per second, decoded histograms).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use stegosim_formats::duration::format_approx;
use stegosim_formats::plan::{Plan, ScheduleConfig};
use stegosim_formats::results::{Measured, Results, merge};

use crate::Error;

/// A load run as the report shows it.
#[derive(Debug, Clone)]
pub struct LoadRun {
    /// The results files read (several: merged).
    pub paths: Vec<PathBuf>,
    /// The results (merged when several files were given).
    pub results: Results,
    /// Per request metric: latency from the scheduled start.
    pub latency: BTreeMap<String, Histogram<u64>>,
    /// Per request metric: service time (from sending).
    pub service: BTreeMap<String, Histogram<u64>>,
    /// Per followed stage (`payment.committed`, ...): from submission to the notification.
    pub follow: BTreeMap<String, Histogram<u64>>,
    /// Per second: the 99.9th percentile of that second's latency (the results store p50,
    /// p90, p99 and max; this one comes from the second's histogram).
    pub series_p99_9_ns: Vec<u64>,
    /// Per request type, per second: p50, p90, p99, p99.9 and max of that second's latency
    /// (0 without answers). Empty when the results have no per-type series (one request type,
    /// or results written before it existed) or the per-type series do not add up.
    pub series_by_type: BTreeMap<String, Vec<[u64; 5]>>,
    /// Per second: requests the schedule asked to start in it, when the model has a
    /// schedule (open models: exact from the plan; paced closed models: the mean rate).
    pub target_per_second: Option<Vec<f64>>,
}

/// Whether the text is a load results file (by its `format` field, not by its name).
pub fn is_load_results(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default)]
        format: Option<String>,
    }
    serde_json::from_str::<Probe>(text)
        .ok()
        .and_then(|p| p.format)
        .is_some_and(|f| f == stegosim_formats::results::FORMAT)
}

/// Reads one results file, with its line on a JSON error.
pub fn read_results(path: &Path) -> Result<Results, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    parse_results(path, &text)
}

/// Parses a results file's text (`path` names it in errors).
pub fn parse_results(path: &Path, text: &str) -> Result<Results, Error> {
    let r: Results = serde_json::from_str(text).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        line: e.line(),
        message: e.to_string(),
    })?;
    // Decodes every histogram once: a bad one is named now, not half-way through a plot.
    Measured::from_results(&r).map_err(|e| Error::Results {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(r)
}

/// Reads results files and merges them exactly (HDR histograms added, thresholds evaluated
/// again), as `stegosim report merge` and `stegosim load merge` do.
pub fn merge_files(paths: &[PathBuf]) -> Result<Results, Error> {
    let inputs = paths
        .iter()
        .map(|p| read_results(p))
        .collect::<Result<Vec<_>, _>>()?;
    if inputs.len() == 1 {
        return Ok(inputs.into_iter().next().expect("one input"));
    }
    merge(&inputs, &[]).map_err(|e| Error::Results {
        path: paths[0].clone(),
        message: format!("merging {} results files: {e}", paths.len()),
    })
}

impl LoadRun {
    /// Reads (and merges) results files.
    pub fn load(paths: &[PathBuf]) -> Result<LoadRun, Error> {
        let results = merge_files(paths)?;
        LoadRun::from_results(results, paths.to_vec())
    }

    /// The run of results already in memory (`paths`: where they came from, for the header).
    pub fn from_results(results: Results, paths: Vec<PathBuf>) -> Result<LoadRun, Error> {
        let where_ = paths.first().cloned().unwrap_or_default();
        let m = Measured::from_results(&results).map_err(|e| Error::Results {
            path: where_,
            message: e.to_string(),
        })?;
        let series_p99_9_ns = m
            .series
            .iter()
            .map(|s| {
                if s.latency.is_empty() {
                    0
                } else {
                    s.latency.value_at_quantile(0.999)
                }
            })
            .collect();
        let target_per_second = target_per_second(&results);
        let adds_up = m
            .series
            .iter()
            .all(|s| s.latency_by_type.values().map(|h| h.len()).sum::<u64>() == s.latency.len());
        let mut series_by_type: BTreeMap<String, Vec<[u64; 5]>> = BTreeMap::new();
        if adds_up {
            for (i, s) in m.series.iter().enumerate() {
                for (name, h) in &s.latency_by_type {
                    let v = series_by_type
                        .entry(name.clone())
                        .or_insert_with(|| vec![[0; 5]; m.series.len()]);
                    if !h.is_empty() {
                        v[i] = [
                            h.value_at_quantile(0.5),
                            h.value_at_quantile(0.9),
                            h.value_at_quantile(0.99),
                            h.value_at_quantile(0.999),
                            h.max(),
                        ];
                    }
                }
            }
        }
        Ok(LoadRun {
            paths,
            latency: m.latency,
            service: m.service,
            follow: m.follow,
            series_p99_9_ns,
            series_by_type,
            target_per_second,
            results,
        })
    }

    /// How many results files were merged into this run (1: none).
    pub fn merged_from(&self) -> usize {
        self.results.sources.len().max(1)
    }

    /// The model(s) run, as written in the sources.
    pub fn models(&self) -> String {
        let mut m: Vec<&str> = self
            .results
            .sources
            .iter()
            .map(|s| s.model.as_str())
            .collect();
        m.dedup();
        m.join(", ")
    }

    /// The endpoint(s) loaded.
    pub fn endpoints(&self) -> String {
        let mut e: Vec<&str> = self
            .results
            .sources
            .iter()
            .map(|s| s.endpoint.as_str())
            .collect();
        e.sort_unstable();
        e.dedup();
        e.join(", ")
    }

    /// The longest scheduled duration of the sources, in seconds.
    pub fn scheduled_duration_s(&self) -> f64 {
        self.results
            .sources
            .iter()
            .map(|s| s.scheduled_duration_s)
            .fold(0.0, f64::max)
    }

    /// When the first source started, RFC 3339 UTC (ms), or `unknown`.
    pub fn started_at(&self) -> String {
        self.results
            .sources
            .iter()
            .map(|s| s.started_at_unix_ms)
            .min()
            .and_then(|ms| {
                time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).ok()
            })
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| "unknown".into())
    }

    /// The stegosim version that ran it, when the results record one (`config.stegosim_version`).
    pub fn version(&self) -> String {
        self.results
            .config
            .get("stegosim_version")
            .and_then(|v| v.as_str())
            .map(String::from)
            .unwrap_or_else(|| "not recorded in the results".into())
    }

    /// Request metrics, `all` last.
    pub fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .results
            .summary
            .requests
            .keys()
            .filter(|k| k.as_str() != stegosim_formats::results::ALL)
            .cloned()
            .collect();
        names.push(stegosim_formats::results::ALL.into());
        names
    }

    /// Pass, pass with warnings, or fail, with the reasons.
    pub fn verdict(&self) -> Verdict {
        let s = &self.results.summary;
        let mut fail = Vec::new();
        for t in self.results.thresholds.iter().filter(|t| !t.ok) {
            fail.push(format!("threshold {} failed ({})", t.threshold, t.actual));
        }
        let mut warn = Vec::new();
        let b = &s.behind_schedule;
        if b.count > 0 {
            warn.push(format!(
                "fell behind schedule: {} starts late (worst {})",
                b.count,
                format_approx(b.worst_ns as f64)
            ));
        }
        if let Some(n) = s.not_started.filter(|n| *n > 0) {
            warn.push(format!("{n} scheduled requests never started"));
        }
        if let Some(target) = s.target_rate
            && target > 0.0
            && s.achieved_rate < 0.98 * target
        {
            warn.push(format!(
                "achieved {:.1}/s of a {:.1}/s target ({:.1}%)",
                s.achieved_rate,
                target,
                100.0 * s.achieved_rate / target
            ));
        }
        if s.errors > 0 {
            warn.push(format!(
                "{} errors ({:.2}%)",
                s.errors,
                100.0 * s.error_rate
            ));
        }
        if s.connections_lost > 0 {
            warn.push(format!("{} connections lost", s.connections_lost));
        }
        if s.unmatched > 0 {
            warn.push(format!("{} unmatched answers", s.unmatched));
        }
        let follow_errors: u64 = self
            .results
            .counts
            .values()
            .flat_map(|c| c.follow_errors.values())
            .sum();
        if follow_errors > 0 {
            warn.push(format!("{follow_errors} followed transactions went wrong"));
        }
        if !fail.is_empty() {
            fail.extend(warn);
            Verdict::Fail(fail)
        } else if !warn.is_empty() {
            Verdict::Warn(warn)
        } else {
            Verdict::Pass
        }
    }
}

/// The verdict of a load run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every threshold held and nothing went wrong.
    Pass,
    /// Every threshold held, but something deserves a look (falling behind, errors, ...).
    Warn(Vec<String>),
    /// A threshold failed (the reasons first, then the warnings).
    Fail(Vec<String>),
}

/// Requests the schedule asked to start in each second of the series.
fn target_per_second(r: &Results) -> Option<Vec<f64>> {
    let seconds = r.series.len();
    let target = r.summary.target_rate?;
    let flat = Some(vec![target; seconds]);
    // The schedule keys of the configuration as run (the other keys are ignored).
    let Ok(cfg) = serde_json::from_value::<ScheduleConfig>(r.config.clone()) else {
        return flat;
    };
    let Ok(Plan::Open { schedule, .. }) = cfg.plan() else {
        return flat;
    };
    let mut per = vec![0f64; seconds];
    for k in 0..schedule.count() {
        let Some(t) = schedule.time_of(k) else { break };
        let i = (t / 1_000_000_000) as usize;
        if i < seconds {
            per[i] += 1.0;
        }
    }
    // Merged runs: the sources ran at the same time; scale the first's schedule to the sum.
    let first = r
        .sources
        .first()
        .and_then(|s| s.target_rate)
        .unwrap_or(target);
    if first > 0.0 && (target - first).abs() > 1e-9 {
        for v in &mut per {
            *v *= target / first;
        }
    }
    Some(per)
}

/// Followed stages in the order a transaction reaches them (then any other, by name).
pub fn stage_order(name: &str) -> (usize, &str) {
    let stage = name.rsplit('.').next().unwrap_or(name);
    let rank = ["accepted", "prepared", "committed", "succeeded"]
        .iter()
        .position(|s| *s == stage)
        .unwrap_or(4);
    (rank, name)
}
