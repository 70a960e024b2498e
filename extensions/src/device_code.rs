//! The device authorization grant (RFC 8628): a grant that brings its own endpoint.
//!
//! A device with no browser (a TV, a CLI) asks the device authorization endpoint for a
//! `device_code` and a short `user_code` (§3.1–3.2), shows the user the code and where to
//! enter it, and polls the token endpoint with the device code (§3.4) until the user approved
//! or denied on another device.
//!
//! The grant only decides: the user code's format (8 letters from
//! [`USER_CODE_ALPHABET`], §6.1) and the response's members. The engine mints the device code,
//! stores digests of both codes bound to the client and scope, answers the polls
//! (`authorization_pending`, `slow_down` with the interval grown by 5 s, `expired_token`,
//! `access_denied`) and consumes the device code once when it issues the tokens. A
//! verification page asks the engine for the pending request by user code
//! ([`AuthorizationServer::find_pending`](grantry_core::AuthorizationServer::find_pending),
//! throttled per §5.1) and records the user's decision
//! ([`decide_pending`](grantry_core::AuthorizationServer::decide_pending)).
//!
//! ```
//! use grantry_core::request::FormBody;
//! use grantry_core::storage::PendingDecision;
//! use grantry_core::{AuthorizationServer, ClientRecord, MemoryStore, ServerConfig, http};
//! use grantry_extensions::device_code::{DEVICE_CODE_GRANT_TYPE, DeviceCodeGrant, normalize_user_code};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! store.add_client(ClientRecord::public("tv").with_grant_types([DEVICE_CODE_GRANT_TYPE]).with_scope("read"))?;
//! let mut server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example")?);
//! server.register_grant(DeviceCodeGrant::new(), ())?;
//!
//! // The device asks for codes.
//! let start = http::Request::post("/device_authorization").form(&[("client_id", "tv")])?;
//! let response = server.grant_endpoint("/device_authorization", &start).await.expect("routed");
//! let codes: serde_json::Value = serde_json::from_slice(response.body())?;
//! assert_eq!(codes["verification_uri"], "https://auth.example/device");
//!
//! // The user types the code, a little sloppily, and approves.
//! let typed = codes["user_code"].as_str().unwrap().to_lowercase().replace('-', " ");
//! let user_code = normalize_user_code(&typed).expect("a well-formed code");
//! let pending = server.find_pending(&user_code, "203.0.113.7").await?.expect("a live request");
//! assert_eq!(pending.client.client_id(), "tv");
//! assert!(server.decide_pending(&pending, PendingDecision::Approve("alice".into())).await?);
//!
//! // The device's next poll gets the tokens.
//! let poll = http::Request::post("/token").form(&[
//!     ("grant_type", DEVICE_CODE_GRANT_TYPE.as_str()),
//!     ("device_code", codes["device_code"].as_str().unwrap()),
//!     ("client_id", "tv"),
//! ])?;
//! assert_eq!(server.token_endpoint(&poll).await.status(), 200);
//! # Ok(())
//! # }
//! ```

use grantry_core::plugin::{Plugin, parse_config};
use grantry_core::{
    ClientAuthMethods, EndpointGrant, EndpointRequest, Grant, GrantEndpoint, GrantType, OAuthError, Serves,
    TokenDecision, TokenGrant, TokenRequest, encode_component,
};
use rand::Rng as _;
use serde_json::{Map, Value};

/// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT_TYPE_NAME: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// `urn:ietf:params:oauth:grant-type:device_code`, as a [`GrantType`].
pub const DEVICE_CODE_GRANT_TYPE: GrantType = GrantType::from_static(DEVICE_CODE_GRANT_TYPE_NAME);

/// The device authorization endpoint: its path under the issuer, and its metadata member
/// (RFC 8628 §4).
pub const DEVICE_AUTHORIZATION_ENDPOINT: GrantEndpoint =
    GrantEndpoint::new("/device_authorization", "device_authorization_endpoint");

/// The letters of user codes (RFC 8628 §6.1): consonants only, so no code spells a word and
/// none is mistaken for a digit; case does not matter when typed.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Letters in a user code: 20^8, about 2^34.6 codes, for a code that lives minutes and whose
/// guesses are throttled (§5.1).
pub const USER_CODE_LENGTH: usize = 8;

/// How many user codes are drawn before giving up when each is taken by a live request.
const USER_CODE_ATTEMPTS: usize = 8;

/// The device authorization grant.
#[derive(Debug, Clone)]
pub struct DeviceCodeGrant {
    lifetime: u64,
    interval: u64,
    verification_path: String,
}

impl Default for DeviceCodeGrant {
    fn default() -> Self {
        Self::new()
    }
}

impl DeviceCodeGrant {
    /// Device codes live 600 s and are polled every 5 s (RFC 8628 §3.2's default interval);
    /// users enter them at `/device` under the issuer.
    pub fn new() -> Self {
        DeviceCodeGrant { lifetime: 600, interval: 5, verification_path: "/device".into() }
    }

    /// Sets how long a device code lives (`expires_in`), in seconds.
    pub fn with_lifetime(mut self, seconds: u64) -> Self {
        self.lifetime = seconds;
        self
    }

    /// Sets the polling interval the response asks for (`interval`), in seconds.
    pub fn with_interval(mut self, seconds: u64) -> Self {
        self.interval = seconds;
        self
    }

