//! A custom URN grant defined outside the engine crates, and a test extension proving that
//! every hook point runs, in order, and can reject the request.

mod engine_http;

use engine_http::ResponseExt;
use grantry_core::http;
use grantry_core::request::FormBody;
use grantry_core::storage::Attributes;
use grantry_core::{
    Approval, AuthorizationRequest, AuthorizationServer, ClientAuthMethod, ClientAuthMethods, ClientRecord, Consent,
    Grant, GrantExtension, GrantType, Issuance, MemoryStore, OAuthError, Params, Request, ResponseMembers,
    ResponseType, ServerConfig, Serves, TokenDecision, TokenGrant, TokenRequest,
};
use grantry_grants::AuthorizationCodeGrant;
use std::sync::{Arc, Mutex};

const API_KEY_GRANT: &str = "urn:example:params:oauth:grant-type:api-key";

/// Exchanges an API key for an access token for the key's owner.
struct ApiKeyGrant;

impl Grant for ApiKeyGrant {
    fn serves(&self) -> Serves<Self> {
        Serves::token_endpoint(GrantType::from_static(API_KEY_GRANT))
            .with_auth_methods(ClientAuthMethods::only([ClientAuthMethod::CLIENT_SECRET_POST]))
    }
}

impl TokenGrant for ApiKeyGrant {
    async fn exchange(&self, request: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        match request.params().require("api_key")? {
            "key-of-alice" => Ok(TokenDecision::for_user("alice")),
            _ => Err(OAuthError::invalid_grant("unknown API key")),
        }
    }
}

/// Which hook should reject, if any.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RejectAt {
    Nowhere,
    AuthorizationRequest,
    TokenRequest,
    TokenIssue,
}

/// Records every hook call and rejects at the configured point.
struct Recorder {
    calls: Arc<Mutex<Vec<&'static str>>>,
    reject_at: RejectAt,
}

impl Recorder {
    fn new(reject_at: RejectAt) -> (Self, Arc<Mutex<Vec<&'static str>>>) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        (Recorder { calls: calls.clone(), reject_at }, calls)
    }

    fn hook(&self, name: &'static str, point: RejectAt) -> Result<(), OAuthError> {
        self.calls.lock().unwrap().push(name);
        if self.reject_at == point {
            return Err(OAuthError::access_denied(format!("rejected by {name}")));
        }
        Ok(())
    }
}

impl GrantExtension for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }

    fn after_authorization_request_validated(
        &self,
        _request: &AuthorizationRequest,
        attach: &mut Attributes,
    ) -> Result<(), OAuthError> {
        attach.insert("recorded".into(), "yes".into());
        self.hook("after_authorization_request_validated", RejectAt::AuthorizationRequest)
    }

    fn after_token_request_validated(&self, _params: &Params, issuance: &mut Issuance) -> Result<(), OAuthError> {
        // Data attached at the authorization request arrives with the code (absent for
        // grants without an authorization step).
        if issuance.is_from_code() {
            assert_eq!(issuance.attributes().get("recorded").map(|v| &**v), Some("yes"));
        }
        self.hook("after_token_request_validated", RejectAt::TokenRequest)
    }

    fn before_token_issued(&self, _issuance: &Issuance, members: &mut ResponseMembers) -> Result<(), OAuthError> {
        members.insert("recorded_by", "recorder")?;
        self.hook("before_token_issued", RejectAt::TokenIssue)
    }
}

fn store() -> MemoryStore {
    let store = MemoryStore::new();
    store
        .add_client(
            ClientRecord::confidential("integrator", "integrator-secret")
                .with_auth_method(ClientAuthMethod::CLIENT_SECRET_POST)
                .with_grant_types([GrantType::parse(API_KEY_GRANT).unwrap()])
                .with_scope("read"),
        )
        .unwrap();
    store
        .add_client(
            ClientRecord::public("spa")
                .with_redirect_uri("https://spa.example/cb")
                .with_grant_types([GrantType::AUTHORIZATION_CODE])
                .with_response_types([ResponseType::CODE])
                .with_scope("read"),
        )
        .unwrap();
    store
}

fn api_key_request(key: &str) -> Request {
    http::Request::post("/token")
        .form(&[
            ("grant_type", API_KEY_GRANT),
            ("api_key", key),
            ("client_id", "integrator"),
            ("client_secret", "integrator-secret"),
        ])
        .unwrap()
}

fn server_with_api_key_grant(reject_at: RejectAt) -> (AuthorizationServer, Arc<Mutex<Vec<&'static str>>>) {
    let mut server = AuthorizationServer::new(store(), ServerConfig::new("https://auth.example").unwrap());
    let (recorder, calls) = Recorder::new(reject_at);
    server.register_grant(ApiKeyGrant, recorder).unwrap();
    (server, calls)
}

