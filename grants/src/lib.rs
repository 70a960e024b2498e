//! # grantry-grants
//!
//! The five RFC 6749 grants, one file each, written against the public `grantry-core` traits
//! exactly as a user's own grant would be:
//!
//! | grant | file | serves |
//! |---|---|---|
//! | [`AuthorizationCodeGrant`] | `authorization_code.rs` | `response_type=code`, `grant_type=authorization_code` |
//! | [`ImplicitGrant`] | `implicit.rs` | `response_type=token` |
//! | [`PasswordGrant`] | `password.rs` | `grant_type=password` |
//! | [`ClientCredentialsGrant`] | `client_credentials.rs` | `grant_type=client_credentials` |
//! | [`RefreshTokenGrant`] | `refresh_token.rs` | `grant_type=refresh_token` |
//!
//! Each grant also announces itself as a plugin under its grant type (`implicit` for the
//! implicit grant), so a configuration-driven server can enable it by name with
//! `server.enable("password", &config)`.
//!
//! ```
//! use grantry_core::{AuthorizationServer, MemoryStore, ServerConfig};
//! use grantry_grants::{AuthorizationCodeGrant, RefreshTokenGrant};
//!
//! let mut server = AuthorizationServer::new(MemoryStore::new(), ServerConfig::new("https://auth.example.com").unwrap());
//! server.register_grant(AuthorizationCodeGrant::new(), ()).unwrap();
//! server.register_grant(RefreshTokenGrant::new().rotate(true), ()).unwrap();
//! assert_eq!(server.registry().grant_types().len(), 2);
//! ```

mod authorization_code;
mod client_credentials;
mod implicit;
mod password;
pub mod presets;
mod refresh_token;

pub use authorization_code::AuthorizationCodeGrant;
pub use client_credentials::ClientCredentialsGrant;
pub use implicit::ImplicitGrant;
pub use password::PasswordGrant;
pub use refresh_token::RefreshTokenGrant;

/// The configuration of plugins that take none: `null` or `{}`, and nothing else.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoConfig {}
