//! The configuration file (JSON): parsed and checked whole before anything starts, so a wrong
//! file stops the server with a message naming the field, and it never starts half-configured.
//!
//! The format is the one of `examples/demo.json` (the embedded default):
//!
//! | field | type | default |
//! |---|---|---|
//! | `issuer` | the issuer identifier (RFC 8414: `https`, or `http` on a loopback host) | required |
//! | `listen` | `ADDR:PORT` | `127.0.0.1:8080` |
//! | `grants` | grant plugin names (grant types, or `implicit`) | required |
//! | `pkce` | `{"required": "all_clients" \| "public_clients" \| "none", "methods": ["S256", "plain"]}` | `public_clients`, `["S256"]` |
//! | `access_token_ttl` | seconds | `3600` |
//! | `authorization_code_ttl` | seconds a code stays redeemable | `600` |
//! | `refresh_token_ttl` | seconds a refresh token lives | `1209600` |
//! | `clients` | RFC 7591 client metadata, with `client_secret` and `jwks` | `[]` |
//! | `users` | `{"username": …, "password": …}` | `[]` |
//! | `header_read_timeout` | seconds a connection may take to send a whole request head (and may stay idle between requests) | `10` |
//! | `body_read_timeout` | seconds a request body may pause | `10` |
//! | `request_timeout` | seconds from a request's head to its response, body included | `30` |
//! | `max_connections` | connections served at once (more wait to be accepted) | `200` |
//! | `login_max_failures` | failed password checks of one username within 15 minutes before further attempts are refused until the window passes | `5` |
//!
//! The last four are the [`ServerLimits`]. Every error names the field and says what is wrong
//! with it, and never repeats a value of the file: a secret pasted into the wrong field does
//! not reach the terminal.

use super::limits::ServerLimits;
use grantry_core::plugin::{self, PluginKind};
use grantry_core::{
    ClientAuthMethod, ClientConfigError, ClientRecord, ConfigError, GrantType, ResponseType, Scope, ServerConfig,
};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use serde_json::{Map, Value};
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// The embedded default configuration: `examples/demo.json`.
pub const DEMO_JSON: &str = include_str!("../../demo.json");

/// Where `listen` points when the file does not say.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The default access token lifetime, in seconds.
pub const DEFAULT_ACCESS_TOKEN_TTL: u64 = 3600;
/// The default authorization code lifetime, in seconds (the contract's).
pub const DEFAULT_AUTHORIZATION_CODE_TTL: u64 = 600;
/// The default refresh token lifetime, in seconds: 14 days (the contract's).
pub const DEFAULT_REFRESH_TOKEN_TTL: u64 = 1_209_600;

/// RSA keys shorter than this are refused (RFC 7518 §3.3; the verifier would skip them).
const MIN_RSA_BITS: usize = 2048;

const TOP_LEVEL_FIELDS: [&str; 14] = [
    "issuer",
    "listen",
    "grants",
    "pkce",
    "access_token_ttl",
    "authorization_code_ttl",
    "refresh_token_ttl",
    "clients",
    "users",
    "header_read_timeout",
    "body_read_timeout",
    "request_timeout",
    "max_connections",
    "login_max_failures",
];

/// The default of `login_max_failures` (the contract's).
pub const DEFAULT_LOGIN_MAX_FAILURES: u32 = 5;

/// The longest timeout accepted, in seconds (a day): beyond it a deadline could overflow.
const MAX_TIMEOUT_SECS: u64 = 86_400;

/// The most connections [`ServerLimits::max_connections`] may allow.
const MAX_CONNECTIONS: u64 = 65_536;

/// The client metadata a client entry may hold: what the server uses, plus RFC 7591's
/// informational fields.
const CLIENT_FIELDS: [&str; 16] = [
    "client_id",
    "client_secret",
    "redirect_uris",
    "grant_types",
    "response_types",
    "scope",
    "token_endpoint_auth_method",
    "jwks",
    "client_name",
    "client_uri",
    "logo_uri",
    "contacts",
    "tos_uri",
    "policy_uri",
    "software_id",
    "software_version",
];

/// The client authentication methods a client may register for.
const AUTH_METHODS: [ClientAuthMethod; 5] = [
    ClientAuthMethod::CLIENT_SECRET_BASIC,
    ClientAuthMethod::CLIENT_SECRET_POST,
    ClientAuthMethod::CLIENT_SECRET_JWT,
    ClientAuthMethod::PRIVATE_KEY_JWT,
    ClientAuthMethod::NONE,
];

