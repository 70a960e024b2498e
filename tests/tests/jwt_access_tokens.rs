//! RFC 9068 JWT access tokens, from the outside: the example server started in-process with
//! `access_token_format: "jwt"`, tokens obtained over HTTP with the `oauth2` crate, the keys
//! fetched from `/jwks.json`, and every token verified by `jwt-compact` (RustCrypto's RSA,
//! P-256 and Ed25519), not by jsonwebtoken (aws-lc), which signs them. Then the resource
//! (`/api/me`), introspection and revocation on them, and forged tokens refused.

mod http_support;

use grantry_examples::server::ServerConfigFile;
use grantry_examples::server::config::TokenFormat;
use grantry_extensions::jwt::{PublishedKey, SigningKey};
use http_support::*;
use jwt_compact::alg::{Ed25519, Es256, Rsa};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmExt, UntrustedToken};
use oauth2::{
    AccessToken, ResourceOwnerPassword, ResourceOwnerUsername, Scope, TokenIntrospectionResponse, TokenResponse,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// The keys of `extensions/testdata/access-token-keys` (test keys, published on purpose).
fn key_file(name: &str) -> String {
    let path = format!("{}/../extensions/testdata/access-token-keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

fn jwk(name: &str) -> Value {
    serde_json::from_str(&key_file(&format!("{name}.jwk.json"))).unwrap()
}

/// JWT access tokens signed with `key`, `published` also served and accepted.
fn jwt_config(key: SigningKey, published: &[&str]) -> impl FnOnce(&mut ServerConfigFile) {
    let published: Vec<PublishedKey> =
        published.iter().map(|name| PublishedKey::from_jwk(&jwk(name)).unwrap()).collect();
    move |config| {
        config.access_token_format = TokenFormat::Jwt;
        config.signing_key = Some(key);
        config.published_keys = published;
    }
}

/// The RS256 server of most tests: `rsa-1` from its PEM file signs, `ec-1` is published too.
async fn start_rs256() -> TestServer {
    let key = SigningKey::from_pem(key_file("rsa-1.pem").as_bytes(), "rsa-1").unwrap();
    start_with(jwt_config(key, &["ec-1"])).await
}

/// The claims RFC 9068 §2.2 puts in an access token, as jwt-compact reads them (`exp` and
/// `iat` are its own `Claims` members).
#[derive(Debug, Deserialize)]
struct AccessClaims {
    iss: String,
    aud: Value,
    sub: String,
    client_id: String,
    scope: String,
    jti: String,
    act: Option<Value>,
}

/// What a resource server checks (RFC 9068 §4), with jwt-compact and the published key set:
/// the key by the header's `kid`, the algorithm the key's, the signature, `typ`, then the
/// claims. Answers the header's `kid` and `alg`, and the claims with `exp - iat`.
fn verify_elsewhere(token: &str, jwks: &Value, issuer: &str) -> (String, String, AccessClaims, i64) {
    let untrusted = UntrustedToken::new(token).unwrap();
    let header = untrusted.header();
    assert_eq!(header.token_type.as_deref(), Some("at+jwt"));
    let kid = header.key_id.clone().expect("a kid");
    let key = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).expect("kid published");
    let key_text = key.to_string();
    let jwk: JsonWebKey<'_> = serde_json::from_str(&key_text).unwrap();
    let alg = untrusted.algorithm().to_owned();
    assert_eq!(key["alg"], alg.as_str(), "the token's alg is its key's");
    let token = match alg.as_str() {
        "RS256" => {
            let public = <Rsa as Algorithm>::VerifyingKey::try_from(&jwk).unwrap();
            Rsa::rs256().validator::<AccessClaims>(&public).validate(&untrusted).unwrap()
        }
        "ES256" => {
            let public = <Es256 as Algorithm>::VerifyingKey::try_from(&jwk).unwrap();
            Es256.validator::<AccessClaims>(&public).validate(&untrusted).unwrap()
        }
        "EdDSA" => {
            let public = <Ed25519 as Algorithm>::VerifyingKey::try_from(&jwk).unwrap();
            Ed25519.validator::<AccessClaims>(&public).validate(&untrusted).unwrap()
        }
        other => panic!("unexpected alg {other}"),
    };
    let (_, claims) = token.into_parts();
    let (exp, iat) = (claims.expiration.unwrap().timestamp(), claims.issued_at.unwrap().timestamp());
    let now = now() as i64;
    assert!(iat <= now + 5 && iat >= now - 60, "iat {iat} is now ({now})");
    assert!(exp > now);
    let custom = claims.custom;
    assert_eq!(custom.iss, issuer);
    assert!(custom.aud == issuer || custom.aud.as_array().is_some_and(|a| a.contains(&json!(issuer))));
    assert!(custom.jti.len() >= 20, "jti is unguessable");
    (kid, alg, custom, exp - iat)
}

/// A client_credentials token of `svc` (all its scope).
async fn svc_token(server: &TestServer) -> AccessToken {
    let svc = server.oauth_client_post("svc", "svc-secret");
    svc.exchange_client_credentials().request_async(&server.http).await.unwrap().access_token().clone()
}

/// Base64url of a JSON value: a JWS segment.
fn b64_json(value: &Value) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, value.to_string())
}

