//! The adapter for the [`http`] crate (cargo feature `http`): an `http::Request` in, a
//! [`Request`] for the engine; a [`Response`] out, an `http::Response<Vec<u8>>` for the
//! framework. Any framework built on `http` (axum, hyper, tower, ...) needs only a few lines
//! around it.
//!
//! The body is limited ([`DEFAULT_BODY_LIMIT`], 64 KiB, unless configured): a request whose
//! `Content-Length` announces more is refused from its head alone, before any body is read or
//! parsed, and so is a body that turns out longer. The refusal is `413` with the OAuth JSON
//! error `invalid_request` ([`AdapterError::to_response`]).
//!
//! ```
//! use grantry_core::adapter::{HttpAdapter, http};
//! use grantry_core::{AuthorizationServer, MemoryStore, ServerConfig};
//!
//! # async fn run() {
//! let server = AuthorizationServer::new(MemoryStore::new(), ServerConfig::new("https://auth.example").unwrap());
//! let adapter = HttpAdapter::new(); // 64 KiB body limit
//!
//! let incoming = http::Request::post("/token")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(b"grant_type=client_credentials".to_vec())
//!     .unwrap();
//! let response = match adapter.request(&incoming) {
//!     Ok(request) => server.token_endpoint(&request).await,
//!     Err(refused) => refused.to_response(),
//! };
//! let outgoing: http::Response<Vec<u8>> = grantry_core::adapter::into_http_response(response);
//! assert_eq!(outgoing.status(), 400); // no grant is registered: unsupported_grant_type
//! assert_eq!(outgoing.headers()["cache-control"], "no-store");
//!
//! // A body over the limit is refused before it is parsed.
//! let huge = http::Request::post("/token").body(vec![b'a'; 70 * 1024]).unwrap();
//! let refused = adapter.request(&huge).unwrap_err().to_response();
//! assert_eq!(refused.status, 413);
//! assert_eq!(refused.json().unwrap()["error"], "invalid_request");
//! # }
//! ```
//!
//! With a streaming body (hyper, axum), check the head with [`HttpAdapter::check_head`] first,
//! read at most [`HttpAdapter::body_limit`] bytes, then convert with
//! [`HttpAdapter::request_from_parts`]:
//!
//! ```
//! use grantry_core::adapter::{HttpAdapter, http};
//!
//! let adapter = HttpAdapter::new().with_body_limit(1024);
//! let (parts, _stream) = http::Request::post("/token").header("content-length", "4096").body(()).unwrap().into_parts();
//! // Refused from the head: the stream is never read.
//! assert_eq!(adapter.check_head(&parts.headers).unwrap_err().to_response().status, 413);
//! ```

use crate::error::OAuthError;
use crate::request::{Method, Request};
use crate::response::Response;

pub use http;

/// The body limit of [`HttpAdapter::new`]: 64 KiB, far more than any OAuth request needs.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Headers the engine reads: a value of one of these that is not text refuses the request
/// (rather than being skipped, which could hide a credential or a repetition).
const ENGINE_HEADERS: [&str; 3] = ["authorization", "content-type", "content-length"];

/// Why an `http` request could not be handed to the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The body is longer than the limit (by its `Content-Length`, or once read).
    #[error("the request body exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// `Content-Length` is not a number, or is given twice with different values.
    #[error("the Content-Length header is malformed")]
    InvalidContentLength,
    /// A header the engine reads holds bytes that are not UTF-8 text.
    #[error("the {name} header is not valid text")]
    InvalidHeader {
        /// The header's name (lower case).
        name: String,
    },
}

impl AdapterError {
    /// The OAuth error: `invalid_request` with a description.
    pub fn to_oauth_error(&self) -> OAuthError {
        OAuthError::invalid_request(self.to_string())
    }

    /// The HTTP status: `413` for a body too large, `400` otherwise.
    pub fn status(&self) -> u16 {
        match self {
            AdapterError::BodyTooLarge { .. } => 413,
            _ => 400,
        }
    }

    /// The response: the OAuth JSON error (RFC 6749 §5.2) `invalid_request` with
    /// [`status`](Self::status) and `Cache-Control: no-store`.
    pub fn to_response(&self) -> Response {
        let mut response = Response::oauth_error(&self.to_oauth_error());
        response.status = self.status();
        response
    }
}

/// Converts `http` requests into engine [`Request`]s, with a body limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpAdapter {
    body_limit: usize,
}

impl Default for HttpAdapter {
    fn default() -> Self {
        HttpAdapter { body_limit: DEFAULT_BODY_LIMIT }
    }
}

