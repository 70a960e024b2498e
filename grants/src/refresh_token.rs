//! The refresh token grant (RFC 6749 §6), with rotation and replay detection (RFC 9700 §4.14).

use crate::storage_failure;
use grantry_core::storage::{FamilyId, RefreshRotation, StorageError, TokenKind, TokenRecord};
use grantry_core::{
    AccessGrant, Grant, GrantMetadata, GrantType, MaybeReady, OAuthError, Scope, TokenDigest, TokenRequest,
};

/// The refresh token grant.
///
/// The requested scope may narrow the original grant, never widen it (`invalid_scope`); the
/// token is bound to its client. With rotation (the default) each use retires the refresh token
/// and issues a new one, and presenting a retired one revokes the whole token family, since
/// either the client or an attacker holds a stolen copy. Allowed client authentication:
/// `client_secret_basic`.
#[derive(Debug, Clone)]
pub struct RefreshTokenGrant {
    rotate: bool,
}

impl Default for RefreshTokenGrant {
    fn default() -> Self {
        RefreshTokenGrant { rotate: true }
    }
}

impl RefreshTokenGrant {
    /// The grant, rotating refresh tokens.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to rotate refresh tokens on use.
    pub fn rotate(mut self, rotate: bool) -> Self {
        self.rotate = rotate;
        self
    }
}

impl Grant for RefreshTokenGrant {
    fn metadata(&self) -> GrantMetadata {
        GrantMetadata::token_endpoint(GrantType::REFRESH_TOKEN)
    }

    /// Runs as a chain of steps, each answering at once when the store did: only a store that
    /// answers late, or a replay (which revokes the family), costs a boxed future.
    fn validate_token_request<'a>(
        &'a self,
        req: &'a TokenRequest<'a>,
    ) -> MaybeReady<'a, Result<AccessGrant, OAuthError>> {
        let digest = match req.client().and_then(|_| req.params.require("refresh_token")) {
            Ok(token) => TokenDigest::of(token),
            Err(err) => return MaybeReady::ready(Err(err)),
        };
        req.ctx.storage().tokens.find_token(digest).then(move |found| self.after_lookup(req, digest, found))
    }
}

/// A live refresh token that passed every check, waiting for its rotation.
struct Checked {
    record: TokenRecord,
    scope: Scope,
    requested: Option<Scope>,
}

impl RefreshTokenGrant {
    /// Checks the token found (every check comes before rotation, so a rejected request changes
    /// nothing), then rotates it.
    fn after_lookup<'a>(
        &'a self,
        req: &'a TokenRequest<'a>,
        digest: TokenDigest,
        found: Result<Option<TokenRecord>, StorageError>,
    ) -> MaybeReady<'a, Result<AccessGrant, OAuthError>> {
        let checked = match found.map_err(storage_failure).and_then(|found| check(req, found)) {
            Ok(Some(checked)) => checked,
            // Not live: with rotation, a retired token means a replay, which revokes the family.
            Ok(None) if self.rotate => return MaybeReady::boxed(not_live(req, digest)),
            Ok(None) => return MaybeReady::ready(Err(unknown())),
            Err(err) => return MaybeReady::ready(Err(err)),
        };
        if !self.rotate {
            return MaybeReady::ready(self.grant(req, checked));
        }
        let rotation = req.ctx.storage().tokens.rotate_refresh_token(digest);
        rotation.then(move |rotation| self.after_rotation(req, checked, rotation))
    }

    fn after_rotation<'a>(
        &'a self,
        req: &'a TokenRequest<'a>,
        checked: Checked,
        rotation: Result<RefreshRotation, StorageError>,
    ) -> MaybeReady<'a, Result<AccessGrant, OAuthError>> {
        match rotation.map_err(storage_failure) {
            Ok(RefreshRotation::Rotated) => MaybeReady::ready(self.grant(req, checked)),
            // A concurrent request used it first.
            Ok(RefreshRotation::AlreadyRotated { family }) => {
                MaybeReady::boxed(async move { Err(replayed(req, family).await) })
            }
            Ok(RefreshRotation::NotFound) => {
                MaybeReady::ready(Err(OAuthError::invalid_grant("refresh token was revoked")))
            }
            Err(err) => MaybeReady::ready(Err(err)),
        }
    }

    fn grant(&self, req: &TokenRequest<'_>, checked: Checked) -> Result<AccessGrant, OAuthError> {
        let Checked { record, scope, requested } = checked;
        let mut grant = AccessGrant::new(req.client()?.clone(), GrantType::REFRESH_TOKEN, scope, requested);
        grant.subject = record.subject;
        grant.family = record.family;
        grant.offers_refresh_token = self.rotate;
        grant.refresh_scope = Some(record.scope);
        grant.attributes = record.attributes;
        Ok(grant)
    }
}

/// The live refresh token's checks: its client, its expiry, the scope asked for. `None` when
/// no live refresh token has this digest.
fn check(req: &TokenRequest<'_>, found: Option<TokenRecord>) -> Result<Option<Checked>, OAuthError> {
    let client = req.client()?;
    let Some(record) = found.filter(|record| record.kind == TokenKind::Refresh) else {
        return Ok(None);
    };
    if *record.client_id != *client.client_id() {
        return Err(OAuthError::invalid_grant("refresh token was issued to another client"));
    }
    if record.is_expired(req.ctx.now()) {
        return Err(OAuthError::invalid_grant("refresh token has expired"));
    }
    let (scope, requested) = Scope::resolve(req.params.get("scope"), &record.scope)?;
    Ok(Some(Checked { record, scope, requested }))
}

/// No live refresh token has this digest: a retired one is a replay, which revokes its family.
async fn not_live(req: &TokenRequest<'_>, digest: TokenDigest) -> Result<AccessGrant, OAuthError> {
    let rotation = req.ctx.storage().tokens.rotate_refresh_token(digest).await.map_err(storage_failure)?;
    match rotation {
        RefreshRotation::AlreadyRotated { family } => Err(replayed(req, family).await),
        _ => Err(unknown()),
    }
}

fn unknown() -> OAuthError {
    OAuthError::invalid_grant("unknown refresh token")
}

/// A retired refresh token came back: someone holds a copy, so the whole family is revoked
/// (RFC 9700 §4.14.2). Returns the error to answer with.
async fn replayed(req: &TokenRequest<'_>, family: Option<FamilyId>) -> OAuthError {
    let revoked = match family {
        Some(family) => req.ctx.revoke_family(family).await,
        None => Ok(()),
    };
    match revoked {
        Ok(()) => OAuthError::invalid_grant("refresh token was already used; the tokens of this grant are revoked"),
        Err(err) => err,
    }
}

/// Configuration of the `refresh_token` plugin: `{"rotate": true}` (the default).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshTokenConfig {
    #[serde(default = "rotate_by_default")]
    rotate: bool,
}

fn rotate_by_default() -> bool {
    true
}

grantry_core::inventory::submit! {
    grantry_core::plugin::Plugin::grant("refresh_token", "The refresh token grant with rotation (RFC 6749 section 6, RFC 9700 section 4.14).", |config| {
        let config: RefreshTokenConfig = grantry_core::plugin::parse_config("refresh_token", config)?;
        Ok(Box::new(RefreshTokenGrant::new().rotate(config.rotate)))
    })
}
