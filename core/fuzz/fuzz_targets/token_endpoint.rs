//! The token endpoint, in-process on the memory store: each input is a sequence of up to four
//! requests on a fresh server (so a code or refresh token that one request obtains, named
//! predictably, can be sent back by the next). Oracles: no panic, never `500`, every answer a
//! JSON object with `access_token` (200) or `error` (otherwise), never cached.
#![no_main]

mod harness;

use grantry_core::{AuthorizationServer, Consent, Request};
use harness::{WEB_REDIRECT, block_on, server};
use libfuzzer_sys::fuzz_target;

/// `Basic base64(web:web-secret)` and `Basic base64(svc:svc-secret)`.
const WEB_BASIC: &str = "Basic d2ViOndlYi1zZWNyZXQ=";
const SVC_BASIC: &str = "Basic c3ZjOnN2Yy1zZWNyZXQ=";

/// One request from one chunk of the input. Its first byte chooses: bits 0-1 the
/// `Authorization` header (none, web's, svc's, or the chunk's first line), bit 2 whether the
/// form content type is sent, bit 3 `GET` instead of `POST`. The rest is the body.
fn request(chunk: &[u8]) -> Request {
    let (selector, mut body) = chunk.split_first().map_or((0, chunk), |(s, rest)| (*s, rest));
    let mut request =
        Request::new(if selector & 8 == 0 { grantry_core::Method::Post } else { grantry_core::Method::Get }, "/token");
    match selector & 3 {
        1 => request = request.with_header("Authorization", WEB_BASIC),
        2 => request = request.with_header("Authorization", SVC_BASIC),
        3 => {
            let line_end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
            request = request.with_header("Authorization", String::from_utf8_lossy(&body[..line_end]));
            body = body.get(line_end + 1..).unwrap_or_default();
        }
        _ => {}
    }
    if selector & 4 == 0 {
        request = request.with_header("Content-Type", "application/x-www-form-urlencoded");
    }
    request.with_body(body.to_vec())
}

/// A code for `web` (`code-1`, redirect [`WEB_REDIRECT`], scope `read`), so that exchanges
/// and refreshes are reachable from the first request.
fn with_a_code(server: &AuthorizationServer) {
    let query = format!(
        "/authorize?response_type=code&client_id=web&redirect_uri={}&scope=read&state=s",
        grantry_core::encode_component(WEB_REDIRECT)
    );
    let authorization = block_on(server.validate_authorization_request(&Request::get(query))).expect("a valid request");
    let response = block_on(server.create_authorization_response(&authorization, Consent::allow("alice")));
    assert!(response.header("Location").is_some_and(|l| l.contains("code=code-1")));
}

fuzz_target!(|data: &[u8]| {
    let server = server();
    with_a_code(&server);
    for chunk in data.split(|&b| b == 0).take(4) {
        let response = block_on(server.token_endpoint(&request(chunk)));
        assert_ne!(response.status, 500, "server_error from the memory store");
        let json = response.json().expect("a JSON body");
        let member = if response.status == 200 { "access_token" } else { "error" };
        assert!(json.get(member).is_some_and(|v| v.is_string()), "{} without {member}: {json}", response.status);
        assert_eq!(response.header("Cache-Control"), Some("no-store"));
    }
});
