//! [`AssertionVerifier`]: reads a JWT assertion, checks its claims, verifies its signature with
//! the issuer's keys and checks its claims again. Shared by the bearer grant and the client
//! authenticators, which add their own rules (who the issuer must be, single use).

use super::claims::{AssertionClaims, Payload, RawClaims, TimeRules};
use super::keys::{AssertionKeys, ClientKeys, DEFAULT_ALGORITHMS, KeyQuery, algorithm_name, is_hmac};
use super::{DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME, MAX_ASSERTION_LENGTH, MAX_LEEWAY};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantry_core::storage::StorageError;
use grantry_core::{Client, OAuthError, Timestamp};
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr as _;
use std::sync::Arc;

/// Why an assertion was refused. The message names the failed check, starting with
/// "assertion", and never contains key material or claim values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// Longer than [`MAX_ASSERTION_LENGTH`](super::MAX_ASSERTION_LENGTH).
    #[error("assertion is too large")]
    TooLarge,
    /// Not a compact JWS with a JSON header and payload.
    #[error("assertion is malformed: {0}")]
    Malformed(&'static str),
    /// A JWE: encrypted assertions are not supported.
    #[error("assertion is encrypted (JWE), which is not supported")]
    Encrypted,
    /// `alg` is `none`.
    #[error("assertion is not signed (alg none)")]
    Unsigned,
    /// `alg` names no algorithm this server implements.
    #[error("assertion algorithm is not supported")]
    UnsupportedAlgorithm,
    /// `alg` is outside the allow-list.
    #[error("assertion algorithm {0} is not allowed")]
    AlgorithmNotAllowed(&'static str),
    /// The header has `crit` extensions.
    #[error("assertion header has critical extensions this server does not support")]
    CriticalHeader,
    /// A required claim is absent.
    #[error("assertion is missing the {0} claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type.
    #[error("assertion claim {0} is malformed")]
    MalformedClaim(&'static str),
    /// The issuer has no key fitting the assertion's `alg` and `kid`.
    #[error("assertion matches no registered key of its issuer (by alg and kid)")]
    NoKey,
    /// No fitting key verifies the signature.
    #[error("assertion signature is invalid")]
    BadSignature,
    /// `aud` names neither the issuer identifier nor the token endpoint.
    #[error("assertion audience does not identify this server")]
    WrongAudience,
    /// `exp` has passed.
    #[error("assertion has expired")]
    Expired,
    /// `exp` is further away than the maximum lifetime.
    #[error("assertion expires too far in the future")]
    LifetimeTooLong,
    /// `nbf` is still ahead.
    #[error("assertion is not yet valid")]
    NotYetValid,
    /// `iat` is ahead of the clock.
    #[error("assertion was issued in the future")]
    IssuedInFuture,
    /// The assertion was used before, within its lifetime: the same `jti` from the same
    /// issuer, or without `jti` the same assertion, at the bearer grant or in client
    /// authentication.
    #[error("assertion was already used")]
    Replayed,
    /// `iss` is not the client the assertion must come from (the authenticated client, or the
    /// client given to [`AssertionVerifier::verify`]).
    #[error("assertion issuer does not match the client")]
    IssuerMismatch,
    /// A key or `jti` store failed. Shown to the client only as `server_error`.
    #[error("assertion could not be checked: storage failure")]
    Storage(#[source] StorageError),
}

impl AssertionError {
    /// The error as the bearer grant answers it: `invalid_grant`, or `server_error` for a
    /// storage failure.
    pub fn into_invalid_grant(self) -> OAuthError {
        match self {
            AssertionError::Storage(err) => grantry_core::client_auth::storage_failure(err),
            other => OAuthError::invalid_grant(other.to_string()),
        }
    }

    /// The error as client authentication answers it: `invalid_client` ("client assertion
    /// ..."), or `server_error` for a storage failure.
    pub fn into_invalid_client(self) -> OAuthError {
        match self {
            AssertionError::Storage(err) => grantry_core::client_auth::storage_failure(err),
            other => OAuthError::invalid_client(format!("client {other}")),
        }
    }
}

/// A compact JWS split and decoded, its header checked against the allow-list, its claims read
/// but not yet trusted: the step before the issuer's keys are known.
#[derive(Debug, Clone)]
pub struct UnverifiedAssertion<'t> {
    token: &'t str,
    alg: Algorithm,
    kid: Option<String>,
    claims: RawClaims,
}

impl UnverifiedAssertion<'_> {
    /// The `iss` claim, which names the keys to verify with. Not yet verified.
    pub fn issuer(&self) -> Result<&str, AssertionError> {
        self.claims.issuer()
    }

    /// The header's `alg` (in the verifier's allow-list).
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The header's `kid`, if any.
    pub fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }
}

