//! What a grant answers: a decision, never a credential. The engine turns it into tokens or a
//! code after checking it.

use crate::context::{ActiveToken, ApprovedPending, RedeemedCode, RefreshedToken};
use crate::scope::Scope;
use crate::secret::TokenDigest;
use crate::storage::{Attributes, AuthorizationCodeRecord, PendingRecord, TokenRecord};
use std::borrow::Cow;
use std::sync::Arc;

/// What a grant decided at the token endpoint: whom the tokens are for, and what the grant
/// lets the engine issue. It names no client, no token and no expiry: the engine fills those
/// in, and refuses a decision wider than the client may have.
///
/// ```
/// use grantry_core::{Scope, TokenDecision};
/// // A user's tokens, at most `read`, with a refresh token if the client can use one.
/// let decision = TokenDecision::for_user("alice").within(Scope::parse("read").unwrap()).with_refresh_token();
/// # let _ = decision;
/// ```
#[derive(Debug, Clone)]
pub struct TokenDecision {
    pub(crate) origin: Origin,
    pub(crate) within: Option<Scope>,
    pub(crate) offers_refresh_token: bool,
    pub(crate) identified_client: Option<Arc<str>>,
    pub(crate) attributes: Attributes,
    pub(crate) audience: Option<String>,
}

/// Where the grant's authority comes from: the engine derives the subject, the scope limit and
/// the token family from it.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// The client's own tokens.
    Client,
    /// Tokens acting for a resource owner the grant authenticated.
    User(Arc<str>),
    /// An authorization code the engine checked, redeemed as the tokens are issued.
    Code(TokenDigest, AuthorizationCodeRecord),
    /// A refresh token the engine checked, retired as the tokens are issued when `rotate`.
    Refresh { digest: TokenDigest, record: TokenRecord, rotate: bool },
    /// A pending authorization the user approved, consumed as the tokens are issued.
    Pending { digest: TokenDigest, subject: Arc<str>, record: PendingRecord },
    /// Another token, exchanged (RFC 8693): for its subject, within its scope, perhaps with an
    /// actor (the actor token's subject).
    Exchange { subject: Arc<str>, scope: crate::scope::Scope, actor: Option<Arc<str>> },
}

impl TokenDecision {
    fn new(origin: Origin) -> Self {
        TokenDecision {
            origin,
            within: None,
            offers_refresh_token: false,
            identified_client: None,
            attributes: Attributes::new(),
            audience: None,
        }
    }

    /// Tokens for the client itself, no resource owner (as client credentials). The scope is
    /// the requested one within the client's allowed scope.
    pub fn for_client() -> Self {
        Self::new(Origin::Client)
    }

    /// Tokens acting for `subject`, a resource owner the grant authenticated. The scope is the
    /// requested one within the client's allowed scope.
    pub fn for_user(subject: impl Into<Arc<str>>) -> Self {
        Self::new(Origin::User(subject.into()))
    }

    /// Tokens from an authorization code the engine redeemed: for the user who approved, with
    /// the approved scope, in the code's family, carrying the data attached to the code. A
    /// refresh token is offered.
    pub fn from_code(code: RedeemedCode) -> Self {
        let RedeemedCode { digest, record } = code;
        let attributes = record.attributes.clone();
        TokenDecision { attributes, offers_refresh_token: true, ..Self::new(Origin::Code(digest, record)) }
    }

    /// Tokens from a refresh token the engine redeemed: for its subject, in its family, with
    /// the requested scope within the original grant's (RFC 6749 §6). A new refresh token is
    /// offered when the old one was rotated out.
    pub fn from_refresh_token(token: RefreshedToken) -> Self {
        let RefreshedToken { digest, record, rotate } = token;
        let attributes = record.attributes.clone();
        TokenDecision {
            attributes,
            offers_refresh_token: rotate,
            ..Self::new(Origin::Refresh { digest, record, rotate })
        }
    }

    /// Tokens from a pending authorization (an RFC 8628 device code) its user approved: for
    /// that user, with the approved scope. A refresh token is offered.
    pub fn from_pending(approved: ApprovedPending) -> Self {
        let ApprovedPending { digest, subject, record } = approved;
        TokenDecision { offers_refresh_token: true, ..Self::new(Origin::Pending { digest, subject, record }) }
    }

    /// A token for the subject of `subject_token`, an active access token of this server
    /// (token exchange, RFC 8693 §2.1): its `sub` is the subject token's, its scope at most the
    /// subject token's (and, as always, the client's). No refresh token is offered.
    pub fn exchange(subject_token: &ActiveToken) -> Self {
        Self::new(Origin::Exchange {
            subject: Arc::from(subject_token.sub()),
            scope: subject_token.scope().clone(),
            actor: None,
        })
    }

    /// For an exchange: the token is delegated to `actor_token`'s subject, which acts for the
    /// subject (RFC 8693 §4.1 `act`, shown by introspection and in JWT access tokens). On other
    /// decisions it does nothing.
    pub fn acting(mut self, actor_token: &ActiveToken) -> Self {
        if let Origin::Exchange { actor, .. } = &mut self.origin {
            *actor = Some(Arc::from(actor_token.sub()));
        }
        self
    }

    /// The audience the token is for (RFC 8693 `audience`, RFC 8707 `resource`), which a
    /// self-contained token format writes as `aud`; the grant checked the client may have it.
    pub fn for_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Grants at most `scope`: the engine grants what the client asked for within it (all of
    /// it when the client named none), and refuses with `invalid_scope` what exceeds the
    /// limit it sets itself (the client's allowed scope, the approved or original scope).
    pub fn within(mut self, scope: Scope) -> Self {
        self.within = Some(scope);
        self
    }

    /// Offers a refresh token. The engine issues one only when, besides, the client is allowed
    /// the `refresh_token` grant and a registered refresh grant accepts the client's
    /// authentication method: a token the client cannot use is not issued.
    pub fn with_refresh_token(mut self) -> Self {
        self.offers_refresh_token = true;
        self
    }

    /// For a grant whose client authentication is
    /// [`Optional`](crate::ClientAuthentication::Optional): the client the grant identified
    /// (as the JWT bearer grant does from the assertion's `iss`). The engine looks it up and
    /// checks it is allowed the grant type; when a client did authenticate, it must be this
    /// one (`invalid_grant` otherwise).
    pub fn identified_client(mut self, client_id: impl Into<Arc<str>>) -> Self {
        self.identified_client = Some(client_id.into());
        self
    }

    /// Attaches data stored with the tokens.
    pub fn with_attribute(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Cow<'static, str>>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }
}

/// What a grant decided at the authorization endpoint, once the resource owner approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationDecision {
    pub(crate) response: AuthorizationResponseKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthorizationResponseKind {
    Code,
    AccessToken,
}

impl AuthorizationDecision {
    /// Answer with an authorization code (RFC 6749 §4.1.2), which the engine mints bound to
    /// the client, the redirect URI, the approved scope, the resource owner, the code lifetime
    /// and every extension's data.
    pub fn code() -> Self {
        AuthorizationDecision { response: AuthorizationResponseKind::Code }
    }

    /// Answer with an access token in the fragment (RFC 6749 §4.2.2), which the engine issues
    /// for the approved scope and the resource owner, never with a refresh token.
    pub fn access_token() -> Self {
        AuthorizationDecision { response: AuthorizationResponseKind::AccessToken }
    }
}
