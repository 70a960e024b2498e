//! The SQL of each store operation, on a connection of the pool.
//!
//! Every statement is prepared once per connection and kept in its cache (`prepare_cached`).
//! The transaction isolation is PostgreSQL's default, `READ COMMITTED`, on purpose: each
//! statement sees what committed before it started, and an `UPDATE` (or an upsert) that meets
//! a row another transaction is changing waits for it, then re-checks its `WHERE` against the
//! committed row. So compare-and-consume is one `UPDATE` whose `WHERE` holds the whole
//! comparison (the digest, the client, not consumed yet), and the number of rows it changed
//! says whether this call won: of concurrent calls, on one server or on several, exactly one
//! changes the row. Only when it lost does a `SELECT` find out why (unknown, another
//! client's, or consumed: states only move forward, so what it reads is what made the
//! `UPDATE` miss, or later), as the SQLite store does.

use super::Failure;
use crate::clock::Timestamp;
use crate::scope::Scope;
use crate::secret::TokenDigest;
use crate::storage::rows::{CodeRow, TokenRow, attributes_json, failure_count, family_id, kind_name, time};
use crate::storage::sweep::SweptTable;
use crate::storage::{
    AuthorizationCodeRecord, CodeRedemption, FailureCount, FamilyId, FirstUse, IssuedTokens, RefreshRotation,
    ReplayKey, StoredCode, TokenRecord,
};
use deadpool_postgres::{GenericClient, Pool, Transaction};
use tokio_postgres::Row;
// Pending authorizations (device codes).
use crate::storage::rows::{PENDING_COLUMNS, PendingRow, decided, pending_state};
use crate::storage::{PendingConsumption, PendingDecision, PendingPoll, PendingRecord};

pub(super) async fn save_code(
    pool: &Pool,
    digest: TokenDigest,
    record: &AuthorizationCodeRecord,
) -> Result<(), Failure> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    // The family is created with the code, so a replay that revokes it before any token is
    // saved still revokes the tokens saved afterwards.
    extend_family(&transaction, record.family, Some(record.expires_at)).await?;
    let insert = transaction
        .prepare_cached(
            "INSERT INTO grantry_codes (digest, client_id, family, expires_at, redeemed, redirect_uri,
                 redirect_uri_given, subject, scope, requested_scope, attributes)
             VALUES ($1, $2, $3, $4, false, $5, $6, $7, $8, $9, $10)",
        )
        .await?;
    transaction
        .execute(
            &insert,
            &[
                &&digest.as_bytes()[..],
                &&*record.client_id,
                &&record.family.as_bytes()[..],
                &time(record.expires_at),
                &record.redirect_uri,
                &record.redirect_uri_given,
                &&*record.subject,
                &record.scope.as_str(),
                &record.requested_scope.as_ref().map(Scope::as_str),
                &attributes_json(&record.attributes)?,
            ],
        )
        .await?;
    transaction.commit().await?;
    Ok(())
}

pub(super) async fn find_code(pool: &Pool, digest: TokenDigest) -> Result<Option<StoredCode>, Failure> {
    let client = pool.get().await?;
    let select = client
        .prepare_cached(
            "SELECT client_id, family, expires_at, redeemed, redirect_uri, redirect_uri_given, subject,
                 scope, requested_scope, attributes
             FROM grantry_codes WHERE digest = $1",
        )
        .await?;
    match client.query_opt(&select, &[&&digest.as_bytes()[..]]).await? {
        Some(row) => Ok(Some(code_row(&row)?.into_stored()?)),
        None => Ok(None),
    }
}

pub(super) async fn redeem_code(pool: &Pool, digest: TokenDigest, client_id: &str) -> Result<CodeRedemption, Failure> {
    let client = pool.get().await?;
    let digest = &digest.as_bytes()[..];
    let redeem = client
        .prepare_cached(
            "UPDATE grantry_codes SET redeemed = true, redirect_uri = NULL, redirect_uri_given = NULL,
                 subject = NULL, scope = NULL, requested_scope = NULL, attributes = NULL
             WHERE digest = $1 AND client_id = $2 AND NOT redeemed",
        )
        .await?;
    if client.execute(&redeem, &[&digest, &client_id]).await? == 1 {
        return Ok(CodeRedemption::Redeemed);
    }
    let select =
        client.prepare_cached("SELECT client_id, redeemed, family FROM grantry_codes WHERE digest = $1").await?;
    let Some(row) = client.query_opt(&select, &[&digest]).await? else {
        return Ok(CodeRedemption::NotFound);
    };
    let (owner, redeemed, family): (String, bool, Vec<u8>) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    Ok(if owner != client_id {
        CodeRedemption::WrongClient
    } else if redeemed {
        CodeRedemption::AlreadyRedeemed { family: family_id(family)? }
    } else {
        // Not there when the UPDATE ran (saved since): this call found nothing.
        CodeRedemption::NotFound
    })
}