/// A configuration the server refuses: the field at fault (`clients[1].redirect_uris`) and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFileError {
    /// The path of the field at fault, as `section[index].field`; empty for the file as a whole.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigFileError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigFileError { field: field.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.field, self.message) }
    }
}

impl std::error::Error for ConfigFileError {}

/// Which clients must use PKCE, and with which methods: the `pkce` plugin's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkcePolicy {
    /// `all_clients`, `public_clients` or `none`.
    pub required: String,
    /// A non-empty subset of `S256` and `plain`.
    pub methods: Vec<String>,
}

impl Default for PkcePolicy {
    fn default() -> Self {
        PkcePolicy { required: "public_clients".into(), methods: vec!["S256".into()] }
    }
}

impl PkcePolicy {
    /// The configuration of the `pkce` extension plugin: `{"required": …, "methods": […]}`.
    pub fn plugin_config(&self) -> Value {
        serde_json::json!({ "required": self.required, "methods": self.methods })
    }
}

/// A resource owner of the in-memory user store.
#[derive(Clone, PartialEq, Eq)]
pub struct UserEntry {
    /// The username, which is also the user's subject identifier.
    pub username: String,
    password: String,
}

impl UserEntry {
    /// A user.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        UserEntry { username: username.into(), password: password.into() }
    }

    /// The password (handed to the store, which keeps only a digest of it).
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for UserEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserEntry").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

/// A configuration file, parsed and checked.
///
/// ```
/// use grantry_examples::server::ServerConfigFile;
/// let demo = ServerConfigFile::demo().unwrap();
/// assert_eq!(demo.issuer, "http://127.0.0.1:8080");
/// assert!(demo.clients.iter().any(|c| &*c.client_id == "svc"));
///
/// let err = ServerConfigFile::from_json(r#"{"issuer": "http://127.0.0.1:8080", "grants": ["teleport"]}"#).unwrap_err();
/// assert_eq!(err.field, "grants[0]");
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfigFile {
    /// The issuer identifier: the endpoint URLs of the metadata document are built from it.
    pub issuer: String,
    /// Where to listen (the command line's `--listen` overrides it).
    pub listen: SocketAddr,
    /// The grants to enable, by plugin name.
    pub grants: Vec<String>,
    /// The PKCE policy of the authorization code grant.
    pub pkce: PkcePolicy,
    /// The access token lifetime, in seconds.
    pub access_token_ttl: u64,
    /// Seconds an authorization code stays redeemable.
    pub authorization_code_ttl: u64,
    /// Seconds a refresh token lives.
    pub refresh_token_ttl: u64,
    /// The registered clients.
    pub clients: Vec<ClientRecord>,
    /// The resource owners.
    pub users: Vec<UserEntry>,
    /// The connection and request limits.
    pub limits: ServerLimits,
    /// Failed password checks of one username within 15 minutes before further checks of it
    /// are refused until the window passes (form, password grant).
    pub login_max_failures: u32,
}

impl ServerConfigFile {
    /// The embedded demo configuration ([`DEMO_JSON`]).
    pub fn demo() -> Result<Self, ConfigFileError> {
        Self::from_json(DEMO_JSON)
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigFileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| ConfigFileError::new("", format!("cannot read {}: {err}", path.display())))?;
        Self::from_json(&text)
    }

    /// Parses and checks a configuration.
    pub fn from_json(text: &str) -> Result<Self, ConfigFileError> {
        let value: Value = serde_json::from_str(text).map_err(|err| ConfigFileError::new("", json_error(&err)))?;
        let Value::Object(top) = value else {
            return Err(ConfigFileError::new("", "the configuration must be a JSON object"));
        };
        check_fields("", &top, &TOP_LEVEL_FIELDS)?;

        let issuer = required_string(&top, "issuer")?;
        ServerConfig::new(issuer.clone()).map_err(|err| ConfigFileError::new("issuer", issuer_problem(&err)))?;

        let listen_text = match top.get("listen") {
            None => DEFAULT_LISTEN.to_owned(),
            Some(_) => required_string(&top, "listen")?,
        };
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigFileError::new("listen", "is not an ADDR:PORT socket address, such as 127.0.0.1:8080")
        })?;

        let grants = parse_grants(top.get("grants"))?;
        let pkce = match top.get("pkce") {
            None => PkcePolicy::default(),
            Some(value) => parse_pkce(value)?,
        };
        let ttl = |field: &str, default: u64| match top.get(field) {
            None => Ok(default),
            Some(value) => value
                .as_u64()
                .filter(|ttl| *ttl > 0)
                .ok_or_else(|| ConfigFileError::new(field, "must be a positive whole number of seconds")),
        };
        let access_token_ttl = ttl("access_token_ttl", DEFAULT_ACCESS_TOKEN_TTL)?;
        let authorization_code_ttl = ttl("authorization_code_ttl", DEFAULT_AUTHORIZATION_CODE_TTL)?;
        let refresh_token_ttl = ttl("refresh_token_ttl", DEFAULT_REFRESH_TOKEN_TTL)?;
        let clients = parse_clients(top.get("clients"))?;
        let users = parse_users(top.get("users"))?;
        let limits = parse_limits(&top)?;
        let login_max_failures = match top.get("login_max_failures") {
            None => DEFAULT_LOGIN_MAX_FAILURES,
            Some(value) => {
                value.as_u64().filter(|n| (1..=1000).contains(n)).and_then(|n| u32::try_from(n).ok()).ok_or_else(
                    || ConfigFileError::new("login_max_failures", "must be a whole number from 1 to 1000"),
                )?
            }
        };
        Ok(ServerConfigFile {
            issuer,
            listen,
            grants,
            pkce,
            access_token_ttl,
            authorization_code_ttl,
            refresh_token_ttl,
            clients,
            users,
            limits,
            login_max_failures,
        })
    }
}

