//! Helpers shared by the node's benchmarks.

#![allow(dead_code)]

use std::time::Duration;

/// CPU time this thread has run (`CLOCK_THREAD_CPUTIME_ID`), or `None` where the benchmarks
/// do not read it (outside Linux).
///
/// The machines these benchmarks run on are shared with other jobs: wall-clock time then
/// counts the time other processes held the core. Time on CPU does not (it still pays for
/// caches and sibling hyperthreads shared with them), so the benchmarks can report it
/// instead of wall time.
pub fn thread_cpu() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Some(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Which clock a benchmark measures with: `BENCH_CLOCK=cpu` for this thread's CPU time
/// (when the system offers it), anything else for wall time.
pub fn cpu_clock_requested() -> bool {
    std::env::var("BENCH_CLOCK").is_ok_and(|v| v == "cpu") && thread_cpu().is_some()
}

/// A stopwatch on the clock [`cpu_clock_requested`] chose.
#[derive(Debug)]
pub struct Stopwatch {
    /// Measure CPU time instead of wall time.
    cpu: bool,
    /// Wall-clock start.
    wall: std::time::Instant,
    /// CPU-time start.
    cpu_start: Duration,
}

impl Stopwatch {
    /// Starts a stopwatch (CPU time when `cpu`).
    // Benchmarks measure real time; the node core itself never reads the clock.
    #[allow(clippy::disallowed_methods)]
    pub fn start(cpu: bool) -> Stopwatch {
        Stopwatch {
            cpu,
            wall: std::time::Instant::now(),
            cpu_start: thread_cpu().unwrap_or_default(),
        }
    }

    /// Time since the start, on the chosen clock.
    pub fn elapsed(&self) -> Duration {
        if self.cpu {
            thread_cpu()
                .unwrap_or_default()
                .saturating_sub(self.cpu_start)
        } else {
            self.wall.elapsed()
        }
    }

    /// Wall time since the start.
    pub fn wall(&self) -> Duration {
        self.wall.elapsed()
    }

    /// CPU time of this thread since the start (zero where unavailable).
    pub fn cpu(&self) -> Duration {
        thread_cpu()
            .unwrap_or_default()
            .saturating_sub(self.cpu_start)
    }
}
