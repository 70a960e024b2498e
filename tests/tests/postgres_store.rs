//! The PostgreSQL store where the conformance suite cannot see: restarts (the engine on a
//! `PostgresStore`, stopped and started again on the same schema), several servers on one
//! database (separate pools), start-up on an empty database by servers at once, the schema
//! version, what is stored, bounded sweeps and statements, and what errors show.
//!
//! Each test needs a server at `GRANTRY_TEST_POSTGRES_URL` (see `postgres_support`): without
//! it, it skips, or fails under CI.

mod common;
mod postgres_support;

use common::*;
use grantry_core::storage::{
    Attributes, AuthorizationCodeRecord, AuthorizationCodeStore, CodeRedemption, FamilyId, FirstUse, IssuedTokens,
    PostgresOptions, PostgresStore, RefreshRotation, ReplayKey, ReplayStore, StoredCode, SweepCounts, TokenKind,
    TokenRecord, TokenStore,
};
use grantry_core::{
    AuthorizationServer, ClientRecord, Consent, GrantType, Scope, ServerConfig, Timestamp, TokenDigest,
};
use postgres_support::{Schemas, raw};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NOW: Timestamp = 1_700_000_000;

/// The schema version this grantry writes (3: codes, tokens and families; single-use records;
/// pending authorizations).
const SCHEMA_VERSION: i32 = 3;

fn digest(n: u32) -> TokenDigest {
    TokenDigest::of(&format!("credential-{n}"))
}

