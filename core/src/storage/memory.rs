//! An in-memory store implementing every storage trait, safe under concurrent use.
//!
//! Codes and tokens sit in sharded maps keyed by their digest, so concurrent requests
//! contend only when they touch the same shard. A shard drops its expired entries when it
//! fills, before it would grow.

use super::records::{
    AuthorizationCodeRecord, CodeRedemption, FamilyId, FirstUse, IssuedTokens, PendingConsumption, PendingDecision,
    PendingPoll, PendingRecord, PendingState, RefreshRotation, ReplayKey, StoredCode, TokenKind, TokenRecord,
};
use super::{
    AuthorizationCodeStore, ClientStore, PendingAuthorizationStore, ReplayStore, StorageError, TokenStore, UserStore,
};
use crate::client::{Client, ClientConfigError, ClientRecord};
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::secret::{TokenDigest, constant_time_eq};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

/// Many small shards: a shard's map is locked while it grows, and a small map grows quickly,
/// so a resize stalls few requests, briefly.
const SHARDS: usize = 256;

trait ShardKey: Hash + Eq {
    fn shard(&self) -> usize;
}

impl ShardKey for TokenDigest {
    fn shard(&self) -> usize {
        usize::from(self.as_bytes()[31]) % SHARDS
    }
}

impl ShardKey for ReplayKey {
    fn shard(&self) -> usize {
        usize::from(self.as_bytes()[31]) % SHARDS
    }
}

impl ShardKey for FamilyId {
    fn shard(&self) -> usize {
        usize::from(self.as_bytes()[15]) % SHARDS
    }
}

/// An entry the store may drop once it has expired.
trait Expiring {
    /// When the entry expires: it is dropped by a sweep at this time or later.
    /// `Timestamp::MAX` for never.
    fn expires_at(&self) -> Timestamp;

    /// Whether the entry has not expired at `now`: a sweep at `now` keeps it.
    fn live_at(&self, now: Timestamp) -> bool {
        self.expires_at() > now
    }
}

/// One shard: its map, and how soon an entry of it can expire.
///
/// Expired entries are dropped when the map is full, just before it would grow. The sweep
/// then reads every entry, but it comes once per growth of the map, so its cost per insert
/// stays constant however many entries the store holds, where sweeping on a fixed count of
/// saves would read more entries per save the bigger the store.
struct Shard<K, V> {
    map: HashMap<K, V>,
    /// No entry expires before this: a lower bound (entries removed or extended since may
    /// expire later), so a full map whose entries cannot have expired grows without a sweep.
    earliest: Timestamp,
}

impl<K: Hash + Eq, V: Expiring> Shard<K, V> {
    fn new() -> Self {
        Shard { map: HashMap::new(), earliest: Timestamp::MAX }
    }

    /// Inserts `value` under `key`, replacing any entry there.
    fn insert(&mut self, key: K, value: V, clock: &dyn Clock) {
        self.make_room(clock);
        self.earliest = self.earliest.min(value.expires_at());
        self.map.insert(key, value);
    }

    /// The entry under `key`, made by `make` if there is none.
    ///
    /// The caller may extend the entry's expiry; it must not bring it forward.
    fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V, clock: &dyn Clock) -> &mut V {
        if self.is_full() && !self.map.contains_key(&key) {
            self.make_room(clock);
        }
        let earliest = &mut self.earliest;
        self.map.entry(key).or_insert_with(|| {
            let value = make();
            *earliest = (*earliest).min(value.expires_at());
            value
        })
    }

    /// Whether the next insert of a new key would grow the map.
    fn is_full(&self) -> bool {
        self.map.len() >= self.map.capacity()
    }

    /// Before an insert: when the map is full (the insert would grow it) and an entry may have
    /// expired, drops the expired entries. If that frees less than an eighth of the map, it
    /// grows now, so a map kept nearly full by live entries is not swept after every few
    /// inserts.
    fn make_room(&mut self, clock: &dyn Clock) {
        if !self.is_full() {
            return;
        }
        let now = clock.now();
        if self.earliest <= now {
            self.sweep(now);
            self.map.reserve(self.map.capacity() / 8);
        }
    }

    /// Drops the entries expired at `now`.
    fn sweep(&mut self, now: Timestamp) {
        let mut earliest = Timestamp::MAX;
        self.map.retain(|_, value| {
            let keep = value.live_at(now);
            if keep {
                earliest = earliest.min(value.expires_at());
            }
            keep
        });
        self.earliest = earliest;
    }
}

