//! [`TokenRequest`]: a token request as a grant sees it, with the narrow capabilities a grant
//! may use (the clock, the configuration, the user and client stores, and the engine's
//! redemption of codes and refresh tokens). It holds no handle on the server.

use crate::client::Client;
use crate::client_auth::storage_failure;
use crate::clock::Timestamp;
use crate::config::ServerConfig;
use crate::error::OAuthError;
use crate::grant_type::GrantType;
use crate::params::Params;
use crate::scope::Scope;
use crate::secret::Secret;
use crate::secret::TokenDigest;
use crate::storage::ReplayKey;
use crate::storage::{
    AuthorizationCodeRecord, ClientStore, FamilyId, PendingPoll, PendingRecord, PendingState, RefreshRotation,
    ReplayStore, Storage, StoredCode, TokenKind, TokenRecord, UserStore,
};
use crate::throttle::{CredentialCheck, LoginError, LoginThrottle};
use crate::token::CredentialKind;
use std::sync::Arc;

/// The [`ReplayKey`] purpose of user codes: a store finds a pending authorization by this
/// digest of its user code, never by the code itself.
pub(crate) const USER_CODE_PURPOSE: &str = "user-code";

/// A request to a grant's own endpoint after the engine parsed it, authenticated the client
/// (allowed the grant type) and resolved the requested scope within the client's.
pub struct EndpointRequest<'a> {
    pub(crate) params: &'a Params<'a>,
    pub(crate) grant_type: &'a GrantType,
    pub(crate) client: &'a Arc<dyn Client>,
    pub(crate) scope: Scope,
    pub(crate) requested_scope: Option<Scope>,
    pub(crate) storage: &'a Storage,
    pub(crate) config: &'a ServerConfig,
    /// Whether this request started its pending authorization: one a request, whatever the
    /// grant does, so a request cannot make the store hold more than one.
    pub(crate) started: std::sync::atomic::AtomicBool,
}

impl<'a> EndpointRequest<'a> {
    /// The form parameters.
    pub fn params(&self) -> &'a Params<'a> {
        self.params
    }

    /// The authenticated client.
    pub fn client(&self) -> &'a Arc<dyn Client> {
        self.client
    }

    /// The scope granted if the request is approved: the requested one within the client's.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The current time, from the server's clock.
    pub fn now(&self) -> Timestamp {
        self.config.clock().now()
    }

    /// The server's configuration.
    pub fn config(&self) -> &'a ServerConfig {
        self.config
    }

    /// Starts a pending authorization (RFC 8628 §3.2) for the client and scope, lasting
    /// `lifetime` seconds, polled every `interval` seconds, which a user finds by `user_code`
    /// (in the grant's canonical form). The engine mints its code (256 bits from the CSPRNG)
    /// and stores only digests of both codes; the code is returned for the grant's response.
    /// `None` when an unexpired pending authorization has that user code already: make another.
    /// One a request: a second, once one is saved, is refused with `server_error`.
    pub async fn start_pending(
        &self,
        user_code: &str,
        lifetime: u64,
        interval: u64,
    ) -> Result<Option<Secret>, OAuthError> {
        use std::sync::atomic::Ordering;
        if self.started.load(Ordering::Acquire) {
            return Err(OAuthError::server_error("a request may start one pending authorization"));
        }
        let code = Secret::new(self.config.token_generator().generate(CredentialKind::PendingAuthorization));
        let now = self.now();
        let record = PendingRecord {
            client_id: self.client.shared_client_id(),
            grant_type: self.grant_type.clone(),
            scope: self.scope.clone(),
            requested_scope: self.requested_scope.clone(),
            expires_at: now.saturating_add(lifetime),
            interval,
            next_poll_at: now,
            state: PendingState::Pending,
        };
        let user_code = ReplayKey::new(USER_CODE_PURPOSE, &[user_code]);
        // Claimed before the save, so that concurrent calls of one request cannot both save.
        if self.started.swap(true, Ordering::AcqRel) {
            return Err(OAuthError::server_error("a request may start one pending authorization"));
        }
        let saved = self.storage.pending.save_pending(TokenDigest::of(code.expose()), user_code, record, now);
        let saved = saved.await.map_err(storage_failure)?;
        if !saved {
            // Nothing was saved: the grant may try another user code.
            self.started.store(false, Ordering::Release);
        }
        Ok(saved.then_some(code))
    }
}

