//! The conformance suite has teeth: a store with one of the faults real stores are written
//! with fails the check meant to catch it, while the same store without the fault passes.

use grantry_core::conformance::{self, Fixtures, Harness, Swept};
use grantry_core::storage::{
    AuthorizationCodeRecord, AuthorizationCodeStore, CodeRedemption, FamilyId, FirstUse, IssuedTokens, RefreshRotation,
    ReplayKey, ReplayStore, StorageError, StoredCode, TokenKind, TokenRecord, TokenStore,
};
use grantry_core::storage::{
    PendingAuthorizationStore, PendingConsumption, PendingDecision, PendingPoll, PendingRecord, PendingState,
};
use grantry_core::{Timestamp, TokenDigest};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// The faults, each one a mistake a store for a real database is easily written with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    None,
    /// Redemption and rotation read, then write in a second step (a `SELECT` then an
    /// `UPDATE` without the compare in its `WHERE`).
    CheckThenAct,
    /// A wrong client's redemption consumes the code (the client compared after the update).
    WrongClientConsumes,
    /// `revoke_family` deletes the family's tokens but keeps no mark of the revocation.
    RevocationWithoutMark,
    /// `find_token` returns retired refresh tokens.
    FindsRetired,
    /// A single-use record counts as expired in its expiry second (`<=` for `<`).
    ReplayForgottenAtExpiry,
    /// `consume_pending` checks the client but not the state (an `UPDATE … SET state = 'used'`
    /// without `AND state = 'approved'`).
    ConsumeIgnoresState,
}

#[derive(Default)]
struct State {
    codes: HashMap<TokenDigest, (AuthorizationCodeRecord, bool)>,
    tokens: HashMap<TokenDigest, (TokenRecord, bool)>,
    revoked: HashSet<FamilyId>,
    replays: HashMap<ReplayKey, Timestamp>,
    pending: HashMap<TokenDigest, (ReplayKey, PendingRecord)>,
}

/// A plain store (one lock over maps) with at most one fault.
struct FaultyStore {
    state: Mutex<State>,
    fault: Fault,
}

impl FaultyStore {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[grantry_core::async_trait]
impl AuthorizationCodeStore for FaultyStore {
    async fn save_code(&self, code: TokenDigest, record: AuthorizationCodeRecord) -> Result<(), StorageError> {
        self.state().codes.insert(code, (record, false));
        Ok(())
    }

    async fn find_code(&self, code: TokenDigest) -> Result<Option<StoredCode>, StorageError> {
        Ok(self.state().codes.get(&code).map(|(record, redeemed)| match redeemed {
            false => StoredCode::Live(record.clone()),
            true => StoredCode::Redeemed { client_id: record.client_id.clone(), family: record.family },
        }))
    }

    async fn redeem_code(&self, code: TokenDigest, client_id: &str) -> Result<CodeRedemption, StorageError> {
        let seen = self
            .state()
            .codes
            .get(&code)
            .map(|(record, redeemed)| (record.client_id.clone(), record.family, *redeemed));
        let Some((owner, family, redeemed)) = seen else { return Ok(CodeRedemption::NotFound) };
        if self.fault == Fault::CheckThenAct {
            round_trip().await;
        }
        if *owner != *client_id {
            if self.fault == Fault::WrongClientConsumes {
                if let Some(entry) = self.state().codes.get_mut(&code) {
                    entry.1 = true;
                }
            }
            return Ok(CodeRedemption::WrongClient);
        }
        if redeemed {
            return Ok(CodeRedemption::AlreadyRedeemed { family });
        }
        let mut state = self.state();
        let Some(entry) = state.codes.get_mut(&code) else { return Ok(CodeRedemption::NotFound) };
        if entry.1 && self.fault != Fault::CheckThenAct {
            return Ok(CodeRedemption::AlreadyRedeemed { family });
        }
        entry.1 = true;
        Ok(CodeRedemption::Redeemed)
    }
}

#[grantry_core::async_trait]
impl TokenStore for FaultyStore {
    async fn save_tokens(&self, tokens: IssuedTokens) -> Result<(), StorageError> {
        let mut state = self.state();
        if tokens.family().is_some_and(|family| state.revoked.contains(&family)) {
            return Ok(());
        }
        for (digest, record) in tokens {
            state.tokens.insert(digest, (record, false));
        }
        Ok(())
    }

    async fn find_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError> {
        let state = self.state();
        let found = state.tokens.get(&token).filter(|(_, retired)| !retired || self.fault == Fault::FindsRetired);
        Ok(found.map(|(record, _)| record.clone()))
    }

