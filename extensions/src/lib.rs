//! # grantry-extensions
//!
//! Extensions and plugin grants for grantry, each written only against the public traits of
//! `grantry-core`, the way a user outside the project writes one:
//!
//! | module | what | announced as |
//! |---|---|---|
//! | [`issuer`] | RFC 9207 issuer identification (`iss` in authorization responses) | server-level extension |
//! | [`pkce`] | the `CodeChallenge` extension (RFC 7636) | extension `pkce` |
//! | `jwt` | the JWT bearer grant and JWT client authentication (RFC 7523) | grant `urn:ietf:params:oauth:grant-type:jwt-bearer`; methods `client_secret_jwt`, `private_key_jwt` |

pub mod issuer;
pub mod jwt;
pub mod pkce;
