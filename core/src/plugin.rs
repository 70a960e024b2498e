//! Plugin discovery: grants, extensions and client authentication methods announce themselves
//! under a name with a constructor from JSON configuration, so a configuration-driven server
//! can enable them by name.
//!
//! A plugin announces itself with [`inventory::submit!`] (re-exported as
//! `grantry_core::inventory`); it is found if its crate is linked into the program. A crate
//! whose items the program never names is not linked: name it with `use plugin_crate as _;`.
//!
//! ```
//! use grantry_core::plugin::{self, Plugin};
//! use grantry_core::{AuthorizationServer, MemoryStore, ServerConfig};
//!
//! // Nothing is linked into this doctest but the core, which announces no grant.
//! let mut server = AuthorizationServer::new(MemoryStore::new(), ServerConfig::new("https://auth.example").unwrap());
//! let err = server.enable("password", &serde_json::Value::Null).unwrap_err();
//! assert!(err.to_string().starts_with("unknown plugin \"password\""));
//! ```

use crate::client_auth::ClientAuthenticator;
use crate::extension::GrantExtension;
use crate::grant::BoxedGrant;
use crate::registry::RegistryError;
use crate::server::{AuthorizationServer, DuplicateAuthMethod, RegisteredGrant};
use serde::de::DeserializeOwned;
use std::fmt;

/// Builds a grant from its configuration.
pub type GrantConstructor = fn(&serde_json::Value) -> Result<BoxedGrant, PluginError>;
/// Builds an extension from its configuration.
pub type ExtensionConstructor = fn(&serde_json::Value) -> Result<Box<dyn GrantExtension>, PluginError>;
/// Builds a client authentication method from its configuration.
pub type AuthenticatorConstructor = fn(&serde_json::Value) -> Result<Box<dyn ClientAuthenticator>, PluginError>;

/// What a plugin makes.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum PluginFactory {
    /// A grant.
    Grant(GrantConstructor),
    /// A grant extension.
    Extension(ExtensionConstructor),
    /// A client authentication method.
    ClientAuthenticator(AuthenticatorConstructor),
}

/// The kind of a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PluginKind {
    /// A grant.
    Grant,
    /// A grant extension.
    Extension,
    /// A client authentication method.
    ClientAuthenticator,
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PluginKind::Grant => "grant",
            PluginKind::Extension => "extension",
            PluginKind::ClientAuthenticator => "client authentication method",
        })
    }
}

/// A plugin's announcement: its name, a one-line summary, and its constructor.
pub struct Plugin {
    name: &'static str,
    summary: &'static str,
    factory: PluginFactory,
}

impl Plugin {
    /// A grant plugin, named by its grant type (or `implicit`).
    pub const fn grant(name: &'static str, summary: &'static str, constructor: GrantConstructor) -> Self {
        Plugin { name, summary, factory: PluginFactory::Grant(constructor) }
    }

    /// An extension plugin.
    pub const fn extension(name: &'static str, summary: &'static str, constructor: ExtensionConstructor) -> Self {
        Plugin { name, summary, factory: PluginFactory::Extension(constructor) }
    }

    /// A client authentication method plugin, named by its method.
    pub const fn client_authenticator(
        name: &'static str,
        summary: &'static str,
        constructor: AuthenticatorConstructor,
    ) -> Self {
        Plugin { name, summary, factory: PluginFactory::ClientAuthenticator(constructor) }
    }

    /// The name it is enabled by.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A one-line summary.
    pub fn summary(&self) -> &'static str {
        self.summary
    }

    /// What it makes.
    pub fn kind(&self) -> PluginKind {
        match self.factory {
            PluginFactory::Grant(_) => PluginKind::Grant,
            PluginFactory::Extension(_) => PluginKind::Extension,
            PluginFactory::ClientAuthenticator(_) => PluginKind::ClientAuthenticator,
        }
    }

    /// Its constructor.
    pub fn factory(&self) -> PluginFactory {
        self.factory
    }
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin").field("name", &self.name).field("kind", &self.kind()).finish()
    }
}

inventory::collect!(Plugin);

/// Every plugin linked into the program, sorted by name.
pub fn plugins() -> Vec<&'static Plugin> {
    let mut all: Vec<_> = inventory::iter::<Plugin>.into_iter().collect();
    all.sort_by_key(|p| (p.name, p.kind() as u8));
    all
}

/// The plugin named `name`, of kind `kind`.
pub fn find(name: &str, kind: PluginKind) -> Result<&'static Plugin, PluginError> {
    let all = plugins();
    if let Some(plugin) = all.iter().find(|p| p.name == name && p.kind() == kind) {
        return Ok(plugin);
    }
    let available: Vec<&str> = all.iter().filter(|p| p.kind() == kind).map(|p| p.name).collect();
    Err(PluginError::Unknown {
        name: name.to_owned(),
        kind,
        available: if available.is_empty() { "none".into() } else { available.join(", ") },
    })
}

/// Deserialises a plugin's configuration; `null` stands for `{}`.
pub fn parse_config<T: DeserializeOwned>(plugin: &str, config: &serde_json::Value) -> Result<T, PluginError> {
    let value = if config.is_null() { serde_json::Value::Object(Default::default()) } else { config.clone() };
    serde_json::from_value(value).map_err(|e| PluginError::Config { name: plugin.to_owned(), message: e.to_string() })
}

/// Why a plugin could not be enabled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// No linked-in plugin of that kind has that name.
    #[error("unknown plugin {name:?}; available {kind}s: {available}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The kind asked for.
        kind: PluginKind,
        /// The names that exist, comma-separated.
        available: String,
    },
    /// The configuration is invalid.
    #[error("plugin {name:?}: invalid configuration: {message}")]
    Config {
        /// The plugin.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The grant could not be registered.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The client authentication method is already available.
    #[error(transparent)]
    DuplicateAuthMethod(#[from] DuplicateAuthMethod),
}

impl AuthorizationServer {
    /// Enables a linked-in plugin by name: a grant is registered (without extensions), a client
    /// authentication method is added. Grants are looked up first, then methods.
    pub fn enable(&mut self, name: &str, config: &serde_json::Value) -> Result<(), PluginError> {
        match find(name, PluginKind::Grant) {
            Ok(_) => self.enable_grant(name, config, &[]).map(|_| ()),
            Err(grant_err) => match find(name, PluginKind::ClientAuthenticator) {
                Ok(plugin) => {
                    let PluginFactory::ClientAuthenticator(make) = plugin.factory else { return Err(grant_err) };
                    self.add_boxed_authenticator(make(config)?)?;
                    Ok(())
                }
                Err(_) => Err(grant_err),
            },
        }
    }

    /// Enables a grant plugin with extension plugins attached, each with its configuration.
    pub fn enable_grant(
        &mut self,
        name: &str,
        config: &serde_json::Value,
        extensions: &[(&str, &serde_json::Value)],
    ) -> Result<RegisteredGrant<'_>, PluginError> {
        let PluginFactory::Grant(make_grant) = find(name, PluginKind::Grant)?.factory else {
            return Err(PluginError::Config { name: name.to_owned(), message: "not a grant".into() });
        };
        let grant = make_grant(config)?;
        let mut attached = Vec::with_capacity(extensions.len());
        for (ext_name, ext_config) in extensions {
            let PluginFactory::Extension(make) = find(ext_name, PluginKind::Extension)?.factory else {
                return Err(PluginError::Config { name: (*ext_name).to_owned(), message: "not an extension".into() });
            };
            attached.push(make(ext_config)?);
        }
        Ok(self.register_boxed(grant, attached)?)
    }
}
