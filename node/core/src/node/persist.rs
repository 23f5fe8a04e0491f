//! The chain's blocks in the node's store, and replaying them on a restart.
//!
//! Keys (numbers big-endian, so that keys sort in chain order): `chain/macro/<epoch u64><0
//! u32>` holds a final macro block, `chain/micro/<epoch u64><offset u32>` a micro block of
//! the current epoch; both postcard-encoded. A macro block replaces its epoch's micro blocks.

use crate::chain::block::{MacroBlock, MicroBlock};
use crate::node::{Event, Node};

/// Prefix of final macro blocks.
const STORE_MACRO: &[u8] = b"chain/macro/";
/// Prefix of the current epoch's micro blocks.
const STORE_MICRO: &[u8] = b"chain/micro/";

/// The key of block (`a`, `b`) under `prefix`.
fn key_with(prefix: &[u8], a: u64, b: u32) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&a.to_be_bytes());
    k.extend_from_slice(&b.to_be_bytes());
    k
}

impl Node {
    /// Replays the blocks in the store.
    pub(super) fn recover(&mut self) -> Result<(), String> {
        let macros = self
            .store
            .scan_prefix(STORE_MACRO)
            .map_err(|e| e.to_string())?;
        for (_, v) in macros {
            let b: MacroBlock = postcard::from_bytes(&v)
                .map_err(|e| format!("stored macro block is corrupt: {e}"))?;
            self.chain
                .apply_macro(b, self.sigs.as_ref())
                .map_err(|e| format!("stored macro block does not apply: {e}"))?;
        }
        let micros = self
            .store
            .scan_prefix(STORE_MICRO)
            .map_err(|e| e.to_string())?;
        for (k, v) in micros {
            let b: MicroBlock = postcard::from_bytes(&v)
                .map_err(|e| format!("stored micro block is corrupt: {e}"))?;
            if b.epoch != self.chain.epoch() {
                // A leftover of an epoch whose macro block is stored: clean it up.
                self.store.delete(&k);
                continue;
            }
            self.chain
                .apply_micro(b, self.sigs.as_ref())
                .map_err(|e| format!("stored micro block does not apply: {e}"))?;
        }
        Ok(())
    }

    /// Stores a micro block the chain applied.
    pub(super) fn persist_micro(&mut self, b: &MicroBlock) {
        let key = key_with(STORE_MICRO, b.epoch, b.offset);
        self.store.put(
            &key,
            &postcard::to_stdvec(b).expect("blocks always serialise"),
        );
    }

    /// Deletes a micro block the chain reverted or finalised.
    pub(super) fn unpersist_micro(&mut self, b: &MicroBlock) {
        self.store.delete(&key_with(STORE_MICRO, b.epoch, b.offset));
    }

    /// Stores the final macro block of `epoch` (`encoded` with postcard).
    pub(super) fn persist_macro(&mut self, epoch: u64, encoded: &[u8]) {
        self.store.put(&key_with(STORE_MACRO, epoch, 0), encoded);
    }

    /// Syncs the store; a failure is reported (traces) and the node goes on: what it did not
    /// sync, a crash may lose.
    pub(super) fn sync_store(&mut self) {
        if let Err(e) = self.store.sync() {
            self.emit(Event::Refused {
                what: "storage sync".into(),
                error: e.to_string(),
            });
        }
    }
}
