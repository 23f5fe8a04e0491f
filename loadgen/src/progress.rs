//! What a run says while it runs: a live line on a terminal (rate achieved against target,
//! p50/p99 so far, errors, requests in flight), quiet otherwise; and, always, a warning each
//! second in which starts fell behind schedule, with how many and how late.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stegosim_formats::duration::format_approx;

use crate::metrics::Recorder;

/// The live line and the warnings.
#[derive(Debug)]
pub struct Progress {
    /// The live line, when standard error is a terminal and progress was asked for.
    bar: Option<ProgressBar>,
    target_rate: Option<f64>,
    last_ns: u64,
    last_started: u64,
    last_behind: u64,
    last_waited: u64,
    last_generator: u64,
}

impl Progress {
    /// Progress output; the live line only when `live` and standard error is a terminal.
    pub fn new(live: bool) -> Progress {
        let bar = live
            .then(|| {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                (!bar.is_hidden()).then_some(bar)
            })
            .flatten();
        if let Some(b) = &bar {
            // The template is a constant that indicatif accepts.
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                b.set_style(style);
            }
        }
        Progress {
            bar,
            target_rate: None,
            last_ns: 0,
            last_started: 0,
            last_behind: 0,
            last_waited: 0,
            last_generator: 0,
        }
    }

    /// Prints a line to standard error (above the live line, if there is one).
    pub fn say(&self, line: String) {
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// The load starts now.
    pub fn start(&mut self, target_rate: Option<f64>) {
        self.target_rate = target_rate;
        if let Some(b) = &self.bar {
            b.set_message("starting");
        }
    }

    /// One second passed: update the line, warn when starts fell behind.
    pub fn tick(&mut self, now_ns: u64, rec: &Recorder, in_flight: i64, connections: i64) {
        let dt = (now_ns.saturating_sub(self.last_ns)) as f64 / 1e9;
        let started = rec.started_total();
        let rate = if dt > 0.0 {
            (started - self.last_started) as f64 / dt
        } else {
            0.0
        };
        let b = rec.behind;
        if b.count > self.last_behind {
            self.say(format!(
                "behind schedule at {:.0}s: {} starts more than {} late in the last second \
                 ({} waited for an in-flight slot, {} late with a slot free: the generator itself); \
                 worst so far {}",
                now_ns as f64 / 1e9,
                b.count - self.last_behind,
                format_approx(rec.behind_tolerance_ns as f64),
                b.waited_for_slot - self.last_waited,
                b.generator - self.last_generator,
                format_approx(b.worst_ns as f64),
            ));
        }
        self.last_ns = now_ns;
        self.last_started = started;
        self.last_behind = b.count;
        self.last_waited = b.waited_for_slot;
        self.last_generator = b.generator;
        if let Some(bar) = &self.bar {
            let target = self
                .target_rate
                .map(|t| format!(" of {t:.0}/s"))
                .unwrap_or_default();
            let (p50, p99) = if rec.live_latency.is_empty() {
                ("-".to_string(), "-".to_string())
            } else {
                (
                    format_approx(rec.live_latency.value_at_quantile(0.5) as f64),
                    format_approx(rec.live_latency.value_at_quantile(0.99) as f64),
                )
            };
            bar.set_message(format!(
                "{:>4.0}s  rate {rate:.0}/s{target}  p50 {p50}  p99 {p99}  errors {}  in flight {in_flight}  behind {}  connections {connections}",
                now_ns as f64 / 1e9,
                rec.errors_total(),
                b.count
            ));
            bar.tick();
        }
    }

    /// The load ended: clear the line.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
