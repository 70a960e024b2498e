//! What the conformance suite cannot see through the traits: the file, durability across
//! reopening, commits visible to another connection, sharing a file, bounded sweeps, and
//! independence from any async runtime. (The suite itself runs in `tests/`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::grant_type::GrantType;
use crate::scope::Scope;
use crate::storage::{Attributes, TokenKind};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

const NOW: Timestamp = 1_700_000_000;

/// Runs a future on the current thread with no async runtime at all: the store must not need
/// one (its answers come from its own threads).
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

fn digest(n: u8) -> TokenDigest {
    TokenDigest::of(&format!("credential-{n}"))
}

fn code(family: FamilyId, expires_at: Timestamp) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        client_id: Arc::from("web"),
        redirect_uri: "https://web.example/cb".to_owned(),
        redirect_uri_given: false,
        subject: Arc::from("alice"),
        scope: Scope::parse("read").unwrap(),
        requested_scope: None,
        expires_at,
        family,
        attributes: Attributes::new(),
    }
}

fn token(kind: TokenKind, family: Option<FamilyId>, expires_at: Option<Timestamp>) -> TokenRecord {
    TokenRecord {
        kind,
        client_id: Arc::from("web"),
        subject: Some(Arc::from("alice")),
        scope: Scope::parse("read").unwrap(),
        grant_type: GrantType::AUTHORIZATION_CODE,
        issued_at: NOW,
        expires_at,
        family,
        attributes: Attributes::new(),
    }
}

fn issuance(access: TokenDigest, refresh: TokenDigest, family: FamilyId) -> IssuedTokens {
    IssuedTokens {
        access: (access, token(TokenKind::Access, Some(family), Some(NOW + 3_600))),
        refresh: Some((refresh, token(TokenKind::Refresh, Some(family), Some(NOW + 86_400)))),
    }
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn opening_creates_the_folders_the_file_and_the_schema_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("several/nested/folders/grantry.db");
    let store = block_on(SqliteStore::open(&path)).unwrap();
    block_on(store.ping()).unwrap();
    assert_eq!(store.path(), path);
    let connection = raw(&path);
    let mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
    assert_eq!(version, i64::try_from(schema::VERSION).unwrap());
    let tables: Vec<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        tables,
        [
            "grantry_codes",
            "grantry_failures",
            "grantry_families",
            "grantry_pending",
            "grantry_replays",
            "grantry_secrets",
            "grantry_tokens"
        ]
    );
    // Opening again migrates nothing and keeps the file.
    drop(store);
    block_on(SqliteStore::open(&path)).unwrap();
}

#[test]
fn a_file_of_the_first_schema_gains_the_single_use_records_and_keeps_its_tokens() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("grantry.db");
    let store = block_on(SqliteStore::open(&path)).unwrap();
    block_on(store.save_tokens(issuance(digest(1), digest(2), FamilyId::random()))).unwrap();
    drop(store);
    // Back to what version 1 wrote.
    raw(&path)
        .execute_batch(
            "DROP TABLE grantry_replays; DROP TABLE grantry_secrets; DROP TABLE grantry_failures;
             DROP TABLE grantry_pending; PRAGMA user_version = 1;",
        )
        .unwrap();

    let store = block_on(SqliteStore::open(&path)).unwrap();
    assert!(block_on(store.find_token(digest(1))).unwrap().is_some());
    let key = ReplayKey::new("test", &["form"]);
    assert_eq!(block_on(store.record_use(key, NOW + 600, NOW)).unwrap(), FirstUse::First);
    assert_eq!(block_on(store.record_use(key, NOW + 600, NOW)).unwrap(), FirstUse::AlreadyUsed);
    let version: i64 = raw(&path).query_row("PRAGMA user_version", [], |row| row.get(0)).unwrap();
    assert_eq!(version, i64::try_from(schema::VERSION).unwrap());
}

#[test]
fn a_file_of_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grantry.db");
    drop(block_on(SqliteStore::open(&path)).unwrap());
    raw(&path).pragma_update(None, "user_version", 99).unwrap();
    let err = block_on(SqliteStore::open(&path)).unwrap_err();
    assert!(err.to_string().contains("version 99"), "{err}");
}

#[test]
fn a_path_that_is_no_file_is_refused() {
    assert!(block_on(SqliteStore::open("")).is_err());
    assert!(block_on(SqliteStore::open(":memory:")).is_err());
    let dir = tempfile::tempdir().unwrap();
    // A folder where the file should be.
    assert!(block_on(SqliteStore::open(dir.path())).is_err());
}

