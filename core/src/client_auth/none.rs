//! `none`: a public client names itself with `client_id` and proves nothing.

use super::{ClientAuthInput, ClientAuthenticator, Presence, find_client};
use crate::client::Client;
use crate::error::OAuthError;
use crate::grant_type::ClientAuthMethod;
use crate::params::Params;
use crate::request::Request;
use std::sync::Arc;

/// `none`: the public-client "method". The engine accepts it only for clients registered with
/// `token_endpoint_auth_method` `none`, so a confidential client can never be named without
/// its credentials.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoneAuthenticator;

#[async_trait::async_trait]
impl ClientAuthenticator for NoneAuthenticator {
    fn method(&self) -> ClientAuthMethod {
        ClientAuthMethod::NONE
    }

    fn presence(&self, _: &Request, params: &Params) -> Presence {
        if params.contains("client_id") { Presence::IdentifiesOnly } else { Presence::Absent }
    }

    async fn authenticate(&self, input: &ClientAuthInput<'_>) -> Result<Arc<dyn Client>, OAuthError> {
        let id = input.params.require("client_id")?;
        find_client(input.clients, id).await
    }
}
