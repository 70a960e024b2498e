//! JWT assertions, in-process on the memory store. The first input byte chooses the mode:
//!
//! - even: the rest is a token as sent, parsed and prechecked, then presented both as a bearer
//!   grant `assertion` and as a `client_assertion`;
//! - odd: the rest is a JWS header and a payload (split at the first NUL byte), which the
//!   harness signs with HS256 and client `hs`'s secret, so that everything after the
//!   signature check (claims, single use, subjects) is reached too.
//!
//! Oracles: no panic; the token endpoint never answers `500`; an accepted assertion is never
//! accepted again (single use); what `verify` accepts has the claims it promises.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantry_core::request::FormBody;
use grantry_core::{
    AuthorizationServer, Client, ClientAuthMethod, ClientRecord, GrantType, ManualClock, MemoryStore, Request,
    ServerConfig, http,
};
use grantry_extensions::jwt::{
    AssertionVerifier, ClientSecretJwt, JWT_BEARER_ASSERTION_TYPE, JWT_BEARER_GRANT_TYPE, JwtBearerGrant,
    PrivateKeyJwt,
};
use grantry_grants::ClientCredentialsGrant;
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

const ISSUER: &str = "https://as.example";
const TOKEN_ENDPOINT: &str = "https://as.example/token";
const NOW: u64 = 1_700_000_000;
const HS_SECRET: &str = "a-shared-secret-of-at-least-thirty-two-bytes!";

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// A fresh server and store (single-use records included) per input: `hs` (HS256 via its secret, client_secret_jwt)
/// may use the bearer grant and client credentials; user `alice`.
fn server() -> AuthorizationServer {
    let store = MemoryStore::new();
    let bearer = GrantType::parse(JWT_BEARER_GRANT_TYPE).expect("a grant type");
    store
        .add_client(
            ClientRecord::confidential("hs", HS_SECRET)
                .with_auth_method(ClientAuthMethod::CLIENT_SECRET_JWT)
                .with_grant_types([bearer, GrantType::CLIENT_CREDENTIALS])
                .with_scope("read"),
        )
        .expect("a valid client");
    store.add_user("alice", "wonderland");
    let config = ServerConfig::new(ISSUER).expect("an issuer").with_clock(Arc::new(ManualClock::new(NOW)));
    let mut server = AuthorizationServer::new(store, config);
    server.add_client_authenticator(ClientSecretJwt::new()).expect("added");
    server.add_client_authenticator(PrivateKeyJwt::new()).expect("added");
    server.register_grant(ClientCredentialsGrant::new(), ()).expect("registers");
    server.register_grant(JwtBearerGrant::new(), ()).expect("registers");
    server
}

/// `header.payload` signed with HS256 and `hs`'s secret.
fn signed(header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let key = EncodingKey::from_secret(HS_SECRET.as_bytes());
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256).expect("HMAC signs");
    format!("{input}.{signature}")
}

fn check(server: &AuthorizationServer, request: Request) -> u16 {
    let response = block_on(server.token_endpoint(&request));
    assert_ne!(response.status().as_u16(), 500, "server_error from the memory store");
    let json: serde_json::Value = serde_json::from_slice(response.body()).expect("a JSON body");
    let member = if response.status().as_u16() == 200 { "access_token" } else { "error" };
    assert!(json.get(member).is_some(), "{} without {member}: {json}", response.status().as_u16());
    response.status().as_u16()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let token = if mode & 1 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else { return };
        token.to_owned()
    } else {
        let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        signed(&rest[..split], rest.get(split + 1..).unwrap_or_default())
    };

    // The verifier alone.
    let verifier = AssertionVerifier::new();
    if let Ok(parsed) = verifier.parse(&token) {
        let _ = parsed.issuer();
        let _ = verifier.precheck(&parsed, &[ISSUER, TOKEN_ENDPOINT], NOW);
        let client: Arc<dyn Client> = Arc::new(ClientRecord::confidential("hs", HS_SECRET));
        if let Ok(claims) = block_on(verifier.verify(parsed, &client, &[ISSUER, TOKEN_ENDPOINT], NOW)) {
            assert_eq!(claims.issuer(), "hs");
            assert!(!claims.subject().is_empty());
            assert!(claims.audience().iter().any(|aud| aud == ISSUER || aud == TOKEN_ENDPOINT));
            assert!(claims.expires_at() + verifier.leeway() >= NOW, "expired");
            assert!(claims.expires_at() <= NOW + verifier.max_lifetime(), "lives too long");
            assert!(!claims.replay_key().is_empty());
        }
    }

    // The bearer grant, twice: never two tokens from one assertion.
    let server = server();
    let bearer = || {
        http::Request::post("/token")
            .form(&[("grant_type", JWT_BEARER_GRANT_TYPE), ("assertion", &token)])
            .expect("a valid request")
    };
    let first = check(&server, bearer());
    let second = check(&server, bearer());
    assert!(!(first == 200 && second == 200), "one bearer assertion gave two tokens");

    // The same token as a client assertion, on a fresh server, then as a bearer assertion.
    let server = self::server();
    let client_auth = http::Request::post("/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER_ASSERTION_TYPE),
            ("client_assertion", &token),
        ])
        .expect("a valid request");
    let authenticated = check(&server, client_auth) == 200;
    let reused = check(&server, bearer());
    assert!(!(authenticated && reused == 200), "a client assertion was reused as a bearer assertion");
});
