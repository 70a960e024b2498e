//! A store whose every call answers late, as a database's would, so the engine's waiting paths
//! are exercised.

use grantry_core::storage::{
    AuthorizationCodeRecord, AuthorizationCodeStore, CodeRedemption, FamilyId, IssuedTokens, RefreshRotation,
    StorageError, StoredCode, TokenRecord, TokenStore,
};
use grantry_core::{MemoryStore, TokenDigest};
use std::sync::Arc;

/// Codes and tokens on a [`MemoryStore`], each call answered only after a yield to the runtime,
/// as a database's answer would be.
pub struct LateStore(pub Arc<MemoryStore>);

#[grantry_core::async_trait]
impl AuthorizationCodeStore for LateStore {
    async fn save_code(&self, code: TokenDigest, record: AuthorizationCodeRecord) -> Result<(), StorageError> {
        tokio::task::yield_now().await;
        self.0.save_code(code, record).await
    }

    async fn find_code(&self, code: TokenDigest) -> Result<Option<StoredCode>, StorageError> {
        tokio::task::yield_now().await;
        self.0.find_code(code).await
    }

    async fn redeem_code(&self, code: TokenDigest, client_id: &str) -> Result<CodeRedemption, StorageError> {
        tokio::task::yield_now().await;
        self.0.redeem_code(code, client_id).await
    }
}

#[grantry_core::async_trait]
impl TokenStore for LateStore {
    async fn save_tokens(&self, tokens: IssuedTokens) -> Result<(), StorageError> {
        tokio::task::yield_now().await;
        self.0.save_tokens(tokens).await
    }

    async fn find_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError> {
        tokio::task::yield_now().await;
        self.0.find_token(token).await
    }

    async fn rotate_refresh_token(&self, token: TokenDigest, client_id: &str) -> Result<RefreshRotation, StorageError> {
        tokio::task::yield_now().await;
        self.0.rotate_refresh_token(token, client_id).await
    }

    async fn revoke_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError> {
        tokio::task::yield_now().await;
        self.0.revoke_token(token).await
    }

    async fn revoke_family(&self, family: FamilyId) -> Result<(), StorageError> {
        tokio::task::yield_now().await;
        self.0.revoke_family(family).await
    }
}
