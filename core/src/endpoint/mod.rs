//! The endpoints, as methods of [`AuthorizationServer`](crate::AuthorizationServer):
//! `authorization` (RFC 6749 §3.1), `token` (§3.2), `revocation` (RFC 7009),
//! `introspection` (RFC 7662) and `metadata` (RFC 8414), the endpoints grants bring
//! (`grant_endpoint`) and what a verification page asks (`verification`, RFC 8628 §3.3), plus the client authentication
//! dispatch they share with later endpoints.

mod authorization;
mod client_authentication;
mod grant_endpoint;
mod introspection;
mod issue;
mod metadata;
mod revocation;
mod token;
mod verification;

pub use verification::PendingView;
