//! OAuth 2.0 errors: the RFC 6749 error codes, descriptions and their HTTP rendering.

use std::borrow::Cow;
use std::fmt;

/// An OAuth 2.0 error code (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1), or one an extension defines.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (code, refresh token, credentials, assertion) is invalid, expired or revoked.
    InvalidGrant,
    /// The client is not allowed to use this grant type or response type.
    UnauthorizedClient,
    /// No grant is registered for the requested `grant_type`.
    UnsupportedGrantType,
    /// No grant is registered for the requested `response_type`.
    UnsupportedResponseType,
    /// The requested scope is invalid, unknown, malformed or exceeds what is allowed.
    InvalidScope,
    /// The resource owner or the server denied the request.
    AccessDenied,
    /// The server met an unexpected condition (a storage failure, never bad input).
    ServerError,
    /// The server is temporarily unable to handle the request.
    TemporarilyUnavailable,
    /// The access token presented to a protected resource is invalid (RFC 6750).
    InvalidToken,
    /// The access token lacks the scope the resource requires (RFC 6750).
    InsufficientScope,
    /// The token type is not supported (RFC 7009).
    UnsupportedTokenType,
    /// The user has not yet approved a pending authorization; poll again (RFC 8628 §3.5).
    AuthorizationPending,
    /// Polling too fast: poll again with an interval 5 seconds longer (RFC 8628 §3.5).
    SlowDown,
    /// A pending authorization expired before the user approved it (RFC 8628 §3.5).
    ExpiredToken,
    /// The requested audience or resource is unknown or not allowed (RFC 8693 §2.2.2,
    /// RFC 8707 §2).
    InvalidTarget,
    /// An error code defined by an extension.
    Other(Cow<'static, str>),
}

impl ErrorCode {
    /// The code as it appears in the `error` parameter.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::Other(code) => code,
        }
    }

    /// The HTTP status this code carries in a direct (non-redirect) response.
    pub fn status(&self) -> u16 {
        match self {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope => 403,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth 2.0 error: code, human-readable description and optional documentation URI.
///
/// Descriptions are written for the client developer; they never contain a secret, token,
/// code or password.
///
/// ```
/// use grantry_core::{ErrorCode, OAuthError};
/// let err = OAuthError::invalid_request("missing parameter: grant_type");
/// assert_eq!(err.code(), &ErrorCode::InvalidRequest);
/// assert_eq!(err.description(), Some("missing parameter: grant_type"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    code: ErrorCode,
    description: Option<Cow<'static, str>>,
    uri: Option<String>,
    challenge: Option<Cow<'static, str>>,
}

impl std::error::Error for OAuthError {}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {d}", self.code),
            None => write!(f, "{}", self.code),
        }
    }
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(description: impl Into<Cow<'static, str>>) -> Self {
                Self::new(ErrorCode::$code, description)
            }
        )*
    };
}

