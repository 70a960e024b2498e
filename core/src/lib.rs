//! # grantry-core
//!
//! The engine of grantry, an OAuth 2.0 authorization server library built around a **grant
//! registry**. Every grant is a plugin implementing [`Grant`]; it is registered on an
//! [`AuthorizationServer`] at runtime with optional [`GrantExtension`]s attached, and the
//! server's endpoints dispatch to it by `grant_type` or `response_type`.
//!
//! The core is framework-agnostic (a [`Request`] goes in, a [`Response`] comes out) and
//! runtime-agnostic (async traits return a [`MaybeReady`] future any executor can drive).
//!
//! ```
//! use grantry_core::{AuthorizationServer, ClientRecord, MemoryStore, Request, ServerConfig};
//!
//! # async fn run() {
//! let store = MemoryStore::new();
//! store.add_client(ClientRecord::confidential("svc", "svc-secret")).unwrap();
//! let server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example.com").unwrap());
//! // No grant registered yet: every grant_type is unsupported.
//! let response = server
//!     .token_endpoint(&Request::post("/token").with_form(&[("grant_type", "client_credentials")]))
//!     .await;
//! assert_eq!(response.status, 400);
//! assert_eq!(response.json().unwrap()["error"], "unsupported_grant_type");
//! # }
//! ```
//!
//! Where each step of a token request lives:
//!
//! | step | module |
//! |---|---|
//! | parse | [`request`](crate::Request), [`params`](crate::Params) |
//! | client authentication | `client_auth/`, `endpoint/client_authentication.rs` |
//! | registry dispatch | `registry.rs` |
//! | grant | a [`Grant`] implementation (the `grantry-grants` crate for RFC 6749) |
//! | extensions | [`GrantExtension`] hooks, run from `endpoint/token.rs` and `context.rs` |
//! | token issuance | `context.rs` ([`GrantContext::issue`]), `token.rs` |
//! | storage | `storage/` |
//!
//! With the cargo feature `http`, the `adapter` module converts `http::Request`s and engine
//! [`Response`]s, with a body limit, for any framework built on the `http` crate.

#[cfg(feature = "http")]
pub mod adapter;
mod authorization;
mod client;
pub mod client_auth;
mod clock;
mod config;
mod context;
mod endpoint;
mod error;
mod extension;
mod future;
mod grant;
mod grant_type;
mod json;
mod params;
pub mod plugin;
mod registry;
mod request;
mod resource;
mod response;
mod scope;
mod secret;
mod server;
pub mod storage;
mod token;

pub use authorization::{Approval, AuthorizationError, AuthorizationRequest, Consent, ResponseMode, build_redirect};
pub use client::{Client, ClientConfigError, ClientRecord, ClientSecret};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use config::{ConfigError, IntrospectionAccess, IntrospectionRule, ServerConfig};
pub use context::GrantContext;
pub use error::{ErrorCode, OAuthError};
pub use extension::{GrantExtension, IntoExtensions};
pub use future::{BoxFuture, MaybeReady};
pub use grant::{AccessGrant, ClientAuthentication, Grant, GrantMetadata, RedirectParams, TokenRequest};
pub use grant_type::{ClientAuthMethod, GrantType, NameError, ResponseType};
pub use inventory;
pub use params::{Params, encode_component, encode_form};
pub use registry::{GrantRegistry, Registration, RegistryError};
pub use request::{Headers, Method, Request};
pub use resource::{BearerError, ResourceAccess, ResourceGuard};
pub use response::{Header, Response};
pub use scope::Scope;
pub use secret::{Secret, TokenDigest, constant_time_eq};
pub use server::{AuthorizationServer, DuplicateAuthMethod, RegisteredGrant};
pub use storage::{MemoryStore, Storage};
pub use token::{CredentialKind, ExpiresIn, ExpiresInFn, RandomTokenGenerator, TokenGenerator, TokenResponse};
