//! Storage traits, split by concern, the records they hold, and the stores grantry ships.
//!
//! Every method is async, so a database can sit behind it without blocking an async runtime.
//! The engine holds stores as trait objects (`Arc<dyn TokenStore>`), so the traits use
//! [`async_trait`]: implement them with `#[async_trait::async_trait]` on the `impl` and
//! plain `async fn`s. Codes and tokens reach a store only as [`TokenDigest`]s.
//!
//! | trait | concern |
//! |---|---|
//! | [`ClientStore`] | registered clients |
//! | [`AuthorizationCodeStore`] | authorization codes, redeemed atomically |
//! | [`TokenStore`] | access and refresh tokens, grouped in families for revocation |
//! | [`UserStore`] | resource owners (password grant) |
//! | [`ReplayStore`] | single-use records: consent forms, JWT assertions, by a digest of their key |
//! | [`FailureStore`] | failed credential checks per key, for a login throttle servers share |
//! | [`PendingAuthorizationStore`] | pending authorizations a client polls for while a user decides (RFC 8628 device codes) |
//!
//! # Picking a store
//!
//! | store | cargo feature | codes, tokens, families | for |
//! |---|---|---|---|
//! | [`MemoryStore`] | — | in the process's memory: gone when it stops | tests, demos, one server whose restart may end every grant |
//! | [`SqliteStore`] | `sqlite` | a SQLite file in WAL mode: kept across restarts | one server, or several processes on one host sharing the file |
//! | [`PostgresStore`] | `postgres` | a PostgreSQL database, through a connection pool | servers on several hosts sharing one database |
//! | your own | — | any database, behind these traits | another database |
//!
//! The shipped stores hold clients and users in memory, registered at start from
//! configuration; [`Storage::new`] combines stores, one per concern, when clients or users
//! live elsewhere.
//!
//! # What every store guarantees
//!
//! The engine relies on these, and the [conformance suite] (cargo feature
//! `conformance`) checks each of them through the traits:
//!
//! - **Compare and consume.** [`redeem_code`](AuthorizationCodeStore::redeem_code) and
//!   [`rotate_refresh_token`](TokenStore::rotate_refresh_token) consume atomically: of any
//!   number of concurrent calls exactly one wins; every later call by the credential's client
//!   is a replay that names the family (until the code or token expires and is swept).
//! - **A wrong client changes nothing.** A call naming another client gets `WrongClient`,
//!   and the code or token stays exactly as it was.
//! - **Pending authorizations are decided once and spent once.**
//!   [`decide_pending`](PendingAuthorizationStore::decide_pending) records one decision of
//!   concurrent ones; [`consume_pending`](PendingAuthorizationStore::consume_pending) lets
//!   exactly one of concurrent calls spend an approved one; a poll by another client changes
//!   nothing.
//! - **Peeks change nothing.** [`find_code`](AuthorizationCodeStore::find_code) and
//!   [`find_token`](TokenStore::find_token) only read; `find_token` never returns a refresh
//!   token rotation retired, nor a revoked token.
//! - **Revocation is final.** After [`revoke_family`](TokenStore::revoke_family), no token of
//!   the family is found, including tokens saved into it afterwards or while it ran.
//! - **Only digests.** A store sees codes and tokens only as [`TokenDigest`]s.
//! - **Expiry is the engine's.** A store may return an expired code or token until it sweeps
//!   it: the engine checks every expiry. A sweep drops only what has expired (`expires_at <=
//!   now`), and keeps a revoked family's mark while a save into it could still come.
//!
//! Where the shipped stores differ:
//!
//! | | [`MemoryStore`] | [`SqliteStore`] | [`PostgresStore`] |
//! |---|---|---|---|
//! | survives a restart | no | yes | yes |
//! | shared | within one process | by the processes that open the file, on one host | by every server connected to the database |
//! | a write, once its call returns | in memory | committed to disk (`synchronous = FULL`) | committed (durable as the server's `synchronous_commit` makes it) |
//! | expired entries dropped | on its own as its maps fill; [`MemoryStore::sweep`] at once | by [`SqliteStore::sweep`], which the application runs in the background | by [`PostgresStore::sweep`], likewise |
//! | blocking | none (in-memory, short locks) | on threads of its own; the async runtime never waits on the disk | none: an async client (needs a Tokio runtime) |
//!
//! # Writing a store for another database
//!
//! Implement the traits your database is to hold (usually [`AuthorizationCodeStore`] and
//! [`TokenStore`]; clients and users can stay in a [`MemoryStore`] through
//! [`Storage::new`]), then run the conformance suite against it. The points easiest to get
//! wrong, each of which the suite checks:
//!
//! 1. **Key by the digest**: `TokenDigest::as_bytes` (32 bytes) and `FamilyId::as_bytes`
//!    (16 bytes). There is no credential in the clear to store.
//! 2. **Consume in one conditional statement**, never by reading then writing: `UPDATE codes
//!    SET redeemed = true WHERE digest = $1 AND client_id = $2 AND NOT redeemed`, and read the
//!    number of rows it changed (in PostgreSQL, at `READ COMMITTED`, a concurrent `UPDATE` of
//!    the row waits, then re-checks the `WHERE` against the committed row). Only when it
//!    changed none, read the row to answer `NotFound`, `WrongClient` or the replay with its
//!    family. Rotation is the same `UPDATE` on refresh tokens (`AND kind = 'refresh'`).
//! 3. **Make revocation a mark that saves check under the same lock.** `revoke_family`
//!    upserts the family's row with `revoked = true` and deletes its tokens, in one
//!    transaction; `save_tokens` upserts the same row (`INSERT … ON CONFLICT (id) DO UPDATE …
//!    RETURNING revoked`, which takes the row's lock) and inserts the tokens only if it is not
//!    revoked, in one transaction. Whichever runs second waits for the row lock, then (at
//!    `READ COMMITTED`, where each statement sees what committed before it) sees the other's
//!    work. Create the row on `save_code` too, and on `revoke_family` of a family the
//!    store has not seen (a replayed code whose tokens are not saved yet). Keep a revoked row
//!    at least until the family's last code or token expires.
//! 4. **Commit before returning**, so a token the engine sends out is in the database, and
//!    **never block the executor**: use an async driver, or run blocking calls on threads of
//!    the store's own (as [`SqliteStore`] does).
//! 5. **Sweep in bounded batches** (`DELETE … WHERE key IN (SELECT key … WHERE expires_at <=
//!    $1 LIMIT $2)`), so requests' writes never wait behind one huge delete.
//! 6. **Optionally, rotate and save in one transaction**: the default
//!    [`rotate_and_save`](TokenStore::rotate_and_save) calls `rotate_refresh_token`, then
//!    `save_tokens`, two commits; overriding it saves one. Lock the family's row before the
//!    token's, the order `revoke_family` takes them in, or a rotation racing the family's
//!    revocation deadlocks.
//!
//! To run the suite, enable the feature in your crate's dev-dependencies (`grantry-core =
//! { version = "…", features = ["conformance"] }`), implement [`conformance::Harness`] (open
//! an empty store holding the fixtures; sweep it) and call [`conformance_tests!`] with the
//! groups your store implements; [`conformance`] shows a complete harness. Each harness call
//! should open a store that shares nothing with the others (a new schema or database per
//! store, for a database server). The suite's concurrency runs inside one process: a store
//! that several servers share should also race two stores on one database in its own tests,
//! as the SQLite store's tests do with two stores on one file and the PostgreSQL store's with
//! two pools on one schema.
//!
#![cfg_attr(
    feature = "sqlite",
    doc = "\n[`SqliteStore`]: sqlite::SqliteStore\n[`SqliteStore::sweep`]: sqlite::SqliteStore::sweep"
)]
#![cfg_attr(
    not(feature = "sqlite"),
    doc = "\n[`SqliteStore`]: #picking-a-store\n[`SqliteStore::sweep`]: #picking-a-store"
)]
#![cfg_attr(
    feature = "postgres",
    doc = "\n[`PostgresStore`]: postgres::PostgresStore\n[`PostgresStore::sweep`]: postgres::PostgresStore::sweep"
)]
#![cfg_attr(
    not(feature = "postgres"),
    doc = "\n[`PostgresStore`]: #picking-a-store\n[`PostgresStore::sweep`]: #picking-a-store"
)]
#![cfg_attr(
    feature = "conformance",
    doc = "\n[conformance suite]: crate::conformance\n[`conformance`]: crate::conformance\n\
           [`conformance::Harness`]: crate::conformance::Harness\n[`conformance_tests!`]: crate::conformance_tests"
)]
#![cfg_attr(
    not(feature = "conformance"),
    doc = "\n[conformance suite]: #what-every-store-guarantees\n[`conformance`]: #writing-a-store-for-another-database\n\
           [`conformance::Harness`]: #writing-a-store-for-another-database\n\
           [`conformance_tests!`]: #writing-a-store-for-another-database"
)]

