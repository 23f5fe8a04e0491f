//! Workload models as schedules: *when* each request should start, with no clock and no I/O.
//!
//! The models are named as k6 names them:
//!
//! | model | kind | what starts a request |
//! |---|---|---|
//! | `constant-arrival-rate` | open | the clock: `rate` per second, whether or not earlier requests finished |
//! | `ramping-arrival-rate` | open | the clock: a rate that moves linearly from stage to stage |
//! | `constant-vus` | closed | a VU whose previous request finished (optionally paced) |
//! | `ramping-vus` | closed | as above, with the number of VUs moving linearly between stages |
//! | `per-vu-iterations` | closed | each VU runs a fixed number of iterations |
//!
//! An *iteration* is one request of the mix. Times are nanoseconds since the run's start.
//!
//! Open models: arrival `k` (0, 1, 2, ...) is due at `N⁻¹(k)`, where `N(t)` is the number of
//! arrivals the rate function promises by `t` (its integral), so the schedule is exact for any
//! piecewise linear rate and never drifts. Arrivals are dealt round-robin to connections
//! (connection `c` of `C` takes `k ≡ c mod C`), which interleaves them evenly.
//!
//! Closed models: VU `i` is active while the VU function is at least `i + 1` (k6's ramping:
//! VUs start and stop as the linear ramp crosses whole numbers); it runs iterations back to
//! back, or every `pacing` when a pacing is set (k6's `minIterationDuration`). With a pacing,
//! the schedule is known in advance, so a VU that could not start on time is *behind
//! schedule*, and its latency is measured from the slot it missed (no coordinated omission).
//! Without a pacing, a closed model has no target rate: it measures the system's throughput.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Nanoseconds per second.
pub const NS_PER_S: u64 = 1_000_000_000;

/// The largest number of VUs a closed model may run (each VU is a few words of state).
pub const VUS_MAX: u64 = 1_000_000;

/// The largest arrival rate, in requests per second, an open model accepts.
pub const RATE_MAX: f64 = 100_000_000.0;

/// Which workload model (k6's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Model {
    /// Open: a constant number of requests per second.
    ConstantArrivalRate,
    /// Open: a rate that moves linearly through stages.
    RampingArrivalRate,
    /// Closed: a constant number of virtual users, each one request at a time.
    ConstantVus,
    /// Closed: a number of virtual users that moves linearly through stages.
    RampingVus,
    /// Closed: each virtual user runs a fixed number of iterations.
    PerVuIterations,
}

impl Model {
    /// Every model, in documentation order.
    pub const ALL: [Model; 5] = [
        Model::ConstantArrivalRate,
        Model::RampingArrivalRate,
        Model::ConstantVus,
        Model::RampingVus,
        Model::PerVuIterations,
    ];

    /// The model's k6 name.
    pub fn name(self) -> &'static str {
        match self {
            Model::ConstantArrivalRate => "constant-arrival-rate",
            Model::RampingArrivalRate => "ramping-arrival-rate",
            Model::ConstantVus => "constant-vus",
            Model::RampingVus => "ramping-vus",
            Model::PerVuIterations => "per-vu-iterations",
        }
    }

    /// The model named `name`.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether requests start on the clock (open) rather than when earlier ones finish.
    pub fn is_open(self) -> bool {
        matches!(self, Model::ConstantArrivalRate | Model::RampingArrivalRate)
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One stage of a ramping model: move linearly to `target` over `duration_ns`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// How long the stage lasts, in ns.
    pub duration_ns: u64,
    /// The rate (requests per second) or number of VUs at the stage's end.
    pub target: f64,
}

/// A piecewise linear function of time: `points[i] = (t_ns, value)`, `t` increasing, starting
/// at 0. Past the last point the function is 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Piecewise {
    points: Vec<(u64, f64)>,
}

impl Piecewise {
    /// The function that starts at `start` and follows `stages`.
    pub fn from_stages(start: f64, stages: &[Stage]) -> Piecewise {
        let mut points = vec![(0, start)];
        let mut t = 0u64;
        for s in stages {
            t = t.saturating_add(s.duration_ns);
            points.push((t, s.target));
        }
        Piecewise { points }
    }

