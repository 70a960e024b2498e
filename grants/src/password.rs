//! The resource owner password credentials grant (RFC 6749 §4.3).

use crate::storage_failure;
use grantry_core::{AccessGrant, Grant, GrantMetadata, GrantType, MaybeReady, OAuthError, Scope, TokenRequest};

/// The password grant: the client sends the resource owner's username and password, checked
/// through the [`UserStore`](grantry_core::storage::UserStore). Wrong credentials are
/// `invalid_grant`. Allowed client authentication: `client_secret_basic`.
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
    fn metadata(&self) -> GrantMetadata {
        GrantMetadata::token_endpoint(GrantType::PASSWORD)
    }

    fn validate_token_request<'a>(
        &'a self,
        req: &'a TokenRequest<'a>,
    ) -> MaybeReady<'a, Result<AccessGrant, OAuthError>> {
        MaybeReady::boxed(async move {
            let client = req.client()?;
            let username = req.params.require("username")?;
            let password = req.params.require("password")?;
            let (scope, requested) = Scope::resolve(req.params.get("scope"), client.allowed_scope())?;
            let subject = req
                .ctx
                .storage()
                .users
                .authenticate(username, password)
                .await
                .map_err(storage_failure)?
                .ok_or_else(|| OAuthError::invalid_grant("invalid resource owner credentials"))?;
            Ok(AccessGrant::new(client.clone(), GrantType::PASSWORD, scope, requested)
                .for_subject(subject)
                .with_refresh_token())
        })
    }
}

grantry_core::inventory::submit! {
    grantry_core::plugin::Plugin::grant("password", "The resource owner password credentials grant (RFC 6749 section 4.3).", |config| {
        grantry_core::plugin::parse_config::<crate::NoConfig>("password", config)?;
        Ok(Box::new(PasswordGrant::new()))
    })
}
