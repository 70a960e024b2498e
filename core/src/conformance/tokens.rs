//! Checks of a [`TokenStore`]: saving and finding, rotation (compare and consume), replays,
//! wrong clients, revocation of one token and of a family, expiry and concurrency.

use super::records::{digest, issuance, lone_access, now, token};
use super::{Harness, SPA, WEB, ok, open, require_parallel_runtime, sweep};
use crate::clock::Timestamp;
use crate::secret::TokenDigest;
use crate::storage::{FamilyId, IssuedTokens, RefreshRotation, TokenKind, TokenRecord, TokenStore};
use std::sync::Arc;

/// Concurrent rotations by the token's own client in [`concurrent_rotations_have_one_winner`].
pub const CONCURRENT_ROTATIONS: usize = 1_000;

/// Rounds of [`family_revocation_racing_saves_leaves_no_token`]: in each, a family's
/// revocation races [`RACING_SAVES`] saves into it.
pub const RACE_ROUNDS: usize = 48;

/// Saves racing each revocation in [`family_revocation_racing_saves_leaves_no_token`].
pub const RACING_SAVES: usize = 4;

async fn found<S: TokenStore + ?Sized>(store: &S, token: TokenDigest) -> Option<TokenRecord> {
    ok("find_token", store.find_token(token).await)
}

async fn save<S: TokenStore + ?Sized>(store: &S, tokens: IssuedTokens) {
    ok("save_tokens", store.save_tokens(tokens).await);
}

/// Saved tokens are found exactly as saved, every field included: an access and a refresh
/// token in a family, a refresh token that never expires, and a lone access token without
/// family, subject or scope.
pub async fn saved_tokens_are_found_as_saved<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    let store = open(harness).await;
    let now = now();
    let (tokens, access, refresh) = issuance(FamilyId::random(), now + 3_600, Some(now + 86_400));
    let (forever, _, forever_refresh) = issuance(FamilyId::random(), now + 3_600, None);
    let (lone, lone_digest) = lone_access(now + 3_600);
    let expected = [
        (access, Some(tokens.access.1.clone())),
        (refresh, tokens.refresh.as_ref().map(|(_, record)| record.clone())),
        (forever_refresh, forever.refresh.as_ref().map(|(_, record)| record.clone())),
        (lone_digest, Some(lone.access.1.clone())),
    ];
    save(&*store, tokens).await;
    save(&*store, forever).await;
    save(&*store, lone).await;
    for (digest, record) in expected {
        for _ in 0..2 {
            assert!(record.is_some());
            assert_eq!(found(&*store, digest).await, record, "find_token must return the token as saved");
        }
    }
    assert!(found(&*store, access).await.is_some_and(|record| record.kind == TokenKind::Access));
    assert!(found(&*store, refresh).await.is_some_and(|record| record.kind == TokenKind::Refresh));
}

/// A token never saved is not found, not rotated (`NotFound`) and not revoked (`None`).
pub async fn an_unknown_token_is_neither_found_rotated_nor_revoked<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    let store = open(harness).await;
    let (tokens, _, _) = issuance(FamilyId::random(), now() + 3_600, None);
    save(&*store, tokens).await;
    let unknown = digest();
    assert_eq!(found(&*store, unknown).await, None, "an unknown token must not be found");
    assert_eq!(ok("rotate_refresh_token", store.rotate_refresh_token(unknown, WEB).await), RefreshRotation::NotFound);
    assert_eq!(ok("revoke_token", store.revoke_token(unknown).await), None, "revoking an unknown token finds nothing");
    assert_eq!(found(&*store, unknown).await, None);
}

/// A refresh token rotates once: then `find_token` no longer finds it (a retired token is
/// kept for replay detection only), and every further rotation by its client is a replay
/// naming the family. The access token issued with it is untouched.
pub async fn a_refresh_token_rotates_once<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    let store = open(harness).await;
    let family = FamilyId::random();
    let (tokens, access, refresh) = issuance(family, now() + 3_600, Some(now() + 86_400));
    let access_record = tokens.access.1.clone();
    save(&*store, tokens).await;
    assert_eq!(ok("rotate_refresh_token", store.rotate_refresh_token(refresh, WEB).await), RefreshRotation::Rotated);
    for _ in 0..3 {
        assert_eq!(found(&*store, refresh).await, None, "find_token must not return a retired refresh token");
        assert_eq!(
            ok("rotate_refresh_token", store.rotate_refresh_token(refresh, WEB).await),
            RefreshRotation::AlreadyRotated { family: Some(family) },
            "a retired refresh token presented again by its client is a replay naming its family"
        );
    }
    assert_eq!(found(&*store, access).await, Some(access_record), "rotation must leave the access token alone");
}

