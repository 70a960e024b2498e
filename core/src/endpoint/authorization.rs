//! The authorization endpoint (RFC 6749 §3.1, §4.1.1, §4.2.1).
//!
//! Validation order matters: until the client and its redirect URI are known good, errors are
//! shown directly and never redirected (§4.1.2.1); after that, they go back to the client.

use super::issue::unauthorized;
use crate::authorization::{
    Approval, AuthorizationError, AuthorizationRequest, Consent, RedirectParams, ResponseMode, build_redirect,
};
use crate::client::Client;
use crate::client_auth::storage_failure;
use crate::decision::{AuthorizationDecision, AuthorizationResponseKind};
use crate::error::OAuthError;
use crate::grant_type::{GrantType, ResponseType};
use crate::issuance::{Consumes, Issuance};
use crate::params::{Params, duplicate_error};
use crate::registry::Registration;
use crate::request::{self, Request};
use crate::response::{self, Response};
use crate::scope::Scope;
use crate::secret::TokenDigest;
use crate::server::AuthorizationServer;
use crate::storage::Attributes;
use crate::storage::{AuthorizationCodeRecord, FamilyId};
use crate::token::CredentialKind;
use http::{Method, StatusCode};
use std::sync::Arc;

impl AuthorizationServer {
    /// Validates an authorization request (`GET` with a query, or `POST` with a form body).
    ///
    /// On success the application authenticates the resource owner, asks for consent, and
    /// passes the decision to [`create_authorization_response`](Self::create_authorization_response).
    /// On failure, [`AuthorizationError::to_response`] is the redirect or direct error RFC 6749
    /// prescribes.
    pub async fn validate_authorization_request(
        &self,
        request: &Request,
    ) -> Result<AuthorizationRequest, AuthorizationError> {
        let parsed = match *request.method() {
            Method::GET => Params::parse_keeping_duplicates(request::query(request).unwrap_or_default().as_bytes()),
            Method::POST => request::check_form_content_type(request.headers())
                .and_then(|()| Params::parse_keeping_duplicates(request.body())),
            _ => Err(OAuthError::invalid_request("the authorization endpoint accepts only GET and POST")),
        };
        let (params, duplicate) = parsed.map_err(AuthorizationError::direct)?;
        self.validate_parsed(params, duplicate).await.map_err(|err| self.decorate_error(err))
    }

    /// Validates authorization request parameters already parsed (for example from a consent
    /// form's hidden fields).
    pub async fn validate_authorization_params(
        &self,
        params: Params<'_>,
    ) -> Result<AuthorizationRequest, AuthorizationError> {
        self.validate_parsed(params, None).await.map_err(|err| self.decorate_error(err))
    }

    /// Lets the hooks add their parameters (such as RFC 9207 `iss`) to a redirected error.
    fn decorate_error(&self, mut err: AuthorizationError) -> AuthorizationError {
        if err.is_redirect() {
            let registration = err.registration.and_then(|i| self.registry.get(i));
            let mut extra = RedirectParams::default();
            match registration {
                Some(registration) => {
                    self.hooks(registration).for_each(|h| h.before_authorization_response(&mut extra))
                }
                None => self.extensions.iter().for_each(|h| h.before_authorization_response(&mut extra)),
            }
            err.extra = extra;
        }
        err
    }

