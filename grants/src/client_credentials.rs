//! The client credentials grant (RFC 6749 §4.4).

use grantry_core::{AccessGrant, Grant, GrantMetadata, GrantType, MaybeReady, OAuthError, Scope, TokenRequest};

/// The client credentials grant: a confidential client gets a token for itself. No refresh
/// token is issued (RFC 6749 §4.4.3). Allowed client authentication: `client_secret_basic`.
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
    fn metadata(&self) -> GrantMetadata {
        GrantMetadata::token_endpoint(GrantType::CLIENT_CREDENTIALS)
    }

    fn validate_token_request<'a>(
        &'a self,
        req: &'a TokenRequest<'a>,
    ) -> MaybeReady<'a, Result<AccessGrant, OAuthError>> {
        let outcome = (|| {
            let client = req.client()?;
            if client.is_public() {
                return Err(OAuthError::unauthorized_client(
                    "the client credentials grant is for confidential clients only",
                ));
            }
            let (scope, requested) = Scope::resolve(req.params.get("scope"), client.allowed_scope())?;
            Ok(AccessGrant::new(client.clone(), GrantType::CLIENT_CREDENTIALS, scope, requested))
        })();
        MaybeReady::ready(outcome)
    }
}

grantry_core::inventory::submit! {
    grantry_core::plugin::Plugin::grant("client_credentials", "The client credentials grant (RFC 6749 section 4.4).", |config| {
        grantry_core::plugin::parse_config::<crate::NoConfig>("client_credentials", config)?;
        Ok(Box::new(ClientCredentialsGrant::new()))
    })
}
