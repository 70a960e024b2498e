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
//! | `metrics_listen` | `ADDR:PORT` where Prometheus metrics are served (`/metrics`); see [`metrics`](super::metrics) | off |
//! | `consent_form_ttl` | seconds a rendered login-and-consent form may be submitted (its single-use record is kept as long) | `600` |
//! | `store` | `{"kind": "memory"}`, `{"kind": "sqlite", "path": FILE}` (with `"synchronous": "normal"` to sync at checkpoints only: faster, but a power loss may undo the last writes) or `{"kind": "postgres", "url": "postgres://…"}`: where codes, tokens and single-use records live | `{"kind": "memory"}` |
//! | `device_code_ttl` | seconds a device code lives (RFC 8628) | `600` |
//! | `device_poll_interval` | the `interval` of the device authorization response, in seconds | `5` |
//! | `secret_key` | base64url of at least 32 bytes: the key of the consent form's CSRF token; servers sharing a store share it | random per start, or kept in a persistent store |
//! | `access_token_format` | `"opaque"` or `"jwt"`: RFC 9068 JWT access tokens signed with `signing_key` | `"opaque"` |
//! | `signing_key` | a private JWK (RSA, EC P-256 or OKP Ed25519) with `kid`, or `{"file": "PATH.pem", "kid": …}` (a relative path is taken from the current directory); its public half is served at `/jwks.json`. Required when `access_token_format` is `"jwt"` | none |
//! | `published_keys` | public JWKs (with `kid`) also served at `/jwks.json` and accepted on JWT access tokens: the next signing key before it signs, a retired one until its tokens expire | `[]` |
//!
//! `header_read_timeout` to `max_connections` are the [`ServerLimits`]. The file is read into
//! derived structs that refuse unknown fields, `serde_path_to_error` naming a field of the
//! wrong type; the checks that need more than a type follow. Every error names the field and
//! says what is wrong with it, and never repeats a value of the file: a secret pasted into the
//! wrong field does not reach the terminal. So serde's messages, which quote values, are
//! never shown: only the kind of error and what the field must be.

use super::limits::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT,
    ServerLimits,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantry_core::plugin::{self, PluginKind};
use grantry_core::storage::Synchronous;
use grantry_core::{
    ClientAuthMethod, ClientConfigError, ClientRecord, ConfigError, GrantType, ResponseType, Scope, ServerConfig,
};
use grantry_extensions::jwt::{KeyError, PublishedKey, SigningKey};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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
/// The default of `consent_form_ttl`, in seconds: ten minutes to log in and decide.
pub const DEFAULT_CONSENT_FORM_TTL: u64 = 600;
/// The default of `device_code_ttl`, in seconds (the contract's).
pub const DEFAULT_DEVICE_CODE_TTL: u64 = 600;
/// The default of `device_poll_interval`, in seconds (the contract's, and RFC 8628 §3.2's).
pub const DEFAULT_DEVICE_POLL_INTERVAL: u64 = 5;
/// The default of `login_max_failures` (the contract's).
pub const DEFAULT_LOGIN_MAX_FAILURES: u32 = 5;

/// RSA keys shorter than this are refused (RFC 7518 §3.3; the verifier would skip them).
const MIN_RSA_BITS: usize = 2048;

/// The longest timeout accepted, in seconds (a day): beyond it a deadline could overflow.
const MAX_TIMEOUT_SECS: u64 = 86_400;

/// The most connections [`ServerLimits::max_connections`] may allow.
const MAX_CONNECTIONS: u64 = 65_536;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PkcePolicy {
    /// Which clients must send a code challenge.
    pub required: PkceRequirement,
    /// The code challenge methods offered: `S256`, and `plain` if listed, each at most once.
    pub methods: Vec<PkceMethod>,
}

/// Which clients must use PKCE (`pkce.required`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PkceRequirement {
    /// Every client: `all_clients`.
    AllClients,
    /// Public clients only: `public_clients`.
    PublicClients,
    /// No client: `none`.
    None,
}

/// A PKCE code challenge method (RFC 7636 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PkceMethod {
    /// `S256`.
    S256,
    /// `plain`.
    #[serde(rename = "plain")]
    Plain,
}

impl Default for PkcePolicy {
    fn default() -> Self {
        PkcePolicy { required: PkceRequirement::PublicClients, methods: vec![PkceMethod::S256] }
    }
}

impl PkcePolicy {
    /// The configuration of the `pkce` extension plugin: `{"required": …, "methods": […]}`.
    pub fn plugin_config(&self) -> Value {
        serde_json::json!({ "required": self.required, "methods": self.methods })
    }

    /// Each method at most once, `S256` among them.
    fn check(&self) -> Result<(), ConfigFileError> {
        if let Some(i) = (1..self.methods.len()).find(|&i| self.methods[..i].contains(&self.methods[i])) {
            return Err(ConfigFileError::new(format!("pkce.methods[{i}]"), "is listed already"));
        }
        if !self.methods.contains(&PkceMethod::S256) {
            // The plugin always offers S256 (RFC 7636 §4.2: servers supporting PKCE must).
            return Err(ConfigFileError::new("pkce.methods", "must include \"S256\""));
        }
        Ok(())
    }
}

