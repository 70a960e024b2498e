//! Single use under concurrency: an authorization code, or a rotating refresh token, redeemed
//! by many requests at once is honoured exactly once, and the replays revoke what it produced
//! (RFC 6749 §4.1.2, §10.5; RFC 9700 §4.14.2).

mod common;

use common::*;
use grantry_core::storage::{FamilyId, IssuedTokens, RefreshRotation, StorageError, TokenRecord, TokenStore};
use grantry_core::{MemoryStore, Request, Response, Storage, TokenDigest};
use std::sync::Arc;
use tokio::sync::{Barrier, Notify, Semaphore};

const CONCURRENT: usize = 32;

/// Sends `request` `CONCURRENT` times at once from spawned tasks; returns every response.
async fn race(h: Arc<Harness>, request: Request) -> Vec<Response> {
    let barrier = Arc::new(Barrier::new(CONCURRENT));
    let tasks: Vec<_> = (0..CONCURRENT)
        .map(|_| {
            let (h, request, barrier) = (h.clone(), request.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                h.server.token_endpoint(&request).await
            })
        })
        .collect();
    let mut responses = Vec::with_capacity(CONCURRENT);
    for task in tasks {
        responses.push(task.await.expect("the task does not panic"));
    }
    responses
}

/// Asserts exactly one success among `responses`, every other one `invalid_grant`; returns
/// the success's JSON.
fn exactly_one_success(responses: &[Response]) -> serde_json::Value {
    let (ok, failed): (Vec<_>, Vec<_>) = responses.iter().partition(|r| r.status().as_u16() == 200);
    assert_eq!(ok.len(), 1, "exactly one request may succeed; {} did", ok.len());
    assert_eq!(failed.len(), CONCURRENT - 1);
    for response in failed {
        assert_error(response, 400, "invalid_grant");
    }
    token_json(ok[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_code_succeed_once_and_revoke_its_tokens() {
    let h = Arc::new(Harness::new());
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;

    let responses = race(h.clone(), code_exchange_request(WEB, &code, Some(WEB_REDIRECT))).await;

    let json = exactly_one_success(&responses);
    let access = field(&json, "access_token");
    let refresh = field(&json, "refresh_token");
    assert!(!h.is_stored(&access).await, "the access token survived the replays");
    assert!(!h.is_stored(&refresh).await, "the refresh token survived the replays");
    assert_error(&h.refresh(WEB, &refresh, None).await, 400, "invalid_grant");
    assert_error(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uses_of_one_refresh_token_succeed_once_and_revoke_the_family() {
    let h = Arc::new(Harness::new());
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;
    let first = token_json(&h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await);
    let first_access = field(&first, "access_token");
    let refresh = field(&first, "refresh_token");

    let request = basic_token_request(WEB, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
    let responses = race(h.clone(), request).await;

    let json = exactly_one_success(&responses);
    let new_access = field(&json, "access_token");
    let new_refresh = field(&json, "refresh_token");
    assert_ne!(new_refresh, refresh);
    for (name, token) in [
        ("first access", &first_access),
        ("old refresh", &refresh),
        ("new access", &new_access),
        ("new refresh", &new_refresh),
    ] {
        assert!(!h.is_stored(token).await, "the {name} token survived the replays");
    }
    assert_error(&h.refresh(WEB, &new_refresh, None).await, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_independent_flows_all_succeed() {
    // The control: many different codes redeemed at once do not interfere.
    let h = Arc::new(Harness::new());
    let mut codes = Vec::new();
    for _ in 0..CONCURRENT {
        codes.push(h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await);
    }

    let barrier = Arc::new(Barrier::new(CONCURRENT));
    let tasks: Vec<_> = codes
        .into_iter()
        .map(|code| {
            let (h, barrier) = (h.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await
            })
        })
        .collect();
    let mut access_tokens = Vec::new();
    for task in tasks {
        let json = token_json(&task.await.expect("the task does not panic"));
        access_tokens.push(field(&json, "access_token"));
    }
    for token in &access_tokens {
        assert!(h.is_stored(token).await);
    }
    access_tokens.sort();
    access_tokens.dedup();
    assert_eq!(access_tokens.len(), CONCURRENT, "every token is distinct");
}

/// A token store whose saves wait for a permit, so a test can let a replay overtake the first
/// redemption's save: the order a real race produces only sometimes.
struct GatedSaves {
    inner: Arc<MemoryStore>,
    /// Signalled when a save starts waiting.
    waiting: Arc<Notify>,
    /// Saves proceed one per permit.
    gate: Arc<Semaphore>,
}

#[grantry_core::async_trait]
impl TokenStore for GatedSaves {
    async fn save_tokens(&self, tokens: IssuedTokens) -> Result<(), StorageError> {
        self.waiting.notify_one();
        let permit = self.gate.acquire().await.expect("the gate is never closed");
        permit.forget();
        self.inner.save_tokens(tokens).await
    }

    async fn find_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError> {
        self.inner.find_token(token).await
    }

    async fn rotate_refresh_token(&self, token: TokenDigest, client_id: &str) -> Result<RefreshRotation, StorageError> {
        self.inner.rotate_refresh_token(token, client_id).await
    }

    async fn revoke_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError> {
        self.inner.revoke_token(token).await
    }

    async fn revoke_family(&self, family: FamilyId) -> Result<(), StorageError> {
        self.inner.revoke_family(family).await
    }
}

/// The standard harness with its token saves gated.
fn gated_harness() -> (Arc<Harness>, Arc<Notify>, Arc<Semaphore>) {
    let waiting = Arc::new(Notify::new());
    let gate = Arc::new(Semaphore::new(0));
    let (w, g) = (waiting.clone(), gate.clone());
    let h = Harness::custom_storage(
        |config| config,
        register_all_grants,
        move |store| {
            let tokens = Arc::new(GatedSaves { inner: store.clone(), waiting: w, gate: g });
            Storage::new(store.clone(), store.clone(), tokens, store.clone(), store.clone(), store)
        },
    );
    (Arc::new(h), waiting, gate)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn code_replay_that_overtakes_the_first_redemption_still_revokes_its_tokens() {
    let (h, waiting, gate) = gated_harness();
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;
    let request = code_exchange_request(WEB, &code, Some(WEB_REDIRECT));

    // The first redemption gets as far as saving its tokens, and waits there.
    let first = {
        let (h, request) = (h.clone(), request.clone());
        tokio::spawn(async move { h.server.token_endpoint(&request).await })
    };
    waiting.notified().await;

    // The replay is refused and revokes the family before anything is saved into it.
    assert_error(&h.token(&request).await, 400, "invalid_grant");

    gate.add_permits(1);
    let json = token_json(&first.await.expect("the task does not panic"));
    let access = field(&json, "access_token");
    let refresh = field(&json, "refresh_token");
    assert!(!h.is_stored(&access).await, "a token saved into a revoked family was kept");
    assert!(!h.is_stored(&refresh).await, "a token saved into a revoked family was kept");
    gate.add_permits(1);
    assert_error(&h.refresh(WEB, &refresh, None).await, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_replay_that_overtakes_the_rotation_still_revokes_the_new_tokens() {
    let (h, waiting, gate) = gated_harness();
    let code = h.obtain_code(WEB.0, Some(WEB_REDIRECT), None).await;
    let exchange = {
        let h = h.clone();
        tokio::spawn(async move { h.exchange_code(WEB, &code, Some(WEB_REDIRECT)).await })
    };
    waiting.notified().await;
    gate.add_permits(1);
    let initial = token_json(&exchange.await.expect("the task does not panic"));
    let refresh = field(&initial, "refresh_token");
    let request = basic_token_request(WEB, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);

    let rotation = {
        let (h, request) = (h.clone(), request.clone());
        tokio::spawn(async move { h.server.token_endpoint(&request).await })
    };
    waiting.notified().await;

    assert_error(&h.token(&request).await, 400, "invalid_grant");

    gate.add_permits(1);
    let json = token_json(&rotation.await.expect("the task does not panic"));
    assert!(!h.is_stored(&field(&initial, "access_token")).await);
    assert!(!h.is_stored(&field(&json, "access_token")).await, "the new access token was kept");
    assert!(!h.is_stored(&field(&json, "refresh_token")).await, "the new refresh token was kept");
}
