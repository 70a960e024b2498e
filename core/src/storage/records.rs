//! The records stores keep for codes, tokens and single-use keys.

use crate::clock::Timestamp;
use crate::grant_type::GrantType;
use crate::scope::Scope;
use crate::secret::TokenDigest;
use sha2::Digest as _;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Data a grant or extension attaches to a code or token (for example the PKCE challenge),
/// carried from the authorization request to the token request. Names and values known at
/// compile time are kept without copying.
pub type Attributes = BTreeMap<Cow<'static, str>, Cow<'static, str>>;

/// Identifies a token family: everything descended from one authorization.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FamilyId([u8; 16]);

impl FamilyId {
    /// A fresh random family id.
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        FamilyId(bytes)
    }

    /// A family id read back from storage.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        FamilyId(bytes)
    }

    /// The id bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FamilyId(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// What an authorization code stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCodeRecord {
    /// The client the code was issued to.
    pub client_id: Arc<str>,
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// Whether the authorization request named the redirect URI (then the token request must
    /// repeat it, RFC 6749 §4.1.3).
    pub redirect_uri_given: bool,
    /// The resource owner who approved.
    pub subject: Arc<str>,
    /// The scope granted.
    pub scope: Scope,
    /// The scope the client asked for, if it asked.
    pub requested_scope: Option<Scope>,
    /// When the code expires.
    pub expires_at: Timestamp,
    /// The family of the tokens this code will produce.
    pub family: FamilyId,
    /// Data attached by the grant and its extensions.
    pub attributes: Attributes,
}

/// A code as [`AuthorizationCodeStore::find_code`](super::AuthorizationCodeStore::find_code)
/// finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoredCode {
    /// Not redeemed yet.
    Live(AuthorizationCodeRecord),
    /// Redeemed: only what a replay needs is kept.
    Redeemed {
        /// The client it was issued to.
        client_id: Arc<str>,
        /// The family of the tokens issued from it.
        family: FamilyId,
    },
}

/// The outcome of [`AuthorizationCodeStore::redeem_code`](super::AuthorizationCodeStore::redeem_code).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeRedemption {
    /// First redemption: the code is now used.
    Redeemed,
    /// The code was redeemed before, by its own client: a replay.
    AlreadyRedeemed {
        /// The family of the tokens issued from the code.
        family: FamilyId,
    },
    /// The code was issued to another client: nothing changed.
    WrongClient,
    /// No such code (or it expired and was purged).
    NotFound,
}

/// An access token or a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

/// What a token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Access or refresh.
    pub kind: TokenKind,
    /// The client the token was issued to (shared: see [`Client::shared_client_id`](crate::Client::shared_client_id)).
    pub client_id: Arc<str>,
    /// The resource owner, if the token acts for one.
    pub subject: Option<Arc<str>>,
    /// The granted scope.
    pub scope: Scope,
    /// The grant type that issued the token.
    pub grant_type: GrantType,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it expires, if ever.
    pub expires_at: Option<Timestamp>,
    /// Its family, if it has one: tokens descended from a code or in a refresh chain do; a
    /// lone access token (client credentials, implicit) has none, as nothing else could be
    /// revoked with it.
    pub family: Option<FamilyId>,
    /// Data attached by the grant and its extensions.
    pub attributes: Attributes,
}

impl TokenRecord {
    /// Whether the token has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|exp| now >= exp)
    }
}

/// The tokens of one issuance, saved together: an access token and, if one was issued, a
/// refresh token. Both records carry the same family (`None` for a lone access token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    /// The access token's digest and record.
    pub access: (TokenDigest, TokenRecord),
    /// The refresh token's digest and record, if one was issued.
    pub refresh: Option<(TokenDigest, TokenRecord)>,
}

impl IssuedTokens {
    /// The family the tokens belong to, if any.
    pub fn family(&self) -> Option<FamilyId> {
        self.access.1.family
    }
}

impl IntoIterator for IssuedTokens {
    type Item = (TokenDigest, TokenRecord);
    type IntoIter = std::iter::Chain<std::iter::Once<Self::Item>, std::option::IntoIter<Self::Item>>;

    /// The access token, then the refresh token if there is one.
    fn into_iter(self) -> Self::IntoIter {
        std::iter::once(self.access).chain(self.refresh)
    }
}

/// The outcome of [`TokenStore::rotate_refresh_token`](super::TokenStore::rotate_refresh_token).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshRotation {
    /// First use: the refresh token is now retired. (The grant read its record before, with
    /// [`find_token`](super::TokenStore::find_token), to check it; nothing is copied twice.)
    Rotated,
    /// The refresh token was already rotated out, and is presented by its own client: a replay.
    AlreadyRotated {
        /// Its family (always present for tokens the engine issued).
        family: Option<FamilyId>,
    },
    /// The refresh token was issued to another client: nothing changed.
    WrongClient,
    /// No such refresh token.
    NotFound,
}

/// The key of a single-use record in a [`ReplayStore`](super::ReplayStore): a SHA-256 digest of
/// what is used once (a consent form's id, a JWT assertion's issuer and `jti`), so a store
/// holds no value that could be presented again.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplayKey([u8; 32]);

impl ReplayKey {
    /// The key of `parts` for `purpose` (such as `"jwt-assertion"` or `"consent-form"`).
    ///
    /// Every string is digested with its length before it, so two different lists never share
    /// a key, and the keys of one purpose never meet another's.
    pub fn new(purpose: &str, parts: &[&str]) -> Self {
        let mut digest = sha2::Sha256::new();
        for part in std::iter::once(purpose).chain(parts.iter().copied()) {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        ReplayKey(digest.finalize().into())
    }

    /// Wraps key bytes read back from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ReplayKey(bytes)
    }

