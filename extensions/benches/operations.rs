// Benchmark setup may panic: a panic here is a broken benchmark, not a request-driven failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Benchmarks of the extension-driven operations, through the public server API: the
//! authorization code grant with PKCE S256, and the JWT bearer grant with RS256 and HS256
//! assertions, each next to its floor (for JWT: the raw signature verification); and RFC 9068
//! JWT access tokens issued and verified (RS256, ES256, EdDSA) next to theirs (one
//! `jsonwebtoken::encode` and one `jsonwebtoken::decode` with the same key and claims).
//!
//! Run: `cargo bench -p grantry-extensions --bench operations --features jwt`.

mod fixtures;
#[path = "../../grants/benches/support/mod.rs"]
mod support;

use fixtures::{
    ACCESS_TOKEN_JTI, AccessTokenKeys, CHALLENGE, FloorClaims, HS_SECRET, ISSUER, NOW, VERIFIER, WEB_BASIC,
    access_token_keys, authorize_request, bearer_request, code, exchange, hs256_assertion, jwt_server, pkce_server,
    rs256_assertion, rsa_key,
};
use grantry_core::{
    AccessTokenClaims, AccessTokenFormat as _, Consent, CredentialKind, RandomTokenGenerator, Scope, TokenGenerator,
};
use grantry_extensions::pkce::s256_challenge;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::json;
use std::hint::black_box;
use support::{
    FloorPart, Measurement, Report, basic_decode_measurement, block_on, digest_measurement, measure_against_floor,
    parse_measurement, random_token_measurement, secret_compare_measurement, token_json_measurement,
};

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let mut report = Report::default();
    let token = RandomTokenGenerator.generate(CredentialKind::AccessToken);
    // The requests are built once, outside the timed region: only their parse is the floor's.
    let exchange_body = exchange(CHALLENGE).body().to_vec();
    let authorize = authorize_request();
    let query = authorize.uri().query().unwrap_or_default().as_bytes().to_vec();

    let rsa = rsa_key();
    let rs256 = rs256_assertion(&rsa);
    let hs256 = hs256_assertion();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.set_audience(&[ISSUER]);
    let hs_key = DecodingKey::from_secret(HS_SECRET.as_bytes());
    let mut hs_validation = Validation::new(Algorithm::HS256);
    hs_validation.validate_exp = false;
    hs_validation.set_audience(&[ISSUER]);
    let (rs_request, hs_request) = (bearer_request(&rs256), bearer_request(&hs256));

    let part = |name, times, measurement| FloorPart { name, times, measurement };
    // The exchange's floor: its form, Basic authentication, three digests (the code and two
    // tokens), two random tokens, the S256 of the verifier, the response's JSON.
    let exchange_floor = || {
        vec![
            part("primitive: parse token form (4 params)", 1.0, parse_measurement(&exchange_body)),
            part(
                "primitive: Basic credentials decode",
                1.0,
                basic_decode_measurement(WEB_BASIC.trim_start_matches("Basic ")),
            ),
            part("primitive: constant-time secret compare", 1.0, secret_compare_measurement("web-secret")),
            part(support::DIGEST, 3.0, digest_measurement(&token)),
            part("primitive: 32 random bytes + base64url", 2.0, random_token_measurement()),
            part(support::S256, 1.0, Measurement::of(|| drop(black_box(s256_challenge(black_box(VERIFIER)))))),
            part(
                "primitive: token response JSON (with refresh token)",
                1.0,
                token_json_measurement(&token, Some(&token)),
            ),
        ]
    };
    let authorize_floor = || {
        vec![
            part("primitive: parse authorize query (7 params)", 1.0, parse_measurement(&query)),
            part("primitive: 32 random bytes + base64url", 1.0, random_token_measurement()),
            part(support::DIGEST, 1.0, digest_measurement(&token)),
        ]
    };
    let verify_rs = || {
        Measurement::of(|| {
            drop(black_box(jsonwebtoken::decode::<serde_json::Value>(black_box(&rs256), &rsa.decoding, &validation)))
        })
    };
    let verify_hs = || {
        Measurement::of(|| {
            drop(black_box(jsonwebtoken::decode::<serde_json::Value>(black_box(&hs256), &hs_key, &hs_validation)))
        })
    };

    let access_keys: Vec<(&str, AccessTokenKeys)> =
        ["rsa-1", "ec-1", "ed-1"].into_iter().map(|name| (name, access_token_keys(name))).collect();
    let scope = Scope::parse("read write").unwrap();
    let access_claims = AccessTokenClaims::new(ISSUER, "alice", "web", &scope, NOW, NOW + 3600, ACCESS_TOKEN_JTI);
    let floor_claims = FloorClaims::new();

    let rounds = support::rounds();
    for round in 1..=rounds {
        println!("\nround {round} of {rounds}");
        let (server, steady) = pkce_server();
        let op = steady.measurement_batched(
            |n| (0..n).map(|_| exchange(&code(&server, &authorize))).collect(),
            |req| drop(black_box(block_on(server.token_endpoint(req)).into_body())),
        );
        let name = "authorization_code + PKCE S256, token exchange only";
        measure_against_floor(&mut report, name, op, exchange_floor(), || "oxide-auth 4.8 µs".into());
        let op = steady.measurement(|_| {
            let request = block_on(server.validate_authorization_request(&authorize)).unwrap();
            black_box(block_on(server.create_authorization_response(&request, Consent::allow("alice"))));
        });
        let name = "authorization request alone (PKCE S256)";
        measure_against_floor(&mut report, name, op, authorize_floor(), String::new);
        let op = steady.measurement(|_| {
            let code = code(&server, &authorize);
            black_box(block_on(server.token_endpoint(&exchange(&code))).into_body());
        });
        let both_floor = [authorize_floor(), exchange_floor()].into_iter().flatten().collect();
        let name = "authorize request + exchange (PKCE S256)";
        measure_against_floor(&mut report, name, op, both_floor, || "oxide-auth 8.9 µs".into());

        let (server, steady) = jwt_server(json!({"keys": [rsa.jwk.clone()]}));
        assert_eq!(
            block_on(server.token_endpoint(&rs_request)).status().as_u16(),
            200,
            "the RS256 assertion is accepted"
        );
        assert_eq!(
            block_on(server.token_endpoint(&hs_request)).status().as_u16(),
            200,
            "the HS256 assertion is accepted"
        );
        let target = || "Authlib 133 µs; target ≤ 1.2× raw verify".to_string();
        let op = steady.measurement(|_| drop(black_box(block_on(server.token_endpoint(&rs_request)).into_body())));
        let floor = vec![part("primitive: RS256-2048 verify (jsonwebtoken, aws-lc-rs)", 1.0, verify_rs())];
        measure_against_floor(&mut report, "JWT bearer grant, RS256 assertion", op, floor, target);
        let target = || "Authlib 104 µs; target ≤ 1.2× raw verify".to_string();
        let op = steady.measurement(|_| drop(black_box(block_on(server.token_endpoint(&hs_request)).into_body())));
        let floor = vec![part("primitive: HS256 verify (jsonwebtoken, aws-lc-rs)", 1.0, verify_hs())];
        measure_against_floor(&mut report, "JWT bearer grant, HS256 assertion", op, floor, target);

        // RFC 9068 access tokens: the format's issue then verify, against one encode and one
        // decode by jsonwebtoken alone with the same key, claims and checks (iss, aud; exp by
        // the format's clock, so not by jsonwebtoken's system clock).
        for (name, keys) in &access_keys {
            let format = &keys.format;
            let token = format.issue(&access_claims).unwrap();
            assert_eq!(format.verify(&token, NOW), Ok(()), "{name}: the token verifies");
            let mut header = Header::new(keys.alg);
            header.typ = Some("at+jwt".into());
            header.kid = Some((*name).into());
            let mut validation = Validation::new(keys.alg);
            validation.validate_exp = false;
            validation.set_issuer(&[ISSUER]);
            validation.set_audience(&[ISSUER]);
            let floor_token = jsonwebtoken::encode(&header, &floor_claims, &keys.encoding).unwrap();
            assert!(jsonwebtoken::decode::<FloorClaims>(&floor_token, &keys.decoding, &validation).is_ok());
            let op = Measurement::of(|| {
                let token = format.issue(black_box(&access_claims)).unwrap();
                black_box(format.verify(black_box(&token), NOW)).unwrap();
            });
            let (sign_name, verify_name, row) = match keys.alg {
                Algorithm::RS256 => (
                    "primitive: RS256-2048 sign (jsonwebtoken::encode)",
                    "primitive: RS256-2048 verify (jsonwebtoken::decode)",
                    "JWT access token (RFC 9068), RS256: issue + verify",
                ),
                Algorithm::ES256 => (
                    "primitive: ES256 sign (jsonwebtoken::encode)",
                    "primitive: ES256 verify (jsonwebtoken::decode)",
                    "JWT access token (RFC 9068), ES256: issue + verify",
                ),
                _ => (
                    "primitive: EdDSA sign (jsonwebtoken::encode)",
                    "primitive: EdDSA verify (jsonwebtoken::decode)",
                    "JWT access token (RFC 9068), EdDSA: issue + verify",
                ),
            };
            // FloorPart built here: `part` fixed its lifetime to the borrows outside the loop.
            let sign =
                Measurement::of(|| drop(black_box(jsonwebtoken::encode(&header, &floor_claims, &keys.encoding))));
            let verify = Measurement::of(|| {
                drop(black_box(jsonwebtoken::decode::<FloorClaims>(
                    black_box(&floor_token),
                    &keys.decoding,
                    &validation,
                )))
            });
            let floor = vec![
                FloorPart { name: sign_name, times: 1.0, measurement: sign },
                FloorPart { name: verify_name, times: 1.0, measurement: verify },
            ];
            measure_against_floor(&mut report, row, op, floor, || "target ≤ 1.2× sign + verify".into());
        }
    }

    report.print("grantry-extensions operations (median per operation, one thread)");
}
