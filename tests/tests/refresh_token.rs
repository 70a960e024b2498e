//! Refreshing an access token (RFC 6749 §6), with refresh token rotation and replay
//! detection (RFC 9700 §4.14).

mod common;

use common::late_store::LateStore;
use common::*;
use grantry_core::storage::TokenKind;
use grantry_core::{ClientAuthMethod, GrantType, Storage};
use grantry_grants::{AuthorizationCodeGrant, PasswordGrant, RefreshTokenGrant};
use std::sync::Arc;

/// Access and refresh tokens for alice through `client` (password grant).
async fn initial_tokens(h: &Harness, client: (&str, &str)) -> (String, String) {
    let json = h.password_tokens(client, None).await;
    (field(&json, "access_token"), field(&json, "refresh_token"))
}

#[tokio::test]
async fn refresh_token_grant_issues_new_access_token() {
    let h = Harness::new();
    let (access, refresh) = initial_tokens(&h, LEGACY).await;

    let json = token_json(&h.refresh(LEGACY, &refresh, None).await);

    let new_access = field(&json, "access_token");
    assert_ne!(new_access, access);
    assert_eq!(json["expires_in"], 3600);
    let record = h.find_token(&new_access).await.expect("stored");
    assert_eq!(record.kind, TokenKind::Access);
    assert_eq!(&*record.client_id, LEGACY.0);
    assert_eq!(record.subject.as_deref(), Some(USERNAME));
    assert_eq!(record.grant_type, GrantType::REFRESH_TOKEN);
    assert_eq!(record.scope.to_string(), FULL_SCOPE);
    // Refreshing does not revoke the earlier access token.
    assert!(h.is_stored(&access).await);
}

#[tokio::test]
async fn rotation_issues_new_refresh_token_and_replay_of_old_one_revokes_the_family() {
    let h = Harness::new();
    let (access, old_refresh) = initial_tokens(&h, LEGACY).await;

    let json = token_json(&h.refresh(LEGACY, &old_refresh, None).await);
    let new_access = field(&json, "access_token");
    let new_refresh = field(&json, "refresh_token");
    assert_ne!(new_refresh, old_refresh);
    assert!(!h.is_stored(&old_refresh).await, "the old refresh token is retired");
    assert!(h.is_stored(&new_access).await);
    assert!(h.is_stored(&new_refresh).await);

    // The old refresh token is presented again: a replay.
    let replay = h.refresh(LEGACY, &old_refresh, None).await;

    assert_error(&replay, 400, "invalid_grant");
    for (name, token) in [("first access", &access), ("new access", &new_access), ("new refresh", &new_refresh)] {
        assert!(!h.is_stored(token).await, "{name} token survived the replay");
    }
    assert_error(&h.refresh(LEGACY, &new_refresh, None).await, 400, "invalid_grant");
    assert_error(&h.refresh(LEGACY, &old_refresh, None).await, 400, "invalid_grant");
}

#[tokio::test]
async fn rotated_refresh_token_chain_keeps_working() {
    let h = Harness::new();
    let (_, mut refresh) = initial_tokens(&h, LEGACY).await;

    for _ in 0..5 {
        let json = token_json(&h.refresh(LEGACY, &refresh, None).await);
        let next = field(&json, "refresh_token");
        assert_ne!(next, refresh);
        refresh = next;
    }
}

#[tokio::test]
async fn narrowed_scope_is_stated_and_new_refresh_token_keeps_original_scope() {
    let h = Harness::new();
    let (_, refresh) = initial_tokens(&h, LEGACY).await;

    let json = token_json(&h.refresh(LEGACY, &refresh, Some("read")).await);

    // RFC 6749 §5.1: `scope` is optional when the granted scope is the requested one, and
    // the engine leaves it out (see the test below for the case where it is stated).
    assert!(json.get("scope").is_none(), "granted = requested: {json}");
    let access = field(&json, "access_token");
    assert_eq!(h.find_token(&access).await.expect("stored").scope.to_string(), "read");
    // RFC 6749 §6: the new refresh token keeps the scope of the one it replaces.
    let new_refresh = field(&json, "refresh_token");
    let record = h.find_token(&new_refresh).await.expect("stored");
    assert_eq!(record.kind, TokenKind::Refresh);
    assert_eq!(record.scope.to_string(), FULL_SCOPE);

    // So asking it for the original, wider scope succeeds.
    let json = token_json(&h.refresh(LEGACY, &new_refresh, Some(FULL_SCOPE)).await);
    assert!(json.get("scope").is_none(), "granted = requested: {json}");
    let access = field(&json, "access_token");
    assert_eq!(h.find_token(&access).await.expect("stored").scope.to_string(), FULL_SCOPE);
}

