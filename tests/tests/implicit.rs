//! The implicit grant (RFC 6749 §4.2): the access token in the redirect fragment, never a
//! refresh token, public clients only, errors in the fragment.

mod common;

use common::*;
use grantry_core::storage::TokenKind;
use grantry_core::{ClientRecord, Consent, GrantType, ResponseType};

fn implicit_request<'a>(client_id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![("response_type", "token"), ("client_id", client_id)];
    params.extend_from_slice(extra);
    params
}

#[tokio::test]
async fn implicit_grant_returns_access_token_in_fragment() {
    let h = Harness::new();
    let response = h
        .authorize(
            &implicit_request(SPA, &[("redirect_uri", SPA_REDIRECT), ("scope", "read"), ("state", "xyz")]),
            Consent::allow(USERNAME),
        )
        .await;

    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    let redirect = Redirect::of(&response);
    assert_eq!(redirect.target, SPA_REDIRECT);
    assert!(redirect.query.is_none(), "tokens never travel in the query: {}", redirect.location);
    assert!(redirect.location.starts_with(&format!("{SPA_REDIRECT}#access_token=")), "{}", redirect.location);
    assert_eq!(redirect.fragment_param("token_type"), Some("Bearer"));
    assert_eq!(redirect.fragment_param("expires_in"), Some("3600"));
    assert_eq!(redirect.fragment_param("state"), Some("xyz"));
    assert!(redirect.fragment_param("error").is_none());
    assert!(redirect.fragment_param("code").is_none());
    // Requested scope = granted scope: omitted.
    assert!(redirect.fragment_param("scope").is_none());

    let access = redirect.fragment_param("access_token").expect("access token");
    let record = h.find_token(access).await.expect("access token stored");
    assert_eq!(record.kind, TokenKind::Access);
    assert_eq!(&*record.client_id, SPA);
    assert_eq!(record.subject.as_deref(), Some(USERNAME));
    assert_eq!(record.grant_type, GrantType::IMPLICIT);
    assert_eq!(record.scope.to_string(), "read");
}

#[tokio::test]
async fn implicit_grant_never_issues_refresh_token() {
    // The spa client lists refresh_token in its grant types and the refresh grant is registered.
    let h = Harness::new();
    assert!(h.server.registry().serves_grant_type(&GrantType::REFRESH_TOKEN));

    let response = h.authorize(&implicit_request(SPA, &[("state", "xyz")]), Consent::allow(USERNAME)).await;

    let redirect = Redirect::of(&response);
    assert!(redirect.fragment_param("access_token").is_some(), "{}", redirect.location);
    assert!(redirect.fragment_param("refresh_token").is_none(), "{}", redirect.location);
    // No scope asked: the granted scope is stated.
    assert_eq!(redirect.fragment_param("scope"), Some(FULL_SCOPE));
}

#[tokio::test]
async fn confidential_client_gets_unauthorized_client_in_fragment() {
    let h = Harness::new();
    h.add_client(
        ClientRecord::confidential("web-implicit", "web-implicit-secret")
            .with_redirect_uri("https://web-implicit.example/cb")
            .with_grant_types([GrantType::IMPLICIT])
            .with_response_types([ResponseType::TOKEN])
            .with_scope(FULL_SCOPE),
    );

    let response = h.authorize(&implicit_request("web-implicit", &[("state", "xyz")]), Consent::allow(USERNAME)).await;

    let redirect = Redirect::of(&response);
    assert_eq!(redirect.target, "https://web-implicit.example/cb");
    assert!(redirect.query.is_none(), "{}", redirect.location);
    assert_eq!(redirect.fragment_param("error"), Some("unauthorized_client"));
    assert_eq!(redirect.fragment_param("state"), Some("xyz"));
    assert!(redirect.fragment_param("access_token").is_none());
}

#[tokio::test]
async fn public_client_without_implicit_grant_type_gets_unauthorized_client() {
    let h = Harness::new();
    h.add_client(
        ClientRecord::public("spa-no-implicit")
            .with_redirect_uri("https://spa-no-implicit.example/cb")
            .with_grant_types([GrantType::AUTHORIZATION_CODE])
            .with_response_types([ResponseType::CODE, ResponseType::TOKEN]),
    );

    let response =
        h.authorize(&implicit_request("spa-no-implicit", &[("state", "xyz")]), Consent::allow(USERNAME)).await;

    let redirect = Redirect::of(&response);
    assert!(redirect.query.is_none(), "{}", redirect.location);
    assert_eq!(redirect.fragment_param("error"), Some("unauthorized_client"));
    assert_eq!(redirect.fragment_param("state"), Some("xyz"));
    assert!(redirect.fragment_param("access_token").is_none());
}

#[tokio::test]
async fn client_not_allowed_token_response_type_gets_unauthorized_client_in_fragment() {
    let h = Harness::new();
    // web only registered response_type=code.
    let response = h.authorize(&implicit_request(WEB.0, &[("state", "xyz")]), Consent::allow(USERNAME)).await;

    let redirect = Redirect::of(&response);
    assert!(redirect.query.is_none(), "{}", redirect.location);
    assert_eq!(redirect.fragment_param("error"), Some("unauthorized_client"));
    assert_eq!(redirect.fragment_param("state"), Some("xyz"));
}

#[tokio::test]
async fn errors_for_token_response_type_are_in_fragment() {
    let h = Harness::new();
    let cases = [
        (implicit_request(SPA, &[("scope", "admin"), ("state", "xyz")]), Consent::allow(USERNAME), "invalid_scope"),
        (implicit_request(SPA, &[("scope", "read\\x"), ("state", "xyz")]), Consent::allow(USERNAME), "invalid_scope"),
        // Tokens must never be put in a query, even when asked.
        (
            implicit_request(SPA, &[("response_mode", "query"), ("state", "xyz")]),
            Consent::allow(USERNAME),
            "invalid_request",
        ),
        (implicit_request(SPA, &[("state", "xyz")]), Consent::Deny, "access_denied"),
    ];
    for (params, consent, error) in cases {
        let response = h.authorize(&params, consent).await;
        let redirect = Redirect::of(&response);
        assert_eq!(redirect.target, SPA_REDIRECT);
        assert!(redirect.query.is_none(), "{error}: {}", redirect.location);
        assert_eq!(redirect.fragment_param("error"), Some(error), "{}", redirect.location);
        assert_eq!(redirect.fragment_param("state"), Some("xyz"));
        assert!(redirect.fragment_param("access_token").is_none());
    }
}

#[tokio::test]
async fn unregistered_implicit_grant_is_unsupported_response_type() {
    let h = Harness::custom(
        |config| config,
        |server| {
            server.register_grant(grantry_grants::AuthorizationCodeGrant::new(), ()).expect("register");
        },
    );

    let response = h.authorize(&implicit_request(SPA, &[("state", "xyz")]), Consent::allow(USERNAME)).await;

    let redirect = Redirect::of(&response);
    assert!(redirect.query.is_none(), "{}", redirect.location);
    assert_eq!(redirect.fragment_param("error"), Some("unsupported_response_type"));
    assert_eq!(redirect.fragment_param("state"), Some("xyz"));
}
