//! Protected resources (RFC 6750): the resource guard.

mod common;

use common::*;
use grantry_core::{BearerError, Scope};

async fn access_token(h: &Harness, scope: Option<&str>) -> String {
    h.password_tokens(LEGACY, scope).await["access_token"].as_str().unwrap().to_owned()
}

fn scope(s: &str) -> Scope {
    Scope::parse(s).unwrap()
}

#[tokio::test]
async fn valid_token_yields_client_user_and_scope() {
    let h = Harness::new();
    let token = access_token(&h, Some("read")).await;
    let request =
        http::Request::get("/api/me").header("Authorization", format!("Bearer {token}")).body(Vec::new()).unwrap();
    let access = h.server.resource_guard().authorize(&request, &scope("read")).await.unwrap();
    assert_eq!(&*access.client_id, LEGACY.0);
    assert_eq!(access.subject.as_deref(), Some(USERNAME));
    assert_eq!(access.scope, scope("read"));
}

#[tokio::test]
async fn missing_token_is_401_with_a_bare_challenge() {
    let h = Harness::new();
    let guard = h.server.resource_guard().with_realm("api");
    let err =
        guard.authorize(&http::Request::get("/api/me").body(Vec::new()).unwrap(), &scope("read")).await.unwrap_err();
    assert_eq!(err, BearerError::Missing);
    let response = err.to_response(guard.realm());
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.header("WWW-Authenticate"), Some("Bearer realm=\"api\""));
}

#[tokio::test]
async fn invalid_expired_and_refresh_tokens_are_invalid_token() {
    let h = Harness::new();
    let guard = h.server.resource_guard();
    let body = h.password_tokens(LEGACY, None).await;
    let refresh = body["refresh_token"].as_str().unwrap();
    let access = body["access_token"].as_str().unwrap();
    for token in ["unknown-token", refresh] {
        let request =
            http::Request::get("/api").header("Authorization", format!("Bearer {token}")).body(Vec::new()).unwrap();
        let err = guard.authorize(&request, &Scope::empty()).await.unwrap_err();
        assert!(matches!(err, BearerError::InvalidToken(_)), "{token}: {err:?}");
        let response = err.to_response("api");
        assert_eq!(response.status().as_u16(), 401);
        assert!(response.header("WWW-Authenticate").unwrap().contains("error=\"invalid_token\""));
    }
    h.clock.advance(3600);
    let request =
        http::Request::get("/api").header("Authorization", format!("Bearer {access}")).body(Vec::new()).unwrap();
    assert_eq!(
        guard.authorize(&request, &Scope::empty()).await.unwrap_err(),
        BearerError::InvalidToken("the access token has expired")
    );
}

#[tokio::test]
async fn insufficient_scope_is_403_with_the_scope_attribute() {
    let h = Harness::new();
    let token = access_token(&h, Some("read")).await;
    let request =
        http::Request::get("/api").header("Authorization", format!("Bearer {token}")).body(Vec::new()).unwrap();
    let err = h.server.resource_guard().authorize(&request, &scope("write")).await.unwrap_err();
    let response = err.to_response("api");
    assert_eq!(response.status().as_u16(), 403);
    let challenge = response.header("WWW-Authenticate").unwrap();
    assert!(challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"write\""), "{challenge}");
}

#[tokio::test]
async fn body_and_query_tokens_only_when_enabled() {
    let h = Harness::new();
    let token = access_token(&h, None).await;
    let form = http::Request::post("/api").form(&[("access_token", &token)]).unwrap();
    let query = http::Request::get(format!("/api?access_token={token}")).body(Vec::new()).unwrap();
    let guard = h.server.resource_guard();
    assert_eq!(guard.authorize(&form, &Scope::empty()).await.unwrap_err(), BearerError::Missing);
    assert_eq!(guard.authorize(&query, &Scope::empty()).await.unwrap_err(), BearerError::Missing);
    let open = guard.clone().allow_form_body(true).allow_query(true);
    assert!(open.authorize(&form, &Scope::empty()).await.is_ok());
    assert!(open.authorize(&query, &Scope::empty()).await.is_ok());
    let both = http::Request::post(format!("/api?access_token={token}")).form(&[("access_token", &token)]).unwrap();
    let err = open.authorize(&both, &Scope::empty()).await.unwrap_err();
    assert!(matches!(err, BearerError::InvalidRequest(_)));
    assert_eq!(err.to_response("api").status().as_u16(), 400);
}

#[tokio::test]
async fn malformed_authorization_header_is_invalid_token() {
    let h = Harness::new();
    let request = http::Request::get("/api").header("Authorization", "Bearer a b \"c\"").body(Vec::new()).unwrap();
    let err = h.server.resource_guard().authorize(&request, &Scope::empty()).await.unwrap_err();
    assert!(matches!(err, BearerError::InvalidToken(_)));
}
