//! Checks of a [`FailureStore`]: failures counted in their window, a new window after it, a
//! clear forgetting them, every concurrent failure counted once, a sweep keeping open windows.

use super::records::now;
use super::{Harness, ok, open, require_parallel_runtime, sweep};
use crate::storage::{FAILURE_RETENTION, FailureCount, FailureStore, ReplayKey};

/// Concurrent failures of one key in [`concurrent_failures_are_each_counted`].
pub const CONCURRENT_FAILURES: u32 = 200;

fn key(name: &str) -> ReplayKey {
    ReplayKey::new("conformance", &[name, &rand::random::<u64>().to_string()])
}

/// Failures count up within the window, which opened with the first; after it, the next
/// failure opens a new window. An unknown key has none.
pub async fn failures_count_within_their_window<H: Harness>(harness: &H)
where
    H::Store: FailureStore,
{
    let store = open(harness).await;
    let (key, now) = (key("window"), now());
    assert_eq!(ok("failures", store.failures(key).await), None, "an unknown key has no failures");
    for (n, at) in [(1, now), (2, now + 10), (3, now + 899)] {
        let counted = ok("record_failure", store.record_failure(key, at, 900).await);
        assert_eq!(counted, FailureCount { count: n, since: now }, "failure {n} at {at}");
    }
    assert_eq!(ok("failures", store.failures(key).await), Some(FailureCount { count: 3, since: now }));
    let counted = ok("record_failure", store.record_failure(key, now + 900, 900).await);
    assert_eq!(counted, FailureCount { count: 1, since: now + 900 }, "the window has passed: a new one");
}

/// A clear forgets the key's failures, and no other key's.
pub async fn a_clear_forgets_one_key<H: Harness>(harness: &H)
where
    H::Store: FailureStore,
{
    let store = open(harness).await;
    let (cleared, kept, now) = (key("cleared"), key("kept"), now());
    for key in [cleared, kept] {
        ok("record_failure", store.record_failure(key, now, 900).await);
    }
    ok("clear_failures", store.clear_failures(cleared).await);
    assert_eq!(ok("failures", store.failures(cleared).await), None);
    assert_eq!(ok("failures", store.failures(kept).await), Some(FailureCount { count: 1, since: now }));
    ok("clear_failures", store.clear_failures(key("never-seen")).await);
}

/// Of [`CONCURRENT_FAILURES`] concurrent failures of one key, each is counted once: the
/// counts returned are exactly 1 to N.
pub async fn concurrent_failures_are_each_counted<H: Harness>(harness: &H)
where
    H::Store: FailureStore,
{
    require_parallel_runtime();
    let store = open(harness).await;
    let (key, now) = (key("race"), now());
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(CONCURRENT_FAILURES as usize));
    let mut calls = Vec::new();
    for _ in 0..CONCURRENT_FAILURES {
        let (store, start) = (store.clone(), start.clone());
        calls.push(tokio::spawn(async move {
            start.wait().await;
            store.record_failure(key, now, 900).await
        }));
    }
    let mut counts = Vec::new();
    for call in calls {
        counts.push(ok("record_failure", call.await.unwrap_or_else(|err| panic!("a call panicked: {err}"))).count);
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=CONCURRENT_FAILURES).collect::<Vec<u32>>(), "each failure counted once");
}

/// A sweep keeps counts whose window opened within [`FAILURE_RETENTION`] (an hour), and drops
/// older ones.
pub async fn a_sweep_keeps_recent_windows<H: Harness>(harness: &H)
where
    H::Store: FailureStore,
{
    let store = open(harness).await;
    let (old, recent, now) = (key("old"), key("recent"), now());
    ok("record_failure", store.record_failure(old, now, 900).await);
    ok("record_failure", store.record_failure(recent, now + FAILURE_RETENTION, 900).await);
    if !sweep(harness, &store, now + FAILURE_RETENTION + 1).await {
        return;
    }
    assert_eq!(ok("failures", store.failures(old).await), None, "a window past the retention is swept");
    let kept = ok("failures", store.failures(recent).await);
    assert_eq!(kept, Some(FailureCount { count: 1, since: now + FAILURE_RETENTION }));
}
