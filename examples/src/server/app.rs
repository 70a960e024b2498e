//! Builds the [`AuthorizationServer`] a configuration describes, every part enabled by name
//! through the plugin registry, as any configuration-driven deployment would.

use super::config::{ConfigFileError, ServerConfigFile, TokenFormat, issuer_problem};
use super::consent::CsrfKey;
use super::metrics::{CountedThrottle, IssuanceCounter};
use super::store::ServerStore;
use grantry_core::plugin::PluginError;
use grantry_core::request::BodyLimit;
use grantry_core::throttle::{FailureLimiter, SharedFailureLimiter};
use grantry_core::{AuthorizationServer, ClientAuthMethod, GrantType, RegistryError, ResourceGuard, ServerConfig};
use grantry_extensions::device_code::DEVICE_CODE_GRANT_TYPE_NAME;
use grantry_extensions::issuer::IssuerIdentification;
use grantry_extensions::jwt::JwtAccessTokens;
use serde_json::Value;
use std::sync::Arc;

/// The window of `login_max_failures`, in seconds (the contract's 15 minutes).
const LOGIN_FAILURE_WINDOW: u64 = 900;

/// Where the public signing keys are served (RFC 7517 JWK Set), below the issuer.
pub const JWKS_PATH: &str = "/jwks.json";

/// The JWT client authentication methods, enabled by name on every server.
const JWT_AUTH_METHODS: [&str; 2] = ["client_secret_jwt", "private_key_jwt"];

/// Builds the server on `store` (opened from the configuration's `store`):
///
/// - the store holds the configured clients and users;
/// - `issuer` and the token and code lifetimes make the [`ServerConfig`], with RFC 9068 JWT
///   access tokens when `access_token_format` is `"jwt"` ([`jwt_access_tokens`]);
/// - `login_max_failures` sets the [`FailureLimiter`] every password check passes through, its
///   counts in the store when the store is persistent ([`SharedFailureLimiter`]: every server
///   on the store sees them), its refusals counted for the metrics;
/// - [`IssuerIdentification`] adds RFC 9207 `iss` to every authorization response;
/// - [`IssuanceCounter`] counts token responses by grant type for the metrics;
/// - the `client_secret_jwt` and `private_key_jwt` methods are enabled by name;
/// - each grant of `grants` is enabled by name (the `pkce` extension attached to
///   `authorization_code` with the `pkce` policy), narrowed at the token endpoint to the client
///   authentication methods the configured clients use (of those the grant allows).
///
/// ```
/// use grantry_examples::server::{ServerConfigFile, ServerStore, build_server};
/// let store = ServerStore::memory();
/// let server = build_server(&ServerConfigFile::demo().unwrap(), &store).unwrap();
/// assert_eq!(server.metadata()["code_challenge_methods_supported"], serde_json::json!(["S256"]));
/// ```
pub fn build_server(config: &ServerConfigFile, store: &ServerStore) -> Result<AuthorizationServer, ConfigFileError> {
    for (i, client) in config.clients.iter().enumerate() {
        // Checked here first, so that no message of the store's (which quote values) is shown.
        client
            .validate()
            .map_err(|err| ConfigFileError::new(format!("clients[{i}].{}", err.field()), "is not valid"))?;
        if config.clients[..i].iter().any(|c| c.client_id == client.client_id) {
            return Err(ConfigFileError::new(format!("clients[{i}].client_id"), "duplicate client_id"));
        }
        store
            .add_client(client.clone())
            .map_err(|_| ConfigFileError::new(format!("clients[{i}]"), "cannot be registered"))?;
    }
    for user in &config.users {
        store.add_user(&user.username, user.password());
    }
    let server_config = ServerConfig::new(config.issuer.clone())
        .map_err(|err| ConfigFileError::new("issuer", issuer_problem(&err)))?
        .with_access_token_ttl(config.access_token_ttl)
        .with_code_ttl(config.authorization_code_ttl)
        .with_refresh_token_ttl(Some(config.refresh_token_ttl));
    let server_config = match (config.access_token_format, jwt_access_tokens(config)?) {
        (TokenFormat::Jwt, Some(tokens)) => server_config.with_access_token_format(Arc::new(tokens)),
        (TokenFormat::Jwt, None) => {
            return Err(ConfigFileError::new("signing_key", "is required when access_token_format is \"jwt\""));
        }
        _ => server_config,
    };
    let mut server = AuthorizationServer::new(store.storage(), server_config);
    let (max, window) = (config.login_max_failures, LOGIN_FAILURE_WINDOW);
    match store.failure_store() {
        Some(shared) => server.set_login_throttle(CountedThrottle(SharedFailureLimiter::new(shared, max, window))),
        None => server.set_login_throttle(CountedThrottle(FailureLimiter::new(max, window))),
    }
    server.add_extension(IssuerIdentification::new(config.issuer.clone()));
    server.add_extension(IssuanceCounter);
    for method in JWT_AUTH_METHODS {
        server.enable(method, &Value::Null).map_err(|err| ConfigFileError::new("", plugin_problem(&err)))?;
    }

    let auth_methods = client_auth_methods(config);
    let pkce = config.pkce.plugin_config();
    for (i, name) in config.grants.iter().enumerate() {
        let field = format!("grants[{i}]");
        let extensions: Vec<(&str, &Value)> =
            if name == GrantType::AUTHORIZATION_CODE.as_str() { vec![("pkce", &pkce)] } else { Vec::new() };
        let grant_config = grant_config(config, name);
        let registered = server.enable_grant(name, &grant_config, &extensions).map_err(|err| {
            let pkce_at_fault =
                matches!(&err, PluginError::Config { name, .. } | PluginError::Unknown { name, .. } if name == "pkce");
            let field = if pkce_at_fault { "pkce".to_owned() } else { field.clone() };
            ConfigFileError::new(field, plugin_problem(&err))
        })?;
        let allowed: Vec<ClientAuthMethod> = match registered.registration() {
            Some(r) if r.metadata().grant_type().is_some() => {
                auth_methods.iter().filter(|m| r.metadata().auth_methods().allows(m)).cloned().collect()
            }
            _ => Vec::new(),
        };
        if !allowed.is_empty() {
            registered
                .restrict_auth_methods(allowed)
                .map_err(|err| ConfigFileError::new(field, registry_problem(&err)))?;
        }
    }
    Ok(server)
}

