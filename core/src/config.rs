//! Server configuration: identity, lifetimes, token generation and time.

use crate::clock::{Clock, SystemClock};
use crate::grant::AccessGrant;
use crate::grant_type::GrantType;
use crate::params::Params;
use crate::token::{ExpiresIn, RandomTokenGenerator, TokenGenerator};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// How a server is configured.
///
/// ```
/// use grantry_core::{ExpiresIn, GrantType, ServerConfig};
/// let config = ServerConfig::new("https://auth.example.com")
///     .with_access_token_ttl(900)
///     .with_expires_in(GrantType::CLIENT_CREDENTIALS, ExpiresIn::Seconds(300));
/// assert_eq!(config.token_endpoint(), "https://auth.example.com/token");
/// ```
#[derive(Clone)]
pub struct ServerConfig {
    issuer: String,
    token_endpoint: String,
    authorization_endpoint: String,
    access_token_ttl: ExpiresIn,
    expires_in: HashMap<GrantType, ExpiresIn>,
    refresh_token_ttl: Option<u64>,
    code_ttl: u64,
    token_generator: Arc<dyn TokenGenerator>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("issuer", &self.issuer)
            .field("token_endpoint", &self.token_endpoint)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("code_ttl", &self.code_ttl)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Defaults: access tokens live 1 hour, refresh tokens 14 days, codes 10 minutes;
    /// endpoints at `{issuer}/authorize` and `{issuer}/token`.
    pub fn new(issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        let base = issuer.trim_end_matches('/');
        ServerConfig {
            token_endpoint: format!("{base}/token"),
            authorization_endpoint: format!("{base}/authorize"),
            issuer,
            access_token_ttl: ExpiresIn::Seconds(3600),
            expires_in: HashMap::new(),
            refresh_token_ttl: Some(14 * 24 * 3600),
            code_ttl: 600,
            token_generator: Arc::new(RandomTokenGenerator),
            clock: Arc::new(SystemClock),
        }
    }

    /// Sets the token endpoint URL (an accepted JWT audience, and the metadata's `token_endpoint`).
    pub fn with_token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.token_endpoint = url.into();
        self
    }

    /// Sets the authorization endpoint URL.
    pub fn with_authorization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.authorization_endpoint = url.into();
        self
    }

    /// Sets the default access token lifetime in seconds.
    pub fn with_access_token_ttl(mut self, seconds: u64) -> Self {
        self.access_token_ttl = ExpiresIn::Seconds(seconds);
        self
    }

    /// Sets the access token lifetime for one grant type: fixed or computed per request.
    pub fn with_expires_in(mut self, grant_type: GrantType, expires_in: ExpiresIn) -> Self {
        self.expires_in.insert(grant_type, expires_in);
        self
    }

    /// Sets the refresh token lifetime (`None`: refresh tokens do not expire).
    pub fn with_refresh_token_ttl(mut self, seconds: Option<u64>) -> Self {
        self.refresh_token_ttl = seconds;
        self
    }

    /// Sets the authorization code lifetime (RFC 6749 §4.1.2 recommends at most 10 minutes).
    pub fn with_code_ttl(mut self, seconds: u64) -> Self {
        self.code_ttl = seconds;
        self
    }

    /// Replaces the token generator.
    pub fn with_token_generator(mut self, generator: Arc<dyn TokenGenerator>) -> Self {
        self.token_generator = generator;
        self
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The token endpoint URL.
    pub fn token_endpoint(&self) -> &str {
        &self.token_endpoint
    }

    /// The authorization endpoint URL.
    pub fn authorization_endpoint(&self) -> &str {
        &self.authorization_endpoint
    }

    /// The access token lifetime for this grant and request.
    pub fn access_token_ttl(&self, grant: &AccessGrant, params: &Params) -> u64 {
        self.expires_in.get(&grant.grant_type).unwrap_or(&self.access_token_ttl).seconds(grant, params)
    }

    /// The refresh token lifetime.
    pub fn refresh_token_ttl(&self) -> Option<u64> {
        self.refresh_token_ttl
    }

    /// The authorization code lifetime.
    pub fn code_ttl(&self) -> u64 {
        self.code_ttl
    }

    /// The token generator.
    pub fn token_generator(&self) -> &dyn TokenGenerator {
        &*self.token_generator
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }
}