/// `GET /jwks.json`, checked: a JWK Set of public keys only.
async fn fetch_jwks(server: &TestServer) -> Value {
    let reply = server.get(&server.endpoint("jwks_uri")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/jwk-set+json"));
    let jwks = reply.json();
    for key in jwks["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{private} published in {key}");
        }
    }
    jwks
}

#[tokio::test]
async fn client_credentials_token_verifies_with_another_library_against_the_jwks() {
    let server = start_rs256().await;
    assert_eq!(server.endpoint("jwks_uri"), format!("{}/jwks.json", server.base));
    let jwks = fetch_jwks(&server).await;
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, ["rsa-1", "ec-1"]);

    let svc = server.oauth_client_post("svc", "svc-secret");
    let token =
        svc.exchange_client_credentials().add_scope(Scope::new("read".into())).request_async(&server.http).await;
    let access = token.unwrap().access_token().clone();
    let (kid, alg, claims, lifetime) = verify_elsewhere(access.secret(), &jwks, &server.issuer());
    assert_eq!((kid.as_str(), alg.as_str()), ("rsa-1", "RS256"));
    assert_eq!((claims.sub.as_str(), claims.client_id.as_str(), claims.scope.as_str()), ("svc", "svc", "read"));
    assert_eq!(claims.aud, json!(server.issuer()));
    assert_eq!(claims.act, None);
    assert_eq!(lifetime, 3600);

    let me = server.me(access.secret()).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json(), json!({"sub": "svc", "client_id": "svc", "scope": "read"}));
    server.stop().await;
}

#[tokio::test]
async fn a_users_token_from_the_password_grant_names_the_user() {
    let server = start_rs256().await;
    let jwks = fetch_jwks(&server).await;
    let web = server.oauth_client("web", Some("web-secret"), Some(WEB_REDIRECT));
    let (username, password) =
        (ResourceOwnerUsername::new("alice".into()), ResourceOwnerPassword::new("wonderland".into()));
    let tokens = web.exchange_password(&username, &password).request_async(&server.http).await.unwrap();
    let (_, _, claims, _) = verify_elsewhere(tokens.access_token().secret(), &jwks, &server.issuer());
    assert_eq!((claims.sub.as_str(), claims.client_id.as_str(), claims.scope.as_str()), ("alice", "web", "read write"));
    // The refresh token stays opaque, and its access tokens are JWTs too.
    let refresh = tokens.refresh_token().unwrap();
    assert_eq!(refresh.secret().matches('.').count(), 0);
    let refreshed = web.exchange_refresh_token(refresh).request_async(&server.http).await.unwrap();
    let (_, _, again, _) = verify_elsewhere(refreshed.access_token().secret(), &jwks, &server.issuer());
    assert_eq!(again.sub, "alice");
    assert_ne!(again.jti, claims.jti);
    assert_eq!(server.me(refreshed.access_token().secret()).await.json()["sub"], "alice");
    server.stop().await;
}

#[tokio::test]
async fn es256_and_eddsa_signing_keys_from_jwks() {
    for (name, alg) in [("ec-1", "ES256"), ("ed-1", "EdDSA")] {
        let key = SigningKey::from_jwk(&jwk(name)).unwrap();
        let server = start_with(jwt_config(key, &[])).await;
        let jwks = fetch_jwks(&server).await;
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        let token = svc_token(&server).await;
        let (kid, signed_with, claims, _) = verify_elsewhere(token.secret(), &jwks, &server.issuer());
        assert_eq!((kid.as_str(), signed_with.as_str()), (name, alg));
        assert_eq!(claims.scope, "read write");
        assert_eq!(server.me(token.secret()).await.status, 200);
        server.stop().await;
    }
}

