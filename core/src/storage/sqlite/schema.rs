//! The connections' settings and the schema, created and migrated when the store opens.
//!
//! The schema's version is SQLite's `user_version`: migration `n` (counting from 1) brings a
//! database from version `n - 1` to `n`, all in one write transaction, so a server that
//! starts beside another (on the same file) either migrates or finds the work done. A file
//! of a newer version than this code knows is refused rather than misread.

use super::{Failure, Synchronous};
use rusqlite::{Connection, TransactionBehavior};

/// The migrations, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[&str] = &[
    // 1: families, codes and tokens. Digests are the SHA-256 of the credential (32 bytes),
    // family ids 16 random bytes, times seconds since the Unix epoch.
    "
    CREATE TABLE grantry_families (
        id BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 16),
        revoked INTEGER NOT NULL DEFAULT 0,
        -- Kept until then (plus the store's retention): the latest expiry of its codes and
        -- tokens, or the time of its revocation if later. NULL: one of its tokens never expires.
        expires_at INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX grantry_families_expiry ON grantry_families (expires_at) WHERE expires_at IS NOT NULL;

    CREATE TABLE grantry_codes (
        digest BLOB NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
        client_id TEXT NOT NULL,
        family BLOB NOT NULL,
        expires_at INTEGER NOT NULL,
        redeemed INTEGER NOT NULL DEFAULT 0,
        -- The rest is cleared on redemption: a replay needs only the client and the family.
        redirect_uri TEXT,
        redirect_uri_given INTEGER,
        subject TEXT,
        scope TEXT,
        requested_scope TEXT,
        attributes TEXT
    ) WITHOUT ROWID;
    CREATE INDEX grantry_codes_expiry ON grantry_codes (expires_at);

    CREATE TABLE grantry_tokens (
        digest BLOB NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
        kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
        client_id TEXT NOT NULL,
        subject TEXT,
        scope TEXT NOT NULL,
        grant_type TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER,
        family BLOB,
        -- A refresh token rotated out: kept to recognise a replay, never found.
        retired INTEGER NOT NULL DEFAULT 0,
        attributes TEXT
    ) WITHOUT ROWID;
    CREATE INDEX grantry_tokens_family ON grantry_tokens (family) WHERE family IS NOT NULL;
    CREATE INDEX grantry_tokens_expiry ON grantry_tokens (expires_at) WHERE expires_at IS NOT NULL;
    ",
    // 2: single-use records (consent forms, JWT assertions), by the digest of their key; kept
    // through `expires_at`, the last second the thing can be presented. And the secrets an
    // application keeps in the store (SqliteStore::secret), by name. And failed credential
    // checks per key, for a login throttle the servers on the file share.
    "
    CREATE TABLE grantry_replays (
        key BLOB NOT NULL PRIMARY KEY CHECK (length(key) = 32),
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX grantry_replays_expiry ON grantry_replays (expires_at);

    CREATE TABLE grantry_secrets (
        name TEXT NOT NULL PRIMARY KEY,
        value BLOB NOT NULL CHECK (length(value) = 32)
    ) WITHOUT ROWID;

    CREATE TABLE grantry_failures (
        key BLOB NOT NULL PRIMARY KEY CHECK (length(key) = 32),
        count INTEGER NOT NULL,
        since INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX grantry_failures_since ON grantry_failures (since);
    ",
    // 3: pending authorizations (RFC 8628 device codes), by the digest of their code, found by
    // the digest of their user code. `subject` is the approver's, set only while approved.
    "
    CREATE TABLE grantry_pending (
        digest BLOB NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
        user_code BLOB NOT NULL UNIQUE CHECK (length(user_code) = 32),
        client_id TEXT NOT NULL,
        grant_type TEXT NOT NULL,
        scope TEXT NOT NULL,
        requested_scope TEXT,
        expires_at INTEGER NOT NULL,
        poll_interval INTEGER NOT NULL,
        next_poll_at INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'used')),
        subject TEXT,
        CHECK ((state = 'approved') = (subject IS NOT NULL))
    ) WITHOUT ROWID;
    CREATE INDEX grantry_pending_expiry ON grantry_pending (expires_at);
    ",
];

/// The schema version this code writes.
pub(super) const VERSION: usize = MIGRATIONS.len();

/// The writer's settings: WAL (readers never wait for the writer, and the writer for them),
/// and `synchronous` as [`Synchronous`] says (`FULL` by default).
pub(super) fn configure_writer(connection: &Connection, synchronous: Synchronous) -> Result<(), Failure> {
    let mode: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Failure::NotWal(mode));
    }
    let level = match synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    connection.pragma_update(None, "synchronous", level)?;
    Ok(())
}

/// A reader's settings: it cannot write, whatever a bug asks of it.
pub(super) fn configure_reader(connection: &Connection) -> Result<(), Failure> {
    connection.pragma_update(None, "query_only", true)?;
    Ok(())
}

/// Brings the schema to [`VERSION`], in one write transaction.
pub(super) fn migrate(connection: &mut Connection) -> Result<(), Failure> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let found = usize::try_from(found).map_err(|_| Failure::Corrupt(format!("schema version {found}")))?;
    if found > VERSION {
        return Err(Failure::NewerSchema { found, known: VERSION });
    }
    for migration in &MIGRATIONS[found..] {
        transaction.execute_batch(migration)?;
    }
    if found < VERSION {
        let version = i64::try_from(VERSION).map_err(|_| Failure::Corrupt("schema version".to_owned()))?;
        transaction.pragma_update(None, "user_version", version)?;
    }
    transaction.commit()?;
    Ok(())
}
