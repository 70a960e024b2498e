//! The storage conformance suite (`grantry_core::conformance`) against every store the
//! project ships: each check is one test, named `STORE::GROUP::CHECK`.

use grantry_core::conformance::{Fixtures, Harness, Swept};
use grantry_core::storage::{SqliteStore, StorageError};
use grantry_core::{MemoryStore, Timestamp};
use std::sync::{Arc, Mutex};

/// Opens a fresh [`MemoryStore`] per check.
struct MemoryHarness;

#[grantry_core::async_trait]
impl Harness for MemoryHarness {
    type Store = MemoryStore;

    async fn open(&self, fixtures: &Fixtures) -> Result<Arc<MemoryStore>, StorageError> {
        let store = MemoryStore::new();
        for client in &fixtures.clients {
            store.add_client(client.clone()).map_err(StorageError::new)?;
        }
        for user in &fixtures.users {
            store.add_user(&user.username, &user.password);
        }
        Ok(Arc::new(store))
    }

    async fn sweep(&self, store: &MemoryStore, now: Timestamp) -> Result<Swept, StorageError> {
        store.sweep(now);
        Ok(Swept::Done)
    }
}

grantry_core::conformance_tests! {
    mod memory_store;
    harness: MemoryHarness;
    checks: [codes, tokens, clients, users, replays];
}

/// Opens a [`SqliteStore`] per check, on a new file in a temporary folder (removed with the
/// harness, when the test ends), in a folder that does not exist yet.
#[derive(Default)]
struct SqliteHarness {
    folders: Mutex<Vec<tempfile::TempDir>>,
}

#[grantry_core::async_trait]
impl Harness for SqliteHarness {
    type Store = SqliteStore;

    async fn open(&self, fixtures: &Fixtures) -> Result<Arc<SqliteStore>, StorageError> {
        let folder = tempfile::tempdir().map_err(StorageError::new)?;
        let store = SqliteStore::open(folder.path().join("data/grantry.db")).await?;
        self.folders.lock().unwrap().push(folder);
        for client in &fixtures.clients {
            store.add_client(client.clone()).map_err(StorageError::new)?;
        }
        for user in &fixtures.users {
            store.add_user(&user.username, &user.password);
        }
        Ok(Arc::new(store))
    }

    async fn sweep(&self, store: &SqliteStore, now: Timestamp) -> Result<Swept, StorageError> {
        // Small batches, so the checks go through several.
        store.sweep_all(now, 2).await?;
        Ok(Swept::Done)
    }
}

grantry_core::conformance_tests! {
    mod sqlite_store;
    harness: SqliteHarness::default();
    checks: [codes, tokens, clients, users, replays];
}
