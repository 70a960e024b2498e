//! JWT client authentication (RFC 7523 §2.2, §3; OpenID Connect Core §9): the
//! `client_secret_jwt` and `private_key_jwt` methods, as
//! [`ClientAuthenticator`]s to add with
//! [`AuthorizationServer::add_client_authenticator`](grantry_core::AuthorizationServer::add_client_authenticator).
//!
//! Both read `client_assertion_type` and `client_assertion` from the body. Which of the two
//! methods a request uses is decided by the assertion's `alg`: HMAC (`HS*`) is
//! `client_secret_jwt`, anything else `private_key_jwt`. So both can be added to one server,
//! and each claims only its own requests.
//!
//! A client assertion must carry `jti` (OpenID Connect Core §9) and is accepted once per
//! `(iss, jti)`, recorded in the server's single-use store as the bearer grant's assertions
//! are: an assertion spent at either is refused at the other.

use super::assertion::{AssertionError, AssertionVerifier, is_hmac_assertion};
use super::jti;
use super::keys::{AssertionKeys, algorithm_name, is_hmac};
use super::{DEFAULT_ALGORITHMS, JWT_BEARER_ASSERTION_TYPE};
use grantry_core::client_auth::{ClientAuthInput, ClientAuthenticator, Presence, find_client};
use grantry_core::{Client, ClientAuthMethod, OAuthError, Params, Request};
use jsonwebtoken::Algorithm;
use std::fmt;
use std::sync::Arc;

/// Whether the request carries a JWT client assertion, and of which family.
fn assertion_family(params: &Params) -> Option<bool> {
    if !params.contains("client_assertion") && !params.contains("client_assertion_type") {
        return None;
    }
    let hmac = params.get("client_assertion").is_some_and(is_hmac_assertion);
    Some(hmac)
}

/// What both JWT methods share: the verifier.
#[derive(Clone)]
struct JwtClientAuth {
    verifier: AssertionVerifier,
}

impl fmt::Debug for JwtClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtClientAuth").field("verifier", &self.verifier).finish_non_exhaustive()
    }
}

impl JwtClientAuth {
    fn new(algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        JwtClientAuth { verifier: AssertionVerifier::new().with_algorithms(algorithms) }
    }

    fn signing_algorithms(&self) -> Vec<String> {
        self.verifier.algorithms().iter().map(|alg| algorithm_name(*alg).to_owned()).collect()
    }

    /// Authenticates a client by its assertion; every failure is `invalid_client`.
    async fn authenticate(&self, input: &ClientAuthInput<'_>) -> Result<Arc<dyn Client>, OAuthError> {
        let params = input.params;
        match params.get("client_assertion_type") {
            None => return Err(OAuthError::invalid_client("missing parameter: client_assertion_type")),
            Some(JWT_BEARER_ASSERTION_TYPE) => {}
            Some(_) => {
                return Err(OAuthError::invalid_client(format!(
                    "client_assertion_type must be {JWT_BEARER_ASSERTION_TYPE}"
                )));
            }
        }
        let assertion = params
            .get("client_assertion")
            .ok_or_else(|| OAuthError::invalid_client("missing parameter: client_assertion"))?;
        let parsed = self.verifier.parse(assertion).map_err(AssertionError::into_invalid_client)?;
        let issuer = parsed.issuer().map_err(AssertionError::into_invalid_client)?;
        if params.get("client_id").is_some_and(|client_id| client_id != issuer) {
            return Err(OAuthError::invalid_client("client_id does not match the client assertion issuer"));
        }
        let audiences = [input.issuer, input.token_endpoint];
        let now = input.now();
        // Claims that fail anyway cost no client lookup (nor, in `verify`, any key lookup or
        // signature check).
        self.verifier.precheck(&parsed, &audiences, now).map_err(AssertionError::into_invalid_client)?;
        let client = find_client(input.clients, issuer).await?;
        let claims = self
            .verifier
            .verify(parsed, &client, &audiences, now)
            .await
            .map_err(AssertionError::into_invalid_client)?;
        if claims.subject() != claims.issuer() {
            return Err(OAuthError::invalid_client("client assertion sub must equal iss (the client_id)"));
        }
        if claims.jti().is_none() {
            return Err(AssertionError::MissingClaim("jti").into_invalid_client());
        }
        jti::spend(input.replays, &claims, now).await.map_err(AssertionError::into_invalid_client)?;
        Ok(client)
    }
}

/// The builder methods both authenticators share.
macro_rules! builder_methods {
    () => {
        /// Replaces the allowed algorithms; those outside this method's family are dropped.
        pub fn with_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
            self.0.verifier = self.0.verifier.with_algorithms(algorithms).retain_algorithms(Self::FAMILY);
            self
        }

        /// Sets the leeway for clock skew in seconds (at most [`MAX_LEEWAY`](super::MAX_LEEWAY)).
        pub fn with_leeway(mut self, seconds: u64) -> Self {
            self.0.verifier = self.0.verifier.with_leeway(seconds);
            self
        }

        /// Sets the largest `exp - now` accepted, in seconds (which bounds how long a `jti`
        /// is remembered).
        pub fn with_max_lifetime(mut self, seconds: u64) -> Self {
            self.0.verifier = self.0.verifier.with_max_lifetime(seconds);
            self
        }

        /// Replaces where verification keys come from.
        pub fn with_keys(mut self, keys: impl AssertionKeys) -> Self {
            self.0.verifier = self.0.verifier.with_keys(keys);
            self
        }

        /// The verifier, as configured.
        pub fn verifier(&self) -> &AssertionVerifier {
            &self.0.verifier
        }
    };
}

