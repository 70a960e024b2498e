//! The resource owner password credentials grant (RFC 6749 §4.3).

mod common;

use common::*;
use grantry_core::storage::TokenKind;
use grantry_core::{ClientAuthMethod, ClientRecord, GrantType};
use grantry_grants::{AuthorizationCodeGrant, PasswordGrant, RefreshTokenGrant};

fn password_form<'a>(username: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("grant_type", "password"), ("username", username), ("password", password)]
}

const POST_CLIENT: (&str, &str) = ("post-client", "post-client-secret");

fn post_client() -> ClientRecord {
    ClientRecord::confidential(POST_CLIENT.0, POST_CLIENT.1)
        .with_auth_method(ClientAuthMethod::CLIENT_SECRET_POST)
        .with_grant_types([GrantType::PASSWORD, GrantType::REFRESH_TOKEN])
        .with_scope(FULL_SCOPE)
}

fn post_form<'a>(client: (&'a str, &'a str)) -> Vec<(&'a str, &'a str)> {
    let mut form = password_form(USERNAME, PASSWORD);
    form.extend([("client_id", client.0), ("client_secret", client.1)]);
    form
}

#[tokio::test]
async fn password_grant_issues_access_and_refresh_tokens() {
    let h = Harness::new();

    let response = h.token(&basic_token_request(LEGACY, &password_form(USERNAME, PASSWORD))).await;

    let json = token_json(&response);
    assert_eq!(json["expires_in"], 3600);
    assert_eq!(json["scope"], FULL_SCOPE, "no scope asked: the granted one is stated");
    let access = field(&json, "access_token");
    let refresh = field(&json, "refresh_token");
    let record = h.find_token(&access).await.expect("access token stored");
    assert_eq!(record.kind, TokenKind::Access);
    assert_eq!(&*record.client_id, LEGACY.0);
    assert_eq!(record.subject.as_deref(), Some(USERNAME));
    assert_eq!(record.grant_type, GrantType::PASSWORD);
    let record = h.find_token(&refresh).await.expect("refresh token stored");
    assert_eq!(record.kind, TokenKind::Refresh);
    assert_eq!(record.subject.as_deref(), Some(USERNAME));

    // The refresh token works and keeps acting for alice.
    let refreshed = token_json(&h.refresh(LEGACY, &refresh, None).await);
    let record = h.find_token(&field(&refreshed, "access_token")).await.expect("stored");
    assert_eq!(record.subject.as_deref(), Some(USERNAME));
}

#[tokio::test]
async fn password_grant_with_requested_scope() {
    let h = Harness::new();
    let mut form = password_form(USERNAME, PASSWORD);
    form.push(("scope", "read"));

    let json = token_json(&h.token(&basic_token_request(LEGACY, &form)).await);
    assert!(json.get("scope").is_none(), "granted = requested: {json}");
    let record = h.find_token(&field(&json, "access_token")).await.expect("stored");
    assert_eq!(record.scope.to_string(), "read");

    form.pop();
    form.push(("scope", "read admin"));
    assert_error(&h.token(&basic_token_request(LEGACY, &form)).await, 400, "invalid_scope");
}

#[tokio::test]
async fn wrong_password_is_invalid_grant() {
    let h = Harness::new();

    for password in ["wonderlanD", "", "wonderland "] {
        let response = h.token(&basic_token_request(LEGACY, &password_form(USERNAME, password))).await;
        // An empty password is a missing parameter.
        let expected = if password.is_empty() { "invalid_request" } else { "invalid_grant" };
        assert_error(&response, 400, expected);
    }
}

#[tokio::test]
async fn unknown_user_is_invalid_grant_indistinguishable_from_wrong_password() {
    let h = Harness::new();

    let unknown = h.token(&basic_token_request(LEGACY, &password_form("mallory", PASSWORD))).await;
    let wrong = h.token(&basic_token_request(LEGACY, &password_form(USERNAME, "nope"))).await;

    let unknown = assert_error(&unknown, 400, "invalid_grant");
    let wrong = assert_error(&wrong, 400, "invalid_grant");
    assert_eq!(unknown, wrong, "the response must not reveal whether the user exists");
}