/// Verifies JWT assertions (RFC 7523 §3): the allow-listed algorithm, the signature with a key
/// of the issuer (from [`AssertionKeys`], [`ClientKeys`] by default), then `iss`, `sub`, `aud`
/// and `exp` present, `aud` naming this server, and `exp`, `nbf` and `iat` acceptable within
/// the leeway, with `exp` at most the maximum lifetime ahead.
///
/// Verification is two steps, so the caller can find the issuer between them:
///
/// 1. [`parse`](Self::parse) decodes the token and checks its header;
/// 2. [`verify`](Self::verify), given the client `iss` names, checks the signature and claims.
///
/// The claim checks cost next to nothing and a signature check (RSA above all) does not, so
/// the claims are judged before any key is looked up or any signature checked: an assertion
/// for another audience, expired, not yet valid, issued in the future or living too long is
/// refused without either. [`precheck`](Self::precheck) does that alone, for a caller to run
/// before its own lookups. Passing it decides nothing: the claims are judged again once the
/// signature is known to cover them, and only those verified claims are returned.
///
/// Defaults: algorithms [`DEFAULT_ALGORITHMS`], leeway [`DEFAULT_LEEWAY`](super::DEFAULT_LEEWAY)
/// seconds, maximum lifetime [`DEFAULT_MAX_LIFETIME`](super::DEFAULT_MAX_LIFETIME) seconds.
#[derive(Clone)]
pub struct AssertionVerifier {
    algorithms: Vec<Algorithm>,
    rules: TimeRules,
    keys: Arc<dyn AssertionKeys>,
}

