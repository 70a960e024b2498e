//! [`JwtAccessTokens`]: access tokens as JWTs (RFC 9068), an
//! [`AccessTokenFormat`](grantry_core::AccessTokenFormat) set with
//! [`ServerConfig::with_access_token_format`](grantry_core::ServerConfig::with_access_token_format).
//!
//! The engine still stores the digest of every token it issues, so introspection and
//! revocation work on JWT access tokens as on opaque ones, and a revoked JWT stops working at
//! once. What the format adds is that a token can be checked on its own first (signature,
//! `typ`, `iss`, `aud`, `exp`): a forged, foreign or expired token is refused without a store
//! lookup.
//!
//! Keys: [`SigningKey`] (RS256, ES256 or EdDSA, from a private JWK or a PEM file) signs;
//! [`PublishedKey`]s are the public keys a resource verifies with (RFC 7517 JWK Set, served as
//! `jwks_uri`). Rotation: publish the next key before signing with it, and keep publishing a
//! retired one until the tokens it signed have expired.

use super::keys::{MIN_RSA_BITS, algorithm_name, modulus_bits};
use super::{DEFAULT_LEEWAY, MAX_LEEWAY};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantry_core::{AccessTokenClaims, AccessTokenFormat, OAuthError, Timestamp};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::fmt;

/// The `typ` header of a JWT access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Tokens longer than this (in bytes) are refused before anything of them is decoded.
pub const MAX_ACCESS_TOKEN_LENGTH: usize = 8 * 1024;

/// Why a key cannot be used. The message names what is wrong and never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A required member is absent, or not a string of the right form (base64url for key
    /// parameters).
    #[error("the key's {0} member is missing or malformed")]
    Member(&'static str),
    /// The key is of a kind this format does not sign with.
    #[error("unsupported key: {0}")]
    Unsupported(&'static str),
    /// The key's parts do not make a valid key (inconsistent, too short, not a private key).
    #[error("the key is not valid: {0}")]
    Invalid(&'static str),
    /// Two keys of one set have the same `kid`.
    #[error("two keys have the same kid")]
    DuplicateKid,
}

/// A public key that verifies access tokens: its `kid`, its algorithm, and its public JWK
/// (RFC 7517), which holds no private member whatever it was read from.
#[derive(Clone)]
pub struct PublishedKey {
    kid: String,
    alg: Algorithm,
    decoding: DecodingKey,
    jwk: Value,
}

impl fmt::Debug for PublishedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishedKey").field("kid", &self.kid).field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl PublishedKey {
    /// A key from a JWK with a `kid`: RSA (RS256, at least [`MIN_RSA_BITS`] bits), EC P-256
    /// (ES256) or OKP Ed25519 (EdDSA). Only its public members are read and published: a
    /// private JWK may be given, for a retired signing key.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let members = jwk.as_object().ok_or(KeyError::Member("JWK object"))?;
        let kid = kid_of(members)?;
        let alg = algorithm_of(members)?;
        let parsed = Jwk::deserialize(public_members(members, alg)).map_err(|_| KeyError::Member("public key"))?;
        let decoding = DecodingKey::from_jwk(&parsed).map_err(|_| KeyError::Invalid("unreadable public key"))?;
        let bits_ok = match &parsed.algorithm {
            AlgorithmParameters::RSA(rsa) => modulus_bits(&rsa.n).is_some_and(|bits| bits >= MIN_RSA_BITS),
            AlgorithmParameters::EllipticCurve(ec) => ec.curve == EllipticCurve::P256,
            AlgorithmParameters::OctetKeyPair(okp) => okp.curve == EllipticCurve::Ed25519,
            AlgorithmParameters::OctetKey(_) => false,
        };
        if !bits_ok {
            return Err(KeyError::Invalid("an RSA key needs at least 2048 bits"));
        }
        Ok(PublishedKey { jwk: published_jwk(&kid, alg, public_members(members, alg)), kid, alg, decoding })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm tokens verified with this key must name.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The public JWK, as published.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }
}

