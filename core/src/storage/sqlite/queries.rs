//! The SQL of each store operation, run on a connection's thread.
//!
//! Compare-and-consume is one `UPDATE` whose `WHERE` holds the whole comparison (the digest,
//! the client, not consumed yet); the number of rows it changed says whether this call won.
//! Only when it lost does a `SELECT` find out why (unknown, another client's, or consumed:
//! states only move forward, so what it reads is what made the `UPDATE` miss, or later).
//! Writes that touch more than one row run in one `BEGIN IMMEDIATE` transaction: it takes
//! SQLite's write lock at once, so it never has to upgrade a read lock that another writer
//! (another server on the same file) would make it give up.

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
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
// Pending authorizations (device codes).
use crate::storage::rows::{PENDING_COLUMNS, PendingRow, decided, pending_state};
use crate::storage::{PendingConsumption, PendingDecision, PendingPoll, PendingRecord};

pub(super) fn save_code(
    connection: &mut Connection,
    digest: TokenDigest,
    record: &AuthorizationCodeRecord,
) -> Result<(), Failure> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The family is created with the code, so a replay that revokes it before any token is
    // saved still revokes the tokens saved afterwards.
    extend_family(&transaction, record.family, Some(record.expires_at))?;
    transaction
        .prepare_cached(
            "INSERT INTO grantry_codes (digest, client_id, family, expires_at, redeemed, redirect_uri,
                 redirect_uri_given, subject, scope, requested_scope, attributes)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            &digest.as_bytes()[..],
            &*record.client_id,
            &record.family.as_bytes()[..],
            time(record.expires_at),
            record.redirect_uri,
            record.redirect_uri_given,
            &*record.subject,
            record.scope.as_str(),
            record.requested_scope.as_ref().map(Scope::as_str),
            attributes_json(&record.attributes)?,
        ])?;
    transaction.commit()?;
    Ok(())
}

pub(super) fn find_code(connection: &mut Connection, digest: TokenDigest) -> Result<Option<StoredCode>, Failure> {
    let row = connection
        .prepare_cached(
            "SELECT client_id, family, expires_at, redeemed, redirect_uri, redirect_uri_given, subject,
                 scope, requested_scope, attributes
             FROM grantry_codes WHERE digest = ?1",
        )?
        .query_row([&digest.as_bytes()[..]], code_row)
        .optional()?;
    Ok(row.map(CodeRow::into_stored).transpose()?)
}

pub(super) fn redeem_code(
    connection: &mut Connection,
    digest: TokenDigest,
    client_id: &str,
) -> Result<CodeRedemption, Failure> {
    let digest = &digest.as_bytes()[..];
    let won = connection
        .prepare_cached(
            "UPDATE grantry_codes SET redeemed = 1, redirect_uri = NULL, redirect_uri_given = NULL,
                 subject = NULL, scope = NULL, requested_scope = NULL, attributes = NULL
             WHERE digest = ?1 AND client_id = ?2 AND redeemed = 0",
        )?
        .execute(params![digest, client_id])?;
    if won == 1 {
        return Ok(CodeRedemption::Redeemed);
    }
    let seen: Option<(String, bool, Vec<u8>)> = connection
        .prepare_cached("SELECT client_id, redeemed, family FROM grantry_codes WHERE digest = ?1")?
        .query_row([digest], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    Ok(match seen {
        None => CodeRedemption::NotFound,
        Some((owner, _, _)) if owner != client_id => CodeRedemption::WrongClient,
        Some((_, true, family)) => CodeRedemption::AlreadyRedeemed { family: family_id(family)? },
        // Not there when the UPDATE ran (saved since): this call found nothing.
        Some((_, false, _)) => CodeRedemption::NotFound,
    })
}

pub(super) fn save_tokens(connection: &mut Connection, tokens: IssuedTokens) -> Result<(), Failure> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Revocation is final: into a revoked family nothing is saved (the transaction rolls back
    // empty).
    if family_open(&transaction, &tokens)? {
        insert_tokens(&transaction, tokens)?;
        transaction.commit()?;
    }
    Ok(())
}

/// Extends the family of `tokens` to their expiry and says whether it is open (not revoked);
/// true for tokens of no family.
fn family_open(transaction: &Transaction<'_>, tokens: &IssuedTokens) -> Result<bool, Failure> {
    let Some(family) = tokens.family() else { return Ok(true) };
    let revoked: Option<bool> = transaction
        .prepare_cached("SELECT revoked FROM grantry_families WHERE id = ?1")?
        .query_row([&family.as_bytes()[..]], |row| row.get(0))
        .optional()?;
    if revoked == Some(true) {
        return Ok(false);
    }
    let expiries = std::iter::once(&tokens.access.1).chain(tokens.refresh.as_ref().map(|(_, r)| r));
    let latest = expiries.map(|record| record.expires_at).try_fold(0, |latest: Timestamp, at| Some(latest.max(at?)));
    extend_family(transaction, family, latest)?;
    Ok(true)
}

fn insert_tokens(transaction: &Transaction<'_>, tokens: IssuedTokens) -> Result<(), Failure> {
    let mut insert = transaction.prepare_cached(
        "INSERT INTO grantry_tokens (digest, kind, client_id, subject, scope, grant_type, issued_at,
             expires_at, family, retired, attributes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10)",
    )?;
    for (digest, record) in tokens {
        insert.execute(params![
            &digest.as_bytes()[..],
            kind_name(record.kind),
            &*record.client_id,
            record.subject.as_deref(),
            record.scope.as_str(),
            record.grant_type.as_str(),
            time(record.issued_at),
            record.expires_at.map(time),
            record.family.as_ref().map(|family| &family.as_bytes()[..]),
            attributes_json(&record.attributes)?,
        ])?;
    }
    Ok(())
}

