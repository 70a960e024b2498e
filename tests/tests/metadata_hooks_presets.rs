//! RFC 8414 metadata derived from the registry, RFC 9207 issuer identification, application
//! hooks (per server and per grant), and the pre-configured servers.

mod engine_http;

use engine_http::ResponseExt;
use grantry_core::http;
use grantry_core::request::FormBody;
use grantry_core::{
    Approval, AuthorizationRequest, AuthorizationServer, Client, ClientAuthMethod, ClientAuthMethods, ClientRecord,
    ConfigError, Consent, Grant, GrantExtension, GrantType, Issuance, MemoryStore, OAuthError, Params, ResponseMembers,
    ResponseType, ServerConfig, Serves, TokenDecision, TokenGrant, TokenRequest, encode_form, storage::Attributes,
};
use grantry_extensions::issuer::IssuerIdentification;
use grantry_extensions::pkce::CodeChallenge;
use grantry_grants::{AuthorizationCodeGrant, ClientCredentialsGrant, presets};
use serde_json::{Value, json};

const ISSUER: &str = "https://auth.example";

fn config() -> ServerConfig {
    ServerConfig::new(ISSUER).unwrap()
}

fn store() -> MemoryStore {
    let store = MemoryStore::new();
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
        .add_client(
            ClientRecord::confidential("svc", "svc-secret")
                .with_grant_types([GrantType::CLIENT_CREDENTIALS])
                .with_scope("read"),
        )
        .unwrap();
    store
}

#[test]
fn metadata_is_derived_from_the_registry() {
    let mut server = AuthorizationServer::new(store(), config());
    server.register_grant(AuthorizationCodeGrant::new(), CodeChallenge::for_public_clients()).unwrap();
    server.register_grant(ClientCredentialsGrant::new(), ()).unwrap();
    let doc = server.metadata();
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["authorization_endpoint"], "https://auth.example/authorize");
    assert_eq!(doc["token_endpoint"], "https://auth.example/token");
    assert_eq!(doc["revocation_endpoint"], "https://auth.example/revoke");
    assert_eq!(doc["introspection_endpoint"], "https://auth.example/introspect");
    assert_eq!(doc["grant_types_supported"], json!(["authorization_code", "client_credentials"]));
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["response_modes_supported"], json!(["query", "fragment"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        doc["revocation_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        doc["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], false);
    assert!(doc.get("token_endpoint_auth_signing_alg_values_supported").is_none(), "no JWT method is on");

    let response = server
        .metadata_endpoint(&http::Request::get("/.well-known/oauth-authorization-server").body(Vec::new()).unwrap());
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    assert_eq!(response.json().unwrap(), doc);
}

struct DeviceGrant;

impl Grant for DeviceGrant {
    fn serves(&self) -> Serves<Self> {
        Serves::token_endpoint(GrantType::from_static("urn:example:grant-type:device"))
            .with_auth_methods(ClientAuthMethods::only([ClientAuthMethod::CLIENT_SECRET_POST]))
    }
}

impl TokenGrant for DeviceGrant {
    async fn exchange(&self, _: &TokenRequest<'_>) -> Result<TokenDecision, OAuthError> {
        Err(OAuthError::invalid_grant("never"))
    }
}

#[test]
fn a_custom_urn_grant_appears_in_the_metadata() {
    let mut server = AuthorizationServer::new(store(), config());
    server.register_grant(ClientCredentialsGrant::new(), ()).unwrap();
    server.register_grant(DeviceGrant, ()).unwrap();
    let doc = server.metadata();
    assert_eq!(doc["grant_types_supported"], json!(["client_credentials", "urn:example:grant-type:device"]));
    assert_eq!(doc["token_endpoint_auth_methods_supported"], json!(["client_secret_basic", "client_secret_post"]));
    assert!(doc.get("authorization_endpoint").is_none(), "no response type registered");
}

#[test]
fn issuers_breaking_rfc8414_are_refused() {
    for bad in
        ["http://auth.example", "https://auth.example?x=1", "https://auth.example#f", "auth.example", "", "https://"]
    {
        assert!(ServerConfig::new(bad).is_err(), "{bad:?} accepted");
    }
    let err = ServerConfig::new("http://auth.example").unwrap_err();
    assert!(matches!(err, ConfigError::Issuer { .. }));
    assert!(err.to_string().contains("issuer"), "{err}");
    for good in [
        "https://auth.example",
        "https://auth.example/tenant",
        "http://127.0.0.1:8080",
        "http://localhost:9000",
        "http://[::1]:8080",
    ] {
        assert!(ServerConfig::new(good).is_ok(), "{good:?} refused");
    }
}

type Preset = fn(MemoryStore, ServerConfig) -> Result<AuthorizationServer, grantry_core::RegistryError>;

#[test]
fn each_preset_lists_exactly_what_it_registered() {
    let cases: [(&str, Preset, Value, Value); 5] = [
        (
            "web",
            |s, c| presets::web_application_server(s, c),
            json!(["authorization_code", "refresh_token"]),
            json!(["code"]),
        ),
        ("mobile", |s, c| presets::mobile_application_server(s, c), json!(["implicit"]), json!(["token"])),
        ("legacy", |s, c| presets::legacy_application_server(s, c), json!(["password", "refresh_token"]), json!([])),
        ("backend", |s, c| presets::backend_application_server(s, c), json!(["client_credentials"]), json!([])),
        (
            "full",
            |s, c| presets::full_server(s, c),
            json!(["authorization_code", "client_credentials", "implicit", "password", "refresh_token"]),
            json!(["code", "token"]),
        ),
    ];
    for (name, build, grant_types, response_types) in cases {
        let mut server = build(MemoryStore::new(), config()).unwrap();
        let doc = server.metadata();
        assert_eq!(doc["grant_types_supported"], grant_types, "{name}");
        assert_eq!(doc["response_types_supported"], response_types, "{name}");
        // Still open to more registrations.
        server.register_grant(DeviceGrant, ()).unwrap();
        assert!(
            server.metadata()["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("urn:example:grant-type:device"))
        );
    }
}

fn location_params(location: &str) -> Params<'static> {
    let (_, rest) = location.split_once(['?', '#']).unwrap();
    Params::parse(rest.as_bytes()).unwrap().into_owned()
}

