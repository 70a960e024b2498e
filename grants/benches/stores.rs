// Benchmark setup may panic: a panic here is a broken benchmark, not a request-driven failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Each operation on the SQLite and PostgreSQL stores next to its floor: the SQL statements the
//! operation issues, run directly through the same driver on the same schema, in the same run.
//! What the engine adds over them (parsing, client authentication, scope, token generation,
//! digests, JSON, the store's thread or pool hop) is the ratio.
//!
//! ```sh
//! cargo bench -p grantry-grants --bench stores
//! GRANTRY_TEST_POSTGRES_URL=$(bash .ci/postgres.sh) cargo bench -p grantry-grants --bench stores
//! ```
//!
//! The floors:
//!
//! - **client_credentials**: one transaction inserting the access token's row.
//! - **refresh_token with rotation**: the lookup of the refresh token (the engine reads it
//!   before it consumes it, so that a refused request changes nothing), then one transaction
//!   that retires it with a conditional `UPDATE`, upserts the family's row (checking it is not
//!   revoked) and inserts the new access and refresh tokens' rows.
//! - **one hand-off**: the lookup of an unknown token, through the store's `find_token` and
//!   as the bare `SELECT`: the difference is what one call into the store costs over the
//!   statement it runs (for SQLite, the hop to a store thread and back).
//!
//! SQLite runs at `synchronous = FULL` (the default: every commit synced before the answer)
//! and `NORMAL` (synced at checkpoints). `GRANTRY_BENCH_OPS` sets the operations per batch
//! (default 200), `GRANTRY_BENCH_ROUNDS` the batches (default 5); each row is the median of
//! the batches, taken in turns with its floor's, and of their ratios.

use base64::Engine as _;
use grantry_core::request::FormBody;
use grantry_core::storage::{
    PostgresOptions, PostgresStore, SqliteOptions, SqliteStore, Storage, Synchronous, TokenStore,
};
use grantry_core::{AuthorizationServer, ClientRecord, GrantType, ServerConfig, TokenDigest, http};
use grantry_grants::{ClientCredentialsGrant, PasswordGrant, RefreshTokenGrant};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ISSUER: &str = "https://as.example";
fn ops() -> usize {
    std::env::var("GRANTRY_BENCH_OPS").ok().and_then(|n| n.parse().ok()).unwrap_or(200)
}

/// Batches of each operation, taken in turns with its floor's (on a loaded machine, more and
/// smaller batches give steadier medians).
fn rounds() -> usize {
    std::env::var("GRANTRY_BENCH_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(5)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    bytes
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

// --- the engine ------------------------------------------------------------------------------

/// A server on `storage` with client_credentials, password (to start a refresh chain) and
/// refresh_token, and the clients `svc` and `web`, user `alice`.
fn server(storage: Storage) -> AuthorizationServer {
    let mut server = AuthorizationServer::new(storage, ServerConfig::new(ISSUER).unwrap());
    server.register_grant(ClientCredentialsGrant::new(), ()).unwrap();
    server.register_grant(PasswordGrant::new(), ()).unwrap();
    server.register_grant(RefreshTokenGrant::new(), ()).unwrap();
    server
}

fn clients() -> [ClientRecord; 2] {
    [
        ClientRecord::confidential("svc", "svc-secret")
            .with_grant_types([GrantType::CLIENT_CREDENTIALS])
            .with_scope("read"),
        ClientRecord::confidential("web", "web-secret")
            .with_grant_types([GrantType::PASSWORD, GrantType::REFRESH_TOKEN])
            .with_scope("read"),
    ]
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

async fn token(server: &AuthorizationServer, authorization: &str, form: &[(&str, &str)]) -> serde_json::Value {
    let request = http::Request::post("/token").header("Authorization", authorization).form(form).unwrap();
    let response = server.token_endpoint(&request).await;
    let json: Option<serde_json::Value> = serde_json::from_slice(response.body()).ok();
    assert_eq!(response.status(), 200, "{json:?}");
    json.unwrap_or_default()
}

/// `n` client_credentials requests, timed.
async fn engine_client_credentials(server: &AuthorizationServer, n: usize) -> Duration {
    let authorization = basic("svc", "svc-secret");
    let start = Instant::now();
    for _ in 0..n {
        token(server, &authorization, &[("grant_type", "client_credentials")]).await;
    }
    start.elapsed()
}

/// `n` refreshes, each with the refresh token the one before gave, timed.
async fn engine_refresh(server: &AuthorizationServer, n: usize) -> Duration {
    let authorization = basic("web", "web-secret");
    let form = [("grant_type", "password"), ("username", "alice"), ("password", "wonderland")];
    let mut refresh = token(server, &authorization, &form).await["refresh_token"].as_str().unwrap().to_owned();
    let start = Instant::now();
    for _ in 0..n {
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
        refresh = token(server, &authorization, &form).await["refresh_token"].as_str().unwrap().to_owned();
    }
    start.elapsed()
}

/// `n` lookups of unknown tokens through the store, timed.
async fn engine_lookup(store: &dyn TokenStore, n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        assert!(store.find_token(TokenDigest::from_bytes(random_bytes())).await.unwrap().is_none());
    }
    start.elapsed()
}

/// The stores' `find_token`.
const FIND_TOKEN_SQLITE: &str = "SELECT kind, client_id, subject, scope, grant_type, issued_at, expires_at, family,
     attributes FROM grantry_tokens WHERE digest = ?1 AND retired = 0";
const FIND_TOKEN_POSTGRES: &str = "SELECT kind, client_id, subject, scope, grant_type, issued_at, expires_at, family,
     attributes FROM grantry_tokens WHERE digest = $1 AND NOT retired";

// --- the SQLite floor ------------------------------------------------------------------------

const INSERT_TOKEN_SQLITE: &str = "INSERT INTO grantry_tokens (digest, kind, client_id, subject, scope, grant_type,
     issued_at, expires_at, family, retired, attributes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, NULL)";

fn insert_token_sqlite(
    transaction: &rusqlite::Transaction<'_>,
    digest: &[u8],
    kind: &str,
    family: Option<&[u8]>,
) -> rusqlite::Result<()> {
    let grant_type = if kind == "refresh" { "refresh_token" } else { "client_credentials" };
    transaction.prepare_cached(INSERT_TOKEN_SQLITE)?.execute(rusqlite::params![
        digest,
        kind,
        "svc",
        Option::<&str>::None,
        "read",
        grant_type,
        now(),
        now() + 3600,
        family,
    ])?;
    Ok(())
}

fn floor_client_credentials_sqlite(connection: &mut rusqlite::Connection, n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        insert_token_sqlite(&transaction, &random_bytes::<32>(), "access", None).unwrap();
        transaction.commit().unwrap();
    }
    start.elapsed()
}

