//! The network model: what happens to one message on one directed link.
//!
//! Every link (a directed pair of hosts) follows [`LinkOptions`]: a latency distribution, a
//! loss probability, a duplication probability and a reordering probability, in the spirit of
//! TigerBeetle's packet simulator and str0m's netem. Links are not FIFO: with jittered
//! latency, two messages on a link can arrive in either order, as datagrams would; the
//! reorder option holds some messages back further. Partitions cut directed links; cutting
//! both directions is a two-way partition.
//!
//! Every decision draws from one seeded stream, so the same seed and the same sends give the
//! same deliveries.

use std::collections::BTreeMap;

use stegosim_node::rng::Stream;

use super::HostId;

/// Largest probability any fault option may hold (1.0 would cut every link, which a partition
/// says more clearly).
pub const PROBABILITY_MAX: f64 = 1.0;

/// How long a message takes on a link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    /// Always the same.
    Constant {
        /// The latency.
        latency_ns: u64,
    },
    /// Uniform between the bounds, inclusive.
    Uniform {
        /// Smallest latency.
        latency_ns_min: u64,
        /// Largest latency.
        latency_ns_max: u64,
    },
    /// `latency_ns_min` plus an exponentially distributed extra whose mean makes the total
    /// mean `latency_ns_mean`, capped at `latency_ns_max`: a long tail, as on real paths.
    Exponential {
        /// Smallest latency.
        latency_ns_min: u64,
        /// Mean latency (before the cap).
        latency_ns_mean: u64,
        /// Largest latency.
        latency_ns_max: u64,
    },
}

impl Latency {
    /// Draws one latency.
    pub fn sample(&self, rng: &mut Stream) -> u64 {
        match *self {
            Latency::Constant { latency_ns } => latency_ns,
            Latency::Uniform {
                latency_ns_min,
                latency_ns_max,
            } => {
                let span = latency_ns_max.saturating_sub(latency_ns_min);
                latency_ns_min + rng.below(span.saturating_add(1).max(1))
            }
            Latency::Exponential {
                latency_ns_min,
                latency_ns_mean,
                latency_ns_max,
            } => {
                let extra_mean = latency_ns_mean.saturating_sub(latency_ns_min) as f64;
                let u = rng.unit_f64();
                let extra = -(1.0 - u).ln() * extra_mean;
                let t = latency_ns_min as f64 + extra;
                (t as u64).clamp(latency_ns_min, latency_ns_max.max(latency_ns_min))
            }
        }
    }

    /// Checks the bounds; the error says which.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Latency::Constant { .. } => Ok(()),
            Latency::Uniform {
                latency_ns_min,
                latency_ns_max,
            } => {
                if latency_ns_min > latency_ns_max {
                    return Err("latency min is above max".into());
                }
                Ok(())
            }
            Latency::Exponential {
                latency_ns_min,
                latency_ns_mean,
                latency_ns_max,
            } => {
                if !(latency_ns_min <= latency_ns_mean && latency_ns_mean <= latency_ns_max) {
                    return Err("latency needs min <= mean <= max".into());
                }
                Ok(())
            }
        }
    }
}

/// The fault model of one directed link. A doc line per option says what it does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkOptions {
    /// How long a message takes to arrive.
    pub latency: Latency,
    /// Probability that a message is lost.
    pub loss_probability: f64,
    /// Probability that a message that arrives arrives twice (the copy has its own latency).
    pub duplicate_probability: f64,
    /// Probability that a message is held back by an extra delay, so that later messages on
    /// the same link overtake it.
    pub reorder_probability: f64,
    /// Largest extra delay of a held-back message (drawn uniformly up to it).
    pub reorder_delay_ns_max: u64,
}

impl Default for LinkOptions {
    /// A perfect link with a fixed 50 ms latency.
    fn default() -> Self {
        LinkOptions {
            latency: Latency::Constant {
                latency_ns: 50_000_000,
            },
            loss_probability: 0.0,
            duplicate_probability: 0.0,
            reorder_probability: 0.0,
            reorder_delay_ns_max: 0,
        }
    }
}

impl LinkOptions {
    /// Checks that the probabilities are probabilities and the latency bounds are ordered.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("loss", self.loss_probability),
            ("duplicate", self.duplicate_probability),
            ("reorder", self.reorder_probability),
        ] {
            if !(0.0..=PROBABILITY_MAX).contains(&p) {
                return Err(format!("{name} probability {p} is not within 0..=1"));
            }
        }
        self.latency.validate()
    }
}

/// Why a message did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropReason {
    /// The link lost it (`loss_probability`).
    Loss,
    /// A partition cuts the link.
    Partition,
    /// The receiver was down when it arrived.
    Down,
    /// The event queue was full ([`super::queue::QUEUE_EVENTS_MAX`]).
    Overflow,
}

impl DropReason {
    /// The name used in traces.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
            DropReason::Down => "down",
            DropReason::Overflow => "overflow",
        }
    }

    /// Every reason, in trace order.
    pub const ALL: [DropReason; 4] = [
        DropReason::Loss,
        DropReason::Partition,
        DropReason::Down,
        DropReason::Overflow,
    ];
}

/// What the link does with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// It does not arrive.
    Dropped(DropReason),
    /// It arrives after `latency_ns`, and a copy after `duplicate_ns` when duplicated.
    Deliver {
        /// Delay of the first copy.
        latency_ns: u64,
        /// Delay of the duplicate, if any.
        duplicate_ns: Option<u64>,
    },
}

