//! The refresh token grant (RFC 6749 §6), with rotation and replay detection (RFC 9700 §4.14).

use crate::storage_failure;
use grantry_core::storage::{FamilyId, RefreshRotation, TokenKind};
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

    fn validate_token_request<'a>(
        &'a self,
        req: &'a TokenRequest<'a>,
    ) -> MaybeReady<'a, Result<AccessGrant, OAuthError>> {
        MaybeReady::boxed(async move {
            let client = req.client()?;
            let digest = TokenDigest::of(req.params.require("refresh_token")?);
            let tokens = &req.ctx.storage().tokens;
            let found = tokens.find_token(digest).await.map_err(storage_failure)?;
            let record = match found {
                Some(record) if record.kind == TokenKind::Refresh => record,
                _ if self.rotate => {
                    // Not live: a retired token means a replay, which revokes the family.
                    if let RefreshRotation::AlreadyRotated { family } =
                        tokens.rotate_refresh_token(digest).await.map_err(storage_failure)?
                    {
                        return Err(replayed(req, family).await);
                    }
                    return Err(OAuthError::invalid_grant("unknown refresh token"));
                }
                _ => return Err(OAuthError::invalid_grant("unknown refresh token")),
            };
            // Every check comes before rotation, so a rejected request changes nothing.
            if *record.client_id != *client.client_id() {
                return Err(OAuthError::invalid_grant("refresh token was issued to another client"));
            }
            if record.is_expired(req.ctx.now()) {
                return Err(OAuthError::invalid_grant("refresh token has expired"));
            }
            let (scope, requested) = Scope::resolve(req.params.get("scope"), &record.scope)?;

            if self.rotate {
                match tokens.rotate_refresh_token(digest).await.map_err(storage_failure)? {
                    RefreshRotation::Rotated => {}
                    // A concurrent request used it first.
                    RefreshRotation::AlreadyRotated { family } => return Err(replayed(req, family).await),
                    RefreshRotation::NotFound => {
                        return Err(OAuthError::invalid_grant("refresh token was revoked"));
                    }
                }
            }
            let mut grant = AccessGrant::new(client.clone(), GrantType::REFRESH_TOKEN, scope, requested);
            grant.subject = record.subject;
            grant.family = record.family;
            grant.offers_refresh_token = self.rotate;
            grant.refresh_scope = Some(record.scope);
            grant.attributes = record.attributes;
            Ok(grant)
        })
    }
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
