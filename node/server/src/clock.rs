//! The driver's clock: wall time for the real node, virtual time under turmoil.
//!
//! Nodes see time as nanoseconds since the Unix epoch. [`TokioClock`] reads tokio's clock,
//! which is the real monotonic clock in a normal runtime and turmoil's (or a paused runtime's)
//! virtual clock in a simulation, offset so that it starts at a given Unix time.

use tokio::time::Instant;

/// Where a driver gets `now`.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Nanoseconds since the Unix epoch.
    fn now_ns(&self) -> u64;
    /// The tokio instant at which the clock will read `t_ns` (for sleeping until then).
    fn instant_at(&self, t_ns: u64) -> Instant;
}

/// tokio's clock, offset to read `start_ns` at creation.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start_ns: u64,
    start: Instant,
}

impl TokioClock {
    /// A clock that reads `start_ns` now.
    pub fn starting_at(start_ns: u64) -> Self {
        TokioClock {
            start_ns,
            start: Instant::now(),
        }
    }

    /// A clock that reads the system's wall time now (the real node).
    #[allow(clippy::disallowed_methods)] // The real node is the one place that reads the wall clock.
    pub fn wall() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Self::starting_at(now)
    }
}

impl Clock for TokioClock {
    fn now_ns(&self) -> u64 {
        self.start_ns
            .saturating_add(self.start.elapsed().as_nanos() as u64)
    }

    fn instant_at(&self, t_ns: u64) -> Instant {
        self.start + std::time::Duration::from_nanos(t_ns.saturating_sub(self.start_ns))
    }
}
