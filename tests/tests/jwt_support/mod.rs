//! Shared helpers for the JWT tests: keys generated once per test binary, their JWKs, signing,
//! a server on a fixed clock, and requests.

#![allow(dead_code)]

#[path = "../engine_http/mod.rs"]
mod engine_http;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use engine_http::ResponseExt;
pub use grantry_core::http;
pub use grantry_core::request::FormBody;
use grantry_core::storage::TokenRecord;
use grantry_core::{AuthorizationServer, ManualClock, MemoryStore, Request, ServerConfig, TokenDigest};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::EncodePrivateKey as _;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use std::sync::{Arc, OnceLock};

pub const ISSUER: &str = "https://auth.example.com";
pub const TOKEN_ENDPOINT: &str = "https://auth.example.com/token";
/// The server's clock stands still here.
pub const NOW: u64 = 1_700_000_000;
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A private key to sign with and the public JWK a client registers for it.
pub struct KeyPair {
    pub encoding: EncodingKey,
    pub jwk: Value,
}

/// The test keys.
pub struct Keys {
    /// RSA-2048, registered as kid `rsa-1`.
    pub rsa: KeyPair,
    /// Another RSA-2048 key, registered nowhere (its JWK also says kid `rsa-1`).
    pub other_rsa: KeyPair,
    /// P-256, registered as kid `ec-1`.
    pub ec: KeyPair,
    /// Another P-256 key, registered nowhere (its JWK also says kid `ec-1`).
    pub other_ec: KeyPair,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rsa_pair(kid: &str) -> KeyPair {
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let der = key.to_pkcs1_der().unwrap();
    KeyPair {
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        jwk: json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be())}),
    }
}

fn ec_pair(kid: &str) -> KeyPair {
    let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let der = key.to_pkcs8_der().unwrap();
    let point = key.public_key().to_encoded_point(false);
    KeyPair {
        encoding: EncodingKey::from_ec_der(der.as_bytes()),
        jwk: json!({"kty": "EC", "kid": kid, "crv": "P-256", "alg": "ES256", "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())}),
    }
}

/// The keys, generated on first use.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        rsa: rsa_pair("rsa-1"),
        other_rsa: rsa_pair("rsa-1"),
        ec: ec_pair("ec-1"),
        other_ec: ec_pair("ec-1"),
    })
}

/// The JWK Set of the registered keys (RSA and EC).
pub fn jwks() -> Value {
    json!({"keys": [keys().rsa.jwk, keys().ec.jwk]})
}

/// A JWS over `claims`, with `kid` in the header if given.
pub fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

pub fn sign_rs256(claims: &Value) -> String {
    sign(Algorithm::RS256, Some("rsa-1"), claims, &keys().rsa.encoding)
}

pub fn sign_es256(claims: &Value) -> String {
    sign(Algorithm::ES256, Some("ec-1"), claims, &keys().ec.encoding)
}

pub fn sign_hs256(claims: &Value, secret: &str) -> String {
    sign(Algorithm::HS256, None, claims, &EncodingKey::from_secret(secret.as_bytes()))
}

/// An unsigned token (`alg: none`), built by hand.
pub fn unsigned(claims: &Value) -> String {
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{}.", b64(claims.to_string().as_bytes()))
}

/// `token` with its payload replaced by `claims`, keeping header and signature.
pub fn with_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], b64(claims.to_string().as_bytes()), parts[2])
}

/// Valid claims from `iss` about `sub`, for the token endpoint, expiring in 5 minutes.
pub fn claims(iss: &str, sub: &str) -> Value {
    json!({"iss": iss, "sub": sub, "aud": TOKEN_ENDPOINT, "exp": NOW + 300, "iat": NOW, "jti": unique_jti()})
}

/// `claims` with `name` set to `value`.
pub fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

/// `claims` without `name`.
pub fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

/// A `jti` not used before in this process.
pub fn unique_jti() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("jti-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A server with the clock at [`NOW`], no grants, over `store`.
pub fn server(store: MemoryStore) -> AuthorizationServer {
    server_on(Arc::new(store))
}

/// A server on a store it may share with others (as servers share a database).
pub fn server_on(store: Arc<MemoryStore>) -> AuthorizationServer {
    let config = ServerConfig::new(ISSUER).unwrap().with_clock(Arc::new(ManualClock::new(NOW)));
    AuthorizationServer::new(store, config)
}

/// POSTs `form` to the token endpoint; returns the status and the JSON body.
pub async fn post(server: &AuthorizationServer, form: &[(&str, &str)]) -> (u16, Value) {
    post_request(server, http::Request::post("/token").form(form).unwrap()).await
}

/// POSTs a prepared request to the token endpoint.
pub async fn post_request(server: &AuthorizationServer, request: Request) -> (u16, Value) {
    let response = server.token_endpoint(&request).await;
    (response.status().as_u16(), response.json().unwrap())
}

/// A Basic `Authorization` header value.
pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

/// Asserts an error response: status, `error`, and (if given) a fragment of the description.
#[track_caller]
pub fn assert_error(response: &(u16, Value), status: u16, error: &str, description: Option<&str>) {
    let (got_status, body) = response;
    assert_eq!((*got_status, body["error"].as_str()), (status, Some(error)), "{body}");
    if let Some(fragment) = description {
        let text = body["error_description"].as_str().unwrap_or_default();
        assert!(text.contains(fragment), "description {text:?} should contain {fragment:?}");
    }
}

/// The stored record of an issued access token.
pub async fn token_record(server: &AuthorizationServer, access_token: &str) -> TokenRecord {
    server.storage().tokens.find_token(TokenDigest::of(access_token)).await.unwrap().unwrap()
}

/// Whom an issued access token is for: (client_id, subject).
pub async fn token_owner(server: &AuthorizationServer, access_token: &str) -> (String, Option<String>) {
    let record = token_record(server, access_token).await;
    (record.client_id.to_string(), record.subject.as_deref().map(str::to_owned))
}