fn code_record(family: FamilyId, expires_at: Timestamp) -> AuthorizationCodeRecord {
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

/// A server on the store in `schema`, with the `web` client and alice.
async fn server(url: &str, schema: &str) -> AuthorizationServer {
    let store = PostgresStore::connect_with(url, postgres_support::options(schema)).await.expect("connect");
    let web = ClientRecord::confidential(WEB.0, WEB.1)
        .with_redirect_uri(WEB_REDIRECT)
        .with_grant_types([GrantType::AUTHORIZATION_CODE, GrantType::REFRESH_TOKEN])
        .with_scope(FULL_SCOPE);
    store.add_client(web).expect("valid client");
    store.add_user(USERNAME, PASSWORD);
    let mut server = AuthorizationServer::new(store, ServerConfig::new(ISSUER).expect("issuer"));
    register_all_grants(&mut server);
    server
}

async fn code(server: &AuthorizationServer) -> String {
    let params = [("response_type", "code"), ("client_id", WEB.0), ("redirect_uri", WEB_REDIRECT)];
    let request = server.validate_authorization_request(&authorize_request(&params)).await.expect("valid request");
    let response = server.create_authorization_response(&request, Consent::allow(USERNAME)).await;
    Redirect::of(&response).query_param("code").expect("a code").to_owned()
}

async fn live(server: &AuthorizationServer, token: &str) -> bool {
    server.storage().tokens.find_token(TokenDigest::of(token)).await.expect("the store answers").is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_single_use_survive_restarts() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url.clone());
    let schema = schemas.fresh();

    // First run: a code, exchanged for tokens; a second code, left unused.
    let first = server(&url, &schema).await;
    let code_used = code(&first).await;
    let code_unused = code(&first).await;
    let tokens = token_json(&first.token_endpoint(&code_exchange_request(WEB, &code_used, Some(WEB_REDIRECT))).await);
    let (access, refresh) = (field(&tokens, "access_token"), field(&tokens, "refresh_token"));
    drop(first);

    // Second run: the tokens work, the refresh token rotates, the unused code redeems.
    let second = server(&url, &schema).await;
    assert!(live(&second, &access).await, "an issued access token is lost after a restart");
    let refresh_form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    let refreshed = token_json(&second.token_endpoint(&basic_token_request(WEB, &refresh_form)).await);
    let (new_access, new_refresh) = (field(&refreshed, "access_token"), field(&refreshed, "refresh_token"));
    let other = token_json(&second.token_endpoint(&code_exchange_request(WEB, &code_unused, Some(WEB_REDIRECT))).await);
    let other_access = field(&other, "access_token");
    drop(second);

    // Third run: replaying the used code is refused and revokes what it produced, the
    // rotated refresh token included; the other code's tokens stay.
    let third = server(&url, &schema).await;
    let replay = third.token_endpoint(&code_exchange_request(WEB, &code_used, Some(WEB_REDIRECT))).await;
    assert_error(&replay, 400, "invalid_grant");
    for token in [&access, &new_access, &new_refresh] {
        assert!(!live(&third, token).await, "a token of a replayed code's family survived");
    }
    assert!(live(&third, &other_access).await, "another authorization's token was revoked");
    drop(third);

    // Fourth run: the old refresh token is still spent, and the revocation still holds.
    let fourth = server(&url, &schema).await;
    let stale = fourth.token_endpoint(&basic_token_request(WEB, &refresh_form)).await;
    assert_error(&stale, 400, "invalid_grant");
    let new_refresh_form = [("grant_type", "refresh_token"), ("refresh_token", new_refresh.as_str())];
    assert_error(&fourth.token_endpoint(&basic_token_request(WEB, &new_refresh_form)).await, 400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_use_and_revocation_survive_reconnecting() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url.clone());
    let schema = schemas.fresh();
    let (family, revoked) = (FamilyId::random(), FamilyId::random());
    {
        let store = PostgresStore::connect_with(&url, postgres_support::options(&schema)).await.unwrap();
        store.save_code(digest(1), code_record(family, NOW + 600)).await.unwrap();
        store.save_code(digest(2), code_record(family, NOW + 600)).await.unwrap();
        assert_eq!(store.redeem_code(digest(1), "web").await.unwrap(), CodeRedemption::Redeemed);
        store.save_tokens(issuance(digest(3), digest(4), family)).await.unwrap();
        assert_eq!(store.rotate_refresh_token(digest(4), "web").await.unwrap(), RefreshRotation::Rotated);
        store.save_tokens(issuance(digest(5), digest(6), family)).await.unwrap();
        store.revoke_family(revoked).await.unwrap();
    }
    let store = PostgresStore::connect_with(&url, postgres_support::options(&schema)).await.unwrap();
    assert_eq!(store.redeem_code(digest(1), "web").await.unwrap(), CodeRedemption::AlreadyRedeemed { family });
    assert_eq!(
        store.find_code(digest(1)).await.unwrap(),
        Some(StoredCode::Redeemed { client_id: "web".into(), family })
    );
    assert_eq!(store.find_code(digest(2)).await.unwrap(), Some(StoredCode::Live(code_record(family, NOW + 600))));
    assert_eq!(
        store.rotate_refresh_token(digest(4), "web").await.unwrap(),
        RefreshRotation::AlreadyRotated { family: Some(family) }
    );
    assert_eq!(store.find_token(digest(6)).await.unwrap(), issuance(digest(5), digest(6), family).refresh.map(|t| t.1));
    store.save_tokens(issuance(digest(7), digest(8), revoked)).await.unwrap();
    assert_eq!(store.find_token(digest(7)).await.unwrap(), None, "a revocation must survive a restart");
}

