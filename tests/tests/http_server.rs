//! End to end over real HTTP: the example server (`grantry-server`) started in-process on
//! `127.0.0.1:0` with the demo configuration, driven by the `oauth2` crate as the client and
//! by raw `reqwest` requests where a client library has no say (form posts, JWT assertions,
//! error paths). Every request has a timeout; every server is stopped gracefully.

mod http_support;

use http_support::*;
use oauth2::basic::BasicErrorResponseType;
use oauth2::{
    AccessToken, AuthorizationCode, CsrfToken, PkceCodeChallenge, RequestTokenError, ResourceOwnerPassword,
    ResourceOwnerUsername, Scope, StandardErrorResponse, StandardRevocableToken, TokenIntrospectionResponse,
    TokenResponse,
};
use serde_json::json;
use std::time::{Duration, Instant};

/// The `error` of an oauth2 token request that the server refused.
fn server_error<T: std::fmt::Debug>(
    result: Result<T, RequestTokenError<impl std::error::Error, StandardErrorResponse<BasicErrorResponseType>>>,
) -> BasicErrorResponseType {
    match result {
        Err(RequestTokenError::ServerResponse(response)) => response.error().clone(),
        other => panic!("expected an OAuth error response, got {other:?}"),
    }
}

#[tokio::test]
async fn metadata_is_derived_from_the_issuer_and_the_registry() {
    let server = start_demo().await;
    let meta = &server.metadata;
    assert_eq!(meta["issuer"], server.base.as_str());
    for (name, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
    ] {
        assert_eq!(meta[name], format!("{}{path}", server.base));
    }
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    let grants = meta["grant_types_supported"].as_array().unwrap();
    for grant in ["authorization_code", "implicit", "password", "client_credentials", "refresh_token", JWT_BEARER] {
        assert!(grants.contains(&json!(grant)), "{grant}");
    }
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none", "private_key_jwt"])
    );
    server.stop().await;
}

#[tokio::test]
async fn authorization_code_with_pkce_for_the_public_client_then_refresh_with_rotation() {
    let server = start_demo().await;
    let spa = server.oauth_client("spa", None, Some(SPA_REDIRECT));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = spa
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser: the form, then Allow as alice.
    let hidden = server.consent_form(url.as_str()).await;
    assert!(hidden.iter().any(|(n, v)| n == "code_challenge_method" && v == "S256"));
    assert!(hidden.iter().any(|(n, _)| n == "csrf_token"));
    let reply = server.submit_consent(&hidden, "alice", "wonderland", "allow").await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    let location = reply.header("location").unwrap();
    assert_eq!(without_query(location), SPA_REDIRECT);
    let params = redirect_params(location);
    assert_eq!(params.get("state"), Some(state.secret()));
    assert_eq!(params.get("iss"), Some(&server.issuer()));

    // The client: exchange the code with the verifier (public client: client_id in the body).
    let code = AuthorizationCode::new(params["code"].clone());
    let tokens = spa.exchange_code(code).set_pkce_verifier(verifier).request_async(&server.http).await.unwrap();
    // The granted scope is the requested one (so the response may leave it out).
    assert!(tokens.scopes().is_none_or(|s| s.len() == 1 && s[0].as_str() == "read"));
    let me = server.me(tokens.access_token().secret()).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json(), json!({"sub": "alice", "client_id": "spa", "scope": "read"}));

    // Refresh: a new pair; the old refresh token is then refused (rotation).
    let first_refresh = tokens.refresh_token().unwrap().clone();
    let refreshed = spa.exchange_refresh_token(&first_refresh).request_async(&server.http).await.unwrap();
    let second_refresh = refreshed.refresh_token().unwrap().clone();
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    assert_eq!(server.me(refreshed.access_token().secret()).await.status, 200);
    let replay = spa.exchange_refresh_token(&first_refresh).request_async(&server.http).await;
    assert_eq!(server_error(replay), BasicErrorResponseType::InvalidGrant);
    // The replay revoked the family: the rotated token and its access token are dead too.
    let after = spa.exchange_refresh_token(&second_refresh).request_async(&server.http).await;
    assert_eq!(server_error(after), BasicErrorResponseType::InvalidGrant);
    assert_eq!(server.me(refreshed.access_token().secret()).await.status, 401);
    server.stop().await;
}