#[test]
fn a_write_is_committed_when_its_call_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grantry.db");
    let store = block_on(SqliteStore::open(&path)).unwrap();
    let family = FamilyId::random();
    block_on(store.save_tokens(issuance(digest(1), digest(2), family))).unwrap();
    block_on(store.save_code(digest(3), code(family, NOW + 600))).unwrap();
    // Another connection (another process) sees the rows at once: they are committed.
    let connection = raw(&path);
    let stored: Vec<Vec<u8>> = connection
        .prepare("SELECT digest FROM grantry_tokens ORDER BY kind")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // Only the digests are stored.
    assert_eq!(stored, [digest(1).as_bytes().to_vec(), digest(2).as_bytes().to_vec()]);
    let redeemed: bool = connection
        .query_row("SELECT redeemed FROM grantry_codes WHERE digest = ?1", [&digest(3).as_bytes()[..]], |row| {
            row.get(0)
        })
        .unwrap();
    assert!(!redeemed);
    assert_eq!(block_on(store.redeem_code(digest(3), "web")).unwrap(), CodeRedemption::Redeemed);
    let (redeemed, subject): (bool, Option<String>) = connection
        .query_row(
            "SELECT redeemed, subject FROM grantry_codes WHERE digest = ?1",
            [&digest(3).as_bytes()[..]],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert!(redeemed, "the redemption is committed when redeem_code returns");
    assert_eq!(subject, None, "a redeemed code keeps only what a replay needs");
}

#[test]
fn single_use_and_revocation_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grantry.db");
    let (family, revoked) = (FamilyId::random(), FamilyId::random());
    {
        let store = block_on(SqliteStore::open(&path)).unwrap();
        block_on(store.save_code(digest(1), code(family, NOW + 600))).unwrap();
        block_on(store.save_code(digest(2), code(family, NOW + 600))).unwrap();
        assert_eq!(block_on(store.redeem_code(digest(1), "web")).unwrap(), CodeRedemption::Redeemed);
        block_on(store.save_tokens(issuance(digest(3), digest(4), family))).unwrap();
        assert_eq!(block_on(store.rotate_refresh_token(digest(4), "web")).unwrap(), RefreshRotation::Rotated);
        block_on(store.save_tokens(issuance(digest(5), digest(6), family))).unwrap();
        block_on(store.revoke_family(revoked)).unwrap();
    }
    let store = block_on(SqliteStore::open(&path)).unwrap();
    assert_eq!(block_on(store.redeem_code(digest(1), "web")).unwrap(), CodeRedemption::AlreadyRedeemed { family });
    assert_eq!(
        block_on(store.find_code(digest(1))).unwrap(),
        Some(StoredCode::Redeemed { client_id: "web".into(), family })
    );
    assert_eq!(block_on(store.find_code(digest(2))).unwrap(), Some(StoredCode::Live(code(family, NOW + 600))));
    assert_eq!(
        block_on(store.rotate_refresh_token(digest(4), "web")).unwrap(),
        RefreshRotation::AlreadyRotated { family: Some(family) }
    );
    assert_eq!(
        block_on(store.find_token(digest(6))).unwrap(),
        issuance(digest(5), digest(6), family).refresh.map(|t| t.1)
    );
    block_on(store.save_tokens(issuance(digest(7), digest(8), revoked))).unwrap();
    assert_eq!(block_on(store.find_token(digest(7))).unwrap(), None, "a revocation must survive a restart");
}

#[test]
fn two_stores_on_one_file_redeem_a_code_once() {
    // Two servers sharing the file: each has its own writer connection, and SQLite's lock
    // decides between them.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let first = Arc::new(block_on(SqliteStore::open(&path)).unwrap());
    let second = Arc::new(block_on(SqliteStore::open(&path)).unwrap());
    let won = Arc::new(AtomicUsize::new(0));
    for round in 0..20u8 {
        let family = FamilyId::random();
        block_on(first.save_code(digest(round), code(family, NOW + 600))).unwrap();
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let store = if i % 2 == 0 { first.clone() } else { second.clone() };
                let won = won.clone();
                std::thread::spawn(move || match block_on(store.redeem_code(digest(round), "web")).unwrap() {
                    CodeRedemption::Redeemed => {
                        won.fetch_add(1, Ordering::SeqCst);
                    }
                    CodeRedemption::AlreadyRedeemed { family: named } => assert_eq!(named, family),
                    other => panic!("{other:?}"),
                })
            })
            .collect();
        for racer in racers {
            racer.join().unwrap();
        }
        assert_eq!(won.swap(0, Ordering::SeqCst), 1, "round {round}: one redemption across both stores");
    }
}

#[test]
fn a_sweep_deletes_a_bounded_batch_per_table() {
    let dir = tempfile::tempdir().unwrap();
    let store = block_on(SqliteStore::open(dir.path().join("grantry.db"))).unwrap();
    for n in 0..25u8 {
        block_on(store.save_code(digest(n), code(FamilyId::random(), NOW + 60))).unwrap();
        let access = (digest(100 + n), token(TokenKind::Access, None, Some(NOW + 60)));
        block_on(store.save_tokens(IssuedTokens { access, refresh: None })).unwrap();
    }
    let live = (digest(200), token(TokenKind::Access, None, Some(NOW + 100_000)));
    block_on(store.save_tokens(IssuedTokens { access: live, refresh: None })).unwrap();

    let at = NOW + 60;
    let counts = |codes, tokens, families| SweepCounts { codes, tokens, families, ..SweepCounts::default() };
    assert_eq!(block_on(store.sweep(at, 10)).unwrap(), counts(10, 10, 0));
    assert_eq!(block_on(store.sweep(at, 10)).unwrap(), counts(10, 10, 0));
    assert_eq!(block_on(store.sweep(at, 10)).unwrap(), counts(5, 5, 0));
    assert_eq!(block_on(store.sweep(at, 10)).unwrap(), counts(0, 0, 0));
    // The codes' families are kept for the retention after the codes expire.
    let later = at + SqliteStore::FAMILY_RETENTION;
    assert_eq!(block_on(store.sweep(later, 10)).unwrap(), counts(0, 0, 10));
    assert_eq!(block_on(store.sweep_all(later, 10)).unwrap(), counts(0, 0, 15));
    assert!(block_on(store.find_token(digest(200))).unwrap().is_some());
    assert_eq!(block_on(store.sweep(NOW + 1_000, 0)).unwrap(), counts(0, 0, 0), "a batch of 0 deletes nothing");
}