pub(super) async fn save_tokens(pool: &Pool, tokens: IssuedTokens) -> Result<(), Failure> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    if !family_open(&transaction, &tokens).await? {
        // Revocation is final: the tokens are dropped.
        transaction.rollback().await?;
        return Ok(());
    }
    insert_tokens(&transaction, tokens).await?;
    transaction.commit().await?;
    Ok(())
}

/// Extends the family of `tokens` to their expiry and says whether it is open (not revoked);
/// true for tokens of no family.
async fn family_open(transaction: &Transaction<'_>, tokens: &IssuedTokens) -> Result<bool, Failure> {
    let Some(family) = tokens.family() else { return Ok(true) };
    let expiries = std::iter::once(&tokens.access.1).chain(tokens.refresh.as_ref().map(|(_, r)| r));
    let latest = expiries.map(|record| record.expires_at).try_fold(0, |latest: Timestamp, at| Some(latest.max(at?)));
    // The upsert locks the family's row until this transaction ends, and returns the row
    // as committed: a revocation that committed first is seen here, and one that comes
    // later waits for this save to commit, then deletes what it saved.
    Ok(!extend_family(transaction, family, latest).await?)
}

async fn insert_tokens(transaction: &Transaction<'_>, tokens: IssuedTokens) -> Result<(), Failure> {
    let insert = transaction
        .prepare_cached(
            "INSERT INTO grantry_tokens (digest, kind, client_id, subject, scope, grant_type, issued_at,
                 expires_at, family, retired, attributes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, false, $10)",
        )
        .await?;
    for (digest, record) in tokens {
        transaction
            .execute(
                &insert,
                &[
                    &&digest.as_bytes()[..],
                    &kind_name(record.kind),
                    &&*record.client_id,
                    &record.subject.as_deref(),
                    &record.scope.as_str(),
                    &record.grant_type.as_str(),
                    &time(record.issued_at),
                    &record.expires_at.map(time),
                    &record.family.as_ref().map(|family| &family.as_bytes()[..]),
                    &attributes_json(&record.attributes)?,
                ],
            )
            .await?;
    }
    Ok(())
}

/// The columns [`TokenRow::read`] reads, in its order.
const TOKEN_COLUMNS: &str = "kind, client_id, subject, scope, grant_type, issued_at, expires_at, family, attributes";

pub(super) async fn find_token(pool: &Pool, digest: TokenDigest) -> Result<Option<TokenRecord>, Failure> {
    let client = pool.get().await?;
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM grantry_tokens WHERE digest = $1 AND NOT retired");
    let select = client.prepare_cached(&sql).await?;
    match client.query_opt(&select, &[&&digest.as_bytes()[..]]).await? {
        Some(row) => Ok(Some(token_row(&row)?.into_record()?)),
        None => Ok(None),
    }
}

pub(super) async fn rotate_refresh_token(
    pool: &Pool,
    digest: TokenDigest,
    client_id: &str,
) -> Result<RefreshRotation, Failure> {
    let client = pool.get().await?;
    let statements = (client.prepare_cached(RETIRE).await?, client.prepare_cached(SEEN).await?);
    retire(&**client, &statements, digest, client_id).await
}

/// Rotation and the save of the tokens that replace it, in one transaction: nothing is saved
/// unless this call retired the refresh token, and a failed save leaves it unretired.
pub(super) async fn rotate_and_save(
    pool: &Pool,
    digest: TokenDigest,
    client_id: &str,
    tokens: IssuedTokens,
) -> Result<RefreshRotation, Failure> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    // The family's row first, as a revocation locks it before the family's tokens: a
    // revocation that committed first deleted the refresh token (this call finds nothing);
    // one that comes later waits for this commit, then deletes what it saved.
    let open = family_open(&transaction, &tokens).await?;
    let statements = (transaction.prepare_cached(RETIRE).await?, transaction.prepare_cached(SEEN).await?);
    let rotation = retire(&*transaction, &statements, digest, client_id).await?;
    if rotation != RefreshRotation::Rotated {
        transaction.rollback().await?;
        return Ok(rotation);
    }
    if open {
        insert_tokens(&transaction, tokens).await?;
    }
    transaction.commit().await?;
    Ok(rotation)
}