/// A grant plugin's configuration from the file's keys: the device grant's lifetime and polling
/// interval (`device_code_ttl`, `device_poll_interval`); nothing for the others.
fn grant_config(config: &ServerConfigFile, name: &str) -> Value {
    if name == DEVICE_CODE_GRANT_TYPE_NAME {
        serde_json::json!({ "lifetime": config.device_code_ttl, "interval": config.device_poll_interval })
    } else {
        Value::Null
    }
}

/// The JWT access token format of a configuration with a `signing_key`: tokens signed with
/// it, verified with it and the `published_keys`, `jwks_uri` the issuer's [`JWKS_PATH`].
pub fn jwt_access_tokens(config: &ServerConfigFile) -> Result<Option<JwtAccessTokens>, ConfigFileError> {
    let Some(key) = &config.signing_key else { return Ok(None) };
    let jwks_uri = format!("{}{JWKS_PATH}", config.issuer.trim_end_matches('/'));
    let mut tokens = JwtAccessTokens::new(config.issuer.clone(), key.clone()).with_jwks_uri(jwks_uri);
    for (i, key) in config.published_keys.iter().enumerate() {
        tokens = tokens
            .with_published_key(key.clone())
            .map_err(|_| ConfigFileError::new(format!("published_keys[{i}].kid"), "another key has the same kid"))?;
    }
    Ok(Some(tokens))
}

/// What is wrong when a plugin cannot be enabled, in words that repeat no configuration
/// value (a plugin's configuration error quotes it; the file's own checks have named the
/// field already, so these are rare).
fn plugin_problem(err: &PluginError) -> String {
    match err {
        PluginError::Unknown { kind, available, .. } => format!("unknown {kind}; available: {available}"),
        PluginError::Config { name, .. } => format!("the {name} plugin refuses its configuration"),
        PluginError::Registry(err) => registry_problem(err),
        PluginError::DuplicateAuthMethod(_) => "this client authentication method is enabled twice".to_owned(),
        _ => "cannot be enabled".to_owned(),
    }
}

