//! The storage conformance suite (`grantry_core::conformance`) against every store the
//! project ships: each check is one test, named `STORE::GROUP::CHECK`.
//!
//! The PostgreSQL checks need a server at `GRANTRY_TEST_POSTGRES_URL` (see `postgres_support`):
//! without it they skip, or fail under CI.

mod postgres_support;

use grantry_core::conformance::{Fixtures, Harness, Swept};
use grantry_core::storage::{PostgresStore, SqliteStore, StorageError};
use grantry_core::{MemoryStore, Timestamp};
use postgres_support::Schemas;
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
    checks: [codes, tokens, clients, users, replays, pending];
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
    checks: [codes, tokens, clients, users, replays, failures, pending];
}

/// Opens a [`PostgresStore`] per check, each in a schema of its own (dropped with the harness,
/// when the test ends), so checks running side by side never see each other's rows.
struct PostgresHarness {
    schemas: Schemas,
}

impl PostgresHarness {
    /// `None` when there is no test server (the test then skips, having said why).
    fn from_env() -> Option<Self> {
        postgres_support::url().map(|url| PostgresHarness { schemas: Schemas::new(url) })
    }
}

#[grantry_core::async_trait]
impl Harness for PostgresHarness {
    type Store = PostgresStore;

    async fn open(&self, fixtures: &Fixtures) -> Result<Arc<PostgresStore>, StorageError> {
        let options = postgres_support::options(&self.schemas.fresh());
        let store = PostgresStore::connect_with(self.schemas.url(), options).await?;
        for client in &fixtures.clients {
            store.add_client(client.clone()).map_err(StorageError::new)?;
        }
        for user in &fixtures.users {
            store.add_user(&user.username, &user.password);
        }
        Ok(Arc::new(store))
    }

    async fn sweep(&self, store: &PostgresStore, now: Timestamp) -> Result<Swept, StorageError> {
        // Small batches, so the checks go through several.
        store.sweep_all(now, 2).await?;
        Ok(Swept::Done)
    }
}

grantry_core::conformance_tests! {
    mod postgres_store;
    // Without a test server, each test returns here (after saying it skipped).
    harness: match PostgresHarness::from_env() {
        Some(harness) => harness,
        None => return,
    };
    checks: [codes, tokens, clients, users, replays, failures, pending];
}
