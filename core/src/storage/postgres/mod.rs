//! A store on a PostgreSQL database (cargo feature `postgres`), for several grantry servers
//! sharing one database: codes, tokens, families and single-use records persist and are
//! shared; clients and users are held in memory by each server, registered at start.
//!
//! It runs on [`tokio-postgres`](https://docs.rs/tokio-postgres) with a
//! [`deadpool-postgres`](https://docs.rs/deadpool-postgres) connection pool, and so needs a
//! Tokio runtime: each connection is a task spawned on the runtime the store is used on.
//!
//! # What it guarantees
//!
//! - **Single use, across servers and restarts.** Redemption and rotation are
//!   compare-and-consume in one `UPDATE … WHERE digest = $1 AND client_id = $2 AND NOT
//!   consumed`: at PostgreSQL's default `READ COMMITTED` isolation a second `UPDATE` of the
//!   row waits for the first to commit, then re-checks its `WHERE` against the committed row
//!   and misses, so of any number of concurrent calls, from one server or from several,
//!   exactly one wins; a wrong client's call matches no row, so it changes nothing.
//! - **Committed before it answers.** Every write is a transaction committed before its future
//!   resolves: once the engine has sent a token response, its tokens and the code's
//!   redemption are in the database (as durable as the server's own settings make a commit:
//!   `synchronous_commit`, `fsync`).
//! - **Revocation is final.** `revoke_family` upserts the family's row with its revoked mark,
//!   then deletes its tokens, in one transaction; a save upserts the same row (`INSERT … ON
//!   CONFLICT (id) DO UPDATE … RETURNING revoked`) in its own transaction before it inserts
//!   anything. The upsert takes the row's lock, so whichever comes second waits for the
//!   other to commit: a save racing the revocation either lands before it (and is deleted)
//!   or finds the mark and saves nothing. Row locks and `READ COMMITTED`, not `SERIALIZABLE`:
//!   no transaction has to be retried. The mark is kept until the family's last code or token
//!   expires, plus [`PostgresStore::FAMILY_RETENTION`].
//! - **Single use of other things, everywhere.** [`ReplayStore::record_use`] is one `INSERT …
//!   ON CONFLICT (key) DO UPDATE … WHERE` the record has expired `RETURNING …`: concurrent
//!   calls for one key queue on its row and re-check, so one is first across every server.
//! - **Only digests.** Codes and tokens are stored as their SHA-256 digests ([`TokenDigest`]),
//!   single-use records as their [`ReplayKey`]s, never in the clear.
//! - **Prepared statements.** Each connection prepares a statement the first time it runs it
//!   and keeps it (`prepare_cached`), so a request costs no parse or plan of its SQL.
//! - **Bounded waits.** A statement that runs longer than
//!   [`PostgresOptions::statement_timeout`] (lock waits included) is cancelled by the server;
//!   a call that waits longer than [`PostgresOptions::connect_timeout`] for a connection
//!   fails. Either fails the request with `server_error`, never with a wrong answer.
//! - **No secret in errors.** Errors and `Debug` output never show the connection string (it
//!   may hold a password).
//!
//! **Not yet: TLS.** Connections are plain TCP (or a Unix socket): run the database on the same
//! host or a private network, or behind a TLS tunnel. A `sslmode=require` in the URL fails to
//! connect rather than fall back to plain text.
//!
//! # Expiry
//!
//! Expired rows stay (and the engine, which checks every expiry, refuses them) until
//! [`PostgresStore::sweep`] deletes them (single-use records once past their expiry second),
//! in batches of a bounded size so writes waiting behind
//! a sweep wait for one batch at most. Rows a request holds locked are skipped and left for
//! the next sweep, so servers sweeping at once share the work rather than queue. Run it in
//! the background, on one server or on each:
//!
//! ```no_run
//! # async fn run() -> Result<(), grantry_core::storage::StorageError> {
//! use std::sync::Arc;
//! use grantry_core::{Clock, SystemClock};
//! use grantry_core::storage::PostgresStore;
//!
//! let store = Arc::new(PostgresStore::connect("postgres://grantry@db.internal/grantry").await?);
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
//! They come from configuration, which stays their source of truth, so each server holds them
//! in memory as [`MemoryStore`] holds them ([`PostgresStore::add_client`],
//! [`PostgresStore::add_user`]): give every server sharing the database the same
//! configuration. A deployment that manages clients at run time implements
//! [`ClientStore`] over its own table and combines it with this store through
//! [`Storage::new`](crate::Storage::new).
//!
//! # The schema
//!
//! [`PostgresStore::connect`] brings the schema up to date before it returns: tables
//! `grantry_families`, `grantry_codes`, `grantry_tokens`, `grantry_replays`, `grantry_secrets`,
//! `grantry_failures`, `grantry_pending`, and `grantry_schema_version`, whose
//! one row holds the version. It migrates in one transaction under an advisory lock
//! (`pg_advisory_xact_lock`), so servers that start together on an empty database do not get
//! in each other's way: one migrates, the others wait, then find it done. A database written
//! by a newer version of grantry is refused. The tables go in the first schema of the
//! connections' `search_path` (by default `public`), or in the schema
//! [`PostgresOptions::with_schema`] names (created if missing). The database user needs the
//! right to create tables there on the first start, and to read and write them afterwards.