    async fn rotate_refresh_token(&self, token: TokenDigest, client_id: &str) -> Result<RefreshRotation, StorageError> {
        let seen = self.state().tokens.get(&token).map(|(record, retired)| (record.clone(), *retired));
        let Some((record, retired)) = seen.filter(|(record, _)| record.kind == TokenKind::Refresh) else {
            return Ok(RefreshRotation::NotFound);
        };
        if *record.client_id != *client_id {
            return Ok(RefreshRotation::WrongClient);
        }
        if retired {
            return Ok(RefreshRotation::AlreadyRotated { family: record.family });
        }
        if self.fault == Fault::CheckThenAct {
            round_trip().await;
        }
        let mut state = self.state();
        let Some(entry) = state.tokens.get_mut(&token) else { return Ok(RefreshRotation::NotFound) };
        if entry.1 && self.fault != Fault::CheckThenAct {
            return Ok(RefreshRotation::AlreadyRotated { family: record.family });
        }
        entry.1 = true;
        Ok(RefreshRotation::Rotated)
    }

    async fn revoke_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError> {
        Ok(self.state().tokens.remove(&token).map(|(record, _)| record))
    }

    async fn revoke_family(&self, family: FamilyId) -> Result<(), StorageError> {
        let mut state = self.state();
        state.tokens.retain(|_, (record, _)| record.family != Some(family));
        if self.fault != Fault::RevocationWithoutMark {
            state.revoked.insert(family);
        }
        Ok(())
    }
}

#[grantry_core::async_trait]
impl ReplayStore for FaultyStore {
    async fn record_use(
        &self,
        key: ReplayKey,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<FirstUse, StorageError> {
        let live = |until: &Timestamp| match self.fault {
            Fault::ReplayForgottenAtExpiry => *until > now,
            _ => *until >= now,
        };
        if self.fault == Fault::CheckThenAct {
            let seen = self.state().replays.get(&key).is_some_and(live);
            round_trip().await;
            if seen {
                return Ok(FirstUse::AlreadyUsed);
            }
            self.state().replays.insert(key, expires_at);
            return Ok(FirstUse::First);
        }
        let mut state = self.state();
        if state.replays.get(&key).is_some_and(live) {
            return Ok(FirstUse::AlreadyUsed);
        }
        state.replays.insert(key, expires_at);
        Ok(FirstUse::First)
    }
}

#[grantry_core::async_trait]
impl PendingAuthorizationStore for FaultyStore {
    async fn save_pending(
        &self,
        code: TokenDigest,
        user_code: ReplayKey,
        record: PendingRecord,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        if state.pending.values().any(|(taken, live)| *taken == user_code && live.expires_at > now) {
            return Ok(false);
        }
        state.pending.retain(|_, (taken, _)| *taken != user_code);
        state.pending.insert(code, (user_code, record));
        Ok(true)
    }

    async fn find_pending(&self, user_code: ReplayKey) -> Result<Option<PendingRecord>, StorageError> {
        let state = self.state();
        Ok(state.pending.values().find(|(key, _)| *key == user_code).map(|(_, record)| record.clone()))
    }

    async fn decide_pending(
        &self,
        user_code: ReplayKey,
        decision: PendingDecision,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        let mut state = self.state();
        let Some((_, record)) = state.pending.values_mut().find(|(key, _)| *key == user_code) else {
            return Ok(false);
        };
        Ok(record.decide(decision, now))
    }

    async fn poll_pending(
        &self,
        code: TokenDigest,
        client_id: &str,
        now: Timestamp,
    ) -> Result<PendingPoll, StorageError> {
        let mut state = self.state();
        let Some((_, record)) = state.pending.get_mut(&code) else { return Ok(PendingPoll::NotFound) };
        Ok(record.poll(client_id, now))
    }

    async fn consume_pending(&self, code: TokenDigest, client_id: &str) -> Result<PendingConsumption, StorageError> {
        let mut state = self.state();
        let Some((_, record)) = state.pending.get_mut(&code) else { return Ok(PendingConsumption::NotApproved) };
        if *record.client_id != *client_id {
            return Ok(PendingConsumption::NotApproved);
        }
        match record.state {
            PendingState::Approved { .. } => {}
            _ if self.fault == Fault::ConsumeIgnoresState => {}
            PendingState::Used => return Ok(PendingConsumption::AlreadyUsed),
            _ => return Ok(PendingConsumption::NotApproved),
        }
        record.state = PendingState::Used;
        Ok(PendingConsumption::Consumed)
    }
}

/// The time a query to a database server takes, between a store's read and its write.
async fn round_trip() {
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
}

struct FaultyHarness(Fault);

#[grantry_core::async_trait]
impl Harness for FaultyHarness {
    type Store = FaultyStore;

    async fn open(&self, _: &Fixtures) -> Result<Arc<FaultyStore>, StorageError> {
        Ok(Arc::new(FaultyStore { state: Mutex::default(), fault: self.0 }))
    }

