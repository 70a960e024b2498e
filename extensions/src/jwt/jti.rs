//! Single use of assertions: how an assertion is spent in the server's
//! [`ReplayStore`](grantry_core::storage::ReplayStore).
//!
//! Every verified assertion, whether it authenticates a client or is exchanged at the bearer
//! grant, is recorded once under its issuer and a key until it expires:
//!
//! - with a `jti`, the key is the `jti` (RFC 7523 §3 item 7);
//! - without one (a bearer grant assertion may omit it), the key is
//!   [`NO_JTI_PREFIX`] followed by the base64url SHA-256 of the assertion's signed part
//!   (`header.payload`). The signature is left out on purpose: an ECDSA signature `(r, s)` has
//!   a twin `(r, n - s)` that verifies too, so a digest over it would let anyone who saw an
//!   assertion mint a "new" one with the same claims.
//!
//! The bearer grant and the JWT client authenticators record in the server's store, one
//! purpose for both, so an assertion spent at either is refused at the other, on every server
//! that shares the store and across restarts of a persistent one.

use super::MAX_LEEWAY;
use super::assertion::AssertionError;
use super::claims::AssertionClaims;
use grantry_core::Timestamp;
use grantry_core::storage::{FirstUse, ReplayKey, ReplayStore, StorageError};

/// How the key of an assertion without `jti` begins: `#sha256:` then the base64url SHA-256 of
/// the signed part. Only the issuer can sign an assertion with its `iss`, so only the issuer
/// could pick a `jti` equal to such a key, and spend its own assertion early.
pub const NO_JTI_PREFIX: &str = "#sha256:";

/// The purpose of assertion keys in the [`ReplayStore`]: one for client assertions and bearer
/// grant assertions alike.
const PURPOSE: &str = "jwt-assertion";

/// Spends a verified assertion in `store`: records it under its issuer and its `jti`, or
/// without one its digest, until `exp` plus [`MAX_LEEWAY`]. A second use within that time is
/// [`AssertionError::Replayed`].
///
/// The largest leeway any verifier may have, not the spending verifier's own: verifiers that
/// share the store may forgive different clock skews, and the assertion must stay spent for as
/// long as any of them could still accept it.
pub(crate) async fn spend(
    store: &dyn ReplayStore,
    claims: &AssertionClaims,
    now: Timestamp,
) -> Result<(), AssertionError> {
    let until = claims.expires_at().saturating_add(MAX_LEEWAY);
    let key = ReplayKey::new(PURPOSE, &[claims.issuer(), claims.replay_key()]);
    match store.record_use(key, until, now).await {
        Ok(FirstUse::First) => Ok(()),
        Ok(FirstUse::AlreadyUsed) => Err(AssertionError::Replayed),
        // Unrecorded, the assertion could be used again: refused, as the store is full.
        Ok(_) => Err(AssertionError::Storage(StorageError::new("the single-use records are full"))),
        Err(err) => Err(AssertionError::Storage(err)),
    }
}