/// A client the refresh token was not issued to gets `WrongClient`, and the token stays
/// exactly as it was: live before the rotation, retired after it.
pub async fn a_wrong_client_changes_nothing<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    let store = open(harness).await;
    let family = FamilyId::random();
    let (tokens, _, refresh) = issuance(family, now() + 3_600, Some(now() + 86_400));
    let record = tokens.refresh.as_ref().map(|(_, record)| record.clone());
    save(&*store, tokens).await;
    for wrong in [SPA, "", "CONFORMANCE-WEB", "unknown-client"] {
        assert_eq!(
            ok("rotate_refresh_token", store.rotate_refresh_token(refresh, wrong).await),
            RefreshRotation::WrongClient,
            "a refresh token presented by {wrong:?} must be WrongClient"
        );
        assert_eq!(found(&*store, refresh).await, record, "a wrong client must leave the refresh token live");
    }
    assert_eq!(
        ok("rotate_refresh_token", store.rotate_refresh_token(refresh, WEB).await),
        RefreshRotation::Rotated,
        "the owner must still rotate a token a wrong client presented"
    );
    assert_eq!(
        ok("rotate_refresh_token", store.rotate_refresh_token(refresh, SPA).await),
        RefreshRotation::WrongClient,
        "a retired token presented by another client is WrongClient, not a replay"
    );
    assert_eq!(
        ok("rotate_refresh_token", store.rotate_refresh_token(refresh, WEB).await),
        RefreshRotation::AlreadyRotated { family: Some(family) },
        "after a wrong client's attempt, the owner's replay still names the family"
    );
}

/// Rotating an access token is `NotFound`, and leaves it found.
pub async fn an_access_token_does_not_rotate<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    let store = open(harness).await;
    let (tokens, access, _) = issuance(FamilyId::random(), now() + 3_600, None);
    let (lone, lone_digest) = lone_access(now() + 3_600);
    let records = [(access, tokens.access.1.clone()), (lone_digest, lone.access.1.clone())];
    save(&*store, tokens).await;
    save(&*store, lone).await;
    for (digest, record) in records {
        assert_eq!(
            ok("rotate_refresh_token", store.rotate_refresh_token(digest, WEB).await),
            RefreshRotation::NotFound,
            "an access token is not a refresh token"
        );
        assert_eq!(found(&*store, digest).await, Some(record), "a refused rotation must leave an access token alone");
    }
}

/// `revoke_token` removes one token and returns its record; revoking it again finds nothing,
/// a revoked refresh token no longer rotates (`NotFound`), and the other tokens of its family
/// stay.
pub async fn revoke_token_removes_one_token<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    let store = open(harness).await;
    let family = FamilyId::random();
    let (tokens, access, refresh) = issuance(family, now() + 3_600, Some(now() + 86_400));
    let (access_record, refresh_record) = (tokens.access.1.clone(), tokens.refresh.as_ref().map(|(_, r)| r.clone()));
    let (lone, lone_digest) = lone_access(now() + 3_600);
    let lone_record = lone.access.1.clone();
    save(&*store, tokens).await;
    save(&*store, lone).await;

    assert_eq!(
        ok("revoke_token", store.revoke_token(lone_digest).await),
        Some(lone_record),
        "revoke_token returns the record"
    );
    assert_eq!(found(&*store, lone_digest).await, None, "a revoked token must not be found");
    assert_eq!(ok("revoke_token", store.revoke_token(lone_digest).await), None, "a token is revoked once");

    assert_eq!(ok("revoke_token", store.revoke_token(access).await), Some(access_record));
    assert_eq!(found(&*store, access).await, None);
    assert_eq!(found(&*store, refresh).await, refresh_record, "revoking one token must leave its family's others");

    assert_eq!(ok("revoke_token", store.revoke_token(refresh).await), refresh_record);
    assert_eq!(found(&*store, refresh).await, None);
    assert_eq!(
        ok("rotate_refresh_token", store.rotate_refresh_token(refresh, WEB).await),
        RefreshRotation::NotFound,
        "a revoked refresh token must not rotate (nor count as a replay)"
    );
}

