//! The endpoints, as methods of [`AuthorizationServer`](crate::AuthorizationServer):
//! `authorization` (RFC 6749 §3.1) and `token` (§3.2), plus the client authentication
//! dispatch they share with later endpoints.

mod authorization;
mod client_authentication;
mod token;