struct Sharded<K, V> {
    shards: Vec<Mutex<Shard<K, V>>>,
}

impl<K: ShardKey, V: Expiring> Sharded<K, V> {
    fn new() -> Self {
        Sharded { shards: (0..SHARDS).map(|_| Mutex::new(Shard::new())).collect() }
    }

    /// Locks the shard holding `key`. A poisoned lock still guards consistent data (every
    /// critical section here is a single map operation), so poisoning is not propagated.
    fn lock(&self, key: &K) -> MutexGuard<'_, Shard<K, V>> {
        self.lock_index(key.shard())
    }

    fn lock_index(&self, index: usize) -> MutexGuard<'_, Shard<K, V>> {
        self.shards[index].lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        (0..SHARDS).map(|i| self.lock_index(i).map.len()).sum()
    }

    /// Drops every shard's entries expired at `now`.
    fn sweep(&self, now: Timestamp) {
        for index in 0..SHARDS {
            self.lock_index(index).sweep(now);
        }
    }
}

/// A code: its record until it is redeemed, then only what replay detection needs.
enum CodeSlot {
    Live(AuthorizationCodeRecord),
    Redeemed { client_id: Arc<str>, family: FamilyId, expires_at: Timestamp },
}

impl CodeSlot {
    fn client_id(&self) -> &str {
        match self {
            CodeSlot::Live(record) => &record.client_id,
            CodeSlot::Redeemed { client_id, .. } => client_id,
        }
    }
}

impl Expiring for CodeSlot {
    fn expires_at(&self) -> Timestamp {
        match self {
            CodeSlot::Live(record) => record.expires_at,
            CodeSlot::Redeemed { expires_at, .. } => *expires_at,
        }
    }
}

/// A token as the store keeps it: its record, and whether rotation retired it (a retired
/// refresh token is kept to detect a replay, and never returned by lookups).
struct StoredToken {
    record: TokenRecord,
    retired: bool,
}

impl Expiring for StoredToken {
    fn expires_at(&self) -> Timestamp {
        self.record.expires_at.unwrap_or(Timestamp::MAX)
    }
}

/// A single-use record: the first second at which it is forgotten (one past the last second
/// its thing can be presented).
struct UsedUntil(Timestamp);

impl Expiring for UsedUntil {
    fn expires_at(&self) -> Timestamp {
        self.0
    }
}

#[derive(Default)]
struct FamilyEntry {
    revoked: bool,
    tokens: Vec<TokenDigest>,
    /// When the family's last code or token expires.
    latest_expiry: Timestamp,
    /// Whether one of its tokens never expires.
    unbounded: bool,
}

impl FamilyEntry {
    /// A family whose last code or token expires at `expires_at` (`None`: never).
    fn until(expires_at: Option<Timestamp>) -> Self {
        let mut entry = FamilyEntry::default();
        entry.extend_to(expires_at);
        entry
    }

    fn extend_to(&mut self, expires_at: Option<Timestamp>) {
        match expires_at {
            Some(at) => self.latest_expiry = self.latest_expiry.max(at),
            None => self.unbounded = true,
        }
    }
}

/// A revoked family is kept until its tokens would have expired, so a save that races the
/// revocation still finds it revoked.
impl Expiring for FamilyEntry {
    fn expires_at(&self) -> Timestamp {
        if self.unbounded { Timestamp::MAX } else { self.latest_expiry }
    }
}

struct User {
    subject: String,
    password_digest: [u8; 32],
}

