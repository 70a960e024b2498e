//! What every grant, built-in or user-written, implements: [`Grant`] says what it serves, and
//! [`TokenGrant`] and [`AuthorizationGrant`] are its steps at the two endpoints.
//!
//! The division of work between a grant and the engine is on [`Grant`].

use crate::authorization::{Approval, AuthorizationRequest};
use crate::context::{EndpointRequest, TokenRequest};
use crate::decision::{AuthorizationDecision, TokenDecision};
use crate::error::OAuthError;
use crate::grant_type::{ClientAuthMethod, GrantType, ResponseType};
use crate::storage::Attributes;
use std::future::Future;
use std::pin::Pin;

/// A heap-allocated, `Send` future: what the engine holds a grant's step as.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A grant: states up front what it serves and allows, with a [`Serves`] built from the steps
/// it implements ([`TokenGrant`], [`AuthorizationGrant`]), so a grant cannot declare an endpoint
/// it does not serve.
///
/// A grant only *decides*. Everything that keeps a server safe is the engine's, and no grant can
/// widen, swap or skip it:
///
/// | the engine (before or after the grant runs) | the grant |
/// |---|---|
/// | parses the request, at most one of each parameter | reads the parameters it needs |
/// | authenticates the client with a method the grant declared (and the registration kept) | checks its own credentials (an API key, an assertion, a password through [`UserStore`](crate::storage::UserStore)) |
/// | checks the client is allowed the grant type | decides whom the tokens are for |
/// | resolves the requested scope within the client's allowed scope, and refuses a grant's or hook's scope wider than that (`invalid_scope`) | may narrow the scope |
/// | redeems codes and refresh tokens once, bound to their client, revoking the family on reuse | asks for the redemption |
/// | mints codes bound to client, redirect URI, scope, subject, expiry and every extension's data | decides to answer with a code |
/// | makes the tokens, their lifetime and the response; stores digests; sends what it stored | offers a refresh token |
/// | mints pending authorizations (device codes) bound to client and scope, answers their polls, consumes them once | picks the user code, asks to start one, asks for its tokens |
/// | finds a token given as input active, limits an exchange's scope to it, records `act` and `aud` | decides whether the exchange is allowed ([`TokenDecision::exchange`]) |
/// | routes a grant's own endpoint and checks the client there as at the token endpoint | answers its members |
/// | makes access tokens in the configured format, storing their digests | — |
/// | runs the extensions, which may refuse, narrow or add response members, never replace the engine's | — |
///
/// What a grant must still do itself: check the credentials it reads (in constant time where
/// they are secrets), keep its own secrets single-use (an assertion's `jti`), and refuse with the
/// RFC's error when they do not hold.
///
/// A new URN grant, served by the engine with no change to it:
///
/// ```
/// use grantry_core::request::FormBody;
/// use grantry_core::{
///     AuthorizationServer, ClientRecord, Grant, GrantType, MemoryStore, OAuthError, ServerConfig, Serves, TokenDecision,
///     TokenGrant, TokenRequest, http,
/// };
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// /// Checked at compile time: a typo in the URN fails the build.
/// const ONE_TIME_KEY: GrantType = GrantType::from_static("urn:example:params:oauth:grant-type:one-time-key");
///
/// /// Exchanges a one-time key for an access token acting for the key's owner.
/// struct OneTimeKeyGrant {
///     /// Key → owner. (A real grant keeps digests of its keys in a database.)
///     keys: Mutex<HashMap<String, String>>,
/// }
///
/// impl Grant for OneTimeKeyGrant {
///     fn serves(&self) -> Serves<Self> {
///         // Every client authentication method that proves the client (the default).
///         Serves::token_endpoint(ONE_TIME_KEY)
///     }
/// }
///
/// impl TokenGrant for OneTimeKeyGrant {
///     async fn exchange(&self, request: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
///         let key = request.params().require("key")?;
///         // The grant's own duties: check its credential, and let it be used once.
///         let mut keys = self.keys.lock().map_err(|_| OAuthError::server_error("key store unavailable"))?;
///         let owner = keys.remove(key).ok_or_else(|| OAuthError::invalid_grant("unknown or used key"))?;
///         // Whom the tokens are for; the client, scope, tokens and expiry are the engine's.
///         Ok(TokenDecision::for_user(owner))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// store.add_client(ClientRecord::confidential("app", "app-secret").with_grant_types([ONE_TIME_KEY]).with_scope("read"))?;
/// let mut server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example")?);
/// let keys = HashMap::from([("k-1".to_owned(), "alice".to_owned())]);
/// server.register_grant(OneTimeKeyGrant { keys: Mutex::new(keys) }, ())?;
///
/// let request = http::Request::post("/token")
///     .header("Authorization", "Basic YXBwOmFwcC1zZWNyZXQ=")
///     .form(&[("grant_type", ONE_TIME_KEY.as_str()), ("key", "k-1")])?;
/// let first = server.token_endpoint(&request).await;
/// assert_eq!(first.status(), 200);
/// let second = server.token_endpoint(&request).await;
/// let body: serde_json::Value = serde_json::from_slice(second.body())?;
/// assert_eq!(body["error"], "invalid_grant", "the key is single-use");
/// # Ok(())
/// # }
/// ```
///
/// Declaring an endpoint without its step does not compile:
///
/// ```compile_fail,E0277
/// use grantry_core::{Grant, GrantType, Serves};
/// struct Forgetful;
/// impl Grant for Forgetful {
///     // error: `Forgetful` does not implement `TokenGrant`.
///     fn serves(&self) -> Serves<Self> {
///         Serves::token_endpoint(GrantType::CLIENT_CREDENTIALS)
///     }
/// }
/// ```
pub trait Grant: Send + Sync + Sized + 'static {
    /// What the grant serves and allows.
    fn serves(&self) -> Serves<Self>;
}