/// The private key that signs access tokens, with its [`PublishedKey`].
///
/// Read from a private JWK (RFC 7517/7518 §6: RSA with `n`, `e`, `d`, `p`, `q`, `dp`, `dq`,
/// `qi`; EC P-256 with `x`, `y`, `d`; OKP Ed25519 with `x`, `d`) or from a PEM file (RSA
/// PKCS#1 or PKCS#8, EC P-256 PKCS#8, Ed25519 PKCS#8) given a `kid`. Either way the key is
/// checked whole (its parts agree, a signature it makes verifies with its public half) before
/// it is accepted. Its `Debug` shows the `kid` and algorithm only.
#[derive(Clone)]
pub struct SigningKey {
    encoding: EncodingKey,
    public: PublishedKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.kid)
            .field("alg", &self.public.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A signing key from a private JWK with a `kid`.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let members = jwk.as_object().ok_or(KeyError::Member("JWK object"))?;
        kid_of(members)?;
        let alg = algorithm_of(members)?;
        let bytes = |name: &'static str| -> Result<Vec<u8>, KeyError> {
            let text = members.get(name).and_then(Value::as_str).ok_or(KeyError::Member(name))?;
            URL_SAFE_NO_PAD.decode(text).map_err(|_| KeyError::Member(name))
        };
        let encoding = match alg {
            Algorithm::RS256 => {
                let parts = ["n", "e", "d", "p", "q", "dp", "dq", "qi"].map(bytes);
                let mut ints = Vec::with_capacity(parts.len() + 1);
                ints.push(vec![0u8]); // version 0: two primes
                for part in parts {
                    ints.push(part?);
                }
                // RFC 8017 A.1.2 RSAPrivateKey, the form jsonwebtoken signs with.
                let der = der_sequence(&ints);
                RsaKeyPair::from_der(&der).map_err(|_| KeyError::Invalid("the RSA parameters do not agree"))?;
                EncodingKey::from_rsa_der(&der)
            }
            Algorithm::ES256 => {
                let (x, y, d) = (bytes("x")?, bytes("y")?, bytes("d")?);
                let point = [&[4u8][..], &x, &y].concat();
                let pair = EcdsaKeyPair::from_private_key_and_public_key(&ECDSA_P256_SHA256_FIXED_SIGNING, &d, &point)
                    .map_err(|_| KeyError::Invalid("d does not match x and y"))?;
                let pkcs8 = pair.to_pkcs8v1().map_err(|_| KeyError::Invalid("the EC key cannot be encoded"))?;
                EncodingKey::from_ec_der(pkcs8.as_ref())
            }
            _ => {
                let (x, d) = (bytes("x")?, bytes("d")?);
                let pair = Ed25519KeyPair::from_seed_and_public_key(&d, &x)
                    .map_err(|_| KeyError::Invalid("d does not match x"))?;
                let pkcs8 = pair.to_pkcs8().map_err(|_| KeyError::Invalid("the Ed25519 key cannot be encoded"))?;
                EncodingKey::from_ed_der(pkcs8.as_ref())
            }
        };
        Self::checked(encoding, PublishedKey::from_jwk(jwk)?)
    }

    /// A signing key from a PEM file's text (a private key: RSA PKCS#1 `RSA PRIVATE KEY` or
    /// PKCS#8 `PRIVATE KEY` of RSA, EC P-256 or Ed25519), published under `kid`.
    pub fn from_pem(pem: &[u8], kid: impl Into<String>) -> Result<Self, KeyError> {
        let kid = kid.into();
        if kid.is_empty() {
            return Err(KeyError::Member("kid"));
        }
        let b64 = |bytes: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(bytes));
        let (encoding, public) = if let Ok(key) = EncodingKey::from_rsa_pem(pem) {
            let pair = RsaKeyPair::from_der(key.inner()).map_err(|_| KeyError::Invalid("unreadable RSA key"))?;
            let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
            (key, json!({"kty": "RSA", "n": b64(&public.n), "e": b64(&public.e)}))
        } else if let Ok(key) = EncodingKey::from_ec_pem(pem) {
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, key.inner())
                .map_err(|_| KeyError::Unsupported("an EC key must be on curve P-256"))?;
            let point = pair.public_key().as_ref();
            let (x, y) = point.get(1..).ok_or(KeyError::Invalid("unreadable EC key"))?.split_at(32);
            (key, json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)}))
        } else if let Ok(key) = EncodingKey::from_ed_pem(pem) {
            let pair =
                Ed25519KeyPair::from_pkcs8(key.inner()).map_err(|_| KeyError::Invalid("unreadable Ed25519 key"))?;
            (key, json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())}))
        } else {
            return Err(KeyError::Unsupported(
                "not a PEM private key: RSA (PKCS#1 or PKCS#8), EC P-256 or Ed25519 (PKCS#8)",
            ));
        };
        let mut public = public;
        if let Some(members) = public.as_object_mut() {
            members.insert("kid".into(), kid.into());
        }
        Self::checked(encoding, PublishedKey::from_jwk(&public)?)
    }

    /// Accepts `encoding` as the private half of `public` once a signature it makes verifies.
    fn checked(encoding: EncodingKey, public: PublishedKey) -> Result<Self, KeyError> {
        const PROBE: &[u8] = b"grantry signing key check";
        let signature = jsonwebtoken::crypto::sign(PROBE, &encoding, public.alg)
            .map_err(|_| KeyError::Invalid("it cannot sign"))?;
        match jsonwebtoken::crypto::verify(&signature, PROBE, &public.decoding, public.alg) {
            Ok(true) => Ok(SigningKey { encoding, public }),
            _ => Err(KeyError::Invalid("the private and public parts do not match")),
        }
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// The algorithm it signs with (RS256, ES256 or EdDSA).
    pub fn algorithm(&self) -> Algorithm {
        self.public.alg
    }

    /// Its public half.
    pub fn public_key(&self) -> &PublishedKey {
        &self.public
    }
}

