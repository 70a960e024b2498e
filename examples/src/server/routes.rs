//! The routes of the contract, on axum:
//!
//! | path | method | handler |
//! |---|---|---|
//! | `/authorize` | GET | validates, then the login-and-consent page or the RFC error |
//! | `/authorize` | POST | the form's submission: CSRF and cookie, single use, re-validation, login, decision |
//! | `/token` | POST | `token_endpoint` |
//! | `/revoke` | POST | `revocation_endpoint` (RFC 7009) |
//! | `/introspect` | POST | `introspection_endpoint` (RFC 7662) |
//! | `/.well-known/oauth-authorization-server` | GET | `metadata_endpoint` (RFC 8414) |
//! | `/api/me` | GET | a resource guarded by a bearer token with scope `read` |
//! | `/device` | GET, POST | the device verification page ([`device`](super::device)), when the device grant is enabled |
//! | a grant's own endpoint (`/device_authorization`) | POST | `grant_endpoint`, one route per endpoint the registered grants bring |
//! | `/jwks.json` | GET | the public signing keys (RFC 7517), when the server has a `signing_key` |
//!
//! The engine endpoints answer other methods themselves (`invalid_request`), so `/token`,
//! `/revoke` and `/introspect` take any method.
//!
//! Every request is bounded in time ([`ServerLimits`]): tower-http's `TimeoutLayer` answers
//! `408` when the response is not ready within `request_timeout` of the head (the body is read
//! within that time too), and its `RequestBodyTimeoutLayer` fails a body that pauses for
//! longer than `body_read_timeout`, which the body reader answers with `408`.

use super::app::{AppState, JWKS_PATH};
use super::consent::{self, CSRF_FIELD, CsrfError};
use super::device;
use super::limits::ServerLimits;
use super::logging::{self, OAuthErrorCode};
use super::pages;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, PRAGMA, REFERRER_POLICY, SET_COOKIE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse as _;
use axum::routing::{any, get};
use grantry_core::request::{self, BodyRefused};
use grantry_core::response;
use grantry_core::storage::FirstUse;
use grantry_core::throttle::LoginError;
use grantry_core::{
    AuthorizationError, AuthorizationRequest, Consent, ErrorCode, OAuthError, Params, Request, Response, Scope,
};
use grantry_extensions::device_code::DEVICE_CODE_GRANT_TYPE;
use std::sync::Arc;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// `200 {"status":"ok"}` when the server can reach its store, `503` otherwise (the contract's
/// health endpoint).
async fn healthz(State(state): State<Shared>) -> axum::response::Response {
    let (status, body) = match state.store.ping().await {
        Ok(()) => (StatusCode::OK, serde_json::json!({"status": "ok"})),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, serde_json::json!({"status": "unavailable"})),
    };
    respond(response::json_no_store(status, &body))
}

/// `GET /jwks.json`: the public signing keys. Public, so cacheable for a while (a rotation
/// publishes the next key before it signs).
async fn jwks(State(state): State<Shared>) -> axum::response::Response {
    let Some(keys) = &state.jwks else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = Response::new(keys.to_string().into_bytes());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    respond(response)
}

/// The scope `/api/me` requires.
pub const ME_SCOPE: &str = "read";

/// The shared state of the handlers.
pub type Shared = Arc<AppState>;

/// The router of every endpoint, with the request timeouts of `limits` and the request log
/// (which sees the `408` of a timeout).
pub fn router(state: Shared, limits: &ServerLimits) -> Router {
    let device_page = if state.server.registry().serves_grant_type(&DEVICE_CODE_GRANT_TYPE) {
        Router::new().route("/device", get(device::device_get).post(device::device_post))
    } else {
        Router::new()
    };
    let router = if state.jwks.is_some() { Router::new().route(JWKS_PATH, get(jwks)) } else { Router::new() };
    router
        .route("/authorize", get(authorize_get).post(authorize_post))
        .route("/token", any(|State(s): State<Shared>, r: axum::extract::Request| engine(s, r, Engine::Token)))
        .route("/revoke", any(|State(s): State<Shared>, r: axum::extract::Request| engine(s, r, Engine::Revocation)))
        .route(
            "/introspect",
            any(|State(s): State<Shared>, r: axum::extract::Request| engine(s, r, Engine::Introspection)),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(|State(s): State<Shared>, r: axum::extract::Request| engine(s, r, Engine::Metadata)),
        )
        .route("/api/me", get(me))
        .merge(device_page)
        .route("/healthz", get(healthz))
        // The endpoints grants bring (RFC 8628's /device_authorization), from the registry.
        .merge(grant_endpoints(&state))
        .layer(RequestBodyTimeoutLayer::new(limits.body_read_timeout))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        .layer(axum::middleware::from_fn(logging::log_requests))
        .with_state(state)
}