#[tokio::test]
async fn omitted_scope_at_refresh_grants_and_states_the_original_scope() {
    let h = Harness::new();
    let json = h.password_tokens(LEGACY, Some("read")).await;
    let refresh = field(&json, "refresh_token");

    let json = token_json(&h.refresh(LEGACY, &refresh, None).await);

    // RFC 6749 §6: an omitted scope is the originally granted one, never the client's full scope.
    assert_eq!(json["scope"], "read");
    let record = h.find_token(&field(&json, "access_token")).await.expect("stored");
    assert_eq!(record.scope.to_string(), "read");
}

#[tokio::test]
async fn widened_scope_is_invalid_scope_and_does_not_burn_the_token() {
    let h = Harness::new();
    let json = h.password_tokens(LEGACY, Some("read")).await;
    let refresh = field(&json, "refresh_token");

    // "write" is within the client's scope but not the original grant's.
    for scope in ["read write", "write", "admin", "read \"x\""] {
        let response = h.refresh(LEGACY, &refresh, Some(scope)).await;
        assert_error(&response, 400, "invalid_scope");
    }

    assert!(h.is_stored(&refresh).await);
    token_json(&h.refresh(LEGACY, &refresh, Some("read")).await);
}

#[tokio::test]
async fn refresh_token_of_another_client_is_invalid_grant_and_not_burned() {
    let h = Harness::new();
    let (access, refresh) = initial_tokens(&h, LEGACY).await;

    let response = h.refresh(LEGACY2, &refresh, None).await;

    assert_error(&response, 400, "invalid_grant");
    assert!(h.is_stored(&refresh).await, "a foreign client must not burn the token");
    assert!(h.is_stored(&access).await, "nor revoke its family");
    // The owner can still use it.
    let json = token_json(&h.refresh(LEGACY, &refresh, None).await);
    assert!(h.is_stored(&field(&json, "access_token")).await);
}

#[tokio::test]
async fn a_rotated_refresh_token_from_another_client_revokes_nothing() {
    let h = Harness::new();
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;
    let first = token_json(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await);
    let old = field(&first, "refresh_token");
    let live = token_json(&h.refresh(WEB, &old, None).await);

    // The retired token, presented by a public client with no credentials, then by another
    // confidential client: refused, and web's live family is untouched.
    let as_spa = token_request(&[("grant_type", "refresh_token"), ("refresh_token", &old), ("client_id", SPA)]);
    assert_error(&h.token(&as_spa).await, 400, "invalid_grant");
    assert_error(&h.refresh(OTHER, &old, None).await, 400, "invalid_grant");
    assert!(h.is_stored(&field(&live, "access_token")).await);
    assert!(h.is_stored(&field(&live, "refresh_token")).await);

    // Its owner presenting it is a replay: the family goes.
    assert_error(&h.refresh(WEB, &old, None).await, 400, "invalid_grant");
    assert!(!h.is_stored(&field(&live, "refresh_token")).await);
}

