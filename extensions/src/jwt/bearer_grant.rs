//! The JWT bearer grant (RFC 7523 §2.1): a client exchanges a JWT it signed for an access
//! token, for itself or for a user the JWT names.

use super::JWT_BEARER_GRANT_TYPE;
use super::assertion::{AssertionError, AssertionVerifier};
use super::jti;
use super::keys::AssertionKeys;
use super::subject::{ClientOrUser, SubjectResolver};
use grantry_core::client_auth::storage_failure;
use grantry_core::{
    Client, ClientAuthMethods, ClientAuthentication, Grant, GrantType, OAuthError, Serves, TokenDecision, TokenGrant,
    TokenRequest,
};
use jsonwebtoken::Algorithm;
use std::fmt;
use std::sync::Arc;

/// The grant type, checked at compile time.
const JWT_BEARER: GrantType = GrantType::from_static(JWT_BEARER_GRANT_TYPE);

/// The JWT bearer grant: `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with an
/// `assertion` (RFC 7523 §2.1, §3).
///
/// The assertion identifies the client: its `iss` is a registered client's id, and it is
/// verified with that client's keys (see [`AssertionVerifier`] for the checks). Client
/// authentication is therefore optional; if the request authenticates a client too, `iss`
/// must be that client. The issuing client must be allowed this grant type
/// (`unauthorized_client` otherwise).
///
/// The tokens are for whom `sub` names, as the [`SubjectResolver`] decides ([`ClientOrUser`]
/// by default: the client itself when `sub` = `iss`, else a known user). The scope is the
/// requested `scope` within the client's allowed scope, or all of it. No refresh token is
/// offered unless [`with_refresh_token`](Self::with_refresh_token) says so.
///
/// Each assertion is accepted once (RFC 7523 §3 item 7; the server contract's "single use,
/// everywhere"): one with a `jti` once per `(iss, jti)`, one without once as a whole (by the
/// digest of its signed part, see [`AssertionClaims::replay_key`](super::AssertionClaims::replay_key)),
/// within its lifetime, however many requests carry it at once. The record is kept in the
/// server's [`ReplayStore`](grantry_core::storage::ReplayStore), where the JWT client
/// authenticators record theirs too, so an assertion spent authenticating a client is refused
/// here and the other way round, on every server sharing the store. [`with_require_jti`](Self::with_require_jti) refuses
/// assertions without `jti`.
///
/// Every refusal of the assertion is `invalid_grant` whose description names the check; a
/// missing `assertion` is `invalid_request`.
///
/// Allowed client authentication methods: every method on the server, `none` included (narrow
/// them at registration with `restrict_auth_methods`).
#[derive(Clone)]
pub struct JwtBearerGrant {
    verifier: AssertionVerifier,
    /// Whether an assertion without `jti` is refused.
    require_jti: bool,
    subjects: Arc<dyn SubjectResolver>,
    refresh_token: bool,
}

impl fmt::Debug for JwtBearerGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtBearerGrant")
            .field("verifier", &self.verifier)
            .field("require_jti", &self.require_jti)
            .field("refresh_token", &self.refresh_token)
            .finish_non_exhaustive()
    }
}

impl Default for JwtBearerGrant {
    fn default() -> Self {
        JwtBearerGrant {
            verifier: AssertionVerifier::new(),
            require_jti: false,
            subjects: Arc::new(ClientOrUser::new()),
            refresh_token: false,
        }
    }
}

impl JwtBearerGrant {
    /// The grant with the defaults: algorithms RS256, PS256, ES256, EdDSA, HS256; leeway 60 s;
    /// assertions live at most 1 hour; keys from the client's registration; each assertion
    /// single-use in the server's store, `jti` optional; subjects by [`ClientOrUser`]; no refresh token.
    pub fn new() -> Self {
        Self::default()
    }

    /// The grant type this grant serves.
    pub fn grant_type() -> GrantType {
        JWT_BEARER
    }