    /// The key's bytes, which a store keys its records by.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The first bytes only: enough to tell keys apart in a test's output.
impl fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplayKey({:02x}{:02x}{:02x}{:02x}…)", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

/// What [`ReplayStore::record_use`](super::ReplayStore::record_use) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FirstUse {
    /// The first use: the key is now recorded.
    First,
    /// The key was recorded before and has not expired: a replay, to refuse.
    AlreadyUsed,
    /// The store holds as many unexpired records as it may and cannot record another. The use
    /// must be refused (single use holds); one after records expire may succeed. Only a store
    /// with a fixed capacity, such as [`MemoryStore`](super::MemoryStore), answers this.
    Full,
}

/// Failed credential checks of one key (a username) in the current window of a
/// [`FailureStore`](super::FailureStore).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    /// Failures since the window opened.
    pub count: u32,
    /// When the window opened: the time of its first failure.
    pub since: Timestamp,
}

/// A pending authorization: a code the engine minted at a grant's own endpoint (the device
/// code of RFC 8628 §3.2), which its client polls with at the token endpoint while a user
/// approves or denies it elsewhere, by its user code. The store keys it by the digest of the
/// code and finds it by a digest of the user code ([`ReplayKey`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRecord {
    /// The client it was issued to.
    pub client_id: Arc<str>,
    /// The grant type it is redeemed with.
    pub grant_type: GrantType,
    /// The scope the user is asked to approve.
    pub scope: Scope,
    /// The scope the client asked for, if it asked.
    pub requested_scope: Option<Scope>,
    /// When it expires.
    pub expires_at: Timestamp,
    /// The polling interval in seconds, grown by every poll that came too early.
    pub interval: u64,
    /// The earliest time of the next poll that is not too early.
    pub next_poll_at: Timestamp,
    /// What the user decided so far.
    pub state: PendingState,
}

impl PendingRecord {
    /// A poll by `client_id` at `now`, as every store answers it (RFC 8628 §3.5). Another
    /// client's poll changes nothing: [`PendingPoll::WrongClient`]. Otherwise the next poll is
    /// due an interval from now, and a poll of a still pending one before `next_poll_at` first
    /// lengthens the interval by [`SLOW_DOWN_SECONDS`] and is answered [`PendingPoll::SlowDown`];
    /// a poll in time is answered with the record as polled. A store that keeps records in
    /// memory applies it under its lock; a SQL store applies it to the row it read in its
    /// transaction, and writes `interval` and `next_poll_at` back unless the answer is
    /// `WrongClient`.
    pub fn poll(&mut self, client_id: &str, now: Timestamp) -> PendingPoll {
        if *self.client_id != *client_id {
            return PendingPoll::WrongClient;
        }
        let early = self.state == PendingState::Pending && now < self.next_poll_at;
        if early {
            self.interval = self.interval.saturating_add(SLOW_DOWN_SECONDS);
        }
        self.next_poll_at = now.saturating_add(self.interval);
        if early { PendingPoll::SlowDown } else { PendingPoll::Polled(self.clone()) }
    }

    /// Records the user's `decision` at `now`, as every store does: only while the state is
    /// [`PendingState::Pending`] and `now < expires_at`. Returns whether it was recorded.
    pub fn decide(&mut self, decision: PendingDecision, now: Timestamp) -> bool {
        if self.state != PendingState::Pending || now >= self.expires_at {
            return false;
        }
        self.state = match decision {
            PendingDecision::Approve(subject) => PendingState::Approved { subject },
            PendingDecision::Deny => PendingState::Denied,
        };
        true
    }
}

/// Where a pending authorization stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PendingState {
    /// The user has not decided yet.
    Pending,
    /// The user approved: the tokens are for `subject`.
    Approved {
        /// The resource owner who approved.
        subject: Arc<str>,
    },
    /// The user denied.
    Denied,
    /// Tokens were issued from it: it is spent.
    Used,
}

/// A user's decision on a pending authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PendingDecision {
    /// Approved by the resource owner `subject`.
    Approve(Arc<str>),
    /// Denied.
    Deny,
}

/// What [`PendingAuthorizationStore::poll_pending`](super::PendingAuthorizationStore::poll_pending)
/// found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PendingPoll {
    /// No such code (or it expired and was swept).
    NotFound,
    /// The code was issued to another client: nothing changed.
    WrongClient,
    /// Still pending and polled before `next_poll_at`: the interval grew by
    /// [`SLOW_DOWN_SECONDS`] (RFC 8628 §3.5).
    SlowDown,
    /// Polled in time: the record as it stands (the next poll is due an interval from now).
    Polled(PendingRecord),
}

/// By how much a poll that came too early lengthens the interval (RFC 8628 §3.5: "the interval
/// MUST be increased by 5 seconds for this and all subsequent requests").
pub const SLOW_DOWN_SECONDS: u64 = 5;

/// What [`PendingAuthorizationStore::consume_pending`](super::PendingAuthorizationStore::consume_pending)
/// did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PendingConsumption {
    /// It was approved and is now spent: this call issues the tokens.
    Consumed,
    /// It was spent before (another request won).
    AlreadyUsed,
    /// Not approved, another client's, or not found: nothing changed.
    NotApproved,
}