/// A grant's step at the token endpoint (RFC 6749 §3.2).
pub trait TokenGrant: Grant {
    /// Checks what is the grant's own in a token request and decides what it grants. The
    /// engine has parsed the request and authenticated the client; it then checks the
    /// decision, runs the extensions, and issues and stores the tokens.
    fn exchange(&self, request: &TokenRequest<'_>) -> impl Future<Output = Result<TokenDecision, OAuthError>> + Send;
}

/// A grant's step at the authorization endpoint (RFC 6749 §3.1).
pub trait AuthorizationGrant: Grant {
    /// Grant-specific checks of an authorization request the engine validated (client,
    /// redirect URI, response type, scope). May attach data to `attach`, which the engine stores
    /// with a code it mints. Extensions run after this.
    fn validate(
        &self,
        _request: &AuthorizationRequest,
        _attach: &mut Attributes,
    ) -> impl Future<Output = Result<(), OAuthError>> + Send {
        async { Ok(()) }
    }

    /// Decides the response once the resource owner approved: a code, or an access token in
    /// the fragment. The engine mints and stores it, bound to the request and the approval.
    fn respond(
        &self,
        request: &AuthorizationRequest,
        approval: &Approval,
    ) -> impl Future<Output = Result<AuthorizationDecision, OAuthError>> + Send;
}

/// A grant's step at an endpoint of its own (RFC 8628 §3.1's device authorization endpoint,
/// say), declared with [`Serves::and_endpoint`]. The engine routes the request to it, checks
/// the method, parses the form, authenticates the client as at the token endpoint (with the
/// grant's methods), checks the client is allowed the grant type and resolves the requested
/// scope within the client's; the grant then answers with the members of a JSON response,
/// which the engine sends `200` with `Cache-Control: no-store`.
pub trait EndpointGrant: Grant {
    /// Answers a request the engine checked.
    fn serve_endpoint(
        &self,
        request: &EndpointRequest<'_>,
    ) -> impl Future<Output = Result<serde_json::Map<String, serde_json::Value>, OAuthError>> + Send;
}

/// Where a grant's own endpoint is served: a path under the issuer (`/device_authorization`)
/// and the metadata member that names its URL (`device_authorization_endpoint`, RFC 8628 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantEndpoint {
    path: &'static str,
    metadata_name: &'static str,
}

impl GrantEndpoint {
    /// An endpoint at `path` (starting with `/`), named `metadata_name` in the metadata.
    pub const fn new(path: &'static str, metadata_name: &'static str) -> Self {
        GrantEndpoint { path, metadata_name }
    }