/// RFC 9068 JWT access tokens, signed with one [`SigningKey`] and verified with any key of a
/// published set (the signing key's public half first, then keys added with
/// [`with_published_key`](Self::with_published_key)), chosen by `kid`.
///
/// Issued tokens (RFC 9068 §2): header `typ: at+jwt` (§2.1), `alg`, `kid`; claims (§2.2) `iss`,
/// `exp`, `aud` (the audience of the grant, else the default audience: the issuer unless
/// [`with_audience`](Self::with_audience) says otherwise), `sub`, `client_id`, `iat`, `jti`,
/// `scope` (space-separated, §2.2.3, left out when empty) and `act: {"sub": …}` for a
/// delegated token (RFC 8693 §4.1).
///
/// [`verify`](AccessTokenFormat::verify) does what RFC 9068 §4 asks of a resource server,
/// refusing before any decoding a token over [`MAX_ACCESS_TOKEN_LENGTH`]: `typ` is `at+jwt` or
/// `application/at+jwt`; `alg` is not `none` and is exactly the algorithm of the key `kid`
/// names (a key is never taken from the token); the signature verifies; `iss` is the issuer;
/// `aud` contains an accepted audience (by default the default audience); `exp` is after the
/// `now` the server's clock gives (within the leeway, [`DEFAULT_LEEWAY`](super::DEFAULT_LEEWAY)
/// seconds by default); `sub`, `client_id`, `iat` and `jti` are present.
///
/// ```
/// use grantry_core::{AccessTokenClaims, AccessTokenFormat, Scope};
/// use grantry_extensions::jwt::{JwtAccessTokens, SigningKey};
///
/// let key = SigningKey::from_jwk(&serde_json::json!({
///     "kty": "OKP", "crv": "Ed25519", "kid": "2026-12",
///     "x": "uN9M01HGune-wojvdpAt9khoQJsrCgZFVrJDeIAdtYs",
///     "d": "MJ8Y46zo28U6iCkhphn6u_SmaMOgnt7hwVy0zGy3Ejs",
/// })).unwrap();
/// let format = JwtAccessTokens::new("https://auth.example", key).with_jwks_uri("https://auth.example/jwks.json");
/// let scope = Scope::parse("read").unwrap();
/// let claims = AccessTokenClaims::new("https://auth.example", "alice", "web", &scope, 1_000, 4_600, "id-1");
/// let token = format.issue(&claims).unwrap();
/// assert_eq!(format.verify(&token, 2_000), Ok(()));
/// assert_eq!(format.verify(&token, 4_600 + 60), Err("the access token has expired"));
/// assert_eq!(format.jwks()["keys"][0]["kid"], "2026-12");
/// assert_eq!(format.metadata()["jwks_uri"], "https://auth.example/jwks.json");
/// ```
#[derive(Clone)]
pub struct JwtAccessTokens {
    issuer: String,
    signing: SigningKey,
    /// The header segment of every token (base64url of its JSON), made once.
    header: String,
    keys: Vec<PublishedKey>,
    audience: String,
    accepted: Vec<String>,
    jwks_uri: Option<String>,
    leeway: u64,
}

impl fmt::Debug for JwtAccessTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAccessTokens")
            .field("issuer", &self.issuer)
            .field("signing", &self.signing)
            .field("keys", &self.keys)
            .field("audience", &self.audience)
            .field("accepted", &self.accepted)
            .field("jwks_uri", &self.jwks_uri)
            .field("leeway", &self.leeway)
            .finish()
    }
}

/// The claims of an issued token, in the order of RFC 9068 §2.2.
#[derive(Serialize)]
struct IssuedClaims<'a> {
    iss: &'a str,
    exp: Timestamp,
    aud: &'a str,
    sub: &'a str,
    client_id: &'a str,
    iat: Timestamp,
    jti: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<Actor<'a>>,
}

/// `act` (RFC 8693 §4.1).
#[derive(Serialize)]
struct Actor<'a> {
    sub: &'a str,
}

/// The header members a verifier reads.
#[derive(Deserialize)]
struct ReadHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
    crit: Option<serde::de::IgnoredAny>,
}

/// The claims a verifier reads: those RFC 9068 §2.2 requires.
#[derive(Deserialize)]
struct ReadClaims {
    iss: String,
    aud: Audience,
    exp: Timestamp,
    #[serde(rename = "sub")]
    _sub: String,
    #[serde(rename = "client_id")]
    _client_id: String,
    #[serde(rename = "iat")]
    _iat: Timestamp,
    #[serde(rename = "jti")]
    _jti: String,
}

