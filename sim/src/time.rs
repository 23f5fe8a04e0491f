//! Durations as people write them in scenario files (`"30s"`, `"2m"`, `"1h30m"`, `"250ms"`)
//! and as the simulator counts them (nanoseconds of virtual time).
//!
//! The grammar and its formatting live in `stegosim_formats::duration`, the one grammar of
//! scenario files, load profiles and flags; this module names them as the simulator has
//! always called them.

pub use stegosim_formats::duration::{
    Duration, DurationError, HOUR_NS, MILLISECOND_NS, MINUTE_NS, SECOND_NS, format as format_ns,
    parse as parse_duration_ns,
};
