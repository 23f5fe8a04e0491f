//! Where the load generator gets time, and how it sleeps.
//!
//! Workers see time as nanoseconds since the run's start ([`Clock::now_ns`]); a driver
//! sleeps on the clock's [`Timer`]. Two clocks:
//!
//! - [`WallClock`]: the real one, for runs against a real node. It is the one place that
//!   reads the system's clock. Its timers run on a small thread that sleeps with the
//!   operating system's high-resolution timers, because tokio's timers tick once a
//!   millisecond: a request due 0.1 ms from now would start up to ~2 ms late, and that
//!   lateness would show in every latency measured from the schedule.
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
    shared: Arc<TimerShared>,
    /// Stops the timer thread when the clock is dropped.
    _stop: StopOnDrop,
}

impl WallClock {
    /// A clock whose origin is `delay` from now (so every connection's driver is ready before
    /// the first request is due), and its timer thread.
    pub fn starting_in(delay: Duration) -> std::io::Result<WallClock> {
        let shared = Arc::new(TimerShared::default());
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("stegosim-load-timer".into())
            .spawn(move || thread_shared.run())?;
        Ok(WallClock {
            origin: system_now() + delay,
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
    shared: Arc<TimerShared>,
    id: u64,
    deadline: Option<Instant>,
    /// The deadline the timer thread knows, if any.
    registered: Option<Instant>,
}

impl Timer for WallTimer {
    fn reset(&mut self, t_ns: u64) {
        self.deadline = Some(self.origin + Duration::from_nanos(t_ns));
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
    async fn wall_timers_fire_in_order_and_on_time() {
        let clock = WallClock::starting_in(Duration::from_millis(5)).unwrap();
        let mut timers: Vec<Box<dyn Timer>> = (0..3).map(|_| clock.timer()).collect();
        for (i, t) in timers.iter_mut().enumerate() {
            t.reset(2_000_000 * (3 - i as u64));
        }
        let mut order = Vec::new();
        while order.len() < 3 {
            std::future::poll_fn(|cx| {
                for (i, t) in timers.iter_mut().enumerate() {
                    if !order.contains(&i) && t.poll_elapsed(cx).is_ready() {
                        order.push(i);
                        return Poll::Ready(());
                    }
                }
                Poll::Pending
            })
            .await;
        }
        assert_eq!(order, vec![2, 1, 0]);
        assert!(clock.now_ns() >= 6_000_000);
    }
}