#[tokio::test]
async fn pkce_is_required_of_the_public_client_and_checked() {
    let server = start_demo().await;
    let spa = server.oauth_client("spa", None, Some(SPA_REDIRECT));
    // No challenge: the error goes back to the client, with state and iss.
    let (url, state) = spa.authorize_url(CsrfToken::new_random).url();
    let reply = server.get(url.as_str()).await;
    assert_eq!(reply.status, 302);
    let params = redirect_params(reply.header("location").unwrap());
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params.get("state"), Some(state.secret()));
    assert_eq!(params.get("iss"), Some(&server.issuer()));

    // A wrong verifier is refused.
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = spa.authorize_url(CsrfToken::new_random).set_pkce_challenge(challenge).url();
    let params = server.authorize_as_alice(url.as_str()).await;
    let (_, wrong_verifier) = PkceCodeChallenge::new_random_sha256();
    let exchange = spa
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .set_pkce_verifier(wrong_verifier)
        .request_async(&server.http)
        .await;
    assert_eq!(server_error(exchange), BasicErrorResponseType::InvalidGrant);
    server.stop().await;
}

#[tokio::test]
async fn authorization_code_for_the_confidential_client_with_basic_authentication() {
    let server = start_demo().await;
    let web = server.oauth_client("web", Some("web-secret"), Some(WEB_REDIRECT));
    // web is confidential and the demo requires PKCE of public clients only: no challenge.
    let (url, state) = web
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .add_scope(Scope::new("write".into()))
        .url();
    let params = server.authorize_as_alice(url.as_str()).await;
    assert_eq!(params.get("state"), Some(state.secret()));
    let code = AuthorizationCode::new(params["code"].clone());
    let tokens = web.exchange_code(code.clone()).request_async(&server.http).await.unwrap();
    assert_eq!(server.me(tokens.access_token().secret()).await.json()["scope"], "read write");
    // A code is single-use; its replay revokes what it produced.
    let replay = web.exchange_code(code).request_async(&server.http).await;
    assert_eq!(server_error(replay), BasicErrorResponseType::InvalidGrant);
    assert_eq!(server.me(tokens.access_token().secret()).await.status, 401);
    server.stop().await;
}

#[tokio::test]
async fn client_credentials_with_client_secret_post_and_client_secret_basic() {
    // A client_secret_basic client of the client credentials grant, beside the demo's svc.
    let server = start_with(|config| {
        let batch = serde_json::from_value(json!({
            "client_id": "batch", "client_secret": "batch-secret", "grant_types": ["client_credentials"],
            "scope": "read", "token_endpoint_auth_method": "client_secret_basic"
        }))
        .unwrap();
        config.clients.push(batch);
    })
    .await;

    let svc = server.oauth_client_post("svc", "svc-secret");
    let token = svc.exchange_client_credentials().request_async(&server.http).await.unwrap();
    let me = server.me(token.access_token().secret()).await.json();
    assert_eq!(me, json!({"sub": "svc", "client_id": "svc", "scope": "read write"}));
    let narrowed = svc
        .exchange_client_credentials()
        .add_scope(Scope::new("write".into()))
        .request_async(&server.http)
        .await
        .unwrap();
    // /api/me needs read.
    let reply = server.me(narrowed.access_token().secret()).await;
    assert_eq!(reply.status, 403);
    assert!(reply.header("www-authenticate").unwrap().contains("insufficient_scope"));

    let batch = server.oauth_client("batch", Some("batch-secret"), None);
    let token = batch.exchange_client_credentials().request_async(&server.http).await.unwrap();
    assert_eq!(server.me(token.access_token().secret()).await.json()["client_id"], "batch");

    // svc registered client_secret_post: HTTP Basic is refused for it.
    let svc_basic = server.oauth_client("svc", Some("svc-secret"), None);
    let refused = svc_basic.exchange_client_credentials().request_async(&server.http).await;
    assert_eq!(server_error(refused), BasicErrorResponseType::InvalidClient);
    server.stop().await;
}

#[tokio::test]
async fn password_grant_then_refresh() {
    let server = start_demo().await;
    let web = server.oauth_client("web", Some("web-secret"), None);
    let username = ResourceOwnerUsername::new("alice".into());
    let password = ResourceOwnerPassword::new("wonderland".into());
    let tokens = web
        .exchange_password(&username, &password)
        .add_scope(Scope::new("read".into()))
        .request_async(&server.http)
        .await
        .unwrap();
    assert_eq!(server.me(tokens.access_token().secret()).await.json()["sub"], "alice");
    let refreshed =
        web.exchange_refresh_token(tokens.refresh_token().unwrap()).request_async(&server.http).await.unwrap();
    assert_eq!(server.me(refreshed.access_token().secret()).await.status, 200);

    let wrong = ResourceOwnerPassword::new("looking-glass".into());
    let refused = web.exchange_password(&username, &wrong).request_async(&server.http).await;
    assert_eq!(server_error(refused), BasicErrorResponseType::InvalidGrant);
    server.stop().await;
}