/// `revoke_family` removes every token of the family, from every issuance and the rotated
/// refresh tokens included, and nothing else: another family's tokens and a lone token stay.
/// Revoking again is harmless.
pub async fn revoke_family_removes_every_token_of_the_family<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    let store = open(harness).await;
    let (family, other) = (FamilyId::random(), FamilyId::random());
    let expires_at = now() + 3_600;
    let (first, first_access, first_refresh) = issuance(family, expires_at, Some(expires_at + 3_600));
    let (second, second_access, second_refresh) = issuance(family, expires_at, None);
    let (kept, kept_access, kept_refresh) = issuance(other, expires_at, None);
    let (lone, lone_digest) = lone_access(expires_at);
    save(&*store, first).await;
    // A refresh: the first refresh token is retired, the second issuance joins the family.
    assert_eq!(
        ok("rotate_refresh_token", store.rotate_refresh_token(first_refresh, WEB).await),
        RefreshRotation::Rotated
    );
    save(&*store, second).await;
    save(&*store, kept).await;
    save(&*store, lone).await;

    ok("revoke_family", store.revoke_family(family).await);
    for digest in [first_access, second_access, second_refresh] {
        assert_eq!(found(&*store, digest).await, None, "a token of a revoked family must not be found");
    }
    for digest in [second_refresh, first_refresh] {
        let rotation = ok("rotate_refresh_token", store.rotate_refresh_token(digest, WEB).await);
        assert!(
            !matches!(rotation, RefreshRotation::Rotated),
            "a refresh token of a revoked family must not rotate (got {rotation:?})"
        );
    }
    for digest in [kept_access, kept_refresh, lone_digest] {
        assert!(found(&*store, digest).await.is_some(), "revoking a family must leave other tokens alone");
    }
    ok("revoke_family", store.revoke_family(family).await);
    ok("revoke_family", store.revoke_family(FamilyId::random()).await);
    assert!(found(&*store, kept_refresh).await.is_some());
}

/// Revocation is final: tokens saved into a family after its revocation are never found,
/// whether the store had tokens of the family before or had never seen it (a code replayed
/// before its tokens were saved, in a store that keeps codes elsewhere).
pub async fn a_revoked_family_refuses_later_saves<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    let store = open(harness).await;
    let expires_at = now() + 3_600;
    let known = FamilyId::random();
    let (before, before_access, _) = issuance(known, expires_at, None);
    save(&*store, before).await;
    ok("revoke_family", store.revoke_family(known).await);
    assert_eq!(found(&*store, before_access).await, None);

    let never_seen = FamilyId::random();
    ok("revoke_family", store.revoke_family(never_seen).await);

    for family in [known, never_seen] {
        for refresh_expiry in [Some(expires_at), None] {
            let (after, access, refresh) = issuance(family, expires_at, refresh_expiry);
            save(&*store, after).await;
            assert_eq!(
                found(&*store, access).await,
                None,
                "an access token saved into a revoked family must not be found"
            );
            assert_eq!(
                found(&*store, refresh).await,
                None,
                "a refresh token saved into a revoked family must not be found"
            );
            let rotation = ok("rotate_refresh_token", store.rotate_refresh_token(refresh, WEB).await);
            assert!(!matches!(rotation, RefreshRotation::Rotated), "a token of a revoked family rotated");
        }
    }
    let (elsewhere, access, _) = issuance(FamilyId::random(), expires_at, None);
    save(&*store, elsewhere).await;
    assert!(found(&*store, access).await.is_some(), "a save into another family must land");
}

/// A sweep at a time before a revoked family's tokens expire keeps the revocation: a save
/// into the family after the sweep is still refused. Skipped for a store the harness cannot
/// sweep.
pub async fn a_revoked_family_outlives_a_sweep_before_its_expiry<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    let store = open(harness).await;
    let now = now();
    let family = FamilyId::random();
    let (tokens, _, _) = issuance(family, now + 1_000, Some(now + 2_000));
    save(&*store, tokens).await;
    ok("revoke_family", store.revoke_family(family).await);
    if !sweep(harness, &store, now + 1_500).await {
        return;
    }
    let (later, access, refresh) = issuance(family, now + 3_000, Some(now + 4_000));
    save(&*store, later).await;
    assert_eq!(found(&*store, access).await, None, "a sweep forgot a family's revocation before its tokens expired");
    assert_eq!(found(&*store, refresh).await, None, "a sweep forgot a family's revocation before its tokens expired");
}

