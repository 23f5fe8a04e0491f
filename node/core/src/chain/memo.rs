//! A value computed once from an immutable owner: the hash of a transaction or a block.
//!
//! Transactions and blocks are hashed wherever they go (relay deduplication, the mempool,
//! validation, block hashes, fork choice), and a hash costs far more than a lookup: in a
//! 100-node simulation, recomputing them was the largest single cost. A [`Memo`] keeps the
//! first result inside the value; clones carry it along, so every node of a simulation that
//! receives one shared message (an `Arc`) reuses one computation, like the signature cache
//! (the result is a pure function of the value's fields).
//!
//! The owner's fields must not change after the memo is filled. Code that edits a value it
//! already hashed (a test tampering with a block) calls [`Memo::clear`] afterwards. Debug
//! builds recompute on every call and panic when the memo went stale, so a forgotten
//! `clear` fails the test suite instead of hiding a wrong hash.

use std::sync::OnceLock;

/// A lazily computed value that does not take part in equality, ordering of fields,
/// debugging output or serialisation of its owner.
#[derive(Clone)]
pub struct Memo<T>(OnceLock<T>);

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Memo(OnceLock::new())
    }
}

impl<T: Clone + PartialEq + std::fmt::Debug> Memo<T> {
    /// An empty memo.
    pub fn new() -> Memo<T> {
        Memo(OnceLock::new())
    }

    /// The value, computing it with `f` the first time. `f` must be a pure function of the
    /// owner's fields.
    pub fn get_or_init(&self, f: impl Fn() -> T) -> &T {
        let v = self.0.get_or_init(&f);
        #[cfg(debug_assertions)]
        {
            let fresh = f();
            assert!(
                *v == fresh,
                "memo went stale: the value changed after it was hashed \
                 (call Memo::clear after editing it): memo {v:?}, now {fresh:?}"
            );
        }
        v
    }

    /// Forgets the value (after the owner's fields were edited).
    pub fn clear(&mut self) {
        self.0 = OnceLock::new();
    }
}

impl<T> PartialEq for Memo<T> {
    /// Always equal: a memo is a function of its owner's other fields, which are compared.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> Eq for Memo<T> {}

impl<T> std::fmt::Debug for Memo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_once_and_clones_carry_the_value() {
        let calls = std::cell::Cell::new(0u32);
        let m: Memo<u32> = Memo::new();
        let f = || {
            calls.set(calls.get() + 1);
            7
        };
        assert_eq!(*m.get_or_init(f), 7);
        let copy = m.clone();
        assert_eq!(*copy.get_or_init(f), 7);
        // Release builds compute once; debug builds also recompute on each call to check.
        let expected = if cfg!(debug_assertions) { 3 } else { 1 };
        assert_eq!(calls.get(), expected);
    }

    #[test]
    fn clear_forgets() {
        let mut m: Memo<u32> = Memo::new();
        assert_eq!(*m.get_or_init(|| 1), 1);
        m.clear();
        assert_eq!(*m.get_or_init(|| 2), 2);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "memo went stale")]
    fn a_stale_memo_panics_in_debug_builds() {
        let m: Memo<u32> = Memo::new();
        m.get_or_init(|| 1);
        m.get_or_init(|| 2);
    }
}