/// The columns [`token_row`] reads, in its order.
const TOKEN_COLUMNS: &str = "kind, client_id, subject, scope, grant_type, issued_at, expires_at, family, attributes";

pub(super) fn find_token(connection: &mut Connection, digest: TokenDigest) -> Result<Option<TokenRecord>, Failure> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM grantry_tokens WHERE digest = ?1 AND retired = 0");
    let row = connection.prepare_cached(&sql)?.query_row([&digest.as_bytes()[..]], token_row).optional()?;
    Ok(row.map(TokenRow::into_record).transpose()?)
}

/// Rotation and the save of the tokens that replace it, in one transaction (one commit):
/// nothing is saved unless this call retired the refresh token, and a failed save leaves it
/// unretired.
pub(super) fn rotate_and_save(
    connection: &mut Connection,
    digest: TokenDigest,
    client_id: &str,
    tokens: IssuedTokens,
) -> Result<RefreshRotation, Failure> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rotation = rotate_refresh_token(&transaction, digest, client_id)?;
    if rotation == RefreshRotation::Rotated {
        // Into a revoked family nothing is saved; the retirement stands.
        if family_open(&transaction, &tokens)? {
            insert_tokens(&transaction, tokens)?;
        }
        transaction.commit()?;
    }
    Ok(rotation)
}

/// Retires a refresh token: compare-and-consume in one `UPDATE`, then, if it changed nothing,
/// a `SELECT` to say why.
pub(super) fn rotate_refresh_token(
    connection: &Connection,
    digest: TokenDigest,
    client_id: &str,
) -> Result<RefreshRotation, Failure> {
    let digest = &digest.as_bytes()[..];
    let won = connection
        .prepare_cached(
            "UPDATE grantry_tokens SET retired = 1
             WHERE digest = ?1 AND client_id = ?2 AND kind = 'refresh' AND retired = 0",
        )?
        .execute(params![digest, client_id])?;
    if won == 1 {
        return Ok(RefreshRotation::Rotated);
    }
    let seen: Option<(String, String, bool, Option<Vec<u8>>)> = connection
        .prepare_cached("SELECT kind, client_id, retired, family FROM grantry_tokens WHERE digest = ?1")?
        .query_row([digest], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .optional()?;
    Ok(match seen {
        Some((kind, _, _, _)) if kind != "refresh" => RefreshRotation::NotFound,
        None => RefreshRotation::NotFound,
        Some((_, owner, _, _)) if owner != client_id => RefreshRotation::WrongClient,
        Some((_, _, true, family)) => RefreshRotation::AlreadyRotated { family: family.map(family_id).transpose()? },
        // Not there when the UPDATE ran (saved since): this call found nothing.
        Some((_, _, false, _)) => RefreshRotation::NotFound,
    })
}

pub(super) fn revoke_token(connection: &mut Connection, digest: TokenDigest) -> Result<Option<TokenRecord>, Failure> {
    let sql = format!("DELETE FROM grantry_tokens WHERE digest = ?1 RETURNING {TOKEN_COLUMNS}");
    let row = connection.prepare_cached(&sql)?.query_row([&digest.as_bytes()[..]], token_row).optional()?;
    Ok(row.map(TokenRow::into_record).transpose()?)
}

pub(super) fn revoke_family(connection: &mut Connection, family: FamilyId, now: Timestamp) -> Result<(), Failure> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let family = &family.as_bytes()[..];
    // The mark stays at least until the family's tokens expire, so a save racing the
    // revocation (which comes before they expire) still finds it.
    transaction
        .prepare_cached(
            "INSERT INTO grantry_families (id, revoked, expires_at) VALUES (?1, 1, ?2)
             ON CONFLICT (id) DO UPDATE SET revoked = 1, expires_at =
                 CASE WHEN grantry_families.expires_at IS NULL THEN NULL
                      ELSE max(grantry_families.expires_at, excluded.expires_at) END",
        )?
        .execute(params![family, time(now)])?;
    transaction.prepare_cached("DELETE FROM grantry_tokens WHERE family = ?1")?.execute([family])?;
    transaction.commit()?;
    Ok(())
}