/// A resource owner of the in-memory user store.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// Seconds a rendered login-and-consent form may be submitted.
    pub consent_form_ttl: u64,
    /// Where Prometheus metrics are served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Where codes, tokens and single-use records live.
    pub store: StoreConfig,
    /// The key of the consent form's CSRF token, if configured (at least
    /// [`MIN_SECRET_KEY_BYTES`]).
    pub secret_key: Option<SecretKey>,
    /// Seconds a device code lives.
    pub device_code_ttl: u64,
    /// The polling interval the device authorization response asks for, in seconds.
    pub device_poll_interval: u64,
    /// What access tokens look like.
    pub access_token_format: TokenFormat,
    /// The key that signs JWT access tokens, if configured.
    pub signing_key: Option<SigningKey>,
    /// More public keys served at `/jwks.json` and accepted (key rotation).
    pub published_keys: Vec<PublishedKey>,
}

/// `access_token_format`: what access tokens look like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenFormat {
    /// Random strings the store knows by their digest.
    #[default]
    Opaque,
    /// RFC 9068 JWTs signed with `signing_key`.
    Jwt,
}

/// The fewest bytes a `secret_key` may have.
pub const MIN_SECRET_KEY_BYTES: usize = 32;

/// Where codes, tokens and single-use records live (`store`).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreConfig {
    /// In the process's memory: gone when it stops.
    Memory,
    /// A SQLite file, created with its folders if missing; a relative path is taken from the
    /// current directory.
    Sqlite {
        /// The file.
        path: PathBuf,
        /// When a commit is on disk (`"full"`, the default, or `"normal"`).
        synchronous: Synchronous,
    },
    /// A PostgreSQL database, which several servers may share; its tables are created on
    /// first start.
    Postgres {
        /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`.
        url: String,
    },
}

/// The kind and the file, never the database URL (it may hold a password).
impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::Memory => f.write_str("Memory"),
            StoreConfig::Sqlite { path, synchronous } => {
                f.debug_struct("Sqlite").field("path", path).field("synchronous", synchronous).finish()
            }
            StoreConfig::Postgres { .. } => f.debug_struct("Postgres").finish_non_exhaustive(),
        }
    }
}

/// A secret key of at least [`MIN_SECRET_KEY_BYTES`] bytes (`secret_key`).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// The file as written: each key of its type, none unknown, the defaults of the table above.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    issuer: String,
    #[serde(default = "default_listen")]
    listen: SocketAddr,
    grants: Vec<String>,
    #[serde(default)]
    pkce: Object<PkcePolicy>,
    #[serde(default = "default::<DEFAULT_ACCESS_TOKEN_TTL>")]
    access_token_ttl: u64,
    #[serde(default = "default::<DEFAULT_AUTHORIZATION_CODE_TTL>")]
    authorization_code_ttl: u64,
    #[serde(default = "default::<DEFAULT_REFRESH_TOKEN_TTL>")]
    refresh_token_ttl: u64,
    #[serde(default)]
    clients: Vec<Object<FileClient>>,
    #[serde(default)]
    users: Vec<Object<UserEntry>>,
    #[serde(default = "default::<{ DEFAULT_HEADER_READ_TIMEOUT.as_secs() }>")]
    header_read_timeout: u64,
    #[serde(default = "default::<{ DEFAULT_BODY_READ_TIMEOUT.as_secs() }>")]
    body_read_timeout: u64,
    #[serde(default = "default::<{ DEFAULT_REQUEST_TIMEOUT.as_secs() }>")]
    request_timeout: u64,
    #[serde(default = "default::<{ DEFAULT_MAX_CONNECTIONS as u64 }>")]
    max_connections: u64,
    #[serde(default = "default::<{ DEFAULT_LOGIN_MAX_FAILURES as u64 }>")]
    login_max_failures: u64,
    #[serde(default = "default::<DEFAULT_CONSENT_FORM_TTL>")]
    consent_form_ttl: u64,
    metrics_listen: Option<SocketAddr>,
    store: Option<Object<FileStore>>,
    secret_key: Option<String>,
    #[serde(default = "default::<DEFAULT_DEVICE_CODE_TTL>")]
    device_code_ttl: u64,
    #[serde(default = "default::<DEFAULT_DEVICE_POLL_INTERVAL>")]
    device_poll_interval: u64,
    #[serde(default)]
    access_token_format: TokenFormat,
    signing_key: Option<Map<String, Value>>,
    #[serde(default)]
    published_keys: Vec<Map<String, Value>>,
}

/// `store` as written: a kind and the fields of that kind (read flat, so that an error names
/// its field: `store.path`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStore {
    kind: StoreKind,
    path: Option<PathBuf>,
    synchronous: Option<FileSynchronous>,
    url: Option<String>,
}

/// `store.synchronous`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum FileSynchronous {
    Full,
    Normal,
}

/// `store.kind`.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoreKind {
    Memory,
    Sqlite,
    Postgres,
}

/// A number's default, for serde.
fn default<const N: u64>() -> u64 {
    N
}

/// [`DEFAULT_LISTEN`].
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// A client entry as written: RFC 7591 client metadata, with `client_secret` and `jwks`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileClient {
    client_id: String,
    client_secret: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    grant_types: Option<Vec<GrantType>>,
    response_types: Option<Vec<ResponseType>>,
    scope: Option<Scope>,
    token_endpoint_auth_method: Option<String>,
    jwks: Option<Object<JwkSet>>,
    client_name: Option<String>,
    client_uri: Option<String>,
    logo_uri: Option<String>,
    contacts: Option<Vec<String>>,
    tos_uri: Option<String>,
    policy_uri: Option<String>,
    software_id: Option<String>,
    software_version: Option<String>,
}

/// A struct read from a JSON object only: serde reads one from an array of its fields too
/// (`["http://…", …]`), which the file does not allow.
#[derive(Default)]
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ObjectVisitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData)).map(Object)
    }
}

/// A JWK Set (RFC 7517 §5), its keys checked by [`check_jwks`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JwkSet {
    keys: Vec<Map<String, Value>>,
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
        // JSON first, whole: a file that is not JSON is reported as such, wherever it breaks.
        let value: Value = serde_json::from_str(text).map_err(|err| ConfigFileError::new("", json_error(&err)))?;
        if let Some(field) = null_at(&value, String::new()) {
            return Err(ConfigFileError::new(field, "must not be null (leave the key out for its default)"));
        }
        let Object(file): Object<FileConfig> =
            serde_path_to_error::deserialize(value).map_err(|err| type_error(&err))?;

        ServerConfig::new(file.issuer.clone()).map_err(|err| ConfigFileError::new("issuer", issuer_problem(&err)))?;
        let grants = check_grants(file.grants)?;
        file.pkce.0.check()?;
        let ttl = |field: &str, seconds: u64| match seconds {
            0 => Err(ConfigFileError::new(field, "must be a positive whole number of seconds")),
            seconds => Ok(seconds),
        };
        let timeout = |field: &str, seconds| {
            in_range(field, seconds, MAX_TIMEOUT_SECS, "a whole number of seconds").map(Duration::from_secs)
        };
        let limits = ServerLimits {
            header_read_timeout: timeout("header_read_timeout", file.header_read_timeout)?,
            body_read_timeout: timeout("body_read_timeout", file.body_read_timeout)?,
            request_timeout: timeout("request_timeout", file.request_timeout)?,
            max_connections: in_range("max_connections", file.max_connections, MAX_CONNECTIONS, "a whole number")?
                as usize,
        };
        let mut clients: Vec<ClientRecord> = Vec::with_capacity(file.clients.len());
        for (i, Object(client)) in file.clients.into_iter().enumerate() {
            let client = client.into_record(&format!("clients[{i}]"))?;
            if let Some(first) = clients.iter().position(|c| c.client_id == client.client_id) {
                return Err(ConfigFileError::new(
                    format!("clients[{i}].client_id"),
                    format!("duplicate client_id: clients[{first}] has the same one"),
                ));
            }
            clients.push(client);
        }
        let users: Vec<UserEntry> = file.users.into_iter().map(|Object(user)| user).collect();
        for (i, user) in users.iter().enumerate() {
            for (field, text) in [("username", &user.username), ("password", &user.password)] {
                if text.is_empty() {
                    return Err(ConfigFileError::new(format!("users[{i}].{field}"), "must be a non-empty string"));
                }
            }
            if let Some(first) = users[..i].iter().position(|u| u.username == user.username) {
                return Err(ConfigFileError::new(
                    format!("users[{i}].username"),
                    format!("duplicate username: users[{first}] has the same one"),
                ));
            }
        }
        let signing_key = file.signing_key.map(signing_key).transpose()?;
        if file.access_token_format == TokenFormat::Jwt && signing_key.is_none() {
            return Err(ConfigFileError::new("signing_key", "is required when access_token_format is \"jwt\""));
        }
        let published_keys = published_keys(signing_key.as_ref(), file.published_keys)?;
        Ok(ServerConfigFile {
            issuer: file.issuer,
            listen: file.listen,
            grants,
            pkce: file.pkce.0,
            access_token_ttl: ttl("access_token_ttl", file.access_token_ttl)?,
            authorization_code_ttl: ttl("authorization_code_ttl", file.authorization_code_ttl)?,
            refresh_token_ttl: ttl("refresh_token_ttl", file.refresh_token_ttl)?,
            clients,
            users,
            limits,
            login_max_failures: in_range("login_max_failures", file.login_max_failures, 1000, "a whole number")? as u32,
            consent_form_ttl: in_range(
                "consent_form_ttl",
                file.consent_form_ttl,
                MAX_TIMEOUT_SECS,
                "a whole number of seconds",
            )?,
            metrics_listen: file.metrics_listen,
            store: file.store.map_or(Ok(StoreConfig::Memory), |Object(store)| check_store(store))?,
            secret_key: file.secret_key.as_deref().map(secret_key).transpose()?,
            device_code_ttl: ttl("device_code_ttl", file.device_code_ttl)?,
            device_poll_interval: in_range(
                "device_poll_interval",
                file.device_poll_interval,
                MAX_TIMEOUT_SECS,
                "a whole number of seconds",
            )?,
            access_token_format: file.access_token_format,
            signing_key,
            published_keys,
        })
    }
}

/// `store`: each kind with its own field, and only that.
fn check_store(store: FileStore) -> Result<StoreConfig, ConfigFileError> {
    let unexpected =
        |field: &str| ConfigFileError::new(format!("store.{field}"), "is not a field of this kind of store");
    match store {
        FileStore { kind: StoreKind::Memory, path: None, url: None, synchronous: None } => Ok(StoreConfig::Memory),
        FileStore { kind: StoreKind::Sqlite, path: Some(path), url: None, synchronous } => {
            if path.as_os_str().is_empty() {
                return Err(ConfigFileError::new("store.path", "must be the path of a file"));
            }
            let synchronous = match synchronous {
                None | Some(FileSynchronous::Full) => Synchronous::Full,
                Some(FileSynchronous::Normal) => Synchronous::Normal,
            };
            Ok(StoreConfig::Sqlite { path, synchronous })
        }
        FileStore { kind: StoreKind::Sqlite, path: None, .. } => Err(ConfigFileError::new("store.path", "missing")),
        FileStore { kind: StoreKind::Postgres, url: Some(url), path: None, synchronous: None } => {
            match url.starts_with("postgres://") || url.starts_with("postgresql://") {
                true => Ok(StoreConfig::Postgres { url }),
                false => Err(ConfigFileError::new("store.url", "must be a postgres:// URL")),
            }
        }
        FileStore { kind: StoreKind::Postgres, url: None, .. } => Err(ConfigFileError::new("store.url", "missing")),
        FileStore { path: Some(_), .. } => Err(unexpected("path")),
        FileStore { url: Some(_), .. } => Err(unexpected("url")),
        FileStore { synchronous: Some(_), .. } => Err(unexpected("synchronous")),
    }
}

/// `secret_key`: base64url (padded or not) of at least [`MIN_SECRET_KEY_BYTES`] bytes.
fn secret_key(text: &str) -> Result<SecretKey, ConfigFileError> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('='));
    match bytes {
        Ok(bytes) if bytes.len() >= MIN_SECRET_KEY_BYTES => Ok(SecretKey(bytes)),
        _ => Err(ConfigFileError::new(
            "secret_key",
            format!("must be base64url of at least {MIN_SECRET_KEY_BYTES} random bytes"),
        )),
    }
}

/// `signing_key`: `{"file": PATH, "kid": KID}` (a PEM private key), or a private JWK. Errors
/// name the member and never repeat the key.
fn signing_key(members: Map<String, Value>) -> Result<SigningKey, ConfigFileError> {
    let key_error = |at: &str, err: KeyError| {
        let field = match err {
            KeyError::Member(member) if at == "signing_key" => format!("signing_key.{member}"),
            _ => at.to_owned(),
        };
        ConfigFileError::new(field, err.to_string())
    };
    if !members.contains_key("file") {
        return SigningKey::from_jwk(&Value::Object(members)).map_err(|err| key_error("signing_key", err));
    }
    if let Some(other) = members.keys().find(|k| !matches!(k.as_str(), "file" | "kid")) {
        // A key name, not a value: safe to show, and what the reader needs.
        return Err(ConfigFileError::new(format!("signing_key.{other}"), "unknown field; expected file, kid"));
    }
    let Some(path) = members.get("file").and_then(Value::as_str) else {
        return Err(ConfigFileError::new("signing_key.file", "must be the path of a PEM file (a string)"));
    };
    let Some(kid) = members.get("kid").and_then(Value::as_str).filter(|kid| !kid.is_empty()) else {
        return Err(ConfigFileError::new("signing_key.kid", "must be a non-empty string naming the key"));
    };
    let pem = std::fs::read(path)
        .map_err(|err| ConfigFileError::new("signing_key.file", format!("cannot be read: {}", err.kind())))?;
    SigningKey::from_pem(&pem, kid).map_err(|err| key_error("signing_key.file", err))
}

/// `published_keys`: public JWKs, each `kid` once (the signing key's included).
fn published_keys(
    signing: Option<&SigningKey>,
    keys: Vec<Map<String, Value>>,
) -> Result<Vec<PublishedKey>, ConfigFileError> {
    let mut published: Vec<PublishedKey> = Vec::with_capacity(keys.len());
    for (i, members) in keys.into_iter().enumerate() {
        let field = format!("published_keys[{i}]");
        let key = PublishedKey::from_jwk(&Value::Object(members)).map_err(|err| match err {
            KeyError::Member(member) => ConfigFileError::new(format!("{field}.{member}"), err.to_string()),
            other => ConfigFileError::new(field.clone(), other.to_string()),
        })?;
        let taken = signing.is_some_and(|s| s.kid() == key.kid()) || published.iter().any(|k| k.kid() == key.kid());
        if taken {
            return Err(ConfigFileError::new(format!("{field}.kid"), "another key has the same kid"));
        }
        published.push(key);
    }
    Ok(published)
}

/// The path of the first `null` in `value`, at `path`: no key of the file may be `null`.
fn null_at(value: &Value, path: String) -> Option<String> {
    match value {
        Value::Null => Some(path),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| null_at(item, format!("{path}[{i}]"))),
        Value::Object(members) => members.iter().find_map(|(key, member)| {
            null_at(member, if path.is_empty() { key.clone() } else { format!("{path}.{key}") })
        }),
        _ => None,
    }
}

/// `value` if it is from 1 to `max`; else what `field` must be.
fn in_range(field: &str, value: u64, max: u64, what: &str) -> Result<u64, ConfigFileError> {
    let problem = || ConfigFileError::new(field, format!("must be {what} from 1 to {max}"));
    (1..=max).contains(&value).then_some(value).ok_or_else(problem)
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

/// A field of the wrong type, or unknown, or missing: its path, and what is wrong, told from
/// the kind of serde's error, never with serde's message, which can quote the value:
/// - `missing field `name``, `unknown field `name`, expected …`: they name keys only;
/// - `invalid type: …, expected E` (and `invalid value`, `invalid length`, `unknown variant`):
///   the part before `, expected` can quote the value; only `E`, what the type expects, is shown;
/// - any other message is the one of a parser (grant types, response types, scope, `listen`),
///   which can quote the value: only the field's own description is shown.
fn type_error(err: &serde_path_to_error::Error<serde_json::Error>) -> ConfigFileError {
    let path = err.path().to_string();
    let path = if path == "." { String::new() } else { path };
    let message = err.inner().to_string();
    // The last `, expected `: what a type expects holds none, while a quoted value may.
    let expected = message.rsplit_once(", expected ").map(|(_, expected)| expected);
    if let Some(field) = message.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`')) {
        return ConfigFileError::new(
            if path.is_empty() { field.to_owned() } else { format!("{path}.{field}") },
            "missing",
        );
    }
    if message.starts_with("unknown field `") {
        return ConfigFileError::new(path, format!("unknown field; expected {}", expected.unwrap_or("none here")));
    }
    let kinds = ["invalid type: ", "invalid value: ", "invalid length ", "unknown variant `"];
    if let Some(expected) = expected.filter(|_| kinds.iter().any(|kind| message.starts_with(kind))) {
        return ConfigFileError::new(path, format!("must be {}", in_words(expected)));
    }
    // A parser: a list is at fault as a whole (`grant_types`, not `grant_types[0]`).
    let field = path.strip_suffix(']').and_then(|p| p.rsplit_once('[')).map_or(path.as_str(), |(field, _)| field);
    let problem = match field.rsplit('.').next() {
        Some("grant_types") => "must be an array of grant type names (RFC 6749 section 4.5 syntax)",
        Some("response_types") => "must be an array of response type names",
        Some("scope") => "must be a string of space-separated scope tokens (RFC 6749 section 3.3)",
        Some("listen") => "must be an ADDR:PORT socket address, such as 127.0.0.1:8080",
        _ => "is not valid",
    };
    ConfigFileError::new(field, problem)
}

