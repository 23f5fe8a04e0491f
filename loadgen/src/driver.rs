//! The async driver: runs one [`Worker`] over one [`Connection`] on a [`Clock`].
//!
//! One task per connection, hand-polled. It first waits for the run's origin (time 0), so
//! every connection is ready before the first start is due; then each wake-up it reads
//! every message that is ready, handles timers, starts every request that is due (as long
//! as the connection takes more), flushes once, hands the worker's events to the run's
//! [`Recorder`] every few hundred events or 100 ms, and sleeps until the worker's next
//! deadline. Reading never waits behind writing, and a batch of sends costs one flush.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::clock::{Clock, Timer};
use crate::metrics::{Event, Recorder};
use crate::transport::{ConnError, Connection};
use crate::worker::Worker;

/// Events a worker collects before they are handed to the recorder.
pub const EVENTS_BATCH_MAX: usize = 512;

/// The longest a worker keeps events before handing them over, in ns.
pub const EVENTS_DELAY_MAX_NS: u64 = 100_000_000;

/// Messages handled in one wake-up before the task yields to others.
const MESSAGES_PER_POLL_MAX: u32 = 4096;

/// Counters the live progress line reads without taking the recorder's lock.
#[derive(Debug, Default)]
pub struct Live {
    /// Requests in flight over every connection (as of each driver's last report).
    pub in_flight: AtomicI64,
    /// Connections still running.
    pub running: AtomicI64,
}

/// Locks the recorder; a poisoned lock (a panicked driver) still holds consistent counts.
pub fn lock(r: &Mutex<Recorder>) -> std::sync::MutexGuard<'_, Recorder> {
    r.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `worker` over `conn` until it finishes; its events end up in `recorder`.
pub async fn drive<C: Connection>(
    conn: C,
    worker: Worker,
    clock: Arc<dyn Clock>,
    recorder: Arc<Mutex<Recorder>>,
    live: Arc<Live>,
) {
    live.running.fetch_add(1, Ordering::Relaxed);
    let mut timer = clock.timer();
    timer.reset(0);
    let d = Driver {
        conn,
        worker,
        timer,
        started: false,
        clock,
        recorder,
        live,
        json: Vec::new(),
        plain: Vec::new(),
        events: Vec::new(),
        dirty: false,
        last_handover_ns: 0,
        reported_in_flight: 0,
    };
    d.await
}

struct Driver<C> {
    conn: C,
    worker: Worker,
    clock: Arc<dyn Clock>,
    recorder: Arc<Mutex<Recorder>>,
    live: Arc<Live>,
    timer: Box<dyn Timer>,
    /// Whether the run's origin has come (the driver waits for it before anything else).
    started: bool,
    json: Vec<u8>,
    plain: Vec<u8>,
    events: Vec<Event>,
    /// Sends not flushed yet.
    dirty: bool,
    last_handover_ns: u64,
    reported_in_flight: i64,
}

impl<C: Connection> Driver<C> {
    fn hand_over(&mut self, now_ns: u64) {
        self.worker.take_events(&mut self.events);
        if !self.events.is_empty() {
            lock(&self.recorder).record_all(&mut self.events);
        }
        let in_flight = i64::from(self.worker.in_flight());
        self.live
            .in_flight
            .fetch_add(in_flight - self.reported_in_flight, Ordering::Relaxed);
        self.reported_in_flight = in_flight;
        self.last_handover_ns = now_ns;
    }

    fn finish(&mut self) -> Poll<()> {
        let now = self.clock.now_ns();
        self.hand_over(now);
        self.live.running.fetch_sub(1, Ordering::Relaxed);
        Poll::Ready(())
    }

    fn lost(&mut self, e: ConnError) -> Poll<()> {
        let now = self.clock.now_ns();
        self.worker.handle_closed(now, &e.to_string());
        self.finish()
    }
}

impl<C: Connection> Future for Driver<C> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // `Driver` holds only Unpin fields (the sleep is boxed).
        let this = self.get_mut();
        if !this.started {
            if this.timer.poll_elapsed(cx).is_pending() {
                return Poll::Pending;
            }
            this.started = true;
        }
        let mut budget = MESSAGES_PER_POLL_MAX;
        loop {
            // 1. Everything that arrived.
            loop {
                match this.conn.poll_recv(cx, &mut this.plain) {
                    Poll::Ready(Ok(at)) => this.worker.handle_message(at, &this.plain),
                    Poll::Ready(Err(ConnError::Unreadable(_))) => {
                        let now = this.clock.now_ns();
                        this.worker.handle_unreadable(now);
                    }
                    Poll::Ready(Err(e)) => return this.lost(e),
                    Poll::Pending => break,
                }
                budget -= 1;
                if budget == 0 {
                    // Let other connections run; come back at once.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
            let now = this.clock.now_ns();
            this.worker.handle_timeout(now);

            // 2. Every start that is due, while the connection takes more.
            let mut send_blocked = false;
            loop {
                match this.conn.poll_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return this.lost(e),
                    Poll::Pending => {
                        send_blocked = true;
                        break;
                    }
                }
                if this.worker.poll_request(now, &mut this.json).is_none() {
                    break;
                }
                if let Err(e) = this.conn.start_send(&this.json) {
                    return this.lost(e);
                }
                this.dirty = true;
            }
            if this.dirty {
                match this.conn.poll_flush(cx) {
                    Poll::Ready(Ok(())) => this.dirty = false,
                    Poll::Ready(Err(e)) => return this.lost(e),
                    Poll::Pending => {}
                }
            }

            // 3. Events to the recorder.
            if this.worker.events_pending() >= EVENTS_BATCH_MAX
                || now.saturating_sub(this.last_handover_ns) >= EVENTS_DELAY_MAX_NS
            {
                this.hand_over(now);
            }
            if this.worker.is_finished() {
                return this.finish();
            }

            // 4. Sleep until the next deadline (a blocked connection wakes us when it can
            // take more, so a due start does not make the timer spin meanwhile).
            let mut next = this.worker.poll_timeout();
            if this.worker.events_pending() > 0 {
                let handover = this.last_handover_ns + EVENTS_DELAY_MAX_NS;
                next = Some(next.map_or(handover, |t| t.min(handover)));
            }
            if let Some(mut t) = next {
                if send_blocked && t <= now {
                    t = now + 1_000_000;
                }
                this.timer.reset(t);
                if this.timer.poll_elapsed(cx).is_ready() {
                    continue;
                }
            }
            return Poll::Pending;
        }
    }
}
