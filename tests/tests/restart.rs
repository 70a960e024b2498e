//! A server on a SQLite file stopped and started again on the same file, over HTTP: what it
//! issued, used up and revoked before the restart is exactly so after it (issue 20, the
//! contract's "single use, everywhere ... across restarts of a server on a persistent store").

mod http_support;

use grantry_core::storage::Synchronous;
use grantry_examples::server::config::StoreConfig;
use http_support::*;
use oauth2::basic::BasicErrorResponseType;
use oauth2::{AuthorizationCode, RequestTokenError, TokenIntrospectionResponse, TokenResponse};
use std::path::Path;

fn on_file(path: &Path) -> impl FnOnce(&mut grantry_examples::server::ServerConfigFile) {
    let path = path.to_path_buf();
    move |config| config.store = StoreConfig::Sqlite { path, synchronous: Synchronous::Full }
}

fn error_of<T: std::fmt::Debug>(
    result: Result<T, RequestTokenError<impl std::error::Error, oauth2::basic::BasicErrorResponse>>,
) -> BasicErrorResponseType {
    match result {
        Err(RequestTokenError::ServerResponse(response)) => response.error().clone(),
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

#[tokio::test]
async fn what_was_issued_used_and_revoked_stays_so_across_a_restart() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("data/store.db");

    // --- before the restart ----------------------------------------------------------------
    let server = start_with(on_file(&file)).await;
    let addr = server.addr();
    let svc = server.oauth_client_post("svc", "svc-secret");
    let kept = svc.exchange_client_credentials().request_async(&server.http).await.unwrap();
    let revoked = svc.exchange_client_credentials().request_async(&server.http).await.unwrap();
    let reply = server
        .post_form(
            "/revoke",
            &[("token", revoked.access_token().secret()), ("client_id", "svc"), ("client_secret", "svc-secret")],
        )
        .await;
    assert_eq!(reply.status, 200);

    // A code redeemed once; its refresh token rotated once.
    let spa = server.oauth_client("spa", None, Some(SPA_REDIRECT));
    let (url, verifier) = server.spa_authorization();
    let code = server.authorize_as_alice(&url).await["code"].clone();
    let first = spa
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&server.http)
        .await
        .unwrap();
    let rotated_away = first.refresh_token().unwrap().clone();
    let second = spa.exchange_refresh_token(&rotated_away).request_async(&server.http).await.unwrap();
    let live_refresh = second.refresh_token().unwrap().clone();

    // A consent form shown before the restart, submitted after it.
    let (url, pending_verifier) = server.spa_authorization();
    let pending_form = server.consent_form(&url).await;
    let browser = server.browser_cookie();
    server.stop().await;

    // --- after the restart, on the same file and address ------------------------------------
    let server = start_at(&addr, on_file(&file)).await;
    let svc = server.oauth_client_post("svc", "svc-secret");
    assert!(svc.introspect(kept.access_token()).request_async(&server.http).await.unwrap().active());

    assert!(!svc.introspect(revoked.access_token()).request_async(&server.http).await.unwrap().active());
    assert_eq!(server.me(revoked.access_token().secret()).await.status, 401);

    let spa = server.oauth_client("spa", None, Some(SPA_REDIRECT));
    assert_eq!(server.me(second.access_token().secret()).await.status, 200);
    // The refresh token rotated before the restart is still spent...
    let replay = spa.exchange_refresh_token(&rotated_away).request_async(&server.http).await;
    assert_eq!(error_of(replay), BasicErrorResponseType::InvalidGrant);
    // ... and its replay revoked the family, the live refresh token with it (RFC 9700 §4.14.2).
    let after = spa.exchange_refresh_token(&live_refresh).request_async(&server.http).await;
    assert_eq!(error_of(after), BasicErrorResponseType::InvalidGrant);
    assert_eq!(server.me(second.access_token().secret()).await.status, 401);

    // The code redeemed before the restart is still used.
    let (_, verifier) = server.spa_authorization();
    let again =
        spa.exchange_code(AuthorizationCode::new(code)).set_pkce_verifier(verifier).request_async(&server.http).await;
    assert_eq!(error_of(again), BasicErrorResponseType::InvalidGrant);

    // The form shown by the first run is accepted once (the store kept its key and records it).
    let reply =
        server.submit_consent_with_cookie(&pending_form, browser.as_deref(), "alice", "wonderland", "allow").await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    let code = redirect_params(reply.header("location").unwrap())["code"].clone();
    let tokens = spa
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(pending_verifier)
        .request_async(&server.http)
        .await
        .unwrap();
    let refreshed = spa.exchange_refresh_token(tokens.refresh_token().unwrap()).request_async(&server.http).await;
    assert!(refreshed.is_ok(), "refresh works after the restart: {refreshed:?}");
    let reply =
        server.submit_consent_with_cookie(&pending_form, browser.as_deref(), "alice", "wonderland", "allow").await;
    assert_ne!(reply.status, 303, "a form is accepted once, across restarts too");
    server.stop().await;
}
