//! Which keys verify an assertion: the [`AssertionKeys`] trait and [`ClientKeys`], its default,
//! which reads the issuing client's registration.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantry_core::Client;
use grantry_core::storage::StorageError;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize as _;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The algorithms accepted unless configured otherwise: RS256, PS256, ES256, EdDSA and HS256.
/// `none` is never accepted.
pub const DEFAULT_ALGORITHMS: [Algorithm; 5] =
    [Algorithm::RS256, Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA, Algorithm::HS256];

/// RSA keys shorter than this many bits are not used (RFC 7518 §3.3 requires 2048 or more).
pub const MIN_RSA_BITS: usize = 2048;

/// The JWS name of an algorithm (`"RS256"`).
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
    }
}

/// Whether `alg` is an HMAC algorithm (a shared secret rather than a public key).
pub(crate) fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// What a key lookup is for: an assertion issued by `client`, signed with `alg` (already known
/// to be allowed) and naming key `kid`, if it does.
#[derive(Debug, Clone, Copy)]
pub struct KeyQuery<'a> {
    /// The client the assertion's `iss` names.
    pub client: &'a Arc<dyn Client>,
    /// The header's `alg`.
    pub alg: Algorithm,
    /// The header's `kid`, if any.
    pub kid: Option<&'a str>,
}

impl KeyQuery<'_> {
    /// The issuer: the client's id.
    pub fn issuer(&self) -> &str {
        self.client.client_id()
    }
}

/// Where the keys that verify an issuer's assertions come from.
///
/// The verifier has already refused `none` and every algorithm outside its allow-list before
/// it asks. Return every key that may have signed the assertion (each is tried in turn); an
/// empty list fails the assertion. Keys must never be taken from the assertion itself.
///
/// ```
/// use grantry_core::storage::StorageError;
/// use grantry_extensions::jwt::{AssertionKeys, DecodingKey, KeyQuery};
///
/// /// One HMAC key per issuer, from the service's own configuration.
/// struct ConfiguredSecrets(std::collections::HashMap<String, Vec<u8>>);
///
/// #[grantry_core::async_trait]
/// impl AssertionKeys for ConfiguredSecrets {
///     async fn decoding_keys(&self, query: &KeyQuery<'_>) -> Result<Vec<DecodingKey>, StorageError> {
///         Ok(self.0.get(query.issuer()).map(|k| DecodingKey::from_secret(k)).into_iter().collect())
///     }
/// }
/// ```
#[grantry_core::async_trait]
pub trait AssertionKeys: Send + Sync + 'static {
    /// The keys to try for the assertion described by `query`. A backend failure (such as an
    /// unreachable key store) is an error; no fitting key is an empty list.
    async fn decoding_keys(&self, query: &KeyQuery<'_>) -> Result<Vec<DecodingKey>, StorageError>;
}

/// Keys from the issuing client's registration:
///
/// - HS256, HS384, HS512: the client's shared secret ([`Client::shared_secret`]); none for a
///   client whose store keeps only a hash of it.
/// - RS*, PS*, ES256, ES384, EdDSA: the keys of the client's `jwks` metadata (an RFC 7517 JWK
///   Set, as a JSON object or a string holding one). With a `kid` in the header, only the key
///   with that id; without, every key that fits. A key fits when its `kty` (and curve) suits
///   the algorithm, its own `alg`, `use` (`sig`) and `key_ops` (`verify`), when present, agree,
///   and an RSA key has at least [`MIN_RSA_BITS`] bits. Keys that cannot be read are skipped.
///
/// The keys read from a client's `jwks` are kept, per client, for as long as its `jwks`
/// metadata stays the same: parsing a JWK Set on every assertion would cost more than
/// verifying an HMAC.
#[derive(Debug, Default)]
pub struct ClientKeys {
    cache: Mutex<HashMap<String, CachedJwks>>,
}

/// A client's `jwks` as last read, and the keys it gave.
#[derive(Debug)]
struct CachedJwks {
    source: Value,
    keys: Vec<(Jwk, DecodingKey)>,
}

