//! The formats against files recorded by earlier builds (`reports/tests/data/`): each one
//! reads, and writing what was read gives the same bytes back, so files written before these
//! types existed still read, and files written now are the files written then.

use std::path::PathBuf;

use stegosim_formats::summary::Summary;
use stegosim_formats::trace::{Event, TraceLine, TraceWriter};

/// The recorded runs of `reports/tests/data/` written by `stegosim run` (the `snowball` one is
/// written by hand).
const RECORDED_RUNS: [&str; 2] = ["failing", "partition-fork-revert"];

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(path)
}

fn read(path: &str) -> String {
    let p = data(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn recorded_summaries_round_trip_byte_for_byte() {
    for run in RECORDED_RUNS {
        let text = read(&format!("{run}/summary.json"));
        let summary = Summary::from_json(&text).unwrap();
        assert_eq!(summary.to_json(), text, "{run}/summary.json");
    }
}

#[test]
fn a_hand_written_summary_with_fields_missing_reads() {
    let s = Summary::from_json(&read("snowball/summary.json")).unwrap();
    assert_eq!(s.scenario, "snowball-hand-written");
    assert_eq!(s.counts.micro_blocks, 29);
    assert_eq!(s.counts.events, 0);
    assert_eq!(s.host, None);
    assert!(s.first_failure.is_none());
}

/// Every recorded trace: `run` the folder in `reports/tests/data/`, `hash` its summary's
/// `trace_hash` when the trace was written by `stegosim run` (not by hand).
fn recorded_traces() -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let dir = data("");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.join("trace.jsonl").is_file() {
            continue;
        }
        let run = path.file_name().unwrap().to_string_lossy().into_owned();
        let summary = Summary::from_json(&read(&format!("{run}/summary.json"))).unwrap();
        let hash = (summary.trace_hash.len() == 64).then_some(summary.trace_hash);
        out.push((run, hash));
    }
    out.sort();
    out
}

#[test]
fn recorded_traces_round_trip_byte_for_byte() {
    let runs = recorded_traces();
    assert!(runs.len() >= 3, "{runs:?}");
    for (run, hash) in runs {
        let writer = round_trip(
            &format!("{run}/trace.jsonl"),
            &read(&format!("{run}/trace.jsonl")),
        );
        if let Some(hash) = hash {
            assert_eq!(writer.hash_hex(), hash, "{run}: the summary's trace_hash");
        }
    }
}

/// Reads every line of `text`, checks it is typed (no kind read as `Other`) and writes back
/// to the same bytes; returns the writer that wrote them all.
fn round_trip(name: &str, text: &str) -> TraceWriter {
    let mut writer = TraceWriter::new();
    let mut written = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let parsed = TraceLine::parse(line).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
        assert!(
            !matches!(parsed.event, Event::Other { .. }),
            "{name}:{}: kind {} is not typed",
            i + 1,
            parsed.kind()
        );
        assert_eq!(parsed.to_line(), line, "{name}:{}", i + 1);
        written.extend_from_slice(writer.write(&parsed));
    }
    assert_eq!(written, text.as_bytes(), "{name}");
    writer
}

/// `tests/data/kinds.jsonl`: up to two lines of every kind and variant (fault, step action,
/// transaction status, Snowball state, API message type, ...) taken from fresh runs of every
/// shipped scenario and of `tests/data/every-kind.toml` (cut, `set_network` with each
/// latency, `pop_micro_block`, a step that fails, an API request without an account).
#[test]
fn a_line_of_every_kind_round_trips_byte_for_byte() {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/kinds.jsonl"),
    )
    .unwrap();
    let writer = round_trip("kinds.jsonl", &text);
    assert!(writer.lines() >= 100);
}

/// Fresh runs: `STEGOSIM_TRACES=out/a:out/b cargo test -p stegosim-formats --test recorded`
/// checks every line of each run folder's trace and its `summary.json`'s `trace_hash` (what
/// to run after a change of the simulator's trace writer).
#[test]
fn the_traces_named_in_stegosim_traces_round_trip() {
    let Ok(dirs) = std::env::var("STEGOSIM_TRACES") else {
        return;
    };
    for dir in dirs.split(':').filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        let text = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
        let summary =
            Summary::from_json(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                .unwrap();
        let writer = round_trip(&dir.display().to_string(), &text);
        assert_eq!(writer.hash_hex(), summary.trace_hash, "{}", dir.display());
    }
}
