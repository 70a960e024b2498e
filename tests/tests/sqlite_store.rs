//! The engine on a `SqliteStore`, across restarts: what a token response promised holds after
//! the server stops and starts again on the same file, and a code or refresh token used once
//! stays used.

mod common;

use common::*;
use grantry_core::storage::SqliteStore;
use grantry_core::{AuthorizationServer, ClientRecord, Consent, GrantType, ServerConfig, TokenDigest};
use std::path::Path;

/// A server on the SQLite file at `path`, with the `web` client and alice.
async fn server(path: &Path) -> AuthorizationServer {
    let store = SqliteStore::open(path).await.expect("open the store");
    let web = ClientRecord::confidential(WEB.0, WEB.1)
        .with_redirect_uri(WEB_REDIRECT)
        .with_grant_types([GrantType::AUTHORIZATION_CODE, GrantType::REFRESH_TOKEN])
        .with_scope(FULL_SCOPE);
    store.add_client(web).expect("valid client");
    store.add_user(USERNAME, PASSWORD);
    let mut server = AuthorizationServer::new(store, ServerConfig::new(ISSUER).expect("issuer"));
    register_all_grants(&mut server);
    server
}

async fn code(server: &AuthorizationServer) -> String {
    let params = [("response_type", "code"), ("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT)];
    let request = server.validate_authorization_request(&authorize_request(&params)).await.expect("valid request");
    let response = server.create_authorization_response(&request, Consent::allow(USERNAME)).await;
    Redirect::of(&response).query_param("code").expect("a code").to_owned()
}

async fn live(server: &AuthorizationServer, token: &str) -> bool {
    server.storage().tokens.find_token(TokenDigest::of(token)).await.expect("the store answers").is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_single_use_survive_restarts() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let path = folder.path().join("state/grantry.db");

    // First run: a code, exchanged for tokens; a second code, left unused.
    let first = server(&path).await;
    let code_used = code(&first).await;
    let code_unused = code(&first).await;
    let tokens = token_json(&first.token_endpoint(&code_exchange_request(WEB, &code_used, Some(WEB_REDIRECT))).await);
    let (access, refresh) = (field(&tokens, "access_token"), field(&tokens, "refresh_token"));
    drop(first);

    // Second run: the tokens work, the refresh token rotates, the unused code redeems.
    let second = server(&path).await;
    assert!(live(&second, &access).await, "an issued access token is lost after a restart");
    let refresh_form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let refreshed = token_json(&second.token_endpoint(&basic_token_request(WEB, &refresh_form)).await);
    let (new_access, new_refresh) = (field(&refreshed, "access_token"), field(&refreshed, "refresh_token"));
    let other = token_json(&second.token_endpoint(&code_exchange_request(WEB, &code_unused, Some(WEB_REDIRECT))).await);
    let other_access = field(&other, "access_token");
    drop(second);

    // Third run: replaying the used code is refused and revokes what it produced, the
    // rotated refresh token included; the other code's tokens stay.
    let third = server(&path).await;
    let replay = third.token_endpoint(&code_exchange_request(WEB, &code_used, Some(WEB_REDIRECT))).await;
    assert_error(&replay, 400, "invalid_grant");
    for token in [&access, &new_access, &new_refresh] {
        assert!(!live(&third, token).await, "a token of a replayed code's family survived");
    }
    assert!(live(&third, &other_access).await, "another authorization's token was revoked");
    drop(third);

    // Fourth run: the old refresh token is still spent, and the revocation still holds.
    let fourth = server(&path).await;
    let stale = fourth.token_endpoint(&basic_token_request(WEB, &refresh_form)).await;
    assert_error(&stale, 400, "invalid_grant");
    let new_refresh_form = [("grant_type", "refresh_token"), ("refresh_token", new_refresh.as_str())];
    assert_error(&fourth.token_endpoint(&basic_token_request(WEB, &new_refresh_form)).await, 400, "invalid_grant");
}
