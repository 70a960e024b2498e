//! [`AuthorizationServer`]: the registry, client authenticators, storage and configuration,
//! composed.

use crate::client_auth::{ClientAuthenticator, ClientSecretBasic, ClientSecretPost, NoneAuthenticator};
use crate::config::ServerConfig;
use crate::context::check_user_password;
use crate::extension::{GrantExtension, IntoExtensions};
use crate::grant::{BoxedGrant, ClientAuthMethods, Grant};
use crate::grant_type::ClientAuthMethod;
use crate::registry::{GrantRegistry, Registration, RegistryError};
use crate::storage::Storage;
use crate::throttle::{DEFAULT_FAILURE_WINDOW, DEFAULT_MAX_FAILURES, FailureLimiter, LoginError, LoginThrottle};
use std::sync::Arc;

/// An OAuth 2.0 authorization server: grants are registered on it at runtime, then its
/// endpoints serve requests concurrently (`&self`).
///
/// ```
/// use grantry_core::{AuthorizationServer, MemoryStore, ServerConfig};
/// let server = AuthorizationServer::new(MemoryStore::new(), ServerConfig::new("https://auth.example.com").unwrap());
/// assert!(server.registry().grant_types().is_empty());
/// ```
pub struct AuthorizationServer {
    pub(crate) storage: Storage,
    pub(crate) config: ServerConfig,
    pub(crate) registry: GrantRegistry,
    pub(crate) authenticators: Vec<Arc<dyn ClientAuthenticator>>,
    pub(crate) extensions: Vec<Box<dyn GrantExtension>>,
    pub(crate) throttle: Arc<dyn LoginThrottle>,
}

impl std::fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("config", &self.config)
            .field("registry", &self.registry)
            .field("auth_methods", &self.auth_methods())
            .finish_non_exhaustive()
    }
}

/// Why an authenticator could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client authentication method {0} is already available")]
pub struct DuplicateAuthMethod(pub ClientAuthMethod);

impl AuthorizationServer {
    /// A server with no grants, the `client_secret_basic`, `client_secret_post` and `none`
    /// client authentication methods, and a [`FailureLimiter`] on password checks.
    pub fn new(storage: impl Into<Storage>, config: ServerConfig) -> Self {
        AuthorizationServer {
            storage: storage.into(),
            config,
            registry: GrantRegistry::default(),
            authenticators: vec![Arc::new(ClientSecretBasic), Arc::new(ClientSecretPost), Arc::new(NoneAuthenticator)],
            extensions: Vec::new(),
            throttle: Arc::new(FailureLimiter::new(DEFAULT_MAX_FAILURES, DEFAULT_FAILURE_WINDOW)),
        }
    }

    /// Replaces the [`LoginThrottle`] every credential check passes through (by default a
    /// [`FailureLimiter`] of [`DEFAULT_MAX_FAILURES`] failures per username in
    /// [`DEFAULT_FAILURE_WINDOW`] seconds; RFC 6749 §4.3.2 requires protection against brute
    /// force).
    pub fn set_login_throttle(&mut self, throttle: impl LoginThrottle) {
        self.throttle = Arc::new(throttle);
    }

    /// Checks a resource owner's username and password through the [`LoginThrottle`]: the
    /// user's subject, `Ok(None)` for wrong credentials, or why the check was not made. Login
    /// pages use this; the password grant does through
    /// [`TokenRequest::authenticate_user`](crate::TokenRequest::authenticate_user).
    pub async fn authenticate_user(&self, username: &str, password: &str) -> Result<Option<String>, LoginError> {
        check_user_password(&self.storage, &*self.throttle, self.config.clock().now(), username, password).await
    }

