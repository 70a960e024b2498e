//! The client credentials grant (RFC 6749 §4.4).

use grantry_core::{ClientAuthMethods, Grant, GrantType, OAuthError, Serves, TokenDecision, TokenGrant, TokenRequest};

/// The client credentials grant: a confidential client gets a token for itself. No refresh
/// token is issued (RFC 6749 §4.4.3). Allowed client authentication: every method that proves
/// the client (not `none`).
#[derive(Debug, Default, Clone)]
pub struct ClientCredentialsGrant {
    _private: (),
}

impl ClientCredentialsGrant {
    /// The grant.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Grant for ClientCredentialsGrant {
    fn serves(&self) -> Serves<Self> {
        Serves::token_endpoint(GrantType::CLIENT_CREDENTIALS).with_auth_methods(ClientAuthMethods::with_credentials())
    }
}

impl TokenGrant for ClientCredentialsGrant {
    /// RFC 6749 §4.4.2: "The client credentials grant type MUST only be used by confidential
    /// clients." The engine authenticated the client with a method that proves it; the scope
    /// is the engine's to resolve.
    async fn exchange(&self, request: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        if request.client().is_some_and(|client| client.is_public()) {
            return Err(OAuthError::unauthorized_client(
                "the client credentials grant is for confidential clients only",
            ));
        }
        Ok(TokenDecision::for_client())
    }
}

grantry_core::inventory::submit! {
    grantry_core::plugin::Plugin::grant("client_credentials", "The client credentials grant (RFC 6749 section 4.4).", |config| {
        grantry_core::plugin::parse_config::<crate::NoConfig>("client_credentials", config)?;
        Ok(grantry_core::BoxedGrant::new(ClientCredentialsGrant::new()))
    })
}