#[tokio::test]
async fn custom_urn_grant_is_served_with_its_extension() {
    let (server, calls) = server_with_api_key_grant(RejectAt::Nowhere);
    assert_eq!(server.registry().grant_types(), vec![GrantType::parse(API_KEY_GRANT).unwrap()]);

    let response = server.token_endpoint(&api_key_request("key-of-alice")).await;
    assert_eq!(response.status().as_u16(), 200, "{:?}", response.json());
    let body = response.json().unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["recorded_by"], "recorder", "before_token_issued may add fields");
    assert!(body.get("refresh_token").is_none());
    assert_eq!(*calls.lock().unwrap(), ["after_token_request_validated", "before_token_issued"]);

    let wrong = server.token_endpoint(&api_key_request("key-of-mallory")).await;
    assert_eq!(wrong.json().unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn custom_grant_uses_its_own_auth_methods() {
    let (server, _) = server_with_api_key_grant(RejectAt::Nowhere);
    // The grant allows only client_secret_post: Basic is refused even with the right secret.
    let basic = http::Request::post("/token")
        .header("Authorization", "Basic aW50ZWdyYXRvcjppbnRlZ3JhdG9yLXNlY3JldA==")
        .form(&[("grant_type", API_KEY_GRANT), ("api_key", "key-of-alice")])
        .unwrap();
    let response = server.token_endpoint(&basic).await;
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.json().unwrap()["error"], "invalid_client");
}

#[tokio::test]
async fn token_hooks_can_reject_and_nothing_is_stored() {
    for (point, expected_calls) in [
        (RejectAt::TokenRequest, vec!["after_token_request_validated"]),
        (RejectAt::TokenIssue, vec!["after_token_request_validated", "before_token_issued"]),
    ] {
        let (server, calls) = server_with_api_key_grant(point);
        let response = server.token_endpoint(&api_key_request("key-of-alice")).await;
        assert_eq!(response.status().as_u16(), 400, "{point:?}");
        assert_eq!(response.json().unwrap()["error"], "access_denied");
        assert_eq!(*calls.lock().unwrap(), expected_calls);
    }
}

async fn code_server(reject_at: RejectAt) -> (AuthorizationServer, Arc<Mutex<Vec<&'static str>>>) {
    let mut server = AuthorizationServer::new(store(), ServerConfig::new("https://auth.example").unwrap());
    let (recorder, calls) = Recorder::new(reject_at);
    server.register_grant(AuthorizationCodeGrant::new(), [Box::new(recorder) as Box<dyn GrantExtension>]).unwrap();
    (server, calls)
}

const AUTHORIZE: &str = "/authorize?response_type=code&client_id=spa&state=s1";

#[tokio::test]
async fn authorization_hook_runs_and_its_data_reaches_the_token_request() {
    let (server, calls) = code_server(RejectAt::Nowhere).await;
    let validated =
        server.validate_authorization_request(&http::Request::get(AUTHORIZE).body(Vec::new()).unwrap()).await.unwrap();
    let redirect = server.create_authorization_response(&validated, Consent::Allow(Approval::new("alice"))).await;
    let location = redirect.header("Location").unwrap();
    let query = Params::parse(location.split_once('?').unwrap().1.as_bytes()).unwrap();
    let code = query.get("code").unwrap();
    let exchange = http::Request::post("/token")
        .form(&[("grant_type", "authorization_code"), ("code", code), ("client_id", "spa")])
        .unwrap();
    let response = server.token_endpoint(&exchange).await;
    assert_eq!(response.status().as_u16(), 200, "{:?}", response.json());
    assert_eq!(
        *calls.lock().unwrap(),
        ["after_authorization_request_validated", "after_token_request_validated", "before_token_issued"]
    );
}

#[tokio::test]
async fn authorization_hook_rejection_is_redirected_to_the_client() {
    let (server, _) = code_server(RejectAt::AuthorizationRequest).await;
    let err = server
        .validate_authorization_request(&http::Request::get(AUTHORIZE).body(Vec::new()).unwrap())
        .await
        .unwrap_err();
    assert!(err.is_redirect());
    let response = err.to_response();
    assert_eq!(response.status().as_u16(), 302);
    let location = response.header("Location").unwrap();
    assert!(location.starts_with("https://spa.example/cb?error=access_denied"), "{location}");
    assert!(location.ends_with("&state=s1"), "{location}");
}

#[tokio::test]
async fn registering_the_same_urn_twice_is_an_error() {
    let (mut server, _) = server_with_api_key_grant(RejectAt::Nowhere);
    let second = server.register_grant(ApiKeyGrant, ());
    assert!(matches!(second, Err(grantry_core::RegistryError::DuplicateGrantType(_))));
}

#[test]
fn an_invalid_grant_type_name_cannot_be_built() {
    assert!(GrantType::parse("api_key").is_err(), "not standard, not an absolute URI");
}
