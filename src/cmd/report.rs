//! `stegosim report RESULTS... [--html FILE] [--markdown FILE]`: the HTML page and the
//! Markdown summary of simulation runs (each RESULTS a run's folder, with `summary.json` and
//! `trace.jsonl`, or its `summary.json`) or of load runs (`results.json` of `stegosim load`,
//! recognised by content; several are merged exactly). Without `--html` and `--markdown` it
//! prints the Markdown.
//!
//! `stegosim report merge A.json B.json ... --out merged.json` merges load results: the same
//! command as `stegosim load merge` (same flags, same code, same exit codes).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    action: Option<ReportAction>,
    /// Results: a simulation run's folder (summary.json and trace.jsonl) or its
    /// summary.json; or load results (results.json), several merged into one report.
    #[arg(value_name = "RESULTS")]
    results: Vec<PathBuf>,
    /// Write the HTML page here (self-contained: inline SVG plots, no script).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write the Markdown summary here.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum ReportAction {
    /// Merge load results of several load generators into one (exactly: HDR histograms are
    /// added) and evaluate thresholds again; exit 99 when one fails (as `stegosim load merge`).
    Merge(crate::cmd::load::MergeArgs),
}

fn report_inner(args: ReportArgs) -> Result<ExitCode> {
    if args.results.is_empty() {
        anyhow::bail!(
            "no results given: `stegosim report RESULTS... [--html FILE] [--markdown FILE]` or `stegosim report merge A.json B.json --out merged.json`"
        );
    }
    let report = stegosim_reports::read(&args.results)?;
    if let Some(path) = &args.html {
        stegosim_reports::write(path, &report.html()?)?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.markdown {
        stegosim_reports::write(path, &report.markdown())?;
        println!("wrote {}", path.display());
    }
    if args.html.is_none() && args.markdown.is_none() {
        print!("{}", report.markdown());
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `stegosim report`; unreadable or malformed results exit with code 2. `report merge`
/// exits as `stegosim load merge` does (0, 99 a threshold failed, 1 unreadable input, 3 a
/// bad threshold).
pub fn run(args: ReportArgs) -> Result<ExitCode> {
    if let Some(ReportAction::Merge(m)) = args.action {
        return crate::cmd::load::run_merge(m);
    }
    Ok(report_inner(args).unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    }))
}
