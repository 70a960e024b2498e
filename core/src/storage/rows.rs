//! What the SQL stores share: how values are written to columns and read back, and the rows of
//! codes, tokens and pending authorizations as read, turned into records. Each store reads the columns with its own
//! driver; a value that cannot be turned back is [`Corrupt`].

use crate::clock::Timestamp;
use crate::grant_type::GrantType;
use crate::scope::Scope;
use crate::storage::{
    Attributes, AuthorizationCodeRecord, FailureCount, FamilyId, PendingDecision, PendingRecord, PendingState,
    StoredCode, TokenKind, TokenRecord,
};
use std::sync::Arc;

/// A stored value that is not valid: what it is. Each store turns it into its own failure.
#[derive(Debug)]
pub(super) struct Corrupt(pub(super) String);

/// A time as a database stores it (a signed 64-bit integer): times past the year 292 billion
/// are kept as that year.
pub(super) fn time(at: Timestamp) -> i64 {
    i64::try_from(at).unwrap_or(i64::MAX)
}

pub(super) fn timestamp(stored: i64) -> Result<Timestamp, Corrupt> {
    Timestamp::try_from(stored).map_err(|_| Corrupt(format!("negative time {stored}")))
}

pub(super) fn family_id(bytes: Vec<u8>) -> Result<FamilyId, Corrupt> {
    <[u8; 16]>::try_from(bytes.as_slice())
        .map(FamilyId::from_bytes)
        .map_err(|_| Corrupt(format!("a family id of {} bytes", bytes.len())))
}

pub(super) fn scope(stored: &str) -> Result<Scope, Corrupt> {
    Scope::parse(stored).map_err(|_| Corrupt(format!("scope {stored:?}")))
}

pub(super) fn grant_type(stored: &str) -> Result<GrantType, Corrupt> {
    GrantType::parse_for_client(stored).map_err(|_| Corrupt(format!("grant type {stored:?}")))
}

pub(super) fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    }
}

/// Attributes as a JSON object of strings; `NULL` when there are none.
pub(super) fn attributes_json(attributes: &Attributes) -> Result<Option<String>, Corrupt> {
    if attributes.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(attributes).map(Some).map_err(|err| Corrupt(format!("attributes: {err}")))
}

pub(super) fn attributes(stored: Option<String>) -> Result<Attributes, Corrupt> {
    match stored {
        None => Ok(Attributes::new()),
        Some(json) => serde_json::from_str(&json).map_err(|err| Corrupt(format!("attributes: {err}"))),
    }
}

/// A failure count's row (`count`, `since`).
pub(super) fn failure_count((count, since): (i64, i64)) -> Result<FailureCount, Corrupt> {
    let count = u32::try_from(count).map_err(|_| Corrupt(format!("failure count {count}")))?;
    Ok(FailureCount { count, since: timestamp(since)? })
}

/// A code's row as read, before its values are checked.
pub(super) struct CodeRow {
    pub(super) client_id: String,
    pub(super) family: Vec<u8>,
    pub(super) expires_at: i64,
    pub(super) redeemed: bool,
    pub(super) redirect_uri: Option<String>,
    pub(super) redirect_uri_given: Option<bool>,
    pub(super) subject: Option<String>,
    pub(super) scope: Option<String>,
    pub(super) requested_scope: Option<String>,
    pub(super) attributes: Option<String>,
}

impl CodeRow {
    pub(super) fn into_stored(self) -> Result<StoredCode, Corrupt> {
        let client_id = Arc::from(self.client_id);
        let family = family_id(self.family)?;
        if self.redeemed {
            return Ok(StoredCode::Redeemed { client_id, family });
        }
        let missing = |column: &str| Corrupt(format!("a live code without {column}"));
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

/// A token's row as read (kind, client_id, subject, scope, grant_type, issued_at, expires_at,
/// family, attributes), before its values are checked.
pub(super) struct TokenRow {
    pub(super) kind: String,
    pub(super) client_id: String,
    pub(super) subject: Option<String>,
    pub(super) scope: String,
    pub(super) grant_type: String,
    pub(super) issued_at: i64,
    pub(super) expires_at: Option<i64>,
    pub(super) family: Option<Vec<u8>>,
    pub(super) attributes: Option<String>,
}

impl TokenRow {
    pub(super) fn into_record(self) -> Result<TokenRecord, Corrupt> {
        let kind = match self.kind.as_str() {
            "access" => TokenKind::Access,
            "refresh" => TokenKind::Refresh,
            other => return Err(Corrupt(format!("token kind {other:?}"))),
        };
        Ok(TokenRecord {
            kind,
            client_id: Arc::from(self.client_id),
            subject: self.subject.map(Arc::from),
            scope: scope(&self.scope)?,
            grant_type: grant_type(&self.grant_type)?,
            issued_at: timestamp(self.issued_at)?,
            expires_at: self.expires_at.map(timestamp).transpose()?,
            family: self.family.map(family_id).transpose()?,
            attributes: attributes(self.attributes)?,
        })
    }
}

/// The columns of a pending authorization [`PendingRow`] holds, in its order.
pub(super) const PENDING_COLUMNS: &str =
    "client_id, grant_type, scope, requested_scope, expires_at, poll_interval, next_poll_at, state, subject";

/// A pending authorization's state as stored: the `state` column and the `subject` column (the
/// approver's, and only while approved).
pub(super) fn pending_state(state: &PendingState) -> (&'static str, Option<&str>) {
    match state {
        PendingState::Pending => ("pending", None),
        PendingState::Approved { subject } => ("approved", Some(subject)),
        PendingState::Denied => ("denied", None),
        PendingState::Used => ("used", None),
    }
}

/// The state a user's decision puts a pending authorization in.
pub(super) fn decided(decision: PendingDecision) -> PendingState {
    match decision {
        PendingDecision::Approve(subject) => PendingState::Approved { subject },
        PendingDecision::Deny => PendingState::Denied,
    }
}

/// A pending authorization's row as read ([`PENDING_COLUMNS`]), before its values are checked.
pub(super) struct PendingRow {
    pub(super) client_id: String,
    pub(super) grant_type: String,
    pub(super) scope: String,
    pub(super) requested_scope: Option<String>,
    pub(super) expires_at: i64,
    pub(super) interval: i64,
    pub(super) next_poll_at: i64,
    pub(super) state: String,
    pub(super) subject: Option<String>,
}

impl PendingRow {
    pub(super) fn into_record(self) -> Result<PendingRecord, Corrupt> {
        let state = match (self.state.as_str(), self.subject) {
            ("pending", None) => PendingState::Pending,
            ("approved", Some(subject)) => PendingState::Approved { subject: Arc::from(subject) },
            ("denied", None) => PendingState::Denied,
            ("used", None) => PendingState::Used,
            (state, subject) => {
                return Err(Corrupt(format!("pending state {state:?} with a subject: {}", subject.is_some())));
            }
        };
        Ok(PendingRecord {
            client_id: Arc::from(self.client_id),
            grant_type: grant_type(&self.grant_type)?,
            scope: scope(&self.scope)?,
            requested_scope: self.requested_scope.as_deref().map(scope).transpose()?,
            expires_at: timestamp(self.expires_at)?,
            interval: u64::try_from(self.interval).map_err(|_| Corrupt(format!("poll interval {}", self.interval)))?,
            next_poll_at: timestamp(self.next_poll_at)?,
            state,
        })
    }
}
