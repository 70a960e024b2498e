//! Server configuration: identity, lifetimes, token generation and time.

use crate::client::Client;
use crate::clock::{Clock, SystemClock};
use crate::grant_type::GrantType;
use crate::issuance::Issuance;
use crate::params::Params;
use crate::storage::TokenRecord;
use crate::token::{ExpiresIn, RandomTokenGenerator, TokenGenerator};
use crate::token_format::AccessTokenFormat;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The issuer identifier breaks RFC 8414 §2.
    #[error("issuer {issuer:?}: {problem}")]
    Issuer {
        /// The issuer given.
        issuer: String,
        /// What is wrong.
        problem: &'static str,
    },
}

fn validate_issuer(issuer: &str) -> Result<(), ConfigError> {
    let refuse = |problem| Err(ConfigError::Issuer { issuer: issuer.to_owned(), problem });
    let Ok(url) = url::Url::parse(issuer) else { return refuse("is not an absolute URL") };
    if issuer.contains('?') || issuer.contains('#') {
        return refuse("must have no query and no fragment (RFC 8414 section 2)");
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return refuse("has no host"),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => refuse("must use the https scheme (http only for loopback hosts, RFC 8414 section 2)"),
    }
}

/// A rule deciding whether a caller may introspect a token.
pub type IntrospectionRule = dyn Fn(&dyn Client, &TokenRecord) -> bool + Send + Sync;

/// Which tokens an authenticated caller may see at the introspection endpoint (RFC 7662 §4:
/// the server decides; a token the caller may not see is reported inactive).
#[derive(Clone)]
#[non_exhaustive]
pub enum IntrospectionAccess {
    /// Only tokens issued to the caller itself (the default).
    OwnTokens,
    /// Any token, for any authenticated caller (every client is a trusted resource server).
    AnyToken,
    /// A rule of the application's: for example, resource-server clients see every token.
    Rule(Arc<IntrospectionRule>),
}

impl IntrospectionAccess {
    /// Whether `caller` may see `token`.
    pub fn allows(&self, caller: &dyn Client, token: &TokenRecord) -> bool {
        match self {
            IntrospectionAccess::OwnTokens => *token.client_id == *caller.client_id(),
            IntrospectionAccess::AnyToken => true,
            IntrospectionAccess::Rule(rule) => rule(caller, token),
        }
    }
}

impl fmt::Debug for IntrospectionAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntrospectionAccess::OwnTokens => "OwnTokens",
            IntrospectionAccess::AnyToken => "AnyToken",
            IntrospectionAccess::Rule(_) => "Rule(..)",
        })
    }
}

/// How a server is configured.
///
/// ```
/// use grantry_core::{ExpiresIn, GrantType, ServerConfig};
/// let config = ServerConfig::new("https://auth.example.com")
///     .unwrap()
///     .with_access_token_ttl(900)
///     .with_expires_in(GrantType::CLIENT_CREDENTIALS, ExpiresIn::Seconds(300));
/// assert_eq!(config.token_endpoint(), "https://auth.example.com/token");
/// ```
#[derive(Clone)]
pub struct ServerConfig {
    issuer: String,
    token_endpoint: String,
    authorization_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    introspection_access: IntrospectionAccess,
    access_token_ttl: ExpiresIn,
    expires_in: HashMap<GrantType, ExpiresIn>,
    refresh_token_ttl: Option<u64>,
    code_ttl: u64,
    token_generator: Arc<dyn TokenGenerator>,
    access_token_format: Option<Arc<dyn AccessTokenFormat>>,
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
    /// A configuration for the server identified by `issuer`. Defaults: access tokens live
    /// 1 hour, refresh tokens 14 days, codes 10 minutes; endpoints at `{issuer}/authorize`,
    /// `/token`, `/revoke` and `/introspect`.
    ///
    /// The issuer must be what RFC 8414 §2 says: an `https` URL with no query or fragment
    /// (`http` is accepted only for loopback hosts, for development).
    pub fn new(issuer: impl Into<String>) -> Result<Self, ConfigError> {
        let issuer = issuer.into();
        validate_issuer(&issuer)?;
        let base = issuer.trim_end_matches('/');
        Ok(ServerConfig {
            token_endpoint: format!("{base}/token"),
            authorization_endpoint: format!("{base}/authorize"),
            revocation_endpoint: format!("{base}/revoke"),
            introspection_endpoint: format!("{base}/introspect"),
            introspection_access: IntrospectionAccess::OwnTokens,
            issuer,
            access_token_ttl: ExpiresIn::Seconds(3600),
            expires_in: HashMap::new(),
            refresh_token_ttl: Some(14 * 24 * 3600),
            code_ttl: 600,
            token_generator: Arc::new(RandomTokenGenerator),
            access_token_format: None,
            clock: Arc::new(SystemClock),
        })
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

    /// Sets the revocation endpoint URL (RFC 7009).
    pub fn with_revocation_endpoint(mut self, url: impl Into<String>) -> Self {
        self.revocation_endpoint = url.into();
        self
    }

    /// Sets the introspection endpoint URL (RFC 7662).
    pub fn with_introspection_endpoint(mut self, url: impl Into<String>) -> Self {
        self.introspection_endpoint = url.into();
        self
    }

    /// Sets which callers may see which tokens at the introspection endpoint.
    pub fn with_introspection_access(mut self, access: IntrospectionAccess) -> Self {
        self.introspection_access = access;
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

    /// Issues access tokens in `format` (RFC 9068 JWTs, say) instead of opaque random ones.
    pub fn with_access_token_format(mut self, format: Arc<dyn AccessTokenFormat>) -> Self {
        self.access_token_format = Some(format);
        self
    }

    /// The access token format, when it is not the default opaque one.
    pub fn access_token_format(&self) -> Option<&dyn AccessTokenFormat> {
        self.access_token_format.as_deref()
    }

    pub(crate) fn shared_access_token_format(&self) -> Option<Arc<dyn AccessTokenFormat>> {
        self.access_token_format.clone()
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

    /// The revocation endpoint URL.
    pub fn revocation_endpoint(&self) -> &str {
        &self.revocation_endpoint
    }

    /// The introspection endpoint URL.
    pub fn introspection_endpoint(&self) -> &str {
        &self.introspection_endpoint
    }

    /// Who may introspect what.
    pub fn introspection_access(&self) -> &IntrospectionAccess {
        &self.introspection_access
    }

    /// The access token lifetime for this issuance and request.
    pub fn access_token_ttl(&self, issuance: &Issuance, params: &Params) -> u64 {
        self.expires_in.get(issuance.grant_type()).unwrap_or(&self.access_token_ttl).seconds(issuance, params)
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

    /// The clock, shared (for guards that outlive a borrow of the server).
    pub fn shared_clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
}
