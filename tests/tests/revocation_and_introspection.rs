//! Revocation (RFC 7009) and introspection (RFC 7662), built on the same client
//! authentication and storage as the token endpoint.

mod common;

use common::*;
use grantry_core::{IntrospectionAccess, Request, Scope};
use serde_json::{Value, json};
use std::sync::Arc;

fn revoke(client: (&str, &str), form: &[(&str, &str)]) -> Request {
    http::Request::post("/revoke").header("Authorization", basic(client.0, client.1)).form(form).unwrap()
}

fn introspect(client: (&str, &str), token: &str) -> Request {
    http::Request::post("/introspect")
        .header("Authorization", basic(client.0, client.1))
        .form(&[("token", token)])
        .unwrap()
}

async fn introspection(h: &Harness, client: (&str, &str), token: &str) -> Value {
    let response = h.server.introspection_endpoint(&introspect(client, token)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    response.json().unwrap()
}

fn tokens(body: &Value) -> (String, String) {
    (body["access_token"].as_str().unwrap().to_owned(), body["refresh_token"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn active_token_introspection_lists_what_is_known() {
    let h = Harness::new();
    let (access, refresh) = tokens(&h.password_tokens(LEGACY, Some("read")).await);
    let body = introspection(&h, LEGACY, &access).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "read");
    assert_eq!(body["client_id"], LEGACY.0);
    assert_eq!(body["username"], USERNAME);
    assert_eq!(body["sub"], USERNAME);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["iat"], START);
    assert_eq!(body["exp"], START + 3600);

    let body = introspection(&h, LEGACY, &refresh).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
}

#[tokio::test]
async fn client_credentials_token_has_no_username() {
    let h = Harness::new();
    let response = h.token(&basic_token_request(SVC, &[("grant_type", "client_credentials")])).await;
    let access = response.json().unwrap()["access_token"].as_str().unwrap().to_owned();
    let body = introspection(&h, SVC, &access).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], SVC.0);
    assert!(body.get("username").is_none());
}

#[tokio::test]
async fn inactive_tokens_say_nothing_else() {
    let h = Harness::new();
    let (access, _) = tokens(&h.password_tokens(LEGACY, None).await);
    assert_eq!(introspection(&h, LEGACY, "no-such-token").await, json!({"active": false}));
    assert_eq!(introspection(&h, LEGACY2, &access).await, json!({"active": false}), "another client's token");
    h.clock.advance(3600);
    assert_eq!(introspection(&h, LEGACY, &access).await, json!({"active": false}), "expired");
}

#[tokio::test]
async fn introspection_access_rule_lets_a_resource_server_see_every_token() {
    let h = Harness::with_config(|c| {
        c.with_introspection_access(IntrospectionAccess::Rule(Arc::new(|caller, _| caller.client_id() == "svc")))
    });
    let (access, _) = tokens(&h.password_tokens(LEGACY, None).await);
    assert_eq!(introspection(&h, SVC, &access).await["active"], true);
    assert_eq!(introspection(&h, LEGACY2, &access).await, json!({"active": false}));
}

#[tokio::test]
async fn introspection_requires_authentication_and_a_token() {
    let h = Harness::new();
    let anonymous = http::Request::post("/introspect").form(&[("token", "x")]).unwrap();
    assert_eq!(h.server.introspection_endpoint(&anonymous).await.json().unwrap()["error"], "invalid_client");
    let public = http::Request::post("/introspect").form(&[("token", "x"), ("client_id", SPA)]).unwrap();
    let response = h.server.introspection_endpoint(&public).await;
    assert_eq!(response.json().unwrap()["error"], "invalid_client", "a public client proves nothing");
    let wrong = http::Request::post("/introspect")
        .header("Authorization", basic(LEGACY.0, "nope"))
        .form(&[("token", "x")])
        .unwrap();
    let response = h.server.introspection_endpoint(&wrong).await;
    assert_eq!((response.status().as_u16(), response.json().unwrap()["error"].as_str()), (401, Some("invalid_client")));
    let no_token =
        http::Request::post("/introspect").header("Authorization", basic(LEGACY.0, LEGACY.1)).form(&[]).unwrap();
    assert_eq!(h.server.introspection_endpoint(&no_token).await.json().unwrap()["error"], "invalid_request");
    let get = http::Request::get("/introspect?token=x")
        .header("Authorization", basic(LEGACY.0, LEGACY.1))
        .body(Vec::new())
        .unwrap();
    assert_eq!(h.server.introspection_endpoint(&get).await.json().unwrap()["error"], "invalid_request");
}