/// A sweep drops the tokens expired at its time (access, refresh and retired refresh tokens)
/// and keeps the live ones and those that never expire. Skipped for a store the harness
/// cannot sweep.
pub async fn expired_tokens_are_swept<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    let store = open(harness).await;
    let now = now();
    let (expired, expired_access, expired_refresh) = issuance(FamilyId::random(), now + 100, Some(now + 1_000));
    let (retired, retired_access, retired_refresh) = issuance(FamilyId::random(), now + 100, Some(now + 500));
    let (live, live_access, live_refresh) = issuance(FamilyId::random(), now + 10_000, None);
    let (lone_expired, lone_expired_digest) = lone_access(now + 1_000);
    let (lone_live, lone_live_digest) = lone_access(now + 1_001);
    let mut endless = token(TokenKind::Access, WEB, None, None);
    endless.subject = None;
    let endless_digest = digest();
    for tokens in [expired, retired, live, lone_expired, lone_live] {
        save(&*store, tokens).await;
    }
    save(&*store, IssuedTokens { access: (endless_digest, endless), refresh: None }).await;
    assert_eq!(
        ok("rotate_refresh_token", store.rotate_refresh_token(retired_refresh, WEB).await),
        RefreshRotation::Rotated
    );

    if !sweep(harness, &store, now + 1_000).await {
        return;
    }
    for gone in [expired_access, expired_refresh, retired_access, lone_expired_digest] {
        assert_eq!(
            found(&*store, gone).await,
            None,
            "a token expired at the sweep's time (expires_at <= now) must be swept"
        );
    }
    for gone in [expired_refresh, retired_refresh] {
        assert_eq!(
            ok("rotate_refresh_token", store.rotate_refresh_token(gone, WEB).await),
            RefreshRotation::NotFound,
            "a swept refresh token, retired or not, must be gone"
        );
    }
    for kept in [live_access, live_refresh, lone_live_digest, endless_digest] {
        assert!(found(&*store, kept).await.is_some(), "a sweep must keep tokens that have not expired or never expire");
    }
}