/// Deletes at most `batch` rows of `table` that expired at `now`, in one statement (its own
/// transaction, so writes queued behind it wait for one batch at most).
pub(super) fn sweep(
    connection: &mut Connection,
    table: SweptTable,
    now: Timestamp,
    batch: usize,
) -> Result<usize, Failure> {
    let sql = match table {
        SweptTable::Codes => {
            "DELETE FROM grantry_codes WHERE digest IN
                 (SELECT digest FROM grantry_codes WHERE expires_at <= ?1 LIMIT ?2)"
        }
        SweptTable::Tokens => {
            "DELETE FROM grantry_tokens WHERE digest IN
                 (SELECT digest FROM grantry_tokens WHERE expires_at <= ?1 LIMIT ?2)"
        }
        SweptTable::Families => {
            "DELETE FROM grantry_families WHERE id IN
                 (SELECT id FROM grantry_families WHERE expires_at <= ?1 LIMIT ?2)"
        }
        // Windows that opened before the cutoff.
        SweptTable::Failures => {
            "DELETE FROM grantry_failures WHERE key IN
                 (SELECT key FROM grantry_failures WHERE since < ?1 LIMIT ?2)"
        }
        // Kept through their expiry second.
        SweptTable::Replays => {
            "DELETE FROM grantry_replays WHERE key IN
                 (SELECT key FROM grantry_replays WHERE expires_at < ?1 LIMIT ?2)"
        }
        SweptTable::Pending => {
            "DELETE FROM grantry_pending WHERE digest IN
                 (SELECT digest FROM grantry_pending WHERE expires_at <= ?1 LIMIT ?2)"
        }
    };
    let batch = i64::try_from(batch).unwrap_or(i64::MAX);
    Ok(connection.prepare_cached(sql)?.execute(params![time(now), batch])?)
}

/// The secret named `name`: `fresh` stored under it first if it has none, in one transaction
/// (of servers starting at once, all end with the first one's).
pub(super) fn secret(connection: &mut Connection, name: &str, fresh: [u8; 32]) -> Result<[u8; 32], Failure> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction
        .prepare_cached("INSERT INTO grantry_secrets (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")?
        .execute(params![name, &fresh[..]])?;
    let value: Vec<u8> = transaction
        .prepare_cached("SELECT value FROM grantry_secrets WHERE name = ?1")?
        .query_row([name], |row| row.get(0))?;
    transaction.commit()?;
    <[u8; 32]>::try_from(value.as_slice()).map_err(|_| Failure::Corrupt(format!("secret {name:?}")))
}

