//! stegosim-reports: turns run results into something people read: one self-contained HTML
//! page with inline SVG plots, and a Markdown summary for CI logs and pull-request comments.
//!
//! It depends on one stegosim crate, `stegosim-formats`, which holds every format it reads
//! (`summary.json`, `trace.jsonl`, `results.json`) as the types their writers use too, never
//! on the simulator, the node or the load generator, so results from another build or
//! machine render the same way. Load results are merged by the format's own merge, so a
//! merged report is exactly `stegosim load merge`'s result.
//!
//! # Layout
//! - [`sim`]: reads a simulation run (summary and trace) and computes what the report shows
//!   (per-node chain events, fault spans, transaction statuses, the longest block gap).
//! - [`plot`]: the plots, drawn by `plotters` into SVG strings.
//! - [`html`]: the page: a pass/fail banner, the header, key figures, plots, tables.
//! - [`markdown`]: the key figures and checks as Markdown tables.
//! - [`load`], [`load_plot`], [`load_report`]: the same for load runs (`results.json`).
//!
//! Reports are reproducible: nothing reads the wall clock; the "generated at" time is the
//! run's own `finished_at` from its summary.

pub mod html;
pub mod load;
pub mod load_plot;
pub mod load_report;
pub mod markdown;
pub mod plot;
pub mod sim;

use std::path::{Path, PathBuf};

pub use load::LoadRun;
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
    /// Load results that do not decode or merge.
    #[error("{path}: {message}")]
    Results {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A results path holds nothing this crate reads.
    #[error(
        "{0}: neither a simulation run (a folder with summary.json, or a summary.json) nor load results (a results.json of `stegosim load`)"
    )]
    Unknown(PathBuf),
    /// Simulation runs and load results given together.
    #[error(
        "{0} is a simulation run and {1} load results: report them separately (one command each)"
    )]
    Mixed(PathBuf, PathBuf),
    /// The plotting library failed (a bug, not bad input).
    #[error("plot: {0}")]
    Plot(String),
}

/// What `stegosim report` was given: simulation runs, or load results (merged into one).
#[derive(Debug, Clone)]
pub enum Report {
    /// Simulation runs, one section each.
    Sim(Vec<SimRun>),
    /// Load results; several files are merged exactly into one run.
    Load(Box<LoadRun>),
}

impl Report {
    /// The HTML page.
    pub fn html(&self) -> Result<String, Error> {
        match self {
            Report::Sim(runs) => html::render(runs),
            Report::Load(run) => load_report::html(run),
        }
    }

    /// The Markdown summary.
    pub fn markdown(&self) -> String {
        match self {
            Report::Sim(runs) => markdown::render(runs),
            Report::Load(run) => load_report::markdown(run),
        }
    }
}

/// What a path holds, by content.
enum Kind {
    Sim,
    Load(PathBuf),
}

fn kind_of(p: &Path) -> Result<Kind, Error> {
    if p.is_dir() {
        if p.join("summary.json").is_file() {
            return Ok(Kind::Sim);
        }
        let results = p.join("results.json");
        if results.is_file() {
            return Ok(Kind::Load(results));
        }
        return Err(Error::Unknown(p.to_path_buf()));
    }
    if !p.is_file() {
        return Err(Error::Unknown(p.to_path_buf()));
    }
    let text = std::fs::read_to_string(p).map_err(|e| Error::Io {
        path: p.to_path_buf(),
        source: e,
    })?;
    if load::is_load_results(&text) {
        Ok(Kind::Load(p.to_path_buf()))
    } else {
        // Not load results: read as a simulation summary, whose errors name file and line.
        Ok(Kind::Sim)
    }
}

/// Reads the results at each path: simulation runs (a run's folder or its `summary.json`)
/// or load results (a `results.json`, recognised by its `format`, or a folder holding one).
/// Several load results are merged exactly.
pub fn read(paths: &[PathBuf]) -> Result<Report, Error> {
    let mut sims = Vec::new();
    let mut loads = Vec::new();
    for p in paths {
        match kind_of(p)? {
            Kind::Sim => sims.push(p.clone()),
            Kind::Load(file) => loads.push(file),
        }
    }
    match (sims.first(), loads.first()) {
        (Some(s), Some(l)) => Err(Error::Mixed(s.clone(), l.clone())),
        (_, Some(_)) => Ok(Report::Load(Box::new(LoadRun::load(&loads)?))),
        _ => Ok(Report::Sim(
            sims.iter()
                .map(|p| SimRun::load(p))
                .collect::<Result<_, _>>()?,
        )),
    }
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

/// Writes `DIR/report.html` and `DIR/report.md` for load results (what `stegosim load
/// --report DIR` does at the end of a run).
pub fn write_load_report_dir(
    results: &stegosim_formats::results::Results,
    source: Option<&Path>,
    dir: &Path,
) -> Result<(PathBuf, PathBuf), Error> {
    let run = LoadRun::from_results(
        results.clone(),
        source.map(|p| vec![p.to_path_buf()]).unwrap_or_default(),
    )?;
    let html_path = dir.join("report.html");
    let md_path = dir.join("report.md");
    write(&html_path, &load_report::html(&run)?)?;
    write(&md_path, &load_report::markdown(&run))?;
    Ok((html_path, md_path))
}
