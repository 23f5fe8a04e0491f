//! The trace: one JSON object per line, and a running BLAKE3 hash of its bytes.
//!
//! Every line is a `stegosim_formats::trace::TraceLine`: `{"t_ns":<virtual ns since the
//! start>,"node":<index or null>,"kind":"<kind>"` and the fields of its
//! `stegosim_formats::trace::Event`, in a fixed order. Only simulated facts go in (no
//! wall-clock time, no paths, no host names), so the same seed and build give the same bytes
//! wherever the trace is written; the hash proves it. The formats crate owns the bytes and the
//! hash (`TraceWriter`), and the reports read the trace with the same types; this is the
//! simulator's side: where the bytes go (a file, or nothing), the lines kept for tests, and
//! the first write error.

use std::io::Write;

use stegosim_formats::trace::{Event, TraceLine, TraceWriter};
use stegosim_node::crypto::Hash;

/// Writes trace lines to an optional sink; the formats crate's writer encodes and hashes them.
pub struct Trace {
    /// Encodes lines, hashes their bytes, counts them.
    writer: TraceWriter,
    /// Where the lines go (a file, or nothing when only the hash is wanted).
    sink: Option<Box<dyn Write>>,
    /// The first error the sink returned; writing stops after it.
    error: Option<std::io::Error>,
    /// Lines also kept in memory (tests), when asked for.
    keep: Option<Vec<String>>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("lines", &self.lines())
            .field("hash", &self.hash_hex())
            .finish()
    }
}

impl Trace {
    /// A trace writing to `sink` (or only hashing, with `None`).
    pub fn new(sink: Option<Box<dyn Write>>) -> Trace {
        Trace {
            writer: TraceWriter::new(),
            sink,
            error: None,
            keep: None,
        }
    }

    /// Also keeps every line in memory (for tests and failure reports).
    pub fn keep_lines(mut self) -> Trace {
        self.keep = Some(Vec::new());
        self
    }

    /// Writes one line: `event` at `t_ns` (virtual ns since the start), about `node`.
    pub fn write(&mut self, t_ns: u64, node: Option<u32>, event: Event) {
        self.write_line(&TraceLine::new(t_ns, node, event));
    }

    /// Writes one line.
    pub fn write_line(&mut self, line: &TraceLine) {
        let bytes = self.writer.write(line);
        if let Some(keep) = &mut self.keep {
            keep.push(String::from_utf8_lossy(&bytes[..bytes.len() - 1]).into_owned());
        }
        if self.error.is_none() {
            if let Some(sink) = &mut self.sink {
                if let Err(e) = sink.write_all(bytes) {
                    self.error = Some(e);
                }
            }
        }
    }

    /// The hash of every byte so far, as 64 hex characters.
    pub fn hash_hex(&self) -> String {
        self.writer.hash_hex()
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.writer.lines()
    }

    /// The lines kept in memory, if asked for.
    pub fn kept(&self) -> Option<&[String]> {
        self.keep.as_deref()
    }

    /// Flushes the sink; returns the first write error, if any.
    pub fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let Some(sink) = &mut self.sink {
            sink.flush()?;
        }
        Ok(())
    }
}

/// `hash` as the trace writes it: 64 lower-case hex characters, the text of its `Display`.
/// `Display` goes through the formatter one character at a time (about 9,000 instructions a
/// hash, measured), and most lines carry a hash; this is a table lookup per character.
pub(crate) fn hex(hash: &Hash) -> String {
    hex_of(&hash.0)
}

/// `bytes` as lower-case hex.
pub(crate) fn hex_of(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
    String::from_utf8(out).expect("hex digits are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;
    use stegosim_formats::trace::{Crash, Fault, Refused, ViewChange};

    #[test]
    fn hex_is_the_hash_display() {
        for h in [
            Hash([0; 32]),
            Hash([0xff; 32]),
            Hash(std::array::from_fn(|i| (i * 37 + 5) as u8)),
        ] {
            assert_eq!(hex(&h), h.to_string());
        }
    }

    #[test]
    fn lines_are_the_formats_lines_hashed_and_kept() {
        let mut t = Trace::new(None).keep_lines();
        t.write(
            5,
            Some(2),
            Event::ViewChange(ViewChange {
                epoch: 1,
                offset: 3,
                view_change: 2,
            }),
        );
        t.write(
            6,
            Some(1),
            Event::Refused(Refused {
                what: "block".into(),
                error: "a\"b".into(),
            }),
        );
        t.write(
            7,
            None,
            Event::Fault(Fault::Crash(Crash { was_running: true })),
        );
        let kept = t.kept().unwrap();
        assert_eq!(
            kept[0],
            r#"{"t_ns":5,"node":2,"kind":"view_change","epoch":1,"offset":3,"view_change":2}"#
        );
        assert_eq!(
            kept[1],
            r#"{"t_ns":6,"node":1,"kind":"refused","what":"block","error":"a\"b"}"#
        );
        assert_eq!(
            kept[2],
            r#"{"t_ns":7,"node":null,"kind":"fault","fault":"crash","was_running":true}"#
        );
        assert_eq!(t.lines(), 3);
        let all: String = kept.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(
            t.hash_hex(),
            blake3::hash(all.as_bytes()).to_hex().to_string()
        );
    }
}
