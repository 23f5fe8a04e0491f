//! The event queue: events popped in (virtual time, sequence number) order.
//!
//! The sequence number is assigned at push time and only grows, so two events due at the same
//! nanosecond come out in the order they were scheduled: the run is a function of the seed
//! alone, never of the queue's internal layout.
//!
//! # Structure
//! A calendar queue in front of a binary heap. Virtual time is cut into buckets of
//! [`BUCKET_NS`]; the [`BUCKETS`] buckets after the current one form a ring (a window of about
//! 4.3 s), each an unsorted vector, with a bitmap of the non-empty ones. Events of the current
//! bucket (or earlier) live in a small binary heap (`current`); events beyond the window live
//! in a second binary heap (`far`) and move into the ring as the window slides over them.
//! Pushing into the window is O(1); popping is O(log k) for the k events of one bucket, plus
//! an amortised O(1) step to the next non-empty bucket. Network messages (milliseconds ahead)
//! and most timers fall in the window, so the heaps stay small whatever the number of events
//! in flight. The ordering is exactly that of one heap over (time, sequence).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Largest number of events the queue holds at once. Messages beyond it are dropped (and
/// counted) rather than letting a runaway broadcast storm eat the machine's memory.
pub const QUEUE_EVENTS_MAX: usize = 20_000_000;

/// log2 of the bucket width in nanoseconds.
const BUCKET_NS_LOG2: u32 = 17;
/// Width of one bucket: 131 µs.
#[allow(dead_code)] // Named for the docs above and the tests; the code shifts by the log.
pub const BUCKET_NS: u64 = 1 << BUCKET_NS_LOG2;
/// Buckets in the ring (the window is `BUCKETS * BUCKET_NS`, about 4.3 s).
pub const BUCKETS: usize = 1 << 15;

