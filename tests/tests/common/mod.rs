//! Shared setup for the grantry integration tests: a server on a [`MemoryStore`] with a
//! [`ManualClock`], a fixed set of clients and one user (alice / wonderland), and helpers to
//! build requests and read responses.
//!
//! Every test binary uses a different subset of these helpers.
#![allow(dead_code)]

#[path = "../engine_http/mod.rs"]
mod engine_http;
pub mod late_store;

pub use engine_http::{RequestExt, ResponseExt};
pub use grantry_core::http;
pub use grantry_core::request::FormBody;

use base64::Engine as _;
use grantry_core::storage::TokenRecord;
use grantry_core::{
    AuthorizationError, AuthorizationRequest, AuthorizationServer, ClientRecord, Consent, GrantType, ManualClock,
    MemoryStore, Params, Request, Response, ResponseType, ServerConfig, Storage, Timestamp, TokenDigest,
    encode_component, encode_form,
};
use grantry_grants::{AuthorizationCodeGrant, ClientCredentialsGrant, ImplicitGrant, PasswordGrant, RefreshTokenGrant};
use serde_json::Value;
use std::sync::Arc;

/// The issuer of the test server.
pub const ISSUER: &str = "https://auth.example";
/// Where the manual clock starts.
pub const START: Timestamp = 1_700_000_000;
/// The scope most clients may be granted.
pub const FULL_SCOPE: &str = "read write";

/// The resource owner.
pub const USERNAME: &str = "alice";
/// Her password.
pub const PASSWORD: &str = "wonderland";

/// Confidential (`client_secret_basic`) client of the code flow, allowed refresh tokens.
pub const WEB: (&str, &str) = ("web", "web-secret");
pub const WEB_REDIRECT: &str = "https://web.example/callback";

/// A second confidential code-flow client, allowed refresh tokens.
pub const OTHER: (&str, &str) = ("other", "other-secret");
pub const OTHER_REDIRECT: &str = "https://other.example/callback";

/// Confidential code-flow client without the `refresh_token` grant.
pub const NO_REFRESH: (&str, &str) = ("no-refresh", "no-refresh-secret");
pub const NO_REFRESH_REDIRECT: &str = "https://no-refresh.example/callback";

/// Confidential code-flow client with two registered redirect URIs.
pub const MULTI: (&str, &str) = ("multi", "multi-secret");
pub const MULTI_REDIRECTS: [&str; 2] = ["https://multi.example/one", "https://multi.example/two"];

/// Public client (`none`) allowed the code flow, the implicit flow and refresh tokens.
pub const SPA: &str = "spa";
pub const SPA_REDIRECT: &str = "https://spa.example/callback";

/// Confidential client of the client credentials grant.
pub const SVC: (&str, &str) = ("svc", "svc-secret");

/// Confidential client of the password grant, allowed refresh tokens.
pub const LEGACY: (&str, &str) = ("legacy", "legacy-secret");

/// A second confidential password-grant client, allowed refresh tokens.
pub const LEGACY2: (&str, &str) = ("legacy2", "legacy2-secret");

/// A test server and handles on its store and clock.
pub struct Harness {
    /// The server under test.
    pub server: AuthorizationServer,
    /// The store behind it (clients can still be added).
    pub store: Arc<MemoryStore>,
    /// The server's clock.
    pub clock: Arc<ManualClock>,
}

/// Registers `grant` allowing only `methods` at the token endpoint (which the grant must allow).
pub fn register_allowing(
    server: &mut AuthorizationServer,
    grant: impl grantry_core::Grant,
    methods: impl IntoIterator<Item = grantry_core::ClientAuthMethod>,
) {
    server
        .register_grant(grant, ())
        .expect("register")
        .restrict_auth_methods(methods)
        .expect("methods the grant allows");
}