#[tokio::test]
async fn introspection_then_revocation() {
    let server = start_demo().await;
    let svc = server.oauth_client_post("svc", "svc-secret");
    let token = svc.exchange_client_credentials().request_async(&server.http).await.unwrap();
    let access = token.access_token().clone();

    let info = svc.introspect(&access).request_async(&server.http).await.unwrap();
    assert!(info.active());
    assert_eq!(info.client_id().map(|c| c.as_str()), Some("svc"));
    assert_eq!(info.sub(), Some("svc"));
    assert_eq!(info.iss(), Some(server.issuer().as_str()));
    let scopes: Vec<String> = info.scopes().unwrap().iter().map(|s| s.to_string()).collect();
    assert_eq!(scopes, ["read", "write"]);

    // The oauth2 crate sends revocation requests to https URLs only: this one is raw.
    let revoked = server
        .post_form(
            "/revoke",
            &[
                ("token", access.secret().as_str()),
                ("token_type_hint", "access_token"),
                ("client_id", "svc"),
                ("client_secret", "svc-secret"),
            ],
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(revoked.header("cache-control"), Some("no-store"));
    assert!(matches!(
        svc.revoke_token(StandardRevocableToken::AccessToken(access.clone())),
        Err(oauth2::ConfigurationError::InsecureUrl(_))
    ));
    let info = svc.introspect(&access).request_async(&server.http).await.unwrap();
    assert!(!info.active());
    let reply = server.me(access.secret()).await;
    assert_eq!(reply.status, 401);
    assert!(reply.header("www-authenticate").unwrap().contains("invalid_token"));

    // An unknown token is simply inactive.
    let unknown = svc.introspect(&AccessToken::new("no-such-token".into())).request_async(&server.http).await.unwrap();
    assert!(!unknown.active());
    server.stop().await;
}

#[tokio::test]
async fn jwt_bearer_grant_signed_with_the_demo_key() {
    let server = start_demo().await;
    let token_endpoint = server.endpoint("token_endpoint");
    // For alice (a configured user), with no other client authentication.
    let assertion = sign_with_demo_key(&claims("signer", "alice", &token_endpoint));
    let reply = server.post_form("/token", &[("grant_type", JWT_BEARER), ("assertion", &assertion)]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let access = reply.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(server.me(&access).await.json(), json!({"sub": "alice", "client_id": "signer", "scope": "read"}));

    // For the client itself, with the issuer as audience.
    let assertion = sign_with_demo_key(&claims("signer", "signer", &server.issuer()));
    let reply = server.post_form("/token", &[("grant_type", JWT_BEARER), ("assertion", &assertion)]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // Another audience, an unknown subject: invalid_grant.
    for bad in [claims("signer", "alice", "https://elsewhere.example"), claims("signer", "mallory", &token_endpoint)] {
        let reply =
            server.post_form("/token", &[("grant_type", JWT_BEARER), ("assertion", &sign_with_demo_key(&bad))]).await;
        assert_eq!((reply.status, reply.json()["error"].as_str()), (400, Some("invalid_grant")), "{}", reply.text);
    }
    server.stop().await;
}

#[tokio::test]
async fn private_key_jwt_client_authentication() {
    let server = start_demo().await;
    let token_endpoint = server.endpoint("token_endpoint");
    let assertion = sign_with_demo_key(&claims("signer", "signer", &token_endpoint));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion.as_str()),
    ];
    let reply = server.post_form("/token", &form).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let access = reply.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(server.me(&access).await.json()["client_id"], "signer");

    // The same assertion again (its jti is spent), and one for another audience: refused.
    // (400, not 401: no Authorization header was used, RFC 6749 section 5.2.)
    let replay = server.post_form("/token", &form).await;
    assert_eq!((replay.status, replay.json()["error"].as_str()), (400, Some("invalid_client")));
    let elsewhere = sign_with_demo_key(&claims("signer", "signer", "https://elsewhere.example/token"));
    let reply = server
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", elsewhere.as_str()),
            ],
        )
        .await;
    assert_eq!((reply.status, reply.json()["error"].as_str()), (400, Some("invalid_client")), "{}", reply.text);
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_secret_is_401_with_a_challenge() {
    let server = start_demo().await;
    let web = server.oauth_client("web", Some("not-the-secret"), None);
    let username = ResourceOwnerUsername::new("alice".into());
    let password = ResourceOwnerPassword::new("wonderland".into());
    let refused = web.exchange_password(&username, &password).request_async(&server.http).await;
    assert_eq!(server_error(refused), BasicErrorResponseType::InvalidClient);

    let reply = server
        .http
        .post(server.endpoint("token_endpoint"))
        .basic_auth("web", Some("not-the-secret"))
        .form(&[("grant_type", "password"), ("username", "alice"), ("password", "wonderland")])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 401);
    assert!(reply.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    assert_eq!(reply.headers()["cache-control"], "no-store");
    server.stop().await;
}

