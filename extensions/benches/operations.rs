// Benchmark setup may panic: a panic here is a broken benchmark, not a request-driven failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Benchmarks of the extension-driven operations, through the public server API: the
//! authorization code grant with PKCE S256, and the JWT bearer grant with RS256 and HS256
//! assertions, each next to its floor (for JWT: the raw signature verification).
//!
//! Run: `cargo bench -p grantry-extensions --bench operations`.

#[path = "../../grants/benches/support/mod.rs"]
mod support;

use base64::Engine as _;
use grantry_core::{
    AuthorizationServer, ClientRecord, Consent, CredentialKind, GrantType, Params, RandomTokenGenerator, Request,
    ServerConfig, TokenGenerator,
};
use grantry_extensions::jwt::JwtBearerGrant;
use grantry_extensions::pkce::{CodeChallenge, s256_challenge};
use grantry_grants::{AuthorizationCodeGrant, RefreshTokenGrant};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::traits::PublicKeyParts as _;
use serde_json::json;
use std::hint::black_box;
use support::{
    FloorPart, Measurement, REDIRECT, Report, SteadyStore, basic_decode_measurement, block_on, digest_measurement,
    measure_against_floor, parse_measurement, random_token_measurement, secret_compare_measurement,
    token_json_measurement, web_client,
};

const ISSUER: &str = "https://auth.example";
const NOW: u64 = 1_700_000_000;
const WEB_BASIC: &str = "Basic d2ViOndlYi1zZWNyZXQ="; // web:web-secret
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const HS_SECRET: &str = "a-shared-secret-of-at-least-thirty-two-bytes!";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

struct Rsa {
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: serde_json::Value,
}

fn rsa_key() -> Rsa {
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("keygen");
    let der = key.to_pkcs1_der().expect("der");
    let (n, e) = (b64(&key.n().to_bytes_be()), b64(&key.e().to_bytes_be()));
    Rsa {
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        decoding: DecodingKey::from_rsa_components(&n, &e).expect("components"),
        jwk: json!({"kty": "RSA", "kid": "k1", "use": "sig", "n": n, "e": e}),
    }
}

/// A server requiring PKCE, on a store the benchmark sweeps between batches.
fn pkce_server() -> (AuthorizationServer, SteadyStore) {
    let steady = SteadyStore::new(NOW);
    steady.store.add_client(web_client()).unwrap();
    let mut server = AuthorizationServer::new(steady.storage(), steady.config(ServerConfig::new(ISSUER).unwrap()));
    server.register_grant(AuthorizationCodeGrant::new(), CodeChallenge::required()).unwrap();
    server.register_grant(RefreshTokenGrant::new(), ()).unwrap();
    (server, steady)
}

fn authorize_request() -> Request {
    Request::get(format!(
        "/authorize?response_type=code&client_id=web&redirect_uri={}&scope=read&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256",
        grantry_core::encode_component(REDIRECT)
    ))
}

fn code(server: &AuthorizationServer, authorize: &Request) -> String {
    let request = block_on(server.validate_authorization_request(authorize)).unwrap();
    let response = block_on(server.create_authorization_response(&request, Consent::allow("alice")));
    let location = response.header("Location").unwrap();
    Params::parse(location.split_once('?').unwrap().1.as_bytes()).unwrap().get("code").unwrap().to_owned()
}

fn exchange(code: &str) -> Request {
    Request::post("/token").with_header("Authorization", WEB_BASIC).with_form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ])
}

