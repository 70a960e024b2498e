//! The revocation endpoint (RFC 7009).

use crate::client::Client;
use crate::client_auth::storage_failure;
use crate::error::OAuthError;
use crate::grant::ClientAuthentication;
use crate::grant_type::ClientAuthMethod;
use crate::params::Params;
use crate::request::{self, Request};
use crate::response::{self, Response};
use crate::secret::TokenDigest;
use crate::server::AuthorizationServer;
use crate::storage::TokenKind;
use http::header::{CACHE_CONTROL, PRAGMA};
use http::{HeaderValue, Method};
use std::sync::Arc;

impl AuthorizationServer {
    /// Serves a revocation request (RFC 7009): `200` with an empty body when the token is
    /// revoked or unknown, the JSON error otherwise.
    ///
    /// The client authenticates as at the token endpoint. A client may revoke only its own
    /// tokens. Revoking a refresh token revokes every token of its grant (its family), access
    /// tokens included (RFC 7009 §2.1).
    pub async fn revocation_endpoint(&self, request: &Request) -> Response {
        match self.handle_revocation(request).await {
            Ok(()) => {
                let mut response = Response::new(Vec::new());
                response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response.headers_mut().insert(PRAGMA, HeaderValue::from_static("no-cache"));
                response
            }
            Err(err) => response::oauth_error(&err),
        }
    }

    async fn handle_revocation(&self, request: &Request) -> Result<(), OAuthError> {
        let (params, client) = self.endpoint_client(request, "revocation", self.revocation_auth_methods()).await?;
        let token = params.require("token")?;
        // `token_type_hint` only says where to look first (RFC 7009 §2.1); access and refresh
        // tokens share one digest space here, so one lookup covers every type and an unknown
        // hint is ignored.
        let digest = TokenDigest::of(token);
        let tokens = &self.storage.tokens;
        let Some(record) = tokens.find_token(digest).await.map_err(storage_failure)? else {
            return Ok(());
        };
        if *record.client_id != *client.client_id() {
            return Err(OAuthError::invalid_grant("the token was not issued to this client"));
        }
        match (record.kind, record.family) {
            (TokenKind::Refresh, Some(family)) => tokens.revoke_family(family).await.map_err(storage_failure),
            _ => tokens.revoke_token(digest).await.map(|_| ()).map_err(storage_failure),
        }
    }

    /// The client authentication methods the revocation endpoint accepts: those the registered
    /// grants allow at the token endpoint.
    pub fn revocation_auth_methods(&self) -> &[ClientAuthMethod] {
        self.registry.token_endpoint_auth_methods()
    }

    /// The client authentication methods the introspection endpoint accepts: those of the
    /// token endpoint, less `none` (a caller must prove who it is).
    pub fn introspection_auth_methods(&self) -> &[ClientAuthMethod] {
        self.registry.credential_auth_methods()
    }
}

impl AuthorizationServer {
    /// The parameters and the authenticated client of a request to a POST-only, body-only
    /// endpoint that requires client authentication (revocation, introspection).
    pub(crate) async fn endpoint_client<'r>(
        &self,
        request: &'r Request,
        endpoint: &str,
        methods: &[ClientAuthMethod],
    ) -> Result<(Params<'r>, Arc<dyn Client>), OAuthError> {
        if request.method() != Method::POST {
            return Err(OAuthError::invalid_request(format!("the {endpoint} endpoint accepts only POST")));
        }
        if request::query(request).is_some() {
            return Err(OAuthError::invalid_request("parameters must be in the body, not the URL query"));
        }
        let params = request::form_params(request)?;
        let client = self
            .authenticate_with(request, &params, &|method| methods.contains(method), ClientAuthentication::Required)
            .await?
            .ok_or_else(|| OAuthError::invalid_client("client authentication required"))?;
        Ok((params, client))
    }
}
