//! The event queue: a binary heap ordered by (virtual time, sequence number).
//!
//! The sequence number is assigned at push time and only grows, so two events due at the same
//! nanosecond come out in the order they were scheduled: the run is a function of the seed
//! alone, never of the heap's internal layout.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Largest number of events the queue holds at once. Messages beyond it are dropped (and
/// counted) rather than letting a runaway broadcast storm eat the machine's memory.
pub const QUEUE_EVENTS_MAX: usize = 20_000_000;

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

/// Events of type `T`, popped in (time, sequence) order.
#[derive(Debug)]
pub struct EventQueue<T> {
    /// The pending events.
    heap: BinaryHeap<Entry<T>>,
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
            heap: BinaryHeap::new(),
            seq_next: 0,
        }
    }

    /// Schedules `item` at `t_ns`.
    pub fn push(&mut self, t_ns: u64, item: T) {
        let seq = self.seq_next;
        self.seq_next += 1;
        self.heap.push(Entry { t_ns, seq, item });
    }

    /// The earliest event, removed.
    pub fn pop(&mut self) -> Option<(u64, T)> {
        self.heap.pop().map(|e| (e.t_ns, e.item))
    }

    /// When the earliest event is due.
    pub fn peek_time_ns(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.t_ns)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Whether the queue has room for one more event (see [`QUEUE_EVENTS_MAX`]).
    pub fn has_room(&self) -> bool {
        self.heap.len() < QUEUE_EVENTS_MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
