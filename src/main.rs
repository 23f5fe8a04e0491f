//! `stegosim`: one program, many verbs (see README.md).
//!
//! Each subcommand lives in its own module under `src/cmd/`; this file only parses the
//! command line and dispatches. Exit codes: 0 success; 1 a failure the command reports (a
//! failed expectation or invariant, a frame that does not decode); 2 bad usage: clap's own,
//! and for the simulator's commands a bad scenario file.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Simulation and load-testing harness for a Stegos-style proof-of-stake network.
#[derive(Debug, Parser)]
#[command(name = "stegosim", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario file in the simulator (the built-in quickstart without FILE).
    Run(cmd::sim::RunArgs),
    /// Run a scenario over many seeds (in parallel, optionally one shard of the range).
    Sweep(cmd::sim::SweepArgs),
    /// Find a smaller variant of a failing run (fewer steps, workloads, expectations, seconds)
    /// that still fails the same way.
    Shrink(cmd::sim::ShrinkArgs),
    /// Encode or decode API frames (base64 of IV + AES-128-CTR of the JSON), e.g. to read a
    /// packet capture.
    Frame(cmd::frame::FrameArgs),
    /// Run a local network of nodes on the real clock and serve the WebSocket API.
    Node(cmd::node::NodeArgs),
    /// Manage access keys of a node's API (groups and rate limits).
    Access(cmd::access::AccessArgs),
    /// HTML page and Markdown summary of simulation runs (summary.json and trace.jsonl) or
    /// load runs (results.json, several merged exactly); `report merge` merges load results.
    Report(cmd::report::ReportArgs),
    /// Benchmarks that print ratios.
    Bench {
        #[command(subcommand)]
        bench: cmd::sim::Bench,
    },
    /// Load a node's API with a workload model (k6's names) and measure it without
    /// coordinated omission; merge results of several load generators.
    Load(cmd::load::LoadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd::sim::run(args),
        Command::Sweep(args) => cmd::sim::sweep(args),
        Command::Shrink(args) => cmd::sim::shrink(args),
        Command::Bench { bench } => cmd::sim::bench(bench),
        Command::Frame(args) => cmd::frame::run(args),
        Command::Node(args) => cmd::node::run_node(args),
        Command::Access(args) => cmd::access::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Load(args) => cmd::load::run_load(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