/// Reads a form submission of a page: the request (within the body limit) and its fields, or
/// the page that refuses it.
pub(super) async fn read_form(
    state: &AppState,
    request: axum::extract::Request,
) -> Result<(Request, Params<'static>), axum::response::Response> {
    let request = read(state, request).await.map_err(respond)?;
    // Owned: a page's form is small, and the page keeps the request beside it.
    let params = request::form_params(&request).map(Params::into_owned);
    match params {
        Ok(params) => Ok((request, params)),
        Err(err) => Err(show_error(&request, &err, 400)),
    }
}

/// A route for each endpoint a registered grant brings, handed to the engine as it is.
fn grant_endpoints(state: &Shared) -> Router<Shared> {
    let mut routes = Router::new();
    for endpoint in state.server.grant_endpoints() {
        let path = endpoint.path();
        routes = routes.route(
            path,
            any(move |State(state): State<Shared>, request: axum::extract::Request| async move {
                let request = match read(&state, request).await {
                    Ok(request) => request,
                    Err(refused) => return respond(refused),
                };
                match state.server.grant_endpoint(path, &request).await {
                    Some(response) => respond(response),
                    None => respond(response::oauth_error(&OAuthError::server_error("no grant serves this endpoint"))),
                }
            }),
        );
    }
    routes
}

/// Reads a request for the engine: the head is checked against the body limit before the
/// body is read, and no more than the limit is ever read.
pub(super) async fn read(state: &AppState, request: axum::extract::Request) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let limit = state.body_limit.limit();
    state.body_limit.check_head(&parts.headers).map_err(|err| err.to_response())?;
    // Fails past the limit (a chunked body has no Content-Length to check first), when the
    // body pauses too long, or when the client goes away (then nobody reads the answer).
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|err| match body_failure(&err) {
        BodyFailure::TooLarge => BodyRefused::TooLarge { limit }.to_response(),
        BodyFailure::TimedOut => {
            let mut response =
                response::oauth_error(&OAuthError::invalid_request("the request body was not received in time"));
            *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
            response
        }
        BodyFailure::Broken => response::oauth_error(&OAuthError::invalid_request("the request body is incomplete")),
    })?;
    Ok(Request::from_parts(parts, bytes.to_vec()))
}

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFailure {
    /// Past the body limit.
    TooLarge,
    /// It paused longer than the body read timeout.
    TimedOut,
    /// The connection broke, or the body was malformed.
    Broken,
}

/// Finds what made reading a body fail, in the error's chain of sources.
fn body_failure(err: &axum::Error) -> BodyFailure {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        if current.is::<http_body_util::LengthLimitError>() {
            return BodyFailure::TooLarge;
        }
        if current.is::<tower_http::timeout::TimeoutError>() {
            return BodyFailure::TimedOut;
        }
        cause = current.source();
    }
    BodyFailure::Broken
}

/// Hands an engine response to axum, noting its OAuth error code for the request log.
pub(super) fn respond(response: Response) -> axum::response::Response {
    let code = logging::oauth_error_code(&response);
    respond_with_code(response, code)
}

fn respond_with_code(response: Response, code: Option<String>) -> axum::response::Response {
    let mut converted = response.map(Body::from);
    if let Some(code) = code {
        converted.extensions_mut().insert(OAuthErrorCode(code));
    }
    converted
}

/// The engine endpoints a request is handed to as it is.
#[derive(Debug, Clone, Copy)]
enum Engine {
    Token,
    Revocation,
    Introspection,
    Metadata,
}

/// Reads the request (within the body limit) and lets the engine endpoint answer it.
async fn engine(state: Shared, request: axum::extract::Request, endpoint: Engine) -> axum::response::Response {
    let request = match read(&state, request).await {
        Ok(request) => request,
        Err(refused) => return respond(refused),
    };
    let server = &state.server;
    respond(match endpoint {
        Engine::Token => server.token_endpoint(&request).await,
        Engine::Revocation => server.revocation_endpoint(&request).await,
        Engine::Introspection => server.introspection_endpoint(&request).await,
        Engine::Metadata => server.metadata_endpoint(&request),
    })
}

/// `GET /api/me`: who the bearer token acts for. Needs scope `read`.
async fn me(State(state): State<Shared>, request: axum::extract::Request) -> axum::response::Response {
    let request = match read(&state, request).await {
        Ok(request) => request,
        Err(refused) => return respond(refused),
    };
    // A literal, so it parses; were it not to, fail closed rather than require nothing.
    let Ok(read_scope) = Scope::parse(ME_SCOPE) else {
        return respond(response::oauth_error(&OAuthError::server_error("the resource's scope is invalid")));
    };
    match state.guard.authorize(&request, &read_scope).await {
        Ok(access) => {
            let body = serde_json::json!({
                "sub": access.subject.as_deref().unwrap_or(&access.client_id),
                "client_id": access.client_id,
                "scope": access.scope.to_string(),
            });
            respond(response::json_no_store(StatusCode::OK, &body))
        }
        Err(err) => respond(err.to_response(state.guard.realm())),
    }
}