impl fmt::Debug for AssertionVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionVerifier")
            .field("algorithms", &self.algorithms)
            .field("leeway", &self.rules.leeway)
            .field("max_lifetime", &self.rules.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl Default for AssertionVerifier {
    fn default() -> Self {
        AssertionVerifier {
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            rules: TimeRules { leeway: DEFAULT_LEEWAY, max_lifetime: DEFAULT_MAX_LIFETIME },
            keys: Arc::new(ClientKeys::new()),
        }
    }
}

impl AssertionVerifier {
    /// A verifier with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the allowed algorithms (`none` cannot be among them).
    pub fn with_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms.clear();
        for alg in algorithms {
            if !self.algorithms.contains(&alg) {
                self.algorithms.push(alg);
            }
        }
        self
    }

    /// Sets the clock skew forgiven on `exp`, `nbf` and `iat`, in seconds, at most
    /// [`MAX_LEEWAY`](super::MAX_LEEWAY) (larger values are lowered to it).
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.rules.leeway = seconds.min(MAX_LEEWAY);
        self
    }

    /// Sets the largest `exp - now` accepted, in seconds.
    pub fn with_max_lifetime(mut self, seconds: u64) -> Self {
        self.rules.max_lifetime = seconds;
        self
    }

    /// Replaces where keys come from.
    pub fn with_keys(mut self, keys: impl AssertionKeys) -> Self {
        self.keys = Arc::new(keys);
        self
    }

    /// Keeps only the allowed algorithms for which `keep` holds.
    pub(crate) fn retain_algorithms(mut self, keep: impl Fn(Algorithm) -> bool) -> Self {
        self.algorithms.retain(|alg| keep(*alg));
        self
    }

    /// The allowed algorithms.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// The leeway, in seconds.
    pub fn leeway(&self) -> u64 {
        self.rules.leeway
    }

    /// The maximum lifetime, in seconds.
    pub fn max_lifetime(&self) -> u64 {
        self.rules.max_lifetime
    }

    /// Splits and decodes a compact JWS, checks its header (`alg` allowed, no `crit`) and
    /// reads its claims, trusting nothing yet.
    pub fn parse<'t>(&self, token: &'t str) -> Result<UnverifiedAssertion<'t>, AssertionError> {
        if token.len() > MAX_ASSERTION_LENGTH {
            return Err(AssertionError::TooLarge);
        }
        match token.matches('.').count() {
            2 => {}
            // Five parts: a JWE (RFC 7516 §7.1).
            4 => return Err(AssertionError::Encrypted),
            _ => return Err(AssertionError::Malformed("not a compact JWS (three dot-separated parts)")),
        }
        let header = token.split('.').next().unwrap_or_default();
        // One read of header and payload, trusting nothing: the claims are judged before any key
        // is looked up (see `precheck`). Only when it fails is the header read again, to say why.
        match jsonwebtoken::dangerous::insecure_decode::<Payload>(token) {
            Ok(data) => {
                check_header(&data.header, &self.algorithms)?;
                let kid = data.header.kid;
                Ok(UnverifiedAssertion { token, alg: data.header.alg, kid, claims: RawClaims::parse(data.claims)? })
            }
            Err(_) => match jsonwebtoken::decode_header(token) {
                Ok(header) => {
                    check_header(&header, &self.algorithms)?;
                    Err(AssertionError::Malformed("the payload is not base64url JSON"))
                }
                Err(_) => Err(header_error(header)),
            },
        }
    }

    /// Judges the not yet verified claims as [`verify`](Self::verify) will: `iss`, `sub`,
    /// `aud` and `exp` present, `aud` containing one of `audiences`, times acceptable at `now`.
    /// No key is looked up and no signature checked. An `Ok` decides nothing (the claims are
    /// not trusted yet); an `Err` is final.
    pub fn precheck(
        &self,
        assertion: &UnverifiedAssertion<'_>,
        audiences: &[&str],
        now: Timestamp,
    ) -> Result<(), AssertionError> {
        assertion.claims.judge(audiences, self.rules, now)
    }

    /// Verifies the assertion issued by `client` (the client its `iss` names): the claims
    /// are prechecked (as by [`precheck`](Self::precheck)), then the signature is checked with
    /// the client's keys, then the claims, now verified, are judged again and returned: `aud`
    /// must contain one of `audiences`, times are judged at `now`.
    pub async fn verify(
        &self,
        assertion: UnverifiedAssertion<'_>,
        client: &Arc<dyn Client>,
        audiences: &[&str],
        now: Timestamp,
    ) -> Result<AssertionClaims, AssertionError> {
        if assertion.issuer()? != client.client_id() {
            return Err(AssertionError::IssuerMismatch);
        }
        let alg = assertion.alg;
        // The header was checked at `parse`, but a verifier may have been narrowed since.
        if !self.algorithms.contains(&alg) {
            return Err(AssertionError::AlgorithmNotAllowed(algorithm_name(alg)));
        }
        // Cheap refusals first: no key lookup or signature check for an assertion whose claims
        // would fail anyway.
        self.precheck(&assertion, audiences, now)?;
        let query = KeyQuery { client, alg, kid: assertion.key_id() };
        let keys = self.keys.decoding_keys(&query).await.map_err(AssertionError::Storage)?;
        if keys.is_empty() {
            return Err(AssertionError::NoKey);
        }
        // The claims were read at `parse` from the bytes the signature covers, and are judged
        // below by this module's rules on the server's clock: only the signature is left to
        // check, once per key, with jsonwebtoken's `crypto::verify`. It refuses a key of
        // another family than `alg` (no HMAC with a public key) as an error: another key may fit.
        let (signing_input, signature) = assertion.token.rsplit_once('.').unwrap_or((assertion.token, ""));
        let verified = keys
            .iter()
            .any(|key| jsonwebtoken::crypto::verify(signature, signing_input.as_bytes(), key, alg).unwrap_or(false));
        if !verified {
            return Err(AssertionError::BadSignature);
        }
        assertion.claims.into_verified(signing_input, audiences, self.rules, now)
    }
}

