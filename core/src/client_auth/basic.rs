//! `client_secret_basic`: client id and secret in the `Authorization: Basic` header.

use super::{ClientAuthInput, ClientAuthenticator, Presence};
use crate::client::Client;
use crate::error::OAuthError;
use crate::grant_type::ClientAuthMethod;
use crate::params::{Params, decode_component, has_escape};
use crate::request::{Request, header_text};
use base64::DecodeSliceError;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::header::AUTHORIZATION;
use std::borrow::Cow;
use std::sync::Arc;

/// `client_secret_basic` (RFC 6749 §2.3.1). The id and secret are form-urlencoded before
/// base64 encoding, and decoded here accordingly.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientSecretBasic;

/// The `WWW-Authenticate` challenge of a failed Basic authentication (RFC 7617).
pub(crate) const CHALLENGE: &str = "Basic realm=\"grantry\", charset=\"UTF-8\"";

/// The credentials of an `Authorization: Basic` header value.
fn basic_credentials(value: &str) -> Option<&str> {
    // The scheme is the first six bytes ("Basic "): checked in place, without a search.
    let scheme = value.get(..6)?;
    let rest = value.get(6..)?;
    scheme.eq_ignore_ascii_case("basic ").then(|| rest.trim_ascii())
}

/// Standard base64, padded or not.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Credentials up to this many bytes are decoded on the stack; longer ones on the heap.
pub(crate) const INLINE_CREDENTIALS: usize = 256;

/// Decodes `base64(urlencode(id) ":" urlencode(secret))`, into `buf` when it fits.
pub(crate) fn decode_basic<'b>(
    encoded: &str,
    buf: &'b mut [u8; INLINE_CREDENTIALS],
) -> Option<(Cow<'b, str>, Cow<'b, str>)> {
    match BASE64.decode_slice(encoded, buf) {
        Ok(len) => split_credentials(buf.get(..len)?),
        Err(DecodeSliceError::OutputSliceTooSmall) => {
            let raw = BASE64.decode(encoded).ok()?;
            let (id, secret) = split_credentials(&raw)?;
            Some((Cow::Owned(id.into_owned()), Cow::Owned(secret.into_owned())))
        }
        Err(DecodeSliceError::DecodeError(_)) => None,
    }
}

fn split_credentials(raw: &[u8]) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let colon = raw.iter().position(|&b| b == b':')?;
    // Usually nothing is encoded: then one UTF-8 check covers both halves.
    let (id, secret) = if has_escape(raw) {
        (decode_component(&raw[..colon]).ok()?, decode_component(&raw[colon + 1..]).ok()?)
    } else {
        let text = std::str::from_utf8(raw).ok()?;
        (Cow::Borrowed(text.get(..colon)?), Cow::Borrowed(text.get(colon + 1..)?))
    };
    (!id.is_empty()).then_some((id, secret))
}

/// The client id and secret of an `Authorization` header value, as `client_secret_basic`
/// reads them (RFC 6749 §2.3.1): the `Basic` scheme in any case, then
/// `base64(urlencode(id) ":" urlencode(secret))`, padded or not. `None` when the value is not
/// of that form, when either half is not UTF-8 or not validly form-encoded, or when the id is
/// empty. Splits at the first unencoded colon, so a secret may contain more.
///
/// ```
/// use grantry_core::client_auth::decode_basic_authorization;
/// // base64("my%20client:p%3Ass+word")
/// let decoded = decode_basic_authorization("Basic bXklMjBjbGllbnQ6cCUzQXNzK3dvcmQ=");
/// assert_eq!(decoded, Some(("my client".to_owned(), "p:ss word".to_owned())));
/// assert_eq!(decode_basic_authorization("Bearer abc"), None);
/// ```
pub fn decode_basic_authorization(value: &str) -> Option<(String, String)> {
    let mut buf = [0u8; INLINE_CREDENTIALS];
    let (id, secret) = decode_basic(basic_credentials(value)?, &mut buf)?;
    Some((id.into_owned(), secret.into_owned()))
}

