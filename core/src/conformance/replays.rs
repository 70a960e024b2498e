//! Checks of a [`ReplayStore`]: a key is first once until it expires, keys are independent, a
//! sweep keeps what is live, and of concurrent uses exactly one is first.

use super::records::now;
use super::{Harness, ok, open, require_parallel_runtime, sweep};
use crate::storage::{FirstUse, ReplayKey, ReplayStore};
use std::sync::Arc;

/// Concurrent uses of one key in [`concurrent_uses_have_one_winner`].
pub const CONCURRENT_USES: usize = 1_000;

fn key(name: &str) -> ReplayKey {
    ReplayKey::new("conformance", &[name, &rand::random::<u64>().to_string()])
}

/// A key is first once; every later use before it expires is a replay.
pub async fn a_key_is_first_once<H: Harness>(harness: &H)
where
    H::Store: ReplayStore,
{
    let store = open(harness).await;
    let (key, now) = (key("once"), now());
    assert_eq!(ok("record_use", store.record_use(key, now + 600, now).await), FirstUse::First);
    for later in [now, now + 1, now + 599] {
        assert_eq!(
            ok("record_use", store.record_use(key, now + 600, later).await),
            FirstUse::AlreadyUsed,
            "a second use at {later} (expiry {}) must be a replay",
            now + 600
        );
    }
}

/// A record is kept through its expiry second, and forgotten after it: the key can be used
/// again (its thing is refused as expired by then anyway).
pub async fn a_record_lasts_through_its_expiry<H: Harness>(harness: &H)
where
    H::Store: ReplayStore,
{
    let store = open(harness).await;
    let (key, now) = (key("expiry"), now());
    assert_eq!(ok("record_use", store.record_use(key, now + 10, now).await), FirstUse::First);
    assert_eq!(
        ok("record_use", store.record_use(key, now + 10, now + 10).await),
        FirstUse::AlreadyUsed,
        "the record must be kept through its expiry second"
    );
    assert_eq!(ok("record_use", store.record_use(key, now + 100, now + 11).await), FirstUse::First);
    assert_eq!(
        ok("record_use", store.record_use(key, now + 100, now + 50).await),
        FirstUse::AlreadyUsed,
        "the new record must hold until its own expiry"
    );
}

/// Keys are independent: other purposes and other parts are other keys.
pub async fn keys_are_independent<H: Harness>(harness: &H)
where
    H::Store: ReplayStore,
{
    let store = open(harness).await;
    let now = now();
    let id = rand::random::<u64>().to_string();
    let keys = [
        ReplayKey::new("consent-form", &[&id]),
        ReplayKey::new("jwt-assertion", &[&id]),
        ReplayKey::new("jwt-assertion", &[&id, ""]),
        ReplayKey::new("jwt-assertion", &["", &id]),
    ];
    for key in keys {
        assert_eq!(ok("record_use", store.record_use(key, now + 600, now).await), FirstUse::First, "{key:?}");
    }
    for key in keys {
        assert_eq!(ok("record_use", store.record_use(key, now + 600, now).await), FirstUse::AlreadyUsed, "{key:?}");
    }
}

/// A sweep drops records past their expiry and keeps the others, including one expiring in the
/// very second of the sweep.
pub async fn a_sweep_keeps_live_records<H: Harness>(harness: &H)
where
    H::Store: ReplayStore,
{
    let store = open(harness).await;
    let now = now();
    let (gone, last_second, live) = (key("gone"), key("last-second"), key("live"));
    for (key, expires_at) in [(gone, now + 5), (last_second, now + 10), (live, now + 600)] {
        assert_eq!(ok("record_use", store.record_use(key, expires_at, now).await), FirstUse::First);
    }
    if !sweep(harness, &store, now + 10).await {
        return;
    }
    assert_eq!(ok("record_use", store.record_use(gone, now + 600, now + 10).await), FirstUse::First);
    for key in [last_second, live] {
        assert_eq!(
            ok("record_use", store.record_use(key, now + 600, now + 10).await),
            FirstUse::AlreadyUsed,
            "the sweep must keep {key:?}"
        );
    }
}

/// Of [`CONCURRENT_USES`] concurrent uses of one key, exactly one is first.
pub async fn concurrent_uses_have_one_winner<H: Harness>(harness: &H)
where
    H::Store: ReplayStore,
{
    require_parallel_runtime();
    let store = open(harness).await;
    let (key, now) = (key("race"), now());
    let start = Arc::new(tokio::sync::Barrier::new(CONCURRENT_USES));
    let mut calls = Vec::with_capacity(CONCURRENT_USES);
    for _ in 0..CONCURRENT_USES {
        let (store, start) = (store.clone(), start.clone());
        calls.push(tokio::spawn(async move {
            start.wait().await;
            store.record_use(key, now + 600, now).await
        }));
    }
    let mut firsts = 0;
    for call in calls {
        match ok("record_use", call.await.unwrap_or_else(|err| panic!("a use panicked: {err}"))) {
            FirstUse::First => firsts += 1,
            FirstUse::AlreadyUsed => {}
            other => panic!("a concurrent use answered {other:?}"),
        }
    }
    assert_eq!(firsts, 1, "exactly one of {CONCURRENT_USES} concurrent uses must be first");
}
