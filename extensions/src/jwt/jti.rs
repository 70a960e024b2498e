//! Single use of assertions: the [`JtiStore`] trait and [`MemoryJtiStore`].

use grantry_core::Timestamp;
use grantry_core::storage::StorageError;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

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