    async fn sweep(&self, _: &FaultyStore, _: Timestamp) -> Result<Swept, StorageError> {
        Ok(Swept::Unsupported)
    }
}

/// Whether the check passes on a store with `fault`.
fn passes<F, Fut>(fault: Fault, check: F) -> bool
where
    F: FnOnce(FaultyHarness) -> Fut + std::panic::UnwindSafe,
    Fut: Future<Output = ()>,
{
    std::panic::catch_unwind(|| conformance::block_on(check(FaultyHarness(fault)))).is_ok()
}

#[test]
fn check_then_act_redemption_is_caught_by_the_concurrency_check() {
    let check = |h: FaultyHarness| async move { conformance::codes::concurrent_redemptions_have_one_winner(&h).await };
    assert!(passes(Fault::None, check));
    assert!(!passes(Fault::CheckThenAct, check));
}

#[test]
fn check_then_act_rotation_is_caught_by_the_concurrency_check() {
    let check = |h: FaultyHarness| async move { conformance::tokens::concurrent_rotations_have_one_winner(&h).await };
    assert!(passes(Fault::None, check));
    assert!(!passes(Fault::CheckThenAct, check));
}

#[test]
fn a_wrong_client_consuming_the_code_is_caught() {
    let check = |h: FaultyHarness| async move { conformance::codes::a_wrong_client_changes_nothing(&h).await };
    assert!(passes(Fault::None, check));
    assert!(!passes(Fault::WrongClientConsumes, check));
}

#[test]
fn a_revocation_that_leaves_no_mark_is_caught() {
    let check = |h: FaultyHarness| async move { conformance::tokens::a_revoked_family_refuses_later_saves(&h).await };
    assert!(passes(Fault::None, check));
    assert!(!passes(Fault::RevocationWithoutMark, check));
    let race = |h: FaultyHarness| async move {
        conformance::tokens::family_revocation_racing_saves_leaves_no_token(&h).await;
    };
    assert!(passes(Fault::None, race));
    assert!(!passes(Fault::RevocationWithoutMark, race));
}

#[test]
fn a_retired_refresh_token_still_found_is_caught() {
    let check = |h: FaultyHarness| async move { conformance::tokens::a_refresh_token_rotates_once(&h).await };
    assert!(passes(Fault::None, check));
    assert!(!passes(Fault::FindsRetired, check));
}

#[test]
fn check_then_act_single_use_is_caught_by_the_concurrency_check() {
    let check = |h: FaultyHarness| async move { conformance::replays::concurrent_uses_have_one_winner(&h).await };
    assert!(passes(Fault::None, check));
    assert!(!passes(Fault::CheckThenAct, check));
}

#[test]
fn a_single_use_record_forgotten_in_its_expiry_second_is_caught() {
    let check = |h: FaultyHarness| async move { conformance::replays::a_record_lasts_through_its_expiry(&h).await };
    assert!(passes(Fault::None, check));
    assert!(!passes(Fault::ReplayForgottenAtExpiry, check));
}

#[test]
fn a_consumption_that_ignores_the_state_is_caught() {
    let check =
        |h: FaultyHarness| async move { conformance::pending::a_pending_authorization_is_consumed_once(&h).await };
    assert!(passes(Fault::None, check));
    assert!(!passes(Fault::ConsumeIgnoresState, check));
    let race =
        |h: FaultyHarness| async move { conformance::pending::concurrent_consumptions_have_one_winner(&h).await };
    assert!(passes(Fault::None, race));
    assert!(!passes(Fault::ConsumeIgnoresState, race));
}

#[test]
fn the_faultless_store_passes_every_check_of_its_groups_that_needs_no_sweep() {
    use conformance::{codes, pending, replays, tokens};
    conformance::block_on(async {
        let h = FaultyHarness(Fault::None);
        codes::a_saved_code_is_found_as_saved(&h).await;
        codes::an_unknown_code_is_neither_found_nor_redeemed(&h).await;
        codes::a_code_redeems_once(&h).await;
        codes::codes_are_independent(&h).await;
        tokens::saved_tokens_are_found_as_saved(&h).await;
        tokens::an_unknown_token_is_neither_found_rotated_nor_revoked(&h).await;
        tokens::a_wrong_client_changes_nothing(&h).await;
        tokens::an_access_token_does_not_rotate(&h).await;
        tokens::revoke_token_removes_one_token(&h).await;
        tokens::revoke_family_removes_every_token_of_the_family(&h).await;
        replays::a_key_is_first_once(&h).await;
        replays::a_record_lasts_through_its_expiry(&h).await;
        replays::keys_are_independent(&h).await;
        replays::concurrent_uses_have_one_winner(&h).await;
        pending::a_saved_pending_authorization_is_found_as_saved(&h).await;
        pending::a_user_code_is_taken_until_it_expires(&h).await;
        pending::a_decision_is_recorded_once(&h).await;
        pending::concurrent_decisions_have_one_winner(&h).await;
        pending::a_decision_after_expiry_is_refused(&h).await;
        pending::a_wrong_client_poll_changes_nothing(&h).await;
        pending::a_poll_too_early_slows_down(&h).await;
        pending::a_poll_in_time_returns_the_record(&h).await;
        pending::a_pending_authorization_is_consumed_once(&h).await;
        pending::concurrent_consumptions_have_one_winner(&h).await;
        // Unsupported sweeping: these pass by skipping their sweep.
        codes::expired_codes_are_swept(&h).await;
        tokens::expired_tokens_are_swept(&h).await;
        replays::a_sweep_keeps_live_records(&h).await;
        pending::expired_pending_authorizations_are_swept(&h).await;
    });
}