/// An in-memory implementation of every storage trait.
///
/// ```
/// use grantry_core::{ClientRecord, MemoryStore};
/// let store = MemoryStore::new();
/// store.add_client(ClientRecord::confidential("svc", "svc-secret")).unwrap();
/// store.add_user("alice", "wonderland");
/// ```
pub struct MemoryStore {
    clients: RwLock<HashMap<String, Arc<dyn Client>>>,
    users: RwLock<HashMap<String, User>>,
    codes: Sharded<TokenDigest, CodeSlot>,
    tokens: Sharded<TokenDigest, StoredToken>,
    families: Sharded<FamilyId, FamilyEntry>,
    replays: Sharded<ReplayKey, UsedUntil>,
    /// The most unexpired single-use records a shard holds.
    replays_per_shard: usize,
    /// Pending authorizations: few (each needs a request of a client allowed the device grant),
    /// so one lock.
    pending: Mutex<Pendings>,
    /// The most unexpired pending authorizations the store holds.
    pending_capacity: usize,
    clock: Arc<dyn Clock>,
}

/// Pending authorizations by the digest of their code, and that digest by their user code.
#[derive(Default)]
struct Pendings {
    by_code: HashMap<TokenDigest, (ReplayKey, PendingRecord)>,
    by_user_code: HashMap<ReplayKey, TokenDigest>,
}

impl Pendings {
    fn sweep(&mut self, now: Timestamp) {
        let by_user_code = &mut self.by_user_code;
        self.by_code.retain(|_, (user_code, record)| {
            let live = record.expires_at > now;
            if !live {
                by_user_code.remove(user_code);
            }
            live
        });
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").field("codes", &self.codes.len()).field("tokens", &self.tokens.len()).finish()
    }
}