/// Registers the five RFC 6749 grants with their defaults.
pub fn register_all_grants(server: &mut AuthorizationServer) {
    server.register_grant(AuthorizationCodeGrant::new(), ()).expect("register authorization code");
    server.register_grant(ImplicitGrant::new(), ()).expect("register implicit");
    server.register_grant(PasswordGrant::new(), ()).expect("register password");
    server.register_grant(ClientCredentialsGrant::new(), ()).expect("register client credentials");
    server.register_grant(RefreshTokenGrant::new(), ()).expect("register refresh token");
}

fn standard_clients() -> Vec<ClientRecord> {
    let code_and_refresh = [GrantType::AUTHORIZATION_CODE, GrantType::REFRESH_TOKEN];
    let password_and_refresh = [GrantType::PASSWORD, GrantType::REFRESH_TOKEN];
    vec![
        ClientRecord::confidential(WEB.0, WEB.1)
            .with_redirect_uri(WEB_REDIRECT)
            .with_grant_types(code_and_refresh.clone())
            .with_scope(FULL_SCOPE),
        ClientRecord::confidential(OTHER.0, OTHER.1)
            .with_redirect_uri(OTHER_REDIRECT)
            .with_grant_types(code_and_refresh.clone())
            .with_scope(FULL_SCOPE),
        ClientRecord::confidential(NO_REFRESH.0, NO_REFRESH.1)
            .with_redirect_uri(NO_REFRESH_REDIRECT)
            .with_grant_types([GrantType::AUTHORIZATION_CODE])
            .with_scope(FULL_SCOPE),
        ClientRecord::confidential(MULTI.0, MULTI.1)
            .with_redirect_uri(MULTI_REDIRECTS[0])
            .with_redirect_uri(MULTI_REDIRECTS[1])
            .with_grant_types(code_and_refresh.clone())
            .with_scope(FULL_SCOPE),
        ClientRecord::public(SPA)
            .with_redirect_uri(SPA_REDIRECT)
            .with_grant_types([GrantType::AUTHORIZATION_CODE, GrantType::IMPLICIT, GrantType::REFRESH_TOKEN])
            .with_response_types([ResponseType::CODE, ResponseType::TOKEN])
            .with_scope(FULL_SCOPE),
        ClientRecord::confidential(SVC.0, SVC.1)
            .with_grant_types([GrantType::CLIENT_CREDENTIALS])
            .with_scope(FULL_SCOPE),
        ClientRecord::confidential(LEGACY.0, LEGACY.1)
            .with_grant_types(password_and_refresh.clone())
            .with_scope(FULL_SCOPE),
        ClientRecord::confidential(LEGACY2.0, LEGACY2.1).with_grant_types(password_and_refresh).with_scope(FULL_SCOPE),
    ]
}

impl Harness {
    /// The standard server: every RFC 6749 grant, default configuration.
    pub fn new() -> Self {
        Self::custom(|config| config, register_all_grants)
    }

    /// Every RFC 6749 grant, with a changed configuration.
    pub fn with_config(configure: impl FnOnce(ServerConfig) -> ServerConfig) -> Self {
        Self::custom(configure, register_all_grants)
    }

    /// A server configured by `configure` (on top of the manual clock) with the grants
    /// `register` registers.
    pub fn custom(
        configure: impl FnOnce(ServerConfig) -> ServerConfig,
        register: impl FnOnce(&mut AuthorizationServer),
    ) -> Self {
        Self::custom_storage(configure, register, Storage::single)
    }