mod memory;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
mod records;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod rows;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sweep;

pub use memory::{AddClientError, MemoryStore};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore};
pub use records::{
    Attributes, AuthorizationCodeRecord, CodeRedemption, FailureCount, FamilyId, FirstUse, IssuedTokens,
    PendingConsumption, PendingDecision, PendingPoll, PendingRecord, PendingState, RefreshRotation, ReplayKey,
    SLOW_DOWN_SECONDS, StoredCode, TokenKind, TokenRecord,
};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sweep::SweepCounts;

use crate::client::Client;
use crate::clock::Timestamp;
use crate::secret::TokenDigest;
use std::sync::Arc;

/// A storage backend failed. The engine answers `server_error` and never shows the cause
/// to the client.
#[derive(Debug, thiserror::Error)]
#[error("storage failure: {0}")]
pub struct StorageError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl StorageError {
    /// Wraps a backend error.
    pub fn new(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StorageError(err.into())
    }
}

/// Where registered clients live.
#[async_trait::async_trait]
pub trait ClientStore: Send + Sync {
    /// The client with `client_id`, if registered.
    async fn find_client(&self, client_id: &str) -> Result<Option<Arc<dyn Client>>, StorageError>;
}

/// Where authorization codes live between the authorization and the token request.
#[async_trait::async_trait]
pub trait AuthorizationCodeStore: Send + Sync {
    /// Saves a new code.
    async fn save_code(&self, code: TokenDigest, record: AuthorizationCodeRecord) -> Result<(), StorageError>;

