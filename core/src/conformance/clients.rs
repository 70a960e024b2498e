//! Checks of a [`ClientStore`]: the fixture clients are found with their registration, their
//! secrets checked, and nothing else is found.

use super::{Fixtures, Harness, SPA, WEB, WEB_SECRET, ok, open};
use crate::grant_type::{GrantType, ResponseType};
use crate::storage::ClientStore;

/// Every fixture client is found by its id, with the registration it was opened with:
/// redirect URIs, scope, grant and response types, authentication method.
pub async fn registered_clients_are_found<H: Harness>(harness: &H)
where
    H::Store: ClientStore,
{
    let store = open(harness).await;
    for registered in Fixtures::standard().clients {
        let id = registered.client_id.clone();
        let Some(found) = ok("find_client", store.find_client(&id).await) else {
            panic!("the fixture client {id:?} is not found");
        };
        assert_eq!(found.client_id(), &*id);
        assert_eq!(&*found.shared_client_id(), &*id);
        assert_eq!(found.redirect_uris(), registered.redirect_uris.as_slice(), "{id}: redirect URIs");
        assert_eq!(found.allowed_scope(), &registered.scope, "{id}: scope");
        assert_eq!(found.token_endpoint_auth_method(), &registered.token_endpoint_auth_method, "{id}: auth method");
        for grant_type in &registered.grant_types {
            assert!(found.allows_grant_type(grant_type), "{id}: grant type {grant_type} is registered");
        }
        for grant_type in [GrantType::PASSWORD, GrantType::CLIENT_CREDENTIALS, GrantType::IMPLICIT] {
            assert!(!found.allows_grant_type(&grant_type), "{id}: grant type {grant_type} is not registered");
        }
        assert!(found.allows_response_type(&ResponseType::CODE), "{id}: response type code is registered");
        assert!(!found.allows_response_type(&ResponseType::TOKEN), "{id}: response type token is not registered");
    }
    let web = ok("find_client", store.find_client(WEB).await);
    let spa = ok("find_client", store.find_client(SPA).await);
    assert!(web.is_some_and(|client| !client.is_public()), "{WEB} is confidential");
    assert!(spa.is_some_and(|client| client.is_public()), "{SPA} is public");
}

/// The confidential client's secret is accepted and anything else refused; the public client
/// accepts no secret.
pub async fn client_secrets_are_checked<H: Harness>(harness: &H)
where
    H::Store: ClientStore,
{
    let store = open(harness).await;
    let Some(web) = ok("find_client", store.find_client(WEB).await) else { panic!("{WEB} is not found") };
    assert!(web.check_secret(WEB_SECRET), "the right secret must be accepted");
    let wrong = ["", "conformance-web-secre", "conformance-web-secret ", "CONFORMANCE-WEB-SECRET"];
    for presented in wrong {
        assert!(!web.check_secret(presented), "the secret {presented:?} must be refused");
    }
    let Some(spa) = ok("find_client", store.find_client(SPA).await) else { panic!("{SPA} is not found") };
    for presented in ["", WEB_SECRET] {
        assert!(!spa.check_secret(presented), "a public client accepts no secret");
    }
}

/// An id no client has is not found, nor one differing only in case or spacing (client ids
/// are compared exactly).
pub async fn an_unknown_client_is_not_found<H: Harness>(harness: &H)
where
    H::Store: ClientStore,
{
    let store = open(harness).await;
    for id in ["unknown", "", "CONFORMANCE-WEB", "conformance-web ", " conformance-spa", "conformance"] {
        assert!(ok("find_client", store.find_client(id).await).is_none(), "client {id:?} must not be found");
    }
}
