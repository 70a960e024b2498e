//! Single use of JWT assertions, everywhere (the server contract's "Single use, everywhere"
//! rule; RFC 7523 §3 item 7; OpenID Connect Core §9): a bearer assertion gives one token however
//! many requests carry it at once, with or without `jti`; and one replay store spans the bearer
//! grant and JWT client authentication, so an assertion spent at either is refused at the other.
//!
//! Each case runs on servers built with the default constructors and on the example server's
//! configuration (every JWT part enabled by name through the plugin registry), in-process on the
//! memory store.

mod jwt_support;

use grantry_core::{AuthorizationServer, ClientAuthMethod, ClientRecord, GrantType, MemoryStore, Request, Response};
use grantry_examples::server::{ServerConfigFile, ServerStore, build_server};
use grantry_extensions::jwt::{JwtBearerGrant, PrivateKeyJwt};
use grantry_grants::ClientCredentialsGrant;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use jwt_support::{
    ASSERTION_TYPE, FormBody, JWT_BEARER, ResponseExt, claims, http, jwks, server, sign_es256, sign_rs256, unique_jti,
    with, without,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::Barrier;

/// How many requests race with one assertion.
const CONCURRENT: usize = 32;

/// Registered for `private_key_jwt` with the test keys, allowed client credentials and the
/// bearer grant.
const SIGNER: &str = "signer";

/// A server built with the default constructors: `PrivateKeyJwt::new()`,
/// `JwtBearerGrant::new()`, and client credentials allowing `private_key_jwt`. Nothing is
/// shared by hand.
fn default_server() -> AuthorizationServer {
    let store = MemoryStore::new();
    store
        .add_client(
            ClientRecord::public(SIGNER)
                .with_auth_method(ClientAuthMethod::PRIVATE_KEY_JWT)
                .with_grant_types([GrantType::CLIENT_CREDENTIALS, GrantType::parse(JWT_BEARER).unwrap()])
                .with_scope("read")
                .with_metadata("jwks", jwks()),
        )
        .unwrap();
    store.add_user("alice", "alice-password");
    let mut server = server(store);
    server.add_client_authenticator(PrivateKeyJwt::new()).unwrap();
    server
        .register_grant(ClientCredentialsGrant::new(), ())
        .unwrap()
        .restrict_auth_methods([ClientAuthMethod::PRIVATE_KEY_JWT])
        .unwrap();
    server.register_grant(JwtBearerGrant::new(), ()).unwrap();
    server
}

/// The example server's demo configuration, built in-process (no listener): the JWT bearer
/// grant and both JWT client authentication methods enabled by name, with their default
/// configuration, and the `signer` client with the demo key.
fn demo_server() -> AuthorizationServer {
    build_server(&ServerConfigFile::demo().unwrap(), &ServerStore::memory()).unwrap()
}

/// The demo server's token endpoint URL (an accepted audience).
const DEMO_TOKEN_ENDPOINT: &str = "http://127.0.0.1:8080/token";

/// The demo's RSA key for `signer` (kid `k1`): published on purpose, demo only.
const SIGNER_KEY_PEM: &[u8] = include_bytes!("../../examples/keys/signer-demo-key.pem");

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Claims for the demo server (on the system clock), valid for five minutes.
fn demo_claims(sub: &str) -> Value {
    json!({"iss": SIGNER, "sub": sub, "aud": DEMO_TOKEN_ENDPOINT, "iat": now(), "exp": now() + 300, "jti": unique_jti()})
}

fn sign_demo(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(SIGNER_KEY_PEM).unwrap()).unwrap()
}

fn bearer_request(assertion: &str) -> Request {
    http::Request::post("/token").form(&[("grant_type", JWT_BEARER), ("assertion", assertion)]).unwrap()
}

fn client_credentials_request(client_assertion: &str) -> Request {
    http::Request::post("/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", client_assertion),
        ])
        .unwrap()
}

async fn send(server: &AuthorizationServer, request: &Request) -> (u16, Value) {
    let response = server.token_endpoint(request).await;
    (response.status().as_u16(), response.json().unwrap())
}

#[track_caller]
fn assert_error(response: &(u16, Value), error: &str, description: &str) {
    let (status, body) = response;
    assert_eq!((*status, body["error"].as_str()), (400, Some(error)), "{body}");
    let text = body["error_description"].as_str().unwrap_or_default();
    assert!(text.contains(description), "description {text:?} should contain {description:?}");
}