#[tokio::test]
async fn introspection_and_revocation_of_a_jwt_access_token() {
    let server = start_rs256().await;
    let svc = server.oauth_client_post("svc", "svc-secret");
    let access = svc.exchange_client_credentials().request_async(&server.http).await.unwrap().access_token().clone();

    let info = svc.introspect(&access).request_async(&server.http).await.unwrap();
    assert!(info.active());
    assert_eq!(info.client_id().map(|c| c.as_str()), Some("svc"));
    assert_eq!(info.sub(), Some("svc"));
    assert_eq!(server.me(access.secret()).await.status, 200);

    let form = [
        ("token", access.secret().as_str()),
        ("token_type_hint", "access_token"),
        ("client_id", "svc"),
        ("client_secret", "svc-secret"),
    ];
    let revoked = server.post_form("/revoke", &form).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    // Still a well-signed, unexpired JWT, but revoked: refused at once.
    let reply = server.me(access.secret()).await;
    assert_eq!(reply.status, 401);
    assert!(reply.header("www-authenticate").unwrap().contains("invalid_token"));
    let info = svc.introspect(&access).request_async(&server.http).await.unwrap();
    assert!(!info.active());
    server.stop().await;
}

/// A JWT access token signed with jsonwebtoken: what a forger (or another server) makes.
fn forge(header: &Value, claims: &Value, pem: &str) -> String {
    let message = format!("{}.{}", b64_json(header), b64_json(claims));
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::RS256).unwrap();
    format!("{message}.{signature}")
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_refused_at_the_resource() {
    let server = start_rs256().await;
    let access = svc_token(&server).await;
    assert_eq!(server.me(access.secret()).await.status, 200);
    let segment = |i: usize| -> Value {
        let part = access.secret().split('.').nth(i).unwrap();
        serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, part).unwrap(),
        )
        .unwrap()
    };
    let (header, claims) = (segment(0), segment(1));
    let mut more = claims.clone();
    more["scope"] = "read write admin".into();

    let mut none_header = header.clone();
    none_header["alg"] = "none".into();
    let unsigned = format!("{}.{}.", b64_json(&none_header), b64_json(&claims));
    let mut typ_jwt = header.clone();
    typ_jwt["typ"] = "JWT".into();
    let mut unknown_kid = header.clone();
    unknown_kid["kid"] = "rsa-9".into();
    let mut hs256 = header.clone();
    hs256["alg"] = "HS256".into();

    // Each is refused by the token's own check (RFC 9068 §4) before the store is asked, as the
    // challenge's description shows; the last passes it and the store does not know it.
    let forged = [
        (
            "re-signed with another key under the server's kid",
            forge(&header, &more, &key_file("rsa-other.pem")),
            "signature is invalid",
        ),
        ("alg none", unsigned, "not signed (alg none)"),
        ("typ JWT, signed with the real key", forge(&typ_jwt, &claims, &key_file("rsa-1.pem")), "typ is not at+jwt"),
        ("an unknown kid", forge(&unknown_kid, &claims, &key_file("rsa-other.pem")), "key (kid) is unknown"),
        ("alg HS256 on an RSA kid", forge(&hs256, &claims, &key_file("rsa-1.pem")), "algorithm is not its key's"),
        ("never issued, signed with the real key", forge(&header, &more, &key_file("rsa-1.pem")), "unknown or revoked"),
    ];
    for (what, token, why) in forged {
        let reply = server.me(&token).await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.text);
        let challenge = reply.header("www-authenticate").unwrap();
        assert!(challenge.contains("invalid_token") && challenge.contains(why), "{what}: {challenge}");
    }
    assert_eq!(server.me(access.secret()).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_rotated_out_key_still_verifies_while_published() {
    // Yesterday's server signed with rsa-1.
    let old = start_rs256().await;
    let old_token = svc_token(&old).await;
    old.stop().await;
    // Today's signs with rsa-2 and publishes rsa-1. Its store is a fresh memory store, so the
    // old token is unknown to it: the format's own check passes (signature, kid), the store's
    // refuses. Introspection with a shared store is the two_servers tests' subject.
    let key = SigningKey::from_jwk(&jwk("rsa-2")).unwrap();
    let server = start_with(jwt_config(key, &["rsa-1"])).await;
    let jwks = fetch_jwks(&server).await;
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, ["rsa-2", "rsa-1"]);
    // The old token still verifies against the new key set, elsewhere.
    let (kid, _, _, _) = verify_elsewhere(old_token.secret(), &jwks, &old_token_issuer(old_token.secret()));
    assert_eq!(kid, "rsa-1");
    let new_token = svc_token(&server).await;
    let (kid, _, _, _) = verify_elsewhere(new_token.secret(), &jwks, &server.issuer());
    assert_eq!(kid, "rsa-2");
    server.stop().await;
}

