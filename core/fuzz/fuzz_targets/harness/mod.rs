//! What the endpoint targets share: a small server on the memory store, rebuilt for every
//! input so that each input is replayed alone, deterministically; and a minimal executor.
//!
//! Its credentials are predictable (`code-1`, `at-2`, `rt-3`, ...), so a fuzzer can send back
//! the code or refresh token an earlier request of the same input produced; `token.dict`
//! names them.

#![allow(dead_code)]

use grantry_core::{
    AuthorizationServer, ClientAuthMethod, ClientRecord, CredentialKind, GrantType, ManualClock, MemoryStore,
    ResponseType, ServerConfig, TokenGenerator,
};
use grantry_extensions::pkce::CodeChallenge;
use grantry_grants::{AuthorizationCodeGrant, ClientCredentialsGrant, ImplicitGrant, PasswordGrant, RefreshTokenGrant};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

pub const ISSUER: &str = "https://as.example";
pub const WEB_REDIRECT: &str = "https://client.example/cb";
pub const SPA_REDIRECT: &str = "https://client.example/spa?from=app";
/// Every registered redirect URI: a redirect anywhere else is a finding.
pub const REDIRECTS: [&str; 2] = [WEB_REDIRECT, SPA_REDIRECT];
pub const NOW: u64 = 1_700_000_000;

/// Credentials numbered in issue order, per kind's prefix.
#[derive(Default)]
struct Numbered(AtomicU64);

impl TokenGenerator for Numbered {
    fn generate(&self, kind: CredentialKind) -> String {
        let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        let prefix = match kind {
            CredentialKind::AccessToken => "at",
            CredentialKind::RefreshToken => "rt",
            CredentialKind::AuthorizationCode => "code",
            _ => "other",
        };
        format!("{prefix}-{n}")
    }
}

/// The server: `web` (confidential, Basic, code + refresh + password), `spa` (public, code with
/// PKCE + implicit + refresh), `svc` (client_secret_post, client credentials); user `alice`.
pub fn server() -> AuthorizationServer {
    let store = MemoryStore::new();
    let code = GrantType::AUTHORIZATION_CODE;
    store
        .add_client(
            ClientRecord::confidential("web", "web-secret")
                .with_redirect_uri(WEB_REDIRECT)
                .with_grant_types([code.clone(), GrantType::REFRESH_TOKEN, GrantType::PASSWORD])
                .with_scope("read write"),
        )
        .expect("a valid client");
    store
        .add_client(
            ClientRecord::public("spa")
                .with_redirect_uri(SPA_REDIRECT)
                .with_grant_types([code, GrantType::REFRESH_TOKEN, GrantType::IMPLICIT])
                .with_response_types([ResponseType::CODE, ResponseType::TOKEN])
                .with_scope("read"),
        )
        .expect("a valid client");
    store
        .add_client(
            ClientRecord::confidential("svc", "svc-secret")
                .with_auth_method(ClientAuthMethod::CLIENT_SECRET_POST)
                .with_grant_types([GrantType::CLIENT_CREDENTIALS])
                .with_scope("read write"),
        )
        .expect("a valid client");
    store.add_user("alice", "wonderland");
    let config = ServerConfig::new(ISSUER)
        .expect("a valid issuer")
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .with_token_generator(Arc::new(Numbered::default()));
    let mut server = AuthorizationServer::new(store, config);
    server.register_grant(AuthorizationCodeGrant::new(), CodeChallenge::optional()).expect("registers");
    server.register_grant(ImplicitGrant::new(), ()).expect("registers");
    server.register_grant(PasswordGrant::new(), ()).expect("registers");
    server.register_grant(ClientCredentialsGrant::new(), ()).expect("registers");
    server.register_grant(RefreshTokenGrant::new(), ()).expect("registers");
    server
}

/// Runs a future to completion on this thread: the engine's futures need no runtime, and the
/// memory store never waits.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// Whether `location` goes to a registered redirect URI (exactly, then `?`, `&` or `#`).
pub fn to_registered_redirect(location: &str) -> bool {
    REDIRECTS
        .iter()
        .any(|uri| location.strip_prefix(uri).is_some_and(|rest| rest.is_empty() || rest.starts_with(['?', '&', '#'])))
}
