//! Checks of an [`AuthorizationCodeStore`]: saving, peeking, compare-and-consume redemption,
//! replays, wrong clients, expiry and concurrency.

use super::records::{code, digest, now, plain_code};
use super::{Harness, SPA, WEB, ok, open, require_parallel_runtime, sweep};
use crate::storage::{AuthorizationCodeStore, CodeRedemption, FamilyId, StoredCode};
use std::sync::Arc;

/// Concurrent redemptions by the code's own client in
/// [`concurrent_redemptions_have_one_winner`].
pub const CONCURRENT_REDEMPTIONS: usize = 1_000;

/// A saved code is found exactly as it was saved, every field included, and finding it
/// changes nothing (it still redeems).
pub async fn a_saved_code_is_found_as_saved<H: Harness>(harness: &H)
where
    H::Store: AuthorizationCodeStore,
{
    let store = open(harness).await;
    let expires_at = now() + 600;
    for record in [code(FamilyId::random(), expires_at), plain_code(FamilyId::random(), expires_at)] {
        let digest = digest();
        ok("save_code", store.save_code(digest, record.clone()).await);
        for _ in 0..2 {
            let found = ok("find_code", store.find_code(digest).await);
            assert_eq!(found, Some(StoredCode::Live(record.clone())), "find_code must return the code as saved");
        }
        let client_id = record.client_id.clone();
        let redeemed = ok("redeem_code", store.redeem_code(digest, &client_id).await);
        assert_eq!(redeemed, CodeRedemption::Redeemed, "a code found with find_code must still redeem");
    }
}

/// A code never saved is not found, and redeeming it is `NotFound`.
pub async fn an_unknown_code_is_neither_found_nor_redeemed<H: Harness>(harness: &H)
where
    H::Store: AuthorizationCodeStore,
{
    let store = open(harness).await;
    ok("save_code", store.save_code(digest(), code(FamilyId::random(), now() + 600)).await);
    let unknown = digest();
    assert_eq!(ok("find_code", store.find_code(unknown).await), None, "an unknown code must not be found");
    let redeemed = ok("redeem_code", store.redeem_code(unknown, WEB).await);
    assert_eq!(redeemed, CodeRedemption::NotFound, "an unknown code must not redeem");
    assert_eq!(ok("find_code", store.find_code(unknown).await), None, "redeeming an unknown code must not create it");
}

/// The first redemption by the code's client wins; the code then shows as redeemed, with
/// its client and family, and every further redemption is a replay naming the family.
pub async fn a_code_redeems_once<H: Harness>(harness: &H)
where
    H::Store: AuthorizationCodeStore,
{
    let store = open(harness).await;
    let family = FamilyId::random();
    let digest = digest();
    ok("save_code", store.save_code(digest, code(family, now() + 600)).await);
    assert_eq!(ok("redeem_code", store.redeem_code(digest, WEB).await), CodeRedemption::Redeemed);
    let redeemed = StoredCode::Redeemed { client_id: Arc::from(WEB), family };
    for _ in 0..3 {
        assert_eq!(
            ok("redeem_code", store.redeem_code(digest, WEB).await),
            CodeRedemption::AlreadyRedeemed { family },
            "a redeemed code presented again by its client is a replay naming its family"
        );
        assert_eq!(
            ok("find_code", store.find_code(digest).await),
            Some(redeemed.clone()),
            "find_code must show a redeemed code as redeemed, with its client and family"
        );
    }
}

/// A client the code was not issued to gets `WrongClient`, and the code stays exactly as it
/// was for its owner: live before the redemption, redeemed after it.
pub async fn a_wrong_client_changes_nothing<H: Harness>(harness: &H)
where
    H::Store: AuthorizationCodeStore,
{
    let store = open(harness).await;
    let family = FamilyId::random();
    let record = code(family, now() + 600);
    let digest = digest();
    ok("save_code", store.save_code(digest, record.clone()).await);
    for wrong in [SPA, "", "conformance-web ", "CONFORMANCE-WEB", "unknown-client"] {
        assert_eq!(
            ok("redeem_code", store.redeem_code(digest, wrong).await),
            CodeRedemption::WrongClient,
            "a code presented by {wrong:?} must be WrongClient"
        );
        assert_eq!(
            ok("find_code", store.find_code(digest).await),
            Some(StoredCode::Live(record.clone())),
            "a wrong client's redemption must leave the code live and unchanged"
        );
    }
    assert_eq!(
        ok("redeem_code", store.redeem_code(digest, WEB).await),
        CodeRedemption::Redeemed,
        "the owner must still redeem a code a wrong client presented"
    );
    assert_eq!(
        ok("redeem_code", store.redeem_code(digest, SPA).await),
        CodeRedemption::WrongClient,
        "a redeemed code presented by another client is WrongClient, not a replay"
    );
    assert_eq!(
        ok("find_code", store.find_code(digest).await),
        Some(StoredCode::Redeemed { client_id: Arc::from(WEB), family }),
        "a wrong client's redemption must leave the redeemed code as it was"
    );
    assert_eq!(
        ok("redeem_code", store.redeem_code(digest, WEB).await),
        CodeRedemption::AlreadyRedeemed { family },
        "after a wrong client's attempt, the owner's replay still names the family"
    );
}

