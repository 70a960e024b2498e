//! A store on a SQLite file (cargo feature `sqlite`): codes, tokens, families and single-use
//! records persist
//! across restarts; clients and users are held in memory, registered at start.
//!
//! # What it guarantees
//!
//! - **Single use, across restarts.** Redemption and rotation are compare-and-consume in one
//!   `UPDATE … WHERE digest = ? AND client_id = ? AND NOT consumed`: of any number of
//!   concurrent calls exactly one wins, and a wrong client's call matches no row, so it changes
//!   nothing. Several processes may open the same file on one host (SQLite locks it); for
//!   servers on several hosts, use a database server.
//! - **Committed before it answers.** Every write is a transaction committed with
//!   `synchronous = FULL` in WAL mode before its future resolves: once the engine has sent a
//!   token response, its tokens and the code's redemption are on disk, and survive a crash or
//!   a power loss. ([`Synchronous::Normal`] trades the power-loss part for faster writes.)
//! - **Revocation is final.** `revoke_family` marks the family revoked and deletes its tokens
//!   in one transaction; a save checks the mark in its own transaction, so a save racing the
//!   revocation either lands before it (and is deleted) or finds the mark. The mark is kept
//!   until the family's last code or token expires, plus [`SqliteStore::FAMILY_RETENTION`].
//! - **Only digests.** Codes and tokens are stored as their SHA-256 digests ([`TokenDigest`]),
//!   never in the clear.
//! - **The async runtime never blocks.** SQLite blocks while it reads and commits; the store
//!   runs every statement on threads of its own (one writer connection, a few read-only
//!   connections), and a call awaits their answer. It needs no particular executor.
//!
//! # Expiry
//!
//! Expired rows stay (and the engine, which checks every expiry, refuses them) until
//! [`SqliteStore::sweep`] deletes them, in batches of a bounded size so writes waiting behind
//! a sweep wait for one batch at most. Run it in the background:
//!
//! ```no_run
//! # async fn run() -> Result<(), grantry_core::storage::StorageError> {
//! use std::sync::Arc;
//! use grantry_core::{Clock, SystemClock};
//! use grantry_core::storage::SqliteStore;
//!
//! let store = Arc::new(SqliteStore::open("/var/lib/grantry/store.db").await?);
//! let sweeper = store.clone();
//! tokio::spawn(async move {
//!     let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
//!     loop {
//!         every.tick().await;
//!         // Batches of 500 rows a table until nothing expired is left.
//!         if let Err(err) = sweeper.sweep_all(SystemClock.now(), 500).await {
//!             eprintln!("sweep failed: {err}");
//!         }
//!     }
//! });
//! # Ok(()) }
//! ```
//!
//! A retired refresh token is kept until it expires, to recognise its replay; a refresh
//! token without expiry (no `refresh_token_ttl`) is therefore kept forever, as is its
//! family's row.
//!
//! # Clients and users
//!
//! They come from configuration, which stays their source of truth, so they are held in
//! memory as [`MemoryStore`] holds them ([`SqliteStore::add_client`],
//! [`SqliteStore::add_user`]): a copy in the file would go stale when the configuration
//! changes. A deployment that manages clients at run time implements
//! [`ClientStore`] over its own table and combines it with this
//! store through [`Storage::new`](crate::Storage::new).
//!
//! # The file
//!
//! [`SqliteStore::open`] creates the file and its folders if missing and brings the schema
//! up to date (tables `grantry_families`, `grantry_codes`, `grantry_tokens`, `grantry_replays`,
//! `grantry_secrets`, `grantry_failures`, `grantry_pending`; the version in
//! SQLite's `user_version`). A file written by a newer version of grantry is refused. Beside
//! it SQLite keeps `-wal` and `-shm` files: back up all three, or use SQLite's backup API.

mod queries;
mod schema;
#[cfg(test)]
mod tests;
mod worker;

