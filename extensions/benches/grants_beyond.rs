// Benchmark setup may panic: a panic here is a broken benchmark, not a request-driven failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Benchmarks of the grants beyond RFC 6749 (issue 21), through the public server API on the
//! in-memory store, each next to its floor (see `grants/benches/README.md`): the device
//! authorization request (RFC 8628 §3.1), a device-code poll still pending and one redeeming
//! an approved code (§3.4), and a token exchange of an active access token (RFC 8693).
//!
//! Run: `cargo bench -p grantry-extensions --bench grants_beyond` (`GRANTRY_BENCH_SECONDS`
//! and `GRANTRY_BENCH_ROUNDS` as for the other benchmarks).

#[path = "fixtures/beyond.rs"]
mod beyond;
#[path = "../../grants/benches/fixtures/mod.rs"]
mod rfc6749;
#[path = "../../grants/benches/support/mod.rs"]
mod support;

use beyond::{
    DEVICE_AUTHORIZATION, ISSUER, device_authorization_request, device_codes, device_poll, device_polls, device_server,
    exchange_server, token_exchange_request, token_exchanges,
};
use grantry_core::{AuthorizationServer, CredentialKind, RandomTokenGenerator, Request, TokenGenerator};
use grantry_extensions::device_code::{USER_CODE_ALPHABET, USER_CODE_LENGTH, display_user_code};
use grantry_extensions::token_exchange::ACCESS_TOKEN_TYPE;
use rand::Rng as _;
use std::hint::black_box;
use support::{
    FloorPart, Measurement, Report, SteadyStore, basic_decode_measurement, block_on, digest_measurement,
    measure_against_floor, parse_measurement, random_token_measurement, secret_compare_measurement,
    token_json_measurement,
};

/// The device authorization response (RFC 8628 §3.2), serialised the ordinary way.
#[derive(serde::Serialize)]
struct DeviceAuthorizationJson<'a> {
    device_code: &'a str,
    user_code: &'a str,
    verification_uri: &'a str,
    verification_uri_complete: &'a str,
    expires_in: u64,
    interval: u64,
}

/// An error response (RFC 6749 §5.2) with a description.
#[derive(serde::Serialize)]
struct ErrorJson<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// A token exchange response (RFC 8693 §2.2.1): no refresh token, `issued_token_type`.
#[derive(serde::Serialize)]
struct ExchangeJson<'a> {
    access_token: &'a str,
    issued_token_type: &'a str,
    token_type: &'a str,
    expires_in: u64,
}

