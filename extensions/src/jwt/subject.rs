//! Whom a bearer assertion's `sub` names: the [`SubjectResolver`] trait and [`ClientOrUser`].

use super::claims::AssertionClaims;
use grantry_core::{Client, OAuthError, TokenRequest};
use std::sync::Arc;

/// Decides whom the tokens of a verified bearer assertion are for, from its `sub`
/// (RFC 7523 §3, item 2).
#[grantry_core::async_trait]
pub trait SubjectResolver: Send + Sync + 'static {
    /// `Ok(None)`: the issuing `client` itself (no resource owner); `Ok(Some(subject))`: the
    /// resource owner the tokens act for; `Err`: the assertion is refused (normally
    /// `invalid_grant`).
    async fn resolve_subject(
        &self,
        claims: &AssertionClaims,
        client: &Arc<dyn Client>,
        request: &TokenRequest<'_>,
    ) -> Result<Option<String>, OAuthError>;
}

/// The default resolver: `sub` equal to `iss` means the client itself; otherwise `sub` must be
/// a user the [`UserStore`](grantry_core::storage::UserStore) knows
/// (`invalid_grant` "assertion subject is not a known user" if not).
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientOrUser {
    _private: (),
}

impl ClientOrUser {
    /// The resolver.
    pub fn new() -> Self {
        Self::default()
    }
}

#[grantry_core::async_trait]
impl SubjectResolver for ClientOrUser {
    async fn resolve_subject(
        &self,
        claims: &AssertionClaims,
        client: &Arc<dyn Client>,
        request: &TokenRequest<'_>,
    ) -> Result<Option<String>, OAuthError> {
        let subject = claims.subject();
        if subject == client.client_id() {
            return Ok(None);
        }
        let known = request.users().user_exists(subject).await.map_err(grantry_core::client_auth::storage_failure)?;
        if known {
            Ok(Some(subject.to_owned()))
        } else {
            Err(OAuthError::invalid_grant("assertion subject is not a known user"))
        }
    }
}