/// The `iss` a token claims (the old server's address).
fn old_token_issuer(token: &str) -> String {
    UntrustedToken::new(token).unwrap().deserialize_claims_unchecked::<AccessClaims>().unwrap().custom.iss
}

#[tokio::test]
async fn opaque_tokens_by_default_and_no_jwks_without_a_signing_key() {
    let server = start_demo().await;
    assert!(server.metadata.get("jwks_uri").is_none());
    assert_eq!(server.get(&format!("{}/jwks.json", server.base)).await.status, 404);
    assert_eq!(svc_token(&server).await.secret().matches('.').count(), 0);
    server.stop().await;
}

#[test]
fn the_configuration_file_names_the_format_and_the_key() {
    let base = json!({"issuer": "http://127.0.0.1:8080", "grants": ["client_credentials"]});
    let with = |extra: Value| {
        let mut value = base.clone();
        value.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        ServerConfigFile::from_json(&value.to_string())
    };
    let pem_path = format!("{}/../extensions/testdata/access-token-keys/ec-1.pem", env!("CARGO_MANIFEST_DIR"));
    let config = with(json!({"access_token_format": "jwt", "signing_key": {"file": pem_path, "kid": "ec-1"},
                             "published_keys": [jwk("rsa-1")]}))
    .unwrap();
    assert_eq!(config.access_token_format, TokenFormat::Jwt);
    assert_eq!(config.signing_key.as_ref().unwrap().kid(), "ec-1");
    assert_eq!(config.published_keys[0].kid(), "rsa-1");
    let config = with(json!({"access_token_format": "jwt", "signing_key": jwk("ed-1")})).unwrap();
    assert_eq!(config.signing_key.as_ref().unwrap().kid(), "ed-1");
    assert_eq!(with(json!({})).unwrap().access_token_format, TokenFormat::Opaque);

    let secret_d = jwk("rsa-1")["d"].as_str().unwrap().to_owned();
    let mut wrong_d = jwk("rsa-1");
    wrong_d["d"] = jwk("rsa-2")["d"].clone();
    let mut no_kid = jwk("ec-1");
    no_kid.as_object_mut().unwrap().remove("kid");
    for (extra, field) in [
        (json!({"access_token_format": "jwt"}), "signing_key"),
        (json!({"access_token_format": "jws"}), "access_token_format"),
        (json!({"access_token_format": "jwt", "signing_key": wrong_d}), "signing_key"),
        (json!({"signing_key": no_kid}), "signing_key.kid"),
        (json!({"signing_key": {"file": "/no/such/key.pem", "kid": "k"}}), "signing_key.file"),
        (json!({"signing_key": {"file": pem_path, "kid": ""}}), "signing_key.kid"),
        (json!({"signing_key": {"file": pem_path, "kid": "k", "d": secret_d}}), "signing_key.d"),
        (json!({"signing_key": jwk("ec-1"), "published_keys": [jwk("ec-1")]}), "published_keys[0].kid"),
        (json!({"signing_key": "not an object"}), "signing_key"),
    ] {
        let err = with(extra.clone()).unwrap_err();
        assert_eq!(err.field, field, "{extra}: {err}");
        assert!(!err.to_string().contains(&secret_d[..12]), "{err}");
    }
}

/// Token exchange with JWT access tokens (RFC 8693 §4.1, RFC 9068): a JWT subject token typed
/// `…:jwt`, an actor token, and a new JWT whose `act` names the actor, verified elsewhere.
#[tokio::test]
async fn an_exchanged_jwt_carries_the_actor() {
    let server = start_rs256().await;
    let subject = svc_token(&server).await;
    let actor = svc_token(&server).await;
    let reply = server
        .post_form(
            "/token",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
                ("client_id", "svc"),
                ("client_secret", "svc-secret"),
                ("subject_token", subject.secret()),
                ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
                ("actor_token", actor.secret()),
                ("actor_token_type", "urn:ietf:params:oauth:token-type:access_token"),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["issued_token_type"], "urn:ietf:params:oauth:token-type:access_token");
    let token = reply.json()["access_token"].as_str().unwrap().to_owned();
    let (_, _, claims, _) = verify_elsewhere(&token, &fetch_jwks(&server).await, &server.issuer());
    assert_eq!((claims.sub.as_str(), claims.client_id.as_str(), claims.scope.as_str()), ("svc", "svc", "read"));
    assert_eq!(claims.act, Some(json!({"sub": "svc"})));
    assert_eq!(server.me(&token).await.status, 200);
    server.stop().await;
}
