//! The store a configuration names (`store`: memory, SQLite or PostgreSQL): opened at start, holding the configured clients
//! and users, swept in the background, and asked by `/healthz` whether it answers.

use super::config::{ConfigFileError, StoreConfig};
use grantry_core::storage::{AddClientError, FailureStore, PostgresStore, SqliteOptions, SqliteStore, StorageError};
use grantry_core::{ClientRecord, MemoryStore, Storage, SystemClock, Timestamp};
use std::sync::Arc;
use std::time::Duration;

/// How often the background task deletes what has expired.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// The most rows of a table one sweep statement deletes, so that requests' writes never wait
/// behind one long delete.
const SWEEP_BATCH: usize = 500;

/// The name of the consent form's CSRF key among a persistent store's secrets.
const CSRF_SECRET: &str = "grantry-server consent form key";

/// An opened store of one of the kinds `store` names.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ServerStore {
    /// In memory.
    Memory(Arc<MemoryStore>),
    /// On a SQLite file.
    Sqlite(Arc<SqliteStore>),
    /// On a PostgreSQL database.
    Postgres(Arc<PostgresStore>),
}

impl ServerStore {
    /// A new, empty in-memory store.
    pub fn memory() -> ServerStore {
        ServerStore::Memory(Arc::new(MemoryStore::new()))
    }

    /// Opens (and for a database, creates or migrates) the store `config` names.
    pub async fn open(config: &StoreConfig) -> Result<ServerStore, ConfigFileError> {
        match config {
            StoreConfig::Memory => Ok(ServerStore::memory()),
            StoreConfig::Sqlite { path, synchronous } => {
                SqliteStore::open_with(path, SqliteOptions::default().with_synchronous(*synchronous))
                    .await
                    .map(|store| ServerStore::Sqlite(Arc::new(store)))
                    .map_err(|err| ConfigFileError::new("store", format!("cannot open the SQLite file: {err}")))
            }
            // The error says what failed, never the URL (it may hold a password).
            StoreConfig::Postgres { url } => PostgresStore::connect(url)
                .await
                .map(|store| ServerStore::Postgres(Arc::new(store)))
                .map_err(|err| ConfigFileError::new("store", format!("cannot open the PostgreSQL database: {err}"))),
        }
    }

    /// Registers a configured client.
    pub fn add_client(&self, client: ClientRecord) -> Result<(), AddClientError> {
        match self {
            ServerStore::Memory(store) => store.add_client(client),
            ServerStore::Sqlite(store) => store.add_client(client),
            ServerStore::Postgres(store) => store.add_client(client),
        }
    }

    /// Registers a configured user.
    pub fn add_user(&self, username: &str, password: &str) {
        match self {
            ServerStore::Memory(store) => store.add_user(username, password),
            ServerStore::Sqlite(store) => store.add_user(username, password),
            ServerStore::Postgres(store) => store.add_user(username, password),
        }
    }

    /// The store, as the engine holds it.
    pub fn storage(&self) -> Storage {
        match self {
            ServerStore::Memory(store) => Storage::single(store.clone()),
            ServerStore::Sqlite(store) => Storage::single(store.clone()),
            ServerStore::Postgres(store) => Storage::single(store.clone()),
        }
    }

    /// Where a persistent store counts failed logins, so that every server on it (and a
    /// restarted one) sees them; `None` for memory (the limiter keeps its own counts).
    pub fn failure_store(&self) -> Option<Arc<dyn FailureStore>> {
        match self {
            ServerStore::Memory(_) => None,
            ServerStore::Sqlite(store) => Some(store.clone()),
            ServerStore::Postgres(store) => Some(store.clone()),
        }
    }

    /// The consent form's CSRF key kept in a persistent store (made on first use), so that it
    /// survives restarts and every server on the store has it; `None` for memory.
    pub async fn csrf_secret(&self) -> Result<Option<[u8; 32]>, StorageError> {
        match self {
            ServerStore::Memory(_) => Ok(None),
            ServerStore::Sqlite(store) => store.secret(CSRF_SECRET).await.map(Some),
            ServerStore::Postgres(store) => store.secret(CSRF_SECRET).await.map(Some),
        }
    }

    /// Checks that the store answers (for a database: a statement runs).
    pub async fn ping(&self) -> Result<(), StorageError> {
        match self {
            ServerStore::Memory(_) => Ok(()),
            ServerStore::Sqlite(store) => store.ping().await,
            ServerStore::Postgres(store) => store.ping().await,
        }
    }

    /// Deletes what has expired at `now`, in bounded batches.
    pub async fn sweep(&self, now: Timestamp) -> Result<(), StorageError> {
        match self {
            ServerStore::Memory(store) => {
                store.sweep(now);
                Ok(())
            }
            ServerStore::Sqlite(store) => store.sweep_all(now, SWEEP_BATCH).await.map(|_| ()),
            ServerStore::Postgres(store) => store.sweep_all(now, SWEEP_BATCH).await.map(|_| ()),
        }
    }

    /// Sweeps every [`SWEEP_INTERVAL`] until the task is aborted; a failed sweep is logged and
    /// tried again at the next tick.
    pub async fn sweep_forever(self) {
        let mut every = tokio::time::interval(SWEEP_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(err) = self.sweep(grantry_core::Clock::now(&SystemClock)).await {
                tracing::warn!("sweeping the store failed: {err}");
            }
        }
    }
}
