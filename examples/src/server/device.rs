//! The device verification page of the device authorization grant (RFC 8628 §3.3), at
//! `/device`: one form, like `/authorize`'s, with the user code (pre-filled from
//! `?user_code=`), username and password, Allow and Deny.
//!
//! The form is bound to the browser's consent cookie and single-use, as the consent form is
//! ([`consent`](super::consent)). The user code is normalised (any case, dashes, spaces) and
//! looked up through the engine, which throttles lookups per client address
//! ([`find_pending`](grantry_core::AuthorizationServer::find_pending), RFC 8628 §5.1); the
//! password check goes through the same login throttle as `/authorize`'s. A throttled code
//! entry or login answers `429` with `Retry-After`.
//!
//! The address is the TCP peer's: behind a reverse proxy every user shares the proxy's, and a
//! deployment there keys the throttle by the client address the proxy reports instead.

use super::app::AppState;
use super::consent::{self, FORM_FIELDS};
use super::logging::OAuthErrorCode;
use super::pages::{self, DeviceRequest};
use super::routes::{
    Shared, form_cookie, html, read, read_form, respond, show_error, spend_form, throttled, with_new_cookie,
};
use axum::extract::{ConnectInfo, State};
use grantry_core::storage::PendingDecision;
use grantry_core::throttle::LoginError;
use grantry_core::{OAuthError, Params, PendingView, Request};
use grantry_extensions::device_code::{display_user_code, normalize_user_code};
use std::net::SocketAddr;

/// The device page's own form fields besides the consent form's.
const USER_CODE_FIELD: &str = "user_code";

/// What a device form is bound to besides the cookie: that it is the device form, so a consent
/// form's token is no good here, nor this one's there.
fn hidden() -> Vec<(String, String)> {
    vec![("form".to_owned(), "device".to_owned())]
}

/// Renders the form for `user_code` (as typed), showing `pending` when the code named one.
fn device_form(
    state: &AppState,
    request: &Request,
    user_code: &str,
    pending: Option<&PendingView>,
    username: &str,
    error: Option<&str>,
) -> axum::response::Response {
    let (cookie, is_new) = form_cookie(consent::cookie_value(request.headers()));
    let token = state.csrf.issue(&cookie, &hidden(), consent::unix_now());
    let client_name = pending.map(|p| {
        p.client.metadata("client_name").and_then(|name| name.as_str()).unwrap_or(p.client.client_id()).to_owned()
    });
    let shown = pending
        .zip(client_name.as_deref())
        .map(|(p, client_name)| DeviceRequest { client_name, scopes: p.scope.iter().collect() });
    let page = html(200, pages::device_page(user_code, shown.as_ref(), &token, username, error));
    respond(with_new_cookie(state, page, &cookie, is_new))
}

/// The address user-code lookups are throttled by: the peer's (put on every request by the
/// accept loop).
fn attempt_key(request: &axum::extract::Request) -> String {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>();
    peer.map_or_else(|| "unknown".to_owned(), |ConnectInfo(addr)| addr.ip().to_string())
}

/// The pending request a typed code names: `Ok(None)` for a code that names none, the page to
/// answer when the lookup is refused.
async fn lookup(
    state: &AppState,
    request: &Request,
    typed: &str,
    peer: &str,
) -> Result<Option<(String, PendingView)>, axum::response::Response> {
    let Some(user_code) = normalize_user_code(typed) else { return Ok(None) };
    match state.server.find_pending(&user_code, peer).await {
        Ok(found) => Ok(found.map(|view| (user_code, view))),
        Err(LoginError::Throttled(refused)) => {
            let minutes = refused.retry_after.div_ceil(60);
            let message = format!("Too many wrong codes. Try again in {minutes} minutes.");
            let page = device_form(state, request, typed, None, "", Some(&message));
            Err(throttled(page, refused.retry_after, "user_code_throttled"))
        }
        Err(_) => Err(show_error(request, &OAuthError::server_error("the store is unavailable"), 500)),
    }
}

