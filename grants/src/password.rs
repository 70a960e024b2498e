//! The resource owner password credentials grant (RFC 6749 §4.3).

use grantry_core::{ClientAuthMethods, Grant, GrantType, OAuthError, Serves, TokenDecision, TokenGrant, TokenRequest};

/// The password grant: the client sends the resource owner's username and password, checked
/// through the [`UserStore`](grantry_core::storage::UserStore). Wrong credentials are
/// `invalid_grant`. Allowed client authentication: every method that proves the client (not
/// `none`).
///
/// RFC 9700 §2.4 says this grant must not be used; it exists for migrating legacy clients.
#[derive(Debug, Default, Clone)]
pub struct PasswordGrant {
    _private: (),
}

impl PasswordGrant {
    /// The grant.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Grant for PasswordGrant {
    fn serves(&self) -> Serves<Self> {
        Serves::token_endpoint(GrantType::PASSWORD).with_auth_methods(ClientAuthMethods::with_credentials())
    }
}

impl TokenGrant for PasswordGrant {
    /// RFC 6749 §4.3.2: checks the resource owner's credentials; the engine resolves the scope
    /// and issues the tokens.
    async fn exchange(&self, request: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        let username = request.params().require("username")?;
        let password = request.params().require("password")?;
        // Throttled by the engine: RFC 6749 §4.3.2's protection against brute force.
        let subject = request.authenticate_user(username, password).await?;
        Ok(TokenDecision::for_user(subject).with_refresh_token())
    }
}

grantry_core::inventory::submit! {
    grantry_core::plugin::Plugin::grant("password", "The resource owner password credentials grant (RFC 6749 section 4.3).", |config| {
        grantry_core::plugin::parse_config::<crate::NoConfig>("password", config)?;
        Ok(grantry_core::BoxedGrant::new(PasswordGrant::new()))
    })
}
