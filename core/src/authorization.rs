//! The authorization request, once validated, and the resource owner's decision on it.

use crate::client::Client;
use crate::error::OAuthError;
use crate::grant_type::ResponseType;
use crate::params::Params;
use crate::response::{self, Response};
use crate::scope::Scope;
use crate::storage::Attributes;
use http::StatusCode;
use std::sync::Arc;

/// How the authorization response parameters travel back to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseMode {
    /// In the redirect URI's query (the default for `code`).
    Query,
    /// In the redirect URI's fragment (the default for responses carrying tokens).
    Fragment,
}

impl ResponseMode {
    /// The default mode of a response type: query for `code` and `none`, fragment otherwise
    /// (OAuth 2.0 Multiple Response Type Encoding Practices §2.1).
    pub fn default_for(response_type: &ResponseType) -> Self {
        match response_type.as_str() {
            "code" | "none" => ResponseMode::Query,
            _ => ResponseMode::Fragment,
        }
    }

    /// The `response_mode` value.
    pub fn as_str(&self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
        }
    }
}

/// An authorization request the engine and its grant have validated, ready to be shown to the
/// resource owner for consent. It cannot be changed: the engine checked every part of it, and
/// grants and hooks see it read-only.
///
/// ```compile_fail,E0616
/// # use grantry_core::*;
/// # use grantry_core::storage::Attributes;
/// struct Redirector;
/// impl GrantExtension for Redirector {
///     fn name(&self) -> &str { "redirector" }
///     fn after_authorization_request_validated(&self, request: &AuthorizationRequest, _: &mut Attributes) -> Result<(), OAuthError> {
///         // error: the redirect URI the engine matched exactly cannot be rewritten.
///         request.redirect_uri = "https://attacker.example/".into();
///         Ok(())
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub(crate) client: Arc<dyn Client>,
    pub(crate) response_type: ResponseType,
    pub(crate) redirect_uri: String,
    pub(crate) redirect_uri_given: bool,
    pub(crate) response_mode: ResponseMode,
    pub(crate) scope: Scope,
    pub(crate) requested_scope: Option<Scope>,
    pub(crate) state: Option<String>,
    pub(crate) params: Params<'static>,
    pub(crate) attributes: Attributes,
    pub(crate) registration: usize,
}

impl AuthorizationRequest {
    /// The client.
    pub fn client(&self) -> &Arc<dyn Client> {
        &self.client
    }

    /// The response type.
    pub fn response_type(&self) -> &ResponseType {
        &self.response_type
    }

    /// Where the response goes: a registered redirect URI, matched exactly.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Whether the request named the redirect URI (rather than the default being used).
    pub fn redirect_uri_given(&self) -> bool {
        self.redirect_uri_given
    }

    /// How the response parameters are sent.
    pub fn response_mode(&self) -> ResponseMode {
        self.response_mode
    }

    /// The scope to be granted: the requested one within the client's allowed scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The scope the client asked for, if it asked.
    pub fn requested_scope(&self) -> Option<&Scope> {
        self.requested_scope.as_ref()
    }

    /// `state`, returned verbatim.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// All request parameters.
    pub fn params(&self) -> &Params<'static> {
        &self.params
    }

    /// Data the grant and its extensions attached (stored with a code, such as the PKCE
    /// challenge).
    pub fn attributes(&self) -> &Attributes {
        &self.attributes
    }
}

/// The resource owner's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consent {
    /// Approved, for `subject`.
    Allow(Approval),
    /// Denied: the client gets `access_denied`.
    Deny,
}

/// An approval: who approved, and optionally a narrower scope than was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Approval {
    /// The resource owner's subject identifier.
    pub subject: String,
    /// The scope approved, if narrower than requested. Never wider: a wider scope is cut back.
    pub scope: Option<Scope>,
}

impl Approval {
    /// Approval of the whole requested scope by `subject`.
    pub fn new(subject: impl Into<String>) -> Self {
        Approval { subject: subject.into(), scope: None }
    }

    /// Approves only `scope` (cut back to what was requested).
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }
}

impl Consent {
    /// Approval of the whole requested scope by `subject`.
    pub fn allow(subject: impl Into<String>) -> Self {
        Consent::Allow(Approval::new(subject))
    }
}

/// Parameters the engine owns in an authorization response, which no extension may set.
const RESERVED_PARAMS: [&str; 11] = [
    "code",
    "state",
    "access_token",
    "token_type",
    "expires_in",
    "scope",
    "refresh_token",
    "id_token",
    "error",
    "error_description",
    "error_uri",
];

