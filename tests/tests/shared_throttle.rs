//! The login throttle with its counts in a store (`SharedFailureLimiter` over a
//! `FailureStore`): servers on one SQLite file or one PostgreSQL database lock a username out
//! together. (The store's own semantics are the conformance suite's `failures` group.)

mod postgres_support;

use grantry_core::storage::{FailureCount, FailureStore, ReplayKey, SqliteStore, StorageError};
use grantry_core::throttle::{CredentialCheck, LoginThrottle, SharedFailureLimiter, Throttled};
use grantry_core::{Timestamp, async_trait};
use std::sync::Arc;

const PW: CredentialCheck = CredentialCheck::UserPassword;
const NOW: Timestamp = 1_700_000_000;

/// Two limiters (two servers) on `one` and `two`, stores on the same data.
async fn lock_out_is_shared(one: Arc<dyn FailureStore>, two: Arc<dyn FailureStore>) -> String {
    let (a, b) = (SharedFailureLimiter::new(one.clone(), 5, 900), SharedFailureLimiter::new(two, 5, 900));
    let user = format!("alice-{}", rand::random::<u64>());
    for (i, limiter) in [&a, &b, &a, &b].into_iter().enumerate() {
        assert!(limiter.admit(PW, &user, NOW + i as u64).await.is_ok());
        limiter.record(PW, &user, false, NOW + i as u64).await;
    }
    assert!(b.admit(PW, &user, NOW + 10).await.is_ok(), "four failures: still admitted");
    a.record(PW, &user, false, NOW + 10).await;
    for limiter in [&a, &b] {
        assert_eq!(limiter.admit(PW, &user, NOW + 100).await, Err(Throttled { retry_after: 800 }));
    }
    assert!(a.admit(PW, &user, NOW + 900).await.is_ok(), "the window, opened by the first failure, passed");
    // A new window starts with the next failure; a success before the limit clears it.
    b.record(PW, &user, false, NOW + 900).await;
    a.record(PW, &user, true, NOW + 901).await;
    for _ in 0..4 {
        b.record(PW, &user, false, NOW + 902).await;
    }
    assert!(a.admit(PW, &user, NOW + 903).await.is_ok(), "the success reset the count");
    // Client secrets are seen, never throttled.
    for _ in 0..10 {
        a.record(CredentialCheck::ClientSecret, "svc", false, NOW).await;
    }
    assert!(b.admit(CredentialCheck::ClientSecret, "svc", NOW).await.is_ok());
    user
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_on_one_sqlite_file_share_the_lock_out() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("store.db");
    let one: Arc<dyn FailureStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let two: Arc<dyn FailureStore> = Arc::new(SqliteStore::open(&path).await.unwrap());
    // The stores stay open while their files are read: a store closing removes its `-wal` and
    // `-shm` files, which would race the listing below.
    let user = lock_out_is_shared(one.clone(), two.clone()).await;
    // Only digests of the usernames were stored.
    for file in std::fs::read_dir(folder.path()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(!bytes.windows(user.len()).any(|w| w == user.as_bytes()), "a username reached the file");
    }
    drop((one, two));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_on_one_postgres_database_share_the_lock_out() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = postgres_support::Schemas::new(url.clone());
    let schema = schemas.fresh();
    let open = || grantry_core::storage::PostgresStore::connect_with(&url, postgres_support::options(&schema));
    let one: Arc<dyn FailureStore> = Arc::new(open().await.unwrap());
    let two: Arc<dyn FailureStore> = Arc::new(open().await.unwrap());
    lock_out_is_shared(one, two).await;
}

/// A store that cannot be read.
struct Broken;

#[async_trait]
impl FailureStore for Broken {
    async fn failures(&self, _: ReplayKey) -> Result<Option<FailureCount>, StorageError> {
        Err(StorageError::new("down"))
    }
    async fn record_failure(&self, _: ReplayKey, _: Timestamp, _: u64) -> Result<FailureCount, StorageError> {
        Err(StorageError::new("down"))
    }
    async fn clear_failures(&self, _: ReplayKey) -> Result<(), StorageError> {
        Err(StorageError::new("down"))
    }
}

#[tokio::test]
async fn a_store_outage_refuses_password_checks_rather_than_lift_the_lock_out() {
    let limiter = SharedFailureLimiter::new(Arc::new(Broken), 5, 900);
    assert_eq!(limiter.admit(PW, "alice", NOW).await, Err(Throttled { retry_after: 1 }));
    assert!(limiter.admit(CredentialCheck::ClientSecret, "svc", NOW).await.is_ok(), "client secrets are not throttled");
}
