//! The authorization code grant (RFC 6749 §4.1).

use grantry_core::{
    Approval, AuthorizationDecision, AuthorizationGrant, AuthorizationRequest, ClientAuthMethods, Grant, GrantType,
    OAuthError, ResponseType, Serves, TokenDecision, TokenGrant, TokenRequest,
};

/// The authorization code grant: `response_type=code` at the authorization endpoint,
/// `grant_type=authorization_code` at the token endpoint.
///
/// Codes are single-use and live for the server's code lifetime (10 minutes by default). They
/// are bound to the client, the redirect URI and the resource owner. A code presented a second
/// time is `invalid_grant`, and every token issued from it is revoked (RFC 6749 §4.1.2).
///
/// Allowed client authentication methods: every method on the server, `none` (public clients)
/// included; the engine requires the one each client registered.
#[derive(Debug, Default, Clone)]
pub struct AuthorizationCodeGrant {
    _private: (),
}

impl AuthorizationCodeGrant {
    /// The grant.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Grant for AuthorizationCodeGrant {
    fn serves(&self) -> Serves<Self> {
        Serves::token_endpoint(GrantType::AUTHORIZATION_CODE)
            .and_authorization_endpoint([ResponseType::CODE])
            .with_auth_methods(ClientAuthMethods::any())
    }
}

impl AuthorizationGrant for AuthorizationCodeGrant {
    /// RFC 6749 §4.1.2: answer with a code, which the engine mints bound to the request.
    async fn respond(&self, _: &AuthorizationRequest, _: &Approval) -> Result<AuthorizationDecision, OAuthError> {
        Ok(AuthorizationDecision::code())
    }
}

impl TokenGrant for AuthorizationCodeGrant {
    /// RFC 6749 §4.1.3: the engine redeems the code (once, for its client, before it expires,
    /// with the authorization request's `redirect_uri`); the tokens carry what it approved.
    async fn exchange(&self, request: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        let code = request.redeem_code(request.params().require("code")?).await?;
        Ok(TokenDecision::from_code(code))
    }
}

grantry_core::inventory::submit! {
    grantry_core::plugin::Plugin::grant("authorization_code", "The authorization code grant (RFC 6749 section 4.1).", |config| {
        grantry_core::plugin::parse_config::<crate::NoConfig>("authorization_code", config)?;
        Ok(grantry_core::BoxedGrant::new(AuthorizationCodeGrant::new()))
    })
}
