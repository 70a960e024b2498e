//! The endpoints grants bring (RFC 8628 §3.1's device authorization endpoint, say): found by
//! path in the registry, with the engine's checks made before the grant answers.

use super::issue::unauthorized;
use crate::context::EndpointRequest;
use crate::error::OAuthError;
use crate::grant::{ClientAuthentication, GrantEndpoint};
use crate::registry::Registration;
use crate::request::{self, Request};
use crate::response::{self, Response};
use crate::scope::Scope;
use crate::server::AuthorizationServer;
use http::{Method, StatusCode};

impl AuthorizationServer {
    /// The grants' own endpoints, for a server's router (each at its path under the issuer).
    pub fn grant_endpoints(&self) -> impl Iterator<Item = &GrantEndpoint> {
        self.registry.registrations().filter_map(|r| r.metadata().endpoint())
    }

    /// Serves a request to the grant endpoint at `path`: `None` when no registered grant
    /// serves that path. Like the token endpoint: `POST` with a form body, the client
    /// authenticated with a method the grant allows and allowed the grant type, the requested
    /// scope within the client's; the grant's answer is sent as JSON with `no-store`.
    pub async fn grant_endpoint(&self, path: &str, request: &Request) -> Option<Response> {
        let registration =
            self.registry.registrations().find(|r| r.metadata().endpoint().is_some_and(|e| e.path() == path))?;
        Some(match self.handle_grant_endpoint(registration, request).await {
            Ok(members) => response::json_no_store(StatusCode::OK, &serde_json::Value::Object(members)),
            Err(err) => response::oauth_error(&err),
        })
    }

    async fn handle_grant_endpoint(
        &self,
        registration: &Registration,
        request: &Request,
    ) -> Result<serde_json::Map<String, serde_json::Value>, OAuthError> {
        if request.method() != Method::POST {
            return Err(OAuthError::invalid_request("this endpoint accepts only POST"));
        }
        if request::query(request).is_some() {
            return Err(OAuthError::invalid_request("request parameters must be in the body, not the URL query"));
        }
        let params = request::form_params(request)?;
        let meta = registration.metadata();
        let Some(grant_type) = meta.grant_type() else {
            return Err(OAuthError::invalid_request("this endpoint's grant serves no grant type"));
        };
        let client = self
            .authenticate_client(request, &params, meta.auth_methods(), ClientAuthentication::Required)
            .await?
            .ok_or_else(|| OAuthError::invalid_client("client authentication required"))?;
        if !client.allows_grant_type(grant_type) {
            return Err(unauthorized(grant_type));
        }
        let (scope, requested_scope) = Scope::resolve(params.get("scope"), client.allowed_scope())?;
        let endpoint_request = EndpointRequest {
            params: &params,
            grant_type,
            client: &client,
            scope,
            requested_scope,
            storage: &self.storage,
            config: &self.config,
            started: Default::default(),
        };
        registration.steps().serve_endpoint(&endpoint_request).await
    }
}