/// What is wrong when a grant cannot be registered, without the names involved.
fn registry_problem(err: &RegistryError) -> String {
    match err {
        RegistryError::DuplicateGrantType(_) => "another enabled grant serves the same grant type",
        RegistryError::DuplicateResponseType(_) => "another enabled grant serves the same response type",
        RegistryError::UnknownAuthMethod(_) => "a client authentication method it needs is not available",
        RegistryError::WidensAuthMethods(_) => "a client uses an authentication method this grant does not allow",
        RegistryError::NoAuthMethods(_) => "it allows no client authentication method",
        _ => "cannot be registered",
    }
    .to_owned()
}

/// Every client authentication method a configured client registered for, sorted.
fn client_auth_methods(config: &ServerConfigFile) -> Vec<ClientAuthMethod> {
    let mut methods: Vec<ClientAuthMethod> =
        config.clients.iter().map(|c| c.token_endpoint_auth_method.clone()).collect();
    methods.sort();
    methods.dedup();
    methods
}

/// The consent form key: `secret_key` when configured, else the one a persistent store keeps
/// (made on its first start), else a random one for this process; forms valid for
/// `consent_form_ttl`.
pub async fn csrf_key(config: &ServerConfigFile, store: &ServerStore) -> Result<CsrfKey, ConfigFileError> {
    let key = match &config.secret_key {
        Some(secret) => CsrfKey::from_secret(secret.as_bytes()),
        None => match store.csrf_secret().await {
            Ok(Some(secret)) => CsrfKey::from_secret(&secret),
            Ok(None) => CsrfKey::random(),
            Err(err) => {
                return Err(ConfigFileError::new("store", format!("cannot read the consent form key: {err}")));
            }
        },
    };
    Ok(key.with_ttl(config.consent_form_ttl))
}

/// What the request handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The authorization server.
    pub server: AuthorizationServer,
    /// The guard of `/api/me`.
    pub guard: ResourceGuard,
    /// The request body limit (64 KiB), checked from the head before a body is read.
    pub body_limit: BodyLimit,
    /// Signs and checks the consent form's CSRF tokens.
    pub csrf: CsrfKey,
    /// The store the server is on, for `/healthz`.
    pub store: ServerStore,
    /// Whether the issuer is `https`: the consent cookie is then `Secure` only (see
    /// [`consent::set_cookie_headers`](super::consent::set_cookie_headers)).
    pub https_issuer: bool,
    /// The public signing keys served at [`JWKS_PATH`] (RFC 7517 JWK Set), when the server has
    /// a `signing_key`.
    pub jwks: Option<Value>,
}

impl AppState {
    /// The state for a server built on `store`, its consent forms signed with `csrf`.
    /// Submitted consent forms are recorded in the store, single-use records with the rest.
    pub fn new(server: AuthorizationServer, store: ServerStore, csrf: CsrfKey) -> Self {
        let issuer = server.config().issuer();
        let https_issuer = issuer.get(..8).is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
        AppState {
            guard: server.resource_guard(),
            server,
            body_limit: BodyLimit::default(),
            csrf,
            store,
            https_issuer,
            jwks: None,
        }
    }

    /// Serves `jwks` (the public half of the server's signing keys) at [`JWKS_PATH`].
    pub fn with_jwks(mut self, jwks: Value) -> Self {
        self.jwks = Some(jwks);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_server_allows_what_its_clients_use() {
        let server = build_server(&ServerConfigFile::demo().unwrap(), &ServerStore::memory()).unwrap();
        let metadata = server.metadata();
        assert_eq!(metadata["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            metadata["token_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post", "none", "private_key_jwt"])
        );
        assert_eq!(metadata["grant_types_supported"].as_array().unwrap().len(), 8);
        assert_eq!(metadata["device_authorization_endpoint"], "http://127.0.0.1:8080/device_authorization");
        assert_eq!(metadata["response_types_supported"], serde_json::json!(["code", "token"]));
        assert_eq!(metadata["token_endpoint"], "http://127.0.0.1:8080/token");
    }
}
