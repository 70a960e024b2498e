//! Checks of a [`PendingAuthorizationStore`]: a saved pending authorization is found as saved;
//! a user code is taken until its holder expires; a decision is recorded once, and never
//! after expiry; a poll by another client changes nothing, one too early slows down, one in
//! time answers the record; an approved one is consumed once, by its own client only, however
//! many try at once; a sweep drops the expired ones.

use super::records::{digest, now, pending, plain_pending, user_code};
use super::{Harness, SPA, WEB, ok, open, require_parallel_runtime, sweep};
use crate::clock::Timestamp;
use crate::secret::TokenDigest;
use crate::storage::{
    PendingAuthorizationStore, PendingConsumption, PendingDecision, PendingPoll, PendingRecord, PendingState,
    ReplayKey, SLOW_DOWN_SECONDS,
};
use std::sync::Arc;

/// Concurrent decisions on one user code in [`concurrent_decisions_have_one_winner`].
pub const CONCURRENT_DECISIONS: usize = 100;

/// Concurrent consumptions of one pending authorization in
/// [`concurrent_consumptions_have_one_winner`] (by its client; as many again by another).
pub const CONCURRENT_CONSUMPTIONS: usize = 200;

/// The record as [`PendingAuthorizationStore::find_pending`] finds it, failing the check if it
/// is not found.
async fn found<S: PendingAuthorizationStore>(store: &S, user_code: ReplayKey) -> PendingRecord {
    match ok("find_pending", store.find_pending(user_code).await) {
        Some(record) => record,
        None => panic!("the pending authorization must be found by its user code"),
    }
}

/// Saves `record` at `now` under a fresh code and user code, failing the check unless it is
/// saved; returns the code and the user code.
async fn saved<S: PendingAuthorizationStore>(
    store: &S,
    record: PendingRecord,
    now: Timestamp,
) -> (TokenDigest, ReplayKey) {
    let (code, user_code) = (digest(), user_code());
    assert!(ok("save_pending", store.save_pending(code, user_code, record, now).await), "a fresh user code is free");
    (code, user_code)
}

/// A store just opened holding one pending authorization, saved now for 600 s.
struct Fresh<S> {
    store: Arc<S>,
    now: Timestamp,
    record: PendingRecord,
    code: TokenDigest,
    user_code: ReplayKey,
}

async fn fresh<H: Harness>(harness: &H) -> Fresh<H::Store>
where
    H::Store: PendingAuthorizationStore,
{
    let store = open(harness).await;
    let now = now();
    let record = pending(now, now + 600);
    let (code, user_code) = saved(&*store, record.clone(), now).await;
    Fresh { store, now, record, code, user_code }
}

/// [`saved`], then denied.
async fn denied<S: PendingAuthorizationStore>(store: &S, record: PendingRecord, now: Timestamp) -> TokenDigest {
    let (code, user_code) = saved(store, record, now).await;
    assert!(ok("decide_pending", store.decide_pending(user_code, PendingDecision::Deny, now).await));
    code
}

fn approve(subject: &str) -> PendingDecision {
    PendingDecision::Approve(Arc::from(subject))
}

fn approved(subject: &str) -> PendingState {
    PendingState::Approved { subject: Arc::from(subject) }
}

/// A saved pending authorization is found by its user code exactly as saved, with and without
/// its optional fields; an unknown user code finds nothing, an unknown code polls as not found.
pub async fn a_saved_pending_authorization_is_found_as_saved<H: Harness>(harness: &H)
where
    H::Store: PendingAuthorizationStore,
{
    let store = open(harness).await;
    let now = now();
    for record in [pending(now, now + 600), plain_pending(now, now + 600)] {
        let (_, user_code) = saved(&*store, record.clone(), now).await;
        assert_eq!(found(&*store, user_code).await, record, "found exactly as saved");
    }
    assert_eq!(ok("find_pending", store.find_pending(user_code()).await), None, "an unknown user code");
    assert_eq!(ok("poll_pending", store.poll_pending(digest(), WEB, now).await), PendingPoll::NotFound);
}

