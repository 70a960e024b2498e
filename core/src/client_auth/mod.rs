//! Client authentication at the token endpoint: the [`ClientAuthenticator`] trait and the
//! built-in methods `client_secret_basic`, `client_secret_post` and `none`.
//!
//! A method is a plugin like a grant: add one with
//! [`AuthorizationServer::add_client_authenticator`](crate::AuthorizationServer::add_client_authenticator)
//! and name it in a grant's allowed methods.

mod basic;
mod none;
mod post;

pub(crate) use basic::CHALLENGE as BASIC_CHALLENGE;
pub use basic::{ClientSecretBasic, decode_basic_authorization};
pub use none::NoneAuthenticator;
pub use post::ClientSecretPost;

use crate::client::Client;
use crate::clock::{Clock, Timestamp};
use crate::error::OAuthError;
use crate::grant_type::ClientAuthMethod;
use crate::params::Params;
use crate::request::Request;
use crate::storage::{ClientStore, ReplayStore, StorageError};
use crate::throttle::{CredentialCheck, LoginThrottle};
use std::sync::Arc;

/// Whether a request carries a method's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Presence {
    /// Nothing of this method is in the request.
    Absent,
    /// The request names a client without proving anything (`client_id` alone): it counts only
    /// when no method with credentials is present.
    IdentifiesOnly,
    /// The request carries this method's credentials.
    Credentials,
}

/// What an authenticator sees of the request and the server.
#[non_exhaustive]
pub struct ClientAuthInput<'a> {
    /// The request.
    pub request: &'a Request,
    /// Its parsed form parameters.
    pub params: &'a Params<'a>,
    /// Where to find clients.
    pub clients: &'a dyn ClientStore,
    /// The server's single-use records, for credentials accepted once (JWT client assertions).
    pub replays: &'a dyn ReplayStore,
    /// The server's issuer identifier (an accepted JWT audience).
    pub issuer: &'a str,
    /// The token endpoint's URL (an accepted JWT audience).
    pub token_endpoint: &'a str,
    /// The server's clock, read only by the methods that need the time (JWT expiry).
    pub clock: &'a dyn Clock,
    /// Sees every secret check ([`verify_secret`](Self::verify_secret) passes through it).
    pub throttle: &'a dyn LoginThrottle,
}

impl ClientAuthInput<'_> {
    /// The current time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// A token endpoint client authentication method.
