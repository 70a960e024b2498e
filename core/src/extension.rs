//! Extensions: plugins attached to one registered grant, hooking named points of its flow.

use crate::authorization::AuthorizationRequest;
use crate::error::OAuthError;
use crate::grant::AccessGrant;
use crate::params::Params;
use crate::token::TokenResponse;

/// An extension attached to a grant at registration (like Authlib's
/// `register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])`).
///
/// Each hook runs at a named point of the grant's flow and may reject the request with an
/// OAuth error; an unimplemented hook does nothing. Hooks run in the order the extensions were
/// attached. They are synchronous: an extension that must consult a database does so in a
/// grant or a store, where the flow is async.
pub trait GrantExtension: Send + Sync + 'static {
    /// A short name, for listings and errors.
    fn name(&self) -> &str;

    /// After the engine and the grant validated an authorization request, before the resource
    /// owner is asked. May attach data to `request.attributes` (stored with the code).
    fn after_authorization_request_validated(&self, _request: &mut AuthorizationRequest) -> Result<(), OAuthError> {
        Ok(())
    }

    /// After the grant validated a token request, before tokens are made. `grant.attributes`
    /// holds what was attached at the authorization request.
    fn after_token_request_validated(&self, _params: &Params, _grant: &mut AccessGrant) -> Result<(), OAuthError> {
        Ok(())
    }

    /// On the token response just before it is issued and stored. May add fields.
    fn before_token_issued(&self, _grant: &AccessGrant, _token: &mut TokenResponse) -> Result<(), OAuthError> {
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