#[tokio::test]
async fn a_bad_redirect_uri_is_shown_never_redirected() {
    let server = start_demo().await;
    let url = format!(
        "{}?response_type=code&client_id=web&redirect_uri={}&state=s1",
        server.endpoint("authorization_endpoint"),
        "http%3A%2F%2Fattacker.example%2Fcb"
    );
    let reply = server.get(&url).await;
    assert_eq!(reply.status, 400);
    assert!(reply.header("location").is_none());
    assert!(reply.header("content-type").unwrap().starts_with("text/html"));
    assert!(reply.text.contains("invalid_request"));
    assert!(!reply.text.contains("attacker.example"), "the bad URI is not echoed as a link");

    // An unknown client likewise; a caller asking for JSON gets the JSON error.
    let url = format!("{}?response_type=code&client_id=nobody", server.endpoint("authorization_endpoint"));
    let reply = Reply::of(server.http.get(&url).header("accept", "application/json").send().await.unwrap()).await;
    assert_eq!(reply.status, 400);
    assert!(reply.header("location").is_none());
    assert_eq!(reply.json()["error"], "invalid_client");
    server.stop().await;
}

#[tokio::test]
async fn denied_consent_redirects_access_denied_with_state_and_iss() {
    let server = start_demo().await;
    let web = server.oauth_client("web", Some("web-secret"), Some(WEB_REDIRECT));
    let (url, state) = web.authorize_url(CsrfToken::new_random).url();
    let hidden = server.consent_form(url.as_str()).await;
    // Deny needs no credentials.
    let reply = server.submit_consent(&hidden, "", "", "deny").await;
    assert_eq!(reply.status, 303);
    let location = reply.header("location").unwrap();
    assert_eq!(without_query(location), WEB_REDIRECT);
    let params = redirect_params(location);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params.get("state"), Some(state.secret()));
    assert_eq!(params.get("iss"), Some(&server.issuer()));
    assert!(!params.contains_key("code"));
    server.stop().await;
}

#[tokio::test]
async fn the_consent_form_is_protected() {
    let server = start_demo().await;
    let web = server.oauth_client("web", Some("web-secret"), Some(WEB_REDIRECT));
    let (url, _) = web.authorize_url(CsrfToken::new_random).add_scope(Scope::new("read".into())).url();
    let hidden = server.consent_form(url.as_str()).await;

    // Without the CSRF token: refused, nothing redirected.
    let without: Vec<(String, String)> = hidden.iter().filter(|(n, _)| n != "csrf_token").cloned().collect();
    let reply = server.submit_consent(&without, "alice", "wonderland", "allow").await;
    assert_eq!(reply.status, 403);
    assert!(reply.header("location").is_none());

    // With a parameter changed (a wider scope): the token no longer matches.
    let widened: Vec<(String, String)> = hidden
        .iter()
        .map(|(n, v)| if n == "scope" { (n.clone(), "read write".into()) } else { (n.clone(), v.clone()) })
        .collect();
    let reply = server.submit_consent(&widened, "alice", "wonderland", "allow").await;
    assert_eq!(reply.status, 403);
    assert!(reply.header("location").is_none());

    // A wrong password shows the form again, with an error and a fresh token; no redirect.
    let reply = server.submit_consent(&hidden, "alice", "not-her-password", "allow").await;
    assert_eq!(reply.status, 200);
    assert!(reply.header("location").is_none());
    assert!(reply.text.contains("Wrong username or password"));
    let again = hidden_inputs(&reply.text);
    let params = {
        let reply = server.submit_consent(&again, "alice", "wonderland", "allow").await;
        assert_eq!(reply.status, 303);
        redirect_params(reply.header("location").unwrap())
    };
    assert!(params.contains_key("code"));

    // The page escapes what the request carries, and forbids framing.
    let state = "<script>alert(1)</script>\"'";
    let (url, _) = web.authorize_url(|| CsrfToken::new(state.into())).url();
    let page = server.get(url.as_str()).await;
    assert!(!page.text.contains("<script>"));
    assert!(hidden_inputs(&page.text).iter().any(|(n, v)| n == "state" && v == state));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    server.stop().await;
}