    /// The path under the issuer.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The metadata member naming the endpoint's URL.
    pub fn metadata_name(&self) -> &'static str {
        self.metadata_name
    }
}

/// Whether the token endpoint must authenticate the client before the grant runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthentication {
    /// A client must authenticate with one of the grant's allowed methods.
    Required,
    /// Client credentials are checked if present; otherwise the grant identifies the client
    /// itself (as the JWT bearer grant does from the assertion's issuer, RFC 7523 §3.1), with
    /// [`TokenDecision::identified_client`]. The engine then looks the client up and checks it.
    Optional,
}

/// The client authentication methods a grant allows at the token endpoint. The engine also
/// requires the method to be the one the client registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuthMethods(Methods);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Methods {
    Any,
    WithCredentials,
    Only(Vec<ClientAuthMethod>),
}

impl ClientAuthMethods {
    /// Every method the server has, `none` (public clients) included.
    pub fn any() -> Self {
        ClientAuthMethods(Methods::Any)
    }

    /// Every method the server has that proves who the client is: all but `none`.
    pub fn with_credentials() -> Self {
        ClientAuthMethods(Methods::WithCredentials)
    }

    /// Exactly these methods.
    pub fn only(methods: impl IntoIterator<Item = ClientAuthMethod>) -> Self {
        let mut methods: Vec<_> = methods.into_iter().collect();
        methods.sort();
        methods.dedup();
        ClientAuthMethods(Methods::Only(methods))
    }

    /// Whether `method` is allowed.
    pub fn allows(&self, method: &ClientAuthMethod) -> bool {
        match &self.0 {
            Methods::Any => true,
            Methods::WithCredentials => *method != ClientAuthMethod::NONE,
            Methods::Only(methods) => methods.contains(method),
        }
    }

    /// The methods listed, when the list is explicit (`None` for [`any`](Self::any) and
    /// [`with_credentials`](Self::with_credentials), whose members depend on the server).
    pub fn listed(&self) -> Option<&[ClientAuthMethod]> {
        match &self.0 {
            Methods::Only(methods) => Some(methods),
            _ => None,
        }
    }

    /// Whether no method at all is allowed.
    pub fn is_empty(&self) -> bool {
        self.listed().is_some_and(<[_]>::is_empty)
    }
}

/// What a registered grant serves and allows, as data: what the registry, the metadata
/// document and the endpoints read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantMetadata {
    grant_type: Option<GrantType>,
    response_types: Vec<ResponseType>,
    auth_methods: ClientAuthMethods,
    client_authentication: ClientAuthentication,
    endpoint: Option<GrantEndpoint>,
}

impl GrantMetadata {
    /// The grant's own endpoint, if it has one.
    pub fn endpoint(&self) -> Option<&GrantEndpoint> {
        self.endpoint.as_ref()
    }

    /// The `grant_type` served at the token endpoint, if any.
    pub fn grant_type(&self) -> Option<&GrantType> {
        self.grant_type.as_ref()
    }

    /// The `response_type`s served at the authorization endpoint.
    pub fn response_types(&self) -> &[ResponseType] {
        &self.response_types
    }

    /// The client authentication methods allowed at the token endpoint.
    pub fn auth_methods(&self) -> &ClientAuthMethods {
        &self.auth_methods
    }

    /// Whether client authentication is required.
    pub fn client_authentication(&self) -> ClientAuthentication {
        self.client_authentication
    }

    pub(crate) fn restrict_auth_methods(&mut self, methods: ClientAuthMethods) {
        self.auth_methods = methods;
    }
}

/// A grant's declaration of what it serves, built only from the steps it implements:
/// [`token_endpoint`](Self::token_endpoint) needs a [`TokenGrant`],
/// [`authorization_endpoint`](Self::authorization_endpoint) an [`AuthorizationGrant`].
///
/// ```
/// # use grantry_core::*;
/// # struct CodeGrant;
/// # impl TokenGrant for CodeGrant {
/// #     async fn exchange(&self, r: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> { unimplemented!() }
/// # }
/// # impl AuthorizationGrant for CodeGrant {
/// #     async fn respond(&self, _: &AuthorizationRequest, _: &Approval) -> Result<AuthorizationDecision, OAuthError> { Ok(AuthorizationDecision::code()) }
/// # }
/// impl Grant for CodeGrant {
///     fn serves(&self) -> Serves<Self> {
///         Serves::token_endpoint(GrantType::AUTHORIZATION_CODE)
///             .and_authorization_endpoint([ResponseType::CODE])
///             .with_auth_methods(ClientAuthMethods::any())
///     }
/// }
/// ```
pub struct Serves<G> {
    metadata: GrantMetadata,
    token: Option<TokenStep<G>>,
    authorization: Option<AuthorizationSteps<G>>,
    endpoint: Option<EndpointStep<G>>,
}