/// The failures of `key`'s latest window.
pub(super) fn failures(connection: &mut Connection, key: ReplayKey) -> Result<Option<FailureCount>, Failure> {
    let row: Option<(i64, i64)> = connection
        .prepare_cached("SELECT count, since FROM grantry_failures WHERE key = ?1")?
        .query_row([&key.as_bytes()[..]], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(row.map(failure_count).transpose()?)
}

/// One more failure of `key` in its open window, or the first of a new one, in one upsert.
pub(super) fn record_failure(
    connection: &mut Connection,
    key: ReplayKey,
    now: Timestamp,
    window: u64,
) -> Result<FailureCount, Failure> {
    let row: (i64, i64) = connection
        .prepare_cached(
            "INSERT INTO grantry_failures (key, count, since) VALUES (?1, 1, ?2)
             ON CONFLICT (key) DO UPDATE SET
                 count = CASE WHEN since + ?3 <= ?2 THEN 1 ELSE count + 1 END,
                 since = CASE WHEN since + ?3 <= ?2 THEN ?2 ELSE since END
             RETURNING count, since",
        )?
        .query_row(params![&key.as_bytes()[..], time(now), time(window)], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(failure_count(row)?)
}

pub(super) fn clear_failures(connection: &mut Connection, key: ReplayKey) -> Result<(), Failure> {
    connection.prepare_cached("DELETE FROM grantry_failures WHERE key = ?1")?.execute([&key.as_bytes()[..]])?;
    Ok(())
}

/// Records `key` until `expires_at` unless an unexpired record of it exists, in one upsert: an
/// expired record is taken over, an unexpired one left alone (and then no row changes).
pub(super) fn record_use(
    connection: &mut Connection,
    key: ReplayKey,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<FirstUse, Failure> {
    let changed = connection
        .prepare_cached(
            "INSERT INTO grantry_replays (key, expires_at) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
             WHERE grantry_replays.expires_at < ?3",
        )?
        .execute(params![&key.as_bytes()[..], time(expires_at), time(now)])?;
    Ok(if changed == 1 { FirstUse::First } else { FirstUse::AlreadyUsed })
}

/// Creates the family if it is new; extends how long it is kept to `expires_at` (`None`:
/// forever) if that is later.
fn extend_family(
    transaction: &Transaction<'_>,
    family: FamilyId,
    expires_at: Option<Timestamp>,
) -> Result<(), Failure> {
    transaction
        .prepare_cached(
            "INSERT INTO grantry_families (id, revoked, expires_at) VALUES (?1, 0, ?2)
             ON CONFLICT (id) DO UPDATE SET expires_at =
                 CASE WHEN grantry_families.expires_at IS NULL OR excluded.expires_at IS NULL THEN NULL
                      ELSE max(grantry_families.expires_at, excluded.expires_at) END",
        )?
        .execute(params![&family.as_bytes()[..], expires_at.map(time)])?;
    Ok(())
}

/// Reads a code's row ([`find_code`]'s columns).
fn code_row(row: &Row<'_>) -> rusqlite::Result<CodeRow> {
    Ok(CodeRow {
        client_id: row.get(0)?,
        family: row.get(1)?,
        expires_at: row.get(2)?,
        redeemed: row.get(3)?,
        redirect_uri: row.get(4)?,
        redirect_uri_given: row.get(5)?,
        subject: row.get(6)?,
        scope: row.get(7)?,
        requested_scope: row.get(8)?,
        attributes: row.get(9)?,
    })
}

/// Reads a token's row ([`TOKEN_COLUMNS`]).
fn token_row(row: &Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        kind: row.get(0)?,
        client_id: row.get(1)?,
        subject: row.get(2)?,
        scope: row.get(3)?,
        grant_type: row.get(4)?,
        issued_at: row.get(5)?,
        expires_at: row.get(6)?,
        family: row.get(7)?,
        attributes: row.get(8)?,
    })
}

/// Saves a pending authorization unless an unexpired one has its user code, in one upsert: an
/// expired one with that user code is replaced, an unexpired one left alone (then no row
/// changes).
pub(super) fn save_pending(
    connection: &mut Connection,
    digest: TokenDigest,
    user_code: ReplayKey,
    record: &PendingRecord,
    now: Timestamp,
) -> Result<bool, Failure> {
    let (state, subject) = pending_state(&record.state);
    let changed = connection
        .prepare_cached(
            "INSERT INTO grantry_pending (digest, user_code, client_id, grant_type, scope, requested_scope,
                 expires_at, poll_interval, next_poll_at, state, subject)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (user_code) DO UPDATE SET digest = excluded.digest, client_id = excluded.client_id,
                 grant_type = excluded.grant_type, scope = excluded.scope,
                 requested_scope = excluded.requested_scope, expires_at = excluded.expires_at,
                 poll_interval = excluded.poll_interval, next_poll_at = excluded.next_poll_at,
                 state = excluded.state, subject = excluded.subject
             WHERE grantry_pending.expires_at <= ?12",
        )?
        .execute(params![
            &digest.as_bytes()[..],
            &user_code.as_bytes()[..],
            &*record.client_id,
            record.grant_type.as_str(),
            record.scope.as_str(),
            record.requested_scope.as_ref().map(Scope::as_str),
            time(record.expires_at),
            time(record.interval),
            time(record.next_poll_at),
            state,
            subject,
            time(now),
        ])?;
    Ok(changed == 1)
}

