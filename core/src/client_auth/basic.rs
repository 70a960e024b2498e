//! `client_secret_basic`: client id and secret in the `Authorization: Basic` header.

use super::{AUTHENTICATION_FAILED, ClientAuthInput, ClientAuthenticator, Presence, find_client};
use crate::client::Client;
use crate::error::OAuthError;
use crate::future::BoxFuture;
use crate::grant_type::ClientAuthMethod;
use crate::params::{Params, decode_component};
use crate::request::Request;
use base64::Engine as _;
use std::sync::Arc;

/// `client_secret_basic` (RFC 6749 §2.3.1). The id and secret are form-urlencoded before
/// base64 encoding, and decoded here accordingly.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientSecretBasic;

const CHALLENGE: &str = "Basic realm=\"grantry\", charset=\"UTF-8\"";

fn basic_credentials(request: &Request) -> Option<&str> {
    let value = request.headers().get("authorization")?;
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
}

/// Decodes `base64(urlencode(id) ":" urlencode(secret))`.
pub(crate) fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let engine = base64::engine::general_purpose::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let raw = engine.decode(encoded).ok()?;
    let colon = raw.iter().position(|&b| b == b':')?;
    let id = decode_component(&raw[..colon]).ok()?;
    let secret = decode_component(&raw[colon + 1..]).ok()?;
    (!id.is_empty()).then_some((id, secret))
}

impl ClientAuthenticator for ClientSecretBasic {
    fn method(&self) -> ClientAuthMethod {
        ClientAuthMethod::CLIENT_SECRET_BASIC
    }

    fn presence(&self, request: &Request, _: &Params) -> Presence {
        if basic_credentials(request).is_some() { Presence::Credentials } else { Presence::Absent }
    }

    fn authenticate<'a>(
        &'a self,
        input: &'a ClientAuthInput<'a>,
    ) -> BoxFuture<'a, Result<Arc<dyn Client>, OAuthError>> {
        Box::pin(async move {
            if input.request.headers().count("authorization") > 1 {
                return Err(OAuthError::invalid_request("more than one Authorization header"));
            }
            let (id, secret) = basic_credentials(input.request)
                .and_then(decode_basic)
                .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
            if input.params.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::invalid_request("client_id in the body differs from the Authorization header"));
            }
            let client = find_client(input.clients, &id).await?;
            if !client.check_secret(&secret) {
                return Err(OAuthError::invalid_client(AUTHENTICATION_FAILED));
            }
            Ok(client)
        })
    }

    fn challenge(&self) -> Option<&'static str> {
        Some(CHALLENGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_form_encoded_credentials() {
        // "my%20client:p%3Ass+word" → id "my client", secret "p:ss word"
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%20client:p%3Ass+word");
        assert_eq!(decode_basic(&encoded), Some(("my client".into(), "p:ss word".into())));
    }

    #[test]
    fn rejects_malformed_credentials() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(decode_basic("not base64!"), None);
        assert_eq!(decode_basic(&b64("no-colon")), None);
        assert_eq!(decode_basic(&b64(":secret")), None);
        assert_eq!(decode_basic(&b64("id:%zz")), None);
        // Unpadded base64 is accepted.
        assert_eq!(decode_basic(b64("ab:cd").trim_end_matches('=')), Some(("ab".into(), "cd".into())));
    }
}
