//! The implicit grant (RFC 6749 §4.2).

use grantry_core::storage::Attributes;
use grantry_core::{
    Approval, AuthorizationDecision, AuthorizationGrant, AuthorizationRequest, Grant, GrantType, OAuthError,
    ResponseType, Serves,
};

/// The implicit grant: `response_type=token`, the access token in the redirect fragment.
///
/// Only public clients that list `implicit` in their grant types may use it, and it never
/// issues a refresh token (RFC 6749 §4.2.2). RFC 9700 §2.1.2 advises against the implicit
/// flow; register it only for clients that cannot do better.
#[derive(Debug, Default, Clone)]
pub struct ImplicitGrant {
    _private: (),
}

impl ImplicitGrant {
    /// The grant.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Grant for ImplicitGrant {
    fn serves(&self) -> Serves<Self> {
        Serves::authorization_endpoint([ResponseType::TOKEN])
    }
}

impl AuthorizationGrant for ImplicitGrant {
    async fn validate(&self, request: &AuthorizationRequest, _attach: &mut Attributes) -> Result<(), OAuthError> {
        if !request.client().is_public() {
            return Err(OAuthError::unauthorized_client("the implicit grant is for public clients only"));
        }
        if !request.client().allows_grant_type(&GrantType::IMPLICIT) {
            return Err(OAuthError::unauthorized_client("the client is not allowed the implicit grant"));
        }
        Ok(())
    }

    async fn respond(&self, _: &AuthorizationRequest, _: &Approval) -> Result<AuthorizationDecision, OAuthError> {
        Ok(AuthorizationDecision::access_token())
    }
}

grantry_core::inventory::submit! {
    grantry_core::plugin::Plugin::grant("implicit", "The implicit grant, response_type=token (RFC 6749 section 4.2).", |config| {
        grantry_core::plugin::parse_config::<crate::NoConfig>("implicit", config)?;
        Ok(grantry_core::BoxedGrant::new(ImplicitGrant::new()))
    })
}