/// An HTML page, not cacheable, not frameable, loading nothing from anywhere.
pub(super) fn html(status: u16, body: String) -> Response {
    let mut response = Response::new(body.into_bytes());
    *response.status_mut() = status_code(status);
    let headers = response.headers_mut();
    for (name, value) in [
        (CONTENT_TYPE, "text/html; charset=utf-8"),
        (CACHE_CONTROL, "no-store"),
        (PRAGMA, "no-cache"),
        (X_FRAME_OPTIONS, "DENY"),
        (
            CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (REFERRER_POLICY, "no-referrer"),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// `status` as a status code; the handlers' statuses are constants, so the `500` is never used.
fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Whether the caller asked for JSON rather than a page.
fn wants_json(request: &Request) -> bool {
    let accept = request.headers().get(ACCEPT).and_then(|value| value.to_str().ok()).unwrap_or_default();
    accept.contains("application/json") && !accept.contains("text/html")
}

/// An error that is shown, never redirected: an HTML page (or the JSON error, to a caller
/// that asks for JSON).
pub(super) fn show_error(request: &Request, error: &OAuthError, status: u16) -> axum::response::Response {
    let code = Some(error.code().as_str().to_owned());
    if wants_json(request) {
        let mut response = response::oauth_error(error);
        *response.status_mut() = status_code(status);
        return respond_with_code(response, code);
    }
    respond_with_code(html(status, pages::error_page(error)), code)
}

/// The status of a shown error page: `500` for a server error, `400` otherwise (a page for a
/// browser carries no `WWW-Authenticate` challenge, so never `401`).
fn page_status(error: &OAuthError) -> u16 {
    if error.status() >= 500 { error.status() } else { 400 }
}

/// An authorization error: redirected to the client when it may be (`redirect_status`: `302`
/// after a GET, `303` after the form's POST), shown otherwise.
fn authorization_error(request: &Request, err: &AuthorizationError, redirect_status: u16) -> axum::response::Response {
    if err.is_redirect() {
        let mut response = err.to_response();
        *response.status_mut() = status_code(redirect_status);
        return respond(response);
    }
    show_error(request, err.error(), page_status(err.error()))
}

/// Renders the login-and-consent form for a validated request, bound to the browser's
/// consent `cookie`; a browser without one (`None`) is given a new one with the form.
fn consent_form(
    state: &AppState,
    validated: &AuthorizationRequest,
    cookie: Option<&str>,
    username: Option<&str>,
    error: Option<&str>,
) -> axum::response::Response {
    let (cookie, is_new) = form_cookie(cookie);
    let hidden = consent::hidden_params(validated);
    let token = state.csrf.issue(&cookie, &hidden, consent::unix_now());
    let page = html(200, pages::consent_page(validated, &hidden, &token, username, error));
    respond(with_new_cookie(state, page, &cookie, is_new))
}

/// The consent `cookie` of a browser, or a new one (`is_new`), with the page a form of which is
/// bound to it.
pub(super) fn form_cookie(cookie: Option<&str>) -> (String, bool) {
    match cookie {
        Some(cookie) => (cookie.to_owned(), false),
        None => (consent::new_cookie_value(), true),
    }
}

/// Sets the consent `cookie` on a page when it is new.
pub(super) fn with_new_cookie(state: &AppState, mut page: Response, cookie: &str, is_new: bool) -> Response {
    if is_new {
        for value in consent::set_cookie_headers(cookie, state.https_issuer) {
            // The value is made here (base64url and attributes), so it is always a valid header.
            let Ok(value) = HeaderValue::from_str(&value) else {
                return response::oauth_error(&OAuthError::server_error("the consent cookie cannot be set"));
            };
            page.headers_mut().append(SET_COOKIE, value);
        }
    }
    page
}

/// Checks a submitted form's CSRF token against its `hidden` parameters and the browser's
/// consent cookie, then records the form as used: of all submissions of one form, one goes
/// on. The refusal to answer otherwise.
pub(super) async fn spend_form(
    state: &AppState,
    request: &Request,
    submitted: &Params<'_>,
    hidden: &[(String, String)],
) -> Result<(), axum::response::Response> {
    let cookie = consent::cookie_value(request.headers());
    let now = consent::unix_now();
    let form =
        state.csrf.verify(submitted.get(CSRF_FIELD), cookie, hidden, now).map_err(|err| refuse_form(request, err))?;
    match state.server.storage().replays.record_use(form.replay_key(), form.expires_at, now).await {
        Ok(FirstUse::First) => Ok(()),
        Ok(FirstUse::AlreadyUsed) => Err(refuse_form(request, CsrfError::AlreadyUsed)),
        // The store holds as many live records as it may (`FirstUse::Full`).
        Ok(_) => {
            let err = OAuthError::new(
                ErrorCode::TemporarilyUnavailable,
                "too many consent forms are being submitted; try again in a few minutes",
            );
            Err(show_error(request, &err, 503))
        }
        Err(_) => Err(show_error(request, &OAuthError::server_error("the consent form record is unavailable"), 500)),
    }
}

/// The answer to a throttled login or code entry: `page` with `429` and `Retry-After` (the
/// contract), noted for the log as `code`.
pub(super) fn throttled(mut page: axum::response::Response, retry_after: u64, code: &str) -> axum::response::Response {
    *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    page.headers_mut().insert(axum::http::header::RETRY_AFTER, retry_after.into());
    page.extensions_mut().insert(OAuthErrorCode(code.into()));
    page
}

/// Refuses a consent form submission: the page (or JSON) with the reason, nothing issued.
pub(super) fn refuse_form(request: &Request, err: CsrfError) -> axum::response::Response {
    show_error(request, &OAuthError::invalid_request(err.to_string()), err.status())
}

/// `GET /authorize`: validate, then show the form (or the error, shown or redirected).
async fn authorize_get(State(state): State<Shared>, request: axum::extract::Request) -> axum::response::Response {
    let request = match read(&state, request).await {
        Ok(request) => request,
        Err(refused) => return respond(refused),
    };
    match state.server.validate_authorization_request(&request).await {
        Ok(validated) => consent_form(&state, &validated, consent::cookie_value(request.headers()), None, None),
        Err(err) => authorization_error(&request, &err, 302),
    }
}

/// `POST /authorize`: the form's submission. The CSRF token is checked first, against the
/// consent cookie the submission came with; then the form is recorded as used (a form
/// submitted before is refused, `403`, whatever its answer); then the hidden parameters are
/// validated again; then the decision is carried out: `deny` redirects with `access_denied`,
/// `allow` logs the user in (a wrong password shows a new form) and redirects with the
/// grant's response. Redirects after the POST are `303`.
async fn authorize_post(State(state): State<Shared>, request: axum::extract::Request) -> axum::response::Response {
    let (request, submitted) = match read_form(&state, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let hidden: Vec<(String, String)> = submitted
        .iter()
        .filter(|(name, _)| !consent::FORM_FIELDS.contains(name))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    if let Err(refused) = spend_form(&state, &request, &submitted, &hidden).await {
        return refused;
    }
    let cookie = consent::cookie_value(request.headers());

    let mut params = Params::new();
    for (name, value) in &hidden {
        params.insert(name.as_str(), value.as_str());
    }
    let validated = match state.server.validate_authorization_params(params).await {
        Ok(validated) => validated,
        Err(err) => return authorization_error(&request, &err, 303),
    };

    let consent = match submitted.get("consent") {
        Some("deny") => Consent::Deny,
        Some("allow") => {
            let username = submitted.get("username").unwrap_or_default();
            let password = submitted.get("password").unwrap_or_default();
            match state.server.authenticate_user(username, password).await {
                Ok(Some(subject)) => Consent::allow(subject),
                Ok(None) => {
                    let mut form =
                        consent_form(&state, &validated, cookie, Some(username), Some("Wrong username or password."));
                    form.extensions_mut().insert(OAuthErrorCode("login_failed".into()));
                    return form;
                }
                Err(LoginError::Throttled(refused)) => {
                    // The contract: 429 with Retry-After, the form kept for when the window passes.
                    let minutes = refused.retry_after.div_ceil(60);
                    let message =
                        format!("Too many failed attempts for this username. Try again in {minutes} minutes.");
                    let form = consent_form(&state, &validated, cookie, Some(username), Some(&message));
                    return throttled(form, refused.retry_after, "login_throttled");
                }
                Err(_) => {
                    let err = OAuthError::server_error("the user store is unavailable");
                    return show_error(&request, &err, 500);
                }
            }
        }
        _ => {
            let err = OAuthError::invalid_request("consent must be allow or deny");
            return show_error(&request, &err, 400);
        }
    };
    let mut response = state.server.create_authorization_response(&validated, consent).await;
    if response.status() == StatusCode::FOUND {
        *response.status_mut() = StatusCode::SEE_OTHER;
    }
    respond(response)
}
