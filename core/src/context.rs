//! [`GrantContext`]: what a grant may use of the server while it runs.

use crate::authorization::{Approval, AuthorizationRequest};
use crate::client::Client;
use crate::client_auth::storage_failure;
use crate::clock::Timestamp;
use crate::config::ServerConfig;
use crate::error::OAuthError;
use crate::future::MaybeReady;
use crate::grant::AccessGrant;
use crate::grant_type::GrantType;
use crate::params::Params;
use crate::registry::Registration;
use crate::secret::{Secret, TokenDigest};
use crate::server::AuthorizationServer;
use crate::storage::{Attributes, FamilyId, IssuedTokens, Storage, TokenKind, TokenRecord};
use crate::token::{CredentialKind, TokenResponse};

/// The server as a running grant sees it: storage, configuration, and token issuance with the
/// grant's own extensions.
#[derive(Clone, Copy)]
pub struct GrantContext<'a> {
    server: &'a AuthorizationServer,
    registration: &'a Registration,
}

impl<'a> GrantContext<'a> {
    pub(crate) fn new(server: &'a AuthorizationServer, registration: &'a Registration) -> Self {
        GrantContext { server, registration }
    }

    /// The stores.
    pub fn storage(&self) -> &'a Storage {
        &self.server.storage
    }

    /// The configuration.
    pub fn config(&self) -> &'a ServerConfig {
        &self.server.config
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        self.server.config.clock().now()
    }

    /// A new credential from the configured generator.
    pub fn generate(&self, kind: CredentialKind) -> String {
        self.server.config.token_generator().generate(kind)
    }

    /// Revokes every token of a family (after a replayed code or refresh token).
    pub async fn revoke_family(&self, family: FamilyId) -> Result<(), OAuthError> {
        self.storage().tokens.revoke_family(family).await.map_err(storage_failure)
    }

    /// The data to store with a new authorization code: the request's attributes, then what
    /// each extension's [`before_code_issued`](crate::GrantExtension::before_code_issued) hook
    /// attaches. A grant issuing codes calls this.
    pub fn code_attributes(
        &self,
        request: &AuthorizationRequest,
        approval: &Approval,
    ) -> Result<Attributes, OAuthError> {
        let mut attributes = request.attributes.clone();
        for hook in self.server.hooks(self.registration) {
            hook.before_code_issued(request, approval, &mut attributes)?;
        }
        Ok(attributes)
    }

    /// Whether a refresh token would be of use to `client`: it is allowed the `refresh_token`
    /// grant, and a refresh grant is registered that accepts the client's authentication method.
    fn client_can_refresh(&self, client: &dyn Client) -> bool {
        client.allows_grant_type(&GrantType::REFRESH_TOKEN)
            && self
                .server
                .registry
                .by_grant_type(GrantType::REFRESH_TOKEN.as_str())
                .is_some_and(|(_, r)| r.metadata().auth_methods.contains(client.token_endpoint_auth_method()))
    }

    /// Issues tokens for a validated grant, which it consumes: makes the access token (and a
    /// refresh token if the grant offers one and the client could use it: see
    /// `client_can_refresh`), runs the extensions' `before_token_issued` hooks, and stores the
    /// digests. Nothing is stored if a hook rejects.
    ///
    /// When the token store answers at once (the memory store always does), so does this: no
    /// future holds the response and the records while they are saved.
    pub fn issue(&self, grant: AccessGrant, params: &Params) -> MaybeReady<'a, Result<TokenResponse, OAuthError>> {
        let (response, tokens) = match self.prepare(grant, params) {
            Ok(prepared) => prepared,
            Err(err) => return MaybeReady::ready(Err(err)),
        };
        match self.storage().tokens.save_tokens(tokens).into_ready() {
            Ok(saved) => MaybeReady::ready(saved.map(|()| response).map_err(storage_failure)),
            Err(saving) => MaybeReady::boxed(async move {
                saving.await.map_err(storage_failure)?;
                Ok(response)
            }),
        }
    }

    /// The token response and the records to store for `grant`: everything of
    /// [`issue`](Self::issue) but the save.
    fn prepare(&self, mut grant: AccessGrant, params: &Params) -> Result<(TokenResponse, IssuedTokens), OAuthError> {
        let config = self.config();
        let now = self.now();
        let expires_in = config.access_token_ttl(&grant, params);
        let refresh = grant.offers_refresh_token && self.client_can_refresh(&*grant.client);
        let mut response = TokenResponse {
            access_token: Secret::new(self.generate(CredentialKind::AccessToken)),
            token_type: "Bearer".into(),
            expires_in: Some(expires_in),
            refresh_token: refresh.then(|| Secret::new(self.generate(CredentialKind::RefreshToken))),
            include_scope: grant.requested_scope.as_ref() != Some(&grant.scope),
            scope: grant.scope.clone(),
            extra: serde_json::Map::new(),
        };
        for hook in self.server.hooks(self.registration) {
            hook.before_token_issued(&grant, &mut response)?;
        }

        // A refresh token starts a family if the grant continues none; a lone access token has none.
        let family = grant.family.or_else(|| refresh.then(FamilyId::random));
        let client_id = grant.client.shared_client_id();
        // The refresh record copies what the access record then takes over from the grant.
        let refresh = response.refresh_token.as_ref().map(|refresh_token| {
            let record = TokenRecord {
                kind: TokenKind::Refresh,
                client_id: client_id.clone(),
                subject: grant.subject.clone(),
                scope: grant.refresh_scope.take().unwrap_or_else(|| grant.scope.clone()),
                grant_type: grant.grant_type.clone(),
                issued_at: now,
                expires_at: config.refresh_token_ttl().map(|ttl| now.saturating_add(ttl)),
                family,
                attributes: grant.attributes.clone(),
            };
            (TokenDigest::of(refresh_token.expose()), record)
        });
        let AccessGrant { subject, scope, grant_type, attributes, .. } = grant;
        let access = (
            TokenDigest::of(response.access_token.expose()),
            TokenRecord {
                kind: TokenKind::Access,
                client_id,
                subject,
                scope,
                grant_type,
                issued_at: now,
                expires_at: Some(now.saturating_add(expires_in)),
                family,
                attributes,
            },
        );
        Ok((response, IssuedTokens { access, refresh }))
    }
}