impl MemoryStore {
    /// How many unexpired single-use records ([`ReplayStore`]) a store holds at most, unless
    /// [`with_replay_capacity`](Self::with_replay_capacity) says otherwise: with consent forms
    /// valid for 10 minutes, over 1,700 submissions a second sustained, in about 50 MB at most.
    pub const DEFAULT_REPLAY_CAPACITY: usize = 1 << 20;

    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty store whose expiry sweeps use `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        MemoryStore {
            clients: RwLock::default(),
            users: RwLock::default(),
            codes: Sharded::new(),
            tokens: Sharded::new(),
            families: Sharded::new(),
            replays: Sharded::new(),
            replays_per_shard: Self::DEFAULT_REPLAY_CAPACITY / SHARDS,
            pending: Mutex::default(),
            pending_capacity: Self::DEFAULT_PENDING_CAPACITY,
            clock,
        }
    }

    /// How many unexpired pending authorizations (device codes) a store holds at most, unless
    /// [`with_pending_capacity`](Self::with_pending_capacity) says otherwise: a public client may
    /// start them without credentials, so their memory is bounded (about 40 MB at most); at
    /// 600 s a device code, over 200 new ones a second sustained.
    pub const DEFAULT_PENDING_CAPACITY: usize = 1 << 17;

    /// Sets how many unexpired pending authorizations the store holds at most; a save beyond
    /// them is refused (`false`) until some expire.
    pub fn with_pending_capacity(mut self, records: usize) -> Self {
        self.pending_capacity = records;
        self
    }

    /// Sets how many unexpired single-use records the store holds at most (spread over its
    /// shards, so a shard may refuse a little before the whole is full).
    pub fn with_replay_capacity(mut self, records: usize) -> Self {
        self.replays_per_shard = records.div_ceil(SHARDS);
        self
    }

    /// Registers a client record after validating it. A second client with the same id is
    /// refused.
    pub fn add_client(&self, client: ClientRecord) -> Result<(), AddClientError> {
        client.validate()?;
        self.insert_client(Arc::new(client.for_storage()))
    }

    /// Registers any [`Client`] implementation.
    pub fn insert_client(&self, client: Arc<dyn Client>) -> Result<(), AddClientError> {
        let mut clients = self.clients.write().unwrap_or_else(PoisonError::into_inner);
        let id = client.client_id().to_owned();
        if clients.contains_key(&id) {
            return Err(AddClientError::Duplicate(id));
        }
        clients.insert(id, client);
        Ok(())
    }

    /// Adds a user whose subject is the username. Only a SHA-256 digest of the password is
    /// kept; a production user store should use a password hash (argon2, scrypt).
    pub fn add_user(&self, username: &str, password: &str) {
        let user = User { subject: username.to_owned(), password_digest: Sha256::digest(password.as_bytes()).into() };
        self.users.write().unwrap_or_else(PoisonError::into_inner).insert(username.to_owned(), user);
    }

    /// How many codes and tokens (live, redeemed or retired) the store holds.
    pub fn len(&self) -> (usize, usize) {
        (self.codes.len(), self.tokens.len())
    }

    /// Whether the store holds no code and no token.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }

    fn insert_token(&self, digest: TokenDigest, record: TokenRecord) {
        self.tokens.lock(&digest).insert(digest, StoredToken { record, retired: false }, &*self.clock);
    }

    /// Lists `digest` among its family's tokens, for the family's revocation to find.
    ///
    /// Rotation keeps a family alive as long as its client refreshes, so the list would
    /// otherwise grow by every token the family was ever issued. When the list is full, it
    /// first drops the tokens the store no longer holds live (expired, revoked or swept): a
    /// revocation has nothing left to do to them. It then keeps room for as many again, so
    /// the lookups cost at most a few per save however long the family lives.
    fn add_to_family(&self, family: &mut FamilyEntry, digest: TokenDigest) {
        let tokens = &mut family.tokens;
        if !tokens.is_empty() && tokens.len() == tokens.capacity() {
            let now = self.clock.now();
            tokens.retain(|held| self.tokens.lock(held).map.get(held).is_some_and(|stored| stored.live_at(now)));
            // Room for as many again (at least 4), in at most four times that: one
            // reallocation at most, where shrinking then reserving could make two.
            let room = tokens.len().max(4);
            tokens.reserve(room);
            tokens.shrink_to(4 * room);
        }
        tokens.push(digest);
    }

    /// Drops expired codes and tokens, and families with nothing left to protect.
    ///
    /// The store does this on its own, a shard at a time, when a shard fills; a call frees
    /// the memory of what has expired at once.
    pub fn sweep(&self, now: Timestamp) {
        self.codes.sweep(now);
        self.tokens.sweep(now);
        self.families.sweep(now);
        self.replays.sweep(now);
        self.lock_pending().sweep(now);
    }

    fn lock_pending(&self) -> MutexGuard<'_, Pendings> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why a client could not be added to a [`MemoryStore`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddClientError {
    /// The registration is invalid.
    #[error(transparent)]
    Invalid(#[from] ClientConfigError),
    /// A client with this id exists.
    #[error("duplicate client_id {0:?}")]
    Duplicate(String),
}

#[async_trait::async_trait]
impl ClientStore for MemoryStore {
    async fn find_client(&self, client_id: &str) -> Result<Option<Arc<dyn Client>>, StorageError> {
        Ok(self.clients.read().unwrap_or_else(PoisonError::into_inner).get(client_id).cloned())
    }
}

#[async_trait::async_trait]
impl AuthorizationCodeStore for MemoryStore {
    async fn save_code(&self, code: TokenDigest, record: AuthorizationCodeRecord) -> Result<(), StorageError> {
        // The family is created with the code, so a replay that revokes it before any token
        // is saved still revokes the tokens saved afterwards.
        let expires_at = Some(record.expires_at);
        let clock = &*self.clock;
        self.families
            .lock(&record.family)
            .get_or_insert_with(record.family, || FamilyEntry::until(expires_at), clock)
            .extend_to(expires_at);
        self.codes.lock(&code).insert(code, CodeSlot::Live(record), clock);
        Ok(())
    }

    async fn find_code(&self, code: TokenDigest) -> Result<Option<StoredCode>, StorageError> {
        let found = self.codes.lock(&code).map.get(&code).map(|slot| match slot {
            CodeSlot::Live(record) => StoredCode::Live(record.clone()),
            CodeSlot::Redeemed { client_id, family, .. } => {
                StoredCode::Redeemed { client_id: client_id.clone(), family: *family }
            }
        });
        Ok(found)
    }

    async fn redeem_code(&self, code: TokenDigest, client_id: &str) -> Result<CodeRedemption, StorageError> {
        let mut codes = self.codes.lock(&code);
        let outcome = match codes.map.get_mut(&code) {
            None => CodeRedemption::NotFound,
            Some(slot) if slot.client_id() != client_id => CodeRedemption::WrongClient,
            Some(CodeSlot::Redeemed { family, .. }) => CodeRedemption::AlreadyRedeemed { family: *family },
            Some(slot) => {
                // Only what a replay needs stays.
                if let CodeSlot::Live(record) = slot {
                    let marker = CodeSlot::Redeemed {
                        client_id: record.client_id.clone(),
                        family: record.family,
                        expires_at: record.expires_at,
                    };
                    *slot = marker;
                }
                CodeRedemption::Redeemed
            }
        };
        Ok(outcome)
    }
}

#[async_trait::async_trait]
impl TokenStore for MemoryStore {
    async fn save_tokens(&self, tokens: IssuedTokens) -> Result<(), StorageError> {
        // The two records are taken apart rather than iterated: each is moved once, straight
        // into its slot. The family's lock is held across the inserts, so a save that races
        // the family's revocation either lands before it (and is revoked) or finds it revoked.
        let IssuedTokens { access: (digest, record), refresh } = tokens;
        let family = record.family;
        let mut families = family.map(|family| self.families.lock(&family));
        let expires_at = record.expires_at;
        let mut entry = families.as_mut().zip(family).map(|(families, family)| {
            families.get_or_insert_with(family, || FamilyEntry::until(expires_at), &*self.clock)
        });
        if !entry.as_ref().is_some_and(|entry| entry.revoked) {
            let mut save = |digest: TokenDigest, record: TokenRecord| {
                if let Some(entry) = entry.as_mut() {
                    entry.extend_to(record.expires_at);
                    self.add_to_family(entry, digest);
                }
                self.insert_token(digest, record);
            };
            save(digest, record);
            if let Some((digest, record)) = refresh {
                save(digest, record);
            }
        }
        drop(families);
        Ok(())
    }

    async fn find_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError> {
        let tokens = self.tokens.lock(&token);
        let found = tokens.map.get(&token).filter(|stored| !stored.retired).map(|stored| stored.record.clone());
        Ok(found)
    }

    async fn rotate_refresh_token(&self, token: TokenDigest, client_id: &str) -> Result<RefreshRotation, StorageError> {
        let mut tokens = self.tokens.lock(&token);
        let outcome = match tokens.map.get_mut(&token) {
            Some(stored) if stored.record.kind == TokenKind::Refresh && *stored.record.client_id != *client_id => {
                RefreshRotation::WrongClient
            }
            Some(stored) if stored.record.kind == TokenKind::Refresh => {
                if stored.retired {
                    RefreshRotation::AlreadyRotated { family: stored.record.family }
                } else {
                    stored.retired = true;
                    RefreshRotation::Rotated
                }
            }
            _ => RefreshRotation::NotFound,
        };
        Ok(outcome)
    }

    async fn revoke_token(&self, token: TokenDigest) -> Result<Option<TokenRecord>, StorageError> {
        let removed = self.tokens.lock(&token).map.remove(&token).map(|stored| stored.record);
        Ok(removed)
    }

    async fn revoke_family(&self, family: FamilyId) -> Result<(), StorageError> {
        let mut families = self.families.lock(&family);
        let entry = families.get_or_insert_with(family, FamilyEntry::default, &*self.clock);
        entry.revoked = true;
        for digest in std::mem::take(&mut entry.tokens) {
            self.tokens.lock(&digest).map.remove(&digest);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl UserStore for MemoryStore {
    async fn authenticate(&self, username: &str, password: &str) -> Result<Option<String>, StorageError> {
        let presented: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        let subject = users
            .get(username)
            .filter(|user| constant_time_eq(&user.password_digest, &presented))
            .map(|user| user.subject.clone());
        Ok(subject)
    }

    async fn user_exists(&self, subject: &str) -> Result<bool, StorageError> {
        let users = self.users.read().unwrap_or_else(PoisonError::into_inner);
        // Subjects are usernames in this store.
        Ok(users.contains_key(subject))
    }
}

#[async_trait::async_trait]
impl ReplayStore for MemoryStore {
    async fn record_use(
        &self,
        key: ReplayKey,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<FirstUse, StorageError> {
        let mut shard = self.replays.lock(&key);
        match shard.map.get(&key) {
            Some(used) if used.live_at(now) => return Ok(FirstUse::AlreadyUsed),
            Some(_) => {}
            None if shard.map.len() >= self.replays_per_shard => {
                shard.sweep(now);
                if shard.map.len() >= self.replays_per_shard {
                    return Ok(FirstUse::Full);
                }
            }
            None => {}
        }
        shard.insert(key, UsedUntil(expires_at.saturating_add(1)), &*self.clock);
        Ok(FirstUse::First)
    }
}

#[async_trait::async_trait]
impl PendingAuthorizationStore for MemoryStore {
    async fn save_pending(
        &self,
        code: TokenDigest,
        user_code: ReplayKey,
        record: PendingRecord,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        let mut pending = self.lock_pending();
        if pending.by_code.len() >= pending.by_code.capacity() || pending.by_code.len() >= self.pending_capacity {
            pending.sweep(now);
        }
        if pending.by_code.len() >= self.pending_capacity {
            return Ok(false);
        }
        if let Some(taken) = pending.by_user_code.get(&user_code).copied() {
            match pending.by_code.get(&taken) {
                Some((_, live)) if live.expires_at > now => return Ok(false),
                _ => {
                    pending.by_code.remove(&taken);
                }
            }
        }
        pending.by_user_code.insert(user_code, code);
        pending.by_code.insert(code, (user_code, record));
        Ok(true)
    }

    async fn find_pending(&self, user_code: ReplayKey) -> Result<Option<PendingRecord>, StorageError> {
        let pending = self.lock_pending();
        let code = pending.by_user_code.get(&user_code);
        Ok(code.and_then(|code| pending.by_code.get(code)).map(|(_, record)| record.clone()))
    }

    async fn decide_pending(
        &self,
        user_code: ReplayKey,
        decision: PendingDecision,
        now: Timestamp,
    ) -> Result<bool, StorageError> {
        let mut pending = self.lock_pending();
        let Some(code) = pending.by_user_code.get(&user_code).copied() else { return Ok(false) };
        let Some((_, record)) = pending.by_code.get_mut(&code) else { return Ok(false) };
        Ok(record.decide(decision, now))
    }

    async fn poll_pending(
        &self,
        code: TokenDigest,
        client_id: &str,
        now: Timestamp,
    ) -> Result<PendingPoll, StorageError> {
        let mut pending = self.lock_pending();
        let Some((_, record)) = pending.by_code.get_mut(&code) else { return Ok(PendingPoll::NotFound) };
        Ok(record.poll(client_id, now))
    }

    async fn consume_pending(&self, code: TokenDigest, client_id: &str) -> Result<PendingConsumption, StorageError> {
        let mut pending = self.lock_pending();
        let Some((_, record)) = pending.by_code.get_mut(&code) else { return Ok(PendingConsumption::NotApproved) };
        match record.state {
            _ if *record.client_id != *client_id => Ok(PendingConsumption::NotApproved),
            PendingState::Approved { .. } => {
                record.state = PendingState::Used;
                Ok(PendingConsumption::Consumed)
            }
            PendingState::Used => Ok(PendingConsumption::AlreadyUsed),
            _ => Ok(PendingConsumption::NotApproved),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::grant_type::GrantType;
    use crate::scope::Scope;
    use crate::storage::Attributes;
    use crate::token::{CredentialKind, RandomTokenGenerator, TokenGenerator};
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    /// The answer of a store call that completes at its first poll, as the memory store's do.
    fn answered<T>(call: impl std::future::Future<Output = T>) -> Result<T, ()> {
        let mut call = std::pin::pin!(call);
        match call.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(value) => Ok(value),
            std::task::Poll::Pending => Err(()),
        }
    }

    #[test]
    fn single_use_records_are_bounded_and_a_full_store_refuses_rather_than_forgets() {
        let store = MemoryStore::new().with_replay_capacity(SHARDS); // one record a shard
        let keys: Vec<ReplayKey> = (0..)
            .map(|i: u32| ReplayKey::new("test", &[&i.to_string()]))
            .filter(|key| key.shard() == 0)
            .take(2)
            .collect();
        let record = |key, now: Timestamp| answered(store.record_use(key, now + 90, now)).unwrap().unwrap();
        assert_eq!(record(keys[0], 10), FirstUse::First);
        assert_eq!(record(keys[1], 10), FirstUse::Full, "the shard is full of live records");
        assert_eq!(record(keys[0], 10), FirstUse::AlreadyUsed, "a full store still knows its records");
        // Once the first expires, its room is taken back.
        assert_eq!(record(keys[1], 101), FirstUse::First);
        assert_eq!(record(keys[1], 102), FirstUse::AlreadyUsed);
    }

    fn access_token(expires_at: Timestamp) -> (TokenDigest, TokenRecord) {
        let digest = TokenDigest::of(&RandomTokenGenerator.generate(CredentialKind::AccessToken));
        let record = TokenRecord {
            kind: TokenKind::Access,
            client_id: Arc::from("svc"),
            subject: None,
            scope: Scope::default(),
            grant_type: GrantType::CLIENT_CREDENTIALS,
            issued_at: 0,
            expires_at: Some(expires_at),
            family: None,
            attributes: Attributes::default(),
        };
        (digest, record)
    }

    fn save(store: &MemoryStore, expires_at: Timestamp) -> TokenDigest {
        let (digest, record) = access_token(expires_at);
        let saved = answered(store.save_tokens(IssuedTokens { access: (digest, record), refresh: None }));
        assert!(matches!(saved, Ok(Ok(()))));
        digest
    }

    fn found(store: &MemoryStore, digest: TokenDigest) -> bool {
        matches!(answered(store.find_token(digest)), Ok(Ok(Some(_))))
    }

    #[test]
    fn shards_drop_expired_tokens_as_they_fill_and_keep_live_ones() {
        let clock = Arc::new(ManualClock::new(0));
        let store = MemoryStore::with_clock(clock.clone());
        for _ in 0..50_000 {
            save(&store, 100);
        }
        clock.advance(200);
        let live: Vec<TokenDigest> = (0..50_000).map(|_| save(&store, 1_000)).collect();
        let (_, tokens) = store.len();
        // About 195 tokens a shard expired, then as many live ones filled every shard past its
        // capacity (224), so each shard swept its expired tokens.
        assert!(tokens < 60_000, "{tokens} tokens held, of 50,000 live");
        assert!(live.iter().all(|&digest| found(&store, digest)), "a live token was dropped");
    }

    #[test]
    fn a_store_of_live_tokens_grows_and_drops_none() {
        let store = MemoryStore::with_clock(Arc::new(ManualClock::new(0)));
        let live: Vec<TokenDigest> = (0..20_000).map(|_| save(&store, 1_000)).collect();
        assert_eq!(store.len(), (0, 20_000));
        assert!(live.iter().all(|&digest| found(&store, digest)));
    }

    /// Saves an access and a refresh token into `family`, both expiring at `expires_at`.
    fn save_into(store: &MemoryStore, family: FamilyId, expires_at: Timestamp) -> [TokenDigest; 2] {
        let (access, mut access_record) = access_token(expires_at);
        let (refresh, mut refresh_record) = access_token(expires_at);
        access_record.family = Some(family);
        refresh_record.family = Some(family);
        refresh_record.kind = TokenKind::Refresh;
        let tokens = IssuedTokens { access: (access, access_record), refresh: Some((refresh, refresh_record)) };
        assert!(matches!(answered(store.save_tokens(tokens)), Ok(Ok(()))));
        [access, refresh]
    }

    fn listed_in(store: &MemoryStore, family: FamilyId) -> usize {
        store.families.lock(&family).map.get(&family).map_or(0, |entry| entry.tokens.len())
    }

    #[test]
    fn a_family_kept_alive_by_rotation_lists_only_its_live_tokens() {
        // A year of refreshes every 15 minutes, each token living an hour: the family never
        // expires, but at most 4 issuances (8 tokens) are live at once.
        let clock = Arc::new(ManualClock::new(0));
        let store = MemoryStore::with_clock(clock.clone());
        let family = FamilyId::random();
        let mut latest = Vec::new();
        for _ in 0..35_040 {
            latest = save_into(&store, family, clock.now() + 3_600).to_vec();
            clock.advance(900);
        }
        let listed = listed_in(&store, family);
        assert!(listed <= 32, "the family lists {listed} tokens for at most 8 live ones");
        assert!(latest.iter().all(|&digest| found(&store, digest)));
        assert!(matches!(answered(store.revoke_family(family)), Ok(Ok(()))));
        assert!(latest.iter().all(|&digest| !found(&store, digest)), "a live token survived its family's revocation");
    }

    #[test]
    fn pruning_a_family_keeps_every_live_token_listed_for_its_revocation() {
        let store = MemoryStore::with_clock(Arc::new(ManualClock::new(0)));
        let family = FamilyId::random();
        let [revoked_alone, first_refresh] = save_into(&store, family, 1_000);
        let second = save_into(&store, family, 1_000);
        // Revoked on its own (RFC 7009): the next save finds the list full and drops it.
        assert!(matches!(answered(store.revoke_token(revoked_alone)), Ok(Ok(Some(_)))));
        // The list fills and is pruned again at 8, 16, ... 2,048 entries, finding all live.
        let rest: Vec<TokenDigest> = (0..998).flat_map(|_| save_into(&store, family, 1_000)).collect();
        assert_eq!(listed_in(&store, family), 1 + second.len() + rest.len());
        assert!(matches!(answered(store.revoke_family(family)), Ok(Ok(()))));
        let live = [first_refresh].into_iter().chain(second).chain(rest);
        assert!(live.into_iter().all(|digest| !found(&store, digest)), "a live token survived its family's revocation");
        assert_eq!(store.len().1, 0);
    }

    /// An entry of the test shards: it expires at the time it holds.
    struct Until(Timestamp);

    impl Expiring for Until {
        fn expires_at(&self) -> Timestamp {
            self.0
        }
    }

    /// A clock the test sets, counting how often it is read: once per full map an insert meets.
    #[derive(Default)]
    struct CountingClock {
        now: AtomicU64,
        reads: AtomicUsize,
    }

    impl Clock for CountingClock {
        fn now(&self) -> Timestamp {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.now.load(Ordering::Relaxed)
        }
    }

    #[test]
    fn a_shard_kept_full_by_live_entries_grows_instead_of_sweeping_at_every_insert() {
        // One entry a second, each living 448 seconds: the map holds 448 live entries, its
        // capacity, and at each insert exactly one has expired. Sweeping without growing would
        // free that one and sweep again at the next insert (19,560 times in this test).
        let clock = CountingClock::default();
        let mut shard = Shard::new();
        // Keys spread over the hash as digests are.
        let key = |second: u64| second.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for second in 0..20_000u64 {
            clock.now.store(second, Ordering::Relaxed);
            shard.insert(key(second), Until(second + 448), &clock);
        }
        let full = clock.reads.load(Ordering::Relaxed);
        assert!(full < 200, "20,000 inserts met a full map {full} times");
        assert!((19_553..20_000).all(|second| shard.map.contains_key(&key(second))), "a live entry was dropped");
    }

    #[test]
    fn a_sweep_keeps_what_has_not_expired_and_knows_its_earliest_expiry() {
        let clock = ManualClock::new(0);
        let mut shard = Shard::new();
        for (key, until) in [(1u64, 5), (2, 10), (3, 11), (4, 30)] {
            shard.insert(key, Until(until), &clock);
        }
        assert_eq!(shard.earliest, 5);
        shard.sweep(10);
        let mut kept: Vec<u64> = shard.map.keys().copied().collect();
        kept.sort_unstable();
        assert_eq!((kept, shard.earliest), (vec![3, 4], 11));
    }
}
