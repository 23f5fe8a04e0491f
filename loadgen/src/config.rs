//! A run's configuration: the profile file (TOML), command-line overrides, and the checks
//! that turn it into a plan.
//!
//! The profile's keys are documented in `loadgen/README.md` ("Profile file"); every key is
//! optional, and a flag given on the command line replaces the profile's value. The
//! configuration as run is written back into the results (`config`), so a results file says
//! how it was made.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::mix::{MixError, RequestSpec};
use crate::plan::{Model, Plan, PlanError, ScheduleConfig, ScheduleError};
use crate::threshold::{Threshold, ThresholdError};

// A profile's durations follow the one duration grammar of the formats; its stages and
// schedule keys are read by the reports too.
pub use crate::plan::{StageConfig, parse_duration};

/// Defaults, named so documentation and code agree.
pub mod defaults {
    /// Connections.
    pub const CONNECTIONS: u32 = 4;
    /// Requests in flight per connection.
    pub const IN_FLIGHT: u32 = 128;
    /// Request timeout.
    pub const TIMEOUT: &str = "10s";
    /// Wait after the schedule for answers and followed transactions.
    pub const GRACEFUL_STOP: &str = "5s";
    /// A start later than this is behind schedule (tokio's timers tick every millisecond,
    /// so a start 1 ms late is the timer, not the generator falling behind).
    pub const BEHIND_TOLERANCE: &str = "5ms";
    /// Seed of the request mix's draws.
    pub const SEED: u64 = 1;
    /// Timer slots of the wall clock (see `clock::TIMER_RESOLUTION_NS`).
    pub const TIMER_RESOLUTION: &str = "100us";
    /// Password of accounts created during setup.
    pub const PASSWORD: &str = "stegosim-load";
    /// Fee of the setup's funding payments, in µSTG (the dev chain's minimum).
    pub const PAYMENT_FEE: i64 = 1000;
    /// The account that funds the pool: the dev chain's genesis-funded account.
    pub const FUND_FROM: &str = "1";
    /// The password of the dev chain's genesis-funded account (node 0 creates it sealed
    /// with this password).
    pub const FUND_PASSWORD: &str = "dev";
    /// How long setup may take before it gives up.
    pub const SETUP_TIMEOUT: &str = "120s";
}

/// What setup prepares before the load starts: the pool of accounts the mix draws from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SetupConfig {
    /// Create this many accounts (created accounts are unsealed).
    pub accounts: u32,
    /// Use these existing accounts as they are (no setup request unless addresses are
    /// needed).
    pub account_ids: Vec<String>,
    /// Use every existing account of the node (`accounts_info`), unsealing each with
    /// `password`.
    pub existing: bool,
    /// Password of created accounts, and of existing ones to unseal (default
    /// `stegosim-load`).
    pub password: Option<String>,
    /// Pay this many µSTG from `fund_from` to each pool account, and wait until each can
    /// spend it.
    pub fund_amount: i64,
    /// The paying account of the funding (default "1", the dev chain's funded account).
    pub fund_from: Option<String>,
    /// Password to unseal `fund_from` with (default `dev` for the default account "1", the
    /// dev chain's genesis-funded account; none for another account).
    pub fund_password: Option<String>,
    /// Fee per output of the funding payments, in µSTG (default 1000).
    pub payment_fee: Option<i64>,
    /// How long setup may take (default 120s).
    pub timeout: Option<String>,
}

impl SetupConfig {
    /// Whether setup has anything to do.
    pub fn is_empty(&self) -> bool {
        self.accounts == 0 && self.account_ids.is_empty() && !self.existing
    }
}

/// Everything a run needs, as read from a profile and the command line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// The node's API (`ws://127.0.0.1:3144`).
    pub endpoint: Option<String>,
    /// The API token or access key file.
    pub token_file: Option<PathBuf>,
    /// The workload model (k6's name).
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
    /// Closed models: a VU starts an iteration at most this often (k6's
    /// `minIterationDuration`); it gives the run a schedule and a target rate.
    pub pacing: Option<String>,
    /// WebSocket connections to open (default 4).
    pub connections: Option<u32>,
    /// Requests in flight per connection, multiplexed and matched by id (default 128).
    pub in_flight: Option<u32>,
    /// A request unanswered this long counts as a timeout (default 10s).
    pub timeout: Option<String>,
    /// After the schedule, how long to wait for answers and followed transactions
    /// (default 5s).
    pub graceful_stop: Option<String>,
    /// A start later than this counts as behind schedule (default 5ms).
    pub behind_tolerance: Option<String>,
    /// Starts are timed to this resolution (default 100us): finer is more punctual, coarser
    /// costs fewer wake-ups at high rates.
    pub timer_resolution: Option<String>,
    /// Seed of the mix's draws (default 1): the same seed draws the same requests.
    pub seed: Option<u64>,
    /// The mix.
    #[serde(with = "specs_serde")]
    pub requests: Vec<RequestSpec>,
    /// Pass/fail criteria.
    pub thresholds: Vec<String>,
    /// Setup.
    pub setup: SetupConfig,
}