    /// Sets the path, under the issuer, of the page where users enter their code.
    pub fn with_verification_path(mut self, path: impl Into<String>) -> Self {
        self.verification_path = path.into();
        self
    }
}

impl Grant for DeviceCodeGrant {
    fn serves(&self) -> Serves<Self> {
        // RFC 8628 §3.1: client authentication as at the token endpoint, public clients too.
        Serves::token_endpoint(DEVICE_CODE_GRANT_TYPE)
            .and_endpoint(DEVICE_AUTHORIZATION_ENDPOINT)
            .with_auth_methods(ClientAuthMethods::any())
    }
}

impl EndpointGrant for DeviceCodeGrant {
    /// RFC 8628 §3.2: the device authorization response.
    async fn serve_endpoint(&self, request: &EndpointRequest<'_>) -> Result<Map<String, Value>, OAuthError> {
        for _ in 0..USER_CODE_ATTEMPTS {
            let user_code = new_user_code();
            let Some(device_code) = request.start_pending(&user_code, self.lifetime, self.interval).await? else {
                continue;
            };
            let shown = display_user_code(&user_code);
            let verification_uri =
                format!("{}{}", request.config().issuer().trim_end_matches('/'), self.verification_path);
            let complete = format!("{verification_uri}?user_code={}", encode_component(&shown));
            let mut members = Map::new();
            members.insert("device_code".into(), device_code.expose().into());
            members.insert("user_code".into(), shown.into());
            members.insert("verification_uri".into(), verification_uri.into());
            members.insert("verification_uri_complete".into(), complete.into());
            members.insert("expires_in".into(), self.lifetime.into());
            members.insert("interval".into(), self.interval.into());
            return Ok(members);
        }
        // Every code drawn was taken, or the store is full: a server busy beyond its bounds.
        Err(OAuthError::new(
            grantry_core::ErrorCode::TemporarilyUnavailable,
            "no device authorization can be started now; try again later",
        ))
    }
}

impl TokenGrant for DeviceCodeGrant {
    /// RFC 8628 §3.4: the device polls with its device code.
    async fn exchange(&self, request: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        let device_code = request.params().require("device_code")?;
        Ok(TokenDecision::from_pending(request.poll_pending(device_code).await?))
    }
}

/// A new user code in canonical form: [`USER_CODE_LENGTH`] letters of [`USER_CODE_ALPHABET`],
/// from the CSPRNG.
fn new_user_code() -> String {
    let mut rng = rand::rng();
    (0..USER_CODE_LENGTH)
        .map(|_| char::from(USER_CODE_ALPHABET[rng.random_range(0..USER_CODE_ALPHABET.len())]))
        .collect()
}

/// A canonical user code as shown to the user: two groups of four, `BCDF-GHJK`.
pub fn display_user_code(canonical: &str) -> String {
    let (first, second) = canonical.split_at(canonical.len() / 2);
    format!("{first}-{second}")
}

/// A user code as typed (any case, with dashes or spaces) in canonical form, or `None` when it
/// cannot be one (RFC 8628 §6.1: "the authorization server should be case-insensitive" and
/// ignore punctuation).
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let canonical: String =
        typed.chars().filter(|c| !matches!(c, '-' | ' ' | '\t')).map(|c| c.to_ascii_uppercase()).collect();
    let well_formed = canonical.len() == USER_CODE_LENGTH && canonical.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    well_formed.then_some(canonical)
}

/// The plugin's configuration: `lifetime` and `interval` in seconds, `verification_path`.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DeviceCodeConfig {
    lifetime: Option<u64>,
    interval: Option<u64>,
    verification_path: Option<String>,
}

grantry_core::inventory::submit! {
    Plugin::grant(DEVICE_CODE_GRANT_TYPE_NAME, "The device authorization grant (RFC 8628).", |config| {
        let config: DeviceCodeConfig = parse_config(DEVICE_CODE_GRANT_TYPE_NAME, config)?;
        let mut grant = DeviceCodeGrant::new();
        if let Some(lifetime) = config.lifetime {
            grant = grant.with_lifetime(lifetime);
        }
        if let Some(interval) = config.interval {
            grant = grant.with_interval(interval);
        }
        if let Some(path) = config.verification_path {
            grant = grant.with_verification_path(path);
        }
        Ok(grantry_core::BoxedGrant::new(grant))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_unambiguous_letters() {
        for _ in 0..1000 {
            let code = new_user_code();
            assert_eq!(code.len(), USER_CODE_LENGTH);
            assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)), "{code}");
            assert_eq!(normalize_user_code(&code).as_deref(), Some(code.as_str()));
        }
    }

    #[test]
    fn typed_codes_are_normalised_and_malformed_ones_refused() {
        assert_eq!(normalize_user_code("bcdf-ghjk").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalize_user_code(" BcDf GhJk ").as_deref(), Some("BCDFGHJK"));
        assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
        for bad in ["", "BCDF-GHJ", "BCDF-GHJKL", "BCDF-GHJA", "BCDF-GHJ1", "BCDF_GHJK", "ВCDF-GHJK"] {
            assert_eq!(normalize_user_code(bad), None, "{bad:?}");
        }
    }
}