/// `client_secret_jwt`: the client signs its assertion with HMAC (HS256, HS384 or HS512) keyed
/// with its client secret, which the server must hold in the clear
/// ([`Client::shared_secret`]).
///
/// The assertion's `iss` and `sub` are the client id (and so is `client_id`, if sent); `aud`
/// is the server's issuer identifier or token endpoint URL; `exp` and `jti` are required, and a
/// `jti` is accepted once within the assertion's lifetime. Every failure is `invalid_client`.
#[derive(Debug, Clone)]
pub struct ClientSecretJwt(JwtClientAuth);

impl Default for ClientSecretJwt {
    fn default() -> Self {
        ClientSecretJwt(JwtClientAuth::new([Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]))
    }
}

impl ClientSecretJwt {
    const FAMILY: fn(Algorithm) -> bool = is_hmac;

    /// The method with the defaults: HS256, HS384 and HS512; leeway 60 s; assertions live at
    /// most 1 hour.
    pub fn new() -> Self {
        Self::default()
    }

    builder_methods!();
}

/// The two methods differ only in their name and in which assertions they claim.
macro_rules! jwt_authenticator {
    ($ty:ty, $method:expr, hmac = $hmac:expr) => {
        #[grantry_core::async_trait]
        impl ClientAuthenticator for $ty {
            fn method(&self) -> ClientAuthMethod {
                $method
            }

            fn presence(&self, _: &Request, params: &Params) -> Presence {
                if assertion_family(params) == Some($hmac) { Presence::Credentials } else { Presence::Absent }
            }

            async fn authenticate(&self, input: &ClientAuthInput<'_>) -> Result<Arc<dyn Client>, OAuthError> {
                self.0.authenticate(input).await
            }

            fn signing_algorithms(&self) -> Vec<String> {
                self.0.signing_algorithms()
            }
        }
    };
}

jwt_authenticator!(ClientSecretJwt, ClientAuthMethod::CLIENT_SECRET_JWT, hmac = true);
// Every client assertion that is not HMAC-signed, malformed ones included, is claimed by
// private_key_jwt, so that it is refused there rather than ignored.
jwt_authenticator!(PrivateKeyJwt, ClientAuthMethod::PRIVATE_KEY_JWT, hmac = false);

/// `private_key_jwt`: the client signs its assertion with a private key whose public half is
/// in its `jwks` registration metadata (RS256, PS256, ES256, EdDSA by default; any of RS384,
/// RS512, PS384, PS512, ES384 can be allowed).
///
/// The assertion's `iss` and `sub` are the client id (and so is `client_id`, if sent); `aud`
/// is the server's issuer identifier or token endpoint URL; `exp` and `jti` are required, and a
/// `jti` is accepted once within the assertion's lifetime. Every failure is `invalid_client`.
#[derive(Debug, Clone)]
pub struct PrivateKeyJwt(JwtClientAuth);

impl Default for PrivateKeyJwt {
    fn default() -> Self {
        PrivateKeyJwt(JwtClientAuth::new(DEFAULT_ALGORITHMS.into_iter().filter(|alg| !is_hmac(*alg))))
    }
}

impl PrivateKeyJwt {
    const FAMILY: fn(Algorithm) -> bool = is_asymmetric;

    /// The method with the defaults: RS256, PS256, ES256 and EdDSA; leeway 60 s; assertions live
    /// at most 1 hour.
    pub fn new() -> Self {
        Self::default()
    }

    builder_methods!();
}

fn is_asymmetric(alg: Algorithm) -> bool {
    !is_hmac(alg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params<'static> {
        let mut p = Params::new();
        for (k, v) in pairs {
            p.insert(k.to_string(), v.to_string());
        }
        p
    }

    const HS256_HEADER: &str = "eyJhbGciOiJIUzI1NiJ9"; // {"alg":"HS256"}
    const RS256_HEADER: &str = "eyJhbGciOiJSUzI1NiJ9"; // {"alg":"RS256"}

    #[test]
    fn exactly_one_method_claims_an_assertion() {
        let request = grantry_core::http::Request::post("/token").body(Vec::new()).unwrap();
        let secret = ClientSecretJwt::new();
        let key = PrivateKeyJwt::new();
        let cases = [
            (
                params(&[("client_assertion", &format!("{HS256_HEADER}.e30.x"))]),
                Presence::Credentials,
                Presence::Absent,
            ),
            (
                params(&[("client_assertion", &format!("{RS256_HEADER}.e30.x"))]),
                Presence::Absent,
                Presence::Credentials,
            ),
            (params(&[("client_assertion", "garbage")]), Presence::Absent, Presence::Credentials),
            (params(&[("client_assertion_type", JWT_BEARER_ASSERTION_TYPE)]), Presence::Absent, Presence::Credentials),
            (params(&[("client_id", "c")]), Presence::Absent, Presence::Absent),
        ];
        for (p, for_secret, for_key) in cases {
            assert_eq!(secret.presence(&request, &p), for_secret, "{p:?}");
            assert_eq!(key.presence(&request, &p), for_key, "{p:?}");
        }
    }

    #[test]
    fn algorithms_stay_within_the_family() {
        let secret = ClientSecretJwt::new().with_algorithms([Algorithm::HS512, Algorithm::RS256]);
        assert_eq!(secret.signing_algorithms(), ["HS512"]);
        let key = PrivateKeyJwt::new().with_algorithms([Algorithm::HS256, Algorithm::ES384]);
        assert_eq!(key.signing_algorithms(), ["ES384"]);
        assert_eq!(PrivateKeyJwt::new().signing_algorithms(), ["RS256", "PS256", "ES256", "EdDSA"]);
    }
}