    /// The code as stored, changing nothing: its record while it is live, then who it was
    /// issued to and its family once redeemed (until it expires). The engine checks a code
    /// with this before it redeems it, so a refused request leaves the code as it was.
    async fn find_code(&self, code: TokenDigest) -> Result<Option<StoredCode>, StorageError>;

    /// Redeems a code issued to `client_id`: compare and consume, atomically (in SQL, one
    /// `UPDATE … WHERE digest = $1 AND client_id = $2 AND NOT redeemed`). Of any number of
    /// concurrent calls for one code, exactly one gets [`CodeRedemption::Redeemed`]; the others,
    /// and every later call by its client until the code expires, get
    /// [`CodeRedemption::AlreadyRedeemed`] with the code's family, so the engine can revoke what
    /// the code produced. A call naming another client gets [`CodeRedemption::WrongClient`] and
    /// changes nothing.
    async fn redeem_code(&self, code: TokenDigest, client_id: &str) -> Result<CodeRedemption, StorageError>;
}

/// Where access and refresh tokens live.
///
/// Tokens are grouped in families: all tokens descended from one authorization (one code,
/// one grant with a refresh token, and every refresh of them). Revoking a family is final:
/// tokens saved into a revoked family must never be found afterwards, even if the save races
/// the revocation. A lone access token with nothing to be revoked with belongs to no family.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync {
    /// Saves the tokens of one issuance, into their family if they have one.
    async fn save_tokens(&self, tokens: IssuedTokens) -> Result<(), StorageError>;

    /// The token with this digest, of any kind, unless revoked or rotated out.
    async fn find_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError>;

    /// Retires a refresh token issued to `client_id`, for rotation: compare and consume,
    /// atomically. Of concurrent calls exactly one gets [`RefreshRotation::Rotated`]; the
    /// others, and every later call by its client, get [`RefreshRotation::AlreadyRotated`] with
    /// the family. A call naming another client gets [`RefreshRotation::WrongClient`] and
    /// changes nothing.
    async fn rotate_refresh_token(&self, token: TokenDigest, client_id: &str) -> Result<RefreshRotation, StorageError>;

    /// Retires a refresh token as [`rotate_refresh_token`](Self::rotate_refresh_token) does
    /// and, only if this call retired it ([`RefreshRotation::Rotated`]), saves the tokens that
    /// replace it as [`save_tokens`](Self::save_tokens) does: the engine's refresh with
    /// rotation in one call. Any other outcome saves nothing.
    ///
    /// The default calls the two methods in turn. A store that can do both in one transaction
    /// overrides it, saving a round trip and a commit; then a failed save leaves the refresh
    /// token unretired.
    async fn rotate_and_save(
        &self,
        token: TokenDigest,
        client_id: &str,
        tokens: IssuedTokens,
    ) -> Result<RefreshRotation, StorageError> {
        let rotation = self.rotate_refresh_token(token, client_id).await?;
        if rotation == RefreshRotation::Rotated {
            self.save_tokens(tokens).await?;
        }
        Ok(rotation)
    }

    /// Revokes one token; returns its record if it existed.
    async fn revoke_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError>;

    /// Revokes every token of a family, now and for any token saved into it later.
    async fn revoke_family(&self, family: FamilyId) -> Result<(), StorageError>;
}

