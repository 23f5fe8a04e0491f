//! The real node's on-disk store: `redb` (an embedded, crash-safe B-tree store) behind the
//! core's [`Store`] interface. Writes are buffered until [`Store::sync`], which is one write
//! transaction committed with an fsync.

use std::path::Path;

use redb::ReadableDatabase;
use stegosim_node::storage::{Overlay, Pairs, Store, StoreError, overlay_scan};

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
    use stegosim_node::storage::conformance;

    #[test]
    fn disk_store_persists_synced_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        {
            let mut s = DiskStore::open(&path).unwrap();
            conformance(&mut s);
            s.sync().unwrap();
            s.put(b"c/unsynced", b"lost");
        }
        let s = DiskStore::open(&path).unwrap();
        assert_eq!(s.get(b"a/3").unwrap().as_deref(), Some(&b"three"[..]));
        assert_eq!(s.get(b"a/1").unwrap(), None);
        assert_eq!(s.get(b"c/unsynced").unwrap(), None);
    }
}
