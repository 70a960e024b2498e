//! JWT client authentication (RFC 7523 §2.2, §3): `client_secret_jwt` and `private_key_jwt`,
//! added to a server as authenticator plugins and allowed on the client credentials grant.

mod jwt_support;

use grantry_core::{AuthorizationServer, ClientAuthMethod, ClientRecord, GrantType, MemoryStore};
use grantry_extensions::jwt::{ClientSecretJwt, PrivateKeyJwt};
use grantry_grants::ClientCredentialsGrant;
use jsonwebtoken::Algorithm;
use jwt_support::*;
use serde_json::{Value, json};
use std::sync::Arc;

/// Registered for `private_key_jwt` with the RSA and EC keys (and, unused by the method, a secret).
const KEY_CLIENT: &str = "key-client";
const KEY_CLIENT_SECRET: &str = "key-client-secret-of-at-least-thirty-two-bytes";
/// Registered for `client_secret_jwt`.
const SECRET_CLIENT: &str = "secret-client";
const SECRET: &str = "a-shared-secret-of-at-least-thirty-two-bytes";
/// Registered for `client_secret_basic`.
const BASIC_CLIENT: &str = "basic-client";
const BASIC_SECRET: &str = "basic-secret";

fn store() -> MemoryStore {
    let store = MemoryStore::new();
    store
        .add_client(
            ClientRecord::confidential(KEY_CLIENT, KEY_CLIENT_SECRET)
                .with_auth_method(ClientAuthMethod::PRIVATE_KEY_JWT)
                .with_grant_types([GrantType::CLIENT_CREDENTIALS])
                .with_scope("read")
                .with_metadata("jwks", jwks()),
        )
        .unwrap();
    store
        .add_client(
            ClientRecord::confidential(SECRET_CLIENT, SECRET)
                .with_auth_method(ClientAuthMethod::CLIENT_SECRET_JWT)
                .with_grant_types([GrantType::CLIENT_CREDENTIALS])
                .with_scope("read"),
        )
        .unwrap();
    store
        .add_client(
            ClientRecord::confidential(BASIC_CLIENT, BASIC_SECRET)
                .with_grant_types([GrantType::CLIENT_CREDENTIALS])
                .with_metadata("jwks", jwks()),
        )
        .unwrap();
    store
}

/// Both JWT methods added, and allowed (with `client_secret_basic`) on client credentials.
fn default_server() -> AuthorizationServer {
    server_with(ClientSecretJwt::new(), PrivateKeyJwt::new())
}

fn server_with(secret_jwt: ClientSecretJwt, key_jwt: PrivateKeyJwt) -> AuthorizationServer {
    let mut server = server(store());
    server.add_client_authenticator(secret_jwt).unwrap();
    server.add_client_authenticator(key_jwt).unwrap();
    server
        .register_grant(ClientCredentialsGrant::new(), ())
        .unwrap()
        .restrict_auth_methods([
            ClientAuthMethod::CLIENT_SECRET_BASIC,
            ClientAuthMethod::CLIENT_SECRET_JWT,
            ClientAuthMethod::PRIVATE_KEY_JWT,
        ])
        .unwrap();
    server
}

/// Client assertion claims: `iss` = `sub` = `client`.
fn client_claims(client: &str) -> Value {
    claims(client, client)
}

async fn authenticate(server: &AuthorizationServer, assertion: &str) -> (u16, Value) {
    post(
        server,
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
    )
    .await
}

#[track_caller]
fn assert_invalid_client(response: &(u16, Value), description: &str) {
    assert_error(response, 400, "invalid_client", Some(description));
}

// --- success -----------------------------------------------------------------------------

