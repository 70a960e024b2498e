//! Requests: the engine takes the [`http`] crate's request with its whole body in memory,
//! [`Request`] (`http::Request<Vec<u8>>`), and reads it by the strict rules below.
//!
//! - A header the engine relies on (`Authorization`, `Content-Type`) given twice is
//!   `invalid_request`, and so is one that is not text ([`unique_header`]).
//! - A form body must be declared `application/x-www-form-urlencoded` (RFC 6749 §3.2) and is
//!   parsed strictly ([`form_params`], [`Params`]).
//! - The body is limited ([`BodyLimit`], 64 KiB by default): a server that streams bodies
//!   checks the head's `Content-Length` before reading anything, then reads at most the limit.
//!
//! Build a form `POST` (for tests and examples) with [`FormBody::form`]:
//!
//! ```
//! use grantry_core::http::{self, header};
//! use grantry_core::request::FormBody;
//!
//! let request = http::Request::post("/token")
//!     .header(header::AUTHORIZATION, "Basic d2ViOnNlY3JldA==")
//!     .form(&[("grant_type", "client_credentials")])
//!     .unwrap();
//! assert_eq!(request.headers()[header::CONTENT_TYPE], "application/x-www-form-urlencoded");
//! assert_eq!(request.body(), b"grant_type=client_credentials");
//! ```
//!
//! # Secrets and `Debug`
//!
//! `http::Request`'s and `http::Response`'s `Debug` print the URI, every header value and the
//! body, which carry credentials (client secrets, codes, tokens, passwords). Never log a request
//! or a response with `{:?}`: grantry does not. A header value marked sensitive
//! ([`http::HeaderValue::set_sensitive`]) prints as `Sensitive`; mark the `Authorization` values you
//! build, as grantry's tests and examples do, and grantry marks a redirect's `Location` (it
//! carries a code or a token).

use crate::error::OAuthError;
use crate::params::{Params, encode_form};
use crate::response::{self, Response};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, StatusCode};

/// A request as the engine takes it: the `http` crate's, with the whole body in memory.
///
/// `Vec<u8>`, rather than `bytes::Bytes`, because it is the standard library's own and the
/// body is small and bounded ([`BodyLimit`]): a framework's `Bytes` becomes one with one copy.
pub type Request = http::Request<Vec<u8>>;

/// The media type of a form body (RFC 6749 §3.2, Appendix B).
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Finishes an [`http::request::Builder`] with a form body: for tests, examples and clients.
pub trait FormBody {
    /// Sets `Content-Type: application/x-www-form-urlencoded` and the body encoded from
    /// `pairs` (RFC 6749 Appendix B). Fails as [`http::request::Builder::body`] does (an
    /// invalid URI or header given to the builder).
    fn form(self, pairs: &[(&str, &str)]) -> http::Result<Request>;
}

impl FormBody for http::request::Builder {
    fn form(self, pairs: &[(&str, &str)]) -> http::Result<Request> {
        self.header(CONTENT_TYPE, FORM_CONTENT_TYPE).body(encode_form(pairs).into_bytes())
    }
}

/// The value of a header that must not be repeated (`Authorization`, `Content-Type`):
/// `Ok(None)` when absent, `invalid_request` when it is given more than once or is not text.
pub fn unique_header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, OAuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::invalid_request(format!("header {name} given more than once")));
    }
    match std::str::from_utf8(first.as_bytes()) {
        Ok(text) => Ok(Some(text)),
        Err(_) => Err(OAuthError::invalid_request(format!("the {name} header is not valid text"))),
    }
}

/// The first value of header `name`, when it is text (a value that is not is no credential
/// of any method, and [`unique_header`] refuses it where the engine reads it).
pub(crate) fn header_text<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|value| std::str::from_utf8(value.as_bytes()).ok())
}

/// The query string (without `?`), if the request target has a non-empty one.
pub(crate) fn query<B>(request: &http::Request<B>) -> Option<&str> {
    request.uri().query().filter(|query| !query.is_empty())
}

/// Parses the body as form parameters, requiring the `application/x-www-form-urlencoded`
/// content type (RFC 6749 §3.2).
pub fn form_params(request: &Request) -> Result<Params<'_>, OAuthError> {
    check_form_content_type(request.headers())?;
    Params::parse(request.body())
}

/// Checks the body is declared `application/x-www-form-urlencoded`, once.
pub(crate) fn check_form_content_type(headers: &HeaderMap) -> Result<(), OAuthError> {
    let content_type = unique_header(headers, &CONTENT_TYPE)?;
    // Nearly every client sends exactly this; anything else takes the general check.
    let is_form = content_type.is_some_and(|ct| {
        ct == FORM_CONTENT_TYPE || {
            let mime = ct.split_once(';').map_or(ct, |(mime, _)| mime);
            mime.trim().eq_ignore_ascii_case(FORM_CONTENT_TYPE)
        }
    });
    if !is_form {
        return Err(OAuthError::invalid_request("the request body must be application/x-www-form-urlencoded"));
    }
    Ok(())
}

