//! Turning a grant's decision into tokens: the engine's checks of the decision (client, scope
//! limits), the extensions' hooks, the re-check after them, and the tokens made and stored.
//! What is sent is built from what is stored, after both are decided.

use crate::client::Client;
use crate::client_auth::storage_failure;
use crate::context::{code_replayed, other_client, replayed, revoke_family};
use crate::decision::{Origin, TokenDecision};
use crate::error::OAuthError;
use crate::grant::ClientAuthentication;
use crate::grant_type::GrantType;
use crate::issuance::{Consumes, Issuance, ResponseMembers};
use crate::params::Params;
use crate::registry::Registration;
use crate::scope::Scope;
use crate::secret::{Secret, TokenDigest};
use crate::server::AuthorizationServer;
use crate::storage::{
    CodeRedemption, FamilyId, IssuedTokens, PendingConsumption, RefreshRotation, TokenKind, TokenRecord,
};
use crate::token::{CredentialKind, TokenResponse};
use crate::token_format::AccessTokenClaims;
use std::sync::Arc;

impl AuthorizationServer {
    /// Checks a grant's decision and makes it an [`Issuance`]: the client is the authenticated
    /// one (or the one the grant identified, looked up and checked here), allowed the grant
    /// type; the scope is within the engine's limit (`invalid_scope` otherwise).
    pub(crate) async fn settle(
        &self,
        registration: &Registration,
        decision: TokenDecision,
        authenticated: Option<&Arc<dyn Client>>,
        grant_type: &GrantType,
        params: &Params<'_>,
    ) -> Result<Issuance, OAuthError> {
        let client = self.decided_client(registration, &decision, authenticated).await?;
        if !client.allows_grant_type(grant_type) {
            return Err(unauthorized(grant_type));
        }
        let TokenDecision { origin, within, offers_refresh_token, attributes, audience, .. } = decision;
        let bound_to_client = |client_id: &str| {
            if client_id == client.client_id() {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant("the grant was issued to another client"))
            }
        };
        let requested = params.get("scope");
        // The widest scope the engine allows, and whether the client's `scope` parameter
        // chooses within it (a code's scope was chosen at the authorization request).
        let mut consumes = Consumes::Nothing;
        let mut actor = None;
        let mut exchanged = false;
        let (limit, subject, family, refresh_scope, requested_code_scope) = match origin {
            Origin::Client => (client.allowed_scope().clone(), None, None, None, None),
            Origin::User(subject) => (client.allowed_scope().clone(), Some(subject), None, None, None),
            Origin::Code(digest, record) => {
                bound_to_client(&record.client_id)?;
                consumes = Consumes::Code(digest);
                let requested = Some(record.requested_scope);
                (record.scope, Some(record.subject), Some(record.family), None, requested)
            }
            Origin::Refresh { digest, record, rotate } => {
                bound_to_client(&record.client_id)?;
                if rotate {
                    consumes = Consumes::RefreshToken(digest);
                }
                let original = record.scope.clone();
                (record.scope, record.subject, record.family, Some(original), None)
            }
            Origin::Pending { digest, subject, record } => {
                bound_to_client(&record.client_id)?;
                consumes = Consumes::Pending(digest);
                // The user approved this scope, within the client's when it was asked for; a
                // registration narrowed since narrows it.
                let scope = record.scope.intersection(client.allowed_scope());
                (scope, Some(subject), None, None, Some(record.requested_scope))
            }
            Origin::Exchange { subject, scope, actor: acting } => {
                actor = acting;
                exchanged = true;
                (scope.intersection(client.allowed_scope()), Some(subject), None, None, None)
            }
        };
        let from_code = matches!(consumes, Consumes::Code(_));
        let limit = match within {
            Some(narrower) if !narrower.is_subset_of(&limit) => {
                return Err(OAuthError::invalid_scope(
                    "the grant decided a scope wider than the client may be granted",
                ));
            }
            Some(narrower) => narrower,
            None => limit,
        };
        let (scope, requested_scope) = match requested_code_scope {
            Some(requested) => (limit.clone(), requested),
            None => Scope::resolve(requested, &limit)?,
        };
        Ok(Issuance {
            client,
            grant_type: grant_type.clone(),
            subject,
            limit: scope.clone(),
            scope,
            requested_scope,
            family,
            refresh_scope,
            offers_refresh_token,
            attributes,
            from_code,
            consumes,
            actor,
            audience,
            exchanged,
        })
    }

    /// The client a decision is for: the authenticated one, or, for a grant with optional
    /// client authentication, the one it identified (which must then be registered, and be the
    /// authenticated one if a client did authenticate).
    async fn decided_client(
        &self,
        registration: &Registration,
        decision: &TokenDecision,
        authenticated: Option<&Arc<dyn Client>>,
    ) -> Result<Arc<dyn Client>, OAuthError> {
        match (&decision.identified_client, authenticated) {
            (None, Some(client)) => Ok(client.clone()),
            (Some(id), Some(client)) if **id == *client.client_id() => Ok(client.clone()),
            (Some(_), Some(_)) => {
                Err(OAuthError::invalid_grant("the grant identified a client other than the authenticated one"))
            }
            (Some(id), None) if registration.metadata().client_authentication() == ClientAuthentication::Optional => {
                self.storage
                    .clients
                    .find_client(id)
                    .await
                    .map_err(storage_failure)?
                    .ok_or_else(|| OAuthError::invalid_grant("the grant identified an unknown client"))
            }
            _ => Err(OAuthError::invalid_client("client authentication required")),
        }
    }

    /// Runs the extensions on an issuance, re-checks what they may not change, then makes the
    /// tokens and stores their digests. Nothing is stored if a hook refuses; the response is
    /// built from exactly what was stored.
    pub(crate) async fn issue(
        &self,
        registration: &Registration,
        mut issuance: Issuance,
        params: &Params<'_>,
    ) -> Result<TokenResponse, OAuthError> {
        for hook in self.hooks(registration) {
            hook.after_token_request_validated(params, &mut issuance)?;
        }
        let mut members = ResponseMembers::default();
        for hook in self.hooks(registration) {
            hook.before_token_issued(&issuance, &mut members)?;
        }
        // The hooks' mutators only narrow; this holds whatever they did.
        if !issuance.scope.is_subset_of(&issuance.limit) {
            return Err(OAuthError::invalid_scope("the scope exceeds what the client may be granted"));
        }
        // Every check passed: now, and only now, the code, device code or refresh token is used
        // up: a code or device code here, a refresh token together with the save of the tokens
        // that replace it.
        let consumes = issuance.consumes;
        match consumes {
            Consumes::Code(digest) => self.redeem(digest, issuance.client.client_id()).await?,
            Consumes::Pending(digest) => self.spend_pending(digest, issuance.client.client_id()).await?,
            _ => {}
        }

        let config = &self.config;
        let now = config.clock().now();
        let expires_in = config.access_token_ttl(&issuance, params);
        let refresh = issuance.offers_refresh_token && self.client_can_refresh(&*issuance.client);
        let generator = config.token_generator();
        let expires_at = now.saturating_add(expires_in);
        let access_token = Secret::new(self.access_token(&issuance, now, expires_at)?);
        let refresh_token = refresh.then(|| Secret::new(generator.generate(CredentialKind::RefreshToken)));
        // A refresh token starts a family if the issuance continues none; a lone access token has none.
        let family = issuance.family.or_else(|| refresh.then(FamilyId::random));
        let issued_token_type = issuance.exchanged.then_some(ACCESS_TOKEN_TYPE);
        let Issuance {
            client,
            grant_type,
            subject,
            scope,
            requested_scope,
            refresh_scope,
            mut attributes,
            actor,
            audience,
            ..
        } = issuance;
        // What the engine records about delegation and audience is its own: a hook's value under
        // these names is replaced.
        attributes.remove(ACTOR_ATTRIBUTE);
        attributes.remove(AUDIENCE_ATTRIBUTE);
        if let Some(actor) = actor {
            attributes.insert(ACTOR_ATTRIBUTE.into(), actor.to_string().into());
        }
        if let Some(audience) = audience {
            attributes.insert(AUDIENCE_ATTRIBUTE.into(), audience.into());
        }
        let client_id = client.shared_client_id();
        let record = |kind, scope, expires_at| TokenRecord {
            kind,
            client_id: client_id.clone(),
            subject: subject.clone(),
            scope,
            grant_type: grant_type.clone(),
            issued_at: now,
            expires_at,
            family,
            attributes: attributes.clone(),
        };
        let access =
            (TokenDigest::of(access_token.expose()), record(TokenKind::Access, scope.clone(), Some(expires_at)));
        let refresh = refresh_token.as_ref().map(|token| {
            let expires_at = config.refresh_token_ttl().map(|ttl| now.saturating_add(ttl));
            let scope = refresh_scope.unwrap_or_else(|| scope.clone());
            (TokenDigest::of(token.expose()), record(TokenKind::Refresh, scope, expires_at))
        });
        let tokens = IssuedTokens { access, refresh };
        match consumes {
            Consumes::RefreshToken(digest) => self.rotate(digest, &client_id, tokens).await?,
            _ => self.storage.tokens.save_tokens(tokens).await.map_err(storage_failure)?,
        }
        let include_scope = requested_scope.as_ref() != Some(&scope);
        Ok(TokenResponse::bearer(access_token, expires_in, refresh_token, scope, include_scope, members)
            .with_issued_token_type(issued_token_type))
    }

    /// A new access token for `issuance`: opaque from the token generator, or in the configured
    /// [`AccessTokenFormat`](crate::AccessTokenFormat) with the issuance's claims.
    fn access_token(&self, issuance: &Issuance, now: u64, expires_at: u64) -> Result<String, OAuthError> {
        let generator = self.config.token_generator();
        let Some(format) = self.config.access_token_format() else {
            return Ok(generator.generate(CredentialKind::AccessToken));
        };
        let jwt_id = generator.generate(CredentialKind::AccessToken);
        let client_id = issuance.client.client_id();
        format.issue(&AccessTokenClaims {
            issuer: self.config.issuer(),
            subject: issuance.subject().unwrap_or(client_id),
            client_id,
            scope: &issuance.scope,
            issued_at: now,
            expires_at,
            jwt_id: &jwt_id,
            audience: issuance.audience.as_deref(),
            actor: issuance.actor(),
        })
    }

    /// Redeems a code, compare-and-consume in the store: exactly one of concurrent requests
    /// wins; a loser that is the owner meets a replay, which revokes the family
    /// (RFC 9700 §4.14.2).
    async fn redeem(&self, digest: TokenDigest, client_id: &str) -> Result<(), OAuthError> {
        match self.storage.codes.redeem_code(digest, client_id).await.map_err(storage_failure)? {
            CodeRedemption::Redeemed => Ok(()),
            CodeRedemption::AlreadyRedeemed { family } => {
                revoke_family(&self.storage, family).await?;
                Err(code_replayed())
            }
            CodeRedemption::WrongClient => Err(other_client("authorization code")),
            _ => Err(OAuthError::invalid_grant("unknown authorization code")),
        }
    }

    /// Spends an approved pending authorization (a device code), compare-and-consume in the
    /// store: exactly one of concurrent polls gets the tokens; the others, and later polls, are
    /// refused and revoke nothing (the contract).
    async fn spend_pending(&self, digest: TokenDigest, client_id: &str) -> Result<(), OAuthError> {
        match self.storage.pending.consume_pending(digest, client_id).await.map_err(storage_failure)? {
            PendingConsumption::Consumed => Ok(()),
            PendingConsumption::AlreadyUsed => Err(OAuthError::invalid_grant("the device code was already used")),
            _ => Err(OAuthError::invalid_grant("the device code is not approved")),
        }
    }

    /// Retires a refresh token and saves `tokens` in its place, in one store call
    /// ([`TokenStore::rotate_and_save`](crate::storage::TokenStore::rotate_and_save)), as
    /// [`redeem`](Self::redeem) consumes a code: one winner; a replay revokes the family.
    async fn rotate(&self, digest: TokenDigest, client_id: &str, tokens: IssuedTokens) -> Result<(), OAuthError> {
        let rotation = self.storage.tokens.rotate_and_save(digest, client_id, tokens);
        match rotation.await.map_err(storage_failure)? {
            RefreshRotation::Rotated => Ok(()),
            RefreshRotation::AlreadyRotated { family } => Err(replayed(&self.storage, family).await),
            RefreshRotation::WrongClient => Err(other_client("refresh token")),
            _ => Err(OAuthError::invalid_grant("refresh token was revoked")),
        }
    }

    /// Whether a refresh token would be of use to `client`: it is allowed the `refresh_token`
    /// grant, and a refresh grant is registered that accepts the client's authentication method.
    fn client_can_refresh(&self, client: &dyn Client) -> bool {
        client.allows_grant_type(&GrantType::REFRESH_TOKEN)
            && self
                .registry
                .by_grant_type(GrantType::REFRESH_TOKEN.as_str())
                .is_some_and(|(_, r)| r.metadata().auth_methods().allows(client.token_endpoint_auth_method()))
    }
}

/// RFC 8693 §3: the `issued_token_type` of an access token, whatever its format.
pub(crate) const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The token attribute holding the subject of the actor a token is delegated to (RFC 8693 §4.1).
pub(crate) const ACTOR_ATTRIBUTE: &str = "act.sub";
/// The token attribute holding the audience a grant accepted.
pub(crate) const AUDIENCE_ATTRIBUTE: &str = "aud";

/// `unauthorized_client` for a grant type the client is not allowed.
pub(crate) fn unauthorized(grant_type: &GrantType) -> OAuthError {
    OAuthError::unauthorized_client(format!("the client is not allowed the {grant_type} grant type"))
}
