//! Durable state: one interface, two stores.
//!
//! The node writes its durable state (blocks, wallet accounts, history) as ordered key-value
//! pairs through [`Store`]. Writes are buffered and become durable at [`Store::sync`]; a node
//! answers a state-changing request only after syncing, so a restart after a crash recovers
//! everything it acknowledged (DESIGN.md, "Storage").
//!
//! - [`MemStore`]: in memory, for the simulator. Its handle is shared, so the simulator can
//!   [`MemStore::crash`] it (dropping every write since the last sync) and restart a node on
//!   what survived.
//!
//! The on-disk store of the real node (`redb`) lives in the server crate
//! (`stegosim_server::disk_store`): this crate touches no files.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A storage failure. The node treats it as fatal for the request that needed the write.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The on-disk store failed (I/O error, corruption, another process holding it).
    #[error("storage error: {0}")]
    Disk(String),
}

/// Ordered key-value storage with explicit durability points.
///
/// Reads see every write made before them, synced or not. Keys sort bytewise.
pub trait Store: Send + std::fmt::Debug {
    /// The value stored under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `value` under `key` (durable at the next sync).
    fn put(&mut self, key: &[u8], value: &[u8]);
    /// Removes `key` (durable at the next sync).
    fn delete(&mut self, key: &[u8]);
    /// Every pair whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Pairs, StoreError>;
    /// Makes every earlier write durable.
    fn sync(&mut self) -> Result<(), StoreError>;
}

/// Key-value pairs, in key order.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Buffered writes not yet synced: `None` is a delete (also the on-disk store's buffer).
pub type Overlay = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// The pairs of `base` under `prefix` with the buffered writes of `overlay` laid over them:
/// what a store reads before its next sync.
pub fn overlay_scan(
    base: impl Iterator<Item = (Vec<u8>, Vec<u8>)>,
    overlay: &Overlay,
    prefix: &[u8],
) -> Pairs {
    let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = base.collect();
    for (k, v) in overlay.range(prefix.to_vec()..) {
        if !k.starts_with(prefix) {
            break;
        }
        match v {
            Some(v) => {
                merged.insert(k.clone(), v.clone());
            }
            None => {
                merged.remove(k);
            }
        }
    }
    merged.into_iter().collect()
}

#[derive(Debug, Default)]
struct MemInner {
    synced: BTreeMap<Vec<u8>, Vec<u8>>,
    pending: Overlay,
    syncs: u64,
}

/// In-memory store for simulations. Cloning gives another handle to the same data.
#[derive(Debug, Clone, Default)]
pub struct MemStore(Arc<Mutex<MemInner>>);

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A simulated power loss: every write since the last sync is lost.
    pub fn crash(&self) {
        self.lock().pending.clear();
    }

    /// How many syncs happened (a cost the simulator can report).
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemInner> {
        // A poisoned lock means a panic elsewhere already broke the run; the data is still
        // consistent because every mutation below is a single map operation.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let inner = self.lock();
        Ok(match inner.pending.get(key) {
            Some(v) => v.clone(),
            None => inner.synced.get(key).cloned(),
        })
    }

    fn put(&mut self, key: &[u8], value: &[u8]) {
        self.lock()
            .pending
            .insert(key.to_vec(), Some(value.to_vec()));
    }

    fn delete(&mut self, key: &[u8]) {
        self.lock().pending.insert(key.to_vec(), None);
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Pairs, StoreError> {
        let inner = self.lock();
        let base = inner
            .synced
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()));
        Ok(overlay_scan(base, &inner.pending, prefix))
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let pending = std::mem::take(&mut inner.pending);
        for (k, v) in pending {
            match v {
                Some(v) => {
                    inner.synced.insert(k, v);
                }
                None => {
                    inner.synced.remove(&k);
                }
            }
        }
        inner.syncs += 1;
        Ok(())
    }
}

/// What every [`Store`] must do, as assertions: read its own writes before a sync, delete,
/// and scan a prefix in key order with buffered writes laid over synced ones. Both stores'
/// tests run it (this one and the server's on-disk store); panics on the first difference.
pub fn conformance(store: &mut dyn Store) {
    store.put(b"a/1", b"one");
    store.put(b"a/2", b"two");
    store.put(b"b/1", b"other");
    assert_eq!(store.get(b"a/1").unwrap().as_deref(), Some(&b"one"[..]));
    store.sync().unwrap();
    store.delete(b"a/1");
    store.put(b"a/3", b"three");
    let keys: Vec<_> = store
        .scan_prefix(b"a/")
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, vec![b"a/2".to_vec(), b"a/3".to_vec()]);
    assert_eq!(store.get(b"a/1").unwrap(), None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_store_reads_own_writes_and_crash_loses_unsynced() {
        let mut s = MemStore::new();
        conformance(&mut s);
        s.crash();
        assert_eq!(s.get(b"a/1").unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(s.get(b"a/3").unwrap(), None);
    }
}