/// The parameters of an authorization response redirect. Extensions may add their own (RFC
/// 9207 `iss`), never set one the engine owns (`code`, `state`, the token and error members).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedirectParams(Vec<(String, String)>);

/// An extension tried to set a redirect parameter the engine owns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an extension may not set the redirect parameter {0}")]
pub struct ReservedParam(pub String);

impl RedirectParams {
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        RedirectParams(pairs)
    }

    pub(crate) fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Sets `name` to `value`, replacing an earlier value; refused for the parameters the
    /// engine owns.
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> Result<(), ReservedParam> {
        if RESERVED_PARAMS.contains(&name) {
            return Err(ReservedParam(name.to_owned()));
        }
        self.0.retain(|(n, _)| n != name);
        self.0.push((name.to_owned(), value.into()));
        Ok(())
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The parameters, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub(crate) fn as_pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Where an authorization endpoint error goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrorTarget {
    /// The client or redirect URI could not be trusted: show the error, never redirect.
    Direct,
    /// Redirect to the client's validated redirect URI.
    Redirect { redirect_uri: String, mode: ResponseMode, state: Option<String> },
}

/// An authorization endpoint error, with where it must be delivered (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationError {
    error: OAuthError,
    pub(crate) target: ErrorTarget,
    pub(crate) extra: RedirectParams,
    /// The registration the request was dispatched to, once known (for its hooks).
    pub(crate) registration: Option<usize>,
}

impl AuthorizationError {
    pub(crate) fn direct(error: OAuthError) -> Self {
        AuthorizationError { error, target: ErrorTarget::Direct, extra: RedirectParams::default(), registration: None }
    }

    pub(crate) fn redirect(error: OAuthError, redirect_uri: &str, mode: ResponseMode, state: Option<&str>) -> Self {
        AuthorizationError {
            error,
            target: ErrorTarget::Redirect {
                redirect_uri: redirect_uri.to_owned(),
                mode,
                state: state.map(str::to_owned),
            },
            extra: RedirectParams::default(),
            registration: None,
        }
    }

    pub(crate) fn for_registration(mut self, index: usize) -> Self {
        self.registration = Some(index);
        self
    }

    /// The OAuth error.
    pub fn error(&self) -> &OAuthError {
        &self.error
    }

    /// Whether the error is redirected to the client (else it must be shown to the user).
    pub fn is_redirect(&self) -> bool {
        matches!(self.target, ErrorTarget::Redirect { .. })
    }

    /// The response: a `302` redirect to the client, or a direct JSON error.
    pub fn to_response(&self) -> Response {
        match &self.target {
            ErrorTarget::Direct => response::oauth_error(&self.error),
            ErrorTarget::Redirect { redirect_uri, mode, state } => {
                let mut params: Vec<(String, String)> =
                    self.error.to_pairs().into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
                if let Some(state) = state {
                    params.push(("state".into(), state.clone()));
                }
                params.extend(self.extra.as_pairs().iter().cloned());
                response::redirect(StatusCode::FOUND, &build_redirect(redirect_uri, *mode, &params))
            }
        }
    }
}

/// Appends parameters to a redirect URI, in its query (keeping any query it has) or fragment.
/// The registered URI is kept to the letter: it is not parsed and normalised (RFC 9700 §2.1
/// compares redirect URIs exactly), only the form-encoded parameters are added.
pub fn build_redirect(redirect_uri: &str, mode: ResponseMode, params: &[(String, String)]) -> String {
    let separator = match mode {
        ResponseMode::Query if redirect_uri.contains('?') => '&',
        ResponseMode::Query => '?',
        ResponseMode::Fragment => '#',
    };
    // Room for the parameters as they are; only characters that need escaping grow it.
    let room = params.iter().map(|(name, value)| name.len() + value.len() + 2).sum::<usize>();
    let mut uri = String::with_capacity(redirect_uri.len() + room);
    uri.push_str(redirect_uri);
    uri.push(separator);
    form_urlencoded::Serializer::for_suffix(&mut uri, redirect_uri.len() + 1).extend_pairs(params);
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_keeps_existing_query() {
        let p = vec![("code".to_string(), "a b".to_string()), ("state".into(), "x&y".into())];
        assert_eq!(
            build_redirect("https://c.example/cb?k=v", ResponseMode::Query, &p),
            "https://c.example/cb?k=v&code=a+b&state=x%26y"
        );
        assert_eq!(
            build_redirect("https://c.example/cb", ResponseMode::Fragment, &p),
            "https://c.example/cb#code=a+b&state=x%26y"
        );
    }
}
