//! Choosing and running the client authentication method of a request.

use crate::client::Client;
use crate::client_auth::{BASIC_CHALLENGE, ClientAuthInput, ClientAuthenticator, Presence};
use crate::error::OAuthError;
use crate::grant::{ClientAuthMethods, ClientAuthentication};
use crate::grant_type::ClientAuthMethod;
use crate::params::Params;
use crate::request::Request;
use crate::server::AuthorizationServer;
use http::header::AUTHORIZATION;
use std::sync::Arc;

impl AuthorizationServer {
    /// Authenticates the client of a request with one of `allowed`.
    ///
    /// Exactly one method may carry credentials (two is `invalid_request`); `client_id` alone
    /// selects `none`. The method must be allowed here and be the one the client registered
    /// (`invalid_client` otherwise). With [`ClientAuthentication::Optional`] and no credentials,
    /// the answer is `Ok(None)`.
    pub async fn authenticate_client(
        &self,
        request: &Request,
        params: &Params<'_>,
        allowed: &ClientAuthMethods,
        requirement: ClientAuthentication,
    ) -> Result<Option<Arc<dyn Client>>, OAuthError> {
        self.authenticate_with(request, params, &|method| allowed.allows(method), requirement).await
    }

    /// [`authenticate_client`](Self::authenticate_client) with the allowed methods as a test.
    pub(crate) async fn authenticate_with(
        &self,
        request: &Request,
        params: &Params<'_>,
        allowed: &(dyn Fn(&ClientAuthMethod) -> bool + Sync),
        requirement: ClientAuthentication,
    ) -> Result<Option<Arc<dyn Client>>, OAuthError> {
        // A value that is not text is no method's credential, yet it was an attempt: refused,
        // not ignored (RFC 6749 §3.2 invalid_request).
        let authorization = request.headers().get(AUTHORIZATION);
        if authorization.is_some_and(|value| std::str::from_utf8(value.as_bytes()).is_err()) {
            return Err(OAuthError::invalid_request("the authorization header is not valid text"));
        }
        let selected = self.select_authenticator(request, params)?;
        // RFC 6749 §5.2: a client that tried the Authorization header gets 401 with a challenge,
        // for its scheme where this server has it, else for Basic. A scheme no method reads
        // (Bearer, Digest, a bare "Basic") is such an attempt, never ignored.
        if authorization.is_some() && selected.and_then(|a| a.challenge()).is_none() {
            return Err(OAuthError::invalid_client("the Authorization header does not carry Basic client credentials")
                .with_challenge(BASIC_CHALLENGE));
        }
        let Some(authenticator) = selected else {
            return match requirement {
                ClientAuthentication::Optional => Ok(None),
                _ => Err(OAuthError::invalid_client("client authentication required")),
            };
        };
        let challenge = |err: OAuthError| match authenticator.challenge() {
            Some(c) if *err.code() == crate::ErrorCode::InvalidClient => err.with_challenge(c),
            _ => err,
        };
        let method = authenticator.method();
        if !allowed(&method) {
            return Err(challenge(OAuthError::invalid_client(format!(
                "client authentication method {method} is not allowed here"
            ))));
        }
        let input = ClientAuthInput {
            request,
            params,
            clients: &*self.storage.clients,
            replays: &*self.storage.replays,
            issuer: self.config.issuer(),
            token_endpoint: self.config.token_endpoint(),
            clock: self.config.clock(),
            throttle: &*self.throttle,
        };
        let client = authenticator.authenticate(&input).await.map_err(challenge)?;
        if *client.token_endpoint_auth_method() != method {
            return Err(challenge(OAuthError::invalid_client(format!(
                "the client is not registered for client authentication method {method}"
            ))));
        }
        Ok(Some(client))
    }

    fn select_authenticator(
        &self,
        request: &Request,
        params: &Params<'_>,
    ) -> Result<Option<&dyn ClientAuthenticator>, OAuthError> {
        let mut with_credentials = None;
        let mut identifying = None;
        for authenticator in &self.authenticators {
            match authenticator.presence(request, params) {
                Presence::Credentials if with_credentials.is_some() => {
                    return Err(OAuthError::invalid_request("more than one client authentication method used"));
                }
                Presence::Credentials => with_credentials = Some(&**authenticator),
                Presence::IdentifiesOnly => identifying = identifying.or(Some(&**authenticator)),
                Presence::Absent => {}
            }
        }
        Ok(with_credentials.or(identifying))
    }
}
