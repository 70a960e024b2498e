//! Token generation and the token response.

use crate::issuance::{Issuance, ResponseMembers};
use crate::params::Params;
use crate::scope::Scope;
use crate::secret::Secret;
use base64::Engine as _;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// What a generated credential will be used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// An access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
    /// An authorization code.
    AuthorizationCode,
    /// The code of a pending authorization (an RFC 8628 device code).
    PendingAuthorization,
}

/// Makes the credentials the server hands out. Replace it to issue structured tokens
/// (for instance JWT access tokens); the store still sees only their digests.
pub trait TokenGenerator: Send + Sync {
    /// A new, unguessable credential.
    fn generate(&self, kind: CredentialKind) -> String;
}

/// The default generator: 32 bytes (256 bits) from a cryptographically secure generator,
/// base64url-encoded without padding (43 characters).
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomTokenGenerator;

impl TokenGenerator for RandomTokenGenerator {
    fn generate(&self, _: CredentialKind) -> String {
        let mut bytes = [0u8; 32];
        // ThreadRng is a ChaCha-based CSPRNG seeded and periodically reseeded from the OS.
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}

/// A computed lifetime: a function of the grant and the request parameters.
pub type ExpiresInFn = dyn Fn(&Issuance, &Params) -> u64 + Send + Sync;

/// An access token lifetime: fixed, or computed from the request.
#[derive(Clone)]
#[non_exhaustive]
pub enum ExpiresIn {
    /// A fixed number of seconds.
    Seconds(u64),
    /// Seconds computed per request.
    Computed(Arc<ExpiresInFn>),
}

impl ExpiresIn {
    /// A computed lifetime.
    pub fn computed(f: impl Fn(&Issuance, &Params) -> u64 + Send + Sync + 'static) -> Self {
        ExpiresIn::Computed(Arc::new(f))
    }

    /// The lifetime for this grant and request.
    pub fn seconds(&self, issuance: &Issuance, params: &Params) -> u64 {
        match self {
            ExpiresIn::Seconds(s) => *s,
            ExpiresIn::Computed(f) => f(issuance, params),
        }
    }
}

impl fmt::Debug for ExpiresIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpiresIn::Seconds(s) => write!(f, "Seconds({s})"),
            ExpiresIn::Computed(_) => f.write_str("Computed(..)"),
        }
    }
}

/// A successful token response (RFC 6749 §5.1), made by the engine from what it stored. It
/// serialises to the response's JSON: the standard members, then the extensions' (which never
/// repeat a standard one: [`ResponseMembers`] refuses them).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenResponse {
    access_token: Secret,
    token_type: Cow<'static, str>,
    expires_in: Option<u64>,
    refresh_token: Option<Secret>,
    scope: Scope,
    include_scope: bool,
    issued_token_type: Option<&'static str>,
    extra: ResponseMembers,
}

impl serde::Serialize for TokenResponse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("access_token", self.access_token.expose())?;
        map.serialize_entry("token_type", &self.token_type)?;
        if let Some(expires_in) = self.expires_in {
            map.serialize_entry("expires_in", &expires_in)?;
        }
        if let Some(refresh_token) = &self.refresh_token {
            map.serialize_entry("refresh_token", refresh_token.expose())?;
        }
        if self.include_scope {
            map.serialize_entry("scope", self.scope.as_str())?;
        }
        if let Some(issued_token_type) = self.issued_token_type {
            map.serialize_entry("issued_token_type", issued_token_type)?;
        }
        for (name, value) in self.extra.iter() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl TokenResponse {
    /// A `Bearer` response; `scope` goes into it when `include_scope` (the granted scope
    /// differs from the requested one, RFC 6749 §5.1).
    pub(crate) fn bearer(
        access_token: Secret,
        expires_in: u64,
        refresh_token: Option<Secret>,
        scope: Scope,
        include_scope: bool,
        extra: ResponseMembers,
    ) -> Self {
        TokenResponse {
            access_token,
            token_type: Cow::Borrowed("Bearer"),
            expires_in: Some(expires_in),
            refresh_token,
            scope,
            include_scope,
            issued_token_type: None,
            extra,
        }
    }

    /// Names the type of the issued token (RFC 8693 §2.2.1 `issued_token_type`).
    pub(crate) fn with_issued_token_type(mut self, token_type: Option<&'static str>) -> Self {
        self.issued_token_type = token_type;
        self
    }

    /// The type of the issued token, for a token exchange (RFC 8693 §2.2.1).
    pub fn issued_token_type(&self) -> Option<&str> {
        self.issued_token_type
    }

    /// The access token.
    pub fn access_token(&self) -> &Secret {
        &self.access_token
    }

    /// The token type: `Bearer`.
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// The access token's lifetime in seconds, as stored.
    pub fn expires_in(&self) -> Option<u64> {
        self.expires_in
    }

    /// The refresh token, if one was issued (and stored).
    pub fn refresh_token(&self) -> Option<&Secret> {
        self.refresh_token.as_ref()
    }

    /// The granted scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The members extensions added.
    pub fn extra(&self) -> &ResponseMembers {
        &self.extra
    }

    /// The response as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The response as JSON bytes.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        crate::response::json_body(self)
    }

    /// The response as string pairs, for a redirect fragment (implicit grant).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let serde_json::Value::Object(map) = self.to_json() else {
            return Vec::new();
        };
        map.into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_have_256_bits() {
        let g = RandomTokenGenerator;
        let a = g.generate(CredentialKind::AccessToken);
        let b = g.generate(CredentialKind::AccessToken);
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&a).unwrap();
        assert_eq!(decoded.len(), 32);
    }

    #[test]
    fn extra_members_never_replace_standard_ones() {
        let mut extra = ResponseMembers::default();
        assert!(extra.insert("access_token", "forged").is_err());
        assert!(extra.insert("expires_in", 1).is_err());
        extra.insert("key_owner", "alice").unwrap();
        let resp = TokenResponse::bearer(Secret::new("real"), 60, None, Scope::empty(), false, extra);
        let json: serde_json::Value = serde_json::from_slice(&resp.to_json_bytes()).unwrap();
        assert_eq!(json, resp.to_json());
        assert_eq!(json["access_token"], "real");
        assert_eq!(json["expires_in"], 60);
        assert_eq!(json["key_owner"], "alice");
        assert!(json.get("scope").is_none());
    }
}