/// The own-endpoint step of `G`, erased likewise.
type EndpointStep<G> = for<'a> fn(&'a G, &'a EndpointRequest<'a>) -> BoxFuture<'a, Result<JsonObject, OAuthError>>;

/// The members of a JSON response.
type JsonObject = serde_json::Map<String, serde_json::Value>;

/// The token step of `G`, erased to a function pointer, so the registry can hold any grant.
type TokenStep<G> = for<'a> fn(&'a G, &'a TokenRequest<'a>) -> BoxFuture<'a, Result<TokenDecision, OAuthError>>;

/// The authorization steps of `G`, erased likewise.
struct AuthorizationSteps<G> {
    validate: for<'a> fn(&'a G, &'a AuthorizationRequest, &'a mut Attributes) -> BoxFuture<'a, Result<(), OAuthError>>,
    respond: for<'a> fn(
        &'a G,
        &'a AuthorizationRequest,
        &'a Approval,
    ) -> BoxFuture<'a, Result<AuthorizationDecision, OAuthError>>,
}

impl<G> Clone for AuthorizationSteps<G> {
    fn clone(&self) -> Self {
        AuthorizationSteps { validate: self.validate, respond: self.respond }
    }
}

impl<G: TokenGrant> Serves<G> {
    /// Serves `grant_type` at the token endpoint, allowing every client authentication method
    /// that proves who the client is ([`ClientAuthMethods::with_credentials`]) unless
    /// [`with_auth_methods`](Self::with_auth_methods) says otherwise.
    pub fn token_endpoint(grant_type: GrantType) -> Self {
        Serves {
            metadata: GrantMetadata {
                grant_type: Some(grant_type),
                response_types: Vec::new(),
                auth_methods: ClientAuthMethods::with_credentials(),
                client_authentication: ClientAuthentication::Required,
                endpoint: None,
            },
            token: Some(|grant, request| Box::pin(grant.exchange(request))),
            authorization: None,
            endpoint: None,
        }
    }
}

impl<G: AuthorizationGrant> Serves<G> {
    /// Serves `response_types` at the authorization endpoint, and nothing at the token
    /// endpoint (as the implicit grant does).
    pub fn authorization_endpoint(response_types: impl IntoIterator<Item = ResponseType>) -> Self {
        Serves {
            metadata: GrantMetadata {
                grant_type: None,
                response_types: Vec::new(),
                auth_methods: ClientAuthMethods::only([]),
                client_authentication: ClientAuthentication::Required,
                endpoint: None,
            },
            token: None,
            authorization: None,
            endpoint: None,
        }
        .and_authorization_endpoint(response_types)
    }

    /// Serves `response_types` at the authorization endpoint too (as the authorization code
    /// grant serves `code`).
    pub fn and_authorization_endpoint(mut self, response_types: impl IntoIterator<Item = ResponseType>) -> Self {
        self.metadata.response_types.extend(response_types);
        self.authorization = Some(AuthorizationSteps {
            validate: |grant, request, attach| Box::pin(grant.validate(request, attach)),
            respond: |grant, request, approval| Box::pin(grant.respond(request, approval)),
        });
        self
    }
}

impl<G: EndpointGrant> Serves<G> {
    /// Serves an endpoint of the grant's own too (RFC 8628's device authorization endpoint),
    /// which the engine routes to [`EndpointGrant::serve_endpoint`] and names in the metadata.
    pub fn and_endpoint(mut self, endpoint: GrantEndpoint) -> Self {
        self.metadata.endpoint = Some(endpoint);
        self.endpoint = Some(|grant, request| Box::pin(grant.serve_endpoint(request)));
        self
    }
}

