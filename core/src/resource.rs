//! Protected resources (RFC 6750): the bearer token guard.

use crate::clock::{Clock, Timestamp};
use crate::params::Params;
use crate::request::{self, Request};
use crate::response::{self, Response};
use crate::scope::Scope;
use crate::secret::TokenDigest;
use crate::server::AuthorizationServer;
use crate::storage::{TokenKind, TokenStore};
use crate::token_format::AccessTokenFormat;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use std::sync::Arc;

/// What a valid bearer token grants: handed to the protected resource.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceAccess {
    /// The client the token was issued to.
    pub client_id: Arc<str>,
    /// The resource owner, if the token acts for one.
    pub subject: Option<Arc<str>>,
    /// The token's scope.
    pub scope: Scope,
    /// When the token expires.
    pub expires_at: Option<Timestamp>,
}

/// Why a request was refused access (RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BearerError {
    /// No token in the request: `401` with a bare challenge.
    Missing,
    /// The request is malformed (a token sent in more than one way): `400 invalid_request`.
    InvalidRequest(&'static str),
    /// The token is unknown, expired, revoked or not an access token: `401 invalid_token`.
    InvalidToken(&'static str),
    /// The token lacks a required scope: `403 insufficient_scope`.
    InsufficientScope(Scope),
    /// The token store failed: `500`.
    Unavailable,
}

impl BearerError {
    /// The error response, with the `WWW-Authenticate: Bearer` challenge for `realm`.
    pub fn to_response(&self, realm: &str) -> Response {
        let realm = realm.replace(['"', '\\'], "");
        let (status, code, description, scope) = match self {
            BearerError::Missing => {
                let mut response = Response::new(Vec::new());
                *response.status_mut() = StatusCode::UNAUTHORIZED;
                return with_challenge(response, &format!("Bearer realm=\"{realm}\""));
            }
            BearerError::InvalidRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", *d, None),
            BearerError::InvalidToken(d) => (StatusCode::UNAUTHORIZED, "invalid_token", *d, None),
            BearerError::InsufficientScope(s) => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the token lacks the scope this resource requires",
                Some(s),
            ),
            BearerError::Unavailable => {
                return response::oauth_error(&crate::OAuthError::server_error(
                    "the server could not reach its storage",
                ));
            }
        };
        let mut challenge = format!("Bearer realm=\"{realm}\", error=\"{code}\", error_description=\"{description}\"");
        let mut body = serde_json::json!({ "error": code, "error_description": description });
        if let Some(scope) = scope {
            challenge.push_str(&format!(", scope=\"{scope}\""));
            body["scope"] = scope.to_string().into();
        }
        with_challenge(response::json_no_store(status, &body), &challenge)
    }
}

/// Adds the `WWW-Authenticate` challenge (RFC 6750 §3), or answers `500` for a realm that
/// cannot be a header value (control characters).
fn with_challenge(mut response: Response, challenge: &str) -> Response {
    match HeaderValue::from_bytes(challenge.as_bytes()) {
        Ok(value) => {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
            response
        }
        Err(_) => response::oauth_error(&crate::OAuthError::server_error("the response could not be encoded")),
    }
}

/// Validates bearer tokens for a protected resource against required scopes (RFC 6750).
///
/// The token is read from the `Authorization: Bearer` header; from the form body only if
/// [`allow_form_body`](Self::allow_form_body), and from the URL query only if
/// [`allow_query`](Self::allow_query) (RFC 6750 §2.3 discourages it).
#[derive(Clone)]
pub struct ResourceGuard {
    tokens: Arc<dyn TokenStore>,
    format: Option<Arc<dyn AccessTokenFormat>>,
    clock: Arc<dyn Clock>,
    realm: String,
    allow_form_body: bool,
    allow_query: bool,
}

impl std::fmt::Debug for ResourceGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceGuard")
            .field("realm", &self.realm)
            .field("allow_form_body", &self.allow_form_body)
            .field("allow_query", &self.allow_query)
            .finish_non_exhaustive()
    }
}

impl AuthorizationServer {
    /// A guard over this server's tokens, with the issuer as realm.
    pub fn resource_guard(&self) -> ResourceGuard {
        ResourceGuard {
            tokens: self.storage.tokens.clone(),
            format: self.config.shared_access_token_format(),
            clock: self.config.shared_clock(),
            realm: self.config.issuer().to_owned(),
            allow_form_body: false,
            allow_query: false,
        }
    }
}