/// A token request after the engine parsed it, dispatched it and authenticated the client.
pub struct TokenRequest<'a> {
    pub(crate) params: &'a Params<'a>,
    pub(crate) grant_type: &'a GrantType,
    pub(crate) client: Option<&'a Arc<dyn Client>>,
    pub(crate) storage: &'a Storage,
    pub(crate) config: &'a ServerConfig,
    pub(crate) throttle: &'a dyn LoginThrottle,
}

impl<'a> TokenRequest<'a> {
    /// The form parameters.
    pub fn params(&self) -> &'a Params<'a> {
        self.params
    }

    /// The grant type requested.
    pub fn grant_type(&self) -> &'a GrantType {
        self.grant_type
    }

    /// The authenticated client: always there for grants whose client authentication is
    /// [`Required`](crate::ClientAuthentication::Required).
    pub fn client(&self) -> Option<&'a Arc<dyn Client>> {
        self.client
    }

    /// The current time, from the server's clock.
    pub fn now(&self) -> Timestamp {
        self.config.clock().now()
    }

    /// The server's configuration.
    pub fn config(&self) -> &'a ServerConfig {
        self.config
    }

    /// The resource owners, for grants that check whether a user exists. Check a user's
    /// password with [`authenticate_user`](Self::authenticate_user), which is throttled.
    pub fn users(&self) -> &'a dyn UserStore {
        &*self.storage.users
    }

    /// Checks a resource owner's username and password through the server's
    /// [`LoginThrottle`](crate::throttle::LoginThrottle) (RFC 6749 §4.3.2): the user's subject,
    /// or `invalid_grant` for wrong credentials and for a username locked out after too many
    /// failures (then even the right password is refused until the window passes).
    pub async fn authenticate_user(&self, username: &str, password: &str) -> Result<String, OAuthError> {
        match check_user_password(self.storage, self.throttle, self.now(), username, password).await {
            Ok(Some(subject)) => Ok(subject),
            Ok(None) => Err(OAuthError::invalid_grant("invalid resource owner credentials")),
            Err(LoginError::Throttled(throttled)) => Err(OAuthError::invalid_grant(throttled.to_string())),
            Err(err) => Err(login_failure(err)),
        }
    }

    /// The registered clients, for grants that identify the client themselves (read a key
    /// from its registration, say). Finding a client here authenticates nothing: the engine
    /// checks the client a decision names.
    pub fn clients(&self) -> &'a dyn ClientStore {
        &*self.storage.clients
    }

    /// The server's single-use records, for grants that accept something once (a JWT
    /// assertion, RFC 7523 §3 item 7). Shared by every server on the store.
    pub fn replays(&self) -> &'a dyn ReplayStore {
        &*self.storage.replays
    }

    fn authenticated(&self) -> Result<&'a Arc<dyn Client>, OAuthError> {
        self.client.ok_or_else(|| OAuthError::invalid_client("client authentication required"))
    }

    /// Checks an authorization code for the authenticated client (RFC 6749 §4.1.3): issued to
    /// this client, not expired, with the `redirect_uri` of the authorization request when it
    /// named one. The engine redeems it (once, whatever the concurrency) only when it issues
    /// the tokens, after every check, the extensions' (PKCE's) included.
    ///
    /// A refused request changes nothing: a code presented by another client, or by its own
    /// client with the wrong `redirect_uri` or `code_verifier`, stays redeemable by its owner.
    /// RFC 6749 §10.5 makes codes single-use and short-lived, which this keeps; consuming on a
    /// failed check would let anyone who saw a code burn it (a public client proves nothing),
    /// and RFC 9700 §2.1.1 relies on PKCE to keep an intercepted code useless, which a code
    /// kept live does not weaken: a verifier has at least 256 bits. A code presented again by
    /// its own client after it was redeemed is `invalid_grant`, and every token issued from
    /// it is revoked (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
    pub async fn redeem_code(&self, code: &str) -> Result<RedeemedCode, OAuthError> {
        let client = self.authenticated()?;
        let digest = TokenDigest::of(code);
        let record = match self.storage.codes.find_code(digest).await.map_err(storage_failure)? {
            Some(StoredCode::Live(record)) => record,
            Some(StoredCode::Redeemed { client_id, family }) if *client_id == *client.client_id() => {
                self.revoke_family(family).await?;
                return Err(code_replayed());
            }
            Some(_) => return Err(other_client("authorization code")),
            None => return Err(OAuthError::invalid_grant("unknown authorization code")),
        };
        if *record.client_id != *client.client_id() {
            return Err(other_client("authorization code"));
        }
        if self.now() >= record.expires_at {
            return Err(OAuthError::invalid_grant("authorization code has expired"));
        }
        match self.params.get("redirect_uri") {
            Some(uri) if uri == record.redirect_uri => {}
            Some(_) => return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request")),
            // RFC 6749 §4.1.3: required when the authorization request included it.
            None if record.redirect_uri_given => {
                return Err(OAuthError::invalid_request("missing parameter: redirect_uri"));
            }
            None => {}
        }
        Ok(RedeemedCode { digest, record })
    }

    /// Checks a refresh token for the authenticated client (RFC 6749 §6): a live refresh token
    /// issued to this client, with the requested `scope` within its original scope. With
    /// `rotate`, the engine retires it (once, whatever the concurrency) when it issues the new
    /// tokens, after every check; a retired one presented again by its own client revokes its
    /// whole family (RFC 9700 §4.14.2). A refused request, or one from another client, changes
    /// nothing.
    pub async fn redeem_refresh_token(&self, token: &str, rotate: bool) -> Result<RefreshedToken, OAuthError> {
        let client = self.authenticated()?;
        let digest = TokenDigest::of(token);
        let found = self.storage.tokens.find_token(digest).await.map_err(storage_failure)?;
        let Some(record) = found.filter(|record| record.kind == TokenKind::Refresh) else {
            // Not live: a retired token presented by its client is a replay.
            let retired = self.storage.tokens.rotate_refresh_token(digest, client.client_id());
            return Err(match retired.await.map_err(storage_failure)? {
                RefreshRotation::AlreadyRotated { family } => self.replayed(family).await,
                RefreshRotation::WrongClient => other_client("refresh token"),
                _ => OAuthError::invalid_grant("unknown refresh token"),
            });
        };
        if *record.client_id != *client.client_id() {
            return Err(other_client("refresh token"));
        }
        if record.is_expired(self.now()) {
            return Err(OAuthError::invalid_grant("refresh token has expired"));
        }
        Scope::resolve(self.params.get("scope"), &record.scope)?;
        Ok(RefreshedToken { digest, record, rotate })
    }

    /// Polls a pending authorization (an RFC 8628 device code) for the authenticated client
    /// (§3.4–3.5): `invalid_grant` for an unknown one, another client's (which changes
    /// nothing) or one whose tokens were issued already (which revokes nothing);
    /// `slow_down` when polled before its interval passed (the interval then grows by 5
    /// seconds); `expired_token`, `access_denied` or `authorization_pending` as the user left
    /// it. Approved, it is consumed (once, whatever the concurrency) when the engine issues the
    /// tokens.
    pub async fn poll_pending(&self, code: &str) -> Result<ApprovedPending, OAuthError> {
        let client = self.authenticated()?;
        let digest = TokenDigest::of(code);
        let poll = self.storage.pending.poll_pending(digest, client.client_id(), self.now());
        let record = match poll.await.map_err(storage_failure)? {
            PendingPoll::Polled(record) if record.grant_type == *self.grant_type => record,
            PendingPoll::SlowDown => return Err(OAuthError::slow_down("polling too fast; wait 5 seconds longer")),
            PendingPoll::WrongClient => return Err(other_client("device code")),
            _ => return Err(OAuthError::invalid_grant("unknown device code")),
        };
        if self.now() >= record.expires_at {
            return Err(OAuthError::expired_token("the device code has expired"));
        }
        match &record.state {
            PendingState::Approved { subject } => Ok(ApprovedPending { digest, subject: subject.clone(), record }),
            PendingState::Pending => Err(OAuthError::authorization_pending("the user has not decided yet")),
            PendingState::Denied => Err(OAuthError::access_denied("the user denied the authorization")),
            _ => Err(OAuthError::invalid_grant("the device code was already used")),
        }
    }

    /// An access token this server issued, if it is active: known, not revoked, not expired
    /// (and, for a self-contained format, valid as such). For grants whose input is a token
    /// (token exchange, RFC 8693 §2.1); the grant decides what it may be exchanged for.
    pub async fn active_access_token(&self, token: &str) -> Result<Option<ActiveToken>, OAuthError> {
        if let Some(format) = self.config.access_token_format() {
            if format.verify(token, self.now()).is_err() {
                return Ok(None);
            }
        }
        let record = self.storage.tokens.find_token(TokenDigest::of(token)).await.map_err(storage_failure)?;
        Ok(record
            .filter(|r| r.kind == TokenKind::Access && !r.is_expired(self.now()))
            .map(|record| ActiveToken { record }))
    }

    /// A retired refresh token came back: someone holds a copy, so the whole family is revoked.
    pub(crate) async fn replayed(&self, family: Option<FamilyId>) -> OAuthError {
        replayed(self.storage, family).await
    }

    async fn revoke_family(&self, family: FamilyId) -> Result<(), OAuthError> {
        revoke_family(self.storage, family).await
    }
}

