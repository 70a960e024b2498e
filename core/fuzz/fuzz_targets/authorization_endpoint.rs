//! The authorization endpoint, in-process on the memory store: one request (`GET` with the
//! input as query, or `POST` with it as form), the resource owner's decision, then the code
//! exchanged at the token endpoint with the same parameters. Oracles: no panic; a redirect,
//! error or success, only ever to a registered redirect URI; a request that fails before its
//! redirect URI is known good is answered directly, never redirected.
#![no_main]

mod harness;

use grantry_core::http::header::LOCATION;
use grantry_core::request::FormBody;
use grantry_core::{Approval, Consent, Params, Response, Scope, http};
use harness::{block_on, server, to_registered_redirect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    // A query that is no valid request target is refused by any HTTP server before the
    // engine: such inputs are skipped.
    let request = if selector & 1 == 0 {
        let Ok(query) = std::str::from_utf8(rest) else { return };
        let Ok(request) = http::Request::get(format!("/authorize?{query}")).body(Vec::new()) else { return };
        request
    } else {
        let builder = http::Request::post("/authorize").header("Content-Type", "application/x-www-form-urlencoded");
        builder.body(rest.to_vec()).expect("a valid request")
    };
    let server = server();
    let authorization = match block_on(server.validate_authorization_request(&request)) {
        Ok(authorization) => authorization,
        Err(err) => {
            let response = err.to_response();
            match location(&response) {
                Some(location) => {
                    assert!(err.is_redirect());
                    assert!(to_registered_redirect(location), "error redirected to {location}");
                }
                None => assert!(!err.is_redirect() && response.status().as_u16() >= 400),
            }
            return;
        }
    };
    assert!(to_registered_redirect(authorization.redirect_uri()), "accepted {}", authorization.redirect_uri());
    let consent = match selector >> 1 & 3 {
        0 => Consent::Deny,
        1 => Consent::Allow(Approval::new("alice").with_scope(Scope::parse("read").expect("a scope"))),
        _ => Consent::allow("alice"),
    };
    let response = block_on(server.create_authorization_response(&authorization, consent));
    let location = location(&response).expect("a redirect");
    assert!(to_registered_redirect(location), "redirected to {location}");

    // Exchange the code, if one was issued, with the request's own parameters.
    let Some((_, query)) = location.split_once('?') else { return };
    let Ok(answer) = Params::parse(query.split('#').next().unwrap_or_default().as_bytes()) else { return };
    let Some(code) = answer.get("code") else { return };
    let params = authorization.params();
    let mut form = vec![("grant_type", "authorization_code"), ("code", code)];
    for name in ["client_id", "redirect_uri", "code_verifier"] {
        if let Some(value) = params.get(name) {
            form.push((name, value));
        }
    }
    let token = block_on(server.token_endpoint(&http::Request::post("/token").form(&form).expect("a valid request")));
    assert_ne!(token.status(), 500);
});

fn location(response: &Response) -> Option<&str> {
    response.headers().get(LOCATION).and_then(|value| value.to_str().ok())
}