/// Of [`CONCURRENT_ROTATIONS`] concurrent rotations of one refresh token by its client, with
/// 100 by another client among them, exactly one is `Rotated`; the owner's others are
/// replays naming the family, the other client's are all `WrongClient`.
pub async fn concurrent_rotations_have_one_winner<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    require_parallel_runtime();
    let store = open(harness).await;
    let family = FamilyId::random();
    let (tokens, _, refresh) = issuance(family, now() + 3_600, Some(now() + 86_400));
    save(&*store, tokens).await;
    let total = CONCURRENT_ROTATIONS + 100;
    let start = Arc::new(tokio::sync::Barrier::new(total));
    let mut calls = Vec::with_capacity(total);
    for i in 0..total {
        let (store, start) = (store.clone(), start.clone());
        let client = if i % 11 == 10 { SPA } else { WEB };
        calls.push(tokio::spawn(async move {
            start.wait().await;
            (client, store.rotate_refresh_token(refresh, client).await)
        }));
    }
    let (mut won, mut replays, mut wrong) = (0, 0, 0);
    for call in calls {
        let (client, outcome) = match call.await {
            Ok((client, outcome)) => (client, ok("rotate_refresh_token", outcome)),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        };
        match (client, outcome) {
            (WEB, RefreshRotation::Rotated) => won += 1,
            (WEB, RefreshRotation::AlreadyRotated { family: Some(named) }) if named == family => replays += 1,
            (SPA, RefreshRotation::WrongClient) => wrong += 1,
            (client, outcome) => panic!("a concurrent rotation by {client} got {outcome:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one of the concurrent rotations must win");
    assert_eq!((replays, wrong), (CONCURRENT_ROTATIONS - 1, 100));
}

/// A family's revocation races saves into it ([`RACE_ROUNDS`] rounds of one revocation
/// against [`RACING_SAVES`] saves, started together): afterwards none of the family's tokens
/// is found, whichever landed first. Saves into another family, racing alongside, all land.
pub async fn family_revocation_racing_saves_leaves_no_token<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    require_parallel_runtime();
    let store = open(harness).await;
    let expires_at: Timestamp = now() + 3_600;
    for round in 0..RACE_ROUNDS {
        let (family, bystander) = (FamilyId::random(), FamilyId::random());
        let (first, first_access, first_refresh) = issuance(family, expires_at, Some(expires_at));
        save(&*store, first).await;
        let mut revoked = vec![first_access, first_refresh];
        let mut kept = Vec::new();
        let start = Arc::new(tokio::sync::Barrier::new(2 * RACING_SAVES + 1));
        let mut calls = Vec::new();
        for i in 0..RACING_SAVES {
            // Saves into the family and into a bystander family, alternating refresh expiry.
            let refresh_expiry = if i % 2 == 0 { Some(expires_at) } else { None };
            for (target, list) in [(family, &mut revoked), (bystander, &mut kept)] {
                let (tokens, access, refresh) = issuance(target, expires_at, refresh_expiry);
                list.extend([access, refresh]);
                let (store, start) = (store.clone(), start.clone());
                calls.push(tokio::spawn(async move {
                    start.wait().await;
                    store.save_tokens(tokens).await
                }));
            }
        }
        let (revoker, start) = (store.clone(), start.clone());
        calls.push(tokio::spawn(async move {
            start.wait().await;
            if round % 2 == 1 {
                tokio::task::yield_now().await;
            }
            revoker.revoke_family(family).await
        }));
        for call in calls {
            match call.await {
                Ok(result) => ok("a racing save_tokens or revoke_family", result),
                Err(err) => std::panic::resume_unwind(err.into_panic()),
            }
        }
        for digest in revoked {
            assert_eq!(
                found(&*store, digest).await,
                None,
                "round {round}: a token saved into a family while it was revoked survived the revocation"
            );
        }
        for digest in kept {
            assert!(found(&*store, digest).await.is_some(), "round {round}: a save into another family was lost");
        }
    }
}

/// `rotate_and_save` saves the new tokens only when it retires the refresh token: once, for
/// its client. Then the new tokens are found as saved and the old refresh token is not; a
/// replay names the family, a wrong client, an unknown token and an access token change
/// nothing, and none of them saves what it was given.
pub async fn rotate_and_save_saves_only_when_it_rotates<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    let store = open(harness).await;
    let family = FamilyId::random();
    let (expires_at, refresh_expires_at) = (now() + 3_600, Some(now() + 86_400));
    let (tokens, access, refresh) = issuance(family, expires_at, refresh_expires_at);
    save(&*store, tokens).await;
    let (next, next_access, next_refresh) = issuance(family, expires_at, refresh_expires_at);
    let saved = [
        (next_access, Some(next.access.1.clone())),
        (next_refresh, next.refresh.as_ref().map(|(_, record)| record.clone())),
    ];
    let rotation = ok("rotate_and_save", store.rotate_and_save(refresh, WEB, next).await);
    assert_eq!(rotation, RefreshRotation::Rotated, "the first rotate_and_save by the owner must rotate");
    assert_eq!(found(&*store, refresh).await, None, "rotate_and_save must retire the refresh token");
    assert!(found(&*store, access).await.is_some(), "rotate_and_save must leave the old access token alone");
    for (digest, record) in saved {
        assert!(record.is_some());
        assert_eq!(found(&*store, digest).await, record, "rotate_and_save must save the new tokens as given");
    }

    let (unused, unused_access, unused_refresh) = issuance(family, expires_at, refresh_expires_at);
    let (lone, lone_digest) = lone_access(expires_at);
    save(&*store, lone).await;
    let attempts = [
        (refresh, WEB, RefreshRotation::AlreadyRotated { family: Some(family) }),
        (next_refresh, SPA, RefreshRotation::WrongClient),
        (digest(), WEB, RefreshRotation::NotFound),
        (lone_digest, WEB, RefreshRotation::NotFound),
    ];
    for (token, client, expected) in attempts {
        let rotation = ok("rotate_and_save", store.rotate_and_save(token, client, unused.clone()).await);
        assert_eq!(rotation, expected, "rotate_and_save by {client} of a token that cannot rotate");
        for digest in [unused_access, unused_refresh] {
            assert_eq!(found(&*store, digest).await, None, "rotate_and_save saved tokens it did not rotate for");
        }
    }
    assert!(found(&*store, next_refresh).await.is_some(), "a wrong client must leave the refresh token live");
    assert!(found(&*store, lone_digest).await.is_some(), "an access token must not be retired");
}