/// Checks a username and password through `throttle`: admitted, checked, recorded.
pub(crate) async fn check_user_password(
    storage: &Storage,
    throttle: &dyn LoginThrottle,
    now: crate::clock::Timestamp,
    username: &str,
    password: &str,
) -> Result<Option<String>, LoginError> {
    let check = CredentialCheck::UserPassword;
    let watched = throttle.watches(check);
    if watched {
        throttle.admit(check, username, now).await?;
    }
    let subject = storage.users.authenticate(username, password).await?;
    if watched {
        throttle.record(check, username, subject.is_some(), now).await;
    }
    Ok(subject)
}

fn login_failure(err: LoginError) -> OAuthError {
    match err {
        LoginError::Storage(err) => storage_failure(err),
        other => OAuthError::server_error(other.to_string()),
    }
}

/// Revokes every token of a family (after a replayed code or refresh token).
pub(crate) async fn revoke_family(storage: &Storage, family: FamilyId) -> Result<(), OAuthError> {
    storage.tokens.revoke_family(family).await.map_err(storage_failure)
}

/// A retired refresh token came back: the whole family is revoked. Returns the error to answer.
pub(crate) async fn replayed(storage: &Storage, family: Option<FamilyId>) -> OAuthError {
    let revoked = match family {
        Some(family) => revoke_family(storage, family).await,
        None => Ok(()),
    };
    match revoked {
        Ok(()) => OAuthError::invalid_grant("refresh token was already used; the tokens of this grant are revoked"),
        Err(err) => err,
    }
}

