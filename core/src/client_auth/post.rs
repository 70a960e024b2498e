//! `client_secret_post`: client id and secret in the form body.

use super::{AUTHENTICATION_FAILED, ClientAuthInput, ClientAuthenticator, Presence, found_client, verified};
use crate::client::Client;
use crate::error::OAuthError;
use crate::future::MaybeReady;
use crate::grant_type::ClientAuthMethod;
use crate::params::Params;
use crate::request::Request;
use std::sync::Arc;

/// `client_secret_post` (RFC 6749 §2.3.1): `client_id` and `client_secret` body parameters.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientSecretPost;

impl ClientAuthenticator for ClientSecretPost {
    fn method(&self) -> ClientAuthMethod {
        ClientAuthMethod::CLIENT_SECRET_POST
    }

    fn presence(&self, _: &Request, params: &Params) -> Presence {
        if params.contains("client_secret") { Presence::Credentials } else { Presence::Absent }
    }

    fn authenticate<'a>(
        &'a self,
        input: &'a ClientAuthInput<'a>,
    ) -> MaybeReady<'a, Result<Arc<dyn Client>, OAuthError>> {
        let Some(id) = input.params.get("client_id") else {
            return MaybeReady::ready(Err(OAuthError::invalid_client(AUTHENTICATION_FAILED)));
        };
        let secret = input.params.get("client_secret").unwrap_or_default();
        // The credentials live in the request, so a pending lookup can simply be awaited.
        input.clients.find_client(id).map(move |answer| verified(found_client(answer), secret))
    }
}