impl OAuthError {
    /// An error with a code and a description.
    ///
    /// Characters RFC 6749 §5.2 does not allow in `error_description` (quotes, backslashes,
    /// control and non-ASCII characters) are replaced with `?`, so a description that quotes
    /// a parameter name from a hostile request is still well-formed.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError { code, description: Some(sanitize(description.into())), uri: None, challenge: None }
    }

    constructors! {
        /// `invalid_request`.
        invalid_request => InvalidRequest;
        /// `invalid_client`.
        invalid_client => InvalidClient;
        /// `invalid_grant`.
        invalid_grant => InvalidGrant;
        /// `unauthorized_client`.
        unauthorized_client => UnauthorizedClient;
        /// `unsupported_grant_type`.
        unsupported_grant_type => UnsupportedGrantType;
        /// `unsupported_response_type`.
        unsupported_response_type => UnsupportedResponseType;
        /// `invalid_scope`.
        invalid_scope => InvalidScope;
        /// `access_denied`.
        access_denied => AccessDenied;
        /// `authorization_pending` (RFC 8628 §3.5).
        authorization_pending => AuthorizationPending;
        /// `slow_down` (RFC 8628 §3.5).
        slow_down => SlowDown;
        /// `expired_token` (RFC 8628 §3.5).
        expired_token => ExpiredToken;
        /// `invalid_target` (RFC 8693 §2.2.2).
        invalid_target => InvalidTarget;
        /// `server_error`: for failures of the server itself (storage), never for bad input.
        server_error => ServerError;
    }

    /// Attaches an `error_uri` pointing at documentation of the error.
    pub fn with_uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = Some(uri.into());
        self
    }

    /// Attaches a `WWW-Authenticate` challenge (such as `Basic realm="grantry"`): the answer
    /// to a failed attempt through the `Authorization` header, which RFC 6749 §5.2 requires to
    /// be `401` with the scheme the client used.
    pub fn with_challenge(mut self, challenge: impl Into<Cow<'static, str>>) -> Self {
        self.challenge = Some(challenge.into());
        self
    }

    /// The error code.
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// The `error_description`, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The `error_uri`, if any.
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// The `WWW-Authenticate` challenge, if the client must be challenged.
    pub fn challenge(&self) -> Option<&str> {
        self.challenge.as_deref()
    }

    /// The HTTP status of this error as a direct response.
    ///
    /// `invalid_client` is `401` only when it carries a challenge (the client tried the
    /// `Authorization` header); otherwise RFC 6749 §5.2's default `400` applies.
    pub fn status(&self) -> u16 {
        match self.code {
            ErrorCode::InvalidClient if self.challenge.is_none() => 400,
            ref code => code.status(),
        }
    }

    /// The error as `(name, value)` pairs, in the order they are serialised.
    pub fn to_pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = vec![("error", self.code.as_str())];
        if let Some(d) = &self.description {
            pairs.push(("error_description", d));
        }
        if let Some(u) = &self.uri {
            pairs.push(("error_uri", u));
        }
        pairs
    }

    /// The error as a JSON object (RFC 6749 §5.2).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// Serialises as the RFC 6749 §5.2 error response: `error`, then `error_description` and
/// `error_uri` when present.
impl serde::Serialize for OAuthError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Wire<'a> {
            error: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_description: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_uri: Option<&'a str>,
        }
        Wire {
            error: self.code.as_str(),
            error_description: self.description.as_deref(),
            error_uri: self.uri.as_deref(),
        }
        .serialize(serializer)
    }
}

/// Longest `error_description` kept; longer ones are cut.
const MAX_DESCRIPTION: usize = 512;

fn allowed_in_description(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

fn sanitize(description: Cow<'static, str>) -> Cow<'static, str> {
    if description.len() <= MAX_DESCRIPTION && description.chars().all(allowed_in_description) {
        return description;
    }
    let cleaned: String =
        description.chars().take(MAX_DESCRIPTION).map(|c| if allowed_in_description(c) { c } else { '?' }).collect();
    Cow::Owned(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_status_depends_on_basic_attempt() {
        let plain = OAuthError::invalid_client("unknown client");
        assert_eq!(plain.status(), 400);
        assert_eq!(plain.with_challenge("Basic realm=\"grantry\"").status(), 401);
    }

    #[test]
    fn json_has_rfc_field_names() {
        let err = OAuthError::invalid_scope("scope too wide").with_uri("https://docs/err");
        assert_eq!(
            err.to_json(),
            serde_json::json!({"error": "invalid_scope", "error_description": "scope too wide", "error_uri": "https://docs/err"})
        );
    }

    #[test]
    fn descriptions_are_restricted_to_the_rfc_character_set() {
        let err = OAuthError::invalid_request("parameter \"x\\\n\u{e9}\" given");
        assert_eq!(err.description(), Some("parameter ?x???? given"));
        let long = OAuthError::invalid_request("a".repeat(2000));
        assert_eq!(long.description().map(str::len), Some(MAX_DESCRIPTION));
    }

    #[test]
    fn other_codes_render_verbatim() {
        let err = OAuthError::new(ErrorCode::Other("use_dpop_nonce".into()), "nonce required");
        assert_eq!(err.code().as_str(), "use_dpop_nonce");
        assert_eq!(err.status(), 400);
    }
}