    /// `value` from 0 for `duration_ns`.
    pub fn constant(value: f64, duration_ns: u64) -> Piecewise {
        Piecewise {
            points: vec![(0, value), (duration_ns, value)],
        }
    }

    /// Where the function ends, in ns.
    pub fn end_ns(&self) -> u64 {
        self.points.last().map_or(0, |p| p.0)
    }

    /// The segments `(t0, t1, v0, v1)` of non-zero length.
    fn segments(&self) -> impl Iterator<Item = (u64, u64, f64, f64)> + '_ {
        self.points
            .windows(2)
            .map(|w| (w[0].0, w[1].0, w[0].1, w[1].1))
            .filter(|s| s.1 > s.0)
    }

    /// The function's value at `t_ns` (0 outside it).
    pub fn value_at(&self, t_ns: u64) -> f64 {
        for (t0, t1, v0, v1) in self.segments() {
            if t_ns >= t0 && t_ns < t1 {
                return v0 + (v1 - v0) * ((t_ns - t0) as f64 / (t1 - t0) as f64);
            }
        }
        0.0
    }

    /// The largest value the function takes.
    pub fn max_value(&self) -> f64 {
        self.points.iter().map(|p| p.1).fold(0.0, f64::max)
    }
}

/// The arrival schedule of an open model: arrival `k` is due at [`ArrivalSchedule::time_of`].
#[derive(Debug, Clone)]
pub struct ArrivalSchedule {
    /// Segments with the number of arrivals promised before each: `(t0_s, len_s, v0, slope,
    /// arrivals_before)`, rates per second.
    segments: Vec<(f64, f64, f64, f64, f64)>,
    /// Arrivals promised over the whole schedule (the integral of the rate).
    total: f64,
    end_ns: u64,
}

impl ArrivalSchedule {
    /// The schedule of a rate function (requests per second).
    pub fn new(rate: &Piecewise) -> ArrivalSchedule {
        let mut segments = Vec::new();
        let mut before = 0.0;
        for (t0, t1, v0, v1) in rate.segments() {
            let len_s = (t1 - t0) as f64 / NS_PER_S as f64;
            let slope = (v1 - v0) / len_s;
            segments.push((t0 as f64 / NS_PER_S as f64, len_s, v0, slope, before));
            before += (v0 + v1) / 2.0 * len_s;
        }
        ArrivalSchedule {
            segments,
            total: before,
            end_ns: rate.end_ns(),
        }
    }

    /// How many arrivals the schedule holds: the `k` with `N⁻¹(k) < end`.
    pub fn count(&self) -> u64 {
        // A hair below the integral, so 400.0000000001 arrivals count as 400.
        (self.total - 1e-6).ceil().max(0.0) as u64
    }

    /// When arrival `k` is due, in ns since the start; `None` when it falls past the end.
    pub fn time_of(&self, k: u64) -> Option<u64> {
        if k >= self.count() {
            return None;
        }
        let k = k as f64;
        // The segment in which the cumulative count reaches k (few segments: a linear scan
        // from the back finds it in one or two steps for a single-stage run).
        let i = self.segments.iter().rposition(|s| s.4 <= k)?;
        let (t0, len, v0, slope, before) = self.segments[i];
        let d = k - before;
        // Solve v0 τ + slope τ²/2 = d for τ in a form that is stable for any slope sign and
        // for v0 = 0: τ = 2d / (v0 + sqrt(v0² + 2 slope d)).
        let disc = (v0 * v0 + 2.0 * slope * d).max(0.0);
        let denom = v0 + disc.sqrt();
        let tau = if d <= 0.0 {
            0.0
        } else if denom > 0.0 {
            (2.0 * d / denom).min(len)
        } else {
            len
        };
        let t_ns = ((t0 + tau) * NS_PER_S as f64).round() as u64;
        Some(t_ns.min(self.end_ns.saturating_sub(1)))
    }

    /// The schedule's length, in ns.
    pub fn end_ns(&self) -> u64 {
        self.end_ns
    }
}