/// The [`ServerLimits`] keys, each optional.
fn parse_limits(top: &Map<String, Value>) -> Result<ServerLimits, ConfigFileError> {
    let mut limits = ServerLimits::default();
    let seconds = |field: &str, default: Duration| match top.get(field) {
        None => Ok(default),
        Some(value) => {
            value.as_u64().filter(|s| (1..=MAX_TIMEOUT_SECS).contains(s)).map(Duration::from_secs).ok_or_else(|| {
                ConfigFileError::new(field, format!("must be a whole number of seconds from 1 to {MAX_TIMEOUT_SECS}"))
            })
        }
    };
    limits.header_read_timeout = seconds("header_read_timeout", limits.header_read_timeout)?;
    limits.body_read_timeout = seconds("body_read_timeout", limits.body_read_timeout)?;
    limits.request_timeout = seconds("request_timeout", limits.request_timeout)?;
    if let Some(value) = top.get("max_connections") {
        limits.max_connections = value
            .as_u64()
            .filter(|n| (1..=MAX_CONNECTIONS).contains(n))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                ConfigFileError::new("max_connections", format!("must be a whole number from 1 to {MAX_CONNECTIONS}"))
            })?;
    }
    Ok(limits)
}

/// What is wrong with a file that is not JSON: serde_json's syntax messages are fixed texts
/// with a line and column, never the input; anything else is reported by position only.
fn json_error(err: &serde_json::Error) -> String {
    if err.is_syntax() || err.is_eof() {
        format!("invalid JSON: {err}")
    } else {
        format!("invalid JSON at line {} column {}", err.line(), err.column())
    }
}

/// What is wrong with an issuer, without repeating it.
pub(crate) fn issuer_problem(err: &ConfigError) -> String {
    match err {
        ConfigError::Issuer { problem, .. } => (*problem).to_owned(),
        _ => "is not a valid issuer identifier (RFC 8414 section 2)".to_owned(),
    }
}

fn check_fields(path: &str, object: &Map<String, Value>, allowed: &[&str]) -> Result<(), ConfigFileError> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(unknown) => Err(ConfigFileError::new(
            join(path, unknown),
            format!("unknown field; expected one of: {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() { field.to_owned() } else { format!("{path}.{field}") }
}

fn required_string(object: &Map<String, Value>, field: &str) -> Result<String, ConfigFileError> {
    match object.get(field) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(ConfigFileError::new(field, "must be a string")),
        None => Err(ConfigFileError::new(field, "missing")),
    }
}

fn array<'a>(value: Option<&'a Value>, field: &str, required: bool) -> Result<&'a [Value], ConfigFileError> {
    match value {
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(ConfigFileError::new(field, "must be an array")),
        None if required => Err(ConfigFileError::new(field, "missing")),
        None => Ok(&[]),
    }
}

