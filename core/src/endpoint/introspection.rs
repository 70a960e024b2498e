//! The introspection endpoint (RFC 7662).

use crate::client::Client;
use crate::client_auth::storage_failure;
use crate::endpoint::issue::{ACTOR_ATTRIBUTE, AUDIENCE_ATTRIBUTE};
use crate::error::OAuthError;
use crate::request::Request;
use crate::response::{self, Response};
use crate::secret::TokenDigest;
use crate::server::AuthorizationServer;
use crate::storage::{TokenKind, TokenRecord};
use http::StatusCode;

impl AuthorizationServer {
    /// Serves an introspection request (RFC 7662). The caller authenticates as a client.
    ///
    /// An unknown, expired, revoked token, or one the caller may not see
    /// ([`IntrospectionAccess`](crate::IntrospectionAccess)), is `{"active": false}` and
    /// nothing else. The engine decides `active` from the token's state, never from stored
    /// data.
    pub async fn introspection_endpoint(&self, request: &Request) -> Response {
        match self.handle_introspection(request).await {
            Ok(Some(record)) => response::json_bytes_no_store(StatusCode::OK, self.introspection_bytes(&record)),
            Ok(None) => response::json_bytes_no_store(StatusCode::OK, INACTIVE.as_bytes().to_vec()),
            Err(err) => response::oauth_error(&err),
        }
    }

    async fn handle_introspection(&self, request: &Request) -> Result<Option<TokenRecord>, OAuthError> {
        let (params, caller) =
            self.endpoint_client(request, "introspection", self.introspection_auth_methods()).await?;
        let token = params.require("token")?;
        self.active_token(&*caller, token).await
    }

    /// The introspection response for `token` as `caller` may see it, or `None` for an
    /// inactive token.
    pub async fn introspect(&self, caller: &dyn Client, token: &str) -> Result<Option<serde_json::Value>, OAuthError> {
        let record = self.active_token(caller, token).await?;
        Ok(record.and_then(|r| serde_json::from_slice(&self.introspection_bytes(&r)).ok()))
    }

    /// The record of `token` if it is active and `caller` may see it.
    async fn active_token(&self, caller: &dyn Client, token: &str) -> Result<Option<TokenRecord>, OAuthError> {
        let record = self.storage.tokens.find_token(TokenDigest::of(token)).await.map_err(storage_failure)?;
        let now = self.config.clock().now();
        Ok(record.filter(|r| !r.is_expired(now)).filter(|r| self.config.introspection_access().allows(caller, r)))
    }

    /// The active token's introspection response (RFC 7662 §2.2).
    fn introspection_bytes(&self, record: &TokenRecord) -> Vec<u8> {
        let response = Introspection {
            active: true,
            scope: record.scope.as_str(),
            client_id: &record.client_id,
            username: record.subject.as_deref(),
            sub: record.subject.as_deref().unwrap_or(&record.client_id),
            token_type: match record.kind {
                TokenKind::Access => "Bearer",
                TokenKind::Refresh => "refresh_token",
            },
            iat: record.issued_at,
            exp: record.expires_at,
            iss: self.config.issuer(),
            aud: record.attributes.get(AUDIENCE_ATTRIBUTE).map(|aud| &**aud),
            act: record.attributes.get(ACTOR_ATTRIBUTE).map(|sub| Actor { sub }),
        };
        response::json_body(&response)
    }
}

/// An active token's introspection response (RFC 7662 §2.2).
#[derive(serde::Serialize)]
struct Introspection<'a> {
    active: bool,
    scope: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    sub: &'a str,
    token_type: &'a str,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    iss: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    /// RFC 8693 §4.1: who acts for the subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<Actor<'a>>,
}

/// An `act` claim (RFC 8693 §4.1).
#[derive(serde::Serialize)]
struct Actor<'a> {
    sub: &'a str,
}

/// The whole answer for an inactive token (RFC 7662 §2.2).
const INACTIVE: &str = "{\"active\":false}";