use super::memory::AddClientError;
pub use super::sweep::SweepCounts;
use super::sweep::{SweptTable, sweep_tables, sweep_until_done};
use super::{
    AuthorizationCodeRecord, AuthorizationCodeStore, ClientStore, CodeRedemption, FamilyId, IssuedTokens, MemoryStore,
    RefreshRotation, ReplayStore, Storage, StorageError, StoredCode, TokenRecord, TokenStore, UserStore,
};
use super::{FailureCount, FailureStore, FirstUse, ReplayKey};
use super::{PendingAuthorizationStore, PendingConsumption, PendingDecision, PendingPoll, PendingRecord};
use crate::client::{Client, ClientRecord};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::secret::TokenDigest;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use worker::Workers;

/// Why a SQLite operation failed. Boxed into a [`StorageError`]; never shown to clients.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[source] std::io::Error),
    #[error("the store's threads have stopped")]
    Stopped,
    #[error("journal mode {0:?}: the file system does not support WAL")]
    NotWal(String),
    #[error("the database's schema is version {found}, newer than this grantry knows ({known})")]
    NewerSchema { found: usize, known: usize },
    #[error("a stored value is not valid: {0}")]
    Corrupt(String),
}

/// When a write is on disk (SQLite's `synchronous` in WAL mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Synchronous {
    /// `FULL`: every commit is synced before the store answers, so a token the engine has
    /// sent out survives a crash of the process and a power loss. The default.
    #[default]
    Full,
    /// `NORMAL`: commits are synced at checkpoints only. A token sent out survives a crash of
    /// the process (`kill -9`), but the last commits may be lost on a power loss or an
    /// operating system crash: a used code or a revocation could come back. Faster writes.
    Normal,
}

impl From<super::rows::Corrupt> for Failure {
    fn from(corrupt: super::rows::Corrupt) -> Self {
        Failure::Corrupt(corrupt.0)
    }
}

/// How a [`SqliteStore`] is opened.
#[derive(Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Read-only connections, each on its own thread (at least 1; default 2). Reads run
    /// beside the one writer, so a few serve a small machine.
    pub readers: usize,
    /// How long a statement waits for a lock another process holds on the file before it
    /// fails (default 5 seconds). Within one store, writes queue and never wait on a lock.
    pub busy_timeout: Duration,
    /// The clock that dates a family's revocation (default: the system clock).
    pub clock: Arc<dyn Clock>,
    /// When a commit is on disk (default [`Synchronous::Full`]).
    pub synchronous: Synchronous,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            readers: 2,
            busy_timeout: Duration::from_secs(5),
            clock: Arc::new(SystemClock),
            synchronous: Synchronous::Full,
        }
    }
}

impl SqliteOptions {
    /// Sets the number of read-only connections (at least 1).
    pub fn with_readers(mut self, readers: usize) -> Self {
        self.readers = readers.max(1);
        self
    }

    /// Sets how long a statement waits for another process's lock.
    pub fn with_busy_timeout(mut self, busy_timeout: Duration) -> Self {
        self.busy_timeout = busy_timeout;
        self
    }

    /// Sets the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets when a commit is on disk.
    pub fn with_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }
}

impl std::fmt::Debug for SqliteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteOptions")
            .field("readers", &self.readers)
            .field("busy_timeout", &self.busy_timeout)
            .field("synchronous", &self.synchronous)
            .finish_non_exhaustive()
    }
}

/// Codes, tokens and families in a SQLite file; clients and users in memory. See the
/// [module documentation](self) for what it guarantees.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use grantry_core::{AuthorizationServer, ClientRecord, ServerConfig};
/// use grantry_core::storage::SqliteStore;
///
/// let store = SqliteStore::open("data/grantry.db").await?;
/// store.add_client(ClientRecord::confidential("svc", "svc-secret"))?;
/// store.add_user("alice", "wonderland");
/// let server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example.com")?);
/// # Ok(()) }
/// ```
pub struct SqliteStore {
    workers: Workers,
    /// Clients and users (its codes and tokens stay empty).
    directory: MemoryStore,
    clock: Arc<dyn Clock>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// How long a family's row is kept after its last code or token expires (or after its
    /// revocation, if later), in seconds: a save into the family comes right after the code's
    /// redemption or the refresh token's rotation, both before they expire, so an hour leaves a
    /// save racing the family's revocation ample time to find the mark.
    pub const FAMILY_RETENTION: u64 = 3_600;