/// The id and secret of the request's `Authorization: Basic` header, decoded into `buf` when
/// they fit, checked against a `client_id` in the body.
fn credentials<'b>(
    input: &ClientAuthInput<'_>,
    buf: &'b mut [u8; INLINE_CREDENTIALS],
) -> Result<(Cow<'b, str>, Cow<'b, str>), OAuthError> {
    let mut headers = input.request.headers().get_all(AUTHORIZATION).iter();
    let header = headers.next();
    if headers.next().is_some() {
        return Err(OAuthError::invalid_request("more than one Authorization header"));
    }
    let (id, secret) = header
        .and_then(|value| std::str::from_utf8(value.as_bytes()).ok())
        .and_then(basic_credentials)
        .and_then(|encoded| decode_basic(encoded, buf))
        .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?;
    if input.params.get("client_id").is_some_and(|body_id| body_id != id) {
        return Err(OAuthError::invalid_request("client_id in the body differs from the Authorization header"));
    }
    Ok((id, secret))
}

#[async_trait::async_trait]
impl ClientAuthenticator for ClientSecretBasic {
    fn method(&self) -> ClientAuthMethod {
        ClientAuthMethod::CLIENT_SECRET_BASIC
    }

    fn presence(&self, request: &Request, _: &Params) -> Presence {
        if header_text(request.headers(), &AUTHORIZATION).and_then(basic_credentials).is_some() {
            Presence::Credentials
        } else {
            Presence::Absent
        }
    }

    async fn authenticate(&self, input: &ClientAuthInput<'_>) -> Result<Arc<dyn Client>, OAuthError> {
        let mut buf = [0u8; INLINE_CREDENTIALS];
        let (id, secret) = credentials(input, &mut buf)?;
        input.verify_secret(&id, &secret).await
    }

