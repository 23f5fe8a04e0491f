//! `des`: the discrete-event engine.
//!
//! One queue of events ordered by (virtual time, sequence number); virtual time jumps straight
//! to the next event, so the cost of a run grows with the number of events, not with the
//! number of hosts times clock ticks. The engine knows hosts only by index: it carries their
//! messages across the [`net::Network`] model, keeps one timer per host, their clocks
//! ([`clock::Clock`]) and whether they are up. What a host *is* (a node, a ring benchmark
//! peer, later a load-generator client) is the driver's business: the driver pops
//! [`Fired`] events with [`Engine::next`], calls its host, and tells the engine what the host
//! sent ([`Engine::send`]) and when it next wants to be woken ([`Engine::set_timer`]).
//!
//! # Timers
//! Each host has at most one live timer. [`Engine::set_timer`] bumps the host's generation
//! and queues an entry; an entry whose generation is no longer the host's current one is
//! stale and skipped when popped. Setting the same deadline again queues nothing. So a driver
//! re-arms after every call to a host at O(log events) cost, and never scans all hosts.
//!
//! # Modules
//! - [`queue`]: the (time, sequence) priority queue.
//! - [`net`]: link options (latency, loss, duplication, reordering) and partitions.
//! - [`clock`]: per-host clock drift.

pub mod clock;
pub mod net;
pub mod queue;

use stegosim_node::rng::Stream;

use clock::Clock;
use net::{DropReason, LinkOptions, Network, Route};
use queue::EventQueue;

/// Index of a host in the engine (the node's `NodeId` in the node driver).
pub type HostId = u32;

/// An event the driver must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired<M> {
    /// `msg` from `from` arrives at `to` (which is up).
    Deliver {
        /// Sender.
        from: HostId,
        /// Receiver.
        to: HostId,
        /// The message.
        msg: M,
    },
    /// The timer of `host` is due (and the host is up).
    Timer {
        /// Whose timer.
        host: HostId,
    },
    /// A driver-defined event scheduled with [`Engine::schedule`].
    Control {
        /// The driver's identifier.
        id: u64,
    },
}

#[derive(Debug)]
enum Scheduled<M> {
    Deliver { from: HostId, to: HostId, msg: M },
    Timer { host: HostId, generation: u64 },
    Control { id: u64 },
}

/// What the engine knows of one host.
#[derive(Debug, Clone)]
struct HostState {
    /// Whether it runs; messages to a host that is down are dropped on arrival.
    up: bool,
    /// Generation of the live timer entry; older entries are stale.
    timer_generation: u64,
    /// Local deadline of the live timer, if armed.
    timer_local_ns: Option<u64>,
    /// The host's clock.
    clock: Clock,
}

/// Counters of what the engine did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Events handed to the driver.
    pub events: u64,
    /// Messages sent (one per destination).
    pub messages_sent: u64,
    /// Messages delivered (duplicates included).
    pub messages_delivered: u64,
    /// Extra copies created by duplication.
    pub messages_duplicated: u64,
    /// Messages dropped, by reason (indexed like [`DropReason::ALL`]).
    pub messages_dropped: [u64; 4],
    /// Timers that fired.
    pub timers_fired: u64,
    /// Stale timer entries skipped.
    pub timers_stale: u64,
    /// Most events queued at once.
    pub queue_len_max: usize,
}

impl EngineStats {
    /// Dropped messages of one reason.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.messages_dropped[reason as usize]
    }

    /// Dropped messages of every reason.
    pub fn dropped_total(&self) -> u64 {
        self.messages_dropped.iter().sum()
    }
}

/// The discrete-event engine, carrying messages of type `M` between hosts.
#[derive(Debug)]
pub struct Engine<M> {
    /// Pending events.
    queue: EventQueue<Scheduled<M>>,
    /// Per-host state.
    hosts: Vec<HostState>,
    /// Link model and partitions.
    net: Network,
    /// Randomness of the network model.
    rng: Stream,
    /// Current virtual time.
    now_ns: u64,
    /// Virtual time at the start.
    start_ns: u64,
    /// Counters.
    stats: EngineStats,
}