/// Clients whose keys are cached at most; past this the cache starts afresh.
const MAX_CACHED_CLIENTS: usize = 4096;

impl ClientKeys {
    /// The key source.
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys of `client` for `alg` and `kid`, as [`AssertionKeys::decoding_keys`] returns them.
    pub fn keys_for(&self, client: &dyn Client, alg: Algorithm, kid: Option<&str>) -> Vec<DecodingKey> {
        if is_hmac(alg) {
            return client
                .shared_secret()
                .filter(|secret| !secret.expose().is_empty())
                .map(|secret| DecodingKey::from_secret(secret.expose().as_bytes()))
                .into_iter()
                .collect();
        }
        let Some(source) = client.metadata("jwks") else { return Vec::new() };
        let select = |keys: &[(Jwk, DecodingKey)]| -> Vec<DecodingKey> {
            keys.iter()
                .filter(|(jwk, _)| kid.is_none_or(|kid| jwk.common.key_id.as_deref() == Some(kid)))
                .filter(|(jwk, _)| fits(jwk, alg))
                .map(|(_, key)| key.clone())
                .collect()
        };
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = cache.get(client.client_id()).filter(|c| c.source == *source) {
            return select(&cached.keys);
        }
        let keys: Vec<(Jwk, DecodingKey)> = client_jwks(source)
            .into_iter()
            .filter_map(|jwk| DecodingKey::from_jwk(&jwk).ok().map(|key| (jwk, key)))
            .collect();
        let selected = select(&keys);
        if cache.len() >= MAX_CACHED_CLIENTS {
            cache.clear();
        }
        cache.insert(client.client_id().to_owned(), CachedJwks { source: source.clone(), keys });
        selected
    }
}

#[grantry_core::async_trait]
impl AssertionKeys for ClientKeys {
    async fn decoding_keys(&self, query: &KeyQuery<'_>) -> Result<Vec<DecodingKey>, StorageError> {
        Ok(self.keys_for(&**query.client, query.alg, query.kid))
    }
}

/// The readable keys of a client's `jwks` metadata.
fn client_jwks(jwks: &Value) -> Vec<Jwk> {
    let parsed;
    let set = match jwks {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) => {
                parsed = value;
                &parsed
            }
            Err(_) => return Vec::new(),
        },
        value => value,
    };
    let Some(keys) = set.get("keys").and_then(Value::as_array) else {
        return Vec::new();
    };
    // Keys are read one by one, so one unreadable key does not disable the others.
    keys.iter().filter_map(|key| Jwk::deserialize(key).ok()).collect()
}

/// Whether a JWK may verify a signature made with `alg`.
fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let common = &jwk.common;
    if common.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature) {
        return false;
    }
    if common.key_operations.as_ref().is_some_and(|ops| !ops.contains(&KeyOperations::Verify)) {
        return false;
    }
    if common.key_algorithm.is_some_and(|key_alg| key_alg.to_string() != algorithm_name(alg)) {
        return false;
    }
    match (&jwk.algorithm, alg) {
        (
            AlgorithmParameters::RSA(rsa),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
        ) => modulus_bits(&rsa.n).is_some_and(|bits| bits >= MIN_RSA_BITS),
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => ec.curve == EllipticCurve::P256,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES384) => ec.curve == EllipticCurve::P384,
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => okp.curve == EllipticCurve::Ed25519,
        _ => false,
    }
}

