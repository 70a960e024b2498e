//! Extensions: plugins attached to one registered grant, hooking named points of its flow.

use crate::authorization::{Approval, AuthorizationRequest, RedirectParams};
use crate::client::Client;
use crate::error::OAuthError;
use crate::issuance::{Issuance, ResponseMembers};
use crate::params::Params;
use crate::storage::Attributes;

/// An extension: hooks at named points of a grant's flow, each able to refuse the request
/// with an OAuth error.
///
/// Attach one to a grant at registration (like Authlib's
/// `register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])`), or to the whole
/// server with [`AuthorizationServer::add_extension`](crate::AuthorizationServer::add_extension),
/// where it runs for every grant, before the grant's own extensions. An unimplemented hook does
/// nothing. Hooks are synchronous: an extension that must consult a database does so in a
/// grant or a store, where the flow is async.
///
/// Hooks see read-only views and get narrow mutators: they can refuse, narrow the scope, attach
/// data, and add members to a response, never replace what the engine owns (the client, the
/// redirect URI, the subject, the tokens, their lifetime). After the last hook the engine
/// checks its invariants again.
///
/// The hook points, in flow order:
///
/// | endpoint | hook | may |
/// |---|---|---|
/// | authorization | [`before_authorization_request_validated`](Self::before_authorization_request_validated) | refuse |
/// | authorization | [`after_authorization_request_validated`](Self::after_authorization_request_validated) | attach data, refuse |
/// | authorization | [`before_code_issued`](Self::before_code_issued) | attach data to the code, refuse |
/// | authorization | [`before_authorization_response`](Self::before_authorization_response) | add redirect parameters |
/// | token | [`before_token_request_validated`](Self::before_token_request_validated) | refuse |
/// | token | [`after_token_request_validated`](Self::after_token_request_validated) | narrow the scope, change data, refuse |
/// | both | [`before_token_issued`](Self::before_token_issued) | add response members, refuse |
pub trait GrantExtension: Send + Sync + 'static {
    /// A short name, for listings and errors.
    fn name(&self) -> &str;

    /// After the client and redirect URI are known sound and the grant is chosen, before the
    /// rest of the authorization request is validated. A refusal is redirected to the client.
    fn before_authorization_request_validated(&self, _params: &Params) -> Result<(), OAuthError> {
        Ok(())
    }

    /// After the engine and the grant validated an authorization request, before the resource
    /// owner is asked. May attach data to `attach` (stored with a code the engine mints).
    fn after_authorization_request_validated(
        &self,
        _request: &AuthorizationRequest,
        _attach: &mut Attributes,
    ) -> Result<(), OAuthError> {
        Ok(())
    }

    /// When the engine mints an authorization code: may attach data to it (the "code
    /// modifier"). The data reaches
    /// [`after_token_request_validated`](Self::after_token_request_validated) when the code is
    /// redeemed.
    fn before_code_issued(
        &self,
        _request: &AuthorizationRequest,
        _approval: &Approval,
        _attach: &mut Attributes,
    ) -> Result<(), OAuthError> {
        Ok(())
    }

    /// On the parameters of every redirect the authorization endpoint sends, success or error
    /// (RFC 9207 adds `iss` here). Cannot refuse: by now the response is decided; and cannot
    /// set the parameters the engine owns.
    fn before_authorization_response(&self, _params: &mut RedirectParams) {}

    /// After the client is authenticated and the grant chosen, before the grant validates the
    /// token request.
    fn before_token_request_validated(&self, _params: &Params, _client: Option<&dyn Client>) -> Result<(), OAuthError> {
        Ok(())
    }

    /// After the grant decided and the engine checked the decision, before tokens are made.
    /// `issuance.attributes()` holds what was attached at the authorization request.
    fn after_token_request_validated(&self, _params: &Params, _issuance: &mut Issuance) -> Result<(), OAuthError> {
        Ok(())
    }

    /// Just before the tokens are made and stored (the "token modifier"): may add members to
    /// the response.
    fn before_token_issued(&self, _issuance: &Issuance, _members: &mut ResponseMembers) -> Result<(), OAuthError> {
        Ok(())
    }

    /// Fields this extension contributes to the server metadata document (RFC 8414), such as
    /// `code_challenge_methods_supported`.
    fn metadata(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
}

/// Anything that can be the extension list of a registration: `()`, one extension, a tuple of
/// up to four, or a `Vec<Box<dyn GrantExtension>>`.
pub trait IntoExtensions {
    /// The extensions, in hook order.
    fn into_extensions(self) -> Vec<Box<dyn GrantExtension>>;
}

impl IntoExtensions for () {
    fn into_extensions(self) -> Vec<Box<dyn GrantExtension>> {
        Vec::new()
    }
}

impl IntoExtensions for Vec<Box<dyn GrantExtension>> {
    fn into_extensions(self) -> Vec<Box<dyn GrantExtension>> {
        self
    }
}

impl<const N: usize> IntoExtensions for [Box<dyn GrantExtension>; N] {
    fn into_extensions(self) -> Vec<Box<dyn GrantExtension>> {
        self.into()
    }
}

impl<E: GrantExtension> IntoExtensions for E {
    fn into_extensions(self) -> Vec<Box<dyn GrantExtension>> {
        vec![Box::new(self)]
    }
}

macro_rules! tuple_extensions {
    ($($name:ident),+) => {
        impl<$($name: GrantExtension),+> IntoExtensions for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_extensions(self) -> Vec<Box<dyn GrantExtension>> {
                let ($($name,)+) = self;
                vec![$(Box::new($name)),+]
            }
        }
    };
}
tuple_extensions!(A);
tuple_extensions!(A, B);
tuple_extensions!(A, B, C);
tuple_extensions!(A, B, C, D);
