//! [`TokenRequest`]: a token request as a grant sees it, with the narrow capabilities a grant
//! may use (the clock, the configuration, the user and client stores, and the engine's
//! redemption of codes and refresh tokens). It holds no handle on the server.

use crate::client::Client;
use crate::client_auth::storage_failure;
use crate::clock::Timestamp;
use crate::config::ServerConfig;
use crate::error::OAuthError;
use crate::grant_type::GrantType;
use crate::params::Params;
use crate::scope::Scope;
use crate::secret::TokenDigest;
use crate::storage::{
    AuthorizationCodeRecord, ClientStore, CodeRedemption, FamilyId, RefreshRotation, Storage, TokenKind, TokenRecord,
    UserStore,
};
use std::sync::Arc;

/// A token request after the engine parsed it, dispatched it and authenticated the client.
pub struct TokenRequest<'a> {
    params: &'a Params,
    grant_type: &'a GrantType,
    client: Option<&'a Arc<dyn Client>>,
    storage: &'a Storage,
    config: &'a ServerConfig,
}

impl<'a> TokenRequest<'a> {
    pub(crate) fn new(
        params: &'a Params,
        grant_type: &'a GrantType,
        client: Option<&'a Arc<dyn Client>>,
        storage: &'a Storage,
        config: &'a ServerConfig,
    ) -> Self {
        TokenRequest { params, grant_type, client, storage, config }
    }