#[tokio::test]
async fn without_rotation_no_new_refresh_token_and_old_one_keeps_working() {
    let h = Harness::custom(
        |config| config,
        |server| {
            server.register_grant(PasswordGrant::new(), ()).expect("register");
            server.register_grant(RefreshTokenGrant::new().rotate(false), ()).expect("register");
        },
    );
    let (_, refresh) = initial_tokens(&h, LEGACY).await;

    for _ in 0..3 {
        let json = token_json(&h.refresh(LEGACY, &refresh, None).await);
        assert!(json.get("refresh_token").is_none(), "{json}");
        assert!(h.is_stored(&field(&json, "access_token")).await);
        assert!(h.is_stored(&refresh).await);
    }

    // Narrowing still works without rotation, and does not narrow the refresh token.
    let json = token_json(&h.refresh(LEGACY, &refresh, Some("read")).await);
    let record = h.find_token(&field(&json, "access_token")).await.expect("stored");
    assert_eq!(record.scope.to_string(), "read");
    assert_eq!(h.find_token(&refresh).await.expect("stored").scope.to_string(), FULL_SCOPE);
    token_json(&h.refresh(LEGACY, &refresh, Some(FULL_SCOPE)).await);
}

#[tokio::test]
async fn expired_refresh_token_is_invalid_grant() {
    let h = Harness::with_config(|config| config.with_refresh_token_ttl(Some(60)));
    let (_, fresh) = initial_tokens(&h, LEGACY).await;
    let (_, stale) = initial_tokens(&h, LEGACY).await;
    let record = h.find_token(&stale).await.expect("stored");
    assert_eq!(record.expires_at, Some(START + 60));

    h.clock.advance(59);
    let json = token_json(&h.refresh(LEGACY, &fresh, None).await);
    // The rotated refresh token gets a lifetime of its own.
    let rotated = h.find_token(&field(&json, "refresh_token")).await.expect("stored");
    assert_eq!(rotated.expires_at, Some(START + 59 + 60));

    h.clock.advance(1);
    let response = h.refresh(LEGACY, &stale, None).await;
    let json = assert_error(&response, 400, "invalid_grant");
    assert_eq!(json["error_description"], "refresh token has expired");
}

#[tokio::test]
async fn refresh_tokens_without_lifetime_do_not_expire() {
    let h = Harness::with_config(|config| config.with_refresh_token_ttl(None));
    let (_, refresh) = initial_tokens(&h, LEGACY).await;
    assert_eq!(h.find_token(&refresh).await.expect("stored").expires_at, None);

    h.clock.advance(10 * 365 * 24 * 3600);
    token_json(&h.refresh(LEGACY, &refresh, None).await);
}

#[tokio::test]
async fn access_token_presented_as_refresh_token_is_invalid_grant() {
    let h = Harness::new();
    let (access, refresh) = initial_tokens(&h, LEGACY).await;

    let response = h.refresh(LEGACY, &access, None).await;

    assert_error(&response, 400, "invalid_grant");
    // Nothing was revoked by the mistake.
    assert!(h.is_stored(&access).await);
    assert!(h.is_stored(&refresh).await);
    token_json(&h.refresh(LEGACY, &refresh, None).await);
}

#[tokio::test]
async fn unknown_or_missing_refresh_token_is_rejected() {
    let h = Harness::new();

    assert_error(&h.refresh(LEGACY, "no-such-token", None).await, 400, "invalid_grant");
    let response = h.token(&basic_token_request(LEGACY, &[("grant_type", "refresh_token")])).await;
    let json = assert_error(&response, 400, "invalid_request");
    assert_eq!(json["error_description"], "missing parameter: refresh_token");
}

#[tokio::test]
async fn client_not_allowed_refresh_token_grant_gets_no_refresh_token() {
    let h = Harness::new();
    let code = h.obtain_code(NO_REFRESH.0, Some(NO_REFRESH_REDIRECT), None).await;
    let json = token_json(&h.exchange_code(NO_REFRESH, &code, Some(NO_REFRESH_REDIRECT)).await);
    assert!(json.get("refresh_token").is_none());

    // And it cannot use the refresh grant with another client's token either.
    let (_, refresh) = initial_tokens(&h, LEGACY).await;
    assert_error(&h.refresh(NO_REFRESH, &refresh, None).await, 400, "unauthorized_client");
    assert!(h.is_stored(&refresh).await);
}

#[tokio::test]
async fn no_refresh_token_issued_when_refresh_grant_is_not_registered() {
    let h = Harness::custom(
        |config| config,
        |server| {
            server.register_grant(AuthorizationCodeGrant::new(), ()).expect("register");
            server.register_grant(PasswordGrant::new(), ()).expect("register");
        },
    );

    let json = h.password_tokens(LEGACY, None).await;

    assert!(json.get("refresh_token").is_none(), "{json}");
}

