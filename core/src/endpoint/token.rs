//! The token endpoint (RFC 6749 §3.2): parse → dispatch → authenticate the client → the grant
//! decides → the engine checks the decision → extensions → issue and store tokens.

use super::issue::unauthorized;
use crate::context::TokenRequest;
use crate::error::OAuthError;
use crate::request::{self, Request};
use crate::response::{self, Response};
use crate::server::AuthorizationServer;
use crate::token::TokenResponse;
use http::{Method, StatusCode};

impl AuthorizationServer {
    /// Serves a token endpoint request: a `200` JSON token response, or the RFC 6749 §5.2
    /// JSON error. Both carry `Cache-Control: no-store` and `Pragma: no-cache`.
    pub async fn token_endpoint(&self, request: &Request) -> Response {
        match self.handle_token_request(request).await {
            Ok(token) => response::json_bytes_no_store(StatusCode::OK, token.to_json_bytes()),
            Err(err) => response::oauth_error(&err),
        }
    }

    /// The token endpoint's work, for callers that want the token response itself.
    pub async fn handle_token_request(&self, request: &Request) -> Result<TokenResponse, OAuthError> {
        if request.method() != Method::POST {
            return Err(OAuthError::invalid_request("the token endpoint accepts only POST"));
        }
        if request::query(request).is_some() {
            return Err(OAuthError::invalid_request("token request parameters must be in the body, not the URL query"));
        }
        let params = request::form_params(request)?;
        let grant_type = params.require("grant_type")?;
        let (_, registration) = self
            .registry
            .by_grant_type(grant_type)
            .ok_or_else(|| OAuthError::unsupported_grant_type("no grant is registered for this grant_type"))?;
        let meta = registration.metadata();
        let Some(grant_type) = meta.grant_type() else {
            return Err(OAuthError::unsupported_grant_type("no grant is registered for this grant_type"));
        };

        let client =
            self.authenticate_client(request, &params, meta.auth_methods(), meta.client_authentication()).await?;
        if client.as_ref().is_some_and(|c| !c.allows_grant_type(grant_type)) {
            return Err(unauthorized(grant_type));
        }

        for hook in self.hooks(registration) {
            hook.before_token_request_validated(&params, client.as_deref())?;
        }
        let token_request = TokenRequest {
            params: &params,
            grant_type,
            client: client.as_ref(),
            storage: &self.storage,
            config: &self.config,
            throttle: &*self.throttle,
        };
        let decision = registration.steps().exchange(&token_request).await?;
        let issuance = self.settle(registration, decision, client.as_ref(), grant_type, &params).await?;
        self.issue(registration, issuance, &params).await
    }
}