/// `aud`: one string or several (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl JwtAccessTokens {
    /// Tokens of `issuer` (the server's issuer identifier), signed with `key`, whose public half
    /// is published; the default audience is the issuer.
    pub fn new(issuer: impl Into<String>, key: SigningKey) -> Self {
        let issuer = issuer.into();
        let public = key.public.clone();
        let header = json!({"alg": algorithm_name(public.alg), "typ": ACCESS_TOKEN_TYP, "kid": public.kid}).to_string();
        JwtAccessTokens {
            audience: issuer.clone(),
            accepted: vec![issuer.clone()],
            issuer,
            header: URL_SAFE_NO_PAD.encode(header),
            signing: key,
            keys: vec![public],
            jwks_uri: None,
            leeway: DEFAULT_LEEWAY,
        }
    }

    /// Also publishes, and verifies with, `key`: the next key before it signs, or a retired
    /// one until its tokens have expired. Refused when its `kid` is taken.
    pub fn with_published_key(mut self, key: PublishedKey) -> Result<Self, KeyError> {
        if self.keys.iter().any(|k| k.kid == key.kid) {
            return Err(KeyError::DuplicateKid);
        }
        self.keys.push(key);
        Ok(self)
    }

    /// Sets the `aud` of tokens whose grant named no audience, and the one audience `verify`
    /// accepts (the resource's identifier, RFC 9068 §4).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self.accepted = vec![self.audience.clone()];
        self
    }

    /// Replaces the audiences `verify` accepts: a token passes when its `aud` contains one.
    pub fn accepting_audiences(mut self, audiences: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.accepted = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the URL of the published key set, given in the metadata as `jwks_uri` (RFC 8414).
    pub fn with_jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// Sets the clock skew forgiven on `exp`, in seconds, at most
    /// [`MAX_LEEWAY`](super::MAX_LEEWAY) (larger values are lowered to it).
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds.min(MAX_LEEWAY);
        self
    }

    /// The issuer identifier tokens carry as `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `kid` of the signing key.
    pub fn signing_kid(&self) -> &str {
        self.signing.kid()
    }

    /// The published keys, the signing key's first.
    pub fn published_keys(&self) -> &[PublishedKey] {
        &self.keys
    }

    /// The published key set (RFC 7517 §5): `{"keys": [...]}`, public members only.
    pub fn jwks(&self) -> Value {
        json!({"keys": self.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
    }
}

impl AccessTokenFormat for JwtAccessTokens {
    fn name(&self) -> &str {
        "jwt"
    }

    /// Signs the claims (RFC 9068 §2) with the signing key.
    fn issue(&self, claims: &AccessTokenClaims<'_>) -> Result<String, OAuthError> {
        let scope = claims.scope.as_str();
        let payload = serde_json::to_vec(&IssuedClaims {
            iss: claims.issuer,
            exp: claims.expires_at,
            aud: claims.audience.unwrap_or(&self.audience),
            sub: claims.subject,
            client_id: claims.client_id,
            iat: claims.issued_at,
            jti: claims.jwt_id,
            scope,
            act: claims.actor.map(|sub| Actor { sub }),
        })
        .map_err(|_| OAuthError::server_error("the access token could not be encoded"))?;
        let mut token = String::with_capacity(self.header.len() + payload.len() * 4 / 3 + 400);
        token.push_str(&self.header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signature = jsonwebtoken::crypto::sign(token.as_bytes(), &self.signing.encoding, self.signing.algorithm())
            .map_err(|_| OAuthError::server_error("the access token could not be signed"))?;
        token.push('.');
        token.push_str(&signature);
        Ok(token)
    }

    /// The checks of RFC 9068 §4, against `now` (the server's clock).
    fn verify(&self, token: &str, now: Timestamp) -> Result<(), &'static str> {
        const MALFORMED: &str = "the access token is not a signed JWT";
        if token.len() > MAX_ACCESS_TOKEN_LENGTH {
            return Err("the access token is too large");
        }
        let (message, signature) = token.rsplit_once('.').ok_or(MALFORMED)?;
        let (header, payload) = message.split_once('.').ok_or(MALFORMED)?;
        if payload.contains('.') {
            return Err(MALFORMED);
        }
        let header: ReadHeader = decode_segment(header).ok_or(MALFORMED)?;
        if header.alg == "none" {
            return Err("the access token is not signed (alg none)");
        }
        let typ = header.typ.as_deref().unwrap_or_default();
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) {
            return Err("the token is not a JWT access token (typ is not at+jwt)");
        }
        if header.crit.is_some() {
            return Err("the access token has critical header extensions");
        }
        let kid = header.kid.ok_or("the access token names no key (kid)")?;
        let key = self.keys.iter().find(|k| k.kid == kid).ok_or("the access token's key (kid) is unknown")?;
        if header.alg != algorithm_name(key.alg) {
            return Err("the access token's algorithm is not its key's");
        }
        if !jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.decoding, key.alg).unwrap_or(false) {
            return Err("the access token's signature is invalid");
        }
        let claims: ReadClaims = decode_segment(payload).ok_or("the access token's claims are malformed or missing")?;
        if claims.iss != self.issuer {
            return Err("the access token was issued by another server (iss)");
        }
        let accepted = |aud: &String| self.accepted.contains(aud);
        let for_us = match &claims.aud {
            Audience::One(aud) => accepted(aud),
            Audience::Many(auds) => auds.iter().any(accepted),
        };
        if !for_us {
            return Err("the access token is not for this resource (aud)");
        }
        if now >= claims.exp.saturating_add(self.leeway) {
            return Err("the access token has expired");
        }
        Ok(())
    }

    /// `jwks_uri`, when set.
    fn metadata(&self) -> Map<String, Value> {
        let mut members = Map::new();
        if let Some(uri) = &self.jwks_uri {
            members.insert("jwks_uri".into(), uri.clone().into());
        }
        members
    }
}

