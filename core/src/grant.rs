//! The [`Grant`] trait: what every grant, built-in or user-written, implements.

use crate::authorization::{Approval, AuthorizationRequest};
use crate::client::Client;
use crate::context::GrantContext;
use crate::error::OAuthError;
use crate::future::MaybeReady;
use crate::grant_type::{ClientAuthMethod, GrantType, ResponseType};
use crate::params::Params;
use crate::request::Request;
use crate::scope::Scope;
use crate::storage::{Attributes, FamilyId};
use std::sync::Arc;

/// Whether the token endpoint must authenticate the client before the grant runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthentication {
    /// A client must authenticate with one of the grant's allowed methods.
    Required,
    /// Client credentials are checked if present; otherwise the grant identifies the client
    /// itself (as the JWT bearer grant does from the assertion's issuer, RFC 7523 §3.1).
    Optional,
}

/// What a grant serves and allows, declared as data: the registry reads it once, at
/// registration, without calling into the flow.
///
/// ```
/// use grantry_core::{ClientAuthMethod, GrantMetadata, GrantType, ResponseType};
/// let code = GrantMetadata::token_endpoint(GrantType::AUTHORIZATION_CODE)
///     .with_response_types([ResponseType::CODE])
///     .with_auth_methods([ClientAuthMethod::CLIENT_SECRET_BASIC, ClientAuthMethod::NONE]);
/// assert_eq!(code.grant_type, Some(GrantType::AUTHORIZATION_CODE));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantMetadata {
    /// The `grant_type` the grant serves at the token endpoint, if any.
    pub grant_type: Option<GrantType>,
    /// The `response_type`s the grant serves at the authorization endpoint.
    pub response_types: Vec<ResponseType>,
    /// The client authentication methods allowed at the token endpoint.
    pub auth_methods: Vec<ClientAuthMethod>,
    /// Whether client authentication is required.
    pub client_authentication: ClientAuthentication,
}

impl GrantMetadata {
    /// A token endpoint grant allowing `client_secret_basic` (Authlib's default).
    pub fn token_endpoint(grant_type: GrantType) -> Self {
        GrantMetadata {
            grant_type: Some(grant_type),
            response_types: Vec::new(),
            auth_methods: vec![ClientAuthMethod::CLIENT_SECRET_BASIC],
            client_authentication: ClientAuthentication::Required,
        }
    }

    /// An authorization-endpoint-only grant (such as implicit).
    pub fn authorization_endpoint(response_types: impl IntoIterator<Item = ResponseType>) -> Self {
        GrantMetadata {
            grant_type: None,
            response_types: response_types.into_iter().collect(),
            auth_methods: Vec::new(),
            client_authentication: ClientAuthentication::Required,
        }
    }

    /// Adds response types served at the authorization endpoint.
    pub fn with_response_types(mut self, response_types: impl IntoIterator<Item = ResponseType>) -> Self {
        self.response_types.extend(response_types);
        self
    }

    /// Replaces the allowed client authentication methods.
    pub fn with_auth_methods(mut self, methods: impl IntoIterator<Item = ClientAuthMethod>) -> Self {
        self.auth_methods = methods.into_iter().collect();
        self
    }

    /// Sets whether client authentication is required.
    pub fn with_client_authentication(mut self, requirement: ClientAuthentication) -> Self {
        self.client_authentication = requirement;
        self
    }
}

/// What a validated token request grants: the grant's answer, from which the engine issues
/// tokens after the extensions have seen it.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    /// The client the tokens are for.
    pub client: Arc<dyn Client>,
    /// The grant type being used.
    pub grant_type: GrantType,
    /// The resource owner, if the tokens act for one.
    pub subject: Option<Arc<str>>,
    /// The scope granted.
    pub scope: Scope,
    /// The scope the client asked for, if it asked (the response carries `scope` whenever the
    /// two differ).
    pub requested_scope: Option<Scope>,
    /// The token family to continue (a code's or a refresh token's), or `None` for a new one.
    pub family: Option<FamilyId>,
    /// Whether the grant offers a refresh token. The engine issues one only when, besides,
    /// the client is allowed the `refresh_token` grant and a refresh grant is registered that
    /// accepts the client's authentication method: a token the client cannot use is not issued.
    pub offers_refresh_token: bool,
    /// The scope of the refresh token, when it differs from the access token's: a refresh
    /// grant that narrows the access token keeps the refresh token's original scope
    /// (RFC 6749 §6).
    pub refresh_scope: Option<Scope>,
    /// Data carried from the authorization (such as the PKCE challenge) and stored with the tokens.
    pub attributes: Attributes,
}

