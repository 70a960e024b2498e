//! Single use of assertions: the [`JtiStore`] trait, [`MemoryJtiStore`], and how an
//! assertion is spent.
//!
//! Every verified assertion, whether it authenticates a client or is exchanged at the bearer
//! grant, is recorded once under `(iss, key)` until it expires:
//!
//! - with a `jti`, the key is the `jti` (RFC 7523 §3 item 7);
//! - without one (a bearer grant assertion may omit it), the key is
//!   [`NO_JTI_PREFIX`] followed by the base64url SHA-256 of the assertion's signed part
//!   (`header.payload`). The signature is left out on purpose: an ECDSA signature `(r, s)` has
//!   a twin `(r, n - s)` that verifies too, so a digest over it would let anyone who saw an
//!   assertion mint a "new" one with the same claims.
//!
//! The bearer grant and the JWT client authenticators use one store (by default the
//! [process-wide one](MemoryJtiStore::process_wide)), so an assertion spent at either is
//! refused at the other.

use super::MAX_LEEWAY;
use super::assertion::AssertionError;
use super::claims::AssertionClaims;
use grantry_core::Timestamp;
use grantry_core::storage::StorageError;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// How the key of an assertion without `jti` begins, in a [`JtiStore`]: `#sha256:` then the
/// base64url SHA-256 of the signed part. Only the issuer can sign an assertion with its `iss`,
/// so only the issuer could pick a `jti` equal to such a key, and spend its own assertion early.
pub const NO_JTI_PREFIX: &str = "#sha256:";

/// Whether a `jti` was seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JtiUse {
    /// First use: the `jti` is now recorded.
    First,
    /// The `jti` of this issuer was recorded before and has not expired: a replay.
    Replayed,
}

/// Where the `jti` values of accepted assertions are remembered until they expire, so each
/// assertion is accepted once (RFC 7523 §3, item 7).
#[grantry_core::async_trait]
pub trait JtiStore: Send + Sync + 'static {
    /// Atomically checks whether `(issuer, jti)` is recorded and unexpired at `now`, and if
    /// not, records it until `expires_at`. Of any number of concurrent calls for one pair,
    /// exactly one gets [`JtiUse::First`].
    ///
    /// `jti` is the assertion's `jti` claim or, for a bearer assertion without one, a key
    /// made of [`NO_JTI_PREFIX`] and a digest of the assertion: store both alike.
    async fn check_and_record(
        &self,
        issuer: &str,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<JtiUse, StorageError>;
}

/// How many records pass between sweeps of expired entries.
const SWEEP_EVERY: u64 = 1024;

#[derive(Default)]
struct Seen {
    /// `(issuer, jti)` → until when it is remembered.
    entries: HashMap<(String, String), Timestamp>,
    records: u64,
}

/// A [`JtiStore`] in memory, safe under concurrent use. An entry is forgotten once its
/// expiry has passed (expired entries are swept as new ones arrive).
///
/// It serves one process: servers behind a load balancer need a shared store.
#[derive(Default)]
pub struct MemoryJtiStore {
    seen: Mutex<Seen>,
}

impl fmt::Debug for MemoryJtiStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryJtiStore").field("len", &self.len()).finish()
    }
}