mod queries;
mod schema;

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
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::NoTls;

/// Why a PostgreSQL operation failed. Boxed into a [`StorageError`]; never shown to clients.
/// No variant holds the connection string.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{}", chain(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("no connection from the pool: {}", chain(.0))]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("the connection pool could not be built: {0}")]
    Build(#[from] deadpool_postgres::BuildError),
    #[error("the PostgreSQL connection string is not valid (it is not shown: it may hold a password)")]
    BadUrl,
    #[error(
        "schema name {0:?}: use 1 to 63 lowercase ASCII letters, digits and underscores, not starting with a digit"
    )]
    BadSchema(String),
    #[error("the database's schema is version {found}, newer than this grantry knows ({known})")]
    NewerSchema { found: usize, known: usize },
    #[error("a stored value is not valid: {0}")]
    Corrupt(String),
}

/// An error and its causes, one after the other: tokio-postgres's own message is only its
/// kind ("db error"), the server's message is its source.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl From<super::rows::Corrupt> for Failure {
    fn from(corrupt: super::rows::Corrupt) -> Self {
        Failure::Corrupt(corrupt.0)
    }
}

/// How a [`PostgresStore`] connects.
#[derive(Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// Connections the pool holds at most (at least 1; default 16). A call holds one for the
    /// length of its statement or transaction.
    pub pool_size: usize,
    /// How long the server lets one statement run, waits for locks included, before it
    /// cancels it (default 5 seconds; PostgreSQL's `statement_timeout`).
    pub statement_timeout: Duration,
    /// How long opening a connection, or waiting for a free one in the pool, may take
    /// (default 5 seconds).
    pub connect_timeout: Duration,
    /// The schema the tables live in, instead of the first of the `search_path` (default: none).
    pub schema: Option<String>,
    /// The clock that dates a family's revocation (default: the system clock).
    pub clock: Arc<dyn Clock>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: 16,
            statement_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            schema: None,
            clock: Arc::new(SystemClock),
        }
    }
}

impl PostgresOptions {
    /// Sets the pool's size (at least 1).
    pub fn with_pool_size(mut self, pool_size: usize) -> Self {
        self.pool_size = pool_size.max(1);
        self
    }

    /// Sets how long one statement may run.
    pub fn with_statement_timeout(mut self, statement_timeout: Duration) -> Self {
        self.statement_timeout = statement_timeout;
        self
    }

