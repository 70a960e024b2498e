//! The token endpoint, in-process on the memory store: each input is a sequence of up to four
//! requests on a fresh server (so a code or refresh token that one request obtains, named
//! predictably, can be sent back by the next). Oracles: no panic, never `500`, every answer a
//! JSON object with `access_token` (200) or `error` (otherwise), never cached.
#![no_main]

mod harness;

use grantry_core::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use grantry_core::http::{HeaderValue, Method};
use grantry_core::{AuthorizationServer, Consent, Request, Response, http};
use harness::{WEB_REDIRECT, block_on, server};
use libfuzzer_sys::fuzz_target;

/// `Basic base64(web:web-secret)` and `Basic base64(svc:svc-secret)`.
const WEB_BASIC: &str = "Basic d2ViOndlYi1zZWNyZXQ=";
const SVC_BASIC: &str = "Basic c3ZjOnN2Yy1zZWNyZXQ=";

/// One request from one chunk of the input. Its first byte chooses: bits 0-1 the
/// `Authorization` header (none, web's, svc's, or the chunk's first line), bit 2 whether the
/// form content type is sent, bit 3 `GET` instead of `POST`. The rest is the body.
/// A line that is no valid header value (a control character) is left out, as an HTTP server
/// would never pass it on; any other bytes, text or not, are sent as they are.
fn request(chunk: &[u8]) -> Request {
    let (selector, mut body) = chunk.split_first().map_or((0, chunk), |(s, rest)| (*s, rest));
    let mut request = Request::new(Vec::new());
    *request.method_mut() = if selector & 8 == 0 { Method::POST } else { Method::GET };
    *request.uri_mut() = http::Uri::from_static("/token");
    let authorization = match selector & 3 {
        1 => Some(HeaderValue::from_static(WEB_BASIC)),
        2 => Some(HeaderValue::from_static(SVC_BASIC)),
        3 => {
            let line_end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
            let line = HeaderValue::from_bytes(&body[..line_end]).ok();
            body = body.get(line_end + 1..).unwrap_or_default();
            line
        }
        _ => None,
    };
    if let Some(authorization) = authorization {
        request.headers_mut().insert(AUTHORIZATION, authorization);
    }
    if selector & 4 == 0 {
        request.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
    }
    *request.body_mut() = body.to_vec();
    request
}

fn header<'a>(response: &'a Response, name: &http::HeaderName) -> Option<&'a str> {
    response.headers().get(name).and_then(|value| value.to_str().ok())
}

/// A code for `web` (`code-1`, redirect [`WEB_REDIRECT`], scope `read`), so that exchanges
/// and refreshes are reachable from the first request.
fn with_a_code(server: &AuthorizationServer) {
    let query = format!(
        "/authorize?response_type=code&client_id=web&redirect_uri={}&scope=read&state=s",
        grantry_core::encode_component(WEB_REDIRECT)
    );
    let request = http::Request::get(query).body(Vec::new()).expect("a valid URI");
    let authorization = block_on(server.validate_authorization_request(&request)).expect("a valid request");
    let response = block_on(server.create_authorization_response(&authorization, Consent::allow("alice")));
    assert!(header(&response, &LOCATION).is_some_and(|l| l.contains("code=code-1")));
}

fuzz_target!(|data: &[u8]| {
    let server = server();
    with_a_code(&server);
    for chunk in data.split(|&b| b == 0).take(4) {
        let response = block_on(server.token_endpoint(&request(chunk)));
        assert_ne!(response.status(), 500, "server_error from the memory store");
        let json: serde_json::Value = serde_json::from_slice(response.body()).expect("a JSON body");
        let member = if response.status() == 200 { "access_token" } else { "error" };
        assert!(json.get(member).is_some_and(|v| v.is_string()), "{} without {member}: {json}", response.status());
        assert_eq!(header(&response, &CACHE_CONTROL), Some("no-store"));
    }
});
