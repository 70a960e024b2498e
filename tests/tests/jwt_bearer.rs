//! The JWT bearer grant (RFC 7523 §2.1, §3) through the token endpoint.

mod jwt_support;

use grantry_core::{AuthorizationServer, ClientAuthMethod, ClientRecord, GrantType, MemoryStore};
use grantry_extensions::jwt::{JwtBearerGrant, PrivateKeyJwt};
use grantry_grants::{ClientCredentialsGrant, RefreshTokenGrant};
use jsonwebtoken::Algorithm;
use jwt_support::*;
use serde_json::{Value, json};
use std::sync::Arc;

/// A client registered with the RSA and EC keys, allowed the bearer grant.
const KEY_CLIENT: &str = "key-client";
/// A client with a shared secret (HS256), allowed the bearer grant.
const SECRET_CLIENT: &str = "secret-client";
const SECRET: &str = "a-shared-secret-of-at-least-thirty-two-bytes";
/// A client with keys but not allowed the bearer grant.
const BARRED_CLIENT: &str = "barred-client";
/// A confidential client allowed the bearer grant, authenticating with client_secret_basic.
const BASIC_CLIENT: &str = "basic-client";
const BASIC_SECRET: &str = "basic-secret";

fn bearer() -> GrantType {
    GrantType::parse(JWT_BEARER).unwrap()
}

fn store() -> MemoryStore {
    let store = MemoryStore::new();
    let grant_types = [bearer(), GrantType::REFRESH_TOKEN];
    store
        .add_client(
            ClientRecord::public(KEY_CLIENT)
                .with_grant_types(grant_types.clone())
                .with_scope("read write")
                .with_metadata("jwks", jwks()),
        )
        .unwrap();
    store
        .add_client(
            ClientRecord::confidential(SECRET_CLIENT, SECRET).with_grant_types(grant_types.clone()).with_scope("read"),
        )
        .unwrap();
    store
        .add_client(
            ClientRecord::public(BARRED_CLIENT)
                .with_grant_types([GrantType::CLIENT_CREDENTIALS])
                .with_metadata("jwks", jwks()),
        )
        .unwrap();
    store
        .add_client(
            ClientRecord::confidential(BASIC_CLIENT, BASIC_SECRET)
                .with_grant_types(grant_types)
                .with_metadata("jwks", jwks()),
        )
        .unwrap();
    store.add_user("alice", "alice-password");
    store
}

fn server_with(grant: JwtBearerGrant) -> AuthorizationServer {
    let mut server = server(store());
    server.register_grant(grant, ()).unwrap();
    server
}

fn default_server() -> AuthorizationServer {
    server_with(JwtBearerGrant::new())
}

async fn exchange(server: &AuthorizationServer, assertion: &str) -> (u16, Value) {
    post(server, &[("grant_type", JWT_BEARER), ("assertion", assertion)]).await
}

#[track_caller]
fn assert_invalid_grant(response: &(u16, Value), description: &str) {
    assert_error(response, 400, "invalid_grant", Some(description));
}

// --- success -----------------------------------------------------------------------------

#[tokio::test]
async fn rs256_assertion_for_a_user() {
    let server = default_server();
    let response = exchange(&server, &sign_rs256(&claims(KEY_CLIENT, "alice"))).await;
    assert_eq!(response.0, 200, "{}", response.1);
    let body = response.1;
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none(), "no refresh token by default");
    let owner = token_owner(&server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(owner, (KEY_CLIENT.to_owned(), Some("alice".to_owned())));
}