/// When VU `i` is active under a VU function: the intervals `[a, b)` where the function is at
/// least `i + 1`.
pub fn vu_windows(vus: &Piecewise, i: u64) -> Vec<(u64, u64)> {
    let level = (i + 1) as f64;
    let mut windows: Vec<(u64, u64)> = Vec::new();
    for (t0, t1, v0, v1) in vus.segments() {
        let len = (t1 - t0) as f64;
        // The part of [t0, t1) where v0 + (v1 - v0) x / len >= level.
        let (a, b) = if v0 >= level && v1 >= level {
            (t0, t1)
        } else if v0 < level && v1 < level {
            continue;
        } else {
            let x = ((level - v0) / (v1 - v0) * len).clamp(0.0, len);
            let cross = t0 + x.ceil() as u64;
            if v1 > v0 { (cross, t1) } else { (t0, cross) }
        };
        if a >= b {
            continue;
        }
        match windows.last_mut() {
            Some(last) if last.1 == a => last.1 = b,
            _ => windows.push((a, b)),
        }
    }
    windows
}

/// A workload model with its numbers: everything a worker needs to know when to start.
#[derive(Debug, Clone)]
pub enum Plan {
    /// An open model: arrivals on the clock.
    Open {
        /// Which open model (for reports).
        model: Model,
        /// The arrivals.
        schedule: ArrivalSchedule,
    },
    /// A closed model: virtual users.
    Closed {
        /// Which closed model (for reports).
        model: Model,
        /// The number of VUs over time.
        vus: Piecewise,
        /// Start an iteration at most every `pacing_ns` per VU (`None`: back to back).
        pacing_ns: Option<u64>,
        /// Iterations per VU (`per-vu-iterations`), else unlimited.
        iterations: Option<u64>,
        /// When VUs stop starting iterations, in ns.
        end_ns: u64,
    },
}

/// Why a model's numbers do not make a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

/// The numbers a model takes (the union over models; each model reads its own).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelParams {
    /// Requests per second (`constant-arrival-rate`).
    pub rate: Option<f64>,
    /// Starting rate (`ramping-arrival-rate`, default 0) or VUs (`ramping-vus`, default 1).
    pub start: Option<f64>,
    /// Stages (ramping models).
    pub stages: Vec<Stage>,
    /// Total duration, in ns (constant models; per-vu-iterations' maximum).
    pub duration_ns: Option<u64>,
    /// Virtual users (closed models).
    pub vus: Option<u64>,
    /// Iterations per VU (`per-vu-iterations`).
    pub iterations: Option<u64>,
    /// Pacing of closed models, in ns.
    pub pacing_ns: Option<u64>,
}

/// The per-vu-iterations default maximum duration when neither a duration nor a pacing bounds
/// the run (k6's `maxDuration` default is 10 minutes).
pub const PER_VU_MAX_DURATION_DEFAULT_NS: u64 = 600 * NS_PER_S;