/// The row names of the primitives not in `operations.rs`'s floors.
const RANDOM_TOKEN: &str = "primitive: 32 random bytes + base64url";
const USER_CODE: &str = "primitive: user code, 8 letters from the thread RNG";

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let mut report = Report::default();
    let token = RandomTokenGenerator.generate(CredentialKind::AccessToken);
    // The requests are built once, outside the timed region: only their parse is the floor's.
    let start_body = device_authorization_request().body().to_vec();
    let poll_body = device_poll(&token).body().to_vec();
    let exchange_body = token_exchange_request(&token).body().to_vec();
    let user_code = display_user_code("BCDFGHJK");
    let verification_uri = format!("{ISSUER}/device");
    let complete = format!("{verification_uri}?user_code={user_code}");

    // Each operation's checks, once, before it is measured: what it answers is what its floor
    // assumes.
    let (server, _steady) = device_server();
    let start = device_authorization_request();
    let pending = block_on(server.token_endpoint(&device_poll(&device_codes(&server, &start).device_code)));
    assert_eq!(pending.status().as_u16(), 400);
    let pending = serde_json::from_slice::<serde_json::Value>(pending.body()).unwrap();
    assert_eq!(pending["error"], "authorization_pending");
    let description = pending["error_description"].as_str().unwrap().to_owned();
    let redeemed = block_on(server.token_endpoint(&device_polls(&server, 1, true)[0]));
    assert_eq!(redeemed.status().as_u16(), 200, "the approved code is redeemed");
    let redeemed = serde_json::from_slice::<serde_json::Value>(redeemed.body()).unwrap();
    assert!(redeemed["refresh_token"].is_string(), "with a refresh token");
    let (server, _steady) = exchange_server();
    let exchanged = block_on(server.token_endpoint(&token_exchanges(&server, 1)[0]));
    assert_eq!(exchanged.status().as_u16(), 200, "the active token is exchanged");
    let exchanged = serde_json::from_slice::<serde_json::Value>(exchanged.body()).unwrap();
    assert_eq!(exchanged["issued_token_type"], ACCESS_TOKEN_TYPE);

    let part = |name, times, measurement| FloorPart { name, times, measurement };
    // RFC 8628 §3.1 for a public client: its form, a device code and a user code, the digests
    // of both (the user code's is the key it is found by), the response's JSON.
    let start_floor = || {
        vec![
            part("primitive: parse device authorization form (2 params)", 1.0, parse_measurement(&start_body)),
            part(RANDOM_TOKEN, 1.0, random_token_measurement()),
            part(USER_CODE, 1.0, user_code_measurement()),
            part(support::DIGEST, 2.0, digest_measurement(&token)),
            part(
                "primitive: device authorization response JSON",
                1.0,
                json_measurement(|| DeviceAuthorizationJson {
                    device_code: black_box(&token),
                    user_code: &user_code,
                    verification_uri: &verification_uri,
                    verification_uri_complete: &complete,
                    expires_in: 600,
                    interval: 5,
                }),
            ),
        ]
    };
    // A poll: its form, the device code's digest, and the answer (an error or the tokens).
    let poll_floor = || {
        vec![
            part("primitive: parse device code poll form (3 params)", 1.0, parse_measurement(&poll_body)),
            part(support::DIGEST, 1.0, digest_measurement(&token)),
        ]
    };
    let pending_floor = || {
        let json = json_measurement(|| ErrorJson {
            error: black_box("authorization_pending"),
            error_description: &description,
        });
        [poll_floor(), vec![part("primitive: error response JSON", 1.0, json)]]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
    };
    // Redeemed: besides, an access and a refresh token and their digests.
    let redeem_floor = || {
        let tokens = vec![
            part(support::DIGEST, 2.0, digest_measurement(&token)),
            part(RANDOM_TOKEN, 2.0, random_token_measurement()),
            part(
                "primitive: token response JSON (with refresh token)",
                1.0,
                token_json_measurement(&token, Some(&token)),
            ),
        ];
        [poll_floor(), tokens].into_iter().flatten().collect::<Vec<_>>()
    };
    // A token exchange: its form, Basic authentication, the subject token's digest, a new
    // token and its digest, the response's JSON.
    let exchange_floor = || {
        vec![
            part("primitive: parse token exchange form (4 params)", 1.0, parse_measurement(&exchange_body)),
            part(
                "primitive: Basic credentials decode",
                1.0,
                basic_decode_measurement(beyond::API_BASIC.trim_start_matches("Basic ")),
            ),
            part("primitive: constant-time secret compare", 1.0, secret_compare_measurement("api-secret")),
            part(support::DIGEST, 2.0, digest_measurement(&token)),
            part(RANDOM_TOKEN, 1.0, random_token_measurement()),
            part(
                "primitive: token exchange response JSON",
                1.0,
                json_measurement(|| ExchangeJson {
                    access_token: black_box(&token),
                    issued_token_type: ACCESS_TOKEN_TYPE,
                    token_type: "Bearer",
                    expires_in: 3600,
                }),
            ),
        ]
    };

    let rounds = support::rounds();
    for round in 1..=rounds {
        println!("\nround {round} of {rounds}");
        let (server, steady) = device_server();
        let op = steady.measurement(|_| {
            let response = block_on(server.grant_endpoint(DEVICE_AUTHORIZATION, &start)).expect("routed");
            drop(black_box(response.into_body()));
        });
        let note = || "RFC 8628 §3.1, public client; store swept between batches".to_string();
        measure_against_floor(&mut report, "device authorization request", op, start_floor(), note);

        let (server, steady) = device_server();
        let op = token_requests(&server, &steady, |n| device_polls(&server, n, false));
        let note = || "authorization_pending; each code polled once".to_string();
        measure_against_floor(&mut report, "device code poll, still pending", op, pending_floor(), note);

        let (server, steady) = device_server();
        let op = token_requests(&server, &steady, |n| device_polls(&server, n, true));
        let note = || "approved beforehand, untimed".to_string();
        measure_against_floor(&mut report, "device code poll, approved: tokens issued", op, redeem_floor(), note);

        let (server, steady) = exchange_server();
        let op = token_requests(&server, &steady, |n| token_exchanges(&server, n));
        let note = || "each subject token issued beforehand, untimed".to_string();
        measure_against_floor(&mut report, "token exchange of an active access token", op, exchange_floor(), note);
    }

    report.print("grantry-extensions grants beyond RFC 6749 (median per operation, one thread)");
}

/// Token requests of `server`, those of each batch made beforehand by `setup` (untimed).
fn token_requests<'a>(
    server: &'a AuthorizationServer,
    steady: &'a SteadyStore,
    setup: impl FnMut(usize) -> Vec<Request> + 'a,
) -> Measurement<'a> {
    steady.measurement_batched(setup, |req| drop(black_box(block_on(server.token_endpoint(req)).into_body())))
}

/// Serialising the response `body` makes, the ordinary way (serde derive).
fn json_measurement<'a, T: serde::Serialize>(body: impl Fn() -> T + 'a) -> Measurement<'a> {
    Measurement::of(move || drop(black_box(serde_json::to_vec(&body()).unwrap_or_default())))
}

/// A user code as the grant draws it: [`USER_CODE_LENGTH`] letters of [`USER_CODE_ALPHABET`]
/// from the thread's CSPRNG.
fn user_code_measurement() -> Measurement<'static> {
    Measurement::of(|| {
        let mut rng = rand::rng();
        let code: String = (0..USER_CODE_LENGTH)
            .map(|_| char::from(USER_CODE_ALPHABET[rng.random_range(0..USER_CODE_ALPHABET.len())]))
            .collect();
        black_box(code);
    })
}
