//! The framework-agnostic request: method, URI, headers and body.

use crate::error::OAuthError;
use crate::params::{Params, encode_form};

/// An HTTP method. Only `GET` and `POST` mean anything to an OAuth endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// Any other method, kept so the endpoint can reject it by name.
    Other(String),
}

impl Method {
    /// Parses a method name (case-sensitive, as HTTP methods are).
    pub fn parse(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "POST" => Method::Post,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The method name.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Other(m) => m,
        }
    }
}

/// HTTP headers, looked up case-insensitively. Names are kept in lowercase (as HTTP/2 and the
/// `http` crate write them), so a lookup by a lowercase name is a plain comparison.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

/// Names only: values carry credentials (`Authorization`, cookies).
impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.entries.iter().map(|(name, _)| name)).finish()
    }
}

/// Whether header name `stored` (lowercase) is `name`, in any case.
fn same_name(stored: &str, name: &str) -> bool {
    stored == name || stored.eq_ignore_ascii_case(name)
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a header (repeated names are kept, so repetition can be detected).
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let mut name = name.into();
        name.make_ascii_lowercase();
        self.entries.push((name, value.into()));
    }

    /// The first value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.iter().find(|(n, _)| same_name(n, name)).map(|(_, v)| v.as_str())
    }

    /// How many times `name` appears.
    pub fn count(&self, name: &str) -> usize {
        self.entries.iter().filter(|(n, _)| same_name(n, name)).count()
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.entries.iter().filter(move |(n, _)| same_name(n, name)).map(|(_, v)| v.as_str())
    }

    /// The value of a header that must not be repeated: `Ok(None)` when absent,
    /// `invalid_request` when it appears more than once.
    pub fn get_unique(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut values = self.get_all(name);
        let first = values.next();
        if first.is_some() && values.next().is_some() {
            return Err(OAuthError::invalid_request(format!("header {name} given more than once")));
        }
        Ok(first)
    }

    /// Iterates over `(name, value)` pairs, names in lowercase.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// A request as the engine sees it, built by an adapter from whatever the web framework gives.
///
/// ```
/// use grantry_core::{Method, Request};
/// let req = Request::post("/token")
///     .with_header("Authorization", "Basic d2ViOnNlY3JldA==")
///     .with_form(&[("grant_type", "client_credentials")]);
/// assert_eq!(req.method(), &Method::Post);
/// assert_eq!(req.body(), b"grant_type=client_credentials");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    uri: String,
    headers: Headers,
    body: Vec<u8>,
}

/// The method, the path, header names and the body's length: the query, header values and
/// body carry credentials (secrets, codes, tokens, passwords), which must not reach a log.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path())
            .field("has_query", &self.query().is_some())
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Request {
    /// A request with no headers and an empty body. `uri` is the request target
    /// (a path with optional query, or an absolute URI).
    pub fn new(method: Method, uri: impl Into<String>) -> Self {
        Request { method, uri: uri.into(), headers: Headers::new(), body: Vec::new() }
    }

    /// A `GET` request.
    pub fn get(uri: impl Into<String>) -> Self {
        Self::new(Method::Get, uri)
    }

    /// A `POST` request.
    pub fn post(uri: impl Into<String>) -> Self {
        Self::new(Method::Post, uri)
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets the raw body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets an `application/x-www-form-urlencoded` body from pairs, and its content type.
    pub fn with_form(self, pairs: &[(&str, &str)]) -> Self {
        self.with_header("Content-Type", "application/x-www-form-urlencoded").with_body(encode_form(pairs))
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request target as given.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The path part of the request target.
    pub fn path(&self) -> &str {
        let end = self.uri.find(['?', '#']).unwrap_or(self.uri.len());
        &self.uri[..end]
    }

    /// The query string (without `?`), if the target has a non-empty one.
    pub fn query(&self) -> Option<&str> {
        let (_, rest) = self.uri.split_once('?')?;
        let query = rest.split('#').next().unwrap_or_default();
        (!query.is_empty()).then_some(query)
    }

    /// The headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Parses the query string as form parameters (authorization endpoint `GET`).
    pub fn query_params(&self) -> Result<Params, OAuthError> {
        Params::parse(self.query().unwrap_or_default().as_bytes())
    }

    /// Parses the body as form parameters, requiring the
    /// `application/x-www-form-urlencoded` content type (RFC 6749 §3.2).
    pub fn form_params(&self) -> Result<Params, OAuthError> {
        self.check_form_content_type()?;
        Params::parse(&self.body)
    }

    /// Checks the body is declared `application/x-www-form-urlencoded`.
    pub(crate) fn check_form_content_type(&self) -> Result<(), OAuthError> {
        let content_type = self.headers.get_unique("content-type")?;
        const FORM: &str = "application/x-www-form-urlencoded";
        // Nearly every client sends exactly this; anything else takes the general check.
        let is_form = content_type.is_some_and(|ct| {
            ct == FORM || {
                let mime = ct.split_once(';').map_or(ct, |(mime, _)| mime);
                mime.trim().eq_ignore_ascii_case(FORM)
            }
        });
        if !is_form {
            return Err(OAuthError::invalid_request("the request body must be application/x-www-form-urlencoded"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_path_and_query() {
        let req = Request::get("/authorize?response_type=code&client_id=a#frag");
        assert_eq!(req.path(), "/authorize");
        assert_eq!(req.query(), Some("response_type=code&client_id=a"));
        assert_eq!(Request::get("/token?").query(), None);
        assert_eq!(Request::get("/token").query(), None);
    }

    #[test]
    fn debug_output_shows_no_credentials() {
        let req = Request::post("/token?code=query-code")
            .with_header("Authorization", "Basic c3ZjOnN2Yy1zZWNyZXQ=")
            .with_form(&[("grant_type", "password"), ("password", "hunter2")]);
        let shown = format!("{req:?}");
        for secret in ["c3ZjOnN2Yy1zZWNyZXQ=", "hunter2", "query-code", "password"] {
            assert!(!shown.contains(secret), "{shown} shows {secret}");
        }
        assert!(shown.contains("/token") && shown.contains("authorization"), "{shown}");
        let response = crate::Response::json_bytes_no_store(200, br#"{"access_token":"tok-123"}"#.to_vec())
            .with_header("Location", "https://c.example/cb?code=redirect-code");
        let shown = format!("{response:?}");
        assert!(!shown.contains("tok-123") && !shown.contains("redirect-code"), "{shown}");
        assert!(shown.contains("200") && shown.contains("Location"), "{shown}");
    }

    #[test]
    fn headers_are_case_insensitive_and_repetition_is_detected() {
        let req = Request::post("/").with_header("authorization", "a").with_header("AUTHORIZATION", "b");
        assert_eq!(req.headers().get("Authorization"), Some("a"));
        assert!(req.headers().get_unique("Authorization").is_err());
    }

    #[test]
    fn form_params_require_form_content_type() {
        let json = Request::post("/token").with_header("Content-Type", "application/json").with_body("{}");
        assert!(json.form_params().is_err());
        let missing = Request::post("/token").with_body("a=b");
        assert!(missing.form_params().is_err());
        let charset = Request::post("/token")
            .with_header("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
            .with_body("a=b");
        assert_eq!(charset.form_params().ok().and_then(|p| p.get("a").map(str::to_owned)), Some("b".into()));
    }
}
