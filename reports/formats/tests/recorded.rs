//! The formats against files recorded by earlier builds (`reports/tests/data/`): each one
//! reads, and writing what was read gives the same bytes back, so files written before these
//! types existed still read, and files written now are the files written then.

use std::path::PathBuf;

use stegosim_formats::summary::Summary;

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