impl<M: Clone> Engine<M> {
    /// An engine with `hosts` hosts, all up with exact clocks, at virtual time `start_ns`.
    pub fn new(hosts: u32, start_ns: u64, links: LinkOptions, rng: Stream) -> Engine<M> {
        Engine {
            queue: EventQueue::new(),
            hosts: vec![
                HostState {
                    up: true,
                    timer_generation: 0,
                    timer_local_ns: None,
                    clock: Clock::exact(start_ns),
                };
                hosts as usize
            ],
            net: Network::new(hosts, links),
            rng,
            now_ns: start_ns,
            start_ns,
            stats: EngineStats::default(),
        }
    }

    /// Current virtual time.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// Virtual time since the start.
    pub fn elapsed_ns(&self) -> u64 {
        self.now_ns - self.start_ns
    }

    /// Virtual time at the start.
    pub fn start_ns(&self) -> u64 {
        self.start_ns
    }

    /// The local time of `host` now.
    pub fn local_now_ns(&self, host: HostId) -> u64 {
        self.hosts[host as usize].clock.local_ns(self.now_ns)
    }

    /// The clock of `host`.
    pub fn clock(&self, host: HostId) -> &Clock {
        &self.hosts[host as usize].clock
    }

    /// Counters so far.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Number of queued events (stale timers included).
    #[cfg(test)]
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// The network model, to read.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// The network model, to change links and partitions.
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.net
    }

    fn count_drop(&mut self, reason: DropReason) {
        self.stats.messages_dropped[reason as usize] += 1;
    }

    fn push(&mut self, t_ns: u64, item: Scheduled<M>) {
        self.queue.push(t_ns, item);
        self.stats.queue_len_max = self.stats.queue_len_max.max(self.queue.len());
    }

    /// Sends `msg` from `from` to `to` through the network model. Returns why it will not
    /// arrive, if the model already knows (a later crash of the receiver drops it on arrival).
    pub fn send(&mut self, from: HostId, to: HostId, msg: M) -> Result<(), DropReason> {
        self.stats.messages_sent += 1;
        let route = self.net.route(from, to, &mut self.rng);
        match route {
            Route::Dropped(reason) => {
                self.count_drop(reason);
                Err(reason)
            }
            Route::Deliver {
                latency_ns,
                duplicate_ns,
            } => {
                if !self.queue.has_room() {
                    self.count_drop(DropReason::Overflow);
                    return Err(DropReason::Overflow);
                }
                if let Some(d) = duplicate_ns {
                    self.stats.messages_duplicated += 1;
                    let copy = msg.clone();
                    self.push(
                        self.now_ns.saturating_add(d),
                        Scheduled::Deliver {
                            from,
                            to,
                            msg: copy,
                        },
                    );
                }
                self.push(
                    self.now_ns.saturating_add(latency_ns),
                    Scheduled::Deliver { from, to, msg },
                );
                Ok(())
            }
        }
    }

    /// Arms the timer of `host` for local time `local_ns` (replacing any earlier one), or
    /// disarms it with `None`. A host that is down gets no timer.
    pub fn set_timer(&mut self, host: HostId, local_ns: Option<u64>) {
        let h = &mut self.hosts[host as usize];
        if !h.up || h.timer_local_ns == local_ns {
            return;
        }
        h.timer_generation += 1;
        h.timer_local_ns = local_ns;
        if let Some(l) = local_ns {
            let at = h.clock.virtual_ns(l).max(self.now_ns);
            let generation = h.timer_generation;
            self.push(at, Scheduled::Timer { host, generation });
        }
    }

    /// Schedules a driver event `id` at virtual time `at_ns` (not before now).
    pub fn schedule(&mut self, at_ns: u64, id: u64) {
        let at = at_ns.max(self.now_ns);
        self.push(at, Scheduled::Control { id });
    }

    /// Moves virtual time forward to `t_ns` without handling anything (used at the end of a
    /// run). Never moves it back.
    pub fn advance_to(&mut self, t_ns: u64) {
        self.now_ns = self.now_ns.max(t_ns);
    }

    /// Pops the next event due at or before `limit_ns`, skipping stale timers and messages to
    /// hosts that are down, and moves virtual time to it. `None` when nothing is due by then.
    pub fn next(&mut self, limit_ns: u64) -> Option<Fired<M>> {
        loop {
            if self.queue.peek_time_ns()? > limit_ns {
                return None;
            }
            let (t, item) = self.queue.pop().expect("peeked above");
            debug_assert!(t >= self.now_ns, "the queue went back in time");
            self.now_ns = t;
            match item {
                Scheduled::Deliver { from, to, msg } => {
                    if !self.hosts[to as usize].up {
                        self.count_drop(DropReason::Down);
                        continue;
                    }
                    self.stats.messages_delivered += 1;
                    self.stats.events += 1;
                    return Some(Fired::Deliver { from, to, msg });
                }
                Scheduled::Timer { host, generation } => {
                    let h = &mut self.hosts[host as usize];
                    if !h.up || h.timer_generation != generation {
                        self.stats.timers_stale += 1;
                        continue;
                    }
                    // The entry is consumed: the host re-arms after handling it.
                    h.timer_local_ns = None;
                    self.stats.timers_fired += 1;
                    self.stats.events += 1;
                    return Some(Fired::Timer { host });
                }
                Scheduled::Control { id } => {
                    self.stats.events += 1;
                    return Some(Fired::Control { id });
                }
            }
        }
    }

    /// Takes `host` down: its timer is cancelled and messages reaching it are dropped until
    /// [`Engine::restart`].
    pub fn crash(&mut self, host: HostId) {
        let h = &mut self.hosts[host as usize];
        h.up = false;
        h.timer_generation += 1;
        h.timer_local_ns = None;
    }

    /// Brings `host` back up (without a timer: the driver arms one after starting it).
    pub fn restart(&mut self, host: HostId) {
        self.hosts[host as usize].up = true;
    }

    /// From now on, the clock of `host` runs `drift_ppm` parts per million fast (negative:
    /// slow), after stepping forward by `step_ns`. Re-arms its timer against the new clock.
    pub fn set_clock(&mut self, host: HostId, drift_ppm: i64, step_ns: u64) {
        let now = self.now_ns;
        let h = &mut self.hosts[host as usize];
        h.clock.set(now, drift_ppm, step_ns);
        let armed = h.timer_local_ns.take();
        self.set_timer(host, armed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stegosim_node::rng::Seed;

    fn engine(hosts: u32) -> Engine<u32> {
        let links = LinkOptions {
            latency: net::Latency::Constant { latency_ns: 10 },
            ..LinkOptions::default()
        };
        Engine::new(hosts, 1_000, links, Seed(1).stream("net"))
    }

    #[test]
    fn stale_timers_are_skipped_and_time_jumps() {
        let mut e = engine(2);
        e.set_timer(0, Some(1_500));
        e.set_timer(0, Some(1_200));
        e.set_timer(1, Some(1_300));
        e.set_timer(1, Some(1_300)); // unchanged: nothing queued
        assert_eq!(e.queue_len(), 3);
        assert_eq!(e.next(u64::MAX), Some(Fired::Timer { host: 0 }));
        assert_eq!(e.now_ns(), 1_200);
        assert_eq!(e.next(u64::MAX), Some(Fired::Timer { host: 1 }));
        assert_eq!(e.next(u64::MAX), None);
        assert_eq!(e.stats().timers_stale, 1);
    }

    #[test]
    fn messages_to_crashed_hosts_are_dropped() {
        let mut e = engine(2);
        e.send(0, 1, 7).unwrap();
        e.send(1, 0, 8).unwrap();
        e.crash(1);
        assert_eq!(
            e.next(u64::MAX),
            Some(Fired::Deliver {
                from: 1,
                to: 0,
                msg: 8
            })
        );
        assert_eq!(e.next(u64::MAX), None);
        assert_eq!(e.stats().dropped(DropReason::Down), 1);
    }

    #[test]
    fn limit_stops_before_later_events() {
        let mut e = engine(1);
        e.schedule(2_000, 9);
        assert_eq!(e.next(1_999), None);
        assert_eq!(e.next(2_000), Some(Fired::Control { id: 9 }));
    }
}