impl MemoryJtiStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The store of the whole process: what [`JwtBearerGrant`](super::JwtBearerGrant),
    /// [`ClientSecretJwt`](super::ClientSecretJwt) and [`PrivateKeyJwt`](super::PrivateKeyJwt)
    /// (and the plugins that build them) use unless given another, so that an assertion spent
    /// at one of them is refused at the others without any wiring.
    ///
    /// Every server of the process shares it. That is harmless: a record is keyed by the
    /// assertion's issuer and `jti` (or its digest), and an assertion names its server in
    /// `aud`. Servers in several processes need a shared [`JtiStore`] of their own.
    pub fn process_wide() -> Arc<MemoryJtiStore> {
        static STORE: OnceLock<Arc<MemoryJtiStore>> = OnceLock::new();
        STORE.get_or_init(|| Arc::new(MemoryJtiStore::new())).clone()
    }

    /// How many entries are held (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every entry expired at `now`.
    pub fn sweep(&self, now: Timestamp) {
        self.lock().entries.retain(|_, until| *until >= now);
    }

    /// A poisoned lock still guards a consistent map (each critical section is a lookup and
    /// an insert), so poisoning is not propagated.
    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, issuer: &str, jti: &str, expires_at: Timestamp, now: Timestamp) -> JtiUse {
        let mut seen = self.lock();
        seen.records = seen.records.wrapping_add(1);
        if seen.records % SWEEP_EVERY == 0 {
            seen.entries.retain(|_, until| *until >= now);
        }
        let key = (issuer.to_owned(), jti.to_owned());
        match seen.entries.get(&key) {
            Some(until) if *until >= now => JtiUse::Replayed,
            _ => {
                seen.entries.insert(key, expires_at);
                JtiUse::First
            }
        }
    }
}

#[grantry_core::async_trait]
impl JtiStore for MemoryJtiStore {
    async fn check_and_record(
        &self,
        issuer: &str,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<JtiUse, StorageError> {
        Ok(self.record(issuer, jti, expires_at, now))
    }
}

/// The store used unless another is given: the [process-wide](MemoryJtiStore::process_wide) one.
pub(crate) fn default_store() -> Arc<dyn JtiStore> {
    MemoryJtiStore::process_wide()
}

/// Spends a verified assertion in `store`: records it under its issuer and its `jti`, or
/// without one its digest, until `exp` plus [`MAX_LEEWAY`]. A second use within that time is
/// [`AssertionError::Replayed`].
///
/// The largest leeway any verifier may have, not the spending verifier's own: verifiers that
/// share the store may forgive different clock skews, and the assertion must stay spent for as
/// long as any of them could still accept it.
pub(crate) async fn spend(
    store: &dyn JtiStore,
    claims: &AssertionClaims,
    now: Timestamp,
) -> Result<(), AssertionError> {
    let until = claims.expires_at().saturating_add(MAX_LEEWAY);
    match store.check_and_record(claims.issuer(), claims.replay_key(), until, now).await {
        Ok(JtiUse::First) => Ok(()),
        Ok(JtiUse::Replayed) => Err(AssertionError::Replayed),
        Err(err) => Err(AssertionError::Storage(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn record(store: &MemoryJtiStore, issuer: &str, jti: &str, until: Timestamp, now: Timestamp) -> JtiUse {
        store.record(issuer, jti, until, now)
    }

    #[test]
    fn second_use_is_a_replay_until_expiry() {
        let store = MemoryJtiStore::new();
        assert_eq!(record(&store, "a", "1", 100, 10), JtiUse::First);
        assert_eq!(record(&store, "a", "1", 100, 50), JtiUse::Replayed);
        assert_eq!(record(&store, "b", "1", 100, 50), JtiUse::First, "jti is per issuer");
        assert_eq!(record(&store, "a", "1", 200, 101), JtiUse::First, "forgotten after expiry");
        store.sweep(201);
        assert!(store.is_empty());
    }

    #[test]
    fn exactly_one_concurrent_use_wins() {
        let store = Arc::new(MemoryJtiStore::new());
        let firsts: usize = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    (0..100).filter(|i| record(&store, "a", &i.to_string(), 100, 1) == JtiUse::First).count()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .sum();
        assert_eq!(firsts, 100);
    }

    #[test]
    fn sweeps_expired_entries_as_records_arrive() {
        let store = MemoryJtiStore::new();
        for i in 0..SWEEP_EVERY - 1 {
            record(&store, "a", &i.to_string(), 5, 1);
        }
        assert_eq!(store.len() as u64, SWEEP_EVERY - 1);
        record(&store, "a", "last", 100, 10);
        assert_eq!(store.len(), 1);
    }
}
