//! Prometheus metrics, off by default: with `metrics_listen` set, the `metrics` crate's
//! Prometheus exporter serves them at `http://ADDR:PORT/metrics`, on a listener of its own (so
//! the OAuth port exposes nothing more).
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `grantry_http_requests_total` | `endpoint`, `method`, `status` | requests answered |
//! | `grantry_http_request_duration_seconds` | `endpoint` | latency histogram |
//! | `grantry_oauth_errors_total` | `endpoint`, `error` | OAuth error responses, by RFC error code |
//! | `grantry_tokens_issued_total` | `grant_type` | token responses decided, by grant |
//! | `grantry_revocations_total` | | revocation requests answered `200` (RFC 7009 answers so for unknown tokens too) |
//! | `grantry_logins_throttled_total` | `check` | credential checks refused by the login throttle |
//! | `grantry_server_errors_total` | `endpoint` | `5xx` answers (a store that fails, above all) |
//!
//! Nothing secret or chosen by a caller reaches a label: `endpoint` is one of the server's
//! routes or `other`, `method` one of `GET`, `POST` or `other`, `error` a well-formed RFC error
//! code the server itself sent, `grant_type` one the engine registered.

use grantry_core::throttle::{CredentialCheck, LoginThrottle, Throttled};
use grantry_core::{GrantExtension, Issuance, OAuthError, ResponseMembers, Timestamp};
use metrics_exporter_prometheus::PrometheusBuilder;
use std::net::SocketAddr;
use std::time::Duration;

/// The routes, as the `endpoint` label names them.
const ENDPOINTS: [&str; 10] = [
    "/authorize",
    "/token",
    "/revoke",
    "/introspect",
    "/.well-known/oauth-authorization-server",
    "/api/me",
    "/healthz",
    "/device_authorization",
    "/device",
    "/jwks.json",
];

/// The latency histogram's buckets, in seconds: from a memory store's 100 µs to a slow
/// database's seconds.
const LATENCY_BUCKETS: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5];

/// Installs the Prometheus recorder for this process and starts its listener on `addr`.
/// Fails when the address cannot be used or a recorder is installed already.
pub fn install(addr: SocketAddr) -> Result<(), String> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(&LATENCY_BUCKETS)
        .and_then(|builder| builder.install())
        .map_err(|err| err.to_string())
}

/// The `endpoint` label of a request path.
pub fn endpoint(path: &str) -> &'static str {
    ENDPOINTS.into_iter().find(|known| *known == path).unwrap_or("other")
}

/// Records one answered request to `endpoint` (an [`endpoint`] label).
pub fn record_request(endpoint: &'static str, method: &str, status: u16, latency: Duration, error: Option<&str>) {
    let method = match method {
        "GET" => "GET",
        "POST" => "POST",
        _ => "other",
    };
    metrics::counter!("grantry_http_requests_total", "endpoint" => endpoint, "method" => method, "status" => status.to_string())
        .increment(1);
    metrics::histogram!("grantry_http_request_duration_seconds", "endpoint" => endpoint).record(latency.as_secs_f64());
    if let Some(error) = error {
        metrics::counter!("grantry_oauth_errors_total", "endpoint" => endpoint, "error" => error.to_owned())
            .increment(1);
    }
    if status >= 500 {
        metrics::counter!("grantry_server_errors_total", "endpoint" => endpoint).increment(1);
    }
    if endpoint == "/revoke" && status == 200 {
        metrics::counter!("grantry_revocations_total").increment(1);
    }
}

/// A server-wide extension counting the token responses the engine decides, by grant type.
#[derive(Debug, Clone, Copy, Default)]
pub struct IssuanceCounter;

impl GrantExtension for IssuanceCounter {
    fn name(&self) -> &str {
        "metrics"
    }

    fn before_token_issued(&self, issuance: &Issuance, _members: &mut ResponseMembers) -> Result<(), OAuthError> {
        metrics::counter!("grantry_tokens_issued_total", "grant_type" => issuance.grant_type().to_string())
            .increment(1);
        Ok(())
    }
}

/// A [`LoginThrottle`] that counts what the throttle it wraps refuses.
#[derive(Debug)]
pub struct CountedThrottle<T>(pub T);

#[grantry_core::async_trait]
impl<T: LoginThrottle> LoginThrottle for CountedThrottle<T> {
    fn watches(&self, check: CredentialCheck) -> bool {
        self.0.watches(check)
    }

    async fn admit(&self, check: CredentialCheck, key: &str, now: Timestamp) -> Result<(), Throttled> {
        let admitted = self.0.admit(check, key, now).await;
        if admitted.is_err() {
            let check = match check {
                CredentialCheck::UserPassword => "user_password",
                CredentialCheck::ClientSecret => "client_secret",
                CredentialCheck::UserCode => "user_code",
                _ => "other",
            };
            metrics::counter!("grantry_logins_throttled_total", "check" => check).increment(1);
        }
        admitted
    }

    async fn record(&self, check: CredentialCheck, key: &str, succeeded: bool, now: Timestamp) {
        self.0.record(check, key, succeeded, now).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(endpoint("/token"), "/token");
        assert_eq!(endpoint("/device_authorization"), "/device_authorization");
        assert_eq!(endpoint("/token/../secret"), "other");
        assert_eq!(endpoint("/a-path-chosen-by-a-caller"), "other");
    }
}