/// Where resource owners are authenticated.
#[async_trait::async_trait]
pub trait UserStore: Send + Sync {
    /// Checks a username and password; returns the user's subject identifier when they match.
    /// Implementations compare in constant time and should keep only password hashes.
    async fn authenticate(&self, username: &str, password: &str) -> Result<Option<String>, StorageError>;

    /// Whether `subject` names a known user (used by grants that assert a user, such as
    /// the JWT bearer grant).
    async fn user_exists(&self, subject: &str) -> Result<bool, StorageError>;
}

/// Single-use records of what is neither a code nor a token: a consent form, a JWT
/// assertion (RFC 7523 §3 item 7). Each is recorded under a [`ReplayKey`], a digest, until it
/// expires; every store that serves several servers shares them, so a thing used on one is
/// refused on all.
#[async_trait::async_trait]
pub trait ReplayStore: Send + Sync {
    /// Atomically: when `key` is recorded and unexpired at `now`, [`FirstUse::AlreadyUsed`];
    /// otherwise records it until `expires_at` and answers [`FirstUse::First`]. Of any number
    /// of concurrent calls for one key, exactly one is first.
    ///
    /// `expires_at` is the last second the thing can still be presented: a call at `now <=
    /// expires_at` finds the record, and a sweep keeps it until `now > expires_at`.
    async fn record_use(&self, key: ReplayKey, expires_at: Timestamp, now: Timestamp)
    -> Result<FirstUse, StorageError>;
}

/// Pending authorizations (RFC 8628 device codes): minted at a grant's own endpoint, decided
/// by a user through their user code, polled for and consumed by their client. Shared by every
/// server on the store, like codes.
#[async_trait::async_trait]
pub trait PendingAuthorizationStore: Send + Sync {
    /// Saves a new pending authorization under the digest of its code, findable by `user_code`.
    /// Answers `false` and saves nothing when an unexpired one already has that user code (the
    /// caller makes another), or when a store of fixed capacity (as
    /// [`MemoryStore`]) holds as many unexpired ones as it may.
    async fn save_pending(
        &self,
        code: TokenDigest,
        user_code: ReplayKey,
        record: PendingRecord,
        now: Timestamp,
    ) -> Result<bool, StorageError>;

    /// The pending authorization with this user code, changing nothing.
    async fn find_pending(&self, user_code: ReplayKey) -> Result<Option<PendingRecord>, StorageError>;

    /// Records the user's decision, atomically, only while the state is
    /// [`PendingState::Pending`] and `now < expires_at`: answers whether it did. Of concurrent
    /// decisions exactly one is recorded.
    async fn decide_pending(
        &self,
        user_code: ReplayKey,
        decision: PendingDecision,
        now: Timestamp,
    ) -> Result<bool, StorageError>;

    /// A poll by `client_id` at `now`, atomically: another client's poll changes nothing
    /// ([`PendingPoll::WrongClient`]); a poll of a still pending one before `next_poll_at`
    /// lengthens the interval by [`SLOW_DOWN_SECONDS`] and sets `next_poll_at` to `now` plus
    /// the new interval ([`PendingPoll::SlowDown`]); any other sets `next_poll_at` to `now`
    /// plus the interval and answers the record. [`PendingRecord::poll`] is that rule, for a
    /// store to apply to the record it holds or read.
    async fn poll_pending(
        &self,
        code: TokenDigest,
        client_id: &str,
        now: Timestamp,
    ) -> Result<PendingPoll, StorageError>;