#[test]
fn a_revoked_family_unknown_to_the_store_is_kept_for_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(crate::clock::ManualClock::new(NOW));
    let options = SqliteOptions::default().with_clock(clock.clone()).with_readers(1);
    let store = block_on(SqliteStore::open_with(dir.path().join("grantry.db"), options)).unwrap();
    let family = FamilyId::random();
    block_on(store.revoke_family(family)).unwrap();
    block_on(store.sweep_all(NOW + SqliteStore::FAMILY_RETENTION - 1, 100)).unwrap();
    block_on(store.save_tokens(issuance(digest(1), digest(2), family))).unwrap();
    assert_eq!(block_on(store.find_token(digest(1))).unwrap(), None);
}

#[test]
fn calls_from_many_threads_without_a_runtime_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(block_on(SqliteStore::open(dir.path().join("grantry.db"))).unwrap());
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for n in 0..10u8 {
                    let (access, refresh) = (digest(t * 20 + 2 * n), digest(t * 20 + 2 * n + 1));
                    block_on(store.save_tokens(issuance(access, refresh, FamilyId::random()))).unwrap();
                    assert!(block_on(store.find_token(access)).unwrap().is_some());
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn a_secret_is_made_once_and_kept_across_reopening_and_stores() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("grantry.db");
    let (one, two) = (block_on(SqliteStore::open(&path)).unwrap(), block_on(SqliteStore::open(&path)).unwrap());
    let csrf = block_on(one.secret("csrf")).unwrap();
    assert_eq!(block_on(two.secret("csrf")).unwrap(), csrf, "another store on the file gets the same secret");
    let other = block_on(one.secret("other")).unwrap();
    assert_ne!(other, csrf, "each name has its own secret");
    assert_ne!(csrf, [0; 32]);
    drop((one, two));
    let reopened = block_on(SqliteStore::open(&path)).unwrap();
    assert_eq!(block_on(reopened.secret("csrf")).unwrap(), csrf, "kept across reopening");
}

#[test]
fn two_stores_on_one_file_count_every_early_poll_and_consume_a_pending_authorization_once() {
    use crate::storage::{PendingConsumption, PendingDecision, PendingPoll, PendingRecord, PendingState};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let first = Arc::new(block_on(SqliteStore::open(&path)).unwrap());
    let second = Arc::new(block_on(SqliteStore::open(&path)).unwrap());
    let record = PendingRecord {
        client_id: Arc::from("web"),
        grant_type: GrantType::from_static("urn:ietf:params:oauth:grant-type:device_code"),
        scope: Scope::parse("read").unwrap(),
        requested_scope: None,
        expires_at: NOW + 600,
        interval: 5,
        next_poll_at: NOW + 5,
        state: PendingState::Pending,
    };
    let user_code = ReplayKey::new("test", &["WDJB-MJHT"]);
    assert!(block_on(first.save_pending(digest(1), user_code, record, NOW)).unwrap());
    let store = |i: usize| if i % 2 == 0 { first.clone() } else { second.clone() };

    // Every poll too early is counted: none is lost between the read and the write.
    let polls: Vec<_> = (0..8)
        .map(|i| {
            let store = store(i);
            std::thread::spawn(move || block_on(store.poll_pending(digest(1), "web", NOW)).unwrap())
        })
        .collect();
    for poll in polls {
        assert_eq!(poll.join().unwrap(), PendingPoll::SlowDown);
    }
    let slowed = block_on(second.find_pending(user_code)).unwrap().unwrap();
    assert_eq!((slowed.interval, slowed.next_poll_at), (45, NOW + 45));

    assert!(block_on(second.decide_pending(user_code, PendingDecision::Approve(Arc::from("alice")), NOW)).unwrap());
    let won = Arc::new(AtomicUsize::new(0));
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let (store, won) = (store(i), won.clone());
            std::thread::spawn(move || match block_on(store.consume_pending(digest(1), "web")).unwrap() {
                PendingConsumption::Consumed => {
                    won.fetch_add(1, Ordering::SeqCst);
                }
                PendingConsumption::AlreadyUsed => {}
                other => panic!("{other:?}"),
            })
        })
        .collect();
    for racer in racers {
        racer.join().unwrap();
    }
    assert_eq!(won.load(Ordering::SeqCst), 1, "one consumption across both stores");
}
