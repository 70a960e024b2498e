//! # grantry-extensions
//!
//! Extensions and plugin grants for grantry, each written only against the public traits of
//! `grantry-core`, the way a user outside the project writes one:
//!
//! | module | what | announced as |
//! |---|---|---|
//! | [`issuer`] | RFC 9207 issuer identification (`iss` in authorization responses) | server-level extension |
//! | [`pkce`] | the `CodeChallenge` extension (RFC 7636) | extension `pkce` |
//! | [`device_code`] | the device authorization grant (RFC 8628), with its own endpoint | grant `urn:ietf:params:oauth:grant-type:device_code` |
//! | [`token_exchange`] | token exchange (RFC 8693), a grant whose input is a token | grant `urn:ietf:params:oauth:grant-type:token-exchange` |
//! | `jwt` | the JWT bearer grant and JWT client authentication (RFC 7523) | grant `urn:ietf:params:oauth:grant-type:jwt-bearer`; methods `client_secret_jwt`, `private_key_jwt` |

//!
//! Cargo features: `pkce` (on by default) and `jwt` (the JWT plugins, which build
//! `jsonwebtoken` and aws-lc's C code); RFC 9207 issuer identification is always there.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod device_code;
pub mod issuer;
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub mod jwt;
#[cfg(feature = "pkce")]
#[cfg_attr(docsrs, doc(cfg(feature = "pkce")))]
pub mod pkce;
pub mod token_exchange;