    /// Replaces the allowed signature algorithms.
    pub fn with_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.verifier = self.verifier.with_algorithms(algorithms);
        self
    }

    /// Sets the leeway for clock skew in seconds (at most [`MAX_LEEWAY`](super::MAX_LEEWAY)).
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.verifier = self.verifier.with_leeway(seconds);
        self
    }

    /// Sets the largest `exp - now` accepted, in seconds.
    pub fn with_max_lifetime(mut self, seconds: u64) -> Self {
        self.verifier = self.verifier.with_max_lifetime(seconds);
        self
    }

    /// Replaces where verification keys come from.
    pub fn with_keys(mut self, keys: impl AssertionKeys) -> Self {
        self.verifier = self.verifier.with_keys(keys);
        self
    }

    /// Whether to refuse assertions without `jti` (`invalid_grant` "assertion is missing the
    /// jti claim"). Off by default: RFC 7523 makes `jti` optional for bearer assertions, and
    /// one without is single-use all the same, by its digest.
    pub fn with_require_jti(mut self, require: bool) -> Self {
        self.require_jti = require;
        self
    }

    /// Replaces how `sub` is resolved.
    pub fn with_subject_resolver(mut self, resolver: impl SubjectResolver) -> Self {
        self.subjects = Arc::new(resolver);
        self
    }

    /// Whether to offer a refresh token (issued only if the client is also allowed the
    /// `refresh_token` grant and a refresh grant is registered).
    pub fn with_refresh_token(mut self, offer: bool) -> Self {
        self.refresh_token = offer;
        self
    }

    /// The verifier, as configured.
    pub fn verifier(&self) -> &AssertionVerifier {
        &self.verifier
    }

    /// The client the assertion's issuer names: the authenticated client, which must be the
    /// issuer, or else the registered client with the issuer's id.
    async fn issuing_client(&self, req: &TokenRequest<'_>, issuer: &str) -> Result<Arc<dyn Client>, OAuthError> {
        if let Some(client) = req.client() {
            if client.client_id() != issuer {
                return Err(OAuthError::invalid_grant("assertion issuer does not match the authenticated client"));
            }
            return Ok(client.clone());
        }
        // Credentials no authenticator took (no JWT authenticator on this server) must not be
        // ignored.
        if req.params().contains("client_assertion") || req.params().contains("client_assertion_type") {
            return Err(OAuthError::invalid_client("client_assertion is not supported here"));
        }
        req.clients()
            .find_client(issuer)
            .await
            .map_err(storage_failure)?
            .ok_or_else(|| OAuthError::invalid_grant("unknown assertion issuer"))
    }

    /// Spends the assertion: the first use of its `jti` (or, without one, of the assertion)
    /// passes, any other is `invalid_grant`.
    async fn spend(&self, claims: &super::AssertionClaims, req: &TokenRequest<'_>) -> Result<(), OAuthError> {
        if self.require_jti && claims.jti().is_none() {
            return Err(AssertionError::MissingClaim("jti").into_invalid_grant());
        }
        jti::spend(req.replays(), claims, req.now()).await.map_err(AssertionError::into_invalid_grant)
    }
}

impl Grant for JwtBearerGrant {
    fn serves(&self) -> Serves<Self> {
        Serves::token_endpoint(JWT_BEARER)
            .with_auth_methods(ClientAuthMethods::any())
            .with_client_authentication(ClientAuthentication::Optional)
    }
}

impl TokenGrant for JwtBearerGrant {
    /// RFC 7523 §2.1, §3: the assertion names and authenticates the client; the grant checks it
    /// and says whom the tokens are for, and the engine looks the client up again, checks it is
    /// allowed this grant type, resolves the scope and issues the tokens.
    async fn exchange(&self, req: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        let assertion = req.params().require("assertion")?;
        let parsed = self.verifier.parse(assertion).map_err(AssertionError::into_invalid_grant)?;
        let config = req.config();
        let audiences = [config.issuer(), config.token_endpoint()];
        let now = req.now();
        // Claims that fail anyway cost no client lookup (nor, in `verify`, any key lookup or
        // signature check).
        self.verifier.precheck(&parsed, &audiences, now).map_err(AssertionError::into_invalid_grant)?;
        let issuer = parsed.issuer().map_err(AssertionError::into_invalid_grant)?;
        let client = self.issuing_client(req, issuer).await?;
        let claims =
            self.verifier.verify(parsed, &client, &audiences, now).await.map_err(AssertionError::into_invalid_grant)?;
        // The engine checks this too; checked here first so that a refused request does not
        // use up the assertion.
        if !client.allows_grant_type(req.grant_type()) {
            return Err(OAuthError::unauthorized_client(format!(
                "the client is not allowed the {} grant type",
                req.grant_type()
            )));
        }
        let subject = self.subjects.resolve_subject(&claims, &client, req).await?;
        self.spend(&claims, req).await?;
        let decision = match subject {
            Some(subject) => TokenDecision::for_user(subject),
            None => TokenDecision::for_client(),
        };
        let decision = decision.identified_client(client.client_id());
        Ok(if self.refresh_token { decision.with_refresh_token() } else { decision })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grantry_core::ClientAuthMethod;

    #[test]
    fn serves_the_jwt_bearer_grant_type_with_optional_client_authentication() {
        let serves = JwtBearerGrant::new().serves();
        let meta = serves.metadata();
        assert_eq!(meta.grant_type().map(GrantType::as_str), Some(JWT_BEARER_GRANT_TYPE));
        assert_eq!(meta.client_authentication(), ClientAuthentication::Optional);
        assert!(meta.auth_methods().allows(&ClientAuthMethod::NONE));
    }
}