/// The links of a network of `hosts` hosts: default options, per-link overrides, cuts.
#[derive(Debug, Clone)]
pub struct Network {
    /// Number of hosts.
    hosts: u32,
    /// Options of every link without an override.
    default: LinkOptions,
    /// Options of particular directed links (from, to).
    overrides: BTreeMap<(HostId, HostId), LinkOptions>,
    /// Cut directed links as a bitset of `hosts * hosts` bits (`from * hosts + to`); empty
    /// when nothing is cut, so the common case costs one length check.
    cut: Vec<u64>,
    /// Number of cut links.
    cut_count: usize,
}

impl Network {
    /// `hosts` hosts, every link following `default`.
    pub fn new(hosts: u32, default: LinkOptions) -> Network {
        Network {
            hosts,
            default,
            overrides: BTreeMap::new(),
            cut: Vec::new(),
            cut_count: 0,
        }
    }

    /// The options of links without an override.
    pub fn default_options(&self) -> &LinkOptions {
        &self.default
    }

    /// Replaces the options of every link, dropping per-link overrides.
    pub fn set_default(&mut self, options: LinkOptions) {
        self.default = options;
        self.overrides.clear();
    }

    /// Sets the options of the directed link `from -> to`.
    pub fn set_link(&mut self, from: HostId, to: HostId, options: LinkOptions) {
        self.overrides.insert((from, to), options);
    }

    /// The options of `from -> to`.
    pub fn link(&self, from: HostId, to: HostId) -> &LinkOptions {
        if self.overrides.is_empty() {
            return &self.default;
        }
        self.overrides.get(&(from, to)).unwrap_or(&self.default)
    }

    fn bit(&self, from: HostId, to: HostId) -> usize {
        debug_assert!(from < self.hosts && to < self.hosts);
        from as usize * self.hosts as usize + to as usize
    }

    /// Cuts (or restores) the directed link `from -> to`.
    pub fn set_cut(&mut self, from: HostId, to: HostId, cut: bool) {
        if self.cut.is_empty() {
            if !cut {
                return;
            }
            let bits = self.hosts as usize * self.hosts as usize;
            self.cut = vec![0; bits.div_ceil(64)];
        }
        let b = self.bit(from, to);
        let (word, mask) = (b / 64, 1u64 << (b % 64));
        let was = self.cut[word] & mask != 0;
        if cut && !was {
            self.cut[word] |= mask;
            self.cut_count += 1;
        } else if !cut && was {
            self.cut[word] &= !mask;
            self.cut_count -= 1;
        }
        if self.cut_count == 0 {
            self.cut = Vec::new();
        }
    }

    /// Whether `from -> to` is cut.
    pub fn is_cut(&self, from: HostId, to: HostId) -> bool {
        if self.cut.is_empty() {
            return false;
        }
        let b = self.bit(from, to);
        self.cut[b / 64] & (1u64 << (b % 64)) != 0
    }

    /// Number of cut directed links.
    pub fn cut_count(&self) -> usize {
        self.cut_count
    }

    /// Restores every cut link.
    pub fn heal(&mut self) {
        self.cut = Vec::new();
        self.cut_count = 0;
    }

    /// Decides the fate of one message on `from -> to`.
    pub fn route(&self, from: HostId, to: HostId, rng: &mut Stream) -> Route {
        if self.is_cut(from, to) {
            return Route::Dropped(DropReason::Partition);
        }
        let link = self.link(from, to);
        if link.loss_probability > 0.0 && rng.chance(link.loss_probability) {
            return Route::Dropped(DropReason::Loss);
        }
        let delay = |rng: &mut Stream| {
            let mut t = link.latency.sample(rng);
            if link.reorder_probability > 0.0 && rng.chance(link.reorder_probability) {
                t += rng.below(link.reorder_delay_ns_max.saturating_add(1));
            }
            t
        };
        let latency_ns = delay(rng);
        let duplicate_ns =
            if link.duplicate_probability > 0.0 && rng.chance(link.duplicate_probability) {
                Some(delay(rng))
            } else {
                None
            };
        Route::Deliver {
            latency_ns,
            duplicate_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stegosim_node::rng::Seed;

    #[test]
    fn cuts_are_directed_and_heal() {
        let mut n = Network::new(3, LinkOptions::default());
        n.set_cut(0, 1, true);
        assert!(n.is_cut(0, 1));
        assert!(!n.is_cut(1, 0));
        let mut rng = Seed(1).stream("t");
        assert_eq!(
            n.route(0, 1, &mut rng),
            Route::Dropped(DropReason::Partition)
        );
        n.set_cut(0, 1, false);
        assert_eq!(n.cut_count(), 0);
        assert!(!n.is_cut(0, 1));
    }

    #[test]
    fn loss_rate_is_roughly_the_probability() {
        let opts = LinkOptions {
            loss_probability: 0.25,
            latency: Latency::Uniform {
                latency_ns_min: 10,
                latency_ns_max: 20,
            },
            ..LinkOptions::default()
        };
        let n = Network::new(2, opts);
        let mut rng = Seed(2).stream("t");
        let mut lost = 0;
        for _ in 0..10_000 {
            match n.route(0, 1, &mut rng) {
                Route::Dropped(DropReason::Loss) => lost += 1,
                Route::Deliver { latency_ns, .. } => assert!((10..=20).contains(&latency_ns)),
                other => panic!("{other:?}"),
            }
        }
        assert!((2_200..2_800).contains(&lost), "{lost}");
    }
}