    /// The form parameters.
    pub fn params(&self) -> &'a Params {
        self.params
    }

    /// The grant type requested.
    pub fn grant_type(&self) -> &'a GrantType {
        self.grant_type
    }

    /// The authenticated client: always there for grants whose client authentication is
    /// [`Required`](crate::ClientAuthentication::Required).
    pub fn client(&self) -> Option<&'a Arc<dyn Client>> {
        self.client
    }

    /// The current time, from the server's clock.
    pub fn now(&self) -> Timestamp {
        self.config.clock().now()
    }

    /// The server's configuration.
    pub fn config(&self) -> &'a ServerConfig {
        self.config
    }

    /// The resource owners, for grants that check a user's credentials or existence.
    pub fn users(&self) -> &'a dyn UserStore {
        &*self.storage.users
    }

    /// The registered clients, for grants that identify the client themselves (read a key
    /// from its registration, say). Finding a client here authenticates nothing: the engine
    /// checks the client a decision names.
    pub fn clients(&self) -> &'a dyn ClientStore {
        &*self.storage.clients
    }

    fn authenticated(&self) -> Result<&'a Arc<dyn Client>, OAuthError> {
        self.client.ok_or_else(|| OAuthError::invalid_client("client authentication required"))
    }

    /// Redeems an authorization code for the authenticated client (RFC 6749 §4.1.3): once,
    /// whatever the concurrency; issued to this client; not expired; with the `redirect_uri`
    /// of the authorization request when it named one. A code presented again is
    /// `invalid_grant`, and every token issued from it is revoked (RFC 9700 §4.14.2).
    pub async fn redeem_code(&self, code: &str) -> Result<RedeemedCode, OAuthError> {
        let client = self.authenticated()?;
        let redemption = self.storage.codes.redeem_code(TokenDigest::of(code)).await.map_err(storage_failure)?;
        let record = match redemption {
            CodeRedemption::Redeemed(record) => record,
            CodeRedemption::AlreadyRedeemed { family } => {
                self.revoke_family(family).await?;
                return Err(OAuthError::invalid_grant(
                    "authorization code was already used; the tokens issued from it are revoked",
                ));
            }
            CodeRedemption::NotFound => return Err(OAuthError::invalid_grant("unknown authorization code")),
        };
        if *record.client_id != *client.client_id() {
            return Err(OAuthError::invalid_grant("authorization code was issued to another client"));
        }
        if self.now() >= record.expires_at {
            return Err(OAuthError::invalid_grant("authorization code has expired"));
        }
        match self.params.get("redirect_uri") {
            Some(uri) if uri == record.redirect_uri => {}
            Some(_) => return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request")),
            // RFC 6749 §4.1.3: required when the authorization request included it.
            None if record.redirect_uri_given => {
                return Err(OAuthError::invalid_request("missing parameter: redirect_uri"));
            }
            None => {}
        }
        Ok(RedeemedCode(record))
    }

    /// Redeems a refresh token for the authenticated client (RFC 6749 §6): a live refresh
    /// token issued to this client, with the requested `scope` within its original scope.
    /// Every check comes before the rotation, so a refused request changes nothing. With
    /// `rotate`, the token is retired once, whatever the concurrency, and a retired one
    /// presented again revokes its whole family (RFC 9700 §4.14.2).
    pub async fn redeem_refresh_token(&self, token: &str, rotate: bool) -> Result<RefreshedToken, OAuthError> {
        let client = self.authenticated()?;
        let digest = TokenDigest::of(token);
        let found = self.storage.tokens.find_token(digest).await.map_err(storage_failure)?;
        let Some(record) = found.filter(|record| record.kind == TokenKind::Refresh) else {
            // Not live: with rotation, a retired token means a replay, which revokes the family.
            if rotate {
                if let RefreshRotation::AlreadyRotated { family } =
                    self.storage.tokens.rotate_refresh_token(digest).await.map_err(storage_failure)?
                {
                    return Err(self.replayed(family).await);
                }
            }
            return Err(OAuthError::invalid_grant("unknown refresh token"));
        };
        if *record.client_id != *client.client_id() {
            return Err(OAuthError::invalid_grant("refresh token was issued to another client"));
        }
        if record.is_expired(self.now()) {
            return Err(OAuthError::invalid_grant("refresh token has expired"));
        }
        Scope::resolve(self.params.get("scope"), &record.scope)?;
        if rotate {
            match self.storage.tokens.rotate_refresh_token(digest).await.map_err(storage_failure)? {
                RefreshRotation::Rotated => {}
                // A concurrent request used it first.
                RefreshRotation::AlreadyRotated { family } => return Err(self.replayed(family).await),
                _ => return Err(OAuthError::invalid_grant("refresh token was revoked")),
            }
        }
        Ok(RefreshedToken { record, rotated: rotate })
    }

    /// A retired refresh token came back: someone holds a copy, so the whole family is revoked.
    async fn replayed(&self, family: Option<FamilyId>) -> OAuthError {
        let revoked = match family {
            Some(family) => self.revoke_family(family).await,
            None => Ok(()),
        };
        match revoked {
            Ok(()) => OAuthError::invalid_grant("refresh token was already used; the tokens of this grant are revoked"),
            Err(err) => err,
        }
    }

    async fn revoke_family(&self, family: FamilyId) -> Result<(), OAuthError> {
        self.storage.tokens.revoke_family(family).await.map_err(storage_failure)
    }
}

/// An authorization code the engine redeemed for the authenticated client: the only way to a
/// [`TokenDecision::from_code`](crate::TokenDecision::from_code).
#[derive(Debug)]
pub struct RedeemedCode(pub(crate) AuthorizationCodeRecord);

impl RedeemedCode {
    /// The resource owner who approved.
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The approved scope.
    pub fn scope(&self) -> &Scope {
        &self.0.scope
    }
}

/// A refresh token the engine redeemed for the authenticated client: the only way to a
/// [`TokenDecision::from_refresh_token`](crate::TokenDecision::from_refresh_token).
#[derive(Debug)]
pub struct RefreshedToken {
    pub(crate) record: TokenRecord,
    pub(crate) rotated: bool,
}

impl RefreshedToken {
    /// The resource owner, if the token acts for one.
    pub fn subject(&self) -> Option<&str> {
        self.record.subject.as_deref()
    }

    /// The scope of the original grant.
    pub fn scope(&self) -> &Scope {
        &self.record.scope
    }
}