#[tokio::test]
async fn es256_assertion_for_the_client_itself() {
    let server = default_server();
    let (status, body) = exchange(&server, &sign_es256(&claims(KEY_CLIENT, KEY_CLIENT))).await;
    assert_eq!(status, 200, "{body}");
    let owner = token_owner(&server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(owner, (KEY_CLIENT.to_owned(), None));
}

#[tokio::test]
async fn hs256_assertion_signed_with_the_client_secret() {
    let server = default_server();
    let (status, body) = exchange(&server, &sign_hs256(&claims(SECRET_CLIENT, "alice"), SECRET)).await;
    assert_eq!(status, 200, "{body}");
    let owner = token_owner(&server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(owner, (SECRET_CLIENT.to_owned(), Some("alice".to_owned())));

    let (status, body) = exchange(&server, &sign_hs256(&claims(SECRET_CLIENT, SECRET_CLIENT), SECRET)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn ps256_and_a_key_chosen_without_kid() {
    let server = default_server();
    let token = sign(Algorithm::PS256, None, &claims(KEY_CLIENT, "alice"), &keys().rsa.encoding);
    let (status, body) = exchange(&server, &token).await;
    assert_eq!(status, 200, "{body}");
    let token = sign(Algorithm::ES256, None, &claims(KEY_CLIENT, "alice"), &keys().ec.encoding);
    assert_eq!(exchange(&server, &token).await.0, 200);
}

#[tokio::test]
async fn audience_may_be_the_issuer_or_an_array_containing_the_token_endpoint() {
    let server = default_server();
    let as_issuer = with(claims(KEY_CLIENT, "alice"), "aud", json!(ISSUER));
    assert_eq!(exchange(&server, &sign_rs256(&as_issuer)).await.0, 200);
    let as_array = with(claims(KEY_CLIENT, "alice"), "aud", json!(["https://other.example", TOKEN_ENDPOINT]));
    assert_eq!(exchange(&server, &sign_rs256(&as_array)).await.0, 200);
}

#[tokio::test]
async fn scope_is_resolved_against_the_client() {
    let server = default_server();
    let token = sign_rs256(&claims(KEY_CLIENT, "alice"));
    let (status, body) = post(&server, &[("grant_type", JWT_BEARER), ("assertion", &token), ("scope", "read")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("scope").is_none(), "the scope granted is the scope requested: {body}");
    let record = token_record(&server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(record.scope.to_string(), "read");

    let (status, body) = exchange(&server, &sign_rs256(&claims(KEY_CLIENT, "alice"))).await;
    assert_eq!((status, body["scope"].as_str()), (200, Some("read write")), "{body}");

    let token = sign_rs256(&claims(KEY_CLIENT, "alice"));
    let response = post(&server, &[("grant_type", JWT_BEARER), ("assertion", &token), ("scope", "admin")]).await;
    assert_error(&response, 400, "invalid_scope", None);
}

#[tokio::test]
async fn refresh_token_only_when_offered() {
    let mut server = server(store());
    server.register_grant(JwtBearerGrant::new().with_refresh_token(true), ()).unwrap();
    // The public client could not use a refresh token unless the refresh grant accepts `none`.
    let public_refresh = [ClientAuthMethod::CLIENT_SECRET_BASIC, ClientAuthMethod::NONE];
    server.register_grant(RefreshTokenGrant::new(), ()).unwrap().restrict_auth_methods(public_refresh.clone()).unwrap();
    let (status, body) = exchange(&server, &sign_rs256(&claims(KEY_CLIENT, "alice"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].is_string(), "{body}");

    // Without the offer, no refresh token even though the client and server allow one.
    let mut server = default_server();
    server.register_grant(RefreshTokenGrant::new(), ()).unwrap().restrict_auth_methods(public_refresh).unwrap();
    let (status, body) = exchange(&server, &sign_rs256(&claims(KEY_CLIENT, "alice"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn exp_within_the_leeway_is_accepted() {
    let server = default_server();
    let late = with(claims(KEY_CLIENT, "alice"), "exp", json!(NOW - 30));
    assert_eq!(exchange(&server, &sign_rs256(&late)).await.0, 200);
    let strict = server_with(JwtBearerGrant::new().with_leeway(0));
    let late = with(claims(KEY_CLIENT, "alice"), "exp", json!(NOW - 30));
    assert_invalid_grant(&exchange(&strict, &sign_rs256(&late)).await, "assertion has expired");
}

// --- signature and algorithm -------------------------------------------------------------

#[tokio::test]
async fn tampered_payload_fails_the_signature() {
    let server = default_server();
    let token = sign_rs256(&claims(KEY_CLIENT, KEY_CLIENT));
    let tampered = with_payload(&token, &claims(KEY_CLIENT, "alice"));
    assert_invalid_grant(&exchange(&server, &tampered).await, "assertion signature is invalid");
}

#[tokio::test]
async fn assertion_signed_by_another_key_fails() {
    let server = default_server();
    let other_rsa = sign(Algorithm::RS256, Some("rsa-1"), &claims(KEY_CLIENT, "alice"), &keys().other_rsa.encoding);
    assert_invalid_grant(&exchange(&server, &other_rsa).await, "assertion signature is invalid");
    let other_ec = sign(Algorithm::ES256, Some("ec-1"), &claims(KEY_CLIENT, "alice"), &keys().other_ec.encoding);
    assert_invalid_grant(&exchange(&server, &other_ec).await, "assertion signature is invalid");
    let wrong_secret = sign_hs256(&claims(SECRET_CLIENT, "alice"), "not-the-secret");
    assert_invalid_grant(&exchange(&server, &wrong_secret).await, "assertion signature is invalid");
}

#[tokio::test]
async fn unsigned_assertion_is_refused() {
    let server = default_server();
    let response = exchange(&server, &unsigned(&claims(KEY_CLIENT, "alice"))).await;
    assert_invalid_grant(&response, "assertion is not signed (alg none)");
}

#[tokio::test]
async fn algorithm_outside_the_allow_list_is_refused() {
    let server = default_server();
    let rs384 = sign(Algorithm::RS384, Some("rsa-1"), &claims(KEY_CLIENT, "alice"), &keys().rsa.encoding);
    assert_invalid_grant(&exchange(&server, &rs384).await, "assertion algorithm RS384 is not allowed");

    let rsa_only = server_with(JwtBearerGrant::new().with_algorithms([Algorithm::RS256, Algorithm::RS384]));
    let rs384 = sign(Algorithm::RS384, Some("rsa-1"), &claims(KEY_CLIENT, "alice"), &keys().rsa.encoding);
    assert_eq!(exchange(&rsa_only, &rs384).await.0, 200);
    let hs256 = sign_hs256(&claims(SECRET_CLIENT, "alice"), SECRET);
    assert_invalid_grant(&exchange(&rsa_only, &hs256).await, "assertion algorithm HS256 is not allowed");
}

#[tokio::test]
async fn unknown_kid_matches_no_key() {
    let server = default_server();
    let token = sign(Algorithm::RS256, Some("rsa-2"), &claims(KEY_CLIENT, "alice"), &keys().rsa.encoding);
    assert_invalid_grant(&exchange(&server, &token).await, "matches no registered key");
    // A key of the wrong type for the algorithm is no key either.
    let token = sign(Algorithm::RS256, Some("ec-1"), &claims(KEY_CLIENT, "alice"), &keys().rsa.encoding);
    assert_invalid_grant(&exchange(&server, &token).await, "matches no registered key");
}

#[tokio::test]
async fn malformed_assertions_are_invalid_grant() {
    let server = default_server();
    for garbage in ["not-a-jwt", "a.b.c", "a.b.c.d.e", "..."] {
        let (status, body) = exchange(&server, garbage).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{garbage}: {body}");
        assert!(body["error_description"].as_str().unwrap().starts_with("assertion "), "{body}");
    }
}

// --- claims ------------------------------------------------------------------------------

#[tokio::test]
async fn expired_assertion_is_refused() {
    let server = default_server();
    let expired = with(claims(KEY_CLIENT, "alice"), "exp", json!(NOW - 61));
    assert_invalid_grant(&exchange(&server, &sign_rs256(&expired)).await, "assertion has expired");
}

#[tokio::test]
async fn assertion_not_yet_valid_is_refused() {
    let server = default_server();
    let early = with(claims(KEY_CLIENT, "alice"), "nbf", json!(NOW + 120));
    assert_invalid_grant(&exchange(&server, &sign_rs256(&early)).await, "assertion is not yet valid");
}

#[tokio::test]
async fn assertion_issued_in_the_future_is_refused() {
    let server = default_server();
    let future = with(claims(KEY_CLIENT, "alice"), "iat", json!(NOW + 120));
    assert_invalid_grant(&exchange(&server, &sign_rs256(&future)).await, "assertion was issued in the future");
}

#[tokio::test]
async fn exp_too_far_in_the_future_is_refused() {
    let server = default_server();
    let long = with(claims(KEY_CLIENT, "alice"), "exp", json!(NOW + 3601));
    assert_invalid_grant(&exchange(&server, &sign_rs256(&long)).await, "assertion expires too far in the future");

    let short_lived = server_with(JwtBearerGrant::new().with_max_lifetime(60));
    let five_minutes = claims(KEY_CLIENT, "alice");
    assert_invalid_grant(&exchange(&short_lived, &sign_rs256(&five_minutes)).await, "too far in the future");
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let server = default_server();
    let wrong = with(claims(KEY_CLIENT, "alice"), "aud", json!("https://other.example/token"));
    assert_invalid_grant(
        &exchange(&server, &sign_rs256(&wrong)).await,
        "assertion audience does not identify this server",
    );
    let wrong = with(claims(KEY_CLIENT, "alice"), "aud", json!(["https://a.example", "https://b.example"]));
    assert_invalid_grant(&exchange(&server, &sign_rs256(&wrong)).await, "audience does not identify this server");
}

#[tokio::test]
async fn each_required_claim_must_be_present() {
    let server = default_server();
    for claim in ["iss", "sub", "aud", "exp"] {
        let token = sign_rs256(&without(claims(KEY_CLIENT, "alice"), claim));
        let response = exchange(&server, &token).await;
        assert_invalid_grant(&response, &format!("assertion is missing the {claim} claim"));
    }
}

#[tokio::test]
async fn malformed_claims_are_refused() {
    let server = default_server();
    let token = sign_rs256(&with(claims(KEY_CLIENT, "alice"), "exp", json!("tomorrow")));
    assert_invalid_grant(&exchange(&server, &token).await, "assertion claim exp is malformed");
}

// --- issuer, subject, client --------------------------------------------------------------

#[tokio::test]
async fn unknown_issuer_is_refused() {
    let server = default_server();
    let token = sign_rs256(&claims("nobody", "alice"));
    assert_invalid_grant(&exchange(&server, &token).await, "unknown assertion issuer");
}

#[tokio::test]
async fn issuer_not_allowed_the_grant_is_unauthorized_client() {
    let server = default_server();
    let token = sign_rs256(&claims(BARRED_CLIENT, "alice"));
    assert_error(&exchange(&server, &token).await, 400, "unauthorized_client", Some(JWT_BEARER));
}

#[tokio::test]
async fn unknown_subject_is_refused() {
    let server = default_server();
    let token = sign_rs256(&claims(KEY_CLIENT, "mallory"));
    assert_invalid_grant(&exchange(&server, &token).await, "assertion subject is not a known user");
}

#[tokio::test]
async fn missing_assertion_is_invalid_request() {
    let server = default_server();
    let response = post(&server, &[("grant_type", JWT_BEARER)]).await;
    assert_error(&response, 400, "invalid_request", Some("assertion"));
}

#[tokio::test]
async fn authenticated_client_must_be_the_issuer() {
    let server = default_server();
    let request = |token: &str| {
        http::Request::post("/token")
            .header("authorization", basic(BASIC_CLIENT, BASIC_SECRET))
            .form(&[("grant_type", JWT_BEARER), ("assertion", token)])
            .unwrap()
    };
    let own = sign_rs256(&claims(BASIC_CLIENT, "alice"));
    let (status, body) = post_request(&server, request(&own)).await;
    assert_eq!(status, 200, "{body}");

    let foreign = sign_rs256(&claims(KEY_CLIENT, "alice"));
    let response = post_request(&server, request(&foreign)).await;
    assert_invalid_grant(&response, "assertion issuer does not match the authenticated client");

    // Credentials that fail are refused before the assertion is looked at.
    let bad = http::Request::post("/token")
        .header("authorization", basic(BASIC_CLIENT, "wrong"))
        .form(&[("grant_type", JWT_BEARER), ("assertion", &own)])
        .unwrap();
    assert_error(&post_request(&server, bad).await, 401, "invalid_client", None);
}

#[tokio::test]
async fn client_authenticated_by_private_key_jwt_may_use_the_grant() {
    let store = store();
    store
        .add_client(
            ClientRecord::public("jwt-authenticated")
                .with_auth_method(ClientAuthMethod::PRIVATE_KEY_JWT)
                .with_grant_types([bearer()])
                .with_metadata("jwks", jwks()),
        )
        .unwrap();
    let mut server = server(store);
    server.add_client_authenticator(PrivateKeyJwt::new()).unwrap();
    server
        .register_grant(JwtBearerGrant::new(), ())
        .unwrap()
        .restrict_auth_methods([ClientAuthMethod::PRIVATE_KEY_JWT])
        .unwrap();
    let client_assertion = sign_es256(&claims("jwt-authenticated", "jwt-authenticated"));
    let assertion = sign_rs256(&claims("jwt-authenticated", "alice"));
    let form = [
        ("grant_type", JWT_BEARER),
        ("assertion", assertion.as_str()),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", client_assertion.as_str()),
    ];
    let (status, body) = post(&server, &form).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn client_assertion_without_a_jwt_authenticator_is_not_ignored() {
    let server = default_server();
    let assertion = sign_rs256(&claims(KEY_CLIENT, "alice"));
    let client_assertion = sign_rs256(&claims("someone-else", "someone-else"));
    let form = [
        ("grant_type", JWT_BEARER),
        ("assertion", assertion.as_str()),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", client_assertion.as_str()),
    ];
    assert_error(&post(&server, &form).await, 400, "invalid_client", Some("client_assertion"));
}

// --- jti ---------------------------------------------------------------------------------

#[tokio::test]
async fn replayed_jti_is_refused() {
    let server = default_server();
    let token = sign_rs256(&claims(KEY_CLIENT, "alice"));
    assert_eq!(exchange(&server, &token).await.0, 200);
    assert_invalid_grant(&exchange(&server, &token).await, "assertion was already used");
    // The same jti from another issuer is another assertion.
    let jti = unique_jti();
    let a = sign_rs256(&with(claims(KEY_CLIENT, "alice"), "jti", json!(jti)));
    let b = sign_hs256(&with(claims(SECRET_CLIENT, "alice"), "jti", json!(jti)), SECRET);
    assert_eq!(exchange(&server, &a).await.0, 200);
    assert_eq!(exchange(&server, &b).await.0, 200);
}

#[tokio::test]
async fn an_assertion_spent_on_one_server_is_refused_by_another_on_the_same_store() {
    let shared = Arc::new(store());
    let [one, two] = [(); 2].map(|()| {
        let mut server = server_on(shared.clone());
        server.register_grant(JwtBearerGrant::new(), ()).unwrap();
        server
    });
    let with_jti = sign_rs256(&claims(KEY_CLIENT, "alice"));
    let no_jti = sign_rs256(&with(without(claims(KEY_CLIENT, "alice"), "jti"), "nonce", json!(unique_jti())));
    for assertion in [with_jti, no_jti] {
        assert_eq!(exchange(&one, &assertion).await.0, 200);
        assert_invalid_grant(&exchange(&two, &assertion).await, "assertion was already used");
        assert_eq!(exchange(&default_server(), &assertion).await.0, 200, "another store has not seen it");
    }
}

#[tokio::test]
async fn jti_is_optional_unless_required() {
    let no_jti = || with(without(claims(KEY_CLIENT, "alice"), "jti"), "nonce", json!(unique_jti()));
    let required = server_with(JwtBearerGrant::new().with_require_jti(true));
    assert_invalid_grant(&exchange(&required, &sign_rs256(&no_jti())).await, "assertion is missing the jti claim");

    let optional = default_server();
    let token = sign_rs256(&no_jti());
    assert_eq!(exchange(&optional, &token).await.0, 200);
    assert_invalid_grant(&exchange(&optional, &token).await, "assertion was already used");
}

#[tokio::test]
async fn grant_registers_beside_the_rfc6749_grants() {
    let mut server = server(store());
    server.register_grant(ClientCredentialsGrant::new(), ()).unwrap();
    server.register_grant(JwtBearerGrant::new(), ()).unwrap();
    assert!(server.registry().grant_types().contains(&bearer()));
}