    /// Sets how long getting a connection may take.
    pub fn with_connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// Keeps the tables in `schema` (created on connect if missing): lowercase ASCII letters,
    /// digits and underscores, at most 63, not starting with a digit. Every connection's
    /// `search_path` is that schema alone.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Sets the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("pool_size", &self.pool_size)
            .field("statement_timeout", &self.statement_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// Codes, tokens, families and single-use records in PostgreSQL; clients and users in memory. See the
/// [module documentation](self) for what it guarantees.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use grantry_core::{AuthorizationServer, ClientRecord, ServerConfig};
/// use grantry_core::storage::PostgresStore;
///
/// let store = PostgresStore::connect("postgres://grantry@db.internal:5432/grantry").await?;
/// store.add_client(ClientRecord::confidential("svc", "svc-secret"))?;
/// store.add_user("alice", "wonderland");
/// let server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example.com")?);
/// # Ok(()) }
/// ```
pub struct PostgresStore {
    pool: Pool,
    /// Clients and users (its codes and tokens stay empty).
    directory: MemoryStore,
    clock: Arc<dyn Clock>,
    schema: Option<String>,
}

impl std::fmt::Debug for PostgresStore {
    // Not the connection string: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool.status().max_size)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// How long a family's row is kept after its last code or token expires (or after its
    /// revocation, if later), in seconds: a save into the family comes right after the code's
    /// redemption or the refresh token's rotation, both before they expire, so an hour leaves a
    /// save racing the family's revocation ample time to find the mark.
    pub const FAMILY_RETENTION: u64 = 3_600;

    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, or
    /// libpq's `key=value` form) with the default [`PostgresOptions`], and brings the schema up
    /// to date.
    pub async fn connect(url: &str) -> Result<PostgresStore, StorageError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects to the database at `url` with `options`.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<PostgresStore, StorageError> {
        let pool = pool(url, &options).map_err(StorageError::new)?;
        let mut client = pool.get().await.map_err(|err| StorageError::new(Failure::from(err)))?;
        schema::migrate(&mut client, options.schema.as_deref()).await.map_err(StorageError::new)?;
        drop(client);
        let directory = MemoryStore::with_clock(options.clock.clone());
        Ok(PostgresStore { pool, directory, clock: options.clock, schema: options.schema })
    }

    /// The schema the tables are kept in, if [`PostgresOptions::with_schema`] named one.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
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

    /// The 32-byte secret named `name` kept in the database, made from the operating system's
    /// CSPRNG the first time it is asked for: a key that must survive restarts and be the same
    /// for every server on the database (the example server's CSRF key, say). It is stored as
    /// it is, so whoever reads the table has it.
    pub async fn secret(&self, name: &str) -> Result<[u8; 32], StorageError> {
        let mut fresh = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut fresh);
        queries::secret(&self.pool, name, fresh).await.map_err(StorageError::new)
    }

    /// Checks that the store answers: a connection of the pool reads the schema's tables.
    pub async fn ping(&self) -> Result<(), StorageError> {
        let ping = async {
            let client = self.pool.get().await?;
            let statement = client.prepare_cached("SELECT count(*) FROM grantry_families WHERE false").await?;
            client.query_one(&statement, &[]).await?;
            Ok::<(), Failure>(())
        };
        ping.await.map_err(StorageError::new)
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
        queries::sweep(&self.pool, table, now, batch).await.map_err(StorageError::new)
    }
}

/// The pool for `url` with `options`; connects nothing yet.
fn pool(url: &str, options: &PostgresOptions) -> Result<Pool, Failure> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|_| Failure::BadUrl)?;
    // Server settings for every connection, after the URL's own `options` (a later `-c` wins).
    let mut settings = config.get_options().unwrap_or_default().to_owned();
    settings.push_str(&format!(" -c statement_timeout={}", options.statement_timeout.as_millis().max(1)));
    if let Some(schema) = &options.schema {
        if !valid_schema(schema) {
            return Err(Failure::BadSchema(schema.clone()));
        }
        settings.push_str(&format!(" -c search_path={schema}"));
    }
    config.options(settings.trim_start());
    if config.get_application_name().is_none() {
        config.application_name("grantry");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(options.connect_timeout);
    }
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let wait = Some(options.connect_timeout);
    Ok(Pool::builder(manager)
        .max_size(options.pool_size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(wait)
        .create_timeout(wait)
        .recycle_timeout(wait)
        .build()?)
}

/// Whether `name` is a schema name that needs no quoting, so it can be spliced into SQL and
/// into the `search_path` setting as it is.
fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

impl From<PostgresStore> for Storage {
    fn from(store: PostgresStore) -> Self {
        Storage::single(Arc::new(store))
    }
}

#[async_trait::async_trait]
impl ClientStore for PostgresStore {
    async fn find_client(&self, client_id: &str) -> Result<Option<Arc<dyn Client>>, StorageError> {
        self.directory.find_client(client_id).await
    }
}

#[async_trait::async_trait]
impl UserStore for PostgresStore {
    async fn authenticate(&self, username: &str, password: &str) -> Result<Option<String>, StorageError> {
        self.directory.authenticate(username, password).await
    }

