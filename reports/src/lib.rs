//! stegosim-reports: turns run results into something people read: one self-contained HTML
//! page with inline SVG plots, and a Markdown summary for CI logs and pull-request comments.
//!
//! It depends on the documented result formats only (`sim/README.md`: `summary.json` and
//! `trace.jsonl`), never on the simulator's types, so results from another build or machine
//! render the same way.
//!
//! # Modules
//! - [`sim`]: reads a simulation run (summary and trace) and computes what the report shows
//!   (per-node chain events, fault spans, transaction statuses, the longest block gap).
//! - [`plot`]: the plots, drawn by `plotters` into SVG strings.
//! - [`html`]: the page: a pass/fail banner, the header, key figures, plots, tables.
//! - [`markdown`]: the key figures and checks as Markdown tables.
//!
//! Reports are reproducible: nothing reads the wall clock; the "generated at" time is the
//! run's own `finished_at` from its summary.

pub mod html;
pub mod markdown;
pub mod plot;
pub mod sim;

use std::path::{Path, PathBuf};

pub use sim::SimRun;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A results file does not follow its documented format.
    #[error("{path}:{line}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Line (1-based).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A results path holds nothing this crate reads.
    #[error(
        "{0}: not a simulation run (expected a folder with summary.json, or a summary.json); load results (results.json) are not supported yet"
    )]
    Unknown(PathBuf),
    /// The plotting library failed (a bug, not bad input).
    #[error("plot: {0}")]
    Plot(String),
}

/// Reads the results at each path (a run's folder or its `summary.json`).
pub fn load(paths: &[PathBuf]) -> Result<Vec<SimRun>, Error> {
    paths
        .iter()
        .map(|p| {
            let summary = if p.is_dir() {
                p.join("summary.json")
            } else {
                p.clone()
            };
            if summary.is_file() {
                SimRun::load(p)
            } else {
                Err(Error::Unknown(p.clone()))
            }
        })
        .collect()
}

/// Writes `text` to `path`, creating its folder.
pub fn write(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
    }
    std::fs::write(path, text).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Writes `DIR/report.html` and `DIR/report.md` for the run in `run_dir` (what
/// `stegosim run --report DIR` does).
pub fn write_report_dir(run_dir: &Path, dir: &Path) -> Result<(PathBuf, PathBuf), Error> {
    let runs = vec![SimRun::load(run_dir)?];
    let html_path = dir.join("report.html");
    let md_path = dir.join("report.md");
    write(&html_path, &html::render(&runs)?)?;
    write(&md_path, &markdown::render(&runs))?;
    Ok((html_path, md_path))
}
