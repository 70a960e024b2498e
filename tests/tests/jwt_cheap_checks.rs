//! The cheap claim checks come first: an assertion whose `aud`, `exp`, `nbf`, `iat` or lifetime
//! is wrong is refused before any key is looked up, so before any signature is checked. A junk
//! assertion cannot make the server do an RSA verification.

mod jwt_support;

use grantry_core::storage::StorageError;
use grantry_core::{AuthorizationServer, ClientAuthMethod, ClientRecord, GrantType, MemoryStore};
use grantry_extensions::jwt::{AssertionKeys, ClientKeys, DecodingKey, JwtBearerGrant, KeyQuery, PrivateKeyJwt};
use grantry_grants::ClientCredentialsGrant;
use jwt_support::{
    ASSERTION_TYPE, JWT_BEARER, NOW, assert_error, claims, jwks, post, server, sign_rs256, with, without,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const CLIENT: &str = "key-client";

/// The client's registered keys, counting every lookup: no lookup, no signature check.
#[derive(Clone, Default)]
struct CountingKeys {
    lookups: Arc<AtomicUsize>,
    keys: Arc<ClientKeys>,
}

impl CountingKeys {
    fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }
}

#[grantry_core::async_trait]
impl AssertionKeys for CountingKeys {
    async fn decoding_keys(&self, query: &KeyQuery<'_>) -> Result<Vec<DecodingKey>, StorageError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.keys.decoding_keys(query).await
    }
}

/// A server with the bearer grant and `private_key_jwt` (on client credentials), both
/// looking keys up through `keys`.
fn counting_server(keys: &CountingKeys) -> AuthorizationServer {
    let store = MemoryStore::new();
    store
        .add_client(
            ClientRecord::public(CLIENT)
                .with_auth_method(ClientAuthMethod::PRIVATE_KEY_JWT)
                .with_grant_types([GrantType::CLIENT_CREDENTIALS, GrantType::parse(JWT_BEARER).unwrap()])
                .with_metadata("jwks", jwks()),
        )
        .unwrap();
    store.add_user("alice", "alice-password");
    let mut server = server(store);
    server.add_client_authenticator(PrivateKeyJwt::new().with_keys(keys.clone())).unwrap();
    server
        .register_grant(ClientCredentialsGrant::new(), ())
        .unwrap()
        .restrict_auth_methods([ClientAuthMethod::PRIVATE_KEY_JWT])
        .unwrap();
    server.register_grant(JwtBearerGrant::new().with_keys(keys.clone()), ()).unwrap();
    server
}

/// Claims each refused by a cheap check, and the refusal's description.
fn refused_claims(iss: &str, sub: &str) -> Vec<(Value, &'static str)> {
    let valid = || claims(iss, sub);
    vec![
        (with(valid(), "aud", json!("https://elsewhere.example/token")), "audience does not identify this server"),
        (with(valid(), "exp", json!(NOW - 3600)), "has expired"),
        (with(valid(), "exp", json!(NOW + 86_400)), "expires too far in the future"),
        (with(valid(), "nbf", json!(NOW + 600)), "is not yet valid"),
        (with(valid(), "iat", json!(NOW + 600)), "was issued in the future"),
        (without(valid(), "exp"), "missing the exp claim"),
        (without(valid(), "aud"), "missing the aud claim"),
    ]
}

#[tokio::test]
async fn bearer_assertions_failing_a_claim_check_cost_no_signature_check() {
    let keys = CountingKeys::default();
    let server = counting_server(&keys);
    for (claims, description) in refused_claims(CLIENT, "alice") {
        let response = post(&server, &[("grant_type", JWT_BEARER), ("assertion", &sign_rs256(&claims))]).await;
        assert_error(&response, 400, "invalid_grant", Some(description));
        assert_eq!(keys.lookups(), 0, "a key was looked up for an assertion refused by: {description}");
    }
    // A good assertion is verified: the counter counts.
    let response =
        post(&server, &[("grant_type", JWT_BEARER), ("assertion", &sign_rs256(&claims(CLIENT, "alice")))]).await;
    assert_eq!(response.0, 200, "{}", response.1);
    assert_eq!(keys.lookups(), 1);
}

#[tokio::test]
async fn client_assertions_failing_a_claim_check_cost_no_signature_check() {
    let keys = CountingKeys::default();
    let server = counting_server(&keys);
    let authenticate = |assertion: String| {
        let server = &server;
        async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
            ];
            post(server, &form).await
        }
    };
    for (claims, description) in refused_claims(CLIENT, CLIENT) {
        let response = authenticate(sign_rs256(&claims)).await;
        assert_error(&response, 400, "invalid_client", Some(description));
        assert_eq!(keys.lookups(), 0, "a key was looked up for an assertion refused by: {description}");
    }
    assert_eq!(authenticate(sign_rs256(&claims(CLIENT, CLIENT))).await.0, 200);
    assert_eq!(keys.lookups(), 1);
}

/// The unverified claims never decide: an assertion that passes the early checks but whose
/// signature does not cover them (its payload swapped) is refused.
#[tokio::test]
async fn passing_the_early_checks_decides_nothing() {
    let keys = CountingKeys::default();
    let server = counting_server(&keys);
    let token = sign_rs256(&claims(CLIENT, "alice"));
    let swapped = jwt_support::with_payload(&token, &claims(CLIENT, "alice"));
    let response = post(&server, &[("grant_type", JWT_BEARER), ("assertion", &swapped)]).await;
    assert_error(&response, 400, "invalid_grant", Some("signature is invalid"));
    assert_eq!(keys.lookups(), 1);
}
