//! Brute-force protection (RFC 6749 §4.3.2: "the authorization server MUST protect the
//! endpoint against brute force attacks"): every credential check the engine makes passes
//! through a [`LoginThrottle`], which may refuse it before it is made.

use crate::clock::Timestamp;
use crate::storage::{FailureStore, ReplayKey};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// What a credential check is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialCheck {
    /// A resource owner's password (the password grant, a login form), keyed by username.
    UserPassword,
    /// A client's secret (`client_secret_basic`, `client_secret_post`), keyed by client id.
    ClientSecret,
    /// A user code typed on a device verification page (RFC 8628 §5.1), keyed by user code
    /// or by the client the user code belongs to.
    UserCode,
}

/// A check refused because its key failed too often: when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed attempts; try again in {retry_after} seconds")]
pub struct Throttled {
    /// Seconds until attempts are admitted again (HTTP `Retry-After`).
    pub retry_after: u64,
}

/// Sees every credential check the engine makes and may refuse one before it is made.
///
/// The engine calls [`admit`](Self::admit) before checking a credential, then
/// [`record`](Self::record) with the outcome. A refused check is not made at all: even the
/// right password is refused while a key is locked out.
#[async_trait::async_trait]
pub trait LoginThrottle: Send + Sync + 'static {
    /// Whether this throttle wants to see checks of this kind at all; the engine neither asks
    /// nor tells it about the others (which saves a call on every request where it does not).
    fn watches(&self, _check: CredentialCheck) -> bool {
        true
    }

    /// Whether a check of `key`'s credential may be made now.
    async fn admit(&self, check: CredentialCheck, key: &str, now: Timestamp) -> Result<(), Throttled>;

    /// The outcome of a check that was admitted.
    async fn record(&self, check: CredentialCheck, key: &str, succeeded: bool, now: Timestamp);
}

/// Throttles nothing. For servers that protect their credential checks elsewhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoThrottle;

#[async_trait::async_trait]
impl LoginThrottle for NoThrottle {
    fn watches(&self, _: CredentialCheck) -> bool {
        false
    }

    async fn admit(&self, _: CredentialCheck, _: &str, _: Timestamp) -> Result<(), Throttled> {
        Ok(())
    }

    async fn record(&self, _: CredentialCheck, _: &str, _: bool, _: Timestamp) {}
}

/// Counts failures per key in memory: after `max_failures` failed checks of one key within
/// `window` seconds of the first, every check of it is refused until the window passes; a
/// success before the limit resets the count. It throttles the checks of human-chosen
/// secrets ([`CredentialCheck::UserPassword`], [`CredentialCheck::UserCode`]); client secrets
/// are generated with high entropy, and locking a client out would hand an attacker a denial
/// of service, so those it only sees.
///
/// Memory is bounded: at most `max_keys` keys are tracked, each by a 32-byte digest (no
/// username is kept). When the table is full, expired entries go first, then the entry with
/// the fewest failures, so an attacker spraying new keys cannot make it forget a key that
/// failed more often than each of theirs.
///
/// ```
/// use grantry_core::throttle::{CredentialCheck, FailureLimiter, LoginThrottle};
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let limiter = FailureLimiter::new(2, 900);
/// let check = CredentialCheck::UserPassword;
/// for _ in 0..2 {
///     limiter.admit(check, "alice", 0).await.unwrap();
///     limiter.record(check, "alice", false, 0).await;
/// }
/// assert_eq!(limiter.admit(check, "alice", 100).await.unwrap_err().retry_after, 800);
/// assert!(limiter.admit(check, "alice", 900).await.is_ok(), "the window has passed");
/// # }
/// ```
#[derive(Debug)]
pub struct FailureLimiter {
    max_failures: u32,
    window: u64,
    max_keys: usize,
    entries: Mutex<HashMap<[u8; 32], Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    /// When the first failure of the current window was recorded.
    since: Timestamp,
}

/// Failed checks of one key a server admits by default before it refuses further ones.
pub const DEFAULT_MAX_FAILURES: u32 = 5;
/// The window of [`DEFAULT_MAX_FAILURES`], in seconds: 15 minutes.
pub const DEFAULT_FAILURE_WINDOW: u64 = 900;

