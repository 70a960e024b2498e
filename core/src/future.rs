//! The boxed future used by the object-safe async traits (grants, stores, authenticators).
//!
//! The core depends on no async runtime: every async trait method returns a [`BoxFuture`],
//! which any executor can drive.

use std::future::Future;
use std::pin::Pin;

/// A heap-allocated, `Send` future: the return type of every async trait method in grantry.
///
/// Implement such a method with `Box::pin(async move { ... })`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