    async fn user_exists(&self, subject: &str) -> Result<bool, StorageError> {
        self.directory.user_exists(subject).await
    }
}

#[async_trait::async_trait]
impl AuthorizationCodeStore for PostgresStore {
    async fn save_code(&self, code: TokenDigest, record: AuthorizationCodeRecord) -> Result<(), StorageError> {
        queries::save_code(&self.pool, code, &record).await.map_err(StorageError::new)
    }

    async fn find_code(&self, code: TokenDigest) -> Result<Option<StoredCode>, StorageError> {
        queries::find_code(&self.pool, code).await.map_err(StorageError::new)
    }

    async fn redeem_code(&self, code: TokenDigest, client_id: &str) -> Result<CodeRedemption, StorageError> {
        queries::redeem_code(&self.pool, code, client_id).await.map_err(StorageError::new)
    }
}

#[async_trait::async_trait]
impl TokenStore for PostgresStore {
    async fn save_tokens(&self, tokens: IssuedTokens) -> Result<(), StorageError> {
        queries::save_tokens(&self.pool, tokens).await.map_err(StorageError::new)
    }

    async fn find_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError> {
        queries::find_token(&self.pool, token).await.map_err(StorageError::new)
    }

    async fn rotate_refresh_token(&self, token: TokenDigest, client_id: &str) -> Result<RefreshRotation, StorageError> {
        queries::rotate_refresh_token(&self.pool, token, client_id).await.map_err(StorageError::new)
    }

    async fn rotate_and_save(
        &self,
        token: TokenDigest,
        client_id: &str,
        tokens: IssuedTokens,
    ) -> Result<RefreshRotation, StorageError> {
        queries::rotate_and_save(&self.pool, token, client_id, tokens).await.map_err(StorageError::new)
    }

    async fn revoke_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError> {
        queries::revoke_token(&self.pool, token).await.map_err(StorageError::new)
    }

    async fn revoke_family(&self, family: FamilyId) -> Result<(), StorageError> {
        let now = self.clock.now();
        queries::revoke_family(&self.pool, family, now).await.map_err(StorageError::new)
    }
}

#[async_trait::async_trait]
impl ReplayStore for PostgresStore {
    async fn record_use(
        &self,
        key: ReplayKey,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<FirstUse, StorageError> {
        queries::record_use(&self.pool, key, expires_at, now).await.map_err(StorageError::new)
    }
}

#[async_trait::async_trait]
impl FailureStore for PostgresStore {
    async fn failures(&self, key: ReplayKey) -> Result<Option<FailureCount>, StorageError> {
        queries::failures(&self.pool, key).await.map_err(StorageError::new)
    }

    async fn record_failure(&self, key: ReplayKey, now: Timestamp, window: u64) -> Result<FailureCount, StorageError> {
        queries::record_failure(&self.pool, key, now, window).await.map_err(StorageError::new)
    }

    async fn clear_failures(&self, key: ReplayKey) -> Result<(), StorageError> {
        queries::clear_failures(&self.pool, key).await.map_err(StorageError::new)
    }
}

#[async_trait::async_trait]
impl PendingAuthorizationStore for PostgresStore {
    async fn save_pending(
        &self,
        code: TokenDigest,
        user_code: ReplayKey,
        record: PendingRecord,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        queries::save_pending(&self.pool, code, user_code, &record, now).await.map_err(StorageError::new)
    }

    async fn find_pending(&self, user_code: ReplayKey) -> Result<Option<PendingRecord>, StorageError> {
        queries::find_pending(&self.pool, user_code).await.map_err(StorageError::new)
    }

    async fn decide_pending(
        &self,
        user_code: ReplayKey,
        decision: PendingDecision,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        queries::decide_pending(&self.pool, user_code, decision, now).await.map_err(StorageError::new)
    }

    async fn poll_pending(
        &self,
        code: TokenDigest,
        client_id: &str,
        now: Timestamp,
    ) -> Result<PendingPoll, StorageError> {
        queries::poll_pending(&self.pool, code, client_id, now).await.map_err(StorageError::new)
    }

    async fn consume_pending(&self, code: TokenDigest, client_id: &str) -> Result<PendingConsumption, StorageError> {
        queries::consume_pending(&self.pool, code, client_id).await.map_err(StorageError::new)
    }
}
