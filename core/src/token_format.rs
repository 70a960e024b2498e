//! Access token formats: what an access token looks like on the wire. By default it is opaque
//! (a random string the store knows by its digest); a self-contained format, such as RFC 9068
//! JWT access tokens, encodes the grant's claims and signs them. Either way the engine stores
//! the token's digest, so introspection, revocation and the resource guard find it the same
//! way, and a revoked token stops working at once whatever its format.

use crate::clock::Timestamp;
use crate::error::OAuthError;
use crate::scope::Scope;

/// What an access token asserts, for a format to encode (the claims of RFC 9068 §2.2). The
/// engine fills it from what it issues; a format cannot change what was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessTokenClaims<'a> {
    /// `iss`: the server's issuer identifier.
    pub issuer: &'a str,
    /// `sub`: the resource owner, or the client for the client's own tokens.
    pub subject: &'a str,
    /// `client_id`: the client the token was issued to.
    pub client_id: &'a str,
    /// `scope`: the granted scope.
    pub scope: &'a Scope,
    /// `iat`: when it was issued.
    pub issued_at: Timestamp,
    /// `exp`: when it expires.
    pub expires_at: Timestamp,
    /// `jti`: a unique, unguessable identifier of this token.
    pub jwt_id: &'a str,
    /// `aud`: the audience the client asked for (RFC 8693 `audience`, RFC 8707 `resource`), if
    /// the grant accepted one; otherwise the format's default.
    pub audience: Option<&'a str>,
    /// `act.sub`: who acts for the subject (RFC 8693 §4.1), for delegated tokens.
    pub actor: Option<&'a str>,
}

impl<'a> AccessTokenClaims<'a> {
    /// Claims with no `aud` and no `act`: the engine builds its own; this is for a format's
    /// tests and benchmarks, and for formats that issue tokens outside the token endpoint.
    pub fn new(
        issuer: &'a str,
        subject: &'a str,
        client_id: &'a str,
        scope: &'a Scope,
        issued_at: Timestamp,
        expires_at: Timestamp,
        jwt_id: &'a str,
    ) -> Self {
        AccessTokenClaims {
            issuer,
            subject,
            client_id,
            scope,
            issued_at,
            expires_at,
            jwt_id,
            audience: None,
            actor: None,
        }
    }

    /// Sets `aud`.
    pub fn with_audience(mut self, audience: &'a str) -> Self {
        self.audience = Some(audience);
        self
    }

    /// Sets `act.sub`.
    pub fn with_actor(mut self, actor: &'a str) -> Self {
        self.actor = Some(actor);
        self
    }
}

/// An access token format (RFC 9068 JWTs, say), set with
/// [`ServerConfig::with_access_token_format`](crate::ServerConfig::with_access_token_format).
pub trait AccessTokenFormat: Send + Sync + 'static {
    /// A short name (`"jwt"`), for listings.
    fn name(&self) -> &str;

    /// A new access token asserting `claims`. An error fails the request with nothing stored.
    fn issue(&self, claims: &AccessTokenClaims<'_>) -> Result<String, OAuthError>;

    /// Checks a presented token on its own, before the store is asked whether it is still
    /// active (RFC 9068 §4: signature, `typ`, `iss`, `aud`, `exp`): a forged or foreign token is
    /// refused without a lookup. Answers why not, in words fit for an `error_description`.
    fn verify(&self, token: &str, now: Timestamp) -> Result<(), &'static str>;

    /// Members for the metadata document (RFC 8414), such as `jwks_uri`.
    fn metadata(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
}