impl Plan {
    /// Builds the plan of `model` from its numbers, checking them.
    pub fn new(model: Model, p: &ModelParams) -> Result<Plan, PlanError> {
        let err = |m: String| Err(PlanError(m));
        let need_duration = |what: &str| {
            p.duration_ns
                .filter(|d| *d > 0)
                .ok_or_else(|| PlanError(format!("{what} needs a duration (--duration)")))
        };
        let check_stages = |what: &str| -> Result<(), PlanError> {
            if p.stages.is_empty() {
                return Err(PlanError(format!(
                    "{what} needs stages (--stage DURATION:TARGET, or [[stages]] in the profile)"
                )));
            }
            for s in &p.stages {
                if !(s.target >= 0.0 && s.target.is_finite()) {
                    return Err(PlanError(format!(
                        "stage target {} is not a number >= 0",
                        s.target
                    )));
                }
            }
            Ok(())
        };
        let check_rate = |r: f64| -> Result<(), PlanError> {
            if !(0.0..=RATE_MAX).contains(&r) {
                return Err(PlanError(format!(
                    "rate {r} is out of range (0 to {RATE_MAX} per second)"
                )));
            }
            Ok(())
        };
        let check_vus = |v: f64| -> Result<(), PlanError> {
            if !(0.0..=VUS_MAX as f64).contains(&v) {
                return Err(PlanError(format!(
                    "{v} VUs is out of range (0 to {VUS_MAX})"
                )));
            }
            Ok(())
        };
        match model {
            Model::ConstantArrivalRate => {
                let Some(rate) = p.rate else {
                    return err("constant-arrival-rate needs a rate (--rate)".into());
                };
                check_rate(rate)?;
                if rate <= 0.0 {
                    return err("constant-arrival-rate needs a rate above 0".into());
                }
                let d = need_duration("constant-arrival-rate")?;
                Ok(Plan::Open {
                    model,
                    schedule: ArrivalSchedule::new(&Piecewise::constant(rate, d)),
                })
            }
            Model::RampingArrivalRate => {
                check_stages("ramping-arrival-rate")?;
                let start = p.start.unwrap_or(0.0);
                check_rate(start)?;
                for s in &p.stages {
                    check_rate(s.target)?;
                }
                let f = Piecewise::from_stages(start, &p.stages);
                if f.end_ns() == 0 {
                    return err("the stages last no time".into());
                }
                Ok(Plan::Open {
                    model,
                    schedule: ArrivalSchedule::new(&f),
                })
            }
            Model::ConstantVus => {
                let vus = p.vus.unwrap_or(1);
                check_vus(vus as f64)?;
                let d = need_duration("constant-vus")?;
                Ok(Plan::Closed {
                    model,
                    vus: Piecewise::constant(vus as f64, d),
                    pacing_ns: p.pacing_ns.filter(|x| *x > 0),
                    iterations: None,
                    end_ns: d,
                })
            }
            Model::RampingVus => {
                check_stages("ramping-vus")?;
                let start = p.start.unwrap_or(1.0);
                check_vus(start)?;
                for s in &p.stages {
                    check_vus(s.target)?;
                }
                let f = Piecewise::from_stages(start, &p.stages);
                if f.end_ns() == 0 {
                    return err("the stages last no time".into());
                }
                let end_ns = f.end_ns();
                Ok(Plan::Closed {
                    model,
                    vus: f,
                    pacing_ns: p.pacing_ns.filter(|x| *x > 0),
                    iterations: None,
                    end_ns,
                })
            }
            Model::PerVuIterations => {
                let vus = p.vus.unwrap_or(1);
                check_vus(vus as f64)?;
                let iterations = p.iterations.unwrap_or(1);
                if iterations == 0 {
                    return err("per-vu-iterations needs at least 1 iteration".into());
                }
                let pacing_ns = p.pacing_ns.filter(|x| *x > 0);
                // The run ends when every VU is done, or at the maximum duration.
                let end_ns = p.duration_ns.filter(|d| *d > 0).unwrap_or(match pacing_ns {
                    Some(pace) => pace.saturating_mul(iterations),
                    None => PER_VU_MAX_DURATION_DEFAULT_NS,
                });
                Ok(Plan::Closed {
                    model,
                    vus: Piecewise::constant(vus as f64, end_ns),
                    pacing_ns,
                    iterations: Some(iterations),
                    end_ns,
                })
            }
        }
    }

    /// The model.
    pub fn model(&self) -> Model {
        match self {
            Plan::Open { model, .. } | Plan::Closed { model, .. } => *model,
        }
    }

    /// When the schedule ends (no start after it), in ns.
    pub fn end_ns(&self) -> u64 {
        match self {
            Plan::Open { schedule, .. } => schedule.end_ns(),
            Plan::Closed { end_ns, .. } => *end_ns,
        }
    }

    /// How many VUs a closed plan ever has at once (0 for open plans).
    pub fn vus_max(&self) -> u64 {
        match self {
            Plan::Open { .. } => 0,
            Plan::Closed { vus, .. } => vus.max_value().floor() as u64,
        }
    }

    /// How many requests the schedule promises, when it promises a number: open models, and
    /// closed models with a pacing. `None` for closed models without one.
    pub fn scheduled_count(&self) -> Option<u64> {
        match self {
            Plan::Open { schedule, .. } => Some(schedule.count()),
            Plan::Closed {
                vus,
                pacing_ns: Some(pace),
                iterations,
                ..
            } => {
                let mut total = 0u64;
                for i in 0..self.vus_max() {
                    let mut n = 0u64;
                    for (a, b) in vu_windows(vus, i) {
                        n += (b - a).div_ceil(*pace);
                    }
                    total += iterations.map_or(n, |it| n.min(it));
                }
                Some(total)
            }
            Plan::Closed { .. } => None,
        }
    }

