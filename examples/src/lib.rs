//! # grantry-examples
//!
//! Runnable grantry programs:
//!
//! | binary | what |
//! |---|---|
//! | `grantry-server` | the example authorization server over HTTP ([`server`]): `cargo run --release -p grantry-examples --bin grantry-server` |
//! | `quickstart` | a full authorization-code flow, in process, printed step by step |
//! | `custom_grant` | a new URN grant type written in one file |
//!
//! The server is library code, so tests can start it in-process: see [`server::start`].

pub mod server;