impl HttpAdapter {
    /// An adapter with the [`DEFAULT_BODY_LIMIT`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the largest body accepted, in bytes.
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The largest body accepted, in bytes: read no more than this from a body stream.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// Checks a request's head before its body is read: a `Content-Length` over the limit is
    /// [`AdapterError::BodyTooLarge`], a malformed one [`AdapterError::InvalidContentLength`].
    /// A body without `Content-Length` (chunked) must still be read with the limit.
    pub fn check_head(&self, headers: &http::HeaderMap) -> Result<(), AdapterError> {
        let mut announced: Option<u64> = None;
        for value in headers.get_all(http::header::CONTENT_LENGTH) {
            let text = value.to_str().map_err(|_| AdapterError::InvalidContentLength)?.trim();
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(AdapterError::InvalidContentLength);
            }
            // Too many digits for a u64 is certainly too large.
            let length = text.parse::<u64>().unwrap_or(u64::MAX);
            if announced.is_some_and(|previous| previous != length) {
                return Err(AdapterError::InvalidContentLength);
            }
            announced = Some(length);
        }
        match announced {
            Some(length) if length > self.body_limit as u64 => {
                Err(AdapterError::BodyTooLarge { limit: self.body_limit })
            }
            _ => Ok(()),
        }
    }

    /// Converts a request's head and its (already read) body. The head and the body length
    /// are checked against the limit first, so nothing over it is ever parsed.
    ///
    /// Header values that are not UTF-8 text are skipped, except for the headers the engine
    /// reads (`Authorization`, `Content-Type`, `Content-Length`), which refuse the request.
    pub fn request_from_parts(&self, parts: &http::request::Parts, body: &[u8]) -> Result<Request, AdapterError> {
        self.convert(&parts.method, &parts.uri, &parts.headers, body)
    }

    /// Converts a whole request whose body is in memory.
    pub fn request<B: AsRef<[u8]>>(&self, request: &http::Request<B>) -> Result<Request, AdapterError> {
        self.convert(request.method(), request.uri(), request.headers(), request.body().as_ref())
    }

    fn convert(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Request, AdapterError> {
        self.check_head(headers)?;
        if body.len() > self.body_limit {
            return Err(AdapterError::BodyTooLarge { limit: self.body_limit });
        }
        // The request target as the engine expects it: path and query (never an authority).
        let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let mut request = Request::new(Method::parse(method.as_str()), target);
        for (name, value) in headers {
            match std::str::from_utf8(value.as_bytes()) {
                Ok(text) => request = request.with_header(name.as_str(), text),
                Err(_) if ENGINE_HEADERS.contains(&name.as_str()) => {
                    return Err(AdapterError::InvalidHeader { name: name.as_str().to_owned() });
                }
                Err(_) => {}
            }
        }
        Ok(request.with_body(body))
    }
}

/// Converts an engine [`Response`] into an `http::Response`.
///
/// A status or header the `http` crate cannot represent (which the engine never produces, but
/// a custom grant might) turns the whole response into a `500` `server_error`, rather than
/// sending a response with a header silently missing.
pub fn into_http_response(response: Response) -> http::Response<Vec<u8>> {
    match try_into_http_response(response) {
        Some(converted) => converted,
        None => {
            let fallback = Response::oauth_error(&OAuthError::server_error("the response could not be encoded"));
            try_into_http_response(fallback).unwrap_or_else(|| {
                let mut bare = http::Response::new(Vec::new());
                *bare.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                bare
            })
        }
    }
}

fn try_into_http_response(response: Response) -> Option<http::Response<Vec<u8>>> {
    let mut converted = http::Response::new(response.body);
    *converted.status_mut() = http::StatusCode::from_u16(response.status).ok()?;
    let headers = converted.headers_mut();
    for (name, value) in response.headers.iter() {
        let name = http::HeaderName::from_bytes(name.as_bytes()).ok()?;
        let value = http::HeaderValue::from_bytes(value.as_bytes()).ok()?;
        headers.append(name, value);
    }
    Some(converted)
}