/// Retires a refresh token: compare-and-consume in one `UPDATE`.
const RETIRE: &str = "UPDATE grantry_tokens SET retired = true
     WHERE digest = $1 AND client_id = $2 AND kind = 'refresh' AND NOT retired";

/// Why [`RETIRE`] changed nothing.
const SEEN: &str = "SELECT kind, client_id, retired, family FROM grantry_tokens WHERE digest = $1";

/// Runs [`RETIRE`], then, if it changed nothing, [`SEEN`] to say why.
async fn retire(
    client: &(impl tokio_postgres::GenericClient + Sync),
    (retire, seen): &(tokio_postgres::Statement, tokio_postgres::Statement),
    digest: TokenDigest,
    client_id: &str,
) -> Result<RefreshRotation, Failure> {
    let digest = &digest.as_bytes()[..];
    if client.execute(retire, &[&digest, &client_id]).await? == 1 {
        return Ok(RefreshRotation::Rotated);
    }
    let Some(row) = client.query_opt(seen, &[&digest]).await? else {
        return Ok(RefreshRotation::NotFound);
    };
    let (kind, owner, retired, family): (String, String, bool, Option<Vec<u8>>) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
    Ok(if kind != "refresh" {
        RefreshRotation::NotFound
    } else if owner != client_id {
        RefreshRotation::WrongClient
    } else if retired {
        RefreshRotation::AlreadyRotated { family: family.map(family_id).transpose()? }
    } else {
        // Not there when the UPDATE ran (saved since): this call found nothing.
        RefreshRotation::NotFound
    })
}

pub(super) async fn revoke_token(pool: &Pool, digest: TokenDigest) -> Result<Option<TokenRecord>, Failure> {
    let client = pool.get().await?;
    let sql = format!("DELETE FROM grantry_tokens WHERE digest = $1 RETURNING {TOKEN_COLUMNS}");
    let delete = client.prepare_cached(&sql).await?;
    match client.query_opt(&delete, &[&&digest.as_bytes()[..]]).await? {
        Some(row) => Ok(Some(token_row(&row)?.into_record()?)),
        None => Ok(None),
    }
}

pub(super) async fn revoke_family(pool: &Pool, family: FamilyId, now: Timestamp) -> Result<(), Failure> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let family = &family.as_bytes()[..];
    // The mark stays at least until the family's tokens expire, so a save racing the
    // revocation (which comes before they expire) still finds it. The upsert locks the row
    // first: a save into the family that holds it commits before the `DELETE` below starts,
    // which therefore sees (and deletes) its tokens.
    let mark = transaction
        .prepare_cached(
            "INSERT INTO grantry_families AS f (id, revoked, expires_at) VALUES ($1, true, $2)
             ON CONFLICT (id) DO UPDATE SET revoked = true, expires_at =
                 CASE WHEN f.expires_at IS NULL THEN NULL
                      ELSE greatest(f.expires_at, excluded.expires_at) END",
        )
        .await?;
    transaction.execute(&mark, &[&family, &time(now)]).await?;
    let delete = transaction.prepare_cached("DELETE FROM grantry_tokens WHERE family = $1").await?;
    transaction.execute(&delete, &[&family]).await?;
    transaction.commit().await?;
    Ok(())
}

