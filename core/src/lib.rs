//! # grantry-core
//!
//! The engine of grantry, an OAuth 2.0 authorization server library built around a **grant
//! registry**. Every grant is a plugin implementing [`Grant`]; it is registered on an
//! [`AuthorizationServer`] at runtime with optional [`GrantExtension`]s attached, and the
//! server's endpoints dispatch to it by `grant_type` or `response_type`.
//!
//! The core speaks the [`http`] crate's types, the common currency of Rust's web frameworks
//! (an `http::Request` goes in, an `http::Response` comes out: [`Request`], [`Response`]),
//! and is runtime-agnostic (its futures run on any executor). `grantry_core::http` is the
//! `http` crate it uses.
//!
//! ```
//! use grantry_core::request::FormBody;
//! use grantry_core::{AuthorizationServer, ClientRecord, MemoryStore, ServerConfig, http};
//!
//! # async fn run() {
//! let store = MemoryStore::new();
//! store.add_client(ClientRecord::confidential("svc", "svc-secret")).unwrap();
//! let server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example.com").unwrap());
//! // No grant registered yet: every grant_type is unsupported.
//! let request = http::Request::post("/token").form(&[("grant_type", "client_credentials")]).unwrap();
//! let response = server.token_endpoint(&request).await;
//! assert_eq!(response.status(), 400);
//! let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
//! assert_eq!(body["error"], "unsupported_grant_type");
//! # }
//! ```
//!
//! Where each step of a token request lives:
//!
//! | step | module |
//! |---|---|
//! | parse | [`request`], [`params`](crate::Params) |
//! | client authentication | `client_auth/`, `endpoint/client_authentication.rs` |
//! | registry dispatch | `registry.rs` |
//! | grant | a [`TokenGrant`] implementation (the `grantry-grants` crate for RFC 6749), which answers with a [`TokenDecision`] |
//! | the decision checked | `endpoint/issue.rs` (client, scope limits) |
//! | extensions | [`GrantExtension`] hooks on an [`Issuance`], run from `endpoint/issue.rs` |
//! | token issuance | `endpoint/issue.rs`, `token.rs` |
//! | storage | `storage/` |
//!
//! Beyond the token endpoint: a grant's own endpoint (`endpoint/grant_endpoint.rs`, RFC 8628's
//! device authorization endpoint), what a verification page asks (`endpoint/verification.rs`),
//! and access token formats (`token_format.rs`, RFC 9068 JWTs).
//!
//! The plugin-facing layer (`grant.rs`, `decision.rs`, `context.rs`, `issuance.rs`,
//! `extension.rs`) depends on values and storage traits only, never on the server: a grant
//! gets narrow capabilities ([`TokenRequest`]), not a handle on the engine.
//!
//! A server that streams request bodies limits them with [`request::BodyLimit`] before
//! handing the request to an endpoint.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod authorization;
mod client;
pub mod client_auth;
mod clock;
mod config;
#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;
mod context;
mod decision;
mod endpoint;
pub use endpoint::PendingView;
mod error;
mod extension;
mod grant;
mod grant_type;
mod issuance;
mod params;
pub mod plugin;
mod registry;
pub mod request;
mod resource;
pub mod response;
mod scope;
mod secret;
mod server;
pub mod storage;
pub mod throttle;
mod token;
mod token_format;

pub use async_trait::async_trait;
pub use authorization::{
    Approval, AuthorizationError, AuthorizationRequest, Consent, RedirectParams, ReservedParam, ResponseMode,
    build_redirect,
};
pub use client::{Client, ClientConfigError, ClientRecord, ClientSecret};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use config::{ConfigError, IntrospectionAccess, IntrospectionRule, ServerConfig};
pub use context::{ActiveToken, ApprovedPending, EndpointRequest, RedeemedCode, RefreshedToken, TokenRequest};
pub use decision::{AuthorizationDecision, TokenDecision};
pub use error::{ErrorCode, OAuthError};
pub use extension::{GrantExtension, IntoExtensions};
pub use grant::{
    AuthorizationGrant, BoxedGrant, ClientAuthMethods, ClientAuthentication, EndpointGrant, Grant, GrantEndpoint,
    GrantMetadata, Serves, TokenGrant,
};
pub use grant_type::{ClientAuthMethod, GrantType, NameError, ResponseType};
pub use http;
pub use inventory;
pub use issuance::{Issuance, ResponseMembers};
pub use params::{Params, encode_component, encode_form};
pub use registry::{GrantRegistry, Registration, RegistryError};
pub use request::Request;
pub use resource::{BearerError, ResourceAccess, ResourceGuard};
pub use response::Response;
pub use scope::Scope;
pub use secret::{Secret, TokenDigest, constant_time_eq};
pub use server::{AuthorizationServer, DuplicateAuthMethod, RegisteredGrant};
#[cfg(feature = "postgres")]
pub use storage::PostgresStore;
#[cfg(feature = "sqlite")]
pub use storage::SqliteStore;
pub use storage::{MemoryStore, Storage};
pub use token::{CredentialKind, ExpiresIn, ExpiresInFn, RandomTokenGenerator, TokenGenerator, TokenResponse};
pub use token_format::{AccessTokenClaims, AccessTokenFormat};

#[cfg(test)]
mod layering {
    /// The plugin-facing layer and the values it uses never reach for the server: a grant or
    /// hook gets narrow capabilities, and the modules form no cycle through the engine.
    #[test]
    fn the_plugin_layer_does_not_depend_on_the_server() {
        let layer = [
            ("grant.rs", include_str!("grant.rs")),
            ("decision.rs", include_str!("decision.rs")),
            ("context.rs", include_str!("context.rs")),
            ("issuance.rs", include_str!("issuance.rs")),
            ("extension.rs", include_str!("extension.rs")),
            ("authorization.rs", include_str!("authorization.rs")),
            ("config.rs", include_str!("config.rs")),
            ("token.rs", include_str!("token.rs")),
            ("storage/mod.rs", include_str!("storage/mod.rs")),
        ];
        for (file, source) in layer {
            for engine in ["crate::server", "crate::registry", "crate::endpoint", "crate::plugin"] {
                assert!(!source.contains(&format!("use {engine}")), "{file} uses {engine}");
            }
        }
    }
}
