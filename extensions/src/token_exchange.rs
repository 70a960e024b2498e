//! Token exchange (RFC 8693): a grant whose input is a token.
//!
//! A client presents an access token this server issued (`subject_token`), perhaps with one
//! naming who acts for its subject (`actor_token`), and gets a new access token for the same
//! subject: narrower, for another audience, or delegated (§1.1). The grant reads and checks
//! the request's parameters and asks an [`ExchangePolicy`] (the user's) whether this client may
//! have this exchange; the engine finds the tokens active, keeps the new token's scope within
//! both the subject token's and the client's (`invalid_scope` beyond), records the actor
//! (`act`, §4.1) and the audience, answers `issued_token_type`, and issues no refresh token.
//!
//! ```
//! use grantry_core::request::FormBody;
//! use grantry_core::{AuthorizationServer, ClientRecord, GrantType, MemoryStore, ServerConfig, http};
//! use grantry_extensions::token_exchange::{ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT_TYPE, TokenExchangeGrant};
//! use grantry_grants::ClientCredentialsGrant;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! store.add_client(
//!     ClientRecord::confidential("api", "api-secret")
//!         .with_grant_types([GrantType::CLIENT_CREDENTIALS, TOKEN_EXCHANGE_GRANT_TYPE])
//!         .with_scope("read write"),
//! )?;
//! let mut server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example")?);
//! server.register_grant(ClientCredentialsGrant::new(), ())?;
//! server.register_grant(TokenExchangeGrant::new(), ())?;
//!
//! let basic = "Basic YXBpOmFwaS1zZWNyZXQ="; // api:api-secret
//! let issue = http::Request::post("/token").header("Authorization", basic).form(&[("grant_type", "client_credentials")])?;
//! let subject: serde_json::Value = serde_json::from_slice(server.token_endpoint(&issue).await.body())?;
//!
//! let exchange = http::Request::post("/token").header("Authorization", basic).form(&[
//!     ("grant_type", TOKEN_EXCHANGE_GRANT_TYPE.as_str()),
//!     ("subject_token", subject["access_token"].as_str().unwrap()),
//!     ("subject_token_type", ACCESS_TOKEN_TYPE),
//!     ("scope", "read"),
//! ])?;
//! let exchanged: serde_json::Value = serde_json::from_slice(server.token_endpoint(&exchange).await.body())?;
//! assert_eq!(exchanged["issued_token_type"], ACCESS_TOKEN_TYPE);
//! assert!(exchanged["access_token"].is_string());
//! assert!(exchanged.get("scope").is_none(), "granted as asked: RFC 6749 §5.1 leaves it out");
//! assert!(exchanged.get("refresh_token").is_none());
//! # Ok(())
//! # }
//! ```
//!
//! One `audience` and one `resource` at most: the engine refuses a repeated parameter, so a
//! request naming several targets is `invalid_request`.

use grantry_core::plugin::{Plugin, parse_config};
use grantry_core::{
    ActiveToken, Client, Grant, GrantType, OAuthError, Serves, TokenDecision, TokenGrant, TokenRequest,
};

/// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT_TYPE_NAME: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// `urn:ietf:params:oauth:grant-type:token-exchange`, as a [`GrantType`].
pub const TOKEN_EXCHANGE_GRANT_TYPE: GrantType = GrantType::from_static(TOKEN_EXCHANGE_GRANT_TYPE_NAME);

/// The token type of an OAuth access token, whatever its format (RFC 8693 §3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The token type of a JWT (RFC 8693 §3): accepted for this server's own JWT access tokens.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// An exchange as the policy sees it, after the grant checked the parameters and the engine
/// found the tokens active.
#[derive(Debug)]
#[non_exhaustive]
pub struct Exchange<'a> {
    /// The client asking.
    pub client: &'a dyn Client,
    /// The token whose subject the new token is for.
    pub subject_token: &'a ActiveToken,
    /// The token of who will act for the subject, if any.
    pub actor_token: Option<&'a ActiveToken>,
    /// The `audience` asked for, if any.
    pub audience: Option<&'a str>,
    /// The `resource` asked for, if any (an absolute URI, RFC 8707).
    pub resource: Option<&'a str>,
    /// This server's issuer identifier.
    pub issuer: &'a str,
}

/// Which client may exchange which tokens for which targets: the user's decision. The engine
/// limits the scope whatever the policy says.
pub trait ExchangePolicy: Send + Sync + 'static {
    /// `Ok` to allow; `invalid_target` for an audience or resource the client may not have
    /// (RFC 8693 §2.2.2), `invalid_grant` or `unauthorized_client` for an exchange it may not
    /// make.
    fn check(&self, exchange: &Exchange<'_>) -> Result<(), OAuthError>;
}

/// The default policy: any client allowed the grant may exchange any active token of this
/// server (the scope stays within the subject token's and the client's), for no audience in
/// particular, this server's issuer, or one of the audiences listed.
#[derive(Debug, Clone, Default)]
pub struct DefaultExchangePolicy {
    audiences: Vec<String>,
}