#[derive(Debug)]
struct Entry<T> {
    t_ns: u64,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.t_ns == other.t_ns && self.seq == other.seq
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .t_ns
            .cmp(&self.t_ns)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

fn bucket_of(t_ns: u64) -> u64 {
    t_ns >> BUCKET_NS_LOG2
}

/// Events of type `T`, popped in (time, sequence) order.
#[derive(Debug)]
pub struct EventQueue<T> {
    /// Events of bucket `current_bucket` or earlier, as a heap.
    current: BinaryHeap<Entry<T>>,
    /// The bucket `current` covers (everything at or before it is in `current`).
    current_bucket: u64,
    /// Ring of the buckets after the current one: bucket `b` lives at `b % BUCKETS`.
    ring: Vec<Vec<Entry<T>>>,
    /// Bit `i` set when `ring[i]` is not empty.
    occupied: Vec<u64>,
    /// Events in the ring.
    ring_len: usize,
    /// Events at or after bucket `current_bucket + BUCKETS`.
    far: BinaryHeap<Entry<T>>,
    /// The sequence number the next push gets.
    seq_next: u64,
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> EventQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            current: BinaryHeap::new(),
            current_bucket: 0,
            ring: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: vec![0; BUCKETS / 64],
            ring_len: 0,
            far: BinaryHeap::new(),
            seq_next: 0,
        }
    }

    fn place(&mut self, e: Entry<T>) {
        let b = bucket_of(e.t_ns);
        if b <= self.current_bucket {
            self.current.push(e);
        } else if b < self.current_bucket + BUCKETS as u64 {
            let slot = (b % BUCKETS as u64) as usize;
            self.ring[slot].push(e);
            self.occupied[slot / 64] |= 1 << (slot % 64);
            self.ring_len += 1;
        } else {
            self.far.push(e);
        }
    }

    /// Schedules `item` at `t_ns`.
    pub fn push(&mut self, t_ns: u64, item: T) {
        let seq = self.seq_next;
        self.seq_next += 1;
        self.place(Entry { t_ns, seq, item });
    }

    /// The first occupied ring slot at or after `from` (wrapping), as a distance from `from`.
    fn next_occupied(&self, from: usize) -> Option<usize> {
        let words = self.occupied.len();
        let (w0, b0) = (from / 64, from % 64);
        let first = self.occupied[w0] & (!0u64 << b0);
        if first != 0 {
            return Some(w0 * 64 + first.trailing_zeros() as usize - from);
        }
        for i in 1..=words {
            let w = (w0 + i) % words;
            let bits = if i == words {
                self.occupied[w] & ((1u64 << b0) - 1)
            } else {
                self.occupied[w]
            };
            if bits != 0 {
                let slot = w * 64 + bits.trailing_zeros() as usize;
                return Some((slot + BUCKETS - from) % BUCKETS);
            }
        }
        None
    }

    /// Makes `current` non-empty if any event is queued.
    fn refill(&mut self) {
        while self.current.is_empty() {
            if self.ring_len == 0 {
                // Jump the window to the earliest far event.
                let Some(t) = self.far.peek().map(|e| e.t_ns) else {
                    return;
                };
                self.current_bucket = bucket_of(t);
            } else {
                let from = ((self.current_bucket + 1) % BUCKETS as u64) as usize;
                let d = self
                    .next_occupied(from)
                    .expect("ring_len > 0 means some slot is occupied");
                self.current_bucket += 1 + d as u64;
                let slot = (self.current_bucket % BUCKETS as u64) as usize;
                let events = std::mem::take(&mut self.ring[slot]);
                self.occupied[slot / 64] &= !(1 << (slot % 64));
                self.ring_len -= events.len();
                self.current = BinaryHeap::from(events);
            }
            // The window moved: far events now inside it join the ring (or `current`).
            let window_end = self.current_bucket + BUCKETS as u64;
            while self
                .far
                .peek()
                .is_some_and(|e| bucket_of(e.t_ns) < window_end)
            {
                let e = self.far.pop().expect("peeked");
                self.place(e);
            }
        }
    }

    /// The earliest event, removed.
    pub fn pop(&mut self) -> Option<(u64, T)> {
        self.refill();
        self.current.pop().map(|e| (e.t_ns, e.item))
    }

    /// When the earliest event is due.
    pub fn peek_time_ns(&mut self) -> Option<u64> {
        self.refill();
        self.current.peek().map(|e| e.t_ns)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.current.len() + self.ring_len + self.far.len()
    }

    /// Whether the queue has room for one more event (see [`QUEUE_EVENTS_MAX`]).
    pub fn has_room(&self) -> bool {
        self.len() < QUEUE_EVENTS_MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stegosim_node::rng::Seed;

    #[test]
    fn pops_in_time_then_sequence_order() {
        let mut q = EventQueue::new();
        q.push(5, "b");
        q.push(3, "a");
        q.push(5, "c");
        q.push(1, "first");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![(1, "first"), (3, "a"), (5, "b"), (5, "c")]);
    }

    /// The calendar queue pops exactly what one binary heap over (time, sequence) pops, with
    /// pushes interleaved with pops, near and far times, and equal times.
    #[test]
    fn matches_a_plain_heap() {
        let mut rng = Seed(9).stream("queue");
        let mut q = EventQueue::new();
        let mut reference: BinaryHeap<Entry<u64>> = BinaryHeap::new();
        let mut seq = 0u64;
        let mut now = 1_000_000_000u64;
        for round in 0..20_000u64 {
            let pushes = rng.below(3);
            for _ in 0..pushes {
                let ahead = match rng.below(4) {
                    0 => 0,
                    1 => rng.below(BUCKET_NS * 3),
                    2 => rng.below(BUCKET_NS * BUCKETS as u64 * 2),
                    _ => rng.below(60_000_000_000),
                };
                let t = now + ahead;
                q.push(t, round);
                reference.push(Entry {
                    t_ns: t,
                    seq,
                    item: round,
                });
                seq += 1;
            }
            if rng.below(2) == 0 {
                let got = q.pop();
                let want = reference.pop().map(|e| (e.t_ns, e.item));
                assert_eq!(got, want, "round {round}");
                if let Some((t, _)) = got {
                    now = t;
                }
            }
            assert_eq!(q.len(), reference.len());
        }
        while let Some(e) = reference.pop() {
            assert_eq!(q.pop(), Some((e.t_ns, e.item)));
        }
        assert!(q.pop().is_none());
    }
}
