//! A store whose every call does its work on the second poll, as a database's would: grants
//! that answer at once when the store does then take their waiting paths.

use grantry_core::storage::{
    AuthorizationCodeRecord, AuthorizationCodeStore, CodeRedemption, FamilyId, IssuedTokens, RefreshRotation,
    StorageError, TokenRecord, TokenStore,
};
use grantry_core::{MaybeReady, MemoryStore, TokenDigest};
use std::sync::Arc;

/// Codes and tokens on a [`MemoryStore`], each call deferred to the second poll. A pending call
/// dropped instead of awaited does nothing, so a test fails if a grant drops one.
pub struct LateStore(pub Arc<MemoryStore>);

impl LateStore {
    fn late<'a, T: Send + 'a>(
        &'a self,
        call: impl FnOnce(&'a MemoryStore) -> MaybeReady<'a, T> + Send + 'a,
    ) -> MaybeReady<'a, T> {
        MaybeReady::boxed(async move {
            tokio::task::yield_now().await;
            call(&self.0).await
        })
    }
}

impl AuthorizationCodeStore for LateStore {
    fn save_code(
        &self,
        code: TokenDigest,
        record: AuthorizationCodeRecord,
    ) -> MaybeReady<'_, Result<(), StorageError>> {
        self.late(move |store| store.save_code(code, record))
    }

    fn redeem_code(&self, code: TokenDigest) -> MaybeReady<'_, Result<CodeRedemption, StorageError>> {
        self.late(move |store| store.redeem_code(code))
    }
}

impl TokenStore for LateStore {
    fn save_tokens(&self, tokens: IssuedTokens) -> MaybeReady<'_, Result<(), StorageError>> {
        self.late(move |store| store.save_tokens(tokens))
    }

    fn find_token(&self, token: TokenDigest) -> MaybeReady<'_, Result<Option<TokenRecord>, StorageError>> {
        self.late(move |store| store.find_token(token))
    }

    fn rotate_refresh_token(&self, token: TokenDigest) -> MaybeReady<'_, Result<RefreshRotation, StorageError>> {
        self.late(move |store| store.rotate_refresh_token(token))
    }

    fn revoke_token(&self, token: TokenDigest) -> MaybeReady<'_, Result<Option<TokenRecord>, StorageError>> {
        self.late(move |store| store.revoke_token(token))
    }

    fn revoke_family(&self, family: FamilyId) -> MaybeReady<'_, Result<(), StorageError>> {
        self.late(move |store| store.revoke_family(family))
    }
}
