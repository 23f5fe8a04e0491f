//! # stegosim-sim: the network simulator and scenario runner
//!
//! Runs many deterministic node cores (`stegosim-node`) in one process, in virtual time, on
//! a modelled network with latency, loss, duplication, reordering, partitions, crashes and
//! clock drift; scripts what happens with scenario files; checks expectations and invariants;
//! and writes a trace whose hash is the same for the same seed and build.
//!
//! ## Layout
//! - [`des`]: the discrete-event engine: event queue, network model, clocks, timers. It knows
//!   hosts only by index, so other drivers (a load generator's clients, the ring benchmark)
//!   use it as well as the node driver.
//! - [`cluster`]: the node driver: calls the node cores, routes their messages through the
//!   engine, re-arms their timers, crashes and restarts them on their `MemStore`.
//! - [`scenario`]: the scenario file format, its checks and the built-in scenarios;
//!   [`scenario::swarm`] turns a seed into a fault mix.
//! - [`runner`]: a scenario plus a seed make a run: steps, workloads, expectations,
//!   invariants, the trace and an [`runner::Outcome`].
//! - [`trace`]: the JSON-lines trace and its running BLAKE3 hash.
//! - [`load`]: `stegosim load --sim`: the load generator's workers against simulated nodes
//!   over encrypted frames, in virtual time.
//! - [`wallet`]: payments from the genesis-funded account.
//! - [`sigcache`]: a signature-check cache shared by all nodes of a run.
//! - [`sweep`]: one scenario over many seeds, threaded and sharded, with JUnit XML.
//! - [`bench`]: the ring benchmark of the engine alone.
//! - [`time`]: durations as scenario files write them.
//!
//! See `sim/README.md` for the trace format and `scenarios/README.md` for scenario files.

#![warn(missing_docs)]

pub mod backend;
pub mod bench;
pub mod bench_turmoil;
pub mod cluster;
pub mod des;
pub mod load;
pub mod runner;
pub mod scenario;
pub mod shrink;
pub mod sigcache;
pub mod sweep;
pub mod time;
pub mod trace;
pub mod turmoil_engine;
pub mod wallet;

pub use runner::{EngineKind, Outcome, Progress, RunError, RunOptions, run};
pub use scenario::{Scenario, ScenarioError, load, load_builtin};