fn floor_refresh_sqlite(connection: &mut rusqlite::Connection, n: usize) -> Duration {
    let family = random_bytes::<16>();
    let mut refresh = random_bytes::<32>();
    {
        let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        insert_token_sqlite(&transaction, &refresh, "refresh", Some(&family)).unwrap();
        transaction.commit().unwrap();
    }
    let start = Instant::now();
    for _ in 0..n {
        // The lookup before the token is consumed (a refused request must change nothing).
        let found: i64 = connection
            .prepare_cached(
                "SELECT count(*) FROM (SELECT kind, client_id, subject, scope, grant_type, issued_at, expires_at,
                 family, attributes FROM grantry_tokens WHERE digest = ?1 AND retired = 0)",
            )
            .unwrap()
            .query_row([&refresh[..]], |row| row.get(0))
            .unwrap();
        assert_eq!(found, 1);
        let transaction = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        let retired = transaction
            .prepare_cached(
                "UPDATE grantry_tokens SET retired = 1
                 WHERE digest = ?1 AND client_id = ?2 AND kind = 'refresh' AND retired = 0",
            )
            .unwrap()
            .execute(rusqlite::params![&refresh[..], "svc"])
            .unwrap();
        assert_eq!(retired, 1);
        let revoked: Option<bool> = rusqlite::OptionalExtension::optional(
            transaction
                .prepare_cached("SELECT revoked FROM grantry_families WHERE id = ?1")
                .unwrap()
                .query_row([&family[..]], |row| row.get(0)),
        )
        .unwrap();
        assert_ne!(revoked, Some(true));
        transaction
            .prepare_cached(
                "INSERT INTO grantry_families (id, revoked, expires_at) VALUES (?1, 0, ?2)
                 ON CONFLICT (id) DO UPDATE SET expires_at = max(grantry_families.expires_at, excluded.expires_at)",
            )
            .unwrap()
            .execute(rusqlite::params![&family[..], now() + 3600])
            .unwrap();
        insert_token_sqlite(&transaction, &random_bytes::<32>(), "access", Some(&family)).unwrap();
        refresh = random_bytes::<32>();
        insert_token_sqlite(&transaction, &refresh, "refresh", Some(&family)).unwrap();
        transaction.commit().unwrap();
    }
    start.elapsed()
}