#[tokio::test]
async fn public_client_refreshes_only_where_none_is_allowed() {
    let refresh_as_spa = |refresh: &str| {
        token_request(&[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", SPA)])
    };

    // Where the refresh grant is narrowed to client_secret_basic, a public client could not
    // use a refresh token, so none is issued even though it lists the refresh_token grant.
    let h = Harness::custom(
        |config| config,
        |server| {
            server.register_grant(AuthorizationCodeGrant::new(), ()).expect("register");
            register_allowing(server, RefreshTokenGrant::new(), [ClientAuthMethod::CLIENT_SECRET_BASIC]);
        },
    );
    let code = h.obtain_code(SPA, Some(SPA_REDIRECT), None).await;
    let exchange = token_request(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", SPA_REDIRECT),
        ("client_id", SPA),
    ]);
    let json = token_json(&h.token(&exchange).await);
    assert!(json.get("refresh_token").is_none(), "{json}");

    // The refresh grant's own methods (every one, `none` included) let it refresh, with rotation.
    let h = Harness::custom(
        |config| config,
        |server| {
            server.register_grant(AuthorizationCodeGrant::new(), ()).expect("register");
            register_allowing(
                server,
                RefreshTokenGrant::new(),
                [ClientAuthMethod::CLIENT_SECRET_BASIC, ClientAuthMethod::NONE],
            );
        },
    );
    let code = h.obtain_code(SPA, Some(SPA_REDIRECT), None).await;
    let exchange = token_request(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", SPA_REDIRECT),
        ("client_id", SPA),
    ]);
    let refresh = field(&token_json(&h.token(&exchange).await), "refresh_token");
    let json = token_json(&h.token(&refresh_as_spa(&refresh)).await);
    assert_ne!(field(&json, "refresh_token"), refresh);
    // A confidential client still cannot name itself without its secret.
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;
    let web_refresh = field(&token_json(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await), "refresh_token");
    let response = h
        .token(&token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &web_refresh),
            ("client_id", WEB.0),
        ]))
        .await;
    assert_error(&response, 400, "invalid_client");
    assert!(h.is_stored(&web_refresh).await);
}

#[tokio::test]
async fn a_token_store_that_answers_late_gets_the_same_answers() {
    let h = Harness::custom_storage(
        |config| config,
        register_all_grants,
        |store| {
            let late = Arc::new(LateStore(store.clone()));
            Storage::new(store.clone(), store.clone(), late, store.clone(), store.clone(), store)
        },
    );
    let (access, refresh) = initial_tokens(&h, LEGACY).await;

    // Refused before rotation: the token is neither burned nor its family revoked.
    assert_error(&h.refresh(LEGACY2, &refresh, None).await, 400, "invalid_grant");
    assert_error(&h.refresh(LEGACY, &refresh, Some("admin")).await, 400, "invalid_scope");
    assert!(h.is_stored(&refresh).await && h.is_stored(&access).await);

    let json = token_json(&h.refresh(LEGACY, &refresh, Some("read")).await);
    let (new_access, new_refresh) = (field(&json, "access_token"), field(&json, "refresh_token"));
    assert_eq!(h.find_token(&new_access).await.expect("stored").scope.to_string(), "read");
    assert_eq!(h.find_token(&new_refresh).await.expect("stored").scope.to_string(), FULL_SCOPE);
    assert!(!h.is_stored(&refresh).await, "the old refresh token is retired");
    assert!(h.is_stored(&new_access).await && h.is_stored(&new_refresh).await);

    // The retired token again: a replay, which revokes the family.
    assert_error(&h.refresh(LEGACY, &refresh, None).await, 400, "invalid_grant");
    for token in [&access, &new_access, &new_refresh] {
        assert!(!h.is_stored(token).await, "a token survived the replay");
    }
    assert_error(&h.refresh(LEGACY, "never-issued", None).await, 400, "invalid_grant");
}
