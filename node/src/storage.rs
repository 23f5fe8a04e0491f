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
//! - [`DiskStore`]: on disk through `redb` (an embedded, crash-safe B-tree store), for the real
//!   node. Each sync is one write transaction committed with an fsync.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use redb::ReadableDatabase;

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

/// Buffered writes not yet synced: `None` is a delete.
type Overlay = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

fn overlay_scan(
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

const TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("kv");

/// On-disk store for the real node (`redb`), with writes buffered until [`Store::sync`].
pub struct DiskStore {
    db: redb::Database,
    pending: Overlay,
}

impl std::fmt::Debug for DiskStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskStore")
            .field("pending", &self.pending.len())
            .finish()
    }
}

fn disk_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Disk(e.to_string())
}

impl DiskStore {
    /// Opens (or creates) the store file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = redb::Database::create(path)
            .map_err(|e| StoreError::Disk(format!("{}: {e}", path.display())))?;
        // Create the table once so that reads never meet a missing table.
        let txn = db.begin_write().map_err(disk_err)?;
        txn.open_table(TABLE).map_err(disk_err)?;
        txn.commit().map_err(disk_err)?;
        Ok(DiskStore {
            db,
            pending: Overlay::new(),
        })
    }
}

impl Store for DiskStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.pending.get(key) {
            return Ok(v.clone());
        }
        let txn = self.db.begin_read().map_err(disk_err)?;
        let table = txn.open_table(TABLE).map_err(disk_err)?;
        Ok(table
            .get(key)
            .map_err(disk_err)?
            .map(|v| v.value().to_vec()))
    }

    fn put(&mut self, key: &[u8], value: &[u8]) {
        self.pending.insert(key.to_vec(), Some(value.to_vec()));
    }

    fn delete(&mut self, key: &[u8]) {
        self.pending.insert(key.to_vec(), None);
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Pairs, StoreError> {
        let txn = self.db.begin_read().map_err(disk_err)?;
        let table = txn.open_table(TABLE).map_err(disk_err)?;
        let mut base = Vec::new();
        for item in table.range(prefix..).map_err(disk_err)? {
            let (k, v) = item.map_err(disk_err)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            base.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(overlay_scan(base.into_iter(), &self.pending, prefix))
    }

    fn sync(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(disk_err)?;
        {
            let mut table = txn.open_table(TABLE).map_err(disk_err)?;
            for (k, v) in &self.pending {
                match v {
                    Some(v) => {
                        table.insert(k.as_slice(), v.as_slice()).map_err(disk_err)?;
                    }
                    None => {
                        table.remove(k.as_slice()).map_err(disk_err)?;
                    }
                }
            }
        }
        txn.commit().map_err(disk_err)?;
        self.pending.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(store: &mut dyn Store) {
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

    #[test]
    fn mem_store_reads_own_writes_and_crash_loses_unsynced() {
        let mut s = MemStore::new();
        exercise(&mut s);
        s.crash();
        assert_eq!(s.get(b"a/1").unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(s.get(b"a/3").unwrap(), None);
    }

    #[test]
    fn disk_store_persists_synced_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        {
            let mut s = DiskStore::open(&path).unwrap();
            exercise(&mut s);
            s.sync().unwrap();
            s.put(b"c/unsynced", b"lost");
        }
        let s = DiskStore::open(&path).unwrap();
        assert_eq!(s.get(b"a/3").unwrap().as_deref(), Some(&b"three"[..]));
        assert_eq!(s.get(b"a/1").unwrap(), None);
        assert_eq!(s.get(b"c/unsynced").unwrap(), None);
    }
}