/// Why a user's credentials could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// Too many failed checks of this username: none is made until the window passes.
    #[error(transparent)]
    Throttled(#[from] Throttled),
    /// The user store failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

/// Keys a limiter tracks unless told otherwise: about 3 MB.
pub const DEFAULT_MAX_KEYS: usize = 65_536;

impl FailureLimiter {
    /// At most `max_failures` failures per key within `window` seconds.
    pub fn new(max_failures: u32, window: u64) -> Self {
        FailureLimiter { max_failures, window, max_keys: DEFAULT_MAX_KEYS, entries: Mutex::new(HashMap::new()) }
    }

    /// Tracks at most `max_keys` keys (at least one).
    pub fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys.max(1);
        self
    }

    /// How many keys are tracked now.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Failures>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn throttles(check: CredentialCheck) -> bool {
        matches!(check, CredentialCheck::UserPassword | CredentialCheck::UserCode)
    }

    fn key(check: CredentialCheck, key: &str) -> [u8; 32] {
        Sha256::new().chain_update(kind_name(check)).chain_update(b"\0").chain_update(key.as_bytes()).finalize().into()
    }

    fn live(&self, failures: &Failures, now: Timestamp) -> bool {
        now < failures.since.saturating_add(self.window)
    }

    /// Makes room for one more key: expired entries first, then the least-failed one.
    fn make_room(&self, entries: &mut HashMap<[u8; 32], Failures>, now: Timestamp) {
        entries.retain(|_, failures| self.live(failures, now));
        if entries.len() >= self.max_keys {
            if let Some(least) = entries.iter().min_by_key(|(_, f)| (f.count, f.since)).map(|(k, _)| *k) {
                entries.remove(&least);
            }
        }
    }
}

#[async_trait::async_trait]
impl LoginThrottle for FailureLimiter {
    fn watches(&self, check: CredentialCheck) -> bool {
        Self::throttles(check)
    }

    async fn admit(&self, check: CredentialCheck, key: &str, now: Timestamp) -> Result<(), Throttled> {
        if !Self::throttles(check) {
            return Ok(());
        }
        match self.lock().get(&Self::key(check, key)) {
            Some(failures) if failures.count >= self.max_failures && self.live(failures, now) => {
                Err(Throttled { retry_after: failures.since.saturating_add(self.window) - now })
            }
            _ => Ok(()),
        }
    }

    async fn record(&self, check: CredentialCheck, key: &str, succeeded: bool, now: Timestamp) {
        if !Self::throttles(check) {
            return;
        }
        let key = Self::key(check, key);
        let mut entries = self.lock();
        if succeeded {
            entries.remove(&key);
            return;
        }
        if !entries.contains_key(&key) && entries.len() >= self.max_keys {
            self.make_room(&mut entries, now);
        }
        let failures = entries.entry(key).or_insert(Failures { count: 0, since: now });
        if !self.live(failures, now) {
            *failures = Failures { count: 0, since: now };
        }
        failures.count = failures.count.saturating_add(1);
    }
}

/// The name of a kind of check, part of the key its failures are counted under.
fn kind_name(check: CredentialCheck) -> &'static str {
    match check {
        CredentialCheck::UserPassword => "password",
        CredentialCheck::ClientSecret => "client",
        CredentialCheck::UserCode => "user-code",
    }
}

/// [`FailureLimiter`]'s rule with the counts in a [`FailureStore`] (a database several servers
/// share): a username guessed at on one server is locked out on all of them, and the count
/// survives a restart. Only digests of the keys reach the store.
///
/// When the store cannot be read, a check of a throttled kind is refused (for a second): an
/// outage must not turn the lock-out off. A failure that cannot be recorded is lost.
pub struct SharedFailureLimiter {
    max_failures: u32,
    window: u64,
    store: Arc<dyn FailureStore>,
}