    /// Opens the store at `path` with the default [`SqliteOptions`], creating the file and
    /// its folders if missing and bringing the schema up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StorageError> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Opens the store at `path` with `options`.
    pub async fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStore, StorageError> {
        let path = path.as_ref().to_path_buf();
        if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            return Err(StorageError::new("the SQLite store needs a file path"));
        }
        let workers = Workers::start(path.clone(), options.readers, options.busy_timeout, options.synchronous)
            .await
            .map_err(StorageError::new)?;
        let directory = MemoryStore::with_clock(options.clock.clone());
        Ok(SqliteStore { workers, directory, clock: options.clock, path })
    }

    /// The file the store is kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Registers a client record after validating it. A second client with the same id is
    /// refused. Held in memory (see the [module documentation](self)).
    pub fn add_client(&self, client: ClientRecord) -> Result<(), AddClientError> {
        self.directory.add_client(client)
    }

    /// Registers any [`Client`] implementation. Held in memory.
    pub fn insert_client(&self, client: Arc<dyn Client>) -> Result<(), AddClientError> {
        self.directory.insert_client(client)
    }

    /// Adds a user whose subject is the username, as [`MemoryStore::add_user`] does. Held in
    /// memory.
    pub fn add_user(&self, username: &str, password: &str) {
        self.directory.add_user(username, password);
    }

    /// The 32-byte secret named `name` kept in the file, made from the operating system's
    /// CSPRNG the first time it is asked for: a key that must survive restarts and be the same
    /// for every process on the file (the example server's CSRF key, say). It is stored as it
    /// is, so whoever reads the file has it: protect the file as the key's holder.
    pub async fn secret(&self, name: &str) -> Result<[u8; 32], StorageError> {
        let mut fresh = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut fresh);
        let name = name.to_owned();
        self.workers.write(move |connection| queries::secret(connection, &name, fresh)).await
    }

    /// Checks that the store answers: its writer thread runs and reads the file.
    pub async fn ping(&self) -> Result<(), StorageError> {
        self.workers
            .write(|connection| {
                connection.query_row("SELECT count(*) FROM grantry_families WHERE 0", [], |_| Ok(()))?;
                Ok(())
            })
            .await
    }

    /// Deletes at most `batch` rows of each table that have expired at `now`: codes (live or
    /// redeemed), tokens (retired refresh tokens included) and pending authorizations whose
    /// expiry is at or before `now`, single-use records past their expiry, families past their
    /// retention, and failure
    /// counts past [`FAILURE_RETENTION`](super::FAILURE_RETENTION). Each table's batch is its own short
    /// transaction, so requests' writes interleave with a sweep.
    pub async fn sweep(&self, now: Timestamp, batch: usize) -> Result<SweepCounts, StorageError> {
        sweep_tables(now, Self::FAMILY_RETENTION, |table, cutoff| self.sweep_table(table, cutoff, batch)).await
    }

    /// [`sweep`](Self::sweep)s in batches until nothing expired at `now` is left; returns
    /// what it deleted in all.
    pub async fn sweep_all(&self, now: Timestamp, batch: usize) -> Result<SweepCounts, StorageError> {
        sweep_until_done(batch, |batch| self.sweep(now, batch)).await
    }

    async fn sweep_table(&self, table: SweptTable, now: Timestamp, batch: usize) -> Result<usize, StorageError> {
        self.workers.write(move |connection| queries::sweep(connection, table, now, batch)).await
    }
}

impl From<SqliteStore> for Storage {
    fn from(store: SqliteStore) -> Self {
        Storage::single(Arc::new(store))
    }
}

#[async_trait::async_trait]
impl ClientStore for SqliteStore {
    async fn find_client(&self, client_id: &str) -> Result<Option<Arc<dyn Client>>, StorageError> {
        self.directory.find_client(client_id).await
    }
}

#[async_trait::async_trait]
impl UserStore for SqliteStore {
    async fn authenticate(&self, username: &str, password: &str) -> Result<Option<String>, StorageError> {
        self.directory.authenticate(username, password).await
    }

    async fn user_exists(&self, subject: &str) -> Result<bool, StorageError> {
        self.directory.user_exists(subject).await
    }
}