/// The body limit of [`BodyLimit::default`]: 64 KiB, far more than any OAuth request needs.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// The largest request body a server accepts. The engine reads bodies already in memory; a
/// server that streams them (hyper, axum) checks the head first ([`check_head`](Self::check_head)),
/// refusing a `Content-Length` over the limit before reading anything, then reads at most
/// [`limit`](Self::limit) bytes (a chunked body announces no length).
///
/// ```
/// use grantry_core::http;
/// use grantry_core::request::BodyLimit;
///
/// let limit = BodyLimit::new(1024);
/// let (parts, _stream) = http::Request::post("/token").header("content-length", "4096").body(()).unwrap().into_parts();
/// // Refused from the head: the stream is never read.
/// let refused = limit.check_head(&parts.headers).unwrap_err().to_response();
/// assert_eq!(refused.status(), 413);
/// assert_eq!(refused.headers()["cache-control"], "no-store");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    limit: usize,
}

impl Default for BodyLimit {
    fn default() -> Self {
        BodyLimit { limit: DEFAULT_BODY_LIMIT }
    }
}

impl BodyLimit {
    /// A limit of `bytes`.
    pub const fn new(bytes: usize) -> Self {
        BodyLimit { limit: bytes }
    }

    /// The largest body accepted, in bytes: read no more than this from a body stream.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Checks a request's head before its body is read: a `Content-Length` over the limit is
    /// [`BodyRefused::TooLarge`], a malformed one (or two that differ, RFC 9112 §6.3)
    /// [`BodyRefused::InvalidContentLength`].
    pub fn check_head(&self, headers: &HeaderMap) -> Result<(), BodyRefused> {
        let mut announced: Option<u64> = None;
        for value in headers.get_all(CONTENT_LENGTH) {
            let text = value.to_str().map_err(|_| BodyRefused::InvalidContentLength)?.trim();
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BodyRefused::InvalidContentLength);
            }
            // Too many digits for a u64 is certainly too large.
            let length = text.parse::<u64>().unwrap_or(u64::MAX);
            if announced.is_some_and(|previous| previous != length) {
                return Err(BodyRefused::InvalidContentLength);
            }
            announced = Some(length);
        }
        match announced {
            Some(length) if length > self.limit as u64 => Err(BodyRefused::TooLarge { limit: self.limit }),
            _ => Ok(()),
        }
    }

    /// Checks a request whose body is in memory: its head, then the body's real length (a
    /// lying `Content-Length` gets no longer body through).
    pub fn check<B: AsRef<[u8]>>(&self, request: &http::Request<B>) -> Result<(), BodyRefused> {
        self.check_head(request.headers())?;
        if request.body().as_ref().len() > self.limit {
            return Err(BodyRefused::TooLarge { limit: self.limit });
        }
        Ok(())
    }
}

/// Why a request's body was refused ([`BodyLimit`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyRefused {
    /// The body is longer than the limit (by its `Content-Length`, or once read).
    #[error("the request body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// `Content-Length` is not a number, or is given twice with different values.
    #[error("the Content-Length header is malformed")]
    InvalidContentLength,
}

