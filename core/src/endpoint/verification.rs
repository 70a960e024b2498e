//! What a verification page (RFC 8628 §3.3) asks of the engine: the pending authorization a
//! user's code names, and the user's decision on it.

use crate::client::Client;
use crate::client_auth::storage_failure;
use crate::clock::Timestamp;
use crate::context::USER_CODE_PURPOSE;
use crate::error::OAuthError;
use crate::scope::Scope;
use crate::server::AuthorizationServer;
use crate::storage::{PendingDecision, PendingState, ReplayKey};
use crate::throttle::{CredentialCheck, LoginError};
use std::sync::Arc;

/// A pending authorization as the user who typed its code is shown it: which client asks for
/// which scope. Only [`AuthorizationServer::find_pending`] makes one, so a decision
/// ([`AuthorizationServer::decide_pending`]) always follows a throttled lookup.
#[derive(Clone)]
#[non_exhaustive]
pub struct PendingView {
    /// The client asking.
    pub client: Arc<dyn Client>,
    /// The scope it asks for.
    pub scope: Scope,
    /// When the request expires.
    pub expires_at: Timestamp,
    user_code: ReplayKey,
}

impl std::fmt::Debug for PendingView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingView")
            .field("client_id", &self.client.client_id())
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl AuthorizationServer {
    /// The undecided, unexpired pending authorization whose user code is `user_code` (in the
    /// grant's canonical form), or `None`. Every lookup passes through the
    /// [`LoginThrottle`](crate::throttle::LoginThrottle) as a
    /// [`CredentialCheck::UserCode`] of `attempt_key` (the caller's address, say), so user codes
    /// cannot be guessed by trying them (RFC 8628 §5.1): a miss is a failure. A hit is not
    /// reported as a success, which would clear the count: an attacker who holds one valid code
    /// (of a flow they started) could otherwise reset it between guesses.
    pub async fn find_pending(&self, user_code: &str, attempt_key: &str) -> Result<Option<PendingView>, LoginError> {
        let check = CredentialCheck::UserCode;
        let now = self.config.clock().now();
        let watched = self.throttle.watches(check);
        if watched {
            self.throttle.admit(check, attempt_key, now).await?;
        }
        let key = ReplayKey::new(USER_CODE_PURPOSE, &[user_code]);
        let record = self.storage.pending.find_pending(key).await?;
        let record = record.filter(|r| r.state == PendingState::Pending && now < r.expires_at);
        let client = match &record {
            Some(record) => self.storage.clients.find_client(&record.client_id).await?,
            None => None,
        };
        if watched && client.is_none() {
            self.throttle.record(check, attempt_key, false, now).await;
        }
        Ok(record.zip(client).map(|(record, client)| PendingView {
            client,
            scope: record.scope,
            expires_at: record.expires_at,
            user_code: key,
        }))
    }

    /// Records the user's decision on the pending authorization `pending` (found with
    /// [`find_pending`](Self::find_pending)): whether it was recorded (`false` when it expired
    /// or was decided since: a decision is made once, whatever the concurrency).
    pub async fn decide_pending(&self, pending: &PendingView, decision: PendingDecision) -> Result<bool, OAuthError> {
        let now = self.config.clock().now();
        self.storage.pending.decide_pending(pending.user_code, decision, now).await.map_err(storage_failure)
    }
}