#[tokio::test]
async fn the_protected_resource_needs_a_read_token() {
    let server = start_demo().await;
    let reply = server.get(&format!("{}/api/me", server.base)).await;
    assert_eq!(reply.status, 401);
    assert!(reply.header("www-authenticate").unwrap().starts_with("Bearer"));
    let reply = server.me("not-a-token").await;
    assert_eq!(reply.status, 401);
    assert!(reply.header("www-authenticate").unwrap().contains("error=\"invalid_token\""));

    let svc = server.oauth_client_post("svc", "svc-secret");
    let token = svc.exchange_client_credentials().request_async(&server.http).await.unwrap();
    let reply = server.me(token.access_token().secret()).await;
    assert_eq!(reply.status, 200);
    assert!(reply.header("content-type").unwrap().starts_with("application/json"));
    assert_eq!(reply.json()["sub"], "svc");
    server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let server = start_demo().await;
    let body = format!("grant_type=client_credentials&padding={}", "a".repeat(70 * 1024));
    let reply = Reply::of(
        server
            .http
            .post(server.endpoint("token_endpoint"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["error"], "invalid_request");
    // The server is still serving.
    assert_eq!(server.get(&format!("{}/.well-known/oauth-authorization-server", server.base)).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn token_endpoint_errors_are_json_and_not_cached() {
    let server = start_demo().await;
    let reply = server.post_form("/token", &[("grant_type", "urn:example:unknown")]).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "unsupported_grant_type");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let reply = server.get(&server.endpoint("token_endpoint")).await;
    assert_eq!((reply.status, reply.json()["error"].as_str()), (400, Some("invalid_request")));
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_the_server_finish() {
    let server = start_demo().await;
    let base = server.base.clone();
    server.stop().await;
    // Nothing listens any more.
    let after = http_client().get(format!("{base}/.well-known/oauth-authorization-server")).send().await;
    assert!(after.is_err());
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let server = start_demo().await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let body = "grant_type=client_credentials&client_id=svc&client_secret=svc-secret";
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // `100 Continue` comes once the handler reads the body: the request is in flight.
    let mut interim = [0u8; 25];
    tokio::time::timeout(REQUEST_TIMEOUT, stream.read_exact(&mut interim)).await.unwrap().unwrap();
    assert!(interim.starts_with(b"HTTP/1.1 100 Continue"), "{:?}", String::from_utf8_lossy(&interim));

    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!stopping.is_finished(), "the shutdown waits for the request");
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(REQUEST_TIMEOUT, stream.read_to_string(&mut response)).await.unwrap().unwrap();
    assert!(response.trim_start().starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("access_token"));
    tokio::time::timeout(REQUEST_TIMEOUT, stopping).await.unwrap().unwrap();
}

#[tokio::test]
async fn implicit_grant_answers_in_the_fragment_after_the_form() {
    let server = start_with(|config| {
        let legacy = serde_json::from_value(json!({
            "client_id": "legacy-spa", "redirect_uris": ["http://127.0.0.1:9000/legacy"],
            "grant_types": ["implicit"], "response_types": ["token"], "scope": "read",
            "token_endpoint_auth_method": "none"
        }))
        .unwrap();
        config.clients.push(legacy);
    })
    .await;
    let url = format!(
        "{}?response_type=token&client_id=legacy-spa&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Flegacy&state=s9",
        server.endpoint("authorization_endpoint")
    );
    let hidden = server.consent_form(&url).await;
    let reply = server.submit_consent(&hidden, "alice", "wonderland", "allow").await;
    assert_eq!(reply.status, 303);
    let location = reply.header("location").unwrap();
    assert!(location.starts_with("http://127.0.0.1:9000/legacy#"), "{location}");
    let params = redirect_params(location);
    assert_eq!(params["state"], "s9");
    assert_eq!(params.get("iss"), Some(&server.issuer()));
    assert_eq!(params["token_type"], "Bearer");
    assert_eq!(server.me(&params["access_token"]).await.json()["client_id"], "legacy-spa");

    // The demo's web client is not allowed the token response type: redirected error.
    let url = format!(
        "{}?response_type=token&client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcallback&state=s10",
        server.endpoint("authorization_endpoint")
    );
    let reply = server.get(&url).await;
    assert_eq!(reply.status, 302);
    let params = redirect_params(reply.header("location").unwrap());
    assert_eq!((params["error"].as_str(), params["state"].as_str()), ("unauthorized_client", "s10"));
    server.stop().await;
}

/// A raw TCP connection to the server, for clients no HTTP library would be.
async fn raw_connection(server: &TestServer) -> tokio::net::TcpStream {
    let addr = server.base.trim_start_matches("http://");
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    tokio::net::TcpStream::connect(addr).await.unwrap()
}

/// Reads until the server closes the connection (or `limit` passes: a panic); what it sent.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, limit: Duration) -> String {
    use tokio::io::AsyncReadExt as _;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break, // closed, or reset
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => panic!("the connection was still open after {limit:?}"),
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_partial_request_head_is_cut_off_at_the_header_read_timeout() {
    use tokio::io::AsyncWriteExt as _;
    let server = start_with(|config| config.limits.header_read_timeout = Duration::from_secs(1)).await;
    let mut stream = raw_connection(&server).await;
    let started = Instant::now();
    // Half a head: the blank line that ends it never comes.
    stream.write_all(b"GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
    let received = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    let held = started.elapsed();
    assert!(held >= Duration::from_millis(900), "closed before the timeout: {held:?}");
    assert!(held < Duration::from_secs(3), "held for {held:?}");
    assert_eq!(received, "", "nothing is answered to a head that never ended");

    // A connection that sends nothing at all is closed the same way.
    let mut silent = raw_connection(&server).await;
    let started = Instant::now();
    assert_eq!(read_until_closed(&mut silent, Duration::from_secs(5)).await, "");
    assert!(started.elapsed() < Duration::from_secs(3));
    server.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_header_read_timeout() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let server = start_with(|config| config.limits.header_read_timeout = Duration::from_secs(1)).await;
    let mut stream = raw_connection(&server).await;
    stream.write_all(b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    // A 401 with an empty body (Content-Length: 0): the whole response is its head.
    let mut response = Vec::new();
    while !response.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tokio::time::timeout(REQUEST_TIMEOUT, stream.read_exact(&mut byte)).await.unwrap().unwrap();
        response.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&response).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(head.contains("content-length: 0") && !head.contains("connection: close"), "{head}");
    // Kept alive, then idle: closed when the next head has not come within the timeout.
    let started = Instant::now();
    assert_eq!(read_until_closed(&mut stream, Duration::from_secs(5)).await, "");
    let idle = started.elapsed();
    assert!(idle >= Duration::from_millis(900) && idle < Duration::from_secs(3), "idle for {idle:?}");
    server.stop().await;
}

/// Sends `head`, then the body one byte every `pause` from a task of its own (write errors,
/// once the server has closed the connection, end it); the server's answer, read until it
/// closes the connection, and how long that took.
async fn trickle_body(server: &TestServer, head: String, body: Vec<u8>, pause: Duration) -> (String, Duration) {
    use tokio::io::AsyncWriteExt as _;
    let stream = raw_connection(server).await;
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    writer.write_all(head.as_bytes()).await.unwrap();
    let trickle = tokio::spawn(async move {
        for byte in body {
            tokio::time::sleep(pause).await;
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
        }
        // Everything sent: keep the connection open until the server closes it.
        std::future::pending::<()>().await;
    });
    let mut received = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(10), tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut received));
    let _ = read.await.expect("the server did not close the connection within 10 s");
    trickle.abort();
    (String::from_utf8_lossy(&received).into_owned(), started.elapsed())
}

#[tokio::test]
async fn a_body_trickled_a_byte_at_a_time_is_cut_off_at_the_request_timeout() {
    let server = start_with(|config| {
        config.limits.request_timeout = Duration::from_secs(2);
        config.limits.body_read_timeout = Duration::from_secs(1);
    })
    .await;
    // 60 bytes, one every 300 ms: never a pause as long as the body timeout, 18 s in all.
    let body = format!("grant_type=client_credentials&client_id=svc&padding={}", "a".repeat(8)).into_bytes();
    assert_eq!(body.len(), 60);
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let (received, took) = trickle_body(&server, head, body, Duration::from_millis(300)).await;
    assert!(received.starts_with("HTTP/1.1 408"), "{received:?}");
    assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(5), "took {took:?}");
    // The server answers others all along.
    assert_eq!(server.get(&format!("{}/.well-known/oauth-authorization-server", server.base)).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_stops_is_cut_off_at_the_body_read_timeout() {
    use tokio::io::AsyncWriteExt as _;
    let server = start_with(|config| config.limits.body_read_timeout = Duration::from_secs(1)).await;
    let mut stream = raw_connection(&server).await;
    let started = Instant::now();
    // Half the promised body, then nothing.
    stream
        .write_all(
            b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 100\r\n\r\ngrant_type=client_credentials",
        )
        .await
        .unwrap();
    let received = read_until_closed(&mut stream, Duration::from_secs(8)).await;
    let took = started.elapsed();
    assert!(received.starts_with("HTTP/1.1 408"), "{received:?}");
    assert!(received.contains("\"invalid_request\""), "{received:?}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "took {took:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_server_answers_while_slow_connections_hold_every_slot() {
    use tokio::io::AsyncWriteExt as _;
    const SLOTS: usize = 8;
    let server = start_with(|config| {
        config.limits.header_read_timeout = Duration::from_secs(1);
        config.limits.max_connections = SLOTS;
    })
    .await;
    // Twice as many slow clients as slots: each sends half a head and waits.
    let mut slow = Vec::new();
    for _ in 0..2 * SLOTS {
        let mut stream = raw_connection(&server).await;
        stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.unwrap();
        slow.push(stream);
    }
    // A new client: the server's own keeps the connection it fetched the metadata on.
    let started = Instant::now();
    let response = http_client().get(format!("{}/.well-known/oauth-authorization-server", server.base)).send().await;
    let reply = Reply::of(response.unwrap()).await;
    let waited = started.elapsed();
    assert_eq!(reply.status, 200);
    // It waited for a slot (the cap holds), and got one once the slow clients timed out.
    assert!(waited >= Duration::from_millis(500), "answered at once: the cap was not enforced ({waited:?})");
    assert!(waited < Duration::from_secs(8), "waited {waited:?}");
    drop(slow);
    server.stop().await;
}

/// An authorization URL of the demo's confidential client (no PKCE needed).
fn web_authorization_url(server: &TestServer, state: &str) -> String {
    format!(
        "{}/authorize?response_type=code&client_id=web&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcallback\
         &scope=read&state={state}",
        server.base
    )
}

#[tokio::test]
async fn the_consent_form_is_bound_to_the_browser_it_was_shown_to() {
    let server = start_demo().await;
    let url = web_authorization_url(&server, "s1");
    let page = server.get(&url).await;
    assert_eq!(page.status, 200, "{}", page.text);
    // The issuer is http (loopback): the cookie twice, Secure (for browsers, which refuse a
    // __Host- cookie without it) and not (for cookie jars that send no Secure cookie over
    // http), one value.
    let set_cookies = page.consent_set_cookies();
    assert_eq!(set_cookies.len(), 2, "{set_cookies:?}");
    let mut secure = Vec::new();
    for set_cookie in &set_cookies {
        let attributes: Vec<String> = set_cookie.split(';').skip(1).map(|a| a.trim().to_ascii_lowercase()).collect();
        for expected in ["path=/", "httponly", "samesite=lax"] {
            assert!(attributes.iter().any(|a| a == expected), "{expected} missing: {set_cookie}");
        }
        assert!(!attributes.iter().any(|a| a.starts_with("domain") || a.starts_with("max-age")), "{set_cookie}");
        secure.push(attributes.iter().any(|a| a == "secure"));
    }
    assert_eq!(secure, [true, false]);
    assert_eq!(set_cookies[0].split(';').next(), set_cookies[1].split(';').next());
    let form = hidden_inputs(&page.text);
    let cookie = server.browser_cookie().unwrap();

    // Without the cookie (a cross-site POST: SameSite=Lax keeps it home): refused.
    let reply = server.submit_consent_with_cookie(&form, None, "alice", "wonderland", "allow").await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert!(reply.header("location").is_none());

    // Another browser's cookie, with this form (login CSRF: an attacker's own form and
    // cookie cannot be replayed into the victim's browser), and the other way round.
    let other_page = server.get_with_cookie(&url, None).await;
    let other_cookie = other_page.consent_cookie().unwrap();
    assert_ne!(other_cookie, cookie, "each browser gets its own");
    let other_form = hidden_inputs(&other_page.text);
    for (form, cookie) in [(&form, &other_cookie), (&other_form, &cookie)] {
        let reply = server.submit_consent_with_cookie(form, Some(cookie), "alice", "wonderland", "allow").await;
        assert_eq!(reply.status, 403, "{}", reply.text);
        assert!(reply.header("location").is_none());
    }
    // A cookie value that is not one the server made.
    let forged = format!("{CONSENT_COOKIE}=AAAA");
    let reply = server.submit_consent_with_cookie(&form, Some(&forged), "alice", "wonderland", "allow").await;
    assert_eq!(reply.status, 403);

    // The form, from the browser it was shown to: accepted. The refusals spent nothing.
    let reply = server.submit_consent(&form, "alice", "wonderland", "allow").await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    assert!(redirect_params(reply.header("location").unwrap()).contains_key("code"));

    // A browser that holds the cookie keeps it: the next form reuses it.
    let next = server.get(&web_authorization_url(&server, "s2")).await;
    assert_eq!(next.status, 200);
    assert!(next.consent_set_cookies().is_empty(), "{:?}", next.consent_set_cookies());
    server.stop().await;
}

#[tokio::test]
async fn the_consent_cookie_is_secure_when_the_issuer_is_https() {
    let server = start_with(|config| config.issuer = "https://auth.example.com".into()).await;
    let page = server.get(&web_authorization_url(&server, "s1")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let set_cookies = page.consent_set_cookies();
    assert_eq!(set_cookies.len(), 1, "{set_cookies:?}");
    assert!(set_cookies[0].split(';').any(|a| a.trim().eq_ignore_ascii_case("secure")), "{set_cookies:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_consent_form_is_accepted_once() {
    let server = start_demo().await;
    let form = server.consent_form(&web_authorization_url(&server, "s1")).await;
    let first = server.submit_consent(&form, "alice", "wonderland", "allow").await;
    assert_eq!(first.status, 303, "{}", first.text);
    assert!(redirect_params(first.header("location").unwrap()).contains_key("code"));

    // The same form again, with either answer: refused with a page, nothing issued.
    for consent in ["allow", "deny"] {
        let again = server.submit_consent(&form, "alice", "wonderland", consent).await;
        assert_eq!(again.status, 403, "{}", again.text);
        assert!(again.header("location").is_none());
        assert!(again.header("content-type").unwrap().starts_with("text/html"));
        assert!(again.text.contains("already"), "{}", again.text);
    }

    // A form answered with a wrong password is spent too; the one shown again is fresh.
    let form = server.consent_form(&web_authorization_url(&server, "s2")).await;
    let wrong = server.submit_consent(&form, "alice", "not-her-password", "allow").await;
    assert_eq!(wrong.status, 200);
    let reply = server.submit_consent(&form, "alice", "wonderland", "allow").await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    let fresh = hidden_inputs(&wrong.text);
    let reply = server.submit_consent(&fresh, "alice", "wonderland", "allow").await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submissions_of_one_form_issue_one_code() {
    const SUBMISSIONS: usize = 8;
    let server = std::sync::Arc::new(start_demo().await);
    let form = server.consent_form(&web_authorization_url(&server, "race")).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(SUBMISSIONS));
    let mut tasks = Vec::new();
    for _ in 0..SUBMISSIONS {
        let (server, form, barrier) = (server.clone(), form.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            server.submit_consent(&form, "alice", "wonderland", "allow").await
        }));
    }
    let mut codes = 0;
    for task in tasks {
        let reply = task.await.unwrap();
        match reply.status {
            303 => {
                assert!(redirect_params(reply.header("location").unwrap()).contains_key("code"));
                codes += 1;
            }
            403 => assert!(reply.header("location").is_none()),
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(codes, 1, "exactly one submission is accepted");
    std::sync::Arc::into_inner(server).unwrap().stop().await;
}

/// RFC 6749 §4.3.2 and the contract's "Throttled logins": after `login_max_failures` failed
/// checks of a username, the form answers 429 with Retry-After and the password grant
/// invalid_grant, even with the right password; another username is not affected.
#[tokio::test]
async fn logins_are_throttled_after_login_max_failures_on_the_form_and_the_password_grant() {
    let server = start_with(|config| config.login_max_failures = 3).await;
    let url = web_authorization_url(&server, "throttle");
    for _ in 0..3 {
        let hidden = server.consent_form(&url).await;
        let reply = server.submit_consent(&hidden, "alice", "wrong", "allow").await;
        assert_eq!(reply.status, 200, "a wrong password shows the form again");
    }
    let hidden = server.consent_form(&url).await;
    let reply = server.submit_consent(&hidden, "alice", "wonderland", "allow").await;
    assert_eq!(reply.status, 429, "{}", reply.text);
    let retry_after: u64 = reply.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert!(reply.text.contains("Too many failed attempts"), "{}", reply.text);
    assert!(reply.header("location").is_none(), "no code");

    // The password grant counts the same username.
    let form = [("grant_type", "password"), ("username", "alice"), ("password", "wonderland")];
    let request = server.http.post(format!("{}/token", server.base)).basic_auth("web", Some("web-secret")).form(&form);
    let grant = Reply::of(request.send().await.unwrap()).await;
    assert_eq!(grant.json()["error"], "invalid_grant", "{}", grant.text);
    assert!(grant.json()["error_description"].as_str().unwrap().contains("too many failed attempts"));
}

#[tokio::test]
async fn healthz_answers_ok_when_the_store_is_reachable() {
    let server = start_demo().await;
    let reply = server.get(&format!("{}/healthz", server.base)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let server = start_demo().await;
    let first = server.get(&format!("{}/healthz", server.base)).await;
    let second = server.get(&format!("{}/healthz", server.base)).await;
    let (a, b) = (first.header("x-request-id").unwrap(), second.header("x-request-id").unwrap());
    assert_eq!((a.len(), b.len()), (16, 16));
    assert_ne!(a, b, "one id per request");
    let given = server.http.get(format!("{}/healthz", server.base)).header("x-request-id", "proxy-42").send().await;
    assert_eq!(given.unwrap().headers()["x-request-id"], "proxy-42", "a proxy's id is kept");
}