/// `GET /device`: the form, for the code in `?user_code=` when given (then showing which client
/// asks for what, if the code names a pending request).
pub async fn device_get(State(state): State<Shared>, request: axum::extract::Request) -> axum::response::Response {
    let peer = attempt_key(&request);
    let request = match read(&state, request).await {
        Ok(request) => request,
        Err(refused) => return respond(refused),
    };
    let query = Params::parse(request.uri().query().unwrap_or_default().as_bytes()).unwrap_or_default();
    let typed = query.get(USER_CODE_FIELD).unwrap_or_default().to_owned();
    if typed.is_empty() {
        return device_form(&state, &request, "", None, "", None);
    }
    match lookup(&state, &request, &typed, &peer).await {
        Ok(Some((code, pending))) => device_form(&state, &request, &display_user_code(&code), Some(&pending), "", None),
        Ok(None) => device_form(&state, &request, &typed, None, "", Some(UNKNOWN_CODE)),
        Err(page) => page,
    }
}

/// What the page says of a code that names no pending request.
const UNKNOWN_CODE: &str = "That code is not valid or has expired. Check the code on your device.";

/// `POST /device`: the form's submission. The CSRF token and cookie are checked and the form
/// spent first; then the code is looked up (throttled), then `deny` records the denial, `allow`
/// logs the user in (throttled; a wrong password shows the form again) and records the
/// approval. The device's next poll gets its answer.
pub async fn device_post(State(state): State<Shared>, request: axum::extract::Request) -> axum::response::Response {
    let peer = attempt_key(&request);
    let (request, submitted) = match read_form(&state, request).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    if submitted.iter().any(|(name, _)| !FORM_FIELDS.contains(&name) && name != USER_CODE_FIELD && name != "form") {
        return show_error(&request, &OAuthError::invalid_request("unexpected form field"), 400);
    }
    if let Err(refused) = spend_form(&state, &request, &submitted, &hidden()).await {
        return refused;
    }
    let typed = submitted.get(USER_CODE_FIELD).unwrap_or_default();
    let username = submitted.get("username").unwrap_or_default();
    let (user_code, pending) = match lookup(&state, &request, typed, &peer).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let mut page = device_form(&state, &request, typed, None, username, Some(UNKNOWN_CODE));
            *page.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            page.extensions_mut().insert(OAuthErrorCode("unknown_user_code".into()));
            return page;
        }
        Err(page) => return page,
    };
    let decision = match submitted.get("consent") {
        Some("deny") => PendingDecision::Deny,
        Some("allow") => {
            let password = submitted.get("password").unwrap_or_default();
            let shown = display_user_code(&user_code);
            match state.server.authenticate_user(username, password).await {
                Ok(Some(subject)) => PendingDecision::Approve(subject.into()),
                Ok(None) => {
                    let error = Some("Wrong username or password.");
                    let mut page = device_form(&state, &request, &shown, Some(&pending), username, error);
                    page.extensions_mut().insert(OAuthErrorCode("login_failed".into()));
                    return page;
                }
                Err(LoginError::Throttled(refused)) => {
                    let minutes = refused.retry_after.div_ceil(60);
                    let message =
                        format!("Too many failed attempts for this username. Try again in {minutes} minutes.");
                    let page = device_form(&state, &request, &shown, Some(&pending), username, Some(&message));
                    return throttled(page, refused.retry_after, "login_throttled");
                }
                Err(_) => return show_error(&request, &OAuthError::server_error("the user store is unavailable"), 500),
            }
        }
        _ => return show_error(&request, &OAuthError::invalid_request("consent must be allow or deny"), 400),
    };
    let approved = matches!(decision, PendingDecision::Approve(_));
    match state.server.decide_pending(&pending, decision).await {
        Ok(true) if approved => respond(html(200, pages::device_done_page("Done: your device is connected."))),
        Ok(true) => respond(html(200, pages::device_done_page("Denied: the device was not given access."))),
        Ok(false) => {
            let mut page = device_form(&state, &request, typed, None, username, Some(UNKNOWN_CODE));
            *page.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            page
        }
        Err(err) => show_error(&request, &err, 500),
    }
}