/// Redeeming one code leaves every other code live, in the same family or not.
pub async fn codes_are_independent<H: Harness>(harness: &H)
where
    H::Store: AuthorizationCodeStore,
{
    let store = open(harness).await;
    let family = FamilyId::random();
    let expires_at = now() + 600;
    let first = (digest(), code(family, expires_at));
    let sibling = (digest(), code(family, expires_at));
    let other = (digest(), plain_code(FamilyId::random(), expires_at));
    for (digest, record) in [&first, &sibling, &other] {
        ok("save_code", store.save_code(*digest, record.clone()).await);
    }
    assert_eq!(ok("redeem_code", store.redeem_code(first.0, WEB).await), CodeRedemption::Redeemed);
    for (digest, record) in [&sibling, &other] {
        assert_eq!(
            ok("find_code", store.find_code(*digest).await),
            Some(StoredCode::Live(record.clone())),
            "redeeming a code must leave the others live"
        );
    }
    assert_eq!(ok("redeem_code", store.redeem_code(sibling.0, WEB).await), CodeRedemption::Redeemed);
    assert_eq!(ok("redeem_code", store.redeem_code(other.0, SPA).await), CodeRedemption::Redeemed);
}

/// A sweep drops the codes expired at its time, live or redeemed, and keeps the others.
/// Skipped for a store the harness cannot sweep.
pub async fn expired_codes_are_swept<H: Harness>(harness: &H)
where
    H::Store: AuthorizationCodeStore,
{
    let store = open(harness).await;
    let now = now();
    let expired_live = digest();
    let expired_redeemed = digest();
    let expiring_at_sweep = digest();
    let live = (digest(), code(FamilyId::random(), now + 10_000));
    let live_redeemed = (digest(), code(FamilyId::random(), now + 10_000));
    ok("save_code", store.save_code(expired_live, code(FamilyId::random(), now + 100)).await);
    ok("save_code", store.save_code(expired_redeemed, code(FamilyId::random(), now + 100)).await);
    ok("save_code", store.save_code(expiring_at_sweep, code(FamilyId::random(), now + 1_000)).await);
    ok("save_code", store.save_code(live.0, live.1.clone()).await);
    ok("save_code", store.save_code(live_redeemed.0, live_redeemed.1.clone()).await);
    assert_eq!(ok("redeem_code", store.redeem_code(expired_redeemed, WEB).await), CodeRedemption::Redeemed);
    assert_eq!(ok("redeem_code", store.redeem_code(live_redeemed.0, WEB).await), CodeRedemption::Redeemed);

    if !sweep(harness, &store, now + 1_000).await {
        return;
    }
    for gone in [expired_live, expired_redeemed, expiring_at_sweep] {
        assert_eq!(
            ok("find_code", store.find_code(gone).await),
            None,
            "a code expired at the sweep's time (expires_at <= now) must be swept"
        );
        assert_eq!(ok("redeem_code", store.redeem_code(gone, WEB).await), CodeRedemption::NotFound);
    }
    assert_eq!(ok("find_code", store.find_code(live.0).await), Some(StoredCode::Live(live.1)));
    assert_eq!(
        ok("redeem_code", store.redeem_code(live_redeemed.0, WEB).await),
        CodeRedemption::AlreadyRedeemed { family: live_redeemed.1.family },
        "a sweep must keep a redeemed code until it expires, so its replay is still caught"
    );
}

/// Of [`CONCURRENT_REDEMPTIONS`] concurrent redemptions of one code by its client, with 100
/// by another client among them, exactly one is `Redeemed`; the owner's others are replays
/// naming the family, the other client's are all `WrongClient`.
pub async fn concurrent_redemptions_have_one_winner<H: Harness>(harness: &H)
where
    H::Store: AuthorizationCodeStore,
{
    require_parallel_runtime();
    let store = open(harness).await;
    let family = FamilyId::random();
    let digest = digest();
    ok("save_code", store.save_code(digest, code(family, now() + 600)).await);
    let start = Arc::new(tokio::sync::Barrier::new(CONCURRENT_REDEMPTIONS + 100));
    let mut calls = Vec::with_capacity(CONCURRENT_REDEMPTIONS + 100);
    for i in 0..CONCURRENT_REDEMPTIONS + 100 {
        let (store, start) = (store.clone(), start.clone());
        // Every eleventh call is the other client's, spread among the owner's.
        let client = if i % 11 == 10 { SPA } else { WEB };
        calls.push(tokio::spawn(async move {
            start.wait().await;
            (client, store.redeem_code(digest, client).await)
        }));
    }
    let (mut won, mut replays, mut wrong) = (0, 0, 0);
    for call in calls {
        let (client, outcome) = match call.await {
            Ok((client, outcome)) => (client, ok("redeem_code", outcome)),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        };
        match (client, outcome) {
            (WEB, CodeRedemption::Redeemed) => won += 1,
            (WEB, CodeRedemption::AlreadyRedeemed { family: named }) if named == family => replays += 1,
            (SPA, CodeRedemption::WrongClient) => wrong += 1,
            (client, outcome) => panic!("a concurrent redemption by {client} got {outcome:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one of the concurrent redemptions must win");
    assert_eq!((replays, wrong), (CONCURRENT_REDEMPTIONS - 1, 100));
}