/// Sends `request` from `CONCURRENT` tasks released together; returns every response.
async fn race(server: Arc<AuthorizationServer>, request: Request) -> Vec<Response> {
    let barrier = Arc::new(Barrier::new(CONCURRENT));
    let tasks: Vec<_> = (0..CONCURRENT)
        .map(|_| {
            let (server, request, barrier) = (server.clone(), request.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                server.token_endpoint(&request).await
            })
        })
        .collect();
    let mut responses = Vec::with_capacity(CONCURRENT);
    for task in tasks {
        responses.push(task.await.unwrap());
    }
    responses
}

/// Exactly one response issued a token; every other one is `invalid_grant` "already used".
#[track_caller]
fn exactly_one_token(responses: &[Response]) {
    let issued = responses.iter().filter(|r| r.status().as_u16() == 200).count();
    assert_eq!(issued, 1, "one assertion gave {issued} tokens");
    for response in responses.iter().filter(|r| r.status().as_u16() != 200) {
        assert_error(&(response.status().as_u16(), response.json().unwrap()), "invalid_grant", "already used");
    }
}

// --- one assertion, many concurrent requests ----------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_assertion_give_one_token() {
    let server = Arc::new(default_server());
    let with_jti = sign_rs256(&claims(SIGNER, "alice"));
    exactly_one_token(&race(server.clone(), bearer_request(&with_jti)).await);
    // Without jti, the assertion itself is what is used once.
    let no_jti = sign_es256(&with(without(claims(SIGNER, SIGNER), "jti"), "nonce", json!(unique_jti())));
    exactly_one_token(&race(server, bearer_request(&no_jti)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_one_assertion_give_one_token_on_the_example_server() {
    let server = Arc::new(demo_server());
    let with_jti = sign_demo(&demo_claims("alice"));
    exactly_one_token(&race(server.clone(), bearer_request(&with_jti)).await);
    let no_jti = sign_demo(&with(without(demo_claims(SIGNER), "jti"), "nonce", json!(unique_jti())));
    exactly_one_token(&race(server, bearer_request(&no_jti)).await);
}

// --- an assertion without jti -------------------------------------------------------------

#[tokio::test]
async fn an_assertion_without_jti_works_once() {
    let server = default_server();
    let no_jti = || with(without(claims(SIGNER, "alice"), "jti"), "nonce", json!(unique_jti()));
    let assertion = sign_rs256(&no_jti());
    assert_eq!(send(&server, &bearer_request(&assertion)).await.0, 200);
    assert_error(&send(&server, &bearer_request(&assertion)).await, "invalid_grant", "already used");
    // Another assertion without jti (other claims) is another assertion.
    assert_eq!(send(&server, &bearer_request(&sign_rs256(&no_jti()))).await.0, 200);
}

/// ECDSA signatures are malleable: with (r, s) valid, so is (r, n - s). A copy of a spent
/// assertion with its signature so changed is the same assertion, and refused as such.
#[tokio::test]
async fn a_resigned_copy_of_an_assertion_without_jti_is_the_same_assertion() {
    let server = default_server();
    let assertion = sign_es256(&with(without(claims(SIGNER, "alice"), "jti"), "nonce", json!(unique_jti())));
    assert_eq!(send(&server, &bearer_request(&assertion)).await.0, 200);
    let twin = negate_ecdsa_s(&assertion);
    assert_ne!(twin, assertion);
    assert_error(&send(&server, &bearer_request(&twin)).await, "invalid_grant", "already used");
}

/// `token` (ES256) with its signature's `s` replaced by `n - s`, `n` the order of P-256.
fn negate_ecdsa_s(token: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    const N: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6,
        0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
    ];
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    assert_eq!(signature.len(), 64);
    let s: [u8; 32] = signature[32..].try_into().unwrap();
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut digit = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(digit < 0);
        if digit < 0 {
            digit += 256;
        }
        signature[32 + i] = digit as u8;
    }
    assert_eq!(borrow, 0);
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

// --- one replay store for client authentication and the bearer grant -------------------

#[tokio::test]
async fn a_client_assertion_reused_as_a_bearer_assertion_is_refused() {
    let server = default_server();
    // A client assertion is also a valid bearer assertion for the client's own token.
    let client_assertion = sign_rs256(&claims(SIGNER, SIGNER));
    assert_eq!(send(&server, &client_credentials_request(&client_assertion)).await.0, 200);
    assert_error(&send(&server, &bearer_request(&client_assertion)).await, "invalid_grant", "already used");
}

#[tokio::test]
async fn a_bearer_assertion_reused_as_a_client_assertion_is_refused() {
    let server = default_server();
    let assertion = sign_rs256(&claims(SIGNER, SIGNER));
    assert_eq!(send(&server, &bearer_request(&assertion)).await.0, 200);
    assert_error(&send(&server, &client_credentials_request(&assertion)).await, "invalid_client", "already used");
}

#[tokio::test]
async fn on_the_example_server_an_assertion_is_spent_at_either_use() {
    let server = demo_server();
    let client_assertion = sign_demo(&demo_claims(SIGNER));
    assert_eq!(send(&server, &client_credentials_request(&client_assertion)).await.0, 200);
    assert_error(&send(&server, &bearer_request(&client_assertion)).await, "invalid_grant", "already used");

    let assertion = sign_demo(&demo_claims(SIGNER));
    assert_eq!(send(&server, &bearer_request(&assertion)).await.0, 200);
    assert_error(&send(&server, &client_credentials_request(&assertion)).await, "invalid_client", "already used");
}

/// The same assertion as the client assertion and the grant's assertion of one request: the
/// client authentication spends it, so the grant refuses it.
#[tokio::test]
async fn one_assertion_cannot_both_authenticate_and_be_exchanged() {
    let server = default_server();
    let assertion = sign_rs256(&claims(SIGNER, SIGNER));
    let request = http::Request::post("/token")
        .form(&[
            ("grant_type", JWT_BEARER),
            ("assertion", &assertion),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
        ])
        .unwrap();
    assert_error(&send(&server, &request).await, "invalid_grant", "already used");
}

// --- require_jti --------------------------------------------------------------------------

#[tokio::test]
async fn require_jti_refuses_bearer_assertions_without_one() {
    let store = MemoryStore::new();
    store
        .add_client(
            ClientRecord::public(SIGNER)
                .with_grant_types([GrantType::parse(JWT_BEARER).unwrap()])
                .with_metadata("jwks", jwks()),
        )
        .unwrap();
    let mut server = server(store);
    server.register_grant(JwtBearerGrant::new().with_require_jti(true), ()).unwrap();
    let no_jti = sign_rs256(&with(without(claims(SIGNER, SIGNER), "jti"), "nonce", json!(unique_jti())));
    assert_error(&send(&server, &bearer_request(&no_jti)).await, "invalid_grant", "missing the jti claim");
    assert_eq!(send(&server, &bearer_request(&sign_rs256(&claims(SIGNER, SIGNER)))).await.0, 200);
}

/// Verifiers sharing a store may forgive different clock skews: an assertion spent where the
/// leeway is small stays spent for as long as any verifier could still accept it.
#[tokio::test]
async fn an_assertion_stays_spent_for_the_largest_leeway() {
    use grantry_core::{ManualClock, ServerConfig};
    let store = MemoryStore::new();
    store
        .add_client(
            ClientRecord::public(SIGNER)
                .with_auth_method(ClientAuthMethod::PRIVATE_KEY_JWT)
                .with_grant_types([GrantType::CLIENT_CREDENTIALS, GrantType::parse(JWT_BEARER).unwrap()])
                .with_metadata("jwks", jwks()),
        )
        .unwrap();
    let clock = Arc::new(ManualClock::new(jwt_support::NOW));
    let config = ServerConfig::new(jwt_support::ISSUER).unwrap().with_clock(clock.clone());
    let mut server = AuthorizationServer::new(store, config);
    server.add_client_authenticator(PrivateKeyJwt::new().with_leeway(300)).unwrap();
    server.register_grant(ClientCredentialsGrant::new(), ()).unwrap();
    server.register_grant(JwtBearerGrant::new().with_leeway(0), ()).unwrap();

    let assertion = sign_rs256(&with(claims(SIGNER, SIGNER), "exp", json!(jwt_support::NOW + 10)));
    assert_eq!(send(&server, &bearer_request(&assertion)).await.0, 200);
    // Past exp, but within the client authenticator's leeway.
    clock.advance(110);
    assert_error(&send(&server, &client_credentials_request(&assertion)).await, "invalid_client", "already used");
}
