//! Scopes: space-delimited, case-sensitive sets of scope tokens (RFC 6749 §3.3).

use crate::error::OAuthError;
use std::fmt;
use std::sync::Arc;

/// A set of scope tokens, kept sorted and without repetition.
///
/// ```
/// use grantry_core::Scope;
/// let allowed = Scope::parse("read write admin").unwrap();
/// let asked = Scope::parse("write read").unwrap();
/// assert!(asked.is_subset_of(&allowed));
/// assert_eq!(asked.to_string(), "read write");
/// assert!(Scope::parse("read \"x\"").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The tokens sorted, without repetition, joined by single spaces; `None` when empty.
    /// Shared, so the clones a request makes (client scope → grant → records) cost no copy.
    joined: Option<Arc<str>>,
}

impl Scope {
    /// The empty scope.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses a `scope` value. Each token must be of `%x21 / %x23-5B / %x5D-7E`; repeated
    /// spaces between tokens are tolerated. A malformed value is `invalid_scope`.
    pub fn parse(value: &str) -> Result<Scope, OAuthError> {
        let tokens = value.split(' ').filter(|t| !t.is_empty());
        if !tokens.clone().all(|token| valid_token(token.as_bytes())) {
            return Err(OAuthError::invalid_scope("scope contains a character RFC 6749 does not allow"));
        }
        // A value written as the scope keeps it (tokens sorted, each once, one space between),
        // as a client asking for one token or its usual set writes it, is kept as it is.
        let written = value.split(' ');
        let sorted = written.clone().zip(written.clone().skip(1)).all(|(a, b)| a < b);
        if sorted && written.clone().all(|t| !t.is_empty()) {
            return Ok(Scope { joined: Some(Arc::from(value)) });
        }
        Ok(Self::from_tokens(tokens.collect()))
    }

    /// Resolves a request's `scope` parameter against what the client may be granted:
    /// an omitted scope means everything allowed; a requested scope must be a subset of it
    /// (`invalid_scope` otherwise). Returns the granted scope and the requested one, if any.
    ///
    /// ```
    /// use grantry_core::Scope;
    /// let allowed = Scope::parse("read write").unwrap();
    /// let (granted, requested) = Scope::resolve(None, &allowed).unwrap();
    /// assert_eq!((granted.to_string(), requested), ("read write".to_string(), None));
    /// assert!(Scope::resolve(Some("admin"), &allowed).is_err());
    /// ```
    pub fn resolve(requested: Option<&str>, allowed: &Scope) -> Result<(Scope, Option<Scope>), OAuthError> {
        let Some(raw) = requested else { return Ok((allowed.clone(), None)) };
        // Asking for exactly the allowed scope, as written, is common: share it.
        let scope = if raw == allowed.as_str() { allowed.clone() } else { Scope::parse(raw)? };
        if !scope.is_subset_of(allowed) {
            return Err(OAuthError::invalid_scope("the requested scope exceeds what the client may be granted"));
        }
        Ok((scope.clone(), Some(scope)))
    }

    /// A scope from tokens already known to be valid.
    fn from_tokens(mut tokens: Vec<&str>) -> Self {
        tokens.sort_unstable();
        tokens.dedup();
        if tokens.is_empty() {
            return Scope::empty();
        }
        Scope { joined: Some(Arc::from(tokens.join(" "))) }
    }

    /// Whether there is no token.
    pub fn is_empty(&self) -> bool {
        self.joined.is_none()
    }

    /// Whether `token` is in the scope.
    pub fn contains(&self, token: &str) -> bool {
        self.iter().any(|t| t == token)
    }

    /// Whether every token of `self` is in `other`.
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        // Both lists are sorted: one walk along `other` finds every token of `self` or passes it.
        let mut theirs = other.iter();
        self == other || self.iter().all(|mine| theirs.any(|t| t == mine))
    }

    /// The tokens in both scopes.
    pub fn intersection(&self, other: &Scope) -> Scope {
        Self::from_tokens(self.iter().filter(|t| other.contains(t)).collect())
    }

    /// The tokens, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        // Tokens hold no whitespace, and the split on bytes is cheaper than one on a char.
        self.joined.as_deref().into_iter().flat_map(str::split_ascii_whitespace)
    }

    /// The scope as its space-delimited value (tokens sorted).
    pub fn as_str(&self) -> &str {
        self.joined.as_deref().unwrap_or_default()
    }
}

/// Whether `token` is a scope token: `%x21 / %x23-5B / %x5D-7E` (RFC 6749 §3.3).
fn valid_token(token: &[u8]) -> bool {
    token.iter().all(|c| matches!(c, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Scope::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_sorts_and_dedups() {
        let s = Scope::parse("write  read write").unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), ["read", "write"]);
        assert!(Scope::parse("").unwrap().is_empty());
    }

    #[test]
    fn canonical_and_other_spellings_are_one_scope() {
        let canonical = Scope::parse("read write").unwrap();
        for other in ["write read", " read write", "read  write", "read write ", "read write read"] {
            assert_eq!(Scope::parse(other).unwrap(), canonical, "{other:?}");
        }
        assert_eq!(Scope::parse("a").unwrap().as_str(), "a");
        assert!(Scope::parse("b a\"\"").is_err());
        assert!(Scope::parse("a b\"").is_err());
    }

    #[test]
    fn resolve_shares_an_exact_request_and_still_checks_others() {
        let allowed = Scope::parse("read write").unwrap();
        let (granted, requested) = Scope::resolve(Some("read write"), &allowed).unwrap();
        assert_eq!((granted, requested), (allowed.clone(), Some(allowed.clone())));
        let (granted, _) = Scope::resolve(Some("write"), &allowed).unwrap();
        assert_eq!(granted.as_str(), "write");
        assert!(Scope::resolve(Some("read write admin"), &allowed).is_err());
        assert!(Scope::resolve(Some("admin"), &Scope::empty()).is_err());
    }

    #[test]
    fn subset_and_intersection() {
        let all = Scope::parse("a b c").unwrap();
        let ab = Scope::parse("b a").unwrap();
        let ad = Scope::parse("a d").unwrap();
        assert!(ab.is_subset_of(&all));
        assert!(!ad.is_subset_of(&all));
        let cases =
            [("", "a", true), ("a", "", false), ("c", "a b c", true), ("a c", "a b c", true), ("b d", "a b c", false)];
        for (small, big, subset) in cases {
            let (small, big) = (Scope::parse(small).unwrap(), Scope::parse(big).unwrap());
            assert_eq!(small.is_subset_of(&big), subset, "{small} within {big}");
        }
        assert!(!Scope::parse("aa").unwrap().is_subset_of(&Scope::parse("a ab b").unwrap()));
        assert_eq!(ad.intersection(&all).to_string(), "a");
    }

    #[test]
    fn rejects_forbidden_characters() {
        for bad in ["a\\b", "a\"b", "a\tb", "caf\u{e9}"] {
            assert_eq!(Scope::parse(bad).unwrap_err().code(), &crate::ErrorCode::InvalidScope, "{bad:?}");
        }
    }
}
