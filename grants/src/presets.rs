//! Pre-configured servers for the common deployments, after OAuthLib's
//! `WebApplicationServer`, `MobileApplicationServer`, `LegacyApplicationServer`,
//! `BackendApplicationServer` and `Server`.
//!
//! Each is an ordinary [`AuthorizationServer`] with the right grants registered: every
//! endpoint (authorization, token, revocation, introspection, metadata, resource guard) is
//! there, and more grants and extensions can still be registered.
//!
//! ```
//! use grantry_core::{MemoryStore, ServerConfig};
//! use grantry_grants::presets;
//!
//! let config = ServerConfig::new("https://auth.example").unwrap();
//! let server = presets::backend_application_server(MemoryStore::new(), config).unwrap();
//! assert_eq!(server.metadata()["grant_types_supported"], serde_json::json!(["client_credentials"]));
//! ```

use crate::{AuthorizationCodeGrant, ClientCredentialsGrant, ImplicitGrant, PasswordGrant, RefreshTokenGrant};
use grantry_core::{AuthorizationServer, RegistryError, ServerConfig, Storage};

/// Web applications (confidential clients with a browser): authorization code and refresh token.
pub fn web_application_server(
    storage: impl Into<Storage>,
    config: ServerConfig,
) -> Result<AuthorizationServer, RegistryError> {
    let mut server = AuthorizationServer::new(storage, config);
    server.register_grant(AuthorizationCodeGrant::new(), ())?;
    server.register_grant(RefreshTokenGrant::new(), ())?;
    Ok(server)
}

/// Mobile and browser applications the OAuthLib way: the implicit grant. (RFC 9700 prefers
/// the authorization code grant with PKCE: see [`web_application_server`].)
pub fn mobile_application_server(
    storage: impl Into<Storage>,
    config: ServerConfig,
) -> Result<AuthorizationServer, RegistryError> {
    let mut server = AuthorizationServer::new(storage, config);
    server.register_grant(ImplicitGrant::new(), ())?;
    Ok(server)
}

/// Legacy applications that hold the user's password: password and refresh token.
pub fn legacy_application_server(
    storage: impl Into<Storage>,
    config: ServerConfig,
) -> Result<AuthorizationServer, RegistryError> {
    let mut server = AuthorizationServer::new(storage, config);
    server.register_grant(PasswordGrant::new(), ())?;
    server.register_grant(RefreshTokenGrant::new(), ())?;
    Ok(server)
}

/// Backend services acting for themselves: client credentials.
pub fn backend_application_server(
    storage: impl Into<Storage>,
    config: ServerConfig,
) -> Result<AuthorizationServer, RegistryError> {
    let mut server = AuthorizationServer::new(storage, config);
    server.register_grant(ClientCredentialsGrant::new(), ())?;
    Ok(server)
}

/// Every RFC 6749 grant: authorization code, implicit, password, client credentials and
/// refresh token.
pub fn full_server(storage: impl Into<Storage>, config: ServerConfig) -> Result<AuthorizationServer, RegistryError> {
    let mut server = AuthorizationServer::new(storage, config);
    server.register_grant(AuthorizationCodeGrant::new(), ())?;
    server.register_grant(ImplicitGrant::new(), ())?;
    server.register_grant(PasswordGrant::new(), ())?;
    server.register_grant(ClientCredentialsGrant::new(), ())?;
    server.register_grant(RefreshTokenGrant::new(), ())?;
    Ok(server)
}
