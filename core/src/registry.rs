//! The grant registry: which grant serves which `grant_type` and `response_type`, with the
//! extensions attached to it.

use crate::extension::GrantExtension;
use crate::grant::{BoxedGrant, ClientAuthMethods, ErasedGrant, GrantMetadata};
use crate::grant_type::{ClientAuthMethod, GrantType, ResponseType};
use std::collections::{BTreeSet, HashMap};

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Another grant already serves this `grant_type`.
    #[error("grant type {0} is already registered")]
    DuplicateGrantType(GrantType),
    /// Another grant already serves this `response_type`.
    #[error("response type {0} is already registered")]
    DuplicateResponseType(ResponseType),
    /// The grant serves neither endpoint.
    #[error("a grant must serve a grant type or at least one response type")]
    ServesNothing,
    /// A token endpoint grant allows no client authentication method.
    #[error("grant type {0} allows no client authentication method")]
    NoAuthMethods(GrantType),
    /// An allowed method has no authenticator on this server.
    #[error("client authentication method {0} is not available on this server")]
    UnknownAuthMethod(ClientAuthMethod),
    /// A registration tried to allow a client authentication method its grant does not
    /// declare: registrations can only narrow what a grant allows.
    #[error("the grant does not allow client authentication method {0}; a registration can only narrow its methods")]
    WidensAuthMethods(ClientAuthMethod),
    /// Another grant already serves an endpoint at this path.
    #[error("an endpoint at {0} is already registered")]
    DuplicateEndpoint(&'static str),
    /// A grant's own endpoint needs a grant type its clients are checked against.
    #[error("a grant with an endpoint of its own must serve a grant type")]
    EndpointWithoutGrantType,
    /// A grant type name from configuration is invalid.
    #[error(transparent)]
    InvalidName(#[from] crate::grant_type::NameError),
}

/// A grant as registered: the grant, its metadata (read once) and its extensions.
pub struct Registration {
    pub(crate) grant: BoxedGrant,
    pub(crate) extensions: Vec<Box<dyn GrantExtension>>,
}

impl Registration {
    /// The grant's metadata, with any per-registration narrowing.
    pub fn metadata(&self) -> &GrantMetadata {
        &self.grant.metadata
    }

    pub(crate) fn steps(&self) -> &dyn ErasedGrant {
        &*self.grant.steps
    }

    /// The names of the attached extensions, in hook order.
    pub fn extension_names(&self) -> impl Iterator<Item = &str> {
        self.extensions.iter().map(|e| e.name())
    }

    /// The attached extensions.
    pub fn extensions(&self) -> impl Iterator<Item = &dyn GrantExtension> {
        self.extensions.iter().map(|e| &**e)
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("metadata", self.metadata())
            .field("extensions", &self.extension_names().collect::<Vec<_>>())
            .finish()
    }
}

/// The registered grants, found by `grant_type` (a scan: a server registers a handful of
/// grants, and comparing that many short strings costs less than hashing one) and by
/// `response_type` (a map lookup).
#[derive(Default, Debug)]
pub struct GrantRegistry {
    registrations: Vec<Registration>,
    by_response_type: HashMap<ResponseType, usize>,
    /// What every revocation and introspection request checks against, derived whenever a
    /// registration changes rather than per request.
    auth_methods: AuthMethods,
}

/// The client authentication methods the registered grants allow, sorted.
#[derive(Default, Debug)]
struct AuthMethods {
    all: Vec<ClientAuthMethod>,
    /// All but `none`: the methods that prove who the client is.
    with_credentials: Vec<ClientAuthMethod>,
}

impl GrantRegistry {
    /// Adds a registration after checking it does not collide with an existing one.
    /// `available` are the server's client authentication methods.
    pub(crate) fn insert(
        &mut self,
        registration: Registration,
        available: &[ClientAuthMethod],
    ) -> Result<usize, RegistryError> {
        let meta = registration.metadata();
        if meta.grant_type().is_none() && meta.response_types().is_empty() {
            return Err(RegistryError::ServesNothing);
        }
        if let Some(gt) = meta.grant_type() {
            if self.serves_grant_type(gt) {
                return Err(RegistryError::DuplicateGrantType(gt.clone()));
            }
            if meta.auth_methods().is_empty() {
                return Err(RegistryError::NoAuthMethods(gt.clone()));
            }
        }
        if let Some(endpoint) = meta.endpoint() {
            if meta.grant_type().is_none() {
                return Err(RegistryError::EndpointWithoutGrantType);
            }
            if self.registrations.iter().any(|r| r.metadata().endpoint().is_some_and(|e| e.path() == endpoint.path())) {
                return Err(RegistryError::DuplicateEndpoint(endpoint.path()));
            }
        }
        let mut seen = BTreeSet::new();
        for rt in meta.response_types() {
            if self.by_response_type.contains_key(rt) || !seen.insert(rt) {
                return Err(RegistryError::DuplicateResponseType(rt.clone()));
            }
        }
        let index = self.registrations.len();
        for rt in meta.response_types() {
            self.by_response_type.insert(rt.clone(), index);
        }
        self.registrations.push(registration);
        self.derive_auth_methods(available);
        Ok(index)
    }

    /// Narrows the client authentication methods registration `index` allows to `methods`,
    /// each of which its grant must allow already.
    pub(crate) fn restrict_auth_methods(
        &mut self,
        index: usize,
        methods: Vec<ClientAuthMethod>,
        available: &[ClientAuthMethod],
    ) -> Result<(), RegistryError> {
        let Some(registration) = self.registrations.get_mut(index) else { return Ok(()) };
        let meta = &mut registration.grant.metadata;
        if let Some(widening) = methods.iter().find(|m| !meta.auth_methods().allows(m)) {
            return Err(RegistryError::WidensAuthMethods(widening.clone()));
        }
        if let (true, Some(gt)) = (methods.is_empty(), meta.grant_type()) {
            return Err(RegistryError::NoAuthMethods(gt.clone()));
        }
        meta.restrict_auth_methods(ClientAuthMethods::only(methods));
        self.derive_auth_methods(available);
        Ok(())
    }

    /// Derives what revocation and introspection check against from the registrations and
    /// the server's `available` methods (again whenever either changes).
    pub(crate) fn derive_auth_methods(&mut self, available: &[ClientAuthMethod]) {
        let all: BTreeSet<_> = available
            .iter()
            .filter(|m| {
                self.registrations
                    .iter()
                    .any(|r| r.metadata().grant_type().is_some() && r.metadata().auth_methods().allows(m))
            })
            .cloned()
            .collect();
        let all: Vec<_> = all.into_iter().collect();
        let with_credentials = all.iter().filter(|m| **m != ClientAuthMethod::NONE).cloned().collect();
        self.auth_methods = AuthMethods { all, with_credentials };
    }

    pub(crate) fn get(&self, index: usize) -> Option<&Registration> {
        self.registrations.get(index)
    }

    /// Attaches one more extension to registration `index`. (Registrations change only
    /// through such methods, so what is derived from them stays current.)
    pub(crate) fn add_extension(&mut self, index: usize, extension: Box<dyn GrantExtension>) {
        if let Some(registration) = self.registrations.get_mut(index) {
            registration.extensions.push(extension);
        }
    }

    /// The registration serving `grant_type`.
    pub fn by_grant_type(&self, grant_type: &str) -> Option<(usize, &Registration)> {
        self.registrations
            .iter()
            .enumerate()
            .find(|(_, r)| r.metadata().grant_type().is_some_and(|gt| gt.as_str() == grant_type))
    }

    /// The registration serving `response_type`.
    pub fn by_response_type(&self, response_type: &ResponseType) -> Option<(usize, &Registration)> {
        let index = *self.by_response_type.get(response_type)?;
        Some((index, &self.registrations[index]))
    }

    /// Whether some grant serves `grant_type`.
    pub fn serves_grant_type(&self, grant_type: &GrantType) -> bool {
        self.by_grant_type(grant_type.as_str()).is_some()
    }

    /// Every registration, in registration order.
    pub fn registrations(&self) -> impl Iterator<Item = &Registration> {
        self.registrations.iter()
    }

    /// The registered grant types, sorted.
    pub fn grant_types(&self) -> Vec<GrantType> {
        let set: BTreeSet<_> = self.registrations.iter().filter_map(|r| r.metadata().grant_type().cloned()).collect();
        set.into_iter().collect()
    }

    /// The registered response types, sorted.
    pub fn response_types(&self) -> Vec<ResponseType> {
        let set: BTreeSet<_> = self.by_response_type.keys().cloned().collect();
        set.into_iter().collect()
    }

    /// The union of the client authentication methods the registered grants allow, sorted.
    pub fn token_endpoint_auth_methods(&self) -> &[ClientAuthMethod] {
        &self.auth_methods.all
    }

    /// [`token_endpoint_auth_methods`](Self::token_endpoint_auth_methods) less `none`: the
    /// methods that prove who the client is.
    pub fn credential_auth_methods(&self) -> &[ClientAuthMethod] {
        &self.auth_methods.with_credentials
    }
}
