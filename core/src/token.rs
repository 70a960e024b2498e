//! Token generation and the token response.

use crate::grant::AccessGrant;
use crate::params::Params;
use crate::scope::Scope;
use crate::secret::Secret;
use base64::Engine as _;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// What a generated credential will be used as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// An access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
    /// An authorization code.
    AuthorizationCode,
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
pub type ExpiresInFn = dyn Fn(&AccessGrant, &Params) -> u64 + Send + Sync;

/// An access token lifetime: fixed, or computed from the request.
#[derive(Clone)]
pub enum ExpiresIn {
    /// A fixed number of seconds.
    Seconds(u64),
    /// Seconds computed per request.
    Computed(Arc<ExpiresInFn>),
}

impl ExpiresIn {
    /// A computed lifetime.
    pub fn computed(f: impl Fn(&AccessGrant, &Params) -> u64 + Send + Sync + 'static) -> Self {
        ExpiresIn::Computed(Arc::new(f))
    }

    /// The lifetime for this grant and request.
    pub fn seconds(&self, grant: &AccessGrant, params: &Params) -> u64 {
        match self {
            ExpiresIn::Seconds(s) => *s,
            ExpiresIn::Computed(f) => f(grant, params),
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

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: Secret,
    /// `Bearer`, unless an extension issues another type.
    pub token_type: Cow<'static, str>,
    /// Lifetime in seconds.
    pub expires_in: Option<u64>,
    /// The refresh token, if one is issued.
    pub refresh_token: Option<Secret>,
    /// The granted scope: always in the response when it differs from the requested one.
    pub scope: Scope,
    /// Whether `scope` goes into the response.
    pub include_scope: bool,
    /// Further fields added by extensions. They cannot replace the standard fields.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

const STANDARD_FIELDS: [&str; 5] = ["access_token", "token_type", "expires_in", "refresh_token", "scope"];

impl TokenResponse {
    /// The response as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("access_token".into(), self.access_token.expose().into());
        map.insert("token_type".into(), self.token_type.as_ref().into());
        if let Some(exp) = self.expires_in {
            map.insert("expires_in".into(), exp.into());
        }
        if let Some(rt) = &self.refresh_token {
            map.insert("refresh_token".into(), rt.expose().into());
        }
        if self.include_scope {
            map.insert("scope".into(), self.scope.to_string().into());
        }
        for (k, v) in &self.extra {
            if !STANDARD_FIELDS.contains(&k.as_str()) {
                map.insert(k.clone(), v.clone());
            }
        }
        serde_json::Value::Object(map)
    }

    /// The response as JSON bytes, written directly: the token endpoint's hot path, with the
    /// same content as [`to_json`](Self::to_json).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        // Room for the standard members as they come without escapes, so the string is
        // allocated once: the names and punctuation, the quoted values, 20 digits at most.
        let quoted = |value: &str| value.len() + 2;
        let capacity = 16
            + quoted(self.access_token.expose())
            + 14
            + quoted(&self.token_type)
            + self.expires_in.map_or(0, |_| 14 + 20)
            + self.refresh_token.as_ref().map_or(0, |rt| 17 + quoted(rt.expose()))
            + if self.include_scope { 9 + quoted(self.scope.as_str()) } else { 0 }
            + 1;
        let mut out = String::with_capacity(capacity);
        out.push_str("{\"access_token\":");
        crate::json::push_string(&mut out, self.access_token.expose());
        out.push_str(",\"token_type\":");
        crate::json::push_string(&mut out, &self.token_type);
        if let Some(exp) = self.expires_in {
            out.push_str(",\"expires_in\":");
            crate::json::push_u64(&mut out, exp);
        }
        if let Some(rt) = &self.refresh_token {
            out.push_str(",\"refresh_token\":");
            crate::json::push_string(&mut out, rt.expose());
        }
        if self.include_scope {
            out.push_str(",\"scope\":");
            crate::json::push_string(&mut out, self.scope.as_str());
        }
        for (k, v) in &self.extra {
            if !STANDARD_FIELDS.contains(&k.as_str()) {
                out.push(',');
                crate::json::push_string(&mut out, k);
                out.push(':');
                out.push_str(&v.to_string());
            }
        }
        out.push('}');
        out.into_bytes()
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
    fn extra_fields_cannot_replace_standard_ones() {
        let mut extra = serde_json::Map::new();
        extra.insert("access_token".into(), "forged".into());
        extra.insert("id_token".into(), "x".into());
        let resp = TokenResponse {
            access_token: Secret::new("real"),
            token_type: "Bearer".into(),
            expires_in: Some(60),
            refresh_token: None,
            scope: Scope::empty(),
            include_scope: false,
            extra,
        };
        let json = resp.to_json();
        let fast: serde_json::Value = serde_json::from_slice(&resp.to_json_bytes()).unwrap();
        assert_eq!(fast, json, "both serialisations agree");
        assert_eq!(json["access_token"], "real");
        assert_eq!(json["id_token"], "x");
        assert!(json.get("scope").is_none());
    }

    #[test]
    fn the_json_body_is_written_into_one_allocation() {
        let g = RandomTokenGenerator;
        let resp = TokenResponse {
            access_token: Secret::new(g.generate(CredentialKind::AccessToken)),
            token_type: "Bearer".into(),
            expires_in: Some(u64::MAX),
            refresh_token: Some(Secret::new(g.generate(CredentialKind::RefreshToken))),
            scope: Scope::parse("read write").unwrap(),
            include_scope: true,
            extra: serde_json::Map::new(),
        };
        let bytes = resp.to_json_bytes();
        let fast: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(fast, resp.to_json());
        // Exactly the computed room, not a grown buffer: u64::MAX has the 20 digits allowed for.
        assert_eq!(bytes.capacity(), bytes.len());
    }
}