impl ResourceGuard {
    /// Sets the realm of the challenges.
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Accepts `access_token` in a form-encoded body (RFC 6750 §2.2).
    pub fn allow_form_body(mut self, allow: bool) -> Self {
        self.allow_form_body = allow;
        self
    }

    /// Accepts `access_token` in the URL query (RFC 6750 §2.3).
    pub fn allow_query(mut self, allow: bool) -> Self {
        self.allow_query = allow;
        self
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Checks the request's bearer token and that it carries every scope in `required`.
    pub async fn authorize(&self, request: &Request, required: &Scope) -> Result<ResourceAccess, BearerError> {
        let token = self.extract(request)?;
        // A self-contained token is checked on its own first (RFC 9068 §4); the store then says
        // whether it is still active (not revoked).
        if let Some(format) = &self.format {
            format.verify(&token, self.clock.now()).map_err(BearerError::InvalidToken)?;
        }
        let record = self
            .tokens
            .find_token(TokenDigest::of(&token))
            .await
            .map_err(|_| BearerError::Unavailable)?
            .filter(|r| r.kind == TokenKind::Access)
            .ok_or(BearerError::InvalidToken("the access token is unknown or revoked"))?;
        if record.is_expired(self.clock.now()) {
            return Err(BearerError::InvalidToken("the access token has expired"));
        }
        if !required.is_subset_of(&record.scope) {
            return Err(BearerError::InsufficientScope(required.clone()));
        }
        Ok(ResourceAccess {
            client_id: record.client_id,
            subject: record.subject,
            scope: record.scope,
            expires_at: record.expires_at,
        })
    }

    /// Finds the one token the request carries.
    fn extract(&self, request: &Request) -> Result<String, BearerError> {
        let mut found = Vec::new();
        let headers = request.headers();
        if headers.get_all(AUTHORIZATION).iter().nth(1).is_some() {
            return Err(BearerError::InvalidRequest("more than one Authorization header"));
        }
        if let Some(value) = headers.get(AUTHORIZATION) {
            let Ok(value) = std::str::from_utf8(value.as_bytes()) else {
                return Err(BearerError::InvalidRequest("the Authorization header is not valid text"));
            };
            if let Some((scheme, token)) = value.split_once(' ') {
                if scheme.eq_ignore_ascii_case("bearer") {
                    let token = token.trim();
                    if !is_b64token(token) {
                        return Err(BearerError::InvalidToken("the access token is malformed"));
                    }
                    found.push(token.to_owned());
                }
            }
        }
        if self.allow_form_body {
            if let Ok(params) = request::form_params(request) {
                if let Some(token) = params.get("access_token") {
                    found.push(token.to_owned());
                }
            }
        }
        if self.allow_query {
            if let Some(token) = Params::parse(request::query(request).unwrap_or_default().as_bytes())
                .ok()
                .and_then(|p| p.get("access_token").map(str::to_owned))
            {
                found.push(token);
            }
        }
        match found.len() {
            0 => Err(BearerError::Missing),
            1 => Ok(found.remove(0)),
            _ => Err(BearerError::InvalidRequest("the access token was sent in more than one way")),
        }
    }
}

/// RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64token_syntax() {
        assert!(is_b64token("abc-._~+/=="));
        assert!(!is_b64token(""));
        assert!(!is_b64token("=="));
        assert!(!is_b64token("a b"));
        assert!(!is_b64token("a\"b"));
    }

    #[test]
    fn challenges_follow_rfc6750() {
        let missing = BearerError::Missing.to_response("api");
        assert_eq!(missing.status(), 401);
        assert_eq!(missing.headers()["WWW-Authenticate"], "Bearer realm=\"api\"");
        let scope = Scope::parse("read write").unwrap();
        let insufficient = BearerError::InsufficientScope(scope).to_response("api");
        assert_eq!(insufficient.status(), 403);
        let challenge = insufficient.headers()["WWW-Authenticate"].to_str().unwrap();
        assert!(challenge.contains("error=\"insufficient_scope\"") && challenge.ends_with("scope=\"read write\""));
    }
}