/// Of [`CONCURRENT_ROTATIONS`] concurrent `rotate_and_save` calls on one refresh token by its
/// client, each with tokens of its own, exactly one rotates, and only its tokens are saved;
/// the others are replays naming the family.
pub async fn concurrent_rotate_and_saves_have_one_winner<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    require_parallel_runtime();
    let store = open(harness).await;
    let family = FamilyId::random();
    let (expires_at, refresh_expires_at) = (now() + 3_600, Some(now() + 86_400));
    let (tokens, _, refresh) = issuance(family, expires_at, refresh_expires_at);
    save(&*store, tokens).await;
    let start = Arc::new(tokio::sync::Barrier::new(CONCURRENT_ROTATIONS));
    let mut calls = Vec::with_capacity(CONCURRENT_ROTATIONS);
    for _ in 0..CONCURRENT_ROTATIONS {
        let (next, access, new_refresh) = issuance(family, expires_at, refresh_expires_at);
        let (store, start) = (store.clone(), start.clone());
        calls.push(tokio::spawn(async move {
            start.wait().await;
            ([access, new_refresh], store.rotate_and_save(refresh, WEB, next).await)
        }));
    }
    let (mut winners, mut losers) = (Vec::new(), Vec::new());
    for call in calls {
        let (digests, outcome) = match call.await {
            Ok((digests, outcome)) => (digests, ok("rotate_and_save", outcome)),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        };
        match outcome {
            RefreshRotation::Rotated => winners.extend(digests),
            RefreshRotation::AlreadyRotated { family: Some(named) } if named == family => losers.extend(digests),
            outcome => panic!("a concurrent rotate_and_save got {outcome:?}"),
        }
    }
    assert_eq!(winners.len(), 2, "exactly one of the concurrent rotate_and_save calls must win");
    for digest in winners {
        assert!(found(&*store, digest).await.is_some(), "the winner's tokens must be saved");
    }
    for digest in losers {
        assert_eq!(found(&*store, digest).await, None, "a losing rotate_and_save must save nothing");
    }
}

/// A family's revocation races a `rotate_and_save` in it ([`RACE_ROUNDS`] rounds): afterwards
/// none of the family's tokens, old or new, is found, whichever came first, and neither call
/// fails.
pub async fn family_revocation_racing_a_rotation_leaves_no_token<H: Harness>(harness: &H)
where
    H::Store: TokenStore,
{
    require_parallel_runtime();
    let store = open(harness).await;
    let (expires_at, refresh_expires_at) = (now() + 3_600, Some(now() + 86_400));
    for round in 0..RACE_ROUNDS {
        let family = FamilyId::random();
        let (first, access, refresh) = issuance(family, expires_at, refresh_expires_at);
        save(&*store, first).await;
        let (next, next_access, next_refresh) = issuance(family, expires_at, refresh_expires_at);
        let start = Arc::new(tokio::sync::Barrier::new(2));
        let (rotator, starter) = (store.clone(), start.clone());
        let rotation = tokio::spawn(async move {
            starter.wait().await;
            rotator.rotate_and_save(refresh, WEB, next).await
        });
        let (revoker, starter) = (store.clone(), start.clone());
        let revocation = tokio::spawn(async move {
            starter.wait().await;
            if round % 2 == 1 {
                tokio::task::yield_now().await;
            }
            revoker.revoke_family(family).await
        });
        let rotation = match rotation.await {
            Ok(outcome) => ok("a racing rotate_and_save", outcome),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        };
        assert!(
            matches!(rotation, RefreshRotation::Rotated | RefreshRotation::NotFound),
            "round {round}: a rotate_and_save racing the family's revocation got {rotation:?}"
        );
        match revocation.await {
            Ok(result) => ok("a racing revoke_family", result),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
        for digest in [access, refresh, next_access, next_refresh] {
            assert_eq!(found(&*store, digest).await, None, "round {round}: a token of a revoked family survived");
        }
    }
}