#[tokio::test]
async fn private_key_jwt_with_rs256() {
    let server = default_server();
    let (status, body) = authenticate(&server, &sign_rs256(&client_claims(KEY_CLIENT))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(token_owner(&server, body["access_token"].as_str().unwrap()).await, (KEY_CLIENT.to_owned(), None));
}

#[tokio::test]
async fn private_key_jwt_with_es256_and_the_issuer_as_audience() {
    let server = default_server();
    let claims = with(client_claims(KEY_CLIENT), "aud", json!(ISSUER));
    let (status, body) = authenticate(&server, &sign_es256(&claims)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn client_secret_jwt_with_hs256() {
    let server = default_server();
    let (status, body) = authenticate(&server, &sign_hs256(&client_claims(SECRET_CLIENT), SECRET)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(token_owner(&server, body["access_token"].as_str().unwrap()).await, (SECRET_CLIENT.to_owned(), None));
    let hs512 = sign(
        Algorithm::HS512,
        None,
        &client_claims(SECRET_CLIENT),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    );
    assert_eq!(authenticate(&server, &hs512).await.0, 200);
}

#[tokio::test]
async fn matching_client_id_and_array_audience_are_accepted() {
    let server = default_server();
    let claims = with(client_claims(KEY_CLIENT), "aud", json!([TOKEN_ENDPOINT, "https://other.example"]));
    let assertion = sign_rs256(&claims);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", KEY_CLIENT),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion.as_str()),
    ];
    let (status, body) = post(&server, &form).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn signing_algorithms_are_announced() {
    let server = default_server();
    let algorithms = |method| server.authenticator(&method).unwrap().signing_algorithms();
    assert_eq!(algorithms(ClientAuthMethod::PRIVATE_KEY_JWT), ["RS256", "PS256", "ES256", "EdDSA"]);
    assert_eq!(algorithms(ClientAuthMethod::CLIENT_SECRET_JWT), ["HS256", "HS384", "HS512"]);
}

// --- request shape -----------------------------------------------------------------------

#[tokio::test]
async fn wrong_client_assertion_type_is_refused() {
    let server = default_server();
    let assertion = sign_rs256(&client_claims(KEY_CLIENT));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
        ("client_assertion", assertion.as_str()),
    ];
    assert_invalid_client(&post(&server, &form).await, "client_assertion_type must be");
    let form = [("grant_type", "client_credentials"), ("client_assertion", assertion.as_str())];
    assert_invalid_client(&post(&server, &form).await, "missing parameter: client_assertion_type");
}

#[tokio::test]
async fn client_assertion_type_without_assertion_is_refused() {
    let server = default_server();
    let form = [("grant_type", "client_credentials"), ("client_assertion_type", ASSERTION_TYPE)];
    assert_invalid_client(&post(&server, &form).await, "missing parameter: client_assertion");
}

#[tokio::test]
async fn client_secret_basic_and_client_assertion_together_are_invalid_request() {
    let server = default_server();
    let assertion = sign_rs256(&client_claims(KEY_CLIENT));
    let request = http::Request::post("/token")
        .header("authorization", basic(BASIC_CLIENT, BASIC_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
        ])
        .unwrap();
    let response = post_request(&server, request).await;
    assert_error(&response, 400, "invalid_request", Some("more than one client authentication method"));
}

#[tokio::test]
async fn client_id_differing_from_the_issuer_is_refused() {
    let server = default_server();
    let assertion = sign_rs256(&client_claims(KEY_CLIENT));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", SECRET_CLIENT),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion.as_str()),
    ];
    assert_invalid_client(&post(&server, &form).await, "client_id does not match the client assertion issuer");
}

// --- claims ------------------------------------------------------------------------------

#[tokio::test]
async fn iss_differing_from_sub_is_refused() {
    let server = default_server();
    let assertion = sign_rs256(&claims(KEY_CLIENT, "alice"));
    assert_invalid_client(&authenticate(&server, &assertion).await, "sub must equal iss");
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let server = default_server();
    let claims = with(client_claims(KEY_CLIENT), "aud", json!("https://other.example/token"));
    assert_invalid_client(
        &authenticate(&server, &sign_rs256(&claims)).await,
        "client assertion audience does not identify this server",
    );
}

#[tokio::test]
async fn expired_assertion_is_refused() {
    let server = default_server();
    let claims = with(client_claims(KEY_CLIENT), "exp", json!(NOW - 3600));
    assert_invalid_client(&authenticate(&server, &sign_rs256(&claims)).await, "client assertion has expired");
}

#[tokio::test]
async fn missing_exp_is_refused() {
    let server = default_server();
    let claims = without(client_claims(KEY_CLIENT), "exp");
    assert_invalid_client(
        &authenticate(&server, &sign_rs256(&claims)).await,
        "client assertion is missing the exp claim",
    );
}

#[tokio::test]
async fn missing_jti_is_refused() {
    let server = default_server();
    let claims = without(client_claims(KEY_CLIENT), "jti");
    assert_invalid_client(
        &authenticate(&server, &sign_rs256(&claims)).await,
        "client assertion is missing the jti claim",
    );
}

#[tokio::test]
async fn replayed_jti_is_refused() {
    let server = default_server();
    let assertion = sign_es256(&client_claims(KEY_CLIENT));
    assert_eq!(authenticate(&server, &assertion).await.0, 200);
    assert_invalid_client(&authenticate(&server, &assertion).await, "client assertion was already used");

    let assertion = sign_hs256(&client_claims(SECRET_CLIENT), SECRET);
    assert_eq!(authenticate(&server, &assertion).await.0, 200);
    assert_invalid_client(&authenticate(&server, &assertion).await, "client assertion was already used");
}

#[tokio::test]
async fn an_assertion_spent_on_one_server_is_refused_by_another_on_the_same_store() {
    let shared = Arc::new(store());
    let [one, two] = [(); 2].map(|()| {
        let mut server = server_on(shared.clone());
        server.add_client_authenticator(ClientSecretJwt::new()).unwrap();
        server.add_client_authenticator(PrivateKeyJwt::new()).unwrap();
        server.register_grant(ClientCredentialsGrant::new(), ()).unwrap();
        server
    });
    let assertion = sign_rs256(&client_claims(KEY_CLIENT));
    assert_eq!(authenticate(&one, &assertion).await.0, 200);
    assert_invalid_client(&authenticate(&two, &assertion).await, "client assertion was already used");
    // A server on a store of its own has not seen it.
    assert_eq!(authenticate(&default_server(), &assertion).await.0, 200);
}

// --- signature and method -----------------------------------------------------------------

#[tokio::test]
async fn assertion_signed_with_the_wrong_key_is_refused() {
    let server = default_server();
    let other = sign(Algorithm::RS256, Some("rsa-1"), &client_claims(KEY_CLIENT), &keys().other_rsa.encoding);
    assert_invalid_client(&authenticate(&server, &other).await, "client assertion signature is invalid");
    let other = sign(Algorithm::ES256, Some("ec-1"), &client_claims(KEY_CLIENT), &keys().other_ec.encoding);
    assert_invalid_client(&authenticate(&server, &other).await, "client assertion signature is invalid");
    let wrong_secret = sign_hs256(&client_claims(SECRET_CLIENT), "not-the-secret");
    assert_invalid_client(&authenticate(&server, &wrong_secret).await, "client assertion signature is invalid");
}

#[tokio::test]
async fn tampered_assertion_is_refused() {
    let server = default_server();
    let token = sign_rs256(&client_claims(KEY_CLIENT));
    let tampered = with_payload(&token, &with(client_claims(KEY_CLIENT), "exp", json!(NOW + 600)));
    assert_invalid_client(&authenticate(&server, &tampered).await, "client assertion signature is invalid");
}

#[tokio::test]
async fn unsigned_assertion_is_refused() {
    let server = default_server();
    let response = authenticate(&server, &unsigned(&client_claims(KEY_CLIENT))).await;
    assert_invalid_client(&response, "client assertion is not signed (alg none)");
}

#[tokio::test]
async fn hs256_assertion_from_a_private_key_jwt_client_is_refused() {
    let server = default_server();
    // Signed with the client's (valid) secret, but the client is registered for private_key_jwt:
    // its store keeps only a digest of the secret, so no HMAC key exists to verify with.
    let assertion = sign_hs256(&client_claims(KEY_CLIENT), KEY_CLIENT_SECRET);
    let response = authenticate(&server, &assertion).await;
    assert_invalid_client(&response, "client assertion matches no registered key of its issuer");
}

#[tokio::test]
async fn rs256_assertion_from_a_client_secret_basic_client_is_refused() {
    let server = default_server();
    let response = authenticate(&server, &sign_rs256(&client_claims(BASIC_CLIENT))).await;
    assert_invalid_client(&response, "not registered for client authentication method private_key_jwt");
}

#[tokio::test]
async fn unknown_client_is_refused() {
    let server = default_server();
    let response = authenticate(&server, &sign_rs256(&client_claims("nobody"))).await;
    assert_invalid_client(&response, "client authentication failed");
}

#[tokio::test]
async fn method_not_allowed_on_the_grant_is_refused() {
    let mut server = server(store());
    server.add_client_authenticator(PrivateKeyJwt::new()).unwrap();
    // The grant allows every method with credentials; the registration narrows it to Basic.
    server
        .register_grant(ClientCredentialsGrant::new(), ())
        .unwrap()
        .restrict_auth_methods([grantry_core::ClientAuthMethod::CLIENT_SECRET_BASIC])
        .unwrap();
    let response = authenticate(&server, &sign_rs256(&client_claims(KEY_CLIENT))).await;
    assert_invalid_client(&response, "client authentication method private_key_jwt is not allowed here");
}

#[tokio::test]
async fn algorithm_outside_the_method_allow_list_is_refused() {
    let server = server_with(ClientSecretJwt::new(), PrivateKeyJwt::new().with_algorithms([Algorithm::ES256]));
    let response = authenticate(&server, &sign_rs256(&client_claims(KEY_CLIENT))).await;
    assert_invalid_client(&response, "client assertion algorithm RS256 is not allowed");
    assert_eq!(authenticate(&server, &sign_es256(&client_claims(KEY_CLIENT))).await.0, 200);
}

#[tokio::test]
async fn authenticator_cannot_be_added_twice() {
    let mut server = default_server();
    assert!(server.add_client_authenticator(PrivateKeyJwt::new()).is_err());
}
