//! Secrets and digests: a redacting newtype, constant-time comparison, SHA-256 digests.

use sha2::{Digest as _, Sha256};
use std::fmt;

/// A secret string (client secret, password, token) whose `Debug` output is redacted,
/// so it cannot reach a log by accident.
///
/// ```
/// use grantry_core::Secret;
/// let s = Secret::new("hunter2");
/// assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
/// assert_eq!(s.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself: every use is a visible call.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with `presented` in time independent of where they differ and of either's
    /// length: the two SHA-256 digests are compared, so not even the secret's length leaks.
    pub fn matches(&self, presented: &str) -> bool {
        let mine: [u8; 32] = Sha256::digest(self.0.as_bytes()).into();
        let theirs: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        constant_time_eq(&mine, &theirs)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Compares two byte strings in time that depends only on their lengths, never on their
/// contents (with `subtle`). Compare digests, not secrets, where a length must not leak
/// either: [`Secret::matches`] does.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// The SHA-256 digest of a credential (code, access token, refresh token).
///
/// Stores are given only digests, so a leaked store holds no usable credential.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// Digests a credential.
    pub fn of(credential: &str) -> Self {
        TokenDigest(Sha256::digest(credential.as_bytes()).into())
    }

    /// Wraps digest bytes read back from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        TokenDigest(bytes)
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compares with another digest in constant time.
    pub fn ct_eq(&self, other: &TokenDigest) -> bool {
        constant_time_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell digests apart in a debug dump.
        write!(f, "TokenDigest({:02x}{:02x}{:02x}{:02x}…)", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_fully() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn digest_is_sha256() {
        // SHA-256("abc"), FIPS 180-2 Appendix B.1.
        let d = TokenDigest::of("abc");
        assert_eq!(d.as_bytes()[..4], [0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(d.as_bytes()[28..], [0xf2, 0x00, 0x15, 0xad]);
        assert!(format!("{d:?}").starts_with("TokenDigest(ba7816bf"));
    }
}