fn parse_grants(value: Option<&Value>) -> Result<Vec<String>, ConfigFileError> {
    let items = array(value, "grants", true)?;
    if items.is_empty() {
        return Err(ConfigFileError::new("grants", "enable at least one grant"));
    }
    let mut grants: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = format!("grants[{i}]");
        let Value::String(name) = item else {
            return Err(ConfigFileError::new(field, "must be a grant name (a string)"));
        };
        // Resolved through the plugin registry: a linked-in custom grant is found the same way.
        if plugin::find(name, PluginKind::Grant).is_err() {
            return Err(ConfigFileError::new(
                field,
                format!("unknown grant; the linked-in grants are: {}", grant_names()),
            ));
        }
        if let Some(first) = grants.iter().position(|g| g == name) {
            return Err(ConfigFileError::new(field, format!("this grant is listed already, at grants[{first}]")));
        }
        grants.push(name.clone());
    }
    Ok(grants)
}

/// The names of the linked-in grant plugins (the program's, not the file's).
fn grant_names() -> String {
    let names: Vec<&str> =
        plugin::plugins().into_iter().filter(|p| p.kind() == PluginKind::Grant).map(|p| p.name()).collect();
    names.join(", ")
}

fn parse_pkce(value: &Value) -> Result<PkcePolicy, ConfigFileError> {
    let Value::Object(object) = value else {
        return Err(ConfigFileError::new("pkce", "must be an object with \"required\" and \"methods\""));
    };
    check_fields("pkce", object, &["required", "methods"])?;
    let mut policy = PkcePolicy::default();
    if let Some(required) = object.get("required") {
        match required.as_str() {
            Some(r @ ("all_clients" | "public_clients" | "none")) => policy.required = r.to_owned(),
            _ => {
                return Err(ConfigFileError::new(
                    "pkce.required",
                    "must be \"all_clients\", \"public_clients\" or \"none\"",
                ));
            }
        }
    }
    if let Some(methods) = object.get("methods") {
        let items = array(Some(methods), "pkce.methods", true)?;
        let mut parsed = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(m @ ("S256" | "plain")) if !parsed.iter().any(|p| p == m) => parsed.push(m.to_owned()),
                _ => {
                    return Err(ConfigFileError::new(
                        format!("pkce.methods[{i}]"),
                        "must be \"S256\" or \"plain\", each at most once",
                    ));
                }
            }
        }
        if !parsed.iter().any(|m| m == "S256") {
            // The plugin always offers S256 (RFC 7636 §4.2: servers supporting PKCE must).
            return Err(ConfigFileError::new("pkce.methods", "must include \"S256\""));
        }
        policy.methods = parsed;
    }
    Ok(policy)
}

fn parse_clients(value: Option<&Value>) -> Result<Vec<ClientRecord>, ConfigFileError> {
    let items = array(value, "clients", false)?;
    let mut clients: Vec<ClientRecord> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("clients[{i}]");
        let Value::Object(object) = item else {
            return Err(ConfigFileError::new(path, "must be an object of RFC 7591 client metadata"));
        };
        check_fields(&path, object, &CLIENT_FIELDS)?;
        let at = |field: &str| join(&path, field);
        if !object.contains_key("client_id") {
            return Err(ConfigFileError::new(at("client_id"), "missing"));
        }
        for (field, value) in object {
            check_client_field(field, value).map_err(|problem| ConfigFileError::new(at(field), problem))?;
        }
        // The fields were checked one by one; serde's own message would quote the value.
        let client: ClientRecord = serde_json::from_value(item.clone())
            .map_err(|_| ConfigFileError::new(&path, "is not valid RFC 7591 client metadata"))?;
        if let Some(first) = clients.iter().position(|c| c.client_id == client.client_id) {
            return Err(ConfigFileError::new(
                at("client_id"),
                format!("duplicate client_id: clients[{first}] has the same one"),
            ));
        }
        let method = &client.token_endpoint_auth_method;
        if !AUTH_METHODS.contains(method) {
            return Err(ConfigFileError::new(
                at("token_endpoint_auth_method"),
                format!("unknown method; expected one of: {}", auth_method_names()),
            ));
        }
        client.validate().map_err(|err| ConfigFileError::new(at(err.field()), client_problem(&err, &client)))?;
        match object.get("jwks") {
            Some(jwks) => check_jwks(&at("jwks"), jwks)?,
            None if *method == ClientAuthMethod::PRIVATE_KEY_JWT => {
                return Err(ConfigFileError::new(at("jwks"), "private_key_jwt needs the client's public keys"));
            }
            None => {}
        }
        clients.push(client);
    }
    Ok(clients)
}

/// The client authentication methods a client may register for, comma-separated.
fn auth_method_names() -> String {
    let names: Vec<&str> = AUTH_METHODS.iter().map(ClientAuthMethod::as_str).collect();
    names.join(", ")
}