    /// The target rate in requests per second over the scheduled duration, when the
    /// schedule promises a number of requests.
    pub fn target_rate(&self) -> Option<f64> {
        let end = self.end_ns();
        if end == 0 {
            return None;
        }
        self.scheduled_count()
            .map(|n| n as f64 / (end as f64 / NS_PER_S as f64))
    }
}

/// The longest duration a load profile takes, in ns (about 31 years: far beyond any run, and
/// far enough below `u64::MAX` that sums of durations cannot overflow).
pub const PROFILE_DURATION_MAX_NS: u64 = 1_000_000_000_000_000_000;

/// Parses a duration of a load profile or its flags: the one grammar of
/// [`crate::duration`], at most [`PROFILE_DURATION_MAX_NS`]. Returns ns.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let ns = crate::duration::parse(text).map_err(|e| e.to_string())?;
    if ns > PROFILE_DURATION_MAX_NS {
        return Err(format!("duration {text:?} is out of range"));
    }
    Ok(ns)
}

/// One stage as written in a profile: `{ duration = "10s", target = 2000 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// How long the stage lasts (`10s`, `500ms`, `2m`).
    pub duration: String,
    /// The rate (per second) or VUs at its end.
    pub target: f64,
}

/// The keys of a load profile that make its schedule, as written (durations as text). The
/// load generator's configuration holds them among its other keys; a results file's
/// `config` holds them too, so a reader of results can rebuild the schedule the run
/// followed. Unknown keys are ignored here: the configuration has many more.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ScheduleConfig {
    /// The workload model (k6's name; default `constant-arrival-rate`, or
    /// `ramping-arrival-rate` when there are stages).
    pub model: Option<String>,
    /// Requests per second (`constant-arrival-rate`).
    pub rate: Option<f64>,
    /// Starting rate of `ramping-arrival-rate` (default 0).
    pub start_rate: Option<f64>,
    /// Starting VUs of `ramping-vus` (default 1).
    pub start_vus: Option<f64>,
    /// Stages of the ramping models.
    pub stages: Vec<StageConfig>,
    /// How long the constant models run (`per-vu-iterations`: the most it may run).
    pub duration: Option<String>,
    /// Virtual users of the closed models.
    pub vus: Option<u64>,
    /// Iterations per VU (`per-vu-iterations`).
    pub iterations: Option<u64>,
    /// Closed models: a VU starts an iteration at most this often.
    pub pacing: Option<String>,
}

/// Why a profile's schedule keys make no plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// A value that does not parse (an unknown model, a bad duration).
    #[error("{0}")]
    Invalid(String),
    /// The model's numbers.
    #[error(transparent)]
    Plan(#[from] PlanError),
}

impl ScheduleConfig {
    /// The model.
    pub fn model(&self) -> Result<Model, ScheduleError> {
        let name = self.model.as_deref().unwrap_or(if self.stages.is_empty() {
            "constant-arrival-rate"
        } else {
            "ramping-arrival-rate"
        });
        Model::from_name(name).ok_or_else(|| {
            ScheduleError::Invalid(format!(
                "unknown model {name:?}: use one of {}",
                Model::ALL.map(|m| m.name()).join(", ")
            ))
        })
    }

