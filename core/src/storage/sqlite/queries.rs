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
use crate::grant_type::GrantType;
use crate::scope::Scope;
use crate::secret::TokenDigest;
use crate::storage::{
    Attributes, AuthorizationCodeRecord, CodeRedemption, FamilyId, FirstUse, IssuedTokens, RefreshRotation, ReplayKey,
    StoredCode, TokenKind, TokenRecord,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use std::sync::Arc;

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
        .query_row([&digest.as_bytes()[..]], CodeRow::read)
        .optional()?;
    row.map(CodeRow::into_stored).transpose()
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
    if let Some(family) = tokens.family() {
        let revoked: Option<bool> = transaction
            .prepare_cached("SELECT revoked FROM grantry_families WHERE id = ?1")?
            .query_row([&family.as_bytes()[..]], |row| row.get(0))
            .optional()?;
        if revoked == Some(true) {
            // Revocation is final: the tokens are dropped (the transaction rolls back empty).
            return Ok(());
        }
        let expiries = std::iter::once(&tokens.access.1).chain(tokens.refresh.as_ref().map(|(_, r)| r));
        let latest =
            expiries.map(|record| record.expires_at).try_fold(0, |latest: Timestamp, at| Some(latest.max(at?)));
        extend_family(&transaction, family, latest)?;
    }
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
    drop(insert);
    transaction.commit()?;
    Ok(())
}

/// The columns [`TokenRow::read`] reads, in its order.
const TOKEN_COLUMNS: &str = "kind, client_id, subject, scope, grant_type, issued_at, expires_at, family, attributes";

pub(super) fn find_token(connection: &mut Connection, digest: TokenDigest) -> Result<Option<TokenRecord>, Failure> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM grantry_tokens WHERE digest = ?1 AND retired = 0");
    let row = connection.prepare_cached(&sql)?.query_row([&digest.as_bytes()[..]], TokenRow::read).optional()?;
    row.map(TokenRow::into_record).transpose()
}

pub(super) fn rotate_refresh_token(
    connection: &mut Connection,
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
    let row = connection.prepare_cached(&sql)?.query_row([&digest.as_bytes()[..]], TokenRow::read).optional()?;
    row.map(TokenRow::into_record).transpose()
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
        // Kept through their expiry second.
        SweptTable::Replays => {
            "DELETE FROM grantry_replays WHERE key IN
                 (SELECT key FROM grantry_replays WHERE expires_at < ?1 LIMIT ?2)"
        }
    };
    let batch = i64::try_from(batch).unwrap_or(i64::MAX);
    Ok(connection.prepare_cached(sql)?.execute(params![time(now), batch])?)
}

/// A table [`sweep`] deletes from.
#[derive(Clone, Copy)]
pub(super) enum SweptTable {
    Codes,
    Tokens,
    Families,
    Replays,
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

/// A time as SQLite stores it (a signed 64-bit integer): times past the year 292 billion are
/// kept as that year.
fn time(at: Timestamp) -> i64 {
    i64::try_from(at).unwrap_or(i64::MAX)
}

fn timestamp(stored: i64) -> Result<Timestamp, Failure> {
    Timestamp::try_from(stored).map_err(|_| Failure::Corrupt(format!("negative time {stored}")))
}

fn family_id(bytes: Vec<u8>) -> Result<FamilyId, Failure> {
    <[u8; 16]>::try_from(bytes.as_slice())
        .map(FamilyId::from_bytes)
        .map_err(|_| Failure::Corrupt(format!("a family id of {} bytes", bytes.len())))
}

fn scope(stored: &str) -> Result<Scope, Failure> {
    Scope::parse(stored).map_err(|_| Failure::Corrupt(format!("scope {stored:?}")))
}

fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    }
}

/// Attributes as a JSON object of strings; `NULL` when there are none.
fn attributes_json(attributes: &Attributes) -> Result<Option<String>, Failure> {
    if attributes.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(attributes).map(Some).map_err(|err| Failure::Corrupt(format!("attributes: {err}")))
}

fn attributes(stored: Option<String>) -> Result<Attributes, Failure> {
    match stored {
        None => Ok(Attributes::new()),
        Some(json) => serde_json::from_str(&json).map_err(|err| Failure::Corrupt(format!("attributes: {err}"))),
    }
}

/// A code's row as read, before its values are checked.
struct CodeRow {
    client_id: String,
    family: Vec<u8>,
    expires_at: i64,
    redeemed: bool,
    redirect_uri: Option<String>,
    redirect_uri_given: Option<bool>,
    subject: Option<String>,
    scope: Option<String>,
    requested_scope: Option<String>,
    attributes: Option<String>,
}

impl CodeRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<CodeRow> {
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

    fn into_stored(self) -> Result<StoredCode, Failure> {
        let client_id = Arc::from(self.client_id);
        let family = family_id(self.family)?;
        if self.redeemed {
            return Ok(StoredCode::Redeemed { client_id, family });
        }
        let missing = |column: &str| Failure::Corrupt(format!("a live code without {column}"));
        Ok(StoredCode::Live(AuthorizationCodeRecord {
            client_id,
            redirect_uri: self.redirect_uri.ok_or_else(|| missing("redirect_uri"))?,
            redirect_uri_given: self.redirect_uri_given.ok_or_else(|| missing("redirect_uri_given"))?,
            subject: Arc::from(self.subject.ok_or_else(|| missing("subject"))?),
            scope: scope(&self.scope.ok_or_else(|| missing("scope"))?)?,
            requested_scope: self.requested_scope.as_deref().map(scope).transpose()?,
            expires_at: timestamp(self.expires_at)?,
            family,
            attributes: attributes(self.attributes)?,
        }))
    }
}

/// A token's row as read ([`TOKEN_COLUMNS`]), before its values are checked.
struct TokenRow {
    kind: String,
    client_id: String,
    subject: Option<String>,
    scope: String,
    grant_type: String,
    issued_at: i64,
    expires_at: Option<i64>,
    family: Option<Vec<u8>>,
    attributes: Option<String>,
}

impl TokenRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<TokenRow> {
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

    fn into_record(self) -> Result<TokenRecord, Failure> {
        let kind = match self.kind.as_str() {
            "access" => TokenKind::Access,
            "refresh" => TokenKind::Refresh,
            other => return Err(Failure::Corrupt(format!("token kind {other:?}"))),
        };
        let grant_type = GrantType::parse_for_client(&self.grant_type)
            .map_err(|_| Failure::Corrupt(format!("grant type {:?}", self.grant_type)))?;
        Ok(TokenRecord {
            kind,
            client_id: Arc::from(self.client_id),
            subject: self.subject.map(Arc::from),
            scope: scope(&self.scope)?,
            grant_type,
            issued_at: timestamp(self.issued_at)?,
            expires_at: self.expires_at.map(timestamp).transpose()?,
            family: self.family.map(family_id).transpose()?,
            attributes: attributes(self.attributes)?,
        })
    }
}