/// Two stores on one schema, each with its own pool: two servers sharing the database.
async fn two_servers(schemas: &Schemas) -> (Arc<PostgresStore>, Arc<PostgresStore>) {
    let schema = schemas.fresh();
    let first = PostgresStore::connect_with(schemas.url(), postgres_support::options(&schema)).await.unwrap();
    let second = PostgresStore::connect_with(schemas.url(), postgres_support::options(&schema)).await.unwrap();
    (Arc::new(first), Arc::new(second))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_see_each_others_writes() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url);
    let (first, second) = two_servers(&schemas).await;
    let family = FamilyId::random();

    first.save_code(digest(1), code_record(family, NOW + 600)).await.unwrap();
    assert_eq!(second.find_code(digest(1)).await.unwrap(), Some(StoredCode::Live(code_record(family, NOW + 600))));
    assert_eq!(second.redeem_code(digest(1), "other").await.unwrap(), CodeRedemption::WrongClient);
    assert_eq!(second.redeem_code(digest(1), "web").await.unwrap(), CodeRedemption::Redeemed);
    assert_eq!(first.redeem_code(digest(1), "web").await.unwrap(), CodeRedemption::AlreadyRedeemed { family });

    first.save_tokens(issuance(digest(2), digest(3), family)).await.unwrap();
    assert!(
        second.find_token(digest(2)).await.unwrap().is_some(),
        "a token saved by one server is unknown to the other"
    );
    assert_eq!(second.rotate_refresh_token(digest(3), "web").await.unwrap(), RefreshRotation::Rotated);
    assert_eq!(first.find_token(digest(3)).await.unwrap(), None, "a rotated refresh token is still found elsewhere");

    // A revocation on one server holds on the other at once, for saves that come later too.
    second.revoke_family(family).await.unwrap();
    assert_eq!(first.find_token(digest(2)).await.unwrap(), None, "a revoked token still works on the other server");
    first.save_tokens(issuance(digest(4), digest(5), family)).await.unwrap();
    assert_eq!(second.find_token(digest(4)).await.unwrap(), None);
    assert_eq!(first.find_token(digest(4)).await.unwrap(), None);
    assert!(second.revoke_token(digest(2)).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_race_a_redemption_and_a_rotation_with_one_winner() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url);
    let (first, second) = two_servers(&schemas).await;
    for round in 0..20u32 {
        let family = FamilyId::random();
        first.save_code(digest(round), code_record(family, NOW + 600)).await.unwrap();
        second.save_tokens(issuance(digest(1_000 + round), digest(2_000 + round), family)).await.unwrap();
        let racers: Vec<_> = (0..16)
            .map(|i| {
                let store = if i % 2 == 0 { first.clone() } else { second.clone() };
                tokio::spawn(async move {
                    let redeemed = match store.redeem_code(digest(round), "web").await.unwrap() {
                        CodeRedemption::Redeemed => 1,
                        CodeRedemption::AlreadyRedeemed { family: named } => {
                            assert_eq!(named, family);
                            0
                        }
                        other => panic!("{other:?}"),
                    };
                    let rotated = match store.rotate_refresh_token(digest(2_000 + round), "web").await.unwrap() {
                        RefreshRotation::Rotated => 1,
                        RefreshRotation::AlreadyRotated { family: named } => {
                            assert_eq!(named, Some(family));
                            0
                        }
                        other => panic!("{other:?}"),
                    };
                    (redeemed, rotated)
                })
            })
            .collect();
        let (mut redeemed, mut rotated) = (0, 0);
        for racer in racers {
            let (r, t) = racer.await.unwrap();
            redeemed += r;
            rotated += t;
        }
        assert_eq!(redeemed, 1, "round {round}: one redemption across both servers");
        assert_eq!(rotated, 1, "round {round}: one rotation across both servers");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_starting_together_on_an_empty_database_all_start() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url.clone());
    let schema = schemas.fresh();
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let (url, options) = (url.clone(), postgres_support::options(&schema).with_pool_size(1));
            tokio::spawn(async move { PostgresStore::connect_with(&url, options).await })
        })
        .collect();
    let mut stores = Vec::new();
    for start in starts {
        stores.push(start.await.unwrap().expect("a server starting beside others fails"));
    }
    // One schema, migrated once: every store sees the others' rows.
    stores[0].save_code(digest(1), code_record(FamilyId::random(), NOW + 600)).await.unwrap();
    for store in &stores {
        store.ping().await.unwrap();
        assert!(store.find_code(digest(1)).await.unwrap().is_some());
    }
    let client = raw(&url).await;
    let version: i32 =
        client.query_one(&format!("SELECT version FROM {schema}.grantry_schema_version"), &[]).await.unwrap().get(0);
    assert_eq!(version, SCHEMA_VERSION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_a_newer_schema_is_refused() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url.clone());
    let schema = schemas.fresh();
    drop(PostgresStore::connect_with(&url, postgres_support::options(&schema)).await.unwrap());
    raw(&url).await.batch_execute(&format!("UPDATE {schema}.grantry_schema_version SET version = 99")).await.unwrap();
    let err = PostgresStore::connect_with(&url, postgres_support::options(&schema)).await.unwrap_err();
    assert!(err.to_string().contains("version 99"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_the_first_schema_gains_the_single_use_records_and_keeps_its_tokens() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url.clone());
    let schema = schemas.fresh();
    let store = PostgresStore::connect_with(&url, postgres_support::options(&schema)).await.unwrap();
    store.save_tokens(issuance(digest(1), digest(2), FamilyId::random())).await.unwrap();
    drop(store);
    // Back to what version 1 wrote.
    raw(&url)
        .await
        .batch_execute(&format!(
            "DROP TABLE {schema}.grantry_replays; DROP TABLE {schema}.grantry_secrets; DROP TABLE {schema}.grantry_failures; \
             DROP TABLE {schema}.grantry_pending; UPDATE {schema}.grantry_schema_version SET version = 1"
        ))
        .await
        .unwrap();

    let store = PostgresStore::connect_with(&url, postgres_support::options(&schema)).await.unwrap();
    assert!(store.find_token(digest(1)).await.unwrap().is_some());
    let key = ReplayKey::new("test", &["form"]);
    assert_eq!(store.record_use(key, NOW + 600, NOW).await.unwrap(), FirstUse::First);
    assert_eq!(store.record_use(key, NOW + 600, NOW).await.unwrap(), FirstUse::AlreadyUsed);
    let version: i32 = raw(&url)
        .await
        .query_one(&format!("SELECT version FROM {schema}.grantry_schema_version"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, SCHEMA_VERSION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_share_single_use_records() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url);
    let (first, second) = two_servers(&schemas).await;
    for round in 0..20u32 {
        let key = ReplayKey::new("test", &["race", &round.to_string()]);
        let racers: Vec<_> = (0..16)
            .map(|i| {
                let store = if i % 2 == 0 { first.clone() } else { second.clone() };
                tokio::spawn(async move { store.record_use(key, NOW + 600, NOW).await.unwrap() })
            })
            .collect();
        let mut firsts = 0;
        for racer in racers {
            match racer.await.unwrap() {
                FirstUse::First => firsts += 1,
                FirstUse::AlreadyUsed => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(firsts, 1, "round {round}: one first use across both servers");
        assert_eq!(first.record_use(key, NOW + 600, NOW + 600).await.unwrap(), FirstUse::AlreadyUsed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_digests_are_stored_and_a_write_is_committed_when_its_call_returns() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url.clone());
    let store = schemas.store().await;
    let schema = store.schema().unwrap().to_owned();
    let family = FamilyId::random();
    store.save_tokens(issuance(digest(1), digest(2), family)).await.unwrap();
    store.save_code(digest(3), code_record(family, NOW + 600)).await.unwrap();
    // Another connection (another server) sees the rows at once: they are committed.
    let client = raw(&url).await;
    let stored: Vec<Vec<u8>> = client
        .query(&format!("SELECT digest FROM {schema}.grantry_tokens ORDER BY kind"), &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(stored, [digest(1).as_bytes().to_vec(), digest(2).as_bytes().to_vec()]);
    let everything: String = client
        .query_one(
            &format!(
                "SELECT (SELECT string_agg(t::text, '') FROM {schema}.grantry_tokens t)
                     || (SELECT string_agg(c::text, '') FROM {schema}.grantry_codes c)"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!everything.contains("credential-"), "a credential is stored in the clear: {everything}");
    assert_eq!(store.redeem_code(digest(3), "web").await.unwrap(), CodeRedemption::Redeemed);
    let row = client
        .query_one(
            &format!("SELECT redeemed, subject FROM {schema}.grantry_codes WHERE digest = $1"),
            &[&&digest(3).as_bytes()[..]],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the redemption is committed when redeem_code returns");
    assert_eq!(row.get::<_, Option<String>>(1), None, "a redeemed code keeps only what a replay needs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_deletes_a_bounded_batch_per_table() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url);
    let store = schemas.store().await;
    for n in 0..25u32 {
        store.save_code(digest(n), code_record(FamilyId::random(), NOW + 60)).await.unwrap();
        let access = (digest(100 + n), token(TokenKind::Access, None, Some(NOW + 60)));
        store.save_tokens(IssuedTokens { access, refresh: None }).await.unwrap();
    }
    let live = (digest(200), token(TokenKind::Access, None, Some(NOW + 100_000)));
    store.save_tokens(IssuedTokens { access: live, refresh: None }).await.unwrap();

    let at = NOW + 60;
    let counts = |codes, tokens, families| {
        let mut counts = SweepCounts::default();
        (counts.codes, counts.tokens, counts.families) = (codes, tokens, families);
        counts
    };

    assert_eq!(store.sweep(at - 1, 10).await.unwrap(), counts(0, 0, 0), "nothing has expired yet");
    assert_eq!(store.sweep(at, 10).await.unwrap(), counts(10, 10, 0));
    assert_eq!(store.sweep(at, 10).await.unwrap(), counts(10, 10, 0));
    assert_eq!(store.sweep(at, 10).await.unwrap(), counts(5, 5, 0));
    assert_eq!(store.sweep(at, 10).await.unwrap(), counts(0, 0, 0));
    // The codes' families are kept for the retention after the codes expire.
    let later = at + PostgresStore::FAMILY_RETENTION;
    assert_eq!(store.sweep(later, 10).await.unwrap(), counts(0, 0, 10));
    assert_eq!(store.sweep_all(later, 10).await.unwrap(), counts(0, 0, 15));
    assert!(store.find_token(digest(200)).await.unwrap().is_some());
    assert_eq!(store.sweep(NOW + 1_000, 0).await.unwrap(), counts(0, 0, 0), "a batch of 0 deletes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_use_records_are_swept_past_their_expiry_second_in_batches() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url);
    let store = schemas.store().await;
    let key = |n: u32| ReplayKey::new("test", &[&n.to_string()]);
    for n in 0..5 {
        assert_eq!(store.record_use(key(n), NOW + 60, NOW).await.unwrap(), FirstUse::First);
    }
    assert_eq!(store.record_use(key(99), NOW + 6_000, NOW).await.unwrap(), FirstUse::First);
    assert_eq!(store.sweep(NOW + 60, 2).await.unwrap().total(), 0, "kept through the expiry second");
    assert_eq!(store.sweep(NOW + 61, 2).await.unwrap().replays, 2);
    assert_eq!(store.sweep_all(NOW + 61, 2).await.unwrap().replays, 3);
    assert_eq!(store.record_use(key(0), NOW + 600, NOW + 61).await.unwrap(), FirstUse::First, "swept: usable again");
    assert_eq!(
        store.record_use(key(99), NOW + 6_000, NOW + 61).await.unwrap(),
        FirstUse::AlreadyUsed,
        "a live record was swept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_stuck_behind_a_lock_fails_after_the_statement_timeout() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url.clone());
    let schema = schemas.fresh();
    let options = postgres_support::options(&schema).with_statement_timeout(Duration::from_millis(300));
    let store = PostgresStore::connect_with(&url, options).await.unwrap();
    store.save_code(digest(1), code_record(FamilyId::random(), NOW + 600)).await.unwrap();
    // Another session holds the code's row.
    let mut holder = raw(&url).await;
    let transaction = holder.transaction().await.unwrap();
    transaction
        .execute(
            &format!("SELECT 1 FROM {schema}.grantry_codes WHERE digest = $1 FOR UPDATE"),
            &[&&digest(1).as_bytes()[..]],
        )
        .await
        .unwrap();
    let started = Instant::now();
    let err = store.redeem_code(digest(1), "web").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "waited {:?}", started.elapsed());
    assert!(err.to_string().contains("statement timeout"), "{err}");
    transaction.rollback().await.unwrap();
    // Nothing changed: the code still redeems once the lock is gone.
    assert_eq!(store.redeem_code(digest(1), "web").await.unwrap(), CodeRedemption::Redeemed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_debug_output_never_show_the_connection_string() {
    let Some(url) = postgres_support::url() else { return };
    let password = "hunter2-not-shown";
    let and = if url.contains('?') { '&' } else { '?' };
    // Unparsable, unreachable (nothing listens on port 9), and refused for its TLS demand.
    let bad = [
        format!("postgres://grantry:{password}@127.0.0.1:9/grantry?no_such_option=1"),
        format!("postgres://grantry:{password}@127.0.0.1:9/grantry"),
        format!("{url}{and}sslmode=require&password={password}"),
    ];
    for bad in &bad {
        let options = PostgresOptions::default().with_connect_timeout(Duration::from_secs(2));
        let err = PostgresStore::connect_with(bad, options).await.expect_err("must not connect");
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains(password) && !shown.contains("127.0.0.1:9"), "{shown}");
        }
    }
    let schemas = Schemas::new(format!("{url}{and}password={password}"));
    let store = schemas.store().await;
    let debug = format!("{store:?}");
    assert!(!debug.contains(password) && !debug.contains("postgres://"), "{debug}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_name_that_would_need_quoting_is_refused() {
    let Some(url) = postgres_support::url() else { return };
    for name in ["", "Grantry", "1grantry", "grantry; DROP TABLE x", "grantry-test", &"g".repeat(64)] {
        let err = PostgresStore::connect_with(&url, PostgresOptions::default().with_schema(name)).await.unwrap_err();
        assert!(err.to_string().contains("schema name"), "{name:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_secret_is_made_once_and_shared_by_every_store_on_the_schema() {
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url.clone());
    let schema = schemas.fresh();
    let open = || PostgresStore::connect_with(&url, postgres_support::options(&schema));
    let (one, two) = (open().await.unwrap(), open().await.unwrap());
    let (a, b) = tokio::join!(one.secret("csrf"), two.secret("csrf"));
    let csrf = a.unwrap();
    assert_eq!(b.unwrap(), csrf, "two servers starting at once end with one secret");
    assert_ne!(csrf, [0; 32]);
    assert_ne!(one.secret("other").await.unwrap(), csrf, "each name has its own secret");
    drop((one, two));
    assert_eq!(open().await.unwrap().secret("csrf").await.unwrap(), csrf, "kept across reconnecting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_count_every_early_poll_and_consume_a_pending_authorization_once() {
    use grantry_core::storage::{
        PendingAuthorizationStore, PendingConsumption, PendingDecision, PendingPoll, PendingRecord, PendingState,
    };
    let Some(url) = postgres_support::url() else { return };
    let schemas = Schemas::new(url);
    let (first, second) = two_servers(&schemas).await;
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
    assert!(first.save_pending(digest(1), user_code, record.clone(), NOW).await.unwrap());
    assert!(!second.save_pending(digest(2), user_code, record, NOW).await.unwrap(), "the user code is taken");
    let store = |i: usize| if i % 2 == 0 { first.clone() } else { second.clone() };

    // Every poll too early is counted, on either server: none is lost between read and write.
    let polls: Vec<_> = (0..16)
        .map(|i| {
            let store = store(i);
            tokio::spawn(async move { store.poll_pending(digest(1), "web", NOW).await.unwrap() })
        })
        .collect();
    for poll in polls {
        assert_eq!(poll.await.unwrap(), PendingPoll::SlowDown);
    }
    let slowed = second.find_pending(user_code).await.unwrap().unwrap();
    assert_eq!((slowed.interval, slowed.next_poll_at), (85, NOW + 85));

    let approve = |subject: &str| PendingDecision::Approve(Arc::from(subject));
    let decisions: Vec<_> = (0..16)
        .map(|i| {
            let (store, decision) = (store(i), approve(&format!("user-{i}")));
            tokio::spawn(async move { store.decide_pending(user_code, decision, NOW).await.unwrap() })
        })
        .collect();
    let mut decided = 0;
    for decision in decisions {
        decided += usize::from(decision.await.unwrap());
    }
    assert_eq!(decided, 1, "one decision across both servers");

    let racers: Vec<_> = (0..16)
        .map(|i| {
            let store = store(i);
            tokio::spawn(async move { store.consume_pending(digest(1), "web").await.unwrap() })
        })
        .collect();
    let mut consumed = 0;
    for racer in racers {
        match racer.await.unwrap() {
            PendingConsumption::Consumed => consumed += 1,
            PendingConsumption::AlreadyUsed => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(consumed, 1, "one consumption across both servers");
}