fn floor_lookup_sqlite(connection: &rusqlite::Connection, n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let mut select = connection.prepare_cached(FIND_TOKEN_SQLITE).unwrap();
        assert!(select.query([&random_bytes::<32>()[..]]).unwrap().next().unwrap().is_none());
    }
    start.elapsed()
}

/// A connection to a file with the store's schema (made by opening a store on it), set as the
/// store sets its writer.
async fn floor_connection_sqlite(path: &std::path::Path, synchronous: Synchronous) -> rusqlite::Connection {
    drop(SqliteStore::open(path).await.unwrap());
    let connection = rusqlite::Connection::open(path).unwrap();
    let _: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).unwrap();
    let level = if synchronous == Synchronous::Full { "FULL" } else { "NORMAL" };
    connection.pragma_update(None, "synchronous", level).unwrap();
    connection
}

// --- the PostgreSQL floor --------------------------------------------------------------------

const INSERT_TOKEN_POSTGRES: &str = "INSERT INTO grantry_tokens (digest, kind, client_id, subject, scope, grant_type,
     issued_at, expires_at, family, retired, attributes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, false, NULL)";

async fn insert_token_postgres(
    transaction: &tokio_postgres::Transaction<'_>,
    insert: &tokio_postgres::Statement,
    digest: &[u8],
    kind: &str,
    family: Option<&[u8]>,
) {
    let grant_type = if kind == "refresh" { "refresh_token" } else { "client_credentials" };
    let subject: Option<&str> = None;
    let values: [&(dyn tokio_postgres::types::ToSql + Sync); 9] =
        [&digest, &kind, &"svc", &subject, &"read", &grant_type, &now(), &(now() + 3600), &family];
    transaction.execute(insert, &values).await.unwrap();
}

async fn floor_client_credentials_postgres(client: &mut tokio_postgres::Client, n: usize) -> Duration {
    let insert = client.prepare(INSERT_TOKEN_POSTGRES).await.unwrap();
    let start = Instant::now();
    for _ in 0..n {
        let transaction = client.transaction().await.unwrap();
        insert_token_postgres(&transaction, &insert, &random_bytes::<32>(), "access", None).await;
        transaction.commit().await.unwrap();
    }
    start.elapsed()
}

async fn floor_refresh_postgres(client: &mut tokio_postgres::Client, n: usize) -> Duration {
    let family = random_bytes::<16>();
    let mut refresh = random_bytes::<32>();
    let insert = client.prepare(INSERT_TOKEN_POSTGRES).await.unwrap();
    let transaction = client.transaction().await.unwrap();
    insert_token_postgres(&transaction, &insert, &refresh, "refresh", Some(&family[..])).await;
    transaction.commit().await.unwrap();
    let retire = client
        .prepare(
            "UPDATE grantry_tokens SET retired = true
             WHERE digest = $1 AND client_id = $2 AND kind = 'refresh' AND NOT retired",
        )
        .await
        .unwrap();
    let upsert = client
        .prepare(
            "INSERT INTO grantry_families AS f (id, revoked, expires_at) VALUES ($1, false, $2)
             ON CONFLICT (id) DO UPDATE SET expires_at = greatest(f.expires_at, excluded.expires_at)
             RETURNING revoked",
        )
        .await
        .unwrap();
    let find = client
        .prepare(
            "SELECT kind, client_id, subject, scope, grant_type, issued_at, expires_at, family, attributes
             FROM grantry_tokens WHERE digest = $1 AND NOT retired",
        )
        .await
        .unwrap();
    let start = Instant::now();
    for _ in 0..n {
        // The lookup before the token is consumed (a refused request must change nothing).
        assert_eq!(client.query(&find, &[&&refresh[..]]).await.unwrap().len(), 1);
        let transaction = client.transaction().await.unwrap();
        let revoked: bool = transaction.query_one(&upsert, &[&&family[..], &(now() + 3600)]).await.unwrap().get(0);
        assert!(!revoked);
        assert_eq!(transaction.execute(&retire, &[&&refresh[..], &"svc"]).await.unwrap(), 1);
        insert_token_postgres(&transaction, &insert, &random_bytes::<32>(), "access", Some(&family[..])).await;
        refresh = random_bytes::<32>();
        insert_token_postgres(&transaction, &insert, &refresh, "refresh", Some(&family[..])).await;
        transaction.commit().await.unwrap();
    }
    start.elapsed()
}

async fn floor_lookup_postgres(client: &tokio_postgres::Client, n: usize) -> Duration {
    let find = client.prepare(FIND_TOKEN_POSTGRES).await.unwrap();
    let start = Instant::now();
    for _ in 0..n {
        assert!(client.query_opt(&find, &[&&random_bytes::<32>()[..]]).await.unwrap().is_none());
    }
    start.elapsed()
}