    /// The plan.
    pub fn plan(&self) -> Result<Plan, ScheduleError> {
        let model = self.model()?;
        let mut stages = Vec::new();
        for s in &self.stages {
            stages.push(Stage {
                duration_ns: parse_duration(&s.duration)
                    .map_err(|e| ScheduleError::Invalid(format!("stage: {e}")))?,
                target: s.target,
            });
        }
        let opt_duration = |what: &str, v: &Option<String>| -> Result<Option<u64>, ScheduleError> {
            v.as_deref()
                .map(parse_duration)
                .transpose()
                .map_err(|e| ScheduleError::Invalid(format!("{what}: {e}")))
        };
        let params = ModelParams {
            rate: self.rate,
            start: match model {
                Model::RampingVus => self.start_vus,
                _ => self.start_rate,
            },
            stages,
            duration_ns: opt_duration("duration", &self.duration)?,
            vus: self.vus,
            iterations: self.iterations,
            pacing_ns: opt_duration("pacing", &self.pacing)?,
        };
        Ok(Plan::new(model, &params)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: f64) -> u64 {
        (secs * NS_PER_S as f64) as u64
    }

    #[test]
    fn constant_rate_is_exact() {
        let sched = ArrivalSchedule::new(&Piecewise::constant(200.0, s(2.0)));
        assert_eq!(sched.count(), 400);
        assert_eq!(sched.time_of(0), Some(0));
        assert_eq!(sched.time_of(1), Some(5_000_000));
        assert_eq!(sched.time_of(399), Some(1_995_000_000));
        assert_eq!(sched.time_of(400), None);
    }

    #[test]
    fn ramp_follows_the_integral() {
        // 0 -> 100/s over 10 s: 500 arrivals; N(t) = 5 t², so arrival k is at sqrt(k/5) s.
        let f = Piecewise::from_stages(
            0.0,
            &[Stage {
                duration_ns: s(10.0),
                target: 100.0,
            }],
        );
        let sched = ArrivalSchedule::new(&f);
        assert_eq!(sched.count(), 500);
        for k in [0u64, 1, 5, 80, 245, 499] {
            let want = ((k as f64 / 5.0).sqrt() * 1e9).round() as u64;
            let got = sched.time_of(k).unwrap();
            assert!(got.abs_diff(want) <= 1, "k={k}: {got} vs {want}");
        }
        // Down-ramps and flat stages chain: 100/s for 1 s, then down to 0 over 2 s.
        let f = Piecewise::from_stages(
            100.0,
            &[
                Stage {
                    duration_ns: s(1.0),
                    target: 100.0,
                },
                Stage {
                    duration_ns: s(2.0),
                    target: 0.0,
                },
            ],
        );
        let sched = ArrivalSchedule::new(&f);
        assert_eq!(sched.count(), 200);
        let mut last = 0;
        for k in 0..200 {
            let t = sched.time_of(k).unwrap();
            assert!(t >= last && t < s(3.0), "k={k} t={t}");
            last = t;
        }
        assert_eq!(sched.time_of(100), Some(s(1.0)));
    }

    #[test]
    fn vu_windows_follow_the_ramp() {
        // 0 -> 4 VUs over 4 s, hold 2 s, down to 0 over 4 s.
        let f = Piecewise::from_stages(
            0.0,
            &[
                Stage {
                    duration_ns: s(4.0),
                    target: 4.0,
                },
                Stage {
                    duration_ns: s(2.0),
                    target: 4.0,
                },
                Stage {
                    duration_ns: s(4.0),
                    target: 0.0,
                },
            ],
        );
        assert_eq!(vu_windows(&f, 0), vec![(s(1.0), s(9.0))]);
        assert_eq!(vu_windows(&f, 3), vec![(s(4.0), s(6.0))]);
        assert_eq!(vu_windows(&f, 4), vec![]);
    }

    #[test]
    fn paced_closed_models_promise_a_rate() {
        let p = ModelParams {
            vus: Some(10),
            duration_ns: Some(s(2.0)),
            pacing_ns: Some(50_000_000),
            ..Default::default()
        };
        let plan = Plan::new(Model::ConstantVus, &p).unwrap();
        assert_eq!(plan.scheduled_count(), Some(400));
        assert_eq!(plan.target_rate(), Some(200.0));
        let plan = Plan::new(
            Model::PerVuIterations,
            &ModelParams {
                vus: Some(5),
                iterations: Some(20),
                pacing_ns: Some(50_000_000),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(plan.end_ns(), s(1.0));
        assert_eq!(plan.scheduled_count(), Some(100));
        let unpaced = Plan::new(
            Model::ConstantVus,
            &ModelParams {
                vus: Some(3),
                duration_ns: Some(s(1.0)),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(unpaced.target_rate(), None);
    }

    #[test]
    fn bad_numbers_are_refused_with_a_reason() {
        let e = Plan::new(Model::ConstantArrivalRate, &ModelParams::default()).unwrap_err();
        assert!(e.0.contains("--rate"), "{e}");
        let e = Plan::new(
            Model::ConstantArrivalRate,
            &ModelParams {
                rate: Some(10.0),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.0.contains("duration"), "{e}");
        let e = Plan::new(Model::RampingVus, &ModelParams::default()).unwrap_err();
        assert!(e.0.contains("stages"), "{e}");
        assert_eq!(
            Model::from_name("ramping-vus"),
            Some(Model::RampingVus),
            "names round-trip"
        );
    }
}