#[tokio::test]
async fn revoke_then_introspect_is_inactive_and_the_guard_refuses() {
    let h = Harness::new();
    let (access, refresh) = tokens(&h.password_tokens(LEGACY, None).await);
    let response =
        h.server.revocation_endpoint(&revoke(LEGACY, &[("token", &access), ("token_type_hint", "access_token")])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.body().is_empty());
    assert_eq!(introspection(&h, LEGACY, &access).await, json!({"active": false}));
    let api = http::Request::get("/api").header("Authorization", format!("Bearer {access}")).body(Vec::new()).unwrap();
    let denied = h.server.resource_guard().authorize(&api, &Scope::empty()).await.unwrap_err();
    assert_eq!(denied.to_response("api").status().as_u16(), 401);
    assert_eq!(
        introspection(&h, LEGACY, &refresh).await["active"],
        true,
        "revoking an access token spares its refresh token"
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_its_access_tokens() {
    let h = Harness::new();
    let (access, refresh) = tokens(&h.password_tokens(LEGACY, None).await);
    // The hint is wrong: the search is widened and the token still found.
    let response = h
        .server
        .revocation_endpoint(&revoke(LEGACY, &[("token", &refresh), ("token_type_hint", "access_token")]))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(!h.is_stored(&refresh).await);
    assert!(!h.is_stored(&access).await, "the access token of the same grant dies too");
    assert_eq!(h.refresh(LEGACY, &refresh, None).await.json().unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn unknown_token_and_unknown_hint_are_still_200() {
    let h = Harness::new();
    let response = h.server.revocation_endpoint(&revoke(LEGACY, &[("token", "never-issued")])).await;
    assert_eq!(response.status().as_u16(), 200);
    let (access, _) = tokens(&h.password_tokens(LEGACY, None).await);
    let response =
        h.server.revocation_endpoint(&revoke(LEGACY, &[("token", &access), ("token_type_hint", "saml")])).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(!h.is_stored(&access).await);
}

#[tokio::test]
async fn another_clients_token_cannot_be_revoked() {
    let h = Harness::new();
    let (access, refresh) = tokens(&h.password_tokens(LEGACY, None).await);
    for token in [&access, &refresh] {
        let response = h.server.revocation_endpoint(&revoke(LEGACY2, &[("token", token)])).await;
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(response.json().unwrap()["error"], "invalid_grant");
        assert!(h.is_stored(token).await, "nothing was revoked");
    }
}

#[tokio::test]
async fn revocation_request_rules() {
    let h = Harness::new();
    let missing = h.server.revocation_endpoint(&revoke(LEGACY, &[])).await;
    assert_eq!(missing.json().unwrap()["error"], "invalid_request");
    let anonymous =
        h.server.revocation_endpoint(&http::Request::post("/revoke").form(&[("token", "x")]).unwrap()).await;
    assert_eq!(anonymous.json().unwrap()["error"], "invalid_client");
    let wrong =
        http::Request::post("/revoke").header("Authorization", basic(LEGACY.0, "bad")).form(&[("token", "x")]).unwrap();
    let response = h.server.revocation_endpoint(&wrong).await;
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.header("WWW-Authenticate").unwrap().starts_with("Basic"));
    let get = http::Request::get("/revoke?token=x")
        .header("Authorization", basic(LEGACY.0, LEGACY.1))
        .body(Vec::new())
        .unwrap();
    assert_eq!(h.server.revocation_endpoint(&get).await.status().as_u16(), 400);
}

#[tokio::test]
async fn public_client_can_revoke_its_own_token() {
    let h = Harness::new();
    let code = h.obtain_code(SPA, None, None).await;
    let exchange = token_request(&[("grant_type", "authorization_code"), ("code", &code), ("client_id", SPA)]);
    let access = h.token(&exchange).await.json().unwrap()["access_token"].as_str().unwrap().to_owned();
    let request = http::Request::post("/revoke").form(&[("token", &access), ("client_id", SPA)]).unwrap();
    assert_eq!(h.server.revocation_endpoint(&request).await.status().as_u16(), 200);
    assert!(!h.is_stored(&access).await);
}
