//! The trace: one JSON object per line, and a running BLAKE3 hash of its bytes.
//!
//! Every line starts with `{"t_ns":<virtual ns since the start>,"node":<index or null>,
//! "kind":"<kind>"` and goes on with the kind's fields in a fixed order. Only simulated facts
//! go in (no wall-clock time, no paths, no host names), so the same seed and build give the
//! same bytes wherever the trace is written; the hash proves it. `sim/README.md` documents
//! every kind.
//!
//! The format's types are `stegosim_formats::trace` (one `Event` variant per kind, a
//! `TraceWriter` with this same running hash), which the reports read the trace with and
//! whose bytes are proven equal to this builder's; the runner is to build those lines instead
//! of calling [`Trace::emit`] once its restructuring lands, and this builder then goes.

use std::io::Write;

/// Builds one trace line. Fields come out in the order they are added.
#[derive(Debug)]
pub struct Line<'a> {
    buf: &'a mut Vec<u8>,
}

impl Line<'_> {
    fn key(&mut self, key: &str) {
        self.buf.extend_from_slice(b",\"");
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    /// An unsigned integer field.
    pub fn u64(self, key: &str, v: u64) -> Self {
        let mut s = self;
        s.key(key);
        s.buf.extend_from_slice(v.to_string().as_bytes());
        s
    }

    /// A signed integer field.
    pub fn i64(self, key: &str, v: i64) -> Self {
        let mut s = self;
        s.key(key);
        s.buf.extend_from_slice(v.to_string().as_bytes());
        s
    }

    /// A float field (shortest round-trip form; non-finite values become `null`).
    pub fn f64(self, key: &str, v: f64) -> Self {
        let mut s = self;
        s.key(key);
        if v.is_finite() {
            let text = serde_json::to_string(&v).expect("finite floats serialise");
            s.buf.extend_from_slice(text.as_bytes());
        } else {
            s.buf.extend_from_slice(b"null");
        }
        s
    }

    /// A boolean field.
    pub fn bool(self, key: &str, v: bool) -> Self {
        let mut s = self;
        s.key(key);
        s.buf
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        s
    }

    /// A string field (escaped as JSON).
    pub fn str(self, key: &str, v: &str) -> Self {
        let mut s = self;
        s.key(key);
        serde_json::to_writer(&mut *s.buf, v).expect("writing to a Vec cannot fail");
        s
    }

    /// An optional unsigned integer (`null` when absent).
    pub fn opt_u64(self, key: &str, v: Option<u64>) -> Self {
        match v {
            Some(v) => self.u64(key, v),
            None => self.raw(key, "null"),
        }
    }

    /// An optional string (`null` when absent).
    pub fn opt_str(self, key: &str, v: Option<&str>) -> Self {
        match v {
            Some(v) => self.str(key, v),
            None => self.raw(key, "null"),
        }
    }

    /// A field holding already-encoded JSON.
    pub fn raw(self, key: &str, json: &str) -> Self {
        let mut s = self;
        s.key(key);
        s.buf.extend_from_slice(json.as_bytes());
        s
    }

    /// A field holding any serialisable value.
    pub fn json<T: serde::Serialize + ?Sized>(self, key: &str, v: &T) -> Self {
        let mut s = self;
        s.key(key);
        serde_json::to_writer(&mut *s.buf, v).expect("trace values always serialise");
        s
    }
}

/// Writes trace lines to an optional sink and hashes them.
pub struct Trace {
    /// Running hash of every byte written.
    hasher: blake3::Hasher,
    /// Lines written.
    lines: u64,
    /// Where the lines go (a file, or nothing when only the hash is wanted).
    sink: Option<Box<dyn Write>>,
    /// The line being built.
    buf: Vec<u8>,
    /// The first error the sink returned; writing stops after it.
    error: Option<std::io::Error>,
    /// Lines also kept in memory (tests), when asked for.
    keep: Option<Vec<String>>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("lines", &self.lines)
            .field("hash", &self.hash_hex())
            .finish()
    }
}

impl Trace {
    /// A trace writing to `sink` (or only hashing, with `None`).
    pub fn new(sink: Option<Box<dyn Write>>) -> Trace {
        Trace {
            hasher: blake3::Hasher::new(),
            lines: 0,
            sink,
            buf: Vec::with_capacity(512),
            error: None,
            keep: None,
        }
    }

    /// Also keeps every line in memory (for tests and failure reports).
    pub fn keep_lines(mut self) -> Trace {
        self.keep = Some(Vec::new());
        self
    }

    /// Writes one line: `build` adds the kind's fields.
    pub fn emit(
        &mut self,
        t_ns: u64,
        node: Option<u32>,
        kind: &str,
        build: impl FnOnce(Line<'_>) -> Line<'_>,
    ) {
        self.buf.clear();
        self.buf.extend_from_slice(b"{\"t_ns\":");
        self.buf.extend_from_slice(t_ns.to_string().as_bytes());
        self.buf.extend_from_slice(b",\"node\":");
        match node {
            Some(n) => self.buf.extend_from_slice(n.to_string().as_bytes()),
            None => self.buf.extend_from_slice(b"null"),
        }
        self.buf.extend_from_slice(b",\"kind\":");
        serde_json::to_writer(&mut self.buf, kind).expect("writing to a Vec cannot fail");
        let line = build(Line { buf: &mut self.buf });
        let _ = line;
        self.buf.extend_from_slice(b"}\n");
        self.hasher.update(&self.buf);
        self.lines += 1;
        if let Some(keep) = &mut self.keep {
            keep.push(String::from_utf8_lossy(&self.buf[..self.buf.len() - 1]).into_owned());
        }
        if self.error.is_none() {
            if let Some(sink) = &mut self.sink {
                if let Err(e) = sink.write_all(&self.buf) {
                    self.error = Some(e);
                }
            }
        }
    }

    /// The hash of every byte so far, as 64 hex characters.
    pub fn hash_hex(&self) -> String {
        self.hasher.finalize().to_hex().to_string()
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_json_with_fixed_leading_fields() {
        let mut t = Trace::new(None).keep_lines();
        t.emit(5, Some(2), "view_change", |l| {
            l.u64("epoch", 1).str("why", "a\"b")
        });
        t.emit(6, None, "fault", |l| l.bool("ok", true).f64("p", 0.25));
        let kept = t.kept().unwrap();
        assert_eq!(
            kept[0],
            r#"{"t_ns":5,"node":2,"kind":"view_change","epoch":1,"why":"a\"b"}"#
        );
        assert_eq!(
            kept[1],
            r#"{"t_ns":6,"node":null,"kind":"fault","ok":true,"p":0.25}"#
        );
        let v: serde_json::Value = serde_json::from_str(&kept[0]).unwrap();
        assert_eq!(v["kind"], "view_change");
        assert_eq!(t.lines(), 2);
        assert_eq!(t.hash_hex().len(), 64);
    }
}
