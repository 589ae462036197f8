//! Tests of the redb store: the conformance suite, which every backend passes, and what is
//! the redb store's alone: its file format, storage faults, its group commit and its file.

mod concurrency;
mod copy;
mod faults;
mod file;
mod format;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use baukasten_store::conformance::Backend;
pub use baukasten_store::conformance::{at, parking_permit};
use baukasten_store::{RedbStore, Store};
use redb::{Database, ReadableTable, TableDefinition};
use tempfile::TempDir;

/// The conformance suite on the redb store.
mod conformance {
    use super::Redb;

    baukasten_store::conformance_tests!(Redb::new());
}

/// A store in a fresh temporary folder; the folder lives as long as the returned guard.
pub fn temp_store() -> (TempDir, RedbStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&store_path(&dir)).unwrap();
    (dir, store)
}

pub fn store_path(dir: &TempDir) -> std::path::PathBuf {
    dir.path().join("data").join("baukasten.redb")
}

/// The redb store under the conformance suite: a file in a temporary folder.
///
/// redb opens a file once per process, so [`Backend::reopen`] can open it again only when
/// the test holds no handle to it any more (a restart); while it holds one, the same store is
/// handed out, and the suite's races between two instances are races between threads on it.
struct Redb {
    dir: TempDir,
    store: Mutex<Option<Arc<RedbStore>>>,
    copies: AtomicUsize,
}

impl Redb {
    fn new() -> Redb {
        Redb {
            dir: tempfile::tempdir().unwrap(),
            store: Mutex::new(None),
            copies: AtomicUsize::new(0),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<Arc<RedbStore>>> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self) -> Arc<RedbStore> {
        Arc::new(RedbStore::open(&store_path(&self.dir)).unwrap())
    }
}

impl Backend for Redb {
    fn store(&self) -> Arc<dyn Store> {
        self.held().get_or_insert_with(|| self.open()).clone()
    }

    fn reopen(&self) -> Arc<dyn Store> {
        let mut held = self.held();
        if held.as_ref().is_some_and(|store| Arc::strong_count(store) == 1) {
            // Dropping the last handle closes the file.
            *held = None;
        }
        held.get_or_insert_with(|| self.open()).clone()
    }

    fn empty(&self) -> Arc<dyn Store> {
        let n = self.copies.fetch_add(1, Ordering::Relaxed);
        Arc::new(RedbStore::open(&self.dir.path().join(format!("copy-{n}.redb"))).unwrap())
    }

    fn damage(&self, table: &str, key: &str) {
        if let Some(store) = self.held().take() {
            assert_eq!(
                Arc::strong_count(&store),
                1,
                "the test still holds the store it damages"
            );
        }
        let db = Database::create(store_path(&self.dir)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(TableDefinition::<&str, &[u8]>::new(table)).unwrap();
            let mut value = table.get(key).unwrap().expect("the record").value().to_vec();
            value[5] ^= 0x20;
            table.insert(key, value.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
}
