//! `client_secret_post`: client id and secret in the form body.

use super::{AUTHENTICATION_FAILED, ClientAuthInput, ClientAuthenticator, Presence};
use crate::client::Client;
use crate::error::OAuthError;
use crate::grant_type::ClientAuthMethod;
use crate::params::Params;
use crate::request::Request;
use std::sync::Arc;

/// `client_secret_post` (RFC 6749 §2.3.1): `client_id` and `client_secret` body parameters.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientSecretPost;

#[async_trait::async_trait]
impl ClientAuthenticator for ClientSecretPost {
    fn method(&self) -> ClientAuthMethod {
        ClientAuthMethod::CLIENT_SECRET_POST
    }

    fn presence(&self, _: &Request, params: &Params) -> Presence {
        if params.contains("client_secret") { Presence::Credentials } else { Presence::Absent }
    }

    async fn authenticate(&self, input: &ClientAuthInput<'_>) -> Result<Arc<dyn Client>, OAuthError> {
        let id = input.params.get("client_id").ok_or_else(|| OAuthError::invalid_client(AUTHENTICATION_FAILED))?;
        let secret = input.params.get("client_secret").unwrap_or_default();
        input.verify_secret(id, secret).await
    }
}