impl From<Response> for http::Response<Vec<u8>> {
    fn from(response: Response) -> Self {
        into_http_response(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &[u8]) -> http::Request<Vec<u8>> {
        http::Request::post("https://auth.example/token?x=1")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Authorization", "Basic d2ViOnNlY3JldA==")
            .header("X-Repeat", "a")
            .header("X-Repeat", "b")
            .body(body.to_vec())
            .unwrap()
    }

    #[test]
    fn request_round_trip() {
        let converted = HttpAdapter::new().request(&post(b"grant_type=client_credentials")).unwrap();
        assert_eq!(converted.method(), &Method::Post);
        // Path and query only: the engine never sees the authority.
        assert_eq!(converted.uri(), "/token?x=1");
        assert_eq!(converted.query(), Some("x=1"));
        assert_eq!(converted.headers().get("authorization"), Some("Basic d2ViOnNlY3JldA=="));
        assert_eq!(converted.headers().get_all("x-repeat").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(converted.form_params().unwrap().get("grant_type"), Some("client_credentials"));

        let get = http::Request::get("/authorize?client_id=web").body(Vec::new()).unwrap();
        let converted = HttpAdapter::new().request(&get).unwrap();
        assert_eq!((converted.method(), converted.path()), (&Method::Get, "/authorize"));
        let other = http::Request::delete("/token").body(Vec::new()).unwrap();
        assert_eq!(HttpAdapter::new().request(&other).unwrap().method(), &Method::Other("DELETE".into()));
    }

    #[test]
    fn response_round_trip() {
        let response = Response::json_no_store(200, &serde_json::json!({"access_token": "t"}))
            .with_header("Set-Cookie", "a=1")
            .with_header("Set-Cookie", "b=2");
        let converted = into_http_response(response.clone());
        assert_eq!(converted.status(), 200);
        assert_eq!(converted.headers()["content-type"], "application/json");
        assert_eq!(converted.headers()["cache-control"], "no-store");
        assert_eq!(converted.headers().get_all("set-cookie").iter().count(), 2);
        assert_eq!(converted.body(), &response.body);

        let redirect: http::Response<Vec<u8>> = Response::redirect(302, "https://c.example/cb?code=x").into();
        assert_eq!(redirect.status(), 302);
        assert_eq!(redirect.headers()["location"], "https://c.example/cb?code=x");
    }

    #[test]
    fn unrepresentable_responses_become_server_errors() {
        let bad_header = Response::new(200).with_header("Location", "https://c.example/\r\nX: y");
        let converted = into_http_response(bad_header);
        assert_eq!(converted.status(), 500);
        assert!(String::from_utf8_lossy(converted.body()).contains("server_error"));
        assert_eq!(into_http_response(Response::new(42)).status(), 500);
        assert_eq!(into_http_response(Response::new(200).with_header("bad name", "v")).status(), 500);
    }

    #[test]
    fn body_limit_is_enforced_before_parsing() {
        let adapter = HttpAdapter::new().with_body_limit(16);
        assert_eq!(adapter.body_limit(), 16);
        assert!(adapter.request(&post(&[b'a'; 16])).is_ok());
        let err = adapter.request(&post(&[b'a'; 17])).unwrap_err();
        assert_eq!(err, AdapterError::BodyTooLarge { limit: 16 });
        let response = err.to_response();
        assert_eq!(response.status, 413);
        assert_eq!(response.json().unwrap()["error"], "invalid_request");
        assert_eq!(response.header("Cache-Control"), Some("no-store"));
        assert_eq!(HttpAdapter::new().body_limit(), DEFAULT_BODY_LIMIT);
    }

    #[test]
    fn content_length_is_checked_from_the_head() {
        let adapter = HttpAdapter::new().with_body_limit(100);
        let head = |values: &[&str]| {
            let mut headers = http::HeaderMap::new();
            for v in values {
                headers.append(http::header::CONTENT_LENGTH, http::HeaderValue::from_str(v).unwrap());
            }
            adapter.check_head(&headers)
        };
        assert_eq!(head(&[]), Ok(()));
        assert_eq!(head(&["100"]), Ok(()));
        assert_eq!(head(&["101"]), Err(AdapterError::BodyTooLarge { limit: 100 }));
        assert_eq!(head(&["99999999999999999999999999"]), Err(AdapterError::BodyTooLarge { limit: 100 }));
        assert_eq!(head(&["12", "12"]), Ok(()));
        assert_eq!(head(&["12", "13"]), Err(AdapterError::InvalidContentLength));
        assert_eq!(head(&["-1"]), Err(AdapterError::InvalidContentLength));
        assert_eq!(head(&["ten"]), Err(AdapterError::InvalidContentLength));
        assert_eq!(AdapterError::InvalidContentLength.to_response().status, 400);

        // A lying Content-Length does not get a longer body through.
        let lying = http::Request::post("/token").header("content-length", "1").body(vec![b'a'; 101]).unwrap();
        assert_eq!(adapter.request(&lying), Err(AdapterError::BodyTooLarge { limit: 100 }));
    }

    #[test]
    fn header_values_that_are_not_text_never_panic() {
        let latin1 = http::HeaderValue::from_bytes(b"caf\xe9").unwrap();
        let utf8 = http::HeaderValue::from_bytes("caf\u{e9}".as_bytes()).unwrap();
        let mut request = http::Request::get("/api/me").body(Vec::new()).unwrap();
        request.headers_mut().insert("x-latin1", latin1.clone());
        request.headers_mut().insert("x-utf8", utf8);
        let converted = HttpAdapter::new().request(&request).unwrap();
        assert_eq!(converted.headers().get("x-utf8"), Some("caf\u{e9}"));
        assert_eq!(converted.headers().get("x-latin1"), None, "skipped");

        request.headers_mut().insert("authorization", latin1);
        let err = HttpAdapter::new().request(&request).unwrap_err();
        assert_eq!(err, AdapterError::InvalidHeader { name: "authorization".into() });
        assert_eq!(err.to_response().status, 400);
    }
}
