//! Where the load generator gets time, and how it sleeps.
//!
//! Workers see time as nanoseconds since the run's start ([`Clock::now_ns`]); a driver
//! sleeps on the clock's [`Timer`]. Two clocks:
//!
//! - [`WallClock`]: the real one, for runs against a real node. It is the one place that
//!   reads the system's clock. Its timers run on a small thread that sleeps with the
//!   operating system's high-resolution timers, because tokio's timers tick once a
//!   millisecond: a request due 0.1 ms from now would start up to ~2 ms late, and that
//!   lateness would show in every latency measured from the schedule. Deadlines are rounded
//!   up to the clock's resolution (default [`TIMER_RESOLUTION_NS`]), so at high rates the
//!   timers of every connection fire together, once per slot, instead of waking a thread
//!   for every start.
//! - [`TokioClock`]: tokio's clock and timers, which are virtual in a paused runtime (tests,
//!   or a simulator that runs the driver on simulated sockets).
//!
//! A simulator that drives [`crate::worker::Worker`]s itself passes its virtual `now` and
//! needs no clock at all.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The wall clock's default timer slots, in ns: a deadline is rounded up to the next
/// multiple (since the origin), which bounds the timer thread's wake-ups to 10,000 per
/// second whatever the rate, at the cost of up to 100 µs of start lateness.
pub const TIMER_RESOLUTION_NS: u64 = 100_000;

/// Where a driver gets `now`, and its timers.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Nanoseconds since the clock's origin (the run's start); never decreases; 0 before
    /// the origin.
    fn now_ns(&self) -> u64;
    /// A new timer on this clock (unarmed).
    fn timer(&self) -> Box<dyn Timer>;
}

/// A resettable timer, polled like a future.
pub trait Timer: Send + std::fmt::Debug {
    /// Arms the timer for `t_ns` on its clock (replacing the previous deadline).
    fn reset(&mut self, t_ns: u64);
    /// `Ready` once the armed deadline has passed (and stays so until the next reset);
    /// `Pending` otherwise, with the task woken at the deadline.
    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

/// tokio's clock and timers, reading 0 at its origin.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock whose origin is `origin`.
    pub fn with_origin(origin: tokio::time::Instant) -> Self {
        TokioClock { origin }
    }

    /// A clock whose origin is now.
    pub fn starting_now() -> Self {
        Self::with_origin(tokio::time::Instant::now())
    }
}

impl Clock for TokioClock {
    fn now_ns(&self) -> u64 {
        tokio::time::Instant::now()
            .saturating_duration_since(self.origin)
            .as_nanos() as u64
    }

    fn timer(&self) -> Box<dyn Timer> {
        Box::new(TokioTimer {
            origin: self.origin,
            sleep: Box::pin(tokio::time::sleep_until(self.origin)),
        })
    }
}

/// A timer on tokio's clock.
#[derive(Debug)]
struct TokioTimer {
    origin: tokio::time::Instant,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Timer for TokioTimer {
    fn reset(&mut self, t_ns: u64) {
        let deadline = self.origin + Duration::from_nanos(t_ns);
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
    }

    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.sleep.as_mut().poll(cx)
    }
}

use std::future::Future as _;

/// The system's monotonic clock, with precise timers.
#[derive(Debug)]
pub struct WallClock {
    origin: Instant,
    /// Timer slots, in ns.
    resolution_ns: u64,
    shared: Arc<TimerShared>,
    /// Stops the timer thread when the clock is dropped.
    _stop: StopOnDrop,
}

impl WallClock {
    /// A clock whose origin is `delay` from now (so every connection's driver is ready before
    /// the first request is due), and its timer thread, with timer slots of
    /// `resolution_ns` (at least 1).
    pub fn starting_in(delay: Duration, resolution_ns: u64) -> std::io::Result<WallClock> {
        let shared = Arc::new(TimerShared::default());
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("stegosim-load-timer".into())
            .spawn(move || thread_shared.run())?;
        Ok(WallClock {
            origin: system_now() + delay,
            resolution_ns: resolution_ns.max(1),
            shared: shared.clone(),
            _stop: StopOnDrop(shared),
        })
    }
}

/// The system's monotonic clock.
#[allow(clippy::disallowed_methods)] // A real run measures real time: the one place that reads it.
fn system_now() -> Instant {
    Instant::now()
}

impl Clock for WallClock {
    fn now_ns(&self) -> u64 {
        system_now()
            .saturating_duration_since(self.origin)
            .as_nanos() as u64
    }

    fn timer(&self) -> Box<dyn Timer> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Box::new(WallTimer {
            origin: self.origin,
            resolution_ns: self.resolution_ns,
            shared: self.shared.clone(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            deadline: None,
            registered: None,
        })
    }
}