    async fn validate_parsed(
        &self,
        params: Params<'_>,
        duplicate: Option<String>,
    ) -> Result<AuthorizationRequest, AuthorizationError> {
        let direct = AuthorizationError::direct;
        // Until the client and redirect URI are trusted, a repeated parameter cannot be
        // redirected: which value would one trust?
        if let Some(name) = duplicate.as_deref().filter(|n| ["client_id", "redirect_uri"].contains(n)) {
            return Err(direct(duplicate_error(name)));
        }
        let client_id = params.require("client_id").map_err(direct)?;
        let client = self
            .storage
            .clients
            .find_client(client_id)
            .await
            .map_err(|e| direct(storage_failure(e)))?
            .ok_or_else(|| direct(OAuthError::invalid_client("unknown client_id")))?;
        let (redirect_uri, redirect_uri_given) =
            resolve_redirect_uri(&*client, params.get("redirect_uri")).map_err(direct)?;

        // From here on the redirect URI is trusted: errors go back to the client.
        let state = params.get("state").map(str::to_owned);
        let raw_response_type = params.get("response_type");
        let parsed_response_type = raw_response_type.map(ResponseType::parse);
        // A response type this server serves, or the client registered for, answers in its
        // default mode, where the client reads it. Any other gets its error in the query, as
        // RFC 6749 §4.1.2.1 has it for a code client; no token ever travels there.
        let mode_for = |rt: &ResponseType| {
            if self.registry.by_response_type(rt).is_some() || client.allows_response_type(rt) {
                ResponseMode::default_for(rt)
            } else {
                ResponseMode::Query
            }
        };
        let default_mode = match &parsed_response_type {
            Some(Ok(rt)) => mode_for(rt),
            _ => ResponseMode::Query,
        };
        let fail = |err: OAuthError, mode: ResponseMode| {
            AuthorizationError::redirect(err, &redirect_uri, mode, state.as_deref())
        };
        if let Some(name) = &duplicate {
            // `state` itself may be the repeated one: then none is returned.
            let state = if name == "state" { None } else { state.as_deref() };
            let mode = match &parsed_response_type {
                Some(Ok(rt)) if name != "response_type" => mode_for(rt),
                _ => ResponseMode::Query,
            };
            return Err(AuthorizationError::redirect(duplicate_error(name), &redirect_uri, mode, state));
        }

        // RFC 6749 Appendix A.5: state = 1*VSCHAR (%x20-7E). Any other is refused, and not echoed.
        if state.as_deref().is_some_and(|state| !state.bytes().all(|b| (0x20..=0x7e).contains(&b))) {
            return Err(AuthorizationError::redirect(
                OAuthError::invalid_request("state must consist of printable ASCII characters (RFC 6749 Appendix A.5)"),
                &redirect_uri,
                default_mode,
                None,
            ));
        }
        let response_type = match parsed_response_type {
            None => {
                return Err(fail(OAuthError::invalid_request("missing parameter: response_type"), default_mode));
            }
            Some(Err(_)) => {
                return Err(fail(OAuthError::unsupported_response_type("malformed response_type"), default_mode));
            }
            Some(Ok(rt)) => rt,
        };
        let response_mode = match params.get("response_mode") {
            None => default_mode,
            Some("query") if default_mode == ResponseMode::Fragment => {
                // Tokens must never travel in a query string (RFC 9700 §2.1.2).
                return Err(fail(
                    OAuthError::invalid_request("response_mode query is not allowed for this response_type"),
                    default_mode,
                ));
            }
            Some("query") => ResponseMode::Query,
            Some("fragment") => ResponseMode::Fragment,
            Some(_) => {
                return Err(fail(OAuthError::invalid_request("unsupported response_mode"), default_mode));
            }
        };
        let fail = |err: OAuthError| fail(err, response_mode);

        let (index, registration) = self.registry.by_response_type(&response_type).ok_or_else(|| {
            fail(OAuthError::unsupported_response_type("no grant is registered for this response_type"))
        })?;
        let fail = |err: OAuthError| fail(err).for_registration(index);
        for hook in self.hooks(registration) {
            hook.before_authorization_request_validated(&params).map_err(fail)?;
        }
        if !client.allows_response_type(&response_type) {
            return Err(fail(OAuthError::unauthorized_client(format!(
                "the client is not allowed the response type {response_type}"
            ))));
        }
        let (scope, requested_scope) = Scope::resolve(params.get("scope"), client.allowed_scope()).map_err(fail)?;

        let mut request = AuthorizationRequest {
            client,
            response_type,
            redirect_uri: redirect_uri.clone(),
            redirect_uri_given,
            response_mode,
            scope,
            requested_scope,
            state: state.clone(),
            params: params.into_owned(),
            attributes: Attributes::new(),
            registration: index,
        };
        // The grant and the hooks see the request read-only; what they attach is collected
        // apart and becomes part of the request only after the last of them.
        let mut attach = Attributes::new();
        registration.steps().validate(&request, &mut attach).await.map_err(fail)?;
        for hook in self.hooks(registration) {
            hook.after_authorization_request_validated(&request, &mut attach).map_err(fail)?;
        }
        request.attributes = attach;
        Ok(request)
    }

    /// Completes a validated authorization request with the resource owner's decision: a `302`
    /// redirect to the client carrying the grant's response (or `access_denied`) and `state`.
    pub async fn create_authorization_response(&self, request: &AuthorizationRequest, consent: Consent) -> Response {
        let error = |err: OAuthError| {
            let err = AuthorizationError::redirect(
                err,
                &request.redirect_uri,
                request.response_mode,
                request.state.as_deref(),
            )
            .for_registration(request.registration);
            self.decorate_error(err).to_response()
        };
        let approval = match consent {
            Consent::Deny => {
                return error(OAuthError::access_denied("the resource owner denied the request"));
            }
            Consent::Allow(approval) => approval,
        };
        let Some(registration) = self.registry.get(request.registration) else {
            return error(OAuthError::server_error("the request was validated by another server"));
        };
        let decided = match registration.steps().respond(request, &approval).await {
            Ok(decision) => self.authorization_response_params(registration, request, &approval, decision).await,
            Err(err) => Err(err),
        };
        match decided {
            Ok(mut params) => {
                if let Some(state) = &request.state {
                    params.push("state", state.clone());
                }
                self.hooks(registration).for_each(|h| h.before_authorization_response(&mut params));
                response::redirect(
                    StatusCode::FOUND,
                    &build_redirect(&request.redirect_uri, request.response_mode, params.as_pairs()),
                )
            }
            Err(err) => error(err),
        }
    }

