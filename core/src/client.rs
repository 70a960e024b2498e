//! Registered clients: the [`Client`] trait the engine reads, and [`ClientRecord`], a ready
//! implementation that deserialises from RFC 7591 client metadata.

use crate::grant_type::{ClientAuthMethod, GrantType, ResponseType};
use crate::scope::Scope;
use crate::secret::{Secret, constant_time_eq};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::sync::Arc;

/// A registered client, as the engine sees it.
///
/// Implement it over your own client rows; the secret check is a method so a store can keep
/// only a hash of the secret (see [`ClientSecret::Sha256`]).
pub trait Client: Send + Sync + fmt::Debug {
    /// The `client_id`.
    fn client_id(&self) -> &str;

    /// The `client_id` as a shared string: token records hold it, so an implementation that
    /// keeps its id in an `Arc<str>` lets a million tokens share one copy. The default copies.
    fn shared_client_id(&self) -> Arc<str> {
        Arc::from(self.client_id())
    }

    /// Checks a presented secret in constant time. Clients without a secret return `false`.
    fn check_secret(&self, presented: &str) -> bool;

    /// The secret itself, for methods that need the shared key (`client_secret_jwt` HMAC).
    /// A store that keeps only hashes returns `None`, which disables those methods.
    fn shared_secret(&self) -> Option<&Secret> {
        None
    }

    /// The client authentication method the client registered for the token endpoint.
    fn token_endpoint_auth_method(&self) -> &ClientAuthMethod;

    /// A public client cannot keep a secret (RFC 6749 §2.1): it authenticates with `none`.
    fn is_public(&self) -> bool {
        *self.token_endpoint_auth_method() == ClientAuthMethod::NONE
    }

    /// The registered redirect URIs, matched exactly.
    fn redirect_uris(&self) -> &[String];

    /// The largest scope the client may be granted; an omitted `scope` request means this.
    fn allowed_scope(&self) -> &Scope;

    /// Whether the client may use `grant_type`.
    fn allows_grant_type(&self, grant_type: &GrantType) -> bool;

    /// Whether the client may use `response_type`.
    fn allows_response_type(&self, response_type: &ResponseType) -> bool;

    /// Other client metadata by RFC 7591 name (such as `jwks`), for plugins.
    fn metadata(&self, _name: &str) -> Option<&serde_json::Value> {
        None
    }
}

/// The JWT bearer grant type (RFC 7523 §2.1), whose HS256 assertions are signed with the
/// client secret.
const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How a [`ClientRecord`] keeps its secret.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientSecret {
    /// The secret itself (needed for `client_secret_jwt`).
    Plain(Secret),
    /// Only the SHA-256 digest of the secret. Suitable for high-entropy generated secrets;
    /// a store of human-chosen secrets should use a password hash behind its own [`Client`].
    Sha256([u8; 32]),
}

impl ClientSecret {
    fn matches(&self, presented: &str) -> bool {
        match self {
            ClientSecret::Plain(secret) => secret.matches(presented),
            ClientSecret::Sha256(digest) => {
                let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
                constant_time_eq(&presented, digest)
            }
        }
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientSecret::Plain(_) => f.write_str("Plain(<redacted>)"),
            ClientSecret::Sha256(_) => f.write_str("Sha256(<redacted>)"),
        }
    }
}

/// Why a client registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientConfigError {
    /// `client_id` is empty.
    #[error("client_id must not be empty")]
    EmptyClientId,
    /// A redirect URI is not an absolute URI without fragment (RFC 6749 §3.1.2).
    #[error("client {client_id}: redirect_uris: {uri:?} is not an absolute URI without a fragment")]
    RedirectUri {
        /// The client.
        client_id: String,
        /// The offending URI.
        uri: String,
    },
    /// A secret-based method without a secret, or a public client with one.
    #[error("client {client_id}: token_endpoint_auth_method {method} {problem}")]
    Secret {
        /// The client.
        client_id: String,
        /// The method.
        method: String,
        /// What is wrong.
        problem: &'static str,
    },
}

impl ClientConfigError {
    /// The registration field at fault, as RFC 7591 names it.
    pub fn field(&self) -> &'static str {
        match self {
            ClientConfigError::EmptyClientId => "client_id",
            ClientConfigError::RedirectUri { .. } => "redirect_uris",
            ClientConfigError::Secret { .. } => "client_secret",
        }
    }
}