/// A user code is taken while its pending authorization is unexpired: a second save with it
/// saves nothing. From its expiry on, the user code can be used again, and the expired one is
/// gone.
pub async fn a_user_code_is_taken_until_it_expires<H: Harness>(harness: &H)
where
    H::Store: PendingAuthorizationStore,
{
    let Fresh { store, now, record, code: first, user_code } = fresh(harness).await;
    let (second, third) = (digest(), digest());
    for at in [now, now + 599] {
        let other = plain_pending(at, at + 600);
        assert!(
            !ok("save_pending", store.save_pending(second, user_code, other, at).await),
            "the user code is taken at {at} (the holder expires at {})",
            now + 600
        );
    }
    assert_eq!(found(&*store, user_code).await, record, "the first one is kept");
    assert_eq!(ok("poll_pending", store.poll_pending(second, SPA, now).await), PendingPoll::NotFound);

    let later = now + 600;
    let reuse = plain_pending(later, later + 600);
    assert!(
        ok("save_pending", store.save_pending(third, user_code, reuse.clone(), later).await),
        "the user code is free again once its holder expired"
    );
    assert_eq!(found(&*store, user_code).await, reuse);
    assert_eq!(
        ok("poll_pending", store.poll_pending(first, WEB, later).await),
        PendingPoll::NotFound,
        "the expired one gave its user code up"
    );
}

/// A decision is recorded once: an approval, then neither a denial nor another approval; a
/// denial, then no approval. An unknown user code records nothing.
pub async fn a_decision_is_recorded_once<H: Harness>(harness: &H)
where
    H::Store: PendingAuthorizationStore,
{
    let store = open(harness).await;
    let now = now();
    let (_, approved_code) = saved(&*store, pending(now, now + 600), now).await;
    let (_, denied_code) = saved(&*store, pending(now, now + 600), now).await;
    assert!(ok("decide_pending", store.decide_pending(approved_code, approve("alice"), now).await));
    for decision in [PendingDecision::Deny, approve("bob")] {
        assert!(
            !ok("decide_pending", store.decide_pending(approved_code, decision.clone(), now + 1).await),
            "{decision:?} after an approval must be refused"
        );
    }
    assert_eq!(found(&*store, approved_code).await.state, approved("alice"));

    assert!(ok("decide_pending", store.decide_pending(denied_code, PendingDecision::Deny, now).await));
    assert!(!ok("decide_pending", store.decide_pending(denied_code, approve("alice"), now + 1).await));
    assert_eq!(found(&*store, denied_code).await.state, PendingState::Denied);

    assert!(!ok("decide_pending", store.decide_pending(user_code(), approve("alice"), now).await));
}