impl<G> Serves<G> {
    /// Sets the client authentication methods allowed at the token endpoint. A registration
    /// can narrow them further, never widen them.
    pub fn with_auth_methods(mut self, methods: ClientAuthMethods) -> Self {
        self.metadata.auth_methods = methods;
        self
    }

    /// Sets whether client authentication is required.
    pub fn with_client_authentication(mut self, requirement: ClientAuthentication) -> Self {
        self.metadata.client_authentication = requirement;
        self
    }

    /// The declaration as data.
    pub fn metadata(&self) -> &GrantMetadata {
        &self.metadata
    }
}

/// A grant with its type erased, as the registry and plugin constructors hold it.
pub struct BoxedGrant {
    pub(crate) metadata: GrantMetadata,
    pub(crate) steps: Box<dyn ErasedGrant>,
}

impl BoxedGrant {
    /// Erases `grant`, reading its declaration once.
    pub fn new<G: Grant>(grant: G) -> Self {
        let Serves { metadata, token, authorization, endpoint } = grant.serves();
        BoxedGrant { metadata, steps: Box::new(Erased { grant, token, authorization, endpoint }) }
    }

    /// What the grant serves and allows.
    pub fn metadata(&self) -> &GrantMetadata {
        &self.metadata
    }
}

impl std::fmt::Debug for BoxedGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoxedGrant").field("metadata", &self.metadata).finish_non_exhaustive()
    }
}

/// The object-safe face of a grant: its steps as boxed futures.
pub(crate) trait ErasedGrant: Send + Sync {
    fn exchange<'a>(&'a self, request: &'a TokenRequest<'a>) -> BoxFuture<'a, Result<TokenDecision, OAuthError>>;
    fn validate<'a>(
        &'a self,
        request: &'a AuthorizationRequest,
        attach: &'a mut Attributes,
    ) -> BoxFuture<'a, Result<(), OAuthError>>;
    fn respond<'a>(
        &'a self,
        request: &'a AuthorizationRequest,
        approval: &'a Approval,
    ) -> BoxFuture<'a, Result<AuthorizationDecision, OAuthError>>;
    fn serve_endpoint<'a>(&'a self, request: &'a EndpointRequest<'a>) -> BoxFuture<'a, Result<JsonObject, OAuthError>>;
}

struct Erased<G> {
    grant: G,
    token: Option<TokenStep<G>>,
    authorization: Option<AuthorizationSteps<G>>,
    endpoint: Option<EndpointStep<G>>,
}

fn not_served<'a, T: Send + 'a>(error: OAuthError) -> BoxFuture<'a, Result<T, OAuthError>> {
    Box::pin(std::future::ready(Err(error)))
}

impl<G: Grant> ErasedGrant for Erased<G> {
    fn exchange<'a>(&'a self, request: &'a TokenRequest<'a>) -> BoxFuture<'a, Result<TokenDecision, OAuthError>> {
        match self.token {
            Some(step) => step(&self.grant, request),
            None => not_served(OAuthError::unsupported_grant_type("this grant does not serve the token endpoint")),
        }
    }

    fn validate<'a>(
        &'a self,
        request: &'a AuthorizationRequest,
        attach: &'a mut Attributes,
    ) -> BoxFuture<'a, Result<(), OAuthError>> {
        match &self.authorization {
            Some(steps) => (steps.validate)(&self.grant, request, attach),
            None => not_served(unsupported_response_type()),
        }
    }

    fn respond<'a>(
        &'a self,
        request: &'a AuthorizationRequest,
        approval: &'a Approval,
    ) -> BoxFuture<'a, Result<AuthorizationDecision, OAuthError>> {
        match &self.authorization {
            Some(steps) => (steps.respond)(&self.grant, request, approval),
            None => not_served(unsupported_response_type()),
        }
    }

    fn serve_endpoint<'a>(&'a self, request: &'a EndpointRequest<'a>) -> BoxFuture<'a, Result<JsonObject, OAuthError>> {
        match self.endpoint {
            Some(step) => step(&self.grant, request),
            None => not_served(no_endpoint()),
        }
    }
}

fn unsupported_response_type() -> OAuthError {
    OAuthError::unsupported_response_type("this grant does not serve the authorization endpoint")
}

fn no_endpoint() -> OAuthError {
    OAuthError::invalid_request("this grant serves no endpoint of its own")
}
