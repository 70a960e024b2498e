//! Storage traits, split by concern, and the records they hold.
//!
//! Every method is async, so a database can sit behind it without blocking an async runtime.
//! The engine holds stores as trait objects (`Arc<dyn TokenStore>`), so the traits use
//! [`async_trait`]: implement them with `#[async_trait::async_trait]` on the `impl` and
//! plain `async fn`s. Codes and tokens reach a store only as [`TokenDigest`]s.
//!
//! | trait | concern |
//! |---|---|
//! | [`ClientStore`] | registered clients |
//! | [`AuthorizationCodeStore`] | authorization codes, redeemed atomically |
//! | [`TokenStore`] | access and refresh tokens, grouped in families for revocation |
//! | [`UserStore`] | resource owners (password grant) |

mod memory;
mod records;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;

pub use memory::MemoryStore;
pub use records::{
    Attributes, AuthorizationCodeRecord, CodeRedemption, FamilyId, IssuedTokens, RefreshRotation, StoredCode,
    TokenKind, TokenRecord,
};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore, SweepCounts};

use crate::client::Client;
use crate::secret::TokenDigest;
use std::sync::Arc;

/// A storage backend failed. The engine answers `server_error` and never shows the cause
/// to the client.
#[derive(Debug, thiserror::Error)]
#[error("storage failure: {0}")]
pub struct StorageError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl StorageError {
    /// Wraps a backend error.
    pub fn new(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StorageError(err.into())
    }
}

/// Where registered clients live.
#[async_trait::async_trait]
pub trait ClientStore: Send + Sync {
    /// The client with `client_id`, if registered.
    async fn find_client(&self, client_id: &str) -> Result<Option<Arc<dyn Client>>, StorageError>;
}

/// Where authorization codes live between the authorization and the token request.
#[async_trait::async_trait]
pub trait AuthorizationCodeStore: Send + Sync {
    /// Saves a new code.
    async fn save_code(&self, code: TokenDigest, record: AuthorizationCodeRecord) -> Result<(), StorageError>;

    /// The code as stored, changing nothing: its record while it is live, then who it was
    /// issued to and its family once redeemed (until it expires). The engine checks a code
    /// with this before it redeems it, so a refused request leaves the code as it was.
    async fn find_code(&self, code: TokenDigest) -> Result<Option<StoredCode>, StorageError>;

    /// Redeems a code issued to `client_id`: compare and consume, atomically (in SQL, one
    /// `UPDATE … WHERE digest = $1 AND client_id = $2 AND NOT redeemed`). Of any number of
    /// concurrent calls for one code, exactly one gets [`CodeRedemption::Redeemed`]; the others,
    /// and every later call by its client until the code expires, get
    /// [`CodeRedemption::AlreadyRedeemed`] with the code's family, so the engine can revoke what
    /// the code produced. A call naming another client gets [`CodeRedemption::WrongClient`] and
    /// changes nothing.
    async fn redeem_code(&self, code: TokenDigest, client_id: &str) -> Result<CodeRedemption, StorageError>;
}

/// Where access and refresh tokens live.
///
/// Tokens are grouped in families: all tokens descended from one authorization (one code,
/// one grant with a refresh token, and every refresh of them). Revoking a family is final:
/// tokens saved into a revoked family must never be found afterwards, even if the save races
/// the revocation. A lone access token with nothing to be revoked with belongs to no family.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync {
    /// Saves the tokens of one issuance, into their family if they have one.
    async fn save_tokens(&self, tokens: IssuedTokens) -> Result<(), StorageError>;

    /// The token with this digest, of any kind, unless revoked or rotated out.
    async fn find_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError>;

    /// Retires a refresh token issued to `client_id`, for rotation: compare and consume,
    /// atomically. Of concurrent calls exactly one gets [`RefreshRotation::Rotated`]; the
    /// others, and every later call by its client, get [`RefreshRotation::AlreadyRotated`] with
    /// the family. A call naming another client gets [`RefreshRotation::WrongClient`] and
    /// changes nothing.
    async fn rotate_refresh_token(&self, token: TokenDigest, client_id: &str) -> Result<RefreshRotation, StorageError>;

    /// Revokes one token; returns its record if it existed.
    async fn revoke_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError>;

    /// Revokes every token of a family, now and for any token saved into it later.
    async fn revoke_family(&self, family: FamilyId) -> Result<(), StorageError>;
}

/// Where resource owners are authenticated.
#[async_trait::async_trait]
pub trait UserStore: Send + Sync {
    /// Checks a username and password; returns the user's subject identifier when they match.
    /// Implementations compare in constant time and should keep only password hashes.
    async fn authenticate(&self, username: &str, password: &str) -> Result<Option<String>, StorageError>;

    /// Whether `subject` names a known user (used by grants that assert a user, such as
    /// the JWT bearer grant).
    async fn user_exists(&self, subject: &str) -> Result<bool, StorageError>;
}

/// The stores a server uses, one per concern. One type may serve several (as [`MemoryStore`]
/// serves all four).
#[derive(Clone)]
#[non_exhaustive]
pub struct Storage {
    /// Clients.
    pub clients: Arc<dyn ClientStore>,
    /// Authorization codes.
    pub codes: Arc<dyn AuthorizationCodeStore>,
    /// Tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Users.
    pub users: Arc<dyn UserStore>,
}

impl Storage {
    /// Stores from four (possibly different) backends.
    pub fn new(
        clients: Arc<dyn ClientStore>,
        codes: Arc<dyn AuthorizationCodeStore>,
        tokens: Arc<dyn TokenStore>,
        users: Arc<dyn UserStore>,
    ) -> Self {
        Storage { clients, codes, tokens, users }
    }

    /// One backend serving every concern.
    pub fn single<S>(store: Arc<S>) -> Self
    where
        S: ClientStore + AuthorizationCodeStore + TokenStore + UserStore + 'static,
    {
        Storage { clients: store.clone(), codes: store.clone(), tokens: store.clone(), users: store }
    }
}

impl<S> From<Arc<S>> for Storage
where
    S: ClientStore + AuthorizationCodeStore + TokenStore + UserStore + 'static,
{
    fn from(store: Arc<S>) -> Self {
        Storage::single(store)
    }
}

impl From<MemoryStore> for Storage {
    fn from(store: MemoryStore) -> Self {
        Storage::single(Arc::new(store))
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Storage { .. }")
    }
}
