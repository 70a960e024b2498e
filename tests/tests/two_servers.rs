//! Two servers on one store, over HTTP: whatever one issues, uses up or revokes is so on the
//! other at once (issue 20; the contract's "single use, everywhere ... across all servers
//! sharing one store"). Each server has its own store connection(s), as separate processes do;
//! both have the issuer and `secret_key` of one deployment behind a load balancer.
//!
//! The stores: a SQLite file (always), and PostgreSQL when `GRANTRY_TEST_POSTGRES_URL` is set
//! (in CI it must be: see `postgres_url`).

mod http_support;
mod postgres_support;

use base64::Engine as _;
use grantry_core::storage::Synchronous;
use grantry_examples::server::ServerConfigFile;
use grantry_examples::server::config::StoreConfig;
use http_support::*;
use serde_json::Value;

/// The two servers' shared configuration: `store`, one issuer (the first server's address,
/// bound first), one `secret_key`.
async fn two_servers(store: StoreConfig) -> (TestServer, TestServer) {
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([42u8; 32]);
    let shared = |config: &mut ServerConfigFile, store: StoreConfig| {
        config.store = store;
        config.secret_key = Some(ServerConfigFile::from_json(&secret_key_config(&key)).unwrap().secret_key.unwrap());
    };
    let first = start_with(|config| shared(config, store.clone())).await;
    let issuer = first.issuer();
    let second = start_with(|config| {
        shared(config, store);
        config.issuer = issuer;
    })
    .await;
    (first, second)
}

/// A minimal configuration holding `secret_key`, to read the key through the file's checks.
fn secret_key_config(key: &str) -> String {
    format!(r#"{{"issuer": "http://127.0.0.1:8080", "grants": ["client_credentials"], "secret_key": "{key}"}}"#)
}

/// A code for `spa` minted through `server`'s consent form (alice allows), and its verifier.
async fn code_for_spa(server: &TestServer) -> (String, String) {
    let (url, verifier) = server.spa_authorization();
    (server.authorize_as_alice(&url).await["code"].clone(), verifier.secret().clone())
}

fn exchange_form(code: &str, verifier: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.into()),
        ("redirect_uri", SPA_REDIRECT.into()),
        ("client_id", "spa".into()),
        ("code_verifier", verifier.into()),
    ]
}

async fn exchange(server: &TestServer, code: &str, verifier: &str) -> Reply {
    let form = exchange_form(code, verifier);
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    server.post_form("/token", &form).await
}

