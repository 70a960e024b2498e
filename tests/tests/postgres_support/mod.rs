//! Shared setup for the tests that need PostgreSQL: the server's URL, from
//! `GRANTRY_TEST_POSTGRES_URL` (`.ci/postgres.sh` starts a throwaway server and prints it), and
//! a schema of its own for each store under test, dropped when the test ends.
//!
//! Without the variable the tests skip, each saying so in one line, unless `CI` is set: CI
//! must test the PostgreSQL store, so there a missing URL fails every test that needs it.
#![allow(dead_code)]

use grantry_core::storage::{PostgresOptions, PostgresStore};
use std::sync::Mutex;

/// The variable the server's URL is read from.
pub const URL_VARIABLE: &str = "GRANTRY_TEST_POSTGRES_URL";

/// The test database's URL; `None` (after printing why the calling test skips) when it is not
/// set outside CI.
///
/// # Panics
/// When it is not set and `CI` is.
pub fn url() -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "{URL_VARIABLE} is not set, and CI is: the PostgreSQL store must be tested in CI \
             (`export {URL_VARIABLE}=$(bash .ci/postgres.sh)` before `cargo test`)"
        ),
        _ => {
            let test = std::thread::current().name().unwrap_or("a PostgreSQL test").to_owned();
            eprintln!(
                "{test}: skipped: {URL_VARIABLE} is not set (`bash .ci/postgres.sh` starts a server and prints it)"
            );
            None
        }
    }
}

/// A fresh schema name, unique to this call: `grantry_test_` and 16 random hex digits.
pub fn fresh_schema() -> String {
    format!("grantry_test_{:016x}", rand::random::<u64>())
}

/// Options for a store of the tests in `schema`: a small pool (tests run side by side on one
/// server), short timeouts so a hang fails fast.
pub fn options(schema: &str) -> PostgresOptions {
    PostgresOptions::default()
        .with_schema(schema)
        .with_pool_size(8)
        .with_statement_timeout(std::time::Duration::from_secs(10))
}

/// Schemas made by one test, dropped (with everything in them) when it ends.
pub struct Schemas {
    url: String,
    made: Mutex<Vec<String>>,
}

impl Schemas {
    /// None made yet, on the server at `url`.
    pub fn new(url: String) -> Self {
        Schemas { url, made: Mutex::new(Vec::new()) }
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new schema name, to be dropped with the others (the store creates the schema).
    pub fn fresh(&self) -> String {
        let schema = fresh_schema();
        self.made.lock().unwrap().push(schema.clone());
        schema
    }

    /// A store on a new schema.
    pub async fn store(&self) -> PostgresStore {
        PostgresStore::connect_with(&self.url, options(&self.fresh())).await.unwrap()
    }
}

impl Drop for Schemas {
    fn drop(&mut self) {
        let made = std::mem::take(&mut *self.made.lock().unwrap_or_else(|poison| poison.into_inner()));
        if made.is_empty() {
            return;
        }
        // Drop may run inside the test's runtime, which cannot be blocked on: a thread of its
        // own, with a runtime of its own, does the work while this one waits.
        let url = self.url.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                for schema in made {
                    client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await?;
                }
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if let Ok(Err(err)) = dropped {
            eprintln!("the test's schemas could not be dropped: {err}");
        }
    }
}

/// A raw connection to the test server, for what the store's API cannot show.
pub async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}