/// What a type expects, in the file's words rather than Rust's.
fn in_words(expected: &str) -> &str {
    match expected {
        "u64" => "a whole number",
        "a sequence" => "an array",
        "a map" => "an object",
        "string or map" => "a name (a string)",
        "socket address" => "an ADDR:PORT socket address, such as 127.0.0.1:8080",
        _ => expected,
    }
}

/// What is wrong with an issuer, without repeating it.
pub(crate) fn issuer_problem(err: &ConfigError) -> String {
    match err {
        ConfigError::Issuer { problem, .. } => (*problem).to_owned(),
        _ => "is not a valid issuer identifier (RFC 8414 section 2)".to_owned(),
    }
}

/// Each grant name resolved through the plugin registry (a linked-in custom grant is found
/// the same way), and listed once.
fn check_grants(grants: Vec<String>) -> Result<Vec<String>, ConfigFileError> {
    if grants.is_empty() {
        return Err(ConfigFileError::new("grants", "enable at least one grant"));
    }
    for (i, name) in grants.iter().enumerate() {
        if plugin::find(name, PluginKind::Grant).is_err() {
            let names: Vec<&str> =
                plugin::plugins().into_iter().filter(|p| p.kind() == PluginKind::Grant).map(|p| p.name()).collect();
            return Err(ConfigFileError::new(
                format!("grants[{i}]"),
                format!("unknown grant; the linked-in grants are: {}", names.join(", ")),
            ));
        }
        if let Some(first) = grants[..i].iter().position(|g| g == name) {
            return Err(ConfigFileError::new(
                format!("grants[{i}]"),
                format!("this grant is listed already, at grants[{first}]"),
            ));
        }
    }
    Ok(grants)
}

