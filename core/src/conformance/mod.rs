//! The storage conformance suite: the behaviour every store must have, written once, for any
//! store's own tests (cargo feature `conformance`).
//!
//! The engine relies on more than the storage traits' signatures: a code is redeemed once
//! whatever the concurrency, a wrong client changes nothing, a revoked family stays revoked
//! for tokens saved into it later. This suite checks each of those on a real store, through
//! the traits only, so it runs unchanged against [`MemoryStore`](crate::MemoryStore), the
//! SQLite store, or a store written for another database.
//!
//! # Running it against your store
//!
//! Enable the feature in your dev-dependencies, implement [`Harness`] (how to open an empty
//! store holding the [`Fixtures`], and how to sweep it), and let [`conformance_tests!`]
//! write one `#[test]` per check for the traits your store implements:
//!
//! ```
//! use std::sync::Arc;
//! use grantry_core::conformance::{Fixtures, Harness, Swept};
//! use grantry_core::storage::StorageError;
//! use grantry_core::{MemoryStore, Timestamp};
//!
//! struct MemoryHarness;
//!
//! #[grantry_core::async_trait]
//! impl Harness for MemoryHarness {
//!     type Store = MemoryStore;
//!
//!     async fn open(&self, fixtures: &Fixtures) -> Result<Arc<MemoryStore>, StorageError> {
//!         let store = MemoryStore::new();
//!         for client in &fixtures.clients {
//!             store.add_client(client.clone()).map_err(StorageError::new)?;
//!         }
//!         for user in &fixtures.users {
//!             store.add_user(&user.username, &user.password);
//!         }
//!         Ok(Arc::new(store))
//!     }
//!
//!     async fn sweep(&self, store: &MemoryStore, now: Timestamp) -> Result<Swept, StorageError> {
//!         store.sweep(now);
//!         Ok(Swept::Done)
//!     }
//! }
//!
//! grantry_core::conformance_tests! {
//!     mod memory_store;
//!     harness: MemoryHarness;
//!     checks: [codes, tokens, clients, users, replays, pending];
//! }
//! # fn main() {}
//! ```
//!
//! Each group is a module of `async fn`s taking the harness, one per check, for a store's
//! tests that want their own runtime or setup: [`codes`] ([`AuthorizationCodeStore`]),
//! [`tokens`] ([`TokenStore`]), [`clients`] ([`ClientStore`]), [`users`] ([`UserStore`]),
//! [`replays`] ([`ReplayStore`]), [`failures`] ([`FailureStore`]), [`pending`]
//! ([`PendingAuthorizationStore`]). A
//! store that keeps one concern elsewhere (its clients in configuration, say) lists only the
//! groups it implements. The checks need a multi-threaded Tokio runtime (the concurrency
//! checks race real threads); the macro's tests make one with [`block_on`], so a store's
//! crate needs no Tokio of its own.
//!
//! # What it checks
//!
//! - **codes**: a saved code is found exactly as saved; an unknown one is not found and not
//!   redeemable; a code redeems once, then every redemption by its client is a replay that
//!   names its family, and [`find_code`](crate::storage::AuthorizationCodeStore::find_code) shows it redeemed;
//!   a wrong client gets `WrongClient` and changes nothing, before and after the redemption;
//!   codes are independent of each other; a sweep drops expired codes, live or redeemed, and
//!   keeps the others; of 1,000 concurrent redemptions by the owner (with 100 by another
//!   client among them) exactly one wins and the others are replays naming the family.
//! - **tokens**: saved tokens are found exactly as saved, with and without family, refresh
//!   token and expiry; unknown ones are not found, rotated or revoked; a refresh token
//!   rotates once, after which [`find_token`](crate::storage::TokenStore::find_token) no longer finds it and
//!   each rotation by its client is a replay naming the family; a wrong client changes
//!   nothing; an access token does not rotate; `revoke_token` removes one token and returns
//!   its record; `revoke_family` removes every token of the family (rotated ones included)
//!   and nothing else, and is final: tokens saved into the family afterwards, or into a
//!   family revoked before the store ever saw it, are never found, even after a sweep that
//!   comes before the family's tokens expire; a sweep drops expired tokens (retired ones
//!   included) and keeps live and never-expiring ones; of 1,000 concurrent rotations exactly
//!   one wins; and a family's revocation racing saves into it leaves none of its tokens
//!   behind, while saves into another family all land. `rotate_and_save` saves only when it
//!   rotates (not for a replay, a wrong client, an unknown or an access token); of 1,000
//!   concurrent ones exactly one rotates and only its tokens are saved; one racing the
//!   family's revocation leaves none of the family's tokens, old or new.
//! - **clients**: each fixture client is found with its registration (id, redirect URIs,
//!   scope, grant types, authentication method); its secret is checked, a wrong one refused;
//!   an unknown or differently cased id is not found.
//! - **users**: the right password gives a subject the store then knows; a wrong password,
//!   an empty one, another user's, or an unknown username gives nothing.
//! - **failures** (stores that implement [`FailureStore`]): failures count within the window
//!   their first opened, a new window after it; a clear forgets one key; of 200 concurrent
//!   failures each is counted once; a sweep keeps windows opened within an hour.
//! - **replays**: a key is first once, and a replay until it expires (through its expiry
//!   second), then usable again; keys of other purposes or parts are independent; a sweep
//!   keeps what is live; of 1,000 concurrent uses of one key exactly one is first.
//! - **pending** (stores that implement [`PendingAuthorizationStore`]): a pending
//!   authorization is found by its user code as saved; a user code is taken until its holder
//!   expires, then free again; a decision is recorded once (of 100 concurrent ones exactly
//!   one), never from the expiry on; a poll by another client changes nothing; a poll too
//!   early grows the interval by 5 seconds and puts the next poll the new interval away; a poll
//!   in time (or of a decided one) answers the record; only an approved one is consumed, by its
//!   own client, once (of 200 concurrent consumptions, with 200 by another client among them,
//!   exactly one); a sweep drops the expired ones.
//!
//! What it does not check, because the traits cannot show it: durability across restarts
//! and sharing between servers. A persistent store tests those itself (the SQLite store's
//! own tests reopen its file).
//!
//! [`conformance_tests!`]: crate::conformance_tests
//! [`AuthorizationCodeStore`]: crate::storage::AuthorizationCodeStore
//! [`TokenStore`]: crate::storage::TokenStore
//! [`ClientStore`]: crate::storage::ClientStore
//! [`UserStore`]: crate::storage::UserStore
//! [`ReplayStore`]: crate::storage::ReplayStore
//! [`FailureStore`]: crate::storage::FailureStore
//! [`PendingAuthorizationStore`]: crate::storage::PendingAuthorizationStore