/// A redeemed code came back from its client.
pub(crate) fn code_replayed() -> OAuthError {
    OAuthError::invalid_grant("authorization code was already used; the tokens issued from it are revoked")
}

/// A code or refresh token presented by a client it was not issued to.
pub(crate) fn other_client(what: &str) -> OAuthError {
    OAuthError::invalid_grant(format!("{what} was issued to another client"))
}

/// An authorization code the engine checked for the authenticated client, to be redeemed
/// when the tokens are issued: the only way to a
/// [`TokenDecision::from_code`](crate::TokenDecision::from_code).
#[derive(Debug)]
pub struct RedeemedCode {
    pub(crate) digest: TokenDigest,
    pub(crate) record: AuthorizationCodeRecord,
}

impl RedeemedCode {
    /// The resource owner who approved.
    pub fn subject(&self) -> &str {
        &self.record.subject
    }

    /// The approved scope.
    pub fn scope(&self) -> &Scope {
        &self.record.scope
    }
}

/// A refresh token the engine checked for the authenticated client, to be retired (when
/// rotating) as the new tokens are issued: the only way to a
/// [`TokenDecision::from_refresh_token`](crate::TokenDecision::from_refresh_token).
#[derive(Debug)]
pub struct RefreshedToken {
    pub(crate) digest: TokenDigest,
    pub(crate) record: TokenRecord,
    pub(crate) rotate: bool,
}

impl RefreshedToken {
    /// The resource owner, if the token acts for one.
    pub fn subject(&self) -> Option<&str> {
        self.record.subject.as_deref()
    }

    /// The scope of the original grant.
    pub fn scope(&self) -> &Scope {
        &self.record.scope
    }
}

/// A pending authorization the user approved, checked for the authenticated client, to be
/// consumed when the tokens are issued: the only way to a
/// [`TokenDecision::from_pending`](crate::TokenDecision::from_pending).
#[derive(Debug)]
pub struct ApprovedPending {
    pub(crate) digest: TokenDigest,
    pub(crate) subject: Arc<str>,
    pub(crate) record: PendingRecord,
}

impl ApprovedPending {
    /// The resource owner who approved.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The approved scope.
    pub fn scope(&self) -> &Scope {
        &self.record.scope
    }
}

/// An active access token this server issued, as
/// [`TokenRequest::active_access_token`] found it: what a grant taking a token reads.
#[derive(Debug, Clone)]
pub struct ActiveToken {
    pub(crate) record: TokenRecord,
}

impl ActiveToken {
    /// The resource owner it acts for, if any.
    pub fn subject(&self) -> Option<&str> {
        self.record.subject.as_deref()
    }

    /// The client it was issued to.
    pub fn client_id(&self) -> &str {
        &self.record.client_id
    }

    /// Its scope.
    pub fn scope(&self) -> &Scope {
        &self.record.scope
    }

    /// Its `sub` as introspection shows it: the resource owner, else the client.
    pub fn sub(&self) -> &str {
        self.subject().unwrap_or(self.client_id())
    }
}
