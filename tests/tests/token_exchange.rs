//! Token exchange (RFC 8693) over HTTP against the example server: the contract's rules
//! (subject's `sub`, requesting client's `client_id`, scope within the subject token's and the
//! client's, `act` with an actor token, no refresh token) and the §2.2.2 errors.

mod http_support;

use http_support::*;
use serde_json::Value;

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// An access token of alice's, issued to `web` (Basic authentication) by the password grant.
async fn alices_token(server: &TestServer, scope: &str) -> String {
    let request = server.http.post(format!("{}/token", server.base)).basic_auth("web", Some("web-secret")).form(&[
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "wonderland"),
        ("scope", scope),
    ]);
    let reply = Reply::of(request.send().await.unwrap()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

/// `svc`'s own token.
async fn svc_token(server: &TestServer) -> String {
    let reply = server
        .post_form(
            "/token",
            &[("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", "svc-secret")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

/// A token exchange by `svc` with `extra` parameters.
async fn exchange(server: &TestServer, extra: &[(&str, &str)]) -> Reply {
    let mut form = vec![("grant_type", EXCHANGE), ("client_id", "svc"), ("client_secret", "svc-secret")];
    form.extend_from_slice(extra);
    server.post_form("/token", &form).await
}

async fn introspect(server: &TestServer, token: &str) -> Value {
    let reply = server
        .post_form("/introspect", &[("token", token), ("client_id", "svc"), ("client_secret", "svc-secret")])
        .await;
    assert_eq!(reply.status, 200);
    reply.json()
}

#[tokio::test]
async fn a_user_token_exchanged_for_a_narrower_delegated_one() {
    let server = start_demo().await;
    assert!(server.metadata["grant_types_supported"].as_array().unwrap().iter().any(|g| g == EXCHANGE));
    let subject = alices_token(&server, "read write").await;
    let actor = svc_token(&server).await;
    let reply = exchange(
        &server,
        &[
            ("subject_token", &subject),
            ("subject_token_type", ACCESS_TOKEN),
            ("actor_token", &actor),
            ("actor_token_type", ACCESS_TOKEN),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let body = reply.json();
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none(), "no refresh token from an exchange");
    let token = body["access_token"].as_str().unwrap();

    let seen = introspect(&server, token).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["sub"], "alice", "the subject token's sub");
    assert_eq!(seen["client_id"], "svc", "the requesting client");
    assert_eq!(seen["scope"], "read");
    assert_eq!(seen["act"], serde_json::json!({"sub": "svc"}));
    let me = server.me(token).await;
    assert_eq!((me.status, me.json()["sub"].as_str()), (200, Some("alice")));
    server.stop().await;
}

#[tokio::test]
async fn the_scope_stays_within_the_subject_tokens_and_the_clients() {
    let server = start_demo().await;
    let read_only = alices_token(&server, "read").await;
    let wider = exchange(
        &server,
        &[("subject_token", &read_only), ("subject_token_type", ACCESS_TOKEN), ("scope", "read write")],
    )
    .await;
    assert_eq!((wider.status, wider.json()["error"].as_str()), (400, Some("invalid_scope")));
    // Without `scope`, the subject token's scope.
    let same = exchange(&server, &[("subject_token", &read_only), ("subject_token_type", ACCESS_TOKEN)]).await;
    assert_eq!(same.status, 200, "{}", same.text);
    let seen = introspect(&server, same.json()["access_token"].as_str().unwrap()).await;
    assert_eq!(seen["scope"], "read");
    assert!(seen.get("act").is_none(), "no actor, no act");
    server.stop().await;
}

#[tokio::test]
async fn invalid_subject_and_actor_tokens_and_targets_are_refused() {
    let server = start_demo().await;
    let subject = alices_token(&server, "read").await;
    let error = |reply: &Reply| (reply.status, reply.json()["error"].as_str().unwrap_or_default().to_owned());

    let unknown = exchange(&server, &[("subject_token", "not-a-token"), ("subject_token_type", ACCESS_TOKEN)]).await;
    assert_eq!(error(&unknown), (400, "invalid_request".into()));
    let no_type = exchange(&server, &[("subject_token", &subject)]).await;
    assert_eq!(error(&no_type), (400, "invalid_request".into()));
    let odd_type = exchange(
        &server,
        &[("subject_token", &subject), ("subject_token_type", "urn:ietf:params:oauth:token-type:saml2")],
    )
    .await;
    assert_eq!(error(&odd_type), (400, "invalid_request".into()));
    let bad_actor = exchange(
        &server,
        &[
            ("subject_token", &subject),
            ("subject_token_type", ACCESS_TOKEN),
            ("actor_token", "forged"),
            ("actor_token_type", ACCESS_TOKEN),
        ],
    )
    .await;
    assert_eq!(error(&bad_actor), (400, "invalid_request".into()));
    let elsewhere = exchange(
        &server,
        &[("subject_token", &subject), ("subject_token_type", ACCESS_TOKEN), ("audience", "https://other.example")],
    )
    .await;
    assert_eq!(error(&elsewhere), (400, "invalid_target".into()));
    let here = exchange(
        &server,
        &[("subject_token", &subject), ("subject_token_type", ACCESS_TOKEN), ("audience", &server.issuer())],
    )
    .await;
    assert_eq!(here.status, 200, "{}", here.text);
    assert_eq!(introspect(&server, here.json()["access_token"].as_str().unwrap()).await["aud"], server.issuer());

    // A revoked subject token exchanges for nothing: its owner revokes it.
    let revoke = server
        .http
        .post(format!("{}/revoke", server.base))
        .basic_auth("web", Some("web-secret"))
        .form(&[("token", subject.as_str())]);
    assert_eq!(Reply::of(revoke.send().await.unwrap()).await.status, 200);
    let after = exchange(&server, &[("subject_token", &subject), ("subject_token_type", ACCESS_TOKEN)]).await;
    assert_eq!(error(&after), (400, "invalid_request".into()));
    server.stop().await;
}