pub mod clients;
pub mod codes;
pub mod failures;
pub mod pending;
mod records;
pub mod replays;
pub mod tokens;
pub mod users;

use crate::client::ClientRecord;
use crate::clock::Timestamp;
use crate::grant_type::{ClientAuthMethod, GrantType};
use crate::storage::StorageError;
use std::future::Future;
use std::sync::Arc;

/// How the suite opens and sweeps the store under test.
#[async_trait::async_trait]
pub trait Harness: Send + Sync {
    /// The store under test: it implements the storage traits of the groups it is checked
    /// against.
    type Store: Send + Sync + 'static;

    /// A new store, empty of codes and tokens, holding exactly the fixtures' clients and
    /// users. Every check opens its own; stores of one harness must not share codes or
    /// tokens (a store per temporary file, or per database schema).
    async fn open(&self, fixtures: &Fixtures) -> Result<Arc<Self::Store>, StorageError>;

    /// Drops everything the store holds that has expired at `now`, as the store's own sweep
    /// would, to the end (every batch). [`Swept::Unsupported`] for a store that expires
    /// entries on its own clock only (a database TTL): the checks of sweeping are then
    /// skipped.
    async fn sweep(&self, store: &Self::Store, now: Timestamp) -> Result<Swept, StorageError>;
}

/// What [`Harness::sweep`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Swept {
    /// Everything expired at the given time is gone.
    Done,
    /// The store cannot be swept on request; the sweeping checks are skipped.
    Unsupported,
}

/// The clients and users every store under test holds. Codes and tokens of the checks are
/// issued to these clients, so a store that checks them against its clients accepts them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Fixtures {
    /// The registered clients: [`WEB`] (confidential, `client_secret_basic`, secret
    /// [`WEB_SECRET`]) and [`SPA`] (public).
    pub clients: Vec<ClientRecord>,
    /// The users: [`ALICE`] and [`BOB`].
    pub users: Vec<FixtureUser>,
}

/// A user of the [`Fixtures`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FixtureUser {
    /// The username.
    pub username: String,
    /// The password, in the clear: the store keeps it as it keeps any password.
    pub password: String,
}