impl BodyRefused {
    /// The HTTP status: `413` for a body too large, `400` otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyRefused::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyRefused::InvalidContentLength => StatusCode::BAD_REQUEST,
        }
    }

    /// The response: the OAuth JSON error `invalid_request` (RFC 6749 §5.2) with
    /// [`status`](Self::status), `Cache-Control: no-store` and `Pragma: no-cache`.
    pub fn to_response(&self) -> Response {
        let mut response = response::oauth_error(&OAuthError::invalid_request(self.to_string()));
        *response.status_mut() = self.status();
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header::AUTHORIZATION;

    fn json(response: &Response) -> serde_json::Value {
        serde_json::from_slice(response.body()).unwrap()
    }

    #[test]
    fn query_is_the_non_empty_query() {
        let get = |uri: &str| http::Request::get(uri).body(()).unwrap();
        assert_eq!(query(&get("/authorize?response_type=code&client_id=a")), Some("response_type=code&client_id=a"));
        assert_eq!(query(&get("/token?")), None);
        assert_eq!(query(&get("/token")), None);
        assert_eq!(query(&get("https://auth.example/token?x=1")), Some("x=1"));
    }

    #[test]
    fn sensitive_values_are_kept_out_of_debug() {
        let mut value = HeaderValue::from_static("Basic c3ZjOnN2Yy1zZWNyZXQ=");
        value.set_sensitive(true);
        let request = http::Request::post("/token").header(AUTHORIZATION, value).body(Vec::<u8>::new()).unwrap();
        let shown = format!("{:?}", request.headers());
        assert!(!shown.contains("c3ZjOnN2Yy1zZWNyZXQ="), "{shown}");
        assert!(shown.contains("authorization") && shown.contains("Sensitive"), "{shown}");
        // The value itself is untouched.
        assert_eq!(request.headers()[AUTHORIZATION], "Basic c3ZjOnN2Yy1zZWNyZXQ=");
    }

    #[test]
    fn repeated_or_unreadable_headers_are_invalid_requests() {
        let mut headers = HeaderMap::new();
        assert_eq!(unique_header(&headers, &AUTHORIZATION), Ok(None));
        headers.append(AUTHORIZATION, HeaderValue::from_static("a"));
        assert_eq!(unique_header(&headers, &AUTHORIZATION), Ok(Some("a")));
        headers.append(AUTHORIZATION, HeaderValue::from_static("b"));
        let err = unique_header(&headers, &AUTHORIZATION).unwrap_err();
        assert_eq!(err.code(), &crate::ErrorCode::InvalidRequest);

        let mut latin1 = HeaderMap::new();
        latin1.insert(CONTENT_TYPE, HeaderValue::from_bytes(b"caf\xe9").unwrap());
        let err = unique_header(&latin1, &CONTENT_TYPE).unwrap_err();
        assert_eq!(err.code(), &crate::ErrorCode::InvalidRequest);
        assert_eq!(header_text(&latin1, &CONTENT_TYPE), None, "never panics, never a credential");
        let mut utf8 = HeaderMap::new();
        utf8.insert(CONTENT_TYPE, HeaderValue::from_bytes("caf\u{e9}".as_bytes()).unwrap());
        assert_eq!(unique_header(&utf8, &CONTENT_TYPE), Ok(Some("caf\u{e9}")));
    }

    #[test]
    fn form_params_require_form_content_type() {
        let json_body = http::Request::post("/token").header(CONTENT_TYPE, "application/json").body(b"{}".to_vec());
        assert!(form_params(&json_body.unwrap()).is_err());
        let missing = http::Request::post("/token").body(b"a=b".to_vec()).unwrap();
        assert!(form_params(&missing).is_err());
        let charset = http::Request::post("/token")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded; charset=UTF-8")
            .body(b"a=b".to_vec())
            .unwrap();
        assert_eq!(form_params(&charset).ok().and_then(|p| p.get("a").map(str::to_owned)), Some("b".into()));
        let twice = http::Request::post("/token")
            .header(CONTENT_TYPE, FORM_CONTENT_TYPE)
            .header(CONTENT_TYPE, FORM_CONTENT_TYPE)
            .body(b"a=b".to_vec())
            .unwrap();
        assert!(form_params(&twice).is_err());
    }

    fn post(body: &[u8]) -> Request {
        http::Request::post("https://auth.example/token?x=1")
            .header(CONTENT_TYPE, FORM_CONTENT_TYPE)
            .body(body.to_vec())
            .unwrap()
    }

    #[test]
    fn body_limit_is_enforced_before_parsing() {
        let limit = BodyLimit::new(16);
        assert_eq!(limit.limit(), 16);
        assert!(limit.check(&post(&[b'a'; 16])).is_ok());
        let err = limit.check(&post(&[b'a'; 17])).unwrap_err();
        assert_eq!(err, BodyRefused::TooLarge { limit: 16 });
        let response = err.to_response();
        assert_eq!(response.status(), 413);
        assert_eq!(json(&response)["error"], "invalid_request");
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(BodyLimit::default().limit(), DEFAULT_BODY_LIMIT);
    }

    #[test]
    fn content_length_is_checked_from_the_head() {
        let limit = BodyLimit::new(100);
        let head = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append(CONTENT_LENGTH, HeaderValue::from_str(v).unwrap());
            }
            limit.check_head(&headers)
        };
        assert_eq!(head(&[]), Ok(()));
        assert_eq!(head(&["100"]), Ok(()));
        assert_eq!(head(&["101"]), Err(BodyRefused::TooLarge { limit: 100 }));
        assert_eq!(head(&["99999999999999999999999999"]), Err(BodyRefused::TooLarge { limit: 100 }));
        assert_eq!(head(&["12", "12"]), Ok(()));
        assert_eq!(head(&["12", "13"]), Err(BodyRefused::InvalidContentLength));
        assert_eq!(head(&["-1"]), Err(BodyRefused::InvalidContentLength));
        assert_eq!(head(&["ten"]), Err(BodyRefused::InvalidContentLength));
        assert_eq!(BodyRefused::InvalidContentLength.to_response().status(), 400);

        // A lying Content-Length does not get a longer body through.
        let lying = http::Request::post("/token").header(CONTENT_LENGTH, "1").body(vec![b'a'; 101]).unwrap();
        assert_eq!(limit.check(&lying), Err(BodyRefused::TooLarge { limit: 100 }));
    }
}
