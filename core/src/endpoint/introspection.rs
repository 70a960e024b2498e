//! The introspection endpoint (RFC 7662).

use super::revocation::endpoint_params;
use crate::client::Client;
use crate::client_auth::storage_failure;
use crate::error::OAuthError;
use crate::grant::ClientAuthentication;
use crate::request::Request;
use crate::response::Response;
use crate::secret::TokenDigest;
use crate::server::AuthorizationServer;
use crate::storage::{TokenKind, TokenRecord};

impl AuthorizationServer {
    /// Serves an introspection request (RFC 7662). The caller authenticates as a client.
    ///
    /// An unknown, expired, revoked token, or one the caller may not see
    /// ([`IntrospectionAccess`](crate::IntrospectionAccess)), is `{"active": false}` and
    /// nothing else. The engine decides `active` from the token's state, never from stored
    /// data.
    pub async fn introspection_endpoint(&self, request: &Request) -> Response {
        match self.handle_introspection(request).await {
            Ok(body) => Response::json_no_store(200, &body),
            Err(err) => Response::oauth_error(&err),
        }
    }

    async fn handle_introspection(&self, request: &Request) -> Result<serde_json::Value, OAuthError> {
        let params = endpoint_params(request, "introspection")?;
        let caller = self
            .authenticate_client(request, &params, &self.introspection_auth_methods(), ClientAuthentication::Required)
            .await?
            .ok_or_else(|| OAuthError::invalid_client("client authentication required"))?;
        let token = params.require("token")?;
        Ok(self.introspect(&*caller, token).await?.unwrap_or_else(|| serde_json::json!({ "active": false })))
    }

    /// The introspection response for `token` as `caller` may see it, or `None` for an
    /// inactive token.
    pub async fn introspect(&self, caller: &dyn Client, token: &str) -> Result<Option<serde_json::Value>, OAuthError> {
        let record = self.storage.tokens.find_token(&TokenDigest::of(token)).await.map_err(storage_failure)?;
        let now = self.config.clock().now();
        let visible =
            record.filter(|r| !r.is_expired(now)).filter(|r| self.config.introspection_access().allows(caller, r));
        Ok(visible.map(|r| self.introspection_body(&r)))
    }

    fn introspection_body(&self, record: &TokenRecord) -> serde_json::Value {
        let mut body = serde_json::json!({
            "active": true,
            "scope": record.scope.to_string(),
            "client_id": record.client_id,
            "sub": record.subject.as_deref().unwrap_or(&record.client_id),
            "iat": record.issued_at,
            "iss": self.config.issuer(),
            "token_type": match record.kind {
                TokenKind::Access => "Bearer",
                TokenKind::Refresh => "refresh_token",
            },
        });
        if let Some(subject) = &record.subject {
            body["username"] = subject.as_str().into();
        }
        if let Some(exp) = record.expires_at {
            body["exp"] = exp.into();
        }
        body
    }
}
