//! Logging: one line per request, to stderr (stdout is for the lines a caller waits for), and
//! the request's [metrics](super::metrics).
//!
//! Each line has the method, the path (never the query string, which can carry codes, tokens
//! and state), the status, the latency, and the OAuth `error` code when the response is an
//! OAuth error. Nothing else of the request or the response is logged: no header, no body,
//! no secret, token, code or password.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use std::str::FromStr as _;
use std::time::Instant;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The default filter: INFO and above.
pub const DEFAULT_FILTER: &str = "info";

/// The OAuth error code of a response, attached to it by the handlers for the request log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthErrorCode(pub String);

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line (tracing-subscriber's JSON format), for log collectors.
    Json,
}

/// The response header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// How many lines may wait for the log's writer thread before a request waits for it.
const QUEUED_LINES: usize = 65_536;

/// Starts logging to stderr at INFO, or as `RUST_LOG` says (`level` or `target=level,...`),
/// in `format`, through a writer thread of its own: a request queues its line and goes on (at
/// most [`QUEUED_LINES`] wait; past that a request waits, and no line is lost). Keep the
/// returned guard until the process ends: dropping it writes out what is queued. Does nothing
/// if a subscriber is set already (as in tests).
pub fn init(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(QUEUED_LINES)
        .lossy(false)
        .finish(std::io::stderr());
    let from_env = std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty());
    let (filter, bad_env) = match from_env.as_deref().map(Targets::from_str) {
        Some(Ok(filter)) => (filter, None),
        Some(Err(err)) => (default_filter(), Some(err.to_string())),
        None => (default_filter(), None),
    };
    let layer = tracing_subscriber::fmt::layer().with_writer(writer).with_target(false);
    let layer = match format {
        LogFormat::Json => layer.json().boxed(),
        LogFormat::Text => layer.boxed(),
    };
    if tracing_subscriber::registry().with(layer).with(filter).try_init().is_ok() {
        if let Some(err) = bad_env {
            tracing::warn!("RUST_LOG ignored ({err}); logging at {DEFAULT_FILTER}");
        }
    }
    guard
}

fn default_filter() -> Targets {
    Targets::new().with_default(tracing::Level::INFO)
}

/// The OAuth `error` code a response carries: the JSON body's `error`, or the `error`
/// parameter of a redirect's `Location` (query or fragment). Only a well-formed code (RFC 6749
/// §5.2 `error` syntax, at most 64 characters) is returned, so nothing else leaks into the log.
pub fn oauth_error_code(response: &grantry_core::Response) -> Option<String> {
    let code = match response.headers().get(axum::http::header::LOCATION) {
        Some(location) => location_error(location.to_str().ok()?),
        None => serde_json::from_slice::<serde_json::Value>(response.body())
            .ok()
            .and_then(|body| body.get("error")?.as_str().map(str::to_owned)),
    }?;
    let well_formed = !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\' && b != b' ');
    well_formed.then_some(code)
}

fn location_error(location: &str) -> Option<String> {
    let (_, rest) = location.split_once(['?', '#'])?;
    rest.split(['&', '#', '?'])
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == "error")
        .map(|(_, value)| value.to_owned())
}

/// The request's id: the `X-Request-Id` a proxy in front set, when it is a short token of
/// `[A-Za-z0-9._-]`, else a new random one. Logged with the request and sent back.
fn request_id(request: &Request) -> String {
    let given = request.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok());
    let well_formed = |id: &&str| {
        (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    match given.filter(well_formed) {
        Some(id) => id.to_owned(),
        None => format!("{:016x}", rand::random::<u64>()),
    }
}

/// The middleware writing the request log line, and the `X-Request-Id` response header.
pub async fn log_requests(request: Request, next: Next) -> Response {
    let id = request_id(&request);
    let method = request.method().clone();
    let endpoint = super::metrics::endpoint(request.uri().path());
    let mut path = request.uri().path().to_owned();
    if path.len() > 200 {
        let mut end = 200;
        while !path.is_char_boundary(end) {
            end -= 1;
        }
        path.truncate(end);
        path.push_str("...");
    }
    let started = Instant::now();
    let mut response = next.run(request).await;
    let elapsed = started.elapsed();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let status = response.status().as_u16();
    let latency = format!("{latency_ms:.3}ms");
    let error = response.extensions().get::<OAuthErrorCode>().map(|OAuthErrorCode(error)| error.as_str());
    super::metrics::record_request(endpoint, method.as_str(), status, elapsed, error);
    match response.extensions().get::<OAuthErrorCode>() {
        Some(OAuthErrorCode(error)) => {
            tracing::info!(request_id = %id, method = %method, path = %path, status, latency = %latency, error = %error, "request");
        }
        None => tracing::info!(request_id = %id, method = %method, path = %path, status, latency = %latency, "request"),
    }
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use grantry_core::OAuthError;
    use grantry_core::response::{json_no_store, oauth_error, redirect};

    #[test]
    fn a_request_id_from_a_proxy_is_kept_only_when_well_formed() {
        let with = |id: &str| {
            axum::http::Request::builder().header(REQUEST_ID_HEADER, id).body(axum::body::Body::empty()).unwrap()
        };
        assert_eq!(request_id(&with("abc-123.x_y")), "abc-123.x_y");
        for odd in ["", "a b", "a/b", &"x".repeat(65), "<script>"] {
            let id = request_id(&with(odd));
            assert_ne!(id, odd);
            assert_eq!(id.len(), 16, "a fresh id instead of {odd:?}");
        }
    }

    #[test]
    fn finds_the_error_code_in_bodies_and_redirects() {
        let json = oauth_error(&OAuthError::invalid_client("bad secret"));
        assert_eq!(oauth_error_code(&json).as_deref(), Some("invalid_client"));
        let query = redirect(StatusCode::FOUND, "http://c.example/cb?error=access_denied&state=s");
        assert_eq!(oauth_error_code(&query).as_deref(), Some("access_denied"));
        let fragment = redirect(StatusCode::FOUND, "http://c.example/cb?k=v#state=s&error=invalid_scope");
        assert_eq!(oauth_error_code(&fragment).as_deref(), Some("invalid_scope"));
        let success = redirect(StatusCode::FOUND, "http://c.example/cb?code=secret-code&state=s");
        assert_eq!(oauth_error_code(&success), None);
        let token = json_no_store(StatusCode::OK, &serde_json::json!({"access_token": "t"}));
        assert_eq!(oauth_error_code(&token), None);
        let odd = json_no_store(StatusCode::BAD_REQUEST, &serde_json::json!({"error": "a b\nc"}));
        assert_eq!(oauth_error_code(&odd), None, "malformed codes are not logged");
    }
}