    /// Registers a grant with extensions attached (`()` for none). Fails, leaving the server
    /// unchanged, if the grant's `grant_type` or a `response_type` is served already, or it
    /// lists a client authentication method this server does not have.
    ///
    /// The returned handle can narrow the registration's allowed authentication methods and
    /// attach more extensions.
    pub fn register_grant(
        &mut self,
        grant: impl Grant,
        extensions: impl IntoExtensions,
    ) -> Result<RegisteredGrant<'_>, RegistryError> {
        self.register_boxed(BoxedGrant::new(grant), extensions.into_extensions())
    }

    /// [`register_grant`](Self::register_grant) for a grant already boxed (as plugin
    /// constructors make them).
    pub fn register_boxed(
        &mut self,
        grant: BoxedGrant,
        extensions: Vec<Box<dyn GrantExtension>>,
    ) -> Result<RegisteredGrant<'_>, RegistryError> {
        self.check_auth_methods(grant.metadata().auth_methods())?;
        let available = self.auth_methods();
        let index = self.registry.insert(Registration { grant, extensions }, &available)?;
        Ok(RegisteredGrant { server: self, index })
    }

    /// Adds a client authentication method (for example a JWT method from a plugin). Grants
    /// that allow [`ClientAuthMethods::any`] or [`ClientAuthMethods::with_credentials`] accept
    /// it; others name it in their list.
    pub fn add_client_authenticator(
        &mut self,
        authenticator: impl ClientAuthenticator,
    ) -> Result<(), DuplicateAuthMethod> {
        self.add_boxed_authenticator(Box::new(authenticator))
    }

    /// [`add_client_authenticator`](Self::add_client_authenticator) for an authenticator
    /// already boxed (as plugin constructors make them).
    pub fn add_boxed_authenticator(
        &mut self,
        authenticator: Box<dyn ClientAuthenticator>,
    ) -> Result<(), DuplicateAuthMethod> {
        let method = authenticator.method();
        if self.authenticators.iter().any(|a| a.method() == method) {
            return Err(DuplicateAuthMethod(method));
        }
        self.authenticators.push(Arc::from(authenticator));
        let available = self.auth_methods();
        self.registry.derive_auth_methods(&available);
        Ok(())
    }

    /// Attaches an extension to the whole server: its hooks run for every grant, before the
    /// grant's own extensions (server-level hooks, such as RFC 9207 issuer identification).
    pub fn add_extension(&mut self, extension: impl GrantExtension) {
        self.extensions.push(Box::new(extension));
    }

    /// The server-level extensions, then those of `registration`: the order hooks run in.
    pub(crate) fn hooks<'a>(&'a self, registration: &'a Registration) -> impl Iterator<Item = &'a dyn GrantExtension> {
        self.extensions.iter().map(|e| &**e).chain(registration.extensions())
    }

    /// The client authentication methods available on this server.
    pub fn auth_methods(&self) -> Vec<ClientAuthMethod> {
        self.authenticators.iter().map(|a| a.method()).collect()
    }

    /// The authenticator of `method`, if available.
    pub fn authenticator(&self, method: &ClientAuthMethod) -> Option<&dyn ClientAuthenticator> {
        self.authenticators.iter().find(|a| a.method() == *method).map(|a| &**a)
    }

    fn check_auth_methods(&self, methods: &ClientAuthMethods) -> Result<(), RegistryError> {
        let listed = methods.listed().unwrap_or_default();
        match listed.iter().find(|m| self.authenticator(m).is_none()) {
            Some(unknown) => Err(RegistryError::UnknownAuthMethod(unknown.clone())),
            None => Ok(()),
        }
    }

    /// Whether the server can reach its stores (for a health endpoint): one client lookup,
    /// which every store answers without changing anything.
    pub async fn health(&self) -> Result<(), crate::storage::StorageError> {
        self.storage.clients.find_client("").await.map(|_| ())
    }

    /// The grant registry.
    pub fn registry(&self) -> &GrantRegistry {
        &self.registry
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The stores.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }
}

/// A handle on a registration just made, to adjust it.
pub struct RegisteredGrant<'a> {
    server: &'a mut AuthorizationServer,
    index: usize,
}

impl RegisteredGrant<'_> {
    /// Narrows the client authentication methods this registration allows at the token
    /// endpoint to `methods`. Each must be available on the server and allowed by the grant
    /// already ([`RegistryError::WidensAuthMethods`] otherwise): a registration can only take
    /// away what a grant declared, never add to it.
    pub fn restrict_auth_methods(
        self,
        methods: impl IntoIterator<Item = ClientAuthMethod>,
    ) -> Result<Self, RegistryError> {
        let methods: Vec<_> = methods.into_iter().collect();
        self.server.check_auth_methods(&ClientAuthMethods::only(methods.iter().cloned()))?;
        let available = self.server.auth_methods();
        self.server.registry.restrict_auth_methods(self.index, methods, &available)?;
        Ok(self)
    }

    /// Attaches one more extension.
    pub fn with_extension(self, extension: impl GrantExtension) -> Self {
        self.server.registry.add_extension(self.index, Box::new(extension));
        self
    }

    /// The registration as it stands.
    pub fn registration(&self) -> Option<&Registration> {
        self.server.registry.get(self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    /// Endpoint futures must be `Send`, so a multi-threaded runtime can run them.
    #[test]
    fn endpoint_futures_are_send() {
        fn is_send<T: Send>(_: &T) {}
        let server = AuthorizationServer::new(MemoryStore::new(), ServerConfig::new("https://a.example").unwrap());
        let request = http::Request::post("/token").body(Vec::new()).unwrap();
        is_send(&server.token_endpoint(&request));
        is_send(&server.validate_authorization_request(&request));
        is_send(&server.revocation_endpoint(&request));
        is_send(&server.introspection_endpoint(&request));
        is_send(&server.resource_guard().authorize(&request, &crate::Scope::empty()));
    }
}
