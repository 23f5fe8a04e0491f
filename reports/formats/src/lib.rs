//! stegosim-formats: the file formats stegosim's tools exchange, each one set of types that
//! the writer and every reader share, so a format is written and read by the same code and
//! never mirrored.
//!
//! It depends on no other stegosim crate and on nothing asynchronous: the simulator, the
//! load generator, the command-line program and the reports all build on it, and the reports
//! build on it alone. `README.md` beside this crate says what each format is, and who writes
//! and who reads it.
//!
//! # Layout
//! - [`duration`]: the one duration grammar (scenario files, load profiles, flags) and the
//!   ways durations are written back for people.
//! - [`results`]: load results (`results.json` of `stegosim load`): the types, the HDR
//!   histogram encoding, and the exact merge of several runs.
//! - [`threshold`]: pass/fail criteria on load results: their grammar and their evaluation.
//! - [`trace`]: the simulator's trace (`trace.jsonl`): one typed [`trace::Event`] per kind,
//!   the line's exact bytes, and the writer that hashes them.
//! - [`summary`]: `summary.json` of a simulation run (`stegosim run`): counts, checks, the
//!   first failure, where and when it ran.
//! - [`markup`]: escaping text for the HTML pages and the JUnit XML the tools write.
//! - [`plan`]: what a load profile's schedule keys mean: the workload models (k6's names) as
//!   schedules, and the profile's schedule keys ([`plan::ScheduleConfig`]), so a results
//!   file's configuration says when each request was due.

pub mod duration;
pub mod markup;
pub mod plan;
pub mod results;
pub mod summary;
pub mod threshold;
pub mod trace;