/// Sets the timer thread's stop flag when the clock goes away.
#[derive(Debug)]
struct StopOnDrop(Arc<TimerShared>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.lock().stop = true;
        self.0.cv.notify_one();
    }
}

/// The timer thread's state: deadlines in a heap, the waker of each timer.
#[derive(Debug, Default)]
struct TimerState {
    /// (deadline, timer id); entries of timers that moved on are skipped when they come due.
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    /// Each armed timer's deadline and waker.
    wakers: HashMap<u64, (Instant, Waker)>,
    stop: bool,
}

#[derive(Debug, Default)]
struct TimerShared {
    state: Mutex<TimerState>,
    cv: Condvar,
}

impl TimerShared {
    fn lock(&self) -> MutexGuard<'_, TimerState> {
        // A panicking waker cannot leave the heap inconsistent: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The timer thread: wakes each timer at its deadline, sleeping on the condition
    /// variable (a futex with a timeout: the kernel's high-resolution timers) in between.
    fn run(&self) {
        let mut due: Vec<Waker> = Vec::new();
        let mut st = self.lock();
        loop {
            if st.stop {
                return;
            }
            let now = system_now();
            while let Some(&Reverse((d, id))) = st.heap.peek() {
                if d > now {
                    break;
                }
                st.heap.pop();
                if st.wakers.get(&id).is_some_and(|(dl, _)| *dl <= now)
                    && let Some((_, w)) = st.wakers.remove(&id)
                {
                    due.push(w);
                }
            }
            if !due.is_empty() {
                drop(st);
                for w in due.drain(..) {
                    w.wake();
                }
                st = self.lock();
                continue;
            }
            st = match st.heap.peek() {
                None => self.cv.wait(st).unwrap_or_else(|e| e.into_inner()),
                Some(&Reverse((d, _))) => {
                    self.cv
                        .wait_timeout(st, d.saturating_duration_since(now))
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}

/// A timer of a [`WallClock`].
#[derive(Debug)]
struct WallTimer {
    origin: Instant,
    resolution_ns: u64,
    shared: Arc<TimerShared>,
    id: u64,
    deadline: Option<Instant>,
    /// The deadline the timer thread knows, if any.
    registered: Option<Instant>,
}

impl Timer for WallTimer {
    fn reset(&mut self, t_ns: u64) {
        let slot = t_ns
            .div_ceil(self.resolution_ns)
            .saturating_mul(self.resolution_ns);
        self.deadline = Some(self.origin + Duration::from_nanos(slot));
    }

    fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(d) = self.deadline else {
            return Poll::Pending;
        };
        if system_now() >= d {
            return Poll::Ready(());
        }
        let mut st = self.shared.lock();
        let earliest = st.heap.peek().map(|r| r.0.0);
        st.wakers.insert(self.id, (d, cx.waker().clone()));
        if self.registered != Some(d) {
            st.heap.push(Reverse((d, self.id)));
            self.registered = Some(d);
            if earliest.is_none_or(|e| d < e) {
                self.shared.cv.notify_one();
            }
        }
        Poll::Pending
    }
}

impl Drop for WallTimer {
    fn drop(&mut self) {
        self.shared.lock().wakers.remove(&self.id);
    }
}

/// Milliseconds since the Unix epoch, from the system's wall clock.
#[allow(clippy::disallowed_methods)] // A run's start time is wall-clock time by definition: it lines up runs of several machines.
pub fn unix_time_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wall_timers_fire_at_their_deadline_never_before() {
        let clock = WallClock::starting_in(Duration::from_millis(5), 1).unwrap();
        let mut timers: Vec<Box<dyn Timer>> = (0..3).map(|_| clock.timer()).collect();
        let deadline = |i: usize| 2_000_000 * (3 - i as u64);
        for (i, t) in timers.iter_mut().enumerate() {
            t.reset(deadline(i));
        }
        let mut fired: Vec<(usize, u64)> = Vec::new();
        while fired.len() < 3 {
            std::future::poll_fn(|cx| {
                let mut any = false;
                for (i, t) in timers.iter_mut().enumerate() {
                    if !fired.iter().any(|f| f.0 == i) && t.poll_elapsed(cx).is_ready() {
                        fired.push((i, clock.now_ns()));
                        any = true;
                    }
                }
                if any { Poll::Ready(()) } else { Poll::Pending }
            })
            .await;
        }
        for (i, at) in fired {
            assert!(
                at >= deadline(i),
                "timer {i} fired at {at}, before {}",
                deadline(i)
            );
        }
        // Slots: a deadline is rounded up to the clock's resolution.
        let coarse = WallClock::starting_in(Duration::ZERO, 3_000_000).unwrap();
        let mut t = coarse.timer();
        t.reset(1);
        std::future::poll_fn(|cx| t.poll_elapsed(cx)).await;
        assert!(coarse.now_ns() >= 3_000_000);
    }
}