impl DefaultExchangePolicy {
    /// Also accepts these audiences (or resources).
    pub fn with_audiences(audiences: impl IntoIterator<Item = String>) -> Self {
        DefaultExchangePolicy { audiences: audiences.into_iter().collect() }
    }
}

impl ExchangePolicy for DefaultExchangePolicy {
    fn check(&self, exchange: &Exchange<'_>) -> Result<(), OAuthError> {
        for target in exchange.audience.into_iter().chain(exchange.resource) {
            if target != exchange.issuer && !self.audiences.iter().any(|a| a == target) {
                return Err(OAuthError::invalid_target("the requested audience or resource is not served here"));
            }
        }
        Ok(())
    }
}

/// The token exchange grant.
pub struct TokenExchangeGrant {
    policy: Box<dyn ExchangePolicy>,
}

impl std::fmt::Debug for TokenExchangeGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenExchangeGrant").finish_non_exhaustive()
    }
}

impl Default for TokenExchangeGrant {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenExchangeGrant {
    /// The grant with the [`DefaultExchangePolicy`].
    pub fn new() -> Self {
        Self::with_policy(DefaultExchangePolicy::default())
    }

    /// The grant with the user's policy.
    pub fn with_policy(policy: impl ExchangePolicy) -> Self {
        TokenExchangeGrant { policy: Box::new(policy) }
    }
}

impl Grant for TokenExchangeGrant {
    fn serves(&self) -> Serves<Self> {
        Serves::token_endpoint(TOKEN_EXCHANGE_GRANT_TYPE)
    }
}

impl TokenGrant for TokenExchangeGrant {
    /// RFC 8693 §2.1–2.2.
    async fn exchange(&self, request: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        let params = request.params();
        let client = request.client().ok_or_else(|| OAuthError::invalid_client("client authentication required"))?;
        let subject_token = params.require("subject_token")?;
        check_token_type(request, params.require("subject_token_type")?, "subject_token_type")?;
        let actor = match (params.get("actor_token"), params.get("actor_token_type")) {
            (Some(token), Some(token_type)) => {
                check_token_type(request, token_type, "actor_token_type")?;
                Some(token)
            }
            (Some(_), None) => return Err(OAuthError::invalid_request("missing parameter: actor_token_type")),
            (None, Some(_)) => return Err(OAuthError::invalid_request("actor_token_type without actor_token")),
            (None, None) => None,
        };
        if let Some(requested) = params.get("requested_token_type") {
            if requested != ACCESS_TOKEN_TYPE && !(requested == JWT_TOKEN_TYPE && issues_jwts(request)) {
                return Err(OAuthError::invalid_request("requested_token_type: only access tokens are issued"));
            }
        }
        let resource = params.get("resource");
        if let Some(resource) = resource {
            // RFC 8707 §2: an absolute URI without a fragment.
            if url::Url::parse(resource).map_or(true, |url| url.fragment().is_some()) {
                return Err(OAuthError::invalid_target("resource must be an absolute URI without a fragment"));
            }
        }
        // §2.2.2: an invalid subject or actor token is invalid_request.
        let subject = request
            .active_access_token(subject_token)
            .await?
            .ok_or_else(|| OAuthError::invalid_request("the subject_token is not an active access token"))?;
        let actor = match actor {
            Some(token) => Some(
                request
                    .active_access_token(token)
                    .await?
                    .ok_or_else(|| OAuthError::invalid_request("the actor_token is not an active access token"))?,
            ),
            None => None,
        };
        let audience = params.get("audience");
        self.policy.check(&Exchange {
            client: &**client,
            subject_token: &subject,
            actor_token: actor.as_ref(),
            audience,
            resource,
            issuer: request.config().issuer(),
        })?;
        let mut decision = TokenDecision::exchange(&subject);
        if let Some(actor) = &actor {
            decision = decision.acting(actor);
        }
        if let Some(target) = audience.or(resource) {
            decision = decision.for_audience(target);
        }
        Ok(decision)
    }
}

/// Whether this server issues JWT access tokens (then the `jwt` token type names them).
fn issues_jwts(request: &TokenRequest<'_>) -> bool {
    request.config().access_token_format().is_some()
}

/// A subject or actor token type this server accepts: its access tokens.
fn check_token_type(request: &TokenRequest<'_>, token_type: &str, parameter: &str) -> Result<(), OAuthError> {
    if token_type == ACCESS_TOKEN_TYPE || (token_type == JWT_TOKEN_TYPE && issues_jwts(request)) {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(format!("{parameter}: unsupported token type")))
    }
}

/// The plugin's configuration: `audiences` the default policy accepts besides the issuer.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TokenExchangeConfig {
    #[serde(default)]
    audiences: Vec<String>,
}

grantry_core::inventory::submit! {
    Plugin::grant(TOKEN_EXCHANGE_GRANT_TYPE_NAME, "Token exchange (RFC 8693).", |config| {
        let config: TokenExchangeConfig = parse_config(TOKEN_EXCHANGE_GRANT_TYPE_NAME, config)?;
        let policy = DefaultExchangePolicy::with_audiences(config.audiences);
        Ok(grantry_core::BoxedGrant::new(TokenExchangeGrant::with_policy(policy)))
    })
}