/// A base64url JSON segment of a JWS, read into `T`.
fn decode_segment<T: serde::de::DeserializeOwned>(segment: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A JWK's `kid`: a non-empty string.
fn kid_of(members: &Map<String, Value>) -> Result<String, KeyError> {
    match members.get("kid").and_then(Value::as_str) {
        Some(kid) if !kid.is_empty() => Ok(kid.to_owned()),
        _ => Err(KeyError::Member("kid")),
    }
}

/// The algorithm a JWK signs with, from its `kty` (and `crv`); its own `alg` and `use`, when
/// present, must agree.
fn algorithm_of(members: &Map<String, Value>) -> Result<Algorithm, KeyError> {
    let text = |name: &'static str| members.get(name).map(|v| v.as_str().ok_or(KeyError::Member(name))).transpose();
    let alg = match (text("kty")?, text("crv")?) {
        (Some("RSA"), _) => Algorithm::RS256,
        (Some("EC"), Some("P-256")) => Algorithm::ES256,
        (Some("OKP"), Some("Ed25519")) => Algorithm::EdDSA,
        (Some("EC" | "OKP"), _) => return Err(KeyError::Unsupported("the curve must be P-256 (EC) or Ed25519 (OKP)")),
        (Some(_), _) => return Err(KeyError::Unsupported("kty must be RSA, EC or OKP")),
        (None, _) => return Err(KeyError::Member("kty")),
    };
    if text("alg")?.is_some_and(|named| named != algorithm_name(alg)) {
        return Err(KeyError::Unsupported("alg must be RS256 (RSA), ES256 (EC P-256) or EdDSA (Ed25519)"));
    }
    if text("use")?.is_some_and(|named| named != "sig") {
        return Err(KeyError::Unsupported("use must be sig"));
    }
    Ok(alg)
}

/// The public members of a key of `alg` (RFC 7518 §6), nothing else.
fn public_members(members: &Map<String, Value>, alg: Algorithm) -> Value {
    let names: &[&str] = match alg {
        Algorithm::RS256 => &["kty", "n", "e"],
        Algorithm::ES256 => &["kty", "crv", "x", "y"],
        _ => &["kty", "crv", "x"],
    };
    Value::Object(names.iter().filter_map(|&n| members.get(n).map(|v| (n.to_owned(), v.clone()))).collect())
}

/// The JWK a key is published as: its public members, `kid`, `use: sig` and `alg`.
fn published_jwk(kid: &str, alg: Algorithm, public: Value) -> Value {
    let mut jwk = public;
    if let Some(members) = jwk.as_object_mut() {
        members.insert("kid".into(), kid.into());
        members.insert("use".into(), "sig".into());
        members.insert("alg".into(), algorithm_name(alg).into());
    }
    jwk
}

/// A DER SEQUENCE of unsigned INTEGERs (big-endian bytes each).
fn der_sequence(integers: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for int in integers {
        let start = int.iter().position(|&b| b != 0).unwrap_or(int.len().saturating_sub(1));
        let digits = int.get(start..).filter(|d| !d.is_empty()).unwrap_or(&[0]);
        let pad = digits[0] & 0x80 != 0;
        body.push(0x02);
        der_length(&mut body, digits.len() + usize::from(pad));
        if pad {
            body.push(0);
        }
        body.extend_from_slice(digits);
    }
    let mut out = vec![0x30];
    der_length(&mut out, body.len());
    out.extend(body);
    out
}

/// A DER length: short form below 128, else the long form.
fn der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grantry_core::Scope;

    const ISSUER: &str = "https://auth.example";
    const NOW: Timestamp = 1_700_000_000;

    fn key_file(name: &str) -> String {
        let path = format!("{}/testdata/access-token-keys/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).unwrap()
    }

    fn jwk(name: &str) -> Value {
        serde_json::from_str(&key_file(&format!("{name}.jwk.json"))).unwrap()
    }

    fn signing(name: &str) -> SigningKey {
        SigningKey::from_jwk(&jwk(name)).unwrap()
    }

    fn issue(format: &JwtAccessTokens, actor: Option<&str>) -> String {
        let scope = Scope::parse("read write").unwrap();
        let mut claims = AccessTokenClaims::new(ISSUER, "alice", "web", &scope, NOW, NOW + 3600, "jti-1");
        if let Some(actor) = actor {
            claims = claims.with_actor(actor);
        }
        format.issue(&claims).unwrap()
    }

    fn segment(token: &str, i: usize) -> Value {
        decode_segment(token.split('.').nth(i).unwrap()).unwrap()
    }

    /// `token` with its header or payload replaced, the signature kept.
    fn with_segment(token: &str, i: usize, value: &Value) -> String {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[i] = URL_SAFE_NO_PAD.encode(value.to_string());
        parts.join(".")
    }

    #[test]
    fn round_trips_with_each_algorithm_from_jwk_and_pem() {
        for (name, alg) in [("rsa-1", "RS256"), ("rsa-2", "RS256"), ("ec-1", "ES256"), ("ed-1", "EdDSA")] {
            let from_pem = SigningKey::from_pem(key_file(&format!("{name}.pem")).as_bytes(), name).unwrap();
            for key in [signing(name), from_pem] {
                assert_eq!(algorithm_name(key.algorithm()), alg);
                let format = JwtAccessTokens::new(ISSUER, key);
                let token = issue(&format, Some("svc"));
                assert_eq!(format.verify(&token, NOW + 10), Ok(()), "{name}");
                let header = segment(&token, 0);
                assert_eq!(header, json!({"alg": alg, "typ": "at+jwt", "kid": name}));
                let claims = segment(&token, 1);
                assert_eq!(
                    claims,
                    json!({"iss": ISSUER, "exp": NOW + 3600, "aud": ISSUER, "sub": "alice", "client_id": "web",
                           "iat": NOW, "jti": "jti-1", "scope": "read write", "act": {"sub": "svc"}})
                );
            }
            // The PEM and the JWK give the same public key.
            let from_pem = SigningKey::from_pem(key_file(&format!("{name}.pem")).as_bytes(), name).unwrap();
            assert_eq!(from_pem.public_key().jwk(), signing(name).public_key().jwk());
        }
    }

    #[test]
    fn audience_is_the_grants_else_the_default() {
        let format = JwtAccessTokens::new(ISSUER, signing("ec-1")).with_audience("https://api.example");
        let scope = Scope::parse("read").unwrap();
        let claims = AccessTokenClaims::new(ISSUER, "alice", "web", &scope, NOW, NOW + 60, "j");
        let token = format.issue(&claims).unwrap();
        assert_eq!(segment(&token, 1)["aud"], "https://api.example");
        assert_eq!(format.verify(&token, NOW), Ok(()));
        let other = format.issue(&claims.clone().with_audience("https://elsewhere.example")).unwrap();
        assert_eq!(segment(&other, 1)["aud"], "https://elsewhere.example");
        assert_eq!(format.verify(&other, NOW), Err("the access token is not for this resource (aud)"));
        let both = format.clone().accepting_audiences(["https://api.example", "https://elsewhere.example"]);
        assert_eq!(both.verify(&other, NOW), Ok(()));
    }

    #[test]
    fn refuses_a_tampered_signature_or_payload() {
        let format = JwtAccessTokens::new(ISSUER, signing("rsa-1"));
        let token = issue(&format, None);
        let (message, signature) = token.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        bytes[10] ^= 1;
        let flipped = format!("{message}.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(format.verify(&flipped, NOW), Err("the access token's signature is invalid"));
        let mut claims = segment(&token, 1);
        claims["scope"] = "admin".into();
        assert_eq!(
            format.verify(&with_segment(&token, 1, &claims), NOW),
            Err("the access token's signature is invalid")
        );
        // Re-signed with another key under the same kid.
        let other =
            JwtAccessTokens::new(ISSUER, SigningKey::from_pem(key_file("rsa-other.pem").as_bytes(), "rsa-1").unwrap());
        assert_eq!(format.verify(&issue(&other, None), NOW), Err("the access token's signature is invalid"));
    }

    #[test]
    fn refuses_the_wrong_typ_alg_none_and_a_foreign_alg() {
        let format = JwtAccessTokens::new(ISSUER, signing("rsa-1"));
        let token = issue(&format, None);
        let header = segment(&token, 0);
        for typ in [json!("JWT"), json!("jwt"), Value::Null] {
            let mut h = header.clone();
            h["typ"] = typ;
            assert_eq!(
                format.verify(&with_segment(&token, 0, &h), NOW),
                Err("the token is not a JWT access token (typ is not at+jwt)")
            );
        }
        // application/at+jwt is the same type (RFC 9068 §4); only the signature fails here.
        let mut h = header.clone();
        h["typ"] = "application/AT+JWT".into();
        assert_eq!(format.verify(&with_segment(&token, 0, &h), NOW), Err("the access token's signature is invalid"));

        let mut none = header.clone();
        none["alg"] = "none".into();
        let unsigned = with_segment(&token, 0, &none);
        let unsigned = format!("{}.", unsigned.rsplit_once('.').unwrap().0);
        assert_eq!(format.verify(&unsigned, NOW), Err("the access token is not signed (alg none)"));

        // HS256 "signed" with the public key (the algorithm confusion attack), and PS256.
        for alg in ["HS256", "PS256", "ES256"] {
            let mut h = header.clone();
            h["alg"] = alg.into();
            assert_eq!(
                format.verify(&with_segment(&token, 0, &h), NOW),
                Err("the access token's algorithm is not its key's")
            );
        }
        let mut crit = header.clone();
        crit["crit"] = json!(["exp"]);
        assert_eq!(
            format.verify(&with_segment(&token, 0, &crit), NOW),
            Err("the access token has critical header extensions")
        );
    }

    #[test]
    fn refuses_another_issuer_or_audience() {
        let format = JwtAccessTokens::new(ISSUER, signing("ec-1"));
        let other_issuer = JwtAccessTokens::new("https://other.example", signing("ec-1")).with_audience(ISSUER);
        let scope = Scope::parse("read").unwrap();
        let claims = AccessTokenClaims::new("https://other.example", "alice", "web", &scope, NOW, NOW + 60, "j");
        let token = other_issuer.issue(&claims).unwrap();
        assert_eq!(format.verify(&token, NOW), Err("the access token was issued by another server (iss)"));
        let for_api = JwtAccessTokens::new(ISSUER, signing("ec-1")).with_audience("https://api.example");
        assert_eq!(format.verify(&issue(&for_api, None), NOW), Err("the access token is not for this resource (aud)"));
    }

    /// `claims` signed with `key` under `header`: tokens this format would never issue.
    fn sign_raw(key: &SigningKey, header: &Value, claims: &Value) -> String {
        let message =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key.encoding, key.algorithm()).unwrap();
        format!("{message}.{signature}")
    }

    #[test]
    fn reads_aud_arrays_and_requires_the_rfc_9068_claims() {
        let key = signing("ec-1");
        let format = JwtAccessTokens::new(ISSUER, key.clone());
        let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": "ec-1"});
        let claims = json!({"iss": ISSUER, "exp": NOW + 60, "aud": ["https://x.example", ISSUER], "sub": "alice",
                            "client_id": "web", "iat": NOW, "jti": "j"});
        assert_eq!(format.verify(&sign_raw(&key, &header, &claims), NOW), Ok(()));
        let mut other = claims.clone();
        other["aud"] = json!(["https://x.example"]);
        assert_eq!(
            format.verify(&sign_raw(&key, &header, &other), NOW),
            Err("the access token is not for this resource (aud)")
        );
        for missing in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
            let mut partial = claims.clone();
            partial.as_object_mut().unwrap().remove(missing);
            assert_eq!(
                format.verify(&sign_raw(&key, &header, &partial), NOW),
                Err("the access token's claims are malformed or missing"),
                "{missing}"
            );
        }
    }

    #[test]
    fn refuses_an_expired_token_by_the_given_clock() {
        let format = JwtAccessTokens::new(ISSUER, signing("ed-1")).with_leeway(0);
        let token = issue(&format, None);
        assert_eq!(format.verify(&token, NOW + 3599), Ok(()));
        assert_eq!(format.verify(&token, NOW + 3600), Err("the access token has expired"));
        let lenient = format.clone().with_leeway(30);
        assert_eq!(lenient.verify(&token, NOW + 3629), Ok(()));
        assert_eq!(lenient.verify(&token, NOW + 3630), Err("the access token has expired"));
    }

    #[test]
    fn picks_the_key_by_kid_and_refuses_an_unknown_one() {
        let old = signing("rsa-1");
        let old_tokens = JwtAccessTokens::new(ISSUER, old.clone());
        let token = issue(&old_tokens, None);
        // Rotated: rsa-2 signs, rsa-1 is still published (from its private JWK: only the public
        // half is kept), so its tokens still verify.
        let rotated = JwtAccessTokens::new(ISSUER, signing("rsa-2"))
            .with_published_key(PublishedKey::from_jwk(&jwk("rsa-1")).unwrap())
            .unwrap()
            .with_published_key(PublishedKey::from_jwk(&jwk("ec-1")).unwrap())
            .unwrap();
        assert_eq!(rotated.verify(&token, NOW), Ok(()));
        assert_eq!(segment(&issue(&rotated, None), 0)["kid"], "rsa-2");
        assert_eq!(rotated.verify(&issue(&rotated, None), NOW), Ok(()));
        // Retired: no longer published, no longer accepted.
        let retired = JwtAccessTokens::new(ISSUER, signing("rsa-2"));
        assert_eq!(retired.verify(&token, NOW), Err("the access token's key (kid) is unknown"));
        let mut header = segment(&token, 0);
        header.as_object_mut().unwrap().remove("kid");
        assert_eq!(rotated.verify(&with_segment(&token, 0, &header), NOW), Err("the access token names no key (kid)"));
        // One kid, one key.
        let again = PublishedKey::from_jwk(&jwk("rsa-2")).unwrap();
        assert_eq!(rotated.with_published_key(again).unwrap_err(), KeyError::DuplicateKid);
    }

    #[test]
    fn jwks_holds_public_members_only() {
        let format = JwtAccessTokens::new(ISSUER, signing("rsa-2"))
            .with_published_key(PublishedKey::from_jwk(&jwk("rsa-1")).unwrap())
            .unwrap()
            .with_published_key(PublishedKey::from_jwk(&jwk("ec-1")).unwrap())
            .unwrap()
            .with_published_key(PublishedKey::from_jwk(&jwk("ed-1")).unwrap())
            .unwrap();
        let jwks = format.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 4);
        for key in keys {
            let names: Vec<&str> = key.as_object().unwrap().keys().map(String::as_str).collect();
            for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
                assert!(!names.contains(&private), "{private} in {key}");
            }
            assert_eq!(key["use"], "sig");
        }
        let text = jwks.to_string();
        for name in ["rsa-1", "rsa-2", "ec-1", "ed-1"] {
            let d = jwk(name)["d"].as_str().unwrap().to_owned();
            assert!(!text.contains(&d));
        }
        assert_eq!(keys[0]["kid"], "rsa-2");
        assert_eq!(keys[0]["alg"], "RS256");
        assert_eq!(keys[2]["alg"], "ES256");
        assert_eq!(keys[3]["alg"], "EdDSA");
    }

    #[test]
    fn refuses_huge_and_malformed_tokens() {
        let format = JwtAccessTokens::new(ISSUER, signing("ec-1"));
        let huge = "a".repeat(MAX_ACCESS_TOKEN_LENGTH + 1);
        assert_eq!(format.verify(&huge, NOW), Err("the access token is too large"));
        for bad in ["", "abc", "a.b", "a.b.c", "a.b.c.d.e", "..", "opaque-random-token"] {
            assert_eq!(format.verify(bad, NOW), Err("the access token is not a signed JWT"), "{bad}");
        }
    }

    #[test]
    fn keys_are_checked_and_errors_hold_no_key_material() {
        let mut wrong = jwk("rsa-1");
        wrong["d"] = jwk("rsa-2")["d"].clone();
        let err = SigningKey::from_jwk(&wrong).unwrap_err();
        assert!(matches!(err, KeyError::Invalid(_)), "{err:?}");
        let mut wrong = jwk("ec-1");
        wrong["d"] = URL_SAFE_NO_PAD.encode([7u8; 32]).into();
        assert!(matches!(SigningKey::from_jwk(&wrong), Err(KeyError::Invalid(_))));
        let mut wrong = jwk("ed-1");
        wrong["x"] = URL_SAFE_NO_PAD.encode([7u8; 32]).into();
        assert!(matches!(SigningKey::from_jwk(&wrong), Err(KeyError::Invalid(_))));
        let mut no_kid = jwk("ec-1");
        no_kid.as_object_mut().unwrap().remove("kid");
        assert_eq!(SigningKey::from_jwk(&no_kid).unwrap_err(), KeyError::Member("kid"));
        let mut public = jwk("ec-1");
        public.as_object_mut().unwrap().remove("d");
        assert_eq!(SigningKey::from_jwk(&public).unwrap_err(), KeyError::Member("d"));
        let mut p384 = jwk("ec-1");
        p384["crv"] = "P-384".into();
        assert!(matches!(SigningKey::from_jwk(&p384), Err(KeyError::Unsupported(_))));
        let mut hs = jwk("ec-1");
        hs["alg"] = "HS256".into();
        assert!(matches!(SigningKey::from_jwk(&hs), Err(KeyError::Unsupported(_))));
        assert!(matches!(SigningKey::from_pem(b"not a pem", "k"), Err(KeyError::Unsupported(_))));
        assert_eq!(SigningKey::from_pem(key_file("ec-1.pem").as_bytes(), "").unwrap_err(), KeyError::Member("kid"));
        // No message and no Debug output carries a private member.
        let d = jwk("rsa-1")["d"].as_str().unwrap().to_owned();
        let key = signing("rsa-1");
        let shown = format!("{key:?} {:?}", JwtAccessTokens::new(ISSUER, key.clone()));
        assert!(!shown.contains(&d[..16]) && !shown.contains("BEGIN"));
        for err in [KeyError::Member("d"), KeyError::Invalid("x"), KeyError::Unsupported("y"), KeyError::DuplicateKid] {
            assert!(!err.to_string().contains(&d[..16]));
        }
    }

    #[test]
    fn metadata_names_the_jwks_uri_when_set() {
        let format = JwtAccessTokens::new(ISSUER, signing("ed-1"));
        assert!(format.metadata().is_empty());
        let format = format.with_jwks_uri("https://auth.example/jwks.json");
        assert_eq!(format.metadata()["jwks_uri"], "https://auth.example/jwks.json");
        assert_eq!(format.name(), "jwt");
    }

    #[test]
    fn der_integers_and_lengths() {
        assert_eq!(
            der_sequence(&[vec![0], vec![0x80], vec![0, 0, 1]]),
            vec![0x30, 10, 2, 1, 0, 2, 2, 0, 0x80, 2, 1, 1]
        );
        let mut out = Vec::new();
        der_length(&mut out, 300);
        assert_eq!(out, vec![0x82, 1, 44]);
    }
}