/// What is wrong with a client registration, without repeating its values (the field path
/// names the client).
fn client_problem(err: &ClientConfigError, client: &ClientRecord) -> String {
    match err {
        ClientConfigError::EmptyClientId => "must not be empty".to_owned(),
        ClientConfigError::RedirectUri { uri, .. } => match client.redirect_uris.iter().position(|u| u == uri) {
            Some(i) => format!("entry {i} is not an absolute URI without a fragment"),
            None => "each must be an absolute URI without a fragment".to_owned(),
        },
        ClientConfigError::Secret { problem, .. } => format!("the client's token_endpoint_auth_method {problem}"),
        _ => "is not valid".to_owned(),
    }
}

/// Checks the type and syntax of one client metadata field; what it must be, when it is not
/// (a fixed text: serde's messages quote the value, which could be a secret).
fn check_client_field(field: &str, value: &Value) -> Result<(), String> {
    use serde_json::from_value;
    let owned = value.clone();
    let (ok, expected) = match field {
        "redirect_uris" => (from_value::<Vec<String>>(owned).is_ok(), "must be an array of URI strings".to_owned()),
        "contacts" => (from_value::<Vec<String>>(owned).is_ok(), "must be an array of strings".to_owned()),
        "grant_types" => (
            from_value::<Vec<GrantType>>(owned).is_ok(),
            "must be an array of grant type names (RFC 6749 section 4.5 syntax)".to_owned(),
        ),
        "response_types" => {
            (from_value::<Vec<ResponseType>>(owned).is_ok(), "must be an array of response type names".to_owned())
        }
        "scope" => (
            from_value::<Scope>(owned).is_ok(),
            "must be a string of space-separated scope tokens (RFC 6749 section 3.3)".to_owned(),
        ),
        "token_endpoint_auth_method" => (
            value.as_str().is_some_and(|name| AUTH_METHODS.iter().any(|m| m.as_str() == name)),
            format!("must be one of: {}", auth_method_names()),
        ),
        "jwks" => (true, String::new()),
        _ => (value.is_string(), "must be a string".to_owned()),
    };
    if ok { Ok(()) } else { Err(expected) }
}

/// Checks a JWK Set: every key must be a readable public signature key the verifier can use.
fn check_jwks(path: &str, jwks: &Value) -> Result<(), ConfigFileError> {
    let Value::Object(set) = jwks else {
        return Err(ConfigFileError::new(path, "must be a JWK Set object: {\"keys\": [...]}"));
    };
    check_fields(path, set, &["keys"])?;
    let keys_path = join(path, "keys");
    let keys = array(set.get("keys"), &keys_path, true)?;
    if keys.is_empty() {
        return Err(ConfigFileError::new(keys_path, "holds no key"));
    }
    for (i, key) in keys.iter().enumerate() {
        let at = format!("{keys_path}[{i}]");
        let Value::Object(members) = key else {
            return Err(ConfigFileError::new(at, "must be a JWK object"));
        };
        if let Some(private) = ["d", "p", "q", "dp", "dq", "qi", "k"].iter().find(|m| members.contains_key(**m)) {
            return Err(ConfigFileError::new(
                at,
                format!("holds private or symmetric key material ({private:?}); register public keys only"),
            ));
        }
        check_jwk_members(&at, members)?;
        // serde's and jsonwebtoken's messages can quote the key's members: not repeated.
        let jwk: Jwk = serde_json::from_value(key.clone())
            .map_err(|_| ConfigFileError::new(&at, "malformed key: not a JWK the server can read (RFC 7517)"))?;
        jsonwebtoken::DecodingKey::from_jwk(&jwk)
            .map_err(|_| ConfigFileError::new(&at, "malformed key: its key material does not decode"))?;
        match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => {
                let bits = modulus_bits(&rsa.n).ok_or_else(|| ConfigFileError::new(&at, "malformed key: bad n"))?;
                if bits < MIN_RSA_BITS {
                    return Err(ConfigFileError::new(
                        at,
                        format!("RSA key of {bits} bits; at least {MIN_RSA_BITS} are required"),
                    ));
                }
            }
            AlgorithmParameters::EllipticCurve(ec) => {
                if !matches!(ec.curve, EllipticCurve::P256 | EllipticCurve::P384) {
                    return Err(ConfigFileError::new(at, "EC keys must be on P-256 or P-384"));
                }
            }
            AlgorithmParameters::OctetKeyPair(okp) => {
                if okp.curve != EllipticCurve::Ed25519 {
                    return Err(ConfigFileError::new(at, "OKP keys must be Ed25519"));
                }
            }
            AlgorithmParameters::OctetKey(_) => {
                return Err(ConfigFileError::new(at, "symmetric keys are not allowed; use client_secret"));
            }
        }
    }
    Ok(())
}

