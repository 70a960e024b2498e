//! JWT assertions (RFC 7523): the JWT bearer grant and JWT client authentication; and JWT
//! access tokens (RFC 9068), [`JwtAccessTokens`].
//!
//! Both features verify a signed JWT issued by a registered client, and share the pieces that
//! do it:
//!
//! | module | job |
//! |---|---|
//! | `claims.rs` | types the claims (read by `jsonwebtoken`) and checks `aud`, `exp`, `nbf`, `iat` against the server's clock |
//! | `keys.rs` | [`AssertionKeys`]: which keys verify an issuer's assertion ([`ClientKeys`]: the client's `jwks` or secret) |
//! | `assertion.rs` | [`AssertionVerifier`]: header and claims read once (`jsonwebtoken`'s `insecure_decode`), then keys, then the signature (`jsonwebtoken::crypto::verify`) and the claims judged again |
//! | `jti.rs` | single use of assertions, by `jti` or digest, in the server's [`ReplayStore`](grantry_core::storage::ReplayStore) |
//! | `subject.rs` | [`SubjectResolver`]: whom a bearer assertion's `sub` names ([`ClientOrUser`]) |
//! | `bearer_grant.rs` | [`JwtBearerGrant`]: `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1) |
//! | `access_token.rs` | [`JwtAccessTokens`]: access tokens as RFC 9068 JWTs, signed with a [`SigningKey`], verified with [`PublishedKey`]s by `kid` |
//! | `client_auth.rs` | [`ClientSecretJwt`] and [`PrivateKeyJwt`]: `client_assertion` authentication (RFC 7523 §2.2) |
//!
//! ```
//! use grantry_core::{AuthorizationServer, ClientAuthMethod, MemoryStore, ServerConfig};
//! use grantry_extensions::jwt::{ClientSecretJwt, JwtBearerGrant, PrivateKeyJwt};
//!
//! let mut server = AuthorizationServer::new(MemoryStore::new(), ServerConfig::new("https://auth.example.com").unwrap());
//! server.add_client_authenticator(ClientSecretJwt::new()).unwrap();
//! server.add_client_authenticator(PrivateKeyJwt::new()).unwrap();
//! server
//!     .register_grant(JwtBearerGrant::new(), ())
//!     .unwrap()
//!     .restrict_auth_methods([ClientAuthMethod::PRIVATE_KEY_JWT, ClientAuthMethod::NONE])
//!     .unwrap();
//! assert!(server.auth_methods().contains(&ClientAuthMethod::CLIENT_SECRET_JWT));
//! ```
//!
//! Keys are never taken from the assertion itself (`jwk`, `jku`, `x5u`, `x5c` headers are
//! ignored), and no error description contains key material.
//!
//! Every assertion is accepted once. A client authentication assertion (`iss` = `sub` = the
//! client, `aud` = this server) is also a valid bearer assertion for the client's own token, so
//! the grant and the authenticators record spent assertions in one place: the server's
//! [`ReplayStore`](grantry_core::storage::ReplayStore) (part of its
//! [`Storage`](grantry_core::Storage)), shared by every server on the store.

mod access_token;
mod assertion;
mod bearer_grant;
mod claims;
mod client_auth;
mod jti;
mod keys;
mod plugin;
mod subject;

pub use access_token::{
    ACCESS_TOKEN_TYP, JwtAccessTokens, KeyError, MAX_ACCESS_TOKEN_LENGTH, PublishedKey, SigningKey,
};
pub use assertion::{AssertionError, AssertionVerifier, UnverifiedAssertion};
pub use bearer_grant::JwtBearerGrant;
pub use claims::AssertionClaims;
pub use client_auth::{ClientSecretJwt, PrivateKeyJwt};
pub use jti::NO_JTI_PREFIX;
pub use keys::{AssertionKeys, ClientKeys, DEFAULT_ALGORITHMS, KeyQuery, MIN_RSA_BITS, algorithm_name};
pub use subject::{ClientOrUser, SubjectResolver};

/// The `grant_type` of the JWT bearer grant (RFC 7523 §2.1).
pub const JWT_BEARER_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The `client_assertion_type` of JWT client authentication (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The largest leeway for clock skew that can be configured, in seconds.
pub const MAX_LEEWAY: u64 = 300;

/// The default leeway for clock skew, in seconds.
pub const DEFAULT_LEEWAY: u64 = 60;

/// The default largest `exp - now` an assertion may have, in seconds.
pub const DEFAULT_MAX_LIFETIME: u64 = 3600;

/// Assertions longer than this (in bytes) are refused before they are decoded.
pub const MAX_ASSERTION_LENGTH: usize = 16 * 1024;

pub use jsonwebtoken::{Algorithm, DecodingKey};
