//! The engine's side of the device grant (RFC 8628), in-process: what no plugin can change.
//! A device code is bound to its client, spent once under concurrency, and decided once; a
//! wrong client changes nothing; user-code lookups are throttled and a hit does not clear the
//! count.

use grantry_core::request::FormBody;
use grantry_core::storage::PendingDecision;
use grantry_core::throttle::{FailureLimiter, LoginError};
use grantry_core::{AuthorizationServer, ClientRecord, MemoryStore, ServerConfig, http};
use grantry_extensions::device_code::{DEVICE_CODE_GRANT_TYPE, DeviceCodeGrant, normalize_user_code};
use serde_json::Value;
use std::sync::Arc;

fn server() -> AuthorizationServer {
    let store = MemoryStore::new();
    for id in ["tv", "radio"] {
        store
            .add_client(ClientRecord::public(id).with_grant_types([DEVICE_CODE_GRANT_TYPE]).with_scope("read"))
            .unwrap();
    }
    let mut server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example").unwrap());
    server.register_grant(DeviceCodeGrant::new().with_interval(0), ()).unwrap();
    server
}

async fn start(server: &AuthorizationServer, client_id: &str) -> Value {
    let request = http::Request::post("/device_authorization").form(&[("client_id", client_id)]).unwrap();
    let response = server.grant_endpoint("/device_authorization", &request).await.unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_slice(response.body()).unwrap()
}

async fn poll(server: &AuthorizationServer, device_code: &str, client_id: &str) -> (u16, Value) {
    let request = http::Request::post("/token")
        .form(&[
            ("grant_type", DEVICE_CODE_GRANT_TYPE.as_str()),
            ("device_code", device_code),
            ("client_id", client_id),
        ])
        .unwrap();
    let response = server.token_endpoint(&request).await;
    (response.status().as_u16(), serde_json::from_slice(response.body()).unwrap())
}

async fn approve(server: &AuthorizationServer, codes: &Value) -> bool {
    let user_code = normalize_user_code(codes["user_code"].as_str().unwrap()).unwrap();
    let pending = server.find_pending(&user_code, "198.51.100.1").await.unwrap().unwrap();
    server.decide_pending(&pending, PendingDecision::Approve("alice".into())).await.unwrap()
}

#[tokio::test]
async fn another_clients_poll_changes_nothing() {
    let server = server();
    let codes = start(&server, "tv").await;
    let device_code = codes["device_code"].as_str().unwrap();
    assert!(approve(&server, &codes).await);
    let (status, body) = poll(&server, device_code, "radio").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, body) = poll(&server, device_code, "tv").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_of_many_concurrent_polls_gets_the_tokens() {
    let server = Arc::new(server());
    let codes = start(&server, "tv").await;
    assert!(approve(&server, &codes).await);
    let device_code = codes["device_code"].as_str().unwrap().to_owned();
    let polls: Vec<_> = (0..50)
        .map(|_| {
            let (server, code) = (server.clone(), device_code.clone());
            tokio::spawn(async move { poll(&server, &code, "tv").await })
        })
        .collect();
    let mut winners = 0;
    for joined in polls {
        let (status, body) = joined.await.unwrap();
        match status {
            200 => winners += 1,
            _ => assert_eq!(body["error"], "invalid_grant", "{body}"),
        }
    }
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn a_decision_is_made_once() {
    let server = server();
    let codes = start(&server, "tv").await;
    let user_code = normalize_user_code(codes["user_code"].as_str().unwrap()).unwrap();
    let pending = server.find_pending(&user_code, "198.51.100.1").await.unwrap().unwrap();
    assert!(server.decide_pending(&pending, PendingDecision::Deny).await.unwrap());
    assert!(!server.decide_pending(&pending, PendingDecision::Approve("mallory".into())).await.unwrap());
    let (_, body) = poll(&server, codes["device_code"].as_str().unwrap(), "tv").await;
    assert_eq!(body["error"], "access_denied");
    assert!(server.find_pending(&user_code, "198.51.100.1").await.unwrap().is_none(), "decided: no longer shown");
}

#[tokio::test]
async fn user_code_guesses_are_throttled_and_a_hit_does_not_reset_the_count() {
    let mut server = server();
    server.set_login_throttle(FailureLimiter::new(3, 900));
    let codes = start(&server, "tv").await;
    let own = normalize_user_code(codes["user_code"].as_str().unwrap()).unwrap();
    let attacker = "203.0.113.9";
    for _ in 0..2 {
        assert!(server.find_pending("BCDFGHJK", attacker).await.unwrap().is_none());
    }
    // The attacker's own valid code between guesses does not clear the failures.
    assert!(server.find_pending(&own, attacker).await.unwrap().is_some());
    assert!(server.find_pending("BCDFGHJL", attacker).await.unwrap().is_none());
    assert!(matches!(server.find_pending(&own, attacker).await, Err(LoginError::Throttled(_))));
    // Another address is not affected.
    assert!(server.find_pending(&own, "198.51.100.1").await.unwrap().is_some());
}

#[tokio::test]
async fn a_full_memory_store_refuses_new_device_codes_with_503_until_some_expire() {
    let clock = Arc::new(grantry_core::ManualClock::new(1_700_000_000));
    let store = MemoryStore::with_clock(clock.clone()).with_pending_capacity(2);
    store.add_client(ClientRecord::public("tv").with_grant_types([DEVICE_CODE_GRANT_TYPE]).with_scope("read")).unwrap();
    let config = ServerConfig::new("https://auth.example").unwrap().with_clock(clock.clone());
    let mut server = AuthorizationServer::new(store, config);
    server.register_grant(DeviceCodeGrant::new().with_lifetime(60), ()).unwrap();
    let request = http::Request::post("/device_authorization").form(&[("client_id", "tv")]).unwrap();
    for _ in 0..2 {
        assert_eq!(server.grant_endpoint("/device_authorization", &request).await.unwrap().status(), 200);
    }
    let full = server.grant_endpoint("/device_authorization", &request).await.unwrap();
    assert_eq!(full.status(), 503);
    let body: Value = serde_json::from_slice(full.body()).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    clock.advance(60);
    assert_eq!(server.grant_endpoint("/device_authorization", &request).await.unwrap().status(), 200, "room again");
}