    /// Like [`custom`](Self::custom), with the server's stores made by `storage` from the
    /// memory store (to wrap one of them).
    pub fn custom_storage(
        configure: impl FnOnce(ServerConfig) -> ServerConfig,
        register: impl FnOnce(&mut AuthorizationServer),
        storage: impl FnOnce(Arc<MemoryStore>) -> Storage,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(START));
        let store = Arc::new(MemoryStore::with_clock(clock.clone()));
        for client in standard_clients() {
            store.add_client(client).expect("valid test client");
        }
        store.add_user(USERNAME, PASSWORD);
        let config = configure(ServerConfig::new(ISSUER).unwrap().with_clock(clock.clone()));
        let mut server = AuthorizationServer::new(storage(store.clone()), config);
        register(&mut server);
        Harness { server, store, clock }
    }

    /// Registers one more client.
    pub fn add_client(&self, client: ClientRecord) {
        self.store.add_client(client).expect("valid test client");
    }

    /// Runs the token endpoint.
    pub async fn token(&self, request: &Request) -> Response {
        self.server.token_endpoint(request).await
    }

    /// Validates an authorization request made of `params` (as a `GET` query).
    pub async fn validate(&self, params: &[(&str, &str)]) -> Result<AuthorizationRequest, AuthorizationError> {
        self.server.validate_authorization_request(&authorize_request(params)).await
    }

    /// The authorization endpoint as an application runs it: validate, and if valid let the
    /// resource owner decide `consent`. Returns the redirect or the direct error.
    pub async fn authorize(&self, params: &[(&str, &str)], consent: Consent) -> Response {
        match self.validate(params).await {
            Ok(request) => self.server.create_authorization_response(&request, consent).await,
            Err(error) => error.to_response(),
        }
    }

    /// Obtains an authorization code for `client_id`, approved by alice.
    pub async fn obtain_code(&self, client_id: &str, redirect_uri: Option<&str>, scope: Option<&str>) -> String {
        self.obtain_code_with(client_id, redirect_uri, scope, Consent::allow(USERNAME)).await
    }

    /// Obtains an authorization code for `client_id` with the given consent.
    pub async fn obtain_code_with(
        &self,
        client_id: &str,
        redirect_uri: Option<&str>,
        scope: Option<&str>,
        consent: Consent,
    ) -> String {
        let mut params = vec![("response_type", "code"), ("client_id", client_id)];
        if let Some(uri) = redirect_uri {
            params.push(("redirect_uri", uri));
        }
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        let response = self.authorize(&params, consent).await;
        let redirect = Redirect::of(&response);
        assert!(redirect.query_param("error").is_none(), "authorization failed: {}", redirect.location);
        redirect.query_param("code").expect("a code in the redirect query").to_owned()
    }

    /// Exchanges a code at the token endpoint, authenticating with `client_secret_basic`.
    pub async fn exchange_code(&self, client: (&str, &str), code: &str, redirect_uri: Option<&str>) -> Response {
        self.token(&code_exchange_request(client, code, redirect_uri)).await
    }

    /// Uses a refresh token, authenticating with `client_secret_basic`.
    pub async fn refresh(&self, client: (&str, &str), refresh_token: &str, scope: Option<&str>) -> Response {
        let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token(&basic_token_request(client, &form)).await
    }

    /// Runs the password grant for alice with `client_secret_basic`; returns the token JSON.
    pub async fn password_tokens(&self, client: (&str, &str), scope: Option<&str>) -> Value {
        let mut form = vec![("grant_type", "password"), ("username", USERNAME), ("password", PASSWORD)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        token_json(&self.token(&basic_token_request(client, &form)).await)
    }

    /// The stored record of a token, if it is live (not revoked, not rotated out).
    pub async fn find_token(&self, token: &str) -> Option<TokenRecord> {
        self.server.storage().tokens.find_token(TokenDigest::of(token)).await.expect("the memory store does not fail")
    }

    /// Whether a token is live in the store.
    pub async fn is_stored(&self, token: &str) -> bool {
        self.find_token(token).await.is_some()
    }
}

/// The `Authorization` header value of `client_secret_basic` (RFC 6749 §2.3.1: id and secret
/// form-urlencoded, joined by a colon, base64).
pub fn basic(client_id: &str, secret: &str) -> String {
    let raw = format!("{}:{}", encode_component(client_id), encode_component(secret));
    basic_raw(&raw)
}

/// `Basic base64(raw)`, for credentials built by hand.
pub fn basic_raw(raw: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
}