pub(super) fn find_pending(
    connection: &mut Connection,
    user_code: ReplayKey,
) -> Result<Option<PendingRecord>, Failure> {
    let sql = format!("SELECT {PENDING_COLUMNS} FROM grantry_pending WHERE user_code = ?1");
    let row = connection.prepare_cached(&sql)?.query_row([&user_code.as_bytes()[..]], pending_row).optional()?;
    Ok(row.map(PendingRow::into_record).transpose()?)
}

/// Records a decision in one `UPDATE` whose `WHERE` holds the whole condition (still pending,
/// not expired): of concurrent decisions, one changes the row.
pub(super) fn decide_pending(
    connection: &mut Connection,
    user_code: ReplayKey,
    decision: PendingDecision,
    now: Timestamp,
) -> Result<bool, Failure> {
    let state = decided(decision);
    let (state, subject) = pending_state(&state);
    let changed = connection
        .prepare_cached(
            "UPDATE grantry_pending SET state = ?2, subject = ?3
             WHERE user_code = ?1 AND state = 'pending' AND expires_at > ?4",
        )?
        .execute(params![&user_code.as_bytes()[..], state, subject, time(now)])?;
    Ok(changed == 1)
}

/// A poll, in one `BEGIN IMMEDIATE` transaction: the row is read and its next poll time (and,
/// for a poll too early, its interval) written back under the write lock, so no other poll
/// comes between.
pub(super) fn poll_pending(
    connection: &mut Connection,
    digest: TokenDigest,
    client_id: &str,
    now: Timestamp,
) -> Result<PendingPoll, Failure> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let digest = &digest.as_bytes()[..];
    let sql = format!("SELECT {PENDING_COLUMNS} FROM grantry_pending WHERE digest = ?1");
    let row = transaction.prepare_cached(&sql)?.query_row([digest], pending_row).optional()?;
    let Some(mut record) = row.map(PendingRow::into_record).transpose()? else {
        return Ok(PendingPoll::NotFound);
    };
    let answer = record.poll(client_id, now);
    if answer == PendingPoll::WrongClient {
        return Ok(answer);
    }
    transaction
        .prepare_cached("UPDATE grantry_pending SET poll_interval = ?2, next_poll_at = ?3 WHERE digest = ?1")?
        .execute(params![digest, time(record.interval), time(record.next_poll_at)])?;
    transaction.commit()?;
    Ok(answer)
}

/// Compare and consume: one `UPDATE … WHERE digest = ? AND client_id = ? AND state =
/// 'approved'`; only when it changed nothing, a `SELECT` tells a spent one from the rest.
pub(super) fn consume_pending(
    connection: &mut Connection,
    digest: TokenDigest,
    client_id: &str,
) -> Result<PendingConsumption, Failure> {
    let digest = &digest.as_bytes()[..];
    let won = connection
        .prepare_cached(
            "UPDATE grantry_pending SET state = 'used', subject = NULL
             WHERE digest = ?1 AND client_id = ?2 AND state = 'approved'",
        )?
        .execute(params![digest, client_id])?;
    if won == 1 {
        return Ok(PendingConsumption::Consumed);
    }
    let seen: Option<(String, String)> = connection
        .prepare_cached("SELECT client_id, state FROM grantry_pending WHERE digest = ?1")?
        .query_row([digest], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(match seen {
        Some((owner, state)) if owner == client_id && state == "used" => PendingConsumption::AlreadyUsed,
        _ => PendingConsumption::NotApproved,
    })
}

/// Reads a pending authorization's row ([`PENDING_COLUMNS`]).
fn pending_row(row: &Row<'_>) -> rusqlite::Result<PendingRow> {
    Ok(PendingRow {
        client_id: row.get(0)?,
        grant_type: row.get(1)?,
        scope: row.get(2)?,
        requested_scope: row.get(3)?,
        expires_at: row.get(4)?,
        interval: row.get(5)?,
        next_poll_at: row.get(6)?,
        state: row.get(7)?,
        subject: row.get(8)?,
    })
}