    fn challenge(&self) -> Option<&'static str> {
        Some(CHALLENGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(encoded: &str) -> Option<(String, String)> {
        let mut buf = [0u8; INLINE_CREDENTIALS];
        decode_basic(encoded, &mut buf).map(|(id, secret)| (id.into_owned(), secret.into_owned()))
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    /// A client store whose every answer takes a poll to arrive, around a memory store.
    struct SlowClients {
        inner: crate::MemoryStore,
        lookups: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl crate::storage::ClientStore for SlowClients {
        async fn find_client(&self, client_id: &str) -> Result<Option<Arc<dyn Client>>, crate::storage::StorageError> {
            self.lookups.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tokio::task::yield_now().await;
            self.inner.find_client(client_id).await
        }
    }

    async fn authenticate(clients: &dyn crate::storage::ClientStore, credentials: &str) -> Result<String, OAuthError> {
        let request = http::Request::post("/token")
            .header(AUTHORIZATION, format!("Basic {}", b64(credentials)))
            .body(Vec::new())
            .unwrap();
        let params = Params::new();
        let input = ClientAuthInput {
            request: &request,
            params: &params,
            clients,
            replays: &crate::MemoryStore::new(),
            issuer: "https://as.example",
            token_endpoint: "https://as.example/token",
            clock: &crate::SystemClock,
            throttle: &crate::throttle::NoThrottle,
        };
        ClientSecretBasic.authenticate(&input).await.map(|client| client.client_id().to_owned())
    }

    #[tokio::test]
    async fn authenticates_whether_the_store_answers_at_once_or_later() {
        let store = crate::MemoryStore::new();
        store.add_client(crate::ClientRecord::confidential("svc", "svc-secret")).unwrap();
        let slow = SlowClients { inner: store, lookups: Default::default() };
        let clients: [&dyn crate::storage::ClientStore; 2] = [&slow.inner, &slow];
        for clients in clients {
            assert_eq!(authenticate(clients, "svc:svc-secret").await.unwrap(), "svc");
            for wrong in ["svc:wrong", "nobody:svc-secret"] {
                let err = authenticate(clients, wrong).await.unwrap_err();
                assert_eq!(
                    (err.code(), err.description()),
                    (&crate::ErrorCode::InvalidClient, Some(super::super::AUTHENTICATION_FAILED))
                );
            }
        }
        assert_eq!(slow.lookups.load(std::sync::atomic::Ordering::Relaxed), 3, "one lookup a request");
    }

    #[test]
    fn finds_the_basic_scheme_in_any_case() {
        for (value, expected) in [
            ("Basic abc", Some("abc")),
            ("basic  abc ", Some("abc")),
            ("BASIC abc", Some("abc")),
            ("Basic ", Some("")),
            ("Basic", None),
            ("Basically abc", None),
            ("Bearer abc", None),
            ("Basic\tabc", None),
            ("Bäsic abc", None),
        ] {
            assert_eq!(basic_credentials(value), expected, "{value:?}");
        }
    }

    #[test]
    fn decodes_form_encoded_credentials() {
        // "my%20client:p%3Ass+word" → id "my client", secret "p:ss word"
        assert_eq!(decode(&b64("my%20client:p%3Ass+word")), Some(("my client".into(), "p:ss word".into())));
    }

    #[test]
    fn splits_at_the_first_colon_with_or_without_escapes() {
        // An unencoded colon in the secret stays in it, whichever decoding path runs.
        assert_eq!(decode(&b64("id:se:cret")), Some(("id".into(), "se:cret".into())));
        assert_eq!(decode(&b64("i%64:se:cret")), Some(("id".into(), "se:cret".into())));
        // A character cut by the colon is invalid UTF-8 on either side.
        assert_eq!(decode(&base64::engine::general_purpose::STANDARD.encode(b"id\xc3:x")), None);
    }

    #[test]
    fn rejects_malformed_credentials() {
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode(&b64("no-colon")), None);
        assert_eq!(decode(&b64(":secret")), None);
        assert_eq!(decode(&b64("id:%zz")), None);
        assert_eq!(decode(&b64("id:\u{fffd}")), Some(("id".into(), "\u{fffd}".into())));
        // Unpadded base64 is accepted.
        assert_eq!(decode(b64("ab:cd").trim_end_matches('=')), Some(("ab".into(), "cd".into())));
    }

    #[test]
    fn decodes_credentials_longer_than_the_stack_buffer() {
        let secret = "s".repeat(INLINE_CREDENTIALS * 2);
        assert_eq!(decode(&b64(&format!("long:{secret}"))), Some(("long".into(), secret.clone())));
        assert_eq!(decode(&b64(&format!(":{secret}"))), None);
        // Invalid UTF-8 is refused on both paths.
        let bad = base64::engine::general_purpose::STANDARD.encode(b"id:\xff");
        assert_eq!(decode(&bad), None);
        let mut long_bad = b"id:".to_vec();
        long_bad.extend(std::iter::repeat_n(0xff, INLINE_CREDENTIALS));
        assert_eq!(decode(&base64::engine::general_purpose::STANDARD.encode(long_bad)), None);
    }
    /// Properties over generated inputs (proptest: structured generation and shrinking, on
    /// stable, in the normal test run).
    mod properties {
        use super::*;
        use crate::params::encode_component;
        use proptest::prelude::*;

        fn header(id: &str, secret: &str, scheme: &str, padded: bool) -> String {
            let raw = format!("{}:{}", encode_component(id), encode_component(secret));
            let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
            let encoded = if padded { encoded.as_str() } else { encoded.trim_end_matches('=') };
            format!("{scheme} {encoded}")
        }

        proptest! {
            #[test]
            fn encoded_credentials_decode_to_themselves(
                id in ".+",
                secret in ".*",
                scheme in prop::sample::select(&["Basic", "basic", "BASIC", "bAsIc"][..]),
                padded in any::<bool>(),
            ) {
                let value = header(&id, &secret, scheme, padded);
                prop_assert_eq!(decode_basic_authorization(&value), Some((id, secret)));
            }

            #[test]
            fn a_raw_colon_in_the_secret_stays_in_it(id in "[^:%+]+", secret in "[^%+]*") {
                // Unencoded, as many clients send it: the split is at the first colon.
                let raw = format!("{id}:{secret}");
                let value = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw));
                prop_assert_eq!(decode_basic_authorization(&value), Some((id, secret)));
            }

            #[test]
            fn any_header_value_never_panics(value in ".*") {
                let _ = decode_basic_authorization(&value);
                let _ = decode_basic_authorization(&format!("Basic {value}"));
            }

            #[test]
            fn any_decoded_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..600)) {
                let value = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(&raw));
                if let Some((id, _)) = decode_basic_authorization(&value) {
                    prop_assert!(!id.is_empty());
                }
            }
        }
    }
}