async fn refresh(server: &TestServer, refresh_token: &str) -> Reply {
    server
        .post_form("/token", &[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", "spa")])
        .await
}

async fn introspect(server: &TestServer, token: &str) -> Value {
    let form = [("token", token), ("client_id", "svc"), ("client_secret", "svc-secret")];
    let reply = server.post_form("/introspect", &form).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()
}

async fn shared_store_holds_for_both(store: StoreConfig) {
    let (one, two) = two_servers(store).await;

    // A code minted through one, redeemed through both at once: exactly one winner.
    let (code, verifier) = code_for_spa(&one).await;
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..16 {
        let server = if i % 2 == 0 { &one } else { &two };
        let (http, url) = (server.http.clone(), format!("{}/token", server.base));
        let form = exchange_form(&code, &verifier);
        racers.spawn(async move { Reply::of(http.post(url).form(&form).send().await.unwrap()).await });
    }
    let replies = racers.join_all().await;
    let winners: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", replies.iter().map(|r| (r.status, &r.text)).collect::<Vec<_>>());
    assert!(replies.iter().filter(|r| r.status != 200).all(|r| r.json()["error"] == "invalid_grant"));
    let tokens = winners[0].json();
    let access = tokens["access_token"].as_str().unwrap();
    let first_refresh = tokens["refresh_token"].as_str().unwrap();
    // The code's replay revoked what it issued, on both servers (RFC 6749 §4.1.2).
    assert_eq!(introspect(&two, access).await["active"], false);

    // A rotation on one, the old token's reuse on the other: the family is revoked everywhere.
    let (code, verifier) = code_for_spa(&two).await;
    let tokens = exchange(&two, &code, &verifier).await.json();
    let old = tokens["refresh_token"].as_str().unwrap().to_owned();
    let rotated = refresh(&one, &old).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new = rotated.json()["refresh_token"].as_str().unwrap().to_owned();
    let new_access = rotated.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(two.me(&new_access).await.status, 200);
    assert_eq!(refresh(&two, &old).await.json()["error"], "invalid_grant");
    assert_eq!(refresh(&one, &new).await.json()["error"], "invalid_grant");
    assert_eq!(one.me(&new_access).await.status, 401);
    assert_eq!(refresh(&one, first_refresh).await.json()["error"], "invalid_grant");

    // A revocation through one is seen by the other at once.
    let form = [("grant_type", "client_credentials"), ("client_id", "svc"), ("client_secret", "svc-secret")];
    let token = one.post_form("/token", &form).await.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(introspect(&two, &token).await["active"], true);
    let revoked =
        two.post_form("/revoke", &[("token", &token), ("client_id", "svc"), ("client_secret", "svc-secret")]).await;
    assert_eq!(revoked.status, 200);
    assert_eq!(introspect(&one, &token).await["active"], false);
    assert_eq!(one.me(&token).await.status, 401);

    // A consent form rendered by one is accepted by the other (shared secret_key), once.
    let (url, _) = one.spa_authorization();
    let form = one.consent_form(&url).await;
    let cookie = one.browser_cookie();
    let accepted = two.submit_consent_with_cookie(&form, cookie.as_deref(), "alice", "wonderland", "allow").await;
    assert_eq!(accepted.status, 303, "{}", accepted.text);
    let again = one.submit_consent_with_cookie(&form, cookie.as_deref(), "alice", "wonderland", "allow").await;
    assert_ne!(again.status, 303, "the form was used on the other server");

    // A JWT bearer assertion spent on one is refused by the other.
    let assertion = sign_with_demo_key(&claims("signer", "alice", &one.endpoint("token_endpoint")));
    let form = [("grant_type", JWT_BEARER), ("assertion", assertion.as_str())];
    assert_eq!(one.post_form("/token", &form).await.status, 200);
    let replayed = two.post_form("/token", &form).await;
    assert_eq!((replayed.status, replayed.json()["error"].as_str()), (400, Some("invalid_grant")));

    // A device code started on one, approved through the other's page, polled on both at
    // once: one gets the tokens.
    let codes = one.post_form("/device_authorization", &[("client_id", "tv")]).await.json();
    let page = two.get(codes["verification_uri_complete"].as_str().unwrap()).await;
    let csrf = hidden_inputs(&page.text).into_iter().find(|(n, _)| n == "csrf_token").unwrap().1;
    let user_code = codes["user_code"].as_str().unwrap();
    let form = [
        ("csrf_token", csrf.as_str()),
        ("user_code", user_code),
        ("username", "alice"),
        ("password", "wonderland"),
        ("consent", "allow"),
    ];
    let mut approve = two.http.post(format!("{}/device", two.base)).form(&form);
    if let Some(cookie) = two.browser_cookie() {
        approve = approve.header("cookie", cookie);
    }
    assert_eq!(Reply::of(approve.send().await.unwrap()).await.status, 200);
    let device_code = codes["device_code"].as_str().unwrap();
    let poll = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device_code),
        ("client_id", "tv"),
    ];
    let (a, b) = tokio::join!(one.post_form("/token", &poll), two.post_form("/token", &poll));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 400], "{} / {}", a.text, b.text);

    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_sqlite_file() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("shared.db");
    shared_store_holds_for_both(StoreConfig::Sqlite { path, synchronous: Synchronous::Full }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_one_postgres_database() {
    let Some(url) = postgres_support::url() else { return };
    // A database of its own (a schema would do for the store, but the server's `store` takes a
    // URL): the test creates it and drops it.
    let database = format!("grantry_two_servers_{:016x}", rand::random::<u64>());
    let admin = postgres_support::raw(&url).await;
    admin.batch_execute(&format!("CREATE DATABASE {database}")).await.unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    shared_store_holds_for_both(StoreConfig::Postgres { url: format!("{base}/{database}") }).await;
    admin.batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)")).await.unwrap();
}
