//! The authorization request, once validated, and the resource owner's decision on it.

use crate::client::Client;
use crate::error::OAuthError;
use crate::grant_type::ResponseType;
use crate::params::Params;
use crate::response::Response;
use crate::scope::Scope;
use crate::storage::Attributes;
use std::sync::Arc;

/// How the authorization response parameters travel back to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
/// resource owner for consent.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The client.
    pub client: Arc<dyn Client>,
    /// The response type.
    pub response_type: ResponseType,
    /// Where the response goes: a registered redirect URI.
    pub redirect_uri: String,
    /// Whether the request named the redirect URI (rather than the default being used).
    pub redirect_uri_given: bool,
    /// How the response parameters are sent.
    pub response_mode: ResponseMode,
    /// The scope to be granted.
    pub scope: Scope,
    /// The scope the client asked for, if it asked.
    pub requested_scope: Option<Scope>,
    /// `state`, returned verbatim.
    pub state: Option<String>,
    /// All request parameters.
    pub params: Params,
    /// Data the grant and its extensions attach (stored with the code, for example the PKCE
    /// challenge).
    pub attributes: Attributes,
    pub(crate) registration: usize,
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
pub struct Approval {
    /// The resource owner's subject identifier.
    pub subject: String,
    /// The scope approved, if narrower than requested. Never wider: a wider scope is cut back.
    pub scope: Option<Scope>,
}

impl Consent {
    /// Approval of the whole requested scope by `subject`.
    pub fn allow(subject: impl Into<String>) -> Self {
        Consent::Allow(Approval { subject: subject.into(), scope: None })
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
    pub(crate) extra: Vec<(String, String)>,
    /// The registration the request was dispatched to, once known (for its hooks).
    pub(crate) registration: Option<usize>,
}

impl AuthorizationError {
    pub(crate) fn direct(error: OAuthError) -> Self {
        AuthorizationError { error, target: ErrorTarget::Direct, extra: Vec::new(), registration: None }
    }

    pub(crate) fn redirect(error: OAuthError, redirect_uri: &str, mode: ResponseMode, state: Option<&str>) -> Self {
        AuthorizationError {
            error,
            target: ErrorTarget::Redirect {
                redirect_uri: redirect_uri.to_owned(),
                mode,
                state: state.map(str::to_owned),
            },
            extra: Vec::new(),
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
            ErrorTarget::Direct => Response::oauth_error(&self.error),
            ErrorTarget::Redirect { redirect_uri, mode, state } => {
                let mut params: Vec<(String, String)> =
                    self.error.to_pairs().into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
                if let Some(state) = state {
                    params.push(("state".into(), state.clone()));
                }
                params.extend(self.extra.iter().cloned());
                Response::redirect(302, build_redirect(redirect_uri, *mode, &params))
            }
        }
    }
}

/// Appends parameters to a redirect URI, in its query (keeping any query it has) or fragment.
pub fn build_redirect(redirect_uri: &str, mode: ResponseMode, params: &[(String, String)]) -> String {
    // Room for every pair unescaped, and a little for escapes: usually one allocation.
    let room = params.iter().map(|(k, v)| k.len() + v.len() + 2).sum::<usize>();
    let mut uri = String::with_capacity(redirect_uri.len() + room + 16);
    uri.push_str(redirect_uri);
    match mode {
        ResponseMode::Query => {
            uri.push(if redirect_uri.contains('?') { '&' } else { '?' });
        }
        ResponseMode::Fragment => uri.push('#'),
    }
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            uri.push('&');
        }
        crate::params::push_encoded(&mut uri, k);
        uri.push('=');
        crate::params::push_encoded(&mut uri, v);
    }
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