/// The confidential fixture client's id.
pub const WEB: &str = "conformance-web";
/// The confidential fixture client's secret.
pub const WEB_SECRET: &str = "conformance-web-secret";
/// The public fixture client's id.
pub const SPA: &str = "conformance-spa";
/// The first fixture user: username and password.
pub const ALICE: (&str, &str) = ("alice", "wonderland");
/// The second fixture user: username and password.
pub const BOB: (&str, &str) = ("bob", "the-builder");

impl Fixtures {
    /// The fixtures every check opens its store with.
    pub fn standard() -> Self {
        let web = ClientRecord::confidential(WEB, WEB_SECRET)
            .with_redirect_uri("https://web.example/callback")
            .with_grant_types([GrantType::AUTHORIZATION_CODE, GrantType::REFRESH_TOKEN])
            .with_scope("read write");
        let spa = ClientRecord::public(SPA)
            .with_redirect_uri("https://spa.example/callback")
            .with_grant_types([GrantType::AUTHORIZATION_CODE, GrantType::REFRESH_TOKEN])
            .with_scope("read")
            .with_auth_method(ClientAuthMethod::NONE);
        let user = |(username, password): (&str, &str)| FixtureUser {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        Fixtures { clients: vec![web, spa], users: vec![user(ALICE), user(BOB)] }
    }
}

/// Runs a check on a new multi-threaded Tokio runtime (four worker threads, whatever the
/// machine: the concurrency checks need tasks running in parallel), with its I/O and timer
/// drivers (a store on a network client, such as the PostgreSQL store, needs them), and
/// returns its output.
///
/// # Panics
/// If the runtime cannot be built (the process cannot start threads).
#[allow(clippy::expect_used)]
pub fn block_on<F: Future>(check: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .thread_name("conformance")
        .enable_all()
        .build()
        .expect("a multi-threaded Tokio runtime for the conformance checks")
        .block_on(check)
}

/// Opens a store with the standard fixtures, failing the check if the harness cannot.
async fn open<H: Harness>(harness: &H) -> Arc<H::Store> {
    match harness.open(&Fixtures::standard()).await {
        Ok(store) => store,
        Err(err) => panic!("the harness could not open a store: {err}"),
    }
}

/// Sweeps at `now`; `false` when the store cannot be swept (the caller skips its check).
async fn sweep<H: Harness>(harness: &H, store: &H::Store, now: Timestamp) -> bool {
    match harness.sweep(store, now).await {
        Ok(Swept::Done) => true,
        Ok(Swept::Unsupported) => false,
        Err(err) => panic!("the harness could not sweep the store: {err}"),
    }
}

/// The value of a store call, failing the check on a storage error.
fn ok<T>(what: &str, result: Result<T, StorageError>) -> T {
    match result {
        Ok(value) => value,
        Err(err) => panic!("{what} failed: {err}"),
    }
}

/// Fails unless the checks run on a multi-threaded Tokio runtime, where spawned tasks race.
fn require_parallel_runtime() {
    let flavor = tokio::runtime::Handle::try_current().map(|handle| handle.runtime_flavor());
    assert!(
        matches!(flavor, Ok(tokio::runtime::RuntimeFlavor::MultiThread)),
        "the concurrency checks need a multi-threaded Tokio runtime: run them with \
         grantry_core::conformance::block_on or #[tokio::test(flavor = \"multi_thread\")]"
    );
}

/// Writes one `#[test]` per conformance check, for the groups a store implements.
///
/// ```text
/// grantry_core::conformance_tests! {
///     mod my_store;                 // the module the tests go in
///     harness: MyHarness::new();    // an expression, evaluated afresh by every test
///     checks: [codes, tokens, clients, users, replays, pending];
/// }
/// ```
///
/// The harness expression is evaluated inside the generated module, which imports everything
/// of the module the macro is called in. The tests are named after the checks
/// (`my_store::codes::a_code_redeems_once`), so `cargo test my_store::codes` runs one group.
/// Every test runs on its own multi-threaded runtime ([`block_on`]).
#[macro_export]
macro_rules! conformance_tests {
    (mod $module:ident; harness: $harness:expr; checks: [$($group:ident),+ $(,)?] $(;)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $( $crate::conformance_tests!(@group $group, $harness); )+
        }
    };
    (@group codes, $harness:expr) => {
        $crate::conformance_tests!(@tests codes, $harness;
            a_saved_code_is_found_as_saved,
            an_unknown_code_is_neither_found_nor_redeemed,
            a_code_redeems_once,
            a_wrong_client_changes_nothing,
            codes_are_independent,
            expired_codes_are_swept,
            concurrent_redemptions_have_one_winner,
        );
    };
    (@group tokens, $harness:expr) => {
        $crate::conformance_tests!(@tests tokens, $harness;
            saved_tokens_are_found_as_saved,
            an_unknown_token_is_neither_found_rotated_nor_revoked,
            a_refresh_token_rotates_once,
            a_wrong_client_changes_nothing,
            an_access_token_does_not_rotate,
            revoke_token_removes_one_token,
            revoke_family_removes_every_token_of_the_family,
            a_revoked_family_refuses_later_saves,
            a_revoked_family_outlives_a_sweep_before_its_expiry,
            expired_tokens_are_swept,
            concurrent_rotations_have_one_winner,
            family_revocation_racing_saves_leaves_no_token,
            rotate_and_save_saves_only_when_it_rotates,
            concurrent_rotate_and_saves_have_one_winner,
            family_revocation_racing_a_rotation_leaves_no_token,
        );
    };
    (@group clients, $harness:expr) => {
        $crate::conformance_tests!(@tests clients, $harness;
            registered_clients_are_found,
            client_secrets_are_checked,
            an_unknown_client_is_not_found,
        );
    };
    (@group replays, $harness:expr) => {
        $crate::conformance_tests!(@tests replays, $harness;
            a_key_is_first_once,
            a_record_lasts_through_its_expiry,
            keys_are_independent,
            a_sweep_keeps_live_records,
            concurrent_uses_have_one_winner,
        );
    };
    (@group failures, $harness:expr) => {
        $crate::conformance_tests!(@tests failures, $harness;
            failures_count_within_their_window,
            a_clear_forgets_one_key,
            concurrent_failures_are_each_counted,
            a_sweep_keeps_recent_windows,
        );
    };
    (@group pending, $harness:expr) => {
        $crate::conformance_tests!(@tests pending, $harness;
            a_saved_pending_authorization_is_found_as_saved,
            a_user_code_is_taken_until_it_expires,
            a_decision_is_recorded_once,
            concurrent_decisions_have_one_winner,
            a_decision_after_expiry_is_refused,
            a_wrong_client_poll_changes_nothing,
            a_poll_too_early_slows_down,
            a_poll_in_time_returns_the_record,
            a_pending_authorization_is_consumed_once,
            concurrent_consumptions_have_one_winner,
            expired_pending_authorizations_are_swept,
        );
    };
    (@group users, $harness:expr) => {
        $crate::conformance_tests!(@tests users, $harness;
            the_right_password_authenticates,
            a_wrong_password_is_refused,
            an_unknown_user_is_refused,
        );
    };
    (@tests $group:ident, $harness:expr; $($check:ident),+ $(,)?) => {
        mod $group {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $check() {
                    $crate::conformance::block_on(async {
                        let harness = $harness;
                        $crate::conformance::$group::$check(&harness).await;
                    });
                }
            )+
        }
    };
}