/// A client registration held in memory: RFC 7591 metadata plus its secret.
///
/// ```
/// use grantry_core::{Client, ClientRecord, GrantType};
/// let web = ClientRecord::confidential("web", "s3cret")
///     .with_redirect_uri("https://app.example/cb")
///     .with_grant_types([GrantType::AUTHORIZATION_CODE, GrantType::REFRESH_TOKEN])
///     .with_scope("read write");
/// assert!(web.check_secret("s3cret"));
/// assert!(!web.is_public());
/// ```
#[derive(Debug, Clone, serde::Deserialize)]
#[non_exhaustive]
pub struct ClientRecord {
    /// The `client_id`.
    pub client_id: Arc<str>,
    /// The secret, if the client is confidential.
    #[serde(default, rename = "client_secret", deserialize_with = "deserialize_secret")]
    pub secret: Option<ClientSecret>,
    /// Registered redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Allowed grant types (RFC 7591 default: `authorization_code`).
    #[serde(default = "default_grant_types")]
    pub grant_types: Vec<GrantType>,
    /// Allowed response types (RFC 7591 default: `code`).
    #[serde(default = "default_response_types")]
    pub response_types: Vec<ResponseType>,
    /// The largest scope the client may be granted.
    #[serde(default)]
    pub scope: Scope,
    /// The token endpoint authentication method (RFC 7591 default: `client_secret_basic`).
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: ClientAuthMethod,
    /// Any other metadata (such as `jwks`).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

fn deserialize_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<ClientSecret>, D::Error> {
    let s: Option<String> = serde::Deserialize::deserialize(d)?;
    Ok(s.map(|s| ClientSecret::Plain(Secret::new(s))))
}

fn default_grant_types() -> Vec<GrantType> {
    vec![GrantType::AUTHORIZATION_CODE]
}

fn default_response_types() -> Vec<ResponseType> {
    vec![ResponseType::CODE]
}

fn default_auth_method() -> ClientAuthMethod {
    ClientAuthMethod::CLIENT_SECRET_BASIC
}

impl ClientRecord {
    fn new(client_id: impl Into<Arc<str>>, secret: Option<ClientSecret>, method: ClientAuthMethod) -> Self {
        ClientRecord {
            client_id: client_id.into(),
            secret,
            redirect_uris: Vec::new(),
            grant_types: default_grant_types(),
            response_types: default_response_types(),
            scope: Scope::empty(),
            token_endpoint_auth_method: method,
            other: serde_json::Map::new(),
        }
    }

    /// A confidential client authenticating with `client_secret_basic`.
    pub fn confidential(client_id: impl Into<Arc<str>>, secret: impl Into<String>) -> Self {
        Self::new(client_id, Some(ClientSecret::Plain(Secret::new(secret))), ClientAuthMethod::CLIENT_SECRET_BASIC)
    }

    /// A public client (`token_endpoint_auth_method` `none`).
    pub fn public(client_id: impl Into<Arc<str>>) -> Self {
        Self::new(client_id, None, ClientAuthMethod::NONE)
    }

    /// Adds a redirect URI.
    pub fn with_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Sets the allowed grant types.
    pub fn with_grant_types(mut self, grant_types: impl IntoIterator<Item = GrantType>) -> Self {
        self.grant_types = grant_types.into_iter().collect();
        self
    }

    /// Sets the allowed response types.
    pub fn with_response_types(mut self, response_types: impl IntoIterator<Item = ResponseType>) -> Self {
        self.response_types = response_types.into_iter().collect();
        self
    }

    /// Sets the allowed scope.
    ///
    /// # Panics
    /// If `scope` is not a valid scope string: this is for scopes written in code.
    #[allow(clippy::expect_used)]
    pub fn with_scope(mut self, scope: &str) -> Self {
        self.scope = Scope::parse(scope).expect("with_scope takes a valid scope literal");
        self
    }

    /// Sets the token endpoint authentication method.
    pub fn with_auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.token_endpoint_auth_method = method;
        self
    }

    /// The record as a store keeps it: the secret replaced by its SHA-256 digest, unless a use
    /// the client registered for signs with the secret itself, so the server needs it in the
    /// clear: `client_secret_jwt` (RFC 7523 §2.2), or HS256 assertions of the JWT bearer grant
    /// (RFC 7523 §2.1). [`MemoryStore::add_client`](crate::MemoryStore::add_client) keeps every
    /// record so.
    pub fn for_storage(self) -> Self {
        let signs_with_secret = self.token_endpoint_auth_method == ClientAuthMethod::CLIENT_SECRET_JWT
            || self.grant_types.iter().any(|g| g.as_str() == JWT_BEARER_GRANT_TYPE);
        if signs_with_secret { self } else { self.hash_secret() }
    }

    /// Replaces the secret by its SHA-256 digest, so the record no longer holds the secret.
    pub fn hash_secret(mut self) -> Self {
        if let Some(ClientSecret::Plain(s)) = &self.secret {
            self.secret = Some(ClientSecret::Sha256(Sha256::digest(s.expose().as_bytes()).into()));
        }
        self
    }

    /// Sets other metadata (such as `jwks`).
    pub fn with_metadata(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.other.insert(name.into(), value);
        self
    }