impl std::fmt::Debug for SharedFailureLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedFailureLimiter")
            .field("max_failures", &self.max_failures)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl SharedFailureLimiter {
    /// At most `max_failures` failures per key within `window` seconds, counted in `store`.
    /// The window is capped at [`FAILURE_RETENTION`](crate::storage::FAILURE_RETENTION), how
    /// long stores keep a count.
    pub fn new(store: Arc<dyn FailureStore>, max_failures: u32, window: u64) -> Self {
        let window = window.min(crate::storage::FAILURE_RETENTION);
        SharedFailureLimiter { max_failures, window, store }
    }

    fn key(check: CredentialCheck, key: &str) -> ReplayKey {
        ReplayKey::new("login-failures", &[kind_name(check), key])
    }
}

#[async_trait::async_trait]
impl LoginThrottle for SharedFailureLimiter {
    fn watches(&self, check: CredentialCheck) -> bool {
        FailureLimiter::throttles(check)
    }

    async fn admit(&self, check: CredentialCheck, key: &str, now: Timestamp) -> Result<(), Throttled> {
        if !FailureLimiter::throttles(check) {
            return Ok(());
        }
        match self.store.failures(Self::key(check, key)).await {
            Ok(Some(failures)) if failures.count >= self.max_failures => {
                let until = failures.since.saturating_add(self.window);
                if now < until { Err(Throttled { retry_after: until - now }) } else { Ok(()) }
            }
            Ok(_) => Ok(()),
            Err(_) => Err(Throttled { retry_after: 1 }),
        }
    }

    async fn record(&self, check: CredentialCheck, key: &str, succeeded: bool, now: Timestamp) {
        if !FailureLimiter::throttles(check) {
            return;
        }
        let key = Self::key(check, key);
        // Nothing to report to: the check's own answer is already decided.
        let _ = match succeeded {
            true => self.store.clear_failures(key).await,
            false => self.store.record_failure(key, now, self.window).await.map(|_| ()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
            std::task::Poll::Ready(value) => value,
            std::task::Poll::Pending => panic!("the limiter answers at once"),
        }
    }

    const PW: CredentialCheck = CredentialCheck::UserPassword;

    fn fail(limiter: &FailureLimiter, key: &str, times: u32, now: Timestamp) {
        for _ in 0..times {
            block(limiter.record(PW, key, false, now));
        }
    }

    #[test]
    fn locks_out_after_the_limit_even_the_right_password_until_the_window_passes() {
        let limiter = FailureLimiter::new(5, 900);
        fail(&limiter, "alice", 4, 1000);
        assert!(block(limiter.admit(PW, "alice", 1000)).is_ok(), "four failures: still admitted");
        fail(&limiter, "alice", 1, 1010);
        assert_eq!(block(limiter.admit(PW, "alice", 1100)), Err(Throttled { retry_after: 800 }));
        assert!(block(limiter.admit(PW, "bob", 1100)).is_ok(), "other keys are not affected");
        assert!(block(limiter.admit(PW, "alice", 1900)).is_ok(), "the window passed");
    }

    #[test]
    fn a_success_before_the_limit_resets_the_count() {
        let limiter = FailureLimiter::new(3, 900);
        fail(&limiter, "alice", 2, 0);
        block(limiter.record(PW, "alice", true, 0));
        fail(&limiter, "alice", 2, 0);
        assert!(block(limiter.admit(PW, "alice", 0)).is_ok());
    }

    #[test]
    fn client_secrets_are_seen_not_throttled() {
        let limiter = FailureLimiter::new(1, 900);
        for _ in 0..10 {
            block(limiter.record(CredentialCheck::ClientSecret, "svc", false, 0));
        }
        assert!(block(limiter.admit(CredentialCheck::ClientSecret, "svc", 0)).is_ok());
        assert_eq!(limiter.tracked(), 0);
    }

    #[test]
    fn memory_stays_bounded_and_a_sprayer_cannot_evict_a_targeted_key() {
        let limiter = FailureLimiter::new(5, 900).with_max_keys(100);
        fail(&limiter, "alice", 5, 0);
        for i in 0..10_000 {
            fail(&limiter, &format!("spray-{i}"), 1, 1);
        }
        assert!(limiter.tracked() <= 100);
        assert!(block(limiter.admit(PW, "alice", 2)).is_err(), "alice's five failures are still counted");
        // Expired entries make room first.
        fail(&limiter, "late", 1, 5000);
        assert_eq!(limiter.tracked(), 1);
    }
}