    /// Compare and consume: an approved one issued to `client_id` becomes
    /// [`PendingState::Used`]. Of concurrent calls exactly one gets
    /// [`PendingConsumption::Consumed`].
    async fn consume_pending(&self, code: TokenDigest, client_id: &str) -> Result<PendingConsumption, StorageError>;
}

/// How long a store keeps a key's failure count after its window opened, in seconds (an hour):
/// longer than a login throttle's window may be (the contract's is 15 minutes), so a sweep
/// never ends an open one, and short, because anyone can make failures under any username:
/// the rows one caller can make are bounded by their request rate times this.
pub const FAILURE_RETENTION: u64 = 3_600;

/// Failed credential checks per key, kept where several servers see them, for
/// [`SharedFailureLimiter`](crate::throttle::SharedFailureLimiter): a password guessed on one
/// server counts on all. Keys are digests ([`ReplayKey`]); no username is stored.
#[async_trait::async_trait]
pub trait FailureStore: Send + Sync {
    /// The failures of `key`'s latest window, if any (the caller judges whether it is open).
    async fn failures(&self, key: ReplayKey) -> Result<Option<FailureCount>, StorageError>;

    /// Atomically records one failure of `key` at `now`: one more in its window if the window
    /// (`window` seconds from its first failure) is still open, else the first of a new one.
    /// Returns the count after it.
    async fn record_failure(&self, key: ReplayKey, now: Timestamp, window: u64) -> Result<FailureCount, StorageError>;

    /// Forgets `key`'s failures (its credential was checked successfully).
    async fn clear_failures(&self, key: ReplayKey) -> Result<(), StorageError>;
}

/// The stores a server uses, one per concern. One type may serve several (as [`MemoryStore`]
/// serves all six).
#[derive(Clone)]
#[non_exhaustive]
pub struct Storage {
    /// Clients.
    pub clients: Arc<dyn ClientStore>,
    /// Authorization codes.
    pub codes: Arc<dyn AuthorizationCodeStore>,
    /// Tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Users.
    pub users: Arc<dyn UserStore>,
    /// Single-use records (consent forms, JWT assertions).
    pub replays: Arc<dyn ReplayStore>,
    /// Pending authorizations (device codes).
    pub pending: Arc<dyn PendingAuthorizationStore>,
}

impl Storage {
    /// Stores from six (possibly different) backends.
    pub fn new(
        clients: Arc<dyn ClientStore>,
        codes: Arc<dyn AuthorizationCodeStore>,
        tokens: Arc<dyn TokenStore>,
        users: Arc<dyn UserStore>,
        replays: Arc<dyn ReplayStore>,
        pending: Arc<dyn PendingAuthorizationStore>,
    ) -> Self {
        Storage { clients, codes, tokens, users, replays, pending }
    }

    /// One backend serving every concern.
    pub fn single<S: EveryConcern>(store: Arc<S>) -> Self {
        Storage {
            clients: store.clone(),
            codes: store.clone(),
            tokens: store.clone(),
            users: store.clone(),
            replays: store.clone(),
            pending: store,
        }
    }
}

/// A store serving every concern of [`Storage`] (as the shipped stores do), so that one
/// backend can be [`Storage::single`]. Implemented for every such type.
pub trait EveryConcern:
    ClientStore + AuthorizationCodeStore + TokenStore + UserStore + ReplayStore + PendingAuthorizationStore + 'static
{
}

impl<S> EveryConcern for S where
    S: ClientStore
        + AuthorizationCodeStore
        + TokenStore
        + UserStore
        + ReplayStore
        + PendingAuthorizationStore
        + 'static
{
}

impl<S: EveryConcern> From<Arc<S>> for Storage {
    fn from(store: Arc<S>) -> Self {
        Storage::single(store)
    }
}

impl From<MemoryStore> for Storage {
    fn from(store: MemoryStore) -> Self {
        Storage::single(Arc::new(store))
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Storage { .. }")
    }
}
