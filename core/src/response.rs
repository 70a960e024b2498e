//! The framework-agnostic response: status, headers and body.

use crate::error::OAuthError;
use std::borrow::Cow;

/// A response header: name and value, each usually a static string.
pub type Header = (Cow<'static, str>, Cow<'static, str>);

/// The headers of a JSON response that must not be cached (RFC 6749 §5.1).
const JSON_NO_STORE: &[Header] = &[
    (Cow::Borrowed("Content-Type"), Cow::Borrowed("application/json")),
    (Cow::Borrowed("Cache-Control"), Cow::Borrowed("no-store")),
    (Cow::Borrowed("Pragma"), Cow::Borrowed("no-cache")),
];

/// A response for an adapter to hand to the web framework.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Header `(name, value)` pairs. The common sets (a JSON response that must not be
    /// cached) are static, so most responses allocate nothing for their headers; adding a
    /// header copies the set first (`headers.to_mut()`).
    pub headers: Cow<'static, [Header]>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// The status, header names and the body's length: a token response's body and a redirect's
/// `Location` carry credentials, which must not reach a log.
impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Response {
    /// A response with no headers and an empty body.
    pub fn new(status: u16) -> Self {
        Response { status, headers: Cow::Borrowed(&[]), body: Vec::new() }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Cow<'static, str>>) -> Self {
        self.headers.to_mut().push((name.into(), value.into()));
        self
    }

    /// A JSON response that must not be cached (RFC 6749 §5.1): `Content-Type: application/json`,
    /// `Cache-Control: no-store`, `Pragma: no-cache`.
    pub fn json_no_store(status: u16, body: &serde_json::Value) -> Self {
        Self::json_bytes_no_store(status, body.to_string().into_bytes())
    }

    /// [`json_no_store`](Self::json_no_store) for a body already serialised.
    pub fn json_bytes_no_store(status: u16, body: Vec<u8>) -> Self {
        Response { status, headers: Cow::Borrowed(JSON_NO_STORE), body }
    }

    /// The JSON error response for `error` (RFC 6749 §5.2), with its `WWW-Authenticate`
    /// challenge if it carries one.
    pub fn oauth_error(error: &OAuthError) -> Self {
        let response = Response::json_bytes_no_store(error.status(), serde_json::to_vec(error).unwrap_or_default());
        match error.challenge() {
            Some(challenge) => response.with_header("WWW-Authenticate", challenge.to_owned()),
            None => response,
        }
    }

    /// A redirect to `location` with the given 3xx status, not cacheable.
    pub fn redirect(status: u16, location: impl Into<Cow<'static, str>>) -> Self {
        Response::new(status).with_header("Location", location).with_header("Cache-Control", "no-store")
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }

    /// The body parsed as JSON, for tests and adapters that inspect responses.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}
