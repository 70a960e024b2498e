//! The schema, created and migrated when the store connects.
//!
//! The schema's version is the one row of `grantry_schema_version`: migration `n` (counting
//! from 1) brings a database from version `n - 1` to `n`. All of it runs in one transaction
//! that first takes a transaction-scoped advisory lock, so servers that start together on an
//! empty database queue on the lock: the first migrates, the others then find the work done
//! (a bare `CREATE TABLE IF NOT EXISTS` is not enough: two sessions creating one table at
//! once can both pass the check and one then fails on the catalog's unique index). A
//! database of a newer version than this code knows is refused rather than misread.

use super::Failure;
use deadpool_postgres::Client;

/// The advisory lock the migration holds: `"grantry"`'s bytes, one key for the whole
/// database (migrations are rare and short, so servers on different schemas may share it).
const MIGRATION_LOCK: i64 = i64::from_be_bytes(*b"\0grantry");

/// The migrations, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[&str] = &[
    // 1: families, codes and tokens. Digests are the SHA-256 of the credential (32 bytes),
    // family ids 16 random bytes, times seconds since the Unix epoch.
    "
    CREATE TABLE grantry_families (
        id bytea NOT NULL PRIMARY KEY CHECK (length(id) = 16),
        revoked boolean NOT NULL DEFAULT false,
        -- Kept until then (plus the store's retention): the latest expiry of its codes and
        -- tokens, or the time of its revocation if later. NULL: one of its tokens never expires.
        expires_at bigint
    );
    CREATE INDEX grantry_families_expiry ON grantry_families (expires_at) WHERE expires_at IS NOT NULL;

    CREATE TABLE grantry_codes (
        digest bytea NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
        client_id text NOT NULL,
        family bytea NOT NULL,
        expires_at bigint NOT NULL,
        redeemed boolean NOT NULL DEFAULT false,
        -- The rest is cleared on redemption: a replay needs only the client and the family.
        redirect_uri text,
        redirect_uri_given boolean,
        subject text,
        scope text,
        requested_scope text,
        attributes text
    );
    CREATE INDEX grantry_codes_expiry ON grantry_codes (expires_at);

    CREATE TABLE grantry_tokens (
        digest bytea NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
        kind text NOT NULL CHECK (kind IN ('access', 'refresh')),
        client_id text NOT NULL,
        subject text,
        scope text NOT NULL,
        grant_type text NOT NULL,
        issued_at bigint NOT NULL,
        expires_at bigint,
        family bytea,
        -- A refresh token rotated out: kept to recognise a replay, never found.
        retired boolean NOT NULL DEFAULT false,
        attributes text
    );
    CREATE INDEX grantry_tokens_family ON grantry_tokens (family) WHERE family IS NOT NULL;
    CREATE INDEX grantry_tokens_expiry ON grantry_tokens (expires_at) WHERE expires_at IS NOT NULL;
    ",
    // 2: single-use records (consent forms, JWT assertions), by the digest of their key; kept
    // through `expires_at`, the last second the thing can be presented. And the secrets an
    // application keeps in the store (PostgresStore::secret), by name. And failed credential
    // checks per key, for a login throttle the servers on the database share.
    "
    CREATE TABLE grantry_replays (
        key bytea NOT NULL PRIMARY KEY CHECK (length(key) = 32),
        expires_at bigint NOT NULL
    );
    CREATE INDEX grantry_replays_expiry ON grantry_replays (expires_at);

    CREATE TABLE grantry_secrets (
        name text NOT NULL PRIMARY KEY,
        value bytea NOT NULL CHECK (length(value) = 32)
    );

    CREATE TABLE grantry_failures (
        key bytea NOT NULL PRIMARY KEY CHECK (length(key) = 32),
        count integer NOT NULL,
        since bigint NOT NULL
    );
    CREATE INDEX grantry_failures_since ON grantry_failures (since);
    ",
    // 3: pending authorizations (RFC 8628 device codes), by the digest of their code, found by
    // the digest of their user code. `subject` is the approver's, set only while approved.
    "
    CREATE TABLE grantry_pending (
        digest bytea NOT NULL PRIMARY KEY CHECK (length(digest) = 32),
        user_code bytea NOT NULL UNIQUE CHECK (length(user_code) = 32),
        client_id text NOT NULL,
        grant_type text NOT NULL,
        scope text NOT NULL,
        requested_scope text,
        expires_at bigint NOT NULL,
        poll_interval bigint NOT NULL,
        next_poll_at bigint NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'used')),
        subject text,
        CHECK ((state = 'approved') = (subject IS NOT NULL))
    );
    CREATE INDEX grantry_pending_expiry ON grantry_pending (expires_at);
    ",
];

/// The schema version this code writes.
pub(super) const VERSION: usize = MIGRATIONS.len();

/// Brings the schema to [`VERSION`], in one transaction under the migration lock. With
/// `schema`, creates that schema first if it is missing (the connections' `search_path`
/// names it, so the tables go there).
pub(super) async fn migrate(client: &mut Client, schema: Option<&str>) -> Result<(), Failure> {
    let transaction = client.transaction().await?;
    transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    if let Some(schema) = schema {
        // A checked identifier (see `super::valid_schema`), so it can be spliced in.
        transaction.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).await?;
    }
    transaction
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS grantry_schema_version (
                 one boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (one),
                 version integer NOT NULL
             )",
        )
        .await?;
    let found: Option<i32> = match transaction.query_opt("SELECT version FROM grantry_schema_version", &[]).await? {
        Some(row) => Some(row.try_get(0)?),
        None => None,
    };
    let found = usize::try_from(found.unwrap_or(0))
        .map_err(|_| Failure::Corrupt(format!("schema version {}", found.unwrap_or(0))))?;
    if found > VERSION {
        return Err(Failure::NewerSchema { found, known: VERSION });
    }
    for migration in &MIGRATIONS[found..] {
        transaction.batch_execute(migration).await?;
    }
    if found < VERSION {
        let version = i32::try_from(VERSION).map_err(|_| Failure::Corrupt("schema version".to_owned()))?;
        transaction
            .execute(
                "INSERT INTO grantry_schema_version (one, version) VALUES (true, $1)
                 ON CONFLICT (one) DO UPDATE SET version = excluded.version",
                &[&version],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}