///
/// The engine decides which method a request uses (from each method's [`Presence`]), checks
/// that the grant allows it, calls [`authenticate`](ClientAuthenticator::authenticate), and
/// finally checks that the client is registered for that method: an authenticator only has to
/// verify its own credentials, in constant time, failing with `invalid_client`.
///
/// The engine holds authenticators as trait objects, so the trait is an
/// [`async_trait`](crate::async_trait): put `#[grantry_core::async_trait]` on the `impl`.
///
/// A custom method, `client_key_header`: the client sends `X-Client-Key: id.secret`.
///
/// ```
/// use grantry_core::client_auth::{AUTHENTICATION_FAILED, ClientAuthInput, ClientAuthenticator, Presence, find_client};
/// use grantry_core::{
///     AuthorizationServer, Client, ClientAuthMethod, ClientRecord, GrantType, MemoryStore, OAuthError, Params,
///     Request, ServerConfig, http,
/// };
/// use grantry_core::request::FormBody;
/// use std::sync::Arc;
///
/// struct ClientKeyHeader;
///
/// #[grantry_core::async_trait]
/// impl ClientAuthenticator for ClientKeyHeader {
///     fn method(&self) -> ClientAuthMethod {
///         ClientAuthMethod::parse("client_key_header").unwrap()
///     }
///
///     fn presence(&self, request: &Request, _: &Params) -> Presence {
///         if request.headers().get("x-client-key").is_some() { Presence::Credentials } else { Presence::Absent }
///     }
///
///     async fn authenticate(&self, input: &ClientAuthInput<'_>) -> Result<Arc<dyn Client>, OAuthError> {
///         let failed = || OAuthError::invalid_client(AUTHENTICATION_FAILED);
///         let header = input.request.headers().get("x-client-key").and_then(|v| v.to_str().ok()).ok_or_else(failed)?;
///         let (id, secret) = header.split_once('.').ok_or_else(failed)?;
///         let client = find_client(input.clients, id).await?;
///         // The client's own constant-time check.
///         if client.check_secret(secret) { Ok(client) } else { Err(failed()) }
///     }
/// }
///
/// # use grantry_core::{Grant, Serves, TokenDecision, TokenGrant, TokenRequest};
/// # struct ClientCredentials;
/// # impl Grant for ClientCredentials {
/// #     fn serves(&self) -> Serves<Self> { Serves::token_endpoint(GrantType::CLIENT_CREDENTIALS) }
/// # }
/// # impl TokenGrant for ClientCredentials {
/// #     async fn exchange(&self, _: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> { Ok(TokenDecision::for_client()) }
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let method = ClientAuthMethod::parse("client_key_header")?;
/// let store = MemoryStore::new();
/// store.add_client(
///     ClientRecord::confidential("svc", "s3cret")
///         .with_auth_method(method.clone())
///         .with_grant_types([GrantType::CLIENT_CREDENTIALS]),
/// )?;
/// let mut server = AuthorizationServer::new(store, ServerConfig::new("https://auth.example")?);
/// server.add_client_authenticator(ClientKeyHeader)?;
/// // A grant allowing every method that proves the client (the default) accepts this one too.
/// server.register_grant(ClientCredentials, ())?;
/// let mut key = http::HeaderValue::from_static("svc.s3cret");
/// key.set_sensitive(true); // kept out of Debug output
/// let request = http::Request::post("/token").header("X-Client-Key", key).form(&[("grant_type", "client_credentials")])?;
/// assert_eq!(server.token_endpoint(&request).await.status(), 200);
/// # Ok(())
/// # }
/// ```
#[async_trait::async_trait]
pub trait ClientAuthenticator: Send + Sync + 'static {
    /// The method's name.
    fn method(&self) -> ClientAuthMethod;

    /// Whether the request carries this method's credentials. Must not fail or block.
    fn presence(&self, request: &Request, params: &Params) -> Presence;

    /// Verifies the credentials and returns the client. Every failure is `invalid_client`.
    async fn authenticate(&self, input: &ClientAuthInput<'_>) -> Result<Arc<dyn Client>, OAuthError>;

    /// The `WWW-Authenticate` challenge for a failure of this method, for methods that use the
    /// `Authorization` header.
    fn challenge(&self) -> Option<&'static str> {
        None
    }

    /// JWS algorithms the method accepts, for the metadata document (`*_signing_alg_values_supported`).
    fn signing_algorithms(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The one message every credential failure gives, so a client cannot tell an unknown
/// `client_id` from a wrong secret.
pub const AUTHENTICATION_FAILED: &str = "client authentication failed";

/// Looks up a client, mapping "not found" to `invalid_client` and storage errors to `server_error`.
pub async fn find_client(clients: &dyn ClientStore, client_id: &str) -> Result<Arc<dyn Client>, OAuthError> {
    clients
        .find_client(client_id)
        .await
        .map_err(storage_failure)?
        .ok_or_else(|| OAuthError::invalid_client(AUTHENTICATION_FAILED))
}

impl ClientAuthInput<'_> {
    /// The client `client_id`, if `secret` is its own: `invalid_client` otherwise, as for an
    /// unknown client. The check passes through the server's
    /// [`LoginThrottle`] as a
    /// [`ClientSecret`](crate::throttle::CredentialCheck::ClientSecret) check.
    pub async fn verify_secret(&self, client_id: &str, secret: &str) -> Result<Arc<dyn Client>, OAuthError> {
        let check = CredentialCheck::ClientSecret;
        let now = self.now();
        self.throttle.admit(check, client_id, now).await.map_err(|throttled| {
            OAuthError::invalid_client(format!(
                "too many failed attempts; try again in {} seconds",
                throttled.retry_after
            ))
        })?;
        let client = find_client(self.clients, client_id).await?;
        let matches = client.check_secret(secret);
        self.throttle.record(check, client_id, matches, now).await;
        if matches { Ok(client) } else { Err(OAuthError::invalid_client(AUTHENTICATION_FAILED)) }
    }
}

/// The `server_error` a storage failure becomes; the cause is not shown to the client.
pub fn storage_failure(_: StorageError) -> OAuthError {
    OAuthError::server_error("the server could not reach its storage")
}
