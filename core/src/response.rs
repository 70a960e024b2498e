//! Responses: the engine answers with the [`http`] crate's response, [`Response`]
//! (`http::Response<Vec<u8>>`), built by the functions here.
//!
//! A header the `http` crate cannot carry (a redirect URI or a realm with control
//! characters, which the engine never makes but a custom grant or a configuration might)
//! turns the whole response into a `500` `server_error`, rather than one with a header
//! silently missing. See [`request`](crate::request) on keeping responses out of logs.

use crate::error::OAuthError;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

/// A response as the engine makes it: the `http` crate's, with the body in memory. A
/// framework takes it with its body type mapped in (`response.map(axum::body::Body::from)`).
pub type Response = http::Response<Vec<u8>>;

/// A JSON response that must not be cached (RFC 6749 §5.1): `Content-Type: application/json`,
/// `Cache-Control: no-store`, `Pragma: no-cache`.
pub fn json_no_store(status: StatusCode, body: &serde_json::Value) -> Response {
    json_bytes_no_store(status, body.to_string().into_bytes())
}

/// `value` serialised as a JSON body (empty if it cannot be). Room for a token, error or
/// introspection response is made at once: `serde_json::to_vec` starts at 128 bytes and
/// regrows, which is most of these responses' size.
pub(crate) fn json_body(value: &impl serde::Serialize) -> Vec<u8> {
    let mut body = Vec::with_capacity(512);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => body,
        Err(_) => Vec::new(),
    }
}

/// [`json_no_store`] for a body already serialised.
pub fn json_bytes_no_store(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The JSON error response for `error` (RFC 6749 §5.2) with its status, and its
/// `WWW-Authenticate` challenge if it carries one (§5.2 `invalid_client`, RFC 6750 §3).
pub fn oauth_error(error: &OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_bytes_no_store(status, json_body(error));
    if let Some(challenge) = error.challenge() {
        let Ok(challenge) = HeaderValue::from_bytes(challenge.as_bytes()) else {
            return unencodable();
        };
        response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
    }
    response
}

/// A redirect to `location` with the given 3xx status, not cacheable (RFC 6749 §4.1.2,
/// §4.2.2). The `Location` value is marked sensitive: it carries a code or a token.
pub fn redirect(status: StatusCode, location: &str) -> Response {
    let Ok(mut location) = HeaderValue::from_bytes(location.as_bytes()) else {
        return unencodable();
    };
    location.set_sensitive(true);
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = status;
    response.headers_mut().insert(LOCATION, location);
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The `500` for a response that cannot be encoded.
fn unencodable() -> Response {
    oauth_error(&OAuthError::server_error("the response could not be encoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_set_the_rfc_headers() {
        let response = json_no_store(StatusCode::OK, &serde_json::json!({"access_token": "t"}));
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["pragma"], "no-cache");
        assert_eq!(response.body(), br#"{"access_token":"t"}"#);

        let err = OAuthError::invalid_client("bad secret").with_challenge("Basic realm=\"grantry\"");
        let response = oauth_error(&err);
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Basic realm=\"grantry\"");
        assert_eq!(response.headers()["cache-control"], "no-store");

        let redirect = redirect(StatusCode::FOUND, "https://c.example/cb?code=x");
        assert_eq!(redirect.status(), 302);
        assert_eq!(redirect.headers()["location"], "https://c.example/cb?code=x");
        assert_eq!(redirect.headers()["cache-control"], "no-store");
        let shown = format!("{:?}", redirect.headers());
        assert!(!shown.contains("code=x"), "{shown}");
    }

    #[test]
    fn unrepresentable_headers_become_server_errors() {
        let bad_location = redirect(StatusCode::FOUND, "https://c.example/\r\nX: y");
        assert_eq!(bad_location.status(), 500);
        assert!(bad_location.headers().get("location").is_none());
        assert!(String::from_utf8_lossy(bad_location.body()).contains("server_error"));
        let bad_challenge = oauth_error(&OAuthError::invalid_client("x").with_challenge("Basic\nrealm"));
        assert_eq!(bad_challenge.status(), 500);
        assert!(bad_challenge.headers().get("www-authenticate").is_none());
    }
}