/// Of [`CONCURRENT_DECISIONS`] concurrent decisions on one user code (approvals by different
/// users and denials), exactly one is recorded, and the state is that one's.
pub async fn concurrent_decisions_have_one_winner<H: Harness>(harness: &H)
where
    H::Store: PendingAuthorizationStore,
{
    require_parallel_runtime();
    let store = open(harness).await;
    let now = now();
    let (_, user_code) = saved(&*store, pending(now, now + 600), now).await;
    let start = Arc::new(tokio::sync::Barrier::new(CONCURRENT_DECISIONS));
    let mut calls = Vec::with_capacity(CONCURRENT_DECISIONS);
    for n in 0..CONCURRENT_DECISIONS {
        let (store, start) = (store.clone(), start.clone());
        let decision = if n % 2 == 0 { approve(&format!("user-{n}")) } else { PendingDecision::Deny };
        calls.push(tokio::spawn(async move {
            start.wait().await;
            (decision.clone(), store.decide_pending(user_code, decision, now).await)
        }));
    }
    let mut winners = Vec::new();
    for call in calls {
        let (decision, recorded) = call.await.unwrap_or_else(|err| panic!("a decision panicked: {err}"));
        if ok("decide_pending", recorded) {
            winners.push(decision);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of {CONCURRENT_DECISIONS} concurrent decisions must be recorded");
    let state = found(&*store, user_code).await.state;
    match &winners[0] {
        PendingDecision::Approve(subject) => assert_eq!(state, approved(subject)),
        _ => assert_eq!(state, PendingState::Denied),
    }
}

/// A decision from the expiry on is refused and changes nothing; one in the last second before
/// it is recorded.
pub async fn a_decision_after_expiry_is_refused<H: Harness>(harness: &H)
where
    H::Store: PendingAuthorizationStore,
{
    let store = open(harness).await;
    let now = now();
    let (_, late) = saved(&*store, pending(now, now + 600), now).await;
    let (_, last_second) = saved(&*store, pending(now, now + 600), now).await;
    for (at, decision) in [(now + 600, approve("alice")), (now + 601, PendingDecision::Deny)] {
        assert!(
            !ok("decide_pending", store.decide_pending(late, decision, at).await),
            "a decision at {at} (expiry {}) must be refused",
            now + 600
        );
    }
    assert_eq!(found(&*store, late).await, pending(now, now + 600), "a refused decision changes nothing");
    assert!(ok("decide_pending", store.decide_pending(last_second, approve("alice"), now + 599).await));
}

/// A poll by another client answers `WrongClient` and changes nothing: neither the interval
/// nor the next poll time, however early, nor the state.
pub async fn a_wrong_client_poll_changes_nothing<H: Harness>(harness: &H)
where
    H::Store: PendingAuthorizationStore,
{
    let Fresh { store, now, record, code, user_code } = fresh(harness).await;
    for at in [now, now + 1, now + 5, now + 60] {
        assert_eq!(ok("poll_pending", store.poll_pending(code, SPA, at).await), PendingPoll::WrongClient);
    }
    assert_eq!(found(&*store, user_code).await, record, "another client's polls change nothing");
    assert!(ok("decide_pending", store.decide_pending(user_code, approve("alice"), now).await));
    assert_eq!(ok("poll_pending", store.poll_pending(code, SPA, now + 60).await), PendingPoll::WrongClient);
    assert_eq!(found(&*store, user_code).await, PendingRecord { state: approved("alice"), ..record });
}

/// A poll of a still pending one before its next poll time slows down: the interval grows by
/// [`SLOW_DOWN_SECONDS`] and the next poll is due the new interval from the poll, for every
/// poll too early in a row.
pub async fn a_poll_too_early_slows_down<H: Harness>(harness: &H)
where
    H::Store: PendingAuthorizationStore,
{
    let Fresh { store, now, record, code, user_code } = fresh(harness).await;
    let mut interval = record.interval;
    for at in [now, now + 1, now + 4] {
        assert_eq!(ok("poll_pending", store.poll_pending(code, WEB, at).await), PendingPoll::SlowDown, "at {at}");
        interval += SLOW_DOWN_SECONDS;
        let slowed = found(&*store, user_code).await;
        assert_eq!(
            (slowed.interval, slowed.next_poll_at),
            (interval, at + interval),
            "after a poll too early at {at}, the interval grows by {SLOW_DOWN_SECONDS} and the next poll is due then"
        );
    }
    let next = now + 4 + interval;
    assert_eq!(
        ok("poll_pending", store.poll_pending(code, WEB, next - 1).await),
        PendingPoll::SlowDown,
        "one second before the next poll is due is still too early"
    );
    assert_eq!(found(&*store, user_code).await.interval, interval + SLOW_DOWN_SECONDS);
}

/// A poll in time answers the record as it stands, with its next poll due an interval from the
/// poll; so does any poll once the user decided (there is nothing to wait for). An unknown
/// code is not found.
pub async fn a_poll_in_time_returns_the_record<H: Harness>(harness: &H)
where
    H::Store: PendingAuthorizationStore,
{
    let Fresh { store, now, record, code, user_code } = fresh(harness).await;
    let at = record.next_poll_at;
    let polled = PendingRecord { next_poll_at: at + record.interval, ..record.clone() };
    assert_eq!(ok("poll_pending", store.poll_pending(code, WEB, at).await), PendingPoll::Polled(polled.clone()));
    assert_eq!(found(&*store, user_code).await, polled, "the next poll is due an interval from this one");

    assert!(ok("decide_pending", store.decide_pending(user_code, approve("alice"), at).await));
    let early = at + 1;
    let decided = PendingRecord { state: approved("alice"), next_poll_at: early + record.interval, ..record.clone() };
    assert_eq!(
        ok("poll_pending", store.poll_pending(code, WEB, early).await),
        PendingPoll::Polled(decided),
        "a decided one is answered however early the poll, and its interval stays"
    );

    let denied_code = denied(&*store, record.clone(), now).await;
    let as_denied = PendingRecord { state: PendingState::Denied, next_poll_at: now + record.interval, ..record };
    let polled = ok("poll_pending", store.poll_pending(denied_code, WEB, now).await);
    assert_eq!(polled, PendingPoll::Polled(as_denied));
}

/// Only an approved one is consumed, by its own client, once: before the approval, after a
/// denial, by another client or for an unknown code nothing happens; after the consumption
/// every call is `AlreadyUsed` and the record shows it used.
pub async fn a_pending_authorization_is_consumed_once<H: Harness>(harness: &H)
where
    H::Store: PendingAuthorizationStore,
{
    let Fresh { store, now, record, code, user_code } = fresh(harness).await;
    let consume = |client: &'static str| {
        let store = store.clone();
        async move { ok("consume_pending", store.consume_pending(code, client).await) }
    };
    assert_eq!(consume(WEB).await, PendingConsumption::NotApproved, "not approved yet");
    assert_eq!(found(&*store, user_code).await, record, "a refused consumption changes nothing");

    assert!(ok("decide_pending", store.decide_pending(user_code, approve("alice"), now).await));
    assert_eq!(consume(SPA).await, PendingConsumption::NotApproved, "another client's");
    assert_eq!(found(&*store, user_code).await.state, approved("alice"), "another client's call changes nothing");
    assert_eq!(consume(WEB).await, PendingConsumption::Consumed);
    for _ in 0..3 {
        assert_eq!(consume(WEB).await, PendingConsumption::AlreadyUsed);
    }
    assert_eq!(consume(SPA).await, PendingConsumption::NotApproved);
    assert_eq!(found(&*store, user_code).await.state, PendingState::Used);
    let polled = ok("poll_pending", store.poll_pending(code, WEB, now + 60).await);
    assert!(matches!(polled, PendingPoll::Polled(PendingRecord { state: PendingState::Used, .. })), "{polled:?}");

    let denied_code = denied(&*store, pending(now, now + 600), now).await;
    let refused = ok("consume_pending", store.consume_pending(denied_code, WEB).await);
    assert_eq!(refused, PendingConsumption::NotApproved, "a denied one is not consumed");
    let polled = ok("poll_pending", store.poll_pending(denied_code, WEB, now).await);
    assert!(matches!(polled, PendingPoll::Polled(PendingRecord { state: PendingState::Denied, .. })), "{polled:?}");

    let unknown = ok("consume_pending", store.consume_pending(digest(), WEB).await);
    assert_eq!(unknown, PendingConsumption::NotApproved, "an unknown code");
}

/// Of [`CONCURRENT_CONSUMPTIONS`] concurrent consumptions of one approved pending
/// authorization by its client, with as many by another client among them, exactly one
/// consumes it; its client's others are `AlreadyUsed`, the other client's all `NotApproved`.
pub async fn concurrent_consumptions_have_one_winner<H: Harness>(harness: &H)
where
    H::Store: PendingAuthorizationStore,
{
    require_parallel_runtime();
    let store = open(harness).await;
    let now = now();
    let (code, user_code) = saved(&*store, pending(now, now + 600), now).await;
    assert!(ok("decide_pending", store.decide_pending(user_code, approve("alice"), now).await));
    let racers = 2 * CONCURRENT_CONSUMPTIONS;
    let start = Arc::new(tokio::sync::Barrier::new(racers));
    let mut calls = Vec::with_capacity(racers);
    for n in 0..racers {
        let (store, start) = (store.clone(), start.clone());
        let client = if n % 2 == 0 { WEB } else { SPA };
        calls.push(tokio::spawn(async move {
            start.wait().await;
            (client, store.consume_pending(code, client).await)
        }));
    }
    let mut consumed = 0;
    for call in calls {
        let (client, outcome) = call.await.unwrap_or_else(|err| panic!("a consumption panicked: {err}"));
        match (client, ok("consume_pending", outcome)) {
            (WEB, PendingConsumption::Consumed) => consumed += 1,
            (WEB, PendingConsumption::AlreadyUsed) | (SPA, PendingConsumption::NotApproved) => {}
            (client, other) => panic!("a concurrent consumption by {client} answered {other:?}"),
        }
    }
    assert_eq!(consumed, 1, "exactly one of {CONCURRENT_CONSUMPTIONS} concurrent consumptions must win");
    assert_eq!(found(&*store, user_code).await.state, PendingState::Used);
}

/// A sweep drops pending authorizations that expired (at or before the sweep's time), decided
/// or not, and keeps the others.
pub async fn expired_pending_authorizations_are_swept<H: Harness>(harness: &H)
where
    H::Store: PendingAuthorizationStore,
{
    let store = open(harness).await;
    let now = now();
    let gone = saved(&*store, pending(now, now + 10), now).await;
    let gone_approved = saved(&*store, pending(now, now + 5), now).await;
    let live = saved(&*store, pending(now, now + 11), now).await;
    assert!(ok("decide_pending", store.decide_pending(gone_approved.1, approve("alice"), now).await));
    if !sweep(harness, &store, now + 10).await {
        return;
    }
    for (code, user_code) in [gone, gone_approved] {
        assert_eq!(ok("find_pending", store.find_pending(user_code).await), None, "an expired one is swept");
        assert_eq!(ok("poll_pending", store.poll_pending(code, WEB, now + 10).await), PendingPoll::NotFound);
        let consumed = ok("consume_pending", store.consume_pending(code, WEB).await);
        assert_eq!(consumed, PendingConsumption::NotApproved, "a swept one is not consumed");
    }
    assert_eq!(found(&*store, live.1).await, pending(now, now + 11), "the sweep keeps what has not expired");
}