/// Checks a JWS header against the allowed algorithms (RFC 7515 §4.1). Keys it offers (`jwk`,
/// `jku`, `x5u`, `x5c`) are ignored: an assertion is verified only with the server's keys.
fn check_header(header: &Header, allowed: &[Algorithm]) -> Result<(), AssertionError> {
    if header.enc.is_some() {
        return Err(AssertionError::Encrypted);
    }
    if !allowed.contains(&header.alg) {
        return Err(AssertionError::AlgorithmNotAllowed(algorithm_name(header.alg)));
    }
    // RFC 7515 §4.1.11: a recipient must refuse a JWS whose critical extensions it does not
    // understand; this server understands none.
    if header.crit.is_some() {
        return Err(AssertionError::CriticalHeader);
    }
    Ok(())
}

/// Why jsonwebtoken could not read a header `segment`: read again as plain JSON to tell `alg:
/// none` (RFC 7518 §3.6, which jsonwebtoken has no name for), an unknown algorithm and a JWE
/// from a malformed header. Only refusals take this path.
fn header_error(segment: &str) -> AssertionError {
    let malformed = AssertionError::Malformed("the header is not base64url JSON");
    let Some(header) =
        URL_SAFE_NO_PAD.decode(segment).ok().and_then(|json| serde_json::from_slice::<Map<String, Value>>(&json).ok())
    else {
        return malformed;
    };
    if header.contains_key("enc") {
        return AssertionError::Encrypted;
    }
    match header.get("alg") {
        None => AssertionError::Malformed("the header has no alg"),
        Some(Value::String(alg)) if alg.eq_ignore_ascii_case("none") => AssertionError::Unsigned,
        Some(Value::String(alg)) if Algorithm::from_str(alg).is_err() => AssertionError::UnsupportedAlgorithm,
        Some(Value::String(_)) => AssertionError::Malformed("a header parameter has the wrong type"),
        Some(_) => AssertionError::Malformed("the header alg is not a string"),
    }
}