/// Checks a JWK's type and the members that type needs, naming the member at fault, never
/// its value.
fn check_jwk_members(at: &str, members: &Map<String, Value>) -> Result<(), ConfigFileError> {
    use base64::Engine as _;
    let needed: &[&str] = match members.get("kty").and_then(Value::as_str) {
        Some("RSA") => &["n", "e"],
        Some("EC") => &["crv", "x", "y"],
        Some("OKP") => &["crv", "x"],
        Some("oct") => return Err(ConfigFileError::new(at, "symmetric keys are not allowed; use client_secret")),
        _ => return Err(ConfigFileError::new(at, "malformed key: kty must be \"RSA\", \"EC\" or \"OKP\"")),
    };
    for member in needed {
        let Some(Value::String(text)) = members.get(*member) else {
            return Err(ConfigFileError::new(at, format!("malformed key: member {member} must be a string")));
        };
        if *member != "crv" && base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).is_err() {
            return Err(ConfigFileError::new(at, format!("malformed key: member {member} is not base64url")));
        }
    }
    for member in ["kid", "alg", "use"] {
        if members.get(member).is_some_and(|value| !value.is_string()) {
            return Err(ConfigFileError::new(at, format!("malformed key: member {member} must be a string")));
        }
    }
    Ok(())
}

/// The size in bits of a base64url-encoded RSA modulus.
fn modulus_bits(n: &str) -> Option<usize> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(n).ok()?;
    let start = bytes.iter().position(|&b| b != 0)?;
    let significant = &bytes[start..];
    Some(significant.len() * 8 - significant[0].leading_zeros() as usize)
}

