//! The codes, tokens and pending authorizations the checks save: every field set, so a store
//! that drops or mangles one is caught when the record comes back.

use super::{SPA, WEB};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::grant_type::GrantType;
use crate::scope::Scope;
use crate::secret::TokenDigest;
use crate::storage::{
    Attributes, AuthorizationCodeRecord, FamilyId, IssuedTokens, PendingRecord, PendingState, ReplayKey, TokenKind,
    TokenRecord,
};
use std::borrow::Cow;
use std::sync::Arc;

/// The time the checks count from: now, so a store that hides expired rows by its own clock
/// still shows the live ones.
pub(super) fn now() -> Timestamp {
    SystemClock.now()
}

/// A fresh random digest, as of a code or token never seen.
pub(super) fn digest() -> TokenDigest {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    TokenDigest::from_bytes(bytes)
}

fn scope(value: &str) -> Scope {
    match Scope::parse(value) {
        Ok(scope) => scope,
        Err(err) => panic!("fixture scope {value:?}: {err:?}"),
    }
}

fn attributes() -> Attributes {
    let mut attributes = Attributes::new();
    attributes
        .insert(Cow::Borrowed("code_challenge"), Cow::Owned("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()));
    attributes.insert(Cow::Borrowed("code_challenge_method"), Cow::Borrowed("S256"));
    attributes.insert(Cow::Owned("nonce with spaces and \"quotes\"".into()), Cow::Borrowed("é ✓"));
    attributes
}

/// A code issued to [`WEB`] for `family`, expiring at `expires_at`.
pub(super) fn code(family: FamilyId, expires_at: Timestamp) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        client_id: Arc::from(WEB),
        redirect_uri: "https://web.example/callback?x=1".to_owned(),
        redirect_uri_given: true,
        subject: Arc::from("alice"),
        scope: scope("read write"),
        requested_scope: Some(scope("read write")),
        expires_at,
        family,
        attributes: attributes(),
    }
}

/// A code issued to [`SPA`], with the optional fields left out.
pub(super) fn plain_code(family: FamilyId, expires_at: Timestamp) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        client_id: Arc::from(SPA),
        redirect_uri: "https://spa.example/callback".to_owned(),
        redirect_uri_given: false,
        subject: Arc::from("bob"),
        scope: Scope::empty(),
        requested_scope: None,
        expires_at,
        family,
        attributes: Attributes::new(),
    }
}

/// A token record of `kind` issued to `client_id` in `family`.
pub(super) fn token(
    kind: TokenKind,
    client_id: &str,
    family: Option<FamilyId>,
    expires_at: Option<Timestamp>,
) -> TokenRecord {
    let issued_at = now();
    TokenRecord {
        kind,
        client_id: Arc::from(client_id),
        subject: Some(Arc::from("alice")),
        scope: scope("read write"),
        grant_type: GrantType::AUTHORIZATION_CODE,
        issued_at,
        expires_at,
        family,
        attributes: attributes(),
    }
}

/// One issuance to [`WEB`] in `family`: an access token expiring at `expires_at` and a refresh
/// token expiring at `refresh_expires_at` (`None`: never). Returns the tokens and their
/// digests (access, refresh).
pub(super) fn issuance(
    family: FamilyId,
    expires_at: Timestamp,
    refresh_expires_at: Option<Timestamp>,
) -> (IssuedTokens, TokenDigest, TokenDigest) {
    let (access, refresh) = (digest(), digest());
    let tokens = IssuedTokens {
        access: (access, token(TokenKind::Access, WEB, Some(family), Some(expires_at))),
        refresh: Some((refresh, token(TokenKind::Refresh, WEB, Some(family), refresh_expires_at))),
    };
    (tokens, access, refresh)
}

/// A lone access token (client credentials: no family, no subject, no refresh token).
pub(super) fn lone_access(expires_at: Timestamp) -> (IssuedTokens, TokenDigest) {
    let access = digest();
    let mut record = token(TokenKind::Access, WEB, None, Some(expires_at));
    record.subject = None;
    record.grant_type = GrantType::CLIENT_CREDENTIALS;
    record.scope = Scope::empty();
    record.attributes = Attributes::new();
    (IssuedTokens { access: (access, record), refresh: None }, access)
}

/// The grant type of the pending authorizations the checks save (RFC 8628's).
const DEVICE_CODE: GrantType = GrantType::from_static("urn:ietf:params:oauth:grant-type:device_code");

/// A pending authorization issued to [`WEB`] at `now`, polled every 5 seconds, expiring at
/// `expires_at`.
pub(super) fn pending(now: Timestamp, expires_at: Timestamp) -> PendingRecord {
    PendingRecord {
        client_id: Arc::from(WEB),
        grant_type: DEVICE_CODE,
        scope: scope("read write"),
        requested_scope: Some(scope("write read")),
        expires_at,
        interval: 5,
        next_poll_at: now + 5,
        state: PendingState::Pending,
    }
}

/// A pending authorization issued to [`SPA`], with the optional fields left out.
pub(super) fn plain_pending(now: Timestamp, expires_at: Timestamp) -> PendingRecord {
    PendingRecord {
        client_id: Arc::from(SPA),
        scope: Scope::empty(),
        requested_scope: None,
        interval: 0,
        next_poll_at: now,
        ..pending(now, expires_at)
    }
}

/// A fresh user code's key, as of one never seen.
pub(super) fn user_code() -> ReplayKey {
    ReplayKey::new("conformance-user-code", &[&rand::random::<u64>().to_string()])
}