#[tokio::test]
async fn rfc9207_iss_is_in_every_authorization_response() {
    let mut server = AuthorizationServer::new(store(), config());
    server.register_grant(AuthorizationCodeGrant::new(), ()).unwrap();
    server.add_extension(IssuerIdentification::new(ISSUER));
    assert_eq!(server.metadata()["authorization_response_iss_parameter_supported"], true);

    let ok = format!("/authorize?{}", encode_form(&[("response_type", "code"), ("client_id", "spa"), ("state", "s")]));
    let request =
        server.validate_authorization_request(&http::Request::get(ok).body(Vec::new()).unwrap()).await.unwrap();
    let success = server.create_authorization_response(&request, Consent::allow("alice")).await;
    let params = location_params(success.header("Location").unwrap());
    assert!(params.get("code").is_some());
    assert_eq!(params.get("iss"), Some(ISSUER));

    let denied = server.create_authorization_response(&request, Consent::Deny).await;
    let params = location_params(denied.header("Location").unwrap());
    assert_eq!(
        (params.get("error"), params.get("iss"), params.get("state")),
        (Some("access_denied"), Some(ISSUER), Some("s"))
    );

    let unsupported = format!("/authorize?{}", encode_form(&[("response_type", "token"), ("client_id", "spa")]));
    let err = server
        .validate_authorization_request(&http::Request::get(unsupported).body(Vec::new()).unwrap())
        .await
        .unwrap_err();
    let params = location_params(err.to_response().header("Location").unwrap());
    assert_eq!((params.get("error"), params.get("iss")), (Some("unsupported_response_type"), Some(ISSUER)));
}

/// Rejects at one named hook, and marks the code and the token where it may.
struct Gate {
    reject: &'static str,
}

impl Gate {
    fn check(&self, hook: &'static str) -> Result<(), OAuthError> {
        if self.reject == hook { Err(OAuthError::access_denied(format!("{hook} said no"))) } else { Ok(()) }
    }
}

impl GrantExtension for Gate {
    fn name(&self) -> &str {
        "gate"
    }
    fn before_authorization_request_validated(&self, _: &Params) -> Result<(), OAuthError> {
        self.check("before_authorization_request_validated")
    }
    fn before_code_issued(
        &self,
        _: &AuthorizationRequest,
        approval: &Approval,
        attributes: &mut Attributes,
    ) -> Result<(), OAuthError> {
        attributes.insert("approved_by".into(), approval.subject.clone().into());
        self.check("before_code_issued")
    }
    fn before_token_request_validated(&self, _: &Params, client: Option<&dyn Client>) -> Result<(), OAuthError> {
        assert!(client.is_some(), "the client is authenticated before this hook");
        self.check("before_token_request_validated")
    }
    fn before_token_issued(&self, issuance: &Issuance, members: &mut ResponseMembers) -> Result<(), OAuthError> {
        if let Some(by) = issuance.attributes().get("approved_by") {
            members.insert("approved_by", by.to_string())?;
        }
        self.check("before_token_issued")
    }
}

async fn run_code_flow(server: &AuthorizationServer) -> Result<Value, String> {
    let uri = format!("/authorize?{}", encode_form(&[("response_type", "code"), ("client_id", "spa")]));
    let request = server
        .validate_authorization_request(&http::Request::get(uri).body(Vec::new()).unwrap())
        .await
        .map_err(|e| e.error().to_string())?;
    let redirect = server.create_authorization_response(&request, Consent::allow("alice")).await;
    let params = location_params(redirect.header("Location").unwrap());
    if let Some(error) = params.get("error") {
        return Err(format!("{error}: {}", params.get("error_description").unwrap_or_default()));
    }
    let exchange = http::Request::post("/token")
        .form(&[("grant_type", "authorization_code"), ("code", params.get("code").unwrap()), ("client_id", "spa")])
        .unwrap();
    let body = server.token_endpoint(&exchange).await.json().unwrap();
    match body["error"].as_str() {
        Some(error) => Err(format!("{error}: {}", body["error_description"].as_str().unwrap_or_default())),
        None => Ok(body),
    }
}

#[tokio::test]
async fn server_and_grant_hooks_run_and_can_reject() {
    for (per_server, hook) in [
        (true, "before_authorization_request_validated"),
        (false, "before_code_issued"),
        (true, "before_token_request_validated"),
        (false, "before_token_issued"),
    ] {
        let mut server = AuthorizationServer::new(store(), config());
        if per_server {
            server.register_grant(AuthorizationCodeGrant::new(), ()).unwrap();
            server.add_extension(Gate { reject: hook });
        } else {
            server.register_grant(AuthorizationCodeGrant::new(), Gate { reject: hook }).unwrap();
        }
        let outcome = run_code_flow(&server).await;
        assert_eq!(outcome, Err(format!("access_denied: {hook} said no")), "{hook} (server-level: {per_server})");
    }

    let mut server = AuthorizationServer::new(store(), config());
    server.register_grant(AuthorizationCodeGrant::new(), ()).unwrap();
    server.add_extension(Gate { reject: "none" });
    let body = run_code_flow(&server).await.unwrap();
    assert_eq!(body["approved_by"], "alice", "the code modifier's data reached the token modifier");
}