/// A token request with a form body and no client authentication.
pub fn token_request(form: &[(&str, &str)]) -> Request {
    http::Request::post("/token").form(form).unwrap()
}

/// A token request authenticated with `client_secret_basic`.
pub fn basic_token_request(client: (&str, &str), form: &[(&str, &str)]) -> Request {
    token_request(form).with_header("Authorization", basic(client.0, client.1))
}

/// An authorization code token request authenticated with `client_secret_basic`.
pub fn code_exchange_request(client: (&str, &str), code: &str, redirect_uri: Option<&str>) -> Request {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code)];
    if let Some(uri) = redirect_uri {
        form.push(("redirect_uri", uri));
    }
    basic_token_request(client, &form)
}

/// A `GET` authorization request with `params` in the query.
pub fn authorize_request(params: &[(&str, &str)]) -> Request {
    http::Request::get(format!("/authorize?{}", encode_form(params))).body(Vec::new()).unwrap()
}

/// A redirect response taken apart.
#[derive(Debug)]
pub struct Redirect {
    /// The whole `Location` header.
    pub location: String,
    /// The URI before any query or fragment.
    pub target: String,
    /// The query parameters, if there is a query.
    pub query: Option<Params<'static>>,
    /// The fragment parameters, if there is a fragment.
    pub fragment: Option<Params<'static>>,
}

impl Redirect {
    /// Parses the `Location` of a `302` response (asserting it is one).
    pub fn of(response: &Response) -> Redirect {
        assert_eq!(
            response.status().as_u16(),
            302,
            "expected a redirect, got {} {}",
            response.status().as_u16(),
            body_text(response)
        );
        let location = response.header("Location").expect("a redirect has a Location header").to_owned();
        let (before_fragment, fragment) = match location.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment)),
            None => (location.as_str(), None),
        };
        let (target, query) = match before_fragment.split_once('?') {
            Some((target, query)) => (target, Some(query)),
            None => (before_fragment, None),
        };
        let parse = |s: &str| Params::parse(s.as_bytes()).expect("redirect parameters are well-formed").into_owned();
        Redirect { target: target.to_owned(), query: query.map(parse), fragment: fragment.map(parse), location }
    }

    /// A query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.as_ref().and_then(|p| p.get(name))
    }

    /// A fragment parameter.
    pub fn fragment_param(&self, name: &str) -> Option<&str> {
        self.fragment.as_ref().and_then(|p| p.get(name))
    }
}

/// The body as text, for assertion messages.
pub fn body_text(response: &Response) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

/// Asserts the headers every token endpoint response carries (RFC 6749 §5.1, §5.2).
pub fn assert_json_no_store(response: &Response) {
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    assert_eq!(response.header("Cache-Control"), Some("no-store"));
    assert_eq!(response.header("Pragma"), Some("no-cache"));
}

/// Asserts a successful token response and returns its JSON.
pub fn token_json(response: &Response) -> Value {
    assert_eq!(response.status().as_u16(), 200, "expected a token response, got {}", body_text(response));
    assert_json_no_store(response);
    let json = response.json().expect("the token response is JSON");
    assert!(json["access_token"].as_str().is_some_and(|t| !t.is_empty()), "no access_token in {json}");
    assert_eq!(json["token_type"], "Bearer");
    json
}

/// Asserts a direct JSON error response with `status` and `error`, and returns its JSON.
pub fn assert_error(response: &Response, status: u16, error: &str) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "expected {status} {error}, got {} {}",
        response.status().as_u16(),
        body_text(response)
    );
    assert_json_no_store(response);
    assert!(response.header("Location").is_none(), "a direct error must not redirect");
    let json = response.json().expect("the error response is JSON");
    assert_eq!(json["error"], error, "in {json}");
    json
}

/// A string field of a JSON object.
pub fn field(json: &Value, name: &str) -> String {
    json[name].as_str().unwrap_or_else(|| panic!("no string field {name} in {json}")).to_owned()
}
