//! The implicit grant (RFC 6749 §4.2).

use grantry_core::{
    AccessGrant, Approval, AuthorizationRequest, Grant, GrantContext, GrantMetadata, GrantType, MaybeReady, OAuthError,
    RedirectParams, ResponseType,
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
    fn metadata(&self) -> GrantMetadata {
        GrantMetadata::authorization_endpoint([ResponseType::TOKEN])
    }

    fn validate_authorization_request<'a>(
        &'a self,
        request: &'a mut AuthorizationRequest,
        _ctx: &'a GrantContext<'a>,
    ) -> MaybeReady<'a, Result<(), OAuthError>> {
        let outcome = if !request.client.is_public() {
            Err(OAuthError::unauthorized_client("the implicit grant is for public clients only"))
        } else if !request.client.allows_grant_type(&GrantType::IMPLICIT) {
            Err(OAuthError::unauthorized_client("the client is not allowed the implicit grant"))
        } else {
            Ok(())
        };
        MaybeReady::ready(outcome)
    }

    fn create_authorization_response<'a>(
        &'a self,
        request: &'a AuthorizationRequest,
        approval: &'a Approval,
        ctx: &'a GrantContext<'a>,
    ) -> MaybeReady<'a, Result<RedirectParams, OAuthError>> {
        MaybeReady::boxed(async move {
            let grant = AccessGrant::new(
                request.client.clone(),
                GrantType::IMPLICIT,
                approval.granted_scope(request),
                request.requested_scope.clone(),
            )
            .for_subject(approval.subject.clone());
            let token = ctx.issue(grant, &request.params).await?;
            Ok(token.to_pairs())
        })
    }
}

grantry_core::inventory::submit! {
    grantry_core::plugin::Plugin::grant("implicit", "The implicit grant, response_type=token (RFC 6749 section 4.2).", |config| {
        grantry_core::plugin::parse_config::<crate::NoConfig>("implicit", config)?;
        Ok(Box::new(ImplicitGrant::new()))
    })
}
