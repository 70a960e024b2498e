// Benchmark setup may panic: a panic here is a broken benchmark, not a request-driven failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Each extension-driven operation benchmarked on its own with divan, through the public
//! server API from raw request to serialised response: the authorization code grant with PKCE
//! S256, the JWT bearer grant with RS256 and HS256 assertions, the grants beyond RFC 6749
//! (the device authorization grant, token exchange), and an RFC 9068 JWT access token issued
//! and verified with each algorithm. Divan's statistics, for one
//! operation at a time; the ratios to the floors are `operations.rs`'s (see the grants crate's
//! `each_operation.rs`).
//!
//! Run: `cargo bench -p grantry-extensions --bench each_operation --features jwt` (divan's options after `--`).

#[path = "fixtures/beyond.rs"]
mod beyond;
mod fixtures;
#[path = "../../grants/benches/fixtures/mod.rs"]
mod rfc6749;
#[path = "../../grants/benches/support/mod.rs"]
mod support;

use divan::Bencher;
use fixtures::{
    ACCESS_TOKEN_JTI, ISSUER, NOW, access_token_keys, authorize_request, bearer_request, code, exchange,
    hs256_assertion, jwt_server, pkce_server, rs256_assertion, rsa_key,
};
use grantry_core::{AccessTokenClaims, AccessTokenFormat as _, AuthorizationServer, Consent, Request, Response, Scope};
use serde_json::json;
use support::{DIVAN_SAMPLE_SIZE, DIVAN_SAMPLES, block_on};

fn main() {
    divan::main();
}

/// The code exchange alone, with its verifier: each code is made beforehand, untimed.
#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn pkce_exchange(bencher: Bencher) {
    let (server, _steady) = pkce_server();
    let authorize = authorize_request();
    bencher
        .with_inputs(|| exchange(&code(&server, &authorize)))
        .bench_local_refs(|request| block_on(server.token_endpoint(request)).into_body());
}

/// The authorization request alone, with its S256 challenge.
#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn pkce_authorization_request(bencher: Bencher) {
    let (server, _steady) = pkce_server();
    let authorize = authorize_request();
    bencher.bench_local(|| authorize_once(&server, &authorize));
}

#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn pkce_authorization_request_and_exchange(bencher: Bencher) {
    let (server, _steady) = pkce_server();
    let authorize = authorize_request();
    bencher.bench_local(|| block_on(server.token_endpoint(&exchange(&code(&server, &authorize)))).into_body());
}

#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn jwt_bearer_rs256(bencher: Bencher) {
    let rsa = rsa_key();
    let (server, _steady) = jwt_server(json!({"keys": [rsa.jwk.clone()]}));
    let request = bearer_request(&rs256_assertion(&rsa));
    assert_eq!(block_on(server.token_endpoint(&request)).status().as_u16(), 200, "the RS256 assertion is accepted");
    bencher.bench_local(|| block_on(server.token_endpoint(&request)).into_body());
}

#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn jwt_bearer_hs256(bencher: Bencher) {
    let (server, _steady) = jwt_server(json!({"keys": []}));
    let request = bearer_request(&hs256_assertion());
    assert_eq!(block_on(server.token_endpoint(&request)).status().as_u16(), 200, "the HS256 assertion is accepted");
    bencher.bench_local(|| block_on(server.token_endpoint(&request)).into_body());
}

/// An access token issued then verified by the format, with test key `rsa-1`, `ec-1` or `ed-1`.
#[divan::bench(args = ["rsa-1", "ec-1", "ed-1"], sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn jwt_access_token_issue_and_verify(bencher: Bencher, key: &str) {
    let format = access_token_keys(key).format;
    let scope = Scope::parse("read write").unwrap();
    let claims = AccessTokenClaims::new(ISSUER, "alice", "web", &scope, NOW, NOW + 3600, ACCESS_TOKEN_JTI);
    bencher.bench_local(|| format.verify(&format.issue(&claims).unwrap(), NOW));
}

fn authorize_once(server: &AuthorizationServer, authorize: &Request) -> Response {
    let request = block_on(server.validate_authorization_request(authorize)).expect("valid request");
    block_on(server.create_authorization_response(&request, Consent::allow("alice")))
}

/// The device authorization request of a public client (RFC 8628 §3.1).
#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn device_authorization_request(bencher: Bencher) {
    let (server, _steady) = beyond::device_server();
    let request = beyond::device_authorization_request();
    bencher.bench_local(|| {
        block_on(server.grant_endpoint(beyond::DEVICE_AUTHORIZATION, &request)).map(Response::into_body)
    });
}

/// A device-code poll still pending: each code is made beforehand, untimed, and polled once.
#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn device_code_poll_pending(bencher: Bencher) {
    device_code_poll(bencher, false);
}

/// A device-code poll after the user approved (untimed): the tokens are issued.
#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn device_code_redemption(bencher: Bencher) {
    device_code_poll(bencher, true);
}

fn device_code_poll(bencher: Bencher, approved: bool) {
    let (server, _steady) = beyond::device_server();
    bencher
        .with_inputs(|| beyond::device_polls(&server, 1, approved).remove(0))
        .bench_local_refs(|request| block_on(server.token_endpoint(request)).into_body());
}

/// A token exchange of an active access token (RFC 8693), each issued beforehand, untimed.
#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn token_exchange(bencher: Bencher) {
    let (server, _steady) = beyond::exchange_server();
    bencher
        .with_inputs(|| beyond::token_exchanges(&server, 1).remove(0))
        .bench_local_refs(|request| block_on(server.token_endpoint(request)).into_body());
}