/// Deletes at most `batch` rows of `table` that expired at `now`, in one statement (its own
/// transaction, so writes waiting behind it wait for one batch at most). Rows another
/// transaction holds locked are skipped, so two servers sweeping at once share the work
/// rather than wait for each other; they go in a later sweep.
pub(super) async fn sweep(pool: &Pool, table: SweptTable, now: Timestamp, batch: usize) -> Result<usize, Failure> {
    let client = pool.get().await?;
    let sql = match table {
        SweptTable::Codes => {
            "DELETE FROM grantry_codes WHERE digest IN
                 (SELECT digest FROM grantry_codes WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
        }
        SweptTable::Tokens => {
            "DELETE FROM grantry_tokens WHERE digest IN
                 (SELECT digest FROM grantry_tokens WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
        }
        SweptTable::Families => {
            "DELETE FROM grantry_families WHERE id IN
                 (SELECT id FROM grantry_families WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
        }
        // Kept through their expiry second.
        SweptTable::Replays => {
            "DELETE FROM grantry_replays WHERE key IN
                 (SELECT key FROM grantry_replays WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
        }
        // Windows that opened before the cutoff.
        SweptTable::Failures => {
            "DELETE FROM grantry_failures WHERE key IN
                 (SELECT key FROM grantry_failures WHERE since < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
        }
        SweptTable::Pending => {
            "DELETE FROM grantry_pending WHERE digest IN
                 (SELECT digest FROM grantry_pending WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
        }
    };
    let delete = client.prepare_cached(sql).await?;
    let batch = i64::try_from(batch).unwrap_or(i64::MAX);
    let deleted = client.execute(&delete, &[&time(now), &batch]).await?;
    usize::try_from(deleted).map_err(|_| Failure::Corrupt(format!("{deleted} rows deleted")))
}

/// The failures of `key`'s latest window.
pub(super) async fn failures(pool: &Pool, key: ReplayKey) -> Result<Option<FailureCount>, Failure> {
    let client = pool.get().await?;
    let select = client.prepare_cached("SELECT count, since FROM grantry_failures WHERE key = $1").await?;
    let row = client.query_opt(&select, &[&&key.as_bytes()[..]]).await?;
    match row {
        None => Ok(None),
        Some(row) => Ok(Some(failure_count((i64::from(row.try_get::<_, i32>(0)?), row.try_get(1)?))?)),
    }
}

/// One more failure of `key` in its open window, or the first of a new one, in one upsert (the
/// row's lock orders concurrent failures).
pub(super) async fn record_failure(
    pool: &Pool,
    key: ReplayKey,
    now: Timestamp,
    window: u64,
) -> Result<FailureCount, Failure> {
    let client = pool.get().await?;
    let upsert = client
        .prepare_cached(
            "INSERT INTO grantry_failures AS f (key, count, since) VALUES ($1, 1, $2)
             ON CONFLICT (key) DO UPDATE SET
                 count = CASE WHEN f.since + $3 <= $2 THEN 1 ELSE f.count + 1 END,
                 since = CASE WHEN f.since + $3 <= $2 THEN $2 ELSE f.since END
             RETURNING count, since",
        )
        .await?;
    let row = client.query_one(&upsert, &[&&key.as_bytes()[..], &time(now), &time(window)]).await?;
    Ok(failure_count((i64::from(row.try_get::<_, i32>(0)?), row.try_get(1)?))?)
}

pub(super) async fn clear_failures(pool: &Pool, key: ReplayKey) -> Result<(), Failure> {
    let client = pool.get().await?;
    let delete = client.prepare_cached("DELETE FROM grantry_failures WHERE key = $1").await?;
    client.execute(&delete, &[&&key.as_bytes()[..]]).await?;
    Ok(())
}

/// Records `key` until `expires_at` unless an unexpired record of it exists, in one upsert: an
/// expired record is taken over, an unexpired one left alone (and then no row is returned).
/// Concurrent calls for one key queue on its row (or on the index entry of its insertion),
/// and each re-checks the `WHERE` against the row the one before it committed: one is first.
/// The secret named `name`: `fresh` stored under it first if it has none. One statement per
/// step: the insert leaves an existing secret alone, and the read returns whichever won.
pub(super) async fn secret(pool: &Pool, name: &str, fresh: [u8; 32]) -> Result<[u8; 32], Failure> {
    let client = pool.get().await?;
    let insert = client
        .prepare_cached("INSERT INTO grantry_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .await?;
    client.execute(&insert, &[&name, &&fresh[..]]).await?;
    let select = client.prepare_cached("SELECT value FROM grantry_secrets WHERE name = $1").await?;
    let value: Vec<u8> = client.query_one(&select, &[&name]).await?.get(0);
    <[u8; 32]>::try_from(value.as_slice()).map_err(|_| Failure::Corrupt(format!("secret {name:?}")))
}

pub(super) async fn record_use(
    pool: &Pool,
    key: ReplayKey,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<FirstUse, Failure> {
    let client = pool.get().await?;
    let upsert = client
        .prepare_cached(
            "INSERT INTO grantry_replays AS r (key, expires_at) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
             WHERE r.expires_at < $3
             RETURNING true",
        )
        .await?;
    let recorded = client.query_opt(&upsert, &[&&key.as_bytes()[..], &time(expires_at), &time(now)]).await?;
    Ok(if recorded.is_some() { FirstUse::First } else { FirstUse::AlreadyUsed })
}

/// Creates the family if it is new; extends how long it is kept to `expires_at` (`None`:
/// forever) if that is later. Returns whether the family is revoked. The row stays locked
/// until the transaction ends.
async fn extend_family(
    transaction: &Transaction<'_>,
    family: FamilyId,
    expires_at: Option<Timestamp>,
) -> Result<bool, Failure> {
    let upsert = transaction
        .prepare_cached(
            "INSERT INTO grantry_families AS f (id, revoked, expires_at) VALUES ($1, false, $2)
             ON CONFLICT (id) DO UPDATE SET expires_at =
                 CASE WHEN f.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL
                      ELSE greatest(f.expires_at, excluded.expires_at) END
             RETURNING revoked",
        )
        .await?;
    let row = transaction.query_one(&upsert, &[&&family.as_bytes()[..], &expires_at.map(time)]).await?;
    Ok(row.try_get(0)?)
}

/// Reads a code's row (`find_code`'s columns).
fn code_row(row: &Row) -> Result<CodeRow, Failure> {
    Ok(CodeRow {
        client_id: row.try_get(0)?,
        family: row.try_get(1)?,
        expires_at: row.try_get(2)?,
        redeemed: row.try_get(3)?,
        redirect_uri: row.try_get(4)?,
        redirect_uri_given: row.try_get(5)?,
        subject: row.try_get(6)?,
        scope: row.try_get(7)?,
        requested_scope: row.try_get(8)?,
        attributes: row.try_get(9)?,
    })
}

/// Reads a token's row ([`TOKEN_COLUMNS`]).
fn token_row(row: &Row) -> Result<TokenRow, Failure> {
    Ok(TokenRow {
        kind: row.try_get(0)?,
        client_id: row.try_get(1)?,
        subject: row.try_get(2)?,
        scope: row.try_get(3)?,
        grant_type: row.try_get(4)?,
        issued_at: row.try_get(5)?,
        expires_at: row.try_get(6)?,
        family: row.try_get(7)?,
        attributes: row.try_get(8)?,
    })
}

/// Saves a pending authorization unless an unexpired one has its user code, in one upsert: an
/// expired one with that user code is taken over, an unexpired one left alone (then no row
/// changes). Concurrent saves of one user code queue on its index entry and re-check.
pub(super) async fn save_pending(
    pool: &Pool,
    digest: TokenDigest,
    user_code: ReplayKey,
    record: &PendingRecord,
    now: Timestamp,
) -> Result<bool, Failure> {
    let client = pool.get().await?;
    let upsert = client
        .prepare_cached(
            "INSERT INTO grantry_pending AS p (digest, user_code, client_id, grant_type, scope, requested_scope,
                 expires_at, poll_interval, next_poll_at, state, subject)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (user_code) DO UPDATE SET digest = excluded.digest, client_id = excluded.client_id,
                 grant_type = excluded.grant_type, scope = excluded.scope,
                 requested_scope = excluded.requested_scope, expires_at = excluded.expires_at,
                 poll_interval = excluded.poll_interval, next_poll_at = excluded.next_poll_at,
                 state = excluded.state, subject = excluded.subject
             WHERE p.expires_at <= $12",
        )
        .await?;
    let (state, subject) = pending_state(&record.state);
    let changed = client
        .execute(
            &upsert,
            &[
                &&digest.as_bytes()[..],
                &&user_code.as_bytes()[..],
                &&*record.client_id,
                &record.grant_type.as_str(),
                &record.scope.as_str(),
                &record.requested_scope.as_ref().map(Scope::as_str),
                &time(record.expires_at),
                &time(record.interval),
                &time(record.next_poll_at),
                &state,
                &subject,
                &time(now),
            ],
        )
        .await?;
    Ok(changed == 1)
}

pub(super) async fn find_pending(pool: &Pool, user_code: ReplayKey) -> Result<Option<PendingRecord>, Failure> {
    let client = pool.get().await?;
    let sql = format!("SELECT {PENDING_COLUMNS} FROM grantry_pending WHERE user_code = $1");
    let select = client.prepare_cached(&sql).await?;
    match client.query_opt(&select, &[&&user_code.as_bytes()[..]]).await? {
        Some(row) => Ok(Some(pending_row(&row)?.into_record()?)),
        None => Ok(None),
    }
}

/// Records a decision in one `UPDATE` whose `WHERE` holds the whole condition (still pending,
/// not expired): a concurrent decision waits for the row, re-checks, and misses.
pub(super) async fn decide_pending(
    pool: &Pool,
    user_code: ReplayKey,
    decision: PendingDecision,
    now: Timestamp,
) -> Result<bool, Failure> {
    let client = pool.get().await?;
    let update = client
        .prepare_cached(
            "UPDATE grantry_pending SET state = $2, subject = $3
             WHERE user_code = $1 AND state = 'pending' AND expires_at > $4",
        )
        .await?;
    let state = decided(decision);
    let (state, subject) = pending_state(&state);
    let changed = client.execute(&update, &[&&user_code.as_bytes()[..], &state, &subject, &time(now)]).await?;
    Ok(changed == 1)
}

/// A poll, in one transaction: the row is read `FOR UPDATE` (a concurrent poll, from any
/// server, waits for this one to commit, then reads what it wrote) and its next poll time (and,
/// for a poll too early, its interval) written back.
pub(super) async fn poll_pending(
    pool: &Pool,
    digest: TokenDigest,
    client_id: &str,
    now: Timestamp,
) -> Result<PendingPoll, Failure> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let digest = &digest.as_bytes()[..];
    let sql = format!("SELECT {PENDING_COLUMNS} FROM grantry_pending WHERE digest = $1 FOR UPDATE");
    let select = transaction.prepare_cached(&sql).await?;
    let found = match transaction.query_opt(&select, &[&digest]).await? {
        Some(row) => Some(pending_row(&row)?.into_record()?),
        None => None,
    };
    // Nothing to write for an unknown code, or another client's.
    let Some(mut record) = found else {
        transaction.rollback().await?;
        return Ok(PendingPoll::NotFound);
    };
    let answer = record.poll(client_id, now);
    if answer == PendingPoll::WrongClient {
        transaction.rollback().await?;
        return Ok(answer);
    }
    let update = transaction
        .prepare_cached("UPDATE grantry_pending SET poll_interval = $2, next_poll_at = $3 WHERE digest = $1")
        .await?;
    transaction.execute(&update, &[&digest, &time(record.interval), &time(record.next_poll_at)]).await?;
    transaction.commit().await?;
    Ok(answer)
}

/// Compare and consume: one `UPDATE … WHERE digest = $1 AND client_id = $2 AND state =
/// 'approved'` (a concurrent one waits for the row, re-checks, and misses); only when it
/// changed nothing, a `SELECT` tells a spent one from the rest.
pub(super) async fn consume_pending(
    pool: &Pool,
    digest: TokenDigest,
    client_id: &str,
) -> Result<PendingConsumption, Failure> {
    let client = pool.get().await?;
    let digest = &digest.as_bytes()[..];
    let consume = client
        .prepare_cached(
            "UPDATE grantry_pending SET state = 'used', subject = NULL
             WHERE digest = $1 AND client_id = $2 AND state = 'approved'",
        )
        .await?;
    if client.execute(&consume, &[&digest, &client_id]).await? == 1 {
        return Ok(PendingConsumption::Consumed);
    }
    let select = client.prepare_cached("SELECT client_id, state FROM grantry_pending WHERE digest = $1").await?;
    let Some(row) = client.query_opt(&select, &[&digest]).await? else {
        return Ok(PendingConsumption::NotApproved);
    };
    let (owner, state): (String, String) = (row.try_get(0)?, row.try_get(1)?);
    Ok(if owner == client_id && state == "used" {
        PendingConsumption::AlreadyUsed
    } else {
        PendingConsumption::NotApproved
    })
}

/// Reads a pending authorization's row ([`PENDING_COLUMNS`]).
fn pending_row(row: &Row) -> Result<PendingRow, Failure> {
    Ok(PendingRow {
        client_id: row.try_get(0)?,
        grant_type: row.try_get(1)?,
        scope: row.try_get(2)?,
        requested_scope: row.try_get(3)?,
        expires_at: row.try_get(4)?,
        interval: row.try_get(5)?,
        next_poll_at: row.try_get(6)?,
        state: row.try_get(7)?,
        subject: row.try_get(8)?,
    })
}
