// Benchmark setup may panic: a panic here is a broken benchmark, not a request-driven failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Each operation of the RFC 6749 grants benchmarked on its own with divan, through the public
//! server API from raw request to serialised response: divan's statistics (fastest, slowest,
//! median, mean over its samples) for one operation at a time, for comparing two builds.
//!
//! The ratios to each operation's floor, growth with a million tokens and 2-thread scaling
//! are `operations.rs`'s: divan measures one benchmark after another, and on a shared machine
//! a ratio of two figures taken apart moves with its load (README, "Performance").
//!
//! Run: `cargo bench -p grantry-grants --bench each_operation` (divan's options after `--`).
//! Each benchmark gets a fresh server and times 6,400 operations on it ([`DIVAN_SAMPLES`] of
//! [`DIVAN_SAMPLE_SIZE`]), so its store stays under about 32,000 codes and tokens (an
//! operation leaves at most five), where the floor report sweeps its store to about a thousand.

mod fixtures;
mod support;

use divan::Bencher;
use fixtures::{AUTHORIZE, SVC_BASIC, client_credentials_request, code, exchange_request, refresh_requests, server};
use grantry_core::http;
use grantry_core::request::FormBody;
use grantry_core::{AuthorizationServer, Consent, Request, Scope};
use support::{DIVAN_SAMPLE_SIZE, DIVAN_SAMPLES, block_on};

fn main() {
    divan::main();
}

/// How many different tokens the lookup benchmarks read in turn, as `operations.rs`'s do.
const LOOKED_UP: usize = 1024;

#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn client_credentials(bencher: Bencher) {
    let (server, _steady) = server();
    let request = client_credentials_request();
    bencher.bench_local(|| block_on(server.token_endpoint(&request)).into_body());
}

/// The code exchange alone: each code is made beforehand, untimed.
#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn authorization_code_exchange(bencher: Bencher) {
    let (server, _steady) = server();
    bencher
        .with_inputs(|| exchange_request(&code(&server)))
        .bench_local_refs(|request| block_on(server.token_endpoint(request)).into_body());
}

/// The authorization request alone: validation and the redirect with a code.
#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn authorization_request(bencher: Bencher) {
    let (server, _steady) = server();
    let request = http::Request::get(AUTHORIZE).body(Vec::new()).expect("a valid request");
    bencher.bench_local(|| authorize(&server, &request));
}

#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn authorization_request_and_exchange(bencher: Bencher) {
    let (server, _steady) = server();
    bencher.bench_local(|| block_on(server.token_endpoint(&exchange_request(&code(&server)))).into_body());
}

/// A refresh with rotation: each refresh token is issued beforehand, untimed.
#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn refresh_token(bencher: Bencher) {
    let (server, _steady) = server();
    bencher
        .with_inputs(|| refresh_requests(&server, 1).pop().expect("one request"))
        .bench_local_refs(|request| block_on(server.token_endpoint(request)).into_body());
}

#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn introspection(bencher: Bencher) {
    let (server, _steady) = server();
    let requests: Vec<Request> = tokens(&server)
        .iter()
        .map(|token| {
            http::Request::post("/introspect")
                .header("Authorization", SVC_BASIC)
                .form(&[("token", token)])
                .expect("a valid request")
        })
        .collect();
    let mut next = 0;
    bencher.bench_local(|| {
        next = (next + 1) % requests.len();
        block_on(server.introspection_endpoint(&requests[next])).into_body()
    });
}

/// A protected resource's check of a bearer token for scope `read`.
#[divan::bench(sample_count = DIVAN_SAMPLES, sample_size = DIVAN_SAMPLE_SIZE)]
fn resource_check(bencher: Bencher) {
    let (server, _steady) = server();
    let requests: Vec<Request> = tokens(&server)
        .iter()
        .map(|token| {
            http::Request::get("/api/me")
                .header("Authorization", format!("Bearer {token}"))
                .body(Vec::new())
                .expect("a valid request")
        })
        .collect();
    let guard = server.resource_guard();
    let read = Scope::parse("read").expect("scope");
    let mut next = 0;
    bencher.bench_local(|| {
        next = (next + 1) % requests.len();
        block_on(guard.authorize(&requests[next], &read)).is_ok()
    });
}

fn authorize(server: &AuthorizationServer, request: &Request) -> grantry_core::Response {
    let request = block_on(server.validate_authorization_request(request)).expect("valid request");
    block_on(server.create_authorization_response(&request, Consent::allow("alice")))
}

/// [`LOOKED_UP`] access tokens issued by `server`.
fn tokens(server: &AuthorizationServer) -> Vec<String> {
    let request = client_credentials_request();
    (0..LOOKED_UP)
        .map(|_| fixtures::token_field(&block_on(server.token_endpoint(&request)).into_body(), "access_token"))
        .collect()
}
