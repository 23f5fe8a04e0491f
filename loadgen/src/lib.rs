//! # stegosim-loadgen: load for the node's WebSocket API
//!
//! The load generator behind `stegosim load`: it drives the real API (encrypted frames, many
//! requests in flight per connection matched by id, notifications) against a node, measures
//! latency without coordinated omission, says when it falls behind, and writes results that
//! merge exactly across machines.
//!
//! The workload models never see a socket or a clock: a [`worker::Worker`] is a sans-IO
//! state machine (time in as an argument, request JSON out through a buffer, what happened
//! out as [`metrics::Event`]s), so the simulator can drive the same models in virtual time
//! against simulated nodes. Only [`driver`], [`transport`] and [`run`] know tokio and
//! WebSocket.
//!
//! ## Layout
//! - [`plan`] (from `stegosim-formats`): the workload models (k6's names) as schedules: when
//!   each request starts.
//! - [`mix`]: the request mix: any API request, weights, placeholders filled from a pool
//!   of accounts, rendered once into JSON around the id.
//! - [`worker`]: one connection's load, sans-IO: starts, in-flight table, timeouts,
//!   followed transactions.
//! - [`metrics`]: events and the [`metrics::Recorder`] (HDR histograms per request, errors by
//!   code, lateness, time series).
//! - [`transport`]: the [`transport::Connection`] trait ("send requests, yield replies with
//!   a timestamp") and its WebSocket implementation.
//! - [`clock`]: the [`clock::Clock`] trait; tokio's clock; the one wall-clock read.
//! - [`driver`]: runs a worker over a connection on a clock (one task per connection).
//! - [`client`]: a small API client (setup, tools, tests): one connection, replies matched
//!   by id, notifications kept.
//! - [`setup`]: creates, unseals and funds the pool of accounts before the load.
//! - [`config`]: the profile file and the run's configuration.
//! - [`run`]: a whole run against a real node.
//! - [`results`], [`threshold`] (from `stegosim-formats`): the results file, histogram
//!   encoding, exact merging; pass/fail criteria and their grammar.
//! - [`progress`], [`text`]: what a person sees during and after a run.

pub mod client;
pub mod clock;
pub mod config;
pub mod driver;
pub mod metrics;
pub mod mix;
pub mod progress;
pub mod run;
pub mod setup;
pub mod text;
pub mod transport;
pub mod worker;

// The load profile's schedules, the results file and thresholds are file formats other tools
// read too: they live in `stegosim-formats`, re-exported here under their old paths.
pub use stegosim_formats::{plan, results, threshold};
