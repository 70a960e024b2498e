//! The refresh token grant (RFC 6749 §6), with rotation and replay detection (RFC 9700 §4.14).

use grantry_core::{ClientAuthMethods, Grant, GrantType, OAuthError, Serves, TokenDecision, TokenGrant, TokenRequest};

/// The refresh token grant.
///
/// The requested scope may narrow the original grant, never widen it (`invalid_scope`); the
/// token is bound to its client. With rotation (the default) each use retires the refresh token
/// and issues a new one, and presenting a retired one revokes the whole token family, since
/// either the client or an attacker holds a stolen copy. Allowed client authentication: every
/// method on the server, `none` included (RFC 6749 §6 requires authentication of clients that
/// have credentials, and the engine requires the method each client registered).
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
    fn serves(&self) -> Serves<Self> {
        Serves::token_endpoint(GrantType::REFRESH_TOKEN).with_auth_methods(ClientAuthMethods::any())
    }
}

impl TokenGrant for RefreshTokenGrant {
    /// RFC 6749 §6: the engine redeems the refresh token (for its client, live, with the
    /// requested scope within the original grant's), rotating it if this grant rotates.
    async fn exchange(&self, request: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        let token = request.redeem_refresh_token(request.params().require("refresh_token")?, self.rotate).await?;
        Ok(TokenDecision::from_refresh_token(token))
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
        Ok(grantry_core::BoxedGrant::new(RefreshTokenGrant::new().rotate(config.rotate)))
    })
}