fn parse_users(value: Option<&Value>) -> Result<Vec<UserEntry>, ConfigFileError> {
    let items = array(value, "users", false)?;
    let mut users: Vec<UserEntry> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("users[{i}]");
        let Value::Object(object) = item else {
            return Err(ConfigFileError::new(path, "must be an object {\"username\": …, \"password\": …}"));
        };
        check_fields(&path, object, &["username", "password"])?;
        let string = |field: &str| match object.get(field) {
            Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
            _ => Err(ConfigFileError::new(join(&path, field), "must be a non-empty string")),
        };
        let (username, password) = (string("username")?, string("password")?);
        if let Some(first) = users.iter().position(|u| u.username == username) {
            return Err(ConfigFileError::new(
                join(&path, "username"),
                format!("duplicate username: users[{first}] has the same one"),
            ));
        }
        users.push(UserEntry { username, password });
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_value() -> Value {
        serde_json::from_str(DEMO_JSON).unwrap()
    }

    fn error_of(value: &Value) -> ConfigFileError {
        ServerConfigFile::from_json(&value.to_string()).unwrap_err()
    }

    #[test]
    fn the_demo_parses() {
        let demo = ServerConfigFile::demo().unwrap();
        assert_eq!(demo.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(demo.grants.len(), 6);
        assert_eq!(demo.pkce, PkcePolicy::default());
        assert_eq!(demo.access_token_ttl, 3600);
        assert_eq!((demo.authorization_code_ttl, demo.refresh_token_ttl), (600, 1_209_600), "the contract's defaults");
        assert_eq!(demo.login_max_failures, 5);
        let ids: Vec<&str> = demo.clients.iter().map(|c| &*c.client_id).collect();
        assert_eq!(ids, ["web", "spa", "svc", "signer"]);
        assert_eq!(demo.users.len(), 1);
        assert!(!format!("{demo:?}").contains("wonderland"), "passwords are redacted");
        assert!(!format!("{demo:?}").contains("web-secret"), "secrets are redacted");
    }

    #[test]
    fn errors_name_the_field() {
        type Change = fn(&mut Value);
        let cases: Vec<(Change, &str)> = vec![
            (|v| v["grants"][2] = "teleport".into(), "grants[2]"),
            (|v| v["grants"][3] = "password".into(), "grants[3]"),
            (|v| v["clients"][2]["client_id"] = "web".into(), "clients[2].client_id"),
            (|v| v["clients"][0]["redirect_uris"][0] = "/callback".into(), "clients[0].redirect_uris"),
            (|v| v["clients"][3]["jwks"]["keys"][0]["n"] = "!!".into(), "clients[3].jwks.keys[0]"),
            (|v| v["clients"][3]["jwks"]["keys"][0]["kty"] = "XYZ".into(), "clients[3].jwks.keys[0]"),
            (|v| v["clients"][3]["jwks"]["keys"][0]["d"] = "AQAB".into(), "clients[3].jwks.keys[0]"),
            (|v| v["clients"][3]["jwks"]["keys"][0]["n"] = "wAAA".into(), "clients[3].jwks.keys[0]"),
            (
                |v| {
                    v["clients"][3].as_object_mut().unwrap().remove("jwks");
                },
                "clients[3].jwks",
            ),
            (|v| v["clients"][1]["redirect_uri"] = "x".into(), "clients[1].redirect_uri"),
            (|v| v["clients"][1]["token_endpoint_auth_method"] = "tls".into(), "clients[1].token_endpoint_auth_method"),
            (|v| v["clients"][1]["client_secret"] = "s".into(), "clients[1].client_secret"),
            (|v| v["clients"][1]["grant_types"][0] = "bad grant".into(), "clients[1].grant_types"),
            (|v| v["issuer"] = "ftp://auth.example".into(), "issuer"),
            (|v| v["issuer"] = "http://auth.example".into(), "issuer"),
            (|v| v["listen"] = "localhost".into(), "listen"),
            (|v| v["extra"] = true.into(), "extra"),
            (|v| v["pkce"]["required"] = "sometimes".into(), "pkce.required"),
            (|v| v["pkce"]["methods"][0] = "S512".into(), "pkce.methods[0]"),
            (|v| v["pkce"]["mode"] = "x".into(), "pkce.mode"),
            (|v| v["access_token_ttl"] = 0.into(), "access_token_ttl"),
            (|v| v["authorization_code_ttl"] = 0.into(), "authorization_code_ttl"),
            (|v| v["refresh_token_ttl"] = "two weeks".into(), "refresh_token_ttl"),
            (|v| v["login_max_failures"] = 0.into(), "login_max_failures"),
            (|v| v["header_read_timeout"] = 0.into(), "header_read_timeout"),
            (|v| v["header_read_timeout"] = "10".into(), "header_read_timeout"),
            (|v| v["body_read_timeout"] = (MAX_TIMEOUT_SECS + 1).into(), "body_read_timeout"),
            (|v| v["request_timeout"] = 1.5.into(), "request_timeout"),
            (|v| v["max_connections"] = 0.into(), "max_connections"),
            (|v| v["users"][0]["pass"] = "x".into(), "users[0].pass"),
            (
                |v| v["users"].as_array_mut().unwrap().push(serde_json::json!({"username": "alice", "password": "x"})),
                "users[1].username",
            ),
        ];
        for (change, field) in cases {
            let mut value = demo_value();
            change(&mut value);
            let err = error_of(&value);
            assert_eq!(err.field, field, "{err}");
            assert!(err.to_string().starts_with(field));
        }
    }

    #[test]
    fn errors_never_repeat_a_value_of_the_file() {
        // A secret pasted into the wrong place: the error names the place, never the secret.
        const SECRET: &str = "S3cr3t-w3b-s3cr3t";
        type Change = fn(&mut Value);
        let cases: Vec<(Change, &str)> = vec![
            (|v| v["clients"][0]["redirect_uris"] = SECRET.into(), "clients[0].redirect_uris"),
            (|v| v["clients"][0]["redirect_uris"][0] = SECRET.into(), "clients[0].redirect_uris"),
            (|v| v["clients"][0]["contacts"] = SECRET.into(), "clients[0].contacts"),
            (|v| v["clients"][0]["grant_types"] = SECRET.into(), "clients[0].grant_types"),
            (|v| v["clients"][0]["grant_types"][0] = format!("{SECRET} x").into(), "clients[0].grant_types"),
            (|v| v["clients"][0]["response_types"] = SECRET.into(), "clients[0].response_types"),
            (|v| v["clients"][0]["scope"] = format!("{SECRET} \"x\"").into(), "clients[0].scope"),
            (|v| v["clients"][0]["scope"] = serde_json::json!([SECRET]), "clients[0].scope"),
            (
                |v| v["clients"][0]["token_endpoint_auth_method"] = SECRET.into(),
                "clients[0].token_endpoint_auth_method",
            ),
            (|v| v["clients"][0]["client_secret"] = serde_json::json!([SECRET]), "clients[0].client_secret"),
            (|v| v["clients"][0]["client_secret"] = serde_json::json!({"value": SECRET}), "clients[0].client_secret"),
            (|v| v["clients"][1]["client_secret"] = SECRET.into(), "clients[1].client_secret"),
            (|v| v["clients"][0]["client_name"] = serde_json::json!([SECRET]), "clients[0].client_name"),
            (|v| v["clients"][0]["client_id"] = "".into(), "clients[0].client_id"),
            (|v| v["clients"][2]["client_id"] = "web".into(), "clients[2].client_id"),
            (|v| v["clients"][3]["jwks"]["keys"][0]["kty"] = SECRET.into(), "clients[3].jwks.keys[0]"),
            (|v| v["clients"][3]["jwks"]["keys"][0]["n"] = format!("{SECRET}!").into(), "clients[3].jwks.keys[0]"),
            (|v| v["clients"][3]["jwks"]["keys"][0]["use"] = serde_json::json!([SECRET]), "clients[3].jwks.keys[0]"),
            (|v| v["clients"][3]["jwks"]["keys"][0]["e"] = serde_json::json!([SECRET]), "clients[3].jwks.keys[0]"),
            (|v| v["grants"][0] = SECRET.into(), "grants[0]"),
            (|v| v["grants"][1] = v["grants"][0].clone(), "grants[1]"),
            (|v| v["issuer"] = SECRET.into(), "issuer"),
            (|v| v["issuer"] = format!("http://{SECRET}.example").into(), "issuer"),
            (|v| v["listen"] = SECRET.into(), "listen"),
            (|v| v["access_token_ttl"] = SECRET.into(), "access_token_ttl"),
            (|v| v["header_read_timeout"] = SECRET.into(), "header_read_timeout"),
            (|v| v["pkce"]["required"] = SECRET.into(), "pkce.required"),
            (|v| v["pkce"]["methods"][0] = SECRET.into(), "pkce.methods[0]"),
            (|v| v["users"][0]["password"] = serde_json::json!([SECRET]), "users[0].password"),
            (
                |v| {
                    v["users"]
                        .as_array_mut()
                        .unwrap()
                        .push(serde_json::json!({"username": "alice", "password": SECRET}))
                },
                "users[1].username",
            ),
        ];
        for (change, field) in cases {
            let mut value = demo_value();
            change(&mut value);
            let err = error_of(&value);
            let shown = err.to_string();
            assert_eq!(err.field, field, "{shown}");
            assert!(!shown.contains(SECRET) && !shown.contains("S3cr3t"), "{field}: the value is repeated: {shown}");
        }
        // Values that are not secrets are not repeated either (a client_id, a username).
        let mut value = demo_value();
        value["clients"][2]["client_id"] = "web".into();
        assert!(!error_of(&value).to_string().contains("\"web\""), "{}", error_of(&value));
        // A secret outside any string, in a file that is not JSON.
        let broken = format!(r#"{{"issuer": "http://127.0.0.1:8080", "client_secret": {SECRET}}}"#);
        let err = ServerConfigFile::from_json(&broken).unwrap_err();
        assert!(err.message.starts_with("invalid JSON") && !err.to_string().contains("S3cr3t"), "{err}");
    }

    #[test]
    fn optional_sections_have_defaults() {
        let minimal =
            ServerConfigFile::from_json(r#"{"issuer": "https://auth.example", "grants": ["client_credentials"]}"#)
                .unwrap();
        assert_eq!(minimal.listen.to_string(), DEFAULT_LISTEN);
        assert!(minimal.clients.is_empty() && minimal.users.is_empty());
        assert_eq!(
            minimal.pkce.plugin_config(),
            serde_json::json!({"required": "public_clients", "methods": ["S256"]})
        );
        assert_eq!(minimal.limits, ServerLimits::default());
        assert_eq!(minimal.limits.header_read_timeout, Duration::from_secs(10), "the contract's default");
        let limited = ServerConfigFile::from_json(
            r#"{"issuer": "https://auth.example", "grants": ["client_credentials"], "header_read_timeout": 3,
                "body_read_timeout": 4, "request_timeout": 5, "max_connections": 6}"#,
        )
        .unwrap();
        assert_eq!(limited.limits.header_read_timeout, Duration::from_secs(3));
        assert_eq!(limited.limits.body_read_timeout, Duration::from_secs(4));
        assert_eq!(limited.limits.request_timeout, Duration::from_secs(5));
        assert_eq!(limited.limits.max_connections, 6);
        assert_eq!(error_of(&serde_json::json!([1])).field, "");
        assert!(ServerConfigFile::from_json("{").unwrap_err().message.starts_with("invalid JSON"));
    }
}
