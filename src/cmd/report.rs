//! `stegosim report RESULTS... [--html FILE] [--markdown FILE]`: the HTML page and the
//! Markdown summary of simulation runs (each RESULTS a run's folder, with `summary.json` and
//! `trace.jsonl`, or its `summary.json`). Without `--html` and `--markdown` it prints the
//! Markdown. Load results (`results.json`) and `report merge` come with the load generator.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Results: a run's folder (summary.json and trace.jsonl) or its summary.json.
    #[arg(required = true, value_name = "RESULTS")]
    results: Vec<PathBuf>,
    /// Write the HTML page here (self-contained: inline SVG plots, no script).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write the Markdown summary here.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

fn report_inner(args: ReportArgs) -> Result<ExitCode> {
    if args
        .results
        .first()
        .is_some_and(|p| p.as_os_str() == "merge")
        && !args.results[0].exists()
    {
        bail!(
            "`stegosim report merge` is not built yet: merge load-generator results with \
             `stegosim load merge A.json B.json --out merged.json` (exact, thresholds evaluated \
             again); HTML and Markdown reports of load results are not built yet"
        );
    }
    let runs = stegosim_reports::load(&args.results)?;
    if let Some(path) = &args.html {
        stegosim_reports::write(path, &stegosim_reports::html::render(&runs)?)?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.markdown {
        stegosim_reports::write(path, &stegosim_reports::markdown::render(&runs))?;
        println!("wrote {}", path.display());
    }
    if args.html.is_none() && args.markdown.is_none() {
        print!("{}", stegosim_reports::markdown::render(&runs));
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `stegosim report`; unreadable or malformed results exit with code 2.
pub fn run(args: ReportArgs) -> Result<ExitCode> {
    Ok(report_inner(args).unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    }))
}