impl AccessGrant {
    /// A grant of `scope` to `client`, for no user, with a new family and no refresh token.
    pub fn new(client: Arc<dyn Client>, grant_type: GrantType, scope: Scope, requested_scope: Option<Scope>) -> Self {
        AccessGrant {
            client,
            grant_type,
            subject: None,
            scope,
            requested_scope,
            family: None,
            offers_refresh_token: false,
            refresh_scope: None,
            attributes: Attributes::new(),
        }
    }

    /// Sets the resource owner.
    pub fn for_subject(mut self, subject: impl Into<Arc<str>>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Offers a refresh token (subject to the client's allowed grant types).
    pub fn with_refresh_token(mut self) -> Self {
        self.offers_refresh_token = true;
        self
    }
}

/// A token request as a grant sees it, after the engine parsed it, dispatched it and
/// authenticated the client.
pub struct TokenRequest<'a> {
    /// The raw request.
    pub request: &'a Request,
    /// Its form parameters.
    pub params: &'a Params,
    /// The authenticated client: always `Some` for grants with
    /// [`ClientAuthentication::Required`].
    pub client: Option<Arc<dyn Client>>,
    /// The grant type requested.
    pub grant_type: &'a GrantType,
    /// Access to storage, configuration and token issuance.
    pub ctx: GrantContext<'a>,
}

impl TokenRequest<'_> {
    /// The authenticated client, for grants that require client authentication.
    pub fn client(&self) -> Result<&Arc<dyn Client>, OAuthError> {
        self.client.as_ref().ok_or_else(|| OAuthError::invalid_client("client authentication required"))
    }
}

/// The parameters a grant adds to the authorization response redirect (for example `code`, or
/// the token fields of the implicit grant). The engine adds `state` and sends the redirect.
pub type RedirectParams = Vec<(String, String)>;

/// A grant: a plugin serving one `grant_type` at the token endpoint and/or `response_type`s at
/// the authorization endpoint.
///
/// The engine owns everything common to all grants (parsing, client authentication,
/// redirect URI and scope checks, extensions, issuing and storing tokens); a grant implements
/// only what is its own. Async steps return a [`MaybeReady`]: `MaybeReady::ready(value)` when
/// nothing needs waiting, `MaybeReady::boxed(async move { ... })` otherwise.
///
/// ```
/// use grantry_core::{AccessGrant, MaybeReady, Grant, GrantMetadata, GrantType, OAuthError, Scope, TokenRequest};
///
/// /// Exchanges a fixed API key for an access token (a toy URN grant).
/// struct ApiKeyGrant;
///
/// impl Grant for ApiKeyGrant {
///     fn metadata(&self) -> GrantMetadata {
///         let grant_type = GrantType::parse("urn:example:params:oauth:grant-type:api-key").unwrap();
///         GrantMetadata::token_endpoint(grant_type)
///     }
///
///     fn validate_token_request<'a>(&'a self, req: &'a TokenRequest<'a>) -> MaybeReady<'a, Result<AccessGrant, OAuthError>> {
///         MaybeReady::boxed(async move {
///             let client = req.client()?.clone();
///             if req.params.require("api_key")? != "let-me-in" {
///                 return Err(OAuthError::invalid_grant("unknown API key"));
///             }
///             let (scope, requested) = Scope::resolve(req.params.get("scope"), client.allowed_scope())?;
///             Ok(AccessGrant::new(client, req.grant_type.clone(), scope, requested))
///         })
///     }
/// }
/// ```
pub trait Grant: Send + Sync + 'static {
    /// What the grant serves and allows.
    fn metadata(&self) -> GrantMetadata;

    /// Grant-specific checks of an authorization request. The engine has already checked the
    /// client, the redirect URI, the response type and the scope; extensions run after this.
    fn validate_authorization_request<'a>(
        &'a self,
        _request: &'a mut AuthorizationRequest,
        _ctx: &'a GrantContext<'a>,
    ) -> MaybeReady<'a, Result<(), OAuthError>> {
        MaybeReady::ready(Ok(()))
    }

    /// Creates the authorization response once the resource owner approved: the parameters
    /// of the redirect.
    fn create_authorization_response<'a>(
        &'a self,
        _request: &'a AuthorizationRequest,
        _approval: &'a Approval,
        _ctx: &'a GrantContext<'a>,
    ) -> MaybeReady<'a, Result<RedirectParams, OAuthError>> {
        MaybeReady::ready(Err(OAuthError::unsupported_response_type(
            "this grant does not serve the authorization endpoint",
        )))
    }

    /// Validates a token request and says what it grants. The engine then runs the
    /// extensions, issues and stores the tokens.
    fn validate_token_request<'a>(
        &'a self,
        _request: &'a TokenRequest<'a>,
    ) -> MaybeReady<'a, Result<AccessGrant, OAuthError>> {
        MaybeReady::ready(Err(OAuthError::unsupported_grant_type("this grant does not serve the token endpoint")))
    }
}
