//! # stegosim-sim: the network simulator and scenario runner
//!
//! Runs many deterministic node cores (`stegosim-node`) in one process, in virtual time, on
//! a modelled network with latency, loss, duplication, reordering, partitions, crashes and
//! clock drift; scripts what happens with scenario files; checks expectations and invariants;
//! and writes a trace whose hash is the same for the same seed and build.
//!
//! The public surface is small: [`run()`] a [`Scenario`] (loaded by [`scenario::load`]) with
//! [`RunOptions`] into an [`Outcome`]; [`sweep`] it over seeds; [`shrink`] a failing one;
//! [`bench`](mod@bench) the engine. ([`load`](mod@load) drives the load generator on simulated nodes for
//! `stegosim load --sim`; [`time`] is the duration syntax scenario files use; [`trace`] the
//! trace line writer.)
//!
//! ## Layout
//! - [`run`](mod@run): a scenario plus a seed make a run. `run/mod.rs` is the loop over owned parts:
//!   `run::facts` (the fact store), `run::checks` (expectations, invariants, the node
//!   library's invariant checker after every chain event), `run::expect` (what each
//!   expectation means), `run::client` (payments, resubmission, API requests, workload
//!   draws), `run::api` (what the API answers the client), `run::steps` (what a step does),
//!   `run::schedule` (control events), `run::node_events` (trace lines of node events),
//!   `run::options` (`RunOptions`, `EngineKind`, `RunError`).
//! - [`outcome`]: what a run produced: verdict, trace hash, counts, every check's result.
//! - [`scenario`]: the scenario file format, its checks and the built-in scenarios;
//!   `scenario::step` is the one place that says what a step means; `scenario::swarm` turns
//!   a seed into a fault mix.
//! - [`sweep`]: one scenario over many seeds, threaded and sharded, with JUnit XML.
//! - [`shrink`]: smaller variants of a failing scenario that fail the same way.
//! - [`bench`](mod@bench): the ring benchmark of the engines alone (`bench::turmoil` on turmoil hosts).
//! - [`load`](mod@load): `stegosim load --sim`: the load generator's workers against simulated nodes
//!   over encrypted frames, in virtual time.
//! - [`time`]: durations as scenario files write them.
//! - `backend` (private): what the runner needs from an engine, and the `des` one.
//! - `des` (private): the discrete-event engine: event queue, network model, clocks, timers.
//!   It knows hosts only by index, so other drivers (the load generator's clients, the ring
//!   benchmark) use it as well as the node driver.
//! - `cluster` (private): the node driver on `des`: calls the node cores, routes their
//!   messages through the engine, re-arms their timers, crashes and restarts them on their
//!   `MemStore`; derives each node incarnation's seed (for both engines).
//! - `turmoil_engine` (private): the turmoil engine: the real drivers on turmoil hosts.
//! - [`trace`]: the JSON-lines trace and its running BLAKE3 hash (public, its API unchanged,
//!   while the trace's event types move to the formats crate).
//! - `wallet` (private): payments from the genesis-funded account.
//! - `sigcache` (private): a signature-check cache shared by all nodes of a run.
//!
//! See `sim/README.md` for the trace format and `scenarios/README.md` for scenario files.

#![warn(missing_docs)]

mod backend;
pub mod bench;
mod cluster;
mod des;
pub mod load;
pub mod outcome;
pub mod run;
pub mod scenario;
pub mod shrink;
mod sigcache;
pub mod sweep;
pub mod time;
pub mod trace;
mod turmoil_engine;
mod wallet;

pub use outcome::{CheckResult, Counts, Failure, Outcome};
pub use run::{EngineKind, Progress, RunError, RunOptions, run};
pub use scenario::{Scenario, ScenarioError, load, load_builtin};