/// A server for the JWT bearer grant, on a store the benchmark sweeps between batches.
fn jwt_server(jwks: serde_json::Value) -> (AuthorizationServer, SteadyStore) {
    let steady = SteadyStore::new(NOW);
    let store = &steady.store;
    let bearer = GrantType::parse(grantry_extensions::jwt::JWT_BEARER_GRANT_TYPE).unwrap();
    store
        .add_client(
            ClientRecord::public("signer")
                .with_grant_types([bearer.clone()])
                .with_scope("read")
                .with_metadata("jwks", jwks),
        )
        .unwrap();
    store
        .add_client(ClientRecord::confidential("hs", HS_SECRET).with_grant_types([bearer]).with_scope("read"))
        .unwrap();
    let mut server = AuthorizationServer::new(steady.storage(), steady.config(ServerConfig::new(ISSUER).unwrap()));
    server.register_grant(JwtBearerGrant::new(), ()).unwrap();
    (server, steady)
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let mut report = Report::default();
    let token = RandomTokenGenerator.generate(CredentialKind::AccessToken);
    // The requests are built once, outside the timed region: only their parse is the floor's.
    let exchange_body = exchange(CHALLENGE).body().to_vec();
    let authorize = authorize_request();
    let query = authorize.query().unwrap_or_default().as_bytes().to_vec();

    let rsa = rsa_key();
    let claims = json!({"iss": "signer", "sub": "signer", "aud": ISSUER, "exp": NOW + 300, "iat": NOW});
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    let rs256 = jsonwebtoken::encode(&header, &claims, &rsa.encoding).unwrap();
    let hs_claims = json!({"iss": "hs", "sub": "hs", "aud": ISSUER, "exp": NOW + 300, "iat": NOW});
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &hs_claims,
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.set_audience(&[ISSUER]);
    let hs_key = DecodingKey::from_secret(HS_SECRET.as_bytes());
    let mut hs_validation = Validation::new(Algorithm::HS256);
    hs_validation.validate_exp = false;
    hs_validation.set_audience(&[ISSUER]);
    let grant = grantry_extensions::jwt::JWT_BEARER_GRANT_TYPE;
    let rs_request = Request::post("/token").with_form(&[("grant_type", grant), ("assertion", &rs256)]);
    let hs_request = Request::post("/token").with_form(&[("grant_type", grant), ("assertion", &hs256)]);

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

    let rounds = support::rounds();
    for round in 1..=rounds {
        println!("\nround {round} of {rounds}");
        let (server, steady) = pkce_server();
        let op = steady.measurement_batched(
            |n| (0..n).map(|_| exchange(&code(&server, &authorize))).collect(),
            |req| drop(black_box(block_on(server.token_endpoint(req)).body)),
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
            black_box(block_on(server.token_endpoint(&exchange(&code))).body);
        });
        let both_floor = [authorize_floor(), exchange_floor()].into_iter().flatten().collect();
        let name = "authorize request + exchange (PKCE S256)";
        measure_against_floor(&mut report, name, op, both_floor, || "oxide-auth 8.9 µs".into());

        let (server, steady) = jwt_server(json!({"keys": [rsa.jwk.clone()]}));
        assert_eq!(block_on(server.token_endpoint(&rs_request)).status, 200, "the RS256 assertion is accepted");
        assert_eq!(block_on(server.token_endpoint(&hs_request)).status, 200, "the HS256 assertion is accepted");
        let target = || "Authlib 133 µs; target ≤ 1.2× raw verify".to_string();
        let op = steady.measurement(|_| drop(black_box(block_on(server.token_endpoint(&rs_request)).body)));
        let floor = vec![part("primitive: RS256-2048 verify (jsonwebtoken, aws-lc-rs)", 1.0, verify_rs())];
        measure_against_floor(&mut report, "JWT bearer grant, RS256 assertion", op, floor, target);
        let target = || "Authlib 104 µs; target ≤ 1.2× raw verify".to_string();
        let op = steady.measurement(|_| drop(black_box(block_on(server.token_endpoint(&hs_request)).body)));
        let floor = vec![part("primitive: HS256 verify (jsonwebtoken, aws-lc-rs)", 1.0, verify_hs())];
        measure_against_floor(&mut report, "JWT bearer grant, HS256 assertion", op, floor, target);
    }

    report.print("grantry-extensions operations (median per operation, one thread)");
}