impl FileClient {
    /// The client's record, checked; `at` is its path (`clients[1]`).
    fn into_record(self, at: &str) -> Result<ClientRecord, ConfigFileError> {
        let field = |name: &str| format!("{at}.{name}");
        let method = match self.token_endpoint_auth_method {
            None => ClientAuthMethod::CLIENT_SECRET_BASIC,
            Some(name) => AUTH_METHODS.into_iter().find(|m| m.as_str() == name).ok_or_else(|| {
                let names: Vec<&str> = AUTH_METHODS.iter().map(ClientAuthMethod::as_str).collect();
                ConfigFileError::new(
                    field("token_endpoint_auth_method"),
                    format!("must be one of: {}", names.join(", ")),
                )
            })?,
        };
        let mut client = match self.client_secret {
            Some(secret) => ClientRecord::confidential(self.client_id, secret),
            None => ClientRecord::public(self.client_id),
        };
        client.token_endpoint_auth_method = method.clone();
        client.redirect_uris = self.redirect_uris;
        client.grant_types = self.grant_types.unwrap_or(client.grant_types);
        client.response_types = self.response_types.unwrap_or(client.response_types);
        client.scope = self.scope.unwrap_or_default();
        client.validate().map_err(|err| ConfigFileError::new(field(err.field()), client_problem(&err, &client)))?;
        if let Some(Object(jwks)) = &self.jwks {
            check_jwks(&field("jwks"), jwks)?;
        } else if method == ClientAuthMethod::PRIVATE_KEY_JWT {
            return Err(ConfigFileError::new(field("jwks"), "private_key_jwt needs the client's public keys"));
        }
        // The other metadata, kept with the client (RFC 7591's informational fields too).
        let other = [
            ("jwks", self.jwks.map(|Object(jwks)| serde_json::json!({ "keys": jwks.keys }))),
            ("client_name", self.client_name.map(Value::from)),
            ("client_uri", self.client_uri.map(Value::from)),
            ("logo_uri", self.logo_uri.map(Value::from)),
            ("contacts", self.contacts.map(Value::from)),
            ("tos_uri", self.tos_uri.map(Value::from)),
            ("policy_uri", self.policy_uri.map(Value::from)),
            ("software_id", self.software_id.map(Value::from)),
            ("software_version", self.software_version.map(Value::from)),
        ];
        client.other.extend(other.into_iter().filter_map(|(name, value)| Some((name.to_owned(), value?))));
        Ok(client)
    }
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

/// Checks a JWK Set: every key must be a readable public signature key the verifier can use.
fn check_jwks(path: &str, jwks: &JwkSet) -> Result<(), ConfigFileError> {
    if jwks.keys.is_empty() {
        return Err(ConfigFileError::new(format!("{path}.keys"), "holds no key"));
    }
    for (i, members) in jwks.keys.iter().enumerate() {
        let at = format!("{path}.keys[{i}]");
        if let Some(private) = ["d", "p", "q", "dp", "dq", "qi", "k"].iter().find(|m| members.contains_key(**m)) {
            return Err(ConfigFileError::new(
                at,
                format!("holds private or symmetric key material ({private:?}); register public keys only"),
            ));
        }
        check_jwk_members(&at, members)?;
        // serde's and jsonwebtoken's messages can quote the key's members: not repeated.
        let jwk: Jwk = serde_json::from_value(Value::Object(members.clone()))
            .map_err(|_| ConfigFileError::new(&at, "malformed key: not a JWK the server can read (RFC 7517)"))?;
        jsonwebtoken::DecodingKey::from_jwk(&jwk)
            .map_err(|_| ConfigFileError::new(&at, "malformed key: its key material does not decode"))?;
        let problem = match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => match modulus_bits(&rsa.n) {
                Some(bits) if bits >= MIN_RSA_BITS => None,
                Some(bits) => Some(format!("RSA key of {bits} bits; at least {MIN_RSA_BITS} are required")),
                None => Some("malformed key: bad n".to_owned()),
            },
            AlgorithmParameters::EllipticCurve(ec)
                if !matches!(ec.curve, EllipticCurve::P256 | EllipticCurve::P384) =>
            {
                Some("EC keys must be on P-256 or P-384".to_owned())
            }
            AlgorithmParameters::OctetKeyPair(okp) if okp.curve != EllipticCurve::Ed25519 => {
                Some("OKP keys must be Ed25519".to_owned())
            }
            AlgorithmParameters::OctetKey(_) => Some("symmetric keys are not allowed; use client_secret".to_owned()),
            _ => None,
        };
        if let Some(problem) = problem {
            return Err(ConfigFileError::new(at, problem));
        }
    }
    Ok(())
}