#[cfg(test)]
mod tests {
    /// Every public check of a group is listed in [`conformance_tests!`], so the macro runs it.
    #[test]
    fn the_macro_lists_every_check() {
        let macro_source = include_str!("mod.rs");
        let groups = [
            ("codes", include_str!("codes.rs")),
            ("tokens", include_str!("tokens.rs")),
            ("clients", include_str!("clients.rs")),
            ("users", include_str!("users.rs")),
            ("replays", include_str!("replays.rs")),
            ("failures", include_str!("failures.rs")),
            ("pending", include_str!("pending.rs")),
        ];
        for (group, source) in groups {
            let arm = format!("(@group {group}, $harness:expr) => {{");
            let start = macro_source.find(&arm).unwrap_or_else(|| panic!("no macro arm for {group}"));
            let listed = &macro_source[start..];
            let listed = &listed[..listed.find("};").unwrap_or(listed.len())];
            let checks: Vec<&str> = source
                .lines()
                .filter_map(|line| line.trim_start().strip_prefix("pub async fn "))
                .filter_map(|rest| rest.split(['<', '(']).next())
                .collect();
            assert!(!checks.is_empty(), "{group} has no checks");
            for check in checks {
                assert!(listed.contains(&format!("{check},")), "{group}::{check} is not in conformance_tests!");
            }
        }
    }
}
