//! [`Issuance`]: what the engine is about to issue, after it checked a grant's decision, as the
//! extensions see it; and [`ResponseMembers`], what they may add to the token response.

use crate::client::Client;
use crate::error::OAuthError;
use crate::grant_type::GrantType;
use crate::scope::Scope;
use crate::secret::TokenDigest;
use crate::storage::{Attributes, FamilyId};
use std::sync::Arc;

/// Tokens the engine is about to issue: for which client, grant type, resource owner and
/// scope. Extensions read it and may only narrow it: no method changes the client, the grant
/// type or the subject, and the scope can only shrink.
///
/// ```compile_fail,E0616
/// # use grantry_core::*;
/// fn impersonate(issuance: &mut Issuance) {
///     // error: the subject is the engine's.
///     issuance.subject = Some("admin".into());
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Issuance {
    pub(crate) client: Arc<dyn Client>,
    pub(crate) grant_type: GrantType,
    pub(crate) subject: Option<Arc<str>>,
    pub(crate) scope: Scope,
    /// The widest scope the engine allows here; re-checked after the last hook.
    pub(crate) limit: Scope,
    pub(crate) requested_scope: Option<Scope>,
    pub(crate) family: Option<FamilyId>,
    pub(crate) refresh_scope: Option<Scope>,
    pub(crate) offers_refresh_token: bool,
    pub(crate) attributes: Attributes,
    pub(crate) from_code: bool,
    /// What the engine consumes, atomically, just before it stores the new tokens.
    pub(crate) consumes: Consumes,
    /// Who acts for the subject (token exchange's delegation, RFC 8693 §4.1).
    pub(crate) actor: Option<Arc<str>>,
    /// The audience the grant accepted for the token.
    pub(crate) audience: Option<String>,
    /// Whether the tokens come from a token exchange (its response names `issued_token_type`).
    pub(crate) exchanged: bool,
}

/// A code or refresh token an issuance uses up when it is issued, and not before: a request
/// refused before then changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Consumes {
    Nothing,
    Code(TokenDigest),
    RefreshToken(TokenDigest),
    Pending(TokenDigest),
}

impl Issuance {
    /// The client the tokens are for.
    pub fn client(&self) -> &Arc<dyn Client> {
        &self.client
    }

    /// The grant type issuing them.
    pub fn grant_type(&self) -> &GrantType {
        &self.grant_type
    }

    /// The resource owner the tokens act for, if any.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The scope to be granted.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The scope the client asked for, if it asked.
    pub fn requested_scope(&self) -> Option<&Scope> {
        self.requested_scope.as_ref()
    }

    /// Whether the tokens come from an authorization code the engine redeemed (whatever the
    /// grant type's name): what PKCE checks the verifier of.
    pub fn is_from_code(&self) -> bool {
        self.from_code
    }

    /// Who acts for the subject, for a delegated token (RFC 8693 §4.1 `act`).
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// Whether a refresh token is offered (the engine still issues one only if the client can
    /// use it).
    pub fn offers_refresh_token(&self) -> bool {
        self.offers_refresh_token
    }

    /// Data carried from the authorization (such as the PKCE challenge) and stored with the
    /// tokens.
    pub fn attributes(&self) -> &Attributes {
        &self.attributes
    }

    /// The data, to change: an extension takes out what it consumed and adds its own.
    pub fn attributes_mut(&mut self) -> &mut Attributes {
        &mut self.attributes
    }

    /// Narrows the scope to `scope`, which must be within the current one (`invalid_scope`
    /// otherwise, and nothing changes).
    pub fn narrow_scope(&mut self, scope: Scope) -> Result<(), OAuthError> {
        if !scope.is_subset_of(&self.scope) {
            return Err(OAuthError::invalid_scope("an extension asked for a scope wider than the one granted"));
        }
        self.scope = scope;
        Ok(())
    }

    /// Withdraws the offer of a refresh token.
    pub fn decline_refresh_token(&mut self) {
        self.offers_refresh_token = false;
    }
}

/// Members of the token response that the engine owns, which no extension may set.
const RESERVED_MEMBERS: [&str; 10] = [
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "scope",
    "id_token",
    "issued_token_type",
    "error",
    "error_description",
    "error_uri",
];

/// Further members an extension adds to a token response (RFC 6749 §5.1 allows them). The
/// members the engine owns (`access_token`, `token_type`, `expires_in`, `refresh_token`,
/// `scope`, `id_token`, `issued_token_type` and the error members) cannot be set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseMembers(pub(crate) serde_json::Map<String, serde_json::Value>);

impl ResponseMembers {
    /// Adds (or replaces) a member; a member the engine owns is refused with `server_error`,
    /// which the extension should pass on: the request then fails and nothing is issued.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<serde_json::Value>) -> Result<(), OAuthError> {
        let name = name.into();
        if RESERVED_MEMBERS.contains(&name.as_str()) {
            return Err(OAuthError::server_error(format!("an extension may not set the token response member {name}")));
        }
        self.0.insert(name, value.into());
        Ok(())
    }

    /// The member `name`, if added.
    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.get(name)
    }

    /// The members, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &serde_json::Value)> {
        self.0.iter()
    }

    /// Whether none was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