    /// What the grant's decision becomes: a code the engine mints, or an access token it
    /// issues, for exactly this request and approval.
    async fn authorization_response_params(
        &self,
        registration: &Registration,
        request: &AuthorizationRequest,
        approval: &Approval,
        decision: AuthorizationDecision,
    ) -> Result<RedirectParams, OAuthError> {
        match decision.response {
            AuthorizationResponseKind::Code => {
                let code = self.mint_code(registration, request, approval).await?;
                Ok(RedirectParams::from_pairs(vec![("code".to_owned(), code)]))
            }
            AuthorizationResponseKind::AccessToken => {
                if !request.client.allows_grant_type(&GrantType::IMPLICIT) {
                    return Err(unauthorized(&GrantType::IMPLICIT));
                }
                let scope = approval.granted_scope(request);
                let issuance = Issuance {
                    client: request.client.clone(),
                    grant_type: GrantType::IMPLICIT,
                    subject: Some(Arc::from(approval.subject.as_str())),
                    limit: scope.clone(),
                    scope,
                    requested_scope: request.requested_scope.clone(),
                    family: None,
                    refresh_scope: None,
                    // RFC 6749 §4.2.2: the implicit grant never issues a refresh token.
                    offers_refresh_token: false,
                    attributes: Attributes::new(),
                    from_code: false,
                    consumes: Consumes::Nothing,
                    actor: None,
                    audience: None,
                    exchanged: false,
                };
                let token = self.issue(registration, issuance, &request.params).await?;
                Ok(RedirectParams::from_pairs(token.to_pairs()))
            }
        }
    }

    /// Mints and stores an authorization code bound to the client, the redirect URI, the
    /// approved scope, the resource owner, the code lifetime, and the data the grant and every
    /// extension attached (the request's, then each `before_code_issued` hook's).
    async fn mint_code(
        &self,
        registration: &Registration,
        request: &AuthorizationRequest,
        approval: &Approval,
    ) -> Result<String, OAuthError> {
        let mut attributes = request.attributes.clone();
        for hook in self.hooks(registration) {
            hook.before_code_issued(request, approval, &mut attributes)?;
        }
        let code = self.config.token_generator().generate(CredentialKind::AuthorizationCode);
        let record = AuthorizationCodeRecord {
            client_id: request.client.shared_client_id(),
            redirect_uri: request.redirect_uri.clone(),
            redirect_uri_given: request.redirect_uri_given,
            subject: Arc::from(approval.subject.as_str()),
            scope: approval.granted_scope(request),
            requested_scope: request.requested_scope.clone(),
            expires_at: self.config.clock().now().saturating_add(self.config.code_ttl()),
            family: FamilyId::random(),
            attributes,
        };
        self.storage.codes.save_code(TokenDigest::of(&code), record).await.map_err(storage_failure)?;
        Ok(code)
    }
}

impl Approval {
    /// The scope to grant: the approved scope cut back to what was requested, or the requested
    /// scope when the approval names none.
    pub fn granted_scope(&self, request: &AuthorizationRequest) -> Scope {
        match &self.scope {
            Some(approved) => approved.intersection(&request.scope),
            None => request.scope.clone(),
        }
    }
}

/// Resolves the redirect URI: an exact match with a registered one (RFC 9700 §2.1), or, when
/// the request names none, the registered one if there is exactly one.
fn resolve_redirect_uri(client: &dyn Client, requested: Option<&str>) -> Result<(String, bool), OAuthError> {
    let registered = client.redirect_uris();
    match requested {
        Some(uri) if registered.iter().any(|r| r == uri) => Ok((uri.to_owned(), true)),
        Some(_) => Err(OAuthError::invalid_request("redirect_uri does not match a registered redirect URI")),
        None => match registered {
            [only] => Ok((only.clone(), false)),
            [] => Err(OAuthError::invalid_request("the client has no registered redirect URI")),
            _ => Err(OAuthError::invalid_request("missing parameter: redirect_uri (the client registered several)")),
        },
    }
}