#[async_trait::async_trait]
impl AuthorizationCodeStore for SqliteStore {
    async fn save_code(&self, code: TokenDigest, record: AuthorizationCodeRecord) -> Result<(), StorageError> {
        self.workers.write(move |connection| queries::save_code(connection, code, &record)).await
    }

    async fn find_code(&self, code: TokenDigest) -> Result<Option<StoredCode>, StorageError> {
        self.workers.read(move |connection| queries::find_code(connection, code)).await
    }

    async fn redeem_code(&self, code: TokenDigest, client_id: &str) -> Result<CodeRedemption, StorageError> {
        let client_id = client_id.to_owned();
        self.workers.write(move |connection| queries::redeem_code(connection, code, &client_id)).await
    }
}

#[async_trait::async_trait]
impl TokenStore for SqliteStore {
    async fn save_tokens(&self, tokens: IssuedTokens) -> Result<(), StorageError> {
        self.workers.write(move |connection| queries::save_tokens(connection, tokens)).await
    }

    async fn find_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError> {
        self.workers.read(move |connection| queries::find_token(connection, token)).await
    }

    async fn rotate_refresh_token(&self, token: TokenDigest, client_id: &str) -> Result<RefreshRotation, StorageError> {
        let client_id = client_id.to_owned();
        self.workers.write(move |connection| queries::rotate_refresh_token(connection, token, &client_id)).await
    }

    async fn rotate_and_save(
        &self,
        token: TokenDigest,
        client_id: &str,
        tokens: IssuedTokens,
    ) -> Result<RefreshRotation, StorageError> {
        let client_id = client_id.to_owned();
        self.workers.write(move |connection| queries::rotate_and_save(connection, token, &client_id, tokens)).await
    }

    async fn revoke_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError> {
        self.workers.write(move |connection| queries::revoke_token(connection, token)).await
    }

    async fn revoke_family(&self, family: FamilyId) -> Result<(), StorageError> {
        let now = self.clock.now();
        self.workers.write(move |connection| queries::revoke_family(connection, family, now)).await
    }
}

#[async_trait::async_trait]
impl ReplayStore for SqliteStore {
    async fn record_use(
        &self,
        key: ReplayKey,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<FirstUse, StorageError> {
        self.workers.write(move |connection| queries::record_use(connection, key, expires_at, now)).await
    }
}

#[async_trait::async_trait]
impl FailureStore for SqliteStore {
    async fn failures(&self, key: ReplayKey) -> Result<Option<FailureCount>, StorageError> {
        self.workers.read(move |connection| queries::failures(connection, key)).await
    }

    async fn record_failure(&self, key: ReplayKey, now: Timestamp, window: u64) -> Result<FailureCount, StorageError> {
        self.workers.write(move |connection| queries::record_failure(connection, key, now, window)).await
    }

    async fn clear_failures(&self, key: ReplayKey) -> Result<(), StorageError> {
        self.workers.write(move |connection| queries::clear_failures(connection, key)).await
    }
}

#[async_trait::async_trait]
impl PendingAuthorizationStore for SqliteStore {
    async fn save_pending(
        &self,
        code: TokenDigest,
        user_code: ReplayKey,
        record: PendingRecord,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        self.workers.write(move |connection| queries::save_pending(connection, code, user_code, &record, now)).await
    }

    async fn find_pending(&self, user_code: ReplayKey) -> Result<Option<PendingRecord>, StorageError> {
        self.workers.read(move |connection| queries::find_pending(connection, user_code)).await
    }

    async fn decide_pending(
        &self,
        user_code: ReplayKey,
        decision: PendingDecision,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        self.workers.write(move |connection| queries::decide_pending(connection, user_code, decision, now)).await
    }

    async fn poll_pending(
        &self,
        code: TokenDigest,
        client_id: &str,
        now: Timestamp,
    ) -> Result<PendingPoll, StorageError> {
        let client_id = client_id.to_owned();
        self.workers.write(move |connection| queries::poll_pending(connection, code, &client_id, now)).await
    }

    async fn consume_pending(&self, code: TokenDigest, client_id: &str) -> Result<PendingConsumption, StorageError> {
        let client_id = client_id.to_owned();
        self.workers.write(move |connection| queries::consume_pending(connection, code, &client_id)).await
    }
}
