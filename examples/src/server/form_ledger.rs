//! Single use of consent forms: the [`FormLedger`] trait, which remembers the forms already
//! submitted until they expire, and [`MemoryFormLedger`], its bounded in-memory store.
//!
//! Each rendered form carries a random form id inside its CSRF token (see
//! [`consent`](super::consent)). `POST /authorize` records the id before it does anything
//! else with the submission; of any number of submissions of one form, concurrent or not,
//! exactly one is first. A form's id need only be remembered until the form expires: after
//! that its token is refused anyway.
//!
//! The trait is async and fallible like the engine's stores, so servers that share a
//! database can keep the ledger there (a unique key on the form id, rows deleted after their
//! expiry), and a form then stays single-use across all of them.

use grantry_core::storage::StorageError;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What recording a submission found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormUse {
    /// The first submission of this form: it is now recorded.
    First,
    /// This form was submitted before.
    AlreadyUsed,
    /// The ledger is full of unexpired forms and cannot record another: refuse the
    /// submission (single use must hold; a later one, once forms expire, may succeed).
    Full,
}

/// Where the ids of submitted consent forms are kept until the forms expire.
#[grantry_core::async_trait]
pub trait FormLedger: Send + Sync + fmt::Debug + 'static {
    /// Atomically checks whether `form_id` is recorded and, if not, records it until
    /// `expires_at` (Unix seconds); `now` is the current time, for forgetting expired forms.
    /// Of any number of concurrent calls for one id, exactly one gets [`FormUse::First`].
    async fn record_use(&self, form_id: &str, expires_at: u64, now: u64) -> Result<FormUse, StorageError>;
}

/// The default [`MemoryFormLedger`] capacity: with forms valid for 10 minutes, about 166
/// submissions a second, sustained; at most a few tens of megabytes.
pub const DEFAULT_LEDGER_CAPACITY: usize = 100_000;

#[derive(Default)]
struct Entries {
    /// Form id → until when it is remembered.
    used: HashMap<String, u64>,
    /// The same entries, soonest expiry first, to forget them in order.
    by_expiry: BinaryHeap<Reverse<(u64, String)>>,
}

/// A [`FormLedger`] in memory, for one process: at most `capacity` unexpired forms. A caller
/// without credentials can submit forms (each needs a `GET /authorize` first), so the
/// capacity bounds what they can make it hold; past it, submissions are refused
/// ([`FormUse::Full`]) until forms expire, never accepted twice.
pub struct MemoryFormLedger {
    entries: Mutex<Entries>,
    capacity: usize,
}

impl fmt::Debug for MemoryFormLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryFormLedger").field("len", &self.len()).field("capacity", &self.capacity).finish()
    }
}

impl Default for MemoryFormLedger {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_LEDGER_CAPACITY)
    }
}

impl MemoryFormLedger {
    /// An empty ledger of [`DEFAULT_LEDGER_CAPACITY`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty ledger holding at most `capacity` unexpired forms.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryFormLedger { entries: Mutex::new(Entries::default()), capacity }
    }

    /// How many forms are held (expired ones included until they are forgotten).
    pub fn len(&self) -> usize {
        self.lock().used.len()
    }

    /// Whether no form is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every critical section leaves the two collections consistent (the heap is only
    /// popped after the map entry is gone), so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, form_id: &str, expires_at: u64, now: u64) -> FormUse {
        let mut entries = self.lock();
        // Forget what has expired.
        while let Some(Reverse((until, _))) = entries.by_expiry.peek() {
            if *until >= now {
                break;
            }
            if let Some(Reverse((_, id))) = entries.by_expiry.pop() {
                entries.used.remove(&id);
            }
        }
        if entries.used.contains_key(form_id) {
            return FormUse::AlreadyUsed;
        }
        if entries.used.len() >= self.capacity {
            return FormUse::Full;
        }
        entries.used.insert(form_id.to_owned(), expires_at);
        entries.by_expiry.push(Reverse((expires_at, form_id.to_owned())));
        FormUse::First
    }
}

#[grantry_core::async_trait]
impl FormLedger for MemoryFormLedger {
    async fn record_use(&self, form_id: &str, expires_at: u64, now: u64) -> Result<FormUse, StorageError> {
        Ok(self.record(form_id, expires_at, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_form_is_first_once_until_it_expires() {
        let ledger = MemoryFormLedger::new();
        assert_eq!(ledger.record("a", 100, 10), FormUse::First);
        assert_eq!(ledger.record("a", 100, 50), FormUse::AlreadyUsed);
        assert_eq!(ledger.record("a", 100, 100), FormUse::AlreadyUsed, "remembered through its expiry second");
        assert_eq!(ledger.record("b", 100, 50), FormUse::First);
        assert_eq!(ledger.len(), 2);
        // Past the expiry both are forgotten (their tokens are refused as expired by then).
        assert_eq!(ledger.record("c", 300, 101), FormUse::First);
        assert_eq!(ledger.len(), 1);
    }

    #[test]
    fn it_is_bounded_and_refuses_rather_than_forget_a_live_form() {
        let ledger = MemoryFormLedger::with_capacity(3);
        for id in ["a", "b", "c"] {
            assert_eq!(ledger.record(id, 100, 1), FormUse::First);
        }
        assert_eq!(ledger.record("d", 100, 1), FormUse::Full);
        assert_eq!(ledger.record("a", 100, 1), FormUse::AlreadyUsed, "a full ledger still knows its forms");
        assert_eq!(ledger.len(), 3);
        // Once forms expire there is room again, in expiry order whatever the insertion order.
        let ledger = MemoryFormLedger::with_capacity(2);
        assert_eq!(ledger.record("late", 500, 1), FormUse::First);
        assert_eq!(ledger.record("early", 100, 1), FormUse::First);
        assert_eq!(ledger.record("next", 600, 101), FormUse::First);
        assert_eq!(ledger.record("late", 500, 101), FormUse::AlreadyUsed);
    }

    #[test]
    fn exactly_one_concurrent_use_wins() {
        let ledger = Arc::new(MemoryFormLedger::new());
        let firsts: usize = (0..8)
            .map(|_| {
                let ledger = ledger.clone();
                std::thread::spawn(move || {
                    (0..200).filter(|i| ledger.record(&i.to_string(), 100, 1) == FormUse::First).count()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .sum();
        assert_eq!(firsts, 200);
    }
}