/// Whether a client assertion is signed with HMAC, by a cheap look at its header: for choosing
/// between authentication methods before anything is verified.
pub(crate) fn is_hmac_assertion(token: &str) -> bool {
    token.len() <= MAX_ASSERTION_LENGTH && jsonwebtoken::decode_header(token).is_ok_and(|header| is_hmac(header.alg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn parse_takes_three_segments_and_refuses_jwe() {
        let header = segment(r#"{"alg":"HS256"}"#);
        let claims = segment(r#"{"iss":"c","sub":"c"}"#);
        let verifier = AssertionVerifier::new();
        let token = format!("{header}.{claims}.sig");
        let parsed = verifier.parse(&token).unwrap();
        assert_eq!((parsed.issuer().unwrap(), parsed.algorithm()), ("c", Algorithm::HS256));
        let encrypted = format!("{}.key.iv.text.tag", segment(r#"{"alg":"RSA-OAEP","enc":"A128GCM"}"#));
        assert!(matches!(verifier.parse(&encrypted), Err(AssertionError::Encrypted)));
        for bad in [format!("{header}.{claims}"), format!("{header}.{claims}.sig.x"), header.clone(), String::new()] {
            assert!(matches!(verifier.parse(&bad), Err(AssertionError::Malformed(_))), "{bad}");
        }
        assert!(matches!(
            verifier.parse(&format!("{header}.!!.sig")),
            Err(AssertionError::Malformed("the payload is not base64url JSON"))
        ));
    }
    fn token(header: &str, claims: &str) -> String {
        format!("{}.{}.sig", segment(header), segment(claims))
    }

    #[test]
    fn reads_alg_and_kid() {
        let header = r#"{"alg":"RS256","kid":"k1","typ":"JWT","jku":"https://evil.example/jwks","x":"y"}"#;
        let token = token(header, "{}");
        let parsed = AssertionVerifier::new().parse(&token).unwrap();
        assert_eq!((parsed.algorithm(), parsed.key_id()), (Algorithm::RS256, Some("k1")));
    }

    #[test]
    fn refuses_none_and_unlisted_algorithms() {
        let verifier = AssertionVerifier::new().with_algorithms([Algorithm::RS256, Algorithm::HS256]);
        let refusal =
            |header: &str| verifier.parse(&token(header, r#"{"iss":"c"}"#)).map(|p| p.algorithm()).unwrap_err();
        assert!(matches!(refusal(r#"{"alg":"none"}"#), AssertionError::Unsigned));
        assert!(matches!(refusal(r#"{"alg":"NONE"}"#), AssertionError::Unsigned));
        assert!(matches!(refusal(r#"{"alg":"ES256"}"#), AssertionError::AlgorithmNotAllowed("ES256")));
        assert!(matches!(refusal(r#"{"alg":"HS1"}"#), AssertionError::UnsupportedAlgorithm));
        // The header is judged before the payload, whatever the payload is.
        let junk_payload = format!("{}.!!.sig", segment(r#"{"alg":"none"}"#));
        assert!(matches!(verifier.parse(&junk_payload), Err(AssertionError::Unsigned)));
        let junk_payload = format!("{}.!!.sig", segment(r#"{"alg":"ES256"}"#));
        assert!(matches!(verifier.parse(&junk_payload), Err(AssertionError::AlgorithmNotAllowed("ES256"))));
    }

    #[test]
    fn refuses_malformed_headers() {
        let verifier = AssertionVerifier::new();
        let refusal = |header: &str| verifier.parse(&format!("{header}.e30.sig")).map(|p| p.algorithm()).unwrap_err();
        let repeated = segment(r#"{"alg":"HS256","alg":"RS256"}"#);
        let (array, kid) = (segment(r#"["RS256"]"#), segment(r#"{"alg":"RS256","kid":7}"#));
        for bad in
            ["", "!!", &segment("[]"), &array, &segment(r#"{"alg":1}"#), &segment(r#"{"kid":"x"}"#), &repeated, &kid]
        {
            assert!(matches!(refusal(bad), AssertionError::Malformed(_)), "{bad}");
        }
        assert!(matches!(refusal(&segment(r#"{"alg":"RS256","crit":["exp"]}"#)), AssertionError::CriticalHeader));
        assert!(matches!(refusal(&segment(r#"{"alg":"RS256","enc":"A128GCM"}"#)), AssertionError::Encrypted));
        assert!(matches!(refusal(&segment(r#"{"alg":"RSA-OAEP","enc":"A128GCM"}"#)), AssertionError::Encrypted));
    }

    #[test]
    fn tells_hmac_assertions() {
        assert!(is_hmac_assertion(&token(r#"{"alg":"HS256"}"#, "{}")));
        assert!(!is_hmac_assertion(&token(r#"{"alg":"RS256"}"#, "{}")));
        assert!(!is_hmac_assertion("garbage"));
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    /// An HS256 assertion for client `c` with `header`, signed with `secret`.
    fn signed(header: &str, secret: &str) -> String {
        let claims = r#"{"iss":"c","sub":"c","aud":"https://as.example","exp":1000300,"iat":1000000}"#;
        let input = format!("{}.{}", segment(header), segment(claims));
        let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256).unwrap();
        format!("{input}.{signature}")
    }

    #[test]
    fn keys_offered_by_the_token_are_ignored() {
        const SECRET: &str = "the-client-secret-of-at-least-thirty-two-bytes";
        const ATTACKER: &str = "the-attacker-secret-of-at-least-thirty-two-bytes";
        let client: Arc<dyn Client> = Arc::new(grantry_core::ClientRecord::confidential("c", SECRET));
        let verifier = AssertionVerifier::new();
        let verify = |token: &str| {
            block_on(verifier.verify(verifier.parse(token)?, &client, &["https://as.example"], 1_000_000))
        };
        let jwk = format!(r#"{{"kty":"oct","k":"{}"}}"#, URL_SAFE_NO_PAD.encode(ATTACKER));
        let header = format!(
            r#"{{"alg":"HS256","jwk":{jwk},"jku":"https://evil.example/jwks","x5u":"https://evil.example/c"}}"#
        );
        assert!(matches!(verify(&signed(&header, ATTACKER)), Err(AssertionError::BadSignature)));
        // The same header is read and passes with the client's own secret.
        let claims = verify(&signed(&header, SECRET)).unwrap();
        assert_eq!((claims.issuer(), claims.expires_at()), ("c", 1_000_300));
    }

    /// Properties over generated inputs (proptest: structured generation and shrinking, on
    /// stable, in the normal test run).
    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Text made of what JWS parsing splits and decodes on: dots, base64url, JSON.
        fn jws_like() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                3 => "[A-Za-z0-9_-]{0,40}",
                2 => Just(".".to_owned()),
                1 => Just(URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#)),
                1 => Just(URL_SAFE_NO_PAD.encode(r#"{"iss":"c","sub":"c","aud":"a","exp":1}"#)),
                1 => ".{0,8}",
            ];
            proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
        }

        /// A JSON object with some registered claims, of any JSON type.
        fn claims_json() -> impl Strategy<Value = String> {
            let value = prop_oneof![
                Just("null".to_owned()),
                any::<i64>().prop_map(|n| n.to_string()),
                any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(|f| format!("{f:?}")),
                ".{0,12}".prop_map(|s| serde_json::Value::String(s).to_string()),
                Just(r#"["a","b"]"#.to_owned()),
                Just(r#"{"x":[1]}"#.to_owned()),
            ];
            let name = prop::sample::select(&["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "other"][..]);
            proptest::collection::btree_map(name, value, 0..8).prop_map(|members| {
                let body: Vec<String> = members.iter().map(|(name, value)| format!("\"{name}\":{value}")).collect();
                format!("{{{}}}", body.join(","))
            })
        }

        proptest! {
            #[test]
            fn any_string_never_panics(token in ".*") {
                let verifier = AssertionVerifier::new();
                if let Ok(parsed) = verifier.parse(&token) {
                    let _ = parsed.issuer();
                    let _ = verifier.precheck(&parsed, &["https://as.example"], 1_700_000_000);
                }
            }

            #[test]
            fn jws_like_text_never_panics(token in jws_like()) {
                let verifier = AssertionVerifier::new();
                if let Ok(parsed) = verifier.parse(&token) {
                    let _ = verifier.precheck(&parsed, &["a"], 0);
                }
            }

            #[test]
            fn what_is_not_three_segments_is_refused(token in jws_like()) {
                let dots = token.matches('.').count();
                prop_assume!(dots != 2);
                let refused = AssertionVerifier::new().parse(&token);
                prop_assert!(
                    matches!(refused, Err(AssertionError::Malformed(_) | AssertionError::Encrypted | AssertionError::TooLarge)),
                    "{:?}", refused.map(|p| p.algorithm())
                );
            }

            #[test]
            fn segments_that_are_not_base64url_json_objects_are_refused(
                header in ".{0,40}",
                payload in ".{0,40}",
                signature in "[A-Za-z0-9_-]{0,20}",
            ) {
                let is_object = |segment: &str| {
                    URL_SAFE_NO_PAD.decode(segment).ok()
                        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
                        .is_some_and(|v| v.is_object())
                };
                prop_assume!(!header.contains('.') && !payload.contains('.'));
                prop_assume!(!is_object(&header) || !is_object(&payload));
                let token = format!("{header}.{payload}.{signature}");
                prop_assert!(AssertionVerifier::new().parse(&token).is_err());
            }

            #[test]
            fn any_claims_under_an_allowed_header_parse_or_are_refused_cleanly(claims in claims_json()) {
                let token = format!("{}.{}.sig", URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k"}"#), URL_SAFE_NO_PAD.encode(&claims));
                let verifier = AssertionVerifier::new();
                match verifier.parse(&token) {
                    Ok(parsed) => {
                        prop_assert_eq!(parsed.algorithm(), Algorithm::RS256);
                        prop_assert_eq!(parsed.key_id(), Some("k"));
                        let _ = verifier.precheck(&parsed, &["a"], 1_700_000_000);
                    }
                    Err(err) => prop_assert!(matches!(err, AssertionError::MalformedClaim(_)), "{err}"),
                }
            }
        }
    }
}
