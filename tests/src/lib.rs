//! Cross-crate integration tests live in `tests/`.

/// The repository's README: its Rust code blocks compile and run as doctests here, where every
/// crate of the workspace is a dependency.
#[doc = include_str!("../../README.md")]
mod readme {}