/// The size in bits of a base64url-encoded RSA modulus.
pub(super) fn modulus_bits(n: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(n).ok()?;
    let start = bytes.iter().position(|&b| b != 0)?;
    let significant = &bytes[start..];
    Some(significant.len() * 8 - significant[0].leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use grantry_core::ClientRecord;
    use serde_json::json;

    // A 2048-bit modulus: 0xC0 followed by 255 bytes (content irrelevant to selection).
    fn modulus(bytes: usize) -> String {
        let mut n = vec![0xC0u8];
        n.extend(std::iter::repeat_n(0x11, bytes - 1));
        URL_SAFE_NO_PAD.encode(n)
    }

    fn rsa(kid: &str, extra: Value) -> Value {
        let mut key = json!({"kty": "RSA", "kid": kid, "n": modulus(256), "e": "AQAB"});
        if let (Some(key), Value::Object(extra)) = (key.as_object_mut(), extra) {
            key.extend(extra);
        }
        key
    }

    fn ec(kid: &str, crv: &str) -> Value {
        json!({"kty": "EC", "kid": kid, "crv": crv, "x": "AAAA", "y": "AAAA"})
    }

    fn client(jwks: Value) -> ClientRecord {
        ClientRecord::confidential("c", "secret").with_metadata("jwks", jwks)
    }

    #[test]
    fn selects_by_kid_and_type() {
        let c = client(json!({"keys": [rsa("r1", json!({})), rsa("r2", json!({})), ec("e1", "P-256")]}));
        let keys = ClientKeys::new();
        assert_eq!(keys.keys_for(&c, Algorithm::RS256, None).len(), 2);
        assert_eq!(keys.keys_for(&c, Algorithm::PS256, Some("r2")).len(), 1);
        assert_eq!(keys.keys_for(&c, Algorithm::RS256, Some("e1")).len(), 0);
        assert_eq!(keys.keys_for(&c, Algorithm::ES256, None).len(), 1);
        assert_eq!(keys.keys_for(&c, Algorithm::ES384, None).len(), 0);
        assert_eq!(keys.keys_for(&c, Algorithm::RS256, Some("missing")).len(), 0);
        assert_eq!(keys.keys_for(&c, Algorithm::EdDSA, None).len(), 0);
    }

    #[test]
    fn honours_the_keys_own_alg_use_and_ops() {
        let c = client(json!({"keys": [
            rsa("alg", json!({"alg": "RS256"})),
            rsa("enc", json!({"use": "enc"})),
            rsa("ops", json!({"key_ops": ["encrypt"]})),
            rsa("ok", json!({"use": "sig", "key_ops": ["verify"]})),
        ]}));
        let keys = ClientKeys::new();
        assert_eq!(keys.keys_for(&c, Algorithm::RS256, None).len(), 2);
        assert_eq!(keys.keys_for(&c, Algorithm::PS256, None).len(), 1);
    }

    #[test]
    fn skips_short_rsa_and_unreadable_keys() {
        let short = json!({"kty": "RSA", "kid": "short", "n": modulus(128), "e": "AQAB"});
        let c = client(json!({"keys": [short, {"kty": "weird"}, rsa("ok", json!({}))]}));
        assert_eq!(ClientKeys::new().keys_for(&c, Algorithm::RS256, None).len(), 1);
        let as_text = client(Value::String(json!({"keys": [rsa("ok", json!({}))]}).to_string()));
        assert_eq!(ClientKeys::new().keys_for(&as_text, Algorithm::RS256, None).len(), 1);
        assert!(ClientKeys::new().keys_for(&client(json!("not json")), Algorithm::RS256, None).is_empty());
    }

    #[test]
    fn hmac_uses_the_shared_secret_only() {
        let c = client(json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}));
        assert_eq!(ClientKeys::new().keys_for(&c, Algorithm::HS256, None).len(), 1);
        let hashed = c.hash_secret();
        assert!(ClientKeys::new().keys_for(&hashed, Algorithm::HS256, None).is_empty());
        assert!(ClientKeys::new().keys_for(&ClientRecord::public("p"), Algorithm::HS256, None).is_empty());
    }

    #[test]
    fn measures_moduli() {
        assert_eq!(modulus_bits(&modulus(256)), Some(2048));
        assert_eq!(modulus_bits(&URL_SAFE_NO_PAD.encode([0u8, 0x01, 0xFF])), Some(9));
        assert_eq!(modulus_bits("!"), None);
    }
}