#[tokio::test]
async fn missing_username_or_password_is_invalid_request() {
    let h = Harness::new();
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("grant_type", "password"), ("password", PASSWORD)], "missing parameter: username"),
        (&[("grant_type", "password"), ("username", USERNAME)], "missing parameter: password"),
        (&[("grant_type", "password"), ("username", USERNAME), ("password", "")], "missing parameter: password"),
    ];
    for (form, description) in cases {
        let response = h.token(&basic_token_request(LEGACY, form)).await;
        let json = assert_error(&response, 400, "invalid_request");
        assert_eq!(json["error_description"], description);
    }
}

#[tokio::test]
async fn client_not_allowed_password_grant_is_unauthorized_client() {
    let h = Harness::new();

    // web authenticates correctly but registered only authorization_code and refresh_token.
    let response = h.token(&basic_token_request(WEB, &password_form(USERNAME, PASSWORD))).await;

    assert_error(&response, 400, "unauthorized_client");
}

#[tokio::test]
async fn client_secret_post_is_refused_where_the_registration_narrows_to_basic() {
    let h = Harness::custom(
        |config| config,
        |server| register_allowing(server, PasswordGrant::new(), [ClientAuthMethod::CLIENT_SECRET_BASIC]),
    );
    h.add_client(post_client());

    let response = h.token(&token_request(&post_form(POST_CLIENT))).await;

    assert_error(&response, 400, "invalid_client");
    assert!(response.header("WWW-Authenticate").is_none(), "no Authorization header was used");
}

#[tokio::test]
async fn client_secret_post_works_once_allowed_for_password_grant() {
    let h = Harness::custom(
        |config| config,
        |server| {
            server.register_grant(AuthorizationCodeGrant::new(), ()).expect("register");
            register_allowing(server, PasswordGrant::new(), [ClientAuthMethod::CLIENT_SECRET_POST]);
            // The refresh grant must accept client_secret_post too, or no refresh token is issued.
            register_allowing(server, RefreshTokenGrant::new(), [ClientAuthMethod::CLIENT_SECRET_POST]);
        },
    );
    h.add_client(post_client());
    let registration = h.server.registry().by_grant_type("password").expect("registered").1;
    assert_eq!(registration.metadata().auth_methods().listed(), Some(&[ClientAuthMethod::CLIENT_SECRET_POST][..]));

    let json = token_json(&h.token(&token_request(&post_form(POST_CLIENT))).await);
    assert!(json.get("refresh_token").is_some());

    // A wrong secret is still refused.
    let response = h.token(&token_request(&post_form((POST_CLIENT.0, "wrong")))).await;
    assert_error(&response, 400, "invalid_client");

    // The allowed methods were replaced: client_secret_basic no longer works for this grant.
    let response = h.token(&basic_token_request(LEGACY, &password_form(USERNAME, PASSWORD))).await;
    assert_error(&response, 401, "invalid_client");
}

/// RFC 6749 §4.3.2: the endpoint MUST be protected against brute force. An outside probe sent
/// 300 wrong passwords in half a second, then the right one, which worked.
#[tokio::test]
async fn after_five_failures_even_the_right_password_is_refused_until_the_window_passes() {
    let h = Harness::new();
    for _ in 0..5 {
        let response = h.token(&basic_token_request(LEGACY, &password_form(USERNAME, "guess"))).await;
        assert_error(&response, 400, "invalid_grant");
    }
    let right = basic_token_request(LEGACY, &password_form(USERNAME, PASSWORD));
    let json = assert_error(&h.token(&right).await, 400, "invalid_grant");
    assert!(field(&json, "error_description").contains("too many failed attempts"), "{json}");
    assert_eq!(h.store.len().1, 0, "nothing issued to the locked-out username");

    // Another user is not affected, and the lock lifts when the 15-minute window passes.
    h.store.add_user("bob", "builder");
    token_json(&h.token(&basic_token_request(LEGACY, &password_form("bob", "builder"))).await);
    h.clock.advance(899);
    assert_error(&h.token(&right).await, 400, "invalid_grant");
    h.clock.advance(1);
    token_json(&h.token(&right).await);
}

#[tokio::test]
async fn a_success_before_the_limit_resets_the_count() {
    let h = Harness::new();
    for _ in 0..3 {
        h.token(&basic_token_request(LEGACY, &password_form(USERNAME, "guess"))).await;
    }
    token_json(&h.token(&basic_token_request(LEGACY, &password_form(USERNAME, PASSWORD))).await);
    for _ in 0..4 {
        h.token(&basic_token_request(LEGACY, &password_form(USERNAME, "guess"))).await;
    }
    token_json(&h.token(&basic_token_request(LEGACY, &password_form(USERNAME, PASSWORD))).await);
}