    /// Checks the registration: redirect URIs absolute without fragment, and a secret exactly
    /// when the authentication method needs one.
    pub fn validate(&self) -> Result<(), ClientConfigError> {
        if self.client_id.is_empty() {
            return Err(ClientConfigError::EmptyClientId);
        }
        for uri in &self.redirect_uris {
            let parsed = url::Url::parse(uri);
            if parsed.is_err() || uri.contains('#') {
                return Err(ClientConfigError::RedirectUri { client_id: self.client_id.to_string(), uri: uri.clone() });
            }
        }
        let method = &self.token_endpoint_auth_method;
        let secret_method = [
            ClientAuthMethod::CLIENT_SECRET_BASIC,
            ClientAuthMethod::CLIENT_SECRET_POST,
            ClientAuthMethod::CLIENT_SECRET_JWT,
        ]
        .contains(method);
        let problem = match (&self.secret, secret_method) {
            (None, true) => Some("needs a client_secret"),
            (Some(_), false) if *method == ClientAuthMethod::NONE => {
                Some("is for public clients, which have no client_secret")
            }
            _ => None,
        };
        match problem {
            Some(problem) => Err(ClientConfigError::Secret {
                client_id: self.client_id.to_string(),
                method: method.to_string(),
                problem,
            }),
            None => Ok(()),
        }
    }
}

impl Client for ClientRecord {
    fn client_id(&self) -> &str {
        &self.client_id
    }

    fn shared_client_id(&self) -> Arc<str> {
        self.client_id.clone()
    }

    fn check_secret(&self, presented: &str) -> bool {
        self.secret.as_ref().is_some_and(|s| s.matches(presented))
    }

    fn shared_secret(&self) -> Option<&Secret> {
        match &self.secret {
            Some(ClientSecret::Plain(s)) => Some(s),
            _ => None,
        }
    }

    fn token_endpoint_auth_method(&self) -> &ClientAuthMethod {
        &self.token_endpoint_auth_method
    }

    fn redirect_uris(&self) -> &[String] {
        &self.redirect_uris
    }

    fn allowed_scope(&self) -> &Scope {
        &self.scope
    }

    fn allows_grant_type(&self, grant_type: &GrantType) -> bool {
        self.grant_types.contains(grant_type)
    }

    fn allows_response_type(&self, response_type: &ResponseType) -> bool {
        self.response_types.contains(response_type)
    }

    fn metadata(&self, name: &str) -> Option<&serde_json::Value> {
        self.other.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_secret_still_verifies() {
        let c = ClientRecord::confidential("c", "s3cret").hash_secret();
        assert!(c.check_secret("s3cret"));
        assert!(!c.check_secret("s3cre"));
        assert!(c.shared_secret().is_none());
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn a_stored_record_keeps_its_secret_in_the_clear_only_where_a_signature_needs_it() {
        let basic = ClientRecord::confidential("basic", "s3cret").for_storage();
        assert!(matches!(basic.secret, Some(ClientSecret::Sha256(_))), "client_secret_basic: a digest");
        assert!(basic.check_secret("s3cret") && basic.shared_secret().is_none());

        let post = ClientRecord::confidential("post", "s3cret").with_auth_method(ClientAuthMethod::CLIENT_SECRET_POST);
        assert!(matches!(post.for_storage().secret, Some(ClientSecret::Sha256(_))));

        let hmac = ClientRecord::confidential("hmac", "s3cret").with_auth_method(ClientAuthMethod::CLIENT_SECRET_JWT);
        assert_eq!(hmac.for_storage().shared_secret().map(Secret::expose), Some("s3cret"));

        let bearer = ClientRecord::confidential("bearer", "s3cret")
            .with_grant_types([GrantType::parse(JWT_BEARER_GRANT_TYPE).unwrap()]);
        assert!(bearer.for_storage().shared_secret().is_some(), "HS256 bearer assertions sign with it");
    }

    #[test]
    fn a_secret_matches_only_itself_whatever_the_presented_length() {
        // Both sides are digested first: a presented secret of any length compares the same
        // 32 bytes, so timing cannot reveal the stored secret's length.
        let secret = Secret::new("correct horse battery staple");
        assert!(secret.matches("correct horse battery staple"));
        for wrong in ["", "c", "correct horse battery stapl", "correct horse battery staple!"] {
            assert!(!secret.matches(wrong));
        }
    }

    #[test]
    fn deserialises_rfc7591_metadata() {
        let c: ClientRecord = serde_json::from_value(serde_json::json!({
            "client_id": "spa", "redirect_uris": ["http://127.0.0.1:9000/spa"],
            "grant_types": ["authorization_code", "implicit"], "response_types": ["code", "token"],
            "scope": "read", "token_endpoint_auth_method": "none", "jwks": {"keys": []}
        }))
        .unwrap();
        assert!(c.is_public());
        assert!(c.allows_grant_type(&GrantType::IMPLICIT));
        assert!(c.metadata("jwks").is_some());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn validate_names_the_problem() {
        let relative = ClientRecord::public("a").with_redirect_uri("/cb");
        assert!(matches!(relative.validate(), Err(ClientConfigError::RedirectUri { .. })));
        let fragment = ClientRecord::public("a").with_redirect_uri("https://a.example/cb#x");
        assert!(fragment.validate().is_err());
        let no_secret = ClientRecord::public("a").with_auth_method(ClientAuthMethod::CLIENT_SECRET_POST);
        assert!(no_secret.validate().unwrap_err().to_string().contains("needs a client_secret"));
    }
}