/// Checks a JWK's type and the members that type needs, naming the member at fault, never
/// its value.
fn check_jwk_members(at: &str, members: &Map<String, Value>) -> Result<(), ConfigFileError> {
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
        if *member != "crv" && URL_SAFE_NO_PAD.decode(text).is_err() {
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
    let bytes = URL_SAFE_NO_PAD.decode(n).ok()?;
    let start = bytes.iter().position(|&b| b != 0)?;
    let significant = &bytes[start..];
    Some(significant.len() * 8 - significant[0].leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        assert_eq!(demo.grants.len(), 8);
        assert_eq!((demo.device_code_ttl, demo.device_poll_interval), (600, 5), "the contract's defaults");
        assert_eq!(demo.pkce, PkcePolicy::default());
        assert_eq!(demo.access_token_ttl, 3600);
        assert_eq!((demo.authorization_code_ttl, demo.refresh_token_ttl), (600, 1_209_600), "the contract's defaults");
        assert_eq!(demo.login_max_failures, 5);
        assert_eq!(demo.consent_form_ttl, DEFAULT_CONSENT_FORM_TTL);
        let ids: Vec<&str> = demo.clients.iter().map(|c| &*c.client_id).collect();
        assert_eq!(ids, ["web", "spa", "svc", "signer", "tv"]);
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
            (|v| drop(v["clients"][3].as_object_mut().unwrap().remove("jwks")), "clients[3].jwks"),
            (|v| v["clients"][1]["redirect_uri"] = "x".into(), "clients[1].redirect_uri: unknown field; expected"),
            (|v| v["clients"][1]["token_endpoint_auth_method"] = "tls".into(), "clients[1].token_endpoint_auth_method"),
            (|v| v["clients"][1]["client_secret"] = "s".into(), "clients[1].client_secret"),
            (|v| v["clients"][1]["grant_types"][0] = "bad grant".into(), "clients[1].grant_types: must be an array"),
            (|v| v["issuer"] = "ftp://auth.example".into(), "issuer"),
            (|v| v["issuer"] = "http://auth.example".into(), "issuer"),
            (|v| v["listen"] = "localhost".into(), "listen"),
            (|v| v["extra"] = true.into(), "extra: unknown field; expected one of `issuer`, `listen`"),
            (|v| v["pkce"]["required"] = "sometimes".into(), "pkce.required: must be one of `all_clients`, `public"),
            (|v| v["pkce"]["methods"][0] = "S512".into(), "pkce.methods[0]: must be `S256` or `plain`"),
            (|v| v["pkce"]["mode"] = "x".into(), "pkce.mode: unknown field; expected `required` or `methods`"),
            (|v| v["access_token_ttl"] = 0.into(), "access_token_ttl"),
            (|v| v["authorization_code_ttl"] = 0.into(), "authorization_code_ttl"),
            (|v| v["refresh_token_ttl"] = "two weeks".into(), "refresh_token_ttl: must be a whole number"),
            (|v| v["login_max_failures"] = 0.into(), "login_max_failures"),
            (|v| v["consent_form_ttl"] = 0.into(), "consent_form_ttl"),
            (|v| v["header_read_timeout"] = 0.into(), "header_read_timeout"),
            (|v| v["header_read_timeout"] = "10".into(), "header_read_timeout"),
            (|v| v["body_read_timeout"] = (MAX_TIMEOUT_SECS + 1).into(), "body_read_timeout"),
            (|v| v["request_timeout"] = 1.5.into(), "request_timeout"),
            (|v| v["max_connections"] = 0.into(), "max_connections"),
            (|v| v["users"][0]["pass"] = "x".into(), "users[0].pass"),
            // Missing, null (no default), empty; and an array where an object is expected,
            // which serde would read as the object's fields in order.
            (|v| drop(v.as_object_mut().unwrap().remove("issuer")), "issuer: missing"),
            (|v| drop(v["clients"][0].as_object_mut().unwrap().remove("client_id")), "clients[0].client_id"),
            (|v| v["access_token_ttl"] = Value::Null, "access_token_ttl: must not be null"),
            (|v| v["clients"][0]["scope"] = Value::Null, "clients[0].scope: must not be null"),
            (|v| v["clients"][3]["jwks"]["keys"] = json!([]), "clients[3].jwks.keys"),
            (|v| v["pkce"]["methods"] = json!(["S256", "S256"]), "pkce.methods[1]"),
            (|v| v["pkce"]["methods"] = json!(["plain"]), "pkce.methods"),
            (|v| v["users"][0]["password"] = "".into(), "users[0].password"),
            (|v| v["pkce"] = json!(["all_clients", ["S256"]]), "pkce"),
            (|v| v["users"][0] = json!(["bob", "builder"]), "users[0]: must be an object"),
            (|v| v["grants"] = "password".into(), "grants: must be an array"),
            (|v| v["clients"][0]["scope"] = true.into(), "clients[0].scope: must be a string"),
            (|v| v["clients"][3]["jwks"] = json!([[]]), "clients[3].jwks"),
            (|v| v["users"] = json!([v["users"][0], {"username": "alice", "password": "x"}]), "users[1].username"),
        ];
        // `field`, or `field: the start of the message`.
        for (change, expected) in cases {
            let mut value = demo_value();
            change(&mut value);
            let err = error_of(&value);
            assert_eq!(err.field, expected.split_once(": ").map_or(expected, |(field, _)| field), "{err}");
            assert!(err.to_string().starts_with(expected), "{err}");
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
            (|v| v["clients"][0]["scope"] = json!([SECRET]), "clients[0].scope"),
            (
                |v| v["clients"][0]["token_endpoint_auth_method"] = SECRET.into(),
                "clients[0].token_endpoint_auth_method",
            ),
            (|v| v["clients"][0]["client_secret"] = json!([SECRET]), "clients[0].client_secret"),
            (|v| v["clients"][0]["client_secret"] = json!({"value": SECRET}), "clients[0].client_secret"),
            (|v| v["clients"][1]["client_secret"] = SECRET.into(), "clients[1].client_secret"),
            (|v| v["clients"][0]["client_name"] = json!([SECRET]), "clients[0].client_name"),
            (|v| v["clients"][0]["client_id"] = "".into(), "clients[0].client_id"),
            (|v| v["clients"][2]["client_id"] = "web".into(), "clients[2].client_id"),
            (|v| v["clients"][3]["jwks"]["keys"][0]["kty"] = SECRET.into(), "clients[3].jwks.keys[0]"),
            (|v| v["clients"][3]["jwks"]["keys"][0]["n"] = format!("{SECRET}!").into(), "clients[3].jwks.keys[0]"),
            (|v| v["clients"][3]["jwks"]["keys"][0]["use"] = json!([SECRET]), "clients[3].jwks.keys[0]"),
            (|v| v["clients"][3]["jwks"]["keys"][0]["e"] = json!([SECRET]), "clients[3].jwks.keys[0]"),
            (|v| v["grants"][0] = SECRET.into(), "grants[0]"),
            (|v| v["grants"][1] = v["grants"][0].clone(), "grants[1]"),
            (|v| v["issuer"] = SECRET.into(), "issuer"),
            (|v| v["issuer"] = format!("http://{SECRET}.example").into(), "issuer"),
            (|v| v["listen"] = SECRET.into(), "listen"),
            (|v| v["metrics_listen"] = SECRET.into(), "metrics_listen"),
            (|v| v["access_token_ttl"] = SECRET.into(), "access_token_ttl"),
            (|v| v["header_read_timeout"] = SECRET.into(), "header_read_timeout"),
            (|v| v["pkce"]["required"] = SECRET.into(), "pkce.required"),
            (|v| v["pkce"]["methods"][0] = SECRET.into(), "pkce.methods[0]"),
            // serde's message ends with what was expected, after the value: a value that
            // looks like that end is not taken for it.
            (|v| v["pkce"]["required"] = format!("{SECRET}, expected x").into(), "pkce.required"),
            (|v| v["access_token_ttl"] = format!("{SECRET}\", expected u64").into(), "access_token_ttl"),
            (|v| v["users"][0]["password"] = json!([SECRET]), "users[0].password"),
            (|v| v["users"] = json!([v["users"][0], {"username": "alice", "password": SECRET}]), "users[1].username"),
            (|v| v["secret_key"] = SECRET.into(), "secret_key"),
            (|v| v["secret_key"] = json!([SECRET]), "secret_key"),
            (|v| v["store"] = json!({"kind": SECRET}), "store.kind"),
            (|v| v["store"] = json!({"kind": "postgres", "url": SECRET}), "store.url"),
            (|v| v["store"] = json!({"kind": "postgres", "url": format!("{SECRET}://")}), "store.url"),
            (|v| v["store"] = json!({"kind": "sqlite", "path": [SECRET]}), "store.path"),
            (|v| v["store"] = json!({"kind": "sqlite", "path": "x", "password": SECRET}), "store.password"),
            (|v| v["store"] = json!({"kind": "memory", "url": SECRET}), "store.url"),
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
        assert_eq!(minimal.pkce.plugin_config(), json!({"required": "public_clients", "methods": ["S256"]}));
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
        assert_eq!(error_of(&json!([1])).field, "");
        assert!(ServerConfigFile::from_json("{").unwrap_err().message.starts_with("invalid JSON"));
        assert_eq!(minimal.store, StoreConfig::Memory, "the contract's default store");
        assert_eq!(minimal.secret_key, None);
        assert_eq!(minimal.metrics_listen, None, "metrics are off by default");
    }

    #[test]
    fn the_store_and_the_secret_key() {
        let demo = ServerConfigFile::demo().unwrap();
        let path = "target/grantry-demo/store.db".into();
        assert_eq!(demo.store, StoreConfig::Sqlite { path, synchronous: Synchronous::Full }, "the demo persists");
        let with = |store: Value, key: Option<&str>| {
            let mut value = demo_value();
            value["store"] = store;
            if let Some(key) = key {
                value["secret_key"] = key.into();
            }
            ServerConfigFile::from_json(&value.to_string())
        };
        let normal = with(json!({"kind": "sqlite", "path": "x.db", "synchronous": "normal"}), None).unwrap();
        assert_eq!(normal.store, StoreConfig::Sqlite { path: "x.db".into(), synchronous: Synchronous::Normal });
        let misplaced = with(json!({"kind": "memory", "synchronous": "normal"}), None).unwrap_err();
        assert_eq!(misplaced.field, "store.synchronous");
        let unknown = with(json!({"kind": "sqlite", "path": "x.db", "synchronous": "off"}), None).unwrap_err();
        assert_eq!(unknown.field, "store.synchronous");
        let url = "postgres://grantry:pa55word@db.example/grantry";
        let postgres = with(json!({"kind": "postgres", "url": url}), None).unwrap();
        assert_eq!(postgres.store, StoreConfig::Postgres { url: url.into() });
        assert!(!format!("{postgres:?}").contains("pa55word"), "the database URL is not shown");
        assert_eq!(with(json!({"kind": "memory"}), None).unwrap().store, StoreConfig::Memory);
        assert_eq!(with(json!({"kind": "sqlite"}), None).unwrap_err().field, "store.path");
        assert_eq!(with(json!({"kind": "sqlite", "path": ""}), None).unwrap_err().field, "store.path");
        assert_eq!(with(json!({"path": "x.db"}), None).unwrap_err().field, "store.kind");

        let key = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let parsed = with(json!({"kind": "memory"}), Some(&key)).unwrap();
        assert_eq!(parsed.secret_key.as_ref().map(SecretKey::as_bytes), Some(&[7u8; 32][..]));
        assert!(!format!("{parsed:?}").contains(&key), "the key is not shown");
        let padded = base64::engine::general_purpose::URL_SAFE.encode([7u8; 40]);
        assert!(with(json!({"kind": "memory"}), Some(&padded)).is_ok(), "padding is accepted");
        let short = URL_SAFE_NO_PAD.encode([7u8; 31]);
        for bad in [short.as_str(), "", "not base64!", "+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/"] {
            assert_eq!(with(json!({"kind": "memory"}), Some(bad)).unwrap_err().field, "secret_key", "{bad:?}");
        }
    }
}