// --- the report ------------------------------------------------------------------------------

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn per_op(elapsed: Duration, n: usize) -> f64 {
    elapsed.as_secs_f64() * 1e6 / n as f64
}

fn print_row(name: &str, engine: Vec<f64>, floor: Vec<f64>) {
    let ratios: Vec<f64> = engine.iter().zip(&floor).map(|(e, f)| e / f).collect();
    println!("{name:<52} {:>9.1} µs {:>9.1} µs {:>6.2}x", median(engine), median(floor), median(ratios));
}

async fn sqlite(synchronous: Synchronous, n: usize) {
    let folder = tempfile::tempdir().unwrap();
    let options = SqliteOptions::default().with_synchronous(synchronous);
    let store = Arc::new(SqliteStore::open_with(folder.path().join("engine.db"), options).await.unwrap());
    for client in clients() {
        store.add_client(client).unwrap();
    }
    store.add_user("alice", "wonderland");
    let server = server(Storage::single(store.clone()));
    let mut floor = floor_connection_sqlite(&folder.path().join("floor.db"), synchronous).await;
    let label = if synchronous == Synchronous::Full { "FULL" } else { "NORMAL" };
    let (mut engine_cc, mut floor_cc, mut engine_rt, mut floor_rt) = (vec![], vec![], vec![], vec![]);
    let (mut engine_find, mut floor_find) = (vec![], vec![]);
    for _ in 0..rounds() {
        engine_cc.push(per_op(engine_client_credentials(&server, n).await, n));
        floor_cc.push(per_op(floor_client_credentials_sqlite(&mut floor, n), n));
        engine_rt.push(per_op(engine_refresh(&server, n).await, n));
        floor_rt.push(per_op(floor_refresh_sqlite(&mut floor, n), n));
        engine_find.push(per_op(engine_lookup(&*store, n).await, n));
        floor_find.push(per_op(floor_lookup_sqlite(&floor, n), n));
    }
    print_row(&format!("SQLite {label}: client_credentials"), engine_cc, floor_cc);
    print_row(&format!("SQLite {label}: refresh_token with rotation"), engine_rt, floor_rt);
    print_row(&format!("SQLite {label}: one hand-off (find_token, unknown)"), engine_find, floor_find);
}

async fn postgres(url: &str, n: usize) {
    let schema = format!("grantry_bench_{:016x}", rand::random::<u64>());
    let options = PostgresOptions::default().with_schema(&schema);
    let store = Arc::new(PostgresStore::connect_with(url, options).await.unwrap());
    for client in clients() {
        store.add_client(client).unwrap();
    }
    store.add_user("alice", "wonderland");
    let server = server(Storage::single(store.clone()));
    let (mut floor, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    floor.batch_execute(&format!("SET search_path TO {schema}")).await.unwrap();
    let (mut engine_cc, mut floor_cc, mut engine_rt, mut floor_rt) = (vec![], vec![], vec![], vec![]);
    let (mut engine_find, mut floor_find) = (vec![], vec![]);
    for _ in 0..rounds() {
        engine_cc.push(per_op(engine_client_credentials(&server, n).await, n));
        floor_cc.push(per_op(floor_client_credentials_postgres(&mut floor, n).await, n));
        engine_rt.push(per_op(engine_refresh(&server, n).await, n));
        floor_rt.push(per_op(floor_refresh_postgres(&mut floor, n).await, n));
        engine_find.push(per_op(engine_lookup(&*store, n).await, n));
        floor_find.push(per_op(floor_lookup_postgres(&floor, n).await, n));
    }
    print_row("PostgreSQL: client_credentials", engine_cc, floor_cc);
    print_row("PostgreSQL: refresh_token with rotation", engine_rt, floor_rt);
    print_row("PostgreSQL: one hand-off (find_token, unknown)", engine_find, floor_find);
    floor.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.unwrap();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let n = ops();
    println!(
        "{:<52} {:>12} {:>12} {:>7}",
        format!("operation (median of {} batches)", rounds()),
        "engine",
        "floor",
        "ratio"
    );
    runtime.block_on(async {
        sqlite(Synchronous::Full, n).await;
        sqlite(Synchronous::Normal, n).await;
        match std::env::var("GRANTRY_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => postgres(&url, n).await,
            _ => println!("PostgreSQL: skipped (set GRANTRY_TEST_POSTGRES_URL; `bash .ci/postgres.sh` starts one)"),
        }
    });
}