/// Request specs as JSON objects (`type`, fields, `weight`, `name`) in profiles and results.
mod specs_serde {
    use super::*;

    pub fn serialize<S: serde::Serializer>(specs: &[RequestSpec], s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<Value> = specs
            .iter()
            .map(|spec| {
                let mut o = spec.fields.clone();
                o.insert("weight".into(), Value::from(spec.weight));
                if let Some(n) = &spec.name {
                    o.insert("name".into(), Value::from(n.clone()));
                }
                Value::Object(o)
            })
            .collect();
        list.serialize(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<RequestSpec>, D::Error> {
        let list = Vec::<Map<String, Value>>::deserialize(d)?;
        list.into_iter()
            .map(|o| RequestSpec::from_object(o).map_err(serde::de::Error::custom))
            .collect()
    }
}

impl From<ScheduleError> for ConfigError {
    fn from(e: ScheduleError) -> ConfigError {
        match e {
            ScheduleError::Invalid(m) => ConfigError::Invalid(m),
            ScheduleError::Plan(p) => ConfigError::Plan(p),
        }
    }
}

/// A configuration that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The profile file cannot be read or parsed.
    #[error("profile {path}: {detail}")]
    Profile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A value is out of range or missing.
    #[error("{0}")]
    Invalid(String),
    /// The model's numbers.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A request spec.
    #[error(transparent)]
    Mix(#[from] MixError),
    /// A threshold.
    #[error(transparent)]
    Threshold(#[from] ThresholdError),
}

/// Parses a stage from the command line: `DURATION:TARGET`, e.g. `10s:2000`.
pub fn parse_stage(text: &str) -> Result<StageConfig, String> {
    let (d, t) = text
        .split_once(':')
        .ok_or_else(|| format!("stage {text:?} is not DURATION:TARGET (e.g. 10s:2000)"))?;
    parse_duration(d)?;
    let target: f64 = t
        .trim()
        .parse()
        .map_err(|_| format!("stage {text:?}: target {t:?} is not a number"))?;
    Ok(StageConfig {
        duration: d.trim().to_string(),
        target,
    })
}

impl RunConfig {
    /// Reads a profile file.
    pub fn from_profile(path: &Path) -> Result<RunConfig, ConfigError> {
        let err = |detail: String| ConfigError::Profile {
            path: path.to_path_buf(),
            detail,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut cfg: RunConfig = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        // A relative token file is relative to the profile.
        if let (Some(t), Some(dir)) = (&cfg.token_file, path.parent())
            && t.is_relative()
        {
            cfg.token_file = Some(dir.join(t));
        }
        Ok(cfg)
    }

    /// The keys that make the schedule.
    pub fn schedule(&self) -> ScheduleConfig {
        ScheduleConfig {
            model: self.model.clone(),
            rate: self.rate,
            start_rate: self.start_rate,
            start_vus: self.start_vus,
            stages: self.stages.clone(),
            duration: self.duration.clone(),
            vus: self.vus,
            iterations: self.iterations,
            pacing: self.pacing.clone(),
        }
    }

    /// The model.
    pub fn model(&self) -> Result<Model, ConfigError> {
        Ok(self.schedule().model()?)
    }

    fn duration_of(what: &str, v: &Option<String>, default: &str) -> Result<u64, ConfigError> {
        parse_duration(v.as_deref().unwrap_or(default))
            .map_err(|e| ConfigError::Invalid(format!("{what}: {e}")))
    }

    /// The request timeout, in ns.
    pub fn timeout_ns(&self) -> Result<u64, ConfigError> {
        Self::duration_of("timeout", &self.timeout, defaults::TIMEOUT)
    }

    /// The graceful stop, in ns.
    pub fn graceful_stop_ns(&self) -> Result<u64, ConfigError> {
        Self::duration_of(
            "graceful_stop",
            &self.graceful_stop,
            defaults::GRACEFUL_STOP,
        )
    }

    /// The behind-schedule tolerance, in ns.
    pub fn behind_tolerance_ns(&self) -> Result<u64, ConfigError> {
        Self::duration_of(
            "behind_tolerance",
            &self.behind_tolerance,
            defaults::BEHIND_TOLERANCE,
        )
    }

    /// The timer resolution, in ns.
    pub fn timer_resolution_ns(&self) -> Result<u64, ConfigError> {
        Self::duration_of(
            "timer_resolution",
            &self.timer_resolution,
            defaults::TIMER_RESOLUTION,
        )
    }

    /// Setup's time limit, in ns.
    pub fn setup_timeout_ns(&self) -> Result<u64, ConfigError> {
        Self::duration_of(
            "setup.timeout",
            &self.setup.timeout,
            defaults::SETUP_TIMEOUT,
        )
    }

    /// Connections.
    pub fn connections(&self) -> Result<u32, ConfigError> {
        let c = self.connections.unwrap_or(defaults::CONNECTIONS);
        if !(1..=100_000).contains(&c) {
            return Err(ConfigError::Invalid(format!(
                "connections {c} is out of range (1 to 100000)"
            )));
        }
        Ok(c)
    }

    /// In-flight requests per connection.
    pub fn in_flight(&self) -> Result<u32, ConfigError> {
        let n = self.in_flight.unwrap_or(defaults::IN_FLIGHT);
        if !(1..=crate::worker::IN_FLIGHT_MAX).contains(&n) {
            return Err(ConfigError::Invalid(format!(
                "in_flight {n} is out of range (1 to {})",
                crate::worker::IN_FLIGHT_MAX
            )));
        }
        Ok(n)
    }

    /// The plan.
    pub fn plan(&self) -> Result<Plan, ConfigError> {
        Ok(self.schedule().plan()?)
    }

    /// The thresholds, parsed.
    pub fn thresholds(&self) -> Result<Vec<Threshold>, ConfigError> {
        Ok(self
            .thresholds
            .iter()
            .map(|t| Threshold::parse(t))
            .collect::<Result<_, _>>()?)
    }

    /// Checks everything that can be checked without a node.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.plan()?;
        self.thresholds()?;
        self.connections()?;
        self.in_flight()?;
        self.timeout_ns()?;
        self.graceful_stop_ns()?;
        self.behind_tolerance_ns()?;
        self.timer_resolution_ns()?;
        self.setup_timeout_ns()?;
        if self.requests.is_empty() {
            return Err(ConfigError::Mix(MixError(
                "the mix is empty: name a request (--request TYPE, or [[requests]] in the profile)"
                    .into(),
            )));
        }
        Ok(())
    }

    /// The configuration as JSON, for the results file.
    pub fn to_json(&self) -> Value {
        // Cannot fail: plain data with string keys.
        serde_json::to_value(self).expect("the configuration serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::NS_PER_S;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(10 * NS_PER_S));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("2m"), Ok(120 * NS_PER_S));
        assert_eq!(parse_duration("7us"), Ok(7_000));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("10 parsecs").is_err());
        assert_eq!(
            parse_stage("5s:100").unwrap(),
            StageConfig {
                duration: "5s".into(),
                target: 100.0
            }
        );
    }

    #[test]
    fn profile_parses_and_round_trips() {
        let text = r#"
            endpoint = "ws://127.0.0.1:3144"
            token_file = "api.token"
            model = "ramping-arrival-rate"
            start_rate = 10
            stages = [{ duration = "5s", target = 100 }, { duration = "10s", target = 100 }]
            connections = 2
            in_flight = 64
            thresholds = ["all.p99<5ms", "errors<0.1%"]

            [setup]
            accounts = 4
            fund_amount = 1000000

            [[requests]]
            type = "balance_info"
            weight = 9

            [[requests]]
            type = "payment"
            recipient = "{recipient}"
            amount = 10
            payment_fee = 1000
        "#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, text).unwrap();
        let cfg = RunConfig::from_profile(&path).unwrap();
        assert_eq!(cfg.token_file, Some(dir.path().join("api.token")));
        assert_eq!(cfg.requests.len(), 2);
        assert_eq!(cfg.requests[0].weight, 9);
        assert_eq!(cfg.setup.accounts, 4);
        cfg.validate().unwrap();
        let plan = cfg.plan().unwrap();
        assert_eq!(plan.model(), Model::RampingArrivalRate);
        // 10 -> 100 over 5 s (275) and 100 for 10 s (1000).
        assert_eq!(plan.scheduled_count(), Some(1275));
        let json = cfg.to_json();
        let back: RunConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, cfg);
        std::fs::write(&path, "modle = \"x\"").unwrap();
        let e = RunConfig::from_profile(&path).unwrap_err().to_string();
        assert!(e.contains("modle"), "{e}");
    }
}
